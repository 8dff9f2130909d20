"""The conformance kit's checks of run steps (``Implementation.list_steps``).

The reference server keeps each run's steps with ``runstate.advance`` and passes; each
server below breaks one step rule and the kit names it, with a minimal program.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import pytest
from divergent_server import STEP_ERRORS, StepDivergentServer
from hypothesis import HealthCheck, settings
from reference_server import ReferenceServer

import runstate as rs
from runstate import RunStatus, StepStatus
from runstate import testing as kit
from runstate.models import Usage
from runstate.testing import RULES, STEP_RULES, HttpResponse, Step, run_conformance

FAST = settings(
    max_examples=150,
    stateful_step_count=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
#: A search stops at its first divergence; every step bug shows within ten moves.
FIND = settings(FAST, max_examples=3000, stateful_step_count=10)
#: The searches that take longest (a rare program, then its shrinking): CI runs them in
#: the kit_search step, as tests/test_conformance.py does.
SLOW: frozenset[str] = frozenset(
    {
        "SubmitDropsOutputs",
        "ReopensSteps",
        "FailCompletesSteps",
        "RewritesEndedSteps",
        "AscendingSteps",
        "ForeignSteps",
        "ForgetsEndedSteps",
        "UsageWhileOpen",
    }
)


def _searches(cases: list[tuple[Any, ...]]) -> list[Any]:
    return [
        pytest.param(*case, marks=pytest.mark.kit_search) if case[0].__name__ in SLOW else case
        for case in cases
    ]


def first(report: kit.ConformanceReport) -> kit.Divergence:
    assert report.divergences, report.summary()
    return report.divergences[0]


def test_the_reference_server_lists_steps_and_passes() -> None:
    report = run_conformance(ReferenceServer, settings=FAST)
    assert report.ok and not report.divergences, report.summary()
    assert report.steps_checked
    assert "steps: not checked" not in report.summary()


class NoListing(ReferenceServer):
    """The reference server without ``list_steps``: surveyed as before."""

    list_steps = None  # type: ignore[assignment]


def test_without_list_steps_the_summary_says_steps_were_not_checked() -> None:
    report = run_conformance(NoListing, settings=settings(FAST, max_examples=10))
    assert report.ok and not report.steps_checked
    assert "steps: not checked (the implementation has no list_steps)" in report.summary()


def test_step_rules_are_graded_and_named() -> None:
    assert RULES.keys() >= STEP_RULES
    assert {"step-open-at-run-end", "step-tool-calls", "step-tool-outputs"} <= STEP_RULES
    assert RULES["step-end-status-weak"].grade == "warning"
    assert RULES["step-moved-on-cancel"].grade == "warning"
    assert RULES["step-tool-outputs"].grade == "error"


# --------------------------------------------------------------------------------------
# One bug each


class NoSteps(ReferenceServer):
    """Lists no step at all, ever."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().list_steps(thread_id, run_id)
        if response.status != 200:
            return response  # pragma: no cover - the kit lists known runs only
        return HttpResponse(200, rs.list_page(()))


class AscendingSteps(ReferenceServer):
    """Lists oldest first by default."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        return HttpResponse(200, rs.list_page(self.steps.get(run_id, ()), {"order": "asc"}))


class ForeignSteps(ReferenceServer):
    """Stamps its steps with another assistant."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        steps = [attrs.evolve(s, assistant_id="asst_other") for s in self.steps.get(run_id, ())]
        return HttpResponse(200, rs.list_page(steps))


class ForgetsEndedSteps(ReferenceServer):
    """Lists open steps only."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        steps = [s for s in self.steps.get(run_id, ()) if s.status is StepStatus.IN_PROGRESS]
        return HttpResponse(200, rs.list_page(steps))


class UsageWhileOpen(ReferenceServer):
    """Reports usage on open steps (the spec: null while in_progress)."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        page = super().list_steps(thread_id, run_id).body
        for step in page["data"]:
            if step["status"] == "in_progress":
                step["usage"] = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        return HttpResponse(200, page)


class StatuslessSteps(ReferenceServer):
    """Lists steps without their status."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        page = super().list_steps(thread_id, run_id).body
        for step in page["data"]:
            del step["status"]
        return HttpResponse(200, page)


class BarePage(ReferenceServer):
    """Answers a bare array instead of a list object."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        return HttpResponse(200, super().list_steps(thread_id, run_id).body["data"])


