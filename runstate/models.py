"""The wire values nested in a run, their types, and the per-status field table.

:class:`runstate.Run` is at the top level; the values it holds live here, with the
type aliases of their enumerated fields (each ``Literal`` is the one statement of the
values the API allows: the parser, the error messages, the invariants and the
hypothesis strategies all read it). Every class is frozen, and every container in it is
read-only all the way down (:class:`FrozenDict`, :class:`FrozenList`, tuples).

``Run``, ``RunStep`` and ``StepStatus`` (exported from ``runstate``) and ``Message``
(exported from ``runstate.steps``) stay importable from here too, as 0.1 exported them.

Example:
    >>> from runstate.models import Usage, parse_value, dump_value
    >>> usage = parse_value(Usage, {"prompt_tokens": 1, "completion_tokens": 2,
    ...                             "total_tokens": 3, "prompt_token_details": {}})
    >>> dump_value(usage)["prompt_token_details"]
    {}
"""

from __future__ import annotations

from . import _model
from ._invariants import PRESENCE, Presence, Severity
from ._model import (
    CodeInterpreterTool,
    CodeInterpreterToolCall,
    FileSearchOptions,
    FileSearchTool,
    FileSearchToolCall,
    FrozenDict,
    FrozenList,
    FunctionCall,
    FunctionDefinition,
    FunctionTool,
    FunctionToolCall,
    IncompleteDetails,
    IncompleteReason,
    JsonSchema,
    LastError,
    LastErrorCode,
    MessageCreation,
    MessageCreationDetails,
    MessageIncompleteDetails,
    MessageIncompleteReason,
    MessageStatus,
    Ranker,
    RankingOptions,
    RequiredAction,
    ResponseFormat,
    ResponseFormatJsonObject,
    ResponseFormatJsonSchema,
    ResponseFormatText,
    StepDetails,
    StepErrorCode,
    StepFunction,
    StepLastError,
    StepToolCall,
    StepType,
    SubmitToolOutputs,
    Tool,
    ToolCall,
    ToolCallsDetails,
    ToolChoice,
    ToolChoiceFunction,
    ToolChoiceMode,
    ToolChoiceOption,
    ToolChoiceType,
    TruncationStrategy,
    TruncationType,
    Usage,
)
from ._serde import MAX_JSON_DEPTH, dump_value, format_exception, parse_value

# Compatibility: names whose one namespace is ``runstate`` (``Message``'s is
# ``runstate.steps``), importable from here too because 0.1 exported them here as well
# (docs/reference.md, "Where each name lives"). Not in ``__all__``.
Run = _model.Run
RunStep = _model.RunStep
StepStatus = _model.StepStatus
Message = _model.Message

__all__ = [
    "format_exception",
    "CodeInterpreterToolCall",
    "FileSearchToolCall",
    "FunctionToolCall",
    "MessageCreation",
    "MessageCreationDetails",
    "MessageIncompleteDetails",
    "MessageIncompleteReason",
    "MessageStatus",
    "StepDetails",
    "StepErrorCode",
    "StepFunction",
    "StepLastError",
    "StepToolCall",
    "StepType",
    "ToolCallsDetails",
    "RequiredAction",
    "SubmitToolOutputs",
    "ToolCall",
    "FunctionCall",
    "LastError",
    "LastErrorCode",
    "IncompleteDetails",
    "IncompleteReason",
    "Usage",
    "TruncationStrategy",
    "TruncationType",
    "Tool",
    "CodeInterpreterTool",
    "FileSearchTool",
    "FileSearchOptions",
    "RankingOptions",
    "Ranker",
    "FunctionTool",
    "FunctionDefinition",
    "ResponseFormat",
    "ResponseFormatText",
    "ResponseFormatJsonObject",
    "ResponseFormatJsonSchema",
    "JsonSchema",
    "ToolChoiceOption",
    "ToolChoiceMode",
    "ToolChoice",
    "ToolChoiceFunction",
    "ToolChoiceType",
    "FrozenDict",
    "FrozenList",
    "MAX_JSON_DEPTH",
    "parse_value",
    "dump_value",
    "PRESENCE",
    "Presence",
    "Severity",
]
