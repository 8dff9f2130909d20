"""parse_sse: the event-stream reader, against the WHATWG rules and the real recordings."""

from __future__ import annotations

import io
import itertools
import tracemalloc
from typing import TYPE_CHECKING, Any

import pytest
import realworld

import runstate as rs
from runstate._engine.sse import SseEvent, iter_events, iter_lines, parse_sse

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def test_one_event() -> None:
    """An event name and one data line."""
    assert list(parse_sse("event: thread.run.queued\ndata: {}\n\n")) == [
        ("thread.run.queued", "{}")
    ]


def test_multi_line_data_is_joined_with_newlines() -> None:
    body = "event: e\ndata: first\ndata:second\ndata: \ndata:  third\n\n"
    assert list(parse_sse(body)) == [("e", "first\nsecond\n\n third")]


def test_only_one_space_after_the_colon_is_dropped() -> None:
    assert list(parse_sse("data:  two spaces\n\n")) == [("message", " two spaces")]
    assert list(parse_sse("data:no space\n\n")) == [("message", "no space")]


def test_comments_are_skipped() -> None:
    body = ": keep-alive\nevent: e\n: in the middle\ndata: x\n\n:\n\n"
    assert list(parse_sse(body)) == [("e", "x")]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_line_endings(eol: str) -> None:
    body = eol.join(["event: a", "data: 1", "", "event: b", "data: 2", "", ""])
    assert list(parse_sse(body)) == [("a", "1"), ("b", "2")]
    assert list(parse_sse(body.encode())) == [("a", "1"), ("b", "2")]


def test_mixed_line_endings() -> None:
    assert list(parse_sse("data: a\r\ndata: b\rdata: c\n\r\n")) == [("message", "a\nb\nc")]


def test_a_trailing_event_without_a_blank_line_is_yielded() -> None:
    assert list(parse_sse("event: a\ndata: 1\n\nevent: done\ndata: [DONE]")) == [
        ("a", "1"),
        ("done", "[DONE]"),
    ]
    assert list(parse_sse("event: done\ndata: [DONE]\n")) == [("done", "[DONE]")]


def test_missing_event_name_is_message() -> None:
    assert list(parse_sse("data: [DONE]\n\n")) == [("message", "[DONE]")]
    assert list(parse_sse("event:\ndata: x\n\n")) == [("message", "x")]


def test_done_marker_stays_raw() -> None:
    assert list(parse_sse(b"event: done\ndata: [DONE]\n\n")) == [("done", "[DONE]")]


def test_a_name_without_data_is_yielded_with_empty_data() -> None:
    """openai-python's SSEDecoder dispatches it; the WHATWG spec would drop it."""
    assert list(parse_sse("event: done\n\n")) == [("done", "")]


def test_a_field_without_colon_has_an_empty_value() -> None:
    assert list(parse_sse("data\ndata\n\n")) == [("message", "\n")]


def test_id_retry_and_unknown_fields_are_ignored() -> None:
    body = "id: 7\nretry: 100\nfoo: bar\n\nid: 8\nevent: e\ndata: x\n\n"
    assert list(parse_sse(body)) == [("e", "x")]


def test_blank_lines_alone_yield_nothing() -> None:
    assert list(parse_sse("\n\n\r\n")) == []
    assert list(parse_sse("")) == []
    assert list(parse_sse(b"")) == []
    assert list(parse_sse([])) == []


def test_byte_order_mark_is_dropped() -> None:
    assert list(parse_sse("\ufeffevent: e\ndata: x\n\n".encode())) == [("e", "x")]


def test_invalid_utf8_is_replaced() -> None:
    assert list(parse_sse(b"data: \xff\n\n")) == [("message", "\ufffd")]


def test_iterable_of_lines_with_or_without_endings() -> None:
    assert list(parse_sse(["event: e", "data: 1", "", "data: 2"])) == [
        ("e", "1"),
        ("message", "2"),
    ]
    assert list(parse_sse([b"event: e\r\n", b"data: 1\r\n", b"\r\n"])) == [("e", "1")]
    assert list(parse_sse(io.BytesIO(b"event: e\ndata: 1\n\ndata: 2\n"))) == [
        ("e", "1"),
        ("message", "2"),
    ]
    assert list(parse_sse(io.StringIO("event: e\r\ndata: 1\r\n\r\n"))) == [("e", "1")]


def test_a_lone_cr_inside_a_binary_line_splits_it() -> None:
    """A binary file object splits at ``\\n`` only; a lone ``\\r`` is still a line break."""
    assert list(parse_sse([b"data: a\rdata: b\n", b"\n"])) == [("message", "a\nb")]


def test_it_is_lazy() -> None:
    """Pairs come out while the source is still being read: an endless source works."""

    def endless() -> Iterator[str]:
        for n in itertools.count():
            yield f"data: {n}"
            yield ""

    assert list(itertools.islice(parse_sse(endless()), 3)) == [
        ("message", "0"),
        ("message", "1"),
        ("message", "2"),
    ]


