"""The model worker: runs executed on an OpenAI-compatible Chat Completions backend.

``serve.py --model-backend URL`` starts it instead of the scripted ``--auto`` worker. It
picks up queued runs (and cancelling ones, and runs whose worker died), claims each with a
lease (``leases.py``), and executes it: the thread's messages, the run's instructions,
function tools and earlier tool outputs become one Chat Completions request
(:func:`chat_request`); the answer is reported to runstate as it arrives. runstate decides
every move; this module only says what the backend did, through the store's
compare-and-set, with runstate's operations (``runstate.advance``, ``write_message_text``).

What each backend outcome becomes (the issue's table; the README says the same):

=========================  ===============================================================
``stop``                   the text in a ``message_creation`` step, then ``complete``
``tool_calls``             ``require_action`` with the calls (a ``tool_calls`` step);
                           ``submit_tool_outputs`` queues the run, and the next call
                           carries the calls and their outputs
``length``                 the message ``incomplete`` (``max_tokens``), the run
                           ``incomplete`` (``max_completion_tokens``)
``content_filter``         the message ``incomplete`` (``content_filter``); the run
                           ``incomplete`` with ``max_completion_tokens``, as the run's
                           reason enum has no content filter (spec-facts §1)
HTTP 429                   ``fail`` with ``rate_limit_exceeded``
other errors, timeouts     ``fail`` with ``server_error``
=========================  ===============================================================

The run's ``usage`` is the sum of its calls' usage (kept in ``model_usage``); a message
step's is its call's, and a ``tool_calls`` step's is its call's too, set when the outputs
complete it (``tool_step_usage``, the submit handler's hook). Text is written in batches:
at most one store write per ``flush`` seconds per run (and the first piece at once).

A cancel aborts the backend call (the watcher polls the statuses of the runs in flight)
and finishes the cancel. A cancel that loses the race to the backend's last token ends as
the table allows (a ``cancelling`` run may still complete, fail or become incomplete;
what runstate refuses ends the cancel instead): one end, never two. A worker that dies
stops renewing its leases; every worker treats a run in flight whose lease lapsed by the
lapse rule: ``expire`` if ``expires_at`` passed (the store does that on every change),
else ``fail`` with ``server_error`` (a cancelling run: ``finish_cancel``). A run waiting
for tool outputs past its ``expires_at`` is expired by the sweep.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from chat_backend import Aborted, Backend, BackendError, Outcome, complete
from leases import Hand, Held, Leases, new_owner
from store import Life, Store, clock, new_id
from sweeper import Sweeper

import runstate as rs

log = logging.getLogger("runstate.server")

KIND = "run"
#: The headers naming the run a backend call is for, and the worker making it (logs,
#: proxies, the tests' fake: no run is executed twice).
RUN_HEADER = "X-Runstate-Run"
WORKER_HEADER = "X-Runstate-Worker"

USAGE_SCHEMA = """CREATE TABLE IF NOT EXISTS model_usage (
    run_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    step_id TEXT,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    total_tokens BIGINT NOT NULL,
    PRIMARY KEY (run_id, call_id)
)"""

#: What a run's request said that the run does not hold: ``additional_instructions``.
REQUEST_SCHEMA = """CREATE TABLE IF NOT EXISTS model_requests (
    run_id TEXT PRIMARY KEY,
    additional_instructions TEXT
)"""

_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


@dataclass(frozen=True)
class ModelSettings:
    """How the model worker works (``serve.py`` sets these from its options)."""

    backend: Backend
    #: Runs executed at once by this process.
    concurrency: int = 4
    #: Seconds a claim lasts without renewal (renewed every third of it).
    lease: float = 30.0
    #: Seconds between the dispatcher's looks for work, and the watcher's for cancels.
    poll: float = 0.1
    #: At most one text write per run per this many seconds.
    flush: float = 0.05


# --------------------------------------------------------------------------------------
# The request


def _text(part: Any) -> str | None:
    """The text of a ``text`` content part, or None for any other part."""
    if not isinstance(part, dict) or part.get("type") != "text":
        return None
    inner = part.get("text")
    value = inner.get("value") if isinstance(inner, dict) else inner
    return value if isinstance(value, str) else None


def _text_of(message: Any) -> str:
    """A message's text: its text parts, as paragraphs."""
    texts = [t for t in map(_text, message.extra.get("content") or []) if t is not None]
    return "\n\n".join(texts)


