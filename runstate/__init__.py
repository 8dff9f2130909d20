"""runstate: a pure, sans-io reference model of the OpenAI Assistants Run lifecycle.

Everything in ``__all__`` is the public API; the modules behind it are private, except
:mod:`runstate.models` (the nested wire values and their types), :mod:`runstate.toolkit`
(the server toolkit's values and helpers), :mod:`runstate.steps` (run steps and messages),
:mod:`runstate.responses` (the Responses API's background mode, a sibling machine),
:mod:`runstate.strategies` (hypothesis strategies) and :mod:`runstate.testing` (the
conformance kit).

Each public name is in exactly one of these modules' ``__all__`` (docs/reference.md,
"Where each name lives"); a few that 0.1 exported twice stay importable from their second
place too, for compatibility.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# The public submodules: ``runstate.models``, ``runstate.toolkit``, ``runstate.steps``;
# ``runstate.responses`` (the Responses API's machine) is imported on first use, by
# ``__getattr__`` below; ``runstate.strategies`` and ``runstate.testing`` import
# hypothesis: import them yourself.
from . import _ops, _serde, models, steps, toolkit
from ._engine.sse import parse_sse
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
from ._events import encode_sse, stream_events
from ._invariants import Violation, validate, violations
from ._machine import machine
from ._model import Run, RunStep, StepStatus
from ._operations import OPERATIONS, STREAM_END_STATUSES, Op, Operation
from ._ops import *  # noqa: F403 - the lifecycle operations: _ops.__all__ is their one list
from ._pages import list_page, parse_list_messages, parse_list_runs
from ._requests import (
    parse_create_assistant,
    parse_create_message,
    parse_create_run,
    parse_create_thread,
    parse_create_thread_and_run,
    parse_modify_assistant,
    parse_modify_message,
    parse_modify_run,
    parse_modify_thread,
    parse_submit_tool_outputs,
)
from ._serde import configure_converter, dump_run, make_converter, parse_run
from ._status import ACTIVE_STATUSES, TERMINAL_STATUSES, RunStatus
from ._steps import (
    StepTransitionError,
    advance,
    dump_step,
    parse_step,
)
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

if TYPE_CHECKING:
    from . import responses
    from ._serde import CONVERTER as converter

__all__ = [
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
    # the operations table
    "Op",
    "Operation",
    "OPERATIONS",
    "STREAM_END_STATUSES",
    # the run, read and written
    "Run",
    "parse_run",
    "dump_run",
    "converter",
    "configure_converter",
    "make_converter",
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
    # server toolkit
    "parse_create_run",
    "parse_create_thread_and_run",
    "parse_create_assistant",
    "parse_create_thread",
    "parse_submit_tool_outputs",
    "parse_modify_run",
    "parse_create_message",
    "parse_modify_assistant",
    "parse_modify_thread",
    "parse_modify_message",
    "parse_list_runs",
    "parse_list_messages",
    "list_page",
    "stream_events",
    "encode_sse",
    # run steps and messages
    "RunStep",
    "StepStatus",
    "StepTransitionError",
    "parse_step",
    "dump_step",
    "advance",
    # public submodules
    "models",
    "responses",
    "steps",
    "toolkit",
    "__version__",
]
# The lifecycle operations, as _ops lists them (a new operation is public there alone).
__all__ += _ops.__all__


def __getattr__(name: str) -> object:
    """``runstate.responses`` and ``runstate.converter``, made on first use.

    ``runstate.responses`` is a quarter of ``import runstate``'s time, and a program of
    runs alone never needs it. ``import runstate.responses`` and ``from runstate import
    responses`` import it too; its values join the one schema when it is imported,
    before any of them can exist. ``runstate.converter`` imports cattrs, which only a
    program using it needs; it is the one shared converter, ``runstate._serde.CONVERTER``,
    on every access (``from runstate import converter`` too). benchmarks/RESULTS.md,
    "Import time", has the figures.
    """
    if name == "responses":
        import importlib  # noqa: PLC0415

        return importlib.import_module(".responses", __name__)
    if name == "converter":
        found = _serde.CONVERTER
        globals()["converter"] = found  # the same object: later accesses skip this
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
