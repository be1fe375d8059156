"""Auto-titles in the app (issue 5), driven with Pilot against the fake server: after the first
answer of a new conversation a title request goes out in the background, and the generated
title replaces the provisional one, unless the user renamed it, the request failed, or `[titles]`
rules it out for this endpoint."""

from __future__ import annotations

import threading

import httpx
import pytest
from textual.widgets import Input, Static

from demo import settle_workers, until
from fake_openai import Fault, FakeOpenAI
from openapi_spec import validate_request

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Config, Endpoint, TitleSettings
from chat_tui.core.titles import INSTRUCTION
from chat_tui.core.tokens import TokenCounter
from chat_tui.store import Store
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens.dialogs import RenameScreen

SIZE = (160, 50)
GENERATED = '**Title:** "Sleeping Ducks."'  # what the model says; the app shows it cleaned


def is_title_request(body) -> bool:
    return isinstance(body, dict) and body.get("messages", [{}])[0].get("content") == INSTRUCTION


def answer(body) -> str:
    if is_title_request(body):
        return GENERATED
    last = body["messages"][-1]["content"]
    return f"Echo: {last}"


class ToFake(httpx.AsyncBaseTransport):
    """Sends a remote endpoint's requests to the fake server: the app sees a non-local endpoint
    (`is_local` False) while the test still answers every request."""

    def __init__(self, fake: FakeOpenAI) -> None:
        self.port = fake.port
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def fake():
    with FakeOpenAI(answer=answer) as server:
        yield server


@pytest.fixture
def counter(tiktoken_cache) -> TokenCounter:
    return TokenCounter(tiktoken_cache)


def make_app(fake: FakeOpenAI, tmp_path, counter, *, remote: bool = True, titles: TitleSettings | None = None):
    """The app on a remote-looking endpoint (default) or on the fake's own loopback URL (local)."""
    if remote:
        endpoint = Endpoint(name="remote", base_url="https://api.example.test/v1", api_key="sk-test")
        client = OpenAIClient(endpoint, transport=ToFake(fake))
    else:
        endpoint = Endpoint(name="fake", base_url=fake.base_url)
        client = OpenAIClient(endpoint)
    assert endpoint.is_local is not remote
    store = Store(tmp_path / "ui.db")
    config = Config(titles=titles) if titles is not None else Config()
    app = ChatApp(endpoint, store, client=client, model="gpt-4o-mini", counter=counter, config=config)
    return app, store


def title_requests(fake: FakeOpenAI) -> list:
    return [r for r in fake.requests if r.method == "POST" and is_title_request(r.json)]


def chat_requests(fake: FakeOpenAI) -> list:
    return [r for r in fake.requests if r.method == "POST" and not is_title_request(r.json)]


def status_line(app: ChatApp) -> str:
    return str(app.chat.query_one("#status-line", Static).render())


def notifications(app: ChatApp) -> list[str]:
    return [n.message for n in app._notifications]


async def send(pilot, text: str) -> None:
    """Type a prompt, press Enter, wait for the answer and any title request to finish."""
    app = pilot.app
    if app.focused is not app.chat.prompt:
        await pilot.press("ctrl+l")
    await pilot.press(*text, "enter")
    await settle_workers(pilot)


