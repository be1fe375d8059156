"""The vector cache: a space's vectors as flat float32 and int64 files beside the database,
memory-mapped by the next process instead of read row by row out of SQLite.

SQLite stays the truth; the cache is a copy that can always be thrown away. Loading it costs a
map and three checks against the database, not a read of every blob (100,000 vectors of 1,536
numbers: seconds from SQLite, milliseconds mapped; docs/performance.md). Rows added to SQLite
since are read from there and appended.

Files, in `vectors/` beside the database, per database file and space:
  `<key>.json`          what is valid: rows, the last `message_vectors` id, and check values
  `<key>-<gen>.f32`     rows x dimensions float32 (whatever rows the caller gave: unit rows)
  `<key>-<gen>.ids`     the message id of each row, int64
Readers use the first `rows` rows only, so a writer appends past them in place and then
replaces the JSON; a rebuild writes files of a new generation, so a process still mapping the
old ones is never cut short. One writer at a time (an advisory lock); a process that can't get
it just doesn't write. Nothing here is needed for correctness: any doubt means "no cache".
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import re
import secrets
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

try:
    import fcntl
except ImportError:  # not on Windows: no cache there, searches read SQLite as before
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from chat_tui.store.db import Store

CACHE_DIR = "vectors"
FORMAT = 1
# Rebuild once this share of the cached rows has been deleted from the database (their
# messages were purged): they cost time in every search and are dropped by the live check.
STALE_SHARE = 0.2
# Vectors up to a row id, counted on the small message_id index (SQLite's own plan walks the
# table's pages by rowid: 0.28 s at 100,000 vectors of 1,536 numbers, against 14 ms).
_COUNT = "SELECT count(*) FROM message_vectors INDEXED BY message_vectors_by_message WHERE +id <= ?"


@dataclass(frozen=True)
class Cached:
    ids: np.ndarray  # int64, read-only
    matrix: np.ndarray  # float32 rows x dimensions, read-only
    last_id: int  # the highest message_vectors id the rows include


def _key(db_path: Path, model: str, dimensions: int) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model)[:40]
    digest = hashlib.sha256(f"{db_path.name}\0{model}\0{dimensions}".encode()).hexdigest()[:12]
    return f"{slug}-{dimensions}-{digest}"


def _crc(data: bytes | np.ndarray) -> int:
    return zlib.crc32(data.tobytes() if isinstance(data, np.ndarray) else data)


def _map(path: Path, dtype: str, count: int) -> np.ndarray | None:
    """The first `count` items of the file, mapped read-only (pages pre-faulted where the
    system can), or None if the file is shorter."""
    item = np.dtype(dtype).itemsize
    if count == 0:
        return np.empty(0, dtype=dtype)
    with path.open("rb") as f:
        if os.fstat(f.fileno()).st_size < count * item:
            return None
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
        mapped = mmap.mmap(f.fileno(), count * item, flags=flags, prot=mmap.PROT_READ)
    return np.frombuffer(mapped, dtype=dtype, count=count)


class VectorCache:
    """The cache files of one database and space (model, dimensions)."""

    def __init__(self, db_path: str | Path, model: str, dimensions: int) -> None:
        db_path = Path(db_path)
        self.root = db_path.parent / CACHE_DIR
        self.model, self.dimensions = model, dimensions
        self.key = _key(db_path, model, dimensions)
        self.meta_path = self.root / f"{self.key}.json"

    @classmethod
    def beside(cls, store: Store, model: str, dimensions: int) -> VectorCache | None:
        """The cache of the store's database, or None where there can be none."""
        if fcntl is None or str(store.path) in ("", ":memory:"):
            return None
        return cls(store.path, model, dimensions)

    def _files(self, gen: str) -> tuple[Path, Path]:
        return self.root / f"{self.key}-{gen}.f32", self.root / f"{self.key}-{gen}.ids"

    def _meta(self) -> dict | None:
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            return None
        if (meta.get("model"), meta.get("dimensions")) != (self.model, self.dimensions):
            return None
        if not all(isinstance(meta.get(k), int) for k in ("rows", "last_id", "last_message", "row_crc", "db_crc", "counted")):
            return None
        if not isinstance(meta.get("gen"), str) or not re.fullmatch(r"[0-9a-f]{16}", meta["gen"]):
            return None
        return meta

    def load(self, store: Store) -> Cached | None:
        """The cached rows, if they are whole and still match the database; else None."""
        meta = self._meta()
        if meta is None or meta["rows"] <= 0:
            return None
        rows, dims = meta["rows"], self.dimensions
        f32, ids_path = self._files(meta["gen"])
        try:
            matrix = _map(f32, "<f4", rows * dims)
            ids = _map(ids_path, "<i8", rows)
        except (OSError, ValueError):
            return None
        if matrix is None or ids is None:
            return None
        matrix = matrix.reshape(rows, dims)
        # The last row is the one written last: whole files and the same database.
        if int(ids[-1]) != meta["last_message"] or _crc(matrix[-1]) != meta["row_crc"]:
            return None
        found = store.db.execute("SELECT message_id, vector FROM message_vectors WHERE id = ?",
                                 (meta["last_id"],)).fetchone()
        if found is None or found[0] != meta["last_message"] or _crc(found[1]) != meta["db_crc"]:
            return None
        # Vectors deleted since (messages purged): a few are dropped by the search's live
        # check; many mean a rebuild. The count walks the small message_id index.
        now = store.db.execute(_COUNT, (meta["last_id"],)).fetchone()[0]
        if now < meta["counted"] * (1 - STALE_SHARE):
            return None
        return Cached(ids, matrix, meta["last_id"])

    @contextmanager
    def _writing(self) -> Iterator[bool]:
        """The writer's lock, if free (True), else nothing is written (False)."""
        assert fcntl is not None
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / f"{self.key}.lock").open("a+b") as lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def write(self, store: Store, ids: np.ndarray, matrix: np.ndarray, last_id: int, *, start: int) -> bool:
        """Cache `matrix` (float32 rows x dimensions) and their message `ids`, which with the
        `start` rows already cached are every vector of the space up to `last_id`: appended
        after those rows, or the cache rewritten whole when `start` is 0. False if another
        process is writing, the cache changed since it was loaded, or the disk refused; the
        cache is then as it was."""
        if not len(ids) or start < 0 or len(ids) != len(matrix):
            return False
        try:
            with self._writing() as mine:
                if not mine:
                    return False
                meta = self._meta()
                if start and (meta is None or meta["rows"] != start):
                    return False  # changed since it was loaded: leave it to the next load
                found = store.db.execute("SELECT message_id, vector FROM message_vectors WHERE id = ?",
                                         (last_id,)).fetchone()
                if found is None or int(found[0]) != int(ids[-1]):
                    return False
                counted = store.db.execute(_COUNT, (last_id,)).fetchone()[0]
                gen = meta["gen"] if start and meta else secrets.token_hex(8)
                f32, ids_path = self._files(gen)
                block = np.ascontiguousarray(matrix, dtype="<f4")
                for path, data, item in ((f32, block, 4 * self.dimensions),
                                         (ids_path, np.ascontiguousarray(ids, dtype="<i8"), 8)):
                    with path.open("r+b" if start else "wb") as f:
                        f.seek(start * item)
                        f.write(data.tobytes())
                new = {"format": FORMAT, "model": self.model, "dimensions": self.dimensions, "gen": gen,
                       "rows": start + len(ids), "last_id": int(last_id), "last_message": int(ids[-1]),
                       "row_crc": _crc(block[-1]), "db_crc": _crc(found[1]), "counted": int(counted)}
                tmp = self.meta_path.with_name(f".{self.key}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps(new), encoding="utf-8")
                os.replace(tmp, self.meta_path)
                if meta is not None and meta["gen"] != gen:
                    for old in self._files(meta["gen"]):  # a process mapping them keeps its pages
                        old.unlink(missing_ok=True)
                return True
        except OSError:
            return False

    def drop(self) -> None:
        """Forget the cache (its space was deleted)."""
        meta = self._meta()
        self.meta_path.unlink(missing_ok=True)
        if meta is not None:
            for path in self._files(meta["gen"]):
                path.unlink(missing_ok=True)
