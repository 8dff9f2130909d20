"""Deltas: what stream_events announces of the calls and text a change adds, and
``write_message_text``, which writes a message's text.

The data shapes are the recordings' (spec-facts §11, ``../shared/real-world/streamed``);
``test_steps_events`` reproduces the six recorded streams with them.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from deltas import indexed, merge, unindexed
from hypothesis import given
from realworld import parse_sse as plain_parse_sse

import runstate as rs
from runstate.steps import RunLife, write_message_text
from runstate.strategies import lives

CALL = {"id": "call_A", "type": "function", "function": {"name": "f", "arguments": "{}"}}
CI = {
    "id": "call_ci",
    "type": "code_interpreter",
    "code_interpreter": {"input": "1", "outputs": []},
}


def started() -> RunLife:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)
    return rs.advance(run, (), "start", now=11)


def opened_message() -> RunLife:
    life = started()
    return rs.advance(life.run, (), "open_message_step", now=12, step_id="s", message_id="m")


def finish(life: RunLife, **kwargs: Any) -> RunLife:
    """``finish_message_step`` of the step ``s`` at 13."""
    return rs.advance(
        life.run, life.steps, "finish_message_step", now=13, messages=life.messages,
        step_id="s", **kwargs,
    )  # fmt: skip


def events(before: RunLife | None, after: RunLife, **kwargs: Any) -> list[tuple[str, str]]:
    return rs.stream_events(before, after, **kwargs)


def with_message(life: RunLife, message: rs.steps.Message) -> RunLife:
    return RunLife(run=life.run, steps=life.steps, messages=(message,))


def recorded_first(real_world: Path, stream: str, event: str) -> dict[str, Any]:
    for _, name, data in plain_parse_sse((real_world / "streamed" / stream).read_text("utf-8")):
        if name == event:
            return json.loads(data)  # type: ignore[no-any-return]
    raise AssertionError(f"no {event} in {stream}")


def shape(value: Any) -> Any:
    """The keys and nesting of a JSON value (its leaves' types, not their values)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


# -- write_message_text ---------------------------------------------------------------


def test_write_message_text_writes_one_text_part_and_appends_to_it() -> None:
    message = opened_message().messages[0]
    one = write_message_text(message, "Hello")
    assert rs.steps.dump_message(one)["content"] == [
        {"type": "text", "text": {"value": "Hello", "annotations": []}}
    ]
    two = write_message_text(one, ", world")
    assert two.extra["content"][0]["text"]["value"] == "Hello, world"
    assert message.extra["content"] == []  # nothing given is changed
    # the result is a value like any other: frozen, and it round-trips
    assert rs.steps.parse_message(rs.steps.dump_message(two)) == two
    assert rs.steps.parse_message(json.dumps(rs.steps.dump_message(two))) == two
    with pytest.raises(TypeError):
        two.extra["content"].append({})
    assert list(rs.steps.dump_message(two)) == list(rs.steps.dump_message(message))  # key order


def test_write_message_text_starts_a_part_after_one_that_is_not_text() -> None:
    data = rs.steps.dump_message(opened_message().messages[0])
    image = {"type": "image_file", "image_file": {"file_id": "file_1"}}
    data["content"] = [image]
    written = write_message_text(rs.steps.parse_message(data), "caption")
    assert written.extra["content"] == [
        image,
        {"type": "text", "text": {"value": "caption", "annotations": []}},
    ]
    del data["content"]  # a message without content gets one
    written = write_message_text(rs.steps.parse_message(data), "")
    assert written.extra["content"] == [{"type": "text", "text": {"value": "", "annotations": []}}]


def test_write_message_text_keeps_a_text_parts_annotations() -> None:
    data = rs.steps.dump_message(opened_message().messages[0])
    note = {"type": "file_citation", "text": "[1]", "start_index": 0, "end_index": 3}
    data["content"] = [{"type": "text", "text": {"value": "[1]", "annotations": [note]}}]
    written = write_message_text(rs.steps.parse_message(data), " more")
    assert written.extra["content"][0]["text"] == {"value": "[1] more", "annotations": [note]}


class Text(str):
    def __str__(self) -> str:
        return "not the text"


def test_write_message_text_refusals() -> None:
    life = opened_message()
    message = life.messages[0]
    ended = finish(life, incomplete_reason="max_tokens")
    with pytest.raises(rs.StepTransitionError) as caught:
        write_message_text(ended.messages[0], "late")
    assert caught.value.reason == "step-terminal"
    assert caught.value.operation == "write_message_text"
    for text in (None, b"bytes", 3, ["a"]):
        with pytest.raises(rs.InvalidArgument, match="text"):
            write_message_text(message, text)  # type: ignore[arg-type]
    with pytest.raises(rs.InvalidArgument):
        write_message_text(rs.steps.dump_message(message), "x")  # type: ignore[arg-type]
    data = rs.steps.dump_message(message)
    for content in ("text", [1], {"type": "text"}):
        data["content"] = content
        with pytest.raises(rs.InvalidArgument, match="content"):
            write_message_text(rs.steps.parse_message(data), "x")
    # a str subclass is written as its text, not as what its __str__ says
    assert write_message_text(message, Text("abc")).extra["content"][0]["text"]["value"] == "abc"
    assert (
        type(write_message_text(message, Text("abc")).extra["content"][0]["text"]["value"]) is str
    )


def test_advance_finish_message_step_writes_text() -> None:
    life = opened_message()
    done = finish(life, text="Hi")
    assert done.messages[0].status == "completed"
    assert done.messages[0].extra["content"][0]["text"]["value"] == "Hi"
    cut = finish(life, text="H", incomplete_reason="max_tokens")
    assert cut.messages[0].status == "incomplete"
    assert cut.messages[0].extra["content"][0]["text"]["value"] == "H"
    with pytest.raises(rs.InvalidArgument):
        finish(life, text=1)


# -- message deltas ---------------------------------------------------------------------


def test_text_written_at_the_end_comes_in_a_delta_before_the_message_ends() -> None:
    life = opened_message()
    done = finish(life, text="Hi ✓")
    got = events(life, done)
    assert [name for name, _ in got] == [
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
    ]
    assert got[0][1] == (
        '{"id":"m","object":"thread.message.delta","delta":{"content":[{"index":0,"type":"text",'
        '"text":{"value":"Hi ✓","annotations":[]}}]}}'
    )
    # the run's end ends the message too: its delta still comes first, the run's event last
    written = with_message(life, write_message_text(life.messages[0], "Hi"))
    end = rs.advance(written.run, written.steps, "complete", now=14, messages=written.messages)
    assert [name for name, _ in events(life, end)] == [
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
        "done",
    ]
    assert [name for name, _ in events(life, done, deltas=False)] == [
        "thread.message.completed",
        "thread.run.step.completed",
    ]


def test_text_written_in_pieces_comes_in_one_delta_per_change() -> None:
    life = opened_message()
    pieces = [life]
    for text in ("Hel", "lo", ""):
        pieces.append(with_message(life, write_message_text(pieces[-1].messages[0], text)))
    first, second, third = (events(a, b) for a, b in itertools.pairwise(pieces))
    assert json.loads(first[0][1])["delta"] == {
        "content": [{"index": 0, "type": "text", "text": {"value": "Hel", "annotations": []}}]
    }
    # the recorded shape of the deltas that follow: the text added, no annotations
    assert first[0][0] == second[0][0] == "thread.message.delta" and len(second) == 1
    assert json.loads(second[0][1])["delta"] == {
        "content": [{"index": 0, "type": "text", "text": {"value": "lo"}}]
    }
    assert third == []  # nothing written: nothing announced


def test_added_annotations_and_parts_come_with_their_index() -> None:
    life = opened_message()
    data = rs.steps.dump_message(write_message_text(life.messages[0], "See"))
    before = with_message(life, rs.steps.parse_message(data))
    note = {
        "type": "file_citation",
        "text": "[1]",
        "start_index": 3,
        "end_index": 6,
        "file_citation": {"file_id": "file_1"},
    }
    data["content"] = [
        {"type": "text", "text": {"value": "See[1]", "annotations": [note]}},
        {"type": "text", "text": {"value": "More", "annotations": [note]}},
    ]
    after = with_message(life, rs.steps.parse_message(data))
    (delta,) = events(before, after)
    assert json.loads(delta[1])["delta"]["content"] == [
        {
            "index": 0,
            "type": "text",
            "text": {"value": "[1]", "annotations": [{"index": 0, **note}]},
        },
        {
            "index": 1,
            "type": "text",
            "text": {"value": "More", "annotations": [{"index": 0, **note}]},
        },
    ]
    # what the SDK adds up is the message's content
    snapshot = merge(
        indexed(rs.steps.dump_message(before.messages[0])["content"]),
        json.loads(delta[1])["delta"]["content"],
    )
    assert [
        {**p, "text": {**p["text"], "annotations": unindexed(p["text"]["annotations"])}}
        for p in unindexed(snapshot)
    ] == data["content"]


def test_only_the_parts_that_grew_are_in_the_delta() -> None:
    life = opened_message()
    data = rs.steps.dump_message(life.messages[0])
    note = {"type": "file_path", "text": "x", "file_path": {"file_id": "f"}}
    data["content"] = [
        {"type": "text", "text": {"value": "One", "annotations": []}},
        {"type": "text", "text": {"value": "Two", "annotations": []}},
    ]
    before = with_message(life, rs.steps.parse_message(data))
    data["content"] = [
        {"type": "text", "text": {"value": "One", "annotations": []}},  # unchanged
        {"type": "text", "text": {"value": "Two", "annotations": [note]}},  # a note, no text
    ]
    after = with_message(life, rs.steps.parse_message(data))
    (delta,) = events(before, after)
    assert json.loads(delta[1])["delta"]["content"] == [
        {"index": 1, "type": "text", "text": {"annotations": [{"index": 0, **note}]}}
    ]


@pytest.mark.parametrize(
    "content",
    [
        [],  # a part removed
        [{"type": "text", "text": {"value": "Other", "annotations": []}}],  # text rewritten
        [{"type": "text", "text": {"value": "Some", "annotations": []}, "x": 1}],  # a key added
        [{"type": "text", "text": {"value": "Some", "annotations": [], "x": 1}}],
        [{"type": "text", "text": {"value": "Some more", "annotations": "no"}}],
        [{"type": "text", "text": {"value": 5, "annotations": []}}],
        [{"type": "text", "text": "Some"}],
        [{"type": "image_file", "image_file": {"file_id": "f"}}],
        "not a list",
        [1],
    ],
)
def test_content_that_does_not_only_grow_has_no_delta(content: Any) -> None:
    life = opened_message()
    before = with_message(life, write_message_text(life.messages[0], "Some"))
    data = rs.steps.dump_message(before.messages[0])
    data["content"] = content
    after = with_message(life, rs.steps.parse_message(data))
    assert events(before, after) == []
    # announced with the message's end, as every change of an object is
    done = with_message(life, rs.steps.complete_message(after.messages[0], now=13))
    assert [name for name, _ in events(before, done)] == ["thread.message.completed"]


def test_a_message_opened_with_content_opens_empty_then_gets_a_delta() -> None:
    life = started()
    message = write_message_text(rs.steps.open_message(life.run, id="m", now=12), "Hi")
    after = with_message(life, message)
    got = events(life, after)
    assert [name for name, _ in got] == [
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.delta",
    ]
    assert json.loads(got[0][1])["content"] == [] and got[0][1] == got[1][1]
    assert json.loads(got[2][1])["delta"]["content"][0]["text"]["value"] == "Hi"
    plain = events(life, after, deltas=False)
    assert [name for name, _ in plain] == ["thread.message.created", "thread.message.in_progress"]
    assert json.loads(plain[0][1])["content"] == rs.steps.dump_message(message)["content"]
    # content no delta can carry: the message opens as it is
    data = rs.steps.dump_message(message)
    data["content"] = "text"
    odd = rs.steps.parse_message(data)
    got = events(life, with_message(life, odd))
    assert [json.loads(d)["content"] for _, d in got] == ["text", "text"]


def test_recorded_message_delta_shape(real_world: Path) -> None:
    want = recorded_first(real_world, "dotnet-StreamingRunWorks.1.sse", "thread.message.delta")
    life = opened_message()
    after = with_message(life, write_message_text(life.messages[0], "Hello"))
    (got,) = events(life, after)
    assert list(json.loads(got[1])) == list(want) == ["id", "object", "delta"]
    assert shape(json.loads(got[1])) == shape(want)


# -- step deltas ------------------------------------------------------------------------


def test_calls_put_on_an_open_step_come_in_a_delta_before_requires_action() -> None:
    life = started()
    opened = rs.advance(life.run, (), "open_tool_calls_step", now=12, step_id="s")
    waiting = rs.advance(opened.run, opened.steps, "require_action", now=13, tool_calls=[CALL])
    got = events(opened, waiting)
    assert [name for name, _ in got] == [
        "thread.run.step.delta",
        "thread.run.requires_action",
        "done",
    ]
    assert got[0][1] == (
        '{"id":"s","object":"thread.run.step.delta","delta":{"step_details":{"type":"tool_calls",'
        '"tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"f",'
        '"arguments":"{}","output":null}}]}}}'
    )
    assert events(opened, waiting, deltas=False) == got[1:]
    # outputs attached on submission: no delta, the step's completion carries them
    queued = rs.advance(
        waiting.run,
        waiting.steps,
        "submit_tool_outputs",
        now=14,
        tool_outputs=[{"tool_call_id": "call_A", "output": "ok"}],
    )
    assert [name for name, _ in events(waiting, queued)] == [
        "thread.run.step.completed",
        "thread.run.queued",
    ]


def test_calls_added_after_others_have_the_next_index() -> None:
    life = started()
    opened = rs.advance(life.run, (), "open_tool_calls_step", now=12, step_id="s", tool_calls=[CI])
    waiting = rs.advance(opened.run, opened.steps, "require_action", now=13, tool_calls=[CALL])
    (delta, _, _) = events(opened, waiting)
    entries = json.loads(delta[1])["delta"]["step_details"]["tool_calls"]
    assert [(e["index"], e["id"]) for e in entries] == [(1, "call_A")]


def test_a_step_opened_with_calls_opens_empty_then_gets_a_delta() -> None:
    life = started()
    waiting = rs.advance(life.run, (), "require_action", now=12, step_id="s", tool_calls=[CALL])
    got = events(life, waiting)
    assert [name for name, _ in got] == [
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.delta",
        "thread.run.requires_action",
        "done",
    ]
    assert json.loads(got[0][1])["step_details"] == {"type": "tool_calls", "tool_calls": []}
    calls = rs.dump_step(waiting.steps[0])["step_details"]["tool_calls"]
    delta = json.loads(got[2][1])["delta"]["step_details"]["tool_calls"]
    assert unindexed(merge([], delta)) == calls
    plain = events(life, waiting, deltas=False)
    assert [name for name, _ in plain] == [n for n, _ in got if n != "thread.run.step.delta"]
    assert json.loads(plain[0][1])["step_details"]["tool_calls"] == calls
    # without calls there is nothing to add
    empty = rs.advance(life.run, (), "open_tool_calls_step", now=12, step_id="s")
    assert [name for name, _ in events(life, empty)] == [
        "thread.run.step.created",
        "thread.run.step.in_progress",
    ]


def test_calls_replaced_have_no_delta() -> None:
    life = started()
    other = dict(CALL, id="call_B")
    opened = rs.advance(
        life.run, (), "open_tool_calls_step", now=12, step_id="s", tool_calls=[other]
    )
    waiting = rs.advance(opened.run, opened.steps, "require_action", now=13, tool_calls=[CALL])
    assert [name for name, _ in events(opened, waiting)] == ["thread.run.requires_action", "done"]


def test_recorded_step_delta_shape(real_world: Path) -> None:
    want = recorded_first(real_world, "dotnet-StreamingToolCall.1.sse", "thread.run.step.delta")
    life = started()
    opened = rs.advance(life.run, (), "open_tool_calls_step", now=12, step_id="s")
    waiting = rs.advance(opened.run, opened.steps, "require_action", now=13, tool_calls=[CALL])
    got = json.loads(events(opened, waiting)[0][1])
    assert shape(got) == shape(want)  # id, object, delta.step_details.tool_calls[index, id...]


def test_deltas_must_be_a_bool() -> None:
    life = started()
    for value in (None, 1, "yes"):
        with pytest.raises(rs.InvalidArgument, match="deltas"):
            events(life, life, deltas=value)


# -- over whole lives ---------------------------------------------------------------------

_OBJECT_END = (".completed", ".incomplete", ".failed", ".cancelled", ".expired")


def _without_outputs(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**c, "function": {k: v for k, v in c["function"].items() if k != "output"}}
        if c.get("type") == "function"
        else c
        for c in calls
    ]