async def test_first_answer_gets_a_generated_title_once(fake, tmp_path, counter) -> None:
    app, store = make_app(fake, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await settle_workers(pilot)
        await send(pilot, "how do ducks sleep")
        cid = app.chat.conversation_id
        await until(pilot, lambda: "Sleeping Ducks" in status_line(app), "the generated title")
        conv = store.get_conversation(cid)
        assert (conv.title, conv.title_source) == ("Sleeping Ducks", "auto")
        assert "how do ducks sleep" not in status_line(app)

        (request,) = title_requests(fake)
        body = request.json
        validate_request("CreateChatCompletionRequest", body)
        assert "stream" not in body and body["model"] == "gpt-4o-mini" and body["max_tokens"] == 30
        assert "how do ducks sleep" in body["messages"][1]["content"]
        assert "Echo: how do ducks sleep" in body["messages"][1]["content"]
        assert request.headers["authorization"] == "Bearer sk-test"
        # The title is not a message, and the chat went on streaming as before.
        assert [m.role for m in store.messages(cid)] == ["user", "assistant"]
        assert chat_requests(fake)[0].json["stream"] is True

        # A second exchange does not ask again.
        await send(pilot, "and geese")
        assert len(chat_requests(fake)) == 2 and len(title_requests(fake)) == 1
        assert store.get_conversation(cid).title == "Sleeping Ducks"
        assert not any("fail" in n.lower() for n in notifications(app))


async def test_a_rename_while_the_title_is_on_its_way_wins(fake, tmp_path, counter) -> None:
    gate = threading.Event()

    def held(body) -> str:
        if is_title_request(body):
            gate.wait(10)  # the server thread holds the title until the test lets it go
        return answer(body)

    fake.answer = held
    app, store = make_app(fake, tmp_path, counter)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle_workers(pilot)
            await pilot.press(*"how do ducks sleep", "enter")
            await until(pilot, lambda: bool(title_requests(fake)), "the title request")
            assert not app.chat.replying()  # the title does not hold the prompt
            cid = app.chat.conversation_id
            await pilot.press("f4")
            await until(pilot, lambda: isinstance(app.screen, RenameScreen), "the rename dialog")
            assert app.screen.query_one("#title", Input).value == "how do ducks sleep"
            await pilot.press(*"My ducks", "enter")
            await pilot.pause()
            gate.set()
            await settle_workers(pilot)
            conv = store.get_conversation(cid)
            assert (conv.title, conv.title_source) == ("My ducks", "user")
            assert "My ducks" in status_line(app) and "Sleeping" not in status_line(app)
    finally:
        gate.set()


async def test_a_failed_title_request_keeps_the_prompt_title_quietly(fake, tmp_path, counter) -> None:
    fake.enqueue_fault(Fault("status", status=500, when=is_title_request))
    app, store = make_app(fake, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await settle_workers(pilot)
        await send(pilot, "how do ducks sleep")
        await until(pilot, lambda: bool(title_requests(fake)) and title_requests(fake)[0].status == 500,
                    "the failed title request")
        await settle_workers(pilot)
        conv = store.get_conversation(app.chat.conversation_id)
        assert (conv.title, conv.title_source) == ("how do ducks sleep", "prompt")
        assert "how do ducks sleep" in status_line(app)
        assert len(title_requests(fake)) == 1  # not retried
        assert not [n for n in app._notifications if n.severity == "error"]
        assert not fake.faults  # the fault went to the title request, not the chat


async def test_a_failed_answer_gets_no_title_but_its_retry_does(fake, tmp_path, counter) -> None:
    fake.enqueue_fault(Fault("status", status=400, path="/v1/chat/completions",
                             when=lambda body: not is_title_request(body)))
    app, store = make_app(fake, tmp_path, counter)
    async with app.run_test(size=SIZE) as pilot:
        await settle_workers(pilot)
        await send(pilot, "how do ducks sleep")
        assert title_requests(fake) == []
        assert app.chat.prompt.text == "how do ducks sleep"  # given back
        await pilot.press("enter")
        await settle_workers(pilot)
        await until(pilot, lambda: "Sleeping Ducks" in status_line(app), "the generated title")
        assert len(title_requests(fake)) == 1


@pytest.mark.parametrize("titles, remote, expected", [
    (None, False, 0),  # the fake's loopback URL is a local endpoint: no titles by default
    (TitleSettings(local=True), False, 1),
    (TitleSettings(enabled=False), True, 0),
    (TitleSettings(enabled=False, local=True), False, 0),
])
async def test_settings_decide_whether_a_title_is_requested(fake, tmp_path, counter, titles, remote, expected) -> None:
    app, store = make_app(fake, tmp_path, counter, remote=remote, titles=titles)
    async with app.run_test(size=SIZE) as pilot:
        await settle_workers(pilot)
        await send(pilot, "how do ducks sleep")
        await settle_workers(pilot)
        assert len(chat_requests(fake)) == 1
        assert len(title_requests(fake)) == expected
        conv = store.get_conversation(app.chat.conversation_id)
        assert conv.title == ("Sleeping Ducks" if expected else "how do ducks sleep")


async def test_a_title_model_from_the_config(fake, tmp_path, counter) -> None:
    app, store = make_app(fake, tmp_path, counter, titles=TitleSettings(model="gpt-4o"))
    async with app.run_test(size=SIZE) as pilot:
        await settle_workers(pilot)
        await send(pilot, "how do ducks sleep")
        (request,) = title_requests(fake)
        assert request.json["model"] == "gpt-4o" and chat_requests(fake)[0].json["model"] == "gpt-4o-mini"


async def test_switching_conversation_or_quitting_mid_title_is_harmless(fake, tmp_path, counter) -> None:
    gate = threading.Event()

    def held(body) -> str:
        if is_title_request(body):
            gate.wait(10)
        return answer(body)

    fake.answer = held
    app, store = make_app(fake, tmp_path, counter)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle_workers(pilot)
            await pilot.press(*"how do ducks sleep", "enter")
            await until(pilot, lambda: bool(title_requests(fake)), "the title request")
            first = app.chat.conversation_id
            await pilot.press("ctrl+n")  # a new conversation while the title is on its way
            await until(pilot, lambda: app.chat.conversation_id is None, "the new conversation")
            gate.set()
            await settle_workers(pilot)
            # The title went to its own conversation; the empty one shown is untouched.
            assert store.get_conversation(first).title == "Sleeping Ducks"
            assert app.chat.conversation_id is None and "Sleeping Ducks" not in status_line(app)

            gate.clear()
            await pilot.press(*"how do geese sleep", "enter")
            await until(pilot, lambda: len(title_requests(fake)) == 2, "the second title request")
            second = app.chat.conversation_id
        # Quit with the title still on its way: no error, the prompt title stays.
        assert app.return_code in (None, 0)
        assert store.get_conversation(second).title_source == "prompt"
    finally:
        gate.set()
