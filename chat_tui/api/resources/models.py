"""`client.models`: the endpoint's models (`GET /models`) and one model's details."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from chat_tui.api.transport import Transport


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: str
    owned_by: str | None = None
    created: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


class Models:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def list(self) -> list[ModelEntry]:
        """Sorted by id. OpenAI's `data` list, or Ollama's `models`; entries without an id are left out."""
        path, query = self._transport.url("models")
        data = await self._transport.request_json("GET", path, query=query)
        items = data.get("data") if isinstance(data.get("data"), list) else data.get("models", [])
        models = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and (item.get("id") or item.get("name")):
                created = item.get("created")
                models.append(ModelEntry(
                    id=str(item.get("id") or item.get("name")),
                    owned_by=item.get("owned_by") if isinstance(item.get("owned_by"), str) else None,
                    created=created if isinstance(created, int) and not isinstance(created, bool) else None,
                    raw=item,
                ))
        return sorted(models, key=lambda m: m.id)

    async def retrieve(self, model_id: str) -> dict[str, Any]:
        path, query = self._transport.url(f"models/{quote(model_id, safe='')}")
        return await self._transport.request_json("GET", path, query=query)
