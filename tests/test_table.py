"""The statuses, the one transition table and its load-time check."""

from __future__ import annotations

import itertools
from collections import deque
from types import MappingProxyType

import pytest

import runstate
from runstate import (
    ACTIVE_STATUSES,
    CANCELLABLE_STATUSES,
    EDGES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    InvalidTable,
    RunStatus,
    can_reach,
    can_transition,
)
from runstate._table import validate_table

Q = RunStatus.QUEUED
P = RunStatus.IN_PROGRESS
RA = RunStatus.REQUIRES_ACTION
CG = RunStatus.CANCELLING
CD = RunStatus.CANCELLED
F = RunStatus.FAILED
C = RunStatus.COMPLETED
INC = RunStatus.INCOMPLETE
X = RunStatus.EXPIRED

#: The table as written in the foundation issue (spec-facts §7), typed out independently.
EXPECTED = {
    Q: {P, CG, F, X},
    P: {RA, C, INC, F, CG, X},
    RA: {Q, CG, X},
    CG: {CD, C, F, INC, X},
    CD: set(),
    F: set(),
    C: set(),
    INC: set(),
    X: set(),
}
#: The wire strings, in the spec's order (spec-facts §1.1).
WIRE = [
    "queued",
    "in_progress",
    "requires_action",
    "cancelling",
    "cancelled",
    "failed",
    "completed",
    "incomplete",
    "expired",
]
PAIRS = list(itertools.product(RunStatus, repeat=2))


def pair_id(pair: tuple[RunStatus, RunStatus]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


# --------------------------------------------------------------------------------------
# RunStatus


def test_status_values_are_the_wire_strings_in_spec_order() -> None:
    assert [s.value for s in RunStatus] == WIRE
    assert [RunStatus(v) for v in WIRE] == list(RunStatus)


@pytest.mark.parametrize("status", list(RunStatus), ids=lambda s: s.value)
def test_status_event_and_terminality(status: RunStatus) -> None:
    assert status.event == "thread.run." + status.value
    expected_terminal = status.value in {
        "cancelled",
        "failed",
        "completed",
        "incomplete",
        "expired",
    }
    assert status.is_terminal is expected_terminal
    assert (status in TERMINAL_STATUSES) is expected_terminal
    assert (status in ACTIVE_STATUSES) is not expected_terminal


def test_unknown_status_string_is_refused() -> None:
    with pytest.raises(ValueError):
        RunStatus("pending")  # the docs' slip (spec-facts §8.10) is not a status


def test_public_names_are_importable() -> None:
    for name in runstate.__all__:
        assert hasattr(runstate, name), name


# --------------------------------------------------------------------------------------
# The table


def test_table_is_exactly_the_issues_table() -> None:
    assert {s: set(t) for s, t in TRANSITIONS.items()} == EXPECTED


def test_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[Q] = frozenset()  # type: ignore[index]
    assert isinstance(TRANSITIONS[Q], frozenset)


def test_cancellable_statuses_are_derived_from_the_table() -> None:
    assert {Q, P, RA} == CANCELLABLE_STATUSES


def test_edges_are_listed_once_with_their_evidence() -> None:
    pairs = [(e.source, e.target) for e in EDGES]
    assert len(pairs) == len(set(pairs)), "an edge is listed twice"
    assert {e.confidence for e in EDGES} <= {"H", "M", "L"}
    assert all(e.why for e in EDGES)


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_can_transition_agrees_with_the_table(pair: tuple[RunStatus, RunStatus]) -> None:
    src, dst = pair
    assert can_transition(src, dst) is (dst in EXPECTED[src])


def reachable_bfs(src: RunStatus) -> set[RunStatus]:
    seen = {src}
    queue = deque([src])
    while queue:
        for nxt in EXPECTED[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_can_reach_agrees_with_a_bfs(pair: tuple[RunStatus, RunStatus]) -> None:
    src, dst = pair
    assert can_reach(src, dst) is (dst in reachable_bfs(src))


def test_can_reach_spot_checks() -> None:
    assert can_reach(RA, C)  # via queued and in_progress
    assert can_reach(C, C)  # zero steps
    assert not can_reach(C, Q)
    assert not can_reach(CG, P)
    assert all(can_reach(Q, s) for s in RunStatus)


# --------------------------------------------------------------------------------------
# The load-time check


def good_table() -> dict[RunStatus, frozenset[RunStatus]]:
    return {s: frozenset(t) for s, t in EXPECTED.items()}


def test_validate_table_accepts_the_real_table() -> None:
    validate_table(TRANSITIONS)
    validate_table(MappingProxyType(good_table()))


def _missing_row() -> dict[object, object]:
    table = good_table()
    del table[X]
    return dict(table)


def _terminal_exit() -> dict[object, object]:
    return {**good_table(), C: frozenset({Q})}


def _unreachable() -> dict[object, object]:
    # Nothing moves to expired any more.
    return {s: frozenset(t - {X}) for s, t in good_table().items()}


def _self_loop() -> dict[object, object]:
    return {**good_table(), P: frozenset({P, C})}


def _non_status_target() -> dict[object, object]:
    return {**good_table(), Q: frozenset({P, "in_progress"})}


def _active_without_exit() -> dict[object, object]:
    return {**good_table(), RA: frozenset()}


def _extra_key() -> dict[object, object]:
    return {**good_table(), "paused": frozenset()}


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (_missing_row, "'expired' has no row"),
        (_terminal_exit, "terminal 'completed' must have no exits"),
        (_unreachable, "'expired' is unreachable"),
        (_self_loop, "'in_progress' -> itself"),
        (_non_status_target, "target is not a RunStatus"),
        (_active_without_exit, "active 'requires_action' has no exit"),
        (_extra_key, "'paused' is not a RunStatus"),
    ],
    ids=lambda v: getattr(v, "__name__", "")[1:] or None,
)
def test_validate_table_refuses_malformed_tables(make, fragment: str) -> None:
    with pytest.raises(InvalidTable, match="malformed transition table") as info:
        validate_table(make())
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)
