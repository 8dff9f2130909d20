"""The conformance kit (runstate.testing) against the example server, over HTTP.

One server per backend, started on first use and stopped when the module ends; each
test case works on threads it creates, so the server needs no reset. The worker stays
paused (no ``--auto``): the kit plays it through the server's ``/advance`` hook.

The kit lists each run's steps (``GET .../steps``) after every request and checks them:
the server moves steps with ``runstate.advance``, so they must pass too.

The server's create-run body is closed, as the API's is (``Unknown parameter``), so the
kit's unknown-field probe is off (``probe_unknown_fields=False``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from server_helpers import HEADERS, Server, database

from runstate.testing import HttpResponse, Step, conformance_test

#: Deterministic and bounded: each step is an HTTP request or two.
OVER_HTTP = settings(
    max_examples=25,
    stateful_step_count=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
)

#: The kit's worker steps, as the server's ``/advance`` targets.
TARGETS = {
    "start": "in_progress",
    "require_action": "requires_action",
    "complete": "completed",
    "fail": "failed",
    "mark_incomplete": "incomplete",
    "finish_cancel": "cancelled",
    "expire": "expired",
}

_servers: dict[str, Server] = {}


def base_url(backend: str) -> str:
    if backend not in _servers:
        db = database(backend, Path(tempfile.mkdtemp(prefix="runstate-kit-")))
        _servers[backend] = Server(db).start()
    return _servers[backend].base


@pytest.fixture(scope="module", autouse=True)
def _stop_servers() -> Iterator[None]:
    yield
    for server in _servers.values():
        server.__exit__()
    _servers.clear()


class HttpAdapter:
    """runstate.testing's Implementation, one HTTP request per method."""

    backend = "sqlite"

    def __init__(self) -> None:
        self.http = httpx.Client(base_url=base_url(self.backend), headers=HEADERS, timeout=30)

    def _send(self, path: str, body: Any = None, method: str = "POST") -> HttpResponse:
        r = self.http.request(method, path, json=body)
        return HttpResponse(r.status_code, r.json())

    def create_thread(self) -> str:
        # A user message, so that runs need no instructions (spec-facts §4.5).
        r = self.http.post("/threads", json={"messages": [{"role": "user", "content": "Hi"}]})
        return str(r.json()["id"])

    def create_run(
        self, thread_id: str, *, assistant_id: str, metadata: Mapping[str, str], extra: Any
    ) -> HttpResponse:
        body = {"assistant_id": assistant_id, "metadata": dict(metadata), **extra}
        return self._send(f"/threads/{thread_id}/runs", body)

    def retrieve_run(self, thread_id: str, run_id: str) -> HttpResponse:
        return self._send(f"/threads/{thread_id}/runs/{run_id}", method="GET")

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        return self._send(f"/threads/{thread_id}/runs/{run_id}/cancel")

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        return self._send(f"/threads/{thread_id}/runs/{run_id}/steps", method="GET")

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        body = {"tool_outputs": [dict(o) for o in tool_outputs]}
        return self._send(f"/threads/{thread_id}/runs/{run_id}/submit_tool_outputs", body)

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        payload = step.to_json()
        body = {
            "to": TARGETS[step.kind],
            "tool_calls": payload["tool_calls"],
            "usage": payload["usage"],
            "error": payload["last_error"],
            "reason": payload["reason"],
        }
        return self._send(f"/threads/{thread_id}/runs/{run_id}/advance", body)

    def close(self) -> None:
        self.http.close()


class PostgresAdapter(HttpAdapter):
    backend = "postgresql"


TestServerOnSQLite = conformance_test(HttpAdapter, settings=OVER_HTTP, probe_unknown_fields=False)
TestServerOnPostgreSQL = pytest.mark.server_slow(
    conformance_test(PostgresAdapter, settings=OVER_HTTP, probe_unknown_fields=False)
)
