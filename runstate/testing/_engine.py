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
import re
import time
import unittest
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal, Protocol, TypeAlias, cast

import attrs
import hypothesis
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from .._errors import reduce_exception

__all__ = [
    "ConformanceFailure",
    "Options",
    "Divergence",
    "Evidence",
    "Grade",
    "Machine",
    "Rule",
    "Survey",
    "Tally",
    "check_choice",
    "check_counts",
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
    """

    rule: Rule
    operation: str
    problem: str
    steps: tuple[str, ...]
    count: int = 0

    def __str__(self) -> str:
        head = f"{self.rule.tag}, seen {self.count} times: {self.operation}: {self.problem}"
        return head + "".join(f"\n    {s}" for s in self.steps)


# --------------------------------------------------------------------------------------
# The machine's side: divergences counted, the program kept


class Tally:
    """What one hypothesis search saw: divergences by name, reach, test cases."""

    def __init__(self) -> None:
        self.seen: collections.Counter[str] = collections.Counter()
        self.reach: dict[tuple[str, str], list[int]] = {}
        self.cases = 0

    def reached(self, op: str, state: str, made: bool) -> None:
        """Count one try of ``op`` from ``state``, and whether the reference made it."""
        cell = self.reach.setdefault((op, state), [0, 0])
        cell[0] += made
        cell[1] += 1


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


class Machine(RuleBasedStateMachine):
    """A hypothesis state machine whose failures are named by the rules of its table.

    A subclass sets :attr:`rule_table`; :func:`search` sets :attr:`options` per search.
    """

    #: The machine's ways to differ, by name.
    rule_table: ClassVar[Mapping[str, Rule]]
    options: ClassVar[Options]

    def __init__(self) -> None:
        super().__init__()
        #: The steps so far, as hypothesis prints them (attached to failures).
        self.program: list[str] = []

    def _diverge(self, name: str, what: str, problem: str) -> None:
        """Count a divergence; raise it unless its name is tolerated."""
        self.options.tally.seen[name] += 1
        if name not in self.options.tolerated:
            raise ConformanceFailure(what, problem, rule=self.rule_table[name], steps=self.program)

    def _log(self, call: str) -> None:
        self.program.append(f"state.{call}")


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
    """

    found: tuple[Divergence, ...]
    tally: Tally
    rounds: int
    seconds: float


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
) -> Survey:
    """Search ``machine`` until no new divergence shows, or ``max_divergences`` did.

    Each search runs a subclass of ``machine`` named ``name`` whose options are
    ``options(tolerated)``; a failure under a rule not yet tolerated is recorded and its
    rule tolerated for the next search. Any other exception goes through.
    """
    started = time.perf_counter()
    found: list[Divergence] = []
    let_through = set(tolerated)
    rounds = 0
    while True:
        rounds += 1
        opts = options(frozenset(let_through))
        case = type(name, (machine,), {"options": opts, "__module__": module, "__doc__": doc})
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
            if max_divergences is None or len(found) < max_divergences:
                continue
        break
    seen = opts.tally.seen
    return Survey(
        found=tuple(attrs.evolve(d, count=seen[d.rule.name]) for d in found),
        tally=opts.tally,
        rounds=rounds,
        seconds=time.perf_counter() - started,
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


def search_settings(
    settings: hypothesis.settings | None, max_examples: int | None
) -> hypothesis.settings:
    """The settings of every search, from the caller's and ``max_examples``.

    By default the current profile's, with no deadline and no health checks;
    ``max_examples`` overrides; ``report_multiple_bugs`` is always off.
    """
    base = (
        settings
        if settings is not None
        else hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
    )
    if max_examples is not None:
        base = hypothesis.settings(base, max_examples=max_examples)
    return hypothesis.settings(base, report_multiple_bugs=False)


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
