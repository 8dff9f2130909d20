"""The readers of the Run's request fields: the nested objects, and each body's fields.

Each reader takes ``(value, path)`` and refuses a bad value with the API's exact 400
(:mod:`runstate._engine.requests`); the limits and enums come from the field-rule table
(:mod:`runstate._fields`), each read by :func:`~runstate._engine.requests.rule_reader`.
The request modules (:mod:`runstate._requests`, :mod:`runstate._assistants`) read whole
bodies with :func:`read_fields`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, get_args

from . import _fields as rules
from ._engine import templates as wire
from ._engine.requests import (
    Reader,
    boolean,
    frozen_json,
    json_object,
    list_of,
    optional_fields,
    refuse_unknown,
    required,
    rule_reader,
    string,
    sub,
)
from ._model import Tool
from ._ops import read_metadata
from ._schema import SCHEMA

__all__ = [
    "ASSISTANT_READERS",
    "MESSAGE_READERS",
    "MODIFY_ASSISTANT_READERS",
    "RUN_READERS",
    "THREAD_READERS",
    "ID_PREFIXES",
    "metadata_field",
    "read_fields",
    "tool_resources",
]

#: Id prefixes the API checks (``asst`` observed with param and code; ``thread`` observed
#: as a message; ``run`` and ``step`` follow the template: inferred). spec-facts §10.2.
ID_PREFIXES: Final[Mapping[str, str]] = {
    "assistant_id": "asst",
    "thread_id": "thread",
    "run_id": "run",
    "step_id": "step",
    "message_id": "msg",  # inferred, as run and step
}
_STRING_OR_OBJECT: Final = "one of a string or an object"  # inferred wording for a oneOf
#: Each tool type's keys: its value class's wire keys (``type`` and its options).
_TOOL_KEYS: Final[Mapping[str, frozenset[str]]] = {
    kind: frozenset(SCHEMA[cls])
    for kind, cls in zip(rules.TOOL_TYPES.values, get_args(Tool), strict=True)
}


def metadata_field(value: object, path: str) -> Mapping[str, str]:
    """``metadata``: the §10.2 rows (:func:`runstate._ops.read_metadata`), kept frozen."""
    return frozen_json(read_metadata(value, path), path)  # type: ignore[no-any-return]


_name: Final = rule_reader(rules.NAME)


def _function(value: object, path: str) -> None:
    optional_fields(
        json_object(value, path),
        path,
        {"name": _name, "description": string, "parameters": json_object, "strict": boolean},
        needed=("name",),
    )


def _ranking(value: object, path: str) -> None:
    optional_fields(
        json_object(value, path),
        path,
        {
            "score_threshold": rule_reader(rules.SCORE_THRESHOLD),
            "ranker": rule_reader(rules.RANKERS),
        },
        needed=("score_threshold",),
    )


def _file_search(value: object, path: str) -> None:
    optional_fields(
        json_object(value, path),
        path,
        {"max_num_results": rule_reader(rules.MAX_NUM_RESULTS), "ranking_options": _ranking},
    )


def _tool(value: object, path: str) -> None:
    obj = json_object(value, path)
    kind = rule_reader(rules.TOOL_TYPES)(required(obj, "type", path), sub(path, "type"))
    refuse_unknown(obj, _TOOL_KEYS[kind], path)
    if kind == "function":
        _function(required(obj, "function", path), sub(path, "function"))
    elif obj.get("file_search") is not None:
        _file_search(obj["file_search"], sub(path, "file_search"))


def _tool_choice(value: object, path: str) -> None:
    if isinstance(value, str):
        rule_reader(rules.TOOL_CHOICE_MODES)(value, path)
        return
    if not isinstance(value, Mapping):
        raise wire.invalid_type(path, _STRING_OR_OBJECT, value)
    rule_reader(rules.TOOL_CHOICE_TYPES)(required(value, "type", path), sub(path, "type"))
    optional_fields(
        value,
        path,
        {
            "type": lambda v, p: None,
            "function": lambda v, p: optional_fields(
                json_object(v, p), p, {"name": _name}, needed=("name",)
            ),
        },
    )


def _json_schema(value: object, path: str) -> None:
    optional_fields(
        json_object(value, path),
        path,
        {"name": _name, "description": string, "schema": json_object, "strict": boolean},
        needed=("name",),
    )


def _response_format(value: object, path: str) -> None:
    if isinstance(value, str):
        rule_reader(rules.RESPONSE_FORMAT_MODES)(value, path)
        return
    if not isinstance(value, Mapping):
        raise wire.invalid_type(path, _STRING_OR_OBJECT, value)
    kind = rule_reader(rules.RESPONSE_FORMAT_TYPES)(
        required(value, "type", path), sub(path, "type")
    )
    if kind == "json_schema":
        refuse_unknown(value, frozenset({"type", "json_schema"}), path)
        _json_schema(required(value, "json_schema", path), sub(path, "json_schema"))
    else:
        refuse_unknown(value, frozenset({"type"}), path)


def _truncation(value: object, path: str) -> None:
    obj = json_object(value, path)
    rule_reader(rules.TRUNCATION_TYPES)(required(obj, "type", path), sub(path, "type"))
    optional_fields(
        obj,
        path,
        {"type": lambda v, p: None, "last_messages": rule_reader(rules.LAST_MESSAGES)},
    )


_message_text: Final = rule_reader(rules.MESSAGE_TEXT)


def _content_part(value: object, path: str) -> None:
    part = json_object(value, path)
    kind = rule_reader(rules.CONTENT_PART_TYPES)(required(part, "type", path), sub(path, "type"))
    if kind == "text":
        refuse_unknown(part, frozenset({"type", "text"}), path)
        _message_text(required(part, "text", path), sub(path, "text"))  # limit inferred
    else:
        refuse_unknown(part, frozenset({"type", kind}), path)
        json_object(required(part, kind, path), sub(path, kind))


def _content(value: object, path: str) -> None:
    if isinstance(value, str):
        _message_text(value, path)
        return
    if not isinstance(value, list | tuple):
        raise wire.invalid_type(path, "one of a string or an array", value)  # inferred
    for i, part in enumerate(value):
        _content_part(part, f"{path}[{i}]")


def _attachment_tool(value: object, path: str) -> None:
    tool = json_object(value, path)
    rule_reader(rules.ATTACHMENT_TOOL_TYPES)(required(tool, "type", path), sub(path, "type"))
    refuse_unknown(tool, frozenset({"type"}), path)


def _attachment(value: object, path: str) -> None:
    optional_fields(
        json_object(value, path),
        path,
        {"file_id": string, "tools": list_of(_attachment_tool)},
        needed=("file_id", "tools"),
    )


def _message(value: object, path: str) -> None:
    obj = json_object(value, path)
    optional_fields(obj, path, MESSAGE_READERS, needed=("role", "content"))


#: The keys of a new message (spec ``CreateMessageRequest``), in its order.
MESSAGE_READERS: Final[Mapping[str, Reader]] = {
    "role": rule_reader(rules.MESSAGE_ROLES),
    "content": _content,
    "attachments": rule_reader(rules.ATTACHMENTS, _attachment),
    "metadata": metadata_field,
}
_messages: Final = list_of(_message)


def _vector_store(value: object, path: str) -> None:
    optional_fields(
        json_object(value, path),
        path,
        {
            "file_ids": rule_reader(rules.VECTOR_STORE_FILES, string),
            "chunking_strategy": json_object,
            "metadata": metadata_field,
        },
    )


def tool_resources(new_vector_stores: bool) -> Reader:
    """``tool_resources``: file ids for the tools.

    Spec ``CreateAssistantRequest`` and ``CreateThreadRequest``; thread-and-run's run
    part, and the modify requests, take no ``vector_stores``.
    """
    file_search: dict[str, Reader] = {
        "vector_store_ids": rule_reader(rules.VECTOR_STORE_IDS, string)
    }
    if new_vector_stores:
        file_search["vector_stores"] = rule_reader(rules.VECTOR_STORES, _vector_store)
    code_interpreter = {"file_ids": rule_reader(rules.CODE_FILES, string)}

    def read(value: object, path: str) -> None:
        optional_fields(
            json_object(value, path),
            path,
            {
                "code_interpreter": lambda v, p: optional_fields(
                    json_object(v, p), p, code_interpreter
                ),
                "file_search": lambda v, p: optional_fields(json_object(v, p), p, file_search),
            },
        )

    return read


#: The keys of a new thread (spec ``CreateThreadRequest``), for ``POST /threads`` and
#: thread-and-run's ``thread``; ``tool_resources`` may create vector stores.
THREAD_READERS: Final[Mapping[str, Reader]] = {
    "messages": _messages,
    "tool_resources": tool_resources(new_vector_stores=True),
    "metadata": metadata_field,
}


def _thread(value: object, path: str) -> None:
    optional_fields(json_object(value, path), path, THREAD_READERS)


def _assistant_id(value: object, path: str) -> str:
    text = string(value, path)  # null: spec-facts §10.2, OBS
    if not text.startswith(ID_PREFIXES["assistant_id"]):
        raise wire.invalid_id(path, text, ID_PREFIXES["assistant_id"])  # §10.2, OBS
    return text


def _echo_reader(key: str) -> Reader:
    """An echoed parameter's reader: by its ``Run`` row (the first the request enforces)."""
    for field, row in rules.RULES_BY_OWNER.get("Run", ()):
        if field == key and row.request and row.severity == "error":
            return rule_reader(row)
    raise ValueError(f"the echoed parameter {key!r} needs a Run row or a reader here")


