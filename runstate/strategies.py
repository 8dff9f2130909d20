"""Hypothesis strategies for runs, in hypothesis' own API style.

Every public name is a plural noun returning a ``SearchStrategy``; options are
keyword-only and checked up front, raising :class:`hypothesis.errors.InvalidArgument`.

Importing this module imports hypothesis; ``import runstate`` never does.
When runstate is installed, hypothesis loads :func:`_hypothesis_setup_hook` through the
``hypothesis`` entry point, so ``st.from_type(runstate.Run)`` works in any test suite.

Generated runs are *clean*: the per-status field rules of :func:`runstate.violations`
hold by construction (for example ``last_error`` is set exactly on failed runs, and
timestamps are ordered), while everything the rules leave open varies: every tool,
``response_format`` and ``tool_choice`` variant, truncation, metadata, unknown keys at
several nesting levels (each value's ``extra``) and missing optional keys (``absent``).

Example:
    >>> from hypothesis import given
    >>> from runstate import RunStatus
    >>> from runstate.strategies import runs
    >>> @given(runs(status=RunStatus.FAILED))
    ... def test_failed_runs_say_why(run):
    ...     assert run.last_error is not None
    >>> test_failed_runs_say_why()
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar, get_args


def _hypothesis_setup_hook() -> None:
    """Register the strategies with hypothesis' type lookup (hypothesis entry point).

    Called by hypothesis when it is imported, so it must exist before this module
    imports hypothesis itself: when ``runstate.strategies`` is the first to import
    hypothesis, hypothesis runs its entry points while this module is still loading.
    The strategies are therefore registered as functions, resolved on first use.

    Example:
        >>> from hypothesis import strategies as st
        >>> import runstate
        >>> isinstance(st.from_type(runstate.Run), st.SearchStrategy)
        True
    """
    from hypothesis import strategies as st  # noqa: PLC0415 - see the docstring

    from ._model import Run  # noqa: PLC0415
    from ._status import RunStatus  # noqa: PLC0415

    st.register_type_strategy(Run, lambda _: runs())
    st.register_type_strategy(RunStatus, lambda _: statuses())


# hypothesis is imported only below the hook; see _hypothesis_setup_hook's docstring.
import functools  # noqa: E402
import json  # noqa: E402
import string  # noqa: E402

import attrs  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import InvalidArgument  # noqa: E402

from . import _fields as rules  # noqa: E402
from ._engine.fields import judge  # noqa: E402
from ._engine.frozen import EMPTY  # noqa: E402
from ._engine.strategies import within as _within  # noqa: E402
from ._model import (  # noqa: E402
    MESSAGE_CREATION,
    NO_KEYS,
    CodeInterpreterTool,
    FileSearchOptions,
    FileSearchTool,
    FunctionCall,
    FunctionDefinition,
    FunctionTool,
    IncompleteDetails,
    IncompleteReason,
    JsonSchema,
    LastError,
    RankingOptions,
    RequiredAction,
    ResponseFormat,
    ResponseFormatJsonSchema,
    Run,
    StepStatus,
    SubmitToolOutputs,
    Tool,
    ToolCall,
    ToolChoice,
    ToolChoiceFunction,
    ToolChoiceOption,
    TruncationStrategy,
    Usage,
)
from ._operations import OPERATIONS, Op  # noqa: E402
from ._schema import SCHEMA  # noqa: E402
from ._serde import dump_run  # noqa: E402
from ._status import TERMINAL_STATUSES, RunStatus  # noqa: E402
from ._table import TRANSITIONS  # noqa: E402

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn, SearchStrategy

__all__ = ["lives", "run_payloads", "runs", "statuses", "traces"]

_V = TypeVar("_V")

# --------------------------------------------------------------------------------------
# Limits the generated values respect (spec-facts §1.1, §1.2; the per-status rules).

#: Timestamps are Unix seconds in this range.
_TS_MIN: Final = 1_600_000_000
_TS_MAX: Final = 2_000_000_000
#: The largest gap drawn between two consecutive timestamps of one run.
_GAP: Final = 3_600
#: The real API's ``expires_at - created_at`` (spec-facts §5.4).
_EXPIRY: Final = 600
# Field limits and enums: the field-rule table (runstate._fields), drawn by _within.
_MAX_TOOLS: Final = rules.RUN_TOOLS.max_items or 0

_STARTED: Final = frozenset(
    {RunStatus.IN_PROGRESS, RunStatus.REQUIRES_ACTION, RunStatus.COMPLETED, RunStatus.INCOMPLETE}
)

# --------------------------------------------------------------------------------------
# Argument validation (shared by every strategy taking ``status``).


def _status_choices(status: RunStatus | Iterable[RunStatus] | None) -> tuple[RunStatus, ...]:
    """The statuses a ``status=`` argument allows, in spec order, or raise InvalidArgument."""
    if status is None:
        return tuple(RunStatus)
    if isinstance(status, RunStatus):
        return (status,)
    if isinstance(status, str | bytes) or not isinstance(status, Iterable):
        hint = f"; did you mean RunStatus({status!r})?" if isinstance(status, str) else ""
        raise InvalidArgument(
            f"status={status!r} must be a RunStatus, an iterable of them, or None{hint}"
        )
    chosen = set()
    for item in status:
        if not isinstance(item, RunStatus):
            raise InvalidArgument(f"status={status!r} contains {item!r}, which is not a RunStatus")
        chosen.add(item)
    if not chosen:
        raise InvalidArgument(f"status={status!r} is empty; give at least one RunStatus")
    return tuple(s for s in RunStatus if s in chosen)


# --------------------------------------------------------------------------------------
# Leaves


_ALNUM: Final = string.ascii_letters + string.digits
#: Key-like text: letters, digits, ``_`` and ``-``.
_NAME_CHARS: Final = _ALNUM + "_-"

# Every strategy is built once, here: building strategies inside a draw makes hypothesis
# validate them again for every example, which costs more than the drawing.

#: Any text that encodes as UTF-8 (no lone surrogates), kept short.
_texts: Final = st.text(st.characters(codec="utf-8"), max_size=40)
_optional_texts: Final = st.none() | _texts
_optional_bools: Final = st.none() | st.booleans()


_names: Final = st.sampled_from(
    ("get_weather", "lookup", "getCurrentWeather", "search-docs", "f")
) | _within(rules.NAME)
_json_scalars: Final = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _texts
)
#: Any JSON value (dicts and lists, never tuples), kept small.
_json_values: Final = st.recursive(
    _json_scalars,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(_texts, kids, max_size=3),
    max_leaves=8,
)
_json_objects: Final = st.dictionaries(_texts, _json_values, max_size=4)


def _ids(prefix: str) -> SearchStrategy[str]:
    return st.text(_ALNUM, min_size=1, max_size=24).map(lambda s: prefix + s)


_run_ids: Final = _ids("run_")
_thread_ids: Final = _ids("thread_")
_assistant_ids: Final = _ids("asst_")
_file_ids: Final = st.lists(_ids("file-"), max_size=2)
_call_ids: Final = st.lists(_ids("call_"), min_size=1, max_size=4, unique=True)

# --------------------------------------------------------------------------------------
# ``extra`` and ``absent``: what makes a value lossless, drawn for every value class.

#: Per class: its wire keys, and its optional wire keys with their default values.
_WIRE_KEYS: Final[dict[type, frozenset[str]]] = {cls: frozenset(f) for cls, f in SCHEMA.items()}
_OPTIONAL: Final[dict[type, dict[str, Any]]] = {
    cls: {
        a.name: a.default for a in attrs.fields(cls) if a.name in fields and not fields[a.name][1]
    }
    for cls, fields in SCHEMA.items()
}

_unknown_keys: Final = st.sampled_from(
    ("x_future_field", "hybrid_search", "file_ids", "tool_resources", "reasoning_effort")
) | st.text(_NAME_CHARS, min_size=1, max_size=20)

#: Unknown keys the real API sends, per class (spec-facts §5.2, §8.8).
_REAL_EXTRAS: Final[dict[type, SearchStrategy[dict[str, Any]]]] = {
    Run: st.fixed_dictionaries(
        {},
        optional={
            "tool_resources": st.fixed_dictionaries(
                {}, optional={"code_interpreter": st.fixed_dictionaries({"file_ids": _file_ids})}
            ),
            "reasoning_effort": st.none() | _within(rules.REASONING_EFFORTS),
            "file_ids": _file_ids,
        },
    ),
    Usage: st.fixed_dictionaries(
        {
            "prompt_token_details": st.fixed_dictionaries(
                {"cached_tokens": st.integers(0, 10_000)}
            ),
            "completion_tokens_details": st.fixed_dictionaries(
                {"reasoning_tokens": st.integers(0, 10_000)}
            ),
        }
    ),
    RankingOptions: st.fixed_dictionaries({"hybrid_search": st.none()}),
}


def _make_extras(cls: type) -> SearchStrategy[Mapping[str, Any]]:
    """Unknown keys for ``cls``: none half the time, else real-looking or random ones."""
    known = _WIRE_KEYS[cls]
    unknown: SearchStrategy[Mapping[str, Any]] = st.dictionaries(
        _unknown_keys.filter(lambda k: k not in known), _json_values, min_size=1, max_size=3
    )
    if cls in _REAL_EXTRAS:
        unknown = unknown | _REAL_EXTRAS[cls]
    return st.just(EMPTY) | unknown


_EXTRAS: Final = {cls: _make_extras(cls) for cls in SCHEMA}


@functools.cache
def _absent_sets(keys: tuple[str, ...]) -> SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(keys), min_size=1)


def _is_default(value: object, default: object) -> bool:
    return value is None if default is None else value == default


def _finish(draw: DrawFn, cls: type[_V], **fields: Any) -> _V:
    """Build ``cls`` from ``fields``, with drawn unknown keys and absent optional keys.

    Only optional keys still holding their default may be absent: ``dump_run`` leaves
    exactly those out, so the value round-trips.
    """
    may_lack = tuple(
        key
        for key, default in _OPTIONAL[cls].items()
        if _is_default(fields.get(key, default), default)
    )
    absent = NO_KEYS
    lacking: bool = bool(may_lack) and draw(st.booleans())
    if lacking:
        absent = draw(_absent_sets(may_lack))
    make: Callable[..., _V] = cls  # an attrs class: keyword arguments, checked at run time
    return make(**fields, extra=draw(_EXTRAS[cls]), absent=absent)


# --------------------------------------------------------------------------------------
# Nested values

_parameters: Final = (
    st.none()
    | st.fixed_dictionaries(
        {
            "type": st.just("object"),
            "properties": st.dictionaries(
                _names, st.fixed_dictionaries({"type": st.just("string")}), max_size=3
            ),
        },
        optional={"required": st.lists(_names, max_size=2), "additionalProperties": st.booleans()},
    )
    | _json_objects
)


@st.composite
def _function_tools(draw: DrawFn) -> FunctionTool:
    definition = _finish(
        draw,
        FunctionDefinition,
        name=draw(_names),
        description=draw(_optional_texts),
        parameters=draw(_parameters),
        strict=draw(_optional_bools),
    )
    return _finish(draw, FunctionTool, function=definition)


_score_thresholds: Final = _within(rules.SCORE_THRESHOLD)
_rankers: Final = st.none() | _within(rules.RANKERS)
_max_num_results: Final = st.none() | _within(rules.MAX_NUM_RESULTS)


@st.composite
def _file_search_tools(draw: DrawFn) -> FileSearchTool:
    ranking = None
    if draw(st.booleans()):
        ranking = _finish(
            draw, RankingOptions, score_threshold=draw(_score_thresholds), ranker=draw(_rankers)
        )
    options = None
    if draw(st.booleans()):
        options = _finish(
            draw,
            FileSearchOptions,
            max_num_results=draw(_max_num_results),
            ranking_options=ranking,
        )
    return _finish(draw, FileSearchTool, file_search=options)


@st.composite
def _code_interpreter_tools(draw: DrawFn) -> CodeInterpreterTool:
    return _finish(draw, CodeInterpreterTool)


_tools: Final[SearchStrategy[Tool]] = st.one_of(
    _code_interpreter_tools(), _file_search_tools(), _function_tools()
)
_tool_lists: Final = st.lists(_tools, max_size=_MAX_TOOLS).map(tuple)
_response_format_modes: Final = _within(rules.RESPONSE_FORMAT_MODES)
#: The string form first (it shrinks there), then each format class.
_response_format_kinds: Final = st.sampled_from(
    (None, *(c for c in get_args(ResponseFormat) if isinstance(c, type)))
)


@st.composite
def _response_formats(draw: DrawFn) -> ResponseFormat:
    kind = draw(_response_format_kinds)
    if kind is None:
        mode: ResponseFormat = draw(_response_format_modes)
        return mode
    if kind is not ResponseFormatJsonSchema:
        return _finish(draw, kind)
    schema = _finish(
        draw,
        JsonSchema,
        name=draw(_names),
        description=draw(_optional_texts),
        schema=draw(st.none() | _json_objects),
        strict=draw(_optional_bools),
    )
    return _finish(draw, ResponseFormatJsonSchema, json_schema=schema)


_optional_response_formats: Final = st.none() | _response_formats()


def _tool_choice(draw: DrawFn, tools: tuple[Tool, ...]) -> ToolChoiceOption | None:
    """``tool_choice``, or null; a specific tool is always one of ``tools``."""
    modes = rules.TOOL_CHOICE_MODES.values
    options: tuple[str | None, ...] = (None, *modes, *sorted({t.type for t in tools}))
    kind = draw(st.sampled_from(options))
    if kind is None or kind in modes:
        return kind  # type: ignore[return-value]  # narrowed by the test above
    function = None
    if kind == "function":
        names = tuple(sorted({t.function.name for t in tools if isinstance(t, FunctionTool)}))
        function = _finish(draw, ToolChoiceFunction, name=draw(st.sampled_from(names)))
    return _finish(draw, ToolChoice, type=kind, function=function)


_arguments: Final = st.dictionaries(_names, _json_scalars, max_size=3).map(json.dumps) | _texts


def _required_action(draw: DrawFn, names: tuple[str, ...]) -> RequiredAction:
    """Tool calls with unique ids, each naming one of the run's function tools."""
    called = st.sampled_from(names)
    calls = tuple(
        _finish(
            draw,
            ToolCall,
            id=call_id,
            function=_finish(draw, FunctionCall, name=draw(called), arguments=draw(_arguments)),
        )
        for call_id in draw(_call_ids)
    )
    return _finish(
        draw,
        RequiredAction,
        submit_tool_outputs=_finish(draw, SubmitToolOutputs, tool_calls=calls),
    )


