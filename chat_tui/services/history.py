"""History use cases, the same for the CLI and the TUI (no UI code here): pages of saved
conversations (listing and search), rename, delete with undo, pin, archive, export, import.

One delete rule everywhere: deleting moves a conversation to the trash (hidden from every list
and search); `restore` brings it back; the trash is emptied of conversations deleted more than
`TRASH_DAYS` ago when the app starts or closes, and all of it by `purge`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chat_tui.core.filters import parse_param_filters
from chat_tui.core.reasoning import thinking_label
from chat_tui.core.messages import ToolCall
from chat_tui.core.text import one_line
from chat_tui.core.tool_calls import fence, json_fence, pretty_arguments
from chat_tui.store.history import (
    HistoryFilter,
    HistoryRow,
    count_history,
    deleted_ids,
    history_page,
    purge_deleted,
    set_archived,
    set_pinned,
    soft_delete,
    undo_delete,
)

if TYPE_CHECKING:
    from chat_tui.store import CancelToken, Store
    from chat_tui.store.importer import ImportReport
    from chat_tui.store.records import Conversation

TRASH_DAYS = 30
PAGE = 50  # rows per page, in every list of conversations

__all__ = [
    "PAGE", "TRASH_DAYS", "HistoryFilter", "HistoryRow", "Page", "archive", "delete", "export_files",
    "export_json", "export_markdown", "import_file", "last_deleted", "make_filter", "page", "pin",
    "purge", "purge_expired", "reader", "rename", "restore", "trash", "count",
]


# -- reading --------------------------------------------------------------------------------


def make_filter(
    *,
    model: str | None = None,
    endpoint: str | None = None,
    since: str | None = None,
    until: str | None = None,
    params: str | Iterable[str] = (),
    include_archived: bool = False,
    pinned_only: bool = False,
    archived_only: bool = False,
) -> HistoryFilter:
    """A filter from what the user typed; ValueError naming what is wrong (see core.filters)."""
    return HistoryFilter(
        model=model or None, endpoint=endpoint or None, since=since or None, until=until or None,
        params=parse_param_filters(params), include_archived=include_archived,
        pinned_only=pinned_only, archived_only=archived_only,
    )


@dataclass(frozen=True)
class Page:
    rows: list[HistoryRow]
    offset: int
    limit: int

    @property
    def exhausted(self) -> bool:
        return len(self.rows) < self.limit


def page(
    store: "Store",
    *,
    query: str | None = None,
    filters: HistoryFilter = HistoryFilter(),
    offset: int = 0,
    limit: int = PAGE,
) -> Page:
    """One page of conversations: pinned first, then newest; with a query, the best matches
    with their excerpt."""
    return Page(history_page(store, query=query, filters=filters, limit=limit, offset=offset), offset, limit)


def count(store: "Store", *, query: str | None = None, filters: HistoryFilter = HistoryFilter(), cap: int = 1000) -> int:
    """How many conversations match, counting no further than `cap`."""
    return count_history(store, query, filters, cap=cap)


def reader(db_path: Path, *, cancel: "CancelToken | None" = None) -> "Store":
    """A connection of its own for a worker thread (SQLite connections belong to the thread
    that opened them); `cancel` stops its queries from another thread. Use it with `with`."""
    from chat_tui.store import Store

    return Store(db_path, cancel=cancel)


# -- changes --------------------------------------------------------------------------------


def rename(store: "Store", cid: int, title: str) -> None:
    """The user's own title: an auto-title never replaces it."""
    store.rename_conversation(cid, title)


def delete(store: "Store", cid: int) -> bool:
    """Move to the trash (False: already there)."""
    return soft_delete(store, cid)


def restore(store: "Store", cid: int) -> bool:
    """Bring back from the trash (False: it was not there)."""
    return undo_delete(store, cid)


def trash(store: "Store") -> list["Conversation"]:
    """The conversations in the trash, most recently deleted first."""
    return [c for c in (store.get_conversation(cid) for cid in deleted_ids(store)) if c is not None]


def last_deleted(store: "Store") -> int | None:
    """The conversation deleted most recently and still in the trash."""
    ids = deleted_ids(store)
    return ids[0] if ids else None


