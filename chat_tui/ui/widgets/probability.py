"""Token probability view: an answer's tokens coloured by probability, with the alternatives.

`ProbabilityScreen(tokens)` takes log-probabilities as the stream gives them (`TokenLogprob`
objects) or as a message row stores them (dicts: token, logprob, top: [{token, logprob}]), so it
can show any answer that has them. Left/Right move a cursor over the tokens, Up/Down by line;
the side panel lists the token under the cursor and its top alternatives with probabilities.

`TokenView` lays the tokens out itself (wrapping at token boundaries) and draws with the Line
API, so it knows the line of every token (to keep the cursor in view) and an answer of thousands
of tokens costs only the lines on screen. Token text is untrusted: control characters are shown
as pictures and nothing is interpreted as markup.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Iterable

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.message import Message
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from chat_tui.core.compare import logprob_summary
from chat_tui.core.text import visible_controls
from chat_tui.ui.palette import BAND_LABELS, NONE, ProbabilityColours, cache_key, probability_colours

NEWLINE_MARK = "↵"
EMPTY_MARK = "∅"
BAR_WIDTH = 12


@dataclass(frozen=True)
class TokenItem:
    token: str
    logprob: float | None
    top: tuple[tuple[str, float], ...] = ()

    @property
    def probability(self) -> float:
        if self.logprob is None or not math.isfinite(self.logprob):
            return 0.0
        return math.exp(self.logprob)


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def token_items(items: Iterable[Any] | None) -> list[TokenItem]:
    """Stream events' `TokenLogprob`s or stored dicts, as one shape."""
    out = []
    for item in items or ():
        token = _field(item, "token")
        lp = _field(item, "logprob")
        top = []
        for alt in _field(item, "top") or _field(item, "top_logprobs") or ():
            alt_token, alt_lp = _field(alt, "token"), _field(alt, "logprob")
            if isinstance(alt_token, str) and isinstance(alt_lp, (int, float)):
                top.append((alt_token, float(alt_lp)))
        out.append(TokenItem(token if isinstance(token, str) else "", float(lp) if isinstance(lp, (int, float)) else None, tuple(top)))
    return out


def quoted(token: str) -> str:
    """A token as a readable literal: `" the"`, `"\\n"` (JSON escapes make controls visible)."""
    return visible_controls(json.dumps(token, ensure_ascii=False))


def percent(p: float) -> str:
    if p >= 0.9995:
        return "100 %"
    if p >= 0.001:
        return f"{p * 100:.1f} %"
    return f"{p * 100:.2g} %" if p > 0 else "0 %"


