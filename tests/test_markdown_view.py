"""MarkdownView: blocks cut at the right places, rendered lazily, heights estimated then exact,
and what is on screen never moves when an estimate is corrected."""

from __future__ import annotations

import asyncio
import io
import random

import pytest
from rich.console import Console
from rich.markdown import Markdown
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from chat_tui.ui import markdown_blocks
from chat_tui.ui.markdown_blocks import CODE_THEME, FENCE_SPLIT_AT, FREEZE_AT, estimate_lines, freeze, split_point
from chat_tui.ui.widgets.markdown_view import MarkdownView

WORDS = "stream widget buffer session cache latency token keyboard queue thread model terminal".split()


def document(sections: int = 24, seed: int = 7) -> str:
    """A long answer with every kind of block Rich renders differently."""
    rnd = random.Random(seed)

    def sentence() -> str:
        return " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(6, 18))).capitalize() + "."

    parts = ["# A long answer\n"]
    for n in range(sections):
        parts.append(f"## Section {n}\n")
        parts.append(" ".join(sentence() for _ in range(rnd.randint(2, 6))) + "\n")
        kind = n % 4
        if kind == 0:
            body = "\n".join(f"    x{i} = {' + '.join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 9)))}" for i in range(rnd.randint(3, 9)))
            parts.append(f"```python\ndef f():\n{body}\n```\n")
        elif kind == 1:
            parts.append("\n".join(f"- {sentence()}" for _ in range(rnd.randint(2, 5))) + "\n")
        elif kind == 2:
            rows = "\n".join(f"| {rnd.choice(WORDS)} | {rnd.randint(1, 9999)} |" for _ in range(rnd.randint(2, 6)))
            parts.append(f"| name | value |\n| --- | ---: |\n{rows}\n")
        else:
            parts.append("\n".join(f"{i}. {sentence()}" for i in range(1, rnd.randint(3, 5))) + "\n")
    return "\n".join(parts)


