"""Every real run object, and the seed's example, against runstate and the official SDK.

The SDK (``openai.types.beta.threads.Run``, a pydantic model) is an independent reader of
the same JSON: where both accept an object, they must agree on every field, nested value
and unknown key. The SDK is stricter than the real API in exactly two known ways
(spec-facts §8.8): it types ``instructions`` as a string, but real runs carry null, and it
requires ``parallel_tool_calls``, which objects from before 2024-06 lack. Those two, and
nothing else, are tolerated: each is checked to be really present in the object, and the
comparison then runs on a copy with only those two keys patched.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any

import attrs
import pydantic
import pytest
import realworld
from hypothesis import given
from openai.types.beta.threads import Run as SdkRun
from realworld import (
    REAL_WORLD,
    RealRun,
    json_equal,
    real_run_params,
    real_runs,
    seed_example_text,
)

from runstate import Run, RunStatus, dump_run, parse_run
from runstate.strategies import runs

#: The SDK's two known gaps: (error location, pydantic error type).
INSTRUCTIONS_NULL = (("instructions",), "string_type")
PARALLEL_MISSING = (("parallel_tool_calls",), "missing")
KNOWN_GAPS = {INSTRUCTIONS_NULL, PARALLEL_MISSING}


def sdk_gaps(payload: dict[str, Any]) -> set[tuple[tuple[Any, ...], str]]:
    """The SDK's validation errors for ``payload``, as (location, type) pairs."""
    try:
        SdkRun.model_validate(payload)
    except pydantic.ValidationError as exc:
        return {(tuple(e["loc"]), e["type"]) for e in exc.errors()}
    return set()


