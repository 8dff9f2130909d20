"""check_trace: one crafted trace per rule, legal traces accepted, the real recordings."""

from __future__ import annotations

import json
import tracemalloc
from typing import TYPE_CHECKING, Any

import pytest
from hostile import EqualsAnything

import runstate as rs
from runstate import (
    RunStatus,
    can_reach,
    can_transition,
    complete,
    dump_run,
    new_run,
    parse_run,
    require_action,
    start,
    submit_tool_outputs,
    update_metadata,
    violations,
)
from runstate._engine.sse import parse_sse
from runstate._trace import TraceChecker, TraceProblem, TraceReport, check_trace

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

Q = RunStatus.QUEUED
P = RunStatus.IN_PROGRESS
RA = RunStatus.REQUIRES_ACTION
CG = RunStatus.CANCELLING
CD = RunStatus.CANCELLED
F = RunStatus.FAILED
C = RunStatus.COMPLETED
INC = RunStatus.INCOMPLETE
X = RunStatus.EXPIRED

T0 = 1_700_000_000
USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
ACTION = {
    "type": "submit_tool_outputs",
    "submit_tool_outputs": {
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ]
    },
}
#: The fields a clean run carries in each status (spec-facts §6), beyond the base below.
CLEAN: dict[RunStatus, dict[str, Any]] = {
    Q: {"expires_at": T0 + 600},
    P: {"expires_at": T0 + 600, "started_at": T0 + 1},
    RA: {"expires_at": T0 + 600, "started_at": T0 + 1, "required_action": ACTION},
    CG: {"expires_at": T0 + 600, "started_at": T0 + 1},
    CD: {"started_at": T0 + 1, "cancelled_at": T0 + 5, "usage": USAGE},
    F: {
        "started_at": T0 + 1,
        "failed_at": T0 + 5,
        "usage": USAGE,
        "last_error": {"code": "server_error", "message": "Sorry, something went wrong."},
    },
    C: {"started_at": T0 + 1, "completed_at": T0 + 5, "usage": USAGE},
    INC: {
        "started_at": T0 + 1,
        "completed_at": T0 + 5,
        "usage": USAGE,
        "incomplete_details": {"reason": "max_completion_tokens"},
    },
    X: {"started_at": T0 + 1, "usage": USAGE},
}


def snap(status: RunStatus, **fields: Any) -> dict[str, Any]:
    """A run in ``status`` as a JSON object, clean unless ``fields`` say otherwise."""
    run: dict[str, Any] = {
        "id": "run_1",
        "object": "thread.run",
        "created_at": T0,
        "thread_id": "thread_1",
        "assistant_id": "asst_1",
        "status": status.value,
        "model": "gpt-4o",
        **CLEAN[status],
    }
    run.update(fields)
    return run


def event(status: RunStatus, **fields: Any) -> tuple[str, dict[str, Any]]:
    return status.event, snap(status, **fields)


CREATED = ("thread.run.created", snap(Q))
DONE = ("done", "[DONE]")


def found(items: list[Any], mode: str) -> list[tuple[int, str, str]]:
    report = check_trace(items, mode=mode)  # type: ignore[arg-type]
    return [(p.position, p.severity, p.rule) for p in report.problems]


@pytest.mark.parametrize("status", list(RunStatus), ids=lambda s: s.value)
def test_the_crafted_snapshots_are_clean(status: RunStatus) -> None:
    assert violations(parse_run(snap(status))) == ()


# --------------------------------------------------------------------------------------
# Legal traces


def tool_round() -> list[dict[str, Any]]:
    """Every snapshot of a run with one tool-call round, made by the operations."""
    run = new_run(id="run_1", thread_id="thread_1", assistant_id="asst_1", model="m", now=T0)
    out = [run]
    out.append(run := start(run, now=T0 + 1))
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    out.append(run := require_action(run, [call], now=T0 + 2))
    out.append(
        run := submit_tool_outputs(run, [{"tool_call_id": "call_1", "output": "x"}], now=T0 + 3)
    )
    out.append(run := start(run, now=T0 + 4))
    out.append(run := complete(run, now=T0 + 5, usage=USAGE))
    out.append(update_metadata(run, metadata={"note": "checked"}))
    return [dump_run(r) for r in out]


