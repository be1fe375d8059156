"""Pieces of a conversation's row, shared by the history screen and the sidebar list: one-line
titles, short token counts, short dates, cost estimates and the fitted "model · N msgs · date"
line. Plain strings: the callers style them (as literal text, never markup).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from chat_tui.core.models_table import estimate_cost, model_info
from chat_tui.core.text import one_line
from chat_tui.store.history import HistoryRow

SEP = " · "
MIN_MODEL = 4  # a model id cut shorter than this (with its "…") is left out instead


KIND_MARKS = {"completion": "[completion] ", "edit": "[edit] "}  # documents, shown as such


def row_title(row: HistoryRow) -> str:
    """The title, else the start of the first prompt, else "(untitled)"; on one line; a
    document (completion, edit) says its kind first."""
    return KIND_MARKS.get(row.kind, "") + (one_line(row.title or row.preview or "") or "(untitled)")


def short_tokens(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1000:.1f}k" if n >= 10_000 else str(n)


def short_cost(usd: float) -> str:
    if usd >= 1:
        return f"${usd:.2f}"
    if usd >= 0.01:
        return f"${usd:.3f}"
    return f"${usd:.4f}" if usd else "$0"


def short_date(stamp: str | None, now: datetime | None = None) -> str:
    """A store timestamp (ISO-8601 UTC) in local time: ``14:02`` today, ``Nov 3`` this year,
    ``2024-11-03`` before; anything unparsable cut to its date part."""
    if not stamp:
        return ""
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp[:10]
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    when = when.astimezone()
    now = (now or datetime.now(timezone.utc)).astimezone()
    if when.date() == now.date():
        return when.strftime("%H:%M")
    if when.year == now.year:
        return f"{when.strftime('%b')} {when.day}"
    return when.strftime("%Y-%m-%d")


def meta_line(model: str | None, count: int, date: str, extras: Sequence[str], width: int) -> str:
    """``model · N msgs · date · extras…`` in at most ``width`` characters: the model id is cut
    (with "…") so the count and the date stay in view, and each extra is added only whole."""
    line = f"{count} msg{'' if count == 1 else 's'}"
    if date:
        line += SEP + date
    if model:
        shown = one_line(model)
        room = width - len(line) - len(SEP)
        if len(shown) > room:
            shown = shown[: room - 1] + "…" if room >= MIN_MODEL else ""
        if shown:
            line = shown + SEP + line
    for extra in extras:
        if len(line) + len(SEP) + len(extra) > width:
            break
        line += SEP + extra
    return line


class CostEstimator:
    """USD estimates for rows, with each model's prices looked up once."""

    def __init__(self, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.overrides = overrides
        self._models: dict[str, Any] = {}

    def __call__(self, row: HistoryRow) -> float | None:
        if not row.model or (row.prompt_tokens is None and row.completion_tokens is None):
            return None
        if row.model not in self._models:
            self._models[row.model] = model_info(row.model, self.overrides)
        return estimate_cost(self._models[row.model], row.prompt_tokens or 0, row.completion_tokens or 0)
