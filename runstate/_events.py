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
and a run's terminal event follows every step's.

What a change adds to a step or a message is announced as a delta, as the API streams
it (the official SDK's ``AssistantEventHandler`` learns of tool calls and text only from
these: ``on_tool_call_created``, ``on_text_delta``...):

* tool calls added to a ``tool_calls`` step: a ``thread.run.step.delta`` right after the
  step's opening events (or first, for a step already open), so before the step's end
  and before the run's next event (``requires_action``: dotnet StreamingToolCall.1);
* content added to a message (a text part, or text appended to one, as
  :func:`runstate.steps.write_message_text` writes it): a ``thread.message.delta``
  before the message's ``completed`` / ``incomplete`` (every recording).

A step or message that opens with calls or content already in it is announced as the
API opens them, empty (``"tool_calls": []``, ``"content": []``), followed by the delta
that adds them: the SDK adds each delta to the object its ``created`` event carried, so
carrying them twice would write them twice. One change gives at most one delta per
step or message (the API sends a token at a time). Other changes (outputs attached to a
call, calls replaced, content rewritten) have no delta: the object's next event carries
them.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from ._engine.jsonio import dumps
from ._errors import APIError, InvalidArgument
from ._model import (
    MESSAGE_IN_PROGRESS,
    MESSAGE_STATUSES,
    TOOL_CALLS,
    Message,
    MessageCreationDetails,
    Run,
    RunStep,
    StepStatus,
)
from ._operations import STREAM_END_STATUSES
from ._serde import dump_run
from ._status import RunStatus
from ._step_table import STEP_TRANSITIONS, dump_message, dump_step, quote_id
from ._steps import RunLife
from ._table import can_transition

__all__ = ["DONE", "encode_sse", "run_json", "stream_events"]

_STEP_CREATED: Final = "thread.run.step.created"
_STEP_DELTA: Final = "thread.run.step.delta"
_MESSAGE_DELTA: Final = "thread.message.delta"
_MESSAGE_EVENTS: Final = {s: f"thread.message.{s}" for s in MESSAGE_STATUSES}

#: The last event of every stream (spec ``DoneEvent``; every recording ends with it).
DONE: Final = ("done", "[DONE]")
CREATED: Final = "thread.run.created"


#: Extra keys the real API writes inside the run, after the named key (dotnet 2025).
_PLACED_AFTER: Final = {"tools": "tool_resources", "top_p": "reasoning_effort"}


