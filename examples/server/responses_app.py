"""The Responses API's background mode on the example server: ``/v1/responses``.

The Run's successor, served on the runs' storage (SQLite or PostgreSQL, the same
compare-and-set: ``responses_store.py``), with the runs' worker switch (``--auto``), stream
slots (``--max-streams``) and answers for faults. ``runstate.responses`` decides every
change and every app.refusal; this module reads requests, stores and answers.

=====================================================  ====================================
``POST /v1/responses``                                 create (``background``, ``store``,
                                                       ``stream``)
``GET /v1/responses/{id}``                             retrieve (JSON), or with
                                                       ``?stream=true&starting_after=N``
                                                       the stored events after N, then the
                                                       live ones until the terminal event
``POST /v1/responses/{id}/cancel``                     cancel
``DELETE /v1/responses/{id}``                          delete (refused while in flight)
``GET /v1/responses/{id}/input_items``                 the input items, paged
``POST /v1/responses/{id}/advance``                    the worker's hook (tests)
=====================================================  ====================================

Unlike the Assistants endpoints, these need no ``OpenAI-Beta`` header (the API's do not).
With ``--model-backend`` the responses are executed on a model (``model_responses.py``)
instead of the scripted worker.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import anyio
import app
import model_responses
from responses_store import IN_FLIGHT, TERMINAL_EVENTS, ResponseStore, text
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from store import Store, Unavailable, clock, new_id
from sweeper import Sweeper
from tool_calls import arguments_for

import runstate as rs
from runstate import responses as rr
from runstate._engine import templates as wire

log = logging.getLogger("runstate.server")

#: What the scripted worker's messages say.
AUTO_TEXT = "This is a scripted answer from the example server."
#: What ``/advance`` accepts as ``to``.
TARGETS = ("in_progress", "completed", "failed", "incomplete", "cancelled")
#: Roles a message input item may have.
ROLES = ("user", "assistant", "system", "developer")


def json_answer(value: Any, status: int = 200) -> Response:
    return Response(text(value), status_code=status, media_type="application/json")


def response_answer(response: rr.Response) -> Response:
    return json_answer(rr.dump_response(response))


def sse(kind: str, data: str) -> bytes:
    return f"event: {kind}\ndata: {data}\n\n".encode()


# --------------------------------------------------------------------------------------
# Requests


def previous_not_found(response_id: str) -> rs.InvalidRequest:
    """``previous_response_id`` names no response this server holds. The wording follows
    the API's not-found template; not recorded (inferred)."""
    return rs.InvalidRequest(
        f"Previous response with id '{wire.echo(response_id)}' not found.",
        param="previous_response_id",
        code="previous_response_not_found",
    )


def unanswered_call(call_id: str) -> rs.InvalidRequest:
    """A ``function_call_output`` whose ``call_id`` is no ``function_call`` of the
    context. The API's wire body, quoted whole by third parties [3P: continuedev/continue
    #10092, microsoft/vscode #320060]: 400, param ``input``, code null."""
    return rs.InvalidRequest(
        f"No tool call found for function call output with call_id {wire.echo(call_id)}.",
        param="input",
    )


def check_calls_answered(context: list[dict[str, Any]], given: list[dict[str, Any]]) -> None:
    """Every ``function_call_output`` of the request's input (``given``) answers a
    ``function_call`` of its context (the ``previous_response_id`` chain and the input).

    Raises:
        rs.InvalidRequest: a ``call_id`` that is not a string (inferred template), or one
            no call has (:func:`unanswered_call`).
    """
    calls = {i.get("call_id") for i in context if i.get("type") == "function_call"}
    for i, item in enumerate(given):
        if item.get("type") != "function_call_output":
            continue
        call_id = item.get("call_id")
        if not isinstance(call_id, str):
            raise wire.invalid_type(f"input[{i}].call_id", "a string", call_id)
        if call_id not in calls:
            raise unanswered_call(call_id)


def _text_part(role: str, value: str) -> dict[str, Any]:
    kind = "output_text" if role == "assistant" else "input_text"
    part: dict[str, Any] = {"type": kind, "text": value}
    if kind == "output_text":
        part["annotations"] = []
    return part


