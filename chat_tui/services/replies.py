"""Running one reply end to end, shared by the CLI and the TUI (no UI code here).

`run_reply` sends a prompt, streams the answer, and records it in the store as it goes:
the assistant row exists as `streaming` before the request is sent, its text is flushed about
once a second (one small write, never one per token), and it ends `complete`, `cancelled` or
`error` with whatever text had arrived, whatever went wrong. With `n > 1` every extra choice
becomes a sibling row. Reasoning a server streams (`ReasoningDelta`) is recorded the same way,
in the row's own `reasoning` column, with its token count and how long the model thought; it
is never part of the answer's text.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chat_tui.api.events import (
    Finish,
    LogprobsDelta,
    Meta,
    ReasoningDelta,
    RefusalDelta,
    StreamEvent,
    TextDelta,
    Timing,
    TokenLogprob,
    ToolCallDelta,
    Usage,
)
from chat_tui.core.messages import ChatMessage, ToolCall
from chat_tui.core.tool_calls import CallAssembler
from chat_tui.core.params import ChatParams
from chat_tui.core.text import error_text
from chat_tui.services.persist import patiently
from chat_tui.store.errors import StoreError, StoreLocked

if TYPE_CHECKING:  # not imported at run time: the UI starts faster without httpx and SQLite
    from chat_tui.api.client import OpenAIClient
    from chat_tui.core.tokens import TokenCounter
    from chat_tui.store import Store

FLUSH_INTERVAL = 1.0
SAVE_PATIENCE = 10.0  # seconds the final writes wait for a database another program holds


class _LockedStill(StoreLocked):
    """The final writes failed; `patiently` tries them again while the store is locked."""


@dataclass
class Choice:
    index: int
    message_id: int | None  # None until its row could be written
    parts: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    logprobs: list[TokenLogprob] = field(default_factory=list)
    flushed_len: int = 0
    reasoning_parts: list[str] = field(default_factory=list)
    reasoning_flushed_len: int = 0
    thinking_from: float | None = None  # monotonic: the first reasoning text
    thinking_until: float | None = None  # the first answer text after it (None: still thinking)
    calls: CallAssembler = field(default_factory=CallAssembler)  # the tool calls, as they stream

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def reasoning(self) -> str:
        if len(self.reasoning_parts) > 1:  # joined once per flush, not per delta
            self.reasoning_parts = ["".join(self.reasoning_parts)]
        return self.reasoning_parts[0] if self.reasoning_parts else ""

    def thinking_seconds(self, now: float) -> float | None:
        """How long the model thought: from its first reasoning text to its first answer text
        (or to `now`, the end, when no answer came)."""
        if self.thinking_from is None:
            return None
        return (self.thinking_until if self.thinking_until is not None else now) - self.thinking_from

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.calls.calls()


@dataclass
class ReplyResult:
    choices: dict[int, Choice]
    status: str  # complete | cancelled | error
    error: BaseException | None = None  # an APIError, or anything else that went wrong
    timing: Timing | None = None
    usage: Usage | None = None
    meta: Meta | None = None
    prompt_tokens_local: int | None = None
    completion_tokens_local: dict[int, int] = field(default_factory=dict)  # answer and reasoning
    reasoning_tokens_local: dict[int, int] = field(default_factory=dict)
    tokens_exact: bool | None = None
    body: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] | None = None  # the whole response, when not streamed
    ignored: int = 0  # events for choices that were not asked for (a server inventing indexes)
    unsaved: str | None = None  # why the answer is not in the database yet (then: `save()`)
    _pending: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _locked: bool = field(default=False, repr=False)  # the last failed write met a lock

    @property
    def text(self) -> str:
        return self.choices[0].text if 0 in self.choices else ""

    @property
    def message_id(self) -> int | None:
        return self.choices[0].message_id if 0 in self.choices else None

    @property
    def reasoning(self) -> str:
        return self.choices[0].reasoning if 0 in self.choices else ""

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The tool calls of the first choice (all of them received, whole or not)."""
        return self.choices[0].tool_calls if 0 in self.choices else ()

    @property
    def error_text(self) -> str | None:
        """The error as one line for the user (credentials redacted), or None."""
        return error_text(self.error) if self.error is not None else None

    def save(self) -> bool:
        """Try again to write what could not be written (the database was locked, full or
        read-only); True once everything is saved. Never raises for a store error."""
        while self._pending:
            try:
                self._pending[0]()
            except StoreError as exc:
                self.unsaved = error_text(exc)
                self._locked = isinstance(exc, StoreLocked)
                return False
            self._pending.pop(0)
        self.unsaved = None
        return True


def sent_params(body: dict[str, Any]) -> dict[str, Any]:
    """The request body minus the conversation itself: what gets stored with the answer. The
    tools offered are kept by name (their definitions belong to their source, and can be long)."""
    params = {k: v for k, v in body.items() if k not in ("messages", "prompt")}
    if isinstance(params.get("tools"), list):
        params["tools"] = [t.get("function", {}).get("name") if isinstance(t, dict) else t for t in params["tools"]]
    return params


