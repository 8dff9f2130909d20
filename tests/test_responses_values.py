"""Reading, writing and building responses: the schema's kinds, errors and edge cases."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from realworld import json_equal

import runstate
from runstate import _schema
from runstate import responses as rr
from runstate._engine import jsonvalue
from runstate._engine import schema as engine_schema
from runstate._engine import serde as _serde
from runstate._engine.frozen import FrozenDict, FrozenList

BASE: dict[str, Any] = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1,
    "status": "completed",
    "background": False,
    "model": "m",
    "output": [],
    "usage": {"total_tokens": 1},
}


def errors(value: Any) -> list[tuple[str, str]]:
    with pytest.raises(rr.InvalidResponse) as info:
        rr.parse_response(value)
    assert isinstance(info.value, runstate.InvalidRun)
    assert str(info.value).startswith("invalid response")
    return [(e.field, e.rule) for e in info.value.errors]


@pytest.mark.parametrize("text", [True, False])
def test_every_problem_is_named_by_its_path(text: bool) -> None:
    bad = {**BASE, "status": "requires_action", "output": {}, "usage": [1], "background": 1,
           "error": {"code": 1}, "incomplete_details": {"reason": "tired"}}  # fmt: skip
    expected = [
        ("status", "enum"),
        ("background", "type"),
        ("error.code", "type"),
        ("error.message", "required"),
        ("incomplete_details.reason", "enum"),
        ("output", "type"),
        ("usage", "type"),
    ]
    if text:  # 1e400 is only expressible as text (a mapping with inf is refused whole)
        bad["temperature"] = 0.5
        value: Any = json.dumps(bad).replace("0.5", "1e400")
        expected.insert(6, ("temperature", "json"))
    else:
        value = bad
    assert errors(value) == expected


def test_text_that_is_not_a_response_object() -> None:
    assert errors("{nope") == [("$", "json")]
    assert errors(b"[1]") == [("$", "type")]
    with pytest.raises(rr.InvalidResponse):
        rr.parse_response(42)  # type: ignore[arg-type]


def test_kept_json_nested_too_deeply() -> None:
    deep: Any = 1
    for _ in range(_schema.MAX_JSON_DEPTH + 1):
        deep = [deep]
    assert errors({**BASE, "text": deep}) == [("text", "json")]
    assert errors({**BASE, "output": deep}) == [("output", "json")]


def test_unknown_keys_and_absent_keys_round_trip() -> None:
    value = {**BASE, "new": {"x": [1, {"y": None}]}, "billing": {"payer": "developer"}}
    r = rr.parse_response(value)
    assert r.extra == {"new": {"x": [1, {"y": None}]}}
    assert type(r.billing) is FrozenDict and type(r.output) is FrozenList
    assert "tools" in r.absent and "tools" not in rr.dump_response(r)
    assert rr.dump_response(r) == value
    assert list(rr.dump_response(r)) == list(value)  # the input's order, kept
    assert r.key_order == tuple(value)
    in_place = dict(list(BASE.items())[:5]) | {"billing": {}} | dict(list(BASE.items())[5:])
    canonical = rr.parse_response({**in_place, "new": 1})
    assert canonical.key_order is None  # billing in its place, the new key last
    assert list(rr.dump_response(canonical)) == [
        "id", "object", "created_at", "status", "background", "billing", "model", "output",
        "usage", "new",
    ]  # fmt: skip
    dumped = rr.dump_response(r)
    dumped["billing"]["payer"] = "changed"  # a fresh copy
    assert r.billing["payer"] == "developer"


def test_both_decoders_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps({**BASE, "top_p": 0.1, "big": 10**30})
    fast = rr.parse_response(text)
    monkeypatch.setattr(_serde, "fast_loads", None)
    assert rr.parse_response(text) == fast
    assert rr.parse_response(text).extra["big"] == 10**30


def test_values_built_by_hand_are_frozen_and_checked() -> None:
    r = rr.Response(id="r", created_at=1, status=rr.ResponseStatus.QUEUED, model="m",
                    tools=[{"type": "function"}], text={"a": (1, 2)}, top_p=0.5)  # fmt: skip
    assert type(r.tools) is FrozenList and r.text == {"a": [1, 2]}
    with pytest.raises(runstate.InvalidRun):
        rr.Response(id="r", created_at=1, status=rr.ResponseStatus.QUEUED, model="m",
                    top_p=float("inf"))  # fmt: skip
    with pytest.raises(runstate.InvalidRun):
        attrs.evolve(r, usage=[1])
    with pytest.raises(runstate.InvalidRun):
        attrs.evolve(r, output={"a": 1})
    with pytest.raises(runstate.InvalidRun):
        attrs.evolve(r, status="queued")
    with pytest.raises(runstate.InvalidRun):
        attrs.evolve(r, extra=FrozenDict({"status": "x"}))
    assert attrs.evolve(r, user=None, top_logprobs=2, truncation="auto").top_logprobs == 2


def test_the_kept_json_kind_checks_hand_built_values() -> None:
    anything, objects = engine_schema.JsonValue(), engine_schema.JsonValue(dict)
    assert anything.check_value(None) and anything.check_value(True)
    assert anything.check_value(FrozenList([1.5]))
    assert not anything.check_value(float("nan"))
    assert not anything.check_value(10**5000)
    assert not anything.check_value(object())
    assert not objects.check_value(FrozenList())
    assert not objects.check_value(3)
    assert objects.check_value(FrozenDict({"a": 1}))


@pytest.mark.parametrize("value", [[10**30], ["\ud800"], {"a": [1.5, None, "x"]}, []])
def test_thaw_json_equals_the_python_walk(value: Any) -> None:
    frozen = _schema.freeze_value(value)
    thawed = _schema.thaw_json(frozen)
    assert thawed == jsonvalue.thaw(frozen) == value
    assert type(thawed) in (list, dict)
    assert _schema.thaw_json("x") == "x"


def test_responses_pickle_and_copy() -> None:
    import copy  # noqa: PLC0415
    import pickle  # noqa: PLC0415

    r = rr.parse_response({**BASE, "billing": {"payer": "developer"}, "new": [1]})
    assert pickle.loads(pickle.dumps(r)) == r
    assert copy.deepcopy(r) == r


_OPTIONAL = [k for k, (_, required) in rr._model.SCHEMA[rr.Response].items() if not required]


_NEW_KEYS = st.text("abcxyz_", min_size=1, max_size=6).filter(
    lambda k: k not in _OPTIONAL and k not in BASE
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip


@given(st.none() | st.sampled_from(_OPTIONAL), st.dictionaries(_NEW_KEYS, _JSON, max_size=3))
def test_any_subset_of_keys_and_any_new_keys_round_trip(
    drop: str | None, new: dict[str, Any]
) -> None:
    value = {**BASE, "text": {"format": {"type": "text"}}, "tools": [], **new}
    if drop is not None:
        value.pop(drop, None)
    r = rr.parse_response(json.dumps(value))
    dumped = rr.dump_response(r)
    assert json_equal(dumped, value)
    assert list(dumped)[len(dumped) - len(new) :] == list(new)  # new keys last, in order
    assert rr.parse_response(dumped) == r


def test_a_kept_key_order_follows_the_value_through_changes() -> None:
    in_progress = {**BASE, "status": "in_progress", "usage": None}
    reordered = dict(reversed(list(in_progress.items())))
    r = rr.parse_response(reordered)
    assert r.key_order == tuple(reordered)
    done = rr.complete(r, output=[], usage={"total_tokens": 1}, now=2)
    assert list(rr.dump_response(done)) == list(reordered)  # the same order after a move
    grown = attrs.evolve(done, tools=[])  # a key the input lacked: after the kept ones
    assert list(rr.dump_response(grown)) == [*reordered, "tools"]
    assert rr.parse_response(rr.dump_response(grown)).key_order == (*reordered, "tools")
    with pytest.raises(runstate.InvalidRun):
        attrs.evolve(r, key_order=["id"])
    assert attrs.evolve(r, key_order=None).key_order is None
