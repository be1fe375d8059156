"""The Textual internals chat-tui relies on (ui/compat.py) are still there and mean what they did."""

import asyncio
import io

import pytest
from textual.app import App
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.binding import Binding
from textual.widgets import Footer, Static

from chat_tui.ui import compat


class Host(App):
    BINDINGS = [Binding("ctrl+n", "new", "New", id="host.new")]

    def compose(self):
        yield Static("x")
        yield Footer()


async def test_compat_reaches_what_it_says():
    app = Host()
    async with app.run_test() as pilot:
        assert compat.current_app() is app
        app.set_keymap({"host.new": "ctrl+k"})
        assert compat.keymap(app) == {"host.new": "ctrl+k"}
        keys = {key for key, _ in compat.node_bindings(app)}
        assert "ctrl+n" in keys
        merged = compat.class_bindings_map(Host)
        assert [b.id for b in merged.key_to_bindings["ctrl+n"]] == ["host.new"]
        footer = app.query_one(Footer)
        compat.footer_bindings_ready(footer)
        assert footer._bindings_ready is True
        await pilot.pause()


class Editor(App):
    def compose(self):
        from chat_tui.ui.widgets.document_area import DocumentArea

        yield DocumentArea("one\n" * 50 + "a long line " * 40)


async def test_the_editors_fast_height_and_merged_undo_agree_with_textual():
    from textual.document._wrapped_document import WrappedDocument

    from chat_tui.ui.widgets.document_area import DocumentArea

    app = Editor()
    async with app.run_test(size=(60, 20)) as pilot:
        area = app.query_one(DocumentArea)
        wrapped = area.wrapped_document
        assert type(wrapped).__name__ == "FastHeight"

        def textual_height() -> int:  # Textual's own definition: a sum over every line
            return WrappedDocument.height.fget(wrapped)

        assert wrapped.height == textual_height() > 51  # the long line wraps
        area.insert("x\n" * 30 + "more " * 50, (10, 1))
        area.delete((3, 0), (8, 2))
        await pilot.pause()
        assert wrapped.height == textual_height()
        area.load_text("fresh\ntext")  # a new document gets a new wrapped document, made fast too
        assert type(area.wrapped_document).__name__ == "FastHeight"
        assert area.wrapped_document.height == WrappedDocument.height.fget(area.wrapped_document) == 2

        depth = compat.undo_depth(area)
        for word in ("alpha ", "beta\n", "gamma "):
            area.insert(word, area.document.end)
        assert compat.undo_depth(area) - depth >= 2  # separate steps as recorded
        compat.merge_undo(area, depth)
        assert compat.undo_depth(area) == depth + 1
        area.undo()
        assert area.text == "fresh\ntext"


def test_colour_filters_off_undoes_textuals_no_color(monkeypatch):
    from textual.filter import Monochrome, NoColor

    monkeypatch.setenv("NO_COLOR", "")  # Textual takes this as set
    app = Host()
    assert app.no_color and any(isinstance(f, (Monochrome, NoColor)) for f in app.get_line_filters())
    compat.colour_filters_off(app)
    assert not app.no_color and not any(isinstance(f, (Monochrome, NoColor)) for f in app.get_line_filters())


async def test_one_layout_per_resize_asks_for_no_second_layout():
    from textual.containers import Vertical

    class Plain(Static):
        pass

    @compat.one_layout_per_resize
    class Settled(Static):
        pass

    class Grow(App):
        CSS = "Vertical { height: auto; } Static { height: auto; }"

        def compose(self):
            with Vertical():
                yield Plain("a", id="plain")
                yield Settled("a", id="settled")

    app = Grow()
    async with app.run_test() as pilot:
        await pilot.pause()
        for name in ("plain", "settled"):
            widget = app.query_one(f"#{name}", Static)
            asked: list[bool] = []
            original = widget.refresh

            def spy(*regions, _original=original, _asked=asked, **kw):
                _asked.append(bool(kw.get("layout")))
                return _original(*regions, **kw)

            widget.refresh = spy
            widget.update("a\nb\nc")  # taller: the screen is laid out, and the new size set
            await pilot.pause()
            await pilot.pause()
            widget.refresh = original
            assert widget.size.height == 3 and widget.virtual_size.height == 3
            layouts = asked.count(True)
            # update() asks for one layout; Textual's own widget asks again when told its size.
            assert layouts == (2 if name == "plain" else 1), (name, asked)