class TokenView(ScrollView, can_focus=True):
    """The answer as tokens, coloured by probability, with a cursor."""

    BINDINGS = [
        Binding("left", "move(-1)", "Prev token", id="probability.prev"),
        Binding("right", "move(1)", "Next token", id="probability.next"),
        Binding("up", "line(-1)", "Line up", id="probability.line_up", show=False),
        Binding("down", "line(1)", "Line down", id="probability.line_down", show=False),
        Binding("home", "jump(0)", "First", id="probability.first", show=False),
        Binding("end", "jump(-1)", "Last", id="probability.last", show=False),
        Binding("pageup", "line(-10)", "Page up", id="probability.page_up", show=False),
        Binding("pagedown", "line(10)", "Page down", id="probability.page_down", show=False),
    ]

    class CursorMoved(Message):
        def __init__(self, view: "TokenView", index: int) -> None:
            super().__init__()
            self.view = view
            self.index = index

    def __init__(self, items: list[TokenItem], **kw: Any) -> None:
        super().__init__(**kw)
        self.items = items
        self.cursor = 0
        self._width = 0
        self._lines: list[list[tuple[int, str]]] = []
        self._token_pos: list[tuple[int, int]] = []  # (line, x) of each token's first piece
        self._colours: ProbabilityColours | None = None
        self._colours_for: tuple[str, str] = ("", "")

    # -- layout ---------------------------------------------------------------------------

    def _layout(self, width: int) -> None:
        width = max(8, width)
        self._width = width
        lines: list[list[tuple[int, str]]] = [[]]
        positions: list[tuple[int, int]] = []
        x = 0
        for index, item in enumerate(self.items):
            shown = visible_controls(item.token).replace("\t", "    ")
            parts = shown.split("\n")
            first = True
            for k, part in enumerate(parts):
                if k > 0:  # a newline inside the token: a mark, then a new line
                    if x + 1 > width:
                        lines.append([])
                        x = 0
                    if first:
                        positions.append((len(lines) - 1, x))
                        first = False
                    lines[-1].append((index, NEWLINE_MARK))
                    lines.append([])
                    x = 0
                while part:
                    w = cell_len(part)
                    if x + w <= width:
                        piece, part = part, ""
                    elif x > 0 and w <= width:
                        lines.append([])
                        x = 0
                        continue
                    else:  # longer than the rest of the line: cut it
                        room = width - x
                        cut = 0
                        while cut < len(part) and cell_len(part[: cut + 1]) <= room:
                            cut += 1
                        if cut == 0:
                            lines.append([])
                            x = 0
                            continue
                        piece, part = part[:cut], part[cut:]
                    if first:
                        positions.append((len(lines) - 1, x))
                        first = False
                    lines[-1].append((index, piece))
                    x += cell_len(piece)
                    if part:
                        lines.append([])
                        x = 0
            if first:  # an empty token: still something to put the cursor on
                if x + 1 > width:
                    lines.append([])
                    x = 0
                positions.append((len(lines) - 1, x))
                lines[-1].append((index, EMPTY_MARK))
                x += 1
        self._lines = lines
        self._token_pos = positions
        self.virtual_size = Size(width, len(lines))

    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if width != self._width:
            self._layout(width)
            self.scroll_to_cursor()
            self.refresh()

    def on_mount(self) -> None:
        self._layout(self.scrollable_content_region.width or 60)

    # -- drawing --------------------------------------------------------------------------

    def _palette(self) -> ProbabilityColours:
        key = cache_key(self.app)
        if self._colours is None or key != self._colours_for:
            self._colours = probability_colours(self.app)
            self._colours_for = key
        return self._colours

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = y + scroll_y
        base = self.rich_style
        width = self.scrollable_content_region.width
        if row >= len(self._lines):
            return Strip.blank(width, base)
        palette = self._palette()
        cursor_style = Style(reverse=True, bold=True)
        segments = []
        for index, piece in self._lines[row]:
            item = self.items[index]
            style = base + palette.style(item.probability)
            if piece in (NEWLINE_MARK, EMPTY_MARK):
                style += Style(dim=True)
            if index == self.cursor:
                style += cursor_style
            segments.append(Segment(piece, style))
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, base)

    # -- the cursor -----------------------------------------------------------------------

    def set_cursor(self, index: int) -> None:
        if not self.items:
            return
        index = max(0, min(len(self.items) - 1, index))
        self.cursor = index
        self.scroll_to_cursor()
        self.refresh()  # only the lines on screen are drawn again
        self.post_message(self.CursorMoved(self, index))

    def scroll_to_cursor(self) -> None:
        if self.cursor >= len(self._token_pos):
            return
        line = self._token_pos[self.cursor][0]
        top = int(self.scroll_offset.y)
        height = self.scrollable_content_region.height
        if line < top:
            self.scroll_to(y=line, animate=False)
        elif height and line >= top + height:
            self.scroll_to(y=line - height + 1, animate=False)

    def action_move(self, step: int) -> None:
        self.set_cursor(self.cursor + step)

    def action_jump(self, where: int) -> None:
        self.set_cursor(where if where >= 0 else len(self.items) - 1)

    def action_line(self, step: int) -> None:
        if not self._token_pos:
            return
        line, x = self._token_pos[self.cursor]
        target = max(0, min(len(self._lines) - 1, line + step))
        if target == line:
            self.set_cursor(0 if step < 0 else len(self.items) - 1)
            return
        best = None
        for index, (tl, tx) in enumerate(self._token_pos):
            if tl == target and (best is None or tx <= x):
                best = index
            elif tl > target:
                break
        if best is None:  # the target line only continues a long token
            best = next((i for i, (tl, _) in enumerate(self._token_pos) if tl >= target), len(self.items) - 1)
        self.set_cursor(best)

    def on_click(self, event: events.Click) -> None:
        row = event.y + int(self.scroll_offset.y)
        if not 0 <= row < len(self._lines):
            return
        x = 0
        for index, piece in self._lines[row]:
            x += cell_len(piece)
            if event.x < x:
                self.set_cursor(index)
                return


