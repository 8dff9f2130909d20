"""The JSON front end of request bodies, and the readers of JSON values with the API's 400s.

Generic: nothing here knows a run. A machine's request modules (the Run's are
:mod:`runstate._requests` and :mod:`runstate._readers`) build their body readers from
these, and from their field-rule table through :func:`rule_reader`.

* One front end for every body, text or mapping (:func:`parse_json_body`,
  :func:`read_body`), before any field is read: what a strict JSON reader refuses, or
  JSON text cannot carry, gets the API's malformed-JSON 400 (spec-facts §10.2); what no
  JSON text decodes to is the server's bug (:class:`~runstate.InvalidArgument`).
* Each reader takes ``(value, path)``, returns the value read, and raises the API's
  exact :class:`~runstate.InvalidRequest` (the templates of §10.1) naming ``path``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeAlias

from . import templates as wire
from .errors import MAX_ECHO, InvalidArgument, InvalidRun
from .fields import FieldRule
from .jsonio import has_surrogate
from .jsonio import loads as _loads
from .jsonvalue import MAX_INT_DIGITS, MAX_JSON_DEPTH, MAX_JSON_ITEMS, freeze_value

__all__ = [
    "Reader",
    "boolean",
    "choice",
    "decimal",
    "frozen_json",
    "integer",
    "json_array",
    "json_object",
    "list_of",
    "optional_fields",
    "query_int",
    "parse_json_body",
    "read_body",
    "read_header",
    "refuse_unknown",
    "required",
    "rule_reader",
    "string",
    "string_up_to",
    "sub",
]

#: A reader: ``(value, path) -> the value read``, or the API's 400 naming ``path``.
Reader: TypeAlias = Callable[[Any, str], Any]
#: Integers JSON text may carry here (see runstate._engine.jsonio.MAX_INT_DIGITS).
_INT_BOUND: Final = 10**MAX_INT_DIGITS


def sub(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def read_body(body: object, *, typed: bool = True) -> dict[str, Any]:
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
                where = sub(path, name)
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
    return read_body(body, typed=False)


def refuse_unknown(obj: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    for key in obj:  # exact strings: the front end (_plain) made them so
        if key not in allowed:
            # spec-facts §10.2, OBS (top level); nested paths inferred.
            raise wire.unknown_parameter(sub(path, key))


def required(obj: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in obj:
        raise wire.missing_parameter(sub(path, key))  # §10.2: message OBS, fields INF
    return obj[key]


def string(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise wire.invalid_type(path, "a string", value)  # §10.1 template (OBS)
    return str.__str__(value)


def boolean(value: object, path: str) -> bool:
    if type(value) is not bool:
        raise wire.invalid_type(path, "a boolean", value)
    return value


def integer(
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


def decimal(value: object, path: str, minimum: float | None, maximum: float | None) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise wire.invalid_type(path, "a number", value)
    if minimum is not None and value < minimum:
        raise wire.below_minimum(path, minimum, value, integer=False)
    if maximum is not None and value > maximum:
        # spec-facts §10.2 (temperature > 2), OBS(other: chat)
        raise wire.above_maximum(path, maximum, value, integer=False)
    return value


def choice(value: object, path: str, supported: tuple[str, ...]) -> str:
    text = string(value, path)
    if text not in supported:
        raise wire.invalid_value(path, text, supported)  # inferred (§10: no enum error seen)
    return text


def json_object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise wire.invalid_type(path, "an object", value)
    return value


def json_array(value: object, path: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise wire.invalid_type(path, "an array", value)
    return value


def frozen_json(value: object, path: str) -> Any:
    """A JSON value (from :func:`_plain`) kept as given, frozen.

    The front end has checked everything freezing checks but the width of integers: an
    integer wider than JSON text may carry gets what the text would (module notes).
    """
    try:
        return freeze_value(value, path)
    except InvalidRun:
        raise wire.bad_json_body() from None


def optional_fields(
    obj: Mapping[str, Any], path: str, readers: Mapping[str, Reader], needed: tuple[str, ...] = ()
) -> None:
    """Check ``obj``'s keys against ``readers`` (key -> reader(value, path)); nulls skip.

    The keys in ``needed`` must be there (a null in one is its reader's business).
    """
    refuse_unknown(obj, frozenset(readers), path)
    for key in needed:
        value = required(obj, key, path)
        readers[key](value, sub(path, key))
    for key, read in readers.items():
        if key in needed:
            continue
        value = obj.get(key)
        if value is not None:
            read(value, sub(path, key))


def list_of(read: Reader, maximum: int | None = None) -> Reader:
    """A reader of an array whose items ``read`` reads, with the spec's ``maxItems``."""

    def read_list(value: object, path: str) -> None:
        items = json_array(value, path)
        if maximum is not None and len(items) > maximum:
            raise wire.array_too_long(path, maximum, len(items))  # spec maxItems; INF text
        for i, item in enumerate(items):
            read(item, f"{path}[{i}]")

    return read_list


def string_up_to(maximum: int | None, pattern: str | None = None) -> Reader:
    """A reader of a string with the spec's ``maxLength`` (and ``pattern``, whole)."""
    regex = None if pattern is None else re.compile(pattern)

    def read(value: object, path: str) -> str:
        text = string(value, path)
        if maximum is not None and len(text) > maximum:
            raise wire.string_too_long(path, maximum, len(text))  # template OBS(other)
        if regex is not None and regex.fullmatch(text) is None:
            raise wire.pattern_mismatch(path, regex.pattern)  # inferred
        return text

    return read


def rule_reader(rule: FieldRule, items: Reader | None = None) -> Reader:
    """The reader of a field-rule row's field: its enum, range, length, count or pattern.

    Args:
        rule: The row.
        items: For an array, the reader of each item.

    Example:
        >>> from runstate._fields import TOP_P
        >>> rule_reader(TOP_P)(2, "top_p")
        Traceback (most recent call last):
        ...
        runstate._errors.InvalidRequest: Invalid 'top_p': decimal above maximum value. \
Expected a value <= 1, but got 2 instead.
    """
    if rule.values:
        return lambda v, p: choice(v, p, rule.values)  # inferred (§10: no enum error seen)
    if rule.kind == "integer":
        low, high = rule.minimum, rule.maximum
        return lambda v, p: integer(
            v, p, None if low is None else int(low), None if high is None else int(high)
        )
    if rule.kind == "number":
        return lambda v, p: decimal(v, p, rule.minimum, rule.maximum)
    if rule.kind == "array":
        return list_of(items if items is not None else json_object, rule.max_items)
    return string_up_to(rule.max_length, rule.pattern)


def read_header(value: object, name: str) -> str:
    """A header or path value as text: ``str`` as is, bytes as ASGI gives them (latin-1)."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    raise InvalidArgument.expected(name, "a string or bytes", value)


def query_int(text: str) -> int | None:
    """An integer query value read exactly, whatever its length; ``None`` if it is not one.

    An optional sign, then ASCII digits (``isdigit()`` also takes superscripts, which
    ``int()`` refuses; no ``_`` separators), leading zeros allowed. A value of more than
    :data:`~runstate._engine.errors.MAX_ECHO` significant digits is returned as ``±10**MAX_ECHO``:
    the same side of every bound as the value itself, and shown bounded in a message
    ("an integer of 60 digits or more"), without converting 5,000 digits.
    """
    text = text.strip()
    sign = -1 if text[:1] == "-" else 1
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not (digits.isascii() and digits.isdecimal()):
        return None
    significant = digits.lstrip("0")
    magnitude: int = 10**MAX_ECHO if len(significant) > MAX_ECHO else int(significant or "0")
    return sign * magnitude
