"""Typed events produced from a streamed (or whole) OpenAI response.

The client yields these; the UI and CLI consume them. They carry plain data only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TopLogprob:
    token: str
    logprob: float
    bytes: list[int] | None = None


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One token with its log-probability and the alternatives the server sent (most likely
    first). `logprob` is NaN when the server sent none (OpenAI's first echoed prompt token).
    `offset` is the server's legacy ``text_offset`` (characters from the start of the prompt),
    None when it sent none (chat format, llama.cpp)."""

    token: str
    logprob: float
    bytes: list[int] | None = None
    top: tuple[TopLogprob, ...] = ()
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class Meta:
    """Response-level facts, emitted when first seen and whenever they change."""

    id: str | None
    model: str | None
    created: int | None
    system_fingerprint: str | None


@dataclass(frozen=True, slots=True)
class TextDelta:
    """Text of choice `index`. `echo` is true for the prompt a legacy completion echoes back
    (`echo: true`), which is sent before the generated text and never mixed with it."""

    index: int
    text: str
    echo: bool = False


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """Reasoning text of choice `index`, streamed before (or between) its answer by servers that
    show it: `reasoning_content` (llama.cpp, vLLM, DeepSeek) or `reasoning` (OpenRouter). It is
    not part of the answer and is never sent back."""

    index: int
    text: str


@dataclass(frozen=True, slots=True)
class RefusalDelta:
    index: int
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """Tolerated, not interpreted: the raw `tool_calls` delta entries."""

    index: int
    calls: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class LogprobsDelta:
    """Log-probabilities of choice `index`'s tokens, in order. `echo` is true when they are the
    prompt's tokens (a legacy completion with `echo: true`), false for generated tokens; one
    delta never holds both."""

    index: int
    content: tuple[TokenLogprob, ...] = ()
    refusal: tuple[TokenLogprob, ...] = ()
    echo: bool = False


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def reasoning_tokens(self) -> int | None:
        """`completion_tokens_details.reasoning_tokens`: the part of `completion_tokens` spent
        thinking (already in it: never add the two)."""
        details = self.raw.get("completion_tokens_details")
        value = details.get("reasoning_tokens") if isinstance(details, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@dataclass(frozen=True, slots=True)
class Finish:
    index: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class Timing:
    """Emitted last by the client: seconds from request start."""

    ttft: float | None  # time to the first token, of text or of reasoning
    total: float
    completion_tokens: int | None  # from the server's usage when it sent one
    tokens_per_second: float | None  # usage tokens (else text chunks) over the streaming time
    chunks: int = 0  # text (and reasoning) deltas received


StreamEvent = Meta | TextDelta | ReasoningDelta | RefusalDelta | ToolCallDelta | LogprobsDelta | Usage | Finish | Timing
