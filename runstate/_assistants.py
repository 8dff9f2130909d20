"""Request bodies around runs: assistants, threads and messages, read as the API reads them.

The same rules as the run bodies (:mod:`runstate._requests`, whose notes apply): one
JSON front end, closed schemas, the first problem reported with the API's exact 400;
the fields' limits and enums come from the field-rule table (:mod:`runstate._fields`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

import attrs

from ._engine import templates as wire
from ._engine.requests import read_body, refuse_unknown, required
from ._errors import InvalidArgument
from ._model import MESSAGE_COMPLETED, Message
from ._ops import check_now
from ._readers import (
    ASSISTANT_READERS,
    MESSAGE_READERS,
    MODIFY_ASSISTANT_READERS,
    THREAD_READERS,
    metadata_field,
    read_fields,
    tool_resources,
)
from ._schema import freeze_value, to_json_value

__all__ = [
    "CreateAssistant",
    "CreateMessage",
    "CreateThread",
    "ModifyAssistant",
    "ModifyMessage",
    "ModifyThread",
    "parse_create_assistant",
    "parse_create_message",
    "parse_create_thread",
    "parse_modify_assistant",
    "parse_modify_message",
    "parse_modify_thread",
]

#: The body keys of ``POST /assistants`` (spec ``CreateAssistantRequest``, its order).
CREATE_ASSISTANT_KEYS: Final = (
    "model",
    "name",
    "description",
    "instructions",
    "reasoning_effort",
    "tools",
    "tool_resources",
    "metadata",
    "temperature",
    "top_p",
    "response_format",
)
#: The body keys of ``POST /assistants/{assistant_id}`` (spec ``ModifyAssistantRequest``):
#: the same keys, ``reasoning_effort`` second.
MODIFY_ASSISTANT_KEYS: Final = (
    "model",
    "reasoning_effort",
    *(k for k in CREATE_ASSISTANT_KEYS if k not in ("model", "reasoning_effort")),
)
#: The body keys of ``POST /threads`` (spec ``CreateThreadRequest``).
CREATE_THREAD_KEYS: Final = ("messages", "tool_resources", "metadata")
#: The body keys of ``POST /threads/{thread_id}/messages`` (spec ``CreateMessageRequest``).
CREATE_MESSAGE_KEYS: Final = ("role", "content", "attachments", "metadata")
#: The body keys of ``POST /threads/{thread_id}`` (spec ``ModifyThreadRequest``).
MODIFY_THREAD_KEYS: Final = ("tool_resources", "metadata")


# --------------------------------------------------------------------------------------
# Assistants


@attrs.frozen(kw_only=True, eq=True, unsafe_hash=False)  # unhashable: holds JSON objects
class _AssistantFields:
    """The fields create and modify assistant share, each ``None`` when not given.

    Attributes:
        name: Up to 256 characters.
        description: Up to 512 characters.
        instructions: Up to 256,000 characters.
        reasoning_effort: One of the spec's ``ReasoningEffort`` values.
        tools: Up to 128 tools (JSON objects); ``()`` means "no tools".
        tool_resources: File ids for ``code_interpreter`` and ``file_search``.
        metadata: Up to 16 string pairs.
        temperature: 0 to 2.
        top_p: 0 to 1.
        response_format: ``"auto"`` or a format object.
    """

    name: str | None = None
    description: str | None = None
    instructions: str | None = None
    reasoning_effort: str | None = None
    tools: tuple[Mapping[str, Any], ...] | None = None
    tool_resources: Mapping[str, Any] | None = None
    metadata: Mapping[str, str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    response_format: Literal["auto"] | Mapping[str, Any] | None = None


@attrs.frozen(kw_only=True, eq=True, unsafe_hash=False)  # unhashable: holds JSON objects
class CreateAssistant(_AssistantFields):
    """A create-assistant request (``POST /assistants``), as the client sent it.

    Fields the request left out, or sent as null, are ``None``; JSON parts are kept as
    given, frozen. Building the assistant object (its id, ``created_at`` and defaults)
    is the server's business. The other fields are listed on the shared base.

    Attributes:
        model: The model (required).
    """

    model: str


def parse_create_assistant(body: bytes | str | Mapping[str, Any]) -> CreateAssistant:
    """Read the body of ``POST /assistants``, or refuse it as the API does.

    Every field of the spec's ``CreateAssistantRequest`` is read by the same rules (and
    templates) as a run request's: ``tools``, ``response_format``, ``temperature``,
    ``top_p``, ``metadata`` and ``reasoning_effort`` as on create run; ``name``,
    ``description`` and ``instructions`` with the spec's lengths; ``tool_resources``
    with its file ids.

    Raises:
        InvalidRequest: with the API's message, ``param`` and ``code`` (the templates of
            spec-facts §10.1; for this endpoint, inferred).
        InvalidArgument: ``body`` of another type, or a mapping holding what JSON cannot.

    Example:
        >>> parse_create_assistant(b'{"model": "gpt-4o", "temperature": 0.2}').temperature
        0.2
        >>> parse_create_assistant(b'{"model": "gpt-4o", "name": 7}')
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: Invalid type for 'name': expected a string, but got \
an integer instead.
    """
    fields = read_fields(
        read_body(body), CREATE_ASSISTANT_KEYS, ASSISTANT_READERS, required_key="model"
    )
    return CreateAssistant(**fields)


@attrs.frozen(kw_only=True, eq=True, unsafe_hash=False)  # unhashable: holds JSON objects
class CreateThread:
    """A create-thread request (``POST /threads``, or thread-and-run's ``thread``).

    Attributes:
        messages: The thread's first messages (JSON objects, as given).
        tool_resources: File ids for ``code_interpreter`` and ``file_search``.
        metadata: Up to 16 string pairs.
    """

    messages: tuple[Mapping[str, Any], ...] = ()
    tool_resources: Mapping[str, Any] | None = None
    metadata: Mapping[str, str] | None = None

    @property
    def has_user_message(self) -> bool:
        """Whether one of the messages is the user's (see :meth:`CreateRun.new_run`)."""
        return any(m["role"] == "user" for m in self.messages)


def parse_create_thread(body: bytes | str | Mapping[str, Any]) -> CreateThread:
    """Read the body of ``POST /threads``, or refuse it as the API does.

    The keys of the spec's ``CreateThreadRequest``: ``messages`` (each read as
    ``additional_messages`` are on create run), ``tool_resources`` and ``metadata``.
    :func:`parse_create_thread_and_run` reads its ``thread`` by the same rules, with
    ``thread.`` before each ``param``.

    Raises:
        InvalidRequest: with the API's message, ``param`` and ``code`` (inferred for this
            endpoint, spec-facts §10).
        InvalidArgument: ``body`` of another type, or a mapping holding what JSON cannot.

    Example:
        >>> parse_create_thread(b'{"messages": [{"role": "user", "content": "Hi"}]}'
        ...                     ).has_user_message
        True
        >>> parse_create_thread(b'{"tool_resources": 5}')
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: Invalid type for 'tool_resources': expected an \
object, but got an integer instead.
    """
    fields = read_fields(read_body(body), CREATE_THREAD_KEYS, THREAD_READERS)
    return CreateThread(**fields)


# --------------------------------------------------------------------------------------
# Messages; modify assistant, thread, message


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"value": text, "annotations": []}}


