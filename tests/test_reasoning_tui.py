"""Reasoning in the app, driven with Pilot against the loopback fake server: the thinking block
streams above the answer, folds when the answer starts, opens and folds again with a key or a click,
is stored and shown again on reopening, and never goes back to the server. The parameters pane
offers effort and verbosity only for models that take them; compare lanes count the thinking."""

from __future__ import annotations

from openapi_spec import validate_request

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Config, Endpoint
from chat_tui.core.params import ChatParams
from chat_tui.store import Store
from chat_tui.ui import markdown_blocks
from chat_tui.ui.app import ChatApp
from chat_tui.ui.widgets.conversation import MessageView
from chat_tui.ui.widgets.params_pane import ParamsPane
from chat_tui.ui.widgets.token_meter import TokenMeter

THOUGHT = "First, the user says hello. [bold]Markup[/] stays text \x1b[2J and so do escapes. Then I greet back."
ANSWER = "Hello! How can I help?"


def make_app(fake, tmp_path, model="o4-mini", **kw):
    fake.models = [model, "gpt-4o-mini", "o3", "gpt-5"]
    ep = Endpoint(name="fake", base_url=fake.base_url)
    store = Store(tmp_path / "ui.db")
    return ChatApp(ep, store, client=OpenAIClient(ep), model=model, **kw), store


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def params_ready(app) -> bool:
    """The parameters pane is mounted with its fields (the pane is in the DOM before its
    children are; a field queried then is not there yet)."""
    fields = app.query("#param-reasoning_effort")
    return bool(fields) and all(field.is_mounted for field in fields)


async def wait_until(pilot, condition, what: str, tries: int = 400) -> None:
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def reply_view(app) -> MessageView:
    return app.query(MessageView).last()


