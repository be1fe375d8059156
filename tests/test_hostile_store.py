"""Hostile input to the store (issue 10): huge messages in search, stale searches cancelled,
zip bombs, damaged zips and deeply nested JSON in imports."""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from chat_tui.store import Store
from chat_tui.store import excerpts, import_source
from chat_tui.store.db import CancelToken
from chat_tui.store.errors import QueryCancelled
from chat_tui.store.history import HistoryFilter, count_history, history_page
from chat_tui.store.importer import ImportError_, import_data, import_file


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "chat.db") as s:
        yield s


def counts(store: Store) -> tuple[int, int]:
    return tuple(store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("conversations", "messages"))


def filler(n: int, word: str = "lorem") -> str:
    return " ".join(f"{word}{i}" for i in range(n))


# -- search: the cost of one huge message -------------------------------------------------

_TIMING = textwrap.dedent("""
    import json, statistics, sys, time
    from chat_tui.store import Store
    from chat_tui.store.history import history_page

    def timed(text):
        with Store(sys.argv[1] + "/" + str(len(text)) + ".db") as store:
            cid = store.create_conversation(title="t")
            store.add_message(cid, "user", text)
            runs = {"history": [], "search": []}
            for _ in range(5):
                t = time.perf_counter(); rows = history_page(store, query="hello")
                runs["history"].append(time.perf_counter() - t)
                t = time.perf_counter(); hits = store.search("hello")
                runs["search"].append(time.perf_counter() - t)
            return {k: statistics.median(v) for k, v in runs.items()} | {
                "snippet": rows[0].snippet, "hit": hits[0].snippet}

    print(json.dumps({"small": timed("hello world " * 5), "big": timed("hello world " * 175_000)}))
""")


@pytest.mark.timing
def test_search_costs_the_same_for_a_2_mb_message(tmp_path: Path) -> None:
    # In a child process: before excerpts were bounded, snippet() over this message ran for
    # minutes in one C call that nothing could stop.
    out = subprocess.run([sys.executable, "-c", _TIMING, str(tmp_path)], capture_output=True,
                         text=True, timeout=60, check=True)
    result = json.loads(out.stdout)
    small, big = result["small"], result["big"]
    for key in ("history", "search"):
        assert big[key] < 1.0, result
        assert big[key] < 10 * small[key] + 0.05, result  # measured: 2-5x, a few ms
    expected = "[hello] world " * 7 + "[hello] world…"  # 16 tokens, then "…": it goes on
    assert big["snippet"] == big["hit"] == expected
    assert small["snippet"] == "[hello] world " * 5  # the whole message


def test_excerpt_of_a_match_deep_in_a_long_message(store: Store) -> None:
    cid = store.create_conversation(title="deep")
    # Past the head searched window by window: found by the stem's scan ("happi" -> "happ"),
    # confirmed by the index's own tokenizer (HAPPY matches "happiness").
    mid = store.add_message(cid, "user", filler(100_000) + " so HAPPY today " + filler(500, "ipsum"))
    (hit,) = store.search("happiness")
    assert hit.message_id == mid
    assert hit.snippet == ("…lorem99997 lorem99998 lorem99999 so [HAPPY] today "
                           + " ".join(f"ipsum{i}" for i in range(10)) + "…")
    (row,) = history_page(store, query="happiness")
    assert row.hit_message_id == mid and row.snippet == hit.snippet
    assert ("HAPPY", True) in row.segments


@pytest.mark.parametrize("before", [10, 300, 1500])  # first window, a later one, across edges
def test_excerpt_marks_phrases_and_every_term(store: Store, before: int) -> None:
    cid = store.create_conversation()
    store.add_message(cid, "user", filler(before) + " the big zebra crossing, zebras cross " + filler(100, "x"))
    (hit,) = store.search('"zebra crossing" cross')
    assert "the big [zebra crossing], [zebras cross] x0" in hit.snippet  # next to each other: one mark
    assert hit.snippet.startswith("…" if before > 2 else "lorem0") and hit.snippet.endswith("…")
    (hit,) = store.search("zebr*")
    assert "[zebra] crossing, [zebras]" in hit.snippet


