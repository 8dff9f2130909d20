"""The operations on run steps and messages, and :func:`advance`: one move of a run with them.

A step's life is tied to its run's. Steps open only while the run is ``in_progress``;
the ``tool_calls`` step stays open through ``requires_action`` and completes, with every
output, when the outputs are submitted (before the run is queued again); and when the
run ends, every open step and message ends first (spec-facts §11). :func:`advance`
applies one operation to a run *and* its steps and messages, so they cannot drift
apart. Which operations there are, what arguments each takes and what a run's end does
to the open steps live in the operations table (:mod:`runstate._operations`); the step
table and the per-status rules live in :mod:`runstate._step_table`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, get_args

import attrs

from . import _ops
from ._engine.copying import replace
from ._engine.frozen import EMPTY, EMPTY_LIST
from ._errors import MAX_ID_ECHO, ClockWentBackwards, InvalidArgument, InvalidRun, shorten
from ._model import (
    MESSAGE_COMPLETED,
    MESSAGE_IN_PROGRESS,
    MESSAGE_INCOMPLETE,
    TOOL_CALLS,
    FunctionToolCall,
    Message,
    MessageCreation,
    MessageCreationDetails,
    MessageIncompleteDetails,
    MessageIncompleteReason,
    Run,
    RunStep,
    StepFunction,
    StepLastError,
    StepStatus,
    StepToolCall,
    ToolCallsDetails,
    Usage,
)
from ._operations import OPERATIONS, RUN_END_EFFECTS, Op, RunEndEffect
from ._serde import parse_value
from ._status import RunStatus
from ._step_table import (
    MESSAGE_STATUSES,
    STEP_EDGES,
    STEP_TRANSITIONS,
    StepEdge,
    StepTransitionError,
    dump_message,
    dump_step,
    ensure_message,
    ensure_step,
    message_violations,
    parse_message,
    parse_step,
    quote_id,
    step_violations,
)

__all__ = [
    "MESSAGE_STATUSES",
    "RUN_END_EFFECTS",
    "STEP_EDGES",
    "STEP_TRANSITIONS",
    "RunEndEffect",
    "RunLife",
    "StepEdge",
    "StepTransitionError",
    "advance",
    "attach_tool_outputs",
    "complete_message",
    "complete_step",
    "dump_message",
    "dump_step",
    "mark_message_incomplete",
    "message_violations",
    "open_message",
    "open_message_step",
    "open_tool_calls_step",
    "parse_message",
    "parse_step",
    "step_violations",
    "write_message_text",
]

SP = StepStatus.IN_PROGRESS
SCD = StepStatus.CANCELLED
SF = StepStatus.FAILED
SC = StepStatus.COMPLETED
SX = StepStatus.EXPIRED

_ZERO_USAGE: Final = Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)


# --------------------------------------------------------------------------------------
# Step and message operations


def _open(operation: str, step: RunStep) -> None:
    if step.status is not SP:
        raise StepTransitionError(
            operation, "step-terminal", f"step {quote_id(step.id)} is already {step.status.value!r}"
        )


def _not_before(now: int, created_at: int, what: str) -> None:
    _ops.check_now(now)
    if now < created_at:
        raise ClockWentBackwards(f"{what}.created_at", now, created_at)


def _new_step(operation: str, run: Run, id: str, now: int, details: Any) -> RunStep:
    if type(run) is not Run:
        raise InvalidArgument.expected("run", "a runstate.Run", run)
    if run.status is not RunStatus.IN_PROGRESS:
        raise StepTransitionError(
            operation,
            "run-not-in-progress",
            f"the run is {run.status.value!r}, not 'in_progress'",
        )
    _not_before(now, run.started_at if run.started_at is not None else run.created_at, "run")
    return RunStep(
        id=id,
        created_at=now,
        run_id=run.id,
        assistant_id=run.assistant_id,
        thread_id=run.thread_id,
        type=details.type,
        status=SP,
        step_details=details,
        expires_at=run.expires_at,
    )


def open_message_step(run: Run, *, id: str, message_id: str, now: int) -> RunStep:
    """Open a ``message_creation`` step on an ``in_progress`` run.

    The step is ``in_progress`` with ``created_at = now``, the run's ``expires_at``
    (recorded steps carry it and keep it), ``usage`` null. Open its message with
    :func:`open_message` (:func:`advance` does both).

    Raises:
        StepTransitionError: unless the run is ``in_progress`` (``run-not-in-progress``).
        InvalidRun: for ids that are not strings.

    Example:
        >>> import runstate as rs
        >>> run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                           model="m", now=10), now=11)
        >>> step = open_message_step(run, id="step_1", message_id="msg_1", now=12)
        >>> step.status.value, step.type, step.expires_at, step.usage
        ('in_progress', 'message_creation', 610, None)
    """
    details = MessageCreationDetails(message_creation=MessageCreation(message_id=message_id))
    return _new_step(Op.OPEN_MESSAGE_STEP.value, run, id, now, details)


def _step_calls(value: object) -> tuple[StepToolCall, ...]:
    calls = parse_value(
        ToolCallsDetails,
        {
            "type": TOOL_CALLS,
            "tool_calls": _ops.json_array(value, field="tool_calls", what="tool calls"),
        },
        what="tool calls",
    ).tool_calls
    ids = [c.id for c in calls]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InvalidRun.one(
            field="tool_calls",
            rule="tool-call-ids",
            message=f"duplicate tool call ids {dupes}",
            what="tool calls",
        )
    return calls


def open_tool_calls_step(
    run: Run, *, id: str, now: int, tool_calls: Iterable[StepToolCall | Mapping[str, Any]] = ()
) -> RunStep:
    """Open a ``tool_calls`` step on an ``in_progress`` run.

    Recorded ``tool_calls`` steps open with no calls and receive them in deltas
    (spec-facts §11); ``tool_calls`` may give them at once, as values or JSON objects
    (``{"id", "type": "function", "function": {"name", "arguments", "output": null}}``,
    or a ``code_interpreter`` or ``file_search`` call).

    Raises:
        StepTransitionError: unless the run is ``in_progress``.
        InvalidRun: for malformed calls or duplicate call ids.

    Example:
        >>> import runstate as rs
        >>> run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                           model="m", now=10), now=11)
        >>> step = open_tool_calls_step(run, id="step_1", now=12, tool_calls=[{"id": "c",
        ...     "type": "function", "function": {"name": "f", "arguments": "{}"}}])
        >>> step.step_details.tool_calls[0].function.output is None
        True
    """
    details = ToolCallsDetails(tool_calls=_step_calls(tool_calls))
    return _new_step(Op.OPEN_TOOL_CALLS_STEP.value, run, id, now, details)


def _missing_outputs(step: RunStep) -> list[str]:
    details = step.step_details
    if type(details) is not ToolCallsDetails:
        return []
    return [
        c.id
        for c in details.tool_calls
        if type(c) is FunctionToolCall and c.function.output is None
    ]


def complete_step(
    step: RunStep,
    *,
    now: int,
    usage: Usage | Mapping[str, Any] | None = None,
    require_outputs: bool = False,
) -> RunStep:
    """``in_progress -> completed``: ``completed_at = now``, ``usage`` set (zeros by default).

    Args:
        step: An open step.
        now: The current time, Unix seconds (not before the step's ``created_at``).
        usage: The step's token counts; zeros when the caller has none, as for runs.
        require_outputs: Refuse a ``tool_calls`` step with a function call whose
            ``output`` is still null (what a step completed on submission must carry).

    Raises:
        StepTransitionError: for a step already ended, or a missing output.
        ClockWentBackwards: for a ``now`` before ``created_at``.

    Example:
        >>> import runstate as rs
        >>> run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                           model="m", now=10), now=11)
        >>> done = complete_step(open_message_step(run, id="s", message_id="m", now=12), now=13)
        >>> done.status.value, done.completed_at, done.expires_at, done.usage.total_tokens
        ('completed', 13, 610, 0)
    """
    ensure_step(step)
    _open("complete_step", step)
    _not_before(now, step.created_at, "step")
    if require_outputs:
        missing = _missing_outputs(step)
        if missing:
            raise StepTransitionError(
                "complete_step", "tool-output-missing", f"no output for tool calls {missing}"
            )
    return replace(
        step,
        status=SC,
        completed_at=now,
        usage=_ops.as_value(Usage, usage, "usage") if usage is not None else _ZERO_USAGE,
    )


def attach_tool_outputs(
    step: RunStep, tool_outputs: Iterable[_ops.ToolOutput | Mapping[str, Any]]
) -> RunStep:
    """Fill the ``output`` of the step's function calls named by ``tool_outputs``.

    What the submit_tool_outputs stream's ``step.completed`` shows: each call's
    ``function.output`` is the submitted text (dotnet StreamingToolCall.2). The step stays
    open; :func:`complete_step` ends it (:func:`advance` does both on submission).

    Raises:
        StepTransitionError: for a step that ended or is not a ``tool_calls`` step.
        InvalidArgument: for an output naming no function call of the step, or one that
            already has its output.
        InvalidRequest: for malformed outputs, as :func:`~runstate.submit_tool_outputs`.

    Example:
        >>> import runstate as rs
        >>> run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                           model="m", now=10), now=11)
        >>> step = open_tool_calls_step(run, id="s", now=12, tool_calls=[{"id": "c",
        ...     "type": "function", "function": {"name": "f", "arguments": "{}"}}])
        >>> step = attach_tool_outputs(step, [{"tool_call_id": "c", "output": "42"}])
        >>> step.step_details.tool_calls[0].function.output
        '42'
    """
    ensure_step(step)
    _open("attach_tool_outputs", step)
    details = step.step_details
    if type(details) is not ToolCallsDetails:
        raise StepTransitionError(
            "attach_tool_outputs",
            "wrong-step-type",
            f"step {quote_id(step.id)} is not a tool_calls step",
        )
    given = {o.tool_call_id: o.output for o in _ops.read_tool_outputs(tool_outputs)}
    calls: list[StepToolCall] = []
    for call in details.tool_calls:
        if type(call) is FunctionToolCall and call.id in given:
            if call.function.output is not None:
                raise InvalidArgument(
                    "tool_outputs", f"tool call {quote_id(call.id)} already has its output"
                )
            output = given.pop(call.id)
            calls.append(replace(call, function=replace(call.function, output=output)))
        else:
            calls.append(call)
    if given:
        raise InvalidArgument(
            "tool_outputs",
            f"no function call {shorten(repr(sorted(given)), MAX_ID_ECHO)}"
            f" in step {quote_id(step.id)}",
        )
    return replace(step, step_details=replace(details, tool_calls=tuple(calls)))


def open_message(run: Run, *, id: str, now: int) -> Message:
    """A new assistant message of the run, ``in_progress``, as the API creates it.

    Its kept fields are the recorded ones of a new message: ``role`` ``assistant``,
    empty ``content`` and ``attachments``, empty ``metadata`` (spec-facts §11).

    Example:
        >>> import runstate as rs
        >>> run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                           model="m", now=10), now=11)
        >>> list(dump_message(open_message(run, id="msg_1", now=12)))[-4:]
        ['role', 'content', 'attachments', 'metadata']
    """
    if type(run) is not Run:
        raise InvalidArgument.expected("run", "a runstate.Run", run)
    _not_before(now, run.created_at, "run")
    return Message(
        id=id,
        created_at=now,
        thread_id=run.thread_id,
        assistant_id=run.assistant_id,
        run_id=run.id,
        status=MESSAGE_IN_PROGRESS,
        extra={"role": "assistant", "content": EMPTY_LIST, "attachments": EMPTY_LIST}
        | {"metadata": EMPTY},
    )


def _check_message(message: object, operation: str) -> Message:
    message = ensure_message(message)
    if message.status != MESSAGE_IN_PROGRESS:
        raise StepTransitionError(
            operation,
            "step-terminal",
            f"message {quote_id(message.id)} is already {message.status!r}",
        )
    return message


def write_message_text(message: Message, text: str) -> Message:
    """Write ``text`` into an ``in_progress`` message, as the model writes its answer.

    The text is appended to the message's last ``content`` part when that part is
    ``text``, and otherwise becomes a new part ``{"type": "text", "text": {"value": text,
    "annotations": []}}``: the first write into a new message (whose ``content`` is
    empty) gives it one text part, and further writes extend it, as the real API's
    ``thread.message.delta`` events do. :func:`runstate.stream_events` announces what was
    written as a ``thread.message.delta``, whether it was written at once or in pieces.

    Args:
        message: An ``in_progress`` message.
        text: The text to write (any string, empty included).

    Returns:
        The message with its ``content`` (kept in ``extra``) extended; it round-trips
        through :func:`dump_message` and :func:`parse_message`.

    Raises:
        StepTransitionError: for a message no longer ``in_progress`` (``step-terminal``,
            as :func:`complete_message` refuses it).
        InvalidArgument: for a ``text`` that is not a string, a ``message`` that is not
            a :class:`~runstate.models.Message`, or a ``content`` that is not an array of
            content parts.

    Example:
        >>> import runstate as rs
        >>> run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                           model="m", now=10), now=11)
        >>> message = write_message_text(open_message(run, id="msg_1", now=12), "Hello")
        >>> message = write_message_text(message, ", world.")
        >>> dump_message(message)["content"]
        [{'type': 'text', 'text': {'value': 'Hello, world.', 'annotations': []}}]
        >>> try:
        ...     write_message_text(complete_message(message, now=13), "More")
        ... except rs.StepTransitionError as exc:
        ...     print(exc.reason, "|", exc)
        step-terminal | write_message_text: message 'msg_1' is already 'completed'
    """
    _check_message(message, "write_message_text")
    if not isinstance(text, str):
        raise InvalidArgument.expected("text", "a string", text)
    text = str.__str__(text)
    content = message.extra.get("content", EMPTY_LIST)
    if not isinstance(content, list) or not all(isinstance(p, Mapping) for p in content):
        raise InvalidArgument.expected(
            "message", "a message whose content is an array of content parts", content
        )
    last = content[-1] if content else None
    inner = last.get("text") if last is not None and last.get("type") == "text" else None
    if isinstance(inner, Mapping) and isinstance(inner.get("value"), str):
        part = {**last, "text": {**inner, "value": inner["value"] + text}}  # type: ignore[dict-item]
        parts = [*content[:-1], part]
    else:
        parts = [*content, {"type": "text", "text": {"value": text, "annotations": []}}]
    return replace(message, extra={**message.extra, "content": parts})


def complete_message(message: Message, *, now: int) -> Message:
    """``in_progress -> completed``: ``completed_at = now``.

    Example:
        >>> m = parse_message({"id": "m", "object": "thread.message", "created_at": 1,
        ...                    "thread_id": "t", "status": "in_progress"})
        >>> complete_message(m, now=3).completed_at
        3
    """
    _check_message(message, "complete_message")
    _not_before(now, message.created_at, "message")
    return replace(message, status=MESSAGE_COMPLETED, completed_at=now)


def mark_message_incomplete(
    message: Message, *, now: int, reason: MessageIncompleteReason
) -> Message:
    """``in_progress -> incomplete``: ``incomplete_at = now`` and the reason.

    Example:
        >>> m = parse_message({"id": "m", "object": "thread.message", "created_at": 1,
        ...                    "thread_id": "t", "status": "in_progress"})
        >>> cut = mark_message_incomplete(m, now=2, reason="max_tokens")
        >>> cut.status, cut.incomplete_at, cut.incomplete_details.reason
        ('incomplete', 2, 'max_tokens')
    """
    _check_message(message, "mark_message_incomplete")
    _not_before(now, message.created_at, "message")
    details = _ops.as_value(MessageIncompleteDetails, {"reason": reason}, "incomplete_details")
    return replace(
        message, status=MESSAGE_INCOMPLETE, incomplete_at=now, incomplete_details=details
    )


# --------------------------------------------------------------------------------------
# One operation on a run and its steps together


@attrs.frozen(kw_only=True)
class RunLife:
    """A run with its steps and the messages they write, at one moment.

    Attributes:
        run: The run.
        steps: Its steps, in creation order (``runs.steps.list`` with ``order=asc``).
        messages: The messages its ``message_creation`` steps write, in creation order.
    """

    run: Run
    steps: tuple[RunStep, ...] = ()
    messages: tuple[Message, ...] = ()


def _index(items: tuple[Any, ...], id: str, what: str) -> int:
    for i, item in enumerate(items):
        if item.id == id:
            return i
    raise InvalidArgument(f"{what}_id", f"no {what} {quote_id(id)} in this run")


def _checked_life(run: object, steps: object, messages: object) -> RunLife:
    if type(run) is not Run:
        raise InvalidArgument.expected("run", "a runstate.Run", run)
    for name, items, cls in (("steps", steps, RunStep), ("messages", messages, Message)):
        if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
            raise InvalidArgument.expected(name, f"a sequence of {cls.__name__}", items)
    life = RunLife(run=run, steps=tuple(steps), messages=tuple(messages))  # type: ignore[arg-type]
    for step in life.steps:
        ensure_step(step)
        if step.run_id != run.id:
            raise InvalidArgument(
                "steps", f"step {quote_id(step.id)} belongs to run {quote_id(step.run_id)}"
            )
    for message in life.messages:
        if type(message) is not Message:
            raise InvalidArgument.expected("messages", "runstate.models.Message values", message)
        if message.run_id != run.id:
            raise InvalidArgument(
                "messages",
                f"message {quote_id(message.id)} belongs to run {quote_id(message.run_id)}",
            )
    return life


def _ends(life: RunLife, now: int) -> None:
    """Refuse a ``now`` before an open step's or message's ``created_at``."""
    for step in life.steps:
        if step.status is SP:
            _not_before(now, step.created_at, "step")
    for message in life.messages:
        if message.status == MESSAGE_IN_PROGRESS:
            _not_before(now, message.created_at, "message")


def _end_step(step: RunStep, run: Run, target: StepStatus, now: int) -> RunStep:
    """An open step, ended with the run (``RUN_END_EFFECTS``)."""
    if target is SC:
        return replace(step, status=SC, completed_at=now, usage=_ZERO_USAGE)
    if target is SCD:
        return replace(step, status=SCD, cancelled_at=now)
    if target is SF:
        error = run.last_error
        assert error is not None  # fail() sets it
        # A step's error code has no invalid_prompt (spec): inferred mapping.
        code = error.code if error.code != "invalid_prompt" else "server_error"
        return replace(
            step,
            status=SF,
            failed_at=now,
            last_error=StepLastError(code=code, message=error.message),
        )
    return replace(step, status=SX)  # expires_at stays: the only expiry field recorded


def _end_message(message: Message, effect: RunEndEffect, now: int) -> Message:
    if effect.message_status == MESSAGE_COMPLETED:
        return complete_message(message, now=now)
    assert effect.message_reason is not None
    return mark_message_incomplete(message, now=now, reason=effect.message_reason)


def _end_open(life: RunLife, run: Run, effect: RunEndEffect, now: int) -> RunLife:
    steps = tuple(
        _end_step(s, run, effect.step_status, now) if s.status is SP else s for s in life.steps
    )
    messages = tuple(
        _end_message(m, effect, now) if m.status == MESSAGE_IN_PROGRESS else m
        for m in life.messages
    )
    return RunLife(run=run, steps=steps, messages=messages)


def _open_tool_step(life: RunLife) -> int | None:
    for i in range(len(life.steps) - 1, -1, -1):
        step = life.steps[i]
        if step.status is SP and step.type == TOOL_CALLS:
            return i
    return None


def _with(items: tuple[Any, ...], i: int, item: Any) -> tuple[Any, ...]:
    return (*items[:i], item, *items[i + 1 :])


def advance(
    run: Run,
    steps: Sequence[RunStep],
    operation: str,
    /,
    *,
    now: int,
    messages: Sequence[Message] = (),
    **arguments: Any,
) -> RunLife:
    """Apply one operation to a run *and* its steps and messages; return all of them.

    Run operations (``start``, ``require_action``, ``submit_tool_outputs``, ``cancel``,
    ``finish_cancel``, ``complete``, ``fail``, ``mark_incomplete``, ``expire``,
    ``update_metadata``) take
    the same arguments as the functions of that name, and change the run exactly as
    they do. Then:

    * ``require_action``: the open ``tool_calls`` step holds the required calls (its
      function calls are replaced by them, ``output`` null) and stays open; without an
      open one, a new step ``step_id`` is opened first (spec-facts §11, dotnet
      StreamingToolCall.1).
    * ``submit_tool_outputs``: the open ``tool_calls`` step receives the outputs and
      completes (``usage`` optional) before the run is queued (StreamingToolCall.2).
    * ``cancel``, ``start`` and ``update_metadata`` (``metadata``; ``now`` is checked,
      not used) leave the steps as they are.
    * ``finish_cancel``, ``complete``, ``fail``, ``mark_incomplete``, ``expire``: every
      open message and step ends as :data:`RUN_END_EFFECTS` says, at ``now``.

    Step operations: ``open_message_step`` (``step_id``, ``message_id``: the step and its
    message), ``finish_message_step`` (``step_id``, optional ``usage``,
    ``incomplete_reason`` and ``text``: the message receives the text as
    :func:`write_message_text` writes it, then completes, or becomes incomplete, then the
    step completes), ``open_tool_calls_step`` (``step_id``, optional ``tool_calls``; refused
    while another ``tool_calls`` step is open) and
    ``complete_tool_calls_step`` (``step_id``, optional ``usage``; every function call
    must have its output).

    Args:
        run: The run.
        steps: Its steps, in creation order.
        operation: One of the operation names above.
        now: The current time, Unix seconds.
        messages: The messages its steps write.
        arguments: The operation's own arguments.

    Returns:
        The new :class:`RunLife`; nothing given is changed.

    Raises:
        InvalidArgument: naming the argument: a ``now`` that is not an ``int`` (checked
            first, whatever the operation), an unknown operation, an argument it requires
            left out or one it does not take (the message lists what it takes), a
            ``step_id`` or ``message_id`` that is not a string, a ``text`` that is not a
            string, an ``incomplete_reason`` that is not a message incomplete reason
            (``None`` is "not given" where the argument is optional), steps or messages
            of another run, or an unknown ``step_id``; and everything the operations
            themselves raise (``tool_calls``, ``tool_outputs``, ``usage``, ``metadata``
            and ``error`` are run data, checked by them: :class:`InvalidRun`).

    Example:
        >>> import runstate as rs
        >>> run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a",
        ...                           model="m", now=10), now=11)
        >>> life = advance(run, (), "open_message_step", now=12, step_id="step_1",
        ...                message_id="msg_1")
        >>> life = advance(life.run, life.steps, "expire", now=700, messages=life.messages)
        >>> life.run.status.value, life.steps[0].status.value, life.messages[0].status
        ('expired', 'expired', 'incomplete')
        >>> life.messages[0].incomplete_details.reason
        'run_expired'
    """
    _ops.check_now(now)
    life = _checked_life(run, steps, messages)
    op, arguments = _check_arguments(operation, arguments)
    return _APPLY[op](life, now, **arguments)


def _open_tool_calls_step(
    life: RunLife, now: int, *, step_id: str, tool_calls: Any = ()
) -> RunLife:
    i = _open_tool_step(life)
    if i is not None:  # a submit completes one tool_calls step: keep it the only one
        raise StepTransitionError(
            Op.OPEN_TOOL_CALLS_STEP.value,
            "tool-step-open",
            f"tool_calls step {quote_id(life.steps[i].id)} is open",
        )
    step = open_tool_calls_step(life.run, id=step_id, now=now, tool_calls=tool_calls)
    _unique(life, step_id, "step")
    return attrs.evolve(life, steps=(*life.steps, step))


def _complete_tool_calls_step(
    life: RunLife, now: int, *, step_id: str, usage: Any = None
) -> RunLife:
    i = _index(life.steps, step_id, "step")
    if life.steps[i].type != TOOL_CALLS:
        raise StepTransitionError(
            Op.COMPLETE_TOOL_CALLS_STEP.value,
            "wrong-step-type",
            f"step {quote_id(life.steps[i].id)} is not a tool_calls step",
        )
    step = complete_step(life.steps[i], now=now, require_outputs=True, usage=usage)
    return attrs.evolve(life, steps=_with(life.steps, i, step))


def _unique(life: RunLife, id: str, what: str) -> None:
    items = life.steps if what == "step" else life.messages
    if any(item.id == id for item in items):
        raise InvalidArgument(f"{what}_id", f"the run already has a {what} {quote_id(id)}")


def _require_action(
    life: RunLife, now: int, *, tool_calls: Any, step_id: str | None = None
) -> RunLife:
    run = _ops.require_action(life.run, tool_calls, now=now)
    assert run.required_action is not None
    required = [
        FunctionToolCall(
            id=c.id, function=StepFunction(name=c.function.name, arguments=c.function.arguments)
        )
        for c in run.required_action.submit_tool_outputs.tool_calls
    ]
    steps = life.steps
    i = _open_tool_step(life)
    if i is None:
        if step_id is None:
            raise InvalidArgument(
                "step_id", "no tool_calls step is open: give the step_id of the one to open"
            )
        _unique(life, step_id, "step")
        steps = (*steps, open_tool_calls_step(life.run, id=step_id, now=now))
        i = len(steps) - 1
    step = steps[i]
    details = step.step_details
    assert type(details) is ToolCallsDetails
    kept = tuple(c for c in details.tool_calls if type(c) is not FunctionToolCall)
    step = replace(step, step_details=replace(details, tool_calls=(*kept, *required)))
    return RunLife(run=run, steps=_with(steps, i, step), messages=life.messages)


def _submit(life: RunLife, now: int, *, tool_outputs: Any, usage: Any = None) -> RunLife:
    outputs = tool_outputs
    if isinstance(outputs, Iterable) and not isinstance(outputs, str | bytes | Mapping):
        outputs = list(outputs)  # read once: the run and the step both need them
    _ends(life, now)
    run = _ops.submit_tool_outputs(life.run, outputs, now=now)
    i = _open_tool_step(life)
    if i is None:
        raise InvalidArgument("steps", "no tool_calls step is open to receive the outputs")
    step = attach_tool_outputs(life.steps[i], outputs)
    step = complete_step(step, now=now, usage=usage, require_outputs=True)
    return RunLife(run=run, steps=_with(life.steps, i, step), messages=life.messages)


def _open_message_step(life: RunLife, now: int, *, step_id: str, message_id: str) -> RunLife:
    step = open_message_step(life.run, id=step_id, message_id=message_id, now=now)
    _unique(life, step_id, "step")
    _unique(life, message_id, "message")
    message = open_message(life.run, id=message_id, now=now)
    return attrs.evolve(life, steps=(*life.steps, step), messages=(*life.messages, message))


def _finish_message_step(
    life: RunLife,
    now: int,
    *,
    step_id: str,
    usage: Any = None,
    incomplete_reason: MessageIncompleteReason | None = None,
    text: str | None = None,
) -> RunLife:
    i = _index(life.steps, step_id, "step")
    step = life.steps[i]
    details = step.step_details
    if type(details) is not MessageCreationDetails:
        raise StepTransitionError(
            Op.FINISH_MESSAGE_STEP.value,
            "wrong-step-type",
            f"step {quote_id(step_id)} is not message_creation",
        )
    messages = life.messages
    j = _index(messages, details.message_creation.message_id, "message")
    message = messages[j]
    if text is not None:
        message = write_message_text(message, text)
    if message.status == MESSAGE_IN_PROGRESS:
        if incomplete_reason is None:
            message = complete_message(message, now=now)
        else:
            message = mark_message_incomplete(message, now=now, reason=incomplete_reason)
    step = complete_step(step, now=now, usage=usage)
    return RunLife(
        run=life.run, steps=_with(life.steps, i, step), messages=_with(messages, j, message)
    )


def _update_metadata(life: RunLife, now: int, *, metadata: Any = None) -> RunLife:
    return attrs.evolve(life, run=_ops.update_metadata(life.run, metadata=metadata))


def _run_only(op: Op) -> Callable[..., RunLife]:
    """Apply run operation ``op`` to the run; the steps and messages stay as they are."""
    function = getattr(_ops, op)

    def apply(life: RunLife, now: int, **arguments: Any) -> RunLife:
        return attrs.evolve(life, run=function(life.run, now=now, **arguments))

    return apply


def _run_end(op: Op, effect: RunEndEffect) -> Callable[..., RunLife]:
    """Apply run operation ``op``, which ends the run, then end its open steps and messages."""
    function = getattr(_ops, op)

    def apply(life: RunLife, now: int, **arguments: Any) -> RunLife:
        _ends(life, now)
        return _end_open(life, function(life.run, now=now, **arguments), effect, now)

    return apply


#: The operations whose work on the steps is this module's own (the run operations
#: among them call the run's operation first).
_OWN: Final[Mapping[Op, Callable[..., RunLife]]] = MappingProxyType(
    {
        Op.REQUIRE_ACTION: _require_action,
        Op.SUBMIT_TOOL_OUTPUTS: _submit,
        Op.UPDATE_METADATA: _update_metadata,
        Op.OPEN_MESSAGE_STEP: _open_message_step,
        Op.FINISH_MESSAGE_STEP: _finish_message_step,
        Op.OPEN_TOOL_CALLS_STEP: _open_tool_calls_step,
        Op.COMPLETE_TOOL_CALLS_STEP: _complete_tool_calls_step,
    }
)
#: operation -> how :func:`advance` applies it, ``f(life, now, **arguments)``: its own
#: function; else, for an operation that ends the run, the run operation then the
#: table's run-end effect on the steps; else the run operation alone.
_APPLY: Final[Mapping[Op, Callable[..., RunLife]]] = MappingProxyType(
    {
        op: _OWN[op]
        if op in _OWN
        else _run_end(op, RUN_END_EFFECTS[op])
        if op in RUN_END_EFFECTS
        else _run_only(op)
        for op in Op
    }
)
_INCOMPLETE_REASONS: Final[tuple[str, ...]] = get_args(MessageIncompleteReason)

#: advance's own arguments (the rest go to the run and step operations, which check
#: them as run data): name -> (what it must be, the check). ``None`` is allowed where
#: the operation takes the argument as optional (``require_action``'s ``step_id``,
#: ``text``...).
_OWN_ARGUMENTS: Final[Mapping[str, tuple[str, Callable[[object], bool]]]] = MappingProxyType(
    {
        "step_id": ("a step id (a string)", lambda v: isinstance(v, str)),
        "message_id": ("a message id (a string)", lambda v: isinstance(v, str)),
        "text": ("a string", lambda v: isinstance(v, str)),
        "incomplete_reason": (
            f"one of {', '.join(_INCOMPLETE_REASONS)}",
            lambda v: type(v) is str and v in _INCOMPLETE_REASONS,
        ),
    }
)


def _check_arguments(operation: object, arguments: dict[str, Any]) -> tuple[Op, dict[str, Any]]:
    """Check the operation and its arguments (the operations table says which it takes).

    Returns the operation and its arguments, ids and text as plain ``str``.

    A ``str`` subclass counts as its value (whatever its ``__eq__`` says).
    """
    try:
        row = OPERATIONS[operation]  # type: ignore[index]
    except (KeyError, TypeError):
        raise InvalidArgument.expected(
            "operation", f"one of {', '.join(OPERATIONS)}", operation
        ) from None
    required, allowed = frozenset(row.required), frozenset(row.required + row.optional)
    missing = sorted(required - arguments.keys())
    unknown = sorted(arguments.keys() - allowed)
    if missing or unknown:
        takes = ", ".join(sorted(allowed)) or "no arguments"
        problem = f"missing {missing}" if missing else f"unknown {unknown}"
        raise InvalidArgument("arguments", f"{operation} takes {takes} (besides now); {problem}")
    for name, value in arguments.items():
        if name in _OWN_ARGUMENTS and not (value is None and name in row.optional):
            expected, check = _OWN_ARGUMENTS[name]
            if not check(value):
                raise InvalidArgument.expected(name, expected, value)
            arguments[name] = str.__str__(value)
    return row.name, arguments
