"""Import saved conversations: chat-tui's own JSON export and ChatGPT's data export.

API:

``import_file(store, path, *, progress=None)`` -> `ImportReport`
    Reads ``path`` (a ``.json`` file, or ChatGPT's ``.zip`` with ``conversations.json``
    inside), detects its format and imports every conversation in one transaction.
    All or nothing: a malformed file raises `ImportError_`, whose message names the file,
    the item and what is wrong (``conversations.json: item 3: 'mapping' missing``), and
    leaves the database untouched. Idempotent: each conversation keeps where it came from
    (``source``, ``source_id``) and each message its id there, so importing the same file
    again adds nothing, and a newer export of the same conversations adds only the
    messages that are new. The file (or zip member) is read in chunks and a top-level
    JSON list decoded one item at a time, so memory holds about one conversation, not the
    file; at most `IMPORT_LIMIT` bytes (2 GB, after unzipping) are read, a zip member
    declaring more is refused unread, and a damaged zip, a file that is not UTF-8 or JSON
    nested too deeply are each reported as such (see import_source.py).
    ``progress(done, total)`` is called at most ~100 times, from 0 to ``total``: for a
    list file the units are bytes read, otherwise conversations; only ``done / total`` is
    meaningful. 10,000 ChatGPT conversations (78 MB) import in about 9 s, most of it
    full-text indexing.
``import_data(store, data, *, name="data", progress=None)`` -> `ImportReport`
    The same for JSON already loaded.
``detect_format(data)`` -> ``"chatgpt" | "chat-tui"`` (raises `ImportError_` otherwise).
``export_conversations(store, ids)`` -> ``dict``
    Several conversations as one document, ``{"format": "chat-tui-conversations",
    "format_version": 1, "exported_at": ..., "conversations": [<export_conversation>...]}``.

Formats read:

* chat-tui: one `Store.export_conversation` document, a JSON list of them, or the
  ``chat-tui-conversations`` document above. Every column comes back as exported (message
  ids are renumbered, the tree kept), compare runs included; a reply exported while still
  streaming comes back ``interrupted``. Provenance is the exported conversation's own
  ``source``/``source_id`` if it was itself imported, else ``("chat-tui", "<id>@<created_at>")``,
  so importing an export into the database it came from is recognised too. Every imported
  conversation's ``title_source`` is ``import``, so an auto-title never replaces its title.
* ChatGPT ``conversations.json``: a list of conversations, each with a ``mapping`` of nodes
  (``message``, ``parent``, ``children``). The whole tree is kept (regenerations and edits
  are sibling branches). Nodes with no message, hidden ones
  (``metadata.is_visually_hidden_from_conversation``), tool calls and tool output, and
  non-text content (code, browsing, reasoning) are left out, their children
  attached to the nearest kept ancestor. An image in a ``multimodal_text`` message
  (``image_asset_pointer``: the file is not in conversations.json) is kept as a reference part,
  ``{"type": "image_asset_pointer", "asset_pointer", "size_bytes", "width", "height"}``, shown
  as a chip and never sent. Messages are ordered by ``create_time``; the model
  is ``metadata.model_slug``; ``finish_details`` gives ``finish_reason`` (``max_tokens`` ->
  ``length``) or, when interrupted, status ``cancelled``.

Use a Store opened in the worker thread that runs the import (a big file takes seconds);
other writers to the file wait while the import's one transaction runs.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chat_tui.core.messages import ROLES

# ChatGPT's own `tool` turns (browsing, code runs) answer no call of ours: left out.
CHATGPT_ROLES = tuple(r for r in ROLES if r != "tool")
from chat_tui.store.db import EXPORT_FORMAT, EXPORT_VERSION
from chat_tui.store.encoding import lenient_json, now, params_json
from chat_tui.store.errors import ImportError_
from chat_tui.store.import_source import nesting_error, open_source, read_json
from chat_tui.store.schema import KINDS as CONVERSATION_KINDS, STATUSES

if TYPE_CHECKING:
    from chat_tui.store.db import Store

MULTI_FORMAT = "chat-tui-conversations"
MULTI_VERSION = 1
Progress = Callable[[int, int], None]


@dataclass
class ImportReport:
    imported: int  # new conversations
    skipped: list[tuple[str, str]]  # (title or id, reason)
    messages: int  # messages added (to new and updated conversations)
    updated: int = 0  # conversations already here that got new messages
    conversation_ids: list[int] = field(default_factory=list)  # the new and updated ones
    format: str = ""  # "chatgpt" or "chat-tui"


@dataclass
class _Plan:
    """One conversation, parsed and checked, ready to write."""

    label: str
    source: str
    source_id: str
    columns: dict[str, Any]  # conversations row, without id
    messages: list[dict[str, Any]]  # parents first; "key", "parent_key" + messages columns
    compare_runs: list[dict[str, Any]] = field(default_factory=list)  # message refs are keys
    origin: tuple[int, str] | None = None  # chat-tui: (id, created_at) where it was exported
    attachments: list[dict[str, Any]] = field(default_factory=list)  # rows; "message_key" for the message
    images: list[dict[str, Any]] = field(default_factory=list)  # rows; "message_key" or None
    blobs: dict[str, bytes] = field(default_factory=dict)  # the files' bytes, by sha256 (checked)


# -- reading -------------------------------------------------------------------------------


def import_file(store: Store, path: str | Path, *, progress: Progress | None = None) -> ImportReport:
    with open_source(path) as source:
        value, items = read_json(source)
        if items is None:
            return import_data(store, value, name=source.name, progress=progress)
        # A list (ChatGPT's conversations.json can be hundreds of MB) is decoded one item at
        # a time while importing. Progress counts bytes read.
        first = next(items, None)
        kind = detect_format([] if first is None else [first[0]], source.name)
        stream = itertools.chain([] if first is None else [first], items)
        return _import(store, kind, stream, source.total, source.name, False, progress)


def import_data(store: Store, data: Any, *, name: str = "data",
                progress: Progress | None = None) -> ImportReport:
    kind = detect_format(data, name)
    single = isinstance(data, dict) and data.get("format") == EXPORT_FORMAT
    if isinstance(data, dict) and data.get("format") == MULTI_FORMAT:
        version = data.get("format_version")
        if not isinstance(version, int) or version > MULTI_VERSION:
            raise ImportError_(f"{name}: format_version {version!r} is newer than this"
                               " chat-tui reads; upgrade chat-tui")
        data = data.get("conversations")
        if not isinstance(data, list):
            raise ImportError_(f"{name}: 'conversations' missing or not a list")
    items = [data] if single else data
    stream = ((item, done) for done, item in enumerate(items, 1))
    return _import(store, kind, stream, len(items), name, single, progress)


def _import(store: Store, kind: str, stream: Iterator[tuple[Any, int]], total: int, name: str,
            single: bool, progress: Progress | None) -> ImportReport:
    parse = _chatgpt_plans if kind == "chatgpt" else _chat_tui_plans
    at = [0]  # the item being imported, for the message below

    def counted() -> Iterator[tuple[Any, int]]:
        for at[0], entry in enumerate(stream, 1):
            yield entry

    try:
        report = _write(store, parse(counted(), name, single), total, progress)
    except RecursionError:  # deep JSON that decoded, met again by json.dumps or a walk
        raise nesting_error(name if single or not at[0] else f"{name}: item {at[0]}") from None
    report.format = kind
    return report


def detect_format(data: Any, name: str = "data") -> str:
    if isinstance(data, dict) and data.get("format") in (EXPORT_FORMAT, MULTI_FORMAT):
        return "chat-tui"
    if isinstance(data, list):
        first = next((item for item in data if isinstance(item, dict)), None)
        if first is None and not data:
            return "chatgpt"  # an empty export: nothing to do either way
        if first is not None and first.get("format") == EXPORT_FORMAT:
            return "chat-tui"
        if first is not None and "mapping" in first:
            return "chatgpt"
        if first is not None and ("title" in first or "conversation_id" in first):
            return "chatgpt"  # damaged ChatGPT export: reported precisely by the parser
    raise ImportError_(
        f"{name}: not a format chat-tui imports (expected ChatGPT's conversations.json or a"
        " chat-tui JSON export)"
    )


# -- ChatGPT -------------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return (datetime.fromtimestamp(value, timezone.utc).isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"))
    except (OverflowError, OSError, ValueError):
        return None


def _text(message: dict[str, Any]) -> str | None:
    """The message's text, or None if it is not a visible text message."""
    content = message.get("content")
    if not isinstance(content, dict):
        return None
    if content.get("content_type") not in ("text", "multimodal_text"):
        return None
    parts = content.get("parts")
    if not isinstance(parts, list):
        return None
    text = "\n".join(p for p in parts if isinstance(p, str))
    return text if text.strip() or _image_pointers(message) else None


