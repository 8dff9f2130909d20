"""The example server's streams: they hold no thread while they wait, end when their
client leaves, are bounded (``--max-streams``), and end when the server shuts down.

Each test runs ``serve.py`` on a free loopback port (SQLite, no worker). No test measures
time: a hung server shows as a client timeout (generous ones) or as a
``subprocess.TimeoutExpired`` from ``proc.wait(timeout=...)``, a bound on shutdown.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import Server, advance, client, new_thread, require_server_deps, sqlite_url

import runstate as rs

#: A client timeout no answer of a healthy server comes near, even on a loaded machine;
#: the old server (a thread per waiting stream, 40 threads) left requests hanging past it.
PATIENCE = 30.0
#: The abandoned streams of the first test, opened this many at a time.
ABANDONED = 200
BATCH = 40


@pytest.fixture
def server(tmp_path: Path) -> Any:
    require_server_deps()
    with Server(sqlite_url(tmp_path)) as s:
        yield s
        log = s.stderr()
    assert "Traceback" not in log, log


def open_stream(
    http: httpx.Client, stack: contextlib.ExitStack, thread_id: str
) -> tuple[bytes, Iterator[bytes]]:
    """A create-run stream on ``thread_id``, kept open in ``stack``: its first chunk and
    the rest (keep that iterator: dropping it closes the connection)."""
    body = {"assistant_id": "asst_s", "stream": True}
    r = stack.enter_context(http.stream("POST", f"/threads/{thread_id}/runs", json=body))
    assert r.status_code == 200, r.read()
    chunks = r.iter_raw()
    return next(chunks), chunks


def first_run_id(chunk: bytes) -> str:
    name, data = next(rs.parse_sse(chunk))
    assert name == "thread.run.created"
    return str(json.loads(data)["id"])


def test_abandoned_streams_leave_the_server_answering(server: Server) -> None:
    """200 streams read once and dropped (40 open at a time): the old server, a pool
    thread per waiting stream, stopped answering anything after 40 of them."""
    with client(server.base, timeout=PATIENCE) as http:
        for _ in range(ABANDONED // BATCH):
            threads = [new_thread(http) for _ in range(BATCH)]
            with contextlib.ExitStack() as stack:
                held = [open_stream(http, stack, thread_id) for thread_id in threads]
                for first, _ in held:
                    first_run_id(first)
            # every stream of the batch is closed here, by its client
        # A new stream, a read and a run: each answered (a hung server times out).
        thread_id = new_thread(http)
        with contextlib.ExitStack() as stack:
            run_id = first_run_id(open_stream(http, stack, thread_id)[0])
        assert http.get(f"/threads/{thread_id}").json()["id"] == thread_id
        runs = http.get(f"/threads/{thread_id}/runs").json()["data"]
        assert [r["id"] for r in runs] == [run_id]
        other = new_thread(http)
        r = http.post(f"/threads/{other}/runs", json={"assistant_id": "asst_s"})
        assert r.status_code == 200 and r.json()["status"] == "queued"


def test_a_stream_follows_changes_made_by_other_requests_to_its_end(server: Server) -> None:
    with client(server.base, timeout=PATIENCE) as http, client(server.base, PATIENCE) as other:
        thread_id = new_thread(http)
        with http.stream(
            "POST", f"/threads/{thread_id}/runs", json={"assistant_id": "asst_s", "stream": True}
        ) as r:
            chunks = r.iter_raw()
            first = next(chunks)
            run_id = first_run_id(first)
            path = f"/threads/{thread_id}/runs/{run_id}/advance"
            assert advance(other, thread_id, run_id, "in_progress").status_code == 200
            assert other.post(path, json={"step": "open_message_step"}).status_code == 200
            done = other.post(path, json={"step": "finish_message_step", "text": "Hello."})
            assert done.status_code == 200
            assert advance(other, thread_id, run_id, "completed").status_code == 200
            body = first + b"".join(chunks)
    events = list(rs.parse_sse(body))
    names = [name for name, _ in events]
    assert names[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert "thread.message.delta" in names
    assert names[-2:] == ["thread.run.completed", "done"]
    assert rs.check_trace(events, mode="stream").ok


def test_a_stream_ends_when_its_run_expires(tmp_path: Path) -> None:
    """Nobody touches the run: the streams' poller expires it when due."""
    require_server_deps()
    with Server(sqlite_url(tmp_path), "--expires-in", "1") as s, client(s.base, PATIENCE) as http:
        thread_id = new_thread(http)
        with http.stream(
            "POST", f"/threads/{thread_id}/runs", json={"assistant_id": "asst_s", "stream": True}
        ) as r:
            body = r.read()
    names = [name for name, _ in rs.parse_sse(body)]
    assert names == ["thread.run.created", "thread.run.queued", "thread.run.expired", "done"]


