"""An Assistants-compatible Runs API on runstate, as a Starlette (ASGI) application.

The web framework reads the request, runstate decides, the store writes with a
compare-and-set (see ``store.py``), and the framework writes the answer. Every refusal is
a ``runstate.APIError``, answered with ``err.http_status`` and ``err.to_api_error()``.

Endpoints under ``/v1`` (all need ``OpenAI-Beta: assistants=v2``, as the real API's):

=======================================================  ==================================
``POST /assistants``, ``GET`` (list)                     create, list assistants
``GET /assistants/{id}``, ``POST``, ``DELETE``            retrieve, modify, delete
``POST /threads``                                         create (with messages)
``GET /threads/{id}``, ``POST``, ``DELETE``               retrieve, modify, delete
``POST /threads/{t}/messages``, ``GET`` (list)            create, list messages
``GET /threads/{t}/messages/{m}``, ``POST``, ``DELETE``   retrieve, modify, delete
``POST /threads/runs``                                    create thread and run
``POST /threads/{thread_id}/runs``, ``GET`` (list)        create run, list runs
``GET /threads/{t}/runs/{r}``, ``POST`` (modify)          retrieve, modify (metadata)
``POST /threads/{t}/runs/{r}/cancel``                     cancel
``POST /threads/{t}/runs/{r}/submit_tool_outputs``        submit tool outputs
``GET /threads/{t}/runs/{r}/steps``, ``.../steps/{s}``    list, retrieve run steps
``POST /threads/{t}/runs/{r}/advance``                    the worker's hook (tests)
=======================================================  ==================================

Every change goes through ``runstate.advance``: a run, its steps and the messages they
write move together, as the library's tables say.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import anyio
import responses_app  # /v1/responses (it imports this module: import the module, not names)
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from store import Decide, Life, Store, Thread, Unavailable, clock, new_id
from sweeper import Sweeper
from tool_calls import next_calls, next_functions

import runstate as rs

log = logging.getLogger("runstate.server")

#: What ``/advance`` accepts as ``to``: each status the service moves a run into on its
#: own (runstate's operations table), with the operation that does it.
WORKER_MOVES = {
    row.target.value: row.name
    for row in rs.OPERATIONS.values()
    if row.acts_on == "run" and row.by == "service" and row.target is not None
}
#: What ``/advance`` accepts as ``step``: runstate.advance's step operations.
STEP_OPERATIONS = tuple(row.name for row in rs.OPERATIONS.values() if row.acts_on == "step")
#: Usage reported by the worker when a step gives none.
NO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
#: What the --auto worker's messages say.
AUTO_TEXT = "This is a scripted answer from the example server."


@dataclass
class Settings:
    """How the server behaves (``serve.py`` sets these from its options)."""

    #: The model of an ``asst_`` id that names no stored assistant (see the README).
    default_model: str = "gpt-4o"
    #: Seconds from creation to ``expires_at`` (600 on the real API).
    expires_in: int = rs.DEFAULT_EXPIRES_IN
    #: ``openai-poll-after-ms`` sent with runs: how soon the SDK's pollers ask again.
    poll_after_ms: int = 200
    #: Run the scripted background worker.
    auto: bool = False
    #: Seconds between the worker's sweeps (each moves every run one step).
    auto_delay: float = 0.2
    #: How often the streams' poller looks for changes of the runs being streamed.
    stream_poll: float = 0.05
    #: How many streams may be open at once; past it, a streaming request is refused
    #: with this server's own 503 (see :class:`Streams`).
    max_streams: int = 100
    #: Write cProfile stats of the request handlers here at shutdown (benchmarks).
    profile: str | None = None
    #: The largest request body read; a larger one is refused with this server's own 413
    #: (see :func:`read_body`) without being read into memory.
    max_body_bytes: int = 8 * 1024 * 1024
    #: Execute runs on a Chat Completions backend (``model_worker.ModelSettings``)
    #: instead of the scripted worker; None: no model worker.
    model: Any = None
    #: The submit handler's hook: the usage of the open ``tool_calls`` step's call (set
    #: with ``model``; see ``model_worker.tool_step_usage``).
    tool_step_usage: Callable[[Life], Any] | None = None
    #: Called with each new run and its request, in the transaction that inserts the run
    #: (the model worker keeps ``additional_instructions``, which the run does not hold).
    keep_request: Callable[[rs.Run, Any], None] | None = None
    #: Called after a change that gives the worker something to do (a run created,
    #: cancelled or given its tool outputs), so that it need not wait for its next look.
    wake_worker: Callable[[], None] | None = None


@dataclass
class Call:
    """What a handler needs from the request, read on the event loop."""

    path: dict[str, str]
    query: dict[str, list[str]]
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# Answers


def run_response(run: rs.Run, settings: Settings) -> Response:
    return Response(
        rs.toolkit.run_json(run),
        media_type="application/json",
        headers={"openai-poll-after-ms": str(settings.poll_after_ms)},
    )


def message_response(message: rs.models.Message) -> Response:
    return JSONResponse(rs.steps.dump_message(message))


def deleted(object_id: str, kind: str) -> dict[str, Any]:
    """The API's answer to a delete: ``{"id", "object": "<kind>", "deleted": true}``."""
    return {"id": object_id, "object": kind, "deleted": True}