@given(lives())
def test_streams_with_deltas_read_as_the_sdk_reads_them(life: list[RunLife]) -> None:
    """Every life's stream, deltas included, passes the checker and round-trips; and
    adding up its deltas as the SDK does gives every step's calls and every message's
    content by the time it ends (and the required calls at requires_action)."""
    snapshots: dict[str, dict[str, Any]] = {}
    whole: list[tuple[str, str]] = []
    before: RunLife | None = None
    for now in life:
        got = events(before, now)
        assert list(rs.parse_sse(rs.encode_sse(got))) == got
        plain = events(before, now, deltas=False)
        assert [n for n, _ in got if not n.endswith(".delta")] == [n for n, _ in plain]
        for name, data in got:
            if name == "done":
                continue
            obj = json.loads(data)
            if name.endswith(".delta"):
                snap = snapshots[obj["id"]]  # announced before its deltas
                if name == "thread.message.delta":
                    snap["content"] = merge(indexed(snap["content"]), obj["delta"]["content"])
                    snap["content"] = unindexed(snap["content"])
                else:
                    details = snap["step_details"]
                    added = obj["delta"]["step_details"]["tool_calls"]
                    details["tool_calls"] = unindexed(merge(indexed(details["tool_calls"]), added))
            elif name.startswith(("thread.message.", "thread.run.step.")):
                snap = snapshots.get(obj["id"])
                if snap is not None and name.endswith(_OBJECT_END):
                    if name.startswith("thread.message."):
                        assert snap["content"] == obj["content"]
                    else:
                        assert _without_outputs(snap["step_details"].get("tool_calls", [])) == (
                            _without_outputs(obj["step_details"].get("tool_calls", []))
                        )
                snapshots[obj["id"]] = obj
            elif name == "thread.run.requires_action":
                required = {
                    c["id"] for c in obj["required_action"]["submit_tool_outputs"]["tool_calls"]
                }
                open_calls = {
                    c["id"]
                    for s in snapshots.values()
                    if s.get("object") == "thread.run.step" and s["status"] == "in_progress"
                    for c in s["step_details"].get("tool_calls", [])
                    if c["type"] == "function"
                }
                assert required == open_calls
        whole += [e for e in got if e[0] != "done"]
        before = now
    report = rs.check_trace([*whole, ("done", "[DONE]")], mode="stream")
    assert report.ok, [str(p) for p in report.problems]


