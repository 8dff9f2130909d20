"""Per-status rules: which fields a run in each status carries, and the spec's limits.

The presence rules are one table, ``PRESENCE``, read row by row from spec-facts §6 (the
per-status field table) and the issue's severity split: ``error`` where the spec or docs
promise it, ``warning`` where it is only the real API's observed habit or a spec limit the
real server did not enforce (spec-facts §8.4). Everything :func:`violations` checks about
presence is derived from that table, once, per status.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Final, Literal, NamedTuple, TypeAlias

import attrs

from ._engine.fields import judge_all
from ._engine.invariants import presence_checks
from ._errors import FieldError, InvalidArgument, InvalidRun
from ._fields import RULES_BY_OWNER
from ._model import Run
from ._status import ACTIVE_STATUSES, TERMINAL_STATUSES, RunStatus

__all__ = ["PRESENCE", "Presence", "Severity", "Violation", "validate", "violations"]

Severity: TypeAlias = Literal["error", "warning"]

Q = RunStatus.QUEUED
P = RunStatus.IN_PROGRESS
RA = RunStatus.REQUIRES_ACTION
CD = RunStatus.CANCELLED
F = RunStatus.FAILED
C = RunStatus.COMPLETED
INC = RunStatus.INCOMPLETE
ALL: Final = frozenset(RunStatus)


@attrs.frozen
class Violation:
    """One broken per-status rule or limit.

    Attributes:
        field: The field's path, like ``usage`` or ``tools[2].function.name``.
        rule: A stable kebab-case name for the rule.
        message: One line saying what is wrong, with the values involved.
        severity: ``"error"`` where the spec or docs promise the rule, ``"warning"`` where
            it is only the real API's observed habit or an unenforced spec limit.
    """

    field: str
    rule: str
    message: str
    severity: Severity

    def __str__(self) -> str:
        return f"{self.severity} {self.rule}: {self.field}: {self.message}"


class Presence(NamedTuple):
    """One row of the per-status field table: where a field must be set, where it may be."""

    field: str
    #: Statuses in which the field must be non-null.
    required_in: frozenset[enum.Enum]
    #: Statuses in which the field may be non-null (a superset of ``required_in``).
    allowed_in: frozenset[enum.Enum]
    severity: Severity
    rule: str
    #: What the spec or the evidence says, for the message.
    why: str


#: The per-status field table (spec-facts §6), one row per rule.
PRESENCE: Final[tuple[Presence, ...]] = (
    Presence(
        "required_action",
        frozenset({RA}),
        frozenset({RA}),
        "error",
        "required-action",
        "spec: 'null if no action is required'",
    ),
    Presence(
        "last_error",
        frozenset({F}),
        frozenset({F}),
        "error",
        "last-error",
        "docs: failures are reported in last_error",
    ),
    Presence(
        "incomplete_details",
        frozenset({INC}),
        frozenset({INC}),
        "error",
        "incomplete-details",
        "spec: 'null if the run is not incomplete'",
    ),
    Presence(
        "cancelled_at",
        frozenset({CD}),
        frozenset({CD}),
        "error",
        "cancelled-at",
        "spec: when the run was cancelled",
    ),
    Presence(
        "failed_at",
        frozenset({F}),
        frozenset({F}),
        "error",
        "failed-at",
        "docs: 'recorded under failed_at'",
    ),
    Presence(
        "completed_at",
        frozenset({C}),
        frozenset({C, INC}),
        "error",
        "completed-at",
        "spec: when the run was completed; real incomplete runs carry it too",
    ),
    Presence(
        "started_at",
        frozenset({P, RA, C, INC}),
        ALL,
        "error",
        "started-at",
        "a run that ran has a start",
    ),
    Presence(
        "usage",
        frozenset(),
        TERMINAL_STATUSES,
        "error",
        "usage-before-terminal",
        "spec: 'null if the run is not in a terminal state'",
    ),
    Presence(
        "usage",
        TERMINAL_STATUSES,
        ALL,
        "warning",
        "usage-missing",
        "every terminal run observed carries usage",
    ),
    Presence(
        "expires_at",
        ACTIVE_STATUSES,
        ACTIVE_STATUSES,
        "warning",
        "expires-at",
        "observed: set while active, null once terminal",
    ),
)

_Check = tuple[str, bool, Severity, str, str]  # field, must be set, severity, rule, message


_CHECKS: Final[dict[RunStatus, tuple[_Check, ...]]] = {
    s: presence_checks(s, PRESENCE) for s in RunStatus
}


def violations(run: Run) -> tuple[Violation, ...]:
    """Return every per-status rule and limit ``run`` breaks; empty for a clean run.

    Errors: the presence rules of :data:`PRESENCE` marked ``error``, timestamp order
    (``created_at <= started_at <= cancelled_at/failed_at/completed_at``,
    ``expires_at > created_at``), unique tool call ids, and each row of the field-rule
    table (:data:`runstate._fields.FIELD_RULES`) marked ``error`` that a value inside the
    run carries: metadata limits (16 keys, keys up to 64 characters, values up to 512),
    ``temperature`` in 0..2, ``top_p`` in 0..1, function (and format) names
    ``^[a-zA-Z0-9_-]+$`` up to 64 characters, file_search ``max_num_results`` in 1..50
    and ``score_threshold`` in 0..1, truncation ``last_messages >= 1``,
    ``max_prompt_tokens``/``max_completion_tokens`` at least 1.
    Warnings: ``expires_at`` null exactly when terminal, ``usage`` set when terminal, and
    the table's warning rows: ``max_prompt_tokens``/``max_completion_tokens`` at least
    256 (the spec's minimum, which the real API did not enforce), at most 20 tools.

    Example:
        >>> from runstate import new_run, start, violations
        >>> run = new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)
        >>> violations(start(run, now=11))
        ()
        >>> import attrs
        >>> violations(attrs.evolve(run, started_at=5))[0].rule
        'timestamp-order'
    """
    if type(run) is not Run:
        raise InvalidArgument.expected("run", "a runstate.Run", run)
    found: list[Violation] = []
    for field, must_be_set, severity, rule, message in _CHECKS[run.status]:
        if (getattr(run, field) is None) is must_be_set:
            found.append(Violation(field, rule, message, severity))
    _check_timestamps(run, found)
    _check_limits(run, found)
    return tuple(found)


def _check_timestamps(run: Run, found: list[Violation]) -> None:
    created = run.created_at
    started = run.started_at
    if started is not None and started < created:
        found.append(
            Violation(
                "started_at",
                "timestamp-order",
                f"started_at {started} is before created_at {created}",
                "error",
            )
        )
    floor, floor_name = (started, "started_at") if started is not None else (created, "created_at")
    for name in ("cancelled_at", "failed_at", "completed_at"):
        end = getattr(run, name)
        if end is not None and end < floor:
            found.append(
                Violation(
                    name, "timestamp-order", f"{name} {end} is before {floor_name} {floor}", "error"
                )
            )
    expires = run.expires_at
    if expires is not None and expires <= created:
        found.append(
            Violation(
                "expires_at",
                "timestamp-order",
                f"expires_at {expires} is not after created_at {created}",
                "error",
            )
        )


def _check_limits(run: Run, found: list[Violation]) -> None:
    """The field-rule table's rows (:data:`runstate._fields.FIELD_RULES`), every value."""
    for field, rule, message in judge_all(run, RULES_BY_OWNER):
        found.append(Violation(field, rule.rule, message, rule.severity))
    if run.required_action is not None:
        _check_tool_calls(run, found)


