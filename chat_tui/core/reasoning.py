"""Reasoning shown apart from the answer: the one-line summary of a thinking block, shared by
the conversation view, compare lanes and the Markdown export."""

from __future__ import annotations


def thinking_label(seconds: float | None, tokens: int | None, *, approx: bool = False, live: bool = False) -> str:
    """``Thinking · 4.2 s · 312 tokens``; while it streams, ``Thinking… 3 s · ~120 tokens``
    (whole seconds: it is redrawn about once a second). `approx` marks a local count."""
    bits = []
    if seconds is not None:
        bits.append(f"{seconds:.0f} s" if live else f"{seconds:.1f} s")
    if tokens is not None:
        bits.append(f"{'~' if approx else ''}{tokens:,} token{'' if tokens == 1 else 's'}")
    if live:
        return " · ".join(["Thinking… " + bits[0], *bits[1:]]) if bits else "Thinking…"
    return " · ".join(["Thinking", *bits])
