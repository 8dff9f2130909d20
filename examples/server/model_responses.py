"""Responses executed on a model: any OpenAI-compatible Chat Completions backend.

With ``--model-backend URL`` the example server answers ``POST /v1/responses`` with a
model instead of its scripted text. :class:`ResponseWorker` claims queued background
responses (a lease per response, :mod:`leases`, kind ``response``), turns each into one
Chat Completions request (:func:`chat_request`), calls the backend
(:func:`chat_backend.complete`) and reports what it did through ``runstate.responses``,
which decides every change:

=============================================  ===========================================
backend outcome                                response
=============================================  ===========================================
``finish_reason: stop``                        ``completed``, one message
``finish_reason: tool_calls``                  ``completed`` with ``function_call`` items
``finish_reason: length``                      ``incomplete``, reason ``max_output_tokens``
``finish_reason: content_filter``              ``incomplete``, reason ``content_filter``
HTTP 429                                       ``failed``, ``rate_limit_exceeded``
any other error, a timeout, no connection      ``failed``, ``server_error``
=============================================  ===========================================

``usage`` is the backend's (``prompt_tokens`` -> ``input_tokens``, ``completion_tokens``
-> ``output_tokens``); a backend that sends none gets zeros.

Text is written as it arrives (``rr.add_output_text``, at most one store write per
``flush`` seconds per response), so a background stream shows
``response.output_text.delta`` events while the model writes, stored with their numbers
for any process to replay. A cancel (``POST .../cancel``, from any process) is seen
within a sweep (or at the next write, refused with ``cancel-won``) and aborts the backend
call; a cancel that loses the race to the last token is refused by the table
(``Cannot cancel a completed response.``), never both.

Synchronous requests (``background: false``) are executed by the request itself, under a
lease too; with ``stream: true`` the execution runs on the worker's threads while the
request streams its stored events.

The lease rule: a response whose lease lapsed (its worker died or stalled) is ended by
the sweep of any worker: ``failed`` with ``server_error`` if it was ``in_progress`` (its
backend call may have run: it is never executed twice); a ``queued`` one was never
started and is simply claimed again.
"""

from __future__ import annotations

import functools
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import chat_backend
from chat_backend import Aborted, Backend, BackendError, Outcome
from leases import Hand, Held, Leases, new_owner
from responses_store import ResponseStore
from sweeper import Sweeper

import runstate as rs
from runstate import responses as rr

log = logging.getLogger("runstate.server")

#: The lease kind of a response.
KIND = "response"
#: Seconds a lease lasts; renewed every third of it while the response is executed.
LEASE_SECONDS = 30.0
#: Seconds between two store writes of one response's text (a batch of tokens).
FLUSH_SECONDS = 0.05
#: Seconds between the worker's sweeps (claims, cancels, renewals, lapsed leases).
SWEEP_SECONDS = 0.1
#: The message of a response whose worker stopped (its lease lapsed).
LAPSED = "The worker executing this response stopped before it ended."
#: The message of a response in hand when its server shut down.
STOPPED = "The server shut down while executing this response."


# --------------------------------------------------------------------------------------
# The request: a response's context as Chat Completions messages


