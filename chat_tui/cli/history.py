"""`chat-tui history …`: list, search, show, export, import, delete/restore/purge, pin, archive."""

from __future__ import annotations

import sys
from typing import Any

from chat_tui.cli.context import CLIError, Context
from chat_tui.core.text import one_line
from chat_tui.cli.output import answer, dump_json, progress as show_progress


def run(ctx: Context) -> int:
    action = ctx.args.history_command
    handler = {
        "list": _list, "search": _search, "show": _show, "export": _export, "import": _import,
        "delete": _delete, "restore": _restore, "trash": _trash, "purge": _purge,
        "pin": _flag, "unpin": _flag, "archive": _flag, "unarchive": _flag,
    }.get(action)
    if handler is None:
        raise CLIError(f"unknown history action {action}", 2)
    return handler(ctx)


def _filter(args: Any) -> Any:
    from chat_tui.services.history import make_filter

    try:
        return make_filter(
            model=getattr(args, "model", None), endpoint=args.filter_endpoint, since=args.since,
            until=args.until, params=args.param, include_archived=args.archived, pinned_only=args.pinned,
        )
    except ValueError as exc:
        raise CLIError(str(exc), 2) from None


def _page(ctx: Context, query: str | None) -> list[Any]:
    from chat_tui.services import history

    try:
        return history.page(ctx.store(), query=query, filters=_filter(ctx.args), limit=ctx.args.limit).rows
    except ValueError as exc:
        raise CLIError(str(exc), 2) from None


def _list(ctx: Context) -> int:
    rows = _page(ctx, None)
    if ctx.args.json:
        dump_json([_plain(r) for r in rows])
        return 0
    for r in rows:
        mark = "*" if r.pinned else ("a" if r.archived else " ")
        print(f"{r.id:>6}{mark} {_date(r.updated_at)}  {(r.model or '-'):<24} {r.message_count:>4} msgs  {_oneline(r.title or r.preview or None)}")
    return 0


def _search(ctx: Context) -> int:
    mode = "meaning" if ctx.args.semantic else "both" if ctx.args.hybrid else "words"
    if mode != "words":
        import asyncio

        from chat_tui.cli.embed import print_rows

        print_rows(ctx, asyncio.run(_by_meaning(ctx, mode)), ctx.args.query)
        return 0
    rows = _page(ctx, ctx.args.query)
    if ctx.args.json:
        dump_json([{**_plain(r), "conversation_id": r.id, "message_id": r.hit_message_id} for r in rows])
        return 0
    if not rows:
        print(f"chat-tui: no messages match {ctx.args.query!r}", file=sys.stderr)
    from chat_tui.cli.embed import print_hits

    print_hits(rows)
    return 0


async def _by_meaning(ctx: Context, mode: str) -> list[Any]:
    """--semantic (vectors only) or --hybrid (full text and vectors, merged by rank)."""
    from chat_tui.cli.embed import _api, setup, update_index
    from chat_tui.services.embeddings import search

    found = setup(ctx, required=True)
    client = ctx.client()
    try:
        await update_index(ctx, client, found)
        return await _api(search(ctx.store(), client, found, ctx.args.query, mode,
                                 filters=_filter(ctx.args), limit=ctx.args.limit))
    except ValueError as exc:
        raise CLIError(str(exc), 2) from None
    finally:
        await client.aclose()


def _show(ctx: Context) -> int:
    from chat_tui.services.history import export_json, export_markdown

    store = ctx.store()
    conversation = _conversation(store, ctx.args.id)
    if ctx.args.json:
        dump_json(export_json(store, [conversation.id]))
    else:
        answer(export_markdown(store, conversation))
    return 0


def _export(ctx: Context) -> int:
    import json

    from chat_tui.services.history import export_json, export_markdown

    args, store = ctx.args, ctx.store()
    conversations = [_conversation(store, cid) for cid in args.ids]
    if args.format == "json":
        text = json.dumps(export_json(store, list(args.ids)), ensure_ascii=False, indent=2) + "\n"
    else:
        text = "\n---\n\n".join(export_markdown(store, c) for c in conversations)
    if args.output:
        from pathlib import Path

        Path(args.output).write_text(text, encoding="utf-8")
    else:
        answer(text)  # the conversations' own text, as an export to a file keeps it
    return 0


