"""Search by meaning against the fake server on a loopback socket: chunking and batching within
the endpoint's limits, the store's vectors (schema 8), the background indexer (resumes, re-embeds
on a model change, leaves deleted conversations out), hybrid search and its quality on the
labelled set (tests/data/semantic_search.json)."""

from __future__ import annotations

import numpy as np
import pytest
from fake_openai import Fault, embedding_vector
from openapi_spec import validate_request
from semantic_set import load, recall_at, save_set

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Endpoint
from chat_tui.core.embeddings import (
    estimate,
    input_token_limit,
    plan_batches,
    reciprocal_rank_fusion,
)
from chat_tui.core.tokens import TokenCounter
from chat_tui.services import embeddings as emb
from chat_tui.store import Store, vectors
from chat_tui.store.history import HistoryFilter, soft_delete

SMALL = emb.EmbeddingSetup("text-embedding-3-small", 64)


def client_for(server) -> OpenAIClient:
    return OpenAIClient(Endpoint(name="test", base_url=server.base_url, api_key="sk-test"), backoff_base=0.01)


@pytest.fixture
def counter(tiktoken_cache) -> TokenCounter:
    return TokenCounter(tiktoken_cache)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "chat.db") as s:
        yield s


def _conversation(store: Store, *texts: str) -> int:
    cid = store.create_conversation()
    parent = None
    for i, text in enumerate(texts):
        parent = store.add_message(cid, "user" if i % 2 == 0 else "assistant", text, parent_id=parent)
    return cid


# -- pure parts ---------------------------------------------------------------------------------


def test_batches_respect_the_input_and_token_limits():
    assert [len(b) for b in plan_batches([1] * 5000)] == [2048, 2048, 904]
    assert [list(b) for b in plan_batches([200_000, 200_000, 1])] == [[0], [1, 2]]
    assert plan_batches([]) == []
    assert input_token_limit("text-embedding-3-small") == input_token_limit("text-embedding-ada-002") == 8191
    assert input_token_limit("smollm2-135m-instruct") == 512


def test_reciprocal_rank_fusion_with_k_60():
    merged = reciprocal_rank_fusion([["a", "b", "c"], ["c", "d"]])
    assert [item for item, _ in merged] == ["c", "a", "b", "d"]
    assert merged[0][1] == pytest.approx(1 / 63 + 1 / 61)


def test_cost_estimate_uses_the_price_table():
    assert estimate("text-embedding-3-small", 10, 1_000_000).cost == pytest.approx(0.02)
    assert estimate("text-embedding-3-large", 10, 1_000_000).cost == pytest.approx(0.13)
    assert estimate("text-embedding-ada-002", 10, 1_000_000).cost == pytest.approx(0.10)
    assert estimate("smollm2", 3, 10, local=True).cost == 0.0
    assert "price unknown" in str(estimate("some-model", 1, 1))


def test_long_text_is_chunked_never_truncated(counter):
    text = "word " * 20_000 + "naïve 日本語 " * 500
    pieces = counter.chunk_text(text, "text-embedding-3-small", 8191)
    assert "".join(pieces) == text and len(pieces) == 3
    assert all(counter.count_text(p, "text-embedding-3-small").tokens <= 8191 for p in pieces)


# -- over HTTP ----------------------------------------------------------------------------------


async def test_embed_texts_chunks_and_batches_on_the_wire(fake_openai, counter):
    long = "flip " * 9000  # 9,000 tokens: two chunks
    texts = [long] + [f"message {i}" for i in range(2100)]
    async with client_for(fake_openai) as client:
        found, tokens = await emb.embed_texts(client, counter, SMALL, texts)
    sizes = [len(r.json["input"]) for r in fake_openai.requests]
    assert sizes == [2048, 2102 - 2048]  # 2,102 inputs: the long text counts twice
    for rec in fake_openai.requests:
        validate_request("CreateEmbeddingRequest", rec.json)
        assert rec.json["encoding_format"] == "base64" and rec.json["dimensions"] == 64
        assert all(counter.count_text(t, SMALL.model).tokens <= 8191 for t in rec.json["input"])
    assert len(found[0]) == 2 and all(len(v) == 1 for v in found[1:])
    assert found[1][0] == embedding_vector("message 0", 64)
    assert tokens > 9000


async def test_a_429_is_retried_by_the_transport(fake_openai, counter):
    fake_openai.enqueue_fault(Fault("status", 429, headers={"Retry-After": "0"}, path="/v1/embeddings"))
    async with client_for(fake_openai) as client:
        found, _ = await emb.embed_texts(client, counter, SMALL, ["hello"])
    assert len(fake_openai.requests) == 2 and found[0][0] == embedding_vector("hello", 64)