async def test_paint_dirty_rows_only_renders_those_rows_and_paints_the_same(monkeypatch):
    from textual._compositor import ChopsUpdate, Compositor
    from textual.containers import Horizontal, Vertical
    from textual.geometry import Region

    class Rows(App):
        CSS = "#tall { height: 30; } #side { width: 12; } Vertical { height: auto; }"

        def compose(self):
            with Horizontal():
                yield Static("\n".join(f"side {i}" for i in range(40)), id="side")
                with Vertical():
                    yield Static("\n".join(f"line {i} " * 3 for i in range(30)), id="tall")
                    yield Static("under", id="under")

    compat.paint_dirty_rows_only()
    compat.paint_dirty_rows_only()  # idempotent: Textual's own is kept once
    assert len(compat.textual_get_renders) == 1
    textual_own = compat.textual_get_renders[0]
    app = Rows()
    async with app.run_test(size=(60, 40)) as pilot:
        await pilot.pause()
        compositor = app.screen._compositor
        tall = app.query_one("#tall").region
        side = app.query_one("#side").region
        # Two rows across the side column and the tall one: no single widget covers the box.
        crop = Region(side.x + 2, tall.y + 5, tall.x - side.x + 6, 2)
        rows = set(range(crop.y, crop.bottom))
        # Every widget crossing those rows is asked for those two rows, full width...
        asked = [(clip.width, len(strips)) for _, clip, strips in compositor._get_renders(crop)]
        assert asked and {height for _, height in asked} == {2}
        assert any(width == 60 for width, _ in asked)  # the screen, not cut to the box's columns
        # ...where Textual asks for all their visible lines.
        assert max(len(strips) for _, _, strips in textual_own(compositor, crop)) >= 30
        # A box inside the tall one: it covers the box, so nothing behind it is asked.
        inside = Region(tall.x + 3, tall.y + 5, 10, 2)
        assert len(list(compositor._get_renders(inside))) == 1
        assert len(list(textual_own(compositor, inside))) >= 3

        def written(box, get_renders):
            monkeypatch.setattr(Compositor, "_get_renders", get_renders)
            box_rows = set(range(box.y, box.bottom))
            chops = compositor._render_chops(box, box_rows.__contains__)
            monkeypatch.undo()
            spans = [(y, box.x, box.right - 1) for y in sorted(box_rows)]
            update = ChopsUpdate(chops, spans, [cut_set[1:] for cut_set in compositor.cuts])
            return update.render_segments(app.console)

        ours_get_renders = Compositor._get_renders
        for box in (crop, inside):
            # What reaches the terminal for the box is the same.
            assert written(box, ours_get_renders) == written(box, textual_own)
            assert "line 5" in written(box, ours_get_renders)


async def test_a_partial_repaint_renders_each_band_of_dirty_rows_on_its_own(monkeypatch):
    """Two dirty rows far apart (an answer's last line, the meter under the conversation): the
    widgets between them are not asked for the rows between, and the terminal gets the same
    output as from Textual's own partial update."""
    from textual._compositor import Compositor
    from textual.containers import Vertical
    from textual.geometry import Region
    from textual.widget import Widget

    class Rows(App):
        CSS = "#top { height: 20; } #bottom { height: 1; } Vertical { height: auto; }"

        def compose(self):
            with Vertical():
                yield Static("\n".join(f"line {i}" for i in range(20)), id="top")
                yield Static("meter", id="bottom")

    compat.paint_dirty_rows_only()
    assert len(compat.textual_partial_updates) == 1
    textual_own = compat.textual_partial_updates[0]
    app = Rows()
    async with app.run_test(size=(40, 24)) as pilot:
        await pilot.pause()
        compositor = app.screen._compositor
        top, bottom = app.query_one("#top").region, app.query_one("#bottom").region
        dirty = {Region(top.x, top.y + 2, top.width, 1), Region(bottom.x, bottom.y, bottom.width, 1)}
        asked: list[tuple[str, int]] = []
        render_lines = Widget.render_lines

        def spy(self, crop):
            asked.append((type(self).__name__, crop.height))
            return render_lines(self, crop)

        monkeypatch.setattr(Widget, "render_lines", spy)
        compositor._dirty_regions.update(dirty)
        ours = compositor.render_partial_update()
        # Each widget is asked for one row at a time: never for the 17 rows between the two;
        # and the containers behind the two Statics not at all (each covers its band).
        assert asked == [("Static", 1), ("Static", 1)]
        monkeypatch.setattr(Widget, "render_lines", render_lines)
        compositor._dirty_regions.update(dirty)
        theirs = textual_own(compositor)
        assert compositor._dirty_regions == set()

        written = ours.render_segments(app.console)  # what goes to the terminal
        assert written == theirs.render_segments(app.console)
        assert "line 2" in written and "meter" in written and "line 3" not in written
        # Nothing dirty: nothing to send, as in Textual.
        assert compositor.render_partial_update() is None


