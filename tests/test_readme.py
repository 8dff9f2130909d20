"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_the_readme_has_the_examples() -> None:
    assert len(BLOCKS) >= 3


def test_server_example_runs() -> None:
    namespace: dict[str, object] = {}
    exec(BLOCKS[0], namespace)
    assert namespace["status"] == 400
    body = namespace["body"]
    assert isinstance(body, dict)
    assert body["error"]["message"] == "Cannot cancel run with status 'cancelled'."


@pytest.mark.parametrize("i", range(1, len(BLOCKS)))
def test_every_other_example_runs_on_its_own(i: int, capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {}
    exec(BLOCKS[i], namespace)
    if "problems" in namespace:
        assert namespace["problems"] == ()
    if "job" in namespace:
        assert capsys.readouterr().out == "webhook: cancelled at 13\n"
