"""The Run kit's state machine and its entry points, on the kit's engine.

:class:`Conformance` is the hypothesis program: its rules create runs, retrieve, cancel,
submit tool outputs and play the worker; :class:`RunChecks` and :class:`StepChecks`
judge every answer. :func:`run_conformance` surveys it with :func:`._engine.search`.
"""

from __future__ import annotations

import json
import unittest
from collections.abc import Callable, Collection, Mapping
from typing import Any, ClassVar, Final, cast

import hypothesis
import hypothesis.strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import precondition, rule

from .. import _ops as ops
from .._errors import APIError, ThreadBusy, TransitionError
from .._model import Run
from .._operations import Op
from .._status import ACTIVE_STATUSES, RunStatus
from . import _engine as engine
from . import _steering as steering
from ._adapters import STEP_KINDS, Implementation, Step, StepKind, success, unpack
from ._engine import Rule
from ._report import ConformanceReport, a_status, brief, describe
from ._run_rules import (
    CONFIDENCE,
    DEFAULT_ASSISTANT_ID,
    LAST_ERROR,
    METADATA,
    PROBE,
    RUN_RULES,
    SUBMISSIONS,
    UNUSUAL_ENDINGS,
    USAGE,
    RunChecks,
    latest_stamp,
    reference_step,
    thread_busy,
)
from ._state import Options, Tally
from ._step_rules import STEP_RULE_TABLE, StepChecks

__all__ = ["RULES", "STEP_RULES", "Conformance", "conformance_test", "run_conformance"]


#: Every divergence the kit reports, by name. Names are stable: new ones may be added,
#: none is renamed or reused.
RULES: Final[Mapping[str, Rule]] = {**RUN_RULES, **STEP_RULE_TABLE}

#: The names in :data:`RULES` about run steps: checked only when the implementation has
#: :meth:`Implementation.list_steps`.
STEP_RULES: Final[frozenset[str]] = frozenset(
    name for name in RULES if name.startswith(("step-", "steps-"))
)

_CANCELLING: Final = RunStatus.CANCELLING