_metadata: Final = st.none() | _within(rules.METADATA)
_message_counts: Final = _within(rules.LAST_MESSAGES).filter(lambda n: n <= 1_000)
_truncation_kinds: Final = _within(rules.TRUNCATION_TYPES)


@st.composite
def _truncation_strategies(draw: DrawFn) -> TruncationStrategy:
    kind = draw(_truncation_kinds)
    optional = kind == "auto" and draw(st.booleans())
    last = None if optional else draw(_message_counts)
    return _finish(draw, TruncationStrategy, type=kind, last_messages=last)


_optional_truncation_strategies: Final = st.none() | _truncation_strategies()
_error_codes: Final = _within(rules.LAST_ERROR_CODES)
_run_reasons: Final = _within(rules.INCOMPLETE_REASONS)
_reasons: Final = _run_reasons | st.none()
_token_counts: Final = st.integers(0, 10**6)
_token_limits: Final = st.none() | _within(rules.TOKEN_MINIMUM).filter(lambda n: n <= 10**6)
_models: Final = st.sampled_from(("gpt-4o", "gpt-4o-mini", "gpt-4-turbo")) | _texts
_temperatures: Final = st.none() | _within(rules.TEMPERATURE)
_top_ps: Final = st.none() | _within(rules.TOP_P)
_created: Final = st.integers(_TS_MIN, _TS_MAX - 4 * _GAP)


