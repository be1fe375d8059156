"""The `images` table: every generated, edited or varied image (bytes stored by sha256 with the
attachments), and finding them by prompt through `images_fts`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chat_tui.store.blobs import BLOB_DIR
from chat_tui.store.encoding import params_json
from chat_tui.store.fts import fts_query
from chat_tui.store.schema import IMAGE_KINDS

if TYPE_CHECKING:
    from chat_tui.store.db import Store

def blob_root(data_dir: Path) -> Path:
    return data_dir / BLOB_DIR


@dataclass(frozen=True, slots=True)
class ImageRecord:
    id: int
    created_at: str
    kind: str
    prompt: str | None
    revised_prompt: str | None
    model: str | None
    params: str
    sha256: str
    mime: str | None
    width: int | None
    height: int | None
    cost: float | None
    conversation_id: int | None
    message_id: int | None
    endpoint: str | None


def add_image(store: "Store", kind: str, sha256: str, *, prompt: str | None = None, revised_prompt: str | None = None,
              model: str | None = None, params: dict[str, Any] | None = None, mime: str | None = None,
              width: int | None = None, height: int | None = None, cost: float | None = None,
              conversation_id: int | None = None, message_id: int | None = None, endpoint: str | None = None) -> int:
    if kind not in IMAGE_KINDS:
        raise ValueError(f"kind must be one of {IMAGE_KINDS}, not {kind!r}")
    with store._write() as db:
        cur = db.execute(
            "INSERT INTO images (kind, prompt, revised_prompt, model, params, sha256, mime, width, height, cost,"
            " conversation_id, message_id, endpoint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, prompt, revised_prompt, model, params_json(params), sha256, mime, width, height, cost,
             conversation_id, message_id, endpoint),
        )
        return int(cur.lastrowid)


def get_image(store: "Store", image_id: int) -> ImageRecord | None:
    rows = store._rows("SELECT * FROM images WHERE id = ?", (image_id,))
    return ImageRecord(**rows[0]) if rows else None


def recent_images(store: "Store", limit: int = 50, offset: int = 0) -> list[ImageRecord]:
    rows = store._rows("SELECT * FROM images ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset))
    return [ImageRecord(**row) for row in rows]


def search_images(store: "Store", query: str, limit: int = 50) -> list[ImageRecord]:
    """Images whose prompt or revised prompt matches every word of `query` (the history
    search's grammar), best first."""
    expression = fts_query(query)
    if expression is None:
        return []
    rows = store._rows(
        "SELECT i.* FROM images_fts JOIN images i ON i.id = images_fts.rowid"
        " WHERE images_fts MATCH ? ORDER BY images_fts.rank, i.id DESC LIMIT ?",
        (expression, limit))
    return [ImageRecord(**row) for row in rows]


def images_by_message(store: "Store", conversation_id: int) -> dict[int, list[ImageRecord]]:
    """A conversation's images made by `/image`, per the reply that made them (oldest first):
    one query, through `images_by_conversation`."""
    rows = store._rows("SELECT * FROM images WHERE conversation_id = ? AND message_id IS NOT NULL ORDER BY id",
                       (conversation_id,))
    out: dict[int, list[ImageRecord]] = {}
    for row in rows:
        out.setdefault(row["message_id"], []).append(ImageRecord(**row))
    return out
