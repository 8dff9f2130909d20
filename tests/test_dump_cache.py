"""Dumps are fresh and lossless on every call, also for values that keep their text.

A response parsed from ``str`` or ``bytes`` keeps that text and the decoder that read it
(``runstate._engine.dumpcache``); its dumps decode the text again. Every such dump must equal,
as text (key order, ``1`` / ``1.0`` / ``true``, ``-0.0``), what the generated dumper
gives for the value, called directly. Every test here runs on both paths: ``fast``
(orjson, when installed) and ``json`` (the standard library alone: parsing, copying kept
JSON, and the kept text's decoder).
"""

from __future__ import annotations

import contextlib
import copy
import json
import pickle
import sys
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import responses_records as rec
from hypothesis import given
from hypothesis import strategies as st
from realworld import json_equal

from runstate import dump_run, parse_run
from runstate import responses as rr
from runstate._engine import jsonio as _jsonio
from runstate._engine import jsonvalue as _jsonvalue
from runstate._engine import schema as _schema
from runstate._engine import serde as _serde
from runstate.strategies import response_lives, run_payloads

PATHS = ("fast", "json") if _jsonio.FAST_DUMPS is not None else ("json",)
DUMPER = _schema.DUMPERS[rr.Response]  # the generated dumper, called directly


@contextlib.contextmanager
def json_path(path: str) -> Iterator[None]:
    """Everything on the standard library's path (``json``), or as installed (``fast``)."""
    saved = (_jsonvalue._FAST_DUMPS, _serde.fast_loads)
    if path == "json":
        _jsonvalue._FAST_DUMPS = None  # type: ignore[misc]
        _serde.fast_loads = None
    elif _serde.fast_loads is None:  # RUNSTATE_TEST_DECODER=json: the fast path anyway
        _serde.fast_loads = _jsonio.FAST_LOADS
    try:
        yield
    finally:
        _jsonvalue._FAST_DUMPS, _serde.fast_loads = saved  # type: ignore[misc]


def text(value: Any) -> str:
    """JSON text: key order, 1 / 1.0 / true and -0.0 / 0.0 all differ."""
    return json.dumps(value)


def kept(response: rr.Response) -> bool:
    return hasattr(response, "_source")


def scribble(value: Any) -> None:
    """Change every container inside ``value``, depth first."""
    if isinstance(value, dict):
        for item in value.values():
            scribble(item)
        value.clear()
        value["scribbled"] = True
    elif isinstance(value, list):
        for item in value:
            scribble(item)
        value.append("scribbled")


def dumps_stay_fresh(value: Any, dump: Any, expected: Any, times: int = 4) -> None:
    """Each of ``times`` dumps equals ``expected`` (as text), then is scribbled over."""
    for _ in range(times):
        dumped = dump(value)
        assert text(dumped) == text(expected)
        scribble(dumped)


# --------------------------------------------------------------------------------------
# Properties: any response or run, its dumps fresh and equal to its input, both paths

_strings = st.text(st.characters() | st.characters(categories=["Cs"]), max_size=4)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)  # beyond 64 bits too: orjson refuses those
    | st.floats(allow_nan=False, allow_infinity=False)
    | _strings,  # lone surrogates too: orjson refuses those
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_strings, inner, max_size=3),
    max_leaves=12,
)
_KEPT = ("billing", "text", "tools", "reasoning", "metadata", "usage", "output")


@st.composite
def response_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """A response's JSON from a legal life, with any JSON in kept and unknown keys, keys
    dropped (absent) and shuffled (key order kept)."""
    payload = rr.dump_response(draw(st.sampled_from(draw(response_lives()))))
    for key in draw(st.lists(st.sampled_from(_KEPT), unique=True)):
        if key == "usage":
            payload[key] = draw(st.none() | st.dictionaries(_strings, _json, max_size=3))
        elif key == "output":
            payload[key] = draw(st.lists(_json, max_size=3))
        else:
            payload[key] = draw(_json)
    payload.update(draw(st.dictionaries(st.text(max_size=3).map("x_".__add__), _json)))
    for key in draw(st.lists(st.sampled_from(["billing", "tools", "user", "top_p"]))):
        payload.pop(key, None)
    for key in ("error", "incomplete_details"):  # the typed objects inside: any order
        if isinstance(payload.get(key), dict) and draw(st.booleans()):
            nested = {**payload[key], **draw(st.dictionaries(st.just("x_n"), _json))}
            payload[key] = dict(draw(st.permutations(list(nested.items()))))
    if draw(st.booleans()):
        payload = dict(draw(st.permutations(list(payload.items()))))
    return payload


