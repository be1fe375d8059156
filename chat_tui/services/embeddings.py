"""Search by meaning: embedding texts (chunked to the model's input limit, batched to the
endpoint's), the background indexer over saved messages, the in-memory vector index, and
hybrid search (full text and vectors merged by reciprocal rank fusion).

The vector index is a float32 numpy matrix loaded once and topped up with new rows, searched by
one brute-force dot product (chosen by measurement over sqlite-vec: docs/performance.md).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from chat_tui.core.embeddings import (
    SEARCH_MODES,
    EmbeddingSetup,
    Estimate,
    check_mode,
    estimate,
    input_token_limit,
    plan_batches,
    reciprocal_rank_fusion,
    setup_for,
)
from chat_tui.store import vectors
from chat_tui.store.vector_cache import VectorCache
from chat_tui.store.history import (
    HistoryFilter,
    HistoryRow,
    conversation_rows,
    history_page,
)

if TYPE_CHECKING:
    from chat_tui.api.client import OpenAIClient
    from chat_tui.core.tokens import TokenCounter
    from chat_tui.store import Store

__all__ = [
    "SEARCH_MODES",
    "EmbeddingSetup",
    "IndexProgress",
    "Indexer",
    "VectorIndex",
    "backlog_estimate",
    "embed_texts",
    "meaning_hits",
    "merge_hits",
    "search",
    "setup_for",
    "words_hits",
]

# The vectors of the models we know, when `dimensions` is not sent.
NATIVE_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
ANY = HistoryFilter()  # no filter beyond the history's own (no trash, no archive)
DEPTH = 100  # conversations taken from each ranking before they are merged
READ_BATCH = 256  # messages read from the backlog at a time (one short write per batch)


class EmbeddingError(RuntimeError):
    """Embedding is not set up, or a server answered with something unusable."""


# -- embedding texts ----------------------------------------------------------------------------


def _chunks(counter: TokenCounter, model: str, texts: Sequence[str], limit: int) -> tuple[list[str], list[int], list[int]]:
    """Every text cut to the input limit: (pieces, owner text of each, tokens of each)."""
    pieces: list[str] = []
    owners: list[int] = []
    tokens: list[int] = []
    for i, text in enumerate(texts):
        for piece in counter.chunk_text(text, model, limit):
            if not piece.strip():
                continue  # white space alone carries no meaning (and an empty input is refused)
            pieces.append(piece)
            owners.append(i)
            tokens.append(counter.count_text(piece, model).tokens)
    return pieces, owners, tokens


async def embed_texts(client: OpenAIClient, counter: TokenCounter, setup: EmbeddingSetup,
                      texts: Sequence[str], *, limit: int | None = None) -> tuple[list[list[list[float]]], int]:
    """The vectors of each text (one per chunk: a text longer than the model's input limit is
    embedded in several pieces, none of it dropped) and the tokens the server reported.
    Requests hold at most 2,048 inputs and 300,000 tokens; retries are the transport's."""
    limit = limit or input_token_limit(setup.model)
    pieces, owners, tokens = await asyncio.to_thread(_chunks, counter, setup.model, texts, limit)
    out: list[list[list[float]]] = [[] for _ in texts]
    used = 0
    for batch in plan_batches(tokens):
        result = await client.embeddings.create([pieces[i] for i in batch], setup.model, setup.params)
        used += result.prompt_tokens or sum(tokens[i] for i in batch)
        for i, vector in zip(batch, result.vectors):
            out[owners[i]].append(vector)
    return out, used


# -- the background indexer ---------------------------------------------------------------------


@dataclass(frozen=True)
class IndexProgress:
    done: int  # messages embedded (or found to have no text to embed) in this run
    total: int  # the backlog when the run started
    tokens: int = 0
    model: str = ""

    @property
    def fraction(self) -> float:
        return 1.0 if not self.total else min(1.0, self.done / self.total)


