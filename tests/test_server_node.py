"""openai-node, the official npm package, as a second real client of the example server.

``tests/node/drive.mjs`` drives two servers with ``openai`` v4 (the last major version
with ``beta.threads``; ``tests/node/package.json`` pins it): one with the scripted
worker (``--auto``) for ``createAndPoll``, a stream and paging, one without for a cancel
finished through the ``/advance`` hook and the refusal of a second cancel. It prints what
it saw; this test checks it.

Needs ``node`` and the package installed (``npm install --no-package-lock`` in
``tests/node``, as ``.ci/run`` does); skipped without them, unless
``RUNSTATE_TEST_REQUIRE_SERVER`` is set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
from server_helpers import Server, database, skip_or_fail

NODE_DIR = Path(__file__).resolve().parent / "node"
#: The API's refusal of a cancel on an ended run (spec-facts §4), exactly.
CANCELLED_AGAIN = "Cannot cancel run with status 'cancelled'."


def node_client() -> str:
    """The ``node`` binary, with openai v4 installed in tests/node; or skip."""
    node = shutil.which("node")
    if node is None:
        skip_or_fail("no node on this machine (openai-node tests)")
    package = NODE_DIR / "node_modules" / "openai" / "package.json"
    if not package.exists():
        skip_or_fail(
            "openai (npm) is not installed: cd tests/node && npm install --no-package-lock"
        )
    version = json.loads(package.read_text())["version"]
    if not version.startswith("4."):
        skip_or_fail(f"tests/node has openai {version}; beta.threads needs 4.x")
    assert node is not None
    return node


def test_openai_node_drives_the_server(tmp_path: Path) -> None:
    node = node_client()
    (tmp_path / "auto").mkdir()
    (tmp_path / "manual").mkdir()
    auto_db = database("sqlite", tmp_path / "auto")
    manual_db = database("sqlite", tmp_path / "manual")
    worker = ("--auto", "--auto-delay", "0.05", "--poll-after-ms", "50")
    with Server(auto_db, *worker) as auto, Server(manual_db) as manual:
        env = {**os.environ, "RUNSTATE_AUTO_BASE": auto.base, "RUNSTATE_MANUAL_BASE": manual.base}
        done = subprocess.run(
            [node, str(NODE_DIR / "drive.mjs")],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=NODE_DIR,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        seen = json.loads(done.stdout)
        with httpx.Client(base_url=auto.base, headers={"OpenAI-Beta": "assistants=v2"}) as http:
            runs = http.get(f"/threads/{seen['thread']['id']}/runs", params={"limit": 100})
            stored = [r["id"] for r in runs.json()["data"]]

    assert seen["assistant"]["object"] == "assistant"
    assert seen["assistant"]["id"].startswith("asst_")
    assert seen["thread"]["object"] == "thread"

    polled = seen["createAndPoll"]
    assert polled["status"] == "completed"
    assert polled["assistant_id"] == seen["assistant"]["id"]
    assert polled["thread_id"] == seen["thread"]["id"]
    assert polled["usage"]["total_tokens"] > 0

    streamed = seen["stream"]
    assert streamed["status"] == "completed"
    events = streamed["events"]
    assert events[0] == "thread.run.created" and events[-1] == "thread.run.completed"
    assert "thread.message.delta" in events
    assert events.index("thread.run.in_progress") < events.index("thread.message.created")
    assert streamed["text"] == "This is a scripted answer from the example server."
    assert streamed["messages"] == [[streamed["text"]]]

    cancel = seen["cancel"]
    assert cancel["first"] == "cancelling"
    assert cancel["hook"] == 200
    assert cancel["then"] == "cancelled"
    refused = cancel["again"]
    assert refused["class"] == "BadRequestError" and refused["status"] == 400
    assert refused["error"] == {
        "message": CANCELLED_AGAIN,
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }

    # Five runs, newest first, two a page; ascending by auto-pagination.
    pages = seen["paging"]["pages"]
    assert [len(p) for p in pages] == [2, 2, 1]
    listed = [run_id for p in pages for run_id in p]
    assert listed == stored and len(set(listed)) == 5
    assert polled["id"] in listed and streamed["id"] in listed
    ascending = [r["id"] for r in seen["paging"]["ascending"]]
    assert ascending == listed[::-1]
