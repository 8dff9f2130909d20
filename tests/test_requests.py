"""Request bodies: the API's exact 400s and 404s (spec-facts §10.2), and what parses."""

from __future__ import annotations

import collections
import copy
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from realworld import json_equal

import runstate as rs
from runstate import InvalidRequest
from runstate._schema import MAX_JSON_DEPTH


def body_of(exc: rs.APIError) -> str:
    return json.dumps(exc.to_api_error())


def expected(message: str, param: str | None, code: str | None) -> str:
    return json.dumps(
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": param,
                "code": code,
            }
        }
    )


def refusal(call: Any, *args: Any, **kwargs: Any) -> rs.APIError:
    with pytest.raises(rs.APIError) as info:
        call(*args, **kwargs)
    return info.value


# --------------------------------------------------------------------------------------
# spec-facts §10.2, row by row: the exact body, byte for byte


@pytest.mark.parametrize(
    ("kind", "id", "message"),
    [
        ("run", "run_abc", "No run found with id 'run_abc'."),
        ("run step", "step_123", "No run step found with id 'step_123'."),
        ("thread", "thread_X", "No thread found with id 'thread_X'."),
        ("assistant", "asst_X", "No assistant found with id 'asst_X'."),
    ],
)
def test_not_found_rows(kind: Any, id: str, message: str) -> None:
    err = rs.not_found(kind, id)
    assert isinstance(err, rs.NotFound)
    assert err.http_status == 404
    assert body_of(err) == expected(message, None, None)


def _tools(n: int) -> list[dict[str, str]]:
    return [{"type": "code_interpreter"}] * n


def _waiting_run() -> rs.Run:
    run = rs.start(
        rs.new_run(id="run_1", thread_id="thread_1", assistant_id="asst_1", model="m", now=1),
        now=2,
    )
    calls = [
        {"id": c, "type": "function", "function": {"name": "f", "arguments": "{}"}}
        for c in ("call_A", "call_B")
    ]
    return rs.require_action(run, calls, now=3)


def _submit(body: bytes) -> rs.Run:
    request = rs.parse_submit_tool_outputs(body)
    return rs.submit_tool_outputs(_waiting_run(), request.tool_outputs, now=4)


BAD_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON. If you have trouble figuring out how to fix this, please "
    "contact us through our help center at help.openai.com.)"
)

ROWS: list[Any] = [
    pytest.param(
        lambda: rs.parse_create_run(b"{}"),
        (
            "Missing required parameter: 'assistant_id'.",
            "assistant_id",
            "missing_required_parameter",
        ),
        id="assistant_id missing",
    ),
    pytest.param(
        lambda: rs.parse_create_run(b'{"assistant_id": null}'),
        (
            "Invalid type for 'assistant_id': expected a string, but got null instead.",
            "assistant_id",
            "invalid_type",
        ),
        id="assistant_id null",
    ),
    pytest.param(
        lambda: rs.parse_create_run(b'{"assistant_id": "wf_6927"}'),
        (
            "Invalid 'assistant_id': 'wf_6927'. Expected an ID that begins with 'asst'.",
            "assistant_id",
            "invalid_value",
        ),
        id="assistant_id wrong prefix",
    ),
    pytest.param(
        # param and code are '?' in §10.2; by analogy with assistant_id (inferred)
        lambda: rs.toolkit.validate_id("thread_id", "undefined"),
        (
            "Invalid 'thread_id': 'undefined'. Expected an ID that begins with 'thread'.",
            "thread_id",
            "invalid_value",
        ),
        id="thread_id wrong prefix",
    ),
    pytest.param(
        lambda: rs.parse_create_thread_and_run(b'{"assistant_id": "asst_1", "tool": []}'),
        ("Unknown parameter: 'tool'.", "tool", "unknown_parameter"),
        id="unknown body parameter",
    ),
    pytest.param(
        lambda: rs.parse_create_run(b'{"assistant_id": "asst_1"}').new_run(
            id="run_1",
            thread_id="thread_1",
            now=1,
            assistant_model="m",
            thread_has_user_message=False,
        ),
        (
            "Run creation requires a Thread with a user message or an assistant with instructions.",
            None,
            "invalid_thread",
        ),
        id="empty thread and no instructions",
    ),
    pytest.param(
        lambda: rs.parse_create_run(b'{"assistant_id": "asst_1", "temperature": 200}'),
        (
            "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but "
            "got 200 instead.",
            "temperature",
            "decimal_above_max_value",
        ),
        id="temperature > 2",
    ),
    pytest.param(
        lambda: rs.parse_create_run(
            b'{"assistant_id": "asst_1", "max_prompt_tokens": 16}', strict_token_minimum=True
        ),
        (
            "Invalid 'max_prompt_tokens': integer below minimum value. Expected a value >= "
            "256, but got 16 instead.",
            "max_prompt_tokens",
            "integer_below_min_value",
        ),
        id="max_prompt_tokens < 256 (strict)",
    ),
    pytest.param(
        # The row's 128 is chat's limit; the run schemas say maxItems 20 (spec-facts §1.2).
        lambda: rs.parse_create_run({"assistant_id": "asst_1", "tools": _tools(325)}),
        (
            "Invalid 'tools': array too long. Expected an array with maximum length 20, but "
            "got an array with length 325 instead.",
            "tools",
            "array_above_max_length",
        ),
        id="too many tools",
    ),
    pytest.param(
        lambda: rs.parse_create_run(
            {"assistant_id": "asst_1", "metadata": {f"k{i}": "v" for i in range(17)}}
        ),
        (
            "Invalid 'metadata': too many properties. Expected an object with at most 16 "
            "properties, but got an object with 17 properties instead.",
            "metadata",
            "object_above_max_properties",
        ),
        id="metadata > 16 keys",
    ),
    pytest.param(
        lambda: rs.parse_modify_run({"metadata": {"k": "x" * 600}}),
        (
            "Invalid 'metadata.k': string too long. Expected a string with maximum length 512, "
            "but got a string with length 600 instead.",
            "metadata.k",
            "string_above_max_length",
        ),
        id="metadata value > 512",
    ),
    pytest.param(
        lambda: rs.parse_modify_run(b'{"metadata": {"modified": true}}'),
        (
            "Invalid type for 'metadata.modified': expected a string, but got a boolean instead.",
            "metadata.modified",
            "invalid_type",
        ),
        id="metadata value not a string",
    ),
    pytest.param(
        lambda: rs.parse_create_run(b'{"assistant_id": "asst_1", "metadata": []}'),
        (
            "Invalid type for 'metadata': expected a metadata object, but got an array instead.",
            "metadata",
            "invalid_type",
        ),
        id="metadata an array",
    ),
    pytest.param(
        lambda: _submit(b'{"tool_outputs": [{"tool_call_id": "call_A", "output": "1"}]}'),
        ("Expected tool outputs for call_ids ['call_A', 'call_B'], got ['call_A']", None, None),
        id="tool outputs missing some ids",
    ),
    pytest.param(
        lambda: _submit(
            b'{"tool_outputs": [{"tool_call_id": "call_A", "output": "1"},'
            b' {"tool_call_id": "call_A", "output": "2"}]}'
        ),
        ("Duplicate call_ids submitted: ['call_A', 'call_A']", None, None),
        id="duplicate tool_call_ids",
    ),
    pytest.param(
        lambda: rs.parse_submit_tool_outputs(
            b'{"tool_outputs": [{"tool_call_id": "call_A", "output": 42}]}'
        ),
        (
            "Invalid type for 'tool_outputs[0].output': expected a string, but got an integer "
            "instead.",
            "tool_outputs[0].output",
            "invalid_type",
        ),
        id="tool output not a string",
    ),
    pytest.param(
        lambda: rs.parse_submit_tool_outputs(b'{"stream": true}'),
        (
            "Missing required parameter: 'tool_outputs'.",
            "tool_outputs",
            "missing_required_parameter",
        ),
        id="tool_outputs missing",
    ),
    pytest.param(
        lambda: rs.parse_create_run(b'{"assistant_id": "asst_1",'),
        (BAD_JSON, None, None),
        id="malformed JSON body",
    ),
    pytest.param(
        lambda: rs.parse_list_runs({"limit": "1000"}),
        (
            "Invalid 'limit': integer above maximum value. Expected a value <= 100, but got "
            "1000 instead.",
            "limit",
            "integer_above_max_value",
        ),
        id="list limit > 100",
    ),
    pytest.param(
        lambda: rs.toolkit.validate_beta_header(None),
        (
            "You must provide the 'OpenAI-Beta' header to access the Assistants API. Please "
            "try again by setting the header 'OpenAI-Beta: assistants=v2'.",
            None,
            "invalid_beta",
        ),
        id="missing OpenAI-Beta header",
    ),
]