def input_items(value: object) -> list[dict[str, Any]]:
    """The request's ``input`` as stored items: a string is one user message; a message
    item's string content becomes one text part; every item gets an id and a status.

    Raises:
        rs.InvalidRequest: not a string or an array of objects; a message without a
            known ``role`` (the §10.1 templates; inferred for this endpoint).
    """
    if value is None:
        return []
    if isinstance(value, str):
        value = [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list):
        raise wire.invalid_type("input", "a string or an array of input items", value)
    items = []
    for i, given in enumerate(value):
        where = f"input[{i}]"
        if not isinstance(given, dict):
            raise wire.invalid_type(where, "an object", given)
        item = dict(given)
        kind = item.setdefault("type", "message")
        if not isinstance(kind, str):
            raise wire.invalid_type(f"{where}.type", "a string", kind)
        if kind == "message":
            role = item.get("role")
            if not isinstance(role, str):
                raise wire.invalid_type(f"{where}.role", "a string", role)
            if role not in ROLES:
                raise wire.invalid_value(f"{where}.role", role, ROLES)
            content = item.get("content")
            if isinstance(content, str):
                item["content"] = [_text_part(role, content)]
            elif not isinstance(content, list):
                raise wire.invalid_type(f"{where}.content", "a string or an array", content)
        prefix = {"message": "msg", "function_call": "fc", "function_call_output": "fc"}
        item.setdefault("id", new_id(prefix.get(kind, "item")))
        item.setdefault("status", "completed")
        items.append(item)
    return items


def echoed(response: rr.Response, params: Mapping[str, Any]) -> rr.Response:
    """``response`` with the request's ``tool_choice``, ``parallel_tool_calls``,
    ``temperature``, ``top_p`` and ``text``, which ``CreateResponse.new_response`` leaves
    at their defaults (the workers read them; the model worker passes them on).

    Raises:
        rs.InvalidRequest: a value of the wrong type (§10.1 templates; inferred here).
    """
    changes: dict[str, Any] = {}
    choice = params.get("tool_choice")
    if choice is not None:
        if isinstance(choice, str):
            if choice not in ("none", "auto", "required"):
                raise wire.invalid_value("tool_choice", choice, ("none", "auto", "required"))
        elif not isinstance(choice, Mapping) or not isinstance(choice.get("type"), str):
            raise wire.invalid_type("tool_choice", "a string or an object", choice)
        changes["tool_choice"] = choice
    parallel = params.get("parallel_tool_calls")
    if parallel is not None:
        if type(parallel) is not bool:
            raise wire.invalid_type("parallel_tool_calls", "a boolean", parallel)
        changes["parallel_tool_calls"] = parallel
    for name in ("temperature", "top_p"):
        number = params.get(name)
        if number is not None:
            if not isinstance(number, int | float) or isinstance(number, bool):
                raise wire.invalid_type(name, "a number", number)
            changes[name] = number
    text_param = params.get("text")
    if text_param is not None:
        form = text_param.get("format") if isinstance(text_param, Mapping) else None
        if not isinstance(text_param, Mapping) or (
            form is not None
            and (not isinstance(form, Mapping) or not isinstance(form.get("type"), str))
        ):
            raise wire.invalid_type("text", "an object with a format object", text_param)
        changes["text"] = {**rr.dump_response(response)["text"], **text_param}
    if not changes:
        return response
    return rr.parse_response({**rr.dump_response(response), **changes})


def visible(response: rr.Response) -> bool:
    """Whether reads find ``response``: stored, and background or ended (§12.3: a
    ``store: false`` response is never found, a synchronous one not while in flight)."""
    return response.store is not False and (
        response.background is True or response.status in rr.TERMINAL
    )


# --------------------------------------------------------------------------------------
# The scripted worker's output


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256(":".join(parts).encode()).digest()[:8], "big")


def planned_functions(response: rr.Response) -> list[Mapping[str, Any]]:
    """The function tools (``{"type": "function", "name", "parameters"...}``) the response
    calls: every one, or as ``tool_choice`` says (``none``: none; a named function: it),
    one only with ``parallel_tool_calls: false``."""
    dumped = rr.dump_response(response)
    functions = [t for t in dumped.get("tools") or () if t.get("type") == "function"]
    choice = dumped.get("tool_choice")
    if choice == "none":
        return []
    if isinstance(choice, Mapping):
        if choice.get("type") != "function":
            return []
        functions = [f for f in functions if f.get("name") == choice.get("name")][:1]
    if dumped.get("parallel_tool_calls") is False:
        functions = functions[:1]
    return functions


