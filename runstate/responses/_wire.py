"""Reading and writing responses as the API's JSON: the run's engine, the response's schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .._engine.dumpcache import cached, keep
from .._engine.errors import InvalidArgument
from .._engine.schema import DUMPERS
from .._engine.serde import make_parser
from ._errors import InvalidResponse
from ._model import Response, ResponseError, ResponseIncompleteDetails

__all__ = ["dump_response", "parse_response"]

#: The typed objects inside a response: the dumper writes their keys in the schema's
#: order, whatever order the text had (the rest it writes back in the text's order).
_NESTED: Final = (
    ("error", DUMPERS[ResponseError]),
    ("incomplete_details", DUMPERS[ResponseIncompleteDetails]),
)


def _keep_text(response: Response, obj: Any, loads: Any, text: str | bytes) -> None:
    """Keep the text a response was read from, where its dump is that text decoded."""
    for name, dump in _NESTED:
        nested = getattr(response, name)
        if nested is not None and list(obj[name]) != list(dump(nested)):
            return  # keys in another order: the dumper's order differs from the text's
    keep(response, loads, text)


_parse: Final = make_parser(Response, "response", InvalidResponse, _keep_text)
_dump: Final = cached(DUMPERS[Response])


def parse_response(data: Mapping[str, Any] | str | bytes | bytearray) -> Response:
    """Read a response from the API's JSON: text, bytes or a decoded mapping.

    Structure only (types, the six statuses, required keys); per-status rules are
    :func:`~runstate.responses.violations`' job. Every key is kept: declared ones in
    their fields, new ones in ``extra``, at any depth, frozen; keys an older object
    lacked are remembered in ``absent``. Text takes the fast path (orjson with the
    ``fast`` extra), exactly as :func:`runstate.parse_run`.

    A response read from ``str`` or ``bytes`` keeps that object (not a copy) for as long
    as it lives, so that :func:`dump_response` can decode it again instead of copying
    the value: memory, the size of the text more per response. Mappings, and values made
    from a response (operations, ``attrs.evolve``, pickling, copies), keep nothing.

    Raises:
        InvalidResponse: listing every problem by field path (also for text that is not
            JSON, or JSON that is not an object).

    Example:
        >>> r = parse_response(b'{"id": "resp_1", "object": "response", "created_at": 1,'
        ...                    b' "status": "cancelled", "model": "m", "output": []}')
        >>> r.status.value, r.absent >= {"usage", "background"}
        ('cancelled', True)
        >>> parse_response('{"id": 1}')
        Traceback (most recent call last):
        ...
        runstate.responses._errors.InvalidResponse: invalid response (6 problems):
          id: expected a string, got 1
          object: missing required key
          created_at: missing required key
          status: missing required key
          model: missing required key
          output: missing required key
    """
    return _parse(data)


def dump_response(response: Response) -> dict[str, Any]:
    """Write a response as the API's JSON object: a fresh ``dict``, keys in the API's order.

    Declared keys in the schema's (the API's) order, then unknown keys; keys the input
    lacked stay left out while they still hold null.

    Every call returns new containers. For a response parsed from text (what a server
    reads from storage, what a client reads from the wire), they are that text decoded
    again, by the decoder that read it, in one C call: 1.5 (standard library) to 2.5
    (orjson) times as fast as copying the value, for the recorded responses. It equals
    what the value would dump to otherwise; where it could not (``error`` or
    ``incomplete_details`` keys in another order than the API's), nothing is kept.
    Other responses are copied field by field.

    Example:
        >>> from runstate.responses import new_response
        >>> list(dump_response(new_response(id="resp_1", model="m", now=1)))[:5]
        ['id', 'object', 'created_at', 'status', 'background']

    Raises:
        InvalidArgument: ``response`` is not a :class:`Response`.
    """
    if type(response) is not Response:
        raise InvalidArgument.expected("response", "a runstate.responses.Response", response)
    return _dump(response)
