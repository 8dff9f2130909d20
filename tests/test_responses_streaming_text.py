"""Text streamed as it arrives: output written while in progress, its events, its rules.

``add_output_item`` / ``add_output_text`` write into an ``in_progress`` response;
``stream_events`` sends what is new (never again what was sent); the end sends the rest;
``check_trace`` catches a delta lost or repeated (``text-mismatch``) and an output
rewritten (``output-rewritten``).
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.responses import Response as SdkResponse
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter
from responses_helpers import USAGE, life_events

import runstate
from runstate import responses as rr
from runstate.responses._output import continuation_problem
from runstate.strategies import response_lives

T0 = 1_700_000_000
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def message(text: str | None = None, status: str = "in_progress", id: str = "msg_1") -> Any:
    parts = [] if text is None else [
        {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    ]  # fmt: skip
    return {"id": id, "type": "message", "status": status, "content": parts, "role": "assistant"}


def started(background: bool = True) -> list[rr.Response]:
    r0 = rr.new_response(id="resp_1", model="m", now=T0, background=background)
    return [r0, rr.start(r0, now=T0 + 1)] if background else [r0]


def written(*pieces: str, background: bool = True) -> list[rr.Response]:
    life = started(background)
    life.append(rr.add_output_item(life[-1], message(), now=T0 + 2))
    for piece in pieces:
        life.append(rr.add_output_text(life[-1], piece, now=T0 + 2))
    return life


def rules(items: Any, mode: Any = "stream") -> list[str]:
    return [p.rule for p in rr.check_trace(items, mode=mode).problems]


def deltas(events: list[dict[str, Any]]) -> list[str]:
    return [e["delta"] for e in events if e["type"] == "response.output_text.delta"]


def test_each_piece_is_one_delta_as_written_and_the_end_sends_only_the_rest() -> None:
    life = written("Hel", "lo", ", wor")
    life.append(
        rr.complete(
            life[-1], output=[message("Hello, world", "completed")], usage=USAGE, now=T0 + 3
        )
    )
    events = life_events(life)
    assert deltas(events) == ["Hel", "lo", ", wor", "ld"]
    kinds = [e["type"] for e in events]
    assert (
        kinds.count("response.output_item.added") == kinds.count("response.output_item.done") == 1
    )
    assert kinds.count("response.content_part.added") == 1
    # The writes send no status event: one in_progress, one completed.
    assert kinds.count("response.in_progress") == kinds.count("response.completed") == 1
    done = next(e for e in events if e["type"] == "response.output_text.done")
    assert done["text"] == "Hello, world"
    assert rules(events) == []
    assert rules(life, mode="poll") == []
    for event in events:
        assert EVENTS.validate_python(event).type == event["type"]
    for response in life:  # partial output is what the SDK accepts too
        SdkResponse.model_validate(rr.dump_response(response))


def test_a_synchronous_response_streams_its_text_the_same_way() -> None:
    life = written("A", "B", background=False)
    life.append(rr.complete(life[-1], output=[message("AB", "completed")], usage=USAGE, now=T0 + 3))
    events = life_events(life)
    assert deltas(events) == ["A", "B"] and rules(events) == []
    assert "response.queued" not in [e["type"] for e in events]


def test_a_new_item_closes_the_one_before_it() -> None:
    life = written("first")
    second = message(id="msg_2")
    life.append(rr.add_output_item(life[-1], second, now=T0 + 3))
    assert life[-1].output[0]["status"] == "completed"  # closed
    events = rr.stream_events(life[-2], life[-1], sequence_start=10)
    assert [e["type"] for e in events] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
    ]
    assert [e["sequence_number"] for e in events] == [10, 11, 12, 13]
    life.append(rr.add_output_text(life[-1], "second", now=T0 + 3))
    final = [dict(life[-1].output[0]), message("second", "completed", id="msg_2")]
    life.append(rr.complete(life[-1], output=final, usage=USAGE, now=T0 + 4))
    events = life_events(life)
    assert deltas(events) == ["first", "second"] and rules(events) == []


def test_text_on_an_item_that_already_holds_text_and_a_function_call_added_whole() -> None:
    life = started()
    life.append(rr.add_output_item(life[-1], message("Hi"), now=T0 + 2))
    call = {"id": "fc_1", "type": "function_call", "status": "in_progress", "arguments": "{}",
            "call_id": "call_1", "name": "f"}  # fmt: skip
    life.append(rr.add_output_item(life[-1], call, now=T0 + 2))
    final = [dict(life[-1].output[0]), {**call, "status": "completed"}]
    life.append(rr.complete(life[-1], output=final, usage=USAGE, now=T0 + 3))
    events = life_events(life)
    assert deltas(events) == ["Hi"]
    kinds = [e["type"] for e in events]
    assert kinds.count("response.function_call_arguments.delta") == 1
    assert kinds.count("response.function_call_arguments.done") == 1
    assert rules(events) == []


def test_incomplete_and_failed_close_the_open_item_and_a_cancel_cuts_it() -> None:
    base = written("partial")
    cut = rr.mark_incomplete(
        base[-1], "max_output_tokens", output=[message("partial", "incomplete")], usage=USAGE,
        now=T0 + 3,
    )  # fmt: skip
    failed = rr.fail(base[-1], {"code": "server_error", "message": "x"}, now=T0 + 3)
    cancelled = rr.cancel(base[-1], now=T0 + 3)
    for end in (cut, failed):
        events = life_events([*base, end])
        assert deltas(events) == ["partial"], end.status
        assert events[-2]["type"] == "response.output_item.done"
        assert rules(events) == [] and rules([*base, end], mode="poll") == []
    events = life_events([*base, cancelled])
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["status"] == "cancelled"
    assert events[-2]["type"] == "response.output_text.delta"  # nothing closed
    assert rules(events) == [] and rules([*base, cancelled], mode="poll") == []
    # Without a cancel, an item left open at the end is still an error.
    forged = [*events[:-1], {**events[-1], "type": "response.failed",
              "response": rr.dump_response(failed)}]  # fmt: skip
    assert rules(forged) == ["item-open-at-end"]


@given(response_lives())
def test_the_deltas_joined_are_the_final_texts_and_every_tail_resumes(
    life: tuple[rr.Response, ...],
) -> None:
    events = life_events(life)
    last = life[-1]
    sent: dict[tuple[int, int], str] = {}
    for e in events:
        if e["type"] == "response.output_text.delta":
            key = (e["output_index"], e["content_index"])
            sent[key] = sent.get(key, "") + e["delta"]
    if last.status in (rr.ResponseStatus.COMPLETED, rr.ResponseStatus.INCOMPLETE):
        final = {
            (i, j): part["text"]
            for i, item in enumerate(last.output)
            if item["type"] == "message"
            for j, part in enumerate(item["content"])
            if part["text"]
        }
        assert sent == final
    for n in range(len(events) - 1):  # a resumed stream joins without loss or repeat
        head, tail = events[: n + 1], list(rr.replay(events, n))
        assert head + tail == events
        assert rr.check_trace(tail, mode="stream").ok


def test_a_lost_or_repeated_delta_is_a_text_mismatch() -> None:
    life = written("a", "b", "c")
    life.append(
        rr.complete(life[-1], output=[message("abc", "completed")], usage=USAGE, now=T0 + 3)
    )
    events = life_events(life)
    at = [i for i, e in enumerate(events) if e["type"] == "response.output_text.delta"][1]

    def renumbered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**e, "sequence_number": n} for n, e in enumerate(items)]

    lost = renumbered(events[:at] + events[at + 1 :])
    repeated = renumbered(events[: at + 1] + events[at:])
    assert rules(lost) == ["text-mismatch", "text-mismatch"]  # text.done and part.done
    assert rules(repeated) == ["text-mismatch", "text-mismatch"]
    # A resumed stream that began after the part opened cannot judge it: no problem.
    assert rules(lost[at + 1 :]) == []


def test_poll_snapshots_whose_output_is_rewritten() -> None:
    life = written("Hello")
    shrunk = attrs.evolve(life[-1], output=[message("Help")])
    assert rules([*life, shrunk], mode="poll") == ["output-rewritten"]
    gone = attrs.evolve(life[-1], output=[])
    assert rules([*life, gone], mode="poll") == ["output-rewritten"]
    # A cancel empties the output: not a rewrite.
    assert rules([*life, rr.cancel(life[-1], now=T0 + 3)], mode="poll") == []


def test_the_end_must_continue_what_was_written() -> None:
    life = written("Hello")
    for output in ([], [message("Help", "completed")], [message("Hello", id="msg_9")]):
        with pytest.raises(runstate.InvalidArgument, match="output") as caught:
            rr.complete(life[-1], output=output, usage=USAGE, now=T0 + 3)
        assert "must continue the output written so far" in str(caught.value)
        with pytest.raises(runstate.InvalidArgument, match="output"):
            rr.mark_incomplete(life[-1], "content_filter", output=output, usage=USAGE, now=T0 + 3)
    # stream_events refuses a forged end the same way (it would contradict what was sent).
    forged = attrs.evolve(
        rr.complete(life[-1], output=[message("Hello", "completed")], usage=USAGE, now=T0 + 3),
        output=[message("Bye", "completed")],
    )
    with pytest.raises(runstate.InvalidArgument, match="after"):
        rr.stream_events(life[-1], forged, sequence_start=0)
    with pytest.raises(runstate.InvalidArgument, match="after"):
        rr.stream_events(life[-1], attrs.evolve(life[-1], output=[]), sequence_start=0)


def test_writing_is_only_for_an_in_progress_response() -> None:
    queued = started()[0]
    life = written("x")
    ends = {
        "illegal-transition": queued,
        "cancel-won": rr.cancel(life[-1], now=T0 + 3),
        "response-terminal": rr.fail(life[-1], {"code": "c", "message": "m"}, now=T0 + 3),
    }
    for reason, response in ends.items():
        with pytest.raises(rr.ResponseTransitionError) as caught:
            rr.add_output_text(response, "more", now=T0 + 4)
        assert caught.value.reason == reason
        with pytest.raises(rr.ResponseTransitionError):
            rr.add_output_item(response, message(), now=T0 + 4)
    with pytest.raises(runstate.ClockWentBackwards):
        rr.add_output_text(life[-1], "x", now=T0 - 1)


def test_the_writes_refuse_bad_arguments_by_name() -> None:
    life = started()
    with pytest.raises(runstate.InvalidArgument, match="text"):
        rr.add_output_text(life[-1], "x", now=T0 + 2)  # no item yet
    call = {"id": "fc_1", "type": "function_call", "arguments": "", "call_id": "c", "name": "f"}
    with_call = rr.add_output_item(life[-1], call, now=T0 + 2)
    with pytest.raises(runstate.InvalidArgument, match="text"):
        rr.add_output_text(with_call, "x", now=T0 + 2)  # the last item is no message
    opened = rr.add_output_item(life[-1], message(), now=T0 + 2)
    with pytest.raises(runstate.InvalidArgument, match="text"):
        rr.add_output_text(opened, b"x", now=T0 + 2)  # type: ignore[arg-type]
    assert rr.add_output_text(opened, "", now=T0 + 2) is opened
    for bad in (
        {"type": "message", "content": "text"},
        {"type": "message", "content": [{"type": "output_text", "text": 1}]},
        {"type": "message", "content": ["part"]},
    ):
        with pytest.raises(runstate.InvalidArgument, match=r"item\.content"):
            rr.add_output_item(life[-1], bad, now=T0 + 2)
    for bad in ({"no": "type"}, "message", None):
        with pytest.raises(runstate.InvalidArgument, match="item"):
            rr.add_output_item(life[-1], bad, now=T0 + 2)  # type: ignore[arg-type]
    # A message without content (parsed from elsewhere) gets no text.
    bare = attrs.evolve(life[-1], output=[{"id": "m", "type": "message"}])
    with pytest.raises(runstate.InvalidArgument, match="text"):
        rr.add_output_text(bare, "x", now=T0 + 2)
    # A last part that is not output_text: the text opens a new one.
    refusal = message()
    refusal["content"] = [{"type": "refusal", "refusal": "no"}]
    r = rr.add_output_text(rr.add_output_item(life[-1], refusal, now=T0 + 2), "y", now=T0 + 2)
    assert [p["type"] for p in r.output[0]["content"]] == ["refusal", "output_text"]


def test_the_continuation_rule_item_by_item() -> None:
    call = {"id": "fc_1", "type": "function_call", "arguments": '{"a"'}
    assert continuation_problem([call], [{**call, "arguments": '{"a": 1}'}]) is None
    assert "arguments" in str(continuation_problem([call], [{**call, "arguments": "{}"}]))
    assert "type changed" in str(continuation_problem([call], [{**call, "type": "message"}]))
    assert "id changed" in str(continuation_problem([call], [{**call, "id": "fc_2"}]))
    assert "no longer an object" in str(continuation_problem([call], ["x"]))
    assert continuation_problem(["x"], ["x"]) is None
    assert continuation_problem(["x"], ["y"]) == "output[0] changed"
    two = message("ab")
    two["content"].append({"type": "refusal", "refusal": "no"})
    assert "lost parts" in str(continuation_problem([two], [message("ab")]))
    other = message("ab")
    other["content"][0] = {"type": "refusal", "refusal": "ab"}
    assert "type changed" in str(continuation_problem([message("ab")], [other]))
    odd = {**message(), "content": ["raw"]}
    assert continuation_problem([odd], [odd]) is None
    assert (
        continuation_problem([odd], [{**odd, "content": ["other"]}])
        == "output[0].content[0] changed"
    )
    assert continuation_problem([{"type": "message", "id": "m"}], [message(id="m")]) is None
    assert continuation_problem([message("a")], []) == "has 0 items where 1 were streamed"


def test_items_without_a_status_and_other_events_inside_a_part() -> None:
    life = started()
    bare = {"id": "rs_1", "type": "reasoning", "summary": []}  # no status key
    life.append(rr.add_output_item(life[-1], bare, now=T0 + 2))
    life.append(rr.add_output_item(life[-1], message(), now=T0 + 2))
    assert life[-1].output[0] == bare  # closed as it was: nothing to mark
    life.append(rr.add_output_text(life[-1], "ab", now=T0 + 2))
    final = [bare, message("ab", "completed")]
    life.append(rr.complete(life[-1], output=final, usage=USAGE, now=T0 + 3))
    events = life_events(life)
    assert rules(events) == []
    at = next(i for i, e in enumerate(events) if e["type"] == "response.output_text.done")
    where = {k: events[at][k] for k in ("item_id", "output_index", "content_index")}
    other = {"type": "response.output_text.annotation.added", **where, "annotation": {}}
    odd_done = {"type": "response.content_part.done", **where, "part": {"type": "refusal"}}
    spliced = [*events[:at], other, odd_done, *events[at + 2 :]]
    spliced = [{**e, "sequence_number": n} for n, e in enumerate(spliced)]
    assert rules(spliced) == []  # neither carries the part's text: nothing to compare


def test_add_output_item_names_the_item_argument_for_every_bad_item() -> None:
    """Review: a bad item was refused as ``output[0]`` or ``output``, not as ``item``."""
    life = started()
    for bad in ({"no": "type"}, "message", None, {"type": 5}, {"type": "x", 1: 2}):
        with pytest.raises(runstate.InvalidArgument) as caught:
            rr.add_output_item(life[-1], bad, now=T0 + 2)  # type: ignore[arg-type]
        assert caught.value.argument == "item", caught.value
    with pytest.raises(runstate.InvalidArgument) as caught:
        rr.add_output_item(life[-1], {"type": "message", "content": [], "x": float("nan")}, now=T0)
    assert caught.value.argument == "item"


def test_a_function_call_item_with_arguments_that_are_no_string() -> None:
    """Review: such an item was written, then ``stream_events`` raised a raw TypeError."""
    life = started()
    call = {"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f", "arguments": 5}
    with pytest.raises(runstate.InvalidArgument) as caught:
        rr.add_output_item(life[-1], call, now=T0 + 2)
    assert caught.value.argument == "item.arguments"
    # Given whole to complete (no check there), streaming it is one InvalidArgument.
    done = rr.complete(life[-1], output=[call], usage=USAGE, now=T0 + 3)
    with pytest.raises(runstate.InvalidArgument, match=r"output\[0\]"):
        rr.stream_events(life[-1], done, sequence_start=3)


def test_an_item_whose_id_repeats_an_earlier_item_is_refused() -> None:
    """Review: two output items with one id were written (and streamed) without a word."""
    life = written("Hi")
    with pytest.raises(runstate.InvalidArgument) as caught:
        rr.add_output_item(life[-1], message(), now=T0 + 2)
    assert caught.value.argument == "item.id"
    # Items without an id, and a new id, are fine.
    call = {"type": "function_call", "call_id": "c", "name": "f", "arguments": ""}
    r = rr.add_output_item(rr.add_output_item(life[-1], call, now=T0 + 2), call, now=T0 + 2)
    r = rr.add_output_item(r, message(id="msg_2"), now=T0 + 2)
    assert [item.get("id") for item in r.output] == ["msg_1", None, None, "msg_2"]


def _texts(events: list[dict[str, Any]]) -> dict[tuple[int, int], str]:
    sent: dict[tuple[int, int], str] = {}
    for e in events:
        if e["type"] == "response.output_text.delta":
            key = (e["output_index"], e["content_index"])
            sent[key] = sent.get(key, "") + e["delta"]
    return sent


@given(response_lives(), st.data())
def test_writes_streamed_several_at_a_time_give_the_same_texts(
    life: tuple[rr.Response, ...], data: st.DataObject
) -> None:
    """A streamer that looks less often (a poll between writes, a flush per batch) sends
    ``stream_events`` between snapshots several writes apart: the same texts, a clean
    trace, and every cut of it resumes."""
    kept = [
        r
        for i, r in enumerate(life)
        if i in (0, len(life) - 1)
        or r.status is not life[i + 1].status
        or r.status is not life[i - 1].status
        or data.draw(st.booleans())
    ]
    coarse = life_events(kept)
    assert rr.check_trace(coarse, mode="stream").ok, rr.check_trace(coarse, mode="stream")
    assert _texts(coarse) == _texts(life_events(life))
    for n in range(len(coarse) - 1):
        assert coarse[: n + 1] + list(rr.replay(coarse, n)) == coarse
        assert rr.check_trace(rr.replay(coarse, n), mode="stream").ok


@pytest.mark.parametrize("end", ["complete", "cancel", "fail", "mark_incomplete"])
def test_every_trace_a_worker_can_write_is_clean_and_every_corruption_is_caught(end: str) -> None:
    """A call streamed, then a message written with an empty write among the pieces and a
    second message, then each end (a cancel or a failure mid-item included): clean in
    both modes. Then each corruption of the stream: a delta lost, repeated or swapped, a
    done text that disagrees, a delta after its item closed."""
    call = {"id": "fc_1", "type": "function_call", "call_id": "c", "name": "f",
            "arguments": "", "status": "in_progress"}  # fmt: skip
    life = started()
    life.append(rr.add_output_item(life[-1], call, now=T0 + 2))
    life.append(rr.add_output_item(life[-1], message(), now=T0 + 2))
    for piece in ("", "he", "llo"):
        life.append(rr.add_output_text(life[-1], piece, now=T0 + 2))
    life.append(rr.add_output_item(life[-1], message(id="msg_2"), now=T0 + 2))
    life.append(rr.add_output_text(life[-1], "x", now=T0 + 2))
    last, now = life[-1], T0 + 3
    if end == "complete":
        out = [*last.output[:-1], message("xyz", "completed", id="msg_2")]
        life.append(rr.complete(last, output=out, usage=USAGE, now=now))
    elif end == "mark_incomplete":
        out = [*last.output[:-1], message("xy", "incomplete", id="msg_2")]
        life.append(rr.mark_incomplete(last, "max_output_tokens", output=out, usage=USAGE, now=now))
    elif end == "cancel":
        life.append(rr.cancel(last, now=now))
    else:
        life.append(rr.fail(last, {"code": "server_error", "message": "x"}, now=now))
    events = life_events(life)
    assert rules(events) == [] and rules(life, mode="poll") == []
    for event in events:
        assert EVENTS.validate_python(event).type == event["type"]
    at = [i for i, e in enumerate(events) if e["type"] == "response.output_text.delta"]
    assert len(at) == 3 + (end == "complete") + (end == "mark_incomplete")

    def renumbered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**e, "sequence_number": n} for n, e in enumerate(items)]

    swapped = list(events)
    swapped[at[0]], swapped[at[1]] = swapped[at[1]], swapped[at[0]]
    corrupted = [
        renumbered(events[: at[0]] + events[at[0] + 1 :]),  # lost
        renumbered(events[: at[0] + 1] + events[at[0] :]),  # repeated
        renumbered(swapped),  # reordered
    ]
    for bad in corrupted:
        assert "text-mismatch" in rules(bad)
    closed = next(i for i, e in enumerate(events) if e["type"] == "response.output_item.done"
                  and e["output_index"] == 1)  # fmt: skip
    late = renumbered([*events[: closed + 1], events[at[0]], *events[closed + 1 :]])
    assert "item-not-open" in rules(late)
    disagrees = [
        {**e, "text": "nope"} if e["type"] == "response.output_text.done" else e for e in events
    ]
    assert "text-mismatch" in rules(disagrees)
