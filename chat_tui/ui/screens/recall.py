"""Ctrl+R in the prompt: search earlier prompts as you type, like a shell's reverse search.

Matches (every typed word, anywhere in the prompt) are listed newest first; ↑/↓ move, Enter
puts the highlighted one in the prompt box, Escape closes and leaves the box as it was. Each
query runs in a thread on a connection of its own (a search that finds nothing reads every
prompt), and a newer keystroke cancels the one under way.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static

from chat_tui.core.text import visible_controls
from chat_tui.store import CancelToken, QueryCancelled

LIMIT = 50  # matches listed


def one_line(text: str, words: list[str], width: int = 200) -> Text:
    """A prompt on one line (line breaks shown as ⏎), control characters made visible, the
    searched words highlighted; plain text, never markup."""
    flat = visible_controls(" ⏎ ".join(line.strip() for line in text.strip().splitlines()) or text)
    if len(flat) > width:
        flat = flat[: width - 1] + "…"
    line = Text(flat, no_wrap=True, overflow="ellipsis")
    lowered = flat.lower()
    for word in words:
        start = lowered.find(word)
        while word and start != -1:
            line.stylize("bold reverse", start, start + len(word))
            start = lowered.find(word, start + len(word))
    return line


class RecallSearchScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="recall.cancel"),
        Binding("up", "move(-1)", "Newer", id="recall.up", show=False),
        Binding("down", "move(1)", "Older", id="recall.down", show=False),
    ]

    def __init__(self, store) -> None:
        super().__init__()
        self.store = store  # the app's: read here only when it is not a file (no other connection sees it)
        self.matches: list[str] = []
        self.generation = 0
        self.shown = -1  # the generation whose matches are listed
        self._token: CancelToken | None = None
        self._pick_when_ready = False  # Enter came before the last keystroke's matches

    def compose(self) -> ComposeResult:
        with Vertical(id="recall-box"):
            yield Label("Earlier prompts: type to search · ↑↓ choose · Enter puts it in the box · Escape cancels",
                        id="recall-help")
            yield Input(placeholder="words anywhere in the prompt", id="recall-query")
            yield OptionList(id="recall-matches")
            yield Static("", id="recall-status", markup=False)

    def on_mount(self) -> None:
        self.query_one("#recall-query", Input).focus()
        self.search("")

    @on(Input.Changed, "#recall-query")
    def _typed(self, event: Input.Changed) -> None:
        self.search(event.value)

    def search(self, query: str) -> None:
        if self._token is not None:
            self._token.cancel()
        self.generation += 1
        gen, token = self.generation, CancelToken()
        self._token = token
        from chat_tui.store.prompts import search_prompts

        path = str(self.store.path)
        if path == ":memory:":  # no other connection can read it: it is small, read it here
            self._arrived(gen, query, search_prompts(self.store, query, limit=LIMIT))
            return
        app = self.app

        def work() -> None:  # in a thread: a connection of its own, no widget touched
            from chat_tui.services.history import reader

            try:
                with reader(self.store.path, cancel=token) as store:
                    found = search_prompts(store, query, limit=LIMIT)
                app.call_from_thread(self._arrived, gen, query, found)
            except QueryCancelled:
                pass
            except Exception as exc:  # noqa: BLE001 - said in the box, never a crash
                if not token.cancelled:
                    app.call_from_thread(self._failed, gen, str(exc))

        self.run_worker(work, thread=True, group="recall-search", exit_on_error=False)

    def _arrived(self, gen: int, query: str, found: list[tuple[int, str]]) -> None:
        if gen != self.generation or not self.is_attached:
            return
        self.shown = gen
        words = [w.lower() for w in query.split()]
        self.matches = [text for _, text in found]
        options = self.query_one("#recall-matches", OptionList)
        options.set_options(one_line(text, words) for text in self.matches)
        if self.matches:
            options.highlighted = 0
            if self._pick_when_ready:
                self.dismiss(self.matches[0])
                return
        self._pick_when_ready = False
        status = self.query_one("#recall-status", Static)
        if self.matches:
            more = " (the newest shown)" if len(self.matches) >= LIMIT else ""
            status.update(f"{len(self.matches)} prompt{'s' if len(self.matches) != 1 else ''}{more}")
        elif words:
            status.update(f"No earlier prompt contains {query.strip()!r}.")
        else:
            status.update("No prompts sent yet.")

    def _failed(self, gen: int, reason: str) -> None:
        if gen == self.generation:
            self.shown, self._pick_when_ready = gen, False
            self.query_one("#recall-status", Static).update(f"Cannot search: {visible_controls(reason)}")

    def action_move(self, step: int) -> None:
        options = self.query_one("#recall-matches", OptionList)
        if not self.matches:
            return
        current = options.highlighted if options.highlighted is not None else -step
        options.highlighted = max(0, min(len(self.matches) - 1, current + step))

    @on(Input.Submitted, "#recall-query")
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        if self.shown != self.generation:
            self._pick_when_ready = True  # the matches of what was typed are on their way
            return
        index = self.query_one("#recall-matches", OptionList).highlighted
        if index is not None and 0 <= index < len(self.matches):
            self.dismiss(self.matches[index])

    @on(OptionList.OptionSelected, "#recall-matches")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.matches):
            self.dismiss(self.matches[event.option_index])

    def action_cancel(self) -> None:
        if self._token is not None:
            self._token.cancel()
        self.dismiss(None)
