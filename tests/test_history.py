"""History browser storage: migration to version 3, listing and filters, search paging, pin,
archive and soft delete, imports (ChatGPT and chat-tui) and the `history` CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from chat_tui.store import Store, schema
from chat_tui.store import history as h
from chat_tui.store.history import HistoryFilter, count_history, history_page
from chat_tui.store.importer import (
    ImportError_,
    detect_format,
    export_conversations,
    import_data,
    import_file,
)
from conftest import run_cli


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "chat.db") as s:
        yield s


def counts(store: Store) -> tuple[int, ...]:
    q = store.db.execute
    return tuple(q(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("conversations", "messages", "messages_fts", "compare_runs", "compare_lanes"))


def fts_ok(store: Store) -> None:
    store.db.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")


def set_updated(store: Store, cid: int, stamp: str) -> None:
    store.db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (stamp, cid))


def chat(store: Store, title: str, *, model: str = "gpt-4o", endpoint: str | None = "openai",
         temperature: float | None = None, text: str = "hello", updated: str | None = None) -> int:
    cid = store.create_conversation(title=title, model=model, endpoint=endpoint)
    u = store.add_message(cid, "user", f"{text} question")
    params = {"model": model} | ({"temperature": temperature} if temperature is not None else {})
    a = store.begin_assistant(cid, parent_id=u, model=model, params=params, endpoint=endpoint)
    store.finish_assistant(a, f"{text} answer", "complete", prompt_tokens=10, completion_tokens=5)
    if updated:
        set_updated(store, cid, updated)
    return cid


# -- migration ----------------------------------------------------------------------------


def test_version_2_database_upgrades_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    conn = sqlite3.connect(path, isolation_level=None)
    db = Database(conn)
    assert schema.migrate(db, str(path), schema.MIGRATIONS[:2]) == 2
    db.execute("INSERT INTO conversations (title, model) VALUES ('old one', 'gpt-4')")
    db.execute("INSERT INTO messages (conversation_id, role, content) VALUES (1, 'user', 'an ancient narwhal')")
    db.execute("INSERT INTO messages (conversation_id, parent_id, role, content, model, params)"
               " VALUES (1, 1, 'assistant', 'narwhals are real', 'gpt-4', '{\"temperature\": 1.5}')")
    db.execute("INSERT INTO compare_runs (conversation_id, user_message_id) VALUES (1, 1)")
    conn.close()

    with Store(path) as store:
        assert store.schema_version == len(schema.MIGRATIONS)
        c = store.get_conversation(1)
        assert (c.title, c.model, c.pinned, c.archived, c.deleted_at, c.source) == (
            "old one", "gpt-4", False, False, None, None)
        assert [m.content for m in store.thread(1)] == ["an ancient narwhal", "narwhals are real"]
        assert store.compare_runs(1)[0].user_message_id == 1
        # The index was rebuilt with the old rows, now with prefix lookups.
        assert [r.hit_message_id for r in history_page(store, query="narwh*")] == [2]
        assert [x.message_id for x in store.search("ancient")] == [1]
        filtered = HistoryFilter(params=(("temperature", ">", 1.0),))
        assert [r.id for r in history_page(store, filters=filtered)] == [1]
        fts_ok(store)
        names = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"conversations_by_source", "messages_by_source", "conversations_by_model"} <= names


# -- listing, filters, pin, archive, soft delete ------------------------------------------


def test_pinned_first_then_newest_with_paging(store: Store) -> None:
    ids = [chat(store, f"c{i}", updated=f"2025-01-0{i + 1}T10:00:00.000Z") for i in range(5)]
    h.set_pinned(store, ids[1], True)
    h.set_pinned(store, ids[3], True)
    order = [r.id for r in history_page(store)]
    assert order == [ids[3], ids[1], ids[4], ids[2], ids[0]]
    pages = [r.id for off in range(5) for r in history_page(store, limit=1, offset=off)]
    assert pages == order
    assert [r.id for r in history_page(store, limit=2, offset=1)] == [ids[1], ids[4]]
    assert [r.id for r in history_page(store, filters=HistoryFilter(pinned_only=True))] == [ids[3], ids[1]]
    assert store.get_conversation(ids[1]).pinned is True
    h.set_pinned(store, ids[1], False)
    assert [r.id for r in history_page(store)][:2] == [ids[3], ids[4]]
    assert store.get_conversation(ids[1]).updated_at == "2025-01-02T10:00:00.000Z"  # untouched
    row = history_page(store, limit=1)[0]
    assert (row.message_count, row.prompt_tokens, row.completion_tokens) == (2, 10, 5)
    assert (row.snippet, row.segments, row.hit_message_id, row.preview) == (None, None, None, "hello question")
    with pytest.raises(h.NotFoundError):
        h.set_pinned(store, 999, True)


def test_archive_hides_unless_asked(store: Store) -> None:
    a, b = chat(store, "keep"), chat(store, "old")
    h.set_archived(store, b, True)
    assert [r.id for r in history_page(store)] == [a]
    assert {r.id for r in history_page(store, filters=HistoryFilter(include_archived=True))} == {a, b}
    only = history_page(store, filters=HistoryFilter(archived_only=True))
    assert [(r.id, r.archived) for r in only] == [(b, True)]
    assert count_history(store) == 1 and count_history(store, filters=HistoryFilter(include_archived=True)) == 2
    h.set_archived(store, b, False)
    assert count_history(store) == 2


def test_filters_combine(store: Store) -> None:
    hit = chat(store, "hit", model="gpt-4o", temperature=1.3, updated="2025-03-10T12:00:00.000Z")
    chat(store, "cold", model="gpt-4o", temperature=0.2, updated="2025-03-11T12:00:00.000Z")
    chat(store, "other model", model="o3-mini", temperature=1.5, updated="2025-03-12T12:00:00.000Z")
    chat(store, "too early", model="gpt-4o", temperature=1.8, updated="2025-02-28T23:59:59.999Z")
    last_day = chat(store, "last day", model="gpt-4o", temperature=1.1, updated="2025-03-31T23:59:59.999Z")
    chat(store, "too late", model="gpt-4o", temperature=1.1, updated="2025-04-01T00:00:00.000Z")
    local = chat(store, "local", model="gpt-4o", endpoint="local", temperature=1.9,
                 updated="2025-03-15T00:00:00.000Z")
    f = HistoryFilter(model="gpt-4o", since="2025-03-01", until="2025-03-31",
                      params=(("temperature", ">", 1.0),))
    assert [r.id for r in history_page(store, filters=f)] == [last_day, local, hit]
    assert count_history(store, filters=f) == 3
    f2 = HistoryFilter(model="gpt-4o", endpoint="openai", since="2025-03-01", until="2025-03-31",
                       params=(("temperature", ">", 1.0), ("temperature", "<=", 1.2)))
    assert [r.id for r in history_page(store, filters=f2)] == [last_day]
    assert [r.id for r in history_page(store, query="hello", filters=f)] != []
    assert {r.id for r in history_page(store, query="hello", filters=f)} == {last_day, local, hit}
    for bad in (HistoryFilter(since="March"), HistoryFilter(until="2025-02-30"),
                HistoryFilter(params=(("temperature", "~", 1),)),
                HistoryFilter(params=(("a.b') OR 1=1 --", ">", 1),))):
        with pytest.raises(ValueError):
            history_page(store, filters=bad)


def test_soft_delete_undo_and_purge(store: Store) -> None:
    keep = chat(store, "keep", text="walrus")
    gone = chat(store, "gone", text="walrus")
    assert h.soft_delete(store, gone) is True and h.soft_delete(store, gone) is False
    assert [r.id for r in history_page(store)] == [keep]
    assert [r.id for r in history_page(store, query="walrus")] == [keep]
    assert count_history(store, "walrus") == 1
    assert [c.id for c in store.list_conversations()] == [keep]
    assert store.last_conversation_id() == keep
    assert {x.conversation_id for x in store.search("walrus")} == {keep}
    assert h.deleted_ids(store) == [gone]
    assert h.undo_delete(store, gone) is True
    assert store.last_conversation_id() == gone and count_history(store, "walrus") == 2
    h.soft_delete(store, gone)
    assert h.purge_deleted(store) == 1
    assert store.get_conversation(gone) is None
    assert store.db.execute("SELECT count(*) FROM messages WHERE conversation_id = ?", (gone,)).fetchone()[0] == 0
    fts_ok(store)
    assert h.purge_deleted(store) == 0


def test_totals(store: Store) -> None:
    cid = chat(store, "t")
    u = store.thread(cid)[0].id
    a = store.begin_assistant(cid, parent_id=u, model="o3-mini", params={}, endpoint=None)
    store.finish_assistant(a, "again", "complete", prompt_tokens_local=7, completion_tokens_local=3)
    t = h.totals(store, cid)
    assert (t.messages, t.prompt_tokens, t.completion_tokens) == (3, 17, 8)
    assert set(t.models) == {"gpt-4o", "o3-mini"}


# -- search -------------------------------------------------------------------------------


@pytest.mark.parametrize("ranked_limit", [h.RANKED_MATCHES, 3])  # ranked, then streamed by recency
def test_search_pages_one_row_per_conversation(store: Store, monkeypatch, ranked_limit: int) -> None:
    monkeypatch.setattr(h, "RANKED_MATCHES", ranked_limit)
    ids = []
    for i in range(23):
        cid = store.create_conversation(title=f"t{i}", model="gpt-4o" if i % 2 else "o3-mini")
        u = store.add_message(cid, "user", f"tell me about the okapi number {i}")
        store.add_message(cid, "assistant", "the okapi is a giraffid" if i % 3 else "no idea", parent_id=u)
        ids.append(cid)
    other = store.create_conversation(title="none")
    store.add_message(other, "user", "zebras only")
    pages = [history_page(store, query="okapi", limit=10, offset=o) for o in (0, 10, 20)]
    assert [len(p) for p in pages] == [10, 10, 3]
    rows = [r for p in pages for r in p]
    assert sorted(r.id for r in rows) == ids
    assert count_history(store, "okapi") == 23 and count_history(store, "okapi", cap=5) == 5
    for r in rows:
        hit = store.get_message(r.hit_message_id)
        assert hit.conversation_id == r.id and "okapi" in hit.content
        assert "[okapi]" in r.snippet and ("okapi", True) in r.segments
    if ranked_limit == 3:  # newest matching message first
        assert [r.id for r in rows] == ids[::-1]
    # With a filter, on both sides of the dense-word switch.
    for dense in (1.0, 0.0):
        monkeypatch.setattr(h, "DENSE", dense)
        found = [r.id for r in history_page(store, query="okapi", filters=HistoryFilter(model="gpt-4o"), limit=50)]
        assert sorted(found) == [c for i, c in enumerate(ids) if i % 2]
        assert all(r.snippet for r in history_page(store, query="okapi", filters=HistoryFilter(model="gpt-4o")))
    assert history_page(store, query="   ") == history_page(store)
    assert history_page(store, query="nothing-matches-this") == []


def test_search_query_forms(store: Store) -> None:
    a = chat(store, "a", text="streaming replies")
    b = chat(store, "b", text="c++ templates")
    assert {r.id for r in history_page(store, query="stream*")} == {a}
    assert {r.id for r in history_page(store, query="strea*")} == {a}  # longer than the prefix index
    assert {r.id for r in history_page(store, query='"c++" AND')} == set()
    assert {r.id for r in history_page(store, query="c++")} == {b}
    assert history_page(store, query="s*")  == []  # a one-letter prefix is a word, not everything


# -- ChatGPT import -----------------------------------------------------------------------


def node(nid, parent, children, role=None, text=None, *, t=None, ctype="text", parts=None,
         hidden=False, slug=None, recipient="all", finish=None):
    if role is None:
        return {"id": nid, "message": None, "parent": parent, "children": children}
    metadata = {}
    if hidden:
        metadata["is_visually_hidden_from_conversation"] = True
    if slug:
        metadata["model_slug"] = slug
    if finish:
        metadata["finish_details"] = {"type": finish}
    return {
        "id": nid, "parent": parent, "children": children,
        "message": {
            "id": nid, "author": {"role": role, "name": None, "metadata": {}},
            "create_time": t, "update_time": None,
            "content": {"content_type": ctype, "parts": parts if parts is not None else [text]},
            "status": "finished_successfully", "end_turn": True, "weight": 1.0,
            "metadata": metadata, "recipient": recipient,
        },
    }


def chatgpt_export() -> list[dict]:
    t0 = 1_700_000_000.0
    nodes = [
        node("root", None, ["hidden-sys"]),
        node("hidden-sys", "root", ["sys"], "system", "", t=None, hidden=True),
        node("sys", "hidden-sys", ["u1"], "system", "Talk like a pirate.", t=t0),
        node("u1", "sys", ["a1", "a1b"], "user", "Tell me about parrots", t=t0 + 10),
        node("a1", "u1", ["gap"], "assistant", "Parrots are birds.", t=t0 + 20, slug="gpt-4o", finish="stop"),
        node("a1b", "u1", ["img"], "assistant", "Arr, parrots be clever!", t=t0 + 40, slug="gpt-4o-mini",
             finish="max_tokens"),
        node("gap", "a1", ["u2"]),  # no message: its child hangs from a1
        node("u2", "gap", ["call"], "user", "And their colours?", t=t0 + 30),
        node("call", "u2", ["out"], "assistant", None, t=t0 + 31, ctype="code", parts=None,
             recipient="python", slug="gpt-4o"),
        node("out", "call", ["a2"], "tool", None, t=t0 + 32, ctype="execution_output", parts=None),
        node("a2", "out", [], "assistant", "Red and green.", t=t0 + 33, slug="gpt-4o", finish="stop"),
        node("img", "a1b", ["a3", "empty"], "user", None, t=t0 + 50, ctype="multimodal_text",
             parts=[{"content_type": "image_asset_pointer", "asset_pointer": "file-x"}, "What is this?"]),
        node("a3", "img", [], "assistant", "A parr", t=t0 + 60, slug="gpt-4o", finish="interrupted"),
        node("empty", "img", [], "assistant", None, t=t0 + 55, parts=[]),
    ]
    for n in nodes:  # the "code" node's content has no parts
        if n["message"] and n["message"]["content"]["content_type"] in ("code", "execution_output"):
            n["message"]["content"] = {"content_type": n["message"]["content"]["content_type"], "text": "print(1)"}
    parrots = {
        "title": "Parrots", "create_time": t0, "update_time": t0 + 60,
        "mapping": {n["id"]: n for n in nodes}, "current_node": "a3",
        "conversation_id": "conv-parrots", "id": "conv-parrots", "is_archived": True,
        "default_model_slug": "gpt-4o",
    }
    empty = {"title": "Nothing", "create_time": t0, "update_time": t0,
             "mapping": {"r": node("r", None, [])}, "current_node": "r", "id": "conv-empty"}
    no_id = {"title": "No id", "create_time": t0 + 100, "update_time": t0 + 101,
             "mapping": {"r": node("r", None, ["q"]), "q": node("q", "r", [], "user", "hello there", t=t0 + 101)},
             "current_node": "q"}
    return [parrots, empty, no_id]


def tree(store: Store, cid: int) -> set[tuple]:
    """The tree as (role, content, parent content) triples."""
    ms = {m.id: m for m in store.messages(cid)}
    return {(m.role, m.content, ms[m.parent_id].content if m.parent_id else None) for m in ms.values()}


def test_chatgpt_import_keeps_the_tree(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(chatgpt_export()))
    calls = []
    report = import_file(store, path, progress=lambda done, total: calls.append((done, total)))
    assert (report.imported, report.messages, report.format) == (2, 9, "chatgpt")
    assert report.skipped == [("Nothing", "no text messages")]
    size = path.stat().st_size  # a list is read item by item; progress counts bytes
    assert calls[0] == (0, size) and calls[-1] == (size, size)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and len(calls) <= 102
    cid = report.conversation_ids[0]
    c = store.get_conversation(cid)
    assert (c.title, c.source, c.source_id, c.archived, c.model) == ("Parrots", "chatgpt", "conv-parrots", True, "gpt-4o")
    assert c.created_at == "2023-11-14T22:13:20.000Z"
    assert tree(store, cid) == {
        ("system", "Talk like a pirate.", None),
        ("user", "Tell me about parrots", "Talk like a pirate."),
        ("assistant", "Parrots are birds.", "Tell me about parrots"),
        ("assistant", "Arr, parrots be clever!", "Tell me about parrots"),
        ("user", "And their colours?", "Parrots are birds."),
        ("assistant", "Red and green.", "And their colours?"),
        ("user", "What is this?", "Arr, parrots be clever!"),
        ("assistant", "A parr", "What is this?"),
    }
    ms = store.messages(cid)
    assert [m.created_at for m in ms] == sorted(m.created_at for m in ms)  # ids follow create_time
    by = {m.content: m for m in ms}
    assert (by["Parrots are birds."].model, by["Parrots are birds."].finish_reason) == ("gpt-4o", "stop")
    assert (by["Arr, parrots be clever!"].model, by["Arr, parrots be clever!"].finish_reason) == ("gpt-4o-mini", "length")
    assert by["A parr"].status == "cancelled"
    assert by["Tell me about parrots"].source_id == "u1"
    assert [m.content for m in store.thread(cid)][-1] == "A parr"  # the newest branch
    no_id = store.get_conversation(report.conversation_ids[1])
    assert no_id.source_id.startswith("sha256:")
    assert history_page(store, query="parrots", filters=HistoryFilter(include_archived=True))[0].id == cid
    fts_ok(store)

    before = counts(store)
    again = import_file(store, path)
    assert (again.imported, again.messages, again.updated) == (0, 0, 0)
    assert sorted(again.skipped) == sorted([("Nothing", "no text messages"), ("Parrots", "already imported"),
                                            ("No id", "already imported")])
    assert counts(store) == before

    # A later export of the same conversation: only its new message is added.
    data = chatgpt_export()
    data[0]["mapping"]["a2"]["children"] = ["u3"]
    data[0]["mapping"]["u3"] = node("u3", "a2", [], "user", "Thanks, matey", t=1_700_000_100.0)
    report = import_data(store, data)
    assert (report.imported, report.updated, report.messages) == (0, 1, 1)
    assert ("user", "Thanks, matey", "Red and green.") in tree(store, cid)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d[2].pop("mapping"), "conversations.json: item 3 ('No id'): 'mapping' missing"),
    (lambda d: d[0]["mapping"].__setitem__("u1", "oops"), "conversations.json: item 1 ('Parrots'): node 'u1' is not an object"),
    (lambda d: d.append(7), "conversations.json: item 4: not an object"),
    (lambda d: d[0]["mapping"]["a1"].__setitem__("parent", "a2"), "parents form a cycle"),
])
def test_malformed_chatgpt_file_imports_nothing(store: Store, tmp_path: Path, mutate, message) -> None:
    chat(store, "already here")
    import_data(store, chatgpt_export()[2:])  # something imported before, too
    before = counts(store)
    data = chatgpt_export()
    mutate(data)
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ImportError_) as info:
        import_file(store, path)
    assert message in str(info.value)
    assert counts(store) == before


def test_unreadable_files(store: Store, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    good = json.dumps(chatgpt_export())
    for text, where in ((good[:-1], "line 1 column"),  # cut off after the last item
                        (good[:len(good) // 2], "line 1 column"),  # cut in the middle
                        (good.replace("}, {", "} {", 1), "Expecting ',' delimiter"),
                        (good + " []", "Extra data")):
        bad.write_text(text)
        with pytest.raises(ImportError_, match=rf"bad.json: not valid JSON: .*{where}"):
            import_file(store, bad)
        assert counts(store) == (0, 0, 0, 0, 0)
    bad.write_text(" [ ] ")
    assert import_file(store, bad).imported == 0
    bad.write_text('{"hello": 1}')
    with pytest.raises(ImportError_, match="not a format chat-tui imports"):
        import_file(store, bad)
    with pytest.raises(ImportError_, match="cannot read"):
        import_file(store, tmp_path / "missing.json")
    assert counts(store) == (0, 0, 0, 0, 0)


def test_chatgpt_zip(store: Store, tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("conversations.json", json.dumps(chatgpt_export()))
        z.writestr("user.json", "{}")
    assert import_file(store, path).imported == 2


# -- chat-tui round trip ------------------------------------------------------------------


def branchy(store: Store) -> int:
    """Regenerations, an edit, an error, a compare run with a pick, token counts, logprobs."""
    cid = store.create_conversation(title="Branches", model="gpt-4o", params={"temperature": 0.5},
                                    system_prompt="Be brief.", endpoint="openai")
    s = store.add_message(cid, "system", "Be brief.")
    u = store.add_message(cid, "user", "Name a colour", parent_id=s)
    a1 = store.begin_assistant(cid, parent_id=u, model="gpt-4o", params={"temperature": 0.5}, endpoint="openai")
    store.finish_assistant(a1, "Blue", "complete", finish_reason="stop", prompt_tokens=12, completion_tokens=1,
                           prompt_tokens_local=12, completion_tokens_local=1, tokens_exact=True, ttft=0.25,
                           duration=0.5, system_fingerprint="fp_1", logprobs={"content": [{"token": "Blue", "logprob": -0.1}]})
    a2 = store.begin_assistant(cid, parent_id=u, model="gpt-4o", params={"temperature": 1.4}, endpoint="openai")
    store.finish_assistant(a2, "Chartreuse, obviously", "cancelled")
    u2 = store.add_message(cid, "user", "Name a shape", parent_id=s)  # an edit
    a3 = store.begin_assistant(cid, parent_id=u2, model="o3-mini", params={"seed": 7}, endpoint="local")
    store.finish_assistant(a3, "Tri", "error", error="HTTP 500")
    lanes = []
    for label, temp in (("A", 0.0), ("B", 1.2)):
        mid = store.begin_assistant(cid, parent_id=u2, model="gpt-4o", params={"temperature": temp}, endpoint="openai")
        store.finish_assistant(mid, f"Circle {label}", "complete", completion_tokens=2)
        lanes.append({"label": label, "model": "gpt-4o", "params": {"temperature": temp}, "message_id": mid,
                      "preset": "warm" if label == "B" else None})
    run = store.record_compare(cid, u2, lanes, blind=True)
    store.pick_compare(run, lanes[1]["message_id"], note="rounder")
    streaming = store.begin_assistant(cid, parent_id=u2, model="gpt-4o", params={}, endpoint="openai")
    store.flush_partial(streaming, "half an ans")
    h.set_pinned(store, cid, True)
    return cid


SAME = ("role", "name", "content", "created_at", "updated_at", "model", "params", "endpoint", "error",
        "finish_reason", "prompt_tokens", "completion_tokens", "prompt_tokens_local",
        "completion_tokens_local", "tokens_exact", "ttft", "duration", "system_fingerprint", "logprobs")


def assert_same_tree(a: Store, acid: int, b: Store, bcid: int) -> None:
    ma, mb = a.messages(acid), b.messages(bcid)
    assert len(ma) == len(mb)
    pos_a = {m.id: i for i, m in enumerate(ma)}
    pos_b = {m.id: i for i, m in enumerate(mb)}
    for x, y in zip(ma, mb):
        same = [k for k in SAME if not (k == "error" and x.status == "streaming")]
        assert {k: getattr(x, k) for k in same} == {k: getattr(y, k) for k in same}
        assert pos_a.get(x.parent_id) == pos_b.get(y.parent_id)
        # A reply exported mid-stream has no writer in the new file.
        assert y.status == ("interrupted" if x.status == "streaming" else x.status)
    ra, rb = a.compare_runs(acid), b.compare_runs(bcid)
    assert len(ra) == len(rb)
    for x, y in zip(ra, rb):
        assert (x.blind, x.note, x.created_at) == (y.blind, y.note, y.created_at)
        assert pos_a[x.user_message_id] == pos_b[y.user_message_id]
        assert pos_a[x.picked_message_id] == pos_b[y.picked_message_id]
        assert [(l.lane, l.label, l.preset, l.model, l.params, pos_a[l.message_id]) for l in x.lanes] == \
               [(l.lane, l.label, l.preset, l.model, l.params, pos_b[l.message_id]) for l in y.lanes]


def test_export_import_round_trip(store: Store, tmp_path: Path) -> None:
    cid = branchy(store)
    plain = chat(store, "plain")
    doc = store.export_conversation(cid)
    assert detect_format(doc) == "chat-tui" and detect_format([doc]) == "chat-tui"
    path = tmp_path / "one.json"
    path.write_text(json.dumps(doc))
    with Store(tmp_path / "fresh.db") as fresh:
        report = import_file(fresh, path)
        assert (report.imported, report.format) == (1, "chat-tui")
        new = report.conversation_ids[0]
        assert_same_tree(store, cid, fresh, new)
        c0, c1 = store.get_conversation(cid), fresh.get_conversation(new)
        for k in ("title", "created_at", "updated_at", "model", "params", "system_prompt", "endpoint", "pinned"):
            assert getattr(c0, k) == getattr(c1, k), k
        assert (c1.source, c1.source_id) == ("chat-tui", f"{cid}@{c0.created_at}")
        interrupted = [m for m in fresh.messages(new) if m.status == "interrupted"]
        assert len(interrupted) == 1 and interrupted[0].content == "half an ans"
        fts_ok(fresh)
        # Idempotent there, and an export of the copy still points at the original.
        assert import_file(fresh, path).skipped == [("Branches", "already imported")]
        back = fresh.export_conversation(new)
    report = import_data(store, back)  # into the database it came from
    assert report.imported == 0 and report.skipped == [("Branches", "already imported")]

    multi = export_conversations(store, [cid, plain])
    assert multi["format"] == "chat-tui-conversations" and len(multi["conversations"]) == 2
    with Store(tmp_path / "fresh2.db") as fresh:
        calls = []
        report = import_data(fresh, json.loads(json.dumps(multi)), progress=lambda *a: calls.append(a))
        assert (report.imported, report.messages) == (2, len(store.messages(cid)) + 2)
        assert calls == [(0, 2), (1, 2), (2, 2)]  # conversations, for data already loaded
        assert_same_tree(store, cid, fresh, report.conversation_ids[0])
        assert_same_tree(store, plain, fresh, report.conversation_ids[1])
        assert import_data(fresh, multi["conversations"]).imported == 0  # the plain-list form


def test_import_keeps_creation_order_across_branches(store: Store, tmp_path: Path) -> None:
    """A regeneration made after an edit is still the newest message (and leaf) once imported:
    the new ids follow the old ones, not a walk of the tree."""
    cid = store.create_conversation(title="order")
    u1 = store.add_message(cid, "user", "first question")
    store.add_message(cid, "assistant", "first answer", parent_id=u1)
    u2 = store.add_message(cid, "user", "edited question")
    store.add_message(cid, "assistant", "answer to the edit", parent_id=u2)
    store.add_message(cid, "assistant", "regenerated first answer", parent_id=u1)
    with Store(tmp_path / "fresh.db") as fresh:
        new = import_data(fresh, store.export_conversation(cid)).conversation_ids[0]
        assert [m.content for m in fresh.messages(new)] == [m.content for m in store.messages(cid)]
        assert [m.content for m in fresh.thread(new)] == ["first question", "regenerated first answer"]
        assert_same_tree(store, cid, fresh, new)


def test_bad_chat_tui_export_imports_nothing(store: Store) -> None:
    doc = store.export_conversation(branchy(store))
    before = counts(store)
    good = json.loads(json.dumps(doc))
    good["conversation"]["id"] = 4242  # another conversation, so it would import
    bad = json.loads(json.dumps(doc))
    bad["messages"][3]["parent_id"] = 999_999
    with pytest.raises(ImportError_, match=r"x.json: item 2: message \d+: parent 999999 is not in the file"):
        import_data(store, {"format": "chat-tui-conversations", "format_version": 1,
                            "conversations": [good, bad]}, name="x.json")
    bad = json.loads(json.dumps(doc))
    bad["messages"][2]["params"] = {"api_key": "sk-123"}
    with pytest.raises(ImportError_, match="credentials are never stored"):
        import_data(store, bad)
    bad = json.loads(json.dumps(doc))
    bad["format_version"] = 99
    with pytest.raises(ImportError_, match="newer"):
        import_data(store, bad)
    assert counts(store) == before


# -- CLI ----------------------------------------------------------------------------------


def listing(*extra: str) -> list[dict]:
    out = run_cli("history", "list", "--json", *extra)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_cli_import_pin_archive_delete(tmp_path: Path, isolated_env: Path) -> None:
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(chatgpt_export()))
    out = run_cli("history", "import", str(path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "imported 2 conversations (9 messages), skipped 1: Nothing (no text messages)"
    out = run_cli("history", "import", str(path), "--json")
    doc = json.loads(out.stdout)
    assert doc["imported"] == 0 and len(doc["skipped"]) == 3

    bad = tmp_path / "broken.json"
    bad.write_text(json.dumps([chatgpt_export()[0], {"title": "x"}]))
    out = run_cli("history", "import", str(bad))
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == ["chat-tui: error: broken.json: item 2 ('x'): 'mapping' missing"]

    rows = listing()
    assert [r["title"] for r in rows] == ["No id"]  # "Parrots" came archived
    parrots = next(r for r in listing("--archived") if r["title"] == "Parrots")
    assert parrots["title"] == "Parrots" and parrots["archived"] is True
    assert run_cli("history", "unarchive", str(parrots["id"])).stdout == f"unarchived conversation {parrots['id']}\n"
    out = run_cli("history", "pin", str(parrots["id"]))
    assert out.returncode == 0 and "pinned" in out.stdout
    assert [r["pinned"] for r in listing()] == [True, False]
    out = run_cli("history", "list")
    assert out.stdout.splitlines()[0].split()[0] == f"{parrots['id']}*"
    assert [r["title"] for r in listing("-m", "gpt-4o", "--param", "temperature>1")] == []
    assert [r["title"] for r in listing("--since", "2023-11-14", "--until", "2023-11-14")] == ["Parrots", "No id"]
    assert run_cli("history", "list", "--since", "yesterday").returncode == 2

    hits = json.loads(run_cli("history", "search", "colours", "--json").stdout)
    assert [h["conversation_id"] for h in hits] == [parrots["id"]] and "[colours]" in hits[0]["snippet"]
    assert hits[0]["message_id"]

    # Deleting moves to the trash (no question: it is undone with restore); purge empties it.
    pid = parrots["id"]
    out = run_cli("history", "delete", str(pid))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("moved 1 conversation to the trash") and f"history restore {pid}" in out.stdout
    assert [r["title"] for r in listing()] == ["No id"]
    assert run_cli("history", "search", "colours", "--json").stdout.strip() == "[]"  # gone from search too
    trash = json.loads(run_cli("history", "trash", "--json").stdout)
    assert [(c["id"], c["title"]) for c in trash] == [(pid, "Parrots")] and trash[0]["deleted_at"]
    out = run_cli("history", "restore", str(pid))
    assert out.returncode == 0 and out.stdout == f"restored conversation {pid}\n"
    assert [r["title"] for r in listing()] == ["Parrots", "No id"]
    out = run_cli("history", "restore", str(pid))
    assert out.returncode == 1 and out.stderr.strip() == f"chat-tui: error: conversation {pid} is not in the trash"
    assert run_cli("history", "delete", str(pid), "--yes").returncode == 0
    out = run_cli("history", "purge")
    assert out.returncode == 2 and "--yes" in out.stderr  # for good: asks, and refuses without a terminal
    assert len(json.loads(run_cli("history", "trash", "--json").stdout)) == 1
    out = run_cli("history", "purge", "--yes")
    assert out.returncode == 0 and out.stdout == "deleted 1 conversation for good\n"
    assert json.loads(run_cli("history", "trash", "--json").stdout) == []
    assert run_cli("history", "restore", str(pid)).returncode == 1
    assert [r["title"] for r in listing()] == ["No id"]
    out = run_cli("history", "pin", "999")
    assert out.returncode == 1 and out.stderr.strip() == "chat-tui: error: no conversation 999"


def test_cli_export_several_and_import_elsewhere(tmp_path: Path) -> None:
    with Store(Path(run_cli_db_path())) as store:
        a, b = branchy(store), chat(store, "second")
    out = run_cli("history", "export", str(a), str(b), "--format", "json", "--output", str(tmp_path / "both.json"))
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "both.json").read_text())
    assert doc["format"] == "chat-tui-conversations" and len(doc["conversations"]) == 2
    md = run_cli("history", "export", str(a), str(b)).stdout
    assert md.startswith("# Branches") and "\n---\n\n# second" in md
    other = tmp_path / "other.db"
    out = run_cli("history", "import", str(tmp_path / "both.json"), "--db", str(other))
    assert out.returncode == 0 and out.stdout.startswith("imported 2 conversations"), out.stderr
    with Store(other) as fresh, Store(Path(run_cli_db_path())) as store:
        assert_same_tree(store, a, fresh, 1)


def test_cli_purge_asks_on_a_terminal(tmp_path: Path) -> None:
    import os
    import subprocess

    from conftest import CHAT_TUI

    with Store(Path(run_cli_db_path())) as store:
        cid = chat(store, "to go")

    assert run_cli("history", "delete", str(cid)).returncode == 0

    def purge(answer: bytes) -> subprocess.CompletedProcess:
        master, slave = os.openpty()
        try:
            proc = subprocess.Popen([str(CHAT_TUI), "history", "purge"], stdin=slave,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            os.write(master, answer)
            out, err = proc.communicate(timeout=60)
        finally:
            os.close(slave)
            os.close(master)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    out = purge(b"n\n")
    assert out.returncode == 1 and "Delete the 1 conversation in the trash for good? [y/N]" in out.stderr
    assert "nothing deleted" in out.stderr
    with Store(Path(run_cli_db_path())) as store:
        assert store.get_conversation(cid) is not None
    out = purge(b"y\n")
    assert out.returncode == 0 and out.stdout == "deleted 1 conversation for good\n"
    with Store(Path(run_cli_db_path())) as store:
        assert store.get_conversation(cid) is None


def run_cli_db_path() -> str:
    import os

    return os.path.join(os.environ["CHAT_TUI_HOME"], "chat-tui.db")
