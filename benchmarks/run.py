"""runstate against what users would otherwise run: the SDK's pydantic Run and transitions.

Every row measures a runstate call and its anchor side by side, in one process, on the
same inputs, interleaving the two sides (A B, then B A, ...) so that drifts in machine
load hit both; each sample times a loop over all the row's inputs, and the table shows
the median time per input and the ratio runstate / anchor (lower is better).

Inputs: the seed's example response (``../shared/seed/cancel-run-endpoint.md``), every
real run object under ``../shared/real-world`` when present (polled lines and the data of
``thread.run.*`` stream events; grouped by recording, dotnet's from the 2025 API and
ruby's from 2023-24), and generated runs of every status. The SDK's pydantic
``Run`` refuses ``instructions: null`` and a missing ``parallel_tool_calls``, which real
objects have, so those two keys are patched (to ``""`` and ``false``) on the bytes both
sides parse.

    python benchmarks/run.py            # the full table (about two minutes)
    python benchmarks/run.py --smoke    # tiny iteration counts: it must run, not be fast
    python benchmarks/run.py --json     # the same rows as JSON, with the machine
    python benchmarks/run.py --rows parse,dump

"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # measure the working tree, installed or not
    sys.path.insert(0, str(ROOT))

import runstate  # noqa: E402
from runstate import RunStatus, dump_run, parse_run  # noqa: E402

NOW_SLACK = 5  # seconds after a run's last timestamp, for operations that take `now`


# --------------------------------------------------------------------------------------
# Inputs


@dataclass
class Corpus:
    """One named set of runs, as the bytes both sides parse."""

    name: str
    lines: list[bytes]
    patched: list[bool]  # which lines needed the two-key patch for the SDK


def _patch_for_sdk(data: bytes) -> tuple[bytes, bool]:
    """The same run, with the two keys the SDK's Run refuses made acceptable to it."""
    obj = json.loads(data)
    changed = False
    if obj.get("instructions", "") is None:
        obj["instructions"] = ""
        changed = True
    if "parallel_tool_calls" not in obj:
        obj["parallel_tool_calls"] = False
        changed = True
    if not changed:
        return data, False
    return json.dumps(obj, separators=(",", ":")).encode(), True


def _corpus(name: str, raw: Sequence[bytes]) -> Corpus:
    lines, patched = [], []
    for data in raw:
        line, changed = _patch_for_sdk(data)
        lines.append(line)
        patched.append(changed)
    return Corpus(name, lines, patched)


def seed_corpus(shared: Path) -> Corpus | None:
    path = shared / "seed" / "cancel-run-endpoint.md"
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    start = text.rindex("```json") + len("```json")
    block = text[start : text.index("```", start)].strip()
    return _corpus("seed", [block.encode()])  # as printed (indented), like a pretty response


def real_corpora(shared: Path) -> list[Corpus]:
    """Every real run object, grouped by recording: dotnet's (2025) and ruby's (2023-24)."""
    base = shared / "real-world"
    raw: dict[str, list[bytes]] = {}
    for path in sorted(base.glob("polled/*.jsonl")):
        group = raw.setdefault(path.name.split("-", 1)[0], [])
        group.extend(line for line in path.read_bytes().splitlines() if line.strip())
    for path in sorted(base.glob("streamed/*.sse")):
        group = raw.setdefault(path.name.split("-", 1)[0], [])
        event = None
        for line in path.read_bytes().splitlines():
            if line.startswith(b"event:"):
                event = line[6:].strip().decode()
            elif (
                line.startswith(b"data:")
                and event is not None
                and event.startswith("thread.run.")
                and event.count(".") == 2  # thread.run.<status>, not thread.run.step.*
            ):
                group.append(line[5:].strip())
    return [_corpus(f"real {name}", lines) for name, lines in sorted(raw.items()) if lines]


