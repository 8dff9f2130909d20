"""Leases: which model worker executes which run or background response, for how long.

One table for runs and responses, on SQLite and PostgreSQL. A worker claims a piece of
work before it calls the model, renews the claim while the call lasts, and releases it
when the work leaves its hands (waiting for tool outputs, or ended). A claim is one
statement, ``INSERT ... ON CONFLICT (kind, id) DO UPDATE ... WHERE`` the lease lapsed or
is already ours, so two processes never both hold one (on PostgreSQL the second insert
waits for the first to commit, then re-checks the condition on the row it made).

A worker that dies stops renewing: its lease lapses. Every worker's sweep finds lapsed
leases (:meth:`Leases.lapsed`) and ends their work by the table's rules (the worker's
code: ``expire`` if ``expires_at`` passed, else ``fail`` with ``server_error``; a
cancelling run finishes its cancel), never leaving it in flight.

Both model workers (runs: ``model_worker.py``; responses: ``model_responses.py``) keep
what they execute in a :class:`Hand`: it claims a piece's lease, executes it on the
worker's threads and releases the lease after; its watch (:meth:`Leases.watch`) renews
the leases in hand and aborts an execution that was cancelled or ended elsewhere, or whose
lease was lost. What to claim, how to execute it and how to end a lapsed one is each
worker's own.

Times are the workers' wall clocks (``time.time()``): processes sharing a database
should share a clock too (NTP), and a lease should be much longer than their skew.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from store import Store

__all__ = ["IN_FLIGHT", "Hand", "Held", "Leases", "new_owner"]

log = logging.getLogger("runstate.server")

#: The statuses of work still to execute (a run's and a response's alike); any other (a
#: cancel, an end, a delete) aborts its execution.
IN_FLIGHT = ("queued", "in_progress")

SCHEMA = """CREATE TABLE IF NOT EXISTS leases (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    owner TEXT NOT NULL,
    until_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (kind, id)
)"""

_CLAIM = (
    "INSERT INTO leases (kind, id, owner, until_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (kind, id) DO UPDATE SET owner = excluded.owner, until_at = excluded.until_at "
    "WHERE leases.until_at < ? OR leases.owner = excluded.owner"
)


def new_owner() -> str:
    """A name for this worker that no other process shares: host, pid and a random tail."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"


@dataclass(kw_only=True, eq=False)
class Held:
    """Work a worker executes under its lease, as :meth:`Leases.watch` keeps it."""

    #: Set to abort the backend call: cancelled or ended elsewhere, or the lease lost.
    cancelled: threading.Event = field(default_factory=threading.Event)
    #: The lease was lost: the work is no longer this worker's to change.
    lost: bool = False
    #: When the lease was last renewed (``time.monotonic()``).
    renewed: float = field(default_factory=time.monotonic)
    #: The worker is shutting down (:meth:`Hand.abort_all`).
    shutdown: bool = False


_Work = TypeVar("_Work", bound=Held)
_R = TypeVar("_R")


class Leases:
    """The lease table of a :class:`~store.Store` (its connections and dialect)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _run(self, sql: str, params: tuple[Any, ...]) -> int:
        """One statement in its own transaction (retried on a busy SQLite); its rowcount."""

        def attempt() -> int:
            with self.store.session(), self.store.dialect.write(self.store.conn):
                return int(self.store.execute(sql, params).rowcount)

        return self.store._retrying(attempt)  # type: ignore[no-any-return]

    def create_schema(self) -> None:
        def attempt() -> None:
            with self.store.session(), self.store.dialect.write(self.store.conn):
                self.store.execute(SCHEMA)

        self.store._retrying(attempt)

    def claim(self, kind: str, id: str, owner: str, seconds: float) -> bool:
        """Take (or keep) the lease on ``kind``/``id`` for ``seconds``: True if it is ours
        now, False if another owner holds it and it has not lapsed."""
        now = time.time()
        return self._run(_CLAIM, (kind, id, owner, now + seconds, now)) == 1

    def renew(self, kind: str, id: str, owner: str, seconds: float) -> bool:
        """Extend our lease by ``seconds`` from now; False if it is no longer ours or has
        lapsed (the sweep may be ending the work: stop working on it)."""
        now = time.time()
        changed = self._run(
            "UPDATE leases SET until_at = ? WHERE kind = ? AND id = ? AND owner = ? "
            "AND until_at >= ?",
            (now + seconds, kind, id, owner, now),
        )
        return changed == 1

    def release(self, kind: str, id: str, owner: str) -> None:
        """Give the lease up (if it is still ours): the work left this worker's hands."""
        self._run("DELETE FROM leases WHERE kind = ? AND id = ? AND owner = ?", (kind, id, owner))

    def lapsed(self, kind: str) -> list[str]:
        """The ids of ``kind`` whose lease ran out: their worker died or stalled."""
        with self.store.session():
            rows = self.store.execute(
                "SELECT id FROM leases WHERE kind = ? AND until_at < ? ORDER BY until_at",
                (kind, time.time()),
            ).fetchall()
        return [r for (r,) in rows]

    def owner_of(self, kind: str, id: str) -> str | None:
        """Who holds the lease (lapsed or not), or None."""
        with self.store.session():
            row = self.store.execute(
                "SELECT owner FROM leases WHERE kind = ? AND id = ?", (kind, id)
            ).fetchone()
        return None if row is None else str(row[0])

    def watch(
        self,
        kind: str,
        owner: str,
        seconds: float,
        held: Mapping[str, Held],
        statuses: Callable[[list[str]], Mapping[str, str]],
    ) -> None:
        """Keep the work ``held`` by its ids: renew each lease once a third of ``seconds``
        has passed since its last renewal (a lease no longer ours: the work is ``lost``
        and aborted), then abort the work whose status (``statuses`` of the ids) is not
        :data:`IN_FLIGHT` any more: cancelled, ended or deleted, by any process."""
        now = time.monotonic()
        for id, work in held.items():
            if now - work.renewed < seconds / 3:
                continue
            if self.renew(kind, id, owner, seconds):
                work.renewed = now
            else:
                if not work.lost:
                    log.warning("lost the lease of %s %s: aborting", kind, id)
                work.lost = True
                work.cancelled.set()
        found = statuses(list(held))
        for id, work in held.items():
            if found.get(id) not in IN_FLIGHT:
                work.cancelled.set()


