"""The plug: what an implementation under test answers, the worker's steps, the protocol.

An adapter (an HTTP client, an in-process mock) implements :class:`Implementation`
structurally; :func:`unpack` reads what it returns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, NamedTuple, Protocol, TypeAlias

import attrs
from hypothesis.errors import InvalidArgument

from .._model import IncompleteReason
from .._operations import Op

__all__ = [
    "REQUIRED",
    "STEP_KINDS",
    "HttpResponse",
    "Implementation",
    "Response",
    "Step",
    "StepKind",
    "success",
    "unpack",
]


class HttpResponse(NamedTuple):
    """One answer of the implementation: the HTTP status and the decoded JSON body.

    Any ``(status, body)`` pair is accepted where an ``HttpResponse`` is expected; this
    named tuple only makes adapters read better. The body may also be given as JSON text
    or bytes.

    Attributes:
        status: The HTTP status code: 200 for success, 400 for a refusal (as the real
            API answers).
        body: The JSON body: a ``thread.run`` object, or an ``{"error": {...}}`` object.

    Example:
        >>> HttpResponse(400, {"error": {"message": "Cannot cancel run with status "
        ...                              "'completed'.", "type": "invalid_request_error",
        ...                              "param": None, "code": None}}).status
        400
    """

    status: int
    body: Any


#: What every :class:`Implementation` method returns: an :class:`HttpResponse` or any
#: ``(http_status, json_body)`` pair.
Response: TypeAlias = tuple[int, Any]

#: What the worker does in one :class:`Step`; each is named after the runstate operation
#: that decides it (:func:`runstate.start`, :func:`runstate.require_action`, ...).
StepKind: TypeAlias = Literal[
    "start",
    "require_action",
    "complete",
    "fail",
    "mark_incomplete",
    "finish_cancel",
    "expire",
]

#: Every step kind, in the order the lifecycle usually takes them; the default of
#: ``steps=`` in :func:`run_conformance` and :func:`conformance_test`.
STEP_KINDS: Final[tuple[StepKind, ...]] = (
    Op.START.value,
    Op.REQUIRE_ACTION.value,
    Op.COMPLETE.value,
    Op.FAIL.value,
    Op.MARK_INCOMPLETE.value,
    Op.FINISH_CANCEL.value,
    Op.EXPIRE.value,
)


@attrs.frozen(kw_only=True, unsafe_hash=False)  # unhashable: may hold JSON objects
class Step:
    """One move of the server's worker, which the kit asks for through ``drive``.

    The payloads are JSON (plain dicts), ready to forward over HTTP.

    Attributes:
        kind: ``"start"`` (queued -> in_progress), ``"require_action"`` (the model called
            tools), ``"complete"``, ``"fail"``, ``"mark_incomplete"`` (a token limit),
            ``"finish_cancel"`` (the cancel took effect) or ``"expire"`` (the run's
            ``expires_at`` has passed: move the implementation's clock to at least
            ``expires_at`` and expire it).
        tool_calls: For ``require_action``: the calls to list in ``required_action``,
            in order, as the wire's tool call objects.
        usage: For ``complete``, ``fail``, ``mark_incomplete`` and ``finish_cancel``:
            the token counts to report. ``expire`` reports zeros.
        last_error: For ``fail``: the ``last_error`` object.
        reason: For ``mark_incomplete``: the ``incomplete_details.reason``.

    Example:
        >>> step = Step(kind="complete", usage={"prompt_tokens": 10,
        ...                                     "completion_tokens": 5, "total_tokens": 15})
        >>> step.to_json()["kind"], step.to_json()["usage"]["total_tokens"]
        ('complete', 15)
    """

    kind: StepKind
    tool_calls: tuple[Mapping[str, Any], ...] = ()
    usage: Mapping[str, Any] | None = None
    last_error: Mapping[str, Any] | None = None
    reason: IncompleteReason | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the step as one JSON object, for example to POST to a test endpoint.

        Example:
            >>> Step(kind="start").to_json()
            {'kind': 'start', 'tool_calls': [], 'usage': None, 'last_error': None, 'reason': None}
        """
        return {
            "kind": self.kind,
            "tool_calls": [_plain(c) for c in self.tool_calls],
            "usage": None if self.usage is None else _plain(self.usage),
            "last_error": None if self.last_error is None else _plain(self.last_error),
            "reason": self.reason,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class Implementation(Protocol):
    """The operations an implementation under test provides; implement it with any class.

    Nothing is subclassed: any object with these methods will do (checked structurally).
    Every method returns ``(http_status, json_body)``, an :class:`HttpResponse` or a plain
    tuple, exactly what the endpoint would answer: 200 with the ``thread.run`` object on
    success, or the refusal's status and ``{"error": {...}}`` body.

    The kit is the only client: between two calls the implementation must not move runs
    on its own (pause the background worker; all progress comes through :meth:`drive`).
    The one exception is the move the real service may make at any time: a ``cancelling``
    run may become ``cancelled`` by itself. Two methods are optional: ``close()``, called
    when a test case ends, and ``create_assistant() -> str``, called once per test case
    for the assistant id to create runs with (otherwise the kit's ``assistant_id=``).
    ``drive`` may be left out when the kit is told ``steps=()`` (no worker). A third,
    :meth:`list_steps`, lets the kit check the run steps too (:data:`STEP_RULES`).

    Example:
        An HTTP server maps one method to one request (the ``drive`` hook is a test-only
        endpoint, ``POST /_test/threads/{thread_id}/runs/{run_id}/drive``, through which
        the test plays the worker)::

            import httpx
            from runstate.testing import HttpResponse

            class HttpAdapter:
                def __init__(self, base_url: str = "http://127.0.0.1:8000") -> None:
                    # The server runs with its worker paused; each test case makes
                    # its own threads, so no reset is needed between cases.
                    self.http = httpx.Client(base_url=base_url)

                def _send(self, method, path, body=None):
                    r = self.http.request(method, path, json=body)
                    return HttpResponse(r.status_code, r.json())

                def create_thread(self):
                    return self.http.post("/v1/threads", json={}).json()["id"]

                def create_run(self, thread_id, *, assistant_id, metadata, extra):
                    return self._send("POST", f"/v1/threads/{thread_id}/runs",
                                      {"assistant_id": assistant_id, "metadata": metadata,
                                       **extra})

                def retrieve_run(self, thread_id, run_id):
                    return self._send("GET", f"/v1/threads/{thread_id}/runs/{run_id}")

                def cancel_run(self, thread_id, run_id):
                    return self._send("POST",
                                      f"/v1/threads/{thread_id}/runs/{run_id}/cancel")

                def submit_tool_outputs(self, thread_id, run_id, tool_outputs):
                    return self._send(
                        "POST",
                        f"/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs",
                        {"tool_outputs": list(tool_outputs)})

                def drive(self, thread_id, run_id, step):
                    return self._send(
                        "POST", f"/_test/threads/{thread_id}/runs/{run_id}/drive",
                        step.to_json())

                def list_steps(self, thread_id, run_id):   # optional: steps checked
                    return self._send("GET", f"/v1/threads/{thread_id}/runs/{run_id}/steps")

                def close(self):
                    self.http.close()
    """

    def create_thread(self) -> str:
        """Create an empty thread and return its id."""
        ...

    def create_run(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        metadata: Mapping[str, str],
        extra: Mapping[str, Any],
    ) -> Response:
        """``POST /threads/{thread_id}/runs``: create a queued run.

        Args:
            thread_id: A thread from :meth:`create_thread`.
            assistant_id: The assistant to run.
            metadata: The run's metadata.
            extra: Fields outside the spec the run must carry, and echo unchanged in
                every response (empty unless the kit probes unknown fields).
        """
        ...

    def retrieve_run(self, thread_id: str, run_id: str) -> Response:
        """``GET /threads/{thread_id}/runs/{run_id}``."""
        ...

    def cancel_run(self, thread_id: str, run_id: str) -> Response:
        """``POST /threads/{thread_id}/runs/{run_id}/cancel``."""
        ...

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> Response:
        """``POST /threads/{thread_id}/runs/{run_id}/submit_tool_outputs``.

        Args:
            thread_id: The run's thread.
            run_id: The run.
            tool_outputs: ``{"tool_call_id": ..., "output": ...}`` objects, in order.
        """
        ...

    def drive(self, thread_id: str, run_id: str, step: Step) -> Response:
        """Do what the worker would: apply ``step`` to the run, or refuse it.

        Over HTTP: ``POST /_test/threads/{thread_id}/runs/{run_id}/drive`` with
        ``step.to_json()`` as the body. A step the run's status does not allow is refused
        with any 4xx status (no endpoint of the real API exposes worker moves, so there
        is no wire text to match); a successful step answers with the run as it now is.
        """
        ...

    def list_steps(self, thread_id: str, run_id: str) -> Response:
        """Optional: ``GET /threads/{thread_id}/runs/{run_id}/steps``, default query.

        The body is the API's list page (``{"object": "list", "data": [...],
        "first_id", "last_id", "has_more"}``), newest step first, 20 at most: what the
        endpoint answers with no query (:func:`runstate.list_page` of the run's steps).
        With this method the kit checks the run's steps after every request on the run
        (see ``docs/conformance.md``); without it, steps are not checked, and the
        report's summary says so.
        """
        ...


#: The methods every implementation has (``drive`` too, unless ``steps=()``); the last
#: is named after its operation.
REQUIRED: Final = (
    "create_thread",
    "create_run",
    "retrieve_run",
    "cancel_run",
    Op.SUBMIT_TOOL_OUTPUTS.value,
)


def unpack(method: str, response: object) -> tuple[int, Any]:
    """Split a response into its HTTP status and decoded JSON body."""
    if not (isinstance(response, tuple) and len(response) == 2):
        raise InvalidArgument(
            f"{method}() returned {response!r}; expected an (http_status, json_body) pair "
            "such as runstate.testing.HttpResponse(200, {...})"
        )
    status, body = response
    if type(status) is not int:
        raise InvalidArgument(f"{method}() returned status {status!r}; expected an int")
    if isinstance(body, bytes | bytearray | str):
        try:
            body = json.loads(body)
        except (ValueError, RecursionError):
            return status, body  # reported as a body that is not the expected JSON
    return status, body


def success(status: int) -> bool:
    """Whether an HTTP status is a success (2xx)."""
    return 200 <= status < 300
