"""Embedding parameters (`/v1/embeddings`) and the request body."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chat_tui.core.params.base import ParamError, Params, choice, number, string

MAX_INPUTS = 2048  # inputs per request (OpenAI's limit)

EMBEDDING_RULES: dict[str, Any] = {
    "dimensions": (lambda v: number("dimensions", v, 1, None, integer=True), None),
    "encoding_format": (lambda v: choice("encoding_format", v, ("float", "base64")), "float"),
    "user": (lambda v: string("user", v), None),
}


@dataclass(frozen=True)
class EmbeddingParams(Params):
    dimensions: int | None = None
    encoding_format: str | None = None
    user: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    RULES = EMBEDDING_RULES

    def body(self, model: str, inputs: str | Sequence[str]) -> dict[str, Any]:
        if not model:
            raise ParamError("model", "no model selected")
        if isinstance(inputs, str):
            if not inputs:
                raise ParamError("input", "an empty string has no embedding")
            payload: str | list[str] = inputs
        else:
            payload = list(inputs)
            if not 1 <= len(payload) <= MAX_INPUTS:
                raise ParamError("input", f"1 to {MAX_INPUTS} inputs per request, got {len(payload)}")
            if not all(isinstance(s, str) and s for s in payload):
                raise ParamError("input", "every input must be a non-empty string")
        return {"model": model, "input": payload, **self.as_dict()}