def scripted_output(response: rr.Response, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the worker answers: ``function_call`` items when the response has function
    tools and its input does not end with their outputs (§12.4: a response that wants
    tools completes with them; there is no ``requires_action``), else one message."""
    functions = planned_functions(response)
    answered = bool(items) and items[-1].get("type") == "function_call_output"
    if functions and not answered:
        calls = []
        for function in functions:
            seed = _seed(response.id, str(function.get("name")))
            calls.append(
                {
                    "id": f"fc_{seed:024x}",
                    "type": "function_call",
                    "status": "completed",
                    "arguments": arguments_for(function.get("parameters"), seed),
                    "call_id": f"call_{seed:016x}",
                    "name": function.get("name"),
                }
            )
        return calls
    content = [{"type": "output_text", "annotations": [], "logprobs": [], "text": AUTO_TEXT}]
    message_id = f"msg_{_seed(response.id, 'message'):024x}"
    return [
        {
            "id": message_id,
            "type": "message",
            "status": "completed",
            "content": content,
            "role": "assistant",
        }
    ]


def usage(items: list[dict[str, Any]], output: list[dict[str, Any]]) -> dict[str, Any]:
    """Token counts as words (a scripted model has no tokenizer); the SDK's shape."""
    return model_responses.response_usage(len(text(items).split()), len(text(output).split()))


def auto_step(response: rr.Response, items: list[dict[str, Any]], now: int) -> rr.Response:
    """One step of a response's scripted life: ``queued`` -> ``in_progress`` -> ``completed``
    (with :func:`scripted_output`). An ended response is left as it is."""
    if response.status is rr.ResponseStatus.QUEUED:
        return rr.start(response, now=now)
    if response.status is rr.ResponseStatus.IN_PROGRESS:
        output = scripted_output(response, items)
        return rr.complete(response, output=output, usage=usage(items, output), now=now)
    return response


def worker_step(target: str, obj: Mapping[str, Any]) -> Callable[..., rr.Response]:
    """The ``/advance`` hook's move to ``target``, with the body's payload."""

    def decide(response: rr.Response, items: list[dict[str, Any]], now: int) -> rr.Response:
        if target == "in_progress":
            return rr.start(response, now=now)
        if target == "cancelled":
            return rr.cancel(response, now=now)
        output = obj.get("output")
        if output is None:
            output = scripted_output(response, items) if target == "completed" else []
        used = obj.get("usage") or usage(items, output)
        if target == "completed":
            return rr.complete(response, output=output, usage=used, now=now)
        if target == "failed":
            error = obj.get("error") or {"code": "server_error", "message": "Something went wrong."}
            return rr.fail(response, error, now=now)
        reason = obj.get("reason") or "max_output_tokens"
        return rr.mark_incomplete(response, reason, output=output, usage=used, now=now)

    return decide


# --------------------------------------------------------------------------------------
# app.Streams


@dataclass(eq=False)
class Watch:
    """One open stream's response: the events it has sent, and how it is woken."""

    response_id: str
    sent: int
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    #: The response's event count at the poller's last look (None: not looked yet).
    count: int | None = None


class ResponseStreams:
    """The live part of the response streams of one process: one poller task (alive
    while a stream waits) reads how many events each watched response has, in one query
    each ``poll`` seconds, and wakes the streams that have more, whichever process wrote
    them. Stream slots and shutdown are the runs' :class:`app.Streams`."""

    def __init__(self, store: ResponseStore, slots: app.Streams, poll: float) -> None:
        self.store = store
        self.slots = slots
        self.poll = poll
        self._watches: set[Watch] = set()
        self._poller: asyncio.Task[None] | None = None

    def watch(self, response_id: str, sent: int) -> Watch:
        watch = Watch(response_id, sent)
        self._watches.add(watch)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())
        return watch

    def forget(self, watch: Watch) -> None:
        self._watches.discard(watch)

    async def wait(self, watch: Watch) -> bool:
        """Wait until the response has events past ``watch.sent``; False when draining."""
        await watch.changed.wait()
        watch.changed.clear()
        return not self.slots.draining

    async def _poll(self) -> None:
        failing = False
        while self._watches:
            await anyio.sleep(self.poll)
            watches = list(self._watches)
            if self.slots.draining:
                for watch in watches:
                    watch.changed.set()
                continue
            ids = [w.response_id for w in watches]
            try:
                counts = await run_in_threadpool(
                    self.store.store.in_session, self.store.event_counts, ids
                )
            except Exception:
                if not failing:
                    log.exception("response stream poll failed (retrying every %s s)", self.poll)
                failing = True
                continue
            failing = False
            for watch in watches:
                # Any change wakes the stream (even one that is all before its
                # starting_after: the response may have ended there); so does a
                # response deleted (-1), and the stream then ends.
                count = counts.get(watch.response_id, -1)
                if count != watch.count:
                    watch.count = count
                    watch.changed.set()


