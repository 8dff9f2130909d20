"""Reading and writing runs as the API's JSON, losslessly and fast.

Design
------
One schema, below, lists each value class's wire keys in the real API's order with a
*kind* per key (string, integer timestamp, literal, nested object, tagged union...).
Everything is derived from it, once, at import:

* a **structure function** per class, generated as Python source and compiled, with every
  check inlined (``type(v) is int``, a dict lookup for literals) and no per-call
  reflection. It takes every value in one C call (an ``itemgetter``), raises a private
  ``_Bad`` at the first problem, and builds the instance with plain slot stores on a
  private, unfrozen subclass whose ``__class__`` it then sets to the public class (see
  :func:`building_class`). Measured on CPython 3.11: about 8 ns a field instead of 45 ns for
  each slot's ``__set__``;
* an **unstructure function** per class, one dict display plus the unknown keys;
* an **explain walker** that interprets the same schema slowly and collects *every*
  problem with its path. It only runs after the fast path has refused an input, so a
  valid payload never pays for error reporting.

Both generated functions are registered on one private, preconfigured cattrs converter
(``CONVERTER``), the cattrs way: ``CONVERTER.structure(data, Run)`` works, and the hot
path fetches the hook once and calls it directly.

Unknown keys are kept in each value's ``extra``; optional keys the input lacked are
recorded in ``absent`` (see :mod:`runstate._model`). When there are neither, the check
costs one ``len`` comparison.

Where the time goes, and the profiles behind each choice: ``benchmarks/RESULTS.md``.
Decoding the JSON text (the C scanner of :mod:`json`, called directly) is about 60% of
:func:`parse_run`; the rest is this module's generated code.

Structural only: types, literal values and required keys. Per-status rules live in
:mod:`runstate._invariants`.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import cattrs

from . import _model
from ._errors import FieldError, InvalidRun, shorten
from ._frozen import EMPTY, EMPTY_LIST, FrozenDict, FrozenList
from ._model import (
    FIELD_CHECKS,
    NO_KEYS,
    CodeInterpreterTool,
    FileSearchOptions,
    FileSearchTool,
    FunctionCall,
    FunctionDefinition,
    FunctionTool,
    IncompleteDetails,
    JsonSchema,
    LastError,
    RankingOptions,
    RequiredAction,
    ResponseFormatJsonObject,
    ResponseFormatJsonSchema,
    ResponseFormatText,
    Run,
    SubmitToolOutputs,
    ToolCall,
    ToolChoice,
    ToolChoiceFunction,
    TruncationStrategy,
    Usage,
)
from ._status import STATUS_BY_VALUE, RunStatus

__all__ = [
    "CONVERTER",
    "building_class",
    "dump_run",
    "dump_value",
    "parse_run",
    "parse_value",
    "to_json_value",
]

_T = TypeVar("_T")


class _Bad(Exception):
    """Raised by generated code at the first problem; never escapes this module."""


_MISSING: Final = object()

#: Every tagged union kind, so that ``_generate`` can give each its class hooks.
_UNIONS: Final[list[_Tagged]] = []


# --------------------------------------------------------------------------------------
# Rendering values in messages


def _show(value: object) -> str:
    """A value as it appears in a message: JSON, shortened; containers by their kind."""
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, str):
        return shorten(json.dumps(shorten(str.__str__(value))))
    if type(value) is int and not _int_ok(value):
        return f"an integer of more than {MAX_INT_DIGITS} digits"
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return f"a {type(value).__name__}"
    return shorten(text)


def _choices(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)


# --------------------------------------------------------------------------------------
# Kinds: what one wire key may hold. Each kind can emit fast code and explain failures.


class _Emitter:
    """Collects generated source lines and the names they refer to."""

    def __init__(self, ns: dict[str, Any]) -> None:
        self.ns = ns
        self.lines: list[str] = []

    def bind(self, value: object, hint: str) -> str:
        name = f"_{hint}{len(self.ns)}"  # unique: the namespace only grows
        self.ns[name] = value
        return name


class _Kind:
    #: A phrase for "expected ..." messages.
    expected: str = "a value"

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        """Emit statements that check ``var`` and rebind it to its Python value."""
        raise NotImplementedError

    def dump_expr(self, em: _Emitter, expr: str) -> str:
        """An expression giving the JSON form of ``expr`` (a fresh container if any)."""
        return expr

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        """Append every problem with ``value`` (at ``path``) to ``errors``."""
        if not self.accepts(value):
            errors.append(FieldError(path, "type", f"expected {self.expected}, got {_show(value)}"))

    def accepts(self, value: object) -> bool:
        raise NotImplementedError

    def check_value(self, value: object) -> bool:
        """Whether ``value``, a field of a value built by hand, is what parsing yields."""
        return self.accepts(value)


#: The largest integers accepted anywhere have 4300 digits: Python's default limit for
#: converting between ``int`` and text, so JSON text can carry no larger one, and a
#: value must stay printable and writable as JSON.
MAX_INT_DIGITS: Final = 4300
_INT_BOUND: Final = 10**MAX_INT_DIGITS


def _int_ok(value: int) -> bool:
    return -_INT_BOUND < value < _INT_BOUND


class _Scalar(_Kind):
    def __init__(self, pytype: type, expected: str) -> None:
        self.pytype = pytype
        self.expected = expected

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        em.lines.append(f"{indent}if type({var}) is not {self.pytype.__name__}: raise _Bad")

    def accepts(self, value: object) -> bool:
        return type(value) is self.pytype

    def check_value(self, value: object) -> bool:
        return type(value) is self.pytype and (type(value) is not int or _int_ok(value))


class _Number(_Kind):
    expected = "a finite number"

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        # ``x - x`` is 0.0 for every finite float and NaN for an infinite one (JSON text
        # like ``1e999`` decodes to inf): the same test as ``math.isfinite``, without a call.
        em.lines.append(f"{indent}if type({var}) is float:")
        em.lines.append(f"{indent}    if {var} - {var} != 0.0: raise _Bad")
        em.lines.append(f"{indent}elif type({var}) is not int: raise _Bad")

    def accepts(self, value: object) -> bool:
        return type(value) is int or (type(value) is float and math.isfinite(value))

    def check_value(self, value: object) -> bool:
        return self.accepts(value) and (type(value) is not int or _int_ok(value))


class _Literal(_Kind):
    def __init__(self, values: tuple[str, ...], what: str) -> None:
        # Mapping each value to itself canonicalises (interns) it: runs share the strings.
        self.table = {v: v for v in values}
        self.values = values
        self.what = what

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        # JSON keys are strings, so only a string equal to one of the values is found; any
        # other value (a miss, or an unhashable list/object) raises, and is then explained.
        if len(self.values) == 1:
            # One value: a string comparison (no hashing of the fresh string), then the
            # shared constant. Anything but that string compares unequal.
            value = self.values[0]
            em.lines.append(f"{indent}if {var} != {value!r}: raise _Bad")
            em.lines.append(f"{indent}{var} = {value!r}")
        else:
            em.lines.append(f"{indent}{var} = {em.bind(self.table, 'lit')}[{var}]")

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        if type(value) is not str:
            errors.append(FieldError(path, "type", f"expected a string, got {_show(value)}"))
        elif value not in self.table:
            errors.append(
                FieldError(
                    path,
                    "enum",
                    f"unknown {self.what} {shorten(repr(value))}; "
                    f"expected one of {_choices(self.values)}",
                )
            )

    def check_value(self, value: object) -> bool:
        return type(value) is str and value in self.table


class _Status(_Kind):
    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        em.lines.append(f"{indent}{var} = _STATUS[{var}]")

    def dump_expr(self, em: _Emitter, expr: str) -> str:
        return f"{expr}._value_"  # the plain attribute behind the `value` property

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        _Literal(tuple(STATUS_BY_VALUE), "status").explain(value, path, errors)

    def check_value(self, value: object) -> bool:
        return type(value) is RunStatus


class _Optional(_Kind):
    def __init__(self, inner: _Kind) -> None:
        self.inner = inner
        self.expected = f"{inner.expected} or null"

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        if isinstance(self.inner, _Scalar):
            em.lines.append(
                f"{indent}if {var} is not None and type({var}) is not "
                f"{self.inner.pytype.__name__}: raise _Bad"
            )
            return
        em.lines.append(f"{indent}if {var} is not None:")
        self.inner.emit(em, var, indent + "    ")

    def dump_expr(self, em: _Emitter, expr: str) -> str:
        inner = self.inner.dump_expr(em, expr)
        if inner == expr:
            return expr
        return f"(None if {expr} is None else {inner})"

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        if value is not None:
            self.inner.explain(value, path, errors)

    def check_value(self, value: object) -> bool:
        return value is None or self.inner.check_value(value)


class _Object(_Kind):
    """A nested value class."""

    expected = "an object"

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        em.lines.append(f"{indent}{var} = {self.call_expr(em, var)}")

    def function(self, em: _Emitter) -> str:
        return _structure_name(self.cls)

    def call_expr(self, em: _Emitter, var: str) -> str:
        """An expression structuring the JSON in ``var`` (a plain name)."""
        return _common_expr(self.cls, var, f"{self.function(em)}({var})")

    def dump_expr(self, em: _Emitter, expr: str) -> str:
        return f"{_unstructure_name(self.cls)}({expr})"

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        _explain_object(self.cls, value, path, errors)

    def check_value(self, value: object) -> bool:
        return type(value) is self.cls


class _Tagged(_Kind):
    """A union told apart by the object's ``type``, or by being one of a few strings."""

    def __init__(self, classes: Mapping[str, type], strings: tuple[str, ...], what: str) -> None:
        self.classes = dict(classes)
        self.strings = {s: s for s in strings}
        self.what = what
        self.expected = (
            f"{_choices(strings)} or an object with a 'type'" if strings else "an object"
        )
        #: tag -> the generated structure function of its class; filled by ``_generate``.
        self.hooks: dict[str, Callable[[Any], Any]] = {}
        _UNIONS.append(self)

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        # A string that is not one of ``strings``, an object without a known ``type``, or
        # anything else (``"x"["type"]`` and ``[]["type"]`` raise) is refused and explained.
        hooks = em.bind(self.hooks, "tags")
        if self.strings:
            em.lines.append(
                f"{indent}if type({var}) is str: {var} = {em.bind(self.strings, 'strs')}[{var}]"
            )
            em.lines.append(f"{indent}else: {var} = {hooks}[{var}['type']]({var})")
        else:
            em.lines.append(f"{indent}{var} = {hooks}[{var}['type']]({var})")

    def function(self, em: _Emitter) -> str:
        return em.bind(self._structure, "union")

    def call_expr(self, em: _Emitter, var: str) -> str:
        """An expression structuring the JSON in ``var`` (a plain name)."""
        if self.strings:
            return f"{self.function(em)}({var})"
        expr = f"{em.bind(self.hooks, 'tags')}[{var}['type']]({var})"
        for cls in self.classes.values():
            expr = _common_expr(cls, var, expr)
        return expr

    @functools.cached_property
    def _structure(self) -> Callable[[Any], Any]:
        """One item of an array of this union, as a plain function (cheaper to call)."""
        hooks, strings = self.hooks, self.strings
        if strings:

            def structure(o: Any) -> Any:
                if type(o) is str:
                    return strings[o]
                return hooks[o["type"]](o)

        else:

            def structure(o: Any) -> Any:
                return hooks[o["type"]](o)

        return structure

    def dump_expr(self, em: _Emitter, expr: str) -> str:
        return f"{em.bind(self._unstructure, 'dunion')}({expr})"

    @staticmethod
    def _unstructure(value: Any) -> Any:
        if type(value) is str:
            return value
        return _DUMPERS[type(value)](value)

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        if type(value) is str:
            if value not in self.strings:
                errors.append(
                    FieldError(
                        path,
                        "enum",
                        f"unknown {self.what} {shorten(repr(value))}; expected {self.expected}",
                    )
                )
            return
        if type(value) is not dict:
            errors.append(FieldError(path, "type", f"expected {self.expected}, got {_show(value)}"))
            return
        tag = value.get("type", _MISSING)
        if tag is _MISSING:
            errors.append(FieldError(f"{path}.type", "required", "missing required key"))
        elif type(tag) is not str or tag not in self.classes:
            errors.append(
                FieldError(
                    f"{path}.type",
                    "enum",
                    f"unknown {self.what} type {tag if type(tag) is not str else repr(tag)}; "
                    f"expected one of {_choices(tuple(self.classes))}",
                )
            )
        else:
            _explain_object(self.classes[tag], value, path, errors)

    def check_value(self, value: object) -> bool:
        if type(value) is str:
            return value in self.strings
        cls = type(value)
        return any(cls is c for c in self.classes.values()) and (
            self.classes.get(getattr(value, "type", None)) is cls  # type: ignore[arg-type]
        )


