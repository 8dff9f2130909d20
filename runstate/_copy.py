"""Cheap copies of frozen values with a few fields changed.

``attrs.evolve`` runs ``__init__`` with every field as a keyword argument. The lifecycle
operations change two to five fields of a 29-field run on every request, so they use a
copier generated once per (class, set of changed fields) instead: it fills an instance of
the class's private building subclass (plain slot stores; see
:func:`runstate._serde.building_class`) once per slot, from the old instance or from the
new values, then gives it the public class. The instance is private until it is
returned, so it is never seen half-built or mutable.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

import attrs

from ._serde import building_class

__all__ = ["copier", "replace"]

_T = TypeVar("_T")

_COPIERS: Final[dict[tuple[type, tuple[str, ...]], Any]] = {}


def _make_copier(cls: type, changed: tuple[str, ...]) -> Any:
    names = [f.name for f in attrs.fields(cls)]
    unknown = set(changed) - set(names)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {sorted(unknown)[0]!r}")
    ns: dict[str, Any] = {"building": building_class(cls), "cls": cls}
    lines = [f"def copy(o, {', '.join(changed)}):", "    r = building()"]
    for name in names:
        source = name if name in changed else f"o.{name}"
        lines.append(f"    r.{name} = {source}")
    lines.append("    r.__class__ = cls")
    lines.append("    return r")
    source = "\n".join(lines)
    exec(compile(source, f"<runstate copy {cls.__name__}>", "exec"), ns)
    return ns["copy"]


def copier(cls: type[_T], *changed: str) -> Any:
    """The generated copier of ``cls`` for ``changed``: ``copy(old, *new_values)``.

    For a hot path that always changes the same fields; :func:`replace` looks it up.
    """
    key = (cls, changed)
    found = _COPIERS.get(key)
    if found is None:
        found = _COPIERS[key] = _make_copier(cls, changed)
    return found


def replace(value: _T, **changes: Any) -> _T:
    """Return a copy of ``value`` (an attrs value class) with ``changes`` applied.

    Like ``attrs.evolve`` without re-running ``__init__``, several times cheaper;
    unknown field names raise ``TypeError``.
    """
    key = (type(value), tuple(changes))
    copier = _COPIERS.get(key)
    if copier is None:
        copier = _COPIERS[key] = _make_copier(*key)
    return copier(value, **changes)  # type: ignore[no-any-return]
