"""A conformance kit: check another implementation of the Runs API against runstate.

Any implementation of the Assistants Runs endpoints (a server behind HTTP, an in-process
mock, a fake in another library's test suite) plugs its operations into the small
:class:`Implementation` protocol and gets a hypothesis stateful test::

    from runstate.testing import conformance_test

    TestMyServer = conformance_test(MyAdapter)   # collected by pytest or unittest

The test creates runs, retrieves, cancels and submits tool outputs in random orders, and
plays the server's worker through :meth:`Implementation.drive` (start, require action,
complete, fail, mark incomplete, finish a cancel, expire). Every response is checked
against runstate itself, applied to the last response seen for that run: the HTTP status,
the run's new status, every field (unknown fields included), the per-status rules, the
exact refusal payloads, and the thread lock. When something is wrong, hypothesis shrinks
the steps to a minimal program and the assertion says which operation, from which
status, what was expected and what came back.

This module needs hypothesis (``pip install runstate[test]``); ``import runstate`` does
not import it. See ``docs/conformance.md`` for a walk-through, an HTTP adapter and the
list of what is and is not checked.
"""

from __future__ import annotations

import json
import re
import unittest
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal, NamedTuple, Protocol, TypeAlias, cast

import attrs
import hypothesis
import hypothesis.strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from . import _ops as ops
from ._copy import replace
from ._errors import APIError, InvalidRun, ThreadBusy, TransitionError
from ._invariants import violations
from ._model import IncompleteReason, Run
from ._serde import dump_run, parse_run
from ._status import ACTIVE_STATUSES, RunStatus
from ._trace import check_trace

__all__ = [
    "ConformanceFailure",
    "HttpResponse",
    "Implementation",
    "Response",
    "Step",
    "StepKind",
    "conformance_test",
]


