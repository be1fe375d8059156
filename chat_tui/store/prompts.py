"""Earlier prompts, for recall in the prompt box (↑) and its reverse search (Ctrl+R).

A prompt is a `user` message of a chat conversation that is not in the trash: what was typed in
the chat prompt, compare mode's prompts included (their conversations are chats). Completion and
edit documents are left out: their `user` rows are a document's text or an instruction, not
something typed in this box. Both reads go newest first by message id, walk the rows with a
cursor and stop as soon as they have enough distinct texts, so the common case reads a few
hundred rows whatever the size of the file. Functions use the Store's connection: call them on
the thread that owns it.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from chat_tui.store.errors import QueryCancelled, from_sqlite

if TYPE_CHECKING:
    from chat_tui.store.db import Store

_PROMPTS = """
SELECT m.id, m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE m.role = 'user' AND c.kind = 'chat' AND c.deleted_at IS NULL AND m.content != ''
"""


def earlier_prompts(store: Store, *, before: int | None = None, limit: int = 100,
                    skip: frozenset[str] | set[str] = frozenset()) -> list[tuple[int, str]]:
    """Up to `limit` (message id, text) of distinct prompts sent before message `before` (all,
    when None), newest first; texts in `skip` (already shown) are left out."""
    sql = _PROMPTS + (" AND m.id < ?" if before is not None else "") + " ORDER BY m.id DESC"
    return _distinct(store, sql, [before] if before is not None else [], limit, set(skip))


def search_prompts(store: Store, query: str, *, limit: int = 50) -> list[tuple[int, str]]:
    """Distinct prompts containing every word of `query` (case-insensitive for ASCII letters,
    as SQLite's `lower`), newest first; no words: the newest prompts."""
    words = [w.lower() for w in query.split()]
    sql = _PROMPTS + "".join(" AND instr(lower(m.content), ?) > 0" for _ in words) + " ORDER BY m.id DESC"
    return _distinct(store, sql, words, limit, set())


def _distinct(store: Store, sql: str, params: list, limit: int, seen: set[str]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    if limit <= 0:
        return found
    try:
        with store._cancellable():
            for mid, text in store.db.execute(sql, params):
                if text in seen:
                    continue
                seen.add(text)
                found.append((mid, text))
                if len(found) >= limit:
                    break
    except QueryCancelled:
        raise
    except sqlite3.Error as exc:
        raise from_sqlite(exc, store.path, "read") from exc
    return found