async def test_indexer_embeds_the_backlog_resumes_and_follows_deletes(fake_openai, counter, store):
    a = _conversation(store, "how to flip an array", "use reverse()")
    b = _conversation(store, "bake sourdough bread", "45 minutes at 230 C")
    streaming = store.begin_assistant(b, parent_id=store.messages(b)[-1].id, model="m", params={}, endpoint=None)
    seen: list[emb.IndexProgress] = []
    async with client_for(fake_openai) as client:
        indexer = emb.Indexer(client, store, counter, SMALL, batch=3, on_progress=seen.append)
        done = await indexer.run()
        assert (done.done, done.total) == (4, 4)  # the streaming reply waits until it ends
        assert [p.done for p in seen] == [0, 3, 4]
        rows = store.db.execute("SELECT message_id, chunk, model, dimensions, length(vector) FROM message_vectors").fetchall()
        assert len(rows) == 4 and {r[2:] for r in rows} == {("text-embedding-3-small", 64, 256)}
        blob = store.db.execute("SELECT vector FROM message_vectors ORDER BY id LIMIT 1").fetchone()[0]
        assert np.frombuffer(blob, "<f4").tolist() == embedding_vector("how to flip an array", 64)
        # A restart finds nothing left but the reply that has since finished.
        store.finish_assistant(streaming, "enjoy the loaf", "complete")
        again = await emb.Indexer(client, store, counter, SMALL).run()
        assert (again.done, again.total) == (1, 1)
        # Another model (or size) is another space: everything again.
        other = emb.EmbeddingSetup("text-embedding-3-small", 32)
        assert emb.backlog_estimate(store, counter, other).messages == 5
        assert (await emb.Indexer(client, store, counter, other).run()).done == 5
    assert {(s.model, s.dimensions, s.messages) for s in vectors.spaces(store)} == {
        ("text-embedding-3-small", 64, 5), ("text-embedding-3-small", 32, 5)}
    store.delete_conversation(a)
    assert store.db.execute("SELECT count(*) FROM message_vectors").fetchone()[0] == 6  # b's, in both spaces
    soft_delete(store, b)  # the trash: not embedded, not found
    assert vectors.backlog_size(store, SMALL.model, 64) == 0


async def test_an_interrupted_run_resumes_where_it_stopped(fake_openai, counter, store):
    for i in range(5):
        _conversation(store, f"note number {i}")
    _conversation(store, "  \n\t ")  # white space alone: nothing to embed, never in the backlog
    fake_openai.enqueue_fault(Fault("status", 400, body={"error": {"message": "rejected", "type": "invalid_request_error"}},
                                    path="/v1/embeddings", when=lambda body: "note number 2" in body["input"]))
    async with client_for(fake_openai) as client:
        with pytest.raises(Exception, match="rejected"):
            await emb.Indexer(client, store, counter, SMALL, batch=2).run()
        assert vectors.backlog_size(store, SMALL.model, 64) == 3  # the first batch was kept
        again = await emb.Indexer(client, store, counter, SMALL, batch=2).run()
    assert (again.done, again.total) == (3, 3)
    assert vectors.backlog_size(store, SMALL.model, 64) == 0
    assert store.db.execute("SELECT count(DISTINCT message_id) FROM message_vectors").fetchone()[0] == 5


async def test_a_model_of_unknown_size_is_measured_once(fake_openai, counter, store):
    _conversation(store, "hello there")
    setup = emb.EmbeddingSetup("my-local-embedder")
    async with client_for(fake_openai) as client:
        await emb.Indexer(client, store, counter, setup).run()
        rows = await emb.search(store, client, setup, "hello", "meaning")
    assert [r.json["input"] for r in fake_openai.requests][:2] == ["dimensions", ["hello there"]]
    assert vectors.spaces(store)[0].dimensions == 1536 and len(rows) == 1


async def test_a_server_error_stops_the_indexer_with_its_message(fake_openai, counter, store):
    _conversation(store, "hello there")
    fake_openai.enqueue_fault(Fault("status", 400, body={"error": {"message": "bad input", "type": "invalid_request_error"}}, path="/v1/embeddings"))
    async with client_for(fake_openai) as client:
        with pytest.raises(Exception, match="bad input"):
            await emb.Indexer(client, store, counter, SMALL).run()
    assert store.db.execute("SELECT count(*) FROM message_vectors").fetchone()[0] == 0


