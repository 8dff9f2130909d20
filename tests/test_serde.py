"""Reading and writing runs: lossless round trips, fresh containers, and every bad input."""

from __future__ import annotations

import copy
import datetime
import decimal
import json
from collections import OrderedDict
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from realworld import json_equal

from runstate import (
    FieldError,
    InvalidRun,
    Run,
    RunStatus,
    dump_run,
    parse_run,
)
from runstate._serde import CONVERTER
from runstate.strategies import run_payloads, runs

#: A minimal valid run: only the required keys.
BASE: dict[str, Any] = {
    "id": "run_1",
    "object": "thread.run",
    "created_at": 1_700_000_000,
    "thread_id": "thread_1",
    "assistant_id": "asst_1",
    "status": "queued",
    "model": "gpt-4o",
}
REQUIRED = ("id", "object", "created_at", "thread_id", "assistant_id", "status", "model")


def scribble(value: Any) -> None:
    """Mutate every container inside ``value``, depth first."""
    if isinstance(value, dict):
        for item in value.values():
            scribble(item)
        value.clear()
        value["scribbled"] = True
    elif isinstance(value, list):
        for item in value:
            scribble(item)
        value.append("scribbled")


def errors_of(data: Any) -> tuple[FieldError, ...]:
    with pytest.raises(InvalidRun) as info:
        parse_run(data)
    assert info.value.errors, "InvalidRun without errors"
    return info.value.errors


def fields_of(data: Any) -> list[str]:
    return [e.field for e in errors_of(data)]


# --------------------------------------------------------------------------------------
# Round trips


@given(runs())
def test_run_round_trips_through_its_dump(run: Run) -> None:
    assert parse_run(dump_run(run)) == run


@given(runs())
def test_run_round_trips_through_json_text_and_bytes(run: Run) -> None:
    text = json.dumps(dump_run(run), allow_nan=False)
    assert parse_run(text) == run
    assert parse_run(json.loads(text)) == run
    assert parse_run(text.encode("utf-8")) == run
    assert parse_run(bytearray(text.encode("utf-8"))) == run
    pretty = json.dumps(dump_run(run), indent=2, ensure_ascii=False)
    assert parse_run(pretty.encode("utf-8")) == run


@given(run_payloads())
def test_payload_is_a_fixed_point(payload: dict[str, Any]) -> None:
    assert json_equal(dump_run(parse_run(payload)), payload)
    assert json_equal(dump_run(parse_run(json.dumps(payload))), payload)


@given(run_payloads())
def test_parse_accepts_any_mapping(payload: dict[str, Any]) -> None:
    expected = parse_run(payload)
    assert parse_run(MappingProxyType(payload)) == expected
    assert parse_run(OrderedDict(reversed(payload.items()))) == expected


def test_round_trip_keeps_unknown_and_absent_keys() -> None:
    payload = {
        **BASE,
        "tool_resources": {"code_interpreter": {"file_ids": []}},
        "usage": {
            "prompt_tokens": 1,
            "completion_tokens": 2,
            "total_tokens": 3,
            "prompt_token_details": {"cached_tokens": 0},
        },
        "tools": [
            {
                "type": "file_search",
                "file_search": {
                    "ranking_options": {
                        "ranker": "default_2024_08_21",
                        "score_threshold": 0.0,
                        "hybrid_search": None,
                    }
                },
            }
        ],
    }
    run = parse_run(payload)
    assert run.extra == {"tool_resources": {"code_interpreter": {"file_ids": []}}}
    assert run.usage is not None
    assert run.usage.extra == {"prompt_token_details": {"cached_tokens": 0}}
    assert "started_at" in run.absent
    assert run.started_at is None
    assert json_equal(dump_run(run), payload)


def test_explicit_null_and_missing_key_stay_apart() -> None:
    with_null = parse_run({**BASE, "usage": None})
    without = parse_run(BASE)
    assert with_null.usage is None
    assert without.usage is None
    assert with_null != without
    assert dump_run(with_null)["usage"] is None
    assert "usage" not in dump_run(without)


