"""Lifecycle operations: every status x every operation, the exact refusals, the results."""

from __future__ import annotations

import copy

import attrs
import pytest
from lifecycle import (
    CALL,
    CALL_B,
    ERROR,
    OPERATIONS,
    T0,
    USAGE,
    changed_fields,
    expected_refusal,
    fresh,
    later,
    samples,
)

import runstate as rs
import runstate.models as rsm
from runstate import RunStatus

SAMPLES = samples()
CASES = [
    (op, status, i)
    for op in OPERATIONS
    for status in RunStatus
    for i in range(len(SAMPLES[status]))
]


def test_samples_cover_every_status_and_are_clean() -> None:
    assert set(SAMPLES) == set(RunStatus)
    for status, runs in SAMPLES.items():
        for run in runs:
            assert run.status is status
            assert rs.violations(run) == ()


@pytest.mark.parametrize(("op", "status", "i"), CASES)
def test_every_status_x_every_operation(op: str, status: RunStatus, i: int) -> None:
    """An operation succeeds iff the table has the edge; refusals change nothing."""
    run = SAMPLES[status][i]
    snapshot = copy.deepcopy(rs.dump_run(run))
    target, call, may_change = OPERATIONS[op]
    now = later(run)
    if rs.can_transition(status, target):
        result = call(run, now)
        assert result.status is target
        assert rs.violations(result) == ()
        assert changed_fields(run, result) <= may_change
        assert result is not run
    else:
        cls, message = expected_refusal(op, status)
        with pytest.raises(cls) as info:
            call(run, now)
        err = info.value
        assert str(err) == message
        if isinstance(err, rs.TransitionError):
            # A worker move: no endpoint exposes it, so no HTTP answer is dressed up.
            assert not hasattr(err, "to_api_error")
            assert not hasattr(err, "http_status")
            assert (err.operation, err.current, err.target) == (op, status, target)
            assert err.reason == ("run-terminal" if status.is_terminal else "illegal-transition")
            return
        assert err.http_status == 400
        assert err.message == message
        assert err.to_api_error() == {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        }
    assert rs.dump_run(run) == snapshot  # the input never changes


def test_refusal_reasons_are_distinct_and_stable() -> None:
    reasons = {}
    for status in RunStatus:
        reasons[status] = rs.check_cancel(SAMPLES[status][0]).reason
    assert reasons[RunStatus.CANCELLING] == "run-cancelling"
    for status in rs.TERMINAL_STATUSES:
        assert reasons[status] == "run-terminal"
    for status in rs.CANCELLABLE_STATUSES:
        assert reasons[status] is None


# -- cancel ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(RunStatus))
def test_check_cancel_agrees_with_cancel(status: RunStatus) -> None:
    for run in SAMPLES[status]:
        for documented in (False, True):
            decision = rs.check_cancel(run, documented_only=documented)
            try:
                rs.cancel(run, now=later(run), documented_only=documented)
            except rs.CancelNotAllowed as exc:
                assert not decision.allowed
                assert decision.error == exc
                assert decision.error is not decision.error  # a fresh error each time
            else:
                assert decision.allowed
                assert decision.error is None


def test_documented_only_accepts_in_progress_only() -> None:
    for status, runs in SAMPLES.items():
        allowed = rs.check_cancel(runs[0], documented_only=True).allowed
        assert allowed == (status is RunStatus.IN_PROGRESS)
    err = rs.check_cancel(SAMPLES[RunStatus.QUEUED][0], documented_only=True).error
    assert err is not None
    assert err.reason == "not-in-progress"
    assert err.message == "Cannot cancel run with status 'queued'."


def test_cancel_result_shape() -> None:
    """Seed/recordings: cancelling, required_action null, cancelled_at null, usage null."""
    ra = SAMPLES[RunStatus.REQUIRES_ACTION][0]
    out = rs.cancel(ra, now=later(ra))
    assert out.status is RunStatus.CANCELLING
    assert out.required_action is None
    assert out.cancelled_at is None
    assert out.usage is None
    assert (out.started_at, out.expires_at) == (ra.started_at, ra.expires_at)
    assert attrs.evolve(out, status=ra.status, required_action=ra.required_action) == ra


