"""The Store's connection: the few calls the store modules and migrations make (`execute`,
`query`, `conn`, `close`), on the standard library's sqlite3 alone.

This replaced sqlite-utils' `Database`, of which the app used only these calls (everything is
plain SQL). Importing sqlite-utils cost ~0.17 s and ~12 MB at every start, because it imports
numpy when numpy is installed (a dependency since search by meaning): more than a whole
`chat-tui history list` should take (issue 17). The tests still use sqlite-utils to inspect
schemas.
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