def _content(message: Any) -> Any:
    """A thread message's content for Chat Completions: its text, or its text and image
    URL parts in their order (``image_file`` parts name files this server does not
    hold: left out)."""
    parts = message.extra.get("content") or []
    if isinstance(parts, str):
        return parts
    wire: list[dict[str, Any]] = []
    for part in parts:
        text = _text(part)
        if text is not None:
            wire.append({"type": "text", "text": text})
        elif isinstance(part, dict) and part.get("type") == "image_url" and "image_url" in part:
            wire.append({"type": "image_url", "image_url": part["image_url"]})
    if all(p["type"] == "text" for p in wire):
        return _text_of(message)
    return wire


def chat_request(
    life: Life, thread_messages: list[Any], additional_instructions: str | None = None
) -> dict[str, Any]:
    """The Chat Completions request for the run's next call.

    ``messages``: the run's instructions and the request's ``additional_instructions``
    after them (``system``), the thread's messages written
    before the run (the last ``truncation_strategy.last_messages`` of them when given),
    then what the run itself wrote: each message step's text (``assistant``), each
    ``tool_calls`` step's function calls (``assistant`` with ``tool_calls``) and their
    outputs (``tool``). Only ``function`` tools are offered (``code_interpreter`` and
    ``file_search`` are not: the model never calls them). The run's sampling fields,
    ``tool_choice``, ``parallel_tool_calls`` and ``response_format`` are passed through;
    ``max_completion_tokens`` is what the run has left of it.

    Example:
        >>> import runstate as rs
        >>> run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
        >>> chat_request(Life(run=run), [])
        {'model': 'm', 'messages': [], 'temperature': 1.0, 'top_p': 1.0}
    """
    run = life.run
    wire = json.loads(rs.toolkit.run_json(run))
    messages: list[dict[str, Any]] = []
    system = "\n\n".join(t for t in (run.instructions, additional_instructions) if t)
    if system:
        messages.append({"role": "system", "content": system})
    before = [m for m in thread_messages if m.run_id != run.id]
    strategy = wire.get("truncation_strategy") or {}
    last = strategy.get("last_messages") if strategy.get("type") == "last_messages" else None
    if isinstance(last, int) and last >= 0:
        before = before[len(before) - last :] if last else []
    for message in before:
        role = message.extra.get("role", "user")
        messages.append({"role": role, "content": _content(message)})
    written = {m.id: m for m in life.messages}
    # The text of the step just before, when it was a message step: a call that wrote
    # text and then called tools is one assistant message with both, as the backend sent
    # it (templates that require alternating roles refuse two assistant messages in a row).
    text_before: dict[str, Any] | None = None
    for step in life.steps:
        details = step.step_details
        if isinstance(details, rs.models.MessageCreationDetails):
            message = written.get(details.message_creation.message_id)
            text_before = None
            if message is not None:
                text_before = {"role": "assistant", "content": _text_of(message)}
                messages.append(text_before)
            continue
        calls = [c for c in details.tool_calls if isinstance(c, rs.models.FunctionToolCall)]
        said, text_before = text_before, None
        if not calls:
            continue
        wire_calls = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.function.name, "arguments": c.function.arguments},
            }
            for c in calls
        ]
        if said is not None:
            said["tool_calls"] = wire_calls
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": wire_calls})
        for c in calls:
            output = c.function.output
            messages.append({"role": "tool", "tool_call_id": c.id, "content": output or ""})
    body: dict[str, Any] = {"model": run.model, "messages": messages}
    tools = [t for t in wire.get("tools") or () if t.get("type") == "function"]
    if tools:
        body["tools"] = tools
        choice = wire.get("tool_choice")
        if choice in ("auto", "none", "required") or (
            isinstance(choice, dict) and choice.get("type") == "function"
        ):
            body["tool_choice"] = choice
        if wire.get("parallel_tool_calls") is not None:
            body["parallel_tool_calls"] = wire["parallel_tool_calls"]
    for name in ("temperature", "top_p"):
        if wire.get(name) is not None:
            body[name] = wire[name]
    response_format = wire.get("response_format")
    if isinstance(response_format, dict):
        body["response_format"] = response_format
    return body


# --------------------------------------------------------------------------------------
# One execution


class _NotInProgress(ValueError):
    """The run left ``in_progress`` (cancelled, expired...): stop writing to it."""


def _op(operation: rs.Op, **arguments: Any) -> Callable[[Life, int], Life]:
    def decide(life: Life, now: int) -> Life:
        return rs.advance(
            life.run, life.steps, operation, now=now, messages=life.messages, **arguments
        )

    return decide


