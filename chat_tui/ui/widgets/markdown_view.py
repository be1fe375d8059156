"""Markdown for long, streamed answers: one widget drawing a few rendered blocks, line by line.

Textual's `Markdown` widget makes a widget for every block (an 8,000-token answer: ~580
widgets), and every append lays all of them out again; measured here, one 31 kB answer costs
0.9 s to mount. This view renders Markdown with Rich into a handful of blocks (see
markdown_blocks.py): finished parts of the text are *frozen* into a block once (at a blank line
outside a code fence, every ~2 kB; text without one, such as a long code block, a table or one
enormous line, at a line or inside the line), and only the unfinished tail is re-rendered on each
append. So an append costs O(new text + a bounded tail).

It is one widget with Textual's line API (`render_line`), like Textual's own `Log`: there are no
child widgets to mount, measure and lay out, and painting asks only for the lines on screen. An
earlier version mounted one `Static` per block: in compare mode (four answers streaming side by
side) laying out and painting those widget stacks blocked the event loop for 100-300 ms at a
time (benchmarks/compare.py).

Two widgets share the drawing (`MarkdownLines`): `MarkdownView` is as tall as its text, for a
conversation that scrolls as a whole; `MarkdownScroll` scrolls itself, like `Log`, for a compare
lane: no scrolling container around it to lay out and paint (measured: a lane's container and its
children cost more to repaint than the answer itself when the screen is laid out again).

Only what can be seen is rendered at once: the tail and the blocks before it up to a screenful.
Older blocks get an estimated height (`estimate_lines`) and are rendered when painted; shortly
after the text stops growing, they are measured one per turn of the event loop, so heights are
exact before anyone scrolls there (a block above the viewport that changes height keeps the
view in place). A burst of text at the end of a fast stream thus costs a screenful of rendering,
not the whole answer, on the way to the last line.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_right

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual import events
from textual.cache import LRUCache
from textual.containers import ScrollableContainer
from textual.geometry import Offset, Region, Size
from textual.reactive import Reactive
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget
from textual.worker import Worker

from chat_tui.ui.compat import one_layout_per_resize, set_scroll_range
from chat_tui.ui.markdown_blocks import Block, pieces
from chat_tui.ui.source_map import LineMap, selected_source
from chat_tui.ui.text_cursor import CURSOR_STYLE, MESSAGE_GAP

MEASURE_AFTER = 0.4  # seconds without new text before older blocks get their exact heights

# The strips handed to Textual for painting, shared by every view and kept for the last lines
# painted only. Textual caches what it derives from a strip (cut at the columns' edges, styled,
# filtered) in the strip itself, so a line painted again (the screen laid out anew, four lanes
# repainted at the end of a comparison) is nearly free; kept for every line of every answer,
# those caches cost ~6 MB per 8,000-token answer.
_PAINTED: LRUCache[tuple[Block, int, int], Strip] = LRUCache(256)
CURSOR = RichStyle.parse(CURSOR_STYLE)


def restyle(segments: list[Segment], start: int, end: int, style: RichStyle) -> list[Segment]:
    """`segments` with characters start..end (not cells: selection offsets count characters)
    drawn in `style` on top of their own."""
    out: list[Segment] = []
    x = 0
    for segment in segments:
        text, own, control = segment
        n = len(text)
        if control or x + n <= start or x >= end:
            out.append(segment)
        else:
            a, b = max(start - x, 0), min(end - x, n)
            if a:
                out.append(Segment(text[:a], own))
            out.append(Segment(text[a:b], own + style if own else style))
            if b < n:
                out.append(Segment(text[b:], own))
        x += n
    return out


class MarkdownLines:
    """The text as blocks, laid out at a width, drawn a line at a time. Mixed into a widget."""

    def _init_lines(self, text: str) -> None:
        self._frozen: list[Block] = []  # finished parts: rendered once per width
        self._tail = Block("")  # the open end: re-rendered on every append
        self._cursor: Offset | None = None  # the keyboard selection's cursor (x, line)
        self._parts: list[str] = []  # the exact source, appended to
        self._version = 0  # bumped when the text or a block's height changes
        self._layout: tuple[int, RichStyle | None, int] | None = None  # what `_starts` is for
        self._starts: list[int] = []  # first line of each frozen block, then of the tail
        self._height = 0
        self._measure_timer = None
        self._measuring: Worker | None = None  # the pass giving estimated blocks exact heights
        self._appends = 0
        self._style: RichStyle | None = None
        self._growth = 0  # while text streams in: room is made this many lines at a time
        self._room: tuple[int, int] | None = None  # (width, lines made room for so far)
        self._add(text)

    @property
    def source(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def block_count(self) -> int:
        """Blocks rendered separately (frozen ones and the tail)."""
        return len(self._frozen) + 1

    @property
    def line_count(self) -> int:
        """Lines at the last layout (estimated for blocks not rendered yet)."""
        return self._height

    def set_growth(self, lines: int) -> None:
        """While text streams in, grow `lines` at a time: the widget is made that much taller
        than its text whenever the text outgrows it, and the text then fills the blank room
        below it. Every change of height lays out the whole screen again and moves everything
        under and around it (a scrolled conversation: every line on screen); text filling its
        room only repaints its own changed lines. 0 (when the answer ends): as tall as the text
        again."""
        self._growth = max(0, lines)
        if not self._growth and self._room is not None:
            self._room = None
            self._heights_changed()

    def _shown_height(self, width: int) -> int:
        """The height the widget takes at `width`: its text's, or the room made for it."""
        height = self._lay_out(width)
        if not self._growth:
            return height
        room = self._room
        if room is None or room[0] != width or height > room[1]:
            # Never more than half of what the view shows: the text's last line must stay
            # in view, halfway down at the lowest, when the room is at the bottom.
            growth = max(1, min(self._growth, self._viewport_height() // 2))
            room = self._room = (width, height + growth)
        return room[1]

    def _viewport_height(self) -> int:
        """Lines the view can show at once."""
        scroller = self._scroller()
        height = scroller.scrollable_content_region.height if scroller is not None else 0
        return height or self._screenful()

    def _add(self, text: str) -> int:
        """Add text; return how many blocks were newly frozen (the rest stays in the tail)."""
        if not text:
            return 0
        self._parts.append(text)
        self._appends += 1
        tail = self._tail
        *heads, rest = pieces(tail.text[tail.lead :] + text, tail.text[: tail.lead])
        start = tail.start
        frozen = 0
        for piece in heads:
            if piece.markdown.strip():
                self._frozen.append(Block(piece.markdown, start, len(piece.opening), len(piece.source)))
                frozen += 1
            start += len(piece.source)
        tail.set_text(rest.markdown, start, len(rest.opening), len(rest.source))
        self._version += 1
        return frozen

    # -- layout and painting --------------------------------------------------------------------

    def _base_style(self) -> RichStyle | None:
        """The widget's colours, under the Markdown's own (asked once per style change: Textual
        works it out from every ancestor on each call)."""
        if self._style is None:
            try:
                self._style = self.rich_style
            except Exception:  # not attached to an app yet
                return None
        return self._style

    def notify_style_update(self) -> None:
        self._style = None
        super().notify_style_update()

    def _screenful(self) -> int:
        try:
            return self.app.size.height
        except Exception:
            return 50

    def _lay_out(self, width: int) -> int:
        """Line offsets of the blocks at `width` (rendering the last screenful); the height."""
        style = self._base_style()
        key = (width, style, self._version)
        if key == self._layout:
            return self._height
        # What the view can show at most is a screenful from its end: render that much now.
        covered = len(self._tail.render(width, style))
        need = self._screenful()
        for block in reversed(self._frozen):
            if covered >= need:
                break
            covered += len(block.render(width, style))
        starts = self._starts
        starts.clear()
        line = 0
        for block in self._frozen:
            starts.append(line)
            line += block.height(width)
        starts.append(line)
        self._height = line + len(self._tail.lines)
        self._layout = key
        if any(block.exact_height(width) is None for block in self._frozen):
            self._measure_later()
        return self._height

    def _block_at(self, y: int, width: int) -> tuple[Block, int] | None:
        """The block showing line `y` at `width` (rendered), and the line's index in it."""
        self._lay_out(width)
        if y < 0 or y >= self._height:
            return None
        style = self._layout[1] if self._layout else None
        index = bisect_right(self._starts, y) - 1
        block = self._tail if index >= len(self._frozen) else self._frozen[index]
        if not block.rendered(width, style):
            # Scrolled to before its turn: render it now; a height other than the estimate moves
            # what follows, so lay out again.
            assumed = block.height(width)
            block.render(width, style)
            if len(block.lines) != assumed:
                self._version += 1
                self.call_later(self._heights_changed)
                self._lay_out(width)
        offset = y - self._starts[index]
        if offset >= len(block.lines):
            return None
        return block, offset

    def _line(self, y: int, width: int) -> Strip:
        """Line `y` of the text at `width`, with the offsets Textual's text selection reads
        (a blank line gets a space to carry them), the selection and the cursor drawn."""
        found = self._block_at(y, width)
        if found is None:
            return Strip.blank(width, self._layout[1] if self._layout else None)
        block, offset = found
        key = (block, block.generation, offset)
        strip = _PAINTED.get(key)
        if strip is None:
            line = block.lines[offset] or [Segment(" ", self._layout[1] if self._layout else None)]
            strip = _PAINTED[key] = Strip(line)
        # Offsets last: each segment's says where it starts, so a segment cut by the selection's
        # edge must get its own. (The strip keeps the result for the last few `y`s.)
        return self._marked(strip, y).apply_offsets(0, y)

    def _marked(self, strip: Strip, y: int) -> Strip:
        selection = self._selection()
        span = selection.get_span(y) if selection is not None else None
        cursor = self._cursor
        at = cursor.x if cursor is not None and cursor.y == y else None
        if span is None and at is None:
            return strip
        segments = list(strip)
        if span is not None:
            start, end = span
            segments = restyle(segments, start, len(strip.text) if end == -1 else end, self._selection_style())
        if at is not None:
            segments = restyle(segments, at, at + 1, CURSOR)
        return Strip(segments, strip.cell_length)

    def _selection_style(self) -> RichStyle:
        """The screen's selection colours as Textual's own widgets draw them: the background
        blended over this one's, the text keeping its colour unless the theme sets one (the
        component's whole Rich style blends a transparent text colour into the background:
        selected text would vanish)."""
        styles = self.screen.get_component_styles("screen--selection")
        _, background = self.background_colors
        color = styles.color
        return RichStyle(bgcolor=(background + styles.background).rich_color, color=color.rich_color if color.a > 0 else None)

    def _selection(self) -> Selection | None:
        try:
            return self.text_selection
        except Exception:  # not on a screen (yet, or any more)
            return None

    # -- selection: the source of what is selected, lines for the keyboard's cursor ------------

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The *source* Markdown of the selected lines (see source_map.py), and what goes
        between it and the next message's."""
        width = self._text_width()
        if width <= 0:
            return None
        text = selected_source(self.source, self._line_map, self._lay_out(width), selection.start, selection.end)
        return text, MESSAGE_GAP

    def _line_map(self, y: int) -> LineMap:
        found = self._block_at(y, self._text_width())
        if found is None:
            return []
        block, offset = found
        return block.source_map()[offset]

    def line_total(self) -> int:
        """Lines at the current width (for the keyboard's cursor)."""
        width = self._text_width()
        return self._lay_out(width) if width > 0 else 0

    def line_text(self, y: int) -> str:
        found = self._block_at(y, self._text_width())
        if found is None:
            return ""
        block, offset = found
        return "".join(segment.text for segment in block.lines[offset])

    def set_cursor(self, cursor: Offset | None) -> None:
        """Show the keyboard selection's cursor at (character, line), or hide it."""
        if cursor != self._cursor:
            self._cursor = cursor
            self.refresh()

    def _heights_changed(self) -> None:
        """Lines moved (a block's exact height replaced its estimate)."""
        raise NotImplementedError

    def _text_width(self) -> int:
        return self.size.width

    def _text_changed(self, old_height: int, first_changed: int, width: int, end: int) -> None:
        """Text was added and laid out at `width`: repaint what changed (lines `first_changed`
        to `end`; the widget was `old_height` tall)."""
        raise NotImplementedError

    # -- exact heights for the blocks nobody has looked at yet ----------------------------------

    def _measure_later(self) -> None:
        if self._measure_timer is None:
            self._measure_timer = self.set_timer(MEASURE_AFTER, self._start_measuring)
        else:
            self._measure_timer.reset()

    def _start_measuring(self) -> None:
        self._measure_timer = None
        if self._measuring is None or self._measuring.is_finished:
            # A worker, not a callback run by this widget's message queue: over a long answer
            # the pass takes seconds, and the feeder waits for this widget's refreshes.
            self._measuring = self.run_worker(self._measure_blocks(), name="measure heights", group="measure-heights")

    async def _measure_blocks(self) -> None:
        """Render each estimated block once to learn its height, newest first, one at a time.

        The offsets in use stay as they are until the end (a paint meanwhile shows what it
        showed); then one layout, and the scroll position moves by as many lines as the blocks
        above the viewport grew, so the text being read stays where it is. Text coming in
        again ends the pass early; another follows once it stops."""
        if self._layout is None:
            return
        width = self._layout[0]
        view_top = self._viewport_top()
        appends = self._appends
        shift = 0
        changed = False
        pause = 0.0
        for index in range(len(self._frozen) - 1, -1, -1):
            if self._frozen[index].exact_height(width) is not None:
                continue
            if pause:
                # Keys and painting go first. A key takes a few turns of the loop to reach its
                # widget, so the pass waits as long as the last block took, not for one turn: a
                # costly block (a table, a long line of code) would run on each.
                await asyncio.sleep(pause)
            if not self.is_attached or self._layout is None or self._layout[0] != width:
                return  # removed, or laid out at another width: a later pass will do it
            if self._appends != appends:
                break
            block = self._frozen[index]
            if block.exact_height(width) is not None:  # painted meanwhile
                continue
            estimate = block.height(width)
            started = time.perf_counter()
            exact = block.measure(width, self._layout[1])
            pause = time.perf_counter() - started
            if exact != estimate:
                changed = True
                if view_top is not None and index + 1 < len(self._starts) and self._starts[index + 1] <= view_top:
                    shift += exact - estimate  # wholly above the first line on screen
        if changed:
            self._version += 1
            container = self._scroller()
            if shift and container is not None and not container.is_anchored:
                # Set before the layout that makes room for it (scroll_to would clamp it to the
                # old height): the content moves and the view with it, in the same frame.
                y = max(0, container.scroll_y + shift)
                container.set_reactive(Widget.scroll_y, y)
                container.set_reactive(Widget.scroll_target_y, y)
                container.vertical_scrollbar.position = y
            self._heights_changed()
        if any(block.exact_height(width) is None for block in self._frozen):
            self._measure_later()  # frozen since the pass began

    def _scroller(self) -> Widget | None:
        """The widget whose scrolling shows this text."""
        raise NotImplementedError

    def _viewport_top(self) -> int | None:
        """The first line of the text on screen (None: unknown)."""
        raise NotImplementedError

    # -- streaming ----------------------------------------------------------------------------

    async def append(self, text: str) -> None:
        """Add text; what shows of it is rendered now, a block per turn of the event loop."""
        if not text:
            return
        old_height = self._room[1] if self._growth and self._room is not None else self._height
        old_text_height = self._height
        first_changed = self._starts[-1] if self._starts else 0  # the tail's first line
        old_tail = self._tail.lines
        frozen = self._add(text)
        layout = self._layout
        if not self.is_mounted or layout is None:
            self.refresh(layout=True)
            return
        width, style, _ = layout
        new_tail = self._tail.render(width, style)
        covered = len(new_tail)
        if not frozen:
            # The tail grew: what changed starts at its first line that differs (a new word
            # changes the last line or two, not the tail's whole paragraph or list).
            same = 0
            for old, new in zip(old_tail, new_tail):
                if old != new:
                    break
                same += 1
            first_changed += same
        for block in reversed(self._frozen[len(self._frozen) - frozen :]):
            # A burst freezes several blocks: render those in view, one at a time, letting keys
            # in between; the rest are estimated.
            if covered >= self._screenful():
                break
            covered += len(block.render(width, style))
            await asyncio.sleep(0)
        if self._layout is None or self._layout[0] != width:  # laid out at another width meanwhile
            width, first_changed = self._text_width(), 0
        self._shown_height(width)
        self._text_changed(old_height, first_changed, width, max(old_text_height, self._height))


@one_layout_per_resize
class MarkdownView(MarkdownLines, Widget):
    """Append-only Markdown as tall as its text. `append()` is cheap; `source` is the whole text."""

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
        self._init_lines(text)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._shown_height(width)

    def render_line(self, y: int) -> Strip:
        return self._line(y, self._text_width())

    def _heights_changed(self) -> None:
        self.refresh(layout=True)

    def _text_changed(self, old_height: int, first_changed: int, width: int, end: int) -> None:
        if self._shown_height(width) != old_height:
            self.refresh(layout=True)  # the size changes: the whole widget is repainted anyway
        elif end > first_changed:
            self.refresh(Region(0, first_changed, width, end - first_changed))

    def _scroller(self) -> Widget | None:
        return next((a for a in self.ancestors if isinstance(a, ScrollableContainer)), None)

    def _viewport_top(self) -> int | None:
        container = self._scroller()
        region = self.region
        if container is None or not region.height:
            return None
        return container.content_region.y - region.y


class MarkdownScroll(MarkdownLines, ScrollView, can_focus=False):
    """Append-only Markdown that scrolls itself (a compare lane). Anchor it to follow the end."""

    DEFAULT_CSS = """
    MarkdownScroll {
        overflow-x: hidden;
        overflow-y: auto;
    }
    """
    DEFAULT_CLASSES = "markdown-view"
    auto_links = Reactive(False)  # as MarkdownView's

    def __init__(self, text: str = "", **kw) -> None:
        super().__init__(**kw)
        self._init_lines(text)

    def _text_width(self) -> int:
        """The region minus the scroll bar's gutter (the bar is drawn over the widget's own
        lines, not beside them)."""
        return self.scrollable_content_region.width

    def _sync_size(self) -> None:
        width = self._text_width()
        if width <= 0:
            return
        size = Size(width, self._shown_height(width))
        if size == self.virtual_size:
            return
        height = self.styles.height
        if height is None or height.is_auto:
            self.virtual_size = size  # its height is its text's: the screen is laid out again
            return
        # Its height is its column's, not its text's: what a longer text changes is its own
        # scroll range, not the screen's layout (`virtual_size` would lay out the whole screen,
        # ~25 ms with four lanes, at every growth of every lane).
        set_scroll_range(self, size)

    def on_resize(self, event: events.Resize) -> None:
        self._sync_size()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Back at the end after scrolling up: follow it again. Textual's scrolling containers do
        # this in their own watcher, which ScrollView replaces.
        if self.is_anchored:
            self._check_anchor()

    def render_line(self, y: int) -> Strip:
        return self._line(y + int(self.scroll_offset.y), self._text_width())

    def _heights_changed(self) -> None:
        self._sync_size()
        self.refresh()

    def _text_changed(self, old_height: int, first_changed: int, width: int, end: int) -> None:
        before = self.virtual_size
        self._sync_size()
        y = int(self.scroll_offset.y)
        top, bottom = first_changed - y, min(end - y, self.size.height)
        if self.virtual_size != before or top < 0:
            self.refresh()  # scrolled, or a change above the first line shown: every line moves
        elif bottom > top:
            self.refresh(Region(0, top, self.size.width, bottom - top))

    def _scroller(self) -> Widget | None:
        return self

    def _viewport_top(self) -> int | None:
        return int(self.scroll_offset.y)
