"""Any sequence of ``advance`` operations, each accepted or refused, keeps a life that
the stream checker accepts: what a server that lets clients and a worker race through
``advance`` stores (tests/test_server_races.py replays its database the same way)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from lifecycle import life_changes

import runstate as rs

CALLS = [{"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
USAGE = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}

#: (operation, arguments): every operation of advance, with arguments a server would give
#: (ids are made fresh for each use).
MOVES: list[tuple[str, dict[str, Any]]] = [
    ("start", {}),
    ("require_action", {"tool_calls": CALLS, "step_id": "*"}),
    ("submit_tool_outputs", {"tool_outputs": [{"tool_call_id": "call_a", "output": "ok"}]}),
    ("cancel", {}),
    ("finish_cancel", {}),
    ("complete", {"usage": USAGE}),
    ("fail", {"error": {"code": "server_error", "message": "boom"}}),
    ("mark_incomplete", {"reason": "max_prompt_tokens"}),
    ("expire", {}),
    ("update_metadata", {"metadata": {"k": "v"}}),
    ("open_message_step", {"step_id": "*", "message_id": "*"}),
    ("finish_message_step", {"step_id": "open message_creation"}),
    ("open_tool_calls_step", {"step_id": "*"}),
    ("complete_tool_calls_step", {"step_id": "open tool_calls"}),
]


def arguments(life: rs.steps.RunLife, given: dict[str, Any], n: int) -> dict[str, Any]:
    out = dict(given)
    for key, value in given.items():
        if value == "*":
            out[key] = f"{key.split('_')[0]}_{n}"
        elif isinstance(value, str) and value.startswith("open "):
            kind = value.split()[1]
            found = [s.id for s in life.steps if s.type == kind and s.status.value == "in_progress"]
            out[key] = found[-1] if found else "none"
    return out


def replay(lives: list[rs.steps.RunLife]) -> list[tuple[str, str]]:
    """One stream over the whole life: each pause's ``done`` left out but the last."""
    events = [e for change in life_changes(lives) for e in change]
    return [e for i, e in enumerate(events) if e[0] != "done" or i == len(events) - 1]


#: The moves that end the run are rarer, so that lives go on through several rounds.
ENDS = {"finish_cancel", "complete", "fail", "mark_incomplete", "expire"}
WEIGHTED = [m for m in MOVES for _ in range(1 if m[0] in ENDS else 5)]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(WEIGHTED), max_size=40))
def test_any_sequence_of_advances_replays_as_a_legal_stream(
    moves: list[tuple[str, dict[str, Any]]],
) -> None:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)
    life = rs.steps.RunLife(run=run, steps=(), messages=())
    lives = [life]
    now = 10
    for n, (operation, given_args) in enumerate(moves):
        now += 1
        try:
            life = rs.advance(
                life.run,
                life.steps,
                operation,
                now=now,
                messages=life.messages,
                **arguments(life, given_args, n),
            )
        except rs.Error:
            continue
        lives.append(life)
    report = rs.check_trace(replay(lives), mode="stream")
    assert report.ok, [str(p) for p in report.errors]
