"""Fuzzing harness: hostile input for ``parse_run`` and every lifecycle operation.

Oracles, checked everywhere below:

(a) anything raised that is not a :class:`runstate.Error` is a failure;
(b) an accepted input round-trips: ``parse_run(dump_run(x)) == x``, ``json.dumps`` works,
    and the dump is the same JSON (``json_equal``: ``1``, ``1.0`` and ``true`` differ);
(c) an operation never returns a run that fails (b);
(d) operations never change their inputs;
(e) values pickle, ``copy`` and ``deepcopy`` to equal values;
(f) nothing reachable from a run can be changed in place;
(g) error messages never echo more than a few hundred characters of an input value.

Each known defect is pinned by a test marked ``xfail(strict=True, reason="defect: ...")``
(or an entry of :data:`KNOWN_DEFECTS` for the argument matrix): the marker flips to a
failure when the defect is fixed, and is then removed with the fix.

Runs in a few seconds with ``HYPOTHESIS_PROFILE=ci``; the ``dev`` profile explores more.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import pickle
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from realworld import REAL_WORLD, json_equal, real_runs

import runstate as rs
from runstate import dump_run, parse_run
from runstate import strategies as rst
from runstate._engine.templates import BAD_JSON_MESSAGE
from runstate._schema import MAX_JSON_DEPTH
from runstate.models import (
    FrozenDict,
    FrozenList,
    FunctionCall,
    LastError,
    ToolCall,
    Usage,
)

# --------------------------------------------------------------------------------------
# Helpers: time limits, oracles


class _TimedOut(BaseException):
    """Raised by :func:`time_limit`; not an Exception, so no library handler swallows it."""


def _stable_id(value: object) -> str:
    """A test id that is the same in every process (no object addresses): for xdist."""
    return f"<{type(value).__name__}>" if type(value) is object else repr(value)


#: The one bound of :func:`time_limit`: long enough that only a hung (endless) loop
#: reaches it on the busiest CI machine. It stops a hang; it measures nothing (a test
#: never asserts a duration; benchmarks/ measures). tests/test_timing.py keeps it so.
HANG_GUARD = 300


@contextlib.contextmanager
def time_limit(seconds: float = HANG_GUARD) -> Iterator[None]:
    """Stop the block if it hangs: fail after ``seconds`` (POSIX main thread only).

    A hang guard, not a measurement: pass nothing (:data:`HANG_GUARD`).
    """
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise _TimedOut(f"hung: still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


#: At most this many characters of one input value may appear in an error message.
MAX_ECHO = 300
#: A marker character for big strings, so an echo can be measured.
MARK = "\u00a7"


def longest_echo(text: str, mark: str = MARK) -> int:
    """The longest run of ``mark`` in ``text``."""
    return max(map(len, re.findall(f"{re.escape(mark)}+", text)), default=0)


def assert_short_echo(exc: BaseException, mark: str = MARK) -> None:
    __tracebackhide__ = True
    for text in (str(exc), repr(exc)):
        assert_short_text(text, type(exc).__name__, mark)


def assert_short_text(text: str, what: str, mark: str = MARK) -> None:
    __tracebackhide__ = True
    # No `assert ... in text`: pytest would render a megabyte-long diff.
    if mark * (MAX_ECHO + 1) in text:
        raise AssertionError(f"{what} echoes {longest_echo(text, mark)} characters of an input")


def check_run(run: object) -> None:
    """Oracles (b), (c), (e) for a value an input or an operation produced."""
    assert type(run) is rs.Run, type(run)
    dumped = dump_run(run)
    text = json.dumps(dumped, allow_nan=False)
    again = parse_run(dumped)
    assert again == run
    assert json_equal(dump_run(again), dumped)
    from_text = parse_run(text)
    assert from_text == run
    assert json_equal(dump_run(from_text), dumped)
    for other in (
        pickle.loads(pickle.dumps(run)),
        pickle.loads(pickle.dumps(run, protocol=0)),
        copy.copy(run),
        copy.deepcopy(run),
    ):
        assert type(other) is rs.Run
        assert other == run
        assert json_equal(dump_run(other), dumped)


def snapshot(value: object) -> Any:
    """A deep, independent record of ``value`` to check it did not change (oracle d)."""
    if type(value) is rs.Run:
        return ("run", json.dumps(dump_run(value), sort_keys=True))
    try:
        return ("pickle", pickle.dumps(value))
    except Exception:
        return ("repr", _safe_repr(value))


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; a runstate.Error is returned (after oracle g), anything else propagates."""
    __tracebackhide__ = True
    try:
        return fn(*args, **kwargs)
    except rs.Error as exc:
        assert_short_echo(exc)
        return exc


# --------------------------------------------------------------------------------------
# Immutability (oracle f)

_DICT_ATTEMPTS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("setitem", lambda d: d.__setitem__("fuzz", 1)),
    ("delitem", lambda d: d.__delitem__(next(iter(d)))),
    ("update", lambda d: d.update({"fuzz": 1})),
    ("update-kw", lambda d: d.update(fuzz=1)),
    ("setdefault", lambda d: d.setdefault("fuzz", 1)),
    ("pop", lambda d: d.pop(next(iter(d)))),
    ("pop-default", lambda d: d.pop("fuzz-missing", None)),
    ("popitem", lambda d: d.popitem()),
    ("clear", lambda d: d.clear()),
    ("ior", lambda d: d.__ior__({"fuzz": 1})),
)
_LIST_ATTEMPTS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("setitem", lambda xs: xs.__setitem__(0, 1)),
    ("setslice", lambda xs: xs.__setitem__(slice(0, 0), [1])),
    ("delitem", lambda xs: xs.__delitem__(0)),
    ("delslice", lambda xs: xs.__delitem__(slice(None))),
    ("append", lambda xs: xs.append(1)),
    ("extend", lambda xs: xs.extend([1])),
    ("insert", lambda xs: xs.insert(0, 1)),
    ("pop", lambda xs: xs.pop()),
    ("remove", lambda xs: xs.remove(xs[0])),
    ("reverse", lambda xs: xs.reverse()),
    ("sort", lambda xs: xs.sort(key=repr)),
    ("clear", lambda xs: xs.clear()),
    ("iadd", lambda xs: xs.__iadd__([1])),
    ("imul", lambda xs: xs.__imul__(2)),
)


def _attempt(container: Any, name: str, attempt: Callable[[Any], Any], where: str) -> None:
    try:
        attempt(container)
    except (TypeError, AttributeError, attrs.exceptions.FrozenInstanceError):
        return
    except (KeyError, IndexError, StopIteration, ValueError):
        # The method ran and failed on content, not on read-only-ness: only acceptable
        # for an empty container, where the read-only check may come second.
        if container:
            raise AssertionError(f"{where}: {name} was not refused as read-only") from None
        return
    raise AssertionError(f"{where}: {name} succeeded on a value inside a run")


def assert_deeply_frozen(value: Any, where: str = "run", depth: int = 0) -> None:
    """Every container reachable from ``value`` refuses every change (oracle f)."""
    assert depth < 400, where
    if attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            try:
                setattr(value, field.name, None)
            except (attrs.exceptions.FrozenInstanceError, AttributeError, TypeError):
                pass
            else:
                raise AssertionError(f"{where}.{field.name} could be set")
            assert_deeply_frozen(getattr(value, field.name), f"{where}.{field.name}", depth + 1)
        return
    if isinstance(value, dict):
        assert type(value) is FrozenDict, f"{where} is a {type(value).__name__}"
        for name, attempt in _DICT_ATTEMPTS:
            _attempt(value, name, attempt, where)
        for key, item in value.items():
            assert_deeply_frozen(item, f"{where}.{key}", depth + 1)
        return
    if isinstance(value, list):
        assert type(value) is FrozenList, f"{where} is a {type(value).__name__}"
        for name, attempt in _LIST_ATTEMPTS:
            _attempt(value, name, attempt, where)
        for i, item in enumerate(value):
            assert_deeply_frozen(item, f"{where}[{i}]", depth + 1)
        return
    if isinstance(value, tuple | frozenset):
        for i, item in enumerate(value):
            assert_deeply_frozen(item, f"{where}[{i}]", depth + 1)
        return
    assert value is None or isinstance(value, str | int | float | rs.RunStatus), (
        f"{where} holds a {type(value).__name__}"
    )


# --------------------------------------------------------------------------------------
# Hostile objects


class LyingStr(str):
    """A str whose ``__str__``, ``__eq__`` and ``__hash__`` lie."""

    __slots__ = ()

    def __str__(self) -> str:
        return "lie"

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0


class LenLie(str):
    """A str that says it is one character long."""

    __slots__ = ()

    def __len__(self) -> int:
        return 1


