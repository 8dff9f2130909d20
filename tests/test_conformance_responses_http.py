"""The Responses kit against the example server, over HTTP, through the openai SDK.

One server per backend (SQLite; PostgreSQL when RUNSTATE_TEST_PG_URL is set or a
throwaway cluster can start, as ``server_slow``), with no worker: the kit drives it
through ``/advance`` (``ResponsesThroughSDK``'s default ``advance_path``).
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from server_helpers import PG_ENV, ROOT, Server, database

from runstate.testing import ResponsesThroughSDK, survey_responses_url

OVER_HTTP = settings(
    max_examples=20,
    stateful_step_count=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[p for p in Phase if p is not Phase.explain],
)
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=[
            pytest.mark.server_slow,
            pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} is not set"),
        ],
    ),
]


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    db = database(request.param, tmp_path_factory.mktemp("responses-kit"))
    with Server(db) as s:
        yield s


def test_the_example_server_passes_over_http(server: Server) -> None:
    report = survey_responses_url(server.base, settings=OVER_HTTP)
    assert report.ok and report.divergences == (), report.summary()
    for pair in [("cancel", "queued"), ("cancel", "cancelled"), ("start", "queued")]:
        assert report.reach[pair][0] > 0, report.reach_table()


def test_the_adapter_reports_refusals_and_streams(server: Server) -> None:
    adapter = ResponsesThroughSDK(server.base)
    try:
        status, body = adapter.retrieve("resp_missing")
        assert status == 404
        assert body["error"]["message"] == "Response with id 'resp_missing' not found."
        status, body = adapter.create(
            {"model": "m", "input": "Hi", "background": True, "stream": True}
        )
        assert status == 200 and body["status"] == "queued"
        status, refused = adapter.retrieve_stream("resp_missing", 0)
        assert status == 404 and "not found" in refused["error"]["message"]
        assert adapter.cancel(body["id"]).status == 200
        status, events = adapter.retrieve_stream(body["id"], None)
        assert status == 200 and events[-1][0] == "response.failed"
        assert adapter.retrieve_stream(body["id"], 1).body == events[2:]
    finally:
        adapter.close()


def test_one_command_surveys_a_url(server: Server) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "runstate.testing",
            "responses",
            server.base,
            "--seed",
            "1",
            "--max-examples",
            "5",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(ROOT),
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "runstate conformance of ResponsesThroughSDK: no divergence" in done.stdout
    assert "| operation |" in done.stdout


# --------------------------------------------------------------------------------------
# The adapter against a server that answers as a proxy or a mock might: canned answers


class Canned(http.server.BaseHTTPRequestHandler):
    """Empty 404s, an HTML 502, a refused stream and a stream with no events."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer(404, b"")

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        if self.path.endswith("/cancel"):
            self._answer(502, b"<html>Bad gateway</html>", "text/html")
        elif request.get("store") is False:
            error = {"message": "no", "type": "invalid_request_error", "param": "background"}
            self._answer(400, json.dumps({"error": error}).encode())
        else:
            self._answer(200, b"", "text/event-stream")


@pytest.fixture(scope="module")
def canned() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Canned)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_the_adapter_keeps_bodies_that_are_not_json(canned: str) -> None:
    adapter = ResponsesThroughSDK(canned, advance_path=None)
    try:
        assert not hasattr(adapter, "drive")  # no worker hook: survey with steps=()
        assert adapter.retrieve("resp_1") == (404, "")  # an empty 404, as a mock's
        assert adapter.retrieve_stream("resp_1", 3) == (404, "")
        assert adapter.cancel("resp_1") == (502, "<html>Bad gateway</html>")
    finally:
        adapter.close()


def test_the_adapter_reports_a_refused_or_empty_streamed_create(canned: str) -> None:
    adapter = ResponsesThroughSDK(canned)
    try:
        request = {"model": "m", "input": "Hi", "background": True, "stream": True}
        status, body = adapter.create({**request, "store": False})
        assert status == 400 and body["error"]["param"] == "background"
        assert adapter.create(request) == (200, [])  # a stream with no event at all
    finally:
        adapter.close()
