"""How the official SDK adds deltas up, for tests that read streams as it does.

``merge`` is openai-python's ``accumulate_delta`` (``lib/streaming/_deltas.py``), the
arithmetic of its ``AssistantEventHandler`` snapshots, restated without importing it
(the SDK is an optional dependency): text is appended, objects merged key by key,
``index`` and ``type`` replaced, arrays of ``index``ed entries merged entry by entry.
``test_deltas`` checks it against the SDK's when the SDK is installed.
"""

from __future__ import annotations

from typing import Any


def merge(acc: Any, delta: Any) -> Any:
    """``delta`` added to ``acc`` (neither is changed)."""
    if isinstance(acc, str) and isinstance(delta, str):
        return acc + delta
    if isinstance(acc, dict) and isinstance(delta, dict):
        out = dict(acc)
        for key, value in delta.items():
            if out.get(key) is None or key in ("index", "type"):
                out[key] = merge([], value) if _indexed(value) else value
            else:
                out[key] = merge(out[key], value)
        return out
    if isinstance(acc, list) and isinstance(delta, list):
        if not _indexed(delta):
            return acc + delta
        entries = list(acc)
        for entry in delta:
            i = next((k for k, e in enumerate(entries) if e.get("index") == entry["index"]), None)
            if i is None:
                entries.append(entry)
            else:
                entries[i] = merge(entries[i], entry)
        return entries
    return delta


def _indexed(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(e, dict) and "index" in e for e in value)


def indexed(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An object's array (calls, content parts) as the SDK's snapshot merges into it."""
    return [dict(item, index=i) for i, item in enumerate(items)]


def unindexed(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merged entries back as the object's array (without their ``index``)."""
    return [{k: v for k, v in e.items() if k != "index"} for e in entries]
