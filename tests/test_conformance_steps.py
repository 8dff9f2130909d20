"""The conformance kit's checks of run steps (``Implementation.list_steps``).

The reference server keeps each run's steps with ``runstate.advance`` and passes; each
server below breaks one step rule and the kit names it, with a minimal program.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from divergent_server import STEP_ERRORS, StepDivergentServer
from hypothesis import HealthCheck, Phase, settings
from reference_server import ReferenceServer, invalid

import runstate as rs
from runstate import RunStatus, StepStatus
from runstate import testing as kit
from runstate.models import Usage
from runstate.testing import (
    RULES,
    STEP_RULES,
    HttpResponse,
    Step,
    _adapters,
    _conformance,
    _report,
    _state,
    _step_rules,
    run_conformance,
)

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
        # 1.7 to 3.2 s of CPU each under coverage: out of the README's test command
        "NoSteps",
        "CancelEndsSteps",
        "RetrieveCompletesSteps",
        "StatuslessSteps",
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


@pytest.mark.slow
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
        (SubmitDropsOutputs, "step-tool-outputs", "function calls", "tool_outputs("),
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
    tally = _state.Tally()
    options = _state.Options(
        ReferenceServer,
        False,
        True,
        frozenset(kit.STEP_KINDS),
        kit.DEFAULT_ASSISTANT_ID,
        frozenset(RULES),
        tally,
    )
    machine = type("Replay", (_conformance.Conformance,), {"options": options})()
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
    for event in rs.stream_events(
        rs.steps.RunLife(run=run), rs.steps.RunLife(run=run, steps=life.steps)
    ):
        checker.feed(event)
    before = _state.StepView(run=run, steps=life.steps, hidden=frozenset(), checker=checker)
    after = _state.StepView(run=waiting, steps=(ended,), hidden=frozenset(), checker=checker)
    machine._replay("a move", before, after)
    assert tally.seen["step-stream"] == 1
    assert after.checker is None
    # Not one change of the run (a step that disappears): reported too.
    again = _state.StepView(
        run=waiting, steps=(), hidden=frozenset(), checker=rs.TraceChecker(mode="stream")
    )
    machine._replay("a move", after, again)
    assert tally.seen["step-stream"] == 2
    assert again.checker is None
    assert RunStatus.REQUIRES_ACTION is waiting.status


# --------------------------------------------------------------------------------------
# Regressions from the adversarial review of the step checks


#: These tests check the rule and the message, not the minimal program: no shrinking.
QUICK = settings(FAST, phases=[Phase.generate])


class MessageServer(ReferenceServer):
    """Keeps messages too, and runs extra step operations around each run move.

    Every change is still one :func:`runstate.advance`: a server like this passes by
    construction (docs/conformance.md, "Run steps").
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.messages: dict[str, tuple[rs.Message, ...]] = {}

    def around(self, run: rs.Run, operation: str) -> tuple[list[Any], list[Any]]:
        """The step operations to apply before and after ``operation``."""
        return [], []

    def open_messages(self, run_id: str) -> list[rs.RunStep]:
        return [
            s
            for s in self.steps.get(run_id, ())
            if s.status is StepStatus.IN_PROGRESS and s.type == "message_creation"
        ]

    def message_ops(self, count: int, *, finish: bool = True) -> list[Any]:
        ops: list[Any] = []
        for _ in range(count):
            n = next(self._ids)
            ops.append(("open_message_step", {"step_id": f"step_{n}", "message_id": f"msg_{n}"}))
            if finish:
                ops.append(("finish_message_step", {"step_id": f"step_{n}"}))
        return ops

    def _apply(
        self, thread_id: str, run_id: str, op: Any, *, at_least_expiry: bool = False
    ) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if run is None:
            return super()._apply(thread_id, run_id, op, at_least_expiry=at_least_expiry)
        now = self.now()
        if at_least_expiry and run.expires_at is not None and now < run.expires_at:
            self.clock = now = run.expires_at
        operation, arguments = op
        pre, post = self.around(run, operation)
        life = rs.steps.RunLife(
            run=run, steps=self.steps.get(run_id, ()), messages=self.messages.get(run_id, ())
        )
        try:
            for name, args in [*pre, (operation, arguments), *post]:
                life = rs.advance(
                    life.run, life.steps, name, now=now, messages=life.messages, **args
                )
        except rs.APIError as err:
            return HttpResponse(err.http_status, err.to_api_error())
        except (rs.TransitionError, rs.StepTransitionError) as err:
            return HttpResponse(409, {"error": {"message": str(err), "reason": err.reason}})
        except rs.InvalidRun as exc:
            return invalid(exc)
        self.runs[run_id], self.steps[run_id] = life.run, life.steps
        self.messages[run_id] = life.messages
        return HttpResponse(200, rs.dump_run(life.run))


