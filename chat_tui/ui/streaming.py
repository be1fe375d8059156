"""Feeding streamed text to a `MarkdownView` at a bounded, adaptive rate.

An append costs O(new text) in rendering (see markdown_view.py), but every append changes the
view's height, so the screen is laid out again and repainted. So deltas are batched: at most
`MAX_WRITES_PER_SECOND` appends a second, and fewer when an append (layout and paint included)
takes long, keeping the event loop free for keys. This is what `Markdown.get_stream` does for
Textual's Markdown, plus the adaptive interval and an immediate final write when the answer
ends (the last text must show within a fraction of a second).
"""

from __future__ import annotations

import asyncio
import time

from chat_tui.ui.widgets.markdown_view import MarkdownView

MAX_WRITES_PER_SECOND = 4
MIN_INTERVAL = 1 / MAX_WRITES_PER_SECOND
MAX_INTERVAL = 0.5
LOAD_FACTOR = 3.0  # wait this many times an append's cost before the next one


class MarkdownFeeder:
    def __init__(self, widget: MarkdownView, *, min_interval: float = MIN_INTERVAL) -> None:
        self._widget = widget
        self._pending: list[str] = []
        self._min_interval = min_interval
        self._interval = min_interval
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self.appends = 0
        self._task = asyncio.create_task(self._run())

    def write(self, text: str) -> None:
        """Queue text; never blocks the caller."""
        if text:
            self._pending.append(text)
            self._wake.set()

    async def _append_pending(self) -> float:
        chunk = "".join(self._pending)
        self._pending.clear()
        started = time.monotonic()
        await self._widget.append(chunk)
        refreshed = asyncio.Event()
        if self._widget.call_after_refresh(refreshed.set):
            try:  # a widget removed meanwhile is never refreshed: don't wait for it forever
                await asyncio.wait_for(refreshed.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
        self.appends += 1
        return time.monotonic() - started

    async def _run(self) -> None:
        while not self._closing.is_set():
            await self._wake.wait()
            self._wake.clear()
            if not self._pending:
                continue
            cost = await self._append_pending()
            self._interval = min(MAX_INTERVAL, max(self._min_interval, LOAD_FACTOR * cost))
            try:  # the pause ends early when the answer ends
                await asyncio.wait_for(self._closing.wait(), self._interval)
            except asyncio.TimeoutError:
                pass

    async def close(self) -> None:
        """Write what is left at once and stop."""
        self._closing.set()
        self._wake.set()
        try:
            await self._task
        finally:
            if self._pending:
                await self._append_pending()
