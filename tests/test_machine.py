"""runstate.machine: the lifecycle as a ``transitions`` machine bound to a user's object."""

from __future__ import annotations

from typing import Any

import pytest
from lifecycle import CALL, OPERATIONS, T0, USAGE, fresh, later, outputs_for, samples
from transitions.core import MachineError

import runstate as rs
from runstate import RunStatus


class Job:
    """What a server might keep: the run, plus side effects on entering statuses."""

    def __init__(self, run: rs.Run) -> None:
        self.run = run
        self.events: list[tuple[str, str]] = []

    def on_enter_in_progress(self, event: Any) -> None:
        self.events.append(("metrics", f"started at {self.run.started_at}"))

    def on_enter_requires_action(self, event: Any) -> None:
        calls = self.run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
        self.events.append(("webhook", f"tools wanted: {[c.id for c in calls]}"))

    def on_enter_completed(self, event: Any) -> None:
        self.events.append(("webhook", f"done, {self.run.usage.total_tokens} tokens"))  # type: ignore[union-attr]

    def on_enter_cancelled(self, event: Any) -> None:
        self.events.append(("webhook", f"cancelled at {event.model.run.cancelled_at}"))


def test_a_whole_life_with_a_tool_round_fires_the_callbacks_in_order() -> None:
    job = Job(fresh())
    rs.machine(job)
    assert job.state == "queued"
    job.start(now=T0 + 1)
    job.require_action([CALL], now=T0 + 2)
    job.submit_tool_outputs([{"tool_call_id": "call_A", "output": "42"}], now=T0 + 3)
    job.start(now=T0 + 4)
    job.complete(now=T0 + 5, usage=USAGE)
    assert job.state == job.run.status.value == "completed"
    assert job.run.completed_at == T0 + 5
    assert job.events == [
        ("metrics", f"started at {T0 + 1}"),
        ("webhook", "tools wanted: ['call_A']"),
        ("metrics", f"started at {T0 + 4}"),
        ("webhook", "done, 15 tokens"),
    ]


def test_a_cancel_then_its_end() -> None:
    job = Job(rs.start(fresh(), now=T0 + 1))
    rs.machine(job)
    assert job.may_cancel() and not job.may_finish_cancel()
    job.cancel(now=T0 + 2)
    job.finish_cancel(now=T0 + 3)
    assert job.events == [("webhook", f"cancelled at {T0 + 3}")]


SAMPLES = samples()
CASES = [(op, s) for op in OPERATIONS for s in RunStatus]


@pytest.mark.parametrize(("op", "status"), CASES, ids=[f"{o}@{s.value}" for o, s in CASES])
def test_every_trigger_from_every_status_follows_the_table(op: str, status: RunStatus) -> None:
    target = OPERATIONS[op][0]
    run = SAMPLES[status][0]
    job = Job(run)
    rs.machine(job)
    assert getattr(job, f"may_{op}")() is rs.can_transition(status, target)
    now = max(later(run), run.expires_at or 0)
    args: dict[str, Any] = {
        "start": {},
        "require_action": {"tool_calls": [CALL]},
        "submit_tool_outputs": {"tool_outputs": outputs_for(run)},
        "cancel": {},
        "finish_cancel": {},
        "complete": {"usage": USAGE},
        "fail": {"error": {"code": "server_error", "message": "x"}},
        "mark_incomplete": {"reason": "max_prompt_tokens"},
        "expire": {},
    }[op]
    if rs.can_transition(status, target):
        assert getattr(job, op)(now=now, **args) is True
        assert job.state == job.run.status.value == target.value
    else:
        with pytest.raises(MachineError):
            getattr(job, op)(now=now, **args)
        assert job.run is run
        assert job.state == status.value


def test_a_refused_operation_leaves_run_and_state_alone() -> None:
    waiting = rs.require_action(rs.start(fresh(), now=T0 + 1), [CALL], now=T0 + 2)
    job = Job(waiting)
    rs.machine(job)
    with pytest.raises(rs.ToolOutputsRejected):
        job.submit_tool_outputs([{"tool_call_id": "call_Z", "output": "1"}], now=T0 + 3)
    assert (job.run, job.state) == (waiting, "requires_action")
    queued = Job(fresh())
    rs.machine(queued)
    with pytest.raises(rs.CancelNotAllowed):
        queued.cancel(now=T0 + 1, documented_only=True)
    assert queued.state == "queued"


class Plain:
    """A model without callbacks, for a machine with ``send_event`` off."""

    def __init__(self, run: rs.Run) -> None:
        self.run = run


def test_send_event_off_and_a_second_model() -> None:
    job = Plain(fresh())
    m = rs.machine(job, send_event=False)
    job.start(now=T0 + 1)
    assert job.run.status is RunStatus.IN_PROGRESS
    other = Job(fresh(run_id="run_2"))
    m2 = rs.machine(other)
    extra = Job(fresh(run_id="run_3"))
    m2.add_model(extra, initial="queued")
    extra.start(now=T0 + 5)
    assert (extra.run.started_at, other.run.started_at) == (T0 + 5, None)
    assert m is not m2


def test_machine_refuses_what_it_cannot_bind() -> None:
    with pytest.raises(rs.InvalidArgument, match=r"model\.run"):
        rs.machine(object())
    with pytest.raises(rs.InvalidArgument, match="come from the table"):
        rs.machine(Job(fresh()), states=["x"])
    holder = Job(fresh())
    rs.machine(holder, attribute="run")
    assert holder.state == "queued"
