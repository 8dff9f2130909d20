"""The Responses kit's program and entry point, on the kit's engine.

:class:`ResponseConformance` is the hypothesis program: its rules create background,
streamed and synchronous responses, retrieve them, replay their streams from several
points, cancel, delete, and play the worker; :mod:`._response_rules` judges every answer.
:func:`response_conformance` surveys it with :func:`._engine.search` and returns a
:class:`~runstate.testing.ConformanceReport`, exactly as :func:`run_conformance` does.
"""

from __future__ import annotations

import unittest
from collections.abc import Callable, Collection, Mapping
from typing import Any, ClassVar, Final

import attrs
import hypothesis
import hypothesis.strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import precondition, rule

from .. import responses as rr
from .._engine.errors import InvalidRun
from .._engine.trace import TraceProblem
from ..responses._machine import background_without_store
from . import _engine as engine
from . import _response_steering as steering
from ._adapters import success, unpack
from ._engine import Rule
from ._report import ConformanceReport, brief, bullets
from ._response_rules import (
    DRIVE_KINDS,
    METADATA,
    MODEL,
    RESPONSE_REACH_OPERATIONS,
    RESPONSE_RULES,
    DriveKind,
    ResponseChecks,
    ResponseOptions,
    ResponsesImplementation,
    ResponseStep,
    a_status,
    refusal,
    show,
    stream_items,
    worker_move,
)

__all__ = [
    "RESPONSE_REACH_OPERATIONS",
    "ResponseConformance",
    "ResponseConformanceReport",
    "response_conformance",
    "response_conformance_test",
]

Q = rr.ResponseStatus.QUEUED
P = rr.ResponseStatus.IN_PROGRESS
X = rr.ResponseStatus.CANCELLED

#: Its columns: the six statuses, and ``deleted``.
_REACH_STATUSES: Final = (*(s.value for s in rr.ResponseStatus), "deleted")
_CONFIDENCE: Final = {(e.source, e.target): e.confidence for e in rr.TABLE}