@pytest.mark.parametrize(
    "status", sorted(rs.TERMINAL_STATUSES | {RunStatus.CANCELLING}, key=list(RunStatus).index)
)
def test_cancel_messages_byte_for_byte(status: RunStatus) -> None:
    with pytest.raises(rs.CancelNotAllowed) as info:
        rs.cancel(SAMPLES[status][0], now=T0 + 10_000)
    assert str(info.value) == f"Cannot cancel run with status '{status.value}'."
    assert isinstance(info.value, rs.APIError)
    assert not isinstance(info.value, rs.TransitionError)


def test_finish_cancel_sets_cancelled_at_and_terminal_shape() -> None:
    cg = SAMPLES[RunStatus.CANCELLING][0]
    out = rs.finish_cancel(cg, now=later(cg, 7))
    assert out.cancelled_at == later(cg, 7)
    assert out.expires_at is None
    assert out.usage == rsm.Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)
    with_usage = rs.finish_cancel(cg, now=later(cg), usage=USAGE)
    assert with_usage.usage is not None
    assert with_usage.usage.total_tokens == 15


@pytest.mark.parametrize("op", ["complete", "fail", "mark_incomplete", "expire"])
def test_cancel_may_lose_the_race(op: str) -> None:
    cg = SAMPLES[RunStatus.CANCELLING][0]
    target, call, _ = OPERATIONS[op]
    out = call(cg, later(cg))
    assert out.status is target
    assert rs.violations(out) == ()


# -- tool outputs ---------------------------------------------------------------------


def test_submit_tool_outputs_requires_exact_ids() -> None:
    ra = SAMPLES[RunStatus.REQUIRES_ACTION][0]
    with pytest.raises(rs.ToolOutputsRejected) as info:
        rs.submit_tool_outputs(ra, [{"tool_call_id": "call_A", "output": "1"}], now=later(ra))
    assert (
        info.value.message
        == "Expected tool outputs for call_ids ['call_A', 'call_B'], got ['call_A']"
    )
    assert info.value.reason == "tool-outputs-mismatch"
    # submitted order is reported as submitted
    with pytest.raises(rs.ToolOutputsRejected) as info:
        rs.submit_tool_outputs(
            ra,
            [{"tool_call_id": "call_B", "output": "1"}, {"tool_call_id": "call_B", "output": "2"}],
            now=later(ra),
        )
    # Repeated ids are named as such (the message is recorded; that it comes before the
    # set comparison is inferred).
    assert info.value.message == "Duplicate call_ids submitted: ['call_B', 'call_B']"
    assert info.value.reason == "duplicate-tool-call-ids"
    # any order of the right ids is accepted, as values or dicts
    out = rs.submit_tool_outputs(
        ra,
        [
            rs.ToolOutput(tool_call_id="call_B", output="2"),
            {"tool_call_id": "call_A", "output": "1"},
        ],
        now=later(ra),
    )
    assert out.status is RunStatus.QUEUED
    assert out.required_action is None
    assert (out.started_at, out.expires_at) == (ra.started_at, ra.expires_at)


def test_submit_tool_outputs_message_from_the_recordings() -> None:
    p = SAMPLES[RunStatus.IN_PROGRESS][0]
    with pytest.raises(rs.ToolOutputsRejected) as info:
        rs.submit_tool_outputs(p, [], now=later(p))
    assert str(info.value) == 'Runs in status "in_progress" do not accept tool outputs.'
    assert info.value.reason == "wrong-status"


