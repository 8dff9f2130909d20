"""The one wire schema: each value class's keys, in the real API's order, with their kinds.

Everything about the wire format is derived from :data:`SCHEMA`, once, at import:

* the generated structure and unstructure functions (:mod:`runstate._codegen`);
* the explain walker below, which interprets the same schema slowly and lists *every*
  problem of a refused input with its path;
* the checks a value built by hand passes through (:data:`runstate._model.FIELD_CHECKS`,
  run by the attrs validators of every wire field);
* the hypothesis strategies (:mod:`runstate.strategies` reads the allowed values here).

Allowed string values are stated once, in :mod:`runstate._model`'s ``Literal`` aliases
(``LastErrorCode``, ``IncompleteReason``...) and :class:`~runstate.RunStatus`; the
literal kinds below read them with ``typing.get_args``, and a test checks every field's
kind against its attrs annotation.

Kept JSON (unknown keys at every level, a function's ``parameters``, a JSON schema) is
frozen (:mod:`runstate._frozen`), finite and at most :data:`MAX_JSON_DEPTH` levels deep;
integers have at most :data:`MAX_INT_DIGITS` digits, on every path.
"""

from __future__ import annotations

import enum
import functools
import json
import math
import typing
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, get_args

from . import _jsonio, _model
from ._errors import FieldError, InvalidRun, shorten
from ._frozen import EMPTY, EMPTY_LIST, FrozenDict, FrozenList
from ._model import (
    FIELD_CHECKS,
    CodeInterpreterTool,
    CodeInterpreterToolCall,
    FileSearchOptions,
    FileSearchTool,
    FileSearchToolCall,
    FunctionCall,
    FunctionDefinition,
    FunctionTool,
    FunctionToolCall,
    IncompleteDetails,
    IncompleteReason,
    JsonSchema,
    LastError,
    LastErrorCode,
    Message,
    MessageCreation,
    MessageCreationDetails,
    MessageIncompleteDetails,
    MessageIncompleteReason,
    MessageStatus,
    Ranker,
    RankingOptions,
    RequiredAction,
    ResponseFormatJsonObject,
    ResponseFormatJsonSchema,
    ResponseFormatMode,
    ResponseFormatText,
    Run,
    RunStep,
    StepErrorCode,
    StepFunction,
    StepLastError,
    StepStatus,
    StepType,
    SubmitToolOutputs,
    ToolCall,
    ToolCallsDetails,
    ToolChoice,
    ToolChoiceFunction,
    ToolChoiceMode,
    ToolChoiceType,
    TruncationStrategy,
    TruncationType,
    Usage,
)
from ._status import STATUS_BY_VALUE, RunStatus

__all__ = [
    "COMMON_VALUES",
    "DUMPERS",
    "LATE_KEYS",
    "LIKELY_EXTRAS",
    "MAX_INT_DIGITS",
    "MAX_JSON_DEPTH",
    "MAX_JSON_ITEMS",
    "SCHEMA",
    "UNIONS",
    "Bad",
    "explain",
    "freeze_value",
    "register",
    "to_json_value",
]


class Bad(Exception):
    """Raised by generated code at the first problem; never escapes runstate."""


_Bad = Bad


_MISSING: Final = object()

#: Every tagged union kind, so that ``_generate`` can give each its class hooks.
UNIONS: Final[list[_Tagged]] = []

