"""Stream events for each change of a run, their SSE bytes, and the real dotnet streams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from realworld import parse_sse as plain_parse_sse

import runstate as rs
from runstate.strategies import traces

RUN_EVENTS = {s.event for s in rs.RunStatus} | {"thread.run.created"}


def life_of(trace: list[tuple[str, str]]) -> list[rs.Run]:
    """The run snapshots of a stream trace, one per status change (created == queued)."""
    life: list[rs.Run] = []
    for event, data in trace:
        if event in RUN_EVENTS and event != "thread.run.created":
            life.append(rs.parse_run(data))
    return life


def streams(life: list[rs.Run], *, new: bool) -> list[bytes]:
    """The server's streams for a life: a new one at each requires_action ``done``."""
    out: list[bytes] = []
    current: list[tuple[str, str]] = []
    before = None if new else life[0]
    for run in life if new else life[1:]:
        for pair in rs.stream_events(before, run):
            current.append(pair)
            if pair == ("done", "[DONE]"):
                out.append(rs.encode_sse(current))
                current = []
        before = run
    if current:
        out.append(rs.encode_sse(current))
    return out


@given(traces(mode="stream"))
def test_streams_agree_with_the_checker(trace: list[tuple[str, str]]) -> None:
    new = trace[0][0] == "thread.run.created"
    life = life_of(trace)
    parts = streams(life, new=new)
    for body in parts:  # each stream a server sends passes alone
        report = rs.check_trace(rs.parse_sse(body), mode="stream")
        assert not report.errors, report.errors
        assert list(rs.parse_sse(body))[-1] == ("done", "[DONE]") or body is parts[-1]
    # and the whole life, concatenated, with the 'done' that closes each stream in between
    # dropped (a client reading one stream never sees past its 'done')
    whole = b"".join(parts)
    pairs = list(rs.parse_sse(whole))
    kept = [p for i, p in enumerate(pairs) if p[0] != "done" or i == len(pairs) - 1]
    assert not rs.check_trace(kept, mode="stream").errors
    # ends exactly where the recordings end: requires_action or terminal
    ends = [p for p in pairs if p[0] == "done"]
    stops = rs.TERMINAL_STATUSES | {rs.RunStatus.REQUIRES_ACTION}
    assert len(ends) == sum(r.status in stops for r in (life if new else life[1:]))


def _recorded_run_events(path: Path) -> list[tuple[str, str]]:
    return [
        (event, data)
        for _, event, data in plain_parse_sse(path.read_text(encoding="utf-8"))
        if event in RUN_EVENTS
    ]


@pytest.mark.parametrize(
    "name",
    [
        "dotnet-FileSearchStreamingWorks.1.sse",
        "dotnet-StreamingRunWorks.1.sse",
        "dotnet-StreamingToolCall.1.sse",
        "dotnet-StreamingToolCall.2.sse",
    ],
)
def test_dotnet_streams_are_reproduced(real_world: Path, name: str) -> None:
    streamed = real_world / "streamed"
    recorded = _recorded_run_events(streamed / name)
    if name.endswith("StreamingToolCall.2.sse"):  # the submit stream: after .1's last run
        before: rs.Run | None = rs.parse_run(
            _recorded_run_events(streamed / "dotnet-StreamingToolCall.1.sse")[-1][1]
        )
        snapshots = recorded
    else:
        before = None
        snapshots = recorded[1:]  # thread.run.created's run is the queued one
    made: list[tuple[str, str]] = []
    for _, data in snapshots:
        run = rs.parse_run(data)
        made.extend(rs.stream_events(before, run))
        before = run
    assert made[-1] == ("done", "[DONE]")
    assert [e for e, _ in made[:-1]] == [e for e, _ in recorded]
    assert [json.loads(d) for _, d in made[:-1]] == [json.loads(d) for _, d in recorded]
    text = (streamed / name).read_text(encoding="utf-8")
    assert text.endswith(rs.encode_sse([made[-1]]).decode())
    if '"ranking_options"' in text:
        # runstate writes score_threshold before ranker; the API sends ranker first (a key
        # order of _serde's schema, outside this toolkit): equal as JSON, not as bytes.
        return
    assert made[:-1] == recorded  # event names and data, byte for byte
    for event, data in made:  # and the framing: the recording's own bytes
        assert f"event: {event}\ndata: {data}\n\n" in text


def test_new_run_and_each_change() -> None:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
    created = rs.stream_events(None, run)
    assert [e for e, _ in created] == ["thread.run.created", "thread.run.queued"]
    assert json.loads(created[0][1]) == rs.dump_run(run)
    started = rs.start(run, now=2)
    assert rs.stream_events(run, started) == [
        ("thread.run.in_progress", rs.toolkit.run_json(started))
    ]
    done = rs.complete(started, now=3)
    assert [e for e, _ in rs.stream_events(started, done)] == ["thread.run.completed", "done"]
    edited = rs.update_metadata(done, metadata={"a": "b"})
    assert rs.stream_events(done, edited) == []


