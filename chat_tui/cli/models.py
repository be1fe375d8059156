"""`chat-tui models`: the endpoint's models, with context windows where known."""

from __future__ import annotations

import asyncio
import sys

from chat_tui.cli.context import Context
from chat_tui.cli.output import dump_json


def run(ctx: Context) -> int:
    return asyncio.run(_models(ctx))


async def _models(ctx: Context) -> int:
    from chat_tui.core.models_table import model_info

    client = ctx.client()
    try:
        models = await client.models.list()
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
