"""A value read from JSON text keeps that text: its dumps decode it again, in one C call.

Dumping a value copies everything it keeps into fresh, mutable containers (callers may
change what they get). For a response whose ``output`` holds thousands of objects that
copy is most of the time. But a value read from text already has its dump, exactly, in
that text: decoding it again builds the same fresh containers in one C call. So a value
parsed from ``str`` or ``bytes`` keeps the text, and the decoder that read it, in a
private slot, at parse time (no serialization: the text is the caller's own object), and
its dumps are ``loads(text)``. That is what a server that reads stored responses and
answers with them, or a client that reads them from the wire, does. Values parsed from a
mapping, and values made by operations, keep nothing and dump by the generated dumper.

The text is kept only where decoding it gives exactly what the dumper would: the same
decoder that read it (so orjson's reading where orjson's was accepted, the standard
library's otherwise: integers beyond 64 bits, lone surrogates), and only when the value
does not normalise what it read (the caller says so, see :func:`keep`).

The slot is not an attrs field: equality, ``repr``, hashing, pickling and copying ignore
it, and values made from a value (the copiers of the lifecycle operations,
``attrs.evolve``, pickling, ``copy``) start without it, so the text cannot outlive the
fields it was read into. As everywhere in runstate, "immutable" guards against
accidents, not against ``object.__setattr__`` surgery. The slot is written once, while
the value is being made, and only read after: threads need nothing more.

Memory: a value that keeps its text holds it (as long as the value lives).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

__all__ = ["KeepsSource", "cached", "keep"]

_V = TypeVar("_V", bound="KeepsSource")


class KeepsSource:
    """A base class that gives its subclasses' instances the private ``_source`` slot.

    ``_source`` is unset, or ``(loads, text)``: ``loads(text)`` is the value's dump.
    Example (``Response`` has it):

        >>> from runstate.responses import Response, new_response, parse_response
        >>> issubclass(Response, KeepsSource)
        True
        >>> text = b'{"id":"resp_1","object":"response","created_at":1,"status":"queued",'
        >>> text += b'"model":"m","output":[]}'
        >>> parse_response(text)._source[1] is text
        True
        >>> hasattr(new_response(id="resp_1", model="m", now=1), "_source")
        False
    """

    __slots__ = ("_source",)
    _source: tuple[Callable[[Any], Any], str | bytes]


def keep(value: KeepsSource, loads: Callable[[Any], Any], text: str | bytes) -> None:
    """Keep ``text`` on ``value``: its dumps are ``loads(text)`` from now on.

    Only for a value just read from ``text`` by ``loads``, whose dump equals
    ``loads(text)`` exactly (key order and types included).
    """
    _STORE(value, "_source", (loads, text))


def cached(dump: Callable[[_V], dict[str, Any]]) -> Callable[[_V], dict[str, Any]]:
    """``dump``, or ``loads(text)`` for a value that keeps its text (see :func:`keep`).

    ``dump`` must return a fresh object of JSON types every call; so does the returned
    function.
    """

    def dump_kept(value: _V) -> dict[str, Any]:
        kept = getattr(value, "_source", None)  # not try/except: raising costs every miss
        if kept is not None:
            try:
                return kept[0](kept[1])  # type: ignore[no-any-return]
            except Exception:  # the interpreter's integer limit lowered since the parse
                pass  # (sys.set_int_max_str_digits): the dumper writes what the value holds
        return dump(value)

    dump_kept.__doc__ = f"{dump.__name__}, or the value's kept text decoded (runstate._dumpcache)."
    return dump_kept


_STORE: Final = object.__setattr__  # the slot's own store: the value's refuses
