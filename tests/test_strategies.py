"""The public hypothesis strategies: clean runs of every shape, argument checks, from_type."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import runstate
import runstate.strategies
from runstate import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    Run,
    RunStatus,
    dump_run,
    parse_run,
    violations,
)
from runstate.models import (
    CodeInterpreterTool,
    FileSearchTool,
    FunctionTool,
    ToolChoice,
    TruncationStrategy,
)
from runstate.strategies import run_payloads, runs, statuses

FUNCTION_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def broken_rules(run: Run) -> list[str]:
    """The per-status rules and limits, checked here independently of runstate.violations."""
    s = run.status
    broken = []

    def need(ok: bool, rule: str) -> None:
        if not ok:
            broken.append(rule)

    need((run.required_action is not None) is (s is RunStatus.REQUIRES_ACTION), "required_action")
    need((run.last_error is not None) is (s is RunStatus.FAILED), "last_error")
    need((run.incomplete_details is not None) is (s is RunStatus.INCOMPLETE), "incomplete")
    need((run.usage is not None) is s.is_terminal, "usage")
    need((run.cancelled_at is not None) is (s is RunStatus.CANCELLED), "cancelled_at")
    need((run.failed_at is not None) is (s is RunStatus.FAILED), "failed_at")
    if s is RunStatus.COMPLETED:
        need(run.completed_at is not None, "completed_at")
    elif s is not RunStatus.INCOMPLETE:
        need(run.completed_at is None, "completed_at")
    if s.value in {"in_progress", "requires_action", "completed", "incomplete"}:
        need(run.started_at is not None, "started_at")
    need((run.expires_at is not None) is (not s.is_terminal), "expires_at")
    floor = run.created_at if run.started_at is None else run.started_at
    need(floor >= run.created_at, "started_at order")
    for end in (run.cancelled_at, run.failed_at, run.completed_at):
        need(end is None or end >= floor, "end order")
    need(run.expires_at is None or run.expires_at > run.created_at, "expires order")
    stamps = [
        run.created_at,
        run.started_at,
        run.expires_at,
        run.cancelled_at,
        run.failed_at,
        run.completed_at,
    ]
    need(
        all(t is None or (type(t) is int and 1_600_000_000 <= t <= 2_000_000_000) for t in stamps),
        "timestamp range",
    )
    if run.metadata is not None:
        need(len(run.metadata) <= 16, "metadata keys")
        need(all(len(k) <= 64 and len(v) <= 512 for k, v in run.metadata.items()), "metadata")
    need(run.temperature is None or 0 <= run.temperature <= 2, "temperature")
    need(run.top_p is None or 0 <= run.top_p <= 1, "top_p")
    need(len(run.tools) <= 20, "tools")
    names = [t.function.name for t in run.tools if isinstance(t, FunctionTool)]
    for tool in run.tools:
        if isinstance(tool, FileSearchTool) and tool.file_search is not None:
            n = tool.file_search.max_num_results
            need(n is None or 1 <= n <= 50, "max_num_results")
            ranking = tool.file_search.ranking_options
            need(ranking is None or 0 <= ranking.score_threshold <= 1, "score_threshold")
    if run.required_action is not None:
        calls = run.required_action.submit_tool_outputs.tool_calls
        need(len(calls) > 0, "no tool calls")
        need(len({c.id for c in calls}) == len(calls), "tool call ids")
        need(all(c.function.name in names for c in calls), "calls name a function tool")
    if isinstance(run.tool_choice, ToolChoice) and run.tool_choice.function is not None:
        names.append(run.tool_choice.function.name)
        need(run.tool_choice.function.name in names, "tool_choice names a function tool")
    need(all(0 < len(n) <= 64 and set(n) <= FUNCTION_NAME_CHARS for n in names), "names")
    truncation = run.truncation_strategy
    if truncation is not None:
        need(truncation.last_messages is None or truncation.last_messages >= 1, "last_messages")
        if truncation.type == "last_messages":
            need(truncation.last_messages is not None, "last_messages count")
    for limit in (run.max_prompt_tokens, run.max_completion_tokens):
        need(limit is None or limit >= 256, "token limit")
    return broken


# --------------------------------------------------------------------------------------
# Clean by construction


@given(runs())
def test_runs_are_clean(run: Run) -> None:
    assert violations(run) == ()
    assert broken_rules(run) == []


@pytest.mark.parametrize("status", list(RunStatus), ids=lambda s: s.value)
@settings(max_examples=min(15, settings.default.max_examples))  # fewer under `quick`
@given(data=st.data())
def test_runs_in_each_status_are_clean(status: RunStatus, data: st.DataObject) -> None:
    run = data.draw(runs(status=status))
    assert run.status is status
    assert violations(run) == ()
    assert broken_rules(run) == []


@given(run_payloads())
def test_run_payloads_are_clean_json(payload: dict[str, Any]) -> None:
    text = json.dumps(payload, allow_nan=False)
    run = parse_run(text)
    assert violations(run) == ()
    assert dump_run(run) == payload


@given(statuses())
def test_statuses(status: RunStatus) -> None:
    assert isinstance(status, RunStatus)


# --------------------------------------------------------------------------------------
# The status option


@given(runs(status=TERMINAL_STATUSES))
def test_status_iterable(run: Run) -> None:
    assert run.status in TERMINAL_STATUSES


@given(run_payloads(status=[RunStatus.QUEUED, RunStatus.CANCELLING]))
def test_payload_status_list(payload: dict[str, Any]) -> None:
    assert payload["status"] in {"queued", "cancelling"}


@given(runs(status=(s for s in ACTIVE_STATUSES)))
def test_status_generator(run: Run) -> None:
    assert run.status in ACTIVE_STATUSES


@pytest.mark.parametrize(
    "bad",
    ["queued", b"queued", 5, [], set(), [RunStatus.QUEUED, "failed"], [None], object()],
    ids=["str", "bytes", "int", "empty-list", "empty-set", "mixed", "none-item", "object"],
)
@pytest.mark.parametrize("strategy", [runs, run_payloads])
def test_bad_status_is_invalid_argument(strategy: Callable[..., Any], bad: Any) -> None:
    with pytest.raises(InvalidArgument, match="status="):
        strategy(status=bad)


def test_string_status_gets_a_hint() -> None:
    with pytest.raises(InvalidArgument, match=r"did you mean RunStatus\('queued'\)"):
        runs(status="queued")  # type: ignore[arg-type]


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        runs(RunStatus.QUEUED)  # type: ignore[misc]
    with pytest.raises(TypeError):
        run_payloads(RunStatus.QUEUED)  # type: ignore[misc]


def test_public_names() -> None:
    assert set(runstate.strategies.__all__) == {
        "statuses",
        "runs",
        "run_payloads",
        "traces",
        "lives",
        "responses",
        "response_lives",
    }
    for name in runstate.strategies.__all__:
        assert getattr(runstate.strategies, name).__doc__


# --------------------------------------------------------------------------------------
# Every shape is reachable

SHAPES: dict[str, Callable[[Run], bool]] = {
    "code_interpreter": lambda r: any(isinstance(t, CodeInterpreterTool) for t in r.tools),
    "file_search bare": lambda r: any(
        isinstance(t, FileSearchTool) and t.file_search is None for t in r.tools
    ),
    "file_search max_num_results": lambda r: any(
        isinstance(t, FileSearchTool)
        and t.file_search is not None
        and t.file_search.max_num_results is not None
        for t in r.tools
    ),
    "file_search ranking_options": lambda r: any(
        isinstance(t, FileSearchTool)
        and t.file_search is not None
        and t.file_search.ranking_options is not None
        and t.file_search.ranking_options.ranker is not None
        for t in r.tools
    ),
    "function full": lambda r: any(
        isinstance(t, FunctionTool)
        and t.function.description is not None
        and t.function.parameters is not None
        and t.function.strict is not None
        for t in r.tools
    ),
    "response_format auto": lambda r: r.response_format == "auto",
    "response_format text": lambda r: getattr(r.response_format, "type", None) == "text",
    "response_format json_object": lambda r: (
        getattr(r.response_format, "type", None) == "json_object"
    ),
    "response_format json_schema": lambda r: (
        getattr(r.response_format, "type", None) == "json_schema"
    ),
    "tool_choice none": lambda r: r.tool_choice == "none",
    "tool_choice auto": lambda r: r.tool_choice == "auto",
    "tool_choice required": lambda r: r.tool_choice == "required",
    "tool_choice function": lambda r: (
        isinstance(r.tool_choice, ToolChoice) and r.tool_choice.function is not None
    ),
    "tool_choice file_search": lambda r: (
        isinstance(r.tool_choice, ToolChoice) and r.tool_choice.type == "file_search"
    ),
    "truncation auto": lambda r: (
        isinstance(r.truncation_strategy, TruncationStrategy)
        and r.truncation_strategy.type == "auto"
    ),
    "truncation last_messages": lambda r: (
        isinstance(r.truncation_strategy, TruncationStrategy)
        and r.truncation_strategy.type == "last_messages"
    ),
    "metadata": lambda r: bool(r.metadata),
    "integer temperature": lambda r: type(r.temperature) is int,
    "unknown keys on the run": lambda r: bool(r.extra),
    "unknown keys on a tool": lambda r: any(t.extra for t in r.tools),
    "unknown keys on usage": lambda r: r.usage is not None and bool(r.usage.extra),
    "unknown keys on a tool call": lambda r: (
        r.required_action is not None
        and any(
            c.extra or c.function.extra for c in r.required_action.submit_tool_outputs.tool_calls
        )
    ),
    "absent keys on the run": lambda r: bool(r.absent),
    "absent keys on a tool": lambda r: any(t.absent for t in r.tools),
    "several tool calls": lambda r: (
        r.required_action is not None and len(r.required_action.submit_tool_outputs.tool_calls) > 1
    ),
    "requeued with started_at": lambda r: r.status is RunStatus.QUEUED and r.started_at is not None,
    "incomplete with completed_at": lambda r: (
        r.status is RunStatus.INCOMPLETE and r.completed_at is not None
    ),
    "incomplete without completed_at": lambda r: (
        r.status is RunStatus.INCOMPLETE and r.completed_at is None
    ),
    "cancelled without started_at": lambda r: (
        r.status is RunStatus.CANCELLED and r.started_at is None
    ),
}

#: Shapes that only occur in some statuses are looked for there (quicker).
SHAPE_STATUS = {
    "unknown keys on usage": TERMINAL_STATUSES,
    "unknown keys on a tool call": {RunStatus.REQUIRES_ACTION},
    "several tool calls": {RunStatus.REQUIRES_ACTION},
    "requeued with started_at": {RunStatus.QUEUED},
    "incomplete with completed_at": {RunStatus.INCOMPLETE},
    "incomplete without completed_at": {RunStatus.INCOMPLETE},
    "cancelled without started_at": {RunStatus.CANCELLED},
}
FIND = settings(database=None, derandomize=True, max_examples=3_000, phases=[Phase.generate])


@pytest.mark.slow  # up to 3,000 examples a shape (about 17 s of CPU in all): CI runs it
@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_shape_is_generated(shape: str) -> None:
    found = find(runs(status=SHAPE_STATUS.get(shape)), SHAPES[shape], settings=FIND)
    assert SHAPES[shape](found)
    assert violations(found) == ()


# --------------------------------------------------------------------------------------
# Registration with hypothesis


@given(st.from_type(Run))
def test_from_type_run(run: Run) -> None:
    assert isinstance(run, Run)
    assert violations(run) == ()


@given(st.from_type(RunStatus))
def test_from_type_status(status: RunStatus) -> None:
    assert isinstance(status, RunStatus)


@given(st.builds(lambda run: run, st.from_type(Run)))
def test_from_type_inside_builds(run: Run) -> None:
    assert violations(run) == ()


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_runstate_does_not_import_hypothesis() -> None:
    assert (
        run_python("""
        import sys, runstate
        print("hypothesis" in sys.modules, "runstate.strategies" in sys.modules)
    """)
        == "False False"
    )


#: The child processes below do not read conftest.py's profiles: Hypothesis' defaults
#: there would fail them on a busy machine (the too_slow health check, the 200 ms
#: deadline), which is not what they test. Derandomized, as the ``ci`` profile is.
CHILD_SETTINGS = (
    "database=None, derandomize=True, deadline=None,"
    " suppress_health_check=[HealthCheck.too_slow]"
)


def test_entry_point_works_when_the_strategies_module_is_imported_first() -> None:
    # runstate.strategies then triggers hypothesis' entry points while itself loading.
    assert (
        run_python(f"""
        import runstate.strategies
        from hypothesis import HealthCheck, given, settings, strategies as st
        import runstate
        @settings(max_examples=5, {CHILD_SETTINGS})
        @given(st.from_type(runstate.Run))
        def check(run):
            assert runstate.violations(run) == ()
        check()
        print("ok")
    """)
        == "ok"
    )


def test_entry_point_works_when_hypothesis_is_imported_first() -> None:
    assert (
        run_python(f"""
        from hypothesis import HealthCheck, Phase, find, settings, strategies as st
        import runstate
        run = find(st.from_type(runstate.Run), lambda r: True,
                   settings=settings(phases=[Phase.generate], {CHILD_SETTINGS}))
        print(type(run).__name__, "runstate.strategies" in __import__("sys").modules)
    """)
        == "Run True"
    )
