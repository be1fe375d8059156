"""Snapshot tests (pytest-textual-snapshot) of each screen. Review a changed SVG before running
with --snapshot-update: `pytest tests/test_snapshots.py --snapshot-report` writes an HTML diff."""

from __future__ import annotations

from demo import demo_app, seed_history, settle, settle_workers, steady, tools_shown, until
from fake_openai import Fault

SIZE = (160, 48)


def test_main_screen(snap_compare, fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db")
    assert snap_compare(app, terminal_size=SIZE, run_before=steady(settle))


def test_model_picker_filtered(snap_compare, fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db")

    async def filter_models(pilot):
        await settle(pilot)
        app.screen.query_one("#model-picker Input").focus()
        await pilot.press(*"4o")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=steady(filter_models))


def test_parameters_changed(snap_compare, fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)

    async def change(pilot):
        await settle(pilot)
        app.screen.query_one("#param-temperature").focus()
        await pilot.press("right", "right", "right", "right")
        app.screen.query_one("#param-seed").focus()
        await pilot.press(*"42")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=steady(change))


def test_tool_calls(snap_compare, fake_openai, tmp_path):
    """A conversation with tool calls: two parallel calls, the first approved (its result under
    it), the second declined, then the answer. (The harness waits for every worker: a turn
    waiting for approval is in screenshots/tools.svg instead.)"""
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False, tools=True)

    async def ask(pilot):
        await settle(pilot)
        await tools_shown(pilot, finish=True)
        await fixed_dates(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=steady(ask))


def test_help_screen(snap_compare, fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)

    async def help_(pilot):
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=steady(help_))


def test_error_state(snap_compare, fake_openai, tmp_path):
    fake_openai.enqueue_fault(Fault("status", status=401, path="/v1/chat/completions"))
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)

    async def fail(pilot):
        await settle(pilot)
        await pilot.press(*"Hello?", "enter")
        await settle(pilot)
        await fixed_dates(pilot)
        # The failed request's duration is shown: fixed too (it depends on the machine's load).
        from chat_tui.ui.widgets.conversation import MessageView

        view = app.query(MessageView).last()
        app.store.db.execute("UPDATE messages SET duration = 0.02 WHERE id = ?", (view.message.id,))
        view.message = app.store.get_message(view.message.id)
        view.refresh_header()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=steady(fail))


async def fixed_dates(pilot, stamp: str = "2025-03-15T10:12:00.000Z") -> None:
    """Conversations made during the test get a fixed date: the sidebar list shows it, and it
    must not depend on the time the test runs."""
    app = pilot.app
    app.store.db.execute("UPDATE conversations SET created_at = ?, updated_at = ?", (stamp, stamp))
    app.chat.refresh_conversation_list()
    listing = app.chat.conversation_list()
    await until(pilot, lambda: listing.idle and all(r.updated_at == stamp for r in listing.rows), "the fixed dates")
    await settle(pilot)


async def open_history(pilot):
    """F9, then wait until the first page and the count are on screen."""
    await settle(pilot)
    await pilot.press("f9")
    await until(pilot, lambda: "conversations" in str(pilot.app.screen.query_one("#history-status").render()),
                "the history count")
    return pilot.app.screen


def test_history_listing(snap_compare, fake_openai, tmp_path):
    """Pinned first (★), then newest; an untitled one shows its first question in italics."""
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)
    seed_history(app.store)

    async def browse(pilot):
        screen = await open_history(pilot)
        assert [r.title for r in screen.rows][:2] == ["Binary search in Python", "Rust lifetimes, explained"]
        await pilot.press("down", "down")  # into the list, then the second row
        assert screen.current().title == "Rust lifetimes, explained"
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=steady(browse))


