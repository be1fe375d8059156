"""The history browser's queries: list, filter and search conversations; pin, archive, delete.

API (module-level functions over a `Store`; they use its connection, so call them on the
thread that owns the Store, or open a second Store in a worker):

``history_page(store, *, query=None, filters=HistoryFilter(), limit=50, offset=0)``
    -> ``list[HistoryRow]``. Without a query: pinned conversations first, then newest
    updated first. With a query (words, ``"a phrase"``, ``prefix*``, as in `Store.search`;
    a one- or two-letter ``x*`` is taken as the word): one row per matching conversation,
    with the excerpt of its best matching message (``snippet``/``segments``) and that
    message's id (``hit_message_id``) to jump to. Order with a query: if at most
    `RANKED_MATCHES` messages match, best match first (bm25); a more common query lists
    the conversation with the newest matching message first, reading the index newest
    first and stopping after the page, so a word in every message costs what a rare one
    does. (With a filter and a word in more than `DENSE` of messages, the conversations
    passing the filter are walked newest *updated* first instead; the order is nearly the
    same.) The mode depends on the query and the data, not on ``offset``, so pages join up.
    Measured at 100,000 conversations / 1,000,000 messages (benchmarks/history.py): every
    query form under 25 ms, except prefixes of 5+ letters of very common words (~110 ms:
    only 3- and 4-letter prefixes are indexed).
    The excerpt is made from a bounded window of the message (see excerpts.py), so a hit
    in a 2 MB message costs what one in a short message does.
``count_history(store, query=None, filters=HistoryFilter(), cap=10_000)`` -> ``int``
    Conversations ``history_page`` would list, counted up to ``cap`` (show "cap+"). Cheap
    without a query (~1 ms) or with a rare one; with a common word it costs about 2 ms per
    1,000 counted, and up to ~40 µs per conversation passing a filter; call it off the
    input path (a worker), with a cap such as 1,000.
``set_pinned(store, cid, pinned)``, ``set_archived(store, cid, archived)``
    Neither changes ``updated_at``. Raise `NotFoundError` for an unknown id.
``soft_delete(store, cid)`` / ``undo_delete(store, cid)`` -> ``bool`` (whether it changed)
    A soft-deleted conversation disappears from every listing and search (also
    `Store.list_conversations`, `last_conversation_id` and `search`) but stays in the file
    until ``purge_deleted(store)`` -> ``int``, which the app calls at exit and start.
``totals(store, cid)`` -> `Totals` (messages, tokens, models used).

``history_page`` and ``count_history`` raise `QueryCancelled` when the Store is cancelled
(`Store.interrupt` or its `CancelToken`): a search made stale by the next keystroke stops
using CPU at once.

Filters (`HistoryFilter`) combine with AND: ``model``/``endpoint`` are the conversation's
(exact match); ``since``/``until`` bound ``updated_at`` by ISO date, both days included (a
full timestamp is used as is); ``params`` are ``(name, op, value)`` conditions on the
parameters some assistant reply of the conversation was sent with, e.g.
``("temperature", ">", 1.0)``; ``response_format`` compares its type (``json_schema``).
Archived conversations are left out unless
``include_archived`` (or ``archived_only``). Bad filter values raise `ValueError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from chat_tui.store.encoding import now
from chat_tui.store.errors import NotFoundError
from chat_tui.store.fts import fts_query
from chat_tui.store.records import _split_marked

if TYPE_CHECKING:
    from chat_tui.store.db import Store

# A query with at most this many matching messages is ranked with bm25 (cheap at this size);
# beyond it, ranking every match would cost time proportional to the whole index.
RANKED_MATCHES = 2000
# A query matching at least this share of recent messages, with a filter, is searched
# conversation by conversation (see _search).
DENSE = 0.03
_CHUNK = 256  # rows fetched at a time while streaming matches
_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "=": "=", "==": "=", "!=": "!="}
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SHORT_PREFIX = re.compile(r'(?<!\S)([^\s"*]{1,2})\*+(?!\S)')
_PREFIX_TERM = re.compile(r'"((?:[^"]|"")*)"\*')
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


@dataclass(frozen=True)
class HistoryFilter:
    model: str | None = None
    endpoint: str | None = None
    since: str | None = None  # ISO date (inclusive) or timestamp, on updated_at
    until: str | None = None  # ISO date (inclusive) or timestamp, on updated_at
    params: tuple[tuple[str, str, float], ...] = ()  # e.g. (("temperature", ">", 1.0),)
    include_archived: bool = False
    pinned_only: bool = False
    archived_only: bool = False  # the "Archive" view

    @property
    def narrows(self) -> bool:
        """True if the filter can leave out more than archived conversations."""
        return bool(self.model or self.endpoint or self.since or self.until or self.params
                    or self.pinned_only or self.archived_only)


@dataclass(frozen=True)
class HistoryRow:
    id: int
    title: str | None
    model: str | None
    endpoint: str | None
    message_count: int
    created_at: str
    updated_at: str
    prompt_tokens: int | None  # sums over replies: server usage, else tiktoken; None if unknown
    completion_tokens: int | None
    pinned: bool
    archived: bool
    snippet: str | None  # with a query: the excerpt, matches in [ ]; else None
    segments: tuple[tuple[str, bool], ...] | None  # the same excerpt as (text, is_match)
    hit_message_id: int | None  # the message the excerpt is from
    preview: str = ""  # start of the first user message, for untitled conversations
    kind: str = "chat"  # "chat", "completion" or "edit" (schema.py, version 6)


@dataclass(frozen=True)
class Totals:
    messages: int
    prompt_tokens: int | None
    completion_tokens: int | None
    models: tuple[str, ...]  # models that replied, most used first


# -- filters -----------------------------------------------------------------------------


def _day(value: str, what: str) -> str:
    value = value.strip()
    if _DATE.match(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None
        return value
    if re.match(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", value):
        return value.replace(" ", "T")
    raise ValueError(f"{what}: {value!r} is not a date (YYYY-MM-DD)")


def _where(f: HistoryFilter, alias: str = "c") -> tuple[str, list[Any]]:
    """SQL conditions on conversations ``alias`` for the filter, and their arguments."""
    c = alias
    clauses = [f"{c}.deleted_at IS NULL"]
    args: list[Any] = []
    if f.archived_only:
        clauses.append(f"{c}.archived = 1")
    elif not f.include_archived:
        clauses.append(f"{c}.archived = 0")
    if f.pinned_only:
        clauses.append(f"{c}.pinned = 1")
    if f.model:
        clauses.append(f"{c}.model = ?")
        args.append(f.model)
    if f.endpoint:
        clauses.append(f"{c}.endpoint = ?")
        args.append(f.endpoint)
    if f.since:
        clauses.append(f"{c}.updated_at >= ?")
        args.append(_day(f.since, "since"))
    if f.until:
        until = _day(f.until, "until")
        if _DATE.match(until):  # the whole day: before the next one starts
            clauses.append(f"{c}.updated_at < ?")
            args.append((date.fromisoformat(until) + timedelta(days=1)).isoformat())
        else:
            clauses.append(f"{c}.updated_at <= ?")
            args.append(until)
    for condition in f.params:
        try:
            name, op, value = condition
        except (TypeError, ValueError):
            raise ValueError(f"a parameter filter is (name, op, value), not {condition!r}") from None
        if not isinstance(name, str) or not _PARAM_NAME.match(name):
            raise ValueError(f"not a parameter name: {name!r}")
        if op not in _OPS:
            raise ValueError(f"unknown comparison {op!r}; use one of {', '.join(_OPS)}")
        clauses.append(
            f"EXISTS (SELECT 1 FROM messages pm WHERE pm.conversation_id = {c}.id"
            f" AND pm.role = 'assistant' AND json_extract(pm.params, ?) {_OPS[op]} ?)"
        )
        # response_format is an object; it is filtered by its type (text, json_object, json_schema)
        args += [f"$.{name}.type" if name == "response_format" else f"$.{name}", value]
    return " AND ".join(clauses), args


# -- listing -----------------------------------------------------------------------------


def history_page(
    store: Store,
    *,
    query: str | None = None,
    filters: HistoryFilter = HistoryFilter(),
    limit: int = 50,
    offset: int = 0,
) -> list[HistoryRow]:
    """One page of the history; see the module docstring for the order."""
    if limit <= 0:
        return []
    offset = max(0, offset)
    expression = _expression(query)
    with store._cancellable():
        if expression is None:
            return _rows(store, _listing(store, filters, limit, offset), {})
        hits = _search(store, expression, filters, offset + limit)[offset:]
        return _rows(store, [cid for cid, _ in hits], _snippets(store, expression, hits))


def _expression(query: str | None) -> str | None:
    # A one- or two-letter prefix (`a*`, `st*`, typed on the way to a word) has no prefix
    # index and would merge the lists of a good part of the vocabulary before returning a
    # row; it is searched as the word itself.
    return fts_query(_SHORT_PREFIX.sub(r"\1", query)) if query else None


def _index(f: HistoryFilter) -> str:
    """The index that yields the filter's conversations newest updated first. Named in the
    query (INDEXED BY) because, without statistics, SQLite cannot tell that ``pinned`` or
    ``archived`` select little and might scan by them instead."""
    if f.pinned_only:
        return "conversations_pinned"
    if f.model:
        return "conversations_by_model"
    if f.endpoint:
        return "conversations_by_endpoint"
    return "conversations_by_updated"


def _listing(store: Store, f: HistoryFilter, limit: int, offset: int) -> list[int]:
    # Pinned ones first (few, from their own small index), then the others, each an index
    # scan in display order that stops after the page.
    where, args = _where(f)
    sql = ("SELECT c.id FROM conversations c INDEXED BY {index} WHERE {pinned} AND {where}"
           " ORDER BY c.updated_at DESC, c.id DESC LIMIT ? OFFSET ?")
    pinned_sql = sql.format(index="conversations_pinned", pinned="c.pinned = 1", where=where)
    ids = [r[0] for r in store.db.execute(pinned_sql, [*args, limit, offset])]
    if len(ids) == limit or f.pinned_only:
        return ids
    skip = 0
    if offset:  # how far the page starts into the unpinned ones
        pinned = store.db.execute(
            "SELECT count(*) FROM conversations c INDEXED BY conversations_pinned"
            f" WHERE c.pinned = 1 AND {where}", args
        ).fetchone()[0]
        skip = max(0, offset - pinned)
    # `+c.pinned`: a plain check, not a way to look rows up.
    rest_sql = sql.format(index=_index(f), pinned="+c.pinned = 0", where=where)
    ids += [r[0] for r in store.db.execute(rest_sql, [*args, limit - len(ids), skip])]
    return ids


def _search(store: Store, expression: str, f: HistoryFilter, want: int) -> list[tuple[int, int]]:
    """Up to ``want`` (conversation id, hit message id) pairs, in display order.

    The newest `RANKED_MATCHES` + 1 matches are read first (cheap: FTS5 walks its index in
    rowid order and stops). At most `RANKED_MATCHES`: all matches are ranked (bm25). More:
    matches are read newest first, through the filter, until the page is full; except that
    with a filter and a word in at least `DENSE` of recent messages, the conversations that
    pass the filter are walked newest updated first instead (nearly all of them have a hit,
    so a page takes a few lookups, where reading matches could mean reading much of the
    index to find the few that pass)."""
    db = store.db
    way = _way(store, expression, f)
    if way == "by conversation":
        return _search_by_conversation(store, expression, f, want)
    if way == "ranked":
        order = "messages_fts.rank, messages_fts.rowid DESC"
    else:
        order = "messages_fts.rowid DESC"  # FTS5 reads this order from its index: no sort
    where, args = _where(f)
    # CROSS JOIN pins the index as the outer loop, so rows stream in `order` and the
    # filter is checked in SQL on the way.
    cursor = db.execute(
        "SELECT messages_fts.rowid, m.conversation_id FROM messages_fts"
        " CROSS JOIN messages m ON m.id = messages_fts.rowid"
        " CROSS JOIN conversations c ON c.id = m.conversation_id"
        f" WHERE messages_fts MATCH ? AND {where} ORDER BY {order}",
        [expression, *args],
    )
    found: list[tuple[int, int]] = []
    seen: set[int] = set()
    with closing(cursor):  # stopped early: end the statement, and its read, now
        for chunk in _chunks(cursor):
            for mid, cid in chunk:
                if cid not in seen:  # listed once, with its first (best or newest) hit
                    seen.add(cid)
                    found.append((cid, mid))
                    if len(found) >= want:
                        return found
    return found


def _way(store: Store, expression: str, f: HistoryFilter) -> str:
    """How to search: "ranked", "newest" (matches newest first) or "by conversation"."""
    matches, low, high = store.db.execute(
        "SELECT count(*), min(rowid), max(rowid) FROM (SELECT rowid FROM messages_fts"
        " WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT ?)",
        (expression, RANKED_MATCHES + 1),
    ).fetchone()
    if matches <= RANKED_MATCHES:
        return "ranked"
    if f.narrows and matches / (high - low + 1) >= DENSE and not _unindexed_prefix(expression):
        return "by conversation"
    return "newest"


def _unindexed_prefix(expression: str) -> bool:
    """Whether a prefix term is longer than the prefix indexes (3, 4): each lookup with it
    merges the lists of every word it starts."""
    return any(len(body) > 4 for body in _PREFIX_TERM.findall(expression))


def _chunks(cursor: Any) -> Iterator[list[tuple[Any, ...]]]:
    while rows := cursor.fetchmany(_CHUNK):
        yield rows


def _search_by_conversation(
    store: Store, expression: str, f: HistoryFilter, want: int
) -> list[tuple[int, int]]:
    # Walk the conversations that pass the filter, newest first, and find each one's newest
    # hit within its range of message ids: one FTS lookup each (CROSS JOIN keeps the index
    # range scan outside the row lookups). One query per conversation measured faster than
    # the same lookup as a correlated subquery.
    where, args = _where(f)
    candidates = store.db.execute(
        f"SELECT c.id, (SELECT min(id) FROM messages WHERE conversation_id = c.id),"
        f" (SELECT max(id) FROM messages WHERE conversation_id = c.id)"
        f" FROM conversations c INDEXED BY {_index(f)} WHERE {where}"
        " ORDER BY c.updated_at DESC, c.id DESC",
        args,
    )
    found = []
    with closing(candidates):
        for chunk in _chunks(candidates):
            for cid, low, high in chunk:
                if low is None:
                    continue
                row = store.db.execute(
                    "SELECT messages_fts.rowid FROM messages_fts CROSS JOIN messages m"
                    " ON m.id = messages_fts.rowid WHERE messages_fts MATCH ?"
                    " AND messages_fts.rowid BETWEEN ? AND ? AND m.conversation_id = ?"
                    " ORDER BY messages_fts.rowid DESC LIMIT 1",
                    (expression, low, high, cid),
                ).fetchone()
                if row:
                    found.append((cid, row[0]))
                    if len(found) >= want:
                        return found
    return found


def _snippets(store: Store, expression: str, hits: list[tuple[int, int]]) -> dict[int, tuple[int, str]]:
    """The excerpt of each hit: ``{conversation id: (message id, marked excerpt)}``."""
    excerpts = store._excerpt(expression, [mid for _, mid in hits])
    return {cid: (mid, excerpts.get(mid, "")) for cid, mid in hits}


def _rows(store: Store, ids: list[int], snippets: dict[int, tuple[int, str]]) -> list[HistoryRow]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    details = {
        row[0]: row
        for row in store.db.execute(
            f"""
            SELECT c.id, c.title, c.model, c.endpoint, c.created_at, c.updated_at, c.pinned,
                c.archived, coalesce(s.n, 0), s.prompt, s.completion, c.kind,
                coalesce((SELECT substr(m.content, 1, 100) FROM messages m
                          WHERE m.conversation_id = c.id AND m.role = 'user'
                          ORDER BY m.id LIMIT 1), '')
            FROM conversations c LEFT JOIN (
                SELECT conversation_id AS cid, count(*) AS n,
                    sum(coalesce(prompt_tokens, prompt_tokens_local)) AS prompt,
                    sum(coalesce(completion_tokens, completion_tokens_local)) AS completion
                FROM messages WHERE conversation_id IN ({marks}) GROUP BY conversation_id
            ) s ON s.cid = c.id
            WHERE c.id IN ({marks})
            """,
            [*ids, *ids],
        )
    }
    out = []
    for cid in ids:
        if cid not in details:  # deleted since the ids were read
            continue
        (_, title, model, endpoint, created, updated, pinned, archived, count, prompt,
         completion, kind, preview) = details[cid]
        mid, marked = snippets.get(cid, (None, None))
        segments = _split_marked(marked) if marked is not None else None
        snippet = (
            "".join(f"[{text}]" if is_match else text for text, is_match in segments)
            if segments is not None else None
        )
        out.append(HistoryRow(
            id=cid, title=title, model=model, endpoint=endpoint, message_count=count,
            created_at=created, updated_at=updated, prompt_tokens=prompt,
            completion_tokens=completion, pinned=bool(pinned), archived=bool(archived),
            snippet=snippet, segments=segments, hit_message_id=mid, preview=preview, kind=kind,
        ))
    return out


def _capped_count(store: Store, f: HistoryFilter, cap: int) -> int:
    where, args = _where(f)
    return store.db.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM conversations c INDEXED BY {_index(f)}"
        f" WHERE {where} LIMIT ?)",
        [*args, cap],
    ).fetchone()[0]


def count_history(
    store: Store, query: str | None = None, filters: HistoryFilter = HistoryFilter(),
    cap: int = 10_000,
) -> int:
    """How many conversations `history_page` would list, counted up to ``cap``."""
    with store._cancellable():
        return _count(store, _expression(query), filters, cap)


def _count(store: Store, expression: str | None, filters: HistoryFilter, cap: int) -> int:
    if expression is None:
        return _capped_count(store, filters, cap)
    where, args = _where(filters)
    if _way(store, expression, filters) == "by conversation":
        return store.db.execute(
            f"""SELECT count(*) FROM (
                SELECT 1 FROM conversations c INDEXED BY {_index(filters)}
                WHERE {where} AND EXISTS (
                    SELECT 1 FROM messages_fts CROSS JOIN messages m ON m.id = messages_fts.rowid
                    WHERE messages_fts MATCH ? AND m.conversation_id = c.id
                    AND messages_fts.rowid BETWEEN
                        (SELECT min(id) FROM messages WHERE conversation_id = c.id)
                        AND (SELECT max(id) FROM messages WHERE conversation_id = c.id))
                LIMIT ?)""",
            [*args, expression, cap],
        ).fetchone()[0]
    return store.db.execute(
        f"""SELECT count(*) FROM (
            SELECT DISTINCT m.conversation_id FROM messages_fts
            CROSS JOIN messages m ON m.id = messages_fts.rowid
            CROSS JOIN conversations c ON c.id = m.conversation_id
            WHERE messages_fts MATCH ? AND {where} LIMIT ?)""",
        [expression, *args, cap],
    ).fetchone()[0]


# -- changes -----------------------------------------------------------------------------


def _set(store: Store, cid: int, sql: str, args: list[Any]) -> int:
    with store._write() as db:
        changed = db.execute(sql, args).rowcount
        if not changed and not db.execute(
            "SELECT 1 FROM conversations WHERE id = ?", (cid,)
        ).fetchone():
            raise NotFoundError(f"no conversation {cid}")
        return changed


def set_pinned(store: Store, cid: int, pinned: bool) -> None:
    _set(store, cid, "UPDATE conversations SET pinned = ? WHERE id = ?", [int(bool(pinned)), cid])


def set_archived(store: Store, cid: int, archived: bool) -> None:
    _set(store, cid, "UPDATE conversations SET archived = ? WHERE id = ?",
         [int(bool(archived)), cid])


def soft_delete(store: Store, cid: int) -> bool:
    """Hide the conversation everywhere until `undo_delete` or `purge_deleted`."""
    return _set(store, cid, "UPDATE conversations SET deleted_at = ?"
                " WHERE id = ? AND deleted_at IS NULL", [now(), cid]) > 0


def undo_delete(store: Store, cid: int) -> bool:
    return _set(store, cid, "UPDATE conversations SET deleted_at = NULL"
                " WHERE id = ? AND deleted_at IS NOT NULL", [cid]) > 0


def deleted_ids(store: Store) -> list[int]:
    """Soft-deleted conversations awaiting purge, most recently deleted first."""
    return [r[0] for r in store.db.execute(
        "SELECT id FROM conversations WHERE deleted_at IS NOT NULL ORDER BY deleted_at DESC, id DESC"
    )]


def purge_deleted(store: Store, *, before: str | None = None) -> int:
    """Delete soft-deleted conversations for good (those deleted before ``before``, an ISO
    timestamp, if given); returns how many."""
    with store._write() as db:
        if before is None:
            return db.execute("DELETE FROM conversations WHERE deleted_at IS NOT NULL").rowcount
        return db.execute(
            "DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at < ?", (before,)
        ).rowcount


def totals(store: Store, cid: int) -> Totals:
    row = store.db.execute(
        "SELECT count(*), sum(coalesce(prompt_tokens, prompt_tokens_local)),"
        " sum(coalesce(completion_tokens, completion_tokens_local))"
        " FROM messages WHERE conversation_id = ?", (cid,)
    ).fetchone()
    models = tuple(r[0] for r in store.db.execute(
        "SELECT model FROM messages WHERE conversation_id = ? AND role = 'assistant'"
        " AND model IS NOT NULL GROUP BY model ORDER BY count(*) DESC, model", (cid,)
    ))
    return Totals(messages=row[0], prompt_tokens=row[1], completion_tokens=row[2], models=models)


def conversation_rows(store: Store, hits: list[tuple[int, int]], *, query: str | None = None,
                      filters: HistoryFilter = HistoryFilter()) -> list[HistoryRow]:
    """History rows for (conversation id, hit message id) pairs ranked elsewhere (a search by
    meaning, or a merged ranking), in that order, keeping those that pass ``filters``. The
    excerpt marks ``query``'s words where the hit message has them, else it is the message's
    start."""
    if not hits:
        return []
    with store._cancellable():
        cids = [cid for cid, _ in hits]
        where, args = _where(filters)
        marks = ",".join("?" * len(cids))
        passing = {r[0] for r in store.db.execute(
            f"SELECT c.id FROM conversations c WHERE c.id IN ({marks}) AND {where}", [*cids, *args])}
        hits = [(cid, mid) for cid, mid in hits if cid in passing]
        if not hits:
            return []
        expression = _expression(query)
        mids = [mid for _, mid in hits]
        excerpts = store._excerpt(expression, mids) if expression else {}
        plain = {r[0]: r[1] for r in store.db.execute(
            f"SELECT id, substr(content, 1, 240) FROM messages WHERE id IN ({','.join('?' * len(mids))})", mids)}
        snippets = {cid: (mid, excerpts.get(mid) or " ".join((plain.get(mid) or "").split())[:160]) for cid, mid in hits}
        return _rows(store, [cid for cid, _ in hits], snippets)
