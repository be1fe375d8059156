"""`chat-tui` with no command: the interactive app, on a new, the last or a given conversation."""

from __future__ import annotations

from chat_tui.cli.context import CLIError, Context


def run(ctx: Context) -> int:
    from chat_tui.cli import runtime

    runtime.starting()
    from chat_tui.ui.app import run_app

    from chat_tui.services.persist import UI_BUSY_TIMEOUT

    def open_store():
        # The app's writes run on its UI thread: a lock held by another program is waited on
        # a moment at a time, between frames (services/persist.py).
        from chat_tui.store import Store

        return Store(ctx.db_path, busy_timeout=UI_BUSY_TIMEOUT)

    args = ctx.args
    cid = getattr(args, "cid", None)
    store = open_store  # opened after the first frame, unless a conversation is asked for now
    if cid is not None or getattr(args, "cont", False):
        store = open_store()
        if cid is None:
            cid = store.last_conversation_id()
        if cid is not None and store.get_conversation(cid) is None:
            store.close()
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
