"""The operations table is what advance, the machine, the run operations and the streams do."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import runstate as rs
from runstate import _ops, _steps
from runstate._machine import machine_transitions
from runstate._operations import OPERATION_FOR_TARGET, RUN_END_EFFECTS, _row, _validate
from runstate._table import TRANSITIONS


def _keywords(function: Any) -> tuple[set[str], set[str]]:
    """The keyword-only arguments ``function`` requires, and those it may take (``now``
    aside): what the table must say ``advance`` takes for the operation."""
    params = [
        p for p in inspect.signature(function).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "now"
    ]  # fmt: skip
    required = {p.name for p in params if p.default is inspect.Parameter.empty}
    return required, {p.name for p in params} - required


@pytest.mark.parametrize("op", list(rs.Op))
def test_the_table_states_the_arguments_of_what_advance_calls(op: rs.Op) -> None:
    row = rs.OPERATIONS[op]
    # advance's own function for the operation, or else the run operation of that name
    function = _steps._OWN.get(op) or getattr(_ops, op)
    assert (set(row.required), set(row.optional)) == _keywords(function)


def test_advance_takes_exactly_the_table_s_operations_and_arguments() -> None:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
    for op, row in rs.OPERATIONS.items():
        with pytest.raises(rs.InvalidArgument) as info:
            rs.advance(run, (), op, now=2, not_an_argument=1)
        takes = ", ".join(sorted(row.required + row.optional)) or "no arguments"
        assert f"{op} takes {takes} (besides now)" in str(info.value)
    with pytest.raises(rs.InvalidArgument, match="one of start, require_action"):
        rs.advance(run, (), "not_an_operation", now=2)
    # a member and its name are the same operation
    assert rs.advance(run, (), rs.Op.START, now=2) == rs.advance(run, (), "start", now=2)


def test_the_machine_s_triggers_are_the_table_s_run_moves() -> None:
    moves = {
        (row.name, src.value, row.target.value)
        for row in rs.OPERATIONS.values()
        if row.target is not None
        for src in rs.RunStatus
        if row.target in TRANSITIONS[src]
    }
    triggers = {(t["trigger"], t["source"], t["dest"]) for t in machine_transitions()}
    assert triggers == moves
    assert all(type(t["trigger"]) is str for t in machine_transitions())
    # every run operation with a target is a trigger; step operations and the metadata
    # edit are not
    assert {t[0] for t in triggers} == {
        op for op, row in rs.OPERATIONS.items() if row.acts_on == "run" and row.target
    }


def test_each_row_s_target_is_where_its_operation_moves_the_run() -> None:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    arguments: dict[str, dict[str, Any]] = {
        "require_action": {"tool_calls": [call], "step_id": "s"},
        "submit_tool_outputs": {"tool_outputs": [{"tool_call_id": "c", "output": "x"}]},
        "fail": {"error": {"code": "server_error", "message": "x"}},
        "mark_incomplete": {"reason": "max_prompt_tokens"},
    }
    started = rs.start(run, now=2)
    lives = {
        rs.RunStatus.QUEUED: rs.steps.RunLife(run=run),
        rs.RunStatus.IN_PROGRESS: rs.steps.RunLife(run=started),
        rs.RunStatus.REQUIRES_ACTION: rs.advance(
            started, (), "require_action", now=3, **arguments["require_action"]
        ),
        rs.RunStatus.CANCELLING: rs.steps.RunLife(run=rs.cancel(started, now=3)),
    }
    seen = set()
    for op, row in rs.OPERATIONS.items():
        if row.target is None:
            continue
        for status, life in lives.items():
            if row.target in TRANSITIONS[status]:
                after = rs.advance(
                    life.run, life.steps, op, now=700, messages=life.messages,
                    **arguments.get(op, {}),
                )  # fmt: skip
                assert after.run.status is row.target, (op, status)
                events = rs.stream_events(life, after)
                assert (events[-1] == ("done", "[DONE]")) is row.ends_stream, (op, status)
                seen.add(op)
    assert seen == {op for op, row in rs.OPERATIONS.items() if row.target is not None}
    assert frozenset(
        {rs.RunStatus.REQUIRES_ACTION, *rs.TERMINAL_STATUSES}
    ) == rs.STREAM_END_STATUSES


def test_needs_started_is_what_the_operations_refuse() -> None:
    cancelling = rs.cancel(
        rs.new_run(id="r", thread_id="t", assistant_id="a", model="m", now=1), now=2
    )
    for op, row in rs.OPERATIONS.items():
        if row.target is None or row.target not in TRANSITIONS[rs.RunStatus.CANCELLING]:
            continue
        extra: dict[str, Any] = {
            "fail": {"error": {"code": "server_error", "message": "x"}},
            "mark_incomplete": {"reason": "max_prompt_tokens"},
        }.get(op, {})
        try:
            getattr(rs, op)(cancelling, now=700, **extra)
        except rs.TransitionError as exc:
            assert row.needs_started and exc.reason == "never-started", op
            assert exc.operation == op
        else:
            assert not row.needs_started, op


def test_op_members_are_their_names() -> None:
    assert [str(op) for op in rs.Op] == [op.value for op in rs.Op]
    assert {f"{op}" for op in rs.Op} == set(rs.OPERATIONS)
    assert rs.OPERATIONS["cancel"] is rs.OPERATIONS[rs.Op.CANCEL]
    assert OPERATION_FOR_TARGET[rs.RunStatus.CANCELLED] == "finish_cancel"
    assert set(RUN_END_EFFECTS) == {
        op for op, row in rs.OPERATIONS.items() if row.target and row.target.is_terminal
    }


def test_a_malformed_table_fails_at_import() -> None:
    rows = tuple(rs.OPERATIONS.values())
    S = rs.StepStatus
    cases = [
        (rows[1:], "are not one per operation"),
        ((*rows, rows[0]), "2 operations move into 'in_progress'"),
        (
            (_row(rs.Op.START, "step", rs.RunStatus.IN_PROGRESS, "service"), *rows[1:]),
            "step operation 'start' moves the run",
        ),
        (
            (
                _row(
                    rs.Op.START,
                    "run",
                    rs.RunStatus.IN_PROGRESS,
                    "service",
                    ends=(S.COMPLETED, "completed", None, "H", "x"),
                ),
                *rows[1:],
            ),
            "'start': run_end must be given exactly if it ends the run",
        ),
        (
            (
                _row(
                    rs.Op.START,
                    "run",
                    rs.RunStatus.IN_PROGRESS,
                    "service",
                    takes=("a",),
                    may_take=("a",),
                ),
                *rows[1:],
            ),
            "an argument is both required and optional",
        ),
    ]
    _validate(rows)
    for bad, message in cases:
        with pytest.raises(rs.InvalidTable, match=message):
            _validate(bad)
