"""The judges behind :class:`runstate.TraceChecker`: one for the run, one for its steps.

:class:`RunJudge` judges each snapshot of the run (a polled snapshot, or a run event's
data): parsing, the event's status, the snapshot's own violations, and what may follow
the previous snapshot. :class:`StepJudge` judges the step and message events of a
stream, following the open steps and messages (:class:`OpenItems`) against the run's
moves. :class:`runstate.TraceChecker` reads each item and hands it to one of them; the
rules are listed in :mod:`runstate._trace`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeAlias

import attrs

from ._engine import serde as _engine_serde
from ._engine.codegen import generate
from ._engine.jsonio import decode
from ._engine.trace import (
    Mode,
    TraceProblem,
    changed_fields,
    clip,
    describe,
    plain,
    settled_fields,
    show,
    unreadable,
)
from ._errors import InvalidRun
from ._invariants import Violation, violations
from ._model import (
    MESSAGE_CREATION,
    MESSAGE_IN_PROGRESS,
    MESSAGE_STATUSES,
    TOOL_CALLS,
    FunctionToolCall,
    Message,
    MessageCreationDetails,
    MessageStatus,
    Run,
    RunStep,
    StepStatus,
)
from ._serde import parse_run
from ._status import TERMINAL_STATUSES, RunStatus
from ._step_table import (
    STEP_TRANSITIONS,
    message_rules,
    message_violations,
    parse_message,
    parse_step,
    step_rules,
    step_violations,
)
from ._table import can_reach, can_transition

__all__ = [
    "CREATED",
    "EVENT_STATUS",
    "MAX_OPEN",
    "MESSAGE_EVENT_STATUS",
    "MESSAGE_PREFIX",
    "STEP_PREFIX",
    "STEP_WITH_RUN_ID",
    "OpenItems",
    "RunJudge",
    "StepJudge",
    "unreadable_data",
]

#: How many open steps (and, separately, open messages) the checker follows at once.
MAX_OPEN: Final = 256

#: Fields that identify a run and never change (issue: "never change").
_IDENTITY: Final = ("id", "object", "thread_id", "assistant_id", "created_at")
#: Timestamps that, once set, are never unset or rewritten.
_END_TIMESTAMPS: Final = ("cancelled_at", "failed_at", "completed_at")
#: Fields compared after a terminal status: everything but metadata (and bookkeeping).
_FROZEN_AFTER_TERMINAL: Final = tuple(
    f.name for f in attrs.fields(Run) if f.name not in {*_IDENTITY, "status", "metadata", "absent"}
)

CREATED: Final = "thread.run.created"
STEP_PREFIX: Final = "thread.run.step."
MESSAGE_PREFIX: Final = "thread.message."
#: Run event name -> the status its data must carry (spec-facts §1.5).
EVENT_STATUS: Final[dict[str, RunStatus]] = {s.event: s for s in RunStatus} | {
    CREATED: RunStatus.QUEUED
}
#: Step events that carry a whole step object (``delta`` carries only the step id).
STEP_WITH_RUN_ID: Final = frozenset({f"{STEP_PREFIX}created"} | {s.event for s in StepStatus})
#: Step event name -> the status its data carries.
_STEP_EVENT_STATUS: Final[dict[str, StepStatus]] = {s.event: s for s in StepStatus} | {
    f"{STEP_PREFIX}created": StepStatus.IN_PROGRESS
}
_SP: Final = StepStatus.IN_PROGRESS
#: The statuses an open step may end in (the step table's edges from ``in_progress``).
_STEP_ENDS: Final = STEP_TRANSITIONS[_SP]
_STEP_CREATED: Final = f"{STEP_PREFIX}created"
_MESSAGE_CREATED: Final = f"{MESSAGE_PREFIX}created"
#: A step's wire status -> its member.
_STEP_STATUS: Final[dict[str, StepStatus]] = {s.value: s for s in StepStatus}
#: Message event name -> the status its data carries.
MESSAGE_EVENT_STATUS: Final[dict[str, MessageStatus]] = {
    f"{MESSAGE_PREFIX}{s}": s for s in MESSAGE_STATUSES
} | {f"{MESSAGE_PREFIX}created": MESSAGE_IN_PROGRESS}

#: A ``created`` event -> the event that may repeat its object unchanged: a step's or a
#: message's ``in_progress`` carries the same object as its ``created`` (spec-facts §11).
#: Such a repeat, right after (no delta between), is checked once: judging it again could
#: find nothing new. Any other repeat (``created`` twice) is judged in full.
_REPEATS: Final[dict[str, str]] = {
    f"{STEP_PREFIX}created": StepStatus.IN_PROGRESS.event,
    f"{MESSAGE_PREFIX}created": f"{MESSAGE_PREFIX}{MESSAGE_IN_PROGRESS}",
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


@functools.cache
def _checks(guarded: bool) -> dict[type, Callable[[Any], Any]]:
    """Check-only structure functions, generated on first use from the one schema.

    :func:`runstate._engine.codegen.generate` with ``check_only``: the parse's own checks,
    emitted by the same code, without building anything (``guarded``: for orjson's
    output, as :data:`runstate._engine.codegen.GUARDED_HOOKS`).
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
    fast = _engine_serde.fast_loads
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
        if details["type"] != TOOL_CALLS:
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


