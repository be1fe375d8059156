"""The completion document: a TextArea that marks the text of the round being generated.

Generated text is inserted where the cursor was, in batches (a few per second, however fast the
tokens come), so a round costs the new text and the lines it touches, never the whole document.
Until the round is accepted or rejected, the generated range is underlined, and each token is
coloured by its probability when the server sent log-probabilities. Drawing uses `get_line`
(Textual's documented hook to style a line), so only the lines on screen are styled.
Model output is untrusted: it is plain document text, never markup.

Selecting is TextArea's own (mouse, Shift+arrows); ctrl+c copies through the app (OSC 52), and
so does releasing the mouse after a drag when `copy_on_select` is on.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import TextArea
from textual.widgets.text_area import Location

from chat_tui.ui import compat
from chat_tui.ui.palette import ProbabilityColours, cache_key, probability_colours
from chat_tui.ui.widgets.probability import TokenItem

FLUSH_EVERY = 1 / 30  # seconds between inserts while text streams in


class DocumentArea(TextArea):
    class Undone(Message):
        """Ctrl+Z undid a step (the screen checks whether it took an accepted round out)."""

    def __init__(self, text: str = "", **kw: Any) -> None:
        super().__init__(text, soft_wrap=True, tab_behavior="indent", **kw)
        self.generated_start: Location | None = None
        self.generated_end: Location | None = None
        self._buffer: list[str] = []
        self._line_offsets: list[int] = [0]  # offset in the generated text of each line's start
        self._generated_length = 0
        self._token_offsets: list[int] = []  # start of each token in the generated text
        self._tokens: list[TokenItem] = []
        self._token_end = 0
        self._colours: ProbabilityColours | None = None
        self._colours_for: tuple[str, str] = ("", "")
        self._undo_mark = 0
        self._timer: Any = None

    @property
    def wrapped_document(self) -> Any:
        return self._wrapped

    @wrapped_document.setter
    def wrapped_document(self, value: Any) -> None:  # TextArea makes a new one per document
        self._wrapped = compat.fast_wrapped_height(value)

    # -- the round being generated ----------------------------------------------------------

    @property
    def generating(self) -> bool:
        return self.generated_start is not None

    @property
    def generated_text(self) -> str:
        if self.generated_start is None or self.generated_end is None:
            return ""
        self.flush()
        return self.get_text_range(self.generated_start, self.generated_end)

    def begin(self) -> None:
        """Start a round at the cursor (the text is read-only until it is accepted or rejected)."""
        self.selection = type(self.selection).cursor(self.cursor_location)
        self.generated_start = self.generated_end = self.cursor_location
        self._buffer = []
        self._line_offsets = [0]
        self._generated_length = 0
        self._token_offsets, self._tokens, self._token_end = [], [], 0
        self._undo_mark = compat.undo_depth(self)
        self.read_only = True
        self._timer = self.set_interval(FLUSH_EVERY, self.flush)

    def write(self, text: str) -> None:
        """Generated text, put in at the next flush."""
        if text and self.generated_start is not None:
            self._buffer.append(text)

    def add_tokens(self, items: list[TokenItem]) -> None:
        for item in items:
            self._token_offsets.append(self._token_end)
            self._tokens.append(item)
            self._token_end += len(item.token)
        self.refresh()

    def flush(self) -> None:
        if not self._buffer or self.generated_end is None:
            return
        text = "".join(self._buffer)
        self._buffer = []
        start = self._generated_length
        for i, char in enumerate(text):  # O(new text): where the new lines begin
            if char == "\n":
                self._line_offsets.append(start + i + 1)
        self._generated_length += len(text)
        result = self.edit_text(text, self.generated_end)
        self.generated_end = result.end_location
        self.move_cursor(self.generated_end)

    def edit_text(self, text: str, at: Location) -> Any:
        """Insert while read-only (the keyboard is kept out, not the round)."""
        return self.insert(text, at, maintain_selection_offset=False)

    def stop_streaming(self) -> None:
        """The request ended: the rest of the text goes in; the range stays marked until
        `keep` or `discard`. The inserts of the round become one step of undo."""
        self.flush()
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        compat.merge_undo(self, self._undo_mark)

    def keep(self) -> str:
        """Accept: the generated text becomes part of the document. Returns it."""
        text = self.generated_text
        self._end_round()
        return text

    def discard(self) -> None:
        """Reject: the generated text is taken out again."""
        self.flush()
        if self.generated_start is not None and self.generated_end is not None:
            start = self.generated_start
            if self.generated_end != start:
                self.delete(start, self.generated_end, maintain_selection_offset=False)
            self.move_cursor(start)
        self._end_round()

    def _end_round(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.generated_start = self.generated_end = None
        self._tokens, self._token_offsets = [], []
        self.read_only = False
        self.refresh()

    def token_at_cursor(self) -> TokenItem | None:
        """The generated token under the cursor (None outside the round or without logprobs)."""
        offset = self._generated_offset(*self.cursor_location)
        if offset is None or not self._tokens:
            return None
        index = bisect_right(self._token_offsets, offset) - 1
        if index < 0 or offset >= self._token_end:
            return None
        return self._tokens[index]

    def _generated_offset(self, row: int, column: int) -> int | None:
        if self.generated_start is None or self.generated_end is None:
            return None
        (srow, scol), (erow, ecol) = self.generated_start, self.generated_end
        if not (srow, scol) <= (row, column) < (erow, ecol):
            return None
        k = row - srow
        if k >= len(self._line_offsets):
            return None
        return self._line_offsets[k] + (column - scol if k == 0 else column)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        config = getattr(self.app, "config", None)
        if config is not None and config.copy_on_select and self.selected_text:
            self.app.copy_to_clipboard(self.selected_text)

    def action_undo(self) -> None:
        super().action_undo()
        self.post_message(self.Undone())

    # -- drawing ------------------------------------------------------------------------------

    def _palette(self) -> ProbabilityColours:
        key = cache_key(self.app)
        if self._colours is None or key != self._colours_for:
            self._colours = probability_colours(self.app)
            self._colours_for = key
        return self._colours

    def get_line(self, line_index: int) -> Text:
        line = super().get_line(line_index)
        if self.generated_start is None or self.generated_end is None:
            return line
        (srow, scol), (erow, ecol) = self.generated_start, self.generated_end
        if not srow <= line_index <= erow:
            return line
        first = scol if line_index == srow else 0
        last = ecol if line_index == erow else len(line.plain)
        if last <= first:
            return line
        line.stylize(Style(underline=True, bold=not self._tokens), first, last)
        k = line_index - srow
        if not self._tokens or k >= len(self._line_offsets):
            return line
        base = self._line_offsets[k] - first  # generated offset minus column on this line
        palette = self._palette()
        index = max(0, bisect_right(self._token_offsets, base + first) - 1)
        while index < len(self._tokens):
            start = self._token_offsets[index] - base
            if start >= last:
                break
            end = start + len(self._tokens[index].token)
            if end > first:
                line.stylize(palette.style(self._tokens[index].probability), max(first, start), min(last, end))
            index += 1
        return line
