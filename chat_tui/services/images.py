"""Image generation, edit and variation, UI-free (the CLI and the TUI call these).

Each request is checked against the model's limits before it is sent (`core.images`); every
image that comes back is fetched at once (a `url` expires after an hour), stored by sha256 in
the blob store under the data directory and recorded in the `images` table with its prompt,
revised prompt, model, the options sent and a cost estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chat_tui.core.images import check_request, check_uploads, estimate_cost, image_info
from chat_tui.core.params.base import ParamError
from chat_tui.core.params.images import ImageParams
from chat_tui.store.attachments import blob_path, save_blob
from chat_tui.store.images import add_image, images_by_message

if TYPE_CHECKING:
    from chat_tui.api.client import OpenAIClient
    from chat_tui.api.resources.images import ImagesResult
    from chat_tui.store.db import Store

Upload = tuple[str, bytes]  # (file name, bytes)


@dataclass(frozen=True, slots=True)
class SavedImage:
    id: int
    path: Path
    sha256: str
    mime: str
    width: int | None
    height: int | None
    revised_prompt: str | None
    cost: float | None


@dataclass(frozen=True, slots=True)
class ImagesOutcome:
    images: list[SavedImage]
    result: "ImagesResult"  # as parsed from the response (for --json)

    @property
    def cost(self) -> float | None:
        costs = [i.cost for i in self.images]
        return None if not costs or None in costs else round(sum(costs), 6)


def read_upload(path: str | Path) -> Upload:
    """A file to upload, read whole; a missing or unreadable file is a `ParamError`."""
    p = Path(path).expanduser()
    try:
        return p.name, p.read_bytes()
    except OSError as exc:
        raise ParamError("image", f"cannot read {p}: {exc.strerror or exc}") from None


async def generate(client: "OpenAIClient", store: "Store", blobs: Path, prompt: str, model: str | None,
                   params: ImageParams = ImageParams(), *, endpoint: str | None = None,
                   conversation_id: int | None = None, message_id: int | None = None) -> ImagesOutcome:
    check_request("generate", model, prompt, params)
    result = await client.images.generate(prompt, model, params)
    return await _save(client, store, blobs, "generate", prompt, model, params, result, endpoint,
                       conversation_id, message_id)


async def edit(client: "OpenAIClient", store: "Store", blobs: Path, images: Sequence[Upload], prompt: str,
               model: str | None, params: ImageParams = ImageParams(), *, mask: Upload | None = None,
               endpoint: str | None = None) -> ImagesOutcome:
    check_request("edit", model, prompt, params)
    infos = check_uploads("edit", model, list(images), mask)
    files = [(name, data, info.mime) for (name, data), info in zip(images, infos)]
    mask_file = (mask[0], mask[1], "image/png") if mask is not None else None
    result = await client.images.edit(files, prompt, model, params, mask=mask_file)
    return await _save(client, store, blobs, "edit", prompt, model, params, result, endpoint, None, None)


async def vary(client: "OpenAIClient", store: "Store", blobs: Path, image: Upload, model: str | None,
               params: ImageParams = ImageParams(), *, endpoint: str | None = None) -> ImagesOutcome:
    check_request("variation", model, None, params)
    (info,) = check_uploads("variation", model, [image])
    result = await client.images.create_variation((image[0], image[1], info.mime), model, params)
    return await _save(client, store, blobs, "variation", None, model, params, result, endpoint, None, None)


async def _save(client: "OpenAIClient", store: "Store", blobs: Path, kind: str, prompt: str | None,
                model: str | None, params: ImageParams, result: "ImagesResult", endpoint: str | None,
                conversation_id: int | None, message_id: int | None) -> ImagesOutcome:
    sent = params.as_dict()
    count = len(result.images)
    total = estimate_cost(model, sent, count, result.usage) if count else None
    each = None if total is None else round(total / count, 6)
    fetched = [await client.images.fetch(image) for image in result.images]  # every URL before it expires
    saved = []
    for image, (data, content_type) in zip(result.images, fetched):
        sha = save_blob(blobs, data)
        try:
            info = image_info(data)
            width, height, mime = info.width, info.height, info.mime
        except ParamError:  # kept anyway: the bytes are what the server sent
            width = height = None
            mime = content_type
        record = add_image(store, kind, sha, prompt=prompt, revised_prompt=image.revised_prompt, model=model,
                           params=sent, mime=mime, width=width, height=height, cost=each,
                           conversation_id=conversation_id, message_id=message_id, endpoint=endpoint)
        saved.append(SavedImage(record, blob_path(blobs, sha), sha, mime, width, height, image.revised_prompt, each))
    return ImagesOutcome(saved, result)


def conversation_images(store: "Store", blobs: Path, conversation_id: int) -> dict[int, list[Path]]:
    """The files of the images `/image` made in a conversation, per reply id, for the
    conversation view to show under each reply when the conversation is opened again."""
    return {mid: [blob_path(blobs, r.sha256) for r in records]
            for mid, records in images_by_message(store, conversation_id).items()}


IMAGE_COMMAND = "/image"


def image_command(text: str) -> str | None:
    """The prompt of a chat line `/image PROMPT`, or None if the line is not that command."""
    head, _, rest = text.strip().partition(" ")
    if head != IMAGE_COMMAND:
        return None
    return rest.strip()


@dataclass(frozen=True, slots=True)
class ChatImage:
    conversation_id: int
    user_id: int
    reply_id: int
    outcome: ImagesOutcome | None
    error: str | None


async def generate_in_chat(client: "OpenAIClient", store: "Store", blobs: Path, prompt: str, model: str | None,
                           params: ImageParams = ImageParams(), *, conversation_id: int | None, parent_id: int | None,
                           endpoint: str | None = None) -> ChatImage:
    """`/image PROMPT` in a chat: the user's line is a message (so history search finds the
    prompt), the answer an assistant message saying what was made (its text names the saved
    files; no image part, which the chat API would refuse on an assistant turn), and each image
    is recorded with both ids. A refused request raises `ParamError` before anything is saved;
    a failed one ends the reply `error`, as a failed chat answer does."""
    from chat_tui.core.text import error_text
    from chat_tui.core.titles import title_from_prompt

    check_request("generate", model, prompt, params)
    with store.transaction():
        if conversation_id is None:
            conversation_id = store.create_conversation(title=title_from_prompt(prompt), endpoint=endpoint)
        user_id = store.add_message(conversation_id, "user", f"{IMAGE_COMMAND} {prompt}", parent_id=parent_id)
    sent = {"image_model": model or "default", **params.as_dict()}
    reply_id = store.begin_assistant(conversation_id, parent_id=user_id, model=model or "", params=sent, endpoint=endpoint)
    try:
        outcome = await generate(client, store, blobs, prompt, model, params, endpoint=endpoint,
                                 conversation_id=conversation_id, message_id=reply_id)
    except Exception as exc:
        store.finish_assistant(reply_id, "", "error", error=error_text(exc))
        return ChatImage(conversation_id, user_id, reply_id, None, error_text(exc))
    except BaseException:
        store.finish_assistant(reply_id, "", "cancelled")
        raise
    lines = [f"Image{'s' * (len(outcome.images) != 1)} for “{prompt}”:"]
    for saved in outcome.images:
        lines.append(f"- {saved.path}" + (f" (revised prompt: {saved.revised_prompt})" if saved.revised_prompt else ""))
    store.finish_assistant(reply_id, "\n".join(lines), "complete")
    return ChatImage(conversation_id, user_id, reply_id, outcome, None)
