"""Selecting and copying text as a user does it, against the fake server: a mouse drag over the
lines of an answer, across messages, in a compare lane and in the completion document, and
select mode from the keyboard (`v` on a message). What is copied is the Markdown source of what
was selected, it reaches the terminal as OSC 52, and a notification says how much was copied."""

from __future__ import annotations

import base64

from textual.widgets import Input, Switch

from demo import notifications, recording_notes, settle_workers, until
from openapi_spec import validate_request

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Config, Endpoint
from chat_tui.core.tokens import TokenCounter
from chat_tui.store import Store
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens.completion import CompletionScreen
from chat_tui.ui.widgets.conversation import MessageView
from chat_tui.ui.widgets.document_area import DocumentArea

import pytest

SIZE = (120, 44)
CHAT = "/v1/chat/completions"
ANSWER = 'Here is **bold** text.\n\n```python\nprint("hi")\nx = 1\n```\n\nThat prints hi.'


@pytest.fixture
def counter(tiktoken_cache) -> TokenCounter:
    return TokenCounter(tiktoken_cache)


def make_app(fake, tmp_path, counter, **kw) -> ChatApp:
    endpoint = Endpoint(name="fake", base_url=fake.base_url)
    return recording_notes(ChatApp(endpoint, Store(tmp_path / "select.db"), client=OpenAIClient(endpoint),
                                   model="gpt-4o-mini", counter=counter, **kw))


def terminal(app: ChatApp) -> list[str]:
    """What the app writes to the terminal from now on (the headless driver drops it)."""
    written: list[str] = []
    app._driver.write = written.append
    return written


def osc52(text: str) -> str:
    return "\x1b]52;c;" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "\a"


def views(app: ChatApp) -> list[MessageView]:
    return app.chat.conversation.views()


def lines(body) -> list[str]:
    return [body.line_text(y) for y in range(body.line_total())]


def end_of(line: str) -> int:
    """The last character of a line's text (not the padding after it)."""
    return len(line.rstrip()) - 1


async def drag(pilot, start_widget, start, end_widget, end) -> None:
    """Press on a character, move to another one, release (offsets in (x, y) of each widget)."""
    await pilot.mouse_down(start_widget, offset=start)
    await pilot.hover(end_widget, offset=end)
    await pilot.mouse_up(end_widget, offset=end)
    await pilot.pause()


async def send(app: ChatApp, pilot, text: str) -> None:
    if app.focused is not app.chat.prompt:
        await pilot.press("ctrl+l")
    await pilot.press(*text, "enter")
    await settle_workers(pilot)


async def started(app: ChatApp, pilot) -> None:
    await until(pilot, lambda: app.chat.params_pane() is not None, "the side panes")
    await settle_workers(pilot)


# -- the mouse in the conversation -------------------------------------------------------------


async def test_a_drag_over_an_answer_copies_the_markdown_it_shows(fake_openai, tmp_path, counter):
    fake_openai.answer = ANSWER
    app = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await send(app, pilot, "code please")
        validate_request("CreateChatCompletionRequest", [r for r in fake_openai.requests if r.path == CHAT][-1].json)
        written = terminal(app)
        body = views(app)[1].body
        shown = lines(body)
        assert shown[0].rstrip() == "Here is bold text."  # rendered: no marks
        last = len(shown) - 1

        unselected = {s.text.strip(): s.style.color for s in body.render_line(0) if s.text.strip()}
        # The whole answer, first character to last: the source exactly, marks and fences too.
        await drag(pilot, body, (0, 0), body, (end_of(shown[last]), last))
        assert app.clipboard == ANSWER
        assert osc52(ANSWER) in "".join(written)
        assert f"Copied {len(ANSWER)} characters." in notifications(app)
        # Highlighted in the screen's selection colour, the text keeping its own colours.
        painted = {s.text.strip(): s.style for s in body.render_line(0) if s.text.strip()}
        selection = (body.background_colors[1] + app.screen.get_component_styles("screen--selection").background).rich_color
        assert painted.keys() == unselected.keys()
        assert all(style.bgcolor == selection and style.color == unselected[text] for text, style in painted.items())
        assert painted["bold"].bold

        # Part of a line: "bold text" as it was written.
        await drag(pilot, body, (shown[0].index("bold"), 0), body, (shown[0].index("text") + 3, 0))
        assert app.clipboard == "**bold** text"
        # The code lines alone: the code, no fences; from the padding line above: the fences too.
        code = next(y for y, line in enumerate(shown) if "print" in line)
        await drag(pilot, body, (0, code), body, (end_of(shown[code + 1]), code + 1))
        assert app.clipboard == 'print("hi")\nx = 1'
        await drag(pilot, body, (0, code - 1), body, (3, code + 2))
        assert app.clipboard == '```python\nprint("hi")\nx = 1\n```'
        # A click selects nothing and copies nothing.
        before = len(notifications(app))
        await pilot.click(body, offset=(2, 0))
        assert app.screen.selections == {} and len(notifications(app)) == before


async def test_a_drag_across_messages_joins_their_text_with_a_blank_line(fake_openai, tmp_path, counter):
    fake_openai.answer = ANSWER
    app = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await send(app, pilot, "hello there")
        await send(app, pilot, "and again")
        first_answer, second_prompt, second_answer = (v.body for v in views(app)[1:])
        shown = lines(second_answer)
        # From "prints" in the first answer to just after "bold" in the second (across widgets,
        # Textual ends a selection before the character under the pointer): the prompt between
        # whole, no headers (model name, timing) in between.
        last = len(lines(first_answer)) - 1
        at = lines(first_answer)[last].index("prints")
        await drag(pilot, first_answer, (at, last), second_answer, (shown[0].index("bold") + 4, 0))
        assert app.clipboard == "prints hi.\n\nand again\n\nHere is **bold**"
        assert "gpt-4o-mini" not in app.clipboard
        # From the middle of a prompt into an answer.
        user = views(app)[0].body
        await drag(pilot, user, (6, 0), first_answer, (4, 0))
        assert app.clipboard == "there\n\nHere"


