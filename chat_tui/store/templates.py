"""The `templates` table (schema version 10): saved prompts with variables, and roles.

Rows are `core.templates.Template`s; checking them (names, kinds, parameters) is the core's
job, done before anything is written here. Functions use the Store's connection: call them on
the thread that owns it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from chat_tui.core.templates import Template
from chat_tui.store.encoding import now, params_json
from chat_tui.store.errors import NotFoundError

if TYPE_CHECKING:
    from chat_tui.store.db import Store

_COLUMNS = "name, kind, description, prompt, system_prompt, model, params"


class NameTaken(ValueError):
    """Another template already has the name."""


def _template(row: dict[str, Any]) -> Template:
    try:
        params = json.loads(row["params"])
    except ValueError:
        params = {}
    return Template(name=row["name"], kind=row["kind"], description=row["description"], prompt=row["prompt"],
                    system_prompt=row["system_prompt"], model=row["model"],
                    params=params if isinstance(params, dict) else {})


def _values(t: Template) -> tuple[Any, ...]:
    return (t.name, t.kind, t.description, t.prompt, t.system_prompt, t.model, params_json(t.params))


def list_templates(store: Store, kind: str | None = None) -> list[Template]:
    """Every template (or those of `kind`), by name."""
    where, args = ("WHERE kind = ?", [kind]) if kind else ("", [])
    return [_template(r) for r in store._rows(f"SELECT {_COLUMNS} FROM templates {where} ORDER BY name, id", args)]


def get_template(store: Store, name: str) -> Template | None:
    rows = store._rows(f"SELECT {_COLUMNS} FROM templates WHERE name = ?", [name])
    return _template(rows[0]) if rows else None


def save_template(store: Store, template: Template, *, previous: str | None = None) -> None:
    """Write `template`: a new one when `previous` is None (its name must be free), else over
    the one called `previous` (renamed when the names differ)."""
    try:
        with store._write() as db:
            if previous is None:
                db.execute(f"INSERT INTO templates ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", _values(template))
                return
            cur = db.execute(
                "UPDATE templates SET name = ?, kind = ?, description = ?, prompt = ?, system_prompt = ?,"
                " model = ?, params = ?, updated_at = ? WHERE name = ?", (*_values(template), now(), previous))
            if cur.rowcount == 0:
                raise NotFoundError(f"no template named {previous!r}")
    except sqlite3.IntegrityError:
        raise NameTaken(f"a template named {template.name!r} already exists") from None


def replace_templates(store: Store, templates: Iterable[Template]) -> None:
    """Write each template over the one of the same name, or as a new one: one transaction."""
    with store._write() as db:
        for t in templates:
            db.execute(
                f"INSERT INTO templates ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                " kind = excluded.kind, description = excluded.description, prompt = excluded.prompt,"
                " system_prompt = excluded.system_prompt, model = excluded.model, params = excluded.params,"
                " updated_at = ?", (*_values(t), now()))


def delete_template(store: Store, name: str) -> bool:
    with store._write() as db:
        return db.execute("DELETE FROM templates WHERE name = ?", (name,)).rowcount > 0
