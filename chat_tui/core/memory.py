"""Giving freed memory back to the operating system (glibc keeps it otherwise).

A chat client stays open all day: after loading a tokenizer or finishing a long answer, memory
the program no longer uses should not stay resident.
"""

from __future__ import annotations


def trim_heap() -> bool:
    """Return free heap memory to the OS (glibc's malloc_trim); whether it could."""
    try:
        import ctypes

        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False