def run_json(run: Run) -> str:
    r"""The run as the real API writes it in a stream's ``data:`` line.

    Compact JSON, non-ASCII kept as UTF-8 text, keys in the real API's order with the
    extras it sends in their recorded places. A lone surrogate (JSON text may carry
    ``"\ud800"``, and :func:`runstate.parse_run` keeps it) is written as that
    ``\uXXXX`` escape, so ``.encode("utf-8")`` always works and parsing the text gives
    the same run back. One limit: a ``str`` holding a surrogate *pair* as two code points
    (possible only in a run built from a mapping) comes back as the one character JSON
    text makes of the pair.

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
    return dumps(data)


def error_json(error: APIError) -> str:
    r"""An API refusal's wire body (:meth:`~runstate.APIError.to_api_error`) as JSON text.

    Compact, and like :func:`run_json` never holding a raw lone surrogate, so the
    answer always encodes as UTF-8 (send it with ``error.http_status``).

    Raises:
        InvalidArgument: for ``error`` that is not an :class:`~runstate.APIError`.

    Example:
        >>> from runstate import InvalidRequest
        >>> print(error_json(InvalidRequest("Invalid value: 'run_\ud800'."))[:50])
        {"error":{"message":"Invalid value: 'run_\ud800'."
    """
    if not isinstance(error, APIError):
        raise InvalidArgument.expected("error", "an APIError", error)
    return dumps(error.to_api_error())


def stream_events(
    before: RunLife | Run | None,
    after: RunLife | Run,
    *,
    deltas: bool = True,
    steps_before: Sequence[RunStep] | None = None,
    steps_after: Sequence[RunStep] | None = None,
    messages_before: Sequence[Message] | None = None,
    messages_after: Sequence[Message] | None = None,
) -> list[tuple[str, str]]:
    """The ``(event, data)`` pairs a stream carries for one change of a run.

    Give what :func:`~runstate.advance` returns (a :class:`~runstate.steps.RunLife`: the
    run with its steps and messages) to announce the steps and messages too, or runs
    alone to announce the run alone.

    Args:
        before: The run's life before the change, or ``None`` when ``after`` was just
            created. A :class:`~runstate.Run` when ``after`` is one.
        after: The run's life after the change: a ``RunLife``, or a ``Run`` (the run
            alone, as before steps were modelled).
        deltas: With steps or messages, announce the tool calls and content the change
            added as ``thread.run.step.delta`` / ``thread.message.delta`` events (see
            the module's description). ``False`` leaves them out, and a step or message
            opened with calls or content then carries them in its ``created`` event, as
            before deltas were produced.
        steps_before: Deprecated: pass ``RunLife`` values instead. With runs, the
            run's steps before the change; ``steps_after``, ``messages_before`` and
            ``messages_after`` likewise (``steps_after`` and ``messages_after`` both
            left out announce the run alone). Emits a ``DeprecationWarning``.
        steps_after: Deprecated, as ``steps_before``.
        messages_before: Deprecated, as ``steps_before``.
        messages_after: Deprecated, as ``steps_before``.

    Returns:
        ``[("thread.run.created", ...), ("thread.run.queued", ...)]`` for a new run; one
        ``("thread.run.<status>", ...)`` for a status change; nothing when the status did
        not change (a metadata edit is not announced). ``("done", "[DONE]")`` follows when
        a stream stops at ``after``'s status (``requires_action`` or terminal: the
        operations table's ``ends_stream``). With steps and messages, their events and
        deltas come before the run's (after it, when the run starts). The pairs are
        what :func:`runstate.parse_sse` reads back from :func:`encode_sse` of them.

    Raises:
        InvalidArgument: when ``after`` is not a ``Run`` or a ``RunLife``, or ``before``
            is not ``None`` or of the same kind; a new run that is not ``queued``; a
            change between two different runs (or one that changes the run's
            ``thread_id``, ``assistant_id`` or ``created_at``); or a status change that
            is not one move of the table (a stream announces every status, so a server
            must report each move: spec-facts §1.5, the checker's ``status-skipped``).
            With steps (naming ``after.steps``, ``before.messages``...): a step or
            message of another run, one that disappears, a new one that is not
            ``in_progress``, or a status change the step table does not allow; a
            ``deltas`` that is not a ``bool``; the deprecated keywords with ``RunLife``
            values.

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
        >>> [event for event, _ in stream_events(life, end)]
        ['thread.message.completed', 'thread.run.step.completed', 'thread.run.completed', 'done']

        Text written into the message is announced as a delta before the message ends:

        >>> done = advance(life.run, life.steps, "finish_message_step", now=4,
        ...                messages=life.messages, step_id="step_1", text="Hi!")
        >>> events = stream_events(life, done)
        >>> [event for event, _ in events]
        ['thread.message.delta', 'thread.message.completed', 'thread.run.step.completed']
        >>> events[0][1]
        '{"id":"msg_1","object":"thread.message.delta","delta":{"content":[{"index":0,"type":"text","text":{"value":"Hi!","annotations":[]}}]}}'
    """
    if type(deltas) is not bool:
        raise InvalidArgument.expected("deltas", "True or False", deltas)
    old = (steps_before, steps_after, messages_before, messages_after)
    if any(given is not None for given in old):
        return _old_form(before, after, deltas, *old)
    if isinstance(after, RunLife):
        if before is None:
            return _events(None, after.run, RunLife(run=after.run), after, deltas)
        if not isinstance(before, RunLife):
            raise InvalidArgument.expected("before", "a RunLife like after, or None", before)
        return _events(before.run, after.run, before, after, deltas)
    if isinstance(before, RunLife):
        raise InvalidArgument.expected("after", "a RunLife like before", after)
    return _run_events(before, after)


#: The names :func:`stream_events` gives its steps and messages in a refusal.
_NEW_NAMES: Final = ("before.steps", "after.steps", "before.messages", "after.messages")
_OLD_NAMES: Final = ("steps_before", "steps_after", "messages_before", "messages_after")


def _old_form(
    before: Any,
    after: Any,
    deltas: bool,
    steps_before: Sequence[RunStep] | None,
    steps_after: Sequence[RunStep] | None,
    messages_before: Sequence[Message] | None,
    messages_after: Sequence[Message] | None,
) -> list[tuple[str, str]]:
    """``stream_events(run, run, steps_before=..., ...)``: the deprecated form."""
    warnings.warn(
        "stream_events(before, after, steps_before=..., steps_after=..., messages_before=...,"
        " messages_after=...) is deprecated: pass the RunLife values runstate.advance returns",
        DeprecationWarning,
        stacklevel=3,
    )
    if type(after) is RunLife or type(before) is RunLife:
        raise InvalidArgument(
            "steps_before", "the steps and messages come with RunLife values: drop these keywords"
        )
    if steps_after is None and messages_after is None:
        return _run_events(before, after)
    # Unchecked on purpose: _object_events checks the sequences, naming the keyword.
    old = RunLife(run=before, steps=_given(steps_before), messages=_given(messages_before))
    new = RunLife(run=after, steps=_given(steps_after), messages=_given(messages_after))
    return _events(before, after, old, new, deltas, _OLD_NAMES)


def _given(items: Any) -> Any:
    return () if items is None else items


def _events(
    before: Run | None,
    after: Run,
    old: RunLife,
    new: RunLife,
    deltas: bool,
    names: tuple[str, str, str, str] = _NEW_NAMES,
) -> list[tuple[str, str]]:
    """The run's events of the change, with its steps' and messages' in their place."""
    events = _run_events(before, after)
    objects = _object_events(after, old, new, deltas, names)
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
    return dumps(data)


def _shown(value: object) -> str:
    """A run field as a message shows it: an id bounded (``quote_id``), anything else as is."""
    return quote_id(value) if isinstance(value, str) else repr(value)


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
                name,
                f"{quote_id(item.id)} belongs to run {quote_id(item.run_id)},"
                f" not {quote_id(run.id)}",
            )
        if item.thread_id != run.thread_id:
            raise InvalidArgument(
                name,
                f"{quote_id(item.id)} is on thread {quote_id(item.thread_id)},"
                f" not {quote_id(run.thread_id)}",
            )
        if item.assistant_id is not None and item.assistant_id != run.assistant_id:
            raise InvalidArgument(
                name,
                f"{quote_id(item.id)} is by assistant {quote_id(item.assistant_id)},"
                f" not {quote_id(run.assistant_id)}",
            )
        found[item.id] = item
    return found


def _array(value: object) -> list[Mapping[str, Any]] | None:
    """``value`` if it is an array of JSON objects (content parts, tool calls), else None."""
    if isinstance(value, list) and all(isinstance(item, Mapping) for item in value):
        return value
    return None


def _added(
    old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The delta entries (``index`` first) of the items ``new`` adds after ``old``'s."""
    if len(new) <= len(old) or new[: len(old)] != old:
        return []
    return [{"index": i, **new[i]} for i in range(len(old), len(new))]


def _new_part(index: int, part: Mapping[str, Any]) -> dict[str, Any]:
    """The delta entry of a content part added whole.

    Its ``index`` first, and an index on each of a text part's annotations (the API's
    deltas carry both).
    """
    entry: dict[str, Any] = {"index": index, **part}
    text = part.get("text")
    notes = _array(text.get("annotations")) if isinstance(text, Mapping) else None
    if notes and isinstance(text, Mapping):
        indexed = [{"index": i, **note} for i, note in enumerate(notes)]
        entry["text"] = {**text, "annotations": indexed}
    return entry


def _grown_text(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``text`` of a delta that extends text part ``old`` into ``new``, if it does.

    The value may only grow at its end and the annotations only be added to (each with
    its ``index``, as the API's deltas carry them); nothing else may differ.
    """
    old_text, new_text = old.get("text"), new.get("text")
    if not (
        old.get("type") == new.get("type") == "text"
        and isinstance(old_text, Mapping)
        and isinstance(new_text, Mapping)
        and {k: v for k, v in old.items() if k != "text"}
        == {k: v for k, v in new.items() if k != "text"}
    ):
        return None
    rest = ("value", "annotations")
    if {k: v for k, v in old_text.items() if k not in rest} != {
        k: v for k, v in new_text.items() if k not in rest
    }:
        return None
    value, grown = old_text.get("value"), new_text.get("value")
    if not (isinstance(value, str) and isinstance(grown, str) and grown.startswith(value)):
        return None
    notes = _array(old_text.get("annotations", []))
    more = _array(new_text.get("annotations", []))
    if notes is None or more is None or more[: len(notes)] != notes:
        return None
    text: dict[str, Any] = {}
    if len(grown) > len(value):
        text["value"] = grown[len(value) :]
    added = [{"index": len(notes) + i, **a} for i, a in enumerate(more[len(notes) :])]
    if added:
        text["annotations"] = added
    return text


def _content_added(
    old: list[Mapping[str, Any]], new: list[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The delta entries of the content ``new`` adds to ``old``.

    New parts, and text appended to existing ones; none when the change is not only
    additions.
    """
    if len(new) < len(old):
        return []
    entries: list[dict[str, Any]] = []
    for i, part in enumerate(old):
        if new[i] == part:
            continue
        text = _grown_text(part, new[i])
        if text is None:
            return []
        entries.append({"index": i, "type": "text", "text": text})
    return entries + [_new_part(i, new[i]) for i in range(len(old), len(new))]


def _message_delta(id: str, entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    if not entries:
        return []
    data = {"id": id, "object": "thread.message.delta", "delta": {"content": entries}}
    return [(_MESSAGE_DELTA, _compact(data))]


def _step_delta(id: str, entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    if not entries:
        return []
    details = {"type": TOOL_CALLS, "tool_calls": entries}
    data = {"id": id, "object": "thread.run.step.delta", "delta": {"step_details": details}}
    return [(_STEP_DELTA, _compact(data))]


def _message_events(
    old: Message | None, new: Message, deltas: bool, name: str
) -> list[tuple[str, str]]:
    """The message's opening events, the delta of the content added, its end event."""
    if old is None:
        if new.status != MESSAGE_IN_PROGRESS:
            raise InvalidArgument(
                name,
                f"new message {quote_id(new.id)} is {new.status!r}, not 'in_progress'",
            )
        data = dump_message(new)
        content = _array(data.get("content")) if deltas else None
        added = _message_delta(new.id, _content_added([], content)) if content else []
        if added:  # opened empty, as the API opens it; the delta brings the content
            data["content"] = []
        text = _compact(data)
        return [
            ("thread.message.created", text),
            (_MESSAGE_EVENTS[MESSAGE_IN_PROGRESS], text),
            *added,
        ]
    delta: list[tuple[str, str]] = []
    if deltas and old.extra.get("content") != new.extra.get("content"):
        was, now = _array(old.extra.get("content", [])), _array(new.extra.get("content", []))
        if was is not None and now is not None:
            delta = _message_delta(new.id, _content_added(was, now))
    if old.status == new.status:
        return delta
    if old.status != MESSAGE_IN_PROGRESS:
        raise InvalidArgument(
            name,
            f"message {quote_id(new.id)} cannot go from {old.status!r} to {new.status!r}",
        )
    return [*delta, (_MESSAGE_EVENTS[new.status], _compact(dump_message(new)))]


def _calls(step: RunStep) -> list[dict[str, Any]]:
    """A ``tool_calls`` step's calls as JSON (none for a ``message_creation`` step)."""
    details = dump_step(step)["step_details"]
    return details["tool_calls"] if details["type"] == TOOL_CALLS else []


def _step_events(
    old: RunStep | None, new: RunStep, deltas: bool, name: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The step's events before its message's, and its end event.

    Before: its opening events (a new step) and the delta of the calls it gained.
    """
    if old is None:
        if new.status is not StepStatus.IN_PROGRESS:
            raise InvalidArgument(
                name,
                f"new step {quote_id(new.id)} is {new.status.value!r}, not 'in_progress';"
                " announce each step change",
            )
        data = dump_step(new)
        details = data["step_details"]
        calls = details["tool_calls"] if deltas and details["type"] == TOOL_CALLS else []
        delta = _step_delta(new.id, _added([], calls))
        if delta:  # opened empty, as the API opens it; the delta brings the calls
            data["step_details"] = {**details, "tool_calls": []}
        text = _compact(data)
        return [(_STEP_CREATED, text), (new.status.event, text), *delta], []
    delta = []
    if deltas and new.type == TOOL_CALLS and old.step_details != new.step_details:
        delta = _step_delta(new.id, _added(_calls(old), _calls(new)))
    if old.status is new.status:
        return delta, []
    if new.status not in STEP_TRANSITIONS[old.status]:
        raise InvalidArgument(
            name,
            f"step {quote_id(new.id)} cannot go from {old.status.value!r} to {new.status.value!r}",
        )
    return delta, [(new.status.event, _compact(dump_step(new)))]


def _object_events(
    run: Run,
    before: RunLife,
    after: RunLife,
    deltas: bool,
    names: tuple[str, str, str, str],
) -> list[tuple[str, str]]:
    """Step and message events of one change, in the recorded order (spec-facts §11).

    ``names`` are what a refusal calls the steps before, the steps after, the messages
    before and the messages after.
    """
    old_steps = _by_id(before.steps, RunStep, names[0], run)
    new_steps = _by_id(after.steps, RunStep, names[1], run)
    old_messages = _by_id(before.messages, Message, names[2], run)
    new_messages = _by_id(after.messages, Message, names[3], run)
    for old, new, name in (
        (old_steps, new_steps, names[1]),
        (old_messages, new_messages, names[3]),
    ):
        gone = sorted(old.keys() - new.keys())
        if gone:
            raise InvalidArgument(name, f"{gone} disappeared")
    events: list[tuple[str, str]] = []
    placed: set[str] = set()
    for step in new_steps.values():
        head, end = _step_events(old_steps.get(step.id), step, deltas, names[1])
        events.extend(head)
        details = step.step_details
        if type(details) is MessageCreationDetails:
            message = new_messages.get(details.message_creation.message_id)
            if message is not None:
                placed.add(message.id)
                events.extend(
                    _message_events(old_messages.get(message.id), message, deltas, names[3])
                )
        events.extend(end)
    for message in new_messages.values():
        if message.id not in placed:
            events.extend(_message_events(old_messages.get(message.id), message, deltas, names[3]))
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
        raise InvalidArgument("after", f"run {quote_id(after.id)} is not run {quote_id(before.id)}")
    for key in ("thread_id", "assistant_id", "created_at"):  # fixed for a run's life
        if getattr(before, key) != getattr(after, key):
            raise InvalidArgument(
                "after",
                f"run {quote_id(after.id)} changed its {key} from {_shown(getattr(before, key))}"
                f" to {_shown(getattr(after, key))}",
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
    if after.status in STREAM_END_STATUSES:
        events.append(DONE)
    return events


#: A lone surrogate: text with no UTF-8 form.
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def encode_sse(events: Iterable[tuple[str, str | Mapping[str, Any]]]) -> bytes:
    r"""Write ``(event, data)`` pairs as ``text/event-stream`` bytes, as the API frames them.

    Each event is ``event: <name>\n``, then ``data: <line>\n`` per line of its data,
    then a blank line (the recordings' framing; ``done`` included). A mapping as data is
    written as compact JSON.

    What is written reads back the same through :func:`~runstate.parse_sse`: the pairs,
    in order, name for name and data for data. What the format cannot carry is refused
    rather than changed (WHATWG server-sent events: a line ends at ``\r\n``, ``\r`` or
    ``\n``, and an empty ``event`` field means ``message``):

    * an empty event name, or one holding a line break;
    * text data holding ``\r``: ``\n`` separates data lines, but a carriage return
      would read back as ``\n`` (a mapping's JSON escapes it, so mapping data may hold
      any text).

    A lone surrogate (JSON text may carry ``"\ud800"``, and the API echoes it) has no
    UTF-8 form: it is written as its JSON escape, which JSON data reads back as the same
    value; it is refused in an event name.

    Raises:
        InvalidArgument: for an item that is not a pair of a name and text or a mapping,
            an event name that is empty or holds a line break or a lone surrogate, or
            text data holding ``\r``.

    Example:
        >>> encode_sse([("done", "[DONE]")])
        b'event: done\ndata: [DONE]\n\n'
        >>> from runstate import parse_sse
        >>> list(parse_sse(encode_sse([("x", "two\nlines"), ("y", {"k": "a\rb"})])))
        [('x', 'two\nlines'), ('y', '{"k":"a\\rb"}')]
    """
    if isinstance(events, str | bytes | Mapping) or not isinstance(events, Iterable):
        raise InvalidArgument.expected("events", "an iterable of (event, data) pairs", events)
    parts: list[str] = []
    for item in events:
        if not (isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str)):
            raise InvalidArgument.expected("events", "(event, data) pairs", item)
        name, data = str.__str__(item[0]), item[1]
        if not name or "\n" in name or "\r" in name or _SURROGATE.search(name):
            raise InvalidArgument.expected(
                "event name", "a non-empty single line of text (no lone surrogate)", name
            )
        if isinstance(data, Mapping):
            try:
                text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError, RecursionError):
                raise InvalidArgument.expected("data", "a JSON object", data) from None
        elif isinstance(data, str):
            text = str.__str__(data)
            if "\r" in text:
                raise InvalidArgument.expected(
                    "data", "text without a carriage return (it reads back as \\n)", data
                )
        else:
            raise InvalidArgument.expected("data", "text or a mapping", data)
        lines = text.split("\n")
        parts.append(f"event: {name}\n" + "".join(f"data: {line}\n" for line in lines) + "\n")
    return "".join(parts).encode("utf-8", "backslashreplace")
