"""How long one conformance survey of the deliberately divergent server takes.

Not a test: ``python benchmarks/conformance_survey.py``. It runs what
``tests/test_conformance.py::test_one_survey_reports_every_divergence_with_a_minimal_example``
checks (one ``run_conformance`` of ``tests/divergent_server.py`` under the CI profile:
50 examples, 50 steps, derandomized) and prints the wall time, the number of searches
and the divergences found. The test checks what the survey finds; this script measures
how long it takes (a test never asserts a duration: a busy CI machine must not fail a
correct change). docs/conformance.md quotes the figure.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from divergent_server import DivergentServer
from hypothesis import HealthCheck, settings

from runstate.testing import run_conformance

#: tests/conftest.py's ``ci`` profile, as test_conformance.py's ``CI``.
CI = settings(
    derandomize=True,
    database=None,
    max_examples=50,
    deadline=None,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
)


def main() -> None:
    started = time.perf_counter()
    report = run_conformance(DivergentServer, settings=CI)
    elapsed = time.perf_counter() - started
    names = sorted(d.rule.name for d in report.divergences)
    print(f"survey of DivergentServer (CI profile): {elapsed:.1f} s")
    print(f"searches: {report.rounds}; divergences: {len(names)} ({', '.join(names)})")


if __name__ == "__main__":
    main()
