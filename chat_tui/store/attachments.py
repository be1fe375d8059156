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


BLOB_DIR = "attachments"


def store_blob_root(store: "Store") -> Path:
    """Where a database's files live: `attachments/` beside it (in the data dir)."""
    return Path(store.path).parent / BLOB_DIR


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


def conversation_files(store: "Store", cid: int) -> tuple[list[dict], list[dict], dict[str, str]]:
    """For an export: the attachment rows of a conversation's messages, its image rows, and
    the bytes of every file they name that is still here ({sha256: base64})."""
    import base64

    attached = store._rows(
        "SELECT a.message_id, a.position, a.kind, a.name, a.mime, a.size, a.sha256, a.created_at"
        " FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.conversation_id = ?"
        " ORDER BY a.message_id, a.position", (cid,))
    images = store._rows(
        "SELECT created_at, kind, prompt, revised_prompt, model, params, sha256, mime, width, height, cost,"
        " message_id, endpoint FROM images WHERE conversation_id = ? ORDER BY id", (cid,))
    root = store_blob_root(store)
    blobs: dict[str, str] = {}
    for row in [*attached, *images]:
        sha = row["sha256"]
        if sha not in blobs:
            try:
                blobs[sha] = base64.b64encode(read_blob(root, sha)).decode("ascii")
            except OSError:
                pass  # the file is gone: the row still says what it was
    import json

    return [dict(r) for r in attached], [{**r, "params": json.loads(r["params"])} for r in images], blobs
