"""The openai-responses recipe of docs/conformance.md runs as written, against the mock.

The recipe is the ``python openai-responses`` block of the page; this test runs that
block's text, so the page and what runs cannot drift apart. The mock (PyPI
``openai-responses`` 0.13.1) pins ``openai < 3``, while the project's test environment
has openai 3, so the test skips there. ``.ci/run`` runs it in an environment of its own
(``.venv-mock``: this repository, ``openai-responses==0.13.1``, pytest and hypothesis)
with ``RUNSTATE_TEST_REQUIRE_MOCK=1``, which turns that skip into a failure.

The survey is bounded (the block's own ``max_examples`` and fixed ``seed``). Besides the
block's ``raise_if_failed()``, this checks what the page says about the survey: every
divergence found is one the block accepts (``KNOWN``), every name accepted was seen, and
the worker played through the mock's state store reaches ``requires_action``.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import pytest
from docs_blocks import DOCS, Block, blocks

PAGE = DOCS / "conformance.md"
FLAG = "openai-responses"
REQUIRED = os.environ.get("RUNSTATE_TEST_REQUIRE_MOCK") == "1"


def recipe() -> Block:
    """The page's one ``python openai-responses`` block."""
    found = [b for b in blocks(PAGE) if b.lang == "python" and FLAG in b.flags]
    assert len(found) == 1, f"{PAGE.name}: expected one 'python {FLAG}' block, found {found}"
    return found[0]


def test_the_page_has_the_recipe() -> None:
    # Runs everywhere: the block exists, compiles, and is the test this file runs.
    block = recipe()
    compile(block.body, block.where, "exec")
    assert "\ndef test_the_mock(" in block.body
    assert "\nKNOWN = " in block.body


@pytest.fixture
def namespace() -> dict[str, Any]:
    """The recipe's module namespace, executed from the page's text."""
    if importlib.util.find_spec("openai_responses") is None:
        message = "openai-responses is not installed (.ci/run runs this in .venv-mock)"
        if REQUIRED:
            pytest.fail(f"RUNSTATE_TEST_REQUIRE_MOCK=1: {message}")
        pytest.skip(message)
    block = recipe()
    names: dict[str, Any] = {"__name__": "docs_openai_responses_recipe"}
    exec(compile(block.body, block.where, "exec"), names)
    return names


# The SDK deprecates the Assistants API: every call warns.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_adapter_answers_the_mocks_empty_404(namespace: dict[str, Any]) -> None:
    adapter = namespace["MockAdapter"]()
    try:
        thread_id = adapter.create_thread()
        status, body = adapter.retrieve_run(thread_id, "run_missing")
        assert (status, body) == (404, "")  # an empty body, passed on, not decoded
    finally:
        adapter.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_recipe_runs_as_written(namespace: dict[str, Any]) -> None:
    reports = []
    survey = namespace["run_conformance"]

    def recorded(*args: Any, **kwargs: Any) -> Any:
        reports.append(survey(*args, **kwargs))
        return reports[-1]

    namespace["run_conformance"] = recorded
    namespace["test_the_mock"]()  # raise_if_failed() inside: no unaccepted error
    (report,) = reports
    known = namespace["KNOWN"]
    assert not report.divergences, "found and not in KNOWN:\n" + report.summary()
    assert set(report.accepted) == set(known)
    never = sorted(name for name, count in report.accepted.items() if count == 0)
    assert not never, f"KNOWN names the survey never saw: {never}\n{report.summary()}"
    made, _ = report.reach.get(("submit_tool_outputs", "requires_action"), (0, 0))
    assert made > 0, "the drive never reached requires_action:\n" + report.reach_table()
