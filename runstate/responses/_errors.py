"""The Responses API's refusals: :class:`runstate.APIError` subclasses, exact texts (§12.3).

Every refusal carries ``http_status``, its wire body (``to_api_error()``: ``type``
``invalid_request_error``, ``param`` and ``code`` null unless given) and a stable
kebab-case ``reason``. Texts are the AZ contract's unless marked: each constant below
cites its evidence, and the one text nobody has recorded says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Final, Literal, TypeAlias

from .._engine.errors import APIError, InvalidArgument, InvalidRequest, InvalidRun, NotFound
from .._engine.templates import echo
from .._errors import TransitionError

if TYPE_CHECKING:
    from ._model import ResponseStatus

__all__ = [
    "CancelRefused",
    "DeleteRefused",
    "InvalidResponse",
    "InvalidResponseRequest",
    "ResponseNotFound",
    "ResponseTransitionError",
    "not_found",
]


class InvalidResponse(InvalidRun):
    """A response, or response data given to an operation, breaks the wire format.

    An :class:`runstate.InvalidRun` subclass (the library's one bad-data error), naming
    ``response`` and every problem by field path.
    """


class CancelRefused(APIError):
    """``POST /responses/{id}/cancel`` refused: a synchronous or finished response (§12.3).

    ``reason`` is ``synchronous-response``, ``response-completed``, ``response-failed``
    or ``response-incomplete``.
    """

    default_reason: ClassVar[str] = "cancel-refused"


class DeleteRefused(APIError):
    """``DELETE /responses/{id}`` refused while the response is in flight (§12.3, AZ)."""

    default_reason: ClassVar[str] = "response-in-flight"


class InvalidResponseRequest(InvalidRequest):
    """A create or retrieve request the API refuses as malformed (§12.3)."""


class ResponseNotFound(NotFound):
    """A response lookup that finds nothing: 404 (build one with :func:`not_found`)."""


#: Why a worker move on a response was refused (``ResponseTransitionError.reason``).
ResponseTransitionReason: TypeAlias = Literal[
    "response-terminal", "illegal-transition", "cancel-won"
]


class ResponseTransitionError(TransitionError):
    """A worker move on a response that the table forbids (no HTTP answer).

    ``reason`` is ``response-terminal`` (the response already ended),
    ``illegal-transition`` (no such edge), or ``cancel-won``: the worker finished after
    a cancel was accepted, and the cancel wins (the race, :data:`CANCEL_RACE`).
    """

    def __init__(
        self,
        operation: str,
        current: ResponseStatus,
        target: ResponseStatus,
        reason: ResponseTransitionReason,
        detail: str | None = None,
    ) -> None:
        # The run's error, told about a response's statuses (it reads only .value).
        super().__init__(operation, current, target, reason, detail)  # type: ignore[arg-type]


#: ``Cannot cancel a synchronous response.`` (AZ; also quoted by vLLM #57999 [3P]).
SYNCHRONOUS: Final = "Cannot cancel a synchronous response."
#: The cancel refusals by status (AZ; the ``incomplete`` text is inferred, see below).
CANCEL_TEXTS: Final = {
    "completed": "Cannot cancel a completed response.",  # AZ; LiteLLM's live tests [3P]
    "failed": "Cannot cancel a failed response.",  # AZ
    # AZ says the exact text is unverified; this follows the template [inferred].
    "incomplete": "Cannot cancel an incomplete response.",
}
#: Texts no recording holds (their refusals are marked ``unverified`` in the docs).
UNVERIFIED_TEXTS: Final = frozenset({CANCEL_TEXTS["incomplete"]})
#: ``Cannot delete an in-flight response.`` (AZ).
IN_FLIGHT: Final = "Cannot delete an in-flight response."
#: Stream replay of a response created without ``background: true`` (AZ), param ``stream``.
NOT_STREAMABLE: Final = (
    "This response cannot be streamed because it was not created with background=true."
)
#: Stream replay too late (openai-python #2828 quoting the API [3P]).
STREAM_EXPIRED: Final = (
    "This response can no longer be streamed because it is more than 5 minutes old"
)


def not_found(id: str) -> ResponseNotFound:
    """The real API's 404 for a response it does not hold (§12.3, OBS).

    Recorded after a delete (CanDeleteResponse) and for a ``store: false`` response
    (CanOptOutOfStorage); AZ adds unknown ids and a non-background response still in
    flight.

    Example:
        >>> err = not_found("resp_1")
        >>> err.http_status, err.reason, err.to_api_error()["error"]["message"]
        (404, 'not-found', "Response with id 'resp_1' not found.")

    The id is echoed as every refusal echoes client input: at most ``MAX_ID_ECHO``
    characters, a lone surrogate written as its JSON escape.

    Raises:
        InvalidArgument: ``id`` is not a string.
    """
    if not isinstance(id, str):
        raise InvalidArgument.expected("id", "a string", id)
    return ResponseNotFound(f"Response with id '{echo(id)}' not found.")