class _Array(_Kind):
    expected = "an array"

    def __init__(self, item: _Object | _Tagged) -> None:
        self.item = item

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        em.lines.append(f"{indent}if type({var}) is not list: raise _Bad")
        # One item is the common case (one tool, one tool call): a direct call is cheaper
        # than ``tuple(map(...))``, whose calls come from C.
        em.lines.append(f"{indent}if len({var}) == 1:")
        em.lines.append(f"{indent}    x = {var}[0]; {var} = ({self.item.call_expr(em, 'x')},)")
        em.lines.append(
            f"{indent}else: {var} = tuple(map({self.item.function(em)}, {var})) if {var} else ()"
        )

    def dump_expr(self, em: _Emitter, expr: str) -> str:
        return f"[{self.item.dump_expr(em, 'x')} for x in {expr}]"

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        if type(value) is not list:
            errors.append(FieldError(path, "type", f"expected an array, got {_show(value)}"))
            return
        for i, item in enumerate(value):
            self.item.explain(item, f"{path}[{i}]", errors)

    def check_value(self, value: object) -> bool:
        return type(value) is tuple and all(self.item.check_value(x) for x in value)


class _JsonObject(_Kind):
    """Any JSON object, kept as JSON (a JSON Schema, for example)."""

    expected = "an object"

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        em.lines.append(f"{indent}if type({var}) is not dict: raise _Bad")
        em.lines.append(f"{indent}{var} = _freeze({var}, 0)")

    def dump_expr(self, em: _Emitter, expr: str) -> str:
        return f"_thaw({expr})"

    def check_value(self, value: object) -> bool:
        return type(value) is FrozenDict and _frozen_ok(value, 0)

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        if type(value) is not dict:
            errors.append(FieldError(path, "type", f"expected an object, got {_show(value)}"))
            return
        found = _json_problem(value, path, 0)
        if found is not None:
            errors.append(found)


