"""The example server's ``/v1/responses``, driven by the official openai SDK, end to end.

The SDK is used as it is, but for ``base_url`` (and ``max_retries=0``, so that a refusal is
seen once). The server runs as a subprocess on a free loopback port, on SQLite and on
PostgreSQL (``server_slow``). Without ``--auto`` the tests play the worker through the
server's ``/advance`` hook; with it, the scripted worker plays every response.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from server_helpers import Server, database, wait_for

from runstate import responses as rr

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.server_slow),
]
AUTO_TEXT = "This is a scripted answer from the example server."
TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "The weather at a place",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}},
            "required": ["city", "unit"],
        },
        "strict": False,
    }
]


@pytest.fixture(scope="module", params=BACKENDS)
def manual(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server without a worker: the tests move responses through ``/advance``."""
    db = database(request.param, tmp_path_factory.mktemp("responses"))
    with Server(db) as s:
        yield s


@pytest.fixture(scope="module", params=BACKENDS)
def auto(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    db = database(request.param, tmp_path_factory.mktemp("responses-auto"))
    with Server(db, "--auto", "--auto-delay", "0.05") as s:
        yield s


def sdk(server: Server) -> openai.OpenAI:
    # Strict: every answer must validate against the SDK's own types.
    return openai.OpenAI(
        base_url=server.base, api_key="test", max_retries=0, _strict_response_validation=True
    )


def advance(server: Server, response_id: str, to: str, **body: Any) -> dict[str, Any]:
    r = httpx.post(f"{server.base}/responses/{response_id}/advance", json={"to": to, **body})
    assert r.status_code == 200, r.text
    return dict(r.json())


def wire(message: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return {"error": error}


def refused(call: Any, kind: type[openai.APIStatusError]) -> Any:
    with pytest.raises(kind) as caught:
        call()
    return caught.value.response.json()


def wire_form(value: Any) -> Any:
    """An SDK object as the wire had it: its fields as sent, and the timestamps the SDK
    types as floats (``created_at: float``) back to the integers sent."""
    data = (
        value.model_dump(mode="json", exclude_unset=True) if hasattr(value, "model_dump") else value
    )
    if isinstance(data, dict):
        data = {k: wire_form(v) for k, v in data.items()}
        for key in ("created_at", "completed_at"):
            if isinstance(data.get(key), float) and data[key].is_integer():
                data[key] = int(data[key])
    return data


def dumped(events: list[Any]) -> list[dict[str, Any]]:
    return [wire_form(e) for e in events]


def test_background_create_then_poll_to_the_end(auto: Server) -> None:
    client = sdk(auto)
    response = client.responses.create(model="gpt-4.1-mini", input="Hello!", background=True)
    assert response.status == "queued" and response.output == [] and response.usage is None
    polled = [response]
    while response.status in ("queued", "in_progress"):
        time.sleep(0.02)
        response = client.responses.retrieve(response.id)
        polled.append(response)
    assert response.status == "completed"
    assert response.output_text == AUTO_TEXT
    assert response.usage is not None and response.usage.total_tokens > 0
    report = rr.check_trace([wire_form(r) for r in polled], mode="poll")
    assert report.ok, report.problems
    assert rr.violations(rr.parse_response(wire_form(response))) == ()


def test_background_stream_dropped_then_resumed(auto: Server) -> None:
    client = sdk(auto)
    stream = client.responses.create(
        model="gpt-4.1-mini", input="Tell me a story.", background=True, stream=True
    )
    first = []
    for event in stream:
        first.append(event)
        if len(first) == 4:
            break
    stream.close()  # dropped: the response goes on in the background
    response_id = first[0].response.id
    n = first[-1].sequence_number
    rest = list(client.responses.retrieve(response_id, stream=True, starting_after=n))
    joined = dumped(first + rest)
    assert [e["sequence_number"] for e in joined] == list(range(len(joined)))
    assert joined[-1]["type"] == "response.completed"
    # One uninterrupted stream: the whole replay, from the start, is the same events.
    whole = dumped(list(client.responses.retrieve(response_id, stream=True)))
    assert joined == whole
    report = rr.check_trace(joined, mode="stream")
    assert report.ok, report.problems
    text = "".join(e["delta"] for e in joined if e["type"] == "response.output_text.delta")
    assert text == AUTO_TEXT
    # At or past the end: an empty stream.
    assert (
        list(client.responses.retrieve(response_id, stream=True, starting_after=len(whole))) == []
    )


def test_a_live_stream_equals_a_dropped_and_resumed_one(manual: Server) -> None:
    """Without a worker, the test moves the response while two clients stream it: one
    from the start without a break, one dropped after the first event and resumed."""
    client = sdk(manual)
    stream = client.responses.create(model="m", input="Hi", background=True, stream=True)
    created = next(iter(stream))
    stream.close()
    response_id = created.response.id
    live: list[Any] = []
    reader = threading.Thread(
        target=lambda: live.extend(client.responses.retrieve(response_id, stream=True))
    )
    reader.start()
    wait_for(lambda: len(live) >= 2, "the live stream's first events")
    advance(manual, response_id, "in_progress")
    wait_for(lambda: len(live) >= 3, "response.in_progress on the live stream")
    advance(manual, response_id, "completed")
    reader.join(60)
    assert not reader.is_alive()
    rest = list(client.responses.retrieve(response_id, stream=True, starting_after=0))
    assert dumped([created, *rest]) == dumped(live)
    assert [e["type"] for e in dumped(live)][:3] == [
        "response.created",
        "response.queued",
        "response.in_progress",
    ]
    assert rr.check_trace(dumped(live), mode="stream").ok


def test_a_resume_past_the_end_ends_when_the_response_does(manual: Server) -> None:
    """A stream resumed after a number the response has not reached waits; a cancel that
    ends the response before that number ends the stream, empty (it hung before)."""
    client = sdk(manual)
    stream = client.responses.create(model="m", input="Hi", background=True, stream=True)
    response_id = next(iter(stream)).response.id
    stream.close()
    got: list[Any] = []
    done = threading.Event()

    def resume() -> None:
        got.extend(client.responses.retrieve(response_id, stream=True, starting_after=10))
        done.set()

    reader = threading.Thread(target=resume)
    reader.start()
    advance(manual, response_id, "in_progress")
    client.responses.cancel(response_id)
    wait_for(done.is_set, "the resumed stream to end")
    reader.join()
    assert got == []


def test_cancel_queued_and_in_progress_then_again(manual: Server) -> None:
    client = sdk(manual)
    queued = client.responses.create(model="m", input="Hi", background=True)
    started = client.responses.create(model="m", input="Hi", background=True, stream=True)
    started_id = next(iter(started)).response.id
    started.close()
    assert advance(manual, started_id, "in_progress")["status"] == "in_progress"
    for response_id in (queued.id, started_id):
        raw = client.responses.with_raw_response.cancel(response_id)
        cancelled = raw.parse()
        assert cancelled.status == "cancelled"
        assert cancelled.output == [] and cancelled.usage is None and cancelled.error is None
        again = client.responses.with_raw_response.cancel(response_id)
        assert again.http_response.json() == raw.http_response.json()  # the same body
        assert client.responses.retrieve(response_id).status == "cancelled"
    # The stream of the response cancelled in progress ends with response.failed
    # carrying `cancelled` (AZ), and is a valid trace.
    events = dumped(list(client.responses.retrieve(started_id, stream=True)))
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["status"] == "cancelled"
    assert rr.check_trace(events, mode="stream").ok
    # The worker's move after the cancel loses: the cancel won.
    r = httpx.post(f"{manual.base}/responses/{queued.id}/advance", json={"to": "completed"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "cancel-won"


def test_cancel_refused_on_ended_and_synchronous_responses(manual: Server) -> None:
    client = sdk(manual)
    texts = {
        "completed": "Cannot cancel a completed response.",
        "failed": "Cannot cancel a failed response.",
        "incomplete": "Cannot cancel an incomplete response.",
    }
    for status, message in texts.items():
        response = client.responses.create(model="m", input="Hi", background=True)
        advance(manual, response.id, "in_progress")
        advance(manual, response.id, status)
        body = refused(lambda r=response: client.responses.cancel(r.id), openai.BadRequestError)
        assert body == wire(message)
        assert client.responses.retrieve(response.id).status == status  # unchanged
    synchronous = client.responses.create(model="m", input="Hi")
    assert synchronous.status == "completed" and synchronous.background is False
    body = refused(lambda: client.responses.cancel(synchronous.id), openai.BadRequestError)
    assert body == wire("Cannot cancel a synchronous response.")
    # The same as runstate's own refusal, word for word.
    expected = rr.check_cancel(rr.parse_response(wire_form(synchronous)))
    assert expected is not None and body == expected.to_api_error()


def test_delete_then_the_404_text(manual: Server) -> None:
    client = sdk(manual)
    in_flight = client.responses.create(model="m", input="Hi", background=True)
    body = refused(lambda: client.responses.delete(in_flight.id), openai.BadRequestError)
    assert body == wire("Cannot delete an in-flight response.")
    advance(manual, in_flight.id, "cancelled")
    raw = client.responses.with_raw_response.delete(in_flight.id)
    assert raw.http_response.json() == {
        "id": in_flight.id,
        "object": "response.deleted",
        "deleted": True,
    }
    gone = wire(f"Response with id '{in_flight.id}' not found.")
    assert refused(lambda: client.responses.retrieve(in_flight.id), openai.NotFoundError) == gone
    assert refused(lambda: client.responses.delete(in_flight.id), openai.NotFoundError) == gone
    assert refused(lambda: client.responses.cancel(in_flight.id), openai.NotFoundError) == gone
    listed = lambda: client.responses.input_items.list(in_flight.id)  # noqa: E731
    assert refused(listed, openai.NotFoundError) == gone
    assert gone == rr.not_found(in_flight.id).to_api_error()


def test_a_function_call_round_with_previous_response_id(auto: Server) -> None:
    client = sdk(auto)
    question = "What should I wear in Paris?"
    first = client.responses.create(model="gpt-4.1-mini", input=question, tools=TOOLS)
    assert first.status == "completed"
    calls = [item for item in first.output if item.type == "function_call"]
    assert [c.name for c in calls] == ["get_weather"] and len(first.output) == 1
    arguments = json.loads(calls[0].arguments)
    assert set(arguments) == {"city", "unit"} and arguments["unit"] in ("C", "F")
    outputs = [{"type": "function_call_output", "call_id": calls[0].call_id, "output": "22 C"}]
    second = client.responses.create(
        model="gpt-4.1-mini",
        previous_response_id=first.id,
        input=outputs,  # type: ignore[arg-type]
        tools=TOOLS,  # type: ignore[arg-type]
        background=True,
    )
    while second.status in ("queued", "in_progress"):
        time.sleep(0.02)
        second = client.responses.retrieve(second.id)
    assert second.status == "completed" and second.output_text == AUTO_TEXT
    assert second.previous_response_id == first.id
    # The context: the first response's input and output, then this one's, newest first
    # (as the API lists them: the FunctionCallWorks record).
    items = list(client.responses.input_items.list(second.id))
    assert [i.type for i in items] == ["function_call_output", "function_call", "message"]
    assert items[1].id == calls[0].id and items[0].call_id == calls[0].call_id
    assert items[2].content[0].text == question  # type: ignore[union-attr]
    # tool_choice "none": no call.
    plain = client.responses.create(model="m", input="Hi", tools=TOOLS, tool_choice="none")
    assert plain.output_text == AUTO_TEXT and plain.tool_choice == "none"


def test_input_items_are_paged_like_the_run_lists(auto: Server) -> None:
    client = sdk(auto)
    given = [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": f"Item {i}"}],
        }
        for i in range(1, 6)
    ]
    response = client.responses.create(model="m", input=given, instructions="Be brief.")  # type: ignore[arg-type]
    assert response.instructions == "Be brief."
    page = client.responses.input_items.list(response.id, limit=2)
    assert [i.content[0].text for i in page.data] == ["Item 5", "Item 4"]  # type: ignore[union-attr]
    assert page.has_more is True and page.first_id == page.data[0].id
    every = list(client.responses.input_items.list(response.id, limit=2))  # the SDK pages on
    assert [i.content[0].text for i in every] == [f"Item {i}" for i in range(5, 0, -1)]  # type: ignore[union-attr]
    ascending = list(client.responses.input_items.list(response.id, limit=3, order="asc"))
    assert [i.id for i in ascending] == [i.id for i in reversed(every)]
    after = client.responses.input_items.list(response.id, after=every[1].id, limit=10)
    assert [i.id for i in after.data] == [i.id for i in every[2:]]


def test_a_synchronous_request_is_answered_when_it_ends_and_never_queued(manual: Server) -> None:
    client = sdk(manual)
    response = client.responses.create(model="m", input="Hi")  # no worker: the request is one
    assert response.status == "completed" and response.output_text == AUTO_TEXT
    stream = client.responses.create(model="m", input="Hi", stream=True)
    events = dumped(list(stream))
    assert events[0]["type"] == "response.created"
    assert events[0]["response"]["status"] == "in_progress"
    assert "response.queued" not in [e["type"] for e in events]
    assert events[-1]["type"] == "response.completed"
    assert rr.check_trace(events, mode="stream").ok
    # Not created with background: no replay (§12.3).
    body = refused(
        lambda: list(client.responses.retrieve(events[0]["response"]["id"], stream=True)),
        openai.BadRequestError,
    )
    assert body == wire(
        "This response cannot be streamed because it was not created with background=true.",
        param="stream",
    )


def test_the_create_refusals(manual: Server) -> None:
    client = sdk(manual)
    body = refused(
        lambda: client.responses.create(model="m", input="Hi", background=True, store=False),
        openai.BadRequestError,
    )
    with pytest.raises(rr.InvalidResponseRequest) as expected:
        rr.new_response(id="resp_x", model="m", now=1, background=True, store=False)
    assert body == expected.value.to_api_error()
    assert body["error"]["param"] == "background"
    assert body["error"]["code"] == "unsupported_parameter"
    http = httpx.Client(base_url=manual.base)
    r = http.post("/responses", json={"model": "m", "stream": "yes"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_type"
    r = http.post("/responses", json={"input": "Hi"})
    assert r.json() == wire(
        "Missing required parameter: 'model'.", "model", "missing_required_parameter"
    )
    r = http.post("/responses", content=b"{not json")
    assert r.status_code == 400
    r = http.post("/responses", json={"model": "m", "input": 3})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"
    r = http.post("/responses", json={"model": "m", "previous_response_id": "resp_nope"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "previous_response_id"
    # store: false is answered, then never found again (OBS CanOptOutOfStorage).
    unstored = client.responses.create(model="m", input="Hi", store=False)
    assert unstored.status == "completed" and unstored.store is False
    gone = wire(f"Response with id '{unstored.id}' not found.")
    assert refused(lambda: client.responses.retrieve(unstored.id), openai.NotFoundError) == gone
    # A background response created without stream: true cannot be replayed.
    quiet = client.responses.create(model="m", input="Hi", background=True)
    r = http.get(f"/responses/{quiet.id}", params={"stream": "true"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "stream"
    r = http.get(f"/responses/{quiet.id}", params={"stream": "true", "starting_after": "-1"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "starting_after"
    # No OpenAI-Beta header is needed (the Assistants endpoints still need theirs).
    assert http.get(f"/responses/{quiet.id}").status_code == 200
    assert http.get("/threads/thread_x").status_code == 400


def test_every_event_is_stored_with_its_number(manual: Server, tmp_path: Path) -> None:
    """The events any process replays are the stored ones: read straight from the
    database, each response's are numbered 0, 1, 2... and pass check_trace."""
    client = sdk(manual)
    response = client.responses.create(model="m", input="Hi", background=True, stream=True)
    response_id = next(iter(response)).response.id
    response.close()
    advance(manual, response_id, "in_progress")
    advance(manual, response_id, "completed")
    from test_server_responses_races import read_events  # noqa: PLC0415

    events = read_events(manual.db)[response_id]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert rr.check_trace(events, mode="stream").ok
    replayed = dumped(list(client.responses.retrieve(response_id, stream=True)))
    assert replayed == events


def test_sigterm_ends_open_response_streams(tmp_path: Path) -> None:
    """Shutdown ends a response stream that is waiting (its body just ends) and the
    process exits; the response stays as stored, replayable by the next process."""
    db = database("sqlite", tmp_path)
    server = Server(db).start()
    try:
        client = sdk(server)
        stream = client.responses.create(model="m", input="Hi", background=True, stream=True)
        events = iter(stream)
        first = [next(events), next(events)]  # created, queued: then it waits
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        rest = list(events)  # ends, without a terminal event
        assert rest == []
        server.proc.wait(60)  # TimeoutExpired: the server did not stop (a bound on a hang)
        log = server.stderr()
    finally:
        server.__exit__()
    assert "Traceback" not in log, log
    with Server(db) as again:
        replay = sdk(again).responses.retrieve(first[0].response.id, stream=True)
        replayed = [next(iter(replay)), next(iter(replay))]  # then it waits: no worker
        replay.close()
        assert dumped(replayed) == dumped(first)