def _text_of(content: Any) -> str:
    """The text of a message item's content: a string, or its text parts joined."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        if isinstance(part, Mapping):
            value = part.get("text", part.get("refusal"))
            if isinstance(value, str):
                texts.append(value)
    return "".join(texts)


def chat_messages(instructions: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Chat Completions ``messages`` of a response: ``instructions`` as a system
    message, then its context (the ``previous_response_id`` chain's inputs and outputs,
    then its own input). A ``developer`` message is sent as ``system`` (backends other
    than OpenAI's lack the role); ``function_call`` items become the assistant's
    ``tool_calls`` (joined to the assistant message just before them), and each
    ``function_call_output`` a ``tool`` message. Other items (reasoning...) and non-text
    content (images, files) are not sent."""
    messages: list[dict[str, Any]] = []
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    elif isinstance(instructions, list):
        items = [*instructions, *items]
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            role = "system" if role == "developer" else role
            if role in ("system", "user", "assistant"):
                messages.append({"role": role, "content": _text_of(item.get("content"))})
        elif kind == "function_call":
            call = {
                "id": item.get("call_id"),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments", "")},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
                if not last["content"]:
                    last["content"] = None
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else json.dumps(output)
            messages.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": text})
    return messages


def chat_tools(tools: Any) -> list[dict[str, Any]]:
    """The function tools, in Chat Completions' shape (Responses' are flat:
    ``{"type": "function", "name", "parameters"...}``). Other tools (``file_search``,
    ``web_search``, ``code_interpreter``...) are not offered to the model."""
    found = []
    for tool in tools or ():
        if isinstance(tool, Mapping) and tool.get("type") == "function":
            function = {
                k: tool[k] for k in ("name", "description", "parameters", "strict") if k in tool
            }
            if function.get("strict") is None:
                function.pop("strict", None)
            found.append({"type": "function", "function": function})
    return found


def response_format(text: Any) -> dict[str, Any] | None:
    """``text.format`` as Chat Completions' ``response_format`` (None for plain text)."""
    form = text.get("format") if isinstance(text, Mapping) else None
    kind = form.get("type") if isinstance(form, Mapping) else None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        assert isinstance(form, Mapping)
        keys = ("name", "schema", "strict", "description")
        return {"type": "json_schema", "json_schema": {k: form[k] for k in keys if k in form}}
    return None


def chat_request(response: rr.Response, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The Chat Completions body that executes ``response`` (without ``stream``)."""
    dumped = rr.dump_response(response)
    body: dict[str, Any] = {
        "model": response.model,
        "messages": chat_messages(dumped.get("instructions"), items),
    }
    tools = chat_tools(dumped.get("tools"))
    if tools:
        body["tools"] = tools
        choice = dumped.get("tool_choice")
        if isinstance(choice, Mapping):
            if choice.get("type") == "function":
                body["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
        elif choice in ("none", "auto", "required"):
            body["tool_choice"] = choice
        if isinstance(dumped.get("parallel_tool_calls"), bool):
            body["parallel_tool_calls"] = dumped["parallel_tool_calls"]
    for key in ("temperature", "top_p"):
        if isinstance(dumped.get(key), int | float):
            body[key] = dumped[key]
    if isinstance(dumped.get("max_output_tokens"), int):
        body["max_completion_tokens"] = dumped["max_output_tokens"]
    form = response_format(dumped.get("text"))
    if form is not None:
        body["response_format"] = form
    return body


# --------------------------------------------------------------------------------------
# The outcome: what the response becomes


def response_usage(
    input_tokens: int, output_tokens: int, total_tokens: int | None = None
) -> dict[str, Any]:
    """Token counts in the Responses API's ``usage`` shape (the SDK's ``ResponseUsage``)."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens if total_tokens is None else total_tokens,
    }


def usage(outcome: Outcome | None) -> dict[str, Any]:
    """The backend's usage in the Responses shape (zeros when it sent none)."""
    given = (outcome.usage if outcome is not None else None) or {}
    prompt = int(given.get("prompt_tokens", 0))
    completion = int(given.get("completion_tokens", 0))
    total = given.get("total_tokens")
    return response_usage(prompt, completion, None if total is None else int(total))


def open_message(message_id: str) -> dict[str, Any]:
    """The message item text is written into while the model writes."""
    return {
        "id": message_id,
        "type": "message",
        "status": "in_progress",
        "content": [],
        "role": "assistant",
    }


