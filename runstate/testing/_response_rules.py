"""The Responses kit's rules, its plug, and the checks of every answer about a response.

The second machine on the kit's engine (:mod:`._engine`): :data:`RESPONSE_RULES` names
every way a Responses implementation can differ from :mod:`runstate.responses`, each
graded by its evidence (spec-facts §12's tags, through ``runstate.responses.TABLE``'s
confidences and the refusals' texts); :class:`ResponsesImplementation` is the small
protocol an implementation plugs in; :class:`ResponseChecks` judges each answer against
the last response the kit accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal, NamedTuple, Protocol, TypeAlias

import attrs
from hypothesis.errors import InvalidArgument

from .. import responses as rr
from .._engine.errors import APIError, InvalidRun
from ..responses._errors import UNVERIFIED_TEXTS
from ..responses._requests import RetrieveQuery
from . import _engine as engine
from ._adapters import Response, success, unpack
from ._engine import Evidence, Rule, rule_table
from ._report import brief, bullets, json_diff

__all__ = [
    "DRIVE_KINDS",
    "METADATA",
    "MODEL",
    "RESPONSE_REACH_OPERATIONS",
    "RESPONSE_RULES",
    "DriveKind",
    "ResponseChecks",
    "ResponseOptions",
    "ResponseStep",
    "ResponsesImplementation",
    "a_status",
    "refusal",
    "worker_move",
]


def _confidence(*operations: str) -> Evidence:
    """The weakest H or M confidence ``TABLE`` gives the operations' edges.

    L edges are the ``-weak`` rules'.
    """
    levels = {e.confidence for e in rr.TABLE if e.operation in operations}
    return "M" if "M" in levels else "H"


#: Every divergence the Responses kit reports, by name. Names are stable: new ones may be
#: added, none is renamed or reused. Evidence as spec-facts §12 tags it: OBS (recorded at
#: OpenAI) is H, one strong source (AZ, SDK) is M, inferred is L.
RESPONSE_RULES: Final[Mapping[str, Rule]] = rule_table(
    # create
    ("create-status", "H", "§12.2, OBS: 200", "a create answered with a 2xx other than 200"),
    ("create-refused", "H", "§12.2, OBS", "a create runstate accepts was refused"),
    (
        "create-fields",
        "H",
        "§12.1, §12.2, OBS",
        "the new response is not the one asked for (status, flags, output, usage, metadata)",
    ),
    (
        "create-unstored-accepted",
        "M",
        "§12.3, AZ: 400 param background",
        "background: true with store: false was accepted",
    ),
    # retrieve
    ("retrieve-status", "H", "OBS: 200", "a retrieve answered with a 2xx other than 200"),
    ("retrieve-refused", "H", "OBS", "a retrieve of a stored response was refused"),
    (
        "retrieve-changed",
        "H",
        "the kit is the only client",
        "a response changed between two requests with nothing done to it",
    ),
    # cancel
    ("cancel-status", "H", "§12.2: 200", "a cancel answered with a 2xx other than 200"),
    (
        "cancel-refused",
        _confidence("cancel"),
        "§12.2 (OBS from queued, AZ from in_progress)",
        "a cancel of a queued or in_progress background response was refused",
    ),
    (
        "cancel-cancelled-refused",
        "M",
        "§12.2, AZ: a second cancel answers the same body (vLLM refuses it [3P])",
        "a cancel of a cancelled response was refused",
    ),
    (
        "cancel-synchronous-accepted",
        "M",
        "§12.3, AZ: 400 (SGLang accepted it [3P])",
        "a cancel of a synchronous (background: false) response was accepted",
    ),
    (
        "cancel-finished-accepted",
        "M",
        "§12.3, AZ: 400 for completed, failed, incomplete",
        "a cancel of a finished response was accepted and cancelled it",
    ),
    (
        "cancel-finished-unchanged",
        "M",
        "§12.3, AZ: 400 (some return it as it is [3P])",
        "a cancel of a finished response answered 200 with the response unchanged",
    ),
    (
        "cancel-fields",
        "H",
        "§12.1, OBS CanCancelBackgroundResponses",
        "a cancelled response is not what runstate makes of it (output [], usage null)",
    ),
    # delete
    (
        "delete-refused",
        "H",
        "§12.3, OBS CanDeleteResponse",
        "a delete of a finished response was refused",
    ),
    (
        "delete-body",
        "H",
        "§12.3, OBS: {id, object: response.deleted, deleted: true}",
        "a delete answered another body than the deletion object",
    ),
    (
        "delete-in-flight-accepted",
        "M",
        "§12.3, AZ: 400 Cannot delete an in-flight response.",
        "a delete of a queued or in_progress response was accepted",
    ),
    (
        "deleted-found",
        "H",
        "§12.3, OBS: 404 after a delete",
        "a deleted response was still found",
    ),
    # streams
    (
        "stream-refused",
        "M",
        "§12.4, OBS and AZ: replayable when created with background and stream",
        "a replay of a background, streamed response was refused",
    ),
    (
        "stream-not-streamable-accepted",
        "M",
        "§12.3, AZ: 400 param stream",
        "a replay of a response not created with background and stream was accepted",
    ),
    (
        "stream-done-sentinel",
        "H",
        "§12.4, AZ; OBS: no [DONE] in the records",
        "a stream ends with a [DONE] sentinel or a done event",
    ),
    (
        "stream-terminal-events",
        "H",
        "§12.4, AZ; OBS: one terminal event",
        "a stream goes on after its terminal event (two terminal events)",
    ),
    (
        "stream-trace",
        "H",
        "runstate.responses.check_trace(mode='stream')",
        "a stream from the start breaks the event rules (order, numbering, nesting)",
    ),
    (
        "stream-end-differs",
        "H",
        "§12.4: the terminal event carries the response",
        "a stream's terminal event carries another response than a retrieve answers",
    ),
    (
        "resume-repeats",
        "H",
        "§12.4, OBS: starting_after=1 gave 2..411",
        "a resumed stream repeats an event at or before starting_after",
    ),
    (
        "resume-differs",
        "H",
        "§12.4, OBS: the same events and numbers",
        "a resumed stream is not the rest of the stream from the start",
    ),
    # the worker
    (
        "drive-refused",
        _confidence("start", "complete", "fail", "mark_incomplete"),
        "§12.2, an H or M edge of TABLE",
        "a worker move TABLE allows (H or M) was refused",
    ),
    (
        "drive-refused-weak",
        "L",
        "§12.2, an L (inferred) edge of TABLE",
        "a worker move TABLE allows with low confidence was refused",
    ),
    (
        "drive-accepted",
        "M",
        "§12.2: no such edge; the cancel race (AZ: cancel wins)",
        "a worker move TABLE forbids was accepted",
    ),
    ("drive-target", "H", "§12.2", "a worker move reached another status than asked"),
    (
        "drive-fields",
        "H",
        "§12.1",
        "a response after a worker move is not what runstate makes of it",
    ),
    # refusals, whatever the request
    (
        "refusal-status",
        "M",
        "§12.3, AZ: 400 (llama-stack answers 409 [3P]); 404 OBS",
        "a refusal with an HTTP status other than runstate's",
    ),
    (
        "refusal-body",
        "M",
        "§12.3, AZ texts (OBS for 404)",
        "a refusal whose body is not the API's, byte for byte",
    ),
    (
        "refusal-body-unverified",
        "L",
        "§12.3: text unverified (incomplete cancel) or not recorded",
        "a refusal whose text differs from runstate's inferred one",
    ),
    (
        "refusal-changed",
        "H",
        "a refused request changes nothing",
        "a refused request changed the response",
    ),
    # every response
    (
        "invalid-response",
        "H",
        "SDK Response type",
        "a success whose body is not a valid response object",
    ),
    (
        "per-status-rules",
        "M",
        "§12.1 (runstate.responses.violations, errors only)",
        "a response breaks a per-status rule",
    ),
    (
        "poll-trace",
        "H",
        "runstate.responses.check_trace(mode='poll')",
        "two answers for a response, read as polls, break the lifecycle",
    ),
)

#: The model responses are created with, and their metadata (echoed, §12.1).
MODEL: Final = "gpt-4.1-mini"
METADATA: Final[Mapping[str, str]] = {"suite": "runstate-conformance"}

#: What the worker does in one :class:`ResponseStep`, named after the operation of
#: :mod:`runstate.responses` that decides it.
DriveKind: TypeAlias = Literal["start", "complete", "fail", "mark_incomplete"]
#: Every drive kind: the default of ``steps=`` in :func:`response_conformance`.
DRIVE_KINDS: Final[tuple[DriveKind, ...]] = ("start", "complete", "fail", "mark_incomplete")

#: The operations the Responses reach table counts, in its row order: those whose
#: answer depends on the response's status (a create has none before it).
RESPONSE_REACH_OPERATIONS: Final[tuple[str, ...]] = (
    "cancel",
    "delete",
    "retrieve",
    "retrieve_stream",
    *DRIVE_KINDS,
)

_OUTPUT: Final[tuple[Mapping[str, Any], ...]] = (
    {
        "id": "msg_runstate_conformance",
        "type": "message",
        "status": "completed",
        "content": [{"type": "output_text", "annotations": [], "text": "Hello from the kit."}],
        "role": "assistant",
    },
)
_USAGE: Final[Mapping[str, Any]] = {
    "input_tokens": 5,
    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "output_tokens": 4,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 9,
}
_ERROR: Final[Mapping[str, str]] = {"code": "server_error", "message": "Something went wrong."}


@attrs.frozen(kw_only=True, unsafe_hash=False)
class ResponseStep:
    """One move of the implementation's worker, asked for through ``drive``.

    Attributes:
        kind: ``start`` (queued -> in_progress), ``complete``, ``fail`` or
            ``mark_incomplete``.
        output: For ``complete`` and ``mark_incomplete``: the output items to end with.
        usage: For ``complete`` and ``mark_incomplete``: the usage to report.
        error: For ``fail``: ``{code, message}``.
        reason: For ``mark_incomplete``: ``max_output_tokens``.

    Example:
        >>> ResponseStep.of("fail").to_json()["error"]["code"]
        'server_error'
    """

    kind: DriveKind
    output: tuple[Mapping[str, Any], ...] = ()
    usage: Mapping[str, Any] | None = None
    error: Mapping[str, str] | None = None
    reason: str | None = None

    @classmethod
    def of(cls, kind: DriveKind) -> ResponseStep:
        """The step the kit asks for: a fixed output, usage, error or reason."""
        if kind == "complete":
            return cls(kind=kind, output=_OUTPUT, usage=_USAGE)
        if kind == "mark_incomplete":
            return cls(kind=kind, usage=_USAGE, reason="max_output_tokens")
        if kind == "fail":
            return cls(kind=kind, error=_ERROR)
        return cls(kind=kind)

    def to_json(self) -> dict[str, Any]:
        """The step as one JSON object, to POST to a test hook."""
        return {
            "kind": self.kind,
            "output": [engine_json(i) for i in self.output],
            "usage": None if self.usage is None else engine_json(self.usage),
            "error": None if self.error is None else dict(self.error),
            "reason": self.reason,
        }


def engine_json(value: Any) -> Any:
    """``value`` as plain JSON containers (dicts and lists)."""
    if isinstance(value, Mapping):
        return {k: engine_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [engine_json(v) for v in value]
    return value


def worker_move(before: rr.Response, step: ResponseStep, body: object = None) -> rr.Response | None:
    """What runstate makes of the worker's ``step``, or ``None`` where the table forbids it.

    Stamped at ``body``'s ``completed_at`` (the implementation's answer) when it is a
    sane time, else at the latest stamp of ``before``.
    """
    latest = max(before.created_at, before.completed_at or 0)
    stamp = body.get("completed_at") if isinstance(body, Mapping) else None
    now = stamp if type(stamp) is int and stamp >= latest else latest
    try:
        if step.kind == "start":
            return rr.start(before, now=now)
        if step.kind == "complete":
            assert step.usage is not None
            return rr.complete(before, output=step.output, usage=step.usage, now=now)
        if step.kind == "fail":
            assert step.error is not None
            return rr.fail(before, step.error, now=now)
        assert step.usage is not None
        return rr.mark_incomplete(
            before, "max_output_tokens", output=step.output, usage=step.usage, now=now
        )
    except rr.ResponseTransitionError:
        return None


def refusal(operation: str, response: rr.Response, *, streamed: bool = True) -> APIError | None:
    """The refusal runstate answers ``operation`` on a stored ``response`` with, or ``None``.

    ``operation`` is ``cancel``, ``delete``, ``retrieve`` (never refused) or
    ``retrieve_stream`` (``streamed``: the response was created with ``stream: true``).
    A deleted response's 404 is the caller's.

    Example:
        >>> from runstate import responses as rr
        >>> queued = rr.new_response(id="resp_1", model="m", now=1, background=True)
        >>> print(refusal("delete", queued))
        Cannot delete an in-flight response.
        >>> refusal("cancel", queued) is None
        True
    """
    if operation == "cancel":
        return rr.check_cancel(response)
    try:
        if operation == "delete":
            rr.ensure_can_delete(response)
        elif operation == "retrieve_stream":
            RetrieveQuery(stream=True).check(
                response, now=response.created_at, created_with_stream=streamed
            )
    except APIError as err:
        return err
    return None


class ResponsesImplementation(Protocol):
    """The operations a Responses implementation under test provides (structurally).

    Every method returns ``(http_status, body)`` as the endpoint answers it: 200 and the
    ``response`` object, or the refusal's status and ``{"error": {...}}`` body. The kit
    is the only client: nothing may move a response between two calls but ``drive``
    (keep the worker paused); a synchronous (``background: false``) create is answered
    once the response has ended, as the API answers it. ``close()`` is optional.
    """

    def create(self, request: Mapping[str, Any]) -> Response:
        """``POST /responses`` with ``request`` as the JSON body.

        With ``"stream": true`` the answer is a stream: return its first event's
        ``response`` (``response.created``) with the stream's status, and drop the
        stream (the response goes on in the background).
        """
        ...

    def retrieve(self, response_id: str) -> Response:
        """``GET /responses/{response_id}``."""
        ...

    def retrieve_stream(self, response_id: str, starting_after: int | None) -> Response:
        """``GET /responses/{response_id}?stream=true[&starting_after=N]``, read to its end.

        The kit asks only for ended responses, whose streams end by themselves. The body
        of a 200 is the list of events in order: ``(event_name, data)`` pairs as
        :func:`runstate.parse_sse` gives them (``[DONE]`` included), or JSON objects.
        """
        ...

    def cancel(self, response_id: str) -> Response:
        """``POST /responses/{response_id}/cancel``."""
        ...

    def delete(self, response_id: str) -> Response:
        """``DELETE /responses/{response_id}``."""
        ...

    def drive(self, response_id: str, step: ResponseStep) -> Response:
        """Optional: do what the worker would (``step``), or refuse with any 4xx.

        ``complete`` and ``mark_incomplete`` end with ``step.output`` and ``step.usage``,
        ``fail`` with ``step.error``. Left out with ``steps=()``.
        """
        ...


#: The methods every Responses implementation has (``drive`` too, unless ``steps=()``).
REQUIRED: Final = ("create", "retrieve", "retrieve_stream", "cancel", "delete")


class ResponseOptions(NamedTuple):
    """The Responses kit's arguments, as each test case of one search sees them."""

    factory: Callable[[], ResponsesImplementation]
    steps: frozenset[DriveKind]
    tolerated: frozenset[str]
    tally: engine.Tally


