"""How long ``import runstate`` takes, against the SDK's ``import openai``.

Not a test: ``python benchmarks/import_time.py [--repeats N] [--detail]``. Each sample is
a fresh interpreter that times one import statement (so the interpreter's own start-up is
left out): wall time (``time.perf_counter``) and CPU time (``time.process_time``, which
load from other processes hardly moves). The sides alternate (A B, B A, ...) so that load
from elsewhere hits both, after one warm-up each that writes the bytecode caches (as an
installed package has them). Prints the median of each side and their ratios; the budget
(issue 18) is 0.25.

``--detail`` adds ``python -X importtime -c "import runstate"``'s heaviest modules (their
cumulative time, in one run), to see where the time goes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 0.25
SIDES = {
    "runstate": "import runstate",
    "openai": "import openai",
    # benchmarks/run.py's anchor: the SDK's Run type alone.
    "openai Run": "from openai.types.beta.threads import Run",
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode is cached, as once installed
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)
    return env


def seconds(statement: str) -> tuple[float, float]:
    """(wall, CPU) seconds one import statement takes in a fresh interpreter."""
    code = (
        "import time\n"
        "w, c = time.perf_counter(), time.process_time()\n"
        f"{statement}\n"
        "print(time.perf_counter() - w, time.process_time() - c)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env()
    )
    wall, cpu = done.stdout.split()
    return float(wall), float(cpu)


def measure(repeats: int) -> dict[str, list[tuple[float, float]]]:
    names = list(SIDES)
    for name in names:
        seconds(SIDES[name])  # warm-up: bytecode caches and the page cache
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else reversed(names):
            samples[name].append(seconds(SIDES[name]))
    return samples


def detail(top: int = 15) -> list[tuple[int, str]]:
    """The heaviest modules under ``import runstate``: (cumulative microseconds, name)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import runstate"],
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        rows.append((int(cumulative), name.rstrip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--detail", action="store_true")
    args = parser.parse_args()
    samples = measure(args.repeats)
    wall = {name: statistics.median(w for w, _ in times) for name, times in samples.items()}
    cpu = {name: statistics.median(c for _, c in times) for name, times in samples.items()}
    print(f"python {sys.version.split()[0]}, {args.repeats} fresh processes a side, medians:")
    print(f"  {'':<45} {'wall':>8}    {'CPU':>8}")
    for name, statement in SIDES.items():
        print(f"  {statement:<45} {wall[name] * 1000:8.1f} ms {cpu[name] * 1000:8.1f} ms")
    for anchor in ("openai", "openai Run"):
        for what, median in (("wall", wall), ("CPU", cpu)):
            ratio = median["runstate"] / median[anchor]
            verdict = "met" if ratio <= BUDGET else "NOT met"
            print(
                f"ratio runstate / {SIDES[anchor]!r}, {what}: {ratio:.3f} "
                f"(budget {BUDGET}: {verdict})"
            )
    if args.detail:
        print("heaviest modules under 'import runstate' (-X importtime, cumulative):")
        for micros, name in detail():
            print(f"  {micros / 1000:8.1f} ms {name}")


if __name__ == "__main__":
    main()
