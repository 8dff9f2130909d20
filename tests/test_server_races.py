"""The example server under races and crashes, on SQLite and on PostgreSQL.

16 client threads fire cancel, worker steps (``/advance``), tool outputs, metadata edits
and new runs at the same 50 threads' runs. Afterwards, read straight from the database:
every run parses and validates, its row is the last entry of its history, every history
is a legal poll trace with at most one terminal status, no thread ever had two active
runs (in commit order), every acknowledged change is in its run's history, and no
request got a 500. PostgreSQL runs two server processes on one database.

The runs' steps and messages, stored in the same transactions, are checked with them:
none is open on an ended run, and every run's history, replayed as one stream (steps and
messages included), passes ``check_trace(mode="stream")``.

The crash tests SIGKILL the server(s) in the middle of the load, restart them and check
the same of what the database kept.
"""

from __future__ import annotations

import collections
import threading
from pathlib import Path

import httpx
import pytest
from server_helpers import (
    Load,
    Server,
    check_acknowledged,
    check_database,
    client,
    database,
    hammer,
    read_database,
    servers,
    setup_runs,
    wait_for,
)

import runstate as rs

pytestmark = pytest.mark.server_slow

RUNS = 50
CLIENTS = 16
REQUESTS = 5000
#: The crash tests kill the servers after this many answers (the load keeps going).
MID_LOAD = 300
#: How long the load's clients may take to notice the servers died: a bound on a hang.
STOP_TIMEOUT = 300


# SQLite is one process (an embedded file); PostgreSQL is shared by two processes.
SETUPS = [pytest.param("sqlite", 1, id="sqlite"), pytest.param("postgresql", 2, id="pg-2-procs")]


@pytest.mark.parametrize(("backend", "processes"), SETUPS)
def test_races(backend: str, processes: int, tmp_path: Path) -> None:
    db = database(backend, tmp_path)
    with servers(db, processes) as started:
        slots = setup_runs(started[0].base, RUNS)
        load = hammer([s.base for s in started], slots, clients=CLIENTS, requests=REQUESTS)
        logs = [s.stderr() for s in started]
    assert not load.errors
    assert len(load.records) == REQUESTS
    outcomes = collections.Counter((r.op, r.status) for r in load.records)
    # The load did race: every kind of request was both accepted and refused.
    for op in ("cancel", "advance", "submit", "create", "modify"):
        assert outcomes[op, 200] > 0, outcomes
        assert outcomes[op, 400] + outcomes[op, 409] > 0, outcomes
    snapshot = read_database(db)
    assert len(snapshot.runs) > RUNS  # new runs were created on freed threads
    assert check_database(snapshot) == []
    assert check_acknowledged(load, snapshot) == []
    assert not any("Traceback" in log for log in logs), logs
    # The load opened steps and messages, and ended runs that had some: the step check
    # (none open on an ended run, every history a valid stream) had work to do.
    ended = {
        run_id
        for run_id, (_, _, body) in snapshot.runs.items()
        if rs.parse_run(body).status in rs.TERMINAL_STATUSES
    }
    assert snapshot.messages and ended & set(snapshot.steps), (len(snapshot.steps), len(ended))


def _crash_and_restart(db: str, processes: int) -> None:
    started = [Server(db) for _ in range(processes)]
    for s in started:
        s.start()
    try:
        slots = setup_runs(started[0].base, RUNS)
        stop = threading.Event()
        load = Load()
        loader = threading.Thread(
            target=hammer,
            args=([s.base for s in started], slots),
            kwargs={"clients": CLIENTS, "requests": 10**6, "stop": stop, "load": load},
        )
        loader.start()
        # Killed once the load has answered MID_LOAD requests (however long that takes on
        # a busy machine), or has stopped on its own (then the asserts below say why).
        wait_for(
            lambda: len(load.records) >= MID_LOAD or not loader.is_alive(),
            f"{MID_LOAD} answered requests",
        )
        for s in started:
            s.kill()  # SIGKILL, in the middle of the load
        stop.set()
        loader.join(STOP_TIMEOUT)
        assert not loader.is_alive()
        assert len(load.records) >= MID_LOAD, load.errors  # in the middle of the load
        assert load.errors  # the clients saw the servers die
    finally:
        for s in started:
            s.__exit__()
    snapshot = read_database(db)
    assert check_database(snapshot) == []
    assert check_acknowledged(load, snapshot) == []
    # Restarted, the server serves every run the database holds, and takes more load.
    with Server(db) as again:
        with client(again.base) as http:
            for run_id, (thread_id, _, _) in snapshot.runs.items():
                r = http.get(f"/threads/{thread_id}/runs/{run_id}")
                assert r.status_code == 200
                run = rs.parse_run(r.content)
                assert not [v for v in rs.violations(run) if v.severity == "error"]
        latest = {t: r for r, (t, _, _) in snapshot.runs.items()}  # any run per thread
        more = hammer([again.base], latest, clients=4, requests=300, seed=1)
    assert not more.errors
    after = read_database(db)
    assert check_database(after) == []
    assert check_acknowledged(more, after) == []


@pytest.mark.parametrize(("backend", "processes"), SETUPS)
def test_crash_mid_load_then_restart(backend: str, processes: int, tmp_path: Path) -> None:
    _crash_and_restart(database(backend, tmp_path), processes)


def test_two_processes_cannot_both_start_a_run_on_one_thread(tmp_path: Path) -> None:
    """Many clients race to create a run on the same fresh threads, through two processes
    on one PostgreSQL database: exactly one wins per thread, the rest get ThreadBusy."""
    db = database("postgresql", tmp_path)
    with servers(db, 2) as (one, two), client(one.base) as a:
        threads = [
            a.post("/threads", json={"messages": [{"role": "user", "content": "x"}]})
            for _ in range(10)
        ]
        ids = [t.json()["id"] for t in threads]
        answers: list[httpx.Response] = []
        lock = threading.Lock()

        def race(http_base: str) -> None:
            with client(http_base) as http:
                for thread_id in ids:
                    r = http.post(f"/threads/{thread_id}/runs", json={"assistant_id": "asst_1"})
                    with lock:
                        answers.append(r)

        racers = [threading.Thread(target=race, args=(s.base,)) for s in (one, two) * 4]
        for r in racers:
            r.start()
        for r in racers:
            r.join()
    by_thread = collections.defaultdict(list)
    for r in answers:
        assert r.status_code in (200, 400), r.text
        if r.status_code == 200:
            by_thread[r.json()["thread_id"]].append(r.json()["id"])
        else:
            assert "already has an active run" in r.json()["error"]["message"]
    assert sorted(by_thread) == sorted(ids)
    assert all(len(runs) == 1 for runs in by_thread.values())
