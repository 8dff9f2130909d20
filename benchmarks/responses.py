"""runstate.responses against openai-python's pydantic ``Response``, on the recorded objects.

Inputs: every response object in ``../shared/real-world-responses/dotnet`` (the JSON bodies
and the ``response`` of stream events, 140), as the bytes both sides parse. openai-python
3.63 requires ``usage.input_tokens_details.cache_write_tokens``, which the 2025-26 records
lack (102 of them), so ``"cache_write_tokens": 0`` is added there, in the bytes *both*
sides read. The timing is ``benchmarks/run.py``'s: paired samples, medians per input, the
ratio is the median of the per-pair ratios (runstate / anchor; lower is better).

    python benchmarks/responses.py            # the table (about a minute)
    python benchmarks/responses.py --smoke    # tiny counts: it must run, not be fast

Rows: parse (standard library JSON, and with the ``fast`` extra, orjson) against
``Response.model_validate_json``; dump against ``response.model_dump()``; cancel of every
queued or in-progress background response (the recorded ones, and each recorded response
put back to ``in_progress``) against ``response.model_copy(update=...)`` with the same
changes (status, output, usage).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (ROOT, HERE, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import responses_records as rec  # noqa: E402 - the tests' loader of the records
import run as base  # noqa: E402 - benchmarks/run.py: the timing and the table

from runstate import responses as rr  # noqa: E402
from runstate._engine import serde as _serde  # noqa: E402


def _objects(records: Path) -> list[bytes]:
    """Every response object in the records, patched for the SDK, as compact bytes."""
    rec.RECORDS = records
    found: list[bytes] = []
    for real in rec.responses():
        value = real.value
        details = (value.get("usage") or {}).get("input_tokens_details")
        if isinstance(details, dict):
            details.setdefault("cache_write_tokens", 0)
        found.append(json.dumps(value, separators=(",", ":")).encode())
    return found


def _rows_parse(lines: list[bytes], settings: base.Settings) -> list[base.Row]:
    from openai.types.responses import Response  # noqa: PLC0415

    validate = Response.model_validate_json
    rows = []
    fast = _serde.fast_loads
    for decoder, loads in (("json", None), ("fast", fast)):
        if decoder == "fast" and fast is None:
            continue
        _serde.fast_loads = loads
        try:

            def ours() -> None:
                for line in lines:
                    rr.parse_response(line)

            def theirs() -> None:
                for line in lines:
                    validate(line)

            a, b, samples = base.compare(ours, theirs, len(lines), settings)
        finally:
            _serde.fast_loads = fast
        rows.append(
            base.Row(
                f"parse [{decoder}] ({len(lines)})",
                a,
                b,
                "s",
                "<= 1.0",
                1.0,
                runstate_what=f"parse_response(bytes), {decoder} decoder",
                anchor_what="Response.model_validate_json(bytes)",
                samples=samples,
            )
        )
    return rows


def _both(lines: list[bytes]) -> tuple[list[rr.Response], list[Any]]:
    from openai.types.responses import Response  # noqa: PLC0415

    return [rr.parse_response(x) for x in lines], [Response.model_validate_json(x) for x in lines]


def _row_dump(lines: list[bytes], settings: base.Settings) -> base.Row:
    ours_values, their_values = _both(lines)

    def ours() -> None:
        for r in ours_values:
            rr.dump_response(r)

    def theirs() -> None:
        for r in their_values:
            r.model_dump()

    a, b, samples = base.compare(ours, theirs, len(lines), settings)
    return base.Row(
        f"dump ({len(lines)})", a, b, "s", "<= 1.0", 1.0,
        runstate_what="dump_response(r)", anchor_what="r.model_dump()", samples=samples,
    )  # fmt: skip


def _row_cancel(lines: list[bytes], settings: base.Settings) -> base.Row:
    from openai.types.responses import Response  # noqa: PLC0415

    ours_items: list[tuple[rr.Response, int]] = []
    their_items: list[Any] = []
    for line in lines:
        value = json.loads(line)
        # Every recorded response, as a background one still in progress (the recorded
        # queued ones as they are): what a cancel is accepted on.
        if value["status"] != "queued":
            value.update(status="in_progress", background=True, store=True, usage=None)
            value.update(incomplete_details=None, error=None)
            if "completed_at" in value:
                value["completed_at"] = None
        value["background"] = True
        ours_items.append((rr.parse_response(value), value["created_at"] + 1))
        their_items.append(Response.model_validate(value))
    update = {"status": "cancelled", "output": [], "usage": None}

    def ours() -> None:
        for r, now in ours_items:
            rr.cancel(r, now=now)

    def theirs() -> None:
        for r in their_items:
            r.model_copy(update=update)

    a, b, samples = base.compare(ours, theirs, len(ours_items), settings)
    return base.Row(
        f"cancel ({len(ours_items)})", a, b, "s", "<= 0.5", 0.5,
        runstate_what="cancel(r, now=...)",
        anchor_what='r.model_copy(update={"status": "cancelled", "output": [], "usage": None})',
        samples=samples,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny iteration counts")
    parser.add_argument(
        "--records", type=Path, default=rec.RECORDS, help="real-world-responses/dotnet"
    )
    args = parser.parse_args(argv)
    settings = base.SMOKE if args.smoke else base.FULL
    lines = _objects(args.records)
    if not lines:
        print(f"no records under {args.records}", file=sys.stderr)
        return 1
    if args.smoke:
        lines = lines[:5]
    print(f"inputs: {len(lines)} recorded response objects", file=sys.stderr)
    rows = [*_rows_parse(lines, settings), _row_dump(lines, settings)]
    rows.append(_row_cancel(lines, settings))
    print(base.table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
