"""Checking a recorded trace of one run (polled snapshots or streamed events) against the model.

A trace is what a client saw of one run, in order: the snapshots it got by polling or
listing (``mode="poll"``), or the events of a server-sent-event stream
(``mode="stream"``). :func:`check_trace` reports every place where the trace breaks the
lifecycle: a status change the table does not allow, a field that must never change
changing, a timestamp rewritten, an event name that disagrees with its data, anything
after ``done``, and each snapshot's own per-status :func:`~runstate.violations`.

The checker is incremental (:class:`TraceChecker`): it keeps only the previous snapshot
and a few flags, so a trace of any length is checked in constant memory, item by item,
as it arrives. :func:`check_trace` collects what the checker finds into a
:class:`TraceReport`, keeping the first ``max_problems`` problems of each severity and
counting the rest, so its memory is bounded too; feed a :class:`TraceChecker` yourself
to see every problem as it is found. Which statuses may follow which comes from the one
table, through :func:`~runstate.can_transition` and :func:`~runstate.can_reach`; nothing
here restates it.

Rules (stable names; severity in brackets):

Both modes
    ``invalid-item`` [error]: an item that is not a run, a JSON object or text, or an
    ``(event, data)`` pair; or one that cannot be read (a step event's data nested too
    deeply to decode, an object that raises when it is read).
    ``invalid-run`` [error]: a snapshot that :func:`~runstate.parse_run` refuses; the next
    snapshot is compared with the last good one.
    ``field-changed`` [error]: ``id``, ``object``, ``thread_id``, ``assistant_id`` or
    ``created_at`` differs from the previous snapshot.
    ``status-unreachable`` [error]: the new status cannot follow the previous one in any
    number of steps.
    ``after-terminal`` [error]: a field other than ``metadata`` changed after a terminal
    status (a run leaving its terminal status is reported as ``status-unreachable`` only).
    ``timestamp-rewritten`` [error]: ``started_at``, ``cancelled_at``, ``failed_at`` or
    ``completed_at`` was unset or changed; ``started_at`` may move forward only where the
    run can have re-entered ``in_progress`` (after tool outputs).
    ``expires-at-changed`` [warning]: ``expires_at`` changed, or was cleared, while the run
    is still active (the real API never extends it; it clears it at the end).
    ``event-status-mismatch`` [error]: a ``thread.run.<status>`` event whose data has
    another status (``thread.run.created`` carries ``queued``).
    ``unknown-run-event`` [warning]: a ``thread.run.*`` event name that is neither a run nor
    a step event (skipped).
    ``after-done`` [error]: an item after the ``done`` event (reported once). Only the
    ``done`` event ends a trace: ``[DONE]`` under any other event name is that event's
    data.
    ``no-run`` [error]: the trace holds no run at all: no snapshot and no run event (an
    empty trace, a stream of ``done`` alone, a poll trace of other objects). Reported
    when the trace ends, at its last item (at 0 for an empty trace).
    ``foreign-step`` [error]: a ``thread.run.step.*`` event whose ``run_id`` is another run
    (steps seen before the first run event are judged at that event).
    Plus every :class:`~runstate.Violation` of each snapshot, under its own rule name.

Stream mode only
    ``status-skipped`` [error]: a status change that is reachable but not one edge (a stream
    announces every status).
    ``truncated-stream`` [warning]: the stream ends without ``done`` at a status other than
    ``requires_action`` or a terminal one (reported at the last item).

Steps and messages (stream mode only; spec-facts §11). A step or message event is judged
when its data carries a ``status`` (a whole object); partial objects are checked for
their run only, as before. The checker keeps state for *open* steps and messages only
(at most :data:`MAX_OPEN` of each), so its memory stays bounded. Step and message text
(``str`` or ``bytes``) is decoded once and checked by check-only functions generated
from the same schema as :func:`~runstate.parse_step` (no value is built); whatever they
refuse goes through the parse itself, which decides and explains. Delta events are
only counted: no rule judges them.
    ``invalid-step``, ``invalid-message`` [error]: the object does not parse
    (:func:`~runstate.parse_step`, :func:`~runstate.steps.parse_message`).
    ``step-event-status-mismatch``, ``message-event-status-mismatch`` [error]: the event
    names another status than its data carries (``created`` carries ``in_progress``).
    ``step-status-illegal``, ``message-status-illegal`` [error]: a status change the step
    table (:data:`~runstate.steps.STEP_TRANSITIONS`) or the message's life does not allow, such
    as a second ``created`` for an open step.
    ``foreign-message`` [error]: a message event whose ``run_id`` is another run.
    ``after-run-end`` [error]: a step or message event after the run's terminal event.
    ``step-before-message`` [error]: a ``message_creation`` step ends while its message
    is still ``in_progress`` (the message ends first).
    ``step-open-at-run-end``, ``message-open-at-run-end`` [error]: the run's terminal
    event comes while a step or message is still ``in_progress``.
    ``tool-step-closed-early`` [error]: the run reaches ``requires_action`` with no
    ``tool_calls`` step open, though the stream shows its steps (the step stays open
    while the run waits for outputs).
    ``tool-output-missing`` [error]: a ``tool_calls`` step completes while the run waits
    for outputs, with a function call whose ``output`` is null.
    ``tool-step-not-completed`` [error]: the run is queued again after tool outputs while
    a ``tool_calls`` step is still open (it completes, with the outputs, first).
    ``too-many-open-steps`` [warning]: more than :data:`MAX_OPEN` steps or messages open
    at once; the extra ones are not followed.
    Plus every :func:`~runstate.steps.step_violations` and
    :func:`~runstate.steps.message_violations` of each judged object, under its own rule name.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Literal, Protocol, TypeAlias, cast

import attrs

from ._engine import serde as _serde
from ._engine.codegen import generate
from ._engine.jsonio import decode
from ._errors import InvalidArgument, InvalidRun
from ._invariants import Violation, violations
from ._model import FunctionToolCall, Message, MessageCreationDetails, Run, RunStep, StepStatus
from ._serde import parse_run
from ._status import TERMINAL_STATUSES, RunStatus
from ._steps import (
    STEP_TRANSITIONS,
    _message_rules,
    _step_rules,
    message_violations,
    parse_message,
    parse_step,
    step_violations,
)
from ._table import can_reach, can_transition

__all__ = [
    "MAX_OPEN",
    "Checker",
    "Mode",
    "TraceChecker",
    "TraceProblem",
    "TraceReport",
    "changed_fields",
    "check_trace",
    "collect",
    "settled_fields",
]

#: How many open steps (and, separately, open messages) the checker follows at once.
MAX_OPEN: Final = 256

#: How many problems of each severity :func:`check_trace` keeps by default.
DEFAULT_MAX_PROBLEMS: Final = 1000
#: The longest text from the input echoed in a problem's message (longer is cut).
_ECHO: Final = 200

#: How a trace was recorded: ``"poll"`` (snapshots) or ``"stream"`` (SSE events).
Mode: TypeAlias = Literal["poll", "stream"]
Severity: TypeAlias = Literal["error", "warning"]

_MODES: Final = ("poll", "stream")

#: Fields that identify a run and never change (issue: "never change").
_IDENTITY: Final = ("id", "object", "thread_id", "assistant_id", "created_at")
#: Timestamps that, once set, are never unset or rewritten.
_END_TIMESTAMPS: Final = ("cancelled_at", "failed_at", "completed_at")
#: Fields compared after a terminal status: everything but metadata (and bookkeeping).
_FROZEN_AFTER_TERMINAL: Final = tuple(
    f.name for f in attrs.fields(Run) if f.name not in {*_IDENTITY, "status", "metadata", "absent"}
)

#: Statuses at which a stream may stop without being truncated: the server is done with
#: the run, or waits for the caller's tool outputs (the SDKs stop there too).
_STREAM_STOPS: Final = TERMINAL_STATUSES | {RunStatus.REQUIRES_ACTION}

_CREATED: Final = "thread.run.created"
_STEP_PREFIX: Final = "thread.run.step."
_RUN_PREFIX: Final = "thread.run."
#: Run event name -> the status its data must carry (spec-facts §1.5).
_EVENT_STATUS: Final[dict[str, RunStatus]] = {s.event: s for s in RunStatus} | {
    _CREATED: RunStatus.QUEUED
}
_DONE_EVENT: Final = "done"
#: Step events that carry a whole step object (``delta`` carries only the step id).
_STEP_WITH_RUN_ID: Final = frozenset(
    f"{_STEP_PREFIX}{s}"
    for s in ("created", "in_progress", "completed", "failed", "cancelled", "expired")
)


_MESSAGE_PREFIX: Final = "thread.message."
#: Step event name -> the status its data carries.
_STEP_EVENT_STATUS: Final[dict[str, StepStatus]] = {s.event: s for s in StepStatus} | {
    f"{_STEP_PREFIX}created": StepStatus.IN_PROGRESS
}
_SP: Final = StepStatus.IN_PROGRESS
#: The statuses an open step may end in (the step table's edges from ``in_progress``).
_STEP_ENDS: Final = STEP_TRANSITIONS[_SP]
_STEP_CREATED: Final = f"{_STEP_PREFIX}created"
_MESSAGE_CREATED: Final = f"{_MESSAGE_PREFIX}created"
#: A step's wire status -> its member.
_STEP_STATUS: Final[dict[str, StepStatus]] = {s.value: s for s in StepStatus}
#: Message event name -> the status its data carries.
_MESSAGE_EVENT_STATUS: Final[dict[str, str]] = {
    f"{_MESSAGE_PREFIX}{s}": s for s in ("in_progress", "completed", "incomplete")
} | {f"{_MESSAGE_PREFIX}created": "in_progress"}


#: Events that never bring a problem, whatever their data: deltas carry no status, and no
#: rule judges them (the checker only counts them, and they end a ``created`` /
#: ``in_progress`` repeat). Streams are mostly these, so :meth:`TraceChecker.feed` takes
#: them first.
_QUIET: Final = frozenset({f"{_STEP_PREFIX}delta", f"{_MESSAGE_PREFIX}delta"})


#: Events that carry a whole step or message object -> its class (the usual text of
#: these takes :meth:`TraceChecker.feed`'s shortest way).
#: Deltas map to :data:`_QUIET` itself.
_OBJECT_EVENTS: Final[dict[str, object]] = (
    dict.fromkeys(_STEP_WITH_RUN_ID, RunStep)
    | dict.fromkeys(_MESSAGE_EVENT_STATUS, Message)
    | dict.fromkeys(_QUIET, _QUIET)
)

#: A ``created`` event -> the event that may repeat its object unchanged: a step's or a
#: message's ``in_progress`` carries the same object as its ``created`` (spec-facts §11).
#: Such a repeat, right after (no delta between), is checked once: judging it again could
#: find nothing new. Any other repeat (``created`` twice) is judged in full.
_REPEATS: Final[dict[str, str]] = {
    f"{_STEP_PREFIX}created": f"{_STEP_PREFIX}in_progress",
    f"{_MESSAGE_PREFIX}created": f"{_MESSAGE_PREFIX}in_progress",
}


#: What the checker remembers of an open step: its ``type`` and, for a
#: ``message_creation`` step, its message's id.
_OpenStep: TypeAlias = tuple[str, str | None]


def _reset_pairs(mode: Mode) -> frozenset[tuple[RunStatus, RunStatus]]:
    """(previous, current) statuses between which ``started_at`` may have been reset.

    The API resets ``started_at`` when a run re-enters ``in_progress`` (after tool
    outputs; spec-facts §8.5). A stream shows that edge itself; between two polls it may
    lie anywhere on the way from the previous status to the current one.
    """
    enter = RunStatus.IN_PROGRESS
    into = [s for s in RunStatus if can_transition(s, enter)]
    if mode == "stream":
        return frozenset((s, enter) for s in into)
    return frozenset(
        (a, b)
        for a in RunStatus
        for b in RunStatus
        if can_reach(enter, b) and any(can_reach(a, s) for s in into)
    )


_RESETS: Final[dict[str, frozenset[tuple[RunStatus, RunStatus]]]] = {
    "poll": _reset_pairs("poll"),
    "stream": _reset_pairs("stream"),
}


@attrs.frozen
class TraceProblem:
    """One place where a trace breaks the lifecycle.

    Attributes:
        position: The 0-based index of the item in the trace (non-run events count).
        severity: ``"error"`` or ``"warning"``.
        rule: A stable kebab-case name, such as ``status-unreachable`` (see
            :mod:`runstate._trace` for the list) or a :class:`~runstate.Violation` rule.
        message: What is wrong, in one line.

    Example:
        >>> print(TraceProblem(3, "error", "after-done", "an item follows 'done'"))
        3: error after-done: an item follows 'done'
    """

    position: int
    severity: Severity
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.position}: {self.severity} {self.rule}: {self.message}"


@attrs.frozen
class TraceReport:
    """The outcome of :func:`check_trace`.

    Attributes:
        problems: The problems kept, in trace order: every problem found, unless there
            were more than ``max_problems`` of a severity (see :func:`check_trace`).
        checked: How many items the trace had.
        omitted_errors: How many errors were found beyond those kept.
        omitted_warnings: How many warnings were found beyond those kept.

    Example:
        >>> report = TraceReport(problems=(), checked=2)
        >>> report.ok, report.errors, report.warnings
        (True, (), ())
        >>> report = TraceReport(problems=(), checked=9, omitted_errors=3)
        >>> report.ok, report.error_count
        (False, 3)
    """

    problems: tuple[TraceProblem, ...]
    checked: int = 0
    omitted_errors: int = 0
    omitted_warnings: int = 0

    @property
    def ok(self) -> bool:
        """Whether no problem is an error (warnings allowed), kept or omitted."""
        return not self.omitted_errors and not any(p.severity == "error" for p in self.problems)

    @property
    def error_count(self) -> int:
        """How many errors were found, kept or omitted."""
        return len(self.errors) + self.omitted_errors

    @property
    def warning_count(self) -> int:
        """How many warnings were found, kept or omitted."""
        return len(self.warnings) + self.omitted_warnings

    @property
    def errors(self) -> tuple[TraceProblem, ...]:
        """The error-severity problems."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[TraceProblem, ...]:
        """The warning-severity problems."""
        return tuple(p for p in self.problems if p.severity == "warning")


