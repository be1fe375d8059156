"""The chat screen's actions, driven with Pilot the way a user would (type, press, click).

Every test runs the whole app against the local fake OpenAI server (tests/fake_openai.py) and
checks three things: what the screen shows, the exact request bodies the server received, and
the rows in the database.
"""

from __future__ import annotations

import gc
import itertools
import time

import pytest
from textual.command import CommandList, CommandPalette
from textual.errors import NoWidget
from textual.widgets import Button, Input, Select, Static, Switch, TextArea

from demo import notifications, recording_notes, settle_workers, until

from fake_openai import Fault, FakeOpenAI
from openapi_spec import validate_request

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Config, Endpoint, build_endpoint
from chat_tui.core.paths import default_paths
from chat_tui.core.tokens import TokenCounter
from chat_tui.store import Store
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens.dialogs import ConfirmScreen, RenameScreen
from chat_tui.ui.screens.history import HistoryScreen
from chat_tui.ui.themes import load_theme_choice
from chat_tui.ui.widgets.conversation import INITIAL_MESSAGES, PAGE, MessageView
from chat_tui.ui.widgets.logit_bias import LogitBiasEditor
from chat_tui.ui.widgets.markdown_view import MarkdownView
from chat_tui.ui.widgets.model_picker import LOADING
from chat_tui.ui.widgets.slider import BAR_ROW, Slider

SIZE = (160, 50)  # wide enough for both side panes
CHAT = "/v1/chat/completions"


# -- helpers -------------------------------------------------------------------------------


@pytest.fixture
def counter(tiktoken_cache) -> TokenCounter:
    return TokenCounter(tiktoken_cache)


def make_app(fake: FakeOpenAI, tmp_path, counter: TokenCounter, *, client: OpenAIClient | None = None,
             model: str = "gpt-4o-mini", **kw) -> tuple[ChatApp, Store]:
    endpoint = kw.pop("endpoint", None) or Endpoint(name="fake", base_url=fake.base_url)
    store = Store(tmp_path / "ui.db")
    client = client or OpenAIClient(endpoint)
    return recording_notes(ChatApp(endpoint, store, client=client, model=model, counter=counter, **kw)), store


async def settle(app: ChatApp, pilot) -> None:
    await settle_workers(pilot)


async def started(app: ChatApp, pilot) -> None:
    """The side panes are mounted (after the first frame) and the models are listed."""
    chat = app.chat
    await until(pilot, lambda: chat.params_pane() is not None and chat.picker() is not None, "the side panes")
    await until(pilot, lambda: str(chat.picker().status.render()) != LOADING, "the model list")
    await settle(app, pilot)


async def send(app: ChatApp, pilot, text: str) -> None:
    """Type into the prompt and press Enter, then wait for the answer to be finished."""
    if app.focused is not app.chat.prompt:
        await pilot.press("ctrl+l")  # back to the prompt
    await pilot.press(*text, "enter")
    await settle(app, pilot)


def posts(fake: FakeOpenAI) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path == CHAT]


def status_line(app: ChatApp) -> str:
    return str(app.chat.query_one("#status-line", Static).render())


def header(view: MessageView) -> str:
    return str(view.query_one(".header", Static).render())


def views(app: ChatApp) -> list[MessageView]:
    return app.chat.conversation.views()


def shown_text(view: MessageView) -> str:
    """What a message view holds: the Markdown source of an answer, the literal text of a prompt."""
    if view.role == "assistant":
        return view.query_one(MarkdownView).source
    return str(view.query_one(".body", Static).render())


def fully_shown(widget) -> bool:
    try:
        geometry = widget.screen.find_widget(widget)
    except NoWidget:
        return False
    return geometry.clip.intersection(geometry.region) == geometry.region


async def click(pilot, widget, offset: tuple[int, int] = (0, 0)) -> None:
    """Scroll a widget into view (as with the mouse wheel) and click it."""
    if not fully_shown(widget):
        widget.scroll_visible(animate=False, immediate=True)
        await pilot.pause()
    assert await pilot.click(widget, offset=offset), f"the click missed {widget!r}"


async def type_into(pilot, widget: Input | TextArea, text: str) -> None:
    """Click an empty field and type into it."""
    assert not widget.text if isinstance(widget, TextArea) else not widget.value
    await click(pilot, widget)
    assert pilot.app.focused is widget
    await pilot.press(*text)
    await pilot.pause()


