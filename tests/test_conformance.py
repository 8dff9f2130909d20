"""The conformance kit: it passes the reference server and names every broken one.

The broken servers each get one deliberate bug on top of the reference server; the
divergent server (``divergent_server.py``) has five, and one survey must report them all,
each under its stable rule name with the minimal program hypothesis shrank it to.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unittest
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import attrs
import pytest
from divergent_server import ERRORS, WARNINGS, DivergentServer
from hypothesis import HealthCheck, settings
from hypothesis.errors import InvalidArgument
from reference_server import ReferenceServer, not_found

import runstate as rs
from runstate import RunStatus, testing
from runstate._table import EDGES, OPERATION_FOR_TARGET
from runstate.testing import (
    RULES,
    ConformanceFailure,
    ConformanceReport,
    DivergencesFound,
    HttpResponse,
    Implementation,
    Step,
    conformance_test,
    run_conformance,
)

#: Deterministic and quick: the same examples every run, nothing remembered. Twenty
#: steps are plenty to reach every bug below and keep shrinking quick.
FAST = settings(
    max_examples=150,
    stateful_step_count=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
#: For finding one bug (with max_divergences=1, the search stops at the first): generous,
#: since which programs come first varies with the process (hypothesis' swarm testing).
FIND = settings(FAST, max_examples=3000)  # a search stops at its first divergence
#: For the implementations that must pass: longer lifecycles, more of them.
THOROUGH = settings(FAST, max_examples=200, stateful_step_count=50)
#: The CI profile (tests/conftest.py) as the kit would use it by default.
CI = settings(settings.get_profile("ci"), deadline=None, suppress_health_check=list(HealthCheck))

WIRE_COMPLETED = (
    '{"error": {"message": "Cannot cancel run with status \'completed\'.", '
    '"type": "invalid_request_error", "param": null, "code": null}}'
)


def run_case(case: type[unittest.TestCase]) -> None:
    """Run a generated test case, letting its failure propagate."""
    case("runTest").debug()


_SAME = (
    (re.compile(r"state\.drive_(?:anywhere|end|end_late)\(step='(\w+)'\)"), r"state.drive_\1()"),
    (re.compile(r"state\.cancel_started\(\)"), "state.cancel()"),
    (re.compile(r"state\.create_next_run\("), "state.create_run("),
)


def canonical(steps: Sequence[str]) -> tuple[str, ...]:
    """The steps with rules that do the same thing under one name."""
    out = []
    for step in steps:
        text = step
        for pattern, same in _SAME:
            text = pattern.sub(same, text)
        out.append(text)
    return tuple(out)


def first(report: ConformanceReport) -> testing.Divergence:
    """The first divergence a survey found (the bug a one-bug server was given)."""
    assert report.divergences, report.summary()
    return report.divergences[0]


# --------------------------------------------------------------------------------------
# Passing


#: Slow (200 lifecycles of 50 steps): CI runs it, the README's test command skips it.
TestReferenceServer = pytest.mark.slow(conformance_test(ReferenceServer, settings=THOROUGH))


class DocumentedCancelServer(ReferenceServer):
    def __init__(self) -> None:
        super().__init__(documented_only=True)


TestDocumentedCancelServer = pytest.mark.kit_search(
    conformance_test(DocumentedCancelServer, settings=THOROUGH, documented_only=True)
)


class TupleServer(ReferenceServer):
    """Answers with plain tuples and JSON text, as a thin HTTP adapter might."""

    def retrieve_run(self, thread_id: str, run_id: str) -> Any:
        status, body = super().retrieve_run(thread_id, run_id)
        return (status, json.dumps(body).encode())


@pytest.mark.slow
def test_plain_tuples_and_json_bytes_are_accepted() -> None:
    run_case(conformance_test(TupleServer, settings=settings(FAST, max_examples=30)))


class NoProbeServer(ReferenceServer):
    """Drops unknown fields everywhere, by design."""

    def create_run(self, thread_id: str, **kwargs: Any) -> HttpResponse:
        return super().create_run(thread_id, **{**kwargs, "extra": {}})

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        plain = tuple(
            {k: v for k, v in c.items() if not k.startswith("x_")} for c in step.tool_calls
        )
        return super().drive(thread_id, run_id, attrs.evolve(step, tool_calls=plain))


@pytest.mark.slow
def test_probing_can_be_turned_off() -> None:
    run_case(
        conformance_test(
            NoProbeServer, settings=settings(FAST, max_examples=50), probe_unknown_fields=False
        )
    )


def test_reference_server_is_an_implementation() -> None:
    server: Implementation = ReferenceServer()  # checked by mypy, structurally
    assert server.create_thread().startswith("thread_")


# --------------------------------------------------------------------------------------
# A mock without a worker, with its own assistants, that finishes cancels by itself


class WorkerlessMock(ReferenceServer):
    """No drive hook; assistants must exist; a cancel takes effect on the next read."""

    drive = None  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.assistants: set[str] = set()

    def create_assistant(self) -> str:
        assistant_id = f"asst_{len(self.assistants) + 1}"
        self.assistants.add(assistant_id)
        return assistant_id

    def create_run(self, thread_id: str, *, assistant_id: str, **kwargs: Any) -> HttpResponse:
        if assistant_id not in self.assistants:
            return not_found("assistant", assistant_id)
        return super().create_run(thread_id, assistant_id=assistant_id, **kwargs)

    def retrieve_run(self, thread_id: str, run_id: str) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if run is not None and run.status is RunStatus.CANCELLING:
            self.runs[run_id] = rs.finish_cancel(run, now=self.now())
        return super().retrieve_run(thread_id, run_id)


@pytest.mark.slow
def test_a_mock_without_a_worker_passes() -> None:
    report = run_conformance(WorkerlessMock, settings=FAST, steps=())
    assert report.ok, report.summary()
    assert not report.divergences
    # Runs still get cancelled, by the mock itself, and tool outputs are refused.
    assert report.reach[("cancel", "queued")][0] > 0
    assert report.reach[("submit_tool_outputs", "queued")] == (
        0,
        report.reach[("submit_tool_outputs", "queued")][1],
    )
    assert not any(op in testing.STEP_KINDS for op, _ in report.reach)


def test_the_assistant_id_must_be_the_mocks_own() -> None:
    class Forgetful(WorkerlessMock):
        create_assistant = None  # type: ignore[assignment]

    report = run_conformance(Forgetful, settings=settings(FAST, max_examples=5), steps=())
    assert first(report).rule.name == "create-refused"
    assert "No assistant found with id 'asst_runstate_conformance'" in first(report).problem


def test_a_fixed_assistant_id_can_be_given() -> None:
    class Seeded(WorkerlessMock):
        create_assistant = None  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.assistants.add("asst_seeded")

    report = run_conformance(
        Seeded, settings=settings(FAST, max_examples=10), steps=(), assistant_id="asst_seeded"
    )
    assert report.ok, report.summary()


def test_a_cancel_finishing_on_its_own_is_checked_like_finish_cancel() -> None:
    class LateStamp(WorkerlessMock):
        def retrieve_run(self, thread_id: str, run_id: str) -> HttpResponse:
            response = super().retrieve_run(thread_id, run_id)
            if response.status == 200 and response.body["status"] == "cancelled":
                return HttpResponse(200, {**response.body, "cancelled_at": 5})
            return response

    report = run_conformance(LateStamp, settings=settings(FAST, max_examples=20), steps=())
    divergence = first(report)
    assert divergence.rule.name == "timestamp-order"
    assert "that was cancelled on its own" in divergence.operation


def test_some_worker_steps_can_be_left_out() -> None:
    report = run_conformance(
        ReferenceServer, settings=settings(FAST, max_examples=30), steps=("start", "complete")
    )
    assert report.ok, report.summary()
    assert {op for op, _ in report.reach} <= {"cancel", "submit_tool_outputs", "start", "complete"}


def test_create_assistant_must_return_a_string() -> None:
    class Bad(ReferenceServer):
        def create_assistant(self) -> Any:
            return 42

    with pytest.raises(InvalidArgument, match=r"create_assistant\(\) returned 42"):
        run_conformance(Bad, settings=settings(FAST, max_examples=1))


# --------------------------------------------------------------------------------------
# One survey, every divergence


@pytest.mark.kit_search
def test_one_survey_reports_every_divergence_with_a_minimal_example() -> None:
    # What the survey finds, not how long it takes: benchmarks/conformance_survey.py
    # measures that (a loaded 2-core CI machine once took 148 s).
    report = run_conformance(DivergentServer, settings=CI)
    names = [d.rule.name for d in report.divergences]
    assert sorted(names) == sorted(ERRORS | WARNINGS), report.summary()
    assert {d.rule.name for d in report.errors} == ERRORS
    assert {d.rule.name for d in report.warnings} == WARNINGS
    assert not report.ok
    for d in report.divergences:
        assert d.steps, d
        assert d.steps[0].startswith("state.create_run(thread="), d
        # Shrunk: from up to 50 steps to a handful (hypothesis' shrinker does not
        # promise the very shortest, and what comes out varies a little per process).
        assert len(d.steps) <= 10, d
        assert d.count > 0, d
        assert str(d).startswith(f"{d.rule.tag}, seen {d.count} times: ")
    by_name = {d.rule.name: d for d in report.divergences}
    assert len(by_name["create-status"].steps) == 1
    assert "got 201 status 'queued'" in by_name["create-status"].problem
    lock = canonical(by_name["thread-lock"].steps)
    assert len(lock) == 2
    assert lock[0] == lock[1]
    assert '"Bad request."' in by_name["refusal-body"].problem
    assert report.rounds == len(names) + 1


@pytest.mark.slow
def test_accepting_every_divergence_passes_and_counts_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    accepted = ERRORS | WARNINGS
    case = conformance_test(DivergentServer, settings=CI, accept=accepted)
    run_case(case)  # passes
    out = capsys.readouterr().out
    assert "runstate conformance of DivergentServer: no divergence;" in out
    assert f"accepted: {len(accepted)} (" in out
    for name in accepted:
        assert f"{name} x" in out


@pytest.mark.slow
def test_a_failing_survey_raises_every_divergence(capsys: pytest.CaptureFixture[str]) -> None:
    accepted = (ERRORS | WARNINGS) - {"create-status"}
    case = conformance_test(DivergentServer, settings=CI, accept=accepted)
    with pytest.raises(DivergencesFound) as info:
        run_case(case)
    message = str(info.value)
    assert message.startswith("runstate conformance of DivergentServer: ")
    assert "create-status (error, evidence H), seen " in message
    assert f"accepted: {len(accepted)} (" in message
    assert info.value.rule is RULES["create-status"]
    assert info.value.report.errors[0].rule.name == "create-status"
    assert message in capsys.readouterr().out


@pytest.mark.kit_search
def test_warnings_alone_do_not_fail() -> None:
    report = run_conformance(
        DivergentServer, settings=CI, accept=ERRORS | {"cancel-keeps-required-action"}
    )
    assert report.ok
    assert [d.rule.name for d in report.divergences] == ["thread-lock-cancelling"]
    report.raise_if_failed()  # nothing raised


# --------------------------------------------------------------------------------------
# Coverage: the kit reaches every move the table allows


@pytest.mark.slow
def test_every_allowed_move_is_reached_at_the_ci_profile() -> None:
    report = run_conformance(ReferenceServer, settings=CI)
    assert report.ok, report.summary()
    allowed = {(OPERATION_FOR_TARGET[e.target], e.source.value) for e in EDGES}
    missing = sorted(p for p in allowed if report.reach.get(p, (0, 0))[0] == 0)
    assert not missing, report.reach_table()
    # Nothing the table forbids was ever made.
    made = {p for p, (m, _) in report.reach.items() if m}
    assert made <= allowed
    # Every operation was also tried on a status that refuses it.
    refused = {op for (op, _), (m, t) in report.reach.items() if t > m}
    assert refused == set(testing.REACH_OPERATIONS)


def test_the_reach_table_is_markdown() -> None:
    report = ConformanceReport(
        label="X",
        divergences=(),
        accepted={},
        reach={("cancel", "queued"): (3, 4)},
        examples=1,
        rounds=1,
        seconds=0.0,
    )
    lines = report.reach_table().splitlines()
    assert lines[0].startswith("| operation | queued | in_progress |")
    assert lines[2].startswith("| cancel | 3/4 | 0/0 |")
    assert len(lines) == 2 + len(testing.REACH_OPERATIONS)


@pytest.mark.slow
def test_a_seed_repeats_a_survey() -> None:
    loose = settings(FAST, derandomize=False, max_examples=20)
    one = run_conformance(ReferenceServer, settings=loose, seed=7)
    two = run_conformance(ReferenceServer, settings=loose, seed=7)
    assert one.reach == two.reach
    fewer = run_conformance(ReferenceServer, settings=loose, seed=7, max_examples=3)
    assert fewer.examples < one.examples


# --------------------------------------------------------------------------------------
# One bug each, named


class CancelsCompletedServer(ReferenceServer):
    """A completed run can still be cancelled."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        run = self.runs.get(run_id)
        if run is not None and run.status is RunStatus.COMPLETED:
            self.runs[run_id] = attrs.evolve(run, status=RunStatus.CANCELLING)
            return HttpResponse(200, rs.dump_run(self.runs[run_id]))
        return super().cancel_run(thread_id, run_id)


