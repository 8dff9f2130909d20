"""Random lifecycles on one thread, checked against the table after every step.

Rules try *any* operation on *any* run at a random time; the table (and the documented
preconditions) is the oracle for whether it must succeed. Invariants after every step:
every run is clean, terminal statuses are absorbing, each run's history is a legal path
through the table, and at most one run per thread is active.
"""

from __future__ import annotations

import itertools

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from lifecycle import ERROR, OPERATIONS, USAGE, expected_refusal, outputs_for

import runstate as rs
from runstate import RunStatus

THREAD = "thread_1"
PROGRESS = frozenset({"start", "require_action", "submit_tool_outputs"})


def _latest(run: rs.Run) -> int:
    stamps = [run.created_at, run.started_at, run.cancelled_at, run.failed_at, run.completed_at]
    return max(s for s in stamps if s is not None)


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 1_700_000_000
        self.runs: list[rs.Run] = []
        self.history: list[list[RunStatus]] = []
        self.counter = 0

    # -- time -------------------------------------------------------------------------

    @rule(step=st.one_of(st.integers(min_value=0, max_value=30), st.just(600)))
    def tick(self, step: int) -> None:
        self.now += step

    # -- creation under the thread lock -----------------------------------------------

    @rule()
    def create_run(self) -> None:
        active = [r for r in self.runs if r.status in rs.ACTIVE_STATUSES]
        try:
            rs.ensure_can_create_run(THREAD, self.runs)
        except rs.ThreadBusy as exc:
            assert active, "refused although no run is active"
            assert exc.message == f"Thread {THREAD} already has an active run {active[0].id}."
            return
        assert not active, "accepted although a run is active"
        self.counter += 1
        run = rs.new_run(
            id=f"run_{self.counter}",
            thread_id=THREAD,
            assistant_id="asst",
            model="gpt-4o",
            now=self.now,
        )
        self.runs.append(run)
        self.history.append([run.status])

    @rule()
    def add_message(self) -> None:
        active = any(r.status in rs.ACTIVE_STATUSES for r in self.runs)
        try:
            rs.ensure_can_add_message(THREAD, self.runs)
        except rs.ThreadBusy:
            assert active
        else:
            assert not active

    # -- any operation on any run -----------------------------------------------------

    @precondition(lambda self: self.runs)
    @rule(data=st.data(), legal_only=st.booleans())
    def operate(self, data: st.DataObject, legal_only: bool) -> None:
        """Try an operation: half the time one the table allows, else any at all."""
        i = data.draw(st.integers(0, len(self.runs) - 1), label="run")
        run = self.runs[i]
        allowed = sorted(
            o for o, (t, _, _) in OPERATIONS.items() if rs.can_transition(run.status, t)
        )
        pool = allowed if legal_only and allowed else sorted(OPERATIONS)
        op = data.draw(st.sampled_from(pool), label="op")
        target = OPERATIONS[op][0]
        before = rs.dump_run(run)
        legal = rs.can_transition(run.status, target)
        blocked = (op in ("complete", "mark_incomplete") and run.started_at is None) or (
            op == "expire" and run.expires_at is not None and self.now < run.expires_at
        )
        try:
            result = self._call(op, run)
        except (rs.APIError, rs.TransitionError) as exc:
            assert not legal or blocked, f"{op} refused from {run.status}: {exc!r}"
            if not legal:
                cls, message = expected_refusal(op, run.status)
                assert isinstance(exc, cls)
                assert str(exc) == message
            assert rs.dump_run(run) == before
            return
        assert legal and not blocked, f"{op} accepted from {run.status}"
        assert result.status is target
        assert rs.dump_run(run) == before
        self.runs[i] = result
        self.history[i].append(result.status)

    @precondition(lambda self: any(r.status in rs.ACTIVE_STATUSES for r in self.runs))
    @rule(data=st.data())
    def advance(self, data: st.DataObject) -> None:
        """Move the active run along an edge of the table (keeps lifecycles long)."""
        i = next(i for i, r in enumerate(self.runs) if r.status in rs.ACTIVE_STATUSES)
        run = self.runs[i]
        ops = sorted(o for o, (t, _, _) in OPERATIONS.items() if rs.can_transition(run.status, t))
        # Moves that keep a run going are listed thrice, so tool-output rounds happen often.
        ops += [o for o in ops if o in PROGRESS] * 2
        op = data.draw(st.sampled_from(ops), label="op")
        if op == "expire":
            self.now = max(self.now, run.expires_at or self.now)
        if op in ("complete", "mark_incomplete") and run.started_at is None:
            return
        result = self._call(op, run)
        assert result.status is OPERATIONS[op][0]
        self.runs[i] = result
        self.history[i].append(result.status)

    def _call(self, op: str, run: rs.Run) -> rs.Run:
        now = self.now
        if op == "submit_tool_outputs":
            return rs.submit_tool_outputs(run, outputs_for(run), now=now)
        if op == "expire":
            return rs.expire(run, now=now)
        if op == "complete":
            return rs.complete(run, now=now, usage=USAGE)
        if op == "fail":
            return rs.fail(run, now=now, error=ERROR)
        return OPERATIONS[op][1](run, now)

    @precondition(lambda self: self.runs)
    @rule(data=st.data())
    def wrong_outputs(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, len(self.runs) - 1), label="run")
        run = self.runs[i]
        if run.status is not RunStatus.REQUIRES_ACTION:
            return
        try:
            rs.submit_tool_outputs(
                run, [{"tool_call_id": "call_nope", "output": "x"}], now=self.now
            )
        except rs.ToolOutputsRejected as exc:
            assert exc.reason == "tool-outputs-mismatch"
        else:
            raise AssertionError("wrong ids accepted")

    @precondition(lambda self: self.runs)
    @rule(data=st.data(), back=st.integers(min_value=1, max_value=50))
    def clock_backwards(self, data: st.DataObject, back: int) -> None:
        run = self.runs[data.draw(st.integers(0, len(self.runs) - 1), label="run")]
        if run.status not in rs.CANCELLABLE_STATUSES:
            return
        latest = _latest(run)
        try:
            rs.cancel(run, now=latest - back)
        except rs.ClockWentBackwards as exc:
            assert exc.value == latest
        else:
            raise AssertionError("a clock going backwards was accepted")

    @precondition(lambda self: self.runs)
    @rule(data=st.data())
    def modify(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, len(self.runs) - 1), label="run")
        run = self.runs[i]
        try:
            out = rs.update_metadata(run, metadata={"n": str(self.now)})
        except rs.RunNotModifiable:
            assert run.status in rs.ACTIVE_STATUSES
        else:
            assert run.status in rs.TERMINAL_STATUSES
            assert out.status is run.status
            self.runs[i] = out

    # -- invariants -------------------------------------------------------------------

    @invariant()
    def every_run_is_clean(self) -> None:
        for run in self.runs:
            assert rs.violations(run) == (), (run.status, rs.violations(run))

    @invariant()
    def histories_are_legal_and_terminal_is_absorbing(self) -> None:
        for path in self.history:
            assert path[0] is RunStatus.QUEUED
            for a, b in itertools.pairwise(path):
                assert rs.can_transition(a, b), (a, b)
                assert a not in rs.TERMINAL_STATUSES

    @invariant()
    def thread_lock_respected(self) -> None:
        assert sum(r.status in rs.ACTIVE_STATUSES for r in self.runs) <= 1

    @invariant()
    def round_trips(self) -> None:
        for run in self.runs:
            assert rs.parse_run(rs.dump_run(run)) == run


Lifecycle.TestCase.settings = settings(stateful_step_count=50)
TestLifecycle = Lifecycle.TestCase