def _template(status: str, n: int) -> dict[str, Any]:
    created = 1_761_861_679 + 1000 * n
    return {
        "id": f"run_gen{n:04d}abcdefghijklmnopq",
        "object": "thread.run",
        "created_at": created,
        "assistant_id": "asst_LtiaO4m2KzcEDhNxZLOWffZY",
        "thread_id": f"thread_gen{n:04d}abcdefghijklmno",
        "status": status,
        "started_at": None,
        "expires_at": created + 600,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "required_action": None,
        "last_error": None,
        "model": "gpt-4o",
        "instructions": "You are a weather bot. Use the provided functions to answer.",
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather for a city",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                    "strict": False,
                },
            },
            {"type": "code_interpreter"},
        ],
        "tool_resources": {},
        "metadata": {"user": "u_42"},
        "temperature": 1.0,
        "top_p": 1.0,
        "reasoning_effort": None,
        "max_completion_tokens": None,
        "max_prompt_tokens": None,
        "truncation_strategy": {"type": "auto", "last_messages": None},
        "incomplete_details": None,
        "usage": None,
        "response_format": "auto",
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_token_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def generated_runs() -> list[dict[str, Any]]:
    """One run in each of the nine statuses, shaped like the 2025 API's objects."""
    runs = []
    for n, status in enumerate(RunStatus):
        run = _template(status.value, n)
        t0 = run["created_at"]
        if status is not RunStatus.QUEUED:
            run["started_at"] = t0 + 1
        if status is RunStatus.REQUIRES_ACTION:
            run["required_action"] = {
                "type": "submit_tool_outputs",
                "submit_tool_outputs": {
                    "tool_calls": [
                        {
                            "id": f"call_{n}{i}abcdefghijklmnopqrstu",
                            "type": "function",
                            "function": {
                                "name": "get_weather",
                                "arguments": json.dumps({"city": city}),
                            },
                        }
                        for i, city in enumerate(("Paris", "Oslo"))
                    ]
                },
            }
        if status.is_terminal:
            run["expires_at"] = None
        if status is RunStatus.CANCELLED:
            run["cancelled_at"] = t0 + 3
        elif status is RunStatus.FAILED:
            run["failed_at"] = t0 + 3
            run["last_error"] = {"code": "server_error", "message": "Something went wrong."}
            run["usage"] = _usage(120, 0)
        elif status is RunStatus.COMPLETED:
            run["completed_at"] = t0 + 3
            run["usage"] = _usage(627, 34)
        elif status is RunStatus.INCOMPLETE:
            run["incomplete_details"] = {"reason": "max_completion_tokens"}
            run["max_completion_tokens"] = 32
            run["usage"] = _usage(627, 32)
        elif status is RunStatus.EXPIRED:
            run["expires_at"] = None
            run["started_at"] = None
        runs.append(run)
    return runs


def generated_corpus() -> Corpus:
    raw = [json.dumps(r, separators=(",", ":")).encode() for r in generated_runs()]
    return _corpus("generated", raw)