def new_messages(given: Any, thread_id: str) -> Callable[[int], list[rs.models.Message]]:
    """The messages of a create-thread request (or a run's ``additional_messages``), each
    read by ``parse_create_message`` (the request was checked whole already), made at
    ``now``."""
    requests = [rs.parse_create_message(m) for m in given]
    ids = [new_id("msg") for _ in requests]

    def make(now: int) -> list[rs.models.Message]:
        return [
            r.new_message(id=i, thread_id=thread_id, now=now)
            for r, i in zip(requests, ids, strict=True)
        ]

    return make


def refusal(err: rs.APIError) -> Response:
    # error_json, not JSONResponse: the body never holds a raw lone surrogate.
    return Response(
        rs.toolkit.error_json(err), status_code=err.http_status, media_type="application/json"
    )


def server_error() -> JSONResponse:
    """The answer to anything unexpected, a storage fault included (the database away,
    a lost connection): nothing was written (every change is one transaction)."""
    body = {
        "message": "The server had an error while processing your request.",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    return JSONResponse({"error": body}, status_code=500)


def database_unavailable() -> JSONResponse:
    """This server's answer while its database is away (restarting, unreachable): a 503
    in the API's error shape, which the SDK retries. The request was not applied (unless
    the database went away between its ``COMMIT`` and the answer)."""
    body = {
        "message": "The example server's database is unavailable; try again shortly.",
        "type": "server_error",
        "param": None,
        "code": "database_unavailable",
    }
    return JSONResponse({"error": body}, status_code=503, headers={"retry-after": "1"})


class BodyTooLarge(Exception):
    """The request's body is longer than ``--max-body-bytes``."""


def body_too_large(limit: int) -> JSONResponse:
    """This server's own 413 past ``--max-body-bytes`` (not a text of the API's, which
    has its own limits): the API's error shape, with the server's words."""
    body = {
        "message": f"The example server reads request bodies of at most {limit} bytes "
        "(its --max-body-bytes); this one is larger.",
        "type": "invalid_request_error",
        "param": None,
        "code": "request_too_large",
    }
    return JSONResponse({"error": body}, status_code=413)


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, at most ``limit`` bytes of it.

    A ``Content-Length`` over the limit is refused before a byte is read; a body without
    one (chunked) is counted as its chunks arrive and refused at the first byte past the
    limit, so no more than ``limit`` bytes (and a chunk) is ever held. The rest of a
    refused body is left to uvicorn, which discards it.

    Raises:
        BodyTooLarge: the body is, or announces that it is, longer than ``limit``.
    """
    length = request.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def worker_refusal(err: rs.TransitionError | rs.StepTransitionError) -> JSONResponse:
    """A worker move the run or step table forbids. Not an API answer (the API has no
    such endpoint): this server's own 409, with runstate's message and reason."""
    body = {"message": str(err), "type": "transition_error", "param": None, "code": err.reason}
    return JSONResponse({"error": body}, status_code=409)


def bad_value(exc: rs.InvalidRun | rs.InvalidArgument) -> JSONResponse:
    """Run data runstate refuses in a worker step (malformed tool calls, usage...)."""
    param = exc.errors[0].field if isinstance(exc, rs.InvalidRun) and exc.errors else None
    body = {"message": str(exc), "type": "invalid_request_error", "param": param, "code": None}
    return JSONResponse({"error": body}, status_code=400)


def read_object(raw: bytes) -> dict[str, Any]:
    """A JSON object body (for ``/advance``, which runstate does not model); empty is ``{}``.

    Read by runstate's JSON front end, as every other body: anything else is refused
    with the API's malformed-JSON 400.
    """
    return rs.toolkit.parse_json_body(raw) if raw.strip() else {}


def invalid_type(name: str, expected: str, value: object) -> rs.InvalidRequest:
    # The API's type words (spec-facts §10.1), as the toolkit's parsers use them.
    words = {list: "an array", dict: "an object", str: "a string", bool: "a boolean"}
    words.update({int: "an integer", float: "a number", type(None): "null"})
    got = words.get(type(value), "a number")
    return rs.InvalidRequest(
        f"Invalid type for '{name}': expected {expected}, but got {got} instead.",
        param=name,
        code="invalid_type",
    )


# --------------------------------------------------------------------------------------
# Steps and messages


def op(operation: rs.Op, **arguments: Any) -> Decide:
    """A change that applies one ``runstate.advance`` operation to a run and its steps."""

    def decide(life: Life, now: int) -> Life:
        run, steps, messages = life.run, life.steps, life.messages
        return rs.advance(run, steps, operation, now=now, messages=messages, **arguments)

    return decide


def open_step(life: Life, kind: str) -> rs.RunStep | None:
    """The latest open step of type ``kind``."""
    for step in reversed(life.steps):
        if step.type == kind and step.status is rs.StepStatus.IN_PROGRESS:
            return step
    return None


def life_events(before: Life | None, after: Life) -> list[tuple[str, str]]:
    """The stream events of one change: the run's, its steps' and its messages'.

    ``runstate.stream_events`` places them as the API does and adds the deltas the SDK's
    ``AssistantEventHandler`` reads (``on_tool_call_created``, ``on_text_delta``...): the
    calls put on a step and the text written into a message.
    """
    return rs.stream_events(before, after)


# --------------------------------------------------------------------------------------
# Streams


class TooManyStreams(Exception):
    """Every stream slot is taken (or the server is shutting down)."""


def too_many_streams(limit: int) -> JSONResponse:
    """This server's own answer past ``--max-streams`` (the API has no such limit to
    copy): a 503 in the API's error shape, retried by the SDK like any 5xx."""
    body = {
        "message": f"The example server has {limit} streams open (its --max-streams); "
        "try again when one ends.",
        "type": "server_busy",
        "param": None,
        "code": "too_many_streams",
    }
    return JSONResponse({"error": body}, status_code=503, headers={"retry-after": "1"})