@attrs.frozen
class ResponseConformanceReport(ConformanceReport):
    """A :class:`ConformanceReport` of a Responses survey.

    Its reach table's rows are :data:`RESPONSE_REACH_OPERATIONS`, its columns the six
    statuses and ``deleted``.

    Example:
        >>> report = ResponseConformanceReport(label="Nothing", divergences=(),
        ...     accepted={}, reach={("cancel", "queued"): (3, 3)}, examples=0, rounds=1,
        ...     seconds=0.0)
        >>> report.reach_table().splitlines()[2]
        '| cancel | 3/3 | 0/0 | 0/0 | 0/0 | 0/0 | 0/0 | 0/0 |'
    """

    def reach_table(self, *, cases: bool = False) -> str:
        """The reach as a Markdown table: ``made/tried`` per operation and status.

        With ``cases=True``, the share of the examples that made each pair instead.
        """
        lines = [
            "| operation | " + " | ".join(_REACH_STATUSES) + " |",
            "|---|" + "---|" * len(_REACH_STATUSES),
        ]
        for op in RESPONSE_REACH_OPERATIONS:
            cells = [self.reach_cell(op, status, cases=cases) for status in _REACH_STATUSES]
            lines.append(f"| {op} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


class StreamChecks(ResponseChecks):
    """The checks of replayed streams: the whole stream, and a resume against it."""

    def _stream_now(self, where: str) -> None:
        before = self._focus()
        response_id = before.id
        status = self._where(before)
        what = f"stream replay of {a_status(status)} response ({response_id})"
        full = unpack("retrieve_stream", self.impl.retrieve_stream(response_id, None))
        refusal = self._stream_refusal(before)
        self.tally.reached("retrieve_stream", status, refusal is None)
        if refusal is not None:
            accepted = (
                "deleted-found" if response_id in self.deleted else "stream-not-streamable-accepted"
            )
            self._refused(what, full, refusal, response_id, accepted)
            return
        events = self._events(what, full)
        if events is None:
            return
        self._judge_stream(what, events, before)
        numbers = [_number(e) for e in stream_items(events)]
        known = [n for n in numbers if n is not None]
        if where == "start" or not known:
            return
        after = {"0": 0, "1": 1, "middle": known[len(known) // 2], "last": known[-1]}[where]
        what = f"{what}, resumed with starting_after={after}"
        resumed = self._events(
            what, unpack("retrieve_stream", self.impl.retrieve_stream(response_id, after))
        )
        if resumed is None:
            return
        again = [_number(e) for e in stream_items(resumed)]
        repeated = [n for n in again if n is not None and n <= after]
        if repeated:
            self._diverge(
                "resume-repeats",
                what,
                f"expected the events numbered above {after}, got numbers {_short(again)}",
            )
            return
        rest = [e for e, n in zip(events, numbers, strict=True) if n is None or n > after]
        if stream_items(resumed) != stream_items(rest):
            self._diverge(
                "resume-differs",
                what,
                f"expected the {len(rest)} events after {after} of the whole stream "
                f"(numbers {_short([_number(e) for e in stream_items(rest)])}), got "
                f"{len(resumed)} (numbers {_short(again)})",
            )

    def _events(self, what: str, answer: tuple[int, Any]) -> list[Any] | None:
        status, body = answer
        if not success(status):
            self._diverge(
                "stream-refused", what, f"expected 200 and the events, got {show(status, body)}"
            )
            return None
        if not isinstance(body, list | tuple):
            self._diverge(
                "stream-trace", what, f"expected a list of events, got {status} {brief(body)}"
            )
            return None
        return list(body)

    def _judge_stream(self, what: str, events: list[Any], before: rr.Response) -> None:
        """Judge a stream from the start: one root cause, one rule.

        ``[DONE]``, then events after the terminal one (and what follows from them),
        then every other problem of the stream's trace, then its last response.
        """
        report = rr.check_trace(stream_items(events), mode="stream")
        problems = [p for p in report.problems if p.severity == "error"]
        done = [p for p in problems if p.rule == "done-sentinel"]
        after_end = [p for p in problems if p.rule == "after-terminal-event"]
        if done:
            self._diverge("stream-done-sentinel", what, _trace_text(done, events))
        if after_end:
            self._diverge("stream-terminal-events", what, _trace_text(after_end, events))
        cut = min((p.position for p in done + after_end), default=len(events))
        rest = [p for p in problems if p.position < cut]
        if rest:
            self._diverge("stream-trace", what, _trace_text(rest, events))
            return
        end = _terminal_response(stream_items(events)[:cut])
        if end is None:
            return  # truncated: a warning of check_trace, and retrieve is the reference
        if end != rr.dump_response(before):
            diffs: list[tuple[str, str]] = []
            from ._report import json_diff  # noqa: PLC0415 - one use

            json_diff(rr.dump_response(before), end, "", diffs)
            self._diverge(
                "stream-end-differs",
                what,
                "the terminal event's response differs from the retrieved one:"
                + bullets([line for _, line in diffs]),
            )


def _number(event: Any) -> int | None:
    if isinstance(event, tuple):
        event = event[1]
    if isinstance(event, str | bytes):
        try:
            from .._engine.jsonio import loads  # noqa: PLC0415 - one use

            event = loads(event, "event")
        except InvalidRun:
            return None
    number = event.get("sequence_number") if isinstance(event, Mapping) else None
    return number if type(number) is int else None


def _terminal_response(items: list[Any]) -> Any:
    """The JSON response the last terminal event carries, or ``None``."""
    for item in reversed(items):
        data = item[1] if isinstance(item, tuple) else item
        if isinstance(data, str | bytes):
            try:
                from .._engine.jsonio import loads  # noqa: PLC0415 - one use

                data = loads(data, "event")
            except InvalidRun:
                continue
        if isinstance(data, Mapping) and data.get("type") in _TERMINAL_EVENTS:
            return data.get("response")
    return None


_TERMINAL_EVENTS: Final = frozenset(
    {"response.completed", "response.failed", "response.incomplete"}
)


def _short(numbers: list[int | None]) -> str:
    shown = [str(n) for n in numbers[:6]]
    if len(numbers) > 8:
        shown += ["...", *(str(n) for n in numbers[-2:])]
    elif len(numbers) > 6:
        shown += [str(n) for n in numbers[6:]]
    return "[" + ", ".join(shown) + "]"


def _trace_text(problems: list[TraceProblem], events: list[Any]) -> str:
    lines = [
        f"event {p.position} ({brief(events[p.position], 120)}): {p.rule}: {p.message}"
        for p in problems
    ]
    return f"the stream from the start ({len(events)} events) breaks:" + bullets(lines)


class ResponseConformance(StreamChecks):
    """Drives one fresh Responses implementation.

    Each response's reference is its last good answer. Requests go to the latest
    response created, so that printed programs carry no ids: ``create(stream=False)``,
    ``drive_start()``, ``cancel()``.
    """

    rule_table: ClassVar[Mapping[str, Rule]] = RESPONSE_RULES

    def __init__(self) -> None:
        super().__init__()
        #: The moves :meth:`_steer` may take, and the pairs it steers to.
        self.moves = steering.moves(self.options.steps)
        self.steer_pairs = steering.pairs(self.options.steps)

    # -- create

    @rule(stream=st.sampled_from((True, True, False)))
    def create(self, stream: bool) -> None:
        """Create a background response, streamed or not."""
        self._log(f"create(stream={stream})")
        self._create(background=True, stream=stream)

    @rule()
    def create_synchronous(self) -> None:
        """Create a response without ``background``: answered once it has ended."""
        self._log("create_synchronous()")
        self._create(background=False, stream=False)

    @rule()
    def create_unstored_background(self) -> None:
        """``background: true`` with ``store: false``: refused (§12.3)."""
        self._log("create_unstored_background()")
        answer = unpack("create", self.impl.create(_request(background=True, store=False)))
        err = background_without_store()
        # param and code are AZ's; the message is not recorded (inferred).
        self._refused(
            "create with background: true and store: false",
            answer,
            err,
            "",
            "create-unstored-accepted",
            unverified=True,
        )

    def _create(self, *, background: bool, stream: bool) -> None:
        answer = unpack("create", self.impl.create(_request(background, True, stream)))
        kind = "background" if background else "synchronous"
        what = f"create of a {kind}{', streamed,' if stream else ''} response"
        initial = rr.INITIAL[background]
        wanted = f"200 status {initial.value!r}" if background else "200 and an ended response"
        got = self._parse("create", what, answer, wanted)
        if got is None:
            return
        if got.id in self.ref:
            self._diverge("create-fields", what, f"expected a new response, got the id {got.id!r}")
            return
        want = {
            "background": background,
            "store": True,
            "metadata": dict(METADATA),
            "error": None,
            "incomplete_details": None,
        }
        if background:
            want |= {"status": initial.value, "output": [], "usage": None}
        dumped = rr.dump_response(got)
        problems = [
            f"{k}: expected {brief(v, 120)}, got {brief(dumped.get(k), 120)}"
            for k, v in want.items()
            if dumped.get(k) != v and not (k in ("error", "incomplete_details") and not background)
        ]
        if background and dumped.get("completed_at") is not None:
            problems.append(f"completed_at: expected null, got {dumped['completed_at']}")
        if not background and got.status not in rr.TERMINAL - {X}:
            problems.append(f"status: expected an ended response, got {got.status.value!r}")
        if problems:
            self._diverge(
                "create-fields",
                what,
                f"expected {wanted}, got {show(*answer)} but:" + bullets(problems),
            )
            self.off_table.add(got.id)
        else:
            self._compare("create-fields", what, answer, got, got)  # its per-status rules
        self.ref[got.id] = got
        self.latest = got.id
        if background and stream:
            self.streamed.add(got.id)

    # -- retrieve

    @precondition(lambda self: self.latest is not None)
    @rule()
    def retrieve(self) -> None:
        """Retrieve the last three responses: nothing moved them."""
        self._log("retrieve()")
        for response_id in list(self.ref)[-3:]:
            before = self.ref[response_id]
            answer = unpack("retrieve", self.impl.retrieve(response_id))
            what = f"retrieve of {a_status(self._where(before))} response ({response_id})"
            self.tally.reached("retrieve", self._where(before), response_id not in self.deleted)
            if response_id in self.deleted:
                self._refused(what, answer, rr.not_found(response_id), response_id, "deleted-found")
            else:
                self._expect("retrieve", what, answer, before)

    @precondition(
        lambda self: (
            self.latest is not None
            and (self.latest in self.deleted or self.ref[self.latest].status in rr.TERMINAL)
        )
    )
    @rule(where=st.sampled_from(steering.RESUMES))
    def retrieve_stream(self, where: str) -> None:
        """Replay an ended response's stream from the start, then resume it from a point."""
        self._log(f"retrieve_stream(where={where!r})")
        self._stream_now(where)

    # -- cancel and delete

    @precondition(lambda self: self.latest is not None)
    @rule()
    def cancel(self) -> None:
        self._log("cancel()")
        before = self._focus()
        status = self._where(before)
        what = f"cancel of {a_status(status)} response ({before.id})"
        if before.background is False:
            what = f"cancel of a synchronous, {status!r} response ({before.id})"
        answer = unpack("cancel", self.impl.cancel(before.id))
        err, accepted = self._cancel_refusal(before)
        self.tally.reached("cancel", status, err is None)
        if err is not None:
            if accepted == "cancel-finished-accepted" and success(answer[0]):
                got = self._adopt(answer)
                if got is not None and rr.dump_response(got) == rr.dump_response(before):
                    accepted = "cancel-finished-unchanged"
            self._refused(what, answer, err, before.id, accepted)
            return
        want = rr.cancel(before, now=before.created_at)
        if before.status is X and not success(answer[0]):
            self._diverge(
                "cancel-cancelled-refused",
                what,
                f"expected 200 and the same response, got {show(*answer)}",
            )
            return
        self._expect("cancel", what, answer, want)

    @precondition(lambda self: self._focus_in(Q, P))
    @rule()
    def cancel_in_flight(self) -> None:
        """Cancel a response still in flight (racing the worker)."""
        self.cancel()

    @precondition(lambda self: self.latest is not None)
    @rule()
    def delete(self) -> None:
        self._log("delete()")
        before = self._focus()
        status = self._where(before)
        what = f"delete of {a_status(status)} response ({before.id})"
        answer = unpack("delete", self.impl.delete(before.id))
        deleted = before.id in self.deleted
        err = rr.not_found(before.id) if deleted else refusal("delete", before)
        self.tally.reached("delete", status, err is None)
        if err is not None:
            accepted = "deleted-found" if deleted else "delete-in-flight-accepted"
            self._refused(what, answer, err, before.id, accepted)
            return
        if not success(answer[0]):
            self._diverge("delete-refused", what, f"expected 200, got {show(*answer)}")
            return
        wanted = rr.deleted(before)
        self.deleted.add(before.id)
        if answer[1] != wanted:
            self._diverge(
                "delete-body", what, f"expected {answer[0]} {brief(wanted)}, got {brief(answer[1])}"
            )

    @precondition(lambda self: self._focus_in(*rr.TERMINAL))
    @rule()
    def delete_ended(self) -> None:
        """Delete a response that has ended (a delete in flight is refused)."""
        self.delete()

    # -- the worker

    @precondition(lambda self: self._focus_in(Q))
    @rule()
    def drive_start(self) -> None:
        self._drive("start")

    @precondition(lambda self: self._focus_in(P))
    @rule()
    def drive_complete(self) -> None:
        self._drive("complete")

    @precondition(lambda self: self._focus_in(Q, P))
    @rule(kind=st.sampled_from(("fail", "mark_incomplete")))
    def drive_end(self, kind: DriveKind) -> None:
        self._drive(kind, f"drive_end(kind={kind!r})")

    @precondition(lambda self: self._focus_in(Q))
    @rule(kind=st.sampled_from(("complete", "complete", "fail", "mark_incomplete")))
    def drive_through(self, kind: DriveKind) -> None:
        """Start a queued response and end it at once.

        Ended background responses (and their streams) are then reached in few steps.
        """
        self._log(f"drive_through(kind={kind!r})")
        self._drive_now("start")
        if self._focus_in(P):
            self._drive_now(kind)

    @precondition(lambda self: self.latest is not None)
    @rule(kind=st.sampled_from(DRIVE_KINDS))
    def drive_anywhere(self, kind: DriveKind) -> None:
        self._drive(kind, f"drive_anywhere(kind={kind!r})")

    @precondition(lambda self: self._focus_in(*rr.TERMINAL))
    @rule()
    def cancel_ended(self) -> None:
        """Cancel a response that has ended: refused, but for a second cancel."""
        self.cancel()

    # Weights: progress is drawn more often than the probes (as in the Run kit), so that
    # background responses end in every way and their streams are replayed.
    _create_2 = create
    _drive_start_2 = _drive_start_3 = drive_start
    _drive_complete_2 = _drive_complete_3 = drive_complete
    _drive_end_2 = drive_end
    _cancel_ended_2 = cancel_ended
    _retrieve_stream_2 = _retrieve_stream_3 = retrieve_stream

    # -- steering (the engine's ``steer`` rule; the way there: ``_response_steering``)

    def _steer(self, operation: str, status: str, variant: int) -> None:
        steering.steer(self, operation, status, variant)

    def _drive(self, kind: DriveKind, call: str | None = None) -> None:
        self._log(call or f"drive_{kind}()")
        self._drive_now(kind)

    def _drive_now(self, kind: DriveKind) -> None:
        if kind not in self.options.steps:
            return
        before = self._focus()
        status = self._where(before)
        step = ResponseStep.of(kind)
        what = f"drive {kind!r} on {a_status(status)} response ({before.id})"
        answer = unpack("drive", self.impl.drive(before.id, step))
        want = None if before.id in self.deleted else worker_move(before, step, answer[1])
        self.tally.reached(kind, status, want is not None)
        if want is None:
            if success(answer[0]):
                self._diverge(
                    "drive-accepted", what, f"expected a 4xx refusal, got {show(*answer)}"
                )
                got = self._adopt(answer)
                if got is not None:
                    self.off_table.add(got.id)
                return
            if not 400 <= answer[0] < 500:
                self._diverge(
                    "refusal-status", what, f"expected a 4xx refusal, got {show(*answer)}"
                )
            self._unchanged(what, before.id)
            return
        if not success(answer[0]):
            weak = _CONFIDENCE.get((before.status, want.status)) == "L"
            self._diverge(
                "drive-refused-weak" if weak else "drive-refused",
                what,
                f"expected 200 status {want.status.value!r}, got {show(*answer)}",
            )
            return
        self._expect("drive", what, answer, want)


def _request(background: bool, store: bool, stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": MODEL,
        "input": "Hello!",
        "background": background,
        "store": store,
        "metadata": dict(METADATA),
    }
    if stream:
        body["stream"] = True
    return body


# --------------------------------------------------------------------------------------
# The entry points


def _check_arguments(
    factory: object, settings: object, accept: object, steps: object
) -> tuple[frozenset[str], frozenset[DriveKind]]:
    if not callable(factory):
        raise InvalidArgument(f"factory={factory!r} must be callable")
    engine.check_settings(settings)
    names = engine.check_choice(
        "accept",
        accept,
        RESPONSE_RULES,
        "rule names",
        "rule",
        " (see runstate.testing.RESPONSE_RULES)",
    )
    kinds = engine.check_choice("steps", steps, DRIVE_KINDS, "drive kinds", "drive kind")
    return names, kinds


def response_conformance(
    factory: Callable[[], ResponsesImplementation],
    *,
    settings: hypothesis.settings | None = None,
    seed: int | None = None,
    max_examples: int | None = None,
    accept: Collection[str] = (),
    steps: Collection[DriveKind] = DRIVE_KINDS,
    max_divergences: int | None = None,
    progress: Callable[[str], object] | None = None,
    timeout: float | None = None,
) -> ConformanceReport:
    """Survey a Responses implementation: every divergence, each with a minimal example.

    :func:`run_conformance`'s survey, on the response machine.

    Each test case calls ``factory()`` for a fresh :class:`ResponsesImplementation` and
    runs random steps: create background (streamed or not), synchronous and unstored
    responses; retrieve; replay ended responses' streams from the start and resume them;
    cancel; delete; and play the worker through ``drive``; and it steers to each
    (operation, status) pair the reference accepts, so that every pair of the reach table
    is common (the engine's ``steer`` rule). Every answer is compared with
    what :mod:`runstate.responses` makes of the last answer for that response: the HTTP
    status, the new status, every field, the per-status rules, the refusal's exact body,
    and the stream's events (:func:`runstate.responses.check_trace`). Rules are graded by
    spec-facts §12's evidence (:data:`RESPONSE_RULES`).

    Args:
        factory: Called with no arguments per test case; returns a fresh implementation.
        settings: Hypothesis settings; by default the current profile's. The kit's
            own settings apply on top, as for :func:`run_conformance`.
        seed: Seeds every search, for a survey that can be repeated.
        max_examples: Overrides ``settings.max_examples``.
        accept: Rule names (keys of :data:`RESPONSE_RULES`) known to differ: tolerated,
            counted, reported under ``accepted``.
        steps: The worker moves ``drive`` can make; ``()`` for none (``drive`` may then
            be missing, and background responses stay queued unless cancelled).
        max_divergences: Stop once this many divergences are found.
        progress: Called with one line per event, as for :func:`run_conformance`.
        timeout: Seconds after which the survey stops and returns what it found.

    Returns:
        A :class:`ConformanceReport` (a :class:`ResponseConformanceReport`, whose reach
        table has the response machine's rows and columns).

    Raises:
        hypothesis.errors.InvalidArgument: a bad argument, an unknown rule name in
            ``accept``, or an implementation that lacks a method.

    Example:
        >>> try:
        ...     response_conformance(lambda: None, accept={"no-such-rule"})
        ... except InvalidArgument as exc:
        ...     print(exc)
        accept= names no such rule: no-such-rule (see runstate.testing.RESPONSE_RULES)
    """
    names, kinds = _check_arguments(factory, settings, accept, steps)
    engine.check_seed(seed)
    engine.check_counts(max_examples=max_examples, max_divergences=max_divergences)
    engine.check_progress(progress, timeout)
    label = engine.label(factory)

    def options(tolerated: frozenset[str]) -> ResponseOptions:
        return ResponseOptions(factory, kinds, tolerated, engine.Tally())

    survey = engine.search(
        ResponseConformance,
        options,
        name=f"{label}ResponseConformance",
        module=getattr(factory, "__module__", __name__),
        doc=f"The runstate Responses conformance machine for {label}.",
        settings=engine.search_settings(settings, max_examples),
        seed=seed,
        tolerated=names,
        max_divergences=max_divergences,
        progress=progress,
        timeout=timeout,
    )
    tally = survey.tally
    return ResponseConformanceReport(
        label=label,
        divergences=survey.found,
        accepted={n: tally.seen[n] for n in sorted(names)},
        reach={k: (v[0], v[1]) for k, v in sorted(tally.reach.items())},
        examples=tally.cases,
        case_reach=dict(sorted(tally.case_reach.items())),
        stopped=survey.stopped,
        rounds=survey.rounds,
        seconds=survey.seconds,
    )


def response_conformance_test(
    factory: Callable[[], ResponsesImplementation],
    *,
    settings: hypothesis.settings | None = None,
    seed: int | None = None,
    accept: Collection[str] = (),
    steps: Collection[DriveKind] = DRIVE_KINDS,
) -> type[unittest.TestCase]:
    """A test case that surveys a Responses implementation (:func:`response_conformance`).

    It prints the summary and fails with :class:`DivergencesFound` unless it is ``ok``.

    Example:
        >>> TestNothing = response_conformance_test(lambda: None)  # fails when run
        >>> issubclass(TestNothing, unittest.TestCase)
        True
    """
    _check_arguments(factory, settings, accept, steps)
    engine.check_seed(seed)
    label = engine.label(factory)

    def run_test(self: unittest.TestCase) -> None:
        report = response_conformance(
            factory, settings=settings, seed=seed, accept=accept, steps=steps
        )
        print(report.summary())
        report.raise_if_failed()

    return engine.unittest_case(
        f"{label}ResponseConformance",
        getattr(factory, "__module__", __name__),
        f"The runstate Responses conformance survey of {label}.",
        run_test,
    )