class Indexer:
    """Embeds the backlog of a store: every finished message without a vector for the setup's
    model and size. Nothing to resume by hand: after a restart the backlog is what is left.
    The HTTP is async and each batch is one short write, so it runs beside the UI loop."""

    def __init__(self, client: OpenAIClient, store: Store, counter: TokenCounter, setup: EmbeddingSetup,
                 *, batch: int = READ_BATCH, on_progress: Callable[[IndexProgress], None] | None = None) -> None:
        self.client, self.store, self.counter, self.setup = client, store, counter, setup
        self.batch = batch
        self.on_progress = on_progress
        self.dimensions: int | None = setup.dimensions or NATIVE_DIMENSIONS.get(setup.model)

    async def resolve_dimensions(self) -> int:
        """The vector length of the setup: asked for, known, or measured with one tiny request."""
        if self.dimensions is None:
            result = await self.client.embeddings.create("dimensions", self.setup.model, self.setup.params)
            self.dimensions = len(result.vectors[0])
        return self.dimensions

    def pending(self) -> int:
        assert self.dimensions is not None
        return vectors.backlog_size(self.store, self.setup.model, self.dimensions)

    async def run(self) -> IndexProgress:
        dimensions = await self.resolve_dimensions()
        model = self.setup.model
        progress = IndexProgress(0, self.pending(), 0, model)
        self._report(progress)
        after = 0
        while rows := vectors.backlog(self.store, model, dimensions, limit=self.batch, after=after):
            found, tokens = await embed_texts(self.client, self.counter, self.setup, [text for _, text in rows])
            blobs: list[tuple[int, int, bytes]] = []
            for (mid, _), chunk_vectors in zip(rows, found):
                for chunk, vector in enumerate(chunk_vectors):
                    if len(vector) != dimensions:
                        raise EmbeddingError(f"{model} answered a vector of {len(vector)} numbers, expected {dimensions}")
                    blobs.append((mid, chunk, np.asarray(vector, dtype="<f4").tobytes()))
            vectors.save_vectors(self.store, model, blobs)
            after = rows[-1][0]
            progress = replace(progress, done=progress.done + len(rows), tokens=progress.tokens + tokens)
            self._report(progress)
        return progress

    def _report(self, progress: IndexProgress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)


def other_spaces(store: Store, model: str, dimensions: int) -> list[vectors.Space]:
    """Vectors made with another model or size: a sign the model was changed."""
    return [s for s in vectors.spaces(store) if (s.model, s.dimensions) != (model, dimensions)]


def backlog_estimate(store: Store, counter: TokenCounter, setup: EmbeddingSetup, dimensions: int | None = None) -> Estimate:
    """Messages and tokens waiting to be embedded and what that costs (a model change starts
    over). Reads every waiting message: call it off the UI loop."""
    dims = dimensions or setup.dimensions or NATIVE_DIMENSIONS.get(setup.model)
    if dims is None:
        spaces = [s for s in vectors.spaces(store) if s.model == setup.model]
        dims = spaces[0].dimensions if spaces else 0
    messages = tokens = 0
    for text in vectors.backlog_texts(store, setup.model, dims):
        messages += 1
        tokens += counter.count_text(text, setup.model).tokens
    return estimate(setup.model, messages, tokens, local=setup.local)


# -- the vector index ---------------------------------------------------------------------------


