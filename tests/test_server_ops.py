"""The example server in operation: startup errors, the body cap, a database restart.

* A database the server cannot use (a missing directory, a bad URL, nothing listening)
  ends it with one line on stderr and exit status 2.
* A body over ``--max-body-bytes`` gets the server's 413, whether it announces its length
  or comes chunked; a 200 MB one is refused while other requests are answered, and the
  server's resident memory stays under twice its idle size.
* ``examples/server/throwaway_pg.py`` starts a PostgreSQL and prints its URL; stopped and
  started again under load (8 client threads), the server answers its 503 meanwhile and
  every request again once the database is back, without a restart of its own.

No test measures a duration: deadlines only fail a server that hangs.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_helpers import (
    HEADERS,
    Load,
    Server,
    check_acknowledged,
    check_database,
    client,
    database,
    hammer,
    pg_bin,
    read_database,
    require_server_deps,
    setup_runs,
    skip_or_fail,
)

ROOT = Path(__file__).resolve().parent.parent
SERVE = ROOT / "examples" / "server" / "serve.py"
THROWAWAY = ROOT / "examples" / "server" / "throwaway_pg.py"
MB = 1024 * 1024


def error_shape(body: Any) -> dict[str, Any]:
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "param", "code"}, body
    return dict(body["error"])


# --------------------------------------------------------------------------------------
# Startup


def start_failing(db: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(SERVE), "--port", "0", "--db", db]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=cwd, check=False)


@pytest.mark.parametrize(
    ("db", "says"),
    [
        ("sqlite:///missing_dir/x.db", "no directory"),
        ("sqlite:///", "no file in the database URL"),
        ("mysql://localhost/runs", "unsupported database URL"),
        ("postgresql://postgres@127.0.0.1/x?nonsense=1", "bad PostgreSQL URL"),
        ("postgresql://postgres:secret@127.0.0.1:{port}/x", "cannot connect to"),
    ],
)
def test_a_database_it_cannot_use_is_one_line_and_status_2(
    tmp_path: Path, db: str, says: str
) -> None:
    require_server_deps()
    with socket.socket() as s:  # a port nothing listens on (bound, never listening)
        s.bind(("127.0.0.1", 0))
        done = start_failing(db.format(port=s.getsockname()[1]), tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("serve.py: error: ") and says in lines[0], lines[0]
    assert "secret" not in lines[0]  # the password is not shown
    assert done.stdout == ""
    assert not (tmp_path / "missing_dir").exists()


def test_a_server_without_a_worker_says_so(tmp_path: Path) -> None:
    db = database("sqlite", tmp_path)
    with Server(db) as quiet:
        assert "no worker (--auto not given)" in quiet.stderr()
    with Server(db, "--auto") as working:
        assert "no worker" not in working.stderr()


# --------------------------------------------------------------------------------------
# The body cap


def raw_post(port: int, path: str, chunks: Iterator[bytes], length: int | None) -> Any:
    """POST ``chunks`` on a socket of its own (chunked when ``length`` is None); the
    status and JSON body of the answer, read whenever it comes (the server may answer
    before the body is sent, and may close the connection instead of reading on)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in HEADERS.items()]
    head.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    answer = bytearray()

    def read() -> None:
        while b"\r\n\r\n" not in answer or not complete(answer):
            try:
                got = sock.recv(65536)
            except OSError:
                return
            if not got:
                return
            answer.extend(got)

    reader = threading.Thread(target=read)
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        reader.start()
        try:
            for chunk in chunks:
                sock.sendall(chunk if length is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if length is None:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed the connection on a refused body
        reader.join(120)
    finally:
        sock.close()
    head_bytes, _, body = bytes(answer).partition(b"\r\n\r\n")
    status = int(head_bytes.split(b" ", 2)[1])
    return status, json.loads(body)


def complete(answer: bytearray) -> bool:
    head, _, body = bytes(answer).partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def port_of(server: Server) -> int:
    return int(server.base.rsplit(":", 1)[1].split("/")[0])


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_cap_gets_the_servers_413(tmp_path: Path, chunked: bool) -> None:
    db = database("sqlite", tmp_path)
    with Server(db, "--max-body-bytes", "1000") as server:
        port = port_of(server)
        fits = json.dumps({"metadata": {"k": "v" * 400}}).encode()
        assert len(fits) <= 1000
        status, body = raw_post(port, "/v1/threads", iter([fits]), None if chunked else len(fits))
        assert status == 200, body
        # A body the server would take but for its length.
        over = json.dumps({"metadata": dict.fromkeys("abcd", "v" * 300)}).encode()
        for split in ([over], [over[:600], over[600:]]):  # in one chunk, and across two
            status, body = raw_post(
                port, "/v1/threads", iter(split), None if chunked else len(over)
            )
            assert status == 413, body
            error = error_shape(body)
            assert error["code"] == "request_too_large" and "1000 bytes" in error["message"]
        with client(server.base) as http:  # nothing was stored, and the server answers
            assert http.get("/threads/thread_none").status_code == 404


def half_sent_body(port: int) -> socket.socket:
    """A POST whose Content-Length promises 900 bytes, of which 13 are sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = ["POST /v1/threads HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in HEADERS.items()]
    head.append("Content-Length: 900")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b'{"metadata": ')
    return sock


def test_a_client_leaving_mid_body_leaves_no_traceback(tmp_path: Path) -> None:
    """An upload cut short: starlette's ClientDisconnect escaped the handler, logged twice
    with its traceback (by the app's 500 handler and by uvicorn)."""
    with Server(database("sqlite", tmp_path)) as server:
        for _ in range(3):
            half_sent_body(port_of(server)).close()
        with client(server.base) as http:  # the server answers on
            assert http.get("/threads/thread_none").status_code == 404
        server.stop()  # every disconnect has been handled once it has stopped
        log = server.stderr()
    assert "Traceback" not in log and "ClientDisconnect" not in log, log


def test_a_signal_during_a_half_sent_body_leaves_no_traceback(tmp_path: Path) -> None:
    """SIGTERM while a body is still arriving: past --shutdown-timeout uvicorn cancels the
    read, and the CancelledError was logged as "Exception in ASGI application"."""
    server = Server(database("sqlite", tmp_path), "--shutdown-timeout", "1").start()
    try:
        assert server.proc is not None
        sock = half_sent_body(port_of(server))
        with client(server.base) as http:  # the request above has reached the app
            assert http.get("/threads/thread_none").status_code == 404
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=30)  # TimeoutExpired: the server did not stop
        sock.close()
    finally:
        server.kill()
        log = server.stderr()
        server.__exit__(None, None, None)
    assert "Traceback" not in log and "Exception in ASGI" not in log, log


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/PID/status")
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_200_mb_body_is_refused_while_the_server_answers_others(
    tmp_path: Path, chunked: bool
) -> None:
    db = database("sqlite", tmp_path)
    with Server(db) as server:
        pid = server.proc.pid  # type: ignore[union-attr]
        port = port_of(server)
        with client(server.base) as http:
            for _ in range(20):  # warm: every handler path the test uses has run
                thread_id = http.post("/threads", json={}).json()["id"]
                assert http.get(f"/threads/{thread_id}").status_code == 200
        idle = rss_kib(pid)
        peak = [idle]
        answered: list[int] = []
        halfway = threading.Event()
        go_on = threading.Event()

        def body() -> Iterator[bytes]:
            chunk = b" " * MB  # whitespace: JSON's, and the server never parses it
            for i in range(200):
                if i == 100:
                    halfway.set()
                    go_on.wait(120)
                yield chunk
                peak.append(rss_kib(pid))

        result: list[Any] = []
        sender = threading.Thread(
            target=lambda: result.append(
                raw_post(port, "/v1/threads", body(), None if chunked else 200 * MB)
            )
        )
        sender.start()
        try:
            assert halfway.wait(120)
            # 100 MB sent (or refused): the server answers other requests meanwhile.
            with client(server.base) as http:
                for _ in range(5):
                    r = http.post("/threads", json={})
                    answered.append(r.status_code)
                    peak.append(rss_kib(pid))
        finally:
            go_on.set()
            sender.join(300)
        assert answered == [200] * 5
        assert result, "the upload never ended"
        status, answer = result[0]
        assert status == 413, answer
        assert error_shape(answer)["code"] == "request_too_large"
        peak.append(rss_kib(pid))
        print(f"resident memory: {idle} KiB idle, at most {max(peak)} KiB during the upload")
        assert max(peak) < 2 * idle, (idle, max(peak))


# --------------------------------------------------------------------------------------
# A database restart under load


def throwaway(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(THROWAWAY), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
def own_cluster() -> Iterator[tuple[str, str]]:
    """A PostgreSQL of this test's own (the script's), which it may stop and start."""
    require_server_deps()
    if pg_bin() is None:
        skip_or_fail("no PostgreSQL binaries (initdb) on this machine")
    started = throwaway()
    assert started.returncode == 0, started.stderr
    db = started.stdout.strip()
    assert db.startswith("postgresql://postgres@127.0.0.1:") and db.endswith("/postgres")
    folder = started.stderr.split("PostgreSQL in ", 1)[1].split(";", 1)[0]
    assert f"stop {folder}" in started.stderr
    try:
        yield db, folder
    finally:
        stopped = throwaway("stop", folder)
        assert stopped.returncode == 0, stopped.stderr
        assert not Path(folder).exists()


def test_the_throwaway_script_says_what_failed(tmp_path: Path) -> None:
    done = throwaway("up", "/nonexistent-runstate-dir")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "throwaway_pg.py: error: /nonexistent-runstate-dir is not a directory made by this script"
    )
    if pg_bin() is not None:
        (tmp_path / "taken").write_text("")
        done = throwaway("start", "--dir", str(tmp_path))
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr.strip() == f"throwaway_pg.py: error: {tmp_path} is not empty"


@pytest.mark.server_slow
def test_a_database_restart_under_load(own_cluster: tuple[str, str]) -> None:
    db, folder = own_cluster
    with Server(db, "--auto", "--auto-delay", "0.05") as server:
        slots = setup_runs(server.base, 30)
        load = Load()
        stop = threading.Event()
        worker = threading.Thread(
            target=hammer,
            args=([server.base], slots),
            kwargs={"clients": 8, "requests": 10**9, "stop": stop, "load": load, "seed": 19},
        )
        worker.start()
        try:
            wait_for(lambda: len(load.records) >= 100, "the load to start")
            before = len(load.records)
            down = throwaway("down", folder)
            assert down.returncode == 0, down.stderr
            # The outage: requests get the server's 503 (and none hangs).
            wait_for(lambda: outage_answers(load, before) >= 8, "503s during the outage")
            up = throwaway("up", folder)
            assert up.returncode == 0, up.stderr
            restarted, back = len(load.records), time.monotonic()
            # Back: a full round of every client's requests succeeds again.
            wait_for(lambda: all_ok_since(load, restarted, 40), "every request to succeed")
            # Reported, not asserted (the machine may be loaded): the issue asks for 5 s.
            print(f"every request succeeds again {time.monotonic() - back:.1f} s after the restart")
        finally:
            stop.set()
            worker.join(120)
        assert not load.errors, load.errors[:5]
        unavailable = [r for r in load.records if r.status == 503]
        assert unavailable
        for record in unavailable:
            assert error_shape(record.body)["code"] == "database_unavailable", record.body
        others = [r for r in load.records if r.status >= 500 and r.status != 503]
        assert others == [], others[:5]
        # The server did not restart; its log says the outage and its end, not a line per
        # request: once, or a few times when a query slipped through while PostgreSQL was
        # shutting down ("available again after 0.0 s", then unavailable once more; seen
        # with the runs' and the responses' pollers both querying).
        assert server.proc is not None and server.proc.poll() is None
        log = server.stderr()
        assert 1 <= log.count("database unavailable") <= 3, log
        assert log.count("database available again") >= 1, log
        # Nothing else: no traceback per request, per sweep of the worker, per reconnection.
        assert "Traceback" not in log and "auto worker" not in log, log
        with client(server.base) as http:
            assert http.post("/threads", json={}).status_code == 200
    snapshot = read_database(db)
    assert check_database(snapshot) == []
    # Acknowledged changes are all in the histories (the 503s changed nothing).
    acknowledged = Load(records=[r for r in load.records if r.status != 503])
    assert check_acknowledged(acknowledged, snapshot) == []


def wait_for(condition: Any, what: str, deadline: float = 120.0) -> None:
    """Poll ``condition`` until true; fails only a server that hangs (no timing asserted)."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() >= end:  # a hang guard: only a server that never answers fails
            pytest.fail(f"waited {deadline} s for {what}")
        time.sleep(0.05)


def outage_answers(load: Load, since: int) -> int:
    with load.lock:
        return sum(1 for r in load.records[since:] if r.status == 503)


def all_ok_since(load: Load, start: int, count: int) -> bool:
    """The last ``count`` answers, all after ``start``, are none of them a 5xx."""
    with load.lock:
        tail = load.records[start:][-count:]
    return len(tail) == count and all(r.status < 500 for r in tail)
