"""Auto-titles (issue 5) below the UI: the provisional title, cleaning a model's reply, the
request, the `[titles]` settings, schema version 4 (`title_source`) and `chat_tui.services.titles`
against the fake server."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import pytest
from sqlite_utils import Database

from fake_openai import Fault, FakeOpenAI
from openapi_spec import validate_request

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Config, ConfigError, Endpoint, TitleSettings, load_config
from chat_tui.core.titles import (
    EXCERPT,
    INSTRUCTION,
    MAX_TITLE,
    clean_title,
    title_from_prompt,
    title_messages,
    title_params,
)
from chat_tui.store import Store, schema
from chat_tui.store.importer import import_data
from chat_tui.services.titles import auto_title, first_exchange


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "chat.db") as s:
        yield s


def exchange(store: Store, prompt: str = "How do ducks sleep?", answer: str = "With one eye open.",
             **kw) -> tuple[int, int]:
    """A new conversation as the app makes it: provisional title, a prompt, a finished answer."""
    cid = store.create_conversation(title=title_from_prompt(prompt), model="gpt-4o-mini", **kw)
    user = store.add_message(cid, "user", prompt)
    mid = store.begin_assistant(cid, parent_id=user, model="gpt-4o-mini", params={}, endpoint="fake")
    store.finish_assistant(mid, answer, "complete")
    return cid, mid


# -- the provisional title --------------------------------------------------------------------


def test_title_from_prompt() -> None:
    assert title_from_prompt("  How do\nducks   sleep?\t") == "How do ducks sleep?"
    long = "word " * 40
    title = title_from_prompt(long)
    assert len(title) <= MAX_TITLE and title.endswith("…") and title.startswith("word word")
    assert not title[:-1].endswith(" ")  # cut at a word
    unbroken = "x" * 100
    assert title_from_prompt(unbroken) == "x" * (MAX_TITLE - 1) + "…"
    assert title_from_prompt("y" * MAX_TITLE) == "y" * MAX_TITLE  # fits exactly: no "…"


# -- cleaning a model's reply ------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [
    ("Ducks and Sleep", "Ducks and Sleep"),
    ('"Ducks and Sleep"', "Ducks and Sleep"),
    ("'Ducks and Sleep'", "Ducks and Sleep"),
    ("“Ducks and Sleep”.", "Ducks and Sleep"),
    ('"Ducks and Sleep".', "Ducks and Sleep"),
    ("«Le sommeil des canards»", "Le sommeil des canards"),
    ('**Title:** "Foo."', "Foo"),
    ("Title: Foo", "Foo"),
    ("title - Foo", "Foo"),
    ("## Foo bar", "Foo bar"),
    ("- Foo bar", "Foo bar"),
    ("*Foo bar*", "Foo bar"),
    ("_Foo bar_", "Foo bar"),
    ("`bisect` in Python.", "bisect in Python"),
    ("Using **bisect** in Python", "Using bisect in Python"),
    ("Python __init__ methods", "Python __init__ methods"),  # a name keeps its underscores
    ("snake_case names", "snake_case names"),
    ("Why is the sky blue?", "Why is the sky blue?"),  # ? and ! stay
    ("Wait for it...", "Wait for it..."),
    ("Title:\nDucks at night", "Ducks at night"),
    ("Here is a title:\n\n*Ducks at night*", "Ducks at night"),
    ("Ducks at night\nThis conversation is about ducks.", "Ducks at night"),  # first line only
    ("  Ducks \t  at\u00a0night  ", "Ducks at night"),
    ("<think>The user asks about ducks.\nA title...</think>\n\nDucks at Night", "Ducks at Night"),
    ("<THINK>x</THINK>Ducks", "Ducks"),
    ("<thinking>\nhmm\n</thinking>Ducks", "Ducks"),
    ("they asked about ducks, so</think>Ducks at Night", "Ducks at Night"),  # opening tag in the template
    ("Ducks\x1b[31m red\x1b[0m\x07", "Ducks red"),  # escape sequences go whole
    ("\x1b]0;pwned\x07Ducks", "Ducks"),
    ("Du\u202ecks\u200b", "Ducks"),  # bidi override, zero-width space
    ("Ducks\x00\x08 sleep", "Ducks sleep"),
])
def test_clean_title(raw: str, expected: str) -> None:
    assert clean_title(raw) == expected


@pytest.mark.parametrize("raw", [
    None, "", "   ", "\n\n", '""', "**", "...", "—", "Title:", "<think>still thinking when cut off",
    "<think>all of it</think>", "\x1b[31m\x1b[0m", "\x00\x01",
])
def test_clean_title_gives_up_on_nothing_usable(raw) -> None:
    assert clean_title(raw) is None


def test_clean_title_cuts_long_replies() -> None:
    title = clean_title("A very long title that goes on " * 10)
    assert len(title) <= MAX_TITLE and title.endswith("…") and "\n" not in title
    assert clean_title("y" * 5000) == "y" * (MAX_TITLE - 1) + "…"


# -- the request ---------------------------------------------------------------------------------


def test_title_messages_cut_long_exchanges_and_drop_thinking() -> None:
    system, user = title_messages("q" * 10_000, "<think>" + "r" * 5000 + "</think>" + "z" * 10_000)
    assert (system.role, system.content) == ("system", INSTRUCTION)
    assert user.role == "user" and "<think>" not in user.content and "r" * 10 not in user.content
    assert user.content.count("q") == EXCERPT and user.content.count("z") == EXCERPT
    assert len(user.content) < 2 * EXCERPT + 100


def test_title_params() -> None:
    chat = title_params("gpt-4o-mini").as_dict()
    assert chat == {"max_tokens": 30, "temperature": 0.2}
    # Reasoning models: no temperature (refused), room to think; the client sends
    # max_completion_tokens for them.
    client = OpenAIClient(Endpoint(name="x", base_url="https://api.example.com/v1"))
    body = client.chat.body(title_messages("q", "a"), "o3-mini", title_params("o3-mini"), stream=False)
    assert "temperature" not in body and "max_tokens" not in body and body["max_completion_tokens"] >= 256
    validate_request("CreateChatCompletionRequest", body)


# -- settings ------------------------------------------------------------------------------------


def cfg(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path)


def test_title_settings(tmp_path: Path) -> None:
    assert Config().titles == TitleSettings(enabled=True, local=False, model=None)
    assert cfg(tmp_path, "theme = 'x'").titles == TitleSettings()
    config = cfg(tmp_path, "[titles]\nenabled = true\nlocal = true\nmodel = ' gpt-4o-mini '")
    assert config.titles == TitleSettings(enabled=True, local=True, model="gpt-4o-mini")
    assert cfg(tmp_path, "[titles]\nenabled = false").titles.enabled is False

    remote = Endpoint(name="openai", base_url="https://api.openai.com/v1")
    loopback = Endpoint(name="ollama", base_url="http://localhost:11434/v1")
    builtin_local = Endpoint(name="local", base_url="", type="local")
    assert TitleSettings().applies_to(remote)
    assert not TitleSettings().applies_to(loopback) and not TitleSettings().applies_to(builtin_local)
    assert TitleSettings(local=True).applies_to(loopback) and TitleSettings(local=True).applies_to(builtin_local)
    assert not TitleSettings(enabled=False, local=True).applies_to(remote)
    assert not TitleSettings(enabled=False, local=True).applies_to(loopback)


@pytest.mark.parametrize("text, needle", [
    ("titles = true", r"\[titles\] must be a table"),
    ("[titles]\nenabled = 'yes'", "enabled must be true or false"),
    ("[titles]\nlocal = 1", "local must be true or false"),
    ("[titles]\nmodel = ''", "model must be a model id"),
    ("[titles]\nmodel = 4", "model must be a model id"),
])
def test_bad_title_settings_name_the_problem(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        cfg(tmp_path, text)


def test_unknown_title_setting_is_a_warning(tmp_path: Path) -> None:
    config = cfg(tmp_path, "[titles]\nenable = false")  # a typo: ignored, and said so
    assert config.titles == TitleSettings()
    assert any("unknown key 'enable' in [titles]" in w and "'enabled'" in w for w in config.warnings)


# -- the store: version 4 -----------------------------------------------------------------------


def test_version_3_database_upgrades(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    conn = sqlite3.connect(path, isolation_level=None)
    db = Database(conn)
    assert schema.migrate(db, str(path), schema.MIGRATIONS[:3]) == 3
    db.execute("INSERT INTO conversations (title, model) VALUES ('made here', 'gpt-4')")
    db.execute("INSERT INTO conversations (title, source, source_id) VALUES ('imported', 'chatgpt', 'c-1')")
    db.execute("INSERT INTO messages (conversation_id, role, content) VALUES (1, 'user', 'old question')")
    conn.close()

    with Store(path) as store:
        assert store.schema_version == len(schema.MIGRATIONS)
        made, imported = store.get_conversation(1), store.get_conversation(2)
        assert (made.title, made.model, made.title_source) == ("made here", "gpt-4", None)
        assert (imported.title, imported.title_source) == ("imported", "import")
        # Neither is provisional: an auto-title never touches an older conversation.
        assert not store.set_auto_title(1, "New") and not store.set_auto_title(2, "New")
        assert store.get_conversation(1).title == "made here"
        assert [m.content for m in store.thread(1)] == ["old question"]
        with pytest.raises(sqlite3.IntegrityError):  # the column has a CHECK
            store.db.execute("UPDATE conversations SET title_source = 'robot' WHERE id = 1")


def test_auto_title_replaces_only_the_provisional_title(store: Store) -> None:
    cid, _ = exchange(store)
    assert store.get_conversation(cid).title_source == "prompt"
    before = store.get_conversation(cid).updated_at
    assert store.set_auto_title(cid, "Duck sleep")
    conv = store.get_conversation(cid)
    assert (conv.title, conv.title_source, conv.updated_at) == ("Duck sleep", "auto", before)
    assert not store.set_auto_title(cid, "Again")  # once only
    assert store.get_conversation(cid).title == "Duck sleep"

    renamed, _ = exchange(store)
    store.rename_conversation(renamed, "Mine")
    assert store.get_conversation(renamed).title_source == "user"
    assert not store.set_auto_title(renamed, "Generated")
    assert store.get_conversation(renamed).title == "Mine"
    store.rename_conversation(cid, "Mine too")  # a rename also overrides an auto-title
    assert store.get_conversation(cid).title_source == "user"

    assert not store.set_auto_title(999, "Nobody")
    with pytest.raises(ValueError, match="title_source"):
        store.create_conversation(title="x", title_source="robot")
    with pytest.raises(ValueError, match="title_source"):
        store.set_conversation_defaults(cid, title_source="robot")


def test_imports_are_never_auto_titled(store: Store, tmp_path: Path) -> None:
    cid, _ = exchange(store)
    doc = json.loads(json.dumps(store.export_conversation(cid)))
    assert doc["conversation"]["title_source"] == "prompt"
    with Store(tmp_path / "other.db") as other:
        new = import_data(other, doc).conversation_ids[0]
        conv = other.get_conversation(new)
        assert (conv.title, conv.title_source) == ("How do ducks sleep?", "import")
        assert not other.set_auto_title(new, "Generated")


def test_first_exchange(store: Store) -> None:
    cid, answer = exchange(store)
    assert first_exchange(store, cid, answer) == ("How do ducks sleep?", "With one eye open.")
    # The second exchange is not the first.
    follow = store.add_message(cid, "user", "And geese?", parent_id=answer)
    second = store.begin_assistant(cid, parent_id=follow, model="m", params={}, endpoint=None)
    store.finish_assistant(second, "Also.", "complete")
    assert first_exchange(store, cid, second) is None
    # A regenerated first answer is still the first exchange, until a title is set.
    regen = store.begin_assistant(cid, parent_id=store.thread(cid, answer)[0].id, model="m", params={}, endpoint=None)
    store.finish_assistant(regen, "Standing up.", "complete")
    assert first_exchange(store, cid, regen) == ("How do ducks sleep?", "Standing up.")
    store.set_auto_title(cid, "Ducks")
    assert first_exchange(store, cid, regen) is None
    empty_cid, empty = exchange(store, answer="")
    assert first_exchange(store, empty_cid, empty) is None
    assert first_exchange(store, 999, answer) is None


# -- chat_tui.services.titles against the fake server ----------------------------------------------------


def title_requests(fake: FakeOpenAI) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.json["messages"][0]["content"] == INSTRUCTION]


async def test_auto_title_requests_and_stores_a_clean_title(store: Store) -> None:
    cid, answer = exchange(store, answer="They sleep " + "zz " * 1000)
    with FakeOpenAI(answer='**Title:** "Sleeping Ducks."', require_key="sk-test") as fake:
        endpoint = Endpoint(name="fake", base_url=fake.base_url, api_key="sk-test")
        async with OpenAIClient(endpoint) as client:
            title = await auto_title(client, store, cid, "gpt-4o-mini", *first_exchange(store, cid, answer))
        (request,) = fake.requests
    assert title == "Sleeping Ducks"
    conv = store.get_conversation(cid)
    assert (conv.title, conv.title_source) == ("Sleeping Ducks", "auto")
    body = request.json
    validate_request("CreateChatCompletionRequest", body)
    assert "stream" not in body and body["model"] == "gpt-4o-mini" and body["max_tokens"] == 30
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert len(body["messages"][1]["content"]) < 2 * EXCERPT + 100
    assert request.headers["authorization"] == "Bearer sk-test"  # its own endpoint's key
    # Not a message: the conversation holds the same two rows as before.
    assert [m.content[:10] for m in store.messages(cid)] == ["How do duc", "They sleep"]


@pytest.mark.parametrize("fault", [
    Fault("status", status=500),
    Fault("status", status=429, headers={"Retry-After": "0"}),
    Fault("status", status=400),
    Fault("html"),
    Fault("malformed"),
    Fault("drop"),
])
async def test_a_failed_title_request_keeps_the_prompt_title(store: Store, fault: Fault, caplog) -> None:
    cid, answer = exchange(store)
    with FakeOpenAI(answer="Never seen") as fake:
        fake.enqueue_fault(fault)
        async with OpenAIClient(Endpoint(name="fake", base_url=fake.base_url)) as client:
            with caplog.at_level("DEBUG", logger="chat_tui.services.titles"):
                assert await auto_title(client, store, cid, "gpt-4o-mini", "q", "a") is None
        assert len(fake.requests) == 1  # not retried: a title is not worth the wait
    conv = store.get_conversation(cid)
    assert (conv.title, conv.title_source) == ("How do ducks sleep?", "prompt")
    assert any("auto-title" in r.message and "failed" in r.message for r in caplog.records)


@pytest.mark.timing
async def test_a_slow_title_request_times_out(store: Store) -> None:
    cid, _ = exchange(store)
    with FakeOpenAI() as fake:
        fake.enqueue_fault(Fault("hang"))
        async with OpenAIClient(Endpoint(name="fake", base_url=fake.base_url)) as client:
            start = time.monotonic()
            assert await auto_title(client, store, cid, "gpt-4o-mini", "q", "a", timeout=0.3) is None
            assert time.monotonic() - start < 3
    assert store.get_conversation(cid).title_source == "prompt"


async def test_an_unusable_reply_or_a_rename_meanwhile_keeps_the_title(store: Store) -> None:
    cid, _ = exchange(store)
    with FakeOpenAI(answer="<think>cut off before the title") as fake:
        async with OpenAIClient(Endpoint(name="fake", base_url=fake.base_url)) as client:
            assert await auto_title(client, store, cid, "gpt-4o-mini", "q", "a") is None
            assert store.get_conversation(cid).title_source == "prompt"
            fake.answer = "Ducks"
            store.rename_conversation(cid, "Renamed while waiting")
            assert await auto_title(client, store, cid, "gpt-4o-mini", "q", "a") is None
    assert store.get_conversation(cid).title == "Renamed while waiting"


async def test_cancelling_a_title_request_is_not_swallowed(store: Store) -> None:
    cid, _ = exchange(store)
    with FakeOpenAI() as fake:
        fake.enqueue_fault(Fault("hang"))
        async with OpenAIClient(Endpoint(name="fake", base_url=fake.base_url)) as client:
            task = asyncio.create_task(auto_title(client, store, cid, "gpt-4o-mini", "q", "a"))
            await asyncio.to_thread(fake.wait_for_requests, 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
