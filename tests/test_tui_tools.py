"""Function calling in the app, driven with Pilot against the fake server: calls shown as they
stream, approved, declined, always allowed, stopped mid-loop, a tool that raises, the round
limit, a tool turned off, untrusted results shown literally, and all of it reopened."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from openapi_spec import validate_request
from tool_provider import PyTools, explode, get_time, get_weather, hostile

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Config, Endpoint
from chat_tui.core.tool_calls import DECLINED
from chat_tui.store import Store
from chat_tui.ui.app import ChatApp
from chat_tui.ui.widgets.conversation import MessageView
from chat_tui.ui.widgets.prompt import PromptInput
from chat_tui.ui.widgets.tool_calls import ToolApproval, ToolCallView, ToolResult

PROMPT = "weather and time?"


@pytest.fixture
def fake(fake_openai):
    fake_openai.tool_plan = [("get_weather", {"city": "Paris"}), ("get_time", {"tz": "CET"})]
    fake_openai.tool_text = "Let me look."
    yield fake_openai
    for request in fake_openai.requests:
        if request.path.endswith("/chat/completions"):
            validate_request("CreateChatCompletionRequest", request.json)


def make_app(fake, tmp_path, *tools, trust=(), config=None):
    ep = Endpoint(name="fake", base_url=fake.base_url, trust=tuple(trust))
    store = Store(tmp_path / "ui.db")
    app = ChatApp(ep, store, client=OpenAIClient(ep), model="gpt-4o-mini", config=config,
                  tool_providers=[PyTools(*tools)] if tools else ())
    return app, store


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def until(pilot, condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def settled(app, timeout: float = 20.0) -> None:
    """Every worker done (a turn left waiting for an approval would never be)."""
    await asyncio.wait_for(app.workers.wait_for_complete(), timeout)


def approval(app):
    found = app.screen.query(ToolApproval)
    return found.first() if found else None


async def answer(pilot, key: str, name: str) -> None:
    """Wait for the question about `name`, then press `key`."""
    await until(pilot, lambda: (q := approval(pilot.app)) is not None and q.call.name == name
                and pilot.app.focused is q, f"the question about {name}")
    await pilot.press(key)
    await until(pilot, lambda: (q := approval(pilot.app)) is None or q.call.name != name, f"{name} answered")


async def send(pilot, text: str = PROMPT) -> None:
    await pilot.press(*text, "enter")


def chat_bodies(fake):
    return [r.json for r in fake.requests if r.path.endswith("/chat/completions")]


def roles(store):
    return [(m.role, m.name, m.status) for m in store.thread(store.last_conversation_id())]


async def test_approve_both_calls_then_the_answer(fake, tmp_path):
    fake.rate = 400  # the calls stream for a moment: they are seen growing
    app, store = make_app(fake, tmp_path, get_weather, get_time)
    tools = app.tool_providers[0]
    async with app.run_test(size=(120, 50)) as pilot:
        await send(pilot)
        await until(pilot, lambda: len(app.screen.query(ToolCallView)) == 2, "both calls on screen")
        await answer(pilot, "y", "get_weather")
        # get_weather ran: its result is shown under the calls, get_time is asked next
        await answer(pilot, "y", "get_time")
        await settled(app)
        await pilot.pause()
        views = list(app.query(MessageView))
        assert [v.role for v in views] == ["user", "assistant", "tool", "tool", "assistant"]
        calls = views[1].tool_calls()
        assert [(c.name_, c.state) for c in calls] == [("get_weather", "done"), ("get_time", "done")]
        assert json.loads(calls[0].arguments) == {"city": "Paris"}
        assert views[2].query_one(ToolResult).text == "sunny in Paris"
        assert views[4].text == "Tool results: get_weather: sunny in Paris; get_time: noon CET"
        text = screen_text(app)
        assert "⚙ get_weather  done" in text and '"city": "Paris"' in text  # pretty JSON
        assert "↳ get_weather result" in text and "sunny in Paris" in text
        assert app.focused is app.query_one(PromptInput)
    assert tools.calls == [("get_weather", {"city": "Paris"}), ("get_time", {"tz": "CET"})]
    assert [r for r, _, _ in roles(store)] == ["user", "assistant", "tool", "tool", "assistant"]
    assert [t["function"]["name"] for t in chat_bodies(fake)[0]["tools"]] == ["get_weather", "get_time"]


async def test_deny_sends_a_declined_result_and_runs_nothing(fake, tmp_path):
    app, store = make_app(fake, tmp_path, get_weather, get_time)
    tools = app.tool_providers[0]
    async with app.run_test(size=(120, 50)) as pilot:
        await send(pilot)
        await answer(pilot, "n", "get_weather")
        await answer(pilot, "n", "get_time")
        await settled(app)
        await pilot.pause()
        calls = app.query(MessageView)[1].tool_calls()
        assert [c.state for c in calls] == ["declined", "declined"]
        assert "↳ get_weather result  [declined]" in screen_text(app)
    assert tools.calls == []
    assert roles(store)[2:4] == [("tool", "get_weather", "error"), ("tool", "get_time", "error")]
    last = chat_bodies(fake)[-1]["messages"]
    assert [m["content"] for m in last if m["role"] == "tool"] == [DECLINED, DECLINED]


async def test_always_allow_covers_later_calls_in_the_conversation(fake, tmp_path):
    fake.tool_plan = [("get_time", {"tz": "CET"})]
    app, store = make_app(fake, tmp_path, get_time)
    tools = app.tool_providers[0]
    async with app.run_test(size=(120, 50)) as pilot:
        await send(pilot)
        await answer(pilot, "a", "get_time")
        await settled(app)
        await send(pilot, "and again?")  # the next turn calls it again: no question
        await settled(app)
        await pilot.pause()
        assert approval(app) is None
        assert len(tools.calls) == 2
        await pilot.press("ctrl+n")  # another conversation asks again
        await pilot.pause()
        await send(pilot, "time?")
        await until(pilot, lambda: approval(app) is not None, "the question in a new conversation")
        await pilot.press("escape")
        await settled(app)
    assert len(tools.calls) == 2


async def test_trusted_tools_run_without_asking(fake, tmp_path):
    app, store = make_app(fake, tmp_path, get_weather, get_time, trust=["get_weather", "get_time"])
    async with app.run_test(size=(120, 50)) as pilot:
        await send(pilot)
        await settled(app)
        await pilot.pause()
        assert approval(app) is None
        assert app.query(MessageView).last().text.startswith("Tool results: get_weather: sunny in Paris")


async def test_escape_at_the_question_stops_and_keeps_everything(fake, tmp_path):
    app, store = make_app(fake, tmp_path, get_weather, get_time)
    tools = app.tool_providers[0]
    async with app.run_test(size=(120, 50)) as pilot:
        await send(pilot)
        await answer(pilot, "y", "get_weather")
        await until(pilot, lambda: approval(app) is not None, "the second question")
        await pilot.press("escape")
        await settled(app)
        await pilot.pause()
        assert approval(app) is None
        calls = app.query(MessageView)[1].tool_calls()
        assert [c.state for c in calls] == ["done", "not run"]
        assert app.focused is app.query_one(PromptInput)
        # The next prompt goes on from there; the call never run is not sent back.
        fake.tool_plan = None
        await send(pilot, "never mind")
        await settled(app)
    assert tools.calls == [("get_weather", {"city": "Paris"})]
    assert [r for r, _, _ in roles(store)] == ["user", "assistant", "tool", "user", "assistant"]
    second = chat_bodies(fake)[1]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "tool", "user"]
    assert [c["function"]["name"] for c in second[1]["tool_calls"]] == ["get_weather"]


async def test_escape_while_a_tool_runs(fake, tmp_path):
    app, store = make_app(fake, tmp_path, get_weather, get_time, trust=["get_weather", "get_time"])
    tools = app.tool_providers[0]
    tools.hold("get_time")
    async with app.run_test(size=(120, 50)) as pilot:
        await send(pilot)
        await until(pilot, lambda: "get_time" in tools.started, "get_time running")
        await until(pilot, lambda: "running get_time" in str(app.screen.query_one("#status-line").render()), "the status")
        await pilot.press("escape")
        await settled(app)
        await pilot.pause()
        calls = app.query(MessageView)[1].tool_calls()
        assert [c.state for c in calls] == ["done", "stopped"]
    assert [r for r, _, _ in roles(store)] == ["user", "assistant", "tool"]


async def test_escape_mid_stream_keeps_the_half_answer(fake, tmp_path):
    fake.tool_text = " ".join(f"w{i}" for i in range(300))
    fake.rate = 60  # slow enough that Escape lands mid-stream on a loaded machine
    app, store = make_app(fake, tmp_path, get_weather, get_time)
    async with app.run_test(size=(120, 50)) as pilot:
        await send(pilot)
        await until(pilot, lambda: "w20" in app.query(MessageView).last().text, "some text")
        await pilot.press("escape")
        await settled(app)
        await pilot.pause()
        view = app.query(MessageView).last()
        assert "[cancelled]" in str(view.query_one(".header").render())
        assert all(c.state == "not run" for c in view.tool_calls())
    (assistant,) = [m for m in store.thread(store.last_conversation_id()) if m.role == "assistant"]
    assert assistant.status == "cancelled" and assistant.content.startswith("w0 w1 w2")
    assert app.tool_providers[0].calls == []


async def test_a_tool_that_raises_goes_back_as_an_error(fake, tmp_path):
    fake.tool_plan = [("explode", {"reason": "disk full"})]
    app, store = make_app(fake, tmp_path, explode)
    async with app.run_test(size=(120, 50)) as pilot:
        await send(pilot)
        await answer(pilot, "y", "explode")
        await settled(app)
        await pilot.pause()
        views = list(app.query(MessageView))
        assert views[1].tool_calls()[0].state == "error"
        assert views[2].text == "The tool failed: ValueError: the tool broke: disk full"
        assert views[3].text == "Tool results: explode: The tool failed: ValueError: the tool broke: disk full"
        assert not [n for n in app._notifications if n.severity == "error"]


async def test_round_limit(fake, tmp_path):
    fake.tool_rounds = 100
    fake.tool_plan = [("get_time", {})]
    app, store = make_app(fake, tmp_path, get_time, trust=["get_time"], config=Config(max_tool_rounds=2))
    async with app.run_test(size=(120, 50)) as pilot:
        await send(pilot)
        await settled(app)
        await pilot.pause()
        assert any("Stopped after 2 rounds of tool calls" in n.message for n in app._notifications)
        last = app.query(MessageView).last()
        assert last.role == "assistant" and [c.state for c in last.tool_calls()] == ["not run"]
    assert len(app.tool_providers[0].calls) == 2 and len(chat_bodies(fake)) == 3


async def test_a_disabled_tool_is_not_in_the_next_request(fake, tmp_path):
    app, store = make_app(fake, tmp_path, get_weather, get_time, trust=["get_time"])
    async with app.run_test(size=(120, 50)) as pilot:
        app.toolbox.set_enabled("get_weather", False)  # as the tools pane's switch does
        await send(pilot)
        await settled(app)
        await pilot.pause()
        assert approval(app) is None
    for body in chat_bodies(fake):
        assert [t["function"]["name"] for t in body["tools"]] == ["get_time"]
        assert "get_weather" not in json.dumps(body)


async def test_tool_results_are_shown_literally(fake, tmp_path):
    fake.tool_plan = [("hostile", {})]
    app, store = make_app(fake, tmp_path, hostile, trust=["hostile"])
    async with app.run_test(size=(120, 50)) as pilot:
        await send(pilot)
        await settled(app)
        await pilot.pause()
        text = screen_text(app)
        assert "\x1b" not in text and "\x07" not in text
        assert "[bold]x[/bold] ␛[31mred␛[0m" in text and "␛]52;c;aGk=␇ done" in text
    result = [m for m in store.thread(store.last_conversation_id()) if m.role == "tool"][0]
    assert result.content == hostile()  # stored as it came: only the display is made safe


async def test_long_results_fold(fake, tmp_path):
    def listing() -> str:
        """Many lines."""
        return "\n".join(f"line {i}" for i in range(60))
    fake.tool_plan = [("listing", {})]
    app, store = make_app(fake, tmp_path, listing, trust=["listing"])
    async with app.run_test(size=(120, 50)) as pilot:
        await send(pilot)
        await settled(app)
        await pilot.pause()
        text = screen_text(app)
        assert "line 7" in text and "line 8\n" not in text and "52 more lines" in text
        app.query_one(".tool-result-more CollapsibleTitle").focus()
        await pilot.press("enter")
        await pilot.pause()
        app.query(MessageView)[2].scroll_visible(animate=False)
        await pilot.pause()
        assert "line 30" in screen_text(app)


async def test_reopened_conversation_shows_calls_and_results(fake, tmp_path):
    app, store = make_app(fake, tmp_path, get_weather, get_time, trust=["get_weather", "get_time"])
    async with app.run_test(size=(120, 50)) as pilot:
        await send(pilot)
        await settled(app)
    cid = store.last_conversation_id()
    app2 = ChatApp(Endpoint(name="fake", base_url=fake.base_url), store, client=OpenAIClient(Endpoint(name="fake", base_url=fake.base_url)),
                   model="gpt-4o-mini", conversation_id=cid)
    async with app2.run_test(size=(120, 50)) as pilot:
        await until(pilot, lambda: len(app2.query(MessageView)) == 5, "the thread")
        await pilot.pause()
        views = list(app2.query(MessageView))
        assert [(c.name_, c.state) for c in views[1].tool_calls()] == [("get_weather", "done"), ("get_time", "done")]
        text = screen_text(app2)
        assert '"tz": "CET"' in text and "↳ get_time result" in text and "noon CET" in text
        # And a follow-up sends the whole exchange back as the API expects.
        await send(pilot, "thanks")
        await settled(app2)
    sent = chat_bodies(fake)[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool", "assistant", "user"]


async def test_regenerate_runs_the_loop_again_and_keeps_the_old_branch(fake, tmp_path):
    app, store = make_app(fake, tmp_path, get_weather, get_time, trust=["get_weather", "get_time"])
    async with app.run_test(size=(120, 50)) as pilot:
        await send(pilot)
        await settled(app)
        await pilot.press("ctrl+g")  # regenerate (ctrl+r in the prompt searches earlier prompts)
        await settled(app)
        await pilot.pause()
        assert [v.role for v in app.query(MessageView)] == ["user", "assistant", "tool", "tool", "assistant"]
        assert "‹ 2/2 ›" in str(app.query(MessageView)[1].query_one(".header").render())
    messages = store.messages(store.last_conversation_id())
    assert [m.role for m in messages].count("tool") == 4  # both branches keep their results
    assert len(app.tool_providers[0].calls) == 4


async def test_compare_lanes_differ_in_tools_show_calls_and_run_them_only_when_picked(fake, tmp_path):
    from textual.widgets import Input

    app, store = make_app(fake, tmp_path, get_weather, get_time)
    tools = app.tool_providers[0]
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        screen = app.chat.open_compare(PROMPT)
        await pilot.pause()
        screen.query_one("#lane-spec-0", Input).value = "tools=none"
        screen.query_one("#lane-spec-1", Input).value = "tool_choice=get_time"
        await pilot.press("f5")
        await until(pilot, lambda: all(c.status == "complete" for c in screen.columns) and len(screen.columns) == 2,
                    "both lanes")
        await until(pilot, lambda: "Tool calls" in screen.columns[1].answer_view.source, "the calls shown")
        plain, calling = screen.columns
        assert plain.text == f"Echo: {PROMPT}" and "Tool calls" not in plain.answer_view.source
        assert "⚙ `get_time`" in calling.answer_view.source and '"tz": "CET"' in calling.answer_view.source
        assert calling.text == "Let me look."  # the diff and similarity see the text alone
        assert tools.calls == []  # compare runs none
        bodies = chat_bodies(fake)
        assert sorted("tools" in b for b in bodies) == [False, True]
        forced = next(b for b in bodies if "tools" in b)
        assert forced["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}
        calling.focus()
        await pilot.press("enter")  # pick: the chat asks, runs, and the model answers
        await answer(pilot, "y", "get_time")
        await settled(app)
        await pilot.pause()
        assert app.screen is app.chat
        assert tools.calls == [("get_time", {"tz": "CET"})]
        assert app.query(MessageView).last().text == "Tool results: get_time: noon CET"
    after = chat_bodies(fake)[-1]  # with the chat's own parameters: the lane's were for its request
    assert "tool_choice" not in after and [t["function"]["name"] for t in after["tools"]] == ["get_weather", "get_time"]
    assert [m["role"] for m in after["messages"]] == ["user", "assistant", "tool"]
