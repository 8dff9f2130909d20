"""The schema engine: kinds of wire keys, the registry of value classes, the explain walker.

Generic: nothing here knows about runs. A machine declares its value classes' wire
schema (per class, wire key -> ``(kind, required)``, in the real API's key order) and
calls :func:`register` (or :func:`runstate._engine.codegen.extend`, which also
generates its parse and dump functions). Everything about the wire format is derived
from the registered schema:

* the generated structure and unstructure functions (:mod:`runstate._engine.codegen`);
* the explain walker below, which interprets the same schema slowly and lists *every*
  problem of a refused input with its path;
* the checks a value built by hand passes through (:data:`FIELD_CHECKS`, run by the
  attrs validators of every wire field, :mod:`runstate._engine.values`).

Each kind can emit fast code, explain a failure, and check a hand-built value. Literal
kinds read a ``Literal`` alias's values with ``typing.get_args`` (the one statement of
the values, in the machine's model). The JSON value rules are :mod:`runstate._engine.jsonvalue`.
"""

from __future__ import annotations

import enum
import functools
import math
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, get_args

from .errors import FieldError, InvalidRun, shorten
from .frozen import FrozenDict, FrozenList
from .jsonvalue import (
    FROZEN_TYPES,
    INFINITIES,
    Bad,
    frozen_ok,
    int_ok,
    json_problem,
    show,
    thaw_json,
)

if TYPE_CHECKING:
    from _collections_abc import dict_items, dict_keys, dict_values

__all__ = [
    "BOOL",
    "COMMON_VALUES",
    "DUMPERS",
    "FIELD_CHECKS",
    "Generated",
    "INT",
    "LATE_KEYS",
    "LIKELY_EXTRAS",
    "MISSING",
    "NUMBER",
    "SCHEMA",
    "STR",
    "TIMESTAMP",
    "UNIONS",
    "Array",
    "Bad",
    "Emitter",
    "EnumKind",
    "Field",
    "JsonObject",
    "JsonValue",
    "Kind",
    "LiteralKind",
    "ObjectKind",
    "OptionalKind",
    "Scalar",
    "StringMap",
    "Tagged",
    "common_expr",
    "explain",
    "lit",
    "obj",
    "opt",
    "register",
    "structure_name",
    "tag",
    "tagged",
    "unstructure_name",
]

_Bad = Bad

MISSING: Final = object()

_F = TypeVar("_F", bound=Callable[..., Any])

#: Every tagged union kind, so that code generation can give each its class hooks.
UNIONS: Final[list[Tagged]] = []


class Generated(dict[type, _F]):
    """class -> one of its generated functions, generated when first looked up.

    A machine's model declares its classes (:func:`runstate._engine.codegen.extend`),
    which gives each class a *builder* here instead of a function: the first lookup of
    the class (``table[cls]``, ``table.get(cls)``) calls it, and the builder generates
    and compiles the functions of the class and of the classes it nests, and stores
    them. Later lookups are plain dict lookups. A registered class counts as present
    (``cls in table``) before it is built; iterating, ``len`` and the views build every
    class first. :meth:`generated` lists the classes built so far.
    """

    def __init__(self) -> None:
        super().__init__()
        self._builders: dict[type, Callable[[type], None]] = {}

    def defer(self, classes: Iterable[type], builder: Callable[[type], None]) -> None:
        """Let ``builder(cls)`` fill ``self[cls]`` (for each of ``classes``) on first use."""
        for cls in classes:
            self._builders[cls] = builder

    def __missing__(self, key: type) -> _F:
        builder = self._builders.get(key)
        if builder is None:
            raise KeyError(key)
        builder(key)
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self._builders or dict.__contains__(self, key)

    def get(self, key: type, default: Any = None) -> Any:
        """``self[key]`` (built if need be), or ``default`` for a class not registered."""
        try:
            return self[key]
        except KeyError:
            return default

    def generated(self) -> tuple[type, ...]:
        """The classes whose function has been generated so far, in the order built."""
        return tuple(dict.keys(self))

    def _build_all(self) -> None:
        for cls in self._builders:
            self[cls]

    def __iter__(self) -> Iterator[type]:
        self._build_all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._build_all()
        return dict.__len__(self)

    def keys(self) -> dict_keys[type, _F]:
        self._build_all()
        return dict.keys(self)

    def values(self) -> dict_values[type, _F]:
        self._build_all()
        return dict.values(self)

    def items(self) -> dict_items[type, _F]:
        self._build_all()
        return dict.items(self)


