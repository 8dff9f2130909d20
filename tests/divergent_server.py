"""A deliberately divergent Runs API: the reference server with five bugs of five kinds.

The conformance kit must report every one of them in one survey, each under its stable
rule name with a minimal example, and pass once they are all accepted by name. Each bug
is a different kind of divergence:

- ``create-status``: create answers 201 instead of 200 (an HTTP status);
- ``thread-lock``: a thread with an active run takes another run (a missing lock);
- ``cancel-accepted``: a terminal run can still be cancelled (a missing guard);
- ``refusal-body``: refused submits say ``Bad request.`` (the wrong wire text);
- ``unknown-fields``: retrieve loses nested unknown fields (a lossy store);
- ``cancel-keeps-required-action``, a warning: cancel keeps ``required_action`` (what
  the real API does is unknown, spec-facts §8.13).

With no lock at all, a run can also be created while the thread's run is cancelling:
``thread-lock-cancelling``, a warning (spec-facts §4.4 has no evidence either way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from reference_server import ReferenceServer

import runstate as rs
from runstate import RunStatus
from runstate.testing import HttpResponse, Step

#: The rules the survey must report, errors and warnings.
ERRORS = frozenset(
    {
        "create-status",
        "thread-lock",
        "cancel-accepted",
        "refusal-body",
        "unknown-fields",
    }
)
WARNINGS = frozenset({"cancel-keeps-required-action", "thread-lock-cancelling"})


class DivergentServer(ReferenceServer):
    """The reference server, wrong in five ways (and one unknown)."""

    def create_run(self, thread_id: str, **kwargs: Any) -> HttpResponse:
        # No thread lock: hide the other runs while creating.
        saved = self.runs
        self.runs = {}
        try:
            response = super().create_run(thread_id, **kwargs)
        finally:
            saved.update(self.runs)
            self.runs = saved
        # 201 Created, as many REST servers answer.
        return HttpResponse(201, response.body) if response.status == 200 else response

    def retrieve_run(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().retrieve_run(thread_id, run_id)
        probe = response.body.get("x_runstate_probe") if response.status == 200 else None
        if isinstance(probe, Mapping):
            # A store that keeps unknown fields one level deep only.
            body = {**response.body, "x_runstate_probe": {"level": probe.get("level")}}
            return HttpResponse(200, body)
        return response

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if run is not None and run.status.is_terminal:
            # Terminal runs are "cancelled" again.
            self.runs[run_id] = attrs.evolve(run, status=RunStatus.CANCELLING)
            return HttpResponse(200, rs.dump_run(self.runs[run_id]))
        if run is not None and run.status is RunStatus.REQUIRES_ACTION:
            # Unknown in the real API (spec-facts §8.13): required_action is kept.
            new = attrs.evolve(run, status=RunStatus.CANCELLING)
            self.runs[run_id] = new
            return HttpResponse(200, rs.dump_run(new))
        return super().cancel_run(thread_id, run_id)

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        response = super().submit_tool_outputs(thread_id, run_id, tool_outputs)
        if response.status == 400:
            body = {"error": {**response.body["error"], "message": "Bad request."}}
            return HttpResponse(400, body)
        return response


#: The rules the step-divergent server must be reported under.
STEP_ERRORS = frozenset({"step-open-at-run-end", "step-tool-outputs"})


class StepDivergentServer(ReferenceServer):
    """The reference server, with two bugs in its run steps (the runs are right).

    - ``step-open-at-run-end``: a cancel that takes effect leaves the open steps
      ``in_progress`` (runstate ends them ``cancelled``, RUN_END_EFFECTS);
    - ``step-tool-outputs``: accepted tool outputs leave the ``tool_calls`` step open,
      without its outputs (spec-facts §11: it completes, outputs attached, first).
    """

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        steps = self.steps.get(run_id, ())
        response = super().submit_tool_outputs(thread_id, run_id, tool_outputs)
        if response.status == 200:
            self.steps[run_id] = steps  # the run moved; its steps did not
        return response

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        steps = self.steps.get(run_id, ())
        response = super().drive(thread_id, run_id, step)
        if step.kind == "finish_cancel" and response.status == 200:
            self.steps[run_id] = steps
        return response
