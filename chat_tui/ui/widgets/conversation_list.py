"""The sidebar's conversation list (issue 5): pinned conversations first, then newest updated
first, two lines each (title; model · N msgs · date · tokens · cost), the open one marked.

Rows come a page at a time through `ui.paging.Pager`, the same mechanism as the history
browser's (archived and deleted conversations are left out), so the UI never waits on SQLite and
100,000 conversations cost what 10 do; the next page loads when the cursor (or the scrolled
view) nears the end.

The owner sets what it knows (`set_current`) and asks for a reload when conversations change
(`refresh_rows`, debounced); the list posts `Opened` (Enter or a click) and `Left` (Escape) up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from chat_tui.services.history import HistoryRow
from chat_tui.ui.paging import NEAR_END, PAGE, Pager
from chat_tui.ui.conversation_rows import (
    CostEstimator,
    meta_line,
    one_line,
    row_title,
    short_cost,
    short_date,
    short_tokens,
)

DEBOUNCE = 0.1  # seconds: a burst of changes (send, reply, title) becomes one query
EMPTY = "No conversations yet"
CURRENT_MARK = "● "
PINNED_MARK = "★ "
INDENT = "  "


class ConversationOptions(OptionList):
    """The rows. Escape hands focus back; scrolling near the end loads the next page; the
    mouse over a row shows its details in a tooltip (the pane is too narrow for them all)."""

    BINDINGS = [
        Binding("escape", "leave", "Prompt", id="conversation_list.leave", show=False),
    ]

    _tip_index: int | None = None

    def _owner(self) -> ConversationList | None:
        return next((a for a in self.ancestors if isinstance(a, ConversationList)), None)

    def action_leave(self) -> None:
        if owner := self._owner():
            owner.post_message(ConversationList.Left(owner))

    def on_resize(self, event: events.Resize) -> None:
        if owner := self._owner():
            padding = self.get_component_styles("option-list--option").padding.width
            owner._set_row_width(self.scrollable_content_region.width - padding)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        index = event.style.meta.get("option")
        if index != self._tip_index:
            self._tip_index = index
            owner = self._owner()
            self.tooltip = owner.details(index) if owner and index is not None else None

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.call_after_refresh(self._near_end)

    def _near_end(self) -> None:
        owner = self._owner()
        lines_per_row = 2
        if owner and self.max_scroll_y - self.scroll_y <= NEAR_END * lines_per_row:
            owner.pager.more()


class ConversationList(Vertical):
    """Mount with the database path; `current` is the conversation open in the chat."""

    @dataclass
    class Opened(Message):
        """Enter or a click on a row: open this conversation."""

        conversation_id: int

    @dataclass
    class Left(Message):
        """Escape in the list: the owner moves the focus elsewhere."""

        conversation_list: ConversationList

        @property
        def control(self) -> ConversationList:
            return self.conversation_list

    def __init__(
        self,
        db_path: Path,
        *,
        current: int | None = None,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        id: str | None = "conversation-list",
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.db_path = db_path
        self.current_id = current
        self.rows: list[HistoryRow] = []
        self.pager = Pager(self, db_path, show=self._show, failed=self._failed)
        self._timer: Timer | None = None
        self._cost = CostEstimator(overrides)
        self._row_width = 27  # characters for a row's text, known once laid out

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("Conversations", id="conversation-list-title", markup=False)
        yield ConversationOptions(id="conversation-list-options", markup=False)
        yield Static(EMPTY, id="conversation-list-empty", markup=False)

    def on_mount(self) -> None:
        self.query_one("#conversation-list-empty").display = False
        self._reload()

    def on_unmount(self) -> None:
        self.pager.cancel()

    @property
    def option_list(self) -> ConversationOptions:
        return self.query_one("#conversation-list-options", ConversationOptions)

    @property
    def loaded(self) -> bool:
        """The first page of the latest query is shown."""
        return self.pager.loaded

    @property
    def exhausted(self) -> bool:
        return self.pager.exhausted

    @property
    def generation(self) -> int:
        return self.pager.generation

    @property
    def idle(self) -> bool:
        """The first page is shown and no reload or page is waiting or under way."""
        return self.pager.loaded and self._timer is None and not self.pager.busy

    @property
    def highlighted_id(self) -> int | None:
        index = self.option_list.highlighted
        if index is None or not 0 <= index < len(self.rows):
            return None
        return self.rows[index].id

    def focus_list(self) -> bool:
        """Focus the rows (False if there are none to focus)."""
        if not self.rows:
            return False
        self.option_list.focus()
        return True

    # -- API for the owner ---------------------------------------------------------------------

    def refresh_rows(self) -> None:
        """Read the list again soon (debounced); the cursor stays on its conversation."""
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, self._reload)

    def set_current(self, cid: int | None) -> None:
        """Mark `cid` as the open conversation (only the affected rows are redrawn)."""
        old, self.current_id = self.current_id, cid
        if old == cid or not self.is_mounted:
            return
        listing = self.option_list
        for index, row in enumerate(self.rows):
            if row.id in (old, cid):
                listing.replace_option_prompt_at_index(index, self._prompt(row))
                if row.id == cid and not listing.has_focus:
                    listing.highlighted = index

    # -- querying -------------------------------------------------------------------------------

    def _reload(self) -> None:
        self._timer = None
        self.pager.start(keep_rows=True)

    def _failed(self, reason: str) -> None:
        self.notify(reason, title="Conversations", severity="error", markup=False)

    def _show(self, offset: int, rows: list[HistoryRow]) -> None:
        listing = self.option_list
        if offset == 0:
            if rows != self.rows:
                self._replace(rows)
            self.query_one("#conversation-list-empty").display = not self.rows
            listing.display = bool(self.rows)
        else:
            seen = {r.id for r in self.rows}
            new = [r for r in rows if r.id not in seen]  # a row that moved up meanwhile
            self.rows.extend(new)
            listing.add_options([self._option(r) for r in new])
        self.pager.near_end(listing.highlighted)

    def _replace(self, rows: list[HistoryRow]) -> None:
        listing = self.option_list
        # Where the cursor goes: with the focus here, it stays on its conversation; else it
        # follows the open one.
        before = self.highlighted_id
        keep = before if listing.has_focus else (self.current_id or before)
        self.rows = list(rows)
        scrolled = listing.scroll_y
        listing.set_options([self._option(r) for r in self.rows])
        if self.rows:
            listing.scroll_to(y=scrolled, animate=False, immediate=True)  # no jump; the cursor in view
            ids = [r.id for r in self.rows]
            fallback = before if before in ids else ids[0]
            listing.highlighted = ids.index(keep) if keep in ids else ids.index(fallback)

    @on(OptionList.OptionHighlighted, "#conversation-list-options")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.pager.near_end(event.option_index)

    @on(OptionList.OptionSelected, "#conversation-list-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.rows):
            self.post_message(self.Opened(self.rows[event.option_index].id))

    # -- rows -----------------------------------------------------------------------------------

    def _set_row_width(self, width: int) -> None:
        """Laid out or resized: redraw the rows if the space for the details line changed."""
        if width <= 0 or width == self._row_width:
            return
        self._row_width = width
        for index, row in enumerate(self.rows):
            self.option_list.replace_option_prompt_at_index(index, self._prompt(row))

    def details(self, index: int) -> Content | None:
        """Everything known about row `index`, for its tooltip."""
        if not 0 <= index < len(self.rows):
            return None
        row = self.rows[index]
        lines = [row_title(row), one_line(row.model or "(no model)")]
        updated = short_date(row.updated_at)
        lines.append(f"{row.message_count} message{'' if row.message_count == 1 else 's'} · updated {updated}")
        if row.prompt_tokens is not None or row.completion_tokens is not None:
            tokens = f"{short_tokens(row.prompt_tokens)} in, {short_tokens(row.completion_tokens)} out tokens"
            cost = self._cost(row)
            lines.append(tokens + (f" · ≈{short_cost(cost)}" if cost is not None else ""))
        if row.pinned:
            lines.append("pinned")
        return Content("\n".join(lines))  # literal text: no markup

    def _option(self, row: HistoryRow) -> Option:
        return Option(self._prompt(row), id=str(row.id))

    def _prompt(self, row: HistoryRow) -> Content:
        current = row.id == self.current_id
        if row.pinned:
            mark: tuple[str, str] | str = (PINNED_MARK, "$accent" if current else "$warning")
        else:
            mark = (CURRENT_MARK, "$accent") if current else INDENT
        title_style = "bold $accent" if current else ("" if row.title else "italic")
        extras = []
        tokens = (row.prompt_tokens or 0) + (row.completion_tokens or 0)
        if row.prompt_tokens is not None or row.completion_tokens is not None:
            extras.append(f"{short_tokens(tokens)} tok")
            cost = self._cost(row)
            if cost is not None:
                extras.append(short_cost(cost))
        meta = meta_line(row.model, row.message_count, short_date(row.updated_at), extras,
                         self._row_width - len(INDENT))
        # Content built from plain strings never parses markup: "[bold]x" stays "[bold]x".
        return Content.assemble(
            mark, (row_title(row), title_style), "\n", INDENT, (meta, "$text-muted"),
        )


__all__ = ["ConversationList", "EMPTY", "PAGE"]
