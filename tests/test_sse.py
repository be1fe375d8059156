"""The pure SSE decoder: recorded OpenAI bodies fed in every way, plus the WHATWG rules one by one."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import pytest

from chat_tui.api.sse import ServerSentEvent, SSEDecoder

GOLDEN_DIR = Path(__file__).resolve().parent / "data" / "sse-golden"
GOLDEN = sorted(GOLDEN_DIR.glob("*.bin"))
assert len(GOLDEN) == 12, f"expected the 12 recorded SSE bodies in {GOLDEN_DIR}"
golden_bodies = pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name[:8])
ENDINGS = {"LF": b"\n", "CR": b"\r", "CRLF": b"\r\n"}
line_endings = pytest.mark.parametrize("ending", list(ENDINGS))


def decode(*chunks: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.close()
    return events


def halve(data: str) -> str:
    return data[: len(data) // 2] + "\n" + data[len(data) // 2 :]


@functools.cache
def blocks(path: Path, ending: str, two_line_data: bool = False) -> tuple[bytes, ...]:
    """The body cut after each blank line (one event block each), with its line ends converted.

    `two_line_data` sends each event's data as two `data:` lines (first half, second half):
    then a line end counted twice (a CR LF split between chunks seen as two) dispatches half
    an event and shows, where with one data line per event it would go unnoticed.
    """
    body = path.read_bytes()
    assert b"\r" not in body, "recorded bodies use LF; the CR and CRLF variants are derived"
    if two_line_data:
        lines = body.decode("utf-8").split("\n")
        lines = [
            "data: " + halve(line[6:]).replace("\n", "\ndata: ") if line.startswith("data: ") else line
            for line in lines
        ]
        body = "\n".join(lines).encode("utf-8")
    parts = body.split(b"\n\n")
    assert parts[-1] == b"", "recorded bodies end with a blank line"
    return tuple((part + b"\n\n").replace(b"\n", ENDINGS[ending]) for part in parts[:-1])


@functools.cache
def expected(path: Path, two_line_data: bool = False) -> tuple[ServerSentEvent, ...]:
    events = decode(path.read_bytes())
    if two_line_data:
        events = [ServerSentEvent(data=halve(e.data)) for e in events]
    return tuple(events)


two_line_data = pytest.mark.parametrize("two_line_data", [False, True], ids=["recorded", "two-line-data"])


# --- recorded bodies -----------------------------------------------------------------------


@golden_bodies
def test_recorded_body_whole(path: Path) -> None:
    events = expected(path)
    body = path.read_bytes()
    assert len(events) == body.count(b"\n\n") > 1
    assert all(e.event == "message" and e.id is None and e.retry is None for e in events)
    assert events[-1].data == "[DONE]"
    assert all(e.data.startswith("{") for e in events[:-1])


@golden_bodies
@line_endings
@two_line_data
def test_recorded_body_line_endings_whole(path: Path, ending: str, two_line_data: bool) -> None:
    assert decode(b"".join(blocks(path, ending, two_line_data))) == list(expected(path, two_line_data))


@golden_bodies
def test_recorded_body_split_in_two_at_every_offset(path: Path) -> None:
    """Two pieces, split at every byte offset of the body.

    Each split is made in a window of whole event blocks around it (one block of context on
    each side), not in the whole body: that is the same stream for a decoder (between blocks
    its only state is the last event ID and retry, absent here) at a fraction of the cost;
    the whole 47 kB body split 47 000 ways took 9 s. Full-stream state at every offset, and
    the CR and CRLF variants, are covered by the byte-at-a-time, fixed-size-chunk and CRLF
    split tests below.
    """
    parts = blocks(path, "LF")
    want = expected(path)
    starts = [0]
    for part in parts:
        starts.append(starts[-1] + len(part))
    for j, part in enumerate(parts):
        lo, hi = max(0, j - 1), min(len(parts), j + 2)
        window = b"".join(parts[lo:hi])
        window_events = want[lo:hi]
        assert decode(window) == list(window_events)
        first = starts[j] - starts[lo]
        last = first + len(part) + (1 if j == len(parts) - 1 else 0)
        for k in range(first, last):
            decoder = SSEDecoder()
            events = decoder.feed(window[:k]) + decoder.feed(window[k:]) + decoder.close()
            assert events == list(window_events), f"split at body offset {starts[lo] + k}"


@golden_bodies
@line_endings
@two_line_data
def test_recorded_body_byte_at_a_time(path: Path, ending: str, two_line_data: bool) -> None:
    body = b"".join(blocks(path, ending, two_line_data))
    decoder = SSEDecoder()
    events = []
    for i in range(len(body)):
        events += decoder.feed(body[i : i + 1])
    assert not decoder.pending
    assert events + decoder.close() == list(expected(path, two_line_data))


@golden_bodies
@line_endings
@pytest.mark.parametrize("size", [2, 7, 61])
def test_recorded_body_fixed_size_chunks_every_phase(path: Path, ending: str, size: int) -> None:
    """Chunks of `size` bytes, starting at every phase, so every offset is a chunk boundary
    somewhere in the full stream (with size 2, every CRLF is split between chunks once)."""
    body = b"".join(blocks(path, ending))
    want = list(expected(path))
    for phase in range(size):
        chunks = [body[:phase]] + [body[i : i + size] for i in range(phase, len(body), size)]
        assert decode(*chunks) == want, f"phase {phase}"


@golden_bodies
@two_line_data
def test_recorded_body_crlf_split_between_chunks(path: Path, two_line_data: bool) -> None:
    """The whole CRLF body, in two pieces, split between the CR and the LF of every line end."""
    body = b"".join(blocks(path, "CRLF", two_line_data))
    want = list(expected(path, two_line_data))
    k = body.find(b"\r\n")
    while k >= 0:
        assert decode(body[: k + 1], body[k + 1 :]) == want, f"split at {k + 1}"
        k = body.find(b"\r\n", k + 2)


# --- line ends -----------------------------------------------------------------------------


def test_cr_then_lf_in_next_chunk_is_one_line_end() -> None:
    # Counted twice, the CR LF would be a blank line and dispatch "a" alone.
    assert decode(b"data: a\r", b"\ndata: b\r\n\r\n") == [ServerSentEvent(data="a\nb")]
    assert decode(b"data: a\r", b"", b"\n", b"data: b\n\n") == [ServerSentEvent(data="a\nb")]


def test_cr_then_cr_in_next_chunk_is_two_line_ends() -> None:
    assert decode(b"data: a\r", b"\rdata: b\r\r") == [ServerSentEvent(data="a"), ServerSentEvent(data="b")]


def test_mixed_line_ends() -> None:
    assert decode(b"data: a\rdata: b\ndata: c\r\n\r\ndata: d\n\r\n") == [
        ServerSentEvent(data="a\nb\nc"),
        ServerSentEvent(data="d"),
    ]


def test_other_unicode_line_breaks_are_not_line_ends() -> None:
    # str.splitlines() would split on these; SSE must not.
    text = "a\u2028b\x85c\x0bd\x0ce\x1cf"
    assert decode(f"data: {text}\n\n".encode()) == [ServerSentEvent(data=text)]


# --- fields --------------------------------------------------------------------------------


def test_whatwg_example_multiline_data() -> None:
    assert decode(b"data: YHOO\ndata: +2\ndata: 10\n\n") == [ServerSentEvent(data="YHOO\n+2\n10")]


def test_whatwg_example_ids_and_unterminated_event() -> None:
    body = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n"
    decoder = SSEDecoder()
    events = decoder.feed(body)
    assert events == [ServerSentEvent(data="first event", id="1"), ServerSentEvent(data="second event", id="")]
    assert decoder.pending  # " third event" is waiting for its blank line
    assert decoder.close() == []  # and the spec discards it
    assert decoder.pending  # still says something was lost


def test_whatwg_example_empty_data() -> None:
    assert decode(b"data\n\ndata\ndata\n\ndata:") == [ServerSentEvent(data=""), ServerSentEvent(data="\n")]


def test_whatwg_example_space_after_colon_optional() -> None:
    assert decode(b"data:test\n\ndata: test\n\n") == [ServerSentEvent(data="test")] * 2


def test_only_one_leading_space_is_removed() -> None:
    assert decode(b"data:  two\n\ndata:\tx\n\ndata: a:b: c\n\n") == [
        ServerSentEvent(data=" two"),
        ServerSentEvent(data="\tx"),
        ServerSentEvent(data="a:b: c"),
    ]


def test_comments_are_ignored() -> None:
    body = b": keep-alive\n\n:\n\ndata: a\n: between data lines\ndata: b\n\n: trailing\n"
    decoder = SSEDecoder()
    assert decoder.feed(body) == [ServerSentEvent(data="a\nb")]
    assert not decoder.pending


def test_blank_line_without_data_dispatches_nothing_and_resets_type() -> None:
    assert decode(b"event: ping\n\ndata: x\n\n") == [ServerSentEvent(event="message", data="x")]


def test_event_type_applies_to_one_event() -> None:
    assert decode(b"event: error\ndata: x\n\ndata: y\n\nevent\ndata: z\n\n") == [
        ServerSentEvent(event="error", data="x"),
        ServerSentEvent(event="message", data="y"),
        ServerSentEvent(event="message", data="z"),  # empty type means "message"
    ]


def test_field_without_colon_has_empty_value() -> None:
    assert decode(b"data\ndata\n\n") == [ServerSentEvent(data="\n")]
    assert decode(b"id\ndata: x\n\n") == [ServerSentEvent(data="x", id="")]


def test_unknown_and_differently_cased_fields_are_ignored() -> None:
    assert decode(b"foo: bar\nData: no\nDATA: no\n data: no\ndata: yes\n\n") == [ServerSentEvent(data="yes")]


def test_last_event_id_persists_and_nul_is_ignored() -> None:
    decoder = SSEDecoder()
    body = b"id: 1\ndata: a\n\ndata: b\n\nid: 2\x00x\ndata: c\n\nid: 3\n\ndata: d\n\nid:\ndata: e\n\n"
    assert decoder.feed(body) == [
        ServerSentEvent(data="a", id="1"),
        ServerSentEvent(data="b", id="1"),  # persists
        ServerSentEvent(data="c", id="1"),  # contains NUL: ignored
        ServerSentEvent(data="d", id="3"),  # set by a block that dispatched nothing
        ServerSentEvent(data="e", id=""),  # an empty id resets it
    ]
    assert decoder.last_event_id == ""


def test_retry_only_when_all_ascii_digits() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"retry: 1500\ndata: a\n\ndata: b\n\nretry: 2500\n\n")
    assert events == [ServerSentEvent(data="a", retry=1500), ServerSentEvent(data="b")]
    assert decoder.retry == 2500  # a retry-only block dispatches nothing but still counts
    for bad in (b"15x0", b"-1", b"", b" 1", b"1.5", "\u0661\u0662".encode(), "\u00b2".encode(), b"1" * 5000):
        assert decoder.feed(b"retry: " + bad + b"\ndata: x\n\n") == [ServerSentEvent(data="x")], bad[:10]
    assert decoder.retry == 2500


# --- BOM and UTF-8 -------------------------------------------------------------------------


def test_leading_bom_stripped_once() -> None:
    bom = "\ufeff".encode()
    assert decode(bom + b"data: a\n\n") == [ServerSentEvent(data="a")]
    # A second BOM is part of the field name "\ufeffdata", an unknown field.
    assert decode(bom + bom + b"data: a\n\ndata: b\n\n") == [ServerSentEvent(data="b")]
    assert decode(bom[:1], bom[1:2], bom[2:] + b"data: a\n\n") == [ServerSentEvent(data="a")]


def test_bom_later_in_stream_is_not_stripped() -> None:
    bom = "\ufeff".encode()
    assert decode(b"data: a\n\n" + bom + b"data: b\n\n") == [ServerSentEvent(data="a")]
    assert decode(b"data: a\n\n", bom + b"data: b\n\n") == [ServerSentEvent(data="a")]
    assert decode(b"data: " + bom + b"x\n\n") == [ServerSentEvent(data="\ufeffx")]


@pytest.mark.parametrize("char", ["é", "€", "😀"])
def test_utf8_character_split_across_chunks(char: str) -> None:
    body = f"data: {char}{char}\n\n".encode()
    for k in range(len(body) + 1):
        assert decode(body[:k], body[k:]) == [ServerSentEvent(data=char * 2)], k
    assert decode(*(body[i : i + 1] for i in range(len(body)))) == [ServerSentEvent(data=char * 2)]


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert decode(b"data: a\xffb\xc3(\n\n") == [ServerSentEvent(data="a\ufffdb\ufffd(")]


def test_split_character_at_end_of_stream_is_pending() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: ok\n\n\xe2\x82") == [ServerSentEvent(data="ok")]
    assert decoder.pending
    assert decoder.close() == []
    assert decoder.pending


# --- end of stream -------------------------------------------------------------------------


def test_pending_tracks_undispatched_input() -> None:
    decoder = SSEDecoder()
    assert not decoder.pending
    decoder.feed(b"data: a")
    assert decoder.pending  # unterminated line
    decoder.feed(b"\n")
    assert decoder.pending  # data line waiting for the blank line
    assert decoder.feed(b"\n") == [ServerSentEvent(data="a")]
    assert not decoder.pending
    decoder.feed(b"event: x\nid: 5\n")
    assert not decoder.pending  # no data: nothing would be dispatched anyway


def test_close_discards_unterminated_event_unless_asked() -> None:
    strict = SSEDecoder()
    assert strict.feed(b"data: a\n\ndata: [DONE]") == [ServerSentEvent(data="a")]
    assert strict.close() == []
    assert strict.pending

    lenient = SSEDecoder()
    lenient.feed(b"data: a\n\ndata: [DONE]")
    assert lenient.close(dispatch_incomplete=True) == [ServerSentEvent(data="[DONE]")]
    assert not lenient.pending

    lenient = SSEDecoder()
    lenient.feed(b"data: x\n")
    assert lenient.close(dispatch_incomplete=True) == [ServerSentEvent(data="x")]


def test_close_is_idempotent_and_feed_after_close_fails() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\n")
    assert decoder.close() == []
    assert decoder.close() == []
    with pytest.raises(ValueError):
        decoder.feed(b"data: b\n\n")


@pytest.mark.timing
def test_long_line_in_many_chunks_costs_linear_time() -> None:
    """A 16 MB line in 4 kB chunks: re-joining the buffer per chunk would copy ~32 GB."""
    chunk = b"x" * 4096
    decoder = SSEDecoder()
    start = time.perf_counter()
    assert decoder.feed(b"data: ") == []
    for _ in range(4096):
        assert decoder.feed(chunk) == []
    (event,) = decoder.feed(b"\n\n")
    elapsed = time.perf_counter() - start
    assert len(event.data) == 4096 * 4096
    assert elapsed < 1.0, f"{elapsed:.2f}s"