def test_a_tool_round_polled_is_accepted() -> None:
    snaps = tool_round()
    assert snaps[4]["started_at"] != snaps[3]["started_at"]  # reset on re-entry
    polled = [snaps[0], snaps[0], snaps[1], snaps[2], snaps[2], snaps[2], *snaps[3:]]
    report = check_trace(polled, mode="poll")
    assert report.problems == ()
    assert report.ok
    assert report.checked == len(polled)


@pytest.mark.parametrize(
    "indexes",
    [
        [0, 5],  # queued -> completed: in_progress missed
        [0, 2],  # queued -> requires_action
        [1, 3],  # in_progress -> queued: requires_action missed
        [2, 4],  # requires_action -> in_progress (started_at reset): queued missed
        [2, 5],  # requires_action -> completed
        [1, 4],  # in_progress -> in_progress, started_at reset: a whole round missed
        [3, 5],  # the re-queued run -> completed
    ],
)
def test_polls_may_skip_statuses(indexes: list[int]) -> None:
    snaps = tool_round()
    assert found([snaps[i] for i in indexes], "poll") == []


def test_a_tool_round_streamed_is_accepted() -> None:
    snaps = tool_round()
    first = [("thread.created", {"id": "thread_1", "object": "thread"})]
    first += [("thread.run.created", snaps[0]), ("thread.run.queued", snaps[0])]
    first += [("thread.run.in_progress", snaps[1])]
    first += [("thread.run.step.created", {"id": "step_1", "run_id": "run_1"})]
    first += [("thread.run.step.delta", {"id": "step_1", "delta": {}})]
    first += [("thread.run.requires_action", snaps[2]), DONE]
    assert found(first, "stream") == []
    second = [("thread.run.step.completed", json.dumps({"id": "step_1", "run_id": "run_1"}))]
    second += [("thread.run.queued", snaps[3]), ("thread.run.in_progress", snaps[4])]
    second += [("thread.message.delta", "{}"), ("thread.run.completed", snaps[5]), DONE]
    assert found(second, "stream") == []


def test_item_forms() -> None:
    """Runs, JSON objects, JSON text (str or bytes) and pairs holding any of them."""
    a, b = snap(Q), snap(P)
    for items in (
        [parse_run(a), parse_run(b)],
        [a, b],
        [json.dumps(a), json.dumps(b).encode()],
        [("thread.run.queued", parse_run(a)), ("thread.run.in_progress", json.dumps(b))],
        [["thread.run.queued", a], ["thread.run.in_progress", b]],
    ):
        assert check_trace(iter(items), mode="poll") == TraceReport(problems=(), checked=2)
        assert check_trace(iter(items), mode="stream").problems == (
            TraceProblem(
                1,
                "warning",
                "truncated-stream",
                "the stream ends at status 'in_progress' without a 'done' event",
            ),
        )


def test_an_empty_trace_holds_no_run() -> None:
    """An empty trace is not a clean one: nothing shows the run existed (no-run)."""
    for mode in ("poll", "stream"):
        report = check_trace([], mode=mode)  # type: ignore[arg-type]
        assert report.checked == 0
        assert [(p.position, p.severity, p.rule) for p in report.problems] == [
            (0, "error", "no-run")
        ]
        assert not report.ok


def test_repeats_are_fine_in_both_modes() -> None:
    assert found([snap(P)] * 5, "poll") == []
    assert found([CREATED, event(Q), event(Q), event(P), event(P), DONE], "stream") == []


def test_metadata_may_change_after_terminal() -> None:
    assert found([snap(C), snap(C, metadata={"a": "b"}), snap(C, metadata=None)], "poll") == []


def test_expires_at_cleared_at_the_end() -> None:
    assert found([snap(P), snap(C)], "poll") == []


def test_started_at_may_be_set_later() -> None:
    assert found([snap(CG, started_at=None), snap(CG)], "poll") == []


# --------------------------------------------------------------------------------------
# One crafted trace per rule


def test_invalid_item() -> None:
    assert found([snap(Q), 42, snap(P)], "poll") == [(1, "error", "invalid-item")]
    assert found([snap(Q), ("thread.run.in_progress", 42)], "poll") == [
        (1, "error", "invalid-item")
    ]


