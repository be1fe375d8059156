"""Message embeddings (``message_vectors``, schema version 8): the backlog, short writes, and
reads for the in-memory index.

A "space" is a model and a vector length: vectors of different spaces are never compared, and
the backlog of a space is every finished, non-empty message of a live conversation without a
row there, so an interrupted indexer resumes where it stopped and a new model starts over.
Functions use the Store's connection: call them on the thread that owns it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat_tui.store.db import Store

# Messages worth embedding: finished, with more than white space, in a conversation not in the trash.
_PENDING = """
FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE m.status != 'streaming' AND length(trim(m.content, ' ' || char(9, 10, 13))) > 0
  AND c.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM message_vectors v
                  WHERE v.message_id = m.id AND v.model = :model AND v.dimensions = :dimensions)
"""


@dataclass(frozen=True)
class Space:
    model: str
    dimensions: int
    vectors: int  # rows
    messages: int


def backlog(store: Store, model: str, dimensions: int, *, limit: int = 256, after: int = 0) -> list[tuple[int, str]]:
    """Up to `limit` (message id, text) not yet embedded in the space, oldest first, ids above
    `after` (so a message that cannot be embedded is not asked for again in the same run)."""
    sql = f"SELECT m.id, m.content {_PENDING} AND m.id > :after ORDER BY m.id LIMIT :limit"
    return [(r[0], r[1]) for r in store.db.execute(
        sql, {"model": model, "dimensions": dimensions, "after": after, "limit": limit})]


def backlog_size(store: Store, model: str, dimensions: int) -> int:
    return store.db.execute(f"SELECT count(*) {_PENDING}", {"model": model, "dimensions": dimensions}).fetchone()[0]


def backlog_texts(store: Store, model: str, dimensions: int) -> Iterable[str]:
    """The text of every message in the backlog (for a token estimate), streamed."""
    cursor = store.db.execute(f"SELECT m.content {_PENDING}", {"model": model, "dimensions": dimensions})
    for (text,) in cursor:
        yield text


def save_vectors(store: Store, model: str, rows: Sequence[tuple[int, int, bytes]]) -> int:
    """Store (message id, chunk, float32 bytes) rows in one short transaction; a message deleted
    since it was read is skipped. Returns the rows written."""
    written = 0
    with store.transaction() as db:
        for message_id, chunk, blob in rows:
            if len(blob) % 4 or not blob:
                raise ValueError(f"message {message_id}: a vector is a whole number of float32s")
            cur = db.execute(
                "INSERT OR REPLACE INTO message_vectors (message_id, chunk, model, dimensions, vector)"
                " SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM messages WHERE id = ?)",
                (message_id, chunk, model, len(blob) // 4, blob, message_id))
            written += cur.rowcount
    return written


def read_vectors(store: Store, model: str, dimensions: int, *, after: int = 0,
                 limit: int = 50_000) -> list[tuple[int, int, bytes]]:
    """(row id, message id, float32 bytes) of the space with row ids above `after`, in id order."""
    return [(r[0], r[1], r[2]) for r in store.db.execute(
        # Walk the table in id order (`+`: not through the unique index, which would make SQLite
        # sort every blob it reads; see docs/performance.md).
        "SELECT id, message_id, vector FROM message_vectors WHERE id > ? AND +model = ? AND +dimensions = ?"
        " ORDER BY id LIMIT ?", (after, model, dimensions, limit))]


def live(store: Store, message_ids: Sequence[int]) -> dict[int, int]:
    """{message id: conversation id} for those of `message_ids` that still exist, outside the
    trash (the index may hold vectors of messages deleted since it loaded)."""
    found: dict[int, int] = {}
    ids = list(dict.fromkeys(message_ids))
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        marks = ",".join("?" * len(part))
        found.update(store.db.execute(
            f"SELECT m.id, m.conversation_id FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            f" WHERE m.id IN ({marks}) AND c.deleted_at IS NULL", part).fetchall())
    return found


def spaces(store: Store) -> list[Space]:
    """The model and size of every set of stored vectors, largest first."""
    return [Space(*r) for r in store.db.execute(
        "SELECT model, dimensions, count(*), count(DISTINCT message_id) FROM message_vectors"
        " GROUP BY model, dimensions ORDER BY count(*) DESC")]


def drop_space(store: Store, model: str, dimensions: int) -> int:
    """Delete a space's vectors (after a model change, to reclaim the room), and their cache."""
    with store.transaction() as db:
        deleted = db.execute("DELETE FROM message_vectors WHERE model = ? AND dimensions = ?", (model, dimensions)).rowcount
    from chat_tui.store.vector_cache import VectorCache  # numpy: only where vectors are used

    cache = VectorCache.beside(store, model, dimensions)
    if cache is not None:
        cache.drop()
    return deleted
