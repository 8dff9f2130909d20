"""runstate.responses under hostile use: wrong types, huge values, bad queries (review of issue 20).

Each test pins a defect found by an adversarial review: before its fix the call raised a
raw ``TypeError``/``ValueError``/``AttributeError``/``KeyError``, accepted a wrong value,
or echoed client input unbounded or with a raw lone surrogate.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import pytest
from responses_helpers import USAGE, life_events

import runstate
from runstate import responses as rr
from runstate._errors import MAX_ID_ECHO
from runstate.responses import ResponseStatus as S


def queued() -> rr.Response:
    return rr.new_response(id="resp_1", model="m", now=10, background=True)


def started() -> rr.Response:
    return rr.start(queued(), now=11)


class _Broken(Mapping[str, Any]):
    """A mapping whose every read raises."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("hostile")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("hostile")

    def __len__(self) -> int:
        raise RuntimeError("hostile")


# -- new_response and the operations


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("tools", 5),
        ("tools", None),
        ("tools", "abc"),  # read as ['a', 'b', 'c'] before
        ("tools", {"type": "function"}),
        ("instructions", 5),
        ("max_output_tokens", "20"),
        ("max_output_tokens", True),
        ("metadata", ["a"]),
        ("previous_response_id", 5),
    ],
)
def test_new_response_refuses_wrong_typed_parameters(name: str, value: Any) -> None:
    with pytest.raises(runstate.InvalidArgument) as info:
        rr.new_response(id="r", model="m", now=1, **{name: value})
    assert info.value.argument == name


@pytest.mark.parametrize("now", [10**5000, -(10**5000)], ids=["huge", "huge-negative"])
@pytest.mark.parametrize(
    "call",
    [
        lambda now: rr.new_response(id="r", model="m", now=now),
        lambda now: rr.start(queued(), now=now),
        lambda now: rr.cancel(started(), now=now),
        lambda now: rr.complete(started(), output=[], usage=USAGE, now=now),
        lambda now: rr.parse_retrieve_query("stream=true").check(queued(), now=now),
    ],
)
def test_now_past_the_int_limit_is_an_invalid_argument(call: Any, now: int) -> None:
    """The run's one rule for ``now`` (a huge negative one raised ValueError in a message)."""
    with pytest.raises(runstate.InvalidArgument) as info:
        call(now)
    assert info.value.argument == "now"


def test_a_request_with_null_tools_makes_a_response() -> None:
    """``tools: null`` in the body raised TypeError in CreateResponse.new_response."""
    req = rr.parse_create_response({"model": "m", "tools": None, "metadata": None})
    r = req.new_response(id="resp_1", now=1)
    assert r.tools == [] and r.metadata == {}


# -- lookups, events, dumps


@pytest.mark.parametrize("fn", [rr.can_transition, rr.can_reach])
@pytest.mark.parametrize("bad", [5, "queued", {"a"}, None, runstate.RunStatus.QUEUED])
def test_table_lookups_refuse_what_is_not_a_status(fn: Any, bad: Any) -> None:
    with pytest.raises(runstate.InvalidArgument, match="a ResponseStatus") as info:
        fn(bad, S.QUEUED)
    assert info.value.argument == "source"
    with pytest.raises(runstate.InvalidArgument) as info:
        fn(S.QUEUED, bad)
    assert info.value.argument == "target"
    assert fn(S.QUEUED, S.IN_PROGRESS) is True


@pytest.mark.parametrize("bad", [5, "queued", None, runstate.RunStatus.QUEUED])
def test_response_event_refuses_what_is_not_a_status(bad: Any) -> None:
    with pytest.raises(runstate.InvalidArgument):
        rr.response_event(bad)


@pytest.mark.parametrize("bad", [5, None, {"id": "r"}, runstate.RunStatus.QUEUED])
def test_dump_response_refuses_what_is_not_a_response(bad: Any) -> None:
    with pytest.raises(runstate.InvalidArgument) as info:
        rr.dump_response(bad)
    assert info.value.argument == "response"


def test_stream_events_names_a_wrong_before() -> None:
    with pytest.raises(runstate.InvalidArgument) as info:
        rr.stream_events(5, started(), sequence_start=0)  # type: ignore[arg-type]
    assert info.value.argument == "before"