@given(response_payloads())
def test_response_dumps_are_fresh_and_equal_to_the_dumpers(payload: dict[str, Any]) -> None:
    expected = copy.deepcopy(payload)
    as_text = json.dumps(payload)
    for path in PATHS:
        with json_path(path):
            for source in (payload, as_text, as_text.encode()):
                response = rr.parse_response(source)
                plain = DUMPER(response)
                assert json_equal(plain, expected)  # lossless
                dumps_stay_fresh(response, rr.dump_response, plain)
                # Kept exactly where the text, decoded, is the dumper's output: the typed
                # objects inside (error, incomplete_details) dump in the schema's order.
                same = text(json.loads(as_text)) == text(plain)
                assert kept(response) == (source is not payload and same)
                assert rr.parse_response(expected) == response  # the value never changed
    assert payload == expected  # nor did the input


@given(run_payloads())
def test_run_dumps_are_fresh_and_equal_to_the_input(payload: dict[str, Any]) -> None:
    expected = copy.deepcopy(payload)
    for path in PATHS:
        with json_path(path):
            for source in (payload, json.dumps(payload)):
                run = parse_run(source)
                first = dump_run(run)
                assert json_equal(first, expected)
                dumps_stay_fresh(run, dump_run, first)
                assert parse_run(expected) == run


# --------------------------------------------------------------------------------------
# What is kept, and when

BASE: dict[str, Any] = {
    "id": "resp_1", "object": "response", "created_at": 1, "status": "queued",
    "background": True, "model": "m", "output": [{"type": "message", "content": []}],
    "usage": None, "text": {"format": {"type": "text"}},
}  # fmt: skip
BASE_TEXT = json.dumps(BASE)


@pytest.mark.parametrize("path", PATHS)
def test_text_is_kept_at_parse_time_with_its_decoder(path: str) -> None:
    with json_path(path):
        for source in (BASE_TEXT, BASE_TEXT.encode()):
            r = rr.parse_response(source)
            loads, kept_text = r._source
            assert kept_text is source  # the caller's own object: nothing serialized
            assert loads is (_jsonio.FAST_LOADS if path == "fast" else _jsonio.decode)
            a, b = rr.dump_response(r), rr.dump_response(r)
            assert a == b == BASE and a is not b and a["output"] is not b["output"]
            assert a["output"][0] is not b["output"][0] and a["text"] is not b["text"]


@pytest.mark.parametrize("path", PATHS)
def test_values_not_read_from_text_keep_nothing(path: str) -> None:
    class Text(str):
        pass

    with json_path(path):
        for source in (BASE, bytearray(BASE_TEXT.encode()), memoryview(BASE_TEXT.encode())):
            r = rr.parse_response(source)
            assert not kept(r)
            dumps_stay_fresh(r, rr.dump_response, BASE)
        r = rr.parse_response(Text(BASE_TEXT))  # a str subclass: read by value, not kept
        assert not kept(r) and rr.dump_response(r) == BASE


@pytest.mark.parametrize("path", PATHS)
def test_values_made_from_a_value_keep_nothing(path: str) -> None:
    with json_path(path):
        r = rr.parse_response(BASE_TEXT)
        assert kept(r)
        started = rr.start(r, now=2)
        cancelled = rr.cancel(r, now=2)
        done = rr.complete(started, output=BASE["output"], usage={"total_tokens": 1}, now=3)
        evolved = attrs.evolve(r, model="other")
        copies = [pickle.loads(pickle.dumps(r)), copy.copy(r), copy.deepcopy(r)]
        for made in (started, cancelled, done, evolved, *copies):
            assert not kept(made)
            assert text(rr.dump_response(made)) == text(DUMPER(made))
        assert rr.dump_response(cancelled) == {**BASE, "status": "cancelled", "output": []}
        assert rr.dump_response(evolved) == {**BASE, "model": "other"}
        assert all(rr.dump_response(c) == BASE for c in copies)
        assert copies == [r, r, r] and evolved != r  # equality ignores the slot
        # Cancelling a cancelled response answers it unchanged: the same value, text kept.
        again = rr.parse_response(json.dumps({**BASE, "status": "cancelled", "output": []}))
        assert rr.cancel(again, now=5) is again and kept(again)


