"""Reading and writing runs as the API's JSON, losslessly and fast.

Design
------
One schema, below, lists each value class's wire keys in the real API's order with a
*kind* per key (string, integer timestamp, literal, nested object, tagged union...).
Everything is derived from it, once, at import:

* a **structure function** per class, generated as Python source and compiled, with every
  check inlined (``type(v) is int``, a dict lookup for literals) and no per-call
  reflection. It raises a private ``_Bad`` at the first problem and builds the instance by
  storing straight into its slots;
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

Structural only: types, literal values and required keys. Per-status rules live in
:mod:`runstate._invariants`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import cattrs

from ._errors import FieldError, InvalidRun
from ._model import (
    EMPTY,
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
    "dump_run",
    "dump_value",
    "parse_run",
    "parse_value",
    "to_json_value",
]

_T = TypeVar("_T")


class _Bad(Exception):  # noqa: N818 - private control-flow signal
    """Raised by generated code at the first problem; never escapes this module."""


_MISSING: Final = object()


# --------------------------------------------------------------------------------------
# Rendering values in messages


def _show(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


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


class _Scalar(_Kind):
    def __init__(self, pytype: type, expected: str) -> None:
        self.pytype = pytype
        self.expected = expected

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        em.lines.append(f"{indent}if type({var}) is not {self.pytype.__name__}: raise _Bad")

    def accepts(self, value: object) -> bool:
        return type(value) is self.pytype


class _Number(_Kind):
    expected = "a finite number"

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        em.lines.append(
            f"{indent}if type({var}) is not int and "
            f"(type({var}) is not float or not _isfinite({var})): raise _Bad"
        )

    def accepts(self, value: object) -> bool:
        return type(value) is int or (type(value) is float and math.isfinite(value))


class _Literal(_Kind):
    def __init__(self, values: tuple[str, ...], what: str) -> None:
        # Mapping each value to itself canonicalises (interns) it: runs share the strings.
        self.table = {v: v for v in values}
        self.values = values
        self.what = what

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        table = em.bind(self.table, "lit")
        em.lines.append(f"{indent}{var} = {table}.get({var}) if type({var}) is str else None")
        em.lines.append(f"{indent}if {var} is None: raise _Bad")

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        if type(value) is not str:
            errors.append(FieldError(path, "type", f"expected a string, got {_show(value)}"))
        elif value not in self.table:
            errors.append(
                FieldError(
                    path,
                    "enum",
                    f"unknown {self.what} {value!r}; expected one of {_choices(self.values)}",
                )
            )


class _Status(_Kind):
    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        em.lines.append(f"{indent}{var} = _STATUS[{var}]")

    def dump_expr(self, em: _Emitter, expr: str) -> str:
        return f"{expr}.value"

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        _Literal(tuple(STATUS_BY_VALUE), "status").explain(value, path, errors)


class _Optional(_Kind):
    def __init__(self, inner: _Kind) -> None:
        self.inner = inner
        self.expected = f"{inner.expected} or null"

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
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


class _Object(_Kind):
    """A nested value class."""

    expected = "an object"

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        em.lines.append(f"{indent}{var} = {self.function(em)}({var})")

    def function(self, em: _Emitter) -> str:  # noqa: ARG002 - same signature as _Tagged
        return _structure_name(self.cls)

    def dump_expr(self, em: _Emitter, expr: str) -> str:
        return f"{_unstructure_name(self.cls)}({expr})"

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        _explain_object(self.cls, value, path, errors)


class _Tagged(_Kind):
    """A union told apart by the object's ``type``, or by being one of a few strings."""

    def __init__(
        self, classes: Mapping[str, type], strings: tuple[str, ...], what: str
    ) -> None:
        self.classes = dict(classes)
        self.strings = {s: s for s in strings}
        self.what = what
        self.expected = (
            f"{_choices(strings)} or an object with a 'type'" if strings else "an object"
        )

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        em.lines.append(f"{indent}{var} = {self.function(em)}({var})")

    def function(self, em: _Emitter) -> str:
        return em.bind(self._structure, "union")

    def _structure(self, o: Any) -> Any:  # noqa: ANN401 - JSON in, value out
        if type(o) is str:
            return self.strings[o]
        return _HOOKS[self.classes[o["type"]]](o)

    def dump_expr(self, em: _Emitter, expr: str) -> str:
        return f"{em.bind(self._unstructure, 'dunion')}({expr})"

    @staticmethod
    def _unstructure(value: Any) -> Any:  # noqa: ANN401 - value in, JSON out
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
                        f"unknown {self.what} {value!r}; expected {self.expected}",
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