def test_the_tests_delta_arithmetic_is_the_sdks() -> None:
    deltas = pytest.importorskip("openai.lib.streaming._deltas")
    acc = {"content": [{"index": 0, "type": "text", "text": {"value": "Hel", "annotations": []}}]}
    steps = [
        {"content": [{"index": 0, "type": "text", "text": {"value": "lo"}}]},
        {
            "content": [
                {"index": 0, "type": "text", "text": {"annotations": [{"index": 0, "a": 1}]}}
            ]
        },
        {"content": [{"index": 1, "type": "text", "text": {"value": "!", "annotations": []}}]},
    ]
    mine: Any = acc
    theirs: Any = json.loads(json.dumps(acc))
    for delta in steps:
        mine = merge(mine, delta)
        theirs = deltas.accumulate_delta(theirs, json.loads(json.dumps(delta)))
    assert mine == theirs


def sdk_callbacks(lives_: list[RunLife], deltas: bool = True) -> list[tuple[str, ...]]:
    """What the official SDK's ``AssistantEventHandler`` calls back for the stream of
    these changes (read from its ``text/event-stream`` bytes, as from a server)."""
    openai = pytest.importorskip("openai")
    httpx = pytest.importorskip("httpx")
    from openai.types.beta import AssistantStreamEvent  # noqa: PLC0415

    body = b"".join(
        rs.encode_sse(events(before, after, deltas=deltas))
        for before, after in itertools.pairwise([None, *lives_])
    )
    seen: list[tuple[str, ...]] = []

    class Handler(openai.AssistantEventHandler):  # type: ignore[misc]
        def on_tool_call_created(self, call: Any) -> None:
            seen.append(("tool_call_created", call.id, call.function.arguments))

        def on_tool_call_done(self, call: Any) -> None:
            seen.append(("tool_call_done", call.id, call.function.arguments))

        def on_text_delta(self, delta: Any, snapshot: Any) -> None:
            seen.append(("text_delta", delta.value, snapshot.value))

        def on_message_done(self, message: Any) -> None:
            seen.append(("message_done", *(p.text.value for p in message.content)))

    client = openai.OpenAI(api_key="unused", base_url="http://localhost")
    request = httpx.Request("POST", "http://localhost/v1/threads/t/runs")
    response = httpx.Response(200, content=body, request=request)
    handler = Handler()
    handler._init(openai.Stream(cast_to=AssistantStreamEvent, response=response, client=client))
    handler.until_done()
    return seen


def test_the_sdks_event_handler_sees_the_calls_and_the_text() -> None:
    life = started()
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)
    waiting = rs.advance(life.run, (), "require_action", now=12, step_id="s", tool_calls=[CALL])
    assert sdk_callbacks([RunLife(run=run), life, waiting]) == [
        ("tool_call_created", "call_A", "{}"),  # once: not "{}{}"
        ("tool_call_done", "call_A", "{}"),
    ]
    assert sdk_callbacks([RunLife(run=run), life, waiting], deltas=False) == []
    opened = rs.advance(life.run, (), "open_message_step", now=12, step_id="m", message_id="msg")
    hel = with_message(opened, write_message_text(opened.messages[0], "Hel"))
    hello = with_message(opened, write_message_text(hel.messages[0], "lo"))
    done = rs.advance(hello.run, hello.steps, "finish_message_step", now=13,
                      messages=hello.messages, step_id="m", text="!")  # fmt: skip
    assert sdk_callbacks([RunLife(run=run), life, opened, hel, hello, done]) == [
        ("text_delta", "Hel", "Hel"),
        ("text_delta", "lo", "Hello"),
        ("text_delta", "!", "Hello!"),
        ("message_done", "Hello!"),
    ]
