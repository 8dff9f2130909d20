"""A response's events: making them, replaying them, and checking recorded traces.

:func:`stream_events` gives the ``response.*`` events one change of a response makes
(spec-facts §12.4), :func:`replay` what ``GET /responses/{id}?stream=true&starting_after=N``
answers, and :func:`check_trace` judges a polled sequence or a stream against the table,
with the run's trace engine (:class:`runstate.TraceReport`, the same bounded collection).

Rules (stable names; severity in brackets):

Both modes
    ``invalid-item`` [error]: not a response, a JSON object, JSON text or an
    ``(event, data)`` pair. ``invalid-response`` [error]: a snapshot
    :func:`~runstate.responses.parse_response` refuses. ``field-changed`` [error]:
    ``id``, ``created_at``, ``background`` or ``store`` changed. ``after-terminal``
    [error]: ``status``, ``output``, ``error``, ``incomplete_details``, ``usage`` or
    ``completed_at`` changed after a terminal status. ``output-rewritten`` [error]: the
    output of a response in flight is not continued by the next snapshot (an item
    dropped or changed after it was closed, a text that does not start with the text
    before; a cancel, which empties it, excepted). Plus each snapshot's
    :func:`~runstate.responses.violations`, under their own rule names.
Poll mode
    ``status-unreachable`` [error]: the new status cannot follow the previous one.
Stream mode
    ``invalid-event`` [error]: no string ``type`` or no integer ``sequence_number``.
    ``event-type-mismatch`` [error]: an SSE ``event:`` name other than the data's ``type``.
    ``sequence-gap`` [error]: a ``sequence_number`` that is not the previous one plus 1.
    ``created-first`` [error]: a stream starting at 0 whose first event is not
    ``response.created`` (a lone ``error`` event is a whole stream: §12.4).
    ``created-status`` [error]: ``response.created`` carries ``queued`` for a background
    response, ``in_progress`` otherwise. ``queued-misplaced`` [error]:
    ``response.queued`` anywhere but right after a background ``response.created``.
    ``event-status-mismatch`` [error]: ``response.<status>`` carrying another status
    (``response.failed`` may carry ``cancelled``: AZ). ``status-illegal`` [error]: a
    status change that is not one edge of ``TABLE``. ``item-not-open``,
    ``part-not-open``, ``item-reopened``, ``part-reopened``, ``part-open-at-item-done``,
    ``item-open-at-end`` [error]: the output item, content part and delta events do not
    nest (a cancel may leave items open: it cuts the stream short). ``text-mismatch``
    [error]: an ``output_text.done`` or ``content_part.done`` whose text is not the
    part's deltas joined (a delta lost or repeated; parts opened in this stream only).
    ``after-terminal-event`` [error]: an event after the terminal one (once).
    ``done-sentinel`` [error]: a ``done`` event or ``[DONE]`` data (Responses streams
    have none: §12.4). ``no-such-event`` [error]: ``response.cancelled`` (no status event
    announces ``cancelled``: a cancelled stream ends with ``response.failed``, §12.4).
    ``unexpected-error-event`` [warning]: an ``error`` event after the response exists.
    ``truncated-stream`` [warning]: no terminal event at the end.

A stream whose first ``sequence_number`` is above 0 is a resumed replay: the rules about
its start do not apply, and items opened before it began count as open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from .._engine.errors import InvalidArgument, InvalidRun
from .._engine.jsonio import loads
from .._engine.jsonvalue import thaw as _thaw
from .._engine.trace import (
    DEFAULT_MAX_PROBLEMS,
    Mode,
    TraceProblem,
    TraceReport,
    changed_fields,
    checked_mode,
    collect,
    settled_fields,
    show,
)
from ._machine import violations
from ._model import TERMINAL, Response, ResponseStatus
from ._output import continuation_problem
from ._runs import response_event
from ._table import INITIAL, P, X, can_reach, can_transition
from ._wire import dump_response, parse_response

__all__ = ["ResponseTraceChecker", "check_trace", "replay", "stream_events"]


#: Each status event and the statuses it may carry, from ``response_event`` (the one
#: statement of which event announces which status); ``response.created`` carries the
#: initial status, judged by its own rule.
_STATUS_EVENTS: Final[dict[str, frozenset[ResponseStatus] | None]] = {
    "response.created": None,
    **{
        event: frozenset(s for s in ResponseStatus if response_event(s) == event)
        for event in map(response_event, ResponseStatus)
    },
}
_TERMINAL_EVENTS: Final = frozenset(map(response_event, TERMINAL))
#: Names shaped like a status's event that no status announces: ``response.cancelled``
#: (there is none, SDK; a cancelled stream ends with ``response.failed``, §12.4).
_NO_SUCH_EVENTS: Final = frozenset(f"response.{s.value}" for s in ResponseStatus) - set(
    _STATUS_EVENTS
)


def _item_events(index: int, old: object, item: object, *, close: bool) -> list[dict[str, Any]]:
    """The events that stream output item ``index`` from ``old`` to ``item``.

    ``old`` is what was sent of it (``None``: nothing), and is not sent again; ``close``
    adds the done events (OBS StreamingResponses, FunctionCall...).
    """
    item = _thaw(item)
    parts = item.get("content") if isinstance(item, dict) else None
    if not isinstance(item, dict) or (
        item.get("type") == "message"
        and not (isinstance(parts, list) and all(isinstance(p, dict) for p in parts))
    ):
        raise InvalidArgument(
            f"output[{index}]",
            "an output item must be an object (a message's content a list of objects)",
        )
    was: dict[str, Any] = _thaw(old) if isinstance(old, Mapping) else {}
    kind = item.get("type")
    where = {"item_id": item.get("id"), "output_index": index}
    events: list[dict[str, Any]] = []
    if old is None:
        opened = dict(item)
        if "status" in opened:
            opened["status"] = "in_progress"
        if kind == "message":
            opened["content"] = []
        elif kind == "function_call":
            opened["arguments"] = ""
        events.append({"type": "response.output_item.added", "output_index": index, "item": opened})
    if kind == "message":
        sent_parts = was.get("content")
        sent_parts = sent_parts if isinstance(sent_parts, list) else []
        for j, part in enumerate(item["content"]):
            at = {**where, "content_index": j}
            text = part.get("text") if part.get("type") == "output_text" else None
            if j < len(sent_parts):
                sent = sent_parts[j].get("text") if isinstance(sent_parts[j], dict) else None
            else:
                empty = {**part, "text": ""} if text is not None else part
                events.append({"type": "response.content_part.added", **at, "part": empty})
                sent = ""
            if isinstance(text, str):
                rest = text[len(sent) :] if isinstance(sent, str) else text
                if rest:
                    events.append(
                        {"type": "response.output_text.delta", **at, "delta": rest, "logprobs": []}
                    )
                if close:
                    events.append(
                        {"type": "response.output_text.done", **at, "text": text, "logprobs": []}
                    )
            if close:
                events.append({"type": "response.content_part.done", **at, "part": part})
    elif kind == "function_call":
        arguments = item.get("arguments", "")
        if not isinstance(arguments, str):
            raise InvalidArgument(
                f"output[{index}]", "a function call's arguments must be a string"
            )
        sent = was.get("arguments", "")
        rest = arguments[len(sent) :] if isinstance(sent, str) else arguments
        if rest:
            events.append(
                {"type": "response.function_call_arguments.delta", **where, "delta": rest}
            )
        if close:
            events.append(
                {"type": "response.function_call_arguments.done", **where, "arguments": arguments}
            )
    if close:
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return events


def _output_events(before: Sequence[Any], after: Sequence[Any], *, ended: bool) -> list[Any]:
    """The events that take the output streamed so far (``before``) to ``after``.

    What is new in the open item, each new item, and the done events of every item that
    can no longer grow (all of them once ``ended``). Items closed before are not sent again.
    """
    problem = continuation_problem(before, after)
    if problem is not None:
        raise InvalidArgument("after", f"output must continue the output streamed: {problem}")
    events: list[dict[str, Any]] = []
    last = len(after) - 1
    for index, item in enumerate(after):
        if index < len(before) - 1:
            continue  # closed (and sent whole) before
        old = before[index] if index < len(before) else None
        events.extend(_item_events(index, old, item, close=ended or index < last))
    return events


def stream_events(
    before: Response | None, after: Response, *, sequence_start: int
) -> tuple[dict[str, Any], ...]:
    """The ``response.*`` events a change from ``before`` to ``after`` sends (§12.4).

    ``before=None`` is the creation: ``response.created`` (carrying ``queued`` for a
    background response, ``in_progress`` otherwise), then ``response.queued`` or
    ``response.in_progress``. ``queued -> in_progress`` sends ``response.in_progress``;
    an end sends the output items (``output_item.added``, ``content_part.added``,
    ``output_text.delta``, ``output_text.done``, ``content_part.done``,
    ``output_item.done``; ``function_call_arguments.*`` for a function call), then the
    one terminal event. A cancel sends ``response.failed`` carrying ``cancelled`` (AZ:
    not recorded at OpenAI). No ``[DONE]``. Numbers run from ``sequence_start`` by 1.

    Text as it arrives: ``in_progress -> in_progress`` with output written
    (:func:`~runstate.responses.add_output_item`,
    :func:`~runstate.responses.add_output_text`) sends the new items and text only
    (``output_item.added``, ``content_part.added``, ``output_text.delta``), and the done
    events of an item closed by the next one; no status event. The end then sends the
    rest of the output, never what was sent already. A cancel closes nothing: it cuts
    the stream short, and its response's output is empty [inferred].

    Raises:
        InvalidArgument: ``after`` is not one move (or the creation) from ``before``.

    Example:
        >>> from runstate.responses import new_response, start
        >>> r = new_response(id="resp_1", model="m", now=1, background=True)
        >>> [(e["type"], e["sequence_number"]) for e in stream_events(None, r, sequence_start=0)]
        [('response.created', 0), ('response.queued', 1)]
        >>> [e["type"] for e in stream_events(r, start(r, now=2), sequence_start=2)]
        ['response.in_progress']

        Text written while in progress, then the end:

        >>> from runstate.responses import add_output_item, add_output_text, complete
        >>> r1 = start(r, now=2)
        >>> item = {"id": "msg_1", "type": "message", "role": "assistant",
        ...         "status": "in_progress", "content": []}
        >>> r2 = add_output_text(add_output_item(r1, item, now=3), "Hel", now=3)
        >>> events = stream_events(r1, r2, sequence_start=3)
        >>> [e["type"].split(".", 1)[1] for e in events]
        ['output_item.added', 'content_part.added', 'output_text.delta']
        >>> events[-1]["sequence_number"], events[-1]["delta"]
        (5, 'Hel')
        >>> done = {**item, "status": "completed", "content": [
        ...     {"type": "output_text", "annotations": [], "logprobs": [], "text": "Hello"}]}
        >>> r3 = complete(r2, output=[done], usage={"total_tokens": 2}, now=4)
        >>> [(e["type"], e.get("delta")) for e in stream_events(r2, r3, sequence_start=6)][:2]
        [('response.output_text.delta', 'lo'), ('response.output_text.done', None)]
    """
    if before is not None and type(before) is not Response:
        raise InvalidArgument.expected("before", "a runstate.responses.Response or None", before)
    if type(after) is not Response:
        raise InvalidArgument.expected("after", "a runstate.responses.Response", after)
    if type(sequence_start) is not int or sequence_start < 0:
        raise InvalidArgument.expected("sequence_start", "an integer >= 0", sequence_start)
    events: list[dict[str, Any]] = []
    status = after.status
    if before is None:
        initial = INITIAL[after.background is True]
        if status is not initial:
            raise InvalidArgument(
                "after", f"a new response of this kind is {initial.value!r}, not {status.value!r}"
            )
        # §12.4, OBS: response.created, then response.queued (background only) or
        # response.in_progress, both carrying the new response.
        events.append({"type": "response.created", "response": dump_response(after)})
    elif before.status is status:
        if status is not P or before.output == after.output:
            return ()
        # Output written while in progress (add_output_item, add_output_text): the
        # new items and text only, and no status event.
        events = _output_events(before.output, after.output, ended=False)
        return _numbered(events, sequence_start)
    elif not can_transition(before.status, status):
        raise InvalidArgument(
            "after", f"'{before.status.value}' -> '{status.value}' is not a move of TABLE"
        )
    elif status in TERMINAL and status is not X:  # a cancel streams no output (AZ)
        # The rest of the output: what was streamed while in progress is not repeated.
        events.extend(_output_events(before.output, after.output, ended=True))
    events.append({"type": response_event(status), "response": dump_response(after)})
    return _numbered(events, sequence_start)


def _numbered(events: list[dict[str, Any]], start: int) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"type": event.pop("type"), "sequence_number": number, **event}
        for number, event in enumerate(events, start)
    )


def _number(event: object) -> int:
    data = event[1] if type(event) is tuple and len(event) == 2 else event
    if isinstance(data, str | bytes):
        try:
            data = loads(data, "event")
        except InvalidRun:
            data = None
    if not isinstance(data, Mapping) or type(data.get("sequence_number")) is not int:
        raise InvalidArgument.expected("events", "events with an integer sequence_number", event)
    return data["sequence_number"]  # type: ignore[no-any-return]


def replay(events: Iterable[Any], starting_after: int) -> tuple[Any, ...]:
    """What a resumed stream answers: the events with ``sequence_number > starting_after``.

    The same events, the same numbers (§12.4, OBS: ``starting_after=1`` gave 2..411);
    ``starting_after`` at or past the last gives nothing (AZ). Events are dicts, JSON
    text, or ``(event, data)`` pairs; they are returned as given.

    Raises:
        InvalidArgument: ``starting_after`` is not an int, or an event has no number.

    Example:
        >>> replay([{"sequence_number": 0}, {"sequence_number": 1}], 0)
        ({'sequence_number': 1},)
    """
    if type(starting_after) is not int:
        raise InvalidArgument.expected("starting_after", "an integer", starting_after)
    if isinstance(events, str | bytes | Mapping) or not isinstance(events, Iterable):
        raise InvalidArgument.expected("events", "an iterable of events", events)
    return tuple(e for e in events if _number(e) > starting_after)


# --------------------------------------------------------------------------------------
# The trace checker

_IDENTITY: Final = ("id", "created_at", "background", "store")
_SETTLED: Final = ("status", "output", "error", "incomplete_details", "usage", "completed_at")


class ResponseTraceChecker:
    """An incremental checker of one response's trace: feed items, then close it.

    The response machine's counterpart of :class:`runstate.TraceChecker`, driven by the
    same collection loop (:func:`runstate._engine.trace.collect`).
    """

    def __init__(self, *, mode: Mode) -> None:
        self._stream = checked_mode(mode) == "stream"
        self._closed = False
        #: How many items have been fed; the next item's position.
        self.position = 0
        self._prev: Response | None = None
        self._seq: int | None = None
        self._resumed = False
        self._first = True
        self._ended = False
        self._after_end_reported = False
        self._items: set[int] = set()
        self._parts: set[tuple[int, int]] = set()
        self._closed_items: set[int] = set()
        self._closed_parts: set[tuple[int, int]] = set()
        #: The pieces of text each output_text part opened in this stream has been sent
        #: so far (joined only when the part is done: a model's text comes in thousands).
        self._texts: dict[tuple[int, int], list[str]] = {}
        self._last_event = ""

    def feed(self, item: object) -> tuple[TraceProblem, ...]:
        """Judge one more item; return the problems it shows.

        Raises:
            InvalidArgument: the checker is closed.
        """
        if self._closed:
            raise InvalidArgument("checker", "feed() after close(): the checker is closed")
        position = self.position
        self.position += 1
        found: list[TraceProblem] = []
        if self._stream:
            self._event(position, item, found)
        else:
            response = self._read(position, item, found)
            if response is not None:
                self._snapshot(position, response, found)
        return tuple(found)

    def close(self) -> tuple[TraceProblem, ...]:
        """Judge the end of the trace; calling it again returns nothing more."""
        if self._closed:
            return ()
        self._closed = True
        last = max(self.position - 1, 0)
        if self._stream and not self._ended:
            return (
                TraceProblem(
                    last, "warning", "truncated-stream", "the stream ends without a terminal event"
                ),
            )
        return ()

    # -- reading

    def _read(self, position: int, item: object, found: list[TraceProblem]) -> Response | None:
        if type(item) is Response:
            return item
        if not isinstance(item, Mapping | str | bytes):
            found.append(
                TraceProblem(
                    position, "error", "invalid-item", f"not a response: {type(item).__name__}"
                )
            )
            return None
        try:
            return parse_response(item)
        except InvalidRun as exc:
            text = "; ".join(str(e) for e in exc.errors[:3])
            found.append(TraceProblem(position, "error", "invalid-response", text))
            return None

    def _snapshot(self, position: int, response: Response, found: list[TraceProblem]) -> None:
        prev = self._prev
        if prev is not None:
            found.extend(changed_fields(position, prev, response, _IDENTITY))
            if prev.status not in TERMINAL and response.status is not X:
                problem = continuation_problem(prev.output, response.output)
                if problem is not None:
                    text = f"the output written so far is not continued: {problem}"
                    found.append(TraceProblem(position, "error", "output-rewritten", text))
            if prev.status in TERMINAL:
                found.extend(settled_fields(position, prev, response, _SETTLED))
            elif self._stream:
                if prev.status is not response.status and not can_transition(
                    prev.status, response.status
                ):
                    found.append(self._status_problem(position, "status-illegal", prev, response))
            elif not can_reach(prev.status, response.status):
                found.append(self._status_problem(position, "status-unreachable", prev, response))
        for v in violations(response):
            found.append(TraceProblem(position, v.severity, v.rule, f"{v.field}: {v.message}"))
        self._prev = response

    @staticmethod
    def _status_problem(position: int, rule: str, prev: Response, new: Response) -> TraceProblem:
        text = f"'{new.status.value}' cannot follow '{prev.status.value}'"
        return TraceProblem(position, "error", rule, text)

    # -- streams

    def _event(self, position: int, item: object, found: list[TraceProblem]) -> None:
        name: str | None = None
        data: Any = item
        if type(item) is tuple and len(item) == 2 and isinstance(item[0], str):
            name, data = item
        if name == "done" or data in ("[DONE]", b"[DONE]"):
            found.append(
                TraceProblem(
                    position, "error", "done-sentinel", "Responses streams end without [DONE]"
                )
            )
            return
        if isinstance(data, str | bytes):
            try:
                data = loads(data, "event")
            except InvalidRun as exc:
                found.append(TraceProblem(position, "error", "invalid-event", str(exc)))
                return
        if not isinstance(data, Mapping):
            found.append(
                TraceProblem(
                    position, "error", "invalid-item", f"not an event: {type(data).__name__}"
                )
            )
            return
        kind, number = data.get("type"), data.get("sequence_number")
        if type(kind) is not str or type(number) is not int:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "invalid-event",
                    "needs a string type and an integer sequence_number",
                )
            )
            return
        if name is not None and name != kind:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "event-type-mismatch",
                    f"event {show(name)} carries type {show(kind)}",
                )
            )
        self._sequence(position, number, found)
        if self._ended:
            if not self._after_end_reported:
                self._after_end_reported = True
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "after-terminal-event",
                        f"{show(kind)} follows the terminal event",
                    )
                )
            return
        first, self._first = self._first, False
        if kind == "error":
            if first or self._prev is None:
                self._ended = True  # a lone error event: the whole stream (AZ, SDK)
            else:
                found.append(
                    TraceProblem(
                        position,
                        "warning",
                        "unexpected-error-event",
                        "an error event after the response exists",
                    )
                )
            return
        if first and not self._resumed and kind != "response.created":
            found.append(
                TraceProblem(
                    position, "error", "created-first", f"the stream starts with {show(kind)}"
                )
            )
        if kind in _NO_SUCH_EVENTS:
            found.append(
                TraceProblem(position, "error", "no-such-event", f"{kind} is no Responses event")
            )
        elif kind in _STATUS_EVENTS:
            self._status_event(position, kind, data, found)
        else:
            self._nesting(position, kind, data, found)
        self._last_event = kind

    def _sequence(self, position: int, number: int, found: list[TraceProblem]) -> None:
        if self._seq is None:
            self._resumed = number > 0
        elif number != self._seq + 1:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "sequence-gap",
                    f"sequence_number {number} follows {self._seq}",
                )
            )
        self._seq = number

    def _status_event(
        self, position: int, kind: str, data: Mapping[str, Any], found: list[TraceProblem]
    ) -> None:
        response = self._read(position, data.get("response"), found)
        if response is None:
            return
        allowed = _STATUS_EVENTS[kind]
        status = response.status
        if kind == "response.created":
            expected = INITIAL[response.background is True]
            if status is not expected:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "created-status",
                        f"response.created carries {status.value!r}, expected {expected.value!r}",
                    )
                )
        elif allowed is not None and status not in allowed:
            found.append(
                TraceProblem(
                    position, "error", "event-status-mismatch", f"{kind} carries {status.value!r}"
                )
            )
        resumed_here = self._resumed and not self._last_event  # a replay may start here
        if (
            kind == "response.queued"
            and not resumed_here
            and not (self._last_event == "response.created" and response.background is True)
        ):
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "queued-misplaced",
                    "response.queued must follow a background response.created",
                )
            )
        self._snapshot(position, response, found)
        if kind in _TERMINAL_EVENTS:
            self._ended = True
            # A cancel cuts the stream: its items stay open (the output is emptied).
            if self._items and status is not X:
                open_items = sorted(self._items)
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "item-open-at-end",
                        f"output items {open_items} are still open",
                    )
                )

    def _nesting(
        self, position: int, kind: str, data: Mapping[str, Any], found: list[TraceProblem]
    ) -> None:
        index = data.get("output_index")
        if type(index) is not int:
            return
        if kind == "response.output_item.added":
            if index in self._items or index in self._closed_items:
                found.append(
                    TraceProblem(
                        position, "error", "item-reopened", f"output item {index} was added before"
                    )
                )
            self._items.add(index)
            return
        if index not in self._items:
            if self._resumed and index not in self._closed_items:
                self._items.add(index)  # opened before the replay began
            else:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "item-not-open",
                        f"{kind} for output item {index}, which is not open",
                    )
                )
                return
        if kind == "response.output_item.done":
            still = sorted(j for i, j in self._parts if i == index)
            if still:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "part-open-at-item-done",
                        f"content parts {still} of item {index} are still open",
                    )
                )
            self._parts -= {(index, j) for j in still}
            self._items.discard(index)
            self._closed_items.add(index)
            return
        part = data.get("content_index")
        if type(part) is not int:
            return
        key = (index, part)
        if kind == "response.content_part.added":
            if key in self._parts or key in self._closed_parts:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "part-reopened",
                        f"content part {part} of item {index} was added before",
                    )
                )
            self._parts.add(key)
            part_value = data.get("part")
            if isinstance(part_value, Mapping) and part_value.get("type") == "output_text":
                start = part_value.get("text")
                self._texts[key] = [start] if isinstance(start, str) else []
            return
        if key not in self._parts:
            if self._resumed and key not in self._closed_parts:
                self._parts.add(key)
            else:
                found.append(
                    TraceProblem(
                        position,
                        "error",
                        "part-not-open",
                        f"{kind} for content part {part} of item {index}, which is not open",
                    )
                )
                return
        self._text(position, kind, key, data, found)
        if kind == "response.content_part.done":
            self._parts.discard(key)
            self._closed_parts.add(key)

    def _text(
        self,
        position: int,
        kind: str,
        key: tuple[int, int],
        data: Mapping[str, Any],
        found: list[TraceProblem],
    ) -> None:
        """Deltas joined must give the part's text (parts opened in this stream only)."""
        pieces = self._texts.get(key)
        if pieces is None:
            return
        if kind == "response.output_text.delta":
            delta = data.get("delta")
            if isinstance(delta, str):
                pieces.append(delta)
            return
        if kind == "response.output_text.done":
            text = data.get("text")
        elif kind == "response.content_part.done":
            part = data.get("part")
            if not isinstance(part, Mapping) or part.get("type") != "output_text":
                return
            text = part.get("text")
        else:
            return
        sent = "".join(pieces)
        if text != sent:
            found.append(
                TraceProblem(
                    position,
                    "error",
                    "text-mismatch",
                    f"{kind} text of part {key[1]} of item {key[0]} is not its deltas joined "
                    f"({len(sent)} characters sent)",
                )
            )


