"""Request bodies of the run endpoints, read as the real API reads them, or refused with its 400.

Each ``parse_*`` function takes the body as JSON text, bytes or an already-decoded
mapping and returns a frozen value, or raises :class:`~runstate.InvalidRequest` with the
API's exact message, ``param`` and ``code`` (spec-facts §10). The rules:

* Schemas are closed (``additionalProperties: false``, spec-facts §1.2): an unknown key
  gives ``Unknown parameter: 'x'.`` (observed on create thread-and-run, §10.2), nested
  keys by their path (``tools[0].function.foo``; inferred).
* ``null`` means "not given", as it does for the API, except for a required parameter:
  ``assistant_id: null`` is a type error (observed, §10.2).
* The first problem found is reported, in this order: unknown keys, then each parameter
  in the spec's order, depth first. (The real validator's order across several broken
  parameters is not recorded; inferred.)
* Body text that is not JSON, or JSON that is not an object, gets the API's JSON-body
  text (§10.2, observed on another endpoint; for a non-object, inferred).
* One front end for every body, text or mapping (:func:`parse_json_body`), before any
  field is read. It gives the same malformed-JSON 400 (param and code null) to what a
  strict JSON reader refuses or JSON text cannot carry, wherever it sits: a lone
  surrogate (a code point U+D800..U+DFFF) in a key or a string, at any depth (inferred:
  a strict decoder rejects unpaired surrogates, and such a string has no UTF-8 form;
  two surrogate code points given in a mapping count too, since JSON text would carry
  them as one character); ``NaN`` and the infinities; nesting deeper than
  :data:`~runstate._schema.MAX_JSON_DEPTH` levels, the body itself counted (one rule
  for text and mappings; the API's own limit is not recorded, inferred); and an
  integer of more than :data:`~runstate._schema.MAX_INT_DIGITS` digits where no range
  template applies (in a field with a maximum it is "above maximum value"). What no
  JSON text decodes to (a set, a non-string key, a mapping that fails when read) is the
  server's bug: :class:`~runstate.InvalidArgument`.
* Client input echoed in a refusal is bounded (see :func:`runstate._templates.echo`).

The values hold exactly what the request said; filling what it left out (the model, the
instructions and the tools come from the assistant) is the server's business:
:meth:`CreateRun.new_run` takes those defaults as arguments.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal, get_args

import attrs

from ._engine import templates as wire
from ._engine.jsonio import has_surrogate
from ._engine.jsonio import loads as _loads
from ._errors import InvalidArgument, InvalidRequest, InvalidRun
from ._model import (
    Message,
    Ranker,
    ReasoningEffort,
    Run,
    Tool,
    ToolChoiceMode,
    ToolChoiceType,
    TruncationType,
)
from ._ops import DEFAULT_EXPIRES_IN, ToolOutput, _metadata_error, _outputs, check_now, new_run
from ._schema import (
    MAX_INT_DIGITS,
    MAX_JSON_DEPTH,
    MAX_JSON_ITEMS,
    freeze_value,
    to_json_value,
)

__all__ = [
    "INCLUDE_FILE_SEARCH_CONTENT",
    "CreateAssistant",
    "CreateMessage",
    "CreateRun",
    "CreateThread",
    "ModifyAssistant",
    "ModifyMessage",
    "ModifyRun",
    "ModifyThread",
    "SubmitToolOutputsRequest",
    "check_beta_header",
    "check_id",
    "parse_create_assistant",
    "parse_create_message",
    "parse_create_run",
    "parse_create_thread",
    "parse_create_thread_and_run",
    "parse_json_body",
    "parse_modify_assistant",
    "parse_modify_message",
    "parse_modify_run",
    "parse_modify_thread",
    "parse_submit_tool_outputs",
]

#: The one value ``include[]`` takes on create run (spec-facts §1.2).
INCLUDE_FILE_SEARCH_CONTENT: Final = "step_details.tool_calls[*].file_search.results[*].content"

#: ``tools`` holds at most 20 entries on the run request schemas (spec-facts §1.2).
MAX_TOOLS: Final = 20
#: ... and at most 128 on an assistant (spec ``CreateAssistantRequest.tools``).
MAX_ASSISTANT_TOOLS: Final = 128
#: ``tool_resources.code_interpreter.file_ids`` holds at most 20 ids (spec).
MAX_CODE_FILES: Final = 20
#: ``tool_resources.file_search.vector_stores[].file_ids`` holds at most 10000 ids (spec).
MAX_VECTOR_STORE_FILES: Final = 10000
#: ``maxLength`` of an assistant's ``name``, ``description`` and ``instructions`` (spec).
ASSISTANT_TEXT_LIMITS: Final[Mapping[str, int]] = {
    "name": 256,
    "description": 512,
    "instructions": 256_000,
}
#: ``maxLength`` of a message's text: the spec's ``CreateMessageRequest.content`` while it
#: was a string (openai-openapi 2024-04-17 to 2024-05-08, with ``minLength: 1``); the
#: spec dropped it when content became "a string or parts" (inferred since, and for
#: each text part).
MAX_MESSAGE_TEXT: Final = 256_000
#: At most 10 files per message: the spec's ``maxItems`` of a message's ``file_ids``
#: (Assistants v1, "A maximum of 10 files can be attached to a message"); v2's
#: ``attachments`` replaced them with no ``maxItems`` (the number is inferred).
MAX_ATTACHMENTS: Final = 10
#: A run's ``instructions`` (and ``additional_instructions``) replace or extend the
#: assistant's, which the spec limits to 256,000 characters; the run schemas state no
#: limit (inferred: the assistant's).
MAX_RUN_INSTRUCTIONS: Final = 256_000
#: The spec's ``minimum: 256`` for the token limits, which the real API did not enforce
#: (spec-facts §8.4: ``max_completion_tokens: 16`` was accepted).
TOKEN_MINIMUM: Final = 256

_NAME_PATTERN: Final = "^[a-zA-Z0-9_-]+$"
_NAME_RE: Final = re.compile(r"[a-zA-Z0-9_-]+")
_NAME_MAX: Final = 64
_STRING_OR_OBJECT: Final = "one of a string or an object"  # inferred wording for a oneOf

_TOOL_TYPES: Final = ("code_interpreter", "file_search", "function")
_TOOL_KEYS: Final[Mapping[str, frozenset[str]]] = {
    "code_interpreter": frozenset({"type"}),
    "file_search": frozenset({"type", "file_search"}),
    "function": frozenset({"type", "function"}),
}
_FORMAT_TYPES: Final = ("text", "json_object", "json_schema")
# Enum values come from the model's Literal types, stated once (runstate._model).
_CHOICE_TYPES: Final[tuple[str, ...]] = get_args(ToolChoiceType)
_CHOICE_MODES: Final[tuple[str, ...]] = get_args(ToolChoiceMode)
_TRUNCATION_TYPES: Final[tuple[str, ...]] = get_args(TruncationType)
_RANKERS: Final[tuple[str, ...]] = get_args(Ranker)
_REASONING_EFFORTS: Final[tuple[str, ...]] = get_args(ReasoningEffort)
_ROLES: Final = ("user", "assistant")
#: Integers JSON text may carry here (see runstate._jsonio.MAX_INT_DIGITS).
_INT_BOUND: Final = 10**MAX_INT_DIGITS

#: The body keys of ``POST /threads/{thread_id}/runs``, in the spec's order (§1.2).
CREATE_RUN_KEYS: Final = (
    "assistant_id",
    "model",
    "reasoning_effort",
    "instructions",
    "additional_instructions",
    "additional_messages",
    "tools",
    "metadata",
    "temperature",
    "top_p",
    "stream",
    "max_prompt_tokens",
    "max_completion_tokens",
    "truncation_strategy",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
)
#: The body keys of ``POST /threads/runs`` (the spec's CreateThreadAndRunRequest).
CREATE_THREAD_AND_RUN_KEYS: Final = (
    "assistant_id",
    "thread",
    "model",
    "instructions",
    "tools",
    "tool_resources",
    "metadata",
    "temperature",
    "top_p",
    "stream",
    "max_prompt_tokens",
    "max_completion_tokens",
    "truncation_strategy",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
)
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
#: The body keys of ``POST /threads`` (spec ``CreateThreadRequest``).
CREATE_THREAD_KEYS: Final = ("messages", "tool_resources", "metadata")

#: Id prefixes the API checks (``asst`` observed with param and code; ``thread`` observed
#: as a message; ``run`` and ``step`` follow the template: inferred). spec-facts §10.2.
ID_PREFIXES: Final[Mapping[str, str]] = {
    "assistant_id": "asst",
    "thread_id": "thread",
    "run_id": "run",
    "step_id": "step",
    "message_id": "msg",  # inferred, as run and step
}


# --------------------------------------------------------------------------------------
# Reading JSON values with the API's messages


def _sub(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _body(body: object, *, typed: bool = True) -> dict[str, Any]:
    if isinstance(body, Mapping):
        obj: object = body
    elif isinstance(body, str | bytes | bytearray | memoryview):
        try:
            obj = _loads(body, what="request body")
        except InvalidRun:  # not UTF-8, not JSON, NaN, too deep for the decoder
            raise wire.bad_json_body() from None  # spec-facts §10.2, OBS(other)
    else:
        raise InvalidArgument.expected("body", "JSON text, bytes or a mapping", body)
    if not isinstance(obj, Mapping):
        raise wire.bad_json_body()  # a JSON value that is not an object: inferred
    return _plain(obj, typed)


def _text(value: str) -> str:
    # Inferred: a strict JSON decoder rejects unpaired surrogates (and a str holding one
    # has no UTF-8 form), so the body is malformed JSON (spec-facts §10.2's text).
    if has_surrogate(value):
        raise wire.bad_json_body()
    return value


def _plain(root: Mapping[str, Any], typed: bool) -> dict[str, Any]:
    """The body as plain JSON values (a fresh copy), or the front end's refusal.

    Iterative, so no input nests deep enough to exhaust the stack; see the module's
    notes for what is refused, and how. Unless ``typed`` (the fields are read next, and
    over-wide integers judged there, by the field's range), an integer wider than JSON
    text may carry is refused here, as its text would be.
    """
    budget = MAX_JSON_ITEMS
    out: dict[str, Any] = {}
    todo: list[tuple[Any, Any, int, str]] = [(root, out, 1, "")]
    while todo:
        source, target, level, path = todo.pop()
        is_dict = type(target) is dict
        if is_dict:
            try:
                pairs: Any = list(itertools.islice(source.items(), budget + 1))
            except Exception as exc:  # a broken mapping: no JSON text gives one
                message = f"the mapping could not be read ({type(exc).__name__})"
                raise InvalidArgument(path or "body", message) from None
        else:
            pairs = list(enumerate(source))
        budget -= len(pairs)
        if budget < 0:
            raise InvalidArgument(path or "body", f"more than {MAX_JSON_ITEMS} items")
        for key, value in pairs:
            if is_dict:
                name = _key(key, path)
                where = _sub(path, name)
            else:
                where = f"{path}[{key}]"
            item = _item(value, where)
            if not typed and type(item) is int and not -_INT_BOUND < item < _INT_BOUND:
                raise wire.bad_json_body()
            if item is _CONTAINER:
                if level >= MAX_JSON_DEPTH:
                    raise wire.bad_json_body()  # the one depth rule (module notes)
                item = {} if isinstance(value, Mapping) else []
                todo.append((value, item, level + 1, where))
            if is_dict:
                target[name] = item
            else:
                target.append(item)
    return out


_CONTAINER: Final = object()


def _key(key: object, path: str) -> str:
    if type(key) is not str:
        if not isinstance(key, str):
            raise InvalidArgument.expected(f"{path or 'body'} keys", "strings", key)
        key = str.__str__(key)  # a subclass counts as its value
    return _text(key)


def _item(value: object, where: str) -> Any:
    """A scalar as plain JSON, or :data:`_CONTAINER` for a mapping or an array."""
    t = type(value)
    if value is None or t is bool or t is int:
        return value
    if isinstance(value, str):
        return _text(str.__str__(value))
    if isinstance(value, Mapping | list | tuple):
        return _CONTAINER
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise wire.bad_json_body()  # NaN and Infinity are not JSON
        return float.__float__(value)
    raise InvalidArgument.expected(where, "a JSON value", value)


def parse_json_body(body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    r"""Read a request body as a JSON object, through the same front end as every parser.

    For endpoints runstate does not model (a server's own hooks): the body's keys are
    the endpoint's business; what is refused is what every ``parse_*`` function refuses
    before reading a field (see ``docs/server.md``).

    Args:
        body: JSON text, bytes, or a decoded mapping.

    Returns:
        A fresh, plain ``dict`` (lists for arrays, exact ``str``, ``int`` and ``float``).

    Raises:
        InvalidRequest: the API's malformed-JSON 400 (param and code null) for text that
            is not a JSON object, a lone surrogate, a non-finite number, an integer of
            more than 4,300 digits or nesting deeper than
            :data:`~runstate._schema.MAX_JSON_DEPTH` levels.
        InvalidArgument: ``body`` of another type, or a mapping holding what JSON cannot.

    Example:
        >>> parse_json_body(b'{"to": "completed", "usage": null}')
        {'to': 'completed', 'usage': None}
        >>> parse_json_body('{"to": "x\\ud800"}')
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: We could not parse the JSON body of your request. ...
    """
    return _body(body, typed=False)


def _keys(obj: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    for key in obj:  # exact strings: the front end (_plain) made them so
        if key not in allowed:
            # spec-facts §10.2, OBS (top level); nested paths inferred.
            raise wire.unknown_parameter(_sub(path, key))


def _required(obj: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in obj:
        raise wire.missing_parameter(_sub(path, key))  # §10.2: message OBS, fields INF
    return obj[key]


def _string(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise wire.invalid_type(path, "a string", value)  # §10.1 template (OBS)
    return str.__str__(value)


def _boolean(value: object, path: str) -> bool:
    if type(value) is not bool:
        raise wire.invalid_type(path, "a boolean", value)
    return value


def _integer(
    value: object, path: str, minimum: int | None = None, maximum: int | None = None
) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise wire.invalid_type(path, "an integer", value)
    number = int(value)
    if not -_INT_BOUND < number < _INT_BOUND and (maximum if number > 0 else minimum) is None:
        # Wider than JSON text may carry here, and no range template applies (where the
        # field has that bound, the template below says so): what the text would get.
        raise wire.bad_json_body()
    if minimum is not None and number < minimum:
        raise wire.below_minimum(path, minimum, number, integer=True)
    if maximum is not None and number > maximum:
        raise wire.above_maximum(path, maximum, number, integer=True)
    return number


def _decimal(value: object, path: str, minimum: float, maximum: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise wire.invalid_type(path, "a number", value)
    if value < minimum:
        raise wire.below_minimum(path, minimum, value, integer=False)
    if value > maximum:
        # spec-facts §10.2 (temperature > 2), OBS(other: chat)
        raise wire.above_maximum(path, maximum, value, integer=False)
    return value


def _choice(value: object, path: str, supported: tuple[str, ...]) -> str:
    text = _string(value, path)
    if text not in supported:
        raise wire.invalid_value(path, text, supported)  # inferred (§10: no enum error seen)
    return text


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise wire.invalid_type(path, "an object", value)
    return value


def _array(value: object, path: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise wire.invalid_type(path, "an array", value)
    return value


def _json(value: object, path: str) -> Any:
    """A JSON value (from :func:`_plain`) kept as given, frozen.

    The front end has checked everything freezing checks but the width of integers: an
    integer wider than JSON text may carry gets what the text would (module notes).
    """
    try:
        return freeze_value(value, path)
    except InvalidRun:
        raise wire.bad_json_body() from None


def _metadata(value: object, path: str) -> Mapping[str, str]:
    error = _metadata_error(value, path)  # spec-facts §10.2 rows on metadata
    if error is not None:
        raise error
    assert isinstance(value, Mapping)
    return _json(value, path)  # type: ignore[no-any-return]


def _name(value: object, path: str) -> str:
    name = _string(value, path)
    if len(name) > _NAME_MAX:
        raise wire.string_too_long(path, _NAME_MAX, len(name))  # template OBS(other)
    if _NAME_RE.fullmatch(name) is None:
        raise wire.pattern_mismatch(path, _NAME_PATTERN)  # inferred
    return name


def _optional_fields(
    obj: Mapping[str, Any], path: str, readers: Mapping[str, Any], required: tuple[str, ...] = ()
) -> None:
    """Check ``obj``'s keys against ``readers`` (key -> reader(value, path)); nulls skip."""
    _keys(obj, frozenset(readers), path)
    for key in required:
        value = _required(obj, key, path)
        readers[key](value, _sub(path, key))
    for key, read in readers.items():
        if key in required:
            continue
        value = obj.get(key)
        if value is not None:
            read(value, _sub(path, key))


# --------------------------------------------------------------------------------------
# The nested request objects (the schemas the run object echoes)


def _function(value: object, path: str) -> None:
    _optional_fields(
        _object(value, path),
        path,
        {
            "name": _name,
            "description": _string,
            "parameters": _object,
            "strict": _boolean,
        },
        required=("name",),
    )


def _ranking(value: object, path: str) -> None:
    _optional_fields(
        _object(value, path),
        path,
        {
            "score_threshold": lambda v, p: _decimal(v, p, 0, 1),
            "ranker": lambda v, p: _choice(v, p, _RANKERS),
        },
        required=("score_threshold",),
    )


def _file_search(value: object, path: str) -> None:
    _optional_fields(
        _object(value, path),
        path,
        {
            "max_num_results": lambda v, p: _integer(v, p, 1, 50),
            "ranking_options": _ranking,
        },
    )


def _tool(value: object, path: str) -> None:
    obj = _object(value, path)
    kind = _choice(_required(obj, "type", path), _sub(path, "type"), _TOOL_TYPES)
    _keys(obj, _TOOL_KEYS[kind], path)
    if kind == "function":
        _function(_required(obj, "function", path), _sub(path, "function"))
    elif obj.get("file_search") is not None:
        _file_search(obj["file_search"], _sub(path, "file_search"))


def _list_of(read: Any, maximum: int | None = None) -> Any:
    """A reader of an array whose items ``read`` reads, with the spec's ``maxItems``."""

    def read_list(value: object, path: str) -> None:
        items = _array(value, path)
        if maximum is not None and len(items) > maximum:
            raise wire.array_too_long(path, maximum, len(items))  # spec maxItems; INF text
        for i, item in enumerate(items):
            read(item, f"{path}[{i}]")

    return read_list


def _string_up_to(maximum: int) -> Any:
    """A reader of a string with the spec's ``maxLength``."""

    def read(value: object, path: str) -> str:
        text = _string(value, path)
        if len(text) > maximum:
            raise wire.string_too_long(path, maximum, len(text))  # template OBS(other)
        return text

    return read


_tools: Final = _list_of(_tool, MAX_TOOLS)
_message_text: Final = _string_up_to(MAX_MESSAGE_TEXT)
_PART_TYPES: Final = ("text", "image_file", "image_url")
_ATTACHMENT_TOOLS: Final = ("code_interpreter", "file_search")


def _tool_choice(value: object, path: str) -> None:
    if isinstance(value, str):
        _choice(value, path, _CHOICE_MODES)
        return
    if not isinstance(value, Mapping):
        raise wire.invalid_type(path, _STRING_OR_OBJECT, value)
    _choice(_required(value, "type", path), _sub(path, "type"), _CHOICE_TYPES)
    _optional_fields(
        value,
        path,
        {
            "type": lambda v, p: None,
            "function": lambda v, p: _optional_fields(
                _object(v, p), p, {"name": _name}, required=("name",)
            ),
        },
    )


def _json_schema(value: object, path: str) -> None:
    _optional_fields(
        _object(value, path),
        path,
        # The spec gives the format's name the function name's pattern and length.
        {"name": _name, "description": _string, "schema": _object, "strict": _boolean},
        required=("name",),
    )


def _response_format(value: object, path: str) -> None:
    if isinstance(value, str):
        _choice(value, path, ("auto",))
        return
    if not isinstance(value, Mapping):
        raise wire.invalid_type(path, _STRING_OR_OBJECT, value)
    kind = _choice(_required(value, "type", path), _sub(path, "type"), _FORMAT_TYPES)
    if kind == "json_schema":
        _keys(value, frozenset({"type", "json_schema"}), path)
        _json_schema(_required(value, "json_schema", path), _sub(path, "json_schema"))
    else:
        _keys(value, frozenset({"type"}), path)


def _truncation(value: object, path: str) -> None:
    obj = _object(value, path)
    _choice(_required(obj, "type", path), _sub(path, "type"), _TRUNCATION_TYPES)
    _optional_fields(
        obj,
        path,
        {"type": lambda v, p: None, "last_messages": lambda v, p: _integer(v, p, 1)},
    )


def _content_part(value: object, path: str) -> None:
    part = _object(value, path)
    kind = _choice(_required(part, "type", path), _sub(path, "type"), _PART_TYPES)
    if kind == "text":
        _keys(part, frozenset({"type", "text"}), path)
        _message_text(_required(part, "text", path), _sub(path, "text"))  # limit inferred
    else:
        _keys(part, frozenset({"type", kind}), path)
        _object(_required(part, kind, path), _sub(path, kind))


def _content(value: object, path: str) -> None:
    if isinstance(value, str):
        _message_text(value, path)
        return
    if not isinstance(value, list | tuple):
        raise wire.invalid_type(path, "one of a string or an array", value)  # inferred
    for i, part in enumerate(value):
        _content_part(part, f"{path}[{i}]")


def _attachment_tool(value: object, path: str) -> None:
    tool = _object(value, path)
    _choice(_required(tool, "type", path), _sub(path, "type"), _ATTACHMENT_TOOLS)
    _keys(tool, frozenset({"type"}), path)


def _attachment(value: object, path: str) -> None:
    _optional_fields(
        _object(value, path),
        path,
        {"file_id": _string, "tools": _list_of(_attachment_tool)},
        required=("file_id", "tools"),
    )


def _message(value: object, path: str) -> None:
    obj = _object(value, path)
    _optional_fields(obj, path, _MESSAGE_READERS, required=("role", "content"))


_attachments: Final = _list_of(_attachment, MAX_ATTACHMENTS)
#: The keys of a new message (spec ``CreateMessageRequest``), in its order.
_MESSAGE_READERS: Final[Mapping[str, Any]] = {
    "role": lambda v, p: _choice(v, p, _ROLES),
    "content": _content,
    "attachments": _attachments,
    "metadata": _metadata,
}
_messages: Final = _list_of(_message)


def _vector_store(value: object, path: str) -> None:
    _optional_fields(
        _object(value, path),
        path,
        {
            "file_ids": _list_of(_string, MAX_VECTOR_STORE_FILES),
            "chunking_strategy": _object,
            "metadata": _metadata,
        },
    )


def _tool_resources(new_vector_stores: bool) -> Any:
    """``tool_resources``: file ids for the tools.

    Spec ``CreateAssistantRequest`` and ``CreateThreadRequest``; thread-and-run's run
    part takes no ``vector_stores``.
    """
    file_search: dict[str, Any] = {"vector_store_ids": _list_of(_string, 1)}
    if new_vector_stores:
        file_search["vector_stores"] = _list_of(_vector_store, 1)

    def read(value: object, path: str) -> None:
        _optional_fields(
            _object(value, path),
            path,
            {
                "code_interpreter": lambda v, p: _optional_fields(
                    _object(v, p), p, {"file_ids": _list_of(_string, MAX_CODE_FILES)}
                ),
                "file_search": lambda v, p: _optional_fields(_object(v, p), p, file_search),
            },
        )

    return read


#: The keys of a new thread (spec ``CreateThreadRequest``), for ``POST /threads`` and
#: thread-and-run's ``thread``; ``tool_resources`` may create vector stores.
_THREAD_READERS: Final[Mapping[str, Any]] = {
    "messages": _messages,
    "tool_resources": _tool_resources(new_vector_stores=True),
    "metadata": _metadata,
}


def _thread(value: object, path: str) -> None:
    _optional_fields(_object(value, path), path, _THREAD_READERS)


# --------------------------------------------------------------------------------------
# Create run, create thread-and-run


@attrs.frozen(kw_only=True, eq=True, unsafe_hash=False)  # unhashable: holds JSON objects
class CreateRun:
    """A create-run (or create thread-and-run) request, as the client sent it.

    Fields the request left out, or sent as null, are ``None``; JSON parts (tools,
    formats, messages, the thread) are kept as given, frozen. :meth:`new_run` turns it
    into the ``queued`` run the API returns.

    Attributes:
        assistant_id: The assistant to run (required).
        model: Overrides the assistant's model.
        instructions: Overrides the assistant's instructions.
        tools: Overrides the assistant's tools (JSON objects); ``()`` means "no tools".
        metadata: Up to 16 string pairs.
        temperature: 0 to 2.
        top_p: 0 to 1.
        max_prompt_tokens: Prompt token limit.
        max_completion_tokens: Completion token limit.
        truncation_strategy: ``{"type": ..., "last_messages": ...}``.
        tool_choice: ``"none"``, ``"auto"``, ``"required"`` or a specific tool.
        parallel_tool_calls: Whether tools may be called in parallel.
        response_format: ``"auto"`` or a format object.
        reasoning_effort: For reasoning models (create run only), kept as the run's
            ``reasoning_effort``, which real runs carry (spec-facts §5.2).
        additional_instructions: Appended to the instructions for this run only (request
            only; the run's ``instructions`` field does not show it).
        additional_messages: Messages to add to the thread before the run (request only).
        stream: ``True`` when the client asked for an event stream.
        tool_resources: Thread-and-run only; kept as the run's ``tool_resources``.
        include: The ``include[]`` query values (create run only).
        thread: Thread-and-run only: the thread object, as given (``None`` for an empty
            thread).
    """

    assistant_id: str
    model: str | None = None
    instructions: str | None = None
    tools: tuple[Mapping[str, Any], ...] | None = None
    metadata: Mapping[str, str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_prompt_tokens: int | None = None
    max_completion_tokens: int | None = None
    truncation_strategy: Mapping[str, Any] | None = None
    tool_choice: ToolChoiceMode | Mapping[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: Literal["auto"] | Mapping[str, Any] | None = None
    reasoning_effort: str | None = None
    additional_instructions: str | None = None
    additional_messages: tuple[Mapping[str, Any], ...] | None = None
    stream: bool = False
    tool_resources: Mapping[str, Any] | None = None
    include: tuple[str, ...] = ()
    thread: Mapping[str, Any] | None = None

    def new_run(
        self,
        *,
        id: str,
        thread_id: str,
        now: int,
        assistant_model: str,
        assistant_instructions: str | None = None,
        assistant_tools: Iterable[Tool | Mapping[str, Any]] = (),
        thread_has_user_message: bool = True,
        expires_in: int = DEFAULT_EXPIRES_IN,
    ) -> Run:
        """The ``queued`` run this request creates (:func:`runstate.new_run`).

        The request's values win; where it gave none, the assistant's model,
        instructions and tools are used (the API's rule; looking the assistant up is the
        server's business), and the API's own defaults for the rest (temperature and
        top_p 1.0, ``tool_choice`` and ``response_format`` ``"auto"``, truncation
        ``auto``, parallel tool calls on).

        Args:
            id: The new run's id.
            thread_id: The thread (the path's, or the new thread's for thread-and-run).
            now: The creation time, Unix seconds.
            assistant_model: The assistant's model.
            assistant_instructions: The assistant's instructions.
            assistant_tools: The assistant's tools.
            thread_has_user_message: Whether the thread (before this request) holds a
                user message; for thread-and-run the request's ``thread.messages`` count
                too, as do ``additional_messages``.
            expires_in: Seconds until ``expires_at`` (600 on the real API).

        Raises:
            InvalidRequest: ``Run creation requires a Thread with a user message or an
                assistant with instructions.`` (code ``invalid_thread``; spec-facts §4.5,
                observed) when there is neither a user message nor any instructions.
            InvalidRun: when the assistant's defaults break the wire format.

        Example:
            >>> req = parse_create_run(b'{"assistant_id": "asst_1", "temperature": 0.5}')
            >>> run = req.new_run(id="run_1", thread_id="thread_1", now=1_700_000_000,
            ...                   assistant_model="gpt-4o")
            >>> run.model, run.temperature, run.top_p, run.status.value
            ('gpt-4o', 0.5, 1.0, 'queued')
        """
        instructions = (
            self.instructions if self.instructions is not None else assistant_instructions
        )
        if not (
            instructions
            or self.additional_instructions
            or self._has_user_message(thread_has_user_message)
        ):
            # spec-facts §4.5 / §10.2: message and code OBS; when it applies is inferred.
            raise InvalidRequest(
                "Run creation requires a Thread with a user message or an assistant with "
                "instructions.",
                code="invalid_thread",
            )
        extra: dict[str, Any] = {}
        if self.tool_resources is not None:
            extra["tool_resources"] = self.tool_resources
        if self.reasoning_effort is not None:
            extra["reasoning_effort"] = self.reasoning_effort
        return new_run(
            id=id,
            thread_id=thread_id,
            assistant_id=self.assistant_id,
            model=self.model if self.model is not None else assistant_model,
            now=now,
            instructions=instructions,
            tools=self.tools if self.tools is not None else assistant_tools,
            metadata=self.metadata,
            temperature=1.0 if self.temperature is None else self.temperature,
            top_p=1.0 if self.top_p is None else self.top_p,
            max_prompt_tokens=self.max_prompt_tokens,
            max_completion_tokens=self.max_completion_tokens,
            truncation_strategy=self.truncation_strategy,
            tool_choice="auto" if self.tool_choice is None else self.tool_choice,
            parallel_tool_calls=(
                True if self.parallel_tool_calls is None else self.parallel_tool_calls
            ),
            response_format="auto" if self.response_format is None else self.response_format,
            extra=extra,
            expires_in=expires_in,
        )

    def _has_user_message(self, thread_has_user_message: bool) -> bool:
        if thread_has_user_message:
            return True
        messages: list[Any] = list(self.additional_messages or ())
        if self.thread is not None and isinstance(self.thread.get("messages"), list | tuple):
            messages.extend(self.thread["messages"])
        return any(isinstance(m, Mapping) and m.get("role") == "user" for m in messages)


def _token_limit(strict: bool) -> Any:
    def read(value: object, path: str) -> int:
        # spec minimum 256 (§1.2); INF text (§10.2); not enforced by the real API (§8.4).
        return _integer(value, path, TOKEN_MINIMUM if strict else 1)

    return read


def _assistant_id(value: object, path: str) -> str:
    text = _string(value, path)  # null: spec-facts §10.2, OBS
    if not text.startswith(ID_PREFIXES["assistant_id"]):
        raise wire.invalid_id(path, text, ID_PREFIXES["assistant_id"])  # §10.2, OBS
    return text


def _temperature(value: object, path: str) -> float:
    return _decimal(value, path, 0, 2)  # spec-facts §1.2


def _top_p(value: object, path: str) -> float:
    return _decimal(value, path, 0, 1)  # spec-facts §1.2


def _reasoning_effort(value: object, path: str) -> str:
    return _choice(value, path, _REASONING_EFFORTS)  # enum text inferred (§10)


def _readers(strict_token_minimum: bool) -> dict[str, Any]:
    tokens = _token_limit(strict_token_minimum)
    return {
        "assistant_id": _assistant_id,
        "thread": _thread,
        "model": _string,
        "reasoning_effort": _reasoning_effort,
        "instructions": _string_up_to(MAX_RUN_INSTRUCTIONS),
        "additional_instructions": _string_up_to(MAX_RUN_INSTRUCTIONS),
        "additional_messages": _messages,
        "tools": _tools,
        "tool_resources": _tool_resources(new_vector_stores=False),
        "metadata": _metadata,
        "temperature": _temperature,
        "top_p": _top_p,
        "stream": _boolean,
        "max_prompt_tokens": tokens,
        "max_completion_tokens": tokens,
        "truncation_strategy": _truncation,
        "tool_choice": _tool_choice,
        "parallel_tool_calls": _boolean,
        "response_format": _response_format,
    }


_READERS: Final = {False: _readers(False), True: _readers(True)}
#: Keys kept as frozen JSON rather than plain scalars.
_AS_JSON: Final = frozenset(
    {"tool_resources", "truncation_strategy", "tool_choice", "response_format", "thread"}
)
#: Keys kept as a tuple of frozen JSON values.
_AS_TUPLE: Final = frozenset({"tools", "additional_messages", "messages"})


def _fields(
    obj: Mapping[str, Any],
    order: Iterable[str],
    readers: Mapping[str, Any],
    required: str | None = None,
) -> dict[str, Any]:
    """Read each key of ``order`` (the spec's order) from a body the front end passed.

    Values are plain JSON (:func:`_plain`), so scalars are kept as they are.
    """
    _keys(obj, frozenset(order), "")
    fields: dict[str, Any] = {}
    for key in order:
        if key == required:
            value = _required(obj, key, "")  # null: a type error (spec-facts §10.2, OBS)
        else:
            value = obj.get(key)
            if value is None:
                continue
        readers[key](value, key)
        if key in _AS_TUPLE:
            fields[key] = tuple(_json(v, f"{key}[{i}]") for i, v in enumerate(value))
        elif key == "metadata":
            fields[key] = _metadata(value, key)
        elif key in _AS_JSON:
            fields[key] = _json(value, key)
        else:
            fields[key] = value
    return fields


def _create(body: object, order: tuple[str, ...], strict: bool) -> dict[str, Any]:
    if type(strict) is not bool:  # a server's own argument: its bug, not the client's
        raise InvalidArgument.expected("strict_token_minimum", "True or False", strict)
    return _fields(_body(body), order, _READERS[strict], required="assistant_id")


def _include(include: Iterable[str] | None) -> tuple[str, ...]:
    if include is None:
        return ()
    if isinstance(include, str):
        include = (include,)
    if isinstance(include, bytes | bytearray | memoryview | Mapping) or not isinstance(
        include, Iterable
    ):
        raise InvalidArgument.expected("include", "a string or an iterable of strings", include)
    values = []
    for i, value in enumerate(include):
        path = f"include[{i}]"
        if type(value) is not str:  # a query value is text: anything else is a server bug
            raise InvalidArgument.expected(path, "a string", value)
        values.append(_choice(value, path, (INCLUDE_FILE_SEARCH_CONTENT,)))
    return tuple(values)


def parse_create_run(
    body: bytes | str | Mapping[str, Any],
    *,
    include: Iterable[str] | None = None,
    strict_token_minimum: bool = False,
) -> CreateRun:
    """Read the body of ``POST /threads/{thread_id}/runs``, or refuse it as the API does.

    Args:
        body: The request body: JSON text, bytes, or a decoded mapping.
        include: The ``include[]`` query values, if any.
        strict_token_minimum: Refuse ``max_prompt_tokens`` / ``max_completion_tokens``
            below the spec's minimum of 256 (``Invalid 'max_prompt_tokens': integer below
            minimum value...``, inferred, spec-facts §10.2). Off by default: the real
            API accepted 16 (§8.4); without it, limits must still be at least 1.

    Returns:
        The request, with ``None`` for everything not given.

    Raises:
        InvalidRequest: with the API's exact message, ``param`` and ``code``.
        InvalidArgument: ``body``, ``include`` or ``strict_token_minimum`` is of another
            type, or a mapping body holds values JSON cannot carry (a server bug, not a
            client's).

    Example:
        >>> parse_create_run('{"assistant_id": "asst_1", "stream": true}').stream
        True
        >>> try:
        ...     parse_create_run(b'{"assistant_id": "asst_1", "temperature": 200}')
        ... except InvalidRequest as exc:
        ...     print(exc.param, exc.code)
        temperature decimal_above_max_value
    """
    fields = _create(body, CREATE_RUN_KEYS, strict_token_minimum)
    return CreateRun(**fields, include=_include(include))


def parse_create_thread_and_run(
    body: bytes | str | Mapping[str, Any], *, strict_token_minimum: bool = False
) -> CreateRun:
    """Read the body of ``POST /threads/runs`` (create a thread and run it).

    The run part is read as :func:`parse_create_run` reads it (without
    ``additional_*``, ``reasoning_effort`` and ``include``, which this endpoint does not
    take); ``thread`` is read as :func:`parse_create_thread` reads a body, its problems
    named under ``thread.`` (``thread.metadata.a``), and kept as given, for the server's
    thread code (``parse_create_thread(request.thread)``); ``tool_resources`` becomes
    the run's.

    Raises:
        InvalidRequest: with the API's exact message, ``param`` and ``code``.
        InvalidArgument: ``body`` or ``strict_token_minimum`` is of another type, or a
            mapping body holds values JSON cannot carry (a server bug, not a client's).

    Example:
        >>> req = parse_create_thread_and_run(
        ...     {"assistant_id": "asst_1", "thread": {"messages": [{"role": "user",
        ...      "content": "Hi"}]}})
        >>> req.thread["messages"][0]["content"]
        'Hi'
        >>> parse_create_thread_and_run({"assistant_id": "asst_1", "tool": []})
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: Unknown parameter: 'tool'.
    """
    fields = _create(body, CREATE_THREAD_AND_RUN_KEYS, strict_token_minimum)
    return CreateRun(**fields)


# --------------------------------------------------------------------------------------
# Create assistant, create thread


@attrs.frozen(kw_only=True, eq=True, unsafe_hash=False)  # unhashable: holds JSON objects
class CreateAssistant:
    """A create-assistant request (``POST /assistants``), as the client sent it.

    Fields the request left out, or sent as null, are ``None``; JSON parts are kept as
    given, frozen. Building the assistant object (its id, ``created_at`` and defaults)
    is the server's business.

    Attributes:
        model: The model (required).
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

    model: str
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


def _assistant_readers() -> dict[str, Any]:
    readers = dict(_READERS[False])
    readers.update({key: _string_up_to(n) for key, n in ASSISTANT_TEXT_LIMITS.items()})
    readers["tools"] = _list_of(_tool, MAX_ASSISTANT_TOOLS)
    readers["tool_resources"] = _tool_resources(new_vector_stores=True)
    return readers


_ASSISTANT_READERS: Final = _assistant_readers()
_MODIFY_ASSISTANT_READERS: Final = {
    **_ASSISTANT_READERS,
    "tool_resources": _tool_resources(new_vector_stores=False),
}


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
    fields = _fields(_body(body), CREATE_ASSISTANT_KEYS, _ASSISTANT_READERS, required="model")
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
    fields = _fields(_body(body), CREATE_THREAD_KEYS, _THREAD_READERS)
    return CreateThread(**fields)


# --------------------------------------------------------------------------------------
# Submit tool outputs, modify


@attrs.frozen(kw_only=True)
class SubmitToolOutputsRequest:
    """The body of ``POST .../submit_tool_outputs``.

    Attributes:
        tool_outputs: The outputs, in the order sent; pass them to
            :func:`runstate.submit_tool_outputs`.
        stream: ``True`` when the client asked for an event stream.
    """

    tool_outputs: tuple[ToolOutput, ...]
    stream: bool = False


def parse_submit_tool_outputs(body: bytes | str | Mapping[str, Any]) -> SubmitToolOutputsRequest:
    """Read the body of ``POST /threads/{t}/runs/{r}/submit_tool_outputs``.

    Which ids are expected is the run's business (:func:`runstate.submit_tool_outputs`
    refuses a wrong set with the API's exact text); this reads the body only.

    Raises:
        InvalidRequest: ``Missing required parameter: 'tool_outputs'.`` (inferred),
            ``Invalid type for 'tool_outputs[0].output': expected a string, but got an
            integer instead.`` (observed), unknown keys, and the like.

    Example:
        >>> parse_submit_tool_outputs(
        ...     b'{"tool_outputs": [{"tool_call_id": "call_1", "output": "42"}]}'
        ... ).tool_outputs
        (ToolOutput(tool_call_id='call_1', output='42'),)
    """
    obj = _body(body)
    _keys(obj, frozenset({"tool_outputs", "stream"}), "")
    value = _required(obj, "tool_outputs", "")
    items = _array(value, "tool_outputs")  # null: a type error, as for assistant_id
    for i, item in enumerate(items):
        if isinstance(item, Mapping):
            _keys(item, frozenset({"tool_call_id", "output"}), f"tool_outputs[{i}]")
    outputs = tuple(_outputs(items))  # §10.2 rows on tool_outputs
    stream = obj.get("stream")
    return SubmitToolOutputsRequest(
        tool_outputs=outputs, stream=False if stream is None else _boolean(stream, "stream")
    )


@attrs.frozen(kw_only=True, eq=True, unsafe_hash=False)  # unhashable: holds metadata
class ModifyRun:
    """The body of ``POST /threads/{t}/runs/{r}``: only ``metadata`` (spec-facts §1.2).

    Attributes:
        metadata: The new metadata, or ``None`` when not given (or null).
    """

    metadata: Mapping[str, str] | None = None

    def apply(self, run: Run) -> Run:
        """:func:`runstate.update_metadata` with this request's metadata."""
        from ._ops import update_metadata  # noqa: PLC0415 - keeps the import list short

        return update_metadata(run, metadata=self.metadata)


def parse_modify_run(body: bytes | str | Mapping[str, Any]) -> ModifyRun:
    """Read the body of ``POST /threads/{t}/runs/{r}``, or refuse it as the API does.

    Raises:
        InvalidRequest: ``Unknown parameter: 'x'.`` for any key but ``metadata``
            (inferred for this endpoint, spec-facts §10), and the metadata rows of §10.2.

    Example:
        >>> parse_modify_run(b'{"metadata": {"modified": true}}')
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: Invalid type for 'metadata.modified': expected a \
string, but got a boolean instead.
    """
    obj = _body(body)
    _keys(obj, frozenset({"metadata"}), "")
    metadata = obj.get("metadata")
    return ModifyRun(metadata=None if metadata is None else _metadata(metadata, "metadata"))


# --------------------------------------------------------------------------------------
# Messages; modify assistant, thread, message

#: The body keys of ``POST /threads/{thread_id}/messages`` (spec ``CreateMessageRequest``).
CREATE_MESSAGE_KEYS: Final = ("role", "content", "attachments", "metadata")
#: The body keys of ``POST /assistants/{assistant_id}`` (spec ``ModifyAssistantRequest``).
MODIFY_ASSISTANT_KEYS: Final = (
    "model",
    "reasoning_effort",
    "name",
    "description",
    "instructions",
    "tools",
    "tool_resources",
    "metadata",
    "temperature",
    "top_p",
    "response_format",
)
#: The body keys of ``POST /threads/{thread_id}`` (spec ``ModifyThreadRequest``).
MODIFY_THREAD_KEYS: Final = ("tool_resources", "metadata")


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
            status="completed",
            completed_at=now,
            extra=freeze_value(extra, "message"),
        )


def parse_create_message(body: bytes | str | Mapping[str, Any]) -> CreateMessage:
    """Read the body of ``POST /threads/{thread_id}/messages``, or refuse it as the API does.

    The same rules read a thread's ``messages`` and a run's ``additional_messages``:
    ``role`` (``user`` or ``assistant``), ``content`` (text up to
    :data:`MAX_MESSAGE_TEXT` characters, or parts: ``text``, ``image_file``,
    ``image_url``), ``attachments`` (up to :data:`MAX_ATTACHMENTS`, each a ``file_id``
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
    obj = _body(body)
    _keys(obj, frozenset(CREATE_MESSAGE_KEYS), "")
    for key in ("role", "content"):
        _required(obj, key, "")
    fields = _fields(obj, CREATE_MESSAGE_KEYS, _MESSAGE_READERS)
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
class ModifyAssistant:
    """A modify-assistant request (``POST /assistants/{assistant_id}``), as sent.

    Fields are :class:`CreateAssistant`'s, each ``None`` when not given (or null):
    a field not given keeps its value.
    """

    model: str | None = None
    reasoning_effort: str | None = None
    name: str | None = None
    description: str | None = None
    instructions: str | None = None
    tools: tuple[Mapping[str, Any], ...] | None = None
    tool_resources: Mapping[str, Any] | None = None
    metadata: Mapping[str, str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    response_format: Literal["auto"] | Mapping[str, Any] | None = None

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
    fields = _fields(_body(body), MODIFY_ASSISTANT_KEYS, _MODIFY_ASSISTANT_READERS)
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
    readers = {"tool_resources": _tool_resources(new_vector_stores=False), "metadata": _metadata}
    return ModifyThread(**_fields(_body(body), MODIFY_THREAD_KEYS, readers))


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
    return ModifyMessage(**_fields(_body(body), ("metadata",), {"metadata": _metadata}))


# --------------------------------------------------------------------------------------
# Headers and path ids


def _header(value: object, name: str) -> str:
    """A header or path value as text: ``str`` as is, bytes as ASGI gives them (latin-1)."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    raise InvalidArgument.expected(name, "a string or bytes", value)


def check_beta_header(value: str | bytes | None) -> None:
    """Refuse a request without ``OpenAI-Beta: assistants=v2``, as the API does.

    Args:
        value: The ``OpenAI-Beta`` header's value (text, or bytes as raw ASGI headers
            hold it), or ``None`` when absent.

    Raises:
        InvalidRequest: the observed message, code ``invalid_beta``, param null
            (spec-facts §10.2); also for a value without ``assistants=v2`` (inferred).
        InvalidArgument: for a value of another type (a server bug).

    Example:
        >>> check_beta_header("assistants=v2")
        >>> check_beta_header(None)
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: You must provide the 'OpenAI-Beta' header to access \
the Assistants API. Please try again by setting the header 'OpenAI-Beta: assistants=v2'.
    """
    if value is None:
        raise wire.missing_beta_header()
    text = _header(value, "OpenAI-Beta header")
    if "assistants=v2" not in [p.strip() for p in text.split(",")]:
        raise wire.missing_beta_header()


def check_id(param: str, value: str | bytes) -> None:
    """Refuse an id with the wrong prefix: ``Invalid 'thread_id': 'x'. Expected an ID ...``.

    Args:
        param: ``"assistant_id"``, ``"thread_id"``, ``"run_id"``, ``"step_id"`` or
            ``"message_id"``.
        value: The id given (in the path, or the body for ``assistant_id``): text, or
            bytes as raw ASGI paths hold them (read as latin-1).

    Raises:
        InvalidRequest: spec-facts §10.2 (``asst`` and ``thread`` observed; ``run``,
            ``step`` and ``msg`` inferred), code ``invalid_value``, param the
            parameter's name; the id is echoed up to ``MAX_ID_ECHO`` characters.
        InvalidArgument: for another ``param``, or a ``value`` that is neither text nor
            bytes (``None`` included): a server bug, not the client's.

    Example:
        >>> check_id("thread_id", "undefined")
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: Invalid 'thread_id': 'undefined'. Expected an ID \
that begins with 'thread'.
    """
    prefix = ID_PREFIXES.get(param) if type(param) is str else None
    if prefix is None:
        raise InvalidArgument.expected("param", f"one of {list(ID_PREFIXES)}", param)
    text = _header(value, param)
    if not text.startswith(prefix):
        raise wire.invalid_id(param, text, prefix)
