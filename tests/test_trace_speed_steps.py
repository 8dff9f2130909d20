"""The trace checker's fast paths judge exactly as its general path does.

Deltas (``thread.run.step.delta``, ``thread.message.delta``) given as tuples are taken
first by :meth:`TraceChecker.feed`; the same pairs given as lists go the general way, so
feeding both forms of every item is a differential test of the fast path.
"""

from __future__ import annotations

import copy
import json
import tracemalloc
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import runstate as rs
from runstate._engine.codegen import GUARDED_HOOKS, HOOKS, SWAP, generate
from runstate._engine.jsonvalue import freeze as _freeze
from runstate._engine.jsonvalue import freeze_guarded as _freeze_guarded
from runstate._engine.jsonvalue import scan as _scan
from runstate._engine.jsonvalue import scan_guarded as _scan_guarded
from runstate._judges import _checks, _missing_outputs
from runstate._model import Message, Run, RunStep
from runstate.strategies import traces

DELTAS = [
    ("thread.run.step.delta", '{"id":"step_1","object":"thread.run.step.delta","delta":{}}'),
    ("thread.message.delta", '{"id":"msg_1","object":"thread.message.delta","delta":{}}'),
    ("thread.message.delta", "not json"),
    ("thread.run.step.delta", "[DONE]"),
]


def judged(items: list[Any], mode: str = "stream") -> list[str]:
    checker = rs.TraceChecker(mode=mode)  # type: ignore[arg-type]
    found = [str(p) for item in items for p in checker.feed(item)]
    return found + [str(p) for p in checker.close()]


def as_lists(items: list[Any]) -> list[Any]:
    return [list(item) if type(item) is tuple else item for item in items]


@given(
    traces(mode="stream") | traces(mode="stream", broken=True),
    st.lists(st.tuples(st.integers(0, 60), st.sampled_from(DELTAS)), max_size=6),
)
def test_deltas_anywhere_are_judged_as_the_general_path_does(
    trace: list[tuple[str, str]], inserts: list[tuple[int, tuple[str, str]]]
) -> None:
    items: list[Any] = list(trace)
    for at, delta in inserts:
        items.insert(min(at, len(items)), delta)
    for mode in ("stream", "poll"):
        assert judged(items, mode) == judged(as_lists(items), mode)


def test_a_delta_after_done_is_reported_and_after_close_raises() -> None:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
    items = [("thread.run.created", rs.toolkit.run_json(run)), ("done", "[DONE]"), DELTAS[0]]
    assert judged(items) == ["2: error after-done: an item follows the 'done' event"]
    checker = rs.TraceChecker(mode="stream")
    checker.close()
    with pytest.raises(rs.InvalidArgument, match="closed"):
        checker.feed(DELTAS[1])


def opened_step() -> tuple[list[tuple[str, str]], str, rs.steps.RunLife]:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)
    started = rs.advance(run, (), "start", now=11)
    events = rs.stream_events(None, run) + rs.stream_events(run, started.run)
    opened = rs.advance(started.run, (), "open_tool_calls_step", now=12, step_id="s")
    return events, json.dumps(rs.dump_step(opened.steps[0])), opened


def test_a_delta_between_created_and_created_breaks_the_repeat() -> None:
    events, text, _ = opened_step()
    n = len(events)
    twice = [*events, ("thread.run.step.created", text), ("thread.run.step.in_progress", text)]
    assert judged(twice)[:-1] == []  # in_progress repeats created's object: judged once
    apart = [*twice[:-1], DELTAS[0], ("thread.run.step.created", text)]
    assert judged(apart)[0].startswith(f"{n + 2}: error step-status-illegal")
    created_twice = [*twice[:-1], ("thread.run.step.created", text)]  # no repeat: judged
    assert judged(created_twice)[0].startswith(f"{n + 1}: error step-status-illegal")
    assert judged(created_twice) == judged(as_bytearrays(created_twice))


def test_a_str_subclass_never_passes_for_a_repeat() -> None:
    """A repeat is judged by the text itself: a str subclass whose ``==`` lies is judged."""

    class Liar(str):
        __slots__ = ()

        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = str.__hash__

    events, text, _ = opened_step()
    other = {**json.loads(text), "id": "step_other", "status": "failed"}
    lying = [*events, ("thread.run.step.created", text)]
    lying.append(("thread.run.step.in_progress", Liar(json.dumps(other))))
    plain = [*lying[:-1], ("thread.run.step.in_progress", json.dumps(other))]
    assert judged(lying) == judged(plain) != []


