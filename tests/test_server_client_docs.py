"""docs/client.md ("Validating in a client"): its examples run, in order, against the
example server with its scripted worker, through the official openai SDK."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from docs_blocks import DOCS, ROOT, blocks
from server_helpers import Server, database, require_server_deps

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


def test_the_kit_setup_in_the_conformance_guide_runs(tmp_path: Path) -> None:
    """docs/checking.md's conftest.py and test module, written out as files and run by
    pytest in a subprocess: the fixture starts the example server, the kit drives it."""
    require_server_deps()
    files = [b for b in blocks(DOCS / "checking.md") if "server" in b.flags]
    assert [b.body.splitlines()[0] for b in files] == ["# conftest.py", "# test_conformance.py"]
    for block in files:
        (tmp_path / block.body.splitlines()[0][2:]).write_text(block.body, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    # The fixture names examples/server/serve.py from the repository's root.
    os.symlink(ROOT / "examples", tmp_path / "examples")
    env = {**os.environ, "HYPOTHESIS_PROFILE": "default"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W",
         "ignore::DeprecationWarning", "test_conformance.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"^1 passed", done.stdout, re.M), done.stdout[-500:]


def test_every_other_block_is_shown_not_run() -> None:
    assert {b.lang for b in blocks(PAGE)} <= {"python", "sh", "text"}
    assert Path(PAGE).exists()
