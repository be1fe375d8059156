"""A small in-process `ToolProvider` for tests: plain Python functions (sync or async) as tools.

    tools = PyTools(get_weather, get_time)
    toolbox = Toolbox([tools])
    ... tools.calls == [("get_weather", {"city": "Paris"})]

A function's parameters become the tool's JSON schema (int/float/bool annotations, else string);
its docstring the description. A function that raises is passed on as it is (a provider that
misbehaves: the tool loop must turn it into an error result). `hold(name)` makes that tool wait
until `release(name)`, to stop the loop while a tool is running.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from chat_tui.core.tools import ToolOutcome, ToolSpec

_TYPES = {int: "integer", float: "number", bool: "boolean"}


class PyTools:
    def __init__(self, *functions: Callable[..., Any], name: str = "test") -> None:
        self.name = name
        self.functions = {f.__name__: f for f in functions}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.listed = 0  # how many times list_tools was asked
        self._held: dict[str, asyncio.Event] = {}
        self.started: dict[str, asyncio.Event] = {}

    async def list_tools(self) -> list[ToolSpec]:
        self.listed += 1
        return [ToolSpec(name, inspect.getdoc(f) or "", _schema(f), source=self.name) for name, f in self.functions.items()]

    async def call(self, spec: ToolSpec, arguments: Mapping[str, Any]) -> ToolOutcome:
        self.calls.append((spec.name, dict(arguments)))
        self.started.setdefault(spec.name, asyncio.Event()).set()
        if spec.name in self._held:
            await self._held[spec.name].wait()
        result = self.functions[spec.name](**arguments)
        if inspect.isawaitable(result):
            result = await result
        return result if isinstance(result, ToolOutcome) else ToolOutcome(str(result))

    def hold(self, name: str) -> None:
        self._held[name] = asyncio.Event()

    def release(self, name: str) -> None:
        self._held.pop(name).set()


def _schema(function: Callable[..., Any]) -> dict[str, Any]:
    properties = {}
    required = []
    for param in inspect.signature(function, eval_str=True).parameters.values():
        properties[param.name] = {"type": _TYPES.get(param.annotation, "string")}
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
    return {"type": "object", "properties": properties, "required": required}


# Tools used across the test modules.


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def get_time(tz: str = "UTC") -> str:
    """The time in a time zone."""
    return f"noon {tz}"


def explode(reason: str = "boom") -> str:
    """A tool that fails."""
    raise ValueError(f"the tool broke: {reason}")


def hostile() -> str:
    """A tool whose output tries markup and escape sequences."""
    return "[bold]x[/bold] \x1b[31mred\x1b[0m \x1b]52;c;aGk=\x07 done"
