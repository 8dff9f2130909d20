"""Step rules: what the kit knows of a run's steps, and the checks of every listing.

The second half of :data:`runstate.testing.RULES` (the ones in
:data:`runstate.testing.STEP_RULES`), what runstate makes of a run's move for its steps,
and :class:`StepChecks`, the test case's checks of each ``list_steps`` page.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Final

from .._errors import Error, InvalidRun
from .._events import stream_events
from .._invariants import violations
from .._model import (
    TOOL_CALLS,
    FunctionToolCall,
    MessageCreationDetails,
    Run,
    RunStep,
    StepStatus,
    ToolCallsDetails,
)
from .._operations import Op
from .._status import RunStatus
from .._steps import (
    RUN_END_EFFECTS,
    STEP_TRANSITIONS,
    RunLife,
    advance,
    dump_step,
    parse_step,
    step_violations,
)
from .._table import OPERATION_FOR_TARGET, can_transition
from .._trace import TraceChecker, check_trace
from ._adapters import unpack
from ._engine import Rule, rule_table
from ._report import a_status, brief, bullets, json_diff
from ._run_rules import latest_stamp
from ._state import Kit, StepView

__all__ = [
    "STEP_RULE_TABLE",
    "StepChecks",
    "expected_life",
    "moved_rule",
]

#: The rules about run steps, by name: checked only when the implementation has
#: ``list_steps``; they follow :data:`RUN_RULES` in :data:`runstate.testing.RULES`.
STEP_RULE_TABLE: Final[Mapping[str, Rule]] = rule_table(
    (
        "steps-list",
        "H",
        "spec ListRunStepsResponse: 200 with a list object",
        "listing a run's steps did not answer 200 with a list page",
    ),
    (
        "steps-list-order",
        "M",
        "spec listRunSteps: order defaults to desc",
        "the default steps page is not newest first",
    ),
    (
        "step-invalid",
        "H",
        "spec RunStepObject (runstate.steps.parse_step)",
        "a listed step is not a valid step object",
    ),
    (
        "step-per-status-rules",
        "M",
        "spec RunStepObject, spec-facts §11 (runstate.steps.step_violations)",
        "a step breaks a per-status rule of steps",
    ),
    (
        "step-foreign",
        "H",
        "spec-facts §11: every step carries its run's ids",
        "a listed step names another run, thread or assistant",
    ),
    (
        "step-disappeared",
        "H",
        "the kit is the only client; no endpoint deletes a step",
        "a step listed before is no longer listed",
    ),
    (
        "step-status-move",
        "H",
        "the step table (runstate.steps.STEP_TRANSITIONS): an ended step never moves",
        "a step's status moved where the step table allows no move",
    ),
    (
        "step-changed",
        "M",
        "spec-facts §11: a step keeps its type, creation time and message; an ended step is final",
        "a step's type, creation time or message id changed, or an ended step changed",
    ),
    (
        "step-time-order",
        "M",
        "spec field semantics; spec-facts §11: the run's terminal event comes after every step's",
        "a step was created before its run, or ended after its run ended",
    ),
    (
        "step-opened-not-in-progress",
        "M",
        "spec-facts §11: steps follow the run's in_progress (runstate.advance)",
        "a step appeared while the run was not in_progress",
    ),
    (
        "step-open-at-run-end",
        "M",
        "spec-facts §11 (H for completed); §1.6 for expired; the step statuses",
        "a step is still in_progress once its run has ended",
    ),
    (
        "step-end-status",
        "M",
        "RUN_END_EFFECTS rows H or M (complete, mark_incomplete)",
        "an open step ended with its run in another status than RUN_END_EFFECTS says",
    ),
    (
        "step-end-status-weak",
        "L",
        "RUN_END_EFFECTS rows L (finish_cancel, fail, expire): inferred",
        "an open step ended with its run in another status than RUN_END_EFFECTS says",
    ),
    (
        "step-tool-calls",
        "H",
        "spec-facts §11: the tool_calls step stays open through requires_action",
        "at requires_action no tool_calls step is open holding the required calls",
    ),
    (
        "step-tool-outputs",
        "H",
        "spec-facts §11: the submit completes the tool_calls step, outputs attached",
        "after accepted tool outputs the tool_calls step is not completed with them",
    ),
    (
        "step-moved",
        "H",
        "the kit is the only client; runstate.advance moves no step here",
        "a step changed on a request or worker move that leaves steps as they are",
    ),
    (
        "step-moved-on-cancel",
        "L",
        "RUN_END_EFFECTS: a cancel leaves steps open until it takes effect (inferred)",
        "a step moved when the run became cancelling",
    ),
    (
        "step-stream",
        "H",
        "runstate.check_trace(mode='stream') over the run's steps, replayed",
        "the run's history with its steps, replayed as one stream, breaks the lifecycle",
    ),
)


# --------------------------------------------------------------------------------------
# Run steps: what the kit knows of a run's steps, and what runstate makes of a move


_PLACEHOLDER_STEP: Final = "step_runstate_kit_expected"
#: The default ``limit`` of a list endpoint: a page holds at most this many steps.
_PAGE_LIMIT: Final = 20
_OPEN: Final = StepStatus.IN_PROGRESS
_IN_PROGRESS: Final = RunStatus.IN_PROGRESS


def _call_view(step: RunStep) -> list[tuple[object, ...]]:
    """A ``tool_calls`` step's function calls as ``(id, name, arguments, output)``."""
    details = step.step_details
    if type(details) is not ToolCallsDetails:
        return []
    return [
        (c.id, c.function.name, c.function.arguments, c.function.output)
        for c in details.tool_calls
        if type(c) is FunctionToolCall
    ]


