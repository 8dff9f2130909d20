"""Fenced code blocks of the Markdown docs, and how each kind is run by the tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                    re.M | re.S)  # fmt: skip


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    body: str
    #: Words after the language in the fence's info string (``server``: needs the example
    #: server, and runs in tests/test_server_client_docs.py).
    flags: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """Every top-level fenced block of a Markdown file, in order."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        lang, *flags = match["info"].split() or [""]
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(path, line, lang, match["body"], tuple(flags)))
    return found


def pages() -> list[Path]:
    """The Markdown pages of the docs site."""
    return sorted(p for p in DOCS.glob("*.md"))
