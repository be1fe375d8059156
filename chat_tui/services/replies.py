"""Running one reply end to end, shared by the CLI and the TUI (no UI code here).

`run_reply` sends a prompt, streams the answer, and records it in the store as it goes:
the assistant row exists as `streaming` before the request is sent, its text is flushed about
once a second (one small write, never one per token), and it ends `complete`, `cancelled` or
`error` with whatever text had arrived. With `n > 1` every extra choice becomes a sibling row.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chat_tui.api.errors import APIError
from chat_tui.api.events import Finish, LogprobsDelta, Meta, RefusalDelta, StreamEvent, TextDelta, Timing, TokenLogprob, Usage
from chat_tui.core.messages import ChatMessage
from chat_tui.core.params import ChatParams

if TYPE_CHECKING:  # not imported at run time: the UI starts faster without httpx and SQLite
    from chat_tui.api.client import OpenAIClient
    from chat_tui.core.tokens import TokenCounter
    from chat_tui.store import Store

FLUSH_INTERVAL = 1.0


@dataclass
class Choice:
    index: int
    message_id: int
    parts: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    logprobs: list[TokenLogprob] = field(default_factory=list)
    flushed_len: int = 0

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class ReplyResult:
    choices: dict[int, Choice]
    status: str  # complete | cancelled | error
    error: APIError | None = None
    timing: Timing | None = None
    usage: Usage | None = None
    meta: Meta | None = None
    prompt_tokens_local: int | None = None
    completion_tokens_local: dict[int, int] = field(default_factory=dict)
    tokens_exact: bool | None = None
    body: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] | None = None  # the whole response, when not streamed

    @property
    def text(self) -> str:
        return self.choices[0].text if 0 in self.choices else ""

    @property
    def message_id(self) -> int:
        return self.choices[0].message_id


def sent_params(body: dict[str, Any]) -> dict[str, Any]:
    """The request body minus the conversation itself: what gets stored with the answer."""
    return {k: v for k, v in body.items() if k not in ("messages", "prompt")}


def _logprobs_json(items: list[TokenLogprob]) -> list[dict[str, Any]] | None:
    if not items:
        return None
    return [
        {"token": t.token, "logprob": t.logprob, "bytes": t.bytes, "top": [{"token": a.token, "logprob": a.logprob} for a in t.top]}
        for t in items
    ]


async def run_reply(
    client: OpenAIClient,
    store: Store,
    counter: TokenCounter | None,
    *,
    conversation_id: int,
    parent_id: int | None,
    messages: Sequence[ChatMessage],
    model: str,
    params: ChatParams,
    endpoint_name: str | None,
    on_event: Callable[[StreamEvent], None] | None = None,
    stream: bool = True,
    flush_interval: float = FLUSH_INTERVAL,
    wait_for_tokenizer: bool = True,
    on_row: Callable[[int, int], None] | None = None,
) -> ReplyResult:
    """Stream (or fetch) a reply and record it. Never raises for API errors: they end the row
    `error` and come back in the result. Cancellation ends it `cancelled` and is re-raised.

    `wait_for_tokenizer=False` (the UI): local token counts are skipped, not waited for, if the
    model's encoding is still loading; an event loop must never block on it. `on_row(choice,
    message_id)` is called as each choice's row is created (choice 0 before the request)."""
    body = client.chat.body(messages, model, params, stream=stream)
    stored = sent_params(body)
    endpoint = endpoint_name

    choices: dict[int, Choice] = {}

    def choice(index: int) -> Choice:
        if index not in choices:
            mid = store.begin_assistant(conversation_id, parent_id=parent_id, model=model, params=stored, endpoint=endpoint)
            choices[index] = Choice(index, mid)
            if on_row is not None:
                on_row(index, mid)
        return choices[index]

    choice(0)
    result = ReplyResult(choices=choices, status="streaming", body=body)
    started = last_flush = time.monotonic()
    first_text: float | None = None

    def handle(event: StreamEvent) -> None:
        nonlocal last_flush, first_text
        if isinstance(event, TextDelta):
            if first_text is None:
                first_text = time.monotonic()
            choice(event.index).parts.append(event.text)
        elif isinstance(event, RefusalDelta):
            choice(event.index).refusal.append(event.text)
        elif isinstance(event, LogprobsDelta):
            choice(event.index).logprobs.extend(event.content)
        elif isinstance(event, Finish):
            choice(event.index).finish_reason = event.reason
        elif isinstance(event, Usage):
            result.usage = event
        elif isinstance(event, Meta):
            result.meta = event
        elif isinstance(event, Timing):
            result.timing = event
        if on_event is not None:
            on_event(event)
        now = time.monotonic()
        if now - last_flush >= flush_interval:
            last_flush = now
            for c in choices.values():
                text = c.text
                if len(text) != c.flushed_len:
                    store.flush_partial(c.message_id, text)
                    c.flushed_len = len(text)

    try:
        if stream:
            events = client.chat.stream(messages, model, params)
            try:
                async for event in events:
                    handle(event)
            finally:
                await events.aclose()  # type: ignore[attr-defined]
        else:
            response = await client.chat.create(messages, model, params)
            result.raw = response.raw
            for event in response.events:
                handle(event)
            handle(response.timing)
        result.status = "complete"
    except APIError as exc:
        result.status = "error"
        result.error = exc
    except (asyncio.CancelledError, KeyboardInterrupt):
        result.status = "cancelled"
        _finish(store, counter, result, messages, model, started, first_text, wait_for_tokenizer)
        raise
    _finish(store, counter, result, messages, model, started, first_text, wait_for_tokenizer)
    return result


def _finish(
    store: Store,
    counter: TokenCounter | None,
    result: ReplyResult,
    messages: Sequence[ChatMessage],
    model: str,
    started: float,
    first_text: float | None,
    wait_for_tokenizer: bool = True,
) -> None:
    if result.timing is None:  # cancelled or failed: our own clock
        total = time.monotonic() - started
        ttft = first_text - started if first_text is not None else None
        result.timing = Timing(ttft=ttft, total=total, completion_tokens=None, tokens_per_second=None)
    if counter is not None:
        if wait_for_tokenizer:
            prompt = counter.count_messages(messages, model)
        else:
            prompt = counter.try_count_messages(messages, model)
        if prompt is not None:
            result.prompt_tokens_local = prompt.tokens
            result.tokens_exact = prompt.exact
            for index, c in result.choices.items():
                # the encoding is loaded now (the prompt was counted with it): this never waits
                result.completion_tokens_local[index] = counter.count_completion(c.text, model).tokens
    usage = result.usage
    timing = result.timing
    for index, c in result.choices.items():
        text = c.text
        if not text and c.refusal:
            text = "".join(c.refusal)
        status = result.status
        if status == "complete" and c.refusal and not c.parts:
            c.finish_reason = c.finish_reason or "refusal"
        store.finish_assistant(
            c.message_id,
            text,
            status,
            error=str(result.error) if result.error else None,
            finish_reason=c.finish_reason,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage and len(result.choices) == 1 else None,
            prompt_tokens_local=result.prompt_tokens_local,
            completion_tokens_local=result.completion_tokens_local.get(index),
            tokens_exact=result.tokens_exact,
            ttft=timing.ttft if timing else None,
            duration=timing.total if timing else None,
            system_fingerprint=result.meta.system_fingerprint if result.meta else None,
            logprobs=_logprobs_json(c.logprobs),
        )
