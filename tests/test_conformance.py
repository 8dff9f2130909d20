"""The conformance kit: it passes the reference server and catches broken ones.

The broken servers each get one deliberate bug on top of the reference server. Their
generated test cases are run programmatically and must fail with a
:class:`~runstate.testing.ConformanceFailure` whose message names the problem, after
hypothesis has shrunk the steps to the minimal program that shows it.
"""

from __future__ import annotations

import subprocess
import sys
import unittest
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.errors import InvalidArgument
from reference_server import ReferenceServer

import runstate as rs
from runstate import RunStatus, testing
from runstate.testing import (
    ConformanceFailure,
    HttpResponse,
    Implementation,
    Step,
    conformance_test,
)

#: Deterministic and quick: the same examples every run, nothing remembered, one
#: failure reported. Twenty steps are plenty to reach every bug below, and keep
#: shrinking quick. The bugs are found within the first hundred or so examples; the
#: generous limit only keeps that true under another hypothesis version's choices.
FAST = settings(
    max_examples=1000,
    stateful_step_count=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
    report_multiple_bugs=False,
)
#: For the implementations that must pass: longer lifecycles, more of them.
THOROUGH = settings(FAST, max_examples=200, stateful_step_count=50)

WIRE_COMPLETED = (
    '{"error": {"message": "Cannot cancel run with status \'completed\'.", '
    '"type": "invalid_request_error", "param": null, "code": null}}'
)


def run_case(case: type[unittest.TestCase]) -> None:
    """Run a generated test case, letting its failure propagate."""
    case("runTest").debug()


# --------------------------------------------------------------------------------------
# Passing


TestReferenceServer = conformance_test(ReferenceServer, settings=THOROUGH)


class DocumentedCancelServer(ReferenceServer):
    def __init__(self) -> None:
        super().__init__(documented_cancel_only=True)


TestDocumentedCancelServer = conformance_test(
    DocumentedCancelServer, settings=THOROUGH, documented_cancel_only=True
)


class TupleServer(ReferenceServer):
    """Answers with plain tuples and JSON text, as a thin HTTP adapter might."""

    def retrieve_run(self, thread_id: str, run_id: str) -> Any:
        status, body = super().retrieve_run(thread_id, run_id)
        return (status, __import__("json").dumps(body).encode())


def test_plain_tuples_and_json_bytes_are_accepted() -> None:
    run_case(conformance_test(TupleServer, settings=settings(FAST, max_examples=30)))


class NoProbeServer(ReferenceServer):
    """Drops unknown fields everywhere, by design."""

    def create_run(self, thread_id: str, **kwargs: Any) -> HttpResponse:
        return super().create_run(thread_id, **{**kwargs, "extra": {}})

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        plain = tuple(
            {k: v for k, v in c.items() if not k.startswith("x_")} for c in step.tool_calls
        )
        return super().drive(thread_id, run_id, attrs.evolve(step, tool_calls=plain))


def test_probing_can_be_turned_off() -> None:
    run_case(
        conformance_test(
            NoProbeServer, settings=settings(FAST, max_examples=50), probe_unknown_fields=False
        )
    )


def test_reference_server_is_an_implementation() -> None:
    server: Implementation = ReferenceServer()  # checked by mypy, structurally
    assert server.create_thread().startswith("thread_")


# --------------------------------------------------------------------------------------
# Failing, readably


def failure_of(case: type[unittest.TestCase]) -> tuple[str, list[str]]:
    """Run the case; return its failure message and the minimal steps hypothesis printed."""
    with pytest.raises(ConformanceFailure) as info:
        run_case(case)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    steps = [line.strip() for line in notes.splitlines() if line.strip().startswith("state.")]
    return str(info.value), steps


class CancelsCompletedServer(ReferenceServer):
    """Bug 1: a completed run can still be cancelled."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        run = self.runs.get(run_id)
        if run is not None and run.status is RunStatus.COMPLETED:
            self.runs[run_id] = attrs.evolve(run, status=RunStatus.CANCELLING)
            return HttpResponse(200, rs.dump_run(self.runs[run_id]))
        return super().cancel_run(thread_id, run_id)


class CancelsAtOnceServer(ReferenceServer):
    """Bug 2: cancel jumps straight to ``cancelled``."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().cancel_run(thread_id, run_id)
        if response.status == 200:
            run = rs.finish_cancel(self.runs[run_id], now=self.now())
            self.runs[run_id] = run
            return HttpResponse(200, rs.dump_run(run))
        return response


