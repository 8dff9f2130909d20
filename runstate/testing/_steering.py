"""Steering the Runs kit to every (operation, status) pair the table allows.

The engine's ``steer`` rule picks a pair; :func:`steer` brings the focused run there
through the transition table (spec-facts §7's edges), one rule's call at a time, and
makes the pair's move. Kept apart from the hypothesis program (``_conformance``), which
calls it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, TypeAlias, TypeVar, cast

from .._operations import Op
from .._status import RunStatus
from .._table import EDGES, OPERATION_FOR_TARGET
from ._adapters import StepKind
from ._run_rules import SUBMISSIONS

if TYPE_CHECKING:
    from ._conformance import Conformance

__all__ = ["Moves", "moves", "pairs", "shortest_path", "steer"]

#: A status: a run's or a response's.
S = TypeVar("S")
#: status -> the (operation, target) moves steering may make from it.
Moves: TypeAlias = dict[RunStatus, list[tuple[str, RunStatus]]]


def moves(steps: Collection[str], documented_only: bool) -> Moves:
    """The moves steering may take from each status.

    A worker step asked for in ``steps=``, a cancel the cancel guard allows (only from
    ``in_progress`` with ``documented_only``), or a submit.
    """
    found: Moves = {}
    for edge in EDGES:
        op = OPERATION_FOR_TARGET[edge.target]
        if (
            op.value in steps
            or op is Op.SUBMIT_TOOL_OUTPUTS
            or (op is Op.CANCEL and (not documented_only or edge.source is RunStatus.IN_PROGRESS))
        ):
            found.setdefault(edge.source, []).append((str(op.value), edge.target))
    return found


def shortest_path(
    table: Mapping[S, Sequence[tuple[str, S]]], start: S, goal: S
) -> list[str] | None:
    """The operations of a shortest way from ``start`` to ``goal``, or ``None``.

    ``table`` maps a status to its (operation, target) moves: a run's or a response's.
    """
    paths: dict[S, list[str]] = {start: []}
    frontier = [start]
    while frontier:
        status = frontier.pop(0)
        if status is goal:
            return paths[status]
        for op, target in table.get(status, ()):
            if target not in paths:
                paths[target] = [*paths[status], op]
                frontier.append(target)
    return None


def pairs(table: Moves) -> tuple[tuple[str, str], ...]:
    """Every (operation, status) pair the moves allow from a status a new run can reach."""
    start = RunStatus.QUEUED
    return tuple(
        (op, source.value)
        for source, made in table.items()
        for op, _ in made
        if source is start or shortest_path(table, start, source) is not None
    )


def steer(kit: Conformance, operation: str, status: str, variant: int) -> None:
    """Bring the focused run to ``status`` (a new run if it ended), then ``operation``.

    Every move is one of the rules' own calls, so the program prints as if they had
    been drawn one by one. A move that does not go as the table says (a tolerated
    divergence) ends the steering there. Tool outputs are submitted in the way
    ``variant`` picks among :data:`SUBMISSIONS`, right or wrong.
    """
    goal = RunStatus(status)
    for _ in range(2 * len(RunStatus)):  # a tolerated divergence may go round
        run = kit.ref[kit.latest] if kit.latest is not None else None
        if run is None or run.status.is_terminal:
            thread = 0 if run is None else kit.threads.index(run.thread_id)
            kit.create_run(thread)
            if kit.latest is None or (run is not None and kit.latest == run.id):
                return  # the run was not created
            continue
        # Completing a cancelling run (or ending it for a token limit) needs a run
        # that started: go there through in_progress, not straight from queued.
        via = goal
        if operation in (Op.COMPLETE, Op.MARK_INCOMPLETE) and run.started_at is None:
            via = RunStatus.IN_PROGRESS
        if run.status is goal and via is goal:
            break
        path = shortest_path(kit.moves, run.status, via)
        if not path:
            return
        move(kit, path[0])
        if kit.ref[run.id].status is run.status:
            return
    else:
        return
    move(kit, operation, variant)


def move(kit: Conformance, operation: str, variant: int = 0) -> None:
    """Do ``operation`` as the rule that does it; ``variant`` picks the submission."""
    how = SUBMISSIONS[variant % len(SUBMISSIONS)]
    if operation == Op.CANCEL:
        kit.cancel()
    elif operation == Op.SUBMIT_TOOL_OUTPUTS and how == "all":
        kit.submit_tool_outputs()
    elif operation == Op.SUBMIT_TOOL_OUTPUTS:
        kit.submit_wrong_tool_outputs(how)
    else:
        kind = cast("StepKind", operation)
        named = getattr(kit, f"drive_{kind}", None)  # drive_start(), ...
        if named is not None:
            named()
        else:
            kit.drive_anywhere(kind)
