"""Runs executed on a model: ``serve.py --model-backend`` with the scripted fake backend.

The official openai SDK (strict response validation: every result is what its pydantic
types accept) drives each row of the issue's table through the server: text, tool calls
and their outputs, ``length``, a content filter, a 429, a 500, a refused connection, a
cancel during a hang, expiry while waiting for tool outputs, and usage. After each test
every run the database holds passes ``check_database`` (its history a legal
``check_trace`` poll trace, its steps and messages replayed as one legal stream).
Runs on SQLite, and on PostgreSQL as ``server_slow``. No network: the fake listens on
loopback.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fake_chat_backend import (
    USAGE,
    FakeBackend,
    content_filter,
    hang,
    length,
    status,
    text,
    tool_calls,
)
from server_helpers import (
    Server,
    check_database,
    database,
    needs_server,
    read_database,
    wait_for,
)

import runstate as rs

# The SDK warns that the Assistants API is deprecated: these tests use it on purpose.
pytestmark = [needs_server, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SERVER = Path(__file__).resolve().parent.parent / "examples" / "server"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.server_slow),
]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
TWICE = {k: 2 * v for k, v in USAGE.items()}
#: Instructions for every assistant: a run without any has ``instructions: null``, as
#: real runs do (spec-facts §8), which the SDK's strict validation refuses.
HINT = "Answer briefly."


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeBackend]:
    with FakeBackend() as backend:
        yield backend


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fake: FakeBackend
) -> Iterator[Server]:
    db = database(request.param, tmp_path_factory.mktemp("model"))
    args = ("--model-backend", fake.url, "--poll-after-ms", "50")
    with Server(db, *args) as s:
        yield s


@pytest.fixture
def client(server: Server, fake: FakeBackend) -> Iterator[openai.OpenAI]:
    """A strict SDK client on a fresh fake; every stored history checked afterwards."""
    fake.clear()
    yield openai.OpenAI(
        base_url=server.base, api_key="test", max_retries=0, _strict_response_validation=True
    )
    assert check_database(read_database(server.db)) == []


def start(client: openai.OpenAI, *, tools: list[Any] | None = None, **run: Any) -> Any:
    """An assistant and a thread with one user message, and a run created and polled."""
    assistant = client.beta.assistants.create(
        model="gpt-4o", instructions="Answer briefly.", tools=tools or []
    )
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "What is the weather in Paris?"}]
    )
    return client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50, **run
    )


def texts(client: openai.OpenAI, thread_id: str) -> list[tuple[str, str, str]]:
    """(role, status, text) of each of the thread's messages, oldest first."""
    found = []
    for m in client.beta.threads.messages.list(thread_id=thread_id, order="asc"):
        value = "".join(p.text.value for p in m.content if p.type == "text")
        found.append((m.role, m.status, value))
    return found


def steps(client: openai.OpenAI, run: Any) -> list[Any]:
    return list(
        client.beta.threads.runs.steps.list(thread_id=run.thread_id, run_id=run.id, order="asc")
    )


# -- the table, row by row ------------------------------------------------------------------


def test_text_completes_with_usage(client: openai.OpenAI, fake: FakeBackend) -> None:
    fake.script(text("It is sunny in Paris.", chunks=3))
    run = start(client)
    assert run.status == "completed"
    assert run.usage is not None and run.usage.model_dump() == USAGE
    assert texts(client, run.thread_id)[-1] == ("assistant", "completed", "It is sunny in Paris.")
    (step,) = steps(client, run)
    assert (step.type, step.status, step.usage.model_dump()) == (
        "message_creation",
        "completed",
        USAGE,
    )
    sent = fake.requests[0]
    assert sent["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "What is the weather in Paris?"},
    ]
    assert sent["model"] == "gpt-4o" and sent["stream"] is True
    assert fake.headers[0]["x-runstate-run"] == run.id