def _parse(data: Run | str | bytes | bytearray | Mapping[Any, Any]) -> Run:
    if isinstance(data, Run):
        return data
    if isinstance(data, str | bytes | bytearray):
        return parse_run(plain(data))
    return parse_run(data)


def unreadable_data(position: int, event: str, exc: Exception, found: list[TraceProblem]) -> None:
    """An ``invalid-item`` error for an event's data that raised when it was read."""
    if isinstance(exc, RecursionError):
        found.append(
            TraceProblem(
                position,
                "error",
                "invalid-item",
                f"the data of {show(event)} is nested too deeply to read",
            )
        )
    else:
        found.append(unreadable(position, f"the data of {show(event)}", exc))


class RunJudge:
    """Judges each snapshot of the run against the one before, and owns the run's identity.

    Its state is the previous good snapshot, its violations and its data as given, and
    the run the step events named before any run event was seen.
    """

    def __init__(self, mode: Mode) -> None:
        self.stream = mode == "stream"
        self.resets = _RESETS[mode]
        #: The last good snapshot.
        self.prev: Run | None = None
        self.prev_violations: tuple[Violation, ...] = ()
        #: The last good snapshot's data as given (text is compared, not parsed again).
        self.prev_raw: object = None
        #: Whether any item was a run (a snapshot or a run event's data), good or not.
        self.saw_run = False
        #: The run the step events before the first run event named, and where.
        self.early_step_run: str | None = None
        self.early_step_position = 0

    def judge(
        self, position: int, event: str | None, data: object, found: list[TraceProblem]
    ) -> Run | None:
        """A snapshot, or the data of a run event: the run, if it was judged."""
        if not isinstance(data, Run | str | bytes | bytearray | Mapping):
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "invalid-item",
                    "expected a run, a JSON object or text, or an (event, data) pair, "
                    f"got {clip(type(data).__name__)}",
                )
            )
            return None
        self.saw_run = True
        try:
            prev = self.prev
            if prev is not None and type(data) in (str, bytes) and data == self.prev_raw:
                run = prev  # the same text as the last good snapshot: a repeated poll
            else:
                run = _parse(data)
        except InvalidRun as exc:
            found.append(TraceProblem(position, "error", "invalid-run", describe(exc)))
            return None
        except Exception as exc:  # a mapping (or a str/bytes subclass) that raises when read
            found.append(unreadable(position, "the run", exc))
            return None

        if event is not None:
            expected = EVENT_STATUS[event]
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
                    f"the run cannot be checked: it raised {clip(type(exc).__name__)}",
                )
            )
            return None
        self.prev_raw = data
        return run

    def owns(self, position: int, event: str, run_id: str, found: list[TraceProblem]) -> bool:
        """Whether a step's ``run_id`` is this trace's run (reporting ``foreign-step``)."""
        prev = self.prev
        if prev is not None:
            if run_id != prev.id:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "foreign-step",
                        f"{show(event)} belongs to run {show(run_id)}, not to {show(prev.id)}",
                    )
                )
                return False
        elif self.early_step_run is None:
            self.early_step_run = run_id
            self.early_step_position = position
        elif run_id != self.early_step_run:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "foreign-step",
                    f"{show(event)} belongs to run {show(run_id)}, but the step event at "
                    f"item {self.early_step_position} belongs to {show(self.early_step_run)}",
                )
            )
            return False
        return True

    def _check_snapshot(self, position: int, run: Run, found: list[TraceProblem]) -> None:
        prev = self.prev
        if prev is not None and run == prev:
            # A repeated poll: nothing changed, so nothing new but its own violations.
            own = self.prev_violations
        else:
            own = violations(run)
            if prev is not None:
                self._compare(position, prev, run, found)
            elif self.early_step_run is not None and self.early_step_run != run.id:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "foreign-step",
                        f"the step events before this run event (from item "
                        f"{self.early_step_position}) belong to run "
                        f"{show(self.early_step_run)}, not to {show(run.id)}",
                    )
                )
        for v in own:
            found.append(TraceProblem(position, v.severity, v.rule, f"{v.field}: {v.message}"))
        self.prev = run
        self.prev_violations = own

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
            elif self.stream and not can_transition(src, dst):
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
            elif new < old or (prev.status, run.status) not in self.resets:
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


