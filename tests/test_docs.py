"""The docs site: its generated parts agree with the code, and its examples run.

* The lifecycle page is drawn by ``docs/_ext/runstate_docs.py`` at build time; these tests
  check what that extension generates against the code: every edge of the table in the
  diagram and the transitions table, the per-status field table against what
  ``runstate.violations`` actually reports, and the refusal texts against the operations.
* Every fenced code block in ``docs/*.md`` runs: ``pycon`` blocks as one doctest per page,
  ``python`` blocks in order in one namespace per page, ``console`` blocks as commands
  whose output is compared. The client guide's blocks need the example server and run in
  ``tests/test_server_client_docs.py``, as do blocks marked ``python server``. Blocks
  that only show a file, a shell command that installs or starts something, or the output
  of something are listed by kind below (``SHOWN``).
* If the site has been built (``docs/_build/html``), the built pages are checked too:
  the diagram's SVG holds exactly the table's edges.
"""

from __future__ import annotations

import doctest
import html
import os
import re
import shlex
import subprocess
import sys
from collections import Counter
from pathlib import Path

import attrs
import pytest
from docs_blocks import DOCS, ROOT, Block, blocks, pages

import runstate as rs
from runstate import steps, toolkit
from runstate._diagram import dot, markdown_table, mermaid
from runstate._table import OPERATION_FOR_TARGET

sys.path.insert(0, str(DOCS / "_ext"))
import runstate_docs

BUILT = DOCS / "_build" / "html"

#: Pages whose Python blocks need a running example server (tests/test_server_client_docs.py).
NEEDS_SERVER = {"client.md"}
#: Pages owned elsewhere whose Python blocks are illustrations (names from your project).
ILLUSTRATIONS = {"conformance.md"}
#: Block kinds that are shown, not run: file contents, commands that install or start a
#: server, expected output, and the MyST directives that the build itself checks.
SHOWN = {"sh", "text", "toml", "json", "ini", "mermaid"}


# ---- the generated lifecycle page ----------------------------------------------------


def test_the_lifecycle_page_uses_every_generated_section_and_draws_nothing_by_hand() -> None:
    text = (DOCS / "lifecycle.md").read_text(encoding="utf-8")
    for name in runstate_docs.SECTIONS:
        if "respons" not in name:  # the Responses sections are on responses.md
            assert f"```{{{name}}}\n```" in text, name
    # No hand-written edge row or diagram edge: those come from the directives.
    assert not re.search(r"^\| `(queued|in_progress)` \| `", text, re.M)
    assert "-->" not in text and "->" not in text.replace("→", "")


def test_the_diagram_is_the_table() -> None:
    source = runstate_docs.diagram_dot()
    assert source == dot().replace("rankdir=LR;", "rankdir=TB;")
    arrows = Counter(re.findall(r"^    (\w+) -> (\w+) \[label=\"(\w+)\"", source, re.M))
    assert arrows == Counter(
        (e.source.value, e.target.value, OPERATION_FOR_TARGET[e.target]) for e in rs.EDGES
    )
    assert runstate_docs.page_sections()["runstate-diagram"].count(source) == 1


def test_the_transitions_table_is_the_table() -> None:
    section = runstate_docs.page_sections()["runstate-transitions"]
    assert section.startswith(markdown_table())
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| `(\w+)` \| ([HML]) \| (.*) \|$", section, re.M)
    assert rows == [
        (e.source.value, e.target.value, OPERATION_FOR_TARGET[e.target], e.confidence, e.why)
        for e in rs.EDGES
    ]


def _value_for(field: str) -> object:
    """A valid non-null value of ``field``, taken from a run that has one."""
    donors = {
        "required_action": rs.RunStatus.REQUIRES_ACTION,
        "last_error": rs.RunStatus.FAILED,
        "incomplete_details": rs.RunStatus.INCOMPLETE,
        "usage": rs.RunStatus.COMPLETED,
    }
    if field in donors:
        return getattr(runstate_docs.run_in(donors[field]), field)
    return runstate_docs.T0 + 1 if field != "expires_at" else runstate_docs.T0 + 600


def _presence_rules(run: rs.Run, field: str) -> set[tuple[str, str]]:
    return {
        (v.rule, v.severity)
        for v in rs.violations(run)
        if v.field == field and v.rule != "timestamp-order"
    }