def test_history_search_snippets(snap_compare, fake_openai, tmp_path):
    """A typed word narrows the list; each row shows the matching excerpt, the match highlighted."""
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)
    seed_history(app.store)

    async def search(pilot):
        screen = await open_history(pilot)
        await pilot.press(*"binary")
        await until(pilot, lambda: screen._query == "binary*" and screen.rows and all(r.segments for r in screen.rows),
                    "the search results")
        await until(pilot, lambda: "matching" in str(screen.query_one("#history-status").render()), "the count")
        await settle_workers(pilot)
        assert sorted(r.title for r in screen.rows) == ["Binary search in Python", "Sorting a million integers"]
        shown = [screen.query_one("#history-list").get_option_at_index(i).prompt.plain for i in range(2)]
        assert any("on the binary digits" in text for text in shown)  # spaces kept around the match

    assert snap_compare(app, terminal_size=SIZE, run_before=steady(search))


def test_completion_mode_round_pending(snap_compare, fake_openai, tmp_path):
    """Completion mode after a round in insert mode: the generated text underlined and coloured by
    probability, the token under the cursor with its alternatives, the parameters pane."""
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)
    fake_openai.answer = "    ordered = sorted(values)\n    return ordered[len(ordered) // 2]\n"
    fake_openai.models = [*fake_openai.models, "gpt-3.5-turbo-instruct"]

    async def generate(pilot):
        from chat_tui.ui.widgets.document_area import DocumentArea

        await settle(pilot)
        await pilot.press("f6")
        await pilot.pause()
        screen = pilot.app.screen
        screen.query_one("#completion-model").value = "gpt-3.5-turbo-instruct"
        screen.query_one("#cparam-logprobs").value = "3"
        await pilot.pause()
        area = screen.query_one(DocumentArea)
        area.focus()
        area.load_text('def median(values):\n    """The middle value."""\n\nprint(median([3, 1, 2]))\n')
        area.move_cursor((2, 0))
        await pilot.press("ctrl+g")
        await settle_workers(pilot)
        area.move_cursor((2, 6))
        await pilot.pause()
        assert screen.state == "pending" and area.generated_text == fake_openai.answer
        assert fake_openai.last_request.json["model"] == "gpt-3.5-turbo-instruct"

    assert snap_compare(app, terminal_size=SIZE, run_before=steady(generate))


def test_edit_mode_with_two_choices(snap_compare, fake_openai, tmp_path):
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)

    async def edit(pilot):
        from textual.widgets import Input, TextArea

        await settle(pilot)
        await pilot.press("f7")
        await pilot.pause()
        screen = app.screen
        screen.query_one("#edit-input", TextArea).insert("Teh quick brown fox\njumps over teh lazy dog.\n")
        screen.query_one("#edit-instruction", Input).value = "Fix the spelling"
        screen.query_one("#edit-n", Input).value = "2"
        await pilot.press("ctrl+g")
        await settle_workers(pilot)
        await pilot.press("2")
        screen.query_one("#edit-input", TextArea).cursor_blink = False
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=steady(edit))


def test_images_screen_with_a_result(snap_compare, fake_openai, tmp_path, monkeypatch):
    import tempfile
    from pathlib import Path

    from demo import use_demo_pictures

    from chat_tui.ui.screens import images as images_screen

    undo = use_demo_pictures()
    # A fixed place for the blobs: the saved path is on screen.
    fixed = Path(tempfile.gettempdir()) / "chat-tui-snapshot" / "attachments"
    monkeypatch.setattr(images_screen, "blob_root", lambda app: fixed)
    app = demo_app(fake_openai, tmp_path / "s.db", open_demo=False)

    async def make(pilot):
        await settle(pilot)
        await pilot.press("f10")
        await pilot.pause()
        screen = app.screen
        screen.query_one("#image-model").value = "dall-e-3"
        screen.query_one("#image-prompt").value = "A sun setting over a calm sea"
        await pilot.press("ctrl+g")
        await settle_workers(pilot)
        screen.query_one("#image-prompt").cursor_blink = False
        await pilot.pause()

    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=steady(make))
    finally:
        undo()
