"""The kit's engine: hypothesis searches that report every distinct divergence, each once.

Nothing here knows a run. A machine under test is a :class:`Machine` subclass: it names
its ways to differ in a table of :class:`Rule` values (:attr:`Machine.rule_table`) and
calls :meth:`Machine._diverge` when an answer breaks one. :func:`search` runs the
machine's hypothesis test again and again: each failure, shrunk, becomes a
:class:`Divergence` whose rule is tolerated from then on (counted, and the machine goes
on), so that the next search looks past it; the last search, with nothing new found,
supplies the counts. A second machine (another API's lifecycle) reuses all of it with
its own rules, options and report.
"""

from __future__ import annotations

import collections
import logging
import re
import sys
import time
import unittest
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal, Protocol, TypeAlias, cast

import attrs
import hypothesis
import hypothesis.strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from .._errors import reduce_exception

__all__ = [
    "ConformanceFailure",
    "Options",
    "Divergence",
    "Evidence",
    "Grade",
    "Machine",
    "Rule",
    "SKIPPED_PHASES",
    "Survey",
    "Tally",
    "check_choice",
    "check_counts",
    "check_progress",
    "check_seed",
    "check_settings",
    "label",
    "rule_table",
    "search",
    "search_settings",
    "unittest_case",
]


# --------------------------------------------------------------------------------------
# Rules: every way to differ, with its grade and evidence

#: ``error`` fails the survey; ``warning`` is reported and counted, and does not.
Grade: TypeAlias = Literal["error", "warning"]
#: The evidence for what the kit expects: ``H``, ``M`` and ``L`` as in spec-facts §7
#: (``H`` = spec or docs and observation agree, ``M`` = one strong source, ``L`` =
#: inferred or weak), ``?`` where nothing is known (spec-facts §8.13), and ``opt-in`` for
#: a check the kit makes only when asked (``probe_unknown_fields``).
Evidence: TypeAlias = Literal["H", "M", "L", "?", "opt-in"]


@attrs.frozen
class Rule:
    """One way an implementation can differ from runstate, with the evidence for it.

    The grade follows the evidence: ``error`` for ``H``, ``M`` and ``opt-in``,
    ``warning`` for ``L`` and ``?``.

    Attributes:
        name: Stable, kebab-case, for machines and for ``accept=``.
        evidence: How sure the expectation is (see :data:`Evidence`).
        source: Where the expectation comes from, in a few words.
        summary: What the divergence is, in one line.

    Example:
        >>> from runstate.testing import RULES
        >>> rule = RULES["cancel-keeps-required-action"]
        >>> rule.grade, rule.evidence, rule.tag
        ('warning', '?', 'cancel-keeps-required-action (warning, evidence ?)')
    """

    name: str
    evidence: Evidence
    source: str
    summary: str

    @property
    def grade(self) -> Grade:
        """``error`` for evidence ``H``, ``M`` and ``opt-in``; ``warning`` otherwise."""
        return "warning" if self.evidence in ("L", "?") else "error"

    @property
    def tag(self) -> str:
        """The name, grade and evidence, as every message shows them."""
        return f"{self.name} ({self.grade}, evidence {self.evidence})"


def rule_table(*rows: tuple[str, Evidence, str, str]) -> Mapping[str, Rule]:
    """The rules of ``(name, evidence, source, summary)`` rows, by name, in row order."""
    return {name: Rule(name, evidence, source, summary) for name, evidence, source, summary in rows}


# --------------------------------------------------------------------------------------
# Failures


