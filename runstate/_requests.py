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
* Client input echoed in a refusal is bounded (see :func:`runstate._engine.templates.echo`).
* Each field's limits and enums (lengths, counts, ranges, patterns, allowed values) are
  rows of the field-rule table, :mod:`runstate._fields`, read by the readers of
  :mod:`runstate._readers`; the assistant, thread and message bodies are in
  :mod:`runstate._assistants`, the JSON front end in :mod:`runstate._engine.requests`.

The values hold exactly what the request said; filling what it left out (the model, the
instructions and the tools come from the assistant) is the server's business:
:meth:`CreateRun.new_run` takes those defaults as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

import attrs

from ._assistants import (
    CreateAssistant,
    CreateMessage,
    CreateThread,
    ModifyAssistant,
    ModifyMessage,
    ModifyThread,
    parse_create_assistant,
    parse_create_message,
    parse_create_thread,
    parse_modify_assistant,
    parse_modify_message,
    parse_modify_thread,
)
from ._engine import templates as wire
from ._engine.requests import (
    boolean,
    choice,
    json_array,
    parse_json_body,
    read_body,
    read_header,
    refuse_unknown,
    required,
)
from ._errors import InvalidArgument, InvalidRequest
from ._fields import RUN_ECHOES
from ._model import Run, Tool, ToolChoiceMode
from ._ops import DEFAULT_EXPIRES_IN, ToolOutput, new_run
from ._ops import read_tool_outputs as _outputs
from ._readers import ID_PREFIXES, RUN_READERS, metadata_field, read_fields

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
    "validate_beta_header",
    "validate_id",
]

#: The one value ``include[]`` takes on create run (spec-facts §1.2).
INCLUDE_FILE_SEARCH_CONTENT: Final = "step_details.tool_calls[*].file_search.results[*].content"

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
            extra=extra,
            expires_in=expires_in,
            **self._echoes(),
        )

    def _echoes(self) -> dict[str, Any]:
        """The echoed parameters (:data:`runstate._fields.RUN_ECHOES`), or their defaults."""
        echoes = {}
        for key, default in RUN_ECHOES.items():
            value = getattr(self, key)
            echoes[key] = default if value is None else value
        return echoes

    def _has_user_message(self, thread_has_user_message: bool) -> bool:
        if thread_has_user_message:
            return True
        messages: list[Any] = list(self.additional_messages or ())
        if self.thread is not None and isinstance(self.thread.get("messages"), list | tuple):
            messages.extend(self.thread["messages"])
        return any(isinstance(m, Mapping) and m.get("role") == "user" for m in messages)