@attrs.frozen(kw_only=True, eq=True, unsafe_hash=False)  # unhashable: holds JSON objects
class CreateMessage:
    """A create-message request (``POST /threads/{thread_id}/messages``), as sent.

    Attributes:
        role: ``"user"`` or ``"assistant"``.
        content: The text, or the content parts (JSON objects, as given).
        attachments: Files for the tools (JSON objects); ``None`` when not given.
        metadata: Up to 16 string pairs; ``None`` when not given.
    """

    role: str
    content: str | tuple[Mapping[str, Any], ...]
    attachments: tuple[Mapping[str, Any], ...] | None = None
    metadata: Mapping[str, str] | None = None

    def new_message(self, *, id: str, thread_id: str, now: int) -> Message:
        """The ``thread.message`` this request creates, outside any run.

        Its ``content`` is the API's: text becomes ``{"type": "text", "text": {"value",
        "annotations": []}}`` parts (spec example of create message); image parts are kept.
        ``assistant_id`` and ``run_id`` are null (the spec: "null when messages are
        created manually"); ``status`` is ``completed`` at ``now`` (the spec example shows
        no status; the SDK requires one: inferred).

        Raises:
            InvalidArgument: for an ``id`` or ``thread_id`` that is not a string, or a
                ``now`` that is not a timestamp.

        Example:
            >>> request = parse_create_message({"role": "user", "content": "Hi"})
            >>> message = request.new_message(id="msg_1", thread_id="thread_1", now=5)
            >>> message.status, message.extra["content"][0]["text"]["value"]
            ('completed', 'Hi')
        """
        for name, value in (("id", id), ("thread_id", thread_id)):
            if not isinstance(value, str):
                raise InvalidArgument.expected(name, "a string", value)
        check_now(now)
        if isinstance(self.content, str):
            parts: list[Any] = [_text_part(self.content)]
        else:
            parts = [_text_part(p["text"]) if p["type"] == "text" else p for p in self.content]
        extra = {
            "role": self.role,
            "content": parts,
            "attachments": list(self.attachments or ()),
            "metadata": dict(self.metadata or {}),
        }
        return Message(
            id=str.__str__(id),
            created_at=now,
            thread_id=str.__str__(thread_id),
            status=MESSAGE_COMPLETED,
            completed_at=now,
            extra=freeze_value(extra, "message"),
        )