def rich_lines(text: str, width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    segments = console.render(Markdown(text, code_theme=CODE_THEME, hyperlinks=False), console.options.update(width=width))
    return ["".join(s.text for s in line).rstrip() for line in Segment.split_and_crop_lines(segments, width, pad=False)]


# -- cutting the text into blocks ---------------------------------------------------------------


def test_freeze_cuts_at_blank_lines_outside_code_and_keeps_every_character():
    text = document(sections=40)
    heads, tail = freeze(text)
    assert len(heads) >= len(text) // (2 * FREEZE_AT)
    assert "".join(heads) + tail == text  # no fence was long enough to be split
    for head in heads:
        assert head.endswith("\n\n") or head.endswith("```\n")  # a paragraph or a fence ends there
        assert head.count("```") % 2 == 0  # never inside a code block
        assert len(head) <= 2 * FREEZE_AT


def test_a_very_long_code_block_is_closed_and_reopened():
    code = "\n".join(f"line_{i} = {i} * 2" for i in range(1200))
    text = f"Intro.\n\n```python\n{code}\n"  # still open: the answer is streaming
    assert len(text) > FENCE_SPLIT_AT
    index, closing, reopening = split_point(text)
    assert closing == "```\n" and reopening == "```python\n"
    head, tail = text[:index] + closing, reopening + text[index:]
    assert head.count("```") == 2 and tail.startswith("```python\n")
    assert (head[: -len(closing)] + tail[len(reopening):]) == text


def test_no_cut_inside_a_short_open_fence():
    text = "Before.\n\n```\ncode\n\nmore code\n"
    assert split_point(text) == (len("Before.\n\n"), "", "")


# -- estimated heights ----------------------------------------------------------------------------


@pytest.mark.parametrize("width", [30, 46, 80, 120, 156])
def test_estimates_are_close_to_what_rich_renders(width):
    heads, tail = freeze(document())
    blocks = [*heads, tail]
    real = [len(rich_lines(b, width)) for b in blocks]
    estimated = [estimate_lines(b, width) for b in blocks]
    assert abs(sum(estimated) - sum(real)) <= 0.08 * sum(real), (sum(estimated), sum(real))
    for e, r in zip(estimated, real):
        assert abs(e - r) <= max(3, 0.2 * r), (e, r)


# -- the widget -----------------------------------------------------------------------------------


class ViewApp(App):
    CSS = "VerticalScroll { height: 1fr; } MarkdownView { height: auto; }"

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield MarkdownView(self.text)


def shown(app: App) -> list[str]:
    """The view's lines on screen (without the scroll bar, which moves as heights change)."""
    width = app.query_one(MarkdownView).size.width
    return [strip.text[:width].rstrip() for strip in app.screen._compositor.render_strips()]


async def wait_for(pilot, condition, what: str) -> None:
    for _ in range(200):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def test_only_a_screenful_is_rendered_then_every_height_becomes_exact():
    text = document(sections=80)
    app = ViewApp(text)
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(MarkdownView)
        scroller = app.query_one(VerticalScroll)
        await pilot.pause()
        blocks = view._frozen
        width = view.size.width  # the scroll bar takes its share
        assert len(blocks) > 8
        # The first frame renders the last screenful only (and what is painted: the top).
        rendered = [b.exact_height(width) is not None for b in blocks]
        assert not all(rendered) and rendered[-1]
        # Left alone, every block is measured, a block per turn of the event loop.
        await wait_for(pilot, lambda: all(b.exact_height(width) is not None for b in view._frozen), "the measure pass")
        await pilot.pause()
        expected = rich_lines(text, width)
        assert view.line_count == sum(len(rich_lines(b.text, width)) for b in [*blocks, view._tail])
        # Whatever the view scrolls to shows the document's own lines.
        scroller.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert shown(app)[-1] == rich_lines(view._tail.text, width)[-1]
        scroller.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        assert shown(app)[:3] == expected[:3]


async def test_text_being_read_stays_put_when_estimates_above_it_are_corrected(monkeypatch):
    # Deliberately poor estimates, so that correcting them moves everything below.
    monkeypatch.setattr(markdown_blocks, "estimate_lines", lambda text, width: 2)
    text = document(sections=30)
    app = ViewApp(text)
    async with app.run_test(size=(80, 16)) as pilot:
        view = app.query_one(MarkdownView)
        scroller = app.query_one(VerticalScroll)
        view._measure_later = lambda: None  # no pass on its own: the test starts it
        await pilot.pause()
        scroller.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        # Read somewhere near the end, with estimated blocks above.
        scroller.scroll_to(y=scroller.scroll_y - 10, animate=False, immediate=True)
        await pilot.pause()
        before = shown(app)
        width = view.size.width
        assert any(b.exact_height(width) is None for b in view._frozen)
        await view._measure_blocks()
        await pilot.pause()
        await pilot.pause()
        assert all(b.exact_height(width) is not None for b in view._frozen)
        assert shown(app) == before


async def test_appending_a_burst_renders_the_end_and_follows_it():
    app = ViewApp("")
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(MarkdownView)
        scroller = app.query_one(VerticalScroll)
        scroller.anchor()
        text = document(sections=30)
        await view.append(text[:100])
        await pilot.pause()
        await view.append(text[100:])
        await pilot.pause()
        await pilot.pause()
        assert view.source == text
        width = view.size.width
        assert not all(b.exact_height(width) is not None for b in view._frozen)  # the top is estimated
        lines = rich_lines(view._tail.text, width)
        assert shown(app)[-1] == lines[-1]


async def test_a_new_width_renders_again():
    text = document(sections=8)
    app = ViewApp(text)
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(MarkdownView)
        await pilot.pause()
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        await pilot.pause()
        scroller = app.query_one(VerticalScroll)
        scroller.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        width = view.size.width
        assert shown(app)[:2] == rich_lines(text, width)[:2]


# -- streaming: room to grow into, and only the changed lines repainted ---------------------------


async def test_a_streaming_answer_grows_in_steps_and_fills_its_room_without_a_layout():
    app = ViewApp("")
    async with app.run_test(size=(80, 40)) as pilot:
        view = app.query_one(MarkdownView)
        view.set_growth(8)
        layouts: list[bool] = []
        original = view.refresh

        def spy(*regions, **kw):
            layouts.append(bool(kw.get("layout")))
            return original(*regions, **kw)

        view.refresh = spy
        heights = []
        for i in range(12):  # a line at a time, each its own paragraph
            await view.append(f"line {i} of the answer\n\n")
            await pilot.pause()
            heights.append(view.size.height)
        text_lines = view.line_count
        # The widget is taller than its text, by at most the room, and changed height a few
        # times only: each text line that fitted in the room was a repaint, not a layout.
        assert text_lines < heights[-1] <= text_lines + 8
        assert len(set(heights)) <= 12 * 2 // 8 + 1
        assert layouts.count(True) == len(set(heights))
        assert layouts.count(False) >= 12 - layouts.count(True)
        # The room is blank; the text's own lines are on screen as Rich renders them.
        assert shown(app)[text_lines - 1].startswith("line 11")
        assert all(not line.strip() for line in shown(app)[text_lines:heights[-1]])
        # The answer ends: as tall as its text again.
        view.set_growth(0)
        await pilot.pause()
        await pilot.pause()
        assert view.size.height == text_lines


async def test_a_word_added_to_a_paragraph_repaints_its_last_line_only():
    text = "A paragraph that wraps " * 12  # several lines at 40 columns
    app = ViewApp(text)
    async with app.run_test(size=(40, 30)) as pilot:
        view = app.query_one(MarkdownView)
        view.set_growth(4)
        await view.append("and ")  # the first append makes the room
        await pilot.pause()
        regions = []
        original = view.refresh

        def spy(*rs, **kw):
            regions.extend(rs)
            return original(*rs, **kw)

        view.refresh = spy
        lines = view.line_count
        assert lines >= 5
        await view.append("more")
        assert len(regions) == 1 and regions[0].y == lines - 1 and regions[0].height == 1


async def test_only_feeders_given_growth_make_room():
    from chat_tui.ui.streaming import GROWTH, MarkdownFeeder

    app = ViewApp("")
    async with app.run_test(size=(80, 40)) as pilot:
        view = app.query_one(MarkdownView)
        small = MarkdownFeeder(view)  # a thought, a tool call's arguments: no blank gap under them
        small.write("a thought\n\n")
        assert view._growth == 0
        await small.close()
        await pilot.pause()
        assert view.size.height == view.line_count
        answer = MarkdownFeeder(view, growth=GROWTH)  # an answer, a lane
        answer.write("an answer\n\n")
        assert view._growth == GROWTH
        await answer.flush()
        await pilot.pause()
        assert 0 < view.size.height - view.line_count <= GROWTH
        await answer.close()
        await pilot.pause()
        await pilot.pause()
        assert view._growth == 0 and view.size.height == view.line_count


async def test_the_room_is_at_most_half_of_a_short_view():
    app = ViewApp("")
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(MarkdownView)
        view.set_growth(16)
        await view.append("first line\n\n")
        await pilot.pause()
        await pilot.pause()
        assert 0 < view.size.height - view.line_count <= 12 // 2


async def test_an_ended_stream_shows_its_last_text_without_waiting_out_the_beat():
    from chat_tui.ui.streaming import MarkdownFeeder

    app = ViewApp("")
    async with app.run_test(size=(80, 20)):
        view = app.query_one(MarkdownView)
        feeder = MarkdownFeeder(view, min_interval=30)  # a beat every 30 s: the wait is the pause's
        appended = asyncio.Event()
        feeder._on_flush = appended.set
        feeder.write("first words ")
        await asyncio.wait_for(appended.wait(), 5)  # the first beat is at once
        appended.clear()
        feeder.write("and the last ZZEND")
        feeder.ending()  # the finish reason came
        await asyncio.wait_for(appended.wait(), 5)  # not 30 s
        assert view.source == "first words and the last ZZEND"
        feeder.ending()  # nothing pending: no beat is hurried
        assert not feeder._clock._hurry.is_set()
        await feeder.close()


async def test_a_lane_s_growing_text_scrolls_it_without_laying_out_the_screen(monkeypatch):
    """A compare lane (MarkdownScroll, as tall as its column) follows the end of its text as the
    text grows, and the screen is not laid out for it: only its scroll range changes (the scroll
    bar appearing is the one layout). With `height: auto` the text's height is the widget's, so
    the screen is laid out as before."""
    from textual.screen import Screen

    from chat_tui.ui.widgets.markdown_view import MarkdownScroll

    class Lane(App):
        CSS = "#fixed { height: 1fr; } #auto { height: auto; max-height: 12; }"

        def compose(self) -> ComposeResult:
            yield MarkdownScroll(id="fixed")
            yield MarkdownScroll(id="auto")

    app = Lane()
    async with app.run_test(size=(60, 30)) as pilot:
        fixed, auto = app.query_one("#fixed", MarkdownScroll), app.query_one("#auto", MarkdownScroll)
        fixed.anchor()
        await pilot.pause()
        layouts: list[int] = []
        own = Screen._refresh_layout

        def counted(self, *args, **kw):
            layouts.append(1)
            return own(self, *args, **kw)

        monkeypatch.setattr(Screen, "_refresh_layout", counted)
        for i in range(40):
            await fixed.append(f"Paragraph {i} of the lane.\n\n")
            await pilot.pause()
        assert fixed.virtual_size.height > fixed.size.height
        assert len(layouts) <= 2, len(layouts)  # the scroll bar's; 40 before (one per growth)
        assert fixed.scroll_y == fixed.max_scroll_y > 0  # following the end
        shown = [fixed.line_text(int(fixed.scroll_y) + y) for y in range(fixed.size.height)]
        assert any("Paragraph 39 of the lane." in line for line in shown), shown
        layouts.clear()
        await auto.append("One.\n\nTwo.\n\nThree.")
        await pilot.pause()
        assert layouts and auto.size.height == auto.virtual_size.height == 5
