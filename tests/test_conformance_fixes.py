"""The kit after its survey of a real third party (issue 21): speed, steering, one root
cause per divergence, grades by evidence, and a survey usable when slow or stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import InMemoryExampleDatabase
from hypothesis.errors import InvalidArgument
from reference_server import ReferenceServer

import runstate as rs
from runstate import RunStatus
from runstate._table import EDGES, OPERATION_FOR_TARGET
from runstate.testing import RULES, HttpResponse, conformance_test, run_conformance
from runstate.testing import _engine as engine

#: Deterministic and quick, as test_conformance.py's FAST.
FAST = settings(
    max_examples=40,
    stateful_step_count=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)

ALLOWED = {(str(OPERATION_FOR_TARGET[e.target].value), e.source.value) for e in EDGES}


class WorkerlessMock(ReferenceServer):
    """No drive hook; a cancel takes effect on the next read (as test_conformance's)."""

    drive = None  # type: ignore[assignment]

    def retrieve_run(self, thread_id: str, run_id: str) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if run is not None and run.status is RunStatus.CANCELLING:
            self.runs[run_id] = self._cancelled(run)
        return super().retrieve_run(thread_id, run_id)

    def _cancelled(self, run: rs.Run) -> rs.Run:
        return rs.finish_cancel(run, now=self.now())


# --------------------------------------------------------------------------------------
# Speed and settings


def test_the_explain_phase_is_left_out() -> None:
    """On 3.11 it reruns every case after a failure under sys.settrace; never shown."""
    for given in (None, settings(phases=list(Phase)), settings(FAST)):
        phases = engine.search_settings(given, None).phases
        assert Phase.explain not in phases
        assert Phase.generate in phases and Phase.shrink in phases


def test_settings_merge_onto_the_kits_defaults() -> None:
    given = settings(
        max_examples=7,
        stateful_step_count=9,
        deadline=200,  # an input the kit overrides
        database=InMemoryExampleDatabase(),
        suppress_health_check=(),
        report_multiple_bugs=True,
    )
    merged = engine.search_settings(given, None)
    assert (merged.max_examples, merged.stateful_step_count) == (7, 9)
    assert merged.deadline is None
    assert merged.database is None  # seed= alone repeats a survey: nothing replayed
    assert set(merged.suppress_health_check) == set(HealthCheck)
    assert merged.report_multiple_bugs is False
    assert engine.search_settings(given, 3).max_examples == 3


def test_a_slow_implementation_under_a_deadline_setting_is_surveyed() -> None:
    """A deadline in the caller's settings used to end the survey with a hypothesis error."""

    class Slow(WorkerlessMock):
        def create_thread(self) -> str:
            time.sleep(0.003)
            return super().create_thread()

    given = settings(
        max_examples=3,
        stateful_step_count=3,
        deadline=1,  # an input the kit overrides
    )
    report = run_conformance(Slow, settings=given, steps=())
    assert report.ok, report.summary()


def test_a_seed_alone_repeats_a_survey() -> None:
    loose = settings(max_examples=15, stateful_step_count=15, derandomize=False)
    one = run_conformance(ReferenceServer, settings=loose, seed=11)
    two = run_conformance(ReferenceServer, settings=loose, seed=11)
    assert (one.reach, one.case_reach, one.examples) == (two.reach, two.case_reach, two.examples)


def test_examples_counts_what_max_examples_counts() -> None:
    """Cases hypothesis gives up on (no rule drawable among many) are not examples."""
    report = run_conformance(WorkerlessMock, settings=settings(FAST, max_examples=25), steps=())
    assert report.examples == 25
    assert (
        report.summary().splitlines()[0].endswith(f"; 25 examples, 1 round, {report.seconds:.1f} s")
    )


# --------------------------------------------------------------------------------------
# Steering


def test_every_allowed_pair_is_made_in_a_small_seeded_survey() -> None:
    report = run_conformance(ReferenceServer, settings=settings(FAST, max_examples=25), seed=0)
    assert report.ok, report.summary()
    missing = sorted(p for p in ALLOWED if not report.case_reach.get(p))
    assert not missing, report.reach_table(cases=True)
    assert set(report.case_reach) <= ALLOWED
    assert all(n <= report.examples for n in report.case_reach.values())


def test_steering_keeps_to_the_steps_asked_for() -> None:
    report = run_conformance(
        ReferenceServer, settings=settings(FAST, max_examples=15), steps=("start", "complete")
    )
    assert report.ok, report.summary()
    assert {op for op, _ in report.reach} <= {"cancel", "submit_tool_outputs", "start", "complete"}
    assert report.case_reach.get(("complete", "cancelling"))


def test_steering_respects_the_documented_cancel_guard() -> None:
    class Documented(ReferenceServer):
        def __init__(self) -> None:
            super().__init__(documented_only=True)

    report = run_conformance(
        Documented, settings=settings(FAST, max_examples=15), documented_only=True
    )
    assert report.ok, report.summary()
    assert report.case_reach.get(("finish_cancel", "cancelling"))
    assert not report.case_reach.get(("cancel", "queued"))


def test_the_reach_table_shows_shares_of_cases() -> None:
    report = run_conformance(ReferenceServer, settings=settings(FAST, max_examples=10), seed=1)
    lines = report.reach_table(cases=True).splitlines()
    start = next(line for line in lines if line.startswith("| start |"))
    cells = [c.strip() for c in start.strip("|").split("|")][1:]
    assert cells[0].endswith("%") and set(cells[1:]) == {"-"}


# --------------------------------------------------------------------------------------
# One root cause, one divergence


class BareCancelMock(WorkerlessMock):
    """The cancel takes effect on its own, leaving no cancelled_at and no usage."""

    def _cancelled(self, run: rs.Run) -> rs.Run:
        return attrs.evolve(super()._cancelled(run), cancelled_at=None, usage=None)


def test_a_bare_cancel_is_one_error_and_one_warning() -> None:
    report = run_conformance(BareCancelMock, settings=FAST, steps=())
    names = [d.rule.name for d in report.divergences]
    assert sorted(names) == ["ended-usage-null", "per-status-rules"], report.summary()
    [error] = report.errors
    assert "cancelled on its own" in error.operation
    assert "cancelled_at: expected a timestamp at or after" in error.problem
    assert "[cancelled-at" in error.problem or "cancelled_at: must be" in error.problem
    [warning] = report.warnings
    assert "usage: expected" in warning.problem and "got null" in warning.problem


def test_a_missing_stamp_is_not_out_of_order() -> None:
    class NoStamp(WorkerlessMock):
        def _cancelled(self, run: rs.Run) -> rs.Run:
            return attrs.evolve(super()._cancelled(run), cancelled_at=None)

    report = run_conformance(NoStamp, settings=FAST, steps=())
    assert [d.rule.name for d in report.divergences] == ["per-status-rules"], report.summary()


# --------------------------------------------------------------------------------------
# Grades by the field's evidence


def test_a_cancelled_runs_null_usage_is_a_warning() -> None:
    assert RULES["ended-usage-null"].grade == "warning"

    class NoUsage(WorkerlessMock):
        def _cancelled(self, run: rs.Run) -> rs.Run:
            return attrs.evolve(super()._cancelled(run), usage=None)

    report = run_conformance(NoUsage, settings=FAST, steps=())
    assert report.ok, report.summary()
    assert [d.rule.name for d in report.warnings] == ["ended-usage-null"]


def test_warning_level_violations_reach_the_report() -> None:
    class NoExpiry(WorkerlessMock):
        def create_run(self, thread_id: str, **kwargs: Any) -> HttpResponse:
            response = super().create_run(thread_id, **kwargs)
            if response.status == 200:
                run = attrs.evolve(self.runs[response.body["id"]], expires_at=None)
                self.runs[run.id] = run
                return HttpResponse(200, rs.dump_run(run))
            return response

    report = run_conformance(NoExpiry, settings=FAST, steps=())
    assert report.ok, report.summary()
    [warning] = report.warnings
    assert warning.rule is RULES["per-status-warnings"]
    assert warning.problem.startswith("expected 200 status 'queued', got 200 status 'queued'")
    assert "expires_at: " in warning.problem and "[expires-at]" in warning.problem


def _pending(server: ReferenceServer, run_id: str) -> list[str]:
    run = server.runs[run_id]
    assert run.required_action is not None
    return [c.id for c in run.required_action.submit_tool_outputs.tool_calls]


class TakesExtraIdsServer(ReferenceServer):
    """Takes every pending output plus outputs for calls it never asked for."""

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if run is not None and run.status is RunStatus.REQUIRES_ACTION:
            pending = set(_pending(self, run_id))
            known = [o for o in tool_outputs if o["tool_call_id"] in pending]
            if {o["tool_call_id"] for o in known} == pending:
                tool_outputs = known  # the unknown ones are dropped
        return super().submit_tool_outputs(thread_id, run_id, tool_outputs)


class TakesUnknownForPendingServer(ReferenceServer):
    """Takes an unknown call's output in place of a pending one."""

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if run is not None and run.status is RunStatus.REQUIRES_ACTION:
            ids = [o["tool_call_id"] for o in tool_outputs]
            if "call_unknown" in ids and len(ids) == len(_pending(self, run_id)):
                new = attrs.evolve(run, status=RunStatus.QUEUED, required_action=None)
                self.runs[run_id] = new
                return HttpResponse(200, rs.dump_run(new))
        return super().submit_tool_outputs(thread_id, run_id, tool_outputs)


@pytest.mark.slow  # two full surveys that shrink (about 90 s of CPU): CI runs it
@pytest.mark.parametrize(
    ("server", "name", "grade"),
    [
        (TakesExtraIdsServer, "submit-unknown-id-accepted", "warning"),
        (TakesUnknownForPendingServer, "submit-ids-accepted", "error"),
    ],
)
def test_an_unknown_call_id_is_graded_by_what_else_is_wrong(
    server: type[ReferenceServer], name: str, grade: str
) -> None:
    report = run_conformance(server, settings=settings(FAST, max_examples=300), max_divergences=1)
    [divergence] = report.divergences
    assert divergence.rule.name == name, report.summary()
    assert divergence.rule.grade == grade
    assert "'call_unknown'" in divergence.operation


# --------------------------------------------------------------------------------------
# Usable when slow or stopped


class CancelsAtOnceServer(ReferenceServer):
    """Cancel jumps straight to ``cancelled``: found in the first few cases."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().cancel_run(thread_id, run_id)
        if response.status == 200:
            run = rs.finish_cancel(self.runs[run_id], now=self.now())
            self.runs[run_id] = run
            return HttpResponse(200, rs.dump_run(run))
        return response


def test_progress_reports_each_divergence_and_each_round(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines: list[str] = []
    with caplog.at_level(logging.INFO, logger="runstate.testing"):
        report = run_conformance(
            CancelsAtOnceServer, settings=FAST, max_divergences=1, progress=lines.append
        )
    assert report.divergences[0].rule.name == "cancel-target"
    assert lines[0].startswith("round 1: found cancel-target (error, evidence H): cancel on ")
    assert lines[0].endswith("; shrinking it")
    assert lines[-1].startswith("round 1 (")
    assert " s): cancel-target (error, evidence H), shrunk to " in lines[-1]
    assert [r.getMessage() for r in caplog.records if r.name == "runstate.testing"] == lines


def test_the_last_round_reports_its_examples() -> None:
    lines: list[str] = []
    run_conformance(ReferenceServer, settings=settings(FAST, max_examples=5), progress=lines.append)
    assert lines[-1].startswith("round 1 (")
    assert lines[-1].endswith(" s): nothing new in 5 examples")


def test_an_interrupted_survey_yields_what_it_found() -> None:
    def interrupt(line: str) -> None:
        if "shrinking it" in line:
            raise KeyboardInterrupt

    report = run_conformance(CancelsAtOnceServer, settings=FAST, progress=interrupt)
    assert report.stopped == "interrupted"
    [divergence] = report.divergences
    assert divergence.rule.name == "cancel-target"
    assert divergence.shrunk is False
    assert "not shrunk" in str(divergence)
    assert "STOPPED (interrupted)" in report.summary().splitlines()[0]
    assert not report.ok


def test_a_survey_stopped_by_its_timeout_yields_what_it_found() -> None:
    class SlowAfterTheFirst(CancelsAtOnceServer):
        """The first divergence is found in a few cases; the next round is slow."""

        def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
            response = super().cancel_run(thread_id, run_id)
            time.sleep(0.3)  # longer than the timeout: the survey stops after it
            return response

    report = run_conformance(
        SlowAfterTheFirst, settings=settings(FAST, stateful_step_count=3), timeout=0.2
    )
    assert report.stopped == "timeout"
    assert [d.rule.name for d in report.divergences] == ["cancel-target"]
    assert "STOPPED (timeout)" in report.summary()


def test_a_timeout_before_anything_is_found() -> None:
    report = run_conformance(ReferenceServer, settings=FAST, timeout=1e-9)
    assert report.stopped == "timeout"
    assert report.divergences == () and report.examples == 0


@pytest.mark.parametrize(
    "kwargs",
    [{"progress": 3}, {"timeout": 0}, {"timeout": -1.0}, {"timeout": "1"}, {"timeout": True}],
)
def test_bad_progress_and_timeout_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument, match=next(iter(kwargs))):
        run_conformance(ReferenceServer, **kwargs)


def test_a_conformance_test_stopped_by_its_timeout_fails() -> None:
    case = conformance_test(ReferenceServer, settings=FAST, timeout=1e-9)
    with pytest.raises(AssertionError, match=r"STOPPED \(timeout\)"):
        case("runTest").debug()


def test_a_conformance_test_lets_an_interrupt_through(capsys: pytest.CaptureFixture[str]) -> None:
    def interrupt(line: str) -> None:
        if "shrinking it" in line:
            raise KeyboardInterrupt  # Ctrl-C, once

    case = conformance_test(CancelsAtOnceServer, settings=FAST, progress=interrupt)
    with pytest.raises(KeyboardInterrupt):
        case("runTest").debug()
    assert "STOPPED (interrupted)" in capsys.readouterr().out


class RefusesStartServer(ReferenceServer):
    """The worker never starts a run: steering to in_progress gets nowhere."""

    def drive(self, thread_id: str, run_id: str, step: Any) -> HttpResponse:
        if step.kind == "start":
            return HttpResponse(409, {"error": {"message": "no worker"}})
        return super().drive(thread_id, run_id, step)


@pytest.mark.parametrize(
    ("server", "accept"),
    [
        (RefusesStartServer, {"drive-refused"}),
        # Its steps are left open when the run jumps to cancelled: accepted too.
        (CancelsAtOnceServer, {"cancel-target", "step-open-at-run-end"}),
    ],
)
def test_steering_stops_where_a_tolerated_divergence_leaves_the_table(
    server: type[ReferenceServer], accept: set[str]
) -> None:
    """A move that goes nowhere, or round and round, ends the steering; the survey goes on."""
    report = run_conformance(server, settings=settings(FAST, max_examples=15), accept=accept)
    assert report.ok, report.summary()
    assert report.accepted[min(accept)] > 0
