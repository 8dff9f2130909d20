"""Every record under ../shared/real-world-responses/dotnet, judged by runstate.responses."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import responses_records as rec
from realworld import json_equal

from runstate import encode_sse, parse_sse
from runstate.responses import (
    Response,
    ResponseStatus,
    cancel,
    check_trace,
    dump_response,
    not_found,
    parse_response,
    replay,
    violations,
)

REAL = list(rec.responses())


@pytest.fixture(autouse=True)
def _records() -> None:
    rec.require()


def _dumps(value: Any, compact: bool) -> str:
    if compact:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(value)


def test_the_records_hold_what_the_tests_expect() -> None:
    assert len(rec.files()) == 90
    assert len(REAL) == 140
    statuses = Counter(r.value["status"] for r in REAL)
    assert set(statuses) == {s.value for s in ResponseStatus} - {"failed"}


@pytest.mark.parametrize("real", rec.params(REAL, lambda r: r.where))
def test_every_response_round_trips(real: rec.RealResponse) -> None:
    value = real.value
    response = parse_response(real.text)
    assert response == parse_response(value) == parse_response(real.text.encode())
    dumped = dump_response(response)
    assert json_equal(dumped, value)
    assert parse_response(json.dumps(dumped)) == response
    assert violations(response) == ()
    compact = "@" in real.where  # embedded in a stream event: compact, raw UTF-8
    # Byte for byte, key order included (the background stream's events list keys in
    # another order: kept in key_order). Where the server spells a float differently
    # (-3e-6 for Python's -3e-06), against the record's value written the same way.
    assert _dumps(dumped, compact) == _dumps(value, compact)
    if _dumps(value, compact) == real.text:
        assert _dumps(dumped, compact) == real.text


def test_the_background_streams_keep_their_key_order() -> None:
    reordered = [r for r in REAL if next(iter(r.value)) != "id"]
    assert len(reordered) == 8
    assert all(r.where.startswith("CanStreamBackgroundResponses") for r in reordered)
    for real in reordered:
        response = parse_response(real.text)
        assert response.key_order == tuple(real.value)
        assert _dumps(dump_response(response), True) == real.text
        # Equality is the value's: the same response in the schema's order is equal.
        assert parse_response(json.dumps(dump_response(response), sort_keys=True)) == response
    canonical = [parse_response(r.text) for r in REAL if r not in reordered]
    assert all(r.key_order is None for r in canonical)
    exact = sum(
        _dumps(dump_response(parse_response(r.text)), "@" in r.where) == r.text for r in REAL
    )
    assert exact == 138  # all but two, whose floats the server spells as -3e-6


def _by_file(name: str) -> list[rec.Entry]:
    return [e for e in rec.entries() if e.file == name]


@pytest.mark.parametrize(
    "name", ["CanCancelBackgroundResponses.json", "CanCancelBackgroundResponsesAsync.json"]
)
def test_the_recorded_cancel_is_reproduced(name: str) -> None:
    create, cancelled = _by_file(name)[:2]
    assert create.request["background"] is True
    assert cancelled.uri.endswith("/cancel")
    queued = parse_response(create.body)
    assert queued.status is ResponseStatus.QUEUED
    ours = cancel(queued, now=queued.created_at)
    assert dump_response(ours) == cancelled.body
    assert _dumps(dump_response(ours), False) == json.dumps(cancelled.body)


def test_the_recorded_404_bodies_are_not_found() -> None:
    bodies = [e for e in rec.entries() if e.status == 404 and "/responses/" in e.uri]
    assert {e.file for e in bodies} >= {"CanDeleteResponse.json", "CanOptOutOfStorage.json"}
    for entry in bodies:
        response_id = entry.uri.rsplit("/", 1)[1].split("?")[0]
        err = not_found(response_id)
        assert err.to_api_error() == entry.body
        assert err.http_status == 404


def _polled(entries: list[rec.Entry]) -> dict[str, list[Any]]:
    """Per response id, the JSON bodies that carried it, in request order."""
    seen: dict[str, list[Any]] = {}
    for e in entries:
        if not e.streamed and isinstance(e.body, dict) and e.body.get("object") == "response":
            seen.setdefault(e.body["id"], []).append(e.body)
    return seen


FILES = [p.name for p in rec.files()]


@pytest.mark.parametrize("name", FILES)
def test_every_polled_sequence_passes(name: str) -> None:
    for rid, bodies in _polled(_by_file(name)).items():
        report = check_trace(bodies, mode="poll")
        assert report.ok, (rid, [str(p) for p in report.problems])
        assert not report.warnings


STREAMED = [e for e in rec.entries() if e.streamed]


@pytest.mark.parametrize("entry", rec.params(STREAMED, lambda e: e.id))
def test_every_stream_passes(entry: rec.Entry) -> None:
    pairs = list(parse_sse(entry.sse))
    assert pairs == rec.events(entry)
    report = check_trace(pairs, mode="stream")
    assert report.ok, [str(p) for p in report.problems]
    assert not report.warnings, [str(p) for p in report.problems]
    assert report.checked == len(pairs)
    # No [DONE]: exactly one terminal event, last (§12.4).
    types = [json.loads(d)["type"] for _, d in pairs]
    ends = [
        t for t in types if t in ("response.completed", "response.failed", "response.incomplete")
    ]
    assert len(ends) == 1
    assert types[-1] == ends[0]


@pytest.mark.parametrize(
    "name", ["CanStreamBackgroundResponses.json", "CanStreamBackgroundResponsesAsync.json"]
)
def test_the_resumed_replay_is_the_original_tail(name: str) -> None:
    original, resumed = [e for e in _by_file(name) if e.streamed]
    assert "starting_after=1" in resumed.uri
    events = list(parse_sse(original.sse))
    tail = list(parse_sse(resumed.sse))
    assert list(replay(events, 1)) == tail
    assert next(json.loads(d)["sequence_number"] for _, d in tail) == 2
    assert check_trace(tail, mode="stream").ok
    assert replay(events, len(events) - 1) == ()
    assert replay(events, 10**6) == ()
    # The first event carries queued (background), then response.queued (§12.4, OBS).
    first, second = (json.loads(d) for _, d in events[:2])
    assert (first["type"], first["response"]["status"]) == ("response.created", "queued")
    assert second["type"] == "response.queued"
    # Re-encoded by the run's SSE writer, the stream reads back the same.
    again = list(parse_sse(encode_sse(events)))
    assert again == events


def test_a_response_that_wants_tools_completes_with_function_calls() -> None:
    # There is no requires_action (§12.4): FunctionCall records complete with function_call items.
    found = [
        r for r in REAL if r.where.startswith("FunctionCall") and r.value["status"] == "completed"
    ]
    files = {r.where.split("#")[0] for r in found}
    assert len(files) == 4
    for name in files:
        calls = [parse_response(r.text) for r in found if r.where.startswith(name + "#")]
        wanting: list[Response] = [
            c for c in calls if any(item["type"] == "function_call" for item in c.output)
        ]
        assert wanting, name
        assert all(c.status is ResponseStatus.COMPLETED for c in wanting)


def test_every_build_of_the_generated_code_agrees_on_the_records() -> None:
    from runstate._engine.codegen import generate  # noqa: PLC0415 - the engine itself
    from runstate.responses._model import SCHEMA  # noqa: PLC0415

    builds = {
        "portable": generate(swap=False, classes=SCHEMA)[Response],
        "orjson": generate(guard_floats=True, classes=SCHEMA)[Response],
    }
    check_only = generate(check_only=True, classes=SCHEMA)[Response]
    for real in REAL:
        ours = parse_response(real.text)
        for name, build in builds.items():
            other = build(json.loads(real.text))
            assert other == ours, (name, real.where)
            assert other.key_order == ours.key_order
            assert dump_response(other) == dump_response(ours)
        value = json.loads(real.text)
        assert check_only(value) is value
