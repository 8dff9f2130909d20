"""Helpers for the example server's tests (``examples/server``) and its benchmark.

* :class:`Server` starts ``serve.py`` as a subprocess on a free loopback port.
* :func:`postgres_url` gives a fresh PostgreSQL database: on ``RUNSTATE_TEST_PG_URL``
  (which ``.ci/run`` exports) or on a throwaway cluster started here when the PostgreSQL
  binaries exist; ``None`` (and a reason) otherwise.
* :func:`hammer` is the race load: client threads firing cancel, advance, submit and
  create at the same runs; :func:`check_database` checks what it left behind.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import json
import os
import random
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import runstate as rs

ROOT = Path(__file__).resolve().parent.parent
SERVE = ROOT / "examples" / "server" / "serve.py"
HEADERS = {"OpenAI-Beta": "assistants=v2"}
STARTUP_TIMEOUT = 120.0  # a bound on a hang, not a speed requirement


#: Set by CI (``.ci/run``): the server tests must run, so a missing dependency or a
#: missing PostgreSQL fails them instead of skipping them.
REQUIRE_ENV = "RUNSTATE_TEST_REQUIRE_SERVER"


def skip_or_fail(why: str) -> None:
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{why} (and {REQUIRE_ENV} is set)")
    pytest.skip(why)


def missing_server_deps() -> list[str]:
    """The modules of the ``server`` extra (and its tests') that are not installed."""
    import importlib.util  # noqa: PLC0415

    return [
        m
        for m in ("starlette", "uvicorn", "psycopg", "psycopg_pool", "hypothesis_jsonschema")
        if importlib.util.find_spec(m) is None
    ]


def require_server_deps() -> None:
    """Skip (with the reason) when the ``server`` extra is not installed."""
    missing = missing_server_deps()
    if missing:
        skip_or_fail(f"the example server needs {missing}: pip install -e '.[test,server]'")


#: A module every test of which needs the ``server`` extra (its fixtures start the fake
#: model backend, or its tests import serve.py): skipped without the extra, as the
#: README's test command installs ``.[test]`` only. Under RUNSTATE_TEST_REQUIRE_SERVER
#: nothing is skipped: a missing module then fails the tests that import it.
needs_server = pytest.mark.skipif(
    bool(missing_server_deps()) and not os.environ.get(REQUIRE_ENV),
    reason="the example server needs the server extra: pip install -e '.[test,server]'",
)


def database(backend: str, tmp: Path) -> str:
    """A fresh database URL for ``backend`` (``sqlite`` or ``postgresql``), or skip."""
    require_server_deps()
    if backend == "sqlite":
        return sqlite_url(tmp)
    url, why = postgres_url()
    if url is None:
        skip_or_fail(why)
    assert url is not None
    return url


class Server:
    """``serve.py`` in a subprocess; ``base`` is its ``http://127.0.0.1:PORT/v1``."""

    def __init__(self, db: str, *args: str, cwd: Path | None = None) -> None:
        self.db = db
        self.args = args
        self.cwd = cwd
        self.proc: subprocess.Popen[str] | None = None
        self.base = ""
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open while it runs
            prefix="runstate-server-", suffix=".log", delete=False
        )

    def start(self) -> Server:
        cmd = [
            sys.executable,
            str(SERVE),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--db",
            self.db,
            *self.args,
        ]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=self.cwd
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(STARTUP_TIMEOUT)
        if not line or not line[0].startswith("listening on "):
            self.kill()
            raise RuntimeError(f"server did not start: {self.stderr()}")
        self.base = line[0].split()[-1].strip() + "/v1"
        return self

    def stderr(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup (the crash test's crash)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.log.close()
        os.unlink(self.log.name)


# --------------------------------------------------------------------------------------
# PostgreSQL

PG_ENV = "RUNSTATE_TEST_PG_URL"
_cluster: dict[str, Any] = {}


def pg_bin() -> Path | None:
    """The newest PostgreSQL binary directory on this machine, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; run them as the postgres user then.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_cluster() -> str:
    """A throwaway cluster in a temporary directory on a loopback port; stopped at exit."""
    bindir = pg_bin()
    assert bindir is not None
    tmp = Path(tempfile.mkdtemp(prefix="runstate-pg-"))
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    data = tmp / "data"
    subprocess.run(
        _as_postgres(
            [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = _free_port()
    options = (
        f"-h 127.0.0.1 -p {port} -k {tmp} -c fsync=off -c max_connections=200 "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(tmp / "log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )

    def stop() -> None:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(tmp, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def postgres_admin_url() -> tuple[str | None, str]:
    """The URL of a PostgreSQL server to create test databases on, or (None, why not)."""
    if "url" not in _cluster:
        env = os.environ.get(PG_ENV)
        if env:
            _cluster["url"] = env
        elif pg_bin() is None:
            _cluster["url"] = None
            _cluster["why"] = f"no PostgreSQL binaries (initdb) on this machine and no {PG_ENV}"
        else:
            _cluster["url"] = _start_cluster()
    return _cluster["url"], _cluster.get("why", "")


def postgres_url() -> tuple[str | None, str]:
    """A fresh, empty database: (its URL, "") or (None, why there is none)."""
    admin, why = postgres_admin_url()
    if admin is None:
        return None, why
    import psycopg  # noqa: PLC0415

    name = f"rs_{secrets.token_hex(6)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base, _, _ = admin.rpartition("/")
    return f"{base}/{name}", ""


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'runs.db'}"


# --------------------------------------------------------------------------------------
# Talking to the server


def client(base: str, timeout: float = 30.0) -> httpx.Client:
    return httpx.Client(base_url=base, headers=HEADERS, timeout=timeout)


def post(http: httpx.Client, path: str, body: Any = None) -> httpx.Response:
    return http.post(path, json=body) if body is not None else http.post(path)


def new_thread(http: httpx.Client) -> str:
    r = http.post("/threads", json={"messages": [{"role": "user", "content": "Hi"}]})
    r.raise_for_status()
    return str(r.json()["id"])


def new_run(http: httpx.Client, thread_id: str, **body: Any) -> dict[str, Any]:
    r = http.post(f"/threads/{thread_id}/runs", json={"assistant_id": "asst_test", **body})
    assert r.status_code == 200, r.text
    return dict(r.json())


def advance(
    http: httpx.Client, thread_id: str, run_id: str, to: str, **body: Any
) -> httpx.Response:
    return http.post(f"/threads/{thread_id}/runs/{run_id}/advance", json={"to": to, **body})


# --------------------------------------------------------------------------------------
# The race load

CALLS = [{"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
ADVANCES: list[dict[str, Any]] = [
    {"to": "in_progress"},
    {"to": "in_progress"},
    {"to": "in_progress"},
    {"to": "requires_action", "tool_calls": CALLS},
    {"to": "requires_action", "tool_calls": CALLS},
    {"to": "requires_action", "tool_calls": CALLS},
    {"to": "completed", "usage": USAGE},
    {"to": "failed", "error": {"code": "server_error", "message": "boom"}},
    {"to": "incomplete", "reason": "max_prompt_tokens"},
    {"to": "cancelled"},
    {"to": "cancelled"},
    # Step operations (the hook's "step" form): each needs an in_progress run.
    {"step": "open_message_step"},
    {"step": "open_message_step"},
    {"step": "finish_message_step", "text": "Hello."},
    {"step": "open_tool_calls_step"},
]
#: Expiry ends a run at once; keep it rare so that runs live through several races.
EXPIRE = {"to": "expired"}


@dataclass
class Record:
    """One request of the load and its answer."""

    op: str
    thread_id: str
    run_id: str
    status: int
    body: Any
    seconds: float


@dataclass
class Load:
    records: list[Record] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # transport errors (the crash test's)
    lock: threading.Lock = field(default_factory=threading.Lock)


def setup_runs(base: str, count: int) -> dict[str, str]:
    """``count`` threads, each with one queued run: {thread_id: run_id}."""
    slots = {}
    with client(base) as http:
        for _ in range(count):
            thread_id = new_thread(http)
            slots[thread_id] = new_run(http, thread_id)["id"]
    return slots


def hammer(
    bases: Sequence[str],
    slots: dict[str, str],
    *,
    clients: int = 16,
    requests: int = 3000,
    stop: threading.Event | None = None,
    seed: int = 0,
    load: Load | None = None,
) -> Load:
    """``clients`` threads fire ``requests`` requests in all at the runs in ``slots``.

    Each request targets a random thread's latest run known to the client: a cancel, a
    worker step (``advance``), a tool output submission (right or wrong ids), a metadata
    modify or a new run on the thread (the thread lock decides). Requests go to the
    servers in ``bases`` in turn. It stops after ``requests``, when ``stop`` is set, or
    at the first transport error of a client (the server died). Answers are recorded in
    ``load`` (a new one by default) as they come, so another thread can watch them.
    """
    load = Load() if load is None else load
    latest = dict(slots)
    threads = list(slots)
    counter = iter(range(requests))
    counter_lock = threading.Lock()

    def one_client(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        https = [client(b, timeout=60) for b in bases]
        follow_up: tuple[str, str] | None = None
        try:
            while stop is None or not stop.is_set():
                with counter_lock:
                    i = next(counter, None)
                if i is None:
                    return
                http = https[i % len(https)]
                if follow_up is not None:
                    # Answer the tool call this client just saw, racing the others.
                    thread_id, run_id = follow_up
                    op, path, body = _submit(rng, thread_id, run_id)
                    follow_up = None
                else:
                    thread_id = rng.choice(threads)
                    run_id = latest[thread_id]
                    op, path, body = _pick(rng, thread_id, run_id)
                started = time.perf_counter()
                try:
                    r = post(http, path, body)
                except httpx.HTTPError as exc:
                    with load.lock:
                        load.errors.append(f"{op}: {exc!r}")
                    return
                seconds = time.perf_counter() - started
                try:
                    answer = r.json()
                except ValueError:
                    answer = r.text
                if op == "create" and r.status_code == 200:
                    latest[thread_id] = answer["id"]
                    run_id = answer["id"]
                if r.status_code == 200 and answer.get("status") == "requires_action":
                    follow_up = (thread_id, run_id)
                with load.lock:
                    load.records.append(
                        Record(op, thread_id, run_id, r.status_code, answer, seconds)
                    )
        finally:
            for h in https:
                h.close()

    workers = [threading.Thread(target=one_client, args=(k,)) for k in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return load


def _submit(rng: random.Random, thread_id: str, run_id: str) -> tuple[str, str, Any]:
    ids = ["call_a"] if rng.random() < 0.8 else ["call_b"]
    outputs = [{"tool_call_id": i, "output": "ok"} for i in ids]
    path = f"/threads/{thread_id}/runs/{run_id}/submit_tool_outputs"
    return "submit", path, {"tool_outputs": outputs}


def _pick(rng: random.Random, thread_id: str, run_id: str) -> tuple[str, str, Any]:
    run_path = f"/threads/{thread_id}/runs/{run_id}"
    roll = rng.random()
    if roll < 0.25:
        return "cancel", run_path + "/cancel", None
    if roll < 0.65:
        step = EXPIRE if rng.random() < 0.01 else rng.choice(ADVANCES)
        return "advance", run_path + "/advance", step
    if roll < 0.85:
        return _submit(rng, thread_id, run_id)
    if roll < 0.9:
        return "modify", run_path, {"metadata": {"n": str(rng.randrange(100))}}
    return "create", f"/threads/{thread_id}/runs", {"assistant_id": "asst_load"}


# --------------------------------------------------------------------------------------
# What the database holds afterwards


@dataclass
class Snapshot:
    """The runs, their steps and messages, and their histories a database holds."""

    runs: dict[str, tuple[str, int, str]]  # run id -> (thread id, version, body)
    history: dict[str, list[tuple[int, int, str]]]  # run id -> [(seq, version, body)]
    #: run id -> the `life` (steps and messages JSON) of each history entry, in order
    lives: dict[str, list[str]] = field(default_factory=dict)
    steps: dict[str, list[str]] = field(default_factory=dict)  # run id -> step bodies
    messages: dict[str, list[str]] = field(default_factory=dict)  # run id -> message bodies


def read_database(db: str) -> Snapshot:
    if db.startswith("sqlite:///"):
        conn: Any = sqlite3.connect(db[len("sqlite:///") :])
    else:
        import psycopg  # noqa: PLC0415

        conn = psycopg.connect(db)
    try:
        runs = {
            r[0]: (r[1], r[2], r[3])
            for r in conn.execute("SELECT id, thread_id, version, body FROM runs").fetchall()
        }
        history: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        lives: dict[str, list[str]] = defaultdict(list)
        for seq, run_id, version, body, life in conn.execute(
            "SELECT seq, run_id, version, body, life FROM run_history ORDER BY seq"
        ).fetchall():
            history[run_id].append((seq, version, body))
            lives[run_id].append(life)
        steps: dict[str, list[str]] = defaultdict(list)
        for run_id, body in conn.execute(
            "SELECT run_id, body FROM run_steps ORDER BY seq"
        ).fetchall():
            steps[run_id].append(body)
        messages: dict[str, list[str]] = defaultdict(list)
        for run_id, body in conn.execute(
            "SELECT run_id, body FROM messages ORDER BY seq"
        ).fetchall():
            messages[run_id].append(body)
    finally:
        conn.close()
    return Snapshot(runs, dict(history), dict(lives), dict(steps), dict(messages))


def check_database(snapshot: Snapshot) -> list[str]:
    """Every run parses and validates, its row is its last history entry, its history is
    a legal poll trace with at most one terminal status, and no thread ever had two
    active runs. Returns the problems found."""
    problems: list[str] = []
    by_thread: dict[str, list[str]] = defaultdict(list)
    terminal_seq: dict[str, int] = {}
    for run_id, (thread_id, version, body) in snapshot.runs.items():
        by_thread[thread_id].append(run_id)
        run = rs.parse_run(body)
        errors = [v for v in rs.violations(run) if v.severity == "error"]
        if errors:
            problems.append(f"{run_id}: {errors}")
        entries = snapshot.history.get(run_id, [])
        versions = [v for _, v, _ in entries]
        if versions != list(range(1, version + 1)):
            problems.append(f"{run_id}: history versions {versions}, row version {version}")
            continue
        if json.loads(entries[-1][2]) != json.loads(body):
            problems.append(f"{run_id}: the row is not its last history entry")
        trace = [rs.parse_run(b) for _, _, b in entries]
        report = rs.check_trace(trace, mode="poll")
        if not report.ok:
            problems.append(f"{run_id}: {[str(p) for p in report.errors]}")
        ended = {r.status for r in trace if r.status in rs.TERMINAL_STATUSES}
        if len(ended) > 1:
            problems.append(f"{run_id}: two terminal statuses {sorted(s.value for s in ended)}")
        for (seq, _, _), r in zip(entries, trace, strict=True):
            if r.status in rs.TERMINAL_STATUSES:
                terminal_seq[run_id] = seq
                break
        problems += check_steps(snapshot, run_id, trace)
    # The thread lock, in commit order: a thread's next run was created only after the
    # one before it had ended.
    for thread_id, run_ids in by_thread.items():
        ordered = sorted(run_ids, key=lambda r: snapshot.history[r][0][0])
        for older, newer in itertools.pairwise(ordered):
            created = snapshot.history[newer][0][0]
            if older not in terminal_seq or terminal_seq[older] > created:
                problems.append(f"{thread_id}: {newer} created while {older} was active")
    return problems


def check_steps(snapshot: Snapshot, run_id: str, trace: list[rs.Run]) -> list[str]:
    """A run's steps and messages are consistent with it.

    Each parses and keeps its per-status rules; none is open on a terminal run; the
    tables hold the run's last history entry's steps and messages; and the whole history,
    replayed as one stream (each version's ``stream_events`` with its steps and messages),
    passes ``check_trace(mode="stream")``.
    """
    problems: list[str] = []
    run = trace[-1]
    steps = [rs.steps.parse_step(b) for b in snapshot.steps.get(run_id, [])]
    messages = [rs.steps.parse_message(b) for b in snapshot.messages.get(run_id, [])]
    for step in steps:
        broken = rs.steps.step_violations(step)
        if broken:
            problems.append(f"{run_id}: step {step.id}: {[v.rule for v in broken]}")
        if run.status in rs.TERMINAL_STATUSES and step.status is rs.StepStatus.IN_PROGRESS:
            problems.append(f"{run_id}: step {step.id} in_progress on a {run.status.value} run")
    for message in messages:
        broken = rs.steps.message_violations(message)
        if broken:
            problems.append(f"{run_id}: message {message.id}: {[v.rule for v in broken]}")
        if run.status in rs.TERMINAL_STATUSES and message.status == "in_progress":
            problems.append(f"{run_id}: message {message.id} open on a {run.status.value} run")
    lives = [json.loads(text) for text in snapshot.lives.get(run_id, [])]
    if len(lives) != len(trace):
        return [*problems, f"{run_id}: {len(lives)} lives for {len(trace)} versions"]
    tables = {
        "steps": [json.loads(b) for b in snapshot.steps.get(run_id, [])],
        "messages": [json.loads(b) for b in snapshot.messages.get(run_id, [])],
    }
    if lives[-1] != tables:
        problems.append(f"{run_id}: the step and message rows are not its last history entry")
    events: list[tuple[str, str]] = []
    before: rs.steps.RunLife | None = None
    for r, life in zip(trace, lives, strict=True):
        after = rs.steps.RunLife(
            run=r,
            steps=tuple(rs.steps.parse_step(s) for s in life["steps"]),
            messages=tuple(rs.steps.parse_message(m) for m in life["messages"]),
        )
        try:
            events += rs.stream_events(before, after)
        except rs.InvalidArgument as exc:
            return [*problems, f"{run_id}: history is not a sequence of changes: {exc}"]
        before = after
    # One stream over the run's whole life: the `done` of each requires_action pause
    # (a stream ends there) is left out but for the last.
    events = [e for i, e in enumerate(events) if e[0] != "done" or i == len(events) - 1]
    report = rs.check_trace(events, mode="stream")
    if not report.ok:
        problems.append(f"{run_id}: replayed stream: {[str(p) for p in report.errors]}")
    return problems


def check_acknowledged(load: Load, snapshot: Snapshot) -> list[str]:
    """No 500; every 2xx answer is a version in its run's history."""
    problems = []
    bodies: dict[str, list[Any]] = {
        run_id: [json.loads(b) for _, _, b in entries]
        for run_id, entries in snapshot.history.items()
    }
    for rec in load.records:
        if rec.status >= 500:
            problems.append(f"{rec.op} {rec.run_id}: {rec.status} {rec.body}")
        elif 200 <= rec.status < 300 and rec.body not in bodies.get(rec.run_id, []):
            problems.append(f"{rec.op} {rec.run_id}: acknowledged but not in its history")
    return problems


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 300.0) -> None:
    """Wait until ``condition()`` holds; fail naming ``what`` if it has not after ``timeout``.

    The bound only stops a hung test: it is no speed requirement (CI runs on a loaded
    machine), so the tests wait for events, never for a length of time.
    """
    give_up = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up:
            pytest.fail(f"still waiting, after {timeout:.0f} s, for {what}")
        time.sleep(0.02)


@contextmanager
def servers(db: str, count: int, *args: str) -> Iterator[list[Server]]:
    started = [Server(db, *args) for _ in range(count)]
    try:
        for s in started:
            s.start()
        yield started
    finally:
        for s in started:
            s.__exit__()
