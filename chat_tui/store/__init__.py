"""SQLite storage through sqlite-utils. Imports only chat_tui.core."""

from typing import TYPE_CHECKING

from chat_tui.store.errors import NotFoundError, SchemaTooNewError, StoreError
from chat_tui.store.records import (
    Conversation,
    ConversationSummary,
    Message,
    Preset,
    SearchHit,
)

if TYPE_CHECKING:
    from chat_tui.store.db import Store


def __getattr__(name: str):
    # `Store` (and with it sqlite-utils) is imported on first use, so modules that only need the
    # record types, like the UI's widgets, do not slow the app's start-up.
    if name == "Store":
        from chat_tui.store.db import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Conversation",
    "ConversationSummary",
    "Message",
    "NotFoundError",
    "Preset",
    "SchemaTooNewError",
    "SearchHit",
    "Store",
    "StoreError",
]
