"""The non-interactive commands: ask, complete, models, tokens, history."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from chat_tui.cli import CLIError, Context, dump_json, parse_options, pick_model, read_prompt


def run(ctx: Context, command: str) -> int:
    handler = {
        "ask": cmd_ask,
        "complete": cmd_complete,
        "compare": cmd_compare,
        "models": cmd_models,
        "tokens": cmd_tokens,
        "history": cmd_history,
    }[command]
    return handler(ctx)


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _title_from(prompt: str) -> str:
    from chat_tui.core.titles import title_from_prompt  # the same provisional title as the app's

    return title_from_prompt(prompt)


# -- ask -----------------------------------------------------------------------------------


def cmd_ask(ctx: Context) -> int:
    args = ctx.args
    prompt = read_prompt(args.prompt)
    options = parse_options(args.option)
    return asyncio.run(_ask(ctx, prompt, options))


async def _ask(ctx: Context, prompt: str, options: Any) -> int:
    from chat_tui.api.events import TextDelta
    from chat_tui.core.messages import ChatMessage
    from chat_tui.core.params import ChatParams, ParamError
    from chat_tui.replies import run_reply
    from chat_tui.store.records import request_history

    args = ctx.args
    store = ctx.store()
    conversation = None
    if args.cid is not None or args.cont:
        cid = args.cid if args.cid is not None else store.last_conversation_id()
        conversation = store.get_conversation(cid) if cid is not None else None
        if conversation is None:
            raise CLIError(f"no conversation {cid}" if cid is not None else "no conversation to continue yet")

    client = ctx.client()
    try:
        model = await pick_model(ctx, client, conversation.model if conversation else None)
        try:
            base = ChatParams.from_dict(conversation.params) if conversation and conversation.params else ChatParams()
            params = base.merged(options)
        except ParamError as exc:
            raise CLIError(f"invalid option {exc}", 2) from None
        system = args.system if args.system is not None else (conversation.system_prompt if conversation else None)

        if conversation is None:
            cid = store.create_conversation(
                title=_title_from(prompt), model=model, params=params.as_dict(), system_prompt=system, endpoint=ctx.endpoint.name
            )
            history = []
        else:
            cid = conversation.id
            history = store.thread(cid)
            store.set_conversation_defaults(cid, model=model, params=params.as_dict(), system_prompt=system)
        parent_id = history[-1].id if history else None
        user_id = store.add_message(cid, "user", prompt, parent_id=parent_id)

        messages = [ChatMessage("system", system)] if system else []
        messages += request_history(history)
        messages.append(ChatMessage("user", prompt))

        stream = not (args.no_stream or args.json)
        streamed = {"any": False, "ends_newline": True}

        def on_event(event: Any) -> None:
            if stream and isinstance(event, TextDelta) and event.index == 0:
                _out(event.text)
                streamed["any"] = True
                streamed["ends_newline"] = event.text.endswith("\n")

        counter = ctx.counter()
        result = await run_reply(
            client, store, counter,
            conversation_id=cid, parent_id=user_id, messages=messages, model=model,
            params=params, endpoint_name=ctx.endpoint.name, on_event=on_event, stream=stream,
        )
    finally:
        await client.aclose()

    if args.json and result.status == "complete":
        raw = store.get_message(result.message_id)
        dump_json(_raw_like(result, raw))
    elif stream:
        if streamed["any"] and not streamed["ends_newline"]:
            _out("\n")
        for index in sorted(result.choices):
            if index:
                _out(f"\n--- choice {index} ---\n{result.choices[index].text}\n")
    else:
        for index in sorted(result.choices):
            head = f"--- choice {index} ---\n" if len(result.choices) > 1 else ""
            text = result.choices[index].text
            _out(f"{head}{text}{'' if text.endswith(chr(10)) else chr(10)}")
    if args.stats:
        print(_stats_line(result), file=sys.stderr)
    if result.status == "error":
        kept = " (partial answer saved)" if result.text else ""
        raise CLIError(f"{result.error}{kept}")
    return 0


def _raw_like(result: Any, row: Any) -> dict[str, Any]:
    """--json: the server's response as OpenAI shapes it, plus where chat-tui saved it."""
    raw = dict(getattr(result, "raw", None) or {})
    if not raw:
        raw = {
            "object": "chat.completion",
            "model": row.model if row else None,
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": c.text}, "finish_reason": c.finish_reason}
                for i, c in sorted(result.choices.items())
            ],
        }
        if result.usage:
            raw["usage"] = result.usage.raw or {
                "prompt_tokens": result.usage.prompt_tokens,
                "completion_tokens": result.usage.completion_tokens,
                "total_tokens": result.usage.total_tokens,
            }
    raw["chat_tui"] = {"conversation_id": row.conversation_id if row else None, "message_id": result.message_id}
    return raw