def parse_create_message(body: bytes | str | Mapping[str, Any]) -> CreateMessage:
    """Read the body of ``POST /threads/{thread_id}/messages``, or refuse it as the API does.

    The same rules read a thread's ``messages`` and a run's ``additional_messages``:
    ``role`` (``user`` or ``assistant``), ``content`` (text up to
    256,000 characters (:data:`runstate._fields.MESSAGE_TEXT`), or parts: ``text``, ``image_file``,
    ``image_url``), ``attachments`` (up to 10, each a ``file_id``
    and its ``tools``) and ``metadata``.

    Raises:
        InvalidRequest: with the API's message, ``param`` and ``code`` (the templates of
            spec-facts §10.1; for this endpoint, inferred).
        InvalidArgument: ``body`` of another type, or a mapping holding what JSON cannot.

    Example:
        >>> parse_create_message(b'{"role": "user", "content": "Hi"}').content
        'Hi'
        >>> parse_create_message({"role": "user", "content": "x" * 256_001})
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: Invalid 'content': string too long. Expected a \
string with maximum length 256000, but got a string with length 256001 instead.
    """
    obj = read_body(body)
    refuse_unknown(obj, frozenset(CREATE_MESSAGE_KEYS), "")
    for key in ("role", "content"):
        required(obj, key, "")
    fields = read_fields(obj, CREATE_MESSAGE_KEYS, MESSAGE_READERS)
    if "content" not in fields:  # null: a type error, as for a required id (§10.2)
        raise wire.invalid_type("content", "one of a string or an array", None)
    if "role" not in fields:
        raise wire.invalid_type("role", "a string", None)
    attachments = fields.get("attachments")
    return CreateMessage(
        role=fields["role"],
        content=fields["content"],
        attachments=attachments,
        metadata=fields.get("metadata"),
    )


