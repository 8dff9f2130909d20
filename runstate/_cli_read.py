"""Reading trace files for the ``runstate`` command line (:mod:`runstate._cli`).

Which paths are checked (only regular files, a folder walked without recursion), and the
items of each file, read line by line (JSON lines, server-sent events) or value by value
(a JSON document), each with its line number. Bad input raises :class:`Unreadable` with
a one-line reason; nothing here prints. With :mod:`runstate._cli`, this is the only
module of the package that touches files.
"""

from __future__ import annotations

import codecs
import errno
import json
import os
import re
import stat
from typing import IO, TYPE_CHECKING, Final, NoReturn

import attrs

from ._engine.sse import iter_events

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ._trace import Mode

__all__ = [
    "BOM",
    "MAX_LINE",
    "POLL_SUFFIXES",
    "SNIFF",
    "SNIFFED_SUFFIXES",
    "STREAM_SUFFIXES",
    "JsonReader",
    "NotRegular",
    "Refused",
    "Target",
    "Unreadable",
    "jsonl_items",
    "open_regular",
    "os_reason",
    "sniff",
    "sse_items",
    "targets",
]

#: The longest line (or JSON value) read, in bytes. A real run object is a few KiB;
#: longer input is refused rather than read into memory.
MAX_LINE: Final = 8 * 1024 * 1024
_CHUNK: Final = 64 * 1024
#: How much of a file's head is read to tell a poll trace from a stream.
SNIFF: Final = 4096

POLL_SUFFIXES: Final = frozenset({".jsonl", ".json"})
STREAM_SUFFIXES: Final = frozenset({".sse"})
SNIFFED_SUFFIXES: Final = frozenset({".txt"})
_TRACE_SUFFIXES: Final = POLL_SUFFIXES | STREAM_SUFFIXES | SNIFFED_SUFFIXES

BOM: Final = b"\xef\xbb\xbf"
_JSON_WS: Final = " \t\n\r"


class Unreadable(Exception):
    """The file cannot be read as a trace; the message is one line, without the path."""


# --------------------------------------------------------------------------------------
# Reading files


class _Lines:
    r"""A binary file's lines, decoded as strict UTF-8, bounded in length, numbered.

    Splits at ``\r\n``, ``\r`` and ``\n`` alike, reading the file in chunks, so a file
    whose lines end in a lone ``\r`` reads line by line too, at any size. Raises
    :class:`Unreadable` for a NUL byte (binary), invalid UTF-8 or a line longer than
    :data:`MAX_LINE`.
    """

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        #: The number of the last line yielded (1-based).
        self.number = 0
        #: Whether the last line yielded ended with a line ending.
        self.final_newline = True

    def __iter__(self) -> Iterator[str]:
        pending: list[bytes] = []
        held = 0
        after_cr = False
        first = True
        while chunk := self._file.read(_CHUNK):
            if first:
                first = False
                while len(chunk) < len(BOM) and (more := self._file.read(_CHUNK)):
                    chunk += more
                chunk = chunk.removeprefix(BOM)
            if after_cr and chunk[:1] == b"\n":
                chunk = chunk[1:]  # the \n of a \r\n split between two chunks
            after_cr = chunk[-1:] == b"\r"
            for piece in chunk.splitlines(keepends=True):  # bytes split at \r, \n, \r\n only
                if piece[-1:] not in (b"\n", b"\r"):  # the chunk ends inside a line
                    pending.append(piece)
                    held += len(piece)
                    if held > MAX_LINE:
                        raise self._too_long()
                    continue
                if pending:
                    pending.append(piece)
                    piece = b"".join(pending)  # noqa: PLW2901
                    pending, held = [], 0
                yield self._decode(piece.rstrip(b"\r\n"), ended=True)
        if pending:
            yield self._decode(b"".join(pending), ended=False)

    def _too_long(self) -> Unreadable:
        return Unreadable(f"line {self.number + 1} is longer than {MAX_LINE} bytes (enormous line)")

    def _decode(self, raw: bytes, *, ended: bool) -> str:
        if len(raw) > MAX_LINE:
            raise self._too_long()
        if b"\0" in raw:
            raise Unreadable(f"binary file (NUL byte on line {self.number + 1})")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Unreadable(f"not UTF-8 text (line {self.number + 1}: {exc.reason})") from None
        self.number += 1
        self.final_newline = ended
        return text


