"""Lifecycle operations: pure functions from a run (and ``now``) to the next run.

Every operation

1. asks the one table (:data:`runstate.TRANSITIONS`) whether the run's status may move to
   the operation's target status, and refuses exactly as the real API does if not;
2. refuses a ``now`` earlier than a timestamp already on the run
   (:class:`~runstate.ClockWentBackwards`);
3. checks its arguments (API objects may be given as values or in their JSON form);
4. returns a new :class:`~runstate.Run` with only the fields the move changes.

Nothing is changed when an operation raises; the input run is never changed at all.
What each result looks like follows spec-facts §4 to §8 and the recordings; the
docstrings say which fact each field change encodes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, TypeVar

import attrs

from ._engine import templates as wire
from ._engine.copying import copier, replace
from ._errors import (
    MAX_LISTED,
    CancelNotAllowed,
    ClockWentBackwards,
    FieldError,
    InvalidArgument,
    InvalidRequest,
    InvalidRun,
    RunNotModifiable,
    ToolOutputsRejected,
    TransitionError,
    TransitionReason,
)
from ._fields import METADATA, RUN_ECHOES
from ._invariants import violations
from ._lock import ensure_can_add_message, ensure_can_create_run, ensure_can_delete_thread
from ._model import (
    IncompleteDetails,
    IncompleteReason,
    LastError,
    RequiredAction,
    ResponseFormat,
    Run,
    SubmitToolOutputs,
    Tool,
    ToolCall,
    ToolChoiceOption,
    TruncationStrategy,
    Usage,
    freeze_metadata,
)
from ._operations import OPERATION_FOR_TARGET, OPERATIONS, Op
from ._schema import DUMPERS, MAX_INT_DIGITS
from ._serde import dump_value, parse_run, parse_value, to_json_value
from ._status import ACTIVE_STATUSES, TERMINAL_STATUSES, RunStatus
from ._table import TRANSITIONS

__all__ = [
    "DEFAULT_EXPIRES_IN",
    "CancelDecision",
    "ToolOutput",
    "cancel",
    "check_cancel",
    "complete",
    "ensure_can_add_message",
    "ensure_can_delete_thread",
    "ensure_can_create_run",
    "expire",
    "fail",
    "finish_cancel",
    "mark_incomplete",
    "new_run",
    "require_action",
    "start",
    "submit_tool_outputs",
    "update_metadata",
]

_T = TypeVar("_T")

#: Runs expire ten minutes after creation: ``expires_at - created_at == 600`` in every
#: non-terminal object observed, and the docs say "roughly 10 mins" (spec-facts §5.4).
DEFAULT_EXPIRES_IN: Final = 600

_ZERO_USAGE: Final = Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)
_RUN_KEYS: Final = frozenset(f.name for f in attrs.fields(Run)) - {"extra", "absent"}
_NOW_BOUND: Final = 10**MAX_INT_DIGITS


def _plain_str(value: object) -> object:
    """A ``str`` subclass as its value (never its ``__str__``); anything else as given."""
    return str.__str__(value) if isinstance(value, str) else value


def _is_str(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not str:
        raise InvalidRun.one(
            attribute.name,
            "type",
            f"expected a string, got a {type(value).__name__}",
            what="tool output",
        )


@attrs.frozen
class ToolOutput:
    """One entry of ``submit_tool_outputs``' ``tool_outputs``.

    Attributes:
        tool_call_id: The id of the pending tool call this answers.
        output: The function's result, as text.
    """

    tool_call_id: str = attrs.field(converter=_plain_str, validator=_is_str)
    output: str = attrs.field(converter=_plain_str, validator=_is_str)


# --------------------------------------------------------------------------------------
# Guards


def check_now(now: object) -> None:
    """The one rule for ``now``: an ``int`` (not a ``bool``) of at most 4300 digits.

    Raises:
        InvalidArgument: otherwise, with the same message from every operation.
    """
    if type(now) is not int or not -_NOW_BOUND < now < _NOW_BOUND:
        raise InvalidArgument.expected("now", "an integer Unix timestamp", now)


def _check_run(run: object) -> None:
    if type(run) is not Run:
        raise InvalidArgument.expected("run", "a runstate.Run", run)


def _check_now(run: Run, now: int) -> None:
    """Refuse a ``now`` that is not an integer or is before a timestamp on the run."""
    if (
        type(now) is int
        and type(run) is Run
        and now < _NOW_BOUND
        and now >= run.created_at
        and (run.started_at is None or now >= run.started_at)
        and (run.cancelled_at is None or now >= run.cancelled_at)
        and (run.failed_at is None or now >= run.failed_at)
        and (run.completed_at is None or now >= run.completed_at)
    ):
        return
    check_now(now)
    _check_run(run)
    latest, field = run.created_at, "created_at"
    for name in ("started_at", "cancelled_at", "failed_at", "completed_at"):
        value = getattr(run, name)
        if value is not None and value > latest:
            latest, field = value, name
    raise ClockWentBackwards(field, now, latest)


def _refusal_reason(status: RunStatus) -> TransitionReason:
    return "run-terminal" if status in TERMINAL_STATUSES else "illegal-transition"


def _guard(run: Run, target: RunStatus) -> None:
    """Refuse unless the table has the edge ``run.status -> target`` (and a start, if needed).

    The operation into ``target`` may need a run that started (``needs_started`` in the
    operations table): a run that never started cannot complete.

    A worker move: no endpoint exposes it, so the refusal is a :class:`TransitionError`,
    not an API answer.
    """
    try:
        allowed = target in TRANSITIONS[run.status]
    except AttributeError:
        _check_run(run)
        raise
    if not allowed:
        _check_run(run)
        raise TransitionError(
            OPERATION_FOR_TARGET[target], run.status, target, _refusal_reason(run.status)
        )
    if target in _NEEDS_STARTED and run.started_at is None and run.status in ACTIVE_STATUSES:
        raise TransitionError(
            OPERATION_FOR_TARGET[target], run.status, target, "never-started", "it never started"
        )


#: The statuses only a run that started may move to (the table's ``needs_started``).
_NEEDS_STARTED: Final = frozenset(
    row.target for row in OPERATIONS.values() if row.needs_started and row.target is not None
)


def _finished(run: Run, target: RunStatus, now: int, usage: Any, **changes: Any) -> Run:
    """The common shape of every terminal result (spec-facts §5.4, §6, §8.6).

    ``expires_at`` becomes null, ``required_action`` null, and ``usage`` set (zeros where
    the caller has none).
    """
    _guard(run, target)
    _check_now(run, now)
    return replace(
        run,
        status=target,
        expires_at=None,
        required_action=None,
        usage=as_value(Usage, usage, "usage") if usage is not None else _ZERO_USAGE,
        **changes,
    )


def as_value(cls: type[_T], value: object, what: str) -> _T:
    """Accept a library value, or its JSON form, for an argument."""
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        try:
            return parse_value(cls, value, what=what)
        except InvalidRun as exc:
            raise _under(what, exc) from None
    raise InvalidRun.one(
        what,
        "type",
        f"expected a {cls.__name__} or its JSON object, got a {type(value).__name__}",
        what=what,
    )


def _under(prefix: str, exc: InvalidRun) -> InvalidRun:
    """The same problems, with field paths starting at the argument's name."""
    return InvalidRun(
        [
            FieldError(prefix if e.field == "$" else f"{prefix}.{e.field}", e.rule, e.message)
            for e in exc.errors
        ],
        what=exc.what,
    )