def test_rich_markdown_renders_as_rich_s_own_with_one_parser(monkeypatch):
    import markdown_it
    from rich.console import Console
    from rich.markdown import Markdown

    text = (
        "# Title\n\nA *paragraph* with **bold**, ~~struck~~, `code` and a [link](https://example.com).\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n- two\n  1. nested\n\n> quoted\n\n"
        "```python\nprint('hi')\n```\n\n---\n\nThe end."
    )
    console = Console(width=60, file=io.StringIO(), color_system="truecolor")
    for hyperlinks in (False, True):
        for width in (30, 60):
            options = console.options.update(width=width)
            theirs = list(console.render(Markdown(text, code_theme="monokai", hyperlinks=hyperlinks), options))
            ours = list(console.render(compat.rich_markdown(text, code_theme="monokai", hyperlinks=hyperlinks), options))
            assert ours == theirs
    made: list[object] = []
    original = markdown_it.MarkdownIt.__init__

    def counting(self, *args, **kw):
        made.append(self)
        original(self, *args, **kw)

    monkeypatch.setattr(markdown_it.MarkdownIt, "__init__", counting)
    for i in range(3):
        compat.rich_markdown(f"text {i}", code_theme="monokai", hyperlinks=False)
    assert made == []  # no parser made per text


def test_lazy_strip_caches_make_a_cache_on_first_use_and_give_textual_s_results():
    from rich.console import Console
    from rich.segment import Segment
    from rich.style import Style
    from textual.cache import FIFOCache
    from textual.strip import Strip

    assert compat.lazy_strip_caches() is True
    assert compat.lazy_strip_caches() is True  # idempotent: Textual's own kept once
    assert len(compat.textual_strip_inits) == 1
    textual_init = compat.textual_strip_inits[0]
    red, bold = Style(color="red"), Style(bold=True)
    segments = [Segment("Hello ", red), Segment("wide 日本 ", bold), Segment("world", None)]

    def textual_strip(segs, cell_length=None):
        strip = Strip.__new__(Strip)
        textual_init(strip, segs, cell_length)
        return strip

    ours, theirs = Strip(segments), textual_strip(segments)
    # A new strip holds no cache at all (its slot is empty) ...
    for name in ("_crop_cache", "_divide_cache", "_style_cache", "_filter_cache", "_line_length_cache",
                 "_crop_extend_cache", "_offsets_cache"):
        try:
            object.__getattribute__(ours, name)
        except AttributeError:
            pass
        else:
            raise AssertionError(f"{name} made before it was used")
        # ... and one made on first use has Textual's size.
        assert isinstance(getattr(ours, name), FIFOCache)
        assert getattr(ours, name)._maxsize == getattr(theirs, name)._maxsize
    fresh = Strip(segments)
    first = fresh.crop(2, 9)
    assert fresh.crop(2, 9) is first  # cached
    assert object.__getattribute__(fresh, "_crop_cache")._maxsize == 16
    try:
        fresh.no_such_thing
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("an unknown attribute must still raise")

    # Every operation gives what Textual's own strip gives.
    def same(a, b):
        assert list(a) == list(b) and a.cell_length == b.cell_length

    ours, theirs = Strip(segments), textual_strip(segments)
    for a, b in zip(ours.divide([3, 8, 12, 40]), theirs.divide([3, 8, 12, 40])):
        same(a, b)
    same(ours.crop(1, 10), theirs.crop(1, 10))
    same(ours.crop_extend(2, 30, bold), theirs.crop_extend(2, 30, bold))
    same(ours.apply_style(bold), theirs.apply_style(bold))
    same(ours.adjust_cell_length(30, red), theirs.adjust_cell_length(30, red))
    same(ours.extend_cell_length(25), theirs.extend_cell_length(25))
    same(ours.simplify(), theirs.simplify())
    same(ours.apply_offsets(3, 4), theirs.apply_offsets(3, 4))
    console = Console()
    assert ours.render(console) == theirs.render(console)
    assert ours.text == theirs.text and ours.cell_length == theirs.cell_length == 21