def test_number_types_survive() -> None:
    run = parse_run({**BASE, "temperature": 1, "top_p": 1.0})
    assert type(run.temperature) is int
    assert type(run.top_p) is float
    assert json_equal(dump_run(run), {**BASE, "temperature": 1, "top_p": 1.0})


# --------------------------------------------------------------------------------------
# Fresh containers


@given(runs())
def test_dump_returns_fresh_containers(run: Run) -> None:
    first = dump_run(run)
    expected = copy.deepcopy(first)
    scribble(first)
    assert json_equal(dump_run(run), expected)
    assert parse_run(expected) == run


@given(run_payloads())
def test_parse_does_not_keep_the_input_mapping(payload: dict[str, Any]) -> None:
    expected = copy.deepcopy(payload)
    run = parse_run(payload)
    scribble(payload)
    assert json_equal(dump_run(run), expected)


# --------------------------------------------------------------------------------------
# The cattrs converter


@given(run_payloads())
def test_converter_structures_like_parse_run(payload: dict[str, Any]) -> None:
    assert CONVERTER.structure(payload, Run) == parse_run(payload)


@given(runs())
def test_converter_unstructures_like_dump_run(run: Run) -> None:
    assert json_equal(CONVERTER.unstructure(run), dump_run(run))


def test_converter_refuses_like_parse_run() -> None:
    with pytest.raises(InvalidRun, match="created_at: expected an integer Unix timestamp"):
        CONVERTER.structure({**BASE, "created_at": True}, Run)


# --------------------------------------------------------------------------------------
# Bad input: exact messages


def test_bool_timestamp_message() -> None:
    with pytest.raises(InvalidRun) as info:
        parse_run({**BASE, "created_at": True})
    expected = "invalid run: created_at: expected an integer Unix timestamp, got true"
    assert str(info.value) == expected
    assert info.value.errors == (
        FieldError("created_at", "type", "expected an integer Unix timestamp, got true"),
    )
    assert isinstance(info.value, ValueError)


def test_float_timestamp_message() -> None:
    (error,) = errors_of(json.dumps({**BASE, "created_at": 1.5}))
    assert str(error) == "created_at: expected an integer Unix timestamp, got 1.5"


def test_unknown_status_message() -> None:
    (error,) = errors_of({**BASE, "status": "pending"})
    assert str(error) == (
        "status: unknown status 'pending'; expected one of 'queued', 'in_progress', "
        "'requires_action', 'cancelling', 'cancelled', 'failed', 'completed', 'incomplete', "
        "'expired'"
    )
    assert error.rule == "enum"


def test_every_problem_is_listed() -> None:
    with pytest.raises(InvalidRun) as info:
        parse_run({**BASE, "id": 1, "created_at": True, "status": "done", "model": None})
    assert [e.field for e in info.value.errors] == ["id", "created_at", "status", "model"]
    assert str(info.value).startswith("invalid run (4 problems):\n  id: expected a string, got 1")


@pytest.mark.parametrize("key", REQUIRED)
def test_missing_required_key(key: str) -> None:
    payload = dict(BASE)
    del payload[key]
    assert errors_of(payload) == (FieldError(key, "required", "missing required key"),)
    assert errors_of(json.dumps(payload)) == (FieldError(key, "required", "missing required key"),)


def test_empty_object_lists_every_required_key() -> None:
    assert sorted(fields_of({})) == sorted(REQUIRED)


# --------------------------------------------------------------------------------------
# Bad input: each kind of problem names its field

