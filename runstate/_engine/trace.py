"""The trace engine: problems, the bounded report and its collection loop, the shared rules.

Nothing here knows a run. Each machine's trace checker (the run's
:class:`runstate.TraceChecker`, the response's
:class:`runstate.responses.ResponseTraceChecker`) is a :class:`Checker`: it judges one
item at a time and returns :class:`TraceProblem` values; :func:`collect` drives it over
a trace into a :class:`TraceReport` of bounded size. :func:`changed_fields` and
:func:`settled_fields` state the two rules every machine shares (``field-changed``,
``after-terminal``); the helpers below show input in messages and read event pairs.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal, Protocol, TypeAlias, cast

import attrs

from .errors import InvalidArgument, InvalidRun

__all__ = [
    "DEFAULT_MAX_PROBLEMS",
    "Checker",
    "Mode",
    "Severity",
    "TraceProblem",
    "TraceReport",
    "changed_fields",
    "checked_mode",
    "clip",
    "collect",
    "describe",
    "pair",
    "plain",
    "settled_fields",
    "show",
    "unreadable",
]

#: How many problems of each severity :func:`check_trace` keeps by default.
DEFAULT_MAX_PROBLEMS: Final = 1000
#: The longest text from the input echoed in a problem's message (longer is cut).
_ECHO: Final = 200

#: How a trace was recorded: ``"poll"`` (snapshots) or ``"stream"`` (SSE events).
Mode: TypeAlias = Literal["poll", "stream"]
Severity: TypeAlias = Literal["error", "warning"]

_MODES: Final = ("poll", "stream")


@attrs.frozen
class TraceProblem:
    """One place where a trace breaks the lifecycle.

    Attributes:
        position: The 0-based index of the item in the trace (non-run events count).
        severity: ``"error"`` or ``"warning"``.
        rule: A stable kebab-case name, such as ``status-unreachable`` (see
            :mod:`runstate._trace` for the list) or a :class:`~runstate.Violation` rule.
        message: What is wrong, in one line.

    Example:
        >>> print(TraceProblem(3, "error", "after-done", "an item follows 'done'"))
        3: error after-done: an item follows 'done'
    """

    position: int
    severity: Severity
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.position}: {self.severity} {self.rule}: {self.message}"


@attrs.frozen
class TraceReport:
    """The outcome of :func:`check_trace`.

    Attributes:
        problems: The problems kept, in trace order: every problem found, unless there
            were more than ``max_problems`` of a severity (see :func:`check_trace`).
        checked: How many items the trace had.
        omitted_errors: How many errors were found beyond those kept.
        omitted_warnings: How many warnings were found beyond those kept.

    Example:
        >>> report = TraceReport(problems=(), checked=2)
        >>> report.ok, report.errors, report.warnings
        (True, (), ())
        >>> report = TraceReport(problems=(), checked=9, omitted_errors=3)
        >>> report.ok, report.error_count
        (False, 3)
    """

    problems: tuple[TraceProblem, ...]
    checked: int = 0
    omitted_errors: int = 0
    omitted_warnings: int = 0

    @property
    def ok(self) -> bool:
        """Whether no problem is an error (warnings allowed), kept or omitted."""
        return not self.omitted_errors and not any(p.severity == "error" for p in self.problems)

    @property
    def error_count(self) -> int:
        """How many errors were found, kept or omitted."""
        return len(self.errors) + self.omitted_errors

    @property
    def warning_count(self) -> int:
        """How many warnings were found, kept or omitted."""
        return len(self.warnings) + self.omitted_warnings

    @property
    def errors(self) -> tuple[TraceProblem, ...]:
        """The error-severity problems."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[TraceProblem, ...]:
        """The warning-severity problems."""
        return tuple(p for p in self.problems if p.severity == "warning")


def clip(text: str) -> str:
    """``text``, cut to :data:`_ECHO` characters (a message never holds unbounded input)."""
    if len(text) <= _ECHO:
        return text
    return f"{text[:_ECHO]}... ({len(text) - _ECHO} more characters)"


def show(value: object) -> str:
    """How a value from the input is shown in a message: text quoted, cut to size."""
    if isinstance(value, enum.Enum):  # a status: its wire value
        return repr(value.value)
    return clip(repr(value) if isinstance(value, str) else str(value))


