"""The ``runstate`` command line: ``runstate check`` and ``runstate diagram``.

This is the only module of the package that touches files, standard output and the
process's exit status; everything it checks goes through the pure library
(:class:`runstate._trace.TraceChecker`, :func:`runstate._sse.iter_events`).

``runstate check`` reads every trace line by line (or, for a JSON document, value by
value), feeds each item to the incremental checker and prints each problem as soon as it
is found, so its memory does not grow with the length of a trace. Bad input never ends in
a traceback: a file that cannot be read as a trace gets a one-line error, the other files
are still checked, and the exit status is 2.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import itertools
import json
import os
import re
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, NoReturn, TextIO

import attrs

from ._diagram import dot, markdown, mermaid
from ._sse import iter_events
from ._trace import Mode, TraceChecker, TraceProblem
from ._version import __version__

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["main"]

#: The longest line (or JSON value) read, in bytes. A real run object is a few KiB;
#: longer input is refused rather than read into memory.
MAX_LINE: Final = 8 * 1024 * 1024
_CHUNK: Final = 64 * 1024
_SNIFF: Final = 4096

_POLL_SUFFIXES: Final = frozenset({".jsonl", ".json"})
_STREAM_SUFFIXES: Final = frozenset({".sse"})
_SNIFFED_SUFFIXES: Final = frozenset({".txt"})
_TRACE_SUFFIXES: Final = _POLL_SUFFIXES | _STREAM_SUFFIXES | _SNIFFED_SUFFIXES

_EOL: Final = re.compile(r"\r\n|\r|\n")
_BOM: Final = b"\xef\xbb\xbf"
_JSON_WS: Final = " \t\n\r"

EXIT_OK: Final = 0
EXIT_PROBLEMS: Final = 1
EXIT_UNREADABLE: Final = 2

_CHECK_EXAMPLES: Final = """\
examples:
  runstate check examples/                    every trace under a folder
  runstate check run.jsonl stream.sse         polled snapshots and a recorded stream
  runstate check --mode stream capture.log    force the mode of a file
  runstate check --json --strict traces/ > report.json
  runstate check --ignore event-status-mismatch,incomplete-details old-recordings/

A .jsonl or .json file is a poll trace (JSON lines, a JSON array of runs, or a list
page {"object": "list", "data": [...]}); a .sse file, or a .txt file starting with
"event:", is a stream. Folders are searched recursively; hidden entries are skipped.
Exit status: 0 clean, 1 problems found (with --strict, warnings too), 2 a file could
not be read as a trace, or bad usage.
"""

_DIAGRAM_EXAMPLES: Final = """\
examples:
  runstate diagram                                   Mermaid flowchart
  runstate diagram --format dot | dot -Tsvg > lifecycle.svg
  runstate diagram --format markdown > docs/lifecycle.md
"""

_MAIN_EXAMPLES: Final = """\
examples:
  runstate check examples/
  runstate diagram --format markdown
  runstate check --help