def final_output(
    outcome: Outcome,
    message_id: str,
    status: str,
    streamed: bool,
    taken: Collection[str] = (),
) -> list[dict[str, Any]]:
    """The output items of an ended response: the message (if the model wrote text, or
    wrote nothing and called nothing), then one ``function_call`` item per tool call.

    A call keeps the id the backend gave it unless that id is in ``taken`` (the call ids
    of the response's input) or an earlier call of the answer has it: some backends
    number every answer's calls from ``call_0``, and a client answers each call by its
    ``call_id``, so two calls sharing one could not both be answered."""
    items: list[dict[str, Any]] = []
    if outcome.text or streamed or not outcome.tool_calls:
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": outcome.text}
        items.append({**open_message(message_id), "status": status, "content": [part]})
    used = set(taken)
    for call in outcome.tool_calls:
        call_id = call.id if call.id not in used else f"call_{secrets.token_hex(12)}"
        used.add(call_id)
        items.append(
            {
                "id": f"fc_{secrets.token_hex(12)}",
                "type": "function_call",
                "status": "completed",
                "arguments": call.arguments,
                "call_id": call_id,
                "name": call.name,
            }
        )
    return items


def call_ids(items: Iterable[Mapping[str, Any]]) -> set[str]:
    """The ``call_id`` of every ``function_call`` and ``function_call_output`` item."""
    return {
        str(item["call_id"])
        for item in items
        if item.get("type") in ("function_call", "function_call_output")
        and isinstance(item.get("call_id"), str)
    }


def ending(
    outcome: Outcome, message_id: str
) -> Callable[[rr.Response, list[dict[str, Any]], int], rr.Response]:
    """The change that ends a response as ``outcome`` says (the module's table)."""

    def decide(response: rr.Response, items: list[dict[str, Any]], now: int) -> rr.Response:
        streamed = bool(response.output)
        used = usage(outcome)
        if outcome.finish in ("length", "content_filter"):
            reason = "max_output_tokens" if outcome.finish == "length" else "content_filter"
            output = final_output(outcome, message_id, "incomplete", streamed, call_ids(items))
            return rr.mark_incomplete(response, reason, output=output, usage=used, now=now)
        output = final_output(outcome, message_id, "completed", streamed, call_ids(items))
        return rr.complete(response, output=output, usage=used, now=now)

    return decide


def failing(code: str, message: str) -> Callable[..., rr.Response]:
    def decide(response: rr.Response, items: Any, now: int) -> rr.Response:
        return rr.fail(response, {"code": code, "message": message}, now=now)

    return decide


# --------------------------------------------------------------------------------------
# One execution


