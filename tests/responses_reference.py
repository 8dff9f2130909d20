"""An in-process Responses implementation on runstate.responses: the Responses kit's
reference peer (it must pass) and the base of the divergent one.

Every change is one ``runstate.responses`` call, every refusal ``err.http_status,
err.to_api_error()``; each response keeps its events (``stream_events``), so a replay is
``replay(events, starting_after)``. Streams are answered as :func:`runstate.parse_sse`
gives them: ``(event, data)`` pairs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import runstate as rs
from runstate import responses as rr
from runstate.testing import HttpResponse, ResponseStep

#: The scripted answer of a synchronous response.
SYNC_OUTPUT = [
    {
        "id": "msg_sync",
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "annotations": [], "text": "Hi."}],
    }
]
SYNC_USAGE = {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}


def refusal(err: rs.APIError) -> HttpResponse:
    return HttpResponse(err.http_status, err.to_api_error())


class ReferenceResponses:
    """A dict of responses and their events; the clock moves one second per request."""

    def __init__(self) -> None:
        self.responses: dict[str, rr.Response] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.streamed: set[str] = set()
        self.clock = 1_800_000_000
        self.count = 0

    def _now(self) -> int:
        self.clock += 1
        return self.clock

    def _store(self, before: rr.Response | None, after: rr.Response) -> HttpResponse:
        events = self.events.setdefault(after.id, [])
        events += rr.stream_events(before, after, sequence_start=len(events))
        self.responses[after.id] = after
        return HttpResponse(200, rr.dump_response(after))

    def _found(self, response_id: str) -> rr.Response | None:
        return self.responses.get(response_id)

    def create(self, request: Mapping[str, Any]) -> HttpResponse:
        try:
            req = rr.parse_create_response(dict(request))
        except rs.APIError as err:
            return refusal(err)
        self.count += 1
        response = req.new_response(id=f"resp_{self.count}", now=self._now())
        answer = self._store(None, response)
        if req.stream:
            self.streamed.add(response.id)
        if not req.background:
            started = response
            response = rr.complete(started, output=SYNC_OUTPUT, usage=SYNC_USAGE, now=self._now())
            answer = self._store(started, response)
        return answer

    def retrieve(self, response_id: str) -> HttpResponse:
        response = self._found(response_id)
        if response is None:
            return refusal(rr.not_found(response_id))
        return HttpResponse(200, rr.dump_response(response))

    def retrieve_stream(self, response_id: str, starting_after: int | None) -> HttpResponse:
        response = self._found(response_id)
        if response is None:
            return refusal(rr.not_found(response_id))
        query = rr.RetrieveQuery(stream=True, starting_after=starting_after)
        try:
            query.check(
                response, now=response.created_at, created_with_stream=response_id in self.streamed
            )
        except rs.APIError as err:
            return refusal(err)
        events = rr.replay(
            self.events[response_id], -1 if starting_after is None else starting_after
        )
        return HttpResponse(200, [(e["type"], json.dumps(e)) for e in events])

    def cancel(self, response_id: str) -> HttpResponse:
        response = self._found(response_id)
        if response is None:
            return refusal(rr.not_found(response_id))
        try:
            after = rr.cancel(response, now=self._now())
        except rs.APIError as err:
            return refusal(err)
        return self._store(response, after)

    def delete(self, response_id: str) -> HttpResponse:
        response = self._found(response_id)
        if response is None:
            return refusal(rr.not_found(response_id))
        try:
            body = rr.deleted(response)
        except rs.APIError as err:
            return refusal(err)
        del self.responses[response_id]
        return HttpResponse(200, body)

    def drive(self, response_id: str, step: ResponseStep) -> HttpResponse:
        response = self._found(response_id)
        if response is None:
            return refusal(rr.not_found(response_id))
        now = self._now()
        try:
            if step.kind == "start":
                after = rr.start(response, now=now)
            elif step.kind == "complete":
                after = rr.complete(response, output=step.output, usage=step.usage or {}, now=now)
            elif step.kind == "fail":
                after = rr.fail(response, step.error or {}, now=now)
            else:
                after = rr.mark_incomplete(
                    response,
                    "max_output_tokens",
                    output=step.output,
                    usage=step.usage or {},
                    now=now,
                )
        except rs.TransitionError as err:
            return HttpResponse(409, {"error": {"message": str(err)}})
        return self._store(response, after)
