"""The example server's step helpers, in process (no server): its pages follow
``runstate.list_page``'s rules, its stream events are ``runstate.stream_events``'s
(deltas included), and the race tests' step check catches what it must."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from server_helpers import Snapshot, check_database, require_server_deps

import runstate as rs

SERVER = Path(__file__).resolve().parent.parent / "examples" / "server"


@pytest.fixture(scope="module")
def app() -> Any:
    require_server_deps()
    sys.path.insert(0, str(SERVER))
    try:
        import app as module  # noqa: PLC0415

        yield module
    finally:
        sys.path.remove(str(SERVER))


def runs(count: int) -> list[rs.Run]:
    return [
        rs.new_run(id=f"run_{i}", thread_id="t", assistant_id="a", model="m", now=100 + i)
        for i in range(count)
    ]


def _life() -> rs.steps.RunLife:
    run = rs.start(runs(1)[0], now=101)
    return rs.advance(run, (), "open_message_step", now=102, step_id="step_1", message_id="msg_1")


def test_life_events_are_the_librarys_with_steps_messages_and_deltas(app: Any) -> None:
    life = _life()
    done = rs.advance(life.run, life.steps, "finish_message_step", now=103,
                      messages=life.messages, step_id="step_1", text="Hi")  # fmt: skip
    events = app.life_events(life, done)
    assert events == rs.stream_events(life, done)
    assert [name for name, _ in events] == [
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
    ]
    delta = json.loads(events[0][1])
    assert delta["delta"]["content"] == [
        {"index": 0, "type": "text", "text": {"value": "Hi", "annotations": []}}
    ]
    new = rs.steps.RunLife(run=runs(1)[0])
    assert [name for name, _ in app.life_events(None, new)] == [
        "thread.run.created",
        "thread.run.queued",
    ]


def test_the_step_check_catches_an_open_step_on_a_terminal_run() -> None:
    life = _life()
    ended = rs.complete(life.run, now=103)  # the run alone: its step is left open
    bodies = [rs.toolkit.run_json(r) for r in (runs(1)[0], life.run, ended)]
    history = [(i + 1, i + 1, b) for i, b in enumerate(bodies)]
    open_life = {
        "steps": [rs.steps.dump_step(s) for s in life.steps],
        "messages": [rs.steps.dump_message(m) for m in life.messages],
    }
    empty = {"steps": [], "messages": []}
    snapshot = Snapshot(
        runs={"run_0": ("t", 3, bodies[-1])},
        history={"run_0": history},
        lives={"run_0": [json.dumps(empty), json.dumps(open_life), json.dumps(open_life)]},
        steps={"run_0": [json.dumps(s) for s in open_life["steps"]]},
        messages={"run_0": [json.dumps(m) for m in open_life["messages"]]},
    )
    problems = check_database(snapshot)
    assert any("step step_1 in_progress on a completed run" in p for p in problems), problems
    assert any("message msg_1 open on a completed run" in p for p in problems), problems
    assert any("replayed stream" in p for p in problems), problems