def _stats_line(result: Any) -> str:
    t = result.timing
    parts = []
    if t and t.ttft is not None:
        parts.append(f"first token {t.ttft:.2f}s")
    if t:
        parts.append(f"total {t.total:.2f}s")
    if t and t.tokens_per_second:
        parts.append(f"{t.tokens_per_second:.1f} tok/s")
    if result.usage:
        parts.append(f"usage {result.usage.prompt_tokens}+{result.usage.completion_tokens} tokens")
    if result.prompt_tokens_local is not None:
        mark = "" if result.tokens_exact else "~"
        parts.append(f"tiktoken {mark}{result.prompt_tokens_local}+{mark}{result.completion_tokens_local.get(0, 0)}")
    parts.append(result.status)
    return "chat-tui: " + " · ".join(parts)


# -- compare -------------------------------------------------------------------------------


def cmd_compare(ctx: Context) -> int:
    args = ctx.args
    prompt = read_prompt(args.prompt)
    base = parse_options(args.option)
    if not args.lane and not args.sweep:
        raise CLIError("give lanes with --lane SPEC (2-4 of them) or --sweep NAME=V1,V2,…", 2)
    return asyncio.run(_compare(ctx, prompt, base))


async def _compare(ctx: Context, prompt: str, base: Any) -> int:
    from chat_tui.comparing import run_compare
    from chat_tui.core.compare import LaneError, check_lanes, lane_from_spec, sweep
    from chat_tui.core.messages import ChatMessage
    from chat_tui.core.models_table import estimate_cost, model_info

    args = ctx.args
    client = ctx.client()
    try:
        model = await pick_model(ctx, client)
        try:
            lanes = [lane_from_spec(spec, model, base) for spec in args.lane]
            if args.sweep:
                lanes += sweep(args.sweep, model, base)
            if len(lanes) == 1:
                lanes.insert(0, lane_from_spec("", model, base))  # the base settings vs one change
            check_lanes(lanes)
        except LaneError as exc:
            raise CLIError(str(exc), 2) from None
        store = ctx.store()
        cid = store.create_conversation(title=_title_from(prompt), model=model, params=base.as_dict(), system_prompt=args.system, endpoint=ctx.endpoint.name)
        user_id = store.add_message(cid, "user", prompt)
        messages = ([ChatMessage("system", args.system)] if args.system else []) + [ChatMessage("user", prompt)]
        if not args.json:
            print(f"chat-tui: comparing {len(lanes)} lanes…", file=sys.stderr, flush=True)
        outcome = await run_compare(
            client, store, ctx.counter(),
            conversation_id=cid, user_message_id=user_id, messages=messages, lanes=lanes,
            endpoint_name=ctx.endpoint.name, blind=args.blind, stream=not args.no_stream,
        )
    finally:
        await client.aclose()

    rows = []
    for lane, result in zip(outcome.lanes, outcome.results):
        timing = result.timing if result else None
        usage = result.usage if result else None
        completion = (usage.completion_tokens if usage and usage.completion_tokens is not None else (result.completion_tokens_local.get(0) if result else None))
        prompt_tokens = usage.prompt_tokens if usage and usage.prompt_tokens is not None else (result.prompt_tokens_local if result else None)
        info = model_info(lane.model, ctx.config.models)
        cost = estimate_cost(info, prompt_tokens or 0, completion or 0) if info and completion is not None else None
        tps = None
        if timing and completion and timing.ttft is not None and timing.total > timing.ttft:
            tps = completion / (timing.total - timing.ttft)
        rows.append({
            "label": lane.label,
            "model": lane.model,
            "params": lane.params.as_dict(),
            "text": result.text if result else "",
            "status": result.status if result else "cancelled",
            "error": str(result.error) if result and result.error else None,
            "message_id": result.message_id if result else None,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                      "from_server": bool(usage and usage.completion_tokens is not None)},
            "ttft": timing.ttft if timing else None,
            "duration": timing.total if timing else None,
            "tokens_per_second": tps,
            "cost": cost,
            "finish_reason": result.choices[0].finish_reason if result and 0 in result.choices else None,
            "system_fingerprint": result.meta.system_fingerprint if result and result.meta else None,
        })
    if args.json:
        dump_json({"conversation_id": cid, "run_id": outcome.run_id, "prompt": prompt, "blind": args.blind, "lanes": rows})
    else:
        for row in rows:
            _out(f"── {row['label']} {'─' * max(3, 60 - len(row['label']))}\n")
            _out((row["text"] or f"[{row['status']}] {row['error'] or ''}").rstrip("\n") + "\n\n")
        _out(_stats_table(rows))
    failed = [r for r in rows if r["status"] == "error"]
    if failed:
        print(f"chat-tui: error: {len(failed)} of {len(rows)} lanes failed: " + "; ".join(f"{r['label']}: {r['error']}" for r in failed), file=sys.stderr)
        return 1
    return 0


