"""runstate.responses: the Responses API's background mode, the Run's successor, as a machine.

A sibling of the run machine, on the same engines: the response is declared in the one
schema and read by the same generated code (:func:`parse_response`), its table is data
with evidence (:data:`TABLE`), its refusals are :class:`runstate.APIError` subclasses with
exact texts, and its traces are judged by the run's trace engine (:func:`check_trace`).
Facts: spec-facts §12 (tags OBS, SDK, AZ, inferred). Pure: no clock, file or network.

Example:
    >>> from runstate import responses as rr
    >>> r = rr.new_response(id="resp_1", model="gpt-4.1-mini", now=100, background=True)
    >>> r = rr.cancel(r, now=101)
    >>> r.status, rr.dump_response(r)["output"], rr.dump_response(r)["usage"]
    (<ResponseStatus.CANCELLED: 'cancelled'>, [], None)
"""

from __future__ import annotations

from ._errors import (
    CancelRefused,
    DeleteRefused,
    InvalidResponse,
    InvalidResponseRequest,
    ResponseNotFound,
    ResponseTransitionError,
    not_found,
)
from ._machine import (
    PRESENCE,
    add_output_item,
    add_output_text,
    cancel,
    check_cancel,
    complete,
    deleted,
    ensure_can_delete,
    fail,
    mark_incomplete,
    new_response,
    start,
    violations,
)
from ._model import (
    TERMINAL,
    IncompleteReason,
    Response,
    ResponseError,
    ResponseIncompleteDetails,
    ResponseStatus,
)
from ._requests import CreateResponse, RetrieveQuery, parse_create_response, parse_retrieve_query
from ._runs import FROM_RUNS, LIFECYCLE, RunMapping, response_event
from ._stream import ResponseTraceChecker, check_trace, replay, stream_events
from ._table import (
    CANCEL_RACE,
    INITIAL,
    TABLE,
    TRANSITIONS,
    CancelRace,
    ResponseEdge,
    can_reach,
    can_transition,
)
from ._wire import dump_response, parse_response

__all__ = [
    # values
    "Response",
    "ResponseStatus",
    "ResponseError",
    "ResponseIncompleteDetails",
    "IncompleteReason",
    "TERMINAL",
    "parse_response",
    "dump_response",
    # the table
    "TABLE",
    "TRANSITIONS",
    "INITIAL",
    "ResponseEdge",
    "CANCEL_RACE",
    "CancelRace",
    "can_transition",
    "can_reach",
    # operations
    "new_response",
    "start",
    "complete",
    "fail",
    "mark_incomplete",
    "cancel",
    "add_output_item",
    "add_output_text",
    "check_cancel",
    "ensure_can_delete",
    "deleted",
    "violations",
    "PRESENCE",
    # requests
    "parse_create_response",
    "parse_retrieve_query",
    "CreateResponse",
    "RetrieveQuery",
    # refusals
    "CancelRefused",
    "DeleteRefused",
    "InvalidResponse",
    "InvalidResponseRequest",
    "ResponseNotFound",
    "ResponseTransitionError",
    "not_found",
    # streams and traces
    "stream_events",
    "replay",
    "check_trace",
    "ResponseTraceChecker",
    # from runs
    "FROM_RUNS",
    "RunMapping",
    "response_event",
    "LIFECYCLE",
]
