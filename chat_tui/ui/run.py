"""Entry point from the CLI into the Textual app."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat_tui.cli import Context


def run_app(ctx: "Context") -> int:
    from chat_tui.ui.app import ChatApp

    args = ctx.args
    cid = getattr(args, "cid", None)
    store = ctx.store  # opened after the first frame, unless a conversation is asked for now
    if cid is not None or getattr(args, "cont", False):
        store = ctx.store()
        if cid is None:
            cid = store.last_conversation_id()
        if cid is not None and store.get_conversation(cid) is None:
            from chat_tui.cli import CLIError

            raise CLIError(f"no conversation {cid}")
    app = ChatApp(
        ctx.endpoint,
        store,
        paths=ctx.paths,
        config=ctx.config,
        model=getattr(ctx.args, "model", None),
        counter=ctx.counter(),
        conversation_id=cid,
    )
    try:
        app.run()
    finally:
        app.shutdown()
    return app.return_code or 0