# -- 1. stop midway ----------------------------------------------------------------------------


async def test_escape_stops_midway_keeps_partial_text(fake_openai, tmp_path, counter):
    fake_openai.rate = 30  # token chunks per second
    fake_openai.answer = " ".join(f"word{i}" for i in range(300))  # 10 s at that rate
    total_chunks = 300
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press(*"story", "enter")
        # Wait until a few words are on screen, not for a fixed time.
        await until(pilot, lambda: len(views(app)) == 2 and views(app)[1].text.count("word") >= 5, "some streamed text")
        assert app.chat.replying()
        stopped_at = time.monotonic()
        await pilot.press("escape")
        await settle(app, pilot)
        assert not app.chat.replying()

        answer = views(app)[1]
        partial = answer.text
        assert answer.has_class("cancelled")
        assert "[cancelled]" in header(answer)
        assert shown_text(answer) == partial
        assert app.chat.prompt.text == ""  # the prompt was sent; nothing to give back

    (request,) = posts(fake_openai)
    assert request.disconnected, "the server should have seen the client leave"
    assert request.t_finish is not None and request.t_finish - stopped_at < 0.5
    assert request.chunks_sent < total_chunks
    thread = store.thread(store.last_conversation_id())
    assert [m.role for m in thread] == ["user", "assistant"]
    row = thread[1]
    assert row.status == "cancelled"
    assert row.content == partial
    assert 5 <= row.content.count("word") < total_chunks
    assert fake_openai.answer.startswith(row.content)


# -- 2. regenerate -----------------------------------------------------------------------------


async def test_regenerate_adds_a_sibling_answer_and_switches_between_them(fake_openai, tmp_path, counter):
    numbers = itertools.count(1)
    fake_openai.answer = lambda body: f"Answer number {next(numbers)}"
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await send(app, pilot, "pick")
        assert shown_text(views(app)[1]) == "Answer number 1"
        assert "‹" not in header(views(app)[1])  # one answer: no branch indicator

        await pilot.press("ctrl+g")
        await settle(app, pilot)
        user_view, answer_view = views(app)
        assert shown_text(answer_view) == "Answer number 2"
        assert "‹ 2/2 ›" in header(answer_view)

        # Focus the answer (a click) and go back to the first one.
        await pilot.click(answer_view)
        await pilot.pause()
        assert app.focused is answer_view
        await pilot.press("left")
        await pilot.pause()
        user_view, answer_view = views(app)
        assert shown_text(answer_view) == "Answer number 1"
        assert "‹ 1/2 ›" in header(answer_view)
        assert app.focused is answer_view  # the focus follows the shown branch
        await pilot.press("]")  # the other key for "next branch"
        await pilot.pause()
        assert shown_text(views(app)[1]) == "Answer number 2"
        await pilot.press("[")
        await pilot.pause()
        assert shown_text(views(app)[1]) == "Answer number 1"

        # The conversation goes on from the branch on screen.
        await send(app, pilot, "more")

    first, second, third = posts(fake_openai)
    assert first.json["messages"] == [{"role": "user", "content": "pick"}]
    assert second.json == first.json  # the same request, asked again
    assert third.json["messages"] == [
        {"role": "user", "content": "pick"},
        {"role": "assistant", "content": "Answer number 1"},
        {"role": "user", "content": "more"},
    ]
    cid = store.last_conversation_id()
    user = store.thread(cid)[0]
    answers = store.children(user.id)
    assert [(a.role, a.content, a.status) for a in answers] == [
        ("assistant", "Answer number 1", "complete"),
        ("assistant", "Answer number 2", "complete"),
    ]
    assert {a.parent_id for a in answers} == {user.id}


# -- 3. edit and resend ------------------------------------------------------------------------