def _logprobs_json(items: list[TokenLogprob]) -> list[dict[str, Any]] | None:
    if not items:
        return None
    return [
        {"token": t.token, "logprob": t.logprob, "bytes": t.bytes, "top": [{"token": a.token, "logprob": a.logprob} for a in t.top]}
        for t in items
    ]


@dataclass(frozen=True)
class Request:
    """One request `run_request` sends: its body (stored with the answer, minus the prompt), how
    to stream it and fetch it whole, and how to count its prompt locally."""

    body: dict[str, Any]
    stream: Callable[[], Any]  # () -> async iterator of StreamEvent
    create: Callable[[], Any]  # () -> awaitable Response (events, timing, raw)
    count_prompt: Callable[[TokenCounter, bool], Any]  # (counter, wait) -> Count | None
    choices: int = 1  # how many choices were asked for (n)


async def run_reply(
    client: OpenAIClient,
    store: Store,
    counter: TokenCounter | None,
    *,
    messages: Sequence[ChatMessage],
    model: str,
    params: ChatParams,
    stream: bool = True,
    tools: Sequence[dict[str, Any]] = (),
    **options: Any,
) -> ReplyResult:
    """A chat reply, streamed (or fetched) and recorded by `run_request`; `tools` the function
    definitions offered with it; `options` are `run_request`'s (conversation_id, parent_id,
    endpoint_name, on_event, on_row …)."""
    request = Request(
        body=client.chat.body(messages, model, params, stream=stream, tools=tools),
        stream=lambda: client.chat.stream(messages, model, params, tools=tools),
        create=lambda: client.chat.create(messages, model, params, tools=tools),
        count_prompt=lambda c, wait: c.count_messages(messages, model) if wait else c.try_count_messages(messages, model),
        choices=params.n or 1,
    )
    return await run_request(store, counter, request, model=model, stream=stream, **options)


async def run_request(
    store: Store,
    counter: TokenCounter | None,
    request: Request,
    *,
    conversation_id: int,
    parent_id: int | None,
    model: str,
    endpoint_name: str | None,
    on_event: Callable[[StreamEvent], None] | None = None,
    stream: bool = True,
    flush_interval: float = FLUSH_INTERVAL,
    wait_for_tokenizer: bool = True,
    on_row: Callable[[int, int], None] | None = None,
    save_patience: float = SAVE_PATIENCE,
) -> ReplyResult:
    """Stream (or fetch) a reply and record it. Never raises for what goes wrong on the way (the
    API, the connection, the data, the database): the row ends `error` with every character
    received, and the error comes back in the result. Cancellation ends it `cancelled` and is
    re-raised.

    The database may fail too (locked by another program, full, read-only): the text is then
    kept in memory, the writes are tried again (for up to `save_patience` seconds at the end,
    without blocking the event loop), and what still could not be written is `result.unsaved`,
    saved later by `result.save()`.

    `wait_for_tokenizer=False` (the UI): local token counts are skipped, not waited for, if the
    model's encoding is still loading; an event loop must never block on it. `on_row(choice,
    message_id)` is called as each choice's row is created (choice 0 before the request). Only
    the choices asked for (`n`) are kept: events for other indexes are counted and dropped."""
    body = request.body
    stored = sent_params(body)
    wanted = request.choices
    choices: dict[int, Choice] = {}
    result = ReplyResult(choices=choices, status="streaming", body=body)

    def create_row(c: Choice) -> None:
        c.message_id = store.begin_assistant(conversation_id, parent_id=parent_id, model=model, params=stored,
                                             endpoint=endpoint_name)
        if on_row is not None:
            on_row(c.index, c.message_id)

    def choice(index: int) -> Choice:
        c = choices.get(index)
        if c is None:
            c = choices[index] = Choice(index, None)
            try:
                create_row(c)
            except StoreError as exc:  # kept in memory; the row is made when the store allows
                result.unsaved = error_text(exc)
        return c

    choice(0)
    started = last_flush = time.monotonic()
    first_text: float | None = None

    def flush() -> None:
        for c in choices.values():
            text = c.text
            reasoning = c.reasoning if c.reasoning_parts else None
            if len(text) == c.flushed_len and (reasoning is None or len(reasoning) == c.reasoning_flushed_len):
                continue
            try:
                if c.message_id is None:
                    create_row(c)
                store.flush_partial(c.message_id, text, reasoning)
                c.flushed_len = len(text)
                c.reasoning_flushed_len = len(reasoning or "")
            except StoreError as exc:
                result.unsaved = error_text(exc)

    def handle(event: StreamEvent) -> None:
        nonlocal last_flush, first_text
        index = getattr(event, "index", 0)
        if not 0 <= index < wanted:
            result.ignored += 1
            return
        if isinstance(event, TextDelta):
            c = choice(index)
            thinking = c.thinking_from is not None and c.thinking_until is None
            if first_text is None or thinking:
                now = time.monotonic()
                if first_text is None:
                    first_text = now
                if thinking:
                    c.thinking_until = now  # the answer has started
            c.parts.append(event.text)
        elif isinstance(event, ReasoningDelta):
            c = choice(index)
            if c.thinking_from is None:
                c.thinking_from = time.monotonic()
                if first_text is None:
                    first_text = c.thinking_from  # the first token is the first thought
            c.reasoning_parts.append(event.text)
        elif isinstance(event, RefusalDelta):
            choice(index).refusal.append(event.text)
        elif isinstance(event, LogprobsDelta):
            choice(index).logprobs.extend(event.content)
        elif isinstance(event, ToolCallDelta):
            choice(index).calls.feed(event.calls)
        elif isinstance(event, Finish):
            choice(index).finish_reason = event.reason
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
            flush()

    try:
        if stream:
            events = request.stream()
            try:
                async for event in events:
                    handle(event)
            finally:
                await events.aclose()  # type: ignore[attr-defined]
        else:
            response = await request.create()
            result.raw = response.raw
            for event in response.events:
                handle(event)
            handle(response.timing)
        result.status = "complete"
    except (asyncio.CancelledError, KeyboardInterrupt):
        result.status = "cancelled"
        _count_local(counter, result, request, model, wait_for_tokenizer)
        _finish(store, result, started, first_text, create_row)
        result.save()  # one try: the task is being stopped; a row left streaming is recovered later
        raise
    except Exception as exc:  # noqa: BLE001 - whatever it was, the answer so far is kept
        result.status = "error"
        result.error = exc
    # Counting a long answer takes a while (seconds for megabytes): not on the event loop.
    await asyncio.to_thread(_count_local, counter, result, request, model, wait_for_tokenizer)
    _finish(store, result, started, first_text, create_row)
    try:
        await patiently(_save_all(result), wait=save_patience)
    except StoreError as exc:
        result.unsaved = error_text(exc)
    return result


