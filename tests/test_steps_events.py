"""Step and message events: stream_events reproduces the six real streams from their objects.

Event for event, deltas included: where the API streams a step's calls or a message's text
in many deltas, runstate announces what one change added in one delta, at the same place,
holding what the recorded deltas add up to (byte for byte).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from deltas import indexed, merge, unindexed
from realworld import parse_sse as plain_parse_sse

import runstate as rs
from runstate.steps import RunLife

STREAMS = [
    "dotnet-FileSearchStreamingWorks.1.sse",
    "dotnet-StreamingRunWorks.1.sse",
    "dotnet-StreamingToolCall.1.sse",
    "dotnet-StreamingToolCall.2.sse",
    "ruby-runs_streamed_create.0.sse",
    "ruby-runs_streamed_create.3.sse",
]
#: (stream, position among the compared events) -> the recorded name: the one early-v2
#: quirk, a ``thread.run.completed`` event carrying an ``incomplete`` run (the checker's
#: ``event-status-mismatch``). From its object, the run's event is ``thread.run.incomplete``.
QUIRKS = {("ruby-runs_streamed_create.3.sse", "thread.run.incomplete"): "thread.run.completed"}
DELTAS = ("thread.run.step.delta", "thread.message.delta")


def recorded(path: Path) -> list[tuple[str, str]]:
    """The events runstate produces: everything but thread events."""
    return [
        (event, data)
        for _, event, data in plain_parse_sse(path.read_text(encoding="utf-8"))
        if event is not None and event != "thread.created"
    ]


def grouped(events: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The events with each run of deltas to one object added up into one delta."""
    out: list[tuple[str, str]] = []
    for event, data in events:
        if event in DELTAS and out and out[-1][0] == event:
            last = json.loads(out[-1][1])
            this = json.loads(data)
            if last["id"] == this["id"]:
                last["delta"] = merge(last["delta"], this["delta"])
                out[-1] = (event, json.dumps(last, separators=(",", ":"), ensure_ascii=False))
                continue
        out.append((event, data))
    return out


def comparable(name: str, event: str, data: str) -> str:
    """A delta's data, with the file search stream's two known differences taken out.

    The API announced the file search call before its search ended (the results come with
    the step's completion: one change announces the call as it is, results included), and
    its citation's delta has a ``quote`` the completed message has not.
    """
    if not name.startswith("dotnet-FileSearch"):
        return data
    obj = json.loads(data)
    if event == "thread.run.step.delta":
        obj["delta"]["step_details"]["tool_calls"][0]["file_search"]["results"] = []
    else:
        for part in obj["delta"]["content"]:
            for note in part["text"].get("annotations", []):
                note["file_citation"].pop("quote", None)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class State:
    """A run, its steps and its messages, as the objects of a stream show them."""

    def __init__(self, deltas: bool = True) -> None:
        self.run: rs.Run | None = None
        self.steps: dict[str, rs.RunStep] = {}
        self.messages: dict[str, rs.steps.Message] = {}
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self.deltas = deltas

    def _apply_pending(self) -> None:
        """Recorded deltas change the objects with the next event (one change)."""
        for event, delta in self.pending:
            if event == "thread.run.step.delta":
                data = rs.dump_step(self.steps[delta["id"]])
                calls = merge(
                    indexed(data["step_details"]["tool_calls"]),
                    delta["delta"]["step_details"]["tool_calls"],
                )
                data["step_details"]["tool_calls"] = unindexed(calls)
                self.steps[delta["id"]] = rs.parse_step(data)
            else:
                data = rs.steps.dump_message(self.messages[delta["id"]])
                content = merge(indexed(data["content"]), delta["delta"]["content"])
                data["content"] = unindexed(content)
                self.messages[delta["id"]] = rs.steps.parse_message(data)
        self.pending = []

    def feed(self, event: str, data: str) -> list[tuple[str, str]]:
        """Apply one recorded object; return what stream_events announces for the change."""
        if event in DELTAS:
            self.pending.append((event, json.loads(data)))
            return []
        before = self.run
        steps, messages = tuple(self.steps.values()), tuple(self.messages.values())
        self._apply_pending()
        if event.startswith("thread.run.step."):
            step = rs.parse_step(data)
            self.steps[step.id] = step
        elif event.startswith("thread.message."):
            message = rs.steps.parse_message(data)
            self.messages[message.id] = message
        elif event != "done":
            self.run = rs.parse_run(data)
        else:
            return []
        assert self.run is not None
        if before is None and not steps and event.startswith("thread.run.step."):
            return []  # cannot happen in a stream that creates its run
        after = RunLife(
            run=self.run,
            steps=tuple(self.steps.values()),
            messages=tuple(self.messages.values()),
        )
        old = None if before is None else RunLife(run=before, steps=steps, messages=messages)
        return rs.stream_events(old, after, deltas=self.deltas)


