"""SQLite storage through sqlite-utils. Imports only chat_tui.core."""

from chat_tui.store.db import Store
from chat_tui.store.errors import NotFoundError, SchemaTooNewError, StoreError
from chat_tui.store.records import (
    Conversation,
    ConversationSummary,
    Message,
    Preset,
    SearchHit,
)

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