class Conformance(RunChecks, StepChecks):
    """Drives one fresh implementation; each run's reference is its last good response.

    Requests go to the latest run created (older runs on the other thread keep holding
    their thread's lock), which keeps the printed steps free of ids: a minimal failure
    reads ``create_run(thread=0)``, ``drive_start()``, ``drive_complete()``, ``cancel()``.

    A divergence whose name is tolerated is counted, and the machine goes on from what
    the implementation answered (its run becomes the reference), so that one search can
    look past it for the next.
    """

    rule_table: ClassVar[Mapping[str, Rule]] = RULES

    def __init__(self) -> None:
        super().__init__()
        #: The moves :meth:`_steer` may take, and the pairs it steers to (``_steering``).
        self.moves = steering.moves(self.options.steps, self.options.documented_only)
        self.steer_pairs = steering.pairs(self.moves)

    # -- rules ----------------------------------------------------------------------------
    #
    # The rules that make progress have preconditions on the focused run's status, so
    # that they are drawn when they can succeed: tool rounds, cancels racing a completion
    # and expiries are common. The ``*_anywhere`` rules try every operation on every
    # status, which checks the refusals.

    @rule(thread=st.sampled_from((0, 1)))
    def create_run(self, thread: int) -> None:
        self._log(f"create_run(thread={thread})")
        thread_id = self.threads[thread]
        on_thread = [r for r in self.ref.values() if r.thread_id == thread_id]
        active = next((r for r in on_thread if r.status in ACTIVE_STATUSES), None)
        extra = PROBE if self.options.probe_unknown_fields else {}
        response = unpack(
            "create_run",
            self.impl.create_run(
                thread_id,
                assistant_id=self.assistant_id,
                metadata=dict(METADATA),
                extra=extra,
            ),
        )
        if active is not None and active.status is _CANCELLING and success(response[0]):
            # The cancel may have taken effect on its own, freeing the thread.
            active = self._settle(active)
            on_thread = [r for r in self.ref.values() if r.thread_id == thread_id]
            if active.status not in ACTIVE_STATUSES:
                active = None
        what = f"create run on thread {thread_id!r}"
        if active is not None:
            what += f" (its run {active.id} is {active.status.value!r})"
        try:
            ops.ensure_can_create_run(thread_id, on_thread)
        except ThreadBusy as busy:
            assert active is not None
            err = busy
            # After a tolerated thread-lock divergence a thread may hold several active
            # runs: a refusal naming any of them is right.
            for other in on_thread:
                if other.status in ACTIVE_STATUSES and other is not active:
                    alternative = thread_busy(thread_id, other)
                    if response == (alternative.http_status, alternative.to_api_error()):
                        active, err = other, alternative
            if success(response[0]):
                lock = "thread-lock-cancelling" if active.status is _CANCELLING else "thread-lock"
                self._diverge(
                    lock,
                    what,
                    f"expected {err.http_status} {brief(err.to_api_error())}, "
                    f"got {describe(*response)}",
                )
                run = self._run_of(response)
                if run is not None and run.id not in self.ref:
                    self.ref[run.id] = run
                    self.latest = run.id
                    self._observe_steps(run.id, what)
                return
            self._expect_refusal(what, response, err, active.id)
            return
        run = self._expect_created(what, response, thread_id, extra)
        if run is not None:
            self.latest = run.id
            self._observe_steps(run.id, what)

    @precondition(lambda self: self.latest is not None and self.ref[self.latest].status.is_terminal)
    @rule(thread=st.sampled_from((0, 1)))
    def create_next_run(self, thread: int) -> None:
        """Create a run once the focused run has ended: runs live one after another."""
        self.create_run(thread)

    @precondition(lambda self: self.latest is not None)
    @rule()
    def retrieve(self) -> None:
        """Retrieve the latest runs: a request on one run must not change another.

        The last four runs created (both threads' latest among them) are enough to
        catch a request leaking into another run, and keep the cost of a step flat when
        an implementation without a thread lock piles runs up.
        """
        self._log("retrieve()")
        for run_id in list(self.ref)[-4:]:
            before = self.ref[run_id]
            response = unpack("retrieve_run", self.impl.retrieve_run(before.thread_id, run_id))
            if before.status is _CANCELLING and self._settle(before, response) is not before:
                continue  # the cancel took effect on its own, and was checked as such
            what = f"retrieve of {a_status(before.status)} run ({run_id})"
            self._expect_run("retrieve", what, response, before, before)
        latest = self._focus()
        self._observe_steps(latest.id, f"retrieve of {a_status(latest.status)} run ({latest.id})")

    @precondition(lambda self: self.latest is not None)
    @rule()
    def cancel(self) -> None:
        self._log("cancel()")
        run_id = self._focus().id
        self._observe_steps(run_id, self._cancel())

    def _cancel(self) -> str:
        before = self._focus()
        documented = self.options.documented_only
        response = unpack("cancel_run", self.impl.cancel_run(before.thread_id, before.id))

        def expect(run: Run) -> Run | APIError:
            decision = ops.check_cancel(run, documented_only=documented)
            if decision.error is not None:
                return decision.error
            return ops.cancel(run, now=latest_stamp(run), documented_only=documented)

        before = self._settled(before, response, expect(before))
        expected = expect(before)
        what = f"cancel on {a_status(before.status)} run ({before.id})"
        self.tally.reached(Op.CANCEL.value, before.status.value, isinstance(expected, Run))
        if isinstance(expected, APIError):
            accepted = (
                "cancel-accepted-cancelling" if before.status is _CANCELLING else "cancel-accepted"
            )
            self._expect_refusal(what, response, expected, before.id, accepted)
            return what
        self._expect_run(Op.CANCEL.value, what, response, expected, before)
        return what

    @precondition(lambda self: self._focus_in(RunStatus.IN_PROGRESS, RunStatus.REQUIRES_ACTION))
    @rule()
    def cancel_started(self) -> None:
        """Cancel a run that started: the cancel may then race a completion."""
        self.cancel()

    @precondition(lambda self: self._focus_in(RunStatus.REQUIRES_ACTION))
    @rule()
    def submit_tool_outputs(self) -> None:
        """Submit one output per pending tool call, as a client should."""
        self._log("submit_tool_outputs()")
        self._submit("all")

    @precondition(lambda self: self._focus_in(RunStatus.REQUIRES_ACTION))
    @rule(how=st.sampled_from(SUBMISSIONS[1:]))
    def submit_wrong_tool_outputs(self, how: str) -> None:
        """Submit outputs in another order, a call missing, replaced, added or twice."""
        self._log(f"submit_wrong_tool_outputs(how={how!r})")
        self._submit(how)

    @precondition(lambda self: self.latest is not None)
    @rule(how=st.sampled_from(SUBMISSIONS))
    def submit_anywhere(self, how: str) -> None:
        """Submit outputs on any status: right, reordered, or wrong in one of four ways."""
        self._log(f"submit_anywhere(how={how!r})")
        self._submit(how)

    def _submit(self, how: str) -> None:
        run_id = self._focus().id
        what, tool_outputs = self._submit_now(how)
        self._observe_steps(run_id, what, tool_outputs)

    def _submit_now(self, how: str) -> tuple[str, list[dict[str, str]]]:
        before = self._focus()
        pending = (
            [c.id for c in before.required_action.submit_tool_outputs.tool_calls]
            if before.required_action is not None
            else ["call_not_pending"]
        )
        ids = {
            "all": pending,
            "reversed": pending[::-1],
            "one_missing": pending[:-1],
            # A pending call left out is refused for certain (M); an unknown call next
            # to every pending one is refused by runstate on weak evidence (L).
            "one_replaced": [*pending[:-1], "call_unknown"],
            "unknown_id": [*pending, "call_unknown"],
            "one_twice": [*pending, pending[0]],
        }[how]
        tool_outputs = [{"tool_call_id": i, "output": f"result of {i}"} for i in ids]
        response = unpack(
            Op.SUBMIT_TOOL_OUTPUTS.value,
            self.impl.submit_tool_outputs(before.thread_id, before.id, tool_outputs),
        )

        def expect(run: Run) -> Run | APIError:
            try:
                return ops.submit_tool_outputs(run, tool_outputs, now=latest_stamp(run))
            except APIError as err:
                return err

        before = self._settled(before, response, expect(before))
        expected = expect(before)
        what = f"submit_tool_outputs {ids} on {a_status(before.status)} run ({before.id})"
        self.tally.reached(
            Op.SUBMIT_TOOL_OUTPUTS.value, before.status.value, isinstance(expected, Run)
        )
        if isinstance(expected, APIError):
            if before.status is not RunStatus.REQUIRES_ACTION:
                accepted = "submit-accepted"
            elif how == "unknown_id":
                accepted = "submit-unknown-id-accepted"
            else:
                accepted = "submit-ids-accepted"
            self._expect_refusal(what, response, expected, before.id, accepted)
            return what, tool_outputs
        self._expect_run("submit", what, response, expected, before)
        return what, tool_outputs

    # The worker's moves: one rule per usual move, drawn when the focused run's status
    # allows it; the unusual endings (fail, a token limit, expiry) share one, so that runs
    # live long enough to go round the tool-output loop; ``drive_anywhere`` tries every
    # move on every status. Hypothesis' swarm testing switches whole rules off for some
    # test cases, which reaches deeper still. A step left out of ``steps=`` is a no-op.

    @precondition(lambda self: self._focus_in(RunStatus.QUEUED))
    @rule()
    def drive_start(self) -> None:
        self._drive(Op.START.value)

    @precondition(lambda self: self._focus_in(RunStatus.IN_PROGRESS))
    @rule()
    def drive_require_action(self) -> None:
        self._drive(Op.REQUIRE_ACTION.value)

    @precondition(lambda self: self._focus_in(RunStatus.IN_PROGRESS, _CANCELLING))
    @rule()
    def drive_complete(self) -> None:
        self._drive(Op.COMPLETE.value)

    @precondition(lambda self: self._focus_in(_CANCELLING))
    @rule()
    def drive_finish_cancel(self) -> None:
        self._drive(Op.FINISH_CANCEL.value)

    @precondition(lambda self: self._focus_in(*ACTIVE_STATUSES))
    @rule(step=st.sampled_from(UNUSUAL_ENDINGS))
    def drive_end(self, step: StepKind) -> None:
        self._drive(step, f"drive_end(step={step!r})")

    @precondition(lambda self: self._focus_in(RunStatus.REQUIRES_ACTION, _CANCELLING))
    @rule(step=st.sampled_from(UNUSUAL_ENDINGS))
    def drive_end_late(self, step: StepKind) -> None:
        """End a run waiting for tool outputs or for its cancel: the rarest endings."""
        self._drive(step, f"drive_end_late(step={step!r})")

    @precondition(lambda self: self.latest is not None)
    @rule(step=st.sampled_from(STEP_KINDS))
    def drive_anywhere(self, step: StepKind) -> None:
        self._drive(step, f"drive_anywhere(step={step!r})")

    # Weights. Hypothesis draws uniformly among the rules whose preconditions hold; a
    # rule also listed under a second name is drawn that much more often (and still
    # prints under its own name). The moves that make progress get two to four shares:
    # tool rounds most, so that runs go round the loop before they end.
    _submit_2 = _submit_3 = _submit_4 = submit_tool_outputs
    _drive_start_2 = _drive_start_3 = drive_start
    _drive_require_action_2 = _drive_require_action_3 = _drive_require_action_4 = (
        drive_require_action
    )
    _drive_complete_2 = drive_complete
    _submit_wrong_tool_outputs_2 = submit_wrong_tool_outputs
    _drive_finish_cancel_2 = drive_finish_cancel
    _cancel_started_2 = cancel_started
    _drive_end_2 = drive_end
    _drive_end_late_2 = _drive_end_late_3 = drive_end_late
    _create_next_run_2 = create_next_run

    # -- steering (the engine's ``steer`` rule; the way there: ``_steering``) ----------------

    def _steer(self, operation: str, status: str, variant: int) -> None:
        steering.steer(self, operation, status, variant)

    def _focus_in(self, *statuses: RunStatus) -> bool:
        return self.latest is not None and self.ref[self.latest].status in statuses

    def _focus(self) -> Run:
        assert self.latest is not None
        return self.ref[self.latest]

    def _drive(self, kind: StepKind, call: str | None = None) -> None:
        self._log(call or f"drive_{kind}()")
        if kind not in self.options.steps:
            return
        run_id = self._focus().id
        self._observe_steps(run_id, self._drive_now(kind))

    def _drive_now(self, kind: StepKind) -> str:
        before = self._focus()
        payload = self._step(kind)
        response = unpack("drive", self.impl.drive(before.thread_id, before.id, payload))

        def expect(run: Run) -> Run | None:
            try:
                return reference_step(run, payload, latest_stamp(run))
            except TransitionError:
                return None

        first = expect(before)
        before = self._settled(before, response, first if first is not None else "4xx")
        what = f"drive {kind!r} on {a_status(before.status)} run ({before.id})"
        expected = expect(before)
        self.tally.reached(kind, before.status.value, expected is not None)
        if expected is None:
            # A worker move the table forbids has no API answer: any 4xx will do, and
            # the run must stay as it was.
            status = response[0]
            if success(status):
                self._diverge(
                    "drive-accepted", what, f"expected a 4xx refusal, got {describe(*response)}"
                )
                run = self._run_of(response)
                if run is not None and run.id == before.id:
                    self.ref[run.id] = run
                    self.off_table.add(run.id)
                return what
            if not 400 <= status < 500:
                self._diverge(
                    "refusal-status", what, f"expected a 4xx refusal, got {describe(*response)}"
                )
            self._check_unchanged(what, before.id)
            return what
        if not success(response[0]):
            weak = CONFIDENCE.get((before.status, expected.status)) == "L"
            self._diverge(
                "drive-refused-weak" if weak else "drive-refused",
                what,
                f"expected 200 status {expected.status.value!r}, got {describe(*response)}",
            )
            return what
        self._expect_step("drive", what, before, payload, response)
        return what

    # -- what the worker is told ----------------------------------------------------------

    def _step(self, kind: StepKind) -> Step:
        if kind == Op.REQUIRE_ACTION.value:
            self.asked += 1
            count = 1 + self.asked % 2  # two calls first, then one, then two...
            calls = []
            for _ in range(count):
                self.calls += 1
                call: dict[str, Any] = {
                    "id": f"call_{self.calls}",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": json.dumps({"n": self.calls})},
                }
                if self.options.probe_unknown_fields:
                    call["x_runstate_probe"] = {"call": self.calls}
                calls.append(call)
            return Step(kind=kind, tool_calls=tuple(calls))
        if kind == Op.FAIL.value:
            return Step(kind=kind, last_error=dict(LAST_ERROR), usage=dict(USAGE))
        if kind == Op.MARK_INCOMPLETE.value:
            return Step(kind=kind, reason="max_completion_tokens", usage=dict(USAGE))
        if kind in (Op.COMPLETE.value, Op.FINISH_CANCEL.value):
            return Step(kind=kind, usage=dict(USAGE))
        return Step(kind=kind)


