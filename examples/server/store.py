"""Storage for the example server: one schema and one compare-and-set, on SQLite or PostgreSQL.

Each run row holds the run as ``dump_run`` JSON and a version number; its steps and the
messages they write have rows of their own (``run_steps``, ``messages``). A change is
made in one transaction: read the run with its steps and messages, let runstate decide
(``runstate.advance``, which moves all three together), then
``UPDATE runs ... WHERE id = ? AND version = ?``, write the steps and messages that
changed, and append the new snapshot (run, steps and messages) to the append-only
``run_history`` table. The run's version guards its steps too: every change of a step
bumps it. If the update finds another version (a writer in
another thread or process got there first), the transaction is rolled back and the change
is decided again on the fresh run. No update is ever lost, and two writers never
interleave.

The thread lock is the database's: a partial unique index allows one active run per
thread, checked in the same transaction as the insert, so two server processes cannot
both start a run on one thread.

Only the SQL dialect differs between the backends: placeholders, the autoincrement
column, how a write transaction begins, which exceptions mean "try again", and where
connections come from: SQLite keeps one per thread; PostgreSQL lends one from a pool
(``psycopg_pool``) for each request (:meth:`Store.session`), checked before use, so a
database that restarts costs the requests in flight a 503 (:class:`Unavailable`) and
nothing else.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import runstate as rs

log = logging.getLogger("runstate.server")

ACTIVE = tuple(s.value for s in rs.ACTIVE_STATUSES)
_ACTIVE_SQL = ", ".join(f"'{s}'" for s in sorted(ACTIVE))

# The schema both backends share; {serial} is the dialect's autoincrement key.
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS assistants (
        id TEXT PRIMARY KEY,
        body TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS threads (
        id TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL,
        has_user_message BOOLEAN NOT NULL,
        body TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS runs (
        seq {serial},
        id TEXT NOT NULL UNIQUE,
        thread_id TEXT NOT NULL REFERENCES threads (id),
        status TEXT NOT NULL,
        version INTEGER NOT NULL,
        body TEXT NOT NULL
    )""",
    # The thread lock: at most one queued, in_progress, requires_action or cancelling
    # run per thread, enforced by the database in the inserting transaction.
    f"""CREATE UNIQUE INDEX IF NOT EXISTS runs_one_active_per_thread
        ON runs (thread_id) WHERE status IN ({_ACTIVE_SQL})""",
    "CREATE INDEX IF NOT EXISTS runs_by_thread ON runs (thread_id, seq)",
    "CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status)",
    # Append-only: every version of every run, in commit order per run (seq is global);
    # `life` holds the run's steps and messages at that version (JSON).
    """CREATE TABLE IF NOT EXISTS run_history (
        seq {serial},
        run_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        status TEXT NOT NULL,
        body TEXT NOT NULL,
        life TEXT NOT NULL,
        UNIQUE (run_id, version)
    )""",
    # The run's steps and the messages they write, as of the run's row (same transaction).
    """CREATE TABLE IF NOT EXISTS run_steps (
        seq {serial},
        id TEXT NOT NULL UNIQUE,
        run_id TEXT NOT NULL REFERENCES runs (id),
        status TEXT NOT NULL,
        body TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS run_steps_by_run ON run_steps (run_id, seq)",
    """CREATE TABLE IF NOT EXISTS messages (
        seq {serial},
        id TEXT NOT NULL UNIQUE,
        thread_id TEXT NOT NULL REFERENCES threads (id),
        run_id TEXT REFERENCES runs (id),
        status TEXT NOT NULL,
        body TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS messages_by_run ON messages (run_id, seq)",
    # -- the Assistants surface (issue 19): messages by thread, assistants in order ------
    "CREATE INDEX IF NOT EXISTS messages_by_thread ON messages (thread_id, seq)",
    # The order assistants were created in (the list's), beside the assistants table.
    """CREATE TABLE IF NOT EXISTS assistant_order (
        seq {serial},
        id TEXT NOT NULL UNIQUE
    )""",
    # Deleted messages a run wrote: hidden from the thread, kept in the run's rows and
    # history (its steps name them; the history is append-only).
    """CREATE TABLE IF NOT EXISTS deleted_messages (
        id TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL
    )""",
]


class Conflict(Exception):
    """Another writer changed the row first (or took the thread lock): decide again."""


class Unavailable(Exception):
    """The database cannot be reached (it is restarting, or away): the request was not
    applied, unless its ``COMMIT`` was sent and its answer lost. Answered with a 503."""


class StartupError(Exception):
    """The database URL names nothing this server can use (``serve.py`` exits with 2)."""


def new_id(prefix: str) -> str:
    """An id like the API's: a prefix and 24 random characters."""
    return f"{prefix}_{secrets.token_urlsafe(18).replace('-', 'a').replace('_', 'b')}"


def clock() -> int:
    """The server's clock, Unix seconds."""
    return int(time.time())


Life = rs.steps.RunLife


