"""Copies of frozen values with a few fields changed, through generated copiers.

``replace`` is ``attrs.evolve`` without re-running ``__init__`` over every field: the new
values pass through their fields' converters and validators (so it refuses what
``attrs.evolve`` refuses), and the rest is copied slot by slot (see
:func:`runstate._engine.codegen.copier`).
"""

from __future__ import annotations

from typing import Any, TypeVar

from .codegen import copier

__all__ = ["copier", "replace"]

_T = TypeVar("_T")


def replace(value: _T, **changes: Any) -> _T:
    """Return a copy of ``value`` (a runstate value) with ``changes`` applied and checked.

    Raises:
        TypeError: for a field the class does not have.
        InvalidRun: for a new value the field's check refuses.
    """
    return copier(type(value), *changes)(value, **changes)  # type: ignore[no-any-return]
