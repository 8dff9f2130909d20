"""The example server (examples/server) driven by the official openai SDK, end to end.

The server runs as a subprocess on a free loopback port, on SQLite and on PostgreSQL
(the PostgreSQL runs are ``server_slow``; they skip, with the reason, only when this
machine has no PostgreSQL at all). The worker is played through the server's
``/advance`` hook, except in the ``--auto`` tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from server_helpers import Server, advance, database, require_server_deps, sqlite_url

import runstate as rs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Assistants is

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.server_slow),
]


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    db = database(request.param, tmp_path_factory.mktemp("sdk"))
    with Server(db) as s:
        yield s


@pytest.fixture(scope="module", params=BACKENDS)
def auto_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    db = database(request.param, tmp_path_factory.mktemp("auto"))
    with Server(db, "--auto", "--auto-delay", "0.05", "--poll-after-ms", "50") as s:
        yield s


def sdk(server: Server, *, strict: bool = False) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.base, api_key="test", max_retries=0, _strict_response_validation=strict
    )


def http(server: Server) -> Any:
    import httpx  # noqa: PLC0415

    return httpx.Client(base_url=server.base, headers={"OpenAI-Beta": "assistants=v2"})


def wire(message: str) -> dict[str, Any]:
    return {"message": message, "type": "invalid_request_error", "param": None, "code": None}


def test_create_retrieve_and_list_with_paging(server: Server) -> None:
    # Strict validation: the SDK's Run types `instructions` as str, so these runs get
    # instructions (a run with `instructions: null` is valid on the wire, but fails it).
    client = sdk(server, strict=True)
    thread = client.beta.threads.create(metadata={"k": "v"})
    assert thread.id.startswith("thread_") and thread.metadata == {"k": "v"}
    ids = []
    with http(server) as h:
        for _ in range(5):
            run = client.beta.threads.runs.create(
                thread_id=thread.id, assistant_id="asst_1", instructions="Be brief."
            )
            assert run.status == "queued" and run.instructions == "Be brief."
            got = client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
            assert got == run
            ids.append(run.id)
            advance(h, thread.id, run.id, "in_progress")
            advance(h, thread.id, run.id, "completed")
    page = client.beta.threads.runs.list(thread_id=thread.id, limit=2)
    assert [r.id for r in page.data] == ids[::-1][:2]
    assert page.has_more
    walked = [r.id for r in client.beta.threads.runs.list(thread_id=thread.id, limit=2)]
    assert walked == ids[::-1]  # the SDK's auto-paging follows `after`
    asc = client.beta.threads.runs.list(thread_id=thread.id, order="asc", limit=100)
    assert [r.id for r in asc.data] == ids
    assert all(r.status == "completed" for r in asc.data)


@pytest.mark.parametrize("start", [False, True], ids=["queued", "in_progress"])
def test_cancel_then_cancelled(server: Server, start: bool) -> None:
    client = sdk(server)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
    with http(server) as h:
        if start:
            assert advance(h, thread.id, run.id, "in_progress").json()["status"] == "in_progress"
        cancelling = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
        assert cancelling.status == "cancelling"
        done = advance(h, thread.id, run.id, "cancelled")
    assert done.status_code == 200
    cancelled = client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    assert cancelled.expires_at is None


def test_cancelling_a_completed_run_is_refused_with_the_exact_body(server: Server) -> None:
    client = sdk(server)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
    with http(server) as h:
        advance(h, thread.id, run.id, "in_progress")
        advance(h, thread.id, run.id, "completed")
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert caught.value.status_code == 400
    assert caught.value.body == wire("Cannot cancel run with status 'completed'.")


def test_tool_outputs_round_and_wrong_ids(server: Server) -> None:
    client = sdk(server, strict=True)
    assistant = client.beta.assistants.create(
        model="gpt-4o",
        instructions="Use the tool.",
        tools=[{"type": "function", "function": {"name": "get_weather"}}],
    )
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    assert run.tools[0].type == "function" and run.model == "gpt-4o"
    calls = [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": "{}"},
        },
        {
            "id": "call_2",
            "type": "function",
            "function": {"name": "get_weather", "arguments": "{}"},
        },
    ]
    with http(server) as h:
        advance(h, thread.id, run.id, "in_progress")
        waiting = advance(h, thread.id, run.id, "requires_action", tool_calls=calls).json()
    assert waiting["status"] == "requires_action"
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "call_1", "output": "x"}]
        )
    assert caught.value.body == wire(
        "Expected tool outputs for call_ids ['call_1', 'call_2'], got ['call_1']"
    )
    still = client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert still.status == "requires_action"
    queued = client.beta.threads.runs.submit_tool_outputs(
        run.id,
        thread_id=thread.id,
        tool_outputs=[
            {"tool_call_id": "call_2", "output": "sunny"},
            {"tool_call_id": "call_1", "output": "rainy"},
        ],
    )
    assert queued.status == "queued" and queued.required_action is None


def test_a_second_run_on_a_busy_thread_is_refused(server: Server) -> None:
    client = sdk(server)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    first = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
    assert caught.value.body == wire(f"Thread {thread.id} already has an active run {first.id}.")
    client.beta.threads.runs.cancel(first.id, thread_id=thread.id)  # cancelling: still locked
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
    with http(server) as h:
        advance(h, thread.id, first.id, "cancelled")
    second = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
    assert second.status == "queued"


def test_modify_refused_while_active_accepted_after(server: Server) -> None:
    client = sdk(server)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.runs.update(run.id, thread_id=thread.id, metadata={"k": "v"})
    assert caught.value.body == wire("Cannot update run with status 'queued'.")
    with http(server) as h:
        advance(h, thread.id, run.id, "failed")
    updated = client.beta.threads.runs.update(run.id, thread_id=thread.id, metadata={"k": "v"})
    assert updated.status == "failed" and updated.metadata == {"k": "v"}
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.runs.update(run.id, thread_id=thread.id, metadata={"k": 1})  # type: ignore[dict-item]
    assert caught.value.body["code"] == "invalid_type"  # type: ignore[index]


def test_not_found(server: Server) -> None:
    client = sdk(server)
    thread = client.beta.threads.create()
    with pytest.raises(openai.NotFoundError) as caught:
        client.beta.threads.runs.retrieve("run_nothing", thread_id=thread.id)
    assert caught.value.body == wire("No run found with id 'run_nothing'.")
    with pytest.raises(openai.NotFoundError) as caught:
        client.beta.threads.runs.create(thread_id="thread_nothing", assistant_id="asst_1")
    assert caught.value.body == wire("No thread found with id 'thread_nothing'.")
    with pytest.raises(openai.NotFoundError) as caught:
        client.beta.threads.runs.cancel("run_nothing", thread_id=thread.id)
    assert caught.value.body == wire("No run found with id 'run_nothing'.")


def test_malformed_requests_are_400s_in_the_api_shape(server: Server) -> None:
    client = sdk(server)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1", temperature=200)
    assert caught.value.body["code"] == "decimal_above_max_value"  # type: ignore[index]
    with http(server) as h:
        for path, body in [
            (f"/threads/{thread.id}/runs", b"{not json"),
            (f"/threads/{thread.id}/runs", b"[1, 2]"),
            ("/threads", b"{not json"),
            ("/threads/runs", b"\xff\xfe"),
            (f"/threads/{thread.id}/runs/run_x/submit_tool_outputs", b"{}"),
            (f"/threads/{thread.id}/runs/run_x/advance", b'"to"'),
            (f"/threads/{thread.id}/runs/run_x", b'{"metadata": []}'),
        ]:
            r = h.post(path, content=body)
            assert r.status_code == 400, (path, body, r.text)
            assert set(r.json()["error"]) == {"message", "type", "param", "code"}
        r = h.get(f"/threads/{thread.id}/runs", params={"limit": "1000"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "integer_above_max_value"
        r = h.get("/threads/undefined/runs")
        assert r.json()["error"]["message"].startswith("Invalid 'thread_id': 'undefined'.")
        r = h.post(
            f"/threads/{thread.id}/runs",
            json={"assistant_id": "asst_1"},
            headers={"OpenAI-Beta": ""},
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_beta"


@pytest.mark.server_slow
def test_lazy_expiry(tmp_path: Path) -> None:
    require_server_deps()
    with Server(sqlite_url(tmp_path), "--expires-in", "1") as s:
        client = sdk(s)
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
        run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
        assert run.expires_at == run.created_at + 1
        import time  # noqa: PLC0415

        time.sleep(2.1)
        # A write sees the expired run first: the refusal is about 'expired'.
        with pytest.raises(openai.BadRequestError) as caught:
            client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
        assert caught.value.body == wire("Cannot cancel run with status 'expired'.")
        again = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
        time.sleep(2.1)
        # A read expires it too, and so does the thread lock's check.
        assert client.beta.threads.runs.retrieve(again.id, thread_id=thread.id).status == "expired"
        third = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
        assert third.status == "queued"


def test_streams_pass_the_stream_checker(server: Server) -> None:
    """Every stream this server sends passes check_trace(mode="stream")."""
    import httpx  # noqa: PLC0415

    with http(server) as h:
        thread = h.post("/threads", json={}).json()["id"]
        with h.stream(
            "POST",
            f"/threads/{thread}/runs",
            json={"assistant_id": "asst_1", "instructions": "Hi", "stream": True},
        ) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            chunks = r.iter_bytes()
            first = next(chunks)
            run_id = json.loads(first.decode().split("data: ", 1)[1].split("\n", 1)[0])["id"]
            calls = [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]
            with httpx.Client(base_url=server.base, headers=h.headers) as other:
                advance(other, thread, run_id, "in_progress")
                advance(other, thread, run_id, "requires_action", tool_calls=calls)
            body = first + b"".join(chunks)
        events = list(rs.parse_sse(body))
        assert [name for name, _ in events] == [
            "thread.run.created",
            "thread.run.queued",
            "thread.run.in_progress",
            "thread.run.step.created",  # the tool_calls step opens before requires_action
            "thread.run.step.in_progress",
            "thread.run.step.delta",  # opened empty, as recorded; its call comes in a delta
            "thread.run.requires_action",
            "done",
        ]
        assert json.loads(events[3][1])["step_details"]["tool_calls"] == []
        delta = json.loads(events[5][1])["delta"]["step_details"]["tool_calls"]
        assert [(c["index"], c["id"], c["function"]["name"]) for c in delta] == [(0, "call_1", "f")]
        assert rs.check_trace(events, mode="stream").ok
        with h.stream(
            "POST",
            f"/threads/{thread}/runs/{run_id}/submit_tool_outputs",
            json={"tool_outputs": [{"tool_call_id": "call_1", "output": "x"}], "stream": True},
        ) as r:
            chunks = r.iter_bytes()
            first = next(chunks)
            with httpx.Client(base_url=server.base, headers=h.headers) as other:
                advance(other, thread, run_id, "in_progress")
                assert other.post(f"/threads/{thread}/runs/{run_id}/cancel").status_code == 200
                advance(other, thread, run_id, "cancelled")
            body = first + b"".join(chunks)
        events = list(rs.parse_sse(body))
        assert [name for name, _ in events] == [
            "thread.run.step.completed",  # with the output, before the run is queued
            "thread.run.queued",
            "thread.run.in_progress",
            "thread.run.cancelling",
            "thread.run.cancelled",
            "done",
        ]
        assert json.loads(events[0][1])["step_details"]["tool_calls"][0]["function"] == {
            "name": "f",
            "arguments": "{}",
            "output": "x",
        }
        assert rs.check_trace(events, mode="stream").ok


def test_sdk_stream_and_create_and_poll_in_auto_mode(auto_server: Server) -> None:
    client = sdk(auto_server)
    assistant = client.beta.assistants.create(
        model="gpt-4o-mini",
        instructions="Call the tool.",
        tools=[{"type": "function", "function": {"name": "lookup"}}],
    )
    thread = client.beta.threads.create()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        events = [event.event for event in stream]
        run = stream.current_run
    assert events == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.delta",
        "thread.run.requires_action",
    ]
    assert run is not None and run.required_action is not None
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    assert call.function.name == "lookup"
    with client.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "42"}]
    ) as stream:
        events = [event.event for event in stream]
    assert events == [
        "thread.run.step.completed",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]

    plain = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    done = client.beta.threads.runs.create_and_poll(thread_id=plain.id, assistant_id="asst_any")
    assert done.status == "completed" and done.usage is not None
    assert done.model == "gpt-4o"  # an asst_ id no assistant was stored for: the defaults
    # Cancel in auto mode: the worker finishes the cancel.
    run = client.beta.threads.runs.create(thread_id=plain.id, assistant_id="asst_any")
    try:
        client.beta.threads.runs.cancel(run.id, thread_id=plain.id)
    except openai.BadRequestError as exc:  # the worker may have completed it already
        assert "Cannot cancel run with status 'completed'." in str(exc)
    final = client.beta.threads.runs.poll(run.id, thread_id=plain.id)
    assert final.status in ("cancelled", "completed")  # a cancel may lose the race
    if final.status == "cancelled":
        assert final.cancelled_at is not None


# --------------------------------------------------------------------------------------
# Run steps and messages


def test_steps_list_and_retrieve_with_the_sdk(server: Server) -> None:
    client = sdk(server)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
    calls = [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    with http(server) as h:
        hook = f"/threads/{thread.id}/runs/{run.id}/advance"
        assert advance(h, thread.id, run.id, "in_progress").status_code == 200
        opened = h.post(hook, json={"step": "open_message_step"})
        assert opened.status_code == 200, opened.text
        first = opened.headers["openai-step-id"]
        finished = h.post(hook, json={"step": "finish_message_step", "text": "Let me look."})
        assert finished.status_code == 200 and finished.headers["openai-step-id"] == first
        assert advance(h, thread.id, run.id, "requires_action", tool_calls=calls).status_code == 200
        # A step operation the step table forbids: the hook's own 409, runstate's reason.
        again = h.post(hook, json={"step": "finish_message_step", "step_id": first})
        assert again.status_code == 409 and again.json()["error"]["code"] == "step-terminal"
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
    assert [s.type for s in steps.data] == ["message_creation", "tool_calls"]
    message_step, tool_step = steps.data
    assert message_step.id == first and message_step.status == "completed"
    assert message_step.usage is not None and message_step.completed_at is not None
    assert tool_step.status == "in_progress" and tool_step.usage is None
    assert tool_step.step_details.type == "tool_calls"
    assert tool_step.step_details.tool_calls[0].id == "call_1"  # type: ignore[union-attr]
    # Newest first by default, with the toolkit's pages; the SDK's auto-paging walks them.
    page = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, limit=1)
    assert [s.id for s in page.data] == [tool_step.id] and page.has_more
    walked = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, limit=1)
    assert [s.id for s in walked] == [tool_step.id, first]
    got = client.beta.threads.runs.steps.retrieve(first, thread_id=thread.id, run_id=run.id)
    assert got == message_step
    client.beta.threads.runs.submit_tool_outputs(
        run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "call_1", "output": "42"}]
    )
    done = client.beta.threads.runs.steps.retrieve(tool_step.id, thread_id=thread.id, run_id=run.id)
    assert done.status == "completed"
    assert done.step_details.tool_calls[0].function.output == "42"  # type: ignore[union-attr]
    with pytest.raises(openai.NotFoundError) as caught:
        client.beta.threads.runs.steps.retrieve("step_123", thread_id=thread.id, run_id=run.id)
    assert caught.value.body == wire("No run step found with id 'step_123'.")
    with pytest.raises(openai.NotFoundError) as caught:
        client.beta.threads.runs.steps.list("run_nothing", thread_id=thread.id)
    assert caught.value.body == wire("No run found with id 'run_nothing'.")


@pytest.mark.parametrize("end", ["cancelled", "failed", "expired", "incomplete"])
def test_a_run_that_ends_ends_its_open_steps(server: Server, end: str) -> None:
    client = sdk(server)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_1")
    with http(server) as h:
        hook = f"/threads/{thread.id}/runs/{run.id}/advance"
        advance(h, thread.id, run.id, "in_progress")
        assert h.post(hook, json={"step": "open_message_step"}).status_code == 200
        assert h.post(hook, json={"step": "open_tool_calls_step"}).status_code == 200
        if end == "cancelled":
            client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
        assert advance(h, thread.id, run.id, end).status_code == 200
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    effect = rs.steps.RUN_END_EFFECTS[
        {
            "cancelled": "finish_cancel",
            "failed": "fail",
            "expired": "expire",
            "incomplete": "mark_incomplete",
        }[end]
    ]
    assert [s.status for s in steps] == [effect.step_status.value] * 2


def test_streams_with_steps_pass_the_stream_checker(server: Server) -> None:
    """Step operations made through the hook while a stream is open reach the stream, in
    the recorded order, and the stream passes check_trace(mode="stream")."""
    with http(server) as h:
        thread = h.post("/threads", json={}).json()["id"]
        with h.stream(
            "POST",
            f"/threads/{thread}/runs",
            json={"assistant_id": "asst_1", "instructions": "Hi", "stream": True},
        ) as r:
            chunks = r.iter_bytes()
            first = next(chunks)
            run_id = json.loads(first.decode().split("data: ", 1)[1].split("\n", 1)[0])["id"]
            hook = f"/threads/{thread}/runs/{run_id}/advance"
            import httpx  # noqa: PLC0415

            with httpx.Client(base_url=server.base, headers=h.headers) as other:
                advance(other, thread, run_id, "in_progress")
                other.post(hook, json={"step": "open_message_step"})
                other.post(hook, json={"step": "finish_message_step", "text": "Hello!"})
                other.post(hook, json={"step": "open_message_step"})
                advance(other, thread, run_id, "incomplete", reason="max_completion_tokens")
            body = first + b"".join(chunks)
    events = list(rs.parse_sse(body))
    assert [name for name, _ in events] == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.incomplete",  # the run's end ends the open message, then its step
        "thread.run.step.completed",
        "thread.run.incomplete",
        "done",
    ]
    report = rs.check_trace(events, mode="stream")
    assert report.ok and not report.problems, report.problems
    completed = json.loads(events[8][1])
    assert completed["content"][0]["text"]["value"] == "Hello!"


def test_sdk_event_handler_sees_steps_messages_and_tool_calls_in_order(
    auto_server: Server,
) -> None:
    """--auto plays the recorded life (spec-facts §11); the SDK's AssistantEventHandler
    callbacks fire in that order across the run's two streams."""
    seen: list[tuple[str, str]] = []

    class Handler(openai.AssistantEventHandler):
        def on_run_step_created(self, run_step: Any) -> None:
            seen.append(("step_created", run_step.type))

        def on_tool_call_created(self, tool_call: Any) -> None:
            seen.append(("tool_call_created", tool_call.function.name))

        def on_tool_call_done(self, tool_call: Any) -> None:
            seen.append(("tool_call_done", tool_call.function.name))

        def on_run_step_done(self, run_step: Any) -> None:
            seen.append(("step_done", run_step.type))

        def on_message_created(self, message: Any) -> None:
            seen.append(("message_created", message.status))

        def on_text_done(self, text: Any) -> None:
            seen.append(("text_done", text.value))

        def on_message_done(self, message: Any) -> None:
            seen.append(("message_done", message.content[0].text.value))

    client = sdk(auto_server)
    assistant = client.beta.assistants.create(
        model="gpt-4o",
        instructions="Call the tool.",
        tools=[{"type": "function", "function": {"name": "lookup"}}],
    )
    thread = client.beta.threads.create()
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=Handler()
    ) as stream:
        stream.until_done()
        run = stream.current_run
    assert run is not None and run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    with client.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "42"}],
        event_handler=Handler(),
    ) as stream:
        stream.until_done()
        final = stream.current_run
    text = "This is a scripted answer from the example server."
    assert seen == [
        ("step_created", "tool_calls"),
        ("tool_call_created", "lookup"),
        ("tool_call_done", "lookup"),  # at requires_action: the call is complete
        ("step_done", "tool_calls"),  # the submit stream opens with the completed step
        ("step_created", "message_creation"),
        ("message_created", "in_progress"),
        ("text_done", text),
        ("message_done", text),
        ("step_done", "message_creation"),
    ]
    assert final is not None and final.status == "completed"
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [(s.type, s.status) for s in steps] == [
        ("tool_calls", "completed"),
        ("message_creation", "completed"),
    ]
    assert steps[0].step_details.tool_calls[0].function.output == "42"  # type: ignore[union-attr]