def _run_readers(strict_token_minimum: bool) -> dict[str, Reader]:
    # The token floor: the spec's minimum when strict (INF text, §10.2; the real API
    # did not enforce it, §8.4), else the positive floor.
    tokens = rule_reader(rules.TOKEN_MINIMUM if strict_token_minimum else rules.TOKEN_LIMIT)
    instructions = rule_reader(rules.RUN_INSTRUCTIONS)
    named: dict[str, Reader] = {
        "assistant_id": _assistant_id,
        "thread": _thread,
        "model": string,
        "reasoning_effort": rule_reader(rules.REASONING_EFFORTS),
        "instructions": instructions,
        "additional_instructions": instructions,
        "additional_messages": _messages,
        "tools": rule_reader(rules.RUN_TOOLS, _tool),
        "tool_resources": tool_resources(new_vector_stores=False),
        "metadata": metadata_field,
        "temperature": rule_reader(rules.TEMPERATURE),
        "top_p": rule_reader(rules.TOP_P),
        "stream": boolean,
        "max_prompt_tokens": tokens,
        "max_completion_tokens": tokens,
        "truncation_strategy": _truncation,
        "tool_choice": _tool_choice,
        "parallel_tool_calls": boolean,
        "response_format": _response_format,
    }
    # Each other echoed parameter (runstate._fields.RUN_ECHOES) is read by its row.
    derived = {key: _echo_reader(key) for key in rules.RUN_ECHOES if key not in named}
    return {**named, **derived}


