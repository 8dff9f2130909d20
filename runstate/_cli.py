"""The ``runstate`` command line: ``runstate check`` and ``runstate diagram``.

With :mod:`runstate._cli_read` (which finds the files and reads their items), this is the
only module of the package that touches files, standard output and the process's exit
status; everything it checks goes through the pure library
(:class:`runstate._trace.TraceChecker`, :func:`runstate._engine.sse.iter_events`).

``runstate check`` reads every trace line by line (or, for a JSON document, value by
value), feeds each item to the incremental checker and prints each problem as soon as it
is found, so its memory does not grow with the length of a trace; ``--json`` streams its
document the same way. Bad input never ends in a traceback: a file that cannot be read as
a trace gets a one-line error, the other files are still checked, and the exit status is
2. Only regular files are opened (a FIFO would block the run forever). Every string taken
from the input is cut to a bounded length and its control characters escaped before it is
printed, so a trace cannot forge or hide output lines. A report that cannot be written (a
full disk) is said to be so, with exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import itertools
import json
import os
import re
import sys
from typing import IO, TYPE_CHECKING, Final, NoReturn, TextIO, cast

import attrs

from ._cli_read import (
    BOM,
    POLL_SUFFIXES,
    SNIFF,
    SNIFFED_SUFFIXES,
    STREAM_SUFFIXES,
    JsonReader,
    NotRegular,
    Refused,
    Target,
    Unreadable,
    jsonl_items,
    open_regular,
    os_reason,
    sniff,
    sse_items,
    targets,
)
from ._diagram import dot, markdown, mermaid
from ._trace import Mode, TraceChecker, TraceProblem
from ._version import __version__

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from _typeshed import SupportsWrite

    from .responses._stream import ResponseTraceChecker

__all__ = ["main"]

#: A Responses session record (openai-dotnet's form) starts like this.
_RECORD: Final = re.compile(rb'\s*\{\s*"Entries"\s*:')
#: The largest session record read (they are read whole; real ones are under 4 MB).
_MAX_RECORD: Final = 64 * 1024 * 1024

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
"event:", is a stream. Lines may end in LF, CRLF or CR. Folders are searched
recursively; hidden entries are skipped, links to folders are not followed, and
FIFOs, sockets and devices are skipped with a note (named, they are unreadable).
A trace that holds no run at all is an error (no-run).
Exit status: 0 clean, 1 problems found (with --strict, warnings too), 2 a file could
not be read as a trace, bad usage, or the report could not be written.
"""

_DIAGRAM_EXAMPLES: Final = """\
examples:
  runstate diagram                                   Mermaid flowchart
  runstate diagram --format dot | dot -Tsvg > lifecycle.svg
  runstate diagram --format markdown > lifecycle.md
"""

_MAIN_EXAMPLES: Final = """\
examples:
  runstate check examples/
  runstate diagram --format markdown
  runstate check --help
"""


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
    #: Why a file found by walking a folder was passed over (no run trace, no regular file).
    skipped: str | None = None
    #: Problems of rules named by --ignore, counted but not reported.
    ignored: int = 0
    #: The machine that judged the file: ``run``, or ``responses`` (runstate.responses).
    machine: str = "run"


class _OutputError(Exception):
    """Writing the report failed (a full disk, a closed pipe): not the input's fault."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


def _output_error(exc: OSError | ValueError) -> _OutputError:
    """A failed write as an :class:`_OutputError`: a closed file's ``ValueError`` too."""
    if isinstance(exc, OSError):
        return _OutputError(exc)
    return _OutputError(OSError(errno.EBADF, str(exc) or "the stream is closed"))


def _write(out: TextIO, text: str) -> None:
    try:
        out.write(text)
    except (OSError, ValueError) as exc:  # a full disk, a closed pipe, a closed file
        raise _output_error(exc) from exc


def _note(err: TextIO, text: str) -> None:
    """Write to stderr; if even that fails there is no one left to tell."""
    with contextlib.suppress(Exception):
        err.write(text)


def _stream(stream: TextIO | None) -> TextIO:
    """The stream, or a closed stand-in for ``None``.

    A process started with its stdout or stderr closed has ``None`` there.
    """
    return cast("TextIO", _Closed()) if stream is None else stream


class _Closed(io.TextIOBase):
    """Stands in for a stream that is ``None`` (closed when the process started).

    Writing to it fails as writing to a closed descriptor does, so a missing stdout is
    a report that cannot be written (exit status 2) and a missing stderr a note that is
    lost, never an ``AttributeError``.
    """

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "the stream is closed")


