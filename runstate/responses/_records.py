"""The traces in a recorded session (openai-dotnet's ``{"Entries": [...]}`` form), purely.

The CLI reads the file; this splits the decoded record into the traces it holds: per
response id, the JSON bodies that carried it, in request order (a poll trace), and each
streamed body's events (a stream trace). Each trace is labelled with the 1-based number
of the entry it starts at.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .._engine.sse import parse_sse
from .._engine.trace import Mode

__all__ = ["is_session_record", "session_traces"]


def is_session_record(value: object) -> bool:
    """Whether ``value`` is a decoded session record (an object with an ``Entries`` list)."""
    return isinstance(value, Mapping) and isinstance(value.get("Entries"), list)


def session_traces(record: Mapping[str, Any]) -> Iterator[tuple[int, Mode, list[Any]]]:
    r"""``(entry number, mode, items)`` for every trace of one response in ``record``.

    Example:
        >>> body = {"id": "resp_1", "object": "response", "status": "queued"}
        >>> sse = ["event: x\n", "data: 1\n\n"]
        >>> record = {"Entries": [{"ResponseBody": body}, {"ResponseBody": sse}]}
        >>> [(n, mode, len(items)) for n, mode, items in session_traces(record)]
        [(1, 'poll', 1), (2, 'stream', 1)]
    """
    polled: dict[str, tuple[int, list[Any]]] = {}
    streams: list[tuple[int, Mode, list[Any]]] = []
    for number, entry in enumerate(record["Entries"], start=1):
        body = entry.get("ResponseBody") if isinstance(entry, Mapping) else None
        if isinstance(body, list) and all(isinstance(line, str) for line in body):
            pairs = list(parse_sse("".join(body)))
            if pairs:
                streams.append((number, "stream", pairs))
        elif isinstance(body, Mapping) and body.get("object") == "response":
            polled.setdefault(str(body.get("id")), (number, []))[1].append(body)
    traces = [(n, "poll", bodies) for n, bodies in polled.values()] + streams
    yield from sorted(traces, key=lambda t: t[0])  # type: ignore[misc]
