"""docs/client.md ("Validating in a client"): its examples run, in order, against the
example server with its scripted worker, through the official openai SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from docs_blocks import DOCS, blocks
from server_helpers import Server, database

PAGE = DOCS / "client.md"
#: The address the page's examples use; the test points them at the server it started.
PAGE_URL = "http://127.0.0.1:8000/v1"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Assistants is


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = database("sqlite", tmp_path_factory.mktemp("client-docs"))
    with Server(db, "--auto", "--auto-delay", "0.05", "--poll-after-ms", "50") as s:
        yield s


def test_the_page_shows_what_the_issue_asks() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for needle in ("rs.check_cancel(", "rs.TraceChecker(", "rs.parse_sse(", "rs.check_trace(",
                   "rs.TERMINAL_STATUSES", "TimeoutError", ".reason"):  # fmt: skip
        assert needle in text, needle


def test_the_examples_run_against_the_example_server(server: Server) -> None:
    found = [b for b in blocks(PAGE) if b.lang == "python"]
    assert len(found) >= 6
    assert PAGE_URL in found[0].body
    namespace: dict[str, object] = {"__name__": "docs_client"}
    for block in found:
        source = block.body.replace(PAGE_URL, server.base)
        exec(compile(source, block.where, "exec"), namespace)
    # The page ran to its end: the stream was checked and the cancelled run waited for.
    assert namespace["names"][-1] == "done"  # type: ignore[index]


def test_every_other_block_is_shown_not_run() -> None:
    assert {b.lang for b in blocks(PAGE)} <= {"python", "sh", "text"}
    assert Path(PAGE).exists()
