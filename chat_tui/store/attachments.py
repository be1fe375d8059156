"""Files that come with messages (images, audio, documents): the bytes stored once, by their
sha256, under the data directory; the `attachments` table says which message has which."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chat_tui.store.blobs import BLOB_DIR, blob_path, blob_root_beside, read_blob, save_blob

if TYPE_CHECKING:
    from chat_tui.store.db import Store

__all__ = ["BLOB_DIR", "KINDS", "Attachment", "add_attachment", "attachments", "blob_path", "read_blob", "save_blob",
           "store_blob_root"]

KINDS = ("image", "audio", "file")


@dataclass(frozen=True, slots=True)
class Attachment:
    id: int
    message_id: int
    position: int
    kind: str
    name: str | None
    mime: str | None
    size: int | None
    sha256: str
    created_at: str


def store_blob_root(store: "Store") -> Path:
    """Where a database's files live: `attachments/` beside it (in the data dir)."""
    return blob_root_beside(store.path)


def add_attachment(store: "Store", message_id: int, position: int, kind: str, sha256: str, *,
                   name: str | None = None, mime: str | None = None, size: int | None = None) -> int:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    with store._write() as db:
        cur = db.execute(
            "INSERT INTO attachments (message_id, position, kind, name, mime, size, sha256)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (message_id, position, kind, name, mime, size, sha256),
        )
        return int(cur.lastrowid)


def attachments(store: "Store", message_id: int) -> list[Attachment]:
    rows = store._rows("SELECT * FROM attachments WHERE message_id = ? ORDER BY position", (message_id,))
    return [Attachment(**row) for row in rows]
