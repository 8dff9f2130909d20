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

from collections.abc import Iterable
from typing import Any, Final

from ._engine.trace import (
    DEFAULT_MAX_PROBLEMS,
    Checker,
    Mode,
    TraceProblem,
    TraceReport,
    changed_fields,
    checked_mode,
    collect,
    pair,
    settled_fields,
    show,
    unreadable,
)
from ._errors import InvalidArgument
from ._judges import (
    EVENT_STATUS,
    MAX_OPEN,
    MESSAGE_EVENT_STATUS,
    MESSAGE_PREFIX,
    STEP_PREFIX,
    STEP_WITH_RUN_ID,
    RunJudge,
    StepJudge,
    unreadable_data,
)
from ._model import Message, RunStep
from ._operations import STREAM_END_STATUSES

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

_RUN_PREFIX: Final = "thread.run."
_DONE_EVENT: Final = "done"

_QUIET: Final = frozenset({f"{STEP_PREFIX}delta", f"{MESSAGE_PREFIX}delta"})


#: Events that carry a whole step or message object -> its class (the usual text of
#: these takes :meth:`TraceChecker.feed`'s shortest way).
#: Deltas map to :data:`_QUIET` itself.
_OBJECT_EVENTS: Final[dict[str, object]] = (
    dict.fromkeys(STEP_WITH_RUN_ID, RunStep)
    | dict.fromkeys(MESSAGE_EVENT_STATUS, Message)
    | dict.fromkeys(_QUIET, _QUIET)
)


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
        mode = checked_mode(mode)
        self.mode: Mode = mode
        self._stream = mode == "stream"
        #: How many items have been fed; the next item's position.
        self.position = 0
        self._done = False
        self._after_done_reported = False
        self._closed = False
        #: The run judge and the step and message judge (stream mode).
        self._runs = RunJudge(mode)
        self._steps = StepJudge(self._runs)

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
            steps = self._steps
            kind = _OBJECT_EVENTS.get(event)  # one look-up for the usual events
            if kind is None:
                pass
            elif kind is _QUIET:
                steps.last_object = None  # a delta between them: no repeat
                return ()
            elif self._stream and (type(data) is str or type(data) is bytes):
                # a step or message object as text, as parse_sse gives it: the usual case
                last = steps.last_object
                if last is not None:
                    if last[1] == event and type(data) is str and last[0] == data:
                        return ()  # the same object again, announcing the same status
                    steps.last_object = None
                out: list[TraceProblem] = []
                try:
                    if kind is RunStep:
                        steps.step_text(position, event, data, out)
                    else:
                        steps.message_text(position, event, data, out)
                except Exception as exc:  # an object too deep to read
                    unreadable_data(position, event, exc, out)
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
            event_pair = pair(item)
        except Exception as exc:  # a sequence that raises when it is read
            return (unreadable(position, "the item", exc),)
        if event_pair is not None:
            return self._event(position, *event_pair)
        found: list[TraceProblem] = []
        self._run_item(position, None, item, found)
        return tuple(found)

    def _event(self, position: int, event: str, data: object) -> tuple[TraceProblem, ...]:
        """One event (``done`` not seen yet, the checker open)."""
        if self._steps.last_object is not None and self._repeated(event, data):
            return ()  # the same object again, announcing the same status
        if event == _DONE_EVENT:
            self._done = True
            return ()
        found: list[TraceProblem] = []
        if event in EVENT_STATUS:
            self._run_item(position, event, data, found)
        elif event in STEP_WITH_RUN_ID:
            try:
                self._steps.check_step(position, event, data, found)
            except Exception as exc:  # a step too deep to read, or a mapping that raises
                unreadable_data(position, event, exc, found)
        else:
            self._other_event(position, event, data, found)
        return tuple(found)

    def _run_item(
        self, position: int, event: str | None, data: object, found: list[TraceProblem]
    ) -> None:
        """A snapshot, or the data of a run event: the run judge, then its steps' rules."""
        run = self._runs.judge(position, event, data, found)
        if run is not None and event is not None and self._stream:
            self._steps.run_event(position, run, found)

    def _repeated(self, event: str, data: object) -> bool:
        """Whether this event repeats the object the event just before judged."""
        steps = self._steps
        last = steps.last_object
        if last is None:
            return False
        if last[1] == event and type(data) is str and last[0] == data:  # no str subclass
            return True
        steps.last_object = None
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
        if not self._runs.saw_run:
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
        prev = self._runs.prev
        if prev is not None and prev.status in STREAM_END_STATUSES:
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
        if event in MESSAGE_EVENT_STATUS:
            if self._stream:
                try:
                    self._steps.check_message(position, event, data, found)
                except Exception as exc:  # a message too deep to read, or a mapping that raises
                    unreadable_data(position, event, exc, found)
        elif event.startswith(_RUN_PREFIX) and not event.startswith(STEP_PREFIX):
            found.append(
                TraceProblem(
                    position,
                    "warning",
                    "unknown-run-event",
                    f"unknown run event {show(event)} (skipped)",
                )
            )
        # other step and message events carry no object to judge


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