@pytest.mark.parametrize("status", list(rs.RunStatus), ids=lambda s: s.value)
def test_the_field_table_says_what_violations_checks(status: rs.RunStatus) -> None:
    """Each cell is checked against runstate.violations itself: 'set' means nulling the
    field is reported, 'null' means setting it is reported, 'either' means neither is."""
    section = runstate_docs.page_sections()["runstate-presence"]
    row = re.search(rf"^\| `{status.value}` \| (.*) \| (.*) \| (.*) \|$", section, re.M)
    assert row is not None
    run = runstate_docs.run_in(status)
    assert run.status is status and rs.violations(run) == ()
    for kind, cell in zip(("set", "null", "either"), row.groups(), strict=True):
        for field, star in re.findall(r"`(\w+)`(\\\*)?", cell):
            severity = "warning" if star else "error"
            nulled = _presence_rules(attrs.evolve(run, **{field: None}), field)
            filled = _presence_rules(attrs.evolve(run, **{field: _value_for(field)}), field)
            if kind == "set":
                assert getattr(run, field) is not None, field
                assert {s for _, s in nulled} == {severity} and not filled, field
            elif kind == "null":
                assert getattr(run, field) is None, field
                assert {s for _, s in filled} == {severity} and not nulled, field
            else:
                assert not nulled and not filled, field


def test_the_refusals_are_what_the_operations_raise() -> None:
    section = runstate_docs.page_sections()["runstate-refusals"]
    seen = list(runstate_docs.refusals())
    assert {type(err) for _, _, err in seen} >= {
        rs.CancelNotAllowed, rs.ToolOutputsRejected, rs.RunNotModifiable, rs.ThreadBusy,
        rs.NotFound,
    }  # fmt: skip
    for request, status, err in seen:
        template = err.message.replace(f"'{status}'", "'<status>'").replace(
            f'"{status}"', '"<status>"'
        )
        assert f"| {request} |" in section
        assert f"| `{err.reason}` | `{template.replace('|', chr(92) + '|')}` |" in section
    # every status is named where the cancel guard refuses, and only there
    refused = {s for s in rs.RunStatus if not rs.check_cancel(runstate_docs.run_in(s)).allowed}
    cancel_rows = re.findall(r"^\| cancel \| (.*?) \|", section, re.M)
    assert {s for row in cancel_rows for s in re.findall(r"`(\w+)`", row)} == {
        s.value for s in refused
    }


def test_the_steps_tables_are_the_code() -> None:
    section = runstate_docs.page_sections()["runstate-steps"]
    edges = re.findall(r"^\| `(\w+)` \| `(\w+)` \| ([HML]) \| (.*) \|$", section, re.M)
    assert edges == [
        (e.source.value, e.target.value, e.confidence, e.why) for e in steps.STEP_EDGES
    ]
    effects = re.findall(r"^\| `(\w+)` \| `(\w+)` \| `(\w+)`(?: \(`(\w+)`\))? \|", section, re.M)
    assert effects == [
        (e.operation, e.step_status.value, e.message_status, e.message_reason or "")
        for e in steps.RUN_END_EFFECTS.values()
    ]


def test_the_reference_names_every_public_name() -> None:
    text = (DOCS / "reference.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\.\. (?:auto\w+|py:data)::\s+([\w.]+)", text, re.M))
    modules = {"runstate.models", "runstate.strategies", "runstate.testing"}
    assert modules <= documented
    top_level = {n for n in rs.__all__ if n not in {"models", "steps", "toolkit", "__version__"}}
    assert {n for n in top_level if f"runstate.{n}" not in documented} == set()
    for module in (toolkit, steps):
        missing = {
            n for n in module.__all__
            if f"{module.__name__}.{n}" not in documented and f"runstate.{n}" not in documented
        }  # fmt: skip
        assert missing == set(), module.__name__


def test_the_readme_shows_the_generated_diagram() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.findall(r"```mermaid\n(.*?)```\n", readme, flags=re.S) == [mermaid()]
    assert "(docs/index.md)" in readme and "(docs/lifecycle.md)" in readme


# ---- every example runs -------------------------------------------------------------


def _page_blocks() -> list[tuple[str, list[Block]]]:
    return [(p.name, blocks(p)) for p in pages()]


def test_every_block_is_of_a_known_kind() -> None:
    known = {"pycon", "python", "console", *SHOWN}
    for _, found in _page_blocks():
        for block in found:
            if block.lang.startswith("{"):  # a MyST directive: the build checks it
                continue
            assert block.lang in known, f"{block.where}: unknown block kind {block.lang!r}"


