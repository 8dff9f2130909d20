"""The model worker's foundation: the Chat Completions client and the lease table.

The client (``examples/server/chat_backend.py``) talks to the scripted fake backend
(``tests/fake_chat_backend.py``) on loopback, streamed and not; the leases
(``examples/server/leases.py``) run on SQLite, and on PostgreSQL as ``server_slow``.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_chat_backend import (
    USAGE,
    FakeBackend,
    broken,
    content_filter,
    fake_backend,
    hang,
    length,
    status,
    text,
    tool_calls,
)
from server_helpers import database, require_server_deps, wait_for

SERVER = Path(__file__).resolve().parent.parent / "examples" / "server"

__all__ = ["fake_backend"]  # the fixture, used by name below


@pytest.fixture(scope="module")
def cb() -> Iterator[Any]:
    require_server_deps()
    sys.path.insert(0, str(SERVER))
    try:
        import chat_backend  # noqa: PLC0415

        yield chat_backend
    finally:
        sys.path.remove(str(SERVER))


BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
STREAMS = [pytest.param(True, id="stream"), pytest.param(False, id="whole")]


def call(cb: Any, url: str, *, stream: bool, **kw: Any) -> tuple[Any, list[str]]:
    pieces: list[str] = []
    backend = cb.Backend(url=url, stream=stream, **kw)
    outcome = cb.complete(backend, dict(BODY), on_text=pieces.append, cancelled=threading.Event())
    return outcome, pieces


@pytest.mark.parametrize("stream", STREAMS)
def test_text_arrives_in_pieces_with_usage(
    cb: Any, fake_backend: FakeBackend, stream: bool
) -> None:
    fake_backend.script(text("Hello there, world", chunks=3))
    outcome, pieces = call(cb, fake_backend.url, stream=stream)
    assert outcome == cb.Outcome("stop", "Hello there, world", (), USAGE)
    assert "".join(pieces) == "Hello there, world"
    assert len(pieces) == (3 if stream else 1)
    sent = fake_backend.requests[0]
    assert sent["messages"] == BODY["messages"]
    assert sent.get("stream", False) is stream
    assert ("stream_options" in sent) is stream


@pytest.mark.parametrize("stream", STREAMS)
def test_tool_calls(cb: Any, fake_backend: FakeBackend, stream: bool) -> None:
    calls = [("get_weather", '{"city": "Paris"}'), ("get_time", '{"tz": "CET"}')]
    fake_backend.script(tool_calls(calls))
    outcome, pieces = call(cb, fake_backend.url, stream=stream)
    assert outcome.finish == "tool_calls"
    assert [(c.name, c.arguments) for c in outcome.tool_calls] == calls
    assert [c.id for c in outcome.tool_calls] == ["call_fake0", "call_fake1"]
    assert pieces == []
    assert outcome.usage == USAGE


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize(
    ("reply", "finish", "written"),
    [
        (length("cut sh", chunks=2), "length", "cut sh"),
        (content_filter("Part"), "content_filter", "Part"),
    ],
)
def test_length_and_content_filter(
    cb: Any, fake_backend: FakeBackend, stream: bool, reply: Any, finish: str, written: str
) -> None:
    fake_backend.script(reply)
    outcome, pieces = call(cb, fake_backend.url, stream=stream)
    assert (outcome.finish, outcome.text, "".join(pieces)) == (finish, written, written)


@pytest.mark.parametrize("stream", STREAMS)
def test_no_usage_is_none(cb: Any, fake_backend: FakeBackend, stream: bool) -> None:
    fake_backend.script(text("x", usage=None))
    outcome, _ = call(cb, fake_backend.url, stream=stream)
    assert outcome.usage is None


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize(
    ("code", "expected"),
    [(429, "rate_limit_exceeded"), (500, "server_error"), (404, "server_error")],
)
def test_error_statuses(
    cb: Any, fake_backend: FakeBackend, stream: bool, code: int, expected: str
) -> None:
    fake_backend.script(status(code, "slow down"))
    with pytest.raises(cb.BackendError) as caught:
        call(cb, fake_backend.url, stream=stream)
    assert caught.value.code == expected
    assert str(code) in caught.value.message and "slow down" in caught.value.message


@pytest.mark.parametrize("stream", STREAMS)
def test_refused_connection(cb: Any, stream: bool) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(cb.BackendError) as caught:
        call(cb, f"http://127.0.0.1:{port}/v1", stream=stream)
    assert caught.value.code == "server_error"


@pytest.mark.parametrize("stream", STREAMS)
def test_timeout_is_server_error(cb: Any, fake_backend: FakeBackend, stream: bool) -> None:
    fake_backend.script(hang())
    with pytest.raises(cb.BackendError) as caught:
        call(cb, fake_backend.url, stream=stream, timeout=0.3)
    assert caught.value.code == "server_error"
    assert "sent nothing" in caught.value.message


def test_stream_cut_short_is_server_error(cb: Any, fake_backend: FakeBackend) -> None:
    fake_backend.script(broken("half an ans"))
    with pytest.raises(cb.BackendError) as caught:
        call(cb, fake_backend.url, stream=True)
    assert caught.value.code == "server_error"


@pytest.mark.parametrize("stream", STREAMS)
def test_cancel_aborts_a_hang(cb: Any, fake_backend: FakeBackend, stream: bool) -> None:
    fake_backend.script(hang("Started" if stream else ""))
    cancelled = threading.Event()
    pieces: list[str] = []
    result: list[BaseException | Any] = []

    def run() -> None:
        try:
            result.append(
                cb.complete(
                    cb.Backend(url=fake_backend.url, stream=stream),
                    dict(BODY),
                    on_text=pieces.append,
                    cancelled=cancelled,
                )
            )
        except BaseException as exc:
            result.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    fake_backend.wait_hanging(1)
    cancelled.set()
    worker.join(30)  # a bound on a hang, not a speed check
    assert not worker.is_alive()
    assert len(result) == 1 and isinstance(result[0], cb.Aborted)
    assert pieces == (["Started"] if stream else [])
    fake_backend.wait("the client to go away", lambda f: f.disconnects == 1)


def test_cancelled_before_the_call_sends_nothing(cb: Any, fake_backend: FakeBackend) -> None:
    done = threading.Event()
    done.set()
    with pytest.raises(cb.Aborted):
        cb.complete(cb.Backend(url=fake_backend.url), dict(BODY), on_text=print, cancelled=done)
    assert fake_backend.requests == []


def test_model_key_and_headers_are_sent(cb: Any, fake_backend: FakeBackend) -> None:
    backend = cb.Backend(url=fake_backend.url + "/", key="sk-local", model="llama3")
    cb.complete(
        backend, dict(BODY), on_text=print, cancelled=threading.Event(), headers={"X-Work": "run_1"}
    )
    assert fake_backend.requests[0]["model"] == "llama3"
    assert fake_backend.headers[0]["authorization"] == "Bearer sk-local"
    assert fake_backend.headers[0]["x-work"] == "run_1"


def test_finish_reasons_normalised(cb: Any) -> None:
    call_ = cb.ToolCall("c", "f", "{}")
    assert cb._finish("stop", (call_,)) == "tool_calls"
    assert cb._finish("eos", ()) == "stop"
    assert cb._finish(None, ()) == "stop"
    assert cb._finish("length", (call_,)) == "length"


# -- leases ---------------------------------------------------------------------------------

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.server_slow),
]


@pytest.fixture(params=BACKENDS)
def leases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    db = database(request.param, tmp_path)
    sys.path.insert(0, str(SERVER))
    try:
        import leases as module  # noqa: PLC0415
        import store  # noqa: PLC0415

        s = store.Store(db)
        s.create_schema()
        table = module.Leases(s)
        table.create_schema()
        table.create_schema()  # idempotent
        yield table
        s.close()
    finally:
        sys.path.remove(str(SERVER))


def test_claim_is_exclusive(leases: Any) -> None:
    assert leases.claim("run", "run_1", "a", 30)
    assert not leases.claim("run", "run_1", "b", 30)
    assert leases.claim("run", "run_1", "a", 30)  # ours already: kept
    assert leases.claim("run", "run_2", "b", 30)  # another id
    assert leases.claim("response", "run_1", "b", 30)  # another kind
    assert leases.owner_of("run", "run_1") == "a"
    assert leases.lapsed("run") == []


def test_claim_races_have_one_winner(leases: Any) -> None:
    wins: list[str] = []
    barrier = threading.Barrier(8)

    def claim(owner: str) -> None:
        barrier.wait()
        if leases.claim("run", "run_x", owner, 30):
            wins.append(owner)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(wins) == 1
    assert leases.owner_of("run", "run_x") == wins[0]


def test_a_lapsed_lease_is_listed_and_can_be_taken(leases: Any) -> None:
    assert leases.claim("run", "run_1", "a", 0.05)
    assert leases.claim("run", "run_2", "a", 60)
    wait_for(lambda: leases.lapsed("run") == ["run_1"], "the lease to lapse", 30)
    assert leases.lapsed("response") == []
    assert not leases.renew("run", "run_1", "a", 30)  # lapsed: no longer ours to renew
    assert leases.claim("run", "run_1", "b", 30)
    assert leases.owner_of("run", "run_1") == "b"
    assert leases.lapsed("run") == []


def test_renew_and_release(leases: Any) -> None:
    assert leases.claim("run", "run_1", "a", 30)
    assert not leases.renew("run", "run_1", "b", 60)  # not b's
    # The renewal sets the lease's end: shortened, it lapses (30 s would not, here).
    assert leases.renew("run", "run_1", "a", 0.05)
    wait_for(lambda: leases.lapsed("run") == ["run_1"], "the renewed lease to lapse", 30)
    assert leases.claim("run", "run_2", "c", 30)
    leases.release("run", "run_2", "b")  # not b's: nothing happens
    assert leases.owner_of("run", "run_2") == "c"
    leases.release("run", "run_2", "c")
    assert leases.owner_of("run", "run_2") is None
    assert not leases.renew("run", "run_2", "c", 60)
    assert leases.claim("run", "run_2", "b", 30)


# -- real backends' quirks, served raw ------------------------------------------------------


@pytest.fixture
def raw() -> Iterator[Any]:
    """``raw(payload, content_type=..., status=...)``: the URL of a loopback HTTP server
    answering every request with exactly these bytes (what the fake cannot express)."""
    listeners: list[socket.socket] = []

    def serve(
        payload: bytes, content_type: str = "text/event-stream", status: str = "200 OK"
    ) -> str:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listeners.append(listener)

        def answer() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                with conn:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += conn.recv(65536)
                    head, _, rest = data.partition(b"\r\n\r\n")
                    length = next(
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    )
                    while len(rest) < length:
                        rest += conn.recv(65536)
                    conn.sendall(
                        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n"
                        "connection: close\r\n\r\n".encode()
                        + payload
                    )

        threading.Thread(target=answer, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/v1"

    yield serve
    for listener in listeners:
        listener.close()


def sse(*events: Any, done: bool = True, end: str = "\n\n", prefix: str = "data: ") -> bytes:
    """Server-sent events: each event (a JSON value, or text as is), then ``[DONE]``."""
    lines = [prefix + (e if isinstance(e, str) else json.dumps(e)) + end for e in events]
    return "".join([*lines, prefix + "[DONE]" + end if done else ""]).encode()


def delta(content: Any = None, finish: str | None = None, **fields: Any) -> dict[str, Any]:
    """One chunk: a delta of ``fields`` (``content`` too, when given)."""
    if content is not None:
        fields["content"] = content
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": finish}]}


def calls_of(outcome: Any) -> list[tuple[str, str, str]]:
    return [(c.id, c.name, c.arguments) for c in outcome.tool_calls]


def test_tool_calls_without_index_stay_apart(cb: Any, raw: Any) -> None:
    """Ollama (ollama/ollama#7881) and Gemini's compatible API send each call whole and
    without ``index``: two calls are two calls, not one with both names glued."""
    first = {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}
    second = {"id": "call_b", "type": "function", "function": {"name": "g", "arguments": "{}"}}
    url = raw(sse(delta(tool_calls=[first]), delta(tool_calls=[second]), delta(finish="stop")))
    outcome, _ = call(cb, url, stream=True)
    assert outcome.finish == "tool_calls"
    assert calls_of(outcome) == [("call_a", "f", '{"x":1}'), ("call_b", "g", "{}")]
    # Both in one chunk, and a call without an id continued by chunks without one.
    url = raw(sse(delta(tool_calls=[first, second]), delta(finish="tool_calls")))
    assert calls_of(call(cb, url, stream=True)[0]) == calls_of(outcome)
    start = {"function": {"name": "f", "arguments": '{"x"'}}
    more = {"function": {"arguments": ":1}"}}
    url = raw(sse(delta(tool_calls=[start]), delta(tool_calls=[more]), delta(finish="stop")))
    ((_, name, arguments),) = calls_of(call(cb, url, stream=True)[0])
    assert (name, arguments) == ("f", '{"x":1}')


def test_tool_calls_interleaved_and_names_restated(cb: Any, raw: Any) -> None:
    """Parallel calls interleaved by ``index``; a server restating the whole name in every
    chunk (MiniMax behind NVIDIA NIM) keeps it once; a name split in two is joined."""

    def part(i: int, **function: str) -> dict[str, Any]:
        return delta(tool_calls=[{"index": i, "function": function}])

    url = raw(
        sse(
            delta(tool_calls=[{"index": 0, "id": "a", "function": {"name": "get_"}}]),
            delta(tool_calls=[{"index": 1, "id": "b", "function": {"name": "g"}}]),
            part(0, name="weather", arguments='{"c":'),
            part(1, name="g", arguments="{}"),
            part(0, arguments='"P"}'),
            delta(finish="tool_calls"),
        )
    )
    outcome, _ = call(cb, url, stream=True)
    assert calls_of(outcome) == [("a", "get_weather", '{"c":"P"}'), ("b", "g", "{}")]


def test_arguments_sent_as_an_object_are_json_text(cb: Any, raw: Any) -> None:
    arguments = {"city": "Paris"}
    function = {"name": "f", "arguments": arguments}
    url = raw(
        sse(delta(tool_calls=[{"index": 0, "id": "a", "function": function}]), delta(finish="stop"))
    )
    assert calls_of(call(cb, url, stream=True)[0]) == [("a", "f", json.dumps(arguments))]
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "a", "function": function}],
    }
    whole = {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}
    url = raw(json.dumps(whole).encode(), content_type="application/json")
    assert calls_of(call(cb, url, stream=False)[0]) == [("a", "f", json.dumps(arguments))]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"message": "Rate limit reached", "code": 429}, "rate_limit_exceeded"),  # vLLM
        ({"message": "Rate limit reached", "code": "429"}, "rate_limit_exceeded"),  # LiteLLM
        ({"message": "Slow down", "type": "rate_limit_exceeded"}, "rate_limit_exceeded"),
        ({"message": "CUDA out of memory", "code": 500}, "server_error"),
        ("the engine died", "server_error"),
    ],
)
def test_an_error_sent_mid_stream(cb: Any, raw: Any, error: Any, expected: str) -> None:
    """vLLM and LiteLLM report a failure after the 200 as an ``error`` event."""
    url = raw(sse(delta("Hel"), {"error": error}, done=False))
    with pytest.raises(cb.BackendError) as caught:
        call(cb, url, stream=True)
    assert caught.value.code == expected
    said = error["message"] if isinstance(error, dict) else error
    assert said in caught.value.message


def test_quiet_chunk_fields_and_sse_spellings(cb: Any, raw: Any) -> None:
    """``error: null`` on every chunk is no error; ``data:`` without a space, CRLF line
    ends and ``: keep-alive`` comments are server-sent events too."""
    url = raw(
        b": keep-alive\r\n\r\n"
        + sse({**delta("Hi"), "error": None}, delta(finish="stop"), end="\r\n\r\n", prefix="data:")
    )
    outcome, pieces = call(cb, url, stream=True)
    assert (outcome.finish, outcome.text, pieces) == ("stop", "Hi", ["Hi"])


def test_a_json_answer_to_a_stream_request(cb: Any, raw: Any) -> None:
    """A server that ignores ``stream: true`` answers one chat completion: it is read as
    one (its text given to on_text once), not taken for a stream cut short."""
    message = {"role": "assistant", "content": "Hello"}
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    whole = {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": usage}
    url = raw(json.dumps(whole).encode(), content_type="application/json")
    outcome, pieces = call(cb, url, stream=True)
    assert (outcome.finish, outcome.text, outcome.usage, pieces) == (
        "stop",
        "Hello",
        usage,
        ["Hello"],
    )
    # An error object with a 200 is the backend's error, said as such.
    url = raw(
        json.dumps({"error": {"message": "model not loaded"}}).encode(),
        content_type="application/json",
    )
    with pytest.raises(cb.BackendError) as caught:
        call(cb, url, stream=True)
    assert caught.value.code == "server_error" and "model not loaded" in caught.value.message


@pytest.mark.parametrize("stream", STREAMS)
def test_a_web_page_is_not_a_chat_completion(cb: Any, raw: Any, stream: bool) -> None:
    """A URL that serves a web page (a UI, a proxy's login page) says so; its HTML is not
    copied into the error."""
    page = b"<!doctype html><html><head><title>Open WebUI</title></head><body>app</body></html>"
    url = raw(page, content_type="text/html; charset=utf-8")
    with pytest.raises(cb.BackendError) as caught:
        call(cb, url, stream=stream)
    assert caught.value.code == "server_error"
    assert "text/html" in caught.value.message and "<" not in caught.value.message
    url = raw(page, content_type="text/html", status="502 Bad Gateway")
    with pytest.raises(cb.BackendError) as caught:
        call(cb, url, stream=stream)
    assert "502" in caught.value.message and "<" not in caught.value.message


@pytest.mark.parametrize(
    "chunk",
    [
        {"choices": ["x"]},
        {"choices": [{"index": 0, "delta": "x"}]},
        {"choices": {"a": 1}},
        delta(tool_calls=["x"]),
        delta(tool_calls=[{"index": 0, "function": "f"}]),
    ],
)
def test_a_malformed_chunk_is_a_backend_error(cb: Any, raw: Any, chunk: Any) -> None:
    url = raw(sse(chunk, delta(finish="stop")))
    with pytest.raises(cb.BackendError) as caught:
        call(cb, url, stream=True)
    assert caught.value.code == "server_error"


def test_a_refused_connection_does_not_tell_clients_where_the_backend_is(cb: Any) -> None:
    """The message becomes the run's ``last_error.message``, which every API client
    reads: it names no host, port or credentials of the backend (the log does)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://operator:s3cret@127.0.0.1:{port}/v1"
    with pytest.raises(cb.BackendError) as caught:
        call(cb, url, stream=True)
    message = caught.value.message
    assert caught.value.code == "server_error"
    assert "s3cret" not in message and str(port) not in message and "127.0.0.1" not in message


def test_usage_without_a_total_is_summed(cb: Any, raw: Any) -> None:
    """A backend that reports prompt and completion tokens but no total still gives the
    run its usage (the total is their sum), rather than none at all."""
    usage = {"prompt_tokens": 3, "completion_tokens": 4}
    url = raw(sse(delta("Hi"), delta(finish="stop"), {"choices": [], "usage": usage}))
    outcome, _ = call(cb, url, stream=True)
    assert outcome.usage == {**usage, "total_tokens": 7}


@pytest.mark.parametrize("stream", STREAMS)
def test_a_traceback_body_stays_in_the_backend(cb: Any, raw: Any, stream: bool) -> None:
    """A backend in debug mode answers its Python traceback as plain text: clients
    learn the status, not the backend's file paths and code."""
    body = (
        b"Traceback (most recent call last):\n"
        b'  File "/srv/llm/engine.py", line 41, in generate\n'
        b"    secret_internal_call()\nRuntimeError: CUDA error\n"
    )
    url = raw(body, content_type="text/plain", status="500 Internal Server Error")
    with pytest.raises(cb.BackendError) as caught:
        call(cb, url, stream=stream)
    assert "500" in caught.value.message
    assert "/srv/llm" not in caught.value.message and "secret" not in caught.value.message
    # A plain one-line error (Ollama's "404 page not found") is still told.
    url = raw(b"404 page not found", content_type="text/plain", status="404 Not Found")
    with pytest.raises(cb.BackendError) as caught:
        call(cb, url, stream=stream)
    assert "404 page not found" in caught.value.message
