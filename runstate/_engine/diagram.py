"""The diagram engine: a lifecycle drawn as Graphviz DOT, from its table.

Generic: nothing here knows about runs. A machine describes its lifecycle as a
:class:`Lifecycle` (statuses, terminal and initial ones, evidence-carrying edges, the
operation that takes each edge); :func:`draw_dot` draws it. Conventions: an edge is
labelled with the operation that takes it; a low-confidence edge (``L``) is dashed;
terminal statuses are drawn bold and shaded; an arrow from a start point marks each
initial status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, NamedTuple

__all__ = ["CONFIDENCE", "GENERATED", "TERMINAL_FILL", "Lifecycle", "dashed", "draw_dot"]

#: What each confidence level means (spec-facts §7).
CONFIDENCE: Final = {
    "H": "high: the spec or docs and real recordings agree",
    "M": "medium: one strong source, or consistent client practice",
    "L": "low: inferred, or weak evidence",
}

GENERATED: Final = "Generated from runstate's transition table; do not edit by hand."
TERMINAL_FILL: Final = "#e8e8e8"


class Lifecycle(NamedTuple):
    """What a diagram is drawn from: one machine's statuses and edges.

    The run's is :data:`runstate._diagram.RUN`; ``runstate.responses`` has its own.
    Each edge has ``source``, ``target`` (statuses with a ``value``) and ``confidence``.
    """

    name: str
    statuses: tuple[Any, ...]
    terminal: frozenset[Any]
    initial: tuple[Any, ...]
    edges: tuple[Any, ...]
    #: The operation that takes an edge (its label).
    operation: Callable[[Any], str]


def dashed(edge: Any) -> bool:
    """Whether an edge is drawn dashed: its evidence is low (``L``)."""
    return bool(edge.confidence == "L")


def draw_dot(lifecycle: Lifecycle) -> str:
    """The lifecycle as a Graphviz DOT digraph, one edge per table row.

    Example:
        >>> from runstate._diagram import RUN
        >>> text = draw_dot(RUN)
        >>> print(text.splitlines()[0])
        digraph run_lifecycle {
        >>> '    queued -> in_progress [label="start"];' in text.splitlines()
        True
        >>> '    queued -> failed [label="fail", style=dashed];' in text.splitlines()
        True
    """
    lines = [
        f"digraph {lifecycle.name} {{",
        f"    // {GENERATED}",
        "    rankdir=LR;",
        '    node [shape=box, style=rounded, fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
        '    initial [shape=point, label=""];',
    ]
    for status in lifecycle.statuses:
        if status in lifecycle.terminal:
            lines.append(
                f'    {status.value} [style="rounded,filled,bold", fillcolor="{TERMINAL_FILL}"];'
            )
        else:
            lines.append(f"    {status.value};")
    for status in lifecycle.initial:
        lines.append(f"    initial -> {status.value};")
    for edge in lifecycle.edges:
        attrs = f'label="{lifecycle.operation(edge)}"'
        if dashed(edge):
            attrs += ", style=dashed"
        lines.append(f"    {edge.source.value} -> {edge.target.value} [{attrs}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