def _stats_table(rows: list[dict[str, Any]]) -> str:
    head = ["lane", "first token", "total", "tokens", "tok/s", "cost", "finish", "fingerprint"]
    body = []
    for r in rows:
        tokens = r["usage"]["completion_tokens"]
        body.append([
            r["label"],
            f"{r['ttft']:.2f}s" if r["ttft"] is not None else "-",
            f"{r['duration']:.2f}s" if r["duration"] is not None else "-",
            ("" if r["usage"]["from_server"] else "~") + str(tokens) if tokens is not None else "-",
            f"{r['tokens_per_second']:.0f}" if r["tokens_per_second"] else "-",
            f"${r['cost']:.5f}" if r["cost"] is not None else "-",
            r["finish_reason"] or r["status"],
            r["system_fingerprint"] or "-",
        ])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip() for row in [head, *body]]
    return "\n".join(lines) + "\n"


# -- complete (legacy) ---------------------------------------------------------------------


def cmd_complete(ctx: Context) -> int:
    prompt = read_prompt(ctx.args.prompt)
    params = parse_options(ctx.args.option, kind="completion")
    return asyncio.run(_complete(ctx, prompt, params))


async def _complete(ctx: Context, prompt: str, params: Any) -> int:
    from chat_tui.api.events import TextDelta

    args = ctx.args
    client = ctx.client()
    try:
        model = await pick_model(ctx, client)
        if args.json or args.no_stream:
            response = await client.complete(prompt, model, params)
            if args.json:
                dump_json(response.raw)
            else:
                for index in sorted({e.index for e in response.events if isinstance(e, TextDelta)} or {0}):
                    _out(response.text(index) + "\n")
            return 0
        ends_newline = True
        async for event in client.stream_complete(prompt, model, params):
            if isinstance(event, TextDelta) and event.index == 0:
                _out(event.text)
                ends_newline = event.text.endswith("\n")
        if not ends_newline:
            _out("\n")
        return 0
    finally:
        await client.aclose()


# -- models --------------------------------------------------------------------------------


def cmd_models(ctx: Context) -> int:
    return asyncio.run(_models(ctx))


