"""The ``Run`` value and its nested value classes, named exactly as on the wire.

Every class is a frozen, slotted attrs class. Two bookkeeping fields make reading and
writing lossless at every nesting level:

``extra``
    The object's keys this library does not model, in their JSON form (for example
    ``tool_resources``, ``reasoning_effort`` and v1's ``file_ids`` on a run, or
    ``prompt_token_details`` on usage; spec-facts §5.2, §8.8). Written back unchanged.
``absent``
    The optional keys the object did not have (assistants v1 objects lack ``usage``,
    ``required_action`` and more; spec-facts §5.1). They read as null (or their default)
    and are left out again when written back, as long as they still hold that value.

Values are immutable all the way down: attributes cannot be set, sequences are tuples,
and every JSON object or array a value keeps is a read-only :class:`FrozenDict` or
:class:`FrozenList` (:mod:`runstate._engine.frozen`). Values built by hand are checked
against the wire schema and frozen by their constructors, exactly as parsing checks and
freezes them: the per-field checks come from the wire schema declared at the end of
this module (:data:`SCHEMA`, registered there with the schema engine), through
:func:`runstate._engine.values.field_check`. Values are unhashable (they may hold JSON
objects); key them by ``id``. ``dump_run`` returns fresh plain containers.

Each ``Literal`` alias below is the one statement of the values the API allows for its
field; the parser, the error walker, the invariants and the strategies read it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias

import attrs

from ._engine.codegen import extend
from ._engine.frozen import FrozenDict, FrozenList
from ._engine.schema import (
    BOOL,
    INT,
    NUMBER,
    STR,
    TIMESTAMP,
    Array,
    EnumKind,
    Field,
    JsonObject,
    StringMap,
    lit,
    obj,
    opt,
    tag,
    tagged,
)
from ._engine.values import NO_KEYS, freeze_metadata
from ._engine.values import absent_field as _absent
from ._engine.values import add_checks as _add_checks
from ._engine.values import extra_field as _extra
from ._engine.values import freeze_extra as _freeze_extra
from ._engine.values import freeze_parameters as _freeze_parameters
from ._engine.values import freeze_schema as _freeze_schema
from ._engine.values import to_tuple as _tuple
from ._status import RunStatus

__all__ = [
    "COMMON_VALUES",
    "LATE_KEYS",
    "LIKELY_EXTRAS",
    "MESSAGE_COMPLETED",
    "MESSAGE_CREATION",
    "MESSAGE_INCOMPLETE",
    "MESSAGE_IN_PROGRESS",
    "MESSAGE_STATUSES",
    "NO_KEYS",
    "SCHEMA",
    "TOOL_CALLS",
    "CodeInterpreterTool",
    "CodeInterpreterToolCall",
    "FileSearchOptions",
    "FileSearchTool",
    "FileSearchToolCall",
    "FrozenDict",
    "FrozenList",
    "FunctionCall",
    "FunctionDefinition",
    "FunctionTool",
    "FunctionToolCall",
    "IncompleteDetails",
    "IncompleteReason",
    "JsonSchema",
    "LastError",
    "LastErrorCode",
    "Message",
    "MessageCreation",
    "MessageCreationDetails",
    "MessageIncompleteDetails",
    "MessageIncompleteReason",
    "MessageStatus",
    "Ranker",
    "RankingOptions",
    "ReasoningEffort",
    "RequiredAction",
    "ResponseFormat",
    "ResponseFormatJsonObject",
    "ResponseFormatJsonSchema",
    "ResponseFormatText",
    "Run",
    "RunStep",
    "StepDetails",
    "StepErrorCode",
    "StepFunction",
    "StepLastError",
    "StepStatus",
    "StepToolCall",
    "StepType",
    "SubmitToolOutputs",
    "Tool",
    "ToolCall",
    "ToolCallsDetails",
    "ToolChoice",
    "ToolChoiceFunction",
    "ToolChoiceMode",
    "ToolChoiceOption",
    "ToolChoiceType",
    "TruncationStrategy",
    "TruncationType",
    "Usage",
    "freeze_metadata",
]

#: ``last_error.code`` values (spec ``RunObject.last_error.code``, SDK ``LastError.code``).
LastErrorCode: TypeAlias = Literal["server_error", "rate_limit_exceeded", "invalid_prompt"]
#: ``incomplete_details.reason`` values (spec and SDK ``IncompleteDetails.reason``).
IncompleteReason: TypeAlias = Literal["max_completion_tokens", "max_prompt_tokens"]
#: ``truncation_strategy.type`` values (spec ``TruncationObject.type``).
TruncationType: TypeAlias = Literal["auto", "last_messages"]
#: ``file_search.ranking_options.ranker`` values.
Ranker: TypeAlias = Literal["auto", "default_2024_08_21"]
#: ``tool_choice.type`` values for a specific tool.
ToolChoiceType: TypeAlias = Literal["function", "code_interpreter", "file_search"]
#: ``tool_choice`` as a string.
ToolChoiceMode: TypeAlias = Literal["none", "auto", "required"]
#: ``response_format`` as a string.
ResponseFormatMode: TypeAlias = Literal["auto"]
#: ``reasoning_effort`` values on requests and on real runs (spec ``ReasoningEffort``, as
#: openai-python's generated ``types/shared/reasoning_effort.py`` lists them).
ReasoningEffort: TypeAlias = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class FunctionCall:
    """The function a pending tool call asks the caller to run."""

    #: The function's name.
    name: str
    #: The arguments, as the JSON text the model produced.
    arguments: str
    #: Unknown keys, kept verbatim.
    extra: Mapping[str, Any] = _extra()
    #: Optional keys the input lacked.
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class ToolCall:
    """One tool call in ``required_action.submit_tool_outputs.tool_calls``.

    Its ``id`` is what a tool output's ``tool_call_id`` must name.
    """

    id: str
    function: FunctionCall
    #: Always ``"function"`` for now (spec ``RequiredActionFunctionToolCall.type``).
    type: Literal["function"] = "function"
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class SubmitToolOutputs:
    """The tool calls whose outputs the run waits for."""

    tool_calls: tuple[ToolCall, ...] = attrs.field(converter=_tuple)
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class RequiredAction:
    """What a ``requires_action`` run waits for; null in every other status."""

    submit_tool_outputs: SubmitToolOutputs
    type: Literal["submit_tool_outputs"] = "submit_tool_outputs"
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class LastError:
    """Why a run failed; set exactly when the status is ``failed``."""

    code: LastErrorCode
    message: str
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class IncompleteDetails:
    """Why a run is ``incomplete``. ``reason`` is not required by the spec."""

    reason: IncompleteReason | None = None
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class Usage:
    """Token counts; the spec promises them on terminal runs only.

    The real API adds ``prompt_token_details`` and ``completion_tokens_details``, which
    are kept in ``extra`` (spec-facts §5.2).
    """

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class TruncationStrategy:
    """How the thread is truncated before the run."""

    type: TruncationType
    #: With ``last_messages``: how many recent messages to keep (spec minimum 1).
    last_messages: int | None = None
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class CodeInterpreterTool:
    """The code interpreter tool."""

    type: Literal["code_interpreter"] = "code_interpreter"
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class RankingOptions:
    """File search ranking options."""

    #: Between 0 and 1 (spec).
    score_threshold: float
    ranker: Ranker | None = None
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class FileSearchOptions:
    """Overrides for the file search tool."""

    #: Between 1 and 50 inclusive (spec).
    max_num_results: int | None = None
    ranking_options: RankingOptions | None = None
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class FileSearchTool:
    """The file search tool."""

    file_search: FileSearchOptions | None = None
    type: Literal["file_search"] = "file_search"
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class FunctionDefinition:
    """A function the assistant may call."""

    #: ``^[a-zA-Z0-9_-]{1,64}$`` (spec).
    name: str
    description: str | None = None
    #: A JSON Schema object, kept as JSON.
    parameters: Mapping[str, Any] | None = attrs.field(default=None, converter=_freeze_parameters)
    strict: bool | None = None
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class FunctionTool:
    """The function tool."""

    function: FunctionDefinition
    type: Literal["function"] = "function"
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


#: One entry of ``tools``, told apart by its ``type``.
Tool: TypeAlias = CodeInterpreterTool | FileSearchTool | FunctionTool


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class ResponseFormatText:
    """Plain text output."""

    type: Literal["text"] = "text"
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class ResponseFormatJsonObject:
    """JSON mode."""

    type: Literal["json_object"] = "json_object"
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class JsonSchema:
    """Structured Outputs configuration."""

    name: str
    description: str | None = None
    #: The JSON Schema, kept as JSON.
    schema: Mapping[str, Any] | None = attrs.field(default=None, converter=_freeze_schema)
    strict: bool | None = None
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class ResponseFormatJsonSchema:
    """Structured Outputs."""

    json_schema: JsonSchema
    type: Literal["json_schema"] = "json_schema"
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


#: ``response_format``: the string ``"auto"`` or one of the format objects.
ResponseFormat: TypeAlias = (
    Literal["auto"] | ResponseFormatText | ResponseFormatJsonObject | ResponseFormatJsonSchema
)


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class ToolChoiceFunction:
    """The function a specific tool choice names."""

    name: str
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class ToolChoice:
    """A specific tool the model must use."""

    type: ToolChoiceType
    #: Set when ``type`` is ``function``.
    function: ToolChoiceFunction | None = None
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


#: ``tool_choice``: ``"none"``, ``"auto"``, ``"required"`` or a specific tool.
ToolChoiceOption: TypeAlias = Literal["none", "auto", "required"] | ToolChoice


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class Run:
    """A run, exactly as the API's ``thread.run`` object, frozen.

    Build one with :func:`runstate.parse_run` (from the API's JSON) or
    :func:`runstate.new_run`; write it with :func:`runstate.dump_run`. Operations such as
    :func:`runstate.cancel` return a new ``Run`` and never change their input.

    Fields are named and ordered as in the seed's ``Run`` object; see the API reference
    for their meaning. Per-status rules (which fields are set in which status) are checked
    by :func:`runstate.violations`, not here.

    Example:
        >>> from runstate import parse_run, RunStatus
        >>> run = parse_run(
        ...     '{"id": "run_1", "object": "thread.run", "created_at": 1700000000,'
        ...     ' "thread_id": "thread_1", "assistant_id": "asst_1", "status": "queued",'
        ...     ' "model": "gpt-4o", "tool_resources": {}}'
        ... )
        >>> run.status is RunStatus.QUEUED
        True
        >>> run.extra  # kept, and written back by dump_run
        {'tool_resources': {}}
    """

    id: str
    created_at: int
    thread_id: str
    assistant_id: str
    status: RunStatus
    model: str
    object: Literal["thread.run"] = "thread.run"
    #: The spec types it as a string, but real runs carry null (spec-facts §8.8).
    instructions: str | None = None
    required_action: RequiredAction | None = None
    last_error: LastError | None = None
    expires_at: int | None = None
    started_at: int | None = None
    cancelled_at: int | None = None
    failed_at: int | None = None
    completed_at: int | None = None
    incomplete_details: IncompleteDetails | None = None
    tools: tuple[Tool, ...] = attrs.field(default=(), converter=_tuple)
    metadata: Mapping[str, str] | None = attrs.field(default=None, converter=freeze_metadata)
    usage: Usage | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_prompt_tokens: int | None = None
    max_completion_tokens: int | None = None
    truncation_strategy: TruncationStrategy | None = None
    tool_choice: ToolChoiceOption | None = None
    #: Null only where an old (pre-2024-06) object lacked the key.
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    #: Unknown keys (``tool_resources``, ``reasoning_effort``, ``file_ids``...), verbatim.
    extra: Mapping[str, Any] = _extra()
    #: Keys the input lacked (assistants v1 objects); left out again when dumped.
    absent: frozenset[str] = _absent()


# --------------------------------------------------------------------------------------
# Run steps and messages (spec-facts §1.6, §11). Appended: the run's classes above are
# unchanged. Step and message objects are modelled as losslessly as runs.


class StepStatus(enum.Enum):
    """The status of a run step, with the exact wire string as its value (spec-facts §1.6).

    Example:
        >>> StepStatus("completed").is_terminal
        True
        >>> StepStatus.EXPIRED.event
        'thread.run.step.expired'
    """

    #: The step is running (``thread.run.step.created`` and ``.in_progress`` carry it).
    IN_PROGRESS = "in_progress"
    #: The run was cancelled while the step ran (terminal; inferred, never recorded).
    CANCELLED = "cancelled"
    #: The run failed while the step ran (terminal; inferred, never recorded).
    FAILED = "failed"
    #: The step finished (terminal).
    COMPLETED = "completed"
    #: The run expired while the step ran (terminal; spec text, never recorded).
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """Whether the step can no longer change status (every status but ``in_progress``)."""
        return self is not StepStatus.IN_PROGRESS

    @property
    def event(self) -> str:
        """The event announcing this status, ``thread.run.step.<value>``.

        ``thread.run.step.created`` also carries ``in_progress`` (spec-facts §11).
        """
        return f"thread.run.step.{self.value}"


#: ``step.type`` and ``step_details.type`` values.
StepType: TypeAlias = Literal["message_creation", "tool_calls"]
#: The step types by name: the other modules compare with these, never a loose string.
MESSAGE_CREATION: Final = "message_creation"
TOOL_CALLS: Final = "tool_calls"
#: A step's ``last_error.code`` (spec ``RunStepObject``: no ``invalid_prompt``).
StepErrorCode: TypeAlias = Literal["server_error", "rate_limit_exceeded"]
#: A message's status (spec ``MessageObject.status``).
MessageStatus: TypeAlias = Literal["in_progress", "incomplete", "completed"]
#: The message statuses by name; ``in_progress`` is the only open one.
MESSAGE_IN_PROGRESS: Final = "in_progress"
MESSAGE_INCOMPLETE: Final = "incomplete"
MESSAGE_COMPLETED: Final = "completed"
#: A message's statuses, in the spec's order.
MESSAGE_STATUSES: Final[tuple[MessageStatus, ...]] = (
    MESSAGE_IN_PROGRESS,
    MESSAGE_INCOMPLETE,
    MESSAGE_COMPLETED,
)
#: A message's ``incomplete_details.reason`` (spec ``MessageObject``; the openai SDKs
#: generated from it). ``max_tokens`` is recorded (ruby 2024-04 streams); the ``run_*``
#: reasons are what runstate gives messages a run's end cuts short (inferred use).
MessageIncompleteReason: TypeAlias = Literal[
    "content_filter", "max_tokens", "run_cancelled", "run_expired", "run_failed"
]


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class MessageCreation:
    """The message a ``message_creation`` step writes."""

    message_id: str
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class MessageCreationDetails:
    """``step_details`` of a ``message_creation`` step."""

    message_creation: MessageCreation
    type: Literal["message_creation"] = "message_creation"
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class StepFunction:
    """The function of a step's function tool call; ``output`` is filled on submission."""

    name: str
    arguments: str
    #: Null until the caller's tool output is submitted (dotnet StreamingToolCall.2).
    output: str | None = None
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class FunctionToolCall:
    """A function call inside a ``tool_calls`` step."""

    id: str
    function: StepFunction
    type: Literal["function"] = "function"
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class CodeInterpreterToolCall:
    """A code interpreter call inside a ``tool_calls`` step.

    ``code_interpreter`` (its ``input`` and ``outputs``) is kept as frozen JSON: the run's
    life does not read it.
    """

    id: str
    code_interpreter: Mapping[str, Any] = attrs.field(converter=_freeze_extra)
    type: Literal["code_interpreter"] = "code_interpreter"
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class FileSearchToolCall:
    """A file search call inside a ``tool_calls`` step.

    ``file_search`` (ranking options and results) is kept as frozen JSON, in the order the
    API sends it (dotnet FileSearchStreamingWorks).
    """

    id: str
    file_search: Mapping[str, Any] = attrs.field(converter=_freeze_extra)
    type: Literal["file_search"] = "file_search"
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


#: One call of a ``tool_calls`` step, told apart by its ``type``.
StepToolCall: TypeAlias = FunctionToolCall | CodeInterpreterToolCall | FileSearchToolCall


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class ToolCallsDetails:
    """``step_details`` of a ``tool_calls`` step (empty when created; spec-facts §11)."""

    tool_calls: tuple[StepToolCall, ...] = attrs.field(default=(), converter=_tuple)
    type: Literal["tool_calls"] = "tool_calls"
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


#: ``step_details``, told apart by its ``type``.
StepDetails: TypeAlias = MessageCreationDetails | ToolCallsDetails


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class StepLastError:
    """Why a step failed (spec ``RunStepObject.last_error``)."""

    code: StepErrorCode
    message: str
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class RunStep:
    """A run step, exactly as the API's ``thread.run.step`` object, frozen.

    Read one with :func:`runstate.parse_step`, write it with :func:`runstate.dump_step`.
    Keys follow the real API (spec-facts §11): ``expires_at``, never the schema's
    ``expired_at`` (an input that has it keeps it in ``extra``).

    Example:
        >>> from runstate import parse_step, dump_step
        >>> step = parse_step({"id": "step_1", "object": "thread.run.step",
        ...     "created_at": 5, "run_id": "run_1", "assistant_id": "a", "thread_id": "t",
        ...     "type": "message_creation", "status": "in_progress", "cancelled_at": None,
        ...     "completed_at": None, "expires_at": 605, "failed_at": None,
        ...     "last_error": None, "usage": None, "step_details": {
        ...         "type": "message_creation", "message_creation": {"message_id": "m"}}})
        >>> step.status.value, step.step_details.message_creation.message_id
        ('in_progress', 'm')
        >>> list(dump_step(step))[:4]
        ['id', 'object', 'created_at', 'run_id']
    """

    id: str
    created_at: int
    run_id: str
    assistant_id: str
    thread_id: str
    type: StepType
    status: StepStatus
    step_details: StepDetails
    object: Literal["thread.run.step"] = "thread.run.step"
    cancelled_at: int | None = None
    completed_at: int | None = None
    #: Set while the run is active and kept once the step ends (unlike a run's).
    expires_at: int | None = None
    failed_at: int | None = None
    last_error: StepLastError | None = None
    #: Null while ``in_progress`` (spec), set when the step completes.
    usage: Usage | None = None
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class MessageIncompleteDetails:
    """Why a message is ``incomplete``."""

    reason: MessageIncompleteReason
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)  # unhashable
class Message:
    """A ``thread.message``, as far as a run's life needs it; the rest kept verbatim.

    Modelled: the identity, ``status``, ``completed_at``, ``incomplete_at`` and
    ``incomplete_details``. Everything else (``role``, ``content``, ``attachments``,
    ``metadata``, v1's ``file_ids``...) is kept in ``extra``, in the API's order, so the
    whole object round-trips (:func:`runstate.steps.parse_message`,
    :func:`runstate.steps.dump_message`).
    """

    id: str
    created_at: int
    thread_id: str
    status: MessageStatus
    object: Literal["thread.message"] = "thread.message"
    assistant_id: str | None = None
    run_id: str | None = None
    incomplete_details: MessageIncompleteDetails | None = None
    incomplete_at: int | None = None
    completed_at: int | None = None
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


