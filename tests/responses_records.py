"""Loaders for the Responses API session records in ../shared/real-world-responses/dotnet.

Nothing here imports runstate, so the loaders cannot share the library's bugs. The folder
is looked up next to the repository, and, from a git worktree, next to the main checkout
(the parent of the git common dir); tests skip when it is absent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
_NAME = Path("..") / "shared" / "real-world-responses"


def _common_dir_parent(root: Path) -> Path | None:
    """The main checkout of a worktree: ``.git`` is a file naming ``gitdir``; its
    ``commondir`` names the common git dir, whose parent is the main checkout."""
    dot_git = root / ".git"
    if dot_git.is_dir():
        return root
    if not dot_git.is_file():
        return None
    text = dot_git.read_text().strip()
    if not text.startswith("gitdir:"):
        return None
    gitdir = (root / text.split(":", 1)[1].strip()).resolve()
    common = gitdir / "commondir"
    if common.is_file():
        gitdir = (gitdir / common.read_text().strip()).resolve()
    return gitdir.parent


def _find() -> Path:
    candidates = [(ROOT / _NAME).resolve()]
    main = _common_dir_parent(ROOT)
    if main is not None:
        candidates.append((main / _NAME).resolve())
    for path in candidates:
        if (path / "dotnet").is_dir():
            return path / "dotnet"
    return candidates[0] / "dotnet"


RECORDS = _find()
ABSENT = f"the Responses records are absent: {RECORDS} does not exist"


def require() -> Path:
    if not RECORDS.is_dir():
        pytest.skip(ABSENT)
    return RECORDS


@dataclass(frozen=True)
class Entry:
    file: str
    index: int
    method: str
    uri: str
    status: int
    request: Any
    body: Any

    @property
    def streamed(self) -> bool:
        return isinstance(self.body, list)

    @property
    def sse(self) -> str:
        return "".join(self.body)

    @property
    def id(self) -> str:
        return f"{self.file}#{self.index}"


def files() -> list[Path]:
    return sorted(RECORDS.glob("*.json")) if RECORDS.is_dir() else []


def entries() -> Iterator[Entry]:
    for path in files():
        data = json.loads(path.read_text(encoding="utf-8"))
        for i, e in enumerate(data["Entries"]):
            yield Entry(
                path.name,
                i,
                e["RequestMethod"],
                e["RequestUri"],
                e["StatusCode"],
                e["RequestBody"],
                e["ResponseBody"],
            )


def events(entry: Entry) -> list[tuple[str, str]]:
    """A streamed body as ``(event, data)`` pairs: minimal, separate from runstate's."""
    out: list[tuple[str, str]] = []
    name, data = "message", []
    for line in [*entry.sse.replace("\r\n", "\n").split("\n"), ""]:
        if not line:
            if data:
                out.append((name, "\n".join(data)))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    return out


@dataclass(frozen=True)
class RealResponse:
    """One response object in the records: a JSON body, or the ``response`` of an event."""

    where: str
    text: str

    @property
    def value(self) -> Any:
        return json.loads(self.text)


def responses() -> Iterator[RealResponse]:
    for entry in entries():
        if entry.streamed:
            for n, (_, data) in enumerate(events(entry)):
                event = json.loads(data)
                if isinstance(event.get("response"), dict):
                    # The exact text of the embedded object, cut from the event's text.
                    yield RealResponse(f"{entry.id}@{n}", _embedded(data))
        elif isinstance(entry.body, dict) and entry.body.get("object") == "response":
            yield RealResponse(entry.id, json.dumps(entry.body))


def _embedded(data: str) -> str:
    """The text of the event's ``response`` value, exactly as recorded."""
    decoder = json.JSONDecoder()
    start = data.index('"response":') + len('"response":')
    _, end = decoder.raw_decode(data, start)
    return data[start:end]


def params(items: list[Any], key: Any) -> list[Any]:
    return [pytest.param(x, id=key(x)) for x in items]