def _import(ctx: Context) -> int:
    from pathlib import Path

    from chat_tui.services.history import import_file
    from chat_tui.store.importer import ImportError_

    args = ctx.args
    progress = None
    if sys.stderr.isatty() and not args.json:
        def progress(done: int, total: int) -> None:
            show_progress(f"chat-tui: importing… {done * 100 // max(total, 1)}%" + ("" if done < total else "\n"))
    try:
        report = import_file(ctx.db_path, Path(args.file), progress=progress)
    except ImportError_ as exc:
        raise CLIError(str(exc)) from None
    if args.json:
        dump_json({
            "format": report.format, "imported": report.imported, "updated": report.updated,
            "messages": report.messages, "conversation_ids": report.conversation_ids,
            "skipped": [{"conversation": label, "reason": reason} for label, reason in report.skipped],
        })
        return 0
    line = f"imported {report.imported} conversations ({report.messages} messages)"
    if report.updated:
        line += f", added new messages to {report.updated}"
    line += f", skipped {len(report.skipped)}"
    if report.skipped:
        shown = report.skipped[:10]
        line += ": " + "; ".join(f"{label} ({reason})" for label, reason in shown)
        if len(report.skipped) > len(shown):
            line += f"; … and {len(report.skipped) - len(shown)} more"
    print(line)
    return 0


def _delete(ctx: Context) -> int:
    from chat_tui.services.history import TRASH_DAYS, delete

    store = ctx.store()
    conversations = [_conversation(store, cid) for cid in ctx.args.ids]
    for c in conversations:
        delete(store, c.id)
    ids = " ".join(str(c.id) for c in conversations)
    print(f"moved {_count(len(conversations))} to the trash (restore: chat-tui history restore {ids}; "
          f"purged after {TRASH_DAYS} days, or now with: chat-tui history purge)")
    return 0


def _restore(ctx: Context) -> int:
    from chat_tui.services.history import restore

    store = ctx.store()
    for cid in ctx.args.ids:
        conversation = store.get_conversation(cid)
        if conversation is None or conversation.deleted_at is None:
            raise CLIError(f"conversation {cid} is not in the trash")
    for cid in ctx.args.ids:
        restore(store, cid)
        print(f"restored conversation {cid}")
    return 0


def _trash(ctx: Context) -> int:
    from chat_tui.services.history import trash

    rows = trash(ctx.store())
    if ctx.args.json:
        dump_json([{"id": c.id, "title": c.title, "deleted_at": c.deleted_at} for c in rows])
        return 0
    if not rows:
        print("chat-tui: the trash is empty", file=sys.stderr)
    for c in rows:
        print(f"{c.id:>6}  deleted {_date(c.deleted_at)}  {_oneline(c.title)}")
    return 0


def _purge(ctx: Context) -> int:
    from chat_tui.services.history import purge, trash

    store = ctx.store()
    waiting = trash(store)
    if not waiting:
        print("chat-tui: the trash is empty", file=sys.stderr)
        return 0
    if not ctx.args.yes:
        if not sys.stdin.isatty():
            raise CLIError("refusing to purge without confirmation: pass --yes (stdin is not a terminal)", 2)
        print(f"Delete the {_count(len(waiting))} in the trash for good? [y/N] ", end="", file=sys.stderr, flush=True)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print("chat-tui: nothing deleted", file=sys.stderr)
            return 1
    print(f"deleted {_count(purge(store))} for good")
    return 0


def _flag(ctx: Context) -> int:
    from chat_tui.services.history import archive, pin

    action = ctx.args.history_command
    store = ctx.store()
    for cid in ctx.args.ids:
        _conversation(store, cid)
    for cid in ctx.args.ids:
        if action in ("pin", "unpin"):
            pin(store, cid, action == "pin")
        else:
            archive(store, cid, action == "archive")
        done = {"pin": "pinned", "unpin": "unpinned", "archive": "archived", "unarchive": "unarchived"}[action]
        print(f"{done} conversation {cid}")
    return 0


def _count(n: int) -> str:
    return f"{n} conversation{'' if n == 1 else 's'}"


def _conversation(store: Any, cid: int) -> Any:
    conversation = store.get_conversation(cid)
    if conversation is None or conversation.deleted_at is not None:
        raise CLIError(f"no conversation {cid}")
    return conversation


def _plain(obj: Any) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    return asdict(obj) if is_dataclass(obj) else dict(obj)


def _date(value: Any) -> str:
    from datetime import datetime, timezone

    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M")
    return str(value)[:16].replace("T", " ")


def _oneline(text: str | None) -> str:
    return one_line(text or "(untitled)")