# --------------------------------------------------------------------------------------
# The wire schema: per class, wire key -> (kind, required). Order = the real API's key
# order (spec-facts §5.2), which is also the order dump_run writes. Declared here, with
# the classes, and registered at the end of this module: a value can be built (and
# parsed) as soon as its class exists, whatever was imported before.

_TOOLS = tagged((CodeInterpreterTool, FileSearchTool, FunctionTool), None, "tool")
_RESPONSE_FORMAT = tagged(
    (ResponseFormatText, ResponseFormatJsonObject, ResponseFormatJsonSchema),
    ResponseFormatMode,
    "response_format",
)
_TOOL_CHOICE = tagged((ToolChoice,), ToolChoiceMode, "tool_choice")

SCHEMA: Final[dict[type, dict[str, Field]]] = {
    FunctionCall: {"name": (STR, True), "arguments": (STR, True)},
    ToolCall: {
        "id": (STR, True),
        "type": (tag(ToolCall, "tool call type"), True),
        "function": (obj(FunctionCall), True),
    },
    SubmitToolOutputs: {"tool_calls": (Array(obj(ToolCall)), True)},
    RequiredAction: {
        "type": (tag(RequiredAction, "required_action type"), True),
        "submit_tool_outputs": (obj(SubmitToolOutputs), True),
    },
    LastError: {
        "code": (lit("error code", LastErrorCode), True),
        "message": (STR, True),
    },
    IncompleteDetails: {
        "reason": (opt(lit("reason", IncompleteReason)), False),
    },
    Usage: {
        "prompt_tokens": (INT, True),
        "completion_tokens": (INT, True),
        "total_tokens": (INT, True),
    },
    TruncationStrategy: {
        "type": (lit("truncation type", TruncationType), True),
        "last_messages": (opt(INT), False),
    },
    CodeInterpreterTool: {"type": (tag(CodeInterpreterTool, "tool type"), True)},
    RankingOptions: {  # the real API sends ranker first (dotnet FileSearchStreamingWorks)
        "ranker": (opt(lit("ranker", Ranker)), False),
        "score_threshold": (NUMBER, True),
    },
    FileSearchOptions: {
        "max_num_results": (opt(INT), False),
        "ranking_options": (opt(obj(RankingOptions)), False),
    },
    FileSearchTool: {
        "type": (tag(FileSearchTool, "tool type"), True),
        "file_search": (opt(obj(FileSearchOptions)), False),
    },
    FunctionDefinition: {
        "name": (STR, True),
        "description": (opt(STR), False),
        "parameters": (opt(JsonObject()), False),
        "strict": (opt(BOOL), False),
    },
    FunctionTool: {
        "type": (tag(FunctionTool, "tool type"), True),
        "function": (obj(FunctionDefinition), True),
    },
    ResponseFormatText: {"type": (tag(ResponseFormatText, "response_format type"), True)},
    ResponseFormatJsonObject: {
        "type": (tag(ResponseFormatJsonObject, "response_format type"), True)
    },
    JsonSchema: {
        "name": (STR, True),
        "description": (opt(STR), False),
        "schema": (opt(JsonObject()), False),
        "strict": (opt(BOOL), False),
    },
    ResponseFormatJsonSchema: {
        "type": (tag(ResponseFormatJsonSchema, "response_format type"), True),
        "json_schema": (obj(JsonSchema), True),
    },
    ToolChoiceFunction: {"name": (STR, True)},
    ToolChoice: {
        "type": (lit("tool_choice type", ToolChoiceType), True),
        "function": (opt(obj(ToolChoiceFunction)), False),
    },
    Run: {
        "id": (STR, True),
        "object": (tag(Run, "object", "object"), True),
        "created_at": (TIMESTAMP, True),
        "assistant_id": (STR, True),
        "thread_id": (STR, True),
        "status": (EnumKind(RunStatus, "status"), True),
        "started_at": (opt(TIMESTAMP), False),
        "expires_at": (opt(TIMESTAMP), False),
        "cancelled_at": (opt(TIMESTAMP), False),
        "failed_at": (opt(TIMESTAMP), False),
        "completed_at": (opt(TIMESTAMP), False),
        "required_action": (opt(obj(RequiredAction)), False),
        "last_error": (opt(obj(LastError)), False),
        "model": (STR, True),
        "instructions": (opt(STR), False),
        "tools": (Array(_TOOLS), False),
        "metadata": (opt(StringMap()), False),
        "temperature": (opt(NUMBER), False),
        "top_p": (opt(NUMBER), False),
        "max_completion_tokens": (opt(INT), False),
        "max_prompt_tokens": (opt(INT), False),
        "truncation_strategy": (opt(obj(TruncationStrategy)), False),
        "incomplete_details": (opt(obj(IncompleteDetails)), False),
        "usage": (opt(obj(Usage)), False),
        "response_format": (opt(_RESPONSE_FORMAT), False),
        "tool_choice": (opt(_TOOL_CHOICE), False),
        "parallel_tool_calls": (opt(BOOL), False),
    },
}


