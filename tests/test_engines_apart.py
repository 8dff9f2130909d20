"""The kit's engine and the trace engine know no run: a second machine can reuse them.

``runstate/testing/_engine.py`` (the search-and-report loop) and
``runstate/_engine/trace.py`` (problems, reports, the collection loop) import no module
that declares the Run machine; each machine's rules come in as data (a rule table, a
checker). The judges behind ``TraceChecker`` and the kit's parts stay small.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import runstate as rs
from runstate.testing import _engine as kit_engine

PACKAGE = Path(rs.__file__).parent
#: The modules that declare the Run machine (statuses, table, model, rules, operations...).
RUN_DECLARATIONS = frozenset(
    {"_status", "_table", "_model", "_ops", "_steps", "_events", "_invariants", "_serde",
     "_requests", "_machine", "_trace", "_judges", "testing", "models", "steps"}
)  # fmt: skip


def _imported(path: Path) -> set[str]:
    """The runstate modules ``path`` imports, as their last dotted part."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            module = node.module or ""
            names.update(module.split(".")[-1:] if module else (a.name for a in node.names))
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[-1] for a in node.names if a.name.startswith("runstate"))
    return names


@pytest.mark.parametrize("module", ["testing/_engine.py", "_engine/trace.py"])
def test_the_engines_import_no_run_declaration(module: str) -> None:
    assert _imported(PACKAGE / module) & RUN_DECLARATIONS == set()


def test_the_check_catches_an_import_of_a_declaration(tmp_path: Path) -> None:
    fake = tmp_path / "fake.py"
    fake.write_text("from .._status import RunStatus\nfrom . import _engine\n", encoding="utf-8")
    assert _imported(fake) & RUN_DECLARATIONS == {"_status"}


def test_the_kit_engine_searches_any_machine() -> None:
    """A machine with its own one-rule table: the engine names its divergence."""
    from hypothesis import settings  # noqa: PLC0415
    from hypothesis.stateful import rule  # noqa: PLC0415

    table = kit_engine.rule_table(("never-two", "H", "a made-up machine", "two calls"))

    class Options:
        def __init__(self, tolerated: frozenset[str]) -> None:
            self.tolerated = tolerated
            self.tally = kit_engine.Tally()

    class Counter(kit_engine.Machine):
        rule_table = table

        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        @rule()
        def call(self) -> None:
            self._log("call()")
            self.calls += 1
            if self.calls == 2:
                self._diverge("never-two", "the second call", "expected one call, got two")

    survey = kit_engine.search(
        Counter,
        Options,
        name="CounterSurvey",
        module=__name__,
        doc="A made-up machine.",
        settings=settings(max_examples=30, database=None, deadline=None),
        seed=1,
        tolerated=(),
        max_divergences=None,
    )
    [found] = survey.found
    assert found.rule is table["never-two"]
    assert found.steps == ("state.call()", "state.call()")
    assert survey.rounds == 2 and found.count > 0
