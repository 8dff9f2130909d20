"""Errors: every :class:`runstate.Error` survives ``pickle``, ``copy`` and ``deepcopy``.

An error that cannot be rebuilt breaks whatever moves it between processes: a
``TransitionError`` raised in a ``ProcessPoolExecutor`` worker used to reach the parent
as ``BrokenProcessPool``.
"""

from __future__ import annotations

import concurrent.futures
import copy
import functools
import pickle
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import runstate as rs
import runstate.responses as rr
import runstate.testing  # every module that may define an error is loaded
from runstate import RunStatus
from runstate._engine.serde import ReadOnlyConverterError
from runstate.steps import StepTransitionError


def _all_errors(cls: type[rs.Error] = rs.Error) -> Iterator[type[rs.Error]]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _all_errors(sub)


def _queued_run() -> rs.Run:
    return rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)


def _done_run() -> rs.Run:
    return rs.complete(rs.start(_queued_run(), now=11), now=12)


def _response(background: bool = True) -> rr.Response:
    return rr.new_response(id="resp_1", model="m", now=10, background=background)


def _raised(attempt: Callable[[], Any]) -> rs.Error:
    with pytest.raises(rs.Error) as info:
        attempt()
    return info.value


#: One example per error class, built as runstate builds them (most of them raised by
#: runstate itself). A new subclass of ``runstate.Error`` fails
#: ``test_every_error_class_has_an_example`` until it gets one here.
EXAMPLES: dict[type[rs.Error], Callable[[], rs.Error]] = {
    rs.Error: lambda: rs.Error("something"),
    rs.InvalidRun: lambda: _raised(lambda: rs.parse_run(b'{"id": 1, "created_at": true}')),
    rs.InvalidArgument: lambda: _raised(lambda: rs.start(_queued_run(), now=1.5)),  # type: ignore[arg-type]
    rs.InvalidTable: lambda: rs.InvalidTable("queued has no exit"),
    rs.ClockWentBackwards: lambda: _raised(lambda: rs.start(_queued_run(), now=1)),
    rs.TransitionError: lambda: _raised(lambda: rs.start(_done_run(), now=13)),
    StepTransitionError: lambda: _raised(
        lambda: rs.steps.open_tool_calls_step(_done_run(), id="step_1", now=13)
    ),
    rs.APIError: lambda: rs.APIError("Bad.", param="x", code="y", http_status=409),
    rs.CancelNotAllowed: lambda: _raised(lambda: rs.cancel(_done_run(), now=13)),
    rs.ToolOutputsRejected: lambda: _raised(
        lambda: rs.submit_tool_outputs(_done_run(), [], now=13)
    ),
    rs.RunNotModifiable: lambda: rs.RunNotModifiable("Cannot modify.", reason="run-active"),
    rs.ThreadBusy: lambda: _raised(lambda: rs.ensure_can_create_run("t", [_queued_run()])),
    rs.InvalidRequest: lambda: _raised(lambda: rs.parse_create_run(b"{}")),
    rs.NotFound: lambda: rs.not_found("run step", "step_1"),
    ReadOnlyConverterError: lambda: _raised(
        lambda: rs.converter.register_structure_hook(int, lambda v, _: v)
    ),
    # The Responses machine's (runstate.responses), on the same family.
    rr.InvalidResponse: lambda: _raised(lambda: rr.parse_response(b'{"id": 1}')),
    rr.CancelRefused: lambda: _raised(lambda: rr.cancel(_response(background=False), now=11)),
    rr.DeleteRefused: lambda: _raised(lambda: rr.ensure_can_delete(_response())),
    rr.InvalidResponseRequest: lambda: _raised(
        lambda: rr.parse_create_response(b'{"model": "m", "background": true, "store": false}')
    ),
    rr.ResponseNotFound: lambda: rr.not_found("resp_1"),
    rr.ResponseTransitionError: lambda: _raised(
        lambda: rr.start(rr.start(_response(), now=11), now=12)
    ),
}


def test_every_error_class_has_an_example() -> None:
    assert set(_all_errors()) == set(EXAMPLES)


def _pickled(error: rs.Error, protocol: int) -> Any:
    return pickle.loads(pickle.dumps(error, protocol=protocol))


def _copies() -> list[Any]:
    return [
        pytest.param(functools.partial(_pickled, protocol=p), id=f"pickle{p}")
        for p in range(pickle.HIGHEST_PROTOCOL + 1)
    ] + [pytest.param(copy.copy, id="copy"), pytest.param(copy.deepcopy, id="deepcopy")]


def _same(original: rs.Error, clone: rs.Error) -> None:
    assert type(clone) is type(original)
    assert str(clone) == str(original)
    assert repr(clone) == repr(original)
    assert clone.args == original.args
    assert vars(clone) == vars(original)
    if isinstance(original, rs.APIError):
        assert isinstance(clone, rs.APIError)
        assert clone == original
        assert clone.to_api_error() == original.to_api_error()