async def test_search_modes_and_the_paraphrase(fake_openai, counter, store):
    target = _conversation(store, "Flip the order of an array in JavaScript?", "Call arr.reverse() on it.")
    _conversation(store, "How do I bake bread?", "Knead the dough.")
    words_only = _conversation(store, "how do I reverse a list of pages in a PDF", "Use a PDF tool.")
    async with client_for(fake_openai) as client:
        await emb.Indexer(client, store, counter, SMALL).run()
        query = "how do I reverse a list"
        words = await emb.search(store, client, SMALL, query, "words")
        meaning = await emb.search(store, client, SMALL, query, "meaning")
        both = await emb.search(store, client, SMALL, query, "both")
        with pytest.raises(ValueError, match="unknown search mode"):
            await emb.search(store, client, SMALL, query, "vibes")
        with pytest.raises(emb.EmbeddingError, match="embeddings = true"):
            await emb.search(store, None, None, query, "meaning")
    assert [r.id for r in words] == [words_only]
    assert meaning[0].id in (target, words_only) and target in [r.id for r in meaning[:2]]
    assert [r.id for r in both][:2] == [words_only, target]  # found by both, then by meaning
    assert both[0].snippet and "[reverse]" in both[0].snippet  # a words hit keeps its marked excerpt
    assert "Flip the order" in next(r for r in both if r.id == target).snippet
    assert validate_request("CreateEmbeddingRequest", fake_openai.last_request.json) is None


async def test_search_follows_filters_and_deletes(fake_openai, counter, store):
    keep = _conversation(store, "Flip the order of an array")
    gone = _conversation(store, "reverse a list in place")
    archived = _conversation(store, "invert an array")
    async with client_for(fake_openai) as client:
        await emb.Indexer(client, store, counter, SMALL).run()
        index = emb.index_for(store, SMALL)
        soft_delete(store, gone)
        from chat_tui.store.history import set_archived
        set_archived(store, archived, True)
        rows = await emb.search(store, client, SMALL, "reverse list", "meaning", index=index)
        assert [r.id for r in rows] == [keep]
        rows = await emb.search(store, client, SMALL, "reverse list", "meaning", index=index,
                                filters=HistoryFilter(include_archived=True))
        assert {r.id for r in rows} == {keep, archived}


def test_vector_index_grows_and_ranks_by_best_chunk(store):
    cids = [_conversation(store, f"m{i}") for i in range(3)]
    mids = [store.messages(c)[0].id for c in cids]
    rng = np.random.default_rng(1)
    base = rng.standard_normal((3, 8)).astype("<f4")
    vectors.save_vectors(store, "m", [(mids[0], 0, base[0].tobytes()), (mids[0], 1, base[1].tobytes()),
                                      (mids[1], 0, base[2].tobytes())])
    index = emb.VectorIndex("m", 8)
    assert index.refresh(store) == 3 and index.refresh(store) == 0
    vectors.save_vectors(store, "m", [(mids[2], 0, (base[1] * 2).tobytes())])  # same direction as a chunk of 0
    assert index.refresh(store) == 1 and len(index) == 4
    found = index.nearest(base[1], 3)
    assert {mid for mid, _ in found[:2]} == {mids[0], mids[2]} and found[0][1] == pytest.approx(1.0, abs=1e-5)
    assert len(found) == 3  # each message once
    with pytest.raises(emb.EmbeddingError, match="8"):
        index.nearest([1.0, 2.0], 1)


def test_a_bad_vector_is_refused_and_nothing_is_written(store):
    cid = _conversation(store, "x")
    mid = store.messages(cid)[0].id
    with pytest.raises(ValueError, match="float32"):
        vectors.save_vectors(store, "m", [(mid, 0, b"\x00" * 8), (mid, 1, b"\x00" * 7)])
    assert store.db.execute("SELECT count(*) FROM message_vectors").fetchone()[0] == 0


# -- quality --------------------------------------------------------------------------------------


async def test_recall_at_5_on_the_labelled_set(fake_openai, counter, store, capsys):
    """recall@5 of the paraphrase queries for words only, meaning only and both."""
    data = load()
    assert len(data["conversations"]) >= 300 and len(data["queries"]) >= 40
    ids = save_set(store, data)
    targets = {q["query"]: ids[q["target"]] for q in data["queries"]}
    setup = emb.EmbeddingSetup("text-embedding-3-small")
    ranked: dict[str, dict[str, list[int]]] = {mode: {} for mode in emb.SEARCH_MODES}
    async with client_for(fake_openai) as client:
        await emb.Indexer(client, store, counter, setup).run()
        index = emb.index_for(store, setup)
        for query in targets:
            for mode in emb.SEARCH_MODES:
                rows = await emb.search(store, client, setup, query, mode, index=index, limit=5)
                ranked[mode][query] = [r.id for r in rows]
    recall = {mode: recall_at(ranked[mode], targets) for mode in emb.SEARCH_MODES}
    with capsys.disabled():
        print(f"\nrecall@5 over {len(targets)} paraphrase queries, {len(ids)} conversations (fake server):"
              f" words {recall['words']:.2f}, meaning {recall['meaning']:.2f}, both {recall['both']:.2f}")
    assert recall["both"] > recall["words"]
    assert recall["meaning"] >= 0.8 and recall["both"] >= 0.8