"""


class _Unreadable(Exception):
    """The file cannot be read as a trace; the message is one line, without the path."""


# --------------------------------------------------------------------------------------
# Reading files


class _Lines:
    r"""A binary file's lines, decoded as strict UTF-8, bounded in length, numbered.

    Splits at ``\r\n``, ``\r`` and ``\n``. Raises :class:`_Unreadable` for a NUL
    byte (binary), invalid UTF-8 or a line longer than :data:`MAX_LINE`.
    """

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        #: The number of the last line yielded (1-based).
        self.number = 0
        #: Whether the file ended with a line ending (known once exhausted).
        self.final_newline = True

    def __iter__(self) -> Iterator[str]:
        first = True
        while True:
            raw = self._file.readline(MAX_LINE + 1)
            if not raw:
                return
            if first:
                first = False
                raw = raw.removeprefix(_BOM)
            if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
                raise _Unreadable(
                    f"line {self.number + 1} is longer than {MAX_LINE} bytes (enormous line)"
                )
            if b"\0" in raw:
                raise _Unreadable(f"binary file (NUL byte on line {self.number + 1})")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _Unreadable(
                    f"not UTF-8 text (line {self.number + 1}: {exc.reason})"
                ) from None
            self.final_newline = text.endswith(("\n", "\r"))
            if "\r" in text:
                parts = _EOL.split(text)
                if not parts[-1]:
                    parts.pop()
            else:
                parts = [text[:-1] if self.final_newline else text]
            for part in parts:
                self.number += 1
                yield part


def _is_page(value: object) -> bool:
    return (
        isinstance(value, dict)
        and value.get("object") == "list"
        and isinstance(value.get("data"), list)
    )


def _jsonl_items(file: IO[bytes]) -> Iterator[tuple[int, object]]:
    """JSON lines: one snapshot per non-blank line; a list page or array line is expanded."""
    lines = _Lines(file)
    for text in lines:
        stripped = text.strip(_JSON_WS)
        if not stripped:
            continue
        if not lines.final_newline:
            # The last line, cut off without its line ending, and not JSON: truncated.
            try:
                json.loads(stripped)
            except ValueError:
                raise _Unreadable(
                    f"truncated: line {lines.number} ends before its JSON value does"
                ) from None
        if stripped[0] == "[" or '"list"' in stripped:
            try:
                value = json.loads(stripped)
            except ValueError:
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


class _JsonReader:
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
            raw = raw.removeprefix(_BOM)
        if b"\0" in raw:
            raise _Unreadable(f"binary file (NUL byte near line {self._line})")
        try:
            text = self._decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as exc:
            raise _Unreadable(f"not UTF-8 text (near line {self._line}: {exc.reason})") from None
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
                    raise _Unreadable(
                        f"truncated: the JSON value at line {self._line} is cut off"
                    ) from None
                line = self._line + self._buf.count("\n", self._pos, exc.pos)
                raise _Unreadable(f"not valid JSON (line {line}: {exc.msg})") from None
            except RecursionError:
                raise _Unreadable(
                    f"the JSON value at line {self._line} is nested too deeply"
                ) from None
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
        raise _Unreadable(f"the JSON value at line {self._line} is longer than {MAX_LINE} bytes")

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
                raise _Unreadable(f"not valid JSON (line {self._line}: expected ',' or ']')")
        raise _Unreadable("truncated: the JSON array is not closed")


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
                raise _Unreadable(
                    f"the event at line {first} is longer than {MAX_LINE} bytes (enormous event)"
                )
        else:
            held = 0
        yield text


def _sse_items(file: IO[bytes]) -> Iterator[tuple[int, object]]:
    lines = _Lines(file)
    for event in iter_events(_bounded_events(lines)):
        if event.last_line == lines.number and not lines.final_newline:
            # The file's last line, without its ending: was the last event cut off?
            data = event.data
            if data != "[DONE]" and event.event != "done" and data.lstrip()[:1] in ("{", "["):
                try:
                    json.loads(data)
                except ValueError:
                    raise _Unreadable(
                        f"truncated: the event at line {event.first_line} is cut off"
                    ) from None
        yield event.first_line, (event.event, event.data)


# --------------------------------------------------------------------------------------
# Choosing files and modes


@attrs.define
class _Target:
    display: str
    path: Path
    #: Found by walking a folder (a .txt file that is not a stream is then skipped).
    walked: bool


def _targets(paths: Sequence[str]) -> Iterator[_Target | tuple[str, str]]:
    """Each file to check, or ``(display, error)`` for a path that cannot be used."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = False
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith(".") or Path(name).suffix.lower() not in _TRACE_SUFFIXES:
                        continue
                    found = True
                    yield _Target(os.path.join(root, name), Path(root, name), walked=True)
            if not found:
                yield given, "no trace files (.jsonl, .json, .sse, .txt) in this folder"
        elif path.exists():
            yield _Target(given, path, walked=False)
        else:
            yield given, "no such file or directory"


