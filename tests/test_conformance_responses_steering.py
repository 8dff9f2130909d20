"""The Responses kit steers to every (operation, status) pair runstate.responses allows.

Issue 21 ("Deep paths are searched, on both machines"): at ``max_examples=200`` every
allowed pair of each machine is made in at least 20% of the examples. The pairs are
derived from ``runstate.responses.TABLE`` and the kit's refusals
(``_response_steering.pairs``); :data:`ALLOWED` states them again from spec-facts §12.2
and §12.3, so that a derivation gone wrong fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from reference_server import ReferenceServer
from responses_reference import ReferenceResponses

from runstate._table import EDGES, OPERATION_FOR_TARGET
from runstate.testing import DRIVE_KINDS, HttpResponse, response_conformance, run_conformance
from runstate.testing._response_steering import pairs

#: Deterministic and quick.
FAST = settings(
    max_examples=25,
    stateful_step_count=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)

_ENDED = ("completed", "failed", "incomplete", "cancelled")
#: Every pair the reference accepts, from spec-facts §12.2 (the edges: start, complete,
#: fail from queued (inferred) and in_progress, mark_incomplete, cancel from queued and
#: in_progress) and §12.3 (a second cancel answers 200; a delete of an ended response;
#: a replay of an ended background stream; a retrieve of any stored response).
ALLOWED = frozenset(
    {
        ("cancel", "queued"),
        ("cancel", "in_progress"),
        ("cancel", "cancelled"),
        *(("delete", s) for s in _ENDED),
        *(("retrieve", s) for s in ("queued", "in_progress", *_ENDED)),
        *(("retrieve_stream", s) for s in _ENDED),
        ("start", "queued"),
        ("complete", "in_progress"),
        ("fail", "queued"),
        ("fail", "in_progress"),
        ("mark_incomplete", "in_progress"),
    }
)


def test_the_derived_pairs_are_the_ones_spec_facts_allows() -> None:
    assert set(pairs(frozenset(DRIVE_KINDS))) == ALLOWED
    # Without a worker only a cancel moves a response: queued, then cancelled.
    assert set(pairs(frozenset())) == {
        ("cancel", "queued"),
        ("cancel", "cancelled"),
        ("delete", "cancelled"),
        ("retrieve", "queued"),
        ("retrieve", "cancelled"),
        ("retrieve_stream", "cancelled"),
    }
    # A worker that only starts: in_progress, and a cancel from there.
    only_start = set(pairs(frozenset({"start"})))
    assert {("start", "queued"), ("cancel", "in_progress")} <= only_start
    assert not {p for p in only_start if p[1] in ("completed", "failed", "incomplete")}


def test_every_allowed_pair_is_made_in_a_small_derandomized_survey() -> None:
    report = response_conformance(
        ReferenceResponses, settings=settings(FAST, stateful_step_count=50)
    )
    assert report.ok, report.summary()
    missing = sorted(p for p in ALLOWED if not report.case_reach.get(p))
    assert not missing, report.reach_table(cases=True)
    assert set(report.case_reach) == ALLOWED  # nothing else is ever made
    # Every operation is also tried where it is refused.
    refused = {op for (op, _), (made, tried) in report.reach.items() if tried > made}
    assert refused == {"cancel", "delete", "retrieve", "retrieve_stream", *DRIVE_KINDS}


def test_steering_keeps_to_the_steps_asked_for() -> None:
    report = response_conformance(
        ReferenceResponses, settings=settings(FAST, max_examples=15), steps=("start",)
    )
    assert report.ok, report.summary()
    assert {op for op, _ in report.reach} == {
        "cancel",
        "delete",
        "retrieve",
        "retrieve_stream",
        "start",
    }
    assert report.case_reach.get(("cancel", "in_progress"))


def _floor(report: Any, allowed: frozenset[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """The pairs made in fewer than 20% of the examples, with their shares."""
    shares = {p: report.case_reach.get(p, 0) / report.examples for p in allowed}
    return {p: share for p, share in shares.items() if share < 0.2}


@pytest.mark.slow  # a 200-example survey (about 4 s idle)
def test_every_allowed_pair_is_made_in_a_fifth_of_200_examples() -> None:
    report = response_conformance(ReferenceResponses, seed=1, max_examples=200)
    assert report.ok, report.summary()
    assert report.examples == 200
    assert _floor(report, ALLOWED) == {}, report.reach_table(cases=True)


@pytest.mark.slow  # a 200-example survey of the Run machine (15-30 s idle)
def test_every_allowed_run_pair_is_made_in_a_fifth_of_200_examples() -> None:
    allowed = frozenset((str(OPERATION_FOR_TARGET[e.target].value), e.source.value) for e in EDGES)
    report = run_conformance(ReferenceServer, seed=1, max_examples=200)
    assert report.ok, report.summary()
    assert report.examples == 200
    assert _floor(report, allowed) == {}, report.reach_table(cases=True)


# --------------------------------------------------------------------------------------
# Steering through tolerated divergences: it stops where the peer leaves the table


class NoStreamedCreate(ReferenceResponses):
    """Refuses every streamed create: a replay cannot be steered to."""

    def create(self, request: Any) -> HttpResponse:
        if request.get("stream"):
            return HttpResponse(500, {"error": {"message": "no streams"}})
        return super().create(request)


def test_a_refused_create_ends_the_steering() -> None:
    report = response_conformance(
        NoStreamedCreate, settings=FAST, seed=0, accept={"create-refused"}
    )
    assert report.ok, report.summary()
    assert report.accepted["create-refused"] > 0
    assert not any(op == "retrieve_stream" and made for (op, _), (made, _) in report.reach.items())
    assert report.case_reach.get(("delete", "completed"))


class NeverStarts(ReferenceResponses):
    """Answers a start with 200 and the queued response, unchanged."""

    def drive(self, response_id: str, step: Any) -> HttpResponse:
        found = self._found(response_id)
        if step.kind == "start" and found is not None and found.status.value == "queued":
            return self.retrieve(response_id)
        return super().drive(response_id, step)


def test_a_move_that_goes_nowhere_ends_the_steering() -> None:
    report = response_conformance(NeverStarts, settings=FAST, seed=0, accept={"drive-target"})
    assert report.ok, report.summary()
    assert report.accepted["drive-target"] > 0
    in_progress = {p for p in report.case_reach if p[1] == "in_progress"}
    assert in_progress == set(), report.reach_table()


class SynchronousOnly(ReferenceResponses):
    """Answers every create as a synchronous response: nothing is ever queued."""

    def create(self, request: Any) -> HttpResponse:
        return super().create({**request, "background": False, "stream": False})


def test_a_peer_whose_creates_leave_the_table_is_steered_no_further() -> None:
    report = response_conformance(
        SynchronousOnly, settings=FAST, seed=0, accept={"create-fields", "create-unstored-accepted"}
    )
    assert report.ok, report.summary()
    assert report.accepted["create-fields"] > 0
    assert not report.case_reach.get(("cancel", "queued"))
