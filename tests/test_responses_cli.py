"""`runstate check` reads the Responses API's files and says which machine judged each."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import responses_records as rec

from runstate import _cli
from runstate._cli import main


def check(*paths: Path, as_json: bool = False) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    args = ["check", *(["--json"] if as_json else []), *(str(p) for p in paths)]
    code = main(args, stdout=out, stderr=err)
    return code, out.getvalue()


@pytest.fixture
def records() -> Path:
    return rec.require()


def test_every_session_record_is_checked(records: Path) -> None:
    code, out = check(*sorted(records.glob("*.json")), as_json=True)
    assert code == 0, out
    files = json.loads(out)["files"]
    assert len(files) == 90
    assert {f["machine"] for f in files} == {"responses"}
    judged = [f for f in files if f["skipped"] is None]
    assert all(f["items"] > 0 and not f["errors"] and not f["warnings"] for f in judged)
    skipped = [f for f in files if f["skipped"] is not None]
    assert {f["skipped"] for f in skipped} == {"a session record without any response"}
    assert len(judged) == len(rec.files()) - len(skipped) >= 60


def test_a_stream_a_jsonl_and_a_record(records: Path, tmp_path: Path) -> None:
    entries = list(rec.entries())
    stream = next(
        e for e in entries if e.file == "CanStreamBackgroundResponses.json" and e.streamed
    )
    (tmp_path / "bg.sse").write_text(stream.sse, encoding="utf-8")
    cancel = [e.body for e in entries if e.file == "CanCancelBackgroundResponses.json"][:2]
    (tmp_path / "cancel.jsonl").write_text("".join(json.dumps(b) + "\n" for b in cancel))
    code, out = check(tmp_path / "bg.sse", tmp_path / "cancel.jsonl", records / "MaxTokens.json")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == f"{tmp_path}/bg.sse: ok, 412 items (stream, responses)"
    assert lines[1] == f"{tmp_path}/cancel.jsonl: ok, 2 items (poll, responses)"
    assert lines[2].startswith(f"{records}/MaxTokens.json: ok, ")
    assert lines[2].endswith("(poll, responses)")


def test_problems_are_reported_with_the_entry_number(tmp_path: Path) -> None:
    created = {"id": "resp_1", "object": "response", "created_at": 1, "status": "cancelled",
               "background": True, "model": "m", "output": [], "usage": None}  # fmt: skip
    later = {**created, "status": "queued"}
    record = {"Entries": [{"ResponseBody": created}, {"ResponseBody": later}]}
    (tmp_path / "r.json").write_text(json.dumps(record))
    code, out = check(tmp_path / "r.json")
    assert code == 1
    assert f"{tmp_path}/r.json:1: error after-terminal:" in out
    created = {"type": "response.created", "sequence_number": 0, "response": later}
    sse = ["event: response.created\n", f"data: {json.dumps(created)}\n\n"]
    (tmp_path / "cut.json").write_text(json.dumps({"Entries": [{}, {"ResponseBody": sse}]}))
    code, out = check(tmp_path / "cut.json")
    assert code == 0
    assert f"{tmp_path}/cut.json:2: warning truncated-stream:" in out
    assert "cut.json: 0 errors, 1 warning in 1 item (stream, responses)" in out
    (tmp_path / "empty.json").write_text('{"Entries": []}')
    (tmp_path / "bad.json").write_text('{"Entries": [}')
    code, out = check(tmp_path / "empty.json", tmp_path / "bad.json")
    assert code == 2
    assert "empty.json: skipped: a session record without any response" in out
    assert "bad.json: unreadable: not JSON" in out


def test_run_files_are_still_the_run_machines(tmp_path: Path) -> None:
    run = {"id": "run_1", "object": "thread.run", "created_at": 1, "thread_id": "t",
           "assistant_id": "a", "status": "queued", "model": "m", "expires_at": 601}  # fmt: skip
    (tmp_path / "run.jsonl").write_text(json.dumps(run) + "\n")
    code, out = check(tmp_path / "run.jsonl", as_json=True)
    assert code == 0
    assert json.loads(out)["files"][0]["machine"] == "run"


def test_a_folder_walk_judges_responses_and_skips_other_objects(tmp_path: Path) -> None:
    response = {"id": "resp_1", "object": "response", "created_at": 1, "status": "queued",
                "background": True, "model": "m", "output": [], "usage": None}  # fmt: skip
    (tmp_path / "polled.jsonl").write_text(json.dumps(response) + "\n")
    (tmp_path / "other.jsonl").write_text(json.dumps({"object": "list"}) + "\n")
    code, out = check(tmp_path)
    assert code == 0, out
    assert f"{tmp_path}/polled.jsonl: ok, 1 item (poll, responses)" in out
    assert f"{tmp_path}/other.jsonl: skipped:" in out


def test_session_records_that_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "odd.json").write_text('{"Entries": 5}')
    code, out = check(tmp_path / "odd.json")
    assert code == 2
    assert 'odd.json: unreadable: not a session record ("Entries" is not an array)' in out

    monkeypatch.setattr(_cli, "_MAX_RECORD", 10)
    (tmp_path / "big.json").write_text('{"Entries": [' + " " * 20 + "]}")
    code, out = check(tmp_path / "big.json")
    assert code == 2
    assert "big.json: unreadable: a session record larger than 10 bytes" in out
