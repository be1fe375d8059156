"""The tools screen (F12): every source of tools (MCP servers, by their `[mcp.servers.NAME]`
name), its state (not started, running, crashed with the reason) with a Restart button, and its
tools: name, description and input schema, each with an on/off switch, as is the source.

Opening it starts the sources that are on (an MCP server lists its tools once started). The
switches are the open conversation's: each change goes to `on_switch` (the chat screen keeps
them with the conversation) and applies to the next request. Everything a server sends (names,
descriptions, schemas, reasons) is shown as literal text, never as markup.
Styles: ui/styles/screens.tcss.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Collapsible, Label, Static, Switch

from chat_tui.core.text import one_line
from chat_tui.core.tools import ToolSpec, ToolSwitches


def source_name(provider: Any) -> str:
    return getattr(provider, "name", None) or type(provider).__name__


def state_text(provider: Any, on: bool) -> str:
    """A provider's state in a few words (an MCP server's, else it is always ready)."""
    state = getattr(provider, "state", None)
    if state is None:
        return "ready" if on else "off"
    if state == "crashed":
        return f"crashed: {one_line(provider.reason or '')}"
    if state == "running":
        count = len(provider.tools)
        return f"running · {count} tool{'' if count == 1 else 's'}"
    if state == "not started" and not on:
        return "off · not started"
    return "starting…" if state == "starting" else state


def on_off(on: bool) -> str:
    """The switch's state in words too: colour is never the only cue (NO_COLOR, screen readers)."""
    return "on " if on else "off"


class SourceSwitch(Switch):
    def __init__(self, source: str, value: bool) -> None:
        super().__init__(value, animate=False, classes="source-switch")
        self.source = source


class ToolSwitch(Switch):
    def __init__(self, source: str, tool: str, value: bool, disabled: bool) -> None:
        super().__init__(value, animate=False, classes="tool-switch", disabled=disabled)
        self.source = source
        self.tool = tool


class ToolRow(Vertical):
    """One tool: its switch, name and description; its input schema folded under it."""

    def __init__(self, source: str, spec: ToolSpec, on: bool, source_on: bool) -> None:
        super().__init__(classes="tool-row")
        self.source = source
        self.spec = spec
        self.on = on
        self.source_on = source_on

    def compose(self) -> ComposeResult:
        with Horizontal(classes="tool-head"):
            yield ToolSwitch(self.source, self.spec.name, self.on, disabled=not self.source_on)
            yield Label(on_off(self.on), classes="switch-word", markup=False)
            yield Label(self.spec.name, classes="tool-name", markup=False)
            yield Label(one_line(self.spec.description), classes="tool-description", markup=False)
        with Collapsible(title="input schema", collapsed=True, classes="tool-schema-fold"):
            schema = json.dumps(dict(self.spec.input_schema), indent=2, ensure_ascii=False, sort_keys=False)
            yield Static(schema, classes="tool-schema", markup=False)