async def _models(ctx: Context) -> int:
    from chat_tui.core.models_table import model_info

    client = ctx.client()
    try:
        models = await client.list_models()
    finally:
        await client.aclose()
    overrides = ctx.config.models
    if ctx.args.json:
        dump_json(
            [
                {
                    "id": m.id,
                    "owned_by": m.owned_by,
                    "created": m.created,
                    "context_window": (info.context_window if (info := model_info(m.id, overrides)) else None),
                }
                for m in models
            ]
        )
        return 0
    if not models:
        print(f"chat-tui: {ctx.endpoint.base_url} lists no models (any id can still be passed with -m)", file=sys.stderr)
        return 0
    width = max(len(m.id) for m in models)
    for m in models:
        info = model_info(m.id, overrides)
        ctxw = f"{info.context_window:>9,} tokens" if info and info.context_window else ""
        print(f"{m.id:<{width}}  {ctxw}".rstrip())
    return 0


# -- tokens --------------------------------------------------------------------------------


def cmd_tokens(ctx: Context) -> int:
    args = ctx.args
    words = list(args.text)
    if words == ["-"] or (not words and not sys.stdin.isatty()):
        text = sys.stdin.read()
    elif words:
        text = " ".join(words)
    else:
        raise CLIError("no text given (pass it as an argument, or - to read stdin)", 2)
    model = args.model or ctx.endpoint.default_model or "gpt-4o"
    count = ctx.counter().count_text(text, model)
    if args.json:
        dump_json({"tokens": count.tokens, "exact": count.exact, "encoding": count.encoding, "model": model})
    else:
        print(count.tokens)
        if not count.exact:
            print(f"chat-tui: estimate: no exact tokenizer available for {model} (counted with {count.encoding})", file=sys.stderr)
    return 0


# -- history -------------------------------------------------------------------------------


def cmd_history(ctx: Context) -> int:
    from chat_tui.store import history

    action = ctx.args.history_command
    store = ctx.store()
    args = ctx.args
    if action in ("list", "search"):
        filters = _history_filter(args)
        try:
            rows = history.history_page(store, query=args.query if action == "search" else None,
                                        filters=filters, limit=args.limit)
        except ValueError as exc:
            raise CLIError(str(exc), 2) from None
        if action == "list":
            if args.json:
                dump_json([_plain(r) for r in rows])
            for r in [] if args.json else rows:
                mark = "*" if r.pinned else ("a" if r.archived else " ")
                print(f"{r.id:>6}{mark} {_date(r.updated_at)}  {(r.model or '-'):<24} {r.message_count:>4} msgs  {_oneline(r.title or r.preview or None)}")
            return 0
        if args.json:
            dump_json([{**_plain(r), "conversation_id": r.id, "message_id": r.hit_message_id} for r in rows])
        else:
            if not rows:
                print(f"chat-tui: no messages match {args.query!r}", file=sys.stderr)
            for r in rows:
                print(f"{r.id:>6}  {_oneline(r.title or r.preview or None)}\n        {_oneline(r.snippet)}")
        return 0
    if action == "import":
        return _history_import(ctx)
    if action == "export":
        return _history_export(ctx)
    if action == "delete":
        return _history_delete(ctx)
    if action in ("pin", "unpin", "archive", "unarchive"):
        for cid in args.ids:
            _conversation(store, cid)
        for cid in args.ids:
            if action in ("pin", "unpin"):
                history.set_pinned(store, cid, action == "pin")
            else:
                history.set_archived(store, cid, action == "archive")
            done = {"pin": "pinned", "unpin": "unpinned", "archive": "archived", "unarchive": "unarchived"}[action]
            print(f"{done} conversation {cid}")
        return 0
    conversation = _conversation(store, args.id)
    if action == "show":
        if args.json:
            dump_json(store.export_conversation(args.id))
        else:
            _out(_markdown(store, conversation))
        return 0
    raise CLIError(f"unknown history action {action}", 2)


