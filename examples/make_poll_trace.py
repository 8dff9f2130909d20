"""Write ``poll-tool-call-round.jsonl``: a generated poll trace of one tool-call round.

The trace is what a client polling ``GET /threads/{thread_id}/runs/{run_id}`` about once
a second sees of a run that calls one function: created (queued), picked up
(in_progress), waiting for tool outputs (requires_action, polled a few times), the
``queued`` answer to ``submit_tool_outputs`` (``started_at`` kept), back in progress
(``started_at`` reset) and completed (``expires_at`` cleared, usage set). Every snapshot
is made by runstate's own operations, not copied from a recording; the shape (29 keys,
``tool_resources`` and ``reasoning_effort`` included) is the real API's of late 2025.

    python examples/make_poll_trace.py > examples/poll-tool-call-round.jsonl
"""

from __future__ import annotations

import json
import sys

from runstate import (
    Run,
    complete,
    dump_run,
    new_run,
    require_action,
    start,
    submit_tool_outputs,
)

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city, like Paris"}},
            "required": ["city"],
        },
        "strict": False,
    },
}
CALL = {
    "id": "call_5Gq1cXyT0eW9sL2aBd8mRk3P",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
}


def snapshots() -> list[tuple[Run, int]]:
    """Each distinct snapshot and how many polls saw it."""
    now = 1_764_072_000
    run = new_run(
        id="run_Ex4mpleT00lR0undPoll0001",
        thread_id="thread_Ex4mpleThr34d00000001",
        assistant_id="asst_Ex4mpleAss1stant000001",
        model="gpt-4o",
        now=now,
        tools=[TOOL],
        extra={"tool_resources": {}, "reasoning_effort": None},
    )
    out = [(run, 1)]
    run = start(run, now=now + 1)
    out.append((run, 2))
    run = require_action(run, [CALL], now=now + 3)
    out.append((run, 3))
    run = submit_tool_outputs(
        run, [{"tool_call_id": CALL["id"], "output": "18 C, sunny"}], now=now + 6
    )
    out.append((run, 1))
    run = start(run, now=now + 7)
    out.append((run, 2))
    usage = {"prompt_tokens": 412, "completion_tokens": 38, "total_tokens": 450}
    out.append((complete(run, now=now + 9, usage=usage), 1))
    return out


def main() -> int:
    for run, polls in snapshots():
        line = json.dumps(dump_run(run), separators=(",", ":"))
        for _ in range(polls):
            sys.stdout.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