class CancelsAtOnceServer(ReferenceServer):
    """Cancel jumps straight to ``cancelled``."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().cancel_run(thread_id, run_id)
        if response.status == 200:
            run = rs.finish_cancel(self.runs[run_id], now=self.now())
            self.runs[run_id] = run
            return HttpResponse(200, rs.dump_run(run))
        return response


class DropsUnknownFieldsServer(ReferenceServer):
    """Unknown fields are not stored (a typed model that only knows the spec)."""

    def create_run(self, thread_id: str, **kwargs: Any) -> HttpResponse:
        return super().create_run(thread_id, **{**kwargs, "extra": {}})


@pytest.mark.kit_search
def test_cancelling_a_completed_run_is_caught() -> None:
    divergence = first(run_conformance(CancelsCompletedServer, settings=FIND, max_divergences=1))
    assert divergence.rule.name == "cancel-accepted"
    assert divergence.operation.startswith("cancel on a 'completed' run (run_")
    assert divergence.problem == f"expected 400 {WIRE_COMPLETED}, got 200 status 'cancelling'"
    steps = canonical(divergence.steps)
    assert steps[-1] == "state.cancel()"
    assert {"state.drive_start()", "state.drive_complete()"} <= set(steps)
    assert len(steps) <= 6  # shrunk (which minimal program comes out may vary)


def test_jumping_straight_to_cancelled_is_caught() -> None:
    divergence = first(run_conformance(CancelsAtOnceServer, settings=FIND, max_divergences=1))
    assert divergence.rule.name == "cancel-target"
    assert divergence.operation.startswith("cancel on a 'queued' run (run_")
    assert divergence.problem == "expected 200 status 'cancelling', got 200 status 'cancelled'"
    assert canonical(divergence.steps) == ("state.create_run(thread=0)", "state.cancel()")


@pytest.mark.slow
def test_jumping_straight_to_cancelled_is_caught_with_documented_cancel() -> None:
    class Server(CancelsAtOnceServer):
        def __init__(self) -> None:
            super().__init__(documented_only=True)

    report = run_conformance(Server, settings=FIND, documented_only=True, max_divergences=1)
    divergence = first(report)
    assert divergence.rule.name == "cancel-target"
    assert divergence.operation.startswith("cancel on an 'in_progress' run (run_")


def test_dropping_unknown_fields_is_caught() -> None:
    divergence = first(run_conformance(DropsUnknownFieldsServer, settings=FIND, max_divergences=1))
    assert divergence.rule.name == "unknown-fields"
    assert divergence.operation == "create run on thread 'thread_1'"
    assert (
        "x_runstate_probe: expected "
        '{"level": 1, "nested": {"level": 2, "items": [{"level": 3}, null]}}, '
        "got nothing (key missing)"
    ) in divergence.problem
    assert divergence.steps == ("state.create_run(thread=0)",)


class NestedDropServer(ReferenceServer):
    """Keeps top-level unknown fields but loses a nested key on cancel."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().cancel_run(thread_id, run_id)
        if response.status == 200:
            body = dict(response.body)
            body["x_runstate_probe"] = {**body["x_runstate_probe"], "nested": {}}
            return HttpResponse(200, body)
        return response