@pytest.mark.parametrize("how", _copies())
@pytest.mark.parametrize(
    "cls", sorted(EXAMPLES, key=lambda c: c.__name__), ids=lambda c: c.__name__
)
def test_errors_round_trip_through_pickle_and_copy(
    cls: type[rs.Error], how: Callable[[rs.Error], rs.Error]
) -> None:
    original = EXAMPLES[cls]()
    assert type(original) is cls
    _same(original, how(original))


@pytest.mark.parametrize("how", _copies())
def test_notes_and_a_many_problem_message_survive(how: Callable[[rs.Error], rs.Error]) -> None:
    original = rs.InvalidRun(
        [rs.FieldError(f"f{i}", "type", "bad") for i in range(30)], what="tool calls"
    )
    if sys.version_info >= (3, 11):
        original.add_note("while reading a recording")
    else:  # what add_note (3.11) does: a list of notes in __notes__
        original.__notes__ = ["while reading a recording"]  # type: ignore[attr-defined]
    clone = how(original)
    _same(original, clone)
    assert clone.__notes__ == ["while reading a recording"]  # type: ignore[attr-defined]
    assert isinstance(clone, rs.InvalidRun)
    assert clone.what == "tool calls"
    assert len(clone.errors) == 30


def test_a_transition_error_in_a_worker_process_reaches_the_parent_as_itself() -> None:
    run = _done_run()
    expected = EXAMPLES[rs.TransitionError]()
    with concurrent.futures.ProcessPoolExecutor(max_workers=1) as pool:
        future = pool.submit(functools.partial(rs.start, run, now=13))
        with pytest.raises(rs.TransitionError) as info:
            future.result(timeout=300)  # a hang guard, not a measurement
    _same(expected, info.value)
    assert info.value.current is RunStatus.COMPLETED
    assert info.value.reason == "run-terminal"


# --------------------------------------------------------------------------------------
# Wrong types raise a runstate.Error naming the argument (issue 17, item 12)


@pytest.mark.parametrize(
    ("attempt", "argument"),
    [
        (lambda: rs.dump_run(rs.dump_run(_queued_run())), "run"),  # a dict, not a Run
        (lambda: rs.dump_step(None), "step"),
        (lambda: rs.steps.dump_message(_queued_run()), "message"),
        (lambda: rs.toolkit.run_json(object()), "run"),
        (lambda: rs.steps.step_violations("step"), "step"),
        (lambda: rs.steps.message_violations({}), "message"),
        (lambda: rs.models.parse_value(int, {}), "cls"),
        (lambda: rs.models.parse_value(None, "{}"), "cls"),
        (lambda: rs.models.parse_value(rs.Run, "{}", what=5), "what"),
        (lambda: rs.models.format_exception("not an exception", int), "exc"),
        (lambda: rs.models.format_exception(ValueError("x"), 10**5000), "type"),
        (lambda: rs.configure_converter(None), "converter"),
        (lambda: rs.can_transition(None, RunStatus.QUEUED), "source"),
        (lambda: rs.can_transition(RunStatus.QUEUED, "in_progress"), "target"),
        (lambda: rs.can_reach([], RunStatus.QUEUED), "source"),
        (lambda: rs.machine(object(), attribute=5), "attribute"),
        (lambda: rs.check_trace([], mode="x"), "mode"),
        (lambda: rs.TraceChecker(mode=None), "mode"),
        (lambda: rs.parse_sse(5), "source"),
        (lambda: list(rs.parse_sse([b"data: 1", 5])), "source"),
    ],
)
def test_wrong_types_raise_invalid_argument_naming_it(
    attempt: Callable[[], Any], argument: str
) -> None:
    with pytest.raises(rs.InvalidArgument) as info:
        attempt()
    assert info.value.argument == argument
    assert len(str(info.value)) < 400


def test_a_closed_trace_checker_refuses_more_items() -> None:
    checker = rs.TraceChecker(mode="poll")
    checker.close()
    with pytest.raises(rs.InvalidArgument, match="closed"):
        checker.feed(_queued_run())


def _report() -> Any:
    from runstate.testing import RULES, ConformanceReport, Divergence  # noqa: PLC0415

    divergence = Divergence(
        rule=RULES["cancel-accepted"],
        operation="cancel on a 'completed' run (run_1)",
        problem="expected 400, got 200",
        steps=("state.create_run(thread=0)",),
        count=3,
    )
    return ConformanceReport(
        label="Server", divergences=(divergence,), accepted={}, reach={}, examples=1,
        rounds=2, seconds=0.0,
    )  # fmt: skip


@pytest.mark.parametrize("how", _copies())
@pytest.mark.parametrize("kind", ["ConformanceFailure", "DivergencesFound"])
def test_the_kits_failures_round_trip_too(how: Callable[[Any], Any], kind: str) -> None:
    """The conformance kit's failures (AssertionErrors) share the errors' __reduce__."""
    from runstate.testing import RULES, ConformanceFailure, DivergencesFound  # noqa: PLC0415

    if kind == "ConformanceFailure":
        original: Any = ConformanceFailure(
            "cancel", "expected 400", rule=RULES["cancel-accepted"], steps=["a"]
        )
    else:
        original = DivergencesFound(_report())
    clone = how(original)
    assert type(clone) is type(original)
    assert str(clone) == str(original)
    assert clone.args == original.args
    assert vars(clone) == vars(original)
