"""The Responses kit's checks, one answer at a time: what each wrong answer is called.

Each test drives the kit's program (``ResponseConformance``) by hand against the
reference peer bent in one place, and checks the rule and the message the kit reports:
refusals where a success was due, successes where a refusal was, wrong fields, wrong
streams and resumes. A survey would find each of these too; by hand, each case is
exact and quick.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from responses_reference import ReferenceResponses

from runstate import responses as rr
from runstate.testing import DRIVE_KINDS, ConformanceFailure, HttpResponse, ResponseStep
from runstate.testing import _engine as engine
from runstate.testing._response_rules import ResponseOptions
from runstate.testing._responses import ResponseConformance, _short, _terminal_response

Peer = type[ReferenceResponses]


def probe(factory: Peer, *tolerated: str) -> ResponseConformance:
    """A fresh program on ``factory``, tolerating ``tolerated``, as one test case."""
    options = ResponseOptions(factory, frozenset(DRIVE_KINDS), frozenset(tolerated), engine.Tally())
    machine = type("Probe", (ResponseConformance,), {"options": options})
    return machine()


def divergence(call: Callable[..., object], *args: Any) -> ConformanceFailure:
    with pytest.raises(ConformanceFailure) as caught:
        call(*args)
    return caught.value


def name(failure: ConformanceFailure) -> str:
    assert failure.rule is not None
    return failure.rule.name


def bent(method: str, edit: Callable[..., HttpResponse]) -> Peer:
    """The reference peer whose ``method`` answers ``edit(peer, answer, *args)``."""

    def bent_method(self: ReferenceResponses, *args: Any) -> HttpResponse:
        return edit(self, getattr(ReferenceResponses, method)(self, *args), *args)

    return type(f"Bent_{method}", (ReferenceResponses,), {method: bent_method})


def ended(kit: ResponseConformance, kind: str = "complete", *, stream: bool = True) -> str:
    """Create a background response and end it (``kind``); its id."""
    kit.create(stream=stream)
    kit.drive_start()
    if kind == "complete":
        kit.drive_complete()
    else:
        kit.drive_end(kind)  # type: ignore[arg-type]
    assert kit.latest is not None
    return kit.latest


def as_status(answer: HttpResponse, status: int) -> HttpResponse:
    return HttpResponse(status, answer.body)


# --------------------------------------------------------------------------------------
# create


def test_a_refused_create_is_named_with_what_was_due() -> None:
    kit = probe(bent("create", lambda _, a, r: HttpResponse(503, {"error": {"message": "busy"}})))
    failure = divergence(kit.create, False)
    assert name(failure) == "create-refused"
    assert "expected 200 status 'queued', got 503" in failure.problem


def test_a_create_that_is_not_a_response_is_invalid() -> None:
    kit = probe(bent("create", lambda _, a, r: HttpResponse(200, {"id": "resp_x"})))
    failure = divergence(kit.create_synchronous)
    assert name(failure) == "invalid-response"
    assert "expected 200 and an ended response" in failure.problem
    assert "not a response:" in failure.problem
    kit = probe(bent("create", lambda _, a, r: HttpResponse(200, "created")))
    failure = divergence(kit.create, True)
    assert name(failure) == "invalid-response"
    assert 'got 200 "created", not a response:' in failure.problem


def test_a_create_answered_201_is_create_status() -> None:
    kit = probe(bent("create", lambda _, a, r: as_status(a, 201)))
    failure = divergence(kit.create, False)
    assert name(failure) == "create-status"
    assert failure.problem.endswith("(not 200)")


def test_a_create_that_returns_an_old_response_is_create_fields() -> None:
    class Stuck(ReferenceResponses):
        def create(self, request: Any) -> HttpResponse:
            answer = super().create(request)
            return self.retrieve("resp_1") if self.count > 1 else answer

    kit = probe(Stuck)
    kit.create(stream=False)
    failure = divergence(kit.create, False)
    assert name(failure) == "create-fields"
    assert "expected a new response, got the id 'resp_1'" in failure.problem


def test_a_background_create_with_a_completion_stamp_is_create_fields() -> None:
    def stamped(_: object, answer: HttpResponse, request: Any) -> HttpResponse:
        return HttpResponse(200, {**answer.body, "completed_at": 1_800_000_009})

    kit = probe(bent("create", stamped), "create-fields")
    kit.create(stream=False)  # tolerated: counted, and the response leaves the table
    assert kit.tally.seen["create-fields"] == 1
    assert kit.latest in kit.off_table
    failure = divergence(probe(bent("create", stamped)).create, False)
    assert "completed_at: expected null, got 1800000009" in failure.problem


def test_a_synchronous_create_answered_in_flight_is_create_fields() -> None:
    class Early(ReferenceResponses):
        def create(self, request: Any) -> HttpResponse:
            return super().create({**request, "background": True})

    failure = divergence(probe(Early).create_synchronous)
    assert name(failure) == "create-fields"
    assert "status: expected an ended response, got 'queued'" in failure.problem
    assert "background: expected false, got true" in failure.problem


# --------------------------------------------------------------------------------------
# retrieve, and the per-status rules


def test_a_refused_retrieve_is_retrieve_refused() -> None:
    kit = probe(bent("retrieve", lambda _, a, i: HttpResponse(500, "oops")))
    kit.create(stream=False)
    failure = divergence(kit.retrieve)
    assert name(failure) == "retrieve-refused"
    assert 'got 500 "oops"' in failure.problem


def test_a_completed_response_without_its_stamp_breaks_a_per_status_rule() -> None:
    def unstamped(_: object, answer: HttpResponse, response_id: str) -> HttpResponse:
        if answer.status == 200 and answer.body["status"] == "completed":
            return HttpResponse(200, {**answer.body, "completed_at": None})
        return answer

    kit = probe(bent("retrieve", unstamped))
    ended(kit)
    failure = divergence(kit.retrieve)
    assert name(failure) == "per-status-rules"
    assert "[completed-at]" in failure.problem
    # With that tolerated, the same answer differs from the reference: retrieve-changed.
    kit = probe(bent("retrieve", unstamped), "per-status-rules")
    ended(kit)
    failure = divergence(kit.retrieve)
    assert name(failure) == "retrieve-changed"
    assert "completed_at" in failure.problem


# --------------------------------------------------------------------------------------
# cancel


def test_a_finished_response_cancelled_is_cancel_finished_accepted() -> None:
    class Cancels(ReferenceResponses):
        def cancel(self, response_id: str) -> HttpResponse:
            done = self.responses[response_id]
            body = {**rr.dump_response(done), "status": "cancelled", "completed_at": None}
            self.responses[response_id] = rr.parse_response(body)
            return HttpResponse(200, body)

    kit = probe(Cancels)
    ended(kit)
    failure = divergence(kit.cancel)
    assert name(failure) == "cancel-finished-accepted"
    assert "expected 400" in failure.problem and "got 200 status 'cancelled'" in failure.problem
    # Tolerated, the cancelled response is adopted and leaves the table.
    kit = probe(Cancels, "cancel-finished-accepted")
    response_id = ended(kit)
    kit.cancel()
    assert kit.ref[response_id].status is rr.ResponseStatus.CANCELLED
    assert response_id in kit.off_table


@pytest.mark.parametrize("body", ["cancelled", {"id": 7, "object": "response"}])
def test_an_accepted_cancel_whose_body_is_no_response_adopts_nothing(body: object) -> None:
    kit = probe(bent("cancel", lambda _, a, i: HttpResponse(200, body)), "cancel-finished-accepted")
    response_id = ended(kit)
    before = kit.ref[response_id]
    kit.cancel()
    assert kit.tally.seen["cancel-finished-accepted"] == 1
    assert kit.ref[response_id] is before and response_id not in kit.off_table


# --------------------------------------------------------------------------------------
# refusals


def _cancel_refused_with(status: int, error: dict[str, Any]) -> Peer:
    def refuse(_: object, answer: HttpResponse, response_id: str) -> HttpResponse:
        return HttpResponse(status, {"error": error}) if answer.status == 400 else answer

    return bent("cancel", refuse)


def test_a_refusal_with_another_status_or_text_is_named() -> None:
    wire = rr.check_cancel(
        rr.complete(
            rr.start(rr.new_response(id="r", model="m", now=1, background=True), now=1),
            output=[],
            usage={},
            now=1,
        )
    )
    assert wire is not None
    error = dict(wire.to_api_error()["error"])
    kit = probe(_cancel_refused_with(409, error))
    ended(kit)
    assert name(divergence(kit.cancel)) == "refusal-status"
    kit = probe(_cancel_refused_with(400, {**error, "message": "No."}))
    ended(kit)
    failure = divergence(kit.cancel)
    assert name(failure) == "refusal-body"  # an H text: exact, byte for byte
    assert "got 400" in failure.problem and "No." in failure.problem


def test_only_the_message_of_an_unverified_refusal_is_a_warning() -> None:
    # The cancel text of an incomplete response is inferred (spec-facts §12.3).
    incomplete = rr.check_cancel(
        rr.mark_incomplete(
            rr.start(rr.new_response(id="r", model="m", now=1, background=True), now=1),
            "max_output_tokens",
            usage={},
            now=1,
        )
    )
    assert incomplete is not None
    error = dict(incomplete.to_api_error()["error"])
    kit = probe(_cancel_refused_with(400, {**error, "message": "Cannot cancel that."}))
    ended(kit, "mark_incomplete")
    failure = divergence(kit.cancel)
    assert name(failure) == "refusal-body-unverified"
    assert failure.rule is not None and failure.rule.grade == "warning"
    # Another type as well: not the message alone, so the strict rule.
    kit = probe(_cancel_refused_with(400, {**error, "message": "No.", "type": "server_error"}))
    ended(kit, "mark_incomplete")
    assert name(divergence(kit.cancel)) == "refusal-body"
    kit = probe(bent("cancel", lambda _, a, i: HttpResponse(400, "Bad request")))
    ended(kit, "mark_incomplete")
    assert name(divergence(kit.cancel)) == "refusal-body"


def test_a_refused_request_that_changed_the_response_is_refusal_changed() -> None:
    class Meddles(ReferenceResponses):
        def cancel(self, response_id: str) -> HttpResponse:
            answer = super().cancel(response_id)
            if answer.status == 400:
                done = rr.dump_response(self.responses[response_id])
                self.responses[response_id] = rr.parse_response({**done, "metadata": {}})
            return answer

    kit = probe(Meddles)
    ended(kit)
    failure = divergence(kit.cancel)
    assert name(failure) == "refusal-changed"
    assert "after the refused cancel" in failure.operation
    assert "metadata" in failure.problem


# --------------------------------------------------------------------------------------
# delete


def test_a_refused_delete_of_an_ended_response_is_delete_refused() -> None:
    kit = probe(bent("delete", lambda _, a, i: HttpResponse(400, {"error": {"message": "no"}})))
    ended(kit, "fail")
    failure = divergence(kit.delete)
    assert name(failure) == "delete-refused"
    assert "expected 200, got 400" in failure.problem


def test_a_delete_with_another_body_is_delete_body() -> None:
    kit = probe(bent("delete", lambda _, a, i: HttpResponse(200, {**a.body, "deleted": "yes"})))
    response_id = ended(kit)
    failure = divergence(kit.delete)
    assert name(failure) == "delete-body"
    assert failure.problem.endswith('"deleted": "yes"}')
    assert response_id in kit.deleted


# --------------------------------------------------------------------------------------
# the worker


def test_a_forbidden_worker_move_accepted_is_drive_accepted() -> None:
    class Anything(ReferenceResponses):
        def drive(self, response_id: str, step: ResponseStep) -> HttpResponse:
            if step.kind == "complete" and self.responses[response_id].status.value == "queued":
                started = rr.start(self.responses[response_id], now=self._now())
                self._store(self.responses[response_id], started)
            return super().drive(response_id, step)

    kit = probe(Anything)
    kit.create(stream=False)
    failure = divergence(kit.drive_anywhere, "complete")
    assert name(failure) == "drive-accepted"
    assert "drive 'complete' on a 'queued' response" in failure.operation
    kit = probe(Anything, "drive-accepted")
    kit.create(stream=False)
    kit.drive_anywhere("complete")
    assert kit.latest in kit.off_table
    assert kit.ref[kit.latest].status is rr.ResponseStatus.COMPLETED


def test_a_forbidden_worker_move_refused_with_a_5xx_is_refusal_status() -> None:
    kit = probe(bent("drive", lambda _, a, i, s: HttpResponse(500, {}) if a.status != 200 else a))
    ended(kit)
    failure = divergence(kit.drive_anywhere, "start")
    assert name(failure) == "refusal-status"
    assert "expected a 4xx refusal, got 500" in failure.problem


def test_an_allowed_worker_move_refused_is_graded_by_its_edge() -> None:
    refuses = bent("drive", lambda _, a, i, s: HttpResponse(409, {"error": {"message": "no"}}))
    kit = probe(refuses)
    kit.create(stream=False)
    failure = divergence(kit.drive_start)
    assert name(failure) == "drive-refused"
    assert failure.rule is not None and failure.rule.grade == "error"
    # queued -> failed is an inferred (L) edge: a warning.
    failure = divergence(kit.drive_end, "fail")
    assert name(failure) == "drive-refused-weak"
    assert failure.rule is not None and failure.rule.grade == "warning"


def test_a_worker_move_to_another_status_is_drive_target() -> None:
    class Fails(ReferenceResponses):
        def drive(self, response_id: str, step: ResponseStep) -> HttpResponse:
            if step.kind == "complete":
                step = ResponseStep.of("fail")
            return super().drive(response_id, step)

    kit = probe(Fails)
    kit.create(stream=False)
    kit.drive_start()
    failure = divergence(kit.drive_complete)
    assert name(failure) == "drive-target"
    assert "expected 200 status 'completed', got 200 status 'failed'" in failure.problem


# --------------------------------------------------------------------------------------
# streams


def _on_stream(edit: Callable[[list[Any], int | None], Any]) -> Peer:
    """The peer whose successful replays are ``edit(events, starting_after)``."""

    def replay(_: object, answer: HttpResponse, response_id: str, after: int | None) -> Any:
        return HttpResponse(200, edit(list(answer.body), after)) if answer.status == 200 else answer

    return bent("retrieve_stream", replay)


def test_a_refused_replay_is_stream_refused() -> None:
    kit = probe(bent("retrieve_stream", lambda _, a, i, n: HttpResponse(404, "gone")))
    ended(kit)
    failure = divergence(kit.retrieve_stream, "start")
    assert name(failure) == "stream-refused"
    assert 'expected 200 and the events, got 404 "gone"' in failure.problem


def test_a_refused_resume_is_stream_refused() -> None:
    def no_resume(_: object, answer: HttpResponse, response_id: str, after: int | None) -> Any:
        return answer if after is None else HttpResponse(400, {"error": {"message": "no"}})

    kit = probe(bent("retrieve_stream", no_resume))
    ended(kit)
    failure = divergence(kit.retrieve_stream, "1")
    assert name(failure) == "stream-refused"
    assert failure.operation.endswith("resumed with starting_after=1")


def test_a_replay_that_is_no_list_of_events_is_stream_trace() -> None:
    kit = probe(_on_stream(lambda events, after: "data: {}"))
    ended(kit)
    failure = divergence(kit.retrieve_stream, "start")
    assert name(failure) == "stream-trace"
    assert 'expected a list of events, got 200 "data: {}"' in failure.problem


def test_a_replay_out_of_order_is_stream_trace() -> None:
    kit = probe(_on_stream(lambda events, after: [events[1], events[0], *events[2:]]))
    ended(kit, "fail")
    failure = divergence(kit.retrieve_stream, "start")
    assert name(failure) == "stream-trace"
    assert failure.problem.startswith("the stream from the start (4 events) breaks:")
    assert "sequence-gap: sequence_number 2 follows 0" in failure.problem


def test_a_replay_cut_before_its_end_is_left_to_retrieve() -> None:
    """A truncated stream is check_trace's warning; retrieve judges the response."""
    kit = probe(_on_stream(lambda events, after: events[:-1]))
    ended(kit)
    kit.retrieve_stream("start")  # nothing raised
    assert kit.tally.reach[("retrieve_stream", "completed")] == [1, 1]