def _clip(text: str) -> str:
    """``text``, cut to :data:`_ECHO` characters (a message never holds unbounded input)."""
    if len(text) <= _ECHO:
        return text
    return f"{text[:_ECHO]}... ({len(text) - _ECHO} more characters)"


def _show(value: object) -> str:
    if isinstance(value, RunStatus):
        return repr(value.value)
    return _clip(repr(value) if isinstance(value, str) else str(value))


def _describe(exc: InvalidRun) -> str:
    shown = [str(e) for e in exc.errors[:3]]
    more = len(exc.errors) - len(shown)
    text = "; ".join(shown) if shown else str(exc)
    return f"{text} (and {more} more)" if more > 0 else text


def _checked_mode(mode: object) -> Mode:
    """``mode`` as a plain ``"poll"`` or ``"stream"`` (a str subclass read as its value)."""
    text = str.__str__(mode) if isinstance(mode, str) else None
    if text in _MODES:
        return cast("Mode", text)
    raise InvalidArgument.expected("mode", "'poll' or 'stream'", mode)


def changed_fields(
    position: int, prev: object, new: object, names: Iterable[str]
) -> list[TraceProblem]:
    """A ``field-changed`` error for each of ``names`` that differs between two snapshots.

    The identity rule of every machine's trace checker (a run's, a response's).
    """
    found = []
    for name in names:
        old, value = getattr(prev, name), getattr(new, name)
        if old != value:
            message = f"{name} changed from {_show(old)} to {_show(value)}"
            found.append(TraceProblem(position, "error", "field-changed", message))
    return found


