"""Textual's `Footer`, rebuilt only when the keys it shows change.

Textual's footer rebuilds all of its key widgets whenever a screen says its bindings may have
changed, even when nothing it shows is different (~25 ms each, on the event loop that paints the
answers; docs/performance.md). This one compares what it would show with what it shows, and
rebuilds once, after the next refresh, however many calls came in between.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widgets import Footer

from chat_tui.ui.compat import footer_bindings_ready

if TYPE_CHECKING:
    from textual.screen import Screen


class ChatFooter(Footer):
    """The key bindings of the screen, as Textual's footer shows them."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._shown: tuple | None = None
        self._rebuild_pending = False

    def _signature(self, screen: Screen) -> tuple:
        """What the footer would show now: each shown binding with its state."""
        palette = screen.app.COMMAND_PALETTE_BINDING
        return tuple(
            (key, binding.action, binding.description, enabled, tooltip)
            for key, (_node, binding, enabled, tooltip) in screen.active_bindings.items()
            if binding.show or key == palette
        )

    def bindings_changed(self, screen: Screen) -> None:
        footer_bindings_ready(self)
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        if not self._rebuild_pending:
            self._rebuild_pending = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._rebuild_pending = False
        if not self.is_attached:
            return
        signature = self._signature(self.screen)
        if signature == self._shown:
            return
        self._shown = signature
        await self.recompose()
