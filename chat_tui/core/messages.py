"""Chat messages as sent to the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLES = ("system", "developer", "user", "assistant")


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str
    content: str
    name: str | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.name:
            wire["name"] = self.name
        return wire

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> ChatMessage:
        content = data.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return cls(role=str(data["role"]), content=content or "", name=data.get("name"))
