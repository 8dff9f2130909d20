"""Generated legal traces are accepted; one random rule-breaking mutation is reported."""

from __future__ import annotations

import json
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import InvalidArgument

import runstate as rs
from runstate import RunStatus
from runstate.strategies import traces

SLOW_DATA = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _errors_at(report: rs.TraceReport) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for p in report.problems:
        if p.severity == "error":
            out.setdefault(p.position, set()).add(p.rule)
    return out


@SLOW_DATA
@given(traces(mode="poll"))
def test_generated_poll_traces_are_accepted(trace: list[dict[str, Any]]) -> None:
    report = rs.check_trace(trace, mode="poll")
    assert report.ok, [str(p) for p in report.problems]
    assert all(rs.violations(rs.parse_run(item)) == () for item in trace)


@SLOW_DATA
@given(traces(mode="stream"))
def test_generated_streams_are_accepted(trace: list[tuple[str, str]]) -> None:
    report = rs.check_trace(trace, mode="stream")
    assert report.ok, [str(p) for p in report.problems]
    assert trace[-1] == ("done", "[DONE]")


def _unreachable_from(status: RunStatus) -> list[RunStatus]:
    return [s for s in RunStatus if not rs.can_reach(status, s)]


@SLOW_DATA
@given(traces(mode="poll"), st.data())
def test_a_poll_mutation_is_reported_where_it_happens(
    trace: list[dict[str, Any]], data: st.DataObject
) -> None:
    if len(trace) < 2:
        return
    i = data.draw(st.integers(1, len(trace) - 1), label="position")
    prev = RunStatus(trace[i - 1]["status"])
    kinds = ["id", "created_at", "thread_id", "model-after-terminal", "status"]
    kind = data.draw(st.sampled_from(kinds), label="mutation")
    mutated = [dict(item) for item in trace]
    item = mutated[i]
    if kind == "id":
        item["id"] = item["id"] + "_other"
        expected = "field-changed"
    elif kind == "created_at":
        item["created_at"] = item["created_at"] - 1
        expected = "field-changed"
    elif kind == "thread_id":
        item["thread_id"] = "thread_elsewhere"
        expected = "field-changed"
    elif kind == "model-after-terminal":
        if prev not in rs.TERMINAL_STATUSES:
            return
        item["model"] = item["model"] + "-changed"
        expected = "after-terminal"
    else:
        choices = _unreachable_from(prev)
        if not choices:
            return
        item["status"] = data.draw(st.sampled_from(choices), label="status").value
        expected = "status-unreachable"
    report = rs.check_trace(mutated, mode="poll")
    assert not report.ok
    assert expected in _errors_at(report).get(i, set()), (kind, [str(p) for p in report.problems])


@SLOW_DATA
@given(traces(mode="stream"), st.data())
def test_a_stream_mutation_is_reported_where_it_happens(
    trace: list[tuple[str, str]], data: st.DataObject
) -> None:
    run_events = [
        i
        for i, (name, _) in enumerate(trace)
        if name.startswith("thread.run.") and not name.startswith("thread.run.step.")
    ]
    kind = data.draw(st.sampled_from(["rename", "after-done", "foreign-step", "skip"]))
    mutated = list(trace)
    if kind == "rename":
        i = data.draw(st.sampled_from(run_events), label="position")
        status = json.loads(trace[i][1])["status"]
        other = data.draw(st.sampled_from([s for s in RunStatus if s.value != status]))
        mutated[i] = (other.event, trace[i][1])
        expected, at = "event-status-mismatch", i
    elif kind == "after-done":
        mutated.append(trace[run_events[-1]])
        expected, at = "after-done", len(trace)
    elif kind == "foreign-step":
        step = {"id": "step_x", "object": "thread.run.step", "run_id": "run_someone_else"}
        at = data.draw(st.integers(run_events[0] + 1, len(trace) - 1), label="position")
        mutated.insert(at, ("thread.run.step.created", json.dumps(step)))
        expected = "foreign-step"
    else:
        statuses = [json.loads(trace[i][1])["status"] for i in run_events]
        # Drop one status event whose neighbours are not themselves one edge apart.
        candidates = [
            k
            for k in range(1, len(run_events) - 1)
            if statuses[k - 1] != statuses[k]
            and not rs.can_transition(RunStatus(statuses[k - 1]), RunStatus(statuses[k + 1]))
            and statuses[k + 1] != statuses[k - 1]
        ]
        if not candidates:
            return
        k = data.draw(st.sampled_from(candidates), label="dropped")
        del mutated[run_events[k]]
        # The next run event, one place earlier now, is where the skip shows.
        expected, at = "status-skipped", run_events[k + 1] - 1
    report = rs.check_trace(mutated, mode="stream")
    assert not report.ok
    assert expected in _errors_at(report).get(at, set()), (kind, [str(p) for p in report.problems])


def test_traces_validates_its_arguments() -> None:
    with pytest.raises(InvalidArgument):
        traces(mode="both")
    with pytest.raises(InvalidArgument):
        traces(max_steps=0)
