"""The Run's field rules: each limit and enum of a field, stated once, beside ``SCHEMA``.

``SCHEMA`` (:mod:`runstate._schema`) says which JSON type each field holds; this table
says what values it allows beyond that: its enum (read from the model's ``Literal``,
never retyped), range, length, count or pattern, with the evidence (spec-facts
sections) and a severity. Three readers loop over it:

* the request reader (:mod:`runstate._requests`, :mod:`runstate._readers`), which stops
  at the first problem and answers with the API's exact 400 (rows with ``request``);
* :func:`runstate.violations`, which lists every broken row of a run's values
  (:func:`runstate._engine.fields.judge`), with the row's severity and rule name;
* :mod:`runstate.strategies`, which draws inside each row.

A new limit is one row here. Owners are value classes (``Run``, ``RankingOptions``...),
which ``violations`` finds inside a run, or the spec's request schemas
(``CreateAssistantRequest``...), which only the request reader reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, get_args

import attrs

from ._engine.fields import FieldRule, check_rules, rules_by_owner
from ._model import (
    CodeInterpreterTool,
    FileSearchTool,
    IncompleteReason,
    LastErrorCode,
    MessageIncompleteReason,
    Ranker,
    ReasoningEffort,
    ResponseFormat,
    ResponseFormatMode,
    Tool,
    ToolChoiceMode,
    ToolChoiceType,
    TruncationType,
)

__all__ = [
    "ASSISTANT_TEXT",
    "ASSISTANT_TOOLS",
    "ATTACHMENTS",
    "ATTACHMENT_TOOL_TYPES",
    "CODE_FILES",
    "CONTENT_PART_TYPES",
    "FIELD_RULES",
    "INCOMPLETE_REASONS",
    "LAST_ERROR_CODES",
    "LAST_MESSAGES",
    "MAX_NUM_RESULTS",
    "MESSAGE_INCOMPLETE_REASONS",
    "MESSAGE_ROLES",
    "MESSAGE_TEXT",
    "METADATA",
    "NAME",
    "RANKERS",
    "REASONING_EFFORTS",
    "RESPONSE_FORMAT_MODES",
    "RESPONSE_FORMAT_TYPES",
    "RULES_BY_OWNER",
    "RUN_ECHOES",
    "RUN_INSTRUCTIONS",
    "RUN_TOOLS",
    "SCORE_THRESHOLD",
    "TEMPERATURE",
    "TOKEN_LIMIT",
    "TOKEN_MINIMUM",
    "TOOL_CHOICE_MODES",
    "TOOL_CHOICE_TYPES",
    "TOOL_TYPES",
    "TOP_P",
    "TRUNCATION_TYPES",
    "VECTOR_STORES",
    "VECTOR_STORE_FILES",
    "VECTOR_STORE_IDS",
]


def _tags(*classes: type) -> tuple[str, ...]:
    """The ``type`` tag of each value class, from its ``Literal`` default, in order."""
    return tuple(str(attrs.fields_dict(cls)["type"].default) for cls in classes)


def _strings(literal: object) -> tuple[str, ...]:
    return tuple(v for v in get_args(literal) if isinstance(v, str))


# -- Enums: each read from its Literal in runstate._model --------------------------------

TOOL_TYPES: Final = FieldRule(
    on=("Tool",), keys=("type",), kind="string", values=_tags(*get_args(Tool)),
    evidence="spec AssistantObject.tools oneOf", rule="tool-type",
)  # fmt: skip
RESPONSE_FORMAT_TYPES: Final = FieldRule(
    on=("ResponseFormat",), keys=("type",), kind="string",
    values=_tags(*(c for c in get_args(ResponseFormat) if isinstance(c, type))),
    evidence="spec AssistantsApiResponseFormatOption", rule="response-format-type",
)  # fmt: skip
RESPONSE_FORMAT_MODES: Final = FieldRule(
    on=("Run",), keys=("response_format",), kind="string",
    values=_strings(ResponseFormatMode),
    evidence="spec AssistantsApiResponseFormatOption", rule="response-format",
)  # fmt: skip
TOOL_CHOICE_MODES: Final = FieldRule(
    on=("Run",), keys=("tool_choice",), kind="string", values=_strings(ToolChoiceMode),
    evidence="spec AssistantsApiToolChoiceOption", rule="tool-choice",
)  # fmt: skip
TOOL_CHOICE_TYPES: Final = FieldRule(
    on=("ToolChoice",), keys=("type",), kind="string", values=_strings(ToolChoiceType),
    evidence="spec AssistantsNamedToolChoice", rule="tool-choice-type",
)  # fmt: skip
TRUNCATION_TYPES: Final = FieldRule(
    on=("TruncationStrategy",), keys=("type",), kind="string",
    values=_strings(TruncationType), evidence="spec TruncationObject (§1.1)",
    rule="truncation-type",
)  # fmt: skip
RANKERS: Final = FieldRule(
    on=("RankingOptions",), keys=("ranker",), kind="string", values=_strings(Ranker),
    evidence="spec FileSearchRankingOptions", rule="ranker",
)  # fmt: skip
REASONING_EFFORTS: Final = FieldRule(
    on=("CreateRunRequest", "CreateAssistantRequest"), keys=("reasoning_effort",),
    kind="string", values=_strings(ReasoningEffort),
    evidence="spec ReasoningEffort; real runs carry it (§5.2)", rule="reasoning-effort",
)  # fmt: skip
LAST_ERROR_CODES: Final = FieldRule(
    on=("LastError",), keys=("code",), kind="string", values=_strings(LastErrorCode),
    evidence="spec RunObject.last_error.code", rule="error-code", request=False,
)  # fmt: skip
INCOMPLETE_REASONS: Final = FieldRule(
    on=("IncompleteDetails",), keys=("reason",), kind="string",
    values=_strings(IncompleteReason), evidence="spec RunObject.incomplete_details",
    rule="incomplete-reason", request=False,
)  # fmt: skip
MESSAGE_INCOMPLETE_REASONS: Final = FieldRule(
    on=("MessageIncompleteDetails",), keys=("reason",), kind="string",
    values=_strings(MessageIncompleteReason), evidence="spec MessageObject (§11)",
    rule="message-incomplete-reason", request=False,
)  # fmt: skip
MESSAGE_ROLES: Final = FieldRule(
    on=("CreateMessageRequest",), keys=("role",), kind="string",
    values=("user", "assistant"), evidence="spec CreateMessageRequest.role",
    rule="message-role",
)  # fmt: skip
CONTENT_PART_TYPES: Final = FieldRule(
    on=("MessageContent",), keys=("type",), kind="string",
    values=("text", "image_file", "image_url"), evidence="spec CreateMessageRequest.content",
    rule="content-part-type",
)  # fmt: skip
ATTACHMENT_TOOL_TYPES: Final = FieldRule(
    on=("AttachmentTool",), keys=("type",), kind="string",
    values=_tags(CodeInterpreterTool, FileSearchTool),
    evidence="spec CreateMessageRequest.attachments[].tools", rule="attachment-tool-type",
)  # fmt: skip

# -- Ranges, lengths, counts and patterns --------------------------------------------------

#: The assistant's ``instructions`` limit, which a run's instructions and a message's
#: text share (inferred for both: see their rows).
_LONG_TEXT: Final = 256_000

METADATA: Final = FieldRule(
    on=("Run",), keys=("metadata",), kind="map", max_items=16, key_length=64,
    max_length=512, rule="metadata-limits",
    evidence="spec Metadata prose (§1.1); §10.2 rows (too many properties OBS(other))",
)  # fmt: skip
TEMPERATURE: Final = FieldRule(
    on=("Run", "CreateAssistantRequest"), keys=("temperature",), kind="number",
    minimum=0, maximum=2, rule="temperature-range",
    evidence="spec-facts §1.2; §10.2 (temperature > 2, OBS(other: chat))",
)  # fmt: skip
TOP_P: Final = FieldRule(
    on=("Run", "CreateAssistantRequest"), keys=("top_p",), kind="number", minimum=0,
    maximum=1, rule="top-p-range", evidence="spec-facts §1.2",
)  # fmt: skip
TOKEN_LIMIT: Final = FieldRule(
    on=("Run",), keys=("max_prompt_tokens", "max_completion_tokens"), kind="integer",
    minimum=1, rule="token-limit-positive", note="a create request with it is refused",
    evidence="§10.2 template (INF): the request reader's floor without strict_token_minimum",
)  # fmt: skip
TOKEN_MINIMUM: Final = FieldRule(
    on=("Run",), keys=("max_prompt_tokens", "max_completion_tokens"), kind="integer",
    minimum=256, severity="warning", rule="token-limit-minimum",
    note="the spec's minimum, which the real API accepts",
    evidence="spec minimum (§1.1, §1.2); not enforced by the real API (§8.4)",
)  # fmt: skip
LAST_MESSAGES: Final = FieldRule(
    on=("TruncationStrategy",), keys=("last_messages",), kind="integer", minimum=1,
    rule="truncation-last-messages", evidence="spec TruncationObject (§1.1)",
)  # fmt: skip
MAX_NUM_RESULTS: Final = FieldRule(
    on=("FileSearchOptions",), keys=("max_num_results",), kind="integer", minimum=1,
    maximum=50, rule="file-search-max-results", evidence="spec AssistantToolsFileSearch",
)  # fmt: skip
SCORE_THRESHOLD: Final = FieldRule(
    on=("RankingOptions",), keys=("score_threshold",), kind="number", minimum=0,
    maximum=1, rule="score-threshold", evidence="spec FileSearchRankingOptions",
)  # fmt: skip
NAME: Final = FieldRule(
    on=("FunctionDefinition", "ToolChoiceFunction", "FunctionCall", "JsonSchema"),
    keys=("name",), kind="string", max_length=64, pattern="^[a-zA-Z0-9_-]+$",
    rule="function-name",
    evidence="spec FunctionObject.name (the format's name shares it); pattern text INF",
)  # fmt: skip
RUN_TOOLS: Final = FieldRule(
    on=("Run",), keys=("tools",), kind="array", max_items=20, severity="warning",
    rule="too-many-tools", evidence="spec maxItems on the run request schemas (§1.2)",
)  # fmt: skip
ASSISTANT_TOOLS: Final = FieldRule(
    on=("CreateAssistantRequest",), keys=("tools",), kind="array", max_items=128,
    rule="too-many-tools",
    evidence="spec CreateAssistantRequest.tools; §10.2 (128 tools, OBS(other: chat))",
)  # fmt: skip
ASSISTANT_TEXT: Final = (
    FieldRule(
        on=("CreateAssistantRequest",), keys=("name",), kind="string", max_length=256,
        rule="assistant-name", evidence="spec CreateAssistantRequest maxLength",
    ),
    FieldRule(
        on=("CreateAssistantRequest",), keys=("description",), kind="string",
        max_length=512, rule="assistant-description",
        evidence="spec CreateAssistantRequest maxLength",
    ),
    FieldRule(
        on=("CreateAssistantRequest",), keys=("instructions",), kind="string",
        max_length=_LONG_TEXT, rule="assistant-instructions",
        evidence="spec CreateAssistantRequest maxLength",
    ),
)  # fmt: skip
RUN_INSTRUCTIONS: Final = FieldRule(
    on=("CreateRunRequest",), keys=("instructions", "additional_instructions"),
    kind="string", max_length=_LONG_TEXT, rule="run-instructions",
    evidence="inferred: they replace or extend the assistant's; the run schemas state none",
)  # fmt: skip
MESSAGE_TEXT: Final = FieldRule(
    on=("CreateMessageRequest", "MessageContent"), keys=("content", "text"), kind="string",
    max_length=_LONG_TEXT, rule="message-text",
    evidence="spec CreateMessageRequest.content maxLength while a string "
    "(openai-openapi 2024-04-17 to 2024-05-08); inferred since, and for each text part",
)  # fmt: skip
ATTACHMENTS: Final = FieldRule(
    on=("CreateMessageRequest",), keys=("attachments",), kind="array", max_items=10,
    rule="message-attachments",
    evidence="v1's file_ids maxItems ('A maximum of 10 files'); v2 states none (inferred)",
)  # fmt: skip
CODE_FILES: Final = FieldRule(
    on=("CodeInterpreterResources",), keys=("file_ids",), kind="array", max_items=20,
    rule="code-interpreter-files", evidence="spec tool_resources.code_interpreter",
)  # fmt: skip
VECTOR_STORE_IDS: Final = FieldRule(
    on=("FileSearchResources",), keys=("vector_store_ids",), kind="array", max_items=1,
    rule="vector-store-ids", evidence="spec tool_resources.file_search",
)  # fmt: skip
VECTOR_STORES: Final = FieldRule(
    on=("FileSearchResources",), keys=("vector_stores",), kind="array", max_items=1,
    rule="vector-stores", evidence="spec tool_resources.file_search",
)  # fmt: skip
VECTOR_STORE_FILES: Final = FieldRule(
    on=("VectorStore",), keys=("file_ids",), kind="array", max_items=10_000,
    rule="vector-store-files", evidence="spec tool_resources.file_search.vector_stores",
)  # fmt: skip

#: Every rule, in the order ``violations`` reports them (an error row before the
#: warning row of the same field: a field breaking it is not reported again).
FIELD_RULES: Final[tuple[FieldRule, ...]] = (
    METADATA,
    TEMPERATURE,
    TOP_P,
    TOKEN_LIMIT,
    TOKEN_MINIMUM,
    LAST_MESSAGES,
    MAX_NUM_RESULTS,
    SCORE_THRESHOLD,
    NAME,
    RUN_TOOLS,
    ASSISTANT_TOOLS,
    *ASSISTANT_TEXT,
    RUN_INSTRUCTIONS,
    MESSAGE_TEXT,
    ATTACHMENTS,
    CODE_FILES,
    VECTOR_STORE_IDS,
    VECTOR_STORES,
    VECTOR_STORE_FILES,
    TOOL_TYPES,
    RESPONSE_FORMAT_TYPES,
    RESPONSE_FORMAT_MODES,
    TOOL_CHOICE_MODES,
    TOOL_CHOICE_TYPES,
    TRUNCATION_TYPES,
    RANKERS,
    REASONING_EFFORTS,
    LAST_ERROR_CODES,
    INCOMPLETE_REASONS,
    MESSAGE_INCOMPLETE_REASONS,
    MESSAGE_ROLES,
    CONTENT_PART_TYPES,
    ATTACHMENT_TOOL_TYPES,
)
check_rules(FIELD_RULES)
#: Owner -> its ``(key, rule)`` pairs: what ``violations`` judges in each value.
RULES_BY_OWNER: Final = rules_by_owner(FIELD_RULES)

# -- Echoes: create-run parameters the run carries back -------------------------------------

#: The create-run parameters the run echoes as its field of the same name, each with the
#: value the run gets when the request leaves it out (spec-facts §1.2, §5.1; what the real
#: API fills in). The run's request key lists (:mod:`runstate._requests`) say where a
#: request takes each; from this table, the request reader reads each one that has a
#: ``Run`` row above by that row (:mod:`runstate._readers`), :meth:`CreateRun.new_run
#: <runstate.CreateRun.new_run>` copies each onto the run, :func:`runstate.new_run` takes
#: each by keyword (one not named in its signature through its ``**echoes``), and the
#: strategies draw each one they do not draw by name inside its rows. A new echoed
#: parameter is a ``Run`` field (:mod:`runstate._model`), a row here if it has a limit,
#: an entry here, and its key in the request (:mod:`runstate._requests`).
RUN_ECHOES: Final[Mapping[str, Any]] = {
    "temperature": 1.0,
    "top_p": 1.0,
    "max_prompt_tokens": None,
    "max_completion_tokens": None,
    "truncation_strategy": None,  # runstate.new_run fills in {"type": "auto", ...}
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "response_format": "auto",
}
