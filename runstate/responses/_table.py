"""The one transition table of a response's life, with the evidence for every edge.

Rule 1: which status may follow which lives in ``TABLE`` and nowhere else; the guards of
the operations, the trace checker, the diagram and the docs tables are derived from it.
Rule 2: nothing here knows a response's fields; :mod:`._machine` does.

Evidence tags (spec-facts §12): **OBS** real api.openai.com records, **SDK**
openai-python's types, **AZ** Microsoft's behaviour contract (which says it mirrors
OpenAI), **inferred** where OBS and AZ are silent. Confidence follows from them as in
the run table (§7): **H** recorded at OpenAI; **M** one strong source (AZ or SDK);
**L** inferred.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, NamedTuple, TypeAlias

from .._engine.table import lookups, validate_table
from ._model import TERMINAL, ResponseStatus

__all__ = [
    "CANCEL_RACE",
    "INITIAL",
    "TABLE",
    "TRANSITIONS",
    "CancelRace",
    "Evidence",
    "ResponseEdge",
    "can_reach",
    "can_transition",
]

Confidence: TypeAlias = Literal["H", "M", "L"]
#: Where a fact comes from (spec-facts §12's tags).
Evidence: TypeAlias = Literal["OBS", "SDK", "AZ", "inferred"]

Q = ResponseStatus.QUEUED
P = ResponseStatus.IN_PROGRESS
C = ResponseStatus.COMPLETED
F = ResponseStatus.FAILED
INC = ResponseStatus.INCOMPLETE
X = ResponseStatus.CANCELLED

#: The status a new response starts in: ``queued`` with ``background: true``, else
#: ``in_progress`` (§12.2, OBS: the POST's body and the stream's ``response.created``).
INITIAL: Final = {True: Q, False: P}


class ResponseEdge(NamedTuple):
    """One allowed move of a response, the operation that takes it, and its evidence."""

    source: ResponseStatus
    target: ResponseStatus
    #: The operation of :mod:`runstate.responses` that takes the edge.
    operation: str
    #: H = recorded at OpenAI; M = one strong source (AZ or SDK); L = inferred.
    confidence: Confidence
    evidence: tuple[Evidence, ...]
    why: str


# The table (spec-facts §12.2). Anything not here is illegal; there are no backward moves.
_EDGES: Final[tuple[ResponseEdge, ...]] = (
    ResponseEdge(Q, P, "start", "H", ("OBS",), "a worker picks it up (background stream)"),
    ResponseEdge(P, C, "complete", "H", ("OBS",), "the model finishes"),
    ResponseEdge(
        P, INC, "mark_incomplete", "H", ("OBS", "SDK"), "max_output_tokens (MaxTokens) or a filter"
    ),
    ResponseEdge(P, F, "fail", "M", ("SDK", "AZ"), "the model errs (error {code, message})"),
    ResponseEdge(Q, X, "cancel", "H", ("OBS",), "POST cancel while queued (CanCancelBackground)"),
    ResponseEdge(P, X, "cancel", "M", ("AZ",), "POST cancel while in progress"),
    ResponseEdge(Q, F, "fail", "L", ("inferred",), "failure before a worker starts (not recorded)"),
)

#: Every edge of a response's life, with its operation, confidence and evidence.
TABLE: Final[tuple[ResponseEdge, ...]] = _EDGES


def _build() -> Mapping[ResponseStatus, frozenset[ResponseStatus]]:
    rows: dict[ResponseStatus, set[ResponseStatus]] = {s: set() for s in ResponseStatus}
    for edge in _EDGES:
        rows[edge.source].add(edge.target)
    return MappingProxyType({s: frozenset(t) for s, t in rows.items()})


#: status -> the statuses that may directly follow it. Read-only.
TRANSITIONS: Final = _build()
validate_table(TRANSITIONS, statuses=ResponseStatus, terminal=TERMINAL, initial=Q)


class CancelRace(NamedTuple):
    """Who wins when a worker finishes while a cancel lands, and how sure that is."""

    #: ``"cancel"``: once a cancel is accepted, no worker move follows it.
    winner: Literal["cancel", "worker"]
    confidence: Confidence
    evidence: tuple[Evidence, ...]
    why: str
    #: What speaks against it.
    contrary: str


#: The cancel race (§12.2). A cancel accepted first wins: the worker's later ``complete``,
#: ``fail`` or ``mark_incomplete`` is refused (``ResponseTransitionError``, reason
#: ``cancel-won``) and the response stays ``cancelled``. A worker that finished first
#: wins the other way: the cancel is refused with the finished status's text.
CANCEL_RACE: Final = CancelRace(
    winner="cancel",
    confidence="M",
    evidence=("AZ",),
    why="AZ: cancellation always wins once accepted; completed cannot follow it",
    contrary="one third-party report read 'cancelled' back as 'completed' on Azure OpenAI [3P]",
)


#: ``can_transition(source, target)``: whether ``target`` may directly follow ``source``;
#: ``can_reach(source, target)``: whether it can follow in zero or more moves (polls may
#: miss some). Both from the run machine's engine, over ``TRANSITIONS``.
can_transition, can_reach = lookups(TRANSITIONS)