# -- 1. A run that does not show an operation's arguments: reported, never a crash


def _with_run(server: ReferenceServer, run_id: str, **fields: Any) -> HttpResponse:
    server.runs[run_id] = rs.parse_run({**rs.dump_run(server.runs[run_id]), **fields})
    return HttpResponse(200, rs.dump_run(server.runs[run_id]))


class IncompleteNoDetails(ReferenceServer):
    """An incomplete run with ``incomplete_details: null``."""

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        response = super().drive(thread_id, run_id, step)
        if step.kind == "mark_incomplete" and response.status == 200:
            return _with_run(self, run_id, incomplete_details=None)
        return response


class IncompleteNoReason(ReferenceServer):
    """An incomplete run with ``incomplete_details: {}`` (the spec allows no reason)."""

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        response = super().drive(thread_id, run_id, step)
        if step.kind == "mark_incomplete" and response.status == 200:
            return _with_run(self, run_id, incomplete_details={})
        return response


class NoRequiredAction(ReferenceServer):
    """A requires_action run with ``required_action: null``."""

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        response = super().drive(thread_id, run_id, step)
        if step.kind == "require_action" and response.status == 200:
            return _with_run(self, run_id, required_action=None)
        return response


@pytest.mark.slow
@pytest.mark.parametrize(
    ("server", "rules"),
    [
        (IncompleteNoDetails, {"per-status-rules", "drive-fields"}),
        (IncompleteNoReason, {"drive-fields"}),
        (NoRequiredAction, {"per-status-rules", "drive-fields"}),
    ],
)
def test_a_run_without_its_operations_arguments_is_reported_by_run_rules(
    server: type, rules: set[str]
) -> None:
    report = run_conformance(server, settings=QUICK, accept=rules)
    assert report.ok and not report.divergences, report.summary()
    assert set(report.accepted) == rules


def test_the_steps_of_a_move_runstate_cannot_make_are_not_compared() -> None:
    run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1), now=2)
    life = rs.advance(run, (), "open_message_step", now=3, step_id="s", message_id="m")
    view = _state.StepView(run=run, steps=life.steps, hidden=frozenset(), checker=None)
    cut = rs.mark_incomplete(run, now=4, reason="max_completion_tokens")
    no_reason = rs.parse_run({**rs.dump_run(cut), "incomplete_details": {}})
    assert _step_rules.expected_life(view, no_reason, (), None) == ("mark_incomplete", None)
    broken = rs.parse_run({**rs.dump_run(cut), "incomplete_details": None})
    assert _step_rules.expected_life(view, broken, (), None) == ("mark_incomplete", None)
    op, expected = _step_rules.expected_life(view, cut, (), None)
    assert op == "mark_incomplete" and expected is not None
    assert expected.steps[0].status is StepStatus.COMPLETED


# -- 2. Steps the run's operation does not work on may move on their own


class MessageThenTools(MessageServer):
    """A message step opens when the run starts and is finished before the tool_calls
    step opens (the recorded order, spec-facts §11)."""

    def around(self, run: rs.Run, operation: str) -> tuple[list[Any], list[Any]]:
        if operation == "start":
            return [], self.message_ops(1, finish=False)
        if operation == "require_action":
            return [
                ("finish_message_step", {"step_id": s.id}) for s in self.open_messages(run.id)
            ], []
        return [], []


@pytest.mark.slow
def test_a_server_finishing_a_message_before_asking_for_tools_passes() -> None:
    report = run_conformance(MessageThenTools, settings=FAST)
    assert report.ok and not report.divergences, report.summary()


class MessageFailsOnRequireAction(MessageThenTools):
    """At requires_action the open message step fails (not a worker's own step move)."""

    def around(self, run: rs.Run, operation: str) -> tuple[list[Any], list[Any]]:
        if operation == "require_action":
            return [], []
        return super().around(run, operation)

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        response = super().drive(thread_id, run_id, step)
        if step.kind == "require_action" and response.status == 200:
            self.steps[run_id] = tuple(
                attrs.evolve(
                    s,
                    status=StepStatus.FAILED,
                    failed_at=s.created_at,
                    last_error=rs.models.StepLastError(code="server_error", message="x"),
                )
                if s.type == "message_creation" and s.status is StepStatus.IN_PROGRESS
                else s
                for s in self.steps[run_id]
            )
        return response


