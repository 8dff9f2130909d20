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

PACKAGE: Final = Path(__file__).resolve().parent.parent / "runstate"


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
        assert rs.check_trace(polled, mode="poll").ok
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


CHANGES: Final = {"a tenth status": TENTH_STATUS}


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
