"""The one transition table of the run lifecycle.

Rule 1: every rule about which status may follow which lives in ``_EDGES`` below, and
nowhere else. Guards, the ``transitions`` machine, the diagrams, the docs table and the
reachability sets are all derived from it; tests check each of them against it.

Rule 2: this module knows nothing about ``Run`` fields, clocks or I/O. What an operation
does to a run's fields lives in :mod:`runstate._ops`.

Anything not in this table is illegal. Terminal statuses are listed explicitly with no
exits, like h11's ``ERROR: {}``: they are absorbing.

The table is checked when the module loads (see :func:`validate_table`), so a malformed edit
fails at import time rather than at the first unlucky request.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final, NamedTuple, TypeAlias

from ._engine.table import Confidence, exits, lookups, reachable_from
from ._engine.table import validate_table as _validate_table
from ._operations import OPERATION_FOR_TARGET
from ._status import TERMINAL_STATUSES, RunStatus

__all__ = [
    "CANCELLABLE_STATUSES",
    "EDGES",
    "INITIAL_STATUS",
    "OPERATION_FOR_TARGET",
    "TRANSITIONS",
    "Edge",
    "TransitionTable",
    "can_reach",
    "can_transition",
    "lookups",
    "validate_table",
    "reachable_from",
]

TransitionTable: TypeAlias = Mapping[RunStatus, frozenset[RunStatus]]

Q = RunStatus.QUEUED
P = RunStatus.IN_PROGRESS
RA = RunStatus.REQUIRES_ACTION
CG = RunStatus.CANCELLING
CD = RunStatus.CANCELLED
F = RunStatus.FAILED
C = RunStatus.COMPLETED
INC = RunStatus.INCOMPLETE
X = RunStatus.EXPIRED

#: Every run starts here: create run and create thread-and-run both return ``queued``
#: (spec-facts §7, first row).
INITIAL_STATUS: Final = Q


class Edge(NamedTuple):
    """One allowed move, with the evidence for it (spec-facts §7 confidence levels)."""

    source: RunStatus
    target: RunStatus
    #: H = spec/doc and observation agree; M = one strong source; L = inferred or weak.
    confidence: Confidence
    #: Where the move comes from, in a few words.
    why: str


# The table. Each row cites spec-facts §7 (and §3 for the docs' wording).
_EDGES: Final[tuple[Edge, ...]] = (
    Edge(Q, P, "H", "the server picks the run up (docs: 'almost immediately')"),
    Edge(Q, CG, "M", "cancel of a queued run (client practice, Azure tests; §8.1)"),
    Edge(Q, F, "L", "failure before start, e.g. quota (not observed)"),
    Edge(Q, X, "L", "expires_at passes while still queued (implied)"),
    Edge(P, RA, "H", "the model calls function tools"),
    Edge(P, C, "H", "the server finishes"),
    Edge(P, INC, "H", "max_prompt_tokens or max_completion_tokens reached"),
    Edge(P, F, "H", "server error, rate limit or invalid prompt"),
    Edge(P, CG, "H", "cancel (spec: 'Cancels a run that is in_progress')"),
    Edge(P, X, "M", "the run takes longer than expires_at (docs)"),
    Edge(RA, Q, "H", "all tool outputs submitted (docs, spec example, recordings)"),
    Edge(RA, CG, "M", "cancel while waiting for tool outputs (client practice)"),
    Edge(RA, X, "H", "tool outputs not submitted before expires_at (docs)"),
    Edge(CG, CD, "H", "the cancel takes effect (docs)"),
    Edge(CG, C, "L", "the cancel lost the race: 'attempted but not guaranteed'"),
    Edge(CG, F, "L", "the cancel lost the race to a failure"),
    Edge(CG, INC, "L", "the cancel lost the race to a token limit"),
    Edge(CG, X, "L", "expires_at passed before the cancel took effect"),
)

#: Every edge of the lifecycle, with its confidence level and a short reason.
EDGES: Final[tuple[Edge, ...]] = _EDGES


def _build(edges: Iterable[Edge]) -> dict[RunStatus, frozenset[RunStatus]]:
    rows: dict[RunStatus, set[RunStatus]] = {s: set() for s in RunStatus}
    for edge in edges:
        rows[edge.source].add(edge.target)
    return {s: frozenset(t) for s, t in rows.items()}


#: The one table: status -> the statuses that may directly follow it. Read-only.
TRANSITIONS: Final[TransitionTable] = MappingProxyType(_build(_EDGES))


def validate_table(
    table: Mapping[Any, frozenset[Any]],
    *,
    statuses: type[enum.Enum] = RunStatus,
    terminal: frozenset[Any] = TERMINAL_STATUSES,
    initial: enum.Enum = INITIAL_STATUS,
) -> None:
    """Check the structural rules of a lifecycle table (the run's, by default).

    See :func:`runstate._engine.table.validate_table`, which this calls.

    Raises:
        InvalidTable: naming every rule that is broken.
    """
    _validate_table(table, statuses=statuses, terminal=terminal, initial=initial)


validate_table(TRANSITIONS)

_REACHABLE: Final[Mapping[RunStatus, frozenset[RunStatus]]] = MappingProxyType(
    {s: reachable_from(TRANSITIONS, s) for s in RunStatus}
)

#: Statuses a cancel is accepted from: those with an edge to ``cancelling``.
CANCELLABLE_STATUSES: Final[frozenset[RunStatus]] = frozenset(
    s for s, targets in TRANSITIONS.items() if CG in targets
)


def can_transition(source: RunStatus, target: RunStatus) -> bool:
    """Whether ``target`` may directly follow ``source``.

    Example:
        >>> can_transition(RunStatus.IN_PROGRESS, RunStatus.CANCELLING)
        True
        >>> can_transition(RunStatus.COMPLETED, RunStatus.CANCELLING)
        False
    """
    return target in exits(source, target, TRANSITIONS, "a RunStatus")


def can_reach(source: RunStatus, target: RunStatus) -> bool:
    """Whether ``target`` can follow ``source`` in zero or more steps.

    Polling may miss intermediate statuses; a change seen between two polls is plausible
    exactly when this is true.

    Example:
        >>> can_reach(RunStatus.QUEUED, RunStatus.COMPLETED)
        True
        >>> can_reach(RunStatus.COMPLETED, RunStatus.QUEUED)
        False
    """
    return target in exits(source, target, _REACHABLE, "a RunStatus")
