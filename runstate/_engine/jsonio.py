r"""The JSON front end: text in, decoded values out, every failure as :class:`InvalidRun`.

The standard library's C scanner decodes text, called directly (``scan_once``) to skip
``json.loads``' wrappers. ``NaN`` and ``Infinity`` constants are refused (JSON has no
such numbers); numbers that overflow (``1e400``) decode to infinity and are refused by
the schema. When :mod:`orjson` is installed (the ``runstate[fast]`` extra), run text
is decoded by it first (:data:`FAST_LOADS`), with the standard library as the judge of
everything it cannot be trusted with; the accepted set and the results are the same.

Output goes through :func:`dumps`: compact JSON, non-ASCII kept as UTF-8 text, and a lone
surrogate (a code point U+D800..U+DFFF, which has no UTF-8 form) written as the
``\uXXXX`` escape JSON text would carry it as, so the text always encodes as UTF-8 and
reads back to the same ``str``. Two surrogate code points that form a pair are written as
two escapes, which a JSON reader merges into one character: a ``str`` holding such a pair
as two code points cannot survive JSON text (requests holding one are refused, see
:mod:`runstate._requests`).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any, Final

from .errors import InvalidRun

__all__ = [
    "FAST_DUMPS",
    "FAST_LOADS",
    "decode",
    "dumps",
    "escape_surrogates",
    "has_surrogate",
    "loads",
    "scan_once",
]


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)

#: Integers in JSON text have at most this many digits, whatever the interpreter's own
#: limit (``sys.set_int_max_str_digits``): Python's default, so text and mapping input
#: accept the same set (see :data:`runstate._engine.jsonvalue.MAX_INT_DIGITS`).
MAX_INT_DIGITS: Final = 4300
_get_int_limit: Final = getattr(sys, "get_int_max_str_digits", None)


def _int_limit_is_ours() -> bool:
    """Whether the interpreter refuses longer integers itself (the default, 4300)."""
    return _get_int_limit is not None and 0 < _get_int_limit() <= MAX_INT_DIGITS


def _bounded_int(text: str) -> int:
    digits = len(text) - (text[0] == "-")
    if digits > MAX_INT_DIGITS:
        raise ValueError(
            f"Exceeds the limit ({MAX_INT_DIGITS} digits) for integer string conversion: "
            f"value has {digits} digits"
        )
    return int(text)


#: The decoder used when the interpreter's limit was raised or removed.
_BOUNDED: Final = json.JSONDecoder(parse_constant=_reject_constant, parse_int=_bounded_int)
scan_once: Final[Callable[[str, int], tuple[Any, int]]] = _DECODER.scan_once  # type: ignore[attr-defined]
_WHITESPACE: Final = " \t\n\r"


def loads(data: str | bytes | bytearray | memoryview, what: str = "run") -> Any:
    """Decode JSON text; every failure becomes :class:`InvalidRun` at ``$``."""
    try:
        # The value of a str or bytes subclass, never its __str__ or __bytes__.
        text = str.__str__(data) if isinstance(data, str) else memoryview(data).tobytes().decode()
    except UnicodeDecodeError as exc:
        raise InvalidRun.one(
            "$", "json", f"not UTF-8 text ({exc.reason} at byte {exc.start})", what=what
        ) from None
    decoder = _DECODER if _int_limit_is_ours() else _BOUNDED
    try:
        try:
            # The scanner alone, skipping json.loads' wrappers; falls back for leading space.
            obj, end = decoder.scan_once(text, 0)  # type: ignore[attr-defined]
        except StopIteration:
            obj, end = decoder.raw_decode(text, len(text) - len(text.lstrip(_WHITESPACE)))
        if end != len(text) and text[end:].strip(_WHITESPACE):
            raise json.JSONDecodeError("Extra data", text, end)
    except json.JSONDecodeError as exc:
        raise InvalidRun.one(
            "$",
            "json",
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            what=what,
        ) from None
    except ValueError as exc:  # a rejected NaN/Infinity constant
        raise InvalidRun.one("$", "json", f"not valid JSON: {exc}", what=what) from None
    except RecursionError:
        raise InvalidRun.one("$", "json", "nested too deeply", what=what) from None
    return obj


def _decode_stdlib(data: str | bytes) -> Any:
    """Compact JSON that ends where the text ends, by the scanner alone; else :func:`loads`.

    Anything else (bad UTF-8 or JSON, surrounding whitespace, trailing data) goes through
    :func:`loads`, which accepts or refuses it, outside this handler so that no decoder
    exception is chained to the error.
    """
    try:
        text: str = data.decode() if type(data) is bytes else data  # type: ignore[assignment]
        # Inline _int_limit_is_ours(): this is the hot path.
        if _get_int_limit is None or not 0 < _get_int_limit() <= MAX_INT_DIGITS:
            return loads(data)
        obj, end = scan_once(text, 0)
        if end == len(text) or not text[end:].strip(_WHITESPACE):  # at most a "\n" more
            return obj
    except Exception:
        pass
    return loads(data)


#: Decode ``str`` or ``bytes`` JSON text with the standard library.
decode: Final[Callable[[str | bytes], Any]] = _decode_stdlib

_orjson_loads: Callable[[str | bytes], Any] | None
try:  # the optional ``runstate[fast]`` extra
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - depends on the installation
    _orjson_loads = None

#: orjson's ``loads`` when the ``fast`` extra is installed, else ``None``. Its results
#: are used only where they are sure to equal the standard library's (see
#: :func:`runstate._serde.parse_run`): it refuses lone surrogates, ``1e400`` and nesting
#: past 1024 levels, which the standard library path then judges; and it reads integers
#: beyond 64 bits as floats, which the generated code for its output refuses.
FAST_LOADS: Final[Callable[[str | bytes], Any] | None] = _orjson_loads


_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a surrogate code point (U+D800..U+DFFF)."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def escape_surrogates(text: str) -> str:
    r"""``text`` with each surrogate code point written as its JSON escape, the rest as is.

    Example:
        >>> print(escape_surrogates("a\ud800b\u00e9"))
        a\ud800bé
    """
    if text.isascii():
        return text
    return _SURROGATE.sub(_escape, text)


def dumps(value: Any) -> str:
    """Compact JSON text whose ``.encode("utf-8")`` always works (see the module's notes).

    Inside JSON text a surrogate can only sit in a string (a key or a value), where its
    escape reads back as the same code point; every other character keeps its bytes.
    """
    return escape_surrogates(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


_orjson_dumps: Callable[[Any], bytes] | None
try:  # the optional ``runstate[fast]`` extra
    from orjson import dumps as _orjson_dumps
except ImportError:  # pragma: no cover - depends on the installation
    _orjson_dumps = None

#: orjson's ``dumps`` when the ``fast`` extra is installed, else ``None``: with
#: :data:`FAST_LOADS`, a C round trip that copies kept JSON (see ``_schema.thaw_json``).
FAST_DUMPS: Final[Callable[[Any], bytes] | None] = _orjson_dumps