# Run steps and messages (spec-facts §1.6, §11). Key order is the recorded one (every
# step and message object of the six real streams).

_STEP_TOOL_CALLS = tagged(
    (FunctionToolCall, CodeInterpreterToolCall, FileSearchToolCall), None, "tool call"
)
_STEP_DETAILS = tagged((MessageCreationDetails, ToolCallsDetails), None, "step_details")

SCHEMA.update(
    {
        MessageCreation: {"message_id": (STR, True)},
        MessageCreationDetails: {
            "type": (tag(MessageCreationDetails, "step_details type"), True),
            "message_creation": (obj(MessageCreation), True),
        },
        StepFunction: {
            "name": (STR, True),
            "arguments": (STR, True),
            "output": (opt(STR), False),
        },
        FunctionToolCall: {
            "id": (STR, True),
            "type": (tag(FunctionToolCall, "tool call type"), True),
            "function": (obj(StepFunction), True),
        },
        CodeInterpreterToolCall: {
            "id": (STR, True),
            "type": (tag(CodeInterpreterToolCall, "tool call type"), True),
            "code_interpreter": (JsonObject(), True),
        },
        FileSearchToolCall: {
            "id": (STR, True),
            "type": (tag(FileSearchToolCall, "tool call type"), True),
            "file_search": (JsonObject(), True),
        },
        ToolCallsDetails: {
            "type": (tag(ToolCallsDetails, "step_details type"), True),
            "tool_calls": (Array(_STEP_TOOL_CALLS), True),
        },
        StepLastError: {
            "code": (lit("step error code", StepErrorCode), True),
            "message": (STR, True),
        },
        RunStep: {
            "id": (STR, True),
            "object": (tag(RunStep, "object", "object"), True),
            "created_at": (TIMESTAMP, True),
            "run_id": (STR, True),
            "assistant_id": (STR, True),
            "thread_id": (STR, True),
            "type": (lit("step type", StepType), True),
            "status": (EnumKind(StepStatus, "step status"), True),
            "cancelled_at": (opt(TIMESTAMP), False),
            "completed_at": (opt(TIMESTAMP), False),
            "expires_at": (opt(TIMESTAMP), False),
            "failed_at": (opt(TIMESTAMP), False),
            "last_error": (opt(obj(StepLastError)), False),
            "step_details": (_STEP_DETAILS, True),
            "usage": (opt(obj(Usage)), False),
        },
        MessageIncompleteDetails: {
            "reason": (lit("message incomplete reason", MessageIncompleteReason), True),
        },
        Message: {
            "id": (STR, True),
            "object": (tag(Message, "object", "object"), True),
            "created_at": (TIMESTAMP, True),
            "assistant_id": (opt(STR), False),
            "thread_id": (STR, True),
            "run_id": (opt(STR), False),
            "status": (lit("message status", MessageStatus), True),
            "incomplete_details": (opt(obj(MessageIncompleteDetails)), False),
            "incomplete_at": (opt(TIMESTAMP), False),
            "completed_at": (opt(TIMESTAMP), False),
        },
    }
)


