"""The ``thread.run.*`` events a streaming request carries, and their ``text/event-stream`` bytes.

A server that streams calls :func:`stream_events` for each change it makes to a run and
writes :func:`encode_sse` of the result. The events follow the recordings
(spec-facts §1.4, §1.5, §5.2, §11):

* a new run: ``thread.run.created`` then ``thread.run.queued``, both carrying the
  ``queued`` run;
* each status change: ``thread.run.<status>`` carrying the new run;
* the stream ends with ``event: done`` / ``data: [DONE]`` once the run reaches
  ``requires_action`` (the client must submit tool outputs, which opens a new stream) or
  a terminal status.

Data is the run as compact JSON (no spaces, UTF-8, not ASCII-escaped) with the real
API's key order, extras included (``tool_resources`` after ``tools``,
``reasoning_effort`` after ``top_p``): byte for byte what the dotnet recordings carry.

Given a run's steps and messages too (``steps_before``/``steps_after``,
``messages_before``/``messages_after``), :func:`stream_events` also announces theirs, in
the recorded order (spec-facts §11): a new step's ``thread.run.step.created`` and
``.in_progress``, then, for a ``message_creation`` step, its message's
``thread.message.created``, ``.in_progress`` and ``.completed``/``.incomplete``, then the
step's own end (``thread.run.step.completed``...). They come after the run's event when
the run starts (``in_progress``), and **before** it otherwise: a ``tool_calls`` step opens
before ``requires_action``, the step completed on submission opens the submit stream,
and a run's terminal event follows every step's. Deltas (``*.delta``) carry partial
content and are not produced.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from ._errors import InvalidArgument
from ._model import Message, MessageCreationDetails, Run, RunStep, StepStatus
from ._serde import dump_run
from ._status import TERMINAL_STATUSES, RunStatus
from ._steps import STEP_TRANSITIONS, dump_message, dump_step
from ._table import can_transition

__all__ = ["DONE", "encode_sse", "run_json", "stream_events"]

_STEP_CREATED: Final = "thread.run.step.created"
_MESSAGE_EVENTS: Final = {
    "in_progress": "thread.message.in_progress",
    "completed": "thread.message.completed",
    "incomplete": "thread.message.incomplete",
}

#: The last event of every stream (spec ``DoneEvent``; every recording ends with it).
DONE: Final = ("done", "[DONE]")
CREATED: Final = "thread.run.created"

#: Statuses after which the stream ends: the run waits for the client, or is over.
_STREAM_ENDS: Final = TERMINAL_STATUSES | {RunStatus.REQUIRES_ACTION}

#: Extra keys the real API writes inside the run, after the named key (dotnet 2025).
_PLACED_AFTER: Final = {"tools": "tool_resources", "top_p": "reasoning_effort"}


def run_json(run: Run) -> str:
    """The run as the real API writes it in a stream's ``data:`` line.

    Compact JSON, non-ASCII kept as UTF-8 text, keys in the real API's order with the
    extras it sends in their recorded places.

    Example:
        >>> from runstate import new_run
        >>> run = new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1,
        ...               extra={"tool_resources": {}})
        >>> text = run_json(run)
        >>> text[:40]
        '{"id":"run_1","object":"thread.run","cre'
        >>> text.index('"tool_resources"') > text.index('"tools"')
        True
    """
    data = dump_run(run)
    if any(key in data for key in _PLACED_AFTER.values()):
        ordered: dict[str, Any] = {}
        moved = {key: data.pop(key) for key in _PLACED_AFTER.values() if key in data}
        for key, value in data.items():
            ordered[key] = value
            extra = _PLACED_AFTER.get(key)
            if extra is not None and extra in moved:
                ordered[extra] = moved.pop(extra)
        ordered.update(moved)  # an anchor the run lacks: keep the extra at the end
        data = ordered
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def stream_events(
    before: Run | None,
    after: Run,
    *,
    steps_before: Sequence[RunStep] = (),
    steps_after: Sequence[RunStep] | None = None,
    messages_before: Sequence[Message] = (),
    messages_after: Sequence[Message] | None = None,
) -> list[tuple[str, str]]:
    """The ``(event, data)`` pairs a stream carries for one change of a run.

    Args:
        before: The run before the change, or ``None`` when ``after`` was just created.
        after: The run after the change.
        steps_before: The run's steps before the change (in creation order).
        steps_after: The run's steps after it; ``None`` (the default) announces the run
            alone, as before steps were modelled.
        messages_before: The messages the run's steps write, before the change.
        messages_after: Those messages after it; ``None`` announces none.

    Returns:
        ``[("thread.run.created", ...), ("thread.run.queued", ...)]`` for a new run; one
        ``("thread.run.<status>", ...)`` for a status change; nothing when the status did
        not change (a metadata edit is not announced). ``("done", "[DONE]")`` follows when
        ``after`` is ``requires_action`` or terminal. The pairs are what
        :func:`runstate.parse_sse` reads back from :func:`encode_sse` of them.

    Raises:
        InvalidArgument: when ``after`` is not a ``Run``; a new run that is not
            ``queued``; a change between two different runs (or one that changes the
            run's ``thread_id``, ``assistant_id`` or ``created_at``); or a status change that is
            not one move of the table (a stream announces every status, so a server must
            report each move: spec-facts §1.5, the checker's ``status-skipped``). With
            steps: a step or message of another run, one that disappears, a new one that
            is not ``in_progress``, or a status change the step table does not allow.

    Example:
        >>> from runstate import new_run, start
        >>> run = new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
        >>> [event for event, _ in stream_events(None, run)]
        ['thread.run.created', 'thread.run.queued']
        >>> [event for event, _ in stream_events(run, start(run, now=2))]
        ['thread.run.in_progress']

        With the run's steps and messages, a run that ends closes them first:

        >>> from runstate import advance
        >>> life = advance(start(run, now=2), (), "open_message_step", now=3,
        ...                step_id="step_1", message_id="msg_1")
        >>> end = advance(life.run, life.steps, "complete", now=4, messages=life.messages)
        >>> [event for event, _ in stream_events(life.run, end.run,
        ...     steps_before=life.steps, steps_after=end.steps,
        ...     messages_before=life.messages, messages_after=end.messages)]
        ['thread.message.completed', 'thread.run.step.completed', 'thread.run.completed', 'done']
    """
    events = _run_events(before, after)
    if steps_after is None and messages_after is None:
        return events
    objects = _object_events(
        after, steps_before, steps_after or (), messages_before, messages_after or ()
    )
    if not objects:
        return events
    done = [DONE] if events and events[-1] == DONE else []
    run_events = events[: len(events) - len(done)]
    # The run starts before its steps open; every other move is announced after the
    # steps' and messages' own: a tool_calls step opens before requires_action, the step
    # completed on submission before queued, and every end before the run's end.
    closing = after.status is not RunStatus.IN_PROGRESS
    if closing:
        return objects + run_events + done
    return run_events + objects + done


def _compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _by_id(items: Sequence[Any], cls: type, name: str, run: Run) -> dict[str, Any]:
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
        raise InvalidArgument.expected(name, f"a sequence of {cls.__name__}", items)
    found: dict[str, Any] = {}
    for entry in items:
        if type(entry) is not cls:
            raise InvalidArgument.expected(name, f"{cls.__name__} values", entry)
        item: Any = entry
        if item.run_id != run.id:
            raise InvalidArgument(
                name, f"{item.id!r} belongs to run {item.run_id!r}, not {run.id!r}"
            )
        if item.thread_id != run.thread_id:
            raise InvalidArgument(
                name, f"{item.id!r} is on thread {item.thread_id!r}, not {run.thread_id!r}"
            )
        found[item.id] = item
    return found


def _message_events(old: Message | None, new: Message) -> list[tuple[str, str]]:
    if old is None:
        if new.status != "in_progress":
            raise InvalidArgument(
                "messages_after", f"new message {new.id!r} is {new.status!r}, not 'in_progress'"
            )
        data = _compact(dump_message(new))
        return [("thread.message.created", data), (_MESSAGE_EVENTS["in_progress"], data)]
    if old.status == new.status:
        return []
    if old.status != "in_progress":
        raise InvalidArgument(
            "messages_after", f"message {new.id!r} cannot go from {old.status!r} to {new.status!r}"
        )
    return [(_MESSAGE_EVENTS[new.status], _compact(dump_message(new)))]


def _step_events(old: RunStep | None, new: RunStep) -> tuple[list[tuple[str, str]], bool]:
    """The step's opening events, its end event, and whether it just ended."""
    if old is None:
        if new.status is not StepStatus.IN_PROGRESS:
            raise InvalidArgument(
                "steps_after",
                f"new step {new.id!r} is {new.status.value!r}, not 'in_progress';"
                " announce each step change",
            )
        data = _compact(dump_step(new))
        return [(_STEP_CREATED, data), (new.status.event, data)], False
    if old.status is new.status:
        return [], False
    if new.status not in STEP_TRANSITIONS[old.status]:
        raise InvalidArgument(
            "steps_after",
            f"step {new.id!r} cannot go from {old.status.value!r} to {new.status.value!r}",
        )
    return [(new.status.event, _compact(dump_step(new)))], True


def _object_events(
    run: Run,
    steps_before: Sequence[RunStep],
    steps_after: Sequence[RunStep],
    messages_before: Sequence[Message],
    messages_after: Sequence[Message],
) -> list[tuple[str, str]]:
    """Step and message events of one change, in the recorded order (spec-facts §11)."""
    old_steps = _by_id(steps_before, RunStep, "steps_before", run)
    new_steps = _by_id(steps_after, RunStep, "steps_after", run)
    old_messages = _by_id(messages_before, Message, "messages_before", run)
    new_messages = _by_id(messages_after, Message, "messages_after", run)
    for old, new, name in (
        (old_steps, new_steps, "steps"),
        (old_messages, new_messages, "messages"),
    ):
        gone = sorted(old.keys() - new.keys())
        if gone:
            raise InvalidArgument(f"{name}_after", f"{gone} disappeared")
    events: list[tuple[str, str]] = []
    placed: set[str] = set()
    for step in new_steps.values():
        opening, ended = _step_events(old_steps.get(step.id), step)
        if not ended:
            events.extend(opening)
        details = step.step_details
        if type(details) is MessageCreationDetails:
            message = new_messages.get(details.message_creation.message_id)
            if message is not None:
                placed.add(message.id)
                events.extend(_message_events(old_messages.get(message.id), message))
        if ended:
            events.extend(opening)
    for message in new_messages.values():
        if message.id not in placed:
            events.extend(_message_events(old_messages.get(message.id), message))
    return events


def _run_events(before: Run | None, after: Run) -> list[tuple[str, str]]:
    if type(after) is not Run:
        raise InvalidArgument.expected("after", "a runstate.Run", after)
    if before is None:
        if after.status is not RunStatus.QUEUED:
            raise InvalidArgument(
                "after", f"a new run is queued, got status {after.status.value!r}"
            )
        data = run_json(after)
        return [(CREATED, data), (after.status.event, data)]
    if type(before) is not Run:
        raise InvalidArgument.expected("before", "a runstate.Run or None", before)
    if before.id != after.id:
        raise InvalidArgument("after", f"run {after.id!r} is not run {before.id!r}")
    for key in ("thread_id", "assistant_id", "created_at"):  # fixed for a run's life
        if getattr(before, key) != getattr(after, key):
            raise InvalidArgument(
                "after",
                f"run {after.id!r} changed its {key} from {getattr(before, key)!r}"
                f" to {getattr(after, key)!r}",
            )
    if before.status is after.status:
        return []
    if not can_transition(before.status, after.status):
        raise InvalidArgument(
            "after",
            f"no single move from {before.status.value!r} to {after.status.value!r}; "
            "announce each status change",
        )
    events = [(after.status.event, run_json(after))]
    if after.status in _STREAM_ENDS:
        events.append(DONE)
    return events


def encode_sse(events: Iterable[tuple[str, str | Mapping[str, Any]]]) -> bytes:
    r"""Write ``(event, data)`` pairs as ``text/event-stream`` bytes, as the API frames them.

    Each event is ``event: <name>\n``, then ``data: <line>\n`` per line of its data,
    then a blank line (the recordings' framing; ``done`` included). A mapping as data is
    written as compact JSON.

    Raises:
        InvalidArgument: for an event name holding a line break or an item that is not a
            pair of a name and text or a mapping.

    Example:
        >>> encode_sse([("done", "[DONE]")])
        b'event: done\ndata: [DONE]\n\n'
    """
    if isinstance(events, str | bytes | Mapping) or not isinstance(events, Iterable):
        raise InvalidArgument.expected("events", "an iterable of (event, data) pairs", events)
    parts: list[str] = []
    for item in events:
        if not (isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str)):
            raise InvalidArgument.expected("events", "(event, data) pairs", item)
        name, data = item
        if "\n" in name or "\r" in name:
            raise InvalidArgument.expected("event name", "a single line", name)
        if isinstance(data, Mapping):
            try:
                text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError, RecursionError):
                raise InvalidArgument.expected("data", "a JSON object", data) from None
        elif isinstance(data, str):
            text = str.__str__(data)
        else:
            raise InvalidArgument.expected("data", "text or a mapping", data)
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        parts.append(f"event: {name}\n" + "".join(f"data: {line}\n" for line in lines) + "\n")
    # A lone surrogate (JSON text may carry "\ud800", and the API echoes it) has no UTF-8
    # form: it is written as the JSON escape it came as, which reads back the same.
    return "".join(parts).encode("utf-8", "backslashreplace")
