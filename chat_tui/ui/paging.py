"""Pages of saved conversations for a list on screen, the one mechanism under the sidebar's
conversation list and the history browser.

Rows come `PAGE` at a time, read in a thread worker on a connection of its own (the UI never
waits on SQLite, and 100,000 conversations cost what 10 do); the next page is asked for when the
cursor nears the end. Every query carries a generation number: results of an older one are
dropped, and the older query itself is cancelled at once (it stops using the CPU, however long
it would have run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from textual.dom import DOMNode

from chat_tui.services import history
from chat_tui.services.history import HistoryFilter, HistoryRow
from chat_tui.store import CancelToken, QueryCancelled

PAGE = history.PAGE
NEAR_END = 10  # rows from the end at which the next page is asked for
REFRESH_CAP = 1000  # a refresh re-reads at most this many rows (the rest load again on scrolling)


@dataclass(frozen=True)
class Query:
    text: str | None = None  # full-text search; None lists everything
    filters: HistoryFilter = field(default_factory=HistoryFilter)


class Pager:
    """Owned by a widget or screen, which shows what arrives:

    - `show(offset, rows)`: a page; offset 0 replaces the rows shown, others extend them;
    - `count(n)`: how many conversations match (capped), if `count_cap` was given;
    - `failed(reason)`: the query could not run (a bad date, a locked or broken file).
    """

    def __init__(
        self,
        owner: DOMNode,
        db_path: Path,
        *,
        show: Callable[[int, list[HistoryRow]], None],
        failed: Callable[[str], None],
        count: Callable[[int], None] | None = None,
        count_cap: int | None = None,
    ) -> None:
        self.owner = owner
        self.db_path = db_path
        self._show = show
        self._failed = failed
        self._count = count
        self.count_cap = count_cap
        self.query = Query()
        self.rows = 0  # rows shown so far
        self.generation = 0
        self.exhausted = False
        self.busy = False
        self.loaded = False  # the first page of the current query has arrived
        self._token: CancelToken | None = None

    def start(self, query: Query | None = None, *, keep_rows: bool = False) -> None:
        """Run `query` (default: the current one again) from the first row. `keep_rows`: read
        as many rows as are shown, up to REFRESH_CAP (after a change, so the cursor stays put)."""
        if query is not None:
            self.query = query
        limit = max(PAGE, min(self.rows, REFRESH_CAP)) if keep_rows else PAGE
        self.cancel()
        self.generation += 1
        self.loaded = False
        self._fetch(0, limit, counting=self._count is not None and self.count_cap is not None)

    def more(self) -> None:
        """The next page, unless one is on its way or there is none."""
        if self.busy or self.exhausted or not self.loaded:
            return
        self._fetch(self.rows, PAGE, counting=False)

    def near_end(self, index: int | None) -> None:
        """The cursor is at `index`: ask for the next page when it nears the end."""
        if index is not None and index >= self.rows - NEAR_END:
            self.more()

    def stop(self) -> None:
        """Drop the current query (its owner lists something else, such as a search by
        meaning): nothing more arrives and no page is asked for until the next `start`."""
        self.cancel()
        self.generation += 1
        self.exhausted = True

    def cancel(self) -> None:
        """Stop the query under way, if any (the owner is going away, or a newer one starts)."""
        if self._token is not None:
            self._token.cancel()
            self._token = None
        self.busy = False

    def _fetch(self, offset: int, limit: int, *, counting: bool) -> None:
        self.busy = True
        token = self._token = self._token or CancelToken()
        gen, query, path, cap = self.generation, self.query, self.db_path, self.count_cap
        app = self.owner.app

        def work() -> None:  # in a thread: no widget, no app state, a connection of its own
            try:
                with history.reader(path, cancel=token) as store:
                    page = history.page(store, query=query.text, filters=query.filters, offset=offset, limit=limit)
                    app.call_from_thread(self._arrived, gen, page)
                    if counting:
                        n = history.count(store, query=query.text, filters=query.filters, cap=cap)
                        app.call_from_thread(self._counted, gen, n)
            except QueryCancelled:
                pass
            except Exception as exc:  # noqa: BLE001 - shown in the list, never a crash
                if not token.cancelled:
                    app.call_from_thread(self._error, gen, str(exc))

        self.owner.run_worker(work, thread=True, group="pager", exit_on_error=False)

    def _arrived(self, gen: int, page: history.Page) -> None:
        if gen != self.generation or not self.owner.is_attached:
            return
        self.busy = False
        self.loaded = True
        self.exhausted = page.exhausted
        self.rows = page.offset + len(page.rows)
        self._show(page.offset, page.rows)

    def _counted(self, gen: int, n: int) -> None:
        if gen == self.generation and self._count is not None and self.owner.is_attached:
            self._count(n)

    def _error(self, gen: int, reason: str) -> None:
        if gen == self.generation:
            self.busy = False
            self._failed(reason)