def _cut_off(text: str) -> bool:
    """Whether JSON text ends before its value does (the file's last line, cut off).

    Text that is whole but not readable (an integer of more digits than Python
    converts, nesting deeper than it decodes) is not cut off: the checker reports it.
    """
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return True
    except (ValueError, RecursionError):
        return False
    return False


def _is_page(value: object) -> bool:
    return (
        isinstance(value, dict)
        and value.get("object") == "list"
        and isinstance(value.get("data"), list)
    )


def jsonl_items(file: IO[bytes]) -> Iterator[tuple[int, object]]:
    """JSON lines: one snapshot per non-blank line; a list page or array line is expanded."""
    lines = _Lines(file)
    for text in lines:
        stripped = text.strip(_JSON_WS)
        if not stripped:
            continue
        if not lines.final_newline and _cut_off(stripped):
            raise Unreadable(f"truncated: line {lines.number} ends before its JSON value does")
        if stripped[0] == "[" or '"list"' in stripped:
            try:
                value = json.loads(stripped)
            except (ValueError, RecursionError):
                yield lines.number, stripped  # reported as invalid-run by the checker
                continue
            if isinstance(value, list):
                for item in value:
                    yield lines.number, item
                continue
            if _is_page(value):
                for item in value["data"]:
                    yield lines.number, item
                continue
        yield lines.number, stripped


class JsonReader:
    """Top-level JSON values of a file, read chunk by chunk, with their line numbers.

    Arrays (and the ``data`` of list pages) are expanded into their elements; the
    elements of a top-level array are read one at a time, so a long array never has to
    fit in memory. A single value longer than :data:`MAX_LINE` is refused.
    """

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._json = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._line = 1  # the line of self._pos
        self._first = True

    def _fill(self, size: int = _CHUNK) -> bool:
        if self._eof:
            return False
        raw = self._file.read(size)
        if self._first:
            self._first = False
            raw = raw.removeprefix(BOM)
        if b"\0" in raw:
            raise Unreadable(f"binary file (NUL byte near line {self._line})")
        try:
            text = self._decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as exc:
            raise Unreadable(f"not UTF-8 text (near line {self._line}: {exc.reason})") from None
        if not raw:
            self._eof = True
        self._buf = self._buf[self._pos :] + text
        self._pos = 0
        return bool(raw)

    def _advance(self, end: int) -> None:
        self._line += self._buf.count("\n", self._pos, end)
        self._pos = end

    def _peek(self) -> str | None:
        """Skip whitespace; return the next character, or None at the end of the file."""
        while True:
            buf, pos = self._buf, self._pos
            while pos < len(buf) and buf[pos] in _JSON_WS:
                pos += 1
            self._advance(pos)
            if pos < len(buf):
                return buf[pos]
            if not self._fill():
                return None

    def _value(self) -> tuple[object, int, int]:
        """Decode the value at the current position: (value, start, end) in the buffer."""
        want = _CHUNK
        while True:
            try:
                value, end = self._json.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                unterminated = exc.msg.startswith("Unterminated")
                if not self._eof and (unterminated or exc.pos >= len(self._buf) - 16):
                    self._grow(want)  # the value may go on in the next chunk
                    want *= 2
                    continue
                if unterminated or exc.pos >= len(self._buf.rstrip(_JSON_WS)) - 5:
                    raise Unreadable(
                        f"truncated: the JSON value at line {self._line} is cut off"
                    ) from None
                line = self._line + self._buf.count("\n", self._pos, exc.pos)
                raise Unreadable(f"not valid JSON (line {line}: {exc.msg})") from None
            except (ValueError, RecursionError):
                # Whole but not readable here (too many digits, nested too deeply): find its
                # end without decoding it, and pass its text on for the checker to report.
                found = _value_end(self._buf, self._pos, eof=self._eof)
                if found is None:
                    if self._eof:
                        raise Unreadable(
                            f"truncated: the JSON value at line {self._line} is cut off"
                        ) from None
                    self._grow(want)
                    want *= 2
                    continue
                value, end = self._buf[self._pos : found], found
            if end == len(self._buf) and not self._eof:
                self._grow(want)  # a number or literal may go on in the next chunk
                continue
            if end - self._pos > MAX_LINE:
                self._too_long()
            return value, self._pos, end

    def _grow(self, size: int) -> None:
        if len(self._buf) - self._pos > MAX_LINE:
            self._too_long()
        self._fill(size)

    def _too_long(self) -> NoReturn:
        raise Unreadable(f"the JSON value at line {self._line} is longer than {MAX_LINE} bytes")

    def __iter__(self) -> Iterator[tuple[int, object]]:
        while (char := self._peek()) is not None:
            if char == "[":
                yield from self._array()
                continue
            line = self._line
            value, start, end = self._value()
            if _is_page(value):
                assert isinstance(value, dict)
                for offset, item in zip(
                    _page_offsets(self._buf, start), value["data"], strict=False
                ):
                    yield line + self._buf.count("\n", start, offset), item
            else:
                yield line, value
            self._advance(end)

    def _array(self) -> Iterator[tuple[int, object]]:
        self._advance(self._pos + 1)  # "["
        if self._peek() == "]":
            self._advance(self._pos + 1)
            return
        while True:
            line = self._line
            value, _, end = self._value()
            self._advance(end)
            yield line, value
            char = self._peek()
            if char == ",":
                self._advance(self._pos + 1)
                if self._peek() is None:
                    break
            elif char == "]":
                self._advance(self._pos + 1)
                return
            elif char is None:
                break
            else:
                raise Unreadable(f"not valid JSON (line {self._line}: expected ',' or ']')")
        raise Unreadable("truncated: the JSON array is not closed")


