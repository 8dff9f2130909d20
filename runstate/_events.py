"""The ``thread.run.*`` events a streaming request carries, and their ``text/event-stream`` bytes.

A server that streams calls :func:`stream_events` for each change it makes to a run and
writes :func:`encode_sse` of the result. The events follow the recordings
(spec-facts §1.4, §1.5, §5.2, §11):

* a new run: ``thread.run.created`` then ``thread.run.queued``, both carrying the
  ``queued`` run;
* each status change: ``thread.run.<status>`` carrying the new run;
* the stream ends with ``event: done`` / ``data: [DONE]`` once the run reaches
  ``requires_action`` (the client must submit tool outputs, which opens a new stream) or
  a terminal status.

Data is the run as compact JSON (no spaces, UTF-8, not ASCII-escaped) with the real
API's key order, extras included (``tool_resources`` after ``tools``,
``reasoning_effort`` after ``top_p``): byte for byte what the dotnet recordings carry.
Step and message events are the server's own (this library models runs only).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ._errors import InvalidArgument
from ._model import Run
from ._serde import dump_run
from ._status import TERMINAL_STATUSES, RunStatus
from ._table import can_transition

__all__ = ["DONE", "encode_sse", "run_json", "stream_events"]

#: The last event of every stream (spec ``DoneEvent``; every recording ends with it).
DONE: Final = ("done", "[DONE]")
CREATED: Final = "thread.run.created"

#: Statuses after which the stream ends: the run waits for the client, or is over.
_STREAM_ENDS: Final = TERMINAL_STATUSES | {RunStatus.REQUIRES_ACTION}

#: Extra keys the real API writes inside the run, after the named key (dotnet 2025).
_PLACED_AFTER: Final = {"tools": "tool_resources", "top_p": "reasoning_effort"}


def run_json(run: Run) -> str:
    """The run as the real API writes it in a stream's ``data:`` line.

    Compact JSON, non-ASCII kept as UTF-8 text, keys in the real API's order with the
    extras it sends in their recorded places.

    Example:
        >>> from runstate import new_run
        >>> run = new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1,
        ...               extra={"tool_resources": {}})
        >>> text = run_json(run)
        >>> text[:40]
        '{"id":"run_1","object":"thread.run","cre'
        >>> text.index('"tool_resources"') > text.index('"tools"')
        True
    """
    data = dump_run(run)
    if any(key in data for key in _PLACED_AFTER.values()):
        ordered: dict[str, Any] = {}
        moved = {key: data.pop(key) for key in _PLACED_AFTER.values() if key in data}
        for key, value in data.items():
            ordered[key] = value
            extra = _PLACED_AFTER.get(key)
            if extra is not None and extra in moved:
                ordered[extra] = moved.pop(extra)
        ordered.update(moved)  # an anchor the run lacks: keep the extra at the end
        data = ordered
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def stream_events(before: Run | None, after: Run) -> list[tuple[str, str]]:
    """The ``(event, data)`` pairs a stream carries for one change of a run.

    Args:
        before: The run before the change, or ``None`` when ``after`` was just created.
        after: The run after the change.

    Returns:
        ``[("thread.run.created", ...), ("thread.run.queued", ...)]`` for a new run; one
        ``("thread.run.<status>", ...)`` for a status change; nothing when the status did
        not change (a metadata edit is not announced). ``("done", "[DONE]")`` follows when
        ``after`` is ``requires_action`` or terminal. The pairs are what
        :func:`runstate.parse_sse` reads back from :func:`encode_sse` of them.

    Raises:
        InvalidArgument: when ``after`` is not a ``Run``; a new run that is not
            ``queued``; a change between two different runs; or a status change that is
            not one move of the table (a stream announces every status, so a server must
            report each move: spec-facts §1.5, the checker's ``status-skipped``).

    Example:
        >>> from runstate import new_run, start
        >>> run = new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
        >>> [event for event, _ in stream_events(None, run)]
        ['thread.run.created', 'thread.run.queued']
        >>> [event for event, _ in stream_events(run, start(run, now=2))]
        ['thread.run.in_progress']
    """
    if type(after) is not Run:
        raise InvalidArgument.expected("after", "a runstate.Run", after)
    if before is None:
        if after.status is not RunStatus.QUEUED:
            raise InvalidArgument(
                "after", f"a new run is queued, got status {after.status.value!r}"
            )
        data = run_json(after)
        return [(CREATED, data), (after.status.event, data)]
    if type(before) is not Run:
        raise InvalidArgument.expected("before", "a runstate.Run or None", before)
    if before.id != after.id:
        raise InvalidArgument("after", f"run {after.id!r} is not run {before.id!r}")
    if before.status is after.status:
        return []
    if not can_transition(before.status, after.status):
        raise InvalidArgument(
            "after",
            f"no single move from {before.status.value!r} to {after.status.value!r}; "
            "announce each status change",
        )
    events = [(after.status.event, run_json(after))]
    if after.status in _STREAM_ENDS:
        events.append(DONE)
    return events


def encode_sse(events: Iterable[tuple[str, str | Mapping[str, Any]]]) -> bytes:
    r"""Write ``(event, data)`` pairs as ``text/event-stream`` bytes, as the API frames them.

    Each event is ``event: <name>\n``, then ``data: <line>\n`` per line of its data,
    then a blank line (the recordings' framing; ``done`` included). A mapping as data is
    written as compact JSON.

    Raises:
        InvalidArgument: for an event name holding a line break or an item that is not a
            pair of a name and text or a mapping.

    Example:
        >>> encode_sse([("done", "[DONE]")])
        b'event: done\ndata: [DONE]\n\n'
    """
    parts: list[str] = []
    for item in events:
        if not (isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str)):
            raise InvalidArgument.expected("events", "(event, data) pairs", item)
        name, data = item
        if "\n" in name or "\r" in name:
            raise InvalidArgument.expected("event name", "a single line", name)
        if isinstance(data, Mapping):
            text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        elif isinstance(data, str):
            text = data
        else:
            raise InvalidArgument.expected("data", "text or a mapping", data)
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        parts.append(f"event: {name}\n" + "".join(f"data: {line}\n" for line in lines) + "\n")
    return "".join(parts).encode("utf-8")
