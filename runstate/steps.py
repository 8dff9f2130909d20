"""Run steps and messages: values, their tables and operations, tied to the run's life.

:class:`~runstate.RunStep`, ``StepStatus``, ``parse_step``/``dump_step`` and
:func:`~runstate.advance` (a run operation applied to the run, its steps and its messages
together) are at the top level; this module holds the rest.

Each public name is exported from one namespace: those top-level names are not in this
module's ``__all__``, but stay importable from here as 0.1 exported them.
"""

from __future__ import annotations

from . import _model, _steps
from ._model import Message
from ._steps import (
    RUN_END_EFFECTS,
    STEP_EDGES,
    STEP_TRANSITIONS,
    RunEndEffect,
    RunLife,
    StepEdge,
    attach_tool_outputs,
    complete_message,
    complete_step,
    dump_message,
    mark_message_incomplete,
    message_violations,
    open_message,
    open_message_step,
    open_tool_calls_step,
    parse_message,
    step_violations,
    write_message_text,
)

# Compatibility: names whose one namespace is ``runstate``, importable from here too
# because 0.1 exported them here as well (docs/reference.md, "Where each name lives").
# Not in ``__all__``.
RunStep = _model.RunStep
StepStatus = _model.StepStatus
StepTransitionError = _steps.StepTransitionError
parse_step = _steps.parse_step
dump_step = _steps.dump_step
advance = _steps.advance

__all__ = [
    "Message",
    "STEP_TRANSITIONS",
    "STEP_EDGES",
    "StepEdge",
    "RUN_END_EFFECTS",
    "RunEndEffect",
    "RunLife",
    "parse_message",
    "dump_message",
    "step_violations",
    "message_violations",
    "open_message_step",
    "open_tool_calls_step",
    "complete_step",
    "attach_tool_outputs",
    "open_message",
    "complete_message",
    "mark_message_incomplete",
    "write_message_text",
]
