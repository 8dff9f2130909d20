"""What the operations do to a response, and the per-status rules it must keep.

Operations take a response (and ``now``) and return a new one; they never change their
input and never read a clock. Which move is legal comes from ``TABLE`` alone
(:mod:`._table`); the refusals' texts are in :mod:`._errors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from .._engine.codegen import copier
from .._engine.errors import APIError, InvalidArgument, InvalidRun
from .._engine.frozen import EMPTY_LIST, FrozenDict
from .._engine.invariants import presence_checks
from .._engine.jsonvalue import thaw
from .._engine.values import freeze_json
from .._errors import ClockWentBackwards
from .._invariants import Presence, Violation
from .._ops import check_now
from ._errors import (
    CANCEL_TEXTS,
    IN_FLIGHT,
    SYNCHRONOUS,
    CancelRefused,
    DeleteRefused,
    InvalidResponse,
    InvalidResponseRequest,
    ResponseTransitionError,
    not_found,
)
from ._model import (
    TERMINAL,
    IncompleteReason,
    Response,
    ResponseError,
    ResponseIncompleteDetails,
    ResponseStatus,
)
from ._output import continuation_problem
from ._table import INC, INITIAL, C, F, P, Q, X, can_transition

__all__ = [
    "PRESENCE",
    "add_output_item",
    "add_output_text",
    "cancel",
    "check_cancel",
    "complete",
    "ensure_can_delete",
    "fail",
    "mark_incomplete",
    "new_response",
    "start",
    "violations",
]

#: Keys a response made here leaves out: the records' later, optional keys (§12.1).
_LEFT_OUT: Final = frozenset({"billing", "conversation", "moderation", "prompt", "tool_usage"})


def _check(response: object) -> Response:
    if type(response) is not Response:
        raise InvalidArgument.expected("response", "a runstate.responses.Response", response)
    return response


def _check_now(response: Response, now: object) -> int:
    check_now(now)  # the run's one rule: an int of at most 4300 digits
    assert type(now) is int  # for type checkers
    for name in ("created_at", "completed_at"):
        value = getattr(response, name)
        if value is not None and now < value:
            raise ClockWentBackwards(name, now, value)
    return now


def _move(response: Response, operation: str, target: ResponseStatus, now: object) -> None:
    """Refuse ``operation`` unless the table has the edge; check ``now``."""
    _check(response)
    _check_now(response, now)
    current = response.status
    if can_transition(current, target):
        return
    if current is X and target in TERMINAL:
        # The cancel race (CANCEL_RACE): the cancel was accepted first, so it wins (AZ).
        raise ResponseTransitionError(operation, current, target, "cancel-won")
    if current in TERMINAL:
        raise ResponseTransitionError(operation, current, target, "response-terminal")
    raise ResponseTransitionError(operation, current, target, "illegal-transition")


def _output(value: Iterable[Mapping[str, Any]]) -> Any:
    """Output items given by hand: a list of JSON objects, each with a string ``type``."""
    try:
        items = list(value)
    except TypeError:
        raise InvalidArgument.expected("output", "an iterable of output items", value) from None
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("type"), str):
            raise InvalidArgument.expected(f"output[{i}]", "an object with a string type", item)
    return _json_arg("output", items, list)


def _json_arg(name: str, value: object, kind: type | None) -> Any:
    try:
        frozen = freeze_json(value)
    except InvalidRun as exc:
        raise InvalidArgument(name, exc.errors[0].message) from None
    expected = FrozenDict if kind is dict else type(EMPTY_LIST)
    if kind is not None and type(frozen) is not expected:
        raise InvalidArgument.expected(name, "an object" if kind is dict else "an array", value)
    return frozen


def new_response(
    *,
    id: str,
    model: str,
    now: int,
    background: bool = False,
    store: bool = True,
    instructions: str | None = None,
    max_output_tokens: int | None = None,
    metadata: Mapping[str, str] | None = None,
    tools: Iterable[Mapping[str, Any]] = (),
    previous_response_id: str | None = None,
) -> Response:
    """A new response from the create parameters: ``queued`` if background, else ``in_progress``.

    The other keys take the values the real API echoes for a request that leaves them
    out (the 2026 records: ``temperature`` 1.0, ``tool_choice`` ``auto``, ``truncation``
    ``disabled``...). ``background`` with ``store=False`` is refused like the API's 400.

    Raises:
        InvalidArgument: an argument of the wrong type.
        InvalidResponseRequest: ``background=True`` with ``store=False`` (§12.3).

    Example:
        >>> r = new_response(id="resp_1", model="gpt-4.1-mini", now=100, background=True)
        >>> r.status.value, r.output, r.usage, r.store
        ('queued', [], None, True)
        >>> new_response(id="resp_2", model="m", now=100).status.value
        'in_progress'
    """
    for name, value in (("id", id), ("model", model)):
        if type(value) is not str:
            raise InvalidArgument.expected(name, "a string", value)
    for name, flag in (("background", background), ("store", store)):
        if type(flag) is not bool:
            raise InvalidArgument.expected(name, "true or false", flag)
    check_now(now)
    echoed: tuple[tuple[str, object, tuple[type, ...], str], ...] = (
        ("instructions", instructions, (str, list, tuple), "a string, a list of items or None"),
        ("max_output_tokens", max_output_tokens, (int,), "an integer or None"),
        ("metadata", metadata, (Mapping,), "a mapping of strings or None"),
        ("previous_response_id", previous_response_id, (str,), "a string or None"),
    )
    for name, given, kinds, expected in echoed:
        if given is not None and (not isinstance(given, kinds) or type(given) is bool):
            raise InvalidArgument.expected(name, expected, given)
    if isinstance(tools, str | bytes | Mapping) or not isinstance(tools, Iterable):
        raise InvalidArgument.expected("tools", "an iterable of tool objects", tools)
    if background and not store:
        raise background_without_store()
    return Response(
        id=id,
        created_at=now,
        status=INITIAL[background],
        model=model,
        background=background,
        completed_at=None,
        frequency_penalty=0.0,
        instructions=_json_arg("instructions", instructions, None),
        max_output_tokens=_json_arg("max_output_tokens", max_output_tokens, None),
        output=EMPTY_LIST,
        parallel_tool_calls=True,
        presence_penalty=0.0,
        previous_response_id=_json_arg("previous_response_id", previous_response_id, None),
        reasoning=FrozenDict({"effort": None, "summary": None}),
        service_tier="auto",
        store=store,
        temperature=1.0,
        text=FrozenDict({"format": FrozenDict({"type": "text"}), "verbosity": "medium"}),
        tool_choice="auto",
        tools=_json_arg("tools", list(tools) if not isinstance(tools, list) else tools, list),
        top_logprobs=0,
        top_p=1.0,
        truncation="disabled",
        metadata=_json_arg("metadata", metadata if metadata is not None else {}, dict),
        absent=_LEFT_OUT,
    )


def background_without_store() -> InvalidResponseRequest:
    """The 400 for ``background: true`` with ``store: false`` (§12.3, AZ).

    Param ``background``, code ``unsupported_parameter``. The API's text is not
    recorded: this wording follows the ``Unsupported parameter`` template [inferred].
    """
    return InvalidResponseRequest(
        "Unsupported parameter: 'background' cannot be true when 'store' is false.",
        param="background",
        code="unsupported_parameter",
    )


_STATUS_ONLY: Final = copier(Response, "status", checked=False)
_STATUS_OUTPUT: Final = copier(Response, "status", "output", checked=False)
_CANCELLED: Final = copier(Response, "status", "output", "usage", checked=False)
_ENDED: Final = copier(Response, "status", "output", "usage", "completed_at", checked=False)
_FAILED: Final = copier(Response, "status", "error", checked=False)
_INCOMPLETE: Final = copier(
    Response, "status", "output", "usage", "incomplete_details", checked=False
)


def start(response: Response, *, now: int) -> Response:
    """A worker picks the queued response up: ``in_progress`` (§12.2, OBS).

    Raises:
        ResponseTransitionError: unless the response is ``queued``.
    """
    _move(response, "start", P, now)
    return _STATUS_ONLY(response, P)  # type: ignore[no-any-return]


def complete(
    response: Response, *, output: Iterable[Mapping[str, Any]], usage: Mapping[str, Any], now: int
) -> Response:
    """The model finished: ``completed``, with its output items, usage and ``completed_at``.

    A response that wants tools completes too, with ``function_call`` items in
    ``output``: there is no ``requires_action`` (§12.4, OBS FunctionCall records). The
    caller runs the tools and sends ``function_call_output`` items in a new response.
    If output was written while in progress (:func:`add_output_text`), ``output`` must
    continue it: the rest of its text is streamed, never what was sent already.

    Raises:
        ResponseTransitionError: unless ``in_progress`` (``cancel-won`` if cancelled).
        InvalidArgument: ``output`` does not continue the output written so far.
    """
    _move(response, "complete", C, now)
    items = _continued(response, _output(output))
    used = _json_arg("usage", usage, dict)
    completed_at = now if "completed_at" not in response.absent else None  # §12.1: newer only
    return _ENDED(response, C, items, used, completed_at)  # type: ignore[no-any-return]


def fail(response: Response, error: Mapping[str, str], *, now: int) -> Response:
    """The response failed: ``failed`` with ``error`` = ``{code, message}`` (§12.1, SDK/AZ).

    Raises:
        ResponseTransitionError: unless ``queued`` or ``in_progress``.
        InvalidResponse: ``error`` is not ``{code, message}`` strings.
    """
    _move(response, "fail", F, now)
    try:
        value = ResponseError(code=error["code"], message=error["message"])
        extra = bool(set(error) - {"code", "message"})
    except (KeyError, TypeError, InvalidRun) as exc:
        text = f"expected {{code, message}}: {exc}"
        raise InvalidResponse.one("error", "type", text, what="response") from None
    if extra:
        text = "has keys other than code and message"
        raise InvalidResponse.one("error", "extra", text, what="response")
    return _FAILED(response, F, value)  # type: ignore[no-any-return]


def mark_incomplete(
    response: Response,
    reason: IncompleteReason,
    *,
    output: Iterable[Mapping[str, Any]] = (),
    usage: Mapping[str, Any],
    now: int,
) -> Response:
    """Ended early: ``incomplete``, with ``incomplete_details.reason``.

    The reason is ``max_output_tokens`` or ``content_filter`` (§12.1, OBS MaxTokens:
    usage set, the output cut short). ``output`` must continue any output written while
    in progress, as for :func:`complete`.

    Raises:
        ResponseTransitionError: unless ``in_progress``.
        InvalidArgument: an unknown ``reason``, or ``output`` does not continue the
            output written so far.
    """
    _move(response, "mark_incomplete", INC, now)
    if reason not in ("max_output_tokens", "content_filter"):
        raise InvalidArgument.expected("reason", "'max_output_tokens' or 'content_filter'", reason)
    details = ResponseIncompleteDetails(reason=reason)
    items = _continued(response, _output(output))
    used = _json_arg("usage", usage, dict)
    return _INCOMPLETE(response, INC, items, used, details)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------
# Output written while in progress (streaming text as it arrives)


def _continued(response: Response, items: Any) -> Any:
    """``items``, once checked to continue the output written so far (:mod:`._output`)."""
    problem = continuation_problem(response.output, items)
    if problem is not None:
        raise InvalidArgument("output", f"must continue the output written so far: {problem}")
    return items


def _writing(response: Response, operation: str, now: object) -> None:
    """Refuse writing output unless the response is ``in_progress``."""
    _check(response)
    _check_now(response, now)
    current = response.status
    if current is P:
        return
    reason: Any = (
        "cancel-won"
        if current is X
        else "response-terminal"
        if current in TERMINAL
        else "illegal-transition"
    )
    raise ResponseTransitionError(
        operation, current, P, reason, "output is written only while in progress"
    )


def _closed(item: Any) -> Any:
    """An output item done: its ``status`` (where it has one) ``completed``."""
    if isinstance(item, Mapping) and "status" in item:
        return {**item, "status": "completed"}
    return item


def add_output_item(response: Response, item: Mapping[str, Any], *, now: int) -> Response:
    """Open one more output item in an ``in_progress`` response: the one written next.

    The item before it, if any, is closed (its ``status`` ``completed``): only the last
    item is written to. Give the item as it is while written: a message as
    ``{"id", "type": "message", "role": "assistant", "status": "in_progress",
    "content": []}``. :func:`stream_events` sends it as ``response.output_item.added``
    (and anything it already holds as deltas).

    Raises:
        ResponseTransitionError: unless ``in_progress`` (``cancel-won`` if cancelled).
        InvalidArgument: ``item`` is not a JSON object with a string ``type`` (a
            message's ``content`` a list of objects, each ``output_text`` with a string
            ``text``; a function call's ``arguments`` a string), or its ``id`` is that of
            an item written before (``item.id``).

    Example:
        >>> r = start(new_response(id="resp_1", model="m", now=1, background=True), now=2)
        >>> r = add_output_item(r, {"id": "msg_1", "type": "message", "role": "assistant",
        ...                         "status": "in_progress", "content": []}, now=3)
        >>> r = add_output_text(add_output_text(r, "Hel", now=3), "lo", now=4)
        >>> r.output[0]["content"][0]["text"], r.status.value
        ('Hello', 'in_progress')
    """
    _writing(response, "add_output_item", now)
    if not isinstance(item, Mapping) or not isinstance(item.get("type"), str):
        raise InvalidArgument.expected("item", "an object with a string type", item)
    message = _json_arg("item", item, dict)
    item_id = message.get("id")
    if item_id is not None and any(
        isinstance(old, Mapping) and old.get("id") == item_id for old in response.output
    ):
        raise InvalidArgument("item.id", f"{item_id!r} is the id of an item written before")
    if message["type"] == "function_call" and not isinstance(message.get("arguments", ""), str):
        raise InvalidArgument.expected("item.arguments", "a string", message.get("arguments"))
    if message["type"] == "message":
        parts = message.get("content")
        if not isinstance(parts, Sequence) or not all(
            isinstance(p, Mapping)
            and (p.get("type") != "output_text" or isinstance(p.get("text"), str))
            for p in parts
        ):
            raise InvalidArgument.expected(
                "item.content", "a list of content parts (output_text with a string text)", parts
            )
    written = [*response.output[:-1], *map(_closed, response.output[-1:]), message]
    return _STATUS_OUTPUT(response, P, _json_arg("output", written, list))  # type: ignore[no-any-return]


def add_output_text(response: Response, text: str, *, now: int) -> Response:
    """Write ``text`` to an ``in_progress`` response: appended to its last output item.

    That item must be a message (:func:`add_output_item`); the text goes on its last
    ``output_text`` part, or opens one (``annotations`` and ``logprobs`` empty).
    :func:`stream_events` sends what was written as ``response.output_text.delta``
    events; an empty ``text`` changes nothing (the same response is returned).

    Raises:
        ResponseTransitionError: unless ``in_progress`` (``cancel-won`` if cancelled: a
            worker writing after an accepted cancel learns it here).
        InvalidArgument: ``text`` is not a string, or the last item is no message.
    """
    _writing(response, "add_output_text", now)
    if type(text) is not str:
        raise InvalidArgument.expected("text", "a string", text)
    last = response.output[-1] if response.output else None
    if not isinstance(last, Mapping) or last.get("type") != "message":
        raise InvalidArgument("text", "the last output item must be a message (add_output_item)")
    if not text:
        return response
    message = thaw(last)
    parts = message.get("content")
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise InvalidArgument("text", "the last output item's content must be a list of parts")
    if parts and parts[-1].get("type") == "output_text" and isinstance(parts[-1].get("text"), str):
        parts[-1]["text"] += text
    else:
        parts.append({"type": "output_text", "annotations": [], "logprobs": [], "text": text})
    written = [*response.output[:-1], message]
    return _STATUS_OUTPUT(response, P, _json_arg("output", written, list))  # type: ignore[no-any-return]


def check_cancel(response: object) -> APIError | None:
    """The refusal ``POST /responses/{id}/cancel`` answers for ``response``, or ``None``.

    Never raises: anything that is not a :class:`Response` is answered as an unknown
    response would be (404 with an empty id). The order is §12.3's: a synchronous
    response is refused before its status is looked at.

    Example:
        >>> r = new_response(id="resp_1", model="m", now=1)
        >>> print(check_cancel(r))
        Cannot cancel a synchronous response.
        >>> check_cancel(new_response(id="resp_2", model="m", now=1, background=True)) is None
        True
    """
    if type(response) is not Response:
        return not_found("")
    if response.background is not True:
        # §12.3, AZ: checked before status (vLLM quotes the same text [3P]).
        return CancelRefused(SYNCHRONOUS, reason="synchronous-response")
    status = response.status
    if status in (Q, P, X):  # X: a second cancel is idempotent, 200 (§12.2, AZ)
        return None
    # completed and failed: AZ; incomplete: the text is inferred (AZ: unverified).
    return CancelRefused(CANCEL_TEXTS[status.value], reason=f"response-{status.value}")


def cancel(response: Response, *, now: int) -> Response:
    """``POST /responses/{id}/cancel``: ``cancelled``, with ``output`` emptied and ``usage`` null.

    ``queued`` (OBS) and ``in_progress`` (AZ) become ``cancelled``; a ``cancelled``
    response is answered unchanged (idempotent, AZ). Refused: a synchronous response,
    then ``completed`` and ``failed`` (AZ texts) and ``incomplete`` (inferred text).

    Raises:
        CancelRefused: with the exact text (:func:`check_cancel`).

    Example:
        >>> r = new_response(id="resp_1", model="m", now=1, background=True)
        >>> done = cancel(r, now=2)
        >>> done.status.value, cancel(done, now=3) is done
        ('cancelled', True)
    """
    _check(response)
    _check_now(response, now)
    refusal = check_cancel(response)
    if refusal is not None:
        raise refusal
    if response.status is X:
        return response
    # §12.1, OBS CanCancelBackgroundResponses: output [], usage null, error null.
    return _CANCELLED(response, X, EMPTY_LIST, None)  # type: ignore[no-any-return]


def ensure_can_delete(response: Response) -> None:
    """Refuse ``DELETE /responses/{id}`` as the API does; return if it would succeed.

    A background response still ``queued`` or ``in_progress`` is refused (400, AZ); a
    non-background one still in flight is not found yet (404, AZ); a response created
    with ``store: false`` is never found (404, OBS CanOptOutOfStorage).

    Raises:
        DeleteRefused: in flight (``Cannot delete an in-flight response.``).
        ResponseNotFound: not stored, or synchronous and still in flight.
    """
    _check(response)
    if response.store is False:
        raise not_found(response.id)
    if response.status in TERMINAL:
        return
    if response.background is True:
        raise DeleteRefused(IN_FLIGHT)
    raise not_found(response.id)


def deleted(response: Response) -> dict[str, Any]:
    """The body of a successful delete (§12.3, OBS CanDeleteResponse)."""
    ensure_can_delete(response)
    return {"id": response.id, "object": "response.deleted", "deleted": True}


# --------------------------------------------------------------------------------------
# Per-status rules (§12.1)

#: The presence rules of §12.1, one row per field (the run's ``Presence`` rows).
PRESENCE: Final[tuple[Presence, ...]] = (
    Presence("error", frozenset({F}), frozenset({F}), "error", "error", "§12.1: only on failed"),
    Presence(
        "incomplete_details",
        frozenset({INC}),
        frozenset({INC}),
        "error",
        "incomplete-details",
        "§12.1: only on incomplete (OBS MaxTokens)",
    ),
    Presence(
        "completed_at",
        frozenset(),
        frozenset({C}),
        "error",
        "completed-at",
        "§12.1: set only on completed (OBS)",
    ),
    Presence(
        "usage",
        frozenset({C, INC}),
        frozenset({C, INC, F}),
        "error",
        "usage",
        "§12.1: null while queued or in progress and when cancelled (OBS)",
    ),
)
_CHECKS: Final = {s: presence_checks(s, PRESENCE) for s in ResponseStatus}


def violations(response: Response) -> tuple[Violation, ...]:
    """Every per-status rule of §12.1 that ``response`` breaks; empty for a clean one.

    Errors: ``error`` set exactly on ``failed``; ``incomplete_details`` exactly on
    ``incomplete``; ``completed_at`` only on ``completed`` (and set there when the key
    is present: older objects lack it), not before ``created_at``; ``usage`` set on
    ``completed`` and ``incomplete``, null on ``queued``, ``in_progress`` and
    ``cancelled``; ``output`` empty on ``queued`` and ``cancelled``; ``background``
    only with ``store`` (§12.3); no ``cancelled`` response with ``background: false``
    (cancel refuses a synchronous response, §12.3).

    Example:
        >>> r = new_response(id="resp_1", model="m", now=1, background=True)
        >>> violations(r)
        ()
        >>> import attrs
        >>> [v.rule for v in violations(attrs.evolve(r, usage={"total_tokens": 1}))]
        ['usage']
    """
    _check(response)
    found: list[Violation] = []
    status = response.status
    for field, must_be_set, severity, rule, message in _CHECKS[status]:
        if (getattr(response, field) is None) is must_be_set:
            found.append(Violation(field, rule, message, severity))
    completed_at = response.completed_at
    if status is C and completed_at is None and "completed_at" not in response.absent:
        message = "must be set when the status is 'completed' and the key is present (§12.1)"
        found.append(Violation("completed_at", "completed-at", message, "error"))
    if completed_at is not None and completed_at < response.created_at:
        message = f"completed_at {completed_at} is before created_at {response.created_at}"
        found.append(Violation("completed_at", "timestamp-order", message, "error"))
    if status in (Q, X) and response.output:
        message = f"must be empty when the status is {status.value!r} (§12.1, OBS)"
        found.append(Violation("output", "output-empty", message, "error"))
    if response.background is True and response.store is False:
        message = "background responses must be stored (§12.3: 400 at create)"
        found.append(Violation("store", "background-store", message, "error"))
    if status is X and response.background is False:
        # Only POST .../cancel cancels, and it refuses a synchronous response (§12.3, AZ;
        # SGLang accepted it [3P]). An object lacking the key is not judged (inferred).
        message = "a synchronous response cannot be cancelled (§12.3: cancel answers 400)"
        found.append(Violation("background", "cancelled-synchronous", message, "error"))
    return tuple(found)