def _save_all(result: ReplyResult) -> Callable[[], None]:
    """The final writes, for `patiently`: a lock is waited out; a full or read-only database
    is not going to change in seconds, so it ends the wait (the caller saves later)."""
    def save() -> None:
        if not result.save() and result._locked:
            raise _LockedStill(result.unsaved or "")
    return save


def _count_local(counter: TokenCounter | None, result: ReplyResult, request: Request,
                 model: str, wait_for_tokenizer: bool) -> None:
    """The prompt's and each answer's tokens, counted here with tiktoken."""
    if counter is None:
        return
    try:
        prompt = request.count_prompt(counter, wait_for_tokenizer)
        if prompt is None:
            return
        result.prompt_tokens_local = prompt.tokens
        result.tokens_exact = prompt.exact
        for index, c in result.choices.items():
            # the encoding is loaded now (the prompt was counted with it): this never waits
            answer = counter.count_completion(c.text, model).tokens
            thought = counter.count_completion(c.reasoning, model).tokens if c.reasoning_parts else None
            # As the server's completion_tokens: the answer and the reasoning.
            result.completion_tokens_local[index] = answer + (thought or 0)
            if thought is not None:
                result.reasoning_tokens_local[index] = thought
    except Exception:  # noqa: BLE001 - local counts are a nicety; the answer must be saved
        pass


def _finish(store: Store, result: ReplyResult, started: float, first_text: float | None,
            create_row: Callable[[Choice], None]) -> None:
    """Work out the final statistics and queue the rows' final writes in `result._pending`."""
    if result.timing is None:  # cancelled or failed: our own clock
        total = time.monotonic() - started
        ttft = first_text - started if first_text is not None else None
        result.timing = Timing(ttft=ttft, total=total, completion_tokens=None, tokens_per_second=None)
    usage = result.usage
    timing = result.timing
    error = result.error_text
    ended = time.monotonic()
    for index, c in result.choices.items():
        text = c.text
        if not text and c.refusal:
            text = "".join(c.refusal)
        if result.status == "complete" and c.refusal and not c.parts:
            c.finish_reason = c.finish_reason or "refusal"
        fields = dict(
            error=error,
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
            reasoning=c.reasoning or None,
            reasoning_tokens=usage.reasoning_tokens if usage and len(result.choices) == 1 else None,
            reasoning_tokens_local=result.reasoning_tokens_local.get(index),
            reasoning_duration=c.thinking_seconds(ended),
            tool_calls=c.tool_calls,
        )

        def write(c: Choice = c, text: str = text, fields: dict[str, Any] = fields) -> None:
            with store.transaction():  # a row made late is made and finished at once
                if c.message_id is None:
                    create_row(c)
                store.finish_assistant(c.message_id, text, result.status, **fields)

        result._pending.append(write)
