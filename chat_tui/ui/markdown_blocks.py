"""The parts of a Markdown answer that `MarkdownView` draws: where to cut the text into blocks,
how to render a block with Rich, and how tall a block will be before it is rendered.

Safety: the text is untrusted. Control characters are made visible before rendering, Rich's
Markdown never interprets console markup, and hyperlinks are off (a `file://` link stays text).
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style as RichStyle

from chat_tui.core.text import visible_controls
from chat_tui.ui.compat import current_app, rich_markdown
from chat_tui.ui.source_map import LineMap, align

FREEZE_AT = 512  # characters of tail before a finished part is frozen into a block
FENCE_SPLIT_AT = 8192  # text with no blank line for longer than this (code, a table) is cut at a line
LONG_LINE = 2048  # a longer line is cut into pieces (FREEZE_AT in code)
TABLE_ROWS = 128  # a longer table is cut between rows, its header repeated (Rich renders row by row)
REOPEN_MAX = 512  # the longest fence line or table header repeated after a cut
MAX_BLOCK = FENCE_SPLIT_AT + REOPEN_MAX  # no block's Markdown is longer, whatever the text
CODE_THEME = "monokai"

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,9}[.)])\s+")
_ITEM = re.compile(r" {0,3}(?:[-*+]|(\d{1,9})[.)])(?:[ \t]|$)")
_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
_QUOTE_MARKS = re.compile(r"(?: {0,3}> ?)+")
_CELL_SEPARATOR = re.compile(r"(?<!\\)\|")
_TABLE_DELIMITER = re.compile(r" {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_LIST_NUMBER = re.compile(r"\d{1,9}(?:[.)](?:[ \t\n]|$)|$)")  # "12. " starts a list; "12" may yet
_ITEM_MARKS = frozenset("-*+0123456789")
_BLOCK_MARKS = frozenset("#>-+*=_`~<[|")  # what a block starting with them could turn into more than text
_JOINERS = frozenset("\u200c\u200d")
_TRIES = 64  # places looked at for a cut inside a line before cutting anywhere
_WINDOW = FENCE_SPLIT_AT + LONG_LINE + 1  # what one cut reads of the text
_SAMPLE = 512  # characters of a long line measured for an estimate


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
    markdown = rich_markdown(visible_controls(text), code_theme=CODE_THEME, hyperlinks=False)
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
                lines += max(1, math.ceil(_width(raw.expandtabs(4)) / max(width - 2, 1)))
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
            lines += max(1, math.ceil(_width(line) * 1.05 / max(width - indent, 1)))
        previous = kind
    return lines


def _width(line: str) -> int:
    """About `cell_len(line)`, at a bounded cost: a long line is all one-cell characters if it is
    ASCII, else it is measured on a sample (Rich's cell_len looks up every character)."""
    if len(line) <= _SAMPLE:
        return cell_len(line)
    if line.isascii():
        return len(line)
    third, middle = _SAMPLE // 3, len(line) // 2
    sample = line[:third] + line[middle : middle + third] + line[-third:]
    return round(cell_len(sample) * len(line) / len(sample))


class Block:
    """A part of the text: its lines at one width and style, and its exact height per width once
    rendered (kept after the lines are dropped)."""

    __slots__ = ("text", "start", "lead", "length", "_key", "lines", "generation", "_heights", "_estimates", "_map")

    def __init__(self, text: str, start: int = 0, lead: int = 0, length: int | None = None) -> None:
        self.text = text
        # Where its characters are in the whole answer: text[lead:lead + length] is
        # answer[start:start + length]; what is around it was added by the cut (a fence reopened).
        self.start = start
        self.lead = lead
        self.length = len(text) - lead if length is None else length
        self._key: tuple[int, RichStyle | None] | None = None
        self.lines: list[Line] = []
        self.generation = 0  # bumped whenever `lines` are replaced
        self._heights: dict[int, int] = {}  # exact, by width
        self._estimates: dict[int, int] = {}
        self._map: tuple[int, int, int, list[LineMap]] | None = None  # for (generation, start, lead)

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

    def source_map(self) -> list[LineMap]:
        """Per rendered line, the offset in the whole answer of each character (-1: drawn by
        the renderer, or added by the cut). Worked out when a selection needs it, not when
        painting; kept until the lines change."""
        if self._map is None or self._map[:3] != (self.generation, self.start, self.lead):
            plain = ["".join(segment.text for segment in line) for line in self.lines]
            first, last = self.lead, self.lead + self.length
            shift = self.start - self.lead
            maps = [[o + shift if first <= o < last else -1 for o in line] for line in align(plain, self.text)]
            self._map = (self.generation, self.start, self.lead, maps)
        return self._map[3]

    def set_text(self, text: str, start: int | None = None, lead: int = 0, length: int | None = None) -> None:
        if start is not None:
            self.start, self.lead = start, lead
            self.length = len(text) - lead if length is None else length
        if text != self.text:
            self.text = text
            self._key = None
            self.lines = []
            self.generation += 1
            self._heights.clear()
            self._estimates.clear()


class Piece(NamedTuple):
    """A block as cut from the text: `source` is the text's own characters; `opening` and
    `closing` are Markdown put around them where the cut fell inside something (a code fence
    closed and reopened, a table's header repeated, a quote's marker)."""

    opening: str
    source: str
    closing: str = ""

    @property
    def markdown(self) -> str:
        return self.opening + self.source + self.closing


def split_point(text: str) -> tuple[int, str, str]:
    """Where `text` can be cut into a finished head and an open tail.

    Returns (index, closing, reopening): head = text[:index] + closing, tail = reopening +
    text[index:]. index 0 means no cut. Only the first FENCE_SPLIT_AT characters (and the line
    running past them) are read: a head is never longer than that plus its closing, whatever the
    text, and finding a cut costs the same however long the text is. In order of preference:

    - a line longer than LONG_LINE (FREEZE_AT in a fence: highlighting costs more) is cut: at the
      last blank line before it, else just before it, else inside it (see `_cut_in_line`);
    - in a code fence running on past FENCE_SPLIT_AT after the last blank line: its last line
      end, closing the fence and reopening it in the tail;
    - the last blank line outside a code fence;
    - a table's row after TABLE_ROWS others, its header repeated;
    - text running on past FENCE_SPLIT_AT with no blank line (a table, a list, a paragraph of
      short lines): the last line where a block can start (a table's header is repeated).
    """
    n = len(text)
    fence = ""  # the opening marker while inside a fence
    fence_line = ""
    body = 0  # where the open fence's code begins
    last_blank = 0
    fence_cut = 0  # the last line start inside the open fence (not its closing line)
    starts: list[_Start] = []  # the lines outside fences, for `_line_cut`
    table: str | None = None  # while in a table: its header and delimiter rows
    rows = 0
    previous = ""  # the line before, while it could be a table's header
    in_list = False
    indented = True  # an indented line here would be (or go on with) indented code
    pos = 0
    while pos < n and pos < FENCE_SPLIT_AT:
        limit = FREEZE_AT if fence else LONG_LINE
        newline = text.find("\n", pos, pos + limit + 1)
        if newline < 0 and n > pos + limit:  # a long line
            stop = min(pos + limit, FENCE_SPLIT_AT)
            if fence:
                cut = pos if pos > body else _cut_in_line(text, pos, stop, code=True)
                return cut, _closing(fence, mid_line=cut > pos), _reopening(fence, fence_line)
            if last_blank:
                return last_blank, "", ""
            if pos:
                start, reopening = _block_start(text, pos, text[pos : pos + 16], table, rows, in_list, indented)
                if start:
                    return pos, "", reopening
            quote = _QUOTE_MARKS.match(text, pos, pos + 64)
            return _cut_in_line(text, pos, stop, code=False), "", quote.group() if quote else ""
        end = newline + 1 if newline >= 0 else n
        line = text[pos:newline] if newline >= 0 else text[pos:]
        content = line.lstrip(" \t")
        first = content[:1]
        if fence:
            if first == fence[0]:
                match = _FENCE.match(line)
                if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) and not match.group(2).strip():
                    fence, fence_cut = "", 0
                    # A blank line may follow; until then the point after the fence is a fine cut.
                    if newline >= 0 and end <= FENCE_SPLIT_AT:
                        last_blank = end
                elif pos > body and (newline >= 0 or line.strip(" \t" + fence[0])):  # not a closing line yet to come
                    fence_cut = pos
            elif pos > body:
                fence_cut = pos
        elif not content:
            if newline >= 0 and end <= FENCE_SPLIT_AT:
                last_blank = end
            table, previous, in_list, indented = None, "", False, True
        elif first in ("`", "~") and (match := _FENCE.match(line)):
            starts.append((pos, "fence", None, 0, False, False))
            fence, fence_line, body, fence_cut = match.group(1), line.lstrip(), end, 0
            table, previous, in_list, indented = None, "", False, False
        else:
            if table is not None and "|" not in line:
                table = None  # a line without a cell ends the table
            elif table is not None and rows >= TABLE_ROWS:
                return pos, "", table
            opens_table = table is None and previous != "" and _is_table(previous, line)
            starts.append((pos, "rule" if opens_table else "line", table, rows, in_list, indented))
            if table is not None:
                rows += 1
            elif opens_table:
                header = previous + "\n" + line + "\n"
                table, rows = (header if len(header) <= REOPEN_MAX else ""), 0
            previous = line if "|" in line else ""
            if first in _ITEM_MARKS:
                in_list = in_list or bool(_ITEM.match(line))
            elif first in ("#", ">"):
                in_list = False
            indented = indented and line.startswith(("    ", "\t"))
        pos = end
    if fence and fence_cut > last_blank and n - last_blank > FENCE_SPLIT_AT:
        return fence_cut, _closing(fence), _reopening(fence, fence_line)
    if last_blank:
        return last_blank, "", ""
    if n > FENCE_SPLIT_AT:
        return _line_cut(text, starts, fence_cut, fence, fence_line)
    return 0, "", ""


