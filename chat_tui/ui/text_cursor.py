"""Selecting text without a mouse: a cursor over a widget's lines as drawn, moved by keys, and a
selection from where marking began to the cursor (both ends included, as in vim's visual mode).

The lines are read through two callables, so this knows nothing of widgets: `line_count()` and
`line_text(y)`, in the coordinates Textual's selections use (a character of a line, a line).
"""

from __future__ import annotations

from collections.abc import Callable

CURSOR_STYLE = "reverse"  # how the cursor is drawn
MESSAGE_GAP = "\n\n"  # between two messages' texts in one selection
MOVES = ("left", "right", "up", "down", "line_start", "line_end", "word_next", "word_prev", "top", "bottom")

Point = tuple[int, int]  # (x, y): character x of line y


class TextCursor:
    def __init__(self, line_count: Callable[[], int], line_text: Callable[[int], str], at: Point = (0, 0)) -> None:
        self._count = line_count
        self._text = line_text
        self.x, self.y = at
        self.anchor: Point | None = None  # where marking began; None: nothing selected
        self._goal = self.x  # the column up and down aim for
        self.x, self.y = self._clamped(self.x, self.y)

    @property
    def point(self) -> Point:
        return self.x, self.y

    def _last(self, y: int) -> int:
        """The last column worth stopping at: the line's text, not the padding after it."""
        return max(len(self._text(y).rstrip()) - 1, 0)

    def _clamped(self, x: int, y: int) -> Point:
        y = min(max(y, 0), max(self._count() - 1, 0))
        return min(max(x, 0), self._last(y)), y

    def mark(self) -> None:
        """Start a selection at the cursor, or drop the one being made."""
        self.anchor = None if self.anchor is not None else self.point

    def move(self, how: str, *, extend: bool = False) -> None:
        """Move the cursor; with `extend`, a selection starts where it was (if none had)."""
        if extend and self.anchor is None:
            self.anchor = self.point
        x, y = self.x, self.y
        last_line = max(self._count() - 1, 0)
        keep_goal = False
        if how == "left":
            if x > 0:
                x -= 1
            elif y > 0:
                y -= 1
                x = self._last(y)
        elif how == "right":
            if x < self._last(y):
                x += 1
            elif y < last_line:
                x, y = 0, y + 1
        elif how in ("up", "down"):
            y = max(0, y - 1) if how == "up" else min(last_line, y + 1)
            x = min(self._goal, self._last(y))
            keep_goal = True
        elif how == "line_start":
            text = self._text(y)
            x = len(text) - len(text.lstrip())
            x = 0 if x >= len(text.rstrip()) else x
        elif how == "line_end":
            x = self._last(y)
        elif how == "top":
            x, y = 0, 0
        elif how == "bottom":
            y = last_line
            x = self._last(y)
        elif how == "word_next":
            x, y = self._word_next(x, y, last_line)
        elif how == "word_prev":
            x, y = self._word_prev(x, y)
        else:
            raise ValueError(f"unknown move {how!r}")
        self.x, self.y = self._clamped(x, y)
        if not keep_goal:
            self._goal = self.x

    def _word_next(self, x: int, y: int, last_line: int) -> Point:
        text = self._text(y)
        i = x
        while i < len(text) and not text[i].isspace():
            i += 1
        while True:
            while i < len(text) and text[i].isspace():
                i += 1
            if i < len(text.rstrip()):
                return i, y
            if y >= last_line:
                return self._last(y), y
            y, i, text = y + 1, 0, self._text(y + 1)

    def _word_prev(self, x: int, y: int) -> Point:
        text = self._text(y)
        i = x - 1
        while True:
            while i >= 0 and text[i].isspace():
                i -= 1
            if i >= 0:
                while i > 0 and not text[i - 1].isspace():
                    i -= 1
                return i, y
            if y == 0:
                return 0, 0
            y -= 1
            text = self._text(y)
            i = len(text) - 1

    def selection(self) -> tuple[Point, Point] | None:
        """(start, end) of what is selected, end exclusive, in (x, y); None if nothing is."""
        if self.anchor is None:
            return None
        (ax, ay), (cx, cy) = self.anchor, self.point
        first, last = sorted([(ay, ax), (cy, cx)])
        return (first[1], first[0]), (last[1] + 1, last[0])
