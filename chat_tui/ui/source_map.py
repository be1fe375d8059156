"""From rendered Markdown back to its source: which source character each rendered character
shows, and the source text of a selected range of rendered lines.

Rich renders Markdown without saying where each character came from, so the rendered lines are
aligned with the source afterwards, word by word, reading both forwards. A rendered word is
looked for in the source after the previous one; what the renderer left out in between (`**`,
`#`, a fence line, a table's pipes, a link's brackets) may be skipped freely, other text (an
HTML tag, an entity's name) only when no closer match exists. What the renderer adds (bullets,
a list's numbers, quote bars, rules) is found nowhere near and stays unmapped. Each rendered
line costs a few `str.find`s in a bounded window, so aligning a block is linear in its size.

Nothing here knows about Textual or Rich: lines come in as plain strings (what a selection's
offsets count), the source as the block's Markdown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

# What Markdown may leave out of the rendered text between two words: white space and markup.
_MARKUP = re.compile(r"[\s*_~`#>|\-+=:.!\\\[\]()<]*")
_WORD = re.compile(r"\S+")
# Drawn by the renderer, never typed: bullets, quote bars, rules, box lines, the image sign.
_DRAWN = frozenset("•◦▪▸▌│┃─━┏┓┗┛┡┩╇╈┣┫┳┻╋├┤┬┴┼═║╔╗╚╝🌆")
WINDOW = 1024  # how far ahead a rendered word is looked for
_SHORT = 16  # a character inside a word: looked for this far past the previous one
# A source line's start that the rendered line does not show: indentation, heading, list and
# quote markers, a task box, a table's first pipe, the opening of emphasis or code.
_LINE_PREFIX = re.compile(r"[ \t>]*(?:#{1,6}[ \t]+|[*+\-][ \t]+|\d{1,9}[.)][ \t]+)?(?:\[[ xX]\][ \t]+)?[ \t|*_~`\[!]*")
_LINE_SUFFIX = re.compile(r"[ \t|*_~`\\]*")  # and its end: closing emphasis, a table's last pipe
_MARKS = "*_~`"
_OPENING = _MARKS + "[!"  # a link's or an image's bracket opens before its text
_CLOSER = str.maketrans("[", "]", "!")

LineMap = list[int]  # per character of a rendered line: its offset in the source, or -1


def align(lines: Sequence[str], source: str) -> list[LineMap]:
    """For each rendered line, the source offset of each of its characters (-1: not in the
    source). Offsets only grow from one mapped character to the next."""
    pos = 0
    maps: list[LineMap] = []
    for line in lines:
        offsets = [-1] * len(line)
        for match in _WORD.finditer(line):
            word, at = match.group(), match.start()
            if _DRAWN.intersection(word):
                word = "".join(" " if ch in _DRAWN else ch for ch in word)
                for part in _WORD.finditer(word):
                    pos = _place(part.group(), at + part.start(), source, pos, offsets)
            else:
                pos = _place(word, at, source, pos, offsets)
        maps.append(offsets)
    return maps


def _place(word: str, at: int, source: str, pos: int, offsets: LineMap) -> int:
    """Map `word` (at column `at` of its line) onto the source after `pos`; the new `pos`."""
    free = _MARKUP.match(source, pos).end()  # the markup right here may be skipped
    found = source.find(word, pos, free + len(word))
    if found >= 0:
        return _fill(offsets, at, found, len(word))
    # Markup inside the word ("**bold**,", "a\*b"): a character at a time, markup skipped.
    placed = pos
    hits = 0
    for i, ch in enumerate(word):
        limit = _MARKUP.match(source, placed).end() + 1
        found = source.find(ch, placed, min(limit, placed + _SHORT))
        if found < 0:
            continue
        offsets[at + i] = found
        placed = found + 1
        hits += 1
    if hits * 2 >= len(word):
        return placed
    for i in range(len(word)):  # too little of it: undo
        offsets[at + i] = -1
    # Text the renderer dropped comes first (an HTML tag, an entity): the nearest match, if the
    # word is one that would not turn up by chance.
    if len(word) >= 3 and any(ch.isalpha() for ch in word):
        found = source.find(word, pos, pos + WINDOW)
        if found >= 0:
            return _fill(offsets, at, found, len(word))
    return pos


def _fill(offsets: LineMap, at: int, found: int, length: int) -> int:
    offsets[at : at + length] = range(found, found + length)
    return found + length


def _first_at_or_after(line_map: Callable[[int], LineMap], lines: int, y: int, x: int) -> int | None:
    for row in range(y, lines):
        for offset in line_map(row)[x if row == y else 0 :]:
            if offset >= 0:
                return offset
    return None


def _last_before(line_map: Callable[[int], LineMap], y: int, x: int) -> int | None:
    for row in range(y, -1, -1):
        offsets = line_map(row)
        for offset in reversed(offsets[: x if row == y else len(offsets)]):
            if offset >= 0:
                return offset
    return None


def selected_source(
    source: str,
    line_map: Callable[[int], LineMap],
    lines: int,
    start: tuple[int, int] | None,
    end: tuple[int, int] | None,
) -> str:
    """The source of the rendered range from `start` to `end` ((x, y): x a character of
    rendered line y; end exclusive; None: the text's start or end).

    A range that takes in a whole rendered line takes the markup around it on its source line
    (`# `, `- `, `**`…`**`, a table's pipes); one starting or ending on a line with nothing from
    the source (a code block's padding, a blank line) takes the unrendered source lines beside
    it (a fence); a range inside a code block is its code."""
    if lines <= 0 or not source:
        return ""
    s = 0 if start is None else _start_offset(source, line_map, lines, *start)
    e = len(source) if end is None else _end_offset(source, line_map, lines, *end)
    if s >= e:
        return ""
    return _balanced(source, s, e)


def _start_offset(source: str, line_map: Callable[[int], LineMap], lines: int, x: int, y: int) -> int:
    if y >= lines:
        return len(source)
    y, x = max(y, 0), max(x, 0)
    offsets = line_map(y)
    after = next((o for o in offsets[x:] if o >= 0), None)
    if after is not None:
        if all(o < 0 for o in offsets[:x]):  # from the line's first character: its markup too
            line_start = source.rfind("\n", 0, after) + 1
            prefix = source[line_start:after]
            # Indentation only when the range began before the first character (code's, say).
            if _LINE_PREFIX.fullmatch(prefix) and (prefix.strip() or offsets[x] < 0):
                return line_start
        return after
    following = _first_at_or_after(line_map, lines, y + 1, 0)
    if following is None:
        return len(source)
    before = _last_before(line_map, y, x)
    s = source.rfind("\n", 0, following) + 1
    if before is not None and s <= before:
        return following  # after the end of a wrapped line: the next word
    # From a line with nothing of the source (a blank one, a code block's padding): the next
    # text's source line, with the unrendered lines just above it that open its block (a fence).
    floor = 0 if before is None else before + 1
    while s > floor:
        above = source.rfind("\n", 0, s - 1) + 1
        if above < floor or not source[above : s - 1].strip():
            break
        s = above
    return s


def _end_offset(source: str, line_map: Callable[[int], LineMap], lines: int, x: int, y: int) -> int:
    if y < 0:
        return 0
    if y >= lines:
        y, x = lines - 1, len(line_map(lines - 1))
    offsets = line_map(y)
    before = next((o for o in reversed(offsets[:x]) if o >= 0), None)
    if before is not None:
        e = before + 1
        if all(o < 0 for o in offsets[x:]):  # to the line's last character: its markup too
            line_end = source.find("\n", e)
            line_end = len(source) if line_end < 0 else line_end
            if _LINE_SUFFIX.fullmatch(source, e, line_end):
                return line_end
        return e
    previous = _last_before(line_map, y, 0)
    if previous is None:
        return 0
    following = _first_at_or_after(line_map, lines, y, x)
    e = source.find("\n", previous)
    e = len(source) if e < 0 else e
    if following is not None and e >= following:
        return previous + 1  # before the start of a wrapped line: the previous word
    # To a line with nothing of the source: the last text's source line, with the unrendered
    # lines just below it that close its block (a fence).
    ceiling = len(source) if following is None else source.rfind("\n", 0, following)
    while e < ceiling:
        below = source.find("\n", e + 1)
        below = len(source) if below < 0 else below
        if below > ceiling or not source[e + 1 : below].strip():
            break
        e = below
    return e


def _balanced(source: str, s: int, e: int) -> str:
    """source[s:e], with emphasis or code marks just outside it when they open or close
    something inside it (`bold` selected in `**bold**` copies `**bold**`)."""
    before = s
    line_start = source.rfind("\n", 0, s) + 1
    while before > line_start and source[before - 1] in _OPENING:
        before -= 1
    after = e
    line_end = source.find("\n", e)
    line_end = len(source) if line_end < 0 else line_end
    while after < line_end and source[after] in _MARKS:
        after += 1
    opening, closing, inside = source[before:s], source[e:after], source[s:e]
    if opening and closing and opening == closing[::-1]:
        return opening + inside + closing
    if opening and opening[::-1].translate(_CLOSER) in inside:
        s = before
    if closing and closing in inside:
        e = after
    return source[s:e]