class VectorIndex:
    """The vectors of one model and size as float32 unit rows: those of the vector cache
    (memory-mapped, `store/vector_cache.py`) and those read from SQLite since, in memory.
    `refresh` reads only rows added since the last call and hands them to the cache. Vectors
    of deleted messages stay until `reload`; searches drop them by checking the hits against
    the store."""

    def __init__(self, model: str, dimensions: int, cache: VectorCache | None = None) -> None:
        self.model, self.dimensions = model, dimensions
        self.cache = cache
        self._base = np.empty((0, dimensions), dtype=np.float32)  # mapped from the cache
        self._base_ids = np.empty(0, dtype=np.int64)
        self._matrix = np.empty((0, dimensions), dtype=np.float32)  # read from SQLite
        self._ids = np.empty(0, dtype=np.int64)
        self._size = 0
        self._cached_tail = 0  # rows of _matrix the cache also holds
        self._last = 0
        self._opened = False
        self.mapped = 0  # rows the first refresh took from the cache
        # A refresh may run in a thread (the first load of a large index takes seconds) while
        # the loop searches: one at a time.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._base_ids) + self._size

    def refresh(self, store: Store) -> int:
        """Load the rows stored since the last call (the first call maps the cache first);
        returns how many rows were added."""
        added = 0
        if not self._opened:
            self._opened = True
            cached = self.cache.load(store) if self.cache is not None else None
            if cached is not None:
                with self._lock:
                    self._base, self._base_ids, self._last = cached.matrix, cached.ids, cached.last_id
                self.mapped = added = len(cached.ids)
        while rows := vectors.read_vectors(store, self.model, self.dimensions, after=self._last):
            block = np.frombuffer(b"".join(blob for _, _, blob in rows), dtype="<f4").reshape(len(rows), self.dimensions)
            with self._lock:
                self._append(np.array([mid for _, mid, _ in rows], dtype=np.int64), block)
                self._last = rows[-1][0]
            added += len(rows)
        self._save(store)
        return added

    def _save(self, store: Store) -> None:
        """Hand the rows the cache lacks to it (the next process maps them)."""
        if self.cache is None or self._cached_tail == self._size:
            return
        start = len(self._base_ids) + self._cached_tail
        part = slice(self._cached_tail, self._size)
        if self.cache.write(store, self._ids[part], self._matrix[part], self._last, start=start):
            self._cached_tail = self._size

    def reload(self, store: Store) -> int:
        """Read every row again from SQLite (and rewrite the cache from them)."""
        with self._lock:
            self._base = np.empty((0, self.dimensions), dtype=np.float32)
            self._base_ids = np.empty(0, dtype=np.int64)
            self._size = self._cached_tail = self._last = 0
            self._opened = True
        return self.refresh(store)

    def _append(self, ids: np.ndarray, block: np.ndarray) -> None:
        need = self._size + len(ids)
        if need > len(self._ids):  # grow by doubling: appends stay cheap on average
            capacity = max(need, 2 * len(self._ids), 1024)
            matrix = np.empty((capacity, self.dimensions), dtype=np.float32)
            matrix[:self._size] = self._matrix[:self._size]
            grown = np.empty(capacity, dtype=np.int64)
            grown[:self._size] = self._ids[:self._size]
            self._matrix, self._ids = matrix, grown
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        self._matrix[self._size:need] = block / norms  # cosine similarity is then a dot product
        self._ids[self._size:need] = ids
        self._size = need

    def nearest(self, query: Sequence[float], k: int) -> list[tuple[int, float]]:
        """The `k` messages closest to `query` (by their best chunk): (message id, cosine)."""
        with self._lock:
            return self._nearest(query, k)

    def _nearest(self, query: Sequence[float], k: int) -> list[tuple[int, float]]:
        total = len(self)
        if not total or k <= 0:
            return []
        q = np.asarray(query, dtype=np.float32)
        if q.shape != (self.dimensions,):
            raise EmbeddingError(f"the query vector has {q.size} numbers, the index {self.dimensions}")
        q = q / (np.linalg.norm(q) or 1.0)
        mapped = len(self._base_ids)
        parts = [m @ q for m in (self._base, self._matrix[:self._size]) if len(m)]
        scores = parts[0] if len(parts) == 1 else np.concatenate(parts)
        want = min(total, k * 4)  # chunks of one message may take several places
        top = np.argpartition(-scores, want - 1)[:want]
        top = top[np.argsort(-scores[top], kind="stable")]
        found: dict[int, float] = {}
        for i in top:
            mid = int(self._base_ids[i] if i < mapped else self._ids[i - mapped])
            if mid not in found:
                found[mid] = float(scores[i])
                if len(found) == k:
                    break
        return list(found.items())


