"""A conformance kit: check another implementation of the Runs API against runstate.

Any implementation of the Assistants Runs endpoints (a server behind HTTP, an in-process
mock, a fake in another library's test suite) plugs its operations into the small
:class:`Implementation` protocol and gets a survey driven by hypothesis::

    from runstate.testing import conformance_test, run_conformance

    TestMyServer = conformance_test(MyAdapter)   # collected by pytest or unittest
    report = run_conformance(MyAdapter, seed=1, max_examples=200)   # anywhere else

The kit creates runs, retrieves, cancels and submits tool outputs in random orders, and
plays the server's worker through :meth:`Implementation.drive` (start, require action,
complete, fail, mark incomplete, finish a cancel, expire). Every response is checked
against runstate itself, applied to the last response seen for that run: the HTTP status,
the run's new status, every field (unknown fields included), the per-status rules, the
exact refusal payloads, and the thread lock.

Every way to differ has a stable, kebab-case name, a grade and the evidence behind it
(:data:`RULES`). One survey reports every distinct divergence, each with the minimal
program hypothesis shrank it to: a divergence found is noted, tolerated, and the search
goes on for the next. Known divergences can be accepted by name; they are still counted.
The survey also measures how often each (operation, status) pair was reached.

This module needs hypothesis (``pip install runstate[test]``); ``import runstate`` does
not import it. See ``docs/conformance.md`` for a walk-through, adapters and the list of
what is and is not checked.
"""

from __future__ import annotations

import collections
import itertools
import json
import re
import reprlib
import time
import unittest
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal, NamedTuple, Protocol, TypeAlias, cast

import attrs
import hypothesis
import hypothesis.strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import (
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)

from . import _ops as ops
from ._engine.copying import replace
from ._errors import APIError, Error, InvalidRun, ThreadBusy, TransitionError, reduce_exception
from ._events import stream_events
from ._invariants import violations
from ._model import (
    FunctionToolCall,
    IncompleteReason,
    MessageCreationDetails,
    Run,
    RunStep,
    StepStatus,
    ToolCallsDetails,
)
from ._serde import dump_run, parse_run
from ._status import ACTIVE_STATUSES, RunStatus
from ._steps import (
    RUN_END_EFFECTS,
    STEP_TRANSITIONS,
    RunLife,
    advance,
    dump_step,
    parse_step,
    step_violations,
)
from ._table import EDGES, OPERATION_FOR_TARGET, can_transition
from ._trace import TraceChecker, check_trace