class OpenItems:
    """The steps and messages a stream has open, and what the run's events do to them.

    The checker keeps state for open steps and messages only (at most :data:`MAX_OPEN`
    of each), so its memory stays bounded.
    """

    def __init__(self, run: RunJudge) -> None:
        #: The run's judge: its last snapshot is the run the steps belong to.
        self.run = run
        self.stream = run.stream
        #: Open steps and messages (stream mode), by id; bounded by MAX_OPEN each.
        self.open_steps: dict[str, _OpenStep] = {}
        self.open_messages: set[str] = set()
        self.steps_judged = False
        self.run_ended = False
        self.too_many_reported = False
        #: The text of the last step or message event judged just before, and the status
        #: its event expected: ``created`` then ``in_progress`` carry the same object.
        self.last_object: tuple[object, object] | None = None

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
        if not self.too_many_reported:
            self.too_many_reported = True
            found.append(
                TraceProblem(
                    position,
                    "warning",
                    "too-many-open-steps",
                    f"more than {MAX_OPEN} steps or messages open at once;"
                    " the others are not followed",
                )
            )

    def _after_run_end(self, position: int, event: str, found: list[TraceProblem]) -> None:
        if self.run_ended:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "after-run-end",
                    f"{show(event)} comes after the run's terminal event",
                )
            )

    def _remember(self, event: str, data: object, found: list[TraceProblem]) -> None:
        """Keep the text of a ``created`` object judged clean: its ``in_progress`` may repeat it."""
        if not found and type(data) is str:
            follows = _REPEATS.get(event)
            if follows is not None:
                self.last_object = (data, follows)

    def run_event(self, position: int, run: Run, found: list[TraceProblem]) -> None:
        """The step and message rules a run event brings (stream mode)."""
        status = run.status
        if status is RunStatus.REQUIRES_ACTION:
            if self.steps_judged and not any(s[0] == TOOL_CALLS for s in self.open_steps.values()):
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "tool-step-closed-early",
                        "the run requires action but no tool_calls step is open"
                        " (it stays open until the outputs are submitted)",
                    )
                )
        elif status is RunStatus.QUEUED and self.open_steps:
            still = [i for i, s in self.open_steps.items() if s[0] == TOOL_CALLS]
            if still:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "tool-step-not-completed",
                        f"the run is queued again while tool_calls step "
                        f"{show(still[0])} is open (it completes with the outputs first)",
                    )
                )
        elif status in TERMINAL_STATUSES and not self.run_ended:
            self.run_ended = True
            if self.open_steps:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "step-open-at-run-end",
                        f"the run is {status.value!r} while step "
                        f"{show(next(iter(self.open_steps)))} is still 'in_progress'"
                        f" ({len(self.open_steps)} open)",
                    )
                )
            if self.open_messages:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "message-open-at-run-end",
                        f"the run is {status.value!r} while {len(self.open_messages)}"
                        " message(s) are still 'in_progress'",
                    )
                )
            self.open_steps.clear()
            self.open_messages.clear()


