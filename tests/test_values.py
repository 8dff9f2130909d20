"""Values are immutable all the way down, pickle and copy, and are built one way or another
with the same result; the schema's allowed values are stated once."""

from __future__ import annotations

import copy
import json
import linecache
import pickle
import traceback
import typing
from typing import Any, Literal, get_args

import attrs
import pytest
from hypothesis import given
from lifecycle import samples
from realworld import real_run_params

import runstate as rs
import runstate.models as rsm
from runstate import _model, strategies
from runstate._engine import codegen as _codegen
from runstate._engine import schema as _engine_schema
from runstate._engine.copying import replace

SAMPLE_RUNS = [r for runs in samples().values() for r in runs]


def containers(value: Any, path: str = "run") -> typing.Iterator[tuple[str, Any]]:
    """Every container reachable from a value through its public attributes."""
    if attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield from containers(getattr(value, field.name), f"{path}.{field.name}")
    elif isinstance(value, dict):
        yield path, value
        for k, v in value.items():
            yield from containers(v, f"{path}[{k!r}]")
    elif isinstance(value, list | tuple):
        yield path, value
        for i, v in enumerate(value):
            yield from containers(v, f"{path}[{i}]")


MUTATIONS = {
    "setitem": lambda c: c.__setitem__(next(iter(c), 0) if isinstance(c, dict) else 0, 1),
    "delitem": lambda c: c.__delitem__(next(iter(c), 0) if isinstance(c, dict) else 0),
    "update": lambda c: c.update({"x": 1}),
    "setdefault": lambda c: c.setdefault("x", 1),
    "pop": lambda c: c.pop(),
    "popitem": lambda c: c.popitem(),
    "clear": lambda c: c.clear(),
    "ior": lambda c: c.__ior__({"x": 1}),
    "append": lambda c: c.append(1),
    "extend": lambda c: c.extend([1]),
    "insert": lambda c: c.insert(0, 1),
    "remove": lambda c: c.remove(c[0]),
    "sort": lambda c: c.sort(),
    "reverse": lambda c: c.reverse(),
    "iadd": lambda c: c.__iadd__([1]),
    "imul": lambda c: c.__imul__(2),
}


def assert_cannot_change(run: rs.Run) -> None:
    before = rs.dump_run(run)
    found = list(containers(run))
    for path, container in found:
        for name, mutate in MUTATIONS.items():
            if not hasattr(
                container, name if name not in ("ior", "iadd", "imul") else f"__{name}__"
            ):
                continue
            with pytest.raises((TypeError, AttributeError, IndexError, KeyError)) as info:
                mutate(container)
            if not isinstance(info.value, TypeError):
                # IndexError/KeyError on an empty container is fine only for the mutation
                # that needed an element; the method itself must still refuse.
                assert not container, f"{path}.{name}"
    assert rs.dump_run(run) == before


@pytest.mark.parametrize("run", SAMPLE_RUNS, ids=lambda r: r.status.value)
def test_operation_results_cannot_be_changed_in_place(run: rs.Run) -> None:
    assert_cannot_change(run)


@pytest.mark.parametrize("real", real_run_params())
def test_parsed_real_runs_cannot_be_changed_in_place(real: Any) -> None:
    assert_cannot_change(rs.parse_run(real.text))


@given(strategies.runs())
def test_generated_runs_cannot_be_changed_in_place(run: rs.Run) -> None:
    assert_cannot_change(run)


def test_kept_json_is_frozen_at_every_level() -> None:
    payload = rs.dump_run(SAMPLE_RUNS[0]) | {"future": {"a": [{"b": [1, {"c": {}}]}]}}
    run = rs.parse_run(payload)
    inner = run.extra["future"]["a"][0]["b"][1]
    assert type(inner) is rsm.FrozenDict and type(run.extra["future"]["a"]) is rsm.FrozenList
    with pytest.raises(TypeError):
        run.extra["future"]["a"][0]["b"].append(2)
    hand = rsm.Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2, extra={"d": {"x": [1]}})
    with pytest.raises(TypeError):
        hand.extra["d"]["x"].append(2)
    assert rs.dump_run(run)["future"] == {"a": [{"b": [1, {"c": {}}]}]}
    assert type(rs.dump_run(run)["future"]["a"]) is list  # dumps are plain, fresh JSON