def settled_fields(
    position: int, prev: Any, new: Any, names: Iterable[str], note: str = ""
) -> list[TraceProblem]:
    """One ``after-terminal`` error naming the ``names`` that changed after ``prev`` ended."""
    changed = [n for n in names if getattr(prev, n) != getattr(new, n)]
    if not changed:
        return []
    what = "run" if type(prev) is Run else "response"
    message = f"{', '.join(changed)} changed after the {what} became {prev.status.value!r}{note}"
    return [TraceProblem(position, "error", "after-terminal", message)]


class TraceChecker:
    """An incremental trace checker: feed it items one by one, then close it.

    This is what :func:`check_trace` runs; use it directly to check a live stream as it
    arrives, or to map each problem back to where its item came from while it is still
    at hand. Every problem :meth:`feed` returns is at the item just fed; those
    :meth:`close` returns are at the last item. State is the previous good snapshot
    and a few flags, whatever the length of the trace.

    Args:
        mode: ``"poll"`` or ``"stream"``; see :func:`check_trace`.

    Raises:
        InvalidArgument: for an unknown mode (``mode``).

    Example:
        >>> checker = TraceChecker(mode="stream")
        >>> checker.feed(("thread.run.step.created", {"run_id": "run_2"}))
        ()
        >>> checker.feed(("done", "[DONE]"))
        ()
        >>> [p.rule for p in checker.feed(("thread.message.created", {}))]
        ['after-done']
        >>> [p.rule for p in checker.close()]  # the step named a run, but none was seen
        ['no-run']
        >>> checker.close()
        ()
    """

    def __init__(self, *, mode: Mode) -> None:
        mode = _checked_mode(mode)
        self.mode: Mode = mode
        self._stream = mode == "stream"
        self._resets = _RESETS[mode]
        #: How many items have been fed; the next item's position.
        self.position = 0
        self._prev: Run | None = None
        self._prev_violations: tuple[Violation, ...] = ()
        #: The last good snapshot's data as given (text is compared, not parsed again).
        self._prev_raw: object = None
        self._done = False
        self._after_done_reported = False
        self._early_step_run: str | None = None
        self._early_step_position = 0
        #: Whether any item was a run (a snapshot or a run event's data), good or not.
        self._saw_run = False
        self._closed = False
        #: Open steps and messages (stream mode), by id; bounded by MAX_OPEN each.
        self._open_steps: dict[str, _OpenStep] = {}
        self._open_messages: set[str] = set()
        self._steps_judged = False
        self._run_ended = False
        self._too_many_reported = False
        #: The text of the last step or message event judged just before, and the status
        #: its event expected: ``created`` then ``in_progress`` carry the same object.
        self._last_object: tuple[object, object] | None = None

    def feed(self, item: object) -> tuple[TraceProblem, ...]:
        """Check the next item; return the problems found at it.

        Args:
            item: A :class:`~runstate.Run`, a run as a JSON object (a mapping) or as JSON
                text (``str``/``bytes``), or an ``(event_name, data)`` pair whose data is
                any of those (or, for ``done``, the text ``[DONE]``).

        Raises:
            InvalidArgument: after :meth:`close` (a ``ValueError``, as writing to a
                closed file is). Bad items never raise: they are reported.
        """
        if (
            type(item) is tuple
            and len(item) == 2
            and type(item[0]) is str
            and not self._done
            and not self._closed
        ):  # an event pair, as parse_sse gives them: the usual item
            event, data = item
            position = self.position
            self.position += 1
            kind = _OBJECT_EVENTS.get(event)  # one look-up for the usual events
            if kind is None:
                pass
            elif kind is _QUIET:
                self._last_object = None  # a delta between them: no repeat
                return ()
            elif self._stream and (type(data) is str or type(data) is bytes):
                # a step or message object as text, as parse_sse gives it: the usual case
                last = self._last_object
                if last is not None:
                    if last[1] == event and type(data) is str and last[0] == data:
                        return ()  # the same object again, announcing the same status
                    self._last_object = None
                out: list[TraceProblem] = []
                try:
                    if kind is RunStep:
                        self._step_text(position, event, data, out)
                    else:
                        self._message_text(position, event, data, out)
                except Exception as exc:  # an object too deep to read
                    self._unreadable_data(position, event, exc, out)
                return tuple(out) if out else ()
            return self._event(position, event, data)
        if self._closed:
            raise InvalidArgument("checker", "feed() after close(): the checker is closed")
        position = self.position
        self.position += 1
        if self._done:
            if not self._after_done_reported:
                self._after_done_reported = True
                return (
                    TraceProblem(
                        position, "error", "after-done", "an item follows the 'done' event"
                    ),
                )
            return ()
        try:
            pair = _pair(item)
        except Exception as exc:  # a sequence that raises when it is read
            return (_unreadable(position, "the item", exc),)
        if pair is not None:
            return self._event(position, *pair)
        found: list[TraceProblem] = []
        self._run_item(position, None, item, found)
        return tuple(found)

    def _event(self, position: int, event: str, data: object) -> tuple[TraceProblem, ...]:
        """One event (``done`` not seen yet, the checker open)."""
        if self._last_object is not None and self._repeated(event, data):
            return ()  # the same object again, announcing the same status
        if event == _DONE_EVENT:
            self._done = True
            return ()
        found: list[TraceProblem] = []
        if event in _EVENT_STATUS:
            self._run_item(position, event, data, found)
        elif event in _STEP_WITH_RUN_ID:
            try:
                self._check_step(position, event, data, found)
            except Exception as exc:  # a step too deep to read, or a mapping that raises
                self._unreadable_data(position, event, exc, found)
        else:
            self._other_event(position, event, data, found)
        return tuple(found)

    def _run_item(
        self, position: int, event: str | None, data: object, found: list[TraceProblem]
    ) -> None:
        """A snapshot, or the data of a run event."""
        if not isinstance(data, Run | str | bytes | bytearray | Mapping):
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "invalid-item",
                    "expected a run, a JSON object or text, or an (event, data) pair, "
                    f"got {_clip(type(data).__name__)}",
                )
            )
            return
        self._saw_run = True
        try:
            prev = self._prev
            if prev is not None and type(data) in (str, bytes) and data == self._prev_raw:
                run = prev  # the same text as the last good snapshot: a repeated poll
            else:
                run = _parse(data)
        except InvalidRun as exc:
            found.append(TraceProblem(position, "error", "invalid-run", _describe(exc)))
            return
        except Exception as exc:  # a mapping (or a str/bytes subclass) that raises when read
            found.append(_unreadable(position, "the run", exc))
            return

        if event is not None:
            expected = _EVENT_STATUS[event]
            if run.status is not expected:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "event-status-mismatch",
                        f"event {event!r} carries status {run.status.value!r}"
                        f" (expected {expected.value!r})",
                    )
                )
        try:
            self._check_snapshot(position, run, found)
        except Exception as exc:  # a value the checks cannot handle (an enormous integer)
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "invalid-run",
                    f"the run cannot be checked: it raised {_clip(type(exc).__name__)}",
                )
            )
            return
        self._prev_raw = data
        if event is not None and self._stream:
            self._run_event(position, run, found)

    def _repeated(self, event: str, data: object) -> bool:
        """Whether this event repeats the object the event just before judged."""
        last = self._last_object
        if last is None:
            return False
        if last[1] == event and type(data) is str and last[0] == data:  # no str subclass
            return True
        self._last_object = None
        return False

    def close(self) -> tuple[TraceProblem, ...]:
        """End the trace; return the problems only its end reveals (at the last item).

        A trace that held no run at all (no snapshot, no run event; an empty trace too)
        is reported as ``no-run`` (error). A stream that ends without ``done`` at a
        status other than ``requires_action`` or a terminal one is reported as
        ``truncated-stream`` (warning). Calling it again returns nothing more.
        """
        if self._closed:
            return ()
        self._closed = True
        last = max(self.position - 1, 0)
        found: list[TraceProblem] = []
        if not self._saw_run:
            what = "snapshot" if not self._stream else "run event"
            found.append(
                TraceProblem(
                    last,
                    "error",
                    "no-run",
                    f"the trace holds no run (no {what} in {self.position} "
                    f"{'item' if self.position == 1 else 'items'})"
                    if self.position
                    else "the trace is empty: it holds no run",
                )
            )
        if not self._stream or self._done or self.position == 0:
            return tuple(found)
        prev = self._prev
        if prev is not None and prev.status in _STREAM_STOPS:
            return tuple(found)
        where = f"at status {prev.status.value!r}" if prev is not None else "before any run event"
        found.append(
            TraceProblem(
                last,
                "warning",
                "truncated-stream",
                f"the stream ends {where} without a 'done' event",
            )
        )
        return tuple(found)

    # ----------------------------------------------------------------------------------

    def _other_event(
        self, position: int, event: str, data: object, found: list[TraceProblem]
    ) -> None:
        """An event that is neither a run event, a step's, nor ``done``: a message, or skipped."""
        if event in _MESSAGE_EVENT_STATUS:
            if self._stream:
                try:
                    self._check_message(position, event, data, found)
                except Exception as exc:  # a message too deep to read, or a mapping that raises
                    self._unreadable_data(position, event, exc, found)
        elif event.startswith(_RUN_PREFIX) and not event.startswith(_STEP_PREFIX):
            found.append(
                TraceProblem(
                    position,
                    "warning",
                    "unknown-run-event",
                    f"unknown run event {_show(event)} (skipped)",
                )
            )
        # other step and message events carry no object to judge

    @staticmethod
    def _unreadable_data(
        position: int, event: str, exc: Exception, found: list[TraceProblem]
    ) -> None:
        if isinstance(exc, RecursionError):
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "invalid-item",
                    f"the data of {_show(event)} is nested too deeply to read",
                )
            )
        else:
            found.append(_unreadable(position, f"the data of {_show(event)}", exc))

    def _check_step(
        self, position: int, event: str, data: object, found: list[TraceProblem]
    ) -> None:
        if self._stream and (type(data) is str or type(data) is bytes):
            self._step_text(position, event, data, found)
        else:
            self._check_step_slowly(position, event, data, found)

    def _step_text(
        self, position: int, event: str, data: str | bytes, found: list[TraceProblem]
    ) -> None:
        """A step event's text (stream mode): judged from the decoded object if valid."""
        obj = _checked(RunStep, data)
        if obj is None:
            self._check_step_slowly(position, event, data, found)
            return
        run_id = obj["run_id"]
        prev = self._prev
        if (prev is None or run_id != prev.id) and not self._check_run_id(
            position, event, run_id, found
        ):
            return  # another run's step: its own life is not this run's
        details = obj["step_details"]
        status = _STEP_STATUS[obj["status"]]
        get = obj.get
        details_type = details["type"]
        self._judge_step(
            position,
            event,
            obj["id"],
            status,
            obj["type"],
            details["message_creation"]["message_id"]
            if details_type == "message_creation"
            else None,
            _step_rules(
                status,
                obj["type"],
                details_type,
                obj["created_at"],
                (get("completed_at"), get("cancelled_at"), get("failed_at")),
                get("last_error") is not None,
                get("usage") is not None,
            ),
            obj,
            found,
        )
        if not found and type(data) is str and event in _REPEATS:
            self._last_object = (data, _REPEATS[event])

    def _check_step_slowly(
        self, position: int, event: str, data: object, found: list[TraceProblem]
    ) -> None:
        """A step event the fast way declined: not text, not a valid step, or poll mode."""
        step: RunStep | None = None
        if isinstance(data, str | bytes | bytearray):
            text = _plain(data)
            if self._stream:
                try:  # a whole step: one decode gives both its run and its judgement
                    step = parse_step(text)
                except InvalidRun:
                    step = None
            if step is None:
                try:
                    data = json.loads(text)
                except ValueError:
                    return  # not JSON: not a step to judge
        if step is not None:
            run_id: object = step.run_id
        elif isinstance(data, Mapping):
            run_id = data.get("run_id")
        else:
            return
        if not isinstance(run_id, str):
            return
        if not self._check_run_id(position, event, str.__str__(run_id), found):
            return  # another run's step: its own life is not this run's
        if not self._stream or (
            step is None and not (isinstance(data, Mapping) and "status" in data)
        ):
            return  # a partial step object: checked for its run only
        if step is None:
            try:
                step = parse_step(data)  # type: ignore[arg-type]
            except InvalidRun as exc:
                found.append(TraceProblem(position, "error", "invalid-step", _describe(exc)))
                return
        details = step.step_details
        message_id = (
            details.message_creation.message_id if type(details) is MessageCreationDetails else None
        )
        self._judge_step(
            position, event, step.id, step.status, step.type, message_id, step_violations(step),
            step, found,
        )  # fmt: skip
        self._remember(event, data, found)

    def _remember(self, event: str, data: object, found: list[TraceProblem]) -> None:
        """Keep the text of a ``created`` object judged clean: its ``in_progress`` may repeat it."""
        if not found and type(data) is str:
            follows = _REPEATS.get(event)
            if follows is not None:
                self._last_object = (data, follows)

    def _check_run_id(
        self, position: int, event: str, run_id: str, found: list[TraceProblem]
    ) -> bool:
        """Whether a step's ``run_id`` is this trace's run (reporting ``foreign-step``)."""
        prev = self._prev
        if prev is not None:
            if run_id != prev.id:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "foreign-step",
                        f"{_show(event)} belongs to run {_show(run_id)}, not to {_show(prev.id)}",
                    )
                )
                return False
        elif self._early_step_run is None:
            self._early_step_run = run_id
            self._early_step_position = position
        elif run_id != self._early_step_run:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "foreign-step",
                    f"{_show(event)} belongs to run {_show(run_id)}, but the step event at "
                    f"item {self._early_step_position} belongs to {_show(self._early_step_run)}",
                )
            )
            return False
        return True

    def _after_run_end(self, position: int, event: str, found: list[TraceProblem]) -> None:
        if self._run_ended:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "after-run-end",
                    f"{_show(event)} comes after the run's terminal event",
                )
            )

    def _judge_step(
        self,
        position: int,
        event: str,
        step_id: str,
        status: StepStatus,
        step_type: str,
        message_id: str | None,
        problems: tuple[Violation, ...],
        source: RunStep | dict[str, Any],
        found: list[TraceProblem],
    ) -> None:
        """The step rules, given what they read of one valid step object.

        ``problems`` are its own :func:`~runstate.steps.step_violations`; ``source`` is
        the step, or its decoded JSON (checked valid), read only if a rule needs more.
        """
        self._steps_judged = True
        expected = _STEP_EVENT_STATUS[event]
        if status is not expected:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "step-event-status-mismatch",
                    f"event {event!r} carries step status {status.value!r}"
                    f" (expected {expected.value!r})",
                )
            )
        for v in problems:
            found.append(TraceProblem(position, v.severity, v.rule, f"{v.field}: {v.message}"))
        if self._run_ended:
            self._after_run_end(position, event, found)
        open_steps = self._open_steps
        opened = open_steps.get(step_id)
        if opened is None:
            if status is _SP and not self._run_ended:
                if len(open_steps) < MAX_OPEN:
                    open_steps[step_id] = (step_type, message_id)
                else:
                    self._follow(position, open_steps, step_id, (step_type, message_id), found)
            return  # first seen here: the stream may have begun after it opened
        if event == _STEP_CREATED or (
            status is not _SP and status not in _STEP_ENDS
        ):  # pragma: no branch - every end status is an edge of the table today
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "step-status-illegal",
                    f"step {_show(step_id)} is created again while it is open",
                )
            )
            return
        if status is _SP:
            return
        del open_steps[step_id]
        if opened[1] is not None and opened[1] in self._open_messages:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "step-before-message",
                    f"step {_show(step_id)} ends {status.value!r} while its message "
                    f"{_show(opened[1])} is still 'in_progress'",
                )
            )
        prev = self._prev
        if (
            status is StepStatus.COMPLETED
            and prev is not None
            and prev.status is RunStatus.REQUIRES_ACTION
        ):
            missing = _missing_outputs(source)
            if missing:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "tool-output-missing",
                        f"step {_show(step_id)} completes without the output of "
                        f"{_clip(', '.join(missing))}",
                    )
                )

    def _follow(
        self,
        position: int,
        table: dict[str, _OpenStep] | set[str],
        key: str,
        value: _OpenStep | None,
        found: list[TraceProblem],
    ) -> None:
        """Remember an open step or message, unless MAX_OPEN are already followed."""
        if len(table) < MAX_OPEN:
            if isinstance(table, dict):
                assert value is not None
                table[key] = value
            else:
                table.add(key)
            return
        if not self._too_many_reported:
            self._too_many_reported = True
            found.append(
                TraceProblem(
                    position,
                    "warning",
                    "too-many-open-steps",
                    f"more than {MAX_OPEN} steps or messages open at once;"
                    " the others are not followed",
                )
            )

    def _check_message(
        self, position: int, event: str, data: object, found: list[TraceProblem]
    ) -> None:
        if type(data) is str or type(data) is bytes:
            self._message_text(position, event, data, found)
            return
        if isinstance(data, str | bytes | bytearray):
            text = _plain(data)
            if b'"status"' not in text if isinstance(text, bytes) else '"status"' not in text:
                return
            self._parse_message(position, event, text, found)
        elif isinstance(data, Mapping) and "status" in data:
            self._parse_message(position, event, data, found)
        # else a partial message object: not judged

    def _message_text(
        self, position: int, event: str, data: str | bytes, found: list[TraceProblem]
    ) -> None:
        """A message event's text (stream mode): judged from the decoded object if valid."""
        if (b'"status"' if type(data) is bytes else '"status"') not in data:  # type: ignore[operator]
            return  # a partial message object: not judged
        obj = _checked(Message, data)
        if obj is None:
            self._parse_message(position, event, data, found)
            return
        get = obj.get
        status = obj["status"]
        self._judge_message(
            position, event, data, obj["id"], get("run_id"), status,
            _message_rules(
                status,
                obj["created_at"],
                get("completed_at"),
                get("incomplete_at"),
                get("incomplete_details") is not None,
            ),
            found,
        )  # fmt: skip

    def _parse_message(
        self,
        position: int,
        event: str,
        data: str | bytes | Mapping[str, Any],
        found: list[TraceProblem],
    ) -> None:
        try:
            message = parse_message(data)
        except InvalidRun as exc:
            found.append(TraceProblem(position, "error", "invalid-message", _describe(exc)))
            return
        self._judge_message(
            position, event, data, message.id, message.run_id, message.status,
            message_violations(message), found,
        )  # fmt: skip

    def _judge_message(
        self,
        position: int,
        event: str,
        data: object,
        message_id: str,
        run_id: str | None,
        status: str,
        problems: tuple[Violation, ...],
        found: list[TraceProblem],
    ) -> None:
        """The message rules, given what they read of one valid message object."""
        prev = self._prev
        if run_id is not None and prev is not None and run_id != prev.id:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "foreign-message",
                    f"{_show(event)} belongs to run {_show(run_id)}, not to {_show(prev.id)}",
                )
            )
            return
        expected = _MESSAGE_EVENT_STATUS[event]
        if status != expected:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "message-event-status-mismatch",
                    f"event {event!r} carries message status {status!r} (expected {expected!r})",
                )
            )
        for v in problems:
            found.append(TraceProblem(position, v.severity, v.rule, f"{v.field}: {v.message}"))
        self._after_run_end(position, event, found)
        is_open = message_id in self._open_messages
        if event == _MESSAGE_CREATED and is_open:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "message-status-illegal",
                    f"message {_show(message_id)} is created again while it is open",
                )
            )
        elif status == "in_progress":
            if not is_open and not self._run_ended:
                self._follow(position, self._open_messages, message_id, None, found)
        elif is_open:
            self._open_messages.discard(message_id)
        self._remember(event, data, found)

    def _run_event(self, position: int, run: Run, found: list[TraceProblem]) -> None:
        """The step and message rules a run event brings (stream mode)."""
        status = run.status
        if status is RunStatus.REQUIRES_ACTION:
            if self._steps_judged and not any(
                s[0] == "tool_calls" for s in self._open_steps.values()
            ):
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "tool-step-closed-early",
                        "the run requires action but no tool_calls step is open"
                        " (it stays open until the outputs are submitted)",
                    )
                )
        elif status is RunStatus.QUEUED and self._open_steps:
            still = [i for i, s in self._open_steps.items() if s[0] == "tool_calls"]
            if still:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "tool-step-not-completed",
                        f"the run is queued again while tool_calls step "
                        f"{_show(still[0])} is open (it completes with the outputs first)",
                    )
                )
        elif status in TERMINAL_STATUSES and not self._run_ended:
            self._run_ended = True
            if self._open_steps:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "step-open-at-run-end",
                        f"the run is {status.value!r} while step "
                        f"{_show(next(iter(self._open_steps)))} is still 'in_progress'"
                        f" ({len(self._open_steps)} open)",
                    )
                )
            if self._open_messages:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "message-open-at-run-end",
                        f"the run is {status.value!r} while {len(self._open_messages)}"
                        " message(s) are still 'in_progress'",
                    )
                )
            self._open_steps.clear()
            self._open_messages.clear()

    def _check_snapshot(self, position: int, run: Run, found: list[TraceProblem]) -> None:
        prev = self._prev
        if prev is not None and run == prev:
            # A repeated poll: nothing changed, so nothing new but its own violations.
            own = self._prev_violations
        else:
            own = violations(run)
            if prev is not None:
                self._compare(position, prev, run, found)
            elif self._early_step_run is not None and self._early_step_run != run.id:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "foreign-step",
                        f"the step events before this run event (from item "
                        f"{self._early_step_position}) belong to run "
                        f"{_show(self._early_step_run)}, not to {_show(run.id)}",
                    )
                )
        for v in own:
            found.append(TraceProblem(position, v.severity, v.rule, f"{v.field}: {v.message}"))
        self._prev = run
        self._prev_violations = own

    def _compare(self, position: int, prev: Run, run: Run, found: list[TraceProblem]) -> None:
        found.extend(changed_fields(position, prev, run, _IDENTITY))
        src, dst = prev.status, run.status
        if src is not dst:
            if not can_reach(src, dst):
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "status-unreachable",
                        f"{dst.value!r} cannot follow {src.value!r}",
                    )
                )
            elif self._stream and not can_transition(src, dst):
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "status-skipped",
                        f"{src.value!r} -> {dst.value!r} is not one transition;"
                        " a stream announces every status",
                    )
                )
        if src in TERMINAL_STATUSES:
            if dst is not src:
                return  # leaving a terminal status is the one problem; its fields follow
            note = " (only metadata may change)"
            found.extend(settled_fields(position, prev, run, _FROZEN_AFTER_TERMINAL, note))
            return
        self._check_timestamps(position, prev, run, found)

    def _check_timestamps(
        self, position: int, prev: Run, run: Run, found: list[TraceProblem]
    ) -> None:
        old, new = prev.started_at, run.started_at
        if old is not None and new != old:
            if new is None:
                found.append(_rewritten(position, "started_at", old, new))
            elif new < old or (prev.status, run.status) not in self._resets:
                found.append(
                    _rewritten(
                        position,
                        "started_at",
                        old,
                        new,
                        " (it is reset only when the run re-enters 'in_progress'"
                        " after tool outputs)",
                    )
                )
        for name in _END_TIMESTAMPS:
            old, new = getattr(prev, name), getattr(run, name)
            if old is not None and new != old:
                found.append(_rewritten(position, name, old, new))
        old, new = prev.expires_at, run.expires_at
        if old is not None and new != old and not (new is None and run.status in TERMINAL_STATUSES):
            what = "cleared" if new is None else f"changed from {old} to {new}"
            found.append(
                TraceProblem(
                    position,
                    "warning",
                    "expires-at-changed",
                    f"expires_at {what} while the run is {run.status.value!r}"
                    " (the real API keeps it until the end)",
                )
            )