BAD_FIELDS = [
    # wrong types
    ({"id": 1}, "id"),
    ({"model": None}, "model"),
    ({"thread_id": ["t"]}, "thread_id"),
    ({"instructions": 5}, "instructions"),
    ({"tools": {}}, "tools"),
    ({"tools": None}, "tools"),
    ({"metadata": []}, "metadata"),
    ({"metadata": {"k": 1}}, "metadata.k"),
    ({"temperature": "1"}, "temperature"),
    ({"top_p": [1]}, "top_p"),
    ({"parallel_tool_calls": "yes"}, "parallel_tool_calls"),
    ({"parallel_tool_calls": 1}, "parallel_tool_calls"),
    (
        {"usage": {"prompt_tokens": 1, "completion_tokens": "2", "total_tokens": 3}},
        "usage.completion_tokens",
    ),
    ({"usage": 3}, "usage"),
    ({"last_error": "boom"}, "last_error"),
    # booleans are not integers, floats are not timestamps
    ({"created_at": True}, "created_at"),
    ({"started_at": False}, "started_at"),
    ({"expires_at": 1.5}, "expires_at"),
    ({"completed_at": 1.0}, "completed_at"),
    ({"max_prompt_tokens": True}, "max_prompt_tokens"),
    (
        {"usage": {"prompt_tokens": True, "completion_tokens": 2, "total_tokens": 3}},
        "usage.prompt_tokens",
    ),
    (
        {"truncation_strategy": {"type": "last_messages", "last_messages": 2.5}},
        "truncation_strategy.last_messages",
    ),
    ({"temperature": True}, "temperature"),
    # unknown enumerated values
    ({"status": "pending"}, "status"),
    ({"status": "QUEUED"}, "status"),
    ({"object": "thread"}, "object"),
    ({"last_error": {"code": "oops", "message": "m"}}, "last_error.code"),
    ({"incomplete_details": {"reason": "max_tokens"}}, "incomplete_details.reason"),
    ({"truncation_strategy": {"type": "first_messages"}}, "truncation_strategy.type"),
    ({"tools": [{"type": "retrieval"}]}, "tools[0].type"),
    ({"tools": [{"type": "code_interpreter"}, {"no": "type"}]}, "tools[1].type"),
    ({"response_format": "json"}, "response_format"),
    ({"response_format": {"type": "json"}}, "response_format.type"),
    ({"response_format": 1}, "response_format"),
    ({"tool_choice": "any"}, "tool_choice"),
    ({"tool_choice": {"type": "web_search"}}, "tool_choice.type"),
    ({"tool_choice": {"type": "function", "function": {"name": 3}}}, "tool_choice.function.name"),
    (
        {
            "tools": [
                {
                    "type": "file_search",
                    "file_search": {"ranking_options": {"score_threshold": 0.5, "ranker": "fast"}},
                }
            ]
        },
        "tools[0].file_search.ranking_options.ranker",
    ),
    # nested garbage
    ({"tools": [1]}, "tools[0]"),
    ({"tools": [{"type": "function"}]}, "tools[0].function"),
    ({"tools": [{"type": "function", "function": {"name": 1}}]}, "tools[0].function.name"),
    (
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]},
        "tools[0].function.parameters",
    ),
    (
        {"tools": [{"type": "file_search", "file_search": {"max_num_results": "5"}}]},
        "tools[0].file_search.max_num_results",
    ),
    (
        {"tools": [{"type": "file_search", "file_search": {"ranking_options": {}}}]},
        "tools[0].file_search.ranking_options.score_threshold",
    ),
    (
        {"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
        "response_format.json_schema.name",
    ),
    ({"required_action": {"type": "submit_tool_outputs"}}, "required_action.submit_tool_outputs"),
    (
        {"required_action": {"type": "other", "submit_tool_outputs": {"tool_calls": []}}},
        "required_action.type",
    ),
    (
        {
            "required_action": {
                "type": "submit_tool_outputs",
                "submit_tool_outputs": {"tool_calls": "x"},
            }
        },
        "required_action.submit_tool_outputs.tool_calls",
    ),
    (
        {
            "required_action": {
                "type": "submit_tool_outputs",
                "submit_tool_outputs": {
                    "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f"}}]
                },
            }
        },
        "required_action.submit_tool_outputs.tool_calls[0].function.arguments",
    ),
    (
        {
            "required_action": {
                "type": "submit_tool_outputs",
                "submit_tool_outputs": {"tool_calls": [None]},
            }
        },
        "required_action.submit_tool_outputs.tool_calls[0]",
    ),
    (
        {
            "required_action": {
                "type": "submit_tool_outputs",
                "submit_tool_outputs": {
                    "tool_calls": [
                        {"id": 7, "type": "function", "function": {"name": "f", "arguments": "{}"}}
                    ]
                },
            }
        },
        "required_action.submit_tool_outputs.tool_calls[0].id",
    ),
]


