"""`client.completions`: the legacy completions endpoint (prompt, suffix, echo, logprobs, best_of).

With `echo`, the parser is given the prompt, so the echoed prompt's text and tokens come as
events with ``echo=True`` (see `chat_tui.api.stream`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

from chat_tui.api.events import StreamEvent
from chat_tui.api.stream import ChatStreamParser, parse_completion_response
from chat_tui.api.transport import Response, RetryHook, Transport
from chat_tui.core.params import CompletionParams


class Completions:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def create(self, prompt: str, model: str, params: CompletionParams, *,
                     on_retry: RetryHook | None = None) -> Response:
        body = params.body(model, prompt, stream=False)
        parse = partial(parse_completion_response, echo_prompt=prompt if params.echo else None)
        return await self._transport.whole("completions", model, body, parse, on_retry)

    def stream(self, prompt: str, model: str, params: CompletionParams, *, include_usage: bool = True,
               on_retry: RetryHook | None = None) -> AsyncIterator[StreamEvent]:
        body = params.body(model, prompt, stream=True, include_usage=include_usage)
        echo = prompt if params.echo else None
        parse = partial(parse_completion_response, echo_prompt=echo)
        return self._transport.stream("completions", model, body, parse, on_retry,
                                      make_parser=partial(ChatStreamParser, echo))