def test_tool_calls_then_outputs(client: openai.OpenAI, fake: FakeBackend) -> None:
    fake.script(
        tool_calls([("get_weather", '{"city": "Paris"}'), ("get_weather", '{"city": "Lyon"}')]),
        text("Sunny in Paris, rain in Lyon."),
    )
    run = start(client, tools=[WEATHER, {"type": "code_interpreter"}])
    assert run.status == "requires_action"
    required = run.required_action.submit_tool_outputs.tool_calls
    assert [(c.function.name, c.function.arguments) for c in required] == [
        ("get_weather", '{"city": "Paris"}'),
        ("get_weather", '{"city": "Lyon"}'),
    ]
    assert run.usage is None
    outputs = [
        {"tool_call_id": required[0].id, "output": "sunny"},
        {"tool_call_id": required[1].id, "output": "rain"},
    ]
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=run.thread_id, run_id=run.id, tool_outputs=outputs, poll_interval_ms=50
    )
    assert run.status == "completed"
    assert run.usage is not None and run.usage.model_dump() == TWICE
    tool_step, message_step = steps(client, run)
    assert (tool_step.type, tool_step.usage.model_dump()) == ("tool_calls", USAGE)
    assert [c.function.output for c in tool_step.step_details.tool_calls] == ["sunny", "rain"]
    assert message_step.type == "message_creation"
    assert texts(client, run.thread_id)[-1][2] == "Sunny in Paris, rain in Lyon."
    # Only the function tool is offered; the second call carries the calls and outputs.
    assert [t["type"] for t in fake.requests[0]["tools"]] == ["function"]
    second = fake.requests[1]["messages"]
    assert second[2]["role"] == "assistant"
    assert [c["id"] for c in second[2]["tool_calls"]] == [c.id for c in required]
    assert second[3:] == [
        {"role": "tool", "tool_call_id": required[0].id, "content": "sunny"},
        {"role": "tool", "tool_call_id": required[1].id, "content": "rain"},
    ]


def test_two_rounds_of_tool_calls(client: openai.OpenAI, fake: FakeBackend) -> None:
    """The fake reuses its call ids (``call_fake0``) in every round, as some local servers
    do: the second round's call gets a new id, and the third request carries both."""
    fake.script(
        tool_calls([("get_weather", '{"city": "Bonn"}')]),
        tool_calls([("get_weather", '{"city": "Köln"}')]),
        text("Bonn and Köln: clouds."),
    )
    run = start(client, tools=[WEATHER])
    ids = []
    for output in ("clouds", "more clouds"):
        assert run.status == "requires_action"
        (call,) = run.required_action.submit_tool_outputs.tool_calls
        ids.append(call.id)
        run = client.beta.threads.runs.submit_tool_outputs_and_poll(
            thread_id=run.thread_id,
            run_id=run.id,
            tool_outputs=[{"tool_call_id": call.id, "output": output}],
            poll_interval_ms=50,
        )
    assert run.status == "completed"
    assert ids[0] == "call_fake0" and ids[1] != ids[0]
    assert run.usage is not None and run.usage.total_tokens == 3 * USAGE["total_tokens"]
    third = fake.requests[2]["messages"]
    assert [m["tool_call_id"] for m in third if m["role"] == "tool"] == ids
    assert [m["content"] for m in third if m["role"] == "tool"] == ["clouds", "more clouds"]


def test_length_is_incomplete(client: openai.OpenAI, fake: FakeBackend) -> None:
    fake.script(length("The forecast for Paris is", chunks=2))
    run = start(client)
    assert run.status == "incomplete"
    assert run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_completion_tokens"
    assert run.usage is not None and run.usage.model_dump() == USAGE
    message = client.beta.threads.messages.list(thread_id=run.thread_id).data[0]
    assert message.status == "incomplete"
    assert message.incomplete_details is not None
    assert message.incomplete_details.reason == "max_tokens"
    assert message.content[0].text.value == "The forecast for Paris is"


def test_content_filter_is_incomplete(client: openai.OpenAI, fake: FakeBackend) -> None:
    fake.script(content_filter("I cannot"))
    run = start(client)
    assert run.status == "incomplete"
    # The run's reason enum has no content filter (spec-facts §1): the message says it.
    assert run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_completion_tokens"
    message = client.beta.threads.messages.list(thread_id=run.thread_id).data[0]
    assert message.status == "incomplete"
    assert message.incomplete_details is not None
    assert message.incomplete_details.reason == "content_filter"


@pytest.mark.parametrize(
    ("code", "expected"), [(429, "rate_limit_exceeded"), (500, "server_error")]
)
def test_backend_errors_fail_the_run(
    client: openai.OpenAI, fake: FakeBackend, code: int, expected: str
) -> None:
    fake.script(status(code, "the backend said no"))
    run = start(client)
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == expected
    assert "the backend said no" in run.last_error.message
    assert run.failed_at is not None