def test_excerpt_with_the_mark_characters_in_the_text(store: Store) -> None:
    cid = store.create_conversation()
    store.add_message(cid, "user", "a \x02b\x03 c okapi d")
    (hit,) = store.search("okapi")
    assert hit.segments == (("a  b  c ", False), ("okapi", True), (" d", False))


def test_excerpt_when_the_match_cannot_be_located_cheaply(store: Store) -> None:
    cid = store.create_conversation()
    # Past the head, and the stem "naiv" is not in the bytes of "naïve": the excerpt is the
    # message's start, unmarked, rather than a scan of the whole text through the tokenizer.
    store.add_message(cid, "user", filler(5_000) + " so naïve " + filler(10))
    (hit,) = store.search("naive")
    assert hit.segments == ((filler(16) + "…", False),)


def test_cut_excerpt_edges() -> None:
    S, E = excerpts.RAW_MATCH_START, excerpts.RAW_MATCH_END
    words = [f"w{i}" for i in range(40)]
    marked = " ".join(words[:20]) + f" {S}hit{E} " + " ".join(words[20:])
    assert excerpts.cut_excerpt(marked, True, True) == \
        "…w16 w17 w18 w19 " + f"{S}hit{E} " + " ".join(words[20:31]) + "…"
    assert excerpts.cut_excerpt(f"{S}a b{E} c", True, True) == f"{S}a b{E} c"
    long_match = f"x {S}" + " ".join(words) + f"{E} y"  # a match is never cut
    assert excerpts.cut_excerpt(long_match, True, True) == long_match[:-2] + "…"
    assert excerpts.cut_excerpt("no marks", True, True) is None


# -- cancelling a search ------------------------------------------------------------------


def test_interrupt_before_the_query(store: Store) -> None:
    cid = store.create_conversation(title="okapi")
    question = store.add_message(cid, "user", "okapi")
    reply = store.begin_assistant(cid, parent_id=question, model="m", params={}, endpoint=None)
    store.interrupt()
    for call in (lambda: history_page(store, query="okapi"), lambda: history_page(store),
                 lambda: count_history(store, "okapi"), lambda: store.search("okapi"),
                 lambda: store.add_message(cid, "user", "more")):
        with pytest.raises(QueryCancelled, match="cancelled"):
            call()
    store.close()  # still closes, and still marks the reply it leaves unfinished
    with Store(store.path) as again:
        assert counts(again) == (1, 2)  # the write was refused
        message = again.get_message(reply)
        assert (message.status, message.error) == ("interrupted", "the store was closed before the reply finished")


def slow_params(store: Store, conversations: int) -> HistoryFilter:
    """A history query made slow on purpose: about 1 ms per conversation."""
    with store._write() as db:
        db.conn.executemany("INSERT INTO conversations (id, title) VALUES (?, ?)",
                            [(i, f"c{i}") for i in range(1, conversations + 1)])
        db.conn.executemany("INSERT INTO messages (conversation_id, role, content, params)"
                            " VALUES (?, 'assistant', 'hi', '{}')", [(i,) for i in range(1, conversations + 1)])

    def json_extract(doc, path):  # SQLite's own, slowed down; returns what it would (NULL)
        time.sleep(0.001)
        return None

    store.db.conn.create_function("json_extract", 2, json_extract)
    return HistoryFilter(params=(("temperature", ">", 1.0),))


@pytest.mark.timing
@pytest.mark.parametrize("how", ["interrupt", "token"])
def test_cancel_from_another_thread_stops_a_running_query(tmp_path: Path, how: str) -> None:
    token = CancelToken()
    with Store(tmp_path / "chat.db", cancel=token) as store:
        slow = slow_params(store, 2000)
        cancel = store.interrupt if how == "interrupt" else token.cancel
        threading.Timer(0.2, cancel).start()
        start = time.perf_counter()
        with pytest.raises(QueryCancelled):
            history_page(store, filters=slow)  # ~2.5 s if left to run
        assert time.perf_counter() - start < 1.0
        assert store.cancelled


