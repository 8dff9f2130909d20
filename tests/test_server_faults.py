"""Storage faults at every point of every request of the example server.

As SQLite and PostgreSQL test themselves: each kind of request is first run once to
count the storage calls it makes (every SQL statement, ``BEGIN``, ``COMMIT`` and
``ROLLBACK`` included; on PostgreSQL the transaction's begin and commit), then run again
once per call with a fault injected at exactly that call:

``error``
    the driver's ``DatabaseError`` instead of the call;
``lost``
    the connection dies there: on PostgreSQL the server ends the session
    (``pg_terminate_backend``) and the call meets the driver's own ``OperationalError``;
    on SQLite the connection is closed under the store and the call raises the
    ``OperationalError`` SQLite gives for a file it can no longer use.

Every request must then either succeed, or answer a 5xx with the API's error shape
(``{"error": {"message", "type", "param", "code"}}``, JSON) and leave every table as it
was; a lost PostgreSQL connection is the server's 503 (``database_unavailable``).
Afterwards the server must still answer (a connection left mid-transaction, or a dead
one kept, would fail the next requests), and the database must pass the race tests'
consistency check.

A fault at ``COMMIT`` is injected before the commit reaches the database: a commit whose
answer is lost after the database applied it cannot be told from one that failed, by
any server, and is not tested.

The app runs in process (Starlette's ``TestClient``, exceptions raised into the test),
on SQLite always and on PostgreSQL when one is available (``server_slow``, as the other
server tests' PostgreSQL runs).
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from server_helpers import check_database, database, read_database, require_server_deps

SERVER = Path(__file__).resolve().parent.parent / "examples" / "server"
HEADERS = {"OpenAI-Beta": "assistants=v2"}
TABLES = (
    "assistants",
    "assistant_order",
    "threads",
    "runs",
    "run_history",
    "run_steps",
    "messages",
    "deleted_messages",
)
CALLS = [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


class Injected(Exception):
    """Marks the faults this test raises (next to the driver's own class)."""


@dataclass
class Faults:
    """Counts storage calls; raises at the ``at``-th one (1-based) when armed."""

    kind: str = "error"
    at: int = 0  # 0: never
    calls: int = 0
    fired: bool = False
    #: PostgreSQL: ends a session from outside (the admin connection).
    terminate: Callable[[int], None] | None = None

    def reset(self, kind: str = "error", at: int = 0) -> None:
        self.kind, self.at, self.calls, self.fired = kind, at, 0, False

    def hit(self, real: Any) -> None:
        """One storage call on ``real`` (the driver's connection) is about to be made."""
        self.calls += 1
        if self.calls != self.at:
            return
        self.fired = True
        if isinstance(real, sqlite3.Connection):
            if self.kind == "lost":
                real.close()
                raise type("Lost", (sqlite3.OperationalError, Injected), {})("disk I/O error")
            raise type("Fault", (sqlite3.DatabaseError, Injected), {})("injected fault")
        import psycopg  # noqa: PLC0415

        if self.kind == "lost":
            assert self.terminate is not None
            self.terminate(real.info.backend_pid)
            return  # the call itself meets the dead connection
        raise type("Fault", (psycopg.DatabaseError, Injected), {})("injected fault")


class FaultyTransaction:
    """psycopg's ``conn.transaction()``, with a fault possible at begin and at commit."""

    def __init__(self, real: Any, faults: Faults) -> None:
        self.real = real
        self.faults = faults
        self.inner: Any = None

    def __enter__(self) -> Any:
        self.faults.hit(self.real)  # BEGIN
        self.inner = self.real.transaction()
        return self.inner.__enter__()

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> Any:
        if exc is None:
            try:
                self.faults.hit(self.real)  # COMMIT (before it reaches the database)
            except Exception as fault:
                self.inner.__exit__(type(fault), fault, fault.__traceback__)
                raise
        return self.inner.__exit__(kind, exc, tb)


class FaultyConnection:
    """The driver's connection, each call counted (and maybe faulted) first."""

    def __init__(self, real: Any, faults: Faults) -> None:
        self.real = real
        self.faults = faults

    def execute(self, *args: Any) -> Any:
        self.faults.hit(self.real)
        return self.real.execute(*args)

    def transaction(self) -> FaultyTransaction:
        return FaultyTransaction(self.real, self.faults)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture(scope="module")
def modules() -> Any:
    require_server_deps()
    sys.path.insert(0, str(SERVER))
    try:
        import app as app_module  # noqa: PLC0415
        import store as store_module  # noqa: PLC0415

        yield app_module, store_module
    finally:
        sys.path.remove(str(SERVER))


@dataclass
class Harness:
    db: str
    faults: Faults
    client: Any
    store: Any
    app_module: Any
    admin: Any = None

    def request(self, method: str, path: str, body: Any = None) -> Any:
        return self.client.request(method, "/v1" + path, json=body)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        r = self.request(method, path, body)
        assert r.status_code == 200, (method, path, r.status_code, r.text)
        return r.json()

    def clear(self) -> None:
        if self.db.startswith("sqlite:///"):
            conn: Any = sqlite3.connect(self.db[len("sqlite:///") :], isolation_level=None)
        else:
            conn = self.admin
        try:
            for table in reversed(TABLES):  # the referring tables first
                conn.execute(f"DELETE FROM {table}")
        finally:
            if conn is not self.admin:
                conn.close()

    def snapshot(self) -> dict[str, list[Any]]:
        if self.db.startswith("sqlite:///"):
            conn: Any = sqlite3.connect(self.db[len("sqlite:///") :])
        else:
            conn = self.admin
        try:
            return {
                t: sorted(map(tuple, conn.execute(f"SELECT * FROM {t}").fetchall())) for t in TABLES
            }
        finally:
            if conn is not self.admin:
                conn.close()


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.server_slow),
]


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: Any, modules: Any, tmp_path_factory: Any) -> Iterator[Harness]:
    """One database and app per backend, for the module's tests."""
    app_module, store_module = modules
    from starlette.testclient import TestClient  # noqa: PLC0415

    db = database(request.param, tmp_path_factory.mktemp(request.param))
    faults = Faults()
    admin = None
    if db.startswith("postgresql"):
        import psycopg  # noqa: PLC0415

        admin = psycopg.connect(db, autocommit=True)

        def terminate(pid: int) -> None:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))

        faults.terminate = terminate
    store = store_module.Store(db)
    store.create_schema()
    store.close()
    store.wrap = lambda conn: FaultyConnection(conn, faults)
    settings = app_module.Settings(max_streams=4)
    app = app_module.create_app(store, settings)
    with TestClient(app, headers=HEADERS) as client:
        yield Harness(db, faults, client, store, app_module, admin)
    if admin is not None:
        admin.close()


