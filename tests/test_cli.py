"""The ``runstate`` command line: exit codes, output, bad files.

Everything runs in-process through ``main(argv, stdout=..., stderr=...)``; a few smoke
tests at the end run ``python -m runstate`` in a subprocess, for what only a real
process shows (the entry point, the exit status, a real stdout).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

from runstate import __version__
from runstate._cli import MAX_LINE, main
from runstate._diagram import dot, markdown, mermaid

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@attrs.frozen
class Done:
    """What a run of the command line left: as ``subprocess.CompletedProcess`` names it."""

    returncode: int
    stdout: str
    stderr: str


def run(*args: str | Path, cwd: Path | None = None) -> Done:
    """``runstate ARGS`` in this process."""
    out, err = io.StringIO(), io.StringIO()
    before = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        code = main([str(a) for a in args], stdout=out, stderr=err)
    finally:
        os.chdir(before)
    done = Done(code, out.getvalue(), err.getvalue())
    assert "Traceback" not in done.stderr, done.stderr
    assert "internal error" not in done.stderr, done.stderr
    return done


def run_process(*args: str | Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``python -m runstate ARGS`` in a child process."""
    done = subprocess.run(
        [sys.executable, "-m", "runstate", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        **kwargs,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def snap(status: str, **fields: Any) -> dict[str, Any]:
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
    if status != "queued":
        run["started_at"] = 101
    if status == "completed":
        run.update(
            expires_at=None,
            completed_at=105,
            usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        )
    run.update(fields)
    return run


def line(value: object) -> str:
    return json.dumps(value) + "\n"


GOOD = line(snap("queued")) + line(snap("in_progress")) + line(snap("completed"))
#: A legal trace, then an illegal move at line 4 (completed -> in_progress).
BAD = GOOD + line(snap("in_progress"))
UNREACHABLE = "error status-unreachable: 'in_progress' cannot follow 'completed'"


# --------------------------------------------------------------------------------------
# Clean and problem traces


def test_examples_are_clean() -> None:
    done = run("check", "examples", cwd=ROOT)
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines() == [
        "examples/poll-tool-call-round.jsonl: ok, 10 items (poll)",
        "examples/stream-after-tool-outputs.sse: ok, 14 items (stream)",
        "examples/stream-requires-action.sse: ok, 9 items (stream)",
        "3 files checked: 0 errors, 0 warnings",
    ]
    assert done.stderr == ""


def test_the_example_poll_trace_is_generated() -> None:
    """examples/poll-tool-call-round.jsonl is exactly what its generator writes."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
        runpy.run_path(str(EXAMPLES / "make_poll_trace.py"), run_name="__main__")
    assert exited.value.code == 0
    assert (EXAMPLES / "poll-tool-call-round.jsonl").read_text(encoding="utf-8") == out.getvalue()


def test_real_polled_traces_exit_0(real_world: Path) -> None:
    done = run("check", real_world / "polled")
    assert done.returncode == 0, done.stdout
    assert " error " not in done.stdout
    assert done.stdout.splitlines()[-1].endswith(" checked: 0 errors, 20 warnings")
    assert run("check", "--strict", real_world / "polled").returncode == 1


def test_real_streams_report_the_ruby_quirks(real_world: Path) -> None:
    done = run("check", real_world / "streamed")
    assert done.returncode == 1
    errors = [x for x in done.stdout.splitlines() if ": error " in x]
    folder = real_world / "streamed"
    assert errors == [
        f"{folder}/ruby-runs_streamed_create.0.sse:73: error incomplete-details: "
        "incomplete_details: must be null when the status is 'completed' "
        "(spec: 'null if the run is not incomplete')",
        f"{folder}/ruby-runs_streamed_create.3.sse:73: error event-status-mismatch: "
        "event 'thread.run.completed' carries status 'incomplete' (expected 'completed')",
    ]
    assert done.stdout.splitlines()[-1] == "6 files checked: 2 errors, 8 warnings"


def test_whole_real_world_folder_reports_only_the_quirks(real_world: Path) -> None:
    """errors.jsonl (recorded 400 bodies) is no run trace: a folder walk skips it, visibly."""
    done = run("check", real_world)
    assert done.returncode == 1
    errors = [x for x in done.stdout.splitlines() if ": error " in x]
    assert len(errors) == 2, errors
    assert f"{real_world}/errors.jsonl: skipped: not a run trace" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("43 files checked (1 skipped): ")
    named = run("check", real_world / "errors.jsonl")  # named explicitly, it is checked
    assert named.returncode == 1
    assert "invalid-run" in named.stdout


def test_ignore_accepts_known_quirks(real_world: Path) -> None:
    """The early-v2 quirks can be accepted by name; they are still counted."""
    done = run(
        "check",
        "--ignore",
        "event-status-mismatch,incomplete-details",
        "--ignore",
        "token-limit-minimum",
        "--ignore",
        "no-such-rule",
        real_world,
    )
    assert done.returncode == 0, done.stdout
    assert ": error " not in done.stdout
    last = done.stdout.splitlines()[-1]
    assert last.endswith(
        "0 errors, 0 warnings; 30 ignored "
        "(event-status-mismatch, incomplete-details, token-limit-minimum)"
    )
    assert "runstate: note: --ignore no-such-rule matched no problem" in done.stderr
    document = json.loads(
        run("check", "--json", "--ignore", "token-limit-minimum", real_world / "polled").stdout
    )
    assert document["counts"]["ignored"] == 20
    assert document["counts"]["warnings"] == 0


def test_a_walked_file_of_other_objects_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "steps.jsonl").write_text(line({"object": "thread.run.step", "id": "s"}))
    (tmp_path / "runs.jsonl").write_text(GOOD)
    done = run("check", "--json", tmp_path)
    assert done.returncode == 0
    document = json.loads(done.stdout)
    assert document["counts"]["skipped"] == 1
    skipped = [f["path"] for f in document["files"] if f["skipped"]]
    assert skipped == [f"{tmp_path}/steps.jsonl"]


def test_problem_lines_and_summaries(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text("\n" + BAD.replace("\n", "\n\n", 1))
    done = run("check", tmp_path / "a.jsonl")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{tmp_path}/a.jsonl:6: {UNREACHABLE}",
        f"{tmp_path}/a.jsonl: 1 error, 0 warnings in 4 items (poll)",
        "1 file checked: 1 error, 0 warnings",
    ]


def test_strict_fails_on_warnings(tmp_path: Path) -> None:
    (tmp_path / "w.jsonl").write_text(line(snap("queued", max_prompt_tokens=10)))
    assert run("check", tmp_path).returncode == 0
    done = run("check", "--strict", tmp_path)
    assert done.returncode == 1
    assert ":1: warning token-limit-minimum: max_prompt_tokens: 10 is below" in done.stdout


def test_json_output(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(BAD)
    (tmp_path / "b.jsonl").write_text(GOOD)
    (tmp_path / "c.jsonl").write_bytes(b"")
    done = run("check", "--json", tmp_path)
    assert done.returncode == 2
    document = json.loads(done.stdout)
    assert set(document) == {"version", "files", "problems", "counts", "exit_status"}
    assert document["version"] == __version__
    assert document["exit_status"] == 2
    assert document["counts"] == {
        "files": 3,
        "unreadable": 1,
        "skipped": 0,
        "ignored": 0,
        "errors": 1,
        "warnings": 0,
    }
    assert document["files"] == [
        {"path": f"{tmp_path}/a.jsonl", "mode": "poll", "items": 4, "errors": 1,
         "warnings": 0, "unreadable": None, "skipped": None, "ignored": 0},
        {"path": f"{tmp_path}/b.jsonl", "mode": "poll", "items": 3, "errors": 0,
         "warnings": 0, "unreadable": None, "skipped": None, "ignored": 0},
        {"path": f"{tmp_path}/c.jsonl", "mode": "poll", "items": 0, "errors": 0,
         "warnings": 0, "unreadable": "empty file: no snapshots", "skipped": None,
         "ignored": 0},
    ]  # fmt: skip
    assert document["problems"] == [
        {
            "file": f"{tmp_path}/a.jsonl",
            "line": 4,
            "position": 3,
            "severity": "error",
            "rule": "status-unreachable",
            "message": "'in_progress' cannot follow 'completed'",
        }
    ]
    assert done.stderr == f"runstate: error: {tmp_path}/c.jsonl: empty file: no snapshots\n"


# --------------------------------------------------------------------------------------
# File formats and line numbers


def test_json_array_pretty_printed(tmp_path: Path) -> None:
    runs = [json.loads(x) for x in BAD.splitlines()]
    (tmp_path / "a.json").write_text(json.dumps(runs, indent=2))
    done = run("check", tmp_path / "a.json")
    assert done.returncode == 1
    text = json.dumps(runs, indent=2)
    start = text.count("\n", 0, text.index('"status": "in_progress"', text.index("completed")))
    expected_line = next(
        n + 1
        for n, x in enumerate(text.splitlines())
        if x == "  {" and n > start - 20 and n <= start
    )
    assert done.stdout.splitlines()[0] == f"{tmp_path}/a.json:{expected_line}: {UNREACHABLE}"


def test_list_page(tmp_path: Path) -> None:
    runs = [json.loads(x) for x in BAD.splitlines()]
    page = {"object": "list", "data": runs, "first_id": "run_1", "last_id": "run_1",
            "has_more": False}  # fmt: skip
    (tmp_path / "page.json").write_text(json.dumps(page, indent=1))
    done = run("check", tmp_path / "page.json")
    assert done.returncode == 1
    lines = json.dumps(page, indent=1).splitlines()
    starts = [n + 1 for n, x in enumerate(lines) if x == "  {"]
    assert done.stdout.splitlines()[0] == f"{tmp_path}/page.json:{starts[3]}: {UNREACHABLE}"
    (tmp_path / "page.json").write_text(json.dumps(page))  # one line, in a .jsonl file too
    (tmp_path / "page.json").rename(tmp_path / "page.jsonl")
    done = run("check", tmp_path / "page.jsonl")
    assert done.stdout.splitlines()[0] == f"{tmp_path}/page.jsonl:1: {UNREACHABLE}"


def test_json_file_with_one_run_or_json_lines(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(json.dumps(snap("queued"), indent=2))
    (tmp_path / "lines.json").write_text(GOOD)
    done = run("check", tmp_path)
    assert done.returncode == 0, done.stdout
    assert f"{tmp_path}/lines.json: ok, 3 items (poll)" in done.stdout
    assert f"{tmp_path}/one.json: ok, 1 item (poll)" in done.stdout


def test_stream_line_numbers(tmp_path: Path) -> None:
    body = (
        ": keep-alive\r\n\r\n"
        f"event: thread.run.created\r\ndata: {json.dumps(snap('queued'))}\r\n\r\n"
        f"event: thread.run.completed\r\ndata: {json.dumps(snap('completed'))}\r\n\r\n"
        "event: done\r\ndata: [DONE]\r\n\r\n"
    )
    (tmp_path / "s.sse").write_text(body, newline="")
    done = run("check", tmp_path / "s.sse")
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == (
        f"{tmp_path}/s.sse:6: error status-skipped: 'queued' -> 'completed' is not one "
        "transition; a stream announces every status"
    )


def test_a_stream_ending_early_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "s.sse").write_text(
        f"event: thread.run.in_progress\ndata: {json.dumps(snap('in_progress'))}\n\n"
    )
    done = run("check", tmp_path / "s.sse")
    assert done.returncode == 0
    assert done.stdout.splitlines()[0] == (
        f"{tmp_path}/s.sse:1: warning truncated-stream: the stream ends at status "
        "'in_progress' without a 'done' event"
    )


def test_txt_files(tmp_path: Path) -> None:
    stream = f"event: thread.run.completed\ndata: {json.dumps(snap('completed'))}\n\n"
    (tmp_path / "capture.txt").write_text(stream)
    (tmp_path / "README.txt").write_text("Not a trace.\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.jsonl").write_text("garbage\n")
    done = run("check", tmp_path)
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines() == [
        f"{tmp_path}/capture.txt: ok, 1 item (stream)",
        "1 file checked: 0 errors, 0 warnings",
    ]
    # Named on the command line, a .txt file that is no stream is an error.
    done = run("check", tmp_path / "README.txt")
    assert done.returncode == 2
    assert done.stderr == (
        f"runstate: error: {tmp_path}/README.txt: cannot tell a poll trace from a stream; "
        "use --mode poll|stream\n"
    )


def test_mode_forces_the_reading(tmp_path: Path) -> None:
    stream = f"event: thread.run.completed\ndata: {json.dumps(snap('completed'))}\n\n"
    (tmp_path / "capture.log").write_text(stream)
    assert run("check", tmp_path / "capture.log").returncode == 0  # sniffed
    (tmp_path / "capture.jsonl").write_text(stream)
    assert run("check", tmp_path / "capture.jsonl").returncode == 1  # read as JSON lines
    done = run("check", "--mode", "stream", tmp_path / "capture.jsonl")
    assert done.returncode == 0, done.stdout
    assert f"{tmp_path}/capture.jsonl: ok, 1 item (stream)" in done.stdout


# --------------------------------------------------------------------------------------
# Bad files: one line on stderr, exit 2, the other files still checked

BAD_FILES: dict[str, bytes] = {
    "binary.jsonl": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "latin1.jsonl": GOOD.encode() + '{"id": "caf\u00e9"}\n'.encode("latin-1"),
    "empty.jsonl": b"",
    "blank.jsonl": b"\n  \n\n",
    "empty-array.json": b"[]",
    "empty-page.json": b'{"object": "list", "data": [], "has_more": false}',
    "comments.sse": b": nothing but a comment\n\n",
    "cut.jsonl": GOOD.encode() + b'{"id": "run_1", "object": "thr',
    "cut-array.json": b"[" + json.dumps(snap("queued")).encode() + b",\n",
    "cut-value.json": json.dumps(snap("queued"), indent=2).encode()[:-20],
    "cut.sse": b'event: thread.run.queued\ndata: {"id": "run_1", "obj',
    "bad-json.json": b'{"id": "run_1",, "x": 1}',
    "unknown.dat": b"hello\n",
}
BAD_MESSAGES: dict[str, str] = {
    "binary.jsonl": "binary file (NUL byte on line 3)",
    "latin1.jsonl": "not UTF-8 text (line 4: invalid continuation byte)",
    "empty.jsonl": "empty file: no snapshots",
    "blank.jsonl": "empty file: no snapshots",
    "empty-array.json": "empty file: no snapshots",
    "empty-page.json": "empty file: no snapshots",
    "comments.sse": "empty file: no events",
    "cut.jsonl": "truncated: line 4 ends before its JSON value does",
    "cut-array.json": "truncated: the JSON array is not closed",
    "cut-value.json": "truncated: the JSON value at line 1 is cut off",
    "cut.sse": "truncated: the event at line 1 is cut off",
    "bad-json.json": "not valid JSON (line 1: Expecting property name enclosed in double quotes)",
    "unknown.dat": "cannot tell a poll trace from a stream; use --mode poll|stream",
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_file(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(BAD_FILES[name])
    (tmp_path / "good.jsonl").write_text(GOOD)
    done = run("check", tmp_path / name, tmp_path / "good.jsonl")
    assert done.returncode == 2
    assert done.stderr == f"runstate: error: {tmp_path}/{name}: {BAD_MESSAGES[name]}\n"
    assert f"{tmp_path}/good.jsonl: ok, 3 items (poll)" in done.stdout
    assert "unreadable" in done.stdout.splitlines()[-1]


def test_missing_file_and_folder(tmp_path: Path) -> None:
    (tmp_path / "good.jsonl").write_text(GOOD)
    (tmp_path / "empty").mkdir()
    done = run("check", tmp_path / "nope.jsonl", tmp_path / "empty", tmp_path / "good.jsonl")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"runstate: error: {tmp_path}/nope.jsonl: no such file or directory",
        f"runstate: error: {tmp_path}/empty: no trace files (.jsonl, .json, .sse, .txt) in "
        "this folder",
    ]
    assert done.stdout.splitlines()[-1] == "3 files checked: 2 unreadable; 0 errors, 0 warnings"


def test_enormous_line(tmp_path: Path) -> None:
    (tmp_path / "huge.jsonl").write_bytes(GOOD.encode() + b"x" * (MAX_LINE + 10) + b"\n")
    (tmp_path / "huge.sse").write_bytes(b"data: " + b"x" * (MAX_LINE + 10))
    (tmp_path / "good.jsonl").write_text(GOOD)
    done = run("check", tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"runstate: error: {tmp_path}/huge.jsonl: line 4 is longer than {MAX_LINE} bytes "
        "(enormous line)",
        f"runstate: error: {tmp_path}/huge.sse: line 1 is longer than {MAX_LINE} bytes "
        "(enormous line)",
    ]
    assert f"{tmp_path}/good.jsonl: ok, 3 items (poll)" in done.stdout


def test_enormous_json_value(tmp_path: Path) -> None:
    big = snap("queued", instructions="x" * (MAX_LINE + 10))
    (tmp_path / "huge.json").write_text("[" + json.dumps(big) + "]")
    done = run("check", tmp_path / "huge.json")
    assert done.returncode == 2
    assert done.stderr == (
        f"runstate: error: {tmp_path}/huge.json: the JSON value at line 1 is longer than "
        f"{MAX_LINE} bytes\n"
    )


def test_invalid_lines_inside_a_file_are_problems(tmp_path: Path) -> None:
    """A malformed line in the middle is a problem of the trace, not an unreadable file."""
    (tmp_path / "a.jsonl").write_text(line(snap("queued")) + "{oops\n" + "[1]\n")
    done = run("check", tmp_path / "a.jsonl")
    assert done.returncode == 1
    assert done.stdout.splitlines()[:2] == [
        f"{tmp_path}/a.jsonl:2: error invalid-run: $: not valid JSON: Expecting property name "
        "enclosed in double quotes at line 1 column 2",
        f"{tmp_path}/a.jsonl:3: error invalid-item: expected a run, a JSON object or text, "
        "or an (event, data) pair, got int",
    ]


# --------------------------------------------------------------------------------------
# Usage, help, version, diagram


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["check"],
        ["check", "--mode", "sideways", "x"],
        ["--frobnicate"],
        ["nope"],
        ["diagram", "--format", "png"],
    ],
    ids=str,
)
def test_bad_usage_exits_2(args: list[str]) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("command", [[], ["check"], ["diagram"]], ids=str)
def test_help_has_an_example(command: list[str]) -> None:
    done = run(*command, "--help")
    assert done.returncode == 0
    assert "examples:\n  runstate " in done.stdout


def test_version() -> None:
    done = run("--version")
    assert (done.returncode, done.stdout) == (0, f"runstate {__version__}\n")


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("mermaid", mermaid), ("dot", dot), ("markdown", markdown)],
)
def test_diagram(fmt: str, expected: Any) -> None:
    done = run("diagram", "--format", fmt)
    assert (done.returncode, done.stdout) == (0, expected())
    if fmt == "mermaid":
        assert run("diagram").stdout == done.stdout


def test_docs_are_what_the_diagram_command_writes() -> None:
    done = run("diagram", "--format", "markdown")
    assert (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8") == done.stdout


def test_main_writes_to_sys_streams_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert main(["check"]) == 2
    assert main(["diagram", "--format", "dot"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"runstate {__version__}\ndigraph")
    assert captured.out.endswith("}\n")
    assert "error: the following arguments are required: PATH" in captured.err


def test_main_writes_to_the_streams_it_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    """Help, usage errors and the report all go where ``stdout``/``stderr`` say."""
    for args in (["--help"], ["check"], ["diagram"]):
        done = run(*args)
        assert done.stdout or done.stderr
    assert run("check").stderr.startswith("usage: runstate check")
    assert run("--help").stdout.startswith("usage: runstate")
    assert run().stderr.startswith("usage: runstate")
    assert capsys.readouterr() == ("", "")


# --------------------------------------------------------------------------------------
# A long trace in bounded memory


@pytest.mark.slow
def test_one_million_lines_in_bounded_memory(request: pytest.FixtureRequest) -> None:
    """``runstate check`` on a 1,000,000-line poll trace peaks under 100 MB.

    Takes about half a minute; selected with ``pytest -m slow``.
    """
    if "slow" not in (request.config.option.markexpr or ""):
        pytest.skip("a long measurement: run with -m slow")
    done = subprocess.run(  # a child process: its peak memory is what is measured
        [sys.executable, str(ROOT / "benchmarks" / "trace_memory.py"), "--lines", "1000000"],
        capture_output=True,
        text=True,
        check=False,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr


def test_docstring_examples() -> None:
    """The examples in runstate._cli's docstrings run and pass."""
    import doctest  # noqa: PLC0415

    import runstate._cli as module  # noqa: PLC0415

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_enormous_event(tmp_path: Path) -> None:
    """Many short data lines adding up to one huge event are refused too."""
    chunk = b"data: " + b"x" * 1000 + b"\n"
    (tmp_path / "huge.sse").write_bytes(b": hi\n\n" + chunk * (MAX_LINE // 1000 + 10))
    done = run("check", tmp_path / "huge.sse")
    assert done.returncode == 2
    assert done.stderr == (
        f"runstate: error: {tmp_path}/huge.sse: the event at line 3 is longer than "
        f"{MAX_LINE} bytes (enormous event)\n"
    )
