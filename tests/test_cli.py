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
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

from runstate import __version__
from runstate._cli import main
from runstate._cli_read import MAX_LINE
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
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    done = subprocess.run(
        [sys.executable, "-m", "runstate", *map(str, args)],
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
        {"path": f"{tmp_path}/a.jsonl", "mode": "poll", "machine": "run", "items": 4, "errors": 1,
         "warnings": 0, "unreadable": None, "skipped": None, "ignored": 0},
        {"path": f"{tmp_path}/b.jsonl", "mode": "poll", "machine": "run", "items": 3, "errors": 0,
         "warnings": 0, "unreadable": None, "skipped": None, "ignored": 0},
        {"path": f"{tmp_path}/c.jsonl", "mode": "poll", "machine": "run", "items": 0, "errors": 0,
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
    "late-nul.jsonl": GOOD.encode() * 20 + b"\0\n",
    "late-nul.json": b"[" + json.dumps(snap("queued")).encode() * 0 + b" " * 5000 + b"\0]",
    "no-comma.json": b"[" + json.dumps(snap("queued")).encode() + b" {}]",
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
    "late-nul.jsonl": "binary file (NUL byte on line 61)",
    "late-nul.json": "binary file (NUL byte near line 1)",
    "no-comma.json": "not valid JSON (line 1: expected ',' or ']')",
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


def test_readme_diagram_is_what_the_diagram_command_writes() -> None:
    done = run("diagram", "--format", "mermaid")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```mermaid\n{done.stdout}```\n" in readme


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


# --------------------------------------------------------------------------------------
# Hardening: one bad file never ends the run

HUGE_INT = "1" * 5000  # more digits than Python converts (4,300)


def big_int_run() -> str:
    return json.dumps(snap("queued"))[:-1] + f', "x": {HUGE_INT}}}'


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("a.json", f"[{big_int_run()}]"),
        ("b.json", big_int_run()),
        ("c.jsonl", big_int_run()),  # the last line, without its line ending
        ("d.jsonl", big_int_run() + "\n"),
        ("e.jsonl", f"[{big_int_run()}]"),
    ],
)
def test_an_enormous_integer_is_an_invalid_run_at_its_line(
    tmp_path: Path, name: str, body: str
) -> None:
    (tmp_path / name).write_text(body)
    (tmp_path / "z.jsonl").write_text(GOOD)
    done = run("check", tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines()[0].startswith(
        f"{tmp_path}/{name}:1: error invalid-run: $: not valid JSON: Exceeds the limit"
    )
    assert "truncated" not in done.stdout
    assert f"{tmp_path}/z.jsonl: ok, 3 items (poll)" in done.stdout
    assert done.stdout.splitlines()[-1] == "2 files checked: 1 error, 0 warnings"


def test_a_path_too_long_is_unreadable_and_the_rest_is_checked(tmp_path: Path) -> None:
    (tmp_path / "good.jsonl").write_text(GOOD)
    long = str(tmp_path / ("x" * 5000 + ".jsonl"))
    done = run("check", long, tmp_path / "good.jsonl")
    assert done.returncode == 2
    assert "cannot read: File name too long" in done.stderr
    assert f"{tmp_path}/good.jsonl: ok, 3 items (poll)" in done.stdout
    assert done.stdout.splitlines()[-1] == "2 files checked: 1 unreadable; 0 errors, 0 warnings"
    assert len(done.stderr) < 4096 + 200  # the path is cut, not echoed whole
    document = json.loads(run("check", "--json", long, tmp_path / "good.jsonl").stdout)
    assert document["counts"]["unreadable"] == 1
    assert document["exit_status"] == 2


def test_a_defect_while_checking_one_file_spares_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure the reader does not foresee fails that file, not the whole run."""
    import runstate._cli as cli  # noqa: PLC0415

    (tmp_path / "a.jsonl").write_text(GOOD)
    (tmp_path / "b.sse").write_text("event: done\ndata: [DONE]\n\n")
    real = cli.TraceChecker

    class Failing(real):  # type: ignore[misc, valid-type]
        def feed(self, item: object) -> Any:
            if self.mode == "poll":
                raise ValueError("boom")
            return super().feed(item)

    monkeypatch.setattr(cli, "TraceChecker", Failing)
    out, err = io.StringIO(), io.StringIO()
    assert main(["check", "--json", str(tmp_path)], stdout=out, stderr=err) == 2
    document = json.loads(out.getvalue())
    assert [f["unreadable"] for f in document["files"]] == [
        "internal error while checking it: ValueError: boom",
        None,
    ]
    assert document["counts"]["errors"] == 1  # b.sse was still checked: no-run


def test_symlink_loops_and_dangling_links(tmp_path: Path) -> None:
    (tmp_path / "good.jsonl").write_text(GOOD)
    (tmp_path / "loop.jsonl").symlink_to(tmp_path / "loop.jsonl")
    (tmp_path / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to(tmp_path)  # a loop if links were followed
    done = run("check", tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"runstate: error: {tmp_path}/gone.jsonl: no such file or directory",
        f"runstate: error: {tmp_path}/loop.jsonl: cannot read: Too many levels of symbolic links",
    ]
    assert done.stdout.count("good.jsonl: ok") == 1
    named = run("check", tmp_path / "loop.jsonl")
    assert "cannot read: Too many levels of symbolic links" in named.stderr


def test_a_folder_that_cannot_be_listed_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "good.jsonl").write_text(GOOD)
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "x.jsonl").write_text(GOOD)
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    done = run("check", tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"runstate: error: {tmp_path}/locked: cannot read: Permission denied\n"
    assert f"{tmp_path}/good.jsonl: ok" in done.stdout
    assert "x.jsonl" not in done.stdout


def test_a_deep_tree_is_walked_without_recursion(tmp_path: Path) -> None:
    """A tree deeper than the frames left: os.walk (recursive before 3.12) would fail.

    The tree stays shallow enough for pytest to remove (shutil.rmtree recurses too); the
    recursion limit is lowered instead, for the run alone.
    """
    deep = tmp_path.joinpath(*["a"] * 300)
    deep.mkdir(parents=True)
    (deep / "t.jsonl").write_text(GOOD)
    (tmp_path / "b.jsonl").write_text(GOOD)
    depth = 0
    frame = sys._getframe()
    while frame.f_back is not None:
        depth += 1
        frame = frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 200)
    try:
        done = run("check", tmp_path)
    finally:
        sys.setrecursionlimit(limit)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "2 files checked: 0 errors, 0 warnings"


# --------------------------------------------------------------------------------------
# Hardening: special files are never opened


@contextlib.contextmanager
def rescued(fifo: Path) -> Any:
    """If the code under test blocks opening ``fifo`` to read, unblock it (then it fails)."""
    import threading  # noqa: PLC0415

    stop = threading.Event()

    def rescue() -> None:
        if stop.wait(5):
            return
        with contextlib.suppress(OSError):  # ENXIO: no reader, nothing to rescue
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    thread = threading.Thread(target=rescue, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def test_a_fifo_in_a_folder_is_skipped_not_opened(tmp_path: Path) -> None:
    (tmp_path / "good.jsonl").write_text(GOOD)
    os.mkfifo(tmp_path / "pipe.jsonl")
    with rescued(tmp_path / "pipe.jsonl"):
        done = run("check", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        f"{tmp_path}/good.jsonl: ok, 3 items (poll)",
        f"{tmp_path}/pipe.jsonl: skipped: not a regular file (a FIFO): not read",
        "1 file checked (1 skipped): 0 errors, 0 warnings",
    ]
    with rescued(tmp_path / "pipe.jsonl"):
        named = run("check", tmp_path / "pipe.jsonl")
    assert named.returncode == 2
    assert named.stderr == (
        f"runstate: error: {tmp_path}/pipe.jsonl: not a regular file (a FIFO): not read\n"
    )


def test_sockets_and_devices_are_not_opened(tmp_path: Path) -> None:
    import socket  # noqa: PLC0415

    (tmp_path / "good.jsonl").write_text(GOOD)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "s.sse"))
        done = run("check", tmp_path, "/dev/null")
    assert f"{tmp_path}/s.sse: skipped: not a regular file (a socket): not read" in done.stdout
    assert done.stderr == (
        "runstate: error: /dev/null: not a regular file (a character device): not read\n"
    )


def test_a_file_that_turns_into_a_fifo_after_the_walk_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk's stat and the open are apart: the opened file itself is checked too."""
    os.mkfifo(tmp_path / "pipe.jsonl")
    real_stat = os.stat

    def lying_stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path).endswith("pipe.jsonl"):
            return real_stat(ROOT / "pyproject.toml")  # "a regular file"
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", lying_stat)
    with rescued(tmp_path / "pipe.jsonl"):
        done = run("check", tmp_path)
    assert f"{tmp_path}/pipe.jsonl: skipped: not a regular file (a FIFO)" in done.stdout


