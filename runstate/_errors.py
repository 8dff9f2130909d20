"""Errors: bad input (:class:`InvalidRun`) and refused operations (:class:`RunStateError`).

``InvalidRun`` is a ``ValueError`` that lists every problem by field path.
``RunStateError`` and its subclasses are what the real API answers with HTTP 400; each
carries the status, a stable machine-readable ``reason`` and the exact wire body
(spec-facts §4: every refusal seen is ``400`` with type ``invalid_request_error`` and
``param``/``code`` null).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Final

import attrs

__all__ = [
    "CancelNotAllowed",
    "ClockWentBackwards",
    "FieldError",
    "IllegalTransition",
    "InvalidRun",
    "RunNotModifiable",
    "RunStateError",
    "ThreadBusy",
    "ToolOutputsRejected",
]


@attrs.frozen
class FieldError:
    """One problem with one field of an input.

    Attributes:
        field: The path of the field, like ``created_at`` or ``tools[0].function.name``;
            ``$`` for the input as a whole.
        rule: A short, stable name of the rule broken (``type``, ``required``, ``enum``...).
        message: What is wrong, in one line, including the offending value.
    """

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidRun(ValueError):
    """A run (or run-shaped input) breaks the wire format or a per-status rule.

    Attributes:
        errors: Every problem found, in field order.

    Example:
        >>> from runstate import parse_run
        >>> try:
        ...     parse_run(b'{"id": "run_1", "created_at": true}')
        ... except InvalidRun as exc:
        ...     print(exc.errors[1])
        created_at: expected an integer Unix timestamp, got true
    """

    errors: tuple[FieldError, ...]

    def __init__(self, errors: Iterable[FieldError], *, what: str = "run") -> None:
        self.errors = tuple(errors)
        self.what = what
        lines = [str(e) for e in self.errors]
        if len(lines) == 1:
            text = f"invalid {what}: {lines[0]}"
        else:
            text = f"invalid {what} ({len(lines)} problems):\n  " + "\n  ".join(lines)
        super().__init__(text)

    @classmethod
    def one(cls, field: str, rule: str, message: str, *, what: str = "run") -> InvalidRun:
        """Build the error for a single problem."""
        return cls([FieldError(field, rule, message)], what=what)


class ClockWentBackwards(ValueError):
    """``now`` is earlier than a timestamp the run already carries.

    Operations take time as an argument; a clock that steps back would produce a run whose
    timestamps are out of order, so it is refused before anything changes.

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


_HTTP_BAD_REQUEST: Final = 400


class RunStateError(Exception):
    """An operation the real API refuses, with the exact answer it gives.

    Attributes:
        http_status: The HTTP status the real API answers with (400 for every refusal
            seen; spec-facts §4).
        reason: A stable, machine-readable name for the refusal, such as
            ``"run_terminal"`` or ``"run_cancelling"``, so clients need not match text.
        message: The human-readable message, byte for byte the real API's where known.
        param: The request parameter at fault, or ``None`` (the wire's ``param``).
        code: A machine code the real API sends for some validation errors, such as
            ``invalid_type``; ``None`` for every state refusal (the wire's ``code``).

    Example:
        >>> err = CancelNotAllowed("Cannot cancel run with status 'completed'.",
        ...                        reason="run_terminal")
        >>> err.to_api_error()["error"]["message"]
        "Cannot cancel run with status 'completed'."
    """

    #: The refusal's default reason, overridden per subclass and per instance.
    default_reason: ClassVar[str] = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        http_status: int = _HTTP_BAD_REQUEST,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason if reason is not None else self.default_reason
        self.http_status = http_status
        self.param = param
        self.code = code

    def to_api_error(self) -> dict[str, Any]:
        """Return the wire body the real API sends with this refusal (a fresh dict)."""
        return {
            "error": {
                "message": self.message,
                "type": "invalid_request_error",
                "param": self.param,
                "code": self.code,
            }
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, reason={self.reason!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, RunStateError)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self), *self._key()))

    def _key(self) -> tuple[str, str, int, str | None, str | None]:
        return (self.message, self.reason, self.http_status, self.param, self.code)


class IllegalTransition(RunStateError):
    """The run's status does not allow the requested move (the table has no such edge)."""

    default_reason: ClassVar[str] = "illegal_transition"


class CancelNotAllowed(IllegalTransition):
    """A cancel the real API refuses: ``Cannot cancel run with status '<status>'.``."""

    default_reason: ClassVar[str] = "cancel_not_allowed"


class ToolOutputsRejected(RunStateError):
    """Tool outputs the real API refuses: wrong status, or the wrong set of call ids."""

    default_reason: ClassVar[str] = "tool_outputs_rejected"


class RunNotModifiable(RunStateError):
    """A metadata update the real API refuses while the run is active, or bad metadata."""

    default_reason: ClassVar[str] = "run_not_modifiable"


class ThreadBusy(RunStateError):
    """The thread is locked by an active run: no new run, no new message."""

    default_reason: ClassVar[str] = "thread_busy"
