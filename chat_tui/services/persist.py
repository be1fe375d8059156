"""Writing to the store when another program may hold it: wait without blocking the event loop.

SQLite's own wait (the busy timeout) blocks the thread that writes; in the app that is the UI's
thread, so its Store waits only a moment (`UI_BUSY_TIMEOUT`) and `patiently` tries again with
`asyncio.sleep` in between, for as long as `wait` allows, while keys and painting go on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from chat_tui.store.errors import StoreLocked

T = TypeVar("T")

UI_BUSY_TIMEOUT = 0.1  # seconds a write on the UI's thread may block on another program's lock
PATIENCE = 30.0  # seconds `patiently` keeps trying a locked database by default


async def patiently(write: Callable[[], T], *, wait: float = PATIENCE,
                    on_wait: Callable[[float], None] | None = None) -> T:
    """`write()`, tried again while the database is locked (StoreLocked), up to `wait` seconds;
    `on_wait(seconds so far)` is called before each new try. Other errors go through."""
    started = time.monotonic()
    delay = 0.05
    while True:
        try:
            return write()
        except StoreLocked:
            waited = time.monotonic() - started
            if waited >= wait:
                raise
            if on_wait is not None:
                on_wait(waited)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)