_SIGNIFICANT: Final = re.compile(r'["\[\]{}]')
_STRING_REST: Final = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SCALAR_END: Final = re.compile(r"[,\]}\s]")


def _value_end(text: str, start: int, *, eof: bool) -> int | None:
    """Where the JSON value at ``start`` ends, found without recursion or decoding.

    Only brackets and strings are followed (the value is known to be no syntax error);
    ``None`` when the value goes on past the end of ``text``.
    """
    if text[start] not in '[{"':
        match = _SCALAR_END.search(text, start)
        return match.start() if match else len(text) if eof else None
    depth = 0
    i = start
    while match := _SIGNIFICANT.search(text, i):
        if match.group() == '"':
            rest = _STRING_REST.match(text, match.end())
            if rest is None:
                return None
            i = rest.end()
        else:
            depth += 1 if match.group() in "[{" else -1
            i = match.end()
        if depth <= 0:
            return i
    return None


def _page_offsets(text: str, start: int) -> Iterator[int]:
    """Where each element of a list page's ``data`` starts (the page is known valid)."""
    decoder = json.JSONDecoder()

    def skip(i: int) -> int:
        while text[i] in _JSON_WS:
            i += 1
        return i

    i = skip(start + 1)
    while text[i] != "}":
        key, i = decoder.raw_decode(text, i)
        i = skip(skip(i) + 1)  # ":"
        if key == "data" and text[i] == "[":
            i = skip(i + 1)
            while text[i] != "]":
                yield i
                _, i = decoder.raw_decode(text, i)
                i = skip(i)
                if text[i] == ",":
                    i = skip(i + 1)
            i += 1
        else:
            _, i = decoder.raw_decode(text, i)
        i = skip(i)
        if text[i] == ",":
            i = skip(i + 1)


def _bounded_events(lines: _Lines) -> Iterator[str]:
    """The lines, refusing an event (the lines between blank lines) over MAX_LINE bytes."""
    held = 0
    first = 0
    for text in lines:
        if text:
            if not held:
                first = lines.number
            held += len(text) + 1
            if held > MAX_LINE:
                raise Unreadable(
                    f"the event at line {first} is longer than {MAX_LINE} bytes (enormous event)"
                )
        else:
            held = 0
        yield text