def _create(body: object, order: tuple[str, ...], strict: bool) -> dict[str, Any]:
    if type(strict) is not bool:  # a server's own argument: its bug, not the client's
        raise InvalidArgument.expected("strict_token_minimum", "True or False", strict)
    return read_fields(read_body(body), order, RUN_READERS[strict], required_key="assistant_id")


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
        values.append(choice(value, path, (INCLUDE_FILE_SEARCH_CONTENT,)))
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
    obj = read_body(body)
    refuse_unknown(obj, frozenset({"tool_outputs", "stream"}), "")
    value = required(obj, "tool_outputs", "")
    items = json_array(value, "tool_outputs")  # null: a type error, as for assistant_id
    for i, item in enumerate(items):
        if isinstance(item, Mapping):
            refuse_unknown(item, frozenset({"tool_call_id", "output"}), f"tool_outputs[{i}]")
    outputs = tuple(_outputs(items))  # §10.2 rows on tool_outputs
    stream = obj.get("stream")
    return SubmitToolOutputsRequest(
        tool_outputs=outputs, stream=False if stream is None else boolean(stream, "stream")
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
    obj = read_body(body)
    refuse_unknown(obj, frozenset({"metadata"}), "")
    metadata = obj.get("metadata")
    return ModifyRun(metadata=None if metadata is None else metadata_field(metadata, "metadata"))


# --------------------------------------------------------------------------------------
# Headers and path ids: ``check_*`` answers, ``validate_*`` raises (docs/design.md)


def check_beta_header(value: str | bytes | None) -> InvalidRequest | None:
    """The API's refusal of a request without ``OpenAI-Beta: assistants=v2``, or ``None``.

    Answers without raising; :func:`validate_beta_header` raises the same refusal.

    Args:
        value: The ``OpenAI-Beta`` header's value (text, or bytes as raw ASGI headers
            hold it), or ``None`` when absent.

    Returns:
        ``None`` for a header that names ``assistants=v2``; otherwise the refusal: the
        observed message, code ``invalid_beta``, param null (spec-facts §10.2; also for a
        value without ``assistants=v2``, inferred).

    Raises:
        InvalidArgument: for a value of another type (a server bug: a verdict needs a
            question).

    Example:
        >>> check_beta_header("assistants=v2") is None
        True
        >>> check_beta_header(None).code
        'invalid_beta'
    """
    if value is None:
        return wire.missing_beta_header()
    text = read_header(value, "OpenAI-Beta header")
    if "assistants=v2" not in [p.strip() for p in text.split(",")]:
        return wire.missing_beta_header()
    return None


def validate_beta_header(value: str | bytes | None) -> None:
    """Refuse a request without ``OpenAI-Beta: assistants=v2``, as the API does.

    Raises:
        InvalidRequest: :func:`check_beta_header`'s refusal.
        InvalidArgument: for a value of another type (a server bug).

    Example:
        >>> validate_beta_header("assistants=v2")
        >>> validate_beta_header(None)
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: You must provide the 'OpenAI-Beta' header to access \
the Assistants API. Please try again by setting the header 'OpenAI-Beta: assistants=v2'.
    """
    error = check_beta_header(value)
    if error is not None:
        raise error


def check_id(param: str, value: str | bytes) -> InvalidRequest | None:
    """The API's refusal of an id with the wrong prefix, or ``None``; never raises it.

    :func:`validate_id` raises the same refusal.

    Args:
        param: ``"assistant_id"``, ``"thread_id"``, ``"run_id"``, ``"step_id"`` or
            ``"message_id"``.
        value: The id given (in the path, or the body for ``assistant_id``): text, or
            bytes as raw ASGI paths hold them (read as latin-1).

    Returns:
        ``None`` for an id with the parameter's prefix; otherwise ``Invalid 'thread_id':
        'x'. Expected an ID that begins with 'thread'.`` (spec-facts §10.2: ``asst`` and
        ``thread`` observed; ``run``, ``step`` and ``msg`` inferred), code
        ``invalid_value``, param the parameter's name; the id is echoed up to
        ``MAX_ID_ECHO`` characters.

    Raises:
        InvalidArgument: for another ``param``, or a ``value`` that is neither text nor
            bytes (``None`` included): a server bug, not the client's.

    Example:
        >>> check_id("thread_id", "thread_abc") is None
        True
        >>> check_id("thread_id", "undefined").message
        "Invalid 'thread_id': 'undefined'. Expected an ID that begins with 'thread'."
    """
    prefix = ID_PREFIXES.get(param) if type(param) is str else None
    if prefix is None:
        raise InvalidArgument.expected("param", f"one of {list(ID_PREFIXES)}", param)
    text = read_header(value, param)
    if not text.startswith(prefix):
        return wire.invalid_id(param, text, prefix)
    return None


def validate_id(param: str, value: str | bytes) -> None:
    """Refuse an id with the wrong prefix: ``Invalid 'thread_id': 'x'. Expected an ID ...``.

    Raises:
        InvalidRequest: :func:`check_id`'s refusal, code ``invalid_value``, param the
            parameter's name.
        InvalidArgument: for another ``param``, or a ``value`` that is neither text nor
            bytes (``None`` included): a server bug, not the client's.

    Example:
        >>> validate_id("thread_id", "undefined")
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: Invalid 'thread_id': 'undefined'. Expected an ID \
that begins with 'thread'.
    """
    error = check_id(param, value)
    if error is not None:
        raise error