@pytest.mark.slow
def test_a_message_step_moved_at_requires_action_is_not_a_tool_calls_problem() -> None:
    divergence = first(run_conformance(MessageFailsOnRequireAction, settings=QUICK))
    assert divergence.rule.name == "step-moved", str(divergence)
    assert "(message_creation): expected 'in_progress'" in divergence.problem
    assert "got 'failed'" in divergence.problem


# -- 3. Steps off the first page are not held against the server


class PushedOff(MessageServer):
    """An open message step from the start, then 21 finished ones written beside the
    run's next move: the open one falls off the first page (``has_more``)."""

    pages_with_more = 0
    moves: tuple[str, ...] = ("require_action",)

    def around(self, run: rs.Run, operation: str) -> tuple[list[Any], list[Any]]:
        if operation == "start" and not self.steps.get(run.id):
            return [], self.message_ops(1, finish=False)
        if operation in self.moves and run.status is RunStatus.IN_PROGRESS:
            return self.message_ops(21), []
        return [], []

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().list_steps(thread_id, run_id)
        type(self).pages_with_more += response.body["has_more"]
        return response


class PushedOffCancel(PushedOff):
    """As PushedOff, the 21 steps written during the cancel."""

    moves = ("cancel",)


class PushedOffAtEnd(PushedOff):
    """As PushedOff, the 21 steps written as the run ends (the open one ends with it)."""

    moves = ("complete", "fail", "mark_incomplete", "expire")


@pytest.mark.slow
@pytest.mark.parametrize("server", [PushedOff, PushedOffCancel, PushedOffAtEnd])
def test_an_open_step_off_the_first_page_is_not_held_against_the_server(server: Any) -> None:
    server.pages_with_more = 0
    report = run_conformance(server, settings=FAST)
    assert report.ok and not report.divergences, report.summary()
    assert server.pages_with_more > 0


# -- 4. Bodies nested too deep for json.dumps (and repr)


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


#: Deeper than json.dumps and repr can go (built once: every listing answers it).
DEEP = _nested(5000)


class DeepFirstId(ReferenceServer):
    """A page whose first_id is nested thousands of levels deep."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        return HttpResponse(200, {**super().list_steps(thread_id, run_id).body, "first_id": DEEP})


class DeepItem(ReferenceServer):
    """A page whose one item is an array nested thousands of levels deep."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        page = {"object": "list", "data": [DEEP], "first_id": None, "last_id": None}
        return HttpResponse(200, {**page, "has_more": False})


@pytest.mark.slow
@pytest.mark.parametrize(
    ("server", "rule", "needle"),
    [
        (DeepFirstId, "steps-list", "first_id: expected"),
        (DeepItem, "step-invalid", "data[0]: expected a step object, got [[[["),
    ],
)
def test_a_page_nested_too_deep_is_reported_not_a_crash(
    server: type, rule: str, needle: str
) -> None:
    report = run_conformance(server, settings=settings(QUICK, max_examples=20))
    assert {d.rule.name for d in report.divergences} == {rule}, report.summary()
    assert needle in report.divergences[0].problem
    assert len(report.divergences[0].problem) < 1000


def test_a_run_body_nested_too_deep_is_described_briefly() -> None:
    deep = {"object": DEEP, "status": "queued"}
    described = _report.describe(400, deep)  # as JSON, or (too deep for json) as a repr
    assert described.startswith(("400 {'object': [[[[", '400 {"object": [[[['))
    assert len(described) <= 420
    assert len(_report.brief(deep)) <= 400
    text = b"[" * 100_000 + b"]" * 100_000
    status, body = _adapters.unpack("retrieve_run", (200, text))
    assert (status, body) == (200, text)  # not JSON the kit can read: reported as such


# -- 5. A malformed page is reported once, and compared with nothing


class TuplePage(ReferenceServer):
    """A page whose data is a Python tuple."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        page = super().list_steps(thread_id, run_id).body
        return HttpResponse(200, {**page, "data": tuple(page["data"])})


class ItemsNotObjects(ReferenceServer):
    """Open steps are listed as JSON text, not objects."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        page = super().list_steps(thread_id, run_id).body
        page["data"] = [json.dumps(d) if d["status"] == "in_progress" else d for d in page["data"]]
        return HttpResponse(200, page)


