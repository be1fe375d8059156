"""The sidebar's conversation list (issue 5), driven with Pilot: order (pinned, then newest),
literal titles, the focus key, Enter opens, new and renamed conversations show up, paging, the
empty database and narrow terminals. Plus the row formatting helpers it shares with the
history screen.

Conversations are seeded directly with the Store; the list reads them in a thread worker, so
every step waits (`until`) for the list to show what it should.
"""

from __future__ import annotations

from datetime import datetime, timezone

from textual.widgets import Input

from demo import demo_app, settle, until

from chat_tui.store.history import set_archived, set_pinned, soft_delete
from chat_tui.ui.conversation_rows import meta_line, short_date
from chat_tui.ui.screens.dialogs import ConfirmScreen, RenameScreen
from chat_tui.ui.widgets.conversation_list import EMPTY, PAGE, ConversationList

SIZE = (160, 48)


def seed(store, title, *, model="gpt-4o-mini", user="hello there", answer="hi") -> int:
    cid = store.create_conversation(title=title, model=model, endpoint="demo")
    u = store.add_message(cid, "user", user)
    a = store.begin_assistant(cid, parent_id=u, model=model, params={"model": model}, endpoint="demo")
    store.finish_assistant(a, answer, "complete", finish_reason="stop", prompt_tokens=12, completion_tokens=5)
    return cid


def sidebar(app) -> ConversationList:
    found = app.chat.conversation_list()
    assert found is not None, "the conversation list is not mounted"
    return found


def shown_ids(app) -> list[int]:
    return [r.id for r in sidebar(app).rows]


def screen_lines(app) -> list[str]:
    listing = sidebar(app).option_list
    return [listing.render_line(y).text.rstrip() for y in range(listing.size.height)]


async def ready(pilot) -> ConversationList:
    await settle(pilot)
    app = pilot.app
    await until(pilot, lambda: app.chat.conversation_list() is not None and sidebar(app).idle, "the first page")
    return sidebar(app)


# -- the row helpers ----------------------------------------------------------------------------


def test_short_date_today_this_year_and_before():
    now = datetime(2025, 11, 20, 15, 30, tzinfo=timezone.utc)
    local = now.astimezone()
    today = local.replace(hour=9, minute=5).astimezone(timezone.utc)
    assert short_date(today.isoformat().replace("+00:00", "Z"), now) == "09:05"
    assert short_date("2025-03-04T12:00:00.000Z", now) == "Mar 4"
    assert short_date("2024-11-03T12:00:00.000Z", now) == "2024-11-03"
    assert short_date("garbage-ish", now) == "garbage-is"
    assert short_date(None, now) == ""


def test_meta_line_cuts_the_model_keeps_count_and_date_and_adds_extras_only_whole():
    assert meta_line("gpt-4o-mini", 4, "14:02", ["511 tok"], 80) == "gpt-4o-mini · 4 msgs · 14:02 · 511 tok"
    assert meta_line("gpt-4o-mini", 4, "14:02", ["511 tok"], 28) == "gpt-4o-mini · 4 msgs · 14:02"
    line = meta_line("llama-3.1-70b-instruct", 1, "Nov 3", [], 24)
    assert line.endswith("· 1 msg · Nov 3") and "…" in line and len(line) <= 24
    assert meta_line("a-model", 12, "2024-11-03", [], 20) == "12 msgs · 2024-11-03"  # no room for it
    assert meta_line("bad\x1bid", 2, "", [], 40) == "bad␛id · 2 msgs"


# -- the list in the app ---------------------------------------------------------------------------