def _with(lang: str, exclude: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    return [p.name for p in pages() if p.name not in exclude and any(
        b.lang == lang for b in blocks(p))]  # fmt: skip


@pytest.mark.parametrize("page", _with("pycon"))
def test_pycon_blocks_run(page: str) -> None:
    found = [b for b in blocks(DOCS / page) if b.lang == "pycon"]
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    globs: dict[str, object] = {}
    for block in found:
        test = parser.get_doctest(block.body, globs, block.where, str(block.path), block.line)
        runner.run(test, clear_globs=False)
        globs = test.globs
    result = runner.summarize(verbose=False)
    assert result.failed == 0


@pytest.mark.parametrize("page", _with("python", NEEDS_SERVER | ILLUSTRATIONS))
def test_python_blocks_run(page: str, capsys: pytest.CaptureFixture[str]) -> None:
    found = [b for b in blocks(DOCS / page) if b.lang == "python" and "server" not in b.flags]
    namespace: dict[str, object] = {"__name__": f"docs_{page[:-3]}"}
    for block in found:
        exec(compile(block.body, block.where, "exec"), namespace)


def _console_blocks() -> list[Block]:
    return [b for p in pages() for b in blocks(p) if b.lang == "console"]


@pytest.mark.parametrize("block", _console_blocks(), ids=lambda b: b.where)
def test_console_blocks_run(block: Block) -> None:
    """``$ runstate ...`` commands run from the repository's root; their output (up to the
    next prompt) must match, with ``...`` matching anything."""
    chunks = re.split(r"^\$ ", block.body, flags=re.M)[1:]
    assert chunks, f"{block.where}: no '$ ' command"
    for chunk in chunks:
        command, _, expected = chunk.partition("\n")
        argv = shlex.split(command)
        assert argv[0] == "runstate", f"{block.where}: only runstate commands run here"
        want_status = 0
        status_note = re.search(r"# exit status (\d)", command)
        if status_note:
            want_status = int(status_note.group(1))
            argv = shlex.split(command[: status_note.start()])
        done = subprocess.run(
            [sys.executable, "-m", "runstate", *argv[1:]],
            check=False, cwd=ROOT, capture_output=True, text=True, timeout=60,
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "100"},
        )  # fmt: skip
        assert done.returncode == want_status, (block.where, done.stdout, done.stderr)
        checker = doctest.OutputChecker()
        assert checker.check_output(expected, done.stdout, doctest.ELLIPSIS), (
            f"{block.where}: {command}\n--- expected\n{expected}--- got\n{done.stdout}"
        )


# ---- the built site, when it has been built ---------------------------------------------


def _built(page: str) -> Path:
    path = BUILT / page
    if not path.exists():
        pytest.skip(f"the docs are not built ({path} is missing): sphinx-build docs {BUILT}")
    return path


def built_diagram(page_name: str) -> tuple[Counter[tuple[str, ...]], list[str], set[str]]:
    """The edges (source, target, labels), initial targets and nodes of a built page's SVG."""
    page = _built(page_name).read_text(encoding="utf-8")
    (svg_name,) = re.findall(r'<object data="(_images/graphviz-[0-9a-f]+\.svg)"', page)
    svg = html.unescape((BUILT / svg_name).read_text(encoding="utf-8"))
    edges: Counter[tuple[str, ...]] = Counter()
    initial = []
    for group in re.findall(r'<g id="edge\d+" class="edge">(.*?)</g>', svg, re.S):
        (source, target) = re.findall(r"<title>(\w+)->(\w+)</title>", group)[0]
        labels = re.findall(r"<text[^>]*>(\w+)</text>", group)
        if source == "initial":
            assert labels == []
            initial.append(target)
            continue
        edges[(source, target, *labels)] += 1
    nodes = set(re.findall(r'<g id="node\d+" class="node">\s*<title>(\w+)</title>', svg))
    return edges, initial, nodes


def test_the_built_diagram_has_exactly_the_tables_edges() -> None:
    edges, initial, nodes = built_diagram("lifecycle.html")
    assert initial == ["queued"]
    assert edges == Counter(
        (e.source.value, e.target.value, OPERATION_FOR_TARGET[e.target]) for e in rs.EDGES
    )
    assert nodes == {s.value for s in rs.RunStatus} | {"initial"}


def test_the_built_tables_are_the_generated_ones() -> None:
    page = html.unescape(re.sub(r"<[^>]+>", "", _built("lifecycle.html").read_text("utf-8")))
    for edge in rs.EDGES:
        assert edge.why in page, edge
    for _, status, err in runstate_docs.refusals():
        if status in {"-", "requires_action"}:
            assert err.message in page or "<status>" in page, err