def test_a_token_cancelled_before_the_store_opens(tmp_path: Path) -> None:
    token = CancelToken()
    token.cancel()  # a stale search, cancelled before its worker even started
    with Store(tmp_path / "chat.db", cancel=token) as store:  # opening is not cancelled
        with pytest.raises(QueryCancelled):
            history_page(store, query="anything")


# -- imports: size caps, zip bombs and damaged zips ---------------------------------------


def zip_of(path: Path, payload: bytes | None = None, *, chunks: int = 0, chunk: bytes = b"") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("conversations.json", "w") as f:
            if payload is not None:
                f.write(payload)
            for _ in range(chunks):
                f.write(chunk)
    return path


def chatgpt(n: int, words: int = 10) -> list[dict]:
    def conversation(i: int) -> dict:
        return {"title": f"t{i}", "id": f"c{i}", "create_time": 1.7e9, "mapping": {
            "r": {"id": "r", "message": None, "parent": None, "children": ["q"]},
            "q": {"id": "q", "parent": "r", "children": [], "message": {
                "author": {"role": "user"}, "create_time": 1.7e9,
                "content": {"content_type": "text", "parts": [f"héllo {i} " + "lorem ipsum " * words]}}}}}
    return [conversation(i) for i in range(n)]


def peak_of(call) -> tuple[object, int]:
    tracemalloc.start()
    try:
        try:
            result = call()
        except Exception as exc:  # noqa: BLE001 - returned for the test to check
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_zip_of_200_mb_of_zeros_is_refused_without_reading_it_into_memory(store: Store, tmp_path: Path) -> None:
    path = zip_of(tmp_path / "zeros.zip", chunks=200, chunk=bytes(1 << 20))
    error, peak = peak_of(lambda: import_file(store, path))
    assert isinstance(error, ImportError_), error
    assert str(error).startswith("zeros.zip:conversations.json: not valid JSON")
    assert peak < 20 << 20, peak  # was 440 MB: the member, then its text, whole
    assert counts(store) == (0, 0)


def test_a_big_import_holds_about_one_conversation_in_memory(store: Store, tmp_path: Path) -> None:
    data = json.dumps(chatgpt(1500, words=2000)).encode()  # ~37 MB
    path = zip_of(tmp_path / "big.zip", data)
    del data
    report, peak = peak_of(lambda: import_file(store, path))
    assert report.imported == 1500, report
    assert peak < 30 << 20, peak  # was 2.3 times the member (~85 MB)