# -- replay and the trace checker


@pytest.mark.parametrize("events", [None, 5, "abc", b"{}", {"sequence_number": 1}])
def test_replay_refuses_events_that_are_no_list_of_events(events: Any) -> None:
    with pytest.raises(runstate.InvalidArgument) as info:
        rr.replay(events, 0)
    assert info.value.argument == "events"


@pytest.mark.parametrize("event", ["{", b"[1", "[DONE]"])
def test_replay_refuses_text_that_is_no_event_with_invalid_argument(event: Any) -> None:
    """Its documented error (was InvalidRun for text that is not JSON)."""
    with pytest.raises(runstate.InvalidArgument):
        rr.replay([event], 0)


def test_check_trace_refuses_a_bad_mode_with_invalid_argument() -> None:
    with pytest.raises(runstate.InvalidArgument) as info:
        rr.check_trace([], mode="streams")  # type: ignore[arg-type]
    assert info.value.argument == "mode"


def test_the_trace_checker_refuses_feed_after_close() -> None:
    checker = rr.ResponseTraceChecker(mode="poll")
    assert checker.feed(queued()) == ()
    assert checker.close() == ()
    assert checker.close() == ()
    with pytest.raises(runstate.InvalidArgument):
        checker.feed(queued())
    stream = rr.ResponseTraceChecker(mode="stream")
    assert [p.rule for p in stream.close()] == ["truncated-stream"]
    assert stream.close() == ()


def test_a_done_sentinel_as_bytes_is_named() -> None:
    events: list[Any] = life_events([queued(), started()])
    report = rr.check_trace([*events, b"[DONE]"], mode="stream")
    assert "done-sentinel" in [p.rule for p in report.problems]


# -- echoes


def test_not_found_bounds_and_escapes_the_id() -> None:
    err = rr.not_found("x" * 100_000)
    assert len(err.message) < MAX_ID_ECHO + 50
    err = rr.not_found("resp_\ud800")
    assert err.message == "Response with id 'resp_\\ud800' not found."
    err.message.encode("utf-8")
    assert rr.not_found("resp_1").message == "Response with id 'resp_1' not found."
    with pytest.raises(runstate.InvalidArgument):
        rr.not_found(10**5000)  # type: ignore[arg-type]


def test_the_run_not_found_escapes_a_lone_surrogate_too() -> None:
    err = runstate.not_found("run", "run_\ud800")
    assert err.message == "No run found with id 'run_\\ud800'."
    json.dumps(err.to_api_error(), ensure_ascii=False).encode("utf-8")


# -- the retrieve query and the request values


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1), ("+1", 1), ("0001", 1), ("0", 0), ("9" * 5000, 10**60), (" 2 ", 2)],
    ids=["1", "plus", "zeros", "0", "5000-digits", "spaces"],
)
def test_starting_after_text_is_read_like_the_list_limit(text: str, expected: int) -> None:
    """Any length, sign or leading zeros (5,000 digits raised ValueError)."""
    query = rr.parse_retrieve_query({"starting_after": text})
    assert query.starting_after == expected
    events = life_events([queued(), started()])
    assert rr.replay(events, query.starting_after) == tuple(events[expected + 1 :])


@pytest.mark.parametrize(
    "text", ["-1", "-0001", "-" + "9" * 5000], ids=["-1", "zeros", "5000-digits"]
)
def test_a_negative_starting_after_is_below_the_minimum(text: str) -> None:
    with pytest.raises(runstate.InvalidRequest) as info:
        rr.parse_retrieve_query(f"starting_after={text}")
    assert info.value.code == "integer_below_min_value"
    assert len(info.value.message) < 200


@pytest.mark.parametrize(
    "value", [1, 0, 1.0, 10**5000, [True]], ids=["1", "0", "1.0", "huge", "list"]
)
def test_stream_must_be_true_or_false_not_one(value: Any) -> None:
    """``1 == True``: {"stream": 1} read as stream=true; 10**5000 raised ValueError."""
    with pytest.raises(runstate.InvalidRequest) as info:
        rr.parse_retrieve_query({"stream": value})
    assert info.value.param == "stream"


