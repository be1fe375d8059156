#!/usr/bin/env python3
"""Prompt recall at scale: ↑'s page of earlier prompts and Ctrl+R's search, on 50,000
conversations of a prompt and an answer each (100,000 messages).

    python benchmarks/prompt_recall.py [DB]   (made in a temporary folder when not given)
"""

from __future__ import annotations

import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from chat_tui.store import Store
from chat_tui.store.prompts import earlier_prompts, search_prompts

WORDS = ("alpha beta gamma delta list reverse python sort tokenizer sqlite index query async stream"
         " answer model prompt token cost budget").split()


def make(path: Path, conversations: int = 50_000) -> None:
    Store(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    rnd = random.Random(1)
    conn.execute("BEGIN")
    mid = 0
    for cid in range(1, conversations + 1):
        conn.execute("INSERT INTO conversations (id, title) VALUES (?, 't')", (cid,))
        text = " ".join(rnd.choice(WORDS) for _ in range(25))
        conn.execute("INSERT INTO messages (id, conversation_id, role, content) VALUES (?, ?, 'user', ?)",
                     (mid + 1, cid, text))
        conn.execute("INSERT INTO messages (id, conversation_id, parent_id, role, content)"
                     " VALUES (?, ?, ?, 'assistant', ?)", (mid + 2, cid, mid + 1, text * 4))
        mid += 2
    conn.execute("COMMIT")
    conn.close()


def median_ms(run, times: int = 7) -> float:
    taken = []
    for _ in range(times):
        start = time.perf_counter()
        run()
        taken.append(time.perf_counter() - start)
    return sorted(taken)[times // 2] * 1000


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "recall.db"
    if not path.exists():
        make(path)
    with Store(path) as store:
        print(f"↑ page of 100: {median_ms(lambda: earlier_prompts(store, limit=100)):.2f} ms")
        for query in ("", "sort", "reverse python", "tokenizer sqlite cost", "zzzz-not-there"):
            print(f"Ctrl+R {query!r:24} {median_ms(lambda: search_prompts(store, query, limit=50)):.1f} ms")


if __name__ == "__main__":
    main()
