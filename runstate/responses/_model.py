"""The Responses API's ``response`` object: statuses, the frozen value, its one schema.

A ``Response`` is declared like a :class:`~runstate.Run`: an attrs class whose wire keys
are listed, in the real API's order, in a schema given to the same generator
(:func:`runstate._engine.codegen.extend`). A few keys are typed (the ones the lifecycle reads:
``status``, ``background``, ``store``, ``error``, ``incomplete_details``,
``completed_at``, ``output``, ``usage``); every other key the records carry is declared
as kept JSON, frozen at any depth, so it keeps its place in the key order; keys not
declared (new ones) are kept in ``extra``, and keys an older object lacked are left out
again when dumped (spec-facts §12.1: "keys vary by date").
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias, get_args

import attrs

from .._engine.codegen import extend
from .._engine.dumpcache import KeepsSource
from .._engine.schema import BOOL, STR, TIMESTAMP
from .._engine.schema import EnumKind as _Enum
from .._engine.schema import JsonValue as _JsonValue
from .._engine.schema import LiteralKind as _Literal
from .._engine.schema import ObjectKind as _Object
from .._engine.schema import OptionalKind as _Optional
from .._engine.values import absent_field as _absent
from .._engine.values import add_checks as _add_checks
from .._engine.values import extra_field as _extra
from .._engine.values import freeze_json, kept_json, order_field

__all__ = [
    "IncompleteReason",
    "Response",
    "ResponseError",
    "ResponseIncompleteDetails",
    "ResponseStatus",
]


class ResponseStatus(enum.Enum):
    """The six statuses of a response, with the wire string as value (spec-facts §12.1, SDK).

    Example:
        >>> ResponseStatus("queued").is_terminal, ResponseStatus.CANCELLED.is_terminal
        (False, True)
    """

    #: Created with ``background: true``, waiting for a worker (OBS).
    QUEUED = "queued"
    #: Being worked on (OBS).
    IN_PROGRESS = "in_progress"
    #: Finished (OBS). A response that wants tools also ends here, with ``function_call``
    #: output items: there is no ``requires_action`` (spec-facts §12.4).
    COMPLETED = "completed"
    #: Ended by an error; ``error`` says which (SDK).
    FAILED = "failed"
    #: Ended early: ``max_output_tokens`` or a content filter (OBS MaxTokens).
    INCOMPLETE = "incomplete"
    #: Cancelled by ``POST /responses/{id}/cancel`` (OBS CanCancelBackgroundResponses).
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """Whether the response can no longer change (the last four; §12.1)."""
        return self in TERMINAL


#: The terminal statuses (spec-facts §12.1).
TERMINAL: Final = frozenset(
    {
        ResponseStatus.COMPLETED,
        ResponseStatus.FAILED,
        ResponseStatus.INCOMPLETE,
        ResponseStatus.CANCELLED,
    }
)

#: ``incomplete_details.reason`` (spec-facts §12.1, SDK).
IncompleteReason: TypeAlias = Literal["max_output_tokens", "content_filter"]


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)
class ResponseError:
    """A failed response's ``error``: ``{code, message}`` only, no type or param (§12.1)."""

    code: str
    message: str
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)
class ResponseIncompleteDetails:
    """An incomplete response's ``incomplete_details`` (OBS MaxTokens)."""

    reason: IncompleteReason | None = None
    extra: Mapping[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)
