"""Insert mode for legacy completions (text before the cursor, text after it): pure logic.

OpenAI's `/v1/completions` takes the text after the cursor as `suffix`. llama.cpp's ignores
`suffix` without a word (tests/data/llamacpp/suffix.json); a model with fill-in-the-middle
tokens can still insert when the prompt is built with them (`fim_prompt`), which llama.cpp
tokenizes as the special tokens they are. A model without them (SmolLM2) cannot insert: the
suffix is dropped and `InsertMode.note` says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class FimTokens:
    """A model's fill-in-the-middle tokens, used prefix-suffix-middle (PSM)."""

    prefix: str
    suffix: str
    middle: str


# The spellings in use, most common first.
FIM_FAMILIES: tuple[FimTokens, ...] = (
    FimTokens("<fim_prefix>", "<fim_suffix>", "<fim_middle>"),  # StarCoder/StarCoder2, SantaCoder
    FimTokens("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),  # Qwen2.5-Coder, CodeGemma-style
    FimTokens("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),  # DeepSeek-Coder
)


def find_fim_tokens(is_single_token: Callable[[str], bool]) -> FimTokens | None:
    """The first family whose three spellings are each one token of the model."""
    for family in FIM_FAMILIES:
        if all(is_single_token(t) for t in (family.prefix, family.suffix, family.middle)):
            return family
    return None


def fim_prompt(tokens: FimTokens, prefix: str, suffix: str) -> str:
    """The prompt that makes a FIM model generate what goes between `prefix` and `suffix`."""
    return f"{tokens.prefix}{prefix}{tokens.suffix}{suffix}{tokens.middle}"


InsertKind = Literal["suffix", "fim", "none"]


@dataclass(frozen=True, slots=True)
class InsertMode:
    """How an endpoint and model do insert mode: `suffix` (the server takes the `suffix`
    parameter), `fim` (we build the prompt with `fim`), `none` (the suffix is ignored; `note`
    says why, in a line a UI can show)."""

    kind: InsertKind
    fim: FimTokens | None = None
    note: str = ""


def insert_request(mode: InsertMode, prefix: str, suffix: str) -> tuple[str, str | None]:
    """(prompt, suffix parameter) for a completion that fills the gap between the two texts."""
    if not suffix:
        return prefix, None
    if mode.kind == "suffix":
        return prefix, suffix
    if mode.kind == "fim" and mode.fim is not None:
        return fim_prompt(mode.fim, prefix, suffix), None
    return prefix, None