def latest_stamp(life: Life) -> int:
    """The latest timestamp of the run, its steps and messages: the server never stamps
    a change earlier than this.

    Several processes (or machines) share a run; a clock slightly behind another's must
    not make runstate refuse the change as ``ClockWentBackwards``.
    """
    run = life.run
    stamps = [run.created_at, run.started_at, run.cancelled_at, run.failed_at, run.completed_at]
    for step in life.steps:
        stamps += (step.created_at, step.completed_at, step.cancelled_at, step.failed_at)
    for message in life.messages:
        stamps += (message.created_at, message.completed_at, message.incomplete_at)
    return max(s for s in stamps if s is not None)


def now_for(life: Life) -> int:
    return max(clock(), latest_stamp(life))


def expire_if_due(life: Life, now: int) -> Life:
    """Lazy expiry: a pure function of ``expires_at`` and the server's clock. The run's
    open steps and messages end with it (``runstate.steps.RUN_END_EFFECTS``)."""
    run = life.run
    if run.status in rs.ACTIVE_STATUSES and run.expires_at is not None and now >= run.expires_at:
        return rs.advance(run, life.steps, "expire", now=now, messages=life.messages)
    return life


def dumps(run: rs.Run) -> str:
    return rs.toolkit.run_json(run)


def dump_life(life: Life) -> str:
    """The steps and messages of a run, for ``run_history.life``."""
    steps = [rs.steps.dump_step(s) for s in life.steps]
    messages = [rs.steps.dump_message(m) for m in life.messages]
    return json.dumps({"steps": steps, "messages": messages}, separators=(",", ":"))


def parse_life(run: rs.Run, text: str) -> Life:
    data = json.loads(text)
    return Life(
        run=run,
        steps=tuple(rs.steps.parse_step(s) for s in data["steps"]),
        messages=tuple(rs.steps.parse_message(m) for m in data["messages"]),
    )


# --------------------------------------------------------------------------------------
# Dialects


class Dialect:
    """What differs between the backends."""

    serial: str
    retry_errors: tuple[type[BaseException], ...]

    def connect(self) -> Any:
        raise NotImplementedError

    def usable(self, conn: Any) -> bool:
        """False for a connection that is closed or lost (the store makes a new one)."""
        raise NotImplementedError

    def check(self) -> None:
        """Connect once and disconnect: raise :class:`StartupError` with one line saying
        why the database cannot be used (``serve.py`` checks this before it listens)."""
        raise NotImplementedError

    def lost(self, exc: BaseException, conn: Any) -> bool:
        """Whether ``exc``, raised while ``conn`` was in use, means the database went
        away (the request is answered 503, not 500)."""
        return False

    def is_retryable(self, exc: BaseException) -> bool:
        """A lost race (lock, serialization): the transaction rolled back; try again."""
        return isinstance(exc, self.retry_errors)

    def sql(self, text: str) -> str:
        return text

    @contextmanager
    def write(self, conn: Any) -> Iterator[None]:
        raise NotImplementedError
        yield

    def is_unique_violation(self, exc: BaseException) -> bool:
        raise NotImplementedError

    def lock_thread_sql(self) -> str | None:
        """A statement that locks a thread's row until the transaction ends, or None
        where a write transaction already excludes every other writer (SQLite)."""
        return None


class SQLite(Dialect):
    serial = "INTEGER PRIMARY KEY AUTOINCREMENT"

    def __init__(self, path: str) -> None:
        self.path = path
        self.retry_errors = (sqlite3.OperationalError,)

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable on commit across crashes
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def usable(self, conn: sqlite3.Connection) -> bool:
        try:
            conn.in_transaction  # noqa: B018 - raises on a closed connection
        except sqlite3.ProgrammingError:
            return False
        return True

    def check(self) -> None:
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise StartupError(f"no directory {folder} for the SQLite file {self.path}")
        try:
            self.connect().close()
        except sqlite3.Error as exc:
            raise StartupError(f"cannot open the SQLite file {self.path}: {exc}") from None

    def is_retryable(self, exc: BaseException) -> bool:
        # "database is locked" / "busy"; not a disk I/O error or a closed file.
        text = str(exc).lower()
        return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)

    @contextmanager
    def write(self, conn: sqlite3.Connection) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front: no lock upgrade, no deadlock.
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")  # a failed COMMIT leaves the transaction open: roll back
        except BaseException:
            self._roll_back(conn)
            raise

    @staticmethod
    def _roll_back(conn: sqlite3.Connection) -> None:
        """End the transaction, whatever it takes: a connection left in one would hold
        the write lock and commit its half-done writes with a later request's."""
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            with suppress(sqlite3.Error):
                conn.close()  # rolls back; the store makes a new connection

    def is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