@functools.cache
def _checks(guarded: bool) -> dict[type, Callable[[Any], Any]]:
    """Check-only structure functions, generated on first use from the one schema.

    :func:`runstate._codegen.generate` with ``check_only``: the parse's own checks,
    emitted by the same code, without building anything (``guarded``: for orjson's
    output, as :data:`runstate._codegen.GUARDED_HOOKS`).
    """
    return generate(guard_floats=guarded, check_only=True)


def _checked(cls: type, text: str | bytes) -> dict[str, Any] | None:
    """``text`` decoded, if parsing it as ``cls`` succeeds; else ``None``.

    Decoded as the parse decodes it (orjson when in use, else the standard library)
    and checked by the check-only functions: they refuse exactly what the parse's
    generated code refuses, so an object returned here is one the parse accepts, with
    the same field values. ``None`` leaves the verdict (and the explanation) to the
    parse itself, which may still accept text orjson cannot be trusted with.
    """
    fast = _serde._fast_loads
    try:
        if fast is not None:
            obj = fast(text)
            _checks(True)[cls](obj)
        else:
            obj = decode(text)
            _checks(False)[cls](obj)
    except Exception:  # refused, or unreadable: the parse decides
        return None
    return obj  # type: ignore[no-any-return]


def _missing_outputs(step: RunStep | dict[str, Any]) -> list[str]:
    """The ids of a step's function calls whose ``output`` is null.

    From the step, or from its decoded JSON once checked valid: there each call's
    ``type`` tells its class (the parse dispatches on it) and a missing ``output`` reads
    as the model's default (null).
    """
    if type(step) is dict:
        details = step["step_details"]
        if details["type"] != "tool_calls":
            return []
        return [
            c["id"]
            for c in details["tool_calls"]
            if c["type"] == "function" and c["function"].get("output") is None
        ]
    calls = getattr(step.step_details, "tool_calls", ())  # type: ignore[union-attr]
    return [c.id for c in calls if type(c) is FunctionToolCall and c.function.output is None]


