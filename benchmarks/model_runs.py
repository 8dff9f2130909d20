"""Benchmark of the model worker (``serve.py --model-backend``): not a test.

Runs executed per second by N ``serve.py`` processes sharing one database, on the
scripted fake backend (``tests/fake_chat_backend.py``: it answers at once, so this
measures the server's own cost per run: claim, start, the backend call, the message
written in pieces, complete, release). Each run is one thread with a user message and
one run. The runs are created first (on a server without a worker), so the clock
measures the workers alone, their start-up included (about a second). It also checks
what the fair-share test checks: no run executed twice.

    python benchmarks/model_runs.py [--runs 200] [--workers 2] [--concurrency 4]
                                    [--chunks 8] [--pg-url postgresql://...] [--sqlite]

PostgreSQL comes from --pg-url, RUNSTATE_TEST_PG_URL, or a throwaway cluster.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import server_helpers as h
from fake_chat_backend import FakeBackend, text


def create(bases: list[str], count: int, clients: int) -> list[str]:
    def one(i: int) -> str:
        with h.client(bases[i % len(bases)]) as http:
            thread_id = h.new_thread(http)
            r = http.post(f"/threads/{thread_id}/runs", json={"assistant_id": "asst_bench"})
            r.raise_for_status()
            return str(r.json()["id"])

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, range(count)))


def completed(db: str) -> int:
    """How many runs have completed (one light query: the poll must not load the servers)."""
    sql = "SELECT COUNT(*) FROM runs WHERE status = 'completed'"
    if db.startswith("sqlite:///"):
        with sqlite3.connect(db[len("sqlite:///") :]) as conn:
            return int(conn.execute(sql).fetchone()[0])
    import psycopg  # noqa: PLC0415

    with psycopg.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])  # type: ignore[index]


def wait_all(db: str, count: int) -> None:
    give_up = time.monotonic() + 1800
    while completed(db) < count:
        if time.monotonic() > give_up:
            sys.exit("gave up waiting for the runs")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="serve.py processes")
    parser.add_argument("--concurrency", type=int, default=4, help="--model-concurrency")
    parser.add_argument("--chunks", type=int, default=8, help="streamed pieces per answer")
    parser.add_argument("--clients", type=int, default=8, help="threads creating runs")
    parser.add_argument("--pg-url", default=os.environ.get(h.PG_ENV))
    parser.add_argument("--sqlite", action="store_true", help="SQLite (one process) instead")
    args = parser.parse_args()
    if args.sqlite:
        db = h.sqlite_url(Path(tempfile.mkdtemp(prefix="runstate-bench-")))
        args.workers = 1
    else:
        if args.pg_url:
            os.environ[h.PG_ENV] = args.pg_url
        url, why = h.postgres_url()
        if url is None:
            sys.exit(f"no PostgreSQL: {why}")
        db = url
    fake = FakeBackend().start()
    words = "A scripted answer, streamed in pieces by the fake backend."
    fake.script(*[text(words, chunks=args.chunks) for _ in range(args.runs)])
    options = ("--model-backend", fake.url, "--model-concurrency", str(args.concurrency))
    try:
        # The runs are made first, on a server without a worker: the clock then measures
        # the workers alone, from their start to the last run completed.
        with h.Server(db, "--poll-after-ms", "50") as maker:
            runs = create([maker.base], args.runs, args.clients)
        t0 = time.perf_counter()
        with h.servers(db, args.workers, *options, "--poll-after-ms", "50"):
            wait_all(db, args.runs)
            seconds = time.perf_counter() - t0
    finally:
        fake.stop()
    executed = Counter(x["x-runstate-run"] for x in fake.headers)
    twice = [r for r, n in executed.items() if n > 1]
    shares = Counter(x["x-runstate-worker"] for x in fake.headers)
    kind = "SQLite" if args.sqlite else "PostgreSQL"
    print(
        f"{kind}, {args.workers} worker process(es) x concurrency {args.concurrency}, "
        f"{args.runs} runs, {args.chunks} pieces each: {seconds:.2f} s "
        f"({args.runs / seconds:.1f} runs/s, the workers' start-up included)"
    )
    print(f"runs per worker: {sorted(shares.values())}; executed twice: {len(twice)}")
    problems = h.check_database(h.read_database(db))
    print(f"stored histories with problems: {len(problems)}")
    if twice or problems or sorted(executed) != sorted(runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
