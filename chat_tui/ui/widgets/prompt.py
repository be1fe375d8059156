"""The prompt editor: Enter sends, Ctrl+J (or Shift+Enter where the terminal reports it) adds a line.

↑ on the first line recalls earlier prompts (↓ goes back towards the draft), Ctrl+R searches
them (`core/recall.py` walks them; the owner sets `recall`).
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from chat_tui.core.recall import PromptRecall
from chat_tui.ui import compat

SEND_KEYS = "enter"
NEWLINE_KEYS = "ctrl+j,shift+enter"


class PromptInput(TextArea):
    BINDING_GROUP_TITLE = "Prompt"
    # The keys are handled in `_on_key`, in order with the typed characters: a priority binding
    # would run before characters still queued (a fast typist's "abc⏎" would send ""). The
    # bindings stay declared for the footer, the help screen and remapping by id.
    BINDINGS = [
        Binding(SEND_KEYS, "submit", "Send", id="prompt.send"),
        Binding(NEWLINE_KEYS, "newline", "New line", id="prompt.newline", show=False),
        Binding("ctrl+r", "search_prompts", "Search earlier prompts", id="prompt.search", show=False),
    ]

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class SearchRequested(Message):
        """Ctrl+R: the owner opens the reverse search over earlier prompts."""

    class PathPasted(Message):
        """A paste that is the path of an existing file: it becomes an attachment."""

        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    def __init__(self, **kw) -> None:
        kw.setdefault("soft_wrap", True)
        kw.setdefault("show_line_numbers", False)
        kw.setdefault("compact", True)
        kw.setdefault("placeholder", "Message… (Enter sends, Ctrl+J new line, Ctrl+T attaches a file)")
        super().__init__(**kw)
        self.recall: PromptRecall | None = None  # set by the owner, who knows the database

    def _keys(self, binding_id: str, default: str) -> set[str]:
        keymap = compat.keymap(self.app)
        return {k.strip() for k in keymap.get(binding_id, default).split(",")}

    async def _on_key(self, event: events.Key) -> None:
        if event.key in self._keys("prompt.send", SEND_KEYS):
            event.prevent_default()
            event.stop()
            self.action_submit()
        elif event.key in self._keys("prompt.newline", NEWLINE_KEYS):
            event.prevent_default()
            event.stop()
            self.action_newline()

    async def _on_paste(self, event: events.Paste) -> None:
        # Textual runs TextArea's own handler after this one (it walks the classes), unless
        # the default is prevented: a file path does not go in as text.
        if (path := pasted_file(event.text)) is not None:
            event.prevent_default()
            event.stop()
            self.post_message(self.PathPasted(path))

    def action_submit(self) -> None:
        text = self.text
        if text.strip():
            self.post_message(self.Submitted(text))

    def action_newline(self) -> None:
        self.insert("\n")

    # ↑/↓ are TextArea's own bindings: its cursor actions recall when the cursor cannot go further.
    def action_cursor_up(self, select: bool = False) -> None:
        if not select and self.recall is not None and self.navigator.is_first_wrapped_line(self.cursor_location):
            if (text := self.recall.older(self.text)) is not None:
                self._show_recalled(text)
            return
        super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        if not select and self.recall is not None and self.recall.walking \
                and self.navigator.is_last_wrapped_line(self.cursor_location):
            if (text := self.recall.newer(self.text)) is not None:
                self._show_recalled(text)
            return
        super().action_cursor_down(select)

    def action_search_prompts(self) -> None:
        self.post_message(self.SearchRequested())

    def put_picked(self, text: str) -> None:
        """A prompt chosen in the reverse search replaces the box; ↓ brings the draft back."""
        self._show_recalled(self.recall.pick(text, self.text) if self.recall else text)

    def _show_recalled(self, text: str) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end)

    def forget_recall(self) -> None:
        """The walk is over (a send, or the box given other text): ↑ starts from the newest."""
        if self.recall is not None:
            self.recall.reset()

    def consume(self, sent: str) -> None:
        """Remove the text that was sent, and only it: what was typed after Enter, while the
        message was being saved, stays in the box."""
        self.forget_recall()
        text = self.text
        if text == sent:
            self.clear()
        elif text.startswith(sent):
            self.text = text[len(sent):].lstrip("\n")
            self.move_cursor(self.document.end)


def pasted_file(text: str) -> str | None:
    """The pasted text as a path, when it is one line naming an existing file (quoted, with
    `~` or as a file:// URL too); else None. One stat: cheap enough for a paste."""
    from chat_tui.services.attachments import resolve_path

    line = text.strip()
    if not line or "\n" in line or len(line) > 4096:
        return None
    try:
        return line if resolve_path(line).is_file() else None
    except (OSError, ValueError):
        return None
