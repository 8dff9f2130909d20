"""stream_events, replay and check_trace on hand-made traces: every rule can fire."""

from __future__ import annotations

import json
from typing import Any

import pytest
from responses_helpers import USAGE, life_events

import runstate
from runstate import responses as rr

T0 = 1_700_000_000
MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "status": "completed",
    "content": [
        {"type": "output_text", "annotations": [], "logprobs": [], "text": "Hi"},
        {"type": "refusal", "refusal": "no"},
    ],
    "role": "assistant",
}
CALL = {"id": "fc_1", "type": "function_call", "status": "completed", "arguments": "{}",
        "call_id": "call_1", "name": "f"}  # fmt: skip
OTHER = {"id": "rs_1", "type": "reasoning", "summary": []}


def life(background: bool = True) -> list[rr.Response]:
    r0 = rr.new_response(id="resp_1", model="m", now=T0, background=background)
    rs = [r0]
    if background:
        rs.append(rr.start(r0, now=T0 + 1))
    rs.append(rr.complete(rs[-1], output=[MESSAGE, CALL, OTHER], usage=USAGE, now=T0 + 2))
    return rs


def rules(items: Any, mode: Any = "stream") -> list[str]:
    return [p.rule for p in rr.check_trace(items, mode=mode).problems]


def test_the_shapes_of_a_background_and_a_synchronous_stream() -> None:
    bg = [e["type"] for e in life_events(life())]
    assert bg[:3] == ["response.created", "response.queued", "response.in_progress"]
    assert bg[-1] == "response.completed"
    assert "response.function_call_arguments.delta" in bg
    assert "response.output_text.delta" in bg
    sync = [e["type"] for e in life_events(life(background=False))]
    assert sync[:2] == ["response.created", "response.in_progress"]
    assert "response.queued" not in sync
    assert rules(life_events(life())) == rules(life_events(life(background=False))) == []


def test_a_cancel_mid_stream_ends_with_failed_carrying_cancelled() -> None:
    r0 = rr.new_response(id="resp_1", model="m", now=T0, background=True)
    r1 = rr.start(r0, now=T0 + 1)
    events = life_events([r0, r1, rr.cancel(r1, now=T0 + 2)])
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["status"] == "cancelled"
    assert rules(events) == []


def test_stream_events_refuses_what_is_not_one_move() -> None:
    rs = life()
    with pytest.raises(runstate.InvalidArgument):
        rr.stream_events(None, rs[-1], sequence_start=0)
    with pytest.raises(runstate.InvalidArgument):
        rr.stream_events(rs[0], rs[-1], sequence_start=0)
    with pytest.raises(runstate.InvalidArgument):
        rr.stream_events(None, "r", sequence_start=0)  # type: ignore[arg-type]
    with pytest.raises(runstate.InvalidArgument):
        rr.stream_events(None, rs[0], sequence_start=-1)
    assert rr.stream_events(rs[1], rs[1], sequence_start=5) == ()


def test_replay_reads_pairs_and_text_and_refuses_bad_input() -> None:
    events = life_events(life())
    pairs = [(e["type"], json.dumps(e)) for e in events]
    assert rr.replay(pairs, 2) == tuple(pairs[3:])
    assert rr.replay([json.dumps(e) for e in events], len(events)) == ()
    with pytest.raises(runstate.InvalidArgument):
        rr.replay(events, "1")  # type: ignore[arg-type]
    with pytest.raises(runstate.InvalidArgument):
        rr.replay([{"type": "x"}], 0)


def _broken(edit: Any) -> list[str]:
    events = life_events(life())
    edit(events)
    return rules(events)


def test_sequence_and_start_rules() -> None:
    assert _broken(lambda ev: ev.__setitem__(3, {**ev[3], "sequence_number": 9})) == [
        "sequence-gap", "sequence-gap",
    ]  # fmt: skip
    assert _broken(lambda ev: ev.pop(0))[:1] == []  # starts at 1: a resumed replay
    assert "created-first" in _broken(lambda ev: ev.insert(0, {**ev.pop(1), "sequence_number": 0}))
    events = life_events(life())
    events[0] = {**events[0], "response": {**events[0]["response"], "status": "in_progress"}}
    assert rules(events)[0] == "created-status"


def test_status_event_rules() -> None:
    events = life_events(life())
    events[2] = {**events[2], "response": events[1]["response"]}
    assert "event-status-mismatch" in rules(events)
    events = life_events(life(background=False))
    queued = {"type": "response.queued", "sequence_number": 2, "response": events[1]["response"]}
    assert "queued-misplaced" in rules([*events[:2], queued])
    rs = life()
    skipped = life_events(rs[:1]) + list(rr.stream_events(rs[1], rs[2], sequence_start=2))
    assert "status-illegal" in rules(skipped)