def poll_trace(path: Path, snapshots: int) -> None:
    """Write a legal poll trace of one run: tool-call rounds polled ten times each."""
    created = 1_761_861_679
    run = _template("queued", 9999)
    run.update(id="run_trace", thread_id="thread_trace", created_at=created)
    run["expires_at"] = created + 10**9  # a stress test: rounds go on far past 10 minutes
    polls = 10
    written = 0
    now = created
    with path.open("w", encoding="utf-8") as f:

        def emit(times: int) -> None:
            nonlocal written
            line = json.dumps(run, separators=(",", ":")) + "\n"
            for _ in range(min(times, snapshots - 1 - written)):
                f.write(line)
                written += 1

        emit(2)
        round_no = 0
        while written < snapshots - 1:
            now += 1
            run.update(status="in_progress", started_at=now, required_action=None)
            emit(polls)
            now += 1
            call = {
                "id": f"call_{round_no}",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
            run.update(
                status="requires_action",
                required_action={
                    "type": "submit_tool_outputs",
                    "submit_tool_outputs": {"tool_calls": [call]},
                },
            )
            emit(polls)
            now += 1
            run.update(status="queued", required_action=None)
            emit(1)
            round_no += 1
        run.update(
            status="completed",
            required_action=None,
            started_at=run["started_at"] or now,
            completed_at=now + 2,
            expires_at=None,
            usage=_usage(10, 2),
        )
        if run["started_at"] is None:
            run["started_at"] = now + 1
        f.write(json.dumps(run, separators=(",", ":")) + "\n")


# --------------------------------------------------------------------------------------
# Timing


@dataclass
class Row:
    """One line of the table."""

    name: str
    runstate: float | None  # seconds (or bytes, for memory)
    anchor: float | None
    unit: str  # "s" or "B"
    target: str  # e.g. "<= 1.0"
    limit: float | None  # the ratio target as a number
    note: str = ""
    runstate_what: str = ""
    anchor_what: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)
    #: The median of the per-pair ratios, when the sides were sampled in pairs.
    paired_ratio: float | None = None

    def __post_init__(self) -> None:
        if self.paired_ratio is None and self.samples.get("ratio"):
            self.paired_ratio = statistics.median(self.samples["ratio"])

    @property
    def ratio(self) -> float | None:
        if self.paired_ratio is not None:
            return self.paired_ratio
        if self.runstate is None or self.anchor is None or self.anchor == 0:
            return None
        return self.runstate / self.anchor

    @property
    def met(self) -> bool | None:
        ratio = self.ratio
        if ratio is None or self.limit is None:
            return None
        return ratio <= self.limit


@dataclass
class Settings:
    repeats: int
    sample_time: float  # seconds per sample, roughly
    trace_snapshots: int
    memory_runs: int
    import_repeats: int


FULL = Settings(
    repeats=31, sample_time=0.01, trace_snapshots=100_000, memory_runs=10_000, import_repeats=7
)
SMOKE = Settings(
    repeats=2, sample_time=0.001, trace_snapshots=500, memory_runs=200, import_repeats=1
)


def _number(fn: Callable[[], object], sample_time: float) -> int:
    """How many calls of ``fn`` make about one sample."""
    started = time.perf_counter()
    fn()
    once = max(time.perf_counter() - started, 1e-7)
    return max(1, int(sample_time / once))


def compare(
    ours: Callable[[], object], theirs: Callable[[], object], per: int, settings: Settings
) -> tuple[float, float, dict[str, list[float]]]:
    """Median seconds per item of two zero-argument loops over ``per`` items each.

    The samples come in adjacent pairs, one of each side, so that a burst of load from
    elsewhere on the machine hits both; ``samples["ratio"]`` holds each pair's ratio.
    """
    ours()  # warm both up (caches, specialisation) before calibrating
    theirs()
    numbers = (_number(ours, settings.sample_time), _number(theirs, settings.sample_time))
    timers = (timeit.Timer(ours), timeit.Timer(theirs))
    samples: tuple[list[float], list[float]] = ([], [])
    for r in range(settings.repeats):
        order = (0, 1) if r % 2 == 0 else (1, 0)
        for side in order:
            took = timers[side].timeit(numbers[side])
            samples[side].append(took / numbers[side] / per)
    ratios = [a / b for a, b in zip(samples[0], samples[1], strict=True)]
    return (
        statistics.median(samples[0]),
        statistics.median(samples[1]),
        {"runstate": samples[0], "anchor": samples[1], "ratio": ratios},
    )


def _consume(iterator: Iterator[object]) -> None:
    for _ in iterator:
        pass


# --------------------------------------------------------------------------------------
# The rows


def _sdk_run() -> Any:
    from openai.types.beta.threads import Run  # noqa: PLC0415

    return Run


def _now_for(run: Any) -> int:
    stamps = [
        run.created_at,
        run.started_at,
        run.expires_at,
        run.cancelled_at,
        run.failed_at,
        run.completed_at,
    ]
    return max(s for s in stamps if s is not None) + NOW_SLACK


