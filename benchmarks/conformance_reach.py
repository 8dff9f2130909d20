"""How often each (operation, status) pair is reached: the share of a survey's cases.

Not a test: ``python benchmarks/conformance_reach.py [--seeds 1 2 3] [--examples 200]
[--no-steer]``. It surveys ``tests/reference_server.py`` with ``run_conformance(...,
seed=s, max_examples=n)`` for each seed and prints ``report.reach_table(cases=True)``:
for each pair the transition table allows, the share of the examples in which runstate
accepted that operation from that status at least once, then the smallest share of each
survey and its time. ``--no-steer`` turns the engine's steering off (the kit as it was),
for comparison. benchmarks/RESULTS.md records the figures; the test suite checks only
that a small seeded survey makes every allowed pair (never a share, never a duration).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from reference_server import ReferenceServer

from runstate._table import EDGES, OPERATION_FOR_TARGET
from runstate.testing import run_conformance
from runstate.testing._conformance import Conformance

ALLOWED = sorted({(str(OPERATION_FOR_TARGET[e.target].value), e.source.value) for e in EDGES})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--no-steer", action="store_true")
    args = parser.parse_args()
    if args.no_steer:
        init = Conformance.__init__

        def unsteered(self: Conformance) -> None:
            init(self)
            self.steer_pairs = ()

        Conformance.__init__ = unsteered  # type: ignore[method-assign]
    for seed in args.seeds:
        started = time.perf_counter()
        report = run_conformance(ReferenceServer, seed=seed, max_examples=args.examples)
        elapsed = time.perf_counter() - started
        assert report.ok, report.summary()
        shares = {p: report.case_reach.get(p, 0) / report.examples for p in ALLOWED}
        low = min(shares, key=shares.__getitem__)
        print(f"## seed {seed}: {report.examples} examples, {elapsed:.1f} s")
        print(report.reach_table(cases=True))
        print(f"lowest: {low[0]} on {low[1]}, {shares[low]:.0%}\n")


if __name__ == "__main__":
    main()