def test_cancel_aborts_a_hanging_call(client: openai.OpenAI, fake: FakeBackend) -> None:
    fake.script(hang("Let me think"))
    assistant = client.beta.assistants.create(model="gpt-4o", instructions=HINT)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    fake.wait_hanging(1)
    wait_for(lambda: bool(texts(client, thread.id)[-1][2] == "Let me think"), "the first words", 60)
    cancelled = client.beta.threads.runs.cancel(thread_id=thread.id, run_id=run.id)
    assert cancelled.status in ("cancelling", "cancelled")
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id, poll_interval_ms=50)
    assert run.status == "cancelled"
    fake.wait("the call closed", lambda f: f.disconnects == 1)
    # The message written so far ends with the run (RUN_END_EFFECTS): incomplete.
    assert texts(client, thread.id)[-1] == ("assistant", "incomplete", "Let me think")
    (step,) = steps(client, run)
    assert step.status == "cancelled"


def test_streamed_tokens_arrive_as_deltas(client: openai.OpenAI, fake: FakeBackend) -> None:
    fake.script(text("Sunny, 24 degrees, light wind.", chunks=3, delay=0.2))
    assistant = client.beta.assistants.create(model="gpt-4o", instructions=HINT)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Weather?"}])
    deltas: list[str] = []
    events: list[str] = []

    class Handler(openai.AssistantEventHandler):
        def on_event(self, event: Any) -> None:
            events.append(event.event)

        def on_text_delta(self, delta: Any, snapshot: Any) -> None:
            deltas.append(delta.value)

    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=Handler()
    ) as stream:
        stream.until_done()
        final = stream.get_final_run()
    assert final.status == "completed"
    assert "".join(deltas) == "Sunny, 24 degrees, light wind."
    assert len(deltas) >= 2  # the first piece is written at once, the rest later
    assert events[0] == "thread.run.created" and events[-1] == "thread.run.completed"
    assert "thread.message.delta" in events


def test_streamed_submit_continues(client: openai.OpenAI, fake: FakeBackend) -> None:
    fake.script(tool_calls([("get_weather", '{"city": "Oslo"}')]), text("Snow in Oslo."))
    assistant = client.beta.assistants.create(model="gpt-4o", instructions=HINT, tools=[WEATHER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Oslo?"}])
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as s:
        s.until_done()
        run = s.get_final_run()
    assert run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    deltas: list[str] = []

    class Handler(openai.AssistantEventHandler):
        def on_text_delta(self, delta: Any, snapshot: Any) -> None:
            deltas.append(delta.value)

    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "snow"}],
        event_handler=Handler(),
    ) as s:
        s.until_done()
        final = s.get_final_run()
    assert final.status == "completed"
    assert "".join(deltas) == "Snow in Oslo."


def test_request_carries_the_runs_fields(client: openai.OpenAI, fake: FakeBackend) -> None:
    fake.script(text("{}"))
    run = start(
        client,
        tools=[WEATHER],
        temperature=0.3,
        top_p=0.9,
        max_completion_tokens=500,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        parallel_tool_calls=False,
        response_format={"type": "json_object"},
        additional_instructions="Use JSON.",
        additional_messages=[{"role": "user", "content": "And in Lyon?"}],
    )
    assert run.status == "completed"
    sent = fake.requests[0]
    assert sent["temperature"] == 0.3 and sent["top_p"] == 0.9
    assert sent["max_completion_tokens"] == 500
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert sent["parallel_tool_calls"] is False
    assert sent["response_format"] == {"type": "json_object"}
    # The run holds the assistant's instructions; the model gets the request's after them.
    assert run.instructions == HINT
    assert sent["messages"] == [
        {"role": "system", "content": HINT + "\n\nUse JSON."},
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "user", "content": "And in Lyon?"},
    ]


def test_parallel_tool_calls_false_keeps_one_call(client: openai.OpenAI, fake: FakeBackend) -> None:
    fake.script(tool_calls([("get_weather", '{"city": "A"}'), ("get_weather", '{"city": "B"}')]))
    run = start(client, tools=[WEATHER], parallel_tool_calls=False)
    assert run.status == "requires_action"
    assert len(run.required_action.submit_tool_outputs.tool_calls) == 1
    client.beta.threads.runs.cancel(thread_id=run.thread_id, run_id=run.id)
    run = client.beta.threads.runs.poll(run.id, thread_id=run.thread_id, poll_interval_ms=50)
    assert run.status == "cancelled"


def test_max_completion_tokens_spent_ends_incomplete(
    client: openai.OpenAI, fake: FakeBackend
) -> None:
    spent = {"prompt_tokens": 10, "completion_tokens": 300, "total_tokens": 310}
    fake.script(tool_calls([("get_weather", '{"city": "Rome"}')], usage=spent))
    run = start(client, tools=[WEATHER], max_completion_tokens=300)
    assert run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=run.thread_id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "hot"}],
        poll_interval_ms=50,
    )
    assert run.status == "incomplete"
    assert run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_completion_tokens"
    assert len(fake.requests) == 1  # nothing left to spend: no second call
    assert run.usage is not None and run.usage.model_dump() == spent


