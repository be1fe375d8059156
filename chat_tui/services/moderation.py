"""Moderation: is a text (with its images) flagged, in which categories, with what scores. The
check before sending a prompt, the check of a stored message (kept in `moderations`, shown again
on reopen), and the short line both show. UI-free: the CLI and the TUI call it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chat_tui.core.params.moderations import DEFAULT_MODERATION_MODEL

if TYPE_CHECKING:
    from chat_tui.api.client import OpenAIClient
    from chat_tui.core.attachments import Attachment
    from chat_tui.store import Store
    from chat_tui.store.records import Message


@dataclass(frozen=True)
class Check:
    """One moderation result: flagged, each category's verdict and score, the model that answered."""

    flagged: bool
    categories: dict[str, bool] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    model: str | None = None

    @property
    def flagged_categories(self) -> list[tuple[str, float]]:
        """(category, score) of each flagged category, highest score first."""
        return sorted(((c, self.scores.get(c, 0.0)) for c, on in self.categories.items() if on),
                      key=lambda cs: (-cs[1], cs[0]))

    def top(self, n: int = 3) -> list[tuple[str, float]]:
        return sorted(self.scores.items(), key=lambda cs: (-cs[1], cs[0]))[:n]

    def summary(self) -> str:
        """One line: `flagged: violence 0.97, hate 0.61` or `not flagged (highest: hate 0.004)`."""
        if self.flagged:
            shown = self.flagged_categories or self.top(1)
            return "flagged: " + ", ".join(f"{c} {s:.2f}" for c, s in shown)
        top = self.top(1)
        return "not flagged" + (f" (highest: {top[0][0]} {top[0][1]:.3f})" if top else "")


def image_urls(attachments: Iterable[Attachment]) -> list[str]:
    """The image attachments as `image_url` inputs (their URL, or the bytes as a data: URL)."""
    return [a.url or a.data_url() for a in attachments if a.kind == "image"]


async def check(client: OpenAIClient, text: str, images: Sequence[str] = (),
                model: str | None = None) -> Check:
    """Moderate one text and its images (omni-moderation-latest unless `model` says otherwise).
    Raises the client's errors (APIError) and ParamError."""
    model = model or DEFAULT_MODERATION_MODEL
    results = await client.moderations.create(text, model=model, images=images)
    if not results:
        from chat_tui.api.errors import StreamError

        raise StreamError("the moderation response has an empty results list")
    r = results[0]
    return Check(r.flagged, dict(r.categories), dict(r.scores), model)


async def check_prompt(client: OpenAIClient, text: str, attachments: Sequence[Attachment] = (),
                       model: str | None = None) -> Check:
    """The check before sending: the prompt's text and its image attachments."""
    return await check(client, text, image_urls(attachments), model)


async def check_message(client: OpenAIClient, store: Store, message: Message,
                        model: str | None = None) -> Check:
    """Check a stored message (its text as shown, its images read back from the blob store in a
    thread) and keep the result."""
    from chat_tui.services.attachments import (
        attachments_by_position,
        blob_root,
        files_of,
        shown_message,
    )

    text, images = message.content, []
    if message.parts:
        text = shown_message(store, message)[0]
        rows = attachments_by_position(store, message)  # the database, on this thread
        files = await asyncio.to_thread(files_of, message, rows, blob_root(store))
        images = image_urls(files)
    result = await check(client, text, images, model)
    save(store, message.id, result)
    return result


def save(store: Store, message_id: int, result: Check) -> None:
    from chat_tui.store.moderations import add_moderation

    add_moderation(store, message_id, result.flagged, result.categories, result.scores, result.model)


def checks_of(store: Store, message_ids: Iterable[int]) -> dict[int, Check]:
    """The newest stored check of each message that has one."""
    from chat_tui.store.moderations import latest_moderations

    return {mid: Check(r.flagged, r.categories, r.scores, r.model)
            for mid, r in latest_moderations(store, message_ids).items()}
