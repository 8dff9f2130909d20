"""Peak memory and time of ``runstate check`` on a long generated poll trace.

Writes a JSON-lines poll trace of one run doing tool-call round after tool-call round
(in_progress polls, requires_action polls, the queued answer to submit_tool_outputs,
``started_at`` reset on each re-entry) and then completing, built with runstate's own
operations; then checks it with ``python -m runstate check`` in a child process and
reports the child's peak resident memory.

    python benchmarks/trace_memory.py                   # 1,000,000 lines, limit 100 MB
    python benchmarks/trace_memory.py --lines 20000 --limit-mb 100

Exits 1 when the check does not exit 0 or the peak exceeds the limit.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from runstate import (
    Run,
    complete,
    dump_run,
    new_run,
    require_action,
    start,
    submit_tool_outputs,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

POLLS = 10  # polls per status, as a client polling once a second would see
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        "strict": False,
    },
}


def _line(run: Run) -> str:
    return json.dumps(dump_run(run), separators=(",", ":"))


def trace_lines(lines: int) -> Iterator[str]:
    """Yield exactly ``lines`` JSON lines: a legal poll trace of one run."""
    now = 1_761_861_679
    run = new_run(
        id="run_bench",
        thread_id="thread_bench",
        assistant_id="asst_bench",
        model="gpt-4o",
        now=now,
        tools=[TOOL],
        extra={"tool_resources": {}, "reasoning_effort": None},
        # A stress test, not a realistic run: rounds go on far past ten minutes.
        expires_in=10**9,
    )
    written = 0

    def emit(text: str, times: int) -> Iterator[str]:
        nonlocal written
        for _ in range(min(times, lines - 1 - written)):
            written += 1
            yield text

    yield from emit(_line(run), 2)
    round_no = 0
    while written < lines - 1:
        now += 1
        run = start(run, now=now)
        yield from emit(_line(run), POLLS)
        now += 1
        call = {
            "id": f"call_{round_no}",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
        }
        run = require_action(run, [call], now=now)
        yield from emit(_line(run), POLLS)
        now += 1
        if written >= lines - 1:
            break
        run = submit_tool_outputs(run, [{"tool_call_id": call["id"], "output": "sunny"}], now=now)
        yield from emit(_line(run), 1)
        round_no += 1
    # The last line: the run completes (through the rest of its tool round, if need be).
    if run.required_action is not None:
        pending = run.required_action.submit_tool_outputs.tool_calls
        outputs = [{"tool_call_id": c.id, "output": "sunny"} for c in pending]
        run = submit_tool_outputs(run, outputs, now=now)
    if run.status.value == "queued":
        run = start(run, now=now + 1)
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    yield _line(complete(run, now=now + 2, usage=usage))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--limit-mb", type=float, default=100.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "long.jsonl")
        started = time.perf_counter()
        with path.open("w", encoding="utf-8") as f:
            for text in trace_lines(args.lines):
                f.write(text)
                f.write("\n")
        generated = time.perf_counter() - started
        size_mb = path.stat().st_size / 1e6
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "runstate", "check", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    print(f"lines:      {args.lines:,} ({size_mb:.0f} MB, generated in {generated:.1f} s)")
    print(
        f"check:      exit {done.returncode} in {elapsed:.1f} s "
        f"({elapsed / args.lines * 1e6:.1f} us per line)"
    )
    print(f"peak RSS:   {peak_mb:.1f} MB (limit {args.limit_mb:g} MB)")
    print(f"last line:  {done.stdout.strip().splitlines()[-1] if done.stdout else done.stderr}")
    return 0 if done.returncode == 0 and peak_mb < args.limit_mb else 1


if __name__ == "__main__":
    sys.exit(main())