class _Array(_Kind):
    expected = "an array"

    def __init__(self, item: _Object | _Tagged) -> None:
        self.item = item

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        em.lines.append(f"{indent}if type({var}) is not list: raise _Bad")
        em.lines.append(f"{indent}{var} = tuple(map({self.item.function(em)}, {var}))")

    def dump_expr(self, em: _Emitter, expr: str) -> str:
        return f"[{self.item.dump_expr(em, 'x')} for x in {expr}]"

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        if type(value) is not list:
            errors.append(FieldError(path, "type", f"expected an array, got {_show(value)}"))
            return
        for i, item in enumerate(value):
            self.item.explain(item, f"{path}[{i}]", errors)


class _JsonObject(_Kind):
    """Any JSON object, kept as JSON (a JSON Schema, for example)."""

    expected = "an object"

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        em.lines.append(f"{indent}if type({var}) is not dict: raise _Bad")

    def dump_expr(self, em: _Emitter, expr: str) -> str:
        return f"_copy({expr})"

    def accepts(self, value: object) -> bool:
        return type(value) is dict


class _StringMap(_Kind):
    """``metadata``: an object whose values are strings."""

    expected = "an object of strings"

    def emit(self, em: _Emitter, var: str, indent: str) -> None:
        em.lines.append(f"{indent}if type({var}) is not dict: raise _Bad")
        em.lines.append(f"{indent}for x in {var}.values():")
        em.lines.append(f"{indent}    if type(x) is not str: raise _Bad")

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
    {"code_interpreter": CodeInterpreterTool, "file_search": FileSearchTool,
     "function": FunctionTool},
    (),
    "tool",
)
_RESPONSE_FORMAT = _Tagged(
    {"text": ResponseFormatText, "json_object": ResponseFormatJsonObject,
     "json_schema": ResponseFormatJsonSchema},
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


# --------------------------------------------------------------------------------------
# JSON helpers


def _copy(value: Any) -> Any:  # noqa: ANN401 - JSON in, JSON out
    """Deep-copy a JSON value (dicts and lists; scalars are immutable)."""
    t = type(value)
    if t is dict:
        return {k: _copy(v) for k, v in value.items()}
    if t is list:
        return [_copy(v) for v in value]
    return value


def to_json_value(value: Any, path: str = "$", depth: int = 0) -> Any:  # noqa: ANN401
    """Copy a Python value into plain JSON types, or raise :class:`InvalidRun`.

    Mappings become dicts, lists and tuples become lists; keys must be strings, numbers
    finite, and nothing else but ``str``, ``int``, ``float``, ``bool`` and ``None`` is
    accepted. This is the one normalisation step for inputs that did not come from bytes.
    """
    if depth > _MAX_DEPTH:
        raise InvalidRun.one(path, "json", f"nested deeper than {_MAX_DEPTH} levels")
    if value is None or type(value) in (str, int, bool):
        return value
    if type(value) is float:
        if not math.isfinite(value):
            raise InvalidRun.one(path, "json", f"{value} is not a JSON number")
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise InvalidRun.one(path, "json", f"object keys must be strings, got {k!r}")
            out[k] = to_json_value(v, f"{path}.{k}" if path != "$" else k, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [to_json_value(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    raise InvalidRun.one(path, "json", f"expected a JSON value, got a {type(value).__name__}")


_MAX_DEPTH: Final = 200


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)
_scan_once: Final = _DECODER.scan_once
_WHITESPACE: Final = " \t\n\r"


def _loads(data: str | bytes | bytearray | memoryview, what: str = "run") -> Any:  # noqa: ANN401
    """Decode JSON text; every failure becomes :class:`InvalidRun` at ``$``."""
    try:
        text = data if type(data) is str else bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRun.one("$", "json", f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                             what=what) from None
    try:
        try:
            # The scanner alone, skipping json.loads' wrappers; falls back for leading space.
            obj, end = _scan_once(text, 0)
        except StopIteration:
            obj, end = _DECODER.raw_decode(text, len(text) - len(text.lstrip(_WHITESPACE)))
        if end != len(text) and text[end:].strip(_WHITESPACE):
            raise json.JSONDecodeError("Extra data", text, end)
    except json.JSONDecodeError as exc:
        raise InvalidRun.one("$", "json", f"not valid JSON: {exc.msg} at line {exc.lineno} "
                             f"column {exc.colno}", what=what) from None
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


def _gen_structure(cls: type, fields: dict[str, _Field], ns: dict[str, Any]) -> str:
    em = _Emitter(ns)
    defaults = _defaults(cls)
    name = _structure_name(cls)
    known = em.bind(frozenset(fields), "known")
    new = em.bind(cls.__new__, "new")
    em.lines.append(f"def {name}(o):")
    em.lines.append("    if type(o) is not dict: raise _Bad")
    em.lines.append("    ab = []")
    optional = 0
    for i, (key, (kind, required)) in enumerate(fields.items()):
        var = f"v{i}"
        em.lines.append(f"    {var} = o.get({key!r}, _MISSING)")
        if required:
            em.lines.append(f"    if {var} is _MISSING: raise _Bad")
            kind.emit(em, var, "    ")
        else:
            optional += 1
            default = em.bind(defaults[key], "default")
            em.lines.append(f"    if {var} is _MISSING:")
            em.lines.append(f"        {var} = {default}; ab.append({key!r})")
            em.lines.append("    else:")
            kind.emit(em, var, "        ")
    em.lines.append(f"    if len(o) + len(ab) != {len(fields)}:")
    em.lines.append(f"        ex = {{k: x for k, x in o.items() if k not in {known}}}")
    em.lines.append("    else:")
    em.lines.append("        ex = _EMPTY")
    em.lines.append(f"    r = {new}({em.bind(cls, 'cls')})")
    slots = cls.__dict__
    for i, key in enumerate(fields):
        setter = em.bind(slots[key].__set__, "set")
        em.lines.append(f"    {setter}(r, v{i})")
    em.lines.append(f"    {em.bind(slots['extra'].__set__, 'set')}(r, ex)")
    em.lines.append(
        f"    {em.bind(slots['absent'].__set__, 'set')}(r, frozenset(ab) if ab else _NO_KEYS)"
    )
    em.lines.append("    return r")
    return "\n".join(em.lines)


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
            d[k] = _copy(v)


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
    "_copy": _copy,
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
    exec(code, _NS)  # noqa: S102 - our own generated source, as cattrs.gen does
    for cls in SCHEMA:
        _HOOKS[cls] = _NS[_structure_name(cls)]
        _DUMPERS[cls] = _NS[_unstructure_name(cls)]


_generate()


# --------------------------------------------------------------------------------------
# The explain walker: slow, thorough, same schema.


def _explain_object(cls: type, value: object, path: str, errors: list[FieldError]) -> None:
    if type(value) is not dict:
        where = path or "$"
        errors.append(FieldError(where, "type", f"expected an object, got {_show(value)}"))
        return
    for key, (kind, required) in SCHEMA[cls].items():
        sub = f"{path}.{key}" if path else key
        item = value.get(key, _MISSING)
        if item is _MISSING:
            if required:
                errors.append(FieldError(sub, "required", "missing required key"))
        else:
            kind.explain(item, sub, errors)


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
    def hook(data: Any, _: Any) -> Any:  # noqa: ANN401 - cattrs hook signature
        return parse_value(cls, data)

    return hook


#: The one private, preconfigured converter. ``CONVERTER.structure(data, Run)`` validates
#: and structures exactly like :func:`parse_run`; ``CONVERTER.unstructure(run)`` dumps.
CONVERTER: Final = _make_converter()

_structure_run: Final = _HOOKS[Run]
_dump_run: Final = _DUMPERS[Run]


def parse_value(cls: type[_T], data: Any, *, what: str | None = None) -> _T:  # noqa: ANN401
    """Parse JSON text or a mapping into any of the library's value classes.

    Args:
        cls: The value class, for example :class:`~runstate.ToolCall`.
        data: JSON text (``str`` or ``bytes``) or a mapping in the wire form.
        what: The name used in error messages; defaults to the class name.

    Raises:
        InvalidRun: listing every structural problem by path.
    """
    name = what if what is not None else cls.__name__
    if isinstance(data, str | bytes | bytearray | memoryview):
        obj = _loads(data, name)
    elif isinstance(data, Mapping):
        obj = to_json_value(data)
    else:
        raise InvalidRun.one(
            "$", "type", f"expected a JSON object, str or bytes, got a {type(data).__name__}",
            what=name,
        )
    try:
        return _HOOKS[cls](obj)  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001, S110 - any failure is explained below, from the data
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
    if type(data) is bytes or type(data) is str:
        obj = _loads(data)
        try:
            return _structure_run(obj)  # type: ignore[no-any-return]
        except Exception:  # noqa: BLE001, S110 - any failure is explained below
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
    return _dump_run(run)  # type: ignore[no-any-return]


def dump_value(value: Any) -> Any:  # noqa: ANN401 - any value class in, JSON out
    """Write any of the library's value classes (or a union's string form) as JSON."""
    if type(value) is str:
        return value
    try:
        dumper = _DUMPERS[type(value)]
    except KeyError:
        raise TypeError(f"not a runstate value: {type(value).__name__}") from None
    return dumper(value)
