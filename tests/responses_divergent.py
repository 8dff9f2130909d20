"""A deliberately divergent Responses implementation: one of each §12.3 disagreement.

spec-facts §12.3 lists where Responses-compatible servers disagree with the API (and
each other); :class:`DivergentResponses` is the reference peer with one of each, and the
Responses kit must report every one in one survey, each under its own rule:

- ``cancel-cancelled-refused``: a second cancel is refused (vLLM);
- ``cancel-synchronous-accepted``: a synchronous response is cancelled (SGLang);
- ``refusal-status``: 409 instead of 400 for a failed or incomplete one (llama-stack);
- ``cancel-finished-unchanged``: a completed one is answered as it is, 200;
- ``stream-done-sentinel``: an ended response's stream ends with ``[DONE]``...
- ``stream-terminal-events``: ...but a failed one's sends its terminal event twice;
- ``resume-repeats``: a resume starts at ``starting_after``, not after it.
"""

from __future__ import annotations

import json
from typing import Any

from responses_reference import ReferenceResponses

from runstate import responses as rr
from runstate.testing import HttpResponse

#: The rules one survey must report (errors all: AZ or OBS evidence).
EXPECTED = frozenset(
    {
        "cancel-cancelled-refused",
        "cancel-synchronous-accepted",
        "refusal-status",
        "cancel-finished-unchanged",
        "stream-done-sentinel",
        "stream-terminal-events",
        "resume-repeats",
    }
)


class DivergentResponses(ReferenceResponses):
    """The reference peer, wrong where §12.3's third parties are."""

    def cancel(self, response_id: str) -> HttpResponse:
        response = self._found(response_id)
        if response is None:
            return super().cancel(response_id)
        status = response.status
        if status is rr.ResponseStatus.CANCELLED:
            error = {"message": "Response already cancelled.", "type": "invalid_request_error"}
            return HttpResponse(400, {"error": error})
        if response.background is not True:
            cancelled = rr.parse_response(
                {**rr.dump_response(response), "status": "cancelled", "output": [], "usage": None}
            )
            self.responses[response_id] = cancelled
            return HttpResponse(200, rr.dump_response(cancelled))
        if status is rr.ResponseStatus.COMPLETED:
            return HttpResponse(200, rr.dump_response(response))
        answer = super().cancel(response_id)
        if answer.status == 400:
            return HttpResponse(409, answer.body)
        return answer

    def retrieve_stream(self, response_id: str, starting_after: int | None) -> HttpResponse:
        if starting_after is not None and starting_after > 0:
            starting_after -= 1  # off by one: the event at starting_after comes again
        answer = super().retrieve_stream(response_id, starting_after)
        response = self._found(response_id)
        if answer.status != 200 or response is None or not answer.body:
            return answer
        events: list[Any] = list(answer.body)
        if response.status is not rr.ResponseStatus.FAILED:
            events.append(("message", "[DONE]"))
        else:
            kind, data = events[-1]
            again = json.loads(data)
            again["sequence_number"] += 1
            events.append((kind, json.dumps(again)))
        return HttpResponse(200, events)
