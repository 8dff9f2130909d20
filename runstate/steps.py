"""Run steps and messages: values, their tables and operations, tied to the run's life.

:class:`~runstate.RunStep`, ``StepStatus``, ``parse_step``/``dump_step`` and
:func:`~runstate.advance` (a run operation applied to the run, its steps and its messages
together) are also at the top level; this module holds the rest.
"""

from __future__ import annotations

from ._model import Message, RunStep, StepStatus
from ._steps import (
    RUN_END_EFFECTS,
    STEP_EDGES,
    STEP_TRANSITIONS,
    RunEndEffect,
    RunLife,
    StepEdge,
    StepTransitionError,
    advance,
    attach_tool_outputs,
    complete_message,
    complete_step,
    dump_message,
    dump_step,
    mark_message_incomplete,
    message_violations,
    open_message,
    open_message_step,
    open_tool_calls_step,
    parse_message,
    parse_step,
    step_violations,
    write_message_text,
)

__all__ = [
    "RunStep",
    "StepStatus",
    "StepTransitionError",
    "parse_step",
    "dump_step",
    "advance",
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