#: class -> its generated unstructure function, generated on first use (see
#: :class:`Generated`; the builders are :mod:`runstate._engine.codegen`'s).
DUMPERS: Final[Generated[Callable[[Any], dict[str, Any]]]] = Generated()


def _choices(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)


# --------------------------------------------------------------------------------------
# Kinds: what one wire key may hold. Each kind can emit fast code and explain failures.


class Emitter:
    """Collects generated source lines and the names they refer to."""

    def __init__(self, ns: dict[str, Any]) -> None:
        self.ns = ns
        self.lines: list[str] = []

    def bind(self, value: object, hint: str) -> str:
        """Bind value to a fresh name in the namespace; return the name."""
        name = f"_{hint}{len(self.ns)}"  # unique: the namespace only grows
        self.ns[name] = value
        return name


class Kind:
    """What one wire key may hold: it emits fast code, explains failures, checks values."""

    #: A phrase for "expected ..." messages.
    expected: str = "a value"

    def emit(self, em: Emitter, var: str, indent: str) -> None:
        """Emit statements that check ``var`` and rebind it to its Python value."""
        raise NotImplementedError

    def dump_expr(self, em: Emitter, expr: str) -> str:
        """An expression giving the JSON form of ``expr`` (a fresh container if any)."""
        return expr

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        """Append every problem with ``value`` (at ``path``) to ``errors``."""
        if not self.accepts(value):
            errors.append(FieldError(path, "type", f"expected {self.expected}, got {show(value)}"))

    def accepts(self, value: object) -> bool:
        """Whether decoded JSON value is of this kind."""
        raise NotImplementedError

    def check_value(self, value: object) -> bool:
        """Whether ``value``, a field of a value built by hand, is what parsing yields."""
        return self.accepts(value)

    def nested(self) -> tuple[type, ...]:
        """The value classes whose generated functions this kind's code calls."""
        return ()


#: The largest integers accepted anywhere have 4300 digits: Python's default limit for
#: converting between ``int`` and text, so JSON text can carry no larger one, and a


class Scalar(Kind):
    """A JSON scalar of one Python type (a string, a boolean, an integer)."""

    def __init__(self, pytype: type, expected: str) -> None:
        self.pytype = pytype
        self.expected = expected

    def emit(self, em: Emitter, var: str, indent: str) -> None:
        """See :meth:`Kind.emit`."""
        em.lines.append(f"{indent}if type({var}) is not {self.pytype.__name__}: raise _Bad")

    def accepts(self, value: object) -> bool:
        """Whether decoded JSON value is of this kind."""
        return type(value) is self.pytype

    def check_value(self, value: object) -> bool:
        """See :meth:`Kind.check_value`."""
        return type(value) is self.pytype and (type(value) is not int or int_ok(value))


class Number(Kind):
    expected = "a finite number"

    def emit(self, em: Emitter, var: str, indent: str) -> None:
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
        return self.accepts(value) and (type(value) is not int or int_ok(value))


class LiteralKind(Kind):
    """A string that must be one of a Literal's values."""

    def __init__(self, values: tuple[str, ...], what: str) -> None:
        # Mapping each value to itself canonicalises (interns) it: runs share the strings.
        self.table = {v: v for v in values}
        self.values = values
        self.what = what

    def emit(self, em: Emitter, var: str, indent: str) -> None:
        """See :meth:`Kind.emit`."""
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
        """See :meth:`Kind.explain`."""
        if type(value) is not str:
            errors.append(FieldError(path, "type", f"expected a string, got {show(value)}"))
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
        """See :meth:`Kind.check_value`."""
        return type(value) is str and value in self.table


