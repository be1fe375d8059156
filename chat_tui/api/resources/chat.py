"""`client.chat`: chat completions, whole (`create`) or streamed (`stream`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from chat_tui.api.events import StreamEvent
from chat_tui.api.stream import parse_chat_response
from chat_tui.api.transport import Response, RetryHook, Transport
from chat_tui.core.messages import ChatMessage
from chat_tui.core.models_table import uses_max_completion_tokens
from chat_tui.core.params import ChatParams


class Chat:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def body(self, messages: Iterable[ChatMessage], model: str, params: ChatParams, *, stream: bool,
             include_usage: bool = True, tools: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
        """`tools`: the function definitions offered (`ToolSpec.to_wire()` each)."""
        return params.body(model, messages, stream=stream, include_usage=include_usage,
                           use_max_completion_tokens=uses_max_completion_tokens(model), tools=tools)

    async def create(self, messages: Iterable[ChatMessage], model: str, params: ChatParams, *,
                     on_retry: RetryHook | None = None, max_retries: int | None = None,
                     tools: Sequence[Mapping[str, Any]] = ()) -> Response:
        """A whole (non-streamed) answer. `max_retries` overrides the client's for this request
        (0 for a request not worth waiting for, such as an auto-title)."""
        body = self.body(messages, model, params, stream=False, tools=tools)
        return await self._transport.whole("chat/completions", model, body, parse_chat_response, on_retry, max_retries)

    def stream(self, messages: Iterable[ChatMessage], model: str, params: ChatParams, *,
               include_usage: bool = True, on_retry: RetryHook | None = None,
               tools: Sequence[Mapping[str, Any]] = ()) -> AsyncIterator[StreamEvent]:
        body = self.body(messages, model, params, stream=True, include_usage=include_usage, tools=tools)
        return self._transport.stream("chat/completions", model, body, parse_chat_response, on_retry)
