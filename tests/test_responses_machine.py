"""The response machine: its table, every operation in every status, refusals and requests."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from responses_helpers import USAGE

import runstate
from runstate import responses as rr
from runstate.responses import ResponseStatus as S

T0 = 1_758_064_441
MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "status": "completed",
    "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": "Hi"}],
    "role": "assistant",
}
ERROR = {"code": "server_error", "message": "boom"}


def in_status(status: S, *, background: bool = True) -> rr.Response:
    """A response in ``status``, reached by the operations themselves."""
    r = rr.new_response(id="resp_1", model="gpt-4.1-mini", now=T0, background=background)
    if status is S.QUEUED:
        assert background
        return r
    if background:
        r = rr.start(r, now=T0 + 1)
    moves = {
        S.IN_PROGRESS: lambda r: r,
        S.COMPLETED: lambda r: rr.complete(r, output=[MESSAGE], usage=USAGE, now=T0 + 2),
        S.FAILED: lambda r: rr.fail(r, ERROR, now=T0 + 2),
        S.INCOMPLETE: lambda r: rr.mark_incomplete(
            r, "max_output_tokens", output=[MESSAGE], usage=USAGE, now=T0 + 2
        ),
        S.CANCELLED: lambda r: rr.cancel(r, now=T0 + 2),
    }
    return moves[status](r)  # type: ignore[no-untyped-call]


# An independently typed copy of the table and of §12.3: (status, operation) -> outcome.
# "-> x": moves to x; "=": answered unchanged; "400 text" / "404": refused by the API;
# "worker: reason": a worker move refused with that reason; "ok": delete allowed.
GRID: dict[tuple[str, str], str] = {
    ("queued", "start"): "-> in_progress",
    ("queued", "complete"): "worker: illegal-transition",
    ("queued", "fail"): "-> failed",
    ("queued", "mark_incomplete"): "worker: illegal-transition",
    ("queued", "cancel"): "-> cancelled",
    ("queued", "delete"): "400 Cannot delete an in-flight response.",
    ("in_progress", "start"): "worker: illegal-transition",
    ("in_progress", "complete"): "-> completed",
    ("in_progress", "fail"): "-> failed",
    ("in_progress", "mark_incomplete"): "-> incomplete",
    ("in_progress", "cancel"): "-> cancelled",
    ("in_progress", "delete"): "400 Cannot delete an in-flight response.",
    ("completed", "start"): "worker: response-terminal",
    ("completed", "complete"): "worker: response-terminal",
    ("completed", "fail"): "worker: response-terminal",
    ("completed", "mark_incomplete"): "worker: response-terminal",
    ("completed", "cancel"): "400 Cannot cancel a completed response.",
    ("completed", "delete"): "ok",
    ("failed", "start"): "worker: response-terminal",
    ("failed", "complete"): "worker: response-terminal",
    ("failed", "fail"): "worker: response-terminal",
    ("failed", "mark_incomplete"): "worker: response-terminal",
    ("failed", "cancel"): "400 Cannot cancel a failed response.",
    ("failed", "delete"): "ok",
    ("incomplete", "start"): "worker: response-terminal",
    ("incomplete", "complete"): "worker: response-terminal",
    ("incomplete", "fail"): "worker: response-terminal",
    ("incomplete", "mark_incomplete"): "worker: response-terminal",
    ("incomplete", "cancel"): "400 Cannot cancel an incomplete response.",
    ("incomplete", "delete"): "ok",
    ("cancelled", "start"): "worker: response-terminal",
    ("cancelled", "complete"): "worker: cancel-won",
    ("cancelled", "fail"): "worker: cancel-won",
    ("cancelled", "mark_incomplete"): "worker: cancel-won",
    ("cancelled", "cancel"): "=",
    ("cancelled", "delete"): "ok",
}
OPERATIONS = ("start", "complete", "fail", "mark_incomplete", "cancel", "delete")


def run_op(r: rr.Response, op: str) -> Any:
    now = T0 + 5
    calls = {
        "start": lambda: rr.start(r, now=now),
        "complete": lambda: rr.complete(r, output=[MESSAGE], usage=USAGE, now=now),
        "fail": lambda: rr.fail(r, ERROR, now=now),
        "mark_incomplete": lambda: rr.mark_incomplete(r, "content_filter", usage=USAGE, now=now),
        "cancel": lambda: rr.cancel(r, now=now),
        "delete": lambda: rr.ensure_can_delete(r),
    }
    return calls[op]()


def outcome(r: rr.Response, op: str) -> str:
    try:
        result = run_op(r, op)
    except rr.ResponseTransitionError as exc:
        return f"worker: {exc.reason}"
    except runstate.APIError as exc:
        return f"{exc.http_status} {exc.message}"
    if result is None:
        return "ok"
    if result is r:
        return "="
    assert rr.violations(result) == ()
    return f"-> {result.status.value}"


def test_the_grid_covers_every_status_and_operation() -> None:
    assert set(GRID) == {(s.value, op) for s in S for op in OPERATIONS}


@pytest.mark.parametrize(("status", "op"), sorted(GRID))
def test_grid(status: str, op: str) -> None:
    assert outcome(in_status(S(status)), op) == GRID[(status, op)]


def test_the_table_agrees_with_the_grid() -> None:
    moves = {(s, e.split(" ")[1]) for (s, _), e in GRID.items() if e.startswith("-> ")}
    assert moves == {(e.source.value, e.target.value) for e in rr.TABLE}
    for edge in rr.TABLE:
        assert GRID[(edge.source.value, edge.operation if edge.operation != "cancel" else "cancel")]
        assert edge.confidence in ("H", "M", "L")
        assert set(edge.evidence) <= {"OBS", "SDK", "AZ", "inferred"}
        # Confidence follows from evidence: H recorded, M one strong source, L inferred.
        expected = "H" if "OBS" in edge.evidence else "L" if edge.evidence == ("inferred",) else "M"
        assert edge.confidence == expected, edge


@pytest.mark.parametrize("status", [S.IN_PROGRESS, S.COMPLETED, S.FAILED, S.INCOMPLETE])
def test_a_synchronous_response_is_refused_before_its_status(status: S) -> None:
    r = in_status(status, background=False)
    err = rr.check_cancel(r)
    assert isinstance(err, rr.CancelRefused)
    assert err.reason == "synchronous-response"
    assert err.to_api_error() == {
        "error": {
            "message": "Cannot cancel a synchronous response.",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    with pytest.raises(rr.CancelRefused) as info:
        rr.cancel(r, now=T0 + 9)
    assert info.value == err


def test_refusal_reasons_are_stable_kebab_case() -> None:
    found = {
        rr.check_cancel(in_status(s)).reason  # type: ignore[union-attr]
        for s in (S.COMPLETED, S.FAILED, S.INCOMPLETE)
    }
    assert found == {"response-completed", "response-failed", "response-incomplete"}
    assert all(issubclass(c, runstate.APIError) for c in (rr.CancelRefused, rr.DeleteRefused))
    assert issubclass(rr.ResponseNotFound, runstate.NotFound)
    assert issubclass(rr.InvalidResponse, runstate.InvalidRun)


def test_check_cancel_never_raises() -> None:
    for bad in (None, 1, "resp_1", {"status": "queued"}):
        assert isinstance(rr.check_cancel(bad), rr.ResponseNotFound)


def test_cancel_empties_output_and_usage() -> None:
    r = in_status(S.IN_PROGRESS)
    r = attrs.evolve(r, output=[MESSAGE])  # partial output while in progress
    done = rr.cancel(r, now=T0 + 3)
    assert (done.status, done.output, done.usage, done.error) == (S.CANCELLED, [], None, None)
    assert rr.cancel(done, now=T0 + 4) is done


class TestTheCancelRace:
    """A worker finishing while a cancel lands (CANCEL_RACE): both orders."""

    def test_the_race_is_stated_with_its_confidence(self) -> None:
        assert rr.CANCEL_RACE.winner == "cancel"
        assert rr.CANCEL_RACE.confidence == "M"
        assert rr.CANCEL_RACE.evidence == ("AZ",)
        assert "3P" in rr.CANCEL_RACE.contrary

    def test_cancel_first_wins(self) -> None:
        cancelled = rr.cancel(in_status(S.IN_PROGRESS), now=T0 + 2)
        for finish in ("complete", "fail", "mark_incomplete"):
            with pytest.raises(rr.ResponseTransitionError) as info:
                run_op(cancelled, finish)
            assert info.value.reason == "cancel-won"
        assert cancelled.status is S.CANCELLED  # unchanged: the cancel stands

    def test_worker_first_wins(self) -> None:
        done = in_status(S.COMPLETED)
        with pytest.raises(rr.CancelRefused) as info:
            rr.cancel(done, now=T0 + 3)
        assert info.value.message == "Cannot cancel a completed response."


def test_not_found_is_the_recorded_text() -> None:
    err = rr.not_found("resp_x")
    assert err.http_status == 404
    assert err.message == "Response with id 'resp_x' not found."
    assert err.reason == "not-found"


def test_delete_of_unstored_or_inflight_synchronous_is_not_found() -> None:
    with pytest.raises(rr.ResponseNotFound):
        rr.ensure_can_delete(in_status(S.IN_PROGRESS, background=False))
    unstored = rr.new_response(id="resp_2", model="m", now=T0, store=False)
    with pytest.raises(rr.ResponseNotFound):
        rr.ensure_can_delete(rr.complete(unstored, output=[], usage=USAGE, now=T0))
    assert rr.deleted(in_status(S.COMPLETED)) == {
        "id": "resp_1",
        "object": "response.deleted",
        "deleted": True,
    }


def test_new_response_starts_where_the_api_does() -> None:
    assert rr.new_response(id="r", model="m", now=1, background=True).status is S.QUEUED
    assert rr.new_response(id="r", model="m", now=1).status is S.IN_PROGRESS
    with pytest.raises(rr.InvalidResponseRequest) as info:
        rr.new_response(id="r", model="m", now=1, background=True, store=False)
    assert (info.value.param, info.value.code) == ("background", "unsupported_parameter")
    for bad in ({"id": 1}, {"model": None}, {"now": 1.5}, {"background": 1}, {"store": "no"}):
        kwargs: dict[str, Any] = {"id": "r", "model": "m", "now": 1, **bad}
        with pytest.raises(runstate.InvalidArgument):
            rr.new_response(**kwargs)
    r = rr.new_response(
        id="r", model="m", now=1, instructions="be brief", metadata={"k": "v"},
        tools=({"type": "function", "name": "f", "parameters": {}},), max_output_tokens=20,
    )  # fmt: skip
    assert (r.instructions, r.metadata["k"], r.tools[0]["name"], r.max_output_tokens) == (
        "be brief", "v", "f", 20,
    )  # fmt: skip
    with pytest.raises(runstate.InvalidArgument):
        rr.new_response(id="r", model="m", now=1, metadata=[1])  # type: ignore[arg-type]
    with pytest.raises(runstate.InvalidArgument):
        rr.new_response(id="r", model="m", now=1, tools=[float("nan")])  # type: ignore[list-item]


def test_operations_check_their_arguments() -> None:
    r = in_status(S.IN_PROGRESS)
    with pytest.raises(runstate.InvalidArgument):
        rr.start("resp", now=1)  # type: ignore[arg-type]
    with pytest.raises(runstate.InvalidArgument):
        rr.complete(r, output=[], usage=USAGE, now="later")  # type: ignore[arg-type]
    with pytest.raises(runstate.ClockWentBackwards):
        rr.complete(r, output=[], usage=USAGE, now=T0 - 1)
    with pytest.raises(runstate.InvalidArgument):
        rr.complete(r, output=[], usage=[1], now=T0 + 3)  # type: ignore[arg-type]
    with pytest.raises(runstate.InvalidArgument):
        rr.mark_incomplete(r, "tired", usage=USAGE, now=T0 + 3)  # type: ignore[arg-type]
    for error in (
        {"code": "x"},
        {"code": 1, "message": "m"},
        {"code": "c", "message": "m", "t": 1},
    ):
        with pytest.raises(rr.InvalidResponse):
            rr.fail(r, error, now=T0 + 3)  # type: ignore[arg-type]
    with pytest.raises(runstate.InvalidArgument):
        rr.violations({"status": "queued"})  # type: ignore[arg-type]


def test_complete_leaves_out_completed_at_where_the_object_lacks_it() -> None:
    old = rr.parse_response(
        {"id": "r", "object": "response", "created_at": 1, "status": "in_progress",
         "background": True, "model": "m", "output": [], "usage": None}
    )  # fmt: skip
    done = rr.complete(old, output=[], usage=USAGE, now=2)
    assert "completed_at" not in rr.dump_response(done)
    assert rr.violations(done) == ()


def test_violations_name_each_rule() -> None:
    r = in_status(S.QUEUED)
    broken = attrs.evolve(
        r, output=[MESSAGE], usage=USAGE, error=rr.ResponseError(code="c", message="m"),
        completed_at=T0 - 1, store=False,
    )  # fmt: skip
    rules = {v.rule for v in rr.violations(broken)}
    assert rules == {"output-empty", "usage", "error", "completed-at", "timestamp-order",
                     "background-store"}  # fmt: skip
    completed = in_status(S.COMPLETED)
    assert [v.rule for v in rr.violations(attrs.evolve(completed, completed_at=None))] == [
        "completed-at"
    ]
    assert [v.rule for v in rr.violations(attrs.evolve(completed, usage=None))] == ["usage"]


# --------------------------------------------------------------------------------------
# Requests: the store x background x stream matrix, and the retrieve query


@pytest.mark.parametrize("store", [True, False, None])
@pytest.mark.parametrize("background", [True, False, None])
@pytest.mark.parametrize("stream", [True, False, None])
def test_the_create_matrix(
    store: bool | None, background: bool | None, stream: bool | None
) -> None:
    body: dict[str, Any] = {"model": "gpt-4.1-mini", "input": "hi"}
    for key, value in (("store", store), ("background", background), ("stream", stream)):
        if value is not None:
            body[key] = value
    if background is True and store is False:
        with pytest.raises(rr.InvalidResponseRequest) as info:
            rr.parse_create_response(body)
        assert info.value.http_status == 400
        assert (info.value.param, info.value.code) == ("background", "unsupported_parameter")
        assert info.value.reason == "unsupported-parameter"
        return
    req = rr.parse_create_response(body)
    assert req.background is bool(background)
    assert req.store is (store is not False)
    assert req.stream is bool(stream)
    assert req.replayable is (bool(background) and bool(stream))
    assert req.params == {"input": "hi"}
    r = rr.new_response(id="r", model="m", now=1, background=req.background, store=req.store)
    assert r.status is (S.QUEUED if req.background else S.IN_PROGRESS)


def test_create_refuses_bad_types_with_the_templates() -> None:
    with pytest.raises(runstate.InvalidRequest) as info:
        rr.parse_create_response('{"stream": "yes"}')
    assert (
        info.value.message
        == "Invalid type for 'stream': expected a boolean, but got a string instead."
    )
    with pytest.raises(runstate.InvalidRequest) as info:
        rr.parse_create_response(b'{"model": 5}')
    assert info.value.param == "model"
    with pytest.raises(runstate.InvalidRequest):
        rr.parse_create_response("[1]")
    assert rr.parse_create_response({}).model is None
    assert rr.parse_create_response({"model": "m"}).params == {}


def test_the_retrieve_query_and_its_replay_preconditions() -> None:
    q = rr.parse_retrieve_query("stream=true&starting_after=1")
    assert (q.stream, q.starting_after) == (True, 1)
    assert rr.parse_retrieve_query({"stream": False}) == rr.RetrieveQuery()
    assert rr.parse_retrieve_query("") == rr.RetrieveQuery()
    assert rr.parse_retrieve_query({"starting_after": 3}).starting_after == 3
    for bad in ("stream=maybe", "starting_after=x", "starting_after=-1", {"starting_after": 1.5}):
        with pytest.raises(runstate.InvalidRequest):
            rr.parse_retrieve_query(bad)
    with pytest.raises(runstate.InvalidArgument):
        rr.parse_retrieve_query(5)  # type: ignore[arg-type]
    background = in_status(S.COMPLETED)
    q.check(background, now=T0 + 300)
    rr.RetrieveQuery().check(in_status(S.COMPLETED, background=False), now=T0 + 10**6)
    with pytest.raises(rr.InvalidResponseRequest) as info:
        q.check(in_status(S.COMPLETED, background=False), now=T0 + 3)
    assert info.value.message == (
        "This response cannot be streamed because it was not created with background=true."
    )
    assert (info.value.param, info.value.reason) == ("stream", "not-streamable")
    with pytest.raises(rr.InvalidResponseRequest) as info:
        q.check(background, now=T0 + 3, created_with_stream=False)
    with pytest.raises(rr.InvalidResponseRequest) as info:
        q.check(background, now=T0 + 301)
    assert info.value.reason == "stream-expired"
    with pytest.raises(runstate.InvalidArgument):
        q.check(background, now=None)  # type: ignore[arg-type]


def test_a_create_request_makes_its_response() -> None:
    body = {"model": "gpt-4.1-mini", "background": True, "instructions": "be brief",
            "max_output_tokens": 20, "metadata": {"k": "v"}, "previous_response_id": "resp_0",
            "tools": [{"type": "function", "name": "f"}], "input": "hi"}  # fmt: skip
    req = rr.parse_create_response(body)
    r = req.new_response(id="resp_1", now=T0, model="gpt-4.1-mini-2025-04-14")
    assert (r.status, r.model, r.instructions, r.max_output_tokens) == (
        S.QUEUED, "gpt-4.1-mini-2025-04-14", "be brief", 20,
    )  # fmt: skip
    assert (r.metadata, r.previous_response_id, r.tools[0]["name"]) == ({"k": "v"}, "resp_0", "f")
    assert (
        rr.parse_create_response({"model": "m"}).new_response(id="r", now=1).status is S.IN_PROGRESS
    )
    with pytest.raises(runstate.InvalidArgument):
        rr.parse_create_response({}).new_response(id="r", now=1)
    for key, bad in (("instructions", 5), ("max_output_tokens", "20"), ("metadata", []),
                     ("tools", {}), ("previous_response_id", 1)):  # fmt: skip
        with pytest.raises(runstate.InvalidRequest) as info:
            rr.parse_create_response({"model": "m", key: bad})
        assert info.value.param == key
        assert info.value.code == "invalid_type"
    assert rr.parse_create_response({"instructions": [{"role": "user"}]}).params["instructions"]