class UsageOnCancelServer(ReferenceServer):
    """Reports usage on a cancelling run (the spec: usage is null until terminal)."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().cancel_run(thread_id, run_id)
        if response.status == 200:
            body = {
                **response.body,
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
            return HttpResponse(200, body)
        return response


class LooseLockServer(ReferenceServer):
    """Forgets the thread lock."""

    def create_run(self, thread_id: str, **kwargs: Any) -> HttpResponse:
        saved = self.runs
        self.runs = {}
        try:
            response = super().create_run(thread_id, **kwargs)
        finally:
            saved.update(self.runs)
            self.runs = saved
        return response


class SloppyMessageServer(ReferenceServer):
    """Refuses the right things with the wrong text."""

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        response = super().submit_tool_outputs(thread_id, run_id, tool_outputs)
        if response.status == 400:
            body = {"error": {**response.body["error"], "message": "Bad request."}}
            return HttpResponse(400, body)
        return response


class ConflictServer(ReferenceServer):
    """Refuses cancels with 409 Conflict."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().cancel_run(thread_id, run_id)
        return HttpResponse(409, response.body) if response.status == 400 else response


class BackwardsClockServer(ReferenceServer):
    """Stamps completed_at before the run started."""

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        response = super().drive(thread_id, run_id, step)
        if step.kind == "complete" and response.status == 200:
            return HttpResponse(200, {**response.body, "completed_at": 5})
        return response


