"""A value's dump, kept on the value as bytes: every later dump is one C call.

Dumping a value copies everything it keeps into fresh, mutable containers (callers may
change what they get). For a response whose ``output`` holds thousands of objects that
copy is most of the time, and walking the frozen containers again on every dump is
wasted: a value is immutable, so the JSON it dumps to never changes. So a value dumped a
second time has that dump serialized, and the bytes kept in a private slot of the value;
every later dump decodes them, which builds the same fresh containers in one C call. A
first dump only notes that it happened: values dumped once (an operation's result, sent
once) pay nothing and keep no bytes.

The bytes are compact JSON written by orjson when the ``fast`` extra is installed (so a
debugger shows them as text), and :mod:`marshal`'s otherwise or where orjson refuses a
value (integers beyond 64 bits, lone surrogates). Both read back exactly what was
written: the same types, the same float bits, the same key order, and new containers on
every read. :mod:`marshal`'s format is private to the running interpreter, which is all
it is used for here (the bytes are never stored elsewhere).

The slot is not an attrs field: equality, ``repr``, hashing, pickling and copying ignore
it, and values made from a value (the copiers of the lifecycle operations,
``attrs.evolve``, pickling) start without it, so the cache cannot outlive the fields it
was made from. As everywhere in runstate, "immutable" guards against accidents, not
against ``object.__setattr__`` surgery; :func:`forget` drops what was kept.

Threads: the slot is only ever replaced whole. Two threads dumping one value at once may
both serialize it, or one may put the first-dump marker back over what the other kept;
either way every dump is right, and the value keeps its dump again on a later one.
"""

from __future__ import annotations

import contextlib
import marshal
from collections.abc import Callable
from typing import Any, Final, TypeVar

from . import _jsonio

__all__ = ["DumpCache", "cached", "forget"]

_V = TypeVar("_V", bound="DumpCache")

#: (serialize, deserialize) pairs, tried in order; the fast extra's first when installed.
#: Module state so that tests can run the standard library's path alone.
_CODECS: list[tuple[Callable[[Any], bytes], Callable[[bytes], Any]]] = [
    (marshal.dumps, marshal.loads)
]
if _jsonio.FAST_DUMPS is not None and _jsonio.FAST_LOADS is not None:  # pragma: no branch
    _CODECS.insert(0, (_jsonio.FAST_DUMPS, _jsonio.FAST_LOADS))


#: What ``_dumped`` holds after a value's first dump: only that it happened.
ONCE: Final = "dumped once"


class DumpCache:
    """A base class that gives its subclasses' instances the private ``_dumped`` slot.

    ``_dumped`` is unset until the first dump, then :data:`ONCE`, then, from the second
    dump on, ``(loads, data)``: ``loads(data)`` is the dump. Example (``Response`` has
    it):

        >>> from runstate.responses import Response, dump_response, new_response
        >>> issubclass(Response, DumpCache)
        True
        >>> r = new_response(id="resp_1", model="m", now=1)
        >>> hasattr(r, "_dumped"), r._dumped if dump_response(r) else None
        (False, 'dumped once')
        >>> dump_response(r) == dump_response(r), r._dumped[1][:24]
        (True, b'{"id":"resp_1","object":')
    """

    __slots__ = ("_dumped",)
    _dumped: tuple[Callable[[bytes], Any], bytes] | str


def cached(dump: Callable[[_V], dict[str, Any]]) -> Callable[[_V], dict[str, Any]]:
    """``dump``, kept on each value (a :class:`DumpCache`) from its second call on.

    ``dump`` must return a fresh object of JSON types every call; the returned function
    returns one equal to it, fresh too, every call.
    """

    def dump_cached(value: _V) -> dict[str, Any]:
        kept = getattr(value, "_dumped", None)  # not try/except: raising costs a first dump
        if type(kept) is tuple:
            loads, data = kept
            return loads(data)  # type: ignore[no-any-return]
        if kept is None:  # the first dump of this value: noted, nothing kept
            _STORE(value, "_dumped", ONCE)
            return dump(value)
        return _keep(dump, value)  # the second: kept from now on

    dump_cached.__doc__ = f"{dump.__name__}, kept on the value (see runstate._dumpcache)."
    return dump_cached


def _keep(dump: Callable[[_V], dict[str, Any]], value: _V) -> dict[str, Any]:
    result = dump(value)
    for dumps, loads in _CODECS:
        try:
            data = dumps(result)
        except (TypeError, ValueError):  # what this codec cannot write: try the next
            continue
        _STORE(value, "_dumped", (loads, data))
        break
    # Neither codec writes it (a str subclass, only in values built by hand): not kept,
    # and each dump stays a plain one.
    return result


def forget(value: DumpCache) -> None:
    """Drop what ``value`` keeps of its dumps, if anything (the benchmarks use it)."""
    with contextlib.suppress(AttributeError):  # nothing kept
        _DELETE(value, "_dumped")


_STORE: Final = object.__setattr__  # the slot's own store: the value's refuses
_DELETE: Final = object.__delattr__