class BadHashStr(str):
    """A str key whose hash raises."""

    __slots__ = ()

    def __hash__(self) -> int:
        raise RuntimeError("hostile __hash__")

    def __eq__(self, other: object) -> bool:
        return str.__eq__(self, other)


class IntSub(int):
    """An int subclass (like an IntEnum member)."""


class FloatSub(float):
    """A float subclass."""


class BrokenMapping(Mapping[Any, Any]):
    """A mapping over ``pairs`` (no hashing) whose ``broken`` method raises."""

    def __init__(self, pairs: Any = (("a", "b"),), broken: str = "") -> None:
        self.pairs = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)
        self.broken = broken

    def _maybe(self, name: str) -> None:
        if self.broken == name:
            raise RuntimeError(f"hostile {name}")

    def __getitem__(self, key: Any) -> Any:
        self._maybe("getitem")
        for k, v in self.pairs:
            if k is key or (type(k) is str and type(key) is str and k == key):
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[Any]:
        self._maybe("iter")
        return iter([k for k, _ in self.pairs])

    def __len__(self) -> int:
        self._maybe("len")
        return len(self.pairs)

    def items(self) -> Any:
        self._maybe("items")
        return super().items()

    def keys(self) -> Any:
        self._maybe("keys")
        return super().keys()

    def __repr__(self) -> str:
        return f"BrokenMapping({self.broken})"


class EndlessMapping(Mapping[str, Any]):
    """A mapping whose iteration never ends; each value holds ``width`` items."""

    def __init__(self, width: int = 0, value: Any = "v") -> None:
        self.value = [0] * width if width else value

    def __getitem__(self, key: str) -> Any:
        return self.value

    def __iter__(self) -> Iterator[str]:
        i = 0
        while True:
            yield f"k{i}"
            i += 1

    def __len__(self) -> int:
        return 1


# --------------------------------------------------------------------------------------
# Base values


