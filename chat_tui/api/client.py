"""An async client for OpenAI-compatible servers, built on httpx, shaped like the official SDK:

    client = OpenAIClient(endpoint)
    async for event in client.chat.stream(messages, model, params): ...
    models = await client.models.list()
    vectors = await client.embeddings.create(["a", "b"], "text-embedding-3-small")

One client per endpoint: one connection pool, HTTP keep-alive. Streaming methods are async
iterators of the typed events in `events.py`; closing the iterator (or cancelling the task that
runs it) closes the connection at once. Retries, errors and timeouts: `transport.py`. A resource
module is imported the first time it is used (a chat needs neither images nor audio).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from chat_tui.api.resources.chat import Chat
from chat_tui.api.resources.models import ModelEntry, Models
from chat_tui.api.transport import Response, Transport
from chat_tui.core.config import Endpoint, Timeouts

if TYPE_CHECKING:
    from chat_tui.api.resources.audio import Audio
    from chat_tui.api.resources.completions import Completions
    from chat_tui.api.resources.edits import Edits
    from chat_tui.api.resources.embeddings import Embeddings
    from chat_tui.api.resources.images import Images
    from chat_tui.api.resources.llamacpp import LlamaCpp
    from chat_tui.api.resources.moderations import Moderations

__all__ = ["ModelEntry", "OpenAIClient", "Response", "Timeouts"]


class OpenAIClient:
    def __init__(self, endpoint: Endpoint, **transport_options: Any) -> None:
        """`transport_options`: Transport's (timeouts, max_retries, backoff_base, backoff_max,
        and `transport`, an httpx transport for tests)."""
        self.endpoint = endpoint
        self.transport = Transport(endpoint, **transport_options)
        self.chat = Chat(self.transport)
        self.models = Models(self.transport)

    @cached_property
    def completions(self) -> "Completions":
        from chat_tui.api.resources.completions import Completions

        return Completions(self.transport)

    @cached_property
    def edits(self) -> "Edits":
        from chat_tui.api.resources.edits import Edits

        return Edits(self.transport)

    @cached_property
    def embeddings(self) -> "Embeddings":
        from chat_tui.api.resources.embeddings import Embeddings

        return Embeddings(self.transport)

    @cached_property
    def moderations(self) -> "Moderations":
        from chat_tui.api.resources.moderations import Moderations

        return Moderations(self.transport)

    @cached_property
    def images(self) -> "Images":
        from chat_tui.api.resources.images import Images

        return Images(self.transport)

    @cached_property
    def llamacpp(self) -> "LlamaCpp":
        from chat_tui.api.resources.llamacpp import LlamaCpp

        return LlamaCpp(self.transport)

    @cached_property
    def audio(self) -> "Audio":
        from chat_tui.api.resources.audio import Audio

        return Audio(self.transport)

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> OpenAIClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
