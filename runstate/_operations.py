"""The one table of operations: every move of a run and of its steps, stated once.

Rule 1: each operation's facts live in its row of ``_ROWS`` below, and nowhere else:
what it acts on (the run, or one of its steps), the run status it moves to, who makes
the move (an endpoint the client calls, or the service on its own), whether a stream
stops there, whether the run must have started, the arguments
:func:`~runstate.advance` takes for it, and what it does to the open steps and
messages when it ends the run. :func:`~runstate.advance`, :func:`~runstate.machine`,
:func:`~runstate.stream_events`, the strategies, the conformance kit and the example
server all read this table; operation names are :class:`Op` members, not loose strings.

Rule 2: which status may follow which is the transition table's business
(:data:`runstate.TRANSITIONS`); this table only says which operation moves a run *into*
each status. Every status has exactly one, checked when the module loads, so the
transition table alone decides whether an operation is legal from a given status.

What each operation does to a run's fields lives in its function (:mod:`runstate._ops`,
:mod:`runstate._advance`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, NamedTuple, TypeAlias

from ._errors import InvalidTable
from ._model import (
    MESSAGE_COMPLETED,
    MESSAGE_INCOMPLETE,
    MessageIncompleteReason,
    MessageStatus,
    StepStatus,
)
from ._status import RunStatus

__all__ = [
    "OPERATIONS",
    "OPERATION_FOR_TARGET",
    "RUN_END_EFFECTS",
    "STREAM_END_STATUSES",
    "Op",
    "Operation",
    "RunEndEffect",
]

Confidence: TypeAlias = Literal["H", "M", "L"]


class Op(str, enum.Enum):
    """The name of an operation; each member equals its name as a string.

    ``advance(run, steps, "cancel", ...)`` and ``advance(run, steps, Op.CANCEL, ...)``
    are the same call, and ``str(Op.CANCEL)`` is ``"cancel"``. A run operation is also
    the name of the function in :mod:`runstate` that applies it to a run alone.

    Example:
        >>> Op.FINISH_CANCEL == "finish_cancel", f"{Op.FINISH_CANCEL}"
        (True, 'finish_cancel')
        >>> Op("expire") is Op.EXPIRE
        True
    """

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, format_spec: str) -> str:
        return str.__format__(self, format_spec)

    START = "start"
    REQUIRE_ACTION = "require_action"
    SUBMIT_TOOL_OUTPUTS = "submit_tool_outputs"
    CANCEL = "cancel"
    FINISH_CANCEL = "finish_cancel"
    COMPLETE = "complete"
    FAIL = "fail"
    MARK_INCOMPLETE = "mark_incomplete"
    EXPIRE = "expire"
    UPDATE_METADATA = "update_metadata"
    OPEN_MESSAGE_STEP = "open_message_step"
    FINISH_MESSAGE_STEP = "finish_message_step"
    OPEN_TOOL_CALLS_STEP = "open_tool_calls_step"
    COMPLETE_TOOL_CALLS_STEP = "complete_tool_calls_step"


class RunEndEffect(NamedTuple):
    """What one run operation that ends the run does to its open steps and messages."""

    #: The run operation (a function in :mod:`runstate`).
    operation: Op
    #: The new status of every step still ``in_progress``.
    step_status: StepStatus
    #: The new status of every message still ``in_progress``.
    message_status: MessageStatus
    #: ``incomplete_details.reason`` of such a message, when it becomes ``incomplete``.
    message_reason: MessageIncompleteReason | None
    confidence: Confidence
    why: str


class Operation(NamedTuple):
    """One row of the operations table.

    Example:
        >>> row = OPERATIONS[Op.REQUIRE_ACTION]
        >>> row.acts_on, row.target.value, row.by, row.ends_stream
        ('run', 'requires_action', 'service', True)
        >>> row.required, row.optional
        (('tool_calls',), ('step_id',))
    """

    #: The operation's name.
    name: Op
    #: ``"run"``: it moves the run (and may end its steps); ``"step"``: it opens or ends
    #: one step (and its message), leaving the run's status as it is.
    acts_on: Literal["run", "step"]
    #: The status the run moves to, or ``None`` when its status does not change.
    target: RunStatus | None
    #: Who makes the move: ``"client"`` (an endpoint: cancel, submit tool outputs,
    #: modify) or ``"service"`` (on its own; no endpoint exposes it, so its refusal is a
    #: :class:`~runstate.TransitionError`, not an API answer).
    by: Literal["client", "service"]
    #: Whether a stream stops after this move (``event: done``): the run waits for the
    #: client's tool outputs, or is over (spec-facts §1.4, §1.5).
    ends_stream: bool
    #: Whether the run must have started (``started_at`` set): a run that never started
    #: cannot complete or become incomplete (``TransitionError`` ``never-started``).
    needs_started: bool
    #: The arguments :func:`~runstate.advance` requires for it, besides ``now``.
    required: tuple[str, ...]
    #: The arguments it may take besides those; ``None`` for one of advance's own
    #: (``step_id``, ``text``, ``incomplete_reason``) means "not given".
    optional: tuple[str, ...]
    #: What it does to the run's open steps and messages, when it ends the run.
    run_end: RunEndEffect | None = None


_Ends: TypeAlias = tuple[StepStatus, MessageStatus, MessageIncompleteReason | None, Confidence, str]


def _row(
    name: Op,
    acts_on: Literal["run", "step"],
    target: RunStatus | None,
    by: Literal["client", "service"],
    *,
    stops: bool = False,
    started: bool = False,
    takes: tuple[str, ...] = (),
    may_take: tuple[str, ...] = (),
    ends: _Ends | None = None,
) -> Operation:
    """One row, its columns named for short lines.

    ``stops`` is ``ends_stream``, ``started`` ``needs_started``, ``takes`` and
    ``may_take`` the required and optional arguments, ``ends`` the run-end effect but
    for the operation's name.
    """
    run_end = None if ends is None else RunEndEffect(name, *ends)
    return Operation(name, acts_on, target, by, stops, started, takes, may_take, run_end)


_RUN: Final = "run"
_STEP: Final = "step"
_CLIENT: Final = "client"
_SERVICE: Final = "service"
_USAGE: Final = ("usage",)

R = RunStatus
S = StepStatus

# The table. Run operations first, in the order of a run's life; then step operations.
_ROWS: Final[tuple[Operation, ...]] = (
    _row(Op.START, _RUN, R.IN_PROGRESS, _SERVICE),
    _row(Op.REQUIRE_ACTION, _RUN, R.REQUIRES_ACTION, _SERVICE, stops=True,
         takes=("tool_calls",), may_take=("step_id",)),
    _row(Op.SUBMIT_TOOL_OUTPUTS, _RUN, R.QUEUED, _CLIENT,
         takes=("tool_outputs",), may_take=_USAGE),
    _row(Op.CANCEL, _RUN, R.CANCELLING, _CLIENT, may_take=("documented_only",)),
    _row(Op.FINISH_CANCEL, _RUN, R.CANCELLED, _SERVICE, stops=True, may_take=_USAGE,
         ends=(S.CANCELLED, MESSAGE_INCOMPLETE, "run_cancelled", "L",
               "inferred from the schemas (step cancelled_at, message reason run_cancelled)")),
    _row(Op.COMPLETE, _RUN, R.COMPLETED, _SERVICE, stops=True, started=True, may_take=_USAGE,
         ends=(S.COMPLETED, MESSAGE_COMPLETED, None, "H",
               "every recording: the message ends, then its step completes, then the run")),
    _row(Op.FAIL, _RUN, R.FAILED, _SERVICE, stops=True, takes=("error",), may_take=_USAGE,
         ends=(S.FAILED, MESSAGE_INCOMPLETE, "run_failed", "L",
               "inferred from the schemas (step failed_at and last_error, reason run_failed)")),
    _row(Op.MARK_INCOMPLETE, _RUN, R.INCOMPLETE, _SERVICE, stops=True, started=True,
         takes=("reason",), may_take=_USAGE,
         ends=(S.COMPLETED, MESSAGE_INCOMPLETE, "max_tokens", "M",
               "ruby 2024-04 streams: a token limit leaves the message incomplete"
               " (max_tokens) and its step completed")),
    _row(Op.EXPIRE, _RUN, R.EXPIRED, _SERVICE, stops=True, may_take=_USAGE,
         ends=(S.EXPIRED, MESSAGE_INCOMPLETE, "run_expired", "L",
               "spec: a step 'is considered expired if the parent run is expired';"
               " the message's reason run_expired is inferred")),
    _row(Op.UPDATE_METADATA, _RUN, None, _CLIENT, may_take=("metadata",)),
    _row(Op.OPEN_MESSAGE_STEP, _STEP, None, _SERVICE, takes=("step_id", "message_id")),
    _row(Op.FINISH_MESSAGE_STEP, _STEP, None, _SERVICE, takes=("step_id",),
         may_take=("usage", "incomplete_reason", "text")),
    _row(Op.OPEN_TOOL_CALLS_STEP, _STEP, None, _SERVICE, takes=("step_id",),
         may_take=("tool_calls",)),
    _row(Op.COMPLETE_TOOL_CALLS_STEP, _STEP, None, _SERVICE, takes=("step_id",),
         may_take=_USAGE),
)  # fmt: skip


def _validate(rows: tuple[Operation, ...]) -> None:
    """The table's own rules: one row per operation, one operation into each status.

    Also: a step operation keeps the run's status, and an operation says what it does
    to the run's open steps exactly when it ends the run.

    Raises:
        InvalidTable: naming every rule that is broken.
    """
    problems: list[str] = []
    names = [row.name for row in rows]
    if sorted(names) != sorted(Op) or len(set(names)) != len(names):
        problems.append(f"rows {names} are not one per operation")
    targets = [row.target for row in rows if row.target is not None]
    for status in RunStatus:
        if targets.count(status) != 1:
            problems.append(f"{targets.count(status)} operations move into {status.value!r}")
    for row in rows:
        if row.acts_on == _STEP and row.target is not None:
            problems.append(f"step operation {row.name.value!r} moves the run")
        ends_run = row.target is not None and row.target.is_terminal
        if ends_run != (row.run_end is not None):
            problems.append(f"{row.name.value!r}: run_end must be given exactly if it ends the run")
        if set(row.required) & set(row.optional):
            problems.append(f"{row.name.value!r}: an argument is both required and optional")
    if problems:
        raise InvalidTable("malformed operations table: " + "; ".join(problems))


_validate(_ROWS)

#: The operations table: name -> its row, in the table's order. Read-only.
#: Look an operation up by its :class:`Op` or its name (``OPERATIONS["cancel"]``).
OPERATIONS: Final[Mapping[str, Operation]] = MappingProxyType({row.name: row for row in _ROWS})

#: The operation that moves a run into each status. Every edge into a status is taken by
#: that status's operation, so the transition table alone decides whether an operation
#: is legal from a given status.
OPERATION_FOR_TARGET: Final[Mapping[RunStatus, Op]] = MappingProxyType(
    {row.target: row.name for row in _ROWS if row.target is not None}
)

#: The statuses a stream stops at (``event: done``): the moves with ``ends_stream``.
STREAM_END_STATUSES: Final[frozenset[RunStatus]] = frozenset(
    row.target for row in _ROWS if row.ends_stream and row.target is not None
)

#: Run operation -> what it does to the open steps and messages, for every operation
#: that ends a run. ``cancel`` (to ``cancelling``) leaves them open (inferred, ``L``):
#: the run still works until the cancel takes effect.
RUN_END_EFFECTS: Final[Mapping[str, RunEndEffect]] = MappingProxyType(
    {row.name: row.run_end for row in _ROWS if row.run_end is not None}
)