def expected_life(
    before: StepView, after: Run, new: Sequence[RunStep], outputs: object
) -> tuple[str | None, RunLife | None]:
    """The run operation between two listings, and what runstate makes of the steps.

    The steps are what :func:`runstate.advance` makes of the earlier ones with the
    operation (``None`` where runstate cannot say).

    The operation is read from the run's move (:data:`runstate.OPERATION_FOR_TARGET`):
    the kit lists steps after every request, so a run makes at most one move between
    two listings. Its arguments are the ones the run itself shows (tool calls, error,
    reason, usage) and, for a submit, the outputs the kit sent. A run that does not show
    them (``required_action`` or ``incomplete_details.reason`` null, say), or that
    breaks a per-status rule, gives no expectation: the run rules report it, and the
    steps are not compared.
    """
    run = before.run
    if run.status is after.status:
        return None, RunLife(run=run, steps=before.steps)
    if not can_transition(run.status, after.status):
        return None, None  # pragma: no cover - listings follow every move
    op = OPERATION_FOR_TARGET[after.status]
    if any(v.severity == "error" for v in violations(after)):
        return op, None
    arguments: dict[str, Any] = {}
    if op is Op.REQUIRE_ACTION:
        if after.required_action is None:  # pragma: no cover - a per-status rule
            return op, None
        opened = [s.id for s in new if s.type == TOOL_CALLS and s.status is _OPEN]
        arguments = {
            "tool_calls": after.required_action.submit_tool_outputs.tool_calls,
            "step_id": opened[0] if opened else _PLACEHOLDER_STEP,
        }
    elif op is Op.SUBMIT_TOOL_OUTPUTS:
        if outputs is None:
            return op, None  # pragma: no cover - the kit submits before it lists
        arguments = {"tool_outputs": outputs}
    elif op is Op.FAIL:
        if after.last_error is None:  # pragma: no cover - a per-status rule
            return op, None
        arguments = {"error": after.last_error, "usage": after.usage}
    elif op is Op.MARK_INCOMPLETE:
        details = after.incomplete_details
        if details is None or details.reason is None:  # the spec allows no reason
            return op, None
        arguments = {"reason": details.reason, "usage": after.usage}
    elif op in (Op.COMPLETE, Op.FINISH_CANCEL):
        arguments = {"usage": after.usage}
    stamps = [latest_stamp(run), latest_stamp(after), *(s.created_at for s in before.steps)]
    if op is Op.EXPIRE and run.expires_at is not None:
        stamps.append(run.expires_at)
    try:
        return op, advance(run, before.steps, op, now=max(stamps), **arguments)
    except Error:
        return op, None  # steps runstate cannot move (after a tolerated divergence)


