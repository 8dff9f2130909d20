"""The value-class engine: what makes a frozen attrs class a wire value.

Generic: nothing here knows about runs. A machine's model declares frozen, slotted attrs
classes with ``field_transformer=add_checks`` and two bookkeeping fields,
:func:`extra_field` (the object's unknown keys, in their JSON form) and
:func:`absent_field` (the optional keys the object did not have); a class that keeps its
input's key order adds :func:`order_field`. Every wire field is then checked by
:func:`field_check` against the registered schema (:data:`runstate._engine.schema.FIELD_CHECKS`),
and kept JSON is frozen by the converters below, exactly as parsing checks and freezes
it. The generated code (:mod:`runstate._engine.codegen`) reproduces these validators and
converters and skips them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from .errors import InvalidRun, shorten
from .frozen import EMPTY, FrozenDict, FrozenList
from .jsonvalue import freeze_value
from .schema import FIELD_CHECKS

__all__ = [
    "FREEZERS",
    "NOT_WIRE",
    "NO_KEYS",
    "absent_field",
    "add_checks",
    "check_absent",
    "check_extra",
    "check_order",
    "extra_field",
    "field_check",
    "freeze_extra",
    "freeze_json",
    "freeze_metadata",
    "freeze_parameters",
    "freeze_schema",
    "kept_json",
    "order_field",
    "to_tuple",
]

NO_KEYS: Final[frozenset[str]] = frozenset()


def field_check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """The validator of every wire field: the schema's check for that field.

    Values built by hand pass through it in ``__init__`` and ``attrs.evolve``; parsing
    runs the same checks in its generated code and skips it.
    """
    FIELD_CHECKS[type(instance)][attribute.name](value)


#: The fields of a value class that are not wire keys: unknown keys, absent keys, and
#: (for a class that has it) the input's key order.
NOT_WIRE: Final = frozenset({"extra", "absent", "key_order"})


def add_checks(cls: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    """A ``field_transformer``: every wire field is validated by :func:`field_check`."""
    return [f if f.name in NOT_WIRE else f.evolve(validator=field_check) for f in fields]


def _freeze_named(value: Any, name: str) -> Any:
    """A kept-JSON field's value, frozen and checked, errors named by the field."""
    if value is None or type(value) is FrozenDict:
        return value
    return freeze_value(value, name)


def freeze_metadata(value: Mapping[str, str] | None) -> Mapping[str, str] | None:
    """``metadata`` as a read-only mapping (``None`` stays ``None``)."""
    return _freeze_named(value, "metadata")  # type: ignore[no-any-return]


def freeze_extra(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """Extra (unknown keys) as a read-only mapping."""
    return _freeze_named(value, "extra")  # type: ignore[no-any-return]


def freeze_parameters(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """A function's parameters as read-only JSON."""
    return _freeze_named(value, "parameters")  # type: ignore[no-any-return]


def freeze_schema(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """A JSON schema as read-only JSON."""
    return _freeze_named(value, "schema")  # type: ignore[no-any-return]


def freeze_json(value: Any) -> Any:
    """Any JSON value given by hand, frozen (a scalar or a frozen value as it is)."""
    t = type(value)
    if value is None or t is FrozenDict or t is FrozenList or t is str or t is bool or t is int:
        return value
    return freeze_value(value, "$")


def kept_json() -> Any:
    """A field holding any kept JSON value, ``None`` by default (a sibling's schema)."""
    return attrs.field(default=None, converter=freeze_json)


#: Every freezing converter; the generated code freezes these fields itself.
FREEZERS: Final = frozenset(
    {freeze_metadata, freeze_extra, freeze_parameters, freeze_schema, freeze_json}
)


def to_tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    """Sequences given by hand become tuples; anything else is left for the check to refuse."""
    if type(value) is tuple or isinstance(value, str | bytes | Mapping):
        return value  # type: ignore[return-value]
    try:
        return tuple(value)
    except Exception:  # not iterable, or a broken iterable: the field check names it
        return value  # type: ignore[return-value]


_FIELD_NAMES: dict[type, frozenset[str]] = {}


def _field_names(cls: type) -> frozenset[str]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(f.name for f in attrs.fields(cls)) - NOT_WIRE
    return names


def check_extra(instance: object, _: attrs.Attribute[Any], value: Mapping[str, Any]) -> None:
    """A hand-built value may not carry a modelled key among its unknown ones.

    Parsing never produces such a value; without this check ``dump_run`` would have to
    drop one of the two silently.
    """
    if type(value) is not FrozenDict:
        raise InvalidRun.one("extra", "type", f"expected an object, got {type(value).__name__}")
    if value:
        clash = sorted(_field_names(type(instance)) & value.keys())
        if clash:
            message = f"repeats modelled fields {clash}; set them as fields"
            raise InvalidRun.one("extra", "extra", message, what=type(instance).__name__)


def check_absent(instance: object, _: attrs.Attribute[Any], value: frozenset[str]) -> None:
    """``absent`` may only name the value's own fields."""
    what = type(instance).__name__
    if type(value) is not frozenset or not all(type(k) is str for k in value):
        message = f"expected a frozenset of field names, got {type(value).__name__}"
        raise InvalidRun.one("absent", "type", message, what=what)
    unknown = sorted(value - _field_names(type(instance)))
    if unknown:
        message = f"names fields {[shorten(k) for k in unknown]} that {what} lacks"
        raise InvalidRun.one("absent", "absent", message, what=what)


def extra_field() -> Any:
    """The extra field of a value class: its unknown keys, frozen."""
    return attrs.field(default=EMPTY, repr=False, converter=freeze_extra, validator=check_extra)


def absent_field() -> Any:
    """The absent field of a value class: the optional keys its input lacked."""
    return attrs.field(default=NO_KEYS, repr=False, validator=check_absent)


def check_order(instance: object, _: attrs.Attribute[Any], value: tuple[str, ...] | None) -> None:
    """key_order is None or a tuple of keys."""
    if value is not None and not (type(value) is tuple and all(type(k) is str for k in value)):
        what = type(instance).__name__
        message = f"expected None or a tuple of keys, got {type(value).__name__}"
        raise InvalidRun.one("key_order", "type", message, what=what)


def order_field() -> Any:
    """The ``key_order`` field of a class whose values keep the input's key order.

    ``None`` when the input's keys came in the schema's order (and for values made by
    hand); else the input's keys, in order, which the dump follows. Not compared: two
    values that differ only in key order are equal.
    """
    return attrs.field(default=None, repr=False, eq=False, validator=check_order)