@pytest.mark.parametrize(("call", "row"), ROWS)
def test_spec_facts_rows(call: Any, row: tuple[str, str | None, str | None]) -> None:
    err = refusal(call)
    assert err.http_status == 400
    assert body_of(err) == expected(*row)


def test_recorded_error_bodies(real_world: Any) -> None:
    """The recorded 4xx bodies that these functions produce, reproduced exactly."""
    produce = {
        "No run step found with id 'step_123'.": lambda: rs.not_found("run step", "step_123"),
        "Invalid type for 'metadata.modified': expected a string, but got a boolean instead.": (
            lambda: refusal(rs.parse_modify_run, {"metadata": {"modified": True}})
        ),
    }
    matched = 0
    for line in (real_world / "errors.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        make = produce.get(record["body"]["error"]["message"])
        if make is None:
            continue
        err = make()
        assert err.http_status == record["status"]
        assert err.to_api_error() == record["body"]
        matched += 1
    assert matched >= 2


# --------------------------------------------------------------------------------------
# Random bodies, valid and broken

RUN_FIELDS = (
    "model",
    "instructions",
    "tools",
    "metadata",
    "temperature",
    "top_p",
    "max_prompt_tokens",
    "max_completion_tokens",
    "truncation_strategy",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
)

names = st.from_regex(r"[a-zA-Z0-9_-]{1,64}", fullmatch=True)
short = st.text(max_size=8)
opaque = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | short,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(short, inner, max_size=2),
    max_leaves=4,
)


def _maybe(d: dict[str, Any], key: str, value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(d, optional={key: value})


tool = st.one_of(
    st.just({"type": "code_interpreter"}),
    st.fixed_dictionaries(
        {"type": st.just("file_search")},
        optional={
            "file_search": st.none()
            | st.fixed_dictionaries(
                {},
                optional={
                    "max_num_results": st.integers(1, 50),
                    "ranking_options": st.fixed_dictionaries(
                        {"score_threshold": st.floats(0, 1)},
                        optional={"ranker": st.sampled_from(["auto", "default_2024_08_21"])},
                    ),
                },
            )
        },
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("function"),
            "function": st.fixed_dictionaries(
                {"name": names},
                optional={
                    "description": st.none() | short,
                    "parameters": st.dictionaries(short, opaque, max_size=2),
                    "strict": st.booleans(),
                },
            ),
        }
    ),
)
tool_choice = st.sampled_from(["none", "auto", "required"]) | st.fixed_dictionaries(
    {"type": st.sampled_from(["function", "code_interpreter", "file_search"])},
    optional={"function": st.fixed_dictionaries({"name": names})},
)
response_format = st.one_of(
    st.just("auto"),
    st.sampled_from([{"type": "text"}, {"type": "json_object"}]),
    st.fixed_dictionaries(
        {
            "type": st.just("json_schema"),
            "json_schema": st.fixed_dictionaries(
                {"name": names},
                optional={
                    "schema": st.dictionaries(short, opaque, max_size=2),
                    "strict": st.booleans(),
                },
            ),
        }
    ),
)
message = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["user", "assistant"]),
        "content": short | st.lists(st.just({"type": "text", "text": "hi"}), max_size=2),
    },
    optional={"metadata": st.dictionaries(short, short, max_size=2)},
)

VALID_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "model": short,
    "reasoning_effort": st.sampled_from(["low", "medium", "high"]),
    "instructions": short,
    "additional_instructions": short,
    "additional_messages": st.lists(message, max_size=2),
    "tools": st.lists(tool, max_size=3),
    "metadata": st.dictionaries(st.text(max_size=64), st.text(max_size=20), max_size=3),
    "temperature": st.floats(0, 2) | st.integers(0, 2),
    "top_p": st.floats(0, 1) | st.integers(0, 1),
    "stream": st.booleans(),
    "max_prompt_tokens": st.integers(256, 10**6),
    "max_completion_tokens": st.integers(1, 10**6),
    "truncation_strategy": st.fixed_dictionaries(
        {"type": st.sampled_from(["auto", "last_messages"])},
        optional={"last_messages": st.none() | st.integers(1, 50)},
    ),
    "tool_choice": tool_choice,
    "parallel_tool_calls": st.booleans(),
    "response_format": response_format,
}


@st.composite
def valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"assistant_id": "asst_" + draw(short)}
    for key, strategy in VALID_FIELDS.items():
        choice = draw(st.integers(0, 4))
        if choice == 0:
            body[key] = None  # null: not given
        elif choice >= 3:
            body[key] = draw(strategy)
    return body


def _containers(value: Any, path: str) -> list[tuple[str, Any]]:
    """Every (path, container) inside a JSON value, the value itself first."""
    found: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        found.append((path, value))
        for k, v in value.items():
            found.extend(_containers(v, f"{path}.{k}" if path else k))
    elif isinstance(value, list):
        found.append((path, value))
        for i, v in enumerate(value):
            found.extend(_containers(v, f"{path}[{i}]"))
    return found


junk = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(-1e6, 1e6), short,
    st.just([]), st.just({}),
)  # fmt: skip


