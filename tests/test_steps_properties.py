"""Lives with steps: properties over generated lives, and the checker's step rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis.errors import InvalidArgument
from lifecycle import life_changes
from realworld import parse_sse as plain_parse_sse

import runstate as rs
from runstate._trace import MAX_OPEN
from runstate.strategies import lives, traces


def run_end(run: rs.Run) -> int | None:
    return run.completed_at or run.cancelled_at or run.failed_at


@given(lives())
def test_every_step_ends_with_its_run(life: list[rs.steps.RunLife]) -> None:
    last = life[-1]
    for snapshot in life:
        for step in snapshot.steps:
            assert rs.steps.step_violations(step) == ()
            assert step.run_id == snapshot.run.id and step.created_at >= snapshot.run.created_at
        for message in snapshot.messages:
            assert rs.steps.message_violations(message) == ()
    if not last.run.status.is_terminal:
        return
    assert all(s.status is not rs.StepStatus.IN_PROGRESS for s in last.steps)
    assert all(m.status != "in_progress" for m in last.messages)
    end = run_end(last.run)
    for step in last.steps:
        ended = step.completed_at or step.cancelled_at or step.failed_at
        if ended is not None:
            assert step.created_at <= ended
            if end is not None:
                assert ended <= end
    for message in last.messages:
        ended = message.completed_at or message.incomplete_at
        assert ended is not None and message.created_at <= ended
        assert end is None or ended <= end


@given(lives())
def test_every_legal_life_encoded_as_sse_passes_the_checker(life: list[rs.steps.RunLife]) -> None:
    streams: list[list[tuple[str, str]]] = [[]]
    for events in life_changes(life):
        for pair in events:
            streams[-1].append(pair)
            if pair == ("done", "[DONE]"):
                streams.append([])
    for stream in streams:
        if stream:
            report = rs.check_trace(rs.parse_sse(rs.encode_sse(stream)), mode="stream")
            assert report.ok, [str(p) for p in report.problems]
    whole = [p for s in streams for p in s if p[0] != "done"] + [("done", "[DONE]")]
    assert rs.check_trace(whole, mode="stream").ok


@given(lives(broken=True))
def test_broken_lives_break_a_step_rule(life: list[rs.steps.RunLife]) -> None:
    last = life[-1]
    found = [v for s in last.steps for v in rs.steps.step_violations(s)]
    open_at_end = last.run.status.is_terminal and any(
        s.status is rs.StepStatus.IN_PROGRESS for s in last.steps
    )
    assert found or open_at_end


@given(traces(mode="stream", broken=True))
def test_broken_traces_are_reported(trace: list[tuple[str, str]]) -> None:
    assert not rs.check_trace(trace, mode="stream").ok


def test_strategy_arguments_are_checked() -> None:
    with pytest.raises(InvalidArgument):
        lives(max_steps=0)


# -- the rules, one by one ---------------------------------------------------------------

CALL = {"id": "call_A", "type": "function", "function": {"name": "f", "arguments": "{}"}}


def base() -> tuple[rs.steps.RunLife, list[tuple[str, str]]]:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)
    events = rs.stream_events(None, run)
    started = rs.advance(run, (), "start", now=11)
    events += rs.stream_events(run, started.run)
    return started, events


def step(life: rs.steps.RunLife, i: int = -1) -> str:
    return json.dumps(rs.dump_step(life.steps[i]))


def message(life: rs.steps.RunLife, i: int = -1) -> str:
    return json.dumps(rs.steps.dump_message(life.messages[i]))


def rules(items: list[Any]) -> list[tuple[int, str]]:
    return [(p.position, p.rule) for p in rs.check_trace(items, mode="stream").problems]


def message_life() -> tuple[rs.steps.RunLife, rs.steps.RunLife, list[tuple[str, str]]]:
    life, events = base()
    opened = rs.advance(life.run, (), "open_message_step", now=12, step_id="s", message_id="m")
    finished = rs.advance(
        opened.run, opened.steps, "finish_message_step", now=13, messages=opened.messages,
        step_id="s",
    )  # fmt: skip
    return opened, finished, events


def test_message_step_rules() -> None:
    opened, finished, events = message_life()
    created = [
        ("thread.run.step.created", step(opened)),
        ("thread.message.created", message(opened)),
    ]
    done = rs.advance(finished.run, finished.steps, "complete", now=14, messages=finished.messages)
    end = [("thread.run.completed", rs.toolkit.run_json(done.run)), ("done", "[DONE]")]
    n = len(events)
    good = [*events, *created, ("thread.message.completed", message(finished)),
            ("thread.run.step.completed", step(finished)), *end]  # fmt: skip
    assert rules(good) == []
    # the step ends before its message
    swapped = [*events, *created, ("thread.run.step.completed", step(finished)),
               ("thread.message.completed", message(finished)), *end]  # fmt: skip
    assert rules(swapped) == [(n + 2, "step-before-message")]
    # the run ends with both open
    assert rules([*events, *created, *end]) == [
        (n + 2, "step-open-at-run-end"),
        (n + 2, "message-open-at-run-end"),
    ]
    # events after the run's end; names that disagree with their data
    late = [*events, *created, ("thread.message.completed", message(finished)), *end[:1],
            ("thread.run.step.completed", step(finished)), end[1]]  # fmt: skip
    assert (n + 3, "step-open-at-run-end") in rules(late)
    assert (n + 4, "after-run-end") in rules(late)
    late_message = [*events, *end[:1], ("thread.message.in_progress", message(opened))]
    assert rules(late_message) == [(n + 1, "after-run-end")]
    renamed = [*events, ("thread.run.step.expired", step(opened)),
               ("thread.message.incomplete", message(opened))]  # fmt: skip
    assert rules(renamed) == [
        (n, "step-event-status-mismatch"),
        (n + 1, "message-event-status-mismatch"),
        (n + 1, "truncated-stream"),
    ]
    twice = [*events, *created, *created]
    assert rules(twice)[:2] == [(n + 2, "step-status-illegal"), (n + 3, "message-status-illegal")]


def test_foreign_and_malformed_objects() -> None:
    opened, _, events = message_life()
    n = len(events)
    other = {**rs.steps.dump_message(opened.messages[0]), "run_id": "run_2"}
    assert rules([*events, ("thread.message.created", other)])[0] == (n, "foreign-message")
    foreign_step = {**rs.dump_step(opened.steps[0]), "run_id": "run_2"}
    assert rules([*events, ("thread.run.step.created", json.dumps(foreign_step))])[0] == (
        n,
        "foreign-step",
    )
    bad_step = {**rs.dump_step(opened.steps[0]), "status": "paused"}
    bad_message = {**rs.steps.dump_message(opened.messages[0]), "status": "paused"}
    assert rules([*events, ("thread.run.step.created", bad_step)])[0] == (n, "invalid-step")
    assert rules([*events, ("thread.message.created", bad_message)])[0] == (n, "invalid-message")
    assert rules([*events, ("thread.message.created", json.dumps(bad_message))])[0] == (
        n,
        "invalid-message",
    )
    assert rules([*events, ("thread.message.created", json.dumps(bad_message).encode())])[0] == (
        n,
        "invalid-message",
    )
    wrong = {**rs.dump_step(opened.steps[0]), "usage": {"prompt_tokens": 1,
             "completion_tokens": 0, "total_tokens": 1}}  # fmt: skip
    assert rules([*events, ("thread.run.step.created", wrong)])[0] == (n, "step-usage")
    bad_msg_fields = {**rs.steps.dump_message(opened.messages[0]), "completed_at": 5}
    assert rules([*events, ("thread.message.created", bad_msg_fields)])[0][1] == (
        "message-completed-at"
    )
    # partial objects are checked for their run only, as before
    assert rules([*events, ("thread.message.created", '{"id": "m"}'), ("done", "[DONE]")]) == []
    assert rules([*events, ("thread.message.created", b"[]"), ("done", "[DONE]")]) == []


def test_tool_step_rules() -> None:
    life, events = base()
    n = len(events)
    opened = rs.advance(life.run, (), "open_tool_calls_step", now=12, step_id="t")
    waiting = rs.advance(opened.run, opened.steps, "require_action", now=13, tool_calls=[CALL])
    outputs = [{"tool_call_id": "call_A", "output": "ok"}]
    submitted = rs.advance(
        waiting.run, waiting.steps, "submit_tool_outputs", now=14, tool_outputs=outputs
    )
    good = [*events, ("thread.run.step.created", step(opened)),
            ("thread.run.requires_action", rs.toolkit.run_json(waiting.run)),
            ("thread.run.step.completed", step(submitted)),
            ("thread.run.queued", rs.toolkit.run_json(submitted.run)),
            ("done", "[DONE]")]  # fmt: skip
    assert rules(good) == []
    # closed before requires_action
    closed = rs.steps.complete_step(opened.steps[0], now=12)
    early = [*events, ("thread.run.step.created", step(opened)),
             ("thread.run.step.completed", json.dumps(rs.dump_step(closed))),
             ("thread.run.requires_action", rs.toolkit.run_json(waiting.run)),
             ("done", "[DONE]")]  # fmt: skip
    assert rules(early) == [(n + 2, "tool-step-closed-early")]
    # completed without the output while the run waits
    no_output = rs.steps.complete_step(waiting.steps[0], now=14)
    missing = [*good[: n + 2], ("thread.run.step.completed", json.dumps(rs.dump_step(no_output)))]
    assert rules([*missing, ("done", "[DONE]")]) == [(n + 2, "tool-output-missing")]
    # queued again while the step is open
    still = [
        *good[: n + 2],
        ("thread.run.queued", rs.toolkit.run_json(submitted.run)),
        ("done", "[DONE]"),
    ]
    assert rules(still) == [(n + 2, "tool-step-not-completed")]


def test_the_checker_follows_a_bounded_number_of_open_steps() -> None:
    life, events = base()
    run = life.run
    many = [
        (
            "thread.run.step.created",
            rs.dump_step(rs.steps.open_tool_calls_step(run, id=f"s{i}", now=12)),
        )
        for i in range(MAX_OPEN + 5)
    ]
    checker = rs.TraceChecker(mode="stream")
    found = [p.rule for item in [*events, *many] for p in checker.feed(item)]
    assert found == ["too-many-open-steps"]
    assert len(checker._steps.open_steps) == MAX_OPEN


# -- the real streams --------------------------------------------------------------------

EXPECTED = {
    "ruby-runs_streamed_create.0.sse": ["incomplete-details"],
    "ruby-runs_streamed_create.3.sse": ["event-status-mismatch"],
}


@pytest.mark.parametrize(
    "name",
    [
        "dotnet-FileSearchStreamingWorks.1.sse",
        "dotnet-StreamingRunWorks.1.sse",
        "dotnet-StreamingToolCall.1.sse",
        "dotnet-StreamingToolCall.2.sse",
        "ruby-runs_streamed_create.0.sse",
        "ruby-runs_streamed_create.3.sse",
    ],
)
def test_real_streams_are_judged_right(real_world: Path, name: str) -> None:
    path = real_world / "streamed" / name
    items = [(e, d) for _, e, d in plain_parse_sse(path.read_text(encoding="utf-8")) if e]
    report = rs.check_trace(items, mode="stream")
    assert [p.rule for p in report.errors] == EXPECTED.get(name, [])
    judged = rs.check_trace(rs.parse_sse(path.read_bytes()), mode="stream")
    assert [p.rule for p in judged.errors] == EXPECTED.get(name, [])
