"""Output written while a response is in progress: the rule that it only ever grows.

A worker that streams a model's text as it arrives writes it into the response itself
(:func:`~runstate.responses.add_output_item`, :func:`~runstate.responses.add_output_text`):
an ``in_progress`` response's ``output`` is what has been streamed so far. Its last item
is the one still being written (*open*); the items before it are closed. Whatever comes
next (more text, a new item, the final output of ``complete`` or ``mark_incomplete``)
must *continue* it, so that the events already sent are never contradicted: no item
dropped, a closed item unchanged, the open item's type and id kept, its texts and
arguments only extended. :func:`continuation_problem` is that rule, stated once; the
operations, :func:`~runstate.responses.stream_events` and the trace checker read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["continuation_problem"]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _open_item_problem(index: int, old: Mapping[str, Any], new: object) -> str | None:
    if not isinstance(new, Mapping):
        return f"output[{index}] is no longer an object"
    for key in ("type", "id"):
        if new.get(key) != old.get(key):
            return f"output[{index}].{key} changed from {old.get(key)!r} to {new.get(key)!r}"
    if old.get("type") == "function_call":
        if not _text(new.get("arguments")).startswith(_text(old.get("arguments"))):
            return f"output[{index}].arguments do not start with the arguments streamed"
        return None
    old_parts, new_parts = old.get("content"), new.get("content")
    if not isinstance(old_parts, Sequence) or isinstance(old_parts, str):
        return None  # nothing was streamed inside it
    if not isinstance(new_parts, Sequence) or len(new_parts) < len(old_parts):
        return f"output[{index}].content lost parts that were streamed"
    for j, (was, now) in enumerate(zip(old_parts, new_parts, strict=False)):
        where = f"output[{index}].content[{j}]"
        if not isinstance(was, Mapping) or not isinstance(now, Mapping):
            if was != now:
                return f"{where} changed"
            continue
        if now.get("type") != was.get("type"):
            return f"{where}.type changed from {was.get('type')!r} to {now.get('type')!r}"
        if not _text(now.get("text")).startswith(_text(was.get("text"))):
            return f"{where}.text does not start with the text streamed"
    return None


def continuation_problem(before: Sequence[Any], after: Sequence[Any]) -> str | None:
    """Why ``after`` does not continue ``before``, an in-progress output; ``None`` if it does.

    Example:
        >>> msg = {"id": "msg_1", "type": "message", "content": [{"type": "output_text",
        ...        "text": "Hel"}]}
        >>> more = {**msg, "content": [{"type": "output_text", "text": "Hello"}]}
        >>> continuation_problem([msg], [more]) is None
        True
        >>> continuation_problem([more], [msg])
        'output[0].content[0].text does not start with the text streamed'
        >>> continuation_problem([msg, more], [more, more])
        'output[0] was closed and cannot change'
    """
    if len(after) < len(before):
        return f"has {len(after)} items where {len(before)} were streamed"
    last = len(before) - 1
    for index, old in enumerate(before):
        new = after[index]
        if index < last:
            if new != old:
                return f"output[{index}] was closed and cannot change"
        elif isinstance(old, Mapping):
            return _open_item_problem(index, old, new)
        elif new != old:
            return f"output[{index}] changed"
    return None