# --------------------------------------------------------------------------------------
# Hardening: deep nesting, line endings, traces without a run

DEEP = "[" * 100_000 + "]" * 100_000


def test_deep_nesting_is_a_problem_at_its_line(tmp_path: Path) -> None:
    created = json.dumps(snap("queued"))
    (tmp_path / "s.sse").write_text(
        f"event: thread.run.created\ndata: {created}\n\n"
        f"event: thread.run.step.created\ndata: {DEEP}\n\n"
        "event: done\ndata: [DONE]\n\n"
    )
    (tmp_path / "a.json").write_text(f"[{created},\n{DEEP},\n{created}]")
    (tmp_path / "b.jsonl").write_text(f"{created}\n{DEEP}\n{created}\n")
    done = run("check", tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert [x for x in done.stdout.splitlines() if ": error " in x] == [
        f"{tmp_path}/a.json:2: error invalid-run: $: nested too deeply",
        f"{tmp_path}/b.jsonl:2: error invalid-run: $: nested too deeply",
        f"{tmp_path}/s.sse:4: error invalid-item: the data of 'thread.run.step.created' is "
        "nested too deeply to read",
    ]


def stream_lines(eol: str) -> str:
    events: list[tuple[str, Any]] = [
        ("thread.run.created", snap("queued")),
        ("thread.run.in_progress", snap("in_progress")),
    ]
    events += [("thread.message.delta", {"delta": "x" * 900})] * 9000  # about 8.5 MiB
    events += [("thread.run.completed", snap("completed")), ("done", "[DONE]")]
    body = []
    for name, data in events:
        text = data if isinstance(data, str) else json.dumps(data)
        body += [f"event: {name}", f"data: {text}", ""]
    return eol.join(body) + eol


@pytest.mark.parametrize("kind", ["sse", "jsonl"])
def test_cr_lf_and_crlf_read_alike_at_any_size(tmp_path: Path, kind: str) -> None:
    if kind == "sse":
        text = stream_lines("\n")
    else:
        text = "".join(line(snap("in_progress", metadata={"n": "x" * 500})) for _ in range(12_000))
        text = line(snap("queued")) + text + line(snap("completed"))
    assert len(text) > MAX_LINE
    outputs = []
    for eol in ("\n", "\r", "\r\n"):
        path = tmp_path / f"t.{kind}"
        path.write_bytes(text.replace("\n", eol).encode())
        done = run("check", path)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0].splitlines()[0].startswith(f"{tmp_path}/t.{kind}: ok, ")


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_line_endings_split_between_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """A CRLF cut between two reads is one line ending, at every cut."""
    import runstate._cli_read as cli_read  # noqa: PLC0415

    monkeypatch.setattr(cli_read, "_CHUNK", chunk)
    body = BAD.replace("\n", "\n\n", 1)
    expected = None
    for eol in ("\n", "\r", "\r\n"):
        (tmp_path / "a.jsonl").write_bytes(("\ufeff" + body).replace("\n", eol).encode())
        done = run("check", tmp_path / "a.jsonl")
        assert done.stdout.splitlines()[0] == f"{tmp_path}/a.jsonl:5: {UNREACHABLE}", eol
        expected = expected or done.stdout
        assert done.stdout == expected


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        (
            "arrays.jsonl",
            '[["x", 1], ["y", 2]]\n[]\n',
            "the trace holds no run (no snapshot in 2 items)",
        ),
        (
            "done.sse",
            "event: done\ndata: [DONE]\n\n",
            "the trace holds no run (no run event in 1 item)",
        ),
    ],
)
def test_a_trace_without_a_run_fails(tmp_path: Path, name: str, body: str, message: str) -> None:
    (tmp_path / name).write_text(body)
    done = run("check", tmp_path / name)
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == f"{tmp_path}/{name}:1: error no-run: {message}"
    assert run("check", "--ignore", "no-run", tmp_path / name).returncode == 0


