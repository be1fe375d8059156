"""Entry point from the CLI into the Textual app."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat_tui.cli import Context


def run_app(ctx: "Context") -> int:
    from chat_tui.ui.app import ChatApp

    app = ChatApp(ctx.endpoint, ctx.store(), paths=ctx.paths, config=ctx.config, model=getattr(ctx.args, "model", None))
    try:
        app.run()
    finally:
        app.shutdown()
    return app.return_code or 0