class DropsUnknownFieldsServer(ReferenceServer):
    """Bug 3: unknown fields are not stored (a typed model that only knows the spec)."""

    def create_run(
        self,
        thread_id: str,
        *,
        assistant_id: str,
        metadata: Mapping[str, str],
        extra: Mapping[str, Any],
    ) -> HttpResponse:
        return super().create_run(thread_id, assistant_id=assistant_id, metadata=metadata, extra={})


def test_cancelling_a_completed_run_is_caught() -> None:
    message, steps = failure_of(conformance_test(CancelsCompletedServer, settings=FAST))
    assert message.startswith("cancel on a 'completed' run (run_")
    assert message.endswith(f": expected 400 {WIRE_COMPLETED}, got 200 status 'cancelling'")
    if steps:  # hypothesis attaches the program as notes (3.11+ prints them)
        assert steps == [
            "state.create_run(thread=0)",
            "state.drive_start()",
            "state.drive_complete()",
            "state.cancel()",
            "state.teardown()",
        ]


def test_jumping_straight_to_cancelled_is_caught() -> None:
    message, steps = failure_of(conformance_test(CancelsAtOnceServer, settings=FAST))
    assert message.startswith("cancel on a 'queued' run (run_")
    assert message.endswith(": expected 200 status 'cancelling', got 200 status 'cancelled'")
    if steps:
        assert steps == ["state.create_run(thread=0)", "state.cancel()", "state.teardown()"]


def test_jumping_straight_to_cancelled_is_caught_with_documented_cancel() -> None:
    class Server(CancelsAtOnceServer):
        def __init__(self) -> None:
            super().__init__(documented_cancel_only=True)

    message, _ = failure_of(conformance_test(Server, settings=FAST, documented_cancel_only=True))
    assert message.startswith("cancel on an 'in_progress' run (run_")
    assert message.endswith("got 200 status 'cancelled'")


def test_dropping_unknown_fields_is_caught() -> None:
    message, steps = failure_of(conformance_test(DropsUnknownFieldsServer, settings=FAST))
    assert message.startswith("create run on thread 'thread_1': expected 200 status 'queued'")
    assert "got 200 status 'queued' but:" in message
    assert (
        "x_runstate_probe: expected "
        '{"level": 1, "nested": {"level": 2, "items": [{"level": 3}, null]}}, '
        "got nothing (key missing)"
    ) in message
    if steps:
        assert steps == ["state.create_run(thread=0)", "state.teardown()"]


# --------------------------------------------------------------------------------------
# More deliberate bugs, one per kind of check


class NestedDropServer(ReferenceServer):
    """Keeps top-level unknown fields but loses a nested key on cancel."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().cancel_run(thread_id, run_id)
        if response.status == 200:
            body = dict(response.body)
            body["x_runstate_probe"] = {**body["x_runstate_probe"], "nested": {}}
            return HttpResponse(200, body)
        return response


class UsageOnCancelServer(ReferenceServer):
    """Reports usage on a cancelling run (the spec: usage is null until terminal)."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().cancel_run(thread_id, run_id)
        if response.status == 200:
            body = {
                **response.body,
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
            return HttpResponse(200, body)
        return response


class LooseLockServer(ReferenceServer):
    """Forgets the thread lock."""

    def create_run(self, thread_id: str, **kwargs: Any) -> HttpResponse:
        saved = self.runs
        self.runs = {}
        try:
            response = super().create_run(thread_id, **kwargs)
        finally:
            saved.update(self.runs)
            self.runs = saved
        return response


class SloppyMessageServer(ReferenceServer):
    """Refuses the right things with the wrong text."""

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        response = super().submit_tool_outputs(thread_id, run_id, tool_outputs)
        if response.status == 400:
            body = {"error": {**response.body["error"], "message": "Bad request."}}
            return HttpResponse(400, body)
        return response


class BackwardsClockServer(ReferenceServer):
    """Stamps completed_at before the run started."""

    def drive(self, thread_id: str, run_id: str, step: Step) -> HttpResponse:
        response = super().drive(thread_id, run_id, step)
        if step.kind == "complete" and response.status == 200:
            return HttpResponse(200, {**response.body, "completed_at": 5})
        return response


class KeepsRequiredActionServer(ReferenceServer):
    """Leaves required_action in place after tool outputs were submitted."""

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, tool_outputs: Sequence[Mapping[str, str]]
    ) -> HttpResponse:
        pending = self.runs.get(run_id)
        response = super().submit_tool_outputs(thread_id, run_id, tool_outputs)
        if response.status == 200 and pending is not None:
            body = {**response.body, "required_action": rs.dump_run(pending)["required_action"]}
            return HttpResponse(200, body)
        return response