class _StringMap(_Kind):
    """``metadata``: an object whose values are strings."""

    expected = "an object of strings"

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        em.lines.append(f"{indent}if type({var}) is not dict: raise _Bad")
        em.lines.append(f"{indent}if {var}:")
        em.lines.append(f"{indent}    for x in {var}.values():")
        em.lines.append(f"{indent}        if type(x) is not str: raise _Bad")
        em.lines.append(f"{indent}    {var} = _FrozenDict({var})")
        em.lines.append(f"{indent}else: {var} = _EMPTY")

    def check_value(self, value: object) -> bool:
        return type(value) is FrozenDict and all(
            type(k) is str and type(v) is str for k, v in value.items()
        )

    def dump_expr(self, em: _Emitter, expr: str) -> str:
        return f"dict({expr})"

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        if type(value) is not dict:
            errors.append(FieldError(path, "type", f"expected an object, got {_show(value)}"))
            return
        for key, item in value.items():
            if type(item) is not str:
                errors.append(
                    FieldError(f"{path}.{key}", "type", f"expected a string, got {_show(item)}")
                )


STR: Final = _Scalar(str, "a string")
BOOL: Final = _Scalar(bool, "true or false")
INT: Final = _Scalar(int, "an integer")
TIMESTAMP: Final = _Scalar(int, "an integer Unix timestamp")
NUMBER: Final = _Number()


def _opt(kind: _Kind) -> _Kind:
    return _Optional(kind)


def _lit(what: str, *values: str) -> _Literal:
    return _Literal(values, what)


def _obj(cls: type) -> _Object:
    return _Object(cls)


# --------------------------------------------------------------------------------------
# The schema: per class, wire key -> (kind, required). Order = the real API's key order
# (spec-facts §5.2), which is also the order dump_run writes.

_Field = tuple[_Kind, bool]

_TOOLS = _Tagged(
    {
        "code_interpreter": CodeInterpreterTool,
        "file_search": FileSearchTool,
        "function": FunctionTool,
    },
    (),
    "tool",
)
_RESPONSE_FORMAT = _Tagged(
    {
        "text": ResponseFormatText,
        "json_object": ResponseFormatJsonObject,
        "json_schema": ResponseFormatJsonSchema,
    },
    ("auto",),
    "response_format",
)
_TOOL_CHOICE = _Tagged(
    dict.fromkeys(("function", "code_interpreter", "file_search"), ToolChoice),
    ("none", "auto", "required"),
    "tool_choice",
)

