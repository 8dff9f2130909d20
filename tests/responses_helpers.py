"""Values shared by the response machine's tests."""

from __future__ import annotations

from typing import Any

from runstate import responses as rr

#: A usage object openai-python 3.63 accepts (it requires ``cache_write_tokens``).
USAGE: dict[str, Any] = {
    "input_tokens": 5,
    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "output_tokens": 3,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 8,
}


def life_events(life: Any) -> list[dict[str, Any]]:
    """The events of a whole life: each change's ``stream_events``, numbered on."""
    events: list[dict[str, Any]] = []
    before = None
    for response in life:
        events += rr.stream_events(before, response, sequence_start=len(events))
        before = response
    return events