@dataclass(eq=False)
class Execution(Held):
    """One response being executed: its text not yet written, and its cancel switch
    (``cancelled``, set by the sweep's watch: :class:`leases.Held`)."""

    response_id: str
    store: ResponseStore
    #: The worker's lease owner name (sent to the backend with the response's id).
    owner: str = ""
    message_id: str = field(default_factory=lambda: f"msg_{secrets.token_hex(12)}")
    pending: list[str] = field(default_factory=list)
    opened: bool = False
    last_write: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_text(self, piece: str) -> None:
        """A piece of text from the backend: written now if the last write is old enough
        (else by the next piece, the sweep, or the end)."""
        with self.lock:
            self.pending.append(piece)
        if time.monotonic() - self.last_write >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write the pending text (opening the message first). A response cancelled or
        ended meanwhile refuses the write: the call is then aborted."""
        with self.lock:
            if not self.pending or self.cancelled.is_set():
                return
            text = "".join(self.pending)
            self.pending.clear()
            self.last_write = time.monotonic()
            opened = self.opened

            def decide(response: rr.Response, items: Any, now: int) -> rr.Response:
                if not opened:
                    response = rr.add_output_item(response, open_message(self.message_id), now=now)
                return rr.add_output_text(response, text, now=now)

            try:
                self.store.store.in_session(self.store.change, self.response_id, decide)
                self.opened = True
            except (rs.TransitionError, rs.APIError):
                self.cancelled.set()  # cancel-won, or gone: stop the call

    def due(self) -> bool:
        return bool(self.pending) and time.monotonic() - self.last_write >= FLUSH_SECONDS


def execute(
    store: ResponseStore, backend: Backend, execution: Execution, *, start: bool
) -> rr.Response | None:
    """Execute one response: start it (``start``: it is queued), call the backend, end
    it as the outcome says. Returns the response as it ended (None when the call was
    aborted: cancelled, deleted, or its lease lost)."""
    response_id = execution.response_id
    session = store.store.in_session

    def begin(response: rr.Response, items: Any, now: int) -> rr.Response:
        if start and response.status is rr.ResponseStatus.QUEUED:
            return rr.start(response, now=now)
        return response

    try:
        response = session(store.change, response_id, begin)
        if response.status is not rr.ResponseStatus.IN_PROGRESS:
            return None  # cancelled before it started
        stored = session(store.get, response_id)
        items = stored.items if stored is not None else []
        body = chat_request(response, items)
        headers = {"X-Runstate-Response": response_id, "X-Runstate-Worker": execution.owner}
        outcome = chat_backend.complete(
            backend, body, on_text=execution.on_text, cancelled=execution.cancelled, headers=headers
        )
        execution.flush()
        if execution.cancelled.is_set():
            return None
        return session(store.change, response_id, ending(outcome, execution.message_id))  # type: ignore[no-any-return]
    except Aborted:
        return None
    except BackendError as err:
        decide = failing(err.code, err.message)
    except (rs.TransitionError, rs.APIError):
        return None  # cancelled (cancel-won) or deleted while it ran
    except Exception as exc:  # a bug or the database away: the response must still end
        log.exception("executing response %s failed", response_id)
        decide = failing("server_error", f"The server failed executing the response: {exc}")
    try:
        return session(store.change, response_id, decide)  # type: ignore[no-any-return]
    except (rs.TransitionError, rs.APIError):
        return None
    except Exception:
        log.exception("could not end response %s (its lease will lapse)", response_id)
        return None


# --------------------------------------------------------------------------------------
# The worker


class ResponseWorker:
    """Background responses on the model, ``concurrency`` at a time in this process.

    One thread sweeps every :data:`SWEEP_SECONDS`: it ends the responses whose lease
    lapsed, claims queued ones while it has free threads, renews the leases of the
    executions in hand (and aborts one whose lease was lost), looks at their statuses (a
    cancel from any process aborts the call), and writes text left pending."""

    def __init__(
        self,
        store: ResponseStore,
        backend: Backend,
        *,
        concurrency: int = 4,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.store = store
        self.backend = backend
        self.concurrency = max(1, concurrency)
        self.lease_seconds = lease_seconds
        self.leases = Leases(store.store)
        self.leases.create_schema()
        self.owner = new_owner()
        #: The responses executed here: ``concurrency`` background ones at most (claimed
        #: by the sweep), and the synchronous ones their requests claimed.
        self.hand: Hand[Execution] = Hand(
            self.leases,
            KIND,
            self.owner,
            lease_seconds,
            limit=self.concurrency,
            threads=self.concurrency + 16,
            name="model-responses",
            ended=self.wake,
        )
        self._sweeper = Sweeper(self.sweep, SWEEP_SECONDS, name="model responses", back_off=False)
        self._stopping = self._sweeper.stopping

    # -- life

    def start(self) -> None:
        self._sweeper.start()

    def stop(self) -> None:
        """Stop sweeping and abort the calls in hand; their responses fail with
        ``server_error`` (:data:`STOPPED`), or, if the store is away, by the lease rule."""
        self._sweeper.halt()
        self.hand.abort_all()
        self._sweeper.stop()
        self.hand.abort_all()  # and what the last sweep took
        self.hand.shutdown()

    def wake(self) -> None:
        """Sweep now (a response was queued here, or an execution ended: a free thread)."""
        self._sweeper.wake()

    # -- executions

    def _run(self, execution: Execution, *, start: bool = True) -> rr.Response | None:
        """Execute the response (on the hand's pool, which releases its lease after);
        ``start``: it is queued (claimed by the sweep), else a request started it."""
        ended = execute(self.store, self.backend, execution, start=start)
        if ended is None and self._stopping.is_set():
            with suppress(Exception):  # else its lease lapses: another worker ends it
                self.fail_in_flight(execution.response_id, STOPPED)
        return ended

    def _run_started(self, execution: Execution) -> rr.Response | None:
        return self._run(execution, start=False)

    def claim(self, response_id: str) -> bool:
        """Take the lease of a response about to be created (synchronous requests: the
        claim comes before the response exists, so no sweep takes it for an orphan)."""
        return self.leases.claim(KIND, response_id, self.owner, self.lease_seconds)

    def run_here(self, response_id: str) -> rr.Response | None:
        """Execute a synchronous response in the caller's thread (its lease claimed)."""
        execution = Execution(response_id, self.store, self.owner)
        self.hand.hold(response_id, execution, counted=False)
        return self.hand.execute(response_id, execution, self._run_started, counted=False)

    def run_soon(self, response_id: str) -> None:
        """Execute a synchronous, streamed response on the worker's threads."""
        execution = Execution(response_id, self.store, self.owner)
        self.hand.hold(response_id, execution, counted=False)
        self.hand.pool.submit(
            self.hand.execute, response_id, execution, self._run_started, counted=False
        )

    def cancelled(self, response_id: str) -> None:
        """A cancel accepted in this process: abort the call now (other processes see it
        at their next sweep)."""
        execution = self.hand.held().get(response_id)
        if execution is not None:
            execution.cancelled.set()

    # -- the sweep

    def sweep(self) -> None:
        self._end_lapsed()
        self._watch()
        self._claim_queued()

    def _end_lapsed(self) -> None:
        """The lease rule: an in-progress response whose lease lapsed, or that no lease
        holds, fails (its backend call may have run: never twice); a queued one is left
        to be claimed again; the lease row goes."""
        lapsed = self.leases.lapsed(KIND)
        orphans = self.store.store.in_session(self.store.orphans)
        for response_id in [*lapsed, *orphans]:
            if not self.leases.claim(KIND, response_id, self.owner, self.lease_seconds):
                continue  # another worker's sweep (or the owner, renewing) came first
            try:
                self.fail_in_flight(response_id, LAPSED)
            finally:
                self.leases.release(KIND, response_id, self.owner)

    def fail_in_flight(self, response_id: str, message: str) -> None:
        """Fail the response with ``server_error`` if it is still in progress."""
        stored = self.store.store.in_session(self.store.get, response_id)
        if stored is not None and stored.response.status is rr.ResponseStatus.IN_PROGRESS:
            with suppress(rs.TransitionError, rs.APIError):
                self.store.store.in_session(
                    self.store.change, response_id, failing("server_error", message)
                )
            log.warning("response %s failed: %s", response_id, message)

    def _watch(self) -> None:
        """Write pending text, renew the leases in hand and abort what was cancelled."""
        for execution in self.hand.held().values():
            if execution.due():
                execution.flush()
        self.hand.watch(functools.partial(self.store.store.in_session, self.store.statuses))

    def _claim_queued(self) -> None:
        free = self.hand.free()
        if free <= 0 or self._stopping.is_set():
            return
        for response_id in self.store.store.in_session(self.store.queued, free * 2):
            self.hand.take(response_id, functools.partial(self._execution, response_id), self._run)

    def _execution(self, response_id: str) -> Execution:
        return Execution(response_id, self.store, self.owner)


def worker(store: ResponseStore, settings: Any) -> ResponseWorker | None:
    """The model worker ``settings.model`` asks for (``serve.py --model-backend``: its
    ``backend``, a :class:`chat_backend.Backend`, ``concurrency`` and ``lease``), or None
    without one (the scripted behaviour stays)."""
    model = getattr(settings, "model", None)
    if model is None:
        return None
    return ResponseWorker(
        store,
        model.backend,
        concurrency=getattr(model, "concurrency", 4),
        lease_seconds=getattr(model, "lease", LEASE_SECONDS),
    )