SCHEMA: Final[dict[type, dict[str, _Field]]] = {
    FunctionCall: {"name": (STR, True), "arguments": (STR, True)},
    ToolCall: {
        "id": (STR, True),
        "type": (_lit("tool call type", "function"), True),
        "function": (_obj(FunctionCall), True),
    },
    SubmitToolOutputs: {"tool_calls": (_Array(_obj(ToolCall)), True)},
    RequiredAction: {
        "type": (_lit("required_action type", "submit_tool_outputs"), True),
        "submit_tool_outputs": (_obj(SubmitToolOutputs), True),
    },
    LastError: {
        "code": (_lit("error code", "server_error", "rate_limit_exceeded", "invalid_prompt"), True),
        "message": (STR, True),
    },
    IncompleteDetails: {
        "reason": (_opt(_lit("reason", "max_completion_tokens", "max_prompt_tokens")), False),
    },
    Usage: {
        "prompt_tokens": (INT, True),
        "completion_tokens": (INT, True),
        "total_tokens": (INT, True),
    },
    TruncationStrategy: {
        "type": (_lit("truncation type", "auto", "last_messages"), True),
        "last_messages": (_opt(INT), False),
    },
    CodeInterpreterTool: {"type": (_lit("tool type", "code_interpreter"), True)},
    RankingOptions: {
        "score_threshold": (NUMBER, True),
        "ranker": (_opt(_lit("ranker", "auto", "default_2024_08_21")), False),
    },
    FileSearchOptions: {
        "max_num_results": (_opt(INT), False),
        "ranking_options": (_opt(_obj(RankingOptions)), False),
    },
    FileSearchTool: {
        "type": (_lit("tool type", "file_search"), True),
        "file_search": (_opt(_obj(FileSearchOptions)), False),
    },
    FunctionDefinition: {
        "name": (STR, True),
        "description": (_opt(STR), False),
        "parameters": (_opt(_JsonObject()), False),
        "strict": (_opt(BOOL), False),
    },
    FunctionTool: {
        "type": (_lit("tool type", "function"), True),
        "function": (_obj(FunctionDefinition), True),
    },
    ResponseFormatText: {"type": (_lit("response_format type", "text"), True)},
    ResponseFormatJsonObject: {"type": (_lit("response_format type", "json_object"), True)},
    JsonSchema: {
        "name": (STR, True),
        "description": (_opt(STR), False),
        "schema": (_opt(_JsonObject()), False),
        "strict": (_opt(BOOL), False),
    },
    ResponseFormatJsonSchema: {
        "type": (_lit("response_format type", "json_schema"), True),
        "json_schema": (_obj(JsonSchema), True),
    },
    ToolChoiceFunction: {"name": (STR, True)},
    ToolChoice: {
        "type": (_lit("tool_choice type", "function", "code_interpreter", "file_search"), True),
        "function": (_opt(_obj(ToolChoiceFunction)), False),
    },
    Run: {
        "id": (STR, True),
        "object": (_lit("object", "thread.run"), True),
        "created_at": (TIMESTAMP, True),
        "assistant_id": (STR, True),
        "thread_id": (STR, True),
        "status": (_Status(), True),
        "started_at": (_opt(TIMESTAMP), False),
        "expires_at": (_opt(TIMESTAMP), False),
        "cancelled_at": (_opt(TIMESTAMP), False),
        "failed_at": (_opt(TIMESTAMP), False),
        "completed_at": (_opt(TIMESTAMP), False),
        "required_action": (_opt(_obj(RequiredAction)), False),
        "last_error": (_opt(_obj(LastError)), False),
        "model": (STR, True),
        "instructions": (_opt(STR), False),
        "tools": (_Array(_TOOLS), False),
        "metadata": (_opt(_StringMap()), False),
        "temperature": (_opt(NUMBER), False),
        "top_p": (_opt(NUMBER), False),
        "max_completion_tokens": (_opt(INT), False),
        "max_prompt_tokens": (_opt(INT), False),
        "truncation_strategy": (_opt(_obj(TruncationStrategy)), False),
        "incomplete_details": (_opt(_obj(IncompleteDetails)), False),
        "usage": (_opt(_obj(Usage)), False),
        "response_format": (_opt(_RESPONSE_FORMAT), False),
        "tool_choice": (_opt(_TOOL_CHOICE), False),
        "parallel_tool_calls": (_opt(BOOL), False),
    },
}


#: The API's default values of a few small classes, exactly as it sends them on nearly
#: every run (all 109 real 2024-2025 objects with a truncation_strategy have this one).
#: An input equal to one of these gets one shared, prebuilt instance instead of a new one:
#: the check is one dict comparison, and the instance is deeply immutable (strings, None,
#: no unknown keys), so sharing it is unobservable but for ``is``. Only strings and None,
#: for which ``==`` between JSON values means the same type and value.
COMMON_VALUES: Final[dict[type, dict[str, Any]]] = {
    TruncationStrategy: {"type": "auto", "last_messages": None},
    CodeInterpreterTool: {"type": "code_interpreter"},
}


#: Unknown keys the real API sends (spec-facts §5.2, §8.8): found by a lookup or two, not
#: by a pass over every key. Any other unknown key is kept just the same, a little slower.
LIKELY_EXTRAS: Final[dict[type, tuple[str, ...]]] = {
    Run: ("tool_resources", "reasoning_effort", "file_ids"),
    Usage: ("prompt_token_details", "completion_tokens_details"),
}


def _common_expr(cls: type, var: str, otherwise: str) -> str:
    """``otherwise``, or the shared instance when ``var`` is ``cls``'s common JSON value."""
    if cls not in COMMON_VALUES:
        return otherwise
    name = cls.__name__
    return f"(_common_{name} if {var} == _common_json_{name} else {otherwise})"


# --------------------------------------------------------------------------------------
# JSON helpers


def _thaw(value: Any) -> Any:
    """A kept JSON value as fresh, plain JSON (dicts and lists; scalars are immutable)."""
    t = type(value)
    if t is FrozenDict or t is dict:
        return {k: _thaw(v) for k, v in value.items()}
    if t is FrozenList or t is list:
        return [_thaw(v) for v in value]
    return value


#: Kept JSON values (unknown fields, ``parameters``, ``schema``) may nest this deep.
#: Values must stay comparable, printable and writable as JSON, all of which recurse.
MAX_JSON_DEPTH: Final = 200
_INFINITIES: Final = (math.inf, -math.inf)


def _freeze(value: Any, depth: int) -> Any:
    """A decoded JSON container (at ``depth``; 0 = the kept value), frozen, or ``_Bad``.

    Sound: containers nest at most :data:`MAX_JSON_DEPTH` levels and every number is
    finite (text like ``1e400`` decodes to infinity, which JSON cannot write back).
    Empty containers become the shared :data:`~runstate._frozen.EMPTY` and
    :data:`~runstate._frozen.EMPTY_LIST`.
    """
    if depth >= MAX_JSON_DEPTH:
        raise _Bad
    if type(value) is dict:
        if not value:
            return EMPTY
        out = {}
        for k, x in value.items():
            t = type(x)
            if t is dict or t is list:
                out[k] = _freeze(x, depth + 1)
                continue
            if t is float and x in _INFINITIES:
                raise _Bad
            out[k] = x
        return FrozenDict(out)
    if not value:
        return EMPTY_LIST
    items = []
    for x in value:  # a loop, not a comprehension: one frame per level
        t = type(x)
        if t is dict or t is list:
            items.append(_freeze(x, depth + 1))
            continue
        if t is float and x in _INFINITIES:
            raise _Bad
        items.append(x)
    return FrozenList(items)


