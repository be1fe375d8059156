"""Edit mode (ui/screens/edit.py), driven with Pilot against the local fake OpenAI server: open with
F7, type the text and the instruction, generate, read the diff, accept, undo, regenerate, pick
among n choices, and what errors leave behind."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static, TextArea

from demo import settle, settle_workers, until
from fake_openai import Fault, FakeOpenAI, apply_edit
from openapi_spec import validate_request

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Endpoint
from chat_tui.core.tokens import TokenCounter
from chat_tui.services.edits import load_edit_document
from chat_tui.store import Store
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens.edit import EditScreen
from chat_tui.ui.palette import diff_styles

SIZE = (140, 44)
EDITS = "/v1/edits"
CHAT = "/v1/chat/completions"
TEXT = "What day of the wek is it?\n"


@pytest.fixture
def counter(tiktoken_cache) -> TokenCounter:
    return TokenCounter(tiktoken_cache)


def make_app(fake: FakeOpenAI, tmp_path, counter: TokenCounter) -> tuple[ChatApp, Store]:
    endpoint = Endpoint(name="fake", base_url=fake.base_url)
    store = Store(tmp_path / "edit.db")
    client = OpenAIClient(endpoint, max_retries=1, backoff_base=0.01)
    return ChatApp(endpoint, store, client=client, model="gpt-4o-mini", counter=counter), store


def chat_edit(body: dict) -> str:
    """The fake's chat answer to the emulated edit prompt: the same edit /v1/edits makes, fenced."""
    user = body["messages"][-1]["content"]
    instruction, text = user.removeprefix("Instruction: ").split("\n\nText:\n", 1)
    return f"```\n{apply_edit(text, instruction)}```"


async def open_edit(pilot) -> EditScreen:
    await settle(pilot)
    await pilot.press("f7")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, EditScreen)
    return screen


async def type_request(pilot, screen: EditScreen, text: str, instruction: str, n: str = "") -> None:
    area = screen.query_one("#edit-input", TextArea)
    area.focus()
    area.insert(text)  # a whole text key by key is slow; the instruction is typed below
    screen.query_one("#edit-instruction", Input).focus()
    await pilot.press(*instruction)
    screen.query_one("#edit-n", Input).value = n


async def generate(pilot, key: str = "f5") -> None:
    await pilot.press(key)
    await settle_workers(pilot)


def header(screen: EditScreen) -> str:
    return str(screen.query_one("#edit-header", Static).render())


def posts(fake: FakeOpenAI, path: str) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path == path]


async def test_generate_shows_a_word_diff_then_accept_and_undo(fake_openai, tmp_path, counter):
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_edit(pilot)
        assert header(screen).startswith("Edit · /v1/edits, or chat if the endpoint lacks it")
        await type_request(pilot, screen, TEXT, "Fix the spelling")
        await generate(pilot)
        (lane,) = screen.lanes()
        assert lane.plain == "What day of the wekweek is it?\n"
        spans = {lane.plain[s.start:s.end]: s.style for s in lane.diff.spans}
        styles = diff_styles(app.current_theme)
        assert spans == {"wek": styles.deleted, "week": styles.inserted}
        assert styles.inserted.bold and styles.inserted.underline and styles.deleted.strike
        assert header(screen).startswith("Edit · /v1/edits ·")
        (sent,) = posts(fake_openai, EDITS)
        validate_request("CreateEditRequest", sent.json, spec="2023")
        assert sent.json == {"model": "gpt-4o-mini", "input": TEXT, "instruction": "Fix the spelling"}

        await pilot.press("ctrl+y")
        await pilot.pause()
        area = screen.query_one("#edit-input", TextArea)
        assert area.text == "What day of the week is it?\n" and not screen.lanes()
        doc = load_edit_document(store, screen.document_id)
        assert doc.text == area.text and doc.instruction == "Fix the spelling" and doc.mode == "native"
        (choice,) = [m for m in store.messages(screen.document_id) if m.role == "assistant"]
        assert choice.accepted is True and choice.params["input"] == TEXT and choice.params["mode"] == "native"

        await pilot.press("ctrl+z")
        await pilot.pause()
        assert area.text == TEXT
        assert load_edit_document(store, screen.document_id).text == TEXT
        assert store.get_message(choice.id).accepted is None


async def test_regenerate_repeats_the_last_request_and_reject_keeps_the_text(fake_openai, tmp_path, counter):
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_edit(pilot)
        await type_request(pilot, screen, "a cat\n", "replace cat with dog")
        await generate(pilot)
        screen.query_one("#edit-instruction", Input).value = "something else"  # regenerate ignores it
        await generate(pilot, "ctrl+r")
        first, second = posts(fake_openai, EDITS)
        assert first.json == second.json
        assert screen.lanes()[0].plain == "a catdog\n"
        await pilot.press("escape")
        await pilot.pause()
        assert screen.query_one("#edit-input", TextArea).text == "a cat\n" and not screen.lanes()
        rounds = [m for m in store.messages(screen.document_id) if m.role == "assistant"]
        assert [m.accepted for m in rounds] == [None, False]  # the second round's choice was rejected


