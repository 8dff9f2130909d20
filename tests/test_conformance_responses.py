"""The Responses kit (runstate.testing.response_conformance) on in-process peers.

The reference peer (tests/responses_reference.py) must pass; the divergent peer
(tests/responses_divergent.py), with one of each spec-facts §12.3 disagreement, must be
reported in full in one survey, each under its own rule with a shrunk program.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import InvalidArgument
from responses_divergent import EXPECTED, DivergentResponses
from responses_reference import ReferenceResponses

from runstate.testing import (
    RESPONSE_RULES,
    ConformanceReport,
    DivergencesFound,
    HttpResponse,
    ResponseConformanceReport,
    ResponseStep,
    response_conformance,
    response_conformance_test,
)
from runstate.testing._response_rules import stream_items

#: Deterministic and bounded; hypothesis' explain phase only slows shrinking down.
SMALL = settings(
    max_examples=30,
    stateful_step_count=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[p for p in Phase if p is not Phase.explain],
)


def test_the_reference_peer_passes() -> None:
    report = response_conformance(ReferenceResponses, settings=SMALL)
    assert isinstance(report, ConformanceReport)
    assert report.ok and report.divergences == (), report.summary()
    for pair in [("cancel", "queued"), ("start", "queued"), ("delete", "completed")]:
        assert report.reach[pair][0] > 0, report.reach_table()
    # Refused pairs are tried and never made.
    assert report.reach[("cancel", "completed")][0] == 0
    assert report.reach_table().startswith("| operation | queued | in_progress |")


def test_the_divergent_peer_is_reported_in_full_in_one_survey() -> None:
    report = response_conformance(DivergentResponses, settings=SMALL)
    found = {d.rule.name for d in report.divergences}
    assert found == EXPECTED, report.summary()
    assert not report.ok
    for divergence in report.divergences:
        assert divergence.steps, divergence
        assert divergence.rule.grade == "error"
    by_name = {d.rule.name: d for d in report.divergences}
    assert "409" in by_name["refusal-status"].problem
    assert "Cannot cancel a synchronous response." in by_name["cancel-synchronous-accepted"].problem
    with pytest.raises(DivergencesFound):
        report.raise_if_failed()


def test_accepting_the_divergences_by_name_passes() -> None:
    report = response_conformance(DivergentResponses, settings=SMALL, accept=EXPECTED)
    assert report.ok and report.divergences == (), report.summary()
    assert set(report.accepted) == EXPECTED
    assert "accepted: 7" in report.summary()


def test_a_derandomized_survey_repeats() -> None:
    first = response_conformance(ReferenceResponses, settings=SMALL, max_examples=10)
    again = response_conformance(ReferenceResponses, settings=SMALL, max_examples=10)
    assert first.reach == again.reach


def test_evidence_grades_the_rules() -> None:
    # TABLE's confidences: cancel from in_progress is AZ only (M); start is OBS (H).
    assert RESPONSE_RULES["cancel-refused"].evidence == "M"
    assert RESPONSE_RULES["drive-refused"].evidence == "M"
    # L (inferred) evidence is a warning: the L edge queued -> failed, the unverified text.
    assert RESPONSE_RULES["drive-refused-weak"].grade == "warning"
    assert RESPONSE_RULES["refusal-body-unverified"].grade == "warning"
    assert RESPONSE_RULES["resume-repeats"].grade == "error"


class NoDrive(ReferenceResponses):
    """A peer without a worker hook."""

    drive = None  # type: ignore[assignment]


def test_a_peer_without_a_worker_is_surveyed_with_no_steps() -> None:
    report = response_conformance(NoDrive, steps=(), seed=1, max_examples=10)
    assert report.ok, report.summary()
    assert ("start", "queued") not in report.reach
    with pytest.raises(InvalidArgument, match="lacks drive"):
        response_conformance(NoDrive, seed=1, max_examples=2)


def test_bad_arguments_are_refused_at_once() -> None:
    with pytest.raises(InvalidArgument, match="must be callable"):
        response_conformance(1)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="no such drive kind: expire"):
        response_conformance(ReferenceResponses, steps=("expire",))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="no such rule"):
        response_conformance_test(ReferenceResponses, accept={"nope"})
    with pytest.raises(InvalidArgument, match="seed"):
        response_conformance(ReferenceResponses, seed="1")  # type: ignore[arg-type]


def test_the_unittest_entry_point_fails_on_divergences() -> None:
    case = response_conformance_test(DivergentResponses, settings=SMALL, accept=EXPECTED)
    case("runTest").runTest()  # accepted: passes
    failing = response_conformance_test(
        DivergentResponses, settings=SMALL, accept=EXPECTED - {"resume-repeats"}
    )
    with pytest.raises(DivergencesFound, match="resume-repeats"):
        failing("runTest").runTest()


class Broken(ReferenceResponses):
    """Answers that are not responses, a 201 create, a refused retrieve, a stream that
    is not a list, and a delete with the wrong body."""

    def create(self, request: Any) -> HttpResponse:
        answer = super().create(request)
        return HttpResponse(201, answer.body) if answer.status == 200 else answer

    def retrieve(self, response_id: str) -> HttpResponse:
        answer = super().retrieve(response_id)
        if answer.status == 200 and answer.body["status"] == "cancelled":
            return HttpResponse(200, {"id": response_id})
        return answer

    def retrieve_stream(self, response_id: str, starting_after: int | None) -> HttpResponse:
        answer = super().retrieve_stream(response_id, starting_after)
        return HttpResponse(200, "events") if answer.status == 200 else answer

    def delete(self, response_id: str) -> HttpResponse:
        answer = super().delete(response_id)
        return HttpResponse(200, {"deleted": True}) if answer.status == 200 else answer


@pytest.mark.slow  # a survey per malformed answer (about 9 s of CPU): CI runs it
def test_malformed_answers_are_named() -> None:
    report = response_conformance(Broken, settings=SMALL)
    found = {d.rule.name for d in report.divergences}
    assert {"create-status", "invalid-response", "stream-trace", "delete-body"} <= found, (
        report.summary()
    )


def test_the_report_type_and_table() -> None:
    report = ResponseConformanceReport(
        label="x", divergences=(), accepted={}, reach={}, examples=0, rounds=1, seconds=0.0
    )
    assert report.ok and "| deleted |" in report.reach_table().splitlines()[0] + " |"


def test_stream_items_and_steps() -> None:
    assert stream_items([("message", "[DONE]"), ["response.created", "{}"], {"a": 1}]) == [
        "[DONE]",
        ("response.created", "{}"),
        {"a": 1},
    ]
    assert ResponseStep.of("complete").to_json()["output"][0]["type"] == "message"
    assert ResponseStep.of("mark_incomplete").reason == "max_output_tokens"
    assert ResponseStep.of("start").to_json()["usage"] is None
