"""Checking a stream with steps and messages against the same run's run-only stream.

Not a test: ``python benchmarks/steps.py``. One life (three tool-output rounds, a message
step in each phase, then completion) is announced twice through ``stream_events``: with
its steps and messages, and with the run alone. Both are checked with
``check_trace(mode="stream")`` from their SSE text pairs (no deltas: the worst case for
the ratio, since deltas cost the checker almost nothing). The budget: at most 1.5 times.
"""

from __future__ import annotations

import timeit
from pathlib import Path

import runstate as rs

CALL = {"id": "call_{}", "type": "function", "function": {"name": "f", "arguments": "{}"}}


def life() -> list[rs.steps.RunLife]:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=100)
    path = [rs.steps.RunLife(run=run)]
    now = 100

    def do(operation: str, **arguments: object) -> None:
        nonlocal now
        now += 1
        last = path[-1]
        path.append(
            rs.advance(
                last.run, last.steps, operation, now=now, messages=last.messages, **arguments
            )
        )

    for i in range(3):
        do("start")
        do("open_message_step", step_id=f"step_m{i}", message_id=f"msg_{i}")
        do("finish_message_step", step_id=f"step_m{i}")
        do("open_tool_calls_step", step_id=f"step_t{i}")
        call = {**CALL, "id": f"call_{i}"}
        do("require_action", tool_calls=[call])
        do("submit_tool_outputs", tool_outputs=[{"tool_call_id": f"call_{i}", "output": "ok"}])
    do("start")
    do("open_message_step", step_id="step_last", message_id="msg_last")
    do("finish_message_step", step_id="step_last")
    do("complete")
    return path


def streams(path: list[rs.steps.RunLife]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    with_steps: list[tuple[str, str]] = []
    run_only: list[tuple[str, str]] = []
    before: rs.steps.RunLife | None = None
    for now in path:
        b = None if before is None else before.run
        with_steps += rs.stream_events(before, now)
        run_only += rs.stream_events(b, now.run)
        before = now
    keep = [p for p in with_steps if p[0] != "done"] + [("done", "[DONE]")]
    return keep, [p for p in run_only if p[0] != "done"] + [("done", "[DONE]")]


def ratio(
    with_steps: list[tuple[str, str]], run_only: list[tuple[str, str]]
) -> tuple[float, float]:
    """The best time of each, over many short samples.

    101 samples a side of 20 checks each, taken in adjacent pairs whose order alternates
    (A B, B A, ...), so that load from elsewhere hits both sides alike; on a shared,
    busy machine the best of many short samples is the steadiest measure.
    """
    number = 20

    def a() -> float:
        return timeit.timeit(lambda: rs.check_trace(with_steps, mode="stream"), number=number)

    def b() -> float:
        return timeit.timeit(lambda: rs.check_trace(run_only, mode="stream"), number=number)

    ta: list[float] = []
    tb: list[float] = []
    for i in range(101):
        if i % 2:
            tb.append(b())
            ta.append(a())
        else:
            ta.append(a())
            tb.append(b())
    return min(ta) / number, min(tb) / number


def real_streams() -> list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]]:
    """The six recordings (when ../shared/real-world is there), whole and run-only."""
    folder = Path(__file__).resolve().parent.parent.parent / "shared" / "real-world" / "streamed"
    out = []
    for path in sorted(folder.glob("*.sse")):
        pairs = list(rs.parse_sse(path.read_bytes()))
        runs = [p for p in pairs if not p[0].startswith(("thread.run.step.", "thread.message."))]
        out.append((path.name, pairs, runs))
    return out


def main() -> None:
    with_steps, run_only = streams(life())
    assert rs.check_trace(with_steps, mode="stream").ok
    assert rs.check_trace(run_only, mode="stream").ok
    a, b = ratio(with_steps, run_only)
    print(f"generated life: {len(with_steps)} events with steps, {len(run_only)} run only")
    print(f"  check_trace {a * 1e6:.0f} us vs {b * 1e6:.0f} us: ratio {a / b:.2f} (budget 1.5)")
    for name, whole, runs in real_streams():
        a, b = ratio(whole, runs)
        print(
            f"{name}: {len(whole)} events vs {len(runs)}:"
            f" {a * 1e6:.0f} us vs {b * 1e6:.0f} us, ratio {a / b:.2f}"
        )


if __name__ == "__main__":
    main()