class ConformanceFailure(AssertionError):
    """An implementation answered differently from the reference.

    The message starts with the rule's tag (name, grade, evidence), then says which
    operation, on a run in which status, what was expected and what came back.

    Attributes:
        operation: What the kit did, like ``cancel on a 'completed' run (run_1)``.
        problem: What was expected and what came back.
        rule: The :class:`Rule` broken, or ``None`` (for a report's summary).
        steps: The program that led there, as hypothesis prints it
            (``state.create_run(thread=0)``, ...).

    Example:
        >>> from runstate.testing import RULES
        >>> err = ConformanceFailure("cancel on a 'completed' run (run_1)",
        ...                          "expected 400 {...}, got 200 status 'cancelling'",
        ...                          rule=RULES["cancel-accepted"])
        >>> str(err).split(": ", 2)[0]
        'cancel-accepted (error, evidence H)'
        >>> err.rule.grade, err.operation
        ('error', "cancel on a 'completed' run (run_1)")
    """

    def __init__(
        self,
        operation: str,
        problem: str,
        *,
        rule: Rule | None = None,
        steps: Sequence[str] = (),
    ) -> None:
        self.operation = operation
        self.problem = problem
        self.rule = rule
        self.steps = tuple(steps)
        text = f"{operation}: {problem}"
        super().__init__(f"{rule.tag}: {text}" if rule is not None else text)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle, copy and deepcopy rebuild it as it is (its __init__ takes fields).
        return reduce_exception(self)


@attrs.frozen
class Divergence:
    """One distinct divergence a survey found, with the minimal program that shows it.

    Attributes:
        rule: The rule broken; ``rule.name`` is what ``accept=`` takes.
        operation: The operation of the minimal example.
        problem: What was expected and what came back, in the minimal example.
        steps: The minimal program, as hypothesis prints it.
        count: How often it was seen in the survey's last round (all rules tolerated).
        shrunk: Whether ``steps`` is hypothesis' minimal program; ``False`` for a
            divergence first seen in a round that a timeout or an interrupt stopped
            before it was shrunk (the program is then the one it was seen in).
    """

    rule: Rule
    operation: str
    problem: str
    steps: tuple[str, ...]
    count: int = 0
    shrunk: bool = True

    def __str__(self) -> str:
        head = f"{self.rule.tag}, seen {self.count} times: {self.operation}: {self.problem}"
        if not self.shrunk:
            head += "\n    (not shrunk: the survey stopped first)"
        return head + "".join(f"\n    {s}" for s in self.steps)


# --------------------------------------------------------------------------------------
# The machine's side: divergences counted, the program kept


class Tally:
    """What one hypothesis search saw: divergences by name, reach, test cases.

    Attributes:
        seen: How often each rule name was broken.
        reach: (operation, status) -> ``[made, tried]``: how often the machine tried the
            operation on that status, and how often its reference accepted it there.
        cases: Test cases run to their end (or to a failure): what hypothesis'
            ``max_examples`` counts. A case hypothesis gave up on (a rule choice
            rejected, a choice sequence too long) or a stopped one is not counted.
        case_reach: (operation, status) -> in how many of those cases it was made.
        made_now: The pairs made so far in the running test case.
        first: The first failure the search raised, before hypothesis shrank it.
    """

    def __init__(self) -> None:
        self.seen: collections.Counter[str] = collections.Counter()
        self.reach: dict[tuple[str, str], list[int]] = {}
        self.cases = 0
        self.case_reach: collections.Counter[tuple[str, str]] = collections.Counter()
        self.made_now: set[tuple[str, str]] = set()
        self.first: ConformanceFailure | None = None

    def reached(self, op: str, state: str, made: bool) -> None:
        """Count one try of ``op`` from ``state``, and whether the reference made it."""
        cell = self.reach.setdefault((op, state), [0, 0])
        cell[0] += made
        cell[1] += 1
        if made:
            self.made_now.add((op, state))

    def begin_case(self) -> None:
        """A test case starts: nothing is made in it yet."""
        self.made_now = set()

    def end_case(self, counted: bool) -> None:
        """A test case ends; ``counted`` unless hypothesis gave up on it or it stopped."""
        if counted:
            self.cases += 1
            self.case_reach.update(self.made_now)


class Options(Protocol):
    """What a machine is given per search: the names tolerated, and where to count."""

    @property
    def tolerated(self) -> frozenset[str]:
        """Rule names counted and let through."""
        ...

    @property
    def tally(self) -> Tally:
        """The search's :class:`Tally`."""
        ...


#: How many values :meth:`Machine.steer` draws from: a multiple of every count of
#: pairs up to 10, and of 18 (the Run machine's), so each pair is drawn alike (of the
#: Response machine's 22 pairs, two are drawn 1,030 times in 22,680, the others 1,031).
_PICKS: Final = 2520 * 9