def _calls(*ids: str) -> list[dict[str, Any]]:
    return [
        {"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}} for i in ids
    ]


QUEUED = rs.new_run(id="run_1", thread_id="thread_1", assistant_id="asst_1", model="m", now=100)
IN_PROGRESS = rs.start(QUEUED, now=110)
REQUIRES_ACTION = rs.require_action(IN_PROGRESS, _calls("call_A"), now=120)
CANCELLING = rs.cancel(IN_PROGRESS, now=130)
COMPLETED = rs.complete(IN_PROGRESS, now=140)
GOOD_USAGE = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
GOOD_ERROR = {"code": "server_error", "message": "Sorry, something went wrong."}

#: Each operation: the function and a factory of valid keyword arguments.
OPERATIONS: dict[str, tuple[Callable[..., Any], Callable[[], dict[str, Any]]]] = {
    "new_run": (
        rs.new_run,
        lambda: {
            "id": "run_1",
            "thread_id": "thread_1",
            "assistant_id": "asst_1",
            "model": "gpt-4o",
            "now": 100,
            "instructions": None,
            "tools": [{"type": "code_interpreter"}],
            "metadata": {"k": "v"},
            "temperature": 1.0,
            "top_p": 1.0,
            "max_prompt_tokens": None,
            "max_completion_tokens": None,
            "truncation_strategy": None,
            "tool_choice": "auto",
            "parallel_tool_calls": True,
            "response_format": "auto",
            "extra": {"tool_resources": {}},
            "expires_in": 600,
        },
    ),
    "start": (rs.start, lambda: {"run": QUEUED, "now": 200}),
    "require_action": (
        rs.require_action,
        lambda: {"run": IN_PROGRESS, "tool_calls": _calls("call_A"), "now": 200},
    ),
    "submit_tool_outputs": (
        rs.submit_tool_outputs,
        lambda: {
            "run": REQUIRES_ACTION,
            "tool_outputs": [{"tool_call_id": "call_A", "output": "42"}],
            "now": 200,
        },
    ),
    "cancel": (rs.cancel, lambda: {"run": IN_PROGRESS, "now": 200, "documented_only": False}),
    "check_cancel": (rs.check_cancel, lambda: {"run": IN_PROGRESS, "documented_only": False}),
    "finish_cancel": (rs.finish_cancel, lambda: {"run": CANCELLING, "now": 200, "usage": None}),
    "complete": (rs.complete, lambda: {"run": IN_PROGRESS, "now": 200, "usage": GOOD_USAGE}),
    "fail": (
        rs.fail,
        lambda: {"run": IN_PROGRESS, "now": 200, "error": GOOD_ERROR, "usage": GOOD_USAGE},
    ),
    "mark_incomplete": (
        rs.mark_incomplete,
        lambda: {"run": IN_PROGRESS, "now": 200, "reason": "max_prompt_tokens", "usage": None},
    ),
    "expire": (rs.expire, lambda: {"run": IN_PROGRESS, "now": 800, "usage": None}),
    "update_metadata": (rs.update_metadata, lambda: {"run": COMPLETED, "metadata": {"k": "v"}}),
    "ensure_can_create_run": (
        rs.ensure_can_create_run,
        lambda: {"thread_id": "thread_1", "runs": [COMPLETED]},
    ),
    "ensure_can_add_message": (
        rs.ensure_can_add_message,
        lambda: {"thread_id": "thread_1", "runs": [COMPLETED]},
    ),
    "ensure_can_delete_thread": (
        rs.ensure_can_delete_thread,
        lambda: {"thread_id": "thread_1", "runs": [COMPLETED]},
    ),
    "validate": (rs.validate, lambda: {"run": IN_PROGRESS, "strict": False}),
    "violations": (rs.violations, lambda: {"run": IN_PROGRESS}),
}

#: Wrong values for any argument: id -> factory (fresh objects per call).
WRONG_VALUES: dict[str, Callable[[], Any]] = {
    "none": lambda: None,
    "true": lambda: True,
    "zero": lambda: 0,
    "negative": lambda: -1,
    "int-huge": lambda: 10**5000,
    "int-huge-negative": lambda: -(10**5000),
    "int-subclass": lambda: IntSub(150),
    "float": lambda: 150.5,
    "float-subclass": lambda: FloatSub(0.5),
    "nan": lambda: math.nan,
    "inf": lambda: math.inf,
    "str-empty": lambda: "",
    "str": lambda: "x",
    "str-lying": lambda: LyingStr("zz"),
    "str-len-lie": lambda: LenLie("y" * 1000),
    "bytes": lambda: b"x",
    "list-empty": list,
    "list-none": lambda: [None],
    "list-int": lambda: [1],
    "list-object": lambda: [object()],
    "tuple": lambda: ("a", "b"),
    "set": lambda: {"a"},
    "dict-empty": dict,
    "dict-junk": lambda: {"zz": 1, "type": "zz"},
    "dict-int-key": lambda: {1: "a"},
    "frozendict": lambda: FrozenDict({"a": "b"}),
    "object": object,
    "function": lambda: len,
    "generator": lambda: (x for x in [1, 2]),
    "run": lambda: QUEUED,
    "tool-call": lambda: ToolCall(id="c", function=FunctionCall(name="f", arguments="")),
    "mapping-getitem": lambda: BrokenMapping(broken="getitem"),
    "mapping-iter": lambda: BrokenMapping(broken="iter"),
    "mapping-items": lambda: BrokenMapping(broken="items"),
    "mapping-len": lambda: BrokenMapping(broken="len"),
    "mapping-bad-hash-key": lambda: BrokenMapping([(BadHashStr("k"), "v")]),
}

#: (operation, argument) -> the defect some wrong value shows there today. The matrix test
#: of such a pair is a strict xfail: it flips once every wrong value is handled.
KNOWN_DEFECTS: dict[tuple[str, str], str] = {}


def _matrix() -> list[Any]:
    params = []
    for op, (_, base) in OPERATIONS.items():
        for arg in base():
            reason = KNOWN_DEFECTS.get((op, arg))
            marks = [pytest.mark.xfail(strict=True, reason=f"defect: {reason}")] if reason else []
            params.append(pytest.param(op, arg, id=f"{op}-{arg}", marks=marks))
    return params


def _wrong_argument_case(op: str, arg: str, value: str) -> None:
    fn, base = OPERATIONS[op]
    kwargs = base()
    kwargs[arg] = WRONG_VALUES[value]()
    before = {name: snapshot(v) for name, v in kwargs.items()}
    with time_limit():
        result = call(fn, **kwargs)
    if type(result) is rs.Run:
        check_run(result)
    for name, v in kwargs.items():
        if not isinstance(v, Iterator):  # a generator is consumed by design
            assert snapshot(v) == before[name], f"{op} changed its argument {name}"


@pytest.mark.parametrize(("op", "arg"), _matrix())
def test_wrong_argument(op: str, arg: str) -> None:
    """Each argument of each operation replaced by every wrong value: oracles (a)-(e), (g).

    The failure lists every wrong value that breaks an oracle, one line each.
    """
    failures = []
    for value in WRONG_VALUES:
        try:
            _wrong_argument_case(op, arg, value)
        except Exception as exc:
            failures.append(f"{value}: {type(exc).__name__}: {_safe_str(exc)[:120]}")
    assert not failures, f"{len(failures)} wrong values break an oracle:\n" + "\n".join(failures)


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<unprintable {type(exc).__name__}>"


# --------------------------------------------------------------------------------------
# parse_run: hostile Python and text input (deterministic)

BASE: dict[str, Any] = {
    "id": "run_1",
    "object": "thread.run",
    "created_at": 1,
    "thread_id": "t",
    "assistant_id": "a",
    "status": "queued",
    "model": "m",
}


def with_(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


def refused(data: Any) -> rs.Error:
    __tracebackhide__ = True
    result = call(parse_run, data)
    assert isinstance(result, rs.InvalidRun), result
    return result


def accepted(data: Any) -> rs.Run:
    __tracebackhide__ = True
    result = call(parse_run, data)
    assert type(result) is rs.Run, result
    check_run(result)
    return result


def test_lying_str_values_and_keys_count_as_their_value() -> None:
    # Lying keys all hash alike and compare equal: a dict would merge them, so pairs.
    lying = BrokenMapping(
        [(LyingStr(k), LyingStr(v) if type(v) is str else v) for k, v in BASE.items()]
    )
    run = accepted(lying)
    assert run == parse_run(BASE)
    assert all(type(getattr(run, k)) is str for k in ("id", "thread_id", "model"))
    metadata = BrokenMapping([(LyingStr("k"), LyingStr("v")), (LyingStr("j"), "w")])
    assert accepted(with_(metadata=metadata)).metadata == {"k": "v", "j": "w"}


@pytest.mark.parametrize(
    "value",
    [IntSub(5), FloatSub(0.5), True, 10**5000, -(10**5000), math.nan, math.inf, -math.inf],
    ids=["int-subclass", "float-subclass", "bool", "huge", "huge-neg", "nan", "inf", "-inf"],
)
@pytest.mark.parametrize("field", ["created_at", "temperature", "metadata", "x-unknown"])
def test_number_edge_cases_are_refused_or_kept_exactly(field: str, value: Any) -> None:
    # int/float subclasses (IntEnum...) are refused from a mapping, although json.dumps
    # writes them as plain numbers that text input accepts: a documented choice, pinned.
    data = with_(**{field: value}) if field != "metadata" else with_(metadata={"k": value})
    result = call(parse_run, data)
    if isinstance(result, rs.Run):
        check_run(result)
        kept = getattr(result, field, None) if field != "x-unknown" else result.extra[field]
        assert type(kept) is type(value)
        assert field in ("temperature", "x-unknown")
        assert type(value) in (bool,) or field == "temperature"


def test_huge_int_from_mapping_and_from_text_agree() -> None:
    refused(with_(created_at=10**5000))
    text = json.dumps(BASE)[:-1] + ', "x": ' + "7" * 5000 + "}"
    refused(text)
    refused(text.encode())
    biggest = int("9" * 4300)
    assert accepted(with_(x=biggest)) == accepted(json.dumps(with_(x=biggest)))


@pytest.mark.skipif(not hasattr(sys, "set_int_max_str_digits"), reason="Python without the limit")
def test_huge_int_text_refused_whatever_the_interpreter_limit() -> None:
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        text = json.dumps(BASE).replace('"created_at": 1', '"created_at": ' + "7" * 5000)
        result = call(parse_run, text)
    finally:
        sys.set_int_max_str_digits(old)
    assert isinstance(result, rs.InvalidRun), "a 5000-digit created_at was accepted from text"


@pytest.mark.slow
@pytest.mark.parametrize("depth", [10**4, 10**5])
@pytest.mark.parametrize("where", ["x-unknown", "metadata", "tools", "parameters"])
def test_deep_nesting_is_refused(depth: int, where: str) -> None:
    def nest(leaf: Any) -> Any:
        for _ in range(depth):
            leaf = [leaf]
        return leaf

    def place(value: Any) -> dict[str, Any]:
        if where == "parameters":
            tool = {"type": "function", "function": {"name": "f", "parameters": {"p": value}}}
            return with_(tools=[tool])
        return with_(**{where: value})

    text = json.dumps(place("LEAF")).replace('"LEAF"', "[" * depth + "]" * depth)
    with time_limit():
        refused(text)
        refused(text.encode())
        refused(place(nest([])))
        refused(place(nest({})))
        refused(place(nest(())))


def test_nesting_at_the_limit_is_kept() -> None:
    value: Any = "leaf"
    for _ in range(rs.models.MAX_JSON_DEPTH):
        value = [value]
    run = accepted(with_(x=value))
    accepted(json.dumps(with_(x=value)))
    assert_deeply_frozen(run)
    value = [value]
    refused(with_(x=value))
    refused(json.dumps(with_(x=value)))


@pytest.mark.parametrize("broken", ["getitem", "iter", "items", "len", "keys"])
@pytest.mark.parametrize("where", ["top", "metadata", "x-unknown", "usage", "tools"])
def test_broken_mappings_are_refused_or_read(broken: str, where: str) -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    if where == "top":
        data: Any = BrokenMapping(BASE, broken)
    elif where == "tools":
        data = with_(tools=[BrokenMapping({"type": "code_interpreter"}, broken)])
    elif where == "usage":
        data = with_(usage=BrokenMapping(usage, broken))
    else:
        data = with_(**{where: BrokenMapping({"a": "b"}, broken)})
    with time_limit():
        result = call(parse_run, data)
    if isinstance(result, rs.Run):  # a mapping read without the broken method is fine
        check_run(result)


@pytest.mark.parametrize("where", ["top", "metadata", "x-unknown"])
def test_keys_whose_hash_raises_are_refused_or_read(where: str) -> None:
    pairs = [(BadHashStr("zz"), "v")]
    data = (
        BrokenMapping([*BASE.items(), *pairs])
        if where == "top"
        else with_(**{where: BrokenMapping(pairs)})
    )
    result = call(parse_run, data)
    if isinstance(result, rs.Run):
        check_run(result)


@pytest.mark.slow
@pytest.mark.parametrize("where", ["x-unknown"])  # the item budget is 1 Mi items
def test_endless_mapping_is_refused(where: str) -> None:
    # Wide values spend the item budget fast; an endless mapping of small values takes
    # the same path (about 2 s on a CI core for 1 Mi items).
    endless = EndlessMapping(width=200_000)
    data = BrokenMapping([*BASE.items(), ("x", endless)]) if where == "top" else None
    if where == "metadata":
        data = with_(metadata=endless)
    elif where == "x-unknown":
        data = with_(x=endless)
    with time_limit():
        refused(data)


def test_tuples_read_as_arrays() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"p": (1, (2,))}}}
    as_tuples = with_(tools=(tool,), x=((1, 2), ({"y": ()},)))
    as_lists = json.loads(json.dumps(as_tuples))
    assert accepted(as_tuples) == accepted(as_lists)
    assert json_equal(dump_run(parse_run(as_tuples)), as_lists)


@pytest.mark.parametrize(
    "key", [1, 1.5, None, True, ("a",), b"id", frozenset()], ids=lambda k: type(k).__name__
)
@pytest.mark.parametrize("where", ["top", "metadata", "x-unknown", "parameters"])
def test_non_string_keys_are_refused(key: Any, where: str) -> None:
    inner = {key: "v"}
    if where == "top":
        data = {**BASE, key: "v"}
    elif where == "parameters":
        data = with_(tools=[{"type": "function", "function": {"name": "f", "parameters": inner}}])
    else:
        data = with_(**{where: inner})
    refused(data)


@pytest.mark.parametrize(
    "data",
    [
        None,
        1,
        [],
        [BASE],
        (),
        "",
        b"",
        "null",
        "[]",
        '"run"',
        "{",
        b"\xff\xfe",
        "\ufeff" + json.dumps(BASE),
        json.dumps(BASE) + " x",
        json.dumps(BASE).replace("1", "NaN"),
        json.dumps(BASE).replace('"t"', '"\\ud800"'),
        object(),
        {1, 2},
    ],
    ids=_stable_id,
)
def test_odd_top_level_input(data: Any) -> None:
    result = call(parse_run, data)
    if isinstance(result, rs.Run):
        check_run(result)


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview, str])
def test_text_kinds_agree(kind: type) -> None:
    text = json.dumps(with_(x={"y": [1, 2.5, None, True, "\u00e9"]}))
    data = text if kind is str else kind(text.encode())
    assert accepted(data) == parse_run(json.loads(text))


