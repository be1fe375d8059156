"""`client.completions`: the legacy completions endpoint (prompt, suffix, echo, logprobs, best_of)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from chat_tui.api.events import StreamEvent
from chat_tui.api.stream import parse_completion_response
from chat_tui.api.transport import Response, RetryHook, Transport
from chat_tui.core.params import CompletionParams


class Completions:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def create(self, prompt: str, model: str, params: CompletionParams, *,
                     on_retry: RetryHook | None = None) -> Response:
        body = params.body(model, prompt, stream=False)
        return await self._transport.whole("completions", model, body, parse_completion_response, on_retry)

    def stream(self, prompt: str, model: str, params: CompletionParams, *, include_usage: bool = True,
               on_retry: RetryHook | None = None) -> AsyncIterator[StreamEvent]:
        body = params.body(model, prompt, stream=True, include_usage=include_usage)
        return self._transport.stream("completions", model, body, parse_completion_response, on_retry)
