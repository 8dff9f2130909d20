"""Shared helpers for lifecycle tests: one clean run per status, and every operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import runstate as rs
from runstate import RunStatus

T0 = 1_700_000_000
CALL = {"id": "call_A", "type": "function", "function": {"name": "get_x", "arguments": "{}"}}
CALL_B = {"id": "call_B", "type": "function", "function": {"name": "get_y", "arguments": "{}"}}
USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
ERROR = {"code": "server_error", "message": "Sorry, something went wrong."}


def fresh(run_id: str = "run_1", thread_id: str = "thread_1", now: int = T0) -> rs.Run:
    return rs.new_run(
        id=run_id, thread_id=thread_id, assistant_id="asst_1", model="gpt-4o", now=now
    )


def samples() -> dict[RunStatus, list[rs.Run]]:
    """Clean runs in every status, reached through the operations, with variants."""
    q = fresh()
    p = rs.start(q, now=T0 + 1)
    ra = rs.require_action(p, [CALL, CALL_B], now=T0 + 2)
    q2 = rs.submit_tool_outputs(
        ra,
        [{"tool_call_id": "call_A", "output": "1"}, {"tool_call_id": "call_B", "output": "2"}],
        now=T0 + 3,
    )
    p2 = rs.start(q2, now=T0 + 4)
    cg = rs.cancel(p, now=T0 + 2)
    cg_ra = rs.cancel(ra, now=T0 + 3)
    cg_q = rs.cancel(q, now=T0 + 1)
    return {
        RunStatus.QUEUED: [q, q2],
        RunStatus.IN_PROGRESS: [p, p2],
        RunStatus.REQUIRES_ACTION: [ra],
        RunStatus.CANCELLING: [cg, cg_ra],
        RunStatus.CANCELLED: [rs.finish_cancel(cg, now=T0 + 5), rs.finish_cancel(cg_q, now=T0 + 2)],
        RunStatus.FAILED: [
            rs.fail(p, now=T0 + 5, error=ERROR),
            rs.fail(q, now=T0 + 1, error=ERROR),
        ],
        RunStatus.COMPLETED: [rs.complete(p2, now=T0 + 9, usage=USAGE)],
        RunStatus.INCOMPLETE: [
            rs.mark_incomplete(p, now=T0 + 9, reason="max_completion_tokens", usage=USAGE)
        ],
        RunStatus.EXPIRED: [rs.expire(ra, now=T0 + 600), rs.expire(q, now=T0 + 700)],
    }


def outputs_for(run: rs.Run) -> list[dict[str, str]]:
    if run.required_action is None:
        return [{"tool_call_id": "call_A", "output": "x"}]
    return [
        {"tool_call_id": c.id, "output": "x"}
        for c in run.required_action.submit_tool_outputs.tool_calls
    ]


def later(run: rs.Run, step: int = 1) -> int:
    """A ``now`` after every timestamp on ``run`` (and at or after expires_at for expire)."""
    stamps = [run.created_at, run.started_at, run.cancelled_at, run.failed_at, run.completed_at]
    return max(s for s in stamps if s is not None) + step


Op = Callable[[rs.Run, int], rs.Run]

#: operation name -> (target status, how to call it, the fields it may change)
OPERATIONS: dict[str, tuple[RunStatus, Op, frozenset[str]]] = {
    "start": (
        RunStatus.IN_PROGRESS,
        lambda r, now: rs.start(r, now=now),
        frozenset({"status", "started_at"}),
    ),
    "require_action": (
        RunStatus.REQUIRES_ACTION,
        lambda r, now: rs.require_action(r, [CALL], now=now),
        frozenset({"status", "required_action"}),
    ),
    "submit_tool_outputs": (
        RunStatus.QUEUED,
        lambda r, now: rs.submit_tool_outputs(r, outputs_for(r), now=now),
        frozenset({"status", "required_action"}),
    ),
    "cancel": (
        RunStatus.CANCELLING,
        lambda r, now: rs.cancel(r, now=now),
        frozenset({"status", "required_action", "usage"}),
    ),
    "finish_cancel": (
        RunStatus.CANCELLED,
        lambda r, now: rs.finish_cancel(r, now=now),
        frozenset({"status", "cancelled_at", "expires_at", "usage", "required_action"}),
    ),
    "complete": (
        RunStatus.COMPLETED,
        lambda r, now: rs.complete(r, now=now, usage=USAGE),
        frozenset({"status", "completed_at", "expires_at", "usage", "required_action"}),
    ),
    "fail": (
        RunStatus.FAILED,
        lambda r, now: rs.fail(r, now=now, error=ERROR),
        frozenset({"status", "failed_at", "last_error", "expires_at", "usage", "required_action"}),
    ),
    "mark_incomplete": (
        RunStatus.INCOMPLETE,
        lambda r, now: rs.mark_incomplete(r, now=now, reason="max_prompt_tokens", usage=USAGE),
        frozenset(
            {
                "status",
                "completed_at",
                "incomplete_details",
                "expires_at",
                "usage",
                "required_action",
            }
        ),
    ),
    "expire": (
        RunStatus.EXPIRED,
        lambda r, now: rs.expire(r, now=max(now, r.expires_at or now)),
        frozenset({"status", "expires_at", "usage", "required_action"}),
    ),
}


def expected_refusal(op: str, status: RunStatus) -> tuple[type[rs.Error], str]:
    """The error class and exact message for ``op`` on ``status``: the real API's for the
    endpoints (cancel, submit), runstate's own TransitionError for worker moves."""
    if op == "cancel":
        return rs.CancelNotAllowed, f"Cannot cancel run with status '{status.value}'."
    if op == "submit_tool_outputs":
        return (
            rs.ToolOutputsRejected,
            f'Runs in status "{status.value}" do not accept tool outputs.',
        )
    target = OPERATIONS[op][0]
    return rs.TransitionError, f"{op}: no move from '{status.value}' to '{target.value}'"


def changed_fields(before: rs.Run, after: rs.Run) -> set[str]:
    a, b = rs.dump_run(before), rs.dump_run(after)
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


def wire(err: rs.APIError) -> dict[str, Any]:
    return err.to_api_error()


def life_changes(life: list[rs.steps.RunLife]) -> list[list[tuple[str, str]]]:
    """The ``stream_events`` of each change of a life (its first entry announced as new)."""
    out = []
    before: rs.steps.RunLife | None = None
    for now in life:
        out.append(rs.stream_events(before, now))
        before = now
    return out
