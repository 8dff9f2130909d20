"""Responses executed on a model (``serve.py --model-backend``), driven by the openai SDK.

The model is :class:`fake_chat_backend.FakeBackend`, a scripted Chat Completions server on
loopback (no network). Every row of the issue's table for responses, polled and streamed;
text arriving as ``response.output_text.delta`` while the model writes; a resumed stream;
cancel during a hang (the backend call is aborted); a function-call round with
``previous_response_id``; synchronous and streamed synchronous requests; the lease rule
after a worker is killed. Every stored event sequence passes ``rr.check_trace``; the SDK
validates every answer strictly (``_strict_response_validation``). On SQLite, and on
PostgreSQL (``server_slow``, as the other server tests).
"""

from __future__ import annotations

import json
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fake_chat_backend import (
    FakeBackend,
    Reply,
    content_filter,
    hang,
    length,
    status,
    text,
    tool_calls,
)
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter
from server_helpers import ROOT, Server, database, needs_server, require_server_deps, wait_for
from test_server_responses import TOOLS, dumped, wire_form
from test_server_responses_races import read_events

from runstate import responses as rr

pytestmark = needs_server

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.server_slow),
]
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
USAGE = {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}
PARIS = '{"city": "Paris", "unit": "C"}'
SERVER = ROOT / "examples" / "server"
TERMINAL = {"response.completed", "response.failed", "response.incomplete"}


class Fake(FakeBackend):
    """The fake, answering each request by a marker in its messages, not by arrival: a
    reply a test scripted can only go to that test's response (a response cancelled
    while queued never asks, and its reply must not go to the next test's)."""

    def __init__(self) -> None:
        super().__init__()
        self.keyed: dict[str, Reply] = {}

    def mark(self, reply: Reply) -> str:
        """A marker to put in a response's input (or instructions): its request gets
        ``reply`` (a request with no marker left gets the default text)."""
        marker = f"[{secrets.token_hex(4)}]"
        with self._lock:
            self.keyed[marker] = reply
        return marker

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        sent = json.dumps(body.get("messages"))
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            found = [m for m in self.keyed if m in sent]
            reply = self.keyed.pop(found[-1]) if found else text()
            self._lock.notify_all()
        return reply


@pytest.fixture(scope="module")
def fake() -> Iterator[Fake]:
    with Fake() as backend:
        yield backend


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fake: Fake
) -> Iterator[Server]:
    db = database(request.param, tmp_path_factory.mktemp("model-responses"))
    with Server(db, "--model-backend", fake.url) as s:
        yield s


def sdk(server: Server) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.base, api_key="test", max_retries=0, _strict_response_validation=True
    )


def poll(client: openai.OpenAI, response: Any) -> list[Any]:
    """The response polled until it ends: every snapshot seen."""
    seen = [response]
    while response.status in ("queued", "in_progress"):
        time.sleep(0.02)
        response = client.responses.retrieve(response.id)
        seen.append(response)
    return seen


def stored(server: Server, response_id: str) -> list[dict[str, Any]]:
    """The response's events as stored (what any process replays), judged clean."""
    events = read_events(server.db)[response_id]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    report = rr.check_trace(events, mode="stream")
    assert report.ok and not report.problems, [str(p) for p in report.problems]
    for event in events:
        assert EVENTS.validate_python(event).type == event["type"]
    return events


