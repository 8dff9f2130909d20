"""runstate.converter: cattrs structures and unstructures runstate values and containers of
them, losslessly, with runstate's errors; configure_converter teaches any converter."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lifecycle import samples
from realworld import REAL_WORLD, real_runs

import runstate as rs
import runstate.models as rsm
from runstate import strategies

RUNS = [r for runs in samples().values() for r in runs]


@attrs.frozen
class Stored:
    """What a server keeps per run: a version and the run."""

    version: int
    run: rs.Run
    history: tuple[rs.Run, ...] = ()


def test_a_list_of_runs_round_trips() -> None:
    data = [rs.dump_run(r) for r in RUNS]
    runs = rs.converter.structure(data, list[rs.Run])
    assert runs == RUNS
    assert rs.converter.unstructure(runs) == data
    assert rs.converter.structure(data, tuple[rs.Run, ...]) == tuple(RUNS)
    assert rs.converter.structure(data, Sequence[rs.Run]) == RUNS


@pytest.mark.skipif(not REAL_WORLD.is_dir(), reason="../shared/real-world is not present")
def test_every_real_run_through_the_converter() -> None:
    data = [json.loads(r.text) for r in real_runs()]
    runs = rs.converter.structure(data, list[rs.Run])
    assert [rs.dump_run(r) for r in runs] == data
    assert rs.converter.unstructure(runs) == data


def test_errors_name_every_bad_item_by_path() -> None:
    good = rs.dump_run(RUNS[0])
    bad = {**good, "created_at": "soon", "status": "paused"}
    with pytest.raises(rs.InvalidRun) as info:
        rs.converter.structure([good, bad, good, 5], list[rs.Run])
    fields = [e.field for e in info.value.errors]
    assert fields == ["[1].created_at", "[1].status", "[3]"]
    with pytest.raises(rs.InvalidRun):
        rs.converter.structure({"a": good}, list[rs.Run])


def test_nested_value_classes_and_dicts_of_them() -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "x": {"y": [1]}}
    value = rs.converter.structure(usage, rsm.Usage)
    assert value.extra == {"x": {"y": [1]}}
    assert rs.converter.unstructure(value) == usage
    runs = rs.converter.structure({"a": rs.dump_run(RUNS[0])}, dict[str, rs.Run])
    assert runs == {"a": RUNS[0]}
    with pytest.raises(rs.InvalidRun, match="total_tokens"):
        rs.converter.structure({"a": {"prompt_tokens": 1}}, dict[str, rsm.Usage])


def test_a_users_attrs_class_holding_runs() -> None:
    row = {
        "version": 2,
        "run": rs.dump_run(RUNS[1]),
        "history": [rs.dump_run(RUNS[0]), rs.dump_run(RUNS[1])],
    }
    stored = rs.converter.structure(row, Stored)
    assert stored == Stored(version=2, run=RUNS[1], history=(RUNS[0], RUNS[1]))
    assert rs.converter.unstructure(stored) == row
    with pytest.raises(rs.InvalidRun, match="created_at"):
        rs.converter.structure({**row, "run": {**row["run"], "created_at": None}}, Stored)


def test_copying_the_hooks_into_your_own_converter() -> None:
    mine = cattrs.Converter()  # detailed validation on, the cattrs default
    rs.configure_converter(mine)
    row = {"version": 1, "run": rs.dump_run(RUNS[0]), "history": []}
    assert mine.structure(row, Stored).run == RUNS[0]
    with pytest.raises(cattrs.ClassValidationError) as info:
        mine.structure({**row, "run": {"id": 1}}, Stored)
    inner = info.value.exceptions[0]
    assert isinstance(inner, rs.InvalidRun)
    assert "id" in [e.field for e in inner.errors]


@given(st.lists(strategies.runs(), max_size=4))
def test_lists_of_generated_runs_round_trip(runs: list[rs.Run]) -> None:
    data: Any = rs.converter.unstructure(runs)
    assert json.loads(json.dumps(data)) == data
    assert rs.converter.structure(data, list[rs.Run]) == runs


def test_objects_of_runs_name_the_key_and_refuse_non_objects() -> None:
    good = rs.dump_run(RUNS[0])
    assert rs.converter.structure({"a": good}, dict[str, rs.Run]) == {"a": RUNS[0]}
    with pytest.raises(rs.InvalidRun) as info:
        rs.converter.structure({"a": good, "b": {**good, "created_at": "x"}}, dict[str, rs.Run])
    assert [e.field for e in info.value.errors] == ["b.created_at"]
    for bad in ([1], "abc", 5):
        with pytest.raises(rs.InvalidRun, match="expected an object"):
            rs.converter.structure(bad, dict[str, rs.Run])


@pytest.mark.parametrize(
    ("data", "cl", "fields", "what"),
    [
        ([[0], [0, 1]], list[list[rs.Run]], ["[1][1].created_at"], "list of list of Run"),
        ({"a": [0, 1]}, dict[str, list[rs.Run]], ["a[1].created_at"], "object of list of Run"),
        ({"a": {"b": 1}}, dict[str, dict[str, rs.Run]], ["a.b.created_at"], "object of object"),
        (
            [(1,), (0, 1)],
            tuple[tuple[rs.Run, ...], ...],
            ["[0][0].created_at", "[1][1].created_at"],
            "list of list",
        ),
        ([[0], 5], list[list[rs.Run]], ["[1]"], "list of list of Run"),
    ],
)
def test_nested_containers_name_every_level(
    data: Any, cl: Any, fields: list[str], what: str
) -> None:
    good = rs.dump_run(RUNS[0])
    items = [good, {**good, "created_at": "x"}]

    def fill(value: Any) -> Any:  # 0 and 1 stand for the good and the bad run
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [fill(v) for v in value]
        return items[value] if value in (0, 1) else value

    with pytest.raises(rs.InvalidRun) as info:
        rs.converter.structure(fill(data), cl)
    assert [e.field for e in info.value.errors] == fields
    assert str(info.value).startswith(f"invalid {what}")


def test_nested_containers_keep_their_shape() -> None:
    good = rs.dump_run(RUNS[0])
    out = rs.converter.structure([[good], []], list[tuple[rs.Run, ...]])
    assert out == [(RUNS[0],), ()] and type(out[0]) is tuple
    assert rs.converter.structure({"a": {"b": good}}, dict[str, dict[str, rs.Run]]) == {
        "a": {"b": RUNS[0]}
    }
    assert rs.converter.unstructure([[RUNS[0]]]) == [[good]]


def test_transform_error_lists_runstate_problems_with_format_exception() -> None:
    @attrs.frozen
    class Rows:
        runs: list[list[rs.Run]]
        version: int

    conv = cattrs.Converter()  # detailed validation
    rs.configure_converter(conv)
    good = rs.dump_run(RUNS[0])
    with pytest.raises(Exception) as info:  # cattrs' exception group
        conv.structure({"runs": [[good, {**good, "status": "x"}]], "version": "z"}, Rows)
    lines = cattrs.transform_error(info.value, format_exception=rsm.format_exception)
    assert lines[0].startswith("[0][1].status: unknown status 'x'")
    assert lines[0].endswith("@ $.runs")
    assert lines[1] == "invalid value for type, expected int @ $.version"
    plain = cattrs.transform_error(info.value)
    assert plain[0] == "invalid value for type, expected list @ $.runs"


def test_optional_items_keys_and_odd_keys() -> None:
    good = rs.dump_run(RUNS[0])
    bad = {**good, "status": "nope"}
    assert rs.converter.structure([good, None], list[rs.Run | None]) == [RUNS[0], None]
    with pytest.raises(rs.InvalidRun) as info:
        rs.converter.structure([good, None, bad], list[rs.Run | None])
    assert [e.field for e in info.value.errors] == ["[2].status"]
    assert str(info.value).startswith("invalid list of Run or null")
    # keys are structured to the key type, as cattrs does for other dicts
    assert rs.converter.structure({"1": good}, dict[int, rs.Run]) == {1: RUNS[0]}
    assert rs.converter.structure({1: good}, dict[str, rs.Run]) == {"1": RUNS[0]}
    assert rs.converter.structure({1: good}, dict[Any, rs.Run]) == {1: RUNS[0]}
    # a key that is not a plain name is quoted in the path, so paths stay unambiguous
    for key, path in (("a.b", "['a.b'].status"), ("runs", "runs.status"), ("", "[''].status")):
        with pytest.raises(rs.InvalidRun) as info:
            rs.converter.structure({key: bad}, dict[str, rs.Run])
        assert [e.field for e in info.value.errors] == [path]
