"""Tests for chat_tui.store: schema and migrations, the message tree, search, presets,
crash recovery and two processes sharing one file."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlite_utils import Database

from chat_tui.core.messages import ChatMessage
from chat_tui.store import (
    NotFoundError,
    SchemaTooNewError,
    Store,
    StoreError,
)
from chat_tui.store import schema
from chat_tui.store.encoding import now

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "chat.db"


@pytest.fixture
def store(path: Path):
    with Store(path) as s:
        yield s


def run_python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
        **kwargs,
    )


def tick() -> None:
    """Wait until the store's clock (millisecond timestamps) moves on."""
    start = now()
    while now() == start:
        time.sleep(0.001)


def fts_integrity_ok(store: Store) -> None:
    # rank=1 also compares the index with the external content (the view).
    store.db.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")


# Schema and migrations

EXPECTED_COLUMNS = {
    "conversations": [
        "id", "title", "created_at", "updated_at", "model", "params", "system_prompt",
        "endpoint", "pinned", "archived", "deleted_at", "source", "source_id", "title_source",
        "kind", "document",
    ],
    "messages": [
        "id", "conversation_id", "parent_id", "role", "name", "content", "created_at",
        "updated_at", "model", "params", "endpoint", "status", "error", "finish_reason",
        "prompt_tokens", "completion_tokens", "prompt_tokens_local",
        "completion_tokens_local", "tokens_exact", "ttft", "duration", "system_fingerprint",
        "logprobs", "writer_pid", "source_id", "parts", "tool_calls", "tool_call_id",
        "accepted", "reasoning", "reasoning_tokens", "reasoning_tokens_local", "reasoning_duration",
    ],
    "presets": ["id", "name", "params", "created_at", "updated_at"],
    "attachments": ["id", "message_id", "position", "kind", "name", "mime", "size", "sha256", "created_at"],
    "endpoint_features": ["endpoint", "feature", "value", "updated_at"],
    "images": ["id", "created_at", "kind", "prompt", "revised_prompt", "model", "params", "sha256", "mime",
               "width", "height", "cost", "conversation_id", "message_id", "endpoint"],
}


def assert_final_schema(db) -> None:
    db = Database(db.conn)  # the Store's own connection is plain sqlite3 (store/sql.py)
    for table, columns in EXPECTED_COLUMNS.items():
        assert [c.name for c in db[table].columns] == columns, table
    assert "messages_fts" in db.table_names() and "images_fts" in db.table_names()
    assert "messages_searchable" in db.view_names()
    triggers = {t.name for t in db.triggers}
    assert {"messages_fts_insert", "messages_fts_update", "messages_fts_delete"} <= triggers
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS)


def test_new_file_gets_parent_dirs_final_schema_and_pragmas(path: Path) -> None:
    with Store(path) as s:
        assert path.exists()
        assert_final_schema(s.db)
        assert s.schema_version == len(schema.MIGRATIONS)
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert s.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_reopening_is_idempotent(path: Path) -> None:
    with Store(path) as s:
        cid = s.create_conversation(title="kept")
    with Store(path) as s:
        assert_final_schema(s.db)
        assert s.get_conversation(cid).title == "kept"


