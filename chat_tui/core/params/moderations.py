"""Moderation request body (`/v1/moderations`): text in, categories and scores out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chat_tui.core.params.base import ParamError


def moderation_body(inputs: str | Sequence[str], model: str | None = None) -> dict[str, Any]:
    """`model` None: the server's default (omni-moderation-latest on OpenAI)."""
    if isinstance(inputs, str):
        payload: str | list[str] = inputs
    else:
        payload = list(inputs)
        if not payload or not all(isinstance(s, str) for s in payload):
            raise ParamError("input", "a string or a non-empty list of strings")
    body: dict[str, Any] = {"input": payload}
    if model:
        body["model"] = model
    return body