@pytest.mark.parametrize(("change", "field"), BAD_FIELDS, ids=[f for _, f in BAD_FIELDS])
def test_bad_field_is_named(change: dict[str, Any], field: str) -> None:
    payload = {**BASE, **change}
    assert field in fields_of(payload)
    assert field in fields_of(json.dumps(payload))
    assert field in fields_of(json.dumps(payload).encode("utf-8"))


# --------------------------------------------------------------------------------------
# Bad input: not a JSON object at all


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "{",
        "not json",
        "{'id': 'run_1'}",
        '{"id": "run_1",}',
        json.dumps(BASE) + " x",
        json.dumps(BASE) + json.dumps(BASE),
        "\ufeff" + json.dumps(BASE),
    ],
    ids=[
        "empty",
        "blank",
        "open-brace",
        "words",
        "single-quotes",
        "trailing-comma",
        "trailing-garbage",
        "two-objects",
        "bom",
    ],
)
def test_non_json_text(text: str) -> None:
    (error,) = errors_of(text)
    assert (error.field, error.rule) == ("$", "json")
    assert error.message.startswith("not valid JSON")
    (error,) = errors_of(text.encode("utf-8"))
    assert (error.field, error.rule) == ("$", "json")


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe{}", b'{"id": "run_\xff"}', "caf\u00e9".encode("latin-1"), b"\xc3"],
    ids=["utf16-bom", "bad-byte-in-string", "latin-1", "truncated-sequence"],
)
def test_non_utf8_bytes(data: bytes) -> None:
    (error,) = errors_of(data)
    assert (error.field, error.rule) == ("$", "json")
    assert error.message.startswith("not UTF-8 text")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("[]", "an array"),
        ("[{}]", "an array"),
        ('"run"', '"run"'),
        ("42", "42"),
        ("1.5", "1.5"),
        ("null", "null"),
        ("true", "true"),
    ],
)
def test_json_that_is_not_an_object(text: str, shown: str) -> None:
    assert errors_of(text) == (FieldError("$", "type", f"expected an object, got {shown}"),)


@pytest.mark.parametrize(
    "value",
    [None, 42, 1.5, ["a"], ("a",), {1, 2}, object()],
    ids=["None", "int", "float", "list", "tuple", "set", "object"],
)
def test_input_that_is_neither_text_nor_mapping(value: Any) -> None:
    (error,) = errors_of(value)
    assert (error.field, error.rule) == ("$", "type")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_text(constant: str) -> None:
    for key in ("temperature", "x_unknown"):
        text = json.dumps(BASE)[:-1] + f', "{key}": {constant}}}'
        (error,) = errors_of(text)
        assert (error.field, error.rule) == ("$", "json")
        assert constant in error.message


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")], ids=str)
def test_nan_and_infinity_in_a_mapping(number: float) -> None:
    assert fields_of({**BASE, "temperature": number}) == ["temperature"]
    assert fields_of({**BASE, "x_unknown": [number]}) == ["x_unknown[0]"]


