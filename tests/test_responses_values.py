"""Reading, writing and building responses: the schema's kinds, errors and edge cases."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

import runstate
from runstate import _schema, _serde
from runstate import responses as rr
from runstate._frozen import FrozenDict, FrozenList

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
    assert list(rr.dump_response(r)) == [
        "id", "object", "created_at", "status", "background", "billing", "model", "output",
        "usage", "new",
    ]  # fmt: skip
    dumped = rr.dump_response(r)
    dumped["billing"]["payer"] = "changed"  # a fresh copy
    assert r.billing["payer"] == "developer"


def test_both_decoders_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps({**BASE, "top_p": 0.1, "big": 10**30})
    fast = rr.parse_response(text)
    monkeypatch.setattr(_serde, "_fast_loads", None)
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
    anything, objects = _schema._JsonValue(), _schema._JsonValue(dict)
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
    assert thawed == _schema._thaw(frozen) == value
    assert type(thawed) in (list, dict)
    assert _schema.thaw_json("x") == "x"