def test_nesting_rules() -> None:
    events = life_events(life())
    types = [e["type"] for e in events]
    added = types.index("response.output_item.added")
    part = types.index("response.content_part.added")
    part_done = types.index("response.content_part.done")
    item_done = types.index("response.output_item.done")

    def without(*drop: int) -> list[dict[str, Any]]:
        kept = [e for i, e in enumerate(events) if i not in drop]
        return [{**e, "sequence_number": i} for i, e in enumerate(kept)]

    assert "item-not-open" in rules(without(added))
    assert "part-not-open" in rules(without(part))
    assert "part-open-at-item-done" in rules(without(part_done))
    assert "item-open-at-end" in rules(without(item_done))
    again = [*events[: added + 1], {**events[added]}, *events[added + 1 :]]
    assert "item-reopened" in rules([{**e, "sequence_number": i} for i, e in enumerate(again)])
    twice = [*events[: part + 1], {**events[part]}, *events[part + 1 :]]
    assert "part-reopened" in rules([{**e, "sequence_number": i} for i, e in enumerate(twice)])


def test_end_rules() -> None:
    events = life_events(life())
    extra = {**events[-2], "sequence_number": len(events)}
    assert rules([*events, extra, {**extra, "sequence_number": len(events) + 1}]) == [
        "after-terminal-event"
    ]
    assert rules(events[:-1]) == ["truncated-stream"]
    assert rules([*events, ("done", "[DONE]")]) == ["done-sentinel"]
    lone = [("error", json.dumps({"type": "error", "sequence_number": 0, "message": "x"}))]
    assert rules(lone) == []
    late = {"type": "error", "sequence_number": 2, "message": "x"}
    assert rules([*events[:2], late]) == ["unexpected-error-event", "truncated-stream"]


def test_invalid_items() -> None:
    assert rules([42]) == ["invalid-item", "truncated-stream"]
    assert rules(["{nope"]) == ["invalid-event", "truncated-stream"]
    assert rules([{"type": 1}]) == ["invalid-event", "truncated-stream"]
    event = life_events(life())[0]
    assert rules([("response.queued", json.dumps(event))])[0] == "event-type-mismatch"
    bad = {**event, "response": {"id": 5}}
    assert rules([bad]) == ["invalid-response", "truncated-stream"]
    assert rules([3.5], mode="poll") == ["invalid-item"]
    with pytest.raises(ValueError, match="mode"):
        rr.check_trace([], mode="both")  # type: ignore[arg-type]


def test_poll_rules() -> None:
    rs = life()
    assert rules(rs, mode="poll") == []
    backwards = [rr.dump_response(r) for r in reversed(rs)]
    assert rules(backwards, mode="poll") == ["after-terminal", "status-unreachable"]
    assert rules([rs[1], rs[0]], mode="poll") == ["status-unreachable"]
    other = rr.new_response(id="resp_2", model="m", now=T0 + 1, background=True)
    assert rules([rs[0], other], mode="poll") == ["field-changed", "field-changed"]
    broken = rr.dump_response(rs[-1])
    broken["usage"] = None
    assert rules([broken], mode="poll") == ["usage"]
    same = rr.dump_response(rs[-1])
    same["service_tier"] = "default"  # settled fields only: the service tier may be resolved
    assert rules([rs[-1], same], mode="poll") == []


def test_stream_events_refuses_output_it_cannot_stream() -> None:
    r0 = rr.new_response(id="resp_1", model="m", now=T0)
    done = rr.parse_response({**rr.dump_response(r0), "status": "completed", "output": [1],
                              "usage": USAGE, "completed_at": T0})  # fmt: skip
    with pytest.raises(runstate.InvalidArgument, match=r"output\[0\]"):
        rr.stream_events(r0, done, sequence_start=0)
    message = {"type": "message", "content": "text"}
    done = rr.parse_response({**rr.dump_response(done), "output": [message]})
    with pytest.raises(runstate.InvalidArgument):
        rr.stream_events(r0, done, sequence_start=0)
    # A background response is created queued; one made in_progress is not a creation.
    started = rr.start(rr.new_response(id="resp_2", model="m", now=T0, background=True), now=T0)
    with pytest.raises(runstate.InvalidArgument, match="'queued'"):
        rr.stream_events(None, started, sequence_start=0)


def test_operations_refuse_output_items_that_are_not_objects() -> None:
    r = rr.new_response(id="resp_1", model="m", now=T0)
    for bad in ([1], [{"id": "x"}], 5):
        with pytest.raises(runstate.InvalidArgument, match="output"):
            rr.complete(r, output=bad, usage=USAGE, now=T0)  # type: ignore[arg-type]


def test_an_invented_cancelled_event_is_an_error() -> None:
    # There is no response.cancelled event (SDK): a stream cancelled mid-way ends with
    # response.failed carrying status cancelled (§12.4, AZ). A server inventing one is
    # judged, not just warned about as a stream without its terminal event.
    r0 = rr.new_response(id="resp_1", model="m", now=T0, background=True)
    started = rr.start(r0, now=T0 + 1)
    cancelled = rr.cancel(started, now=T0 + 2)
    events = life_events([r0, started, cancelled])
    assert rules(events) == []  # the reference ends with response.failed
    assert events[-1]["type"] == "response.failed"
    invented = [*events[:-1], {**events[-1], "type": "response.cancelled"}]
    assert rules(invented) == ["no-such-event", "truncated-stream"]