@pytest.mark.parametrize("real", real_run_params())
def test_real_runs_pickle_and_copy(real: Any) -> None:
    run = rs.parse_run(real.text)
    for clone in (pickle.loads(pickle.dumps(run)), copy.copy(run), copy.deepcopy(run)):
        assert clone == run
        assert rs.dump_run(clone) == rs.dump_run(run)


@pytest.mark.parametrize("run", SAMPLE_RUNS, ids=lambda r: r.status.value)
def test_operation_results_pickle_and_copy(run: rs.Run) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(run, protocol)) == run
    assert copy.deepcopy(run) == run


# -- one statement of the allowed values ------------------------------------------------


def literal_kinds() -> list[tuple[type, str, Any, tuple[str, ...]]]:
    """(class, field, its kind in the schema, the values its annotation allows)."""
    out = []
    for cls, fields in _engine_schema.SCHEMA.items():  # every machine registered
        hints = typing.get_type_hints(cls)
        for key, (kind, _) in fields.items():
            inner = kind.inner if isinstance(kind, _engine_schema.OptionalKind) else kind
            if isinstance(inner, _engine_schema.LiteralKind):
                hint = hints[key]
                args = tuple(
                    a
                    for part in (
                        get_args(hint) if typing.get_origin(hint) is not Literal else (hint,)
                    )
                    for a in (get_args(part) if typing.get_origin(part) is Literal else ())
                )
                out.append((cls, key, inner, args))
    return out


def test_every_literal_kind_is_its_annotation() -> None:
    kinds = literal_kinds()
    # every tag, the error codes, the reasons, the truncation, the ranker, the step type and
    # the message status (14 for the run, 11 for steps and messages, 2 for responses)
    assert len(kinds) == 27
    for cls, key, kind, args in kinds:
        assert kind.values == args, f"{cls.__name__}.{key}"


def test_unions_and_statuses_come_from_the_model() -> None:
    assert set(_model._TOOL_CHOICE.strings) == set(get_args(rsm.ToolChoiceMode))
    assert set(_model._TOOL_CHOICE.classes) == set(get_args(rsm.ToolChoiceType))
    assert set(_model._RESPONSE_FORMAT.strings) == {"auto"}
    assert set(_model._TOOLS.classes) == {"code_interpreter", "file_search", "function"}


@given(strategies.runs())
def test_strategies_stay_inside_the_allowed_values(run: rs.Run) -> None:
    for cls, key, _kind, args in literal_kinds():
        for _, value in _walk_values(run, cls):
            got = getattr(value, key)
            assert got is None or got in args, f"{cls.__name__}.{key}={got!r}"


def _walk_values(value: Any, cls: type) -> typing.Iterator[tuple[str, Any]]:
    if type(value) is cls:
        yield "", value
    if attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield from _walk_values(getattr(value, field.name), cls)
    elif isinstance(value, tuple):
        for v in value:
            yield from _walk_values(v, cls)


# -- building: both paths, and nothing skipped silently -------------------------------


PORTABLE = _codegen.generate(swap=False)


@pytest.mark.parametrize("real", real_run_params())
def test_portable_build_gives_the_same_runs(real: Any) -> None:
    fast = _codegen.HOOKS[rs.Run](json.loads(real.text))
    slow = PORTABLE[rs.Run](json.loads(real.text))
    assert type(slow) is rs.Run
    assert slow == fast
    assert rs.dump_run(slow) == rs.dump_run(fast)


@given(strategies.run_payloads())
def test_portable_build_agrees_on_generated_payloads(payload: dict[str, Any]) -> None:
    assert PORTABLE[rs.Run](payload) == rs.parse_run(payload)


