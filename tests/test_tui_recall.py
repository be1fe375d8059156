"""Prompt recall (issue 15), driven with Pilot against the fake server: ↑/↓ walk earlier prompts
newest first, across a restart of the app on the same database; the draft comes back; an edited
recalled prompt is a copy; Ctrl+R searches them as you type."""

from __future__ import annotations

from demo import settle, until

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Endpoint
from chat_tui.core.recall import PromptRecall
from chat_tui.store import Store
from chat_tui.store.documents import create_document
from chat_tui.store.prompts import earlier_prompts, search_prompts
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens.recall import RecallSearchScreen
from chat_tui.ui.widgets.prompt import PromptInput

SIZE = (120, 36)


def make_app(fake, db_path, counter=None) -> tuple[ChatApp, Store]:
    endpoint = Endpoint(name="fake", base_url=fake.base_url)
    store = Store(db_path)
    return ChatApp(endpoint, store, client=OpenAIClient(endpoint), model="gpt-4o-mini", counter=counter), store


async def send(pilot, *keys: str) -> None:
    await pilot.press(*keys, "enter")
    await settle(pilot)


async def test_up_recalls_prompts_across_a_restart_and_down_brings_back_the_draft(fake_openai, tmp_path):
    db = tmp_path / "recall.db"
    app, store = make_app(fake_openai, db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await send(pilot, *"first prompt")
        await send(pilot, *"second", "ctrl+j", *"line two")
        await send(pilot, *"first prompt")  # sent again: recalled once, as the newest
    store.close()

    fake_openai.reset()
    app, store = make_app(fake_openai, db)  # a new process would see the same file
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        prompt = app.query_one(PromptInput)
        await pilot.press(*"my dra")
        await pilot.press("up")  # on the first line: recall, the draft put aside
        assert prompt.text == "first prompt"
        await pilot.press("up")
        assert prompt.text == "second\nline two"
        assert prompt.cursor_location == (1, 8)  # at the end, on its last line
        await pilot.press("up")  # not on the first line yet: the cursor moves up
        assert prompt.text == "second\nline two" and prompt.cursor_location[0] == 0
        await pilot.press("up")  # the oldest: nothing further, nothing lost
        assert prompt.text == "second\nline two"
        await pilot.press("down", "down")  # down through its lines, then to the newer prompt
        assert prompt.text == "first prompt"
        await pilot.press("down")
        assert prompt.text == "my dra"  # the draft, as it was typed
        await pilot.press("down")  # nothing newer than the draft: it stays
        assert prompt.text == "my dra"

        # Editing a recalled prompt edits a copy: the copy is kept while walking, the stored
        # prompt is untouched, and sending the copy adds a new prompt.
        await pilot.press("up", "up", *" edited")
        assert prompt.text == "second\nline two edited"
        await pilot.press("down", "down", "up")  # away (to the newer one) and back
        assert prompt.text == "first prompt"
        await pilot.press("up")
        assert prompt.text == "second\nline two edited"
        await pilot.press("enter")
        await settle(pilot)
        assert prompt.text == ""
        sent = [r.json["messages"][-1]["content"] for r in fake_openai.requests if r.path == "/v1/chat/completions"]
        assert sent == ["second\nline two edited"]
        await pilot.press("up")  # the walk starts afresh from the newest: the one just sent
        assert prompt.text == "second\nline two edited"
        await pilot.press("up", "up", "up")  # its first line, then older
        assert prompt.text == "second\nline two"  # the original, unchanged
    assert [text for _, text in earlier_prompts(store)] == ["second\nline two edited", "first prompt", "second\nline two"]
    store.close()


async def test_ctrl_r_searches_earlier_prompts_as_you_type(fake_openai, tmp_path):
    db = tmp_path / "search.db"
    with Store(db) as seed:
        for text in ("how do I reverse a list", "sort a dict by value", "reverse the words of a Sentence"):
            cid = seed.create_conversation(title=text)
            seed.add_message(cid, "user", text)
    app, store = make_app(fake_openai, db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        prompt = app.query_one(PromptInput)
        await pilot.press(*"half typed")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, RecallSearchScreen) and app.screen.shown >= 0, "the search")
        search = app.screen
        assert search.matches == ["reverse the words of a Sentence", "sort a dict by value", "how do I reverse a list"]
        await pilot.press(*"REVERSE")  # case does not matter
        await until(pilot, lambda: search.shown == search.generation, "the matches")
        assert search.matches == ["reverse the words of a Sentence", "how do I reverse a list"]
        await pilot.press(*" list")  # every word, anywhere
        await until(pilot, lambda: search.shown == search.generation, "the matches")
        assert search.matches == ["how do I reverse a list"]
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is app.chat and prompt.text == "how do I reverse a list"
        assert app.focused is prompt
        await pilot.press("down")  # the draft is not lost
        assert prompt.text == "half typed"

        # Nothing found: said so; Escape leaves the box as it was.
        await pilot.press("ctrl+r", *"zebra")
        search = app.screen
        await until(pilot, lambda: search.shown == search.generation and search.shown > 0, "the matches")
        assert search.matches == []
        assert "No earlier prompt contains 'zebra'" in str(search.query_one("#recall-status").render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.chat and prompt.text == "half typed"

        # ↓ picks an older match; typing and Enter at once still picks what was typed for.
        await pilot.press("ctrl+r")
        search = app.screen
        await until(pilot, lambda: search.shown == search.generation, "the matches")
        await pilot.press("down", "enter")
        await pilot.pause()
        assert prompt.text == "sort a dict by value"
        await pilot.press("ctrl+r", *"sente", "enter")
        await until(pilot, lambda: app.screen is app.chat, "the pick")
        assert prompt.text == "reverse the words of a Sentence"
    assert [r for r in fake_openai.requests if r.method == "POST"] == []  # nothing was sent
    store.close()


def test_recalled_prompts_are_chat_prompts_of_live_conversations(tmp_path):
    """Compare-mode prompts are chat prompts (recalled); completion and edit documents' rows and
    conversations in the trash are not; blank messages are skipped; duplicates come once."""
    with Store(tmp_path / "p.db") as store:
        chat = store.create_conversation(title="chat")
        store.add_message(chat, "user", "kept")
        document = create_document(store, "completion", "Once upon a time")
        store.add_message(document, "user", "Once upon a time")
        trashed = store.create_conversation(title="trashed")
        store.add_message(trashed, "user", "in the trash")
        from chat_tui.services import history

        history.delete(store, trashed)
        store.add_message(chat, "user", "")
        store.add_message(chat, "user", "kept")
        assert [t for _, t in earlier_prompts(store)] == ["kept"]
        assert search_prompts(store, "upon") == [] and search_prompts(store, "trash") == []

        # Paging: the walk asks for pages, skipping what it has, until there is no more.
        for i in range(7):
            store.add_message(chat, "user", f"p{i % 5}")  # p0 and p1 twice
        asked = []

        def fetch(before, limit, skip):
            asked.append(before)
            return earlier_prompts(store, before=before, limit=limit, skip=skip)

        recall = PromptRecall(fetch, page=2)
        walked = []
        while (text := recall.older("")) is not None:
            walked.append(text)
        assert walked == ["p1", "p0", "p4", "p3", "p2", "kept"]
        assert len(asked) == 4  # three full pages, and one that came back short