def _check_tool_calls(run: Run, found: list[Violation]) -> None:
    assert run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    prefix = "required_action.submit_tool_outputs.tool_calls"
    if not calls:
        found.append(
            Violation(
                prefix, "required-action-empty", "a required action lists no tool calls", "error"
            )
        )
    seen: set[str] = set()
    for i, call in enumerate(calls):
        if call.id in seen:
            found.append(
                Violation(
                    f"{prefix}[{i}].id",
                    "tool-call-ids",
                    f"tool call id {call.id!r} appears more than once",
                    "error",
                )
            )
        seen.add(call.id)


def validate(run: Run, *, strict: bool = False) -> Run:
    """Return ``run`` if it breaks no per-status rule; raise :class:`InvalidRun` otherwise.

    Args:
        run: The run to check.
        strict: Also refuse warnings (the real API's habits and unenforced spec limits).

    Raises:
        InvalidRun: listing each error (and, when strict, each warning) with its rule.

    Example:
        >>> from runstate import parse_run
        >>> run = parse_run({"id": "run_1", "object": "thread.run", "created_at": 1,
        ...                  "thread_id": "t", "assistant_id": "a", "status": "completed",
        ...                  "model": "m", "completed_at": 2, "started_at": 1})
        >>> validate(run) is run  # usage missing is only a warning
        True
    """
    if type(strict) is not bool:
        raise InvalidArgument.expected("strict", "True or False", strict)
    problems = violations(run)
    keep: Callable[[Violation], bool] = (
        (lambda v: True) if strict else (lambda v: v.severity == "error")
    )
    bad = [FieldError(v.field, v.rule, v.message) for v in problems if keep(v)]
    if bad:
        raise InvalidRun(bad)
    return run
