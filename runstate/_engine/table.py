"""The transition-table engine: evidence-carrying edges, lookups, the structural rules.

Generic: nothing here knows about runs. A machine declares its status enum, its table
(status -> the statuses that may directly follow it) and its initial and terminal
statuses; this module checks the table's structure (:func:`validate_table`), and gives
its ``can_transition`` and ``can_reach`` (:func:`lookups`) and reachability sets.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any, Literal, TypeAlias, TypeVar

from .errors import InvalidArgument, InvalidTable

__all__ = ["Confidence", "exits", "lookups", "reachable_from", "validate_table"]

#: An edge's evidence: H = spec/doc and observation agree; M = one strong source;
#: L = inferred or weak.
Confidence: TypeAlias = Literal["H", "M", "L"]

_S = TypeVar("_S", bound=enum.Enum)


def reachable_from(table: Mapping[_S, frozenset[_S]], source: _S) -> frozenset[_S]:
    """Return every status reachable from ``source`` in zero or more steps of ``table``."""
    seen = {source}
    todo = [source]
    while todo:
        for nxt in table.get(todo.pop(), frozenset()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


def lookups(
    table: Mapping[_S, frozenset[_S]],
) -> tuple[Callable[[_S, _S], bool], Callable[[_S, _S], bool]]:
    """A table's ``can_transition(source, target)`` and ``can_reach(source, target)``.

    Example:
        >>> from runstate import TRANSITIONS, RunStatus
        >>> step, reach = lookups(TRANSITIONS)
        >>> queued, completed = RunStatus.QUEUED, RunStatus.COMPLETED
        >>> step(queued, completed), reach(queued, completed)
        (False, True)
    """
    reachable = {s: reachable_from(table, s) for s in table}
    what = f"a {type(next(iter(table))).__name__}"

    def transition(source: _S, target: _S) -> bool:
        return target in exits(source, target, table, what)

    def reach(source: _S, target: _S) -> bool:
        return target in exits(source, target, reachable, what)

    return transition, reach


def validate_table(
    table: Mapping[Any, frozenset[Any]],
    *,
    statuses: type[enum.Enum],
    terminal: frozenset[Any],
    initial: enum.Enum,
) -> None:
    """Check the structural rules every lifecycle table must satisfy.

    The rules: every status is a key and nothing else is; every target is a status;
    terminal rows are empty (terminal states are absorbing); every non-terminal status has
    an exit; no status moves to itself; every status is reachable from ``initial``.
    Each machine passes its own status enum, terminal set and initial status.

    Raises:
        InvalidTable: naming every rule that is broken.
    """
    problems: list[str] = []
    order = {s: i for i, s in enumerate(statuses)}
    everything = set(statuses)
    keys = set(table)
    kind = statuses.__name__
    for missing in sorted(everything - keys, key=order.__getitem__):
        problems.append(f"{missing.value!r} has no row")
    for extra in keys - everything:
        problems.append(f"{extra!r} is not a {kind}")
    for src in sorted(keys & everything, key=order.__getitem__):
        targets = table[src]
        for bad in targets:
            if not isinstance(bad, statuses):
                problems.append(f"{src.value!r} -> {bad!r}: target is not a {kind}")
        if src in terminal and targets:
            names = sorted(t.value for t in targets if isinstance(t, statuses))
            problems.append(f"terminal {src.value!r} must have no exits, has {names}")
        if src not in terminal and not targets:
            problems.append(f"active {src.value!r} has no exit")
        if src in targets:
            problems.append(f"{src.value!r} -> itself is not a transition")
    if not problems:
        unreachable = everything - reachable_from(table, initial)
        for s in sorted(unreachable, key=order.__getitem__):
            problems.append(f"{s.value!r} is unreachable from {initial.value!r}")
    if problems:
        raise InvalidTable("malformed transition table: " + "; ".join(problems))


def exits(
    source: object,
    target: object,
    table: Mapping[Any, AbstractSet[Any]],
    what: str,
) -> AbstractSet[Any]:
    """``table[source]``, once ``source`` and ``target`` are known to be statuses."""
    for argument, value in (("source", source), ("target", target)):
        try:
            if value in table:
                continue
        except TypeError:  # unhashable
            pass
        raise InvalidArgument.expected(argument, what, value)
    return table[source]