async def test_edit_and_resend_makes_a_sibling_prompt(fake_openai, tmp_path, counter):
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await send(app, pilot, "2+2?")
        await send(app, pilot, "3+3?")
        assert [v.role for v in views(app)] == ["user", "assistant", "user", "assistant"]
        first_user = views(app)[0]
        original = first_user.message

        await pilot.click(first_user)
        await pilot.pause()
        assert app.focused is first_user
        await pilot.press("e")
        await pilot.pause()
        prompt = app.chat.prompt
        banner = app.chat.query_one("#edit-banner", Static)
        assert prompt.text == "2+2?"
        assert banner.display and "Editing an earlier message" in str(banner.render())
        assert app.focused is prompt

        # Escape leaves edit mode; `e` again, then change the text and send it.
        await pilot.press("escape")
        assert not banner.display and app.chat.editing is None
        await pilot.click(first_user)
        await pilot.press("e")
        await pilot.pause()
        assert banner.display
        await pilot.press(*["backspace"] * 4, *"5+5?", "enter")
        await settle(app, pilot)
        assert not banner.display
        assert [shown_text(v) for v in views(app)] == ["5+5?", "Echo: 5+5?"]
        assert "‹ 2/2 ›" in header(views(app)[0])

        # Back to the original branch: the old thread is intact.
        await pilot.click(views(app)[0])
        await pilot.press("left")
        await pilot.pause()
        assert [shown_text(v) for v in views(app)] == ["2+2?", "Echo: 2+2?", "3+3?", "Echo: 3+3?"]

    last = posts(fake_openai)[-1]
    assert last.json["messages"] == [{"role": "user", "content": "5+5?"}]
    sent = str(last.json)
    assert "2+2" not in sent and "3+3" not in sent
    roots = [m for m in store.messages(original.conversation_id) if m.parent_id is None]
    assert [(m.role, m.content) for m in roots] == [("user", "2+2?"), ("user", "5+5?")]
    assert roots[0].id == original.id
    (reply,) = store.children(roots[1].id)
    assert reply.content == "Echo: 5+5?" and reply.status == "complete"
    assert len(store.messages(original.conversation_id)) == 6


async def test_edit_a_later_prompt_sends_only_the_history_before_it(fake_openai, tmp_path, counter):
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await send(app, pilot, "a")
        await send(app, pilot, "b")
        await send(app, pilot, "c")
        second_user = views(app)[2]
        original = second_user.message
        # Keyboard only: shift+tab walks up from the prompt through the messages, newest first.
        assert app.focused is app.chat.prompt
        await pilot.press(*["shift+tab"] * 4)  # "Echo: c", "c", "Echo: b", "b"
        assert app.focused is second_user
        await pilot.press("e")
        await pilot.pause()
        assert app.chat.prompt.text == "b"
        await pilot.press("backspace", "B", "enter")
        await settle(app, pilot)

    assert posts(fake_openai)[-1].json["messages"] == [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "Echo: a"},
        {"role": "user", "content": "B"},
    ]
    siblings = store.children(original.parent_id)
    assert [(m.role, m.content) for m in siblings] == [("user", "b"), ("user", "B")]


# -- 4. every parameter ------------------------------------------------------------------------