def _echoes(key: str) -> SearchStrategy[Any]:
    """An echoed run field: null, or a value inside every ``Run`` row of its key."""
    rows = [row for field, row in rules.RULES_BY_OWNER.get("Run", ()) if field == key]
    if not rows:
        return st.none()
    return st.none() | _within(rows[0]).filter(lambda v: not any(judge(r, v) for r in rows))


#: Each create-run parameter the run echoes (runstate._fields.RUN_ECHOES).
_ECHOES: Final = {key: _echoes(key) for key in rules.RUN_ECHOES}
_gaps: Final = st.integers(0, _GAP)
_expiry_gaps: Final = st.integers(1, _GAP)

# --------------------------------------------------------------------------------------
# Runs


@st.composite
def _runs(draw: DrawFn, choices: SearchStrategy[RunStatus]) -> Run:
    status = draw(choices)

    # Timestamps: created_at <= started_at <= each end timestamp; expires_at is set
    # exactly while the run is active, and then later than every other timestamp.
    created = draw(_created)
    started = None
    if status in _STARTED or draw(st.booleans()):
        started = created + draw(_gaps)
    base = created if started is None else started
    cancelled = base + draw(_gaps) if status is RunStatus.CANCELLED else None
    failed = base + draw(_gaps) if status is RunStatus.FAILED else None
    completed = None
    if status is RunStatus.COMPLETED or (status is RunStatus.INCOMPLETE and draw(st.booleans())):
        completed = base + draw(_gaps)
    expires = None
    if not status.is_terminal:
        usual = created + _EXPIRY  # what the real API does (spec-facts §5.4)
        expires = usual if usual > base and draw(st.booleans()) else base + draw(_expiry_gaps)

    # Configuration, free in every status.
    tools: tuple[Tool, ...] = draw(_tool_lists)
    function_names = tuple(t.function.name for t in tools if isinstance(t, FunctionTool))
    required_action = None
    if status is RunStatus.REQUIRES_ACTION:
        if not function_names:  # the calls name functions the run offers
            tool = draw(_function_tools())
            tools = (*tools[: _MAX_TOOLS - 1], tool)
            function_names = (tool.function.name,)
        required_action = _required_action(draw, function_names)

    last_error = None
    if status is RunStatus.FAILED:
        last_error = _finish(draw, LastError, code=draw(_error_codes), message=draw(_texts))
    incomplete_details = None
    if status is RunStatus.INCOMPLETE:
        incomplete_details = _finish(draw, IncompleteDetails, reason=draw(_reasons))
    usage = None
    if status.is_terminal:
        prompt, completion = draw(_token_counts), draw(_token_counts)
        usage = _finish(
            draw,
            Usage,
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
        )

    fields: dict[str, Any] = {
        "id": draw(_run_ids),
        "created_at": created,
        "thread_id": draw(_thread_ids),
        "assistant_id": draw(_assistant_ids),
        "status": status,
        "model": draw(_models),
        "instructions": draw(_optional_texts),
        "required_action": required_action,
        "last_error": last_error,
        "expires_at": expires,
        "started_at": started,
        "cancelled_at": cancelled,
        "failed_at": failed,
        "completed_at": completed,
        "incomplete_details": incomplete_details,
        "tools": tools,
        "metadata": draw(_metadata),
        "usage": usage,
        "temperature": draw(_temperatures),
        "top_p": draw(_top_ps),
        "max_prompt_tokens": draw(_token_limits),
        "max_completion_tokens": draw(_token_limits),
        "truncation_strategy": draw(_optional_truncation_strategies),
        "tool_choice": _tool_choice(draw, tools),
        # Real objects lack the key rather than carry null (spec-facts §5.1); both parse.
        "parallel_tool_calls": draw(_optional_bools),
        "response_format": draw(_optional_response_formats),
    }
    for key, echoes in _ECHOES.items():  # each echo not drawn above, inside its rows
        if key not in fields:
            fields[key] = draw(echoes)
    return _finish(draw, Run, **fields)