def test_invalid_run_is_reported_and_the_last_good_snapshot_kept() -> None:
    broken = snap(P, created_at="yesterday")
    assert found([snap(Q), broken, "not json", snap(P)], "poll") == [
        (1, "error", "invalid-run"),
        (2, "error", "invalid-run"),
    ]
    report = check_trace([snap(Q), broken], mode="poll")
    assert "created_at: expected an integer Unix timestamp" in report.problems[0].message
    # Compared with the queued snapshot at 0, not with the broken one:
    assert found([snap(C), broken, snap(P)], "poll") == [
        (1, "error", "invalid-run"),
        (2, "error", "status-unreachable"),
    ]


def test_invalid_run_in_a_stream() -> None:
    assert found([("thread.run.queued", "{"), event(P), DONE], "stream") == [
        (0, "error", "invalid-run")
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "run_2"),
        ("thread_id", "thread_2"),
        ("assistant_id", "asst_2"),
        ("created_at", T0 - 1),
    ],
)
@pytest.mark.parametrize("mode", ["poll", "stream"])
def test_field_changed(field: str, value: object, mode: str) -> None:
    items: list[Any] = [event(Q), event(P, **{field: value}), DONE]
    if mode == "poll":
        items = [i[1] for i in items[:2]]
    assert found(items, mode) == [(1, "error", "field-changed")]


def test_field_changed_object() -> None:
    """``object`` can only be ``thread.run`` in a parsed run: a change is an invalid run."""
    assert found([snap(Q), snap(P, object="thread.run.step")], "poll") == [
        (1, "error", "invalid-run")
    ]


def test_field_changed_message() -> None:
    report = check_trace([snap(Q), snap(Q, id="run_2")], mode="poll")
    assert report.problems[0].message == "id changed from 'run_1' to 'run_2'"


@pytest.mark.parametrize(
    ("before", "after"),
    [(C, P), (CG, Q), (CG, P), (CD, CG), (X, F), (RA, RA), (Q, Q)],
    ids=str,
)
def test_status_unreachable_poll(before: RunStatus, after: RunStatus) -> None:
    expected = [] if before is after else [(1, "error", "status-unreachable")]
    problems = found([snap(before), snap(after)], "poll")
    assert [p for p in problems if p[2].startswith("status-")] == expected


def test_status_changes_use_the_one_table() -> None:
    """Every pair of statuses: reported exactly where can_reach / can_transition say no."""
    for a in RunStatus:
        for b in RunStatus:
            poll = {r for _, _, r in found([snap(a), snap(b)], "poll")}
            stream = {r for _, _, r in found([event(a), event(b), DONE], "stream")}
            moved = a is not b
            assert ("status-unreachable" in poll) == (moved and not can_reach(a, b)), (a, b)
            assert ("status-unreachable" in stream) == (moved and not can_reach(a, b)), (a, b)
            skipped = moved and can_reach(a, b) and not can_transition(a, b)
            assert ("status-skipped" in stream) == skipped, (a, b)
            assert "status-skipped" not in poll


def test_status_skipped_stream() -> None:
    items = [CREATED, event(Q), event(C), DONE]
    assert found(items, "stream") == [(2, "error", "status-skipped")]
    report = check_trace(items, mode="stream")
    assert report.problems[0].message == (
        "'queued' -> 'completed' is not one transition; a stream announces every status"
    )


def test_status_unreachable_stream() -> None:
    assert found([event(P), event(C), event(P), DONE], "stream") == [
        (2, "error", "status-unreachable"),
    ]


def test_after_terminal() -> None:
    other_usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    items = [snap(C), snap(C, usage=other_usage, extra_field=1)]
    assert found(items, "poll") == [(1, "error", "after-terminal")]
    report = check_trace(items, mode="poll")
    assert report.problems[0].message == (
        "usage, extra changed after the run became 'completed' (only metadata may change)"
    )


def test_timestamp_rewritten_started_at_unset() -> None:
    assert found([snap(P), snap(Q, started_at=None)], "poll") == [
        (1, "error", "timestamp-rewritten")
    ]
    report = check_trace([snap(CG), snap(CG, started_at=None)], mode="poll")
    assert report.problems[0].message == f"started_at unset (it was {T0 + 1})"