#: The longest input text echoed (a message, a reason); longer is cut, and says so.
_ECHO: Final = 1000
#: The longest path echoed (a real one is shorter: the file system refuses longer ones).
_ECHO_PATH: Final = 4096
#: Characters never written raw: controls (C0, DEL, C1), line and paragraph separators,
#: bidirectional overrides and lone surrogates. In text they could forge or hide lines.
_UNSAFE: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
_ESCAPES: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _clip(text: str, limit: int = _ECHO) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


def _safe(text: str, limit: int = _ECHO) -> str:
    r"""Input text made fit for one line of a terminal: cut, and control characters escaped.

    Example:
        >>> print(_safe("key\n/tmp/x.jsonl:1: error forged\x1b[2J"))
        key\n/tmp/x.jsonl:1: error forged\x1b[2J
    """
    return _UNSAFE.sub(_escape, _clip(text, limit))


def _json(value: object) -> str:
    """One JSON value on one line; characters JSON leaves raw but a terminal obeys escaped."""
    text = json.dumps(value, ensure_ascii=False)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


@attrs.define
class _Reporter:
    """Prints each problem as it is found, and a summary per file and overall.

    Its memory does not grow with the number of problems: the JSON report is written as
    it goes (problems first, then the files and the counts), and only the files' small
    summaries are held for it.
    """

    out: TextIO
    err: TextIO
    as_json: bool
    ignore: frozenset[str] = frozenset()
    files: list[_FileResult] = attrs.field(factory=list)
    matched: set[str] = attrs.field(factory=set)
    count: int = 0
    unreadable: int = 0
    skipped: int = 0
    errors: int = 0
    warnings: int = 0
    ignored: int = 0
    _problems_written: int = 0

    def start(self) -> None:
        if self.as_json:
            _write(self.out, f'{{\n  "version": {_json(__version__)},\n  "problems": [')

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
            entry = {
                "file": _clip(result.path, _ECHO_PATH),
                "line": line,
                "position": problem.position,
                "severity": problem.severity,
                "rule": _clip(problem.rule),
                "message": _clip(problem.message),
            }
            _write(self.out, ("\n    " if not self._problems_written else ",\n    ") + _json(entry))
            self._problems_written += 1
        else:
            _write(
                self.out,
                f"{_safe(result.path, _ECHO_PATH)}:{line}: {problem.severity} "
                f"{_safe(problem.rule)}: {_safe(problem.message)}\n",
            )

    def finish_file(self, result: _FileResult) -> None:
        self.count += 1
        self.unreadable += result.unreadable is not None
        self.skipped += result.skipped is not None
        self.errors += result.errors
        self.warnings += result.warnings
        self.ignored += result.ignored
        path = _safe(result.path, _ECHO_PATH)
        if result.unreadable is not None:
            _note(self.err, f"runstate: error: {path}: {_safe(result.unreadable)}\n")
        if self.as_json:
            self.files.append(result)
            return
        if result.unreadable is not None:
            _write(self.out, f"{path}: unreadable: {_safe(result.unreadable)}\n")
        elif result.skipped is not None:
            _write(self.out, f"{path}: skipped: {_safe(result.skipped)}\n")
        elif result.errors or result.warnings:
            _write(
                self.out,
                f"{path}: {_count(result.errors, 'error')}, "
                f"{_count(result.warnings, 'warning')} in {_count(result.items, 'item')}"
                f" ({_judged(result)})\n",
            )
        else:
            _write(self.out, f"{path}: ok, {_count(result.items, 'item')} ({_judged(result)})\n")

    def finish(self, status: int) -> None:
        if self.as_json:
            files = ",\n    ".join(
                _json(
                    {
                        "path": _clip(f.path, _ECHO_PATH),
                        "mode": f.mode,
                        "machine": f.machine,
                        "items": f.items,
                        "errors": f.errors,
                        "warnings": f.warnings,
                        "unreadable": None if f.unreadable is None else _clip(f.unreadable),
                        "skipped": f.skipped,
                        "ignored": f.ignored,
                    }
                )
                for f in self.files
            )
            counts = {
                "files": self.count,
                "unreadable": self.unreadable,
                "skipped": self.skipped,
                "ignored": self.ignored,
                "errors": self.errors,
                "warnings": self.warnings,
            }
            _write(
                self.out,
                ("\n  ]" if self._problems_written else "]")
                + f',\n  "files": [\n    {files}\n  ],\n  "counts": {_json(counts)},'
                f'\n  "exit_status": {status}\n}}\n',
            )
            return
        parts = [_count(self.count - self.skipped, "file") + " checked"]
        if self.skipped:
            parts[0] += f" ({self.skipped} skipped)"
        if self.unreadable:
            parts.append(f"{self.unreadable} unreadable")
        parts.append(f"{_count(self.errors, 'error')}, {_count(self.warnings, 'warning')}")
        if self.ignored:
            parts.append(f"{self.ignored} ignored ({', '.join(sorted(self.matched))})")
        _write(self.out, ": ".join(parts[:1]) + ": " + "; ".join(parts[1:]) + "\n")