@pytest.fixture
def harness(backend: Harness) -> Harness:
    """The backend's app, on empty tables (small snapshots, and no runs of another test
    for the worker to move)."""
    backend.clear()
    return backend


# --------------------------------------------------------------------------------------
# The requests: each a setup (no faults) and the request (faults at every call)

Setup = Callable[[Harness], dict[str, str]]


def a_thread(h: Harness) -> dict[str, str]:
    return {"t": h.ok("POST", "/threads", {"messages": [{"role": "user", "content": "Hi"}]})["id"]}


def a_run(h: Harness, *moves: dict[str, Any]) -> dict[str, str]:
    ids = a_thread(h)
    ids["r"] = h.ok("POST", f"/threads/{ids['t']}/runs", {"assistant_id": "asst_f"})["id"]
    for move in moves:
        h.ok("POST", f"/threads/{ids['t']}/runs/{ids['r']}/advance", move)
    return ids


def a_busy_thread(h: Harness) -> dict[str, str]:
    return a_run(h)


def in_progress(h: Harness) -> dict[str, str]:
    return a_run(h, {"to": "in_progress"})


def writing(h: Harness) -> dict[str, str]:
    return a_run(h, {"to": "in_progress"}, {"step": "open_message_step"})


def ended(h: Harness) -> dict[str, str]:
    return a_run(h, {"to": "in_progress"}, {"to": "completed", "usage": USAGE})


def waiting(h: Harness) -> dict[str, str]:
    return a_run(h, {"to": "in_progress"}, {"to": "requires_action", "tool_calls": CALLS})


