"""Hypothesis strategies for responses (public through :mod:`runstate.strategies`).

Importing this module imports hypothesis; ``import runstate.responses`` never does.
Generated lives are legal by construction: each response is one ``TABLE`` move from the
one before, or output written while in progress (text streamed as it arrives), made by
the operations themselves, so every response is clean
(:func:`~runstate.responses.violations` is empty) and openai-python's ``Response``
accepts it.
"""

from __future__ import annotations

import json
import string
from typing import Any, Final

from hypothesis import strategies as st

from .._engine.jsonvalue import thaw
from ._machine import (
    add_output_item,
    add_output_text,
    cancel,
    complete,
    fail,
    mark_incomplete,
    new_response,
    start,
)
from ._model import TERMINAL, Response, ResponseStatus

__all__ = ["response_lives", "responses"]

_TS_MIN: Final = 1_600_000_000
_TS_MAX: Final = 2_000_000_000
_TEXT: Final = st.text(string.ascii_letters + string.digits + " .,!?\u00e9\u2019", max_size=30)
_IDS: Final = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12)


@st.composite
def _usage(draw: Any) -> dict[str, Any]:
    tokens = draw(st.integers(0, 10_000)), draw(st.integers(0, 10_000))
    return {
        "input_tokens": tokens[0],
        # openai-python 3.63 requires cache_write_tokens; the 2025-26 records lack it.
        "input_tokens_details": {
            "cached_tokens": draw(st.integers(0, tokens[0])),
            "cache_write_tokens": 0,
        },
        "output_tokens": tokens[1],
        "output_tokens_details": {"reasoning_tokens": draw(st.integers(0, tokens[1]))},
        "total_tokens": sum(tokens),
    }


@st.composite
def _item(draw: Any, status: str = "completed") -> dict[str, Any]:
    item_id = draw(_IDS)
    if draw(st.booleans()):
        parts = draw(st.lists(_TEXT, min_size=0, max_size=3))
        content = [
            {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
            for text in parts
        ]
        return {
            "id": f"msg_{item_id}",
            "type": "message",
            "status": status,
            "content": content,
            "role": "assistant",
        }
    arguments = json.dumps(draw(st.dictionaries(_IDS, _TEXT, max_size=3)))
    return {
        "id": f"fc_{item_id}",
        "type": "function_call",
        "status": "completed",
        "arguments": arguments,
        "call_id": f"call_{item_id}",
        "name": draw(_IDS),
    }


def _write(draw: Any, response: Response, now: int) -> Response:
    """Output written while in progress: a new message, or text on the last one."""
    last = response.output[-1] if response.output else None
    if last is None or last.get("type") != "message" or draw(st.integers(0, 3)) == 0:
        item = {
            "id": f"msg_{len(response.output)}_{draw(_IDS)}",  # unique: the index is its own
            "type": "message",
            "status": "in_progress",
            "content": [],
            "role": "assistant",
        }
        return add_output_item(response, item, now=now)
    return add_output_text(response, draw(_TEXT), now=now)


def _ending(draw: Any, response: Response, status: str) -> list[dict[str, Any]]:
    """Final output items continuing what was written.

    The open item finished (maybe with more text), then new items.
    """
    written: list[dict[str, Any]] = list(thaw(response.output))
    if written:
        last = written[-1]
        last["status"] = status
        parts = last.get("content")
        if parts and draw(st.booleans()):
            parts[-1]["text"] += draw(_TEXT)
    more: list[dict[str, Any]] = draw(
        st.lists(_item(status), max_size=3 if status == "completed" else 2)
    )
    return written + more


@st.composite
def _life(draw: Any) -> tuple[Response, ...]:
    background = draw(st.booleans())
    now = draw(st.integers(_TS_MIN, _TS_MAX))
    response = new_response(
        id=f"resp_{draw(_IDS)}",
        model=draw(st.sampled_from(["gpt-4.1-mini", "gpt-4o-mini-2024-07-18", "o4-mini"])),
        now=now,
        background=background,
        store=True if background else draw(st.booleans()),
        max_output_tokens=draw(st.none() | st.integers(16, 4096)),
    )
    life = [response]
    while response.status not in TERMINAL and draw(st.integers(0, 9)) > 0:
        now += draw(st.integers(0, 60))
        status = response.status
        moves = ["fail"]
        if status is ResponseStatus.QUEUED:
            moves.append("start")
        else:
            moves += ["complete", "mark_incomplete", "write", "write"]
        if background:
            moves.append("cancel")
        move = draw(st.sampled_from(moves))
        if move == "start":
            response = start(response, now=now)
        elif move == "cancel":
            response = cancel(response, now=now)
        elif move == "fail":
            code = draw(st.sampled_from(["server_error", "rate_limit_exceeded", "invalid_prompt"]))
            response = fail(response, {"code": code, "message": draw(_TEXT)}, now=now)
        elif move == "write":
            response = _write(draw, response, now)
        elif move == "complete":
            items = _ending(draw, response, "completed")
            response = complete(response, output=items, usage=draw(_usage()), now=now)
        else:
            reason = draw(st.sampled_from(["max_output_tokens", "content_filter"]))
            items = _ending(draw, response, "incomplete")
            response = mark_incomplete(
                response, reason, output=items, usage=draw(_usage()), now=now
            )
        life.append(response)
    return tuple(life)


def response_lives() -> st.SearchStrategy[tuple[Response, ...]]:
    """Legal lives of one response, made by the operations.

    Each response is a ``TABLE`` move from the last, or output written while in progress
    (:func:`~runstate.responses.add_output_item`,
    :func:`~runstate.responses.add_output_text`).

    Example:
        >>> from hypothesis import given
        >>> from runstate.responses import violations
        >>> @given(response_lives())
        ... def test_clean(life):
        ...     assert all(violations(r) == () for r in life)
        >>> test_clean()
    """
    return _life()


def responses() -> st.SearchStrategy[Response]:
    """Clean responses in every status: a point of a generated life."""
    return _life().flatmap(st.sampled_from)