def purge_expired(store: "Store", *, days: int = TRASH_DAYS) -> int:
    """Empty the trash of conversations deleted more than `days` ago."""
    cutoff = datetime.now(timezone.utc) - timedelta(days=days)
    return purge_deleted(store, before=cutoff.isoformat(timespec="milliseconds").replace("+00:00", "Z"))


def purge(store: "Store") -> int:
    """Empty the trash now, for good."""
    return purge_deleted(store)


def pin(store: "Store", cid: int, pinned: bool = True) -> None:
    set_pinned(store, cid, pinned)


def archive(store: "Store", cid: int, archived: bool = True) -> None:
    set_archived(store, cid, archived)


# -- export and import ----------------------------------------------------------------------


def export_markdown(store: "Store", conversation: "Conversation") -> str:
    """The current thread as Markdown (the latest branch at each fork)."""
    lines = [f"# {_one_line(conversation.title)}", ""]
    meta = [f"conversation {conversation.id}"]
    if conversation.model:
        meta.append(f"model `{_one_line(conversation.model)}`")
    lines += ["_" + ", ".join(meta) + "_", ""]
    if conversation.system_prompt:
        lines += ["## System", "", conversation.system_prompt, ""]
    for m in store.thread(conversation.id):
        head = m.role.capitalize()
        if m.role == "assistant" and m.model:
            head += f" ({_one_line(m.model)})"
        if m.role == "assistant" and m.status and m.status != "complete":
            head += f" [{m.status}]"
        if m.role == "tool":  # a tool's result: literal text, never Markdown of its own
            head = f"Tool result: {_one_line(m.name or m.tool_call_id or '')}" + (" [error]" if m.status == "error" else "")
            lines += [f"## {head}", "", fence(m.content or ""), ""]
            continue
        lines += [f"## {head}", ""]
        if m.reasoning:  # folded away where Markdown folds (<details>), above the answer it led to
            tokens, approx = m.reasoning_count
            label = thinking_label(m.reasoning_duration, tokens, approx=approx)
            lines += [f"<details><summary>{label}</summary>", "", m.reasoning, "", "</details>", ""]
        lines += [m.content or "", ""]
        for call in (ToolCall.from_wire(c) for c in m.tool_calls or () if isinstance(c, dict)):
            lines += [f"**Tool call** `{_one_line(call.name)}` ({_one_line(call.id)}):", "",
                      json_fence(pretty_arguments(call.arguments)), ""]
        if m.parts:  # its attachments, by name (the JSON export carries the files)
            from chat_tui.services.attachments import chips_of_message

            lines += [f"- attached: {_one_line(label)}" for _, label in chips_of_message(store, m)] + [""]
    return "\n".join(lines)


def export_json(store: "Store", ids: list[int]) -> dict[str, Any]:
    """One conversation's whole tree (compare runs included), or several in one document."""
    from chat_tui.store.importer import export_conversations

    return store.export_conversation(ids[0]) if len(ids) == 1 else export_conversations(store, ids)


def export_files(store: "Store", conversation: "Conversation", directory: Path) -> tuple[Path, Path]:
    """`chat-tui-ID.md` and `.json` in `directory`, never overwriting a file."""
    base = directory / f"chat-tui-{conversation.id}"
    json_path = _free(base.with_suffix(".json"))
    json_path.write_text(json.dumps(export_json(store, [conversation.id]), indent=2, ensure_ascii=False, default=str) + "\n",
                         encoding="utf-8")
    md_path = _free(base.with_suffix(".md"))
    md_path.write_text(export_markdown(store, conversation), encoding="utf-8")
    return md_path, json_path


def import_file(db_path: Path, path: Path, progress: Callable[[int, int], None] | None = None) -> "ImportReport":
    """Import ChatGPT's export or chat-tui's own JSON on a connection of its own (bulk work:
    a worker thread or the CLI). All or nothing; raises ImportError_ with what is wrong."""
    from chat_tui.store import Store
    from chat_tui.store.importer import import_file as run_import

    with Store(db_path) as store:
        return run_import(store, path, progress=progress)


def _free(path: Path) -> Path:
    """`path`, or `name-2.ext`, `name-3.ext`… if it exists: never overwrite a file."""
    n = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def _one_line(text: str | None) -> str:
    """A title or model id on one line, control characters made visible: they are not the
    conversation's text, and a heading must not carry an escape sequence anywhere."""
    return one_line(text or "(untitled)")
