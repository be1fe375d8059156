#!/usr/bin/env python3
"""History browser at scale: listing, filters, search and import timings.

    python benchmarks/history.py [-n 100000] [--runs 15] [--db FILE] [--import-count 10000]

Builds (or reuses, with --db pointing at an existing file of the same -n) a database of N
conversations and 10·N messages (user/assistant turns, some regenerated branches, a
model, endpoint and request parameters per reply, text drawn from a Zipf vocabulary),
inserted with bulk SQL in one transaction with the FTS triggers on. Then it times
`history_page` and `count_history` (median and p90 of --runs runs, the first run
discarded) for: the first page, a later page, filters, a rare word, a word in about 1% of
messages, a word in nearly every message, two common words, a prefix, and a common word
with a selective filter. Last, it imports a generated ChatGPT `conversations.json` of
--import-count conversations into a fresh database in a child process and reports wall
time, CPU time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chat_tui.store import Store  # noqa: E402
from chat_tui.store.history import HistoryFilter, count_history, history_page  # noqa: E402

MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-4.1", "o3-mini", "llama3.2", "gpt-3.5-turbo"]
MODEL_WEIGHTS = [40, 25, 15, 10, 9, 1]  # gpt-3.5-turbo: a selective filter
ENDPOINTS = ["openai", "local", "azure"]
TEMPERATURES = [0.0, 0.2, 0.7, 1.0, 1.2, 1.5]
COMMON = "answer"  # in ~95% of messages
MEDIUM = "kestrel"  # in ~1% of messages
RARE = "zanzibar"  # in ~20 messages
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def stamp(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def vocabulary(rng: random.Random, size: int = 20000) -> tuple[list[str], list[float]]:
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qu", "lin", "dor", "bex", "tra"]
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    words = sorted(words)
    rng.shuffle(words)
    return words, list(accumulate(1 / (i + 1) for i in range(size)))


def generate(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    words, cum = vocabulary(rng)
    rare_at = set(rng.sample(range(10 * n), 20))
    t0 = time.perf_counter()
    with Store(path) as store:
        conn = store.db.conn
        conn.execute("BEGIN IMMEDIATE")
        conv_rows, msg_rows = [], []
        mid = 0
        span = 2 * 365 * 24 * 3600
        for cid in range(1, n + 1):
            created = START + timedelta(seconds=span * (cid - 1) / n)
            model = rng.choices(MODELS, MODEL_WEIGHTS)[0]
            endpoint = rng.choice(ENDPOINTS)
            temperature = rng.choice(TEMPERATURES)
            t = created
            parent = None
            count = 10
            k = 0
            first_text = None
            while k < count:
                role = "user" if k % 2 == 0 else "assistant"
                size = rng.randint(8, 40)
                text = rng.choices(words, cum_weights=cum, k=size)
                if rng.random() < 0.95:
                    text.insert(rng.randrange(size), COMMON)
                if rng.random() < 0.01:
                    text.insert(rng.randrange(size), MEDIUM)
                mid += 1
                if mid - 1 in rare_at:
                    text.insert(0, RARE)
                content = " ".join(text)
                first_text = first_text or content
                t += timedelta(seconds=rng.randint(5, 90))
                s = stamp(t)
                if role == "assistant":
                    params = json.dumps({"model": model, "temperature": temperature, "stream": True})
                    ptok, ctok = 20 * k + size, size * 2
                    msg_rows.append((mid, cid, parent, role, content, s, s, model, params, endpoint,
                                     "complete", "stop", ptok, ctok, ptok, ctok, 1, 0.3, 2.0))
                    # every 5th conversation: a regenerated sibling of the first answer
                    if k == 1 and cid % 5 == 0:
                        mid += 1
                        msg_rows.append((mid, cid, parent, role, content[::-1], s, s, model, params,
                                         endpoint, "complete", "stop", ptok, ctok, ptok, ctok, 1, 0.3, 2.0))
                        count -= 1
                else:
                    msg_rows.append((mid, cid, parent, role, content, s, s, None, None, None,
                                     "complete", None, None, None, None, None, None, None, None))
                parent = mid
                k += 1
            conv_rows.append((cid, " ".join(first_text.split()[:6]), stamp(created), stamp(t), model,
                              json.dumps({"temperature": temperature}), endpoint, int(cid % 500 == 0)))
            if cid % 5000 == 0 or cid == n:
                conn.executemany(
                    "INSERT INTO conversations (id, title, created_at, updated_at, model, params,"
                    " endpoint, pinned) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", conv_rows)
                conn.executemany(
                    "INSERT INTO messages (id, conversation_id, parent_id, role, content, created_at,"
                    " updated_at, model, params, endpoint, status, finish_reason, prompt_tokens,"
                    " completion_tokens, prompt_tokens_local, completion_tokens_local,"
                    " tokens_exact, ttft, duration) VALUES"
                    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", msg_rows)
                conv_rows, msg_rows = [], []
                print(f"  generated {cid:,}/{n:,} conversations, {mid:,} messages"
                      f" ({time.perf_counter() - t0:.0f}s)", file=sys.stderr, flush=True)
        conn.execute("COMMIT")
        # No ANALYZE: users' files have no statistics either, so the plans measured are theirs.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size / 1e6
    print(f"generated {n:,} conversations / {mid:,} messages in {time.perf_counter() - t0:.1f}s"
          f" ({size:.0f} MB, FTS index filled by the triggers)")


def measure(fn, runs: int) -> tuple[float, float, object]:
    result = fn()  # warm-up, not counted
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.9))], result


def bench_queries(path: Path, runs: int) -> list[tuple[str, float, float, str]]:
    store = Store(path)
    since, until = "2024-06-01", "2025-05-31"
    hot = HistoryFilter(model="gpt-4o", since=since, until=until, params=(("temperature", ">", 1.0),))
    rare_model = HistoryFilter(model="gpt-3.5-turbo")
    year = HistoryFilter(since=since, until=until)
    words, _ = vocabulary(random.Random(7))  # as generate() drew it: words[0] is the most frequent
    top, mid1, mid2 = words[0], words[50], words[60]
    cases = [
        ("first page, no query", lambda: history_page(store, filters=HistoryFilter())),
        ("page 21 (offset 1000), no query", lambda: history_page(store, filters=HistoryFilter(), offset=1000)),
        ("filters: model + dates + temperature>1", lambda: history_page(store, filters=hot)),
        ("filter: rare model (1%)", lambda: history_page(store, filters=rare_model)),
        (f"rare word ({RARE})", lambda: history_page(store, query=RARE)),
        (f"1% word ({MEDIUM})", lambda: history_page(store, query=MEDIUM)),
        (f"common word ({COMMON}, ~95%)", lambda: history_page(store, query=COMMON)),
        ("common word, page 5 (offset 200)", lambda: history_page(store, query=COMMON, offset=200)),
        (f"two common words ({COMMON} {top})", lambda: history_page(store, query=f"{COMMON} {top}")),
        (f"two 5% words ({mid1} {mid2})", lambda: history_page(store, query=f"{mid1} {mid2}")),
        (f"prefix, 3 letters ({top[:3]}*)", lambda: history_page(store, query=f"{top[:3]}*")),
        (f"prefix, 4 letters ({top[:4]}*)", lambda: history_page(store, query=f"{top[:4]}*")),
        (f"prefix, 5 letters ({top[:5]}*)", lambda: history_page(store, query=f"{top[:5]}*")),
        ("common word + filters", lambda: history_page(store, query=COMMON, filters=hot)),
        ("common word + a year, not the newest", lambda: history_page(store, query=COMMON, filters=year)),
        ("rare word + filters", lambda: history_page(store, query=RARE, filters=hot)),
        ("common word + rare model", lambda: history_page(store, query=COMMON, filters=rare_model)),
        ("1% word + filters", lambda: history_page(store, query=MEDIUM, filters=hot)),
        ("count, no query (cap 10k)", lambda: count_history(store)),
        ("count, filters", lambda: count_history(store, filters=hot)),
        ("count, rare word", lambda: count_history(store, RARE)),
        ("count, common word (cap 10k)", lambda: count_history(store, COMMON)),
        ("count, common word (cap 1k)", lambda: count_history(store, COMMON, cap=1000)),
        ("count, common word + filters", lambda: count_history(store, COMMON, filters=hot)),
        ("count, common word + rare model", lambda: count_history(store, COMMON, filters=rare_model)),
        ("count, 1% word + filters", lambda: count_history(store, MEDIUM, filters=hot)),
    ]
    out = []
    for name, fn in cases:
        median, p90, result = measure(fn, runs)
        size = f"{len(result)} rows" if isinstance(result, list) else str(result)
        out.append((name, median, p90, size))
        print(f"  {name:<42} {median:8.1f} ms  p90 {p90:8.1f} ms  {size}", file=sys.stderr, flush=True)
    store.close()
    return out


def chatgpt_export(count: int, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    words, cum = vocabulary(rng, 5000)
    base = START.timestamp()
    conversations = []
    for c in range(count):
        t = base + c * 600.0
        mapping = {"root": {"id": "root", "message": None, "parent": None, "children": []}}

        def add(node_id, parent, role, text, hidden=False, slug=None):
            nonlocal t
            t += rng.randint(5, 60)
            metadata = {"is_visually_hidden_from_conversation": True} if hidden else {}
            if slug:
                metadata["model_slug"] = slug
            mapping[node_id] = {
                "id": node_id, "parent": parent, "children": [],
                "message": {"id": node_id, "author": {"role": role, "name": None, "metadata": {}},
                            "create_time": t, "update_time": None,
                            "content": {"content_type": "text", "parts": [text]},
                            "status": "finished_successfully", "end_turn": True, "weight": 1.0,
                            "metadata": metadata, "recipient": "all"},
            }
            mapping[parent]["children"].append(node_id)
            return node_id

        parent = add(f"c{c}-sys", "root", "system", "", hidden=True)
        for k in range(10):
            role = "user" if k % 2 == 0 else "assistant"
            text = " ".join(rng.choices(words, cum_weights=cum, k=rng.randint(10, 60)))
            node = add(f"c{c}-m{k}", parent, role, text, slug="gpt-4o" if role == "assistant" else None)
            if role == "assistant" and k == 1 and c % 4 == 0:
                add(f"c{c}-m{k}b", parent, role, text[::-1], slug="gpt-4o")
            parent = node
        conversations.append({
            "title": f"Conversation {c}", "create_time": base + c * 600.0, "update_time": t,
            "mapping": mapping, "current_node": parent, "conversation_id": f"conv-{c:06d}",
            "id": f"conv-{c:06d}", "is_archived": False, "default_model_slug": "gpt-4o",
        })
    return conversations


IMPORT_CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[3])
from chat_tui.store import Store
from chat_tui.store.importer import import_file
t0, c0 = time.perf_counter(), time.process_time()
with Store(sys.argv[1]) as store:
    report = import_file(store, sys.argv[2])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    t1 = time.perf_counter()
    again = import_file(store, sys.argv[2])
    wall2 = time.perf_counter() - t1
print(json.dumps({"imported": report.imported, "messages": report.messages, "wall": wall, "cpu": cpu,
                  "again_imported": again.imported, "again_wall": wall2,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bench_import(count: int, workdir: Path) -> dict:
    t = time.perf_counter()
    export = workdir / "conversations.json"
    export.write_text(json.dumps(chatgpt_export(count)))
    print(f"  wrote {export.stat().st_size / 1e6:.0f} MB ChatGPT export of {count:,} conversations"
          f" ({time.perf_counter() - t:.1f}s)", file=sys.stderr, flush=True)
    db = workdir / "import.db"
    out = subprocess.run([sys.executable, "-c", IMPORT_CHILD, str(db), str(export), str(ROOT)],
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    result["file_mb"] = export.stat().st_size / 1e6
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=100_000, help="conversations (messages: 10 per conversation)")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--db", help="database file to build or reuse (default: a temporary one)")
    ap.add_argument("--import-count", type=int, default=10_000)
    ap.add_argument("--skip-import", action="store_true")
    a = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="chat-tui-history-"))
    try:
        run(a, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # a generated database is ~700 MB


def run(a: argparse.Namespace, workdir: Path) -> None:
    path = Path(a.db) if a.db else workdir / "history.db"
    if not path.exists():
        generate(path, a.n)
    else:
        print(f"reusing {path}", file=sys.stderr)
    rows = bench_queries(path, a.runs)
    print(f"\nhistory_page / count_history on {a.n:,} conversations, {10 * a.n:,} messages"
          f" (median and p90 of {a.runs} runs, page size 50)")
    print(f"{'case':<42} {'median':>9} {'p90':>9}  result")
    for name, median, p90, size in rows:
        print(f"{name:<42} {median:7.1f}ms {p90:7.1f}ms  {size}")
    if not a.skip_import:
        r = bench_import(a.import_count, workdir)
        print(f"\nimport of a ChatGPT export: {a.import_count:,} conversations ({r['file_mb']:.0f} MB),"
              f" {r['messages']:,} messages imported: {r['wall']:.1f}s wall, {r['cpu']:.1f}s CPU,"
              f" peak RSS {r['rss_mb']:.0f} MB; the same file again: {r['again_imported']} imported"
              f" in {r['again_wall']:.1f}s")


if __name__ == "__main__":
    main()
