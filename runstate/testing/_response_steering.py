"""Steering the Responses kit to every (operation, status) pair runstate.responses allows.

The engine's ``steer`` rule picks a pair; :func:`steer` brings the focused response
there along ``runstate.responses.TABLE``'s edges (spec-facts §12.2), one rule's call at a
time, and makes the pair's move. The pairs are derived, not listed (:func:`pairs`): a
background, streamed response is walked through the table to each status it can reach
by the machine's own operations, and every operation of the reach table is asked of it
as the kit's rules ask it. Kept apart from the hypothesis program (``_responses``), which
calls it.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import TYPE_CHECKING, Final, TypeAlias, cast

from .. import responses as rr
from ._response_rules import (
    DRIVE_KINDS,
    MODEL,
    RESPONSE_REACH_OPERATIONS,
    DriveKind,
    ResponseStep,
    refusal,
    worker_move,
)
from ._steering import shortest_path

if TYPE_CHECKING:
    from ._responses import ResponseConformance

__all__ = ["RESUMES", "Moves", "moves", "pairs", "steer"]

#: status -> the (operation, target) moves steering may make from it.
Moves: TypeAlias = dict[rr.ResponseStatus, list[tuple[str, rr.ResponseStatus]]]

#: Where a replay resumes, as the kit draws it (``last``: past every event).
RESUMES: Final = ("start", "0", "1", "middle", "last")


def moves(steps: Collection[str]) -> Moves:
    """The moves of ``TABLE`` steering may make: a cancel, or a worker step in ``steps``."""
    found: Moves = {}
    for edge in rr.TABLE:
        if edge.operation == "cancel" or edge.operation in steps:
            found.setdefault(edge.source, []).append((edge.operation, edge.target))
    return found


def _samples(table: Moves) -> dict[rr.ResponseStatus, rr.Response]:
    """A background, streamed response in each status ``table`` reaches from the start."""
    first = rr.new_response(id="resp_sample", model=MODEL, now=0, background=True)
    found = {first.status: first}
    frontier = [first]
    while frontier:
        response = frontier.pop(0)
        for operation, target in table.get(response.status, ()):
            if target not in found:
                after = _make(response, operation)
                assert after is not None  # TABLE's edge
                found[target] = after
                frontier.append(after)
    return found


def _make(response: rr.Response, operation: str) -> rr.Response | None:
    """``response`` after ``operation`` (a cancel or a worker step), or ``None``."""
    if operation == "cancel":
        return rr.cancel(response, now=response.created_at)
    return worker_move(response, ResponseStep.of(cast("DriveKind", operation)))


def _accepted(operation: str, response: rr.Response, steps: Collection[str]) -> bool:
    """Whether the kit's reference accepts ``operation`` on ``response`` (as its rules ask)."""
    if operation in DRIVE_KINDS:
        return operation in steps and _make(response, operation) is not None
    if operation == "retrieve_stream" and response.status not in rr.TERMINAL:
        return False  # the kit replays only ended responses (their streams end)
    return refusal(operation, response) is None


@functools.cache
def pairs(steps: frozenset[DriveKind]) -> tuple[tuple[str, str], ...]:
    """Every (operation, status) pair the reference accepts, with the worker's ``steps``.

    In the reach table's order: by operation (:data:`RESPONSE_REACH_OPERATIONS`), then
    by status.

    Example:
        >>> pairs(frozenset())
        (('cancel', 'queued'), ('cancel', 'cancelled'), ('delete', 'cancelled'), \
('retrieve', 'queued'), ('retrieve', 'cancelled'), ('retrieve_stream', 'cancelled'))
    """
    samples = _samples(moves(steps))
    return tuple(
        (operation, status.value)
        for operation in RESPONSE_REACH_OPERATIONS
        for status in rr.ResponseStatus
        if status in samples and _accepted(operation, samples[status], steps)
    )


def steer(kit: ResponseConformance, operation: str, status: str, variant: int) -> None:
    """Bring the focused response to ``status`` (a new one if need be), then ``operation``.

    A new response is created when there is none, when the focused one is deleted,
    synchronous, cannot reach ``status`` any more, or (for a replay) was not streamed;
    ``variant`` picks whether a new one is streamed, and where a replay resumes. Every
    move is one of the rules' own calls, so the program prints as if they had been
    drawn one by one. A move that does not go as the table says (a tolerated
    divergence) ends the steering there.
    """
    goal = rr.ResponseStatus(status)
    for _ in range(2 * len(rr.ResponseStatus)):  # a tolerated divergence may go round
        focus = kit.ref[kit.latest] if kit.latest is not None else None
        if focus is None or not _usable(kit, focus, operation, goal):
            kit.create(stream=operation == "retrieve_stream" or variant % 3 != 0)
            if kit.latest is None or (focus is not None and kit.latest == focus.id):
                return  # no response was created
            continue
        if focus.status is goal:
            break
        path = shortest_path(kit.moves, focus.status, goal)
        assert path  # _usable checked it
        move(kit, path[0], variant)
        if kit.ref[focus.id].status is focus.status:
            return
    else:
        return
    move(kit, operation, variant)


def _usable(
    kit: ResponseConformance, focus: rr.Response, operation: str, goal: rr.ResponseStatus
) -> bool:
    """Whether steering may go on with the focused response."""
    return (
        focus.id not in kit.deleted
        and focus.id not in kit.off_table
        and focus.background is True
        and (operation != "retrieve_stream" or focus.id in kit.streamed)
        and (focus.status is goal or shortest_path(kit.moves, focus.status, goal) is not None)
    )


def move(kit: ResponseConformance, operation: str, variant: int = 0) -> None:
    """Do ``operation`` as the rule that does it; ``variant`` picks where a replay resumes."""
    if operation == "cancel":
        kit.cancel()
    elif operation == "delete":
        kit.delete()
    elif operation == "retrieve":
        kit.retrieve()
    elif operation == "retrieve_stream":
        kit.retrieve_stream(RESUMES[variant % len(RESUMES)])
    elif operation == "start":
        kit.drive_start()
    elif operation == "complete":
        kit.drive_complete()
    else:
        kit.drive_end(cast("DriveKind", operation))
