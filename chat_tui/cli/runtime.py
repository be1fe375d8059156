"""Process tuning for the interactive app, in one place; only the entry point calls it.

- glibc's malloc: two arenas and a fixed mmap threshold (set before the first thread starts).
- The garbage collector: off during start-up, then the start-up objects are frozen out of its
  reach and it is turned back on (`startup_finished`, which the app calls after its warm-up).
Why, and what each measured: docs/performance.md.
"""

from __future__ import annotations

import gc

M_ARENA_MAX = -8  # glibc's mallopt() parameter numbers
M_MMAP_THRESHOLD = -3
MALLOC_ARENAS = 2
MMAP_THRESHOLD = 128 * 1024


def tune_malloc(arenas: int = MALLOC_ARENAS, mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Keep glibc from holding on to memory the app has freed: one arena per thread left freed
    memory scattered, and a moving mmap threshold left holes in the heap. Must run before the
    first thread starts. Whether both settings applied (not glibc: nothing to do)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return libc.mallopt(M_ARENA_MAX, arenas) == 1 and libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1
    except (OSError, AttributeError):
        return False


def starting() -> None:
    """Before the app is built: start-up creates a few hundred thousand objects, almost none of
    them garbage, and the collector's passes over them only delay the first frame."""
    tune_malloc()
    gc.disable()


def startup_finished() -> None:
    """After the warm-up: everything alive now (modules, widgets, tokenizer tables) leaves the
    collector's reach, so later full collections scan only what the chat creates."""
    from chat_tui.core.memory import trim_heap

    gc.collect()
    gc.freeze()
    gc.enable()
    trim_heap()  # what start-up's threads freed (tokenizer loading above all)
