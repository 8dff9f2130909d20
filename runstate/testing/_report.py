"""The report: what a survey found, and how the kit shows what came back.

:class:`ConformanceReport` is the Run kit's summary of an engine survey; the helpers
below write every divergence's message (a value as short JSON, a response as the run's
status or its body, a field-by-field difference).
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, TypeAlias

import attrs

from .._operations import Op
from .._status import RunStatus
from ._adapters import STEP_KINDS
from ._engine import ConformanceFailure, Divergence

__all__ = [
    "REACH_OPERATIONS",
    "ConformanceReport",
    "DivergencesFound",
    "Reach",
    "a_status",
    "brief",
    "bullets",
    "describe",
    "json_diff",
]


#: (operation, status before) -> (made, tried): how often the kit tried the operation on
#: a run in that status, and how often runstate accepted it there.
Reach: TypeAlias = Mapping[tuple[str, str], tuple[int, int]]

#: The operations the reach table counts, in its row order.
REACH_OPERATIONS: Final[tuple[str, ...]] = (
    Op.CANCEL.value,
    Op.SUBMIT_TOOL_OUTPUTS.value,
    *STEP_KINDS,
)


@attrs.frozen
class ConformanceReport:
    """What a survey found: every divergence, the accepted ones' counts, and the reach.

    Attributes:
        label: The implementation's name.
        divergences: Every distinct divergence found that was not accepted, errors and
            warnings, in the order found, each with its minimal program.
        accepted: For each name given in ``accept=``, how often it was seen.
        reach: (operation, status before) -> (made, tried), over the last round.
        examples: Test cases run in the last round, as hypothesis' ``max_examples``
            counts them (a case hypothesis gave up on is not counted).
        rounds: Hypothesis searches made: one per divergence found, plus the last.
        seconds: Wall time of the whole survey.
        steps_checked: Whether the implementation listed run steps (it has
            :meth:`Implementation.list_steps`), so that the kit checked them
            (:data:`STEP_RULES`); the summary says when it did not.
        case_reach: (operation, status before) -> in how many of the last round's
            ``examples`` runstate accepted the operation there at least once.
        stopped: ``None`` for a survey that ran to its end; ``"timeout"`` or
            ``"interrupted"`` for one stopped early: its divergences are those found
            until then (the last one perhaps not shrunk), its counts and reach those of
            the round it stopped in.

    Example:
        >>> report = ConformanceReport(label="Nothing", divergences=(), accepted={},
        ...                            reach={}, examples=0, rounds=1, seconds=0.0)
        >>> report.ok, report.summary().splitlines()[0]
        (True, 'runstate conformance of Nothing: no divergence; 0 examples, 1 round, 0.0 s')
    """

    label: str
    divergences: tuple[Divergence, ...]
    accepted: Mapping[str, int]
    reach: Reach
    examples: int
    rounds: int
    seconds: float
    steps_checked: bool = True
    case_reach: Mapping[tuple[str, str], int] = attrs.field(factory=dict)
    stopped: Literal["timeout", "interrupted"] | None = None

    @property
    def errors(self) -> tuple[Divergence, ...]:
        """The divergences that fail the survey: those graded ``error``."""
        return tuple(d for d in self.divergences if d.rule.grade == "error")

    @property
    def warnings(self) -> tuple[Divergence, ...]:
        """The divergences graded ``warning``: reported, not failing."""
        return tuple(d for d in self.divergences if d.rule.grade == "warning")

    @property
    def ok(self) -> bool:
        """Whether the survey passes: no divergence graded ``error`` beyond those accepted."""
        return not self.errors

    def summary(self) -> str:
        """Every divergence with its minimal program, then the accepted counts."""
        found = len(self.divergences)
        if found:
            head = (
                f"{found} divergence{'s' * (found != 1)} ({len(self.errors)} error"
                f"{'s' * (len(self.errors) != 1)}, {len(self.warnings)} warning"
                f"{'s' * (len(self.warnings) != 1)})"
            )
        else:
            head = "no divergence"
        lines = [
            f"runstate conformance of {self.label}: {head}; {self.examples} examples, "
            f"{self.rounds} round{'s' * (self.rounds != 1)}, {self.seconds:.1f} s"
        ]
        if self.stopped is not None:
            lines[0] += f"; STOPPED ({self.stopped}): what it found until then"
        lines += [f"  {d}" for d in self.divergences]
        if not self.steps_checked:
            lines.append("steps: not checked (the implementation has no list_steps)")
        if self.accepted:
            total = sum(self.accepted.values())
            names = ", ".join(f"{n} x{c}" for n, c in sorted(self.accepted.items()))
            lines.append(f"accepted: {len(self.accepted)} ({total} occurrences): {names}")
        return "\n".join(lines)

    def reach_table(self, *, cases: bool = False) -> str:
        """The reach as a Markdown table: ``made/tried`` per operation and status.

        ``made`` counts the times runstate accepted the operation from that status (the
        run moved), ``tried`` every attempt; refused attempts check the refusals. With
        ``cases=True`` each cell is instead the share of the examples in which the
        operation was made from that status at least once (``-`` where it was never made).

        Example:
            >>> report = ConformanceReport(label="X", divergences=(), accepted={},
            ...     reach={("start", "queued"): (9, 9)}, examples=4, rounds=1,
            ...     seconds=0.0, case_reach={("start", "queued"): 3})
            >>> report.reach_table(cases=True).splitlines()[4][:31]
            '| start | 75% | - | - | - | - |'
        """
        statuses = [s.value for s in RunStatus]
        lines = [
            "| operation | " + " | ".join(statuses) + " |",
            "|---|" + "---|" * len(statuses),
        ]
        for op in REACH_OPERATIONS:
            cells = []
            for status in statuses:
                cells.append(self.reach_cell(op, status, cases=cases))
            lines.append(f"| {op} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def reach_cell(self, op: str, status: str, *, cases: bool = False) -> str:
        """One cell of :meth:`reach_table`: ``made/tried``, or the share of examples."""
        made, tried = self.reach.get((op, status), (0, 0))
        if not cases:
            return f"{made}/{tried}"
        if not made:
            return "-"
        return f"{self.case_reach.get((op, status), 0) / max(self.examples, 1):.0%}"

    def raise_if_failed(self) -> None:
        """Raise :class:`DivergencesFound` unless :attr:`ok`.

        Raises:
            DivergencesFound: listing every divergence (the summary is its message).
        """
        if not self.ok:
            raise DivergencesFound(self)


class DivergencesFound(ConformanceFailure):
    """A survey found divergences graded ``error``; the message is the report's summary.

    Attributes:
        report: The :class:`ConformanceReport`.
    """

    def __init__(self, report: ConformanceReport) -> None:
        self.report = report
        first = report.errors[0]
        super().__init__(first.operation, first.problem, rule=first.rule, steps=first.steps)
        self.args = (report.summary(),)

    def __str__(self) -> str:
        return self.report.summary()


# --------------------------------------------------------------------------------------
# Reporting helpers


def a_status(status: RunStatus) -> str:
    article = "an" if status.value[0] in "aeiou" else "a"
    return f"{article} {status.value!r}"


#: A bounded ``repr``: a body nested too deep for ``json.dumps`` (and for ``repr``,
#: which recurses too) is shown to a few levels.
_SHORT_REPR: Final = reprlib.Repr()
_SHORT_REPR.maxlevel = 4
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 200


def brief(value: object, limit: int = 400) -> str:
    try:
        text = json.dumps(value, default=_SHORT_REPR.repr)
    except (TypeError, ValueError, RecursionError):
        text = _SHORT_REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(status: object, body: object) -> str:
    """How a response is shown after 'got': the run's status, or the body itself."""
    if (
        isinstance(body, Mapping)
        and body.get("object") == "thread.run"
        and isinstance(body.get("status"), str)
    ):
        return f"{status} status {body['status']!r}"
    return f"{status} {brief(body)}"


def json_diff(expected: Any, got: Any, path: str, out: list[tuple[str, str]]) -> None:
    """Append ``(path, line)`` per difference between two JSON values, by field path."""
    if isinstance(expected, Mapping) and isinstance(got, Mapping):
        for key, value in expected.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in got:
                out.append((sub, f"{sub}: expected {brief(value, 200)}, got nothing (key missing)"))
            else:
                json_diff(value, got[key], sub, out)
        for key, value in got.items():
            if key not in expected:
                sub = f"{path}.{key}" if path else str(key)
                out.append((sub, f"{sub}: expected no such key, got {brief(value, 200)}"))
        return
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            json_diff(e, g, f"{path}[{i}]", out)
        return
    if expected != got or (type(expected) is bool) != (type(got) is bool):
        out.append((path, f"{path or '$'}: expected {brief(expected, 200)}, got {brief(got, 200)}"))


def bullets(problems: Sequence[str], limit: int = 8) -> str:
    shown = list(problems[:limit])
    if len(problems) > limit:
        shown.append(f"... and {len(problems) - limit} more")
    return "".join(f"\n  - {p}" for p in shown)
