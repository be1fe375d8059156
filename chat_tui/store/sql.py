"""The Store's connection: the few calls the store modules make (`execute`, `query`, `conn`,
`close`), on the standard library's sqlite3 alone.

sqlite-utils is kept for creating and upgrading the schema (`schema.migrate` hands each
migration a `sqlite_utils.Database` on the same connection) and for tests. Importing it costs
~0.17 s (it pulls in numpy when present), more than a whole `chat-tui history list` should
take, and every other use here is plain SQL, so a command that only reads never imports it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any


class Connection:
    """A sqlite3 connection with the two calls the stores use."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, parameters)

    def query(self, sql: str, params: Any = ()) -> Iterator[dict[str, Any]]:
        """Each row as a dict of column name to value."""
        cursor = self.conn.execute(sql, params)
        keys = [d[0] for d in cursor.description or ()]
        for row in cursor:
            yield dict(zip(keys, row))

    def close(self) -> None:
        self.conn.close()
