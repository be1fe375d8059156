"""From rendered Markdown back to its source (chat_tui/ui/source_map.py), on Rich's own rendering:
each kind of block, ranges that start or end mid-block, and a long answer cut into blocks as it
streams in (fences reopened), selected through MarkdownView's `get_selection`."""

from __future__ import annotations

import random
import re

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.selection import Selection

from chat_tui.ui.markdown_blocks import FENCE_SPLIT_AT
from chat_tui.ui.source_map import align, selected_source
from chat_tui.ui.widgets.markdown_view import MarkdownView

from test_markdown_view import WORDS, document, rich_lines

SAMPLE = """# Title here

Some **bold** text and `code` with a [link](https://x.com/a) and *em*.
A second line that is long enough to wrap around the sixty column width of the console.

- item one
- item **two**
  continued

1. first
1. second

> quoted text
> more

| col a | col b |
|---|---|
| 1 | two |

```python
def f(x):
\treturn x  # tab
```

Entities &amp; <span>html</span> and \\*escaped\\*.
"""


@pytest.fixture(scope="module")
def sample() -> tuple[list[str], list[list[int]]]:
    shown = rich_lines(SAMPLE, 60)
    return shown, align(shown, SAMPLE)


def pick(sample, start, end) -> str:
    shown, maps = sample
    return selected_source(SAMPLE, lambda y: maps[y], len(shown), start, end)


def row(sample, text: str) -> int:
    return next(y for y, line in enumerate(sample[0]) if text in line)


def test_every_rendered_word_is_found_where_it_was_written(sample):
    shown, maps = sample
    for line, offsets in zip(shown, maps):
        mapped = [o for o in offsets if o >= 0]
        assert mapped == sorted(mapped)  # in reading order
        for match in re.finditer(r"[A-Za-z]{3,}", line):
            word = match.group()
            at = offsets[match.start()]
            assert at >= 0 and SAMPLE[at : at + len(word)] == word, (line, word)
    # Drawn by the renderer, not written: the bullets, the quote bar, the table's rule.
    bullet = row(sample, "item one")
    assert maps[bullet][shown[bullet].index("•")] == -1
    assert all(o == -1 for o in maps[row(sample, "col a") + 1])


def test_a_whole_rendered_line_takes_the_markup_of_its_source_line(sample):
    title = row(sample, "Title here")
    assert pick(sample, (0, title), (60, title)) == "# Title here"
    items = row(sample, "item one"), row(sample, "item two")
    assert pick(sample, (0, items[0]), (60, items[1])) == "- item one\n- item **two**\n  continued"
    quote = row(sample, "quoted")
    assert pick(sample, (0, quote), (60, quote)) == "> quoted text\n> more"
    table = row(sample, "col a")
    assert pick(sample, (0, table), (14, table + 2)) == "| col a | col b |\n|---|---|\n| 1 | two |"
    odd = row(sample, "Entities")
    assert pick(sample, (0, odd), (60, odd)) == "Entities &amp; <span>html</span> and \\*escaped\\*."


def test_part_of_a_line_and_wrapped_lines(sample):
    first = row(sample, "Some bold")
    line = sample[0][first]
    assert pick(sample, (line.index("bold"), first), (line.index("bold") + 4, first)) == "**bold**"
    assert pick(sample, (line.index("code"), first), (line.index("code") + 4, first)) == "`code`"
    assert pick(sample, (line.index("link"), first), (line.index("a)") + 2, first)) == "[link](https://x.com/a)"
    assert pick(sample, (line.index("bold") + 1, first), (line.index("bold") + 3, first)) == "ol"
    # From the start of a wrapped line: where the wrap fell, not the start of the paragraph.
    second = first + 1
    assert pick(sample, (0, second), (3, second)) == "*em*."  # with its emphasis, whole


def test_code_alone_or_with_its_fences(sample):
    code = row(sample, "def f")
    assert pick(sample, (0, code), (30, code + 1)) == "def f(x):\n\treturn x  # tab"
    assert pick(sample, (5, code + 1), (13, code + 1)) == "return x"
    # From the blank padding line above the code to the one below: the fences are part of it.
    assert pick(sample, (0, code - 1), (3, code + 2)) == "```python\ndef f(x):\n\treturn x  # tab\n```"


def test_blank_lines_take_the_fence_of_the_block_they_pad_and_no_other():
    text = "Para one.\n\n```python\ncode()\n```\n\nPara two."
    shown = rich_lines(text, 40)
    assert shown == ["Para one.", "", "", " code()", "", "", "Para two."]
    maps = align(shown, text)

    def pick(start, end):
        return selected_source(text, lambda y: maps[y], len(shown), start, end)

    assert pick((0, 0), (1, 1)) == "Para one."  # to the gap after the paragraph: no fence
    assert pick((0, 0), (1, 2)) == "Para one."
    assert pick((0, 2), (9, 6)) == "```python\ncode()\n```\n\nPara two."  # from the code's padding
    assert pick((0, 0), (1, 4)) == "Para one.\n\n```python\ncode()\n```"  # to the code's padding
    assert pick((0, 5), (9, 6)) == "Para two."  # from the gap after the code: no fence


def test_no_range_and_the_whole_text(sample):
    shown, _ = sample
    assert pick(sample, None, None) == SAMPLE
    assert pick(sample, (5, 3), (5, 3)) == ""
    assert pick(sample, (0, 0), (60, len(shown) - 1)) == SAMPLE.rstrip("\n")


# -- through MarkdownView: an answer of many blocks, streamed ------------------------------------


class ViewApp(App):
    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield MarkdownView(self.text)


def long_code(lines: int) -> str:
    rnd = random.Random(3)
    body = "\n".join(f"    value_{i} = {' + '.join(rnd.choice(WORDS) for _ in range(6))}" for i in range(lines))
    return f"Before the code.\n\n```python\n{body}\n```\n\nAfter the code.\n"


@pytest.mark.parametrize("streamed", [False, True])
async def test_each_line_of_a_long_answer_copies_its_own_source(streamed):
    text = document(sections=12) + "\n" + long_code(FENCE_SPLIT_AT // 40)  # a fence cut and reopened
    app = ViewApp("" if streamed else text)
    async with app.run_test(size=(90, 30)) as pilot:
        view = app.query_one(MarkdownView)
        if streamed:
            rnd = random.Random(5)
            at = 0
            while at < len(text):
                step = rnd.choice((1, 13, 300, 2500))
                await view.append(text[at : at + step])
                at += step
        await pilot.pause()
        assert view.block_count > 4 and view.source == text
        total = view.line_total()
        whole = view.get_selection(Selection((0, 0), (200, total - 1)))[0]
        assert whole == text.rstrip("\n")
        for y in range(total):
            line = view.line_text(y)
            copied = view.get_selection(Selection((0, y), (len(line), y)))[0]
            for word in re.findall(r"[A-Za-z_]{3,}\w*", line):
                assert word in copied, (y, line, copied)
            if copied:
                assert copied in text
        # A line of code from the part after the fence was reopened: that line, exactly.
        y = next(y for y in range(total) if "value_150 " in view.line_text(y))
        copied = view.get_selection(Selection((0, y), (len(view.line_text(y)), y)))[0]
        assert copied == next(line for line in text.splitlines() if "value_150 " in line)