#: class -> its generated unstructure function; filled by :mod:`runstate._codegen`.
DUMPERS: Final[dict[type, Callable[[Any], dict[str, Any]]]] = {}


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
MAX_INT_DIGITS: Final = _jsonio.MAX_INT_DIGITS
_INT_BOUND: Final[int] = 10**MAX_INT_DIGITS


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
        if em.ns.get("_GUARD_FLOATS"):
            # Code for orjson's output: a float this large may have been an integer.
            em.lines.append(f"{indent}    if not -_BIG < {var} < _BIG: raise _Bad")
        else:
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
        UNIONS.append(self)

    def hooks_name(self, em: _Emitter) -> str:
        """The name, in ``em``'s namespace, of this union's ``tag -> structure function``.

        Each generated namespace has its own (filled by :mod:`runstate._codegen` once the
        classes' functions exist), so one schema can be generated more than once.
        """
        name = f"_tags_{id(self)}"
        em.ns.setdefault(name, {})
        return name

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        # A string that is not one of ``strings``, an object without a known ``type``, or
        # anything else (``"x"["type"]`` and ``[]["type"]`` raise) is refused and explained.
        hooks = self.hooks_name(em)
        if self.strings:
            em.lines.append(
                f"{indent}if type({var}) is str: {var} = {em.bind(self.strings, 'strs')}[{var}]"
            )
            em.lines.append(f"{indent}else: {var} = {hooks}[{var}['type']]({var})")
        else:
            em.lines.append(f"{indent}{var} = {hooks}[{var}['type']]({var})")

    def function(self, em: _Emitter) -> str:
        name = f"_union_{id(self)}"
        if name not in em.ns:
            em.ns[name] = self._structure(em.ns[self.hooks_name(em)])
        return name

    def call_expr(self, em: _Emitter, var: str) -> str:
        """An expression structuring the JSON in ``var`` (a plain name)."""
        if self.strings:
            return f"{self.function(em)}({var})"
        expr = f"{self.hooks_name(em)}[{var}['type']]({var})"
        for cls in self.classes.values():
            expr = _common_expr(cls, var, expr)
        return expr

    def _structure(self, hooks: dict[str, Callable[[Any], Any]]) -> Callable[[Any], Any]:
        """One item of an array of this union, as a plain function (cheaper to call)."""
        strings = self.strings
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
        return DUMPERS[type(value)](value)

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
                    f"unknown {self.what} type {_show(tag)}; "
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


class _JsonValue(_Kind):
    """Any JSON value kept as frozen JSON, or one kind of container (``only``).

    For objects modelled by a few typed keys among many that vary by date (a Responses
    API ``response``): the others are declared with this kind, so they keep their place
    in the key order and their value, frozen, at any depth.
    """

    def __init__(self, only: type | None = None) -> None:
        self.only = only
        names: dict[type | None, str] = {None: "a JSON value", dict: "an object", list: "an array"}
        self.expected = names[only]

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        if self.only is not None:
            em.lines.append(f"{indent}if type({var}) is not {self.only.__name__}: raise _Bad")
            em.lines.append(f"{indent}{var} = _freeze({var}, 0)")
            return
        em.lines.append(f"{indent}if type({var}) is dict or type({var}) is list:")
        em.lines.append(f"{indent}    {var} = _freeze({var}, 0)")
        em.lines.append(f"{indent}elif type({var}) is float and not -_BIG < {var} < _BIG:")
        em.lines.append(f"{indent}    raise _Bad")

    def dump_expr(self, em: _Emitter, expr: str) -> str:
        # Scalars (most kept keys) as they are, without a call; containers copied.
        thaw, frozen = em.bind(thaw_json, "thaw"), em.bind(_FROZEN_TYPES, "frozen")
        return f"({thaw}(v) if type(v := {expr}) in {frozen} else v)"

    def accepts(self, value: object) -> bool:  # decoded JSON: only the container is judged
        return self.only is None or type(value) is self.only

    def check_value(self, value: object) -> bool:
        t = type(value)
        if t is FrozenDict or t is FrozenList:
            return (self.only is None or (t is FrozenDict) == (self.only is dict)) and _frozen_ok(
                value, 0
            )
        if self.only is not None:
            return False
        if t is float:
            return math.isfinite(value)  # type: ignore[arg-type]
        return value is None or t is str or t is bool or (t is int and _int_ok(value))  # type: ignore[arg-type]

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        if not self.accepts(value):
            errors.append(FieldError(path, "type", f"expected {self.expected}, got {_show(value)}"))
        elif type(value) is dict or type(value) is list:
            found = _json_problem(value, path, 0)
            if found is not None:
                errors.append(found)
        elif type(value) is float and value in _INFINITIES:
            errors.append(FieldError(path, "json", "number out of range: it overflows to infinity"))


STR: Final = _Scalar(str, "a string")
BOOL: Final = _Scalar(bool, "true or false")
INT: Final = _Scalar(int, "an integer")
TIMESTAMP: Final = _Scalar(int, "an integer Unix timestamp")
NUMBER: Final = _Number()


def _opt(kind: _Kind) -> _Kind:
    return _Optional(kind)


def _lit(what: str, literal: Any) -> _Literal:
    """A literal kind whose values are the ``Literal`` type's (the model's one statement)."""
    return _Literal(get_args(literal), what)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(_model))


def _field_literal(cls: type, name: str) -> Any:
    """The ``Literal`` annotation of ``cls.name`` (``Literal["function"]`` for a tag)."""
    hint = _hints(cls)[name]
    if typing.get_origin(hint) is not Literal:  # pragma: no cover - a schema typo
        raise AssertionError(f"{cls.__name__}.{name} is not a Literal")
    return hint