def deltas(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")


def wait_asked(fake: Fake, response_id: str) -> None:
    """Wait until the backend got the request of ``response_id``."""
    fake.wait(f"the request of {response_id}", lambda f: bool(sent_for(f, response_id)))


def sent_for(fake: Fake, response_id: str) -> list[dict[str, Any]]:
    """The request bodies the backend got for ``response_id``."""
    with fake._lock:  # a request is recorded in two lists
        pairs = list(zip(fake.requests, fake.headers, strict=True))
    return [body for body, headers in pairs if headers.get("x-runstate-response") == response_id]


#: The table's rows for responses: the scripted reply, then what the response becomes.
ROWS = {
    "text": (
        text("Hello from the model.", chunks=4, usage=USAGE),
        {"status": "completed", "text": "Hello from the model."},
    ),
    "tool_calls": (
        tool_calls([("get_weather", '{"city": "Paris", "unit": "C"}')], usage=USAGE),
        {"status": "completed", "calls": [("get_weather", '{"city": "Paris", "unit": "C"}')]},
    ),
    "length": (
        length("This answer was cut", usage=USAGE),
        {"status": "incomplete", "reason": "max_output_tokens", "text": "This answer was cut"},
    ),
    "content_filter": (
        content_filter("Partial", usage=USAGE),
        {"status": "incomplete", "reason": "content_filter", "text": "Partial"},
    ),
    "429": (status(429, "slow down"), {"status": "failed", "code": "rate_limit_exceeded"}),
    "500": (status(500, "boom"), {"status": "failed", "code": "server_error"}),
}


def check_row(response: Any, expected: dict[str, Any]) -> None:
    """``response`` (the SDK's value) is what the table says for the row."""
    assert response.status == expected["status"]
    if expected["status"] == "failed":
        assert response.error is not None and response.error.code == expected["code"]
        assert response.usage is None
        return
    assert response.usage is not None
    used = response.usage
    assert (used.input_tokens, used.output_tokens, used.total_tokens) == (21, 9, 30)
    if "text" in expected:
        assert response.output_text == expected["text"]
    if "reason" in expected:
        assert response.incomplete_details is not None
        assert response.incomplete_details.reason == expected["reason"]
        assert response.output[-1].status == "incomplete"
    calls = [(i.name, i.arguments) for i in response.output if i.type == "function_call"]
    assert calls == expected.get("calls", [])


@pytest.mark.parametrize("row", list(ROWS))
def test_every_row_polled(server: Server, fake: Fake, row: str) -> None:
    reply, expected = ROWS[row]
    asked = f"Weather in Paris? {fake.mark(reply)}"
    client = sdk(server)
    response = client.responses.create(
        model="gpt-4.1-mini", input=asked, background=True, tools=TOOLS
    )
    assert response.status == "queued"
    seen = poll(client, response)
    check_row(seen[-1], expected)
    report = rr.check_trace([wire_form(r) for r in seen], mode="poll")
    assert report.ok, report.problems
    events = stored(server, response.id)
    assert deltas(events) == expected.get("text", "")
    assert len(sent_for(fake, response.id)) == 1


@pytest.mark.parametrize("row", list(ROWS))
def test_every_row_streamed(server: Server, fake: Fake, row: str) -> None:
    reply, expected = ROWS[row]
    asked = f"Weather in Paris? {fake.mark(reply)}"
    client = sdk(server)
    stream = client.responses.create(
        model="gpt-4.1-mini", input=asked, background=True, stream=True, tools=TOOLS
    )
    events = dumped(list(stream))
    assert events[0]["type"] == "response.created"
    assert events[-1]["type"] == f"response.{expected['status']}"
    assert rr.check_trace(events, mode="stream").ok
    assert deltas(events) == expected.get("text", "")
    response_id = events[0]["response"]["id"]
    assert events == stored(server, response_id)
    check_row(client.responses.retrieve(response_id), expected)


def test_tokens_arrive_as_deltas_then_a_cancel_aborts_the_call(server: Server, fake: Fake) -> None:
    """The model writes, then hangs: its text is on the stream before any end (so it
    arrived as it was written); a cancel then aborts the backend call, and the stream
    ends with ``response.failed`` carrying ``cancelled``."""
    asked = f"A story {fake.mark(hang('Once upon a time'))}"
    disconnects = fake.disconnects
    client = sdk(server)
    stream = client.responses.create(model="m", input=asked, background=True, stream=True)
    events: list[Any] = []
    for event in stream:
        events.append(event)
        if deltas(dumped(events)) == "Once upon a time":
            break
    response_id = events[0].response.id
    assert "response.completed" not in [e.type for e in events]
    fake.wait_hanging()
    cancelled = client.responses.cancel(response_id)
    assert cancelled.status == "cancelled" and cancelled.output == [] and cancelled.usage is None
    fake.wait("the backend call aborted", lambda f: f.disconnects > disconnects)
    rest = list(stream)
    joined = dumped(events + rest)
    assert joined[-1]["type"] == "response.failed"
    assert joined[-1]["response"]["status"] == "cancelled"
    assert rr.check_trace(joined, mode="stream").ok
    assert joined == stored(server, response_id)
    assert client.responses.retrieve(response_id).status == "cancelled"


def test_cancel_a_polled_response_during_a_hang(server: Server, fake: Fake) -> None:
    asked = f"Hi {fake.mark(hang())}"
    disconnects = fake.disconnects
    client = sdk(server)
    response = client.responses.create(model="m", input=asked, background=True)
    wait_asked(fake, response.id)
    fake.wait_hanging()
    assert client.responses.retrieve(response.id).status == "in_progress"
    cancelled = client.responses.cancel(response.id)
    assert cancelled.status == "cancelled"
    fake.wait("the backend call aborted", lambda f: f.disconnects > disconnects)
    seen = [response, client.responses.retrieve(response.id)]
    assert seen[-1].status == "cancelled"
    assert rr.check_trace([wire_form(r) for r in seen], mode="poll").ok
    stored(server, response.id)


def test_a_dropped_stream_resumes_without_loss_or_repeat(server: Server, fake: Fake) -> None:
    words = "one two three four five six seven eight"
    asked = f"Count {fake.mark(text(words, chunks=8, delay=0.02))}"
    client = sdk(server)
    stream = client.responses.create(model="m", input=asked, background=True, stream=True)
    first: list[Any] = []
    for event in stream:
        first.append(event)
        if event.type == "response.output_text.delta":
            break
    stream.close()  # dropped mid-text: the response goes on in the background
    response_id = first[0].response.id
    n = first[-1].sequence_number
    rest = list(client.responses.retrieve(response_id, stream=True, starting_after=n))
    joined = dumped(first + rest)
    assert [e["sequence_number"] for e in joined] == list(range(len(joined)))
    assert deltas(joined) == words
    assert rr.check_trace(joined, mode="stream").ok
    assert rr.check_trace(dumped(rest), mode="stream").ok  # the resumed part alone
    assert joined == stored(server, response_id)


def test_a_function_call_round_with_previous_response_id(server: Server, fake: Fake) -> None:
    question = f"Weather in Paris? {fake.mark(tool_calls([('get_weather', PARIS)]))}"
    brief = f"Be brief. {fake.mark(text('It is 21 C in Paris.'))}"
    client = sdk(server)
    first = poll(
        client,
        client.responses.create(
            model="m",
            instructions="Be brief.",
            input=question,
            background=True,
            tools=TOOLS,
            tool_choice="required",
            parallel_tool_calls=False,
        ),
    )[-1]
    assert first.status == "completed"
    (call,) = [i for i in first.output if i.type == "function_call"]
    second = poll(
        client,
        client.responses.create(
            model="m",
            previous_response_id=first.id,
            instructions=brief,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "21 C"}],
            background=True,
            tools=TOOLS,
        ),
    )[-1]
    assert second.status == "completed" and second.output_text == "It is 21 C in Paris."
    (asked,) = sent_for(fake, first.id)
    assert asked["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": question},
    ]
    tool = TOOLS[0]
    assert asked["tools"] == [
        {
            "type": "function",
            "function": {
                "name": tool["name"],
                "description": tool["description"],
                "parameters": tool["parameters"],
                "strict": False,
            },
        }
    ]
    assert asked["tool_choice"] == "required" and asked["parallel_tool_calls"] is False
    (answered,) = sent_for(fake, second.id)
    assert answered["messages"] == [  # its own instructions only (not carried over)
        {"role": "system", "content": brief},
        {"role": "user", "content": question},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": call.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.call_id, "content": "21 C"},
    ]
    for response in (first, second):
        stored(server, response.id)


