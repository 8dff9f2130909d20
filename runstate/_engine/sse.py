r"""Reading a ``text/event-stream`` body into ``(event_name, data)`` pairs, lazily.

The parser follows the WHATWG "server-sent events" interpretation rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation),
with the two choices the OpenAI SDKs make:

* an event is dispatched when it has data *or* an explicit ``event:`` name (the spec drops
  an event without data; openai-python's ``SSEDecoder`` keeps it);
* an event still pending at the end of the input is dispatched (the spec discards it), so a
  body whose last blank line was cut off still yields its last event.

Everything is lazy: the source is read line by line, and only the current line and the
current event's data are held. That holds for a whole body given at once too (it is
split where it lies, never copied or decoded whole), and for a file object whose lines
end in a lone ``\r`` (it is read in bounded pieces, not by ``\n``-terminated lines).
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any, Final, cast

import attrs

from .errors import InvalidArgument

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["SseEvent", "iter_events", "iter_lines", "parse_sse"]

#: The event name of an event without an ``event:`` field (WHATWG: ``message``).
DEFAULT_EVENT: Final = "message"

_EOL: Final = re.compile(r"\r\n|\r|\n")
_EOL_BYTES: Final = re.compile(rb"\r\n|\r|\n")
_BOM: Final = "\ufeff"
#: How much of a file object one ``readline`` call may return.
_CHUNK: Final = 64 * 1024


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


def _pieces(
    source: str | bytes | Iterable[str] | Iterable[bytes],
) -> Iterable[str | bytes | bytearray | memoryview]:
    """The source as pieces of text: each one line, or several when it holds line breaks.

    A whole body and a file object are split here, lazily, so every piece is one line
    without its ending; any other iterable is passed on as it is.
    """
    if isinstance(source, str | bytes | bytearray):
        return _split((source,))
    if isinstance(source, memoryview):
        return _split((source.cast("B") if source.c_contiguous else source.tobytes(),))
    if isinstance(source, io.IOBase):
        return _split(_read_pieces(source))
    try:
        return cast("Iterable[str | bytes]", iter(source))
    except TypeError:
        raise InvalidArgument.expected(
            "source", "str, bytes or an iterable of str or bytes lines", source
        ) from None


def _read_pieces(file: io.IOBase) -> Iterator[str | bytes]:
    r"""A file's text in pieces of at most :data:`_CHUNK`, each ending at a ``\n`` if one comes.

    ``readline`` returns as soon as a line is complete, so a live stream is not held
    back; the size bound keeps a file without ``\n`` (lone ``\r`` endings) from being
    read whole.
    """
    while piece := file.readline(_CHUNK):
        yield piece


def _split(
    chunks: Iterable[str | bytes | bytearray | memoryview],
) -> Iterator[str | bytes | bytearray | memoryview]:
    r"""The lines of raw text given in chunks, without endings; a line may span chunks.

    A ``\r`` that ends one chunk and a ``\n`` that starts the next are one line ending.
    """
    rest: list[Any] = []
    after_cr = False
    for chunk in chunks:
        if not chunk:
            continue
        text = isinstance(chunk, str)
        eol: re.Pattern[Any] = _EOL if text else _EOL_BYTES
        start = 0
        if after_cr and chunk[:1] == ("\n" if text else b"\n"):
            start = 1
        after_cr = False
        for match in eol.finditer(chunk, start):
            line: Any = chunk[start : match.start()]
            if rest:
                rest.append(line)
                line = line[:0].join(rest)
                rest = []
            yield line
            start = match.end()
        if start < len(chunk):
            rest.append(chunk[start:])
        else:
            after_cr = chunk[-1:] == ("\r" if text else b"\r")
    if rest:
        yield rest[0] if len(rest) == 1 else rest[0][:0].join(rest)


def iter_lines(source: str | bytes | Iterable[str] | Iterable[bytes]) -> Iterator[str]:
    r"""Split an event-stream body into lines, lazily, without their endings.

    A whole body (``str`` or ``bytes``) and a file object (:class:`io.IOBase`, text or
    binary) are split at ``\r\n``, ``\r`` and ``\n``, lazily and in bounded pieces, so
    memory does not grow with the body, whatever its line endings. Any other iterable
    is read as *lines*, with or without their endings (``str.splitlines()``, an HTTP
    response's line iterator): each item is one line, or several if it holds a line
    break inside; an empty item is an empty line. Bytes are decoded as UTF-8, replacing
    invalid sequences; a leading byte order mark is dropped.

    Example:
        >>> list(iter_lines(b"a\r\nb\rc\n\nd"))
        ['a', 'b', 'c', '', 'd']
        >>> list(iter_lines(["data: 1", "", "data: 2\n"]))
        ['data: 1', '', 'data: 2']
    """
    return _lines(_pieces(source))


def _lines(pieces: Iterable[str | bytes | bytearray | memoryview]) -> Iterator[str]:
    first = True
    for raw in pieces:
        if isinstance(raw, str):
            text = raw
        elif isinstance(raw, bytes | bytearray | memoryview):
            text = bytes(raw).decode("utf-8", "replace")
        else:
            raise InvalidArgument.expected("source", "str or bytes lines", raw)
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
        InvalidArgument: ``source`` is neither text, bytes nor an iterable of them (at
            once), or a line it yields is neither ``str`` nor bytes (when it is read).

    Example:
        >>> body = b"event: thread.run.queued\r\ndata: {\"status\":\r\ndata:  \"queued\"}\r\n\r\n"
        >>> body += b": keep-alive\n\nevent: done\ndata: [DONE]"
        >>> list(parse_sse(body))
        [('thread.run.queued', '{"status":\n "queued"}'), ('done', '[DONE]')]
    """
    return _pairs(_pieces(source))  # _pieces refuses a non-iterable now, not at next()


def _pairs(pieces: Iterable[str | bytes | bytearray | memoryview]) -> Iterator[tuple[str, str]]:
    for event in iter_events(_lines(pieces)):
        yield event.event, event.data
