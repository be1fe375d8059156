"""A reply's reasoning, above its answer: one title line ("▶ Thinking · 4.2 s · 312 tokens") and
the text, shown or folded away.

The text is a `MarkdownView`, fed by the same `MarkdownFeeder` as the answer, so streaming into
it costs O(new text); folded away, it is not laid out at all. Model output: rendered as Markdown
with control characters made visible, never as markup; the title is our own figures.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.containers import Vertical
from textual.widgets import Static

from chat_tui.core.reasoning import thinking_label
from chat_tui.ui.widgets.markdown_view import MarkdownView

FOLDED, OPEN = "▶", "▼"


class ThinkingBlock(Vertical):
    """Click the title (or press t on the message) to show or fold the text."""

    def __init__(self, text: str = "", *, seconds: float | None = None, tokens: int | None = None,
                 approx: bool = False, live: bool = False, collapsed: bool = True) -> None:
        super().__init__(classes="thinking")
        self._text = text
        self.seconds = seconds
        self.tokens = tokens
        self.approx = approx
        self.live = live
        self.collapsed = collapsed
        self.set_class(collapsed, "-collapsed")

    def compose(self):
        yield Static(self._title(), classes="thinking-title", markup=False)
        text = MarkdownView(self._text, classes="thinking-text")
        text.display = not self.collapsed
        yield text

    @property
    def text_view(self) -> MarkdownView:
        return self.query_one(".thinking-text", MarkdownView)

    @property
    def text(self) -> str:
        return self.text_view.source if self.is_mounted else self._text

    def _title(self) -> Text:
        label = thinking_label(self.seconds, self.tokens, approx=self.approx, live=self.live)
        return Text(f"{FOLDED if self.collapsed else OPEN} {label}")

    def set_stats(self, seconds: float | None, tokens: int | None, *, approx: bool = False, live: bool = False) -> None:
        """New figures for the title: one fixed line, redrawn without laying out the screen."""
        self.seconds, self.tokens, self.approx, self.live = seconds, tokens, approx, live
        self.set_class(live, "-live")
        if self.is_mounted:
            self.query_one(".thinking-title", Static).update(self._title(), layout=False)

    def set_collapsed(self, collapsed: bool) -> None:
        if collapsed == self.collapsed:
            return
        self.collapsed = collapsed
        self.set_class(collapsed, "-collapsed")
        if self.is_mounted:
            self.text_view.display = not collapsed
            self.query_one(".thinking-title", Static).update(self._title(), layout=False)

    def toggle(self) -> None:
        self.set_collapsed(not self.collapsed)

    def on_click(self, event: events.Click) -> None:
        if event.widget is not None and event.widget.has_class("thinking-title"):
            event.stop()
            self.toggle()