def test_streams_past_the_bound_get_the_servers_own_503(tmp_path: Path) -> None:
    require_server_deps()
    with (
        Server(sqlite_url(tmp_path), "--max-streams", "2") as s,
        client(s.base, PATIENCE) as http,
        contextlib.ExitStack() as stack,
    ):
        held = [open_stream(http, stack, new_thread(http)) for _ in range(2)]
        refused = new_thread(http)
        body = {"assistant_id": "asst_s", "stream": True}
        r = http.post(f"/threads/{refused}/runs", json=body)
        assert r.status_code == 503
        assert r.json() == {
            "error": {
                "message": "The example server has 2 streams open (its --max-streams); "
                "try again when one ends.",
                "type": "server_busy",
                "param": None,
                "code": "too_many_streams",
            }
        }
        # Refused before anything was written; a request that does not stream still runs.
        assert http.get(f"/threads/{refused}/runs").json()["data"] == []
        r = http.post("/threads/runs", json={"assistant_id": "asst_s", "stream": True})
        assert r.status_code == 503
        assert (
            http.post(f"/threads/{refused}/runs", json={"assistant_id": "asst_s"}).status_code
            == 200
        )
        # A stream that ends gives its slot back (seen once the server notices the close).
        stack.close()
        del held
        statuses = []
        for _ in range(600):
            body = {"assistant_id": "asst_s", "instructions": "Hi", "stream": True}
            with http.stream("POST", "/threads/runs", json=body) as r:
                statuses.append(r.status_code)
                if r.status_code == 200:
                    assert next(rs.parse_sse(next(r.iter_raw())))[0] == "thread.run.created"
                    break
            time.sleep(0.05)
        assert set(statuses) <= {503, 200} and statuses[-1] == 200, statuses


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_ends_the_streams_and_the_server(sig: int, tmp_path: Path) -> None:
    """With streams waiting and an idle keep-alive connection, a signal stops the
    server: the old one waited for the streams forever (only SIGKILL stopped it)."""
    require_server_deps()
    s = Server(sqlite_url(tmp_path))
    s.start()
    try:
        assert s.proc is not None
        with client(s.base, PATIENCE) as http, contextlib.ExitStack() as stack:
            streams = []
            for _ in range(5):
                thread_id = new_thread(http)
                r = stack.enter_context(
                    http.stream(
                        "POST",
                        f"/threads/{thread_id}/runs",
                        json={"assistant_id": "asst_s", "stream": True},
                    )
                )
                streams.append((r, r.iter_raw()))
                next(streams[-1][1])
            s.proc.send_signal(sig)
            s.proc.wait(timeout=5)  # TimeoutExpired: the server did not stop
            for _, chunks in streams:  # each stream ended (or was cut): none hangs
                with contextlib.suppress(httpx.HTTPError):
                    for _ in chunks:
                        pass
    finally:
        s.kill()
        log = s.stderr()
        s.__exit__()
    assert "Traceback" not in log, log
