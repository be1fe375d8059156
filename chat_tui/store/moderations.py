"""The `moderations` table: moderation checks of messages, the newest one shown per message."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat_tui.store.db import Store


@dataclass(frozen=True, slots=True)
class ModerationRecord:
    message_id: int
    flagged: bool
    model: str | None = None
    categories: dict[str, bool] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    created_at: str = ""


def add_moderation(store: Store, message_id: int, flagged: bool, categories: dict[str, bool],
                   scores: dict[str, float], model: str | None = None) -> int:
    with store._write() as db:
        cur = db.execute(
            "INSERT INTO moderations (message_id, model, flagged, categories, scores) VALUES (?, ?, ?, ?, ?)",
            (message_id, model, int(bool(flagged)), json.dumps(categories), json.dumps(scores, allow_nan=False)),
        )
        return int(cur.lastrowid)


def latest_moderations(store: Store, message_ids: Iterable[int]) -> dict[int, ModerationRecord]:
    """The newest check of each of these messages that has one."""
    ids = sorted({int(i) for i in message_ids})
    out: dict[int, ModerationRecord] = {}
    for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit, with room
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows = store._rows(
            f"SELECT m.* FROM moderations m WHERE m.id IN (SELECT MAX(id) FROM moderations"
            f" WHERE message_id IN ({marks}) GROUP BY message_id)", chunk)
        for row in rows:
            out[row["message_id"]] = ModerationRecord(
                message_id=row["message_id"], flagged=bool(row["flagged"]), model=row["model"],
                categories=_obj(row["categories"]), scores=_obj(row["scores"]), created_at=row["created_at"])
    return out


def _obj(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
