"""Embedding plans without I/O: how long an input may be, how inputs go into requests, what a
backlog costs, and how ranked lists merge (reciprocal rank fusion)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from chat_tui.core.models_table import estimate_cost, model_info
from chat_tui.core.params.embeddings import MAX_INPUTS, EmbeddingParams

if TYPE_CHECKING:
    from chat_tui.core.config import Endpoint

# OpenAI caps the tokens of all inputs of one request too (300,000 at the time of writing).
MAX_REQUEST_TOKENS = 300_000
# A model we know nothing about (a local GGUF): llama.cpp embeds one input in one physical batch,
# and its tokenizer is not tiktoken's, so stay well under the usual 2,048-token batch.
UNKNOWN_MODEL_TOKENS = 512
RRF_K = 60
SEARCH_MODES = ("words", "meaning", "both")

K = TypeVar("K", bound=Hashable)


def input_token_limit(model: str) -> int:
    """Tokens one input may have: the model's window (8,191 for OpenAI's embedding models)."""
    info = model_info(model)
    if info is not None and info.context_window and info.id.startswith("text-embedding"):
        return info.context_window
    return UNKNOWN_MODEL_TOKENS


def plan_batches(token_counts: Sequence[int], *, max_inputs: int = MAX_INPUTS,
                 max_tokens: int = MAX_REQUEST_TOKENS) -> list[range]:
    """Consecutive ranges of inputs, each one request: at most `max_inputs` inputs and
    `max_tokens` tokens (an input over `max_tokens` alone still gets its own request)."""
    batches: list[range] = []
    start, tokens = 0, 0
    for i, count in enumerate(token_counts):
        if i > start and (i - start >= max_inputs or tokens + count > max_tokens):
            batches.append(range(start, i))
            start, tokens = i, 0
        tokens += count
    if start < len(token_counts):
        batches.append(range(start, len(token_counts)))
    return batches


def reciprocal_rank_fusion(rankings: Sequence[Sequence[K]], k: int = RRF_K) -> list[tuple[K, float]]:
    """Items of several best-first lists, by the sum of 1 / (k + rank) over the lists they are
    in (rank from 1), best first; ties keep the order of first appearance."""
    scores: dict[K, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda pair: (-pair[1], order[pair[0]]))


@dataclass(frozen=True)
class Estimate:
    messages: int
    tokens: int
    cost: float | None  # USD, None if the model's price is unknown (free for local models)

    def __str__(self) -> str:
        price = ("price unknown" if self.cost is None else "free (a local model)" if self.cost == 0
                 else f"about ${self.cost:.4f}")
        return f"{self.messages} messages, {self.tokens} tokens, {price}"


def estimate(model: str, messages: int, tokens: int, *, local: bool = False) -> Estimate:
    cost = 0.0 if local else estimate_cost(model_info(model), tokens, 0)
    return Estimate(messages, tokens, cost)


def check_mode(mode: str) -> str:
    if mode not in SEARCH_MODES:
        raise ValueError(f"unknown search mode {mode!r}; use one of {', '.join(SEARCH_MODES)}")
    return mode


# The setup lives here, not with the indexer (services/embeddings.py, which needs numpy): the
# app asks for it at start-up, and numpy costs ~12 MB and ~60 ms it should not pay there.
@dataclass(frozen=True)
class EmbeddingSetup:
    """What to embed with: the model, the vector length asked for (None: the model's own), and
    whether the endpoint is local (its compute is free)."""

    model: str
    dimensions: int | None = None
    local: bool = False

    @property
    def params(self) -> EmbeddingParams:
        return EmbeddingParams(dimensions=self.dimensions)


def setup_for(endpoint: Endpoint) -> EmbeddingSetup | None:
    """The endpoint's embedding setup, or None where it is off (`embeddings = false`, the default
    for paid endpoints). A local server embeds with its own model unless told otherwise."""
    if not endpoint.embeddings:
        return None
    model = endpoint.embedding_model or (endpoint.default_model if endpoint.type == "local" else None)
    if not model:
        return None
    return EmbeddingSetup(model, endpoint.embedding_dimensions, endpoint.is_local)