class PostgreSQL(Dialect):
    serial = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"

    #: Seconds a request waits for a connection from the pool before its 503.
    wait = 5.0
    #: Seconds a connection attempt may take.
    connect_timeout = 5

    def __init__(self, url: str, pool_size: int = 20) -> None:
        import psycopg  # noqa: PLC0415 - only needed with --db postgresql://

        self.psycopg = psycopg
        self.url = url
        self.pool_size = pool_size
        # READ COMMITTED: the UPDATE ... WHERE version = ? re-checks the row it finds, so
        # a concurrent commit makes it match nothing (a Conflict), never a lost update.
        self.retry_errors = (
            psycopg.errors.SerializationFailure,
            psycopg.errors.DeadlockDetected,
        )
        self._pool: Any = None
        self._pool_lock = threading.Lock()

    def connect(self) -> Any:
        return self.psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout)

    def check(self) -> None:
        try:
            self.psycopg.conninfo.conninfo_to_dict(self.url)
        except self.psycopg.Error as exc:
            raise StartupError(f"bad PostgreSQL URL {shown(self.url)}: {one_line(exc)}") from None
        try:
            self.connect().close()
        except self.psycopg.ProgrammingError as exc:
            raise StartupError(f"bad PostgreSQL URL {shown(self.url)}: {one_line(exc)}") from None
        except self.psycopg.Error as exc:
            raise StartupError(f"cannot connect to {shown(self.url)}: {one_line(exc)}") from None

    def usable(self, conn: Any) -> bool:
        return not (conn.closed or conn.broken)

    def lost(self, exc: BaseException, conn: Any) -> bool:
        # The server ended the session (a restart: AdminShutdown), or the socket broke.
        return isinstance(exc, self.psycopg.OperationalError) and not self.usable(conn)

    # -- the pool -------------------------------------------------------------------

    @property
    def pool(self) -> Any:
        """The connection pool, opened on first use (a store that only made its schema
        never opens one)."""
        with self._pool_lock:
            if self._pool is None:
                from psycopg_pool import ConnectionPool  # noqa: PLC0415

                self._pool = ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self.pool_size,
                    kwargs={"autocommit": True, "connect_timeout": self.connect_timeout},
                    timeout=self.wait,
                    # Give up a reconnection (and try again at the next request) after a
                    # second, instead of the pool's own backoff that doubles up to
                    # minutes: a restarted database is used as soon as it is back.
                    reconnect_timeout=1.0,
                    open=False,
                    name="runstate-server",
                )
                self._pool.open(wait=False)
            return self._pool

    def lend(self) -> Any:
        """A connection from the pool, checked first.

        The pool's own ``check`` sleeps 1, 2, 4... seconds between two dead connections;
        after a restart every idle connection is dead, so the first dead one found here
        empties the pool of the others (``pool.check()``) and the next is a new one.

        Raises:
            Unavailable: no connection within ``wait`` seconds.
        """
        from psycopg_pool import PoolTimeout  # noqa: PLC0415

        pool = self.pool
        for _ in range(3):
            try:
                conn = pool.getconn()
            except PoolTimeout as exc:
                raise Unavailable(f"no database connection: {exc}") from None
            try:
                conn.execute("")
            except self.psycopg.Error:
                pool.putconn(conn)  # discarded: it is broken
                with suppress(Exception):
                    pool.check()
                continue
            return conn
        raise Unavailable("no working database connection")

    def give_back(self, conn: Any) -> None:
        """Return ``conn`` to the pool (which drops it if it is broken)."""
        self.pool.putconn(conn)

    def close_pool(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    @contextmanager
    def write(self, conn: Any) -> Iterator[None]:
        with conn.transaction():
            yield

    def is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, self.psycopg.errors.UniqueViolation)

    def lock_thread_sql(self) -> str | None:
        # Messages, thread deletes and new runs on one thread take turns (the lock).
        return "SELECT id FROM threads WHERE id = ? FOR UPDATE"


def shown(url: str) -> str:
    """The URL as an error message may show it: without its password."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return parsed._replace(netloc=netloc).geturl()


def one_line(exc: BaseException) -> str:
    """The first line of an error's text (psycopg's run over several)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def dialect_for(url: str, pool_size: int = 20) -> Dialect:
    """``sqlite:///runs.db`` (relative), ``sqlite:////abs/runs.db``, ``postgresql://...``.

    Raises:
        StartupError: a URL of another kind, or one naming no file.
    """
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else parsed.path
        if not path:
            raise StartupError(f"no file in the database URL {url!r}: use sqlite:///FILE")
        return SQLite(path)
    if parsed.scheme in ("postgresql", "postgres"):
        return PostgreSQL(url, pool_size)
    raise StartupError(f"unsupported database URL {url!r}: use sqlite:///FILE or postgresql://...")


# --------------------------------------------------------------------------------------
# The store


@dataclass(frozen=True)
class Thread:
    id: str
    created_at: int
    has_user_message: bool
    body: dict[str, Any]


#: A change: the run with its steps and messages, and the time -> what they become.
Decide = Callable[[Life, int], Life]

_EMPTY_LIFE = json.dumps({"steps": [], "messages": []}, separators=(",", ":"))