def rows_parse(corpora: list[Corpus], settings: Settings) -> list[Row]:
    """Parse rows on the standard library's JSON path, then with the fast extra (orjson)."""
    from runstate._engine import serde as _serde  # noqa: PLC0415

    fast = _serde.fast_loads
    _serde.fast_loads = None
    try:
        rows = _rows_parse(corpora, settings, "json", "<= 1.0", 1.0)
    finally:
        _serde.fast_loads = fast
    if fast is not None:
        rows += _rows_parse(corpora, settings, "fast", "<= 0.7", 0.7)
    return rows


def _rows_parse(
    corpora: list[Corpus], settings: Settings, decoder: str, target: str, limit: float
) -> list[Row]:
    sdk = _sdk_run()
    validate = sdk.model_validate_json
    rows = []
    everything = [line for c in corpora for line in c.lines]
    real = [line for c in corpora if c.name.startswith("real") for line in c.lines]
    groups = [(c.name, c.lines) for c in corpora]
    if real:
        groups.append(("real, all", real))
    for name, lines in [*groups, ("all inputs", everything)]:

        def ours(lines: list[bytes] = lines) -> None:
            for line in lines:
                parse_run(line)

        def theirs(lines: list[bytes] = lines) -> None:
            for line in lines:
                validate(line)

        a, b, samples = compare(ours, theirs, len(lines), settings)
        rows.append(
            Row(
                f"parse [{decoder}]: {name} ({len(lines)})",
                a,
                b,
                "s",
                target,
                limit,
                runstate_what=f"parse_run(bytes), {decoder} decoder",
                anchor_what="Run.model_validate_json(bytes)",
                samples=samples,
            )
        )
    return rows


def row_converter(corpora: list[Corpus], settings: Settings) -> Row:
    """cattrs doing the container work: a list of runs, against pydantic's TypeAdapter."""
    import pydantic  # noqa: PLC0415

    sdk = _sdk_run()
    data = [json.loads(line) for c in corpora for line in c.lines]
    adapter = pydantic.TypeAdapter(list[sdk])
    converter = runstate.converter

    def ours() -> None:
        converter.structure(data, list[runstate.Run])

    def theirs() -> None:
        adapter.validate_python(data)

    a, b, samples = compare(ours, theirs, len(data), settings)
    return Row(
        f"converter, list of runs ({len(data)})",
        a,
        b,
        "s",
        "<= 1.0",
        1.0,
        runstate_what="runstate.converter.structure(data, list[Run])",
        anchor_what="TypeAdapter(list[Run]).validate_python(data)",
        samples=samples,
    )


def _parsed(corpora: list[Corpus]) -> tuple[list[Any], list[Any]]:
    sdk = _sdk_run()
    lines = [line for c in corpora for line in c.lines]
    return [parse_run(x) for x in lines], [sdk.model_validate_json(x) for x in lines]


def row_dump(corpora: list[Corpus], settings: Settings) -> Row:
    ours_runs, their_runs = _parsed(corpora)

    def ours() -> None:
        for run in ours_runs:
            dump_run(run)

    def theirs() -> None:
        for run in their_runs:
            run.model_dump()

    a, b, samples = compare(ours, theirs, len(ours_runs), settings)
    return Row(
        f"dump ({len(ours_runs)})",
        a,
        b,
        "s",
        "<= 1.0",
        1.0,
        runstate_what="dump_run(run)",
        anchor_what="run.model_dump()",
        samples=samples,
    )


def row_cancel(corpora: list[Corpus], settings: Settings) -> Row:
    name = "apply cancel"
    cancel = runstate.cancel
    ours_runs, their_runs = _parsed(corpora)
    pairs = [
        ((run, _now_for(run)), sdk)
        for run, sdk in zip(ours_runs, their_runs, strict=True)
        if run.status in runstate.CANCELLABLE_STATUSES
    ]
    ours_items = [p[0] for p in pairs]
    their_items = [p[1] for p in pairs]
    update = {"status": "cancelling", "required_action": None}

    def ours() -> None:
        for run, now in ours_items:
            cancel(run, now=now)

    def theirs() -> None:
        for run in their_items:
            run.model_copy(update=update)

    a, b, samples = compare(ours, theirs, len(pairs), settings)
    return Row(
        f"{name} ({len(pairs)})",
        a,
        b,
        "s",
        "<= 1.0",
        1.0,
        runstate_what="cancel(run, now=...)",
        anchor_what='run.model_copy(update={"status": "cancelling", ...})',
        samples=samples,
    )