# -- servers of their own -------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_refused_connection_fails_the_run(tmp_path: Path) -> None:
    db = database("sqlite", tmp_path)
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    with Server(db, "--model-backend", url, "--poll-after-ms", "50") as s:
        client = openai.OpenAI(base_url=s.base, api_key="t", _strict_response_validation=True)
        run = start(client)
        assert run.status == "failed"
        assert run.last_error is not None and run.last_error.code == "server_error"
    assert check_database(read_database(db)) == []


def test_expiry_while_waiting_for_tool_outputs(tmp_path: Path, fake: FakeBackend) -> None:
    fake.clear()
    fake.script(tool_calls([("get_weather", '{"city": "Nice"}')]))
    db = database("sqlite", tmp_path)
    args = ("--model-backend", fake.url, "--poll-after-ms", "50", "--expires-in", "2")
    with Server(db, *args) as s:
        client = openai.OpenAI(base_url=s.base, api_key="t", _strict_response_validation=True)
        run = start(client, tools=[WEATHER])
        assert run.status == "requires_action"
        # Nobody reads the run: the worker's sweep expires it, and the history says so.
        wait_for(lambda: _stored_status(db, run.id) == "expired", "the expiry", 60)
        run = client.beta.threads.runs.retrieve(thread_id=run.thread_id, run_id=run.id)
        assert run.status == "expired"
    assert check_database(read_database(db)) == []


def _stored_status(db: str, run_id: str) -> str:
    return str(json.loads(read_database(db).runs[run_id][2])["status"])


def test_a_backend_without_streaming_and_its_timeout(tmp_path: Path, fake: FakeBackend) -> None:
    """``--model-no-stream``: one plain request per call, the text written at once;
    ``--model-timeout``: a backend silent that long fails the run (``server_error``)."""
    fake.clear()
    fake.script(text("All at once.", chunks=3), hang())
    db = database("sqlite", tmp_path)
    args = ("--model-backend", fake.url, "--model-no-stream", "--model-timeout", "3")
    with Server(db, *args, "--poll-after-ms", "50") as s:
        client = openai.OpenAI(base_url=s.base, api_key="t", _strict_response_validation=True)
        run = start(client)
        assert run.status == "completed"
        assert texts(client, run.thread_id)[-1] == ("assistant", "completed", "All at once.")
        run = start(client)
        assert run.status == "failed"
        assert run.last_error is not None and run.last_error.code == "server_error"
    assert "stream" not in fake.requests[0] and "stream_options" not in fake.requests[0]
    assert check_database(read_database(db)) == []


def test_options_and_environment(tmp_path: Path) -> None:
    """The options' values reach the worker's settings; the environment gives defaults."""
    sys.path.insert(0, str(SERVER))
    try:
        import serve  # noqa: PLC0415

        parser = serve.argparse.ArgumentParser()
        serve.add_model_options(parser)
        args = parser.parse_args(
            ["--model-backend", "http://h/v1", "--model", "m", "--model-concurrency", "2"]
        )
        settings = serve.model_settings(args)
        assert settings.backend.url == "http://h/v1" and settings.backend.model == "m"
        assert settings.backend.key is None and settings.concurrency == 2
        assert serve.model_settings(parser.parse_args([])) is None
    finally:
        sys.path.remove(str(SERVER))


def test_environment_variables(tmp_path: Path, fake: FakeBackend, monkeypatch: Any) -> None:
    fake.clear()
    fake.script(text("From the environment."))
    monkeypatch.setenv("RUNSTATE_MODEL_BACKEND", fake.url)
    monkeypatch.setenv("RUNSTATE_MODEL_BACKEND_KEY", "sk-env")
    monkeypatch.setenv("RUNSTATE_MODEL", "llama3.2")
    db = database("sqlite", tmp_path)
    with Server(db, "--poll-after-ms", "50") as s:
        client = openai.OpenAI(base_url=s.base, api_key="t", _strict_response_validation=True)
        run = start(client)
        assert run.status == "completed"
    assert fake.requests[0]["model"] == "llama3.2"
    assert fake.headers[0]["authorization"] == "Bearer sk-env"


def test_auto_and_model_backend_exclude_each_other(tmp_path: Path) -> None:
    db = database("sqlite", tmp_path)
    server = Server(db, "--auto", "--model-backend", "http://127.0.0.1:9/v1")
    with pytest.raises(RuntimeError, match="exclude each other"):
        server.start()
    server.stop()


