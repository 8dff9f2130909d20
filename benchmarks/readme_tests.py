"""How long the README's test command takes, run as the README gives it.

Not a test: ``python benchmarks/readme_tests.py``. It reads the test command from
README.md (the second fenced block under "## Quick start", the block ``.ci/run`` runs, so
the two cannot drift), keeps its ``python -m pytest ...`` part and runs that in this
checkout with this interpreter (or ``--venv DIR``'s), then prints:

* the wall time, and the CPU time (user + system) of the whole process tree: on a shared
  machine the wall time says little, the CPU time moves much less with other load;
* the test counts and the coverage total from pytest's summary;
* the machine: cores, the load average before and after, Python, which runstate was
  imported.

It creates nothing (no virtual environment, no install: the README's ``pip install -e
'.[test]'`` is yours to have done; the test command itself leaves its coverage data file,
as it does when you run it). The checkout is put first on ``PYTHONPATH``, so an
interpreter with runstate installed from elsewhere still tests this tree. The variables
that pick other test settings (``HYPOTHESIS_PROFILE``, ``RUNSTATE_TEST_*``) are removed,
so what runs is what a user gets; the summary names any it removed.

    python benchmarks/readme_tests.py                  # live pytest output, then the summary
    python benchmarks/readme_tests.py --venv .venv -q  # another interpreter; summary only
    python benchmarks/readme_tests.py --json           # the summary as JSON
    python benchmarks/readme_tests.py -- --durations=30  # extra pytest arguments, appended

The target (issue 18): at most 60 s of wall time on an idle 2-core machine. The figures
are recorded in benchmarks/RESULTS.md. Exits with pytest's status.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
#: Environment variables that select other test settings than the README's command gets.
CHOOSERS = re.compile(r"HYPOTHESIS_PROFILE|RUNSTATE_TEST_\w+|RUNSTATE_FUZZ_EXAMPLES|PYTEST_\w+")
#: pytest's counts in its last line ("2 failed, 3,120 passed, 12 skipped in 58.10s").
COUNT = re.compile(r"(\d+) (passed|failed|skipped|deselected|xfailed|xpassed|errors?|warnings?)")
COVERAGE = re.compile(r"Total coverage: ([\d.]+)%")


def quick_start_block(readme: str, want: int) -> str:
    """The ``want``-th fenced block under "## Quick start" (as ``.ci/run``'s awk reads it)."""
    inside, fence, lines = False, 0, []
    for line in readme.splitlines():
        if line.startswith("## "):
            inside = line == "## Quick start"
            continue
        if not inside:
            continue
        if line.startswith("```"):
            fence += 1
            if fence == 2 * want:
                break
            continue
        if fence == 2 * want - 1:
            lines.append(line)
    if not lines:
        raise SystemExit(f"{README}: no Quick start block {want}")
    return "\n".join(lines).strip()


def pytest_command(block: str, python: str) -> list[str]:
    """The block's ``python -m pytest ...`` part, run by ``python``."""
    for part in reversed(block.split("&&")):
        words = shlex.split(part)
        if words[1:3] == ["-m", "pytest"]:
            return [python, *words[1:]]
    raise SystemExit(f"{README}: the test command has no `python -m pytest` part: {block}")


def counts(line: str) -> dict[str, int]:
    """pytest's summary counts, ``{"passed": 2841, "skipped": 299}``."""
    found = {}
    for number, word in COUNT.findall(line.replace(",", "")):
        found[word.rstrip("s") if word.startswith(("error", "warning")) else word] = int(number)
    return found


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--venv", type=Path, help="run with DIR/bin/python")
    where.add_argument("--python", help="run with this interpreter (default: this one)")
    parser.add_argument("-q", "--quiet", action="store_true", help="hide pytest's output")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("extra", nargs="*", help="pytest arguments appended after `--`")
    args = parser.parse_args(argv)

    python = sys.executable
    if args.venv is not None:
        python = str((args.venv / "bin" / "python").absolute())
    elif args.python:
        python = args.python
    command = [*pytest_command(quick_start_block(README.read_text(), 2), python), *args.extra]

    removed = sorted(name for name in os.environ if CHOOSERS.fullmatch(name))
    env = {name: value for name, value in os.environ.items() if name not in removed}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    probe = "import platform, runstate; print(platform.python_version(), runstate.__file__)"
    version, _, imported = (
        subprocess.run(
            [python, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        .stdout.strip()
        .partition(" ")
    )

    load_before = os.getloadavg()
    cpu_before = children_cpu()
    started = time.perf_counter()
    last, coverage = "", None
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if COUNT.search(line):
                last = line
            if found := COVERAGE.search(line):
                coverage = found.group(1)
            if not args.quiet and not args.json:
                print(line, end="", flush=True)
    wall = time.perf_counter() - started
    cpu = children_cpu() - cpu_before
    load_after = os.getloadavg()

    summary: dict[str, Any] = {
        "command": shlex.join(command),
        "exit status": proc.returncode,
        "wall s": round(wall, 1),
        "cpu s (process tree)": round(cpu, 1),
        "tests": counts(last),
        "coverage %": float(coverage) if coverage else None,
        "cores": os.cpu_count(),
        "load average before": [round(x, 2) for x in load_before],
        "load average after": [round(x, 2) for x in load_after],
        "python": f"{version} ({python})",
        "runstate imported from": imported,
        "environment removed": removed,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print("\n---- the README's test command ----")
        for key, value in summary.items():
            print(f"{key:>24}: {value}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