def describe(exc: InvalidRun) -> str:
    """The first three of a parse's errors, in one line."""
    shown = [str(e) for e in exc.errors[:3]]
    more = len(exc.errors) - len(shown)
    text = "; ".join(shown) if shown else str(exc)
    return f"{text} (and {more} more)" if more > 0 else text


def checked_mode(mode: object) -> Mode:
    """``mode`` as a plain ``"poll"`` or ``"stream"`` (a str subclass read as its value)."""
    text = str.__str__(mode) if isinstance(mode, str) else None
    if text in _MODES:
        return cast("Mode", text)
    raise InvalidArgument.expected("mode", "'poll' or 'stream'", mode)


def pair(item: object) -> tuple[str, object] | None:
    """``(event, data)`` if the item is an event pair (the name as a plain ``str``)."""
    if isinstance(item, tuple | list) and len(item) == 2:
        event, data = item
        if isinstance(event, str):
            return str.__str__(event), data  # the text itself, whatever a subclass says
    return None


def plain(data: str | bytes | bytearray) -> str | bytes:
    """The text or bytes themselves, not a subclass that may answer otherwise."""
    return str.__str__(data) if isinstance(data, str) else bytes(memoryview(data))


def changed_fields(
    position: int, prev: object, new: object, names: Iterable[str]
) -> list[TraceProblem]:
    """A ``field-changed`` error for each of ``names`` that differs between two snapshots.

    The identity rule of every machine's trace checker (a run's, a response's).
    """
    found = []
    for name in names:
        old, value = getattr(prev, name), getattr(new, name)
        if old != value:
            message = f"{name} changed from {show(old)} to {show(value)}"
            found.append(TraceProblem(position, "error", "field-changed", message))
    return found


def settled_fields(
    position: int, prev: Any, new: Any, names: Iterable[str], note: str = ""
) -> list[TraceProblem]:
    """One ``after-terminal`` error naming the ``names`` that changed after ``prev`` ended."""
    changed = [n for n in names if getattr(prev, n) != getattr(new, n)]
    if not changed:
        return []
    what = type(prev).__name__.lower()  # "run", "response"
    message = f"{', '.join(changed)} changed after the {what} became {prev.status.value!r}{note}"
    return [TraceProblem(position, "error", "after-terminal", message)]


def unreadable(position: int, what: str, exc: Exception) -> TraceProblem:
    """An ``invalid-item`` error: ``what`` raised when it was read."""
    return TraceProblem(
        position,
        "error",
        "invalid-item",
        f"{what} cannot be read: it raised {clip(type(exc).__name__)}",
    )


class Checker(Protocol):
    """What :func:`collect` drives: an incremental checker of one machine's traces."""

    @property
    def position(self) -> int:
        """How many items were fed."""

    def feed(self, item: object) -> tuple[TraceProblem, ...]:
        """Judge one more item."""

    def close(self) -> tuple[TraceProblem, ...]:
        """Judge the end of the trace."""


def collect(checker: Checker, items: Iterable[Any], max_problems: int | None) -> TraceReport:
    """Feed ``items`` to ``checker`` and collect a bounded :class:`TraceReport`.

    The one collection loop of every machine's ``check_trace`` (the run's, and a
    sibling's such as :func:`runstate.responses.check_trace`).

    Raises:
        InvalidArgument: for ``items`` that are not iterable (or are text, bytes or a
            mapping), or a ``max_problems`` that is not ``None`` or an int >= 0.
    """
    if max_problems is not None and (
        type(max_problems) is not int or max_problems < 0  # bool is no count
    ):
        raise InvalidArgument.expected("max_problems", "None or an int >= 0", max_problems)
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
        # a str, bytes or mapping would be read as its characters or keys, one per item
        raise InvalidArgument.expected("items", "an iterable of snapshots or events", items)
    problems: list[TraceProblem] = []
    kept = {"error": 0, "warning": 0}
    omitted = {"error": 0, "warning": 0}

    def keep(found: tuple[TraceProblem, ...]) -> None:
        for problem in found:
            if max_problems is None or kept[problem.severity] < max_problems:
                kept[problem.severity] += 1
                problems.append(problem)
            else:
                omitted[problem.severity] += 1

    feed = checker.feed
    for item in items:
        found = feed(item)
        if found:
            keep(found)
    keep(checker.close())
    return TraceReport(
        problems=tuple(problems),
        checked=checker.position,
        omitted_errors=omitted["error"],
        omitted_warnings=omitted["warning"],
    )