def _sniff(head: bytes) -> Mode | None:
    text = head.removeprefix(_BOM).lstrip()
    if text.startswith((b"event:", b"data:", b":")):
        return "stream"
    if text.startswith((b"{", b"[")):
        return "poll"
    return None


# --------------------------------------------------------------------------------------
# Reporting


@attrs.define
class _FileResult:
    path: str
    mode: Mode | None = None
    items: int = 0
    errors: int = 0
    warnings: int = 0
    unreadable: str | None = None
    #: Why a file found by walking a folder was passed over (it holds no run trace).
    skipped: str | None = None
    #: Problems of rules named by --ignore, counted but not reported.
    ignored: int = 0


@attrs.define
class _Reporter:
    out: TextIO
    err: TextIO
    as_json: bool
    ignore: frozenset[str] = frozenset()
    files: list[_FileResult] = attrs.field(factory=list)
    problems: list[dict[str, Any]] = attrs.field(factory=list)
    matched: set[str] = attrs.field(factory=set)

    def problem(self, result: _FileResult, line: int, problem: TraceProblem) -> None:
        if problem.rule in self.ignore:
            result.ignored += 1
            self.matched.add(problem.rule)
            return
        if problem.severity == "error":
            result.errors += 1
        else:
            result.warnings += 1
        if self.as_json:
            self.problems.append(
                {
                    "file": result.path,
                    "line": line,
                    "position": problem.position,
                    "severity": problem.severity,
                    "rule": problem.rule,
                    "message": problem.message,
                }
            )
        else:
            self.out.write(
                f"{result.path}:{line}: {problem.severity} {problem.rule}: {problem.message}\n"
            )

    def finish_file(self, result: _FileResult) -> None:
        self.files.append(result)
        if result.unreadable is not None:
            self.err.write(f"runstate: error: {result.path}: {result.unreadable}\n")
        if self.as_json:
            return
        if result.unreadable is not None:
            self.out.write(f"{result.path}: unreadable: {result.unreadable}\n")
        elif result.skipped is not None:
            self.out.write(f"{result.path}: skipped: {result.skipped}\n")
        elif result.errors or result.warnings:
            self.out.write(
                f"{result.path}: {_count(result.errors, 'error')}, "
                f"{_count(result.warnings, 'warning')} in {_count(result.items, 'item')}"
                f" ({result.mode})\n"
            )
        else:
            self.out.write(f"{result.path}: ok, {_count(result.items, 'item')} ({result.mode})\n")

    def finish(self, status: int) -> None:
        errors = sum(f.errors for f in self.files)
        warnings = sum(f.warnings for f in self.files)
        unreadable = sum(f.unreadable is not None for f in self.files)
        if self.as_json:
            document = {
                "version": __version__,
                "files": [
                    {
                        "path": f.path,
                        "mode": f.mode,
                        "items": f.items,
                        "errors": f.errors,
                        "warnings": f.warnings,
                        "unreadable": f.unreadable,
                        "skipped": f.skipped,
                        "ignored": f.ignored,
                    }
                    for f in self.files
                ],
                "problems": self.problems,
                "counts": {
                    "files": len(self.files),
                    "unreadable": unreadable,
                    "skipped": sum(f.skipped is not None for f in self.files),
                    "ignored": sum(f.ignored for f in self.files),
                    "errors": errors,
                    "warnings": warnings,
                },
                "exit_status": status,
            }
            json.dump(document, self.out, indent=2, ensure_ascii=False)
            self.out.write("\n")
            return
        skipped = sum(f.skipped is not None for f in self.files)
        parts = [_count(len(self.files) - skipped, "file") + " checked"]
        if skipped:
            parts[0] += f" ({skipped} skipped: not run traces)"
        if unreadable:
            parts.append(f"{unreadable} unreadable")
        parts.append(f"{_count(errors, 'error')}, {_count(warnings, 'warning')}")
        ignored = sum(f.ignored for f in self.files)
        if ignored:
            parts.append(f"{ignored} ignored ({', '.join(sorted(self.matched))})")
        self.out.write(": ".join(parts[:1]) + ": " + "; ".join(parts[1:]) + "\n")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --------------------------------------------------------------------------------------