# -- a compare lane ------------------------------------------------------------------------------


async def test_a_drag_in_a_compare_lane_copies_that_lane_s_markdown(fake_openai, tmp_path, counter):
    fake_openai.answer = lambda body: f"Lane at **{body.get('temperature')}**:\n\n- one\n- two `2`\n"
    app = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        screen = app.chat.open_compare("Compare this")
        await pilot.pause()
        screen.query_one("#sweep-spec", Input).value = "temperature=0,1"
        screen.query_one("#blind", Switch).value = False
        await pilot.press("f5")
        await until(pilot, lambda: screen.columns and not screen.running(), "the lanes", timeout=20)
        await settle_workers(pilot)
        lane = screen.columns[1].answer_view
        shown = lines(lane)
        assert shown[0].startswith("Lane at 1:")
        item = next(y for y, line in enumerate(shown) if "two" in line)
        x0 = lane.content_region.x - lane.region.x  # the lane's rule and margin before its text
        assert x0 == 2
        await drag(pilot, lane, (x0, 0), lane, (x0 + end_of(shown[item]), item))
        assert app.clipboard == "Lane at **1**:\n\n- one\n- two `2`"
        assert f"Copied {len(app.clipboard)} characters." in notifications(app)


# -- the completion document ---------------------------------------------------------------------


async def test_the_completion_document_copies_with_ctrl_c_and_on_release(fake_openai, tmp_path, counter):
    app = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        await pilot.pause()
        assert isinstance(app.screen, CompletionScreen)
        area = app.screen.query_one(DocumentArea)
        await pilot.press(*"alpha beta gamma")
        written = terminal(app)
        await pilot.press("home", "shift+right", "shift+right", "shift+right", "shift+right", "shift+right", "ctrl+c")
        await pilot.pause()
        assert app.clipboard == "alpha" and osc52("alpha") in "".join(written)
        assert "Copied 5 characters." in notifications(app)
        # A drag over "beta gamma": copied when the button is released.
        x0, y0 = area.content_region.x - area.region.x, area.content_region.y - area.region.y
        await drag(pilot, area, (x0 + 6, y0), area, (x0 + 16, y0))
        assert area.selected_text == "beta gamma"
        assert app.clipboard == "beta gamma" and osc52("beta gamma") in "".join(written)


# -- the keyboard --------------------------------------------------------------------------------


async def test_select_mode_moves_marks_extends_and_copies_the_source(fake_openai, tmp_path, counter):
    fake_openai.answer = ANSWER
    app = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await send(app, pilot, "hello world")
        written = terminal(app)
        prompt_view, answer = views(app)
        await pilot.click(answer)
        await pilot.press("v")
        assert answer.selecting and app.focused is answer
        body = answer.body
        assert body._cursor == (0, 0) and app.screen.selections == {}
        # w: to "is"; v marks; Shift+L (or l after the mark) extends over "is **bold**".
        await pilot.press("w", "v")
        await pilot.press(*["l"] * 3, "shift+right", "L", "L")
        assert body._cursor == (shown_at := lines(body)[0].index("bold") + 3, 0)
        assert list(app.screen.selections.values())[0].end == (shown_at + 1, 0)
        # b (not "copy code" here): back to "bold"; down to the code, to its line's end.
        await pilot.press("b")
        assert body._cursor == (lines(body)[0].index("bold"), 0)
        assert "Code block copied." not in notifications(app)
        await pilot.press("j", "j", "j", "dollar_sign")
        assert body._cursor.y == 3 and lines(body)[3].rstrip().endswith('print("hi")')
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == 'is **bold** text.\n\n```python\nprint("hi")'
        assert osc52(app.clipboard) in "".join(written)
        assert not answer.selecting and app.screen.selections == {} and body._cursor is None
        # Enter copies too; Escape leaves without copying, and keys mean what they did before.
        await pilot.click(prompt_view)
        await pilot.press("v", "l", "l", "v", "l", "l", "enter")
        await pilot.pause()
        assert app.clipboard == "llo"
        await pilot.press("v", "v", "l", "escape")
        assert not prompt_view.selecting and app.screen.selections == {} and app.clipboard == "llo"
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == "hello world" and "Message copied to the clipboard." in notifications(app)
        # y with nothing marked says what to do and copies nothing.
        await pilot.press("v", "y")
        assert app.clipboard == "hello world" and prompt_view.selecting
        assert any("Nothing selected yet" in n for n in notifications(app))
        await pilot.press("escape")


async def test_copy_on_select_off_leaves_the_clipboard_to_ctrl_c(fake_openai, tmp_path, counter):
    fake_openai.answer = ANSWER
    app = make_app(fake_openai, tmp_path, counter, config=Config(copy_on_select=False))
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await send(app, pilot, "code please")
        body = views(app)[1].body
        await drag(pilot, body, (0, 0), body, (6, 0))
        assert app.clipboard == "" and app.screen.get_selected_text() == "Here is"
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.clipboard == "Here is" and "Copied 7 characters." in notifications(app)