def test_malformed_tool_outputs_are_the_apis_400_and_calls_invalid_run() -> None:
    ra = SAMPLES[RunStatus.REQUIRES_ACTION][0]
    cases = [
        (
            [{"tool_call_id": "call_A", "output": 4}],
            "Invalid type for 'tool_outputs[0].output': expected a string, but got an "
            "integer instead.",
            "tool_outputs[0].output",
            "invalid_type",
        ),
        (
            [{"tool_call_id": "call_A", "output": "x"}, "nope"],
            "Invalid type for 'tool_outputs[1]': expected an object, but got a string instead.",
            "tool_outputs[1]",
            "invalid_type",
        ),
        (
            [{"output": "x"}],
            "Missing required parameter: 'tool_outputs[0].tool_call_id'.",
            "tool_outputs[0].tool_call_id",
            "missing_required_parameter",
        ),
        (
            {"tool_call_id": "call_A"},
            "Invalid type for 'tool_outputs': expected an array, but got an object instead.",
            "tool_outputs",
            "invalid_type",
        ),
    ]
    for outputs, message, param, code in cases:
        with pytest.raises(rs.InvalidRequest) as info:
            rs.submit_tool_outputs(ra, outputs, now=later(ra))  # type: ignore[arg-type]
        assert info.value.to_api_error() == {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": param,
                "code": code,
            }
        }
    p = SAMPLES[RunStatus.IN_PROGRESS][0]
    with pytest.raises(rs.InvalidRun, match="at least one tool call"):
        rs.require_action(p, [], now=later(p))
    with pytest.raises(rs.InvalidRun, match="duplicate tool call ids"):
        rs.require_action(p, [CALL, CALL], now=later(p))
    with pytest.raises(rs.InvalidRun) as info:
        rs.require_action(
            p, [{"id": "c", "type": "function", "function": {"name": 3}}], now=later(p)
        )
    fields = {e.field for e in info.value.errors}
    assert fields == {"tool_calls[0].function.name", "tool_calls[0].function.arguments"}


def test_tool_output_round_resets_started_at() -> None:
    """spec-facts 8.5: re-entering in_progress after tool outputs resets started_at."""
    q2 = SAMPLES[RunStatus.QUEUED][1]
    assert q2.started_at == T0 + 1  # kept through submit
    p2 = rs.start(q2, now=T0 + 50)
    assert p2.started_at == T0 + 50
    assert rs.require_action(p2, [CALL_B], now=T0 + 51).required_action is not None


# -- terminal results -----------------------------------------------------------------


def test_terminal_results_have_usage_and_no_deadline() -> None:
    for status in rs.TERMINAL_STATUSES:
        for run in SAMPLES[status]:
            assert run.expires_at is None
            assert run.usage is not None
            assert run.required_action is None


def test_never_started_run_cannot_complete() -> None:
    cg_q = rs.cancel(fresh(), now=T0 + 1)
    assert cg_q.started_at is None
    for op in ("complete", "mark_incomplete"):
        with pytest.raises(rs.TransitionError) as info:
            OPERATIONS[op][1](cg_q, T0 + 2)
        assert info.value.reason == "never-started"
    assert rs.fail(cg_q, now=T0 + 2, error=ERROR).started_at is None
    assert rs.finish_cancel(cg_q, now=T0 + 2).started_at is None


def test_expire_only_once_due() -> None:
    ra = SAMPLES[RunStatus.REQUIRES_ACTION][0]
    assert ra.expires_at == T0 + 600
    with pytest.raises(rs.TransitionError) as info:
        rs.expire(ra, now=T0 + 599)
    assert info.value.reason == "not-expired-yet"
    assert str(info.value) == (
        f"expire: no move from 'requires_action' to 'expired' "
        f"(expires_at is {T0 + 600}, now is {T0 + 599})"
    )
    assert rs.expire(ra, now=T0 + 600).status is RunStatus.EXPIRED


