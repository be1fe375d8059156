"""The parts of a Markdown answer that `MarkdownView` draws: where to cut the text into blocks,
how to render a block with Rich, and how tall a block will be before it is rendered.

Safety: the text is untrusted. Control characters are made visible before rendering, Rich's
Markdown never interprets console markup, and hyperlinks are off (a `file://` link stays text).
"""

from __future__ import annotations

import math
import re

from rich.cells import cell_len
from rich.markdown import Markdown as RichMarkdown
from rich.segment import Segment
from rich.style import Style as RichStyle

from chat_tui.core.text import visible_controls
from chat_tui.ui.compat import current_app

FREEZE_AT = 2048  # characters of tail before a finished part is frozen into a block
FENCE_SPLIT_AT = 8192  # a code block longer than this is split at a line (closed and reopened)
CODE_THEME = "monokai"

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,9}[.)])\s+")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}")


Line = list[Segment]


def render_lines(text: str, width: int, style: RichStyle | None = None) -> list[Line]:
    """`text` as Markdown, rendered to lines of `width` cells (the app's console: main thread).

    Plain lists of segments, not Textual `Strip`s: a strip carries seven caches of its own, and
    each line painted leaves the strips derived from it (styled, filtered, cut at the columns'
    edges) in them for as long as it lives. Kept for every line of every answer, that was ~6 MB
    after one 8,000-token answer; the view wraps the lines it paints in strips it keeps for the
    last few hundred lines painted (see markdown_view.py)."""
    if not text or width <= 0:
        return []
    app = current_app()
    markdown = RichMarkdown(visible_controls(text), code_theme=CODE_THEME, hyperlinks=False)
    options = app.console.options.update(highlight=False, width=width, height=None)
    segments = app.console.render(markdown, options)
    if style:
        segments = Segment.apply_style(segments, style)
    return list(Segment.split_and_crop_lines(segments, width, include_new_lines=False, pad=False))


def estimate_lines(text: str, width: int) -> int:
    """About how many lines Rich's Markdown makes of `text` at `width` (within ~5% on long
    answers): for the parts of an answer nobody has scrolled to yet. Rich's rules, roughly: a
    blank line between blocks, a level-1 heading in a 3-line box, code blocks padded by a line
    above and below and wrapped two cells narrower, tables framed, list items indented."""
    width = max(width, 1)
    lines = 0
    fence: str | None = None
    previous = "blank"
    for raw in text.split("\n"):
        line = raw.rstrip()
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            lines += 2 if previous != "blank" and lines else 1  # a gap, the top padding
            previous = "code"
            continue
        if fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) and not match.group(2).strip():
                fence = None
                lines += 1  # the bottom padding
            else:
                lines += max(1, math.ceil(cell_len(raw.expandtabs(4)) / max(width - 2, 1)))
            continue
        if not line.strip():
            previous = "blank"
            continue
        kind, indent = "paragraph", 0
        if line.startswith("# "):
            kind = "title"
        elif line.lstrip().startswith("|"):
            kind = "table"
        else:
            item = _LIST_ITEM.match(line)
            if item:
                kind, indent = "item", len(item.group(0)) + 1
        if previous == "blank" and lines:
            lines += 1
        if kind == "title":
            lines += 3
        elif kind == "table":
            lines += 1 + (2 if previous != "table" else 0)  # the top and bottom rules, once
        else:
            # Wrapping at word boundaries leaves a few cells unused on most lines.
            lines += max(1, math.ceil(cell_len(line) * 1.05 / max(width - indent, 1)))
        previous = kind
    return lines


class Block:
    """A part of the text: its lines at one width and style, and its exact height per width once
    rendered (kept after the lines are dropped)."""

    __slots__ = ("text", "_key", "lines", "generation", "_heights", "_estimates")

    def __init__(self, text: str) -> None:
        self.text = text
        self._key: tuple[int, RichStyle | None] | None = None
        self.lines: list[Line] = []
        self.generation = 0  # bumped whenever `lines` are replaced
        self._heights: dict[int, int] = {}  # exact, by width
        self._estimates: dict[int, int] = {}

    def rendered(self, width: int, style: RichStyle | None) -> bool:
        return self._key == (width, style)

    def render(self, width: int, style: RichStyle | None) -> list[Line]:
        key = (width, style)
        if key != self._key:
            self.lines = render_lines(self.text, width, style)
            self.generation += 1
            self._key = key
            self._heights[width] = len(self.lines)
        return self.lines

    def exact_height(self, width: int) -> int | None:
        return self._heights.get(width)

    def height(self, width: int) -> int:
        """Exact if it was ever rendered at this width, else an estimate."""
        exact = self._heights.get(width)
        if exact is not None:
            return exact
        estimate = self._estimates.get(width)
        if estimate is None:
            estimate = self._estimates[width] = estimate_lines(self.text, width)
        return estimate

    def measure(self, width: int, style: RichStyle | None) -> int:
        """The exact height, rendering if needed; lines rendered only for this are not kept."""
        exact = self._heights.get(width)
        if exact is None:
            keep = self._key
            lines = self.lines
            exact = len(self.render(width, style))
            self.generation += 1
            if keep is not None:
                self._key, self.lines = keep, lines
            else:
                self._key, self.lines = None, []
        return exact

    def set_text(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self._key = None
            self.lines = []
            self.generation += 1
            self._heights.clear()
            self._estimates.clear()


def split_point(text: str) -> tuple[int, str, str]:
    """Where `text` can be cut into a finished head and an open tail.

    Returns (index, closing, reopening): head = text[:index] + closing, tail = reopening +
    text[index:]. index 0 means no cut. Cuts fall on a blank line outside a code fence; inside a
    very long fence, at a line end, closing the fence and reopening it in the tail.
    """
    fence: str | None = None  # the opening marker while inside a fence
    fence_line = ""
    last_blank = 0
    last_line_end_in_fence = 0
    pos = 0
    for line in text.splitlines(keepends=True):
        end = pos + len(line)
        stripped = line.rstrip("\r\n")
        match = _FENCE.match(stripped)
        if fence is None:
            if match:
                fence, fence_line = match.group(1), stripped.lstrip()
            elif not stripped.strip() and line.endswith("\n"):
                last_blank = end
        else:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) and not match.group(2).strip():
                fence = None
                # A blank line may follow; until then the point after the fence is a fine cut.
                if line.endswith("\n"):
                    last_blank = end
            elif line.endswith("\n"):
                last_line_end_in_fence = end
        pos = end
    if fence is not None and len(text) - last_blank > FENCE_SPLIT_AT and last_line_end_in_fence > last_blank:
        return last_line_end_in_fence, fence + "\n", fence_line + "\n"
    return last_blank, "", ""


def freeze(tail: str) -> tuple[list[str], str]:
    """Cut the finished parts off a growing text: (frozen heads, what stays open)."""
    frozen: list[str] = []
    while len(tail) > FREEZE_AT:
        # Cut near FREEZE_AT, not at the last possible place: a burst of text becomes several
        # small blocks, each cheap to render (and re-render on resize), not one big one.
        index, closing, reopening = split_point(tail[: 2 * FREEZE_AT])
        if index <= 0:
            index, closing, reopening = split_point(tail)
        if index <= 0:
            break
        head = tail[:index] + closing
        tail = reopening + tail[index:]
        if head.strip():
            frozen.append(head)
    return frozen, tail
