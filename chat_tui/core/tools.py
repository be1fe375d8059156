"""Tools the model may call: what one is (`ToolSpec`), what running it gave (`ToolOutcome`), and
the one interface every source of tools implements (`ToolProvider`): MCP servers
(`services/mcp.py`) and, in tests, plain Python functions. The tool loop
(`services/tools.py`) knows only this interface, never where a tool comes from.

Plain data: nothing here runs a tool or touches the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ToolSpec:
    """A tool as offered to the model. `name` is unique among the tools of one request (the
    wire name); `source` says where it comes from ("mcp:<server>", "test", ...); `origin_name`
    is the tool's own name at its source where `name` had to differ (two servers with one name)."""

    name: str
    description: str = ""
    input_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    source: str = ""
    origin_name: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The `tools` entry of a chat completions request."""
        function: dict[str, Any] = {"name": self.name, "parameters": dict(self.input_schema)}
        if self.description:
            function["description"] = self.description
        return {"type": "function", "function": function}


@dataclass(frozen=True)
class ToolOutcome:
    """What a call gave, as the text that goes back to the model in the `tool` message. An
    error (the tool raised, timed out, its server died, the arguments were not JSON) is an
    outcome too, with `is_error`: the model is told and may try again; nothing crashes."""

    text: str
    is_error: bool = False


@dataclass(frozen=True)
class ToolSwitches:
    """What a conversation has turned off (the F12 pane; stored per conversation): whole
    sources, by their provider's `name` (an MCP server's `[mcp.servers.NAME]`), and single tools
    as (source, tool name). Everything else is on: `ToolSwitches()` is all on."""

    sources_off: frozenset[str] = frozenset()
    tools_off: frozenset[tuple[str, str]] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.sources_off or self.tools_off)

    def source_on(self, source: str) -> bool:
        return source not in self.sources_off

    def tool_on(self, source: str, tool: str) -> bool:
        """On when its source is on and it is not off itself."""
        return self.source_on(source) and (source, tool) not in self.tools_off

    def with_source(self, source: str, on: bool) -> ToolSwitches:
        off = self.sources_off - {source} if on else self.sources_off | {source}
        return ToolSwitches(frozenset(off), self.tools_off)

    def with_tool(self, source: str, tool: str, on: bool) -> ToolSwitches:
        off = self.tools_off - {(source, tool)} if on else self.tools_off | {(source, tool)}
        return ToolSwitches(self.sources_off, frozenset(off))


class ToolProvider(Protocol):
    """A source of tools."""

    async def list_tools(self) -> list[ToolSpec]:
        """The tools it offers now (a server may have to be started first)."""
        ...

    async def call(self, spec: ToolSpec, arguments: Mapping[str, Any]) -> ToolOutcome:
        """Run one tool with its (already parsed) arguments. Never raises for a tool's own
        failure: that is a ToolOutcome with is_error."""
        ...
