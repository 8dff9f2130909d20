"""runstate: a pure, sans-io reference model of the OpenAI Assistants Run lifecycle.

Everything in ``__all__`` is the public API; the modules behind it are private, except
:mod:`runstate.models` (the nested wire values and their types),
:mod:`runstate.strategies` (hypothesis strategies) and :mod:`runstate.testing` (the
conformance kit).
"""

from __future__ import annotations

from ._errors import (
    APIError,
    CancelNotAllowed,
    ClockWentBackwards,
    Error,
    FieldError,
    InvalidArgument,
    InvalidRequest,
    InvalidRun,
    InvalidTable,
    NotFound,
    RunNotModifiable,
    ThreadBusy,
    ToolOutputsRejected,
    TransitionError,
    not_found,
)
from ._invariants import Violation, validate, violations
from ._machine import machine
from ._model import Run
from ._ops import (
    DEFAULT_EXPIRES_IN,
    CancelDecision,
    ToolOutput,
    cancel,
    check_cancel,
    complete,
    ensure_can_add_message,
    ensure_can_create_run,
    expire,
    fail,
    finish_cancel,
    mark_incomplete,
    new_run,
    require_action,
    start,
    submit_tool_outputs,
    update_metadata,
)
from ._serde import CONVERTER as converter
from ._serde import dump_run, parse_run
from ._sse import parse_sse
from ._status import ACTIVE_STATUSES, TERMINAL_STATUSES, RunStatus
from ._table import (
    CANCELLABLE_STATUSES,
    EDGES,
    TRANSITIONS,
    Edge,
    can_reach,
    can_transition,
)
from ._trace import TraceChecker, TraceProblem, TraceReport, check_trace
from ._version import __version__

__all__ = (
    # statuses and the table
    "RunStatus",
    "TERMINAL_STATUSES",
    "ACTIVE_STATUSES",
    "CANCELLABLE_STATUSES",
    "TRANSITIONS",
    "EDGES",
    "Edge",
    "can_transition",
    "can_reach",
    "machine",
    # the run, read and written
    "Run",
    "parse_run",
    "dump_run",
    "converter",
    # lifecycle operations
    "new_run",
    "start",
    "require_action",
    "submit_tool_outputs",
    "ToolOutput",
    "cancel",
    "check_cancel",
    "CancelDecision",
    "finish_cancel",
    "complete",
    "fail",
    "mark_incomplete",
    "expire",
    "update_metadata",
    "ensure_can_create_run",
    "ensure_can_add_message",
    "DEFAULT_EXPIRES_IN",
    # per-status rules
    "violations",
    "validate",
    "Violation",
    # traces
    "check_trace",
    "TraceChecker",
    "TraceReport",
    "TraceProblem",
    "parse_sse",
    # errors
    "Error",
    "InvalidRun",
    "FieldError",
    "InvalidArgument",
    "InvalidTable",
    "ClockWentBackwards",
    "TransitionError",
    "APIError",
    "CancelNotAllowed",
    "ToolOutputsRejected",
    "RunNotModifiable",
    "ThreadBusy",
    "InvalidRequest",
    "NotFound",
    "not_found",
    "__version__",
)
