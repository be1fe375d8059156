"""Moderation request body (`/v1/moderations`): text (and images, for omni-moderation) in,
categories and scores out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chat_tui.core.params.base import ParamError

DEFAULT_MODERATION_MODEL = "omni-moderation-latest"


def moderation_body(inputs: str | Sequence[str], model: str | None = None,
                    images: Sequence[str] = ()) -> dict[str, Any]:
    """`model` None: the server's default (omni-moderation-latest on OpenAI). `images`: image
    URLs (http(s) or data:) checked with one text as `image_url` parts; omni models only."""
    payload: str | list[Any]
    if isinstance(inputs, str):
        payload = inputs
    else:
        payload = list(inputs)
        if not payload or not all(isinstance(s, str) for s in payload):
            raise ParamError("input", "a string or a non-empty list of strings")
    if images:
        if not isinstance(payload, str):
            raise ParamError("input", "images are checked with one text, not a list")
        if model and not model.startswith("omni-moderation"):
            raise ParamError("model", f"{model} checks text only; images need omni-moderation-latest")
        if not all(isinstance(u, str) and u.startswith(("http://", "https://", "data:")) for u in images):
            raise ParamError("input", "an image must be an http(s) or data: URL")
        parts: list[dict[str, Any]] = [{"type": "text", "text": payload}] if payload else []
        parts += [{"type": "image_url", "image_url": {"url": u}} for u in images]
        payload = parts
    body: dict[str, Any] = {"input": payload}
    if model:
        body["model"] = model
    return body