class StepJudge(OpenItems):
    """Judges the step and message events of a stream (and a poll trace's step runs).

    A step or message event is judged when its data carries a ``status`` (a whole
    object); partial objects are checked for their run only. Text is decoded once and
    checked by check-only functions generated from the same schema as the parse (no
    value is built); whatever they refuse goes through the parse itself.
    """

    def check_step(
        self, position: int, event: str, data: object, found: list[TraceProblem]
    ) -> None:
        if self.stream and (type(data) is str or type(data) is bytes):
            self.step_text(position, event, data, found)
        else:
            self._check_step_slowly(position, event, data, found)

    def step_text(
        self, position: int, event: str, data: str | bytes, found: list[TraceProblem]
    ) -> None:
        """A step event's text (stream mode): judged from the decoded object if valid."""
        obj = _checked(RunStep, data)
        if obj is None:
            self._check_step_slowly(position, event, data, found)
            return
        run_id = obj["run_id"]
        prev = self.run.prev
        if (prev is None or run_id != prev.id) and not self.run.owns(
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
            details["message_creation"]["message_id"] if details_type == MESSAGE_CREATION else None,
            step_rules(
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
            self.last_object = (data, _REPEATS[event])

    def _check_step_slowly(
        self, position: int, event: str, data: object, found: list[TraceProblem]
    ) -> None:
        """A step event the fast way declined: not text, not a valid step, or poll mode."""
        step: RunStep | None = None
        if isinstance(data, str | bytes | bytearray):
            text = plain(data)
            if self.stream:
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
        if not self.run.owns(position, event, str.__str__(run_id), found):
            return  # another run's step: its own life is not this run's
        if not self.stream or (
            step is None and not (isinstance(data, Mapping) and "status" in data)
        ):
            return  # a partial step object: checked for its run only
        if step is None:
            try:
                step = parse_step(data)  # type: ignore[arg-type]
            except InvalidRun as exc:
                found.append(TraceProblem(position, "error", "invalid-step", describe(exc)))
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
        self.steps_judged = True
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
        if self.run_ended:
            self._after_run_end(position, event, found)
        open_steps = self.open_steps
        opened = open_steps.get(step_id)
        if opened is None:
            if status is _SP and not self.run_ended:
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
                    f"step {show(step_id)} is created again while it is open",
                )
            )
            return
        if status is _SP:
            return
        del open_steps[step_id]
        if opened[1] is not None and opened[1] in self.open_messages:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "step-before-message",
                    f"step {show(step_id)} ends {status.value!r} while its message "
                    f"{show(opened[1])} is still 'in_progress'",
                )
            )
        prev = self.run.prev
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
                        f"step {show(step_id)} completes without the output of "
                        f"{clip(', '.join(missing))}",
                    )
                )

    def check_message(
        self, position: int, event: str, data: object, found: list[TraceProblem]
    ) -> None:
        if type(data) is str or type(data) is bytes:
            self.message_text(position, event, data, found)
            return
        if isinstance(data, str | bytes | bytearray):
            text = plain(data)
            if b'"status"' not in text if isinstance(text, bytes) else '"status"' not in text:
                return
            self._parse_message(position, event, text, found)
        elif isinstance(data, Mapping) and "status" in data:
            self._parse_message(position, event, data, found)
        # else a partial message object: not judged

    def message_text(
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
            message_rules(
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
            found.append(TraceProblem(position, "error", "invalid-message", describe(exc)))
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
        prev = self.run.prev
        if run_id is not None and prev is not None and run_id != prev.id:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "foreign-message",
                    f"{show(event)} belongs to run {show(run_id)}, not to {show(prev.id)}",
                )
            )
            return
        expected = MESSAGE_EVENT_STATUS[event]
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
        is_open = message_id in self.open_messages
        if event == _MESSAGE_CREATED and is_open:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "message-status-illegal",
                    f"message {show(message_id)} is created again while it is open",
                )
            )
        elif status == MESSAGE_IN_PROGRESS:
            if not is_open and not self.run_ended:
                self._follow(position, self.open_messages, message_id, None, found)
        elif is_open:
            self.open_messages.discard(message_id)
        self._remember(event, data, found)
