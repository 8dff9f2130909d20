"""Every operation, every argument, a wrong value: the documented error, nothing else.

Each operation's docstring names what it raises; this table gives each argument values
of the wrong type or shape and expects exactly that error (a ``runstate.Error`` always).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from lifecycle import CALL, ERROR, USAGE, later, samples

import runstate as rs
from runstate import RunStatus

S = samples()
Q = S[RunStatus.QUEUED][0]
P = S[RunStatus.IN_PROGRESS][0]
RA = S[RunStatus.REQUIRES_ACTION][0]
CG = S[RunStatus.CANCELLING][0]
DONE = S[RunStatus.COMPLETED][0]


class Lying(str):
    def __str__(self) -> str:
        return "completed"


NEW = {"id": "run_1", "thread_id": "t", "assistant_id": "a", "model": "m", "now": 1}

#: (call, argument, bad values, expected error)
CASES: list[tuple[str, Callable[..., Any], str, list[Any], type[Exception]]] = [
    (
        "new_run",
        lambda v: rs.new_run(**{**NEW, "now": v}),
        "now",
        [1.5, "1", None, True],
        rs.InvalidArgument,
    ),
    (
        "new_run",
        lambda v: rs.new_run(**NEW, expires_in=v),
        "expires_in",
        [0, -1, 1.0, None],
        rs.InvalidArgument,
    ),
    ("new_run", lambda v: rs.new_run(**{**NEW, "id": v}), "id", [None, 5, b"x"], rs.InvalidRun),
    (
        "new_run",
        lambda v: rs.new_run(**NEW, tools=v),
        "tools",
        [[None], [{"type": "x"}], [5]],
        rs.InvalidRun,
    ),
    (
        "new_run",
        lambda v: rs.new_run(**NEW, response_format=v),
        "response_format",
        [5, "json", {"type": 1}],
        rs.InvalidRun,
    ),
    (
        "new_run",
        lambda v: rs.new_run(**NEW, tool_choice=v),
        "tool_choice",
        [5, "maybe", [1]],
        rs.InvalidRun,
    ),
    (
        "new_run",
        lambda v: rs.new_run(**NEW, metadata=v),
        "metadata",
        [{"k": 1}, {1: "v"}, ["k"]],
        rs.InvalidRun,
    ),
    (
        "new_run",
        lambda v: rs.new_run(**NEW, temperature=v),
        "temperature",
        ["hot", 3, float("nan")],
        rs.InvalidRun,
    ),
    (
        "new_run",
        lambda v: rs.new_run(**NEW, max_prompt_tokens=v),
        "max_prompt_tokens",
        [0, -1, 2.5, True],
        rs.InvalidRun,
    ),
    (
        "new_run",
        lambda v: rs.new_run(**NEW, max_completion_tokens=v),
        "max_completion_tokens",
        [0, "256"],
        rs.InvalidRun,
    ),
    (
        "new_run",
        lambda v: rs.new_run(**NEW, extra=v),
        "extra",
        [{"status": "completed"}, {"x": object()}],
        rs.InvalidRun,
    ),
    (
        "start",
        lambda v: rs.start(v, now=later(Q)),
        "run",
        [None, {}, rs.dump_run(Q)],
        rs.InvalidArgument,
    ),
    ("start", lambda v: rs.start(Q, now=v), "now", [1.5, None, "x", True], rs.InvalidArgument),
    (
        "require_action",
        lambda v: rs.require_action(P, v, now=later(P)),
        "tool_calls",
        [[None], [5], [{}], None, 5],
        rs.InvalidRun,
    ),
    (
        "require_action",
        lambda v: rs.require_action(P, [CALL], now=v),
        "now",
        [None, 1.0],
        rs.InvalidArgument,
    ),
    (
        "submit_tool_outputs",
        lambda v: rs.submit_tool_outputs(RA, v, now=later(RA)),
        "tool_outputs",
        [None, 5, "x", [None], [{"tool_call_id": 1, "output": "x"}]],
        rs.InvalidRequest,
    ),
    (
        "submit_tool_outputs",
        lambda v: rs.submit_tool_outputs(v, [], now=1),
        "run",
        [None, "run"],
        rs.InvalidArgument,
    ),
    ("cancel", lambda v: rs.cancel(P, now=v), "now", [None, 2.5, "now"], rs.InvalidArgument),
    ("cancel", lambda v: rs.cancel(v, now=1), "run", [None, 5, {}], rs.InvalidArgument),
    (
        "cancel",
        lambda v: rs.cancel(P, now=later(P), documented_only=v),
        "documented_only",
        [None, 1, "yes"],
        rs.InvalidArgument,
    ),
    (
        "check_cancel",
        lambda v: rs.check_cancel(P, documented_only=v),
        "documented_only",
        [None, 0, "no"],
        rs.InvalidArgument,
    ),
    ("check_cancel", rs.check_cancel, "run", [None, "run"], rs.InvalidArgument),
    (
        "finish_cancel",
        lambda v: rs.finish_cancel(CG, now=later(CG), usage=v),
        "usage",
        [5, {"prompt_tokens": "a"}, {}],
        rs.InvalidRun,
    ),
    (
        "complete",
        lambda v: rs.complete(P, now=later(P), usage=v),
        "usage",
        ["x", {"total_tokens": None}],
        rs.InvalidRun,
    ),
    ("complete", lambda v: rs.complete(P, now=v), "now", [None, 1e12], rs.InvalidArgument),
    (
        "fail",
        lambda v: rs.fail(P, now=later(P), error=v),
        "error",
        [None, {"code": "nonsense", "message": "x"}, {"code": "server_error", "message": 5}],
        rs.InvalidRun,
    ),
    (
        "mark_incomplete",
        lambda v: rs.mark_incomplete(P, now=later(P), reason=v),
        "reason",
        [None, "max_tokens", 5],
        rs.InvalidRun,
    ),
    ("expire", lambda v: rs.expire(v, now=10**10), "run", [None], rs.InvalidArgument),
    (
        "update_metadata",
        lambda v: rs.update_metadata(DONE, metadata=v),
        "metadata",
        [{"k": 1}, ["k"], "k", {"k": "v" * 513}],
        rs.InvalidRequest,
    ),
    (
        "update_metadata",
        lambda v: rs.update_metadata(DONE, metadata=v),
        "metadata keys",
        [{1: "v"}, {("a",): "v"}],
        rs.InvalidArgument,
    ),
    (
        "update_metadata",
        lambda v: rs.update_metadata(v, metadata={}),
        "run",
        [None, "run"],
        rs.InvalidArgument,
    ),
    ("validate", rs.validate, "run", [None, {}], rs.InvalidArgument),
    ("violations", rs.violations, "run", [None, {}], rs.InvalidArgument),
    ("not_found", lambda v: rs.not_found(v, "x"), "kind", ["comment", None], rs.InvalidArgument),
]

PARAMS = [
    pytest.param(call, value, error, id=f"{name}-{arg}-{i}")
    for name, call, arg, values, error in CASES
    for i, value in enumerate(values)
]


@pytest.mark.parametrize(("call", "value", "error"), PARAMS)
def test_a_wrong_argument_gets_the_documented_error(
    call: Callable[..., Any], value: Any, error: type[Exception]
) -> None:
    with pytest.raises(rs.Error) as info:
        call(value)
    assert isinstance(info.value, error), repr(info.value)
    assert len(str(info.value)) < 1000


def test_every_operation_is_in_the_table() -> None:
    ops = {
        "new_run",
        "start",
        "require_action",
        "submit_tool_outputs",
        "cancel",
        "check_cancel",
        "finish_cancel",
        "complete",
        "fail",
        "mark_incomplete",
        "expire",
        "update_metadata",
    }
    assert ops <= {name for name, *_ in CASES}


def test_the_now_rule_is_one_message_everywhere() -> None:
    messages = set()
    for call in (
        lambda: rs.new_run(**{**NEW, "now": 1.5}),
        lambda: rs.start(Q, now=1.5),  # type: ignore[arg-type]
        lambda: rs.cancel(P, now=1.5),  # type: ignore[arg-type]
        lambda: rs.complete(P, now=1.5, usage=USAGE),  # type: ignore[arg-type]
        lambda: rs.fail(P, now=1.5, error=ERROR),  # type: ignore[arg-type]
        lambda: rs.expire(Q, now=1.5),  # type: ignore[arg-type]
    ):
        with pytest.raises(rs.InvalidArgument) as info:
            call()
        messages.add(str(info.value))
    assert messages == {"now: expected an integer Unix timestamp, got 1.5 (a float)"}


def test_str_subclasses_count_as_their_value() -> None:
    run = rs.parse_run({**rs.dump_run(Q), "status": Lying("queued")})
    assert run.status is RunStatus.QUEUED
    out = rs.submit_tool_outputs(
        RA,
        [
            {"tool_call_id": Lying(c.id), "output": Lying("x")}
            for c in RA.required_action.submit_tool_outputs.tool_calls
        ],  # type: ignore[union-attr]
        now=later(RA),
    )
    assert out.status is RunStatus.QUEUED


def test_every_error_is_a_runstate_error() -> None:
    for cls in (
        rs.InvalidRun,
        rs.InvalidArgument,
        rs.InvalidTable,
        rs.ClockWentBackwards,
        rs.TransitionError,
        rs.APIError,
        rs.CancelNotAllowed,
        rs.ToolOutputsRejected,
        rs.RunNotModifiable,
        rs.ThreadBusy,
        rs.InvalidRequest,
        rs.NotFound,
    ):
        assert issubclass(cls, rs.Error)
    for cls in (rs.InvalidRun, rs.InvalidArgument, rs.InvalidTable, rs.ClockWentBackwards):
        assert issubclass(cls, ValueError)
    assert not hasattr(rs.TransitionError, "to_api_error")
