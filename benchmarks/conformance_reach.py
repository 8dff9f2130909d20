"""How often each (operation, status) pair is reached: the share of a survey's cases.

Not a test: ``python benchmarks/conformance_reach.py [--machine runs|responses|both]
[--seeds 1 2 3] [--examples 200] [--no-steer]``. It surveys the in-process reference of
each machine (``tests/reference_server.py`` with ``run_conformance``,
``tests/responses_reference.py`` with ``response_conformance``; ``seed=s``,
``max_examples=n``) for each seed and prints ``report.reach_table(cases=True)``: for
each pair the machine allows, the share of the examples in which runstate accepted that
operation from that status at least once, then the smallest share of each survey and its
time. ``--no-steer`` turns the engine's steering off (the kit as it was), for
comparison. benchmarks/RESULTS.md records the figures; the test suite checks the 20%
floor in slow tests (never a duration).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from reference_server import ReferenceServer
from responses_reference import ReferenceResponses

from runstate._table import EDGES, OPERATION_FOR_TARGET
from runstate.testing import DRIVE_KINDS, response_conformance, run_conformance
from runstate.testing._conformance import Conformance
from runstate.testing._response_steering import pairs
from runstate.testing._responses import ResponseConformance

RUN_PAIRS = sorted({(str(OPERATION_FOR_TARGET[e.target].value), e.source.value) for e in EDGES})
RESPONSE_PAIRS = sorted(pairs(frozenset(DRIVE_KINDS)))


def unsteer(machine: type[Any]) -> None:
    """Turn ``machine``'s steering off: its ``steer`` rule is never drawn."""
    init = machine.__init__

    def unsteered(self: Any) -> None:
        init(self)
        self.steer_pairs = ()

    machine.__init__ = unsteered


def survey(name: str, run: Callable[[int, int], Any], allowed: list[Any], args: Any) -> None:
    for seed in args.seeds:
        started = time.perf_counter()
        report = run(seed, args.examples)
        elapsed = time.perf_counter() - started
        assert report.ok, report.summary()
        shares = {p: report.case_reach.get(p, 0) / report.examples for p in allowed}
        low = min(shares, key=shares.__getitem__)
        print(f"## {name}, seed {seed}: {report.examples} examples, {elapsed:.1f} s")
        print(report.reach_table(cases=True))
        print(f"lowest: {low[0]} on {low[1]}, {shares[low]:.0%}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machine", choices=("runs", "responses", "both"), default="both")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--no-steer", action="store_true")
    args = parser.parse_args()
    if args.no_steer:
        unsteer(Conformance)
        unsteer(ResponseConformance)
    if args.machine in ("runs", "both"):

        def runs(seed: int, examples: int) -> Any:
            return run_conformance(ReferenceServer, seed=seed, max_examples=examples)

        survey("Runs", runs, RUN_PAIRS, args)
    if args.machine in ("responses", "both"):

        def responses(seed: int, examples: int) -> Any:
            return response_conformance(ReferenceResponses, seed=seed, max_examples=examples)

        survey("Responses", responses, RESPONSE_PAIRS, args)


if __name__ == "__main__":
    main()