@pytest.mark.parametrize("deltas", [True, False])
@pytest.mark.parametrize("name", STREAMS)
def test_real_streams_are_reproduced_from_their_objects(
    real_world: Path, name: str, deltas: bool
) -> None:
    streamed = real_world / "streamed"
    state = State(deltas)
    if name.endswith("StreamingToolCall.2.sse"):  # the submit stream continues .1's objects
        for event, data in recorded(streamed / "dotnet-StreamingToolCall.1.sse"):
            state.feed(event, data)
    fed = recorded(streamed / name)
    made: list[tuple[str, str]] = []
    for event, data in fed:
        made.extend(state.feed(event, data))
    # deltas=False: the recorded stream without deltas; else its deltas added up per change
    events = grouped(fed) if deltas else [(e, d) for e, d in fed if e not in DELTAS]
    assert [QUIRKS.get((name, got), got) for got, _ in made] == [want for want, _ in events]
    for (_, got_data), (want, want_data) in zip(made, events, strict=True):
        if want == "done":
            assert got_data == want_data == "[DONE]"
            continue
        if want in DELTAS:  # what the recorded deltas add up to, byte for byte
            assert comparable(name, want, got_data) == comparable(name, want, want_data)
            continue
        assert json.loads(got_data)["status"] == json.loads(want_data)["status"]
        assert json.loads(got_data) == json.loads(want_data)
        # Byte for byte: every step and message; the runs of the dotnet streams (ruby's v1
        # file_ids and the ranker's key order are placed by run_json as test_events says).
        run_bytes = name.startswith("dotnet") and '"ranking_options"' not in want_data
        if ".step." in want or ".message." in want or run_bytes:
            assert got_data == want_data
    assert sum(e in DELTAS for e, _ in made) == (
        {
            "dotnet-FileSearchStreamingWorks.1.sse": 2,
            "dotnet-StreamingToolCall.2.sse": 1,
            "dotnet-StreamingToolCall.1.sse": 1,
        }.get(name, 1)
        if deltas
        else 0
    )
    body = rs.encode_sse(made).decode()
    assert list(rs.parse_sse(body.encode())) == made
    # the checker finds nothing the recording does not show itself (ruby's early quirks)
    known = {p.rule for p in rs.check_trace(fed, mode="stream").errors}
    assert {p.rule for p in rs.check_trace(made, mode="stream").errors} <= known
    text = (streamed / name).read_text(encoding="utf-8")
    assert text.endswith("event: done\ndata: [DONE]\n\n") and body.endswith(
        "event: done\ndata: [DONE]\n\n"
    )


