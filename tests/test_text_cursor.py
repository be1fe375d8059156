"""Select mode's cursor (chat_tui/ui/text_cursor.py) over lines as they are drawn: padded on
the right, blank between blocks."""

from __future__ import annotations

import pytest

from chat_tui.ui.text_cursor import TextCursor

LINES = ["Here is bold text.      ", "", " print('hi')            ", " x = 1                  ", "", "End."]


def cursor(at=(0, 0)) -> TextCursor:
    return TextCursor(lambda: len(LINES), lambda y: LINES[y] if 0 <= y < len(LINES) else "", at)


def test_moves_stay_on_the_text_and_remember_the_column():
    c = cursor()
    c.move("line_end")
    assert c.point == (17, 0)  # the ".", not the padding
    c.move("right")
    assert c.point == (0, 1)  # wraps to the next line
    c.move("left")
    assert c.point == (17, 0)
    c.move("down")
    assert c.point == (0, 1)  # a blank line holds the cursor at its start...
    c.move("down")
    assert c.point == (11, 2)  # ...and the column aimed for comes back
    c.move("line_start")
    assert c.point == (1, 2)  # the first character, past the code's padding
    c.move("bottom")
    assert c.point == (3, 5)
    c.move("top")
    assert c.point == (0, 0)
    c.move("up")
    assert c.point == (0, 0)


def test_words_across_lines():
    c = cursor((13, 0))
    c.move("word_next")
    assert c.point == (1, 2)  # over the blank line
    c.move("word_prev")
    assert c.point == (13, 0)
    c.move("word_prev")
    assert c.point == (8, 0)


def test_marking_and_extending_select_both_ends():
    c = cursor((5, 0))
    assert c.selection() is None
    c.move("right", extend=True)
    assert c.selection() == ((5, 0), (7, 0))  # both characters, end exclusive
    c.move("left")
    c.move("left")
    c.move("left")
    assert c.selection() == ((3, 0), (6, 0))  # backwards from where it began
    c.mark()
    assert c.selection() is None
    c.mark()
    c.move("down")
    assert c.selection() == ((3, 0), (1, 1))


def test_an_unknown_move_is_refused():
    with pytest.raises(ValueError):
        cursor().move("sideways")
