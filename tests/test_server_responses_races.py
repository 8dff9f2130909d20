"""The example server's ``/v1/responses`` under races and crashes, on SQLite and PostgreSQL.

16 client threads cancel, poll and resume the streams of the same background responses
(and create more, background or synchronous) while the ``--auto`` worker finishes them.
Afterwards, read straight from the database: every response parses and keeps its
per-status rules (``violations`` empty), its stored events are numbered 0, 1, 2... and
pass ``check_trace(mode="stream")`` with exactly one terminal event, the last, carrying
the stored response; no response is both cancelled and completed (an acknowledged cancel
is the final state, a completion seen by a poll is the final state, never both); every
response a client was answered about is stored; every resumed stream is exactly the
stored events after its ``starting_after`` (nothing lost, nothing repeated); no request
got a 5xx. PostgreSQL runs two server processes on one database, the requests (resumes
included) alternating between them. The crash tests SIGKILL the servers mid-load, check
what the database kept, restart them and check that every response then ends.
"""

from __future__ import annotations

import collections
import json
import random
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from server_helpers import database, servers, wait_for
from test_server_responses import dumped

from runstate import responses as rr

pytestmark = pytest.mark.server_slow

RESPONSES = 24
CLIENTS = 16
REQUESTS = 600
#: The crash tests kill the servers after this many answers (the load keeps going).
MID_LOAD = 150
SETUPS = [pytest.param("sqlite", 1, id="sqlite"), pytest.param("postgresql", 2, id="pg-2-procs")]
TERMINAL_EVENTS = ("response.completed", "response.failed", "response.incomplete")


@dataclass
class Record:
    op: str
    response_id: str
    status: int
    body: Any
    after: int = -1  # a resume's starting_after


@dataclass
class Load:
    records: list[Record] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def sse_events(lines: Any) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in lines if line.startswith("data: ")]


def create(http: httpx.Client, *, background: bool, stream: bool) -> tuple[int, Any]:
    """Create a response; for a stream, read its first event and drop it."""
    body = {"model": "m", "input": "Hi", "background": background, "stream": stream}
    if not stream:
        r = http.post("/responses", json=body)
        return r.status_code, r.json()
    with http.stream("POST", "/responses", json=body) as r:
        if r.status_code != 200:
            r.read()
            return r.status_code, r.json()
        for line in r.iter_lines():
            if line.startswith("data: "):
                return 200, json.loads(line[6:])["response"]
    raise AssertionError("a stream without events")