def test_overflowing_number_in_a_known_field() -> None:
    text = json.dumps(BASE)[:-1] + ', "temperature": 1e400}'
    assert errors_of(text) == (
        FieldError("temperature", "type", "expected a finite number, got Infinity"),
    )


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"x": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)}, "x"),
        ({"x": {1, 2}}, "x"),
        ({"x": b"bytes"}, "x"),
        ({"x": decimal.Decimal("1.5")}, "x"),
        ({"metadata": {"k": object()}}, "metadata.k"),
        ({"x": {"nested": [1, {2, 3}]}}, "x.nested[1]"),
        ({"created_at": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)}, "created_at"),
    ],
    ids=[
        "datetime",
        "set",
        "bytes",
        "decimal",
        "object-in-metadata",
        "nested-set",
        "datetime-timestamp",
    ],
)
def test_non_json_python_values(value: dict[str, Any], field: str) -> None:
    assert fields_of({**BASE, **value}) == [field]


def test_non_string_key() -> None:
    (error,) = errors_of({**BASE, 1: "one"})
    assert error.rule == "json"


# --------------------------------------------------------------------------------------
# Bad input: deeply nested


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        json.dumps(BASE)[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
    ids=["arrays", "objects", "inside-a-run"],
)
def test_deeply_nested_text(text: str) -> None:
    (error,) = errors_of(text)
    assert (error.field, error.rule) == ("$", "json")
    (error,) = errors_of(text.encode("utf-8"))
    assert (error.field, error.rule) == ("$", "json")


def deep_dict(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return root


def test_deeply_nested_mapping() -> None:
    errors = errors_of({**BASE, "x": deep_dict(100_000)})
    assert [e.rule for e in errors] == ["json"]
    assert errors[0].field.startswith("x.a.a")


def test_deeply_nested_list_in_a_mapping() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    assert [e.rule for e in errors_of({**BASE, "tools": deep})] == ["json"]


# --------------------------------------------------------------------------------------
# Nothing but InvalidRun escapes

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(), kids, max_size=4),
    max_leaves=20,
)


def parses_or_invalid(data: Any) -> Run | None:
    try:
        return parse_run(data)
    except InvalidRun as exc:
        assert exc.errors
        assert all(isinstance(e, FieldError) and e.field and e.message for e in exc.errors)
        return None


@given(json_values)
def test_arbitrary_values_raise_only_invalid_run(value: Any) -> None:
    parses_or_invalid(value)
    parses_or_invalid({**BASE, "extra": value})


python_values = st.recursive(
    st.none()
    | st.integers()
    | st.floats()
    | st.text()
    | st.binary()
    | st.complex_numbers()
    | st.datetimes()
    | st.decimals()
    | st.builds(object),
    lambda kids: (
        st.lists(kids, max_size=3)
        | st.tuples(kids)
        | st.frozensets(st.integers())
        | st.dictionaries(st.text() | st.integers(), kids, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(st.sampled_from([*REQUIRED, "tools", "metadata", "x_unknown"]), python_values)
)
def test_python_values_raise_only_invalid_run(value: dict[str, Any]) -> None:
    parses_or_invalid({**BASE, **value})


@given(st.text() | st.binary())
def test_arbitrary_text_raises_only_invalid_run(data: str | bytes) -> None:
    parses_or_invalid(data)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                *REQUIRED,
                "tools",
                "usage",
                "required_action",
                "tool_choice",
                "response_format",
                "metadata",
            ]
        ),
        json_values,
    )
)
def test_run_shaped_garbage_raises_only_invalid_run(value: dict[str, Any]) -> None:
    parses_or_invalid(value)
    parses_or_invalid(json.dumps(value))  # NaN and Infinity are written as JSON extensions