def test_str_subclass_text_is_read_as_its_value() -> None:
    other = json.dumps(with_(id="run_OTHER"))

    class Text(str):
        def __str__(self) -> str:
            return other

    assert parse_run(Text(json.dumps(BASE))).id == "run_1"


def test_bytes_subclass_is_read_as_its_value() -> None:
    other = json.dumps(with_(id="run_OTHER")).encode()

    class Data(bytes):
        def __bytes__(self) -> bytes:
            return other

    assert parse_run(Data(json.dumps(BASE).encode())).id == "run_1"


# --------------------------------------------------------------------------------------
# Error messages never echo a whole input value (oracle g)

BIG = MARK * 20_000_000  # 20 MB in UTF-8 as two-byte characters: 40 MB
MEG = MARK * 1_000_000


@pytest.mark.parametrize(
    "field",
    ["status", "object", "tool_choice", "response_format", "created_at", "id", "metadata"],
)
def test_big_string_values_are_not_echoed(field: str) -> None:
    value: Any = {"k": 5, "v": BIG} if field == "metadata" else BIG
    if field == "id":
        value = [BIG]
    exc = refused(with_(**{field: value}))
    assert_short_echo(exc)
    if field == "status":
        assert_short_echo(refused(json.dumps(with_(status=BIG), ensure_ascii=False)))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(lambda: with_(metadata={MEG: 5}), id="metadata-key"),
        pytest.param(lambda: with_(x={MEG: math.nan}), id="unknown-nested-key"),
        pytest.param(lambda: {**BASE, MEG: math.inf}, id="unknown-top-key"),
        pytest.param(
            lambda: json.dumps(BASE)[:-1] + ', "x": {"' + MEG + '": 1e999}}', id="text-key"
        ),
    ],
)
def test_long_keys_are_not_echoed(data: Callable[[], Any]) -> None:
    assert_short_echo(refused(data()))


@pytest.mark.parametrize(
    "tag", [MEG, [MEG], int("9" * 4300)], ids=["string", "array", "int-4300-digits"]
)
def test_unknown_tool_type_is_not_echoed(tag: Any) -> None:
    exc = refused(with_(tools=[{"type": tag}]))
    assert_short_echo(exc)
    assert len(str(exc)) < 1000


def test_message_size_is_bounded_by_problem_count() -> None:
    exc = refused(with_(metadata={f"k{i}": i for i in range(100_000)}))
    assert len(str(exc)) < 100_000, f"a {len(str(exc))}-character message"


@pytest.mark.parametrize("where", ["function-name", "metadata-key", "tool-choice-name"])
def test_violation_messages_are_not_echoed(where: str) -> None:
    if where == "function-name":
        data = with_(tools=[{"type": "function", "function": {"name": MEG}}])
    elif where == "metadata-key":
        data = with_(metadata={MEG: "v"})
    else:
        data = with_(tool_choice={"type": "function", "function": {"name": MEG}})
    run = parse_run(data)
    for violation in rs.violations(run):
        assert_short_text(str(violation), "a Violation")
    assert_short_echo(call(rs.validate, run))


@pytest.mark.parametrize("where", ["function-name", "metadata-key"])
def test_new_run_messages_are_not_echoed(where: str) -> None:
    kwargs = OPERATIONS["new_run"][1]()
    if where == "function-name":
        kwargs["tools"] = [{"type": "function", "function": {"name": MEG}}]
    else:
        kwargs["metadata"] = {MEG: "v"}
    call(rs.new_run, **kwargs)


@pytest.mark.parametrize("check", [rs.ensure_can_create_run, rs.ensure_can_add_message])
def test_thread_busy_does_not_echo_ids(check: Callable[..., Any]) -> None:
    run = rs.new_run(id=MEG, thread_id=MEG, assistant_id="a", model="m", now=1)
    call(check, MEG, [run])


@pytest.mark.parametrize("outputs", ["one-wrong", "duplicate"])
def test_tool_outputs_rejected_does_not_echo_ids(outputs: str) -> None:
    wrong = [{"tool_call_id": MEG, "output": "x"}] * (2 if outputs == "duplicate" else 1)
    call(rs.submit_tool_outputs, REQUIRES_ACTION, wrong, now=200)


@pytest.mark.parametrize("metadata", ["long-key", "long-key-bad-value"])
def test_update_metadata_does_not_echo_keys(metadata: str) -> None:
    value = {MEG: "v"} if metadata == "long-key" else {MEG: 5}
    call(rs.update_metadata, COMPLETED, metadata=value)


def test_argument_messages_are_short() -> None:
    for kwargs in ({"now": BIG}, {"now": [BIG]}, {"now": {"k": BIG}}):
        call(rs.start, QUEUED, **kwargs)
    call(rs.new_run, id="r", thread_id="t", assistant_id="a", model="m", now=1, expires_in=MEG)
    call(rs.fail, IN_PROGRESS, now=200, error={"code": MEG, "message": "m"})
    call(rs.mark_incomplete, IN_PROGRESS, now=200, reason=MEG)
    call(rs.submit_tool_outputs, REQUIRES_ACTION, [{"tool_call_id": 5, "output": MEG}], now=9)
    call(rs.require_action, IN_PROGRESS, [{"id": MEG, "type": MEG, "function": MEG}], now=200)


# --------------------------------------------------------------------------------------
# Operations: specific defects, minimal reproductions


@pytest.mark.parametrize("op", ["start", "complete"])
def test_now_beyond_the_int_limit_is_refused(op: str) -> None:
    fn, base = OPERATIONS[op]
    kwargs = base()
    kwargs["now"] = 10**5000
    result = call(fn, **kwargs)
    assert isinstance(result, rs.InvalidArgument), "a run holding a 5000-digit timestamp"


@pytest.mark.parametrize("op", ["start", "expire"])
def test_huge_negative_now_is_refused_with_a_runstate_error(op: str) -> None:
    fn, base = OPERATIONS[op]
    kwargs = base()
    kwargs["now"] = -(10**5000)
    call(fn, **kwargs)


@pytest.mark.parametrize("thread_id", [None], ids=repr)
@pytest.mark.parametrize("check", [rs.ensure_can_create_run, rs.ensure_can_add_message])
def test_ensure_can_refuses_a_thread_id_that_is_not_a_string(
    check: Callable[..., Any], thread_id: Any
) -> None:
    result = call(check, thread_id, [QUEUED])
    assert isinstance(result, rs.InvalidArgument), "a wrong thread_id passed silently"


@pytest.mark.parametrize("runs", [None, [None]], ids=repr)
def test_ensure_can_refuses_runs_that_are_not_runs(runs: Any) -> None:
    call(rs.ensure_can_create_run, "thread_1", runs)


@pytest.mark.parametrize("fn", [rs.validate, rs.violations])
def test_validate_refuses_a_non_run(fn: Callable[..., Any]) -> None:
    call(fn, dump_run(QUEUED))


@pytest.mark.parametrize("strict", [None])
def test_validate_checks_strict(strict: Any) -> None:
    assert isinstance(call(rs.validate, QUEUED, strict=strict), rs.InvalidArgument)


@pytest.mark.parametrize("documented_only", [1])
@pytest.mark.parametrize("fn", [rs.cancel, rs.check_cancel])
def test_documented_only_must_be_a_bool(fn: Callable[..., Any], documented_only: Any) -> None:
    kwargs = {"now": 200} if fn is rs.cancel else {}
    result = call(fn, IN_PROGRESS, documented_only=documented_only, **kwargs)
    assert isinstance(result, rs.InvalidArgument)


@pytest.mark.parametrize("tool_calls", [None, [5]], ids=repr)
def test_require_action_refuses_calls_of_the_wrong_type(tool_calls: Any) -> None:
    call(rs.require_action, IN_PROGRESS, tool_calls, now=200)


@pytest.mark.parametrize(
    "arg", ["tools", "extra", "truncation_strategy", "tool_choice", "response_format"]
)
@pytest.mark.parametrize("value", [object()], ids=["object"])
def test_new_run_refuses_objects_of_the_wrong_type(arg: str, value: Any) -> None:
    kwargs = OPERATIONS["new_run"][1]()
    kwargs[arg] = [value] if arg == "tools" else value
    call(rs.new_run, **kwargs)


def test_new_run_refuses_extra_that_repeats_a_field() -> None:
    kwargs = OPERATIONS["new_run"][1]()
    kwargs["extra"] = {"status": "completed", "usage": {"prompt_tokens": 1}}
    result = call(rs.new_run, **kwargs)
    assert isinstance(result, rs.Error), "extra's status and usage were silently dropped"


@pytest.mark.parametrize("broken", ["getitem", "len"])
def test_update_metadata_refuses_a_broken_mapping(broken: str) -> None:
    call(rs.update_metadata, COMPLETED, metadata=BrokenMapping({"k": "v"}, broken))