@pytest.mark.parametrize(
    ("items", "mode"),
    [
        # Cancelling cannot re-enter in_progress:
        ([snap(CG), snap(CG, started_at=T0 + 2)], "poll"),
        ([snap(CG), snap(CD, started_at=T0 + 2)], "poll"),
        # A stream shows the re-entry itself; here there is none:
        ([event(P), event(P, started_at=T0 + 2), DONE], "stream"),
        ([event(P), event(RA, started_at=T0 + 2), DONE], "stream"),
        # A reset never goes back in time:
        ([snap(RA, started_at=T0 + 5), snap(P, started_at=T0 + 4)], "poll"),
        ([event(Q, started_at=T0 + 5), event(P, started_at=T0 + 4), DONE], "stream"),
    ],
)
def test_timestamp_rewritten_started_at(items: list[Any], mode: str) -> None:
    assert found(items, mode) == [(1, "error", "timestamp-rewritten")]


def test_started_at_reset_on_re_entry_in_a_stream() -> None:
    items = [event(Q, started_at=T0 + 1), event(P, started_at=T0 + 9), DONE]
    assert found(items, "stream") == []


@pytest.mark.parametrize("field", ["cancelled_at", "failed_at", "completed_at"])
def test_timestamp_rewritten_end_timestamps(field: str) -> None:
    """Only terminal runs carry them; an active run carrying one is itself reported."""
    items = [snap(P, **{field: T0 + 3}), snap(P, **{field: None})]
    problems = found(items, "poll")
    assert (0, "error", field.replace("_", "-")) in problems  # the run's own violation
    assert (1, "error", "timestamp-rewritten") in problems
    items = [snap(P, **{field: T0 + 3}), snap(P, **{field: T0 + 4})]
    assert (1, "error", "timestamp-rewritten") in found(items, "poll")


def test_expires_at_changed() -> None:
    assert found([snap(Q), snap(P, expires_at=T0 + 1200)], "poll") == [
        (1, "warning", "expires-at-changed")
    ]
    # Cleared while still active: a warning here, and the run's own warning too.
    assert found([snap(P), snap(P, expires_at=None)], "poll") == [
        (1, "warning", "expires-at-changed"),
        (1, "warning", "expires-at"),
    ]
    report = check_trace([snap(Q), snap(P, expires_at=T0 + 1200)], mode="poll")
    assert report.ok
    assert report.problems[0].message == (
        f"expires_at changed from {T0 + 600} to {T0 + 1200} while the run is 'in_progress'"
        " (the real API keeps it until the end)"
    )


def test_event_status_mismatch() -> None:
    items = [("thread.run.created", snap(P)), ("thread.run.in_progress", snap(P)), DONE]
    assert found(items, "stream") == [(0, "error", "event-status-mismatch")]
    items = [CREATED, ("thread.run.completed", snap(INC)), DONE]
    assert found(items, "stream") == [
        (1, "error", "event-status-mismatch"),
        (1, "error", "status-skipped"),
    ]
    report = check_trace(items, mode="stream")
    assert report.problems[0].message == (
        "event 'thread.run.completed' carries status 'incomplete' (expected 'completed')"
    )


def test_created_and_queued_both_carry_queued() -> None:
    assert found([CREATED, ("thread.run.queued", snap(Q)), DONE], "stream") == []


def test_unknown_run_event() -> None:
    items = [CREATED, ("thread.run.paused", snap(Q)), ("thread.unknown", {}), DONE]
    assert found(items, "stream") == [(1, "warning", "unknown-run-event")]


def test_after_done_is_reported_once() -> None:
    items = [CREATED, event(P), event(C), DONE, event(C), DONE, ("thread.message.delta", {})]
    assert found(items, "stream") == [(4, "error", "after-done")]


def test_only_the_done_event_ends_a_stream() -> None:
    """``[DONE]`` under another event name is that event's data, not the end."""
    assert found([event(P), ("message", "[DONE]"), event(C)], "stream") == []
    items = [event(P), ("thread.run.completed", "[DONE]"), event(C), DONE]
    assert found(items, "stream") == [(1, "error", "invalid-run")]
    assert found([event(P), ("done", "[DONE]"), event(C)], "stream") == [(2, "error", "after-done")]


