"""Chat messages as sent to the API: a role, content (text, or parts: text, images, audio,
files), and for the tool loop, the assistant's tool calls and a tool result's call id.

`content` is a plain string for the common text-only message, so nothing costs more for it;
a message with an image or a file carries a tuple of parts. `text` joins the text parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

ROLES = ("system", "developer", "user", "assistant", "tool")


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str

    def to_wire(self) -> dict[str, Any]:
        return {"type": "text", "text": self.text}


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image by URL: `https://…` or a `data:image/png;base64,…` URL."""

    url: str
    detail: str | None = None  # auto | low | high

    def to_wire(self) -> dict[str, Any]:
        image: dict[str, Any] = {"url": self.url}
        if self.detail:
            image["detail"] = self.detail
        return {"type": "image_url", "image_url": image}


@dataclass(frozen=True, slots=True)
class AudioPart:
    data: str  # base64
    format: str  # wav | mp3

    def to_wire(self) -> dict[str, Any]:
        return {"type": "input_audio", "input_audio": {"data": self.data, "format": self.format}}


@dataclass(frozen=True, slots=True)
class FilePart:
    """A file by id (uploaded before) or inline (`file_data`: a base64 data URL) with its name."""

    file_id: str | None = None
    file_data: str | None = None
    filename: str | None = None

    def to_wire(self) -> dict[str, Any]:
        file = {k: v for k, v in (("file_id", self.file_id), ("file_data", self.file_data), ("filename", self.filename)) if v}
        return {"type": "file", "file": file}


Part = Union[TextPart, ImagePart, AudioPart, FilePart]


def part_from_wire(data: Any) -> Part | None:
    """A content part from its JSON form; None for a kind chat-tui does not know."""
    if not isinstance(data, dict):
        return None
    kind = data.get("type")
    if kind == "text" and isinstance(data.get("text"), str):
        return TextPart(data["text"])
    if kind == "image_url" and isinstance(data.get("image_url"), dict) and isinstance(data["image_url"].get("url"), str):
        return ImagePart(data["image_url"]["url"], data["image_url"].get("detail"))
    if kind == "input_audio" and isinstance(data.get("input_audio"), dict):
        audio = data["input_audio"]
        if isinstance(audio.get("data"), str) and isinstance(audio.get("format"), str):
            return AudioPart(audio["data"], audio["format"])
    if kind == "file" and isinstance(data.get("file"), dict):
        file = data["file"]
        return FilePart(file.get("file_id"), file.get("file_data"), file.get("filename"))
    return None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the model asked for; `arguments` is the JSON text exactly as sent."""

    id: str
    name: str
    arguments: str

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> ToolCall:
        function = data.get("function") if isinstance(data.get("function"), dict) else {}
        return cls(str(data.get("id") or ""), str(function.get("name") or ""), str(function.get("arguments") or ""))


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str
    content: str | tuple[Part, ...] = ""
    name: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None  # a `tool` message: the call it answers

    @property
    def text(self) -> str:
        """The text of the message (the text parts joined)."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def parts(self) -> tuple[Part, ...]:
        if isinstance(self.content, str):
            return (TextPart(self.content),) if self.content else ()
        return self.content

    def to_wire(self) -> dict[str, Any]:
        content: Any = self.content if isinstance(self.content, str) else [p.to_wire() for p in self.content]
        if self.tool_calls and not content:
            content = None  # an assistant turn that only calls tools
        wire: dict[str, Any] = {"role": self.role, "content": content}
        if self.name and self.role != "tool":  # a tool result's name is ours, for display: no such field
            wire["name"] = self.name
        if self.tool_calls:
            wire["tool_calls"] = [c.to_wire() for c in self.tool_calls]
        if self.tool_call_id:
            wire["tool_call_id"] = self.tool_call_id
        return wire

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> ChatMessage:
        raw = data.get("content")
        content: str | tuple[Part, ...]
        if isinstance(raw, list):
            parts = tuple(p for p in (part_from_wire(item) for item in raw) if p is not None)
            content = parts[0].text if len(parts) == 1 and isinstance(parts[0], TextPart) else parts
        else:
            content = raw if isinstance(raw, str) else ""
        calls = data.get("tool_calls")
        return cls(
            role=str(data["role"]),
            content=content,
            name=data.get("name"),
            tool_calls=tuple(ToolCall.from_wire(c) for c in calls if isinstance(c, dict)) if isinstance(calls, list) else (),
            tool_call_id=data.get("tool_call_id"),
        )