class SilentChangeServer(ReferenceServer):
    """A refused cancel still changes the run's metadata."""

    def cancel_run(self, thread_id: str, run_id: str) -> HttpResponse:
        response = super().cancel_run(thread_id, run_id)
        if response.status == 400 and run_id in self.runs:
            self.runs[run_id] = attrs.evolve(self.runs[run_id], metadata={"touched": "yes"})
        return response


@pytest.mark.parametrize(
    ("server", "start", "needle"),
    [
        (
            NestedDropServer,
            "cancel on a 'queued' run",
            "x_runstate_probe.nested.level: expected 2, got nothing (key missing)",
        ),
        (
            UsageOnCancelServer,
            "cancel on a 'queued' run",
            "usage: must be null when the status is 'cancelling'",
        ),
        (
            LooseLockServer,
            "create run on thread 'thread_1' (its run run_3 is 'queued')",
            'expected 400 {"error": {"message": "Thread thread_1 already has an active run run_3."',
        ),
        (
            SloppyMessageServer,
            "submit_tool_outputs ['call_not_pending'] on a 'queued' run",
            'got 400 {"error": {"message": "Bad request."',
        ),
        (
            BackwardsClockServer,
            "drive 'complete' on an 'in_progress' run",
            "completed_at: expected a timestamp at or after",
        ),
        (
            KeepsRequiredActionServer,
            "submit_tool_outputs ['call_1'] on a 'requires_action' run",
            "required_action: expected null, got {",
        ),
        (
            SilentChangeServer,
            "retrieve of a 'cancelling' run (run_3) after the refused cancel",
            'metadata.touched: expected no such key, got "yes"',
        ),
    ],
)
def test_each_kind_of_bug_is_named(server: type[ReferenceServer], start: str, needle: str) -> None:
    message, _ = failure_of(conformance_test(server, settings=FAST))
    assert message.startswith(start), message
    assert needle in message, message


# --------------------------------------------------------------------------------------
# The entry point's arguments


@pytest.mark.parametrize(
    "kwargs",
    [
        {"settings": {"max_examples": 5}},
        {"documented_cancel_only": 1},
        {"probe_unknown_fields": "yes"},
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        conformance_test(ReferenceServer, **kwargs)


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        conformance_test(ReferenceServer, FAST)  # type: ignore[call-arg]


def test_factory_must_be_callable() -> None:
    with pytest.raises(InvalidArgument, match="must be callable"):
        conformance_test(ReferenceServer())  # type: ignore[arg-type]


def test_missing_methods_are_named() -> None:
    class Half:
        def create_thread(self) -> str:
            return "thread_1"

    case = conformance_test(Half, settings=settings(FAST, max_examples=1))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="lacks create_run, retrieve_run, cancel_run"):
        run_case(case)


def test_a_response_that_is_not_a_pair_is_named() -> None:
    class Bare(ReferenceServer):
        def retrieve_run(self, thread_id: str, run_id: str) -> Any:
            return super().retrieve_run(thread_id, run_id).body

    with pytest.raises(InvalidArgument, match=r"retrieve_run\(\) returned"):
        run_case(conformance_test(Bare, settings=FAST))


def test_close_is_called_after_each_case() -> None:
    closed: list[bool] = []

    class Closing(ReferenceServer):
        def close(self) -> None:
            closed.append(True)

    run_case(conformance_test(Closing, settings=settings(FAST, max_examples=3)))
    assert len(closed) >= 3


def test_consecutive_responses_are_checked_as_a_poll_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[int] = []

    problem = rs.TraceProblem(
        position=1,
        severity="error",
        rule="status-unreachable",
        message="'queued' cannot follow 'queued'",
    )

    def check_trace(items: list[rs.Run], *, mode: str) -> Any:
        seen.append(len(items))
        assert mode == "poll"
        return SimpleNamespace(ok=False, problems=[problem])

    monkeypatch.setattr(testing, "check_trace", check_trace)
    message, _ = failure_of(conformance_test(ReferenceServer, settings=FAST))
    assert seen and set(seen) == {2}
    assert "read as two polls of the run" in message
    assert "status-unreachable: 'queued' cannot follow 'queued'" in message


def test_step_to_json() -> None:
    step = Step(kind="require_action", tool_calls=({"id": "call_1"},))
    assert step.to_json() == {
        "kind": "require_action",
        "tool_calls": [{"id": "call_1"}],
        "usage": None,
        "last_error": None,
        "reason": None,
    }


def test_import_runstate_does_not_import_hypothesis() -> None:
    code = "import sys, runstate; print('hypothesis' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"HYPOTHESIS_NO_PLUGINS": "1", "PATH": ""},
    )
    assert out.stdout.strip() == "False"