def _judged(result: _FileResult) -> str:
    """``poll`` or ``stream``, naming the machine when it is not the run's."""
    return str(result.mode) if result.machine == "run" else f"{result.mode}, {result.machine}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --------------------------------------------------------------------------------------
# check


def _check_file(target: Target, forced: Mode | None, reporter: _Reporter) -> bool:
    """Check one file; False when it was skipped (a walked .txt file that is no stream)."""
    result = _FileResult(target.display)
    try:
        with open_regular(target.path) as file:
            head = file.peek(SNIFF)[:SNIFF] if hasattr(file, "peek") else b""
            suffix = os.path.splitext(target.path)[1].lower()
            mode = forced
            if mode is None:
                if suffix in POLL_SUFFIXES:
                    mode = "poll"
                elif suffix in STREAM_SUFFIXES:
                    mode = "stream"
                else:
                    mode = sniff(head)
                    if suffix in SNIFFED_SUFFIXES and mode != "stream" and target.walked:
                        return False
                    if mode is None:
                        raise Unreadable(
                            "cannot tell a poll trace from a stream; use --mode poll|stream"
                        )
            result.mode = mode
            if b"\0" in head:  # before any decoding: a binary file fails as such
                number = head.count(b"\n", 0, head.index(b"\0")) + 1
                raise Unreadable(f"binary file (NUL byte on line {number})")
            if suffix == ".json" and forced is None and _RECORD.match(head.removeprefix(BOM)):
                _check_session_record(file, result, reporter)
                reporter.finish_file(result)
                return True
            if mode == "stream":
                items = sse_items(file)
            elif head.removeprefix(BOM).lstrip()[:1] == b"[" or suffix == ".json":
                items = iter(JsonReader(file))
            else:
                items = jsonl_items(file)
            if target.walked and mode == "poll":
                items = _unless_foreign(items, result)
            _run_checker(items, mode, result, reporter)
    except _OutputError:
        raise
    except Unreadable as exc:
        result.unreadable = str(exc)
    except NotRegular as exc:
        if target.walked:
            result.skipped = str(exc)
        else:
            result.unreadable = str(exc)
    except OSError as exc:
        result.unreadable = os_reason(exc)
    except RecursionError:
        result.unreadable = "input nested too deeply"
    except Exception as exc:  # a defect of runstate: this file fails, not the whole run
        result.unreadable = f"internal error while checking it: {type(exc).__name__}: {exc}"
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
        with contextlib.suppress(ValueError, RecursionError):
            value = json.loads(value)
    if isinstance(value, dict) and value.get("object") not in ("thread.run", "response"):
        result.skipped = 'not a run trace (its first object is not a "thread.run")'
        return iter(())
    return itertools.chain([first], items)


def _responses_item(item: object) -> bool:
    """Whether a trace's first item is the Responses API's: a response, or its event."""
    name, value = item if isinstance(item, tuple) else (None, item)
    if isinstance(name, str):
        return name.startswith("response.")
    if isinstance(value, str):
        with contextlib.suppress(ValueError, RecursionError):
            value = json.loads(value)
    return isinstance(value, dict) and value.get("object") == "response"


def _check_session_record(file: IO[bytes], result: _FileResult, reporter: _Reporter) -> None:
    """A Responses session record (``{"Entries": [...]}``): every trace it holds."""
    from .responses._records import is_session_record, session_traces  # noqa: PLC0415
    from .responses._stream import ResponseTraceChecker  # noqa: PLC0415

    data = file.read(_MAX_RECORD + 1)
    if len(data) > _MAX_RECORD:
        raise Unreadable(f"a session record larger than {_MAX_RECORD} bytes")
    try:
        record = json.loads(data)
    except ValueError as exc:
        raise Unreadable(f"not JSON: {exc}") from None
    if not is_session_record(record):  # {"Entries": 5}
        raise Unreadable('not a session record ("Entries" is not an array)')
    result.mode, result.machine = "poll", "responses"
    for number, mode, items in session_traces(record):
        checker = ResponseTraceChecker(mode=mode)
        for item in items:
            for problem in checker.feed(item):
                reporter.problem(result, number, problem)
        for problem in checker.close():
            reporter.problem(result, number, problem)
        result.items += checker.position
        if mode == "stream":
            result.mode = "stream"
    if not result.items:  # conversations, token counts: other endpoints' records
        result.skipped = "a session record without any response"