def _step_diff(old: RunStep, new: RunStep) -> str:
    diffs: list[tuple[str, str]] = []
    json_diff(dump_step(old), dump_step(new), "", diffs)
    return f"{new.id}: " + "; ".join(line for _, line in diffs[:4])


def _off_page(view: StepView, listed: Mapping[str, RunStep], life: RunLife | None) -> list[RunStep]:
    """The known steps off the first page: what runstate.advance made of them, if known.

    They are not held against the server: the view (and the replayed stream) carries
    runstate's expectation for them, or their last listed copy where runstate cannot say.
    """
    expected = {s.id: s for s in life.steps} if life is not None else {}
    return [expected.get(s.id, s) for s in view.steps if s.id not in listed]


def _last_open_tool_step(steps: Sequence[RunStep]) -> str | None:
    """The open ``tool_calls`` step :func:`runstate.advance` works on (the latest)."""
    return next((s.id for s in reversed(steps) if s.type == TOOL_CALLS and s.status is _OPEN), None)


def _touched(op: str | None, before: Sequence[RunStep], life: RunLife) -> frozenset[str]:
    """The steps the run's operation moves: the rest may move on their own in between.

    ``require_action`` works on the open ``tool_calls`` step (the one it opens, or the
    open one it fills), a submit on the open ``tool_calls`` step it completes, an end of
    the run on every open step; ``cancel`` and ``start`` on none.
    """
    if op is not None and op in RUN_END_EFFECTS:
        return frozenset(s.id for s in before if s.status is _OPEN)
    found = None
    if op == Op.REQUIRE_ACTION:
        found = _last_open_tool_step(life.steps)
    elif op == Op.SUBMIT_TOOL_OUTPUTS:
        found = _last_open_tool_step(before)
    return frozenset(() if found is None else (found,))


def moved_rule(op: str | None, listed: RunStep, touched: bool) -> str:
    """The rule a step breaks by not being what runstate's ``op`` made of it."""
    if touched and op is not None and op in RUN_END_EFFECTS:
        if listed.status is _OPEN:  # pragma: no cover - _check_known names it first
            return "step-open-at-run-end"
        weak = RUN_END_EFFECTS[op].confidence == "L"
        return "step-end-status-weak" if weak else "step-end-status"
    if touched and op == Op.REQUIRE_ACTION:
        return "step-tool-calls"
    if touched and op == Op.SUBMIT_TOOL_OUTPUTS:
        return "step-tool-outputs"
    if op == Op.CANCEL:
        return "step-moved-on-cancel"
    return "step-moved"


def _message_id(step: RunStep) -> str | None:
    """A ``message_creation`` step's message: part of the step's identity."""
    details = step.step_details
    if type(details) is MessageCreationDetails:
        return details.message_creation.message_id
    return None


def _end_stamp(item: RunStep | Run) -> int | None:
    """When a step or run ended, where it says (an expired one does not)."""
    stamps = [s for s in (item.completed_at, item.cancelled_at, item.failed_at) if s is not None]
    return max(stamps) if stamps else None


