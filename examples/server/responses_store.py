"""Storage for the example server's Responses: the same database and compare-and-set as runs.

Three tables, made beside the runs' (on SQLite or PostgreSQL, one schema):

* ``responses``: the response as ``dump_response`` JSON, its status, a version, how many
  events it has streamed (``next_event``: the next ``sequence_number``), whether it was
  created with ``stream: true`` (only those may be replayed), and its input items (the
  whole context: the previous response's items and output, then its own input).
* ``response_events``: every event of every response, with its ``sequence_number``,
  written in the transaction that made the change, so any process can replay it.

A change is one transaction, as for runs: read the response, let
``runstate.responses`` decide, then ``UPDATE responses ... WHERE id = ? AND version = ?``
and insert the change's events (``stream_events``, numbered from ``next_event``). If the
update matches nothing another writer got there first: roll back and decide again on the
fresh response. A cancel racing the worker's completion therefore never loses an update,
and the events of a response never skip or repeat a number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from store import Conflict, Store, _Answer, clock

import runstate as rs
from runstate import responses as rr

# The schema both backends share; {serial} is the dialect's autoincrement key.
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS responses (
        seq {serial},
        id TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        background BOOLEAN NOT NULL,
        streamed BOOLEAN NOT NULL,
        version INTEGER NOT NULL,
        next_event INTEGER NOT NULL,
        body TEXT NOT NULL,
        input TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS responses_by_status ON responses (status)",
    """CREATE TABLE IF NOT EXISTS response_events (
        response_id TEXT NOT NULL,
        sequence_number INTEGER NOT NULL,
        type TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (response_id, sequence_number)
    )""",
]

#: The statuses the worker moves on (a response not yet ended).
IN_FLIGHT = ("queued", "in_progress")
#: The events that end a stream (there is one per response, and no ``[DONE]``).
TERMINAL_EVENTS = frozenset({"response.completed", "response.failed", "response.incomplete"})


def text(value: Any) -> str:
    """JSON text as stored and sent (ASCII: a lone surrogate a client sent stays escaped)."""
    return json.dumps(value, separators=(",", ":"))


def dumps(response: rr.Response) -> str:
    return text(rr.dump_response(response))


@dataclass(frozen=True)
class Stored:
    """A response as stored: the value, its version and event count, how it was made."""

    response: rr.Response
    version: int
    next_event: int
    streamed: bool
    items: list[dict[str, Any]]


#: A change: the response, its input items and the time -> what it becomes.
Decide = Callable[[rr.Response, list[dict[str, Any]], int], rr.Response]

_WORDS = re.compile(r"\s*\S+|\s+$")


def delta_events(events: Iterable[dict[str, Any]], start: int) -> list[dict[str, Any]]:
    """``events`` with each ``response.output_text.delta`` cut into one delta per word (as a
    model writes), renumbered from ``start``: what ``stream_events`` writes as one delta."""
    out: list[dict[str, Any]] = []
    for event in events:
        delta = event.get("delta")
        pieces = [event]
        if event["type"] == "response.output_text.delta" and isinstance(delta, str):
            pieces = [{**event, "delta": word} for word in _WORDS.findall(delta)] or [event]
        for piece in pieces:
            out.append({**piece, "sequence_number": start + len(out)})
    return out


def now_for(response: rr.Response) -> int:
    """The server's clock, never before a stamp the response has (several processes
    share it; a clock slightly behind must not be refused as going backwards)."""
    stamps = [response.created_at, response.completed_at or 0]
    return max(clock(), *stamps)


class ResponseStore:
    """Responses and their events, over the runs' :class:`store.Store` (its connections,
    sessions, dialect and retry loop)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def dialect(self) -> Any:
        return self.store.dialect

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.store.execute(sql, params)

    def create_schema(self) -> None:
        for statement in SCHEMA:
            self.store._retrying(lambda s=statement: self.store._ddl(s))

    # -- writing ------------------------------------------------------------------------

    def _insert_events(self, response_id: str, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            self.execute(
                "INSERT INTO response_events (response_id, sequence_number, type, body) "
                "VALUES (?, ?, ?, ?)",
                (response_id, event["sequence_number"], event["type"], text(event)),
            )

    def create(
        self, make: Callable[[int], rr.Response], items: list[dict[str, Any]], streamed: bool
    ) -> rr.Response:
        """Insert the response ``make(now)`` builds, with its first events
        (``response.created``, then ``response.queued`` or ``response.in_progress``)."""

        def attempt() -> rr.Response:
            with self.dialect.write(self.store.conn):
                response = make(clock())
                events = rr.stream_events(None, response, sequence_start=0)
                self.execute(
                    "INSERT INTO responses (id, status, background, streamed, version, "
                    "next_event, body, input) VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
                    (
                        response.id,
                        response.status.value,
                        response.background is True,
                        streamed,
                        len(events),
                        dumps(response),
                        text(items),
                    ),
                )
                self._insert_events(response.id, events)
                return response

        return self.store._answering(attempt)  # type: ignore[no-any-return]

    def _row(self, response_id: str) -> Stored | None:
        row = self.execute(
            "SELECT body, version, next_event, streamed, input FROM responses WHERE id = ?",
            (response_id,),
        ).fetchone()
        if row is None:
            return None
        body, version, next_event, streamed, items = row
        response = rr.parse_response(body)
        return Stored(response, version, next_event, bool(streamed), json.loads(items))

    def change(self, response_id: str, decide: Decide) -> rr.Response:
        """Apply ``decide(response, items, now)`` with a compare-and-set, storing the
        change's events (numbered on from the last) in the same transaction.

        Raises:
            rr.ResponseNotFound: no such response.
            Whatever ``decide`` raises (a refusal, a ResponseTransitionError...).
        """

        def attempt() -> rr.Response:
            with self.dialect.write(self.store.conn):
                found = self._row(response_id)
                if found is None:
                    raise _Answer(rr.not_found(response_id))
                before = found.response
                try:
                    after = decide(before, found.items, now_for(before))
                except (rs.Error, ValueError) as err:
                    raise _Answer(err) from None
                if after is before:
                    return before
                start = found.next_event
                events = delta_events(rr.stream_events(before, after, sequence_start=start), start)
                cursor = self.execute(
                    "UPDATE responses SET status = ?, version = ?, next_event = ?, body = ? "
                    "WHERE id = ? AND version = ?",
                    (
                        after.status.value,
                        found.version + 1,
                        start + len(events),
                        dumps(after),
                        response_id,
                        found.version,
                    ),
                )
                if cursor.rowcount != 1:
                    raise Conflict
                self._insert_events(response_id, events)
                return after

        return self.store._answering(attempt)  # type: ignore[no-any-return]

    def delete(self, response_id: str) -> dict[str, Any]:
        """Delete the response, its events and its items, if ``ensure_can_delete`` allows.

        Raises:
            rr.DeleteRefused: still in flight (background).
            rr.ResponseNotFound: no such response, ``store: false``, or synchronous and
                still in flight.
        """

        def attempt() -> dict[str, Any]:
            with self.dialect.write(self.store.conn):
                found = self._row(response_id)
                if found is None:
                    raise _Answer(rr.not_found(response_id))
                try:
                    body = rr.deleted(found.response)
                except (rr.DeleteRefused, rr.ResponseNotFound) as err:
                    raise _Answer(err) from None
                cursor = self.execute(
                    "DELETE FROM responses WHERE id = ? AND version = ?",
                    (response_id, found.version),
                )
                if cursor.rowcount != 1:
                    raise Conflict
                self.execute("DELETE FROM response_events WHERE response_id = ?", (response_id,))
                return body

        return self.store._answering(attempt)  # type: ignore[no-any-return]

    # -- reading ------------------------------------------------------------------------

    def get(self, response_id: str) -> Stored | None:
        return self._row(response_id)

    def events(self, response_id: str, after: int) -> tuple[list[tuple[int, str, str]], str | None]:
        """The stored events numbered above ``after`` (``(number, type, JSON)``, in order) and
        the response's status, read first (None once it is gone): a terminal status read
        first means every event, the terminal one included, is in the rows read after."""
        row = self.execute("SELECT status FROM responses WHERE id = ?", (response_id,)).fetchone()
        rows = self.execute(
            "SELECT sequence_number, type, body FROM response_events WHERE response_id = ? "
            "AND sequence_number > ? ORDER BY sequence_number",
            (response_id, after),
        ).fetchall()
        return [(int(n), t, b) for n, t, b in rows], None if row is None else str(row[0])

    def event_counts(self, response_ids: list[str]) -> dict[str, int]:
        """Each response's ``next_event`` (the streams' poller)."""
        found = self.store.column_by_id("responses", "next_event", response_ids)
        return {r: int(n) for r, n in found.items()}

    def to_work_on(self, limit: int = 100) -> list[str]:
        """Ids of the responses not yet ended, oldest first (the worker's)."""
        rows = self.execute(
            "SELECT id FROM responses WHERE status IN ('queued', 'in_progress') "
            "ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()
        return [r for (r,) in rows]

    def queued(self, limit: int = 100) -> list[str]:
        """Ids of the queued responses, oldest first (the model worker's to claim)."""
        rows = self.execute(
            "SELECT id FROM responses WHERE status = 'queued' ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [r for (r,) in rows]

    def statuses(self, response_ids: list[str]) -> dict[str, str]:
        """Each response's status (a deleted one is missing)."""
        found = self.store.column_by_id("responses", "status", response_ids)
        return {r: str(s) for r, s in found.items()}

    def orphans(self, limit: int = 100) -> list[str]:
        """Ids of the in-progress responses no lease holds (the model worker's lease
        table, ``leases.py``: call only once it exists): nobody is executing them."""
        rows = self.execute(
            "SELECT id FROM responses WHERE status = 'in_progress' AND NOT EXISTS "
            "(SELECT 1 FROM leases WHERE leases.kind = 'response' AND leases.id = responses.id) "
            "ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()
        return [r for (r,) in rows]