def test_stream_null_is_not_given() -> None:
    assert rr.parse_retrieve_query({"stream": None}) == rr.RetrieveQuery()
    assert rr.parse_retrieve_query({"stream": True, "starting_after": 10**5000}) == (
        rr.RetrieveQuery(stream=True, starting_after=10**60)
    )


def test_a_broken_query_mapping_is_an_invalid_argument() -> None:
    with pytest.raises(runstate.InvalidArgument):
        rr.parse_retrieve_query(_Broken())
    with pytest.raises(runstate.InvalidArgument):
        runstate.parse_list_runs(_Broken())


@pytest.mark.parametrize(
    "kwargs",
    [{"stream": "yes"}, {"stream": 1}, {"starting_after": -1}, {"starting_after": "1"},
     {"starting_after": True}],
)  # fmt: skip
def test_a_hand_built_retrieve_query_is_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(runstate.InvalidArgument):
        rr.RetrieveQuery(**kwargs)


@pytest.mark.parametrize(
    "change",
    [{"model": 5}, {"background": "x"}, {"store": None}, {"stream": 1}, {"params": [1]}],
)
def test_a_hand_built_create_request_is_checked(change: dict[str, Any]) -> None:
    fields: dict[str, Any] = {
        "model": "m", "background": False, "store": True, "stream": False, "params": {}
    }  # fmt: skip
    rr.CreateResponse(**fields)
    with pytest.raises(runstate.InvalidArgument):
        rr.CreateResponse(**{**fields, **change})


@pytest.mark.parametrize("args", [("x", {}), (queued(), {"created_with_stream": "no"})])
def test_retrieve_check_refuses_wrong_types(args: tuple[Any, dict[str, Any]]) -> None:
    response, kwargs = args
    with pytest.raises(runstate.InvalidArgument):
        rr.RetrieveQuery(stream=True).check(response, now=20, **kwargs)


# -- the trace checker and a divergence the issue names


def test_a_cancelled_synchronous_response_is_a_violation() -> None:
    """SGLang accepted cancel of a synchronous response (issue 20): check_trace passed it."""
    sync = rr.new_response(id="resp_1", model="m", now=1)
    cancelled = attrs.evolve(sync, status=S.CANCELLED)
    assert [v.rule for v in rr.violations(cancelled)] == ["cancelled-synchronous"]
    assert [p.rule for p in rr.check_trace([sync, cancelled]).problems] == ["cancelled-synchronous"]
    events = [
        *rr.stream_events(None, sync, sequence_start=0),
        {"type": "response.failed", "sequence_number": 2, "response": rr.dump_response(cancelled)},
    ]
    assert [p.rule for p in rr.check_trace(events, mode="stream").problems] == [
        "cancelled-synchronous"
    ]
    # A background response cancelled, and an older object without the key, are fine.
    assert rr.violations(rr.cancel(queued(), now=11)) == ()
    assert rr.violations(attrs.evolve(cancelled, background=None)) == ()


def test_trace_problems_do_not_echo_a_huge_event_type() -> None:
    """The run's trace checker clips what it echoes; this one showed 100 kB types whole."""
    kind = "response." + "x" * 100_000
    events = [
        {"type": kind, "sequence_number": 0},
        ("e" * 1000, {"type": kind, "sequence_number": 1}),
        *life_events([queued()])[:1],
    ]
    events[-1] = {**events[-1], "sequence_number": 2}
    done = rr.stream_events(started(), rr.cancel(started(), now=12), sequence_start=3)
    events += [*done, {**done[0], "type": kind, "sequence_number": 4}]
    problems = rr.check_trace(events, mode="stream").problems
    assert {"created-first", "event-type-mismatch", "after-terminal-event"} <= {
        p.rule for p in problems
    }
    assert max(len(p.message) for p in problems) < 1000, problems


@pytest.mark.parametrize(
    "error", [{"code": 5, "message": "m"}, {"code": "c", "message": "m", "x": 1}, {"code": "c"}]
)
def test_fail_names_a_response_not_a_run(error: dict[str, Any]) -> None:
    """InvalidResponse said "invalid run: ... invalid run: ..." for a bad error object."""
    with pytest.raises(rr.InvalidResponse) as info:
        rr.fail(started(), error, now=12)
    assert str(info.value).startswith("invalid response") and "run" not in str(info.value)
