"""Run steps and the messages they write: their table, their wire form and their rules.

Rule 1: which step status may follow which lives in ``_STEP_EDGES``, data with a
confidence level per row like the run table (:mod:`runstate._table`); what a run's end
does to the steps and messages still open is a column of the operations table
(:data:`runstate._operations.RUN_END_EFFECTS`). Nothing else restates them.

Rule 2: this module knows one step or one message at a time: how it is read and
written, and the per-status rules it must keep. The operations that open and end steps,
and :func:`~runstate.advance`, which moves a run and its steps together, live in
:mod:`runstate._steps`.

What the recordings show is encoded with confidence ``H`` or ``M``; what a cancel, a
failure or an expiry does to an open step or message was never recorded (spec-facts
§11, last bullet): those rows are inferences from the schema's statuses, marked ``L``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final, Literal, NamedTuple, TypeAlias

from ._engine import serde as _engine_serde
from ._engine.codegen import GUARDED_HOOKS, HOOKS
from ._errors import MAX_ID_ECHO, Error, InvalidArgument, InvalidTable, shorten
from ._invariants import Violation
from ._model import (
    MESSAGE_COMPLETED,
    MESSAGE_INCOMPLETE,
    MESSAGE_STATUSES,
    Message,
    RunStep,
    StepStatus,
)
from ._schema import DUMPERS
from ._serde import parse_value

__all__ = [
    "MESSAGE_STATUSES",
    "STEP_EDGES",
    "STEP_TRANSITIONS",
    "StepEdge",
    "StepTransitionError",
    "dump_message",
    "dump_step",
    "message_violations",
    "parse_message",
    "parse_step",
    "step_violations",
]

Confidence: TypeAlias = Literal["H", "M", "L"]

SP = StepStatus.IN_PROGRESS
SCD = StepStatus.CANCELLED
SF = StepStatus.FAILED
SC = StepStatus.COMPLETED
SX = StepStatus.EXPIRED


class StepEdge(NamedTuple):
    """One allowed move of a step's status, with the evidence for it."""

    source: StepStatus
    target: StepStatus
    #: H = spec and recordings agree; M = one strong source; L = inferred.
    confidence: Confidence
    why: str


_STEP_EDGES: Final[tuple[StepEdge, ...]] = (
    StepEdge(SP, SC, "H", "the step finishes (every recorded step; spec-facts §11)"),
    StepEdge(SP, SX, "M", "spec: 'A step is considered expired if the parent run is expired'"),
    StepEdge(SP, SCD, "L", "the run's cancel took effect (schema's cancelled_at; not recorded)"),
    StepEdge(SP, SF, "L", "the run failed (schema's failed_at and last_error; not recorded)"),
)

#: Every edge of a step's life. ``in_progress`` is the only open status; the others are
#: absorbing (a step never reopens).
STEP_EDGES: Final = _STEP_EDGES


def _build_steps(edges: Iterable[StepEdge]) -> Mapping[StepStatus, frozenset[StepStatus]]:
    rows: dict[StepStatus, set[StepStatus]] = {s: set() for s in StepStatus}
    for edge in edges:
        rows[edge.source].add(edge.target)
    table = {s: frozenset(t) for s, t in rows.items()}
    problems = [
        f"{s.value!r} -> {sorted(t.value for t in targets)}"
        for s, targets in table.items()
        if s.is_terminal == bool(targets) or s in targets
    ]
    if problems:  # pragma: no cover - a malformed edit of _STEP_EDGES fails at import
        raise InvalidTable("malformed step table: " + "; ".join(problems))
    return MappingProxyType(table)


#: The step table: status -> the statuses that may directly follow it. Read-only.
STEP_TRANSITIONS: Final = _build_steps(_STEP_EDGES)


#: Why a step operation was refused (``StepTransitionError.reason``).
StepRefusal: TypeAlias = Literal[
    "step-terminal",
    "run-not-in-progress",
    "tool-output-missing",
    "wrong-step-type",
    "tool-step-open",
]


def quote_id(id: str | None) -> str:
    """An id as a message shows it: quoted, and at most ``MAX_ID_ECHO`` characters."""
    return "None" if id is None else repr(shorten(str.__str__(id), MAX_ID_ECHO))


