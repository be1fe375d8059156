"""The history browser (issue 5): search and filter every saved conversation, open, rename,
delete (undoable), pin, archive, export and import.

Queries run through `ui.paging.Pager`, the same mechanism as the sidebar's list: a thread
worker on a connection of its own, so typing never waits on the database; a query made stale by
the next keystroke is cancelled and its results dropped. Rows come 50 at a time into one
OptionList; the next page loads when the cursor nears the end, so a database of any size costs
the same.

Everything read from the database (titles, snippets, model ids) is shown as literal text with
control characters made visible.

Search has three modes (F2 cycles them, the line under the search box shows which): words (the
full-text index, as you type), meaning (the vectors: a paraphrase finds the conversation) and
both (the two rankings merged by reciprocal rank fusion). Meaning needs `embeddings = true` in
the profile; the query's embedding is one async request in a worker, and the index is the app's,
loaded once. While the app embeds saved messages, a bar shows how far it is.

Dismisses with ``(conversation_id, message_id | None)`` to open (the message is the search
hit, if any), or None.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Label, OptionList, ProgressBar
from textual.widgets.option_list import Option

from chat_tui.core.text import visible_controls
from chat_tui.services import history
from chat_tui.services.history import HistoryFilter, HistoryRow
from chat_tui.store.errors import StoreError
from chat_tui.store.importer import ImportError_, ImportReport
from chat_tui.ui.conversation_rows import KIND_MARKS, CostEstimator, one_line, short_tokens
from chat_tui.ui.paging import Pager, Query
from chat_tui.ui.widgets.footer import ChatFooter

DEBOUNCE = 0.15  # seconds of quiet typing before a query runs
MEANING_DEBOUNCE = 0.4  # a search by meaning is a request to the endpoint: wait for a pause
MODE_NAMES = {"words": "words", "meaning": "meaning", "both": "words + meaning"}
COUNT_CAP = 1000


def as_you_type(text: str) -> str | None:
    """The query for what is typed so far: the last word is a prefix (``gira`` finds giraffe)."""
    text = text.strip()
    if not text:
        return None
    if text[-1].isalnum() and text.count('"') % 2 == 0:
        return text + "*"
    return text


class ImportPathScreen(ModalScreen[str | None]):
    """Ask for the file to import."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="history.import_cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Import conversations: a chat-tui .json export or ChatGPT's .zip / conversations.json")
            yield Input(placeholder="path to the file (Enter imports, Escape cancels)", id="import-path")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if value:
            self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _load(index, db_path: Path) -> None:
    """Read the vectors stored since the index last looked (in a thread: its own connection)."""
    with history.reader(db_path) as store:
        index.refresh(store)