def _json(value: object) -> Any:
    """A runstate value as its JSON form; anything else as given, for the parser to judge."""
    return dump_value(value) if type(value) in DUMPERS else value


def json_array(value: object, *, field: str, what: str) -> list[Any]:
    """An argument that must be a sequence, as a list of JSON forms."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        message = f"expected an array, got a {type(value).__name__}"
        raise InvalidRun.one(field, "type", message, what=what)
    return [_json(item) for item in value]


# --------------------------------------------------------------------------------------
# Creation


def new_run(
    *,
    id: str,
    thread_id: str,
    assistant_id: str,
    model: str,
    now: int,
    instructions: str | None = None,
    tools: Iterable[Tool | Mapping[str, Any]] = (),
    metadata: Mapping[str, str] | None = None,
    temperature: float | None = 1.0,
    top_p: float | None = 1.0,
    max_prompt_tokens: int | None = None,
    max_completion_tokens: int | None = None,
    truncation_strategy: TruncationStrategy | Mapping[str, Any] | None = None,
    tool_choice: ToolChoiceOption | Mapping[str, Any] | None = "auto",
    parallel_tool_calls: bool = True,
    response_format: ResponseFormat | Mapping[str, Any] | None = "auto",
    extra: Mapping[str, Any] | None = None,
    expires_in: int = DEFAULT_EXPIRES_IN,
    **echoes: Any,
) -> Run:
    """Create a ``queued`` run, as create run and create thread-and-run return it.

    A fresh run has ``started_at`` and every end timestamp null and
    ``expires_at = now + expires_in`` (spec-facts §5.1, §5.4). Defaults follow what the
    real API fills in: ``metadata`` ``{}``, ``temperature``/``top_p`` 1.0, truncation
    ``auto``, ``tool_choice``/``response_format`` ``"auto"``, parallel tool calls on.

    Args:
        id: The run id (``run_...``).
        thread_id: The thread it runs on.
        assistant_id: The assistant.
        model: The model name.
        now: The creation time, Unix seconds.
        instructions: The instructions, or null as real runs often have.
        tools: Tool values or their JSON objects.
        metadata: Up to 16 string pairs.
        temperature: 0 to 2.
        top_p: 0 to 1.
        max_prompt_tokens: Token limit (spec minimum 256).
        max_completion_tokens: Token limit (spec minimum 256).
        truncation_strategy: Defaults to ``{"type": "auto", "last_messages": null}``.
        tool_choice: ``"none"``, ``"auto"``, ``"required"`` or a specific tool.
        parallel_tool_calls: Whether tools may be called in parallel.
        response_format: ``"auto"`` or a format object.
        extra: Fields outside the spec to carry, such as ``{"tool_resources": {}}``.
        expires_in: Seconds until ``expires_at``; 600 on the real API.
        **echoes: Any other create-run parameter the run echoes
            (:data:`runstate._fields.RUN_ECHOES`), by its name; one not given gets the
            table's default. The named ones above are such parameters too.

    Returns:
        A clean ``queued`` run.

    Raises:
        InvalidRun: when an argument breaks the wire format or a limit (the message names
            the field), or ``extra`` repeats a modelled field.
        InvalidArgument: for ``now`` not an ``int`` (see :func:`check_now`),
            ``expires_in`` not a positive ``int``, or a keyword that is no echoed
            parameter.

    Example:
        >>> run = new_run(id="run_1", thread_id="thread_1", assistant_id="asst_1",
        ...               model="gpt-4o", now=1_700_000_000)
        >>> run.status.value, run.expires_at - run.created_at, run.started_at
        ('queued', 600, None)
    """
    check_now(now)
    if type(expires_in) is not int or expires_in <= 0:
        raise InvalidArgument.expected("expires_in", "a positive number of seconds", expires_in)
    if extra is not None and not isinstance(extra, Mapping):
        raise InvalidRun.one("extra", "type", f"expected an object, got a {type(extra).__name__}")
    payload: dict[str, Any] = {} if extra is None else to_json_value(extra, "extra")
    clash = sorted(k for k in payload if k in _RUN_KEYS)
    if clash:
        message = "a modelled field cannot be given in extra; pass it by name"
        raise InvalidRun.one(f"extra.{clash[0]}", "extra", message)
    payload.update(
        {
            "id": id,
            "object": "thread.run",
            "created_at": now,
            "assistant_id": assistant_id,
            "thread_id": thread_id,
            "status": RunStatus.QUEUED.value,
            "started_at": None,
            "expires_at": now + expires_in,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "required_action": None,
            "last_error": None,
            "model": model,
            "instructions": instructions,
            "tools": json_array(tools, field="tools", what="run"),
            "metadata": {} if metadata is None else metadata,
            "temperature": temperature,
            "top_p": top_p,
            "max_completion_tokens": max_completion_tokens,
            "max_prompt_tokens": max_prompt_tokens,
            "truncation_strategy": {"type": "auto", "last_messages": None}
            if truncation_strategy is None
            else _json(truncation_strategy),
            "incomplete_details": None,
            "usage": None,
            "response_format": None if response_format is None else _json(response_format),
            "tool_choice": None if tool_choice is None else _json(tool_choice),
            "parallel_tool_calls": parallel_tool_calls,
        }
    )
    for key, default in RUN_ECHOES.items():
        if key not in payload:  # an echo new_run does not name: the generic path
            payload[key] = _json(echoes.pop(key, default))
    if echoes:
        raise InvalidArgument.expected(
            "new_run keyword", f"one of {sorted(RUN_ECHOES)}", sorted(echoes)[0]
        )
    run = parse_run(payload)
    errors = [
        FieldError(v.field, v.rule, v.message) for v in violations(run) if v.severity == "error"
    ]
    if errors:
        raise InvalidRun(errors)
    return run


# --------------------------------------------------------------------------------------
# Moves between non-terminal statuses


def start(run: Run, *, now: int) -> Run:
    """``queued -> in_progress``: the server picks the run up.

    ``started_at`` becomes ``now``, also when the run re-enters ``in_progress`` after tool
    outputs: the real API resets it then (spec-facts §8.5, dotnet recordings and the spec's
    streaming example).

    Raises:
        TransitionError: unless the run is ``queued``.
        ClockWentBackwards: if ``now`` is before a timestamp on the run.
        InvalidArgument: for ``run`` not a :class:`~runstate.Run`, or ``now`` not an ``int``
            (see :func:`check_now`).

    Example:
        >>> run = new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)
        >>> start(run, now=11).started_at
        11
    """
    _guard(run, RunStatus.IN_PROGRESS)
    _check_now(run, now)
    return replace(run, status=RunStatus.IN_PROGRESS, started_at=now)


def require_action(
    run: Run, tool_calls: Sequence[ToolCall | Mapping[str, Any]], *, now: int
) -> Run:
    """``in_progress -> requires_action``: the model called function tools.

    ``required_action`` lists the calls; nothing else changes (``usage`` stays null in the
    2025 recordings; spec-facts §8.2).

    Args:
        run: An ``in_progress`` run.
        tool_calls: At least one call, as :class:`~runstate.ToolCall` values or their JSON
            objects (``{"id": ..., "type": "function", "function": {"name", "arguments"}}``),
            with unique ids.
        now: The current time, Unix seconds.

    Raises:
        TransitionError: unless the run is ``in_progress``.
        InvalidRun: for no calls, duplicate ids or malformed calls (naming the field).
        ClockWentBackwards: if ``now`` is before a timestamp on the run.
        InvalidArgument: for ``run`` not a :class:`~runstate.Run`, or ``now`` not an ``int``
            (see :func:`check_now`).

    Example:
        >>> run = start(new_run(id="run_1", thread_id="t", assistant_id="a", model="m",
        ...                     now=10), now=11)
        >>> waiting = require_action(run, [{"id": "call_A", "type": "function",
        ...     "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}], now=12)
        >>> waiting.status.value
        'requires_action'
        >>> [c.id for c in waiting.required_action.submit_tool_outputs.tool_calls]
        ['call_A']
    """
    _guard(run, RunStatus.REQUIRES_ACTION)
    _check_now(run, now)
    calls = parse_value(
        SubmitToolOutputs,
        {"tool_calls": json_array(tool_calls, field="tool_calls", what="tool calls")},
        what="tool calls",
    ).tool_calls
    if not calls:
        raise InvalidRun.one(
            field="tool_calls",
            rule="required-action-empty",
            message="at least one tool call is required",
            what="tool calls",
        )
    ids = [c.id for c in calls]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InvalidRun.one(
            field="tool_calls",
            rule="tool-call-ids",
            message=f"duplicate tool call ids {dupes}",
            what="tool calls",
        )
    action = RequiredAction(submit_tool_outputs=SubmitToolOutputs(tool_calls=calls))
    return replace(run, status=RunStatus.REQUIRES_ACTION, required_action=action)


def read_tool_outputs(tool_outputs: object) -> list[ToolOutput]:
    """Read ``tool_outputs`` as the API does, refusing with its first complaint.

    The type message for an output is recorded (``tool_outputs[0].output``, spec-facts
    §10.2); the others follow the same templates (inferred).
    """
    if isinstance(tool_outputs, str | bytes | Mapping) or not isinstance(tool_outputs, Iterable):
        raise wire.invalid_type("tool_outputs", "an array", tool_outputs)
    outputs: list[ToolOutput] = []
    for i, item in enumerate(tool_outputs):
        if isinstance(item, ToolOutput):
            outputs.append(item)
            continue
        where = f"tool_outputs[{i}]"
        if not isinstance(item, Mapping):
            raise wire.invalid_type(where, "an object", item)
        values = []
        for key in ("tool_call_id", "output"):
            value = item.get(key)
            if value is None:
                raise wire.missing_parameter(f"{where}.{key}")
            if not isinstance(value, str):
                raise wire.invalid_type(f"{where}.{key}", "a string", value)
            values.append(str.__str__(value))
        outputs.append(ToolOutput(tool_call_id=values[0], output=values[1]))
    return outputs


def submit_tool_outputs(
    run: Run, tool_outputs: Iterable[ToolOutput | Mapping[str, Any]], *, now: int
) -> Run:
    """``requires_action -> queued``: the caller answered every pending tool call.

    All outputs must come in one request and name exactly the pending call ids, each once
    (spec ``submitToolOuputsToRun``; the real API's message lists expected ids in pending
    order and received ids in submitted order, spec-facts §4.2). ``required_action`` is
    cleared; ``started_at`` and ``expires_at`` are kept: submitting does not extend the
    deadline (spec-facts §5.2, §8.6).

    Raises:
        ToolOutputsRejected: ``Runs in status "<status>" do not accept tool outputs.``
            unless the run is ``requires_action``; ``Expected tool outputs for call_ids
            [...], got [...]`` when the ids do not match; ``Duplicate call_ids
            submitted: [...]`` when an id comes twice.
        InvalidRequest: for malformed outputs, with the API's message, ``param`` and
            ``code`` (``Invalid type for 'tool_outputs[0].output': ...``).
        InvalidArgument: for ``run`` not a Run or ``now`` not an int.
        ClockWentBackwards: if ``now`` is before a timestamp on the run.
        InvalidArgument: for ``run`` not a :class:`~runstate.Run`, or ``now`` not an ``int``
            (see :func:`check_now`).

    Example:
        >>> run = new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)
        >>> run = require_action(start(run, now=11), [{"id": "call_A", "type": "function",
        ...     "function": {"name": "f", "arguments": "{}"}}], now=12)
        >>> try:
        ...     submit_tool_outputs(run, [{"tool_call_id": "call_B", "output": "4"}], now=13)
        ... except ToolOutputsRejected as exc:
        ...     print(exc.http_status, exc)
        400 Expected tool outputs for call_ids ['call_A'], got ['call_B']
        >>> submit_tool_outputs(run, [{"tool_call_id": "call_A", "output": "42"}], now=13).status
        <RunStatus.QUEUED: 'queued'>
    """
    _check_run(run)
    if run.status is not RunStatus.REQUIRES_ACTION or run.required_action is None:
        raise ToolOutputsRejected(
            f'Runs in status "{run.status.value}" do not accept tool outputs.',
            reason="wrong-status",
        )
    _guard(run, RunStatus.QUEUED)
    _check_now(run, now)
    outputs = read_tool_outputs(tool_outputs)
    expected = [c.id for c in run.required_action.submit_tool_outputs.tool_calls]
    got = [o.tool_call_id for o in outputs]
    dupes = [i for i in got if got.count(i) > 1]
    if dupes:
        # The message is recorded (spec-facts §10.2); which ids it lists is inferred:
        # every submitted occurrence of a repeated id, in submitted order.
        raise ToolOutputsRejected(
            f"Duplicate call_ids submitted: {_ids(dupes)}", reason="duplicate-tool-call-ids"
        )
    if sorted(expected) != sorted(got):
        raise ToolOutputsRejected(
            f"Expected tool outputs for call_ids {_ids(expected)}, got {_ids(got)}",
            reason="tool-outputs-mismatch",
        )
    return replace(run, status=RunStatus.QUEUED, required_action=None)


# --------------------------------------------------------------------------------------
# Cancel


@attrs.frozen
class CancelDecision:
    """Whether a cancel would be accepted, and if not, the exact refusal.

    Attributes:
        allowed: ``True`` when :func:`cancel` would succeed (for a sane ``now``).
        reason: The refusal's stable reason, or ``None`` when allowed.
        message: The refusal's exact message, or ``None`` when allowed.
    """

    allowed: bool
    reason: str | None = None
    message: str | None = None

    @property
    def error(self) -> CancelNotAllowed | None:
        """The error :func:`cancel` would raise (a fresh instance), or ``None``."""
        if self.allowed:
            return None
        assert self.message is not None
        return CancelNotAllowed(self.message, reason=self.reason)


def _cancel_decision(status: RunStatus, documented_only: bool) -> CancelDecision:
    if RunStatus.CANCELLING in TRANSITIONS[status]:
        if documented_only and status is not RunStatus.IN_PROGRESS:
            reason = "not-in-progress"
        else:
            return CancelDecision(allowed=True)
    elif status is RunStatus.CANCELLING:
        reason = "run-cancelling"
    else:
        reason = _refusal_reason(status)
    # The real API's text, byte for byte (spec-facts §4.1).
    return CancelDecision(False, reason, f"Cannot cancel run with status '{status.value}'.")


# Decided once per status, from the table: deciding is a dict lookup.
_CANCEL_ANY: Final[Mapping[RunStatus, CancelDecision]] = MappingProxyType(
    {s: _cancel_decision(s, False) for s in RunStatus}
)
_CANCEL_DOCUMENTED: Final[Mapping[RunStatus, CancelDecision]] = MappingProxyType(
    {s: _cancel_decision(s, True) for s in RunStatus}
)


def _decide(run: Run, documented_only: bool) -> CancelDecision:
    # ``is``, not ``==``: 1 and 0 are not booleans here.
    if documented_only is False:
        table = _CANCEL_ANY
    elif documented_only is True:
        table = _CANCEL_DOCUMENTED
    else:
        raise InvalidArgument.expected("documented_only", "True or False", documented_only)
    try:
        return table[run.status]
    except (AttributeError, KeyError, TypeError):
        _check_run(run)
        raise


def check_cancel(run: Run, *, documented_only: bool = False) -> CancelDecision:
    """Decide whether :func:`cancel` would accept ``run``, without raising.

    Args:
        run: The run to cancel.
        documented_only: Narrow the guard to what the spec and docs promise: only an
            ``in_progress`` run may be cancelled (spec-facts §1.3, §8.1).

    Returns:
        The decision; its ``error`` is exactly what :func:`cancel` would raise.

    Raises:
        InvalidArgument: for ``run`` not a :class:`~runstate.Run` or ``documented_only``
            not ``True`` or ``False``: a verdict needs a question.

    Example:
        >>> run = new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)
        >>> check_cancel(run).allowed
        True
        >>> check_cancel(run, documented_only=True).error.to_api_error()["error"]["message"]
        "Cannot cancel run with status 'queued'."
    """
    return _decide(run, documented_only)


def cancel(run: Run, *, now: int, documented_only: bool = False) -> Run:
    """``queued | in_progress | requires_action -> cancelling``: the cancel endpoint.

    The result is what the real API's 200 response shows (ruby recordings, spec example;
    spec-facts §4.1, §6): status ``cancelling``, ``required_action`` null, ``cancelled_at``
    still null (it is set when the cancel takes effect, see :func:`finish_cancel`),
    ``usage`` null, ``started_at`` and ``expires_at`` unchanged, everything else untouched.

    Cancelling ``queued`` and ``requires_action`` runs is not documented but is what
    clients and Azure's tests do (spec-facts §7, §8.1); pass ``documented_only=True`` to
    accept ``in_progress`` only.

    Args:
        run: The run to cancel.
        now: The current time, Unix seconds.
        documented_only: Accept ``in_progress`` runs only.

    Returns:
        The ``cancelling`` run.

    Raises:
        CancelNotAllowed: ``Cannot cancel run with status '<status>'.`` with reason
            ``run-terminal``, ``run-cancelling`` or ``not-in-progress``.
        ClockWentBackwards: if ``now`` is before a timestamp on the run.
        InvalidArgument: for ``run`` not a :class:`~runstate.Run`, ``now`` not an ``int``
            (see :func:`check_now`) or ``documented_only`` not ``True`` or ``False``.

    Example:
        >>> run = start(new_run(id="run_1", thread_id="t", assistant_id="a", model="m",
        ...                     now=10), now=11)
        >>> cancelled = cancel(run, now=12)
        >>> cancelled.status.value, cancelled.cancelled_at, cancelled.started_at
        ('cancelling', None, 11)
        >>> cancel(cancelled, now=13)
        Traceback (most recent call last):
        ...
        runstate._errors.CancelNotAllowed: Cannot cancel run with status 'cancelling'.
    """
    decision = _decide(run, documented_only)
    if not decision.allowed:
        raise CancelNotAllowed(decision.message, reason=decision.reason)  # type: ignore[arg-type]
    _check_now(run, now)
    return _to_cancelling(run, RunStatus.CANCELLING, None, None)  # type: ignore[no-any-return]


_to_cancelling: Final = copier(Run, "status", "required_action", "usage", checked=False)
_with_metadata: Final = copier(Run, "metadata", checked=False)


# --------------------------------------------------------------------------------------
# Terminal moves


def finish_cancel(run: Run, *, now: int, usage: Usage | Mapping[str, Any] | None = None) -> Run:
    """``cancelling -> cancelled``: the cancel took effect; ``cancelled_at = now``.

    No real ``cancelled`` object was ever recorded (spec-facts §8.13); the shape follows
    the other terminal statuses: ``expires_at`` null, ``usage`` set (zeros by default).

    Raises:
        TransitionError: unless the run is ``cancelling``.
        InvalidRun: for a malformed ``usage``.
        ClockWentBackwards: if ``now`` is before a timestamp on the run.
        InvalidArgument: for ``run`` not a :class:`~runstate.Run`, or ``now`` not an ``int``
            (see :func:`check_now`).

    Example:
        >>> run = cancel(new_run(id="run_1", thread_id="t", assistant_id="a", model="m",
        ...                      now=10), now=11)
        >>> done = finish_cancel(run, now=12)
        >>> done.status.value, done.cancelled_at, done.expires_at, done.usage.total_tokens
        ('cancelled', 12, None, 0)
    """
    return _finished(run, RunStatus.CANCELLED, now, usage, cancelled_at=now)


def complete(run: Run, *, now: int, usage: Usage | Mapping[str, Any] | None = None) -> Run:
    """``in_progress | cancelling -> completed``; ``completed_at = now``, usage set.

    From ``cancelling`` this is a cancel that lost the race ("cancellation is attempted
    but not guaranteed", spec-facts §3). A run that never started cannot complete.

    Raises:
        TransitionError: from any other status, or when ``started_at`` is null.
        InvalidRun: for a malformed ``usage``.
        ClockWentBackwards: if ``now`` is before a timestamp on the run.
        InvalidArgument: for ``run`` not a :class:`~runstate.Run`, or ``now`` not an ``int``
            (see :func:`check_now`).

    Example:
        >>> run = start(new_run(id="run_1", thread_id="t", assistant_id="a", model="m",
        ...                     now=10), now=11)
        >>> done = complete(run, now=20, usage={"prompt_tokens": 5, "completion_tokens": 2,
        ...                                     "total_tokens": 7})
        >>> done.status.value, done.completed_at, done.expires_at, done.usage.total_tokens
        ('completed', 20, None, 7)
    """
    _guard(run, RunStatus.COMPLETED)
    return _finished(run, RunStatus.COMPLETED, now, usage, completed_at=now)


def fail(
    run: Run,
    *,
    now: int,
    error: LastError | Mapping[str, Any],
    usage: Usage | Mapping[str, Any] | None = None,
) -> Run:
    """``queued | in_progress | cancelling -> failed``; ``failed_at = now``, ``last_error`` set.

    Real failed runs have ``expires_at`` null and usage set, possibly all zeros
    (spec-facts §5.3).

    Raises:
        TransitionError: from any other status.
        InvalidRun: for a malformed ``error``.
        ClockWentBackwards: if ``now`` is before a timestamp on the run.
        InvalidArgument: for ``run`` not a :class:`~runstate.Run`, or ``now`` not an ``int``
            (see :func:`check_now`).

    Example:
        >>> run = start(new_run(id="run_1", thread_id="t", assistant_id="a", model="m",
        ...                     now=10), now=11)
        >>> failed = fail(run, now=12, error={"code": "server_error",
        ...                                   "message": "Sorry, something went wrong."})
        >>> failed.status.value, failed.failed_at, failed.last_error.code
        ('failed', 12, 'server_error')
    """
    _guard(run, RunStatus.FAILED)
    last_error = as_value(LastError, error, "last_error")
    return _finished(run, RunStatus.FAILED, now, usage, failed_at=now, last_error=last_error)


def mark_incomplete(
    run: Run,
    *,
    now: int,
    reason: IncompleteReason,
    usage: Usage | Mapping[str, Any] | None = None,
) -> Run:
    """``in_progress | cancelling -> incomplete``: a token limit ended the run.

    Sets ``incomplete_details`` and ``completed_at = now``: runs have no separate
    "incomplete_at", and the real incomplete run carried ``completed_at`` (spec-facts §8.3).

    Raises:
        TransitionError: from any other status, or when ``started_at`` is null.
        InvalidRun: for an unknown ``reason``.
        ClockWentBackwards: if ``now`` is before a timestamp on the run.
        InvalidArgument: for ``run`` not a :class:`~runstate.Run`, or ``now`` not an ``int``
            (see :func:`check_now`).

    Example:
        >>> run = start(new_run(id="run_1", thread_id="t", assistant_id="a", model="m",
        ...                     now=10), now=11)
        >>> cut = mark_incomplete(run, now=12, reason="max_completion_tokens", usage=None)
        >>> cut.status.value, cut.incomplete_details.reason, cut.completed_at
        ('incomplete', 'max_completion_tokens', 12)
    """
    _guard(run, RunStatus.INCOMPLETE)
    if reason is None:
        raise InvalidRun.one(
            "reason",
            "required",
            "a reason is required: 'max_completion_tokens' or 'max_prompt_tokens'",
            what="incomplete_details",
        )
    details = as_value(IncompleteDetails, {"reason": reason}, "incomplete_details")
    return _finished(
        run, RunStatus.INCOMPLETE, now, usage, completed_at=now, incomplete_details=details
    )


def expire(run: Run, *, now: int, usage: Usage | Mapping[str, Any] | None = None) -> Run:
    """``queued | in_progress | requires_action | cancelling -> expired``, once due.

    Allowed only once ``now >= expires_at`` (a run without ``expires_at`` has no known
    deadline and may expire at any time). The docs describe expiry from
    ``requires_action`` and from long runs (spec-facts §3, §7).

    Raises:
        TransitionError: from a terminal status, or before ``expires_at``
            (reason ``not-expired-yet``).
        ClockWentBackwards: if ``now`` is before a timestamp on the run.
        InvalidArgument: for ``run`` not a :class:`~runstate.Run`, or ``now`` not an ``int``
            (see :func:`check_now`).

    Example:
        >>> run = new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)
        >>> try:
        ...     expire(run, now=609)
        ... except TransitionError as exc:
        ...     print(exc.reason)
        not-expired-yet
        >>> expire(run, now=610).status.value
        'expired'
    """
    _guard(run, RunStatus.EXPIRED)
    check_now(now)
    if run.expires_at is not None and now < run.expires_at:
        raise TransitionError(
            Op.EXPIRE,
            run.status,
            RunStatus.EXPIRED,
            "not-expired-yet",
            f"expires_at is {run.expires_at}, now is {now}",
        )
    return _finished(run, RunStatus.EXPIRED, now, usage)


# --------------------------------------------------------------------------------------
# Metadata

#: Metadata limits: 16 keys, keys up to 64 characters, values up to 512 (the field rule).
_METADATA_KEYS: Final = METADATA.max_items or 0
_METADATA_KEY_LEN: Final = METADATA.key_length or 0
_METADATA_VALUE_LEN: Final = METADATA.max_length or 0


def read_metadata(metadata: object, param: str = "metadata") -> dict[str, str]:
    """Metadata as the API reads it: a plain ``dict`` of strings, or its refusal.

    Evidence: the type messages are recorded (ruby runs_modify.yml, spec-facts §4.3, §10.2:
    ``expected a metadata object`` for an array); the too-many-properties and value-length
    messages match a real API error quoted in public issues (spiceai/spiceai#5357:
    ``param: metadata.actual``, ``code: string_above_max_length``); the key-length message
    and its code follow the same validator as reimplemented by public mocks (inferred).
    At most 17 entries are read (one more than allowed), so an endless mapping is refused
    quickly; ``str`` subclasses count as their value, so their ``__len__`` cannot lie.

    Raises:
        InvalidRequest: what the API answers for this metadata.
        InvalidArgument: for keys that are not strings, or a mapping that fails while
            read: neither can come from JSON.
    """
    if not isinstance(metadata, Mapping):
        raise wire.invalid_type(param, "a metadata object", metadata)
    try:
        items = list(itertools.islice(metadata.items(), _METADATA_KEYS + 1))
    except Exception as exc:  # a broken mapping: its items() or iteration raised
        raise InvalidArgument(
            param, f"the mapping could not be read ({type(exc).__name__})"
        ) from None
    plain: dict[str, str] = {}
    for key, value in items:
        if not isinstance(key, str):
            raise InvalidArgument.expected(f"{param} keys", "strings", key)
        name = str.__str__(key)
        if not isinstance(value, str):
            raise wire.invalid_type(f"{param}.{_id(name)}", "a string", value)
        plain[name] = str.__str__(value)
    if len(items) > _METADATA_KEYS:
        try:
            count = max(len(metadata), len(items))
        except Exception:  # a __len__ that raises: the entries read are the count
            count = len(items)
        raise wire.too_many_properties(param, _METADATA_KEYS, count)
    for name, value in plain.items():
        if len(name) > _METADATA_KEY_LEN:
            raise InvalidRequest(
                f"Invalid property name in '{param}': '{_id(name)}' is too long. Expected "
                f"a string with maximum length {_METADATA_KEY_LEN}, but got a string "
                f"with length {len(name)} instead.",
                param=f"{param}.{_id(name)}",
                code="property_name_above_max_length",
            )
        if len(value) > _METADATA_VALUE_LEN:
            raise wire.string_too_long(f"{param}.{_id(name)}", _METADATA_VALUE_LEN, len(value))
    return plain


def _metadata_error(metadata: object, param: str = "metadata") -> InvalidRequest | None:
    """The API's refusal of a metadata value, or None (see :func:`read_metadata`)."""
    try:
        read_metadata(metadata, param)
    except InvalidRequest as exc:
        return exc
    return None


