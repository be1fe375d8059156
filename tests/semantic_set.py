"""The labelled set of tests/data/semantic_search.json, saved into a Store, and recall@k."""

from __future__ import annotations

import json
from pathlib import Path

from chat_tui.store import Store

DATA = Path(__file__).parent / "data" / "semantic_search.json"


def load(size: int | None = None) -> dict:
    """The set; `size`: only that many conversations, every query's target and then the others
    in file order (the same subset every time)."""
    data = json.loads(DATA.read_text(encoding="utf-8"))
    if size is not None:
        targets = {q["target"] for q in data["queries"]}
        kept = [c for c in data["conversations"] if c["key"] in targets]
        kept += [c for c in data["conversations"] if c["key"] not in targets][: max(0, size - len(kept))]
        data["conversations"] = kept
    return data


def save_set(store: Store, data: dict | None = None) -> dict[str, int]:
    """Saves every conversation (a user message and its answer); {key: conversation id}."""
    data = data or load()
    ids: dict[str, int] = {}
    for conv in data["conversations"]:
        cid = store.create_conversation(title=None, model="gpt-4o-mini")
        parent = None
        for i, text in enumerate(conv["messages"]):
            parent = store.add_message(cid, "user" if i % 2 == 0 else "assistant", text, parent_id=parent)
        ids[conv["key"]] = cid
    return ids


def recall_at(ranked: dict[str, list[int]], targets: dict[str, int], k: int = 5) -> float:
    """Share of queries whose target conversation is among the first k."""
    return sum(targets[q] in ranked[q][:k] for q in targets) / len(targets)