# --------------------------------------------------------------------------------------
# The plug: responses, worker steps and the protocol


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
    If the object also has a ``close()`` method, it is called when a test case ends.

    Example:
        An HTTP server maps one method to one request (the ``drive`` hook is usually a
        test-only endpoint through which the test plays the worker)::

            import httpx
            from runstate.testing import HttpResponse

            class HttpAdapter:
                def __init__(self) -> None:
                    # The server runs with its worker paused; each test case makes
                    # its own threads, so no reset is needed between cases.
                    self.http = httpx.Client(base_url="http://localhost:8000/v1")

                def _send(self, method, path, body=None):
                    r = self.http.request(method, path, json=body)
                    return HttpResponse(r.status_code, r.json())

                def create_thread(self):
                    return self.http.post("/threads", json={}).json()["id"]

                def create_run(self, thread_id, *, assistant_id, metadata, extra):
                    return self._send("POST", f"/threads/{thread_id}/runs",
                                      {"assistant_id": assistant_id, "metadata": metadata,
                                       **extra})

                def retrieve_run(self, thread_id, run_id):
                    return self._send("GET", f"/threads/{thread_id}/runs/{run_id}")

                def cancel_run(self, thread_id, run_id):
                    return self._send("POST", f"/threads/{thread_id}/runs/{run_id}/cancel")

                def submit_tool_outputs(self, thread_id, run_id, tool_outputs):
                    return self._send(
                        "POST", f"/threads/{thread_id}/runs/{run_id}/submit_tool_outputs",
                        {"tool_outputs": list(tool_outputs)})

                def drive(self, thread_id, run_id, step):
                    return self._send("POST", f"/_test/runs/{run_id}/drive", step.to_json())

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

        A step the run's status does not allow is refused like any request (400 and the
        error body); a successful step answers with the run as it now is.
        """
        ...


_METHODS: Final = (
    "create_thread",
    "create_run",
    "retrieve_run",
    "cancel_run",
    "submit_tool_outputs",
    "drive",
)


class ConformanceFailure(AssertionError):
    """An implementation answered differently from the reference.

    The message says which operation, on a run in which status, what was expected and
    what came back; hypothesis adds the minimal sequence of steps that leads there.

    Attributes:
        operation: What the kit did, like ``cancel on a 'completed' run (run_1)``.

    Example:
        >>> err = ConformanceFailure("cancel on a 'completed' run (run_1)",
        ...                          "expected 400 {...}, got 200 status 'cancelling'")
        >>> str(err)
        "cancel on a 'completed' run (run_1): expected 400 {...}, got 200 status 'cancelling'"
    """

    def __init__(self, operation: str, problem: str) -> None:
        self.operation = operation
        super().__init__(f"{operation}: {problem}")


# --------------------------------------------------------------------------------------
# What the kit asks for

_ASSISTANT_ID: Final = "asst_runstate_conformance"
_METADATA: Final[Mapping[str, str]] = {"suite": "runstate-conformance"}
#: The unknown field a probing kit asks every run to carry: nested objects and arrays.
_PROBE: Final[Mapping[str, Any]] = {
    "x_runstate_probe": {"level": 1, "nested": {"level": 2, "items": [{"level": 3}, None]}}
}
#: The worker steps that end a run unusually (one rule draws among them).
_UNUSUAL_ENDINGS: Final[tuple[StepKind, ...]] = ("fail", "mark_incomplete", "expire")
_USAGE: Final[Mapping[str, int]] = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
_LAST_ERROR: Final[Mapping[str, str]] = {
    "code": "server_error",
    "message": "Sorry, something went wrong.",
}
#: The other ways to submit tool outputs the kit tries: in reverse order (accepted: the
#: order does not matter), and three that must be refused.
_MISTAKES: Final = ("reversed", "one_missing", "unknown_id", "one_twice")

#: The timestamp each worker step sets to the server's ``now``.
_STAMPED: Final[Mapping[str, str]] = {
    "start": "started_at",
    "complete": "completed_at",
    "mark_incomplete": "completed_at",
    "fail": "failed_at",
    "finish_cancel": "cancelled_at",
}


def _reference_step(run: Run, step: Step, now: int) -> Run:
    """What runstate makes of ``step`` on ``run`` at ``now`` (or the refusal it raises)."""
    kind = step.kind
    if kind == "start":
        return ops.start(run, now=now)
    if kind == "require_action":
        return ops.require_action(run, step.tool_calls, now=now)
    if kind == "complete":
        return ops.complete(run, now=now, usage=step.usage)
    if kind == "fail":
        assert step.last_error is not None
        return ops.fail(run, now=now, error=step.last_error, usage=step.usage)
    if kind == "mark_incomplete":
        assert step.reason is not None
        return ops.mark_incomplete(run, now=now, reason=step.reason, usage=step.usage)
    if kind == "finish_cancel":
        return ops.finish_cancel(run, now=now, usage=step.usage)
    return ops.expire(run, now=max(now, run.expires_at or now))


def _latest(run: Run) -> int:
    """The run's latest timestamp: any sane ``now`` for it is at or after this."""
    stamps = (run.created_at, run.started_at, run.cancelled_at, run.failed_at, run.completed_at)
    return max(s for s in stamps if s is not None)


# --------------------------------------------------------------------------------------
# Reporting


def _a(status: RunStatus) -> str:
    article = "an" if status.value[0] in "aeiou" else "a"
    return f"{article} {status.value!r}"