async def test_a_full_layout_skips_the_rows_that_widgets_in_front_cover(monkeypatch):
    """The screen and a container its children fill are not asked for their lines; a container
    with a border is asked only for the rows its children leave uncovered (the border shows on
    every row: all of them; a header's margin: those rows). What reaches the terminal is Textual's."""
    from textual._compositor import ChopsUpdate, Compositor
    from textual.containers import Horizontal, Vertical
    from textual.widget import Widget

    class Filled(Vertical):
        pass

    class Ruled(Vertical):
        pass

    class Gapped(Vertical):
        pass

    class Panes(App):
        CSS = """
        Horizontal { height: 1fr; }
        Filled, Ruled, Gapped { width: 1fr; }
        Ruled { border-left: vkey red; }
        Static { height: 1fr; }
        #gap { height: 2; margin: 0 1 0 0; }
        """

        def compose(self):
            with Horizontal():
                with Filled():
                    yield Static("\n".join(f"filled {i}" for i in range(30)))
                with Ruled():
                    yield Static("\n".join(f"ruled {i}" for i in range(30)))
                with Gapped():
                    yield Static("head", id="gap")
                    yield Static("\n".join(f"gapped {i}" for i in range(30)))

    compat.paint_dirty_rows_only()
    textual_own = compat.textual_get_renders[0]
    app = Panes()
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        compositor = app.screen._compositor
        asked: dict[str, int] = {}
        render_lines = Widget.render_lines

        def spy(self, crop):
            asked[type(self).__name__] = asked.get(type(self).__name__, 0) + crop.height
            return render_lines(self, crop)

        monkeypatch.setattr(Widget, "render_lines", spy)
        screen = compositor.size.region
        every_row = set(range(screen.height)).__contains__
        chops = compositor._render_chops(screen, every_row)
        assert "Filled" not in asked and "Horizontal" not in asked and "Screen" not in asked
        assert asked["Ruled"] == 20  # its rule is on every row
        assert asked["Gapped"] == 2  # beside the header's margin only
        assert asked["Static"] == 20 * 3 + 2 - 2  # three columns, the header's two rows in the third
        monkeypatch.undo()
        monkeypatch.setattr(Compositor, "_get_renders", textual_own)
        theirs = compositor._render_chops(screen, every_row)
        monkeypatch.undo()
        spans = [(y, 0, screen.width - 1) for y in range(screen.height)]
        cuts = [cut_set[1:] for cut_set in compositor.cuts]
        written = ChopsUpdate(chops, spans, cuts).render_segments(app.console)
        assert written == ChopsUpdate(theirs, spans, cuts).render_segments(app.console)
        assert "filled 3" in written and "ruled 3" in written and "gapped 3" in written and "head" in written


def test_one_layout_per_resize_wraps_a_class_once():
    from textual.scrollbar import ScrollBar
    from textual.widgets._footer import FooterKey

    class Once(Static):
        pass

    compat.one_layout_per_resize(Once)
    wrapped = Once._size_updated
    compat.one_layout_per_resize(Once)
    assert Once._size_updated is wrapped
    compat.one_layout_for_textual_leaves()
    compat.one_layout_for_textual_leaves()
    for leaf in (ScrollBar, FooterKey):
        assert vars(leaf)["_size_updated"].one_layout
        assert not getattr(vars(leaf)["_size_updated"].__closure__[0].cell_contents, "one_layout", False)


class _Inner(Vertical):
    def compose(self):
        yield Static("child", id="child")

    def on_mount(self):
        self.query_one("#child")  # what compose yielded is there by on_mount


class _Quits(App):
    async def on_mount(self):
        self.mount(Vertical(_Inner()))
        await asyncio.sleep(0)  # the new widgets start composing ...
        self.exit()  # ... as the app starts removing them


async def test_a_widget_removed_while_it_mounts_gets_no_mount(monkeypatch):
    from textual.widget import Widget

    from textual.message_pump import MessagePump

    monkeypatch.setattr(Widget, "on_event", MessagePump.on_event)  # Textual's own, restored after
    with pytest.raises(NoMatches):  # Textual's own behaviour: on_mount without its children
        async with _Quits().run_test():
            pass
    compat.no_mount_while_pruned()
    compat.no_mount_while_pruned()  # idempotent
    async with _Quits().run_test():
        pass
    async with Host().run_test() as pilot:  # a widget that stays still gets its Mount
        widget = _Inner()
        await pilot.app.mount(widget)
        assert widget.query_one("#child").is_mounted and widget.is_mounted
