"""The invariants engine: per-status presence checks from a machine's presence table.

Generic: nothing here knows about runs. A machine states, per field, the statuses in
which it must be set and those in which it may be (its presence table: the run's is
:data:`runstate.models.PRESENCE`); :func:`presence_checks` turns the table into each
status's checks, once.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Literal, Protocol, TypeAlias

__all__ = ["Check", "PresenceRow", "Severity", "presence_checks"]

#: ``"error"`` where the spec or docs promise a rule, ``"warning"`` where it is only the
#: real API's observed habit or an unenforced spec limit.
Severity: TypeAlias = Literal["error", "warning"]

#: One check: field, whether it must be set, severity, rule, message.
Check: TypeAlias = tuple[str, bool, Severity, str, str]


class PresenceRow(Protocol):
    """One row of a presence table (the run's rows are ``runstate.models.Presence``)."""

    @property
    def field(self) -> str: ...
    @property
    def required_in(self) -> frozenset[enum.Enum]: ...
    @property
    def allowed_in(self) -> frozenset[enum.Enum]: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def rule(self) -> str: ...
    @property
    def why(self) -> str: ...


def presence_checks(status: enum.Enum, rows: Iterable[PresenceRow]) -> tuple[Check, ...]:
    """The presence checks of ``status`` from a presence table (any machine's)."""
    checks: list[Check] = []
    for row in rows:
        if status in row.required_in:
            msg = f"must be set when the status is {status.value!r} ({row.why})"
            checks.append((row.field, True, row.severity, row.rule, msg))
        elif status not in row.allowed_in:
            msg = f"must be null when the status is {status.value!r} ({row.why})"
            checks.append((row.field, False, row.severity, row.rule, msg))
    return tuple(checks)
