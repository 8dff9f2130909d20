"""Reading ``POST /responses`` bodies and ``GET /responses/{id}`` queries (spec-facts §12.3).

Only what the lifecycle depends on is judged: ``background``, ``store`` and ``stream``
(their types, with the run's request templates, §10.1, and their one forbidden
combination), and the retrieve query's ``stream`` and ``starting_after``. Every other
create parameter is kept, frozen, for :func:`~runstate.responses.new_response`'s caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

import attrs

from .._engine import templates as wire
from .._engine.errors import MAX_ECHO, InvalidArgument
from .._engine.frozen import FrozenDict
from .._engine.requests import boolean as _boolean
from .._engine.requests import frozen_json as _json
from .._engine.requests import integer as _integer
from .._engine.requests import json_array as _array
from .._engine.requests import json_object as _object
from .._engine.requests import query_int
from .._engine.requests import read_body as _body
from .._engine.requests import string as _string
from .._ops import check_now
from ._errors import NOT_STREAMABLE, STREAM_EXPIRED, InvalidResponseRequest
from ._machine import background_without_store, new_response
from ._model import Response

__all__ = ["CreateResponse", "RetrieveQuery", "parse_create_response", "parse_retrieve_query"]

#: A ``starting_after`` of more than 60 digits counts as this (see parse_retrieve_query).
_HUGE: Final = 10**MAX_ECHO

#: Stream replay is refused once a response is older than this (§12.3, 3P: openai-python
#: #2828 quotes "more than 5 minutes old"; AZ promises at least 10 minutes for events).
REPLAY_WINDOW: Final = 5 * 60


def _instructions(value: object, path: str) -> None:
    if not isinstance(value, str):
        _array(value, path)  # a string, or a list of input items


_ECHOED: Final[dict[str, Callable[[object, str], object]]] = {
    "instructions": _instructions,
    "max_output_tokens": _integer,
    "metadata": _object,
    "tools": _array,
    "previous_response_id": _string,
}


def _check_flag(_: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if type(value) is not bool:
        raise InvalidArgument.expected(attribute.name, "true or false", value)


def _check_model(_: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidArgument.expected("model", "a string or None", value)


def _check_params(_: object, attribute: attrs.Attribute[Mapping[str, Any]], value: object) -> None:
    if not isinstance(value, Mapping):
        raise InvalidArgument.expected("params", "a mapping", value)


def _check_after(_: object, attribute: attrs.Attribute[int | None], value: object) -> None:
    if value is not None and (type(value) is not int or value < 0):
        raise InvalidArgument.expected("starting_after", "None or an int >= 0", value)


@attrs.frozen(kw_only=True)
class CreateResponse:
    """A ``POST /responses`` body, as far as the lifecycle reads it.

    Attributes:
        model: The ``model``, or ``None`` (a stored prompt may name it).
        background: ``background`` (default ``false``).
        store: ``store`` (default ``true``).
        stream: ``stream`` (default ``false``).
        params: Every other key, frozen, as given.

    Raises:
        InvalidArgument: built by hand with a field of the wrong type.
    """

    model: str | None = attrs.field(validator=_check_model)
    background: bool = attrs.field(validator=_check_flag)
    store: bool = attrs.field(validator=_check_flag)
    stream: bool = attrs.field(validator=_check_flag)
    params: Mapping[str, Any] = attrs.field(validator=_check_params)

    @property
    def replayable(self) -> bool:
        """Whether ``GET ...?stream=true`` may replay its events later (§12.4, AZ)."""
        return self.background and self.stream

    def new_response(self, *, id: str, now: int, model: str | None = None) -> Response:
        """The response this request creates: ``queued`` if background, else ``in_progress``.

        The echoed parameters (``instructions``, ``max_output_tokens``, ``metadata``,
        ``tools``, ``previous_response_id``) come from the body; ``model`` names the
        resolved model when given (the API answers with a dated one), else the body's.

        Raises:
            InvalidArgument: no model in the body nor given.

        Example:
            >>> req = parse_create_response({"model": "gpt-4.1-mini", "background": True,
            ...                              "max_output_tokens": 20, "input": "hi"})
            >>> r = req.new_response(id="resp_1", now=100)
            >>> r.status.value, r.model, r.max_output_tokens
            ('queued', 'gpt-4.1-mini', 20)
        """
        chosen = model if model is not None else self.model
        if chosen is None:
            raise InvalidArgument("model", "the request names no model; pass model=")
        p = self.params
        return new_response(
            id=id,
            model=chosen,
            now=now,
            background=self.background,
            store=self.store,
            instructions=p.get("instructions"),
            max_output_tokens=p.get("max_output_tokens"),
            metadata=p.get("metadata"),
            tools=p.get("tools") or (),  # null: none
            previous_response_id=p.get("previous_response_id"),
        )


def parse_create_response(body: object) -> CreateResponse:
    """Read a ``POST /responses`` body: the ``store`` x ``background`` x ``stream`` matrix.

    Of the eight combinations only ``background: true`` with ``store: false`` is refused
    (400, param ``background``, code ``unsupported_parameter``; §12.3, AZ, text not
    recorded). With ``stream`` or without, the other seven are accepted.

    Args:
        body: JSON text, bytes or a mapping.

    Raises:
        InvalidRequest: the body is not a JSON object, or a flag is not a boolean
            (``Invalid type for 'stream': expected a boolean, but got ...``, §10.1).
        InvalidResponseRequest: ``background`` without ``store``.

    Example:
        >>> req = parse_create_response('{"model": "m", "background": true, "stream": true}')
        >>> req.background, req.store, req.stream, req.replayable
        (True, True, True, True)
        >>> try:
        ...     parse_create_response({"background": True, "store": False})
        ... except InvalidResponseRequest as exc:
        ...     print(exc.http_status, exc.param, exc.code)
        400 background unsupported_parameter
    """
    obj = _body(body)
    flags = {}
    for key, default in (("background", False), ("store", True), ("stream", False)):
        value = obj.get(key)
        flags[key] = default if value is None else _boolean(value, key)
    model = obj.get("model")
    if model is not None:
        model = _string(model, "model")
    if flags["background"] and not flags["store"]:
        raise background_without_store()
    # The echoed parameters new_response copies, typed by the §10.1 templates (inferred
    # for this endpoint); everything else is kept as given.
    for key, check in _ECHOED.items():
        if obj.get(key) is not None:
            check(obj[key], key)
    rest = {k: v for k, v in obj.items() if k not in ("model", "background", "store", "stream")}
    return CreateResponse(
        model=model,
        background=flags["background"],
        store=flags["store"],
        stream=flags["stream"],
        params=_json(rest, "body") if rest else FrozenDict(),
    )


@attrs.frozen(kw_only=True)
class RetrieveQuery:
    """A ``GET /responses/{id}`` query: ``stream`` and ``starting_after``.

    Attributes:
        stream: ``stream=true`` asks for the events again (§12.4).
        starting_after: Replay the events after this ``sequence_number``, or all.

    Raises:
        InvalidArgument: built by hand with a field of the wrong type or below 0.
    """

    stream: bool = attrs.field(default=False, validator=_check_flag)
    starting_after: int | None = attrs.field(default=None, validator=_check_after)

    def check(self, response: Response, *, now: int, created_with_stream: bool = True) -> None:
        """Refuse the replay the API refuses for ``response`` at ``now``; no-op without ``stream``.

        Raises:
            InvalidResponseRequest: the response was not created with ``background: true``
                (and ``stream: true``, AZ), param ``stream``; or it is more than 5
                minutes old (3P).

        Example:
            >>> from runstate.responses import new_response
            >>> q = parse_retrieve_query("stream=true&starting_after=1")
            >>> q.check(new_response(id="resp_1", model="m", now=0, background=True), now=10)
            >>> try:
            ...     q.check(new_response(id="resp_2", model="m", now=0), now=10)
            ... except InvalidResponseRequest as exc:
            ...     print(exc.reason, exc.param, exc.http_status)
            not-streamable stream 400
        """
        if not self.stream:
            return
        check_now(now)
        if type(response) is not Response:
            raise InvalidArgument.expected("response", "a runstate.responses.Response", response)
        if type(created_with_stream) is not bool:
            raise InvalidArgument.expected(
                "created_with_stream", "true or false", created_with_stream
            )
        if response.background is not True or not created_with_stream:
            raise InvalidResponseRequest(NOT_STREAMABLE, param="stream", reason="not-streamable")
        if now - response.created_at > REPLAY_WINDOW:
            raise InvalidResponseRequest(STREAM_EXPIRED, param="stream", reason="stream-expired")


def _flag(value: object) -> bool:
    # ``1 == True``: compare by type, so 1 and 1.0 are no flags (a str subclass is its value)
    text = str.__str__(value) if isinstance(value, str) else value
    if text == "true" or value is True:
        return True
    if text == "false" or value is False:
        return False
    if not isinstance(text, str):  # a typed mapping's value: the type template (§10.1)
        raise wire.invalid_type("stream", "a boolean", value)
    raise wire.invalid_value("stream", text, ("true", "false"))  # inferred wording


def parse_retrieve_query(query: Mapping[str, Any] | str) -> RetrieveQuery:
    """Read a retrieve query (a query string or a mapping): ``stream``, ``starting_after``.

    Raises:
        InvalidRequest: ``stream`` is not ``true``/``false``, or ``starting_after`` is not
            an integer >= 0 (the §10.1 templates; inferred for this endpoint).

    Example:
        >>> parse_retrieve_query("stream=true&starting_after=1")
        RetrieveQuery(stream=True, starting_after=1)
    """
    if isinstance(query, str):
        pairs: Mapping[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    elif isinstance(query, Mapping):
        pairs = query
    else:
        raise InvalidArgument.expected("query", "a query string or a mapping", query)
    try:
        flag, after = pairs.get("stream"), pairs.get("starting_after")
    except Exception as exc:  # a broken mapping: no URL gives one
        message = f"the mapping could not be read ({type(exc).__name__})"
        raise InvalidArgument("query", message) from None
    stream = False if flag is None else _flag(flag)
    if after is None:
        return RetrieveQuery(stream=stream)
    # Integer text read exactly, whatever its length, sign or leading zeros (the list
    # query's rule); a value of more than 60 digits counts as 10**60, on the same side of
    # every bound and of every sequence number.
    number = query_int(str.__str__(after)) if isinstance(after, str) else None
    if number is None:
        if type(after) is not int:
            raise wire.invalid_type("starting_after", "an integer", after)
        number = min(after, _HUGE)  # shown bounded, like the text's
    if number < 0:
        raise wire.below_minimum("starting_after", 0, number, integer=True)
    return RetrieveQuery(stream=stream, starting_after=number)