class StepTransitionError(Error):
    """A step operation the step table or the run's status forbids.

    Like :class:`~runstate.TransitionError`, these are the service's own moves: no
    endpoint exposes them, so the refusal carries no HTTP answer.

    Attributes:
        operation: The operation refused, such as ``"complete_step"``.
        reason: ``step-terminal`` (the step already ended), ``run-not-in-progress``
            (steps open only while the run is ``in_progress``), ``tool-output-missing``
            (a function call of the step has no output yet), ``wrong-step-type``, or
            ``tool-step-open`` (:func:`advance` opens a ``tool_calls`` step only when
            none is open: the outputs of a submit complete the one that is).

    Example:
        >>> import runstate as rs
        >>> run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
        >>> try:
        ...     rs.steps.open_tool_calls_step(run, id="step_1", now=2)
        ... except rs.StepTransitionError as exc:
        ...     print(exc.reason, "|", exc)
        run-not-in-progress | open_tool_calls_step: the run is 'queued', not 'in_progress'
    """

    def __init__(self, operation: str, reason: StepRefusal, detail: str) -> None:
        self.operation = operation
        self.reason = reason
        super().__init__(f"{operation}: {detail}")


# --------------------------------------------------------------------------------------
# Reading and writing


def parse_step(data: Mapping[str, Any] | str | bytes | bytearray) -> RunStep:
    """Read a run step from the API's JSON (text, bytes or a mapping), losslessly.

    Structure only, like :func:`~runstate.parse_run`; unknown keys (the schema's
    ``expired_at``, ``metadata``...) are kept and written back by :func:`dump_step`.

    Raises:
        InvalidRun: listing every problem by field path.

    Example:
        >>> from runstate import InvalidRun
        >>> try:
        ...     parse_step({"id": "s", "object": "thread.run.step", "created_at": 1})
        ... except InvalidRun as exc:
        ...     print([e.field for e in exc.errors])
        ['run_id', 'assistant_id', 'thread_id', 'type', 'status', 'step_details']
    """
    return _parse(RunStep, data, "step")  # type: ignore[no-any-return]


def dump_step(step: RunStep) -> dict[str, Any]:
    """Write a step as the API's JSON object: a fresh ``dict``, keys in the API's order.

    Example:
        >>> step = parse_step('{"id":"s","object":"thread.run.step","created_at":1,'
        ...     '"run_id":"r","assistant_id":"a","thread_id":"t","type":"tool_calls",'
        ...     '"status":"in_progress","step_details":{"type":"tool_calls","tool_calls":[]}}')
        >>> dump_step(step)["step_details"]
        {'type': 'tool_calls', 'tool_calls': []}
    """
    return DUMPERS[RunStep](ensure_step(step))


def parse_message(data: Mapping[str, Any] | str | bytes | bytearray) -> Message:
    """Read a ``thread.message`` (text, bytes or a mapping), losslessly.

    Its identity, status and end fields are checked; the rest is kept verbatim.

    Example:
        >>> message = parse_message({"id": "msg_1", "object": "thread.message",
        ...     "created_at": 1, "thread_id": "t", "status": "incomplete",
        ...     "incomplete_details": {"reason": "max_tokens"}, "incomplete_at": 2,
        ...     "role": "assistant", "content": []})
        >>> message.status, message.incomplete_details.reason, message.extra["role"]
        ('incomplete', 'max_tokens', 'assistant')
    """
    return _parse(Message, data, "message")  # type: ignore[no-any-return]


def dump_message(message: Message) -> dict[str, Any]:
    """Write a message as the API's JSON object (the modelled keys, then the kept ones).

    Example:
        >>> m = parse_message('{"id":"m","object":"thread.message","created_at":1,'
        ...                   '"thread_id":"t","status":"completed","role":"assistant"}')
        >>> dump_message(m)
        {'id': 'm', 'object': 'thread.message', 'created_at': 1, 'thread_id': 't', 'status': 'completed', 'role': 'assistant'}
    """  # noqa: E501 - a doctest's output is one line
    return DUMPERS[Message](ensure_message(message))


def _parse(cls: type, data: Any, what: str) -> Any:
    """Parse as :func:`~runstate.parse_run` does: orjson first when installed.

    Text goes through orjson, then through code that refuses whatever orjson may read
    differently; anything else, and every refusal, through :func:`~runstate.parse_value`
    (which explains it).
    """
    kind = type(data)
    fast = _engine_serde.fast_loads
    if fast is not None and (kind is str or kind is bytes):
        try:
            return GUARDED_HOOKS.get(cls, HOOKS[cls])(fast(data))
        except Exception:  # the standard path below decides, and explains
            pass
    return parse_value(cls, data, what=what)


# --------------------------------------------------------------------------------------
# Per-status rules of one step or message


def _v(field: str, rule: str, message: str) -> Violation:
    return Violation(field=field, rule=rule, message=message, severity="error")


_STEP_END_FIELDS: Final = (
    ("completed_at", SC, "step-completed-at"),
    ("cancelled_at", SCD, "step-cancelled-at"),
    ("failed_at", SF, "step-failed-at"),
)


