"""`chat-tui compare`: one prompt, 2-4 lanes at once, then a stats table."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from chat_tui.cli.context import CLIError, Context, parse_options, pick_model, read_prompt, schema_option
from chat_tui.cli.output import answer, dump_json, out


def run(ctx: Context) -> int:
    args = ctx.args
    prompt = read_prompt(args.prompt)
    base = parse_options(args.option)
    if not args.lane and not args.sweep:
        raise CLIError("give lanes with --lane SPEC (2-4 of them) or --sweep NAME=V1,V2,…", 2)
    schema = schema_option(args)
    if schema is not None:
        if base.response_format is not None:
            raise CLIError("give --schema FILE or -o response_format, not both", 2)
        base = base.with_option("response_format", schema)
    return asyncio.run(_compare(ctx, prompt, base))


async def _compare(ctx: Context, prompt: str, base: Any) -> int:
    from chat_tui.core.compare import LaneError, check_lanes, lane_from_spec, sweep
    from chat_tui.core.models_table import estimate_cost, model_info
    from chat_tui.services.chat import Settings, start_turn
    from chat_tui.services.compare import run_compare
    from chat_tui.services.presets import Presets

    args = ctx.args
    client = ctx.client()
    try:
        model = await pick_model(ctx, client)
        store = ctx.store()
        try:
            presets = Presets(store).params
            lanes = [lane_from_spec(spec, model, base, presets) for spec in args.lane]
            if args.sweep:
                lanes += sweep(args.sweep, model, base)
            if len(lanes) == 1:
                lanes.insert(0, lane_from_spec("", model, base))  # the base settings vs one change
            check_lanes(lanes)
        except LaneError as exc:
            raise CLIError(str(exc), 2) from None
        turn = start_turn(store, prompt, Settings(model, base, args.system, ctx.endpoint.name))
        if not args.json:
            print(f"chat-tui: comparing {len(lanes)} lanes…", file=sys.stderr, flush=True)
        outcome = await run_compare(
            client, store, ctx.counter(),
            conversation_id=turn.conversation_id, user_message_id=turn.user_id, messages=turn.messages,
            lanes=lanes, endpoint_name=ctx.endpoint.name, blind=args.blind, stream=not args.no_stream,
        )
    finally:
        await client.aclose()

    from chat_tui.services.structured import check_reply

    rows = []
    for lane, result in zip(outcome.lanes, outcome.results):
        verdict = check_reply(result.body, result.text) if result and result.status == "complete" else None
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
            "error": result.error_text if result else None,
            "message_id": result.message_id if result else None,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                      "from_server": bool(usage and usage.completion_tokens is not None)},
            "ttft": timing.ttft if timing else None,
            "duration": timing.total if timing else None,
            "tokens_per_second": tps,
            "cost": cost,
            "finish_reason": result.choices[0].finish_reason if result and 0 in result.choices else None,
            "system_fingerprint": result.meta.system_fingerprint if result and result.meta else None,
            "schema": verdict.summary() if verdict is not None else None,
        })
    if args.json:
        dump_json({"conversation_id": turn.conversation_id, "run_id": outcome.run_id, "prompt": prompt,
                   "blind": args.blind, "lanes": rows})
    else:
        for row in rows:
            out(f"── {row['label']} {'─' * max(3, 60 - len(row['label']))}\n")
            if row["text"]:
                answer(row["text"].rstrip("\n") + "\n\n")
            else:
                out(f"[{row['status']}] {row['error'] or ''}\n\n")
        out(_stats_table(rows))
    failed = [r for r in rows if r["status"] == "error"]
    if failed:
        print(f"chat-tui: error: {len(failed)} of {len(rows)} lanes failed: " + "; ".join(f"{r['label']}: {r['error']}" for r in failed), file=sys.stderr)
        return 1
    return 0


def _stats_table(rows: list[dict[str, Any]]) -> str:
    head = ["lane", "first token", "total", "tokens", "tok/s", "cost", "finish", "fingerprint"]
    schema = any(r["schema"] for r in rows)
    if schema:
        head.append("schema")
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
        ] + ([r["schema"] or "-"] if schema else []))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip() for row in [head, *body]]
    return "\n".join(lines) + "\n"
