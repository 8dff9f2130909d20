"""The ``--auto`` worker's function calls (``examples/server/tool_calls.py``), in process.

Which functions a run calls (``tool_choice``, ``parallel_tool_calls``), and arguments
valid for each function's schema, drawn by hypothesis-jsonschema, the same for a run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_helpers import require_server_deps

try:  # brought by the server extra (hypothesis-jsonschema); without it every test skips
    import jsonschema
except ImportError:  # pragma: no cover - depends on the installation
    jsonschema = None

import runstate as rs

SERVER = Path(__file__).resolve().parent.parent / "examples" / "server"

SCHEMAS: list[Any] = [
    {"type": "object", "properties": {}},
    {
        "type": "object",
        "properties": {
            "location": {"type": "string", "minLength": 2, "maxLength": 30},
            "unit": {"type": "string", "enum": ["Celsius", "Fahrenheit"]},
        },
        "required": ["location", "unit"],
    },
    {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": -3, "maximum": 3, "multipleOf": 3},
            "xs": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 4},
            "when": {"anyOf": [{"type": "null"}, {"type": "string", "format": "date"}]},
            "nested": {"$ref": "#/$defs/point"},
        },
        "required": ["n", "xs", "nested"],
        "$defs": {
            "point": {
                "type": "object",
                "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                "required": ["x", "y"],
            }
        },
    },
    {
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {"const": "t"}, "uniqueItems": True}},
        "additionalProperties": {"type": "boolean"},
        "minProperties": 2,
    },
]


@pytest.fixture(scope="module")
def calls() -> Iterator[Any]:
    require_server_deps()
    sys.path.insert(0, str(SERVER))
    try:
        import tool_calls  # noqa: PLC0415

        yield tool_calls
    finally:
        sys.path.remove(str(SERVER))


@pytest.mark.parametrize("schema", SCHEMAS)
def test_arguments_are_valid_for_the_schema_and_the_same_for_a_seed(
    calls: Any, schema: Any
) -> None:
    drawn = []
    for seed in range(6):
        text = calls.arguments_for(schema, seed)
        assert text != calls.FALLBACK_ARGUMENTS or schema == SCHEMAS[0]
        jsonschema.validate(json.loads(text), schema)
        # Drawn afresh (not from the cache), the same seed gives the same arguments.
        fresh = calls._drawn.__wrapped__(json.dumps(calls.closed(schema), sort_keys=True), seed)
        assert fresh == text
        drawn.append(text)
    if schema is not SCHEMAS[0]:
        assert len(set(drawn)) > 1  # the seed matters


def test_closed_schemas_allow_a_subset(calls: Any) -> None:
    schema = SCHEMAS[1]
    closed = calls.closed(schema)
    assert closed["additionalProperties"] is False
    assert "additionalProperties" not in schema  # a copy
    assert calls.closed(SCHEMAS[3])["additionalProperties"] == {"type": "boolean"}
    assert calls.closed(SCHEMAS[2])["$defs"]["point"]["additionalProperties"] is False


def test_a_schema_nothing_satisfies_gets_the_fallback(calls: Any) -> None:
    impossible = {"type": "object", "properties": {"a": {"not": {}}}, "required": ["a"]}
    assert calls.arguments_for(impossible, 1) == calls.FALLBACK_ARGUMENTS
    assert calls.arguments_for(None, 1) == "{}"


def _function(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": SCHEMAS[1]}}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, ["f", "g"]),
        ("auto", ["f", "g"]),
        ("required", ["f", "g"]),
        ("none", []),
        ({"type": "function", "function": {"name": "g"}}, ["g"]),
        ({"type": "function", "function": {"name": "nope"}}, []),
        ({"type": "file_search"}, []),
    ],
)
def test_planned_functions_follow_tool_choice(calls: Any, choice: Any, expected: list[str]) -> None:
    run = {"tools": [{"type": "code_interpreter"}, _function("f"), _function("g")]}
    if choice is not None:
        run["tool_choice"] = choice
    assert [f["name"] for f in calls.planned_functions(run)] == expected


def test_next_calls_one_round_or_one_call_per_round(calls: Any) -> None:
    def life(parallel: bool) -> rs.steps.RunLife:
        run = rs.new_run(
            id="run_1",
            thread_id="thread_1",
            assistant_id="asst_1",
            model="m",
            now=1,
            tools=[_function("f"), _function("g")],
            parallel_tool_calls=parallel,
        )
        return rs.steps.RunLife(run=rs.start(run, now=2))

    both = calls.next_calls(life(True))
    assert [c["function"]["name"] for c in both] == ["f", "g"]
    assert both == calls.next_calls(life(True))  # deterministic per run: ids and arguments
    for call in both:
        jsonschema.validate(json.loads(call["function"]["arguments"]), SCHEMAS[1])
    one = life(False)
    assert [c["function"]["name"] for c in calls.next_calls(one)] == ["f"]
    # After f was called (a tool_calls step holding it), the next round calls g.
    opened = rs.advance(one.run, one.steps, "open_tool_calls_step", now=3, step_id="step_1")
    called = rs.advance(
        opened.run, opened.steps, "require_action", now=4, tool_calls=calls.next_calls(one)
    )
    assert calls.called_functions(called.steps) == ["f"]
    assert [c["function"]["name"] for c in calls.next_calls(called)] == ["g"]