def test_foreign_step() -> None:
    step = {"id": "step_1", "object": "thread.run.step", "run_id": "run_other"}
    items = [CREATED, ("thread.run.step.created", step), event(P), DONE]
    assert found(items, "stream") == [(1, "error", "foreign-step")]
    report = check_trace(items, mode="stream")
    assert report.problems[0].message == (
        "'thread.run.step.created' belongs to run 'run_other', not to 'run_1'"
    )


def test_foreign_step_before_the_first_run_event() -> None:
    step = {"id": "step_1", "run_id": "run_other"}
    items = [("thread.run.step.completed", step), event(Q), event(P), DONE]
    assert found(items, "stream") == [(1, "error", "foreign-step")]
    mine = {"id": "step_1", "run_id": "run_1"}
    items = [("thread.run.step.completed", mine), ("thread.run.step.completed", step)]
    assert found([*items, event(Q), DONE], "stream") == [(1, "error", "foreign-step")]


def test_step_events_without_run_id_are_skipped() -> None:
    items = [
        CREATED,
        ("thread.run.step.delta", {"id": "s", "delta": {}}),
        ("thread.run.step.created", "not json"),
        ("thread.run.step.created", [1]),
        DONE,
    ]
    assert found(items, "stream") == []


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (P, [(2, "warning", "truncated-stream")]),
        (Q, [(2, "warning", "truncated-stream")]),
        (CG, [(2, "warning", "truncated-stream")]),
        (RA, []),
        (C, []),
        (X, []),
    ],
    ids=lambda v: v.value if isinstance(v, RunStatus) else "",
)
def test_truncated_stream(last: RunStatus, expected: list[Any]) -> None:
    first, before = {P: (Q, Q), Q: (P, RA), CG: (Q, P), RA: (Q, P), C: (Q, P), X: (P, RA)}[last]
    items = [event(s, started_at=T0 + 1) for s in (first, before, last)]
    assert found(items, "stream") == expected
    assert found([*items, DONE], "stream") == []


def test_truncated_stream_without_run_events() -> None:
    assert found([("thread.created", {})], "stream") == [
        (0, "error", "no-run"),
        (0, "warning", "truncated-stream"),
    ]
    assert found([("thread.created", {})], "poll") == [(0, "error", "no-run")]


@pytest.mark.parametrize(
    ("items", "mode"),
    [
        ([DONE], "stream"),
        ([("thread.message.created", {}), ("thread.run.step.created", {}), DONE], "stream"),
        ([["thread.created", {}], ["thread.message.created", {}]], "poll"),
        ([("thread.run.paused", snap(Q))], "poll"),  # an unknown run event holds no run
        ([1, None], "poll"),
    ],
    ids=["done-only", "other-events", "pairs-as-polls", "unknown-run-event", "not-items"],
)
def test_a_trace_without_a_run_is_an_error(items: list[Any], mode: str) -> None:
    report = check_trace(items, mode=mode)  # type: ignore[arg-type]
    no_run = [p for p in report.problems if p.rule == "no-run"]
    assert [(p.position, p.severity) for p in no_run] == [(len(items) - 1, "error")]
    assert not report.ok


@pytest.mark.parametrize(
    "items",
    [[snap(Q)], ["not json"], [{"status": "queued"}], [CREATED, DONE]],
    ids=["good", "bad-text", "bad-object", "stream"],
)
def test_a_trace_with_a_run_good_or_bad_is_not_no_run(items: list[Any]) -> None:
    """An invalid snapshot is still a run: it is reported as invalid-run, not no-run."""
    assert "no-run" not in [p.rule for p in check_trace(items, mode="stream").problems]
    assert "no-run" not in [p.rule for p in check_trace(items, mode="poll").problems]


def test_violations_are_reported_at_their_position() -> None:
    items = [snap(P), snap(C, incomplete_details={"reason": "max_prompt_tokens"})]
    assert found(items, "poll") == [(1, "error", "incomplete-details")]
    items = [snap(Q, max_completion_tokens=16), snap(Q, max_completion_tokens=16)]
    assert found(items, "poll") == [
        (0, "warning", "token-limit-minimum"),
        (1, "warning", "token-limit-minimum"),
    ]
    report = check_trace(items, mode="poll")
    assert report.ok
    assert report.warnings == report.problems
    assert report.errors == ()


# --------------------------------------------------------------------------------------
# The checker object


