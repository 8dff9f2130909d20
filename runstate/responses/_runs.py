"""From Runs to Responses: how each run status maps to the response machine (data).

The migration guide maps Runs to Responses (spec-facts §12). This table says, for each
of the run's nine statuses, which response status takes its place, or none, and why; the
docs' guide "From Runs to Responses" is generated from it, from the two tables and from
the two machines' ``check_cancel``, so it cannot drift from the code.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from .._engine.diagram import Lifecycle
from .._engine.errors import InvalidArgument
from .._status import RunStatus
from ._model import TERMINAL, ResponseStatus
from ._table import INITIAL, TABLE

__all__ = ["FROM_RUNS", "LIFECYCLE", "RunMapping", "response_event"]

R = RunStatus
S = ResponseStatus


class RunMapping(NamedTuple):
    """Where a run status went in the Responses API."""

    run: RunStatus
    #: The response status that takes its place, or ``None`` where there is none.
    response: ResponseStatus | None
    #: What changes, with its evidence.
    note: str


#: One row per run status (spec-facts §12: OBS, SDK, AZ, DOC migration guide).
FROM_RUNS: Final[tuple[RunMapping, ...]] = (
    RunMapping(R.QUEUED, S.QUEUED, "only with background: true; else it starts in_progress (OBS)"),
    RunMapping(R.IN_PROGRESS, S.IN_PROGRESS, "the same (OBS)"),
    RunMapping(
        R.REQUIRES_ACTION,
        S.COMPLETED,
        "there is no requires_action: the response completes with function_call items; send "
        "function_call_output items in a new response (previous_response_id) (DOC, OBS)",
    ),
    RunMapping(R.CANCELLING, None, "no cancelling: a cancel answers cancelled at once (OBS, AZ)"),
    RunMapping(R.CANCELLED, S.CANCELLED, "output emptied, usage null (OBS)"),
    RunMapping(R.FAILED, S.FAILED, "error {code, message} instead of last_error (SDK, AZ)"),
    RunMapping(R.COMPLETED, S.COMPLETED, "the same (OBS)"),
    RunMapping(
        R.INCOMPLETE,
        S.INCOMPLETE,
        "incomplete_details.reason max_output_tokens or content_filter (OBS, SDK)",
    ),
    RunMapping(R.EXPIRED, None, "no expires_at; background data is kept about 10 minutes (DOC)"),
)


def response_event(status: ResponseStatus) -> str:
    """The event a stream announces ``status`` with (§12.4).

    Example:
        >>> response_event(ResponseStatus.CANCELLED)
        'response.failed'

    Raises:
        InvalidArgument: ``status`` is not a :class:`ResponseStatus`.
    """
    if type(status) is not ResponseStatus:
        raise InvalidArgument.expected("status", "a ResponseStatus", status)
    if status in TERMINAL:
        # There is no response.cancelled event: a cancel ends with response.failed (AZ).
        return "response.failed" if status is S.CANCELLED else f"response.{status.value}"
    return f"response.{status.value}"


#: The response machine as the diagrams draw it (:func:`runstate._diagram.dot`).
LIFECYCLE: Final = Lifecycle(
    "response_lifecycle",
    tuple(ResponseStatus),
    TERMINAL,
    (INITIAL[True], INITIAL[False]),
    TABLE,
    lambda edge: edge.operation,
)
