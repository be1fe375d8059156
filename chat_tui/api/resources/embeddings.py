"""`client.embeddings`: vectors for texts. base64 on the wire by default (a quarter the size)."""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace

from chat_tui.api.errors import StreamError
from chat_tui.api.transport import RetryHook, Transport
from chat_tui.core.params.embeddings import EmbeddingParams


@dataclass(frozen=True, slots=True)
class EmbeddingsResult:
    vectors: list[list[float]]  # in the order of the inputs
    model: str | None
    prompt_tokens: int | None


class Embeddings:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def create(self, inputs: str | Sequence[str], model: str, params: EmbeddingParams = EmbeddingParams(), *,
                     on_retry: RetryHook | None = None) -> EmbeddingsResult:
        if params.encoding_format is None:
            params = replace(params, encoding_format="base64")
        body = params.body(model, inputs)
        path, query = self._transport.url("embeddings", model)
        data = await self._transport.request_json("POST", path, query=query, json_body=body, on_retry=on_retry)
        items = data.get("data")
        if not isinstance(items, list):
            raise StreamError("the embeddings response has no data list")
        vectors: dict[int, list[float]] = {}
        for position, item in enumerate(items):
            if not isinstance(item, dict):
                raise StreamError("an embedding entry is not an object")
            index = item.get("index", position)
            vectors[index if isinstance(index, int) else position] = _vector(item.get("embedding"))
        count = 1 if isinstance(inputs, str) else len(inputs)
        if sorted(vectors) != list(range(count)):
            raise StreamError(f"asked for {count} embeddings, got {len(vectors)}")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        tokens = usage.get("prompt_tokens")
        return EmbeddingsResult([vectors[i] for i in range(count)], data.get("model"), tokens if isinstance(tokens, int) else None)


def _vector(value: object) -> list[float]:
    """A float list, or base64 of little-endian float32s (OpenAI's base64 encoding)."""
    if isinstance(value, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        return [float(x) for x in value]
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            raise StreamError("an embedding is not valid base64") from None
        if len(raw) % 4:
            raise StreamError("a base64 embedding is not a whole number of float32s")
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    raise StreamError("an embedding is neither a list of numbers nor base64")