def _frozen_ok(value: Any, depth: int) -> bool:
    """Whether a hand-built kept value is frozen JSON within the depth rule."""
    if depth >= MAX_JSON_DEPTH:
        return False
    for x in value.values() if type(value) is FrozenDict else value:
        t = type(x)
        if t is FrozenDict or t is FrozenList:
            if not _frozen_ok(x, depth + 1):
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
        return _freeze(plain, 0)
    except _Bad:
        found = _json_problem(plain, "" if path == "$" else path, 0)
        assert found is not None
        raise InvalidRun([found]) from None


def _json_problem(value: Any, path: str, depth: int, root: str = "") -> FieldError | None:
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
            found = _json_problem(x, sub, depth + 1, root if depth >= 0 else sub)
            if found is not None:
                return found
        elif t is float and x in _INFINITIES:
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
#: far more than any run (a run object a trace line may hold is at most 8 MiB), and a
#: bound on a mapping whose iteration never ends.
MAX_JSON_ITEMS: Final = 4 * 1024 * 1024


def _sub(path: str, key: str) -> str:
    return f"{path}.{key}" if path != "$" else key


def _to_json(value: Any, path: str, depth: int, budget: list[int]) -> Any:
    if depth > _NORMALISE_DEPTH:
        raise InvalidRun.one(path, "json", f"nested deeper than {MAX_JSON_DEPTH} levels")
    t = type(value)
    if value is None or t is str or t is bool:
        return value
    if t is int:
        if not _int_ok(value):
            raise InvalidRun.one(path, "json", f"integer of more than {MAX_INT_DIGITS} digits")
        return value
    if t is float:
        if not math.isfinite(value):
            raise InvalidRun.one(path, "json", f"{value} is not a JSON number")
        return value
    if isinstance(value, str):  # a str subclass: its value, never its __str__
        return str.__str__(value)
    if isinstance(value, Mapping):
        out = {}
        try:
            for k, v in value.items():
                budget[0] -= 1
                if budget[0] < 0:
                    raise InvalidRun.one(path, "json", f"more than {MAX_JSON_ITEMS} items")
                if not isinstance(k, str):
                    raise InvalidRun.one(
                        path, "json", f"object keys must be strings, got {_show(k)}"
                    )
                key = str.__str__(k)
                out[key] = _to_json(v, _sub(path, key), depth + 1, budget)
        except InvalidRun:
            raise
        except Exception as exc:  # a broken mapping: its items() or a key's hash raised
            raise InvalidRun.one(
                path, "json", f"the mapping could not be read ({type(exc).__name__})"
            ) from None
        return out
    if isinstance(value, list | tuple):
        out_list = []
        for i, v in enumerate(value):  # a loop, not a comprehension: one frame per level
            budget[0] -= 1
            if budget[0] < 0:
                raise InvalidRun.one(path, "json", f"more than {MAX_JSON_ITEMS} items")
            out_list.append(_to_json(v, f"{path}[{i}]", depth + 1, budget))
        return out_list
    raise InvalidRun.one(path, "json", f"expected a JSON value, got a {type(value).__name__}")


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)
_scan_once: Final[Callable[[str, int], tuple[Any, int]]] = _DECODER.scan_once  # type: ignore[attr-defined]
_WHITESPACE: Final = " \t\n\r"


def _loads(data: str | bytes | bytearray | memoryview, what: str = "run") -> Any:
    """Decode JSON text; every failure becomes :class:`InvalidRun` at ``$``."""
    try:
        text = str(data) if isinstance(data, str) else bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRun.one(
            "$", "json", f"not UTF-8 text ({exc.reason} at byte {exc.start})", what=what
        ) from None
    try:
        try:
            # The scanner alone, skipping json.loads' wrappers; falls back for leading space.
            obj, end = _scan_once(text, 0)
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


# --------------------------------------------------------------------------------------
# Code generation


def _structure_name(cls: type) -> str:
    return f"_s_{cls.__name__}"


def _unstructure_name(cls: type) -> str:
    return f"_d_{cls.__name__}"


def _defaults(cls: type) -> dict[str, Any]:
    import attrs  # noqa: PLC0415 - only at import-time generation

    return {
        f.name: f.default
        for f in attrs.fields(cls)
        if f.default is not attrs.NOTHING and f.name not in ("extra", "absent")
    }


@functools.cache
def building_class(cls: type) -> type:
    """A private subclass of the frozen, slotted ``cls`` whose instances take plain stores.

    The public classes are frozen: their ``__setattr__`` raises, so filling one means a
    call of each slot's ``__set__`` (about 45 ns a field). This subclass adds no slot and
    no state (``__slots__ = ()``) and restores ``object``'s own ``__setattr__`` and
    ``__delattr__`` (both: CPython only uses the generic, specialisable store when
    neither is overridden), so ``r.name = v`` is a plain slot store (about 8 ns on 3.11).

    Use: ``r = building_class(cls)()``, store every field (every slot must be set), then
    ``r.__class__ = cls``. The assignment is allowed because the two layouts are
    identical; from then on ``r`` is an ordinary frozen ``cls`` instance (``type(r) is
    cls``, equality, ``attrs.evolve``, weak references all as usual). Keep the instance
    private until its class is set, and nothing outside ever sees a mutable one.
    Cached: one subclass per class. Checked on CPython 3.10 to 3.13.
    """
    return type(
        f"_Building{cls.__name__}",
        (cls,),
        {
            "__slots__": (),
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            # Calling the class then allocates without the attrs ``__init__``: cheaper
            # than ``object.__new__(cls)``, a call that goes through an argument tuple.
            "__init__": object.__init__,
            "__module__": __name__,
            "__doc__": f"Private: a {cls.__name__} being built by the generated parser.",
        },
    )