class WrongEnds(ReferenceServer):
    """Names no first_id or last_id, and no has_more."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        page = super().list_steps(thread_id, run_id).body
        return HttpResponse(200, {"object": "list", "data": page["data"]})


class FailCompletesSteps(ReferenceServer):
    """A failed run's open steps end completed, not failed."""

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        before = {s.id: s for s in self.steps.get(run_id, ())}
        response = super().drive(thread_id, run_id, step)
        if step.kind == "fail" and response.status == 200:
            self.steps[run_id] = tuple(
                rs.steps.complete_step(before[s.id], now=s.failed_at or s.created_at)
                if s.status is StepStatus.FAILED
                else s
                for s in self.steps[run_id]
            )
        return response


class CancelEndsSteps(ReferenceServer):
    """A cancel cancels the open steps at once (runstate leaves them open till it ends)."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().cancel_run(thread_id, run_id)
        if response.status == 200:
            self.steps[run_id] = tuple(
                attrs.evolve(s, status=StepStatus.CANCELLED, cancelled_at=s.created_at)
                if s.status is StepStatus.IN_PROGRESS
                else s
                for s in self.steps[run_id]
            )
        return response


class RetrieveCompletesSteps(ReferenceServer):
    """Reading a run finishes its open steps."""

    def retrieve_run(self, thread_id: str, run_id: str) -> HttpResponse:
        self.steps[run_id] = tuple(
            rs.steps.complete_step(s, now=s.created_at)
            if s.status is StepStatus.IN_PROGRESS and s.type == "message_creation"
            else s
            for s in self.steps.get(run_id, ())
        )
        return super().retrieve_run(thread_id, run_id)

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        response = super().drive(thread_id, run_id, step)
        if step.kind == "start" and response.status == 200:
            life = rs.advance(
                self.runs[run_id],
                self.steps.get(run_id, ()),
                "open_message_step",
                now=self.runs[run_id].started_at or 0,
                step_id=f"step_m{run_id}",
                message_id=f"msg_{run_id}",
            )
            self.steps[run_id] = life.steps
        return response


class ReopensSteps(ReferenceServer):
    """A run that starts again (after tool outputs) reopens its completed tool_calls steps."""

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        response = super().drive(thread_id, run_id, step)
        if step.kind == "start" and response.status == 200:
            self.steps[run_id] = tuple(
                attrs.evolve(s, status=StepStatus.IN_PROGRESS, completed_at=None, usage=None)
                if s.type == "tool_calls"
                else s
                for s in self.steps[run_id]
            )
        return response


class EarlySteps(ReferenceServer):
    """Opens a step as soon as the run is created, while it is queued."""

    def create_run(self, thread_id: str, **kwargs: Any) -> HttpResponse:
        response = super().create_run(thread_id, **kwargs)
        if response.status == 200:
            run = self.runs[response.body["id"]]
            started = rs.start(run, now=run.created_at)
            step = rs.steps.open_message_step(
                started, id=f"step_q{run.id}", message_id=f"msg_q{run.id}", now=run.created_at
            )
            self.steps[run.id] = (step,)
        return response


class RewritesEndedSteps(ReferenceServer):
    """Rewrites the usage of completed steps when the next run move comes."""

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        response = super().drive(thread_id, run_id, step)
        if response.status == 200:
            self.steps[run_id] = tuple(
                attrs.evolve(s, usage=Usage(prompt_tokens=9, completion_tokens=9, total_tokens=18))
                if s.status is StepStatus.COMPLETED
                else s
                for s in self.steps[run_id]
            )
        return response


class SubmitDropsOutputs(ReferenceServer):
    """Completes the tool_calls step on submit, but without the outputs."""

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        open_steps = [s for s in self.steps.get(run_id, ()) if s.status is StepStatus.IN_PROGRESS]
        response = super().submit_tool_outputs(thread_id, run_id, tool_outputs)
        if response.status == 200:
            before = {s.id: s for s in open_steps}
            self.steps[run_id] = tuple(
                attrs.evolve(
                    before[s.id], status=s.status, completed_at=s.completed_at, usage=s.usage
                )
                if s.id in before
                else s
                for s in self.steps[run_id]
            )
        return response


@pytest.mark.parametrize(
    ("server", "name", "needle", "last"),
    _searches([
        (NoSteps, "step-tool-calls", "no tool_calls step is open", "drive_require_action"),
        (AscendingSteps, "steps-list-order", "not newest first", ""),
        (ForeignSteps, "step-foreign", '"asst_other"', "drive_require_action"),
        (ForgetsEndedSteps, "step-disappeared", "listed before, not now", ""),
        (UsageWhileOpen, "step-per-status-rules", "[step-usage]", "drive_require_action"),
        (StatuslessSteps, "step-invalid", "data[0]", "drive_require_action"),
        (BarePage, "steps-list", "expected 200 with a list page of steps", "create_run"),
        (WrongEnds, "steps-list", "has_more: expected true or false", "create_run"),
        (FailCompletesSteps, "step-end-status-weak", "expected 'failed'", "fail"),
        (CancelEndsSteps, "step-moved-on-cancel", "expected 'in_progress'", "cancel"),
        (RetrieveCompletesSteps, "step-moved", "got 'completed'", ""),
        (ReopensSteps, "step-status-move", "'completed' -> 'in_progress'", "start"),
        (EarlySteps, "step-opened-not-in-progress", "was created 'queued'", "create_run"),
        (RewritesEndedSteps, "step-changed", "usage.total_tokens: expected", ""),
        (SubmitDropsOutputs, "step-tool-outputs", "function calls", "submit_tool_outputs"),
    ]),
)  # fmt: skip
def test_each_step_bug_is_named(server: type, name: str, needle: str, last: str) -> None:
    divergence = first(run_conformance(server, settings=FIND, max_divergences=1))
    assert divergence.rule.name == name, str(divergence)
    assert needle in divergence.problem, str(divergence)
    assert divergence.operation.startswith("list steps after "), str(divergence)
    assert divergence.steps[0].startswith("state.create_run(thread=")
    assert last in divergence.steps[-1], str(divergence)


@pytest.mark.kit_search
def test_a_step_left_open_after_a_cancel_is_named_with_a_minimal_program() -> None:
    class OnlyCancel(StepDivergentServer):
        submit_tool_outputs = ReferenceServer.submit_tool_outputs

    divergence = first(run_conformance(OnlyCancel, settings=FIND, max_divergences=1))
    assert divergence.rule.name == "step-open-at-run-end"
    assert "is 'in_progress' on a 'cancelled' run" in divergence.problem
    assert divergence.steps[-1] == "state.drive_finish_cancel()"
    assert len(divergence.steps) <= 6, str(divergence)


@pytest.mark.kit_search
def test_one_survey_reports_both_step_bugs() -> None:
    survey = settings(FIND, max_examples=400)
    report = run_conformance(StepDivergentServer, settings=survey)
    assert {d.rule.name for d in report.divergences} == STEP_ERRORS, report.summary()
    assert not report.ok
    accepted = run_conformance(StepDivergentServer, settings=survey, accept=STEP_ERRORS)
    assert accepted.ok and not accepted.divergences, accepted.summary()
    assert set(accepted.accepted) == STEP_ERRORS


# --------------------------------------------------------------------------------------
# The replayed stream: a safety net behind the direct checks


def _machine() -> Any:
    tally = kit._Tally()
    options = kit._Options(
        ReferenceServer,
        False,
        True,
        frozenset(kit.STEP_KINDS),
        kit.DEFAULT_ASSISTANT_ID,
        frozenset(RULES),
        tally,
    )
    machine = type("Replay", (kit._Conformance,), {"options": options})()
    return machine, tally


def test_the_replayed_stream_reports_what_the_direct_checks_let_through() -> None:
    machine, tally = _machine()
    run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1), now=2)
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    life = rs.advance(run, (), "open_tool_calls_step", now=3, step_id="s", tool_calls=[call])
    # The step completes with its call's output missing while the run waits for it.
    waiting = rs.require_action(run, [call], now=4)
    ended = attrs.evolve(
        life.steps[0],
        status=StepStatus.COMPLETED,
        completed_at=4,
        usage=Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0),
    )
    checker = rs.TraceChecker(mode="stream")
    for event in rs.stream_events(
        None, rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
    ):
        checker.feed(event)
    for event in rs.stream_events(
        rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1), run
    ):
        checker.feed(event)
    for event in rs.stream_events(run, run, steps_after=life.steps):
        checker.feed(event)
    before = kit._StepView(run=run, steps=life.steps, hidden=frozenset(), checker=checker)
    after = kit._StepView(run=waiting, steps=(ended,), hidden=frozenset(), checker=checker)
    machine._replay("a move", before, after)
    assert tally.seen["step-stream"] == 1
    assert after.checker is None
    # Not one change of the run (a step that disappears): reported too.
    again = kit._StepView(
        run=waiting, steps=(), hidden=frozenset(), checker=rs.TraceChecker(mode="stream")
    )
    machine._replay("a move", after, again)
    assert tally.seen["step-stream"] == 2
    assert again.checker is None
    assert RunStatus.REQUIRES_ACTION is waiting.status
