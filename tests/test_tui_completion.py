"""Completion mode driven like a user (Pilot) against the fake server on a loopback socket: type,
move the cursor, generate, accept, undo, reject, regenerate, n > 1 pick, probabilities, errors,
and reopening the saved document from history."""

from __future__ import annotations

from fake_openai import Fault
from openapi_spec import validate_request

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Endpoint
from chat_tui.store import Store
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens.completion import CompletionScreen
from chat_tui.ui.widgets.completion_params import CompletionParamsPane
from chat_tui.ui.widgets.document_area import DocumentArea
from chat_tui.ui.widgets.probability import ProbabilityScreen

COMPLETIONS = "/v1/completions"


def make_app(fake, tmp_path) -> tuple[ChatApp, Store]:
    ep = Endpoint(name="fake", base_url=fake.base_url)
    store = Store(tmp_path / "ui.db")
    return ChatApp(ep, store, client=OpenAIClient(ep), model="gpt-3.5-turbo-instruct"), store


def posts(fake) -> list:
    return [r for r in fake.requests if r.path == COMPLETIONS]


async def open_mode(pilot) -> tuple[CompletionScreen, DocumentArea]:
    await pilot.press("f6")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, CompletionScreen)
    return screen, screen.query_one(DocumentArea)


async def generate(pilot, key: str = "ctrl+g") -> None:
    await pilot.press(key)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_insert_mode_generates_at_the_cursor_and_accept_then_undo(fake_openai, tmp_path):
    fake_openai.answer = " brown fox"
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen, area = await open_mode(pilot)
        await pilot.press(*"The quick jumps.")
        await pilot.press(*["left"] * len(" jumps."))
        header = str(screen.query_one("#completion-header").render())
        assert "insert mode: 7 characters after the cursor are the suffix" in header
        await generate(pilot)
        body = posts(fake_openai)[-1].json
        validate_request("CreateCompletionRequest", body)
        assert (body["prompt"], body["suffix"], body["stream"]) == ("The quick", " jumps.", True)
        assert "max_tokens" not in body  # the API's default (16), as the pane says
        assert area.text == "The quick brown fox jumps." and screen.state == "pending"
        assert area.generated_text == " brown fox" and area.read_only
        await pilot.press("x")  # the document is read-only until the round is decided
        assert area.text == "The quick brown fox jumps."
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert screen.state == "editing" and not area.read_only and area.generated_start is None
        cid = screen.document_id
        conv = store.get_conversation(cid)
        assert (conv.kind, conv.document) == ("completion", "The quick brown fox jumps.")
        answer = store.messages(cid)[-1]
        assert answer.accepted is True and answer.params["suffix"] == " jumps."
        await pilot.press("ctrl+z")  # one step takes the whole round out
        await pilot.pause()
        assert area.text == "The quick jumps."
        assert store.get_conversation(cid).document == "The quick jumps."
        assert store.get_message(answer.id).accepted is None


async def test_reject_and_regenerate_keep_the_document_and_record_the_choice(fake_openai, tmp_path):
    answers = iter([" one", " two"])
    fake_openai.answer = lambda body: next(answers)
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen, area = await open_mode(pilot)
        await pilot.press(*"Count:")
        await generate(pilot)
        assert area.text == "Count: one"
        await generate(pilot, "ctrl+r")  # rejects this round and asks again at the same place
        assert area.text == "Count: two" and screen.state == "pending"
        assert [p.json["prompt"] for p in posts(fake_openai)] == ["Count:", "Count:"]
        await pilot.press("escape")  # reject
        await pilot.pause()
        assert area.text == "Count:" and screen.state == "editing"
        rows = [m for m in store.messages(screen.document_id) if m.role == "assistant"]
        assert [(m.content, m.accepted) for m in rows] == [(" one", False), (" two", False)]
        await pilot.press("escape")  # nothing pending: back to the chat
        await pilot.pause()
        assert not isinstance(app.screen, CompletionScreen)


async def test_n_choices_stream_side_by_side_and_the_pick_goes_in_at_the_cursor(fake_openai, tmp_path):
    fake_openai.answer = " alpha beta"
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        screen, area = await open_mode(pilot)
        screen.query_one("#cparam-n").value = "2"
        await pilot.pause()
        assert screen.params.n == 2
        area.focus()
        await pilot.press(*"Words:")
        await generate(pilot)
        assert screen.state == "choosing" and len(screen._columns) == 2
        assert posts(fake_openai)[-1].json["n"] == 2
        texts = [col.text for col in screen._columns]
        assert texts == ["[0]  alpha beta", "[1]  alpha beta"]  # the fake server numbers its choices
        await pilot.press("2")
        await pilot.pause()
        assert screen.state == "pending" and area.text == "Words:" + texts[1] and screen.choice_index == 1
        await pilot.press("ctrl+y")
        await pilot.pause()
        rows = [m for m in store.messages(screen.document_id) if m.role == "assistant"]
        assert [m.accepted for m in rows] == [False, True]