# check


def _check_file(target: _Target, forced: Mode | None, reporter: _Reporter) -> bool:
    """Check one file; False when it was skipped (a walked .txt file that is no stream)."""
    result = _FileResult(target.display)
    try:
        with target.path.open("rb") as file:
            head = file.peek(_SNIFF)[:_SNIFF] if hasattr(file, "peek") else b""
            suffix = target.path.suffix.lower()
            mode = forced
            if mode is None:
                if suffix in _POLL_SUFFIXES:
                    mode = "poll"
                elif suffix in _STREAM_SUFFIXES:
                    mode = "stream"
                else:
                    mode = _sniff(head)
                    if suffix in _SNIFFED_SUFFIXES and mode != "stream" and target.walked:
                        return False
                    if mode is None:
                        raise _Unreadable(
                            "cannot tell a poll trace from a stream; use --mode poll|stream"
                        )
            result.mode = mode
            if b"\0" in head:  # before any decoding: a binary file fails as such
                number = head.count(b"\n", 0, head.index(b"\0")) + 1
                raise _Unreadable(f"binary file (NUL byte on line {number})")
            if mode == "stream":
                items = _sse_items(file)
            elif head.removeprefix(_BOM).lstrip()[:1] == b"[" or suffix == ".json":
                items = iter(_JsonReader(file))
            else:
                items = _jsonl_items(file)
            if target.walked and mode == "poll":
                items = _unless_foreign(items, result)
            _run_checker(items, mode, result, reporter)
    except _Unreadable as exc:
        result.unreadable = str(exc)
    except OSError as exc:
        result.unreadable = f"cannot read: {exc.strerror or exc}"
    except RecursionError:
        result.unreadable = "input nested too deeply"
    reporter.finish_file(result)
    return True


def _unless_foreign(
    items: Iterator[tuple[int, object]], result: _FileResult
) -> Iterator[tuple[int, object]]:
    """Pass the items on, unless the first is a JSON object that is not a run.

    A folder of recordings may hold other JSON lines files (error bodies, run steps);
    those are not traces of a run, so a folder walk passes over them, visibly.
    """
    first = next(items, None)
    if first is None:
        return iter(())
    value = first[1]
    if isinstance(value, str):  # a JSON line, not decoded yet
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if isinstance(value, dict) and value.get("object") != "thread.run":
        result.skipped = 'not a run trace (its first object is not a "thread.run")'
        return iter(())
    return itertools.chain([first], items)


def _run_checker(
    items: Iterator[tuple[int, object]], mode: Mode, result: _FileResult, reporter: _Reporter
) -> None:
    checker = TraceChecker(mode=mode)
    line = 0
    for line, item in items:
        for problem in checker.feed(item):
            reporter.problem(result, line, problem)
        result.items = checker.position
    if checker.position == 0:
        if result.skipped is not None:
            return
        raise _Unreadable("empty file: no snapshots" if mode == "poll" else "empty file: no events")
    for problem in checker.close():
        reporter.problem(result, line, problem)


def _cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ignore = frozenset(r.strip() for arg in args.ignore for r in arg.split(",") if r.strip())
    reporter = _Reporter(out, err, as_json=args.json, ignore=ignore)
    for target in _targets(args.paths):
        if isinstance(target, tuple):
            reporter.finish_file(_FileResult(target[0], unreadable=target[1]))
        else:
            _check_file(target, args.mode, reporter)
    files = reporter.files
    if not files:
        reporter.finish_file(_FileResult(" ".join(args.paths), unreadable="no trace files"))
    if any(f.unreadable is not None for f in files):
        status = EXIT_UNREADABLE
    elif any(f.errors or (args.strict and f.warnings) for f in files):
        status = EXIT_PROBLEMS
    else:
        status = EXIT_OK
    reporter.finish(status)
    for rule in sorted(ignore - reporter.matched):
        err.write(f"runstate: note: --ignore {rule} matched no problem\n")
    return status


