"""Feeding streamed text to a Markdown widget at a bounded rate.

Writing every delta costs a Markdown parse of the last block plus a re-layout and a repaint of
the scrolling screen; at 200 tokens/s that work, not parsing, dominates. So deltas are batched
and written at most `max_rate` times a second, and the rate adapts: when a write (layout and
paint included) takes long, the interval grows, so the UI never falls behind the network.
"""

from __future__ import annotations

import asyncio
import time

from textual.widgets import Markdown

from chat_tui.core.text import visible_controls

MAX_WRITES_PER_SECOND = 10
MIN_INTERVAL = 1 / MAX_WRITES_PER_SECOND
MAX_INTERVAL = 0.5


class MarkdownFeeder:
    """Batches text into `Markdown.get_stream(widget)`; cost is O(new text) per write."""

    def __init__(self, widget: Markdown, *, min_interval: float = MIN_INTERVAL) -> None:
        self._stream = Markdown.get_stream(widget)
        self._pending: list[str] = []
        self._interval = min_interval
        self._min_interval = min_interval
        self._wake = asyncio.Event()
        self._closed = False
        self._task = asyncio.create_task(self._run())

    def write(self, text: str) -> None:
        """Queue text; never blocks the caller."""
        if text:
            self._pending.append(text)
            self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._pending:
                chunk = visible_controls("".join(self._pending))
                self._pending.clear()
                started = time.monotonic()
                await self._stream.write(chunk)
                cost = time.monotonic() - started
                # Leave the event loop at least as much time as the write took.
                self._interval = min(MAX_INTERVAL, max(self._min_interval, 2 * cost))
            if self._closed:
                return
            await asyncio.sleep(self._interval)

    async def close(self) -> None:
        """Write what is left and stop the Markdown stream."""
        self._closed = True
        self._wake.set()
        try:
            await self._task
        finally:
            if self._pending:
                await self._stream.write(visible_controls("".join(self._pending)))
                self._pending.clear()
            await self._stream.stop()