async def test_every_parameter_from_the_pane_is_sent_exactly(fake_openai, tmp_path, counter):
    fake_openai.answer = "Short and sweet."
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        pane = app.chat.params_pane()

        async def keys(selector: str, *pressed: str) -> None:
            slider = pane.query_one(selector, Slider)
            await click(pilot, slider)  # the label row: focuses, changes nothing
            assert app.focused is slider
            await pilot.press(*pressed)

        await keys("#param-temperature", "pagedown", "left")  # 1.0 -> 0.75 -> 0.7
        await keys("#param-top_p", "pagedown")  # 1.0 -> 0.9
        await keys("#param-max_tokens", "home", "pageup")  # 1 -> 1 + 5% of 16384
        # presence_penalty with the mouse: the left end of the bar is the minimum, then a coarse step
        await click(pilot, pane.query_one("#param-presence_penalty"), offset=(0, BAR_ROW))
        await keys("#param-presence_penalty", "shift+right")  # -2 -> -1.75
        await keys("#param-frequency_penalty", "right", "right")  # 0 -> 0.1
        await pilot.pause()

        await type_into(pilot, pane.query_one("#system-prompt", TextArea), "Brief.")
        await type_into(pilot, pane.query_one("#param-stop-0", Input), "END")
        await type_into(pilot, pane.query_one("#param-stop-1", Input), r"\n\n")
        await type_into(pilot, pane.query_one("#param-seed", Input), "42")
        await type_into(pilot, pane.query_one("#param-n", Input), "2")
        switch = pane.query_one("#param-logprobs", Switch)
        await click(pilot, switch)
        assert switch.value
        await type_into(pilot, pane.query_one("#param-top_logprobs", Input), "3")

        # logit_bias: type a word, see its token, Enter in the bias field adds it (bias -100).
        editor = pane.query_one(LogitBiasEditor)
        await type_into(pilot, editor.query_one("#lb-text", Input), "hello")
        await settle(app, pilot)
        assert "1 token (o200k_base)" in str(editor.query_one("#lb-status", Static).render())
        bias_field = editor.query_one("#lb-bias", Input)
        assert bias_field.value == "-100"
        await click(pilot, bias_field)
        await pilot.press("enter")
        await pilot.pause()
        assert editor.bias == {"24912": -100}

        assert app.system_prompt == "Brief."
        await send(app, pilot, "Hi")
        answer = views(app)[1]
        assert shown_text(answer) == "[0] Short and sweet."
        assert "‹ 1/2 ›" in header(answer)  # n=2: the second choice is a sibling

    (request,) = posts(fake_openai)
    body = request.json
    assert body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Brief."}, {"role": "user", "content": "Hi"}],
        "temperature": 0.7,
        "top_p": 0.9,
        "n": 2,
        "stop": ["END", "\n\n"],
        "max_tokens": 820,
        "presence_penalty": -1.75,
        "frequency_penalty": 0.1,
        "logit_bias": {"24912": -100},
        "logprobs": True,
        "top_logprobs": 3,
        "seed": 42,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    validate_request("CreateChatCompletionRequest", body)

    cid = store.last_conversation_id()
    user = store.thread(cid)[0]
    answers = store.children(user.id)  # n=2: one row per choice, siblings
    assert len(answers) == 2
    expected_params = {k: v for k, v in body.items() if k != "messages"}
    assert [row.content for row in answers] == ["[0] Short and sweet.", "[1] Short and sweet."]  # the fake numbers choices
    for row in answers:
        assert row.params == expected_params
        assert row.status == "complete"
        assert row.logprobs  # logprobs were asked for and stored
    conversation = store.get_conversation(cid)
    assert conversation.system_prompt == "Brief."
    assert conversation.params == {k: v for k, v in expected_params.items() if k not in ("model", "stream", "stream_options")}


# -- 5. model and endpoint -------------------------------------------------------------------


async def test_switch_model_from_the_picker(fake_openai, tmp_path, counter):
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        assert status_line(app).startswith("gpt-4o-mini · fake")
        await pilot.click("#model-picker-filter")
        await pilot.press(*"4o")
        await pilot.pause()
        picker = app.chat.picker()
        assert sorted(picker.shown_models) == ["gpt-4o", "gpt-4o-mini"]
        await pilot.press("home", *"gpt-")  # "gpt-4o": an exact id wins over a longer one
        await pilot.pause()
        assert picker.highlighted_model == "gpt-4o"
        await pilot.press("enter")
        await pilot.pause()
        assert app.model == "gpt-4o"
        assert status_line(app).startswith("gpt-4o · fake")
        assert app.focused is app.chat.prompt  # back to typing
        await send(app, pilot, "hm")
        assert views(app)[1].message.model == "gpt-4o"
        assert header(views(app)[1]).startswith("gpt-4o ")
    assert posts(fake_openai)[-1].json["model"] == "gpt-4o"
    assert store.thread(store.last_conversation_id())[1].model == "gpt-4o"