# --------------------------------------------------------------------------------------
# Public strategies


def statuses() -> SearchStrategy[RunStatus]:
    """Generate run statuses, shrinking towards ``queued``.

    Returns:
        A strategy for :class:`~runstate.RunStatus` members, in the spec's order.

    Example:
        >>> from hypothesis import given
        >>> @given(statuses())
        ... def test_every_status_has_an_event(status):
        ...     assert status.event == f"thread.run.{status.value}"
        >>> test_every_status_has_an_event()
    """
    return st.sampled_from(RunStatus)


def runs(*, status: RunStatus | Iterable[RunStatus] | None = None) -> SearchStrategy[Run]:
    """Generate clean runs of every shape.

    Every run satisfies the per-status field rules (``required_action`` set exactly when
    ``requires_action``, ``last_error`` and ``failed_at`` exactly when ``failed``,
    ``usage`` exactly when terminal, ordered timestamps, ``expires_at`` exactly while
    active...) and the value limits (metadata size, ``temperature``, ``top_p``, function
    names, unique tool call ids, at most 20 tools, token limits of at least 256).
    Everything else varies: all tool, ``response_format``, ``tool_choice`` and
    truncation variants, unknown keys at several nesting levels (``extra``) and optional
    keys an old object would lack (``absent``). Every run round-trips through
    :func:`runstate.dump_run` and :func:`runstate.parse_run`.

    Args:
        status: Only generate runs in this status, or in one of these statuses.
            ``None`` (the default) allows all nine.

    Returns:
        A strategy for :class:`~runstate.Run`.

    Raises:
        hypothesis.errors.InvalidArgument: if ``status`` is not a ``RunStatus``, an
            iterable of them or ``None``, or is empty.

    Example:
        >>> from hypothesis import given
        >>> from runstate import RunStatus, TERMINAL_STATUSES
        >>> @given(runs(status=TERMINAL_STATUSES))
        ... def test_finished_runs_report_usage(run):
        ...     assert run.usage is not None and run.expires_at is None
        >>> test_finished_runs_report_usage()
    """
    return _runs(st.sampled_from(_status_choices(status)))


