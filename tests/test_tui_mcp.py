"""MCP servers in the app, driven with Pilot: the real MCP test server (stdio) configured in
`[mcp.servers.math]` beside an in-process provider; nothing starts before it is needed; the F12
screen lists sources, states and tools; its switches decide what the next request offers (the
fake OpenAI server records it), are kept with the conversation and come back when it is
reopened from the history; a server that dies mid-conversation shows as crashed and Restart
brings it back; the app's exit ends the server's process."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from mcp_server import TOOLS, stdio_config
from openapi_spec import validate_request
from tool_provider import PyTools, get_time

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Config, Endpoint
from chat_tui.core.tools import ToolSwitches
from chat_tui.store import Store
from chat_tui.store.tool_switches import tool_switches
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens.tools import SourceSection, SourceSwitch, ToolRow, ToolsScreen, ToolSwitch


@pytest.fixture
def fake(fake_openai, monkeypatch):
    monkeypatch.setenv("MATH_TOKEN", "tok-tui-1234")
    yield fake_openai
    for request in fake_openai.requests:
        if request.path.endswith("/chat/completions"):
            validate_request("CreateChatCompletionRequest", request.json)


def make_app(fake, tmp_path, *, trust=()):
    ep = Endpoint(name="fake", base_url=fake.base_url, trust=tuple(trust))
    store = Store(tmp_path / "ui.db")
    config = Config(mcp_servers={"math": stdio_config()})
    app = ChatApp(ep, store, client=OpenAIClient(ep), model="gpt-4o-mini", config=config,
                  tool_providers=[PyTools(get_time, name="clock")])
    return app, store


def math(app):
    return next(p for p in app.tool_providers if p.name == "math")


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def until(pilot, condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def settled(app, timeout: float = 30.0) -> None:
    await asyncio.wait_for(app.workers.wait_for_complete(), timeout)


def offered_names(fake) -> list[str]:
    body = [r.json for r in fake.requests if r.path.endswith("/chat/completions")][-1]
    return [t["function"]["name"] for t in body.get("tools", [])]


def section(app, name: str) -> SourceSection:
    return next(s for s in app.screen.query(SourceSection) if s.source == name)


async def open_tools(pilot, math_listed: bool = True) -> ToolsScreen:
    await pilot.press("f12")
    await until(pilot, lambda: isinstance(pilot.app.screen, ToolsScreen), "the tools screen")
    screen = pilot.app.screen
    if math_listed:
        await until(pilot, lambda: len(section(pilot.app, "math").query(ToolRow)) == len(TOOLS), "math's tools")
    await until(pilot, lambda: len(section(pilot.app, "clock").query(ToolRow)) == 1, "clock's tool")
    await pilot.pause()
    return screen


async def flip(pilot, switch) -> None:
    before = switch.value
    switch.focus()
    await pilot.press("space")
    await until(pilot, lambda: switch.value != before, "the switch")


async def send(pilot, text: str) -> None:
    await pilot.press(*text, "enter")
    await settled(pilot.app)
    await pilot.pause()


async def test_nothing_starts_until_needed_then_the_screen_lists_it(fake, tmp_path):
    app, store = make_app(fake, tmp_path, trust=("pid",))
    async with app.run_test(size=(120, 50)) as pilot:
        await settled(app)
        assert math(app).state == "not started"
        await open_tools(pilot)
        assert math(app).state == "running"
        text = screen_text(app)
        assert "math" in text and f"running · {len(TOOLS)} tools" in text and "clock" in text
        assert "Add two whole numbers." in text
        # Markup from the server is shown as it is, never interpreted
        assert "Markup that must be shown as text: [bold red]not bold[/]." in text
        row = next(r for r in section(app, "math").query(ToolRow) if r.spec.name == "add")
        row.query_one("Collapsible").collapsed = False
        await pilot.pause()
        assert '"required": [' in screen_text(app) and '"a",' in screen_text(app)
        await pilot.press("f12")
        await until(pilot, lambda: not isinstance(app.screen, ToolsScreen), "F12 closes it")
        fake.tool_plan = [("pid", {})]
        await send(pilot, "which process?")
    # the app's exit ended the server: no process is left
    answer = store.thread(store.last_conversation_id())[-1].content
    assert answer.startswith("Tool results: pid: ")
    pid = int(answer.rsplit(" ", 1)[1])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert math(app).state == "not started"


async def test_a_server_switched_off_offers_none_of_its_tools_and_is_not_started(fake, tmp_path):
    app, store = make_app(fake, tmp_path)
    async with app.run_test(size=(120, 50)) as pilot:
        await open_tools(pilot)
        # The first source's switch has focus on open, so Space alone can turn it off.
        assert app.focused is app.screen.query(SourceSwitch).first()
        await flip(pilot, section(app, "math").query_one(SourceSwitch))
        assert all(s.disabled for s in section(app, "math").query(ToolSwitch))  # its tools follow it
        await pilot.press("escape")
        await math(app).close()  # off: the next request must not start it again
        await send(pilot, "what time is it?")
        assert offered_names(fake) == ["get_time"]
        assert math(app).state == "not started"
        cid = app.chat.conversation_id
        assert tool_switches(store, cid) == ToolSwitches(sources_off=frozenset({"math"}))
        # on again: started to list its tools, and offered again
        await open_tools(pilot, math_listed=False)
        assert "off · not started" in screen_text(app) and "Its tools are listed once it starts" in screen_text(app)
        await flip(pilot, section(app, "math").query_one(SourceSwitch))
        await until(pilot, lambda: len(section(app, "math").query(ToolRow)) == len(TOOLS), "math's tools")
        await pilot.press("escape")
        await send(pilot, "and now?")
        assert offered_names(fake) == ["get_time", *TOOLS]
        assert tool_switches(store, cid) == ToolSwitches()


async def test_a_tool_switched_off_is_not_offered(fake, tmp_path):
    app, store = make_app(fake, tmp_path)
    async with app.run_test(size=(120, 50)) as pilot:
        await open_tools(pilot)
        die = next(s for s in section(app, "math").query(ToolSwitch) if s.tool == "die")
        await flip(pilot, die)
        await pilot.press("escape")
        await send(pilot, "add things")
        assert offered_names(fake) == ["get_time"] + [t for t in TOOLS if t != "die"]
        assert tool_switches(store, app.chat.conversation_id) == ToolSwitches(tools_off=frozenset({("math", "die")}))


async def test_a_server_that_dies_mid_conversation_shows_crashed_and_restarts(fake, tmp_path):
    fake.tool_plan = [("die", {})]
    app, store = make_app(fake, tmp_path, trust=("die",))
    async with app.run_test(size=(120, 50)) as pilot:
        await send(pilot, "please die")
        assert math(app).state == "crashed"
        thread = store.thread(app.chat.conversation_id)
        assert thread[2].role == "tool" and thread[2].status == "error"
        assert thread[2].content.startswith("server math stopped: its process ended")
        await pilot.press("f12")
        await until(pilot, lambda: isinstance(app.screen, ToolsScreen), "the tools screen")
        state = section(app, "math").query_one(".source-state")
        await until(pilot, lambda: "crashed: its process ended" in str(state.render()), "the crash shown")
        assert state.has_class("crashed")
        assert len(section(app, "math").query(ToolRow)) == len(TOOLS)  # the last listing stays visible
        await pilot.click(section(app, "math").query_one(".source-restart"))
        await until(pilot, lambda: math(app).state == "running", "the restart")
        await until(pilot, lambda: f"running · {len(TOOLS)} tools" in str(state.render()), "running shown")
        assert not state.has_class("crashed")
        await pilot.press("escape")
        fake.tool_plan = [("add", {"a": 20, "b": 22})]
        app.endpoint = Endpoint(name="fake", base_url=fake.base_url, trust=("add",))
        await send(pilot, "add them")
        assert store.thread(app.chat.conversation_id)[-1].content == "Tool results: add: 42"


async def test_switches_come_back_when_the_conversation_is_reopened_from_history(fake, tmp_path):
    app, store = make_app(fake, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_tools(pilot)  # a new conversation: switched before its first message
        slow = next(s for s in section(app, "math").query(ToolSwitch) if s.tool == "slow")
        await flip(pilot, slow)
        await flip(pilot, section(app, "clock").query_one(SourceSwitch))
        await pilot.press("escape")
        await send(pilot, "a quokka question")
        first = app.chat.conversation_id
        expected = ToolSwitches(frozenset({"clock"}), frozenset({("math", "slow")}))
        assert tool_switches(store, first) == expected
        assert offered_names(fake) == [t for t in TOOLS if t != "slow"]

        await pilot.press("ctrl+n")  # a new conversation starts with everything on
        await settled(app)
        assert app.toolbox.switches == ToolSwitches()
        await open_tools(pilot)
        assert all(s.value for s in app.screen.query(SourceSwitch)) and all(s.value for s in app.screen.query(ToolSwitch))
        await pilot.press("escape")

        await pilot.press("f9")
        await settled(app)
        await pilot.press(*"quokka")
        await settled(app)
        await pilot.press("enter")
        await settled(app)
        assert app.chat.conversation_id == first
        assert app.toolbox.switches == expected
        await open_tools(pilot)
        assert {s.source: s.value for s in app.screen.query(SourceSwitch)} == {"math": True, "clock": False}
        off = [s.tool for s in section(app, "math").query(ToolSwitch) if not s.value]
        assert off == ["slow"]
        await pilot.press("escape")
        await send(pilot, "again")
        assert offered_names(fake) == [t for t in TOOLS if t != "slow"]


async def test_the_meter_counts_the_tool_definitions_on_offer(fake, tmp_path):
    """They are prompt tokens: the JSON of the `tools` field, counted with the app's counter; a
    server not started yet is unknown ("+?") and is not started for the count."""
    import json

    app, store = make_app(fake, tmp_path)

    def tokens(*providers_wire) -> int:
        wire = [t for group in providers_wire for t in group]
        return app.counter.count_text(json.dumps(wire, ensure_ascii=False, separators=(",", ":")), "gpt-4o-mini").tokens

    async with app.run_test(size=(120, 50)) as pilot:
        await settled(app)
        meter = app.chat.meter
        clock = [s.to_wire() for s in await app.tool_providers[0].list_tools()]
        await until(pilot, lambda: meter.shown("tools") == f"tools {tokens(clock)}+?", "clock's tools, math unknown")
        assert math(app).state == "not started"
        await pilot.press(*"hi")
        await until(pilot, lambda: meter.conversation_tokens is not None and meter.prompt_tokens.tokens == 1, "a count")
        await open_tools(pilot)  # math starts: its tools are known now
        both = [*clock, *[s.to_wire() for s in math(app).tools]]
        await until(pilot, lambda: meter.shown("tools") == f"tools {tokens(both)}", "both counted")
        with_math = meter.conversation_tokens.tokens
        await flip(pilot, section(app, "math").query_one(SourceSwitch))
        await until(pilot, lambda: meter.shown("tools") == f"tools {tokens(clock)}", "math off")
        await until(pilot, lambda: meter.conversation_tokens.tokens == with_math - (tokens(both) - tokens(clock)),
                    "the context without math's tools")
        await flip(pilot, section(app, "clock").query_one(SourceSwitch))
        await until(pilot, lambda: meter.shown("tools") is None, "no tools: no part")