def step_violations(step: RunStep) -> tuple[Violation, ...]:
    """The per-status rules a step breaks (every problem, each with a stable rule name).

    Rules: ``step-type-mismatch`` (``type`` differs from ``step_details.type``);
    ``step-completed-at``, ``step-cancelled-at``, ``step-failed-at`` (set exactly in
    their status); ``step-last-error`` (set exactly when ``failed``); ``step-usage``
    (``usage`` set while ``in_progress``: the spec says it is null then);
    ``step-timestamp-order`` (an end before ``created_at``).

    Example:
        >>> step = parse_step({"id": "s", "object": "thread.run.step", "created_at": 5,
        ...     "run_id": "r", "assistant_id": "a", "thread_id": "t", "type": "tool_calls",
        ...     "status": "completed", "completed_at": 4,
        ...     "step_details": {"type": "tool_calls", "tool_calls": []}})
        >>> [v.rule for v in step_violations(step)]
        ['step-timestamp-order']
    """
    ensure_step(step)
    return step_rules(
        step.status,
        step.type,
        step.step_details.type,
        step.created_at,
        (step.completed_at, step.cancelled_at, step.failed_at),
        step.last_error is not None,
        step.usage is not None,
    )


def step_rules(
    status: StepStatus,
    step_type: str,
    details_type: str,
    created_at: int,
    ends: tuple[int | None, int | None, int | None],
    has_last_error: bool,
    has_usage: bool,
) -> tuple[Violation, ...]:
    """:func:`step_violations` of a step given by the few fields its rules read.

    ``ends`` is ``(completed_at, cancelled_at, failed_at)``. The trace checker calls this
    with values read from a step object it checked without building it.
    """
    found: list[Violation] = []
    if step_type != details_type:
        found.append(
            _v(
                "type",
                "step-type-mismatch",
                f"{step_type!r} but step_details.type is {details_type!r}",
            )
        )
    for (name, owner, rule), value in zip(_STEP_END_FIELDS, ends):  # noqa: B905 - 3 and 3
        if (value is not None) != (status is owner):
            state = "set" if value is not None else "null"
            found.append(_v(name, rule, f"{state} while the step is {status.value!r}"))
        elif value is not None and value < created_at:
            found.append(
                _v(name, "step-timestamp-order", f"{value} is before created_at {created_at}")
            )
    if has_last_error != (status is SF):
        state = "set" if has_last_error else "null"
        found.append(_v("last_error", "step-last-error", f"{state} while {status.value!r}"))
    if status is SP and has_usage:
        found.append(_v("usage", "step-usage", "set while the step is 'in_progress'"))
    return tuple(found)


def message_violations(message: Message) -> tuple[Violation, ...]:
    """The per-status rules a message breaks.

    Rules: ``message-completed-at`` (set exactly when ``completed``);
    ``message-incomplete`` (``incomplete_at`` and ``incomplete_details`` set exactly when
    ``incomplete``); ``message-timestamp-order`` (an end before ``created_at``).

    Example:
        >>> m = parse_message({"id": "m", "object": "thread.message", "created_at": 1,
        ...                    "thread_id": "t", "status": "completed"})
        >>> [(v.field, v.rule) for v in message_violations(m)]
        [('completed_at', 'message-completed-at')]
    """
    ensure_message(message)
    return message_rules(
        message.status,
        message.created_at,
        message.completed_at,
        message.incomplete_at,
        message.incomplete_details is not None,
    )


def message_rules(
    status: str,
    created_at: int,
    completed_at: int | None,
    incomplete_at: int | None,
    has_incomplete_details: bool,
) -> tuple[Violation, ...]:
    """:func:`message_violations` of a message given by the few fields its rules read."""
    found: list[Violation] = []
    if (completed_at is not None) != (status == MESSAGE_COMPLETED):
        state = "set" if completed_at is not None else "null"
        found.append(_v("completed_at", "message-completed-at", f"{state} while {status!r}"))
    for name, is_set in (
        ("incomplete_at", incomplete_at is not None),
        ("incomplete_details", has_incomplete_details),
    ):
        if is_set != (status == MESSAGE_INCOMPLETE):
            state = "set" if is_set else "null"
            found.append(_v(name, "message-incomplete", f"{state} while {status!r}"))
    for name, value in (("completed_at", completed_at), ("incomplete_at", incomplete_at)):
        if value is not None and value < created_at:
            found.append(
                _v(name, "message-timestamp-order", f"{value} is before created_at {created_at}")
            )
    return tuple(found)


# --------------------------------------------------------------------------------------
# Argument checks shared with the step operations


def ensure_message(message: object) -> Message:
    if type(message) is not Message:
        raise InvalidArgument.expected("message", "a runstate.models.Message", message)
    return message


def ensure_step(step: object) -> RunStep:
    if type(step) is not RunStep:
        raise InvalidArgument.expected("step", "a runstate.RunStep", step)
    return step