def patch_known_gaps(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy with only the two known gaps filled in."""
    patched = dict(payload)
    if patched.get("instructions", "") is None:
        patched["instructions"] = ""
    if patched.get("parallel_tool_calls") is None:
        patched["parallel_tool_calls"] = True
    return patched


def sdk_field_names(model: type[pydantic.BaseModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


def our_field_names(value: Any) -> set[str]:
    return {f.name for f in attrs.fields(type(value))} - {"extra", "absent"}


def sdk_attr(model: pydantic.BaseModel, wire: str) -> Any:
    for name, info in type(model).model_fields.items():
        if (info.alias or name) == wire:
            return getattr(model, name)
    raise AssertionError(f"the SDK's {type(model).__name__} has no field {wire!r}")


def assert_agrees(ours: Any, theirs: Any, path: str = "run") -> None:
    """Compare a runstate value with the SDK's reading of the same JSON, recursively."""
    if isinstance(ours, enum.Enum):
        assert theirs == ours.value, path
    elif attrs.has(type(ours)):
        assert isinstance(theirs, pydantic.BaseModel), f"{path}: SDK has {theirs!r}"
        assert our_field_names(ours) == sdk_field_names(type(theirs)), f"{path}: fields differ"
        for name in sorted(our_field_names(ours)):
            assert_agrees(getattr(ours, name), sdk_attr(theirs, name), f"{path}.{name}")
        assert json_equal(dict(ours.extra), dict(theirs.model_extra or {})), f"{path}: extra"
    elif isinstance(ours, tuple):
        assert isinstance(theirs, list), path
        assert len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_agrees(a, b, f"{path}[{i}]")
    elif isinstance(ours, Mapping):
        assert json_equal(dict(ours), theirs), path
    elif isinstance(ours, bool) or ours is None or isinstance(ours, str):
        assert type(theirs) is type(ours), f"{path}: {theirs!r} != {ours!r}"
        assert theirs == ours, path
    elif isinstance(ours, int | float):
        assert isinstance(theirs, int | float), path
        assert not isinstance(theirs, bool), path
        assert theirs == ours, f"{path}: {theirs!r} != {ours!r}"
    else:  # pragma: no cover - a new kind of field
        raise AssertionError(f"{path}: don't know how to compare {ours!r}")


def check_against_sdk(run: Run, payload: dict[str, Any]) -> None:
    """The SDK accepts ``dump_run(run)`` up to the known gaps, then agrees field by field."""
    dumped = dump_run(run)
    assert json_equal(dumped, payload)
    gaps = sdk_gaps(dumped)
    assert gaps <= KNOWN_GAPS, f"the SDK refuses this object for an unknown reason: {gaps}"
    # Each tolerated gap is really in the data, and each gap in the data is really the SDK's.
    assert (INSTRUCTIONS_NULL in gaps) is (
        "instructions" in dumped and dumped["instructions"] is None
    )
    assert (PARALLEL_MISSING in gaps) is ("parallel_tool_calls" not in dumped)
    patched = patch_known_gaps(dumped)
    sdk = SdkRun.model_validate(patched)
    expected = attrs.evolve(
        run,
        instructions="" if run.instructions is None else run.instructions,
        parallel_tool_calls=True if run.parallel_tool_calls is None else run.parallel_tool_calls,
    )
    assert_agrees(expected, sdk)
    # The same, spelled out for the fields that matter most.
    assert sdk.id == run.id
    assert sdk.status == run.status.value
    assert (sdk.created_at, sdk.started_at, sdk.expires_at) == (
        run.created_at,
        run.started_at,
        run.expires_at,
    )
    assert (sdk.cancelled_at, sdk.failed_at, sdk.completed_at) == (
        run.cancelled_at,
        run.failed_at,
        run.completed_at,
    )
    assert (sdk.thread_id, sdk.assistant_id, sdk.model) == (
        run.thread_id,
        run.assistant_id,
        run.model,
    )
    assert [t.type for t in sdk.tools] == [t.type for t in run.tools]
    if run.usage is None:
        assert sdk.usage is None
    else:
        assert sdk.usage is not None
        assert (sdk.usage.prompt_tokens, sdk.usage.completion_tokens, sdk.usage.total_tokens) == (
            run.usage.prompt_tokens,
            run.usage.completion_tokens,
            run.usage.total_tokens,
        )
    if run.required_action is None:
        assert sdk.required_action is None
    else:
        assert sdk.required_action is not None
        assert [c.id for c in sdk.required_action.submit_tool_outputs.tool_calls] == [
            c.id for c in run.required_action.submit_tool_outputs.tool_calls
        ]


# --------------------------------------------------------------------------------------
# The recordings themselves (the loader must find what is there)


def test_every_recording_file_contributes_run_objects(real_world: Any) -> None:
    found = real_runs(real_world)
    files = {r.file for r in found}
    polled = {f"polled/{p.name}" for p in (real_world / "polled").glob("*.jsonl")}
    streamed = {f"streamed/{p.name}" for p in (real_world / "streamed").glob("*.sse")}
    assert polled
    assert streamed
    assert files == polled | streamed
    for run in found:
        value = run.value
        assert isinstance(value, dict), run.id
        assert value.get("object") == "thread.run", run.id
    events = {r.event for r in found if r.event is not None}
    assert "thread.run.created" in events
    assert not any(e.startswith("thread.run.step.") for e in events)


def test_the_known_sdk_gaps_occur_in_the_recordings(real_world: Any) -> None:
    values = [r.value for r in real_runs(real_world)]
    assert any(v.get("instructions", "") is None for v in values)
    assert any("parallel_tool_calls" not in v for v in values)


# --------------------------------------------------------------------------------------
# One test per real object


@pytest.mark.parametrize("real", real_run_params())
def test_real_run_round_trips(real: RealRun) -> None:
    value = real.value
    run = parse_run(value)
    assert json_equal(dump_run(run), value)
    assert parse_run(real.text) == run
    assert parse_run(real.text.encode("utf-8")) == run
    assert parse_run(json.dumps(dump_run(run))) == run


@pytest.mark.parametrize("real", real_run_params())
def test_real_run_agrees_with_the_sdk(real: RealRun) -> None:
    value = real.value
    check_against_sdk(parse_run(value), value)


@pytest.mark.parametrize("real", real_run_params())
def test_real_run_status_matches_its_wire_string(real: RealRun) -> None:
    value = real.value
    assert parse_run(value).status is RunStatus(value["status"])


# --------------------------------------------------------------------------------------
# The seed's example response


def test_seed_example_round_trips_and_agrees_with_the_sdk(seed_path: Any) -> None:
    text = seed_example_text()
    value = json.loads(text)
    run = parse_run(text)
    assert run == parse_run(value)
    assert json_equal(dump_run(run), value)
    assert run.status is RunStatus.QUEUED
    assert run.required_action is not None
    assert [c.id for c in run.required_action.submit_tool_outputs.tool_calls] == ["id"]
    assert sdk_gaps(value) == set()  # the seed is spec-shaped: no gap to patch
    check_against_sdk(run, value)


# --------------------------------------------------------------------------------------
# Generated runs of every shape, against the SDK


@given(runs())
def test_generated_runs_agree_with_the_sdk(run: Run) -> None:
    # Generated runs may also lack keys every real object has, which the SDK requires.
    dumped = {"instructions": None, "tools": [], **dump_run(run)}
    sdk = SdkRun.model_validate(patch_known_gaps(dumped))
    expected = attrs.evolve(
        run,
        instructions="" if run.instructions is None else run.instructions,
        parallel_tool_calls=True if run.parallel_tool_calls is None else run.parallel_tool_calls,
    )
    assert_agrees(expected, sdk)


def test_real_world_location_is_next_to_the_repository() -> None:
    assert REAL_WORLD.name == "real-world"
    assert REAL_WORLD.parent.name == "shared"


def test_absent_recordings_give_one_clearly_skipped_param(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setattr(realworld, "REAL_WORLD", tmp_path / "missing")
    (param,) = realworld.real_run_params()
    (mark,) = param.marks
    assert mark.name == "skip"
    assert "real-world recordings are absent" in mark.kwargs["reason"]