def test_sizes_past_the_limit_are_refused_before_reading(store: Store, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(import_source, "IMPORT_LIMIT", 1 << 20)
    path = zip_of(tmp_path / "bomb.zip", chunks=2, chunk=b" " * (1 << 20))
    with pytest.raises(ImportError_, match=r"bomb.zip:conversations.json is 2.0 MB: chat-tui imports"
                                           r" at most 1.0 MB of JSON \(IMPORT_LIMIT\)"):
        import_file(store, path)
    plain = tmp_path / "big.json"
    plain.write_bytes(b" " * (3 << 20))
    with pytest.raises(ImportError_, match=r"big.json is 3.0 MB: chat-tui imports at most 1.0 MB"):
        import_file(store, plain)


def test_a_member_unpacking_to_more_than_declared(tmp_path: Path) -> None:
    # zipfile stops at the declared size and then fails the CRC; a reader that did not
    # would be stopped by the count.
    good = zip_of(tmp_path / "good.zip", json.dumps(chatgpt(50)).encode()).read_bytes()
    lie = bytearray(good)
    central = lie.rfind(b"PK\x01\x02")
    lie[central + 24:central + 28] = struct.pack("<I", 1000)  # uncompressed size, directory
    lie[22:26] = struct.pack("<I", 1000)  # and local header
    (tmp_path / "lie.zip").write_bytes(bytes(lie))
    with Store(tmp_path / "x.db") as store:
        with pytest.raises(ImportError_, match="lie.zip is a damaged zip archive: Bad CRC-32"):
            import_file(store, tmp_path / "lie.zip")
    source = import_source.Source(io.BytesIO(b"[" + b" " * 5000 + b"]"), "x.zip:conversations.json",
                                  1000, archive="x.zip", declared=1000)
    with pytest.raises(ImportError_, match="unpacks to more than the 1000 bytes its zip header declares"):
        while source.read():
            pass


@pytest.mark.parametrize("damage", ["cut at the end", "cut in the middle", "corrupt data"])
def test_a_damaged_zip_says_so(store: Store, tmp_path: Path, damage: str) -> None:
    good = zip_of(tmp_path / "good.zip", json.dumps(chatgpt(200, words=50)).encode()).read_bytes()
    bad = {"cut at the end": good[:-40], "cut in the middle": good[: len(good) // 2],
           "corrupt data": good[:300] + b"x" * 40 + good[340:]}[damage]
    path = tmp_path / "export.zip"
    path.write_bytes(bad)
    with pytest.raises(ImportError_, match=r"^export.zip is a damaged zip archive: "):  # was "not UTF-8 text"
        import_file(store, path)
    assert counts(store) == (0, 0)


def test_deep_nesting_is_an_import_error(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('[{"title": "x", "mapping": ' + "[" * 100_000 + "]" * 100_000 + "}]")
    with pytest.raises(ImportError_, match="deep.json: item 1: JSON nested too deeply"):
        import_file(store, path)
    path.write_text('{"format": "chat-tui-conversation", "x": ' + '{"a":' * 100_000 + "1" + "}" * 100_000 + "}")
    with pytest.raises(ImportError_, match="deep.json: JSON nested too deeply"):
        import_file(store, path)
    # Decoded fine, but too deep to be written again as JSON (parameters, logprobs) or to hash.
    deep: object = 1
    for _ in range(5000):
        deep = {"a": deep}
    export = {"format": "chat-tui-conversation", "format_version": 1, "conversation": {
        "id": 1, "created_at": "2024-01-01T00:00:00.000Z", "params": deep}, "messages": []}
    with pytest.raises(ImportError_, match="x.json: JSON nested too deeply"):
        import_data(store, export, name="x.json")
    with pytest.raises(ImportError_, match=r"x.json: item 2: JSON nested too deeply"):
        import_data(store, [*chatgpt(1), {"title": "no id", "mapping": {}, "junk": deep}], name="x.json")
    assert counts(store) == (0, 0)


def test_one_item_past_the_value_limit(store: Store, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(import_source, "VALUE_LIMIT", 100_000)
    monkeypatch.setattr(import_source, "CHUNK", 4096)
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(chatgpt(3) + chatgpt(1, words=20_000)))
    with pytest.raises(ImportError_, match=r"conversations.json: item 4: more than 97.7 kB of JSON in one piece"):
        import_file(store, path)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_streaming_reads_every_split_alike(store: Store, tmp_path: Path, monkeypatch, chunk: int) -> None:
    monkeypatch.setattr(import_source, "CHUNK", chunk)
    data = chatgpt(5)
    data[2]["create_time"] = 1234567890.125  # a number that a chunk edge may cut
    path = tmp_path / "conversations.json"
    path.write_text("\ufeff " + json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    report = import_file(store, path)
    assert report.imported == 5
    (message,) = store.messages(report.conversation_ids[4])
    assert message.content == data[4]["mapping"]["q"]["message"]["content"]["parts"][0]  # "héllo 4 …"
    # Errors name the same line and column as json's own.
    text = json.dumps(data, indent=1)
    for bad in (text.replace('"t3"', '"t3" "x"'), text[:-3], text + " x", text.replace("1234567890.125", "12345e")):
        path.write_text(bad)
        try:
            json.loads(bad)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno} (char {exc.pos})"
        with pytest.raises(ImportError_, match=rf"conversations.json: not valid JSON: .*{re.escape(where)}"):
            import_file(store, path)


def test_not_utf8_names_the_byte(store: Store, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(import_source, "CHUNK", 16)
    path = tmp_path / "conversations.json"
    path.write_bytes(b'[{"title": "caf\xe9"}]')
    with pytest.raises(ImportError_, match=r"conversations.json: not UTF-8 text \(byte 15: invalid"):
        import_file(store, path)