class KeepsRequiredActionServer(ReferenceServer):
    """Leaves required_action in place after tool outputs were submitted."""

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        pending = self.runs.get(run_id)
        response = super().submit_tool_outputs(thread_id, run_id, tool_outputs)
        if response.status == 200 and pending is not None:
            body = {**response.body, "required_action": rs.dump_run(pending)["required_action"]}
            return HttpResponse(200, body)
        return response


class SilentChangeServer(ReferenceServer):
    """A refused cancel still changes the run's metadata."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().cancel_run(thread_id, run_id)
        if response.status == 400 and run_id in self.runs:
            self.runs[run_id] = attrs.evolve(self.runs[run_id], metadata={"touched": "yes"})
        return response


class NoExpiryServer(ReferenceServer):
    """Cannot expire a run in progress: the worker refuses."""

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if step.kind == "expire" and run is not None and run.status is RunStatus.IN_PROGRESS:
            return HttpResponse(400, {"error": {"message": "no expiry here"}})
        return super().drive(thread_id, run_id, step)


class NoRaceServer(ReferenceServer):
    """A cancelling run can only become cancelled (the L-confidence races are refused)."""

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if run is not None and run.status is RunStatus.CANCELLING and step.kind == "fail":
            return HttpResponse(400, {"error": {"message": "cancelling"}})
        return super().drive(thread_id, run_id, step)


class RestartsServer(ReferenceServer):
    """The worker may restart a completed run."""

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if run is not None and run.status is RunStatus.COMPLETED and step.kind == "start":
            new = attrs.evolve(run, status=RunStatus.IN_PROGRESS)
            self.runs[run_id] = new
            return HttpResponse(200, rs.dump_run(new))
        return super().drive(thread_id, run_id, step)


class CrashingWorkerServer(ReferenceServer):
    """Answers a refused worker step with a 500."""

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        response = super().drive(thread_id, run_id, step)
        return HttpResponse(500, response.body) if response.status == 409 else response


class ForgetfulServer(ReferenceServer):
    """Loses runs once they are terminal."""

    def retrieve_run(self, thread_id: str, run_id: str) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if run is not None and run.status.is_terminal:
            return not_found("run", run_id)
        return super().retrieve_run(thread_id, run_id)


class TextServer(ReferenceServer):
    """Answers some successes with HTML."""

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> Any:
        response = super().submit_tool_outputs(thread_id, run_id, tool_outputs)
        return (200, b"<html>ok</html>") if response.status == 200 else response


class MalformedServer(ReferenceServer):
    """Answers cancels with a run whose created_at is a string."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().cancel_run(thread_id, run_id)
        if response.status == 200:
            return HttpResponse(200, {**response.body, "created_at": "yesterday"})
        return response