#: The readers of the run request bodies, by ``strict_token_minimum``.
RUN_READERS: Final = {False: _run_readers(False), True: _run_readers(True)}
#: The readers of an assistant's fields: the run's, with the assistant's own rows.
ASSISTANT_READERS: Final[Mapping[str, Reader]] = {
    **RUN_READERS[False],
    **{key: rule_reader(row) for row in rules.ASSISTANT_TEXT for key in row.keys},
    "tools": rule_reader(rules.ASSISTANT_TOOLS, _tool),
    "tool_resources": tool_resources(new_vector_stores=True),
}
MODIFY_ASSISTANT_READERS: Final[Mapping[str, Reader]] = {
    **ASSISTANT_READERS,
    "tool_resources": tool_resources(new_vector_stores=False),
}

#: Keys kept as frozen JSON rather than plain scalars.
_AS_JSON: Final = frozenset(
    {"tool_resources", "truncation_strategy", "tool_choice", "response_format", "thread"}
)
#: Keys kept as a tuple of frozen JSON values.
_AS_TUPLE: Final = frozenset({"tools", "additional_messages", "messages"})


def read_fields(
    obj: Mapping[str, Any],
    order: Iterable[str],
    readers: Mapping[str, Reader],
    required_key: str | None = None,
) -> dict[str, Any]:
    """Read each key of ``order`` (the spec's order) from a body the front end passed.

    Values are plain JSON (the front end made them so), so scalars are kept as they are.
    """
    refuse_unknown(obj, frozenset(order), "")
    fields: dict[str, Any] = {}
    for key in order:
        if key == required_key:
            value = required(obj, key, "")  # null: a type error (spec-facts §10.2, OBS)
        else:
            value = obj.get(key)
            if value is None:
                continue
        read = readers[key]
        if key in _AS_TUPLE:
            read(value, key)
            fields[key] = tuple(frozen_json(v, f"{key}[{i}]") for i, v in enumerate(value))
        elif key in _AS_JSON:
            read(value, key)
            fields[key] = frozen_json(value, key)
        else:
            result = read(value, key)
            fields[key] = result if key == "metadata" else value
    return fields