# --------------------------------------------------------------------------------------
# The endpoints


class ResponsesAPI:
    """``/v1/responses`` over the runs' store; mounted by ``app.create_app``."""

    def __init__(self, store: Store, settings: app.Settings, slots: app.Streams) -> None:
        self.store = ResponseStore(store)
        self.store.create_schema()
        self.settings = settings
        self.slots = slots
        self.streams = ResponseStreams(self.store, slots, settings.stream_poll)
        #: The model worker (``--model-backend``), which replaces the scripted one.
        self.model = model_responses.worker(self.store, settings)
        scripted = settings.auto and self.model is None
        self.worker = worker(self.store, settings.auto_delay) if scripted else None

    # -- lookups

    def _found(self, call: app.Call) -> rr.Response:
        response_id = call.path["response_id"]
        stored = self.store.get(response_id)
        if stored is None or not visible(stored.response):
            raise rr.not_found(response_id)
        return stored.response

    # -- handlers

    def create(self, call: app.Call) -> Response:
        request = rr.parse_create_response(call.body)
        if request.model is None:
            raise wire.missing_parameter("model")
        params = request.params
        given = items = input_items(params.get("input"))
        previous_id = params.get("previous_response_id")
        if previous_id is not None:
            previous = self.store.get(previous_id)
            if previous is None or not visible(previous.response):
                # As a read (§12.3): store false, or a synchronous one still in flight
                # (its id is known from its stream's first event).
                raise previous_not_found(previous_id)
            output = [dict(i) for i in rr.dump_response(previous.response)["output"]]
            items = [*previous.items, *output, *items]
        check_calls_answered(items, given)
        response_id = new_id("resp")

        def make(now: int) -> rr.Response:
            return echoed(request.new_response(id=response_id, now=now), params)

        model = self.model
        if model is not None and not request.background:
            model.claim(response_id)  # before it exists: no sweep takes it for an orphan
        with self.slots.opening(request.stream) as slot:
            response = self.store.create(make, items, request.stream)
            if model is not None:
                # On the model: a background response is claimed by a worker (this
                # process's at once); a synchronous one is executed here (or, streamed,
                # on the worker's threads while this request streams the stored events).
                if request.background:
                    model.wake()
                elif slot is not None:
                    model.run_soon(response.id)
                else:
                    model.run_here(response.id)
                    stored = self.store.get(response.id)
                    response = stored.response if stored is not None else response
            elif not request.background:
                # Synchronous: the request is its own worker (and so is --auto's, for a
                # request that died); answered once the response ends, never queued.
                while response.status not in rr.TERMINAL:
                    response = self.store.change(response.id, auto_step)
            if slot is not None:
                slot.kept = True
                return app.EventStream(self._events(response.id, -1), slot)
        return response_answer(response)

    def retrieve(self, call: app.Call) -> Response:
        response = self._found(call)
        query = rr.parse_retrieve_query({k: v[-1] for k, v in call.query.items() if v})
        if not query.stream:
            return response_answer(response)
        stored = self.store.get(response.id)
        streamed = stored is not None and stored.streamed
        query.check(response, now=max(clock(), response.created_at), created_with_stream=streamed)
        after = -1 if query.starting_after is None else query.starting_after
        with self.slots.opening(True) as slot:
            assert slot is not None
            slot.kept = True
            return app.EventStream(self._events(response.id, after), slot)

    def cancel(self, call: app.Call) -> Response:
        response_id = call.path["response_id"]
        stored = self.store.get(response_id)
        if stored is None or stored.response.store is False:
            raise rr.not_found(response_id)

        def decide(response: rr.Response, items: Any, now: int) -> rr.Response:
            return rr.cancel(response, now=now)

        cancelled = self.store.change(response_id, decide)
        if self.model is not None:
            self.model.cancelled(response_id)  # abort its backend call, if it runs here
        return response_answer(cancelled)

    def delete(self, call: app.Call) -> Response:
        return json_answer(self.store.delete(call.path["response_id"]))

    def list_input_items(self, call: app.Call) -> Response:
        response = self._found(call)
        query = rs.parse_list_runs({k: v for k, v in call.query.items() if k != "include[]"})
        stored = self.store.get(response.id)
        items = stored.items if stored is not None else []
        return json_answer(rs.list_page(items, query))

    def advance(self, call: app.Call) -> Response:
        """The worker's hook: ``{"to": "<status>", ...}`` moves the response one status on
        (see the README)."""
        obj = app.read_object(call.body)
        target = obj.get("to")
        if target not in TARGETS:
            choices = ", ".join(f"'{t}'" for t in TARGETS)
            raise rs.InvalidRequest(
                f"Invalid value: {json.dumps(target)}. Supported values are: {choices}.",
                param="to",
                code="invalid_value",
            )
        decide = worker_step(target, obj)
        return response_answer(self.store.change(call.path["response_id"], decide))

    # -- streams

    async def _events(self, response_id: str, after: int) -> AsyncIterator[bytes]:
        """The stored events after ``after``, then each new one as it is stored, until
        the terminal event (or the response is deleted, or the server shuts down)."""
        watch = self.streams.watch(response_id, after)
        try:
            while True:
                try:
                    events, status = await run_in_threadpool(
                        self.store.store.in_session, self.store.events, response_id, watch.sent
                    )
                except Exception:
                    log.exception("response stream read failed")
                    events, status = [], "in_progress"  # the poller wakes it again
                for number, kind, data in events:
                    yield sse(kind, data)
                    watch.sent = number
                    if kind in TERMINAL_EVENTS:
                        return
                if status is None or status not in IN_FLIGHT:
                    return  # gone, or ended with every event sent
                if not await self.streams.wait(watch):
                    return  # shutting down
        finally:
            self.streams.forget(watch)

    # -- wiring

    def routes(self) -> list[Route]:
        one = "/v1/responses/{response_id}"
        table = (
            ("/v1/responses", "POST", self.create),
            (one, "GET", self.retrieve),
            (one, "DELETE", self.delete),
            (one + "/cancel", "POST", self.cancel),
            (one + "/input_items", "GET", self.list_input_items),
            (one + "/advance", "POST", self.advance),
        )
        return [Route(path, self._endpoint(h), methods=[m]) for path, m, h in table]

    def _endpoint(self, handler: Callable[[app.Call], Response]) -> Callable[[Request], Any]:
        settings, store = self.settings, self.store.store

        def answered(call: app.Call) -> Response:
            try:
                with store.session():
                    return handler(call)
            except rs.APIError as err:
                return app.refusal(err)
            except rs.TransitionError as err:
                return app.worker_refusal(err)  # type: ignore[arg-type]
            except (rs.InvalidRun, rs.InvalidArgument) as exc:
                return app.bad_value(exc)
            except app.TooManyStreams:
                return app.too_many_streams(settings.max_streams)
            except Unavailable:
                return app.database_unavailable()
            except Exception:
                log.exception("internal error in %s", handler.__name__)
                return app.server_error()

        async def asgi(request: Request) -> Response:
            query = {k: request.query_params.getlist(k) for k in request.query_params}
            try:
                body = await app.read_body(request, settings.max_body_bytes)
            except app.BodyTooLarge:
                return app.body_too_large(settings.max_body_bytes)
            except ClientDisconnect:
                return Response(status_code=400)
            except asyncio.CancelledError:
                return Response(status_code=503, headers={"connection": "close"})
            call = app.Call(dict(request.path_params), query, body, request.headers)
            return await run_in_threadpool(answered, call)

        return asgi

    def lifespan(self, inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``inner`` (the application's lifespan) with this surface's workers around it:
        started first; the scripted one stopped last, the model one before the store
        closes (it fails what it had in hand)."""

        @asynccontextmanager
        async def both(application: Any) -> AsyncIterator[None]:
            for started in (self.worker, self.model):
                if started is not None:
                    started.start()
            try:
                async with inner(application):
                    try:
                        yield
                    finally:
                        if self.model is not None:  # before the store closes
                            await anyio.to_thread.run_sync(self.model.stop)
            finally:
                if self.worker is not None:
                    self.worker.stop()

        return both


# --------------------------------------------------------------------------------------
# The scripted worker (--auto)


def worker(store: ResponseStore, delay: float) -> Sweeper:
    """The scripted responses' worker: a :class:`sweeper.Sweeper` (as the runs' worker,
    ``app.AutoWorker``) taking every response not yet ended one step on each sweep
    (:func:`auto_step`). Processes sharing a database share the work; the compare-and-set
    sorts out who moved a response first, and a cancel that landed first wins (the
    worker's move is refused with ``cancel-won``)."""

    def sweep() -> None:
        with store.store.session():
            for response_id in store.to_work_on():
                # Another process, a cancel or a delete may have come first.
                with suppress(rs.TransitionError, rs.APIError):
                    store.change(response_id, auto_step)

    return Sweeper(sweep, delay, name="responses worker")
