"""TokenMeter in a small host app: a TextArea feeding it on every keystroke, as the chat screen will."""

from __future__ import annotations

import asyncio
import math
import threading
from pathlib import Path

import pytest
from textual import on
from textual.app import App, ComposeResult
from textual.widgets import TextArea

import chat_tui.ui
from chat_tui.core.messages import ChatMessage
from chat_tui.core.models_table import estimate_cost, model_info
from chat_tui.core.tokens import COUNT_AT_ONCE, TokenCount, TokenCounter
from chat_tui.ui.widgets.token_meter import DEBOUNCE, REDRAW_INTERVAL, TokenMeter, format_cost, short_count

STYLES = Path(chat_tui.ui.__file__).parent / "styles"


@pytest.fixture(scope="module")
def counter(tiktoken_cache) -> TokenCounter:
    """One counter for the module, so o200k_base/cl100k_base load once."""
    return TokenCounter(tiktoken_cache)


class MeterHost(App[None]):
    CSS_PATH = [STYLES / "meter.tcss"]

    def __init__(self, counter: TokenCounter, model: str = "gpt-4o", **kw) -> None:
        super().__init__()
        self.meter_args = (counter, model, kw)
        self.updates: list[TokenMeter.Updated] = []
        self.updated = asyncio.Event()
        self.consumed = 0  # updates already returned by next_update()

    def compose(self) -> ComposeResult:
        counter, model, kw = self.meter_args
        yield TextArea(id="prompt")
        yield TokenMeter(counter, model=model, **kw)

    @on(TextArea.Changed, "#prompt")
    def typed(self, event: TextArea.Changed) -> None:
        self.query_one(TokenMeter).set_prompt(event.text_area.text)

    def on_token_meter_updated(self, message: TokenMeter.Updated) -> None:
        self.updates.append(message)
        self.updated.set()

    async def next_update(self) -> TokenMeter.Updated:
        """The newest Updated after the last one returned; waits for it (no fixed sleeps)."""
        while len(self.updates) <= self.consumed:
            self.updated.clear()
            await asyncio.wait_for(self.updated.wait(), timeout=10)
        self.consumed = len(self.updates)
        return self.updates[-1]



def part(app: App, name: str) -> str | None:
    return app.query_one(TokenMeter).shown(name)


async def start(app: MeterHost) -> TokenMeter:
    """Wait for the count made on mount (empty prompt)."""
    await app.next_update()
    return app.query_one(TokenMeter)


async def test_typing_updates_exact_prompt_count_after_debounce(counter):
    app = MeterHost(counter, "gpt-4o")
    async with app.run_test(size=(120, 10)) as pilot:
        meter = await start(app)
        assert meter.prompt_tokens == TokenCount(0, True, "o200k_base")
        app.query_one("#prompt").focus()
        await pilot.press(*"tiktoken is great!")
        # the debounce (restarted by the last key) has not run out: the text isn't counted yet
        assert meter.prompt_tokens.tokens != 6
        update = await app.next_update()
        assert update.prompt_tokens == TokenCount(6, True, "o200k_base")
        # cookbook recipe: 3 reply priming + 3 framing + "user" + 6
        assert update.conversation_tokens == TokenCount(13, True, "o200k_base")
        assert part(app, "prompt") == "prompt 6"
        assert part(app, "context") == "ctx 13 / 128k"
        assert not app.query_one(TokenMeter).is_estimate("prompt")