# What the front end may read differently from the text, or the dumper may write
# differently from it. Each one's dump must equal the dumper's output, exactly.
UNUSUAL = {
    "duplicate-keys": '{"id": "a", "id": "resp_1", "x": 1, "x": [2]}',
    "duplicate-nested-keys": '{"x": {"a": 1, "b": 2, "a": 3}, "text": {"f": 1, "f": -0.0}}',
    "negative-zero": '{"temperature": -0.0, "x": [-0.0, 0.0, 0]}',
    "int-and-float": '{"top_p": 1.0, "temperature": 1, "x": [1, 1.0, true, 1e2, 1E-2]}',
    "big-ints": '{"x": 100000000000000000000000000000, "y": -18446744073709551617}',
    "ints-at-64-bits": '{"x": 18446744073709551615, "y": 9223372036854775808}',
    "float-precision": '{"x": 0.1, "y": 1.7976931348623157e308, "z": 5e-324}',
    "lone-surrogates": '{"x": "\\ud800", "\\udfff": ["a\\udc00b"]}',
    "surrogate-pair-escapes": '{"x": "\\ud83d\\ude00", "y": "\\u00e9\\u0000"}',
    "unicode": '{"x": "\u00e9\u6f22\U0001f600"}',
    "whitespace": '  {"x" : [ 1 ,\n 2 ] }\n\t ',
    "unknown-keys-first": '{"z": 1, "id": "resp_1", "a": 2}',
    "error-in-order": '{"error": {"code": "c", "message": "m"}}',
    "error-with-unknown-last": '{"error": {"code": "c", "message": "m", "x": 1}}',
    "error-reversed": '{"error": {"message": "m", "code": "c"}}',
    "error-unknown-first": '{"error": {"x": 1, "code": "c", "message": "m"}}',
    "incomplete-in-order": '{"incomplete_details": {"reason": "content_filter"}}',
    "incomplete-unknown-first": '{"incomplete_details": {"x": [], "reason": null}}',
    "nested-duplicate": '{"error": {"code": "c", "message": "m", "code": "d"}}',
}  # fmt: skip
#: Cases whose text, decoded, is not what the dumper writes: nothing kept for them.
NOT_KEPT = {"error-reversed", "error-unknown-first", "incomplete-unknown-first"}


def _unusual(name: str) -> str:
    """The case's text, BASE's other keys added at its end."""
    body = UNUSUAL[name]
    base = json.dumps({k: v for k, v in BASE.items() if f'"{k}"' not in body})[1:-1]
    end = body.rindex("}")
    return f"{body[:end]}, {base}{body[end:]}"


@pytest.mark.parametrize("name", sorted(UNUSUAL))
@pytest.mark.parametrize("path", PATHS)
def test_a_kept_text_dumps_exactly_as_the_dumper(path: str, name: str) -> None:
    source = _unusual(name)
    with json_path(path):
        for data in (source, source.encode()):
            r = rr.parse_response(data)
            plain = DUMPER(r)
            assert json_equal(plain, json.loads(source))  # the lossless contract
            dumps_stay_fresh(r, rr.dump_response, plain)
            assert kept(r) == (name not in NOT_KEPT)
            if kept(r):
                assert text(json.loads(source)) == text(plain)


@pytest.mark.parametrize("path", PATHS)
def test_a_raw_lone_surrogate_in_str_text_is_kept_by_the_standard_librarys_decoder(
    path: str,
) -> None:
    source = json.dumps({**BASE, "x": "a\ud800"}, ensure_ascii=False)  # the code point itself
    with json_path(path):
        r = rr.parse_response(source)
        assert r._source[0] is _jsonio.decode  # orjson refuses it: the standard library read it
        dumps_stay_fresh(r, rr.dump_response, DUMPER(r))
        assert rr.dump_response(r)["x"] == "a\ud800"


@pytest.mark.parametrize("path", PATHS)
def test_a_kept_text_the_interpreter_no_longer_reads_dumps_by_the_dumper(path: str) -> None:
    big = int("7" * 2000)  # under runstate's 4300 digits
    source = json.dumps({**BASE, "x": big})
    limit = sys.get_int_max_str_digits()
    with json_path(path):
        r = rr.parse_response(source)
        assert kept(r)
        try:
            sys.set_int_max_str_digits(1000)  # lowered after the parse: the text is refused
            dumped = rr.dump_response(r)
        finally:
            sys.set_int_max_str_digits(limit)
        assert dumped == {**BASE, "x": big}


# --------------------------------------------------------------------------------------
# Every recorded response, byte for byte on every dump, on both paths


@pytest.mark.parametrize("path", PATHS)
def test_every_recorded_response_dumps_exactly_every_time(path: str) -> None:
    rec.require()
    with json_path(path):
        for real in rec.responses():
            want = json.dumps(real.value, ensure_ascii=False)
            for source in (real.text, real.value):
                r = rr.parse_response(source)
                assert kept(r) == (source is real.text), real.where
                assert json.dumps(DUMPER(r), ensure_ascii=False) == want, real.where
                for _ in range(3):
                    dumped = rr.dump_response(r)
                    assert json.dumps(dumped, ensure_ascii=False) == want, real.where
                    scribble(dumped)