def test_done_data_under_a_run_event_is_no_end(tmp_path: Path) -> None:
    (tmp_path / "s.sse").write_text(
        f"event: thread.run.in_progress\ndata: {json.dumps(snap('in_progress'))}\n\n"
        "event: thread.run.completed\ndata: [DONE]\n\n"
    )
    done = run("check", tmp_path / "s.sse")
    assert done.returncode == 1
    assert done.stdout.splitlines()[0].startswith(f"{tmp_path}/s.sse:4: error invalid-run: ")


# --------------------------------------------------------------------------------------
# Hardening: output safety and bounds


def test_control_characters_are_escaped(tmp_path: Path) -> None:
    forged = "k\n/etc/passwd:1: error forged\x1b[2J\u202e"
    (tmp_path / "a\nb.jsonl").write_text(line(snap("queued", metadata={forged + "k" * 64: "v"})))
    done = run("check", tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith(f"{tmp_path}/a\\nb.jsonl:1: error ")
    assert "metadata.k\\n/etc/passwd:1: error forged\\x1b[2J\\u202ekkk" in lines[0]
    assert all(ch == " " or ch.isprintable() for ch in done.stdout.replace("\n", ""))
    report = run("check", "--json", tmp_path).stdout
    assert "\x1b" not in report
    assert "\u202e" not in report
    assert forged in json.loads(report)["problems"][0]["message"]


def test_long_input_is_cut_where_it_is_echoed(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(line(snap("queued", metadata={"k" * 100_000: "v"})))
    for args in ([], ["--json"]):
        done = run("check", *args, tmp_path / "a.jsonl")
        assert done.returncode == 1
        assert len(done.stdout) < 5000
        assert "k" * 1000 not in done.stdout  # cut, by the core or by the CLI


class FullDisk(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


class Sink(io.StringIO):
    """Takes the output and keeps none of it."""

    def write(self, text: str) -> int:
        return len(text)


class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("args", [["check", "--json"], ["check"], ["diagram"]])
def test_a_failing_stdout_is_a_write_error(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "a.jsonl").write_text(GOOD)
    err = io.StringIO()
    paths = [str(tmp_path)] if args[0] == "check" else []
    assert main([*args, *paths], stdout=FullDisk(), stderr=err) == 2
    assert err.getvalue() == "runstate: error: cannot write the report: No space left on device\n"
    err = io.StringIO()
    assert main([*args, *paths], stdout=ClosedPipe(), stderr=err) == 141
    assert err.getvalue() == ""


def test_a_failing_stderr_is_no_crash(tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["check", str(tmp_path / "nope.jsonl")], stdout=out, stderr=FullDisk()) == 2
    assert "unreadable: no such file or directory" in out.getvalue()


def test_the_json_report_streams(tmp_path: Path) -> None:
    """Problems are written as they are found: memory does not grow with their number."""
    import tracemalloc  # noqa: PLC0415

    bad = line(snap("queued", max_prompt_tokens=10))  # one warning per line
    peaks = []
    for n in (1_000, 4_000):
        (tmp_path / "w.jsonl").write_text(bad * n)
        tracemalloc.start()
        assert main(["check", "--json", str(tmp_path / "w.jsonl")], stdout=Sink()) == 0
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] * 1.5 + 64 * 1024, peaks
    document = json.loads(run("check", "--json", tmp_path / "w.jsonl").stdout)
    assert len(document["problems"]) == document["counts"]["warnings"] == 4_000


# --------------------------------------------------------------------------------------
# Smoke tests in a real process: the entry point, exit statuses, a real stdout


def test_process_version() -> None:
    done = run_process("--version")
    assert (done.returncode, done.stdout) == (0, f"runstate {__version__}\n")


def test_process_check_and_unreadable(tmp_path: Path) -> None:
    done = run_process("check", "examples", cwd=ROOT)
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines()[-1] == "3 files checked: 0 errors, 0 warnings"
    (tmp_path / "empty.jsonl").write_bytes(b"")
    done = run_process("check", tmp_path / "empty.jsonl")
    assert done.returncode == 2
    assert done.stderr == f"runstate: error: {tmp_path}/empty.jsonl: empty file: no snapshots\n"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_process_stdout_on_a_full_disk() -> None:
    with open("/dev/full", "w") as full:
        done = run_process("check", "examples", cwd=ROOT, stdout=full, stderr=subprocess.PIPE)
    assert done.returncode == 2
    assert done.stderr == "runstate: error: cannot write the report: No space left on device\n"


def test_usage_errors_escape_what_they_echo() -> None:
    done = run("check", "x", "--bogus\x1b[2J\nforged")
    assert done.returncode == 2
    assert "unrecognized arguments: --bogus\\x1b[2J\\nforged" in done.stderr
    assert "\x1b" not in done.stderr


def test_an_enormous_top_level_integer_in_a_json_array(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(f"[{json.dumps(snap('queued'))},\n{HUGE_INT}\n]")
    done = run("check", tmp_path / "a.json")
    assert done.returncode == 1
    assert done.stdout.splitlines()[0].startswith(
        f"{tmp_path}/a.json:2: error invalid-run: $: not valid JSON: Exceeds the limit"
    )


def test_odd_paths(tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("Not a trace.\n")
    done = run("check", "a\0b")
    assert done.returncode == 2
    assert done.stderr == "runstate: error: a\\x00b: cannot read: the path holds a NUL character\n"
    done = run("check", tmp_path)  # a folder whose one .txt file is no stream
    assert done.returncode == 2
    assert done.stderr == f"runstate: error: {tmp_path}: no trace files\n"


class FailingFlush(io.StringIO):
    def flush(self) -> None:
        raise OSError(5, "Input/output error")


def test_a_failing_final_flush_is_a_write_error() -> None:
    err = io.StringIO()
    assert main(["diagram"], stdout=FailingFlush(), stderr=err) == 2
    assert err.getvalue() == "runstate: error: cannot write the report: Input/output error\n"


def test_an_unforeseen_failure_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import runstate._cli as cli  # noqa: PLC0415

    def broken(*args: object) -> Any:
        raise LookupError("bad\nthing")

    monkeypatch.setattr(cli, "targets", broken)
    out, err = io.StringIO(), io.StringIO()
    assert main(["check", str(tmp_path)], stdout=out, stderr=err) == 2
    assert err.getvalue() == "runstate: internal error: LookupError: bad\\nthing\n"


# --------------------------------------------------------------------------------------
# Closed, missing or broken output streams: the documented exit statuses hold
# (issue 17, item 10)


def _closed() -> io.StringIO:
    stream = io.StringIO()
    stream.close()
    return stream


def _streams(kind: str) -> Any:
    """A stream in one of the states a process's stdout or stderr can be in."""
    return {
        "none": None,
        "closed": _closed(),
        "full": FullDisk(),
        "broken-pipe": ClosedPipe(),
    }[kind]


#: (arguments, what they need) -> the exit status when the report reaches stdout.
_CASES = {
    "clean": (lambda d: ["check", str(d / "a.jsonl")], 0),
    "problems": (lambda d: ["check", str(d / "bad.jsonl")], 1),
    "unreadable": (lambda d: ["check", str(d / "missing.jsonl")], 2),
    "usage": (lambda d: ["check", "--bogus"], 2),
    "diagram": (lambda d: ["diagram"], 0),
}


def _traces(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(GOOD)
    (tmp_path / "bad.jsonl").write_text(line(snap("completed")) + line(snap("queued")))


@pytest.mark.parametrize("stderr", ["none", "closed", "full", "broken-pipe"])
@pytest.mark.parametrize("case", sorted(_CASES))
def test_a_missing_or_closed_stderr_changes_no_exit_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, stderr: str
) -> None:
    _traces(tmp_path)
    args, expected = _CASES[case]
    monkeypatch.setattr(sys, "stderr", _streams(stderr))  # what stderr=None stands for
    out = io.StringIO()
    assert main(args(tmp_path), stdout=out, stderr=_streams(stderr)) == expected
    assert main(args(tmp_path), stdout=out) == expected


@pytest.mark.parametrize("stdout", ["none", "closed", "full"])
@pytest.mark.parametrize("case", sorted(set(_CASES) - {"usage"}))
def test_a_missing_or_closed_stdout_is_a_report_that_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, stdout: str
) -> None:
    _traces(tmp_path)
    args, _ = _CASES[case]
    monkeypatch.setattr(sys, "stdout", _streams(stdout))  # what stdout=None stands for
    err = io.StringIO()
    assert main(args(tmp_path), stdout=_streams(stdout), stderr=err) == 2
    last = err.getvalue().splitlines()[-1]
    assert last.startswith("runstate: error: cannot write the report: "), err.getvalue()
    assert len(last) > len("runstate: error: cannot write the report: ")  # and says why
    assert "internal error" not in err.getvalue()


@pytest.mark.slow  # 15 processes; the other test_process_* tests start real ones too
@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell closes the descriptors")
@pytest.mark.parametrize("closed", [">&-", "2>&-", ">&- 2>&-"])
@pytest.mark.parametrize("case", sorted(_CASES))
def test_process_started_with_closed_streams_keeps_its_exit_statuses(
    tmp_path: Path, case: str, closed: str
) -> None:
    """A real process whose stdout or stderr was closed at start (``sys.stdout is None``)."""
    _traces(tmp_path)
    args, expected = _CASES[case]
    if ">&-" in closed.split() and case != "usage":  # stdout closed: no report
        expected = 2
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "runstate", *args(tmp_path)])
    done = subprocess.run(
        ["/bin/sh", "-c", f"{command} {closed}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,  # a hang guard
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == expected, done.stderr
    assert "Traceback" not in done.stderr
    assert "internal error" not in done.stderr