@pytest.mark.parametrize("mode", ["polling", "x", None, ["poll"], 5])
def test_mode_is_checked(mode: Any) -> None:
    for attempt in (lambda: check_trace([], mode=mode), lambda: TraceChecker(mode=mode)):
        with pytest.raises(rs.InvalidArgument, match="expected 'poll' or 'stream'") as info:
            attempt()
        assert info.value.argument == "mode"


@pytest.mark.parametrize("max_problems", [-1, True, 1.5, "3"])
def test_max_problems_is_checked(max_problems: Any) -> None:
    with pytest.raises(rs.InvalidArgument) as info:
        check_trace([], mode="poll", max_problems=max_problems)
    assert info.value.argument == "max_problems"


@pytest.mark.parametrize("items", [5, None, "a run", b"{}", {"id": "run_1"}], ids=repr)
def test_items_must_be_an_iterable_of_items(items: Any) -> None:
    with pytest.raises(rs.InvalidArgument) as info:
        check_trace(items, mode="poll")
    assert info.value.argument == "items"


def test_checker_feed_and_close() -> None:
    checker = TraceChecker(mode="stream")
    assert checker.feed(event(P)) == ()
    assert checker.feed(event(C, usage=None)) == (
        TraceProblem(1, "warning", "usage-missing", checker_message(C)),
    )
    assert checker.position == 2
    assert checker.close() == ()
    assert checker.close() == ()
    for item in (event(C), ("thread.run.created", "{}"), "x"):  # both paths of feed()
        with pytest.raises(rs.InvalidArgument, match="the checker is closed"):
            checker.feed(item)


def checker_message(status: RunStatus) -> str:
    (v,) = violations(parse_run(snap(status, usage=None)))
    return f"{v.field}: {v.message}"


def test_problem_str() -> None:
    assert str(TraceProblem(3, "warning", "truncated-stream", "x")) == (
        "3: warning truncated-stream: x"
    )


@pytest.mark.slow  # a memory measurement (tracemalloc): CI runs it
def test_memory_stays_flat_on_a_long_trace() -> None:
    """The checker keeps only the previous snapshot: 4x the items, about the same peak."""

    def trace(rounds: int) -> Iterator[str]:
        for i in range(rounds):
            yield json.dumps(snap(P, started_at=T0 + 1 + 2 * i))
            yield json.dumps(snap(RA, started_at=T0 + 1 + 2 * i))
            yield json.dumps(snap(Q, started_at=T0 + 1 + 2 * i))

    peaks = []
    for rounds in (250, 1000):
        tracemalloc.start()
        report = check_trace(trace(rounds), mode="poll")
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert report.problems == ()
        assert report.checked == 3 * rounds
    assert peaks[1] < peaks[0] * 1.5 + 64 * 1024, peaks


# --------------------------------------------------------------------------------------
# The real recordings


def check_file(path: Path) -> TraceReport:
    if path.suffix == ".sse":
        with path.open("rb") as file:
            return check_trace(parse_sse(file), mode="stream")
    with path.open(encoding="utf-8") as file:
        return check_trace((line for line in file if line.strip()), mode="poll")


def test_dotnet_traces_are_clean(real_world: Path) -> None:
    paths = sorted(real_world.glob("*/dotnet-*"))
    assert len(paths) >= 10
    for path in paths:
        assert check_file(path).problems == (), path.name


def test_polled_ruby_traces_have_no_errors(real_world: Path) -> None:
    """Only the early-v2 ``max_completion_tokens: 16`` warning (spec-facts §8.4)."""
    paths = sorted(real_world.glob("polled/ruby-*.jsonl"))
    assert paths
    for path in paths:
        report = check_file(path)
        assert report.ok, (path.name, report.problems)
        assert {p.rule for p in report.problems} <= {"token-limit-minimum"}


WARN_16 = (
    "warning",
    "token-limit-minimum",
    "max_completion_tokens: 16 is below 256 (the spec's minimum, which the real API accepts)",
)