def _machine_transitions() -> list[dict[str, Any]]:
    from runstate._machine import machine_transitions  # noqa: PLC0415

    return machine_transitions()  # the table's edges, states named by wire value


class _Model:
    """A plain mutable object for transitions to bind triggers and a state to."""


def rows_machine(corpora: list[Corpus], settings: Settings) -> list[Row]:
    from transitions import Machine  # noqa: PLC0415

    ours_runs, _ = _parsed(corpora)
    table = _machine_transitions()
    rows = []

    # decide: check_cancel against may_cancel() on models bound to one shared machine
    check_cancel = runstate.check_cancel
    states = [s.value for s in RunStatus]
    shared = Machine(
        model=None, states=states, transitions=table, initial=None, auto_transitions=False
    )
    models = []
    for run in ours_runs:
        model = _Model()
        shared.add_model(model, initial=run.status.value)
        models.append(model)
    for run, model in zip(ours_runs, models, strict=True):  # they must agree
        assert check_cancel(run).allowed == model.may_cancel(), run.status

    def ours() -> None:
        for run in ours_runs:
            check_cancel(run)

    def theirs() -> None:
        for model in models:
            model.may_cancel()

    a, b, samples = compare(ours, theirs, len(ours_runs), settings)
    rows.append(
        Row(
            f"decide ({len(ours_runs)})",
            a,
            b,
            "s",
            "<= 0.1",
            0.1,
            runstate_what="check_cancel(run)",
            anchor_what="model.may_cancel(), one shared Machine",
            samples=samples,
        )
    )

    # a whole machine per run, the documented anti-pattern
    cancel = runstate.cancel
    items = [(r, _now_for(r)) for r in ours_runs if r.status in runstate.CANCELLABLE_STATUSES]

    def ours_cancel() -> None:
        for run, now in items:
            cancel(run, now=now)

    def machine_per_run() -> None:
        for run, _ in items:
            model = _Model()
            Machine(
                model=model,
                states=states,
                transitions=table,
                initial=run.status.value,
                auto_transitions=False,
            )
            model.cancel()

    a, b, samples = compare(ours_cancel, machine_per_run, len(items), settings)
    row = Row(
        f"vs machine per run ({len(items)})",
        a,
        b,
        "s",
        "<= 0.02 (50x faster)",
        0.02,
        runstate_what="cancel(run, now=...)",
        anchor_what="Machine(model, ...) per run, then model.cancel()",
        samples=samples,
    )
    row.note = f"{b / a:.0f}x faster"
    rows.append(row)
    return rows


def row_invariants(corpora: list[Corpus], settings: Settings) -> Row:
    violations = runstate.violations
    lines = [line for c in corpora for line in c.lines]
    runs = [parse_run(x) for x in lines]

    def ours() -> None:
        for run in runs:
            violations(run)

    def theirs() -> None:
        for line in lines:
            parse_run(line)

    a, b, samples = compare(ours, theirs, len(runs), settings)
    return Row(
        f"invariants ({len(runs)})",
        a,
        b,
        "s",
        "<= 0.5",
        0.5,
        runstate_what="violations(run)",
        anchor_what="parse_run(bytes) of the same run",
        samples=samples,
    )


def row_trace(settings: Settings) -> Row:
    n = settings.trace_snapshots
    name = f"trace ({n:,} snapshots)"
    check_trace = runstate.check_trace
    validate = _sdk_run().model_validate_json
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "poll-trace.jsonl")
        poll_trace(path, n)
        report = check_trace(path.read_bytes().splitlines(), mode="poll")
        note = "trace checks clean" if getattr(report, "ok", True) else "trace has errors!"

        def ours() -> None:
            with path.open("rb") as f:
                check_trace(f, mode="poll")

        def theirs() -> None:
            with path.open("rb") as f:
                for line in f:
                    validate(line)

        # One pass over 100,000 lines is a long sample already: a few repeats suffice.
        few = Settings(
            repeats=max(2, min(settings.repeats, 5)),
            sample_time=0.0,
            trace_snapshots=n,
            memory_runs=0,
            import_repeats=0,
        )
        a, b, samples = compare(ours, theirs, n, few)
    return Row(
        name,
        a,
        b,
        "s",
        "<= 1.0",
        1.0,
        note=note,
        runstate_what='check_trace(lines of a JSONL file, mode="poll")',
        anchor_what="Run.model_validate_json(line) for each line",
        samples=samples,
    )


