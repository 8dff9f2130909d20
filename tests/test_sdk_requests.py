"""What the official SDK sends parses: bodies captured from openai-python on a mock transport."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

import runstate as rs

openai = pytest.importorskip("openai")
try:  # openai >= 3 ships on httpx2; older releases on httpx
    import httpx2 as httpx
except ImportError:  # pragma: no cover - depends on the installed SDK
    import httpx  # type: ignore[no-redef]

INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"

TOOLS: list[Any] = [
    {"type": "code_interpreter"},
    {"type": "file_search"},
    {
        "type": "file_search",
        "file_search": {
            "max_num_results": 5,
            "ranking_options": {"score_threshold": 0.5, "ranker": "default_2024_08_21"},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            "strict": True,
        },
    },
]
TOOL_CHOICES: list[Any] = [
    "none",
    "auto",
    "required",
    {"type": "function", "function": {"name": "get_weather"}},
    {"type": "code_interpreter"},
    {"type": "file_search"},
]
RESPONSE_FORMATS: list[Any] = [
    "auto",
    {"type": "text"},
    {"type": "json_object"},
    {
        "type": "json_schema",
        "json_schema": {
            "name": "answer",
            "description": "An answer",
            "schema": {"type": "object", "properties": {}},
            "strict": True,
        },
    },
]
TRUNCATIONS: list[Any] = [{"type": "auto"}, {"type": "last_messages", "last_messages": 3}]

# Every argument of runs.create, one call per value of the ones with several forms.
CREATE_ARGS: list[dict[str, Any]] = [
    {},
    {
        "model": "gpt-4o",
        "instructions": "Be brief.",
        "additional_instructions": "Use metric units.",
        "additional_messages": [
            {"role": "user", "content": "Hi", "metadata": {"k": "v"}},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello"}],
             "attachments": [{"file_id": "file_1", "tools": [{"type": "code_interpreter"}]}]},
        ],
        "metadata": {"user": "42"},
        "temperature": 0.2,
        "top_p": 0.9,
        "max_prompt_tokens": 1000,
        "max_completion_tokens": 256,
        "parallel_tool_calls": False,
        "reasoning_effort": "low",
        "include": [INCLUDE],
        "tools": TOOLS,
    },
    {"temperature": None, "model": None, "instructions": None},
    {"stream": True},
    {"stream": False},
    *({"tool_choice": c, "tools": TOOLS} for c in TOOL_CHOICES),
    *({"response_format": f} for f in RESPONSE_FORMATS),
    *({"truncation_strategy": t} for t in TRUNCATIONS),
]  # fmt: skip

THREAD_AND_RUN_ARGS: list[dict[str, Any]] = [
    {},
    {
        "thread": {
            "messages": [{"role": "user", "content": "Hi"}],
            "metadata": {"a": "b"},
            "tool_resources": {"code_interpreter": {"file_ids": []}},
        },
        "model": "gpt-4o",
        "instructions": "Be brief.",
        "tools": TOOLS,
        "tool_resources": {"file_search": {"vector_store_ids": ["vs_1"]}},
        "metadata": {"user": "42"},
        "temperature": 1.5,
        "top_p": 0.1,
        "max_prompt_tokens": 2048,
        "max_completion_tokens": 512,
        "parallel_tool_calls": True,
    },
    {"stream": True},
    *({"tool_choice": c, "tools": TOOLS} for c in TOOL_CHOICES),
    *({"response_format": f} for f in RESPONSE_FORMATS),
    *({"truncation_strategy": t} for t in TRUNCATIONS),
]

_RUN = {"id": "run_1", "object": "thread.run", "status": "queued"}


def _answer(request: Any) -> Any:
    if request.method == "GET":
        page = {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
        return httpx.Response(200, json=page)
    if json.loads(request.content or b"{}").get("stream"):
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            content=b"event: done\ndata: [DONE]\n\n",
        )
    return httpx.Response(200, json=_RUN)


@pytest.fixture
def sdk() -> Iterator[tuple[Any, list[Any]]]:
    sent: list[Any] = []

    def handler(request: Any) -> Any:
        sent.append(request)
        return _answer(request)

    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://server.test/v1",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield client, sent
    client.close()


def _consume(result: Any) -> None:
    if isinstance(result, openai.Stream):
        for _ in result:
            pass


def _headers_ok(request: Any) -> None:
    rs.toolkit.validate_beta_header(request.headers.get("openai-beta"))


@pytest.mark.parametrize("args", CREATE_ARGS, ids=lambda a: ",".join(a) or "minimal")
def test_runs_create(sdk: tuple[Any, list[Any]], args: dict[str, Any]) -> None:
    client, sent = sdk
    _consume(client.beta.threads.runs.create("thread_1", assistant_id="asst_1", **args))
    (request,) = sent
    _headers_ok(request)
    parsed = rs.parse_create_run(request.content, include=request.url.params.get_list("include[]"))
    assert parsed.assistant_id == "asst_1"
    assert parsed.stream is bool(args.get("stream"))
    run = parsed.new_run(id="run_1", thread_id="thread_1", now=100, assistant_model="gpt-4o")
    dumped = rs.dump_run(run)
    for key, value in args.items():
        if key in dumped and value is not None:
            assert dumped[key] == value, key
    if "include" in args:
        assert parsed.include == tuple(args["include"])
    if "additional_messages" in args:
        assert parsed.additional_messages == tuple(args["additional_messages"])
        assert parsed.additional_instructions == args["additional_instructions"]


@pytest.mark.parametrize("args", THREAD_AND_RUN_ARGS, ids=lambda a: ",".join(a) or "minimal")
def test_threads_create_and_run(sdk: tuple[Any, list[Any]], args: dict[str, Any]) -> None:
    client, sent = sdk
    _consume(client.beta.threads.create_and_run(assistant_id="asst_1", **args))
    (request,) = sent
    _headers_ok(request)
    parsed = rs.parse_create_thread_and_run(request.content)
    assert parsed.thread == args.get("thread")
    run = parsed.new_run(id="run_1", thread_id="thread_1", now=100, assistant_model="gpt-4o")
    dumped = rs.dump_run(run)
    for key, value in args.items():
        if key in dumped and value is not None:
            assert dumped[key] == value, key


@pytest.mark.parametrize("stream", [None, False, True])
def test_runs_submit_tool_outputs(sdk: tuple[Any, list[Any]], stream: bool | None) -> None:
    client, sent = sdk
    outputs = [{"tool_call_id": "call_A", "output": "42"}, {"tool_call_id": "call_B"}]
    extra = {} if stream is None else {"stream": stream}
    _consume(
        client.beta.threads.runs.submit_tool_outputs(
            "run_1", thread_id="thread_1", tool_outputs=outputs[:1], **extra
        )
    )
    (request,) = sent
    parsed = rs.parse_submit_tool_outputs(request.content)
    assert parsed.tool_outputs == (rs.ToolOutput(tool_call_id="call_A", output="42"),)
    assert parsed.stream is bool(stream)


@pytest.mark.parametrize("metadata", [None, {}, {"k": "v", "n": "1"}])
def test_runs_update(sdk: tuple[Any, list[Any]], metadata: dict[str, str] | None) -> None:
    client, sent = sdk
    extra = {} if metadata is None else {"metadata": metadata}
    client.beta.threads.runs.update("run_1", thread_id="thread_1", **extra)
    (request,) = sent
    assert rs.parse_modify_run(request.content).metadata == metadata


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"limit": 1, "order": "asc", "after": "run_1"},
        {"limit": 100, "order": "desc", "before": "run_9"},
    ],
)
def test_runs_list(sdk: tuple[Any, list[Any]], args: dict[str, Any]) -> None:
    client, sent = sdk
    client.beta.threads.runs.list("thread_1", **args)
    (request,) = sent
    query = rs.parse_list_runs(dict(request.url.params))
    expected = rs.toolkit.ListRuns(**args)
    assert query == expected