class OptionalKind(Kind):
    """A kind, or null."""

    def __init__(self, inner: Kind) -> None:
        self.inner = inner
        self.expected = f"{inner.expected} or null"

    def emit(self, em: Emitter, var: str, indent: str) -> None:
        """See :meth:`Kind.emit`."""
        if isinstance(self.inner, Scalar):
            em.lines.append(
                f"{indent}if {var} is not None and type({var}) is not "
                f"{self.inner.pytype.__name__}: raise _Bad"
            )
            return
        em.lines.append(f"{indent}if {var} is not None:")
        self.inner.emit(em, var, indent + "    ")

    def dump_expr(self, em: Emitter, expr: str) -> str:
        """See :meth:`Kind.dump_expr`."""
        inner = self.inner.dump_expr(em, expr)
        if inner == expr:
            return expr
        return f"(None if {expr} is None else {inner})"

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        """See :meth:`Kind.explain`."""
        if value is not None:
            self.inner.explain(value, path, errors)

    def check_value(self, value: object) -> bool:
        """See :meth:`Kind.check_value`."""
        return value is None or self.inner.check_value(value)

    def nested(self) -> tuple[type, ...]:
        """See :meth:`Kind.nested`."""
        return self.inner.nested()


class ObjectKind(Kind):
    """A nested value class."""

    expected = "an object"

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def emit(self, em: Emitter, var: str, indent: str) -> None:
        """See :meth:`Kind.emit`."""
        em.lines.append(f"{indent}{var} = {self.call_expr(em, var)}")

    def function(self, em: Emitter) -> str:
        """The name of the function structuring one value of this kind."""
        return structure_name(self.cls)

    def call_expr(self, em: Emitter, var: str) -> str:
        """An expression structuring the JSON in ``var`` (a plain name)."""
        return common_expr(self.cls, var, f"{self.function(em)}({var})")

    def dump_expr(self, em: Emitter, expr: str) -> str:
        """See :meth:`Kind.dump_expr`."""
        return f"{unstructure_name(self.cls)}({expr})"

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        """See :meth:`Kind.explain`."""
        _explain_object(self.cls, value, path, errors)

    def check_value(self, value: object) -> bool:
        """See :meth:`Kind.check_value`."""
        return type(value) is self.cls

    def nested(self) -> tuple[type, ...]:
        """See :meth:`Kind.nested`."""
        return (self.cls,)


