"""The trace checker's fast paths judge exactly as its general path does.

Deltas (``thread.run.step.delta``, ``thread.message.delta``) given as tuples are taken
first by :meth:`TraceChecker.feed`; the same pairs given as lists go the general way, so
feeding both forms of every item is a differential test of the fast path.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import runstate as rs
from runstate.strategies import traces

DELTAS = [
    ("thread.run.step.delta", '{"id":"step_1","object":"thread.run.step.delta","delta":{}}'),
    ("thread.message.delta", '{"id":"msg_1","object":"thread.message.delta","delta":{}}'),
    ("thread.message.delta", "not json"),
    ("thread.run.step.delta", "[DONE]"),
]


def judged(items: list[Any], mode: str = "stream") -> list[str]:
    checker = rs.TraceChecker(mode=mode)  # type: ignore[arg-type]
    found = [str(p) for item in items for p in checker.feed(item)]
    return found + [str(p) for p in checker.close()]


def as_lists(items: list[Any]) -> list[Any]:
    return [list(item) if type(item) is tuple else item for item in items]


@given(
    traces(mode="stream") | traces(mode="stream", broken=True),
    st.lists(st.tuples(st.integers(0, 60), st.sampled_from(DELTAS)), max_size=6),
)
def test_deltas_anywhere_are_judged_as_the_general_path_does(
    trace: list[tuple[str, str]], inserts: list[tuple[int, tuple[str, str]]]
) -> None:
    items: list[Any] = list(trace)
    for at, delta in inserts:
        items.insert(min(at, len(items)), delta)
    for mode in ("stream", "poll"):
        assert judged(items, mode) == judged(as_lists(items), mode)


def test_a_delta_after_done_is_reported_and_after_close_raises() -> None:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
    items = [("thread.run.created", rs.toolkit.run_json(run)), ("done", "[DONE]"), DELTAS[0]]
    assert judged(items) == ["2: error after-done: an item follows the 'done' event"]
    checker = rs.TraceChecker(mode="stream")
    checker.close()
    with pytest.raises(RuntimeError):
        checker.feed(DELTAS[1])


def opened_step() -> tuple[list[tuple[str, str]], str, rs.steps.RunLife]:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)
    started = rs.advance(run, (), "start", now=11)
    events = rs.stream_events(None, run) + rs.stream_events(run, started.run)
    opened = rs.advance(started.run, (), "open_tool_calls_step", now=12, step_id="s")
    return events, json.dumps(rs.dump_step(opened.steps[0])), opened


def test_a_delta_between_created_and_created_breaks_the_repeat() -> None:
    events, text, _ = opened_step()
    n = len(events)
    twice = [*events, ("thread.run.step.created", text), ("thread.run.step.created", text)]
    assert judged(twice)[:-1] == []  # a repeat of the same object: judged once
    apart = [*twice[:-1], DELTAS[0], twice[-1]]
    assert judged(apart)[0].startswith(f"{n + 2}: error step-status-illegal")


def test_only_created_and_in_progress_can_repeat() -> None:
    """An object judged under an end event is no repeat for the next event's same data."""
    events, _, opened = opened_step()
    done = json.dumps(rs.dump_step(rs.steps.complete_step(opened.steps[0], now=13)))
    n = len(events)
    items = [*events, ("thread.run.step.completed", done), ("thread.run.mystery", done)]
    assert judged(items)[0] == f"{n + 1}: warning unknown-run-event: unknown run event " + (
        "'thread.run.mystery' (skipped)"
    )