_Start = tuple[int, str, "str | None", int, bool, bool]  # a line: where, kind, and the state before it


def _line_cut(text: str, starts: list[_Start], fence_cut: int, fence: str, fence_line: str) -> tuple[int, str, str]:
    """The last line a block can start at: in the open fence (closed and reopened), or outside
    (see `_block_start`); else the last line start of any kind."""
    for pos, kind, table, rows, in_list, indented in reversed(starts):
        if pos <= fence_cut or not pos:
            break
        if kind != "line":  # a fence always starts a block; a table's delimiter row never does
            if kind == "fence":
                return pos, "", ""
            continue
        newline = text.find("\n", pos, pos + LONG_LINE)
        start, reopening = _block_start(text, pos, text[pos:newline] if newline >= 0 else text[pos:], table, rows, in_list, indented)
        if start:
            return pos, "", reopening
    if fence_cut:
        return fence_cut, _closing(fence), _reopening(fence, fence_line)
    return (starts[-1][0] if starts else 0), "", ""


def _closing(fence: str, *, mid_line: bool = False) -> str:
    # An unclosed fence ends with its block anyway: a marker too long to repeat is left out.
    if len(fence) + 2 > REOPEN_MAX:
        return ""
    return ("\n" if mid_line else "") + fence + "\n"