def test_sampling_and_format_are_passed_through(server: Server, fake: Fake) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    client = sdk(server)
    response = client.responses.create(
        model="m",
        input=[
            {"role": "developer", "content": "Answer in JSON."},
            {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        ],
        background=True,
        temperature=0.25,
        top_p=0.5,
        max_output_tokens=64,
        text={"format": {"type": "json_schema", "name": "a", "schema": schema, "strict": True}},
        tools=TOOLS,
        tool_choice={"type": "function", "name": "get_weather"},
    )
    done = poll(client, response)[-1]
    assert done.status == "completed"
    assert (done.temperature, done.top_p, done.max_output_tokens) == (0.25, 0.5, 64)
    (body,) = sent_for(fake, response.id)
    assert body["messages"] == [
        {"role": "system", "content": "Answer in JSON."},
        {"role": "user", "content": "Hi"},
    ]
    assert (body["temperature"], body["top_p"], body["max_completion_tokens"]) == (0.25, 0.5, 64)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "a", "schema": schema, "strict": True},
    }
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_synchronous_requests_are_answered_by_the_model(server: Server, fake: Fake) -> None:
    client = sdk(server)
    response = client.responses.create(
        model="m", input=f"Hi {fake.mark(text('Right away.', chunks=2))}"
    )
    assert response.status == "completed" and response.background is False
    assert response.output_text == "Right away."
    assert client.responses.retrieve(response.id).output_text == "Right away."
    asked = f"Hi {fake.mark(text('Streamed right away.', chunks=3))}"
    events = dumped(list(client.responses.create(model="m", input=asked, stream=True)))
    assert [e["type"] for e in events][:2] == ["response.created", "response.in_progress"]
    assert deltas(events) == "Streamed right away."
    assert events[-1]["type"] == "response.completed"
    assert rr.check_trace(events, mode="stream").ok
    assert events == stored(server, events[0]["response"]["id"])
    failed = client.responses.create(model="m", input=f"Hi {fake.mark(status(429))}")
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.code == "rate_limit_exceeded"


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens there now