class Tagged(Kind):
    """A union told apart by the object's ``type``, or by being one of a few strings."""

    def __init__(self, classes: Mapping[str, type], strings: tuple[str, ...], what: str) -> None:
        self.classes = dict(classes)
        self.strings = {s: s for s in strings}
        self.what = what
        self.expected = (
            f"{_choices(strings)} or an object with a 'type'" if strings else "an object"
        )
        UNIONS.append(self)

    def hooks_name(self, em: Emitter) -> str:
        """The name, in ``em``'s namespace, of this union's ``tag -> structure function``.

        Each generated namespace has its own (filled by :mod:`runstate._engine.codegen` once the
        classes' functions exist), so one schema can be generated more than once.
        """
        name = f"_tags_{id(self)}"
        em.ns.setdefault(name, {})
        return name

    def emit(self, em: Emitter, var: str, indent: str) -> None:
        """See :meth:`Kind.emit`."""
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

    def function(self, em: Emitter) -> str:
        """The name of the function structuring one value of this kind."""
        name = f"_union_{id(self)}"
        if name not in em.ns:
            em.ns[name] = self._structure(em.ns[self.hooks_name(em)])
        return name

    def call_expr(self, em: Emitter, var: str) -> str:
        """An expression structuring the JSON in ``var`` (a plain name)."""
        if self.strings:
            return f"{self.function(em)}({var})"
        expr = f"{self.hooks_name(em)}[{var}['type']]({var})"
        for cls in self.classes.values():
            expr = common_expr(cls, var, expr)
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

    def dump_expr(self, em: Emitter, expr: str) -> str:
        """See :meth:`Kind.dump_expr`."""
        return f"{em.bind(self._unstructure, 'dunion')}({expr})"

    @staticmethod
    def _unstructure(value: Any) -> Any:
        if type(value) is str:
            return value
        return DUMPERS[type(value)](value)

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        """See :meth:`Kind.explain`."""
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
            errors.append(FieldError(path, "type", f"expected {self.expected}, got {show(value)}"))
            return
        tag = value.get("type", MISSING)
        if tag is MISSING:
            errors.append(FieldError(f"{path}.type", "required", "missing required key"))
        elif type(tag) is not str or tag not in self.classes:
            errors.append(
                FieldError(
                    f"{path}.type",
                    "enum",
                    f"unknown {self.what} type {show(tag)}; "
                    f"expected one of {_choices(tuple(self.classes))}",
                )
            )
        else:
            _explain_object(self.classes[tag], value, path, errors)

    def check_value(self, value: object) -> bool:
        """See :meth:`Kind.check_value`."""
        if type(value) is str:
            return value in self.strings
        cls = type(value)
        return any(cls is c for c in self.classes.values()) and (
            self.classes.get(getattr(value, "type", None)) is cls  # type: ignore[arg-type]
        )

    def nested(self) -> tuple[type, ...]:
        """See :meth:`Kind.nested`."""
        return tuple(self.classes.values())


class Array(Kind):
    """An array of objects or of a tagged union."""

    expected = "an array"

    def __init__(self, item: ObjectKind | Tagged) -> None:
        self.item = item

    def emit(self, em: Emitter, var: str, indent: str) -> None:
        """See :meth:`Kind.emit`."""
        em.lines.append(f"{indent}if type({var}) is not list: raise _Bad")
        # One item is the common case (one tool, one tool call): a direct call is cheaper
        # than ``tuple(map(...))``, whose calls come from C.
        em.lines.append(f"{indent}if len({var}) == 1:")
        em.lines.append(f"{indent}    x = {var}[0]; {var} = ({self.item.call_expr(em, 'x')},)")
        em.lines.append(
            f"{indent}else: {var} = tuple(map({self.item.function(em)}, {var})) if {var} else ()"
        )

    def dump_expr(self, em: Emitter, expr: str) -> str:
        """See :meth:`Kind.dump_expr`."""
        return f"[{self.item.dump_expr(em, 'x')} for x in {expr}]"

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        """See :meth:`Kind.explain`."""
        if type(value) is not list:
            errors.append(FieldError(path, "type", f"expected an array, got {show(value)}"))
            return
        for i, item in enumerate(value):
            self.item.explain(item, f"{path}[{i}]", errors)

    def check_value(self, value: object) -> bool:
        """See :meth:`Kind.check_value`."""
        return type(value) is tuple and all(self.item.check_value(x) for x in value)

    def nested(self) -> tuple[type, ...]:
        """See :meth:`Kind.nested`."""
        return self.item.nested()


class JsonObject(Kind):
    """Any JSON object, kept as JSON (a JSON Schema, for example)."""

    expected = "an object"

    def emit(self, em: Emitter, var: str, indent: str) -> None:
        """See :meth:`Kind.emit`."""
        em.lines.append(f"{indent}if type({var}) is not dict: raise _Bad")
        em.lines.append(f"{indent}{var} = _freeze({var}, 0)")

    def dump_expr(self, em: Emitter, expr: str) -> str:
        """See :meth:`Kind.dump_expr`."""
        return f"_thaw({expr})"

    def check_value(self, value: object) -> bool:
        """See :meth:`Kind.check_value`."""
        return type(value) is FrozenDict and frozen_ok(value, 0)

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        """See :meth:`Kind.explain`."""
        if type(value) is not dict:
            errors.append(FieldError(path, "type", f"expected an object, got {show(value)}"))
            return
        found = json_problem(value, path, 0)
        if found is not None:
            errors.append(found)