def run_payloads(
    *, status: RunStatus | Iterable[RunStatus] | None = None
) -> SearchStrategy[dict[str, Any]]:
    """Generate clean runs in their JSON form, as the API sends them.

    Each payload is :func:`runstate.dump_run` of a run from :func:`runs`: a fresh
    ``dict`` of JSON values, often with unknown keys at the top level and in nested
    objects, and sometimes lacking optional keys (as old objects do). It is a fixed
    point: ``dump_run(parse_run(payload)) == payload``.

    Args:
        status: As for :func:`runs`.

    Returns:
        A strategy for ``dict`` payloads, ready for ``json.dumps``.

    Raises:
        hypothesis.errors.InvalidArgument: as for :func:`runs`.

    Example:
        >>> from hypothesis import given
        >>> from runstate import RunStatus, parse_run
        >>> @given(run_payloads(status=RunStatus.REQUIRES_ACTION))
        ... def test_payloads_parse(payload):
        ...     assert parse_run(payload).required_action is not None
        >>> test_payloads_parse()
    """
    return runs(status=status).map(dump_run)


# --------------------------------------------------------------------------------------
# Traces: legal lifecycles, produced by runstate's own operations.

#: Operations that keep a run going, drawn more often so tool-output rounds are common.
_PROGRESS: Final = (Op.START, Op.REQUIRE_ACTION, Op.SUBMIT_TOOL_OUTPUTS)
_ZERO_USAGE: Final = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
#: The ``last_error.message`` of a drawn failure: the status's name.
_FAILED: Final = RunStatus.FAILED.value


def _tool_calls(draw: DrawFn, run: Run) -> list[dict[str, Any]]:
    names = [t.function.name for t in run.tools if isinstance(t, FunctionTool)] or ["fn"]
    count = draw(st.integers(min_value=1, max_value=3), label="tool calls")
    return [
        {
            "id": f"call_{draw(_ids('c'))}_{i}",
            "type": "function",
            "function": {"name": draw(st.sampled_from(names)), "arguments": "{}"},
        }
        for i in range(count)
    ]