async def test_the_thinking_block_streams_folds_toggles_is_stored_and_reopens(fake_openai, tmp_path):
    fake_openai.reasoning, fake_openai.answer = THOUGHT, ANSWER
    fake_openai.rate = 10  # the thought takes ~1.6 s: the block is seen open while it streams
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(110, 36)) as pilot:
        await pilot.press(*"Hi there", "enter")
        await wait_until(pilot, lambda: reply_view(app).thinking is not None, "the thinking block")
        block = reply_view(app).thinking
        assert not block.collapsed and block.live  # open while the model thinks
        await wait_until(pilot, lambda: "Thinking…" in screen_text(app), "the live title")
        await app.workers.wait_for_complete()
        await pilot.pause()
        view = reply_view(app)
        block = view.thinking
        # The answer started: the block folded away, its title holds the stored figures.
        assert block.collapsed and not block.text_view.display and not block.live
        row = store.get_message(view.message_id)
        assert (row.content, row.reasoning) == (ANSWER, THOUGHT)
        assert block.text == THOUGHT and view.text == ANSWER
        title = screen_text(app)
        assert f"▶ Thinking · {row.reasoning_duration:.1f} s · {row.reasoning_tokens} tokens" in title
        assert "First, the user" not in title and ANSWER in title
        assert f"({row.reasoning_tokens} reasoning)" in title  # the header's tokens say how many were thinking
        # t on the focused message opens it; the text is the model's, shown as text.
        view.focus()
        await pilot.press("t")
        await pilot.pause()
        assert not block.collapsed
        shown = screen_text(app)
        assert "[bold]Markup[/] stays text ␛[2J" in shown and "\x1b" not in shown
        await pilot.press("t")
        await pilot.pause()
        assert block.collapsed
        # A click on the title opens it too.
        await pilot.click(block.query_one(".thinking-title"))
        await pilot.pause()
        assert not block.collapsed
        # Its details (i): the reasoning's part of the tokens, and how long it thought.
        view.focus()
        await pilot.press("i")
        await pilot.pause()
        from textual.widgets import Static

        details = "\n".join(str(w.render()) for w in app.screen.query(Static))  # the whole dialog, scrolled or not
        assert f'"of which reasoning": {row.reasoning_tokens}' in details
        assert f'"thinking (s)": {str(row.reasoning_duration)[:5]}' in details
        await pilot.press("escape")
        await pilot.pause()
        # The meter's last reply: out includes the thinking, shown beside it.
        meter = app.query_one(TokenMeter)
        reply_line = meter.shown("reply")
        assert f"out {row.completion_tokens:,} ({row.reasoning_tokens:,} thinking)" in reply_line
        # The next request carries the answer, never the thought.
        await pilot.press("ctrl+l", *"And then?", "enter")
        await app.workers.wait_for_complete()
        body = fake_openai.last_request.json
        validate_request("CreateChatCompletionRequest", body)
        assert body["messages"][:2] == [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": ANSWER}]
        assert "greet back" not in str(body)
        cid = store.last_conversation_id()
    # Reopened: the block is there, folded, with its figures.
    app2 = ChatApp(Endpoint(name="fake", base_url=fake_openai.base_url), Store(tmp_path / "ui.db"),
                   client=OpenAIClient(Endpoint(name="fake", base_url=fake_openai.base_url)), model="o4-mini",
                   conversation_id=cid)
    async with app2.run_test(size=(110, 36)) as pilot:
        await wait_until(pilot, lambda: len(app2.query(MessageView)) == 4, "the conversation")
        first = app2.query(MessageView)[1]
        assert first.thinking is not None and first.thinking.collapsed and first.thinking.text == THOUGHT
        assert app2.query(MessageView)[0].thinking is None
        await app2.workers.wait_for_complete()
        await pilot.pause()
        first.focus()
        await pilot.pause()
        assert app2.focused is first
        await pilot.press("t")
        await pilot.pause()
        assert not first.thinking.collapsed


async def test_config_keeps_it_open_and_a_cut_stream_keeps_the_thought(fake_openai, tmp_path):
    from fake_openai import Fault

    fake_openai.reasoning, fake_openai.answer = THOUGHT, ANSWER
    fake_openai.enqueue_fault(Fault("drop", after=5, path="/v1/chat/completions"))  # cut while thinking
    app, store = make_app(fake_openai, tmp_path, config=Config(thinking="open"))
    async with app.run_test(size=(110, 36)) as pilot:
        await pilot.press(*"Hi there", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        view = reply_view(app)
        assert view.thinking is not None and not view.thinking.collapsed
        row = store.get_message(view.message_id)
        assert row.status == "error" and row.content == "" and row.reasoning == "First, the user says hello. "
        assert view.thinking.text == row.reasoning
        assert app.query_one("#prompt").text == "Hi there"  # no answer came: the prompt is given back
        # Another answer to the same prompt: it thinks aloud again; "open" keeps it shown.
        await pilot.press("ctrl+l", "enter")  # the prompt box already holds it
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not reply_view(app).thinking.collapsed and reply_view(app).text == ANSWER


async def test_streaming_into_the_block_renders_only_new_text(fake_openai, tmp_path, monkeypatch):
    """O(new text): no render of the thinking text grows with what came before it."""
    rendered: list[int] = []
    original = markdown_blocks.render_lines

    def counting(text, width, style=None):
        rendered.append(len(text))
        return original(text, width, style)

    monkeypatch.setattr(markdown_blocks, "render_lines", counting)
    paragraph = "I consider the next step of the plan carefully and check each assumption once more. "
    thought = "\n\n".join(paragraph * 3 for _ in range(400))  # ~100 kB of thinking
    fake_openai.reasoning, fake_openai.answer = thought, ANSWER
    fake_openai.chunk_size, fake_openai.rate = 200, 250  # ~2 s: appended to several times while it streams
    app, store = make_app(fake_openai, tmp_path, config=Config(thinking="open"))
    async with app.run_test(size=(110, 36)) as pilot:
        await pilot.press(*"Think hard", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        block = reply_view(app).thinking
        assert block.text == thought and store.get_message(reply_view(app).message_id).reasoning == thought
    assert len(thought) > 100_000 and len(rendered) > 5
    assert max(rendered) < 8_000  # the open tail and a block at most, never the whole thought
    assert sum(rendered) < 3 * len(thought)


async def test_the_pane_offers_effort_and_verbosity_for_models_that_take_them(fake_openai, tmp_path):
    app, _ = make_app(fake_openai, tmp_path, model="gpt-5")
    async with app.run_test(size=(160, 60)) as pilot:
        await wait_until(pilot, lambda: params_ready(app), "the parameters pane")
        await pilot.pause()
        pane = app.query_one(ParamsPane)
        screen = app.screen
        effort, verbosity = pane.query_one("#param-reasoning_effort"), pane.query_one("#param-verbosity")
        assert pane.query_one("#reasoning-fields").display and pane.query_one("#row-verbosity").display
        assert [v for _, v in effort._options if v is not effort.NULL] == ["minimal", "low", "medium", "high"]
        effort.value = "minimal"
        verbosity.value = "low"
        await pilot.pause()
        assert app.params == ChatParams(reasoning_effort="minimal", verbosity="low")
        # o3: no verbosity, no `minimal`: both go back to default (not sent).
        screen.set_model("o3")
        await pilot.pause()
        assert not pane.query_one("#row-verbosity").display and pane.query_one("#row-reasoning_effort").display
        assert app.params == ChatParams() and effort.value is effort.NULL
        effort.value = "high"
        await pilot.pause()
        assert app.params.reasoning_effort == "high"
        # gpt-4o-mini takes neither: the section goes.
        screen.set_model("gpt-4o-mini")
        await pilot.pause()
        assert not pane.query_one("#reasoning-fields").display and app.params == ChatParams()
        # A model not known here: every usual value, marked unchecked, and sent as chosen.
        screen.set_model("qwen3-local")
        await pilot.pause()
        assert pane.query_one("#reasoning-fields").display and "unchecked" in str(pane.query_one("#reasoning-note").render())
        effort.value = "low"
        await pilot.pause()
        fake_openai.models.append("qwen3-local")
        await pilot.press("ctrl+l", *"Hi", "enter")
        await app.workers.wait_for_complete()
        assert fake_openai.last_request.json["reasoning_effort"] == "low"


async def test_a_value_the_model_refuses_is_not_sent_and_the_prompt_stays(fake_openai, tmp_path):
    app, _ = make_app(fake_openai, tmp_path, model="gpt-4o-mini")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: params_ready(app), "the parameters pane")
        await pilot.pause()
        await pilot.pause()
        # A conversation's stored defaults, say, made elsewhere (`chat-tui ask -o` with an unknown model).
        app.params = ChatParams(reasoning_effort="high")
        await pilot.press(*"keep me", "enter")
        await pilot.pause()
        assert app.query_one("#prompt").text == "keep me"
        assert any("reasoning_effort: gpt-4o-mini does not take it" in n.message for n in app._notifications)
        assert [r for r in fake_openai.requests if r.method == "POST"] == []


async def test_compare_lanes_sweep_the_effort_and_count_the_thinking(fake_openai, tmp_path):
    from textual.widgets import Input

    from chat_tui.ui.screens.compare import CompareScreen
    from chat_tui.ui.widgets.lanes import LaneColumn

    fake_openai.reasoning, fake_openai.answer = THOUGHT, ANSWER
    app, store = make_app(fake_openai, tmp_path, model="o3")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        app.chat.open_compare("Compare these")  # as F8 does
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        screen.query_one("#sweep-spec", Input).focus()
        await pilot.press(*"reasoning_effort=low,high", "f5")
        await wait_until(pilot, lambda: len(screen.query(LaneColumn)) == 2, "two lanes")
        await wait_until(pilot, lambda: all(lane.status == "complete" for lane in screen.query(LaneColumn)),
                         "both answers")
        await pilot.pause()
        lanes = list(screen.query(LaneColumn))
        assert [lane.lane.params.reasoning_effort for lane in lanes] == ["low", "high"]
        thought = len(THOUGHT.split())  # the server's count (usage.completion_tokens_details)
        for lane in lanes:
            header = str(lane.query_one(".lane-header").render())
            assert f"tok ({thought} thinking, " in header and lane.text == ANSWER
            row = store.get_message(lane.message_id)
            assert row.reasoning == THOUGHT and row.params["reasoning_effort"] == lane.lane.params.reasoning_effort
        bodies = [r.json for r in fake_openai.requests if r.method == "POST"]
        for body in bodies:
            validate_request("CreateChatCompletionRequest", body)
        assert sorted(b["reasoning_effort"] for b in bodies) == ["high", "low"]