def hammer(
    bases: Sequence[str],
    ids: list[str],
    *,
    requests: int = REQUESTS,
    stop: threading.Event | None = None,
    load: Load | None = None,
    seed: int = 0,
) -> Load:
    """``CLIENTS`` threads fire ``requests`` requests at the responses in ``ids``: cancel,
    poll, resume (``starting_after`` drawn from -1 to 12; -1: from the start), create."""
    load = Load() if load is None else load
    pool = list(ids)
    counter = iter(range(requests))
    lock = threading.Lock()

    def one_client(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        https = [httpx.Client(base_url=b, timeout=120) for b in bases]
        try:
            while stop is None or not stop.is_set():
                with lock:
                    i = next(counter, None)
                    # Mostly the newest responses: the ones still in flight.
                    response_id = rng.choice(pool[-8:] if rng.random() < 0.7 else pool)
                if i is None:
                    return
                http = https[i % len(https)]
                roll = rng.random()
                try:
                    record = _one(http, rng, roll, response_id)
                except (httpx.HTTPError, json.JSONDecodeError) as exc:
                    with load.lock:
                        load.errors.append(f"{roll:.2f} {response_id}: {exc!r}")
                    return
                with load.lock:
                    load.records.append(record)
                    if record.op.startswith("create") and record.status == 200:
                        load.created.append(record.response_id)
                if record.op.startswith("create") and record.status == 200:
                    with lock:
                        pool.append(record.response_id)
        finally:
            for h in https:
                h.close()

    workers = [threading.Thread(target=one_client, args=(k,)) for k in range(CLIENTS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return load


def _one(http: httpx.Client, rng: random.Random, roll: float, response_id: str) -> Record:
    if roll < 0.3:
        r = http.post(f"/responses/{response_id}/cancel")
        return Record("cancel", response_id, r.status_code, r.json())
    if roll < 0.6:
        r = http.get(f"/responses/{response_id}")
        return Record("poll", response_id, r.status_code, r.json())
    if roll < 0.85:
        after = rng.randrange(-1, 13)
        params = {"stream": "true"} | ({} if after < 0 else {"starting_after": str(after)})
        with http.stream("GET", f"/responses/{response_id}", params=params) as r:
            if r.status_code != 200:
                r.read()
                return Record("resume", response_id, r.status_code, r.json(), after)
            return Record("resume", response_id, 200, sse_events(r.iter_lines()), after)
    background = rng.random() < 0.8
    stream = background and rng.random() < 0.6
    status, body = create(http, background=background, stream=stream)
    kind = "create-background" if background else "create-sync"
    return Record(kind, body.get("id", ""), status, body)


# --------------------------------------------------------------------------------------
# What the database holds


def _connect(db: str) -> Any:
    if db.startswith("sqlite:///"):
        return sqlite3.connect(db[len("sqlite:///") :])
    import psycopg  # noqa: PLC0415

    return psycopg.connect(db)


def read_responses(db: str) -> dict[str, tuple[str, int, str]]:
    """response id -> (status, next_event, body)."""
    conn = _connect(db)
    try:
        rows = conn.execute("SELECT id, status, next_event, body FROM responses").fetchall()
    finally:
        conn.close()
    return {r[0]: (r[1], int(r[2]), r[3]) for r in rows}


def read_events(db: str) -> dict[str, list[dict[str, Any]]]:
    """response id -> its stored events, in number order."""
    conn = _connect(db)
    try:
        rows = conn.execute(
            "SELECT response_id, body FROM response_events ORDER BY response_id, sequence_number"
        ).fetchall()
    finally:
        conn.close()
    found: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for response_id, body in rows:
        found[response_id].append(json.loads(body))
    return dict(found)


def check_stored(db: str, *, ended: bool) -> list[str]:
    """Every stored response is valid and its events are a valid, gapless stream with at
    most one terminal event (exactly one, the last, carrying the response, once it ended;
    with ``ended``, every response must have)."""
    problems: list[str] = []
    rows = read_responses(db)
    events = read_events(db)
    for response_id, (status, next_event, body) in rows.items():
        response = rr.parse_response(body)
        if rr.violations(response):
            problems.append(f"{response_id}: {rr.violations(response)}")
        mine = events.get(response_id, [])
        numbers = [e["sequence_number"] for e in mine]
        if numbers != list(range(next_event)):
            problems.append(f"{response_id}: events {numbers}, next_event {next_event}")
            continue
        report = rr.check_trace(mine, mode="stream")
        if report.errors:
            problems.append(f"{response_id}: {[str(p) for p in report.errors]}")
        polled = [e["response"] for e in mine if "response" in e]
        if not rr.check_trace(polled, mode="poll").ok:
            problems.append(f"{response_id}: the polled snapshots are not a legal trace")
        terminal = [e for e in mine if e["type"] in TERMINAL_EVENTS]
        if response.status in rr.TERMINAL:
            if len(terminal) != 1 or terminal[0] is not mine[-1]:
                problems.append(f"{response_id}: {len(terminal)} terminal events")
            elif terminal[0]["response"] != json.loads(body):
                problems.append(f"{response_id}: the terminal event is not the stored response")
        elif terminal or ended:
            problems.append(f"{response_id}: {status} with {len(terminal)} terminal events")
    return problems


def check_load(db: str, load: Load, *, streams_whole: bool = True) -> list[str]:
    """What the clients were answered agrees with what is stored."""
    problems: list[str] = []
    rows = read_responses(db)
    events = read_events(db)
    final = {i: json.loads(body) for i, (_, _, body) in rows.items()}
    cancelled, completed = set(), set()
    for rec in load.records:
        if rec.status >= 500:
            problems.append(f"{rec.op} {rec.response_id}: {rec.status} {rec.body}")
            continue
        if rec.status != 200:
            continue
        stored = final.get(rec.response_id)
        if stored is None:
            problems.append(f"{rec.op} {rec.response_id}: answered 200 but not stored")
            continue
        if rec.op == "cancel":
            cancelled.add(rec.response_id)
            if rec.body != stored:
                problems.append(f"cancel {rec.response_id}: acknowledged {rec.body['status']}")
        elif rec.op == "poll" and rec.body["status"] == "completed":
            completed.add(rec.response_id)
        elif rec.op == "resume" and streams_whole:
            tail = [e for e in events[rec.response_id] if e["sequence_number"] > rec.after]
            if rec.body != tail:
                problems.append(f"resume {rec.response_id} after {rec.after}: not the stored tail")
    for response_id in cancelled & completed:
        problems.append(f"{response_id}: both cancelled and completed")
    for response_id in cancelled:
        if final[response_id]["status"] != "cancelled":
            problems.append(
                f"{response_id}: cancel acknowledged, ended {final[response_id]['status']}"
            )
    for response_id in completed:
        if final[response_id]["status"] != "completed":
            problems.append(f"{response_id}: seen completed, ended {final[response_id]['status']}")
    return problems


def all_ended(db: str) -> bool:
    return all(v[0] not in ("queued", "in_progress") for v in read_responses(db).values())


def setup(base: str) -> list[str]:
    with httpx.Client(base_url=base, timeout=60) as http:
        return [create(http, background=True, stream=i % 2 == 0)[1]["id"] for i in range(RESPONSES)]


# --------------------------------------------------------------------------------------
# The tests


@pytest.mark.parametrize(("backend", "processes"), SETUPS)
def test_races(backend: str, processes: int, tmp_path: Path) -> None:
    db = database(backend, tmp_path)
    with servers(db, processes, "--auto", "--auto-delay", "0.05") as started:
        ids = setup(started[0].base)
        load = hammer([s.base for s in started], ids)
        logs = [s.stderr() for s in started]
        # Let the worker end what the load left running (cancel won or completion).
        wait_for(lambda: all_ended(db), "every response to end")
    assert not load.errors, load.errors[:5]
    assert len(load.records) == REQUESTS
    outcomes = collections.Counter((r.op, r.status) for r in load.records)
    # The load did race: cancels were both accepted and refused, resumes were served.
    assert outcomes["cancel", 200] > 0 and outcomes["cancel", 400] > 0, outcomes
    assert outcomes["resume", 200] > 0 and outcomes["poll", 200] > 0, outcomes
    finals = collections.Counter(v[0] for v in read_responses(db).values())
    assert finals["cancelled"] > 0 and finals["completed"] > 0, finals
    assert check_stored(db, ended=True) == []
    assert check_load(db, load) == []
    assert not any("Traceback" in log for log in logs), logs


@pytest.mark.parametrize(("backend", "processes"), SETUPS)
def test_sigkill_mid_load_leaves_every_response_valid(
    backend: str, processes: int, tmp_path: Path
) -> None:
    db = database(backend, tmp_path)
    load = Load()
    stop = threading.Event()
    with servers(db, processes, "--auto", "--auto-delay", "0.05") as started:
        ids = setup(started[0].base)
        runner = threading.Thread(
            target=hammer,
            args=([s.base for s in started], ids),
            kwargs={"requests": REQUESTS * 10, "stop": stop, "load": load, "seed": 1},
        )
        runner.start()
        wait_for(lambda: len(load.records) >= MID_LOAD, "the load to get going")
        for s in started:
            s.kill()
        stop.set()
        runner.join(300)
        assert not runner.is_alive()
    # What the crash left: valid, but some responses may be in flight.
    assert check_stored(db, ended=False) == []
    assert check_load(db, load, streams_whole=False) == []
    # Restarted, the worker ends every response the crash left in flight.
    with servers(db, processes, "--auto", "--auto-delay", "0.05"):
        wait_for(lambda: all_ended(db), "every response to end after the restart")
    assert check_stored(db, ended=True) == []


def test_a_replay_started_on_one_process_continues_on_another(tmp_path: Path) -> None:
    """Two processes on one PostgreSQL: the SDK's stream is dropped on one and resumed on
    the other, while a third client reads it live on the first; no event is lost or
    repeated."""
    db = database("postgresql", tmp_path)
    with servers(db, 2) as (one, two):
        first = openai.OpenAI(base_url=one.base, api_key="test", max_retries=0)
        second = openai.OpenAI(base_url=two.base, api_key="test", max_retries=0)
        stream = first.responses.create(model="m", input="Hi", background=True, stream=True)
        seen = []
        for event in stream:
            seen.append(event)
            if len(seen) == 2:
                break
        stream.close()
        response_id = seen[0].response.id
        live: list[Any] = []
        reader = threading.Thread(
            target=lambda: live.extend(first.responses.retrieve(response_id, stream=True))
        )
        reader.start()
        for to in ("in_progress", "completed"):
            r = httpx.post(f"{two.base}/responses/{response_id}/advance", json={"to": to})
            assert r.status_code == 200, r.text
        rest = list(second.responses.retrieve(response_id, stream=True, starting_after=1))
        reader.join(60)
        joined = dumped(seen + rest)
        assert joined == dumped(live)
        assert [e["sequence_number"] for e in joined] == list(range(len(joined)))
        assert rr.check_trace(joined, mode="stream").ok