async def test_keystrokes_never_count_on_the_ui_thread(counter, monkeypatch):
    main = threading.main_thread()
    calls: list[tuple[str, bool]] = []

    def guard(name, original):
        def wrapper(self, *args, **kwargs):
            on_main = threading.current_thread() is main
            calls.append((name, on_main))
            if on_main:
                raise AssertionError(f"TokenCounter.{name} called on the UI thread")
            return original(self, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(TokenCounter, "count_text", guard("count_text", TokenCounter.count_text))
    monkeypatch.setattr(TokenCounter, "count_messages", guard("count_messages", TokenCounter.count_messages))
    app = MeterHost(counter, "gpt-4o")
    async with app.run_test(size=(120, 10)) as pilot:
        meter = await start(app)
        meter.set_history([ChatMessage("user", "hi"), ChatMessage("assistant", "hello")], "be brief")
        await app.next_update()
        app.query_one("#prompt").focus()
        await pilot.press(*"some text")
        await app.next_update()
        assert part(app, "prompt") == "prompt 2"
    assert {name for name, _ in calls} == {"count_text", "count_messages"}
    assert not any(on_main for _, on_main in calls)


async def test_rapid_typing_counts_only_the_final_text(counter, monkeypatch):
    counted: list[str] = []
    original = TokenCounter.count_text

    def recording(self, text, model):
        counted.append(text)
        return original(self, text, model)

    monkeypatch.setattr(TokenCounter, "count_text", recording)
    app = MeterHost(counter, "gpt-4o")
    async with app.run_test(size=(120, 10)):
        meter = await start(app)
        counted.clear()
        before = len(app.updates)
        text = "tiktoken is great!"
        for i in range(1, len(text) + 1):  # one call per keystroke, faster than the debounce
            meter.set_prompt(text[:i])
        await app.next_update()
        await app.workers.wait_for_complete()
        assert counted == [text]
        assert [u.prompt_tokens.tokens for u in app.updates[before:]] == [6]


async def test_stale_result_does_not_overwrite_newer_one(counter, monkeypatch):
    """A slow count of older text finishing after a newer one must be dropped."""
    release = threading.Event()
    original = TokenCounter.count_text

    def slow_for_old_text(self, text, model):
        if text == "old text":
            release.wait(10)  # held until the newer text has been counted
        return original(self, text, model)

    monkeypatch.setattr(TokenCounter, "count_text", slow_for_old_text)
    app = MeterHost(counter, "gpt-4o")
    async with app.run_test(size=(120, 10)) as pilot:
        meter = await start(app)
        before = len(app.updates)
        meter.set_prompt("old text")
        await pilot.pause(DEBOUNCE)  # the timer fires and the slow count starts
        while not any(w.group == "meter" and w.is_running for w in app.workers):
            await pilot.pause(0.01)
        meter.set_prompt("tiktoken is great!")
        update = await app.next_update()
        assert update.prompt_tokens.tokens == 6
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert meter.prompt_tokens.tokens == 6
        assert [u.prompt_tokens.tokens for u in app.updates[before:]] == [6]


async def test_history_and_system_counted_by_cookbook_recipe(counter):
    app = MeterHost(counter, "gpt-4o")
    async with app.run_test(size=(120, 10)):
        meter = await start(app)
        history = [ChatMessage("user", "hi"), ChatMessage("assistant", "hello there")]
        meter.set_history(history, "You are terse.")
        update = await app.next_update()
        expected = counter.count_messages([ChatMessage("system", "You are terse."), *history], "gpt-4o")
        assert update.conversation_tokens == expected
        meter.set_prompt("tiktoken is great!")
        update = await app.next_update()
        full = [ChatMessage("system", "You are terse."), *history, ChatMessage("user", "tiktoken is great!")]
        assert update.conversation_tokens == counter.count_messages(full, "gpt-4o")


async def test_context_bar_fraction_and_max_tokens_reserved(counter):
    app = MeterHost(counter, "gpt-4")  # 8,192-token window
    async with app.run_test(size=(120, 10)):
        meter = await start(app)
        meter.set_history([ChatMessage("user", "hello " * 2000)], None)
        update = await app.next_update()
        conversation = update.conversation_tokens.tokens
        assert update.context_window == 8192
        assert meter.context_fraction == pytest.approx(conversation / 8192)
        used = round(conversation / 8192 * 10)
        assert part(app, "bar") == "█" * used + "░" * (10 - used) + f" {conversation / 8192:.0%}"
        meter.set_max_tokens(4096)
        assert part(app, "max") == "max 4,096"
        assert part(app, "bar").startswith("█" * used + "▒" * 5)
        assert app.query_one(TokenMeter).bar_level != "over"
        meter.set_max_tokens(8000)  # prompt + reserved output no longer fit
        assert app.query_one(TokenMeter).bar_level == "over"
        meter.set_max_tokens(None)
        assert part(app, "max") is None


async def test_cost_shown_for_gpt_4o_mini(counter):
    app = MeterHost(counter, "gpt-4o-mini")
    async with app.run_test(size=(120, 10)):
        meter = await start(app)
        meter.set_prompt("tiktoken is great!")
        update = await app.next_update()
        info = model_info("gpt-4o-mini")
        low = estimate_cost(info, update.conversation_tokens.tokens, 0)
        assert part(app, "cost") == f"cost {format_cost(low)}"
        assert part(app, "cost").startswith("cost $0.0000019")  # 13 tokens at $0.15 per 1M
        meter.set_max_tokens(1000)
        high = estimate_cost(info, update.conversation_tokens.tokens, 1000)
        assert part(app, "cost") == f"cost {format_cost(low)}–{format_cost(high)}"


async def test_local_model_is_marked_estimate_and_unknown_limits_do_not_crash(counter):
    app = MeterHost(counter, "smollm2-135m-instruct")
    async with app.run_test(size=(120, 10)):
        meter = await start(app)
        meter.set_prompt("tiktoken is great!")
        update = await app.next_update()
        assert update.prompt_tokens.exact is False
        assert update.context_window is None
        assert part(app, "prompt") == "prompt ~6"
        assert app.query_one(TokenMeter).is_estimate("prompt")
        assert part(app, "context") == "ctx ~13"  # no window known: no " / …"
        assert part(app, "bar") is None
        assert part(app, "cost") is None  # no price known
        assert meter.context_fraction is None
        meter.stream_started()
        meter.stream_delta("Hello")
        meter.stream_finished(None, None, 1)
        assert part(app, "reply").startswith("last reply: in ~13 · out ~1 · ")
        assert app.query_one(TokenMeter).is_estimate("reply")


async def test_set_model_recounts(counter):
    app = MeterHost(counter, "smollm2-135m-instruct")
    async with app.run_test(size=(120, 10)):
        meter = await start(app)
        meter.set_prompt("tiktoken is great!")
        await app.next_update()
        meter.set_model("gpt-4o-mini")
        update = await app.next_update()
        assert update.prompt_tokens == TokenCount(6, True, "o200k_base")
        assert part(app, "context") == "ctx 13 / 128k"


async def test_streaming_figures_then_server_usage(counter, monkeypatch):
    app = MeterHost(counter, "gpt-4o-mini")
    async with app.run_test(size=(120, 10)) as pilot:
        meter = await start(app)
        meter.set_prompt("tiktoken is great!")
        await app.next_update()
        assert part(app, "reply") is None  # nothing streamed yet
        redraws = 0
        original_render = meter._render_reply

        def counting_render():
            nonlocal redraws
            redraws += 1
            return original_render()

        monkeypatch.setattr(meter, "_render_reply", counting_render)
        meter.stream_started()
        assert part(app, "reply").startswith("▸ reply: in 13 · out ~0 · ")
        redraws = 0
        counts = []
        original_count = meter.counter.try_count_text
        monkeypatch.setattr(meter.counter, "try_count_text", lambda text, model: counts.append(text) or original_count(text, model))
        for _ in range(200):  # a burst of deltas: counted together, drawn at most once per interval
            meter.stream_delta(" token")
        assert meter.completion_tokens == TokenCount(200, False, "stream")
        assert counts == [" token" * 200]  # one tokenizer call for the burst, not one per piece
        assert redraws == 0  # throttled: the redraw is scheduled, not done per delta
        await pilot.pause(REDRAW_INTERVAL + 0.05)
        assert redraws == 1
        shown = part(app, "reply")
        assert shown.startswith("▸ reply: in 13 · out ~200 · ") and "first token " in shown and "~$" in shown
        assert meter.streaming

        meter.stream_timing(0.42, 55.0)  # measured by the client
        meter.stream_finished(usage_prompt=13, usage_completion=201, completion_tokens_local=200)
        assert meter.completion_tokens == TokenCount(201, True, "usage")
        cost = format_cost(estimate_cost(model_info("gpt-4o-mini"), 13, 201))
        assert part(app, "reply") == f"last reply: in 13 · out 201 · 55 tok/s · first token 0.42s · {cost}"
        assert not app.query_one(TokenMeter).is_estimate("reply")
        assert not meter.streaming


async def test_request_sent_before_count_caught_up_is_marked_estimate(counter):
    app = MeterHost(counter, "gpt-4o")
    async with app.run_test(size=(120, 10)):
        meter = await start(app)
        meter.set_prompt("tiktoken is great!")
        await app.next_update()
        meter.set_prompt("tiktoken is great! and more")  # Enter pressed within the debounce
        meter.stream_started()
        assert meter.reply_prompt_tokens == TokenCount(13, False, "o200k_base")
        assert part(app, "reply").startswith("▸ reply: in ~13 · ")


async def test_no_usage_falls_back_to_local_count(counter):
    app = MeterHost(counter, "gpt-4o")
    async with app.run_test(size=(120, 10)):
        meter = await start(app)
        meter.set_prompt("tiktoken is great!")
        await app.next_update()
        meter.stream_started()
        meter.stream_delta("Hi")
        meter.stream_finished(None, None, completion_tokens_local=7)  # whole text counted
        assert meter.completion_tokens == TokenCount(7, True, "local")
        assert part(app, "reply").startswith("last reply: in 13 · out 7 · ")


async def test_stream_before_encoding_loaded_is_estimate(tiktoken_cache, monkeypatch):
    fresh = TokenCounter(tiktoken_cache)  # nothing loaded in this instance
    monkeypatch.setattr(fresh, "preload", lambda *models: None)
    monkeypatch.setattr(fresh, "count_text", lambda text, model: TokenCount(0, True, "o200k_base"))
    monkeypatch.setattr(fresh, "count_messages", lambda msgs, model: TokenCount(3, True, "o200k_base"))
    app = MeterHost(fresh, "gpt-4o")
    async with app.run_test(size=(120, 10)):
        meter = await start(app)
        assert not fresh.is_loaded("gpt-4o")
        meter.stream_started()
        meter.stream_delta("abcdefgh")  # try_count_text gives None: chars/4, marked
        assert meter.completion_tokens == TokenCount(2, False, "stream")
        meter.stream_finished(usage_prompt=9, usage_completion=2)
        assert meter.completion_tokens == TokenCount(2, True, "usage")


async def test_a_burst_is_estimated_on_the_ui_thread_and_the_final_count_replaces_it(counter, monkeypatch):
    app = MeterHost(counter, "gpt-4o")
    async with app.run_test(size=(120, 10)):
        meter = await start(app)
        meter.stream_started()
        counted = []
        original = meter.counter.try_count_text
        monkeypatch.setattr(meter.counter, "try_count_text", lambda text, model: counted.append(len(text)) or original(text, model))
        meter.stream_delta("word " * (COUNT_AT_ONCE // 5 + 1))  # one burst over the bound: ~0.5 s a megabyte to count
        assert counted == []
        assert meter.completion_tokens == TokenCount(math.ceil((COUNT_AT_ONCE // 5 + 1) * 5 / 4), False, "stream")
        meter.stream_delta(" and two")  # what comes at a model's pace is counted
        assert meter.completion_tokens.tokens == math.ceil((COUNT_AT_ONCE // 5 + 1) * 5 / 4) + 2
        assert counted == [8]
        meter.stream_finished(None, None, completion_tokens_local=13_110)  # counted off the loop, over the whole text
        assert meter.completion_tokens == TokenCount(13_110, True, "local")


def test_formatting_helpers():
    assert [short_count(n) for n in (512, 8_192, 16_385, 128_000, 1_047_576, 2_000_000)] == [
        "512", "8k", "16k", "128k", "1M", "2M",
    ]
    assert format_cost(0) == "$0"
    assert format_cost(0.00042) == "$0.00042"
    assert format_cost(0.012) == "$0.012"
    assert format_cost(1.254) == "$1.25"


async def test_the_meter_draws_its_rows_styled_and_a_new_figure_lays_nothing_out(counter, monkeypatch):
    """One widget: row 1 is the shown parts two spaces apart, row 2 the reply once it starts.
    Estimates in italics, the bar in the theme's colours by how full it is; a changed figure
    repaints the meter, only row 2 appearing lays the screen out."""
    from textual.color import Color

    app = MeterHost(counter, "gpt-4")  # 8,192-token window
    async with app.run_test(size=(120, 10)) as pilot:
        meter = await start(app)
        meter.set_history([ChatMessage("user", "hello " * 7000)], None)  # over 80 % of the window
        await app.next_update()
        await pilot.pause()

        def span_style(text: str):
            content = meter.render()
            start = content.plain.index(text)
            styles = [span.style for span in content.spans if span.start <= start < span.end]
            assert len(styles) <= 1, (text, content.spans)
            return styles[0] if styles else None  # None: the meter's own style

        rows = meter.render().plain.split("\n")
        parts = [meter.shown(name) for name in ("prompt", "tools", "context", "bar", "max", "cost")]
        assert rows == ["  ".join(p for p in parts if p is not None)]
        assert meter.size.height == 1 and meter.bar_level == "warn"
        theme = app.theme_variables  # what $warning and $error are in this theme
        assert span_style(meter.shown("bar")).foreground == Color.parse(theme["warning"])
        meter.set_max_tokens(4000)
        assert span_style(meter.shown("bar")).foreground == Color.parse(theme["error"])
        assert span_style(meter.shown("bar")).bold

        layouts = []
        refresh = meter.refresh
        monkeypatch.setattr(meter, "refresh", lambda *a, **kw: layouts.append(kw.get("layout", False)) or refresh(*a, **kw))
        meter.set_max_tokens(4001)  # a new figure: repainted, not laid out
        assert layouts and not any(layouts)
        meter.stream_started()  # row 2 appears: the meter grows
        assert layouts[-1] is True
        meter.stream_delta("Hello")
        meter._redraw_now()
        streaming = span_style("▸ reply")  # counted from the stream: an estimate
        assert meter.is_estimate("reply") and streaming.italic
        assert streaming.foreground == Color.parse(theme["success"])
        meter.stream_finished(None, None, 1)
        await pilot.pause()
        assert meter.size.height == 2
        rows = meter.render().plain.split("\n")
        assert rows[1] == meter.shown("reply") and rows[1].startswith("last reply: in 7,0")
        assert not meter.is_estimate("reply") and span_style("last reply") is None
