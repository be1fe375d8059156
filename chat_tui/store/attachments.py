"""Files that come with messages (images, audio, documents): the bytes stored once, by their
sha256, under the data directory; the `attachments` table says which message has which."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat_tui.store.db import Store

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


def blob_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def save_blob(root: Path, data: bytes) -> str:
    """Store `data` under `root` by its sha256 (once: the same bytes are one file); the hash.
    Written to a temporary name and renamed, so a file is never seen half-written."""
    digest = hashlib.sha256(data).hexdigest()
    path = blob_path(root, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{digest}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return digest


def read_blob(root: Path, sha256: str) -> bytes:
    return blob_path(root, sha256).read_bytes()


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
