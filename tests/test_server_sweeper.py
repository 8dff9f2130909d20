"""The workers' scaffolding, in process: ``examples/server/sweeper.py``'s loop (its pauses,
wake-ups and failure log) and ``leases.Leases.watch`` (renewals, lost leases, cancels).

Every background worker of the example server is a ``Sweeper`` with its own sweep, and
both model workers keep their executions with ``Leases.watch``; the server tests drive
them end to end, these pin what they share.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_helpers import database, require_server_deps

SERVER = Path(__file__).resolve().parent.parent / "examples" / "server"


@pytest.fixture(scope="module")
def modules() -> Iterator[Any]:
    require_server_deps()
    sys.path.insert(0, str(SERVER))
    try:
        import leases  # noqa: PLC0415
        import store  # noqa: PLC0415
        import sweeper  # noqa: PLC0415

        yield sweeper, leases, store
    finally:
        sys.path.remove(str(SERVER))


class Waits:
    """A stand-in for the sweeper's wake-up event: records each pause asked for, and
    halts the loop after ``rounds`` of them."""

    def __init__(self, sweeper: Any, rounds: int) -> None:
        self.sweeper, self.rounds, self.pauses = sweeper, rounds, []

    def wait(self, timeout: float) -> bool:
        self.pauses.append(timeout)
        if len(self.pauses) >= self.rounds:
            self.sweeper.stopping.set()
        return False

    def clear(self) -> None:
        pass


def outcomes(*results: Any) -> Any:
    """A sweep raising or returning each of ``results`` in turn (an exception raises)."""
    left = list(results)

    def work() -> None:
        result = left.pop(0)
        if isinstance(result, BaseException):
            raise result

    return work


@pytest.mark.parametrize("back_off", [True, False])
def test_the_pause_doubles_while_sweeps_fail_and_comes_back(modules: Any, back_off: bool) -> None:
    sweeper_module, _, _ = modules
    work = outcomes(*[RuntimeError("down")] * 6, None, None)
    sweeper = sweeper_module.Sweeper(work, 0.1, name="test", back_off=back_off)
    sweeper.woken = waits = Waits(sweeper, 9)
    sweeper._loop()
    if back_off:
        assert waits.pauses == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 0.1, 0.1])
    else:
        assert waits.pauses == [0.1] * 9


def test_a_failing_sweep_is_logged_once_and_its_end_once(
    modules: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sweeper_module, _, store = modules
    away = store.Unavailable("the database is away")
    work = outcomes(RuntimeError("one"), RuntimeError("two"), away, None, None, away)
    sweeper = sweeper_module.Sweeper(work, 0.1, name="test worker")
    with caplog.at_level(logging.WARNING, logger="runstate.server"):
        assert [sweeper.sweep() for _ in range(6)] == [False, False, False, True, True, False]
    said = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "runstate.server"]
    assert said == [
        (logging.ERROR, "test worker sweep failed (logged once, until one works)"),
        (logging.WARNING, "test worker sweeps again"),
    ]  # an outage is the store's to log: neither a failure nor a recovery here
    assert not sweeper.failing


def test_wake_sweeps_before_the_pause_and_stop_ends_the_thread(modules: Any) -> None:
    sweeper_module, _, _ = modules
    swept = threading.Event()
    sweeper = sweeper_module.Sweeper(swept.set, 3600.0, name="test wake")
    sweeper.start()
    try:
        sweeper.wake()
        assert swept.wait(60)  # an hour's pause, cut short
    finally:
        sweeper.stop(timeout=60)
    assert not sweeper.thread.is_alive()
    assert sweeper.thread.name == "test-wake"


def test_the_watch_renews_aborts_the_cancelled_and_the_lost(
    modules: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, leases_module, store_module = modules
    store = store_module.Store(database("sqlite", tmp_path))
    store.create_schema()
    try:
        leases = leases_module.Leases(store)
        leases.create_schema()
        for id in ("kept", "cancelled", "young"):
            assert leases.claim("run", id, "me", 600)
        assert leases.claim("run", "taken", "other", 600)  # not ours (lapsed, taken over)
        held = {id: leases_module.Held(renewed=float("-inf")) for id in ("kept", "cancelled")}
        held["taken"] = leases_module.Held(renewed=float("-inf"))
        held["young"] = leases_module.Held()  # renewed just now: not due
        young = held["young"].renewed
        statuses = {"kept": "in_progress", "cancelled": "cancelling", "taken": "queued"}
        statuses["young"] = "queued"
        asked: list[list[str]] = []

        def look(ids: list[str]) -> dict[str, str]:
            asked.append(ids)
            return {i: statuses[i] for i in ids}

        with caplog.at_level(logging.WARNING, logger="runstate.server"):
            for _ in range(2):
                leases.watch("run", "me", 600, held, look)
        assert asked == [["kept", "cancelled", "taken", "young"]] * 2
        assert not held["kept"].cancelled.is_set() and not held["kept"].lost
        assert held["kept"].renewed > float("-inf")
        assert held["cancelled"].cancelled.is_set() and not held["cancelled"].lost
        assert held["taken"].cancelled.is_set() and held["taken"].lost
        assert leases.owner_of("run", "taken") == "other"
        assert not held["young"].cancelled.is_set() and held["young"].renewed == young
        said = [r.getMessage() for r in caplog.records if r.name == "runstate.server"]
        assert said == ["lost the lease of run taken: aborting"]  # once, not every watch
    finally:
        store.close()


def test_the_hand_claims_executes_and_gives_back(modules: Any, tmp_path: Path) -> None:
    _, leases_module, store_module = modules
    store = store_module.Store(database("sqlite", tmp_path))
    store.create_schema()
    leases = leases_module.Leases(store)
    leases.create_schema()
    ended: list[str] = []
    hand = leases_module.Hand(
        leases,
        "run",
        "me",
        600,
        limit=1,
        threads=2,
        name="test-hand",
        ended=lambda: ended.append(""),
    )
    try:
        go, seen = threading.Event(), []

        def run(work: Any) -> None:
            seen.append(leases.owner_of("run", "a"))  # claimed before it runs
            assert go.wait(60)

        assert hand.take("a", leases_module.Held, run)
        assert not hand.take("a", leases_module.Held, run)  # in hand already
        assert not hand.take("b", leases_module.Held, run)  # full (limit 1)
        assert leases.owner_of("run", "b") is None  # and not claimed
        assert hand.free() == 0 and list(hand.held()) == ["a"]
        hand.hold("sync", leases_module.Held(), counted=False)  # a request's own: not counted
        assert hand.free() == 0 and sorted(hand.held()) == ["a", "sync"]
        go.set()
        hand.shutdown()
        assert seen == ["me"] and ended == [""]  # one counted execution ended: one wake-up
        assert leases.owner_of("run", "a") is None  # released
        assert hand.free() == 1 and list(hand.held()) == ["sync"]

        assert leases.claim("run", "taken", "other", 600)
        assert not hand.take("taken", leases_module.Held, run)  # another worker's

        lost = leases_module.Held(lost=True)
        assert leases.claim("run", "lost", "me", 600)
        hand.hold("lost", lost, counted=False)
        hand.execute("lost", lost, lambda work: None, counted=False)
        assert leases.owner_of("run", "lost") == "me"  # lost: not ours to release
        assert ended == [""] and "lost" not in hand.held()

        hand.abort_all()
        assert hand.held()["sync"].cancelled.is_set() and hand.held()["sync"].shutdown
    finally:
        store.close()