class Stopped(KeyboardInterrupt):
    """A survey's timeout passed: raised between two steps, it ends the search at once.

    A ``KeyboardInterrupt``, which hypothesis lets through at once, as the user's wish
    to stop: not a failure to shrink, and not a test case to record.
    """


@attrs.define
class Control:
    """What every test case of a survey shares: where progress goes, when to stop.

    Attributes:
        progress: Called with one line of text per event (see :func:`search`); the same
            line is logged at ``INFO`` on the ``runstate.testing`` logger.
        stop_at: The ``time.monotonic()`` at which the survey stops, or ``None``.
        round: The search running (1 for the first).
    """

    progress: Callable[[str], object] | None = None
    stop_at: float | None = None
    round: int = 0

    def emit(self, line: str) -> None:
        """Report one event."""
        LOGGER.info("%s", line)
        if self.progress is not None:
            self.progress(line)


#: Where a survey's progress is logged (``INFO``), whether or not ``progress=`` is given.
LOGGER: Final = logging.getLogger("runstate.testing")


class Machine(RuleBasedStateMachine):
    """A hypothesis state machine whose failures are named by the rules of its table.

    A subclass sets :attr:`rule_table`; :func:`search` sets :attr:`options` and
    :attr:`control` per search. A subclass that sets :attr:`steer_pairs` and implements
    :meth:`_steer` is steered to each of those (operation, status) pairs (see
    :meth:`steer`).
    """

    #: The machine's ways to differ, by name.
    rule_table: ClassVar[Mapping[str, Rule]]
    options: ClassVar[Options]
    control: ClassVar[Control] = Control()
    #: The (operation, status) pairs :meth:`steer` drives toward: those the machine's
    #: table allows, and its options let it make. Empty (the default): no steering.
    steer_pairs: tuple[tuple[str, str], ...] = ()

    def __init__(self) -> None:
        super().__init__()
        #: The steps so far, as hypothesis prints them (attached to failures).
        self.program: list[str] = []
        self.options.tally.begin_case()

    def _diverge(self, name: str, what: str, problem: str) -> None:
        """Count a divergence; raise it unless its name is tolerated."""
        tally = self.options.tally
        tally.seen[name] += 1
        if name not in self.options.tolerated:
            rule_broken = self.rule_table[name]
            failure = ConformanceFailure(what, problem, rule=rule_broken, steps=self.program)
            if tally.first is None:
                tally.first = failure
                self.control.emit(
                    f"round {self.control.round}: found {rule_broken.tag}: {what}; shrinking it"
                )
            raise failure

    def _log(self, call: str) -> None:
        self.program.append(f"state.{call}")

    def teardown(self) -> None:
        """Count the test case, unless hypothesis gave up on it or the survey stopped."""
        ending = sys.exc_info()[1]
        self.options.tally.end_case(ending is None or isinstance(ending, Exception))

    @invariant()
    def within_timeout(self) -> None:
        """Stop the survey between two steps once its timeout has passed."""
        stop_at = self.control.stop_at
        if stop_at is not None and time.monotonic() >= stop_at:
            raise Stopped

    # -- steering -------------------------------------------------------------------------

    @precondition(lambda self: bool(self.steer_pairs))
    @rule(pick=st.integers(min_value=0, max_value=_PICKS - 1))
    def steer(self, pick: int) -> None:
        """Drive to one of :attr:`steer_pairs` and make it: the deep pairs become common.

        Random steps reach the deep pairs rarely (an expiry of a run that waits for
        tool outputs needs four moves in a row, each drawn among a dozen rules). This
        rule picks a pair and asks :meth:`_steer` to get there and do it, one way or
        another (``pick`` also chooses the way: a wrong one is refused). The pair
        depends on ``pick`` alone, not on what the test case made before: hypothesis
        can then delete the steps before a failing steer, and the steer still goes
        where it failed, so that its failures shrink to short programs.
        """
        count = len(self.steer_pairs)
        operation, status = self.steer_pairs[pick % count]
        self._steer(operation, status, pick // count)

    # Drawn as often as six rules (hypothesis draws uniformly among the rules whose
    # preconditions hold; a rule listed under more names is drawn that much more often):
    # a test case of 50 steps then steers about ten times.
    _steer_2 = _steer_3 = _steer_4 = _steer_5 = _steer_6 = steer

    def _steer(self, operation: str, status: str, variant: int) -> None:
        """Bring the machine to ``status`` and do ``operation`` there (as its own rules).

        ``variant`` is a drawn number the machine may use to choose among ways to do
        ``operation`` (right and wrong arguments, say).
        """
        raise NotImplementedError  # pragma: no cover - a machine with steer_pairs has it


# --------------------------------------------------------------------------------------
# The search


@attrs.frozen
class Survey:
    """What :func:`search` found.

    Attributes:
        found: Every distinct divergence not tolerated from the start, in the order
            found, each counted over the last search.
        tally: The last search's :class:`Tally`.
        rounds: Searches made: one per divergence found, plus the last.
        seconds: Wall time of all of them.
        stopped: ``None`` for a survey that ran to its end; ``"timeout"`` or
            ``"interrupted"`` (``KeyboardInterrupt``) for one stopped early, whose
            ``found`` holds what it found until then.
    """

    found: tuple[Divergence, ...]
    tally: Tally
    rounds: int
    seconds: float
    stopped: Literal["timeout", "interrupted"] | None = None


def search(
    machine: type[Machine],
    options: Callable[[frozenset[str]], Options],
    *,
    name: str,
    module: str,
    doc: str,
    settings: hypothesis.settings,
    seed: int | None,
    tolerated: Collection[str],
    max_divergences: int | None,
    progress: Callable[[str], object] | None = None,
    timeout: float | None = None,
) -> Survey:
    """Search ``machine`` until no new divergence shows, or ``max_divergences`` did.

    Each search runs a subclass of ``machine`` named ``name`` whose options are
    ``options(tolerated)``; a failure under a rule not yet tolerated is recorded and its
    rule tolerated for the next search. Any other exception goes through.

    Progress goes to ``progress`` (and the ``runstate.testing`` logger), one line per
    event: a divergence when first seen (before shrinking), each round's end with its
    seconds and what it found. After ``timeout`` seconds (checked between two steps)
    or a ``KeyboardInterrupt``, the survey stops and returns what it found: the
    divergences recorded, and the one being shrunk, unshrunk.
    """
    started = time.perf_counter()
    control = Control(
        progress=progress, stop_at=None if timeout is None else time.monotonic() + timeout
    )
    found: list[Divergence] = []
    let_through = set(tolerated)
    stopped: Literal["timeout", "interrupted"] | None = None
    while True:
        control.round += 1
        round_started = time.perf_counter()
        opts = options(frozenset(let_through))
        attributes = {"options": opts, "control": control, "__module__": module, "__doc__": doc}
        case = type(name, (machine,), attributes)
        if seed is not None:
            case = hypothesis.seed(seed)(case)
        try:
            run_state_machine_as_test(case, settings=settings)
        except ConformanceFailure as failure:
            rule_broken = failure.rule
            if rule_broken is None or rule_broken.name in let_through:  # pragma: no cover
                raise  # not the kit's own divergence: let it through
            found.append(Divergence(rule_broken, failure.operation, failure.problem, failure.steps))
            let_through.add(rule_broken.name)
            control.emit(
                f"round {control.round} ({time.perf_counter() - round_started:.1f} s): "
                f"{rule_broken.tag}, shrunk to {len(failure.steps)} steps"
            )
            if max_divergences is None or len(found) < max_divergences:
                continue
        except (Stopped, KeyboardInterrupt) as stop:
            stopped = "timeout" if isinstance(stop, Stopped) else "interrupted"
            first = opts.tally.first
            if first is not None and first.rule is not None:
                found.append(
                    Divergence(
                        first.rule, first.operation, first.problem, first.steps, shrunk=False
                    )
                )
            control.emit(
                f"round {control.round} ({time.perf_counter() - round_started:.1f} s): "
                f"stopped ({stopped}) after {opts.tally.cases} examples"
            )
        else:
            control.emit(
                f"round {control.round} ({time.perf_counter() - round_started:.1f} s): "
                f"nothing new in {opts.tally.cases} examples"
            )
        break
    seen = opts.tally.seen
    return Survey(
        found=tuple(attrs.evolve(d, count=seen[d.rule.name]) for d in found),
        tally=opts.tally,
        rounds=control.round,
        seconds=time.perf_counter() - started,
        stopped=stopped,
    )


# --------------------------------------------------------------------------------------
# Arguments, settings and the unittest entry point


def check_choice(
    name: str, value: object, known: Collection[object], many: str, one: str, hint: str = ""
) -> frozenset[Any]:
    """``value`` as a set of ``known`` items; raise for anything else.

    ``many`` and ``one`` name the items in the messages; ``hint`` ends the one about an
    unknown item.
    """
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidArgument(f"{name}={value!r} must be a collection of {many}")
    chosen = frozenset(value)
    unknown = sorted(str(n) for n in chosen if n not in known)
    if unknown:
        raise InvalidArgument(f"{name}= names no such {one}: {', '.join(unknown)}{hint}")
    return chosen


def check_settings(settings: object) -> None:
    """Raise unless ``settings`` is a ``hypothesis.settings`` or ``None``."""
    if settings is not None and not isinstance(settings, hypothesis.settings):
        raise InvalidArgument(f"settings={settings!r} must be a hypothesis.settings or None")


def check_seed(seed: object) -> None:
    """Raise unless ``seed`` is an int or ``None``."""
    if seed is not None and type(seed) is not int:
        raise InvalidArgument(f"seed={seed!r} must be an int or None")


def check_counts(**counts: object) -> None:
    """Raise unless each count is a positive int or ``None``."""
    for name, value in counts.items():
        if value is not None and (type(value) is not int or value < 1):
            raise InvalidArgument(f"{name}={value!r} must be a positive int or None")


#: The hypothesis phases a search never runs: ``explain`` reruns every test case after
#: the first failure under ``sys.settrace`` (on Python 3.11, most of a survey's time) to
#: print hypothesis' explanation, which the kit never shows.
SKIPPED_PHASES: Final = frozenset({hypothesis.Phase.explain})


def check_progress(progress: object, timeout: object) -> None:
    """Raise unless ``progress`` is callable or ``None`` and ``timeout`` a positive number."""
    if progress is not None and not callable(progress):
        raise InvalidArgument(f"progress={progress!r} must be callable or None")
    if timeout is not None and (
        type(timeout) not in (int, float) or not 0 < cast("float", timeout) < float("inf")
    ):
        raise InvalidArgument(f"timeout={timeout!r} must be a positive number of seconds or None")


def search_settings(
    settings: hypothesis.settings | None, max_examples: int | None
) -> hypothesis.settings:
    """The settings of every search: the caller's (or the current profile's), merged.

    ``settings`` supplies the search's size and randomness (``max_examples``,
    ``stateful_step_count``, ``derandomize``, ``phases``, ``verbosity``...);
    ``max_examples`` overrides its own. The kit's own settings always apply on top: no
    deadline and no health checks (an implementation's speed is not a divergence), no
    example database (``seed=`` alone repeats a survey: nothing is replayed from an
    earlier run), no ``explain`` phase (see :data:`SKIPPED_PHASES`), and
    ``report_multiple_bugs`` off (each search records one divergence).
    """
    base = settings if settings is not None else hypothesis.settings()
    return hypothesis.settings(
        base,
        max_examples=base.max_examples if max_examples is None else max_examples,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        database=None,
        phases=[p for p in base.phases if p not in SKIPPED_PHASES],
        report_multiple_bugs=False,
    )


_NAME: Final = re.compile(r"[^0-9a-zA-Z_]")


def label(factory: object) -> str:
    """The factory's name, as a Python identifier (``Implementation`` if it has none)."""
    return _NAME.sub("_", getattr(factory, "__name__", "") or "Implementation")


def unittest_case(
    name: str, module: str, doc: str, run_test: Callable[[unittest.TestCase], None]
) -> type[unittest.TestCase]:
    """A :class:`unittest.TestCase` subclass whose one test, ``runTest``, is ``run_test``."""
    case = type(
        name, (unittest.TestCase,), {"runTest": run_test, "__module__": module, "__doc__": doc}
    )
    return cast("type[unittest.TestCase]", case)
