"""Hostile input to the store (issue 10): huge messages in search, stale searches cancelled."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from chat_tui.store import Store
from chat_tui.store import excerpts
from chat_tui.store.db import CancelToken
from chat_tui.store.errors import QueryCancelled
from chat_tui.store.history import HistoryFilter, count_history, history_page


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