@dataclass(eq=False)
class Watch:
    """One open stream's run: the version it has sent, and how it is woken."""

    thread_id: str
    run_id: str
    expires_at: int | None
    version: int
    changed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(eq=False)
class Slot:
    """A reserved stream slot; released once, by whoever holds it last."""

    streams: Streams
    kept: bool = False
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.streams._release()


class Streams:
    """The open streams of one process: counted, woken by one poller, ended on shutdown.

    A stream costs no thread while it waits: it waits on an event. One poller task (alive
    while any stream waits) reads the versions of every streamed run in one query each
    ``stream_poll`` seconds, on the thread pool, and wakes the streams whose run moved
    (whichever process moved it), expiring runs that are due first. A stream whose client
    goes away is cancelled (:class:`EventStream`); at most ``limit`` are open at once.
    """

    def __init__(self, store: Store, poll: float, limit: int) -> None:
        self.store = store
        self.poll = poll
        self.limit = limit
        self.draining = False
        self._lock = threading.Lock()
        self._open = 0
        self._watches: set[Watch] = set()
        self._poller: asyncio.Task[None] | None = None

    @contextmanager
    def opening(self, stream: bool) -> Iterator[Slot | None]:
        """A slot for a streaming request, taken before it changes anything.

        Raises:
            TooManyStreams: all ``limit`` slots are taken, or the server is draining.
        """
        if not stream:
            yield None
            return
        with self._lock:
            if self.draining or self._open >= self.limit:
                raise TooManyStreams
            self._open += 1
        slot = Slot(self)
        try:
            yield slot
        finally:
            if not slot.kept:
                slot.release()

    def _release(self) -> None:
        with self._lock:
            self._open -= 1

    def drain(self) -> None:
        """Shutting down: refuse new streams and end the open ones (from the loop)."""
        self.draining = True
        for watch in self._watches:
            watch.changed.set()

    @contextmanager
    def watching(self, run: rs.Run, version: int) -> Iterator[Watch]:
        watch = Watch(run.thread_id, run.id, run.expires_at, version)
        self._watches.add(watch)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())
        try:
            yield watch
        finally:
            self._watches.discard(watch)

    async def wait(self, watch: Watch) -> bool:
        """Wait until the run moves past ``watch.version``; False when draining."""
        await watch.changed.wait()
        watch.changed.clear()
        return not self.draining

    async def _poll(self) -> None:
        failing = False
        while self._watches and not self.draining:
            await anyio.sleep(self.poll)
            watches = list(self._watches)
            try:
                versions = await run_in_threadpool(self._versions, watches)
            except Exception:
                # The database is away; the streams wait (their clients may leave).
                if not failing:
                    log.exception("stream poll failed (retrying every %s s)", self.poll)
                failing = True
                continue
            failing = False
            for watch in watches:
                if versions.get(watch.run_id, 0) > watch.version:
                    watch.changed.set()

    def _versions(self, watches: list[Watch]) -> dict[str, int]:
        now = clock()
        with self.store.session():
            for watch in watches:
                if watch.expires_at is not None and now >= watch.expires_at:
                    self.store.get_run(watch.thread_id, watch.run_id)  # lazy expiry, stored
            return self.store.versions([w.run_id for w in watches])


class EventStream(StreamingResponse):
    """A ``text/event-stream`` answer that ends when its client disconnects (always
    listening for it, whatever ASGI version the server speaks) and gives its slot back."""

    def __init__(self, events: AsyncIterator[bytes], slot: Slot) -> None:
        super().__init__(events, media_type="text/event-stream")
        self.events = events
        self.slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    with suppress(OSError):  # the client left while we wrote
                        await self.stream_response(send)
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                await self.listen_for_disconnect(receive)
                group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self.events.aclose()  # type: ignore[attr-defined]
            self.slot.release()


# --------------------------------------------------------------------------------------
# The application