def _step(draw: DrawFn, run: Run, now: int) -> tuple[Run, int]:
    """One legal move of ``run`` at a time ``>= now``: the new run and the time used."""
    from . import _ops  # noqa: PLC0415 - keeps this module's import graph flat

    ops = [op for op, target in _OP_TARGETS.items() if target in TRANSITIONS[run.status]]
    if run.started_at is None:  # a run that never started cannot complete
        ops = [op for op in ops if op not in _NEEDS_START]
    op = draw(st.sampled_from(ops + [o for o in ops if o in _PROGRESS] * 2), label="op")
    now += draw(st.integers(min_value=0, max_value=30), label="seconds")
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    if op is Op.REQUIRE_ACTION:
        return _ops.require_action(run, _tool_calls(draw, run), now=now), now
    if op is Op.SUBMIT_TOOL_OUTPUTS:
        assert run.required_action is not None
        calls = run.required_action.submit_tool_outputs.tool_calls
        outputs = [{"tool_call_id": c.id, "output": "ok"} for c in calls]
        return _ops.submit_tool_outputs(run, outputs, now=now), now
    if op is Op.COMPLETE:
        return _ops.complete(run, now=now, usage=usage), now
    if op is Op.MARK_INCOMPLETE:
        reason: IncompleteReason = draw(_run_reasons)
        return _ops.mark_incomplete(run, now=now, reason=reason, usage=usage), now
    if op is Op.FAIL:
        error = {
            "code": draw(_error_codes),
            "message": _FAILED,
        }
        return _ops.fail(run, now=now, error=error, usage=_ZERO_USAGE), now
    if op is Op.EXPIRE:  # only once due
        now = max(now, run.expires_at if run.expires_at is not None else now)
    # the operations that take nothing but the time: start, cancel, finish_cancel, expire
    return getattr(_ops, op)(run, now=now), now


#: Run operation -> the status it moves a run to (the operations table's run moves).
_OP_TARGETS: Final = {
    row.name: row.target
    for row in OPERATIONS.values()
    if row.acts_on == "run" and row.target is not None
}
#: The operations a run that never started cannot take.
_NEEDS_START: Final = frozenset(row.name for row in OPERATIONS.values() if row.needs_started)


def _fresh(draw: DrawFn) -> Run:
    """A just-created run of any shape: a generated queued run, reset to never started."""
    from ._engine.copying import replace  # noqa: PLC0415

    run = draw(runs(status=RunStatus.QUEUED))
    return replace(run, started_at=None, expires_at=run.created_at + _EXPIRY)


def _lifecycle(draw: DrawFn, max_steps: int) -> list[Run]:
    run = _fresh(draw)
    now = run.created_at
    path = [run]
    while run.status not in TERMINAL_STATUSES and len(path) <= max_steps:
        run, now = _step(draw, run, now)
        path.append(run)
    return path


@st.composite
def _poll_traces(draw: DrawFn, max_steps: int) -> list[dict[str, Any]]:
    from ._ops import update_metadata  # noqa: PLC0415

    path = _lifecycle(draw, max_steps)
    seen: list[Run] = []
    for i, run in enumerate(path):
        # Polls may miss statuses (never the first or last) and may see one repeatedly.
        if 0 < i < len(path) - 1 and draw(st.booleans(), label="missed"):
            continue
        seen.extend([run] * draw(st.integers(min_value=1, max_value=3), label="polls"))
    last = path[-1]
    if last.status in TERMINAL_STATUSES and draw(st.booleans(), label="modify"):
        seen.append(update_metadata(last, metadata={"note": "edited after the end"}))
    return [dump_run(r) for r in seen]


# --------------------------------------------------------------------------------------
# Lives with steps and messages (spec-facts §11), through runstate.advance.


def _open_steps(life: Any) -> list[Any]:
    return [s for s in life.steps if not s.status.is_terminal]