class SourceSection(Vertical):
    """A source of tools: its switch, name, state and Restart button, then its tools."""

    def __init__(self, provider: Any, screen: ToolsScreen) -> None:
        super().__init__(classes="tool-source")
        self.provider = provider
        self.source = source_name(provider)
        self.owner = screen
        self.specs: list[ToolSpec] = list(getattr(provider, "tools", []) or [])

    @property
    def switches(self) -> ToolSwitches:
        return self.owner.toolbox.switches

    def compose(self) -> ComposeResult:
        on = self.switches.source_on(self.source)
        with Horizontal(classes="source-head"):
            yield SourceSwitch(self.source, on)
            yield Label(on_off(on), classes="switch-word", markup=False)
            yield Label(self.source, classes="source-name", markup=False)
            yield Label(state_text(self.provider, on), classes="source-state", markup=False)
            if callable(getattr(self.provider, "restart", None)):
                yield Button("Restart", classes="source-restart", compact=True)
        yield Vertical(classes="source-tools")

    def on_mount(self) -> None:
        listeners = getattr(self.provider, "listeners", None)
        if isinstance(listeners, list):
            listeners.append(self._changed)
        self.call_after_refresh(self.show_tools)

    def on_unmount(self) -> None:
        listeners = getattr(self.provider, "listeners", None)
        if isinstance(listeners, list) and self._changed in listeners:
            listeners.remove(self._changed)

    def _changed(self, provider: Any) -> None:
        """The provider's state changed (it started, crashed, was restarted)."""
        if self.is_attached:
            self.show_state()

    def show_state(self) -> None:
        on = self.switches.source_on(self.source)
        label = self.query_one(".source-state", Label)
        label.update(state_text(self.provider, on))
        label.set_class(getattr(self.provider, "state", None) == "crashed", "crashed")

    @work(group="tools-list", exit_on_error=False)
    async def load(self, restart: bool = False) -> None:
        """Start the source (or restart it) and show its tools; a failure is its state."""
        from chat_tui.core.text import error_text

        try:
            if restart:
                await self.provider.restart()
            self.specs = list(await self.provider.list_tools())
        except Exception as exc:  # noqa: BLE001 - the state line says what happened
            self.specs = list(getattr(self.provider, "tools", []) or [])
            if getattr(self.provider, "state", None) is None:
                self.notify(f"{self.source}: {error_text(exc)}", title="Tools", severity="error", markup=False)
        if self.is_attached:
            self.show_state()
            await self.show_tools()

    async def show_tools(self) -> None:
        box = self.query_one(".source-tools", Vertical)
        await box.remove_children()
        source_on = self.switches.source_on(self.source)
        rows = [ToolRow(self.source, spec, (self.source, spec.name) not in self.switches.tools_off, source_on)
                for spec in self.specs]
        if rows:
            await box.mount_all(rows)
        elif getattr(self.provider, "state", None) == "not started":
            await box.mount(Label("Its tools are listed once it starts (switch it on).", classes="hint", markup=False))

    def set_source_on(self, on: bool) -> None:
        for switch in self.query(ToolSwitch):
            switch.disabled = not on
        self.show_state()
        if on and getattr(self.provider, "state", "running") == "not started":
            self.load()

    @on(Button.Pressed, ".source-restart")
    def _restart(self, event: Button.Pressed) -> None:
        event.stop()
        self.load(restart=True)


class ToolsScreen(ModalScreen[None]):
    """`toolbox`: the app's; `on_switch(switches)`: the chat screen applies and keeps them."""

    BINDING_GROUP_TITLE = "Tools"
    BINDINGS = [Binding("escape", "close", "Close", id="tools.close")]

    def __init__(self, toolbox: Any, on_switch: Callable[[ToolSwitches], None]) -> None:
        super().__init__()
        self.toolbox = toolbox
        self.on_switch = on_switch

    def compose(self) -> ComposeResult:
        with Vertical(id="tools-dialog"):
            yield Label("Tools the model may call", id="tools-title", markup=False)
            yield Label("Switches are kept with this conversation · Escape or F12 closes", classes="hint",
                        markup=False)
            with VerticalScroll(id="tools-body"):
                if not self.toolbox.providers:
                    yield Label("No sources of tools are configured. Add an MCP server to config.toml:\n\n"
                                '  [mcp.servers.math]\n  command = "python"\n  args = ["math_server.py"]',
                                classes="hint", markup=False)
                for provider in self.toolbox.providers:
                    yield SourceSection(provider, self)

    def on_mount(self) -> None:
        # The first server's switch has focus: Space or Enter turns it off, Tab goes on.
        first = self.query(SourceSwitch)
        (first.first() if first else self.query_one("#tools-body")).focus()
        for section in self.query(SourceSection):
            # What is on is started to list its tools; what has nothing to start is listed anyway.
            if self.toolbox.switches.source_on(section.source) or getattr(section.provider, "state", None) is None:
                section.load()

    def sections(self) -> list[SourceSection]:
        return list(self.query(SourceSection))

    @on(Switch.Changed)
    def _switched(self, event: Switch.Changed) -> None:
        switch = event.switch
        word = switch.parent.query_children(".switch-word") if switch.parent is not None else None
        if word:
            word.first(Label).update(on_off(event.value))
        switches = self.toolbox.switches
        if isinstance(switch, SourceSwitch):
            if switches.source_on(switch.source) == event.value:
                return
            self.on_switch(switches.with_source(switch.source, event.value))
            for section in self.sections():
                if section.source == switch.source:
                    section.set_source_on(event.value)
        elif isinstance(switch, ToolSwitch):
            if ((switch.source, switch.tool) not in switches.tools_off) == event.value:
                return
            self.on_switch(switches.with_tool(switch.source, switch.tool, event.value))

    def action_close(self) -> None:
        self.dismiss(None)