# --------------------------------------------------------------------------------------
# The entry points


def _check_arguments(
    factory: object,
    settings: object,
    documented_only: object,
    probe_unknown_fields: object,
    accept: object,
    steps: object,
    assistant_id: object,
) -> tuple[frozenset[str], frozenset[StepKind]]:
    if not callable(factory):
        raise InvalidArgument(f"factory={factory!r} must be callable")
    engine.check_settings(settings)
    for name, value in (
        ("documented_only", documented_only),
        ("probe_unknown_fields", probe_unknown_fields),
    ):
        if not isinstance(value, bool):
            raise InvalidArgument(f"{name}={value!r} must be a bool")
    names = engine.check_choice(
        "accept", accept, RULES, "rule names", "rule", " (see runstate.testing.RULES)"
    )
    kinds = engine.check_choice("steps", steps, STEP_KINDS, "step kinds", "step kind")
    if not isinstance(assistant_id, str) or not assistant_id:
        raise InvalidArgument(f"assistant_id={assistant_id!r} must be a non-empty string")
    return names, kinds


def run_conformance(
    factory: Callable[[], Implementation],
    *,
    settings: hypothesis.settings | None = None,
    seed: int | None = None,
    max_examples: int | None = None,
    documented_only: bool = False,
    probe_unknown_fields: bool = True,
    accept: Collection[str] = (),
    steps: Collection[StepKind] = STEP_KINDS,
    assistant_id: str = DEFAULT_ASSISTANT_ID,
    max_divergences: int | None = None,
    progress: Callable[[str], object] | None = None,
    timeout: float | None = None,
) -> ConformanceReport:
    """Survey an implementation: every distinct divergence, each with a minimal example.

    The survey is a series of hypothesis searches of the stateful test described in
    :func:`conformance_test`. When a search fails, its shrunk failure is recorded as a
    :class:`Divergence` and its rule is tolerated from then on: the kit counts it and
    goes on from what the implementation answered, and the next search looks for the
    next divergence. The last search, with nothing new found, runs the full
    ``max_examples`` and supplies the counts and the reach. There are at most
    ``len(RULES) + 1`` searches.

    Nothing here reads the environment: pass ``seed`` and ``max_examples`` (or
    ``settings``) explicitly, from a script or a CI job.

    Args:
        factory: Called with no arguments for each test case; returns a fresh
            :class:`Implementation` (a class works; a closure can carry a pytest
            fixture's value, such as a server's port).
        settings: Hypothesis settings; by default the current profile's, with no
            deadline and no health checks. ``report_multiple_bugs`` is always off.
        seed: Seeds every search, for a run that can be repeated (hypothesis' ``@seed``).
        max_examples: Overrides ``settings.max_examples``.
        documented_only: Expect the documented cancel guard (only ``in_progress`` runs
            may be cancelled) instead of the observed one, as :func:`runstate.cancel`.
        probe_unknown_fields: Create every run with an unknown, nested field and give
            tool calls an unknown key, and check they are echoed unchanged. Turn off for
            servers that refuse or drop unknown request fields by design.
        accept: Rule names (keys of :data:`RULES`) known to differ: tolerated and
            counted from the start, reported under ``accepted``, never failing.
        steps: The worker steps the implementation can drive; the others are not
            asked for. ``()`` means no worker at all (``drive`` may then be missing).
        assistant_id: The assistant runs are created with, unless the implementation
            has a ``create_assistant()`` method, which is then called per test case.
        max_divergences: Stop once this many divergences are found, without the last
            full search (the counts and the reach then come from the last search made).
            ``None`` (the default) surveys everything.
        progress: Called with one line of text per event: a divergence when first
            seen (before it is shrunk), and each round's end with its seconds
            (``progress=print`` shows a long survey as it goes). The same lines are
            logged at ``INFO`` on the ``runstate.testing`` logger.
        timeout: Seconds after which the survey stops (checked between two steps) and
            returns what it found: ``report.stopped`` is then ``"timeout"``, and a
            divergence being shrunk is reported unshrunk. A ``KeyboardInterrupt`` does
            the same (``report.stopped == "interrupted"``).

    Returns:
        The :class:`ConformanceReport`. Its ``raise_if_failed()`` raises
        :class:`DivergencesFound` unless it is ``ok``.

    Raises:
        hypothesis.errors.InvalidArgument: for a bad argument, an unknown rule name in
            ``accept``, or an implementation that lacks a method.

    Example:
        In a test or a script (``ReferenceServer`` is any class with the protocol's
        methods)::

            report = run_conformance(ReferenceServer, seed=1234, max_examples=200)
            print(report.summary())
            print(report.reach_table())
            report.raise_if_failed()

        >>> try:
        ...     run_conformance(lambda: None, accept={"no-such-rule"})
        ... except InvalidArgument as exc:
        ...     print(exc)
        accept= names no such rule: no-such-rule (see runstate.testing.RULES)
    """
    names, kinds = _check_arguments(
        factory, settings, documented_only, probe_unknown_fields, accept, steps, assistant_id
    )
    engine.check_seed(seed)
    engine.check_counts(max_examples=max_examples, max_divergences=max_divergences)
    engine.check_progress(progress, timeout)
    label = engine.label(factory)

    def options(tolerated: frozenset[str]) -> Options:
        return Options(
            factory,
            documented_only,
            probe_unknown_fields,
            kinds,
            assistant_id,
            tolerated,
            Tally(),
        )

    survey = engine.search(
        Conformance,
        options,
        name=f"{label}Conformance",
        module=getattr(factory, "__module__", __name__),
        doc=f"The runstate conformance machine for {label}.",
        settings=engine.search_settings(settings, max_examples),
        seed=seed,
        tolerated=names,
        max_divergences=max_divergences,
        progress=progress,
        timeout=timeout,
    )
    tally = cast("Tally", survey.tally)
    return ConformanceReport(
        label=label,
        divergences=survey.found,
        accepted={n: tally.seen[n] for n in sorted(names)},
        reach={k: (v[0], v[1]) for k, v in sorted(tally.reach.items())},
        examples=tally.cases,
        rounds=survey.rounds,
        seconds=survey.seconds,
        steps_checked=tally.steps_checked,
        case_reach=dict(sorted(tally.case_reach.items())),
        stopped=survey.stopped,
    )


