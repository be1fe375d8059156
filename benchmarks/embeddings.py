#!/usr/bin/env python3
"""Search by meaning at scale: backlog throughput and query time.

    python benchmarks/embeddings.py [--backlog 3000] [--sizes 10000,100000] [--dims 1536] [--runs 15]

1. Backlog: a database of --backlog messages (benchmarks/history.py's generator: 10 per
   conversation, Zipf vocabulary) is embedded by `services.embeddings.Indexer` against the fake
   OpenAI server (tests/fake_openai.py) on a loopback socket, at 256 and at --dims numbers per
   vector. Messages per second, end to end: reading the backlog, tiktoken chunking, HTTP (base64),
   decoding, and the writes. The fake computes its vectors in pure Python, so at 1,536 numbers
   it is the bottleneck; the 256 row shows the client's side more.
2. Query: for each --sizes N, a database of N messages with random unit vectors of --dims
   numbers (text-embedding-3-small's 1,536 by default) stored as the indexer stores them. Times
   (median and p90 of --runs, the first discarded) of what a search does after the query's own
   embedding: `meaning_hits` (the numpy dot product over the matrix, top 100 conversations, the
   live-row check) plus the rows shown (`conversation_rows`); and the hybrid merge with the
   full-text ranking. Also the one-off load of the matrix from SQLite (which writes the vector
   cache beside the database), and what a new process (a CLI search) pays: mapping that cache
   and answering its first query, timed inside the process.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import FakeOpenAI
from history import generate

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Endpoint
from chat_tui.core.tokens import TokenCounter
from chat_tui.services import embeddings as emb
from chat_tui.store import Store
from chat_tui.store.history import conversation_rows

MODEL = "text-embedding-3-small"


def backlog(workdir: Path, messages: int, dims: int) -> tuple[float, int]:
    path = workdir / f"backlog-{dims}.db"
    generate(path, max(1, messages // 10))
    counter = TokenCounter(workdir / "tiktoken")
    counter.preload(MODEL)

    async def go() -> tuple[float, int]:
        with FakeOpenAI() as fake, Store(path) as store:
            ep = Endpoint(name="bench", base_url=fake.base_url, api_key="sk-bench")
            async with OpenAIClient(ep) as client:
                indexer = emb.Indexer(client, store, counter, emb.EmbeddingSetup(MODEL, dims))
                started = time.perf_counter()
                progress = await indexer.run()
                return time.perf_counter() - started, progress.done

    return asyncio.run(go())


def vectors_db(path: Path, n: int, dims: int, seed: int = 3) -> None:
    """N messages (benchmarks/history.py) and a random unit vector for each."""
    generate(path, max(1, n // 10))
    rng = np.random.default_rng(seed)
    with Store(path) as store:
        ids = [r[0] for r in store.db.execute("SELECT id FROM messages ORDER BY id")]
        conn = store.db.conn
        conn.execute("BEGIN IMMEDIATE")
        for start in range(0, len(ids), 5000):
            part = ids[start:start + 5000]
            block = rng.standard_normal((len(part), dims), dtype=np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            conn.executemany("INSERT INTO message_vectors (message_id, chunk, model, dimensions, vector)"
                             " VALUES (?, 0, ?, ?, ?)",
                             [(mid, MODEL, dims, row.astype("<f4").tobytes()) for mid, row in zip(part, block)])
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def timed(fn, runs: int) -> tuple[float, float]:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.9))]


def query(workdir: Path, n: int, dims: int, runs: int) -> list[tuple[str, float, float]]:
    path = workdir / f"vectors-{n}.db"
    vectors_db(path, n, dims)
    rng = np.random.default_rng(11)
    out = []
    setup = emb.EmbeddingSetup(MODEL, dims)
    with Store(path) as store:
        index = emb.index_for(store, setup)
        t = time.perf_counter()
        loaded = index.refresh(store)
        out.append((f"first load from SQLite ({loaded:,} x {dims}), cached", (time.perf_counter() - t) * 1000, float("nan")))
        q = rng.standard_normal(dims).astype(np.float32)

        def meaning() -> None:
            hits = emb.meaning_hits(store, index, q)
            conversation_rows(store, hits[:50])

        def hybrid() -> None:
            words = emb.words_hits(store, "kestrel answer")
            hits = emb.merge_hits(words, emb.meaning_hits(store, index, q))
            conversation_rows(store, hits[:50], query="kestrel answer")

        out.append(("meaning: top 100 + 50 rows", *timed(meaning, runs)))
        out.append(("hybrid (words 'kestrel answer'): + RRF", *timed(hybrid, runs)))
        out.append(("dot product alone (index.nearest, k=400)", *timed(lambda: index.nearest(q, 400), runs)))
    out.extend(new_process(path, dims, runs))
    return out


NEW_PROCESS = """
import sys, time
import numpy as np
from chat_tui.services import embeddings as emb
from chat_tui.store import Store
from chat_tui.store.history import conversation_rows
t0 = time.perf_counter()
with Store(sys.argv[1]) as store:
    index = emb.index_for(store, emb.EmbeddingSetup(sys.argv[2], int(sys.argv[3])))
    q = np.random.default_rng(int(sys.argv[4])).standard_normal(int(sys.argv[3])).astype(np.float32)
    t1 = time.perf_counter()
    index.refresh(store)
    t2 = time.perf_counter()
    conversation_rows(store, emb.meaning_hits(store, index, q)[:50])
    t3 = time.perf_counter()
print(index.mapped, (t2 - t1) * 1000, (t3 - t1) * 1000)
"""


def new_process(path: Path, dims: int, runs: int) -> list[tuple[str, float, float]]:
    """What a command run pays (`chat-tui history search --semantic`): a new process opens the
    index (maps the cache the first load wrote) and answers one query."""
    opened, answered = [], []
    for seed in range(runs + 1):
        done = subprocess.run([sys.executable, "-c", NEW_PROCESS, str(path), MODEL, str(dims), str(seed)],
                              capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
        if int(done[0]) == 0:
            raise SystemExit("the new process did not map the cache")
        if seed:  # the first run warms the page cache, as an earlier search would have
            opened.append(float(done[1]))
            answered.append(float(done[2]))

    def stats(xs: list[float]) -> tuple[float, float]:
        xs = sorted(xs)
        return statistics.median(xs), xs[min(len(xs) - 1, int(len(xs) * 0.9))]

    return [("new process: map the cache", *stats(opened)),
            ("new process: map + meaning top 100 + 50 rows", *stats(answered))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backlog", type=int, default=3000, help="messages to embed (0: skip)")
    ap.add_argument("--sizes", default="10000,100000", help="stored messages for the query timings")
    ap.add_argument("--dims", type=int, default=1536)
    ap.add_argument("--runs", type=int, default=15)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="chat-tui-embeddings-") as tmp:
        workdir = Path(tmp)
        if a.backlog:
            print(f"\nbacklog throughput against the fake server ({a.backlog:,} messages, {MODEL}, base64)")
            for dims in sorted({256, a.dims}):
                seconds, done = backlog(workdir, a.backlog, dims)
                print(f"  {dims:>5} dims: {done:,} messages in {seconds:.1f} s = {done / seconds:,.0f} messages/s")
        for n in (int(x) for x in a.sizes.split(",") if x):
            print(f"\nquery after the query's embedding, {n:,} messages x {a.dims} dims"
                  f" (median / p90 of {a.runs} runs, ms)")
            for name, median, p90 in query(workdir, n, a.dims, a.runs):
                print(f"  {name:<46} {median:8.1f} {p90:8.1f}")


if __name__ == "__main__":
    main()
