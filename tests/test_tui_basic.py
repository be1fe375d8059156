"""The app, driven with Pilot against the local fake server."""

from __future__ import annotations

from chat_tui.ui.widgets.markdown_view import MarkdownView

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Endpoint
from chat_tui.store import Store
from chat_tui.ui.app import ChatApp
from chat_tui.ui.widgets.conversation import MessageView
from chat_tui.ui.widgets.prompt import PromptInput


def make_app(fake, tmp_path, **kw):
    ep = Endpoint(name="fake", base_url=fake.base_url)
    store = Store(tmp_path / "ui.db")
    return ChatApp(ep, store, client=OpenAIClient(ep), model=kw.pop("model", "gpt-4o-mini"), **kw), store


def screen_text(app) -> str:
    """The characters on screen, line by line."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def wait_reply(app):
    await app.workers.wait_for_complete()


async def test_type_send_and_stream(fake_openai, tmp_path):
    fake_openai.answer = "# Title\n\nSome **bold** text and `code`."
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        prompt = app.query_one(PromptInput)
        assert app.focused is prompt
        assert "gpt-4o-mini" in str(app.screen.query_one("#status-line").render())
        await pilot.press(*"Hi there")
        await pilot.press("enter")
        await wait_reply(app)
        await pilot.pause()
        views = app.query(MessageView)
        assert [v.role for v in views] == ["user", "assistant"]
        md = views[1].query_one(MarkdownView)
        assert md.source == fake_openai.answer
        assert prompt.text == ""
    req = fake_openai.last_post.json
    assert req["messages"] == [{"role": "user", "content": "Hi there"}]
    cid = store.last_conversation_id()
    thread = store.thread(cid)
    assert [m.role for m in thread] == ["user", "assistant"] and thread[1].status == "complete"


async def test_ctrl_j_inserts_newline(fake_openai, tmp_path):
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test() as pilot:
        await pilot.press("a", "ctrl+j", "b")
        assert app.query_one(PromptInput).text == "a\nb"
        assert [r for r in fake_openai.requests if r.method == "POST"] == []


async def test_error_keeps_prompt(fake_openai, tmp_path):
    fake_openai.require_key = "sk-right"
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test() as pilot:
        await pilot.press(*"keep me")
        await pilot.press("enter")
        await wait_reply(app)
        await pilot.pause()
        assert app.query_one(PromptInput).text == "keep me"
        assert any("HTTP 401" in n.message for n in app._notifications), [n.message for n in app._notifications]


async def test_escape_sequences_in_output_are_shown_not_executed(fake_openai, tmp_path):
    fake_openai.answer = "clear\x1b[2J now [bold]x[/] \x1b]52;c;aGk=\x07"
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test() as pilot:
        await pilot.press(*"go", "enter")
        await wait_reply(app)
        await pilot.pause()
        md = app.query(MessageView).last().query_one(MarkdownView)
        assert md.source == fake_openai.answer
        screen = screen_text(app)  # what the terminal would show
        assert "\x1b" not in screen and "\x07" not in screen
        assert "clear␛[2J" in screen and "[bold]x[/]" in screen and "␛]52;c;aGk=␇" in screen
    # The stored text is the original: only the display is made safe.
    assert store.thread(store.last_conversation_id())[-1].content == fake_openai.answer


async def test_pasted_text_is_kept_whole(fake_openai, tmp_path):
    """A multi-line paste lands in the prompt as it is; its newlines do not send it."""
    from textual import events

    app, _ = make_app(fake_openai, tmp_path)
    pasted = "line one\nline two\n\n    indented [bold]markup[/]\n"
    async with app.run_test(size=(100, 30)) as pilot:
        prompt = app.query_one(PromptInput)
        app.post_message(events.Paste(pasted))  # as the terminal driver delivers it
        await pilot.pause()
        assert prompt.text == pasted
        assert [r for r in fake_openai.requests if r.method == "POST"] == []
        await pilot.press("enter")
        await wait_reply(app)
    assert fake_openai.last_post.json["messages"][-1]["content"] == pasted


async def test_prompt_sent_before_the_endpoint_is_ready_goes_out_when_it_is(fake_openai, tmp_path):
    """Enter while the endpoint is still connecting (the local model loading, say) does not lose
    or refuse the prompt: it is sent as soon as the client is ready."""
    ep = Endpoint(name="fake", base_url=fake_openai.base_url)
    app = ChatApp(ep, Store(tmp_path / "ui.db"), model="gpt-4o-mini")
    app.connect = lambda endpoint: None  # hold the connection back
    app._client_for = lambda endpoint: None
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"early bird", "enter")
        await pilot.pause()
        assert any("Connecting" in n.message for n in app._notifications)
        assert app.query_one(PromptInput).text == "early bird"
        assert [r for r in fake_openai.requests if r.method == "POST"] == []
        app._connected(ep, OpenAIClient(ep))
        await wait_reply(app)
        await pilot.pause()
        await wait_reply(app)
    posts = [r for r in fake_openai.requests if r.method == "POST"]
    assert len(posts) == 1 and posts[0].json["messages"][-1]["content"] == "early bird"


async def test_a_follow_up_is_added_to_the_thread_on_screen(fake_openai, tmp_path):
    """Continuing a conversation adds the new messages to what is shown, nothing is mounted
    again, and the request carries the whole thread."""
    fake_openai.answer = "An answer."
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"first", "enter")
        await wait_reply(app)
        await pilot.pause()
        before = list(app.query(MessageView))
        await pilot.press(*"second", "enter")
        await wait_reply(app)
        await pilot.pause()
        after = list(app.query(MessageView))
        assert after[:2] == before  # the same widgets, not a rebuilt thread
        assert [(v.role, v.text) for v in after] == [
            ("user", "first"), ("assistant", "An answer."), ("user", "second"), ("assistant", "An answer.")
        ]
        thread = store.thread(store.last_conversation_id())
        assert [v.message_id for v in after] == [m.id for m in thread]
        assert after[-1].message.status == "complete"
    assert [m["content"] for m in fake_openai.last_post.json["messages"]] == ["first", "An answer.", "second"]


async def test_the_garbage_collector_is_back_on_after_start_up(fake_openai, tmp_path):
    """The entry point turns the collector off for start-up (~15 ms faster to the first frame);
    the app calls its `on_started` after the warm-up, which freezes the start-up objects out of
    the collector's reach and turns it back on. Without that hook the app leaves it alone."""
    import asyncio
    import gc

    from demo import settle_workers

    from chat_tui.cli import runtime

    started, finished = asyncio.Event(), asyncio.Event()

    def startup_finished() -> None:
        runtime.startup_finished()
        started.set()

    # The warm-up starts after the first refresh and ends by calling `on_started`: wait for that
    # (waiting for the workers alone raced with the warm-up not having started yet).
    app, _ = make_app(fake_openai, tmp_path, on_started=startup_finished)
    gc.disable()  # as runtime.starting() leaves it
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await asyncio.wait_for(started.wait(), 60)
            await settle_workers(pilot)
            assert gc.isenabled()
        gc.disable()
        plain, _ = make_app(fake_openai, tmp_path, on_started=finished.set)  # a hook that leaves gc alone
        async with plain.run_test(size=(100, 30)) as pilot:
            await asyncio.wait_for(finished.wait(), 60)
            await settle_workers(pilot)
            assert not gc.isenabled()
    finally:
        gc.enable()


async def test_while_an_answer_streams_the_cursor_is_steady_and_the_answer_has_room_to_grow(fake_openai, tmp_path):
    import asyncio

    fake_openai.answer = " ".join(f"word{i}" for i in range(120))
    fake_openai.rate = 150  # about 0.8 s of streaming
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        prompt = app.query_one(PromptInput)
        assert prompt.cursor_blink
        await pilot.press(*"Hi")
        sending = asyncio.ensure_future(pilot.press("enter"))  # Pilot's press waits for the app to be idle
        seen_room = seen_steady = False
        while not sending.done():
            views = app.query(MessageView)
            if len(views) == 2 and views[1].body.line_count:
                body = views[1].body
                seen_steady |= not prompt.cursor_blink  # no blinking: two fewer screen updates a second
                seen_room |= body.size.height > body.line_count
            await asyncio.sleep(0.01)
        await sending
        await wait_reply(app)
        await pilot.pause()
        body = app.query(MessageView)[1].body
        assert "word119" in body.source
        assert seen_room and seen_steady  # while it streamed: blank room below the text, a steady cursor
        assert prompt.cursor_blink and body.size.height == body.line_count  # and as before after