class StringMap(Kind):
    """``metadata``: an object whose values are strings."""

    expected = "an object of strings"

    def emit(self, em: Emitter, var: str, indent: str) -> None:
        """See :meth:`Kind.emit`."""
        em.lines.append(f"{indent}if type({var}) is not dict: raise _Bad")
        em.lines.append(f"{indent}if {var}:")
        em.lines.append(f"{indent}    for x in {var}.values():")
        em.lines.append(f"{indent}        if type(x) is not str: raise _Bad")
        em.lines.append(f"{indent}    {var} = _FrozenDict({var})")
        em.lines.append(f"{indent}else: {var} = _EMPTY")

    def check_value(self, value: object) -> bool:
        """See :meth:`Kind.check_value`."""
        return type(value) is FrozenDict and all(
            type(k) is str and type(v) is str for k, v in value.items()
        )

    def dump_expr(self, em: Emitter, expr: str) -> str:
        """See :meth:`Kind.dump_expr`."""
        return f"dict({expr})"

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        """See :meth:`Kind.explain`."""
        if type(value) is not dict:
            errors.append(FieldError(path, "type", f"expected an object, got {show(value)}"))
            return
        for key, item in value.items():
            if type(item) is not str:
                errors.append(
                    FieldError(f"{path}.{key}", "type", f"expected a string, got {show(item)}")
                )


class JsonValue(Kind):
    """Any JSON value kept as frozen JSON, or one kind of container (``only``).

    For objects modelled by a few typed keys among many that vary by date (a Responses
    API ``response``): the others are declared with this kind, so they keep their place
    in the key order and their value, frozen, at any depth.
    """

    def __init__(self, only: type | None = None) -> None:
        self.only = only
        names: dict[type | None, str] = {None: "a JSON value", dict: "an object", list: "an array"}
        self.expected = names[only]

    def emit(self, em: Emitter, var: str, indent: str) -> None:
        """See :meth:`Kind.emit`."""
        if self.only is not None:
            em.lines.append(f"{indent}if type({var}) is not {self.only.__name__}: raise _Bad")
            em.lines.append(f"{indent}{var} = _freeze({var}, 0)")
            return
        em.lines.append(f"{indent}if type({var}) is dict or type({var}) is list:")
        em.lines.append(f"{indent}    {var} = _freeze({var}, 0)")
        em.lines.append(f"{indent}elif type({var}) is float and not -_BIG < {var} < _BIG:")
        em.lines.append(f"{indent}    raise _Bad")

    def dump_expr(self, em: Emitter, expr: str) -> str:
        """See :meth:`Kind.dump_expr`."""
        # Scalars (most kept keys) as they are, without a call; containers copied.
        thaw, frozen = em.bind(thaw_json, "thaw"), em.bind(FROZEN_TYPES, "frozen")
        return f"({thaw}(v) if type(v := {expr}) in {frozen} else v)"

    def accepts(self, value: object) -> bool:
        """Whether decoded JSON ``value`` is of this kind (only the container is judged)."""
        return self.only is None or type(value) is self.only

    def check_value(self, value: object) -> bool:
        """Whether decoded JSON value is of this kind."""
        """See :meth:`Kind.check_value`."""
        t = type(value)
        if t is FrozenDict or t is FrozenList:
            return (self.only is None or (t is FrozenDict) == (self.only is dict)) and frozen_ok(
                value, 0
            )
        if self.only is not None:
            return False
        if t is float:
            return math.isfinite(value)  # type: ignore[arg-type]
        return value is None or t is str or t is bool or (t is int and int_ok(value))  # type: ignore[arg-type]

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        """See :meth:`Kind.explain`."""
        if not self.accepts(value):
            errors.append(FieldError(path, "type", f"expected {self.expected}, got {show(value)}"))
        elif type(value) is dict or type(value) is list:
            found = json_problem(value, path, 0)
            if found is not None:
                errors.append(found)
        elif type(value) is float and value in INFINITIES:
            errors.append(FieldError(path, "json", "number out of range: it overflows to infinity"))