def _conversation(store: Any, cid: int) -> Any:
    conversation = store.get_conversation(cid)
    if conversation is None or conversation.deleted_at is not None:
        raise CLIError(f"no conversation {cid}")
    return conversation


def _history_filter(args: Any) -> Any:
    import re

    from chat_tui.store.history import HistoryFilter

    params = []
    for expr in args.param:
        m = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|!=|==|=|<|>)\s*(\S.*?)\s*", expr)
        if not m:
            raise CLIError(f"--param {expr!r}: expected NAME OP VALUE, e.g. 'temperature>1'", 2)
        name, op, value = m.groups()
        try:
            number: Any = json.loads(value)
        except ValueError:
            number = value
        params.append((name, op, number))
    return HistoryFilter(
        model=getattr(args, "model", None), endpoint=args.filter_endpoint, since=args.since,
        until=args.until, params=tuple(params), include_archived=args.archived,
        pinned_only=args.pinned,
    )


def _history_export(ctx: Context) -> int:
    from chat_tui.store.importer import export_conversations

    args, store = ctx.args, ctx.store()
    conversations = [_conversation(store, cid) for cid in args.ids]
    if args.format == "json":
        data = (store.export_conversation(args.ids[0]) if len(args.ids) == 1
                else export_conversations(store, args.ids))
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    else:
        text = "\n---\n\n".join(_markdown(store, c) for c in conversations)
    if args.output:
        from pathlib import Path

        Path(args.output).write_text(text, encoding="utf-8")
    else:
        _out(text)
    return 0


def _history_import(ctx: Context) -> int:
    from chat_tui.store.importer import ImportError_, import_file

    args, store = ctx.args, ctx.store()
    progress = None
    if sys.stderr.isatty() and not args.json:
        def progress(done: int, total: int) -> None:
            print(f"\rchat-tui: importing… {done * 100 // max(total, 1)}%",
                  end="" if done < total else "\n", file=sys.stderr, flush=True)
    try:
        report = import_file(store, args.file, progress=progress)
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


def _history_delete(ctx: Context) -> int:
    args, store = ctx.args, ctx.store()
    conversations = [_conversation(store, cid) for cid in args.ids]
    if not args.yes:
        if not sys.stdin.isatty():
            raise CLIError("refusing to delete without confirmation: pass --yes (stdin is not a terminal)", 2)
        names = ", ".join(f"{c.id} ({_oneline(c.title)})" for c in conversations)
        print(f"Delete {'conversation' if len(conversations) == 1 else 'conversations'} {names} for good? [y/N] ",
              end="", file=sys.stderr, flush=True)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print("chat-tui: nothing deleted", file=sys.stderr)
            return 1
    for c in conversations:
        store.delete_conversation(c.id)
    print(f"deleted {len(conversations)} {'conversation' if len(conversations) == 1 else 'conversations'}")
    return 0


def _plain(obj: Any) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    return asdict(obj) if is_dataclass(obj) else dict(obj)


def _date(value: Any) -> str:
    from datetime import datetime, timezone

    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M")
    return str(value)[:16].replace("T", " ")


def _oneline(text: str | None) -> str:
    return " ".join((text or "(untitled)").split())


def _markdown(store: Any, conversation: Any) -> str:
    """The current thread as Markdown (the latest branch at each fork)."""
    lines = [f"# {_oneline(conversation.title)}", ""]
    meta = [f"conversation {conversation.id}"]
    if conversation.model:
        meta.append(f"model `{conversation.model}`")
    lines += ["_" + ", ".join(meta) + "_", ""]
    if conversation.system_prompt:
        lines += ["## System", "", conversation.system_prompt, ""]
    for m in store.thread(conversation.id):
        head = m.role.capitalize()
        if m.role == "assistant" and m.model:
            head += f" ({m.model})"
        if m.status and m.status not in ("complete",) and m.role == "assistant":
            head += f" [{m.status}]"
        lines += [f"## {head}", "", m.content or "", ""]
    return "\n".join(lines)