def _life_step(draw: DrawFn, life: Any, now: int, n: int) -> tuple[Any, int]:
    """One legal move of a run and its steps at a time ``>= now``."""
    from . import _steps  # noqa: PLC0415

    run = life.run
    opened = _open_steps(life)
    ops: list[Op] = [op for op, target in _OP_TARGETS.items() if target in TRANSITIONS[run.status]]
    if run.started_at is None:
        ops = [op for op in ops if op not in _NEEDS_START]
    if run.status is RunStatus.IN_PROGRESS:
        if any(s.type == MESSAGE_CREATION for s in opened):
            ops = [op for op in ops if op is not Op.REQUIRE_ACTION]
            ops += [Op.FINISH_MESSAGE_STEP] * 3
        elif opened:  # a tool_calls step without function calls (file search, say)
            ops += [Op.COMPLETE_TOOL_CALLS_STEP] * 2
        else:
            ops += [Op.OPEN_MESSAGE_STEP, Op.OPEN_TOOL_CALLS_STEP] * 2
    op = draw(st.sampled_from(ops + [o for o in ops if o in _PROGRESS] * 2), label="op")
    now += draw(st.integers(min_value=0, max_value=30), label="seconds")
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    args: dict[str, Any] = {}
    if op is Op.OPEN_MESSAGE_STEP:
        args = {"step_id": f"step_{n}", "message_id": f"msg_{n}"}
    elif op is Op.OPEN_TOOL_CALLS_STEP:
        calls = draw(
            st.sampled_from(
                [
                    [],
                    [
                        {
                            "id": f"call_ci_{n}",
                            "type": "code_interpreter",
                            "code_interpreter": {"input": "1", "outputs": []},
                        }
                    ],
                ]
            )
        )
        args = {"step_id": f"step_{n}", "tool_calls": calls}
    elif op in (Op.FINISH_MESSAGE_STEP, Op.COMPLETE_TOOL_CALLS_STEP):
        args = {"step_id": opened[0].id, "usage": usage}
        if op is Op.FINISH_MESSAGE_STEP and draw(st.booleans(), label="cut"):
            args["incomplete_reason"] = draw(st.sampled_from(["max_tokens", "content_filter"]))
        if op is Op.FINISH_MESSAGE_STEP and draw(st.booleans(), label="written"):
            args["text"] = draw(st.sampled_from(["Hello!", "", "Ünïcode ✓ \u2028 line"]))
    elif op is Op.REQUIRE_ACTION:
        args = {"tool_calls": _tool_calls(draw, run), "step_id": f"step_{n}"}
    elif op is Op.SUBMIT_TOOL_OUTPUTS:
        assert run.required_action is not None
        calls = run.required_action.submit_tool_outputs.tool_calls
        args = {"tool_outputs": [{"tool_call_id": c.id, "output": "ok"} for c in calls]}
    elif op in (Op.COMPLETE, Op.MARK_INCOMPLETE):
        args = {"usage": usage}
        if op is Op.MARK_INCOMPLETE:
            args["reason"] = draw(_run_reasons)
    elif op is Op.FAIL:
        code = draw(_error_codes)
        args = {"error": {"code": code, "message": _FAILED}, "usage": _ZERO_USAGE}
    elif op is Op.EXPIRE:
        now = max(now, run.expires_at if run.expires_at is not None else now)
    life = _steps.advance(run, life.steps, op, now=now, messages=life.messages, **args)
    return life, now


def _life_path(draw: DrawFn, max_steps: int) -> list[Any]:
    from ._steps import RunLife  # noqa: PLC0415

    life = RunLife(run=_fresh(draw))
    now = life.run.created_at
    path = [life]
    while life.run.status not in TERMINAL_STATUSES and len(path) <= max_steps:
        life, now = _life_step(draw, life, now, len(path))
        path.append(life)
    return path


def _change(before: Any, after: Any) -> list[tuple[str, str]]:
    from ._events import stream_events  # noqa: PLC0415

    return stream_events(before, after)


@st.composite
def _lives(draw: DrawFn, max_steps: int, broken: bool) -> list[Any]:
    path = _life_path(draw, max_steps)
    if not broken:
        return path
    from ._engine.copying import replace  # noqa: PLC0415
    from ._model import StepStatus  # noqa: PLC0415
    from ._steps import RunLife  # noqa: PLC0415

    last = path[-1]
    if last.run.status in TERMINAL_STATUSES and last.steps:
        # A step left open by the run's end: the rule every legal life keeps.
        i = draw(st.integers(0, len(last.steps) - 1), label="reopened")
        step = replace(
            last.steps[i],
            status=StepStatus.IN_PROGRESS,
            completed_at=None,
            cancelled_at=None,
            failed_at=None,
            last_error=None,
            usage=None,
        )
        steps = (*last.steps[:i], step, *last.steps[i + 1 :])
    else:
        # A step that ends before it was created, in a life that may hold no other.
        run = replace(last.run, status=RunStatus.IN_PROGRESS)
        step = _steps_module().open_message_step(
            run, id="step_bad", message_id="m", now=run.started_at or run.created_at
        )
        step = replace(step, status=StepStatus.COMPLETED, completed_at=step.created_at - 1)
        steps = (*last.steps, step)
    return [*path[:-1], RunLife(run=last.run, steps=steps, messages=last.messages)]


def _steps_module() -> Any:
    from . import _steps  # noqa: PLC0415

    return _steps


def lives(*, max_steps: int = 12, broken: bool = False) -> SearchStrategy[list[Any]]:
    """Generate whole lives of one run with its steps and messages.

    A life is a list of :class:`runstate.steps.RunLife` snapshots, one per operation of
    :func:`runstate.advance` from a freshly created run: steps that write messages
    (some with text, completed or cut short), ``tool_calls`` steps, tool-output rounds
    whose step stays open through ``requires_action``, cancels, failures, expiry and
    token limits, each ending the open steps and messages as
    :data:`runstate.steps.RUN_END_EFFECTS` says.

    Args:
        max_steps: The most operations one life takes.
        broken: Break the last snapshot: a step left ``in_progress`` once the run ended,
            or (in a life still running) a step that completes before it was created.

    Example:
        >>> from hypothesis import given
        >>> @given(lives())
        ... def test_steps_end_with_their_run(life):
        ...     if life[-1].run.status.is_terminal:
        ...         assert all(s.status.is_terminal for s in life[-1].steps)
        >>> test_steps_end_with_their_run()
    """
    if not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 1:
        raise InvalidArgument(f"max_steps={max_steps!r} must be an integer of at least 1")
    return _lives(max_steps, bool(broken))