# -- search -------------------------------------------------------------------------------------


def words_hits(store: Store, query: str, filters: HistoryFilter = ANY, depth: int = DEPTH) -> list[tuple[int, int]]:
    """(conversation id, hit message id), best first, by the full-text index."""
    return [(r.id, r.hit_message_id) for r in history_page(store, query=query, filters=filters, limit=depth)
            if r.hit_message_id is not None]


def meaning_hits(store: Store, index: VectorIndex, query_vector: Sequence[float], depth: int = DEPTH) -> list[tuple[int, int]]:
    """(conversation id, hit message id), best first, by the vectors: each conversation once,
    at its closest message; messages deleted or in the trash are left out."""
    index.refresh(store)
    nearest = index.nearest(query_vector, depth * 4)
    where = vectors.live(store, [mid for mid, _ in nearest])
    hits: dict[int, int] = {}
    for mid, _score in nearest:
        cid = where.get(mid)
        if cid is not None and cid not in hits:
            hits[cid] = mid
            if len(hits) == depth:
                break
    return list(hits.items())


def merge_hits(words: list[tuple[int, int]], meaning: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Both rankings merged by reciprocal rank fusion (k = 60); a conversation found by its
    words keeps that hit message (its excerpt shows the words)."""
    hit = {cid: mid for cid, mid in reversed(meaning)} | {cid: mid for cid, mid in reversed(words)}
    merged = reciprocal_rank_fusion([[cid for cid, _ in words], [cid for cid, _ in meaning]])
    return [(cid, hit[cid]) for cid, _score in merged]


async def query_vector(client: OpenAIClient, setup: EmbeddingSetup, query: str) -> list[float]:
    result = await client.embeddings.create(query, setup.model, setup.params)
    return result.vectors[0]


def index_for(store: Store, setup: EmbeddingSetup, cached: VectorIndex | None = None) -> VectorIndex | None:
    """The index of the setup's vectors (`cached` if it is that one), or None if there are none."""
    dims = setup.dimensions or NATIVE_DIMENSIONS.get(setup.model)
    if dims is None:
        spaces = [s for s in vectors.spaces(store) if s.model == setup.model]
        if not spaces:
            return None
        dims = spaces[0].dimensions
    if cached is not None and (cached.model, cached.dimensions) == (setup.model, dims):
        return cached
    return VectorIndex(setup.model, dims, VectorCache.beside(store, setup.model, dims))


async def search(store: Store, client: OpenAIClient | None, setup: EmbeddingSetup | None, query: str, mode: str, *,
                 index: VectorIndex | None = None, filters: HistoryFilter = ANY,
                 limit: int = 50) -> list[HistoryRow]:
    """Conversations for `query`: by its words (`words`, the full-text index), its meaning
    (`meaning`, the vectors) or `both` (merged by reciprocal rank fusion). EmbeddingError when
    meaning is asked for and embeddings are not set up."""
    check_mode(mode)
    if mode == "words":
        return history_page(store, query=query, filters=filters, limit=limit)
    if setup is None or client is None:
        raise EmbeddingError("search by meaning needs embeddings: set embeddings = true in the profile"
                             " (config.toml) and let the saved messages be embedded")
    index = index_for(store, setup, index)
    depth = max(DEPTH, limit)
    words = words_hits(store, query, filters, depth) if mode == "both" else []
    meaning: list[tuple[int, int]] = []
    if index is not None:
        meaning = meaning_hits(store, index, await query_vector(client, setup, query), depth)
    hits = merge_hits(words, meaning) if mode == "both" else meaning
    return conversation_rows(store, hits[:limit * 2], query=query, filters=filters)[:limit]
