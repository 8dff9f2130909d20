"""The optional orjson decoder (``runstate[fast]``) accepts and builds exactly what the
standard library path does: same runs, same refusals, same messages."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from realworld import real_run_params

import runstate as rs
from runstate import strategies
from runstate._engine import serde as _serde

orjson = pytest.importorskip("orjson", reason="the fast extra (orjson) is not installed")


@pytest.fixture
def stdlib_only() -> Iterator[None]:
    saved = _serde.fast_loads
    _serde.fast_loads = None
    try:
        yield
    finally:
        _serde.fast_loads = saved


def both(text: str | bytes) -> tuple[Any, Any]:
    """parse_run's verdict on ``text`` with orjson, then with the standard library alone."""
    results = []
    for fast in (orjson.loads, None):
        saved = _serde.fast_loads
        _serde.fast_loads = fast
        try:
            results.append(("run", rs.parse_run(text)))
        except rs.InvalidRun as exc:
            results.append(("refused", [(e.field, e.rule, e.message) for e in exc.errors]))
        finally:
            _serde.fast_loads = saved
    return results[0], results[1]


def test_orjson_is_in_use() -> None:
    if os.environ.get("RUNSTATE_TEST_DECODER") == "json":
        pytest.skip("this run reads text with the standard library only")
    assert _serde.fast_loads is orjson.loads


@pytest.mark.parametrize("real", real_run_params())
def test_real_runs_read_the_same(real: Any) -> None:
    fast, slow = both(real.text)
    assert fast == slow
    assert fast[0] == "run"
    assert rs.dump_run(fast[1]) == json.loads(real.text)


BASE = json.dumps(
    rs.dump_run(rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1))
)

EDGES = [
    BASE.replace('"created_at": 1', '"created_at": 123456789012345678901234567890'),
    BASE.replace('"created_at": 1', '"created_at": -9223372036854775809'),
    BASE.replace('"created_at": 1', '"created_at": 18446744073709551615'),
    BASE.replace('"temperature": 1.0', '"temperature": 123456789012345678901234567890'),
    BASE.replace('"temperature": 1.0', '"temperature": 9.3e18'),
    BASE.replace('"temperature": 1.0', '"temperature": 1e400'),
    BASE.replace('"temperature": 1.0', '"temperature": NaN'),
    BASE[:-1] + ', "future": [123456789012345678901234567890, 1e30, -1e19]}',
    BASE[:-1] + ', "future": {"\\ud800": "\\udc00"}}',
    BASE[:-1] + ', "future": ' + "[" * 1100 + "]" * 1100 + "}",
    BASE[:-1] + ', "a": 1, "a": 2}',
    "\ufeff" + BASE,
    BASE + "\n",
    " " + BASE + " ",
    BASE + "x",
    BASE.replace('"model": "m"', '"model": "\\u0000\\ud83d\\ude00"'),
]


@pytest.mark.parametrize("text", EDGES, ids=range(len(EDGES)))
def test_edge_cases_read_the_same(text: str) -> None:
    fast, slow = both(text)
    assert fast == slow
    fast_b, slow_b = both(text.encode("utf-8", "surrogatepass"))
    assert fast_b == slow_b
    if fast[0] == "run":
        assert rs.dump_run(fast[1]) == rs.dump_run(slow[1])


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(JSON, st.sampled_from(["future", "temperature", "created_at", "metadata", "tools"]))
def test_any_value_anywhere_reads_the_same(value: Any, key: str) -> None:
    payload = json.loads(BASE)
    payload[key] = value
    text = json.dumps(payload)
    fast, slow = both(text)
    assert fast == slow
    if fast[0] == "run":
        assert json.dumps(rs.dump_run(fast[1])) == json.dumps(rs.dump_run(slow[1]))


@given(strategies.run_payloads())
def test_generated_payloads_read_the_same(payload: dict[str, Any]) -> None:
    fast, slow = both(json.dumps(payload))
    assert fast == slow == ("run", rs.parse_run(payload))


def test_the_stdlib_path_alone(stdlib_only: None) -> None:
    assert _serde.fast_loads is None
    assert rs.parse_run(BASE) == rs.parse_run(json.loads(BASE))