def sse_items(file: IO[bytes]) -> Iterator[tuple[int, object]]:
    lines = _Lines(file)
    for event in iter_events(_bounded_events(lines)):
        if event.last_line == lines.number and not lines.final_newline:
            # The file's last line, without its ending: was the last event cut off?
            data = event.data
            if event.event != "done" and data.lstrip()[:1] in ("{", "[") and _cut_off(data):
                raise Unreadable(f"truncated: the event at line {event.first_line} is cut off")
        yield event.first_line, (event.event, event.data)


# --------------------------------------------------------------------------------------
# Choosing files and modes


@attrs.define
class Target:
    display: str
    path: str
    #: Found by walking a folder (a .txt file that is not a stream is then skipped).
    walked: bool


@attrs.define
class Refused:
    """A path that is not checked: unreadable, or (``skipped``) passed over in a walk."""

    display: str
    reason: str
    skipped: bool = False


_SPECIAL: Final = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _special(mode: int) -> str:
    """Why a file that is no regular file is not read, such as ``not a regular file (a FIFO)``."""
    kind = next((name for test, name in _SPECIAL if test(mode)), "a special file")
    return f"not a regular file ({kind}): not read"


def os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "no such file or directory"
    return f"cannot read: {exc.strerror or exc}"


def targets(paths: Sequence[str]) -> Iterator[Target | Refused]:
    """Each file to check, or why a path is not checked.

    Only regular files are opened: a FIFO, socket or device named on the command line is
    refused, and one found in a folder is skipped, visibly. Symbolic links to folders are
    not followed in a walk (so a link loop cannot trap it); a link loop or a dangling
    link where a file should be is reported as unreadable.
    """
    for given in paths:
        try:
            info = os.stat(given)
        except OSError as exc:
            yield Refused(given, os_reason(exc))
            continue
        except ValueError:  # a NUL character: no file can have that name
            yield Refused(given, "cannot read: the path holds a NUL character")
            continue
        if stat.S_ISDIR(info.st_mode):
            yield from _walk(given)
        elif stat.S_ISREG(info.st_mode):
            yield Target(given, given, walked=False)
        else:
            yield Refused(given, _special(info.st_mode))


def _walk(top: str) -> Iterator[Target | Refused]:
    """The trace files under a folder, in sorted order, each folder's files first.

    Iterative (a tree of any depth is walked without recursion, on every Python), and
    a folder that cannot be listed is reported, not passed over.
    """
    found = False
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            yield Refused(folder, os_reason(exc))
            found = True
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if _is_folder(entry):
                if not entry.is_symlink():  # a link to a folder could make a loop
                    subfolders.append(entry.path)
                continue
            if os.path.splitext(entry.name)[1].lower() not in _TRACE_SUFFIXES:
                continue
            found = True
            try:
                info = os.stat(entry.path)
            except OSError as exc:
                yield Refused(entry.path, os_reason(exc))
                continue
            if stat.S_ISREG(info.st_mode):
                yield Target(entry.path, entry.path, walked=True)
            else:
                yield Refused(entry.path, _special(info.st_mode), skipped=True)
        stack.extend(reversed(subfolders))
    if not found:
        yield Refused(top, "no trace files (.jsonl, .json, .sse, .txt) in this folder")


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a link loop: not a folder; it is reported where it is opened
        return False


class NotRegular(Exception):
    """The path turned out not to be a regular file when it was opened."""


#: Opening never waits: a FIFO swapped in after the walk's stat opens at once, and is
#: refused by fstat before anything is read; a terminal never becomes ours.
_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_BINARY", 0)
)


def open_regular(path: str) -> IO[bytes]:
    """Open a regular file for reading; raise :class:`NotRegular` for anything else."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegular(_special(mode))
        if _OPEN_FLAGS & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return open(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def sniff(head: bytes) -> Mode | None:
    text = head.removeprefix(BOM).lstrip()
    if text.startswith((b"event:", b"data:", b":")):
        return "stream"
    if text.startswith((b"{", b"[")):
        return "poll"
    return None