def _emit_build(em: _Emitter, cls: type, fields: dict[str, _Field], absent: str) -> None:
    """Emit the construction of the instance from ``v0``..``vN``, ``ex`` and ``absent``."""
    import attrs  # noqa: PLC0415 - only at import-time generation

    names = [f.name for f in attrs.fields(cls)]
    if sorted(names) != sorted([*fields, "extra", "absent"]):  # pragma: no cover
        raise AssertionError(f"SCHEMA[{cls.__name__}] does not cover its fields")
    # Unknown keys hold kept JSON: the same depth and finiteness rule as JSON objects.
    # Inline, so the usual unknown values (null, {}, []) cost no call.
    em.lines.append("    if ex:")
    em.lines.append("        for k, x in ex.items():")
    em.lines.append("            t = type(x)")
    em.lines.append("            if t is dict or t is list: ex[k] = _freeze(x, 0)")
    em.lines.append("            elif t is float and x in _INFINITIES: raise _Bad")
    em.lines.append("        ex = _FrozenDict(ex)")
    em.lines.append(f"    r = {em.bind(building_class(cls), 'build')}()")
    em.lines.extend(f"    r.{key} = v{i}" for i, key in enumerate(fields))
    em.lines.append("    r.extra = ex")
    em.lines.append(f"    r.absent = {absent}")
    em.lines.append(f"    r.__class__ = {em.bind(cls, 'cls')}")
    em.lines.append("    return r")


def _gen_structure(cls: type, fields: dict[str, _Field], ns: dict[str, Any]) -> str:
    """The structure function of ``cls``, and the one for inputs that lack a key.

    The common case, every key present, takes the values in one C call (an
    ``itemgetter``); a missing key raises ``KeyError`` there and hands the input to the
    ``_gaps`` variant, which looks each key up and records the absent ones. Unknown keys
    cost one ``len`` when there are none, a lookup or two when there is one the real API
    sends (:data:`LIKELY_EXTRAS`), and a copy otherwise. Both variants run the same
    checks, emitted from the same schema.
    """
    em = _Emitter(ns)
    name = _structure_name(cls)
    gaps = f"{name}_gaps"
    keys = tuple(fields)
    n = len(keys)
    if not all(k.isidentifier() for k in keys):  # pragma: no cover - stored as attributes
        raise AssertionError(f"SCHEMA[{cls.__name__}] has a key that is not an identifier")
    likely = LIKELY_EXTRAS.get(cls, ())
    known = em.bind(frozenset(keys), "known")
    targets = ", ".join(f"v{i}" for i in range(n)) + ("," if n == 1 else "")
    getter = em.bind(operator.itemgetter(*keys), "get") if n > 1 else ""

    def get_all(source: str, method: str, indent: str) -> None:
        """Emit: every value from ``source`` in one C call, or hand ``o`` to ``_gaps``."""
        em.lines.append(f"{indent}try:")
        if method == "pop":
            em.lines.append(f"{indent}    {targets} = map({source}.pop, {em.bind(keys, 'keys')})")
        elif n == 1:
            em.lines.append(f"{indent}    v0 = {source}[{keys[0]!r}]")
        else:
            em.lines.append(f"{indent}    {targets} = {getter}({source})")
        em.lines.append(f"{indent}except KeyError:")
        em.lines.append(f"{indent}    return {gaps}(o)")

    em.lines.append(f"def {name}(o):")
    em.lines.append("    if type(o) is not dict: raise _Bad")
    # With every key present (else KeyError), len(o) - n is the number of unknown keys.
    em.lines.append(f"    if len(o) == {n}:")
    get_all("o", "get", "        ")
    em.lines.append("        ex = _EMPTY")
    _emit_likely_extras(em, likely, n, known, functools.partial(get_all, "o", "get"))
    # Several unknown keys: popping the known ones from a copy leaves the unknown ones
    # in input order, in C; dict(d) then makes it compact (d keeps its large table).
    em.lines.append(f"    elif len(o) < {n}: return {gaps}(o)")
    em.lines.append("    else:")
    em.lines.append("        d = o.copy()")
    get_all("d", "pop", "        ")
    em.lines.append("        ex = dict(d)")
    for i, (kind, _) in enumerate(fields.values()):
        kind.emit(em, f"v{i}", "    ")
    _emit_build(em, cls, fields, "_NO_KEYS")
    em.lines.append("")
    _gen_gaps(em, cls, fields, gaps)
    return "\n".join(em.lines)


def _emit_likely_extras(
    em: _Emitter, likely: tuple[str, ...], n: int, known: str, get_all: Callable[[str], None]
) -> None:
    """Emit the branches of the structure function for one or two likely unknown keys."""
    for count in (1, 2)[: len(likely)]:
        em.lines.append(f"    elif len(o) == {n + count}:")
        get_all(" " * 8)
        _emit_extras_lookup(em, likely, count, known, " " * 8)


def _emit_extras_lookup(
    em: _Emitter, likely: tuple[str, ...], count: int, known: str, indent: str
) -> None:
    """Emit ``ex = ...`` for an ``o`` known to hold ``count`` (1 or 2) unknown keys.

    One: a lookup per likely key finds it. Two: lookups find them, and which of the two
    comes last is found by walking the keys from the end, in C (on a 2025 run,
    ``reasoning_effort`` is ninth from the end). Either way ``ex`` holds them in input
    order, as the pass over every key that ends the chain would.
    """
    if count == 1:
        for j, key in enumerate(likely):
            em.lines.append(
                f"{indent}{'elif' if j else 'if'} {key!r} in o: ex = {{{key!r}: o[{key!r}]}}"
            )
    else:
        for j, (a, b) in enumerate(itertools.combinations(likely, 2)):
            last = em.bind(frozenset((a, b)).__contains__, "pair")
            em.lines.append(f"{indent}{'elif' if j else 'if'} {a!r} in o and {b!r} in o:")
            em.lines.append(f"{indent}    if next(filter({last}, reversed(o))) == {b!r}:")
            em.lines.append(f"{indent}        ex = {{{a!r}: o[{a!r}], {b!r}: o[{b!r}]}}")
            em.lines.append(f"{indent}    else:")
            em.lines.append(f"{indent}        ex = {{{b!r}: o[{b!r}], {a!r}: o[{a!r}]}}")
    em.lines.append(f"{indent}else: ex = {{k: x for k, x in o.items() if k not in {known}}}")


