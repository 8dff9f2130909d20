"""Loaders for the real recordings in ../shared/real-world and the seed's example.

Every real run object is a :class:`RealRun`: where it came from (file, line, event) and
its JSON text and value. Nothing here imports runstate, so the loaders cannot agree with
the library by sharing its bugs; the SSE parsing is deliberately minimal and separate from
``runstate``'s own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: The repository's root (the folder holding pyproject.toml).
ROOT = Path(__file__).resolve().parent.parent
#: ``../shared/real-world``, next to the repository.
REAL_WORLD = (Path(__file__).parent.parent / ".." / "shared" / "real-world").resolve()
#: The seed document whose last JSON block is the cancel endpoint's example response.
SEED = (REAL_WORLD.parent / "seed" / "cancel-run-endpoint.md").resolve()

REAL_WORLD_ABSENT = (
    f"the real-world recordings are absent: {REAL_WORLD} (../shared/real-world, next to "
    "the repository) does not exist"
)
SEED_ABSENT = f"the seed document is absent: {SEED} does not exist"

#: A run event: ``thread.run.<status>`` or ``thread.run.created``; not ``thread.run.step.*``.
_RUN_EVENT = re.compile(r"thread\.run\.[a-z_]+")


@dataclass(frozen=True)
class RealRun:
    """One run object from the recordings."""

    #: The file, relative to the real-world folder, e.g. ``polled/x.jsonl``.
    file: str
    #: 1-based line of the JSON line (polled) or of the event's first line (streamed).
    line: int
    #: The SSE event name, for streamed objects.
    event: str | None
    #: The exact JSON text as recorded.
    text: str

    @property
    def value(self) -> Any:
        """A fresh decoded copy of :attr:`text` (tests may mutate it)."""
        return json.loads(self.text)

    @property
    def id(self) -> str:
        """A short, unique test id: ``file:line``."""
        return f"{self.file}:{self.line}"


def parse_sse(text: str) -> Iterator[tuple[int, str | None, str]]:
    """Split a ``text/event-stream`` body into ``(first line, event name, data)``.

    Minimal on purpose: events are separated by blank lines, ``data:`` lines are joined
    with newlines, comment lines (starting with ``:``) and other fields are ignored.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start: int | None = None
    event: str | None = None
    data: list[str] = []
    for number, line in enumerate([*lines, ""], start=1):
        if line == "":
            if start is not None and (event is not None or data):
                yield start, event, "\n".join(data)
            start, event, data = None, None, []
            continue
        if start is None:
            start = number
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)


def polled_runs(root: Path = REAL_WORLD) -> Iterator[RealRun]:
    """Every non-blank line of ``polled/*.jsonl``."""
    for path in sorted((root / "polled").glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                yield RealRun(f"polled/{path.name}", number, None, line)


def streamed_runs(root: Path = REAL_WORLD) -> Iterator[RealRun]:
    """The ``data`` of every ``thread.run.*`` event (not ``thread.run.step.*``) of the streams."""
    for path in sorted((root / "streamed").glob("*.sse")):
        for number, event, data in parse_sse(path.read_text(encoding="utf-8")):
            if event is not None and _RUN_EVENT.fullmatch(event):
                yield RealRun(f"streamed/{path.name}", number, event, data)


def real_runs(root: Path = REAL_WORLD) -> list[RealRun]:
    """Every real run object: polled lines, then streamed run events."""
    return [*polled_runs(root), *streamed_runs(root)]


def real_run_params() -> list[Any]:
    """``pytest.param`` per real run object, or one skipped param when they are absent."""
    if not REAL_WORLD.is_dir():
        return [
            pytest.param(
                None, id="real-world-absent", marks=pytest.mark.skip(reason=REAL_WORLD_ABSENT)
            )
        ]
    return [pytest.param(run, id=run.id) for run in real_runs()]


def seed_example_text() -> str:
    """The JSON text of the last ```` ```json ```` block of the seed document."""
    blocks = re.findall(r"```json\n(.*?)```", SEED.read_text(encoding="utf-8"), flags=re.S)
    if not blocks:
        raise AssertionError(f"no ```json block in {SEED}")
    return str(blocks[-1])


def _json_type(value: Any) -> type:
    # Containers by kind (runstate keeps JSON in read-only dict and list subclasses),
    # scalars by exact type, so 1, 1.0 and true stay different.
    return dict if isinstance(value, dict) else list if isinstance(value, list) else type(value)


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON values: ``1``, ``1.0`` and ``true`` differ; key order does not matter."""
    if _json_type(a) is not _json_type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
