"""Markdown for long, streamed answers: one widget drawing a few rendered blocks, line by line.

Textual's `Markdown` widget makes a widget for every block (an 8,000-token answer: ~580
widgets), and every append lays all of them out again; measured here, one 31 kB answer costs
0.9 s to mount. This view renders Markdown with Rich into a handful of blocks: finished parts of
the text are *frozen* into a block once (at a blank line outside a code fence, every ~2 kB), and
only the unfinished tail is re-rendered on each append. So an append costs O(new text + a
bounded tail).

It is one widget with Textual's line API (`render_line`), like Textual's own `Log`: there are no
child widgets to mount, measure and lay out, and painting asks only for the lines on screen. An
earlier version mounted one `Static` per block: in compare mode (four answers streaming side by
side) laying out and painting those widget stacks blocked the event loop for 100-300 ms at a
time (benchmarks/compare.py).

Safety: the text is untrusted. Control characters are made visible before rendering, Rich's
Markdown never interprets console markup, and hyperlinks are off (a `file://` link stays text).
"""

from __future__ import annotations

import asyncio
import re
from bisect import bisect_right

from rich.markdown import Markdown as RichMarkdown
from rich.segment import Segment
from rich.style import Style as RichStyle
from textual._context import active_app
from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.strip import Strip
from textual.widget import Widget

from chat_tui.core.text import visible_controls

FREEZE_AT = 2048  # characters of tail before a finished part is frozen into a block
FENCE_SPLIT_AT = 8192  # a code block longer than this is split at a line (closed and reopened)
CODE_THEME = "monokai"

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def render_lines(text: str, width: int, style: RichStyle | None = None) -> list[Strip]:
    """`text` as Markdown, rendered to lines of `width` cells (the app's console: main thread)."""
    if not text or width <= 0:
        return []
    app = active_app.get()
    markdown = RichMarkdown(visible_controls(text), code_theme=CODE_THEME, hyperlinks=False)
    options = app.console.options.update(highlight=False, width=width, height=None)
    segments = app.console.render(markdown, options)
    if style:
        segments = Segment.apply_style(segments, style)
    lines = Segment.split_and_crop_lines(segments, width, include_new_lines=False, pad=False)
    return [Strip(line) for line in lines]


class Block:
    """A part of the text and its lines, rendered once per width and base style."""

    __slots__ = ("text", "_key", "lines")

    def __init__(self, text: str) -> None:
        self.text = text
        self._key: tuple[int, RichStyle | None] | None = None
        self.lines: list[Strip] = []

    def render(self, width: int, style: RichStyle | None) -> list[Strip]:
        key = (width, style)
        if key != self._key:
            self.lines = render_lines(self.text, width, style)
            self._key = key
        return self.lines

    def set_text(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self._key = None


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


class MarkdownView(Widget):
    """Append-only Markdown. `append()` is cheap; `source` is the whole text."""

    DEFAULT_CSS = """
    MarkdownView {
        height: auto;
    }
    """
    DEFAULT_CLASSES = "markdown-view"
    # Hyperlinks are never rendered (see render_lines), and with link styling on Textual copies
    # every painted line once more just to look for links.
    auto_links = Reactive(False)

    def __init__(self, text: str = "", **kw) -> None:
        super().__init__(**kw)
        self._frozen: list[Block] = []  # rendered once per width
        self._tail = Block("")  # re-rendered on every append
        self._parts: list[str] = []  # the exact source, appended to
        self._layout_key: tuple[int, RichStyle | None] | None = None
        self._starts: list[int] = []  # first line of each block, at `_layout_key`
        self._height = 0
        self._freeze(text)

    @property
    def source(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def block_count(self) -> int:
        """Blocks rendered separately (frozen ones and the tail)."""
        return len(self._frozen) + 1

    def _freeze(self, text: str) -> int:
        """Add text; return how many blocks were newly frozen (the rest stays in the tail)."""
        if text:
            self._parts.append(text)
        tail = self._tail.text + text
        frozen = 0
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
                self._frozen.append(Block(head))
                frozen += 1
        self._tail.set_text(tail)
        return frozen

    # -- layout and painting (Textual's line API) -----------------------------------------------

    def _base_style(self) -> RichStyle | None:
        try:
            return self.rich_style
        except Exception:  # not attached to an app yet
            return None

    def _measure(self, width: int) -> int:
        """Render what is not rendered at `width` yet; the height in lines."""
        key = (width, self._base_style())
        starts = self._starts
        blocks = len(self._frozen) + 1
        if key != self._layout_key or len(starts) != blocks:
            # Blocks rendered at this key keep their lines: only new or changed ones render.
            keep = len(starts) - 1 if key == self._layout_key else 0
            del starts[max(keep, 0):]
            line = starts[-1] + len(self._frozen[len(starts) - 1].lines) if starts else 0
            for block in self._frozen[len(starts):]:
                starts.append(line)
                line += len(block.render(*key))
            starts.append(line)  # the tail's first line
            self._layout_key = key
        self._height = starts[-1] + len(self._tail.render(*key))
        return self._height

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._measure(width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        self._measure(width)
        if y < 0 or y >= self._height:
            return Strip.blank(width, self._base_style())
        index = bisect_right(self._starts, y) - 1
        block = self._frozen[index] if index < len(self._frozen) else self._tail
        return block.lines[y - self._starts[index]]

    # -- streaming ----------------------------------------------------------------------------

    async def append(self, text: str) -> None:
        """Add text: new frozen blocks and the tail are rendered at the next paint."""
        if not text:
            return
        old_height = self._height
        first_changed = self._starts[-1] if self._starts else 0  # the tail's first line
        self._freeze(text)
        key = self._layout_key
        if not self.is_mounted or key is None:
            self.refresh(layout=True)
            return
        for block in self._frozen[len(self._starts) - 1 :]:
            # A burst freezes several blocks: render them one at a time, letting keys in between.
            block.render(*key)
            await asyncio.sleep(0)
        if key != self._layout_key:  # laid out at another width meanwhile
            key = self._layout_key
            first_changed = 0
        height = self._measure(key[0])
        if height != old_height:
            self.refresh(layout=True)  # the size changes: the whole widget is repainted anyway
        else:
            self.refresh(Region(0, first_changed, key[0], max(height - first_changed, 1)))
