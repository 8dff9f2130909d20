"""A Chat Completions client for the model worker: one call, streamed or not, abortable.

The worker hands :func:`complete` a request body; this module sends it to any
OpenAI-compatible ``POST {url}/chat/completions`` (vLLM, Ollama, llama.cpp's server, LM
Studio, a LiteLLM proxy, OpenAI itself) and reports what the backend did: an
:class:`Outcome` (why it stopped, the text, the tool calls, the usage), or a
:class:`BackendError` whose ``code`` is what the run's or response's ``last_error`` says,
or :class:`Aborted` when the caller cancelled it. It decides nothing about runs or
responses: that is runstate's, through the worker.

The call runs on its own event loop in the caller's thread (``asyncio.run``), beside a
watcher that polls ``cancelled`` every 50 ms: a cancel closes the connection even while the
backend sends nothing at all (a hang), and a timeout counts seconds without a byte.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["Aborted", "Backend", "BackendError", "Outcome", "ToolCall", "complete", "redacted"]

log = logging.getLogger("runstate.server")

#: How often the watcher looks at ``cancelled`` (seconds).
POLL = 0.05

#: The finish reasons an Outcome reports; anything else a backend says is "stop".
FINISHES = ("stop", "tool_calls", "length", "content_filter")


@dataclass(frozen=True)
class Backend:
    """Where the model is and how to call it."""

    #: Base URL of an OpenAI-compatible API, e.g. ``http://127.0.0.1:11434/v1``.
    url: str
    #: Sent as ``Authorization: Bearer KEY`` when given.
    key: str | None = None
    #: Replaces the run's or response's ``model`` in the request when given.
    model: str | None = None
    #: Seconds without a byte from the backend before the call fails (``server_error``).
    timeout: float = 120.0
    #: False: one non-streaming request (for backends without server-sent events).
    stream: bool = True


@dataclass(frozen=True)
class ToolCall:
    """One function call the model wrote."""

    id: str
    name: str
    #: The JSON text the model wrote (not parsed: the client gets it as written).
    arguments: str


@dataclass(frozen=True)
class Outcome:
    """What one backend call ended with."""

    #: ``stop``, ``tool_calls``, ``length`` or ``content_filter``.
    finish: str
    #: All the text written (also given piecewise to ``on_text``).
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    #: ``{"prompt_tokens", "completion_tokens", "total_tokens"}`` as the backend sent them.
    usage: dict[str, int] | None = None


class BackendError(Exception):
    """The call failed: ``code`` is ``rate_limit_exceeded`` (HTTP 429) or ``server_error``
    (another status, a timeout, a refused connection, a body that is not Chat Completions)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Aborted(Exception):
    """``cancelled`` was set: the connection was closed (even mid-hang)."""


def _server_error(message: str) -> BackendError:
    return BackendError("server_error", message)


@dataclass
class _Reading:
    """The pieces of a streamed answer, as they arrive."""

    text: list[str] = field(default_factory=list)
    finish: str | None = None
    usage: dict[str, int] | None = None
    #: The calls by ``index``; a call sent without one gets the next free slot.
    calls: dict[int, dict[str, str]] = field(default_factory=dict)
    #: The slot the last call without an ``index`` went to.
    unindexed: int | None = None
    done: bool = False

    def slot(self, call: dict[str, Any]) -> dict[str, str]:
        """Where a tool-call delta goes.

        OpenAI numbers each call (``index``) and sends its ``id`` and name once. Some
        servers send no ``index`` (Ollama, ollama/ollama#7881; Gemini's compatible
        API), each call whole: a delta without one continues the last such call unless
        it starts another (a new ``id``, or a name after complete arguments).
        """
        index = call.get("index")
        if isinstance(index, int) and not isinstance(index, bool):
            return self.calls.setdefault(index, {"arguments": ""})
        last = self.calls.get(self.unindexed) if self.unindexed is not None else None
        if last is not None and not _starts_another(last, call):
            return last
        self.unindexed = max(self.calls, default=-1) + 1
        return self.calls.setdefault(self.unindexed, {"arguments": ""})

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(id=c.get("id") or _call_id(), name=c.get("name", ""), arguments=c["arguments"])
            for _, c in sorted(self.calls.items())
        )


def _starts_another(last: dict[str, str], call: dict[str, Any]) -> bool:
    """Whether a delta without ``index`` starts a call after ``last``."""
    id = call.get("id")
    if id:
        return bool(last.get("id")) and last["id"] != id
    function = call.get("function")
    if not isinstance(function, dict) or not function.get("name") or not last.get("name"):
        return False
    try:
        json.loads(last["arguments"])
    except ValueError:
        return False  # the last call's arguments are not finished: a restated name
    return True