@dataclass
class Execution(Held):
    """A run this process is executing, and what its watcher tells it (``cancelled``,
    ``lost``: :class:`leases.Held`)."""

    thread_id: str
    run_id: str
    #: Why runstate last refused one of this execution's changes (for the log).
    refused: str = ""
    pending: list[str] = field(default_factory=list)
    flushed: float = float("-inf")
    step_id: str = ""
    message_id: str = ""


class ModelWorker:
    """Background threads executing runs on the model backend (see the module's text)."""

    def __init__(self, store: Store, settings: ModelSettings, owner: str | None = None) -> None:
        self.store = store
        self.settings = settings
        self.backend = settings.backend
        self.owner = owner or new_owner()
        self.leases = Leases(store)
        #: The runs in flight here, on ``concurrency`` threads.
        self.hand: Hand[Execution] = Hand(
            self.leases,
            KIND,
            self.owner,
            settings.lease,
            limit=settings.concurrency,
            threads=settings.concurrency,
            name="model-run",
            ended=self.wake,
        )
        #: Claims and starts runs every ``poll``, or at once when woken (:meth:`wake`).
        self.dispatcher = Sweeper(
            self.sweep, settings.poll, name="model dispatcher", back_off=False
        )
        #: Renews the leases of the runs in flight and aborts the cancelled ones.
        self.watcher = Sweeper(self._watch, settings.poll, name="model watcher", back_off=False)
        self._last_expiry_sweep = 0.0

    # -- lifecycle -------------------------------------------------------------------------

    def create_schema(self) -> None:
        self.leases.create_schema()

        def attempt() -> None:
            with self.store.session(), self.store.dialect.write(self.store.conn):
                self.store.execute(USAGE_SCHEMA)
                self.store.execute(REQUEST_SCHEMA)

        self.store._retrying(attempt)

    def start(self) -> None:
        self.create_schema()
        self.dispatcher.start()
        self.watcher.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking work; abort the calls in flight (their runs fail: the answer is
        lost with the process that was reading it) and wait for them."""
        self.dispatcher.halt()
        self.watcher.halt()
        self.hand.abort_all()
        self.dispatcher.stop(timeout)
        self.watcher.stop(timeout)
        self.hand.abort_all()  # and what the dispatcher's last sweep took
        self.hand.shutdown()

    # -- the dispatcher ---------------------------------------------------------------------

    def wake(self) -> None:
        """Look for work now rather than at the next poll (a run queued or cancelled in
        this process, an execution ended)."""
        self.dispatcher.wake()

    def candidates(self, limit: int) -> list[tuple[str, str]]:
        """Runs waiting for a worker: queued or cancelling, or in progress with no live
        lease (their worker died), oldest first, without another worker's live lease (a
        row of this worker's own that a failed release left is no obstacle: its claim
        succeeds, and the sweep skips the runs this process is executing)."""
        with self.store.session():
            rows = self.store.execute(
                "SELECT thread_id, id FROM runs WHERE status IN ('queued', 'in_progress', "
                "'cancelling') AND id NOT IN (SELECT id FROM leases WHERE kind = ? AND "
                "until_at >= ? AND owner <> ?) ORDER BY seq LIMIT ?",
                (KIND, time.time(), self.owner, limit),
            ).fetchall()
        return [(t, r) for t, r in rows]

    def sweep(self) -> None:
        """Expire runs waiting past their deadline; claim and start what is free."""
        if time.monotonic() - self._last_expiry_sweep >= 1.0:
            self._last_expiry_sweep = time.monotonic()
            self.expire_waiting()
        free = self.hand.free()
        if free <= 0:
            return
        for thread_id, run_id in self.candidates(free + len(self.hand.held()) + 8):
            if self.hand.free() <= 0 or self.dispatcher.stopping.is_set():
                break
            self.hand.take(run_id, partial(Execution, thread_id, run_id), self._execute)

    def expire_waiting(self) -> None:
        """Runs waiting for tool outputs past their ``expires_at``: expired now (every
        read expires them too; this records it when nobody reads)."""
        now = clock()
        with self.store.session():
            rows = self.store.execute(
                "SELECT thread_id, id, body FROM runs WHERE status = 'requires_action' "
                "ORDER BY seq LIMIT 500"
            ).fetchall()
            for thread_id, run_id, body in rows:
                run = rs.parse_run(body)
                if run.expires_at is not None and now >= run.expires_at:
                    with suppress(rs.Error):
                        self.store.change(thread_id, run_id, lambda life, now: life)

    # -- the watcher ------------------------------------------------------------------------

    def _watch(self) -> None:
        """Renew the leases of the runs in flight; abort a call whose run left
        ``in_progress`` (a cancel, an expiry) or whose lease was lost."""
        self.hand.watch(self._statuses)

    def _statuses(self, ids: list[str]) -> dict[str, str]:
        marks = ", ".join("?" * len(ids))
        with self.store.session():
            rows = self.store.execute(
                f"SELECT id, status FROM runs WHERE id IN ({marks})", tuple(ids)
            )
            return dict(rows.fetchall())

    # -- executing one run ------------------------------------------------------------------

    def _change(self, ex: Execution, decide: Callable[[Life, int], Life]) -> Life | None:
        """One compare-and-set on the run; None when runstate refused it."""
        try:
            with self.store.session():
                return self.store.change(ex.thread_id, ex.run_id, decide)
        except rs.Error as err:
            log.debug("run %s: refused: %s", ex.run_id, err)
            ex.refused = str(err)
            return None

    def _execute(self, ex: Execution) -> None:
        """Execute the run (on the hand's pool, which releases its lease after)."""
        try:
            self._run(ex)
        except Exception:
            log.exception("run %s: the model worker failed", ex.run_id)
            if not ex.lost:
                with suppress(Exception):
                    self._end(ex, "server_error", "The model worker failed.")

    def _run(self, ex: Execution) -> None:
        # The claim may have lapsed while this process stalled before getting here (and
        # another worker claimed and started the run): act only on a lease still ours.
        if not self.leases.renew(KIND, ex.run_id, self.owner, self.settings.lease):
            ex.lost = True
            return
        ex.renewed = time.monotonic()
        with self.store.session():
            life = self.store.get_life(ex.thread_id, ex.run_id)
        if life is None:
            return
        status = life.run.status
        if status is rs.RunStatus.CANCELLING:
            self._finish_cancel(ex)
            return
        if status is rs.RunStatus.IN_PROGRESS:
            # In flight, but nobody holds its lease: its worker died (the lapse rule).
            self._end(ex, "server_error", "The worker executing this run stopped.")
            return
        if status is not rs.RunStatus.QUEUED:
            return
        started = self._change(ex, _op(rs.Op.START))
        if started is None or started.run.status is not rs.RunStatus.IN_PROGRESS:
            return
        self._call(ex, started)

    def run_usage(self, run_id: str) -> dict[str, int] | None:
        """The sum of the run's calls' usage, None before any."""
        with self.store.session():
            row = self.store.execute(
                "SELECT COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(total_tokens) "
                "FROM model_usage WHERE run_id = ?",
                (run_id,),
            ).fetchone()
        if not row or not row[0]:
            return None
        return dict(zip(_USAGE_KEYS, (int(v) for v in row[1:]), strict=True))

    def _record_usage(self, run_id: str, step_id: str | None, usage: dict[str, int]) -> None:
        def attempt() -> None:
            with self.store.session(), self.store.dialect.write(self.store.conn):
                self.store.execute(
                    "INSERT INTO model_usage (run_id, call_id, step_id, prompt_tokens, "
                    "completion_tokens, total_tokens) VALUES (?, ?, ?, ?, ?, ?)",
                    (run_id, new_id("call"), step_id, *(usage[k] for k in _USAGE_KEYS)),
                )

        self.store._retrying(attempt)

    def _call(self, ex: Execution, life: Life) -> None:
        run = life.run
        used = self.run_usage(run.id)
        body = chat_request(life, self._thread_messages(ex), self._additional(run.id))
        if run.max_completion_tokens is not None:
            left = run.max_completion_tokens - (used or {}).get("completion_tokens", 0)
            if left <= 0:
                self._incomplete(ex, "max_completion_tokens")
                return
            body["max_completion_tokens"] = left
        # This call's message step and message (opened with its first text), and the text
        # received but not yet written (the first piece is written at once).
        ex.step_id, ex.message_id = new_id("step"), new_id("msg")
        ex.pending, ex.flushed = [], float("-inf")

        def on_text(piece: str) -> None:
            ex.pending.append(piece)
            if time.monotonic() - ex.flushed >= self.settings.flush:
                self._flush(ex)

        try:
            outcome = complete(
                self.backend,
                body,
                on_text=on_text,
                cancelled=ex.cancelled,
                headers={RUN_HEADER: run.id, WORKER_HEADER: self.owner},
            )
        except Aborted:
            self._aborted(ex)
            return
        except BackendError as err:
            log.warning("run %s: the model backend failed: %s", ex.run_id, err)
            self._flush(ex)
            self._end(ex, err.code, err.message)
            return
        self._outcome(ex, outcome)

    def _additional(self, run_id: str) -> str | None:
        with self.store.session():
            row = self.store.execute(
                "SELECT additional_instructions FROM model_requests WHERE run_id = ?", (run_id,)
            ).fetchone()
        return None if row is None else row[0]

    def _thread_messages(self, ex: Execution) -> list[Any]:
        with self.store.session():
            return self.store.thread_messages(ex.thread_id)

    # -- writing what the backend said ------------------------------------------------------

    def _with_text(self, ex: Execution, text: str) -> Callable[[Life, int], Life]:
        """Write ``text`` into this call's message, opening its step first if needed."""

        def decide(life: Life, now: int) -> Life:
            if life.run.status is not rs.RunStatus.IN_PROGRESS:
                raise _NotInProgress(life.run.status.value)
            if not any(s.id == ex.step_id for s in life.steps):
                life = _op(rs.Op.OPEN_MESSAGE_STEP, step_id=ex.step_id, message_id=ex.message_id)(
                    life, now
                )
            if not text:
                return life
            messages = tuple(
                rs.steps.write_message_text(m, text) if m.id == ex.message_id else m
                for m in life.messages
            )
            return Life(run=life.run, steps=life.steps, messages=messages)

        return decide

    def _flush(self, ex: Execution) -> None:
        """Store the text received since the last write (one compare-and-set)."""
        if not ex.pending or ex.lost:
            return
        text = "".join(ex.pending)
        ex.pending.clear()
        ex.flushed = time.monotonic()
        try:
            self._change(ex, self._with_text(ex, text))
        except _NotInProgress:
            ex.cancelled.set()  # cancelled or expired meanwhile: stop the call

    def _message_step_open(self, ex: Execution, life: Life) -> bool:
        return any(s.id == ex.step_id for s in life.steps)

    def _finish_message(
        self, ex: Execution, usage: dict[str, int] | None, reason: str | None, always: bool
    ) -> bool:
        """Write what is pending and finish this call's message step (opened first when
        ``always`` and nothing was written); False if the run holds no such step (it left
        ``in_progress`` before any of the answer was written)."""
        text = "".join(ex.pending)
        ex.pending.clear()

        def decide(life: Life, now: int) -> Life:
            opened = self._message_step_open(ex, life)
            if not opened and not text and not always:
                return life
            if life.run.status is not rs.RunStatus.IN_PROGRESS and not opened:
                return life  # no new step on a run that left in_progress
            if not opened:
                life = self._with_text(ex, "")(life, now)
            return _op(
                rs.Op.FINISH_MESSAGE_STEP,
                step_id=ex.step_id,
                usage=usage,
                incomplete_reason=reason,
                text=text or None,
            )(life, now)

        life = self._change(ex, decide)
        return life is not None and self._message_step_open(ex, life)

    def _outcome(self, ex: Execution, outcome: Outcome) -> None:
        if ex.lost:
            return
        usage = outcome.usage
        if outcome.finish == "tool_calls":
            tool_step = new_id("step")
            if usage is not None:
                self._record_usage(ex.run_id, tool_step, usage)
            self._finish_message(ex, None, None, always=False)
            with self.store.session():
                life = self.store.get_life(ex.thread_id, ex.run_id)
            taken = _call_ids(life)
            calls = []
            for c in outcome.tool_calls:
                # A backend may reuse ids across calls, or within one answer (call_0).
                id = c.id if c.id not in taken else new_id("call")
                taken.add(id)
                calls.append(
                    {
                        "id": id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments},
                    }
                )
            if life is not None and life.run.parallel_tool_calls is False:
                calls = calls[:1]
            acted = self._change(ex, _op(rs.Op.REQUIRE_ACTION, tool_calls=calls, step_id=tool_step))
            if acted is None or acted.run.status is not rs.RunStatus.REQUIRES_ACTION:
                self._settle(ex)
            return
        if usage is not None:
            self._record_usage(ex.run_id, ex.step_id, usage)
        reason = {"length": "max_tokens", "content_filter": "content_filter"}.get(outcome.finish)
        if not self._finish_message(ex, usage, reason, always=True):
            # Cancelled (or ended) before any of the answer was stored: the run cannot
            # claim an answer it holds no message of; the cancel wins.
            self._settle(ex)
            return
        if reason is not None:
            self._incomplete(ex, "max_completion_tokens")
        else:
            total = self.run_usage(ex.run_id)
            with self.store.session():
                run = self.store.get_run(ex.thread_id, ex.run_id)
            limit = None if run is None else run.max_prompt_tokens
            if limit is not None and total is not None and total["prompt_tokens"] > limit:
                self._incomplete(ex, "max_prompt_tokens")
                return
            if self._change(ex, _op(rs.Op.COMPLETE, usage=total)) is None:
                self._settle(ex)

    def _incomplete(self, ex: Execution, reason: str) -> None:
        total = self.run_usage(ex.run_id)
        decided = self._change(ex, _op(rs.Op.MARK_INCOMPLETE, reason=reason, usage=total))
        if decided is None:
            self._settle(ex)

    def _end(self, ex: Execution, code: str, message: str) -> None:
        """Fail the run with ``code`` (a cancelling run finishes its cancel instead)."""
        total = self.run_usage(ex.run_id)

        def decide(life: Life, now: int) -> Life:
            if life.run.status is rs.RunStatus.CANCELLING:
                return _op(rs.Op.FINISH_CANCEL, usage=total)(life, now)
            if life.run.status is not rs.RunStatus.IN_PROGRESS:
                return life
            error = {"code": code, "message": message}
            return _op(rs.Op.FAIL, error=error, usage=total)(life, now)

        self._change(ex, decide)

    def _finish_cancel(self, ex: Execution) -> None:
        total = self.run_usage(ex.run_id)

        def decide(life: Life, now: int) -> Life:
            if life.run.status is not rs.RunStatus.CANCELLING:
                return life
            return _op(rs.Op.FINISH_CANCEL, usage=total)(life, now)

        self._change(ex, decide)

    def _settle(self, ex: Execution) -> None:
        """runstate refused the outcome: a cancelling run finishes its cancel (the run
        moved meanwhile); one still in progress fails now (``server_error``: the answer
        cannot be recorded), rather than staying in flight until the lease rule fails it
        for a worker that did not stop; anything else already ended."""
        with self.store.session():
            run = self.store.get_run(ex.thread_id, ex.run_id)
        if run is not None and run.status is rs.RunStatus.IN_PROGRESS:
            log.warning("run %s: runstate refused the model's answer: %s", ex.run_id, ex.refused)
        self._end(ex, "server_error", "The model's answer could not be recorded.")

    def _aborted(self, ex: Execution) -> None:
        if ex.lost:
            return  # not ours any more: the lapse rule ends it
        if ex.shutdown:
            self._end(ex, "server_error", "The server shut down while the model answered.")
            return
        self._finish_cancel(ex)