class Response(KeepsSource):
    """A response, exactly as the API's ``response`` object, frozen and lossless.

    Read one with :func:`~runstate.responses.parse_response`, make one with
    :func:`~runstate.responses.new_response`, write it with
    :func:`~runstate.responses.dump_response`. The typed fields are those the lifecycle
    reads; every other key is kept JSON (``FrozenDict``, ``FrozenList`` or a scalar),
    ``None`` where the input lacked it (``absent`` names those, and the dump leaves them
    out again). Unknown keys land in ``extra``.

    Example:
        >>> from runstate.responses import parse_response, dump_response
        >>> r = parse_response('{"id": "resp_1", "object": "response", "created_at": 1,'
        ...                    ' "status": "queued", "background": true, "model": "m",'
        ...                    ' "output": [], "new_key": {"a": [1]}}')
        >>> r.status.value, r.background, r.extra
        ('queued', True, {'new_key': {'a': [1]}})
        >>> list(dump_response(r))
        ['id', 'object', 'created_at', 'status', 'background', 'model', 'output', 'new_key']
    """

    id: str
    created_at: int
    status: ResponseStatus
    model: str
    object: Literal["response"] = "response"
    #: ``true`` for a background response: queued, polled, cancellable (§12).
    background: bool | None = None
    billing: Any = kept_json()
    #: Set only on ``completed``; older objects lack the key (§12.1, OBS).
    completed_at: int | None = None
    conversation: Any = kept_json()
    #: Set only on ``failed`` (§12.1).
    error: ResponseError | None = None
    frequency_penalty: Any = kept_json()
    #: Set only on ``incomplete`` (§12.1).
    incomplete_details: ResponseIncompleteDetails | None = None
    instructions: Any = kept_json()
    max_output_tokens: Any = kept_json()
    max_tool_calls: Any = kept_json()
    moderation: Any = kept_json()
    #: The output items, kept JSON (messages, ``function_call`` items, reasoning...).
    output: Any = attrs.field(default=(), converter=freeze_json)
    parallel_tool_calls: Any = kept_json()
    presence_penalty: Any = kept_json()
    previous_response_id: Any = kept_json()
    prompt: Any = kept_json()
    prompt_cache_key: Any = kept_json()
    prompt_cache_retention: Any = kept_json()
    reasoning: Any = kept_json()
    safety_identifier: Any = kept_json()
    service_tier: Any = kept_json()
    #: ``false`` opts out of storage: the response cannot be looked up later (§12.3).
    store: bool | None = None
    temperature: Any = kept_json()
    text: Any = kept_json()
    tool_choice: Any = kept_json()
    tool_usage: Any = kept_json()
    tools: Any = kept_json()
    top_logprobs: Any = kept_json()
    top_p: Any = kept_json()
    truncation: Any = kept_json()
    #: Token counts, kept JSON; null until the response ends (and on ``cancelled``).
    usage: Any = kept_json()
    user: Any = kept_json()
    metadata: Any = kept_json()
    #: Keys no schema names (added to the API later), verbatim.
    extra: Mapping[str, Any] = _extra()
    #: Declared keys the input lacked; left out again when dumped while still null.
    absent: frozenset[str] = _absent()
    #: The input's key order where it is not the schema's (the background stream's
    #: events list keys in another order, OBS), so the dump gives the same text back.
    key_order: tuple[str, ...] | None = order_field()


_KEPT: Final = _JsonValue()  # any JSON value, null included

#: The schema, in the real API's key order (the union of every recorded order, §12.1).
SCHEMA: Final[dict[type, dict[str, tuple[Any, bool]]]] = {
    ResponseError: {"code": (STR, True), "message": (STR, True)},
    ResponseIncompleteDetails: {
        "reason": (_Optional(_Literal(get_args(IncompleteReason), "reason")), False)
    },
    Response: {
        "id": (STR, True),
        "object": (_Literal(("response",), "object"), True),
        "created_at": (TIMESTAMP, True),
        "status": (_Enum(ResponseStatus, "status"), True),
        "background": (_Optional(BOOL), False),
        "billing": (_KEPT, False),
        "completed_at": (_Optional(TIMESTAMP), False),
        "conversation": (_KEPT, False),
        "error": (_Optional(_Object(ResponseError)), False),
        "frequency_penalty": (_KEPT, False),
        "incomplete_details": (_Optional(_Object(ResponseIncompleteDetails)), False),
        "instructions": (_KEPT, False),
        "max_output_tokens": (_KEPT, False),
        "max_tool_calls": (_KEPT, False),
        "model": (STR, True),
        "moderation": (_KEPT, False),
        "output": (_JsonValue(list), True),
        "parallel_tool_calls": (_KEPT, False),
        "presence_penalty": (_KEPT, False),
        "previous_response_id": (_KEPT, False),
        "prompt": (_KEPT, False),
        "prompt_cache_key": (_KEPT, False),
        "prompt_cache_retention": (_KEPT, False),
        "reasoning": (_KEPT, False),
        "safety_identifier": (_KEPT, False),
        "service_tier": (_KEPT, False),
        "store": (_Optional(BOOL), False),
        "temperature": (_KEPT, False),
        "text": (_KEPT, False),
        "tool_choice": (_KEPT, False),
        "tool_usage": (_KEPT, False),
        "tools": (_KEPT, False),
        "top_logprobs": (_KEPT, False),
        "top_p": (_KEPT, False),
        "truncation": (_KEPT, False),
        "usage": (_Optional(_JsonValue(dict)), False),
        "user": (_KEPT, False),
        "metadata": (_KEPT, False),
    },
}

extend(SCHEMA)