def _changed(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` (a JSON object) with the given fields replaced, thawed for JSON."""
    updated = dict(current)
    for key, value in changes.items():
        if value is not None:
            updated[key] = to_json_value(value)
    return updated


@attrs.frozen(kw_only=True, eq=True, unsafe_hash=False)  # unhashable: holds JSON objects
class ModifyAssistant(_AssistantFields):
    """A modify-assistant request (``POST /assistants/{assistant_id}``), as sent.

    Fields are :class:`CreateAssistant`'s, each ``None`` when not given (or null):
    a field not given keeps its value.

    Attributes:
        model: The new model, or ``None``.
    """

    model: str | None = None

    def apply(self, assistant: Mapping[str, Any]) -> dict[str, Any]:
        """The ``assistant`` object (JSON) with the given fields replaced.

        Example:
            >>> parse_modify_assistant({"name": "Tutor"}).apply({"id": "asst_1", "name": None})
            {'id': 'asst_1', 'name': 'Tutor'}
        """
        return _changed(assistant, attrs.asdict(self, recurse=False))


def parse_modify_assistant(body: bytes | str | Mapping[str, Any]) -> ModifyAssistant:
    """Read the body of ``POST /assistants/{assistant_id}``, or refuse it as the API does.

    Every field is optional and read as :func:`parse_create_assistant` reads it (same
    limits: ``instructions`` up to 256,000 characters, up to 128 ``tools``), except
    ``tool_resources``, which cannot create vector stores here (spec
    ``ModifyAssistantRequest``).

    Raises:
        InvalidRequest: with the API's message, ``param`` and ``code`` (inferred for this
            endpoint, spec-facts §10).
        InvalidArgument: ``body`` of another type, or a mapping holding what JSON cannot.

    Example:
        >>> parse_modify_assistant(b'{"tools": [{"type": "retrieval"}]}')
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: Invalid value: 'retrieval'. Supported values are: \
'code_interpreter', 'file_search', and 'function'.
    """
    fields = read_fields(read_body(body), MODIFY_ASSISTANT_KEYS, MODIFY_ASSISTANT_READERS)
    return ModifyAssistant(**fields)


@attrs.frozen(kw_only=True, eq=True, unsafe_hash=False)  # unhashable: holds JSON objects
class ModifyThread:
    """A modify-thread request (``POST /threads/{thread_id}``).

    Attributes:
        tool_resources: File ids for the tools; ``None`` when not given.
        metadata: Up to 16 string pairs; ``None`` when not given.
    """

    tool_resources: Mapping[str, Any] | None = None
    metadata: Mapping[str, str] | None = None

    def apply(self, thread: Mapping[str, Any]) -> dict[str, Any]:
        """The ``thread`` object (JSON) with the given fields replaced.

        Example:
            >>> parse_modify_thread({"metadata": {"k": "v"}}).apply({"metadata": {}})
            {'metadata': {'k': 'v'}}
        """
        return _changed(thread, attrs.asdict(self, recurse=False))


def parse_modify_thread(body: bytes | str | Mapping[str, Any]) -> ModifyThread:
    """Read the body of ``POST /threads/{thread_id}``, or refuse it as the API does.

    Raises:
        InvalidRequest: ``Unknown parameter: 'messages'.`` and the like (inferred for
            this endpoint, spec-facts §10), and the metadata rows of §10.2.
        InvalidArgument: ``body`` of another type, or a mapping holding what JSON cannot.

    Example:
        >>> parse_modify_thread(b'{"messages": []}')
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: Unknown parameter: 'messages'.
    """
    readers = {
        "tool_resources": tool_resources(new_vector_stores=False),
        "metadata": metadata_field,
    }
    return ModifyThread(**read_fields(read_body(body), MODIFY_THREAD_KEYS, readers))


@attrs.frozen(kw_only=True, eq=True, unsafe_hash=False)  # unhashable: holds metadata
class ModifyMessage:
    """A modify-message request (``POST /threads/{t}/messages/{m}``): only ``metadata``."""

    metadata: Mapping[str, str] | None = None

    def apply(self, message: Message) -> Message:
        """``message`` with this request's metadata (unchanged when none was given).

        Example:
            >>> m = parse_create_message({"role": "user", "content": "Hi"}).new_message(
            ...     id="msg_1", thread_id="thread_1", now=1)
            >>> parse_modify_message({"metadata": {"k": "v"}}).apply(m).extra["metadata"]
            {'k': 'v'}
        """
        if type(message) is not Message:
            raise InvalidArgument.expected("message", "a runstate.models.Message", message)
        if self.metadata is None:
            return message
        return attrs.evolve(message, extra={**message.extra, "metadata": self.metadata})


def parse_modify_message(body: bytes | str | Mapping[str, Any]) -> ModifyMessage:
    """Read the body of ``POST /threads/{t}/messages/{m}``, or refuse it as the API does.

    Raises:
        InvalidRequest: ``Unknown parameter: 'x'.`` for any key but ``metadata``
            (inferred for this endpoint), and the metadata rows of spec-facts §10.2.
        InvalidArgument: ``body`` of another type, or a mapping holding what JSON cannot.

    Example:
        >>> parse_modify_message(b'{"content": "edited"}')
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: Unknown parameter: 'content'.
    """
    return ModifyMessage(
        **read_fields(read_body(body), ("metadata",), {"metadata": metadata_field})
    )
