"""The diagrams and the docs table: generated from the one table, every edge exactly once."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from runstate import EDGES, TERMINAL_STATUSES, TRANSITIONS, RunStatus
from runstate._diagram import dot, markdown, markdown_table, mermaid
from runstate._machine import machine_transitions
from runstate._table import INITIAL_STATUS, OPERATION_FOR_TARGET

ROOT = Path(__file__).resolve().parent.parent
STATUS = "|".join(s.value for s in RunStatus)

#: (source, target, label, dashed) for every edge of the table.
EXPECTED = Counter(
    (e.source.value, e.target.value, OPERATION_FOR_TARGET[e.target], e.confidence == "L")
    for e in EDGES
)


def test_the_edges_are_the_table() -> None:
    """EDGES and TRANSITIONS agree, so checking against EDGES checks the table."""
    assert {(e.source, e.target) for e in EDGES} == {
        (a, b) for a, targets in TRANSITIONS.items() for b in targets
    }
    assert len(EDGES) == len({(e.source, e.target) for e in EDGES})


def test_mermaid_has_every_edge_exactly_once_and_nothing_else() -> None:
    arrows = re.compile(r"^    (\w+) (-->|-\.->)(?:\|(\w+)\|)? (\w+)$")
    edges: Counter[tuple[str, str, str, bool]] = Counter()
    initial = []
    for line in mermaid().splitlines():
        match = arrows.match(line)
        if match is None:
            assert "-->" not in line and "-.->" not in line, line
            continue
        source, arrow, label, target = match.groups()
        if source == "initial":
            initial.append((target, label, arrow))
            continue
        edges[(source, target, label, arrow == "-.->")] += 1
    assert edges == EXPECTED
    assert initial == [(INITIAL_STATUS.value, None, "-->")]


def test_mermaid_styles_terminal_statuses() -> None:
    text = mermaid()
    (styled,) = re.findall(r"^    class (\S+) terminal$", text, flags=re.M)
    assert set(styled.split(",")) == {s.value for s in TERMINAL_STATUSES}
    for status in RunStatus:
        shape = f'(["{status.value}"])' if status in TERMINAL_STATUSES else f'["{status.value}"]'
        assert f"    {status.value}{shape}\n" in text


def test_dot_has_every_edge_exactly_once_and_nothing_else() -> None:
    arrows = re.compile(r'^    (\w+) -> (\w+)(?: \[label="(\w+)"(, style=dashed)?\])?;$')
    edges: Counter[tuple[str, str, str, bool]] = Counter()
    for line in dot().splitlines():
        match = arrows.match(line)
        if match is None:
            assert "->" not in line, line
            continue
        source, target, label, dashed = match.groups()
        if source == "initial":
            assert (target, label) == (INITIAL_STATUS.value, None)
            continue
        edges[(source, target, label, dashed is not None)] += 1
    assert edges == EXPECTED


def test_dot_styles_terminal_statuses() -> None:
    styled = set(re.findall(r"^    (\w+) \[style=\"rounded,filled,bold\"", dot(), flags=re.M))
    assert styled == {s.value for s in TERMINAL_STATUSES}


def test_markdown_table_has_every_edge_exactly_once_with_its_evidence() -> None:
    rows = markdown_table().splitlines()
    assert rows[:2] == [
        "| from | to | operation | confidence | why |",
        "| --- | --- | --- | --- | --- |",
    ]
    parsed = [
        re.fullmatch(r"\| `(\w+)` \| `(\w+)` \| `(\w+)` \| ([HML]) \| (.*) \|", r) for r in rows[2:]
    ]
    assert all(parsed), rows
    got = [m.groups() for m in parsed if m]
    assert got == [
        (e.source.value, e.target.value, OPERATION_FOR_TARGET[e.target], e.confidence, e.why)
        for e in EDGES
    ]


def test_output_is_deterministic() -> None:
    assert (mermaid(), dot(), markdown()) == (mermaid(), dot(), markdown())


def test_markdown_page_holds_the_diagram_and_the_table() -> None:
    page = markdown()
    assert f"```mermaid\n{mermaid()}```\n" in page
    assert markdown_table() in page


def test_readme_diagram_is_up_to_date() -> None:
    """The README shows the diagram (GitHub renders Mermaid): regenerate its block after
    changing the table with ``python -m runstate diagram``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```mermaid\n(.*?)```\n", readme, flags=re.S)
    assert blocks == [mermaid()]


def test_same_edges_as_the_transitions_graph_machine() -> None:
    """An independent renderer (transitions' GraphMachine, mermaid engine) draws the same
    edges from the same table."""
    diagrams = pytest.importorskip("transitions.extensions")
    machine = diagrams.GraphMachine(
        states=[s.value for s in RunStatus],
        transitions=machine_transitions(),
        initial=INITIAL_STATUS.value,
        auto_transitions=False,
        graph_engine="mermaid",
    )
    text = machine.get_graph().draw(None)
    theirs = Counter(
        (a, b, label)
        for a, b, label in re.findall(r"^\s*([a-z_]+) --> ([a-z_]+): (\w+)$", text, flags=re.M)
    )
    ours = Counter((s, t, label) for s, t, label, _ in EXPECTED.elements())
    assert theirs == ours
