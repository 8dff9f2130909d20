"""Where parse_run's time goes: the profile behind the parser's optimisations.

For each input group of ``run.py`` it prints the time per run of the SDK's
``Run.model_validate_json``, of ``parse_run``, and of parse_run's two halves: decoding the
JSON text (``bytes.decode`` and the C scanner of :mod:`json`) and structuring the decoded
dict (the generated code of ``runstate._serde``); then a cProfile of ``parse_run`` over all
inputs. Minimums of many short samples, since a busy machine only ever adds time.

    python benchmarks/profile_parse.py
    python benchmarks/profile_parse.py --baseline old_serde.py   # also time another version
    # e.g. git show 33a94dd:runstate/_serde.py > /tmp/old_serde.py

``--baseline`` loads a ``_serde.py`` file as a sibling module of the installed
``runstate`` and times its ``parse_run`` and structure function on the same inputs.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import pstats
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # the inputs of the benchmark itself

from runstate import _serde


def _load(path: Path) -> Any:
    name = "runstate._serde_baseline"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _best(fn: Callable[[], object], per: int, samples: int) -> float:
    number = max(1, int(0.005 / max(timeit.timeit(fn, number=1), 1e-7)))
    return min(timeit.repeat(fn, number=number, repeat=samples)) / number / per


def _times(
    lines: list[bytes], validate: Callable[[bytes], object], base: Any, samples: int
) -> list[float]:
    scan, structure, parse_run = _serde._scan_once, _serde._structure_run, _serde.parse_run
    objs = [scan(x.decode(), 0)[0] for x in lines]
    fns: list[Callable[[], object]] = [
        lambda: [validate(x) for x in lines],
        lambda: [parse_run(x) for x in lines],
        lambda: [scan(x.decode(), 0) for x in lines],
        lambda: [structure(o) for o in objs],
    ]
    if base:
        fns += [
            lambda: [base.parse_run(x) for x in lines],
            lambda: [base._structure_run(o) for o in objs],
        ]
    return [_best(fn, len(lines), samples) * 1e6 for fn in fns]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another _serde.py to time as well")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--shared", type=Path, default=bench.ROOT.parent / "shared")
    args = parser.parse_args()

    seed = bench.seed_corpus(args.shared)
    corpora = ([seed] if seed else []) + bench.real_corpora(args.shared)
    corpora.append(bench.generated_corpus())
    validate = bench._sdk_run().model_validate_json
    parse_run = _serde.parse_run
    base = _load(args.baseline) if args.baseline else None

    columns = ["pydantic", "parse_run", "json", "structure"]
    if base:
        columns += ["base parse", "base struct"]
    print(f"{'input':<16}" + "".join(f"{c:>13}" for c in columns) + "   (us per run)")
    for corpus in corpora:
        times = _times(corpus.lines, validate, base, args.samples)
        print(
            f"{corpus.name:<16}"
            + "".join(f"{t:>13.2f}" for t in times)
            + f"   parse_run/pydantic {times[1] / times[0]:.3f},"
            f" json/pydantic {times[2] / times[0]:.3f}"
        )

    everything = [x for c in corpora for x in c.lines]
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(300):
        for x in everything:
            parse_run(x)
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(12)
    print("\ncProfile of parse_run over every input, 300 times (tottime order):")
    print("\n".join(out.getvalue().splitlines()[4:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