async def test_switch_endpoint_profile_from_the_picker(fake_openai, tmp_path, counter):
    with FakeOpenAI(models=["other-model"]) as other:
        config = Config(profiles={
            "first": {"base_url": fake_openai.base_url, "model": "gpt-4o-mini"},
            "second": {"base_url": other.base_url, "model": "other-model"},
        })
        endpoint = build_endpoint("first", config)
        app, store = make_app(fake_openai, tmp_path, counter, endpoint=endpoint, config=config)
        async with app.run_test(size=SIZE) as pilot:
            await started(app, pilot)
            await send(app, pilot, "one")
            assert status_line(app).startswith("gpt-4o-mini · first")

            select = app.chat.picker().query_one("#model-picker-profile", Select)
            await pilot.click(select)
            await pilot.pause()
            assert select.expanded
            await pilot.press(*"second")  # type to search the options
            await pilot.press("enter")
            await settle(app, pilot)
            assert select.value == "second"
            assert app.endpoint.name == "second" and app.client_ready
            assert app.model == "other-model"
            assert status_line(app).startswith("other-model · second")
            assert app.chat.picker().shown_models == ["other-model"]  # the new endpoint's list
            await send(app, pilot, "two")
            assert shown_text(views(app)[-1]) == "Echo: two"
        assert [r.json["messages"][-1]["content"] for r in posts(fake_openai)] == ["one"]
        (request,) = posts(other)
        assert request.json["model"] == "other-model"
        assert request.json["messages"][-1] == {"role": "user", "content": "two"}
    rows = store.thread(store.last_conversation_id())
    assert [(m.role, m.endpoint) for m in rows if m.role == "assistant"] == [("assistant", "first"), ("assistant", "second")]


# -- 6. theme -----------------------------------------------------------------------------------


async def test_theme_chosen_in_the_command_palette_is_remembered(fake_openai, tmp_path, counter):
    paths = default_paths({"CHAT_TUI_HOME": str(tmp_path / "home")})
    app, store = make_app(fake_openai, tmp_path, counter, paths=paths)

    def palette_options() -> list[str]:
        lists = app.screen.query(CommandList)
        if not lists:
            return []
        listing = lists.first()
        return [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]

    def highlighted() -> str | None:
        lists = app.screen.query(CommandList)
        if not lists or lists.first().highlighted is None:
            return None
        return str(lists.first().highlighted_option.prompt)

    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        assert app.theme != "nord"
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the command palette")
        await pilot.press(*"theme")
        await until(pilot, lambda: (highlighted() or "").startswith("Theme"), "the theme command")
        commands = app.screen
        await pilot.press("enter")  # the theme list: another palette
        await until(pilot, lambda: isinstance(app.screen, CommandPalette) and app.screen is not commands
                    and len(palette_options()) > 5, "the theme list")
        await pilot.press(*"nord")
        await until(pilot, lambda: highlighted() == "nord", "nord highlighted")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, CommandPalette), "the palette to close")
        assert app.theme == "nord"
    assert load_theme_choice(paths.data_dir) == "nord"

    # The next start uses it.
    again, _ = make_app(fake_openai, tmp_path, counter, paths=paths)
    async with again.run_test(size=SIZE):
        assert again.theme == "nord"


# -- 7. errors ----------------------------------------------------------------------------------