STR: Final = Scalar(str, "a string")
BOOL: Final = Scalar(bool, "true or false")
INT: Final = Scalar(int, "an integer")
TIMESTAMP: Final = Scalar(int, "an integer Unix timestamp")
NUMBER: Final = Number()


def opt(kind: Kind) -> Kind:
    """The kind, or null."""
    return OptionalKind(kind)


def lit(what: str, literal: Any) -> LiteralKind:
    """A literal kind whose values are the ``Literal`` type's (the model's one statement)."""
    return LiteralKind(get_args(literal), what)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _field_literal(cls: type, name: str) -> Any:
    """The ``Literal`` annotation of ``cls.name`` (``Literal["function"]`` for a tag)."""
    hint = _hints(cls)[name]
    if typing.get_origin(hint) is not Literal:  # pragma: no cover - a schema typo
        raise AssertionError(f"{cls.__name__}.{name} is not a Literal")
    return hint


def tag(cls: type, what: str, name: str = "type") -> LiteralKind:
    """The literal kind of a class's tag field (``type``, ``object``), from its annotation."""
    return lit(what, _field_literal(cls, name))


def tagged(classes: tuple[type, ...], strings: Any, what: str) -> Tagged:
    """A union told apart by each class's ``type`` tag, or by the ``strings`` literal."""
    table = {tag: cls for cls in classes for tag in get_args(_field_literal(cls, "type"))}
    return Tagged(table, get_args(strings) if strings is not None else (), what)


def obj(cls: type) -> ObjectKind:
    """A nested value class."""
    return ObjectKind(cls)


#: One wire key's declaration: its kind, and whether the key is required.
Field = tuple[Kind, bool]

#: Every registered class: wire key -> (kind, required), in the real API's key order.
SCHEMA: Final[dict[type, dict[str, Field]]] = {}

#: Per class, the API's default value of a small class, exactly as it sends it on
#: nearly every object: an input equal to it gets one shared, prebuilt instance. Only
#: strings and None, for which ``==`` between JSON values means the same type and value.
COMMON_VALUES: Final[dict[type, dict[str, Any]]] = {}

#: Per class, unknown keys the real API sends: found by a lookup or two, not by a pass
#: over every key.
LIKELY_EXTRAS: Final[dict[type, tuple[str, ...]]] = {}

#: Per class, keys the real API added late: objects from before lack them, and the
#: generated code sends such an object straight to the variant for objects that lack keys.
LATE_KEYS: Final[dict[type, tuple[str, ...]]] = {}

#: Filled by :func:`register` from the schema: class -> field -> a function that raises
#: :class:`~runstate.InvalidRun` for a value the wire format forbids.
FIELD_CHECKS: Final[dict[type, dict[str, Callable[[Any], None]]]] = {}


class EnumKind(Kind):
    """A status enum (:class:`~runstate.models.StepStatus`): wire string -> member."""

    def __init__(self, cls: type[enum.Enum], what: str) -> None:
        self.cls = cls
        self.table = {m.value: m for m in cls}
        self.what = what
        self.expected = f"one of {_choices(tuple(self.table))}"

    def emit(self, em: Emitter, var: str, indent: str) -> None:
        """See :meth:`Kind.emit`."""
        em.lines.append(f"{indent}{var} = {em.bind(self.table, 'enum')}[{var}]")

    def dump_expr(self, em: Emitter, expr: str) -> str:
        """See :meth:`Kind.dump_expr`."""
        return f"{expr}._value_"

    def explain(self, value: object, path: str, errors: list[FieldError]) -> None:
        """See :meth:`Kind.explain`."""
        LiteralKind(tuple(self.table), self.what).explain(value, path, errors)

    def check_value(self, value: object) -> bool:
        """See :meth:`Kind.check_value`."""
        return type(value) is self.cls