def an_assistant(h: Harness) -> dict[str, str]:
    return {"a": h.ok("POST", "/assistants", {"model": "gpt-4o", "name": "n"})["id"]}


def answered(h: Harness) -> dict[str, str]:
    """An ended run that wrote a message (``m``)."""
    ids = a_run(
        h,
        {"to": "in_progress"},
        {"step": "open_message_step"},
        {"step": "finish_message_step", "text": "Hello."},
        {"to": "completed", "usage": USAGE},
    )
    ids["m"] = h.ok("GET", f"/threads/{ids['t']}/messages?run_id={ids['r']}")["data"][0]["id"]
    return ids


def a_user_message(h: Harness) -> dict[str, str]:
    ids = a_thread(h)
    ids["m"] = h.ok("GET", f"/threads/{ids['t']}/messages")["data"][0]["id"]
    return ids


RUN = "/threads/{t}/runs/{r}"
MESSAGES = "/threads/{t}/messages"
#: name -> (setup, method, path, body)
REQUESTS: dict[str, tuple[Setup, str, str, Any]] = {
    "create assistant": (lambda h: {}, "POST", "/assistants", {"model": "gpt-4o"}),
    "create thread": (
        lambda h: {},
        "POST",
        "/threads",
        {"messages": [{"role": "user", "content": "Hi"}], "metadata": {"k": "v"}},
    ),
    "retrieve thread": (a_thread, "GET", "/threads/{t}", None),
    "create run": (a_thread, "POST", "/threads/{t}/runs", {"assistant_id": "asst_f"}),
    "create run, thread busy": (
        a_busy_thread,
        "POST",
        "/threads/{t}/runs",
        {"assistant_id": "asst_f"},
    ),
    "create thread and run": (
        lambda h: {},
        "POST",
        "/threads/runs",
        {"assistant_id": "asst_f", "thread": {"messages": [{"role": "user", "content": "Hi"}]}},
    ),
    "retrieve run": (a_run, "GET", RUN, None),
    "list runs": (a_run, "GET", "/threads/{t}/runs", None),
    "modify run": (ended, "POST", RUN, {"metadata": {"k": "v"}}),
    "cancel": (in_progress, "POST", RUN + "/cancel", None),
    "submit tool outputs": (
        waiting,
        "POST",
        RUN + "/submit_tool_outputs",
        {"tool_outputs": [{"tool_call_id": "call_1", "output": "ok"}]},
    ),
    "list steps": (writing, "GET", RUN + "/steps", None),
    "advance: start": (a_run, "POST", RUN + "/advance", {"to": "in_progress"}),
    "advance: open a message": (
        in_progress,
        "POST",
        RUN + "/advance",
        {"step": "open_message_step"},
    ),
    "advance: write it": (
        writing,
        "POST",
        RUN + "/advance",
        {"step": "finish_message_step", "text": "Hello."},
    ),
    "advance: require action": (
        in_progress,
        "POST",
        RUN + "/advance",
        {"to": "requires_action", "tool_calls": CALLS},
    ),
    "advance: complete (ends the open step)": (
        writing,
        "POST",
        RUN + "/advance",
        {"to": "completed", "usage": USAGE},
    ),
    "advance: expire": (writing, "POST", RUN + "/advance", {"to": "expired"}),
    # The Assistants surface (issue 19)
    "list assistants": (an_assistant, "GET", "/assistants", None),
    "modify assistant": (an_assistant, "POST", "/assistants/{a}", {"name": "m"}),
    "delete assistant": (an_assistant, "DELETE", "/assistants/{a}", None),
    "modify thread": (a_thread, "POST", "/threads/{t}", {"metadata": {"k": "v"}}),
    "delete thread": (answered, "DELETE", "/threads/{t}", None),
    "delete thread, thread busy": (a_busy_thread, "DELETE", "/threads/{t}", None),
    "create message": (a_thread, "POST", MESSAGES, {"role": "user", "content": "x"}),
    "create message, thread busy": (
        a_busy_thread,
        "POST",
        MESSAGES,
        {"role": "user", "content": "x"},
    ),
    "list messages of a run": (answered, "GET", MESSAGES + "?run_id={r}", None),
    "modify a run's message": (answered, "POST", MESSAGES + "/{m}", {"metadata": {"k": "v"}}),
    "modify a user message": (
        a_user_message,
        "POST",
        MESSAGES + "/{m}",
        {"metadata": {"k": "v"}},
    ),
    "delete a run's message": (answered, "DELETE", MESSAGES + "/{m}", None),
    "delete a user message": (a_user_message, "DELETE", MESSAGES + "/{m}", None),
}