def _gen_gaps(em: _Emitter, cls: type, fields: dict[str, _Field], name: str) -> None:
    """The variant for an input (a dict) that lacks some key: assistants v1 objects.

    Every key is looked up in one C call (``map(o.get, keys, missing)``), absent optional
    keys are collected as bits of an int, and the bits become a frozenset through
    :class:`_AbsentSets`, so runs missing the same keys share one.
    """
    defaults = _defaults(cls)
    keys = tuple(fields)
    n = len(keys)
    known = em.bind(frozenset(fields), "known")
    optional = [key for key, (_, required) in fields.items() if not required]
    absent_sets = em.bind(_AbsentSets(optional), "absent")
    targets = ", ".join(f"v{i}" for i in range(n)) + ("," if n == 1 else "")
    em.lines.append(f"def {name}(o):")
    em.lines.append(
        f"    {targets} = map(o.get, {em.bind(keys, 'keys')}, {em.bind((_MISSING,) * n, 'ms')})"
    )
    em.lines.append("    ab = 0")
    for i, (key, (kind, required)) in enumerate(fields.items()):
        var = f"v{i}"
        if required:
            em.lines.append(f"    if {var} is _MISSING: raise _Bad")
            kind.emit(em, var, "    ")
        else:
            default = em.bind(defaults[key], "default")
            bit = 1 << optional.index(key)
            em.lines.append(f"    if {var} is _MISSING:")
            em.lines.append(f"        {var} = {default}; ab |= {bit}")
            em.lines.append("    else:")
            kind.emit(em, var, "        ")
    em.lines.append(f"    ab = {absent_sets}[ab]")
    em.lines.append(f"    k = len(o) + len(ab) - {n}  # the number of unknown keys")
    em.lines.append("    if not k: ex = _EMPTY")
    likely = LIKELY_EXTRAS.get(cls, ())
    for count in (1, 2)[: len(likely)]:
        em.lines.append(f"    elif k == {count}:")
        _emit_extras_lookup(em, likely, count, known, " " * 8)
    em.lines.append(f"    else: ex = {{k: x for k, x in o.items() if k not in {known}}}")
    _emit_build(em, cls, fields, "ab")


class _AbsentSets(dict[int, frozenset[str]]):
    """Bit mask of absent optional keys -> their frozenset, made once per mask.

    At most ``LIMIT`` masks are kept (real inputs show a handful); past that, sets are
    made per call.
    """

    LIMIT: Final = 256

    def __init__(self, optional: list[str]) -> None:
        super().__init__({0: NO_KEYS})
        self.optional = optional

    def __missing__(self, mask: int) -> frozenset[str]:
        keys = frozenset(k for i, k in enumerate(self.optional) if mask >> i & 1)
        if len(self) < self.LIMIT:
            self[mask] = keys
        return keys


def _gen_unstructure(cls: type, fields: dict[str, _Field], ns: dict[str, Any]) -> str:
    em = _Emitter(ns)
    name = _unstructure_name(cls)
    items = [f"{key!r}: {kind.dump_expr(em, f'r.{key}')}" for key, (kind, _) in fields.items()]
    dumped_defaults = {
        key: (None if default is None else [] if default == () else default)
        for key, default in _defaults(cls).items()
        if key in fields and not fields[key][1]
    }
    dd = em.bind(dumped_defaults, "dumped")
    em.lines.append(f"def {name}(r):")
    em.lines.append("    d = {" + ", ".join(items) + "}")
    em.lines.append("    if r.extra: _merge(d, r.extra)")
    em.lines.append(f"    if r.absent: _drop(d, r.absent, {dd})")
    em.lines.append("    return d")
    return "\n".join(em.lines)