def _arguments(value: Any) -> str:
    """A call's arguments as JSON text (some servers send them as an object)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value)


def _call_id() -> str:
    """An id for a call the backend sent without one (some local servers do)."""
    return f"call_{secrets.token_hex(12)}"


def _usage(value: Any) -> dict[str, int] | None:
    if not isinstance(value, dict):
        return None
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    found = {k: value[k] for k in keys if type(value.get(k)) is int}
    if "total_tokens" not in found and len(found) == 2:
        found["total_tokens"] = found["prompt_tokens"] + found["completion_tokens"]
    if len(found) != len(keys):
        return None
    return found


def _finish(reason: Any, calls: tuple[ToolCall, ...]) -> str:
    """The backend's finish reason as one of :data:`FINISHES`.

    Some backends answer ``stop`` (or the legacy ``function_call``) with tool calls: the
    calls decide. An unknown reason (``eos``, ``end_turn``, none at all) is ``stop``.
    """
    if calls and reason in (None, "stop", "tool_calls", "function_call"):
        return "tool_calls"
    return reason if reason in FINISHES and reason != "tool_calls" else "stop"


def _is_html(response: httpx.Response) -> bool:
    kind: str = response.headers.get("content-type", "")
    return kind.lower().startswith("text/html")


def _error_text(response: httpx.Response) -> str:
    if _is_html(response):
        # A proxy's or a web UI's page: its name, not its markup.
        return f"{response.reason_phrase} (a text/html page)".strip()
    text = response.text[:500]
    try:
        data = json.loads(text)
    except ValueError:
        # Plain text: its first line ("404 page not found"), unless it is the start of
        # a traceback (a backend in debug mode), which stays in the backend's log.
        first = text.strip().split("\n", 1)[0].strip()[:200]
        if not first or first.startswith("Traceback"):
            return response.reason_phrase
        return first
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return text.strip()


def _failed(response: httpx.Response, body: str) -> BackendError:
    code = "rate_limit_exceeded" if response.status_code == 429 else "server_error"
    return BackendError(code, f"the model backend answered {response.status_code}: {body}")


def _reported(error: Any, when: str) -> BackendError:
    """An ``error`` object the backend sent with a 200 (vLLM and LiteLLM send one as a
    stream's event when the call fails after it started): ``rate_limit_exceeded`` when
    it says 429 or a rate limit, else ``server_error``."""
    fields = error if isinstance(error, dict) else {"message": error}
    said = " ".join(str(fields.get(k, "")) for k in ("code", "type", "status")).lower()
    limited = "429" in said.split() or "rate_limit" in said or "ratelimit" in said
    message = fields.get("message")
    text = message if isinstance(message, str) else json.dumps(error)[:500]
    code = "rate_limit_exceeded" if limited else "server_error"
    return BackendError(code, f"the model backend reported an error{when}: {text}")


def _not_a_stream(response: httpx.Response) -> BackendError:
    kind = response.headers.get("content-type", "no content-type")
    return _server_error(
        f"the model backend answered {response.status_code} with {kind}, "
        "not a chat completion stream"
    )


def _chunk(reading: _Reading, data: dict[str, Any], on_text: Callable[[str], None]) -> None:
    """Take one streamed chunk into ``reading``."""
    if data.get("error"):
        raise _reported(data["error"], " mid-stream")
    usage = _usage(data.get("usage"))
    if usage is not None:
        reading.usage = usage
    for choice in data.get("choices") or ():
        if choice.get("index", 0) != 0:
            continue
        delta = choice.get("delta") or {}
        piece = delta.get("content")
        if isinstance(piece, str) and piece:
            reading.text.append(piece)
            on_text(piece)
        for call in delta.get("tool_calls") or ():
            slot = reading.slot(call)
            if call.get("id"):
                slot["id"] = str(call["id"])
            function = call.get("function") or {}
            name = function.get("name")
            if isinstance(name, str) and name and slot.get("name") != name:
                # A name split across chunks is joined; one restated in every chunk
                # (MiniMax behind NVIDIA NIM) is kept once.
                slot["name"] = slot.get("name", "") + name
            slot["arguments"] += _arguments(function.get("arguments"))
        if choice.get("finish_reason"):
            reading.finish = choice["finish_reason"]


async def _streamed(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    on_text: Callable[[str], None],
) -> Outcome:
    reading = _Reading()
    async with client.stream("POST", url, json=body, headers=headers) as response:
        if response.status_code >= 300:
            await response.aread()
            raise _failed(response, _error_text(response))
        if _is_html(response):
            raise _not_a_stream(response)
        kind = response.headers.get("content-type", "").lower()
        if kind.startswith("application/json"):
            # A server that ignores ``stream: true`` answers one chat completion.
            await response.aread()
            return _completion(response, on_text)
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue  # blank separators, comments (": keep-alive"), event: lines
            data = line[5:].strip()
            if data == "[DONE]":
                reading.done = True
                break
            try:
                parsed = json.loads(data)
            except ValueError:
                raise _server_error(
                    f"the model backend sent a chunk that is not JSON: {data[:200]}"
                ) from None
            if not isinstance(parsed, dict):
                raise _server_error(
                    f"the model backend sent a chunk that is not an object: {data[:200]}"
                )
            try:
                _chunk(reading, parsed, on_text)
            except (AttributeError, TypeError, KeyError):
                raise _server_error(
                    f"the model backend sent a chunk that is not a chat completion chunk: "
                    f"{data[:200]}"
                ) from None
    if not reading.done and reading.finish is None:
        raise _server_error("the model backend closed the stream before it finished")
    calls = reading.tool_calls()
    return Outcome(_finish(reading.finish, calls), "".join(reading.text), calls, reading.usage)


async def _whole(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    on_text: Callable[[str], None],
) -> Outcome:
    response = await client.post(url, json=body, headers=headers)
    if response.status_code >= 300:
        raise _failed(response, _error_text(response))
    return _completion(response, on_text)


def _completion(response: httpx.Response, on_text: Callable[[str], None]) -> Outcome:
    """The Outcome of a whole (non-streamed) chat completion."""
    if _is_html(response):
        raise _server_error(
            f"the model backend answered {response.status_code} with a text/html page, "
            "not a chat completion"
        )
    try:
        data = response.json()
        if isinstance(data, dict) and data.get("error"):
            raise _reported(data["error"], "")
        choice = data["choices"][0]
        message = choice.get("message") or {}
        text = message.get("content") or ""
        calls = tuple(
            ToolCall(
                id=c.get("id") or _call_id(),
                name=c["function"]["name"],
                arguments=_arguments(c["function"].get("arguments")),
            )
            for c in message.get("tool_calls") or ()
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise _server_error(
            f"the model backend sent a body that is not a chat completion: {response.text[:200]}"
        ) from None
    if not isinstance(text, str):
        raise _server_error("the model backend sent message content that is not text")
    if text:
        on_text(text)
    return Outcome(
        _finish(choice.get("finish_reason"), calls), text, calls, _usage(data.get("usage"))
    )


async def _call(
    backend: Backend,
    body: dict[str, Any],
    on_text: Callable[[str], None],
    cancelled: threading.Event,
    headers: Mapping[str, str] | None,
) -> Outcome:
    sent = dict(body)
    if backend.model is not None:
        sent["model"] = backend.model
    if backend.stream:
        sent["stream"] = True
        sent["stream_options"] = {"include_usage": True}
    else:
        sent.pop("stream", None)
        sent.pop("stream_options", None)
    extra = dict(headers or {})
    if backend.key:
        extra["Authorization"] = f"Bearer {backend.key}"
    url = backend.url.rstrip("/") + "/chat/completions"
    timeout = httpx.Timeout(backend.timeout)
    async with httpx.AsyncClient(timeout=timeout) as client:
        way = _streamed if backend.stream else _whole
        task = asyncio.ensure_future(way(client, url, sent, extra, on_text))
        while not task.done():
            await asyncio.wait({task}, timeout=POLL)
            if cancelled.is_set() and not task.done():
                task.cancel()
                with suppress(asyncio.CancelledError, Exception):
                    await task
                raise Aborted
        return task.result()


def complete(
    backend: Backend,
    body: dict[str, Any],
    *,
    on_text: Callable[[str], None],
    cancelled: threading.Event,
    headers: Mapping[str, str] | None = None,
) -> Outcome:
    """Send one Chat Completions request and report how it ended.

    ``body`` is the request without ``stream``: with ``backend.stream`` it is sent with
    ``stream: true`` and ``stream_options: {"include_usage": true}``, and ``on_text`` gets
    each piece of content as it arrives; otherwise ``on_text`` gets the whole text once.
    ``backend.model`` replaces ``body["model"]`` when given. ``headers`` are sent too
    (the worker names the run or response it works on).

    Raises:
        Aborted: ``cancelled`` was set (looked at every 50 ms, even during a hang).
        BackendError: the backend answered 429 (``rate_limit_exceeded``), or another
            error status, timed out, refused the connection, or sent something that is
            not a chat completion (``server_error``).
    """
    if cancelled.is_set():
        raise Aborted
    try:
        return asyncio.run(_call(backend, body, on_text, cancelled, headers))
    except (Aborted, BackendError):
        raise
    except httpx.TimeoutException as exc:
        raise _server_error(
            f"the model backend sent nothing for {backend.timeout:g} s ({type(exc).__name__})"
        ) from None
    except httpx.HTTPError as exc:
        # The message is the run's last_error, which every client reads: it names no
        # host, port or credentials of the backend; the server's log has the details.
        log.warning(
            "the model backend at %s: %s: %s", redacted(backend.url), type(exc).__name__, exc
        )
        if isinstance(exc, httpx.ConnectError):
            raise _server_error("cannot connect to the model backend") from None
        raise _server_error(
            f"the call to the model backend failed ({type(exc).__name__})"
        ) from None


def redacted(url: str) -> str:
    """``url`` without the password it may carry (for logs).

    Example:
        >>> redacted("http://me:secret@host:8000/v1")
        'http://me:***@host:8000/v1'
    """
    parsed = urllib.parse.urlsplit(url)
    if not parsed.password:
        return url
    host = parsed.netloc.rpartition("@")[2]
    return parsed._replace(netloc=f"{parsed.username}:***@{host}").geturl()