class Store:
    """Threads, assistants and runs (with their steps and messages); every run change a
    compare-and-set."""

    #: How many times a change is decided again after losing a race before giving up.
    MAX_ATTEMPTS = 200

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        self.dialect = dialect_for(url, pool_size)
        self._local = threading.local()
        #: Tests wrap each connection the store's code gets (to inject faults).
        self.wrap: Callable[[Any], Any] | None = None
        self._outage_lock = threading.Lock()
        #: When the database was found away (``time.monotonic()``), or None.
        self.down_since: float | None = None

    # -- plumbing -----------------------------------------------------------------------

    @property
    def conn(self) -> Any:
        """The connection of this thread's session (see :meth:`session`), or else this
        thread's own one: a new one when the last was closed or lost (a failed request
        leaves no transaction open: see ``Dialect.write``)."""
        lent = getattr(self._local, "lent", None)
        if lent is not None:
            return lent
        conn = getattr(self._local, "conn", None)
        if conn is None or not self.dialect.usable(conn):
            if conn is not None:
                with suppress(Exception):
                    conn.close()
            conn = self.dialect.connect()
            if self.wrap is not None:
                conn = self.wrap(conn)
            self._local.conn = conn
        return conn

    @contextmanager
    def session(self) -> Iterator[None]:
        """One request's (or one worker sweep's) use of the database.

        On PostgreSQL the session borrows a checked connection from the pool and gives
        it back at the end (a broken one is dropped and replaced by the pool). A lost
        connection, or no connection at all, raises :class:`Unavailable`; the first one
        of an outage is logged (once), and the next session that works logs the end of
        it. On SQLite, only that bookkeeping: each thread keeps its connection. Nested
        sessions share the outer one's connection.
        """
        if getattr(self._local, "depth", 0):
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        pool = self.dialect if isinstance(self.dialect, PostgreSQL) else None
        real: Any = None
        began = time.monotonic()
        try:
            if pool is not None:
                real = pool.lend()
                self._local.lent = real if self.wrap is None else self.wrap(real)
            self._local.depth = 1
            yield
        except Unavailable as exc:
            self._went_away(exc)
            raise
        except Exception as exc:
            if real is not None and self.dialect.lost(exc, real):
                self._went_away(exc)
                raise Unavailable(f"the database connection was lost: {one_line(exc)}") from exc
            raise
        else:
            self._came_back(began)
        finally:
            self._local.depth = 0
            self._local.lent = None
            if pool is not None and real is not None:
                with suppress(Exception):
                    pool.give_back(real)

    def in_session(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` in a :meth:`session` (for a call off a request's thread)."""
        with self.session():
            return function(*args)

    def _went_away(self, exc: BaseException) -> None:
        with self._outage_lock:
            first = self.down_since is None
            if first:
                self.down_since = time.monotonic()
        if first:
            log.warning("database unavailable (%s): answering 503 until it is back", exc)
            if isinstance(self.dialect, PostgreSQL):
                with suppress(Exception):
                    self.dialect.pool.check()  # drop the other dead connections now

    def _came_back(self, began: float) -> None:
        """A session that began at ``began`` worked: the outage is over if it began after
        the outage did (one that began before may have finished on a connection the
        database had not ended yet, while it ended the others)."""
        if self.down_since is None:
            return
        with self._outage_lock:
            since = self.down_since
            if since is None or began <= since:
                return
            self.down_since = None
        log.warning("database available again after %.1f s", time.monotonic() - since)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(self.dialect.sql(sql), params)

    def create_schema(self) -> None:
        for statement in SCHEMA:
            self._retrying(lambda s=statement: self._ddl(s))

    def _ddl(self, statement: str) -> None:
        with self.dialect.write(self.conn):
            self.execute(statement.format(serial=self.dialect.serial))

    def _retrying(self, attempt: Callable[[], Any]) -> Any:
        for i in range(self.MAX_ATTEMPTS):
            try:
                return attempt()
            except Conflict:
                pass
            except _Answer:
                raise
            except Exception as exc:
                retry = self.dialect.is_retryable(exc) or self.dialect.is_unique_violation(exc)
                if not retry:
                    raise  # a storage fault: the transaction was rolled back
            time.sleep(min(0.001 * (i + 1), 0.05))
        raise RuntimeError("gave up after too many concurrent writers")

    # -- assistants and threads ---------------------------------------------------------

    def create_assistant(self, body: dict[str, Any]) -> None:
        def attempt() -> None:
            with self.dialect.write(self.conn):
                self.execute(
                    "INSERT INTO assistants (id, body) VALUES (?, ?)",
                    (body["id"], json.dumps(body)),
                )

        self._retrying(attempt)

    def get_assistant(self, assistant_id: str) -> dict[str, Any] | None:
        row = self.execute("SELECT body FROM assistants WHERE id = ?", (assistant_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def _insert_thread(self, thread: Thread) -> None:
        self.execute(
            "INSERT INTO threads (id, created_at, has_user_message, body) VALUES (?, ?, ?, ?)",
            (thread.id, thread.created_at, thread.has_user_message, json.dumps(thread.body)),
        )

    def create_thread(self, thread: Thread) -> None:
        def attempt() -> None:
            with self.dialect.write(self.conn):
                self._insert_thread(thread)

        self._retrying(attempt)

    def get_thread(self, thread_id: str) -> Thread | None:
        row = self.execute(
            "SELECT id, created_at, has_user_message, body FROM threads WHERE id = ?", (thread_id,)
        ).fetchone()
        if row is None:
            return None
        return Thread(row[0], row[1], bool(row[2]), json.loads(row[3]))

    # -- runs ---------------------------------------------------------------------------

    def _insert_run(self, run: rs.Run) -> None:
        body = dumps(run)
        self.execute(
            "INSERT INTO runs (id, thread_id, status, version, body) VALUES (?, ?, ?, 1, ?)",
            (run.id, run.thread_id, run.status.value, body),
        )
        self.execute(
            "INSERT INTO run_history (run_id, version, status, body, life) VALUES (?, 1, ?, ?, ?)",
            (run.id, run.status.value, body, _EMPTY_LIFE),
        )

    def _cas(self, before: Life, version: int, after: Life) -> int:
        """Write ``after`` over version ``version``; raise Conflict if it moved on.

        The run's row is written even when only a step changed: its version guards the
        steps and messages too.
        """
        run = after.run
        body = dumps(run)
        cursor = self.execute(
            "UPDATE runs SET status = ?, version = ?, body = ? WHERE id = ? AND version = ?",
            (run.status.value, version + 1, body, before.run.id, version),
        )
        if cursor.rowcount != 1:
            raise Conflict
        old_steps = {s.id: s for s in before.steps}
        for step in after.steps:
            old = old_steps.get(step.id)
            text = json.dumps(rs.steps.dump_step(step), separators=(",", ":"))
            if old is None:
                self.execute(
                    "INSERT INTO run_steps (id, run_id, status, body) VALUES (?, ?, ?, ?)",
                    (step.id, run.id, step.status.value, text),
                )
            elif old is not step and old != step:
                self.execute(
                    "UPDATE run_steps SET status = ?, body = ? WHERE id = ?",
                    (step.status.value, text, step.id),
                )
        old_messages = {m.id: m for m in before.messages}
        for message in after.messages:
            old_message = old_messages.get(message.id)
            text = json.dumps(rs.steps.dump_message(message), separators=(",", ":"))
            if old_message is None:
                self.execute(
                    "INSERT INTO messages (id, thread_id, run_id, status, body) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (message.id, message.thread_id, run.id, message.status, text),
                )
            elif old_message is not message and old_message != message:
                self.execute(
                    "UPDATE messages SET status = ?, body = ? WHERE id = ?",
                    (message.status, text, message.id),
                )
        self.execute(
            "INSERT INTO run_history (run_id, version, status, body, life) VALUES (?, ?, ?, ?, ?)",
            (run.id, version + 1, run.status.value, body, dump_life(after)),
        )
        return version + 1

    def _life_of(self, run: rs.Run) -> Life:
        steps = self.execute(
            "SELECT body FROM run_steps WHERE run_id = ? ORDER BY seq", (run.id,)
        ).fetchall()
        messages = self.execute(
            "SELECT body FROM messages WHERE run_id = ? ORDER BY seq", (run.id,)
        ).fetchall()
        return Life(
            run=run,
            steps=tuple(rs.steps.parse_step(b) for (b,) in steps),
            messages=tuple(rs.steps.parse_message(b) for (b,) in messages),
        )

    def _row(self, run_id: str) -> tuple[Life, int] | None:
        row = self.execute("SELECT body, version FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else (self._life_of(rs.parse_run(row[0])), row[1])

    def _active_on(self, thread_id: str) -> tuple[Life, int] | None:
        row = self.execute(
            f"SELECT body, version FROM runs WHERE thread_id = ? AND status IN ({_ACTIVE_SQL})",
            (thread_id,),
        ).fetchone()
        return None if row is None else (self._life_of(rs.parse_run(row[0])), row[1])

    def create_run(
        self,
        thread_id: str,
        make: Callable[[int], rs.Run],
        *,
        new_thread: Thread | None = None,
        new_messages: Callable[[int], list[rs.models.Message]] | None = None,
    ) -> rs.Run:
        """Insert the run ``make(now)`` builds, if the thread's lock allows it.

        With ``new_thread``, the thread is inserted in the same transaction
        (create thread and run); ``new_messages(now)`` (the thread's first messages, or
        the run's ``additional_messages``) are added to the thread before the run.

        Raises:
            rs.ThreadBusy: the thread has an active run (decided by runstate on the
                active run the database holds, after expiring it if due).
        """

        def attempt() -> rs.Run:
            with self.dialect.write(self.conn):
                if new_thread is not None:
                    self._insert_thread(new_thread)
                if not self._lock_thread(thread_id):
                    raise _Answer(rs.not_found("thread", thread_id))
                now = clock()
                active = self._active_on(thread_id)
                runs = []
                if active is not None:
                    life, version = active
                    now = max(now, latest_stamp(life))
                    expired = expire_if_due(life, now)
                    if expired is not life:
                        self._cas(life, version, expired)
                    runs.append(expired.run)
                try:
                    rs.ensure_can_create_run(thread_id, runs)
                except rs.ThreadBusy as err:
                    raise _Answer(err) from None
                for message in new_messages(now) if new_messages is not None else ():
                    self._insert_message(message)
                run = make(now)
                # The unique index refuses a second active run a concurrent writer
                # inserted since our read: that is a Conflict, and we decide again.
                self._insert_run(run)
                return run

        return self._answering(attempt)

    def _answering(self, attempt: Callable[[], Any]) -> Any:
        try:
            return self._retrying(attempt)
        except _Answer as answer:
            raise answer.error from None

    def get_run(self, thread_id: str, run_id: str) -> rs.Run | None:
        """The run as of now: an active run past ``expires_at`` is expired (and stored)."""
        life = self.get_life(thread_id, run_id)
        return None if life is None else life.run

    def get_life(self, thread_id: str, run_id: str) -> Life | None:
        """The run with its steps and messages as of now (expired, and stored, if due)."""
        found = self._row(run_id)
        if found is None or found[0].run.thread_id != thread_id:
            return None
        life, _ = found
        if expire_if_due(life, now_for(life)) is life:
            return life
        return self.change(thread_id, run_id, lambda lf, now: lf)

    def change(self, thread_id: str, run_id: str, decide: Decide) -> Life:
        """:meth:`change_versioned` without the version."""
        return self.change_versioned(thread_id, run_id, decide)[0]

    def change_versioned(self, thread_id: str, run_id: str, decide: Decide) -> tuple[Life, int]:
        """Apply ``decide(life, now)`` to the stored run and its steps with a compare-and-set.

        The run is first expired if due (and that is stored even when ``decide`` then
        refuses, as the refusal is about the expired run).

        Raises:
            rs.NotFound: no such run on this thread.
            Whatever ``decide`` raises (rs.APIError, rs.TransitionError, rs.InvalidRun),
            after committing a due expiry.
        """

        def attempt() -> tuple[Life, int, BaseException | None]:
            with self.dialect.write(self.conn):
                found = self._row(run_id)
                if found is None or found[0].run.thread_id != thread_id:
                    raise _Answer(rs.not_found("run", run_id))
                life, version = found
                now = now_for(life)
                current = expire_if_due(life, now)
                if current is not life:
                    version = self._cas(life, version, current)
                try:
                    after = decide(current, now)
                except (rs.Error, ValueError) as err:
                    if current is life:
                        raise _Answer(err) from None
                    return current, version, err  # commit the expiry, then refuse
                if after is not current:
                    version = self._cas(current, version, after)
                return after, version, None

        after, version, error = self._answering(attempt)
        if error is not None:
            raise error
        return after, version

    def thread_runs(self, thread_id: str) -> list[rs.Run]:
        """The thread's runs, oldest first, as of now (expired where due)."""
        rows = self.execute(
            "SELECT id, body FROM runs WHERE thread_id = ? ORDER BY seq", (thread_id,)
        ).fetchall()
        runs = []
        for run_id, body in rows:
            run = rs.parse_run(body)
            due = run.status in rs.ACTIVE_STATUSES and run.expires_at is not None
            if due and clock() >= run.expires_at:  # type: ignore[operator]
                run = self.change(thread_id, run_id, lambda lf, now: lf).run
            runs.append(run)
        return runs

    def history(self, run_id: str, after_version: int = 0) -> list[tuple[int, Life]]:
        """The run's versions after ``after_version``, each with its steps and messages."""
        rows = self.execute(
            "SELECT version, body, life FROM run_history WHERE run_id = ? AND version > ? "
            "ORDER BY version",
            (run_id, after_version),
        ).fetchall()
        return [(v, parse_life(rs.parse_run(b), life)) for v, b, life in rows]

    def column_by_id(self, table: str, column: str, ids: list[str]) -> dict[str, Any]:
        """``column`` of each row of ``table`` whose id is one of ``ids`` (a missing row
        is left out), in one query per 500 ids (far below SQLite's limit on bound
        parameters). ``table`` and ``column`` are this server's own names, never a
        client's."""
        found: dict[str, Any] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self.execute(
                f"SELECT id, {column} FROM {table} WHERE id IN ({marks})", tuple(chunk)
            ).fetchall()
            found.update(rows)
        return found

    def versions(self, run_ids: list[str]) -> dict[str, int]:
        """The stored version of each of these runs (the streams' poller)."""
        return {r: int(v) for r, v in self.column_by_id("runs", "version", run_ids).items()}

    def version(self, run_id: str) -> int:
        row = self.execute("SELECT version FROM runs WHERE id = ?", (run_id,)).fetchone()
        return 0 if row is None else int(row[0])

    def runs_to_work_on(self, limit: int = 100) -> list[tuple[str, str]]:
        """(thread_id, run_id) of runs the worker moves on (not waiting for the client)."""
        rows = self.execute(
            "SELECT thread_id, id FROM runs WHERE status IN ('queued', 'in_progress', "
            "'cancelling') ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()
        return [(t, r) for t, r in rows]

    # -- the Assistants surface: assistants, threads and messages (issue 19) ------------

    def _lock_thread(self, thread_id: str) -> bool:
        """Take the thread's lock for this transaction (PostgreSQL; SQLite's write
        transaction already has it): the thread lock's checks and writes take turns.
        False when the thread is gone (deleted since the request looked it up)."""
        sql = self.dialect.lock_thread_sql() or "SELECT id FROM threads WHERE id = ?"
        return self.execute(sql, (thread_id,)).fetchone() is not None

    def _active_runs(self, thread_id: str) -> list[rs.Run]:
        """The thread's active run as of now (expired and stored if due), as a list."""
        active = self._active_on(thread_id)
        if active is None:
            return []
        life, version = active
        expired = expire_if_due(life, now_for(life))
        if expired is not life:
            self._cas(life, version, expired)
        return [expired.run]

    def _insert_message(self, message: rs.models.Message) -> None:
        text = json.dumps(rs.steps.dump_message(message), separators=(",", ":"))
        self.execute(
            "INSERT INTO messages (id, thread_id, run_id, status, body) VALUES (?, ?, ?, ?, ?)",
            (message.id, message.thread_id, message.run_id, message.status, text),
        )

    def create_assistant_listed(self, body: dict[str, Any]) -> None:
        """:meth:`create_assistant`, and its place in the list, in one transaction."""

        def attempt() -> None:
            with self.dialect.write(self.conn):
                self.execute(
                    "INSERT INTO assistants (id, body) VALUES (?, ?)",
                    (body["id"], json.dumps(body)),
                )
                self.execute("INSERT INTO assistant_order (id) VALUES (?)", (body["id"],))

        self._retrying(attempt)

    def list_assistants(self) -> list[dict[str, Any]]:
        """Every assistant, oldest first."""
        rows = self.execute(
            "SELECT a.body FROM assistants a LEFT JOIN assistant_order o ON o.id = a.id "
            "ORDER BY COALESCE(o.seq, 0), a.id"
        ).fetchall()
        return [json.loads(b) for (b,) in rows]

    def update_assistant(
        self, assistant_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any] | None:
        """Replace the assistant by ``change(assistant)``; None if there is none."""

        def attempt() -> dict[str, Any] | None:
            with self.dialect.write(self.conn):
                row = self.execute(
                    "SELECT body FROM assistants WHERE id = ?", (assistant_id,)
                ).fetchone()
                if row is None:
                    return None
                body = change(json.loads(row[0]))
                self.execute(
                    "UPDATE assistants SET body = ? WHERE id = ?", (json.dumps(body), assistant_id)
                )
                return body

        return self._retrying(attempt)  # type: ignore[no-any-return]

    def delete_assistant(self, assistant_id: str) -> bool:
        """Delete the assistant (its runs keep their copies); False if there is none."""

        def attempt() -> bool:
            with self.dialect.write(self.conn):
                cursor = self.execute("DELETE FROM assistants WHERE id = ?", (assistant_id,))
                self.execute("DELETE FROM assistant_order WHERE id = ?", (assistant_id,))
                return bool(cursor.rowcount == 1)

        return self._retrying(attempt)  # type: ignore[no-any-return]

    def create_thread_with(self, thread: Thread, messages: list[rs.models.Message]) -> None:
        """Insert the thread and its first messages in one transaction."""

        def attempt() -> None:
            with self.dialect.write(self.conn):
                self._insert_thread(thread)
                for message in messages:
                    self._insert_message(message)

        self._retrying(attempt)

    def update_thread(
        self, thread_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any] | None:
        """Replace the thread's object by ``change(body)``; None if there is none."""

        def attempt() -> dict[str, Any] | None:
            with self.dialect.write(self.conn):
                row = self.execute("SELECT body FROM threads WHERE id = ?", (thread_id,)).fetchone()
                if row is None:
                    return None
                body = change(json.loads(row[0]))
                self.execute(
                    "UPDATE threads SET body = ? WHERE id = ?", (json.dumps(body), thread_id)
                )
                return body

        return self._retrying(attempt)  # type: ignore[no-any-return]

    def delete_thread(self, thread_id: str) -> bool:
        """Delete the thread with its runs, steps, messages and histories, unless locked.

        Raises:
            rs.ThreadBusy: the thread has an active run (``ensure_can_delete_thread``).
        """

        def attempt() -> bool:
            with self.dialect.write(self.conn):
                if not self._lock_thread(thread_id):
                    return False
                try:
                    rs.ensure_can_delete_thread(thread_id, self._active_runs(thread_id))
                except rs.ThreadBusy as err:
                    raise _Answer(err) from None
                runs = "SELECT id FROM runs WHERE thread_id = ?"
                self.execute(f"DELETE FROM run_steps WHERE run_id IN ({runs})", (thread_id,))
                self.execute(f"DELETE FROM run_history WHERE run_id IN ({runs})", (thread_id,))
                self.execute("DELETE FROM messages WHERE thread_id = ?", (thread_id,))
                self.execute("DELETE FROM deleted_messages WHERE thread_id = ?", (thread_id,))
                self.execute("DELETE FROM runs WHERE thread_id = ?", (thread_id,))
                self.execute("DELETE FROM threads WHERE id = ?", (thread_id,))
                return True

        return self._answering(attempt)  # type: ignore[no-any-return]

    def add_message(self, thread_id: str, make: Callable[[int], rs.models.Message]) -> Any:
        """Insert the message ``make(now)`` builds, if the thread's lock allows it.

        Raises:
            rs.ThreadBusy: the thread has an active run (``ensure_can_add_message``).
        """

        def attempt() -> rs.models.Message:
            with self.dialect.write(self.conn):
                if not self._lock_thread(thread_id):
                    raise _Answer(rs.not_found("thread", thread_id))
                runs = self._active_runs(thread_id)
                try:
                    rs.ensure_can_add_message(thread_id, runs)
                except rs.ThreadBusy as err:
                    raise _Answer(err) from None
                message = make(clock())
                self._insert_message(message)
                if message.extra.get("role") == "user":
                    self.execute(
                        "UPDATE threads SET has_user_message = ? WHERE id = ?", (True, thread_id)
                    )
                return message

        return self._answering(attempt)

    def thread_messages(self, thread_id: str, run_id: str | None = None) -> list[Any]:
        """The thread's messages (of one run, with ``run_id``), oldest first."""
        sql = (
            "SELECT body FROM messages WHERE thread_id = ? AND id NOT IN "
            "(SELECT id FROM deleted_messages WHERE thread_id = ?)"
        )
        params: tuple[Any, ...] = (thread_id, thread_id)
        if run_id is not None:
            sql, params = sql + " AND run_id = ?", (*params, run_id)
        rows = self.execute(sql + " ORDER BY seq", params).fetchall()
        return [rs.steps.parse_message(b) for (b,) in rows]

    def get_message(self, thread_id: str, message_id: str) -> Any:
        row = self.execute(
            "SELECT body FROM messages WHERE id = ? AND thread_id = ? AND id NOT IN "
            "(SELECT id FROM deleted_messages WHERE id = ?)",
            (message_id, thread_id, message_id),
        ).fetchone()
        return None if row is None else rs.steps.parse_message(row[0])

    def update_message(self, thread_id: str, message_id: str, change: Callable[[Any], Any]) -> Any:
        """Replace the message by ``change(message)``; None if there is none.

        A run's message changes with its run (a compare-and-set on the run), so a
        concurrent step of the run never writes back the message as it was.
        """
        message = self.get_message(thread_id, message_id)
        if message is None:
            return None
        if message.run_id is not None:

            def decide(life: Life, now: int) -> Life:
                messages = tuple(change(m) if m.id == message_id else m for m in life.messages)
                return Life(run=life.run, steps=life.steps, messages=messages)

            life = self.change(thread_id, message.run_id, decide)
            return next(m for m in life.messages if m.id == message_id)

        def attempt() -> Any:
            with self.dialect.write(self.conn):
                found = self.get_message(thread_id, message_id)
                if found is None:
                    return None
                updated = change(found)
                text = json.dumps(rs.steps.dump_message(updated), separators=(",", ":"))
                self.execute("UPDATE messages SET body = ? WHERE id = ?", (text, message_id))
                return updated

        return self._retrying(attempt)

    def delete_message(self, thread_id: str, message_id: str) -> Any:
        """Delete the message; None if there is none, else the message deleted.

        A message a run wrote is hidden instead: its run's steps name it, and the run's
        rows stay its last history entry (the history is append-only).
        """

        def attempt() -> Any:
            with self.dialect.write(self.conn):
                found = self.get_message(thread_id, message_id)
                if found is None:
                    return None
                if found.run_id is None:
                    self.execute("DELETE FROM messages WHERE id = ?", (message_id,))
                else:
                    self.execute(
                        "INSERT INTO deleted_messages (id, thread_id) VALUES (?, ?)",
                        (message_id, thread_id),
                    )
                return found

        return self._retrying(attempt)

    def close(self) -> None:
        """Close this thread's own connection, and the pool (reopened if used again)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        if isinstance(self.dialect, PostgreSQL):
            self.dialect.close_pool()


class _Answer(Exception):
    """Leave the transaction (rolled back) and answer with ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
