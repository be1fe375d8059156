"""Exceptions raised by the store."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for every error the store raises on purpose."""


class SchemaTooNewError(StoreError):
    """The file was written by a newer chat-tui; we refuse to touch it."""

    def __init__(self, path: str, found: int, known: int) -> None:
        super().__init__(
            f"{path} has schema version {found}, but this chat-tui only knows "
            f"versions up to {known}. Upgrade chat-tui to open it; the file was "
            "left untouched."
        )
        self.path, self.found, self.known = path, found, known


class StoreLocked(StoreError):
    """Another program held the database's write lock for longer than this Store waits; the
    write did not happen and can be tried again."""


class StoreUnavailable(StoreError):
    """The database cannot be written or read at all: read-only, the disk full, the file
    damaged or not a database, a disk error. Says which, and where."""


def from_sqlite(exc: Exception, path: object, what: str = "write to") -> StoreError:
    """One clear StoreError for an error SQLite raised (the one place they are translated)."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    detail = str(exc)
    if primary in (5, 6) or "locked" in detail:  # SQLITE_BUSY, SQLITE_LOCKED
        return StoreLocked(f"cannot {what} {path}: another program is using the database (it is locked)")
    reasons = {
        8: "the file is read-only",  # SQLITE_READONLY
        13: "the disk is full",  # SQLITE_FULL
        11: "the file is damaged",  # SQLITE_CORRUPT
        26: "the file is not a database (or is encrypted)",  # SQLITE_NOTADB
        10: f"a disk error ({detail})",  # SQLITE_IOERR
        14: "the file cannot be opened",  # SQLITE_CANTOPEN
        23: "permission denied",  # SQLITE_AUTH
    }
    reason = reasons.get(primary) if primary is not None else None
    if reason is None:
        low = detail.lower()
        reason = ("the file is read-only" if "readonly" in low or "read-only" in low
                  else "the disk is full" if "full" in low
                  else "the file is not a database (or is encrypted)" if "not a database" in low
                  else "the file is damaged" if "malformed" in low or "corrupt" in low
                  else detail)
    return StoreUnavailable(f"cannot {what} {path}: {reason}")


class NotFoundError(StoreError, LookupError):
    """A conversation, message or preset that a write needs does not exist."""


class QueryCancelled(StoreError):
    """The Store was cancelled (`Store.interrupt`, or its `CancelToken`) while, or before, this
    query ran; it stopped at once and changed nothing."""


class ImportError_(StoreError):
    """The file cannot be imported; nothing was."""