def _image_pointers(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A multimodal message's images, as reference parts (the bytes are not in the export)."""
    content = message.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    pointers = []
    for p in parts if isinstance(parts, list) else ():
        if isinstance(p, dict) and p.get("content_type") == "image_asset_pointer" \
                and isinstance(p.get("asset_pointer"), str):
            ref = {"type": "image_asset_pointer", "asset_pointer": p["asset_pointer"]}
            for key in ("size_bytes", "width", "height"):
                if isinstance(p.get(key), int) and not isinstance(p.get(key), bool):
                    ref[key] = p[key]
            pointers.append(ref)
    return pointers


def _chatgpt_plans(stream: Iterator[tuple[Any, int]], name: str, single: bool) -> Iterator[tuple[Any, int]]:
    """(plan or (label, reason) to skip, progress) for each item."""
    seen: set[str] = set()
    for index, (item, done) in enumerate(stream, 1):
        where = f"{name}: item {index}"
        if not isinstance(item, dict):
            raise ImportError_(f"{where}: not an object")
        title = item.get("title")
        if isinstance(title, str) and title:
            where += f" ({title[:40]!r})"
        plan = _chatgpt_plan(item, where)
        if plan.source_id in seen:
            yield (plan.label, "duplicate in this file"), done
        elif not plan.messages:
            yield (plan.label, "no text messages"), done
        else:
            seen.add(plan.source_id)
            yield plan, done


def _chatgpt_plan(item: dict[str, Any], where: str) -> _Plan:
    mapping = item.get("mapping")
    if mapping is None:
        raise ImportError_(f"{where}: 'mapping' missing")
    if not isinstance(mapping, dict):
        raise ImportError_(f"{where}: 'mapping' is not an object")
    title = item.get("title")
    if title is not None and not isinstance(title, str):
        raise ImportError_(f"{where}: 'title' is not a string")
    sid = item.get("conversation_id") or item.get("id")
    if sid is not None and not isinstance(sid, str):
        raise ImportError_(f"{where}: 'id' is not a string")
    if not sid:  # no id: the content identifies it
        sid = "sha256:" + hashlib.sha256(
            json.dumps(item, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    parent_of: dict[str, str | None] = {}
    for key, node in mapping.items():
        if not isinstance(node, dict):
            raise ImportError_(f"{where}: node {key!r} is not an object")
        parent = node.get("parent")
        if parent is not None and not isinstance(parent, str):
            raise ImportError_(f"{where}: node {key!r}: 'parent' is not a string")
        children = node.get("children", [])
        if not isinstance(children, list):
            raise ImportError_(f"{where}: node {key!r}: 'children' is not a list")
        parent_of[key] = parent if parent in mapping else None
    for key, node in mapping.items():  # a child listed only in its parent's "children"
        for child in node.get("children") or []:
            if isinstance(child, str) and child in mapping and parent_of[child] is None \
                    and mapping[child].get("parent") is None:
                parent_of[child] = key

    # Which nodes are kept, and what each one's message row is.
    kept: dict[str, dict[str, Any]] = {}
    for key, node in mapping.items():
        message = node.get("message")
        if message is None:
            continue
        if not isinstance(message, dict):
            raise ImportError_(f"{where}: node {key!r}: 'message' is not an object")
        author = message.get("author")
        role = author.get("role") if isinstance(author, dict) else None
        metadata = message.get("metadata") if isinstance(message.get("metadata"), dict) else {}
        if role not in CHATGPT_ROLES or metadata.get("is_visually_hidden_from_conversation"):
            continue
        if message.get("recipient", "all") not in ("all", None):
            continue  # a tool call
        text = _text(message)
        if text is None:
            continue
        finish = metadata.get("finish_details")
        finish_type = finish.get("type") if isinstance(finish, dict) else None
        slug = metadata.get("model_slug")
        images = _image_pointers(message)
        kept[key] = {
            "role": role,
            "name": None,
            "content": text,
            "parts": json.dumps([{"type": "text", "text": text}, *images], ensure_ascii=False) if images else None,
            "time": message.get("create_time"),
            "model": slug if role == "assistant" and isinstance(slug, str) else None,
            "status": "cancelled" if finish_type == "interrupted" else "complete",
            "finish_reason": {"stop": "stop", "max_tokens": "length"}.get(finish_type)
            if role == "assistant" else None,
        }

    # Each kept node hangs from its nearest kept ancestor (memoised; cycles are errors).
    anchor: dict[str, str | None] = {}

    def kept_ancestor(key: str) -> str | None:
        path: list[str] = []
        on_path: set[str] = set()
        cursor = parent_of.get(key)
        while cursor is not None and cursor not in kept and cursor not in anchor:
            if cursor in on_path:
                raise ImportError_(f"{where}: node {cursor!r}: its parents form a cycle")
            path.append(cursor)
            on_path.add(cursor)
            cursor = parent_of.get(cursor)
        found = cursor if cursor is None or cursor in kept else anchor[cursor]
        for step in path:
            anchor[step] = found
        return found

    children: dict[str | None, list[str]] = {}
    kept_parent = {key: kept_ancestor(key) for key in kept}
    for key, parent in kept_parent.items():
        children.setdefault(parent, []).append(key)
    _check_acyclic(kept, children, where)

    # Parents first, otherwise by create_time (a missing time takes its parent's).
    conv_time = item.get("create_time") if isinstance(item.get("create_time"), (int, float)) else 0.0
    order = {key: i for i, key in enumerate(mapping)}
    heap = []
    for key in children.get(None, []):
        t = kept[key]["time"]
        heapq.heappush(heap, (t if isinstance(t, (int, float)) else conv_time, order[key], key))
    messages = []
    while heap:
        t, _, key = heapq.heappop(heap)
        row = kept[key]
        stamp = _iso(t) or now()
        messages.append({
            "key": key, "parent_key": kept_parent[key],
            "role": row["role"], "name": None, "content": row["content"],
            "created_at": stamp, "updated_at": stamp, "model": row["model"],
            "status": row["status"], "finish_reason": row["finish_reason"], "parts": row["parts"],
        })
        for child in children.get(key, []):
            ct = kept[child]["time"]
            heapq.heappush(heap, (max(ct, t) if isinstance(ct, (int, float)) else t, order[child], child))

    created = _iso(item.get("create_time")) or (messages[0]["created_at"] if messages else now())
    updated = _iso(item.get("update_time")) or (messages[-1]["created_at"] if messages else created)
    slug = item.get("default_model_slug")
    model = slug if isinstance(slug, str) else next(
        (m["model"] for m in reversed(messages) if m["model"]), None)
    label = title or sid
    return _Plan(
        label=label, source="chatgpt", source_id=sid,
        columns={"title": title or None, "created_at": created, "updated_at": max(updated, created),
                 "model": model, "params": "{}", "system_prompt": None, "endpoint": None,
                 "pinned": 0, "archived": int(bool(item.get("is_archived"))), "kind": "chat", "document": None},
        messages=messages,
    )


def _check_acyclic(kept: dict[str, Any], children: dict[str | None, list[str]], where: str) -> None:
    reachable, stack = 0, list(children.get(None, []))
    while stack:
        key = stack.pop()
        reachable += 1
        stack.extend(children.get(key, []))
    if reachable != len(kept):
        raise ImportError_(f"{where}: its messages' parents form a cycle")


# -- chat-tui ------------------------------------------------------------------------------


def export_conversations(store: Store, ids: list[int]) -> dict[str, Any]:
    """Several conversations as one JSON-able document (see the module docstring)."""
    return {
        "format": MULTI_FORMAT,
        "format_version": MULTI_VERSION,
        "exported_at": now(),
        "conversations": [store.export_conversation(cid) for cid in ids],
    }


def _chat_tui_plans(stream: Iterator[tuple[Any, int]], name: str, single: bool) -> Iterator[tuple[Any, int]]:
    seen: set[tuple[str, str]] = set()
    for index, (document, done) in enumerate(stream, 1):
        plan = _chat_tui_plan(document, name if single else f"{name}: item {index}")
        if (plan.source, plan.source_id) in seen:
            yield (plan.label, "duplicate in this file"), done
        else:
            seen.add((plan.source, plan.source_id))
            yield plan, done


def _need(obj: dict[str, Any], key: str, kinds: tuple[type, ...], where: str, optional=False) -> Any:
    if key not in obj:
        if optional:
            return None
        raise ImportError_(f"{where}: {key!r} missing")
    value = obj[key]
    if value is None and optional:
        return None
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise ImportError_(f"{where}: {key!r} should be {names}, not {type(value).__name__}")
    return value


def _json_list(value: Any, what: str, where: str) -> str | None:
    """A message's `parts` or `tool_calls` (version 5): a list, stored as JSON; absent in
    exports from before."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ImportError_(f"{where}: {what} must be a list of objects")
    return json.dumps(value, ensure_ascii=False)


def _params(value: Any, where: str, *, empty: str | None) -> str | None:
    if value is None:
        return empty
    if not isinstance(value, dict):
        raise ImportError_(f"{where}: 'params' should be an object")
    try:
        return params_json(value)
    except ValueError as exc:
        raise ImportError_(f"{where}: {exc}") from None


_NUMBER = (int, float)


def _chat_tui_plan(document: Any, where: str) -> _Plan:
    if not isinstance(document, dict):
        raise ImportError_(f"{where}: not an object")
    if document.get("format") != EXPORT_FORMAT:
        raise ImportError_(f"{where}: not a chat-tui conversation export ('format' is"
                           f" {document.get('format')!r})")
    version = document.get("format_version")
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise ImportError_(f"{where}: format_version {version!r} is newer than this chat-tui"
                           " reads; upgrade chat-tui")
    conv = _need(document, "conversation", (dict,), where)
    rows = _need(document, "messages", (list, tuple), where)
    cw = f"{where}: conversation"
    cid = _need(conv, "id", (int,), cw)
    created = _need(conv, "created_at", (str,), cw)
    title = _need(conv, "title", (str,), cw, optional=True)
    source = _need(conv, "source", (str,), cw, optional=True)
    source_id = _need(conv, "source_id", (str,), cw, optional=True)
    if not (source and source_id):
        source, source_id = "chat-tui", f"{cid}@{created}"
    columns = {
        "title": title,
        "created_at": created,
        "updated_at": _need(conv, "updated_at", (str,), cw, optional=True) or created,
        "model": _need(conv, "model", (str,), cw, optional=True),
        "params": _params(conv.get("params"), cw, empty="{}"),
        "system_prompt": _need(conv, "system_prompt", (str,), cw, optional=True),
        "endpoint": _need(conv, "endpoint", (str,), cw, optional=True),
        "pinned": int(bool(conv.get("pinned"))),
        "archived": int(bool(conv.get("archived"))),
        # a completion or edit document (version 6), not a chat: opens in its mode
        "kind": _need(conv, "kind", (str,), cw, optional=True) or "chat",
        "document": _need(conv, "document", (str,), cw, optional=True),
    }
    if columns["kind"] not in CONVERSATION_KINDS:
        raise ImportError_(f"{cw}: unknown kind {columns['kind']!r}")
    by_id: dict[int, dict[str, Any]] = {}
    for index, m in enumerate(rows, 1):
        mw = f"{where}: message {index}"
        if not isinstance(m, dict):
            raise ImportError_(f"{mw}: not an object")
        mid = _need(m, "id", (int,), mw)
        if mid in by_id:
            raise ImportError_(f"{mw}: id {mid} appears twice")
        role = _need(m, "role", (str,), mw)
        if role not in ROLES:
            raise ImportError_(f"{mw}: unknown role {role!r}")
        status = _need(m, "status", (str,), mw, optional=True) or "complete"
        if status not in STATUSES:
            raise ImportError_(f"{mw}: unknown status {status!r}")
        error = _need(m, "error", (str,), mw, optional=True)
        if status == "streaming":  # no process is writing it here
            status, error = "interrupted", error or "exported while the reply was streaming"
        exact = _need(m, "tokens_exact", (bool, int), mw, optional=True)
        mcreated = _need(m, "created_at", (str,), mw)
        source_key = _need(m, "source_id", (str,), mw, optional=True)
        by_id[mid] = {
            "key": source_key or str(mid),
            "parent_id": _need(m, "parent_id", (int,), mw, optional=True),
            "role": role,
            "name": _need(m, "name", (str,), mw, optional=True),
            "content": _need(m, "content", (str,), mw),
            "created_at": mcreated,
            "updated_at": _need(m, "updated_at", (str,), mw, optional=True) or mcreated,
            "model": _need(m, "model", (str,), mw, optional=True),
            "params": _params(m.get("params"), mw, empty=None),
            "endpoint": _need(m, "endpoint", (str,), mw, optional=True),
            "status": status,
            "error": error,
            "finish_reason": _need(m, "finish_reason", (str,), mw, optional=True),
            "prompt_tokens": _need(m, "prompt_tokens", (int,), mw, optional=True),
            "completion_tokens": _need(m, "completion_tokens", (int,), mw, optional=True),
            "prompt_tokens_local": _need(m, "prompt_tokens_local", (int,), mw, optional=True),
            "completion_tokens_local": _need(m, "completion_tokens_local", (int,), mw, optional=True),
            "tokens_exact": None if exact is None else int(bool(exact)),
            "ttft": _need(m, "ttft", _NUMBER, mw, optional=True),
            "duration": _need(m, "duration", _NUMBER, mw, optional=True),
            "system_fingerprint": _need(m, "system_fingerprint", (str,), mw, optional=True),
            "logprobs": lenient_json(m.get("logprobs")),
            "parts": _json_list(m.get("parts"), "parts", mw),
            "tool_calls": _json_list(m.get("tool_calls"), "tool_calls", mw),
            "tool_call_id": _need(m, "tool_call_id", (str,), mw, optional=True),
            # version 11: the reasoning, apart from the answer
            "reasoning": _need(m, "reasoning", (str,), mw, optional=True),
            "reasoning_tokens": _need(m, "reasoning_tokens", (int,), mw, optional=True),
            "reasoning_tokens_local": _need(m, "reasoning_tokens_local", (int,), mw, optional=True),
            "reasoning_duration": _need(m, "reasoning_duration", _NUMBER, mw, optional=True),
        }
    # Parents first, otherwise by id: the new ids keep the creation order (a regeneration
    # made after an edit stays the newest leaf), not just each message's place in the tree.
    children: dict[int | None, list[int]] = {}
    for mid, row in by_id.items():
        parent = row.pop("parent_id")
        if parent is not None and parent not in by_id:
            raise ImportError_(f"{where}: message {mid}: parent {parent} is not in the file")
        row["parent_key"] = None if parent is None else by_id[parent]["key"]
        children.setdefault(parent, []).append(mid)
    messages, ready = [], list(children.get(None, []))
    heapq.heapify(ready)
    while ready:
        mid = heapq.heappop(ready)
        messages.append(by_id[mid])
        for child in children.get(mid, []):
            heapq.heappush(ready, child)
    if len(messages) != len(by_id):
        raise ImportError_(f"{where}: its messages' parents form a cycle")
    keys = [m["key"] for m in messages]
    if len(set(keys)) != len(keys):
        raise ImportError_(f"{where}: two messages have the same source_id")
    attached, images, blobs = _files(document, by_id, where)
    return _Plan(
        label=title or f"conversation {cid}", source=source, source_id=source_id,
        columns=columns, messages=messages,
        compare_runs=_compare_runs(document.get("compare_runs"), by_id, where),
        origin=(cid, created), attachments=attached, images=images, blobs=blobs,
    )


def _files(document: dict[str, Any], by_id: dict[int, dict[str, Any]],
           where: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, bytes]]:
    """The export's `attachments` and `images` rows and the `blobs` they name, checked: each
    row's message is in the file, each blob's bytes hash to its name."""
    from chat_tui.store.attachments import KINDS
    from chat_tui.store.schema import IMAGE_KINDS

    def sha(row: dict[str, Any], rw: str) -> str:
        value = _need(row, "sha256", (str,), rw)
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise ImportError_(f"{rw}: 'sha256' is not a sha256 in hex")
        return value

    def message_key(row: dict[str, Any], rw: str, optional: bool) -> str | None:
        mid = _need(row, "message_id", (int,), rw, optional=optional)
        if mid is None:
            return None
        if mid not in by_id:
            raise ImportError_(f"{rw}: message {mid} is not in the file")
        return by_id[mid]["key"]

    def rows(key: str, what: str, kinds: tuple[str, ...]) -> Iterator[tuple[dict[str, Any], str, str]]:
        """Each row of the list `key` (optional), with where it is and its checked kind."""
        for index, row in enumerate(_need(document, key, (list,), where, optional=True) or (), 1):
            rw = f"{where}: {what} {index}"
            if not isinstance(row, dict):
                raise ImportError_(f"{rw}: not an object")
            kind = _need(row, "kind", (str,), rw)
            if kind not in kinds:
                raise ImportError_(f"{rw}: unknown kind {kind!r}")
            yield row, rw, kind

    attached = []
    for row, rw, kind in rows("attachments", "attachment", KINDS):
        attached.append({
            "message_key": message_key(row, rw, False), "position": _need(row, "position", (int,), rw),
            "kind": kind, "name": _need(row, "name", (str,), rw, optional=True),
            "mime": _need(row, "mime", (str,), rw, optional=True), "size": _need(row, "size", (int,), rw, optional=True),
            "sha256": sha(row, rw), "created_at": _need(row, "created_at", (str,), rw, optional=True) or now(),
        })
    images = []
    for row, rw, kind in rows("images", "image", IMAGE_KINDS):
        images.append({
            "message_key": message_key(row, rw, True), "kind": kind, "sha256": sha(row, rw),
            "created_at": _need(row, "created_at", (str,), rw, optional=True) or now(),
            "params": _params(row.get("params"), rw, empty="{}"),
            **{k: _need(row, k, (str,), rw, optional=True) for k in ("prompt", "revised_prompt", "model", "mime", "endpoint")},
            **{k: _need(row, k, (int,), rw, optional=True) for k in ("width", "height")},
            "cost": _need(row, "cost", _NUMBER, rw, optional=True),
        })
    named = {r["sha256"] for r in (*attached, *images)}
    blobs: dict[str, bytes] = {}
    for digest, text in (_need(document, "blobs", (dict,), where, optional=True) or {}).items():
        if digest not in named:
            continue  # nothing here names it
        try:
            data = base64.b64decode(text, validate=True) if isinstance(text, str) else None
        except ValueError:
            data = None
        if data is None:
            raise ImportError_(f"{where}: blob {digest[:12]}… is not base64")
        if hashlib.sha256(data).hexdigest() != digest:
            raise ImportError_(f"{where}: blob {digest[:12]}… does not match its sha256 (damaged)")
        blobs[digest] = data
    return attached, images, blobs


def _compare_runs(runs: Any, by_id: dict[int, dict[str, Any]], where: str) -> list[dict[str, Any]]:
    if runs is None:
        return []
    if not isinstance(runs, list):
        raise ImportError_(f"{where}: 'compare_runs' is not a list")

    def key(value: Any, rw: str, what: str, optional: bool = True) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, int) or value not in by_id:
            raise ImportError_(f"{rw}: {what} {value!r} is not a message in the file")
        return by_id[value]["key"]

    out = []
    for index, run in enumerate(runs, 1):
        rw = f"{where}: compare run {index}"
        if not isinstance(run, dict):
            raise ImportError_(f"{rw}: not an object")
        lanes = []
        for lane in _need(run, "lanes", (list, tuple), rw):
            if not isinstance(lane, dict):
                raise ImportError_(f"{rw}: a lane is not an object")
            lanes.append({
                "lane": _need(lane, "lane", (int,), rw), "label": _need(lane, "label", (str,), rw),
                "preset": _need(lane, "preset", (str,), rw, optional=True),
                "model": _need(lane, "model", (str,), rw),
                "params": _params(lane.get("params"), rw, empty="{}"),
                "message_key": key(lane.get("message_id"), rw, "lane message"),
            })
        out.append({
            "user_key": key(run.get("user_message_id"), rw, "user_message_id", optional=False),
            "blind": int(bool(run.get("blind"))),
            "picked_key": key(run.get("picked_message_id"), rw, "picked_message_id"),
            "note": _need(run, "note", (str,), rw, optional=True),
            "created_at": _need(run, "created_at", (str,), rw, optional=True) or now(),
            "lanes": lanes,
        })
    return out


# -- writing -------------------------------------------------------------------------------

_MESSAGE_COLUMNS = (
    "id", "conversation_id", "parent_id", "role", "name", "content", "created_at", "updated_at",
    "model", "params", "endpoint", "status", "error", "finish_reason", "prompt_tokens",
    "completion_tokens", "prompt_tokens_local", "completion_tokens_local", "tokens_exact",
    "ttft", "duration", "system_fingerprint", "logprobs", "source_id", "parts", "tool_calls",
    "tool_call_id", "reasoning", "reasoning_tokens", "reasoning_tokens_local", "reasoning_duration",
)
_CONVERSATION_COLUMNS = (
    "id", "title", "created_at", "updated_at", "model", "params", "system_prompt", "endpoint",
    "pinned", "archived", "source", "source_id", "title_source", "kind", "document",
)
_INSERT_MESSAGE = (f"INSERT INTO messages ({', '.join(_MESSAGE_COLUMNS)})"
                   f" VALUES ({', '.join('?' * len(_MESSAGE_COLUMNS))})")
_INSERT_CONVERSATION = (f"INSERT INTO conversations ({', '.join(_CONVERSATION_COLUMNS)})"
                        f" VALUES ({', '.join('?' * len(_CONVERSATION_COLUMNS))})")


def _next_id(db: Any, table: str) -> int:
    # AUTOINCREMENT never reuses an id, even of a deleted row: start after both.
    seq = db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    top = db.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
    return max(seq[0] if seq else 0, top or 0) + 1


def _existing(db: Any, plan: _Plan) -> tuple[int | None, bool]:
    """The conversation already here for this plan, and whether it is the exported original."""
    row = db.execute("SELECT id FROM conversations WHERE source = ? AND source_id = ?",
                     (plan.source, plan.source_id)).fetchone()
    if row:
        return row[0], False
    if plan.origin is not None and plan.source == "chat-tui":
        # An export of a conversation made in this very database.
        origin_id, origin_created = (
            plan.source_id.split("@", 1) if "@" in plan.source_id else (None, None))
        if origin_id and origin_id.isdigit():
            row = db.execute(
                "SELECT id FROM conversations WHERE id = ? AND created_at = ? AND source IS NULL",
                (int(origin_id), origin_created)).fetchone()
            if row:
                return row[0], True
    return None, False


def _message_row(m: dict[str, Any], mid: int, cid: int | None, parent: int | None) -> tuple:
    return (
        mid, cid, parent, m["role"], m["name"], m["content"], m["created_at"],
        m["updated_at"], m["model"], m.get("params"), m.get("endpoint"), m["status"],
        m.get("error"), m["finish_reason"], m.get("prompt_tokens"), m.get("completion_tokens"),
        m.get("prompt_tokens_local"), m.get("completion_tokens_local"), m.get("tokens_exact"),
        m.get("ttft"), m.get("duration"), m.get("system_fingerprint"), m.get("logprobs"),
        m["key"], m.get("parts"), m.get("tool_calls"), m.get("tool_call_id"),
        m.get("reasoning"), m.get("reasoning_tokens"), m.get("reasoning_tokens_local"), m.get("reasoning_duration"),
    )


def _write(store: Store, plans: Iterator[tuple[Any, int]], total: int,
           progress: Progress | None) -> ImportReport:
    """Write the plans in one transaction: an error anywhere (a bad item late in the file
    included, since items are parsed as they are written) rolls back everything."""
    report = ImportReport(imported=0, skipped=[], messages=0)
    shown = -1  # percent last reported
    if progress:
        progress(0, total)
    with store._write() as db:
        next_cid, next_mid = _next_id(db, "conversations"), _next_id(db, "messages")
        conv_rows: list[tuple] = []
        msg_rows: list[tuple] = []
        held = 0  # characters of message text waiting in msg_rows
        runs: list[tuple[int, dict[str, Any], dict[str, int]]] = []
        files: list[tuple[int, _Plan, dict[str, int], set[int], bool]] = []
        done = 0
        for plan, done in plans:
            if progress and done * 100 // max(total, 1) > shown:
                shown = done * 100 // max(total, 1)
                progress(done, total)
            if not isinstance(plan, _Plan):
                report.skipped.append(plan)
                continue
            cid, original = _existing(db, plan)
            is_new = cid is None
            if is_new:
                cid, next_cid = next_cid, next_cid + 1
            ids: dict[str, int] = {}
            if not is_new:  # here already: add only what is new
                for mid, key in db.execute(
                    "SELECT id, source_id FROM messages WHERE conversation_id = ?"
                    + ("" if original else " AND source_id IS NOT NULL"), (cid,)
                ):
                    ids[key if key is not None else str(mid)] = mid
            added, orphans = [], 0
            for m in plan.messages:
                if m["key"] in ids:
                    continue
                parent = m["parent_key"]
                if parent is not None and parent not in ids:
                    orphans += 1  # its parent was deleted here: the branch stays deleted
                    continue
                ids[m["key"]] = next_mid
                added.append(_message_row(m, next_mid, cid, None if parent is None else ids[parent]))
                next_mid += 1
            if is_new:
                c = plan.columns
                conv_rows.append((cid, c["title"], c["created_at"], c["updated_at"], c["model"],
                                  c["params"], c["system_prompt"], c["endpoint"], c["pinned"],
                                  c["archived"], plan.source, plan.source_id,
                                  "import",  # never replaced by an auto-title
                                  c["kind"], c["document"]))
                report.imported += 1
            elif added:
                report.updated += 1
                db.execute("UPDATE conversations SET updated_at = max(updated_at, ?)"
                           " WHERE id = ?", (plan.columns["updated_at"], cid))
            else:
                report.skipped.append((plan.label, "already imported"))
            if orphans:
                report.skipped.append((plan.label, f"{orphans} messages under a message"
                                       " deleted here left out"))
            if added or is_new:
                msg_rows += added
                held += sum(len(row[5]) for row in added)
                report.messages += len(added)
                report.conversation_ids.append(cid)
                new_ids = {row[0] for row in added}
                runs += [(cid, run, ids) for run in plan.compare_runs
                         if ids.get(run["user_key"]) in new_ids]
                if plan.attachments or plan.images:
                    files.append((cid, plan, ids, new_ids, is_new))
            # Written in batches, small enough that the text read so far is not all held.
            if len(msg_rows) >= 5000 or held >= _BATCH_CHARS:
                _flush(db, conv_rows, msg_rows)
                held = 0
        _flush(db, conv_rows, msg_rows)
        for cid, run, ids in runs:
            cur = db.execute(
                "INSERT INTO compare_runs (conversation_id, user_message_id, blind,"
                " picked_message_id, note, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (cid, ids[run["user_key"]], run["blind"],
                 ids.get(run["picked_key"]) if run["picked_key"] else None,
                 run["note"], run["created_at"]))
            db.conn.executemany(
                "INSERT INTO compare_lanes (run_id, lane, label, preset, model, params,"
                " message_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(cur.lastrowid, lane["lane"], lane["label"], lane["preset"], lane["model"],
                  lane["params"], ids.get(lane["message_key"]) if lane["message_key"] else None)
                 for lane in run["lanes"]])
        for cid, plan, ids, new_ids, is_new in files:
            _write_files(store, db, cid, plan, ids, new_ids, is_new)
    if progress and shown < 100:
        progress(total, total)
    return report


_BATCH_CHARS = 8 << 20


def _write_files(store: Store, db: Any, cid: int, plan: _Plan, ids: dict[str, int], new_ids: set[int],
                 is_new: bool) -> None:
    """The attachment and image rows of the messages just added, and their files in the blob
    store (content-addressed: a file already there is not written again; one left by an import
    that rolls back is harmless)."""
    from chat_tui.store.attachments import store_blob_root
    from chat_tui.store.blobs import save_blob

    attached = [a for a in plan.attachments if ids.get(a["message_key"]) in new_ids]
    images = [i for i in plan.images
              if (ids.get(i["message_key"]) in new_ids if i["message_key"] is not None else is_new)]
    root = store_blob_root(store)
    for digest in {r["sha256"] for r in (*attached, *images)}:
        if digest in plan.blobs:
            save_blob(root, plan.blobs[digest])
    db.conn.executemany(
        "INSERT INTO attachments (message_id, position, kind, name, mime, size, sha256, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(ids[a["message_key"]], a["position"], a["kind"], a["name"], a["mime"], a["size"], a["sha256"],
          a["created_at"]) for a in attached])
    db.conn.executemany(
        "INSERT INTO images (created_at, kind, prompt, revised_prompt, model, params, sha256, mime, width,"
        " height, cost, conversation_id, message_id, endpoint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(i["created_at"], i["kind"], i["prompt"], i["revised_prompt"], i["model"], i["params"], i["sha256"],
          i["mime"], i["width"], i["height"], i["cost"], cid,
          None if i["message_key"] is None else ids[i["message_key"]], i["endpoint"]) for i in images])


def _flush(db: Any, conv_rows: list[tuple], msg_rows: list[tuple]) -> None:
    # Conversations before their messages: the foreign keys check each row.
    db.conn.executemany(_INSERT_CONVERSATION, conv_rows)
    db.conn.executemany(_INSERT_MESSAGE, msg_rows)
    conv_rows.clear()
    msg_rows.clear()
