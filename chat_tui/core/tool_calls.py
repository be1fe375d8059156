"""The model's tool calls as they stream, and what the tool loop decides about each: plain logic,
no I/O (the loop itself is `services/tools.py`).

`CallAssembler` merges the streamed `tool_calls` delta entries of one choice into whole calls,
by their `index`: the first entry of a call brings its id, type and name (some servers split the
name too), the following ones pieces of its `arguments`; several calls may stream in turns
(parallel calls), between pieces of text. Arguments are kept as pieces and joined on demand, so
a delta costs O(its own text).

Servers vary: an entry without `index` is matched by its id (or is the next call), a call with
no id gets `call_<n>` so its result can still answer it, entries of the wrong type are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from chat_tui.core.messages import ChatMessage, ToolCall

# What the user decides about one call (Escape cancels the loop instead: no decision).
APPROVE, DENY, ALWAYS = "approve", "deny", "always"
DECISIONS = (APPROVE, DENY, ALWAYS)

DECLINED = "The user declined to run this tool call."
TOOL_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
MAX_TOOL_NAME = 64  # OpenAI's limit on a function name


def valid_tool_name(name: str) -> bool:
    """a-z, A-Z, 0-9, _ and -, at most 64: what OpenAI accepts as a function name."""
    return 0 < len(name) <= MAX_TOOL_NAME and all(c in TOOL_NAME_CHARS for c in name)


def wire_tool_name(name: str) -> str:
    """`name` as OpenAI accepts a function name: itself if valid, else `_` for each character
    it refuses, cut at 64 ("tool" if nothing is left)."""
    if valid_tool_name(name):
        return name
    return "".join(c if c in TOOL_NAME_CHARS else "_" for c in name)[:MAX_TOOL_NAME] or "tool"


@dataclass
class _Partial:
    id: str = ""
    name: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)

    def call(self, position: int) -> ToolCall:
        return ToolCall(self.id or f"call_{position}", "".join(self.name), "".join(self.arguments))


@dataclass(frozen=True, slots=True)
class CallUpdate:
    """What one delta entry added to call `position` (0-based, in the order calls began): a new
    call (`started`, with its name so far), more of its name, more of its arguments."""

    position: int
    started: bool
    name: str
    arguments: str


class CallAssembler:
    """Whole calls from the delta entries of one choice (see the module docstring)."""

    def __init__(self) -> None:
        self._calls: dict[Any, _Partial] = {}  # by the server's index, in order of appearance
        self._by_id: dict[str, Any] = {}

    def __bool__(self) -> bool:
        return bool(self._calls)

    def feed(self, entries: Iterable[Mapping[str, Any]]) -> list[CallUpdate]:
        """Merge delta entries; what each added (for a view that shows calls as they grow)."""
        updates = []
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            key = self._key(entry)
            started = key not in self._calls
            call = self._calls.setdefault(key, _Partial())
            call_id = entry.get("id")
            if isinstance(call_id, str) and call_id and not call.id:
                call.id = call_id
                self._by_id[call_id] = key
            function = entry.get("function")
            name = arguments = ""
            if isinstance(function, Mapping):
                name = function.get("name") if isinstance(function.get("name"), str) else ""
                arguments = function.get("arguments") if isinstance(function.get("arguments"), str) else ""
                if name:
                    call.name.append(name)
                if arguments:
                    call.arguments.append(arguments)
            updates.append(CallUpdate(list(self._calls).index(key), started, name, arguments))
        return updates

    def _key(self, entry: Mapping[str, Any]) -> Any:
        index = entry.get("index")
        if isinstance(index, int) and not isinstance(index, bool):
            return index
        call_id = entry.get("id")
        if isinstance(call_id, str) and call_id in self._by_id:
            return self._by_id[call_id]
        if not (isinstance(call_id, str) and call_id) and self._calls:
            return list(self._calls)[-1]  # a continuation without index or id: the last call
        return ("new", len(self._calls))

    def calls(self) -> tuple[ToolCall, ...]:
        """The calls so far, in the order they began."""
        return tuple(call.call(position) for position, call in enumerate(self._calls.values()))


def parse_arguments(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the arguments as a JSON object, None) or (None, what is wrong with them). No arguments at
    all is an empty object: a tool without parameters."""
    if not text.strip():
        return {}, None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return None, f"the arguments are not valid JSON ({exc})"
    if not isinstance(value, dict):
        return None, f"the arguments must be a JSON object, not {type(value).__name__}"
    return value, None


def pretty_arguments(text: str) -> str:
    """The arguments indented for reading, or as they came if they are not JSON."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return json.dumps(value, indent=2, ensure_ascii=False)


def fence(text: str, info: str = "") -> str:
    """`text` as a fenced block of Markdown, the fence longer than any run of backticks in it,
    so nothing in the text can close it (a tool's result may hold anything)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    mark = "`" * max(3, longest + 1)
    return f"{mark}{info}\n{text}" + ("" if text.endswith("\n") else "\n") + f"{mark}\n"


def json_fence(text: str) -> str:
    """`text` as a fenced JSON block of Markdown."""
    return fence(text, "json")


class Approvals:
    """Which calls run without asking, in one conversation: the profile's `trust` list, and the
    tools the user answered "always" for (kept for the conversation while the app runs)."""

    def __init__(self, trust: Iterable[str] = ()) -> None:
        self.trust = frozenset(trust)
        self.always: set[str] = set()

    def automatic(self, name: str) -> bool:
        return name in self.trust or name in self.always

    def remember(self, name: str) -> None:
        self.always.add(name)


def unanswered(calls: Iterable[ToolCall], answered: Iterable[str]) -> list[ToolCall]:
    """The calls no tool result answers yet."""
    done = set(answered)
    return [c for c in calls if c.id not in done]


def paired(messages: Iterable[ChatMessage]) -> list[ChatMessage]:
    """The messages as the API takes them: an assistant's tool calls each answered by a `tool`
    message right after it. A call without an answer (the loop was stopped before it ran, or at
    its round limit) is left out of its message, a message left with nothing is left out, and a
    tool result that answers no call before it is left out: they are kept in the conversation,
    only not sent."""
    items = list(messages)
    out: list[ChatMessage] = []
    i = 0
    while i < len(items):
        message = items[i]
        i += 1
        if message.role == "tool":
            continue  # answers no call made just before it
        if message.role != "assistant" or not message.tool_calls:
            out.append(message)
            continue
        results = []
        while i < len(items) and items[i].role == "tool":
            results.append(items[i])
            i += 1
        ids = {c.id for c in message.tool_calls}
        results = [r for r in results if r.tool_call_id in ids]
        answered = {r.tool_call_id for r in results}
        calls = tuple(c for c in message.tool_calls if c.id in answered)
        if calls != message.tool_calls:
            message = replace(message, tool_calls=calls)
        if message.tool_calls or message.text or (message.content and not isinstance(message.content, str)):
            out.append(message)
        out.extend(results)
    return out