def fill(path: str, ids: dict[str, str]) -> str:
    for key in ("t", "r", "m", "a"):
        path = path.replace("{" + key + "}", ids.get(key, ""))
    return path


def check_answer(name: str, r: Any) -> bool:
    """True when the request succeeded; else it must be an API-shaped 5xx."""
    if r.status_code < 300 or (name.endswith("busy") and r.status_code == 400):
        return True  # (the busy thread's refusal is its success)
    assert 500 <= r.status_code < 600, (name, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json"), (name, r.text)
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert "Traceback" not in r.text and "injected" not in r.text, r.text
    return False


def still_answers(h: Harness) -> None:
    """The store recovered: the next requests (reads and writes) work."""
    ids = a_run(h)
    h.ok("GET", fill(RUN, ids))


@contextmanager
def armed(h: Harness, kind: str, at: int) -> Iterator[None]:
    h.faults.reset(kind, at)
    try:
        yield
    finally:
        h.faults.reset()


def count_calls(h: Harness, name: str) -> int:
    setup, method, path, body = REQUESTS[name]
    ids = setup(h)
    with armed(h, "error", 0):
        r = h.request(method, fill(path, ids), body)
        calls = h.faults.calls
    expected = 400 if name.endswith("busy") else 200
    assert r.status_code == expected, r.text
    return calls


@pytest.mark.parametrize("name", list(REQUESTS))
def test_a_fault_at_any_storage_call_changes_nothing_or_succeeds(
    harness: Harness, name: str
) -> None:
    h = harness
    setup, method, path, body = REQUESTS[name]
    calls = count_calls(h, name)
    assert calls > 0
    tried = 0
    for kind in ("error", "lost"):
        for at in range(1, calls + 1):
            ids = setup(h)
            before = h.snapshot()
            with armed(h, kind, at):
                r = h.request(method, fill(path, ids), body)
                fired = h.faults.fired
            assert fired, (name, kind, at)  # the request made the call it made when counted
            tried += 1
            if not check_answer(name, r):
                assert h.snapshot() == before, (name, kind, at, r.text)
                if kind == "lost" and h.db.startswith("postgresql"):
                    # The database went away: the server's 503, not a 500.
                    assert r.status_code == 503, (name, at, r.text)
                    assert r.json()["error"]["code"] == "database_unavailable"
            still_answers(h)
    assert tried == 2 * calls
    assert check_database(read_database(h.db)) == []


def test_the_worker_survives_a_fault_at_any_point_of_a_sweep(harness: Harness) -> None:
    """The --auto worker's sweep (each run one scripted step on): a fault leaves the run
    as it was, and the next sweep moves it on."""
    h = harness
    worker = h.app_module.AutoWorker(h.store, 0)

    def cancelling() -> dict[str, str]:
        ids = a_run(h, {"to": "in_progress"})
        h.ok("POST", fill(RUN + "/cancel", ids))  # the worker finishes the cancel
        return ids

    cancelling()
    with armed(h, "error", 0):
        worker.sweep()
        calls = h.faults.calls
    assert calls > 0
    for kind in ("error", "lost"):
        for at in range(1, calls + 1):
            ids = cancelling()  # the only run a sweep works on
            before = h.snapshot()
            with armed(h, kind, at):
                worker.sweep()
                fired = h.faults.fired
            assert fired
            status = h.ok("GET", fill(RUN, ids))["status"]
            if status == "cancelling":
                assert h.snapshot() == before, (kind, at)
                worker.sweep()
                assert h.ok("GET", fill(RUN, ids))["status"] == "cancelled"
            else:
                assert status == "cancelled"
    assert check_database(read_database(h.db)) == []
