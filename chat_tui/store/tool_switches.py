"""The `conversation_tools_off` table (schema version 12): which tool sources (MCP servers) and
which of their tools a conversation has turned off. Everything else is on, so a new
conversation, or one from before version 12, offers every tool.

Functions use the Store's connection: call them on the thread that owns it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from chat_tui.core.tools import ToolSwitches

if TYPE_CHECKING:
    from chat_tui.store.db import Store


def tool_switches(store: Store, conversation_id: int) -> ToolSwitches:
    rows = store._rows("SELECT source, tool FROM conversation_tools_off WHERE conversation_id = ?"
                       " ORDER BY source, tool", [conversation_id])
    return ToolSwitches(sources_off=frozenset(r["source"] for r in rows if not r["tool"]),
                        tools_off=frozenset((r["source"], r["tool"]) for r in rows if r["tool"]))


def save_tool_switches(store: Store, conversation_id: int, switches: ToolSwitches) -> None:
    """Replace the conversation's switches with `switches`, in one transaction."""
    rows: Iterable[tuple[int, str, str]] = [
        *((conversation_id, source, "") for source in sorted(switches.sources_off)),
        *((conversation_id, source, tool) for source, tool in sorted(switches.tools_off)),
    ]
    with store._write() as db:
        db.execute("DELETE FROM conversation_tools_off WHERE conversation_id = ?", [conversation_id])
        db.conn.executemany("INSERT INTO conversation_tools_off (conversation_id, source, tool) VALUES (?, ?, ?)",
                       list(rows))