def test_dead_worker_run_fails_by_the_lease_rule(tmp_path: Path, fake: FakeBackend) -> None:
    """A worker SIGKILLed while its call hangs: the next worker finds the run's lease
    lapsed and fails it (``server_error``), never leaving it in flight."""
    fake.clear()
    fake.script(hang())
    db = database("sqlite", tmp_path)
    args = ("--model-backend", fake.url, "--poll-after-ms", "50", "--model-lease", "1")
    first = Server(db, *args).start()
    try:
        client = openai.OpenAI(base_url=first.base, api_key="t", _strict_response_validation=True)
        assistant = client.beta.assistants.create(model="gpt-4o", instructions=HINT)
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
        run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        fake.wait_hanging(1)
    finally:
        first.kill()
        first.stop()
    assert _stored_status(db, run.id) == "in_progress"
    with Server(db, *args) as second:
        client = openai.OpenAI(base_url=second.base, api_key="t", _strict_response_validation=True)
        run = client.beta.threads.runs.poll(run.id, thread_id=thread.id, poll_interval_ms=50)
        assert run.status == "failed"
        assert run.last_error is not None and run.last_error.code == "server_error"
    assert len(fake.requests) == 1  # not executed again
    assert check_database(read_database(db)) == []


def test_shutdown_fails_the_runs_in_flight(tmp_path: Path, fake: FakeBackend) -> None:
    """SIGTERM while a call hangs: the answer is lost with the process, so the run fails
    (``server_error``) before the server exits, instead of waiting for a lease to lapse."""
    fake.clear()
    fake.script(hang())
    db = database("sqlite", tmp_path)
    s = Server(db, "--model-backend", fake.url, "--poll-after-ms", "50").start()
    try:
        client = openai.OpenAI(base_url=s.base, api_key="t", _strict_response_validation=True)
        assistant = client.beta.assistants.create(model="gpt-4o", instructions=HINT)
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
        run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        fake.wait_hanging(1)
    finally:
        s.__exit__()
    stored = json.loads(read_database(db).runs[run.id][2])
    assert (stored["status"], stored["last_error"]["code"]) == ("failed", "server_error")
    assert check_database(read_database(db)) == []


def test_chat_request_truncation_and_images() -> None:
    sys.path.insert(0, str(SERVER))
    try:
        import model_worker  # noqa: PLC0415
        from store import Life  # noqa: PLC0415

        run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
        run = rs.parse_run(
            {
                **json.loads(rs.toolkit.run_json(run)),
                "truncation_strategy": {"type": "last_messages", "last_messages": 1},
                "instructions": "",
            }
        )

        def message(i: int, content: Any) -> Any:
            return rs.steps.parse_message(
                {
                    "id": f"msg_{i}",
                    "object": "thread.message",
                    "created_at": 1,
                    "thread_id": "t",
                    "status": "completed",
                    "role": "user",
                    "content": content,
                }
            )

        image = {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
        words = {"type": "text", "text": {"value": "Look", "annotations": []}}
        body = model_worker.chat_request(
            Life(run=run), [message(1, [words]), message(2, [words, image])]
        )
        assert body["messages"] == [
            {"role": "user", "content": [{"type": "text", "text": "Look"}, image]}
        ]
        assert "tools" not in body and "tool_choice" not in body
    finally:
        sys.path.remove(str(SERVER))


# -- the race a cancel can lose, decided in process --------------------------------------------


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Any]:
    """A ModelWorker on a SQLite store (not started: the test calls its steps), and a
    function making a run that is in progress with a cancel requested."""
    db = database("sqlite", tmp_path)
    sys.path.insert(0, str(SERVER))
    try:
        import chat_backend  # noqa: PLC0415
        import model_worker  # noqa: PLC0415
        import store as store_module  # noqa: PLC0415

        store = store_module.Store(db)
        store.create_schema()
        settings = model_worker.ModelSettings(backend=chat_backend.Backend(url="http://unused"))
        w = model_worker.ModelWorker(store, settings)
        w.create_schema()
        w.db = db
        w.modules = (chat_backend, model_worker, store_module)
        yield w
        w.hand.shutdown()
        store.close()
    finally:
        sys.path.remove(str(SERVER))


def _orphan(w: Any, expires_in: int = 600) -> Any:
    """A run in progress whose worker is gone (no lease): what a dead worker leaves."""
    _, model_worker, store_module = w.modules
    thread = store_module.Thread(store_module.new_id("thread"), 1, True, {})
    make = lambda now: rs.new_run(  # noqa: E731
        id=store_module.new_id("run"),
        thread_id=thread.id,
        assistant_id="a",
        model="m",
        now=now,
        expires_in=expires_in,
    )
    run = w.store.create_run(thread.id, make, new_thread=thread)
    w.store.change(thread.id, run.id, model_worker._op(rs.Op.START))
    assert w.leases.claim("run", run.id, w.owner, 600)  # the sweep's claim on it
    return model_worker.Execution(thread.id, run.id)


