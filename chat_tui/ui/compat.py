"""The few places chat-tui reaches past Textual's (and Rich's) public API, in one module, each
with why. A Textual upgrade that breaks one of these breaks it here (tests/test_compat.py checks them).

Also outside the public API, by design, and not movable here: `PromptInput._on_key` overrides
TextArea's key handler (Enter must be handled in order with typed characters; see prompt.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual._context import active_app  # the running app, for code outside any widget

if TYPE_CHECKING:
    from textual.app import App
    from textual.binding import BindingsMap
    from textual.dom import DOMNode
    from textual.widgets import Footer


def current_app() -> "App[Any]":
    """The app whose console renders Markdown blocks (markdown_blocks.py works outside widgets)."""
    return active_app.get()


_MARKDOWN: dict[tuple[str, bool], tuple[Any, dict[str, Any]]] = {}


def rich_markdown(text: str, *, code_theme: str, hyperlinks: bool) -> Any:
    """Rich's `Markdown` for `text`, parsed by one shared parser.

    Rich builds a new markdown-it parser for every `Markdown` it makes (~0.2-0.3 ms: about a third
    of rendering a paragraph), and a streaming answer's tail is rendered up to ten times a second.
    Here one parser, configured as Rich configures its own, parses every text, and the rest of the
    object is a copy of the fields of one made by Rich with the same arguments (so a field a later
    Rich adds is there too). Upstreamable as a parser argument to `Markdown`; tests/test_compat.py
    checks the output against Rich's own Markdown. Main thread only, like the app's console."""
    from markdown_it import MarkdownIt
    from rich.markdown import Markdown

    made = _MARKDOWN.get((code_theme, hyperlinks))
    if made is None:
        parser = MarkdownIt().enable("strikethrough").enable("table")
        fields = dict(vars(Markdown("", code_theme=code_theme, hyperlinks=hyperlinks)))
        made = _MARKDOWN[(code_theme, hyperlinks)] = (parser, fields)
    parser, fields = made
    markdown = Markdown.__new__(Markdown)
    vars(markdown).update(fields)
    markdown.markup = text
    markdown.parsed = parser.parse(text)
    return markdown


def keymap(app: "App[Any]") -> dict[str, str]:
    """The keymap given to `App.set_keymap` (Textual keeps no public getter): the prompt reads
    its remapped send keys from it, and the keys screen shows remapped keys."""
    return getattr(app, "_keymap", None) or {}


def node_bindings(node: "DOMNode") -> "BindingsMap":
    """A node's bindings as they are now, including those added at run time (the command
    palette's), which the class's BINDINGS do not list."""
    return node._bindings


def class_bindings_map(cls: type["DOMNode"]) -> "BindingsMap":
    """A class's BINDINGS merged along its MRO, as Textual builds them (honouring
    `inherit_bindings`)."""
    return cls._merge_bindings()


def footer_bindings_ready(footer: "Footer") -> None:
    """Tell Textual's Footer that bindings are known (its own `bindings_changed` does this
    before rebuilding, which ours defers: see widgets/footer.py)."""
    footer._bindings_ready = True


def undo_depth(area: Any) -> int:
    """How many undo steps a TextArea holds (its EditHistory keeps the stack private)."""
    return len(area.history._undo_stack)


def merge_undo(area: Any, depth: int) -> None:
    """Make every undo step a TextArea recorded since it held `depth` steps one step, so a
    streamed completion (many inserts) is undone with one ctrl+z."""
    stack = area.history._undo_stack
    if len(stack) - depth < 2 or depth < 0:
        return
    merged = []
    while len(stack) > depth:
        merged[:0] = stack.pop()
    stack.append(merged)
    area.history.checkpoint()


def fast_wrapped_height(wrapped: Any) -> Any:
    """Make a TextArea's WrappedDocument answer `height` in O(1). Textual sums every line's
    wrap offsets on each call, and TextArea asks once per line it draws, so a frame of a long
    document cost O(screen lines x document lines). `_offset_to_line_info` holds one entry per
    wrapped line, kept up to date by `wrap` and `wrap_range`: its length is the height."""
    from textual.document._wrapped_document import WrappedDocument

    global _FastHeight
    if _FastHeight is None:
        class FastHeight(WrappedDocument):
            @property
            def height(self) -> int:
                return len(self._offset_to_line_info)

        _FastHeight = FastHeight
    if type(wrapped) is WrappedDocument:
        wrapped.__class__ = _FastHeight
    return wrapped


_FastHeight: Any = None


def colour_filters_off(app: "App[Any]") -> None:
    """Undo Textual's NO_COLOR handling for an empty `NO_COLOR`, which Textual takes as set and
    no-color.org says is not: the flag back to False and its colour-removing filter dropped
    (`App._filters` has no public setter)."""
    from textual.filter import Monochrome, NoColor

    app.no_color = False
    app._filters[:] = [f for f in app._filters if not isinstance(f, (Monochrome, NoColor))]


def one_layout_per_resize(cls: type) -> type:
    """Class decorator: a widget of `cls` whose size a layout changed does not ask for a second
    layout of the whole screen.

    After laying out the screen, Textual tells each widget its new size (`_size_updated`), which
    sets `virtual_size`, a reactive with `layout=True`: each widget whose virtual size changed
    (a growing answer, the message around it, the conversation scrolling them) asks for the
    screen to be laid out again in the next frame, although the layout that set it is the one
    just done. Measured while an answer streams: every growth cost two full layouts and
    repaints instead of one. This passes `layout=False`, as Textual's own scroll-only reflow
    does: the size is stored, and scroll bars and the scroll position are still updated
    (`_scroll_update`); anchoring to the end is done by the compositor while it arranges.
    Upstreamable as an option of `_size_updated`; tests/test_compat.py checks both behaviours.
    """
    original = cls._size_updated
    if getattr(vars(cls).get("_size_updated"), "one_layout", False):
        return cls  # already

    def _size_updated(self: Any, size: Any, virtual_size: Any, container_size: Any, layout: bool = True) -> bool:
        return original(self, size, virtual_size, container_size, layout=False)

    _size_updated.one_layout = True  # type: ignore[attr-defined]
    cls._size_updated = _size_updated
    return cls


def set_scroll_range(widget: Any, size: Any) -> None:
    """Give a scrolling widget whose own height does not depend on its content a new virtual
    size without laying out the screen: `virtual_size` is a layout reactive, and Textual lays
    out every widget when it changes, although only the widget's scroll range has. Its scroll
    bars are updated and the scroll kept in range (`_scroll_update`, as Textual's scroll-only
    reflow does); a scroll bar that appears still asks for a layout (`show_vertical_scrollbar`).
    An anchored widget follows the end as the compositor makes it do in a layout. Upstreamable
    as a `layout=False` way to set the virtual size; tests/test_markdown_view.py checks it."""
    from textual.widget import Widget

    widget.set_reactive(Widget.virtual_size, size)
    widget._scroll_update(size)
    if widget.is_anchored and not widget._anchor_released:
        end = max(0, size.height - (widget.container_size.height - widget.scrollbar_size_horizontal))
        widget.scroll_target_y = end
        widget.scroll_y = end


def one_layout_for_textual_leaves() -> None:
    """`one_layout_per_resize` for the widgets of Textual's that a layout resizes often: scroll
    bars (F2 in compare mode resizes eight) and the footer's keys (`FooterKey`, not exported by
    `textual.widgets`), which have no children whose layout their size could change."""
    from textual.scrollbar import ScrollBar
    from textual.widgets._footer import FooterKey

    for leaf in (ScrollBar, FooterKey):
        one_layout_per_resize(leaf)


def no_mount_while_pruned() -> None:
    """Do not send `Mount` to a widget that is already being removed, or whose app is exiting.

    Textual composes a widget, mounts what `compose` gave, then sends it `Mount`. If the widget
    is removed or the app starts exiting in between, `mount()` quietly mounts nothing (a pruning
    widget takes no children; `mount_all` takes none once the app exits), but `Mount` is still
    sent: an `on_mount` that looks up a child its `compose` yielded gets `NoMatches`, and the
    app ends with a traceback. Seen when a user quits while the side panes are still mounting
    (they mount after the first frame), and once in CI as a test ended at that moment. A widget on its way out is never shown, so its mount
    handlers have nothing to do. Upstreamable as a check in `MessagePump._pre_process`;
    tests/test_compat.py reproduces the race. Idempotent."""
    from textual.events import Mount
    from textual.widget import Widget

    if getattr(Widget.on_event, "skips_pruned_mount", False):
        return
    original = Widget.on_event

    async def on_event(self: Any, event: Any) -> None:
        if event.__class__ is Mount and (self._pruning or self._closing or not self.is_attached):
            return
        await original(self, event)

    on_event.skips_pruned_mount = True  # type: ignore[attr-defined]
    Widget.on_event = on_event  # type: ignore[method-assign]


def paint_dirty_rows_only() -> None:
    """Make a partial repaint render only the rows it repaints.

    For a partial update Textual's compositor takes the box around every dirty region and asks
    each widget crossing it for *all* its visible lines (`Compositor._get_renders`), then keeps
    only the dirty rows. While an answer streams, the dirty rows are the answer's last line or
    two and the token meter; every container around them (screen, panes, conversation, message,
    scroll bar) was asked for its 40-50 lines each frame: ~60% of a frame's compositing time,
    measured at 200 tokens/s. Here each widget is asked only for the rows of that box (its clip
    cut to them), which Textual already does for a widget that is partly scrolled out of view;
    the columns are left whole, since a repaint writes a line's pieces from where they start.
    The box is one per band of adjacent dirty rows (`render_partial_update`), not one around all
    of them: the answer's last lines and the meter under the conversation are two bands, not the
    20-40 rows between them. And a widget is not asked for the rows in which the widgets in
    front of it already cover it (in the box's columns): nothing of it would be painted there.
    So a streaming answer's message, the conversation, the panes and the screen behind the
    answer's last line are not asked at all, and a layout of the whole screen skips every
    container its children fill (the screen, compare mode's row of lanes). Those two: the
    screen's frames for an 8,000-token answer at 200 tokens/s 1.92 -> 1.44 CPU-s (counters;
    docs/performance.md). Upstreamable as a
    change to `_get_renders` and `render_partial_update`; tests/test_compat.py checks that what
    reaches the terminal is the same. Idempotent."""
    from textual._compositor import Compositor
    from textual.geometry import Region

    if getattr(Compositor._get_renders, "rows_only", False):
        return

    def _get_renders(self: Any, crop: Any = None) -> Any:
        # Front to back. `covered` holds, per row, the column spans painted by the widgets
        # already given: a row of a widget behind that is covered in the box's columns is not
        # asked for (the compositor keeps the frontmost piece; nothing of it would be painted).
        box_x, box_right = (crop.x, crop.right) if crop else (0, self.size.width)
        covered: dict[int, list[list[int]]] = {}
        for widget, (region, clip) in self.visible_widgets.items():
            if crop:
                if not crop.overlaps(clip):
                    continue
                top, bottom = max(clip.y, crop.y), min(clip.bottom, crop.bottom)
                clip = Region(clip.x, top, clip.width, bottom - top)
            x, y, width, height = region.intersection(clip)
            if not (width and height):
                continue
            left, right = max(x, box_x), min(x + width, box_right)
            start = None
            for row in range(y, y + height + 1):
                if row < y + height and not _covered(covered.get(row), left, right):
                    if start is None:
                        start = row
                elif start is not None:
                    lines = widget.render_lines(Region(x - region.x, start - region.y, width, row - start))
                    yield region, Region(clip.x, start, clip.width, row - start), lines
                    start = None
                if row < y + height:
                    _cover(covered, row, x, x + width)  # for the widgets behind it

    def render_partial_update(self: Any) -> Any:
        # Textual's, but each band of adjacent dirty rows is rendered on its own: the box around
        # all dirty regions spans whatever lies between them (the answer's last lines and the
        # token meter under the conversation: every container between, 20-40 rows a frame).
        from textual._compositor import ChopsUpdate

        update_regions = self._dirty_regions.copy()
        self._dirty_regions.clear()
        if not update_regions:
            return None
        screen_region = self.size.region
        spans = list(self._regions_to_spans(update_regions))
        rows = {y for y, _, _ in spans}
        is_rendered_line = rows.__contains__
        chops = None
        for top, bottom in _bands(rows):
            band = [region for region in update_regions if region.y < bottom and region.bottom > top]
            crop = Region.from_union(band).intersection(Region(0, top, screen_region.width, bottom - top))
            rendered = self._render_chops(crop, is_rendered_line)
            if chops is None:
                chops = rendered
            else:
                chops[top:bottom] = rendered[top:bottom]
        if chops is None:  # nothing on screen
            chops = self._render_chops(Region(0, 0, 0, 0), is_rendered_line)
        return ChopsUpdate(chops, spans, [cut_set[1:] for cut_set in self.cuts])

    _get_renders.rows_only = True  # type: ignore[attr-defined]
    textual_get_renders.append(Compositor._get_renders)
    textual_partial_updates.append(Compositor.render_partial_update)
    Compositor._get_renders = _get_renders
    Compositor.render_partial_update = render_partial_update


def lazy_strip_caches() -> bool:
    """Give each Textual `Strip` its seven result caches on first use, not when it is made.

    A `Strip` is one line of a widget; Textual makes thousands per frame that lays out the screen
    (every widget's lines, and each line again for every piece the compositor cuts it into), and
    each made seven `FIFOCache`s (seven more objects, seven dicts) that most never use: F2 in
    compare mode, which resizes four lanes of 200x50, spent ~40% of its layout-and-paint making
    them (py-spy; docs/performance.md, fifth round). Here the cache slots are left empty and
    `Strip.__getattr__` (called only for an empty slot) fills one the first time it is read, so
    a cache a strip uses is a plain slot from then on. The caches and their sizes are read from a
    strip made by Textual's own `__init__`, and the patch is not applied (False) to a `Strip`
    whose other fields are not the five written here. Upstreamable as lazy caches in `Strip`;
    tests/test_compat.py checks the strips' results against Textual's. Idempotent."""
    from textual.cache import FIFOCache
    from textual.strip import Strip

    if "__getattr__" in vars(Strip):
        return getattr(Strip.__getattr__, "lazy_caches", False)
    probe = Strip([])
    sizes = {name: getattr(probe, name)._maxsize for name in Strip.__slots__
             if isinstance(getattr(probe, name, None), FIFOCache)}
    others = {name: getattr(probe, name, AttributeError) for name in Strip.__slots__ if name not in sizes}
    if others != {"_segments": [], "_cell_length": None, "_render_cache": None, "_link_ids": None, "_cell_count": None}:
        return False

    def __init__(self: Any, segments: Any, cell_length: int | None = None) -> None:
        self._segments = list(segments)
        self._cell_length = cell_length
        self._render_cache = None
        self._link_ids = None
        self._cell_count = None

    def __getattr__(self: Any, name: str) -> Any:
        size = sizes.get(name)
        if size is None:
            raise AttributeError(f"'Strip' object has no attribute {name!r}")
        cache = FIFOCache(size)
        setattr(self, name, cache)
        return cache

    __getattr__.lazy_caches = True  # type: ignore[attr-defined]
    textual_strip_inits.append(Strip.__init__)
    Strip.__init__ = __init__  # type: ignore[method-assign]
    Strip.__getattr__ = __getattr__  # type: ignore[attr-defined]
    return True


textual_strip_inits: list[Any] = []  # Textual's own, once replaced (for tests/test_compat.py)


def _covered(spans: list[list[int]] | None, left: int, right: int) -> bool:
    """Whether [left, right) lies inside one of `spans` (merged, sorted [start, end) spans)."""
    if left >= right:
        return True
    for start, end in spans or ():
        if start > left:
            return False
        if end >= right:
            return True
    return False


def _cover(covered: dict[int, list[list[int]]], row: int, left: int, right: int) -> None:
    """Add [left, right) to the row's spans, merging the ones it touches."""
    spans = covered.setdefault(row, [])
    merged = [left, right]
    kept = []
    for span in spans:
        if span[1] < merged[0] or span[0] > merged[1]:
            kept.append(span)
        else:
            merged = [min(merged[0], span[0]), max(merged[1], span[1])]
    kept.append(merged)
    kept.sort()
    covered[row] = kept


def _bands(rows: set[int]) -> list[tuple[int, int]]:
    """Runs of adjacent rows, as (top, bottom) with bottom exclusive, top to bottom."""
    bands: list[tuple[int, int]] = []
    for y in sorted(rows):
        if bands and bands[-1][1] == y:
            bands[-1] = (bands[-1][0], y + 1)
        else:
            bands.append((y, y + 1))
    return bands


textual_get_renders: list[Any] = []  # Textual's own, once replaced (for tests/test_compat.py)
textual_partial_updates: list[Any] = []
