"""Feeding streamed text to `MarkdownView`s at a bounded, adaptive rate.

An append costs O(new text) in rendering (see markdown_view.py), but every append changes the
view's height, so the screen is laid out again and repainted. So deltas are batched: at most
`MAX_WRITES_PER_SECOND` appends a second, and fewer when an append (layout and paint included)
takes long, keeping the event loop free for keys. This is what `Markdown.get_stream` does for
Textual's Markdown, plus the adaptive interval and an immediate final write when the answer
ends (the last text must show within a fraction of a second).

Several answers streaming at once (compare mode's lanes) share one `FeedClock`: on each beat
every view with new text is appended to, and the screen is laid out once for all of them, not
once per view (measured in benchmarks/compare.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from chat_tui.ui.widgets.markdown_view import MarkdownView

MAX_WRITES_PER_SECOND = 10  # the text on screen is at most ~0.1 s behind the stream
MIN_INTERVAL = 1 / MAX_WRITES_PER_SECOND
MAX_INTERVAL = 0.5
LOAD_FACTOR = 3.0  # wait this many times a beat's cost before the next one
GROWTH = 24  # lines of room made at a time for a streaming answer (see MarkdownLines.set_growth)
REFRESH_WAIT = 1.0  # a view removed meanwhile is never refreshed: don't wait for it forever


async def _refreshed(widget: MarkdownView) -> None:
    """Wait until the screen has been refreshed after a change to `widget` (at most REFRESH_WAIT:
    a view removed meanwhile is never refreshed)."""
    refreshed = asyncio.Event()
    if widget.call_after_refresh(refreshed.set):
        try:
            await asyncio.wait_for(refreshed.wait(), REFRESH_WAIT)
        except asyncio.TimeoutError:
            pass


class FeedClock:
    """The beat on which feeders append their pending text; one layout per beat."""

    def __init__(self, *, min_interval: float = MIN_INTERVAL) -> None:
        self._min_interval = min_interval
        self.interval = min_interval
        self._dirty: dict[MarkdownFeeder, None] = {}  # feeders with pending text, in order
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()  # an answer has ended: its last text goes on the next beat, now
        self._task: asyncio.Task | None = None
        self.beats = 0

    def _pending(self, feeder: MarkdownFeeder) -> None:
        self._dirty[feeder] = None
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    def _forget(self, feeder: MarkdownFeeder) -> None:
        self._dirty.pop(feeder, None)

    async def _beat(self) -> float:
        batch = list(self._dirty)
        self._dirty.clear()
        started = time.monotonic()
        widget = None
        for i, feeder in enumerate(batch):
            if i:
                await asyncio.sleep(0)  # a key waiting since the last view's append goes first
            if await feeder.flush():
                widget = feeder.widget
        if widget is not None:
            await _refreshed(widget)
        self.beats += 1
        return time.monotonic() - started

    async def _run(self) -> None:
        while self._dirty:
            cost = await self._beat()
            self.interval = min(MAX_INTERVAL, max(self._min_interval, LOAD_FACTOR * cost))
            self._wake.clear()
            await self._pause(self.interval)
            if not self._dirty:
                try:  # idle: wait for text, but stop when none comes (the task restarts on demand)
                    await asyncio.wait_for(self._wake.wait(), MAX_INTERVAL)
                except asyncio.TimeoutError:
                    return

    async def _pause(self, seconds: float) -> None:
        """The pause between beats bounds the rate; only an ended answer (`hurry`) cuts it short."""
        if not self._hurry.is_set():
            try:
                await asyncio.wait_for(self._hurry.wait(), seconds)
            except asyncio.TimeoutError:
                pass
        self._hurry.clear()

    def hurry(self) -> None:
        """The next beat is now: a stream has ended, and its last text should not wait out the
        interval (up to MAX_INTERVAL under load) while the answer is counted and saved."""
        self._hurry.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass


class MarkdownFeeder:
    """Streams text into one `MarkdownView`, on its own clock or a shared one."""

    def __init__(self, widget: MarkdownView, *, clock: FeedClock | None = None, min_interval: float = MIN_INTERVAL,
                 on_flush: Callable[[], None] | None = None, growth: int = 0) -> None:
        self.widget = widget
        # Room made at a time while text comes in (GROWTH for an answer or a lane: see
        # MarkdownLines.set_growth); 0 for small views, a thought or a tool call's arguments,
        # where blank room would show as a gap.
        self._growth = growth
        self._on_flush = on_flush  # called after each append: what else should show in the same frame
        self._clock = clock or FeedClock(min_interval=min_interval)
        self._own_clock = clock is None
        self._pending: list[str] = []
        self._lock = asyncio.Lock()  # appends to the view happen in order, one at a time
        self._closed = False
        self.appends = 0

    def write(self, text: str) -> None:
        """Queue text; never blocks the caller."""
        if text and not self._closed:
            if self._growth and not self.appends and not self._pending:
                self.widget.set_growth(self._growth)
            self._pending.append(text)
            self._clock._pending(self)

    async def flush(self) -> bool:
        """Append what is pending now; whether anything was."""
        async with self._lock:
            if not self._pending:
                return False
            chunk = "".join(self._pending)
            self._pending.clear()
            await self.widget.append(chunk)
            self.appends += 1
            if self._on_flush is not None:
                self._on_flush()
            return True

    def ending(self) -> None:
        """The stream has ended (its finish reason came): what is pending shows on a beat now,
        not after the interval; `close` follows once the answer is counted and saved."""
        if self._pending:
            self._clock.hurry()

    async def close(self) -> None:
        """Write what is left at once (the end of an answer shows without waiting for a beat).

        It is painted with whatever else changes meanwhile (the answer's header, its status):
        one frame for all of it, not one for the text and another for the rest."""
        self._closed = True
        self._clock._forget(self)
        try:
            await self.flush()
        finally:
            if self._growth:
                self.widget.set_growth(0)
            if self._own_clock:
                await self._clock.stop()