def check_trace(
    items: Iterable[Any], mode: Mode = "poll", *, max_problems: int | None = DEFAULT_MAX_PROBLEMS
) -> TraceReport:
    """Check a polled sequence of responses, or one stream of events, against the table.

    Args:
        items: ``mode="poll"``: responses (values, JSON objects or text), in order.
            ``mode="stream"``: events (JSON objects or text, or ``(event, data)`` pairs
            as :func:`runstate.parse_sse` gives them).
        mode: ``"poll"`` or ``"stream"``.
        max_problems: How many problems of each severity the report keeps.

    Returns:
        A :class:`runstate.TraceReport` (the module docstring lists every rule).

    Example:
        >>> from runstate.responses import new_response, start, cancel
        >>> r0 = new_response(id="resp_1", model="m", now=1, background=True)
        >>> r1 = cancel(start(r0, now=2), now=3)
        >>> events = stream_events(None, r0, sequence_start=0)
        >>> events += stream_events(r0, start(r0, now=2), sequence_start=2)
        >>> events += stream_events(start(r0, now=2), r1, sequence_start=3)
        >>> check_trace(events, mode="stream").ok, events[-1]["type"]
        (True, 'response.failed')
        >>> [p.rule for p in check_trace([r1, r0]).problems]
        ['after-terminal']
    """
    return collect(ResponseTraceChecker(mode=mode), items, max_problems)