def alternatives_text(item: TokenItem | None, colours: ProbabilityColours | None = None) -> Text:
    """The side panel: the token, its probability, and the alternatives the server sent."""
    text = Text()
    if item is None:
        text.append("no token", style="dim")
        return text
    text.append("token ", style="dim")
    text.append(quoted(item.token), style="bold")
    text.append(f"\np {percent(item.probability)}", style=colours.style(item.probability) if colours else "")
    if item.logprob is not None:
        text.append(f"   logprob {item.logprob:.3f}", style="dim")
    text.append("\n\n")
    if not item.top:
        text.append("no alternatives were sent\n(ask with top_logprobs > 0)", style="dim")
        return text
    text.append("top alternatives\n", style="bold")
    width = max(cell_len(quoted(t)) for t, _ in item.top)
    width = min(width, 18)
    for rank, (token, lp) in enumerate(item.top, 1):
        p = math.exp(lp) if math.isfinite(lp) else 0.0
        shown = quoted(token)
        if cell_len(shown) > width:
            shown = shown[: width - 1] + "…"
        chosen = token == item.token
        line = Text(f"{rank:>2} ")
        line.append(shown.ljust(width), style="bold" if chosen else "")
        line.append(f" {percent(p):>7} ", style=colours.style(p) if colours else "")
        line.append("█" * max(1 if p > 0 else 0, round(p * BAR_WIDTH)), style=colours.style(p) if colours else "")
        if chosen:
            line.append(" ◀", style="bold")
        text.append_text(line)
        text.append("\n")
    return text


def legend(colours: ProbabilityColours) -> Text:
    """What the styles mean: a coloured square per band, or without colour the band's label in
    its own text style."""
    if colours.palette == NONE:
        text = Text("style = probability: ")
        for label, p in zip(BAND_LABELS, (0.95, 0.7, 0.35, 0.05)):
            text.append(label, style=colours.style(p))
            text.append("  ")
        return text
    text = Text("colour = probability: ", style="dim")
    for label, p in zip(BAND_LABELS, (0.95, 0.7, 0.35, 0.05)):
        text.append("■ ", style=colours.style(p))
        text.append(label + "  ", style="dim")
    return text


class ProbabilityScreen(ModalScreen[None]):
    """The probability view of one answer. Escape closes."""

    CSS_PATH = "../styles/compare.tcss"
    BINDINGS = [Binding("escape,q", "dismiss_none", "Close", id="probability.close")]

    def __init__(self, tokens: Iterable[Any], *, title: str = "", summary: str | None = None) -> None:
        super().__init__()
        self.items = token_items(tokens)
        self.title_text = title
        if summary is None:
            found = logprob_summary([{"logprob": i.logprob} for i in self.items])
            summary = f"{len(self.items)} tokens · {found}" if found else "no log-probabilities"
        self.summary = summary

    def compose(self) -> ComposeResult:
        with Vertical(id="prob-dialog"):
            yield Static(Text(visible_controls(self.title_text or "Token probabilities"), style="bold"), id="prob-title", markup=False)
            yield Static(Text(visible_controls(self.summary)), id="prob-summary", markup=False)
            yield Static("", id="prob-legend", markup=False)
            with Horizontal(id="prob-body"):
                yield TokenView(self.items, id="prob-tokens")
                yield Static("", id="prob-alternatives", markup=False)
            yield Static(Text("←/→ token · ↑/↓ line · Home/End · click a token · Escape closes", style="dim"), id="prob-hint", markup=False)

    def on_mount(self) -> None:
        view = self.query_one(TokenView)
        view.focus()
        colours = view._palette()
        self.query_one("#prob-legend", Static).update(legend(colours))
        self._show(0)

    def _show(self, index: int) -> None:
        view = self.query_one(TokenView)
        item = self.items[index] if 0 <= index < len(self.items) else None
        panel = self.query_one("#prob-alternatives", Static)
        head = Text(f"token {index + 1} of {len(self.items)}\n", style="dim") if item else Text()
        panel.update(head + alternatives_text(item, view._palette()))

    def on_token_view_cursor_moved(self, event: TokenView.CursorMoved) -> None:
        self._show(event.index)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
