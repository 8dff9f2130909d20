"""An in-memory Runs API built on runstate: what embedding runstate in a server looks like.

The server stores runs as :class:`runstate.Run` values in a dict. It never decides a
status change itself: every request and every worker step is one runstate call, and a
refusal is answered with the error's own status and body
(``err.http_status, err.to_api_error()``). Responses are ``dump_run`` of the stored run,
so unknown fields (the request's ``extra``, unknown keys in tool calls) are kept at every
level. Each run's steps are kept beside it: every change is one :func:`runstate.advance`
(the run and its steps together), and ``list_steps`` answers
``GET .../runs/{run_id}/steps`` with :func:`runstate.list_page` (newest first). Its clock
is its own (a different epoch from any client's, ticking unevenly, with same-second
steps), as a real server's would be.

It implements :class:`runstate.testing.Implementation` structurally (no base class) and
is the implementation the conformance kit is shown passing against.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import runstate as rs
from runstate.testing import HttpResponse, Step

#: The server's clock starts far from the kit's and ticks by these steps, in turn.
EPOCH = 1_800_000_000
TICKS = (0, 1, 3)


def not_found(kind: str, ident: str) -> HttpResponse:
    """The real API's 404 for an unknown id."""
    return HttpResponse(
        404,
        {
            "error": {
                "message": f"No {kind} found with id '{ident}'.",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
    )


def invalid(exc: rs.InvalidRun) -> HttpResponse:
    """A malformed request: 400 with the first problem (runstate has no wire text here)."""
    first = exc.errors[0] if exc.errors else None
    return HttpResponse(
        400,
        {
            "error": {
                "message": str(exc),
                "type": "invalid_request_error",
                "param": first.field if first is not None else None,
                "code": None,
            }
        },
    )


#: A change of a run: the :func:`runstate.advance` operation and its arguments.
Op = tuple[str, dict[str, Any]]


class ReferenceServer:
    """The Runs endpoints plus a worker hook, every decision made by runstate."""

    def __init__(self, *, documented_only: bool = False) -> None:
        self.documented_only = documented_only
        self.runs: dict[str, rs.Run] = {}
        #: run id -> its steps, in creation order.
        self.steps: dict[str, tuple[rs.RunStep, ...]] = {}
        self.threads: set[str] = set()
        self.clock = EPOCH
        self._ticks = itertools.cycle(TICKS)
        self._ids = itertools.count(1)

    # -- the server's clock -------------------------------------------------------------

    def now(self) -> int:
        self.clock += next(self._ticks)
        return self.clock

    # -- endpoints ----------------------------------------------------------------------

    def create_thread(self) -> str:
        thread_id = f"thread_{next(self._ids)}"
        self.threads.add(thread_id)
        return thread_id

    def create_run(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        metadata: Mapping[str, str],
        extra: Mapping[str, Any],
    ) -> HttpResponse:
        if thread_id not in self.threads:
            return not_found("thread", thread_id)
        try:
            rs.ensure_can_create_run(thread_id, self.runs.values())
            run = rs.new_run(
                id=f"run_{next(self._ids)}",
                thread_id=thread_id,
                assistant_id=assistant_id,
                model="gpt-4o",
                now=self.now(),
                metadata=metadata,
                extra=extra,
            )
        except rs.APIError as err:
            return HttpResponse(err.http_status, err.to_api_error())
        except rs.InvalidRun as exc:
            return invalid(exc)
        self.runs[run.id] = run
        return HttpResponse(200, rs.dump_run(run))

    def retrieve_run(self, thread_id: str, run_id: str) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if run is None:
            return not_found("run", run_id)
        return HttpResponse(200, rs.dump_run(run))

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        return self._apply(thread_id, run_id, ("cancel", {"documented_only": self.documented_only}))

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        return self._apply(
            thread_id, run_id, ("submit_tool_outputs", {"tool_outputs": list(tool_outputs)})
        )

    def list_steps(self, thread_id: str, run_id: str) -> HttpResponse:
        """``GET .../runs/{run_id}/steps`` with the default query: newest first, 20."""
        if self._find(thread_id, run_id) is None:
            return not_found("run", run_id)
        return HttpResponse(200, rs.list_page(self.steps.get(run_id, ())))

    # -- the worker ---------------------------------------------------------------------

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        operation, arguments = worker(step)
        if operation == "require_action":
            arguments["step_id"] = f"step_{next(self._ids)}"
        return self._apply(
            thread_id, run_id, (operation, arguments), at_least_expiry=step.kind == "expire"
        )

    # -- plumbing -----------------------------------------------------------------------

    def _find(self, thread_id: str, run_id: str) -> rs.Run | None:
        run = self.runs.get(run_id)
        return run if run is not None and run.thread_id == thread_id else None

    def _apply(
        self, thread_id: str, run_id: str, op: Op, *, at_least_expiry: bool = False
    ) -> HttpResponse:
        run = self._find(thread_id, run_id)
        if run is None:
            return not_found("run", run_id)
        now = self.now()
        if at_least_expiry and run.expires_at is not None and now < run.expires_at:
            # Time passes until the run's deadline (the worker would wait for it).
            self.clock = now = run.expires_at
        operation, arguments = op
        try:
            life = rs.advance(run, self.steps.get(run_id, ()), operation, now=now, **arguments)
        except rs.APIError as err:
            return HttpResponse(err.http_status, err.to_api_error())
        except (rs.TransitionError, rs.StepTransitionError) as err:
            # The drive hook is not the API: its refusals are this server's own.
            return HttpResponse(409, {"error": {"message": str(err), "reason": err.reason}})
        except rs.InvalidRun as exc:
            return invalid(exc)
        self.runs[run_id] = life.run
        self.steps[run_id] = life.steps
        return HttpResponse(200, rs.dump_run(life.run))


def worker(step: Step) -> Op:
    """The :func:`runstate.advance` operation a worker step is, with its arguments."""
    kind = step.kind
    if kind in ("start", "expire"):
        return kind, {}
    if kind == "require_action":
        return kind, {"tool_calls": list(step.tool_calls)}
    if kind == "fail":
        error = step.last_error or {"code": "server_error", "message": "failed"}
        return kind, {"error": error, "usage": step.usage}
    if kind == "mark_incomplete":
        return kind, {"reason": step.reason or "max_completion_tokens", "usage": step.usage}
    if kind in ("complete", "finish_cancel"):
        return kind, {"usage": step.usage}
    raise ValueError(f"unknown step {kind!r}")
