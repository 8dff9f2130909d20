"""Run steps and the messages they write: their table, their checks and their operations.

Rule 1: which step status may follow which lives in ``_STEP_EDGES``; what a run's end
does to the steps and messages still open lives in ``_RUN_END_EFFECTS``. Both are data,
with a confidence level per row, like the run table (:mod:`runstate._table`); nothing
else restates them.

Rule 2: a step's life is tied to its run's. Steps open only while the run is
``in_progress``; the ``tool_calls`` step stays open through ``requires_action`` and
completes, with every output, when the outputs are submitted (before the run is queued
again); and when the run ends, every open step and message ends first
(spec-facts §11). :func:`advance` applies one operation to a run *and* its steps and
messages, so they cannot drift apart.

What the recordings show is encoded with confidence ``H`` or ``M``; what a cancel, a
failure or an expiry does to an open step or message was never recorded (§11, last
bullet): those rows are inferences from the schema's statuses, marked ``L``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, Literal, NamedTuple, TypeAlias, get_args

import attrs

from . import _ops
from ._engine import serde as _serde
from ._engine.codegen import GUARDED_HOOKS, HOOKS
from ._engine.copying import replace
from ._engine.frozen import EMPTY, EMPTY_LIST
from ._errors import (
    MAX_ID_ECHO,
    ClockWentBackwards,
    Error,
    InvalidArgument,
    InvalidRun,
    InvalidTable,
    shorten,
)
from ._invariants import Violation
from ._model import (
    FunctionToolCall,
    Message,
    MessageCreation,
    MessageCreationDetails,
    MessageIncompleteDetails,
    MessageIncompleteReason,
    MessageStatus,
    Run,
    RunStep,
    StepFunction,
    StepLastError,
    StepStatus,
    StepToolCall,
    ToolCallsDetails,
    Usage,
)
from ._schema import DUMPERS
from ._serde import parse_value
from ._status import RunStatus

__all__ = [
    "MESSAGE_STATUSES",
    "RUN_END_EFFECTS",
    "STEP_EDGES",
    "STEP_TRANSITIONS",
    "RunEndEffect",
    "RunLife",
    "StepEdge",
    "StepTransitionError",
    "advance",
    "attach_tool_outputs",
    "complete_message",
    "complete_step",
    "dump_message",
    "dump_step",
    "mark_message_incomplete",
    "message_violations",
    "open_message",
    "open_message_step",
    "open_tool_calls_step",
    "parse_message",
    "parse_step",
    "step_violations",
    "write_message_text",
]

Confidence: TypeAlias = Literal["H", "M", "L"]

SP = StepStatus.IN_PROGRESS
SCD = StepStatus.CANCELLED
SF = StepStatus.FAILED
SC = StepStatus.COMPLETED
SX = StepStatus.EXPIRED

#: A message's statuses, in the spec's order; ``in_progress`` is the only open one.
MESSAGE_STATUSES: Final[tuple[MessageStatus, ...]] = ("in_progress", "incomplete", "completed")


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


class RunEndEffect(NamedTuple):
    """What one run operation that ends the run does to its open steps and messages."""

    #: The run operation (a function in :mod:`runstate`).
    operation: str
    #: The new status of every step still ``in_progress``.
    step_status: StepStatus
    #: The new status of every message still ``in_progress``.
    message_status: MessageStatus
    #: ``incomplete_details.reason`` of such a message, when it becomes ``incomplete``.
    message_reason: MessageIncompleteReason | None
    confidence: Confidence
    why: str


_RUN_END_EFFECTS: Final[tuple[RunEndEffect, ...]] = (
    RunEndEffect(
        "complete",
        SC,
        "completed",
        None,
        "H",
        "every recording: the message ends, then its step completes, then the run",
    ),
    RunEndEffect(
        "mark_incomplete",
        SC,
        "incomplete",
        "max_tokens",
        "M",
        "ruby 2024-04 streams: a token limit leaves the message incomplete (max_tokens)"
        " and its step completed",
    ),
    RunEndEffect(
        "finish_cancel",
        SCD,
        "incomplete",
        "run_cancelled",
        "L",
        "inferred from the schemas (step cancelled_at, message reason run_cancelled)",
    ),
    RunEndEffect(
        "fail",
        SF,
        "incomplete",
        "run_failed",
        "L",
        "inferred from the schemas (step failed_at and last_error, reason run_failed)",
    ),
    RunEndEffect(
        "expire",
        SX,
        "incomplete",
        "run_expired",
        "L",
        "spec: a step 'is considered expired if the parent run is expired';"
        " the message's reason run_expired is inferred",
    ),
)

#: Run operation -> what it does to the open steps and messages, for every operation
#: that ends a run. ``cancel`` (to ``cancelling``) leaves them open (inferred, ``L``):
#: the run still works until the cancel takes effect.
RUN_END_EFFECTS: Final[Mapping[str, RunEndEffect]] = MappingProxyType(
    {e.operation: e for e in _RUN_END_EFFECTS}
)

_ZERO_USAGE: Final = Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)

#: Why a step operation was refused (``StepTransitionError.reason``).
StepRefusal: TypeAlias = Literal[
    "step-terminal",
    "run-not-in-progress",
    "tool-output-missing",
    "wrong-step-type",
    "tool-step-open",
]


def _quote(id: str | None) -> str:
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
    return _DUMP_STEP(_check_step(step))


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
    return _DUMP_MESSAGE(_check_message_value(message))


def _parse(cls: type, data: Any, what: str) -> Any:
    """Parse as :func:`~runstate.parse_run` does: orjson first when installed.

    Text goes through orjson, then through code that refuses whatever orjson may read
    differently; anything else, and every refusal, through :func:`~runstate.parse_value`
    (which explains it).
    """
    kind = type(data)
    fast = _serde._fast_loads
    if fast is not None and (kind is str or kind is bytes):
        try:
            return GUARDED_HOOKS.get(cls, HOOKS[cls])(fast(data))
        except Exception:  # the standard path below decides, and explains
            pass
    return parse_value(cls, data, what=what)


_DUMP_STEP: Final = DUMPERS[RunStep]
_DUMP_MESSAGE: Final = DUMPERS[Message]


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
    _check_step(step)
    return _step_rules(
        step.status,
        step.type,
        step.step_details.type,
        step.created_at,
        (step.completed_at, step.cancelled_at, step.failed_at),
        step.last_error is not None,
        step.usage is not None,
    )


def _step_rules(
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
    _check_message_value(message)
    return _message_rules(
        message.status,
        message.created_at,
        message.completed_at,
        message.incomplete_at,
        message.incomplete_details is not None,
    )


def _message_rules(
    status: str,
    created_at: int,
    completed_at: int | None,
    incomplete_at: int | None,
    has_incomplete_details: bool,
) -> tuple[Violation, ...]:
    """:func:`message_violations` of a message given by the few fields its rules read."""
    found: list[Violation] = []
    if (completed_at is not None) != (status == "completed"):
        state = "set" if completed_at is not None else "null"
        found.append(_v("completed_at", "message-completed-at", f"{state} while {status!r}"))
    for name, is_set in (
        ("incomplete_at", incomplete_at is not None),
        ("incomplete_details", has_incomplete_details),
    ):
        if is_set != (status == "incomplete"):
            state = "set" if is_set else "null"
            found.append(_v(name, "message-incomplete", f"{state} while {status!r}"))
    for name, value in (("completed_at", completed_at), ("incomplete_at", incomplete_at)):
        if value is not None and value < created_at:
            found.append(
                _v(name, "message-timestamp-order", f"{value} is before created_at {created_at}")
            )
    return tuple(found)


# --------------------------------------------------------------------------------------
# Step and message operations


def _check_message_value(message: object) -> Message:
    if type(message) is not Message:
        raise InvalidArgument.expected("message", "a runstate.models.Message", message)
    return message


def _check_step(step: object) -> RunStep:
    if type(step) is not RunStep:
        raise InvalidArgument.expected("step", "a runstate.RunStep", step)
    return step


def _open(operation: str, step: RunStep) -> None:
    if step.status is not SP:
        raise StepTransitionError(
            operation, "step-terminal", f"step {_quote(step.id)} is already {step.status.value!r}"
        )


def _not_before(now: int, created_at: int, what: str) -> None:
    _ops.check_now(now)
    if now < created_at:
        raise ClockWentBackwards(f"{what}.created_at", now, created_at)


def _new_step(operation: str, run: Run, id: str, now: int, details: Any) -> RunStep:
    if type(run) is not Run:
        raise InvalidArgument.expected("run", "a runstate.Run", run)
    if run.status is not RunStatus.IN_PROGRESS:
        raise StepTransitionError(
            operation,
            "run-not-in-progress",
            f"the run is {run.status.value!r}, not 'in_progress'",
        )
    _not_before(now, run.started_at if run.started_at is not None else run.created_at, "run")
    return RunStep(
        id=id,
        created_at=now,
        run_id=run.id,
        assistant_id=run.assistant_id,
        thread_id=run.thread_id,
        type=details.type,
        status=SP,
        step_details=details,
        expires_at=run.expires_at,
    )


def open_message_step(run: Run, *, id: str, message_id: str, now: int) -> RunStep:
    """Open a ``message_creation`` step on an ``in_progress`` run.

    The step is ``in_progress`` with ``created_at = now``, the run's ``expires_at``
    (recorded steps carry it and keep it), ``usage`` null. Open its message with
    :func:`open_message` (:func:`advance` does both).

    Raises:
        StepTransitionError: unless the run is ``in_progress`` (``run-not-in-progress``).
        InvalidRun: for ids that are not strings.

    Example:
        >>> import runstate as rs
        >>> run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                           model="m", now=10), now=11)
        >>> step = open_message_step(run, id="step_1", message_id="msg_1", now=12)
        >>> step.status.value, step.type, step.expires_at, step.usage
        ('in_progress', 'message_creation', 610, None)
    """
    details = MessageCreationDetails(message_creation=MessageCreation(message_id=message_id))
    return _new_step("open_message_step", run, id, now, details)


def _step_calls(value: object) -> tuple[StepToolCall, ...]:
    calls = parse_value(
        ToolCallsDetails,
        {"type": "tool_calls", "tool_calls": _ops._array(value, "tool_calls", "tool calls")},
        what="tool calls",
    ).tool_calls
    ids = [c.id for c in calls]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InvalidRun.one(
            "tool_calls", "tool-call-ids", f"duplicate tool call ids {dupes}", what="tool calls"
        )
    return calls


def open_tool_calls_step(
    run: Run, *, id: str, now: int, tool_calls: Iterable[StepToolCall | Mapping[str, Any]] = ()
) -> RunStep:
    """Open a ``tool_calls`` step on an ``in_progress`` run.

    Recorded ``tool_calls`` steps open with no calls and receive them in deltas
    (spec-facts §11); ``tool_calls`` may give them at once, as values or JSON objects
    (``{"id", "type": "function", "function": {"name", "arguments", "output": null}}``,
    or a ``code_interpreter`` or ``file_search`` call).

    Raises:
        StepTransitionError: unless the run is ``in_progress``.
        InvalidRun: for malformed calls or duplicate call ids.

    Example:
        >>> import runstate as rs
        >>> run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                           model="m", now=10), now=11)
        >>> step = open_tool_calls_step(run, id="step_1", now=12, tool_calls=[{"id": "c",
        ...     "type": "function", "function": {"name": "f", "arguments": "{}"}}])
        >>> step.step_details.tool_calls[0].function.output is None
        True
    """
    details = ToolCallsDetails(tool_calls=_step_calls(tool_calls))
    return _new_step("open_tool_calls_step", run, id, now, details)


def _missing_outputs(step: RunStep) -> list[str]:
    details = step.step_details
    if type(details) is not ToolCallsDetails:
        return []
    return [
        c.id
        for c in details.tool_calls
        if type(c) is FunctionToolCall and c.function.output is None
    ]


def complete_step(
    step: RunStep,
    *,
    now: int,
    usage: Usage | Mapping[str, Any] | None = None,
    require_outputs: bool = False,
) -> RunStep:
    """``in_progress -> completed``: ``completed_at = now``, ``usage`` set (zeros by default).

    Args:
        step: An open step.
        now: The current time, Unix seconds (not before the step's ``created_at``).
        usage: The step's token counts; zeros when the caller has none, as for runs.
        require_outputs: Refuse a ``tool_calls`` step with a function call whose
            ``output`` is still null (what a step completed on submission must carry).

    Raises:
        StepTransitionError: for a step already ended, or a missing output.
        ClockWentBackwards: for a ``now`` before ``created_at``.

    Example:
        >>> import runstate as rs
        >>> run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                           model="m", now=10), now=11)
        >>> done = complete_step(open_message_step(run, id="s", message_id="m", now=12), now=13)
        >>> done.status.value, done.completed_at, done.expires_at, done.usage.total_tokens
        ('completed', 13, 610, 0)
    """
    _check_step(step)
    _open("complete_step", step)
    _not_before(now, step.created_at, "step")
    if require_outputs:
        missing = _missing_outputs(step)
        if missing:
            raise StepTransitionError(
                "complete_step", "tool-output-missing", f"no output for tool calls {missing}"
            )
    return replace(
        step,
        status=SC,
        completed_at=now,
        usage=_ops._as(Usage, usage, "usage") if usage is not None else _ZERO_USAGE,
    )


def attach_tool_outputs(
    step: RunStep, tool_outputs: Iterable[_ops.ToolOutput | Mapping[str, Any]]
) -> RunStep:
    """Fill the ``output`` of the step's function calls named by ``tool_outputs``.

    What the submit_tool_outputs stream's ``step.completed`` shows: each call's
    ``function.output`` is the submitted text (dotnet StreamingToolCall.2). The step stays
    open; :func:`complete_step` ends it (:func:`advance` does both on submission).

    Raises:
        StepTransitionError: for a step that ended or is not a ``tool_calls`` step.
        InvalidArgument: for an output naming no function call of the step, or one that
            already has its output.
        InvalidRequest: for malformed outputs, as :func:`~runstate.submit_tool_outputs`.

    Example:
        >>> import runstate as rs
        >>> run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                           model="m", now=10), now=11)
        >>> step = open_tool_calls_step(run, id="s", now=12, tool_calls=[{"id": "c",
        ...     "type": "function", "function": {"name": "f", "arguments": "{}"}}])
        >>> step = attach_tool_outputs(step, [{"tool_call_id": "c", "output": "42"}])
        >>> step.step_details.tool_calls[0].function.output
        '42'
    """
    _check_step(step)
    _open("attach_tool_outputs", step)
    details = step.step_details
    if type(details) is not ToolCallsDetails:
        raise StepTransitionError(
            "attach_tool_outputs",
            "wrong-step-type",
            f"step {_quote(step.id)} is not a tool_calls step",
        )
    given = {o.tool_call_id: o.output for o in _ops._outputs(tool_outputs)}
    calls: list[StepToolCall] = []
    for call in details.tool_calls:
        if type(call) is FunctionToolCall and call.id in given:
            if call.function.output is not None:
                raise InvalidArgument(
                    "tool_outputs", f"tool call {_quote(call.id)} already has its output"
                )
            output = given.pop(call.id)
            calls.append(replace(call, function=replace(call.function, output=output)))
        else:
            calls.append(call)
    if given:
        raise InvalidArgument(
            "tool_outputs",
            f"no function call {shorten(repr(sorted(given)), MAX_ID_ECHO)}"
            f" in step {_quote(step.id)}",
        )
    return replace(step, step_details=replace(details, tool_calls=tuple(calls)))


def open_message(run: Run, *, id: str, now: int) -> Message:
    """A new assistant message of the run, ``in_progress``, as the API creates it.

    Its kept fields are the recorded ones of a new message: ``role`` ``assistant``,
    empty ``content`` and ``attachments``, empty ``metadata`` (spec-facts §11).

    Example:
        >>> import runstate as rs
        >>> run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                           model="m", now=10), now=11)
        >>> list(dump_message(open_message(run, id="msg_1", now=12)))[-4:]
        ['role', 'content', 'attachments', 'metadata']
    """
    if type(run) is not Run:
        raise InvalidArgument.expected("run", "a runstate.Run", run)
    _not_before(now, run.created_at, "run")
    return Message(
        id=id,
        created_at=now,
        thread_id=run.thread_id,
        assistant_id=run.assistant_id,
        run_id=run.id,
        status="in_progress",
        extra={"role": "assistant", "content": EMPTY_LIST, "attachments": EMPTY_LIST}
        | {"metadata": EMPTY},
    )


def _check_message(message: object, operation: str) -> Message:
    message = _check_message_value(message)
    if message.status != "in_progress":
        raise StepTransitionError(
            operation,
            "step-terminal",
            f"message {_quote(message.id)} is already {message.status!r}",
        )
    return message


def write_message_text(message: Message, text: str) -> Message:
    """Write ``text`` into an ``in_progress`` message, as the model writes its answer.

    The text is appended to the message's last ``content`` part when that part is
    ``text``, and otherwise becomes a new part ``{"type": "text", "text": {"value": text,
    "annotations": []}}``: the first write into a new message (whose ``content`` is
    empty) gives it one text part, and further writes extend it, as the real API's
    ``thread.message.delta`` events do. :func:`runstate.stream_events` announces what was
    written as a ``thread.message.delta``, whether it was written at once or in pieces.

    Args:
        message: An ``in_progress`` message.
        text: The text to write (any string, empty included).

    Returns:
        The message with its ``content`` (kept in ``extra``) extended; it round-trips
        through :func:`dump_message` and :func:`parse_message`.

    Raises:
        StepTransitionError: for a message no longer ``in_progress`` (``step-terminal``,
            as :func:`complete_message` refuses it).
        InvalidArgument: for a ``text`` that is not a string, a ``message`` that is not
            a :class:`~runstate.models.Message`, or a ``content`` that is not an array of
            content parts.

    Example:
        >>> import runstate as rs
        >>> run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                           model="m", now=10), now=11)
        >>> message = write_message_text(open_message(run, id="msg_1", now=12), "Hello")
        >>> message = write_message_text(message, ", world.")
        >>> dump_message(message)["content"]
        [{'type': 'text', 'text': {'value': 'Hello, world.', 'annotations': []}}]
        >>> try:
        ...     write_message_text(complete_message(message, now=13), "More")
        ... except rs.StepTransitionError as exc:
        ...     print(exc.reason, "|", exc)
        step-terminal | write_message_text: message 'msg_1' is already 'completed'
    """
    _check_message(message, "write_message_text")
    if not isinstance(text, str):
        raise InvalidArgument.expected("text", "a string", text)
    text = str.__str__(text)
    content = message.extra.get("content", EMPTY_LIST)
    if not isinstance(content, list) or not all(isinstance(p, Mapping) for p in content):
        raise InvalidArgument.expected(
            "message", "a message whose content is an array of content parts", content
        )
    last = content[-1] if content else None
    inner = last.get("text") if last is not None and last.get("type") == "text" else None
    if isinstance(inner, Mapping) and isinstance(inner.get("value"), str):
        part = {**last, "text": {**inner, "value": inner["value"] + text}}  # type: ignore[dict-item]
        parts = [*content[:-1], part]
    else:
        parts = [*content, {"type": "text", "text": {"value": text, "annotations": []}}]
    return replace(message, extra={**message.extra, "content": parts})


def complete_message(message: Message, *, now: int) -> Message:
    """``in_progress -> completed``: ``completed_at = now``.

    Example:
        >>> m = parse_message({"id": "m", "object": "thread.message", "created_at": 1,
        ...                    "thread_id": "t", "status": "in_progress"})
        >>> complete_message(m, now=3).completed_at
        3
    """
    _check_message(message, "complete_message")
    _not_before(now, message.created_at, "message")
    return replace(message, status="completed", completed_at=now)


def mark_message_incomplete(
    message: Message, *, now: int, reason: MessageIncompleteReason
) -> Message:
    """``in_progress -> incomplete``: ``incomplete_at = now`` and the reason.

    Example:
        >>> m = parse_message({"id": "m", "object": "thread.message", "created_at": 1,
        ...                    "thread_id": "t", "status": "in_progress"})
        >>> cut = mark_message_incomplete(m, now=2, reason="max_tokens")
        >>> cut.status, cut.incomplete_at, cut.incomplete_details.reason
        ('incomplete', 2, 'max_tokens')
    """
    _check_message(message, "mark_message_incomplete")
    _not_before(now, message.created_at, "message")
    details = _ops._as(MessageIncompleteDetails, {"reason": reason}, "incomplete_details")
    return replace(message, status="incomplete", incomplete_at=now, incomplete_details=details)


# --------------------------------------------------------------------------------------
# One operation on a run and its steps together


@attrs.frozen(kw_only=True)
class RunLife:
    """A run with its steps and the messages they write, at one moment.

    Attributes:
        run: The run.
        steps: Its steps, in creation order (``runs.steps.list`` with ``order=asc``).
        messages: The messages its ``message_creation`` steps write, in creation order.
    """

    run: Run
    steps: tuple[RunStep, ...] = ()
    messages: tuple[Message, ...] = ()


_RUN_OPERATIONS: Final = (
    "start",
    "require_action",
    "submit_tool_outputs",
    "cancel",
    "finish_cancel",
    "complete",
    "fail",
    "mark_incomplete",
    "expire",
    "update_metadata",
)
_STEP_OPERATIONS: Final = (
    "open_message_step",
    "finish_message_step",
    "open_tool_calls_step",
    "complete_tool_calls_step",
)
#: Every operation :func:`advance` takes.
OPERATIONS: Final = _RUN_OPERATIONS + _STEP_OPERATIONS


def _index(items: tuple[Any, ...], id: str, what: str) -> int:
    for i, item in enumerate(items):
        if item.id == id:
            return i
    raise InvalidArgument(f"{what}_id", f"no {what} {_quote(id)} in this run")


def _checked_life(run: object, steps: object, messages: object) -> RunLife:
    if type(run) is not Run:
        raise InvalidArgument.expected("run", "a runstate.Run", run)
    for name, items, cls in (("steps", steps, RunStep), ("messages", messages, Message)):
        if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
            raise InvalidArgument.expected(name, f"a sequence of {cls.__name__}", items)
    life = RunLife(run=run, steps=tuple(steps), messages=tuple(messages))  # type: ignore[arg-type]
    for step in life.steps:
        _check_step(step)
        if step.run_id != run.id:
            raise InvalidArgument(
                "steps", f"step {_quote(step.id)} belongs to run {_quote(step.run_id)}"
            )
    for message in life.messages:
        if type(message) is not Message:
            raise InvalidArgument.expected("messages", "runstate.models.Message values", message)
        if message.run_id != run.id:
            raise InvalidArgument(
                "messages", f"message {_quote(message.id)} belongs to run {_quote(message.run_id)}"
            )
    return life


def _ends(life: RunLife, now: int) -> None:
    """Refuse a ``now`` before an open step's or message's ``created_at``."""
    for step in life.steps:
        if step.status is SP:
            _not_before(now, step.created_at, "step")
    for message in life.messages:
        if message.status == "in_progress":
            _not_before(now, message.created_at, "message")


def _end_step(step: RunStep, run: Run, target: StepStatus, now: int) -> RunStep:
    """An open step, ended with the run (``RUN_END_EFFECTS``)."""
    if target is SC:
        return replace(step, status=SC, completed_at=now, usage=_ZERO_USAGE)
    if target is SCD:
        return replace(step, status=SCD, cancelled_at=now)
    if target is SF:
        error = run.last_error
        assert error is not None  # fail() sets it
        # A step's error code has no invalid_prompt (spec): inferred mapping.
        code = error.code if error.code != "invalid_prompt" else "server_error"
        return replace(
            step,
            status=SF,
            failed_at=now,
            last_error=StepLastError(code=code, message=error.message),
        )
    return replace(step, status=SX)  # expires_at stays: the only expiry field recorded


def _end_message(message: Message, effect: RunEndEffect, now: int) -> Message:
    if effect.message_status == "completed":
        return complete_message(message, now=now)
    assert effect.message_reason is not None
    return mark_message_incomplete(message, now=now, reason=effect.message_reason)


def _end_open(life: RunLife, run: Run, effect: RunEndEffect, now: int) -> RunLife:
    steps = tuple(
        _end_step(s, run, effect.step_status, now) if s.status is SP else s for s in life.steps
    )
    messages = tuple(
        _end_message(m, effect, now) if m.status == "in_progress" else m for m in life.messages
    )
    return RunLife(run=run, steps=steps, messages=messages)


def _open_tool_step(life: RunLife) -> int | None:
    for i in range(len(life.steps) - 1, -1, -1):
        step = life.steps[i]
        if step.status is SP and step.type == "tool_calls":
            return i
    return None


def _with(items: tuple[Any, ...], i: int, item: Any) -> tuple[Any, ...]:
    return (*items[:i], item, *items[i + 1 :])


def advance(
    run: Run,
    steps: Sequence[RunStep],
    operation: str,
    /,
    *,
    now: int,
    messages: Sequence[Message] = (),
    **arguments: Any,
) -> RunLife:
    """Apply one operation to a run *and* its steps and messages; return all of them.

    Run operations (``start``, ``require_action``, ``submit_tool_outputs``, ``cancel``,
    ``finish_cancel``, ``complete``, ``fail``, ``mark_incomplete``, ``expire``,
    ``update_metadata``) take
    the same arguments as the functions of that name, and change the run exactly as
    they do. Then:

    * ``require_action``: the open ``tool_calls`` step holds the required calls (its
      function calls are replaced by them, ``output`` null) and stays open; without an
      open one, a new step ``step_id`` is opened first (spec-facts §11, dotnet
      StreamingToolCall.1).
    * ``submit_tool_outputs``: the open ``tool_calls`` step receives the outputs and
      completes (``usage`` optional) before the run is queued (StreamingToolCall.2).
    * ``cancel``, ``start`` and ``update_metadata`` (``metadata``; ``now`` is checked,
      not used) leave the steps as they are.
    * ``finish_cancel``, ``complete``, ``fail``, ``mark_incomplete``, ``expire``: every
      open message and step ends as :data:`RUN_END_EFFECTS` says, at ``now``.

    Step operations: ``open_message_step`` (``step_id``, ``message_id``: the step and its
    message), ``finish_message_step`` (``step_id``, optional ``usage``,
    ``incomplete_reason`` and ``text``: the message receives the text as
    :func:`write_message_text` writes it, then completes, or becomes incomplete, then the
    step completes), ``open_tool_calls_step`` (``step_id``, optional ``tool_calls``; refused
    while another ``tool_calls`` step is open) and
    ``complete_tool_calls_step`` (``step_id``, optional ``usage``; every function call
    must have its output).

    Args:
        run: The run.
        steps: Its steps, in creation order.
        operation: One of the operation names above.
        now: The current time, Unix seconds.
        messages: The messages its steps write.
        arguments: The operation's own arguments.

    Returns:
        The new :class:`RunLife`; nothing given is changed.

    Raises:
        InvalidArgument: naming the argument: a ``now`` that is not an ``int`` (checked
            first, whatever the operation), an unknown operation, an argument it requires
            left out or one it does not take (the message lists what it takes), a
            ``step_id`` or ``message_id`` that is not a string, a ``text`` that is not a
            string, an ``incomplete_reason`` that is not a message incomplete reason
            (``None`` is "not given" where the argument is optional), steps or messages
            of another run, or an unknown ``step_id``; and everything the operations
            themselves raise (``tool_calls``, ``tool_outputs``, ``usage``, ``metadata``
            and ``error`` are run data, checked by them: :class:`InvalidRun`).

    Example:
        >>> import runstate as rs
        >>> run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                           model="m", now=10), now=11)
        >>> life = advance(run, (), "open_message_step", now=12, step_id="step_1",
        ...                message_id="msg_1")
        >>> life = advance(life.run, life.steps, "expire", now=700, messages=life.messages)
        >>> life.run.status.value, life.steps[0].status.value, life.messages[0].status
        ('expired', 'expired', 'incomplete')
        >>> life.messages[0].incomplete_details.reason
        'run_expired'
    """
    _ops.check_now(now)
    life = _checked_life(run, steps, messages)
    arguments = _check_arguments(operation, arguments)
    if operation in RUN_END_EFFECTS:
        _ends(life, now)
        new_run = getattr(_ops, operation)(run, now=now, **arguments)
        return _end_open(life, new_run, RUN_END_EFFECTS[operation], now)
    if operation in ("start", "cancel"):
        return attrs.evolve(life, run=getattr(_ops, operation)(run, now=now, **arguments))
    if operation == "update_metadata":
        _ops.check_now(now)
        return attrs.evolve(life, run=_ops.update_metadata(run, **arguments))
    if operation == "require_action":
        return _require_action(life, now, **arguments)
    if operation == "submit_tool_outputs":
        return _submit(life, now, **arguments)
    if operation == "open_message_step":
        return _open_message_step(life, now, **arguments)
    if operation == "finish_message_step":
        return _finish_message_step(life, now, **arguments)
    if operation == "open_tool_calls_step":
        return _open_tool_calls_step(life, now, **arguments)
    if operation == "complete_tool_calls_step":
        return _complete_tool_calls_step(life, now, **arguments)
    raise AssertionError(operation)  # pragma: no cover - _check_arguments knows them all


def _open_tool_calls_step(
    life: RunLife, now: int, *, step_id: str, tool_calls: Any = ()
) -> RunLife:
    i = _open_tool_step(life)
    if i is not None:  # a submit completes one tool_calls step: keep it the only one
        raise StepTransitionError(
            "open_tool_calls_step",
            "tool-step-open",
            f"tool_calls step {_quote(life.steps[i].id)} is open",
        )
    step = open_tool_calls_step(life.run, id=step_id, now=now, tool_calls=tool_calls)
    _unique(life, step_id, "step")
    return attrs.evolve(life, steps=(*life.steps, step))


def _complete_tool_calls_step(
    life: RunLife, now: int, *, step_id: str, usage: Any = None
) -> RunLife:
    i = _index(life.steps, step_id, "step")
    if life.steps[i].type != "tool_calls":
        raise StepTransitionError(
            "complete_tool_calls_step",
            "wrong-step-type",
            f"step {_quote(life.steps[i].id)} is not a tool_calls step",
        )
    step = complete_step(life.steps[i], now=now, require_outputs=True, usage=usage)
    return attrs.evolve(life, steps=_with(life.steps, i, step))


def _unique(life: RunLife, id: str, what: str) -> None:
    items = life.steps if what == "step" else life.messages
    if any(item.id == id for item in items):
        raise InvalidArgument(f"{what}_id", f"the run already has a {what} {_quote(id)}")


def _require_action(
    life: RunLife, now: int, *, tool_calls: Any, step_id: str | None = None
) -> RunLife:
    run = _ops.require_action(life.run, tool_calls, now=now)
    assert run.required_action is not None
    required = [
        FunctionToolCall(
            id=c.id, function=StepFunction(name=c.function.name, arguments=c.function.arguments)
        )
        for c in run.required_action.submit_tool_outputs.tool_calls
    ]
    steps = life.steps
    i = _open_tool_step(life)
    if i is None:
        if step_id is None:
            raise InvalidArgument(
                "step_id", "no tool_calls step is open: give the step_id of the one to open"
            )
        _unique(life, step_id, "step")
        steps = (*steps, open_tool_calls_step(life.run, id=step_id, now=now))
        i = len(steps) - 1
    step = steps[i]
    details = step.step_details
    assert type(details) is ToolCallsDetails
    kept = tuple(c for c in details.tool_calls if type(c) is not FunctionToolCall)
    step = replace(step, step_details=replace(details, tool_calls=(*kept, *required)))
    return RunLife(run=run, steps=_with(steps, i, step), messages=life.messages)


def _submit(life: RunLife, now: int, *, tool_outputs: Any, usage: Any = None) -> RunLife:
    outputs = tool_outputs
    if isinstance(outputs, Iterable) and not isinstance(outputs, str | bytes | Mapping):
        outputs = list(outputs)  # read once: the run and the step both need them
    _ends(life, now)
    run = _ops.submit_tool_outputs(life.run, outputs, now=now)
    i = _open_tool_step(life)
    if i is None:
        raise InvalidArgument("steps", "no tool_calls step is open to receive the outputs")
    step = attach_tool_outputs(life.steps[i], outputs)
    step = complete_step(step, now=now, usage=usage, require_outputs=True)
    return RunLife(run=run, steps=_with(life.steps, i, step), messages=life.messages)


def _open_message_step(life: RunLife, now: int, *, step_id: str, message_id: str) -> RunLife:
    step = open_message_step(life.run, id=step_id, message_id=message_id, now=now)
    _unique(life, step_id, "step")
    _unique(life, message_id, "message")
    message = open_message(life.run, id=message_id, now=now)
    return attrs.evolve(life, steps=(*life.steps, step), messages=(*life.messages, message))


def _finish_message_step(
    life: RunLife,
    now: int,
    *,
    step_id: str,
    usage: Any = None,
    incomplete_reason: MessageIncompleteReason | None = None,
    text: str | None = None,
) -> RunLife:
    i = _index(life.steps, step_id, "step")
    step = life.steps[i]
    details = step.step_details
    if type(details) is not MessageCreationDetails:
        raise StepTransitionError(
            "finish_message_step",
            "wrong-step-type",
            f"step {_quote(step_id)} is not message_creation",
        )
    messages = life.messages
    j = _index(messages, details.message_creation.message_id, "message")
    message = messages[j]
    if text is not None:
        message = write_message_text(message, text)
    if message.status == "in_progress":
        if incomplete_reason is None:
            message = complete_message(message, now=now)
        else:
            message = mark_message_incomplete(message, now=now, reason=incomplete_reason)
    step = complete_step(step, now=now, usage=usage)
    return RunLife(
        run=life.run, steps=_with(life.steps, i, step), messages=_with(messages, j, message)
    )


def _parameters(function: Any) -> list[inspect.Parameter]:
    """The keyword-only parameters of ``function``, ``now`` aside."""
    return [
        p for p in inspect.signature(function).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "now"
    ]  # fmt: skip


def _keywords(function: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The keyword arguments ``function`` requires, and all it takes (``now`` aside)."""
    params = _parameters(function)
    required = frozenset(p.name for p in params if p.default is inspect.Parameter.empty)
    return required, frozenset(p.name for p in params)