def test_update_metadata_refuses_an_endless_mapping() -> None:
    with time_limit():
        call(rs.update_metadata, COMPLETED, metadata=EndlessMapping())


@pytest.mark.parametrize("where", ["value", "key"])
def test_update_metadata_limits_hold_for_str_subclasses(where: str) -> None:
    long = LenLie("y" * 1000)
    metadata = {"k": long} if where == "value" else {long: "v"}
    result = call(rs.update_metadata, COMPLETED, metadata=metadata)
    if type(result) is rs.Run:
        assert rs.violations(result) == (), "update_metadata returned a run breaking the limits"


@pytest.mark.parametrize("output", [None], ids=repr)
def test_tool_output_values_are_checked_like_their_json(output: Any) -> None:
    as_json = call(
        rs.submit_tool_outputs,
        REQUIRES_ACTION,
        [{"tool_call_id": "call_A", "output": output}],
        now=200,
    )
    assert isinstance(as_json, rs.InvalidRequest)
    as_value = call(
        lambda: rs.submit_tool_outputs(
            REQUIRES_ACTION, [rs.ToolOutput(tool_call_id="call_A", output=output)], now=200
        )
    )
    assert isinstance(as_value, rs.Error), "a ToolOutput with a non-string output was accepted"


def test_tool_outputs_as_strings_or_mappings_are_refused() -> None:
    for outputs in ("call_A", b"call_A", {"tool_call_id": "call_A", "output": "x"}, [["x"]]):
        assert isinstance(
            call(rs.submit_tool_outputs, REQUIRES_ACTION, outputs, now=200), rs.InvalidRequest
        )


# --------------------------------------------------------------------------------------
# Values built by hand


def test_hand_built_values_refuse_wrong_fields() -> None:
    attempts: list[Callable[[], Any]] = [
        lambda: LastError(code="nonsense", message=5),
        lambda: LastError(code="server_error", message=5),
        lambda: LastError(code=LyingStr("server_error"), message="m"),
        lambda: LastError(code="server_error", message="m", extra={1: 2}),
        lambda: LastError(code="server_error", message="m", extra={"x": {1, 2}}),
        lambda: LastError(code="server_error", message="m", extra={"x": math.nan}),
        lambda: Usage(prompt_tokens=True, completion_tokens=0, total_tokens=0),
        lambda: Usage(prompt_tokens=10**5000, completion_tokens=0, total_tokens=0),
        lambda: Usage(prompt_tokens=IntSub(1), completion_tokens=0, total_tokens=0),
        lambda: rs.models.RankingOptions(score_threshold=math.nan),
        lambda: rs.models.FunctionDefinition(name="f", parameters=[1]),
        lambda: rs.models.FunctionDefinition(name="f", parameters={"a": math.inf}),
        lambda: rs.models.JsonSchema(name=None),
        lambda: ToolCall(id="c", function={"name": "f", "arguments": ""}),
        lambda: rs.Run(
            id="r", created_at=1, thread_id="t", assistant_id="a", status="queued", model="m"
        ),
    ]
    for attempt in attempts:
        result = call(attempt)
        assert isinstance(result, rs.InvalidRun), result


@pytest.mark.parametrize(
    "kwargs",
    [
        {"extra": [1]},
        {"extra": {"code": "rate_limit_exceeded"}},
        {"absent": None},
        {"absent": frozenset({"nope"})},
    ],
    ids=_stable_id,
)
def test_hand_built_extra_and_absent_are_checked(kwargs: dict[str, Any]) -> None:
    call(LastError, code="server_error", message="m", **kwargs)


@pytest.mark.parametrize(
    "attempt",
    [
        lambda: ToolCall(id="c", function={"name": "f", "arguments": ""}),
        lambda: rs.Run(
            id="r",
            created_at=1,
            thread_id="t",
            assistant_id="a",
            status=rs.RunStatus.QUEUED,
            model="m",
            tools=[{"type": "code_interpreter"}],
        ),
    ],
    ids=["object-got-object", "array-got-array"],
)
def test_hand_built_type_messages_name_the_difference(attempt: Callable[[], Any]) -> None:
    exc = call(attempt)
    text = str(exc)
    assert "an object, got an object" not in text
    assert "an array, got an array" not in text


def test_hand_built_json_errors_name_the_field() -> None:
    exc = call(rs.models.FunctionDefinition, name="f", parameters={"a": math.nan})
    assert isinstance(exc, rs.InvalidRun)
    assert exc.errors[0].field.startswith("parameters"), exc.errors[0]


# --------------------------------------------------------------------------------------
# Immutability, equality (oracles e, f)


def test_every_container_of_a_rich_run_is_read_only() -> None:
    tool = {
        "type": "function",
        "function": {"name": "f", "parameters": {"p": [1, {"q": []}]}, "x": {"y": [1]}},
        "z": [{"w": {}}],
    }
    payload = with_(
        metadata={"k": "v"},
        tools=[tool, {"type": "file_search", "file_search": {"max_num_results": 3}}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "s", "schema": {"type": "object", "p": [[]]}},
        },
        usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, "d": {"e": [1]}},
        x={"a": [1, {"b": [2]}]},
    )
    run = accepted(payload)
    before = json.dumps(dump_run(run))
    assert_deeply_frozen(run)
    assert json.dumps(dump_run(run)) == before
    dumped = dump_run(run)
    dumped["x"]["a"].append(3)
    dumped["metadata"]["k2"] = "v2"
    dumped["tools"][0]["function"]["parameters"]["p"].clear()
    assert json.dumps(dump_run(run)) == before


