"""The Responses page is generated from the code; the guide agrees with both machines."""

from __future__ import annotations

import sys
from pathlib import Path

import runstate as rs
from runstate import responses as rr

DOCS = Path(__file__).resolve().parent.parent / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
import runstate_docs  # noqa: E402


def test_the_page_uses_every_generated_section() -> None:
    text = (DOCS / "responses.md").read_text(encoding="utf-8")
    for name in runstate_docs.SECTIONS:
        if "respons" in name:
            assert f"```{{{name}}}\n```" in text, name
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    assert "\nresponses\n" in index


def test_the_tables_are_the_code() -> None:
    sections = runstate_docs.page_sections()
    rows = sections["runstate-responses-transitions"].splitlines()[2 : 2 + len(rr.TABLE)]
    for row, edge in zip(rows, rr.TABLE, strict=True):
        assert row.startswith(
            f"| `{edge.source.value}` | `{edge.target.value}` | `{edge.operation}`"
        )
    diagram = sections["runstate-responses-diagram"]
    for edge in rr.TABLE:
        assert f'{edge.source.value} -> {edge.target.value} [label="{edge.operation}"' in diagram
    refusals = sections["runstate-responses-refusals"]
    assert "Cannot cancel an incomplete response.` (inferred" in refusals


def test_the_guide_maps_every_run_status() -> None:
    assert [m.run for m in rr.FROM_RUNS] == list(rs.RunStatus)
    mapped = {m.response for m in rr.FROM_RUNS} - {None}
    assert mapped == set(rr.ResponseStatus)
    guide = runstate_docs.page_sections()["runstate-runs-to-responses"]
    assert guide.count("\n| `") == len(rs.RunStatus)


def test_each_mapped_status_is_announced_by_its_event() -> None:
    # response_event (the guide's column) is what stream_events sends for that status.
    for status in rr.ResponseStatus:
        r = runstate_docs.response_in(status)
        if status is rr.ResponseStatus.QUEUED:
            events = rr.stream_events(None, r, sequence_start=0)
        else:
            before = runstate_docs.response_in(
                rr.ResponseStatus.QUEUED
                if status is rr.ResponseStatus.IN_PROGRESS
                else rr.ResponseStatus.IN_PROGRESS
            )
            events = rr.stream_events(before, r, sequence_start=0)
        assert events[-1]["type"] == rr.response_event(status)
        assert events[-1]["response"]["status"] == status.value


def test_the_built_diagram_is_the_table() -> None:
    from collections import Counter  # noqa: PLC0415

    from test_docs import built_diagram  # noqa: PLC0415 - skips when the docs are not built

    edges, initial, nodes = built_diagram("responses.html")
    assert initial == ["queued", "in_progress"]
    assert edges == Counter((e.source.value, e.target.value, e.operation) for e in rr.TABLE)
    assert nodes == {s.value for s in rr.ResponseStatus} | {"initial"}
