"""`chat-tui complete`: the legacy completions endpoint (prompt, suffix, echo, logprobs, best_of)."""

from __future__ import annotations

import asyncio
from typing import Any

from chat_tui.cli.context import Context, parse_options, pick_model, read_prompt
from chat_tui.cli.output import answer, dump_json


def run(ctx: Context) -> int:
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
            response = await client.completions.create(prompt, model, params)
            if args.json:
                dump_json(response.raw)
            else:
                for index in sorted({e.index for e in response.events if isinstance(e, TextDelta)} or {0}):
                    answer(response.text(index) + "\n")
            return 0
        ends_newline = True
        async for event in client.completions.stream(prompt, model, params):
            if isinstance(event, TextDelta) and event.index == 0:
                answer(event.text)
                ends_newline = event.text.endswith("\n")
        if not ends_newline:
            answer("\n")
        return 0
    finally:
        await client.aclose()
