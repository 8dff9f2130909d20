"""Errors: one family, rooted at :class:`Error`.

Everything runstate raises on purpose is an :class:`Error` (like ``sqlite3.Error``), in
three kinds:

Bad input (also ``ValueError``)
    :class:`InvalidRun` (a run, or run data given to an operation, breaks the wire format
    or a per-status rule; every problem listed by field path), :class:`InvalidArgument`
    (an operation's other arguments: ``now``, ``expires_in``, ``documented_only``...),
    :class:`InvalidTable` (a transition table breaks the lifecycle's structure) and
    :class:`ClockWentBackwards` (``now`` is before a timestamp the run already carries).
Worker moves the table forbids
    :class:`TransitionError`: ``start`` on a completed run, ``require_action`` on a queued
    one. No endpoint exposes these moves, so they carry no HTTP answer: only the
    operation, the current and target statuses, and a stable ``reason``.
What the real API answers instead of a run
    :class:`APIError` and its subclasses carry ``http_status`` and the exact wire body
    (:meth:`APIError.to_api_error`): the refusals of cancel, submit tool outputs, modify
    and the thread lock (spec-facts §4: every refusal seen is ``400``, type
    ``invalid_request_error``), malformed requests (:class:`InvalidRequest`, §10) and
    lookups that find nothing (:class:`NotFound`, §10.2). Nothing invented is dressed as
    the API's: each message is the real API's text, or follows its templates where
    spec-facts says so, and the code that raises it cites which.

Naming: rule names (``FieldError.rule``, ``Violation.rule``, trace rules) and reasons
(``TransitionError.reason``, ``APIError.reason``) are all kebab-case (``run-terminal``,
``event-status-mismatch``), stable, and meant for machines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Final, Literal, TypeAlias

from ._engine.errors import (
    MAX_ECHO,
    MAX_ID_ECHO,
    MAX_LISTED,
    APIError,
    Error,
    FieldError,
    InvalidArgument,
    InvalidRequest,
    InvalidRun,
    InvalidTable,
    NotFound,
    reduce_exception,
    shorten,
)
from ._engine.jsonio import escape_surrogates

if TYPE_CHECKING:
    from ._status import RunStatus

__all__ = [
    "MAX_ECHO",
    "MAX_ID_ECHO",
    "MAX_LISTED",
    "APIError",
    "CancelNotAllowed",
    "ClockWentBackwards",
    "Error",
    "FieldError",
    "InvalidArgument",
    "InvalidRequest",
    "InvalidRun",
    "InvalidTable",
    "NotFound",
    "RunNotModifiable",
    "ThreadBusy",
    "ToolOutputsRejected",
    "TransitionError",
    "not_found",
    "reduce_exception",
    "shorten",
]


class ClockWentBackwards(Error, ValueError):
    """``now`` is earlier than a timestamp the run already carries.

    Operations take time as an argument; a clock that steps back would produce a run
    whose timestamps are out of order, so it is refused before anything changes. This is
    the server's own fault, not the client's: a server answers it as an internal error
    (HTTP 500), never as a 400 (see the README).

    Attributes:
        field: The run field holding the later timestamp.
        now: The ``now`` given.
        value: That field's value.
    """

    def __init__(self, field: str, now: int, value: int) -> None:
        self.field = field
        self.now = now
        self.value = value
        super().__init__(f"now={now} is earlier than the run's {field}={value}")


#: Why a worker move was refused (``TransitionError.reason``).
TransitionReason: TypeAlias = Literal[
    "run-terminal", "illegal-transition", "never-started", "not-expired-yet"
]


class TransitionError(Error):
    """A worker move the table forbids, or one whose precondition does not hold.

    ``start``, ``require_action``, ``finish_cancel``, ``complete``, ``fail``,
    ``mark_incomplete`` and ``expire`` are moves the service makes on its own; no endpoint
    exposes them, so their refusals have no HTTP answer (contrast :class:`APIError`).

    Attributes:
        operation: The operation refused, such as ``"start"``.
        current: The run's status.
        target: The status the operation moves to.
        reason: ``run-terminal`` (the run already ended), ``illegal-transition`` (the
            table has no such edge), ``never-started`` (a run that never started cannot
            complete or become incomplete) or ``not-expired-yet`` (``expires_at`` is
            still ahead).

    Example:
        >>> import runstate as rs
        >>> run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
        >>> try:
        ...     rs.require_action(run, [], now=2)
        ... except rs.TransitionError as exc:
        ...     print(exc.reason, "|", exc)
        illegal-transition | require_action: no move from 'queued' to 'requires_action'
    """

    def __init__(
        self,
        operation: str,
        current: RunStatus,
        target: RunStatus,
        reason: TransitionReason,
        detail: str | None = None,
    ) -> None:
        self.operation = operation
        self.current = current
        self.target = target
        self.reason = reason
        text = f"{operation}: no move from '{current.value}' to '{target.value}'"
        super().__init__(f"{text} ({detail})" if detail else text)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.operation!r}, {self.current.value!r} -> "
            f"{self.target.value!r}, reason={self.reason!r})"
        )


class CancelNotAllowed(APIError):
    """A cancel the real API refuses: ``Cannot cancel run with status '<status>'.``."""

    default_reason: ClassVar[str] = "cancel-not-allowed"


class ToolOutputsRejected(APIError):
    """Tool outputs the real API refuses: wrong status, or the wrong set of call ids."""

    default_reason: ClassVar[str] = "tool-outputs-rejected"


class RunNotModifiable(APIError):
    """A modify request the real API refuses while the run is active."""

    default_reason: ClassVar[str] = "run-active"


class ThreadBusy(APIError):
    """The thread is locked by an active run: no new run, no new message."""

    default_reason: ClassVar[str] = "thread-busy"


#: The kinds of object a 404 can name.
ObjectKind: TypeAlias = Literal["run", "thread", "assistant", "run step", "message"]
_OBJECT_KINDS: Final[tuple[str, ...]] = ("run", "thread", "assistant", "run step", "message")


def not_found(kind: ObjectKind, id: str) -> NotFound:
    """The real API's 404 for an id that names nothing.

    ``No run step found with id '<id>'.`` and ``No thread found with id '<id>'.`` are
    recorded; the assistant's was pasted from a real response; the run's and the
    message's follow the same template (inferred; spec-facts §10.2).

    Args:
        kind: ``"run"``, ``"thread"``, ``"assistant"``, ``"run step"`` or ``"message"``.
        id: The id that was looked up.

    Raises:
        InvalidArgument: for another ``kind`` or an ``id`` that is not a string.

    Example:
        >>> err = not_found("run", "run_abc")
        >>> err.http_status, err.to_api_error()["error"]["message"], err.reason
        (404, "No run found with id 'run_abc'.", 'run-not-found')
    """
    if kind not in _OBJECT_KINDS or type(kind) is not str:
        raise InvalidArgument.expected("kind", f"one of {list(_OBJECT_KINDS)}", kind)
    if not isinstance(id, str):
        raise InvalidArgument.expected("id", "a string", id)

    return NotFound(
        f"No {kind} found with id '{escape_surrogates(shorten(str.__str__(id), MAX_ID_ECHO))}'.",
        reason=f"{kind.replace(' ', '-')}-not-found",
    )
