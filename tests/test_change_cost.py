"""What a change costs: each one made for real in a copy of the package, its files counted.

docs/design.md, "How to change it", promises how many package files each kind of change
touches. Each case below makes that change in a temporary copy of ``runstate/`` (exact
text edits, each anchored on text that must be there once), counts the files it touched,
and runs a program against the copy that uses the new thing end to end. A refactoring
that spreads a fact over more files fails the count; one that moves an anchor fails the
edit, loudly, naming it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Final, NamedTuple

import pytest

import runstate as rs
from runstate import _readers

PACKAGE: Final = Path(__file__).resolve().parent.parent / "runstate"

#: Each case copies the package and starts an interpreter on it (about 10 s of CPU in all):
#: the README's quick test command leaves them out, CI runs them.
pytestmark = pytest.mark.slow


class Edit(NamedTuple):
    """Insert ``text`` into ``path`` (relative to the package) after or before ``anchor``."""

    path: str
    anchor: str
    text: str
    before: bool = False


class Change(NamedTuple):
    #: The promise in docs/design.md: at most this many package files.
    budget: int
    edits: tuple[Edit, ...]
    #: A program run against the changed copy; it exits non-zero when the change fails.
    check: str


# A tenth status: ``paused``, entered from ``in_progress`` by the service (``pause``), left
# by ``start``, ``cancel`` or ``expire``. It has no presence fact of its own (a field
# required only when paused), so the per-status field table is not touched.
TENTH_STATUS: Final = Change(
    budget=4,
    edits=(
        Edit(
            "_status.py",
            '    EXPIRED = "expired"\n',
            '    #: Paused by the service.\n    PAUSED = "paused"\n',
        ),
        Edit(
            "_table.py",
            '    Edge(CG, X, "L", "expires_at passed before the cancel took effect"),\n',
            '    Edge(P, RunStatus.PAUSED, "L", "the service pauses the run"),\n'
            '    Edge(RunStatus.PAUSED, P, "L", "the service resumes it"),\n'
            '    Edge(RunStatus.PAUSED, CG, "L", "cancel while paused"),\n'
            '    Edge(RunStatus.PAUSED, X, "L", "expires_at passes while paused"),\n',
        ),
        Edit("_operations.py", '    EXPIRE = "expire"\n', '    PAUSE = "pause"\n'),
        Edit(
            "_operations.py",
            '    _row(Op.UPDATE_METADATA, _RUN, None, _CLIENT, may_take=("metadata",)),\n',
            "    _row(Op.PAUSE, _RUN, R.PAUSED, _SERVICE),\n",
            before=True,
        ),
        Edit("_ops.py", "__all__ = [\n", '    "pause",\n'),
        Edit(
            "_ops.py",
            "def require_action(\n",
            textwrap.dedent(
                '''\
                def pause(run: Run, *, now: int) -> Run:
                    """``in_progress -> paused``: the service pauses the run."""
                    _guard(run, RunStatus.PAUSED)
                    _check_now(run, now)
                    return replace(run, status=RunStatus.PAUSED)


                '''
            ),
            before=True,
        ),
    ),
    check="""
        import runstate as rs
        from runstate import RunStatus, Op

        paused = RunStatus("paused")
        assert not paused.is_terminal and paused in rs.ACTIVE_STATUSES
        assert rs.can_transition(RunStatus.IN_PROGRESS, paused)
        assert rs.OPERATIONS[Op("pause")].target is paused
        run0 = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
        run1 = rs.start(run0, now=2)
        run2 = rs.pause(run1, now=3)
        assert run2.status is paused and not rs.violations(run2), rs.violations(run2)
        run3 = rs.start(run2, now=4)
        run4 = rs.complete(run3, now=5)
        polled = [rs.dump_run(r) for r in (run0, run1, run2, run3, run4)]
        verdict = rs.check_trace(polled, mode="poll")
        assert verdict.ok, verdict
        try:
            rs.pause(run4, now=6)
        except rs.TransitionError:
            pass
        else:
            raise AssertionError("a completed run was paused")
        life = rs.advance(run1, (), "pause", now=3)
        assert life.run == run2
        events = rs.stream_events(run1, run2)
        assert [name for name, _ in events] == ["thread.run.paused"], events
        stream = [(n, d) for r0, r1 in [(None, run0), (run0, run1), (run1, run2), (run2, run3),
                                         (run3, run4)] for n, d in rs.stream_events(r0, r1)]
        assert rs.check_trace(stream, mode="stream").ok
        from runstate._diagram import dot, mermaid
        from runstate._machine import machine_transitions
        assert {"trigger": "pause", "source": "in_progress", "dest": "paused"}.items() <= next(
            t for t in machine_transitions() if t["trigger"] == "pause").items()
        assert "paused" in dot() and "paused" in mermaid()
        assert rs.parse_run(rs.dump_run(run2)) == run2
        assert "pause" in rs.__all__
    """,
)


# An echoed create-run parameter: ``penalty``, a number from -2 to 2 that create run takes
# and the run carries back (as it does ``temperature``), 0 when the request leaves it out.
# The run's field and wire key, its row, its echo entry, and its key in the request.
ECHOED_PARAMETER: Final = Change(
    budget=3,
    edits=(
        Edit(
            "_model.py",
            "    response_format: ResponseFormat | None = None\n    #: Unknown keys",
            "    penalty: float | None = None\n",
            before=True,
        ),
        Edit(
            "_model.py",
            '        "parallel_tool_calls": (opt(BOOL), False),\n    },\n}\n',
            '        "penalty": (opt(NUMBER), False),\n',
            before=True,
        ),
        Edit(
            "_fields.py",
            "#: Every rule, in the order ``violations`` reports them",
            textwrap.dedent(
                """\
                PENALTY: Final = FieldRule(
                    on=("Run",), keys=("penalty",), kind="number", minimum=-2, maximum=2,
                    rule="penalty-range", evidence="a fake parameter (tests/test_change_cost.py)",
                )  # fmt: skip

                """
            ),
            before=True,
        ),
        Edit("_fields.py", "    METADATA,\n    TEMPERATURE,\n", "    PENALTY,\n"),
        Edit("_fields.py", '    "response_format": "auto",\n', '    "penalty": 0,\n'),
        Edit(
            "_requests.py",
            '    "response_format",\n)\n#: The body keys of ``POST /threads/runs``',
            '    "penalty",\n',
            before=True,
        ),
        Edit(
            "_requests.py",
            "    reasoning_effort: str | None = None\n    additional_instructions",
            "    penalty: float | None = None\n",
            before=True,
        ),
    ),
    check="""
        import json
        import runstate as rs
        from hypothesis import find, settings

        req = rs.parse_create_run({"assistant_id": "asst_1", "penalty": -1.5})
        assert req.penalty == -1.5
        run = req.new_run(id="run_1", thread_id="thread_1", now=10, assistant_model="m")
        assert run.penalty == -1.5 and not rs.violations(run), rs.violations(run)
        assert rs.dump_run(run)["penalty"] == -1.5
        assert rs.parse_run(rs.dump_run(run)) == run
        plain = rs.parse_create_run({"assistant_id": "asst_1"})
        assert plain.new_run(id="run_2", thread_id="t", now=10, assistant_model="m").penalty == 0
        try:
            rs.parse_create_run({"assistant_id": "asst_1", "penalty": 3})
        except rs.InvalidRequest as exc:
            assert (exc.param, exc.code) == ("penalty", "decimal_above_max_value"), exc
        else:
            raise AssertionError("penalty 3 was accepted")
        try:
            rs.parse_create_run({"assistant_id": "asst_1", "penalty": "high"})
        except rs.InvalidRequest as exc:
            assert exc.param == "penalty", exc
        else:
            raise AssertionError("penalty 'high' was accepted")
        direct = rs.new_run(id="run_3", thread_id="t", assistant_id="a", model="m", now=1,
                            penalty=1)
        assert direct.penalty == 1
        try:
            rs.new_run(id="run_3", thread_id="t", assistant_id="a", model="m", now=1, penalty=9)
        except rs.InvalidRun as exc:
            assert "penalty" in str(exc), exc
        else:
            raise AssertionError("new_run took penalty 9")
        bad = rs.parse_run({**rs.dump_run(run), "penalty": 2.5})
        assert [(v.field, v.rule) for v in rs.violations(bad)] == [("penalty", "penalty-range")]
        lives = [run, rs.start(run, now=11)]
        lives.append(rs.complete(lives[-1], now=12))
        assert all(r.penalty == -1.5 for r in lives)
        assert rs.check_trace([rs.dump_run(r) for r in lives], mode="poll").ok
        stream = [e for a, b in zip([None, *lives], lives) for e in rs.stream_events(a, b)]
        assert rs.check_trace(stream, mode="stream").ok
        assert json.loads(stream[0][1])["penalty"] == -1.5
        from runstate.strategies import runs
        drawn = find(runs(), lambda r: r.penalty is not None and r.penalty < -1,
                     settings=settings(database=None, max_examples=2000))
        assert -2 <= drawn.penalty < -1 and not rs.violations(drawn)
    """,
)


# A third step type: ``reasoning``, whose details hold a JSON ``reasoning`` object; the
# service opens one (``open_reasoning_step``) and completes it (``complete_reasoning_step``)
# while the run is in progress. Its Literal value, constant, details class and wire rows;
# its two operations' rows; their functions in advance's dispatch; its public class.
STEP_TYPE: Final = Change(
    budget=4,
    edits=(
        Edit(
            "_model.py",
            'StepType: TypeAlias = Literal["message_creation", "tool_calls"]\n',
            'StepType: TypeAlias = Literal["message_creation", "tool_calls", "reasoning"]\n'
            'REASONING: Final = "reasoning"\n',
        ),
        Edit(
            "_model.py",
            "class StepFunction:\n",
            textwrap.dedent(
                """\
                class ReasoningDetails:
                    \"\"\"``step_details`` of a ``reasoning`` step.\"\"\"

                    reasoning: Mapping[str, Any] = attrs.field(converter=_freeze_extra)
                    type: Literal["reasoning"] = "reasoning"
                    extra: Mapping[str, Any] = _extra()
                    absent: frozenset[str] = _absent()


                @attrs.frozen(kw_only=True, unsafe_hash=False, field_transformer=_add_checks)
                """
            ),
            before=True,
        ),
        Edit("_model.py", '), None, "step_details")', ", ReasoningDetails", before=True),
        Edit(
            "_model.py",
            "        StepLastError: {\n",
            "        ReasoningDetails: {\n"
            '            "type": (tag(ReasoningDetails, "step_details type"), True),\n'
            '            "reasoning": (JsonObject(), True),\n'
            "        },\n",
            before=True,
        ),
        Edit("_model.py", '    "RankingOptions",\n', '    "ReasoningDetails",\n'),
        Edit(
            "_operations.py",
            '    COMPLETE_TOOL_CALLS_STEP = "complete_tool_calls_step"\n',
            '    OPEN_REASONING_STEP = "open_reasoning_step"\n'
            '    COMPLETE_REASONING_STEP = "complete_reasoning_step"\n',
        ),
        Edit(
            "_operations.py",
            ")  # fmt: skip\n\n\ndef _validate(",
            '    _row(Op.OPEN_REASONING_STEP, _STEP, None, _SERVICE, takes=("step_id",),\n'
            '         may_take=("reasoning",)),\n'
            '    _row(Op.COMPLETE_REASONING_STEP, _STEP, None, _SERVICE, takes=("step_id",),\n'
            "         may_take=_USAGE),\n",
            before=True,
        ),
        Edit(
            "_steps.py",
            "def _unique(life: RunLife, id: str, what: str) -> None:\n",
            textwrap.dedent(
                """\
                def _open_reasoning_step(
                    life: RunLife, now: int, *, step_id: str, reasoning: Any = None
                ) -> RunLife:
                    from ._model import ReasoningDetails  # a real change imports it on top

                    details = ReasoningDetails(reasoning={} if reasoning is None else reasoning)
                    step = _new_step(Op.OPEN_REASONING_STEP.value, life.run, step_id, now, details)
                    _unique(life, step_id, "step")
                    return attrs.evolve(life, steps=(*life.steps, step))


                def _complete_reasoning_step(
                    life: RunLife, now: int, *, step_id: str, usage: Any = None
                ) -> RunLife:
                    i = _index(life.steps, step_id, "step")
                    from ._model import REASONING

                    if life.steps[i].type != REASONING:
                        raise StepTransitionError(
                            Op.COMPLETE_REASONING_STEP.value,
                            "wrong-step-type",
                            f"step {quote_id(life.steps[i].id)} is not a reasoning step",
                        )
                    step = complete_step(life.steps[i], now=now, usage=usage)
                    return attrs.evolve(life, steps=_with(life.steps, i, step))


                """
            ),
            before=True,
        ),
        Edit(
            "_steps.py",
            "        Op.COMPLETE_TOOL_CALLS_STEP: _complete_tool_calls_step,\n",
            "        Op.OPEN_REASONING_STEP: _open_reasoning_step,\n"
            "        Op.COMPLETE_REASONING_STEP: _complete_reasoning_step,\n",
        ),
        Edit("models.py", "    RankingOptions,\n", "    ReasoningDetails,\n"),
        Edit("models.py", '    "RankingOptions",\n', '    "ReasoningDetails",\n'),
    ),
    check="""
        import runstate as rs
        from runstate import Op, steps
        from runstate.models import ReasoningDetails

        queued = rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1)
        run = rs.start(queued, now=2)
        lives = [rs.advance(run, (), "open_reasoning_step", now=3, step_id="step_1",
                            reasoning={"summary": "think"})]
        opened = lives[0].steps[0]
        assert opened.type == "reasoning" and type(opened.step_details) is ReasoningDetails
        assert opened.step_details.reasoning == {"summary": "think"}
        assert steps.parse_step(steps.dump_step(opened)) == opened
        def step(life, operation, **arguments):
            return rs.advance(life.run, life.steps, operation, messages=life.messages,
                              **arguments)

        lives.append(step(lives[-1], "complete_reasoning_step", now=4, step_id="step_1"))
        assert lives[-1].steps[0].status.value == "completed"
        lives.append(step(lives[-1], "complete", now=5))
        assert not rs.violations(lives[-1].run)
        assert rs.OPERATIONS[Op("open_reasoning_step")].acts_on == "step"
        try:
            step(lives[0], "finish_message_step", now=4, step_id="step_1")
        except steps.StepTransitionError:
            pass
        else:
            raise AssertionError("a reasoning step was finished as a message step")
        chain = [steps.RunLife(run=queued), steps.RunLife(run=run), *lives]
        stream = [e for a, b in zip([None, *chain], chain) for e in rs.stream_events(a, b)]
        names = [n for n, _ in stream]
        assert "thread.run.step.created" in names and "thread.run.step.completed" in names
        verdict = rs.check_trace(stream, mode="stream")
        assert verdict.ok, verdict
        polled = [rs.dump_run(life.run) for life in chain]  # poll mode judges runs
        verdict = rs.check_trace(polled, mode="poll")
        assert verdict.ok, verdict
    """,
)


def _apply(change: Change, root: Path) -> set[str]:
    package = root / "runstate"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    touched: set[str] = set()
    for edit in change.edits:
        path = package / edit.path
        source = path.read_text(encoding="utf-8")
        count = source.count(edit.anchor)
        assert count == 1, f"{edit.path}: the anchor {edit.anchor!r} is there {count} times"
        at = source.index(edit.anchor) + (0 if edit.before else len(edit.anchor))
        path.write_text(source[:at] + edit.text + source[at:], encoding="utf-8")
        touched.add(edit.path)
    return touched


def _run(check: str, root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(check)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


CHANGES: Final = {
    "a tenth status": TENTH_STATUS,
    "an echoed create-run parameter": ECHOED_PARAMETER,
    "a new step type": STEP_TYPE,
}


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_a_change_touches_at_most_its_budget_of_files(name: str, tmp_path: Path) -> None:
    change = CHANGES[name]
    touched = _apply(change, tmp_path)
    assert len(touched) <= change.budget, (name, sorted(touched))
    done = _run(change.check, tmp_path)
    assert done.returncode == 0, f"{name}: the changed copy does not work\n{done.stderr}"


def test_the_checks_fail_on_the_unchanged_package(tmp_path: Path) -> None:
    # Each check uses what its change adds: against an unchanged copy it must fail.
    shutil.copytree(PACKAGE, tmp_path / "runstate", ignore=shutil.ignore_patterns("__pycache__"))
    for name, change in CHANGES.items():
        assert _run(change.check, tmp_path).returncode != 0, name


def test_new_run_refuses_a_keyword_that_is_no_echoed_parameter() -> None:
    with pytest.raises(rs.InvalidArgument, match="new_run keyword: expected one of"):
        rs.new_run(id="run_1", thread_id="t", assistant_id="a", model="m", now=1, temprature=1)


def test_an_echo_without_a_run_row_or_a_reader_is_refused_at_import() -> None:
    with pytest.raises(ValueError, match="'nope' needs a Run row or a reader"):
        _readers._echo_reader("nope")
