"""Cheap copies of frozen values with a few fields changed.

``attrs.evolve`` runs ``__init__`` with every field as a keyword argument. The lifecycle
operations change two to five fields of a 29-field run on every request, so they use a
copier generated once per (class, set of changed fields) instead: it stores each slot of
the new instance exactly once, straight from the old instance or from the new values
(what attrs' own frozen ``__init__`` does internally). The instance is private until it
is returned, so it is never seen half-built.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

import attrs

__all__ = ["replace"]

_T = TypeVar("_T")

_COPIERS: Final[dict[tuple[type, tuple[str, ...]], Any]] = {}


def _make_copier(cls: type, changed: tuple[str, ...]) -> Any:
    names = [f.name for f in attrs.fields(cls)]
    unknown = set(changed) - set(names)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {sorted(unknown)[0]!r}")
    ns: dict[str, Any] = {"new": object.__new__, "cls": cls}
    lines = [f"def copy(o, {', '.join(changed)}):", "    r = new(cls)"]
    for i, name in enumerate(names):
        ns[f"s{i}"] = cls.__dict__[name].__set__
        source = name if name in changed else f"o.{name}"
        lines.append(f"    s{i}(r, {source})")
    lines.append("    return r")
    source = "\n".join(lines)
    exec(compile(source, f"<runstate copy {cls.__name__}>", "exec"), ns)
    return ns["copy"]


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