def test_only_created_and_in_progress_can_repeat() -> None:
    """An object judged under an end event is no repeat for the next event's same data."""
    events, _, opened = opened_step()
    done = json.dumps(rs.dump_step(rs.steps.complete_step(opened.steps[0], now=13)))
    n = len(events)
    items = [*events, ("thread.run.step.completed", done), ("thread.run.mystery", done)]
    assert judged(items)[0] == f"{n + 1}: warning unknown-run-event: unknown run event " + (
        "'thread.run.mystery' (skipped)"
    )


# -- check-only parsing functions accept exactly what the parse accepts -----------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**63, -(2**63), 2**64 + 1, 10**30])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e300, 2.0**63, -(2.0**63), 9.2e18, float("inf"), float("-inf")])
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


def nested(depth: int, leaf: Any = None) -> Any:
    value: Any = [leaf] if leaf is not None else []
    for i in range(depth - 1):
        value = {"k": value} if i % 2 else [value]
    return value


def verdict(hook: Any, obj: Any) -> bool:
    try:
        hook(copy.deepcopy(obj))
    except Exception:
        return False
    return True


def base_objects() -> list[tuple[type, Any]]:
    """Valid objects of several classes: generated steps and messages, and runs."""
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)
    life = rs.advance(run, (), "start", now=11)
    life = rs.advance(life.run, (), "open_message_step", now=12, step_id="s1", message_id="m1")
    life = rs.advance(
        life.run, life.steps, "finish_message_step", now=13, messages=life.messages, step_id="s1"
    )
    tools = rs.advance(life.run, life.steps, "open_tool_calls_step", now=14, step_id="s2")
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    tools = rs.advance(tools.run, tools.steps, "require_action", now=15, tool_calls=[call])
    out: list[tuple[type, Any]] = [(RunStep, rs.dump_step(s)) for s in tools.steps]
    out += [(Message, rs.steps.dump_message(m)) for m in life.messages]
    out.append((Run, rs.dump_run(tools.run)))
    step = rs.dump_step(tools.steps[-1])
    step["step_details"]["tool_calls"].append(
        {"id": "x", "type": "file_search", "file_search": {"results": [{"score": 0.5}]}}
    )
    step["usage"] = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2,
                     "prompt_token_details": {"cached_tokens": 0}}  # fmt: skip
    out.append((RunStep, step))
    message = rs.steps.dump_message(life.messages[0])
    message["content"] = [{"type": "text", "text": {"value": "hi", "annotations": []}}]
    out.append((Message, message))
    return out


BASES = base_objects()
HOOK_SETS = [
    (HOOKS, generate(check_only=True), generate(check_only=True, swap=not SWAP)),
    (GUARDED_HOOKS or HOOKS, *([_checks(True)] if GUARDED_HOOKS else [_checks(False)])),
]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += paths(v, (*prefix, i))
    return found


@given(st.data())
def test_check_only_functions_accept_what_the_parse_accepts(data: st.DataObject) -> None:
    cls, base = data.draw(st.sampled_from(BASES))
    obj = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(paths(obj)))
        action = data.draw(st.sampled_from(["set", "delete", "add", "deep"]))
        if not where:
            continue
        parent = obj
        for key in where[:-1]:
            parent = parent[key]
        last = where[-1]
        if action == "set":
            parent[last] = data.draw(JSON_VALUES)
        elif action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.text(max_size=6))] = data.draw(JSON_VALUES)
        elif action == "deep":
            parent[last] = nested(data.draw(st.integers(195, 205)), data.draw(JSON_SCALARS))
    for parse, *checks in HOOK_SETS:
        expected = verdict(parse[cls], obj)
        for check in checks:
            assert verdict(check[cls], obj) == expected


@given(JSON_VALUES | st.integers(190, 210).map(nested), st.sampled_from([_freeze, _freeze_guarded]))
def test_the_scanner_refuses_what_the_freezer_refuses(value: Any, freeze: Any) -> None:
    if not isinstance(value, dict | list):
        return
    scan = _scan if freeze is _freeze else _scan_guarded
    assert verdict(lambda v: freeze(v, 0), value) == verdict(lambda v: scan(v, 0), value)