ERRORS = {
    "401": ([Fault("status", status=401, path=CHAT)], "gpt-4o-mini", ["Invalid API key (HTTP 401)", "Incorrect API key"], 1),
    "unknown model": ([], "gpt-nonexistent", ["Not found (HTTP 404)", "The model 'gpt-nonexistent' does not exist"], 1),
    "context length": ([Fault("status", status=400, path=CHAT)], "gpt-4o-mini", ["Context length exceeded (HTTP 400)", "maximum context length"], 1),
    "429 retries exhausted": (
        [Fault("status", status=429, path=CHAT, headers={"retry-after-ms": "20"}) for _ in range(3)],
        "gpt-4o-mini", ["Rate limited (HTTP 429)", "Rate limit reached"], 3,
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
async def test_api_errors_are_shown_and_the_prompt_is_given_back(fake_openai, tmp_path, counter, case):
    faults, model, expected, attempts = ERRORS[case]
    fake_openai.enqueue_fault(*faults)
    app, store = make_app(fake_openai, tmp_path, counter, model=model)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await send(app, pilot, "hi?")
        assert app.chat.prompt.text == "hi?"
        shown = notifications(app)
        assert any(all(bit in message for bit in expected) for message in shown), shown
        answer = views(app)[-1]
        assert answer.has_class("error") and "[error]" in header(answer)
    assert len(posts(fake_openai)) == attempts
    row = store.thread(store.last_conversation_id())[-1]
    assert row.role == "assistant" and row.status == "error" and row.content == ""
    assert expected[0] in row.error


async def test_unreachable_endpoint_is_shown_and_the_prompt_is_given_back(fake_openai, tmp_path, counter):
    endpoint = Endpoint(name="fake", base_url=fake_openai.base_url)
    client = OpenAIClient(endpoint, backoff_base=0.01, backoff_max=0.02)
    app, store = make_app(fake_openai, tmp_path, counter, client=client, endpoint=endpoint)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        fake_openai.stop()  # the port is closed now: connections are refused
        await send(app, pilot, "hi?")
        assert app.chat.prompt.text == "hi?"
        shown = notifications(app)
        assert any("Cannot connect" in m and "cannot connect to http://127.0.0.1" in m for m in shown), shown
    row = store.thread(store.last_conversation_id())[-1]
    assert row.status == "error" and "Cannot connect" in row.error


# -- 8. conversations ---------------------------------------------------------------------------


async def test_new_open_rename_and_delete_conversations(fake_openai, tmp_path, counter):
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await send(app, pilot, "alpha")
        alpha = app.chat.conversation_id
        assert "alpha" in status_line(app)

        await pilot.press("ctrl+n")
        await pilot.pause()
        assert views(app) == [] and app.chat.conversation_id is None
        assert "alpha" not in status_line(app)
        await send(app, pilot, "beta")
        beta = app.chat.conversation_id
        assert beta != alpha
        assert posts(fake_openai)[-1].json["messages"] == [{"role": "user", "content": "beta"}]

        # Open (Ctrl+O) is the history browser: newest first, searched as you type.
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and len(app.screen.rows) == 2, "the history")
        assert [r.id for r in app.screen.rows] == [beta, alpha]
        await pilot.press(*"alph")
        await until(pilot, lambda: [r.id for r in app.screen.rows] == [alpha], "the search")
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.chat.conversation_id == alpha
        assert [shown_text(v) for v in views(app)] == ["alpha", "Echo: alpha"]

        # Rename (F4): the title in the database and in the status line.
        await pilot.press("f4")
        await pilot.pause()
        assert isinstance(app.screen, RenameScreen)
        assert app.screen.query_one("#title", Input).value == "alpha"
        # The old title is selected, so typing replaces it.
        await pilot.press(*"Renamed", "enter")
        await pilot.pause()
        assert store.get_conversation(alpha).title == "Renamed"
        assert "Renamed" in status_line(app)
        assert "alpha" not in status_line(app)

        # Delete asks first: Cancel keeps it; Delete moves it to the trash (one rule everywhere).
        await pilot.press("ctrl+delete")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.click("#no")
        await pilot.pause()
        assert store.get_conversation(alpha).deleted_at is None
        await pilot.press("ctrl+delete")
        await pilot.pause()
        assert "Renamed" in str(app.screen.query_one(Static).render())
        await pilot.click("#yes")
        await settle(app, pilot)
        assert store.get_conversation(alpha).deleted_at is not None
        assert len(store.messages(alpha)) == 2  # kept until the trash is emptied
        assert app.chat.conversation_id is None and views(app) == []
        assert [c.id for c in store.list_conversations()] == [beta]
        assert any("trash" in n for n in notifications(app))

        # The command palette's "Restore deleted conversation" brings it back, opened.
        app.action_restore_conversation()
        await settle(app, pilot)
        assert store.get_conversation(alpha).deleted_at is None
        assert app.chat.conversation_id == alpha and len(views(app)) == 2
        assert {c.id for c in store.list_conversations()} == {alpha, beta}
        app.action_restore_conversation()
        await pilot.pause()
        assert "The trash is empty." in notifications(app)

        # In the history: d deletes the highlighted one, u restores it.
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and len(app.screen.rows) == 2, "the history")
        app.screen.query_one("#history-list").focus()
        await pilot.press("d")
        await until(pilot, lambda: len(app.screen.rows) == 1, "the row gone")
        assert len(store.list_conversations()) == 1
        await pilot.press("u")
        await until(pilot, lambda: len(app.screen.rows) == 2, "the row back")
        await pilot.press("escape")
        await pilot.pause()
        assert len(store.list_conversations()) == 2


# -- 9. copy ------------------------------------------------------------------------------------


ANSWER_WITH_CODE = "Here you go:\n\n```python\nprint(\"hi\")\nx = 1\n```\n\nThat prints hi."