def common_expr(cls: type, var: str, otherwise: str) -> str:
    """``otherwise``, or the shared instance when ``var`` is ``cls``'s common JSON value."""
    if cls not in COMMON_VALUES:
        return otherwise
    name = cls.__name__
    return f"(_common_{name} if {var} == _common_json_{name} else {otherwise})"


def structure_name(cls: type) -> str:
    """The name of a class's structure function in generated code."""
    return f"_s_{cls.__name__}"


def unstructure_name(cls: type) -> str:
    """The name of a class's unstructure function in generated code."""
    return f"_d_{cls.__name__}"


# --------------------------------------------------------------------------------------
# The explain walker: slow, thorough, same schema.


def _explain_object(cls: type, value: object, path: str, errors: list[FieldError]) -> None:
    if type(value) is not dict:
        where = path or "$"
        errors.append(FieldError(where, "type", f"expected an object, got {show(value)}"))
        return
    schema = SCHEMA[cls]
    for key, (kind, required) in schema.items():
        sub = f"{path}.{key}" if path else key
        item = value.get(key, MISSING)
        if item is MISSING:
            if required:
                errors.append(FieldError(sub, "required", "missing required key"))
        else:
            kind.explain(item, sub, errors)
    unknown = {k: v for k, v in value.items() if k not in schema}
    if unknown:
        found = json_problem(unknown, path, -1)
        if found is not None:
            errors.append(found)


def explain(
    cls: type, value: object, what: str, error: type[InvalidRun] = InvalidRun
) -> InvalidRun:
    """See :meth:`Kind.explain`."""
    errors: list[FieldError] = []
    _explain_object(cls, value, "", errors)
    if not errors:  # pragma: no cover - the walker and the generated code share one schema
        errors.append(FieldError("$", "internal", "rejected, but no rule names the problem"))
    return error(errors, what=what)


def _python_expected(kind: Kind) -> str:
    """What a field of a value built by hand holds, in Python terms."""
    if isinstance(kind, OptionalKind):
        return f"{_python_expected(kind.inner)} or None"
    if isinstance(kind, ObjectKind):
        return f"a {kind.cls.__name__}"
    if isinstance(kind, Array):
        return f"a tuple of {_python_expected(kind.item)[2:]} values"
    if isinstance(kind, Tagged):
        names = " or ".join(sorted({c.__name__ for c in kind.classes.values()}))
        return f"{_choices(tuple(kind.strings))} or a {names}" if kind.strings else f"a {names}"
    if isinstance(kind, JsonObject | StringMap):
        return f"{kind.expected} (a mapping)"
    return kind.expected


def _python_show(value: object) -> str:
    """A hand-built field's value in a message: a JSON scalar as JSON, else its type."""
    if value is None or type(value) in (str, int, float, bool):
        return show(value)
    return f"a {type(value).__name__}"


def _field_checks(cls: type) -> dict[str, Callable[[Any], None]]:
    """The checks of a hand-built value's fields, from the same schema (see :mod:`.values`)."""

    def make(key: str, kind: Kind) -> Callable[[Any], None]:
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


def register(
    schema: Mapping[type, dict[str, Field]],
    *,
    common: Mapping[type, dict[str, Any]] | None = None,
    likely: Mapping[type, tuple[str, ...]] | None = None,
    late: Mapping[type, tuple[str, ...]] | None = None,
) -> None:
    """Add a machine's classes to the registry (and their field checks).

    The machine's model module calls it (through :func:`runstate._engine.codegen.extend`,
    which then generates their functions) where it declares its classes, so a value can
    be built as soon as its class exists. ``common``, ``likely`` and ``late`` fill
    :data:`COMMON_VALUES`, :data:`LIKELY_EXTRAS` and :data:`LATE_KEYS`. The explain
    walker and hand-built values' checks read :data:`SCHEMA`.
    """
    SCHEMA.update(schema)
    COMMON_VALUES.update(common or {})
    LIKELY_EXTRAS.update(likely or {})
    LATE_KEYS.update(late or {})
    for cls in schema:
        FIELD_CHECKS[cls] = _field_checks(cls)
