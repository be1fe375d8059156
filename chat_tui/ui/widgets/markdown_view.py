"""Markdown for long, streamed answers: a few rendered segments instead of one widget per block.

Textual's `Markdown` widget makes a widget for every block (an 8,000-token answer: ~580
widgets), and every append lays all of them out again; measured here, one 31 kB answer costs
0.9 s to mount. This view renders Markdown with Rich into a handful of `Static` segments:
finished parts of the text are *frozen* into a segment once (at a blank line outside a code
fence, every ~2 kB), and only the unfinished tail is re-rendered on each append. So an append
costs O(new text + a bounded tail), and the screen holds a few dozen widgets, not hundreds.
Each segment is rendered once per width (`RenderedMarkdown`): Textual renders a Rich renderable
twice per change, once to measure its height and once to paint it.

Safety: the text is untrusted. Control characters are made visible before rendering, Rich's
Markdown never interprets console markup, and hyperlinks are off (a `file://` link stays text).
"""

from __future__ import annotations

import re

from rich.markdown import Markdown as RichMarkdown
from rich.segment import Segment
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.styles import RulesMap
from textual.strip import Strip
from textual.style import Style
from textual._context import active_app
from textual.visual import RenderOptions, Visual
from textual.widgets import Static

from chat_tui.core.text import visible_controls

FREEZE_AT = 2048  # characters of tail before a finished part is frozen into a segment
FENCE_SPLIT_AT = 8192  # a code block longer than this is split at a line (closed and reopened)
CODE_THEME = "monokai"

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def render(text: str) -> RenderedMarkdown:
    return RenderedMarkdown(RichMarkdown(visible_controls(text), code_theme=CODE_THEME, hyperlinks=False))


class RenderedMarkdown(Visual):
    """A Rich Markdown document as a Visual that renders once per width.

    Textual's own wrapper for Rich renderables renders the whole document to measure its height
    and again to paint it; here the lines of the measuring render are kept until they are painted.
    """

    def __init__(self, markdown: RichMarkdown) -> None:
        self.markdown = markdown
        self._width = -1
        self._strips: list[Strip] = []

    def _render(self, width: int) -> list[Strip]:
        if width != self._width:
            app = active_app.get()
            options = app.console_options.update(highlight=False, width=width, height=None)
            segments = app.console.render(self.markdown, options)
            lines = Segment.split_and_crop_lines(segments, width, include_new_lines=False, pad=False)
            self._strips = [Strip(line) for line in lines]
            self._width = width
        return self._strips

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return container_width

    def get_height(self, rules: RulesMap, width: int) -> int:
        return len(self._render(width))

    def render_strips(self, width: int, height: int | None, style: Style, options: RenderOptions) -> list[Strip]:
        strips = self._render(width)
        # The widget keeps the painted lines itself: holding a second copy here would double the
        # memory of every answer on screen (the widget's content height stays cached by width).
        self._width, self._strips = -1, []
        if height is not None:
            strips = strips[:height]
        base = style.rich_style
        return [strip.apply_style(base) for strip in strips]


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


class MarkdownView(Vertical):
    """Append-only Markdown. `append()` is cheap; `source` is the whole text."""

    DEFAULT_CLASSES = "markdown-view"

    def __init__(self, text: str = "", **kw) -> None:
        super().__init__(**kw)
        self._segments: list[str] = []  # frozen, rendered once
        self._tail = ""
        self._parts: list[str] = []  # the exact source, appended to
        self._freeze(text)

    @property
    def source(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def _freeze(self, text: str) -> list[str]:
        """Add text; return the newly frozen segments' texts (the tail is kept in `_tail`)."""
        if text:
            self._parts.append(text)
        self._tail += text
        frozen: list[str] = []
        while len(self._tail) > FREEZE_AT:
            # Cut near FREEZE_AT, not at the last possible place: a burst of text becomes several
            # small segments, each cheap to render (and re-render on resize), not one big one.
            index, closing, reopening = split_point(self._tail[: 2 * FREEZE_AT])
            if index <= 0:
                index, closing, reopening = split_point(self._tail)
            if index <= 0:
                break
            head = self._tail[:index] + closing
            self._tail = reopening + self._tail[index:]
            if head.strip():
                frozen.append(head)
        self._segments += frozen
        return frozen

    def compose(self) -> ComposeResult:
        for text in self._segments:
            yield Static(render(text), classes="md-segment")
        yield Static(render(self._tail), classes="md-tail")

    async def append(self, text: str) -> None:
        frozen = self._freeze(text)
        tail = self.query_one(".md-tail", Static)
        if frozen:
            await self.mount_all([Static(render(t), classes="md-segment") for t in frozen], before=tail)
        tail.update(render(self._tail))