def _run_checker(
    items: Iterator[tuple[int, object]], mode: Mode, result: _FileResult, reporter: _Reporter
) -> None:
    first = next(items, None)
    checker: TraceChecker | ResponseTraceChecker = TraceChecker(mode=mode)
    if first is not None:
        items = itertools.chain([first], items)
        if _responses_item(first[1]):
            from .responses._stream import ResponseTraceChecker  # noqa: PLC0415

            checker, result.machine = ResponseTraceChecker(mode=mode), "responses"
    line = 0
    for line, item in items:
        for problem in checker.feed(item):
            reporter.problem(result, line, problem)
        result.items = checker.position
    if checker.position == 0:
        if result.skipped is not None:
            return
        raise Unreadable("empty file: no snapshots" if mode == "poll" else "empty file: no events")
    for problem in checker.close():
        reporter.problem(result, line, problem)


def _cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ignore = frozenset(r.strip() for arg in args.ignore for r in arg.split(",") if r.strip())
    reporter = _Reporter(out, err, as_json=args.json, ignore=ignore)
    reporter.start()
    for target in targets(args.paths):
        if isinstance(target, Refused):
            result = _FileResult(target.display)
            if target.skipped:
                result.skipped = target.reason
            else:
                result.unreadable = target.reason
            reporter.finish_file(result)
        else:
            _check_file(target, args.mode, reporter)
    if not reporter.count:
        reporter.finish_file(_FileResult(" ".join(args.paths), unreadable="no trace files"))
    if reporter.unreadable:
        status = EXIT_UNREADABLE
    elif reporter.errors or (args.strict and reporter.warnings):
        status = EXIT_PROBLEMS
    else:
        status = EXIT_OK
    reporter.finish(status)
    for rule in sorted(ignore - reporter.matched):
        _note(err, f"runstate: note: --ignore {_safe(rule)} matched no problem\n")
    return status


# --------------------------------------------------------------------------------------
# diagram


_DIAGRAMS: Final = {"mermaid": mermaid, "dot": dot, "markdown": markdown}


def _cmd_diagram(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    _write(out, _DIAGRAMS[args.format]())
    return EXIT_OK


# --------------------------------------------------------------------------------------
# main


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting, so ``main`` returns a status."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_UNREADABLE, f"{self.prog}: error: {_safe(message)}\n")

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        # argparse passes over a missing stream and OSError, but not a closed file's
        # ValueError: usage, help and version that cannot be written are simply lost
        # (the exit status says what happened).
        with contextlib.suppress(OSError, ValueError):
            super()._print_message(message, file)


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


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the ``runstate`` command line and return its exit status.

    Args:
        argv: The arguments, without the program name; ``sys.argv[1:]`` by default.
        stdout: Where the report, help and diagrams go; ``sys.stdout`` by default.
        stderr: Where errors and notes go; ``sys.stderr`` by default.

    Returns:
        0 when everything checked is clean, 1 when problems were found, 2 when a file
        could not be read as a trace, the command line is wrong, or the report could not
        be written (a full disk, a closed or missing stdout: ``runstate: error: cannot
        write the report: ...``); 141 when the reader of stdout went away (a broken
        pipe). These hold whatever state stdout and stderr are in (``None``, closed,
        failing): a note that cannot reach stderr is lost, never a traceback.

    Example:
        >>> main(["diagram", "--format", "dot"])  # doctest: +ELLIPSIS
        digraph run_lifecycle {
        ...
        0
    """
    out = _stream(sys.stdout if stdout is None else stdout)
    err = _stream(sys.stderr if stderr is None else stderr)
    for stream in (out, err):
        if stream is sys.stdout or stream is sys.stderr:
            with contextlib.suppress(AttributeError, ValueError, OSError):
                stream.reconfigure(errors="backslashreplace")  # type: ignore[attr-defined]
    parser = _parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
            if args.command is None:
                parser.print_help(err)
                return EXIT_UNREADABLE
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        code = exc.code
        return code if isinstance(code, int) else EXIT_OK if code is None else EXIT_UNREADABLE
    try:
        status: int = args.handler(args, out, err)
        try:
            out.flush()
        except (OSError, ValueError) as exc:
            raise _output_error(exc) from exc
    except KeyboardInterrupt:
        _note(err, "runstate: interrupted\n")
        return 130
    except _OutputError as exc:
        _silence(out)
        if isinstance(exc.error, BrokenPipeError):
            # The reader went away (``runstate check ... | head``): stop quietly.
            return 128 + 13  # as a shell reports a process ended by SIGPIPE
        reason = exc.error.strerror or exc.error
        _note(err, f"runstate: error: cannot write the report: {_safe(str(reason))}\n")
        return EXIT_UNREADABLE
    except Exception as exc:  # the promise is: never a traceback
        _note(err, f"runstate: internal error: {type(exc).__name__}: {_safe(str(exc))}\n")
        return EXIT_UNREADABLE
    return status


def _silence(out: TextIO) -> None:
    """Point the process's stdout at the null device, so its final flush cannot fail."""
    if out is not sys.__stdout__:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # pragma: no cover - stdout is not a real file
        pass
