"""SQLite storage (the standard library's sqlite3; see sql.py). Imports only chat_tui.core."""

from typing import TYPE_CHECKING

from chat_tui.store.errors import (
    ImportError_,
    NotFoundError,
    QueryCancelled,
    SchemaTooNewError,
    StoreError,
    StoreLocked,
    StoreUnavailable,
)

if TYPE_CHECKING:
    from chat_tui.store.db import CancelToken, Store
    from chat_tui.store.records import (
        Conversation,
        ConversationSummary,
        Message,
        Preset,
        SearchHit,
    )

_RECORDS = ("Conversation", "ConversationSummary", "Message", "Preset", "SearchHit")


def __getattr__(name: str):
    # `Store` (and with it sqlite-utils) is imported on first use, so modules that only need the
    # record types, like the UI's widgets, do not slow the app's start-up; the record types
    # (dataclasses, ~5 ms) too, so the errors alone are cheap to import.
    if name in ("Store", "CancelToken"):
        from chat_tui.store.db import CancelToken, Store

        return {"Store": Store, "CancelToken": CancelToken}[name]
    if name in _RECORDS:
        from chat_tui.store import records

        return getattr(records, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CancelToken",
    "Conversation",
    "ConversationSummary",
    "ImportError_",
    "Message",
    "NotFoundError",
    "Preset",
    "QueryCancelled",
    "SchemaTooNewError",
    "SearchHit",
    "Store",
    "StoreError",
    "StoreLocked",
    "StoreUnavailable",
]