def _rewritten(position: int, name: str, old: int, new: int | None, why: str = "") -> TraceProblem:
    what = f"unset (it was {old})" if new is None else f"rewritten from {old} to {new}{why}"
    return TraceProblem(position, "error", "timestamp-rewritten", f"{name} {what}")


def _pair(item: object) -> tuple[str, object] | None:
    """``(event, data)`` if the item is an event pair (the name as a plain ``str``)."""
    if isinstance(item, tuple | list) and len(item) == 2:
        event, data = item
        if isinstance(event, str):
            return str.__str__(event), data  # the text itself, whatever a subclass says
    return None


def _plain(data: str | bytes | bytearray) -> str | bytes:
    """The text or bytes themselves, not a subclass that may answer otherwise."""
    return str.__str__(data) if isinstance(data, str) else bytes(memoryview(data))


def _parse(data: Run | str | bytes | bytearray | Mapping[Any, Any]) -> Run:
    if isinstance(data, Run):
        return data
    if isinstance(data, str | bytes | bytearray):
        return parse_run(_plain(data))
    return parse_run(data)


def _unreadable(position: int, what: str, exc: Exception) -> TraceProblem:
    return TraceProblem(
        position,
        "error",
        "invalid-item",
        f"{what} cannot be read: it raised {_clip(type(exc).__name__)}",
    )


