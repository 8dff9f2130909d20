"""Dumps are fresh and lossless on every call, also when a value keeps its dump.

``dump_response`` keeps the dump of a response dumped a second time on the value, as
bytes (``runstate._dumpcache``), and decodes them on later dumps: with the ``fast`` extra
as orjson's JSON, otherwise (or where orjson refuses a value) as marshal's. Every test
here runs on both paths: ``fast`` (orjson everywhere, when installed) and ``json`` (the
standard library alone: parsing, copying kept JSON, and the kept bytes).
"""

from __future__ import annotations

import contextlib
import copy
import json
import marshal
import pickle
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import responses_records as rec
from hypothesis import given
from hypothesis import strategies as st
from realworld import json_equal

from runstate import _dumpcache, _jsonio, _schema, _serde, dump_run, parse_run
from runstate import responses as rr
from runstate.strategies import response_lives, run_payloads

PATHS = ("fast", "json") if _jsonio.FAST_DUMPS is not None else ("json",)


@contextlib.contextmanager
def json_path(path: str) -> Iterator[None]:
    """Everything on the standard library's path (``json``), or as installed (``fast``)."""
    saved = (_dumpcache._CODECS[:], _schema._FAST_DUMPS, _serde._fast_loads)
    if path == "json":
        _dumpcache._CODECS[:] = [(marshal.dumps, marshal.loads)]
        _schema._FAST_DUMPS = None  # type: ignore[misc]
        _serde._fast_loads = None
    try:
        yield
    finally:
        _dumpcache._CODECS[:], _schema._FAST_DUMPS, _serde._fast_loads = saved  # type: ignore[misc]


def text(value: Any) -> str:
    """JSON text: key order, 1 / 1.0 / true and -0.0 / 0.0 all differ."""
    return json.dumps(value)


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
    if draw(st.booleans()):
        payload = dict(draw(st.permutations(list(payload.items()))))
    return payload


@given(response_payloads())
def test_response_dumps_are_fresh_and_equal_to_the_input(payload: dict[str, Any]) -> None:
    expected = copy.deepcopy(payload)
    for path in PATHS:
        with json_path(path):
            for source in (payload, json.dumps(payload)):
                response = rr.parse_response(source)
                dumps_stay_fresh(response, rr.dump_response, expected)
                assert type(response._dumped) is tuple  # the later ones were decoded
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


@pytest.mark.parametrize("path", PATHS)
def test_a_dump_is_kept_from_the_second_on(path: str) -> None:
    with json_path(path):
        r = rr.parse_response(BASE)
        assert not hasattr(r, "_dumped")
        assert rr.dump_response(r) == BASE
        assert r._dumped == _dumpcache.ONCE  # only noted: a value dumped once keeps nothing
        assert rr.dump_response(r) == BASE
        loads, data = r._dumped  # type: ignore[misc]
        assert loads is _dumpcache._CODECS[0][1]
        assert loads is (marshal.loads if path == "json" else _jsonio.FAST_LOADS)
        if path == "fast":
            assert json.loads(data) == BASE  # readable in a debugger
        a, b = rr.dump_response(r), rr.dump_response(r)
        assert a == b == BASE and a is not b and a["output"] is not b["output"]
        assert a["output"][0] is not b["output"][0] and a["text"] is not b["text"]


@pytest.mark.parametrize("path", PATHS)
def test_values_made_from_a_value_do_not_keep_its_dump(path: str) -> None:
    with json_path(path):
        r = rr.parse_response(BASE)
        rr.dump_response(r)
        rr.dump_response(r)
        cancelled = rr.cancel(r, now=2)
        evolved = attrs.evolve(r, model="other")
        copies = [pickle.loads(pickle.dumps(r)), copy.copy(r), copy.deepcopy(r)]
        for made in (cancelled, evolved, *copies):
            assert not hasattr(made, "_dumped")
        for _ in range(3):
            assert rr.dump_response(cancelled) == {**BASE, "status": "cancelled", "output": []}
            assert rr.dump_response(evolved) == {**BASE, "model": "other"}
            assert all(rr.dump_response(c) == BASE for c in copies)
        assert copies == [r, r, r] and evolved != r  # equality ignores the slot


@pytest.mark.parametrize(
    "unusual",
    [{"big": 10**30}, {"lone": "\ud800"}, {"deep": {"a": "\udfff"}, "n": -(2**64)}],
    ids=["int-beyond-64-bits", "lone-surrogate", "both"],
)
@pytest.mark.parametrize("path", PATHS)
def test_what_orjson_refuses_is_kept_by_marshal(path: str, unusual: dict[str, Any]) -> None:
    with json_path(path):
        value = {**BASE, **unusual}
        r = rr.parse_response(value)
        dumps_stay_fresh(r, rr.dump_response, value)
        assert r._dumped[0] is marshal.loads


def test_what_no_codec_writes_is_dumped_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    # Values hold exact JSON types only (their constructors and the parser make sure),
    # which both codecs write; a codec that refuses everything stands in for the case.
    def refuse(value: Any) -> bytes:
        raise ValueError("unmarshallable object")

    monkeypatch.setattr(_dumpcache, "_CODECS", [(refuse, marshal.loads)])
    r = rr.parse_response(BASE)
    dumps_stay_fresh(r, rr.dump_response, BASE)
    assert r._dumped == _dumpcache.ONCE  # nothing kept: every dump is a plain one


def test_forget_drops_what_is_kept() -> None:
    r = rr.parse_response(BASE)
    _dumpcache.forget(r)  # nothing kept: no-op
    rr.dump_response(r)
    rr.dump_response(r)
    _dumpcache.forget(r)
    assert not hasattr(r, "_dumped")
    assert rr.dump_response(r) == BASE


# --------------------------------------------------------------------------------------
# Every recorded response, byte for byte on every dump, on both paths


@pytest.mark.parametrize("path", PATHS)
def test_every_recorded_response_dumps_exactly_every_time(path: str) -> None:
    rec.require()
    with json_path(path):
        for real in rec.responses():
            r = rr.parse_response(real.text)
            want = json.dumps(real.value, ensure_ascii=False)
            for _ in range(3):
                dumped = rr.dump_response(r)
                assert json.dumps(dumped, ensure_ascii=False) == want, real.where
                scribble(dumped)
            assert type(r._dumped) is tuple