def test_ruby_stream_0_completed_with_incomplete_details(real_world: Path) -> None:
    """2024-04-27: a completed run carrying incomplete_details (spec-facts §8.3)."""
    report = check_file(real_world / "streamed" / "ruby-runs_streamed_create.0.sse")
    assert [(p.position, p.severity, p.rule, p.message) for p in report.problems] == [
        (0, *WARN_16),
        (1, *WARN_16),
        (2, *WARN_16),
        (
            24,
            "error",
            "incomplete-details",
            "incomplete_details: must be null when the status is 'completed' "
            "(spec: 'null if the run is not incomplete')",
        ),
        (24, *WARN_16),
    ]


def test_ruby_stream_3_incomplete_under_completed_event(real_world: Path) -> None:
    """2024-04-29: an incomplete run under ``thread.run.completed`` (spec-facts §8.3)."""
    report = check_file(real_world / "streamed" / "ruby-runs_streamed_create.3.sse")
    assert [(p.position, p.severity, p.rule, p.message) for p in report.problems] == [
        (0, *WARN_16),
        (1, *WARN_16),
        (2, *WARN_16),
        (
            24,
            "error",
            "event-status-mismatch",
            "event 'thread.run.completed' carries status 'incomplete' (expected 'completed')",
        ),
        (24, *WARN_16),
    ]


def test_repeated_text_is_still_reported_at_each_position() -> None:
    """Identical poll lines are not parsed again, but each keeps its own problems."""
    text = json.dumps(snap(Q, max_completion_tokens=16))
    items = [text, text, "{", text, json.dumps(snap(C)), text]
    assert found(items, "poll") == [
        (0, "warning", "token-limit-minimum"),
        (1, "warning", "token-limit-minimum"),
        (2, "error", "invalid-run"),
        (3, "warning", "token-limit-minimum"),
        (5, "error", "status-unreachable"),
        (5, "warning", "token-limit-minimum"),
    ]


# --------------------------------------------------------------------------------------
# Hostile items: a bad item is a problem at its position, and the trace goes on

DEEP = "[" * 100_000 + "]" * 100_000


def test_a_deeply_nested_step_is_a_problem_and_the_trace_goes_on() -> None:
    items = [CREATED, ("thread.run.step.created", DEEP), event(P), event(C), DONE]
    assert found(items, "stream") == [(1, "error", "invalid-item")]
    report = check_trace(items, mode="stream")
    assert report.problems[0].message == (
        "the data of 'thread.run.step.created' is nested too deeply to read"
    )
    assert found([CREATED, ("thread.run.queued", DEEP), event(P), DONE], "stream") == [
        (1, "error", "invalid-run")
    ]


class Broken(dict):  # type: ignore[type-arg]
    """A mapping that raises however it is read."""

    def __getitem__(self, key: object) -> Any:
        raise RuntimeError("getitem")

    def get(self, key: object, default: object = None) -> Any:
        raise RuntimeError("get")

    def __iter__(self) -> Any:
        raise RuntimeError("iter")

    def items(self) -> Any:
        raise RuntimeError("items")

    def keys(self) -> Any:
        raise RuntimeError("keys")


class BadList(list):  # type: ignore[type-arg]
    def __len__(self) -> int:
        raise RuntimeError("len")


class Liar(str):
    """A str whose methods all say something else than its text."""

    __slots__ = ()

    def __str__(self) -> str:
        return json.dumps(snap(C))

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = str.__hash__

    def startswith(self, *args: Any) -> bool:  # type: ignore[override]
        return True

    def strip(self, *args: Any) -> str:  # type: ignore[override]
        return json.dumps(snap(C))


@pytest.mark.parametrize("mode", ["poll", "stream"])
def test_objects_that_raise_when_read_are_reported(mode: str) -> None:
    items = [
        CREATED,
        ("thread.run.step.created", Broken(run_id="run_1")),
        ("thread.run.in_progress", Broken()),
        Broken(),
        BadList([1, 2]),
        event(P),
        event(C),
        DONE,
    ]
    # A run-shaped mapping that fails while read is a run parse_run refuses (invalid-run);
    # anything else that fails while read is an item the checker cannot read.
    assert found(items, mode) == [
        (1, "error", "invalid-item"),
        (2, "error", "invalid-run"),
        (3, "error", "invalid-run"),
        (4, "error", "invalid-item"),
    ]
    messages = [p.message for p in check_trace(items, mode=mode).problems]  # type: ignore[arg-type]
    assert (
        messages[0]
        == "the data of 'thread.run.step.created' cannot be read: it raised RuntimeError"
    )
    assert messages[1] == "$: the mapping could not be read (RuntimeError)"
    assert messages[3] == "the item cannot be read: it raised RuntimeError"


