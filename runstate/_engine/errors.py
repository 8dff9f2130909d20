"""The error engine: the root :class:`Error`, bad data, bad arguments, and API answers.

Generic: nothing here knows about runs. :class:`InvalidRun` is the library's one
bad-data error (it names what was read, ``"run"`` by default, and lists every problem
by field path; a sibling machine subclasses it), :class:`InvalidArgument` a bad
argument, :class:`InvalidTable` a malformed lifecycle table, and :class:`APIError`
what the real API answers instead of a value: an HTTP status and the exact wire body
(:class:`InvalidRequest` for a malformed request, :class:`NotFound` for a 404). Each
machine's own refusals (the run's: :mod:`runstate._errors`) subclass these. The
family's rules are described in :mod:`runstate._errors`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Final

import attrs

__all__ = [
    "MAX_ECHO",
    "MAX_ID_ECHO",
    "MAX_LISTED",
    "APIError",
    "Error",
    "FieldError",
    "InvalidArgument",
    "InvalidRequest",
    "InvalidRun",
    "InvalidTable",
    "NotFound",
    "reduce_exception",
    "shorten",
]

#: The longest piece of an input value echoed in a message; the rest is elided, so a
#: 20 MB string never ends up in an exception (or a log line) whole.
MAX_ECHO: Final = 60
#: The most problems an :class:`InvalidRun` message lists (``errors`` holds them all).
MAX_LISTED: Final = 20
#: Ids and keys in the real API's own messages are kept up to this length: real ones
#: are far shorter, so no real message changes, and a hostile one stays bounded.
MAX_ID_ECHO: Final = 200


def shorten(text: str, limit: int = MAX_ECHO) -> str:
    """``text`` cut to ``limit`` characters, with ``...`` marking the cut.

    Example:
        >>> shorten("x" * 100, 10)
        'xxxxxxx...'
    """
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Error(Exception):
    """The base class of every exception runstate raises on purpose.

    Catch it to handle anything runstate refuses; catch a subclass to handle one kind.

    Every error pickles, ``copy``-s and ``deepcopy``-s to an equal one (same message,
    same attributes, same wire body), so it crosses a process boundary intact: a
    :class:`TransitionError` raised in a ``ProcessPoolExecutor`` worker reaches the
    parent as itself.

    Example:
        >>> import pickle, runstate
        >>> issubclass(runstate.CancelNotAllowed, runstate.Error)
        True
        >>> err = pickle.loads(pickle.dumps(runstate.InvalidArgument("now", "too late")))
        >>> err.argument, str(err)
        ('now', 'now: too late')
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return reduce_exception(self)


def reduce_exception(exc: BaseException) -> tuple[Any, ...]:
    """``__reduce__`` for an exception whose ``__init__`` takes fields, not the message.

    The default (``type(exc)(*exc.args)``, then the attributes) calls ``__init__`` with
    the message alone, which such signatures do not take. This rebuilds without
    ``__init__``: the message and the attributes as they are.
    """
    return (_rebuild, (type(exc), exc.args), exc.__dict__.copy())


def _rebuild(cls: type[BaseException], args: tuple[Any, ...]) -> BaseException:
    """An exception of class ``cls`` with ``args``, without calling its ``__init__``."""
    return cls.__new__(cls, *args)


@attrs.frozen
class FieldError:
    """One problem with one field of an input.

    Attributes:
        field: The path of the field, like ``created_at`` or ``tools[0].function.name``;
            ``$`` for the input as a whole.
        rule: A short, stable, kebab-case name of the rule broken (``type``,
            ``required``, ``enum``...).
        message: What is wrong, in one line, including (a shortened form of) the value.
    """

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{shorten(self.field, MAX_ID_ECHO)}: {self.message}"