def _json(value: object, limit: int = 400) -> str:
    try:
        text = json.dumps(value, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(status: object, body: object) -> str:
    """How a response is shown after 'got': the run's status, or the body itself."""
    if (
        isinstance(body, Mapping)
        and body.get("object") == "thread.run"
        and isinstance(body.get("status"), str)
    ):
        return f"{status} status {body['status']!r}"
    return f"{status} {_json(body)}"


def _diff(expected: Any, got: Any, path: str, out: list[str]) -> None:
    """Append one line per difference between two JSON values, by field path."""
    if isinstance(expected, Mapping) and isinstance(got, Mapping):
        for key, value in expected.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in got:
                out.append(f"{sub}: expected {_json(value, 200)}, got nothing (key missing)")
            else:
                _diff(value, got[key], sub, out)
        for key, value in got.items():
            if key not in expected:
                sub = f"{path}.{key}" if path else str(key)
                out.append(f"{sub}: expected no such key, got {_json(value, 200)}")
        return
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            _diff(e, g, f"{path}[{i}]", out)
        return
    if expected != got or (type(expected) is bool) != (type(got) is bool):
        out.append(f"{path or '$'}: expected {_json(expected, 200)}, got {_json(got, 200)}")


def _lines(problems: Sequence[str], limit: int = 8) -> str:
    shown = list(problems[:limit])
    if len(problems) > limit:
        shown.append(f"... and {len(problems) - limit} more")
    return "".join(f"\n  - {p}" for p in shown)


def _unpack(method: str, response: object) -> tuple[int, Any]:
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
        except ValueError:
            return status, body  # reported as a body that is not the expected JSON
    return status, body


# --------------------------------------------------------------------------------------
# The state machine


class _Options(NamedTuple):
    factory: Callable[[], Implementation]
    documented_cancel_only: bool
    probe_unknown_fields: bool


class _Conformance(RuleBasedStateMachine):
    """Drives one fresh implementation; each run's reference is its last good response.

    Requests go to the latest run created (older runs on the other thread keep holding
    their thread's lock), which keeps the printed steps free of ids: a minimal failure
    reads ``create_run(thread=0)``, ``drive_start()``, ``drive_complete()``, ``cancel()``.
    """

    options: ClassVar[_Options]

    def __init__(self) -> None:
        super().__init__()
        impl = self.options.factory()
        missing = [m for m in _METHODS if not callable(getattr(impl, m, None))]
        if missing:
            raise InvalidArgument(
                f"the factory returned {impl!r}, which lacks {', '.join(missing)}: "
                "see runstate.testing.Implementation"
            )
        self.impl = impl
        self.threads = (impl.create_thread(), impl.create_thread())
        #: run id -> the reference: the last response the kit accepted for it.
        self.ref: dict[str, Run] = {}
        #: The run the next requests go to.
        self.latest: str | None = None
        self.calls = 0

    def teardown(self) -> None:
        close = getattr(self.impl, "close", None)
        if callable(close):
            close()

    # -- rules --------------------------------------------------------------------------

    @rule(thread=st.sampled_from((0, 1)))
    def create_run(self, thread: int) -> None:
        thread_id = self.threads[thread]
        on_thread = [r for r in self.ref.values() if r.thread_id == thread_id]
        active = next((r for r in on_thread if r.status in ACTIVE_STATUSES), None)
        what = f"create run on thread {thread_id!r}"
        if active is not None:
            what += f" (its run {active.id} is {active.status.value!r})"
        extra = _PROBE if self.options.probe_unknown_fields else {}
        response = _unpack(
            "create_run",
            self.impl.create_run(
                thread_id, assistant_id=_ASSISTANT_ID, metadata=dict(_METADATA), extra=extra
            ),
        )
        try:
            ops.ensure_can_create_run(thread_id, on_thread)
        except ThreadBusy as err:
            assert active is not None
            self._expect_refusal(what, response, err, active.id)
            return
        run = self._expect_created(what, response, thread_id, extra)
        self.latest = run.id

    @precondition(lambda self: self.latest is not None)
    @rule()
    def retrieve(self) -> None:
        """Retrieve every run: a request on one run must not change another."""
        for run_id, before in self.ref.items():
            what = f"retrieve of {_a(before.status)} run ({run_id})"
            response = _unpack("retrieve_run", self.impl.retrieve_run(before.thread_id, run_id))
            self._expect_run(what, response, before)

    @precondition(lambda self: self.latest is not None)
    @rule()
    def cancel(self) -> None:
        before = self._focus()
        documented = self.options.documented_cancel_only
        what = f"cancel on {_a(before.status)} run ({before.id})"
        response = _unpack("cancel_run", self.impl.cancel_run(before.thread_id, before.id))
        decision = ops.check_cancel(before, documented_only=documented)
        if decision.error is not None:
            self._expect_refusal(what, response, decision.error, before.id)
            return
        expected = ops.cancel(before, now=_latest(before), documented_only=documented)
        self._expect_run(what, response, expected)

    @precondition(lambda self: self.latest is not None)
    @rule()
    def submit_tool_outputs(self) -> None:
        """Submit one output per pending tool call, as a client should."""
        self._submit("all")

    @precondition(lambda self: self.latest is not None)
    @rule(mistake=st.sampled_from(_MISTAKES))
    def submit_wrong_tool_outputs(self, mistake: str) -> None:
        """Submit outputs in another order, or with a call missing, unknown or twice."""
        self._submit(mistake)

    def _submit(self, which: str) -> None:
        before = self._focus()
        pending = (
            [c.id for c in before.required_action.submit_tool_outputs.tool_calls]
            if before.required_action is not None
            else ["call_not_pending"]
        )
        ids = {
            "all": pending,
            "reversed": pending[::-1],
            "one_missing": pending[:-1],
            "unknown_id": [*pending[:-1], "call_unknown"],
            "one_twice": [*pending, pending[0]],
        }[which]
        tool_outputs = [{"tool_call_id": i, "output": f"result of {i}"} for i in ids]
        what = f"submit_tool_outputs {ids} on {_a(before.status)} run ({before.id})"
        response = _unpack(
            "submit_tool_outputs",
            self.impl.submit_tool_outputs(before.thread_id, before.id, tool_outputs),
        )
        try:
            expected = ops.submit_tool_outputs(before, tool_outputs, now=_latest(before))
        except APIError as err:
            self._expect_refusal(what, response, err, before.id)
            return
        self._expect_run(what, response, expected)

    # The worker's moves. The usual ones (start, ask for tool outputs, complete, finish
    # a cancel) are a rule each; the unusual endings (fail, a token limit, expiry) share
    # one, so that runs live long enough to go round the tool-output loop and complete.
    # Hypothesis' swarm testing switches whole rules off for some test cases, which
    # reaches deeper still.

    @precondition(lambda self: self.latest is not None)
    @rule()
    def drive_start(self) -> None:
        self._drive("start")

    @precondition(lambda self: self.latest is not None)
    @rule()
    def drive_require_action(self) -> None:
        self._drive("require_action")

    @precondition(lambda self: self.latest is not None)
    @rule()
    def drive_complete(self) -> None:
        self._drive("complete")

    @precondition(lambda self: self.latest is not None)
    @rule()
    def drive_finish_cancel(self) -> None:
        self._drive("finish_cancel")

    @precondition(lambda self: self.latest is not None)
    @rule(step=st.sampled_from(_UNUSUAL_ENDINGS))
    def drive_end(self, step: StepKind) -> None:
        self._drive(step)

    def _focus(self) -> Run:
        assert self.latest is not None
        return self.ref[self.latest]

    def _drive(self, step: StepKind) -> None:
        before = self._focus()
        payload = self._step(step)
        what = f"drive {step!r} on {_a(before.status)} run ({before.id})"
        response = _unpack("drive", self.impl.drive(before.thread_id, before.id, payload))
        now = _latest(before)
        try:
            expected = _reference_step(before, payload, now)
        except TransitionError:
            # A worker move the table forbids has no API answer: any 4xx will do, and
            # the run must stay as it was.
            if not 400 <= response[0] < 500:
                raise ConformanceFailure(
                    what, f"expected a 4xx refusal, got {_describe(*response)}"
                ) from None
            self._check_unchanged(what, before.id)
            return
        stamp = _STAMPED.get(step)
        late: list[str] = []
        if stamp is not None:
            # The server's clock is not ours: its timestamp must only be at or after
            # every timestamp already on the run; the reference then uses the same time.
            body = response[1]
            value = body.get(stamp) if isinstance(body, Mapping) else None
            if type(value) is int and value >= now:
                expected = _reference_step(before, payload, value)
            elif response[0] == 200 and isinstance(body, Mapping) and "status" in body:
                late.append(
                    f"{stamp}: expected a timestamp at or after {now} (the run's latest "
                    f"before the step), got {_json(value)}"
                )
        self._expect_run(
            what, response, expected, ignore=stamp if late else None, extra_problems=late
        )

    # -- what the worker is told --------------------------------------------------------

    def _step(self, kind: StepKind) -> Step:
        if kind == "require_action":
            count = 1 + self.calls % 2
            calls = []
            for _ in range(count):
                self.calls += 1
                call: dict[str, Any] = {
                    "id": f"call_{self.calls}",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": json.dumps({"n": self.calls})},
                }
                if self.options.probe_unknown_fields:
                    call["x_runstate_probe"] = {"call": self.calls}
                calls.append(call)
            return Step(kind=kind, tool_calls=tuple(calls))
        if kind == "fail":
            return Step(kind=kind, last_error=dict(_LAST_ERROR), usage=dict(_USAGE))
        if kind == "mark_incomplete":
            return Step(kind=kind, reason="max_completion_tokens", usage=dict(_USAGE))
        if kind in ("complete", "finish_cancel"):
            return Step(kind=kind, usage=dict(_USAGE))
        return Step(kind=kind)

    # -- checks -------------------------------------------------------------------------

    def _parse(self, what: str, response: tuple[int, Any], wanted: str) -> Run:
        """The response as a run, or a failure saying what came back instead."""
        status, body = response
        if status != 200:
            raise ConformanceFailure(what, f"expected {wanted}, got {_describe(status, body)}")
        if not isinstance(body, Mapping):
            raise ConformanceFailure(
                what,
                f"expected {wanted}, got 200 with a body that is not a JSON object: {_json(body)}",
            )
        try:
            return parse_run(body)
        except InvalidRun as exc:
            problems = [str(e) for e in exc.errors]
            raise ConformanceFailure(
                what,
                f"expected {wanted}, got 200 with a body that is not a valid run:"
                + _lines(problems),
            ) from None

    def _expect_created(
        self, what: str, response: tuple[int, Any], thread_id: str, extra: Mapping[str, Any]
    ) -> Run:
        wanted = "200 status 'queued'"
        run = self._parse(what, response, wanted)
        if run.id in self.ref:
            raise ConformanceFailure(
                what, f"expected a new run, got the id {run.id!r} of an existing run"
            )
        # The server decides the id, its clock, the model and the defaults; runstate
        # decides the status, what is null on a new run, and that the request's
        # thread, assistant, metadata and unknown fields are kept.
        expected = replace(
            run,
            status=RunStatus.QUEUED,
            thread_id=thread_id,
            assistant_id=_ASSISTANT_ID,
            started_at=None,
            cancelled_at=None,
            failed_at=None,
            completed_at=None,
            required_action=None,
            last_error=None,
            incomplete_details=None,
            usage=None,
            metadata=dict(_METADATA),
            extra={**run.extra, **extra},
        )
        self._compare(what, wanted, response, run, expected)
        self._accept(what, run)
        return run

    def _expect_run(
        self,
        what: str,
        response: tuple[int, Any],
        expected: Run,
        *,
        ignore: str | None = None,
        extra_problems: Sequence[str] = (),
    ) -> None:
        wanted = f"200 status {expected.status.value!r}"
        run = self._parse(what, response, wanted)
        self._compare(what, wanted, response, run, expected, ignore, extra_problems)
        self._accept(what, run)

    def _compare(
        self,
        what: str,
        wanted: str,
        response: tuple[int, Any],
        run: Run,
        expected: Run,
        ignore: str | None = None,
        extra_problems: Sequence[str] = (),
    ) -> None:
        got = _describe(response[0], response[1])
        if run.status is not expected.status:
            raise ConformanceFailure(what, f"expected {wanted}, got {got}")
        problems = list(extra_problems)
        for v in violations(run):
            if v.severity == "error":
                problems.append(f"{v.field}: {v.message} [{v.rule}]")
        want, have = dump_run(expected), dump_run(run)
        if ignore is not None:
            want.pop(ignore, None)
            have.pop(ignore, None)
        if want != have:
            _diff(want, have, "", problems)
        if problems:
            raise ConformanceFailure(what, f"expected {wanted}, got {got} but:" + _lines(problems))

    def _accept(self, what: str, run: Run) -> None:
        """Make ``run`` the reference, after checking it follows the previous as a poll."""
        previous = self.ref.get(run.id)
        self.ref[run.id] = run
        if previous is None:
            return
        report = check_trace([previous, run], mode="poll")
        problems = [
            f"{p.severity} {p.rule}: {p.message}"
            for p in report.problems
            if p.severity == "error" and p.position
        ]
        if problems:
            raise ConformanceFailure(
                what,
                "read as two polls of the run, the previous response and this one "
                "break the lifecycle:" + _lines(problems),
            )

    def _expect_refusal(
        self,
        what: str,
        response: tuple[int, Any],
        err: APIError,
        run_id: str | None = None,
    ) -> None:
        status, body = response
        wire = err.to_api_error()
        if status != err.http_status or body != wire:
            raise ConformanceFailure(
                what,
                f"expected {err.http_status} {_json(wire)}, got {_describe(status, body)}",
            )
        if run_id is not None:
            self._check_unchanged(what, run_id)

    def _check_unchanged(self, what: str, run_id: str) -> None:
        """A refused request changes nothing: retrieve the run and compare."""
        before = self.ref[run_id]
        response = _unpack("retrieve_run", self.impl.retrieve_run(before.thread_id, run_id))
        self._expect_run(
            f"retrieve of {_a(before.status)} run ({run_id}) after the refused {what}",
            response,
            before,
        )


# --------------------------------------------------------------------------------------
# The entry point

_NAME: Final = re.compile(r"[^0-9a-zA-Z_]")


def conformance_test(
    factory: Callable[[], Implementation],
    *,
    settings: hypothesis.settings | None = None,
    documented_cancel_only: bool = False,
    probe_unknown_fields: bool = True,
) -> type[unittest.TestCase]:
    """Build a hypothesis stateful test that checks an implementation against runstate.

    Each test case calls ``factory()`` for a fresh implementation, creates two threads,
    then runs random steps: create runs (the thread lock must hold), retrieve, cancel,
    submit right and wrong tool outputs, and play the worker through ``drive``. Every
    response is compared with what runstate's own operations make of the last response
    seen for that run: the HTTP status, the new status, every field (unknown ones
    included, at every level), the per-status rules (:func:`runstate.violations`), the
    refusal's exact body (``err.to_api_error()``), and the run's history as a polled
    trace. Timestamps are compared by relation (set or null, ordered, unchanged), never
    by value: the implementation's clock is its own.

    Args:
        factory: Called with no arguments for each test case; returns a fresh
            :class:`Implementation` (a class works).
        settings: Hypothesis settings for the test; by default the current profile's,
            with no deadline and no health checks (like hypothesis' own
            ``RuleBasedStateMachine.TestCase``). Tune ``max_examples`` and
            ``stateful_step_count`` here.
        documented_cancel_only: Expect the documented cancel guard (only
            ``in_progress`` runs may be cancelled) instead of the observed one
            (``queued``, ``in_progress`` and ``requires_action``).
        probe_unknown_fields: Create every run with an unknown, nested field (through
            ``create_run``'s ``extra``) and give tool calls an unknown key, and check
            they are echoed unchanged in every later response. Turn off for servers
            that refuse or drop unknown request fields by design.

    Returns:
        A :class:`unittest.TestCase` subclass; assign it to a ``Test...`` name in a test
        module and pytest or unittest runs it. It fails with :class:`ConformanceFailure`
        (an ``AssertionError``) and a minimal sequence of steps.

    Raises:
        hypothesis.errors.InvalidArgument: for a factory that is not callable or
            options of the wrong type. A factory whose objects lack a method fails
            when the test runs, naming the missing methods.

    Example:
        In a test module (``ReferenceServer`` is any class with the protocol's methods)::

            from hypothesis import settings
            from runstate.testing import conformance_test

            TestReferenceServer = conformance_test(
                ReferenceServer, settings=settings(max_examples=50, deadline=None)
            )

        >>> import unittest
        >>> TestNothing = conformance_test(lambda: None)  # fails when run: no methods
        >>> issubclass(TestNothing, unittest.TestCase)
        True
    """
    if not callable(factory):
        raise InvalidArgument(f"factory={factory!r} must be callable")
    if settings is not None and not isinstance(settings, hypothesis.settings):
        raise InvalidArgument(f"settings={settings!r} must be a hypothesis.settings or None")
    for name, value in (
        ("documented_cancel_only", documented_cancel_only),
        ("probe_unknown_fields", probe_unknown_fields),
    ):
        if not isinstance(value, bool):
            raise InvalidArgument(f"{name}={value!r} must be a bool")
    if settings is None:
        settings = hypothesis.settings(
            deadline=None, suppress_health_check=list(hypothesis.HealthCheck)
        )
    label = _NAME.sub("_", getattr(factory, "__name__", "") or "Implementation")
    machine = cast(
        "type[_Conformance]",
        type(
            f"{label}Conformance",
            (_Conformance,),
            {
                "options": _Options(factory, documented_cancel_only, probe_unknown_fields),
                "__module__": getattr(factory, "__module__", __name__),
                "__doc__": f"The runstate conformance machine for {label}.",
            },
        ),
    )
    case = machine.TestCase
    case.settings = settings
    return case
