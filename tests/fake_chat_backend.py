"""A scripted Chat Completions backend for the model worker's tests: no network, no model.

:class:`FakeBackend` is a small Starlette app served by uvicorn on ``127.0.0.1`` (a free
port) in a thread. It answers ``POST /v1/chat/completions``, streamed (server-sent
events: chunks, a usage chunk when ``stream_options.include_usage``, then
``data: [DONE]``) and not, with the replies a test queued (:meth:`FakeBackend.script`),
one per request, and :func:`text` once the queue is empty. It records every request's
body and headers, in order.

    from fake_chat_backend import FakeBackend, fake_backend, text, tool_calls, hang

The replies: :func:`text`, :func:`tool_calls`, :func:`length`, :func:`content_filter`,
:func:`status` (an error status, e.g. 429 or 500), :func:`hang` (never finishes until the
client goes away or the fake stops; with ``text`` it first streams that) and
:func:`broken` (a stream that ends without finishing). Each takes ``usage``.

``python tests/fake_chat_backend.py [PORT]`` serves it alone (text replies only), a
stand-in model to try ``serve.py --model-backend`` with.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

#: The usage a reply reports unless told otherwise.
USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}

_DEFAULT: Any = object()
_Fake = TypeVar("_Fake", bound="FakeBackend")


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    #: text | tool_calls | length | content_filter | status | hang | broken
    kind: str
    text: str = ""
    chunks: int = 1
    calls: tuple[tuple[str, str], ...] = ()
    usage: dict[str, int] | None = field(default_factory=lambda: dict(USAGE))
    status: int = 200
    #: Seconds between streamed chunks (lets a test watch deltas arrive one by one).
    delay: float = 0.0


def _usage(usage: Any) -> dict[str, int] | None:
    return dict(USAGE) if usage is _DEFAULT else usage  # type: ignore[no-any-return]


def text(
    words: str = "Hello from the fake model.",
    *,
    chunks: int = 3,
    usage: Any = _DEFAULT,
    delay: float = 0.0,
) -> Reply:
    """The model writes ``words`` (in ``chunks`` pieces when streamed) and stops."""
    return Reply("text", words, chunks, usage=_usage(usage), delay=delay)


def tool_calls(calls: list[tuple[str, str]], *, usage: Any = _DEFAULT) -> Reply:
    """The model calls these functions: ``[(name, arguments JSON text), ...]``."""
    return Reply("tool_calls", calls=tuple(calls), usage=_usage(usage))


def length(words: str = "This answer was cut", *, chunks: int = 2, usage: Any = _DEFAULT) -> Reply:
    """The model writes ``words`` and runs out of tokens (``finish_reason: length``)."""
    return Reply("length", words, chunks, usage=_usage(usage))


def content_filter(words: str = "Partial", *, usage: Any = _DEFAULT) -> Reply:
    """The model writes ``words`` and its output is filtered (``content_filter``)."""
    return Reply("content_filter", words, 1, usage=_usage(usage))


def status(code: int, message: str | None = None) -> Reply:
    """An error status with an OpenAI-style error body."""
    return Reply("status", message or f"fake error {code}", status=code, usage=None)


def hang(words: str = "") -> Reply:
    """Stream ``words`` (if any), then send nothing until the client goes away."""
    return Reply("hang", words, 1 if words else 0, usage=None)


def broken(words: str = "cut off") -> Reply:
    """Stream ``words``, then close the stream without a finish reason or ``[DONE]``."""
    return Reply("broken", words, 1, usage=None)


def _pieces(words: str, chunks: int) -> list[str]:
    if not words or chunks <= 1:
        return [words] if words else []
    size = -(-len(words) // chunks)
    return [words[i : i + size] for i in range(0, len(words), size)]


_FINISH = {
    "text": "stop",
    "tool_calls": "tool_calls",
    "length": "length",
    "content_filter": "content_filter",
}


class FakeBackend:
    """The fake, started by :meth:`start` (or the :func:`fake_backend` fixture)."""

    def __init__(self) -> None:
        self.url = ""
        #: Every request body received, in order.
        self.requests: list[dict[str, Any]] = []
        #: Every request's headers (lower-case names), in the same order.
        self.headers: list[dict[str, str]] = []
        #: How many hanging replies saw their client go away (a cancel closed it).
        self.disconnects = 0
        #: How many requests are hanging right now.
        self.hanging = 0
        self._queue: deque[Reply] = deque()
        self._lock = threading.Condition()
        self._stopping = False
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- the test's side ------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queue ``replies``: the next requests get them, in order."""
        with self._lock:
            self._queue.extend(replies)

    def clear(self) -> None:
        """Forget the queued replies, the requests and the counts (a test's fresh start)."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.headers.clear()
            self.disconnects = 0

    def wait(self, what: str, condition: Any, timeout: float = 60.0) -> None:
        """Wait until ``condition(self)`` holds (a bound on a hang, not a speed check)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the fake backend waited {timeout} s for {what}")
                self._lock.wait(min(left, 0.1))

    def wait_hanging(self, count: int = 1, timeout: float = 60.0) -> None:
        self.wait(f"{count} hanging request(s)", lambda f: f.hanging >= count, timeout)

    def wait_requests(self, count: int, timeout: float = 60.0) -> None:
        self.wait(f"{count} request(s)", lambda f: len(f.requests) >= count, timeout)

    # -- serving --------------------------------------------------------------------------

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            reply = self._queue.popleft() if self._queue else text()
            self._lock.notify_all()
        return reply

    def _note(self, hanging: int = 0, disconnect: int = 0) -> None:
        with self._lock:
            self.hanging += hanging
            self.disconnects += disconnect
            self._lock.notify_all()

    async def _hang(self, request: Any) -> None:
        """Wait until the client goes away (counted) or the fake stops."""
        self._note(hanging=1)
        try:
            while not self._stopping:
                if await request.is_disconnected():
                    self._note(disconnect=1)
                    return
                await asyncio.sleep(0.02)
        except asyncio.CancelledError:  # Starlette saw the client go away first
            if not self._stopping:
                self._note(disconnect=1)
            raise
        finally:
            self._note(hanging=-1)

    async def _completions(self, request: Any) -> Any:
        from starlette.responses import JSONResponse, StreamingResponse  # noqa: PLC0415

        body = await request.json()
        reply = self._next(body, {k.lower(): v for k, v in request.headers.items()})
        model = body.get("model", "fake")
        if reply.kind == "status":
            kind = "rate_limit_exceeded" if reply.status == 429 else "server_error"
            error = {"message": reply.text, "type": kind, "param": None, "code": kind}
            return JSONResponse({"error": error}, status_code=reply.status)
        if not body.get("stream"):
            if reply.kind == "hang":
                await self._hang(request)
                return JSONResponse({"error": {"message": "stopped"}}, status_code=503)
            if reply.kind == "broken":
                return JSONResponse({"choices": []})
            return JSONResponse(self._whole(reply, model))
        usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return StreamingResponse(
            self._stream(reply, model, usage, request), media_type="text/event-stream"
        )

    @staticmethod
    def _calls(reply: Reply) -> list[dict[str, Any]]:
        return [
            {"id": f"call_fake{i}", "type": "function", "function": {"name": n, "arguments": a}}
            for i, (n, a) in enumerate(reply.calls)
        ]

    def _whole(self, reply: Reply, model: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.calls:
            message["tool_calls"] = self._calls(reply)
        answer: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": _FINISH[reply.kind]}],
        }
        if reply.usage is not None:
            answer["usage"] = reply.usage
        return answer

    async def _stream(
        self, reply: Reply, model: str, usage: bool, request: Any
    ) -> AsyncIterator[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            data = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(data)}\n\n".encode()

        yield chunk({"role": "assistant", "content": ""})
        for piece in _pieces(reply.text, reply.chunks):
            if reply.delay:
                await asyncio.sleep(reply.delay)
            yield chunk({"content": piece})
        if reply.kind == "hang":
            await self._hang(request)
            return
        if reply.kind == "broken":
            return
        for i, call in enumerate(self._calls(reply)):
            args = call["function"]["arguments"]
            half = len(args) // 2
            first = {"index": i, "id": call["id"], "type": "function"}
            first["function"] = {"name": call["function"]["name"], "arguments": args[:half]}
            yield chunk({"tool_calls": [first]})
            yield chunk({"tool_calls": [{"index": i, "function": {"arguments": args[half:]}}]})
        yield chunk({}, _FINISH[reply.kind])
        if usage and reply.usage is not None:
            data = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model}
            data |= {"created": int(time.time()), "choices": [], "usage": reply.usage}
            yield f"data: {json.dumps(data)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    def start(self, port: int = 0) -> FakeBackend:
        """Serve on ``127.0.0.1:port`` (0: a free port) in a thread; ``url`` says where."""
        import uvicorn  # noqa: PLC0415
        from starlette.applications import Starlette  # noqa: PLC0415
        from starlette.routing import Route  # noqa: PLC0415

        app = Starlette(routes=[Route("/v1/chat/completions", self._completions, methods=["POST"])])
        sock = socket.socket()
        sock.bind(("127.0.0.1", port))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", timeout_graceful_shutdown=2, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake backend did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{port}/v1"
        return self

    def stop(self) -> None:
        self._stopping = True
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(30)

    def __enter__(self: _Fake) -> _Fake:
        """Started (on a free port); stopped at the end of the ``with``."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def fake_backend() -> Iterator[FakeBackend]:
    """A started :class:`FakeBackend`, stopped after the test."""
    with FakeBackend() as fake:
        yield fake


if __name__ == "__main__":  # a stand-in model to try the server with: text replies only
    import sys

    fake = FakeBackend().start(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"fake Chat Completions backend on {fake.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()