async def test_pinned_first_then_newest_literal_titles_open_one_marked(fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db")  # the demo conversation is opened
    store = app.store
    demo = store.last_conversation_id()
    old = seed(store, "old pinned")
    evil = seed(store, "[bold]loud[/bold] \x1b[2J")
    newest = seed(store, "newest")
    archived = seed(store, "archived one")
    deleted = seed(store, "deleted one")
    set_pinned(store, old, True)
    set_archived(store, archived, True)
    soft_delete(store, deleted)
    async with app.run_test(size=SIZE) as pilot:
        listing = await ready(pilot)
        assert shown_ids(app) == [old, newest, evil, demo]
        lines = screen_lines(app)
        assert lines[0] == "★ old pinned"
        assert lines[1].startswith("  gpt-4o-mini · 2 msgs · ")
        assert lines[4] == "  [bold]loud[/bold] ␛[2J"  # literal, control characters visible
        assert lines[6].startswith("● Binary search in Python")  # the open conversation
        assert "\x1b" not in "".join(lines)
        assert listing.highlighted_id == demo  # the cursor starts on the open one
        assert listing.query_one("#conversation-list-empty").display is False
        tip = listing.details(0)
        assert tip is not None and "12 in, 5 out tokens" in tip.plain and "pinned" in tip.plain


async def test_key_focuses_enter_opens_escape_returns(fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)
    store = app.store
    first = seed(store, "first", user="the first question", answer="the first answer")
    second = seed(store, "second", user="the second question", answer="the second answer")
    async with app.run_test(size=SIZE) as pilot:
        listing = await ready(pilot)
        assert app.chat.conversation_id is None
        await pilot.press("f5")
        await pilot.pause()
        assert app.focused is listing.option_list
        assert listing.highlighted_id == second
        await pilot.press("down", "enter")
        await until(pilot, lambda: app.chat.conversation_id == first, "the first conversation to open")
        await settle(pilot)
        texts = [v.text for v in app.chat.conversation.views()]
        assert texts == ["the first question", "the first answer"]
        assert app.focused is app.chat.prompt
        assert screen_lines(app)[2].startswith("● first")  # the marker moved

        await pilot.press("f5")
        await pilot.pause()
        assert app.focused is listing.option_list and listing.highlighted_id == first
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is app.chat.prompt
        assert app.chat.conversation_id == first


async def test_click_opens(fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)
    first = seed(app.store, "first", answer="clicked open")
    seed(app.store, "second")
    async with app.run_test(size=SIZE) as pilot:
        listing = await ready(pilot)
        # Rows are two lines: the second conversation's title is on the list's third line.
        await pilot.click(listing.option_list, offset=(4, 2))
        await until(pilot, lambda: app.chat.conversation_id == first, "the clicked conversation to open")
        await settle(pilot)
        assert "clicked open" in [v.text for v in app.chat.conversation.views()]


async def test_new_prompt_adds_the_conversation_at_the_top(fake_openai, tmp_path):
    fake_openai.answer = "a fresh answer"
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)
    older = seed(app.store, "older")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert shown_ids(app) == [older]
        await pilot.press(*"A brand new question", "enter")
        await settle(pilot)
        cid = app.chat.conversation_id
        assert cid is not None and cid != older
        await until(pilot, lambda: shown_ids(app) == [cid, older], "the new conversation at the top")
        await until(pilot, lambda: sidebar(app).rows[0].message_count == 2, "the reply counted")
        # (the title may become an auto-generated one: whatever it is, the list shows it, marked)
        await until(pilot, lambda: screen_lines(app)[0].startswith("● " + app.store.get_conversation(cid).title[:20]),
                    "the new conversation's title, marked as open")

        # Opening the older one and writing in it moves it back to the top.
        await app.chat.open_conversation(older)
        await pilot.press(*"more", "enter")
        await settle(pilot)
        await until(pilot, lambda: shown_ids(app) == [older, cid], "the older one moved up")


async def test_rename_from_the_app_action_updates_the_list(fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db")
    seed(app.store, "another")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        demo = app.chat.conversation_id
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, RenameScreen), "the rename dialog")
        app.screen.query_one(Input).value = "Renamed [i]here[/i]"
        await pilot.press("enter")
        await until(pilot, lambda: any(r.id == demo and r.title == "Renamed [i]here[/i]" for r in sidebar(app).rows),
                    "the new title in the list")
        await pilot.pause()
        assert any(line.startswith("● Renamed [i]here[/i]") for line in screen_lines(app))


async def test_delete_from_the_app_action_removes_the_row(fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db")
    other = seed(app.store, "stays")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert len(shown_ids(app)) == 2
        await pilot.press("ctrl+delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.click("#yes")
        await until(pilot, lambda: shown_ids(app) == [other], "the deleted conversation gone")


async def test_paging_loads_more_at_the_end(fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)
    for i in range(120):
        app.store.create_conversation(title=f"conversation {i:03}", model="gpt-4o-mini")
    async with app.run_test(size=SIZE) as pilot:
        listing = await ready(pilot)
        assert len(listing.rows) == PAGE == listing.option_list.option_count
        assert listing.rows[0].title == "conversation 119"
        await pilot.press("f5", "end")
        await until(pilot, lambda: len(listing.rows) == 2 * PAGE, "the second page")
        await pilot.press("end")
        await until(pilot, lambda: len(listing.rows) == 120, "the last page")
        await settle(pilot)
        assert listing.exhausted and listing.option_list.option_count == 120
        assert len(set(shown_ids(app))) == 120
        assert listing.rows[-1].title == "conversation 000"

        # A refresh keeps the rows read so far and the cursor on its conversation.
        listing.option_list.focus()
        listing.option_list.highlighted = 100
        kept = listing.highlighted_id
        app.chat.refresh_conversation_list()
        generation = listing.generation
        await until(pilot, lambda: listing.generation > generation and listing.idle, "the refresh")
        assert len(listing.rows) == 120 and listing.highlighted_id == kept


async def test_empty_database_says_so(fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)
    async with app.run_test(size=SIZE) as pilot:
        listing = await ready(pilot)
        empty = listing.query_one("#conversation-list-empty")
        assert empty.display and str(empty.render()) == EMPTY
        assert not listing.option_list.display
        await pilot.press("f5")
        await pilot.pause()
        assert app.focused is app.chat.prompt  # nothing to focus
        await pilot.press(*"first ever", "enter")
        await settle(pilot)
        await until(pilot, lambda: len(shown_ids(app)) == 1, "the first conversation listed")
        assert not empty.display and listing.option_list.display


async def test_narrow_terminal_hides_the_pane_and_the_key_shows_it(fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db")
    async with app.run_test(size=(80, 30)) as pilot:
        await settle(pilot)
        pane = app.chat.query_one("#left-slot")
        assert not pane.display
        await until(pilot, lambda: app.chat.conversation_list() is not None and sidebar(app).loaded, "the first page")
        await pilot.press("f5")
        await pilot.pause()
        assert pane.display and app.focused is sidebar(app).option_list
