"""Every earlier database opens and upgrades to the current schema (version 5: messages made of
parts, tool calls, attachments; version 6: documents and endpoint features; version 7: images; version 8: message vectors; version 9: moderation checks; version 10: templates and roles; version 11: reasoning; version 12: tool switches per conversation), its rows reading as before; an up-to-date file is opened
without taking the write lock."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlite_utils import Database

from chat_tui.core.messages import ChatMessage, ImagePart, TextPart, ToolCall
from chat_tui.services.chat import request_history
from chat_tui.store import Store, documents, images, schema, vectors
from chat_tui.store.attachments import add_attachment, attachments, blob_path, read_blob, save_blob


def old_database(path: Path, version: int) -> None:
    """A file at schema `version` holding one text conversation, as that version wrote it."""
    conn = sqlite3.connect(path, isolation_level=None)
    db = Database(conn)
    assert schema.migrate(db, str(path), schema.MIGRATIONS[:version]) == version
    if version:
        db.execute("INSERT INTO conversations (title, model, params) VALUES ('old', 'gpt-4', '{\"temperature\": 0.5}')")
        db.execute("INSERT INTO messages (conversation_id, role, content) VALUES (1, 'user', 'an old question')")
        db.execute("INSERT INTO messages (conversation_id, parent_id, role, content, model, status, finish_reason)"
                   " VALUES (1, 1, 'assistant', 'an old answer', 'gpt-4', 'complete', 'stop')")
    conn.close()


@pytest.mark.parametrize("version", range(len(schema.MIGRATIONS)))
def test_every_earlier_version_upgrades_and_reads_as_before(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.db"
    old_database(path, version)
    with Store(path) as store:
        assert store.schema_version == len(schema.MIGRATIONS) == 12
        if version:
            thread = store.thread(1)
            assert [(m.role, m.content, m.parts, m.tool_calls, m.tool_call_id) for m in thread] == [
                ("user", "an old question", None, None, None), ("assistant", "an old answer", None, None, None)]
            assert [m.to_wire() for m in request_history(thread)] == [
                {"role": "user", "content": "an old question"}, {"role": "assistant", "content": "an old answer"}]
            assert store.search("question")[0].message_id == 1  # the index survived
            # Version 9: moderation checks of the old messages can be kept, and go with them.
            from chat_tui.store.moderations import add_moderation, latest_moderations

            add_moderation(store, 2, True, {"hate": True}, {"hate": 0.9}, "omni-moderation-latest")
            assert latest_moderations(store, [1, 2])[2].scores == {"hate": 0.9}
            with store._write() as db:
                db.execute("DELETE FROM messages WHERE id = 2")
            assert latest_moderations(store, [2]) == {}  # deleting a message deletes its checks
            cid = 1
        else:
            cid = store.create_conversation(title="new")
        # What version 5 adds works on the upgraded file.
        image = (TextPart("what is this?"), ImagePart("data:image/png;base64,iVBORw0KGgo=", "low"))
        user = store.add_message(cid, "user", image)
        call = store.add_message(cid, "assistant", "", parent_id=user, tool_calls=(ToolCall("call_1", "lookup", '{"q": "x"}'),))
        result = store.add_message(cid, "tool", "found it", parent_id=call, tool_call_id="call_1")
        rows = {m.id: m for m in store.messages(cid)}
        assert rows[user].content == "what is this?" and rows[user].to_chat_message().content == image
        assert rows[call].to_chat_message().tool_calls == (ToolCall("call_1", "lookup", '{"q": "x"}'),)
        assert rows[result].to_chat_message() == ChatMessage("tool", "found it", tool_call_id="call_1")
        sha = save_blob(tmp_path / "blobs", b"\x89PNG")
        add_attachment(store, user, 1, "image", sha, name="x.png", mime="image/png", size=4)
        assert [(a.position, a.kind, a.name, a.sha256) for a in attachments(store, user)] == [(1, "image", "x.png", sha)]
        # What version 6 adds: old conversations are chats; documents, accepted choices, features.
        assert store.get_conversation(cid).kind == "chat" and store.get_conversation(cid).document is None
        doc = documents.create_document(store, "completion", "Once upon a time", model="davinci-002")
        round_ = store.add_message(doc, "user", "Once upon a time")
        choice = store.begin_assistant(doc, parent_id=round_, model="davinci-002", params={"suffix": "."}, endpoint=None)
        store.finish_assistant(choice, " there was", "complete")
        documents.set_accepted(store, choice, True)
        documents.save_document(store, doc, "Once upon a time there was")
        assert (store.get_conversation(doc).kind, store.get_conversation(doc).document) == ("completion", "Once upon a time there was")
        assert store.get_message(choice).accepted is True and store.get_message(round_).accepted is None
        documents.remember_endpoint_feature(store, "local", "edits", "emulated")
        documents.remember_endpoint_feature(store, "local", "edits", "native")
        assert documents.endpoint_feature(store, "local", "edits") == "native"
        assert documents.endpoint_feature(store, "openai", "edits") is None
        assert read_blob(tmp_path / "blobs", sha) == b"\x89PNG"
        # What version 7 adds: images, findable by prompt; a chat's image follows its conversation.
        made = images.add_image(store, "generate", sha, prompt="A lighthouse at dusk", model="dall-e-3",
                                revised_prompt="A tall lighthouse", params={"size": "1024x1024"}, mime="image/png",
                                width=1, height=1, cost=0.04, conversation_id=cid, message_id=user, endpoint="openai")
        assert [i.id for i in images.search_images(store, "lighthouse dusk")] == [made]
        assert [i.id for i in images.search_images(store, "tall")] == [made]
        # What version 8 adds: vectors per model and size, the backlog, deleted with their message.
        assert vectors.backlog_size(store, "text-embedding-3-small", 2) >= 1
        vectors.save_vectors(store, "text-embedding-3-small", [(user, 0, b"\x00\x00\x80\x3f" * 2)])
        assert [s.dimensions for s in vectors.spaces(store)] == [2]
        store.delete_conversation(cid)
        assert (images.get_image(store, made).conversation_id, images.get_image(store, made).message_id) == (None, None)
        assert vectors.spaces(store) == []


def test_the_request_carries_parts_and_the_tool_loop(tmp_path: Path) -> None:
    with Store(tmp_path / "t.db") as store:
        cid = store.create_conversation()
        user = store.add_message(cid, "user", (TextPart("see"), ImagePart("https://x/y.png")))
        call = store.add_message(cid, "assistant", "", parent_id=user, tool_calls=(ToolCall("c", "f", "{}"),))
        store.add_message(cid, "tool", "42", parent_id=call, tool_call_id="c")
        wire = [m.to_wire() for m in request_history(store.thread(cid))]
    assert wire == [
        {"role": "user", "content": [{"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "content": "42", "tool_call_id": "c"},
    ]


def test_blobs_are_stored_once_by_content(tmp_path: Path) -> None:
    a = save_blob(tmp_path, b"same bytes")
    b = save_blob(tmp_path, b"same bytes")
    assert a == b and blob_path(tmp_path, a).read_bytes() == b"same bytes"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [a]  # no temporary file left


@pytest.mark.timing
def test_an_up_to_date_file_opens_while_another_process_writes(tmp_path: Path) -> None:
    """Opening takes no write lock when there is nothing to migrate: a reader is not held up
    by another process's long write transaction."""
    path = tmp_path / "busy.db"
    Store(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # holds the write lock
    try:
        started = time.monotonic()
        with Store(path) as store:
            assert store.schema_version == len(schema.MIGRATIONS)
        assert time.monotonic() - started < 1.0
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_parts_and_tool_calls_survive_export_and_import(tmp_path: Path) -> None:
    from chat_tui.store.importer import import_data

    with Store(tmp_path / "a.db") as store:
        cid = store.create_conversation(title="tools")
        user = store.add_message(cid, "user", (TextPart("see"), ImagePart("https://x/y.png", "high")))
        call = store.add_message(cid, "assistant", "", parent_id=user, tool_calls=(ToolCall("c", "f", '{"a": 1}'),))
        store.add_message(cid, "tool", "42", parent_id=call, tool_call_id="c")
        document = store.export_conversation(cid)
        before = [m.to_chat_message() for m in store.thread(cid)]
    with Store(tmp_path / "b.db") as other:
        report = import_data(other, document)
        assert report.imported == 1
        after = [m.to_chat_message() for m in other.thread(report.conversation_ids[0])]
    assert after == before


def test_version_8_makes_message_vectors_and_9_moderations() -> None:
    assert [f.__name__ for f in schema.MIGRATIONS[7:9]] == ["_v8", "_v9_moderation"]
    db = Database(sqlite3.connect(":memory:"))
    schema.MIGRATIONS[7](db)
    assert "message_vectors" in db.table_names() and "moderations" not in db.table_names()
    schema.MIGRATIONS[8](db)
    assert "moderations" in db.table_names()


@pytest.mark.parametrize("version", range(10))
def test_version_10_adds_templates_to_every_earlier_file(tmp_path: Path, version: int) -> None:
    """`_v10_templates`: saved prompt templates and roles, on a file upgraded from any version
    (the old conversation still reads as before)."""
    from chat_tui.core.templates import Template
    from chat_tui.services.templates import Templates

    assert schema.MIGRATIONS[9].__name__ == "_v10_templates"
    path = tmp_path / f"v{version}.db"
    old_database(path, version)
    with Store(path) as store:
        assert store.schema_version == len(schema.MIGRATIONS)
        if version:
            assert [m.content for m in store.thread(1)] == ["an old question", "an old answer"]
        templates = Templates(store)
        templates.save(Template("summary", prompt="Sum up {{input}}"))
        templates.save(Template("reviewer", kind="role", system_prompt="Review.", model="gpt-4o",
                                params={"temperature": 0.2}))
        assert [(t.name, t.kind) for t in templates.list()] == [("reviewer", "role"), ("summary", "prompt")]
        assert templates.get("reviewer").params == {"temperature": 0.2}
        with pytest.raises(sqlite3.IntegrityError):  # the kind is checked by the table too
            store.db.execute("INSERT INTO templates (name, kind) VALUES ('x', 'other')")


@pytest.mark.parametrize("version", range(11))
def test_version_11_keeps_reasoning_apart_on_every_upgraded_file(tmp_path: Path, version: int) -> None:
    """`_v11_reasoning`: old rows have no reasoning; a new reply keeps it in its own columns,
    and the next request carries the answer only."""
    assert schema.MIGRATIONS[10].__name__ == "_v11_reasoning"
    path = tmp_path / f"v{version}.db"
    old_database(path, version)
    with Store(path) as store:
        columns = {row[1] for row in store.db.execute("PRAGMA table_info(messages)")}
        assert {"reasoning", "reasoning_tokens", "reasoning_tokens_local", "reasoning_duration"} <= columns
        if version:
            old = store.get_message(2)
            assert (old.reasoning, old.reasoning_tokens, old.reasoning_duration) == (None, None, None)
            cid, parent = 1, 2
        else:
            cid, parent = store.create_conversation(title="new"), None
        user = store.add_message(cid, "user", "think first", parent_id=parent)
        mid = store.begin_assistant(cid, parent_id=user, model="o4-mini", params={"reasoning_effort": "high"}, endpoint=None)
        assert store.flush_partial(mid, "", "Let me see")
        assert store.get_message(mid).reasoning == "Let me see"
        store.finish_assistant(mid, "42", "complete", completion_tokens=12, reasoning="Let me see. 6 times 7.",
                               reasoning_tokens=9, reasoning_tokens_local=8, reasoning_duration=1.5)
        row = store.get_message(mid)
        assert (row.content, row.reasoning, row.reasoning_tokens, row.reasoning_tokens_local, row.reasoning_duration) == (
            "42", "Let me see. 6 times 7.", 9, 8, 1.5)
        assert request_history(store.thread(cid))[-1].to_wire() == {"role": "assistant", "content": "42"}
        assert store.search("times") == []  # the index holds answers, not thoughts


@pytest.mark.parametrize("version", range(12))
def test_version_12_keeps_tool_switches_per_conversation_on_every_upgraded_file(tmp_path: Path, version: int) -> None:
    """`_v12_tool_switches`: an old conversation has every tool on; switches saved for one
    conversation are its own, replaced as a whole, and go with it when it is deleted."""
    from chat_tui.core.tools import ToolSwitches
    from chat_tui.store.tool_switches import save_tool_switches, tool_switches

    assert schema.MIGRATIONS[11].__name__ == "_v12_tool_switches"
    path = tmp_path / f"v{version}.db"
    old_database(path, version)
    with Store(path) as store:
        cid = 1 if version else store.create_conversation(title="old")
        other = store.create_conversation(title="other")
        assert tool_switches(store, cid) == ToolSwitches() and not tool_switches(store, cid)
        off = ToolSwitches(frozenset({"search"}), frozenset({("math", "die"), ("math", "slow")}))
        save_tool_switches(store, cid, off)
        assert tool_switches(store, cid) == off and tool_switches(store, other) == ToolSwitches()
        save_tool_switches(store, cid, ToolSwitches(tools_off=frozenset({("math", "die")})))
        assert tool_switches(store, cid) == ToolSwitches(tools_off=frozenset({("math", "die")}))
        with store._write() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", [cid])
        assert store.db.execute("SELECT count(*) FROM conversation_tools_off").fetchone()[0] == 0
