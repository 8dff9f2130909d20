"""Reading a ``text/event-stream`` body into ``(event_name, data)`` pairs, lazily.

The parser follows the WHATWG "server-sent events" interpretation rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation),
with the two choices the OpenAI SDKs make:

* an event is dispatched when it has data *or* an explicit ``event:`` name (the spec drops
  an event without data; openai-python's ``SSEDecoder`` keeps it);
* an event still pending at the end of the input is dispatched (the spec discards it), so a
  body whose last blank line was cut off still yields its last event.

Everything is lazy: the source is read line by line, and only the current line and the
current event's data are held.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final, cast

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["SseEvent", "iter_events", "iter_lines", "parse_sse"]

#: The event name of an event without an ``event:`` field (WHATWG: ``message``).
DEFAULT_EVENT: Final = "message"

_EOL: Final = re.compile(r"\r\n|\r|\n")
_BOM: Final = "\ufeff"


@attrs.frozen
class SseEvent:
    r"""One dispatched event, with the lines it came from.

    Attributes:
        event: The event name (``message`` when the event had no ``event:`` field).
        data: The data lines, joined with ``\n``.
        first_line: The 1-based line number of the event's first field.
        last_line: The 1-based line number of its last field.

    Example:
        >>> next(iter_events(["", "event: done", "data: [DONE]"]))
        SseEvent(event='done', data='[DONE]', first_line=2, last_line=3)
    """

    event: str
    data: str
    first_line: int
    last_line: int


def _pieces(source: str | bytes | Iterable[str] | Iterable[bytes]) -> Iterable[str | bytes]:
    if isinstance(source, str | bytes | bytearray | memoryview):
        return (source if isinstance(source, str) else bytes(source),)
    try:
        return cast("Iterable[str | bytes]", iter(source))
    except TypeError:
        raise TypeError(
            f"expected str, bytes or an iterable of str or bytes lines, got {type(source).__name__}"
        ) from None


def iter_lines(source: str | bytes | Iterable[str] | Iterable[bytes]) -> Iterator[str]:
    r"""Split an event-stream body into lines, lazily, without their endings.

    A whole body (``str`` or ``bytes``) is split at ``\r\n``, ``\r`` and ``\n``. An
    iterable is read as *lines*, with or without their endings (a file object, or
    ``str.splitlines()``): each item is one line, or several if it holds a line break
    inside (a binary file object keeps a lone ``\r``); an empty item is an empty line.
    Bytes are decoded as UTF-8, replacing invalid sequences; a leading byte order mark is
    dropped.

    Example:
        >>> list(iter_lines(b"a\r\nb\rc\n\nd"))
        ['a', 'b', 'c', '', 'd']
        >>> list(iter_lines(["data: 1", "", "data: 2\n"]))
        ['data: 1', '', 'data: 2']
    """
    return _lines(_pieces(source))


def _lines(pieces: Iterable[str | bytes]) -> Iterator[str]:
    first = True
    for raw in pieces:
        if isinstance(raw, str):
            text = raw
        elif isinstance(raw, bytes | bytearray | memoryview):
            text = bytes(raw).decode("utf-8", "replace")
        else:
            raise TypeError(f"expected str or bytes lines, got {type(raw).__name__}")
        if first:
            first = False
            if text.startswith(_BOM):
                text = text[1:]
        if "\n" not in text and "\r" not in text:
            yield text
            continue
        lines = _EOL.split(text)
        if not lines[-1]:
            lines.pop()  # the text ended with a line break
        yield from lines


def iter_events(lines: Iterable[str]) -> Iterator[SseEvent]:
    r"""Interpret lines (without their endings) as server-sent events, with line numbers.

    This is :func:`parse_sse` for callers that split lines themselves and want to know
    where each event came from. Field rules: a line starting with ``:`` is a comment;
    ``field: value`` loses one space after the colon; a line without a colon is a field
    with an empty value; ``data`` lines accumulate, joined with ``\n``; ``event`` sets the
    name; ``id``, ``retry`` and unknown fields are ignored; a blank line dispatches.

    Example:
        >>> [(e.event, e.data, e.first_line) for e in iter_events(["data: 1", "", "data: 2"])]
        [('message', '1', 1), ('message', '2', 3)]
    """
    name: str | None = None
    data: list[str] = []
    first = 0  # the line of the pending event's first field; 0 while none is pending
    last = 0
    for number, line in enumerate(lines, 1):
        if not line:
            if first:
                yield SseEvent(name or DEFAULT_EVENT, "\n".join(data), first, last)
            name, data, first = None, [], 0
            continue
        if line[0] == ":":
            continue
        field, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value
        else:
            continue  # id, retry and unknown fields change nothing we report
        if not first:
            first = number
        last = number
    if first:
        yield SseEvent(name or DEFAULT_EVENT, "\n".join(data), first, last)


def parse_sse(
    source: str | bytes | Iterable[str] | Iterable[bytes],
) -> Iterator[tuple[str, str]]:
    r"""Turn a raw ``text/event-stream`` body into ``(event_name, data)`` pairs, lazily.

    ``source`` may be the whole body (``str`` or ``bytes``) or any iterable of lines
    (``str`` or ``bytes``, with or without their endings), such as a file object or an
    HTTP response's line iterator: nothing is read before the first pair is asked for,
    and only the current event is held.

    Handled as the WHATWG spec says: multi-line ``data:`` (joined with ``\n``), comment
    lines (``:``), ``\r\n``, ``\r`` and ``\n`` line endings, one optional space after the
    colon, a missing event name (``"message"``). Also: an event still pending at the end
    is yielded, and an event with a name but no data is yielded with ``data == ""``.
    ``data`` is the raw string: the end-of-stream marker stays ``"[DONE]"`` and JSON stays
    undecoded. Invalid UTF-8 is replaced with U+FFFD, as the spec requires.

    Args:
        source: The body, or its lines.

    Returns:
        A generator of ``(event_name, data)`` pairs.

    Raises:
        TypeError: ``source`` is neither text, bytes nor an iterable of them.

    Example:
        >>> body = b"event: thread.run.queued\r\ndata: {\"status\":\r\ndata:  \"queued\"}\r\n\r\n"
        >>> body += b": keep-alive\n\nevent: done\ndata: [DONE]"
        >>> list(parse_sse(body))
        [('thread.run.queued', '{"status":\n "queued"}'), ('done', '[DONE]')]
    """
    return _pairs(_pieces(source))  # _pieces raises TypeError now, not at the first next()


def _pairs(pieces: Iterable[str | bytes]) -> Iterator[tuple[str, str]]:
    for event in iter_events(_lines(pieces)):
        yield event.event, event.data