def update_metadata(run: Run, *, metadata: Mapping[str, str] | None = None) -> Run:
    """Replace a finished run's ``metadata`` (``POST /threads/{t}/runs/{r}``).

    The real API refuses while the run is active and accepts once it is terminal
    (ruby and jvm-openai recordings; spec-facts §4.3; not in the spec). ``metadata`` not
    given, or ``None``, leaves it unchanged: a null in a request means "not given", as it
    does for :func:`new_run`'s arguments.

    Args:
        run: The run to modify.
        metadata: The new metadata (replaces the old; up to 16 string pairs), or ``None``.

    Returns:
        The run with its new metadata (the same run when ``metadata`` is ``None``).

    Raises:
        RunNotModifiable: ``Cannot update run with status '<status>'.`` (reason
            ``run-active``) while the run is active.
        InvalidRequest: for metadata that is not an object of strings, or that breaks the
            16 keys / 64 / 512 characters limits, with the API's ``param`` and ``code``.
        InvalidArgument: for metadata keys that are not strings, or ``run`` not a Run.

    Example:
        >>> run = start(new_run(id="run_1", thread_id="t", assistant_id="a", model="m",
        ...                     now=10), now=11)
        >>> update_metadata(run, metadata={"k": "v"})
        Traceback (most recent call last):
        ...
        runstate._errors.RunNotModifiable: Cannot update run with status 'in_progress'.
    """
    _check_run(run)
    if run.status in ACTIVE_STATUSES:
        raise RunNotModifiable(
            f"Cannot update run with status '{run.status.value}'.", reason="run-active"
        )
    if metadata is None:
        return run
    return _with_metadata(run, freeze_metadata(read_metadata(metadata)))  # type: ignore[no-any-return]


def _id(value: str) -> str:
    """An id inside one of the API's messages: whole, unless hostile (see MAX_ID_ECHO)."""
    return wire.echo(value)


def _ids(values: list[str]) -> str:
    """A list of ids as the API prints it (Python's list repr), bounded."""
    shown = [_id(v) for v in values[:MAX_LISTED]]
    text = repr(shown)
    return text if len(values) <= MAX_LISTED else text[:-1] + f", ... {len(values)} in all]"