def check_trace(
    items: Iterable[Any], *, mode: Mode, max_problems: int | None = DEFAULT_MAX_PROBLEMS
) -> TraceReport:
    """Check a trace of one run against the lifecycle, in constant memory.

    ``items`` may be any iterable (a generator reading a file, for example); it is read
    once, and only the previous snapshot is kept. The report keeps the first
    ``max_problems`` errors and the first ``max_problems`` warnings, in trace order, and
    counts the others (:attr:`TraceReport.omitted_errors`,
    :attr:`TraceReport.omitted_warnings`), so a long trace full of problems cannot fill
    memory either; ``ok`` counts omitted errors too. To see every problem as it is found,
    feed a :class:`TraceChecker` yourself.

    ``mode="poll"``: snapshots from polling or listing. Repeats are fine, and a status
    change must be *reachable* in the table (polls may miss statuses).
    ``mode="stream"``: the events of one server-sent-event stream, as ``(event, data)``
    pairs (see :func:`~runstate.parse_sse`). Each status change must be exactly one edge,
    the event name must match the data's status, nothing may follow ``done``, and a stream
    must end with ``done`` or at ``requires_action`` or a terminal status (else a
    ``truncated-stream`` warning). Non-run events are skipped but keep their positions;
    step events naming another run are reported.

    In both modes the fields that identify a run never change, nothing but ``metadata``
    changes after a terminal status, timestamps are never unset or rewritten (except
    ``started_at``, reset on re-entering ``in_progress`` after tool outputs, and
    ``expires_at``, cleared at the end), and every snapshot's own
    :func:`~runstate.violations` are reported at its position. The module docstring lists
    every rule.

    Args:
        items: :class:`~runstate.Run` values, runs as JSON objects or JSON text, or
            ``(event_name, data)`` pairs.
        mode: ``"poll"`` or ``"stream"``.
        max_problems: How many problems of each severity the report keeps (1000 by
            default); ``None`` keeps them all, in memory that grows with the trace.

    Returns:
        A :class:`TraceReport`: ``ok`` when no problem is an error.

    Raises:
        InvalidArgument: for an unknown ``mode``, ``items`` that are not iterable, or a
            ``max_problems`` that is not ``None`` or a non-negative integer. Bad data
            never raises: it is reported.

    Example:
        >>> def snap(status, **fields):
        ...     return {"id": "run_1", "object": "thread.run", "created_at": 100,
        ...             "thread_id": "t", "assistant_id": "a", "model": "m",
        ...             "status": status, "expires_at": 700, **fields}
        >>> polled = [snap("queued"), snap("in_progress", started_at=101),
        ...           snap("queued", started_at=101)]
        >>> report = check_trace(polled, mode="poll")
        >>> report.ok
        True
        >>> report = check_trace([snap("queued"), snap("cancelling", started_at=101),
        ...                       snap("in_progress", started_at=101)], mode="poll")
        >>> [str(p) for p in report.problems]
        ["2: error status-unreachable: 'in_progress' cannot follow 'cancelling'"]
        >>> report = check_trace([snap("queued", max_prompt_tokens=1)] * 5, mode="poll",
        ...                      max_problems=2)
        >>> len(report.warnings), report.omitted_warnings, report.warning_count
        (2, 3, 5)
    """
    return collect(TraceChecker(mode=mode), items, max_problems)


