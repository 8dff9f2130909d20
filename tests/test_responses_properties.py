"""Properties of the response machine: random lives, streams, replays, and the SDK's verdict."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from openai.types.responses import Response as SdkResponse
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter
from responses_helpers import USAGE, life_events

import runstate
from runstate import responses as rr
from runstate.responses import ResponseStatus as S
from runstate.strategies import response_lives, responses

EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


@given(response_lives())
def test_every_life_is_clean_and_round_trips(life: tuple[rr.Response, ...]) -> None:
    for response in life:
        assert rr.violations(response) == ()
        assert rr.parse_response(rr.dump_response(response)) == response
    assert rr.check_trace(life, mode="poll").ok
    for a, b in itertools.pairwise(life):
        if a.status is b.status:  # output written while in progress
            assert a.status is S.IN_PROGRESS and a.output != b.output
        else:
            assert rr.can_transition(a.status, b.status)


@given(response_lives())
def test_a_life_streams_cleanly_and_replays_its_tail(life: tuple[rr.Response, ...]) -> None:
    events = life_events(life)
    report = rr.check_trace(events, mode="stream")
    if life[-1].status.is_terminal:
        assert report.ok and not report.problems, [str(p) for p in report.problems]
    else:  # a life cut short: only the missing end is reported
        assert [p.rule for p in report.problems] == ["truncated-stream"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    for n in range(-1, len(events) + 1):
        tail = rr.replay(events, n)
        assert list(tail) == events[n + 1 :] if n >= 0 else events
        if 0 <= n < len(events) - 1:
            resumed = rr.check_trace(tail, mode="stream")
            assert resumed.ok, [str(p) for p in resumed.problems]


@given(response_lives())
def test_the_sdk_accepts_every_response_and_event(life: tuple[rr.Response, ...]) -> None:
    for response in life:
        dumped = rr.dump_response(response)
        parsed = SdkResponse.model_validate(dumped)
        assert parsed.status == response.status.value
    for event in life_events(life):
        assert EVENTS.validate_python(event).type == event["type"]


@given(responses())
def test_responses_are_clean(response: rr.Response) -> None:
    assert rr.violations(response) == ()
    assert rr.check_cancel(response) is None or isinstance(
        rr.check_cancel(response), runstate.APIError
    )


class ResponseLives(RuleBasedStateMachine):
    """Random moves, legal and not: the table decides, violations stay empty."""

    @initialize(background=st.booleans())
    def create(self, background: bool) -> None:
        self.now = 1_700_000_000
        self.r = rr.new_response(id="resp_sm", model="m", now=self.now, background=background)
        self.seen = [self.r]

    def _try(self, target: S, move: Any) -> None:
        self.now += 1
        before = self.r
        try:
            after = move(before)
        except rr.ResponseTransitionError as exc:
            assert not rr.can_transition(before.status, target)
            assert exc.reason in ("response-terminal", "illegal-transition", "cancel-won")
            return
        assert rr.can_transition(before.status, target)
        assert after.status is target
        self.r = after
        self.seen.append(after)

    @rule()
    def start(self) -> None:
        self._try(S.IN_PROGRESS, lambda r: rr.start(r, now=self.now))

    @rule()
    def complete(self) -> None:
        self._try(S.COMPLETED, lambda r: rr.complete(r, output=[], usage=USAGE, now=self.now))

    @rule()
    def fail(self) -> None:
        error = {"code": "server_error", "message": "x"}
        self._try(S.FAILED, lambda r: rr.fail(r, error, now=self.now))

    @rule(reason=st.sampled_from(["max_output_tokens", "content_filter"]))
    def mark_incomplete(self, reason: Any) -> None:
        self._try(S.INCOMPLETE, lambda r: rr.mark_incomplete(r, reason, usage=USAGE, now=self.now))

    @rule()
    def cancel(self) -> None:
        self.now += 1
        refusal = rr.check_cancel(self.r)
        if refusal is not None:
            with pytest.raises(rr.CancelRefused) as info:
                rr.cancel(self.r, now=self.now)
            assert info.value == refusal
            return
        after = rr.cancel(self.r, now=self.now)
        assert after.status is S.CANCELLED
        if self.r.status is S.CANCELLED:
            assert after is self.r
        else:
            self.seen.append(after)
        self.r = after

    @precondition(lambda self: self.r.status.is_terminal)
    @rule()
    def delete(self) -> None:
        rr.ensure_can_delete(self.r)

    @invariant()
    def clean(self) -> None:
        assert rr.violations(self.r) == ()
        assert rr.check_trace(self.seen, mode="poll").ok


TestResponseLives = ResponseLives.TestCase
TestResponseLives.settings = settings(max_examples=50, stateful_step_count=12)
