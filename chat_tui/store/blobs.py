"""The blob store: files (attachments, generated images) kept once each by their sha256 in
`attachments/ab/abcdef…` beside the database. Files only: nothing here touches the database,
so `db.py` and the table modules can all use it."""

from __future__ import annotations

import os
from pathlib import Path

BLOB_DIR = "attachments"


def blob_root_beside(db_path: str | Path) -> Path:
    """Where the files of the database at `db_path` live."""
    return Path(db_path).parent / BLOB_DIR


def blob_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def save_blob(root: Path, data: bytes) -> str:
    """Store `data` under `root` by its sha256 (once: the same bytes are one file); the hash.
    Written to a temporary name and renamed, so a file is never seen half-written."""
    import hashlib  # here: reading commands never hash (and _hashlib loads OpenSSL)

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


def encoded_blobs(root: Path, digests) -> dict[str, str]:
    """{sha256: base64} of the files named that are still here (for an export); a file gone is
    left out (its rows still say what it was)."""
    import base64

    out: dict[str, str] = {}
    for digest in digests:
        if digest not in out:
            try:
                out[digest] = base64.b64encode(read_blob(root, digest)).decode("ascii")
            except OSError:
                pass
    return out