class StepChecks(Kit):
    """A test case's checks of the run steps it lists after every request on a run."""

    def _observe_steps(self, run_id: str | None, what: str, outputs: object = None) -> None:
        """List the run's steps, if the implementation can, and check them.

        Checked against the last listing (``self.views``): each step parses and keeps
        its per-status rules, its run's ids and its place in the run's time; the page is
        newest first; no step disappears or moves against the step table; what the run's
        move did to the steps it works on is what :func:`runstate.advance` does; no step
        is open once the run has ended; and, while nothing else diverged, the run's
        history with its steps, replayed as one stream, passes
        :func:`runstate.check_trace`. A malformed page is reported and compared with
        nothing: the last listing stays the view, and the next listing is not compared
        move by move (the run may have moved twice since).
        """
        if self.list_steps is None or run_id is None or run_id not in self.ref:
            return
        run = self.ref[run_id]
        what = f"list steps after {what}"
        response = unpack("list_steps", self.list_steps(run.thread_id, run_id))
        page = self._read_page(what, response)
        if page is None:
            self.gaps.add(run_id)
            return
        listed, has_more = page
        view = self.views.get(run_id)
        gap = run_id in self.gaps
        self.gaps.discard(run_id)
        groups: dict[str, list[str]] = {}

        def add(name: str, problem: str) -> None:
            groups.setdefault(name, []).append(problem)

        good = self._check_each(run, listed, add)
        known = {s.id: s for s in view.steps} if view is not None else {}
        order = {s.id: i for i, s in enumerate(view.steps)} if view is not None else {}
        self._check_order(listed, order, add)
        by_id = {s.id: s for s in good}
        gone = [i for i in known if i not in by_id and not has_more]
        if gone:
            add("step-disappeared", f"{gone} listed before, not now")
        new = [s for s in good if s.id not in known]
        flagged: set[str] = set()
        before_status = view.run.status if view is not None else None
        if new and not gap and _IN_PROGRESS not in (before_status, run.status):
            moved = "was created" if before_status is None else f"went {before_status.value!r} ->"
            add(
                "step-opened-not-in-progress",
                f"{[s.id for s in new]} appeared while the run {moved} {run.status.value!r}",
            )
        self._check_known(run, good, known, flagged, add)
        life: RunLife | None = None
        if view is not None and not gap and run_id not in self.off_table:
            op, life = expected_life(view, run, new, outputs)
            if life is not None:
                self._check_move(view, op, life, new, by_id, flagged, add)
        hidden = set(view.hidden) if view is not None else set()
        hidden.update(s.id for s in new if s.status is not _OPEN)
        steps = tuple(reversed(good))
        checker = view.checker if view is not None else TraceChecker(mode="stream")
        off_page = _off_page(view, by_id, life) if has_more and view is not None else []
        if off_page and life is None:
            checker = None  # where runstate cannot say what became of them, stop
        steps = (*off_page, *steps)
        if groups or gap or run_id in self.off_table:
            checker = None
        new_view = StepView(run=run, steps=steps, hidden=frozenset(hidden), checker=checker)
        self.views[run_id] = new_view
        for name, problems in groups.items():
            self._diverge(name, what, f"the run is now {run.status.value!r}:" + bullets(problems))
        if checker is not None:
            self._replay(what, view, new_view)

    @staticmethod
    def _check_each(
        run: Run, listed: Sequence[RunStep], add: Callable[[str, str], None]
    ) -> list[RunStep]:
        """Each step on its own; the ones that are the run's (the rest are foreign)."""
        good: list[RunStep] = []
        for step in listed:
            broken = [v for v in step_violations(step) if v.severity == "error"]
            for v in broken:
                add("step-per-status-rules", f"{step.id}: {v.field}: {v.message} [{v.rule}]")
            ids = (step.run_id, step.thread_id, step.assistant_id)
            if ids != (run.id, run.thread_id, run.assistant_id):
                add(
                    "step-foreign",
                    f"{step.id}: run_id, thread_id, assistant_id are {brief(list(ids))}, "
                    f"expected {brief([run.id, run.thread_id, run.assistant_id])}",
                )
                continue
            StepChecks._check_times(run, step, add)
            good.append(step)
        return good

    @staticmethod
    def _check_times(run: Run, step: RunStep, add: Callable[[str, str], None]) -> None:
        """A step is created within its run's life and ends before the run ends."""
        if step.created_at < run.created_at:
            add(
                "step-time-order",
                f"{step.id}: created_at {step.created_at} is before the run's created_at "
                f"{run.created_at}",
            )
        ended = _end_stamp(step)
        run_ended = _end_stamp(run) if run.status.is_terminal else None
        if ended is not None and run_ended is not None and ended > run_ended:
            add(
                "step-time-order",
                f"{step.id}: ended at {ended}, after its {run.status.value!r} run ended "
                f"at {run_ended} (the run's terminal event comes after every step's)",
            )

    @staticmethod
    def _check_known(
        run: Run,
        good: Sequence[RunStep],
        known: Mapping[str, RunStep],
        flagged: set[str],
        add: Callable[[str, str], None],
    ) -> None:
        """Steps move by the step table, keep their identity, and end with the run."""
        for step in good:
            old = known.get(step.id)
            if old is None:
                continue
            if step.status is not old.status and step.status not in STEP_TRANSITIONS[old.status]:
                add(
                    "step-status-move",
                    f"{step.id}: {old.status.value!r} -> {step.status.value!r}",
                )
                flagged.add(step.id)
            elif (step.type, step.created_at, _message_id(step)) != (
                old.type,
                old.created_at,
                _message_id(old),
            ) or (old.status is not _OPEN and step != old):
                add("step-changed", _step_diff(old, step))
                flagged.add(step.id)
        if run.status.is_terminal:
            for step in good:
                if step.status is _OPEN:
                    add(
                        "step-open-at-run-end",
                        f"{step.id} ({step.type}) is 'in_progress' on {a_status(run.status)} run",
                    )
                    flagged.add(step.id)

    def _read_page(self, what: str, response: tuple[int, Any]) -> tuple[list[RunStep], bool] | None:
        """The page's steps (newest first) and whether more may be on the next page.

        ``None`` after reporting a page the kit cannot compare: no list of step objects,
        a step that does not parse, or a step listed twice. ``has_more`` is believed only
        on a full page (the default limit, 20): a short page is the whole list.
        """
        status, body = response
        wanted = "200 with a list page of steps"
        if status != 200 or not isinstance(body, Mapping):
            self._diverge("steps-list", what, f"expected {wanted}, got {status} {brief(body)}")
            return None
        data = body.get("data")
        has_more = body.get("has_more")
        problems: list[str] = []
        malformed = False
        if body.get("object") != "list":
            problems.append(f"object: expected 'list', got {brief(body.get('object'))}")
        if not isinstance(data, list):
            shown = brief(data)
            if not isinstance(data, Mapping | str | int | float | None):
                shown = f"a Python {type(data).__name__} {shown}"
            problems.append(f"data: expected an array, got {shown}")
            data = []
            malformed = True
        if type(has_more) is not bool:
            problems.append(f"has_more: expected true or false, got {brief(has_more)}")
        elif has_more and not malformed and len(data) < _PAGE_LIMIT:
            problems.append(
                f"has_more: true on a page of {len(data)} steps, short of the default "
                f"limit of {_PAGE_LIMIT} (so nothing can be on a next page)"
            )
        if len(data) > _PAGE_LIMIT:
            problems.append(
                f"data: {len(data)} steps, more than the default limit of {_PAGE_LIMIT}"
            )
        for key, end in (("first_id", data[:1]), ("last_id", data[-1:])):
            if end and not isinstance(end[0], Mapping):
                continue  # not a step: step-invalid names it
            value = end[0].get("id") if end else None
            if body.get(key) != value:
                problems.append(f"{key}: expected {brief(value)}, got {brief(body.get(key))}")
        steps: list[RunStep] = []
        invalid: list[str] = []
        for i, item in enumerate(data):
            if not isinstance(item, Mapping):
                invalid.append(f"data[{i}]: expected a step object, got {brief(item, 200)}")
                continue
            try:
                steps.append(parse_step(item))
            except InvalidRun as exc:
                invalid.append(f"data[{i}]: " + "; ".join(str(e) for e in exc.errors))
        twice = sorted(i for i, n in collections.Counter(s.id for s in steps).items() if n > 1)
        if twice:
            problems.append(f"data: steps listed more than once: {twice}")
            malformed = True
        if problems:
            self._diverge("steps-list", what, f"expected {wanted}, got:" + bullets(problems))
        if invalid:
            self._diverge("step-invalid", what, "not a valid step:" + bullets(invalid))
        if malformed or invalid:
            return None
        return steps, has_more is True and len(data) >= _PAGE_LIMIT

    def _check_order(
        self,
        listed: Sequence[RunStep],
        order: Mapping[str, int],
        add: Callable[[str, str], None],
    ) -> None:
        """Newest first: ``created_at`` never rises, new steps first, known ones reversed."""
        problems: list[str] = []
        for a, b in itertools.pairwise(listed):
            if a.created_at < b.created_at:
                problems.append(f"{a.id} (created {a.created_at}) before {b.id} ({b.created_at})")
            elif b.id not in order:
                if a.id in order:
                    problems.append(f"{b.id}, new, after {a.id}, listed before")
            elif a.id in order and order[a.id] < order[b.id]:
                problems.append(f"{a.id}, older, before {b.id}")
        if problems:
            add("steps-list-order", "the page is not newest first: " + "; ".join(problems))

    def _check_move(
        self,
        view: StepView,
        op: str | None,
        life: RunLife,
        new: Sequence[RunStep],
        listed: Mapping[str, RunStep],
        flagged: Collection[str],
        add: Callable[[str, str], None],
    ) -> None:
        """What the run's move did to the steps it works on is what runstate.advance does.

        Only the steps the operation works on (:func:`_touched`) are held to runstate's
        result. The others may have moved on their own in between, as a worker's step
        operations move them (an open step completes: ``finish_message_step``,
        ``complete_tool_calls_step``), but only when the run moved; any other move of
        theirs is reported under the operation's rule for untouched steps.
        """
        before = {s.id: s for s in view.steps}
        touched = _touched(op, view.steps, life)
        for expected in life.steps:
            got = listed.get(expected.id)
            if expected.id in flagged:
                continue
            if got is None:
                if expected.id not in before:  # the tool_calls step advance opened
                    add(
                        "step-tool-calls",
                        "no tool_calls step is open (runstate.advance opens one holding "
                        f"the required calls {[c[0] for c in _call_view(expected)]})",
                    )
                continue
            mine = expected.id in touched
            if got.status is not expected.status:
                if (
                    not mine
                    and op is not None
                    and expected.status is _OPEN
                    and got.status is StepStatus.COMPLETED
                ):
                    continue  # the worker finished it on its own, beside the run's move
                add(
                    moved_rule(op, got, mine),
                    f"{got.id} ({got.type}): expected {expected.status.value!r} "
                    f"(runstate.advance {op or 'no move'!s}), got {got.status.value!r}",
                )
            elif _call_view(got) != _call_view(expected):
                rule = moved_rule(op, got, mine)
                if rule in ("step-open-at-run-end", "step-end-status", "step-end-status-weak"):
                    rule = "step-changed"
                add(
                    rule,
                    f"{got.id}: function calls (id, name, arguments, output) expected "
                    f"{brief(_call_view(expected), 300)}, got {brief(_call_view(got), 300)}",
                )

    def _replay(self, what: str, before: StepView | None, after: StepView) -> None:
        """Feed this change, as stream events, to the run's replayed stream."""
        checker = after.checker
        assert checker is not None
        hidden = after.hidden
        run = after.run
        shown = [s for s in after.steps if s.id not in hidden]
        try:
            if before is None:
                events = stream_events(None, RunLife(run=run, steps=tuple(shown)))
                known: set[str] = set()
            else:
                old = tuple(s for s in before.steps if s.id not in hidden)
                events = stream_events(
                    RunLife(run=before.run, steps=old), RunLife(run=run, steps=tuple(shown))
                )
                poll = check_trace([before.run, run], mode="poll").problems
                known = {p.rule for p in poll} | {v.rule for v in violations(before.run)}
        except Error as exc:
            after.checker = None
            self._diverge("step-stream", what, f"not one change of the run: {exc}")
            return
        known |= {v.rule for v in violations(run)}
        problems: list[str] = []
        for event in events:
            if event[0] == "done":
                continue  # one stream over the run's whole life: no pause
            for p in checker.feed(event):
                if p.severity == "error" and p.rule not in known:
                    problems.append(f"{p.rule} at {event[0]}: {p.message}")
        if problems:
            after.checker = None
            self._diverge(
                "step-stream",
                what,
                "the run's history with its steps, replayed as one stream, breaks "
                "the lifecycle:" + bullets(problems),
            )
