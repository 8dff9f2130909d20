"""The README's Python examples run as written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import runstate as rs

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_the_readme_has_the_examples() -> None:
    assert len(BLOCKS) >= 2


def test_server_example_runs() -> None:
    namespace: dict[str, object] = {}
    exec(BLOCKS[0], namespace)
    assert namespace["status"] == 400
    body = namespace["body"]
    assert isinstance(body, dict)
    assert body["error"]["message"] == "Cannot cancel run with status 'cancelled'."


def test_client_example_runs_on_a_real_shaped_response() -> None:
    run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1), now=2)
    payload = rs.dump_run(run) | {"tool_resources": {}, "reasoning_effort": None}
    namespace: dict[str, object] = {
        "rs": rs,
        "json": json,
        "response_bytes": json.dumps(payload).encode(),
    }
    exec(BLOCKS[1], namespace)
    assert namespace["problems"] == ()