def test_a_refused_connection_fails_the_response(tmp_path: Path) -> None:
    with Server(database("sqlite", tmp_path), "--model-backend", _dead_url()) as s:
        client = sdk(s)
        done = poll(client, client.responses.create(model="m", input="Hi", background=True))[-1]
        assert done.status == "failed" and done.error is not None
        assert done.error.code == "server_error"
        assert "connect" in done.error.message
        stored(s, done.id)


def test_a_killed_worker_leaves_its_response_failed_by_the_lease_rule(
    tmp_path: Path, fake: Fake
) -> None:
    """SIGKILL while the backend call hangs: the lease lapses, and the next server's
    sweep fails the response (its call may have run: it is never executed twice)."""
    db = database("sqlite", tmp_path)
    asked = f"Hi {fake.mark(hang('half'))}"
    first = Server(db, "--model-backend", fake.url, "--model-lease", "1").start()
    try:
        client = sdk(first)
        response = client.responses.create(model="m", input=asked, background=True)
        wait_asked(fake, response.id)
        fake.wait_hanging()
        first.kill()
    finally:
        first.__exit__()
    with Server(db, "--model-backend", fake.url, "--model-lease", "1") as second:
        client = sdk(second)
        wait_for(
            lambda: client.responses.retrieve(response.id).status == "failed",
            "the lapsed response to fail",
        )
        done = client.responses.retrieve(response.id)
        assert done.error is not None and done.error.code == "server_error"
        assert len(sent_for(fake, response.id)) == 1  # not executed again
        events = stored(second, response.id)
        assert events[-1]["type"] == "response.failed"


def test_many_background_responses_at_once(server: Server, fake: Fake) -> None:
    """More responses than the worker's concurrency: each executed once, each clean."""
    client = sdk(server)
    made: list[Any] = []
    lock = threading.Lock()

    def create(i: int) -> None:
        response = client.responses.create(model="m", input=f"n{i}", background=True)
        with lock:
            made.append(response)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for response in made:
        assert poll(client, response)[-1].status == "completed"
        assert len(sent_for(fake, response.id)) == 1
        stored(server, response.id)
    assert json.dumps(sent_for(fake, made[0].id)[0]["messages"]).startswith('[{"role": "user"')


# --------------------------------------------------------------------------------------
# The request and the outcome, in process


@pytest.fixture(scope="module")
def mr() -> Iterator[Any]:
    require_server_deps()
    sys.path.insert(0, str(SERVER))
    try:
        import model_responses  # noqa: PLC0415

        yield model_responses
    finally:
        sys.path.remove(str(SERVER))


def test_the_context_becomes_chat_messages(mr: Any) -> None:
    items = [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "D"}]},
        {"type": "message", "role": "user", "content": "Q"},
        {"type": "reasoning", "id": "rs_1", "summary": []},  # not sent
        {"type": "message", "role": "tool", "content": "?"},  # no such role here: not sent
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "Let me look."}, {"type": "input_image"}]},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "c2", "name": "g", "arguments": '{"a": 1}'},
        {"type": "function_call_output", "call_id": "c1", "output": "one"},
        {"type": "function_call_output", "call_id": "c2", "output": {"n": 2}},
        {"type": "function_call", "call_id": "c3", "name": "h"},
    ]  # fmt: skip
    instructions = [{"type": "message", "role": "system", "content": "S"}]
    assert mr.chat_messages(instructions, items) == [
        {"role": "system", "content": "S"},
        {"role": "system", "content": "D"},
        {"role": "user", "content": "Q"},
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "g", "arguments": '{"a": 1}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "one"},
        {"role": "tool", "tool_call_id": "c2", "content": '{"n": 2}'},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c3", "type": "function", "function": {"name": "h", "arguments": ""}}
            ],
        },
    ]
    assert mr.chat_messages("", [{"role": "user", "content": 7}]) == [
        {"role": "user", "content": ""}
    ]


def test_tools_and_formats_in_chat_completions_shape(mr: Any) -> None:
    tools = [
        {"type": "function", "name": "f", "parameters": {}, "strict": None},
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
        {"type": "web_search"},
        "junk",
    ]
    assert mr.chat_tools(tools) == [
        {"type": "function", "function": {"name": "f", "parameters": {}}}
    ]
    assert mr.chat_tools(None) == []
    assert mr.response_format({"format": {"type": "text"}}) is None
    assert mr.response_format({"format": {"type": "json_object"}}) == {"type": "json_object"}
    assert mr.response_format(None) is None