async def test_best_of_is_explained_and_fetched_whole(fake_openai, tmp_path):
    fake_openai.answer = " whole"
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen, area = await open_mode(pilot)
        screen.query_one("#cparam-best_of").value = "3"
        await pilot.pause()
        assert "nothing can stream" in str(screen.query_one("#cparam-note").render())
        screen.query_one("#cparam-n").value = "4"  # best_of must be at least n: said under the field
        await pilot.pause()
        assert "must be at least n" in str(screen.query_one("#cerror-n").render())
        assert screen.params.n is None
        area.focus()
        await pilot.press(*"Go")
        await generate(pilot)
        body = posts(fake_openai)[-1].json
        validate_request("CreateCompletionRequest", body)
        assert body["best_of"] == 3 and "stream" not in body
        assert area.text == "Go whole" and screen.state == "pending"


async def test_probabilities_colour_the_tokens_and_echo_adds_the_prompt(fake_openai, tmp_path):
    fake_openai.answer = " sat down"
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen, area = await open_mode(pilot)
        pane = screen.query_one(CompletionParamsPane)
        screen.query_one("#cparam-logprobs").value = "3"
        screen.query_one("#cparam-echo").value = True
        await pilot.pause()
        assert (pane.params.logprobs, pane.params.echo) == (3, True)
        area.focus()
        await pilot.press(*"The cat")
        await generate(pilot)
        body = posts(fake_openai)[-1].json
        validate_request("CreateCompletionRequest", body)
        assert area.text == "The cat sat down"  # the echoed prompt is not inserted again
        assert "".join(t.token for t in screen.prompt_tokens) == "The cat"
        assert "".join(t.token for t in screen.answer_tokens) == " sat down"
        area.move_cursor((0, len("The cat s")))  # on a generated token: its alternatives
        await pilot.pause()
        info = str(screen.query_one("#token-info").render())
        assert "top alternatives" in info and 'token " sat' in info
        line = area.get_line(0)
        assert any(span.start >= len("The cat") and getattr(span.style, "color", None) for span in line.spans)
        await pilot.press("ctrl+l")
        await pilot.pause()
        view = app.screen
        assert isinstance(view, ProbabilityScreen)
        assert "perplexity" in view.summary and len(view.items) == len(screen.prompt_tokens) + len(screen.answer_tokens)


async def test_a_chat_only_model_is_explained_and_the_typed_text_survives(fake_openai, tmp_path):
    fake_openai.enqueue_fault(Fault("status", status=404, path=COMPLETIONS, body={"error": {
        "message": "This is a chat model and not supported in the v1/completions endpoint. Did you mean to use v1/chat/completions?",
        "type": "invalid_request_error", "param": "model", "code": None}}))
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen, area = await open_mode(pilot)
        model = screen.query_one("#completion-model")
        model.value = "gpt-4o"
        await pilot.pause()
        area.focus()
        await pilot.press(*"My draft")
        await generate(pilot)
        assert area.text == "My draft" and screen.state == "editing" and not area.read_only
        assert any("gpt-4o only supports chat" in n and "gpt-3.5-turbo-instruct" in n for n in notes(app))
        assert "only supports chat" in str(screen.query_one("#completion-status").render())


async def test_a_stream_cut_mid_way_keeps_the_text_to_accept_or_reject(fake_openai, tmp_path):
    fake_openai.answer = "one two three four five"
    fake_openai.enqueue_fault(Fault("drop", after=2, path=COMPLETIONS))
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen, area = await open_mode(pilot)
        await pilot.press(*"Say:")
        await generate(pilot)
        assert screen.state == "pending" and area.generated_text and area.text.startswith("Say:")
        assert store.messages(screen.document_id)[-1].status == "error"


async def test_a_saved_document_reopens_from_history_in_completion_mode(fake_openai, tmp_path):
    fake_openai.answer = " and so on"
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen, area = await open_mode(pilot)
        await pilot.press(*"Chapter one")
        await generate(pilot)
        await pilot.press("ctrl+y")
        await pilot.press("f6")  # back to the chat
        await pilot.pause()
        cid = screen.document_id
        from chat_tui.services.history import history_page

        rows = history_page(store)
        assert (rows[0].id, rows[0].kind) == (cid, "completion")
        from chat_tui.ui.conversation_rows import row_title

        assert row_title(rows[0]) == "[completion] Chapter one"  # shown as a document
        await app.chat.open_conversation(cid)  # as the sidebar and the history screen do
        await pilot.pause()
        reopened = app.screen
        assert isinstance(reopened, CompletionScreen) and reopened.document_id == cid
        assert reopened.query_one(DocumentArea).text == "Chapter one and so on"
        assert "1 round" in str(reopened.query_one("#completion-header").render())


def test_the_model_list_keeps_completion_capable_models_where_the_endpoint_says_so():
    from chat_tui.api.resources.models import ModelEntry
    from chat_tui.services.completions import completion_models

    azure = [ModelEntry("gpt-35-turbo-instruct", raw={"capabilities": {"completion": True, "chat_completion": False}}),
             ModelEntry("gpt-4o", raw={"capabilities": {"completion": False, "chat_completion": True}}),
             ModelEntry("text-embedding-3-small", raw={"type": "embeddings"})]
    assert completion_models(azure) == (["gpt-35-turbo-instruct"], True)
    plain = [ModelEntry("gpt-4o"), ModelEntry("davinci-002")]
    assert completion_models(plain) == (["gpt-4o", "davinci-002"], False)  # nothing said: all listed