@dataclass(eq=False)
class Hand(Generic[_Work]):
    """The work one worker holds under its leases of ``kind`` (for ``seconds``), by id,
    and the pool of ``threads`` executing it (``name`` names them).

    :meth:`take` claims a piece's lease and executes it on the pool, ``limit`` at most at
    once; :meth:`hold` and :meth:`execute` serve work the worker claimed itself (not
    counted in ``limit`` unless asked). When an execution ends, its work leaves the hand,
    its lease is released (unless it was lost: it is not ours any more) and, for counted
    work, ``ended`` is called (a thread is free: the worker's wake-up).
    """

    leases: Leases
    kind: str
    owner: str
    seconds: float
    limit: int
    threads: int
    name: str
    ended: Callable[[], None]
    work: dict[str, _Work] = field(default_factory=dict, init=False)
    counted: int = field(default=0, init=False)
    lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix=self.name)

    def free(self) -> int:
        """How many more pieces :meth:`take` may start now."""
        with self.lock:
            return self.limit - self.counted

    def held(self) -> dict[str, _Work]:
        """The work in hand now, by id."""
        with self.lock:
            return dict(self.work)

    def hold(self, id: str, work: _Work, *, counted: bool) -> bool:
        """Put ``work`` (its lease ours) in hand: False if ``id`` is in hand already, or
        the hand is full (``counted``)."""
        with self.lock:
            if id in self.work or (counted and self.counted >= self.limit):
                return False
            self.work[id] = work
            self.counted += counted
            return True

    def take(self, id: str, make: Callable[[], _Work], run: Callable[[_Work], object]) -> bool:
        """Claim ``id``'s lease and ``run`` the work ``make`` gives on the pool (counted):
        False if it is in hand already, the hand is full, or another worker holds it."""
        with self.lock:
            if id in self.work or self.counted >= self.limit:
                return False
        if not self.leases.claim(self.kind, id, self.owner, self.seconds):
            return False
        work = make()
        if not self.hold(id, work, counted=True):
            self.leases.release(self.kind, id, self.owner)
            return False
        self.pool.submit(self.execute, id, work, run, counted=True)
        return True

    def execute(self, id: str, work: _Work, run: Callable[[_Work], _R], *, counted: bool) -> _R:
        """``run(work)``, then out of the hand (see the class's text)."""
        try:
            return run(work)
        finally:
            with self.lock:
                self.work.pop(id, None)
                self.counted -= counted
            if not work.lost:
                with suppress(Exception):
                    self.leases.release(self.kind, id, self.owner)
            if counted:
                self.ended()

    def watch(self, statuses: Callable[[list[str]], Mapping[str, str]]) -> None:
        """:meth:`Leases.watch` over the work in hand."""
        held = self.held()
        if held:
            self.leases.watch(self.kind, self.owner, self.seconds, held, statuses)

    def abort_all(self) -> None:
        """Abort every execution in hand: the worker is shutting down."""
        with self.lock:
            for work in self.work.values():
                work.shutdown = True
                work.cancelled.set()

    def shutdown(self) -> None:
        """Wait for the executions started (the ones not started are dropped)."""
        self.pool.shutdown(wait=True, cancel_futures=True)