@pytest.mark.parametrize("where", ["metadata", "extra-list"])
def test_read_only_containers_keep_their_class(where: str) -> None:
    class Plain(dict):  # type: ignore[type-arg]
        __slots__ = ()

    class PlainList(list):  # type: ignore[type-arg]
        __slots__ = ()

    run = parse_run(with_(metadata={"k": "v"}, x=[1]))
    before = json.dumps(dump_run(run))
    with contextlib.suppress(TypeError):
        if where == "metadata":
            run.metadata.__class__ = Plain  # type: ignore[union-attr]
            run.metadata["hacked"] = "1"  # type: ignore[index]
        else:
            run.extra["x"].__class__ = PlainList
            run.extra["x"].append(2)
    assert json.dumps(dump_run(run)) == before


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"x": 1}, {"x": True}),
        ({"x": [1.0]}, {"x": [1]}),
        ({"temperature": 1}, {"temperature": 1.0}),
    ],
    ids=["1-true", "1.0-1", "temperature"],
)
def test_run_equality_is_python_equality_of_values(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Decided (docs/design.md): ``==`` compares field values as Python does, so 1, 1.0
    and true are equal there though their JSON differs; compare dumps with a type-aware
    equality (``json_equal``) to tell them apart, as the oracles here do."""
    one, two = parse_run(with_(**a)), parse_run(with_(**b))
    assert not json_equal(dump_run(one), dump_run(two))
    assert one == two


# --------------------------------------------------------------------------------------
# Hypothesis: generated runs, mutated payloads, random JSON, operations on any run

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

#: Values JSON text cannot carry, or that lie about themselves.
HOSTILE: tuple[Callable[[], Any], ...] = (
    lambda: LyingStr("queued"),
    lambda: LenLie("function"),
    lambda: IntSub(3),
    lambda: FloatSub(0.5),
    lambda: 10**5000,
    lambda: math.nan,
    lambda: -math.inf,
    lambda: ("a", 1),
    lambda: {"a"},
    lambda: b"auto",
    object,
    lambda: BrokenMapping(broken="items"),
    lambda: BrokenMapping({"type": "auto"}),
    lambda: FrozenDict({"type": "text"}),
    lambda: FrozenList([1]),
    lambda: QUEUED,
    lambda: rs.RunStatus.QUEUED,
    lambda: {1: "a"},
)
hostile_values = st.sampled_from(HOSTILE).map(lambda make: make())
any_values = st.one_of(json_values, hostile_values)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if type(value) is dict:
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif type(value) is list:
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


@st.composite
def mutated(draw: st.DrawFn, payloads: st.SearchStrategy[dict[str, Any]]) -> Any:
    """A payload with one to three random changes, anywhere in it."""
    payload: Any = copy.deepcopy(draw(payloads))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(list(_paths(payload))))
        action = draw(
            st.sampled_from(
                ["json", "hostile", "delete", "add", "wrap", "text", "tuple", "null", "flip"]
            )
        )
        if not path:
            if action == "add" and type(payload) is dict:
                payload[draw(st.text(max_size=8))] = draw(any_values)
            continue
        parent, step = _at(payload, path[:-1]), path[-1]
        old = parent[step]
        if action == "json":
            parent[step] = draw(json_values)
        elif action == "hostile":
            parent[step] = draw(hostile_values)
        elif action == "delete" and type(parent) is dict:
            del parent[step]
        elif action == "add" and type(old) is dict:
            old[draw(st.sampled_from(["type", "id", "name", "x", "extra", "absent", ""]))] = draw(
                any_values
            )
        elif action == "wrap":
            parent[step] = [old]
        elif action == "text":
            parent[step] = json.dumps(old, default=repr)
        elif action == "tuple" and type(old) is list:
            parent[step] = tuple(old)
        elif action == "null":
            parent[step] = None
        elif action == "flip":
            parent[step] = (
                not old
                if type(old) is bool
                else -old
                if type(old) in (int, float)
                else old[::-1]
                if type(old) is str
                else old
            )
    return payload


def _only_plain_keys_and_numbers(value: Any) -> bool:
    """Whether json.dumps writes ``value`` without changing what parse_run sees."""
    if isinstance(value, dict):
        return all(type(k) is str or isinstance(k, str) for k in value) and all(
            _only_plain_keys_and_numbers(v) for v in value.values()
        )
    if isinstance(value, list | tuple):
        return all(_only_plain_keys_and_numbers(v) for v in value)
    return type(value) not in (IntSub, FloatSub)


def check_parse_everything(data: Any) -> None:
    """Oracles (a), (b), (e), (f), (g) for one input, and text/mapping agreement."""
    with time_limit():
        result = call(parse_run, data)
    if type(result) is rs.Run:
        check_run(result)
        assert_deeply_frozen(result)
    if isinstance(data, str | bytes | bytearray | memoryview):
        return
    try:
        text = json.dumps(data, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError):
        return  # not JSON: the mapping path alone decides
    if not _only_plain_keys_and_numbers(data):
        return
    texts: list[Any] = [text]
    with contextlib.suppress(UnicodeEncodeError):  # lone surrogates
        texts.append(text.encode())
    for form in texts:
        from_text = call(parse_run, form)
        if type(result) is rs.Run:
            assert type(from_text) is rs.Run, f"text refused what the mapping gave: {from_text}"
            assert from_text == result
            assert json_equal(dump_run(from_text), dump_run(result))
            assert json_equal(dump_run(result), json.loads(text)), "the round trip lost data"
        else:
            assert isinstance(from_text, rs.InvalidRun), "text accepted what the mapping refused"


FUZZ = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(rst.run_payloads())
def test_generated_payloads_in_every_form(payload: dict[str, Any]) -> None:
    check_parse_everything(payload)
    run = parse_run(payload)
    assert json_equal(dump_run(run), payload)
    assert json.dumps(dump_run(run)) == json.dumps(payload), "key order changed"
    for form in (bytearray(json.dumps(payload).encode()), memoryview(json.dumps(payload).encode())):
        assert parse_run(form) == run


@FUZZ
@given(mutated(rst.run_payloads()))
@example(with_(status=LyingStr("queued")))
@example(with_(tools=({"type": "code_interpreter"},)))
@example(with_(metadata=FrozenDict({"a": "b"})))
@example(with_(x=FrozenList([FrozenDict({"y": ()})])))
def test_mutated_generated_payloads(payload: Any) -> None:
    check_parse_everything(payload)


_REAL_TEXTS = [r.text for r in real_runs()] if REAL_WORLD.is_dir() else []


@FUZZ
@given(st.data())
def test_mutated_real_recordings(data: st.DataObject) -> None:
    if not _REAL_TEXTS:
        pytest.skip("the real-world recordings are absent")
    real = st.sampled_from(_REAL_TEXTS).map(json.loads)
    check_parse_everything(data.draw(mutated(real)))


@pytest.mark.skipif(not _REAL_TEXTS, reason="the real-world recordings are absent")
def test_every_real_recording_survives_everything() -> None:
    for text in _REAL_TEXTS:
        check_parse_everything(json.loads(text))
        check_parse_everything(text)


@FUZZ
@given(st.one_of(json_values, st.dictionaries(st.text(max_size=12), any_values, max_size=8)))
def test_random_values(value: Any) -> None:
    check_parse_everything(value)


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_random_text(data: bytes | str) -> None:
    result = call(parse_run, data)
    if type(result) is rs.Run:
        check_run(result)


_RUN_OPS = [op for op, (_, base) in OPERATIONS.items() if "run" in base()]

#: Known defects the random tests step around, each pinned by its own strict xfail test.
#: Remove an entry with its fix and the random tests cover that ground again.
SIDESTEPPED: set[str] = set()

#: A queued run as an assistants v1 object sends it: every optional key absent.
V1_QUEUED = parse_run(BASE)


@pytest.mark.parametrize(
    "step",
    [
        pytest.param(lambda: rs.start(V1_QUEUED, now=2), id="start"),
        pytest.param(lambda: rs.fail(V1_QUEUED, now=2, error=GOOD_ERROR), id="fail"),
        pytest.param(lambda: rs.expire(V1_QUEUED, now=2), id="expire"),
        pytest.param(lambda: rs.complete(rs.start(V1_QUEUED, now=2), now=3), id="complete"),
        pytest.param(
            lambda: rs.update_metadata(rs.expire(V1_QUEUED, now=2), metadata={"k": "v"}),
            id="update_metadata",
        ),
    ],
)
def test_operations_on_v1_runs_equal_their_reparse(step: Callable[[], rs.Run]) -> None:
    # A run read from an object lacking optional keys (absent = those keys) keeps that
    # absent set after an operation fills one of them: dump_run writes the key, so the
    # re-parse has a smaller absent set and compares unequal (oracle c).
    result = step()
    assert parse_run(dump_run(result)) == result


def _latest(run: rs.Run) -> int:
    stamps = (run.started_at, run.cancelled_at, run.failed_at, run.completed_at)
    return max([run.created_at, *(s for s in stamps if s is not None)])


@FUZZ
@given(
    run=rst.runs(),
    op=st.sampled_from(_RUN_OPS),
    delta=st.one_of(st.integers(min_value=0, max_value=10**6), st.integers(-(10**6), -1)),
    wrong=st.one_of(st.none(), st.tuples(st.integers(0, 5), any_values)),
)
def test_operations_on_any_run(
    run: rs.Run, op: str, delta: int, wrong: tuple[int, Any] | None
) -> None:
    """Any run, any operation, a sane or backwards now, sometimes one wrong argument."""
    fn, base = OPERATIONS[op]
    kwargs = base()
    if "stale-absent" in SIDESTEPPED:
        run = attrs.evolve(run, absent=frozenset())
    kwargs["run"] = run
    if "now" in kwargs:
        kwargs["now"] = _latest(run) + delta
    if op == "submit_tool_outputs" and run.required_action is not None:
        calls = run.required_action.submit_tool_outputs.tool_calls
        kwargs["tool_outputs"] = [{"tool_call_id": c.id, "output": "ok"} for c in calls]
    if wrong is not None:
        names = [name for name in kwargs if name != "run"] or ["run"]
        name = names[wrong[0] % len(names)]
        # Pinned by the matrix (KNOWN_DEFECTS); fuzzed again once the entry goes.
        assume((op, name) not in KNOWN_DEFECTS)
        kwargs[name] = wrong[1]
    before = {name: snapshot(v) for name, v in kwargs.items()}
    with time_limit():
        result = call(fn, **kwargs)
    if type(result) is rs.Run:
        check_run(result)
        assert_deeply_frozen(result)
        clean = not [v for v in rs.violations(run) if v.severity == "error"]
        if clean and wrong is None and op not in ("validate",):
            errors = [v for v in rs.violations(result) if v.severity == "error"]
            assert not errors, f"{op} made a clean run break a rule: {errors[0]}"
    for name, v in kwargs.items():
        if not isinstance(v, Iterator):
            assert snapshot(v) == before[name], f"{op} changed its argument {name}"


@FUZZ
@given(rst.runs())
def test_generated_runs_copy_pickle_and_stay_frozen(run: rs.Run) -> None:
    check_run(run)
    assert_deeply_frozen(run)
    before = json.dumps(dump_run(run))
    dumped = dump_run(run)
    for key in list(dumped):
        value = dumped[key]
        if isinstance(value, dict):
            value["fuzz"] = 1
        elif isinstance(value, list):
            value.append(1)
    assert json.dumps(dump_run(run)) == before, "a dump shares containers with its run"


@pytest.mark.parametrize("value", [5, None, object(), {"type": "text"}], ids=_stable_id)
def test_dump_value_refuses_with_a_runstate_error(value: Any) -> None:
    call(rs.models.dump_value, value)


def test_not_found_does_not_echo_the_id() -> None:
    assert_short_echo(rs.not_found("run", MEG))


# --------------------------------------------------------------------------------------
# Request bodies: the hostile values that found issue 17 (surrogates, depth, width, echo)

#: A valid body per request parser, rich enough to hold every kind of nested value.
_REQUEST_BODIES: dict[str, tuple[Callable[[Any], Any], dict[str, Any]]] = {
    "create_run": (rs.parse_create_run, {
        "assistant_id": "asst_1", "instructions": "i", "metadata": {"k": "v"},
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {"a": {"type": "string"}}}}}],
        "additional_messages": [{"role": "user", "content": [{"type": "text", "text": "t"}]}],
        "truncation_strategy": {"type": "last_messages", "last_messages": 3},
        "max_prompt_tokens": 500, "tool_choice": "auto", "reasoning_effort": "low",
        "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {}}},
    }),
    "thread_and_run": (rs.parse_create_thread_and_run, {
        "assistant_id": "asst_1", "thread": {"messages": [{"role": "user", "content": "c"}],
                                             "metadata": {"k": "v"}},
        "tool_resources": {"code_interpreter": {"file_ids": ["f"]}},
    }),
    "create_assistant": (rs.parse_create_assistant, {
        "model": "gpt-4o", "name": "n", "tools": [{"type": "file_search", "file_search": {
            "max_num_results": 5}}], "metadata": {"k": "v"}, "top_p": 0.5,
    }),
    "create_thread": (rs.parse_create_thread, {
        "messages": [{"role": "assistant", "content": "c", "metadata": {"a": "b"}}],
        "tool_resources": {"file_search": {"vector_stores": [{"file_ids": ["f"]}]}},
    }),
    "modify_run": (rs.parse_modify_run, {"metadata": {"k": "v"}}),
    "create_message": (rs.parse_create_message, {
        "role": "user", "content": [{"type": "text", "text": "t"}],
        "attachments": [{"file_id": "f", "tools": [{"type": "file_search"}]}],
        "metadata": {"k": "v"},
    }),
    "modify_assistant": (rs.parse_modify_assistant, {
        "name": "n", "instructions": "i", "tools": [{"type": "code_interpreter"}],
        "tool_resources": {"code_interpreter": {"file_ids": ["f"]}},
    }),
    "modify_thread": (rs.parse_modify_thread, {"metadata": {"k": "v"}}),
    "modify_message": (rs.parse_modify_message, {"metadata": {"k": "v"}}),
    "submit": (rs.parse_submit_tool_outputs, {
        "tool_outputs": [{"tool_call_id": "call_1", "output": "o"}], "stream": True}),
    "json_body": (rs.toolkit.parse_json_body, {"to": "completed", "usage": {"a": [1]}}),
}  # fmt: skip

_LONE_SURROGATES = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"])
#: Never two surrogates side by side: JSON text would merge a pair into one character.
_texts_with_surrogate = st.builds(
    lambda a, s, b: f"{a}{s}{b}", st.text("ab", max_size=3), _LONE_SURROGATES,
    st.text("cd", max_size=3),
)  # fmt: skip
_LONG = 100_000


@st.composite
def _hostile(draw: st.DrawFn) -> tuple[str, Any]:
    """A hostile value (its kind, the value) of the kinds that found issue 17."""
    kind = draw(st.sampled_from(
        ["surrogate", "deep", "huge-int", "long-text", "non-finite", "harmless"]
    ))  # fmt: skip
    if kind == "surrogate":
        return kind, draw(_texts_with_surrogate)
    if kind == "deep":
        levels = draw(st.integers(1, 1_200))
        value: Any = {}
        for _ in range(levels - 1):
            value = [value] if draw(st.booleans()) else {"a": value}
        return kind, value
    if kind == "huge-int":
        return kind, draw(st.sampled_from([1, -1])) * 10 ** draw(st.integers(4_300, 5_000))
    if kind == "long-text":
        return kind, draw(st.sampled_from("xy" + MARK)) * _LONG
    if kind == "non-finite":
        return kind, draw(st.sampled_from([math.inf, -math.inf, math.nan]))
    return kind, draw(st.one_of(st.integers(-5, 5), st.text("ab", max_size=3), st.none()))


def _spots(value: Any, out: list[Any]) -> list[Any]:
    """Every container inside ``value``, ``value`` first."""
    if isinstance(value, dict | list):
        out.append(value)
        for x in value.values() if isinstance(value, dict) else value:
            _spots(x, out)
    return out


@st.composite
def hostile_requests(draw: st.DrawFn) -> tuple[str, dict[str, Any], str]:
    """(parser name, a valid body with one hostile value put in it somewhere, its kind).

    The value replaces an entry, is added as a value, or (a string) as a key.
    """
    name = draw(st.sampled_from(sorted(_REQUEST_BODIES)))
    body = copy.deepcopy(_REQUEST_BODIES[name][1])
    kind, value = draw(_hostile())
    target = draw(st.sampled_from(_spots(body, [])))
    if isinstance(target, list):
        i = draw(st.integers(0, len(target)))
        target[i : i + 1] = [value]
    elif isinstance(value, str) and draw(st.booleans()):
        target[value] = draw(st.sampled_from(["v", 1, None]))
    else:
        keys = [*target, "extra"]
        target[draw(st.sampled_from(keys))] = value
    return name, body, kind


def _depth(value: Any) -> int:
    """Containers nested in ``value`` (the value itself counted), without recursion."""
    best, todo = 0, [(value, 1)]
    while todo:
        x, level = todo.pop()
        if isinstance(x, dict | list):
            best = max(best, level)
            todo.extend((y, level + 1) for y in (x.values() if isinstance(x, dict) else x))
    return best


def _outcome(parse: Callable[[Any], Any], body: Any) -> Any:
    """The parse's result, or its refusal; anything but a runstate error fails the test."""
    try:
        return parse(body)
    except rs.APIError as exc:
        assert exc.http_status == 400, exc
        text = rs.toolkit.error_json(exc)
        text.encode("utf-8")  # never a raw lone surrogate
        assert len(text) < 2_000, "a refusal echoes an unbounded value"
        assert json.loads(text) == exc.to_api_error()
        return exc


def _as_text(body: dict[str, Any], kind: str) -> str | None:
    """The body as JSON text (surrogates escaped), or None where there is none to compare.

    None for nesting ``json.dumps`` cannot write, and for integers too wide for JSON text
    here: the decoder refuses their text (bad JSON) where a mapping holding one gets the
    field's range template.
    """
    if kind == "huge-int" or _depth(body) > 500:
        return None
    return json.dumps(body, allow_nan=True)


@FUZZ
@given(hostile_requests())
def test_hostile_request_bodies_get_the_api_400_or_parse_whole(
    case: tuple[str, dict[str, Any], str],
) -> None:
    name, body, kind = case
    parse = _REQUEST_BODIES[name][0]
    with time_limit():
        result = _outcome(parse, body)
        text = _as_text(body, kind)
        if text is not None:
            from_text = _outcome(parse, text)
            assert type(from_text) is type(result), (kind, result, from_text)
            if isinstance(result, rs.APIError):
                assert (from_text.message, from_text.param) == (result.message, result.param)
            else:
                assert from_text == result
    if kind in ("surrogate", "non-finite") and not isinstance(result, rs.APIError):
        pytest.fail(f"{name} accepted a {kind} value")
    if kind == "deep" and _depth(body) > MAX_JSON_DEPTH:
        assert isinstance(result, rs.APIError) and result.message == BAD_JSON_MESSAGE
    if isinstance(result, rs.APIError):
        return
    repr(result)  # holds nothing repr() cannot show (a 5000-digit integer)
    if name in ("create_run", "thread_and_run"):
        run = result.new_run(id="run_1", thread_id="thread_1", now=1, assistant_model="m")
        out = rs.toolkit.run_json(run)
        assert rs.parse_run(out.encode("utf-8")) == run


@FUZZ
@given(st.sampled_from(["assistant_id", "thread_id", "run_id", "step_id"]), st.one_of(
    st.none(), st.integers(), st.floats(allow_nan=False), st.binary(max_size=30),
    st.text(max_size=30), _texts_with_surrogate, st.lists(st.text(max_size=3), max_size=2),
    st.just("z" * _LONG),
))  # fmt: skip
def test_id_and_header_checks_answer_any_value(param: str, value: Any) -> None:
    for check, ok_types in (
        (lambda: rs.toolkit.validate_id(param, value), (str, bytes)),
        (lambda: rs.toolkit.validate_beta_header(value), (str, bytes, type(None))),
    ):
        try:
            check()
        except rs.APIError as exc:
            assert len(rs.toolkit.error_json(exc).encode("utf-8")) < 1_000
        except rs.InvalidArgument:
            assert not isinstance(value, ok_types), value


# ======================================================================================
# Hardening round 3 (issue 17): wrong-typed arguments to every public function, errors
# that survive pickling, query integers of any length, SSE round trips.
# (Generators of the kinds that found items 6, 7, 8, 12 and 13.)

import inspect  # noqa: E402 - this section's own imports

import cattrs  # noqa: E402

from runstate import responses as rr  # noqa: E402
from runstate.models import Message as _Message  # noqa: E402


def _started() -> rs.Run:
    return rs.start(
        rs.new_run(id="run_1", thread_id="thread_1", assistant_id="a", model="m", now=10), now=11
    )


def _step() -> rs.RunStep:
    return rs.steps.open_message_step(_started(), id="step_1", message_id="msg_1", now=12)


def _message() -> _Message:
    return rs.steps.open_message(_started(), id="msg_1", now=12)


class _Job:
    """A model for ``runstate.machine``."""

    def __init__(self, run: rs.Run) -> None:
        self.run = run


#: A valid value for each required parameter, by name, then (function, name) where one
#: name means different things. Parameters with a default use their default.
_VALID: dict[str, Callable[[], Any]] = {
    "run": _started,
    "now": lambda: 20,
    "steps": tuple,
    "step": _step,
    "message": _message,
    "id": lambda: "x_1",
    "message_id": lambda: "msg_2",
    "thread_id": lambda: "thread_1",
    "assistant_id": lambda: "a",
    "model": lambda: "m",
    "data": lambda: json.dumps(dump_run(_started())),
    "source": lambda: "event: thread.run.created\ndata: {}\n\n",
    "target": lambda: rs.RunStatus.COMPLETED,
    "events": lambda: [("thread.run.created", "{}")],
    "items": list,
    "mode": lambda: "stream",
    "kind": lambda: "run",
    "body": lambda: b"{}",
    "runs": list,
    "tool_calls": lambda: _calls("c"),
    "tool_outputs": list,
    "error": lambda: {"code": "server_error", "message": "boom"},
    "reason": lambda: "max_tokens",
    "text": lambda: "hello",
    "exc": lambda: ValueError("x"),
    "type": lambda: int,
    "cls": lambda: rs.Run,
    "value": lambda: "v",
    "param": lambda: "run_id",
    "converter": cattrs.Converter,
    "operation": lambda: "complete",
    "before": _started,
    "after": _started,
}
_VALID_FOR: dict[tuple[str, str], Callable[[], Any]] = {
    ("can_transition", "source"): lambda: rs.RunStatus.QUEUED,
    ("can_reach", "source"): lambda: rs.RunStatus.QUEUED,
    ("machine", "model"): lambda: _Job(_started()),
    ("mark_incomplete", "reason"): lambda: "max_tokens",
}

#: Public functions that may raise something other than a runstate.Error for a wrong
#: argument, on purpose (each with why). Everything else must raise only runstate.Error.
_OTHER_RAISES: dict[str, str] = {
    # Its **machine_kwargs go to transitions.Machine unread: transitions' own TypeErrors.
    "machine": "transitions' keyword arguments are transitions' to check",
}

#: Wrong-typed values: JSON-ish, hostile, huge and plain objects.
_wrong_values = st.one_of(
    any_values,
    st.sampled_from([None, True, 1.5, 10**5000, -(10**5000), b"x", (), object, len]),
    st.builds(object),
)


def _queued_response() -> rr.Response:
    return rr.new_response(id="resp_1", model="m", now=10, background=True)


def _started_response() -> rr.Response:
    return rr.start(_queued_response(), now=11)


#: Valid values for runstate.responses' functions, whose parameter names mean their own
#: things (a response, its statuses, its events); looked up before ``_VALID``.
_VALID_RESPONSES: dict[str, Callable[[], Any]] = {
    "response": _started_response,
    "data": lambda: json.dumps(rr.dump_response(_started_response())),
    "output": lambda: [{"type": "message", "id": "msg_1", "content": []}],
    "usage": lambda: {"total_tokens": 1},
    "item": lambda: {"type": "message", "id": "msg_1", "status": "in_progress", "content": []},
    "text": lambda: "Hello",
    "reason": lambda: "max_output_tokens",
    "query": lambda: "stream=true&starting_after=1",
    "id": lambda: "resp_1",
    "before": _queued_response,
    "after": _started_response,
    "sequence_start": lambda: 0,
    "events": lambda: list(rr.stream_events(None, _queued_response(), sequence_start=0)),
    "starting_after": lambda: 0,
    "status": lambda: rr.ResponseStatus.QUEUED,
    "source": lambda: rr.ResponseStatus.QUEUED,
    "target": lambda: rr.ResponseStatus.IN_PROGRESS,
}
#: ids of the functions taken from runstate.responses.
_RESPONSES_FUNCTIONS: set[int] = set()


def _public_functions() -> list[Any]:
    seen: dict[int, Any] = {}
    for module in (rs, rs.models, rs.toolkit, rs.steps, rr):
        for name in module.__all__:
            fn = getattr(module, name)
            if (inspect.isfunction(fn) or inspect.isbuiltin(fn)) and id(fn) not in seen:
                seen[id(fn)] = pytest.param(fn, id=f"{module.__name__}.{name}")
                if module is rr:
                    _RESPONSES_FUNCTIONS.add(id(fn))
    return list(seen.values())


def _consume(result: Any) -> Any:
    """Read a lazy result (parse_sse's iterator), a bounded number of items."""
    if isinstance(result, Iterator):
        return [item for _, item in zip(range(1000), result, strict=False)]
    return result


@FUZZ
@pytest.mark.parametrize("fn", _public_functions())
@given(data=st.data())
def test_every_public_function_refuses_wrong_types_with_a_runstate_error(
    fn: Callable[..., Any], data: st.DataObject
) -> None:
    """Any subset of a function's parameters wrong-typed: only a runstate.Error escapes.

    Every error raised also survives pickle and deepcopy (issue 17, item 7).
    """
    name = fn.__name__
    params = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    wrong = data.draw(st.lists(st.sampled_from(params), min_size=1, unique=True), label="wrong")
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for p in params:
        if p in wrong:
            value = data.draw(_wrong_values, label=p.name)
        elif p.default is not p.empty:
            continue
        else:
            valid = _VALID_RESPONSES if id(fn) in _RESPONSES_FUNCTIONS else {}
            value = valid.get(p.name, _VALID_FOR.get((name, p.name), _VALID.get(p.name)))()
        if p.kind is p.POSITIONAL_ONLY:
            args.append(value)
        else:
            kwargs[p.name] = value
    try:
        with time_limit():  # a hang guard
            _consume(fn(*args, **kwargs))
    except rs.Error as exc:
        assert_short_echo(exc)
        for clone in (pickle.loads(pickle.dumps(exc)), copy.deepcopy(exc)):
            assert type(clone) is type(exc)
            assert str(clone) == str(exc)
            assert clone.args == exc.args
    except Exception:
        if name not in _OTHER_RAISES:
            raise


_SSE_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)  # no surrogates