def test_fail_and_incomplete_arguments() -> None:
    p = SAMPLES[RunStatus.IN_PROGRESS][0]
    out = rs.fail(p, now=later(p), error=rsm.LastError(code="rate_limit_exceeded", message="slow"))
    assert out.last_error is not None
    assert out.last_error.code == "rate_limit_exceeded"
    assert out.failed_at == later(p)
    with pytest.raises(rs.InvalidRun, match=r"last_error\.code"):
        rs.fail(p, now=later(p), error={"code": "nope", "message": "x"})
    with pytest.raises(rs.InvalidRun):
        rs.fail(p, now=later(p), error="boom")  # type: ignore[arg-type]
    with pytest.raises(rs.InvalidRun, match="reason"):
        rs.mark_incomplete(p, now=later(p), reason="max_tokens", usage=None)  # type: ignore[arg-type]
    inc = rs.mark_incomplete(p, now=later(p), reason="max_prompt_tokens", usage=None)
    assert inc.incomplete_details == rsm.IncompleteDetails(reason="max_prompt_tokens")
    assert inc.completed_at == later(p)


# -- clock ----------------------------------------------------------------------------


@pytest.mark.parametrize("op", list(OPERATIONS))
def test_clock_going_backwards_is_refused(op: str) -> None:
    for status in RunStatus:
        for run in SAMPLES[status]:
            target, call, _ = OPERATIONS[op]
            if not rs.can_transition(status, target) or op == "expire":
                continue
            if op in ("complete", "mark_incomplete") and run.started_at is None:
                continue
            latest = later(run, 0)
            with pytest.raises(rs.ClockWentBackwards) as info:
                call(run, latest - 1)
            assert isinstance(info.value, ValueError)
            assert info.value.now == latest - 1
            assert info.value.value == latest


def test_now_must_be_an_integer() -> None:
    with pytest.raises(rs.InvalidArgument, match="integer Unix timestamp") as info:
        rs.start(fresh(), now=T0 + 1.5)  # type: ignore[arg-type]
    assert info.value.argument == "now"
    with pytest.raises(rs.InvalidArgument):
        rs.start(fresh(), now=True)


# -- new_run --------------------------------------------------------------------------


def test_new_run_shape_matches_a_fresh_real_run() -> None:
    run = rs.new_run(
        id="run_1",
        thread_id="t",
        assistant_id="a",
        model="gpt-4o",
        now=T0,
        tools=[
            {"type": "code_interpreter"},
            rsm.FunctionTool(function=rsm.FunctionDefinition(name="f")),
        ],
        extra={"tool_resources": {}, "reasoning_effort": None},
    )
    d = rs.dump_run(run)
    assert d["status"] == "queued"
    assert d["expires_at"] == T0 + 600
    assert d["started_at"] is None
    assert d["usage"] is None
    assert d["metadata"] == {}
    assert d["truncation_strategy"] == {"type": "auto", "last_messages": None}
    assert d["tools"][0] == {"type": "code_interpreter"}
    assert d["tool_resources"] == {}
    assert rs.violations(run) == ()


def test_new_run_rejects_bad_arguments_naming_the_field() -> None:
    with pytest.raises(rs.InvalidRun) as info:
        rs.new_run(id="r", thread_id="t", assistant_id="a", model="m", now=T0, temperature=3)
    assert info.value.errors[0].field == "temperature"
    with pytest.raises(rs.InvalidRun) as info:
        rs.new_run(
            id="r", thread_id="t", assistant_id="a", model="m", now=T0, tools=[{"type": "nope"}]
        )
    assert info.value.errors[0].field == "tools[0].type"
    with pytest.raises(rs.InvalidArgument, match="expires_in"):
        rs.new_run(id="r", thread_id="t", assistant_id="a", model="m", now=T0, expires_in=0)
    with pytest.raises(rs.InvalidArgument, match="now: expected an integer Unix timestamp"):
        rs.new_run(id="r", thread_id="t", assistant_id="a", model="m", now="soon")  # type: ignore[arg-type]