def _held_bytes(make: Callable[[bytes], object], lines: list[bytes], count: int) -> float:
    """Bytes allocated and still held per object, for ``count`` objects made from ``lines``."""
    inputs = [lines[i % len(lines)] for i in range(count)]
    held: list[object] = [None] * count
    make(inputs[0])  # warm up lazily built caches outside the measurement
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i, line in enumerate(inputs):
        held[i] = make(line)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del held
    return (after - before) / count


def row_memory(corpora: list[Corpus], settings: Settings) -> Row:
    n = settings.memory_runs
    lines = [line for c in corpora for line in c.lines]
    validate = _sdk_run().model_validate_json
    # interleaved, median of three each
    ours, theirs = [], []
    for _ in range(3 if n >= 1000 else 1):
        ours.append(_held_bytes(parse_run, lines, n))
        theirs.append(_held_bytes(validate, lines, n))
    return Row(
        f"memory per Run ({n:,} held)",
        statistics.median(ours),
        statistics.median(theirs),
        "B",
        "<= 0.5",
        0.5,
        runstate_what="parse_run(bytes)",
        anchor_what="Run.model_validate_json(bytes)",
        note="tracemalloc, same bytes",
    )


_IMPORT_OURS = "import runstate"
_IMPORT_THEIRS = "from openai.types.beta.threads import Run"


def _import_seconds(statement: str) -> tuple[float, list[str]]:
    code = (
        "import sys, time\n"
        "t = time.perf_counter()\n"
        f"{statement}\n"
        "t = time.perf_counter() - t\n"
        "print(t)\n"
        "print(' '.join(m for m in ('transitions', 'cattrs', 'pydantic') if m in sys.modules))\n"
    )
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env=env
    )
    first, *rest = done.stdout.splitlines()
    return float(first), (rest[0].split() if rest else [])


def row_import(settings: Settings) -> Row:
    ours, theirs = [], []
    loaded: list[str] = []
    _import_seconds(_IMPORT_OURS)  # bytecode caches and the page cache, both sides
    _import_seconds(_IMPORT_THEIRS)
    for r in range(settings.import_repeats):
        for side in (0, 1) if r % 2 == 0 else (1, 0):
            if side == 0:
                took, loaded = _import_seconds(_IMPORT_OURS)
                ours.append(took)
            else:
                theirs.append(_import_seconds(_IMPORT_THEIRS)[0])
    also = ", ".join(loaded) if loaded else "nothing"
    return Row(
        "import",
        statistics.median(ours),
        statistics.median(theirs),
        "s",
        "<= 0.25",
        0.25,
        note=f"fresh processes; also loaded: {also}",
        runstate_what=_IMPORT_OURS,
        anchor_what=_IMPORT_THEIRS,
        samples={"runstate": ours, "anchor": theirs},
    )


# --------------------------------------------------------------------------------------
# Reporting


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for dist in (
        "runstate",
        "openai",
        "pydantic",
        "pydantic_core",
        "transitions",
        "attrs",
        "cattrs",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = runstate.__version__ if dist == "runstate" else None
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
    }


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "B":
        return f"{value:,.0f} B"
    if value >= 1e-3:
        return f"{value * 1e3:,.1f} ms"
    if value >= 1e-6:
        return f"{value * 1e6:,.2f} us"
    return f"{value * 1e9:,.0f} ns"