@FUZZ
@given(
    st.lists(
        st.tuples(
            _SSE_TEXT.filter(lambda n: n != "" and "\n" not in n and "\r" not in n),
            st.one_of(
                _SSE_TEXT.filter(lambda d: "\r" not in d),
                st.dictionaries(st.text(max_size=5), json_values, max_size=3),
            ),
        ),
        max_size=5,
    )
)
def test_encode_sse_reads_back_the_same_pairs(events: list[tuple[str, Any]]) -> None:
    """encode_sse -> parse_sse gives back every pair: names and data, in order."""
    body = rs.encode_sse(events)
    expected = [
        (name, data if isinstance(data, str) else json.dumps(data, separators=(",", ":"),
                                                            ensure_ascii=False))
        for name, data in events
    ]  # fmt: skip
    assert list(rs.parse_sse(body)) == expected


@FUZZ
@given(
    st.text(max_size=10),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
)
def test_encode_sse_refuses_only_what_cannot_read_back(name: str, data: str) -> None:
    """Anything encode_sse accepts reads back the same; the rest is an InvalidArgument."""
    try:
        body = rs.encode_sse([(name, data)])
    except rs.InvalidArgument:
        assert (
            not name
            or set(name) & {"\r", "\n"}
            or "\r" in data
            or any("\ud800" <= c <= "\udfff" for c in name)
        )
        return
    assert list(rs.parse_sse(body)) == [(name, data)]


@FUZZ
@given(st.integers(-(10**100), 10**100), st.integers(0, 40), st.booleans())
def test_query_limit_text_is_judged_by_its_value(value: int, zeros: int, plus: bool) -> None:
    """Integer text of any length, leading zeros and sign (issue 17, item 8)."""
    text = ("-" if value < 0 else "+" if plus else "") + "0" * zeros + str(abs(value))
    result = call(rs.parse_list_runs, {"limit": text})
    if 1 <= value <= 100:
        assert result == rs.toolkit.ListRuns(limit=value)
    else:
        assert isinstance(result, rs.InvalidRequest)
        assert result.code == (
            "integer_below_min_value" if value < 1 else "integer_above_max_value"
        )
