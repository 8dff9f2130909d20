"""Benchmark of the example server (examples/server): not a test.

For SQLite (one process), PostgreSQL with one process and PostgreSQL with two processes
on one database, and for 1, 4 and 16 client threads: requests per second and the p50/p99
latency of a create -> start -> cancel -> finish-cancel cycle (four requests), and the
server's CPU per request. Then one profiled run per backend: the share of the request
handlers' time spent inside runstate (cProfile, so absolute times are inflated).

    python benchmarks/server.py [--seconds 3] [--pg-url postgresql://...]

PostgreSQL comes from --pg-url, RUNSTATE_TEST_PG_URL, or a throwaway cluster.
"""

from __future__ import annotations

import argparse
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import server_helpers as h


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cycle_load(bases: list[str], clients: int, seconds: float) -> tuple[int, list[float]]:
    """Each client repeats create -> start -> cancel -> finish-cancel on its own thread."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def one(k: int) -> None:
        with h.client(bases[k % len(bases)]) as http:
            thread_id = h.new_thread(http)
            mine = []
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                run = h.new_run(http, thread_id)
                run_path = f"/threads/{thread_id}/runs/{run['id']}"
                assert http.post(run_path + "/advance", json={"to": "in_progress"}).is_success
                assert http.post(run_path + "/cancel").is_success
                assert http.post(run_path + "/advance", json={"to": "cancelled"}).is_success
                mine.append(time.perf_counter() - t0)
            with lock:
                latencies.extend(mine)

    workers = [threading.Thread(target=one, args=(k,)) for k in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(latencies), latencies


def measure(name: str, db: str, processes: int, seconds: float) -> None:
    for clients in (1, 4, 16):
        with h.servers(db, processes) as started:
            pids = [s.proc.pid for s in started if s.proc is not None]
            cpu0 = sum(cpu_seconds(p) for p in pids)
            t0 = time.perf_counter()
            cycles, latencies = cycle_load([s.base for s in started], clients, seconds)
            elapsed = time.perf_counter() - t0
            cpu = sum(cpu_seconds(p) for p in pids) - cpu0
        requests = cycles * 4
        q = statistics.quantiles(latencies, n=100)
        print(
            f"{name:<18} {clients:>3} threads: {requests / elapsed:7.0f} req/s, "
            f"cycle p50 {q[49] * 1000:6.1f} ms, p99 {q[98] * 1000:6.1f} ms, "
            f"server CPU {cpu / requests * 1e6:5.0f} us/request",
            flush=True,
        )


def profile(name: str, db: str, seconds: float) -> None:
    path = tempfile.mktemp(suffix=".prof")
    with h.servers(db, 1, "--profile", path) as started:
        cycles, _ = cycle_load([started[0].base], 4, seconds)
    stats = pstats.Stats(path)
    total = 0.0
    inside = 0.0
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        total += tottime
        if f"{os.sep}runstate{os.sep}" in filename and "examples" not in filename:
            inside += tottime
    os.unlink(path)
    print(
        f"{name:<18} runstate: {inside / total:5.1%} of the handlers' time "
        f"({inside / (cycles * 4) * 1e6:.0f} us of {total / (cycles * 4) * 1e6:.0f} us per "
        "request, under cProfile)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--pg-url")
    args = parser.parse_args()
    if args.pg_url:
        os.environ[h.PG_ENV] = args.pg_url
    tmp = Path(tempfile.mkdtemp(prefix="runstate-bench-"))
    setups = [("sqlite", lambda i: f"sqlite:///{tmp / f'runs{i}.db'}", 1)]
    if h.postgres_admin_url()[0] is not None:
        setups += [
            ("postgresql x1", lambda i: h.postgres_url()[0], 1),
            ("postgresql x2", lambda i: h.postgres_url()[0], 2),
        ]
    else:
        print("PostgreSQL: skipped,", h.postgres_admin_url()[1])
    for i, (name, db, processes) in enumerate(setups):
        measure(name, str(db(i)), processes, args.seconds)
    profile("sqlite", f"sqlite:///{tmp / 'profiled.db'}", args.seconds)
    if len(setups) > 1:
        profile("postgresql", str(h.postgres_url()[0]), args.seconds)


if __name__ == "__main__":
    main()