def _reopening(fence: str, fence_line: str) -> str:
    if len(fence_line) < REOPEN_MAX:
        return fence_line + "\n"
    return fence[: REOPEN_MAX - 1] + "\n"  # an info string too long to repeat is left out


def _block_start(text: str, pos: int, line: str, table: str | None, rows: int, in_list: bool, indented: bool) -> tuple[bool, str]:
    """Whether a block starting at `line` (at text[pos], outside fences) shows it as it was,
    and what to reopen it with: a table row after another gets its table's header again."""
    if table is not None:
        return rows > 0, table
    if line.startswith(("    ", "\t")):
        return indented, ""  # indented code goes on; a paragraph's indented line would become code
    item = _ITEM.match(line)
    if item:  # a list goes on; only a "1." interrupts a paragraph
        return not item.group(1) or item.group(1) == "1" or in_list, ""
    if _HEADING.match(line) or _QUOTE_MARKS.match(line) or line.lstrip(" ").startswith("|"):
        return True, ""
    return _starts_text(text, pos + len(line) - len(line.lstrip(" "))), ""


def _is_table(header: str, rule: str) -> bool:
    """Whether the two lines open a table: a delimiter row with as many cells as the header."""
    return "|" in rule and bool(_TABLE_DELIMITER.match(rule)) and _cells(header) == _cells(rule)