class AcceptedStatusServer(ReferenceServer):
    """Answers cancels with 202 Accepted."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().cancel_run(thread_id, run_id)
        return HttpResponse(202, response.body) if response.status == 200 else response


class ReusesIdsServer(ReferenceServer):
    """Gives every new run the same id."""

    def create_run(self, thread_id: str, **kwargs: Any) -> HttpResponse:
        response = super().create_run(thread_id, **kwargs)
        if response.status == 200:
            run = self.runs.pop(response.body["id"])
            run = attrs.evolve(run, id="run_same")
            self.runs[run.id] = run
            return HttpResponse(200, rs.dump_run(run))
        return response


class RefusesSubmitServer(ReferenceServer):
    """Refuses every submit, the right ones too."""

    def submit_tool_outputs(self, thread_id: str, run_id: str, tool_outputs: Any) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if run is not None and run.status is RunStatus.REQUIRES_ACTION:
            return HttpResponse(400, {"error": {"message": "no"}})
        return super().submit_tool_outputs(thread_id, run_id, tool_outputs)


class RefusesCancelServer(ReferenceServer):
    """Refuses cancels of queued runs."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if run is not None and run.status is RunStatus.QUEUED:
            return HttpResponse(400, {"error": {"message": "no"}})
        return super().cancel_run(thread_id, run_id)


class AcceptsUnknownIdServer(ReferenceServer):
    """Takes tool outputs for calls it never asked for."""

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if (
            run is not None
            and run.status is RunStatus.REQUIRES_ACTION
            and any(o["tool_call_id"] == "call_unknown" for o in tool_outputs)
        ):
            new = attrs.evolve(run, status=RunStatus.QUEUED, required_action=None)
            self.runs[run_id] = new
            return HttpResponse(200, rs.dump_run(new))
        return super().submit_tool_outputs(thread_id, run_id, tool_outputs)


class DuplicatesServer(ReferenceServer):
    """Takes tool outputs that name a call twice."""

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        ids = [o["tool_call_id"] for o in tool_outputs]
        if len(set(ids)) < len(ids):
            tool_outputs = list({o["tool_call_id"]: o for o in tool_outputs}.values())
        return super().submit_tool_outputs(thread_id, run_id, tool_outputs)


class SubmitsOnQueuedServer(ReferenceServer):
    """Takes tool outputs from queued runs (and leaves them queued)."""

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if run is not None and run.status is RunStatus.QUEUED:
            return HttpResponse(200, rs.dump_run(run))
        return super().submit_tool_outputs(thread_id, run_id, tool_outputs)


class WrongMoveServer(ReferenceServer):
    """Completing a run makes it incomplete; a cancelled one loses its cancelled_at."""

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        if step.kind == "complete":
            step = Step(kind="mark_incomplete", reason="max_prompt_tokens", usage=step.usage)
        return super().drive(thread_id, run_id, step)


