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


class NotFoundError(StoreError, LookupError):
    """A conversation, message or preset that a write needs does not exist."""


class QueryCancelled(StoreError):
    """The Store was cancelled (`Store.interrupt`, or its `CancelToken`) while, or before, this
    query ran; it stopped at once and changed nothing."""


class ImportError_(StoreError):
    """The file cannot be imported; nothing was."""