__all__ = [
    "DEFAULT_ASSISTANT_ID",
    "REACH_OPERATIONS",
    "RULES",
    "STEP_KINDS",
    "STEP_RULES",
    "ConformanceFailure",
    "ConformanceReport",
    "Divergence",
    "DivergencesFound",
    "Evidence",
    "Grade",
    "HttpResponse",
    "Implementation",
    "Response",
    "Rule",
    "Step",
    "StepKind",
    "conformance_test",
    "run_conformance",
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

#: Every step kind, in the order the lifecycle usually takes them; the default of
#: ``steps=`` in :func:`run_conformance` and :func:`conformance_test`.
STEP_KINDS: Final[tuple[StepKind, ...]] = (
    "start",
    "require_action",
    "complete",
    "fail",
    "mark_incomplete",
    "finish_cancel",
    "expire",
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


_REQUIRED: Final = (
    "create_thread",
    "create_run",
    "retrieve_run",
    "cancel_run",
    "submit_tool_outputs",
)


# --------------------------------------------------------------------------------------
# The rules: every way to differ, with its grade and evidence

#: ``error`` fails the survey; ``warning`` is reported and counted, and does not.
Grade: TypeAlias = Literal["error", "warning"]
#: The evidence for what the kit expects: ``H``, ``M`` and ``L`` as in spec-facts §7
#: (``H`` = spec or docs and observation agree, ``M`` = one strong source, ``L`` =
#: inferred or weak), ``?`` where nothing is known (spec-facts §8.13), and ``opt-in`` for
#: a check the kit makes only when asked (``probe_unknown_fields``).
Evidence: TypeAlias = Literal["H", "M", "L", "?", "opt-in"]


@attrs.frozen
class Rule:
    """One way an implementation can differ from runstate, with the evidence for it.

    The grade follows the evidence: ``error`` for ``H``, ``M`` and ``opt-in``,
    ``warning`` for ``L`` and ``?``.

    Attributes:
        name: Stable, kebab-case, for machines and for ``accept=``.
        evidence: How sure the expectation is (see :data:`Evidence`).
        source: Where the expectation comes from, in a few words.
        summary: What the divergence is, in one line.

    Example:
        >>> rule = RULES["cancel-keeps-required-action"]
        >>> rule.grade, rule.evidence, rule.tag
        ('warning', '?', 'cancel-keeps-required-action (warning, evidence ?)')
    """

    name: str
    evidence: Evidence
    source: str
    summary: str

    @property
    def grade(self) -> Grade:
        """``error`` for evidence ``H``, ``M`` and ``opt-in``; ``warning`` otherwise."""
        return "warning" if self.evidence in ("L", "?") else "error"

    @property
    def tag(self) -> str:
        """The name, grade and evidence, as every message shows them."""
        return f"{self.name} ({self.grade}, evidence {self.evidence})"


def _rules(*rows: tuple[str, Evidence, str, str]) -> Mapping[str, Rule]:
    return {name: Rule(name, evidence, source, summary) for name, evidence, source, summary in rows}


#: Every divergence the kit reports, by name. Names are stable: new ones may be added,
#: none is renamed or reused.
RULES: Final[Mapping[str, Rule]] = _rules(
    # create
    (
        "create-status",
        "H",
        "spec and every recording: 200",
        "a new run answered with a status other than 200",
    ),
    ("create-refused", "H", "spec, recordings", "a create runstate accepts was refused"),
    (
        "create-fields",
        "H",
        "spec-facts §6, §7",
        "the new run is not the queued run that was asked for",
    ),
    (
        "thread-lock",
        "M",
        "spec-facts §4.4 (H for in_progress)",
        "a run was created on a thread whose run is queued, in_progress or requires_action",
    ),
    (
        "thread-lock-cancelling",
        "L",
        "spec-facts §4.4: no evidence for cancelling",
        "a run was created on a thread whose run is still cancelling",
    ),
    # retrieve
    (
        "retrieve-status",
        "H",
        "spec, recordings",
        "a retrieve answered with a 2xx status other than 200",
    ),
    ("retrieve-refused", "H", "spec", "a retrieve of an existing run was refused"),
    (
        "retrieve-changed",
        "H",
        "the kit is the only client",
        "a run changed between two requests with nothing done to it",
    ),
    # cancel
    (
        "cancel-status",
        "H",
        "spec-facts §4.1: 200",
        "a cancel answered with a 2xx status other than 200",
    ),
    (
        "cancel-refused",
        "M",
        "spec-facts §7 (H for in_progress, M queued/requires_action)",
        "a cancel runstate accepts was refused",
    ),
    (
        "cancel-accepted",
        "H",
        "spec-facts §4.1: 400 on terminal runs",
        "a cancel of a terminal run was accepted",
    ),
    (
        "cancel-accepted-cancelling",
        "H",
        "spec-facts §4.1: 400, observed",
        "a cancel of a cancelling run was accepted",
    ),
    (
        "cancel-target",
        "H",
        "spec-facts §4.1: 200 returns cancelling",
        "a cancel moved the run to another status than cancelling",
    ),
    (
        "cancel-fields",
        "H",
        "spec-facts §6",
        "a cancelled run's fields are not what runstate makes of them",
    ),
    (
        "cancel-keeps-required-action",
        "?",
        "spec-facts §8.13: unknown",
        "a run cancelled while requires_action still carries required_action",
    ),
    # submit tool outputs
    (
        "submit-status",
        "H",
        "spec, recordings: 200",
        "a submit answered with a 2xx status other than 200",
    ),
    ("submit-refused", "H", "spec-facts §4.2, §7", "the right tool outputs were refused"),
    (
        "submit-accepted",
        "H",
        "spec-facts §4.2 (M for queued, cancelling)",
        "tool outputs were accepted from a run that is not requires_action",
    ),
    (
        "submit-ids-accepted",
        "M",
        "spec-facts §10.2, pasted responses",
        "tool outputs with a call missing or given twice were accepted",
    ),
    (
        "submit-unknown-id-accepted",
        "L",
        "spec-facts §10.2: nothing found",
        "tool outputs naming an unknown call were accepted",
    ),
    (
        "submit-target",
        "H",
        "spec-facts §7: 200 returns queued",
        "a submit moved the run to another status than queued",
    ),
    (
        "submit-fields",
        "H",
        "spec-facts §6, §8.5, §8.6",
        "a run after submit is not what runstate makes of it",
    ),
    # the worker
    (
        "drive-refused",
        "H",
        "spec-facts §7, an H or M edge",
        "a worker move the table allows (H or M) was refused",
    ),
    (
        "drive-refused-weak",
        "L",
        "spec-facts §7, an L edge",
        "a worker move the table allows with low confidence was refused",
    ),
    (
        "drive-accepted",
        "H",
        "spec-facts §7: no such edge",
        "a worker move the table forbids was accepted",
    ),
    ("drive-target", "H", "spec-facts §7", "a worker move reached another status than asked"),
    (
        "drive-fields",
        "H",
        "spec-facts §6",
        "a run after a worker move is not what runstate makes of it",
    ),
    # refusals, whatever the request
    (
        "refusal-status",
        "H",
        "spec-facts §4: every refusal seen is 400",
        "a refusal with an HTTP status other than runstate's",
    ),
    (
        "refusal-body",
        "H",
        "spec-facts §4, §10: the real API's text",
        "a refusal whose body is not the real API's, byte for byte",
    ),
    (
        "refusal-changed-run",
        "H",
        "a refused request changes nothing",
        "a refused request changed the run",
    ),
    # every run
    ("invalid-run", "H", "spec RunObject", "a success whose body is not a valid run object"),
    (
        "per-status-rules",
        "H",
        "spec-facts §6 (runstate.violations, errors only)",
        "a run breaks a per-status rule the spec or docs promise",
    ),
    (
        "timestamp-order",
        "H",
        "spec field semantics",
        "a step stamped a time before the run's latest timestamp",
    ),
    (
        "unknown-fields",
        "opt-in",
        "probe_unknown_fields=True",
        "an unknown field the run was created with was lost or changed",
    ),
    (
        "poll-trace",
        "H",
        "runstate.check_trace(mode='poll')",
        "two responses for a run, read as polls, break the lifecycle",
    ),
    # run steps (only when the implementation has list_steps)
    (
        "steps-list",
        "H",
        "spec ListRunStepsResponse: 200 with a list object",
        "listing a run's steps did not answer 200 with a list page",
    ),
    (
        "steps-list-order",
        "M",
        "spec listRunSteps: order defaults to desc",
        "the default steps page is not newest first",
    ),
    (
        "step-invalid",
        "H",
        "spec RunStepObject (runstate.steps.parse_step)",
        "a listed step is not a valid step object",
    ),
    (
        "step-per-status-rules",
        "M",
        "spec RunStepObject, spec-facts §11 (runstate.steps.step_violations)",
        "a step breaks a per-status rule of steps",
    ),
    (
        "step-foreign",
        "H",
        "spec-facts §11: every step carries its run's ids",
        "a listed step names another run, thread or assistant",
    ),
    (
        "step-disappeared",
        "H",
        "the kit is the only client; no endpoint deletes a step",
        "a step listed before is no longer listed",
    ),
    (
        "step-status-move",
        "H",
        "the step table (runstate.steps.STEP_TRANSITIONS): an ended step never moves",
        "a step's status moved where the step table allows no move",
    ),
    (
        "step-changed",
        "M",
        "spec-facts §11: a step keeps its type, creation time and message; an ended step is final",
        "a step's type, creation time or message id changed, or an ended step changed",
    ),
    (
        "step-time-order",
        "M",
        "spec field semantics; spec-facts §11: the run's terminal event comes after every step's",
        "a step was created before its run, or ended after its run ended",
    ),
    (
        "step-opened-not-in-progress",
        "M",
        "spec-facts §11: steps follow the run's in_progress (runstate.advance)",
        "a step appeared while the run was not in_progress",
    ),
    (
        "step-open-at-run-end",
        "M",
        "spec-facts §11 (H for completed); §1.6 for expired; the step statuses",
        "a step is still in_progress once its run has ended",
    ),
    (
        "step-end-status",
        "M",
        "RUN_END_EFFECTS rows H or M (complete, mark_incomplete)",
        "an open step ended with its run in another status than RUN_END_EFFECTS says",
    ),
    (
        "step-end-status-weak",
        "L",
        "RUN_END_EFFECTS rows L (finish_cancel, fail, expire): inferred",
        "an open step ended with its run in another status than RUN_END_EFFECTS says",
    ),
    (
        "step-tool-calls",
        "H",
        "spec-facts §11: the tool_calls step stays open through requires_action",
        "at requires_action no tool_calls step is open holding the required calls",
    ),
    (
        "step-tool-outputs",
        "H",
        "spec-facts §11: the submit completes the tool_calls step, outputs attached",
        "after accepted tool outputs the tool_calls step is not completed with them",
    ),
    (
        "step-moved",
        "H",
        "the kit is the only client; runstate.advance moves no step here",
        "a step changed on a request or worker move that leaves steps as they are",
    ),
    (
        "step-moved-on-cancel",
        "L",
        "RUN_END_EFFECTS: a cancel leaves steps open until it takes effect (inferred)",
        "a step moved when the run became cancelling",
    ),
    (
        "step-stream",
        "H",
        "runstate.check_trace(mode='stream') over the run's steps, replayed",
        "the run's history with its steps, replayed as one stream, breaks the lifecycle",
    ),
)

#: The names in :data:`RULES` about run steps: checked only when the implementation has
#: :meth:`Implementation.list_steps`.
STEP_RULES: Final[frozenset[str]] = frozenset(
    name for name in RULES if name.startswith(("step-", "steps-"))
)


# --------------------------------------------------------------------------------------
# Failures and the report


class ConformanceFailure(AssertionError):
    """An implementation answered differently from the reference.

    The message starts with the rule's tag (name, grade, evidence), then says which
    operation, on a run in which status, what was expected and what came back.

    Attributes:
        operation: What the kit did, like ``cancel on a 'completed' run (run_1)``.
        problem: What was expected and what came back.
        rule: The :class:`Rule` broken, or ``None`` (for a report's summary).
        steps: The program that led there, as hypothesis prints it
            (``state.create_run(thread=0)``, ...).

    Example:
        >>> err = ConformanceFailure("cancel on a 'completed' run (run_1)",
        ...                          "expected 400 {...}, got 200 status 'cancelling'",
        ...                          rule=RULES["cancel-accepted"])
        >>> str(err).split(": ", 2)[0]
        'cancel-accepted (error, evidence H)'
        >>> err.rule.grade, err.operation
        ('error', "cancel on a 'completed' run (run_1)")
    """

    def __init__(
        self,
        operation: str,
        problem: str,
        *,
        rule: Rule | None = None,
        steps: Sequence[str] = (),
    ) -> None:
        self.operation = operation
        self.problem = problem
        self.rule = rule
        self.steps = tuple(steps)
        text = f"{operation}: {problem}"
        super().__init__(f"{rule.tag}: {text}" if rule is not None else text)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle, copy and deepcopy rebuild it as it is (its __init__ takes fields).
        return reduce_exception(self)


@attrs.frozen
class Divergence:
    """One distinct divergence a survey found, with the minimal program that shows it.

    Attributes:
        rule: The rule broken; ``rule.name`` is what ``accept=`` takes.
        operation: The operation of the minimal example.
        problem: What was expected and what came back, in the minimal example.
        steps: The minimal program, as hypothesis prints it.
        count: How often it was seen in the survey's last round (all rules tolerated).
    """

    rule: Rule
    operation: str
    problem: str
    steps: tuple[str, ...]
    count: int = 0

    def __str__(self) -> str:
        head = f"{self.rule.tag}, seen {self.count} times: {self.operation}: {self.problem}"
        return head + "".join(f"\n    {s}" for s in self.steps)


#: (operation, status before) -> (made, tried): how often the kit tried the operation on
#: a run in that status, and how often runstate accepted it there.
Reach: TypeAlias = Mapping[tuple[str, str], tuple[int, int]]

#: The operations the reach table counts, in its row order.
REACH_OPERATIONS: Final[tuple[str, ...]] = ("cancel", "submit_tool_outputs", *STEP_KINDS)


@attrs.frozen
class ConformanceReport:
    """What a survey found: every divergence, the accepted ones' counts, and the reach.

    Attributes:
        label: The implementation's name.
        divergences: Every distinct divergence found that was not accepted, errors and
            warnings, in the order found, each with its minimal program.
        accepted: For each name given in ``accept=``, how often it was seen.
        reach: (operation, status before) -> (made, tried), over the last round.
        examples: Test cases run in the last round (the full ``max_examples``).
        rounds: Hypothesis searches made: one per divergence found, plus the last.
        seconds: Wall time of the whole survey.
        steps_checked: Whether the implementation listed run steps (it has
            :meth:`Implementation.list_steps`), so that the kit checked them
            (:data:`STEP_RULES`); the summary says when it did not.

    Example:
        >>> report = ConformanceReport(label="Nothing", divergences=(), accepted={},
        ...                            reach={}, examples=0, rounds=1, seconds=0.0)
        >>> report.ok, report.summary().splitlines()[0]
        (True, 'runstate conformance of Nothing: no divergence; 0 examples, 1 round, 0.0 s')
    """

    label: str
    divergences: tuple[Divergence, ...]
    accepted: Mapping[str, int]
    reach: Reach
    examples: int
    rounds: int
    seconds: float
    steps_checked: bool = True

    @property
    def errors(self) -> tuple[Divergence, ...]:
        """The divergences that fail the survey: those graded ``error``."""
        return tuple(d for d in self.divergences if d.rule.grade == "error")

    @property
    def warnings(self) -> tuple[Divergence, ...]:
        """The divergences graded ``warning``: reported, not failing."""
        return tuple(d for d in self.divergences if d.rule.grade == "warning")

    @property
    def ok(self) -> bool:
        """Whether the survey passes: no divergence graded ``error`` beyond those accepted."""
        return not self.errors

    def summary(self) -> str:
        """Every divergence with its minimal program, then the accepted counts."""
        found = len(self.divergences)
        if found:
            head = (
                f"{found} divergence{'s' * (found != 1)} ({len(self.errors)} error"
                f"{'s' * (len(self.errors) != 1)}, {len(self.warnings)} warning"
                f"{'s' * (len(self.warnings) != 1)})"
            )
        else:
            head = "no divergence"
        lines = [
            f"runstate conformance of {self.label}: {head}; {self.examples} examples, "
            f"{self.rounds} round{'s' * (self.rounds != 1)}, {self.seconds:.1f} s"
        ]
        lines += [f"  {d}" for d in self.divergences]
        if not self.steps_checked:
            lines.append("steps: not checked (the implementation has no list_steps)")
        if self.accepted:
            total = sum(self.accepted.values())
            names = ", ".join(f"{n} x{c}" for n, c in sorted(self.accepted.items()))
            lines.append(f"accepted: {len(self.accepted)} ({total} occurrences): {names}")
        return "\n".join(lines)

    def reach_table(self) -> str:
        """The reach as a Markdown table: ``made/tried`` per operation and status.

        ``made`` counts the times runstate accepted the operation from that status (the
        run moved), ``tried`` every attempt; refused attempts check the refusals.
        """
        statuses = [s.value for s in RunStatus]
        lines = [
            "| operation | " + " | ".join(statuses) + " |",
            "|---|" + "---|" * len(statuses),
        ]
        for op in REACH_OPERATIONS:
            cells = []
            for status in statuses:
                made, tried = self.reach.get((op, status), (0, 0))
                cells.append(f"{made}/{tried}")
            lines.append(f"| {op} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def raise_if_failed(self) -> None:
        """Raise :class:`DivergencesFound` unless :attr:`ok`.

        Raises:
            DivergencesFound: listing every divergence (the summary is its message).
        """
        if not self.ok:
            raise DivergencesFound(self)


class DivergencesFound(ConformanceFailure):
    """A survey found divergences graded ``error``; the message is the report's summary.

    Attributes:
        report: The :class:`ConformanceReport`.
    """

    def __init__(self, report: ConformanceReport) -> None:
        self.report = report
        first = report.errors[0]
        super().__init__(first.operation, first.problem, rule=first.rule, steps=first.steps)
        self.args = (report.summary(),)

    def __str__(self) -> str:
        return self.report.summary()


# --------------------------------------------------------------------------------------
# What the kit asks for

#: The assistant id runs are created with, unless the implementation has a
#: ``create_assistant()`` method or ``assistant_id=`` names another.
DEFAULT_ASSISTANT_ID: Final = "asst_runstate_conformance"
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
#: The ways to submit tool outputs the kit tries: the right ones, in reverse order
#: (accepted: the order does not matter), and three that must be refused.
_SUBMISSIONS: Final = ("all", "reversed", "one_missing", "unknown_id", "one_twice")

#: The timestamp each worker step sets to the server's ``now``.
_STAMPED: Final[Mapping[str, str]] = {
    "start": "started_at",
    "complete": "completed_at",
    "mark_incomplete": "completed_at",
    "fail": "failed_at",
    "finish_cancel": "cancelled_at",
}
_CONFIDENCE: Final[Mapping[tuple[RunStatus, RunStatus], str]] = {
    (e.source, e.target): e.confidence for e in EDGES
}
_CANCELLING: Final = RunStatus.CANCELLING
_IN_PROGRESS: Final = RunStatus.IN_PROGRESS


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


def _busy(thread_id: str, run: Run) -> ThreadBusy:
    """The thread lock's refusal naming ``run``."""
    try:
        ops.ensure_can_create_run(thread_id, [run])
    except ThreadBusy as err:
        return err
    raise AssertionError(f"{run.id} does not lock {thread_id}")  # pragma: no cover


def _latest(run: Run) -> int:
    """The run's latest timestamp: any sane ``now`` for it is at or after this."""
    stamps = (run.created_at, run.started_at, run.cancelled_at, run.failed_at, run.completed_at)
    return max(s for s in stamps if s is not None)


# --------------------------------------------------------------------------------------
# Reporting helpers


def _a(status: RunStatus) -> str:
    article = "an" if status.value[0] in "aeiou" else "a"
    return f"{article} {status.value!r}"


#: A bounded ``repr``: a body nested too deep for ``json.dumps`` (and for ``repr``,
#: which recurses too) is shown to a few levels.
_SHORT_REPR: Final = reprlib.Repr()
_SHORT_REPR.maxlevel = 4
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 200


def _json(value: object, limit: int = 400) -> str:
    try:
        text = json.dumps(value, default=_SHORT_REPR.repr)
    except (TypeError, ValueError, RecursionError):
        text = _SHORT_REPR.repr(value)
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


def _diff(expected: Any, got: Any, path: str, out: list[tuple[str, str]]) -> None:
    """Append ``(path, line)`` per difference between two JSON values, by field path."""
    if isinstance(expected, Mapping) and isinstance(got, Mapping):
        for key, value in expected.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in got:
                out.append((sub, f"{sub}: expected {_json(value, 200)}, got nothing (key missing)"))
            else:
                _diff(value, got[key], sub, out)
        for key, value in got.items():
            if key not in expected:
                sub = f"{path}.{key}" if path else str(key)
                out.append((sub, f"{sub}: expected no such key, got {_json(value, 200)}"))
        return
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            _diff(e, g, f"{path}[{i}]", out)
        return
    if expected != got or (type(expected) is bool) != (type(got) is bool):
        out.append((path, f"{path or '$'}: expected {_json(expected, 200)}, got {_json(got, 200)}"))


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
        except (ValueError, RecursionError):
            return status, body  # reported as a body that is not the expected JSON
    return status, body


def _success(status: int) -> bool:
    return 200 <= status < 300


# --------------------------------------------------------------------------------------
# Run steps: what the kit knows of a run's steps, and what runstate makes of a move


@attrs.define
class _StepView:
    """A run's steps at the kit's last listing of them, with the run then.

    ``steps`` are in creation order. ``hidden`` holds the steps first listed already
    ended (opened and ended between two listings): the replayed stream leaves them out,
    since it never saw them open. ``checker`` replays the run's history as one stream;
    ``None`` once the history is no longer a lifecycle (a tolerated divergence).
    """

    run: Run
    steps: tuple[RunStep, ...]
    hidden: frozenset[str]
    checker: TraceChecker | None


_PLACEHOLDER_STEP: Final = "step_runstate_kit_expected"
#: The default ``limit`` of a list endpoint: a page holds at most this many steps.
_PAGE_LIMIT: Final = 20
_OPEN: Final = StepStatus.IN_PROGRESS


def _call_view(step: RunStep) -> list[tuple[object, ...]]:
    """A ``tool_calls`` step's function calls as ``(id, name, arguments, output)``."""
    details = step.step_details
    if type(details) is not ToolCallsDetails:
        return []
    return [
        (c.id, c.function.name, c.function.arguments, c.function.output)
        for c in details.tool_calls
        if type(c) is FunctionToolCall
    ]


def _expected_life(
    before: _StepView, after: Run, new: Sequence[RunStep], outputs: object
) -> tuple[str | None, RunLife | None]:
    """The run operation between two listings, and what runstate makes of the steps.

    The steps are what :func:`runstate.advance` makes of the earlier ones with the
    operation (``None`` where runstate cannot say).

    The operation is read from the run's move (:data:`runstate.OPERATION_FOR_TARGET`):
    the kit lists steps after every request, so a run makes at most one move between
    two listings. Its arguments are the ones the run itself shows (tool calls, error,
    reason, usage) and, for a submit, the outputs the kit sent. A run that does not show
    them (``required_action`` or ``incomplete_details.reason`` null, say), or that
    breaks a per-status rule, gives no expectation: the run rules report it, and the
    steps are not compared.
    """
    run = before.run
    if run.status is after.status:
        return None, RunLife(run=run, steps=before.steps)
    if not can_transition(run.status, after.status):
        return None, None  # pragma: no cover - listings follow every move
    op = OPERATION_FOR_TARGET[after.status]
    if any(v.severity == "error" for v in violations(after)):
        return op, None
    arguments: dict[str, Any] = {}
    if op == "require_action":
        if after.required_action is None:  # pragma: no cover - a per-status rule
            return op, None
        opened = [s.id for s in new if s.type == "tool_calls" and s.status is _OPEN]
        arguments = {
            "tool_calls": after.required_action.submit_tool_outputs.tool_calls,
            "step_id": opened[0] if opened else _PLACEHOLDER_STEP,
        }
    elif op == "submit_tool_outputs":
        if outputs is None:
            return op, None  # pragma: no cover - the kit submits before it lists
        arguments = {"tool_outputs": outputs}
    elif op == "fail":
        if after.last_error is None:  # pragma: no cover - a per-status rule
            return op, None
        arguments = {"error": after.last_error, "usage": after.usage}
    elif op == "mark_incomplete":
        details = after.incomplete_details
        if details is None or details.reason is None:  # the spec allows no reason
            return op, None
        arguments = {"reason": details.reason, "usage": after.usage}
    elif op in ("complete", "finish_cancel"):
        arguments = {"usage": after.usage}
    stamps = [_latest(run), _latest(after), *(s.created_at for s in before.steps)]
    if op == "expire" and run.expires_at is not None:
        stamps.append(run.expires_at)
    try:
        return op, advance(run, before.steps, op, now=max(stamps), **arguments)
    except Error:
        return op, None  # steps runstate cannot move (after a tolerated divergence)


def _step_diff(old: RunStep, new: RunStep) -> str:
    diffs: list[tuple[str, str]] = []
    _diff(dump_step(old), dump_step(new), "", diffs)
    return f"{new.id}: " + "; ".join(line for _, line in diffs[:4])


def _off_page(
    view: _StepView, listed: Mapping[str, RunStep], life: RunLife | None
) -> list[RunStep]:
    """The known steps off the first page: what runstate.advance made of them, if known.

    They are not held against the server: the view (and the replayed stream) carries
    runstate's expectation for them, or their last listed copy where runstate cannot say.
    """
    expected = {s.id: s for s in life.steps} if life is not None else {}
    return [expected.get(s.id, s) for s in view.steps if s.id not in listed]


def _last_open_tool_step(steps: Sequence[RunStep]) -> str | None:
    """The open ``tool_calls`` step :func:`runstate.advance` works on (the latest)."""
    return next(
        (s.id for s in reversed(steps) if s.type == "tool_calls" and s.status is _OPEN), None
    )


def _touched(op: str | None, before: Sequence[RunStep], life: RunLife) -> frozenset[str]:
    """The steps the run's operation moves: the rest may move on their own in between.

    ``require_action`` works on the open ``tool_calls`` step (the one it opens, or the
    open one it fills), a submit on the open ``tool_calls`` step it completes, an end of
    the run on every open step; ``cancel`` and ``start`` on none.
    """
    if op is not None and op in RUN_END_EFFECTS:
        return frozenset(s.id for s in before if s.status is _OPEN)
    found = None
    if op == "require_action":
        found = _last_open_tool_step(life.steps)
    elif op == "submit_tool_outputs":
        found = _last_open_tool_step(before)
    return frozenset(() if found is None else (found,))


def _moved_rule(op: str | None, listed: RunStep, touched: bool) -> str:
    """The rule a step breaks by not being what runstate's ``op`` made of it."""
    if touched and op is not None and op in RUN_END_EFFECTS:
        if listed.status is _OPEN:  # pragma: no cover - _check_known names it first
            return "step-open-at-run-end"
        weak = RUN_END_EFFECTS[op].confidence == "L"
        return "step-end-status-weak" if weak else "step-end-status"
    if touched and op == "require_action":
        return "step-tool-calls"
    if touched and op == "submit_tool_outputs":
        return "step-tool-outputs"
    if op == "cancel":
        return "step-moved-on-cancel"
    return "step-moved"


def _message_id(step: RunStep) -> str | None:
    """A ``message_creation`` step's message: part of the step's identity."""
    details = step.step_details
    if type(details) is MessageCreationDetails:
        return details.message_creation.message_id
    return None


def _end_stamp(item: RunStep | Run) -> int | None:
    """When a step or run ended, where it says (an expired one does not)."""
    stamps = [s for s in (item.completed_at, item.cancelled_at, item.failed_at) if s is not None]
    return max(stamps) if stamps else None


# --------------------------------------------------------------------------------------
# The state machine


class _Tally:
    """What one hypothesis search saw: divergences by name, reach, test cases."""

    def __init__(self) -> None:
        self.seen: collections.Counter[str] = collections.Counter()
        self.reach: dict[tuple[str, str], list[int]] = {}
        self.cases = 0
        #: Whether the implementation lists steps (set by each test case).
        self.steps_checked = False

    def reached(self, op: str, status: RunStatus, made: bool) -> None:
        cell = self.reach.setdefault((op, status.value), [0, 0])
        cell[0] += made
        cell[1] += 1


class _Options(NamedTuple):
    factory: Callable[[], Implementation]
    documented_only: bool
    probe_unknown_fields: bool
    steps: frozenset[StepKind]
    assistant_id: str
    tolerated: frozenset[str]
    tally: _Tally


#: (operation, kind) -> rule name, where it is not simply f"{operation}-{kind}".
_NAMES: Final[Mapping[tuple[str, str], str]] = {
    ("create", "target"): "create-fields",
    ("retrieve", "target"): "retrieve-changed",
    ("retrieve", "fields"): "retrieve-changed",
    ("recheck", "target"): "refusal-changed-run",
    ("recheck", "fields"): "refusal-changed-run",
    ("recheck", "status"): "retrieve-status",
    ("recheck", "refused"): "retrieve-refused",
    ("drive", "status"): "",  # the drive hook is the implementation's own: any 2xx
}


def _name(op: str, kind: str) -> str:
    return _NAMES.get((op, kind), f"{op}-{kind}")


class _Conformance(RuleBasedStateMachine):
    """Drives one fresh implementation; each run's reference is its last good response.

    Requests go to the latest run created (older runs on the other thread keep holding
    their thread's lock), which keeps the printed steps free of ids: a minimal failure
    reads ``create_run(thread=0)``, ``drive_start()``, ``drive_complete()``, ``cancel()``.

    A divergence whose name is tolerated is counted, and the machine goes on from what
    the implementation answered (its run becomes the reference), so that one search can
    look past it for the next.
    """

    options: ClassVar[_Options]

    def __init__(self) -> None:
        super().__init__()
        opts = self.options
        impl = opts.factory()
        needed = _REQUIRED + (("drive",) if opts.steps else ())
        missing = [m for m in needed if not callable(getattr(impl, m, None))]
        if missing:
            raise InvalidArgument(
                f"the factory returned {impl!r}, which lacks {', '.join(missing)}: "
                "see runstate.testing.Implementation"
            )
        self.impl = impl
        self.tally = opts.tally
        self.tally.cases += 1
        #: The steps so far, as hypothesis prints them (attached to failures).
        self.program: list[str] = []
        create_assistant = getattr(impl, "create_assistant", None)
        self.assistant_id = create_assistant() if callable(create_assistant) else opts.assistant_id
        if not isinstance(self.assistant_id, str):
            raise InvalidArgument(
                f"create_assistant() returned {self.assistant_id!r}; expected an id string"
            )
        self.threads = (impl.create_thread(), impl.create_thread())
        #: run id -> the reference: the last response the kit accepted for it.
        self.ref: dict[str, Run] = {}
        #: The run the next requests go to.
        self.latest: str | None = None
        self.calls = 0
        self.asked = 0
        #: Runs adopted after a tolerated divergence moved them off the table: their
        #: history is no longer a lifecycle, so it is not checked as a poll trace.
        self.off_table: set[str] = set()
        list_steps = getattr(impl, "list_steps", None)
        #: The implementation's ``list_steps``, or ``None``: steps are then not checked.
        self.list_steps: Callable[[str, str], Response] | None = (
            list_steps if callable(list_steps) else None
        )
        self.tally.steps_checked = self.list_steps is not None
        #: run id -> its steps at the last listing.
        self.views: dict[str, _StepView] = {}
        #: Runs whose last listing was malformed: the next one is not compared move by
        #: move, and their replayed stream stops (it has a hole).
        self.gaps: set[str] = set()

    def teardown(self) -> None:
        close = getattr(self.impl, "close", None)
        if callable(close):
            close()

    # -- divergences ----------------------------------------------------------------------

    def _diverge(self, name: str, what: str, problem: str) -> None:
        """Count a divergence; raise it unless its name is tolerated."""
        self.tally.seen[name] += 1
        if name not in self.options.tolerated:
            raise ConformanceFailure(what, problem, rule=RULES[name], steps=self.program)

    def _log(self, call: str) -> None:
        self.program.append(f"state.{call}")

    # -- rules ----------------------------------------------------------------------------
    #
    # The rules that make progress have preconditions on the focused run's status, so
    # that they are drawn when they can succeed: tool rounds, cancels racing a completion
    # and expiries are common. The ``*_anywhere`` rules try every operation on every
    # status, which checks the refusals.

    @rule(thread=st.sampled_from((0, 1)))
    def create_run(self, thread: int) -> None:
        self._log(f"create_run(thread={thread})")
        thread_id = self.threads[thread]
        on_thread = [r for r in self.ref.values() if r.thread_id == thread_id]
        active = next((r for r in on_thread if r.status in ACTIVE_STATUSES), None)
        extra = _PROBE if self.options.probe_unknown_fields else {}
        response = _unpack(
            "create_run",
            self.impl.create_run(
                thread_id,
                assistant_id=self.assistant_id,
                metadata=dict(_METADATA),
                extra=extra,
            ),
        )
        if active is not None and active.status is _CANCELLING and _success(response[0]):
            # The cancel may have taken effect on its own, freeing the thread.
            active = self._settle(active)
            on_thread = [r for r in self.ref.values() if r.thread_id == thread_id]
            if active.status not in ACTIVE_STATUSES:
                active = None
        what = f"create run on thread {thread_id!r}"
        if active is not None:
            what += f" (its run {active.id} is {active.status.value!r})"
        try:
            ops.ensure_can_create_run(thread_id, on_thread)
        except ThreadBusy as busy:
            assert active is not None
            err = busy
            # After a tolerated thread-lock divergence a thread may hold several active
            # runs: a refusal naming any of them is right.
            for other in on_thread:
                if other.status in ACTIVE_STATUSES and other is not active:
                    alternative = _busy(thread_id, other)
                    if response == (alternative.http_status, alternative.to_api_error()):
                        active, err = other, alternative
            if _success(response[0]):
                lock = "thread-lock-cancelling" if active.status is _CANCELLING else "thread-lock"
                self._diverge(
                    lock,
                    what,
                    f"expected {err.http_status} {_json(err.to_api_error())}, "
                    f"got {_describe(*response)}",
                )
                run = self._run_of(response)
                if run is not None and run.id not in self.ref:
                    self.ref[run.id] = run
                    self.latest = run.id
                    self._observe_steps(run.id, what)
                return
            self._expect_refusal(what, response, err, active.id)
            return
        run = self._expect_created(what, response, thread_id, extra)
        if run is not None:
            self.latest = run.id
            self._observe_steps(run.id, what)

    @precondition(lambda self: self.latest is not None and self.ref[self.latest].status.is_terminal)
    @rule(thread=st.sampled_from((0, 1)))
    def create_next_run(self, thread: int) -> None:
        """Create a run once the focused run has ended: runs live one after another."""
        self.create_run(thread)

    @precondition(lambda self: self.latest is not None)
    @rule()
    def retrieve(self) -> None:
        """Retrieve the latest runs: a request on one run must not change another.

        The last four runs created (both threads' latest among them) are enough to
        catch a request leaking into another run, and keep the cost of a step flat when
        an implementation without a thread lock piles runs up.
        """
        self._log("retrieve()")
        for run_id in list(self.ref)[-4:]:
            before = self.ref[run_id]
            response = _unpack("retrieve_run", self.impl.retrieve_run(before.thread_id, run_id))
            if before.status is _CANCELLING and self._settle(before, response) is not before:
                continue  # the cancel took effect on its own, and was checked as such
            what = f"retrieve of {_a(before.status)} run ({run_id})"
            self._expect_run("retrieve", what, response, before, before)
        latest = self._focus()
        self._observe_steps(latest.id, f"retrieve of {_a(latest.status)} run ({latest.id})")

    @precondition(lambda self: self.latest is not None)
    @rule()
    def cancel(self) -> None:
        self._log("cancel()")
        run_id = self._focus().id
        self._observe_steps(run_id, self._cancel())

    def _cancel(self) -> str:
        before = self._focus()
        documented = self.options.documented_only
        response = _unpack("cancel_run", self.impl.cancel_run(before.thread_id, before.id))

        def expect(run: Run) -> Run | APIError:
            decision = ops.check_cancel(run, documented_only=documented)
            if decision.error is not None:
                return decision.error
            return ops.cancel(run, now=_latest(run), documented_only=documented)

        before = self._settled(before, response, expect(before))
        expected = expect(before)
        what = f"cancel on {_a(before.status)} run ({before.id})"
        self.tally.reached("cancel", before.status, isinstance(expected, Run))
        if isinstance(expected, APIError):
            accepted = (
                "cancel-accepted-cancelling" if before.status is _CANCELLING else "cancel-accepted"
            )
            self._expect_refusal(what, response, expected, before.id, accepted)
            return what
        self._expect_run("cancel", what, response, expected, before)
        return what

    @precondition(lambda self: self._focus_in(RunStatus.IN_PROGRESS, RunStatus.REQUIRES_ACTION))
    @rule()
    def cancel_started(self) -> None:
        """Cancel a run that started: the cancel may then race a completion."""
        self.cancel()

    @precondition(lambda self: self._focus_in(RunStatus.REQUIRES_ACTION))
    @rule()
    def submit_tool_outputs(self) -> None:
        """Submit one output per pending tool call, as a client should."""
        self._log("submit_tool_outputs()")
        self._submit("all")

    @precondition(lambda self: self._focus_in(RunStatus.REQUIRES_ACTION))
    @rule(how=st.sampled_from(_SUBMISSIONS[1:]))
    def submit_wrong_tool_outputs(self, how: str) -> None:
        """Submit outputs in another order, or with a call missing, unknown or twice."""
        self._log(f"submit_wrong_tool_outputs(how={how!r})")
        self._submit(how)

    @precondition(lambda self: self.latest is not None)
    @rule(how=st.sampled_from(_SUBMISSIONS))
    def submit_anywhere(self, how: str) -> None:
        """Submit outputs on any status: right, reordered, one missing, unknown or twice."""
        self._log(f"submit_anywhere(how={how!r})")
        self._submit(how)

    def _submit(self, how: str) -> None:
        run_id = self._focus().id
        what, tool_outputs = self._submit_now(how)
        self._observe_steps(run_id, what, tool_outputs)

    def _submit_now(self, how: str) -> tuple[str, list[dict[str, str]]]:
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
        }[how]
        tool_outputs = [{"tool_call_id": i, "output": f"result of {i}"} for i in ids]
        response = _unpack(
            "submit_tool_outputs",
            self.impl.submit_tool_outputs(before.thread_id, before.id, tool_outputs),
        )

        def expect(run: Run) -> Run | APIError:
            try:
                return ops.submit_tool_outputs(run, tool_outputs, now=_latest(run))
            except APIError as err:
                return err

        before = self._settled(before, response, expect(before))
        expected = expect(before)
        what = f"submit_tool_outputs {ids} on {_a(before.status)} run ({before.id})"
        self.tally.reached("submit_tool_outputs", before.status, isinstance(expected, Run))
        if isinstance(expected, APIError):
            if before.status is not RunStatus.REQUIRES_ACTION:
                accepted = "submit-accepted"
            elif how == "unknown_id":
                accepted = "submit-unknown-id-accepted"
            else:
                accepted = "submit-ids-accepted"
            self._expect_refusal(what, response, expected, before.id, accepted)
            return what, tool_outputs
        self._expect_run("submit", what, response, expected, before)
        return what, tool_outputs

    # The worker's moves: one rule per usual move, drawn when the focused run's status
    # allows it; the unusual endings (fail, a token limit, expiry) share one, so that runs
    # live long enough to go round the tool-output loop; ``drive_anywhere`` tries every
    # move on every status. Hypothesis' swarm testing switches whole rules off for some
    # test cases, which reaches deeper still. A step left out of ``steps=`` is a no-op.

    @precondition(lambda self: self._focus_in(RunStatus.QUEUED))
    @rule()
    def drive_start(self) -> None:
        self._drive("start")

    @precondition(lambda self: self._focus_in(RunStatus.IN_PROGRESS))
    @rule()
    def drive_require_action(self) -> None:
        self._drive("require_action")

    @precondition(lambda self: self._focus_in(RunStatus.IN_PROGRESS, _CANCELLING))
    @rule()
    def drive_complete(self) -> None:
        self._drive("complete")

    @precondition(lambda self: self._focus_in(_CANCELLING))
    @rule()
    def drive_finish_cancel(self) -> None:
        self._drive("finish_cancel")

    @precondition(lambda self: self._focus_in(*ACTIVE_STATUSES))
    @rule(step=st.sampled_from(_UNUSUAL_ENDINGS))
    def drive_end(self, step: StepKind) -> None:
        self._drive(step, f"drive_end(step={step!r})")

    @precondition(lambda self: self._focus_in(RunStatus.REQUIRES_ACTION, _CANCELLING))
    @rule(step=st.sampled_from(_UNUSUAL_ENDINGS))
    def drive_end_late(self, step: StepKind) -> None:
        """End a run waiting for tool outputs or for its cancel: the rarest endings."""
        self._drive(step, f"drive_end_late(step={step!r})")

    @precondition(lambda self: self.latest is not None)
    @rule(step=st.sampled_from(STEP_KINDS))
    def drive_anywhere(self, step: StepKind) -> None:
        self._drive(step, f"drive_anywhere(step={step!r})")

    # Weights. Hypothesis draws uniformly among the rules whose preconditions hold; a
    # rule also listed under a second name is drawn that much more often (and still
    # prints under its own name). The moves that make progress get two to four shares:
    # tool rounds most, so that runs go round the loop before they end.
    _submit_2 = _submit_3 = _submit_4 = submit_tool_outputs
    _drive_start_2 = _drive_start_3 = drive_start
    _drive_require_action_2 = _drive_require_action_3 = _drive_require_action_4 = (
        drive_require_action
    )
    _drive_complete_2 = drive_complete
    _submit_wrong_tool_outputs_2 = submit_wrong_tool_outputs
    _drive_finish_cancel_2 = drive_finish_cancel
    _cancel_started_2 = cancel_started
    _drive_end_2 = drive_end
    _drive_end_late_2 = _drive_end_late_3 = drive_end_late
    _create_next_run_2 = create_next_run

    def _focus_in(self, *statuses: RunStatus) -> bool:
        return self.latest is not None and self.ref[self.latest].status in statuses

    def _focus(self) -> Run:
        assert self.latest is not None
        return self.ref[self.latest]

    def _drive(self, kind: StepKind, call: str | None = None) -> None:
        self._log(call or f"drive_{kind}()")
        if kind not in self.options.steps:
            return
        run_id = self._focus().id
        self._observe_steps(run_id, self._drive_now(kind))

    def _drive_now(self, kind: StepKind) -> str:
        before = self._focus()
        payload = self._step(kind)
        response = _unpack("drive", self.impl.drive(before.thread_id, before.id, payload))

        def expect(run: Run) -> Run | None:
            try:
                return _reference_step(run, payload, _latest(run))
            except TransitionError:
                return None

        first = expect(before)
        before = self._settled(before, response, first if first is not None else "4xx")
        what = f"drive {kind!r} on {_a(before.status)} run ({before.id})"
        expected = expect(before)
        self.tally.reached(kind, before.status, expected is not None)
        if expected is None:
            # A worker move the table forbids has no API answer: any 4xx will do, and
            # the run must stay as it was.
            status = response[0]
            if _success(status):
                self._diverge(
                    "drive-accepted", what, f"expected a 4xx refusal, got {_describe(*response)}"
                )
                run = self._run_of(response)
                if run is not None and run.id == before.id:
                    self.ref[run.id] = run
                    self.off_table.add(run.id)
                return what
            if not 400 <= status < 500:
                self._diverge(
                    "refusal-status", what, f"expected a 4xx refusal, got {_describe(*response)}"
                )
            self._check_unchanged(what, before.id)
            return what
        if not _success(response[0]):
            weak = _CONFIDENCE.get((before.status, expected.status)) == "L"
            self._diverge(
                "drive-refused-weak" if weak else "drive-refused",
                what,
                f"expected 200 status {expected.status.value!r}, got {_describe(*response)}",
            )
            return what
        self._expect_step("drive", what, before, payload, response)
        return what

    def _expect_step(
        self, op: str, what: str, before: Run, payload: Step, response: tuple[int, Any]
    ) -> None:
        """Check a worker step's result; its timestamp is the server's, at or after ours."""
        now = _latest(before)
        expected = _reference_step(before, payload, now)
        stamp = _STAMPED.get(payload.kind)
        late: list[str] = []
        if stamp is not None:
            body = response[1]
            value = body.get(stamp) if isinstance(body, Mapping) else None
            if type(value) is int and value >= now:
                expected = _reference_step(before, payload, value)
            elif isinstance(body, Mapping) and "status" in body:
                late.append(
                    f"{stamp}: expected a timestamp at or after {now} (the run's latest "
                    f"before the step), got {_json(value)}"
                )
        self._expect_run(
            op, what, response, expected, before, ignore=stamp if late else None, late=late
        )

    # -- run steps ------------------------------------------------------------------------

    def _observe_steps(self, run_id: str | None, what: str, outputs: object = None) -> None:
        """List the run's steps, if the implementation can, and check them.

        Checked against the last listing (``self.views``): each step parses and keeps
        its per-status rules, its run's ids and its place in the run's time; the page is
        newest first; no step disappears or moves against the step table; what the run's
        move did to the steps it works on is what :func:`runstate.advance` does; no step
        is open once the run has ended; and, while nothing else diverged, the run's
        history with its steps, replayed as one stream, passes
        :func:`runstate.check_trace`. A malformed page is reported and compared with
        nothing: the last listing stays the view, and the next listing is not compared
        move by move (the run may have moved twice since).
        """
        if self.list_steps is None or run_id is None or run_id not in self.ref:
            return
        run = self.ref[run_id]
        what = f"list steps after {what}"
        response = _unpack("list_steps", self.list_steps(run.thread_id, run_id))
        page = self._read_page(what, response)
        if page is None:
            self.gaps.add(run_id)
            return
        listed, has_more = page
        view = self.views.get(run_id)
        gap = run_id in self.gaps
        self.gaps.discard(run_id)
        groups: dict[str, list[str]] = {}

        def add(name: str, problem: str) -> None:
            groups.setdefault(name, []).append(problem)

        good = self._check_each(run, listed, add)
        known = {s.id: s for s in view.steps} if view is not None else {}
        order = {s.id: i for i, s in enumerate(view.steps)} if view is not None else {}
        self._check_order(listed, order, add)
        by_id = {s.id: s for s in good}
        gone = [i for i in known if i not in by_id and not has_more]
        if gone:
            add("step-disappeared", f"{gone} listed before, not now")
        new = [s for s in good if s.id not in known]
        flagged: set[str] = set()
        before_status = view.run.status if view is not None else None
        if new and not gap and _IN_PROGRESS not in (before_status, run.status):
            moved = "was created" if before_status is None else f"went {before_status.value!r} ->"
            add(
                "step-opened-not-in-progress",
                f"{[s.id for s in new]} appeared while the run {moved} {run.status.value!r}",
            )
        self._check_known(run, good, known, flagged, add)
        life: RunLife | None = None
        if view is not None and not gap and run_id not in self.off_table:
            op, life = _expected_life(view, run, new, outputs)
            if life is not None:
                self._check_move(view, op, life, new, by_id, flagged, add)
        hidden = set(view.hidden) if view is not None else set()
        hidden.update(s.id for s in new if s.status is not _OPEN)
        steps = tuple(reversed(good))
        checker = view.checker if view is not None else TraceChecker(mode="stream")
        off_page = _off_page(view, by_id, life) if has_more and view is not None else []
        if off_page and life is None:
            checker = None  # where runstate cannot say what became of them, stop
        steps = (*off_page, *steps)
        if groups or gap or run_id in self.off_table:
            checker = None
        new_view = _StepView(run=run, steps=steps, hidden=frozenset(hidden), checker=checker)
        self.views[run_id] = new_view
        for name, problems in groups.items():
            self._diverge(name, what, f"the run is now {run.status.value!r}:" + _lines(problems))
        if checker is not None:
            self._replay(what, view, new_view)

    @staticmethod
    def _check_each(
        run: Run, listed: Sequence[RunStep], add: Callable[[str, str], None]
    ) -> list[RunStep]:
        """Each step on its own; the ones that are the run's (the rest are foreign)."""
        good: list[RunStep] = []
        for step in listed:
            broken = [v for v in step_violations(step) if v.severity == "error"]
            for v in broken:
                add("step-per-status-rules", f"{step.id}: {v.field}: {v.message} [{v.rule}]")
            ids = (step.run_id, step.thread_id, step.assistant_id)
            if ids != (run.id, run.thread_id, run.assistant_id):
                add(
                    "step-foreign",
                    f"{step.id}: run_id, thread_id, assistant_id are {_json(list(ids))}, "
                    f"expected {_json([run.id, run.thread_id, run.assistant_id])}",
                )
                continue
            _Conformance._check_times(run, step, add)
            good.append(step)
        return good

    @staticmethod
    def _check_times(run: Run, step: RunStep, add: Callable[[str, str], None]) -> None:
        """A step is created within its run's life and ends before the run ends."""
        if step.created_at < run.created_at:
            add(
                "step-time-order",
                f"{step.id}: created_at {step.created_at} is before the run's created_at "
                f"{run.created_at}",
            )
        ended = _end_stamp(step)
        run_ended = _end_stamp(run) if run.status.is_terminal else None
        if ended is not None and run_ended is not None and ended > run_ended:
            add(
                "step-time-order",
                f"{step.id}: ended at {ended}, after its {run.status.value!r} run ended "
                f"at {run_ended} (the run's terminal event comes after every step's)",
            )

    @staticmethod
    def _check_known(
        run: Run,
        good: Sequence[RunStep],
        known: Mapping[str, RunStep],
        flagged: set[str],
        add: Callable[[str, str], None],
    ) -> None:
        """Steps move by the step table, keep their identity, and end with the run."""
        for step in good:
            old = known.get(step.id)
            if old is None:
                continue
            if step.status is not old.status and step.status not in STEP_TRANSITIONS[old.status]:
                add(
                    "step-status-move",
                    f"{step.id}: {old.status.value!r} -> {step.status.value!r}",
                )
                flagged.add(step.id)
            elif (step.type, step.created_at, _message_id(step)) != (
                old.type,
                old.created_at,
                _message_id(old),
            ) or (old.status is not _OPEN and step != old):
                add("step-changed", _step_diff(old, step))
                flagged.add(step.id)
        if run.status.is_terminal:
            for step in good:
                if step.status is _OPEN:
                    add(
                        "step-open-at-run-end",
                        f"{step.id} ({step.type}) is 'in_progress' on {_a(run.status)} run",
                    )
                    flagged.add(step.id)

    def _read_page(self, what: str, response: tuple[int, Any]) -> tuple[list[RunStep], bool] | None:
        """The page's steps (newest first) and whether more may be on the next page.

        ``None`` after reporting a page the kit cannot compare: no list of step objects,
        a step that does not parse, or a step listed twice. ``has_more`` is believed only
        on a full page (the default limit, 20): a short page is the whole list.
        """
        status, body = response
        wanted = "200 with a list page of steps"
        if status != 200 or not isinstance(body, Mapping):
            self._diverge("steps-list", what, f"expected {wanted}, got {status} {_json(body)}")
            return None
        data = body.get("data")
        has_more = body.get("has_more")
        problems: list[str] = []
        malformed = False
        if body.get("object") != "list":
            problems.append(f"object: expected 'list', got {_json(body.get('object'))}")
        if not isinstance(data, list):
            shown = _json(data)
            if not isinstance(data, Mapping | str | int | float | None):
                shown = f"a Python {type(data).__name__} {shown}"
            problems.append(f"data: expected an array, got {shown}")
            data = []
            malformed = True
        if type(has_more) is not bool:
            problems.append(f"has_more: expected true or false, got {_json(has_more)}")
        elif has_more and not malformed and len(data) < _PAGE_LIMIT:
            problems.append(
                f"has_more: true on a page of {len(data)} steps, short of the default "
                f"limit of {_PAGE_LIMIT} (so nothing can be on a next page)"
            )
        if len(data) > _PAGE_LIMIT:
            problems.append(
                f"data: {len(data)} steps, more than the default limit of {_PAGE_LIMIT}"
            )
        for key, end in (("first_id", data[:1]), ("last_id", data[-1:])):
            if end and not isinstance(end[0], Mapping):
                continue  # not a step: step-invalid names it
            value = end[0].get("id") if end else None
            if body.get(key) != value:
                problems.append(f"{key}: expected {_json(value)}, got {_json(body.get(key))}")
        steps: list[RunStep] = []
        invalid: list[str] = []
        for i, item in enumerate(data):
            if not isinstance(item, Mapping):
                invalid.append(f"data[{i}]: expected a step object, got {_json(item, 200)}")
                continue
            try:
                steps.append(parse_step(item))
            except InvalidRun as exc:
                invalid.append(f"data[{i}]: " + "; ".join(str(e) for e in exc.errors))
        twice = sorted(i for i, n in collections.Counter(s.id for s in steps).items() if n > 1)
        if twice:
            problems.append(f"data: steps listed more than once: {twice}")
            malformed = True
        if problems:
            self._diverge("steps-list", what, f"expected {wanted}, got:" + _lines(problems))
        if invalid:
            self._diverge("step-invalid", what, "not a valid step:" + _lines(invalid))
        if malformed or invalid:
            return None
        return steps, has_more is True and len(data) >= _PAGE_LIMIT

    def _check_order(
        self,
        listed: Sequence[RunStep],
        order: Mapping[str, int],
        add: Callable[[str, str], None],
    ) -> None:
        """Newest first: ``created_at`` never rises, new steps first, known ones reversed."""
        problems: list[str] = []
        for a, b in itertools.pairwise(listed):
            if a.created_at < b.created_at:
                problems.append(f"{a.id} (created {a.created_at}) before {b.id} ({b.created_at})")
            elif b.id not in order:
                if a.id in order:
                    problems.append(f"{b.id}, new, after {a.id}, listed before")
            elif a.id in order and order[a.id] < order[b.id]:
                problems.append(f"{a.id}, older, before {b.id}")
        if problems:
            add("steps-list-order", "the page is not newest first: " + "; ".join(problems))

    def _check_move(
        self,
        view: _StepView,
        op: str | None,
        life: RunLife,
        new: Sequence[RunStep],
        listed: Mapping[str, RunStep],
        flagged: Collection[str],
        add: Callable[[str, str], None],
    ) -> None:
        """What the run's move did to the steps it works on is what runstate.advance does.

        Only the steps the operation works on (:func:`_touched`) are held to runstate's
        result. The others may have moved on their own in between, as a worker's step
        operations move them (an open step completes: ``finish_message_step``,
        ``complete_tool_calls_step``), but only when the run moved; any other move of
        theirs is reported under the operation's rule for untouched steps.
        """
        before = {s.id: s for s in view.steps}
        touched = _touched(op, view.steps, life)
        for expected in life.steps:
            got = listed.get(expected.id)
            if expected.id in flagged:
                continue
            if got is None:
                if expected.id not in before:  # the tool_calls step advance opened
                    add(
                        "step-tool-calls",
                        "no tool_calls step is open (runstate.advance opens one holding "
                        f"the required calls {[c[0] for c in _call_view(expected)]})",
                    )
                continue
            mine = expected.id in touched
            if got.status is not expected.status:
                if (
                    not mine
                    and op is not None
                    and expected.status is _OPEN
                    and got.status is StepStatus.COMPLETED
                ):
                    continue  # the worker finished it on its own, beside the run's move
                add(
                    _moved_rule(op, got, mine),
                    f"{got.id} ({got.type}): expected {expected.status.value!r} "
                    f"(runstate.advance {op or 'no move'!s}), got {got.status.value!r}",
                )
            elif _call_view(got) != _call_view(expected):
                rule = _moved_rule(op, got, mine)
                if rule in ("step-open-at-run-end", "step-end-status", "step-end-status-weak"):
                    rule = "step-changed"
                add(
                    rule,
                    f"{got.id}: function calls (id, name, arguments, output) expected "
                    f"{_json(_call_view(expected), 300)}, got {_json(_call_view(got), 300)}",
                )

    def _replay(self, what: str, before: _StepView | None, after: _StepView) -> None:
        """Feed this change, as stream events, to the run's replayed stream."""
        checker = after.checker
        assert checker is not None
        hidden = after.hidden
        run = after.run
        shown = [s for s in after.steps if s.id not in hidden]
        try:
            if before is None:
                events = stream_events(None, run, steps_after=shown)
                known: set[str] = set()
            else:
                events = stream_events(
                    before.run,
                    run,
                    steps_before=[s for s in before.steps if s.id not in hidden],
                    steps_after=shown,
                )
                poll = check_trace([before.run, run], mode="poll").problems
                known = {p.rule for p in poll} | {v.rule for v in violations(before.run)}
        except Error as exc:
            after.checker = None
            self._diverge("step-stream", what, f"not one change of the run: {exc}")
            return
        known |= {v.rule for v in violations(run)}
        problems: list[str] = []
        for event in events:
            if event[0] == "done":
                continue  # one stream over the run's whole life: no pause
            for p in checker.feed(event):
                if p.severity == "error" and p.rule not in known:
                    problems.append(f"{p.rule} at {event[0]}: {p.message}")
        if problems:
            after.checker = None
            self._diverge(
                "step-stream",
                what,
                "the run's history with its steps, replayed as one stream, breaks "
                "the lifecycle:" + _lines(problems),
            )

    # -- a cancel that finished on its own -------------------------------------------------

    def _settled(self, before: Run, response: tuple[int, Any], expected: object) -> Run:
        """The reference for ``before``'s run, after a cancel that may have finished.

        The real service may finish a cancel at any time. When a ``cancelling`` run's
        answer is not the one expected, the kit retrieves the run; if it is ``cancelled``
        it is checked as :func:`runstate.finish_cancel` and becomes the reference.
        """
        if before.status is not _CANCELLING or self._as_expected(response, expected):
            return before
        return self._settle(before)

    @staticmethod
    def _as_expected(response: tuple[int, Any], expected: object) -> bool:
        status, body = response
        if isinstance(expected, Run):
            return (
                _success(status)
                and isinstance(body, Mapping)
                and body.get("status") == expected.status.value
            )
        if isinstance(expected, APIError):
            return status == expected.http_status and body == expected.to_api_error()
        return 400 <= status < 500

    def _settle(self, before: Run, response: tuple[int, Any] | None = None) -> Run:
        if response is None:
            response = _unpack("retrieve_run", self.impl.retrieve_run(before.thread_id, before.id))
        body = response[1]
        if not (
            _success(response[0])
            and isinstance(body, Mapping)
            and body.get("status") == RunStatus.CANCELLED.value
        ):
            return before
        usage = body.get("usage")
        step = Step(kind="finish_cancel", usage=usage if isinstance(usage, Mapping) else None)
        what = f"retrieve of a 'cancelling' run ({before.id}) that was cancelled on its own"
        self._expect_step("retrieve", what, before, step, response)
        return self.ref[before.id]

    # -- what the worker is told ----------------------------------------------------------

    def _step(self, kind: StepKind) -> Step:
        if kind == "require_action":
            self.asked += 1
            count = 1 + self.asked % 2  # two calls first, then one, then two...
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

    # -- checks ---------------------------------------------------------------------------

    def _run_of(self, response: tuple[int, Any]) -> Run | None:
        """The response's run if it is a success with a valid run, else ``None``."""
        status, body = response
        if not _success(status) or not isinstance(body, Mapping):
            return None
        try:
            return parse_run(body)
        except InvalidRun:
            return None

    def _parse(self, op: str, what: str, response: tuple[int, Any], wanted: str) -> Run | None:
        """The response as a run, or ``None`` after reporting what came back instead."""
        status, body = response
        if not _success(status):
            self._diverge(
                _name(op, "refused"), what, f"expected {wanted}, got {_describe(status, body)}"
            )
            return None
        if not isinstance(body, Mapping):
            self._diverge(
                "invalid-run",
                what,
                f"expected {wanted}, got {status} with a body that is not a JSON object: "
                f"{_json(body)}",
            )
            return None
        try:
            run = parse_run(body)
        except InvalidRun as exc:
            problems = [str(e) for e in exc.errors]
            self._diverge(
                "invalid-run",
                what,
                f"expected {wanted}, got {status} with a body that is not a valid run:"
                + _lines(problems),
            )
            return None
        if status != 200 and _name(op, "status"):
            self._diverge(
                _name(op, "status"),
                what,
                f"expected {wanted}, got {_describe(status, body)} (a success, but not 200)",
            )
        return run

    def _expect_created(
        self, what: str, response: tuple[int, Any], thread_id: str, extra: Mapping[str, Any]
    ) -> Run | None:
        wanted = "200 status 'queued'"
        run = self._parse("create", what, response, wanted)
        if run is None:
            return None
        if run.id in self.ref:
            self._diverge(
                "create-fields",
                what,
                f"expected a new run, got the id {run.id!r} of an existing run",
            )
            return None
        # The server decides the id, its clock, the model and the defaults; runstate
        # decides the status, what is null on a new run, and that the request's
        # thread, assistant, metadata and unknown fields are kept.
        expected = replace(
            run,
            status=RunStatus.QUEUED,
            thread_id=thread_id,
            assistant_id=self.assistant_id,
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
        self._compare("create", what, wanted, response, run, expected, None)
        self.ref[run.id] = run
        return run

    def _expect_run(
        self,
        op: str,
        what: str,
        response: tuple[int, Any],
        expected: Run,
        before: Run,
        *,
        ignore: str | None = None,
        late: Sequence[str] = (),
    ) -> None:
        wanted = f"200 status {expected.status.value!r}"
        run = self._parse(op, what, response, wanted)
        if run is None:
            return
        if self._compare(op, what, wanted, response, run, expected, before, ignore, late):
            self._accept(what, run)
        else:
            # A tolerated divergence: go on from what came back.
            self.ref[run.id] = run
            if run.status is not expected.status:
                self.off_table.add(run.id)

    def _compare(
        self,
        op: str,
        what: str,
        wanted: str,
        response: tuple[int, Any],
        run: Run,
        expected: Run,
        before: Run | None,
        ignore: str | None = None,
        late: Sequence[str] = (),
    ) -> bool:
        """Report every difference, grouped by rule; whether there was none."""
        got = _describe(response[0], response[1])
        if run.status is not expected.status:
            self._diverge(_name(op, "target"), what, f"expected {wanted}, got {got}")
            return False
        # A cancel from requires_action that keeps required_action: unknown (§8.13).
        kept = (
            op == "cancel"
            and before is not None
            and before.status is RunStatus.REQUIRES_ACTION
            and run.required_action is not None
        )
        groups: dict[str, list[str]] = {}
        if late:
            groups["timestamp-order"] = list(late)
        known = {v.rule for v in violations(before)} if before is not None else set()
        for v in violations(run):
            if v.severity != "error" or v.rule in known:
                continue
            name = (
                "cancel-keeps-required-action"
                if kept and v.field == "required_action"
                else "per-status-rules"
            )
            groups.setdefault(name, []).append(f"{v.field}: {v.message} [{v.rule}]")
        # Equal values dump to equal JSON: compare the JSON only when they differ.
        want, have = ({}, {}) if run == expected else (dump_run(expected), dump_run(run))
        if ignore is not None:
            want.pop(ignore, None)
            have.pop(ignore, None)
        if want != have:
            diffs: list[tuple[str, str]] = []
            _diff(want, have, "", diffs)
            for path, line in diffs:
                if "x_runstate_probe" in path:
                    name = "unknown-fields"
                elif kept and path.startswith("required_action"):
                    name = "cancel-keeps-required-action"
                else:
                    name = _name(op, "fields")
                groups.setdefault(name, []).append(line)
        for name, problems in groups.items():
            self._diverge(name, what, f"expected {wanted}, got {got} but:" + _lines(problems))
        return not groups

    def _accept(self, what: str, run: Run) -> None:
        """Make ``run`` the reference, after checking it follows the previous as a poll."""
        previous = self.ref.get(run.id)
        self.ref[run.id] = run
        if previous is None or run.id in self.off_table:
            return
        report = check_trace([previous, run], mode="poll")
        own = {v.rule for v in violations(previous)} | {v.rule for v in violations(run)}
        problems = [
            f"{p.severity} {p.rule}: {p.message}"
            for p in report.problems
            if p.severity == "error" and p.position and p.rule not in own
        ]
        if problems:
            self._diverge(
                "poll-trace",
                what,
                "read as two polls of the run, the previous response and this one "
                "break the lifecycle:" + _lines(problems),
            )

    def _expect_refusal(
        self,
        what: str,
        response: tuple[int, Any],
        err: APIError,
        run_id: str,
        accepted: str = "",
    ) -> None:
        status, body = response
        wire = err.to_api_error()
        expected = f"expected {err.http_status} {_json(wire)}, got {_describe(status, body)}"
        if _success(status):
            self._diverge(accepted, what, expected)
            run = self._run_of(response)
            if run is not None and run.id == run_id:
                self.ref[run_id] = run
                self.off_table.add(run_id)
            return
        if status != err.http_status:
            self._diverge("refusal-status", what, expected)
        elif body != wire:
            self._diverge("refusal-body", what, expected)
        self._check_unchanged(what, run_id)

    def _check_unchanged(self, what: str, run_id: str) -> None:
        """A refused request changes nothing: retrieve the run and compare."""
        before = self.ref[run_id]
        response = _unpack("retrieve_run", self.impl.retrieve_run(before.thread_id, run_id))
        if before.status is _CANCELLING and self._settle(before, response) is not before:
            return  # the cancel took effect meanwhile, which the service may do
        self._expect_run(
            "recheck",
            f"retrieve of {_a(before.status)} run ({run_id}) after the refused {what}",
            response,
            before,
            before,
        )


# --------------------------------------------------------------------------------------
# The entry points

_NAME: Final = re.compile(r"[^0-9a-zA-Z_]")


def _label(factory: object) -> str:
    return _NAME.sub("_", getattr(factory, "__name__", "") or "Implementation")


def _default_settings() -> hypothesis.settings:
    return hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))


def _check_arguments(
    factory: object,
    settings: object,
    documented_only: object,
    probe_unknown_fields: object,
    accept: object,
    steps: object,
    assistant_id: object,
) -> tuple[frozenset[str], frozenset[StepKind]]:
    if not callable(factory):
        raise InvalidArgument(f"factory={factory!r} must be callable")
    if settings is not None and not isinstance(settings, hypothesis.settings):
        raise InvalidArgument(f"settings={settings!r} must be a hypothesis.settings or None")
    for name, value in (
        ("documented_only", documented_only),
        ("probe_unknown_fields", probe_unknown_fields),
    ):
        if not isinstance(value, bool):
            raise InvalidArgument(f"{name}={value!r} must be a bool")
    if isinstance(accept, str) or not isinstance(accept, Iterable):
        raise InvalidArgument(f"accept={accept!r} must be a collection of rule names")
    names = frozenset(accept)
    unknown = sorted(str(n) for n in names if n not in RULES)
    if unknown:
        raise InvalidArgument(
            f"accept= names no such rule: {', '.join(unknown)} (see runstate.testing.RULES)"
        )
    if isinstance(steps, str) or not isinstance(steps, Iterable):
        raise InvalidArgument(f"steps={steps!r} must be a collection of step kinds")
    kinds = frozenset(steps)
    bad = sorted(str(k) for k in kinds if k not in STEP_KINDS)
    if bad:
        raise InvalidArgument(f"steps= names no such step kind: {', '.join(bad)}")
    if not isinstance(assistant_id, str) or not assistant_id:
        raise InvalidArgument(f"assistant_id={assistant_id!r} must be a non-empty string")
    return names, cast("frozenset[StepKind]", kinds)


def run_conformance(
    factory: Callable[[], Implementation],
    *,
    settings: hypothesis.settings | None = None,
    seed: int | None = None,
    max_examples: int | None = None,
    documented_only: bool = False,
    probe_unknown_fields: bool = True,
    accept: Collection[str] = (),
    steps: Collection[StepKind] = STEP_KINDS,
    assistant_id: str = DEFAULT_ASSISTANT_ID,
    max_divergences: int | None = None,
) -> ConformanceReport:
    """Survey an implementation: every distinct divergence, each with a minimal example.

    The survey is a series of hypothesis searches of the stateful test described in
    :func:`conformance_test`. When a search fails, its shrunk failure is recorded as a
    :class:`Divergence` and its rule is tolerated from then on: the kit counts it and
    goes on from what the implementation answered, and the next search looks for the
    next divergence. The last search, with nothing new found, runs the full
    ``max_examples`` and supplies the counts and the reach. There are at most
    ``len(RULES) + 1`` searches.

    Nothing here reads the environment: pass ``seed`` and ``max_examples`` (or
    ``settings``) explicitly, from a script or a CI job.

    Args:
        factory: Called with no arguments for each test case; returns a fresh
            :class:`Implementation` (a class works; a closure can carry a pytest
            fixture's value, such as a server's port).
        settings: Hypothesis settings; by default the current profile's, with no
            deadline and no health checks. ``report_multiple_bugs`` is always off.
        seed: Seeds every search, for a run that can be repeated (hypothesis' ``@seed``).
        max_examples: Overrides ``settings.max_examples``.
        documented_only: Expect the documented cancel guard (only ``in_progress`` runs
            may be cancelled) instead of the observed one, as :func:`runstate.cancel`.
        probe_unknown_fields: Create every run with an unknown, nested field and give
            tool calls an unknown key, and check they are echoed unchanged. Turn off for
            servers that refuse or drop unknown request fields by design.
        accept: Rule names (keys of :data:`RULES`) known to differ: tolerated and
            counted from the start, reported under ``accepted``, never failing.
        steps: The worker steps the implementation can drive; the others are not
            asked for. ``()`` means no worker at all (``drive`` may then be missing).
        assistant_id: The assistant runs are created with, unless the implementation
            has a ``create_assistant()`` method, which is then called per test case.
        max_divergences: Stop once this many divergences are found, without the last
            full search (the counts and the reach then come from the last search made).
            ``None`` (the default) surveys everything.

    Returns:
        The :class:`ConformanceReport`. Its ``raise_if_failed()`` raises
        :class:`DivergencesFound` unless it is ``ok``.

    Raises:
        hypothesis.errors.InvalidArgument: for a bad argument, an unknown rule name in
            ``accept``, or an implementation that lacks a method.

    Example:
        In a test or a script (``ReferenceServer`` is any class with the protocol's
        methods)::

            report = run_conformance(ReferenceServer, seed=1234, max_examples=200)
            print(report.summary())
            print(report.reach_table())
            report.raise_if_failed()

        >>> try:
        ...     run_conformance(lambda: None, accept={"no-such-rule"})
        ... except InvalidArgument as exc:
        ...     print(exc)
        accept= names no such rule: no-such-rule (see runstate.testing.RULES)
    """
    names, kinds = _check_arguments(
        factory, settings, documented_only, probe_unknown_fields, accept, steps, assistant_id
    )
    if seed is not None and type(seed) is not int:
        raise InvalidArgument(f"seed={seed!r} must be an int or None")
    for name, value in (("max_examples", max_examples), ("max_divergences", max_divergences)):
        if value is not None and (type(value) is not int or value < 1):
            raise InvalidArgument(f"{name}={value!r} must be a positive int or None")
    base = settings if settings is not None else _default_settings()
    if max_examples is not None:
        base = hypothesis.settings(base, max_examples=max_examples)
    base = hypothesis.settings(base, report_multiple_bugs=False)
    label = _label(factory)
    started = time.perf_counter()
    found: list[Divergence] = []
    tolerated = set(names)
    rounds = 0
    while True:
        rounds += 1
        tally = _Tally()
        options = _Options(
            factory,
            documented_only,
            probe_unknown_fields,
            kinds,
            assistant_id,
            frozenset(tolerated),
            tally,
        )
        machine = type(
            f"{label}Conformance",
            (_Conformance,),
            {
                "options": options,
                "__module__": getattr(factory, "__module__", __name__),
                "__doc__": f"The runstate conformance machine for {label}.",
            },
        )
        if seed is not None:
            machine = hypothesis.seed(seed)(machine)
        try:
            run_state_machine_as_test(machine, settings=base)
        except ConformanceFailure as failure:
            rule_broken = failure.rule
            if rule_broken is None or rule_broken.name in tolerated:  # pragma: no cover
                raise  # not the kit's own divergence: let it through
            found.append(Divergence(rule_broken, failure.operation, failure.problem, failure.steps))
            tolerated.add(rule_broken.name)
            if max_divergences is None or len(found) < max_divergences:
                continue
        break
    return ConformanceReport(
        label=label,
        divergences=tuple(attrs.evolve(d, count=tally.seen[d.rule.name]) for d in found),
        accepted={n: tally.seen[n] for n in sorted(names)},
        reach={k: (v[0], v[1]) for k, v in sorted(tally.reach.items())},
        examples=tally.cases,
        rounds=rounds,
        seconds=time.perf_counter() - started,
        steps_checked=tally.steps_checked,
    )


def conformance_test(
    factory: Callable[[], Implementation],
    *,
    settings: hypothesis.settings | None = None,
    seed: int | None = None,
    documented_only: bool = False,
    probe_unknown_fields: bool = True,
    accept: Collection[str] = (),
    steps: Collection[StepKind] = STEP_KINDS,
    assistant_id: str = DEFAULT_ASSISTANT_ID,
) -> type[unittest.TestCase]:
    """Build a test case that surveys an implementation with :func:`run_conformance`.

    Each test case calls ``factory()`` for a fresh implementation, creates two threads,
    then runs random steps: create runs (the thread lock must hold), retrieve, cancel,
    submit right and wrong tool outputs, and play the worker through ``drive``. Every
    response is compared with what runstate's own operations make of the last response
    seen for that run: the HTTP status, the new status, every field (unknown ones
    included, at every level), the per-status rules (:func:`runstate.violations`), the
    refusal's exact body (``err.to_api_error()``), and the run's history as a polled
    trace. Timestamps are compared by relation (set or null, ordered, unchanged), never
    by value: the implementation's clock is its own.

    The test prints the report's summary (accepted counts included) and fails with
    :class:`DivergencesFound` listing every divergence graded ``error``, each with its
    minimal program. The arguments are :func:`run_conformance`'s; the test needs no
    fixture (for a factory that needs one, call :func:`run_conformance` in a test
    function instead).

    Args:
        factory: Called with no arguments for each test case; returns a fresh
            :class:`Implementation` (a class works).
        settings: Hypothesis settings; see :func:`run_conformance`.
        seed: Seeds every search.
        documented_only: Expect the documented cancel guard.
        probe_unknown_fields: Check that unknown fields are echoed unchanged.
        accept: Rule names known to differ, tolerated and counted.
        steps: The worker steps the implementation can drive.
        assistant_id: The assistant runs are created with.

    Returns:
        A :class:`unittest.TestCase` subclass with one test, ``runTest``; assign it to a
        ``Test...`` name in a test module and pytest or unittest runs it.

    Raises:
        hypothesis.errors.InvalidArgument: for bad arguments (at once); a factory whose
            objects lack a method fails when the test runs, naming the missing methods.

    Example:
        In a test module::

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
    _check_arguments(
        factory, settings, documented_only, probe_unknown_fields, accept, steps, assistant_id
    )
    if seed is not None and type(seed) is not int:
        raise InvalidArgument(f"seed={seed!r} must be an int or None")
    label = _label(factory)

    def run_test(self: unittest.TestCase) -> None:
        report = run_conformance(
            factory,
            settings=settings,
            seed=seed,
            documented_only=documented_only,
            probe_unknown_fields=probe_unknown_fields,
            accept=accept,
            steps=steps,
            assistant_id=assistant_id,
        )
        print(report.summary())
        report.raise_if_failed()

    case = type(
        f"{label}Conformance",
        (unittest.TestCase,),
        {
            "runTest": run_test,
            "__module__": getattr(factory, "__module__", __name__),
            "__doc__": f"The runstate conformance survey of {label}.",
        },
    )
    return cast("type[unittest.TestCase]", case)