def test_nothing_is_read_before_the_first_pair_is_asked_for() -> None:
    read: list[str] = []

    def source() -> Iterator[str]:
        read.append("started")
        yield "data: x"

    pairs = parse_sse(source())
    assert read == []
    assert next(pairs) == ("message", "x")


def test_bad_source_type_raises_invalid_argument_at_once() -> None:
    with pytest.raises(rs.InvalidArgument, match="expected str, bytes or an iterable") as info:
        parse_sse(42)  # type: ignore[arg-type]
    assert info.value.argument == "source"
    with pytest.raises(rs.InvalidArgument, match="expected str or bytes lines"):
        list(parse_sse([1, 2]))  # type: ignore[list-item]


def test_iter_lines() -> None:
    assert list(iter_lines("a\r\nb\rc\n\nd")) == ["a", "b", "c", "", "d"]
    assert list(iter_lines(["x\n", "", "y"])) == ["x", "", "y"]


def test_iter_events_reports_line_numbers() -> None:
    lines = [": comment", "event: a", "data: 1", "", "", "id: 1", "data: 2", "data: 3"]
    assert list(iter_events(lines)) == [
        SseEvent("a", "1", first_line=2, last_line=3),
        SseEvent("message", "2\n3", first_line=7, last_line=8),
    ]


def test_real_streams_agree_with_an_independent_reader(real_world: Path) -> None:
    """Every recorded stream: the same events as tests/realworld.py's minimal reader."""
    paths = sorted((real_world / "streamed").glob("*.sse"))
    assert paths
    for path in paths:
        text = path.read_text(encoding="utf-8")
        expected = [(event, data) for _, event, data in realworld.parse_sse(text)]
        with path.open("rb") as file:
            assert list(parse_sse(file)) == expected, path.name
        assert list(parse_sse(text)) == expected, path.name
        assert expected[-1] == ("done", "[DONE]")
        assert len(expected) == text.count("\nevent: ") + 1


# --------------------------------------------------------------------------------------
# Bounded memory, whatever the line endings and however the body is given


def _body(eol: bytes, events: int) -> bytes:
    one = b"event: thread.message.delta" + eol + b'data: {"d": "' + b"x" * 40 + b'"}' + eol + eol
    return one * events


def _peak(source: object) -> tuple[int, int]:
    tracemalloc.start()
    count = sum(1 for _ in parse_sse(source))  # type: ignore[arg-type]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, peak


@pytest.mark.slow
@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
@pytest.mark.parametrize(
    "wrap",
    [bytes, bytearray, memoryview, bytes.decode, io.BytesIO],
    ids=["bytes", "bytearray", "memoryview", "str", "BytesIO"],
)
def test_memory_does_not_grow_with_the_body(eol: bytes, wrap: Any) -> None:
    """A whole body is split where it lies: 4x the body, about the same peak."""
    peaks = []
    for events in (1_000, 4_000):
        source = wrap(_body(eol, events))
        count, peak = _peak(source)
        assert count == events
        peaks.append(peak)
    assert peaks[1] < peaks[0] * 1.5 + 64 * 1024, peaks


def test_a_cr_only_file_is_read_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """A binary file without a single \\n is not read whole as one 'line'."""
    import runstate._engine.sse as sse  # noqa: PLC0415

    monkeypatch.setattr(sse, "_CHUNK", 4096, raising=False)  # raising: the old reader had none
    body = _body(b"\r", 5_000)  # about 460 KB
    count, peak = _peak(io.BytesIO(body))
    assert count == 5_000
    assert peak < len(body) // 10, peak


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_line_endings_cut_between_pieces(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """A \\r\\n split between two reads of a file is one line ending, at every cut."""
    import runstate._engine.sse as sse  # noqa: PLC0415

    monkeypatch.setattr(sse, "_CHUNK", size)
    text = "\ufeffevent: a\ndata: 1\ndata: \u00e9\n\n: c\n\nevent: b\ndata: 2\n\ndata: 3"
    expected = [("a", "1\n\u00e9"), ("b", "2"), ("message", "3")]
    for eol in ("\n", "\r", "\r\n"):
        body = text.replace("\n", eol)
        assert list(parse_sse(io.BytesIO(body.encode()))) == expected, eol
        assert list(parse_sse(io.StringIO(body, newline=""))) == expected, eol
        assert list(parse_sse(body)) == expected
        assert list(parse_sse(body.encode())) == expected


def test_a_file_object_is_read_as_lines_arrive() -> None:
    """readline returns at each \\n: an event is yielded before the next line is read."""

    class Live(io.RawIOBase):
        def __init__(self) -> None:
            self.lines = [b"event: a\n", b"data: 1\n", b"\n", b"data: 2\n", b"\n"]
            self.read_lines = 0

        def readable(self) -> bool:
            return True

        def readline(self, size: int | None = -1) -> bytes:
            if not self.lines:
                return b""
            self.read_lines += 1
            return self.lines.pop(0)

    live = Live()
    pairs = parse_sse(live)
    assert next(pairs) == ("a", "1")
    assert live.read_lines == 3
