"""Attacks on the trace readers: ``parse_sse``, ``check_trace`` and ``runstate check``.

Hypothesis throws bytes, text, odd line endings and hostile items at them: nesting
deeper than Python decodes, integers longer than it converts, mappings and sequences
that raise when read, ``str`` subclasses that lie about themselves, values of every
type. Each test fails on any exception outside the documented ones, and checks what
must hold whatever the input (positions in range, rule names kebab-case, output lines
printable, the JSON report whole).

As many examples as the profile gives (tests/conftest.py: 10 under the default ``quick``,
50 under ``ci``, Hypothesis' usual 100 at random under ``dev``).
``RUNSTATE_FUZZ_EXAMPLES=5000`` runs that many for a long hunt.
"""

from __future__ import annotations

import io
import json
import os
import re
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if os.environ.get("RUNSTATE_FUZZ_EXAMPLES"):
    settings.register_profile(
        "fuzz",
        settings(),  # the profile tests/conftest.py loaded
        max_examples=int(os.environ["RUNSTATE_FUZZ_EXAMPLES"]),
    )
    settings.load_profile("fuzz")

import runstate as rs
from runstate import RunStatus
from runstate._cli import main
from runstate._engine.sse import iter_events, iter_lines, parse_sse
from runstate._trace import TraceChecker, check_trace

if TYPE_CHECKING:
    from pathlib import Path

KEBAB = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SUMMARY = re.compile(r"\d+ files? checked( \(\d+ skipped\))?: (\d+ unreadable; )?\d+ errors?, ")
#: Characters no output line may hold raw (controls, separators, bidi overrides).
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")

DEEP = "[" * 100_000 + "]" * 100_000
HUGE_INT = "9" * 5000


def snap(status: Any, **fields: Any) -> dict[str, Any]:
    run: dict[str, Any] = {
        "id": "run_1",
        "object": "thread.run",
        "created_at": 100,
        "thread_id": "thread_1",
        "assistant_id": "asst_1",
        "status": status,
        "model": "gpt-4o",
        "expires_at": 700,
    }
    run.update(fields)
    return run


# --------------------------------------------------------------------------------------
# Hostile values


class Raising(dict):  # type: ignore[type-arg]
    """A mapping that raises however it is read."""

    def __getitem__(self, key: object) -> Any:
        raise KeyError(key)

    def get(self, key: object, default: object = None) -> Any:
        raise RuntimeError("get")

    def __iter__(self) -> Any:
        raise RuntimeError("iter")

    def __len__(self) -> int:
        raise RuntimeError("len")

    def items(self) -> Any:
        raise RuntimeError("items")

    def keys(self) -> Any:
        raise RuntimeError("keys")

    def values(self) -> Any:
        raise RuntimeError("values")


class RaisingList(list):  # type: ignore[type-arg]
    def __len__(self) -> int:
        raise RuntimeError("len")

    def __iter__(self) -> Any:
        raise RuntimeError("iter")

    def __getitem__(self, index: Any) -> Any:
        raise RuntimeError("getitem")


class Liar(str):
    """A str whose every method tells another story than its text."""

    __slots__ = ()

    def __str__(self) -> str:
        return "thread.run.completed"

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0

    def __len__(self) -> int:
        return 0

    def startswith(self, *args: Any) -> bool:  # type: ignore[override]
        raise RuntimeError("startswith")

    def strip(self, *args: Any) -> str:  # type: ignore[override]
        raise RuntimeError("strip")

    def encode(self, *args: Any) -> bytes:  # type: ignore[override]
        raise RuntimeError("encode")


class RaisingStr(str):
    __slots__ = ()

    def __str__(self) -> str:
        raise RuntimeError("str")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    def __hash__(self) -> int:
        raise RuntimeError("hash")


class Opaque:
    def __repr__(self) -> str:
        raise RuntimeError("repr")


def deep_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


HOSTILE: list[Any] = [
    None,
    0,
    1.5,
    float("nan"),
    True,
    b"",
    b"\xff\xfe",
    bytearray(b"{}"),
    "",
    "[DONE]",
    "{",
    DEEP,
    '{"status": ' + HUGE_INT + "}",
    json.dumps(snap("queued"))[:-1] + f', "usage": {HUGE_INT}}}',
    deep_list(100_000),
    {"a": deep_list(100_000)},
    snap("queued", metadata={"k": deep_list(50_000)}),
    snap("queued", created_at=10**5000),
    snap("in_progress", started_at=10**5000, created_at=10**5000),
    snap("queued", id=Liar("run_1")),
    snap(Liar("queued")),
    snap("queued", metadata={Liar("k"): Liar("v")}),
    snap("queued", metadata=Raising()),
    snap("queued", metadata={"k": RaisingStr("v")}),
    snap("queued", id="r\n\x1b[2J" * 1000),
    Raising(),
    Raising(snap("queued")),
    RaisingList([1, 2]),
    Liar(json.dumps(snap("queued"))),
    RaisingStr(json.dumps(snap("queued"))),
    Opaque(),
    object(),
    [1, 2, 3],
    (1, 2),
    ("a", "b", "c"),
    {"object": "list", "data": [snap("queued")]},
]
EVENT_NAMES = [
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.requires_action",
    "thread.run.completed",
    "thread.run.cancelling",
    "thread.run.cancelled",
    "thread.run.step.created",
    "thread.run.step.delta",
    "thread.run.paused",
    "thread.message.delta",
    "message",
    "done",
    "",
    Liar("done"),
    Liar("thread.run.step.created"),
    RaisingStr("thread.run.step.created"),
    "thread.run." + "x" * 10_000,
]
STATUSES = [s.value for s in RunStatus]


