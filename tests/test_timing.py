"""No test asserts on a measured duration: CI runs on a loaded, shared 2-core machine.

A test checks behaviour; a benchmark (``benchmarks/``) records a time. A survey that
asserted ``elapsed < 60`` failed a clean-clone CI run at 148 s (issue 17). This module
reads every Python file under ``tests/`` (its syntax tree, not its text) and fails on:

* an ``assert`` (or a unittest ``assert*`` call) that uses a clock reading, or a name
  computed from one (``elapsed = time.perf_counter() - started``);
* a hypothesis ``deadline=`` other than ``None``;
* a hang guard (``time_limit(...)``, ``signal.alarm``, ``signal.setitimer``,
  ``HANG_GUARD = ...``) given a literal bound under :data:`MIN_HANG_GUARD` seconds: a
  bound that tight is a measurement, not a guard.

Waiting with a bound (``proc.wait(timeout=...)``, a ``deadline`` that raises after a
while) is fine: it stops a hung process and asserts nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Final

import pytest

TESTS = Path(__file__).resolve().parent

#: Calls that read a clock, by the name called (``time.perf_counter()``,
#: ``perf_counter()``, ``timeit.timeit(...)``, ``timeit.default_timer()``...).
CLOCKS = frozenset(
    {
        "perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns", "process_time",
        "process_time_ns", "thread_time", "thread_time_ns", "default_timer", "timeit",
    }
)  # fmt: skip
#: ``<module>.<name>()`` calls that read a clock, where the name alone is too common.
MODULE_CLOCKS = frozenset(
    {
        ("time", "time"), ("time", "time_ns"), ("timeit", "repeat"), ("datetime", "now"),
        ("datetime", "utcnow"), ("loop", "time"),
    }
)  # fmt: skip
#: Hang guards shorter than this are measurements in disguise.
MIN_HANG_GUARD = 60
_GUARDS = frozenset({"time_limit", "alarm", "setitimer"})


def _called(node: ast.Call) -> tuple[str | None, str]:
    func = node.func
    if isinstance(func, ast.Attribute):
        owner = func.value
        name = owner.id if isinstance(owner, ast.Name) else None
        if isinstance(owner, ast.Attribute):
            name = owner.attr
        return name, func.attr
    if isinstance(func, ast.Name):
        return None, func.id
    return None, ""


def _reads_clock(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            owner, name = _called(sub)
            if name in CLOCKS or (owner, name) in MODULE_CLOCKS:
                return True
    return False


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    if isinstance(node, ast.AugAssign | ast.AnnAssign | ast.NamedExpr):
        return [node.target]
    return []


def _timed(tree: ast.AST) -> set[str]:
    """The names that hold a clock reading, or a value computed from one (a fixpoint)."""
    timed: set[str] = set()
    assignments = [
        (node, value)
        for node in ast.walk(tree)
        if (value := getattr(node, "value", None)) is not None and _targets(node)
    ]
    changed = True
    while changed:
        changed = False
        for node, value in assignments:
            if _reads_clock(value) or _names(value) & timed:
                for target in _targets(node):
                    new = _names(target) - timed
                    if new:
                        timed |= new
                        changed = True
    return timed


def _literal_seconds(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    return None


#: A deadline on a line with this comment is input that the code under test must override
#: (the conformance kit drops a caller's deadline), not a timed test.
OVERRIDDEN: Final = "# an input the kit overrides"


def problems(source: str, filename: str = "<test>") -> list[str]:
    """Every timed assertion in ``source``, as ``file:line: what``."""
    tree = ast.parse(source, filename)
    lines = source.splitlines()
    timed = _timed(tree)
    found: list[str] = []

    def report(node: ast.AST, what: str) -> None:
        found.append(f"{filename}:{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            if _reads_clock(node.test) or _names(node.test) & timed:
                report(node, "an assert on a measured duration")
        elif isinstance(node, ast.Call):
            _, name = _called(node)
            arguments = [*node.args, *(k.value for k in node.keywords)]
            if name.startswith("assert") and any(
                _reads_clock(a) or _names(a) & timed for a in arguments
            ):
                report(node, f"{name}() on a measured duration")
            for keyword in node.keywords:
                if (
                    keyword.arg == "deadline"
                    and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value is None
                    )
                    and OVERRIDDEN not in lines[keyword.lineno - 1]
                ):
                    report(node, "a hypothesis deadline (use deadline=None)")
            if name in _GUARDS and node.args:
                seconds = _literal_seconds(node.args[-1] if name == "setitimer" else node.args[0])
                if seconds is not None and 0 < seconds < MIN_HANG_GUARD:
                    report(node, f"a {seconds:g} s bound: a measurement, not a hang guard")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                seconds = _literal_seconds(node.value)
                if (
                    isinstance(target, ast.Name)
                    and target.id == "HANG_GUARD"
                    and seconds is not None
                    and seconds < MIN_HANG_GUARD
                ):
                    report(node, f"HANG_GUARD = {seconds:g}: a measurement, not a hang guard")
    return found


@pytest.mark.parametrize(
    "source",
    [
        "import time\nstarted = time.perf_counter()\nrun()\n"
        "elapsed = time.perf_counter() - started\nassert elapsed < 60\n",
        "from time import monotonic\nt0 = monotonic()\nx = (monotonic() - t0) * 1000\n"
        "y = x\nassert y < 5, y\n",
        "import time\nassert time.time() - START < 1\n",
        "import timeit\nself.assertLess(timeit.timeit(f, number=3), 1.0)\n",
        "from hypothesis import settings\nsettings(deadline=200)\n",
        "settings(deadline=200)  # the kit overrides it (not the marker's words)\n",
        "with time_limit(1):\n    work()\n",
        "signal.setitimer(signal.ITIMER_REAL, 0.5)\n",
        "HANG_GUARD = 10\n",
    ],
)
def test_the_checker_finds_timed_assertions(source: str) -> None:
    assert problems(source)


@pytest.mark.parametrize(
    "source",
    [
        "proc.wait(timeout=30)\n",
        "import time\ndeadline = time.monotonic() + 5\n"
        "while time.monotonic() < deadline:\n    poll()\nraise TimeoutError\n",
        "with time_limit():\n    work()\n",
        "settings(deadline=None)\n",
        "run(impl, settings=settings(deadline=1))  # an input the kit overrides\n",
        "signal.setitimer(signal.ITIMER_REAL, 0)\n",  # cancelling the timer
        "import time\nseconds = time.perf_counter()\nrecords.append(seconds)\nassert records\n",
    ],
)
def test_the_checker_allows_hang_guards_and_measurements_kept_apart(source: str) -> None:
    assert problems(source) == []


def test_no_test_asserts_on_a_measured_duration() -> None:
    found = [
        problem
        for path in sorted(TESTS.rglob("*.py"))
        for problem in problems(path.read_text(encoding="utf-8"), str(path.relative_to(TESTS)))
    ]
    assert found == [], "timed assertions (move the measurement to benchmarks/):\n" + "\n".join(
        found
    )