class HistoryScreen(Screen[tuple[int, int | None] | None]):
    """Browse, search and manage every saved conversation."""

    CSS_PATH = "../styles/history.tcss"
    BINDINGS = [
        Binding("escape", "close", "Close", id="history.close"),
        Binding("enter", "open", "Open", id="history.open"),
        Binding("slash", "focus_search", "Search", id="history.search", show=False),
        Binding("r", "rename", "Rename", id="history.rename"),
        Binding("d,delete", "delete", "Delete", id="history.delete"),
        Binding("u", "undo", "Undo delete", id="history.undo"),
        Binding("p", "pin", "Pin", id="history.pin"),
        Binding("a", "archive", "Archive", id="history.archive"),
        Binding("x", "export", "Export", id="history.export"),
        Binding("i", "import", "Import", id="history.import"),
        Binding("f2", "search_mode", "Words/meaning", id="history.search_mode"),
    ]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.initial_query = query
        self.rows: list[HistoryRow] = []
        self.pager: Pager | None = None
        self._timer: Timer | None = None
        self._query: str | None = None
        self._filter = HistoryFilter()
        self._keep: int | None = None  # conversation to highlight after a reload
        self._cost: CostEstimator | None = None
        self._open_after_reload = False  # Enter pressed before the typed query had run
        self.mode = "words"  # search by words, meaning or both (F2)

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="history-top"):
            yield Input(self.initial_query, placeholder="Search every conversation (words, \"a phrase\", prefix*)", id="history-search")
            with Horizontal(id="history-filters"):
                yield Input(placeholder="model", id="history-model")
                yield Input(placeholder="endpoint", id="history-endpoint")
                yield Input(placeholder="since YYYY-MM-DD", id="history-since")
                yield Input(placeholder="until YYYY-MM-DD", id="history-until")
                yield Input(placeholder="params, e.g. temperature>1", id="history-params")
                yield Checkbox("Archived", id="history-archived")
            with Horizontal(id="history-info"):
                yield Label("", id="history-status")
                yield Label("", id="history-mode")
            yield ProgressBar(id="history-progress", show_eta=False)
            with Horizontal(id="history-indexing"):
                yield Label("", id="history-index-label")
                yield ProgressBar(id="history-index-progress", show_eta=False)
        yield OptionList(id="history-list")
        yield ChatFooter()

    def on_mount(self) -> None:
        self.pager = Pager(self, self.app.store.path, show=self._show, failed=self._failed,
                           count=self._show_count, count_cap=COUNT_CAP)
        self.query_one("#history-progress").display = False
        self.query_one("#history-indexing").display = False
        self._show_mode()
        progress = getattr(self.app, "index_progress", None)
        if progress is not None and progress.done < progress.total:
            self.show_index_progress(progress)
        self.query_one("#history-search", Input).focus()
        self.reload()

    def on_unmount(self) -> None:
        if self.pager is not None:
            self.pager.cancel()

    @property
    def exhausted(self) -> bool:
        return self.pager is not None and self.pager.exhausted

    # -- querying ----------------------------------------------------------------------------

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("history-"):
            self._debounce()

    @on(Checkbox.Changed, "#history-archived")
    def _archived_view(self) -> None:
        self.reload()

    def _debounce(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE if self.mode == "words" else MEANING_DEBOUNCE, self.reload)

    def _read_filter(self) -> HistoryFilter:
        def value(name: str) -> str | None:
            return self.query_one(f"#history-{name}", Input).value.strip() or None

        archived = self.query_one("#history-archived", Checkbox).value
        return history.make_filter(
            model=value("model"), endpoint=value("endpoint"), since=value("since"), until=value("until"),
            params=value("params") or "", archived_only=archived,
        )

    def reload(self, keep: int | None = None, *, refresh: bool = False) -> None:
        """Run the query from the inputs again, from the first row.

        `refresh` (after a change to a row): fetch as many rows as are shown, so the cursor
        stays put; `keep`: the conversation to highlight then.
        """
        self._timer = None
        try:
            self._filter = self._read_filter()
        except ValueError as exc:
            self._status(Text(str(exc), style="bold red"))
            return
        typed = self.query_one("#history-search", Input).value.strip()
        self._query = as_you_type(typed)
        self._keep = keep
        if self.mode != "words" and typed:
            self.pager.stop()
            self._search_meaning(typed, self.mode, self._filter)
            return
        self.workers.cancel_group(self, "history-meaning")
        self.pager.start(Query(self._query, self._filter), keep_rows=refresh)

    # -- search by meaning -------------------------------------------------------------------

    def action_search_mode(self) -> None:
        """Words → meaning → both → words. Meaning needs the profile's embeddings."""
        if self.app.embedding_setup() is None:
            self.mode = "words"
            self._show_mode()
            name = getattr(getattr(self.app, "endpoint", None), "name", "this profile")
            self.notify(f"Search by meaning is off for profile {name!r}: set embeddings = true under"
                        f" [profiles.{name}] in config.toml.", title="Search by meaning", severity="warning",
                        timeout=8, markup=False)
            return
        if self._timer is not None:  # the query runs now, in the new mode
            self._timer.stop()
            self._timer = None
        order = ("words", "meaning", "both")
        self.mode = order[(order.index(self.mode) + 1) % len(order)]
        self._show_mode()
        self.reload()

    def _show_mode(self) -> None:
        line = Text("search: ", style="dim")
        for i, mode in enumerate(("words", "meaning", "both")):
            if i:
                line.append(" │ ", style="dim")
            line.append(MODE_NAMES[mode], style="bold reverse" if mode == self.mode else "dim")
        line.append("  (F2)", style="dim")
        self.query_one("#history-mode", Label).update(line)

    @work(exclusive=True, group="history-meaning", exit_on_error=False)
    async def _search_meaning(self, text: str, mode: str, filters: HistoryFilter) -> None:
        from chat_tui.api.errors import APIError
        from chat_tui.services import embeddings

        app = self.app
        setup = app.embedding_setup()
        self._status(Text(f"searching by {MODE_NAMES[mode]}…", style="dim"))
        try:
            index = embeddings.index_for(app.store, setup, app.vector_index) if setup else None
            app.vector_index = index or app.vector_index
            if index is not None:  # the first load of a large index takes seconds: not on the loop
                await asyncio.to_thread(_load, index, app.store.path)
            rows = await embeddings.search(app.store, app.client, setup, text, mode, index=index, filters=filters)
        except (APIError, embeddings.EmbeddingError, StoreError, ValueError) as exc:
            from chat_tui.core.text import error_text

            self._status(Text(f"search by meaning failed: {error_text(exc)}", style="bold red"))
            return
        self._show(0, rows)
        what = "conversation" if len(rows) == 1 else "conversations"
        self._status(Text(f"{len(rows)} {what} by {MODE_NAMES[mode]}", style="dim"))
        self.post_message(self.MeaningResults(text, mode, [r.id for r in rows]))

    class MeaningResults(Message):
        """A search by meaning (or both) has shown its rows (for tests and scripts)."""

        def __init__(self, text: str, mode: str, ids: list[int]) -> None:
            super().__init__()
            self.text, self.mode, self.ids = text, mode, ids

    def show_index_progress(self, progress) -> None:
        """The app's indexer embedded some more saved messages."""
        row = self.query_one("#history-indexing")
        bar = self.query_one("#history-index-progress", ProgressBar)
        if progress.done >= progress.total:
            bar.update(total=max(progress.total, 1), progress=progress.done)
            row.display = False
            return
        row.display = True
        self.query_one("#history-index-label", Label).update(
            Text(f"embedding saved messages for search by meaning ({progress.model}): {progress.done}/{progress.total} ",
                 style="dim"))
        bar.update(total=max(progress.total, 1), progress=progress.done)

    def _failed(self, reason: str) -> None:
        self._status(Text(reason, style="bold red"))

    def _show(self, offset: int, rows: list[HistoryRow]) -> None:
        listing = self.query_one("#history-list", OptionList)
        if offset == 0:
            previous = listing.highlighted
            self.rows = list(rows)
            listing.clear_options()
        else:
            previous = None
            self.rows.extend(rows)
        listing.add_options([self._option(r) for r in rows])
        if offset == 0 and self.rows:
            index = 0
            if self._keep is not None:
                index = next((i for i, r in enumerate(self.rows) if r.id == self._keep), previous or 0)
            listing.highlighted = min(index, len(self.rows) - 1)
        if offset == 0 and self._open_after_reload:
            self._open_after_reload = False
            self.action_open()
            return
        self.pager.near_end(listing.highlighted)

    def _show_count(self, n: int) -> None:
        shown = f"{COUNT_CAP}+" if n >= COUNT_CAP else str(n)
        what = "conversation" if n == 1 else "conversations"
        what = f"matching {what}" if self._query else what
        self._status(Text(f"{shown} {what}", style="dim"))

    def _status(self, text: Text) -> None:
        self.query_one("#history-status", Label).update(text)

    @on(OptionList.OptionHighlighted, "#history-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.pager.near_end(event.option_index)

    # -- rendering ---------------------------------------------------------------------------

    def _option(self, row: HistoryRow) -> Option:
        title = KIND_MARKS.get(row.kind, "") + (row.title or row.preview or "(untitled)")
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append("★ " if row.pinned else "  ", style="bold yellow")
        line.append(f"{one_line(title)[:58]:<58} ", style="bold" if row.title else "italic")
        line.append(f"{one_line(row.model or '-')[:22]:<22} ", style="cyan")
        line.append(f"{row.message_count:>5} msgs  {str(row.updated_at)[:16].replace('T', ' ')}  ")
        line.append(f"{short_tokens(row.prompt_tokens)}→{short_tokens(row.completion_tokens)} tok", style="dim")
        if self._cost is None:
            config = getattr(self.app, "config", None)
            self._cost = CostEstimator(config.models if config else None)
        cost = self._cost(row)
        if cost is not None:
            line.append(f"  ${cost:.4f}", style="dim")
        if row.archived:
            line.append("  [archived]", style="dim")
        if row.segments:
            line.append("\n    ")
            for text, match in row.segments:
                # Whitespace runs as one space, but kept at the edges: "on the " + "binary" + " digits".
                line.append(visible_controls(re.sub(r"\s+", " ", text)), style="bold reverse" if match else "dim")
        return Option(line, id=str(row.id))

    # -- the highlighted row -----------------------------------------------------------------

    def current(self) -> HistoryRow | None:
        index = self.query_one("#history-list", OptionList).highlighted
        if index is None or not 0 <= index < len(self.rows):
            return None
        return self.rows[index]

    def on_key(self, event) -> None:
        if event.key in ("down", "up", "pagedown", "pageup") and isinstance(self.focused, Input):
            event.stop()
            event.prevent_default()
            self.query_one("#history-list", OptionList).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "history-search":
            self.action_open()
        elif event.input.id and event.input.id.startswith("history-"):
            self.reload()
            self.query_one("#history-list", OptionList).focus()

    @on(OptionList.OptionSelected, "#history-list")
    def _selected(self) -> None:
        self.action_open()

    # -- actions -----------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)

    def action_focus_search(self) -> None:
        self.query_one("#history-search", Input).focus()

    def action_open(self) -> None:
        if self._timer is not None:  # Enter typed right after the query: run it first
            self._timer.stop()
            self.reload()
            self._open_after_reload = True
            return
        row = self.current()
        if row is not None:
            self.dismiss((row.id, row.hit_message_id))

    def action_rename(self) -> None:
        row = self.current()
        if row is None:
            return
        from chat_tui.ui.screens.dialogs import RenameScreen

        def renamed(title: str | None) -> None:
            if title and self.app.saved("rename the conversation", lambda: history.rename(self.app.store, row.id, title)):
                self.reload(keep=row.id, refresh=True)

        self.app.push_screen(RenameScreen(row.title or ""), renamed)

    def action_delete(self) -> None:
        row = self.current()
        if row is None:
            return
        if self.app.saved("delete the conversation", lambda: history.delete(self.app.store, row.id)):
            title = one_line(row.title or row.preview or "(untitled)")[:40]
            self.notify(f"Moved “{title}” to the trash. Undone with u.", markup=False)
        self.reload(refresh=True)

    def action_undo(self) -> None:
        """Restore the conversation deleted last (here, in the chat or from the CLI)."""
        cid = history.last_deleted(self.app.store)
        if cid is None:
            self.notify("Nothing to undo: the trash is empty.", severity="warning")
        elif self.app.saved("restore the conversation", lambda: history.restore(self.app.store, cid)):
            self.notify("Conversation restored.")
            self.reload(keep=cid, refresh=True)

    def action_pin(self) -> None:
        row = self.current()
        if row is not None:
            if not self.app.saved("pin the conversation", lambda: history.pin(self.app.store, row.id, not row.pinned)):
                return
            self.reload(keep=row.id, refresh=True)

    def action_archive(self) -> None:
        row = self.current()
        if row is None:
            return
        if not self.app.saved("archive the conversation", lambda: history.archive(self.app.store, row.id, not row.archived)):
            return
        self.notify("Unarchived." if row.archived else "Archived (tick “Archived” to see the archive).", markup=False)
        self.reload(keep=row.id, refresh=True)

    def action_export(self) -> None:
        row = self.current()
        if row is None:
            return
        store = self.app.store
        conversation = store.get_conversation(row.id)
        if conversation is None:
            return
        try:
            md_path, json_path = history.export_files(store, conversation, Path.cwd())
        except OSError as exc:
            self.notify(f"Export failed: {exc}", severity="error", markup=False)
            return
        self.notify(f"Exported to {md_path} and {json_path}", markup=False)

    def action_import(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                bar = self.query_one("#history-progress", ProgressBar)
                bar.update(total=None, progress=0)
                bar.display = True
                self._import(self.app.store.path, Path(path).expanduser(), bar)

        self.app.push_screen(ImportPathScreen(), chosen)

    @work(thread=True, exclusive=True, group="history-import", exit_on_error=False)
    def _import(self, db_path: Path, path: Path, bar: ProgressBar) -> None:
        call = self.app.call_from_thread

        def progress(done: int, total: int) -> None:
            call(bar.update, total=max(total, 1), progress=done)

        try:
            report = history.import_file(db_path, path, progress=progress)
        except (ImportError_, StoreError, OSError, ValueError) as exc:
            call(self._import_done, None, f"Import failed, nothing was imported: {exc}")
            return
        call(self._import_done, report, None)

    def _import_done(self, report: ImportReport | None, error: str | None) -> None:
        self.query_one("#history-progress").display = False
        if report is None:
            self.notify(visible_controls(error or ""), title="Import", severity="error", markup=False, timeout=10)
            return
        summary = f"Imported {report.imported} conversations ({report.messages} messages)"
        if report.updated:
            summary += f", updated {report.updated}"
        if report.skipped:
            reasons = "; ".join(f"{one_line(label)[:30]}: {one_line(reason)[:60]}" for label, reason in report.skipped[:5])
            more = f" (+{len(report.skipped) - 5} more)" if len(report.skipped) > 5 else ""
            summary += f". Skipped {len(report.skipped)}: {reasons}{more}"
        self.notify(summary + ".", title="Import", markup=False, timeout=8,
                    severity="warning" if report.skipped else "information")
        self.reload()
        self.app.index_messages()  # the imported messages, for search by meaning
