"""`chat-tui embed`: the vector of a text as JSON, or (`--similar`) the saved conversations
closest to it in meaning. Also the shared step of every search by meaning from the command line:
bring the index up to date first, with the estimate of what that costs on stderr."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from chat_tui.cli.context import CLIError, Context, text_argument
from chat_tui.cli.output import dump_json
from chat_tui.cli.output import progress as show_progress

if TYPE_CHECKING:
    from chat_tui.api.client import OpenAIClient
    from chat_tui.services.embeddings import EmbeddingSetup


def run(ctx: Context) -> int:
    args = ctx.args
    text = text_argument(args.text)
    if not text.strip():
        raise CLIError("the text is empty: it has no embedding", 2)
    import asyncio  # here: `history search` by words prints with this module and needs no loop

    return asyncio.run(_similar(ctx, text) if args.similar else _vector(ctx, text))


def setup(ctx: Context, *, required: bool) -> EmbeddingSetup:
    """The profile's embedding setup (`-m` picks the model for `embed`). `required`: the
    profile must have opted in (a search indexes every saved message, which costs money)."""
    from chat_tui.core.config import DEFAULT_EMBEDDING_MODEL
    from chat_tui.services.embeddings import EmbeddingSetup, setup_for

    endpoint = ctx.start_endpoint()
    found = setup_for(endpoint)
    if found is None:
        if required:
            raise CLIError(f"search by meaning is off for profile {endpoint.name!r}: set embeddings = true"
                           f" (and embedding_model) under [profiles.{endpoint.name}] in {ctx.config.path}"
                           " (it embeds every saved message, which costs money on paid endpoints)", 2)
        model = endpoint.embedding_model or endpoint.default_model or DEFAULT_EMBEDDING_MODEL
        found = EmbeddingSetup(model, endpoint.embedding_dimensions, endpoint.is_local)
    model = getattr(ctx.args, "embedding_model", None) or getattr(ctx.args, "model", None)
    if model and not required:
        found = EmbeddingSetup(model, found.dimensions, found.local)
    return found


async def update_index(ctx: Context, client: OpenAIClient, found: EmbeddingSetup) -> None:
    """Embed the messages saved since the last search (all of them after a model change)."""
    from chat_tui.services.embeddings import Indexer

    store, counter = ctx.store(), ctx.counter()
    indexer = Indexer(client, store, counter, found)
    await _api(indexer.resolve_dimensions())
    if not indexer.pending():
        return
    import asyncio

    cost = await asyncio.to_thread(_estimate, ctx, found, indexer.dimensions)
    print(f"chat-tui: embedding {cost} with {found.model}", file=sys.stderr)
    if sys.stderr.isatty():
        def report(p: Any) -> None:
            show_progress(f"chat-tui: embedding… {p.done}/{p.total}" + ("\n" if p.done == p.total else ""))
        indexer.on_progress = report
    await _api(indexer.run())


def _estimate(ctx: Context, found: EmbeddingSetup, dimensions: int | None) -> Any:
    from chat_tui.services.embeddings import backlog_estimate
    from chat_tui.store import Store

    with Store(ctx.db_path) as store:  # its own connection: this runs in a thread
        return backlog_estimate(store, ctx.counter(), found, dimensions)


async def _api(awaitable: Any) -> Any:
    from chat_tui.api.errors import APIError
    from chat_tui.services.embeddings import EmbeddingError

    try:
        return await awaitable
    except (APIError, EmbeddingError) as exc:
        raise CLIError(str(exc)) from None


async def _vector(ctx: Context, text: str) -> int:
    from chat_tui.services.embeddings import embed_texts

    found = setup(ctx, required=False)
    client = ctx.client()
    try:
        vectors, _tokens = await _api(embed_texts(client, ctx.counter(), found, [text]))
    finally:
        await client.aclose()
    chunks = vectors[0]
    if len(chunks) > 1:
        print(f"chat-tui: the text is longer than {found.model} takes at once: {len(chunks)} pieces, one vector each",
              file=sys.stderr)
        dump_json(chunks)
    else:
        dump_json(chunks[0])
    return 0


async def _similar(ctx: Context, text: str) -> int:
    from chat_tui.services.embeddings import search

    found = setup(ctx, required=True)
    client = ctx.client()
    try:
        await update_index(ctx, client, found)
        rows = await _api(search(ctx.store(), client, found, text, "meaning", limit=ctx.args.limit))
    finally:
        await client.aclose()
    print_rows(ctx, rows, text)
    return 0


def print_rows(ctx: Context, rows: list[Any], query: str) -> None:
    """Conversations found by meaning, as `history search` prints them (or JSON)."""
    from dataclasses import asdict

    if ctx.args.json:
        dump_json([{**asdict(r), "conversation_id": r.id, "message_id": r.hit_message_id} for r in rows])
        return
    if not rows:
        print(f"chat-tui: no saved messages are like {query!r}", file=sys.stderr)
    print_hits(rows)


def print_hits(rows: list[Any]) -> None:
    """One conversation per hit: its id and title, then the excerpt (model text: cleaned by
    the wrapped stdout, cli/output.py)."""
    from chat_tui.core.text import one_line

    for r in rows:
        print(f"{r.id:>6}  {one_line(r.title or r.preview or '(untitled)')}\n        {one_line(r.snippet or '(untitled)')}")