# -- metadata ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(RunStatus))
def test_update_metadata_only_when_terminal(status: RunStatus) -> None:
    run = SAMPLES[status][0]
    if status in rs.TERMINAL_STATUSES:
        out = rs.update_metadata(run, metadata={"k": "v"})
        assert out.metadata == {"k": "v"}
        assert changed_fields(run, out) == {"metadata"}
    else:
        with pytest.raises(rs.RunNotModifiable) as info:
            rs.update_metadata(run, metadata={"k": "v"})
        assert info.value.message == f"Cannot update run with status '{status.value}'."
        assert info.value.reason == "run-active"


def test_update_metadata_limits() -> None:
    done = SAMPLES[RunStatus.COMPLETED][0]
    with pytest.raises(rs.InvalidRequest) as info:
        rs.update_metadata(done, metadata={"modified": True})  # type: ignore[dict-item]
    assert info.value.to_api_error() == {
        "error": {
            "message": "Invalid type for 'metadata.modified': expected a string, but got a "
            "boolean instead.",
            "type": "invalid_request_error",
            "param": "metadata.modified",
            "code": "invalid_type",
        }
    }
    with pytest.raises(rs.InvalidRequest, match="at most 16"):
        rs.update_metadata(done, metadata={str(i): "v" for i in range(17)})
    with pytest.raises(rs.InvalidRequest) as info:
        rs.update_metadata(done, metadata={"k" * 65: "v"})
    assert info.value.message == (
        "Invalid property name in 'metadata': '" + "k" * 65 + "' is too long. Expected a "
        "string with maximum length 64, but got a string with length 65 instead."
    )
    with pytest.raises(rs.InvalidRequest) as info:
        rs.update_metadata(done, metadata={"k": "\u754c" * 513})  # counted in characters, not bytes
    assert (info.value.param, info.value.code) == ("metadata.k", "string_above_max_length")
    assert info.value.message.endswith("but got a string with length 513 instead.")
    with pytest.raises(rs.InvalidRequest) as info:
        rs.update_metadata(done, metadata=["k"])  # type: ignore[arg-type]
    assert info.value.message == (
        "Invalid type for 'metadata': expected a metadata object, but got an array instead."
    )
    assert rs.update_metadata(done, metadata={str(i): "v" * 512 for i in range(16)}).metadata
    # Null means "not given": the metadata stays as it was.
    assert rs.update_metadata(done, metadata=None) is done
    assert rs.update_metadata(done) is done


# -- thread lock ------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(RunStatus))
def test_thread_lock(status: RunStatus) -> None:
    run = SAMPLES[status][0]
    other_thread = attrs.evolve(run, thread_id="thread_2")
    if status in rs.ACTIVE_STATUSES:
        with pytest.raises(rs.ThreadBusy) as info:
            rs.ensure_can_create_run("thread_1", [other_thread, run])
        assert info.value.message == "Thread thread_1 already has an active run run_1."
        with pytest.raises(rs.ThreadBusy) as info:
            rs.ensure_can_add_message("thread_1", [run])
        assert info.value.message == "Can't add messages to thread_1 while a run run_1 is active."
        with pytest.raises(rs.ThreadBusy) as info:
            rs.ensure_can_delete_thread("thread_1", [other_thread, run])
        assert info.value.message == "Can't delete thread_1 while a run run_1 is active."
        assert (info.value.reason, info.value.http_status) == ("thread-locked", 400)
    else:
        rs.ensure_can_create_run("thread_1", [run])
        rs.ensure_can_add_message("thread_1", [run])
        rs.ensure_can_delete_thread("thread_1", [run])
    rs.ensure_can_create_run("thread_1", [other_thread])


def test_errors_are_comparable_values() -> None:
    a = rs.CancelNotAllowed("x", reason="r")
    assert a == rs.CancelNotAllowed("x", reason="r")
    assert a != rs.CancelNotAllowed("x", reason="s")
    assert a != rs.ThreadBusy("x", reason="r")
    assert hash(a) == hash(rs.CancelNotAllowed("x", reason="r"))
    assert rs.ThreadBusy("m").reason == "thread-busy"
    assert "CancelNotAllowed" in repr(a)
