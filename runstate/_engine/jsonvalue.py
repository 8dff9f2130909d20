"""The JSON value rules: normalising, freezing, scanning and thawing kept JSON.

Generic: nothing here knows about runs. Kept JSON (unknown keys at every level, and
keys a schema declares as JSON) is frozen (:mod:`runstate._engine.frozen`), finite and
at most :data:`MAX_JSON_DEPTH` levels deep; integers have at most
:data:`MAX_INT_DIGITS` digits, on every path. The schema engine
(:mod:`runstate._engine.schema`) and the generated code
(:mod:`runstate._engine.codegen`) apply these rules.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Final

from . import jsonio
from .errors import FieldError, InvalidRun, shorten
from .frozen import EMPTY, EMPTY_LIST, FrozenDict, FrozenList

__all__ = [
    "FROZEN_TYPES",
    "GUARDED_FLOAT_LIMIT",
    "INFINITIES",
    "MAX_INT_DIGITS",
    "MAX_JSON_DEPTH",
    "MAX_JSON_ITEMS",
    "Bad",
    "freeze",
    "freeze_guarded",
    "freeze_value",
    "frozen_ok",
    "int_ok",
    "json_problem",
    "scan",
    "scan_guarded",
    "show",
    "thaw",
    "thaw_json",
    "to_json_value",
]


class Bad(Exception):
    """Raised by generated code at the first problem; never escapes runstate."""


_Bad = Bad

MAX_INT_DIGITS: Final = jsonio.MAX_INT_DIGITS
_INT_BOUND: Final[int] = 10**MAX_INT_DIGITS


def int_ok(value: int) -> bool:
    """Whether an integer has at most :data:`MAX_INT_DIGITS` digits."""
    return -_INT_BOUND < value < _INT_BOUND


def show(value: object) -> str:
    """A value as it appears in a message: JSON, shortened; containers by their kind."""
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, str):
        return shorten(json.dumps(shorten(str.__str__(value))))
    if type(value) is int and not int_ok(value):
        return f"an integer of more than {MAX_INT_DIGITS} digits"
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return f"a {type(value).__name__}"
    return shorten(text)


def thaw(value: Any) -> Any:
    """A kept JSON value as fresh, plain JSON (dicts and lists; scalars are immutable)."""
    t = type(value)
    if t is FrozenDict or t is dict:
        return {k: thaw(v) for k, v in value.items()}
    if t is FrozenList or t is list:
        return [thaw(v) for v in value]
    return value


def thaw_json(value: Any) -> Any:
    """:func:`thaw`, by a C round trip through orjson when the ``fast`` extra is installed.

    Exact for frozen JSON: orjson writes floats in their shortest form (read back equal)
    and keeps key order; whatever it refuses (integers beyond 64 bits, lone surrogates)
    is thawed in Python. About three times faster on large kept values (a response's
    ``output``), so the Responses dumper uses it.
    """
    t = type(value)
    if t is not FrozenDict and t is not FrozenList:
        return value
    if value and _FAST_DUMPS is not None and _FAST_LOADS is not None:
        try:
            return _FAST_LOADS(_FAST_DUMPS(value))
        except Exception:  # refused by orjson: the Python walk below decides
            pass
    return thaw(value)


_FAST_DUMPS: Final = jsonio.FAST_DUMPS
FROZEN_TYPES: Final = (FrozenDict, FrozenList)
_FAST_LOADS: Final = jsonio.FAST_LOADS


#: Kept JSON values (unknown fields, ``parameters``, ``schema``) may nest this deep.
#: Values must stay comparable, printable and writable as JSON, all of which recurse.
MAX_JSON_DEPTH: Final = 200
INFINITIES: Final = (math.inf, -math.inf)


def _freezer(limit: float) -> Callable[[Any, int], Any]:
    """A freeze function refusing floats at or beyond ``limit`` in magnitude.

    With ``limit`` infinite it refuses infinity only (the rule for every input); the
    generated code for orjson's output uses ``2**63``: orjson reads an integer beyond 64
    bits as a float, so such a float sends the input back to the standard library.
    """

    def freeze(value: Any, depth: int) -> Any:
        """A decoded JSON container (at ``depth``; 0 = the kept value), frozen, or ``Bad``.

        Sound: containers nest at most :data:`MAX_JSON_DEPTH` levels and every number is
        finite (text like ``1e400`` decodes to infinity, which JSON cannot write back).
        Empty containers become the shared :data:`~runstate._engine.frozen.EMPTY` and
        :data:`~runstate._engine.frozen.EMPTY_LIST`.
        """
        if depth >= MAX_JSON_DEPTH:
            raise _Bad
        if type(value) is dict:
            if not value:
                return EMPTY
            for x in value.values():  # flat objects of scalars, the usual case: one C copy
                t = type(x)
                if t is dict or t is list or (t is float and not -limit < x < limit):
                    break
            else:
                return FrozenDict(value)
            out = {}
            for k, x in value.items():
                t = type(x)
                if t is dict or t is list:
                    out[k] = freeze(x, depth + 1)
                    continue
                if t is float and not -limit < x < limit:
                    raise _Bad
                out[k] = x
            return FrozenDict(out)
        if not value:
            return EMPTY_LIST
        items = []
        for x in value:  # a loop, not a comprehension: one frame per level
            t = type(x)
            if t is dict or t is list:
                items.append(freeze(x, depth + 1))
                continue
            if t is float and not -limit < x < limit:
                raise _Bad
            items.append(x)
        return FrozenList(items)

    return freeze


freeze: Final = _freezer(math.inf)
#: For orjson's output (see :func:`_freezer`).
GUARDED_FLOAT_LIMIT: Final = 2.0**63
freeze_guarded: Final = _freezer(GUARDED_FLOAT_LIMIT)


def _scanner(limit: float) -> Callable[[Any, int], Any]:
    """A check of decoded JSON that refuses exactly what ``_freezer(limit)`` refuses.

    It visits the same containers and numbers (every container is entered, its depth
    checked first; every float is compared with ``limit``) but builds nothing, and
    returns the value itself. For checking code (:func:`runstate._engine.codegen.generate`
    with ``check_only``) that only needs to know whether a parse would succeed.
    """

    def scan(value: Any, depth: int) -> Any:
        if depth >= MAX_JSON_DEPTH:
            raise _Bad
        for x in value.values() if type(value) is dict else value:
            t = type(x)
            if t is dict or t is list:
                scan(x, depth + 1)
            elif t is float and not -limit < x < limit:
                raise _Bad
        return value

    return scan


scan: Final = _scanner(math.inf)
scan_guarded: Final = _scanner(GUARDED_FLOAT_LIMIT)


def frozen_ok(value: Any, depth: int) -> bool:
    """Whether a hand-built kept value is frozen JSON within the depth rule."""
    if depth >= MAX_JSON_DEPTH:
        return False
    for x in value.values() if type(value) is FrozenDict else value:
        t = type(x)
        if t is FrozenDict or t is FrozenList:
            if not frozen_ok(x, depth + 1):
                return False
        elif t is float:
            if not math.isfinite(x):
                return False
        elif not (x is None or t is str or t is int or t is bool):
            return False
    return True


def freeze_value(value: Any, path: str = "$") -> Any:
    """A JSON value given by hand, normalised (:func:`to_json_value`) and frozen.

    Raises:
        InvalidRun: naming the path of the first problem.
    """
    plain = to_json_value(value, path)
    if type(plain) is not dict and type(plain) is not list:
        return plain
    try:
        return freeze(plain, 0)
    except _Bad:
        found = json_problem(plain, "" if path == "$" else path, 0)
        assert found is not None
        raise InvalidRun([found], what="value") from None


def json_problem(value: Any, path: str, depth: int, root: str = "") -> FieldError | None:
    """The first way a kept JSON container breaks :func:`_json_ok`'s rule, with its path.

    A value nested too deeply is reported at the kept value (``root``), not 200 levels in.
    """
    root = root or path or "$"
    if depth >= MAX_JSON_DEPTH:
        return FieldError(root, "json", f"nested deeper than {MAX_JSON_DEPTH} levels")
    is_list = type(value) is list
    for key, x in enumerate(value) if is_list else value.items():
        sub: str = f"{path}[{key}]" if is_list else (f"{path}.{key}" if path else str(key))
        t = type(x)
        if t is dict or t is list:
            found = json_problem(x, sub, depth + 1, root if depth >= 0 else sub)
            if found is not None:
                return found
        elif t is float and x in INFINITIES:
            return FieldError(sub, "json", "number out of range: it overflows to infinity")
    return None


def to_json_value(value: Any, path: str = "$") -> Any:
    """Copy a Python value into plain JSON types, or raise :class:`InvalidRun`.

    Mappings become dicts, lists and tuples become lists; keys must be strings, numbers
    finite, integers at most :data:`MAX_INT_DIGITS` digits long, and nothing else but
    ``str``, ``int``, ``float``, ``bool`` and ``None`` is accepted. A ``str`` subclass
    (a ``StrEnum`` member, say) counts as its string value, never its ``__str__``. This is
    the one normalisation step for inputs that did not come from text, so text and
    mapping input accept the same set. A mapping that fails while being read (its
    ``items()`` or a key's ``__hash__`` raises) is refused at its path, and so is one
    that yields more than :data:`MAX_JSON_ITEMS` items in all. Kept values nested deeper
    than :data:`MAX_JSON_DEPTH` are refused afterwards, by the same check as for text;
    input too deep to even copy is refused here.
    """
    budget = [MAX_JSON_ITEMS]
    try:
        return _to_json(value, path, 0, budget)
    except RecursionError:  # pragma: no cover - _NORMALISE_DEPTH stops well before
        raise InvalidRun.one(path, "json", "nested too deeply") from None


#: Kept values sit at most a few levels below the root (``tools[i].function.parameters``
#: is the deepest), so nothing deeper than this from the root can be valid.
_NORMALISE_DEPTH: Final = MAX_JSON_DEPTH + 10

#: The most items (keys and array entries, at every level) one mapping input may hold:
#: a real run holds a few hundred, the largest generated ones a few thousand; the bound
#: stops a mapping whose iteration never ends in well under a second.
MAX_JSON_ITEMS: Final = 1024 * 1024


def _render(where: Any) -> str:
    """A path kept as nested ``(parent, key)`` pairs (cheap to make), as text."""
    parts: list[Any] = []
    while type(where) is tuple:
        where, key = where
        parts.append(key)
    path = where
    for key in reversed(parts):
        if type(key) is int:
            path = f"{path}[{key}]"
        else:
            name = shorten(key)
            path = f"{path}.{name}" if path != "$" else name
    return path  # type: ignore[no-any-return]


def _to_json(value: Any, where: Any, depth: int, budget: list[int]) -> Any:
    """One value of :func:`to_json_value`; ``where`` is its path (see :func:`_render`).

    Scalars inside containers are handled inline, without a call each: most of an
    object's values are scalars.
    """
    if depth > _NORMALISE_DEPTH:
        raise InvalidRun.one(_render(where), "json", f"nested deeper than {MAX_JSON_DEPTH} levels")
    t = type(value)
    if value is None or t is str or t is bool:
        return value
    if t is int or t is float:
        return _scalar(value, where)
    if isinstance(value, str):  # a str subclass: its value, never its __str__
        return str.__str__(value)
    if isinstance(value, Mapping):
        out = {}
        try:
            items = value.items()
            if budget[0] < len(value):  # a __len__ that raises is a broken mapping too
                raise InvalidRun.one(_render(where), "json", f"more than {MAX_JSON_ITEMS} items")
            for key, v in items:
                budget[0] -= 1
                if budget[0] < 0:
                    raise InvalidRun.one(
                        _render(where), "json", f"more than {MAX_JSON_ITEMS} items"
                    )
                k = key if type(key) is str else _key(key, where)
                t = type(v)
                if v is None or t is str or t is bool:
                    out[k] = v
                elif t is int or t is float:
                    out[k] = _scalar(v, (where, k))
                else:
                    out[k] = _to_json(v, (where, k), depth + 1, budget)
        except InvalidRun:
            raise
        except Exception as exc:  # a broken mapping: its items() or a key's hash raised
            raise InvalidRun.one(
                _render(where), "json", f"the mapping could not be read ({type(exc).__name__})"
            ) from None
        return out
    if isinstance(value, list | tuple):
        out_list = []
        for i, v in enumerate(value):  # a loop, not a comprehension: one frame per level
            budget[0] -= 1
            if budget[0] < 0:
                raise InvalidRun.one(_render(where), "json", f"more than {MAX_JSON_ITEMS} items")
            t = type(v)
            if v is None or t is str or t is bool:
                out_list.append(v)
            elif t is int or t is float:
                out_list.append(_scalar(v, (where, i)))
            else:
                out_list.append(_to_json(v, (where, i), depth + 1, budget))
        return out_list
    raise InvalidRun.one(
        _render(where), "json", f"expected a JSON value, got a {type(value).__name__}"
    )


def _key(key: object, where: Any) -> str:
    """A key that is not exactly a ``str``: a subclass's value, else refused."""
    if not isinstance(key, str):
        message = f"object keys must be strings, got {show(key)}"
        raise InvalidRun.one(_render(where), "json", message)
    return str.__str__(key)


def _scalar(value: int | float, where: Any) -> int | float:
    """An int (at most :data:`MAX_INT_DIGITS` digits) or a finite float, else refused."""
    if type(value) is int:
        if -_INT_BOUND < value < _INT_BOUND:
            return value
        raise InvalidRun.one(
            _render(where), "json", f"integer of more than {MAX_INT_DIGITS} digits"
        )
    if value - value == 0.0:  # finite
        return value
    raise InvalidRun.one(_render(where), "json", f"{value} is not a JSON number")
