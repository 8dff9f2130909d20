"""The wire values nested in a run, their types, and the per-status field table.

:class:`runstate.Run` is at the top level; the values it holds live here, with the
type aliases of their enumerated fields (each ``Literal`` is the one statement of the
values the API allows: the parser, the error messages, the invariants and the
hypothesis strategies all read it). Every class is frozen, and every container in it is
read-only all the way down (:class:`FrozenDict`, :class:`FrozenList`, tuples).

Example:
    >>> from runstate.models import Usage, parse_value, dump_value
    >>> usage = parse_value(Usage, {"prompt_tokens": 1, "completion_tokens": 2,
    ...                             "total_tokens": 3, "prompt_token_details": {}})
    >>> dump_value(usage)["prompt_token_details"]
    {}
"""

from __future__ import annotations

from ._invariants import PRESENCE, Presence, Severity
from ._model import (
    CodeInterpreterTool,
    FileSearchOptions,
    FileSearchTool,
    FrozenDict,
    FrozenList,
    FunctionCall,
    FunctionDefinition,
    FunctionTool,
    IncompleteDetails,
    IncompleteReason,
    JsonSchema,
    LastError,
    LastErrorCode,
    Ranker,
    RankingOptions,
    RequiredAction,
    ResponseFormat,
    ResponseFormatJsonObject,
    ResponseFormatJsonSchema,
    ResponseFormatText,
    Run,
    SubmitToolOutputs,
    Tool,
    ToolCall,
    ToolChoice,
    ToolChoiceFunction,
    ToolChoiceMode,
    ToolChoiceOption,
    ToolChoiceType,
    TruncationStrategy,
    TruncationType,
    Usage,
)
from ._serde import MAX_JSON_DEPTH, dump_value, parse_value

__all__ = [
    "Run",
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