def locations(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value`` (dict keys and list indexes)."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += locations(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += locations(item, (*path, index))
    return found


def mutate(payload: dict[str, Any], path: tuple[Any, ...], how: str, new: Any) -> dict[str, Any]:
    result = copy.deepcopy(payload)
    if not path:
        return new if how == "replace" else result  # type: ignore[no-any-return]
    parent = result
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "replace":
        parent[last] = new
    elif how == "delete":
        del parent[last]
    elif isinstance(parent, dict):  # "add": an unknown key next to this one
        parent[f"{last}_x"] = new
    else:
        parent.append(new)
    return result


strict_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(), kids, max_size=3),
    max_leaves=10,
)


@given(run_payloads(), st.data())
def test_mutated_payloads_round_trip_or_raise_invalid_run(
    payload: dict[str, Any], data: st.DataObject
) -> None:
    path = data.draw(st.sampled_from(locations(payload)), label="path")
    how = data.draw(st.sampled_from(["replace", "delete", "add"]), label="how")
    new = data.draw(strict_json_values, label="new")
    mutated = mutate(payload, path, how, new)
    run = parses_or_invalid(mutated)
    text_run = parses_or_invalid(json.dumps(mutated))
    assert run == text_run  # both paths agree, on success and on refusal
    if run is not None:
        assert json_equal(dump_run(run), mutated)


# --------------------------------------------------------------------------------------
# Bugs found by these tests, now fixed: keep them fixed


def with_key(path: str, literal: str) -> str:
    """BASE as JSON text with ``literal`` (raw JSON) placed at ``path``."""
    placeholder = "__PLACEHOLDER__"
    payload: dict[str, Any] = copy.deepcopy(BASE)
    node = payload
    *parents, last = path.split(".")
    for name in parents:
        node = node.setdefault(name, {})
    node[last] = placeholder
    return json.dumps(payload).replace(f'"{placeholder}"', literal)


@pytest.mark.parametrize(
    "text",
    [
        with_key("x_unknown", "1e400"),
        with_key("x_unknown", "[-1e999]"),
        with_key(
            "usage",
            '{"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, "details": 1e400}',
        ),
        with_key(
            "tools",
            '[{"type": "function", "function": {"name": "f", "parameters": {"maximum": 1e400}}}]',
        ),
    ],
    ids=["run-extra", "run-extra-in-list", "usage-extra", "function-parameters"],
)
def test_overflowing_number_in_kept_json_is_refused(text: str) -> None:
    run = parses_or_invalid(text)
    if run is not None:  # if accepted at all, it must at least be writable as JSON again
        json.dumps(dump_run(run), allow_nan=False)
        assert parse_run(dump_run(run)) == run


def nested_text(depth: int) -> str:
    return json.dumps(BASE)[:-1] + ', "x_unknown": ' + "[" * depth + "]" * depth + "}"


def test_text_and_mapping_agree_on_nesting() -> None:
    text = nested_text(300)
    from_text = parses_or_invalid(text)
    from_mapping = parses_or_invalid(json.loads(text))
    assert (from_text is None) == (from_mapping is None)
    if from_text is not None:
        assert parse_run(dump_run(from_text)) == from_text


def test_dump_run_handles_everything_parse_run_accepts() -> None:
    for depth in range(300, 3001, 100):
        run = parses_or_invalid(nested_text(depth))
        if run is not None:
            dump_run(run)


def test_parse_run_status_is_the_enum_member() -> None:
    run = parse_run({**BASE, "status": "requires_action"})
    assert run.status is RunStatus.REQUIRES_ACTION


class TextSubclass(str):
    """A ``str`` subclass, as frameworks hand out (markup-safe strings, str enums...)."""


def test_str_subclass_text_is_text() -> None:
    text = json.dumps(BASE)
    assert parse_run(TextSubclass(text)) == parse_run(text)


def test_bytes_subclass_and_memoryview_are_bytes() -> None:
    class BytesSubclass(bytes):
        pass

    data = json.dumps(BASE).encode("utf-8")
    expected = parse_run(data)
    assert parse_run(BytesSubclass(data)) == expected
    assert parse_run(memoryview(data)) == expected  # type: ignore[arg-type]