class StaleSubmitServer(ReferenceServer):
    """Keeps a stale started_at... as a string of the old value in metadata."""

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        response = super().submit_tool_outputs(thread_id, run_id, tool_outputs)
        if response.status == 200:
            return HttpResponse(200, {**response.body, "metadata": {"submitted": "yes"}})
        return response


class DriftServer(ReferenceServer):
    """The run's metadata changes between two retrieves."""

    def retrieve_run(self, thread_id: str, run_id: str) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if run is not None:
            self.runs[run_id] = attrs.evolve(run, metadata={"seen": "yes"})
        return super().retrieve_run(thread_id, run_id)


class ModelSwapServer(ReferenceServer):
    """The worker changes the run's model when it starts."""

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        response = super().drive(thread_id, run_id, step)
        if step.kind == "start" and response.status == 200:
            return HttpResponse(200, {**response.body, "model": "gpt-other"})
        return response


class SpuriousQueuedServer(ReferenceServer):
    """Creates runs as in_progress."""

    def create_run(self, thread_id: str, **kwargs: Any) -> HttpResponse:
        response = super().create_run(thread_id, **kwargs)
        if response.status == 200:
            run = rs.start(self.runs[response.body["id"]], now=self.now())
            self.runs[run.id] = run
            return HttpResponse(200, rs.dump_run(run))
        return response


class UnlockedWhileCancellingServer(ReferenceServer):
    """Lets a run be created while the thread's run is still cancelling."""

    def create_run(self, thread_id: str, **kwargs: Any) -> HttpResponse:
        busy = [
            r
            for r in self.runs.values()
            if r.thread_id == thread_id and r.status is RunStatus.CANCELLING
        ]
        saved = {r.id: self.runs.pop(r.id) for r in busy}
        try:
            return super().create_run(thread_id, **kwargs)
        finally:
            self.runs.update(saved)


#: The searches that take longest (a rare program, then its shrinking): CI runs them in a
#: step of their own (``RUNSTATE_TEST_KIT_SEARCH=1``), so the README's test command stays
#: within its time budget; every other kind of bug is searched for in every run.
LONG_SEARCHES: frozenset[type] = frozenset(
    {
        DuplicatesServer,
        KeepsRequiredActionServer,
        RestartsServer,
        RefusesSubmitServer,
        AcceptsUnknownIdServer,
        StaleSubmitServer,
        BackwardsClockServer,
        TextServer,
        LooseLockServer,
        UnlockedWhileCancellingServer,
        WrongMoveServer,
        ReusesIdsServer,
        NoExpiryServer,
        # 1.4 to 1.7 s of CPU each under coverage: out of the README's test command
        CrashingWorkerServer,
        ModelSwapServer,
        NoRaceServer,
    }
)


def _searches(cases: list[tuple[Any, ...]]) -> list[Any]:
    return [
        pytest.param(*case, marks=pytest.mark.kit_search) if case[0] in LONG_SEARCHES else case
        for case in cases
    ]


