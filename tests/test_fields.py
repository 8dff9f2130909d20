"""The field-rule table (runstate._fields) and its engine (runstate._engine.fields)."""

from __future__ import annotations

from typing import Any, get_args

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import runstate as rs
from runstate import _fields as rules
from runstate import models as rsm
from runstate._engine.fields import FieldRule, check_rules, judge
from runstate._engine.requests import rule_reader
from runstate._engine.strategies import within as _within
from runstate._model import ReasoningEffort


def row(**changes: Any) -> FieldRule:
    base: dict[str, Any] = {
        "on": ("Run",),
        "keys": ("x",),
        "kind": "integer",
        "evidence": "test",
        "rule": "x-rule",
    }
    return FieldRule(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"on": ()}, "needs owners"),
        ({"kind": "date"}, "known kind"),
        ({"values": ("a",)}, "string field"),
        ({"kind": "string", "values": (1,)}, "string field"),
        ({"minimum": 3, "maximum": 2}, "minimum above maximum"),
        ({"kind": "string", "minimum": 1}, "belongs to a number"),
        ({"severity": "fatal"}, "severity"),
        ({"rule": ""}, "rule name"),
    ],
)
def test_a_malformed_row_is_refused_at_import(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_rules([row(**changes)])


def test_the_table_is_well_formed_and_reads_the_literals() -> None:
    check_rules(rules.FIELD_RULES)
    assert rules.REASONING_EFFORTS.values == get_args(ReasoningEffort)
    assert rules.TOOL_TYPES.values == ("code_interpreter", "file_search", "function")
    assert set(rules.RESPONSE_FORMAT_TYPES.values) == {"text", "json_object", "json_schema"}
    assert rules.LAST_ERROR_CODES.values == get_args(rsm.LastErrorCode)
    assert len({(r.rule, r.keys, r.on) for r in rules.FIELD_RULES}) == len(rules.FIELD_RULES)


def test_judge_each_kind() -> None:
    assert judge(row(minimum=1), 0) == [("", "0 is below 1")]
    assert judge(row(maximum=5, note="why"), 6) == [("", "6 is above 5 (why)")]
    assert judge(row(minimum=0, maximum=1), 0.5) == []
    assert judge(row(), True) == []
    assert judge(row(), None) == []
    text = row(kind="string", max_length=3, pattern="^[a-z]+$")
    assert judge(text, "abcd") == [("", "4 characters; at most 3 allowed")]
    assert judge(text, "A") == [("", "'A' does not match ^[a-z]+$")]
    assert judge(row(kind="string", values=("a", "b")), "c") == [
        ("", "'c' is not one of ['a', 'b']")
    ]
    items = row(kind="array", max_items=1)
    assert judge(items, (1, 2)) == [("", "2 items; at most 1 allowed")]
    assert judge(items, (1,)) == []
    assert judge(row(kind="array"), (1, 2, 3)) == []
    mapping = row(kind="map", max_items=1, key_length=2, max_length=2)
    assert judge(mapping, {"abc": "xyz", "k": "v"}) == [
        ("", "2 keys; at most 1 allowed"),
        (".abc", "key is 3 characters; at most 2 allowed"),
        (".abc", "value is 3 characters; at most 2 allowed"),
    ]


def test_a_format_name_is_judged_as_a_function_name() -> None:
    # The spec gives a json_schema format's name the function name's pattern and length.
    fmt = rsm.ResponseFormatJsonSchema(json_schema=rsm.JsonSchema(name="bad name"))
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
    found = {(v.field, v.rule) for v in rs.violations(attrs.evolve(run, response_format=fmt))}
    assert ("response_format.json_schema.name", "function-name") in found


@pytest.mark.parametrize(
    ("rule", "bad"),
    [
        (rules.TEMPERATURE, 2.5),
        (rules.TOP_P, -0.5),
        (rules.TOKEN_LIMIT, 0),
        (rules.RUN_TOOLS, [{"type": "code_interpreter"}] * 21),
        (rules.METADATA, {str(i): "v" for i in range(17)}),
    ],
)
def test_the_request_reader_and_violations_read_the_same_row(rule: FieldRule, bad: Any) -> None:
    key = rule.keys[0]
    with pytest.raises(rs.InvalidRequest) as info:
        rs.parse_create_run({"assistant_id": "asst_1", key: bad})
    assert info.value.param == key
    if rule.kind != "map":  # metadata's reader reports through read_metadata, as the API
        assert judge(rule, tuple(bad) if isinstance(bad, list) else bad)


def test_rule_reader_reads_enums_and_patterns() -> None:
    with pytest.raises(rs.InvalidRequest, match="Supported values are"):
        rule_reader(rules.RANKERS)("best", "ranker")
    with pytest.raises(rs.InvalidRequest, match="pattern"):
        rule_reader(rules.NAME)("a b", "name")
    assert rule_reader(rules.NAME)("get_weather", "name") == "get_weather"


@settings(max_examples=200)
@given(st.data())
def test_the_strategies_draw_inside_every_row(data: st.DataObject) -> None:
    rule = data.draw(st.sampled_from(rules.FIELD_RULES))
    value = data.draw(_within(rule))
    assert judge(rule, value) == [], (rule.rule, value)
