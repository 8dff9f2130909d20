"""The nine run statuses.

The values are the wire strings of the OpenAPI spec's ``RunObject.status`` enum, in the
spec's order (spec-facts §1.1).
Which statuses are terminal is stated here once; which moves are legal lives in
:mod:`runstate._table`.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["ACTIVE_STATUSES", "TERMINAL_STATUSES", "RunStatus"]


class RunStatus(enum.Enum):
    """The status of a run, with the exact wire string as its value.

    Example:
        >>> RunStatus("in_progress")
        <RunStatus.IN_PROGRESS: 'in_progress'>
        >>> RunStatus.CANCELLING.is_terminal
        False
        >>> RunStatus.CANCELLED.event
        'thread.run.cancelled'
    """

    #: Just created, or tool outputs were just submitted.
    QUEUED = "queued"
    #: The assistant is using the model and tools.
    IN_PROGRESS = "in_progress"
    #: Waiting for the caller to submit tool outputs.
    REQUIRES_ACTION = "requires_action"
    #: A cancel was accepted; the outcome is not yet known.
    CANCELLING = "cancelling"
    #: The cancel took effect (terminal).
    CANCELLED = "cancelled"
    #: The run failed; see ``last_error`` (terminal).
    FAILED = "failed"
    #: The run finished (terminal).
    COMPLETED = "completed"
    #: A token limit ended the run; see ``incomplete_details`` (terminal).
    INCOMPLETE = "incomplete"
    #: ``expires_at`` passed before the run ended (terminal).
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """Whether no further status change can happen (spec-facts §7, "any terminal")."""
        return self in TERMINAL_STATUSES

    @property
    def event(self) -> str:
        """The server-sent event name announcing this status, ``thread.run.<value>``.

        ``thread.run.created`` also carries ``queued`` (spec-facts §1.5); it is not a status.
        """
        return _EVENTS[self]


#: The statuses from which nothing can follow: the docs call them terminal, and the SDK's
#: ``poll()`` helper stops on them (spec-facts §3, §2).
TERMINAL_STATUSES: Final[frozenset[RunStatus]] = frozenset(
    {
        RunStatus.CANCELLED,
        RunStatus.FAILED,
        RunStatus.COMPLETED,
        RunStatus.INCOMPLETE,
        RunStatus.EXPIRED,
    }
)

#: The non-terminal statuses. A run in one of these holds its thread's lock (spec-facts §4.4).
ACTIVE_STATUSES: Final[frozenset[RunStatus]] = frozenset(RunStatus) - TERMINAL_STATUSES

_EVENTS: Final[dict[RunStatus, str]] = {s: f"thread.run.{s.value}" for s in RunStatus}

#: Wire string -> member; a dict lookup is several times cheaper than ``RunStatus(value)``.
STATUS_BY_VALUE: Final[dict[str, RunStatus]] = {s.value: s for s in RunStatus}
