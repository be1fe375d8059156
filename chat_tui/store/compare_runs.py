"""Compare runs in the store: which lanes ran for a prompt, their answers, and the pick.

Each lane's answer is an ordinary assistant message, a sibling of the others under the shared
user message, so the conversation tree keeps every lane; these tables add the lane settings,
labels, the blind flag and what the user picked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chat_tui.store.encoding import params_json

if TYPE_CHECKING:
    from sqlite_utils import Database


@dataclass(frozen=True)
class CompareLane:
    lane: int
    label: str
    preset: str | None
    model: str
    params: dict[str, Any]
    message_id: int | None


@dataclass(frozen=True)
class CompareRun:
    id: int
    conversation_id: int
    user_message_id: int
    blind: bool
    picked_message_id: int | None
    note: str | None
    created_at: str
    lanes: tuple[CompareLane, ...]


class CompareRunsMixin:
    """Methods of `Store` (it provides `db` and `_write`)."""

    db: "Database"

    def record_compare(self, cid: int, user_message_id: int, lanes: list[dict[str, Any]], *, blind: bool = False) -> int:
        """Store a run: `lanes` items have label, model, params, and optionally preset, message_id."""
        with self._write() as db:  # type: ignore[attr-defined]
            cur = db.execute(
                "INSERT INTO compare_runs (conversation_id, user_message_id, blind) VALUES (?, ?, ?)",
                [cid, user_message_id, int(blind)],
            )
            run_id = int(cur.lastrowid)
            for index, lane in enumerate(lanes):
                db.execute(
                    "INSERT INTO compare_lanes (run_id, lane, label, preset, model, params, message_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [run_id, index, lane["label"], lane.get("preset"), lane["model"], params_json(lane.get("params") or {}), lane.get("message_id")],
                )
        return run_id

    def set_lane_message(self, run_id: int, lane: int, message_id: int) -> None:
        """A lane re-run: its newest answer."""
        with self._write() as db:  # type: ignore[attr-defined]
            db.execute("UPDATE compare_lanes SET message_id = ? WHERE run_id = ? AND lane = ?", [message_id, run_id, lane])

    def pick_compare(self, run_id: int, message_id: int, note: str | None = None) -> None:
        with self._write() as db:  # type: ignore[attr-defined]
            db.execute("UPDATE compare_runs SET picked_message_id = ?, note = ? WHERE id = ?", [message_id, note, run_id])

    def get_compare_run(self, run_id: int) -> CompareRun | None:
        row = self.db.execute("SELECT * FROM compare_runs WHERE id = ?", [run_id]).fetchone()
        return self._run_from(row) if row else None

    def compare_runs(self, cid: int) -> list[CompareRun]:
        rows = self.db.execute("SELECT * FROM compare_runs WHERE conversation_id = ? ORDER BY id", [cid]).fetchall()
        return [self._run_from(r) for r in rows]

    def preset_wins(self) -> dict[str, int]:
        """How often each preset's lane was picked."""
        rows = self.db.execute(
            """SELECT l.preset, COUNT(*) FROM compare_runs r
               JOIN compare_lanes l ON l.run_id = r.id AND l.message_id = r.picked_message_id
               WHERE l.preset IS NOT NULL GROUP BY l.preset"""
        ).fetchall()
        return {name: int(count) for name, count in rows}

    def _run_from(self, row: Any) -> CompareRun:
        run_id, cid, user_id, blind, picked, note, created = row
        lanes = tuple(
            CompareLane(lane, label, preset, model, json.loads(params) if params else {}, mid)
            for lane, label, preset, model, params, mid in self.db.execute(
                "SELECT lane, label, preset, model, params, message_id FROM compare_lanes WHERE run_id = ? ORDER BY lane", [run_id]
            ).fetchall()
        )
        return CompareRun(run_id, cid, user_id, bool(blind), picked, note, created, lanes)