def table(rows: list[Row]) -> str:
    head = ("what", "runstate", "anchor", "ratio", "target", "met", "note")
    body = []
    for row in rows:
        ratio = row.ratio
        met = {True: "yes", False: "NO", None: "-"}[row.met]
        body.append(
            (
                row.name,
                _fmt(row.runstate, row.unit),
                _fmt(row.anchor, row.unit),
                "-" if ratio is None else f"{ratio:.3f}",
                row.target,
                met,
                row.note,
            )
        )
    widths = [max(len(r[i]) for r in (head, *body)) for i in range(len(head))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(head, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in body
    ]
    return "\n".join(lines)


ROW_GROUPS = (
    "parse",
    "dump",
    "converter",
    "cancel",
    "machine",
    "invariants",
    "trace",
    "memory",
    "import",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--smoke", action="store_true", help="tiny iteration counts, for CI: runs in a few seconds"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument(
        "--rows",
        default=",".join(ROW_GROUPS),
        help=f"comma-separated subset of: {', '.join(ROW_GROUPS)}",
    )
    parser.add_argument(
        "--shared",
        type=Path,
        default=ROOT.parent / "shared",
        help="the shared directory with seed/ and real-world/",
    )
    parser.add_argument("--repeats", type=int, help="samples per side (default 15, smoke 2)")
    args = parser.parse_args(argv)
    settings = SMOKE if args.smoke else FULL
    if args.repeats:
        settings = Settings(
            args.repeats,
            settings.sample_time,
            settings.trace_snapshots,
            settings.memory_runs,
            settings.import_repeats,
        )
    wanted = {g.strip() for g in args.rows.split(",") if g.strip()}
    unknown = wanted - set(ROW_GROUPS)
    if unknown:
        parser.error(f"unknown rows: {', '.join(sorted(unknown))}")

    seed = seed_corpus(args.shared)
    corpora = [seed] if seed else []
    corpora += real_corpora(args.shared)
    corpora.append(generated_corpus())
    if args.smoke:  # a handful of inputs is enough to prove the script runs
        corpora = [Corpus(c.name, c.lines[:3], c.patched[:3]) for c in corpora]

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log(
        "inputs: "
        + ", ".join(
            f"{c.name} {len(c.lines)} ({sum(c.patched)} patched for the SDK)" for c in corpora
        )
    )
    rows: list[Row] = []
    steps: list[tuple[str, Callable[[], list[Row]]]] = [
        ("parse", lambda: rows_parse(corpora, settings)),
        ("dump", lambda: [row_dump(corpora, settings)]),
        ("converter", lambda: [row_converter(corpora, settings)]),
        ("cancel", lambda: [row_cancel(corpora, settings)]),
        ("machine", lambda: rows_machine(corpora, settings)),
        ("invariants", lambda: [row_invariants(corpora, settings)]),
        ("trace", lambda: [row_trace(settings)]),
        ("memory", lambda: [row_memory(corpora, settings)]),
        ("import", lambda: [row_import(settings)]),
    ]
    for group, step in steps:
        if group in wanted:
            log(f"measuring {group} ...")
            rows.extend(step())

    info = machine_info()
    if args.json:
        out = {
            "machine": info,
            "mode": "smoke" if args.smoke else "full",
            "inputs": {c.name: len(c.lines) for c in corpora},
            "rows": [
                {
                    "name": r.name,
                    "runstate": r.runstate,
                    "anchor": r.anchor,
                    "unit": r.unit,
                    "ratio": r.ratio,
                    "target": r.target,
                    "met": r.met,
                    "note": r.note,
                    "runstate_call": r.runstate_what,
                    "anchor_call": r.anchor_what,
                }
                for r in rows
            ],
        }
        print(json.dumps(out, indent=2))
    else:
        pk = info["packages"]
        print(
            f"{info['cpu']} ({info['cpus']} CPUs), {info['implementation']} {info['python']}, "
            f"runstate {pk['runstate']}, openai {pk['openai']}, pydantic {pk['pydantic']}, "
            f"transitions {pk['transitions']}"
            + ("  [SMOKE: numbers meaningless]" if args.smoke else "")
        )
        print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