def test_the_outcome_becomes_output_and_usage(mr: Any) -> None:
    from chat_backend import Outcome, ToolCall  # noqa: PLC0415

    assert mr.usage(None) == mr.usage(Outcome("stop", "", usage=None))
    assert mr.usage(None)["total_tokens"] == 0
    only_calls = Outcome("tool_calls", "", (ToolCall("call_1", "f", "{}"),))
    (item,) = mr.final_output(only_calls, "msg_1", "completed", streamed=False)
    assert (item["type"], item["call_id"], item["name"]) == ("function_call", "call_1", "f")
    (empty,) = mr.final_output(Outcome("stop", ""), "msg_1", "completed", streamed=False)
    assert empty["type"] == "message" and empty["content"][0]["text"] == ""


def test_calls_sharing_an_id_get_distinct_call_ids(mr: Any) -> None:
    """Some backends number every answer's calls from call_0: each call of a response
    keeps a call_id of its own, unlike its siblings' and its input's."""
    from chat_backend import Outcome, ToolCall  # noqa: PLC0415

    calls = (ToolCall("call_0", "f", "{}"), ToolCall("call_0", "g", "{}"), ToolCall("c", "h", "{}"))
    given = [{"type": "function_call_output", "call_id": "c", "output": "x"}]
    out = mr.final_output(
        Outcome("tool_calls", "", calls), "msg_1", "completed", False, mr.call_ids(given)
    )
    ids = [item["call_id"] for item in out]
    assert ids[0] == "call_0" and len(set(ids)) == 3 and "c" not in ids
    assert [item["name"] for item in out] == ["f", "g", "h"]


@pytest.mark.server_slow
def test_two_processes_on_one_postgresql_share_responses_once_each(
    tmp_path: Path, fake: Fake
) -> None:
    """Two servers on one database: each background response is executed by one of
    them, once (the lease), and both take a share (each call lasts long enough, 0.2 s,
    that one server's 4 threads cannot take all 40 before the other's next sweep)."""
    db = database("postgresql", tmp_path)
    with (
        Server(db, "--model-backend", fake.url) as one,
        Server(db, "--model-backend", fake.url) as two,
    ):
        clients = [sdk(one), sdk(two)]
        made = [
            clients[i % 2].responses.create(
                model="m",
                input=f"n{i} {fake.mark(text('a b', chunks=2, delay=0.1))}",
                background=True,
            )
            for i in range(40)
        ]
        for response in made:
            assert poll(clients[0], response)[-1].status == "completed"
        counts = [len(sent_for(fake, r.id)) for r in made]
        assert counts == [1] * len(made)
        with fake._lock:
            workers = {
                headers.get("x-runstate-worker")
                for headers in fake.headers
                if headers.get("x-runstate-response") in {r.id for r in made}
            }
        assert len(workers) == 2, workers
        for response in made:
            stored(one, response.id)


def test_a_cancel_racing_the_last_token_ends_one_way_only(server: Server, fake: Fake) -> None:
    """Cancels sent as the model finishes: each response ends ``cancelled`` (and the
    cancel answered it) or ``completed`` (and the cancel got the 400), never both, and
    its stored events are a clean stream either way."""
    client = sdk(server)
    for i in range(12):
        asked = f"Hi {fake.mark(text('a b c d', chunks=4, delay=0.005 * (i % 4)))}"
        response = client.responses.create(model="m", input=asked, background=True)
        if i % 3:  # else the cancel may find it queued: the other end of the race
            wait_asked(fake, response.id)
        try:
            answer = client.responses.cancel(response.id)
            assert answer.status == "cancelled"
            assert answer.output == [] and answer.usage is None
        except openai.BadRequestError as err:
            message = err.response.json()["error"]["message"]
            assert message == "Cannot cancel a completed response."
            answer = None
        done = poll(client, response)[-1]
        assert done.status == ("cancelled" if answer is not None else "completed")
        events = stored(server, response.id)
        assert sum(e["type"] in TERMINAL for e in events) == 1


def test_sampling_fields_of_the_wrong_type_are_refused(server: Server) -> None:
    client = sdk(server)
    for field, value in (("temperature", "hot"), ("top_p", True), ("text", "json")):
        with pytest.raises(openai.BadRequestError) as caught:
            client.responses.create(model="m", input="Hi", **{field: value})  # type: ignore[arg-type]
        error = caught.value.response.json()["error"]
        assert error["param"] == field and error["code"] == "invalid_type", error