def test_empty_version_0_file_is_upgraded(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.touch()  # zero bytes: a valid, empty database at version 0
    with Store(path) as s:
        assert_final_schema(s.db)


def test_version_0_file_with_unrelated_content_is_upgraded(path: Path) -> None:
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.commit()
    conn.close()
    with Store(path) as s:
        assert_final_schema(s.db)
        assert s.db.execute("SELECT body FROM notes").fetchall() == [("mine",)]


def test_newer_schema_is_refused_and_left_untouched(path: Path) -> None:
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE future (x)")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(SchemaTooNewError, match="version 99") as info:
        Store(path)
    assert info.value.found == 99 and info.value.known == len(schema.MIGRATIONS)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not Path(f"{path}-wal").exists()  # not even switched to WAL


def test_not_a_database_is_a_clear_error(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        Store(path)


def test_migrations_apply_in_order_one_transaction_each(tmp_path: Path) -> None:
    db = Database(sqlite3.connect(tmp_path / "m.db", isolation_level=None))

    def step(n: int, fail: bool = False):
        def run(d: Database) -> None:
            d.execute(f"CREATE TABLE t{n} (x)")
            if fail:
                raise RuntimeError("boom")
        return run

    with pytest.raises(RuntimeError):
        schema.migrate(db, "m.db", [step(0), step(1), step(2, fail=True)])
    # Steps 0 and 1 committed; the failed step left no trace.
    assert schema.user_version(db) == 2
    assert set(db.table_names()) == {"t0", "t1"}
    # Reopening at the intermediate version runs only the remaining step.
    assert schema.migrate(db, "m.db", [step(0), step(1), step(2)]) == 3
    assert set(db.table_names()) == {"t0", "t1", "t2"}
    with pytest.raises(SchemaTooNewError):
        schema.migrate(db, "m.db", [step(0)])


# Conversations

def test_conversation_crud_and_listing(store: Store) -> None:
    a = store.create_conversation(title="A", model="gpt-4o", params={"temperature": 0.2},
                                  system_prompt="be brief", endpoint="openai")
    b = store.create_conversation()
    tick()
    conv = store.get_conversation(a)
    assert (conv.title, conv.model, conv.params, conv.system_prompt, conv.endpoint) == (
        "A", "gpt-4o", {"temperature": 0.2}, "be brief", "openai")
    assert store.get_conversation(b).params == {}
    assert store.get_conversation(999) is None

    store.add_message(a, "user", "first question about ducks")
    store.add_message(a, "user", "second")
    listed = store.list_conversations()
    assert [c.id for c in listed] == [a, b]  # a was touched by add_message
    assert listed[0].message_count == 2 and listed[0].preview == "first question about ducks"
    assert listed[1].message_count == 0 and listed[1].preview == ""
    assert [c.id for c in store.list_conversations(limit=1, offset=1)] == [b]
    assert store.last_conversation_id() == a

    tick()
    store.rename_conversation(b, "B")
    assert store.get_conversation(b).title == "B"
    assert store.last_conversation_id() == b

    store.set_conversation_defaults(a, model="o3")
    conv = store.get_conversation(a)
    assert conv.model == "o3" and conv.system_prompt == "be brief"  # others untouched
    store.set_conversation_defaults(a, params={"top_p": 0.9}, system_prompt=None)
    conv = store.get_conversation(a)
    assert conv.params == {"top_p": 0.9} and conv.system_prompt is None

    with pytest.raises(NotFoundError):
        store.rename_conversation(999, "x")
    assert store.delete_conversation(b) is True
    assert store.delete_conversation(b) is False
    assert store.get_conversation(b) is None


def test_empty_store(store: Store) -> None:
    assert store.list_conversations() == []
    assert store.last_conversation_id() is None
    assert store.search("anything") == []


@pytest.mark.parametrize(
    "params",
    [{"api_key": "sk-x"}, {"extra_headers": {"Authorization": "Bearer sk-x"}},
     {"headers": [{"X-Api-Key": "k"}]}],
)
def test_credentials_are_never_stored(store: Store, params: dict) -> None:
    with pytest.raises(ValueError, match="credentials"):
        store.create_conversation(params=params)
    cid = store.create_conversation()
    with pytest.raises(ValueError):
        store.begin_assistant(cid, parent_id=None, model="m", params=params, endpoint=None)
    with pytest.raises(ValueError):
        store.save_preset("p", params)
    with pytest.raises(ValueError):
        store.set_conversation_defaults(cid, params=params)


def test_a_response_format_schema_may_name_a_password_field(store: Store) -> None:
    """A JSON Schema's keys name the answer's fields: a sign-up form's "password" is no credential."""
    schema = {"type": "object", "properties": {"password": {"type": "string"}, "api_key": {"type": "string"}},
              "required": ["password", "api_key"], "additionalProperties": False}
    params = {"response_format": {"type": "json_schema", "json_schema": {"name": "signup", "schema": schema}}}
    cid = store.create_conversation(params=params)
    mid = store.begin_assistant(cid, parent_id=None, model="m", params=params, endpoint=None)
    assert store.get_message(mid).params == params and store.get_conversation(cid).params == params
    store.save_preset("signup", params)
    # ...but the rule holds everywhere else in the same params, the json_schema object included
    for bad in ({**params, "api_key": "sk-x"},
                {"response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {}, "secret": "x"}}}):
        with pytest.raises(ValueError, match="credentials"):
            store.begin_assistant(cid, parent_id=None, model="m", params=bad, endpoint=None)


# The message tree

def test_tree_branches_and_threads(store: Store) -> None:
    cid = store.create_conversation()
    u1 = store.add_message(cid, "user", "hi")
    a1 = store.add_message(cid, "assistant", "hello", parent_id=u1)
    a2 = store.add_message(cid, "assistant", "hey there", parent_id=u1)  # regenerate
    u2 = store.add_message(cid, "user", "hi, edited")  # edit-and-resend: a new root
    a3 = store.add_message(cid, "assistant", "hello again", parent_id=u2)
    u3 = store.add_message(cid, "user", "follow-up", parent_id=a1, name="sam")

    assert [m.id for m in store.messages(cid)] == [u1, a1, a2, u2, a3, u3]
    assert [m.id for m in store.children(u1)] == [a1, a2]
    assert store.children(u3) == []
    assert [m.id for m in store.thread(cid)] == [u1, a1, u3]  # newest leaf is u3
    assert [m.id for m in store.thread(cid, a2)] == [u1, a2]
    assert [m.id for m in store.thread(cid, a3)] == [u2, a3]
    assert [m.id for m in store.thread(cid, a1)] == [u1, a1]  # not a leaf: path to it
    assert store.thread(cid)[-1].to_chat_message() == ChatMessage("user", "follow-up", "sam")

    other = store.create_conversation()
    assert store.thread(other) == []
    with pytest.raises(NotFoundError):
        store.thread(other, a1)
    with pytest.raises(NotFoundError):  # a parent must be in the same conversation
        store.add_message(other, "user", "x", parent_id=a1)
    with pytest.raises(NotFoundError):
        store.add_message(12345, "user", "x")
    with pytest.raises(ValueError):
        store.add_message(cid, "robot", "x")
    # The schema itself enforces it too, for anyone writing with sqlite3.
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute(
            "INSERT INTO messages (conversation_id, parent_id, role) VALUES (?, ?, 'user')",
            (other, a1),
        )


def test_foreign_keys_cascade(store: Store) -> None:
    cid = store.create_conversation()
    u = store.add_message(cid, "user", "zebra question")
    a = store.add_message(cid, "assistant", "zebra answer", parent_id=u)
    store.add_message(cid, "user", "zebra followup", parent_id=a)
    keep = store.add_message(cid, "user", "unrelated root zebra")
    store.db.execute("DELETE FROM messages WHERE id = ?", (u,))  # a subtree goes with it
    assert [m.id for m in store.messages(cid)] == [keep]
    assert [h.message_id for h in store.search("zebra")] == [keep]
    assert store.delete_conversation(cid)
    assert store.db.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
    assert store.search("zebra") == []
    fts_integrity_ok(store)


# Streaming replies

def test_assistant_lifecycle(store: Store) -> None:
    cid = store.create_conversation()
    u = store.add_message(cid, "user", "question")
    mid = store.begin_assistant(cid, parent_id=u, model="gpt-4o-mini",
                                params={"temperature": 0.7, "stream": True}, endpoint="openai")
    m = store.get_message(mid)
    assert (m.status, m.content, m.role) == ("streaming", "", "assistant")
    assert m.writer_pid == os.getpid()
    assert m.params == {"temperature": 0.7, "stream": True} and m.endpoint == "openai"

    assert store.flush_partial(mid, "Hel") is True
    assert store.get_message(mid).content == "Hel"
    logprobs = {"content": [{"token": "Hello", "logprob": -0.01, "top_logprobs": []}]}
    store.finish_assistant(
        mid, "Hello!", "complete", finish_reason="stop", prompt_tokens=10,
        completion_tokens=2, prompt_tokens_local=11, completion_tokens_local=2,
        tokens_exact=False, ttft=0.25, duration=1.5, system_fingerprint="fp_1",
        logprobs=logprobs,
    )
    m = store.get_message(mid)
    assert (m.content, m.status, m.finish_reason, m.prompt_tokens, m.completion_tokens) == (
        "Hello!", "complete", "stop", 10, 2)
    assert (m.prompt_tokens_local, m.completion_tokens_local, m.tokens_exact) == (11, 2, False)
    assert (m.ttft, m.duration, m.system_fingerprint, m.logprobs) == (
        0.25, 1.5, "fp_1", logprobs)
    # A late flush (timer firing after the end) must not overwrite the final text.
    assert store.flush_partial(mid, "Hel") is False
    assert store.get_message(mid).content == "Hello!"

    with pytest.raises(ValueError):
        store.finish_assistant(mid, "x", "streaming")
    with pytest.raises(NotFoundError):
        store.finish_assistant(u, "x", "complete")  # not an assistant row
    err = store.begin_assistant(cid, parent_id=u, model="m", params={}, endpoint=None)
    store.finish_assistant(err, "Par", "error", error="HTTP 500", logprobs=[float("nan")])
    m = store.get_message(err)
    assert (m.status, m.error, m.content, m.logprobs) == ("error", "HTTP 500", "Par", [None])


def test_streaming_rows_stay_out_of_the_index_until_finished(store: Store) -> None:
    cid = store.create_conversation()
    mid = store.begin_assistant(cid, parent_id=None, model="m", params={}, endpoint=None)
    for n in range(1, 6):
        store.flush_partial(mid, "quokka " * n * 500)  # grows like a real reply
        assert store.search("quokka") == []
        fts_integrity_ok(store)
    store.finish_assistant(mid, "quokka done", "complete")
    assert [h.message_id for h in store.search("quokka")] == [mid]
    fts_integrity_ok(store)


def test_close_marks_own_unfinished_replies_interrupted(path: Path) -> None:
    with Store(path) as s:
        cid = s.create_conversation()
        mid = s.begin_assistant(cid, parent_id=None, model="m", params={}, endpoint=None)
        s.flush_partial(mid, "half an answer")
    with Store(path) as s:
        m = s.get_message(mid)
        assert (m.status, m.content) == ("interrupted", "half an answer")


# Search

def test_search_finds_ranks_and_marks(store: Store) -> None:
    cid = store.create_conversation(title="Pets")
    old = store.add_message(cid, "user", "My cat likes streaming videos about cats")
    new = store.add_message(cid, "assistant", "Cats stream", parent_id=old)
    store.add_message(cid, "user", "unrelated text")
    hits = store.search("cat stream")  # porter stemming: cats/streaming match
    assert {h.message_id for h in hits} == {old, new}
    assert all(h.conversation_id == cid and h.title == "Pets" for h in hits)
    hit = next(h for h in hits if h.message_id == new)
    assert hit.role == "assistant"
    assert hit.snippet == "[Cats] [stream]"
    assert hit.segments == (("Cats", True), (" ", False), ("stream", True))
    json.dumps(dataclasses.asdict(hit))  # the CLI prints hits as JSON

    assert [h.message_id for h in store.search('"likes streaming"')] == [old]
    assert store.search('"streaming likes"') == []
    assert [h.message_id for h in store.search("unrel*")] != []
    assert len(store.search("cat", limit=1)) == 1
    assert len(store.search("cat", limit=1, offset=1)) == 1
    # Equal relevance: newest first.
    a = store.add_message(cid, "user", "wombat")
    b = store.add_message(cid, "user", "wombat")
    assert [h.message_id for h in store.search("wombat")] == [b, a]


def test_search_follows_updates_and_deletes(store: Store) -> None:
    cid = store.create_conversation()
    mid = store.add_message(cid, "user", "original platypus")
    store.db.execute("UPDATE messages SET content = 'changed echidna' WHERE id = ?", (mid,))
    assert store.search("platypus") == []
    assert [h.message_id for h in store.search("echidna")] == [mid]
    store.db.execute("UPDATE messages SET name = 'x' WHERE id = ?", (mid,))  # no reindex needed
    assert [h.message_id for h in store.search("echidna")] == [mid]
    store.db.execute("DELETE FROM messages WHERE id = ?", (mid,))
    assert store.search("echidna") == []
    fts_integrity_ok(store)
    store.db.execute("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")
    fts_integrity_ok(store)


@pytest.mark.parametrize(
    "query",
    ['foo"bar', "c++", '"', '""', '"unbalanced', "AND", "OR NOT", "-x", "NEAR(a b)", "*",
     "a*b", "col:thing", "^start", "(", ")", "", "   ", "'; DROP TABLE messages; --",
     "\x00", "ünïcödé", "{a b}", "a + b", "what?!"],
)
def test_search_never_raises_on_user_text(store: Store, query: str) -> None:
    cid = store.create_conversation()
    store.add_message(cid, "user", 'foo"bar c++ AND OR NOT near a b start thing what')
    assert isinstance(store.search(query), list)


def test_search_handles_literal_operators(store: Store) -> None:
    cid = store.create_conversation()
    mid = store.add_message(cid, "user", "use c++ and the NEAR keyword")
    assert [h.message_id for h in store.search("c++")] == [mid]
    assert [h.message_id for h in store.search("NEAR")] == [mid]
    assert [h.message_id for h in store.search('foo"bar')] == []
    store.add_message(cid, "user", "see [the docs] about llamas")
    (hit,) = store.search("llamas")
    assert hit.snippet == "see [the docs] about [llamas]"  # readable; brackets ambiguous
    assert hit.segments == (("see [the docs] about ", False), ("llamas", True))  # exact


# Export and presets

def test_export_shape(store: Store) -> None:
    cid = store.create_conversation(title="T", model="m", params={"seed": 1}, endpoint="prof")
    u = store.add_message(cid, "user", "q")
    a = store.begin_assistant(cid, parent_id=u, model="m", params={"seed": 1}, endpoint="prof")
    store.finish_assistant(a, "ans", "complete", tokens_exact=True, logprobs={"content": []})
    store.add_message(cid, "assistant", "alt", parent_id=u)
    data = store.export_conversation(cid)
    json.dumps(data)  # JSON-able as is
    assert data["format"] == "chat-tui-conversation" and data["format_version"] == 1
    assert data["schema_version"] == len(schema.MIGRATIONS)
    assert data["conversation"]["params"] == {"seed": 1}
    assert list(data["conversation"]) == EXPECTED_COLUMNS["conversations"]
    assert [m["id"] for m in data["messages"]] == [m.id for m in store.messages(cid)]
    for m in data["messages"]:
        assert list(m) == EXPECTED_COLUMNS["messages"]
    reply = next(m for m in data["messages"] if m["id"] == a)
    assert reply["tokens_exact"] is True and reply["logprobs"] == {"content": []}
    assert reply["parent_id"] == u
    with pytest.raises(NotFoundError):
        store.export_conversation(999)


def test_presets_round_trip(store: Store) -> None:
    pid = store.save_preset("precise", {"temperature": 0.0})
    store.save_preset("creative", {"temperature": 1.2, "top_p": 0.95})
    first = store.get_preset("precise")
    assert first.id == pid and first.params == {"temperature": 0.0}
    assert [p.name for p in store.list_presets()] == ["creative", "precise"]

    assert store.save_preset("precise", {"temperature": 0.1}) == pid  # upsert keeps the id
    again = store.get_preset("precise")
    assert again.params == {"temperature": 0.1} and again.created_at == first.created_at

    store.rename_preset("precise", "exact")
    assert store.get_preset("precise") is None and store.get_preset("exact").id == pid
    with pytest.raises(ValueError, match="already exists"):
        store.rename_preset("exact", "creative")
    with pytest.raises(NotFoundError):
        store.rename_preset("nope", "x")
    with pytest.raises(ValueError):
        store.save_preset("  ", {})
    assert store.delete_preset("exact") is True
    assert store.delete_preset("exact") is False
    assert [p.name for p in store.list_presets()] == ["creative"]


# Crash recovery and processes

WRITER = """
import sys
from chat_tui.store import Store
s = Store(sys.argv[1])
cid = s.create_conversation(title="crash")
u = s.add_message(cid, "user", "tell me")
a = s.begin_assistant(cid, parent_id=u, model="m", params={}, endpoint="local")
s.flush_partial(a, "partial answer before the kangaroo")
print(a, flush=True)
sys.stdin.readline()  # parked here until killed, or told to finish
s.finish_assistant(a, "the full answer", "complete")
print("finished", flush=True)
"""


def start_writer(path: Path) -> tuple[subprocess.Popen, int]:
    proc = run_python(WRITER, str(path))
    line = proc.stdout.readline()
    assert line.strip().isdigit(), proc.stderr.read()
    return proc, int(line)


def test_killed_writer_leaves_an_interrupted_partial_reply(path: Path) -> None:
    Store(path).close()
    proc, mid = start_writer(path)
    proc.kill()  # SIGKILL: no cleanup runs
    proc.wait()  # reaped, so its pid is really gone
    with Store(path) as s:
        m = s.get_message(mid)
        assert (m.status, m.content) == ("interrupted", "partial answer before the kangaroo")
        assert str(proc.pid) in m.error
        assert [h.message_id for h in s.search("kangaroo")] == [mid]  # indexed now
        assert s.recover_interrupted() == 0


def test_live_writer_is_not_marked_interrupted(path: Path) -> None:
    proc, mid = start_writer(path)
    try:
        with Store(path) as s:  # recovery runs here, while the writer is alive
            assert s.get_message(mid).status == "streaming"
            assert s.recover_interrupted() == 0
            proc.stdin.write("\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "finished"
            assert proc.wait(timeout=30) == 0
            m = s.get_message(mid)
            assert (m.status, m.content) == ("complete", "the full answer")
    finally:
        proc.kill()
        proc.wait()


def test_recovery_rules_within_one_process(path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    with Store(path) as a:
        cid = a.create_conversation()
        live = a.begin_assistant(cid, parent_id=None, model="m", params={}, endpoint=None)
        stale = a.add_message(cid, "assistant", "")
        orphan = a.add_message(cid, "assistant", "")
        no_pid = a.add_message(cid, "assistant", "")
        # Rows left by other processes: one with our pid (a reused pid), one dead, one unknown.
        a.db.execute("UPDATE messages SET status = 'streaming', writer_pid = ? WHERE id = ?",
                     (os.getpid(), stale))
        a.db.execute("UPDATE messages SET status = 'streaming', writer_pid = ? WHERE id = ?",
                     (dead_pid, orphan))
        a.db.execute("UPDATE messages SET status = 'streaming' WHERE id = ?", (no_pid,))
        with Store(path) as b:  # e.g. an export worker's own connection
            assert b.get_message(live).status == "streaming"  # a is streaming it
            for mid in (stale, orphan, no_pid):
                assert b.get_message(mid).status == "interrupted"
        assert a.recover_interrupted() == 0
        a.finish_assistant(live, "done", "complete")


CONCURRENT = """
import sys
from chat_tui.store import Store
path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()  # open together: the new file is created and migrated in a race
s = Store(path)
print("opened", flush=True)
sys.stdin.readline()  # then write together
for i in range(n):
    cid = s.create_conversation(title=f"{tag}-{i}")
    u = s.add_message(cid, "user", f"{tag} question {i}")
    a = s.begin_assistant(cid, parent_id=u, model="m", params={"i": i}, endpoint=None)
    s.flush_partial(a, f"{tag} part")
    s.finish_assistant(a, f"{tag} answer {i}", "complete")
    s.list_conversations(limit=5)
    s.search(tag)
s.close()
print("done", flush=True)
"""


def test_two_processes_write_the_same_file_at_once(path: Path) -> None:
    n = 300
    procs = [run_python(CONCURRENT, str(path), tag, str(n)) for tag in ("alpha", "beta")]
    for step in ("ready", "opened"):
        for p in procs:
            assert p.stdout.readline().strip() == step, p.stderr.read()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "locked" not in err and out.strip() == "done"
    with Store(path) as s:
        assert s.db.execute("SELECT count(*) FROM conversations").fetchone()[0] == 2 * n
        counts = dict(s.db.execute(
            "SELECT status, count(*) FROM messages GROUP BY status").fetchall())
        assert counts == {"complete": 4 * n}
        for tag in ("alpha", "beta"):
            titles = {c.title for c in s.list_conversations(limit=3 * n) if c.title.startswith(tag)}
            assert titles == {f"{tag}-{i}" for i in range(n)}
        # The writers really overlapped: their rows interleave in commit order.
        tags = [t.split("-")[0] for (t,) in s.db.execute(
            "SELECT title FROM conversations ORDER BY id").fetchall()]
        assert sum(a != b for a, b in zip(tags, tags[1:])) >= 2
        fts_integrity_ok(s)


def test_store_imports_no_ui_or_network_code() -> None:
    code = (
        "import sys, chat_tui.store\n"
        "bad = [m for m in ('textual', 'rich', 'httpx', 'chat_tui.ui', 'chat_tui.api')"
        " if m in sys.modules]\n"
        "print(bad)"
    )
    proc = run_python(code)
    out, err = proc.communicate(timeout=30)
    assert out.strip() == "[]", err
