"""The lifecycle diagram and table, generated from the one transition table.

Nothing here is written by hand: every node, edge, label and style comes from
:data:`runstate.EDGES` (with :data:`runstate.TRANSITIONS` behind it), the operation
names from ``OPERATION_FOR_TARGET`` and the terminal set from
:data:`runstate.TERMINAL_STATUSES`, like h11's ``make-state-diagrams.py``. The output is
deterministic (table order), so a committed copy (the README's diagram) can be checked
against it.

Conventions in every format: an edge is labelled with the operation that takes it;
a low-confidence edge (``L``: inferred or weak evidence) is dashed; terminal statuses
are drawn bold and shaded; an arrow from a start point marks the initial status.
"""

from __future__ import annotations

from typing import Final

from ._engine.diagram import CONFIDENCE, GENERATED, TERMINAL_FILL, Lifecycle, dashed, draw_dot
from ._status import TERMINAL_STATUSES, RunStatus
from ._table import EDGES, INITIAL_STATUS, OPERATION_FOR_TARGET

__all__ = ["CONFIDENCE", "RUN", "Lifecycle", "dot", "markdown", "markdown_table", "mermaid"]

#: The run lifecycle, as the diagrams draw it.
RUN: Final = Lifecycle(
    "run_lifecycle",
    tuple(RunStatus),
    TERMINAL_STATUSES,
    (INITIAL_STATUS,),
    EDGES,
    lambda edge: OPERATION_FOR_TARGET[edge.target],
)


def _terminals() -> list[RunStatus]:
    return [s for s in RunStatus if s in TERMINAL_STATUSES]


def mermaid() -> str:
    """The lifecycle as a Mermaid flowchart, one edge per table row.

    Example:
        >>> text = mermaid()
        >>> print(text.splitlines()[0])
        flowchart LR
        >>> "    queued -->|start| in_progress" in text.splitlines()
        True
        >>> "    cancelling -.->|complete| completed" in text.splitlines()
        True
    """
    lines = ["flowchart LR", f"    %% {GENERATED}", '    initial((" "))']
    for status in RunStatus:
        shape = '(["{0}"])' if status in TERMINAL_STATUSES else '["{0}"]'
        lines.append(f"    {status.value}{shape.format(status.value)}")
    lines.append(f"    initial --> {INITIAL_STATUS.value}")
    for edge in EDGES:
        arrow = "-.->" if dashed(edge) else "-->"
        label = OPERATION_FOR_TARGET[edge.target]
        lines.append(f"    {edge.source.value} {arrow}|{label}| {edge.target.value}")
    lines.append(f"    classDef terminal fill:{TERMINAL_FILL},stroke:#333,stroke-width:2px")
    lines.append(f"    class {','.join(s.value for s in _terminals())} terminal")
    return "\n".join(lines) + "\n"


def dot(lifecycle: Lifecycle = RUN) -> str:
    """The lifecycle as a Graphviz DOT digraph, one edge per table row.

    The run's by default; pass another machine's :class:`Lifecycle` to draw it
    (:func:`runstate._engine.diagram.draw_dot`).

    Example:
        >>> print(dot().splitlines()[0])
        digraph run_lifecycle {
    """
    return draw_dot(lifecycle)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table() -> str:
    """The transition table as a Markdown table: one row per edge, with its evidence.

    Example:
        >>> print(markdown_table().splitlines()[2][:40])
        | `queued` | `in_progress` | `start` | H
    """
    lines = [
        "| from | to | operation | confidence | why |",
        "| --- | --- | --- | --- | --- |",
    ]
    for edge in EDGES:
        op = OPERATION_FOR_TARGET[edge.target]
        lines.append(
            f"| `{edge.source.value}` | `{edge.target.value}` | `{op}` "
            f"| {edge.confidence} | {_cell(edge.why)} |"
        )
    return "\n".join(lines) + "\n"


def markdown() -> str:
    """A whole Markdown page: the diagram in a ``mermaid`` block, then the table.

    A standalone page (``python -m runstate diagram --format markdown``); the docs site's
    lifecycle page builds its own, richer one from the same table.

    Example:
        >>> page = markdown()
        >>> page.startswith("# The run lifecycle")
        True
        >>> mermaid() in page and page.count("```") == 2
        True
    """
    terminals = ", ".join(f"`{s.value}`" for s in _terminals())
    legend = "\n".join(f"- **{level}**: {text}." for level, text in CONFIDENCE.items())
    return (
        "# The run lifecycle\n"
        "\n"
        f"<!-- {GENERATED} Regenerate with:\n"
        "     python -m runstate diagram --format markdown > lifecycle.md -->\n"
        "\n"
        "Every status a run can be in, and every move between them.\n"
        "Each edge is labelled with the runstate operation that takes it;\n"
        "dashed edges have low-confidence evidence;\n"
        f"terminal statuses ({terminals}) are shaded and have no exits.\n"
        "Anything not drawn here is illegal.\n"
        "\n"
        "```mermaid\n"
        f"{mermaid()}"
        "```\n"
        "\n"
        "## Transitions\n"
        "\n"
        f"{markdown_table()}"
        "\n"
        "Confidence levels:\n"
        "\n"
        f"{legend}\n"
    )