def test_refusals() -> None:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
    started = rs.start(run, now=2)
    other = rs.new_run(id="run_2", thread_id="t", assistant_id="a", model="m", now=1)
    with pytest.raises(rs.InvalidArgument, match="a new run is queued"):
        rs.stream_events(None, started)
    with pytest.raises(rs.InvalidArgument, match="is not run"):
        rs.stream_events(run, rs.start(other, now=2))
    with pytest.raises(rs.InvalidArgument, match="no single move"):
        rs.stream_events(run, rs.complete(started, now=3))
    for key, value in (("thread_id", "t2"), ("assistant_id", "a2"), ("created_at", 0)):
        moved = attrs.evolve(started, **{key: value})
        with pytest.raises(rs.InvalidArgument, match=f"changed its {key}"):
            rs.stream_events(run, moved)
    with pytest.raises(rs.InvalidArgument):
        rs.stream_events(None, rs.dump_run(run))  # type: ignore[arg-type]
    with pytest.raises(rs.InvalidArgument):
        rs.stream_events(rs.dump_run(run), started)  # type: ignore[arg-type]


def test_encode_sse() -> None:
    assert rs.encode_sse([]) == b""
    assert rs.encode_sse([("e", {"a": "é", "b": [1, 2]})]) == (
        'event: e\ndata: {"a":"é","b":[1,2]}\n\n'.encode()
    )
    body = rs.encode_sse([("e", "one\ntwo\nthree"), ("done", "[DONE]")])
    assert body == b"event: e\ndata: one\ndata: two\ndata: three\n\nevent: done\ndata: [DONE]\n\n"
    assert list(rs.parse_sse(body)) == [("e", "one\ntwo\nthree"), ("done", "[DONE]")]
    # What would not read back the same is refused (issue 17, item 13): an empty name
    # (reads back as "message"), a carriage return in text data (reads back as "\n").
    for bad in ([("a\nb", "x")], [("e", 1)], ["e"], [(1, "x")], [("", "x")],
                [("e", "one\r\ntwo")], [("e", "a\rb")], [("\ud800", "x")]):  # fmt: skip
        with pytest.raises(rs.InvalidArgument):
            rs.encode_sse(bad)  # type: ignore[arg-type]


def test_run_json_places_extras_as_the_api_does() -> None:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1,
                     extra={"reasoning_effort": None, "tool_resources": {}, "zz": 1})  # fmt: skip
    keys = list(json.loads(run_json := rs.toolkit.run_json(run)))
    assert keys.index("tool_resources") == keys.index("tools") + 1
    assert keys.index("reasoning_effort") == keys.index("top_p") + 1
    assert keys[-1] == "zz"
    assert " " not in run_json
    absent = rs.parse_run({"id": "r", "object": "thread.run", "created_at": 1, "thread_id": "t",
                           "assistant_id": "a", "status": "queued", "model": "m",
                           "tool_resources": {}})  # fmt: skip
    assert list(json.loads(rs.toolkit.run_json(absent)))[-1] == "tool_resources"


def test_stream_pairs_read_back(tmp_path: Any) -> None:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1,
                     instructions="línea\nzwei")  # fmt: skip
    pairs = rs.stream_events(None, run)
    assert list(rs.parse_sse(rs.encode_sse(pairs))) == pairs


def test_lone_surrogates_and_bad_data_are_written_or_refused() -> None:
    """JSON text may carry a lone surrogate (the API echoes it); it has no UTF-8 form, so it
    is written as the JSON escape it came as, and reads back the same."""
    # A request holding one is refused (malformed JSON); a run built by hand may hold one.
    with pytest.raises(rs.InvalidRequest):
        rs.parse_create_run('{"assistant_id": "asst_1", "metadata": {"\\ud800": "x"}}')
    run = rs.new_run(
        id="run_1", thread_id="t", assistant_id="a", model="m", now=1, metadata={"\ud800": "x"}
    )
    body = rs.encode_sse(rs.stream_events(None, run))
    assert b"\\ud800" in body
    assert rs.check_trace(rs.parse_sse(body), mode="stream").ok
    for bad in ([("x", {"a": object()})], [("x", {"a": float("nan")})], 5, "events"):
        with pytest.raises(rs.InvalidArgument):
            rs.encode_sse(bad)  # type: ignore[arg-type]


def test_stream_events_refusals_do_not_echo_huge_ids() -> None:
    """Ids in stream_events' refusals are bounded (a 100 kB id came back whole)."""
    huge = "run_" + "x" * 100_000
    a = rs.new_run(id=huge, thread_id="thread_1", assistant_id="asst_1", model="m", now=1)
    b = rs.new_run(id="run_2", thread_id="thread_" + "y" * 100_000, assistant_id="a", model="m",
                   now=1)  # fmt: skip
    c = rs.new_run(id="run_2", thread_id="thread_1", assistant_id="a", model="m", now=1)
    step = rs.steps.open_message_step(rs.start(c, now=2), id="step_1", message_id="m", now=2)
    for call in (
        lambda: rs.stream_events(c, a),
        lambda: rs.stream_events(c, b),
        lambda: rs.stream_events(
            rs.steps.RunLife(run=a), rs.steps.RunLife(run=rs.start(a, now=2), steps=(step,))
        ),
    ):
        with pytest.raises(rs.InvalidArgument) as info:
            call()
        assert len(str(info.value)) < 1000, str(info.value)[:300]
    later = rs.new_run(id="run_2", thread_id="thread_1", assistant_id="a", model="m", now=5)
    with pytest.raises(rs.InvalidArgument, match="changed its created_at from 1 to 5"):
        rs.stream_events(c, later)