@st.composite
def broken_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid body with one thing broken somewhere: a key added, replaced or removed."""
    # A copy: st.just() and sampled_from() hand out the same objects to every example,
    # and breaking them in place made later "valid" bodies invalid.
    body = copy.deepcopy(draw(valid_bodies()))
    spots = _containers(body, "")
    _, target = draw(st.sampled_from(spots))
    how = draw(st.sampled_from(["add", "replace", "remove"]))
    if isinstance(target, dict):
        keys = list(target)
        if how == "add" or not keys:
            target[draw(st.sampled_from(["x", "tool", "type", "name", "function"]))] = draw(junk)
        elif how == "replace":
            target[draw(st.sampled_from(keys))] = draw(junk)
        else:
            del target[draw(st.sampled_from(keys))]
    elif target:
        i = draw(st.integers(0, len(target) - 1))
        if how == "remove":
            del target[i]
        else:
            target[i] = draw(junk)
    else:
        target.append(draw(junk))
    return body


_STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def _resolve(body: Any, param: str) -> tuple[bool, Any]:
    """Whether ``param`` names a value in ``body`` (and which)."""
    value = body
    for key, index in _STEP.findall(param):
        if key:
            if not isinstance(value, dict) or key not in value:
                return False, None
            value = value[key]
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                return False, None
            value = value[int(index)]
    return True, value


def _check_outcome(body: dict[str, Any]) -> None:
    try:
        request = rs.parse_create_run(body)
    except InvalidRequest as exc:
        assert exc.http_status == 400
        if exc.param is None:
            pytest.fail(f"no param: {exc}")
        if exc.code == "missing_required_parameter":
            parent, _, key = exc.param.rpartition(".")
            found, container = _resolve(body, parent) if parent else (True, body)
            assert found and isinstance(container, dict) and key not in container, exc.param
        else:
            found, _ = _resolve(body, exc.param)
            assert found, exc.param
        return
    run = request.new_run(id="run_1", thread_id="thread_1", now=1_700_000_000, assistant_model="m")
    dumped = rs.dump_run(run)
    for key in RUN_FIELDS:
        if body.get(key) is not None:
            assert json_equal(dumped[key], body[key]), key
    assert dumped["assistant_id"] == body["assistant_id"]
    assert request.stream is bool(body.get("stream"))


@given(valid_bodies())
def test_valid_bodies_parse_and_carry_every_field(body: dict[str, Any]) -> None:
    request = rs.parse_create_run(json.dumps(body).encode())
    assert request == rs.parse_create_run(body)
    _check_outcome(body)


@given(broken_bodies())
def test_broken_bodies_parse_or_name_a_real_path(body: dict[str, Any]) -> None:
    _check_outcome(body)


@given(valid_bodies(), st.sampled_from(RUN_FIELDS[:-1]))
def test_null_means_not_given(body: dict[str, Any], key: str) -> None:
    with_null = {**body, key: None}
    without = {k: v for k, v in body.items() if k != key}
    assert rs.parse_create_run(with_null) == rs.parse_create_run(without)


# --------------------------------------------------------------------------------------
# The rules one by one


def err(call: Any, *args: Any, **kwargs: Any) -> tuple[str, str | None, str | None]:
    with pytest.raises(InvalidRequest) as info:
        call(*args, **kwargs)
    return info.value.message, info.value.param, info.value.code


def create(**fields: Any) -> rs.toolkit.CreateRun:
    return rs.parse_create_run({"assistant_id": "asst_1", **fields})


@pytest.mark.parametrize(
    ("fields", "param", "code"),
    [
        ({"tools": [{"type": "browser"}]}, "tools[0].type", "invalid_value"),
        ({"tools": [{}]}, "tools[0].type", "missing_required_parameter"),
        ({"tools": [3]}, "tools[0]", "invalid_type"),
        ({"tools": {}}, "tools", "invalid_type"),
        ({"tools": [{"type": "code_interpreter", "file_search": {}}]}, "tools[0].file_search",
         "unknown_parameter"),
        ({"tools": [{"type": "function"}]}, "tools[0].function", "missing_required_parameter"),
        ({"tools": [{"type": "function", "function": {"name": "a b"}}]},
         "tools[0].function.name", "invalid_value"),
        ({"tools": [{"type": "function", "function": {"name": "a" * 65}}]},
         "tools[0].function.name", "string_above_max_length"),
        ({"tools": [{"type": "function", "function": {"name": "f", "strict": "yes"}}]},
         "tools[0].function.strict", "invalid_type"),
        ({"tools": [{"type": "file_search", "file_search": {"max_num_results": 51}}]},
         "tools[0].file_search.max_num_results", "integer_above_max_value"),
        ({"tools": [{"type": "file_search", "file_search": {"ranking_options": {}}}]},
         "tools[0].file_search.ranking_options.score_threshold", "missing_required_parameter"),
        ({"tools": [{"type": "file_search", "file_search": {"ranking_options": {
            "score_threshold": -0.5}}}]},
         "tools[0].file_search.ranking_options.score_threshold", "decimal_below_min_value"),
        ({"tool_choice": "any"}, "tool_choice", "invalid_value"),
        ({"tool_choice": 1}, "tool_choice", "invalid_type"),
        ({"tool_choice": {"type": "function", "function": {}}}, "tool_choice.function.name",
         "missing_required_parameter"),
        ({"tool_choice": {"type": "function", "extra": 1}}, "tool_choice.extra",
         "unknown_parameter"),
        ({"response_format": "json"}, "response_format", "invalid_value"),
        ({"response_format": []}, "response_format", "invalid_type"),
        ({"response_format": {"type": "text", "json_schema": {}}}, "response_format.json_schema",
         "unknown_parameter"),
        ({"response_format": {"type": "json_schema"}}, "response_format.json_schema",
         "missing_required_parameter"),
        ({"truncation_strategy": {"type": "last_messages", "last_messages": 0}},
         "truncation_strategy.last_messages", "integer_below_min_value"),
        ({"truncation_strategy": "auto"}, "truncation_strategy", "invalid_type"),
        ({"temperature": True}, "temperature", "invalid_type"),
        ({"top_p": -0.1}, "top_p", "decimal_below_min_value"),
        ({"max_completion_tokens": 1.5}, "max_completion_tokens", "invalid_type"),
        ({"max_completion_tokens": 0}, "max_completion_tokens", "integer_below_min_value"),
        ({"parallel_tool_calls": 1}, "parallel_tool_calls", "invalid_type"),
        ({"stream": "true"}, "stream", "invalid_type"),
        ({"model": 4}, "model", "invalid_type"),
        ({"additional_messages": [{"role": "system", "content": "x"}]},
         "additional_messages[0].role", "invalid_value"),
        ({"additional_messages": [{"role": "user"}]}, "additional_messages[0].content",
         "missing_required_parameter"),
        ({"additional_messages": [{"role": "user", "content": 1}]},
         "additional_messages[0].content", "invalid_type"),
        ({"additional_messages": [{"role": "user", "content": [1]}]},
         "additional_messages[0].content[0]", "invalid_type"),
        ({"additional_messages": [{"role": "user", "content": "x", "metadata": {"a": 1}}]},
         "additional_messages[0].metadata.a", "invalid_type"),
        ({"tool_resources": {}}, "tool_resources", "unknown_parameter"),
        ({"thread": {}}, "thread", "unknown_parameter"),
    ],
)  # fmt: skip
def test_create_run_refusals(fields: dict[str, Any], param: str, code: str) -> None:
    _, got_param, got_code = err(create, **fields)
    assert (got_param, got_code) == (param, code)


def test_messages_quote_the_template() -> None:
    assert err(create, tool_choice="any")[0] == (
        "Invalid value: 'any'. Supported values are: 'none', 'auto', and 'required'."
    )
    assert err(create, tool_choice=1)[0] == (
        "Invalid type for 'tool_choice': expected one of a string or an object, but got an "
        "integer instead."
    )


@pytest.mark.parametrize("body", [b"[]", b"1", b"\xff", b"NaN", "", b'{"a": 1} x'])
def test_bodies_that_are_not_json_objects(body: bytes | str) -> None:
    assert err(rs.parse_create_run, body) == (BAD_JSON, None, None)


def test_non_finite_numbers_in_a_mapping_are_bad_json() -> None:
    assert err(create, temperature=float("nan"))[0] == BAD_JSON


def test_server_bugs_are_argument_errors() -> None:
    with pytest.raises(rs.InvalidArgument):
        rs.parse_create_run(42)  # type: ignore[arg-type]
    with pytest.raises(rs.InvalidArgument):
        rs.parse_create_run({"assistant_id": "asst_1", 1: 2})  # type: ignore[dict-item]
    with pytest.raises(rs.InvalidArgument):
        create(tools=[{"type": "function", "function": {"name": "f", "parameters": {"a": {1}}}}])
    with pytest.raises(rs.InvalidArgument):
        rs.toolkit.validate_id("file_id", "file_1")
    for include in (5, b"x", {"a": 1}, bytearray(b"x"), memoryview(b"x")):
        with pytest.raises(rs.InvalidArgument, match=r"^include: "):
            rs.parse_create_run({"assistant_id": "asst_1"}, include=include)  # type: ignore[arg-type]
    for item in (b"x", 5, collections.UserString("x")):
        with pytest.raises(rs.InvalidArgument, match=r"^include\[0\]: expected a string"):
            rs.parse_create_run({"assistant_id": "asst_1"}, include=[item])  # type: ignore[list-item]


def test_token_minimum_is_not_enforced_by_default() -> None:
    # spec-facts §8.4: the real API accepted max_completion_tokens=16.
    assert create(max_completion_tokens=16).max_completion_tokens == 16


def test_include() -> None:
    value = "step_details.tool_calls[*].file_search.results[*].content"
    body = {"assistant_id": "asst_1"}
    assert rs.parse_create_run(body, include=[value]).include == (value,)
    assert rs.parse_create_run(body, include=value).include == (value,)
    assert rs.parse_create_run(body).include == ()
    _, param, code = err(rs.parse_create_run, body, include=[value, "x"])
    assert (param, code) == ("include[1]", "invalid_value")


def test_new_run_takes_the_assistant_defaults_where_the_request_has_none() -> None:
    tool = {"type": "code_interpreter"}
    given = create(model="gpt-4.1", instructions="Be brief.", tools=[], reasoning_effort="low")
    run = given.new_run(
        id="run_1", thread_id="thread_1", now=10, assistant_model="gpt-4o",
        assistant_instructions="Help.", assistant_tools=[tool],
    )  # fmt: skip
    assert (run.model, run.instructions, run.tools) == ("gpt-4.1", "Be brief.", ())
    assert run.extra["reasoning_effort"] == "low"
    run = create().new_run(
        id="run_1", thread_id="thread_1", now=10, assistant_model="gpt-4o",
        assistant_instructions="Help.", assistant_tools=[tool],
    )  # fmt: skip
    dumped = rs.dump_run(run)
    assert (dumped["model"], dumped["instructions"], dumped["tools"]) == (
        "gpt-4o", "Help.", [tool],
    )  # fmt: skip
    assert (dumped["temperature"], dumped["top_p"], dumped["tool_choice"]) == (1.0, 1.0, "auto")
    assert dumped["parallel_tool_calls"] is True
    assert dumped["response_format"] == "auto"
    assert "reasoning_effort" not in dumped


@pytest.mark.parametrize(
    ("request_fields", "has_user", "ok"),
    [
        ({}, False, False),
        ({"instructions": "x"}, False, True),
        ({"additional_instructions": "x"}, False, True),
        ({"additional_messages": [{"role": "user", "content": "hi"}]}, False, True),
        ({"additional_messages": [{"role": "assistant", "content": "hi"}]}, False, False),
        ({}, True, True),
    ],
)
def test_invalid_thread(request_fields: dict[str, Any], has_user: bool, ok: bool) -> None:
    request = create(**request_fields)

    def make() -> rs.Run:
        return request.new_run(
            id="run_1", thread_id="thread_1", now=1, assistant_model="m",
            thread_has_user_message=has_user,
        )  # fmt: skip

    if ok:
        assert make().status is rs.RunStatus.QUEUED
    else:
        assert err(make)[2] == "invalid_thread"


def test_thread_and_run() -> None:
    thread = {"messages": [{"role": "user", "content": "Hi"}], "metadata": {}}
    request = rs.parse_create_thread_and_run(
        {"assistant_id": "asst_1", "thread": thread, "tool_resources": {"code_interpreter": {}}}
    )
    assert request.thread == thread
    run = request.new_run(
        id="run_1", thread_id="thread_1", now=1, assistant_model="m",
        thread_has_user_message=False,
    )  # fmt: skip
    assert rs.dump_run(run)["tool_resources"] == {"code_interpreter": {}}
    for key in ("additional_instructions", "include", "reasoning_effort"):
        assert err(rs.parse_create_thread_and_run, {"assistant_id": "asst_1", key: "x"})[1] == key
    assert err(rs.parse_create_thread_and_run, {"assistant_id": "asst_1", "thread": []})[2] == (
        "invalid_type"
    )
    empty = rs.parse_create_thread_and_run({"assistant_id": "asst_1", "thread": {}})
    with pytest.raises(InvalidRequest):
        empty.new_run(
            id="run_1", thread_id="thread_1", now=1, assistant_model="m",
            thread_has_user_message=False,
        )  # fmt: skip


def test_submit_tool_outputs_bodies() -> None:
    request = rs.parse_submit_tool_outputs(
        '{"tool_outputs": [{"tool_call_id": "call_A", "output": "1"},'
        ' {"tool_call_id": "call_B", "output": "2"}], "stream": true}'
    )
    assert request.stream is True
    assert rs.submit_tool_outputs(_waiting_run(), request.tool_outputs, now=4).status is (
        rs.RunStatus.QUEUED
    )
    assert rs.parse_submit_tool_outputs({"tool_outputs": [], "stream": None}).stream is False
    cases = [
        ({"tool_outputs": None}, "tool_outputs", "invalid_type"),
        ({"tool_outputs": {}}, "tool_outputs", "invalid_type"),
        ({"tool_outputs": [], "x": 1}, "x", "unknown_parameter"),
        ({"tool_outputs": [{"tool_call_id": "c", "output": "o", "y": 1}]},
         "tool_outputs[0].y", "unknown_parameter"),
        ({"tool_outputs": [{"output": "o"}]}, "tool_outputs[0].tool_call_id",
         "missing_required_parameter"),
        ({"tool_outputs": [1]}, "tool_outputs[0]", "invalid_type"),
        ({"tool_outputs": [], "stream": 1}, "stream", "invalid_type"),
    ]  # fmt: skip
    for body, param, code in cases:
        assert err(rs.parse_submit_tool_outputs, body)[1:] == (param, code), body


def test_modify_run_bodies() -> None:
    done = rs.finish_cancel(_cancelled := rs.cancel(_waiting_run(), now=5), now=6)
    assert _cancelled.status is rs.RunStatus.CANCELLING
    assert rs.parse_modify_run(b'{"metadata": {"a": "b"}}').apply(done).metadata == {"a": "b"}
    assert rs.parse_modify_run(b'{"metadata": null}').apply(done) is done
    assert err(rs.parse_modify_run, {"metadata": {}, "status": "x"})[1:] == (
        "status", "unknown_parameter",
    )  # fmt: skip
    with pytest.raises(rs.RunNotModifiable):
        rs.parse_modify_run({"metadata": {}}).apply(_waiting_run())


def test_beta_header_values() -> None:
    rs.toolkit.validate_beta_header("assistants=v2")
    rs.toolkit.validate_beta_header("foo=1, assistants=v2")
    with pytest.raises(InvalidRequest):
        rs.toolkit.validate_beta_header("assistants=v1")


@pytest.mark.parametrize(
    ("param", "good", "bad"),
    [
        ("assistant_id", "asst_1", "a_1"),
        ("thread_id", "thread_1", "t_1"),
        ("run_id", "run_1", "r_1"),
        ("step_id", "step_1", "s_1"),
    ],
)
def test_validate_id(param: str, good: str, bad: str) -> None:
    rs.toolkit.validate_id(param, good)
    assert err(rs.toolkit.validate_id, param, bad)[1:] == (param, "invalid_value")


@pytest.mark.parametrize(
    ("check", "validate", "good", "bad"),
    [
        (
            lambda v: rs.toolkit.check_id("thread_id", v),
            lambda v: rs.toolkit.validate_id("thread_id", v),
            "thread_1",
            "t_1",
        ),
        (
            rs.toolkit.check_beta_header,
            rs.toolkit.validate_beta_header,
            "assistants=v2",
            "assistants=v1",
        ),
        (rs.toolkit.check_beta_header, rs.toolkit.validate_beta_header, b"assistants=v2", None),
    ],
)
def test_check_answers_and_validate_raises_the_same_refusal(
    check: Any, validate: Any, good: Any, bad: Any
) -> None:
    # check_* never raises (docs/design.md): it returns the refusal validate_* raises.
    assert check(good) is None
    assert validate(good) is None
    answer = check(bad)
    assert isinstance(answer, InvalidRequest)
    raised = refusal(validate, bad)
    assert rs.toolkit.error_json(answer) == rs.toolkit.error_json(raised)
    with pytest.raises(rs.InvalidArgument):  # a malformed question is still the server's bug
        check(7)


def test_huge_numbers_are_refused_with_a_short_message() -> None:
    for key in ("temperature", "top_p"):
        with pytest.raises(rs.InvalidRequest) as info:
            rs.parse_create_run({"assistant_id": "asst_1", key: 10**5000})
        assert "an integer of 60 digits or more" in info.value.message
        assert len(info.value.message) < 200


# --------------------------------------------------------------------------------------
# Hardening round 3 (issue 17): one JSON front end, bounded echoes, every body read whole

#: Every body parser, with a minimal valid body and where a nested object may go.
PARSERS: dict[str, tuple[Any, dict[str, Any]]] = {
    "create_run": (rs.parse_create_run, {"assistant_id": "asst_1"}),
    "thread_and_run": (rs.parse_create_thread_and_run, {"assistant_id": "asst_1"}),
    "create_assistant": (rs.parse_create_assistant, {"model": "gpt-4o"}),
    "create_thread": (rs.parse_create_thread, {}),
    "modify_run": (rs.parse_modify_run, {}),
    "submit": (rs.parse_submit_tool_outputs, {"tool_outputs": []}),
    "json_body": (rs.toolkit.parse_json_body, {}),
}


def _surrogate_bodies(s: str) -> list[tuple[str, dict[str, Any]]]:
    """(parser, body) pairs holding ``s`` in a key or a value, at several depths."""
    meta = {"metadata": {"k": s}}
    return [
        ("create_run", {"assistant_id": "asst_" + s}),
        ("create_run", {"assistant_id": "asst_1", "instructions": s}),
        ("create_run", {"assistant_id": "asst_1", "metadata": {s: "v"}}),
        ("create_run", {"assistant_id": "asst_1", s: 1}),
        ("create_run", {"assistant_id": "asst_1", "tools": [{"type": "function", "function": {
            "name": "f", "parameters": {"type": "object", "description": [s]}}}]}),
        ("thread_and_run", {"assistant_id": "asst_1", "thread": {"messages": [
            {"role": "user", "content": s}]}}),
        ("create_assistant", {"model": "gpt-4o", "name": s}),
        ("create_assistant", {"model": "gpt-4o", **meta}),
        ("create_thread", meta),
        ("modify_run", meta),
        ("submit", {"tool_outputs": [{"tool_call_id": "call_1", "output": s}]}),
        ("json_body", {"to": {"x": [s]}}),
    ]  # fmt: skip


LONE = ["\ud800", "x\udfff", "\udc00\ud800", "\ud83d\ude00"]  # the last: a pair, two code points


@pytest.mark.parametrize("s", LONE)
@pytest.mark.parametrize("form", ["text", "mapping"])
def test_lone_surrogates_anywhere_are_malformed_json(s: str, form: str) -> None:
    for name, body in _surrogate_bodies(s):
        parse = PARSERS[name][0]
        given_body: Any = json.dumps(body) if form == "text" else body
        if form == "text" and s == "\ud83d\ude00":
            # As JSON text the pair's escapes make one valid character: read as such.
            try:
                parse(given_body)
            except rs.InvalidRequest as exc:  # "Unknown parameter: '\U0001f600'.", ...
                assert exc.message != BAD_JSON and "\U0001f600" in exc.message
            continue
        exc = refusal(parse, given_body)
        assert (exc.message, exc.param, exc.code, exc.http_status) == (BAD_JSON, None, None, 400)


def test_paired_escapes_are_one_character() -> None:
    request = rs.parse_create_run('{"assistant_id": "asst_1", "instructions": "\\ud83d\\ude00"}')
    assert request.instructions == "\U0001f600"
    run = request.new_run(id="run_1", thread_id="t", now=1, assistant_model="m")
    assert json.loads(rs.toolkit.run_json(run).encode("utf-8"))["instructions"] == "\U0001f600"


def test_output_writes_a_lone_surrogate_as_its_escape() -> None:
    base = rs.dump_run(rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1))
    text = json.dumps({**base, "instructions": "a\ud800é", "metadata": {"\udfff": "\ud800"}})
    run = rs.parse_run(text)  # a recording may hold the escape: kept, losslessly
    assert run.instructions == "a\ud800é" and dict(run.metadata) == {"\udfff": "\ud800"}
    out = rs.toolkit.run_json(run)
    assert "\\ud800" in out and "é" in out  # escaped; every other character as it was
    assert rs.parse_run(out.encode("utf-8")) == run
    assert out == json.dumps(rs.dump_run(run), separators=(",", ":"), ensure_ascii=False).replace(
        "\ud800", "\\ud800"
    ).replace("\udfff", "\\udfff")
    # error bodies: the escape too, never the raw code point
    errors = [
        rs.not_found("run", "run_\ud800"),
        refusal(rs.toolkit.validate_id, "run_id", "\ud800"),
    ]
    for err in errors:
        body = rs.toolkit.error_json(err)
        body.encode("utf-8")
        assert json.loads(body)["error"]["message"] == err.message
    exc = refusal(rs.toolkit.validate_id, "run_id", "x\ud800")
    assert "\ud800" not in exc.message and "\\ud800" in exc.message
    with pytest.raises(rs.InvalidArgument):
        rs.toolkit.error_json(ValueError("x"))  # type: ignore[arg-type]


def _nested(levels: int) -> Any:
    """An object of ``levels`` nested containers (objects and arrays), without recursion."""
    value: Any = {}
    for i in range(levels - 1):
        value = {"a": value} if (levels - i) % 2 == 0 else [value]
    return value


def _nested_text(levels: int) -> str:
    """:func:`_nested` as JSON text, built as text (``json.dumps`` would recurse)."""
    text = "{}"
    for i in range(levels - 1):
        text = '{"a":' + text + "}" if (levels - i) % 2 == 0 else "[" + text + "]"
    return text


def _placed(where: str, value: Any) -> dict[str, Any]:
    """A valid create-run (or thread-and-run) body with ``value`` at ``where``."""
    if where == "parameters":
        tool = {"type": "function", "function": {"name": "f", "parameters": value}}
        return {"assistant_id": "asst_1", "tools": [tool]}
    if where == "thread":
        return {"assistant_id": "asst_1", "thread": {"messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": value}]}]}}  # fmt: skip
    return {"assistant_id": "asst_1", "response_format": {"type": "json_schema", "json_schema": {
        "name": "n", "schema": value}}}  # fmt: skip


#: How deep ``value`` sits in :func:`_placed`'s body (the body itself is level 1).
_LEVELS_ABOVE = {"parameters": 4, "thread": 6, "schema": 3}


@pytest.mark.parametrize("where", ["parameters", "thread", "schema"])
@pytest.mark.parametrize("form", ["text", "mapping"])
def test_one_depth_rule_for_every_body(where: str, form: str) -> None:
    parse = rs.parse_create_thread_and_run if where == "thread" else rs.parse_create_run
    limit = MAX_JSON_DEPTH

    def body(total: int) -> Any:
        levels = total - _LEVELS_ABOVE[where]
        if form == "text":
            return json.dumps(_placed(where, "@")).replace('"@"', _nested_text(levels))
        return _placed(where, _nested(levels))

    assert json.loads(body(limit)) if form == "text" else body(limit)
    parse(body(limit))  # exactly at the limit: accepted, and kept
    for total in (limit + 1, 500, 990, 1_100, 5_000):
        exc = refusal(parse, body(total))
        assert (exc.message, exc.param, exc.http_status) == (BAD_JSON, None, 400), total
    deep = _nested(5_000)
    for name, (parse_any, minimal) in PARSERS.items():
        key = "metadata" if name in ("modify_run", "create_thread") else "x-deep"
        exc = refusal(parse_any, {**minimal, key: deep})
        assert exc.http_status == 400, name


@pytest.mark.parametrize(
    ("fields", "param", "code"),
    [
        ({"x" * 100_000: 1}, None, "unknown_parameter"),
        ({"tool_choice": "x" * 100_000}, "tool_choice", "invalid_value"),
        ({"metadata": {"k" * 100_000: 1}}, None, "invalid_type"),
        ({"tools": [{"type": "x" * 100_000}]}, "tools[0].type", "invalid_value"),
    ],
)
def test_refusals_echo_at_most_max_id_echo_characters(
    fields: dict[str, Any], param: str | None, code: str
) -> None:
    exc = refusal(create, **fields)
    assert exc.code == code and (param is None or exc.param == param)
    assert len(exc.message) < 400 and len(exc.param or "") <= 200
    assert len(rs.toolkit.error_json(exc)) < 800


@pytest.mark.parametrize(
    "attempt",
    [
        lambda: rs.parse_create_run({"assistant_id": "x" * 100_000}),
        lambda: rs.toolkit.validate_id("thread_id", "x" * 100_000),
        lambda: rs.toolkit.validate_id("run_id", b"r" * 100_000),
        lambda: rs.parse_list_runs({"order": "x" * 100_000}),
        lambda: rs.parse_list_runs({"order": ["asc", "y" * 100_000]}),
        lambda: rs.parse_create_assistant({"model": "m", "reasoning_effort": "x" * 100_000}),
        lambda: rs.parse_create_thread({"messages": [{"role": "r" * 100_000, "content": ""}]}),
    ],
)
def test_ids_and_enum_values_are_echoed_bounded(attempt: Any) -> None:
    exc = refusal(attempt)
    assert exc.http_status == 400
    assert len(exc.message) < 400 and len(exc.param or "") <= 200
    assert any(c * 190 in exc.message for c in "xry")  # the start of the value, as before


HUGE = 10**5000


@pytest.mark.parametrize(
    ("fields", "expect"),
    [
        ({"max_prompt_tokens": HUGE}, (BAD_JSON, None, None)),
        ({"max_completion_tokens": -HUGE}, "integer_below_min_value"),
        ({"truncation_strategy": {"type": "last_messages", "last_messages": HUGE}},
         (BAD_JSON, None, None)),
        ({"tools": [{"type": "file_search", "file_search": {"max_num_results": HUGE}}]},
         "integer_above_max_value"),
        ({"temperature": HUGE}, "decimal_above_max_value"),
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"n": HUGE}}}]},
         (BAD_JSON, None, None)),
        ({"metadata": {"k": HUGE}}, "invalid_type"),
        ({"additional_messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "u", "n": -HUGE}}]}]},
         (BAD_JSON, None, None)),
    ],
)  # fmt: skip
def test_integers_wider_than_json_text_are_api_errors(fields: dict[str, Any], expect: Any) -> None:
    exc = refusal(create, **fields)
    if isinstance(expect, tuple):
        assert (exc.message, exc.param, exc.code) == expect
    else:
        assert exc.code == expect
        assert "60 digits or more" in exc.message or exc.code == "invalid_type"
    repr(exc)
    assert len(exc.message) < 400


def test_the_same_integers_as_text_get_the_same_answer() -> None:
    text = '{"assistant_id": "asst_1", "max_prompt_tokens": 1' + "0" * 5000 + "}"
    assert err(rs.parse_create_run, text) == err(create, max_prompt_tokens=HUGE)


def test_json_schema_name_follows_the_function_name_rules() -> None:
    def fmt(name: Any) -> Any:
        return create(response_format={"type": "json_schema", "json_schema": {"name": name}})

    assert fmt("ok_name-1").response_format["json_schema"]["name"] == "ok_name-1"
    assert err(fmt, "a b")[1:] == ("response_format.json_schema.name", "invalid_value")
    assert err(fmt, "n" * 65)[1:] == ("response_format.json_schema.name", "string_above_max_length")


def test_reasoning_effort_takes_the_models_values_only() -> None:
    from typing import get_args  # noqa: PLC0415

    from runstate._model import ReasoningEffort  # noqa: PLC0415

    for value in get_args(ReasoningEffort):
        assert create(reasoning_effort=value).reasoning_effort == value
        assert rs.parse_create_assistant({"model": "m", "reasoning_effort": value})
    for bad in ("extreme", "LOW", ""):
        assert err(create, reasoning_effort=bad)[1:] == ("reasoning_effort", "invalid_value")
    assert err(create, reasoning_effort=1)[1:] == ("reasoning_effort", "invalid_type")


@pytest.mark.parametrize("check", ["id", "beta"])
@pytest.mark.parametrize("value", [5, 1.5, ["thread_1"], object()])
def test_header_checks_refuse_wrong_types_as_server_bugs(check: str, value: Any) -> None:
    def attempt() -> None:
        if check == "id":
            rs.toolkit.validate_id("thread_id", value)
        else:
            rs.toolkit.validate_beta_header(value)

    with pytest.raises(rs.InvalidArgument):
        attempt()


def test_header_checks_take_bytes_as_asgi_gives_them() -> None:
    rs.toolkit.validate_id("thread_id", b"thread_1")
    rs.toolkit.validate_id("run_id", bytearray(b"run_1"))
    rs.toolkit.validate_beta_header(b"assistants=v2")
    rs.toolkit.validate_beta_header(b"foo, assistants=v2")
    exc = refusal(rs.toolkit.validate_id, "thread_id", b"t\xe9")
    assert exc.message == "Invalid 'thread_id': 't\xe9'. Expected an ID that begins with 'thread'."
    assert refusal(rs.toolkit.validate_beta_header, b"assistants=v1").code == "invalid_beta"
    with pytest.raises(rs.InvalidArgument):
        rs.toolkit.validate_id("thread_id", None)  # type: ignore[arg-type]
    for param in (None, ["thread_id"], {"thread_id": 1}, b"thread_id"):
        with pytest.raises(rs.InvalidArgument):
            rs.toolkit.validate_id(param, "thread_1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("thread", "param", "code"),
    [
        ({"metadata": {"a": 1}}, "thread.metadata.a", "invalid_type"),
        ({"metadata": []}, "thread.metadata", "invalid_type"),
        ({"tool_resources": 5}, "thread.tool_resources", "invalid_type"),
        ({"tool_resources": {"code_interpreter": {"file_ids": [1]}}},
         "thread.tool_resources.code_interpreter.file_ids[0]", "invalid_type"),
        ({"tool_resources": {"file_search": {"vector_store_ids": ["a", "b"]}}},
         "thread.tool_resources.file_search.vector_store_ids", "array_above_max_length"),
        ({"tool_resources": {"x": {}}}, "thread.tool_resources.x", "unknown_parameter"),
        ({"messages": [{"role": "user"}]}, "thread.messages[0].content",
         "missing_required_parameter"),
        ({"messages": {}}, "thread.messages", "invalid_type"),
        ({"message": []}, "thread.message", "unknown_parameter"),
    ],
)  # fmt: skip
def test_thread_and_run_names_the_threads_params(
    thread: dict[str, Any], param: str, code: str
) -> None:
    body = {"assistant_id": "asst_1", "thread": thread}
    assert err(rs.parse_create_thread_and_run, body)[1:] == (param, code)
    # The same thread as a create-thread body: the same problem, without the prefix.
    assert err(rs.parse_create_thread, thread)[1:] == (param.removeprefix("thread."), code)


def test_integer_type_words() -> None:
    assert err(rs.parse_create_thread, {"messages": 5})[0] == (
        "Invalid type for 'messages': expected an array, but got an integer instead."
    )
    assert err(rs.parse_create_assistant, {"model": 5})[0] == (
        "Invalid type for 'model': expected a string, but got an integer instead."
    )
    assert err(create, max_prompt_tokens=2.5)[0] == (
        "Invalid type for 'max_prompt_tokens': expected an integer, but got a number instead."
    )


def test_run_tool_resources_are_read() -> None:
    parse = rs.parse_create_thread_and_run
    ok = {"code_interpreter": {"file_ids": ["f"]}, "file_search": {"vector_store_ids": ["v"]}}
    assert parse({"assistant_id": "asst_1", "tool_resources": ok}).tool_resources == ok
    stores = {"file_search": {"vector_stores": [{}]}}  # only a new thread creates stores
    assert err(parse, {"assistant_id": "asst_1", "tool_resources": stores})[1:] == (
        "tool_resources.file_search.vector_stores", "unknown_parameter",
    )  # fmt: skip
    many = {"code_interpreter": {"file_ids": ["f"] * 21}}
    assert err(parse, {"assistant_id": "asst_1", "tool_resources": many})[2] == (
        "array_above_max_length"
    )


def test_create_assistant_reads_every_field() -> None:
    body = {
        "model": "gpt-4o", "name": "n", "description": "d", "instructions": "i",
        "reasoning_effort": "low", "tools": [{"type": "code_interpreter"}],
        "tool_resources": {"file_search": {"vector_stores": [
            {"file_ids": ["f"], "chunking_strategy": {"type": "auto"}, "metadata": {"a": "b"}}]}},
        "metadata": {"k": "v"}, "temperature": 0.5, "top_p": 0.5,
        "response_format": {"type": "json_object"},
    }  # fmt: skip
    assistant = rs.parse_create_assistant(json.dumps(body).encode())
    assert assistant == rs.parse_create_assistant(body)
    assert {k: getattr(assistant, k) for k in body} == {**body, "tools": tuple(body["tools"])}
    assert rs.parse_create_assistant(b'{"model": "m", "name": null}').name is None


@pytest.mark.parametrize(
    ("fields", "param", "code"),
    [
        ({}, "model", "missing_required_parameter"),
        ({"model": None}, "model", "invalid_type"),
        ({"model": "m", "temperature": 3}, "temperature", "decimal_above_max_value"),
        ({"model": "m", "top_p": "1"}, "top_p", "invalid_type"),
        ({"model": "m", "name": "n" * 257}, "name", "string_above_max_length"),
        ({"model": "m", "description": "d" * 513}, "description", "string_above_max_length"),
        ({"model": "m", "instructions": "i" * 256_001}, "instructions",
         "string_above_max_length"),
        ({"model": "m", "tools": [{"type": "code_interpreter"}] * 129}, "tools",
         "array_above_max_length"),
        ({"model": "m", "tools": [{"type": "function", "function": {"name": "a b"}}]},
         "tools[0].function.name", "invalid_value"),
        ({"model": "m", "response_format": "json"}, "response_format", "invalid_value"),
        ({"model": "m", "tool_resources": []}, "tool_resources", "invalid_type"),
        ({"model": "m", "tool_resources": {"file_search": {"vector_stores": [{}, {}]}}},
         "tool_resources.file_search.vector_stores", "array_above_max_length"),
        ({"model": "m", "metadata": {"a": True}}, "metadata.a", "invalid_type"),
        ({"model": "m", "file_ids": []}, "file_ids", "unknown_parameter"),
    ],
)  # fmt: skip
def test_create_assistant_refusals(fields: dict[str, Any], param: str, code: str) -> None:
    assert err(rs.parse_create_assistant, fields)[1:] == (param, code)


def test_create_assistant_tools_may_hold_128() -> None:
    tools = [{"type": "code_interpreter"}] * 128
    assert len(rs.parse_create_assistant({"model": "m", "tools": tools}).tools or ()) == 128
    assert err(create, tools=tools)[2] == "array_above_max_length"  # runs: 20


@pytest.mark.parametrize("body", [b'{"model": "m", "temperature": NaN}', b'{"model": Infinity}'])
def test_create_assistant_refuses_non_json_numbers(body: bytes) -> None:
    assert err(rs.parse_create_assistant, body) == (BAD_JSON, None, None)
    assert err(rs.parse_create_thread, body.replace(b'"model"', b'"metadata"')) == (
        BAD_JSON, None, None,
    )  # fmt: skip


def test_create_thread_bodies() -> None:
    thread = rs.parse_create_thread(
        b'{"messages": [{"role": "assistant", "content": [{"type": "text", "text": "x"}]}],'
        b' "metadata": {"a": "b"}, "tool_resources": null}'
    )
    assert not thread.has_user_message and thread.tool_resources is None
    assert thread.metadata == {"a": "b"} and thread.messages[0]["role"] == "assistant"
    assert rs.parse_create_thread({}) == rs.toolkit.CreateThread()


def test_parse_json_body() -> None:
    assert rs.toolkit.parse_json_body(b' {"a": [1, 2.5, null]} ') == {"a": [1, 2.5, None]}
    got = rs.toolkit.parse_json_body({"a": (1,), "b": collections.UserDict({"c": "d"})})
    assert got == {"a": [1], "b": {"c": "d"}} and type(got["b"]) is dict
    for bad in (b"[]", b"", b"{", b'{"a": NaN}', {"a": [HUGE]}, {"a": -HUGE}):
        assert err(rs.toolkit.parse_json_body, bad) == (BAD_JSON, None, None)
    for server_bug in ({"a": {1, 2}}, {"a": {1: 2}}, {"a": b"x"}, 5):
        with pytest.raises(rs.InvalidArgument):
            rs.toolkit.parse_json_body(server_bug)  # type: ignore[arg-type]


class _IntSub(int):
    pass


class _FloatSub(float):
    pass


def test_number_and_string_subclasses_count_as_their_value() -> None:
    got = rs.toolkit.parse_json_body(
        {"i": _IntSub(3), "f": _FloatSub(0.5), "s": collections.UserString("x") and _Str("y")}
    )
    assert got == {"i": 3, "f": 0.5, "s": "y"}
    assert [type(v) for v in got.values()] == [int, float, str]
    assert err(rs.toolkit.parse_json_body, {"f": _FloatSub("nan")}) == (BAD_JSON, None, None)
    assert rs.toolkit.parse_json_body({_Str("k"): 1}) == {"k": 1}


class _Str(str):
    def __str__(self) -> str:
        return "lie"


class _Broken(collections.abc.Mapping):  # type: ignore[type-arg]
    def __getitem__(self, key: Any) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Any:
        raise RuntimeError("broken")

    def __len__(self) -> int:
        return 1


def test_broken_and_endless_mappings_are_server_bugs() -> None:
    with pytest.raises(rs.InvalidArgument, match="could not be read"):
        rs.toolkit.parse_json_body({"a": _Broken()})
    wide = {"a": [0] * (2**20 + 1)}
    with pytest.raises(rs.InvalidArgument, match="items"):
        rs.toolkit.parse_json_body(wide)


# --------------------------------------------------------------------------------------
# Messages, modify assistant / thread / message, and the spec's limits (issue 19)

_LIMITS = [
    # (parser, body with a value one over the limit, param, code, limit, got)
    (rs.parse_create_assistant, {"model": "m", "instructions": "x" * 256_001},
     "instructions", "string_above_max_length", 256_000, 256_001),
    (rs.parse_modify_assistant, {"instructions": "x" * 256_001},
     "instructions", "string_above_max_length", 256_000, 256_001),
    (rs.parse_create_run, {"assistant_id": "asst_1", "instructions": "x" * 256_001},
     "instructions", "string_above_max_length", 256_000, 256_001),
    (rs.parse_create_run, {"assistant_id": "asst_1", "additional_instructions": "x" * 256_001},
     "additional_instructions", "string_above_max_length", 256_000, 256_001),
    (rs.parse_create_assistant, {"model": "m", "tools": [{"type": "code_interpreter"}] * 129},
     "tools", "array_above_max_length", 128, 129),
    (rs.parse_modify_assistant, {"tools": [{"type": "code_interpreter"}] * 129},
     "tools", "array_above_max_length", 128, 129),
    (rs.parse_create_message, {"role": "user", "content": "x" * 256_001},
     "content", "string_above_max_length", 256_000, 256_001),
    (rs.parse_create_message,
     {"role": "user", "content": [{"type": "text", "text": "x" * 256_001}]},
     "content[0].text", "string_above_max_length", 256_000, 256_001),
    (rs.parse_create_message, {"role": "user", "content": "c", "attachments": [
        {"file_id": "f", "tools": [{"type": "file_search"}]}] * 11},
     "attachments", "array_above_max_length", 10, 11),
    (rs.parse_create_thread, {"messages": [{"role": "user", "content": "x" * 256_001}]},
     "messages[0].content", "string_above_max_length", 256_000, 256_001),
]  # fmt: skip


@pytest.mark.parametrize(("parse", "body", "param", "code", "limit", "got"), _LIMITS)
def test_the_spec_limits_answer_with_the_apis_templates(
    parse: Any, body: dict[str, Any], param: str, code: str, limit: int, got: int
) -> None:
    with pytest.raises(rs.InvalidRequest) as caught:
        parse(body)
    exc = caught.value
    kind = "string" if code.startswith("string") else "array"
    assert (exc.param, exc.code, exc.http_status) == (param, code, 400)
    assert exc.message == (
        f"Invalid '{param}': {kind} too long. Expected {'an' if kind == 'array' else 'a'} "
        f"{kind} with maximum length {limit}, but got {'an' if kind == 'array' else 'a'} "
        f"{kind} with length {got} instead."
    )
    # One under the limit passes.
    at_limit = json.loads(json.dumps(body).replace("x" * got, "x" * limit))
    if kind == "array":
        key = param
        at_limit[key] = at_limit[key][:limit]
    parse(at_limit)


def test_create_message_reads_text_parts_and_attachments() -> None:
    request = rs.parse_create_message(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look:"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            ],
            "attachments": [{"file_id": "file_1", "tools": [{"type": "code_interpreter"}]}],
            "metadata": {"k": "v"},
        }
    )
    message = request.new_message(id="msg_1", thread_id="thread_1", now=7)
    dumped = rs.steps.dump_message(message)
    assert dumped["content"] == [
        {"type": "text", "text": {"value": "Look:", "annotations": []}},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
    ]
    assert dumped["attachments"] == [{"file_id": "file_1", "tools": [{"type": "code_interpreter"}]}]
    assert (dumped["metadata"], dumped["role"], dumped["status"]) == (
        {"k": "v"},
        "user",
        "completed",
    )
    assert (dumped["run_id"], dumped["assistant_id"], dumped["completed_at"]) == (None, None, 7)
    with pytest.raises(rs.InvalidArgument, match="thread_id"):
        request.new_message(id="msg_1", thread_id=5, now=7)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"content": "c"}, "role", "missing_required_parameter"),
        ({"role": "user"}, "content", "missing_required_parameter"),
        ({"role": "user", "content": None}, "content", "invalid_type"),
        ({"role": None, "content": "c"}, "role", "invalid_type"),
        ({"role": "system", "content": "c"}, "role", "invalid_value"),
        ({"role": "user", "content": "c", "file_ids": []}, "file_ids", "unknown_parameter"),
        ({"role": "user", "content": [{"type": "audio"}]}, "content[0].type", "invalid_value"),
        ({"role": "user", "content": [{"type": "text"}]}, "content[0].text",
         "missing_required_parameter"),
        ({"role": "user", "content": [{"type": "text", "text": "t", "x": 1}]}, "content[0].x",
         "unknown_parameter"),
        ({"role": "user", "content": [{"type": "image_file"}]}, "content[0].image_file",
         "missing_required_parameter"),
        ({"role": "user", "content": "c", "attachments": [{"file_id": "f"}]},
         "attachments[0].tools", "missing_required_parameter"),
        ({"role": "user", "content": "c", "attachments": [{"file_id": "f", "tools": [
            {"type": "function"}]}]}, "attachments[0].tools[0].type", "invalid_value"),
        ({"role": "user", "content": "c", "attachments": [{"file_id": "f", "tools": [
            {"type": "file_search", "x": 1}]}]}, "attachments[0].tools[0].x", "unknown_parameter"),
    ],
)  # fmt: skip
def test_create_message_refusals(body: dict[str, Any], param: str, code: str) -> None:
    exc = refusal(rs.parse_create_message, body)
    assert (exc.param, exc.code) == (param, code)


def test_modify_assistant_thread_and_message() -> None:
    assistant = {"id": "asst_1", "name": None, "tools": [], "metadata": {}, "model": "m"}
    changed = rs.parse_modify_assistant(
        {"name": "Tutor", "tools": [{"type": "code_interpreter"}], "model": None}
    ).apply(assistant)
    assert changed == {**assistant, "name": "Tutor", "tools": [{"type": "code_interpreter"}]}
    assert assistant["name"] is None  # a copy
    assert json.dumps(changed)  # plain JSON
    exc = refusal(rs.parse_modify_assistant, {"tool_resources": {"file_search": {
        "vector_stores": [{}]}}})  # fmt: skip
    assert (exc.param, exc.code) == (
        "tool_resources.file_search.vector_stores",
        "unknown_parameter",
    )
    thread = {"id": "thread_1", "metadata": {"a": "b"}, "tool_resources": {}}
    assert rs.parse_modify_thread(b'{"metadata": {"c": "d"}}').apply(thread)["metadata"] == {
        "c": "d"
    }
    assert rs.parse_modify_thread(b"{}").apply(thread) == thread
    exc = refusal(rs.parse_modify_thread, {"metadata": []})
    assert (exc.param, exc.code) == ("metadata", "invalid_type")
    message = rs.parse_create_message({"role": "user", "content": "Hi"}).new_message(
        id="msg_1", thread_id="thread_1", now=1
    )
    assert rs.parse_modify_message(b"{}").apply(message) is message
    edited = rs.parse_modify_message({"metadata": {"k": "v"}}).apply(message)
    assert rs.steps.dump_message(edited)["metadata"] == {"k": "v"}
    assert rs.steps.dump_message(edited)["content"] == rs.steps.dump_message(message)["content"]
    with pytest.raises(rs.InvalidArgument, match="message"):
        rs.parse_modify_message(b"{}").apply({"id": "msg_1"})  # type: ignore[arg-type]
    exc = refusal(rs.parse_modify_message, {"metadata": {"k": 1}})
    assert (exc.param, exc.code) == ("metadata.k", "invalid_type")


def test_list_messages_query() -> None:
    assert rs.parse_list_messages(None) == rs.toolkit.ListMessages()
    query = rs.parse_list_messages({"run_id": ["run_a", "run_b"], "limit": "3"})
    assert (query.run_id, query.page.limit) == ("run_b", 3)
    assert rs.parse_list_messages({"run_id": ""}).run_id is None
    exc = refusal(rs.parse_list_messages, {"run_id": 5})
    assert (exc.param, exc.code) == ("run_id", "invalid_type")
    exc = refusal(rs.parse_list_messages, {"run_id": "thread_1"})
    assert (exc.param, exc.code) == ("run_id", "invalid_value")
    exc = refusal(rs.parse_list_messages, {"limit": "101"})
    assert exc.code == "integer_above_max_value"


def test_message_ids_are_checked_like_run_ids() -> None:
    rs.toolkit.validate_id("message_id", "msg_1")
    exc = refusal(rs.toolkit.validate_id, "message_id", "run_1")
    assert exc.message == "Invalid 'message_id': 'run_1'. Expected an ID that begins with 'msg'."
    assert (exc.param, exc.code) == ("message_id", "invalid_value")
    assert rs.not_found("message", "msg_1").message == "No message found with id 'msg_1'."
