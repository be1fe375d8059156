"""The Store: every read and write of the chat database.

One Store owns one connection and must stay on the thread that created it; bulk work
(import, export, reindex) opens its own Store in a worker. Several processes may use the
same file at once: the file is in WAL mode, and every write is a short
``BEGIN IMMEDIATE`` transaction, which takes the write lock up front and so waits (up to
``BUSY_TIMEOUT`` seconds) instead of failing with "database is locked" the way a read
transaction upgraded to a write can.

Cancelling: `Store.interrupt` (from any thread), or a `CancelToken` given when the Store is
opened, stops the query running now within a few thousand SQLite steps (well under a
millisecond) and makes every later one on that Store raise `QueryCancelled` at once (a write
is rolled back). It is meant for a Store opened for one piece of work in a worker (a search
as the user types, an import): cancel it when the work goes stale, then close it. Opening a
Store is not cancellable (it is short); ``close`` always works.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from functools import partial
from operator import getitem
from pathlib import Path
from typing import Any

from chat_tui.core.messages import ROLES, Part, ToolCall
from chat_tui.store import liveness
from chat_tui.store.blobs import blob_root_beside, encoded_blobs
from chat_tui.store.compare_runs import CompareRunsMixin
from chat_tui.store.encoding import lenient_json, now, params_json, parts_columns
from chat_tui.store.errors import NotFoundError, QueryCancelled, StoreUnavailable, from_sqlite
from chat_tui.store.sql import Connection
from chat_tui.store.excerpts import Excerpts
from chat_tui.store.fts import fts_query
from chat_tui.store.records import (
    Conversation,
    ConversationSummary,
    Message,
    Preset,
    SearchHit,
    conversation_from_row,
    message_from_row,
    preset_from_row,
    search_hit_from_row,
    summary_from_row,
)
from chat_tui.store.schema import FINAL_STATUSES, TITLE_SOURCES, check_not_too_new, migrate, user_version

BUSY_TIMEOUT = 5.0  # seconds a write waits for another process's transaction
CANCEL_CHECK_STEPS = 1000  # SQLite VM steps between two looks at the cancel flag
EXPORT_FORMAT = "chat-tui-conversation"
EXPORT_VERSION = 1

_UNSET: Any = object()  # "argument not given", since None means "clear"


class CancelToken:
    """Cancels the queries of the Stores it was given to, from any thread (see the module
    docstring). Made before the worker opens its Store, so a cancel never comes too early."""

    def __init__(self) -> None:
        # A list read with operator.getitem: SQLite's progress handler then calls C code
        # only, which runs no Python signal handler (Ctrl+C keeps its usual effect).
        self._flag = [False]
        self._conns: set[sqlite3.Connection] = set()
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self._flag[0]

    def cancel(self) -> None:
        self._flag[0] = True
        with self._lock:
            for conn in self._conns:
                try:
                    conn.interrupt()  # also stops long steps the progress handler cannot see
                except sqlite3.ProgrammingError:
                    pass  # closed meanwhile

    def _attach(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            self._conns.add(conn)
        conn.set_progress_handler(partial(getitem, self._flag, 0), CANCEL_CHECK_STEPS)

    def _detach(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            self._conns.discard(conn)
        try:
            conn.set_progress_handler(None, 0)
        except sqlite3.ProgrammingError:
            pass  # already closed


class Store(CompareRunsMixin):
    """The chat database at ``path``, created and upgraded as needed. ``cancel``: a token
    that stops this Store's queries (see the module docstring); by default its own, which
    `interrupt` uses."""

    def __init__(self, path: str | Path, *, cancel: CancelToken | None = None,
                 busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._depth = 0  # nesting of `transaction()`/`_write()`: only the outermost commits
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot open {self.path}: {exc.strerror or exc}") from exc
        self._key = os.path.realpath(self.path)
        self._mine: set[int] = set()  # replies this Store is streaming right now
        self._cancel = CancelToken()  # the caller's once open: opening is not cancelled
        self._excerpts = Excerpts()
        # isolation_level=None: the driver opens no implicit transactions; we BEGIN ourselves.
        try:
            conn = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise from_sqlite(exc, self.path, "open") from exc
        try:
            self.db = Connection(conn)
            self._open()
        except sqlite3.Error as exc:
            conn.close()
            raise from_sqlite(exc, self.path, "open") from exc
        except BaseException:
            conn.close()
            raise
        if cancel is not None:
            self._cancel = cancel
        self._cancel._attach(conn)

    def _open(self) -> None:
        db = self.db
        db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        check_not_too_new(db, str(self.path))  # before WAL, which would change the file
        self._enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL survives a killed process
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db, str(self.path))
        self.recover_interrupted()

    def _enable_wal(self) -> None:
        # Switching a file to WAL needs an exclusive lock, and SQLite reports BUSY at once
        # rather than calling the busy handler; two processes creating the same new file
        # hit this, so retry briefly. A file already in WAL never gets here.
        if self.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            return
        deadline, delay = time.monotonic() + self.busy_timeout, 0.001
        while True:
            try:
                self.db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
                if time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    @property
    def schema_version(self) -> int:
        return user_version(self.db)

    def interrupt(self) -> None:
        """Stop this Store's running query and refuse later ones (`QueryCancelled`); safe to
        call from any thread, and before or after the query starts."""
        self._cancel.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancel.cancelled

    def _check_cancelled(self) -> None:
        if self._cancel.cancelled:
            raise QueryCancelled(f"{self.path}: the query was cancelled")

    @contextmanager
    def _cancellable(self) -> Iterator[None]:
        """Report a query stopped by a cancel as `QueryCancelled`."""
        self._check_cancelled()
        try:
            yield
        except sqlite3.OperationalError as exc:
            if self._cancel.cancelled and exc.sqlite_errorcode == sqlite3.SQLITE_INTERRUPT:
                raise QueryCancelled(f"{self.path}: the query was cancelled") from None
            raise

    def close(self) -> None:
        """Close the file. Replies this Store left streaming are marked interrupted."""
        self._cancel._detach(self.db.conn)
        self._cancel = CancelToken()  # closing must work after a cancel too
        self._excerpts.close()
        try:
            if self._mine:
                with self._write():
                    for mid in sorted(self._mine):
                        self._interrupt(mid, "the store was closed before the reply finished")
        finally:
            for mid in self._mine:
                liveness.release(self._key, mid)
            self._mine.clear()
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction (inside `transaction()`, part of that one). SQLite's errors
        come out as StoreLocked or StoreUnavailable, saying what is wrong."""
        conn = self.db.conn
        if self._depth:
            self._depth += 1
            try:
                yield self.db
            finally:
                self._depth -= 1
            return
        try:
            with self._cancellable():
                conn.execute("BEGIN IMMEDIATE")
                self._depth = 1
                try:
                    yield self.db
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                finally:
                    self._depth = 0
                try:
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:  # a failed COMMIT leaves the transaction open
                        conn.execute("ROLLBACK")
                    raise
        except (QueryCancelled, sqlite3.IntegrityError):
            raise  # a constraint the caller turns into its own message
        except sqlite3.Error as exc:
            raise from_sqlite(exc, self.path) from exc

    def transaction(self) -> Any:
        """Several writes as one: all of them, or (on an error) none."""
        return self._write()

    def _rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        try:
            with self._cancellable():
                return list(self.db.query(sql, params))
        except (QueryCancelled, sqlite3.IntegrityError):
            raise
        except sqlite3.Error as exc:
            raise from_sqlite(exc, self.path, "read") from exc

    def _excerpt(self, expression: str, mids: list[int]) -> dict[int, str]:
        """``{message id: marked excerpt}`` for matches of ``expression`` (see excerpts.py)."""
        return self._excerpts.make(self.db.conn, expression, mids, self._check_cancelled)

    def _touch(self, cid: int, stamp: str) -> None:
        self.db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (stamp, cid))

    # Conversations

    def create_conversation(
        self,
        *,
        title: str | None = None,
        model: str | None = None,
        params: dict[str, Any] | None = None,
        system_prompt: str | None = None,
        endpoint: str | None = None,
        title_source: str = "prompt",
        kind: str = "chat",
        document: str | None = None,
    ) -> int:
        """A new conversation. ``title_source`` says who set ``title`` (see schema.py): the
        default, ``prompt``, marks it provisional, so `set_auto_title` may replace it. ``kind``
        and ``document``: a completion or edit document and its text (store/documents.py)."""
        if title_source not in TITLE_SOURCES:
            raise ValueError(f"title_source must be one of {TITLE_SOURCES}, not {title_source!r}")
        stamp = now()
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO conversations (title, created_at, updated_at, model, params,"
                " system_prompt, endpoint, title_source, kind, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (title, stamp, stamp, model, params_json(params), system_prompt, endpoint, title_source,
                 kind, document),
            )
            return int(cur.lastrowid)

    def get_conversation(self, cid: int) -> Conversation | None:
        rows = self._rows("SELECT * FROM conversations WHERE id = ?", (cid,))
        return conversation_from_row(rows[0]) if rows else None

    def list_conversations(self, limit: int = 50, offset: int = 0) -> list[ConversationSummary]:
        """Newest updated first, with message count and a preview for untitled ones."""
        rows = self._rows(
            """
            SELECT c.id, c.title, c.created_at, c.updated_at, c.model, c.endpoint,
                (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)
                    AS message_count,
                coalesce((SELECT substr(m.content, 1, 100) FROM messages m
                          WHERE m.conversation_id = c.id AND m.role = 'user'
                          ORDER BY m.id LIMIT 1), '') AS preview
            FROM conversations c WHERE c.deleted_at IS NULL
            ORDER BY c.updated_at DESC, c.id DESC LIMIT ? OFFSET ?
            """,
            (limit, offset),
        )
        return [summary_from_row(r) for r in rows]

    def last_conversation_id(self) -> int | None:
        rows = self._rows(
            "SELECT id FROM conversations WHERE deleted_at IS NULL"
            " ORDER BY updated_at DESC, id DESC LIMIT 1"
        )
        return rows[0]["id"] if rows else None

    def rename_conversation(self, cid: int, title: str | None) -> None:
        """The user's own title: an auto-title never replaces it."""
        self.set_conversation_defaults(cid, title=title, title_source="user")

    def set_auto_title(self, cid: int, title: str) -> bool:
        """Replace the provisional title cut from the prompt with a generated one. Nothing
        changes (False) if the title was set any other way meanwhile (a rename, an earlier
        auto-title) or the conversation is gone; checked and written in one UPDATE."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE conversations SET title = ?, title_source = 'auto'"
                " WHERE id = ? AND title_source = 'prompt'",
                (title, cid),
            )
            return cur.rowcount > 0

    def set_conversation_defaults(
        self,
        cid: int,
        *,
        model: str | None = _UNSET,
        params: dict[str, Any] | None = _UNSET,
        system_prompt: str | None = _UNSET,
        endpoint: str | None = _UNSET,
        title: str | None = _UNSET,
        title_source: str | None = _UNSET,
    ) -> None:
        """Change only the fields given; pass None to clear one (params None means {})."""
        if title_source is not _UNSET and title_source not in (*TITLE_SOURCES, None):
            raise ValueError(f"title_source must be one of {TITLE_SOURCES}, not {title_source!r}")
        changes = {
            k: v
            for k, v in dict(model=model, system_prompt=system_prompt, endpoint=endpoint,
                             title=title, title_source=title_source).items()
            if v is not _UNSET
        }
        if params is not _UNSET:
            changes["params"] = params_json(params)
        changes["updated_at"] = now()
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self._write() as db:
            cur = db.execute(
                f"UPDATE conversations SET {assignments} WHERE id = ?", (*changes.values(), cid)
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no conversation {cid}")

    def delete_conversation(self, cid: int) -> bool:
        """Delete the conversation and all its messages; False if it did not exist."""
        with self._write() as db:
            return db.execute("DELETE FROM conversations WHERE id = ?", (cid,)).rowcount > 0

    # Messages

    def _check_parent(self, cid: int, parent_id: int | None) -> None:
        if not self._rows("SELECT 1 FROM conversations WHERE id = ?", (cid,)):
            raise NotFoundError(f"no conversation {cid}")
        if parent_id is not None and not self._rows(
            "SELECT 1 FROM messages WHERE id = ? AND conversation_id = ?", (parent_id, cid)
        ):
            raise NotFoundError(f"no message {parent_id} in conversation {cid}")

    def add_message(
        self,
        cid: int,
        role: str,
        content: str | tuple[Part, ...],
        *,
        parent_id: int | None = None,
        name: str | None = None,
        tool_calls: tuple[ToolCall, ...] = (),
        tool_call_id: str | None = None,
        keep_parts: bool = False,
        status: str = "complete",
    ) -> int:
        """Add a finished message (a user turn, a tool result, a system note, an imported
        reply). `content` is the text, or content parts: their text is the searchable
        `content`, and the parts are kept in `parts` when there is more than text, or when
        `keep_parts` says so (files kept with the message but not sent, such as audio, are
        found by position after the parts). `status` `error`: a tool result that reports a
        failure (the tool raised, was declined, had bad arguments)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
        if status not in FINAL_STATUSES:
            raise ValueError(f"status must be one of {FINAL_STATUSES}, not {status!r}")
        text, parts = parts_columns(content, keep=keep_parts)
        calls = json.dumps([c.to_wire() for c in tool_calls], ensure_ascii=False) if tool_calls else None
        stamp = now()
        with self._write() as db:
            self._check_parent(cid, parent_id)
            cur = db.execute(
                "INSERT INTO messages (conversation_id, parent_id, role, name, content,"
                " created_at, updated_at, status, parts, tool_calls, tool_call_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (cid, parent_id, role, name, text, stamp, stamp, status, parts, calls, tool_call_id),
            )
            self._touch(cid, stamp)
            return int(cur.lastrowid)

    def begin_assistant(
        self,
        cid: int,
        *,
        parent_id: int | None,
        model: str,
        params: dict[str, Any],
        endpoint: str | None,
    ) -> int:
        """Create the reply row (``streaming``, empty) before the request is sent."""
        stamp = now()
        params_text = params_json(params)
        mid = None
        try:
            with self._write() as db:
                self._check_parent(cid, parent_id)
                cur = db.execute(
                    "INSERT INTO messages (conversation_id, parent_id, role, content,"
                    " created_at, updated_at, model, params, endpoint, status, writer_pid)"
                    " VALUES (?, ?, 'assistant', '', ?, ?, ?, ?, ?, 'streaming', ?)",
                    (cid, parent_id, stamp, stamp, model, params_text, endpoint, os.getpid()),
                )
                mid = int(cur.lastrowid)
                self._touch(cid, stamp)
                # Claimed before COMMIT so no other Store in this process can see the row
                # unclaimed and take it for an orphan.
                liveness.claim(self._key, mid)
                self._mine.add(mid)
        except BaseException:
            if mid is not None:
                liveness.release(self._key, mid)
                self._mine.discard(mid)
            raise
        return mid

    def flush_partial(self, mid: int, content: str, reasoning: str | None = None) -> bool:
        """Save the text received so far (and the reasoning, if any came): one small UPDATE.
        False if no longer streaming."""
        with self._write() as db:
            if reasoning is None:
                cur = db.execute(
                    "UPDATE messages SET content = ?, updated_at = ?"
                    " WHERE id = ? AND status = 'streaming'",
                    (content, now(), mid),
                )
            else:
                cur = db.execute(
                    "UPDATE messages SET content = ?, reasoning = ?, updated_at = ?"
                    " WHERE id = ? AND status = 'streaming'",
                    (content, reasoning, now(), mid),
                )
            return cur.rowcount > 0

    def finish_assistant(
        self,
        mid: int,
        content: str,
        status: str,
        *,
        error: str | None = None,
        finish_reason: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        prompt_tokens_local: int | None = None,
        completion_tokens_local: int | None = None,
        tokens_exact: bool | None = None,
        ttft: float | None = None,
        duration: float | None = None,
        system_fingerprint: str | None = None,
        logprobs: Any = None,
        reasoning: str | None = None,
        reasoning_tokens: int | None = None,
        reasoning_tokens_local: int | None = None,
        reasoning_duration: float | None = None,
        tool_calls: tuple[ToolCall, ...] = (),
    ) -> None:
        """Store the final text, status and statistics of a reply (and its reasoning, apart), and
        the tool calls it made (as received: a stopped reply's last call may be cut short)."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"status must be one of {FINAL_STATUSES}, not {status!r}")
        stamp = now()
        exact = None if tokens_exact is None else int(bool(tokens_exact))
        calls = json.dumps([c.to_wire() for c in tool_calls], ensure_ascii=False) if tool_calls else None
        with self._write() as db:
            cur = db.execute(
                """UPDATE messages SET content = ?, status = ?, error = ?, finish_reason = ?,
                    prompt_tokens = ?, completion_tokens = ?, prompt_tokens_local = ?,
                    completion_tokens_local = ?, tokens_exact = ?, ttft = ?, duration = ?,
                    system_fingerprint = ?, logprobs = ?, reasoning = ?, reasoning_tokens = ?,
                    reasoning_tokens_local = ?, reasoning_duration = ?, tool_calls = ?, updated_at = ?
                WHERE id = ? AND role = 'assistant'""",
                (content, status, error, finish_reason, prompt_tokens, completion_tokens,
                 prompt_tokens_local, completion_tokens_local, exact, ttft, duration,
                 system_fingerprint, lenient_json(logprobs), reasoning or None, reasoning_tokens,
                 reasoning_tokens_local, reasoning_duration, calls, stamp, mid),
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no assistant message {mid}")
            db.execute(
                "UPDATE conversations SET updated_at = ?"
                " WHERE id = (SELECT conversation_id FROM messages WHERE id = ?)",
                (stamp, mid),
            )
        liveness.release(self._key, mid)
        self._mine.discard(mid)

    def get_message(self, mid: int) -> Message | None:
        rows = self._rows("SELECT * FROM messages WHERE id = ?", (mid,))
        return message_from_row(rows[0]) if rows else None

    def messages(self, cid: int) -> list[Message]:
        """Every message of the conversation (all branches), in creation order."""
        rows = self._rows("SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (cid,))
        return [message_from_row(r) for r in rows]

    def children(self, mid: int) -> list[Message]:
        """Direct replies to ``mid``: more than one means branches (regenerate, edit)."""
        rows = self._rows("SELECT * FROM messages WHERE parent_id = ? ORDER BY id", (mid,))
        return [message_from_row(r) for r in rows]

    def thread(self, cid: int, leaf_id: int | None = None) -> list[Message]:
        """The path root → ``leaf_id`` (default: the newest leaf), i.e. what the API sees."""
        if leaf_id is None:
            rows = self._rows(
                """SELECT id FROM messages m WHERE conversation_id = ? AND NOT EXISTS
                   (SELECT 1 FROM messages c WHERE c.parent_id = m.id
                    AND c.conversation_id = m.conversation_id)
                   ORDER BY id DESC LIMIT 1""",
                (cid,),
            )
            if not rows:
                return []
            leaf_id = rows[0]["id"]
        rows = self._rows(
            """
            WITH RECURSIVE path (id, depth) AS (
                SELECT id, 0 FROM messages WHERE id = ? AND conversation_id = ?
                UNION ALL
                SELECT m.parent_id, path.depth + 1 FROM messages m JOIN path ON m.id = path.id
                -- the depth cap only guards against a cycle made by hand-edited rows
                WHERE m.parent_id IS NOT NULL AND path.depth < 100000
            )
            SELECT messages.* FROM path JOIN messages ON messages.id = path.id
            ORDER BY path.depth DESC
            """,
            (leaf_id, cid),
        )
        if not rows:
            raise NotFoundError(f"no message {leaf_id} in conversation {cid}")
        return [message_from_row(r) for r in rows]

    # Crash recovery

    def _interrupt(self, mid: int, reason: str) -> int:
        cur = self.db.execute(
            "UPDATE messages SET status = 'interrupted', error = ?, updated_at = ?"
            " WHERE id = ? AND status = 'streaming'",
            (reason, now(), mid),
        )
        return cur.rowcount

    def recover_interrupted(self) -> int:
        """Mark replies whose writing process is gone as ``interrupted``; keep their text.

        Returns how many rows were marked. A row carrying our own pid counts as live only
        if some Store in this process is streaming it (the pid may be a reused one).
        """
        me = os.getpid()
        orphans = []
        for row in self._rows(
            "SELECT id, writer_pid FROM messages WHERE status = 'streaming' ORDER BY id"
        ):
            mid, pid = row["id"], row["writer_pid"]
            if pid == me:
                alive = liveness.streaming_here(self._key, mid)
            else:
                alive = pid is not None and liveness.pid_alive(pid)
            if not alive:
                orphans.append((mid, pid))
        if not orphans:
            return 0
        marked = 0
        with self._write():
            for mid, pid in orphans:
                who = f"writer process {pid} exited" if pid else "no writer process recorded"
                marked += self._interrupt(mid, f"{who} before the reply finished")
        return marked

    # Search and export

    def search(self, query: str, *, limit: int = 20, offset: int = 0) -> list[SearchHit]:
        """Messages matching every word of ``query``, best match first (then newest).

        ``"a phrase"`` matches a phrase and ``word*`` a prefix; any other character is
        taken literally, so no input raises. Replies still streaming are not indexed yet.
        See SearchHit for the two forms of the excerpt.
        """
        expression = fts_query(query)
        if expression is None:
            return []
        with self._cancellable():
            rows = self._rows(
                """
                SELECT m.conversation_id, c.title, m.id AS message_id, m.role, m.created_at
                FROM messages_fts
                JOIN messages m ON m.id = messages_fts.rowid
                JOIN conversations c ON c.id = m.conversation_id
                WHERE messages_fts MATCH ? AND c.deleted_at IS NULL
                ORDER BY messages_fts.rank, m.id DESC
                LIMIT ? OFFSET ?
                """,
                (expression, limit, offset),
            )
            excerpts = self._excerpt(expression, [r["message_id"] for r in rows])
        return [search_hit_from_row({**r, "marked": excerpts.get(r["message_id"], "")}) for r in rows]

    def export_conversation(self, cid: int) -> dict[str, Any]:
        """The conversation and its whole message tree (every column) as JSON-able data."""
        # One read transaction, so the conversation and its messages are one snapshot.
        conn = self.db.conn
        conn.execute("BEGIN")
        try:
            conversation = self.get_conversation(cid)
            messages = self.messages(cid)
            runs = self.compare_runs(cid)
            attached, images = self._conversation_files(cid)
        finally:
            conn.execute("COMMIT")
        if conversation is None:
            raise NotFoundError(f"no conversation {cid}")
        files = {}
        if attached or images:
            blobs = encoded_blobs(blob_root_beside(self.path), [r["sha256"] for r in (*attached, *images)])
            files = {"attachments": attached, "images": images, "blobs": blobs}
        return {
            "format": EXPORT_FORMAT,
            "format_version": EXPORT_VERSION,
            "schema_version": self.schema_version,
            "exported_at": now(),
            "conversation": asdict(conversation),
            "messages": [asdict(m) for m in messages],
            "compare_runs": [asdict(r) for r in runs],
            **files,  # a message's files (rows and bytes), the images `/image` made
        }

    def _conversation_files(self, cid: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """For an export: the attachment rows of a conversation's messages and its image rows."""
        attached = self._rows(
            "SELECT a.message_id, a.position, a.kind, a.name, a.mime, a.size, a.sha256, a.created_at"
            " FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.conversation_id = ?"
            " ORDER BY a.message_id, a.position", (cid,))
        images = self._rows(
            "SELECT created_at, kind, prompt, revised_prompt, model, params, sha256, mime, width, height, cost,"
            " message_id, endpoint FROM images WHERE conversation_id = ? ORDER BY id", (cid,))
        return [dict(r) for r in attached], [{**r, "params": json.loads(r["params"])} for r in images]

    # Presets

    def save_preset(self, name: str, params: dict[str, Any]) -> int:
        """Create or replace the preset called ``name``; returns its id."""
        if not name or not name.strip():
            raise ValueError("a preset needs a name")
        params_text, stamp = params_json(params), now()
        with self._write() as db:
            db.execute(
                "INSERT INTO presets (name, params, created_at, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET params = excluded.params,"
                " updated_at = excluded.updated_at",
                (name, params_text, stamp, stamp),
            )
            return int(db.execute("SELECT id FROM presets WHERE name = ?", (name,)).fetchone()[0])

    def list_presets(self) -> list[Preset]:
        return [preset_from_row(r) for r in self._rows("SELECT * FROM presets ORDER BY name")]

    def get_preset(self, name: str) -> Preset | None:
        rows = self._rows("SELECT * FROM presets WHERE name = ?", (name,))
        return preset_from_row(rows[0]) if rows else None

    def rename_preset(self, old: str, new: str) -> None:
        if not new or not new.strip():
            raise ValueError("a preset needs a name")
        with self._write() as db:
            try:
                cur = db.execute(
                    "UPDATE presets SET name = ?, updated_at = ? WHERE name = ?", (new, now(), old)
                )
            except sqlite3.IntegrityError:
                raise ValueError(f"a preset named {new!r} already exists") from None
            if cur.rowcount == 0:
                raise NotFoundError(f"no preset named {old!r}")

    def delete_preset(self, name: str) -> bool:
        with self._write() as db:
            return db.execute("DELETE FROM presets WHERE name = ?", (name,)).rowcount > 0