class DuplicateStep(ReferenceServer):
    """Lists each step twice."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        page = super().list_steps(thread_id, run_id).body
        page["data"] = [d for d in page["data"] for _ in (0, 1)]
        return HttpResponse(200, page)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("server", "rule", "needle"),
    [
        (TuplePage, "steps-list", "data: expected an array, got a Python tuple ["),
        (ItemsNotObjects, "step-invalid", 'expected a step object, got "{'),
        (DuplicateStep, "steps-list", "steps listed more than once: ['step_"),
    ],
)
def test_a_malformed_page_is_reported_once(server: type, rule: str, needle: str) -> None:
    report = run_conformance(server, settings=QUICK)
    assert {d.rule.name for d in report.divergences} == {rule}, report.summary()
    assert needle in report.divergences[0].problem, report.summary()


# -- 6. Checks the review found missing


class StepsBeforeRun(ReferenceServer):
    """Stamps each step long before its run was created."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        run = self.runs[run_id]
        steps = [
            attrs.evolve(s, created_at=run.created_at - 1000) for s in self.steps.get(run_id, ())
        ]
        return HttpResponse(200, rs.list_page(steps))


class StepEndsAfterRun(ReferenceServer):
    """Stamps every ended step's end long after its run ended."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        steps = []
        for s in self.steps.get(run_id, ()):
            later = {
                k: v + 10**6
                for k in ("completed_at", "cancelled_at", "failed_at")
                if (v := getattr(s, k)) is not None
            }
            steps.append(attrs.evolve(s, **later))
        return HttpResponse(200, rs.list_page(steps))


class NoLimit(MessageServer):
    """Writes 25 message steps at each start and ignores the default limit of 20."""

    def around(self, run: rs.Run, operation: str) -> tuple[list[Any], list[Any]]:
        return [], self.message_ops(25) if operation == "start" else []

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        return HttpResponse(200, rs.list_page(self.steps.get(run_id, ()), {"limit": 100}))


class DropsAndLiesHasMore(ReferenceServer):
    """Forgets ended steps, and says has_more: true on its short pages to hide it."""

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        steps = [s for s in self.steps.get(run_id, ()) if s.status is StepStatus.IN_PROGRESS]
        return HttpResponse(200, {**rs.list_page(steps), "has_more": True})


class MessageIdDrifts(MessageServer):
    """An open message step's message_id changes at every listing."""

    drift = 0

    def around(self, run: rs.Run, operation: str) -> tuple[list[Any], list[Any]]:
        if operation == "start" and not self.open_messages(run.id):
            return [], self.message_ops(1, finish=False)
        return [], []

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        page = super().list_steps(thread_id, run_id).body
        for d in page["data"]:
            if d["status"] == "in_progress" and d["type"] == "message_creation":
                self.drift += 1
                d["step_details"]["message_creation"]["message_id"] = f"msg_drift_{self.drift}"
        return HttpResponse(200, page)


@pytest.mark.parametrize(
    ("server", "name", "needle"),
    [
        (StepsBeforeRun, "step-time-order", "is before the run's created_at"),
        (StepEndsAfterRun, "step-time-order", "run ended at"),
        (NoLimit, "steps-list", "data: 25 steps, more than the default limit of 20"),
        (DropsAndLiesHasMore, "steps-list", "has_more: true on a page of 0 steps"),
        (MessageIdDrifts, "step-changed", 'message_creation.message_id: expected "msg_drift_'),
    ],
)
def test_each_missed_step_bug_is_named(server: type, name: str, needle: str) -> None:
    divergence = first(run_conformance(server, settings=QUICK, max_divergences=1))
    assert divergence.rule.name == name, str(divergence)
    assert needle in divergence.problem, str(divergence)


@pytest.mark.slow
def test_a_lying_has_more_does_not_hide_a_disappeared_step() -> None:
    report = run_conformance(DropsAndLiesHasMore, settings=QUICK, accept={"steps-list"})
    assert {d.rule.name for d in report.divergences} == {"step-disappeared"}, report.summary()


def test_the_docs_list_every_rule_as_the_kit_has_it() -> None:
    text = (Path(__file__).parents[1] / "docs" / "conformance.md").read_text(encoding="utf-8")
    rows = {line.split("`")[1]: line for line in text.splitlines() if line.startswith("| `")}
    for name, r in RULES.items():
        assert (
            rows.get(name) == f"| `{name}` | {r.grade} | {r.evidence} ({r.source}) | {r.summary} |"
        )
    assert {n for n in rows if "-" in n and n.islower()} >= set(RULES)


class PushedOffNoReason(PushedOff):
    """The 21 steps are written as the run becomes incomplete, and it shows no reason:
    runstate cannot say what that end did to the step off the page, so the replay stops
    rather than hold the step open."""

    moves = ("mark_incomplete",)

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        response = super().drive(thread_id, run_id, step)
        if step.kind == "mark_incomplete" and response.status == 200:
            return _with_run(self, run_id, incomplete_details={})
        return response


