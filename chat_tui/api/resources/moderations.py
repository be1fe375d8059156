"""`client.moderations`: is a text flagged, in which categories, with what scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from chat_tui.api.errors import StreamError
from chat_tui.api.transport import Transport
from chat_tui.core.params.moderations import moderation_body


@dataclass(frozen=True, slots=True)
class Moderation:
    flagged: bool
    categories: dict[str, bool] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)


class Moderations:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def create(self, inputs: str | Sequence[str], model: str | None = None,
                     images: Sequence[str] = ()) -> list[Moderation]:
        """One result per input, in order (a text with `images`: one result for them all)."""
        path, query = self._transport.url("moderations", model)
        body = moderation_body(inputs, model, images)
        data = await self._transport.request_json("POST", path, query=query, json_body=body)
        results = data.get("results")
        if not isinstance(results, list):
            raise StreamError("the moderation response has no results list")
        out = []
        for item in results:
            if not isinstance(item, dict):
                raise StreamError("a moderation result is not an object")
            categories = item.get("categories") if isinstance(item.get("categories"), dict) else {}
            scores = item.get("category_scores") if isinstance(item.get("category_scores"), dict) else {}
            out.append(Moderation(
                flagged=bool(item.get("flagged")),
                categories={str(k): bool(v) for k, v in categories.items()},
                scores={str(k): float(v) for k, v in scores.items() if isinstance(v, (int, float)) and not isinstance(v, bool)},
            ))
        return out