@st.composite
def _stream_traces(draw: DrawFn, max_steps: int, broken: bool = False) -> list[tuple[str, str]]:
    path = _life_path(draw, max_steps)
    # One stream ends at requires_action or a terminal status; start it after the last
    # tool-output round when the drawn lifecycle has one, as a submit stream does.
    starts = [
        i
        for i, life in enumerate(path)
        if i == 0
        or (
            life.run.status is RunStatus.QUEUED
            and path[i - 1].run.status is RunStatus.REQUIRES_ACTION
        )
    ]
    begin = draw(st.sampled_from(starts), label="stream start")
    events: list[tuple[str, str]] = []
    before = None if begin == 0 else path[begin - 1]
    for life in path[begin:]:
        events.extend(e for e in _change(before, life) if e[0] != "done")
        before = life
        if (
            life.run.status is RunStatus.REQUIRES_ACTION
            and life is not path[-1]
            and draw(st.booleans(), label="stop at requires_action")
        ):
            break
    events.append(("done", "[DONE]"))
    if broken:
        events = _break(draw, events)
    return events


_STEP_ENDS: Final = tuple(s.value for s in StepStatus if s.is_terminal)


def _break(draw: DrawFn, events: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One mutation the checker must report (see :func:`traces`)."""
    ends = [i for i, (e, _) in enumerate(events) if e.rsplit(".", 1)[-1] in _STEP_ENDS
            and e.startswith("thread.run.step.")]  # fmt: skip
    messages = [i for i, (e, _) in enumerate(events) if e.startswith("thread.message.")]
    kinds = ["after-done"] + ["rename-step"] * bool(ends) + ["foreign-message"] * bool(messages)
    kind = draw(st.sampled_from(kinds), label="breakage")
    out = list(events)
    if kind == "rename-step":
        i = draw(st.sampled_from(ends), label="renamed")
        name = out[i][0].rsplit(".", 1)[-1]
        other = draw(st.sampled_from([e for e in _STEP_ENDS if e != name]))
        out[i] = (f"thread.run.step.{other}", out[i][1])
    elif kind == "foreign-message":
        i = draw(st.sampled_from(messages), label="foreign")
        data = json.loads(out[i][1])
        data["run_id"] = "run_someone_else"
        out[i] = (out[i][0], json.dumps(data))
    else:
        out.append(out[0])
    return out


def traces(
    *, mode: str = "poll", max_steps: int = 12, broken: bool = False
) -> SearchStrategy[list[Any]]:
    """Generate legal traces of one run, as a client would record them.

    Each trace follows a lifecycle produced by runstate's own operations from a freshly
    created run of any shape (tool-output rounds included, cancels that may lose the race,
    expiry once due), so :func:`runstate.check_trace` accepts it.

    ``mode="poll"``: a list of run payloads (JSON dicts), as polling or listing sees them:
    some intermediate statuses missed, some seen repeatedly, and sometimes a metadata edit
    after the end.
    ``mode="stream"``: a list of ``(event_name, data_text)`` pairs as
    :func:`runstate.parse_sse` yields them: a create stream (``thread.run.created``,
    ``thread.run.queued``, one event per status change) or a stream resumed after tool
    outputs, with the events of the run's steps and messages (:func:`lives`, through
    :func:`runstate.stream_events`), ending at ``requires_action`` or a terminal status
    with ``("done", "[DONE]")``.

    Args:
        mode: ``"poll"`` or ``"stream"``.
        max_steps: The most operations one lifecycle takes before the trace ends.
        broken: (stream mode) Break the trace once, in a way the checker reports: a
            step's end event renamed (``step-event-status-mismatch``), a message of
            another run (``foreign-message``), or an event after ``done``.

    Returns:
        A strategy for lists of trace items.

    Raises:
        hypothesis.errors.InvalidArgument: for an unknown mode or a ``max_steps`` below 1.

    Example:
        >>> from hypothesis import given
        >>> from runstate import check_trace
        >>> @given(traces(mode="stream"))
        ... def test_streams_are_accepted(trace):
        ...     assert check_trace(trace, mode="stream").ok
        >>> test_streams_are_accepted()
    """
    if mode not in ("poll", "stream"):
        raise InvalidArgument(f"mode={mode!r} must be 'poll' or 'stream'")
    if not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 1:
        raise InvalidArgument(f"max_steps={max_steps!r} must be an integer of at least 1")
    if mode == "poll":
        return _poll_traces(max_steps)
    return _stream_traces(max_steps, bool(broken))


# --------------------------------------------------------------------------------------
# Responses (runstate.responses): the sibling machine's strategies, re-exported here.
from .responses._strategies import response_lives, responses  # noqa: E402

__all__ += ["response_lives", "responses"]