class RunsAPI:
    """The endpoints, over one :class:`Store`."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.streams = Streams(store, settings.stream_poll, settings.max_streams)

    # -- assistants and threads ---------------------------------------------------------

    def create_assistant(self, call: Call) -> Response:
        # Read whole (every field of CreateAssistantRequest) before anything is stored.
        request = rs.toolkit.parse_create_assistant(call.body or b"{}")
        assistant = {
            "id": new_id("asst"),
            "object": "assistant",
            "created_at": clock(),
            "name": request.name,
            "description": request.description,
            "model": request.model,
            "instructions": request.instructions,
            "tools": [dict(t) for t in request.tools or ()],
            "tool_resources": request.tool_resources or {},
            "metadata": dict(request.metadata or {}),
            "temperature": 1.0 if request.temperature is None else request.temperature,
            "top_p": 1.0 if request.top_p is None else request.top_p,
            "response_format": request.response_format or "auto",
        }
        if request.reasoning_effort is not None:
            assistant["reasoning_effort"] = request.reasoning_effort
        self.store.create_assistant_listed(assistant)
        return JSONResponse(assistant)

    def retrieve_assistant(self, call: Call) -> Response:
        assistant_id = call.path["assistant_id"]
        rs.toolkit.validate_id("assistant_id", assistant_id)
        assistant = self.store.get_assistant(assistant_id)
        if assistant is None:
            raise rs.not_found("assistant", assistant_id)
        return JSONResponse(assistant)

    def _thread(self, request: rs.toolkit.CreateThread) -> Thread:
        """A new thread from a create-thread request (or thread-and-run's ``thread``)."""
        thread_id = new_id("thread")
        now = clock()
        body = {
            "id": thread_id,
            "object": "thread",
            "created_at": now,
            "metadata": dict(request.metadata or {}),
            "tool_resources": request.tool_resources or {},
        }
        return Thread(thread_id, now, request.has_user_message, body)

    def create_thread(self, call: Call) -> Response:
        request = rs.toolkit.parse_create_thread(call.body or b"{}")
        thread = self._thread(request)
        messages = new_messages(request.messages, thread.id)(thread.created_at)
        self.store.create_thread_with(thread, messages)
        return JSONResponse(thread.body)

    def retrieve_thread(self, call: Call) -> Response:
        return JSONResponse(self._find_thread(call.path["thread_id"]).body)

    def _find_thread(self, thread_id: str) -> Thread:
        rs.toolkit.validate_id("thread_id", thread_id)
        thread = self.store.get_thread(thread_id)
        if thread is None:
            raise rs.not_found("thread", thread_id)
        return thread

    # -- the Assistants surface: assistants, threads and messages (issue 19) ------------

    def list_assistants(self, call: Call) -> Response:
        query = rs.parse_list_runs(call.query)
        return JSONResponse(rs.list_page(self.store.list_assistants(), query))

    def modify_assistant(self, call: Call) -> Response:
        assistant_id = call.path["assistant_id"]
        rs.toolkit.validate_id("assistant_id", assistant_id)
        request = rs.parse_modify_assistant(call.body or b"{}")
        assistant = self.store.update_assistant(assistant_id, request.apply)
        if assistant is None:
            raise rs.not_found("assistant", assistant_id)
        return JSONResponse(assistant)

    def delete_assistant(self, call: Call) -> Response:
        assistant_id = call.path["assistant_id"]
        rs.toolkit.validate_id("assistant_id", assistant_id)
        if not self.store.delete_assistant(assistant_id):
            raise rs.not_found("assistant", assistant_id)
        return JSONResponse(deleted(assistant_id, "assistant.deleted"))

    def modify_thread(self, call: Call) -> Response:
        thread_id = call.path["thread_id"]
        rs.toolkit.validate_id("thread_id", thread_id)
        request = rs.parse_modify_thread(call.body or b"{}")
        thread = self.store.update_thread(thread_id, request.apply)
        if thread is None:
            raise rs.not_found("thread", thread_id)
        return JSONResponse(thread)

    def delete_thread(self, call: Call) -> Response:
        thread_id = call.path["thread_id"]
        rs.toolkit.validate_id("thread_id", thread_id)
        if not self.store.delete_thread(thread_id):
            raise rs.not_found("thread", thread_id)
        return JSONResponse(deleted(thread_id, "thread.deleted"))

    def create_message(self, call: Call) -> Response:
        thread = self._find_thread(call.path["thread_id"])
        request = rs.parse_create_message(call.body)
        message_id = new_id("msg")

        def make(now: int) -> rs.models.Message:
            return request.new_message(id=message_id, thread_id=thread.id, now=now)

        return message_response(self.store.add_message(thread.id, make))

    def list_messages(self, call: Call) -> Response:
        thread = self._find_thread(call.path["thread_id"])
        query = rs.parse_list_messages(call.query)
        messages = self.store.thread_messages(thread.id, query.run_id)
        return JSONResponse(rs.list_page(messages, query.page))

    def _message_ids(self, call: Call) -> tuple[str, str]:
        thread = self._find_thread(call.path["thread_id"])
        message_id = call.path["message_id"]
        rs.toolkit.validate_id("message_id", message_id)
        return thread.id, message_id

    def retrieve_message(self, call: Call) -> Response:
        thread_id, message_id = self._message_ids(call)
        message = self.store.get_message(thread_id, message_id)
        if message is None:
            raise rs.not_found("message", message_id)
        return message_response(message)

    def modify_message(self, call: Call) -> Response:
        thread_id, message_id = self._message_ids(call)
        request = rs.parse_modify_message(call.body or b"{}")
        message = self.store.update_message(thread_id, message_id, request.apply)
        if message is None:
            raise rs.not_found("message", message_id)
        return message_response(message)

    def delete_message(self, call: Call) -> Response:
        thread_id, message_id = self._message_ids(call)
        message = self.store.delete_message(thread_id, message_id)
        if message is None:
            raise rs.not_found("message", message_id)
        return JSONResponse(deleted(message_id, "thread.message.deleted"))

    # -- runs ---------------------------------------------------------------------------

    def _new_run(self, request: rs.toolkit.CreateRun, thread: Thread) -> Callable[[int], rs.Run]:
        assistant = self.store.get_assistant(request.assistant_id) or {
            "model": self.settings.default_model,
            "instructions": None,
            "tools": [],
        }
        run_id = new_id("run")

        kept = self.settings.keep_request

        def make(now: int) -> rs.Run:
            run = request.new_run(
                id=run_id,
                thread_id=thread.id,
                now=now,
                assistant_model=assistant["model"],
                assistant_instructions=assistant["instructions"],
                assistant_tools=assistant["tools"],
                thread_has_user_message=thread.has_user_message,
                expires_in=self.settings.expires_in,
            )
            if kept is not None:
                kept(run, request)  # in the run's own transaction
            return run

        return make

    def create_run(self, call: Call) -> Response:
        thread = self._find_thread(call.path["thread_id"])
        request = rs.parse_create_run(call.body, include=call.query.get("include[]"))
        added = new_messages(request.additional_messages or (), thread.id)
        with self.streams.opening(request.stream) as slot:
            run = self.store.create_run(
                thread.id, self._new_run(request, thread), new_messages=added
            )
            self._wake()
            if slot is not None:
                return self._stream(None, Life(run=run), 1, slot)
        return run_response(run, self.settings)

    def create_thread_and_run(self, call: Call) -> Response:
        request = rs.parse_create_thread_and_run(call.body)
        # The thread was read with the request (its params named ``thread.…``).
        thread = self._thread(rs.toolkit.parse_create_thread(request.thread or {}))
        make = self._new_run(request, thread)
        # The thread's messages count for "a thread with a user message"
        # (CreateRun.new_run reads them from the request itself).
        first = rs.toolkit.parse_create_thread(request.thread or {}).messages
        with self.streams.opening(request.stream) as slot:
            run = self.store.create_run(
                thread.id, make, new_thread=thread, new_messages=new_messages(first, thread.id)
            )
            self._wake()
            if slot is not None:
                return self._stream(None, Life(run=run), 1, slot)
        return run_response(run, self.settings)

    def list_runs(self, call: Call) -> Response:
        thread = self._find_thread(call.path["thread_id"])
        query = rs.parse_list_runs(call.query)
        return JSONResponse(rs.list_page(self.store.thread_runs(thread.id), query))

    def _ids(self, call: Call) -> tuple[str, str]:
        thread_id, run_id = call.path["thread_id"], call.path["run_id"]
        rs.toolkit.validate_id("thread_id", thread_id)
        rs.toolkit.validate_id("run_id", run_id)
        return thread_id, run_id

    def retrieve_run(self, call: Call) -> Response:
        thread_id, run_id = self._ids(call)
        run = self.store.get_run(thread_id, run_id)
        if run is None:
            raise rs.not_found("run", run_id)
        return run_response(run, self.settings)

    def modify_run(self, call: Call) -> Response:
        thread_id, run_id = self._ids(call)
        request = rs.parse_modify_run(call.body or b"{}")
        life = self.store.change(
            thread_id,
            run_id,
            lambda life, now: Life(
                run=request.apply(life.run), steps=life.steps, messages=life.messages
            ),
        )
        return run_response(life.run, self.settings)

    def cancel_run(self, call: Call) -> Response:
        thread_id, run_id = self._ids(call)
        life = self.store.change(thread_id, run_id, op(rs.Op.CANCEL))
        self._wake()
        return run_response(life.run, self.settings)

    def _wake(self) -> None:
        if self.settings.wake_worker is not None:
            self.settings.wake_worker()

    def submit_tool_outputs(self, call: Call) -> Response:
        thread_id, run_id = self._ids(call)
        request = rs.parse_submit_tool_outputs(call.body)
        before: list[Life] = []
        step_usage = self.settings.tool_step_usage

        def decide(life: Life, now: int) -> Life:
            before[:] = [life]
            usage = step_usage(life) if step_usage is not None else None
            submit = op(rs.Op.SUBMIT_TOOL_OUTPUTS, tool_outputs=request.tool_outputs, usage=usage)
            return submit(life, now)

        with self.streams.opening(request.stream) as slot:
            life, version = self.store.change_versioned(thread_id, run_id, decide)
            self._wake()
            if slot is not None:
                return self._stream(before[0], life, version, slot)
        return run_response(life.run, self.settings)

    # -- steps --------------------------------------------------------------------------

    def _life(self, call: Call) -> Life:
        thread_id, run_id = self._ids(call)
        life = self.store.get_life(thread_id, run_id)
        if life is None:
            raise rs.not_found("run", run_id)
        return life

    def list_steps(self, call: Call) -> Response:
        life = self._life(call)
        query = rs.parse_list_runs(call.query)
        return JSONResponse(rs.list_page(life.steps, query))

    def retrieve_step(self, call: Call) -> Response:
        step_id = call.path["step_id"]
        rs.toolkit.validate_id("step_id", step_id)
        for step in self._life(call).steps:
            if step.id == step_id:
                return JSONResponse(rs.steps.dump_step(step))
        raise rs.not_found("run step", step_id)

    def advance(self, call: Call) -> Response:
        """The worker's hook: ``{"to": "<status>", ...}`` moves the run one status on;
        ``{"step": "<operation>", ...}`` opens or finishes a step (see the README).

        Either answers the run; a step operation also names the step it touched in the
        ``openai-step-id`` header."""
        thread_id, run_id = self._ids(call)
        obj = read_object(call.body)
        if "step" in obj and "to" in obj:
            raise rs.InvalidRequest("Give 'to' or 'step', not both.", param="step")
        choices_of: tuple[str, ...]
        if "step" in obj:
            name, choices_of = obj["step"], STEP_OPERATIONS
            if name in STEP_OPERATIONS:
                decide, touched = step_operation(rs.Op(name), obj)
                life = self.store.change(thread_id, run_id, decide)
                response = run_response(life.run, self.settings)
                response.headers["openai-step-id"] = touched[0]
                return response
            param = "step"
        else:
            name, choices_of, param = obj.get("to"), tuple(WORKER_MOVES), "to"
            if isinstance(name, str) and name in WORKER_MOVES:
                life = self.store.change(thread_id, run_id, worker_step(name, obj))
                return run_response(life.run, self.settings)
        choices = ", ".join(f"'{t}'" for t in choices_of)
        raise rs.InvalidRequest(
            f"Invalid value: {json.dumps(name)}. Supported values are: {choices}.",
            param=param,
            code="invalid_value",
        )

    # -- streams ------------------------------------------------------------------------

    def _stream(self, before: Life | None, life: Life, version: int, slot: Slot) -> Response:
        slot.kept = True
        return EventStream(self._events(before, life, version), slot)

    async def _events(self, before: Life | None, life: Life, version: int) -> AsyncIterator[bytes]:
        """This change's events, then every later change of the run until it stops.

        Later changes are read from the run's history (run, steps and messages at each
        version), so the stream announces each status the run went through and each
        step and message it opened and ended, whichever process (or worker) made the
        change. It ends at ``requires_action`` or at the end of the run, expiry included
        (the poller expires the run when it is due), or when the server shuts down.
        """
        yield rs.encode_sse(life_events(before, life))
        last = life
        if last.run.status in rs.STREAM_END_STATUSES:
            return
        with self.streams.watching(last.run, version) as watch:
            while last.run.status not in rs.STREAM_END_STATUSES:
                if not await self.streams.wait(watch):
                    return  # shutting down
                try:
                    later_versions = await run_in_threadpool(
                        self.store.in_session, self.store.history, last.run.id, version
                    )
                except Exception:
                    # The database is away: the poller wakes this stream again.
                    log.exception("stream read failed")
                    continue
                for v, later in later_versions:
                    yield rs.encode_sse(life_events(last, later))
                    last, version = later, v
                watch.version = version


def worker_step(target: str, obj: Mapping[str, Any]) -> Decide:
    """The operation that moves a run to ``target`` (with its steps), with the payload.

    ``requires_action`` puts the calls on the open ``tool_calls`` step, or opens one.
    The run's end ends its open steps and messages (``RUN_END_EFFECTS``)."""
    operation = WORKER_MOVES[target]
    arguments: dict[str, Any] = {}
    if "usage" in rs.OPERATIONS[operation].optional:
        arguments["usage"] = obj.get("usage")
    if operation is rs.Op.REQUIRE_ACTION:
        arguments.update(tool_calls=obj.get("tool_calls") or [], step_id=new_id("step"))
    elif operation is rs.Op.FAIL:
        error = obj.get("error") or {"code": "server_error", "message": "Something went wrong."}
        arguments["error"] = error
    elif operation is rs.Op.MARK_INCOMPLETE:
        arguments["reason"] = obj.get("reason") or "max_completion_tokens"
    elif operation is rs.Op.EXPIRE:
        # The hook plays time forward to the run's deadline, as waiting would.
        def expire(life: Life, now: int) -> Life:
            return op(operation, **arguments)(life, max(now, life.run.expires_at or now))

        return expire
    return op(operation, **arguments)


def step_operation(name: rs.Op, obj: Mapping[str, Any]) -> tuple[Decide, list[str]]:
    """The ``{"step": name, ...}`` form of the hook: one of runstate.advance's step
    operations, with ids made up when not given; and (filled in once decided) the id of
    the step it touches."""
    step_id = obj.get("step_id")
    if step_id is not None and not isinstance(step_id, str):
        raise invalid_type("step_id", "a string", step_id)
    usage = obj.get("usage")
    if name == rs.Op.OPEN_MESSAGE_STEP:
        step_id = step_id or new_id("step")
        message_id = obj.get("message_id") or new_id("msg")
        return op(rs.Op.OPEN_MESSAGE_STEP, step_id=step_id, message_id=message_id), [step_id]
    if name == rs.Op.OPEN_TOOL_CALLS_STEP:
        step_id = step_id or new_id("step")
        calls = obj.get("tool_calls") or []
        return op(rs.Op.OPEN_TOOL_CALLS_STEP, step_id=step_id, tool_calls=calls), [step_id]
    kind = "message_creation" if name == rs.Op.FINISH_MESSAGE_STEP else "tool_calls"
    given = step_id
    touched = [given or ""]
    text = obj.get("text")
    if text is not None and not isinstance(text, str):
        raise invalid_type("text", "a string", text)

    def finish(life: Life, now: int) -> Life:
        target = given
        if target is None:
            found = open_step(life, kind)
            if found is None:
                raise rs.InvalidArgument("step_id", f"no {kind} step is open")
            target = found.id
        touched[0] = target
        if name == rs.Op.COMPLETE_TOOL_CALLS_STEP:
            return op(name, step_id=target, usage=usage)(life, now)
        reason = obj.get("incomplete_reason")
        finish = op(name, step_id=target, usage=usage, incomplete_reason=reason, text=text)
        return finish(life, now)

    return finish, touched


# --------------------------------------------------------------------------------------
# The scripted worker (--auto)


def auto_step(life: Life, now: int) -> Life:
    """One step of a run's scripted life, as the real service's streams show it
    (spec-facts §11): start; while the run has functions to call (``tool_calls.next_calls``:
    every function it offers, or as ``tool_choice`` says, one per round when
    ``parallel_tool_calls`` is false), open a ``tool_calls`` step, then put the round's
    calls on it (``requires_action``; the step completes, with the outputs, on
    submission); then open a ``message_creation`` step with its message, write the
    message and complete both; then complete the run. A cancelling run is cancelled."""
    run = life.run
    status = run.status
    if status is rs.RunStatus.QUEUED:
        return op(rs.Op.START)(life, now)
    if status is rs.RunStatus.CANCELLING:
        return op(rs.Op.FINISH_CANCEL, usage=NO_USAGE)(life, now)
    if status is not rs.RunStatus.IN_PROGRESS:
        return life
    last = life.steps[-1] if life.steps else None
    open_calls = (
        last is not None and last.type == "tool_calls" and last.status is rs.StepStatus.IN_PROGRESS
    )
    if last is None or last.type == "tool_calls":
        if next_functions(life):
            if not open_calls:
                return op(rs.Op.OPEN_TOOL_CALLS_STEP, step_id=new_id("step"))(life, now)
            return op(rs.Op.REQUIRE_ACTION, tool_calls=next_calls(life))(life, now)
        return op(rs.Op.OPEN_MESSAGE_STEP, step_id=new_id("step"), message_id=new_id("msg"))(
            life, now
        )
    if last.status is rs.StepStatus.IN_PROGRESS:
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        return op(rs.Op.FINISH_MESSAGE_STEP, step_id=last.id, usage=usage, text=AUTO_TEXT)(
            life, now
        )
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    return op(rs.Op.COMPLETE, usage=usage)(life, now)


class AutoWorker(Sweeper):
    """The scripted runs' worker: a :class:`sweeper.Sweeper` (a background thread that backs
    off while its sweeps fail) taking queued, in-progress and cancelling runs one step on
    each sweep."""

    def __init__(self, store: Store, delay: float) -> None:
        self.store = store
        super().__init__(self._runs_step, delay, name="auto worker")

    def _runs_step(self) -> None:
        """Each run waiting for the worker, one step on. A run whose change fails (the
        database away) stays as it was, for the next sweep."""
        with self.store.session():
            for thread_id, run_id in self.store.runs_to_work_on():
                # Another process may have moved it first; the next sweep sees it.
                with suppress(rs.TransitionError, rs.StepTransitionError, rs.APIError):
                    self.store.change(thread_id, run_id, auto_step)


# --------------------------------------------------------------------------------------
# Profiling (for benchmarks/server.py)


class Profiler:
    """cProfile of the request handlers, one profiler per worker thread, merged at exit."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.local = threading.local()
        self.all: list[Any] = []
        self.lock = threading.Lock()

    @contextmanager
    def measure(self) -> Iterator[None]:
        import cProfile  # noqa: PLC0415

        profile = getattr(self.local, "profile", None)
        if profile is None:
            profile = self.local.profile = cProfile.Profile()
            with self.lock:
                self.all.append(profile)
        profile.enable()
        try:
            yield
        finally:
            profile.disable()

    def save(self) -> None:
        import pstats  # noqa: PLC0415

        with self.lock:
            if self.all:
                stats = pstats.Stats(self.all[0])
                for profile in self.all[1:]:
                    stats.add(profile)
                stats.dump_stats(self.path)


# --------------------------------------------------------------------------------------
# Wiring


_RUNS = "/v1/threads/{thread_id}/runs"
_MESSAGES = "/v1/threads/{thread_id}/messages"
_ASSISTANT = "/v1/assistants/{assistant_id}"
#: Every endpoint served: path, method and the ``RunsAPI`` handler's name.
ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("/v1/assistants", "POST", "create_assistant"),
    ("/v1/assistants", "GET", "list_assistants"),
    (_ASSISTANT, "GET", "retrieve_assistant"),
    (_ASSISTANT, "POST", "modify_assistant"),
    (_ASSISTANT, "DELETE", "delete_assistant"),
    ("/v1/threads", "POST", "create_thread"),
    ("/v1/threads/runs", "POST", "create_thread_and_run"),
    ("/v1/threads/{thread_id}", "GET", "retrieve_thread"),
    ("/v1/threads/{thread_id}", "POST", "modify_thread"),
    ("/v1/threads/{thread_id}", "DELETE", "delete_thread"),
    (_MESSAGES, "POST", "create_message"),
    (_MESSAGES, "GET", "list_messages"),
    (_MESSAGES + "/{message_id}", "GET", "retrieve_message"),
    (_MESSAGES + "/{message_id}", "POST", "modify_message"),
    (_MESSAGES + "/{message_id}", "DELETE", "delete_message"),
    (_RUNS, "POST", "create_run"),
    (_RUNS, "GET", "list_runs"),
    (_RUNS + "/{run_id}", "GET", "retrieve_run"),
    (_RUNS + "/{run_id}", "POST", "modify_run"),
    (_RUNS + "/{run_id}/cancel", "POST", "cancel_run"),
    (_RUNS + "/{run_id}/submit_tool_outputs", "POST", "submit_tool_outputs"),
    (_RUNS + "/{run_id}/steps", "GET", "list_steps"),
    (_RUNS + "/{run_id}/steps/{step_id}", "GET", "retrieve_step"),
    (_RUNS + "/{run_id}/advance", "POST", "advance"),
)


def background_worker(store: Store, settings: Settings) -> Any:
    """The runs' worker the settings ask for: the model worker (``settings.model``, which
    also sets the submit handler's usage hook), the scripted one (``auto``), or None."""
    if settings.model is not None:
        import model_worker  # noqa: PLC0415 - only with --model-backend

        settings.tool_step_usage = model_worker.tool_step_usage(store)
        settings.keep_request = model_worker.keep_request(store)
        worker = model_worker.ModelWorker(store, settings.model)
        settings.wake_worker = worker.wake
        return worker
    return AutoWorker(store, settings.auto_delay) if settings.auto else None


def create_app(store: Store, settings: Settings | None = None) -> Starlette:
    """The ASGI application serving ``/v1`` from ``store``."""
    settings = settings or Settings()
    api = RunsAPI(store, settings)

    profiler = Profiler(settings.profile) if settings.profile else None

    def endpoint(handler: Callable[[Call], Response]) -> Callable[[Request], Any]:
        def guarded(call: Call) -> Response:
            if profiler is None:
                return answered(call)
            with profiler.measure():
                return answered(call)

        def answered(call: Call) -> Response:
            try:
                rs.toolkit.validate_beta_header(call.headers.get("openai-beta"))
                with store.session():
                    return handler(call)
            except rs.APIError as err:
                return refusal(err)
            except (rs.TransitionError, rs.StepTransitionError) as err:
                return worker_refusal(err)
            except (rs.InvalidRun, rs.InvalidArgument) as exc:
                return bad_value(exc)
            except TooManyStreams:
                return too_many_streams(settings.max_streams)
            except Unavailable:
                return database_unavailable()  # logged once per outage, by the store
            except Exception:
                log.exception("internal error in %s", handler.__name__)
                return server_error()

        async def asgi(request: Request) -> Response:
            query = {k: request.query_params.getlist(k) for k in request.query_params}
            try:
                body = await read_body(request, settings.max_body_bytes)
            except BodyTooLarge:
                return body_too_large(settings.max_body_bytes)
            except ClientDisconnect:
                # The client left before its body was whole: nothing was read into the
                # store and nobody is left to answer (uvicorn drops this response).
                return Response(status_code=400)
            except asyncio.CancelledError:
                # Shutdown gave up on a body still arriving (--shutdown-timeout): the
                # request ends here, with this server's own 503, not a traceback.
                return Response(status_code=503, headers={"connection": "close"})
            call = Call(dict(request.path_params), query, body, request.headers)
            return await run_in_threadpool(guarded, call)

        return asgi

    routes = [
        Route(path, endpoint(getattr(api, name)), methods=[method])
        for path, method, name in ENDPOINTS
    ]
    routes += (responses := responses_app.ResponsesAPI(store, settings, api.streams)).routes()

    async def no_route(request: Request, exc: Exception) -> Response:
        # The real API's answer to a URL it does not serve.
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        message = f"Invalid URL ({request.method} {request.url.path})"
        body = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
        return JSONResponse({"error": body}, status_code=status)

    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("internal error", exc_info=exc)
        return server_error()

    worker = background_worker(store, settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if worker is not None:
            worker.start()
        yield
        api.streams.drain()
        if worker is not None:
            worker.stop()
        store.close()  # and the pool of connections
        if profiler is not None:
            profiler.save()

    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: no_route, Exception: crashed},
        lifespan=responses.lifespan(lifespan),  # and the responses' --auto worker
    )
    app.state.streams = api.streams  # serve.py drains them first on shutdown
    return app