def test_a_terminal_event_with_another_response_is_stream_end_differs() -> None:
    def relabel(events: list[Any], after: int | None) -> list[Any]:
        kind, data = events[-1]
        last = json.loads(data)
        last["response"]["metadata"] = {"suite": "other"}
        return [*events[:-1], (kind, json.dumps(last))]

    kit = probe(_on_stream(relabel))
    ended(kit)
    failure = divergence(kit.retrieve_stream, "start")
    assert name(failure) == "stream-end-differs"
    assert "metadata" in failure.problem


def test_a_resume_that_is_not_the_rest_of_the_stream_is_resume_differs() -> None:
    kit = probe(_on_stream(lambda events, after: events if after is None else events[:-1]))
    ended(kit)
    failure = divergence(kit.retrieve_stream, "0")
    assert name(failure) == "resume-differs"
    assert failure.operation.endswith("resumed with starting_after=0")
    assert "expected the" in failure.problem and "events after 0 of the whole stream" in (
        failure.problem
    )


def test_a_done_sentinel_tolerated_does_not_hide_the_resume() -> None:
    """``[DONE]`` has no number: the resume is still judged on the numbered events."""

    def done(events: list[Any], after: int | None) -> list[Any]:
        return [*events, ("message", "[DONE]")]

    kit = probe(_on_stream(done), "stream-done-sentinel")
    ended(kit)
    kit.retrieve_stream("last")
    assert kit.tally.seen["stream-done-sentinel"] == 1
    assert kit.tally.seen["resume-differs"] == 0


def test_numbers_are_shortened_in_messages() -> None:
    assert _short([0, 1, 2, 3, 4, 5, 6]) == "[0, 1, 2, 3, 4, 5, 6]"
    assert _short([0, 1, 2, 3, 4, 5, None, 7]) == "[0, 1, 2, 3, 4, 5, None, 7]"
    assert _short(list(range(10))) == "[0, 1, 2, 3, 4, 5, ..., 8, 9]"


def test_the_terminal_response_skips_what_is_not_json() -> None:
    end = {"type": "response.completed", "response": {"id": "resp_1"}}
    assert _terminal_response([end, ("message", "{not json")]) == {"id": "resp_1"}
    assert _terminal_response([("response.created", "{}"), b"\xff"]) is None