def a_status(status: rr.ResponseStatus | str) -> str:
    value = status if isinstance(status, str) else status.value
    article = "an" if value[0] in "aeiou" else "a"
    return f"{article} {value!r}"


def show(status: int, body: object) -> str:
    """How an answer is shown after 'got': a response's status, or the body itself."""
    if isinstance(body, Mapping) and body.get("object") == "response":
        return f"{status} status {body.get('status')!r}"
    return f"{status} {brief(body)}"


#: The rule for a success refused, by operation (its ``-status`` sibling for a 2xx
#: other than 200); a refused request's re-read is a retrieve.
_REFUSED: Final = {
    "create": "create-refused",
    "retrieve": "retrieve-refused",
    "recheck": "retrieve-refused",
    "cancel": "cancel-refused",
    "drive": "drive-refused",
}
#: The rule for a success with the wrong fields, by operation.
_FIELDS: Final = {
    "create": "create-fields",
    "retrieve": "retrieve-changed",
    "recheck": "refusal-changed",
    "cancel": "cancel-fields",
    "drive": "drive-fields",
}


class ResponseChecks(engine.Machine):
    """One test case's state (a fresh implementation, its responses) and its checks."""

    options: ClassVar[ResponseOptions]  # the engine's, narrowed

    def __init__(self) -> None:
        super().__init__()
        opts = self.options
        impl = opts.factory()
        needed = REQUIRED + (("drive",) if opts.steps else ())
        missing = [m for m in needed if not callable(getattr(impl, m, None))]
        if missing:
            raise InvalidArgument(
                f"the factory returned {impl!r}, which lacks {', '.join(missing)}: "
                "see runstate.testing.ResponsesImplementation"
            )
        self.impl = impl
        self.tally = opts.tally
        #: response id -> the reference: the last answer the kit accepted for it.
        self.ref: dict[str, rr.Response] = {}
        #: The responses created with background and stream (their events replay).
        self.streamed: set[str] = set()
        self.deleted: set[str] = set()
        #: Responses moved off the table by a tolerated divergence: not poll-checked.
        self.off_table: set[str] = set()
        self.latest: str | None = None

    def teardown(self) -> None:
        close = getattr(self.impl, "close", None)
        try:
            if callable(close):
                close()
        finally:
            super().teardown()  # the engine counts the example

    # -- reading answers ------------------------------------------------------------------

    def _parse(
        self, op: str, what: str, answer: tuple[int, Any], wanted: str
    ) -> rr.Response | None:
        """The answer as a response, or ``None`` after reporting what came instead."""
        status, body = answer
        if not success(status):
            self._diverge(_REFUSED[op], what, f"expected {wanted}, got {show(status, body)}")
            return None
        try:
            response = rr.parse_response(body if isinstance(body, Mapping) else "")
        except InvalidRun as exc:
            problems = [str(e) for e in exc.errors] or ["not a JSON object"]
            self._diverge(
                "invalid-response",
                what,
                f"expected {wanted}, got {status} {brief(body, 200)}, not a response:"
                + bullets(problems),
            )
            return None
        if status != 200 and op != "drive":  # the drive hook is the implementation's own
            self._diverge(
                _REFUSED[op].replace("-refused", "-status"),
                what,
                f"expected {wanted}, got {show(status, body)} (not 200)",
            )
        return response

    def _compare(
        self, rule: str, what: str, answer: tuple[int, Any], got: rr.Response, want: rr.Response
    ) -> bool:
        """Report how ``got`` differs from ``want``; whether it does not.

        Differences go under ``rule``, new per-status rules under ``per-status-rules``.
        """
        groups: dict[str, list[str]] = {}
        before = self.ref.get(got.id)
        known = {v.rule for v in rr.violations(before)} if before is not None else set()
        for v in rr.violations(got):
            if v.severity == "error" and v.rule not in known:
                groups.setdefault("per-status-rules", []).append(
                    f"{v.field}: {v.message} [{v.rule}]"
                )
        want_json, got_json = rr.dump_response(want), rr.dump_response(got)
        if want_json != got_json:
            diffs: list[tuple[str, str]] = []
            json_diff(want_json, got_json, "", diffs)
            groups.setdefault(rule, []).extend(line for _, line in diffs)
        head = f"expected 200 status {want.status.value!r}, got {show(*answer)} but:"
        for name, problems in groups.items():
            self._diverge(name, what, head + bullets(problems))
        return not groups

    def _expect(
        self, op: str, what: str, answer: tuple[int, Any], want: rr.Response
    ) -> rr.Response | None:
        """Check a success that moves a response to ``want``; adopt what came back."""
        got = self._parse(op, what, answer, f"200 status {want.status.value!r}")
        if got is None:
            return None
        rule = _FIELDS[op]
        if got.status is not want.status:
            target = "drive-target" if op == "drive" else rule
            wanted = f"expected 200 status {want.status.value!r}, got {show(*answer)}"
            self._diverge(target, what, wanted)
            self.off_table.add(got.id)
        elif self._compare(rule, what, answer, got, want):
            self._poll(what, got)
        self.ref[got.id] = got
        return got

    def _poll(self, what: str, got: rr.Response) -> None:
        """Check that ``got`` follows the reference, read as two polls."""
        before = self.ref.get(got.id)
        if before is None or got.id in self.off_table:
            return
        report = rr.check_trace([before, got], mode="poll")
        own = {v.rule for v in rr.violations(before)} | {v.rule for v in rr.violations(got)}
        problems = [
            f"{p.rule}: {p.message}"
            for p in report.problems
            if p.severity == "error" and p.position and p.rule not in own
        ]
        if problems:
            self._diverge(
                "poll-trace",
                what,
                "read as two polls, the previous answer and this one break the lifecycle:"
                + bullets(problems),
            )

    def _refused(
        self,
        what: str,
        answer: tuple[int, Any],
        err: APIError,
        response_id: str,
        accepted: str,
        *,
        unverified: bool = False,
    ) -> None:
        """Check a refusal: its status, its exact body, and that nothing changed."""
        status, body = answer
        wire = err.to_api_error()
        expected = f"expected {err.http_status} {brief(wire)}, got {show(status, body)}"
        if success(status):
            self._diverge(accepted, what, expected)
            got = self._adopt(answer)
            if got is not None and got.id == response_id:
                self.off_table.add(response_id)
            return
        if response_id in self.off_table:
            # Moved off the table by a tolerated divergence: which refusal the table
            # gives no longer follows (one root cause, one divergence).
            self._unchanged(what, response_id)
            return
        if status != err.http_status:
            self._diverge("refusal-status", what, expected)
        elif body != wire:
            loose = unverified or err.message in UNVERIFIED_TEXTS
            if loose and _same_but_message(body, wire):
                self._diverge("refusal-body-unverified", what, expected)
            else:
                self._diverge("refusal-body", what, expected)
        self._unchanged(what, response_id)

    def _adopt(self, answer: tuple[int, Any]) -> rr.Response | None:
        """A tolerated success's response, adopted as the reference when it parses."""
        status, body = answer
        if not success(status) or not isinstance(body, Mapping):
            return None
        try:
            got = rr.parse_response(body)
        except InvalidRun:
            return None
        if got.id in self.ref:
            self.ref[got.id] = got
        return got

    def _unchanged(self, what: str, response_id: str) -> None:
        """A refused request changes nothing: retrieve the response and compare."""
        if response_id not in self.ref or response_id in self.deleted:
            return
        before = self.ref[response_id]
        answer = unpack("retrieve", self.impl.retrieve(response_id))
        self._expect(
            "recheck",
            f"retrieve of {a_status(before.status)} response ({response_id}) after the "
            f"refused {what}",
            answer,
            before,
        )

    # -- helpers for the program -------------------------------------------------------------

    def _focus(self) -> rr.Response:
        assert self.latest is not None
        return self.ref[self.latest]

    def _focus_in(self, *statuses: rr.ResponseStatus) -> bool:
        return (
            self.latest is not None
            and self.latest not in self.deleted
            and self.ref[self.latest].status in statuses
        )

    def _where(self, response: rr.Response) -> str:
        """The response's status for messages and the reach: ``deleted`` once deleted."""
        return "deleted" if response.id in self.deleted else response.status.value

    def _cancel_refusal(self, before: rr.Response) -> tuple[APIError | None, str]:
        """What cancel answers for ``before``, and the rule if it is accepted instead."""
        if before.id in self.deleted:
            return rr.not_found(before.id), "deleted-found"
        err = refusal("cancel", before)
        if before.background is not True:
            return err, "cancel-synchronous-accepted"
        return err, "cancel-finished-accepted"

    def _stream_refusal(self, before: rr.Response) -> APIError | None:
        if before.id in self.deleted:
            return rr.not_found(before.id)
        return refusal("retrieve_stream", before, streamed=before.id in self.streamed)


def _same_but_message(body: object, wire: Mapping[str, Any]) -> bool:
    """Whether ``body`` is the refusal ``wire`` but for its message."""
    if not isinstance(body, Mapping) or not isinstance(body.get("error"), Mapping):
        return False
    got = {k: v for k, v in body["error"].items() if k != "message"}
    want = {k: v for k, v in wire["error"].items() if k != "message"}
    return got == want and isinstance(body["error"].get("message"), str)


def stream_items(events: Sequence[Any]) -> list[Any]:
    """Events as ``check_trace(mode="stream")`` reads them.

    An SSE event with no name (``message``) is its data alone.
    """
    out = []
    for e in events:
        if type(e) is tuple and len(e) == 2 and e[0] == "message":
            out.append(e[1])
        elif isinstance(e, list) and len(e) == 2 and isinstance(e[0], str):
            out.append(e[1] if e[0] == "message" else (e[0], e[1]))
        else:
            out.append(e)
    return out