def test_check_only_functions_return_their_input_and_build_nothing() -> None:
    for cls, obj in BASES:
        assert _checks(False)[cls](obj) is obj


# -- the fast path judges as the general path -------------------------------------------


def as_bytearrays(items: list[Any]) -> list[Any]:
    """Step and message data as bytearrays: the general path (parse_step/parse_message)."""
    out = []
    for item in items:
        if type(item) is tuple and item[0].startswith(("thread.run.step.", "thread.message.")):
            data = item[1]
            out.append((item[0], bytearray(data.encode() if isinstance(data, str) else data)))
        else:
            out.append(item)
    return out


def mutated_object_events(data: st.DataObject, trace: list[tuple[str, str]]) -> list[Any]:
    items: list[Any] = list(trace)
    for _ in range(data.draw(st.integers(0, 3))):
        cls, base = data.draw(st.sampled_from([b for b in BASES if b[0] is not Run]))
        obj = copy.deepcopy(base)
        where = data.draw(st.sampled_from(paths(obj)))
        if where:
            parent = obj
            for key in where[:-1]:
                parent = parent[key]
            parent[where[-1]] = data.draw(JSON_VALUES)
        event = data.draw(
            st.sampled_from(
                ["created", "in_progress", "completed", "failed", "cancelled", "expired"]
                if cls is RunStep
                else ["created", "in_progress", "completed", "incomplete"]
            )
        )
        prefix = "thread.run.step." if cls is RunStep else "thread.message."
        text = json.dumps(obj)
        items.insert(data.draw(st.integers(0, len(items))), (prefix + event, text))
    return items


@given(traces(mode="stream") | traces(mode="stream", broken=True), st.data())
def test_step_and_message_text_is_judged_as_the_general_path_judges_it(
    trace: list[tuple[str, str]], data: st.DataObject
) -> None:
    items = mutated_object_events(data, trace)
    assert judged(items) == judged(as_bytearrays(items))
    encoded = [(e, d.encode()) if isinstance(d, str) else (e, d) for e, d in items]
    assert judged(encoded) == judged(as_bytearrays(encoded))


def test_real_streams_are_judged_as_the_general_path_judges_them(real_world: Any) -> None:
    for path in sorted((real_world / "streamed").glob("*.sse")):
        items = list(rs.parse_sse(path.read_bytes()))
        assert judged(items) == judged(as_bytearrays(items))


@pytest.mark.slow  # a memory measurement (tracemalloc): CI runs it
def test_memory_stays_bounded_on_a_long_stream_of_steps() -> None:
    """A thousand steps and messages opened and closed: the checker's memory stays flat."""
    events, _, _ = opened_step()
    started = rs.advance(
        rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10), (), "start",
        now=11,
    )  # fmt: skip

    def stream(n: int) -> Any:
        yield from events
        for i in range(n):
            opened = rs.advance(
                started.run, (), "open_message_step", now=12, step_id=f"s{i}", message_id=f"m{i}"
            )
            done = rs.advance(
                opened.run, opened.steps, "finish_message_step", now=13,
                messages=opened.messages, step_id=f"s{i}",
            )  # fmt: skip
            yield ("thread.run.step.created", json.dumps(rs.dump_step(opened.steps[0])))
            yield ("thread.message.created", json.dumps(rs.steps.dump_message(opened.messages[0])))
            yield ("thread.message.delta", '{"delta":{}}')
            yield ("thread.message.completed", json.dumps(rs.steps.dump_message(done.messages[0])))
            yield ("thread.run.step.completed", json.dumps(rs.dump_step(done.steps[0])))

    peaks = []
    for n in (100, 1000):
        tracemalloc.start()
        checker = rs.TraceChecker(mode="stream")
        for item in stream(n):
            assert checker.feed(item) == ()
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert not checker._steps.open_steps and not checker._steps.open_messages
    assert peaks[1] < peaks[0] * 1.5 + 64 * 1024, peaks


# -- tool-output-missing read from the decoded step --------------------------------------