def _tag(cls: type, what: str, name: str = "type") -> _Literal:
    return _lit(what, _field_literal(cls, name))


def _tagged(classes: tuple[type, ...], strings: Any, what: str) -> _Tagged:
    """A union told apart by each class's ``type`` tag, or by the ``strings`` literal."""
    table = {tag: cls for cls in classes for tag in get_args(_field_literal(cls, "type"))}
    return _Tagged(table, get_args(strings) if strings is not None else (), what)


def _obj(cls: type) -> _Object:
    return _Object(cls)


# --------------------------------------------------------------------------------------
# The schema: per class, wire key -> (kind, required). Order = the real API's key order
# (spec-facts §5.2), which is also the order dump_run writes.

_Field = tuple[_Kind, bool]

_TOOLS = _tagged((CodeInterpreterTool, FileSearchTool, FunctionTool), None, "tool")
_RESPONSE_FORMAT = _tagged(
    (ResponseFormatText, ResponseFormatJsonObject, ResponseFormatJsonSchema),
    ResponseFormatMode,
    "response_format",
)
_TOOL_CHOICE = _tagged((ToolChoice,), ToolChoiceMode, "tool_choice")

SCHEMA: Final[dict[type, dict[str, _Field]]] = {
    FunctionCall: {"name": (STR, True), "arguments": (STR, True)},
    ToolCall: {
        "id": (STR, True),
        "type": (_tag(ToolCall, "tool call type"), True),
        "function": (_obj(FunctionCall), True),
    },
    SubmitToolOutputs: {"tool_calls": (_Array(_obj(ToolCall)), True)},
    RequiredAction: {
        "type": (_tag(RequiredAction, "required_action type"), True),
        "submit_tool_outputs": (_obj(SubmitToolOutputs), True),
    },
    LastError: {
        "code": (_lit("error code", LastErrorCode), True),
        "message": (STR, True),
    },
    IncompleteDetails: {
        "reason": (_opt(_lit("reason", IncompleteReason)), False),
    },
    Usage: {
        "prompt_tokens": (INT, True),
        "completion_tokens": (INT, True),
        "total_tokens": (INT, True),
    },
    TruncationStrategy: {
        "type": (_lit("truncation type", TruncationType), True),
        "last_messages": (_opt(INT), False),
    },
    CodeInterpreterTool: {"type": (_tag(CodeInterpreterTool, "tool type"), True)},
    RankingOptions: {  # the real API sends ranker first (dotnet FileSearchStreamingWorks)
        "ranker": (_opt(_lit("ranker", Ranker)), False),
        "score_threshold": (NUMBER, True),
    },
    FileSearchOptions: {
        "max_num_results": (_opt(INT), False),
        "ranking_options": (_opt(_obj(RankingOptions)), False),
    },
    FileSearchTool: {
        "type": (_tag(FileSearchTool, "tool type"), True),
        "file_search": (_opt(_obj(FileSearchOptions)), False),
    },
    FunctionDefinition: {
        "name": (STR, True),
        "description": (_opt(STR), False),
        "parameters": (_opt(_JsonObject()), False),
        "strict": (_opt(BOOL), False),
    },
    FunctionTool: {
        "type": (_tag(FunctionTool, "tool type"), True),
        "function": (_obj(FunctionDefinition), True),
    },
    ResponseFormatText: {"type": (_tag(ResponseFormatText, "response_format type"), True)},
    ResponseFormatJsonObject: {
        "type": (_tag(ResponseFormatJsonObject, "response_format type"), True)
    },
    JsonSchema: {
        "name": (STR, True),
        "description": (_opt(STR), False),
        "schema": (_opt(_JsonObject()), False),
        "strict": (_opt(BOOL), False),
    },
    ResponseFormatJsonSchema: {
        "type": (_tag(ResponseFormatJsonSchema, "response_format type"), True),
        "json_schema": (_obj(JsonSchema), True),
    },
    ToolChoiceFunction: {"name": (STR, True)},
    ToolChoice: {
        "type": (_lit("tool_choice type", ToolChoiceType), True),
        "function": (_opt(_obj(ToolChoiceFunction)), False),
    },
    Run: {
        "id": (STR, True),
        "object": (_tag(Run, "object", "object"), True),
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


# --------------------------------------------------------------------------------------
# Run steps and messages (spec-facts §1.6, §11): appended to the one schema. Key order is
# the recorded one (every step and message object of the six real streams).


class _Enum(_Kind):
    """A status enum (:class:`~runstate.models.StepStatus`): wire string -> member."""

    def __init__(self, cls: type[enum.Enum], what: str) -> None:
        self.cls = cls
        self.table = {m.value: m for m in cls}
        self.what = what
        self.expected = f"one of {_choices(tuple(self.table))}"

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        em.lines.append(f"{indent}{var} = {em.bind(self.table, 'enum')}[{var}]")

    def dump_expr(self, em: _Emitter, expr: str) -> str:
        return f"{expr}._value_"

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        _Literal(tuple(self.table), self.what).explain(value, path, errors)

    def check_value(self, value: object) -> bool:
        return type(value) is self.cls


_STEP_TOOL_CALLS = _tagged(
    (FunctionToolCall, CodeInterpreterToolCall, FileSearchToolCall), None, "tool call"
)
_STEP_DETAILS = _tagged((MessageCreationDetails, ToolCallsDetails), None, "step_details")

SCHEMA.update(
    {
        MessageCreation: {"message_id": (STR, True)},
        MessageCreationDetails: {
            "type": (_tag(MessageCreationDetails, "step_details type"), True),
            "message_creation": (_obj(MessageCreation), True),
        },
        StepFunction: {
            "name": (STR, True),
            "arguments": (STR, True),
            "output": (_opt(STR), False),
        },
        FunctionToolCall: {
            "id": (STR, True),
            "type": (_tag(FunctionToolCall, "tool call type"), True),
            "function": (_obj(StepFunction), True),
        },
        CodeInterpreterToolCall: {
            "id": (STR, True),
            "type": (_tag(CodeInterpreterToolCall, "tool call type"), True),
            "code_interpreter": (_JsonObject(), True),
        },
        FileSearchToolCall: {
            "id": (STR, True),
            "type": (_tag(FileSearchToolCall, "tool call type"), True),
            "file_search": (_JsonObject(), True),
        },
        ToolCallsDetails: {
            "type": (_tag(ToolCallsDetails, "step_details type"), True),
            "tool_calls": (_Array(_STEP_TOOL_CALLS), True),
        },
        StepLastError: {
            "code": (_lit("step error code", StepErrorCode), True),
            "message": (STR, True),
        },
        RunStep: {
            "id": (STR, True),
            "object": (_tag(RunStep, "object", "object"), True),
            "created_at": (TIMESTAMP, True),
            "run_id": (STR, True),
            "assistant_id": (STR, True),
            "thread_id": (STR, True),
            "type": (_lit("step type", StepType), True),
            "status": (_Enum(StepStatus, "step status"), True),
            "cancelled_at": (_opt(TIMESTAMP), False),
            "completed_at": (_opt(TIMESTAMP), False),
            "expires_at": (_opt(TIMESTAMP), False),
            "failed_at": (_opt(TIMESTAMP), False),
            "last_error": (_opt(_obj(StepLastError)), False),
            "step_details": (_STEP_DETAILS, True),
            "usage": (_opt(_obj(Usage)), False),
        },
        MessageIncompleteDetails: {
            "reason": (_lit("message incomplete reason", MessageIncompleteReason), True),
        },
        Message: {
            "id": (STR, True),
            "object": (_tag(Message, "object", "object"), True),
            "created_at": (TIMESTAMP, True),
            "assistant_id": (_opt(STR), False),
            "thread_id": (STR, True),
            "run_id": (_opt(STR), False),
            "status": (_lit("message status", MessageStatus), True),
            "incomplete_details": (_opt(_obj(MessageIncompleteDetails)), False),
            "incomplete_at": (_opt(TIMESTAMP), False),
            "completed_at": (_opt(TIMESTAMP), False),
        },
    }
)


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


#: Keys the real API added after the first recordings: objects from before lack them
#: (``parallel_tool_calls``, mid-2024: 51 of the recorded 2023-24 objects lack it;
#: spec-facts §5.1). The generated code looks for them first and sends an object without
#: them straight to the variant for objects that lack keys.
LATE_KEYS: Final[dict[type, tuple[str, ...]]] = {Run: ("parallel_tool_calls",)}


def _common_expr(cls: type, var: str, otherwise: str) -> str:
    """``otherwise``, or the shared instance when ``var`` is ``cls``'s common JSON value."""
    if cls not in COMMON_VALUES:
        return otherwise
    name = cls.__name__
    return f"(_common_{name} if {var} == _common_json_{name} else {otherwise})"


def _structure_name(cls: type) -> str:
    return f"_s_{cls.__name__}"


def _unstructure_name(cls: type) -> str:
    return f"_d_{cls.__name__}"


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


def thaw_json(value: Any) -> Any:
    """:func:`_thaw`, by a C round trip through orjson when the ``fast`` extra is installed.

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
    return _thaw(value)


_FAST_DUMPS: Final = _jsonio.FAST_DUMPS
_FROZEN_TYPES: Final = (FrozenDict, FrozenList)
_FAST_LOADS: Final = _jsonio.FAST_LOADS


#: Kept JSON values (unknown fields, ``parameters``, ``schema``) may nest this deep.
#: Values must stay comparable, printable and writable as JSON, all of which recurse.
MAX_JSON_DEPTH: Final = 200
_INFINITIES: Final = (math.inf, -math.inf)


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
        Empty containers become the shared :data:`~runstate._frozen.EMPTY` and
        :data:`~runstate._frozen.EMPTY_LIST`.
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


_freeze: Final = _freezer(math.inf)
#: For orjson's output (see :func:`_freezer`).
GUARDED_FLOAT_LIMIT: Final = 2.0**63
_freeze_guarded: Final = _freezer(GUARDED_FLOAT_LIMIT)


def _scanner(limit: float) -> Callable[[Any, int], Any]:
    """A check of decoded JSON that refuses exactly what ``_freezer(limit)`` refuses.

    It visits the same containers and numbers (every container is entered, its depth
    checked first; every float is compared with ``limit``) but builds nothing, and
    returns the value itself. For checking code (:func:`runstate._codegen.generate`
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


_scan: Final = _scanner(math.inf)
_scan_guarded: Final = _scanner(GUARDED_FLOAT_LIMIT)


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
        raise InvalidRun([found], what="value") from None


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
        message = f"object keys must be strings, got {_show(key)}"
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


def explain(
    cls: type, value: object, what: str, error: type[InvalidRun] = InvalidRun
) -> InvalidRun:
    errors: list[FieldError] = []
    _explain_object(cls, value, "", errors)
    if not errors:  # pragma: no cover - the walker and the generated code share one schema
        errors.append(FieldError("$", "internal", "rejected, but no rule names the problem"))
    return error(errors, what=what)


def _python_expected(kind: _Kind) -> str:
    """What a field of a value built by hand holds, in Python terms."""
    if isinstance(kind, _Optional):
        return f"{_python_expected(kind.inner)} or None"
    if isinstance(kind, _Object):
        return f"a {kind.cls.__name__}"
    if isinstance(kind, _Array):
        return f"a tuple of {_python_expected(kind.item)[2:]} values"
    if isinstance(kind, _Tagged):
        names = " or ".join(sorted({c.__name__ for c in kind.classes.values()}))
        return f"{_choices(tuple(kind.strings))} or a {names}" if kind.strings else f"a {names}"
    if isinstance(kind, _JsonObject | _StringMap):
        return f"{kind.expected} (a mapping)"
    return kind.expected


def _python_show(value: object) -> str:
    """A hand-built field's value in a message: a JSON scalar as JSON, else its type."""
    if value is None or type(value) in (str, int, float, bool):
        return _show(value)
    return f"a {type(value).__name__}"


def _field_checks(cls: type) -> dict[str, Callable[[Any], None]]:
    """The checks of a hand-built value's fields, from the same schema (see _model)."""

    def make(key: str, kind: _Kind) -> Callable[[Any], None]:
        def check(value: Any) -> None:
            if not kind.check_value(value):
                errors: list[FieldError] = []
                if type(value) is str:
                    kind.explain(value, key, errors)
                if not errors:
                    message = f"expected {_python_expected(kind)}, got {_python_show(value)}"
                    errors.append(FieldError(key, "type", message))
                raise InvalidRun(errors[:1], what=cls.__name__)

        return check

    return {key: make(key, kind) for key, (kind, _) in SCHEMA[cls].items()}


def register(schema: Mapping[type, dict[str, _Field]]) -> None:
    """Add a sibling machine's classes to the one schema (and their field checks).

    :func:`runstate._codegen.extend` calls it, then generates their functions; the
    explain walker and hand-built values' checks read :data:`SCHEMA` like the run's own.
    """
    SCHEMA.update(schema)
    for cls in schema:
        FIELD_CHECKS[cls] = _field_checks(cls)


register(dict(SCHEMA))
_model._FREEZE = freeze_value
