"""Search by meaning in the TUI, driven with Pilot against the fake server on a loopback socket:
the app embeds saved messages in the background (and the answer of a new chat), the history
screen's F2 cycles words / meaning / both with a visible indicator, and a paraphrase finds its
conversation. No sleeps: the test awaits the indexer's worker and the screen's result message."""

from __future__ import annotations

import asyncio

from demo import settle
from semantic_set import load, save_set
from textual.widgets import Input, Label

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Endpoint
from chat_tui.store import Store, vectors
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens.dialogs import ConfirmScreen
from chat_tui.ui.screens.history import HistoryScreen

SIZE = (160, 48)
MODEL = "text-embedding-3-small"


def app_for(fake, db, **endpoint) -> ChatApp:
    ep = Endpoint(name="fake", base_url=fake.base_url, embeddings=True, embedding_model=MODEL, **endpoint)
    return ChatApp(ep, Store(db), client=OpenAIClient(ep), model="gpt-4o-mini")


class Results:
    """The history screen's MeaningResults messages, awaited one at a time."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()

    def hook(self, message) -> None:
        if isinstance(message, HistoryScreen.MeaningResults):
            self.queue.put_nowait(message)

    async def next(self) -> HistoryScreen.MeaningResults:
        return await asyncio.wait_for(self.queue.get(), 10)


async def test_search_by_meaning_in_the_history_screen(fake_openai, tmp_path):
    data = load()
    app = app_for(fake_openai, tmp_path / "chat.db", embedding_dimensions=128)
    ids = save_set(app.store, data)
    target = ids[next(q["target"] for q in data["queries"] if q["query"] == "how do I reverse a list")]
    results = Results()
    async with app.run_test(size=SIZE, message_hook=results.hook) as pilot:
        await settle(pilot)
        progress = await asyncio.wait_for(app.indexer.wait(), 20)  # the backlog of an earlier session, embedded in the background
        assert progress.done == progress.total == 2 * len(ids)
        assert vectors.backlog_size(app.store, MODEL, 128) == 0
        screen = HistoryScreen()
        await app.push_screen(screen)
        await settle_history(pilot, screen)
        mode = screen.query_one("#history-mode", Label)
        assert "words" in str(mode.render()) and screen.mode == "words"
        search = screen.query_one("#history-search", Input)
        search.value = "how do I reverse a list"
        await pilot.pause()
        await pilot.press("f2")  # → meaning
        found = await results.next()
        assert (found.mode, screen.mode) == ("meaning", "meaning")
        assert target in found.ids[:5]
        assert "meaning" in str(screen.query_one("#history-status", Label).render())
        rendered = str(mode.render())
        assert "words + meaning" in rendered  # all three shown, the current one highlighted
        await pilot.press("f2")  # → both
        both = await results.next()
        assert both.mode == "both" and target in both.ids[:5]
        screen.query_one("#history-list").focus()
        index = [r.id for r in screen.rows].index(target)
        for _ in range(index):
            await pilot.press("down")
        await pilot.press("f2")  # → words: the full-text index has nothing for the paraphrase
        await settle_history(pilot, screen)
        assert screen.mode == "words" and target not in [r.id for r in screen.rows]


async def settle_history(pilot, screen: HistoryScreen) -> None:
    """The history's words query runs in a thread worker: wait for it (and any others)."""
    from demo import settle_workers

    screen.reload()
    await settle_workers(pilot)


async def test_a_new_answer_is_embedded_and_found(fake_openai, tmp_path):
    fake_openai.answer = "Call arr.reverse() to flip the order of the array."
    app = app_for(fake_openai, tmp_path / "chat.db", embedding_dimensions=64)
    results = Results()
    async with app.run_test(size=SIZE, message_hook=results.hook) as pilot:
        await settle(pilot)
        first = app.indexer
        await pilot.press(*"javascript question")
        await pilot.press("enter")
        await settle(pilot)
        assert app.indexer is not first  # started again after the reply
        progress = await asyncio.wait_for(app.indexer.wait(), 20)
        assert progress.done == 2
        screen = HistoryScreen()
        await app.push_screen(screen)
        await settle_history(pilot, screen)
        screen.query_one("#history-search", Input).value = "invert a list"
        await pilot.press("f2")
        found = await results.next()
        assert found.ids == [app.chat.conversation_id]
        assert "Call arr.reverse()" in screen.rows[0].snippet


async def test_meaning_is_refused_where_the_profile_has_not_opted_in(fake_openai, tmp_path):
    ep = Endpoint(name="plain", base_url=fake_openai.base_url)
    app = ChatApp(ep, Store(tmp_path / "chat.db"), client=OpenAIClient(ep), model="gpt-4o-mini")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.indexer is None
        screen = HistoryScreen()
        await app.push_screen(screen)
        await settle_history(pilot, screen)
        await pilot.press("f2")
        await pilot.pause()
        assert screen.mode == "words"
        assert any("embeddings = true" in n.message for n in app._notifications)
    assert not [r for r in fake_openai.requests if r.path.endswith("/embeddings")]


async def test_a_model_change_asks_first_with_the_estimate(fake_openai, tmp_path):
    db = tmp_path / "chat.db"
    with Store(db) as store:
        save_set(store)
    app = app_for(fake_openai, db, embedding_dimensions=32)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await asyncio.wait_for(app.indexer.wait(), 20)
    fake_openai.reset()
    app = app_for(fake_openai, db, embedding_dimensions=48)  # another size: another space
    async with app.run_test(size=SIZE) as pilot:
        await settle_history_free(pilot, app)
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        text = dialog.question
        assert "690 messages" in text and "tokens" in text and "free (a local model)" in text and MODEL in text
        assert not [r for r in fake_openai.requests if r.json and r.json.get("input") != "dimensions"]
        await pilot.pause()  # the dialog laid out
        await pilot.click("#yes")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen), app.screen
        progress = await asyncio.wait_for(app.indexer.wait(), 20)
        assert progress.done == 690


async def test_the_history_shows_the_indexer_progress(fake_openai, tmp_path):
    app = app_for(fake_openai, tmp_path / "chat.db", embedding_dimensions=16)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = HistoryScreen()
        await app.push_screen(screen)
        await settle_history(pilot, screen)
        seen = []
        real = screen.show_index_progress
        screen.show_index_progress = lambda p: (seen.append((p.done, p.total,
                                                             screen.query_one("#history-indexing").display)), real(p))
        save_set(app.store)
        app.index_messages()
        await asyncio.wait_for(app.indexer.wait(), 20)
        await pilot.pause()
        bar = screen.query_one("#history-index-progress")
        assert seen[0][:2] == (0, 690) and seen[-1][:2] == (690, 690)
        assert (bar.total, bar.progress) == (690, 690)
        assert not screen.query_one("#history-indexing").display  # hidden when done
        assert any(shown for _, _, shown in seen[1:])  # visible while it ran


async def settle_history_free(pilot, app) -> None:
    """Wait until the indexer stops at its question (the only worker left waiting)."""
    from demo import until

    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the re-embed question")