async def test_copy_message_and_code_block(fake_openai, tmp_path, counter):
    fake_openai.answer = ANSWER_WITH_CODE
    app, _ = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await send(app, pilot, "code")
        answer = views(app)[1]
        await pilot.click(answer)
        await pilot.pause()
        assert app.focused is answer
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == ANSWER_WITH_CODE
        await pilot.press("b")
        await pilot.pause()
        assert app.clipboard == 'print("hi")\nx = 1\n'
        assert "Code block copied." in notifications(app)
        # A message with no code block says so and leaves the clipboard alone.
        await pilot.click(views(app)[0])
        await pilot.press("b")
        await pilot.pause()
        assert app.clipboard == 'print("hi")\nx = 1\n'
        assert "This message has no code block." in notifications(app)


# -- 10. a long conversation ---------------------------------------------------------------------


@pytest.mark.timing
async def test_long_conversation_opens_fast_and_loads_earlier_messages(fake_openai, tmp_path, counter):
    app, store = make_app(fake_openai, tmp_path, counter)
    cid = store.create_conversation(title="Long one", model="gpt-4o-mini")
    parent = None
    ids = []
    for i in range(1000):
        role = "user" if i % 2 == 0 else "assistant"
        parent = store.add_message(cid, role, f"message {i}", parent_id=parent)
        ids.append(parent)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        # The clock: from the start of the open (rows loaded, tree built, views mounted) to the
        # next frame painted; Pilot's own waiting is left out, so a busy machine does not fail it.
        marks: dict[str, float] = {}
        open_conversation = app.chat.open_conversation

        async def timed_open(conversation_id, at_message=None):
            marks["start"] = time.perf_counter()
            await open_conversation(conversation_id, at_message=at_message)
            app.call_after_refresh(lambda: marks.setdefault("painted", time.perf_counter()))

        app.chat.open_conversation = timed_open
        # As the entry point does after warm-up (cli/runtime.py): what exists now is frozen out
        # of the collector, so objects left by earlier tests in this process do not slow it.
        gc.collect()
        gc.freeze()
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.rows, "the conversation list")
        await pilot.press("enter")
        await until(pilot, lambda: "painted" in marks, "the conversation on screen")
        elapsed = marks["painted"] - marks["start"]
        gc.unfreeze()
        print(f"opened in {elapsed:.2f} s")
        assert elapsed < 1.0, f"opening took {elapsed:.2f} s"
        assert app.chat.conversation_id == cid

        conversation = app.chat.conversation
        assert [v.message_id for v in views(app)] == ids[-INITIAL_MESSAGES:]
        assert conversation.hidden_count == 1000 - INITIAL_MESSAGES
        button = conversation.query_one("#load-earlier", Button)
        assert str(button.label) == f"Show {PAGE} earlier messages"
        conversation.scroll_home(animate=False)
        await pilot.pause()
        await pilot.click(button)
        await pilot.pause()
        assert [v.message_id for v in views(app)] == ids[-(INITIAL_MESSAGES + PAGE):]
        assert conversation.hidden_count == 1000 - INITIAL_MESSAGES - PAGE

        # The conversation goes on from its newest message.
        await send(app, pilot, "go")
    body = posts(fake_openai)[-1].json
    assert len(body["messages"]) == 1001
    assert body["messages"][0] == {"role": "user", "content": "message 0"}
    assert body["messages"][-1] == {"role": "user", "content": "go"}


async def test_resending_a_prompt_given_back_after_an_error_sends_it_once(fake_openai, tmp_path, counter):
    fake_openai.enqueue_fault(Fault("status", status=400, path=CHAT))
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await send(app, pilot, "hi?")
        assert app.chat.prompt.text == "hi?"
        await pilot.press("enter")  # the server has recovered: send it again
        await settle(app, pilot)
        assert [shown_text(v) for v in views(app)] == ["hi?", "Echo: hi?"]
        assert "‹ 2/2 ›" in header(views(app)[0])  # the failed attempt stays, as a branch
    failed, retried = posts(fake_openai)
    assert retried.json["messages"] == failed.json["messages"] == [{"role": "user", "content": "hi?"}]
    rows = store.messages(store.last_conversation_id())
    first, failed_answer, second, answer = rows
    assert (first.parent_id, second.parent_id) == (None, None)  # siblings: the retry replaced the failed prompt
    assert (failed_answer.parent_id, failed_answer.status) == (first.id, "error")
    assert (answer.parent_id, answer.status, answer.content) == (second.id, "complete", "Echo: hi?")