def test_a_class_with_a_post_init_is_built_by_its_init() -> None:
    seen = []

    @attrs.frozen
    class Noted:
        a: int
        extra: Any = attrs.field(default=rsm.FrozenDict())
        absent: frozenset[str] = frozenset()

        def __attrs_post_init__(self) -> None:
            seen.append(self.a)

    assert _codegen.plan(Noted) == "init"
    assert _codegen.plan(rs.Run, swap=True) == "swap"
    assert _codegen.plan(rs.Run, swap=False) == "portable"
    em = _engine_schema.Emitter({})
    em.lines.append("def make(v):")
    _codegen.emit_construct(em, Noted, {"a": "v", "extra": "None", "absent": "None"}, "    ")
    em.lines.append("    return r")
    exec("\n".join(em.lines), em.ns)
    assert em.ns["make"](7).a == 7
    assert seen == [7]


def test_generated_code_shows_in_tracebacks() -> None:
    run = SAMPLE_RUNS[0]
    copy_ = _codegen.copier(rs.Run, "status", checked=False)
    filename = copy_.__code__.co_filename
    assert filename.startswith("<runstate generated copier Run")
    assert "def copy(o, status):" in "".join(linecache.getlines(filename))
    try:
        _codegen.HOOKS[rs.Run]({"id": 1})
    except Exception as exc:  # the generated parser's private refusal
        text = "".join(traceback.format_exception(exc))
        assert "<runstate generated Run (swap)>" in text or "(portable)" in text
        assert "raise _Bad" in text  # the generated line itself is shown
    assert run is not None


def test_replace_refuses_what_evolve_refuses() -> None:
    run = SAMPLE_RUNS[0]
    for changes, error in [
        ({"nonsense": 1}, TypeError),
        ({"status": "queued"}, rs.InvalidRun),
        ({"created_at": "soon"}, rs.InvalidRun),
        ({"extra": {"status": "completed"}}, ValueError),
        ({"metadata": {"k": 1}}, rs.InvalidRun),
    ]:
        with pytest.raises(error):
            attrs.evolve(run, **changes)
        with pytest.raises(error):
            replace(run, **changes)
    assert replace(run, metadata={"k": "v"}).metadata == {"k": "v"}
    assert type(replace(run, metadata={"k": "v"}).metadata) is rsm.FrozenDict


def test_hand_built_values_are_checked_naming_the_field() -> None:
    with pytest.raises(rs.InvalidRun, match="code: unknown error code 'nonsense'"):
        rsm.LastError(code="nonsense", message="x")  # type: ignore[arg-type]
    with pytest.raises(rs.InvalidRun, match="message: expected a string, got 5"):
        rsm.LastError(code="server_error", message=5)  # type: ignore[arg-type]
    with pytest.raises(rs.InvalidRun, match="prompt_tokens"):
        rsm.Usage(prompt_tokens="a", completion_tokens=1, total_tokens=1)  # type: ignore[arg-type]
    with pytest.raises(
        rs.InvalidRun, match="prompt_tokens: expected an integer, got an integer of"
    ):
        rsm.Usage(prompt_tokens=10**5000, completion_tokens=1, total_tokens=1)
    assert (
        rsm.ToolCall(id="c", function=rsm.FunctionCall(name="f", arguments="{}")).type == "function"
    )


@pytest.mark.parametrize("real", real_run_params())
def test_operation_results_equal_their_reparsed_dump(real: Any) -> None:
    """Equality follows the wire form, also for old objects that lacked keys (absent)."""
    from lifecycle import OPERATIONS, later  # noqa: PLC0415 - shared helpers

    run = rs.parse_run(real.text)
    assert run == rs.parse_run(rs.dump_run(run))
    for target, call, _ in OPERATIONS.values():
        if rs.can_transition(run.status, target):
            try:
                out = call(run, max(later(run), run.expires_at or 0))
            except rs.TransitionError:
                continue  # e.g. a run that never started cannot complete
            assert out == rs.parse_run(rs.dump_run(out)), target
