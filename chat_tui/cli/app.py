"""`chat-tui` with no command: the interactive app, on a new, the last or a given conversation."""

from __future__ import annotations

from chat_tui.cli.context import CLIError, Context


def run(ctx: Context) -> int:
    from chat_tui.cli import runtime

    runtime.starting()
    from chat_tui.ui.app import run_app

    args = ctx.args
    cid = getattr(args, "cid", None)
    store = ctx.store  # opened after the first frame, unless a conversation is asked for now
    if cid is not None or getattr(args, "cont", False):
        opened = ctx.store()
        if cid is None:
            cid = opened.last_conversation_id()
        if cid is not None and opened.get_conversation(cid) is None:
            raise CLIError(f"no conversation {cid}")
    return run_app(
        ctx.endpoint,
        store,
        paths=ctx.paths,
        config=ctx.config,
        model=getattr(args, "model", None),
        counter=ctx.counter(),
        conversation_id=cid,
        on_started=runtime.startup_finished,
    )