#: operation -> the function whose keyword arguments it takes: the run operation of the
#: same name, or this module's own.
_APPLY: Final[Mapping[str, Callable[..., Any]]] = MappingProxyType(
    {
        **{op: getattr(_ops, op) for op in _RUN_OPERATIONS},
        "require_action": _require_action,
        "submit_tool_outputs": _submit,
        "open_message_step": _open_message_step,
        "finish_message_step": _finish_message_step,
        "open_tool_calls_step": _open_tool_calls_step,
        "complete_tool_calls_step": _complete_tool_calls_step,
    }
)
#: operation -> (the arguments it requires, all it takes).
_ARGUMENTS: Final[Mapping[str, tuple[frozenset[str], frozenset[str]]]] = MappingProxyType(
    {op: _keywords(function) for op, function in _APPLY.items()}
)
#: operation -> the arguments whose default is ``None`` (``None`` means "not given").
_OPTIONAL: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        op: frozenset(p.name for p in _parameters(function) if p.default is None)
        for op, function in _APPLY.items()
    }
)
_INCOMPLETE_REASONS: Final[tuple[str, ...]] = get_args(MessageIncompleteReason)

#: advance's own arguments (the rest go to the run and step operations, which check
#: them as run data): name -> (what it must be, the check). ``None`` is allowed where
#: the operation's default is ``None`` (``require_action``'s ``step_id``, ``text``...).
_OWN_ARGUMENTS: Final[Mapping[str, tuple[str, Callable[[object], bool]]]] = MappingProxyType(
    {
        "step_id": ("a step id (a string)", lambda v: isinstance(v, str)),
        "message_id": ("a message id (a string)", lambda v: isinstance(v, str)),
        "text": ("a string", lambda v: isinstance(v, str)),
        "incomplete_reason": (
            f"one of {', '.join(_INCOMPLETE_REASONS)}",
            lambda v: type(v) is str and v in _INCOMPLETE_REASONS,
        ),
    }
)


def _check_arguments(operation: object, arguments: dict[str, Any]) -> dict[str, Any]:
    """Check the operation and its arguments; return them, ids and text as plain ``str``.

    A ``str`` subclass counts as its value (whatever its ``__eq__`` says).
    """
    try:
        required, allowed = _ARGUMENTS[operation]  # type: ignore[index]
    except (KeyError, TypeError):
        raise InvalidArgument.expected(
            "operation", f"one of {', '.join(OPERATIONS)}", operation
        ) from None
    missing = sorted(required - arguments.keys())
    unknown = sorted(arguments.keys() - allowed)
    if missing or unknown:
        takes = ", ".join(sorted(allowed)) or "no arguments"
        problem = f"missing {missing}" if missing else f"unknown {unknown}"
        raise InvalidArgument("arguments", f"{operation} takes {takes} (besides now); {problem}")
    optional = _OPTIONAL[operation]  # type: ignore[index]
    for name, value in arguments.items():
        if name in _OWN_ARGUMENTS and not (value is None and name in optional):
            expected, check = _OWN_ARGUMENTS[name]
            if not check(value):
                raise InvalidArgument.expected(name, expected, value)
            arguments[name] = str.__str__(value)
    return arguments
