"""Run steps and messages: values, the step table, the operations and advance()."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hostile import EqualsAnything
from realworld import parse_sse as plain_parse_sse

import runstate as rs
from runstate import StepStatus
from runstate._engine import serde
from runstate.models import Message, RunStep

SP, SC, SCD, SF, SX = (
    StepStatus.IN_PROGRESS,
    StepStatus.COMPLETED,
    StepStatus.CANCELLED,
    StepStatus.FAILED,
    StepStatus.EXPIRED,
)
OBJECT_EVENT = re.compile(
    r"thread\.(run\.step|message)\.(created|in_progress|completed|incomplete)"
)
CALL = {"id": "call_A", "type": "function", "function": {"name": "f", "arguments": "{}"}}


def recorded_objects(real_world: Path) -> list[tuple[str, str]]:
    out = []
    for path in sorted((real_world / "streamed").glob("*.sse")):
        for _, event, data in plain_parse_sse(path.read_text(encoding="utf-8")):
            if event is not None and OBJECT_EVENT.fullmatch(event):
                out.append((event, data))
    return out


def test_recorded_steps_and_messages_round_trip_byte_for_byte(real_world: Path) -> None:
    objects = recorded_objects(real_world)
    assert len([e for e, _ in objects if ".step." in e]) == 21  # spec-facts §11's counts
    assert len([e for e, _ in objects if ".message." in e]) == 15
    for event, data in objects:
        if ".step." in event:
            step = rs.parse_step(data)
            dumped = rs.dump_step(step)
            assert rs.steps.step_violations(step) == ()
            assert "expired_at" not in dumped and "expires_at" in dumped
        else:
            message = rs.steps.parse_message(data)
            dumped = rs.steps.dump_message(message)
            assert rs.steps.message_violations(message) == ()
        assert json.dumps(dumped, separators=(",", ":"), ensure_ascii=False) == data
        assert set(dumped) == set(json.loads(data))


def test_step_keys_are_the_recorded_ones(real_world: Path) -> None:
    keys = {
        "id", "object", "created_at", "run_id", "assistant_id", "thread_id", "type", "status",
        "cancelled_at", "completed_at", "expires_at", "failed_at", "last_error",
        "step_details", "usage",
    }  # fmt: skip
    for event, data in recorded_objects(real_world):
        if ".step." in event:
            assert set(json.loads(data)) == keys
            assert list(rs.dump_step(rs.parse_step(data))) == list(json.loads(data))


def test_every_tool_call_kind_and_unknown_keys_round_trip() -> None:
    step = {
        "id": "step_1", "object": "thread.run.step", "created_at": 1, "run_id": "r",
        "assistant_id": "a", "thread_id": "t", "type": "tool_calls", "status": "failed",
        "failed_at": 2, "last_error": {"code": "rate_limit_exceeded", "message": "slow"},
        "expired_at": None, "metadata": {},
        "step_details": {"type": "tool_calls", "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "f", "arguments": "{}", "output": "x"}},
            {"id": "c2", "type": "code_interpreter",
             "code_interpreter": {"input": "1+1", "outputs": [{"type": "logs", "logs": "2"}]}},
            {"id": "c3", "type": "file_search", "file_search": {"results": []}, "future": 1},
        ]},
    }  # fmt: skip
    value = rs.parse_step(step)
    assert rs.dump_step(value) == step
    assert value.extra == {"expired_at": None, "metadata": {}}
    kinds = [type(c).__name__ for c in value.step_details.tool_calls]  # type: ignore[union-attr]
    assert kinds == ["FunctionToolCall", "CodeInterpreterToolCall", "FileSearchToolCall"]
    assert rs.steps.step_violations(value) == ()
    assert rs.parse_step(json.dumps(step)) == value


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"status": "bogus"}, ["status"]),
        ({"step_details": {"type": "nope"}}, ["step_details.type"]),
        ({"last_error": {"code": "invalid_prompt", "message": "m"}}, ["last_error.code"]),
        ({"created_at": "1"}, ["created_at"]),
    ],
)
def test_malformed_steps_are_refused_by_path(change: dict[str, Any], fields: list[str]) -> None:
    step = {
        "id": "s", "object": "thread.run.step", "created_at": 1, "run_id": "r",
        "assistant_id": "a", "thread_id": "t", "type": "tool_calls", "status": "in_progress",
        "step_details": {"type": "tool_calls", "tool_calls": []},
    }  # fmt: skip
    with pytest.raises(rs.InvalidRun) as info:
        rs.parse_step({**step, **change})
    assert [e.field for e in info.value.errors] == fields


def test_message_reasons_and_statuses_are_checked() -> None:
    base = {"id": "m", "object": "thread.message", "created_at": 1, "thread_id": "t"}
    with pytest.raises(rs.InvalidRun):
        rs.steps.parse_message({**base, "status": "queued"})
    with pytest.raises(rs.InvalidRun):
        rs.steps.parse_message(
            {**base, "status": "incomplete", "incomplete_details": {"reason": "max_completion"}}
        )
    bad = rs.steps.parse_message(
        {**base, "status": "in_progress", "completed_at": 0, "incomplete_at": 2}
    )
    assert [(v.field, v.rule) for v in rs.steps.message_violations(bad)] == [
        ("completed_at", "message-completed-at"),
        ("incomplete_at", "message-incomplete"),
        ("completed_at", "message-timestamp-order"),
    ]


def test_step_violations() -> None:
    step = rs.parse_step(
        {
            "id": "s",
            "object": "thread.run.step",
            "created_at": 5,
            "run_id": "r",
            "assistant_id": "a",
            "thread_id": "t",
            "type": "message_creation",
            "status": "in_progress",
            "cancelled_at": 6,
            "failed_at": 1,
            "last_error": {"code": "server_error", "message": "m"},
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "step_details": {"type": "tool_calls", "tool_calls": []},
        }
    )
    assert [v.rule for v in rs.steps.step_violations(step)] == [
        "step-type-mismatch",
        "step-cancelled-at",
        "step-failed-at",
        "step-last-error",
        "step-usage",
    ]


# -- the table ---------------------------------------------------------------------------


def test_step_table() -> None:
    assert {s: set(t) for s, t in rs.steps.STEP_TRANSITIONS.items()} == {
        SP: {SC, SCD, SF, SX},
        SC: set(),
        SCD: set(),
        SF: set(),
        SX: set(),
    }
    confidence = {(e.source, e.target): e.confidence for e in rs.steps.STEP_EDGES}
    assert confidence == {(SP, SC): "H", (SP, SX): "M", (SP, SCD): "L", (SP, SF): "L"}
    assert [s.value for s in StepStatus] == [
        "in_progress", "cancelled", "failed", "completed", "expired"
    ]  # fmt: skip
    assert not SP.is_terminal and all(s.is_terminal for s in StepStatus if s is not SP)
    with pytest.raises(TypeError):
        rs.steps.STEP_TRANSITIONS[SP] = frozenset()  # type: ignore[index]


def test_run_end_effects_are_data_with_confidence() -> None:
    effects = {
        op: (e.step_status, e.message_status, e.message_reason, e.confidence)
        for op, e in rs.steps.RUN_END_EFFECTS.items()
    }
    assert effects == {
        "complete": (SC, "completed", None, "H"),
        "mark_incomplete": (SC, "incomplete", "max_tokens", "M"),
        "finish_cancel": (SCD, "incomplete", "run_cancelled", "L"),
        "fail": (SF, "incomplete", "run_failed", "L"),
        "expire": (SX, "incomplete", "run_expired", "L"),
    }
    for effect in rs.steps.RUN_END_EFFECTS.values():  # every end follows an edge of the table
        assert effect.step_status in rs.steps.STEP_TRANSITIONS[SP]


# -- operations --------------------------------------------------------------------------


def started(now: int = 11) -> rs.Run:
    run = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)
    return rs.start(run, now=now)


def test_opening_needs_an_in_progress_run() -> None:
    queued = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=10)
    for open_ in (
        lambda: rs.steps.open_message_step(queued, id="s", message_id="m", now=11),
        lambda: rs.steps.open_tool_calls_step(queued, id="s", now=11),
    ):
        with pytest.raises(rs.StepTransitionError) as info:
            open_()
        assert info.value.reason == "run-not-in-progress"
    with pytest.raises(rs.ClockWentBackwards):
        rs.steps.open_message_step(started(), id="s", message_id="m", now=10)
    with pytest.raises(rs.InvalidArgument):
        rs.steps.open_message_step(rs.dump_run(started()), id="s", message_id="m", now=12)  # type: ignore[arg-type]
    with pytest.raises(rs.InvalidArgument):
        rs.steps.open_message(rs.dump_run(started()), id="m", now=12)  # type: ignore[arg-type]
    with pytest.raises(rs.InvalidRun):
        rs.steps.open_tool_calls_step(started(), id="s", now=12, tool_calls=[CALL, CALL])
    with pytest.raises(rs.InvalidRun):
        rs.steps.open_tool_calls_step(started(), id="s", now=12, tool_calls="nope")  # type: ignore[arg-type]


def test_complete_and_attach() -> None:
    step = rs.steps.open_tool_calls_step(started(), id="s", now=12, tool_calls=[CALL])
    with pytest.raises(rs.StepTransitionError) as info:
        rs.steps.complete_step(step, now=13, require_outputs=True)
    assert info.value.reason == "tool-output-missing"
    with pytest.raises(rs.InvalidArgument):
        rs.steps.attach_tool_outputs(step, [{"tool_call_id": "call_B", "output": "1"}])
    answered = rs.steps.attach_tool_outputs(step, [{"tool_call_id": "call_A", "output": "1"}])
    with pytest.raises(rs.InvalidArgument):
        rs.steps.attach_tool_outputs(answered, [{"tool_call_id": "call_A", "output": "2"}])
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    done = rs.steps.complete_step(answered, now=13, usage=usage, require_outputs=True)
    assert done.usage is not None and done.usage.total_tokens == 3
    assert rs.steps.step_violations(done) == ()
    with pytest.raises(rs.StepTransitionError) as info:
        rs.steps.complete_step(done, now=14)
    assert info.value.reason == "step-terminal"
    with pytest.raises(rs.StepTransitionError):
        rs.steps.attach_tool_outputs(done, [])
    with pytest.raises(rs.ClockWentBackwards):
        rs.steps.complete_step(step, now=11)
    with pytest.raises(rs.InvalidArgument):
        rs.steps.complete_step(rs.dump_step(step), now=13)  # type: ignore[arg-type]
    message_step = rs.steps.open_message_step(started(), id="s2", message_id="m", now=12)
    with pytest.raises(rs.StepTransitionError) as info:
        rs.steps.attach_tool_outputs(message_step, [])
    assert info.value.reason == "wrong-step-type"
    assert rs.steps.complete_step(message_step, now=12, require_outputs=True).status is SC


def test_messages() -> None:
    message = rs.steps.open_message(started(), id="msg_1", now=12)
    assert rs.steps.message_violations(message) == ()
    done = rs.steps.complete_message(message, now=13)
    cut = rs.steps.mark_message_incomplete(message, now=13, reason="content_filter")
    assert (done.status, done.completed_at, cut.status, cut.incomplete_at) == (
        "completed", 13, "incomplete", 13
    )  # fmt: skip
    assert rs.steps.message_violations(done) == () == rs.steps.message_violations(cut)
    with pytest.raises(rs.StepTransitionError):
        rs.steps.complete_message(done, now=14)
    with pytest.raises(rs.InvalidArgument):
        rs.steps.complete_message(rs.steps.dump_message(message), now=14)  # type: ignore[arg-type]
    with pytest.raises(rs.InvalidRun):
        rs.steps.mark_message_incomplete(message, now=13, reason="max_completion_tokens")  # type: ignore[arg-type]
    assert (
        isinstance(message, Message)
        and rs.steps.parse_message(rs.steps.dump_message(message)) == message
    )


# -- advance -----------------------------------------------------------------------------


def life_to_requires_action() -> rs.steps.RunLife:
    life = rs.steps.RunLife(run=started())
    life = rs.advance(life.run, life.steps, "open_tool_calls_step", now=12, step_id="step_t")
    return rs.advance(life.run, life.steps, "require_action", now=13, tool_calls=[CALL])


def test_a_tool_round_with_steps() -> None:
    life = life_to_requires_action()
    (step,) = life.steps
    assert life.run.status is rs.RunStatus.REQUIRES_ACTION and step.status is SP
    assert [c.id for c in step.step_details.tool_calls] == ["call_A"]  # type: ignore[union-attr]
    outputs = [{"tool_call_id": "call_A", "output": "warm"}]
    life = rs.advance(life.run, life.steps, "submit_tool_outputs", now=14, tool_outputs=outputs)
    (step,) = life.steps
    assert life.run.status is rs.RunStatus.QUEUED
    assert step.status is SC and step.completed_at == 14
    assert step.step_details.tool_calls[0].function.output == "warm"  # type: ignore[union-attr]
    life = rs.advance(life.run, life.steps, "start", now=15)
    life = rs.advance(
        life.run, life.steps, "open_message_step", now=15, step_id="step_m", message_id="msg_1"
    )
    life = rs.advance(
        life.run, life.steps, "finish_message_step", now=16, messages=life.messages,
        step_id="step_m",
    )  # fmt: skip
    assert [m.status for m in life.messages] == ["completed"]
    life = rs.advance(life.run, life.steps, "complete", now=17, messages=life.messages)
    assert life.run.status is rs.RunStatus.COMPLETED
    assert all(s.status is SC for s in life.steps)


def test_require_action_opens_a_step_when_none_is_open() -> None:
    with pytest.raises(rs.InvalidArgument):
        rs.advance(started(), (), "require_action", now=12, tool_calls=[CALL])
    life = rs.advance(started(), (), "require_action", now=12, tool_calls=[CALL], step_id="s")
    assert [s.id for s in life.steps] == ["s"]
    with pytest.raises(rs.InvalidArgument):
        rs.advance(life.run, (), "submit_tool_outputs", now=13,
                   tool_outputs=[{"tool_call_id": "call_A", "output": "x"}])  # fmt: skip


@pytest.mark.parametrize(
    ("operation", "arguments", "step_status", "reason"),
    [
        ("complete", {}, SC, None),
        ("mark_incomplete", {"reason": "max_prompt_tokens"}, SC, "max_tokens"),
        ("fail", {"error": {"code": "invalid_prompt", "message": "no"}}, SF, "run_failed"),
        ("expire", {}, SX, "run_expired"),
    ],
)
def test_run_ends_end_open_steps(
    operation: str, arguments: dict[str, Any], step_status: StepStatus, reason: str | None
) -> None:
    life = rs.advance(started(), (), "open_message_step", now=12, step_id="s", message_id="m")
    life = rs.advance(
        life.run, life.steps, "open_tool_calls_step", now=13, messages=life.messages, step_id="t"
    )
    now = 700 if operation == "expire" else 14
    ended = rs.advance(
        life.run, life.steps, operation, now=now, messages=life.messages, **arguments
    )
    assert ended.run.status.is_terminal
    assert [s.status for s in ended.steps] == [step_status, step_status]
    (message,) = ended.messages
    assert message.status == ("completed" if reason is None else "incomplete")
    assert (message.incomplete_details and message.incomplete_details.reason) == reason
    for step in ended.steps:
        assert rs.steps.step_violations(step) == ()
        if step.status is SF:
            assert step.last_error is not None and step.last_error.code == "server_error"
        assert step.expires_at == life.run.expires_at
    assert rs.steps.message_violations(message) == ()


def test_a_cancel_ends_steps_when_it_takes_effect() -> None:
    life = rs.advance(started(), (), "open_message_step", now=12, step_id="s", message_id="m")
    life = rs.advance(life.run, life.steps, "cancel", now=13, messages=life.messages)
    assert life.steps[0].status is SP and life.messages[0].status == "in_progress"
    life = rs.advance(life.run, life.steps, "finish_cancel", now=14, messages=life.messages)
    assert life.steps[0].status is SCD and life.steps[0].cancelled_at == 14
    assert life.messages[0].incomplete_details.reason == "run_cancelled"  # type: ignore[union-attr]


def test_advance_refusals() -> None:
    run = started()
    life = rs.advance(run, (), "open_message_step", now=12, step_id="s", message_id="m")
    with pytest.raises(rs.InvalidArgument):
        rs.advance(run, (), "teleport", now=12)
    for operation, arguments, problem in (
        ("open_tool_calls_step", {}, "missing ['step_id']"),
        ("complete_tool_calls_step", {}, "missing ['step_id']"),
        ("open_message_step", {"step_id": "s"}, "missing ['message_id']"),
        ("start", {"usage": None}, "unknown ['usage']"),
        ("fail", {}, "missing ['error']"),
        ("complete", {"reason": "x"}, "unknown ['reason']"),
    ):
        with pytest.raises(
            rs.InvalidArgument, match=rf"^arguments: {operation} takes .*{re.escape(problem)}$"
        ):
            rs.advance(run, (), operation, now=12, **arguments)
    with pytest.raises(rs.InvalidArgument, match=r"^operation: "):
        rs.advance(run, (), ["start"], now=12)  # type: ignore[arg-type]
    with pytest.raises(rs.InvalidArgument):
        rs.advance(rs.dump_run(run), (), "start", now=12)  # type: ignore[arg-type]
    with pytest.raises(rs.InvalidArgument):
        rs.advance(run, "steps", "start", now=12)  # type: ignore[arg-type]
    with pytest.raises(rs.InvalidArgument):
        rs.advance(run, [rs.dump_step(life.steps[0])], "start", now=12)  # type: ignore[list-item]
    other = rs.new_run(id="run_2", thread_id="t", assistant_id="a", model="m", now=10)
    other = rs.start(other, now=11)
    with pytest.raises(rs.InvalidArgument):
        rs.advance(other, life.steps, "complete", now=13)
    with pytest.raises(rs.InvalidArgument):
        rs.advance(other, (), "complete", now=13, messages=life.messages)
    with pytest.raises(rs.InvalidArgument):
        rs.advance(run, life.steps, "complete", now=13, messages=[{}])  # type: ignore[list-item]
    with pytest.raises(rs.InvalidArgument):  # ids are unique within the run
        rs.advance(run, life.steps, "open_tool_calls_step", now=13, step_id="s")
    with pytest.raises(rs.InvalidArgument):
        rs.advance(run, life.steps, "finish_message_step", now=13, step_id="zzz")
    with pytest.raises(rs.ClockWentBackwards):  # before the open step was created
        rs.advance(life.run, life.steps, "complete", now=11, messages=life.messages)
    with pytest.raises(rs.StepTransitionError):
        rs.advance(run, life.steps, "complete_tool_calls_step", now=13, step_id="s")
    tool = rs.advance(run, (), "open_tool_calls_step", now=12, step_id="t")
    with pytest.raises(rs.StepTransitionError) as info:  # one open tool_calls step at most
        rs.advance(run, tool.steps, "open_tool_calls_step", now=13, step_id="t2")
    assert info.value.reason == "tool-step-open"
    with pytest.raises(rs.StepTransitionError):
        rs.advance(run, tool.steps, "finish_message_step", now=13, step_id="t")
    assert (
        rs.advance(run, tool.steps, "complete_tool_calls_step", now=13, step_id="t").steps[0].status
        is SC
    )
    ended = rs.advance(life.run, life.steps, "complete", now=13, messages=life.messages)
    assert isinstance(ended.steps[0], RunStep)
    with pytest.raises(rs.TransitionError):  # the run refuses first; nothing changes
        rs.advance(ended.run, ended.steps, "start", now=14, messages=ended.messages)
    edited = rs.advance(
        ended.run, ended.steps, "update_metadata", now=14, messages=ended.messages,
        metadata={"k": "v"},
    )  # fmt: skip
    assert edited.run.metadata == {"k": "v"} and edited.steps == ended.steps
    assert edited.run == rs.update_metadata(ended.run, metadata={"k": "v"})
    with pytest.raises(rs.RunNotModifiable):  # as update_metadata: only once terminal
        rs.advance(run, (), "update_metadata", now=14, metadata={"k": "v"})
    with pytest.raises(rs.InvalidArgument):
        rs.advance(ended.run, ended.steps, "update_metadata", now=1.5, metadata={})


def test_both_json_paths_parse_steps_alike(
    real_world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = recorded_objects(real_world)
    fast = [rs.parse_step(d) if ".step." in e else rs.steps.parse_message(d) for e, d in objects]
    monkeypatch.setattr(serde, "fast_loads", None)
    slow = [rs.parse_step(d) if ".step." in e else rs.steps.parse_message(d) for e, d in objects]
    assert fast == slow
    with pytest.raises(rs.InvalidRun):
        rs.parse_step('{"id": 1}')


HUGE = 10**5000  # repr() of it raises ValueError


def _opened() -> rs.steps.RunLife:
    return rs.advance(started(), (), "open_message_step", now=12, step_id="s", message_id="m")


@pytest.mark.parametrize(
    ("operation", "arguments", "wrong"),
    [
        ("open_message_step", {"step_id": HUGE, "message_id": "m"}, "step_id"),
        ("open_message_step", {"step_id": None, "message_id": "m"}, "step_id"),
        ("open_message_step", {"step_id": "s2", "message_id": ["m"]}, "message_id"),
        ("open_tool_calls_step", {"step_id": 5}, "step_id"),
        ("complete_tool_calls_step", {"step_id": HUGE}, "step_id"),
        ("finish_message_step", {"step_id": b"s"}, "step_id"),
        ("finish_message_step", {"step_id": "s", "text": 5}, "text"),
        (
            "finish_message_step",
            {"step_id": "s", "incomplete_reason": "bogus"},
            "incomplete_reason",
        ),
        ("finish_message_step", {"step_id": "s", "incomplete_reason": HUGE}, "incomplete_reason"),
        ("require_action", {"tool_calls": [CALL], "step_id": 7}, "step_id"),
    ],
    ids=lambda v: v if isinstance(v, str) else "-",
)
def test_advance_checks_its_own_arguments_types(
    operation: str, arguments: dict[str, Any], wrong: str
) -> None:
    """Each argument advance takes is checked against its documented type, by name."""
    life = _opened()
    with pytest.raises(rs.InvalidArgument) as info:
        rs.advance(life.run, life.steps, operation, now=13, messages=life.messages, **arguments)
    assert info.value.argument == wrong
    assert len(str(info.value)) < 300


def test_advance_takes_none_where_an_argument_is_optional() -> None:
    life = _opened()
    done = rs.advance(
        life.run, life.steps, "finish_message_step", now=13, messages=life.messages,
        step_id="s", text=None, incomplete_reason=None, usage=None,
    )  # fmt: skip
    assert done.messages[0].status == "completed"
    acting = rs.advance(started(), (), "require_action", now=12, tool_calls=[CALL], step_id="t")
    assert acting.run.status.value == "requires_action"


@pytest.mark.parametrize("operation", [HUGE, "x" * 10_000, object()], ids=["huge", "long", "obj"])
def test_advance_names_a_wrong_operation_briefly(operation: Any) -> None:
    with pytest.raises(rs.InvalidArgument) as info:
        rs.advance(started(), (), operation, now=12)
    assert info.value.argument == "operation"
    assert len(str(info.value)) < 400


@pytest.mark.parametrize(
    "now", [HUGE, "13", None, 13.0, True], ids=["huge", "str", "none", "float", "bool"]
)
def test_advance_checks_now_first_whatever_the_operation(now: Any) -> None:
    life = _opened()
    for operation, arguments in (("complete", {}), ("finish_message_step", {"step_id": "s"})):
        with pytest.raises(rs.InvalidArgument) as info:
            rs.advance(
                life.run, life.steps, operation, now=now, messages=life.messages, **arguments
            )
        assert info.value.argument == "now"


def test_advance_messages_echo_ids_briefly() -> None:
    life = _opened()
    long_id = "s" * 10_000
    with pytest.raises(rs.InvalidArgument) as info:
        rs.advance(life.run, life.steps, "finish_message_step", now=13, step_id=long_id)
    assert len(str(info.value)) < 300


def test_advance_reads_a_str_subclass_id_as_its_value() -> None:
    life = _opened()
    with pytest.raises(rs.InvalidArgument, match="no step 'zzz'"):
        rs.advance(
            life.run, life.steps, "finish_message_step", now=13, step_id=EqualsAnything("zzz")
        )
    done = rs.advance(
        life.run, life.steps, "finish_message_step", now=13, messages=life.messages,
        step_id=EqualsAnything("s"), text=EqualsAnything("hi"),
    )  # fmt: skip
    assert type(done.steps[0].id) is str