# --------------------------------------------------------------------------------------
# diagram


_DIAGRAMS: Final = {"mermaid": mermaid, "dot": dot, "markdown": markdown}


def _cmd_diagram(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    out.write(_DIAGRAMS[args.format]())
    return EXIT_OK


# --------------------------------------------------------------------------------------
# main


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting, so ``main`` returns a status."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_UNREADABLE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="runstate",
        description="Check recorded OpenAI Assistants runs against the lifecycle model, "
        "and draw the lifecycle.",
        epilog=_MAIN_EXAMPLES,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"runstate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser(
        "check",
        help="check polled or streamed traces of runs",
        description="Check each trace (polled snapshots or a server-sent-event stream) "
        "against the run lifecycle and print every problem as FILE:LINE: SEVERITY RULE: "
        "MESSAGE, then a summary per file and overall.",
        epilog=_CHECK_EXAMPLES,
        formatter_class=formatter,
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="trace files or folders")
    check.add_argument(
        "--mode",
        choices=("poll", "stream"),
        help="read every file as this kind of trace (default: by file name and content)",
    )
    check.add_argument(
        "--json", action="store_true", help="print one JSON document (files, problems, counts)"
    )
    check.add_argument("--strict", action="store_true", help="exit with status 1 on warnings too")
    check.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="RULE",
        help="count problems of this rule but neither report them nor fail on them "
        "(repeatable, or comma-separated); for known quirks of old recordings",
    )
    check.set_defaults(handler=_cmd_check)

    diagram = commands.add_parser(
        "diagram",
        help="print the lifecycle diagram, generated from the transition table",
        description="Print the run lifecycle, generated from runstate's one transition "
        "table: a Mermaid flowchart, a Graphviz DOT graph, or a Markdown page with the "
        "diagram and the table.",
        epilog=_DIAGRAM_EXAMPLES,
        formatter_class=formatter,
    )
    diagram.add_argument(
        "--format",
        choices=tuple(_DIAGRAMS),
        default="mermaid",
        help="output format (default: mermaid)",
    )
    diagram.set_defaults(handler=_cmd_diagram)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``runstate`` command line and return its exit status.

    Args:
        argv: The arguments, without the program name; ``sys.argv[1:]`` by default.

    Returns:
        0 when everything checked is clean, 1 when problems were found, 2 when a file
        could not be read as a trace or the command line is wrong.

    Example:
        >>> main(["diagram", "--format", "dot"])  # doctest: +ELLIPSIS
        digraph run_lifecycle {
        ...
        0
    """
    out, err = sys.stdout, sys.stderr
    for stream in (out, err):
        if hasattr(stream, "reconfigure"):
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors="backslashreplace")
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        code = exc.code
        return code if isinstance(code, int) else EXIT_OK if code is None else EXIT_UNREADABLE
    if args.command is None:
        parser.print_help(err)
        return EXIT_UNREADABLE
    try:
        status: int = args.handler(args, out, err)
        out.flush()
    except KeyboardInterrupt:
        err.write("runstate: interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (``runstate check ... | head``): stop quietly.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())
        except (OSError, ValueError):  # pragma: no cover - stdout is not a real file
            pass
        return 128 + 13  # as a shell reports a process ended by SIGPIPE
    except Exception as exc:  # the promise is: never a traceback
        err.write(f"runstate: internal error: {type(exc).__name__}: {exc}\n")
        return EXIT_UNREADABLE
    return status