def test_steps_are_announced_in_the_recorded_order() -> None:
    run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1), now=2)
    call = {"id": "call_A", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    a = rs.advance(run, (), "open_tool_calls_step", now=3, step_id="step_t")
    b = rs.advance(a.run, a.steps, "require_action", now=4, tool_calls=[call])
    c = rs.advance(
        b.run, b.steps, "submit_tool_outputs", now=5,
        tool_outputs=[{"tool_call_id": "call_A", "output": "ok"}],
    )  # fmt: skip

    def names(x: rs.steps.RunLife | None, y: rs.steps.RunLife, deltas: bool = True) -> list[str]:
        return [e for e, _ in rs.stream_events(x, y, deltas=deltas)]

    assert names(rs.steps.RunLife(run=run), a) == [
        "thread.run.step.created",
        "thread.run.step.in_progress",
    ]
    # the step stays open; the calls put on it come in a delta before requires_action
    assert names(a, b) == ["thread.run.step.delta", "thread.run.requires_action", "done"]
    assert names(a, b, deltas=False) == ["thread.run.requires_action", "done"]
    assert names(b, c) == ["thread.run.step.completed", "thread.run.queued"]
    d = rs.advance(c.run, c.steps, "start", now=6)
    e = rs.advance(d.run, d.steps, "open_message_step", now=6, step_id="s2", message_id="m")
    assert names(d, e) == [
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
    ]
    f = rs.advance(e.run, e.steps, "fail", now=7, messages=e.messages,
                   error={"code": "server_error", "message": "x"})  # fmt: skip
    assert names(e, f) == [
        "thread.message.incomplete",
        "thread.run.step.failed",
        "thread.run.failed",
        "done",
    ]
    # a message no step names is announced after the steps
    orphan = rs.steps.open_message(e.run, id="m2", now=6)
    got = rs.stream_events(d, attrs.evolve(e, messages=(*e.messages, orphan)))
    assert [n for n, _ in got][-2:] == ["thread.message.created", "thread.message.in_progress"]
    # the run-only form is unchanged, and no object change adds nothing
    assert rs.stream_events(d.run, e.run) == []
    assert rs.stream_events(e, e) == []


def test_step_event_refusals() -> None:
    run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1), now=2)
    life = rs.advance(run, (), "open_message_step", now=3, step_id="s", message_id="m")
    done = rs.advance(life.run, life.steps, "complete", now=4, messages=life.messages)
    other = rs.start(
        rs.new_run(id="run_2", thread_id="t", assistant_id="a", model="m", now=1), now=2
    )
    bare = RunLife(run=run)
    dumped = (rs.dump_step(life.steps[0]),)
    bad: list[tuple[Any, Any]] = [
        (bare, RunLife(run=run, steps=done.steps)),  # a new step that already ended
        (bare, RunLife(run=run, messages=done.messages)),  # a new message that already ended
        (RunLife(run=run, steps=life.steps), bare),  # a step disappears
        (bare, RunLife(run=run, steps="s")),  # type: ignore[arg-type]
        (bare, RunLife(run=run, steps=dumped)),  # type: ignore[arg-type]
        (RunLife(run=run, steps=done.steps), RunLife(run=run, steps=life.steps)),  # reopens
        (RunLife(run=run, messages=done.messages), RunLife(run=run, messages=life.messages)),
        (run, life),  # a Run before a RunLife
        (life, run),  # and the other way round
    ]
    for before, after in bad:
        with pytest.raises(rs.InvalidArgument):
            rs.stream_events(before, after)
    with pytest.raises(rs.InvalidArgument):
        rs.stream_events(RunLife(run=other), RunLife(run=other, steps=life.steps))
    for key, value, what in (
        ("thread_id", "t2", "is on thread 't2'"),
        ("assistant_id", "a2", "is by assistant 'a2'"),
    ):
        step = attrs.evolve(life.steps[0], **{key: value})
        message = attrs.evolve(life.messages[0], **{key: value})
        with pytest.raises(rs.InvalidArgument, match=f"^after.steps: 's' {what}"):
            rs.stream_events(bare, RunLife(run=run, steps=(step,)))
        with pytest.raises(rs.InvalidArgument, match=f"^before.messages: 'm' {what}"):
            rs.stream_events(RunLife(run=run, messages=(message,)), life)
    user = RunLife(run=run, messages=(attrs.evolve(life.messages[0], assistant_id=None),))
    assert rs.stream_events(user, user) == []  # a message of no assistant


def test_stream_events_old_keywords_still_work_and_are_deprecated() -> None:
    """The six-sequence form before RunLife values: the same events, a DeprecationWarning,
    and refusals that name its keywords."""
    run = rs.start(rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1), now=2)
    life = rs.advance(run, (), "open_message_step", now=3, step_id="s", message_id="m")
    done = rs.advance(life.run, life.steps, "complete", now=4, messages=life.messages)
    with pytest.deprecated_call():
        old = rs.stream_events(
            life.run, done.run, steps_before=life.steps, steps_after=done.steps,
            messages_before=life.messages, messages_after=done.messages,
        )  # fmt: skip
    assert old == rs.stream_events(life, done)
    assert [e for e, _ in old] == [
        "thread.message.completed", "thread.run.step.completed", "thread.run.completed", "done"
    ]  # fmt: skip
    with pytest.deprecated_call():  # steps_before alone: the run alone, as before
        alone = rs.stream_events(life.run, done.run, steps_before=life.steps)
    assert alone == rs.stream_events(life.run, done.run)
    step = attrs.evolve(life.steps[0], thread_id="t2")
    with pytest.deprecated_call(), pytest.raises(rs.InvalidArgument, match=r"^steps_after: 's'"):
        rs.stream_events(run, run, steps_after=[step])
    with pytest.deprecated_call(), pytest.raises(rs.InvalidArgument, match=r"^steps_before"):
        rs.stream_events(life, done, steps_after=done.steps)