class Checker(Protocol):
    """What :func:`collect` drives: an incremental checker of one machine's traces."""

    @property
    def position(self) -> int:
        """How many items were fed."""

    def feed(self, item: object) -> tuple[TraceProblem, ...]:
        """Judge one more item."""

    def close(self) -> tuple[TraceProblem, ...]:
        """Judge the end of the trace."""


def collect(checker: Checker, items: Iterable[Any], max_problems: int | None) -> TraceReport:
    """Feed ``items`` to ``checker`` and collect a bounded :class:`TraceReport`.

    The one collection loop of every machine's ``check_trace`` (the run's, and a
    sibling's such as :func:`runstate.responses.check_trace`).

    Raises:
        InvalidArgument: for ``items`` that are not iterable (or are text, bytes or a
            mapping), or a ``max_problems`` that is not ``None`` or an int >= 0.
    """
    if max_problems is not None and (
        type(max_problems) is not int or max_problems < 0  # bool is no count
    ):
        raise InvalidArgument.expected("max_problems", "None or an int >= 0", max_problems)
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
        # a str, bytes or mapping would be read as its characters or keys, one per item
        raise InvalidArgument.expected("items", "an iterable of snapshots or events", items)
    problems: list[TraceProblem] = []
    kept = {"error": 0, "warning": 0}
    omitted = {"error": 0, "warning": 0}

    def keep(found: tuple[TraceProblem, ...]) -> None:
        for problem in found:
            if max_problems is None or kept[problem.severity] < max_problems:
                kept[problem.severity] += 1
                problems.append(problem)
            else:
                omitted[problem.severity] += 1

    feed = checker.feed
    for item in items:
        found = feed(item)
        if found:
            keep(found)
    keep(checker.close())
    return TraceReport(
        problems=tuple(problems),
        checked=checker.position,
        omitted_errors=omitted["error"],
        omitted_warnings=omitted["warning"],
    )
