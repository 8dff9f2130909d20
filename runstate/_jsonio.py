"""The JSON front end: text in, decoded values out, every failure as :class:`InvalidRun`.

The standard library's C scanner decodes text, called directly (``scan_once``) to skip
``json.loads``' wrappers. ``NaN`` and ``Infinity`` constants are refused (JSON has no
such numbers); numbers that overflow (``1e400``) decode to infinity and are refused by
the schema. When :mod:`orjson` is installed (the ``runstate[fast]`` extra), run text
is decoded by it first (:data:`FAST_LOADS`), with the standard library as the judge of
everything it cannot be trusted with; the accepted set and the results are the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from ._errors import InvalidRun

__all__ = ["FAST_LOADS", "decode", "loads", "scan_once"]


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)
scan_once: Final[Callable[[str, int], tuple[Any, int]]] = _DECODER.scan_once  # type: ignore[attr-defined]
_WHITESPACE: Final = " \t\n\r"


def loads(data: str | bytes | bytearray | memoryview, what: str = "run") -> Any:
    """Decode JSON text; every failure becomes :class:`InvalidRun` at ``$``."""
    try:
        text = str.__str__(data) if isinstance(data, str) else bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRun.one(
            "$", "json", f"not UTF-8 text ({exc.reason} at byte {exc.start})", what=what
        ) from None
    try:
        try:
            # The scanner alone, skipping json.loads' wrappers; falls back for leading space.
            obj, end = scan_once(text, 0)
        except StopIteration:
            obj, end = _DECODER.raw_decode(text, len(text) - len(text.lstrip(_WHITESPACE)))
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