def test_the_lease_rule_fails_an_orphan(worker: Any) -> None:
    ex = _orphan(worker)
    worker._run(ex)
    run = worker.store.get_run(ex.thread_id, ex.run_id)
    assert run.status is rs.RunStatus.FAILED
    assert run.last_error.code == "server_error"


def test_the_lease_rule_expires_an_orphan_past_its_deadline(worker: Any) -> None:
    ex = _orphan(worker, expires_in=1)
    store_module = worker.modules[2]
    deadline = worker.store.get_run(ex.thread_id, ex.run_id).expires_at
    wait_for(lambda: store_module.clock() >= deadline, "the deadline", 30)
    worker._run(ex)
    run = worker.store.get_run(ex.thread_id, ex.run_id)
    assert run.status is rs.RunStatus.EXPIRED
    assert check_database(read_database(worker.db)) == []


def _cancelling_run(w: Any) -> Any:
    """A run the worker started and wrote text into, then a client cancelled."""
    _, model_worker, store_module = w.modules
    thread = store_module.Thread(store_module.new_id("thread"), 1, True, {})
    store = w.store
    make = lambda now: rs.new_run(  # noqa: E731
        id=store_module.new_id("run"), thread_id=thread.id, assistant_id="a", model="m", now=now
    )
    run = store.create_run(thread.id, make, new_thread=thread)
    ex = model_worker.Execution(thread.id, run.id)
    store.change(thread.id, run.id, model_worker._op(rs.Op.START))
    ex.step_id, ex.message_id = store_module.new_id("step"), store_module.new_id("msg")
    store.change(thread.id, run.id, w._with_text(ex, "Almost"))
    store.change(thread.id, run.id, model_worker._op(rs.Op.CANCEL))
    return ex


def test_a_cancel_losing_to_the_last_token_completes(worker: Any) -> None:
    """The whole answer arrived before the cancel was seen: cancelling -> completed is in
    the table, so the run completes (with its message), and is never also cancelled."""
    chat_backend = worker.modules[0]
    ex = _cancelling_run(worker)
    ex.pending = [" done."]
    worker._outcome(ex, chat_backend.Outcome("stop", "Almost done.", (), dict(USAGE)))
    life = worker.store.get_life(ex.thread_id, ex.run_id)
    assert life.run.status is rs.RunStatus.COMPLETED
    assert life.run.usage.total_tokens == USAGE["total_tokens"]
    assert [m.status for m in life.messages] == ["completed"]
    assert check_database(read_database(worker.db)) == []
    statuses = [r.status.value for _, r in _trace(worker, ex.run_id)]
    assert "cancelled" not in statuses


def test_a_cancel_beats_tool_calls(worker: Any) -> None:
    """Tool calls arrived, but cancelling -> requires_action is not in the table: runstate
    refuses it, and the cancel finishes."""
    chat_backend = worker.modules[0]
    ex = _cancelling_run(worker)
    calls = (chat_backend.ToolCall("call_1", "get_weather", "{}"),)
    worker._outcome(ex, chat_backend.Outcome("tool_calls", "", calls, dict(USAGE)))
    life = worker.store.get_life(ex.thread_id, ex.run_id)
    assert life.run.status is rs.RunStatus.CANCELLED
    assert check_database(read_database(worker.db)) == []


def test_an_aborted_call_finishes_the_cancel(worker: Any) -> None:
    ex = _cancelling_run(worker)
    worker._aborted(ex)
    life = worker.store.get_life(ex.thread_id, ex.run_id)
    assert life.run.status is rs.RunStatus.CANCELLED
    assert [m.status for m in life.messages] == ["incomplete"]
    assert check_database(read_database(worker.db)) == []


def _trace(w: Any, run_id: str) -> list[tuple[int, rs.Run]]:
    return [(v, life.run) for v, life in w.store.history(run_id)]


# -- what the review found ------------------------------------------------------------------


def _started_run(w: Any) -> Any:
    """A run the worker started (nothing written yet), and its Execution."""
    _, model_worker, store_module = w.modules
    thread = store_module.Thread(store_module.new_id("thread"), 1, True, {})
    make = lambda now: rs.new_run(  # noqa: E731
        id=store_module.new_id("run"), thread_id=thread.id, assistant_id="a", model="m", now=now
    )
    run = w.store.create_run(thread.id, make, new_thread=thread)
    ex = model_worker.Execution(thread.id, run.id)
    w.store.change(thread.id, run.id, model_worker._op(rs.Op.START))
    ex.step_id, ex.message_id = store_module.new_id("step"), store_module.new_id("msg")
    return ex