@pytest.mark.parametrize(
    ("server", "name", "start", "needle"),
    _searches([
        (
            NestedDropServer,
            "unknown-fields",
            "cancel on a 'queued' run",
            "x_runstate_probe.nested.level: expected 2, got nothing (key missing)",
        ),
        (
            UsageOnCancelServer,
            "per-status-rules",
            "cancel on a 'queued' run",
            "usage: must be null when the status is 'cancelling'",
        ),
        (
            LooseLockServer,
            "thread-lock",
            "create run on thread 'thread_",
            "already has an active run run_3.",
        ),
        (
            UnlockedWhileCancellingServer,
            "thread-lock-cancelling",
            "create run on thread 'thread_1' (its run run_3 is 'cancelling')",
            "got 200 status 'queued'",
        ),
        (
            SloppyMessageServer,
            "refusal-body",
            "submit_tool_outputs ['call_not_pending'] on a 'queued' run",
            'got 400 {"error": {"message": "Bad request."',
        ),
        (ConflictServer, "refusal-status", "cancel on a 'cancelling' run", "got 409 {"),
        (
            BackwardsClockServer,
            "timestamp-order",
            "drive 'complete' on a",  # in_progress or cancelling: the steer draws either
            "completed_at: expected a timestamp at or after",
        ),
        (
            KeepsRequiredActionServer,
            "per-status-rules",
            "submit_tool_outputs ['call_",  # the right outputs, in either order
            "required_action: must be null when the status is 'queued'",
        ),
        (
            SilentChangeServer,
            "refusal-changed-run",
            "retrieve of a 'cancelling' run (run_3) after the refused cancel",
            'metadata.touched: expected no such key, got "yes"',
        ),
        (NoExpiryServer, "drive-refused", "drive 'expire' on an 'in_progress' run", "got 400"),
        (NoRaceServer, "drive-refused-weak", "drive 'fail' on a 'cancelling' run", "got 400"),
        (
            RestartsServer,
            "drive-accepted",
            "drive 'start' on a 'completed' run",
            "expected a 4xx refusal, got 200 status 'in_progress'",
        ),
        (
            CrashingWorkerServer,
            "refusal-status",
            "drive '",
            "expected a 4xx refusal, got 500",
        ),
        (ForgetfulServer, "retrieve-refused", "retrieve of a '", "got 404"),
        (
            TextServer,
            "invalid-run",
            "submit_tool_outputs ['call_",
            "not a JSON object: \"b'<html>ok</html>'\"",
        ),
        (MalformedServer, "invalid-run", "cancel on a 'queued' run", "not a valid run:"),
        (AcceptedStatusServer, "cancel-status", "cancel on a 'queued' run", "got 202 status"),
        (
            ReusesIdsServer,
            "create-fields",
            "create run on thread 'thread_",
            "expected a new run, got the id 'run_same' of an existing run",
        ),
        (
            RefusesSubmitServer,
            # It refuses every submit with its own body: the right outputs refused, or
            # the wrong ones refused with the wrong text, whichever comes first.
            "submit-refused|refusal-body",
            "submit_tool_outputs ['call_",
            'got 400 {"error": {"message": "no"}}',
        ),
        (RefusesCancelServer, "cancel-refused", "cancel on a 'queued' run", "got 400"),
        (
            AcceptsUnknownIdServer,
            # It takes any outputs naming call_unknown: every pending call plus it (L),
            # or it in place of a pending one (M), whichever comes first.
            "submit-unknown-id-accepted|submit-ids-accepted",
            "submit_tool_outputs ['call_1', ",
            "got 200 status 'queued'",
        ),
        (
            DuplicatesServer,
            "submit-ids-accepted",
            "submit_tool_outputs ['call_1', 'call_2', 'call_1'] on a 'requires_action' run",
            "Duplicate call_ids submitted: ['call_1', 'call_1']",
        ),
        (
            SubmitsOnQueuedServer,
            "submit-accepted",
            "submit_tool_outputs ['call_not_pending'] on a 'queued' run",
            "got 200 status 'queued'",
        ),
        (
            WrongMoveServer,
            "drive-target",
            "drive 'complete' on a",
            "got 200 status 'incomplete'",
        ),
        (
            StaleSubmitServer,
            "submit-fields",
            "submit_tool_outputs ['call_1', 'call_2'] on a 'requires_action' run",
            'metadata.submitted: expected no such key, got "yes"',
        ),
        (DriftServer, "retrieve-changed|refusal-changed-run", "retrieve of a '", "metadata.seen"),
        (ModelSwapServer, "drive-fields", "drive 'start' on a 'queued' run", "model: expected"),
        (
            SpuriousQueuedServer,
            "create-fields",
            "create run on thread 'thread_1'",
            "expected 200 status 'queued', got 200 status 'in_progress'",
        ),
    ]),
)  # fmt: skip
def test_each_kind_of_bug_is_named(
    server: type[ReferenceServer], name: str, start: str, needle: str
) -> None:
    divergence = first(run_conformance(server, settings=FIND, max_divergences=1))
    assert divergence.rule.name in name.split("|"), str(divergence)
    assert divergence.operation.startswith(start), str(divergence)
    assert needle in divergence.problem, str(divergence)
    assert divergence.steps[0].startswith("state.create_run(thread=")


@pytest.mark.kit_search
def test_cancel_keeping_required_action_is_a_warning() -> None:
    class KeepsIt(ReferenceServer):
        def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
            run = self._find(thread_id, run_id)
            if run is not None and run.status is RunStatus.REQUIRES_ACTION:
                self.runs[run_id] = attrs.evolve(run, status=RunStatus.CANCELLING)
                return HttpResponse(200, rs.dump_run(self.runs[run_id]))
            return super().cancel_run(thread_id, run_id)

    report = run_conformance(KeepsIt, settings=FAST)
    assert report.ok, report.summary()
    (divergence,) = report.divergences
    assert divergence.rule.name == "cancel-keeps-required-action"
    assert divergence.rule.grade == "warning"
    assert str(divergence).startswith("cancel-keeps-required-action (warning, evidence ?)")
    assert "required_action: must be null when the status is 'cancelling'" in divergence.problem


