"""`client.images`: generate (JSON), edit and vary (multipart uploads). Results come as URLs or
base64; `fetch` turns either into bytes (a URL expires after an hour: fetch it at once)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from chat_tui.api.errors import StreamError
from chat_tui.api.transport import FileField, RetryHook, Transport
from chat_tui.core.params.base import ParamError
from chat_tui.core.params.images import ImageParams

MAX_EDIT_IMAGES = 16  # gpt-image models; dall-e-2 takes one


@dataclass(frozen=True, slots=True)
class Image:
    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


@dataclass(frozen=True, slots=True)
class ImagesResult:
    images: list[Image]
    created: int | None
    usage: dict | None


class Images:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def generate(self, prompt: str, model: str | None = None, params: ImageParams = ImageParams(), *,
                       on_retry: RetryHook | None = None) -> ImagesResult:
        path, query = self._transport.url("images/generations", model)
        data = await self._transport.request_json("POST", path, query=query, json_body=params.body(prompt, model), on_retry=on_retry)
        return _result(data)

    async def edit(self, images: Sequence[FileField], prompt: str, model: str | None = None,
                   params: ImageParams = ImageParams(), *, mask: FileField | None = None) -> ImagesResult:
        """`images`: one (dall-e-2) or up to 16 (gpt-image-1) files; `mask`: a PNG whose
        transparent pixels mark where to edit."""
        if not images:
            raise ParamError("image", "an edit needs at least one image")
        if len(images) > MAX_EDIT_IMAGES:
            raise ParamError("image", f"up to {MAX_EDIT_IMAGES} images per edit, got {len(images)}")
        name = "image" if len(images) == 1 else "image[]"
        files = [(name, f) for f in images] + ([("mask", mask)] if mask is not None else [])
        path, query = self._transport.url("images/edits", model)
        data = await self._transport.request_json("POST", path, query=query, form=params.form_fields(model, prompt), files=files)
        return _result(data)

    async def create_variation(self, image: FileField, model: str | None = None,
                               params: ImageParams = ImageParams()) -> ImagesResult:
        path, query = self._transport.url("images/variations", model)
        data = await self._transport.request_json("POST", path, query=query, form=params.form_fields(model), files=[("image", image)])
        return _result(data)

    async def fetch(self, image: Image) -> tuple[bytes, str]:
        """The image's bytes and content type."""
        if image.b64_json is not None:
            try:
                data = base64.b64decode(image.b64_json, validate=True)
            except ValueError:
                raise StreamError("an image result is not valid base64") from None
            return data, _image_type(data)
        if image.url:
            return await self._transport.download(image.url)
        raise StreamError("an image result has neither a url nor b64_json")


def _image_type(data: bytes) -> str:
    """The content type of decoded image bytes: gpt-image models answer png, jpeg or webp
    (`output_format`), and base64 carries no type of its own."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def _result(data: dict) -> ImagesResult:
    items = data.get("data")
    if not isinstance(items, list):
        raise StreamError("the images response has no data list")
    images = []
    for item in items:
        if not isinstance(item, dict):
            raise StreamError("an image result is not an object")
        images.append(Image(
            url=item.get("url") if isinstance(item.get("url"), str) else None,
            b64_json=item.get("b64_json") if isinstance(item.get("b64_json"), str) else None,
            revised_prompt=item.get("revised_prompt") if isinstance(item.get("revised_prompt"), str) else None,
        ))
    created = data.get("created")
    return ImagesResult(images, created if isinstance(created, int) else None,
                        data.get("usage") if isinstance(data.get("usage"), dict) else None)