def _merge(d: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for k, v in extra.items():
        if k not in d:  # a known key always wins over a hand-made clashing extra
            d[k] = _thaw(v)


def _drop(d: dict[str, Any], absent: frozenset[str], dumped_defaults: dict[str, Any]) -> None:
    for k in absent:
        if k in dumped_defaults and d.get(k, _MISSING) == dumped_defaults[k]:
            del d[k]


_NS: Final[dict[str, Any]] = {
    "_Bad": _Bad,
    "_MISSING": _MISSING,
    "_EMPTY": EMPTY,
    "_NO_KEYS": NO_KEYS,
    "_STATUS": STATUS_BY_VALUE,
    "_isfinite": math.isfinite,
    "_freeze": _freeze,
    "_FrozenDict": FrozenDict,
    "_INFINITIES": _INFINITIES,
    "_thaw": _thaw,
    "_merge": _merge,
    "_drop": _drop,
}

_HOOKS: Final[dict[type, Callable[[Any], Any]]] = {}
_DUMPERS: Final[dict[type, Callable[[Any], dict[str, Any]]]] = {}


def _generate() -> None:
    sources = []
    for cls, fields in SCHEMA.items():
        sources.append(_gen_structure(cls, fields, _NS))
        sources.append(_gen_unstructure(cls, fields, _NS))
    code = compile("\n\n".join(sources), "<runstate generated serde>", "exec")
    exec(code, _NS)
    for cls in SCHEMA:
        _HOOKS[cls] = _NS[_structure_name(cls)]
        _DUMPERS[cls] = _NS[_unstructure_name(cls)]
    for union in _UNIONS:
        union.hooks.update({tag: _HOOKS[cls] for tag, cls in union.classes.items()})
    for cls, value in COMMON_VALUES.items():
        if not all(v is None or type(v) is str for v in value.values()):  # pragma: no cover
            raise AssertionError(f"COMMON_VALUES[{cls.__name__}] may hold only str and None")
        _NS[f"_common_json_{cls.__name__}"] = value
        _NS[f"_common_{cls.__name__}"] = _HOOKS[cls](dict(value))


_generate()


def _field_checks(cls: type) -> dict[str, Callable[[Any], None]]:
    """The checks of a hand-built value's fields, from the same schema (see _model)."""

    def make(key: str, kind: _Kind) -> Callable[[Any], None]:
        def check(value: Any) -> None:
            if not kind.check_value(value):
                errors: list[FieldError] = []
                if type(value) is str:
                    kind.explain(value, key, errors)
                if not errors:
                    message = f"expected {kind.expected}, got {_show(value)}"
                    errors.append(FieldError(key, "type", message))
                raise InvalidRun(errors[:1], what=cls.__name__)

        return check

    return {key: make(key, kind) for key, (kind, _) in SCHEMA[cls].items()}


for _cls in SCHEMA:
    FIELD_CHECKS[_cls] = _field_checks(_cls)
_model._FREEZE = freeze_value


# --------------------------------------------------------------------------------------
# The explain walker: slow, thorough, same schema.


def _explain_object(cls: type, value: object, path: str, errors: list[FieldError]) -> None:
    if type(value) is not dict:
        where = path or "$"
        errors.append(FieldError(where, "type", f"expected an object, got {_show(value)}"))
        return
    schema = SCHEMA[cls]
    for key, (kind, required) in schema.items():
        sub = f"{path}.{key}" if path else key
        item = value.get(key, _MISSING)
        if item is _MISSING:
            if required:
                errors.append(FieldError(sub, "required", "missing required key"))
        else:
            kind.explain(item, sub, errors)
    unknown = {k: v for k, v in value.items() if k not in schema}
    if unknown:
        found = _json_problem(unknown, path, -1)
        if found is not None:
            errors.append(found)


def _explain(cls: type, value: object, what: str) -> InvalidRun:
    errors: list[FieldError] = []
    _explain_object(cls, value, "", errors)
    if not errors:  # pragma: no cover - the walker and the generated code share one schema
        errors.append(FieldError("$", "internal", "rejected, but no rule names the problem"))
    return InvalidRun(errors, what=what)


# --------------------------------------------------------------------------------------
# The converter and the public functions


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    for cls in SCHEMA:
        converter.register_structure_hook(cls, _hook_for(cls))
        converter.register_unstructure_hook(cls, _DUMPERS[cls])
    return converter


def _hook_for(cls: type) -> Callable[[Any, Any], Any]:
    def hook(data: Any, _: Any) -> Any:
        return parse_value(cls, data)

    return hook


#: The one private, preconfigured converter. ``CONVERTER.structure(data, Run)`` validates
#: and structures exactly like :func:`parse_run`; ``CONVERTER.unstructure(run)`` dumps.
CONVERTER: Final = _make_converter()

_structure_run: Final = _HOOKS[Run]
_dump_run: Final = _DUMPERS[Run]


def parse_value(cls: type[_T], data: Any, *, what: str | None = None) -> _T:
    """Parse JSON text or a mapping into any of the library's value classes.

    Args:
        cls: The value class, for example :class:`~runstate.ToolCall`.
        data: JSON text (``str`` or ``bytes``) or a mapping in the wire form.
        what: The name used in error messages; defaults to the class name.

    Raises:
        InvalidRun: listing every structural problem by path.

    Example:
        >>> from runstate.models import ToolCall
        >>> call = parse_value(ToolCall, {"id": "call_A", "type": "function",
        ...                               "function": {"name": "f", "arguments": "{}"}})
        >>> call.function.name
        'f'
    """
    name = what if what is not None else cls.__name__
    if isinstance(data, str | bytes | bytearray | memoryview):
        obj = _loads(data, name)
    elif isinstance(data, Mapping):
        obj = to_json_value(data)
    else:
        raise InvalidRun.one(
            "$",
            "type",
            f"expected a JSON object, str or bytes, got a {type(data).__name__}",
            what=name,
        )
    try:
        return _HOOKS[cls](obj)  # type: ignore[no-any-return]
    except Exception:
        pass
    raise _explain(cls, obj, name)


def parse_run(data: Mapping[str, Any] | str | bytes | bytearray) -> Run:
    """Read a run from the API's JSON: text, bytes, or an already-decoded mapping.

    This checks structure only (types, enumerated values, required keys); per-status
    rules are :func:`runstate.violations`' job. Unknown keys are kept, at every level, and
    keys an old object lacked read as null; :func:`dump_run` writes both back unchanged.

    Args:
        data: One ``thread.run`` object, as JSON text, UTF-8 bytes or a mapping.

    Returns:
        The frozen :class:`~runstate.Run`.

    Raises:
        InvalidRun: listing every problem by field path, for example
            ``created_at: expected an integer Unix timestamp, got true``; also for text
            that is not JSON, JSON that is not an object, and input nested too deeply.

    Example:
        >>> run = parse_run(b'{"id": "run_1", "object": "thread.run", "created_at": 1,'
        ...                 b' "thread_id": "t", "assistant_id": "a", "status": "queued",'
        ...                 b' "model": "gpt-4o", "future_field": [1, 2]}')
        >>> run.status.value, run.extra
        ('queued', {'future_field': [1, 2]})
        >>> dump_run(run)["future_field"]
        [1, 2]
    """
    kind = type(data)
    if kind is bytes or kind is str:
        # The common case inline: compact JSON that ends where the text ends. Anything
        # else (bad UTF-8 or JSON, surrounding whitespace, trailing data) goes through
        # ``_loads``, which accepts or refuses it exactly as before, outside this handler
        # so that no decoder exception is chained to the InvalidRun.
        try:
            text: str = data.decode() if kind is bytes else data  # type: ignore[union-attr,assignment]
            obj, end = _scan_once(text, 0)
            if end != len(text) and text[end:].strip(_WHITESPACE):  # more than a "\n"
                obj = _MISSING
        except Exception:
            obj = _MISSING
        if obj is _MISSING:
            obj = _loads(data)  # type: ignore[arg-type]
        try:
            return _structure_run(obj)  # type: ignore[no-any-return]
        except Exception:
            pass
        raise _explain(Run, obj, "run")
    return parse_value(Run, data, what="run")


def dump_run(run: Run) -> dict[str, Any]:
    """Write a run as the API's JSON object: a fresh ``dict`` ready for ``json.dumps``.

    Keys come in the real API's order; unknown keys from the input follow, and keys an
    old input lacked stay left out while they still hold null.

    Example:
        >>> from runstate import new_run
        >>> dump_run(new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                  model="gpt-4o", now=100))["expires_at"]
        700
    """
    return _dump_run(run)


def dump_value(value: Any) -> Any:
    """Write any of the library's value classes (or a union's string form) as JSON.

    Example:
        >>> from runstate.models import Usage
        >>> dump_value(Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3))
        {'prompt_tokens': 1, 'completion_tokens': 2, 'total_tokens': 3}
    """
    if type(value) is str:
        return value
    try:
        dumper = _DUMPERS[type(value)]
    except KeyError:
        raise TypeError(f"not a runstate value: {type(value).__name__}") from None
    return dumper(value)