async def test_n_choices_stand_side_by_side_and_2_picks_the_second(fake_openai, tmp_path, counter):
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_edit(pilot)
        await type_request(pilot, screen, "teh end", "Fix the spelling", n="2")
        await generate(pilot)
        lanes = screen.lanes()
        assert [lane.index for lane in lanes] == [0, 1]
        assert lanes[0].region.x < lanes[1].region.x and lanes[0].region.y == lanes[1].region.y
        assert posts(fake_openai, EDITS)[0].json["n"] == 2
        await pilot.press("2")
        assert screen.selected == 1 and lanes[1].has_class("-selected")
        await pilot.press("enter")
        await pilot.pause()
        assert screen.query_one("#edit-input", TextArea).text == "[1] the end"
        accepted = [m.accepted for m in store.messages(screen.document_id) if m.role == "assistant"]
        assert accepted == [None, True]


async def test_a_404_switches_to_chat_and_the_header_says_so(fake_openai, tmp_path, counter):
    fake_openai.serves_edits = False
    fake_openai.answer = chat_edit
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_edit(pilot)
        await type_request(pilot, screen, TEXT, "Fix the spelling")
        await generate(pilot)
        assert header(screen).startswith("Edit · emulated with chat")
        assert screen.lanes()[0].plain == "What day of the wekweek is it?\n"  # the fence is gone
        (chat,) = posts(fake_openai, CHAT)
        validate_request("CreateChatCompletionRequest", chat.json)
        await generate(pilot, "ctrl+r")
        assert len(posts(fake_openai, EDITS)) == 1 and len(posts(fake_openai, CHAT)) == 2  # remembered

    # A new screen on the same endpoint knows it before any request.
    app, _ = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_edit(pilot)
        assert header(screen).startswith("Edit · emulated with chat")


async def test_an_error_is_a_notification_and_keeps_what_was_typed(fake_openai, tmp_path, counter):
    fake_openai.enqueue_fault(Fault("status", status=401, path=EDITS))
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_edit(pilot)
        await type_request(pilot, screen, TEXT, "Fix the spelling")
        await generate(pilot)
        assert any("Invalid API key" in str(n.message) for n in app._notifications)
        assert screen.query_one("#edit-input", TextArea).text == TEXT
        assert screen.query_one("#edit-instruction", Input).value == "Fix the spelling"
        assert not screen.lanes() and screen.document_id is None
        assert store.list_conversations() == []  # a failed request leaves nothing behind

        # No instruction: nothing is sent.
        screen.query_one("#edit-instruction", Input).value = "  "
        await generate(pilot)
        assert len(posts(fake_openai, EDITS)) == 1
        assert any("Type an instruction first" in str(n.message) for n in app._notifications)


async def test_escape_stops_a_running_request_then_closes(fake_openai, tmp_path, counter):
    fake_openai.enqueue_fault(Fault("hang", path=EDITS))
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_edit(pilot)
        await type_request(pilot, screen, TEXT, "Fix the spelling")
        await pilot.press("f5")
        await until(pilot, lambda: screen.running() and posts(fake_openai, EDITS), "the request to go out")
        await pilot.press("escape")
        await settle_workers(pilot)
        assert app.screen is screen and not screen.running()
        assert screen.query_one("#edit-input", TextArea).text == TEXT
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, EditScreen)


async def test_a_saved_document_reopens_with_its_text_and_instruction(fake_openai, tmp_path, counter):
    app, store = make_app(fake_openai, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_edit(pilot)
        await type_request(pilot, screen, "hello\n", "uppercase", n="1")
        screen.query_one("#edit-temperature", Input).value = "0.2"
        await generate(pilot)
        await pilot.press("ctrl+y")
        await pilot.pause()
        cid = screen.document_id
        await pilot.press("escape")
        await pilot.pause()
        app.push_screen(EditScreen(document_id=cid))
        await pilot.pause()
        again = app.screen
        assert again.query_one("#edit-input", TextArea).text == "HELLO\n"
        assert again.query_one("#edit-instruction", Input).value == "uppercase"
        assert again.query_one("#edit-temperature", Input).value == "0.2"
        assert again.query_one("#edit-n", Input).value == "1"
        await generate(pilot)
        assert len({m.conversation_id for m in store.messages(cid)}) == 1
        assert [m.role for m in store.messages(cid)] == ["user", "assistant", "user", "assistant"]