FUNCTION_CALLS = [
    {"id": "call_null", "type": "function",
     "function": {"name": "f", "arguments": "{}", "output": None}},
    {"id": "call_absent", "type": "function", "function": {"name": "f", "arguments": "{}"}},
    {"id": "call_done", "type": "function",
     "function": {"name": "f", "arguments": "{}", "output": "ok"}},
    {"id": "call_code", "type": "code_interpreter",
     "code_interpreter": {"input": "", "outputs": []}},
]  # fmt: skip


def tool_step(calls: Any, status: str = "completed", **details: Any) -> dict[str, Any]:
    step_details: dict[str, Any] = {"type": "tool_calls", "tool_calls": calls, **details}
    return {
        "id": "step_1", "object": "thread.run.step", "created_at": 10, "run_id": "run_1",
        "assistant_id": "a", "thread_id": "t", "type": "tool_calls", "status": status,
        "completed_at": 12 if status == "completed" else None, "step_details": step_details,
    }  # fmt: skip


@given(st.lists(st.sampled_from(FUNCTION_CALLS), max_size=5))
def test_missing_outputs_read_from_json_as_from_the_step(calls: Any) -> None:
    obj = tool_step(calls, extra_key=1)
    text = json.dumps(obj)
    assert _checks(False)[RunStep](json.loads(text)) is not None
    assert _missing_outputs(json.loads(text)) == _missing_outputs(rs.parse_step(text))
    message_step = {
        **obj, "type": "message_creation",
        "step_details": {"type": "message_creation", "message_creation": {"message_id": "m"},
                         "tool_calls": calls},
    }  # fmt: skip
    assert _missing_outputs(message_step) == []
    assert _missing_outputs(rs.parse_step(message_step)) == []


def test_a_step_completing_without_outputs_is_judged_alike_on_every_path() -> None:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)
    started = rs.advance(run, (), "start", now=11)
    opened = rs.advance(started.run, (), "open_tool_calls_step", now=12, step_id="step_1")
    call = {"id": "call_null", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    waiting = rs.advance(opened.run, opened.steps, "require_action", now=13, tool_calls=[call])
    runs = [
        *rs.stream_events(None, run),
        *rs.stream_events(run, started.run),
        *rs.stream_events(started.run, waiting.run),
    ]
    runs = [p for p in runs if p[0] != "done"]
    events = [
        *runs[:-1],
        ("thread.run.step.created", json.dumps(rs.dump_step(opened.steps[0]))),
        runs[-1],
        ("thread.run.step.completed", json.dumps(tool_step(FUNCTION_CALLS))),
        ("done", "[DONE]"),
    ]
    expected = judged(as_bytearrays(events))
    assert [p.split(": ")[1] for p in expected] == ["error tool-output-missing"]
    assert "call_null, call_absent" in expected[0]
    assert judged(events) == expected
    assert judged([(e, d.encode()) for e, d in events]) == expected
    assert judged(as_lists(events)) == expected


def test_object_text_in_the_fast_path_that_cannot_be_read_is_reported() -> None:
    deep = '{"status": "in_progress", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    for event in ("thread.run.step.created", "thread.message.created"):
        found = judged([(event, deep)])
        assert any("invalid-item" in p or "invalid-" in p for p in found), found
        assert found == judged([[event, deep]])


def test_partial_message_text_is_not_judged_on_any_path() -> None:
    partial = '{"id": "msg_1", "object": "thread.message"}'
    found = [judged([("thread.message.created", data)]) for data in (partial, partial.encode())]
    assert found[0] == found[1] == judged([("thread.message.created", bytearray(partial.encode()))])
    assert [p.split(": ")[1] for p in found[0]] == ["error no-run", "warning truncated-stream"]


class Unreadable(dict):  # type: ignore[type-arg]
    """A mapping that raises when read."""

    def __contains__(self, key: object) -> bool:
        raise KeyError(key)

    def get(self, key: object, default: object = None) -> object:
        raise KeyError(key)


def test_object_data_that_raises_when_read_is_reported() -> None:
    for event in ("thread.run.step.created", "thread.message.created"):
        found = judged([(event, Unreadable())])
        assert (
            found[0]
            == f"0: error invalid-item: the data of {event!r} cannot be read: it raised KeyError"
        )