class InvalidRun(Error, ValueError):
    """A run, or run data given to an operation, breaks the wire format or a rule.

    Attributes:
        errors: Every problem found, in field order.
        what: What was being read (``"run"``, ``"tool calls"``, ``"last_error"``...).

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
        lines = [str(e) for e in self.errors[:MAX_LISTED]]
        if len(self.errors) > MAX_LISTED:
            lines.append(f"... and {len(self.errors) - MAX_LISTED} more (see .errors)")
        if len(self.errors) == 1:
            text = f"invalid {what}: {lines[0]}"
        else:
            text = f"invalid {what} ({len(self.errors)} problems):\n  " + "\n  ".join(lines)
        super().__init__(text)

    @classmethod
    def one(cls, field: str, rule: str, message: str, *, what: str = "run") -> InvalidRun:
        """Build the error for a single problem."""
        return cls([FieldError(field, rule, message)], what=what)


class InvalidArgument(Error, ValueError):
    """An operation's argument that is not run data has the wrong type or value.

    One rule for ``now`` everywhere: every operation, ``new_run`` included, refuses a
    ``now`` that is not an ``int`` (``bool`` included) with this error and the same
    message.

    Attributes:
        argument: The argument's name, such as ``now``.
        message: What is wrong, with a shortened form of the value.

    Example:
        >>> import runstate as rs
        >>> try:
        ...     rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1.5)
        ... except rs.InvalidArgument as exc:
        ...     print(exc)
        now: expected an integer Unix timestamp, got 1.5 (a float)
    """

    def __init__(self, argument: str, message: str) -> None:
        self.argument = argument
        self.message = message
        super().__init__(f"{argument}: {message}")

    @classmethod
    def expected(cls, argument: str, expected: str, value: object) -> InvalidArgument:
        """``<argument>: expected <expected>, got <value> (a <type>)``."""
        return cls(argument, f"expected {expected}, got {_echo(value)}")


def _echo(value: object) -> str:
    if isinstance(value, int) and not -(10**MAX_ECHO) < value < 10**MAX_ECHO:
        # repr() of 5,000 digits raises (and would be cut anyway): say how big it is.
        return f"an integer of {MAX_ECHO} digits or more (a {type(value).__name__})"
    try:
        text = shorten(repr(value))
    except Exception:  # a hostile __repr__
        text = "a value"
    return f"{text} (a {type(value).__name__})"


class InvalidTable(Error, ValueError):
    """A transition table breaks one of the lifecycle's structural rules."""


_HTTP_BAD_REQUEST: Final = 400
_HTTP_NOT_FOUND: Final = 404


class APIError(Error):
    """What the real API answers instead of a run: an HTTP status and its exact body.

    Attributes:
        http_status: The HTTP status the real API answers with (400 for every refusal
            seen, spec-facts §4; 404 for a lookup that finds nothing, §10.2).
        reason: A stable, kebab-case name for the refusal, such as ``run-terminal``, so
            clients need not match text.
        message: The human-readable message, byte for byte the real API's where known.
        param: The request parameter at fault, or ``None`` (the wire's ``param``).
        code: The machine code the real API sends for validation errors, such as
            ``invalid_type``; ``None`` for state refusals (the wire's ``code``).

    Example:
        >>> err = APIError("Cannot cancel run with status 'completed'.",
        ...                reason="run-terminal")
        >>> err.http_status, err.to_api_error()["error"]["message"]
        (400, "Cannot cancel run with status 'completed'.")
    """

    #: The refusal's default reason, overridden per subclass and per instance.
    default_reason: ClassVar[str] = "invalid-request"
    #: The default HTTP status of the subclass.
    default_status: ClassVar[int] = _HTTP_BAD_REQUEST

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        http_status: int | None = None,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason if reason is not None else self._reason_for(code)
        self.http_status = http_status if http_status is not None else self.default_status
        self.param = param
        self.code = code

    @classmethod
    def _reason_for(cls, code: str | None) -> str:
        """The reason when none is given: the subclass's default."""
        return cls.default_reason

    def to_api_error(self) -> dict[str, Any]:
        """Return the wire body the real API sends with this answer (a fresh dict)."""
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
        assert isinstance(other, APIError)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self), *self._key()))

    def _key(self) -> tuple[str, str, int, str | None, str | None]:
        return (self.message, self.reason, self.http_status, self.param, self.code)


class InvalidRequest(APIError):
    """A request the real API refuses as malformed (spec-facts §10).

    ``param`` names the parameter at fault (a dotted, indexed path such as
    ``tool_outputs[0].output``) and ``code`` is the API's code (``invalid_type``,
    ``missing_required_parameter``...). The default ``reason`` is the code in kebab-case.

    Example:
        >>> err = InvalidRequest("Missing required parameter: 'assistant_id'.",
        ...                      param="assistant_id", code="missing_required_parameter")
        >>> err.reason, err.http_status
        ('missing-required-parameter', 400)
    """

    @classmethod
    def _reason_for(cls, code: str | None) -> str:
        return code.replace("_", "-") if code is not None else cls.default_reason


class NotFound(APIError):
    """A lookup that finds nothing: HTTP 404. Build one with :func:`not_found`."""

    default_reason: ClassVar[str] = "not-found"
    default_status: ClassVar[int] = _HTTP_NOT_FOUND


# The public classes keep the module path users have always seen in tracebacks, reprs and
# pickles (``runstate._errors.InvalidRun``): that module re-exports them.
for _cls in (Error, FieldError, InvalidRun, InvalidArgument, InvalidTable, APIError, NotFound):
    _cls.__module__ = "runstate._errors"
InvalidRequest.__module__ = "runstate._errors"
