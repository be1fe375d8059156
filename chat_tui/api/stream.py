"""OpenAI response payloads → the typed events of `chat_tui.api.events`. Pure: no I/O.

`ChatStreamParser` takes the events of `sse.SSEDecoder` for a streamed request;
`parse_chat_response` / `parse_completion_response` take a whole (non-streamed) response.
All of them understand both chat completions (`choices[].delta` / `.message`) and legacy
completions (`choices[].text`, logprobs as parallel `tokens` / `token_logprobs` lists), and
produce the same event types, so consumers share one code path.

Servers vary (OpenAI, Azure, vLLM, llama.cpp, Ollama...): fields of the wrong type are
skipped rather than trusted, and unknown fields are ignored.

Legacy completion logprobs come in two shapes, both parsed into `LogprobsDelta.content` (one
`TokenLogprob` per token, with its `top` alternatives, most likely first):

- OpenAI: parallel lists ``{tokens, token_logprobs, top_logprobs: [{token: logprob} | null],
  text_offset}``; `TokenLogprob.offset` keeps ``text_offset`` (characters from the start of the
  prompt, echoed or not).
- llama.cpp (tests/data/llamacpp/): the chat shape, ``{content: [{id, token, bytes, logprob,
  top_logprobs: [{id, token, bytes, logprob}]}]}``; `offset` is None. It sends ``logprobs:
  null`` for ``logprobs: 0`` and up to any N alternatives (OpenAI caps N at 5).

Echo (`echo: true`, legacy only). Give the parser the prompt (`echo_prompt=`) and it tells the
prompt from the answer: the echoed prompt comes as ``TextDelta(echo=True)`` and its tokens as
``LogprobsDelta(echo=True)`` (OpenAI sends null for the first token's logprob: NaN here), then
the generated text and tokens with ``echo=False``; no event mixes the two, so a UI can colour
them apart. A token is the prompt's when its ``text_offset`` is inside the prompt, or, without
offsets, while the tokens' text so far is. A server that ignores `echo` (llama.cpp does) is
recognised per choice by its first text not being the prompt: everything is then generated.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from chat_tui.api.errors import APIError, StreamError, error_from_payload
from chat_tui.api.events import (
    Finish,
    LogprobsDelta,
    Meta,
    ReasoningDelta,
    RefusalDelta,
    StreamEvent,
    TextDelta,
    TokenLogprob,
    ToolCallDelta,
    TopLogprob,
    Usage,
)
from chat_tui.core.text import clean_text

if TYPE_CHECKING:
    from chat_tui.api.sse import ServerSentEvent

__all__ = ["ChatStreamParser", "parse_chat_response", "parse_completion_response"]

_PREVIEW = 120  # characters of a bad chunk quoted in the error


class ChatStreamParser:
    """Turns server-sent events of a chat or legacy completions stream into typed events.

    `feed` raises the typed `APIError` for an error sent mid-stream (an ``event: error`` or
    a chunk with a top-level ``"error"``) and `StreamError` for a chunk that is not JSON.
    `done` becomes true at ``data: [DONE]``; anything after it is ignored. `meta` holds the
    latest response facts (id, model, created, system_fingerprint).
    """

    def __init__(self, echo_prompt: str | None = None) -> None:
        """`echo_prompt`: the prompt of a legacy request sent with `echo: true` (see above)."""
        self.done = False
        self._choices = _Choices(echo_prompt)
        self.meta: Meta | None = None
        self._meta_key: tuple[Any, ...] | None = None  # the facts as last sent: most chunks repeat them

    def feed(self, sse: ServerSentEvent) -> list[StreamEvent]:
        if self.done:
            return []
        if sse.event == "error":
            raise _error_event(sse.data)
        if sse.event != "message":
            return []  # e.g. a server's own "ping" type; OpenAI sends chunks as plain messages
        data = sse.data
        stripped = data.strip()
        if not stripped:
            return []  # an empty data line used as a keep-alive
        if stripped == "[DONE]":
            self.done = True
            return []
        obj = _load_chunk(data)
        if obj.get("error") is not None:
            err = error_from_payload(obj)
            err.body = data
            raise err
        events: list[StreamEvent] = []
        key = (obj.get("id"), obj.get("model"), obj.get("created"), obj.get("system_fingerprint"))
        if key != self._meta_key:
            self._meta_key = key
            meta = _merge_meta(self.meta, obj)
            if meta is not None and meta != self.meta:
                self.meta = meta
                events.append(meta)
        _choice_events(obj.get("choices"), "delta", events, self._choices)
        usage = _usage(obj.get("usage"))
        if usage is not None:
            events.append(usage)
        return events


def parse_chat_response(obj: dict[str, Any]) -> list[StreamEvent]:
    """Events for a whole `chat.completion` object: Meta, then per choice ReasoningDelta,
    TextDelta, RefusalDelta, ToolCallDelta, LogprobsDelta, Finish; then Usage."""
    return _parse_whole(obj)


def parse_completion_response(obj: dict[str, Any], echo_prompt: str | None = None) -> list[StreamEvent]:
    """Events for a whole legacy `text_completion` object (`choices[].text`); `echo_prompt` as
    for `ChatStreamParser`."""
    return _parse_whole(obj, echo_prompt)


def _parse_whole(obj: Any, echo_prompt: str | None = None) -> list[StreamEvent]:
    """Shared by both: a choice with a `message` is chat, one with `text` is legacy."""
    if not isinstance(obj, dict):
        raise StreamError(f"malformed response from server: {str(obj)[:_PREVIEW]}")
    if obj.get("error") is not None:
        raise error_from_payload(obj)
    events: list[StreamEvent] = []
    meta = _merge_meta(None, obj)
    if meta is not None:
        events.append(meta)
    _choice_events(obj.get("choices"), "message", events, _Choices(echo_prompt))
    usage = _usage(obj.get("usage"))
    if usage is not None:
        events.append(usage)
    return events


def _load_chunk(data: str) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        obj = None
    if not isinstance(obj, dict):
        raise StreamError(f"malformed chunk from server: {data[:_PREVIEW]}", body=data)
    return obj


def _error_event(data: str) -> APIError:
    """The typed error for an ``event: error``; its data is usually OpenAI's error JSON."""
    try:
        payload: Any = json.loads(data)
    except (ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        payload = {"error": data.strip()}  # plain text: keep it as the message
    err = error_from_payload(payload)
    err.body = data
    return err


def _merge_meta(prev: Meta | None, obj: dict[str, Any]) -> Meta | None:
    """Response facts from this object, keeping earlier values a chunk leaves out."""
    id_ = _str_or(obj.get("id"), prev.id if prev else None)
    model = _str_or(obj.get("model"), prev.model if prev else None)
    created = obj.get("created")
    if isinstance(created, bool) or not isinstance(created, (int, float)):
        created = prev.created if prev else None
    else:
        created = int(created)
    fingerprint = _str_or(obj.get("system_fingerprint"), prev.system_fingerprint if prev else None)
    if id_ is None and model is None and created is None and fingerprint is None:
        return None
    return Meta(id=id_, model=model, created=created, system_fingerprint=fingerprint)


def _str_or(value: Any, default: str | None) -> str | None:
    return value if isinstance(value, str) else default


class _Choices:
    """Per choice: how much text and token text has come (to place the echoed prompt)."""

    def __init__(self, echo_prompt: str | None) -> None:
        self.prompt = clean_text(echo_prompt) if echo_prompt else ""
        self.text_seen: dict[int, int] = {}  # characters of text received, per choice
        self.token_seen: dict[int, int] = {}  # characters of token text received, per choice
        self.echoed: dict[int, bool] = {}  # decided at a choice's first text: does it echo?

    def text(self, index: int, text: str, out: list[StreamEvent]) -> None:
        seen = self.text_seen.get(index, 0)
        self.text_seen[index] = seen + len(text)
        left = len(self.prompt) - seen
        if self.prompt and left > 0:
            if index not in self.echoed:
                head = min(len(text), left)
                self.echoed[index] = text[:head] == self.prompt[seen:seen + head]
            if self.echoed[index]:
                out.append(TextDelta(index, text[:left], echo=True))
                text = text[left:]
        if text:
            out.append(TextDelta(index, text))

    def tokens(self, index: int, tokens: tuple[TokenLogprob, ...], out: list[StreamEvent]) -> None:
        """Split into the prompt's tokens and the generated ones (see the module docstring)."""
        seen = self.token_seen.get(index, 0)
        cut = 0
        if self.prompt and self.echoed.get(index, True):
            for token in tokens:
                start = token.offset if token.offset is not None else seen
                if start >= len(self.prompt):
                    break
                seen = start + len(token.token)
                cut += 1
        for token in tokens[cut:]:
            seen = (token.offset if token.offset is not None else seen) + len(token.token)
        self.token_seen[index] = seen
        if cut:
            out.append(LogprobsDelta(index, content=tokens[:cut], echo=True))
        if cut < len(tokens):
            out.append(LogprobsDelta(index, content=tokens[cut:]))


def _choice_events(choices: Any, body_key: str, out: list[StreamEvent], state: _Choices) -> None:
    if not isinstance(choices, list):
        return
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        index = choice.get("index")
        if not isinstance(index, int):
            index = 0  # some servers leave it out when n == 1
        body = choice.get(body_key)
        if isinstance(body, dict):  # chat: `delta` when streamed, `message` when whole
            reasoning = _reasoning(body)
            if reasoning:
                out.append(ReasoningDelta(index, clean_text(reasoning)))
            content = body.get("content")
            if isinstance(content, str) and content:
                out.append(TextDelta(index, clean_text(content)))
            refusal = body.get("refusal")
            if isinstance(refusal, str) and refusal:
                out.append(RefusalDelta(index, clean_text(refusal)))
            calls = body.get("tool_calls")
            if isinstance(calls, list):
                kept = tuple(call for call in calls if isinstance(call, dict))
                if kept:
                    out.append(ToolCallDelta(index, kept))
        else:  # legacy completions
            text = choice.get("text")
            if isinstance(text, str) and text:
                state.text(index, clean_text(text), out)
        logprobs = choice.get("logprobs")
        if isinstance(logprobs, dict):
            if isinstance(body, dict):
                delta = _logprobs(index, logprobs)
                if delta is not None:
                    out.append(delta)
            else:  # legacy: OpenAI's parallel lists or llama.cpp's chat-style `content`
                content = _legacy_tokens(logprobs) if "tokens" in logprobs else _tokens(logprobs.get("content"))
                if content:
                    state.tokens(index, content, out)
        reason = choice.get("finish_reason")
        if reason is not None:
            out.append(Finish(index, str(reason)))


def _reasoning(body: dict[str, Any]) -> str | None:
    """The reasoning text of a delta or message: `reasoning_content` (llama.cpp, vLLM, DeepSeek)
    or `reasoning` (OpenRouter). A server sending both (vLLM's newer versions) sends the same
    text twice: it is taken once."""
    for key in ("reasoning_content", "reasoning"):
        text = body.get(key)
        if isinstance(text, str) and text:
            return text
    return None


def _logprobs(index: int, lp: dict[str, Any]) -> LogprobsDelta | None:
    if "tokens" in lp:
        content, refusal = _legacy_tokens(lp), ()
    else:
        content, refusal = _tokens(lp.get("content")), _tokens(lp.get("refusal"))
    if not content and not refusal:
        return None
    return LogprobsDelta(index, content=content, refusal=refusal)


def _tokens(entries: Any) -> tuple[TokenLogprob, ...]:
    """Chat format: ``[{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}]``."""
    if not isinstance(entries, list):
        return ()
    out = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        top = entry.get("top_logprobs")
        alternatives = tuple(
            TopLogprob(_token(alt.get("token")), _logprob(alt.get("logprob")), _bytes(alt.get("bytes")))
            for alt in (top if isinstance(top, list) else ())
            if isinstance(alt, dict)
        )
        out.append(
            TokenLogprob(
                _token(entry.get("token")), _logprob(entry.get("logprob")), _bytes(entry.get("bytes")), alternatives
            )
        )
    return tuple(out)


def _legacy_tokens(lp: dict[str, Any]) -> tuple[TokenLogprob, ...]:
    """Legacy format: parallel lists ``tokens``, ``token_logprobs``, ``top_logprobs`` (one
    ``{token: logprob}`` dict or null per token) and ``text_offset``."""
    tokens = lp.get("tokens")
    if not isinstance(tokens, list):
        return ()
    values = lp.get("token_logprobs")
    values = values if isinstance(values, list) else []
    tops = lp.get("top_logprobs")
    tops = tops if isinstance(tops, list) else []
    offsets = lp.get("text_offset")
    offsets = offsets if isinstance(offsets, list) else []
    out = []
    for i, token in enumerate(tokens):
        top = tops[i] if i < len(tops) else None
        alternatives = ()
        if isinstance(top, dict):
            # Dicts carry no order of their own: most likely first, as in the chat format.
            ranked = sorted(((_token(t), _logprob(v)) for t, v in top.items()), key=lambda tv: -tv[1])
            alternatives = tuple(TopLogprob(t, v) for t, v in ranked)
        value = values[i] if i < len(values) else None
        offset = offsets[i] if i < len(offsets) else None
        offset = offset if isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0 else None
        out.append(TokenLogprob(_token(token), _logprob(value), None, alternatives, offset))
    return tuple(out)


def _token(value: Any) -> str:
    return clean_text(value) if isinstance(value, str) else ""


def _logprob(value: Any) -> float:
    """NaN when the server sent none (a legacy echoed first token has null)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return math.nan


def _bytes(value: Any) -> list[int] | None:
    return value if isinstance(value, list) else None


def _usage(value: Any) -> Usage | None:
    if not isinstance(value, dict):
        return None
    return Usage(
        prompt_tokens=_int(value.get("prompt_tokens")),
        completion_tokens=_int(value.get("completion_tokens")),
        total_tokens=_int(value.get("total_tokens")),
        raw=value,
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