def test_a_str_subclass_is_read_as_its_text() -> None:
    """What a subclass says of itself (``__str__``, ``__eq__``...) does not change the check."""
    items = [
        CREATED,
        (Liar("thread.x"), {}),  # not a run event, whatever it says
        ("thread.run.in_progress", Liar(json.dumps(snap(P)))),  # read as in_progress
        (Liar("thread.run.step.created"), {"run_id": Liar("run_2")}),
        (Liar("done"), "[DONE]"),
    ]
    assert found(items, "stream") == [(3, "error", "foreign-step")]
    assert found([*items, event(C)], "stream") == [
        (3, "error", "foreign-step"),
        (5, "error", "after-done"),
    ]


def test_messages_echo_bounded_input() -> None:
    """An enormous event name or run id is cut in the message, not echoed whole."""
    name = "thread.run." + "x" * 100_000
    step = ("thread.run.step.created", {"run_id": "r" * 100_000})
    report = check_trace([CREATED, (name, {}), step, DONE], mode="stream")
    assert [p.rule for p in report.problems] == ["unknown-run-event", "foreign-step"]
    for problem in report.problems:
        assert len(problem.message) < 600, problem.message[:100]
        assert "more characters" in problem.message


def test_max_problems_keeps_the_first_of_each_severity_and_counts_the_rest() -> None:
    bad = snap(Q, max_prompt_tokens=10)  # a warning each (token-limit-minimum)
    items = [bad] * 7 + ["{oops"] * 4  # and 4 errors
    report = check_trace(items, mode="poll", max_problems=3)
    assert [p.position for p in report.warnings] == [0, 1, 2]
    assert [p.position for p in report.errors] == [7, 8, 9]
    assert (report.omitted_warnings, report.omitted_errors) == (4, 1)
    assert (report.warning_count, report.error_count) == (7, 4)
    assert not report.ok
    everything = check_trace(items, mode="poll", max_problems=None)
    assert (len(everything.warnings), len(everything.errors)) == (7, 4)
    assert everything.omitted_errors == everything.omitted_warnings == 0
    only_counts = check_trace(items, mode="poll", max_problems=0)
    assert only_counts.problems == ()
    assert not only_counts.ok
    assert (only_counts.warning_count, only_counts.error_count) == (7, 4)
    warned = check_trace([bad] * 3, mode="poll", max_problems=1)
    assert warned.ok
    assert warned.omitted_warnings == 2


@pytest.mark.parametrize("value", [-1, 1.5, True, "3"])
def test_max_problems_must_be_a_count(value: Any) -> None:
    with pytest.raises(ValueError, match="max_problems"):
        check_trace([], mode="poll", max_problems=value)


def test_the_report_of_a_long_trace_full_of_problems_is_bounded() -> None:
    """Every snapshot has a warning: the kept problems stop growing at max_problems."""
    bad = json.dumps(snap(Q, max_prompt_tokens=10))
    peaks = []
    for n in (1_000, 4_000):
        tracemalloc.start()
        report = check_trace((bad for _ in range(n)), mode="poll", max_problems=100)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert len(report.warnings) == 100
        assert report.warning_count == n
    assert peaks[1] < peaks[0] * 1.5 + 64 * 1024, peaks


def test_a_run_its_checks_cannot_handle_is_a_problem() -> None:
    """Ints of more than 4,300 digits are refused as text refuses them: the check goes on."""
    huge = 10**5000
    items = [snap(Q, created_at=huge), snap(Q), snap(P), snap(C)]
    assert found(items, "poll") == [(0, "error", "invalid-run")]
    report = check_trace(items, mode="poll")
    # parse_run refuses it, naming the field (text input could never carry it either).
    assert report.problems[0].message == "created_at: integer of more than 4300 digits"


def test_mode_is_read_by_its_value() -> None:
    with pytest.raises(rs.InvalidArgument):
        check_trace([], mode=EqualsAnything("queued"))  # type: ignore[arg-type]
    assert check_trace([], mode=EqualsAnything("poll")).checked == 0  # type: ignore[arg-type]