def _cells(row: str) -> int:
    """How many cells a table row has (a pipe after a backslash is text)."""
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return len(_CELL_SEPARATOR.split(row))


def _starts_text(text: str, i: int) -> bool:
    """Whether a block starting at text[i] begins as plain paragraph text: nothing there that
    Markdown reads as a heading, list, quote, fence, rule, table, HTML or indented code."""
    ch = text[i : i + 1]
    if not ch or ch.isspace() or ch in _BLOCK_MARKS or not _separable(text, i):
        return False
    return not (ch.isdigit() and _LIST_NUMBER.match(text, i))


def _separable(text: str, i: int) -> bool:
    """Whether a cut before text[i] keeps every character whole (not an accent from its letter,
    nor a part of an emoji sequence from the rest)."""
    ch = text[i]
    return not (
        unicodedata.category(ch)[0] == "M"
        or ch in _JOINERS
        or text[i - 1] in _JOINERS
        or "\U0001f3fb" <= ch <= "\U0001f3ff"  # skin tones
        or ("\U0001f1e6" <= ch <= "\U0001f1ff" and "\U0001f1e6" <= text[i - 1] <= "\U0001f1ff")  # flags
    )


def _cut_in_line(text: str, lo: int, hi: int, *, code: bool) -> int:
    """Where to cut a long line inside text[lo:hi] (lo < cut <= hi): after its last space that
    leaves the rest reading as it did (plain text; in code, anything but a fence marker), else
    between two characters that allow it, else at hi."""

    def fits(i: int) -> bool:
        if code:
            return text[i] not in " \t`~" and _separable(text, i)
        return _starts_text(text, i)

    space = hi
    for _ in range(_TRIES):
        space = text.rfind(" ", lo, space)
        if space < 0:
            break
        if fits(space + 1):
            return space + 1
    for i in range(hi, max(lo, hi - _TRIES), -1):
        if fits(i):
            return i
    return hi


def pieces(text: str, opening: str = "") -> list[Piece]:
    """`text` cut into blocks (`opening` put before the first, as left by an earlier cut); the
    last one is the open tail. The sources, joined, are `text` exactly. O(len(text)): each cut
    reads a bounded window."""
    out: list[Piece] = []
    start = 0
    while len(opening) + len(text) - start > FREEZE_AT:
        window = opening + text[start : start + _WINDOW]
        # Cut near FREEZE_AT, not at the last possible place: a burst of text becomes several
        # small blocks, each cheap to render (and re-render on resize), not one big one.
        index, closing, reopening = split_point(window[: 2 * FREEZE_AT])
        if index <= len(opening):
            index, closing, reopening = split_point(window)
        if index <= len(opening) and len(window) > FENCE_SPLIT_AT:  # never reached, but for a bound
            index, closing, reopening = _cut_in_line(window, len(opening), FENCE_SPLIT_AT, code=False), "", ""
        if index <= len(opening):  # no cut, or none past what the block was reopened with
            break
        out.append(Piece(opening, window[len(opening) : index], closing))
        start += index - len(opening)
        opening = reopening
    out.append(Piece(opening, text[start:]))
    return out


def freeze(tail: str) -> tuple[list[str], str]:
    """Cut the finished parts off a growing text: (frozen heads, what stays open)."""
    *heads, rest = pieces(tail)
    return [head.markdown for head in heads if head.markdown.strip()], rest.markdown