def one_of_list(values: list[Any]) -> st.SearchStrategy[Any]:
    """One of ``values``, picked by index: some cannot even be hashed or compared."""
    return st.integers(0, len(values) - 1).map(values.__getitem__)


snapshots = st.builds(
    snap,
    st.sampled_from(STATUSES),
    started_at=st.sampled_from([None, 101, 102]),
    expires_at=st.sampled_from([None, 700, 800]),
    id=st.sampled_from(["run_1", "run_2"]),
)
values = st.one_of(
    snapshots,
    snapshots.map(json.dumps),
    one_of_list(HOSTILE),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
)
pairs = st.tuples(one_of_list(EVENT_NAMES), values)
items = st.one_of(values, pairs, pairs.map(list), st.tuples(st.integers(), values))


# --------------------------------------------------------------------------------------
# Bytes and text as event streams

FRAGMENTS = [
    b"event: ",
    b"event:thread.run.created",
    b"event: thread.run.in_progress",
    b"event: done",
    b"data: ",
    b"data:",
    b"data: [DONE]",
    b'data: {"id": "run_1", "status": "queued"}',
    b"data: " + json.dumps(snap("queued")).encode(),
    b"data: " + DEEP[:3000].encode(),
    b"data: " + HUGE_INT.encode(),
    b": comment",
    b"id: 1",
    b"retry: x",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"\x00",
    b"\x1b[2J",
    "\u202e\u2028".encode(),
    b"{",
    b"[",
]
streams = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), max_size=30).map(b"".join),
    st.binary(max_size=300),
)


def assert_pairs(pairs: list[tuple[str, str]]) -> None:
    for name, data in pairs:
        assert type(name) is str
        assert type(data) is str


@given(streams)
@settings(deadline=None)
def test_parse_sse_reads_any_bytes_alike_in_every_form(body: bytes) -> None:
    pairs = list(parse_sse(body))
    assert_pairs(pairs)
    assert list(parse_sse(bytearray(body))) == pairs
    assert list(parse_sse(memoryview(body))) == pairs
    assert list(parse_sse(io.BytesIO(body))) == pairs
    assert list(parse_sse(body.splitlines(keepends=True))) == pairs
    text = body.decode("utf-8", "replace")
    assert list(parse_sse(text)) == pairs
    assert list(parse_sse(io.StringIO(text, newline=""))) == pairs
    events = list(iter_events(iter_lines(body)))
    assert [(e.event, e.data) for e in events] == pairs
    assert all(0 < e.first_line <= e.last_line for e in events)


@given(st.text(max_size=200), st.sampled_from(["\n", "\r", "\r\n"]))
def test_parse_sse_reads_any_text_alike_in_every_line_ending(text: str, eol: str) -> None:
    lines = re.split(r"\r\n|\r|\n", text)
    assert list(parse_sse(eol.join(lines))) == list(parse_sse("\n".join(lines)))


@given(st.lists(st.one_of(st.text(max_size=30), st.binary(max_size=30)), max_size=10))
def test_parse_sse_reads_any_lines(lines: list[str | bytes]) -> None:
    assert_pairs(list(parse_sse(lines)))  # type: ignore[arg-type]


@given(st.sampled_from([None, 1, 1.5, object(), [1], [None], [b"a", 2]]))
def test_parse_sse_refuses_what_is_no_text_with_invalid_argument(source: Any) -> None:
    with pytest.raises(rs.InvalidArgument) as info:
        list(parse_sse(source))
    assert info.value.argument == "source"


# --------------------------------------------------------------------------------------
# check_trace


def assert_report(found: list[Any], count: int) -> None:
    for problem in found:
        assert 0 <= problem.position < max(count, 1), problem
        assert problem.severity in ("error", "warning")
        assert KEBAB.fullmatch(problem.rule), problem.rule
        assert type(problem.message) is str
        str(problem)


