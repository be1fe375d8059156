"""Documents (completion and edit kinds) and what endpoints were found to serve.

A document is a conversation row of another `kind` with its current text in `document`; its
rounds are ordinary messages (a `user` row with what was sent, `assistant` children with the
choices), so history lists, searches, exports and deletes documents like chats. See schema.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chat_tui.store.encoding import now, params_json
from chat_tui.store.errors import NotFoundError
from chat_tui.store.schema import KINDS

if TYPE_CHECKING:
    from chat_tui.store.db import Store


def create_document(
    store: Store,
    kind: str,
    text: str,
    *,
    title: str | None = None,
    model: str | None = None,
    params: dict[str, Any] | None = None,
    endpoint: str | None = None,
) -> int:
    """A new document of `kind` ("completion" or "edit") holding `text`."""
    if kind not in KINDS or kind == "chat":
        raise ValueError(f"a document's kind is 'completion' or 'edit', not {kind!r}")
    return store.create_conversation(title=title, model=model, params=params, endpoint=endpoint,
                                     kind=kind, document=text)


def save_document(store: Store, cid: int, text: str, *, model: str | None = None,
                  params: dict[str, Any] | None = None) -> None:
    """Store the document's current text (and the model and parameters it was last used with)."""
    sets, args = ["document = ?", "updated_at = ?"], [text, now()]
    if model is not None:
        sets.append("model = ?")
        args.append(model)
    if params is not None:
        sets.append("params = ?")
        args.append(params_json(params))
    with store._write() as db:
        if not db.execute(f"UPDATE conversations SET {', '.join(sets)} WHERE id = ? AND kind != 'chat'",
                          [*args, cid]).rowcount:
            raise NotFoundError(f"no document {cid}")


def set_accepted(store: Store, mid: int, accepted: bool | None) -> None:
    """Mark a round's choice as put into the document (True), rejected (False) or undecided."""
    with store._write() as db:
        value = None if accepted is None else int(bool(accepted))
        if not db.execute("UPDATE messages SET accepted = ? WHERE id = ? AND role = 'assistant'",
                          (value, mid)).rowcount:
            raise NotFoundError(f"no assistant message {mid}")


def endpoint_feature(store: Store, endpoint: str, feature: str) -> str | None:
    """What was remembered about `endpoint` serving `feature` (None: never tried)."""
    rows = store._rows("SELECT value FROM endpoint_features WHERE endpoint = ? AND feature = ?",
                       (endpoint, feature))
    return rows[0]["value"] if rows else None


def remember_endpoint_feature(store: Store, endpoint: str, feature: str, value: str) -> None:
    with store._write() as db:
        db.execute(
            "INSERT INTO endpoint_features (endpoint, feature, value, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (endpoint, feature) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (endpoint, feature, value, now()),
        )


def last_round_id(store: Store, document_id: int) -> int | None:
    """The newest round's `user` row (None before the first round)."""
    rows = store._rows("SELECT max(id) AS id FROM messages WHERE conversation_id = ? AND role = 'user'",
                       (document_id,))
    return rows[0]["id"] if rows else None


def round_count(store: Store, document_id: int) -> int:
    return store._rows("SELECT count(*) AS n FROM messages WHERE conversation_id = ? AND role = 'user'",
                       (document_id,))[0]["n"]


def add_choice(
    store: Store,
    cid: int,
    parent_id: int,
    text: str,
    *,
    model: str,
    params: dict[str, Any],
    endpoint: str | None,
    finish_reason: str | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    duration: float | None = None,
) -> int:
    """One finished choice of a document round (an assistant row under the round's user row):
    it arrives whole, so it is written once, `complete`, with no streaming row before it."""
    stamp = now()
    with store._write() as db:
        if not db.execute("SELECT 1 FROM messages WHERE id = ? AND conversation_id = ?", (parent_id, cid)).fetchone():
            raise NotFoundError(f"no message {parent_id} in document {cid}")
        cur = db.execute(
            "INSERT INTO messages (conversation_id, parent_id, role, content, created_at, updated_at,"
            " model, params, endpoint, status, finish_reason, prompt_tokens, completion_tokens, duration)"
            " VALUES (?, ?, 'assistant', ?, ?, ?, ?, ?, ?, 'complete', ?, ?, ?, ?)",
            (cid, parent_id, text, stamp, stamp, model, params_json(params), endpoint, finish_reason,
             prompt_tokens, completion_tokens, duration),
        )
        db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (stamp, cid))
        return int(cur.lastrowid)


def last_round(store: Store, cid: int) -> tuple[Any, list[Any]] | None:
    """The document's latest round: its user row (what was asked) and its choices, oldest first."""
    from chat_tui.store.records import message_from_row

    users = store._rows("SELECT * FROM messages WHERE conversation_id = ? AND role = 'user'"
                        " ORDER BY id DESC LIMIT 1", (cid,))
    if not users:
        return None
    user = message_from_row(users[0])
    rows = store._rows("SELECT * FROM messages WHERE parent_id = ? AND role = 'assistant' ORDER BY id", (user.id,))
    return user, [message_from_row(r) for r in rows]
