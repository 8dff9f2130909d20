"""docs/server.md ("Building a server"): its examples run as written."""

from __future__ import annotations

import doctest
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "server.md"


def test_the_page_walks_through_every_kind_of_request() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in (
        "parse_create_run",
        "parse_create_thread_and_run",
        "parse_submit_tool_outputs",
        "parse_modify_run",
        "list_page",
        "not_found",
        "stream_events",
        "encode_sse",
    ):
        assert f"rs.{name}(" in text, name


def test_the_examples_run() -> None:
    # Code fences become blank lines, so a fence never reads as expected output.
    lines = DOC.read_text(encoding="utf-8").splitlines()
    text = "\n".join("" if line.startswith("```") else line for line in lines)
    test = doctest.DocTestParser().get_doctest(text, {}, "server.md", str(DOC), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 20
    assert result.failed == 0
