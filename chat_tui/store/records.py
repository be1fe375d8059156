"""Frozen dataclasses returned by the store, and their conversion from rows.

JSON columns arrive decoded (``params`` as a dict, ``logprobs`` as any JSON value) and
``tokens_exact`` as a bool; such fields are left out of ``hash()`` since dicts are not
hashable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chat_tui.core.messages import ChatMessage, Part, ToolCall, part_from_wire

# SQLite marks matches in a snippet with these control characters, which cannot be
# confused with message text; SearchHit then offers the snippet two ways (see there).
RAW_MATCH_START = "\x02"
RAW_MATCH_END = "\x03"


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    title: str | None
    created_at: str
    updated_at: str
    model: str | None
    params: dict[str, Any] = field(hash=False)
    system_prompt: str | None
    endpoint: str | None
    # Schema version 3 (the history browser and imports).
    pinned: bool = False
    archived: bool = False
    deleted_at: str | None = None  # soft-deleted, awaiting purge (or undo)
    source: str | None = None  # imported from: "chatgpt", "chat-tui"; None if made here
    source_id: str | None = None
    # Schema version 4: who set the title, "prompt" | "auto" | "user" | "import" (None: older).
    title_source: str | None = None
    # Schema version 6: "chat", "completion" or "edit"; a document's current text.
    kind: str = "chat"
    document: str | None = None


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    id: int
    title: str | None
    created_at: str
    updated_at: str
    model: str | None
    endpoint: str | None
    message_count: int
    preview: str  # start of the first user message ("" if none), for untitled ones


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    conversation_id: int
    parent_id: int | None
    role: str
    name: str | None
    content: str
    created_at: str
    updated_at: str
    # Fields follow the table's column order, so an export lists them the same way.
    model: str | None = None
    params: dict[str, Any] | None = field(default=None, hash=False)
    endpoint: str | None = None
    status: str = "complete"
    error: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_local: int | None = None
    completion_tokens_local: int | None = None
    tokens_exact: bool | None = None
    ttft: float | None = None
    duration: float | None = None
    system_fingerprint: str | None = None
    logprobs: Any = field(default=None, hash=False)
    writer_pid: int | None = None
    source_id: str | None = None  # id in the source an imported message came from
    # Schema version 5: content parts beyond text, tool calls, the call a tool result answers.
    parts: list[dict[str, Any]] | None = field(default=None, hash=False)  # JSON, the API's form
    tool_calls: list[dict[str, Any]] | None = field(default=None, hash=False)
    tool_call_id: str | None = None
    # Schema version 6: a document round's choice, 1 put into the document, 0 rejected.
    accepted: bool | None = None
    # Schema version 11: what a reasoning model thought, apart from the answer (never sent back).
    reasoning: str | None = None
    reasoning_tokens: int | None = None  # the server's, a part of completion_tokens
    reasoning_tokens_local: int | None = None
    reasoning_duration: float | None = None  # seconds

    @property
    def reasoning_count(self) -> tuple[int | None, bool]:
        """(the reasoning's tokens, approximate?): the server's count, else the local one."""
        if self.reasoning_tokens is not None:
            return self.reasoning_tokens, False
        return self.reasoning_tokens_local, not self.tokens_exact

    def to_chat_message(self) -> ChatMessage:
        """The message as it is sent back to the API in a later request: its answer, never its
        reasoning (DeepSeek refuses a request that carries it; the others would read it as
        something the model said)."""
        content: str | tuple[Part, ...] = self.content
        if self.parts:
            content = tuple(p for p in (part_from_wire(item) for item in self.parts) if p is not None)
        calls = tuple(ToolCall.from_wire(c) for c in self.tool_calls or () if isinstance(c, dict))
        return ChatMessage(role=self.role, content=content, name=self.name, tool_calls=calls,
                           tool_call_id=self.tool_call_id)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One matching message. The excerpt comes twice: ``snippet`` is plain text with each
    match in ``[`` ``]`` (readable, but ambiguous if the text has brackets itself), and
    ``segments`` is the same excerpt as exact ``(text, is_match)`` pieces for highlighting.
    A cut at either end of the message is shown as ``…``."""

    conversation_id: int
    title: str | None
    message_id: int
    role: str
    created_at: str
    snippet: str
    segments: tuple[tuple[str, bool], ...]


def _split_marked(marked: str) -> tuple[tuple[str, bool], ...]:
    pieces: list[tuple[str, bool]] = []
    for i, part in enumerate(marked.split(RAW_MATCH_START)):
        match, rest = part.partition(RAW_MATCH_END)[::2] if i else ("", part)
        if match:
            pieces.append((match, True))
        if rest:
            pieces.append((rest, False))
    return tuple(pieces)


@dataclass(frozen=True, slots=True)
class Preset:
    id: int
    name: str
    params: dict[str, Any] = field(hash=False)
    created_at: str
    updated_at: str


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def conversation_from_row(row: dict[str, Any]) -> Conversation:
    flags = {k: bool(row[k]) for k in ("pinned", "archived") if k in row}
    return Conversation(**{**row, "params": _json(row["params"]) or {}, **flags})


def summary_from_row(row: dict[str, Any]) -> ConversationSummary:
    return ConversationSummary(**row)


def message_from_row(row: dict[str, Any]) -> Message:
    exact = row["tokens_exact"]
    return Message(
        **{
            **row,
            "params": _json(row["params"]),
            "logprobs": _json(row["logprobs"]),
            "tokens_exact": None if exact is None else bool(exact),
            "parts": _json(row.get("parts")),
            "tool_calls": _json(row.get("tool_calls")),
            "accepted": None if row.get("accepted") is None else bool(row["accepted"]),
        }
    )


def preset_from_row(row: dict[str, Any]) -> Preset:
    return Preset(**{**row, "params": _json(row["params"]) or {}})


def search_hit_from_row(row: dict[str, Any]) -> SearchHit:
    segments = _split_marked(row.pop("marked"))
    snippet = "".join(f"[{text}]" if is_match else text for text, is_match in segments)
    return SearchHit(**row, snippet=snippet, segments=segments)