@given(st.lists(items, max_size=12), st.sampled_from(["poll", "stream"]))
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_check_trace_reports_whatever_it_is_fed(trace: list[Any], mode: Any) -> None:
    report = check_trace(trace, mode=mode)
    assert report.checked == len(trace)
    assert_report(list(report.problems), len(trace))
    if not any(p.rule == "no-run" for p in report.problems):
        assert trace  # an empty trace holds no run
    checker = TraceChecker(mode=mode)
    found = [p for item in trace for p in checker.feed(item)]
    found += checker.close()
    assert found == list(report.problems)


@given(streams, st.sampled_from(["poll", "stream"]))
@settings(deadline=None)
def test_check_trace_reads_any_parsed_stream(body: bytes, mode: Any) -> None:
    report = check_trace(parse_sse(body), mode=mode)
    assert_report(list(report.problems), report.checked)


@given(st.lists(items, max_size=8), st.integers(0, 3))
@settings(deadline=None)
def test_max_problems_bounds_what_is_kept_and_counts_the_rest(trace: list[Any], keep: int) -> None:
    everything = check_trace(trace, mode="stream", max_problems=None)
    report = check_trace(trace, mode="stream", max_problems=keep)
    assert report.error_count == len(everything.errors)
    assert report.warning_count == len(everything.warnings)
    assert report.errors == everything.errors[:keep]
    assert report.warnings == everything.warnings[:keep]
    assert report.ok == everything.ok


# --------------------------------------------------------------------------------------
# The command line, in-process

GOOD = "".join(
    json.dumps(s) + "\n"
    for s in (snap("queued"), snap("in_progress", started_at=101), snap("queued", started_at=101))
)
GOOD_SSE = (
    f"event: thread.run.created\ndata: {json.dumps(snap('queued'))}\n\n"
    f"event: thread.run.in_progress\ndata: {json.dumps(snap('in_progress', started_at=101))}\n\n"
    "event: done\ndata: [DONE]\n\n"
)
SUFFIXES = [".jsonl", ".json", ".sse", ".txt", ".log"]
json_texts = st.one_of(
    st.lists(
        st.sampled_from(
            [
                json.dumps(snap("queued")),
                json.dumps(snap("completed")),
                "[" + json.dumps(snap("queued")),
                json.dumps({"object": "list", "data": [snap("queued")]}),
                "[[1], []]",
                DEEP[:5000],
                DEEP,
                HUGE_INT,
                '{"id": ' + HUGE_INT + "}",
                "{",
                "]",
                ",",
                '"\\u0000\x1b[2J\u202e"',
                '{"metadata": {"\\n\\u001b": "x"}}',
            ]
        ),
        max_size=6,
    ).flatmap(
        lambda parts: st.sampled_from(["\n", "\r", "\r\n", ",", "", " "]).map(
            lambda sep: sep.join(parts)
        )
    ),
    st.text(max_size=100),
)
files = st.one_of(streams, json_texts.map(lambda t: t.encode("utf-8", "surrogatepass")))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def check(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", *args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def assert_safe(output: str) -> None:
    assert "Traceback" not in output
    assert "internal error" not in output, output[-500:]
    assert not UNSAFE.search(output), repr(UNSAFE.search(output))


@given(files, st.sampled_from(SUFFIXES), st.sampled_from([[], ["--mode", "stream"]]))
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_cli_checks_any_file_and_goes_on(
    folder: Path, body: bytes, suffix: str, mode: list[str]
) -> None:
    (folder / f"trace{suffix}").write_bytes(body)
    good = folder / ("z-good.sse" if mode else "z-good.jsonl")
    good.write_text(GOOD_SSE if mode else GOOD)
    targets = [str(folder / f"trace{suffix}"), str(good)]

    code, out, err = check(*mode, *targets)
    assert code in (0, 1, 2)
    assert_safe(out)
    assert_safe(err)
    lines = out.splitlines()
    assert lines[-2] == f"{good}: ok, 3 items ({'stream' if mode else 'poll'})"
    assert SUMMARY.match(lines[-1]), lines[-1]
    assert len(out) < 200_000

    code_json, out, err = check("--json", *mode, *targets)
    assert code_json == code
    assert_safe(err)
    document = json.loads(out)
    assert document["exit_status"] == code
    assert document["counts"]["files"] == 2
    assert [f["path"] for f in document["files"]][-1] == str(good)
    assert (
        len(document["problems"]) == document["counts"]["errors"] + document["counts"]["warnings"]
    )
    (folder / f"trace{suffix}").unlink()


@given(
    st.lists(
        st.sampled_from(
            [
                "check",
                "diagram",
                "--json",
                "--strict",
                "--mode",
                "poll",
                "stream",
                "--ignore",
                "no-run",
                "--format",
                "dot",
                "-",
                "\x1b[2J",
                "a\nb",
                "",
                "--version",
                "--help",
            ]
        ),
        max_size=6,
    )
)
def test_cli_answers_any_arguments(argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    assert code in (0, 1, 2)
    assert_safe(err.getvalue())
    if argv[:1] == ["check"]:
        assert_safe(out.getvalue())
