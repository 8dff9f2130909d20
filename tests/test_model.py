"""The value classes: frozen, unhashable, and guarded against ambiguous hand-made values."""

from __future__ import annotations

import attrs
import pytest

import runstate as rs
import runstate.models as rsm


def _run() -> rs.Run:
    return rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)


def test_runs_are_frozen_and_unhashable() -> None:
    run = _run()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        run.status = rs.RunStatus.FAILED  # type: ignore[misc]
    with pytest.raises(TypeError, match="unhashable"):
        hash(run)


def test_extra_may_not_repeat_a_modelled_field() -> None:
    with pytest.raises(rs.InvalidRun, match=r"extra: repeats modelled fields \['status'\]"):
        attrs.evolve(_run(), extra={"status": "completed", "tool_resources": {}})
    with pytest.raises(ValueError, match="total_tokens"):
        rsm.Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2, extra={"total_tokens": 3})
    kept = attrs.evolve(_run(), extra={"tool_resources": {}})
    assert rs.dump_run(kept)["tool_resources"] == {}


def test_absent_may_only_name_own_fields() -> None:
    with pytest.raises(rs.InvalidRun, match=r"absent: names fields \['nope'\] that Usage lacks"):
        rsm.Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2, absent=frozenset({"nope"}))
    run = attrs.evolve(_run(), absent=frozenset({"usage"}))
    assert "usage" not in rs.dump_run(run)


def test_parsed_values_pass_their_own_validators() -> None:
    """Parsing bypasses __init__ for speed; what it builds must still be constructible."""
    payload = rs.dump_run(_run()) | {"tool_resources": {}, "x_future": [1]}
    del payload["usage"]
    run = rs.parse_run(payload)
    assert attrs.evolve(run) == run