def test_one_answer_reusing_a_call_id_gets_distinct_ids(worker: Any) -> None:
    """Some servers number every call ``call_0``: two calls of one answer sharing an id
    would be refused by runstate (duplicate ids) and leave the run in progress."""
    chat_backend = worker.modules[0]
    ex = _started_run(worker)
    calls = (
        chat_backend.ToolCall("call_0", "get_weather", '{"city": "A"}'),
        chat_backend.ToolCall("call_0", "get_weather", '{"city": "B"}'),
    )
    worker._outcome(ex, chat_backend.Outcome("tool_calls", "", calls, dict(USAGE)))
    run = worker.store.get_run(ex.thread_id, ex.run_id)
    assert run.status is rs.RunStatus.REQUIRES_ACTION
    ids = [c.id for c in run.required_action.submit_tool_outputs.tool_calls]
    assert ids[0] == "call_0" and len(set(ids)) == 2
    assert check_database(read_database(worker.db)) == []


def test_an_answer_runstate_refuses_fails_the_run_at_once(worker: Any) -> None:
    """Whatever runstate refuses of the model's answer on a run still in progress ends
    the run there, honestly (not left in flight for the lease rule to fail with "the
    worker executing this run stopped")."""
    chat_backend = worker.modules[0]
    ex = _started_run(worker)
    calls = (chat_backend.ToolCall("call_1", "get_weather", 42),)  # not JSON text
    worker._outcome(ex, chat_backend.Outcome("tool_calls", "", calls, dict(USAGE)))
    run = worker.store.get_run(ex.thread_id, ex.run_id)
    assert run.status is rs.RunStatus.FAILED
    assert run.last_error.code == "server_error"
    assert "stopped" not in run.last_error.message
    assert check_database(read_database(worker.db)) == []


@pytest.mark.parametrize("finish", ["stop", "length", "content_filter"])
def test_a_cancel_before_the_answer_was_written_wins(worker: Any, finish: str) -> None:
    """The cancel came before the first text was stored (a whole answer without
    streaming, or a one-chunk answer): the run cannot write a message any more, so it
    must not claim to have completed (or become incomplete) with no message at all."""
    chat_backend = worker.modules[0]
    ex = _started_run(worker)
    worker.store.change(ex.thread_id, ex.run_id, worker.modules[1]._op(rs.Op.CANCEL))
    ex.pending = ["The whole answer."]
    worker._flush(ex)  # refused: the run left in_progress
    assert ex.cancelled.is_set()
    worker._outcome(ex, chat_backend.Outcome(finish, "The whole answer.", (), dict(USAGE)))
    life = worker.store.get_life(ex.thread_id, ex.run_id)
    assert life.run.status is rs.RunStatus.CANCELLED
    assert check_database(read_database(worker.db)) == []


def test_text_before_tool_calls_is_one_assistant_message(worker: Any) -> None:
    """The model wrote text and then called a tool in one answer: the next request
    holds one assistant message with both, as the backend sent it (chat templates that
    require alternating roles, e.g. in vLLM, refuse two assistant messages in a row)."""
    chat_backend, model_worker, _ = worker.modules
    ex = _started_run(worker)
    ex.pending = ["Let me look."]
    calls = (chat_backend.ToolCall("call_1", "get_weather", "{}"),)
    worker._outcome(ex, chat_backend.Outcome("tool_calls", "Let me look.", calls, None))
    outputs = [{"tool_call_id": "call_1", "output": "sun"}]
    worker.store.change(
        ex.thread_id, ex.run_id, model_worker._op(rs.Op.SUBMIT_TOOL_OUTPUTS, tool_outputs=outputs)
    )
    life = worker.store.change(ex.thread_id, ex.run_id, model_worker._op(rs.Op.START))
    assert model_worker.chat_request(life, [])["messages"] == [
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sun"},
    ]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--model-backend", "127.0.0.1:11434/v1"], "http:// or https://"),
        (["--model-backend", "ftp://host/v1"], "http:// or https://"),
        (["--model-backend", "http:///v1"], "host"),
        (["--model-backend", "http://h/v1/chat/completions"], "base URL"),
        (["--model-backend-key", "sk-x"], "without --model-backend"),
        (["--model", "llama3.2"], "without --model-backend"),
    ],
)
def test_model_options_that_cannot_work_end_at_startup(
    tmp_path: Path, capsys: Any, monkeypatch: Any, argv: list[str], says: str
) -> None:
    """A backend URL no call can use, or a key or model given with no backend, ends the
    server at once (exit status 2, the reason on stderr): not a server that starts and
    fails every run, or silently ignores the option."""
    sys.path.insert(0, str(SERVER))
    try:
        import serve  # noqa: PLC0415

        def started(*_: Any) -> None:
            raise AssertionError("the server went on to open its database")

        monkeypatch.setattr(serve, "open_store", started)
        with pytest.raises(SystemExit) as exited:
            serve.main(["--db", f"sqlite:///{tmp_path}/x.db", *argv])
    finally:
        sys.path.remove(str(SERVER))
    assert exited.value.code == 2
    assert says in capsys.readouterr().err


