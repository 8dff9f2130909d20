"""Responses on the model, edge cases found in review (SQLite; the fake backend).

A synchronous request cancelled, retrieved or deleted while the model answers; a delete
during a stream and a stream retrieved before any text; images in the input; a
``function_call_output`` whose ``call_id`` matches no call (refused as the API does);
the SDK's ``responses.stream(...)`` helper over a background response, and a resume in
the middle of the text through it and through ``retrieve(stream=True)``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from fake_chat_backend import hang, text
from server_helpers import Server, database, needs_server
from test_server_model_responses import Fake, deltas, dumped, sdk, sent_for, stored, wait_asked

from runstate import responses as rr

pytestmark = needs_server


@pytest.fixture(scope="module")
def fake() -> Iterator[Fake]:
    with Fake() as backend:
        yield backend


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake: Fake) -> Iterator[Server]:
    db = database("sqlite", tmp_path_factory.mktemp("model-responses-review"))
    with Server(db, "--model-backend", fake.url) as s:
        yield s


def refused(call: Any) -> tuple[int, Any]:
    with pytest.raises(openai.APIStatusError) as caught:
        call()
    return caught.value.status_code, caught.value.body


def test_a_synchronous_response_while_the_model_answers(server: Server, fake: Fake) -> None:
    """Cancel is refused as synchronous (§12.3, checked before status); retrieve and
    delete find nothing until it ends (§12.3: a non-background response in flight is
    not found); the request is then answered whole."""
    client = sdk(server)
    words = " ".join(f"w{i}" for i in range(12))
    marker = fake.mark(text(words, chunks=12, delay=0.05))
    got: list[Any] = []
    thread = threading.Thread(
        target=lambda: got.append(client.responses.create(model="m", input=f"Hi {marker}"))
    )
    thread.start()
    try:
        fake.wait("the request", lambda f: any(marker in str(b) for b in f.requests))
        with fake._lock:
            pairs = list(zip(fake.requests, fake.headers, strict=True))
        (response_id,) = [h["x-runstate-response"] for b, h in pairs if marker in str(b)]
        code, body = refused(lambda: client.responses.cancel(response_id))
        assert (code, body["message"]) == (400, "Cannot cancel a synchronous response.")
        for operation in (client.responses.retrieve, client.responses.delete):
            code, body = refused(lambda op=operation: op(response_id))  # type: ignore[misc]
            assert (code, body["message"]) == (404, f"Response with id '{response_id}' not found.")
    finally:
        thread.join(60)
    (done,) = got
    assert done.status == "completed" and done.output_text == words
    stored(server, response_id)


def test_a_delete_during_a_stream_and_a_stream_retrieved_before_any_text(
    server: Server, fake: Fake
) -> None:
    client = sdk(server)
    stream = client.responses.create(
        model="m", input=f"Hi {fake.mark(hang())}", background=True, stream=True
    )
    events = iter(stream)
    response_id = next(events).response.id
    wait_asked(fake, response_id)
    fake.wait_hanging()
    code, body = refused(lambda: client.responses.delete(response_id))
    assert (code, body["message"]) == (400, "Cannot delete an in-flight response.")
    replay = iter(client.responses.retrieve(response_id, stream=True))
    head = [next(replay).type for _ in range(3)]
    assert head == ["response.created", "response.queued", "response.in_progress"]
    client.responses.cancel(response_id)
    assert [e.type for e in replay] == ["response.failed"]
    rest = dumped(list(events))
    assert rest[-1]["response"]["status"] == "cancelled"
    stored(server, response_id)
    client.responses.delete(response_id)  # ended: deleted (the SDK answers None)
    code, body = refused(lambda: client.responses.retrieve(response_id))
    assert code == 404


def test_images_in_the_input_are_left_out_of_the_chat_request(server: Server, fake: Fake) -> None:
    client = sdk(server)
    marker = fake.mark(text("A cat."))
    done = client.responses.create(
        model="m",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": f"What is this? {marker}"},
                    {"type": "input_image", "image_url": "https://example.invalid/a.png"},
                ],
            }
        ],
    )
    assert done.status == "completed" and done.output_text == "A cat."
    (sent,) = sent_for(fake, done.id)
    assert sent["messages"] == [{"role": "user", "content": f"What is this? {marker}"}]


def test_a_function_call_output_that_answers_no_call_is_refused(server: Server, fake: Fake) -> None:
    """Review: it was sent to the backend as a ``tool`` message answering nothing (which
    OpenAI's Chat Completions refuses: the response then failed with ``server_error``).
    The API refuses the request: 400, param ``input`` [3P: the same wire body quoted in
    continuedev/continue#10092 and microsoft/vscode#320060]."""
    client = sdk(server)
    before = len(fake.requests)
    for background in (False, True):
        code, body = refused(
            lambda b=background: client.responses.create(  # type: ignore[misc]
                model="m",
                background=b,
                input=[
                    {"role": "user", "content": "Hi"},
                    {"type": "function_call_output", "call_id": "call_nothing", "output": "1"},
                ],
            )
        )
        assert code == 400
        assert body == {
            "message": "No tool call found for function call output with call_id call_nothing.",
            "type": "invalid_request_error",
            "param": "input",
            "code": None,
        }
    assert len(fake.requests) == before  # the backend was never asked


def test_the_sdk_stream_helper_and_a_resume_in_the_middle_of_the_text(
    server: Server, fake: Fake
) -> None:
    client = sdk(server)
    words = "alpha beta gamma delta"
    marker = fake.mark(text(words, chunks=4, delay=0.02))
    with client.responses.stream(model="m", input=f"Go {marker}", background=True) as stream:
        events = dumped(list(stream))
        final = stream.get_final_response()
    assert final.status == "completed" and final.output_text == words
    assert deltas(events) == words and rr.check_trace(events, mode="stream").ok
    marker = fake.mark(text(words, chunks=4, delay=0.02))
    first: list[Any] = []
    for event in client.responses.create(
        model="m", input=f"Go {marker}", background=True, stream=True
    ):
        first.append(event)
        if event.type == "response.output_text.delta":
            break
    response_id, cut = first[0].response.id, first[-1].sequence_number
    with client.responses.stream(response_id=response_id, starting_after=cut) as resumed:
        # The helper adds its own keys (``snapshot``, ``parsed``): compare what is on the wire.
        helped = [(e.type, e.sequence_number, getattr(e, "delta", None)) for e in resumed]
        assert resumed.get_final_response().output_text == words
    rest = dumped(list(client.responses.retrieve(response_id, stream=True, starting_after=cut)))
    assert rest[0]["sequence_number"] == cut + 1
    assert helped == [(e["type"], e["sequence_number"], e.get("delta")) for e in rest]
    joined = dumped(first) + rest
    assert deltas(joined) == words and rr.check_trace(joined, mode="stream").ok
    assert joined == stored(server, response_id)


def test_a_synchronous_response_in_flight_is_no_previous_response(
    server: Server, fake: Fake
) -> None:
    """Review: its id is known from a stream's first event, and a read finds nothing
    until it ends (§12.3), yet ``previous_response_id`` found it and chained on the half
    written answer. Now it is not found there either, and found once it ended."""
    client = sdk(server)
    words = " ".join(f"w{i}" for i in range(10))
    stream = iter(
        client.responses.create(
            model="m", input=f"Hi {fake.mark(text(words, chunks=10, delay=0.05))}", stream=True
        )
    )
    response_id = next(stream).response.id
    before = len(fake.requests)
    code, body = refused(lambda: client.responses.retrieve(response_id))
    assert code == 404
    code, body = refused(
        lambda: client.responses.create(model="m", input="And?", previous_response_id=response_id)
    )
    assert code == 400 and body["param"] == "previous_response_id"
    assert body["message"] == f"Previous response with id '{response_id}' not found."
    assert len(fake.requests) == before  # nothing was sent to the model for it
    assert dumped(list(stream))[-1]["type"] == "response.completed"
    marker = fake.mark(text("Next."))
    after = client.responses.create(
        model="m", input=f"And? {marker}", previous_response_id=response_id
    )
    assert after.status == "completed"
    (sent,) = sent_for(fake, after.id)
    assert sent["messages"][1] == {"role": "assistant", "content": words}