def _call_ids(life: Life | None) -> set[str]:
    """The ids of the calls the run's steps hold (a backend may reuse ids across calls)."""
    if life is None:
        return set()
    return {
        c.id
        for s in life.steps
        if isinstance(s.step_details, rs.models.ToolCallsDetails)
        for c in s.step_details.tool_calls
    }


def keep_request(store: Store) -> Callable[[rs.Run, Any], None]:
    """The create handler's hook: keep the request's ``additional_instructions`` (the
    run holds its instructions only), in the transaction that inserts the run."""

    def keep(run: rs.Run, request: Any) -> None:
        text = getattr(request, "additional_instructions", None)
        if text:
            store.execute(
                "INSERT INTO model_requests (run_id, additional_instructions) VALUES (?, ?)",
                (run.id, text),
            )

    return keep


def tool_step_usage(store: Store) -> Callable[[Life], dict[str, int] | None]:
    """The submit handler's hook: the usage of the call that wrote the open
    ``tool_calls`` step's calls (None when the backend gave none)."""

    def usage(life: Life) -> dict[str, int] | None:
        step = next(
            (
                s
                for s in reversed(life.steps)
                if s.type == "tool_calls" and s.status is rs.StepStatus.IN_PROGRESS
            ),
            None,
        )
        if step is None:
            return None
        row = store.execute(
            "SELECT prompt_tokens, completion_tokens, total_tokens FROM model_usage "
            "WHERE run_id = ? AND step_id = ?",
            (life.run.id, step.id),
        ).fetchone()
        return None if row is None else dict(zip(_USAGE_KEYS, (int(v) for v in row), strict=True))

    return usage


__all__ = ["ModelSettings", "ModelWorker", "chat_request", "keep_request", "tool_step_usage"]