@pytest.mark.slow
def test_a_step_off_the_page_after_a_move_runstate_cannot_make_is_not_held() -> None:
    PushedOffNoReason.pages_with_more = 0
    report = run_conformance(PushedOffNoReason, settings=QUICK, accept={"drive-fields"})
    assert report.ok and not report.divergences, report.summary()
    assert PushedOffNoReason.pages_with_more > 0


def _strict_machine() -> Any:
    """A machine that raises at its first divergence (nothing tolerated)."""
    machine, _ = _machine()
    machine.options = machine.options._replace(tolerated=frozenset())
    return machine


def _page(data: Any, **fields: Any) -> dict[str, Any]:
    items = data if isinstance(data, list) else []
    ends = [d["id"] if isinstance(d, Mapping) else None for d in items[:1] + items[-1:]]
    first_id, last_id = ends if ends else (None, None)
    page = {"object": "list", "data": data, "first_id": first_id, "last_id": last_id}
    return {**page, "has_more": False, **fields}


def _steps(n: int) -> list[dict[str, Any]]:
    run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1), now=2)
    life = rs.steps.RunLife(run=run, steps=())
    for i in range(n):
        life = rs.advance(
            life.run, life.steps, "open_message_step", now=3, step_id=f"s{i}", message_id=f"m{i}"
        )
    return rs.list_page(life.steps, {"limit": 100})["data"]


@pytest.mark.parametrize(
    ("body", "rule", "needle"),
    [
        (_page({"a": 1}), "steps-list", 'data: expected an array, got {"a": 1}'),
        (_page("abc"), "steps-list", 'data: expected an array, got "abc"'),
        (_page((1,)), "steps-list", "data: expected an array, got a Python tuple [1]"),
        (_page([], object="thread.run"), "steps-list", "object: expected 'list'"),
        (_page([], has_more=True), "steps-list", "has_more: true on a page of 0 steps"),
        (_page(_steps(21)), "steps-list", "data: 21 steps, more than the default limit of 20"),
        (_page([*_steps(1), *_steps(1)]), "steps-list", "listed more than once: ['s0']"),
        (_page([1, *_steps(1)]), "step-invalid", "data[0]: expected a step object, got 1"),
        (_page([{"id": "x"}]), "step-invalid", "data[0]: object: missing required key"),
    ],
)
def test_a_malformed_page_is_named_and_not_compared(body: Any, rule: str, needle: str) -> None:
    with pytest.raises(kit.ConformanceFailure) as info:
        _strict_machine()._read_page("a listing", (200, body))
    assert info.value.rule is RULES[rule]
    assert needle in str(info.value), str(info.value)
    machine, tally = _machine()
    page = machine._read_page("a listing", (200, body))
    # Only the page's own fields wrong: its steps are still compared.
    fields_only = needle.startswith(("object", "has_more", "data: 21"))
    assert (page is not None) is fields_only
    assert tally.seen[rule] == 1


def test_has_more_is_believed_on_a_full_page_only() -> None:
    machine, tally = _machine()
    full = machine._read_page("a listing", (200, _page(_steps(20), has_more=True)))
    assert full is not None and full[1] is True and not tally.seen
    short = machine._read_page("a listing", (200, _page(_steps(3), has_more=True)))
    assert short is not None and short[1] is False and tally.seen["steps-list"] == 1


def test_rules_fit_the_step_the_operation_works_on() -> None:
    step = rs.parse_step(_steps(1)[0])
    assert _step_rules.moved_rule("complete", step, touched=False) == "step-moved"
    assert _step_rules.moved_rule("fail", step, touched=False) == "step-moved"
    ended = attrs.evolve(step, status=StepStatus.COMPLETED)
    assert _step_rules.moved_rule("complete", ended, touched=True) == "step-end-status"
    assert _step_rules.moved_rule("fail", ended, touched=True) == "step-end-status-weak"
    assert _step_rules.moved_rule("require_action", step, touched=True) == "step-tool-calls"
    assert _step_rules.moved_rule("require_action", step, touched=False) == "step-moved"
    assert _step_rules.moved_rule("submit_tool_outputs", step, touched=True) == "step-tool-outputs"
    assert _step_rules.moved_rule("submit_tool_outputs", step, touched=False) == "step-moved"
    assert _step_rules.moved_rule("cancel", step, touched=False) == "step-moved-on-cancel"
    assert _step_rules.moved_rule(None, step, touched=False) == "step-moved"