#: The API's default values of a few small classes, exactly as it sends them on nearly
#: every run (all 109 real 2024-2025 objects with a truncation_strategy have this one).
#: An input equal to one of these gets one shared, prebuilt instance instead of a new one:
#: the check is one dict comparison, and the instance is deeply immutable (strings, None,
#: no unknown keys), so sharing it is unobservable but for ``is``. Only strings and None,
#: for which ``==`` between JSON values means the same type and value.
COMMON_VALUES: Final[dict[type, dict[str, Any]]] = {
    TruncationStrategy: {"type": "auto", "last_messages": None},
    CodeInterpreterTool: {"type": "code_interpreter"},
}


#: Unknown keys the real API sends (spec-facts §5.2, §8.8): found by a lookup or two, not
#: by a pass over every key. Any other unknown key is kept just the same, a little slower.
LIKELY_EXTRAS: Final[dict[type, tuple[str, ...]]] = {
    Run: ("tool_resources", "reasoning_effort", "file_ids"),
    Usage: ("prompt_token_details", "completion_tokens_details"),
}


#: Keys the real API added after the first recordings: objects from before lack them
#: (``parallel_tool_calls``, mid-2024: 51 of the recorded 2023-24 objects lack it;
#: spec-facts §5.1). The generated code looks for them first and sends an object without
#: them straight to the variant for objects that lack keys.
LATE_KEYS: Final[dict[type, tuple[str, ...]]] = {Run: ("parallel_tool_calls",)}


extend(SCHEMA, common=COMMON_VALUES, likely=LIKELY_EXTRAS, late=LATE_KEYS)