def test_consecutive_responses_are_checked_as_a_poll_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[int] = []

    problem = rs.TraceProblem(
        position=1,
        severity="error",
        rule="status-unreachable",
        message="'queued' cannot follow 'queued'",
    )

    def check_trace(items: list[rs.Run], *, mode: str) -> Any:
        seen.append(len(items))
        assert mode == "poll"
        return SimpleNamespace(ok=False, problems=[problem])

    # The run rules read polls with it, and the step rules the run's moves.
    monkeypatch.setattr(testing._run_rules, "check_trace", check_trace)
    monkeypatch.setattr(testing._step_rules, "check_trace", check_trace)
    divergence = first(run_conformance(ReferenceServer, settings=FIND, max_divergences=1))
    assert seen
    assert set(seen) == {2}
    assert divergence.rule.name == "poll-trace"
    assert "read as two polls of the run" in divergence.problem
    assert "status-unreachable: 'queued' cannot follow 'queued'" in divergence.problem


# --------------------------------------------------------------------------------------
# Rules and messages


def test_every_rule_is_kebab_case_and_graded_by_its_evidence() -> None:
    for name, r in RULES.items():
        assert r.name == name
        assert name == name.lower()
        assert all(part.isalpha() for part in name.split("-")), name
        assert r.grade == ("warning" if r.evidence in ("L", "?") else "error")
        assert r.tag == f"{name} ({r.grade}, evidence {r.evidence})"


def test_a_failure_names_its_rule() -> None:
    err = ConformanceFailure("cancel on x", "expected y", rule=RULES["cancel-target"])
    assert str(err) == "cancel-target (error, evidence H): cancel on x: expected y"
    assert str(ConformanceFailure("op", "problem")) == "op: problem"


# --------------------------------------------------------------------------------------
# The entry points' arguments


@pytest.mark.parametrize(
    "kwargs",
    [
        {"settings": {"max_examples": 5}},
        {"documented_only": 1},
        {"probe_unknown_fields": "yes"},
        {"accept": "create-status"},
        {"accept": {"no-such-rule"}},
        {"steps": "start"},
        {"steps": ("start", "jump")},
        {"assistant_id": ""},
        {"seed": "7"},
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        conformance_test(ReferenceServer, **kwargs)
    with pytest.raises(InvalidArgument):
        run_conformance(ReferenceServer, **kwargs)


@pytest.mark.parametrize("name", ["max_examples", "max_divergences"])
@pytest.mark.parametrize("value", [0, "5", 1.5])
def test_bad_counts_are_refused(name: str, value: Any) -> None:
    with pytest.raises(InvalidArgument, match=name):
        run_conformance(ReferenceServer, **{name: value})


def test_a_survey_can_stop_at_the_first_divergence() -> None:
    report = run_conformance(DivergentServer, settings=FIND, max_divergences=1)
    assert len(report.divergences) == 1
    assert report.rounds == 1


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        conformance_test(ReferenceServer, FAST)  # type: ignore[call-arg]


def test_factory_must_be_callable() -> None:
    with pytest.raises(InvalidArgument, match="must be callable"):
        conformance_test(ReferenceServer())  # type: ignore[arg-type]


def test_missing_methods_are_named() -> None:
    class Half:
        def create_thread(self) -> str:
            return "thread_1"

    case = conformance_test(Half, settings=settings(FAST, max_examples=1))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="lacks create_run, retrieve_run, cancel_run"):
        run_case(case)


def test_a_response_that_is_not_a_pair_is_named() -> None:
    class Bare(ReferenceServer):
        def retrieve_run(self, thread_id: str, run_id: str) -> Any:
            return super().retrieve_run(thread_id, run_id).body

    with pytest.raises(InvalidArgument, match=r"retrieve_run\(\) returned"):
        run_conformance(Bare, settings=FAST)


def test_a_status_that_is_not_an_int_is_named() -> None:
    class Stringly(ReferenceServer):
        def cancel_run(self, thread_id: str, run_id: str) -> Any:
            status, body = super().cancel_run(thread_id, run_id)
            return (str(status), body)

    with pytest.raises(InvalidArgument, match=r"cancel_run\(\) returned status '200'"):
        run_conformance(Stringly, settings=FAST)


def test_close_is_called_after_each_case() -> None:
    closed: list[bool] = []

    class Closing(ReferenceServer):
        def close(self) -> None:
            closed.append(True)

    report = run_conformance(Closing, settings=settings(FAST, max_examples=3))
    assert len(closed) >= 3
    assert report.examples <= len(closed)


def test_the_default_settings_are_the_profiles() -> None:
    report = run_conformance(ReferenceServer, max_examples=2)
    assert report.ok
    assert report.examples >= 1


def test_step_to_json() -> None:
    step = Step(kind="require_action", tool_calls=({"id": "call_1"},))
    assert step.to_json() == {
        "kind": "require_action",
        "tool_calls": [{"id": "call_1"}],
        "usage": None,
        "last_error": None,
        "reason": None,
    }


def test_import_runstate_does_not_import_hypothesis() -> None:
    code = "import sys, runstate; print('hypothesis' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"HYPOTHESIS_NO_PLUGINS": "1", "PATH": ""},
    )
    assert out.stdout.strip() == "False"
