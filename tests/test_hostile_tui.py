"""Issue 10's hostile cases in the app: a database that is damaged, read-only, locked or full;
text typed right after Enter (in a real terminal, through tmux); a server that is silent;
a stale search. (Long lines: test_long_lines.py.)"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from demo import settle_workers, until
from fake_openai import Fault

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Endpoint
from chat_tui.services.persist import UI_BUSY_TIMEOUT
from chat_tui.store import Store
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens import chat as chat_screen

SIZE = (120, 40)
CHAT = "/v1/chat/completions"


def make_app(fake, store) -> ChatApp:
    endpoint = Endpoint(name="fake", base_url=fake.base_url)
    return ChatApp(endpoint, store, client=OpenAIClient(endpoint), model="gpt-4o-mini")


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def status(app) -> str:
    return str(app.chat.query_one("#status-line").render())


def posts(fake) -> list:
    return [r for r in fake.requests if r.path == CHAT]


async def ready(app, pilot) -> None:
    await until(pilot, lambda: app.chat.params_pane() is not None, "the side panes", timeout=15)
    await settle_workers(pilot)


# -- 4. an unusable database -------------------------------------------------------------------


async def test_a_damaged_database_is_reported_and_the_chat_still_works(fake_openai, tmp_path):
    path = tmp_path / "chat.db"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 200)
    app = make_app(fake_openai, lambda: Store(path, busy_timeout=UI_BUSY_TIMEOUT))
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        assert any("not a database" in n and "Nothing you do in this session is saved" in n for n in notes(app))
        assert "NOT SAVING" in status(app)
        await pilot.press(*"hello", "enter")
        await until(pilot, lambda: not app.chat.replying() and len(app.chat.conversation.views()) == 2, "the answer")
        assert app.chat.conversation.views()[1].text == "Echo: hello"
    assert path.read_bytes().startswith(b"this is not a database")  # left as it was


async def test_a_read_only_database_keeps_the_prompt(fake_openai, tmp_path):
    store = Store(tmp_path / "chat.db")
    store.db.execute("PRAGMA query_only = ON")  # every write is refused, as on a read-only file
    app = make_app(fake_openai, store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press(*"keep me", "enter")
        await until(pilot, lambda: any("Nothing was sent" in n for n in notes(app)), "the notification")
        assert any("read-only" in n for n in notes(app))
        assert app.chat.prompt.text == "keep me"
        assert posts(fake_openai) == []
        store.db.execute("PRAGMA query_only = OFF")  # writable again: Enter sends it
        await pilot.press("enter")
        await until(pilot, lambda: len(app.chat.conversation.views()) == 2 and not app.chat.replying(), "the answer")
        assert app.chat.prompt.text == ""
    assert [m.content for m in store.thread(store.last_conversation_id())] == ["keep me", "Echo: keep me"]


async def test_a_locked_database_is_waited_for_without_freezing(fake_openai, tmp_path):
    path = tmp_path / "chat.db"
    store = Store(path, busy_timeout=UI_BUSY_TIMEOUT)
    app = make_app(fake_openai, store)
    holder = sqlite3.connect(path, isolation_level=None)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        holder.execute("BEGIN IMMEDIATE")  # another program writes, for a while
        await pilot.press(*"patience", "enter")
        await until(pilot, lambda: "waiting for the database" in status(app), "the waiting status")
        # The UI answers meanwhile: a key goes where it should.
        await pilot.press("f3")
        await until(pilot, lambda: not app.chat.query_one("#right-slot").display, "F3 hides the parameters")
        assert posts(fake_openai) == []
        holder.execute("ROLLBACK")
        await until(pilot, lambda: len(app.chat.conversation.views()) == 2 and not app.chat.replying(), "the answer")
        assert app.chat.prompt.text == ""
    holder.close()
    assert [m.content for m in store.thread(store.last_conversation_id())] == ["patience", "Echo: patience"]


async def test_a_full_disk_mid_answer_keeps_the_answer_and_saves_it_later(fake_openai, tmp_path, monkeypatch):
    monkeypatch.setattr(chat_screen, "SAVE_RETRY", 0.2)
    fake_openai.answer = " ".join(f"word{i}" for i in range(5000))  # ~40 kB: more pages than there is room for
    fake_openai.rate = 1000
    store = Store(tmp_path / "chat.db")
    app = make_app(fake_openai, store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press(*"fill it", "enter")
        await until(pilot, lambda: len(app.chat.conversation.views()) == 2, "the answer's view")
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full from now on
        await until(pilot, lambda: any("Not saved yet" == n.title for n in app._notifications), "the warning", timeout=15)
        view = app.chat.conversation.views()[1]
        assert view.text == fake_openai.answer  # nothing lost on screen
        store.db.execute("PRAGMA max_page_count = 1073741823")  # room again
        await until(pilot, lambda: any("saved now" in n for n in notes(app)), "the save", timeout=10)
    answer = [m for m in store.messages(store.last_conversation_id()) if m.role == "assistant"]
    assert [(m.status, m.content) for m in answer] == [("complete", fake_openai.answer)]


# -- 6. a silent server --------------------------------------------------------------------------


async def test_waiting_shows_the_seconds_and_escape_stops_it(fake_openai, tmp_path):
    fake_openai.enqueue_fault(Fault("hang", path=CHAT))
    store = Store(tmp_path / "chat.db")
    app = make_app(fake_openai, store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press(*"anyone?", "enter")
        view = None

        def header() -> str:
            views = app.chat.conversation.views()
            return str(views[1].query_one(".header").render()) if len(views) > 1 else ""

        await until(pilot, lambda: "waiting… 2 s" in header(), "the waiting time", timeout=10)
        await pilot.press("escape")
        await until(pilot, lambda: not app.chat.replying(), "the stop")
        view = app.chat.conversation.views()[1]
        assert view.message is not None and view.message.status == "cancelled"


# -- 7. a stale search is stopped ----------------------------------------------------------------


async def test_a_stale_query_is_cancelled_not_left_running(tmp_path, monkeypatch):
    """The pager under both conversation lists: a query made stale by a newer one stops at once
    (a slow SQL query standing in for a search that would take long)."""
    from textual.app import App
    from textual.widgets import Static

    from chat_tui.services import history
    from chat_tui.ui.paging import Pager, Query

    Store(tmp_path / "chat.db").close()
    finished: list[tuple[str, float]] = []
    real_page = history.page

    def page(store, *, query=None, **kw):
        if query == "slow":
            started = time.monotonic()
            try:  # about a minute of CPU unless interrupted
                store._rows("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000000) SELECT count(*) FROM n")
            finally:
                finished.append(("slow", time.monotonic() - started))
        return real_page(store, query=None, **kw)

    monkeypatch.setattr(history, "page", page)
    shown: list[int] = []

    class Host(App):
        def compose(self):
            yield Static("x")

    app = Host()
    async with app.run_test() as pilot:
        pager = Pager(app.screen, tmp_path / "chat.db", show=lambda offset, rows: shown.append(pager.generation),
                      failed=lambda reason: None)
        pager.start(Query("slow"))
        await pilot.pause(0.3)
        pager.start(Query(None))  # the next keystroke
        await until(pilot, lambda: finished and shown, "the stale query to stop", timeout=10)
        assert finished[0][1] < 5, finished
        assert shown == [2]  # only the newer query's rows were shown
        await pilot.pause(0.2)
        assert not [t for t in threading.enumerate() if t.name.startswith("pager")]


# -- 5. text typed right after Enter, in a real terminal ---------------------------------------


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_text_typed_right_after_enter_stays_in_the_prompt(fake_openai, tmp_path):
    fake_openai.first_byte_delay = 0.2
    home = tmp_path / "home"
    exe = Path(sys.executable).with_name("chat-tui")
    sock = f"ct-hostile-{os.getpid()}"

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True).stdout

    def wait_for(text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = tmux("capture-pane", "-p", "-t", "t")
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared:\n{screen}")

    cmd = f"env CHAT_TUI_HOME={home} OPENAI_BASE_URL={fake_openai.base_url} {exe} -m gpt-4o-mini"
    tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "40", cmd)
    try:
        wait_for("Message…")
        for attempt in range(3):  # the issue saw it 3 times out of 3
            tmux("send-keys", "-t", "t", f"question {attempt}", "Enter", f"my next thought {attempt}")
            screen = wait_for(f"Echo: question {attempt}")
            assert f"my next thought {attempt}" in screen
            # The answer's header gets its timings when the reply is over: then the next round.
            deadline = time.monotonic() + 30
            while tmux("capture-pane", "-p", "-t", "t").count("first token") < attempt + 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            tmux("send-keys", "-t", "t", "C-u")  # clear the line for the next round
            time.sleep(0.3)
            tmux("send-keys", "-t", "t", *(["BSpace"] * 40))
            time.sleep(0.3)
    finally:
        tmux("kill-server")
    db = sqlite3.connect(home / "chat-tui.db")
    users = [row[0] for row in db.execute("SELECT content FROM messages WHERE role = 'user' ORDER BY id")]
    assert users == ["question 0", "question 1", "question 2"]


async def test_history_changes_on_a_read_only_database_are_refused_not_fatal(fake_openai, tmp_path):
    from chat_tui.ui.screens.history import HistoryScreen

    store = Store(tmp_path / "chat.db")
    cid = store.create_conversation(title="keep me")
    store.add_message(cid, "user", "hello")
    app = make_app(fake_openai, store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        store.db.execute("PRAGMA query_only = ON")
        await pilot.press("f9")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.rows, "the history")
        app.screen.query_one("#history-list").focus()
        for key in ("p", "a", "d"):
            await pilot.press(key)
            await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)  # still running, still there
        refused = [n for n in notes(app) if n.startswith("Could not")]
        assert len(refused) == 3 and all("read-only" in n for n in refused)
        await pilot.press("escape")
        await pilot.press("ctrl+delete")
        await pilot.pause()
    conversation = store.get_conversation(cid)
    assert (conversation.pinned, conversation.archived, conversation.deleted_at) == (False, False, None)