def conformance_test(
    factory: Callable[[], Implementation],
    *,
    settings: hypothesis.settings | None = None,
    seed: int | None = None,
    documented_only: bool = False,
    probe_unknown_fields: bool = True,
    accept: Collection[str] = (),
    steps: Collection[StepKind] = STEP_KINDS,
    assistant_id: str = DEFAULT_ASSISTANT_ID,
    progress: Callable[[str], object] | None = None,
    timeout: float | None = None,
) -> type[unittest.TestCase]:
    """Build a test case that surveys an implementation with :func:`run_conformance`.

    Each test case calls ``factory()`` for a fresh implementation, creates two threads,
    then runs random steps: create runs (the thread lock must hold), retrieve, cancel,
    submit right and wrong tool outputs, and play the worker through ``drive``. Every
    response is compared with what runstate's own operations make of the last response
    seen for that run: the HTTP status, the new status, every field (unknown ones
    included, at every level), the per-status rules (:func:`runstate.violations`), the
    refusal's exact body (``err.to_api_error()``), and the run's history as a polled
    trace. Timestamps are compared by relation (set or null, ordered, unchanged), never
    by value: the implementation's clock is its own.

    The test prints the report's summary (accepted counts included) and fails with
    :class:`DivergencesFound` listing every divergence graded ``error``, each with its
    minimal program. The arguments are :func:`run_conformance`'s; the test needs no
    fixture (for a factory that needs one, call :func:`run_conformance` in a test
    function instead).

    Args:
        factory: Called with no arguments for each test case; returns a fresh
            :class:`Implementation` (a class works).
        settings: Hypothesis settings; see :func:`run_conformance`.
        seed: Seeds every search.
        documented_only: Expect the documented cancel guard.
        probe_unknown_fields: Check that unknown fields are echoed unchanged.
        accept: Rule names known to differ, tolerated and counted.
        steps: The worker steps the implementation can drive.
        assistant_id: The assistant runs are created with.
        progress: Called with each progress line (see :func:`run_conformance`).
        timeout: Seconds for the whole survey. A survey stopped by it fails the test
            (with what it found); one stopped by ``KeyboardInterrupt`` prints what it
            found and lets the interrupt through.

    Returns:
        A :class:`unittest.TestCase` subclass with one test, ``runTest``; assign it to a
        ``Test...`` name in a test module and pytest or unittest runs it.

    Raises:
        hypothesis.errors.InvalidArgument: for bad arguments (at once); a factory whose
            objects lack a method fails when the test runs, naming the missing methods.

    Example:
        In a test module::

            from hypothesis import settings
            from runstate.testing import conformance_test

            TestReferenceServer = conformance_test(
                ReferenceServer, settings=settings(max_examples=50, deadline=None)
            )

        >>> import unittest
        >>> TestNothing = conformance_test(lambda: None)  # fails when run: no methods
        >>> issubclass(TestNothing, unittest.TestCase)
        True
    """
    _check_arguments(
        factory, settings, documented_only, probe_unknown_fields, accept, steps, assistant_id
    )
    engine.check_seed(seed)
    engine.check_progress(progress, timeout)
    label = engine.label(factory)

    def run_test(self: unittest.TestCase) -> None:
        report = run_conformance(
            factory,
            settings=settings,
            seed=seed,
            documented_only=documented_only,
            probe_unknown_fields=probe_unknown_fields,
            accept=accept,
            steps=steps,
            assistant_id=assistant_id,
            progress=progress,
            timeout=timeout,
        )
        print(report.summary())
        if report.stopped == "interrupted":
            raise KeyboardInterrupt
        report.raise_if_failed()
        if report.stopped is not None:
            self.fail(report.summary())

    return engine.unittest_case(
        f"{label}Conformance",
        getattr(factory, "__module__", __name__),
        f"The runstate conformance survey of {label}.",
        run_test,
    )