def test_a_worker_whose_claim_lapsed_before_it_began_leaves_the_run_alone(worker: Any) -> None:
    """A process stalled (suspended, swapping) between its claim and its first look at
    the run: meanwhile its lease lapsed and another worker claimed and started the run.
    Waking, it must not take that live run for an orphan and fail it."""
    _, model_worker, store_module = worker.modules
    thread = store_module.Thread(store_module.new_id("thread"), 1, True, {})
    make = lambda now: rs.new_run(  # noqa: E731
        id=store_module.new_id("run"), thread_id=thread.id, assistant_id="a", model="m", now=now
    )
    run = worker.store.create_run(thread.id, make, new_thread=thread)
    assert worker.leases.claim("run", run.id, worker.owner, 0.05)  # then it stalls
    wait_for(lambda: run.id in worker.leases.lapsed("run"), "the claim to lapse", 30)
    other = model_worker.ModelWorker(worker.store, worker.settings, owner="other-worker")
    assert other.leases.claim("run", run.id, other.owner, 600)
    worker.store.change(thread.id, run.id, model_worker._op(rs.Op.START))  # the other's start
    worker._execute(model_worker.Execution(thread.id, run.id))  # the stalled one wakes
    assert worker.store.get_run(thread.id, run.id).status is rs.RunStatus.IN_PROGRESS
    assert worker.leases.owner_of("run", run.id) == "other-worker"
    other.hand.shutdown()


def test_a_message_of_several_parts_keeps_them_apart_and_in_order() -> None:
    """Two text parts are two paragraphs, not one word glued to the next; text and
    images keep the order the user gave them."""
    sys.path.insert(0, str(SERVER))
    try:
        import model_worker  # noqa: PLC0415
        from store import Life  # noqa: PLC0415

        run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)

        def message(content: Any) -> Any:
            return rs.steps.parse_message(
                {
                    "id": "msg_1",
                    "object": "thread.message",
                    "created_at": 1,
                    "thread_id": "t",
                    "status": "completed",
                    "role": "user",
                    "content": content,
                }
            )

        def words(value: str) -> dict[str, Any]:
            return {"type": "text", "text": {"value": value, "annotations": []}}

        image = {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
        body = model_worker.chat_request(Life(run=run), [message([words("Hello"), words("World")])])
        assert body["messages"] == [{"role": "user", "content": "Hello\n\nWorld"}]
        body = model_worker.chat_request(
            Life(run=run), [message([words("Before:"), image, words("What changed?")])]
        )
        assert body["messages"][0]["content"] == [
            {"type": "text", "text": "Before:"},
            image,
            {"type": "text", "text": "What changed?"},
        ]
    finally:
        sys.path.remove(str(SERVER))


def test_a_lease_row_left_behind_does_not_hold_up_its_own_worker(worker: Any) -> None:
    """The release after ``requires_action`` failed (a database blip, suppressed): the
    row still names this worker. Outputs submitted, the run is queued again; this worker
    takes it at once (the claim is its own) instead of waiting for its own lease to
    lapse."""
    _, model_worker, store_module = worker.modules
    thread = store_module.Thread(store_module.new_id("thread"), 1, True, {})
    make = lambda now: rs.new_run(  # noqa: E731
        id=store_module.new_id("run"), thread_id=thread.id, assistant_id="a", model="m", now=now
    )
    run = worker.store.create_run(thread.id, make, new_thread=thread)
    assert worker.leases.claim("run", run.id, worker.owner, 600)  # never released
    assert (thread.id, run.id) in worker.candidates(10)
    other = model_worker.ModelWorker(worker.store, worker.settings, owner="other-worker")
    assert (thread.id, run.id) not in other.candidates(10)  # not the other's to take
    other.hand.shutdown()
