"""Completion mode's service against the fake server on a loopback socket: prompt and suffix from
the cursor, echo split off, best_of fetched whole, rounds saved as a document, errors explained."""

from __future__ import annotations

import pytest
from fake_openai import Fault
from openapi_spec import validate_request

from chat_tui.api.client import OpenAIClient
from chat_tui.api.errors import APIError
from chat_tui.core.config import Endpoint
from chat_tui.core.params import CompletionParams
from chat_tui.services import completions
from chat_tui.store import Store

MODEL = "gpt-3.5-turbo-instruct"


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "chat.db") as s:
        yield s


@pytest.fixture
async def client(fake_openai):
    async with OpenAIClient(Endpoint(name="fake", base_url=fake_openai.base_url)) as c:
        yield c


async def round_(client, store, text, cursor, params=CompletionParams(), document_id=None, events=None):
    return await completions.run_round(
        client, store, None, document_id=document_id, text=text, cursor=cursor, model=MODEL, params=params,
        endpoint_name="fake", on_event=events.append if events is not None else None)


async def test_the_cursor_splits_prompt_and_suffix_and_the_round_is_a_saved_document(fake_openai, client, store):
    fake_openai.answer = " brown fox"
    text = "The quick jumps over the lazy dog."
    cursor = text.index(" jumps")
    result = await round_(client, store, text, cursor, CompletionParams(max_tokens=8, temperature=0.5))
    body = fake_openai.last_request.json
    validate_request("CreateCompletionRequest", body)
    assert body["prompt"] == "The quick" and body["suffix"] == " jumps over the lazy dog." and body["stream"] is True
    assert result.reply.status == "complete" and result.texts == {0: " brown fox"}
    doc = store.get_conversation(result.document_id)
    assert (doc.kind, doc.document, doc.model, doc.title) == ("completion", text, MODEL, text[:60].strip())
    rows = store.messages(result.document_id)
    assert [(m.role, m.content) for m in rows] == [("user", "The quick"), ("assistant", " brown fox")]
    assert rows[1].params["suffix"] == " jumps over the lazy dog." and "prompt" not in rows[1].params
    new_text = text[:cursor] + " brown fox" + text[cursor:]
    completions.accept(store, result.document_id, rows[1].id, new_text)
    assert store.get_conversation(result.document_id).document == new_text
    assert store.get_message(rows[1].id).accepted is True
    # A second round continues the same document: its prompt row follows the first.
    second = await round_(client, store, new_text, len(new_text), CompletionParams(temperature=0.5), document_id=result.document_id)
    assert "suffix" not in fake_openai.last_request.json  # nothing after the cursor: not sent
    prompt_row = store.get_message(second.prompt_message_id)
    assert prompt_row.parent_id == rows[0].id and prompt_row.content == new_text
    completions.undo_accept(store, result.document_id, rows[1].id, text)
    assert store.get_message(rows[1].id).accepted is None and store.get_conversation(result.document_id).document == text
    loaded = completions.load_document(store, result.document_id)
    assert (loaded.text, loaded.rounds, loaded.params.temperature, loaded.params.suffix) == (text, 2, 0.5, None)
    assert store.search("quick")[0].conversation_id == result.document_id  # searchable like a chat


async def test_echo_sends_the_prompt_back_split_off_with_its_tokens(fake_openai, client, store):
    fake_openai.answer = " and more"
    events = []
    result = await round_(client, store, "Some words here", 15, CompletionParams(echo=True, logprobs=2), events=events)
    validate_request("CreateCompletionRequest", fake_openai.last_request.json)
    assert result.texts == {0: " and more"}  # the prompt is not part of the answer
    assert "".join(t.token for t in result.prompt_tokens) == "Some words here"
    answer_tokens = result.reply.choices[0].logprobs
    assert "".join(t.token for t in answer_tokens) == " and more" and all(t.top for t in answer_tokens)
    assert store.messages(result.document_id)[-1].content == " and more"


async def test_best_of_is_fetched_whole_and_n_choices_become_sibling_rows(fake_openai, client, store):
    params = CompletionParams(n=2, best_of=3)
    assert not completions.streams(params) and "cannot stream" not in (completions.best_of_note(params) or "x")
    assert "nothing can stream" in completions.best_of_note(params)
    result = await round_(client, store, "Once", 4, params)
    body = fake_openai.last_request.json
    validate_request("CreateCompletionRequest", body)
    assert "stream" not in body and body["best_of"] == 3 and body["n"] == 2
    assert sorted(result.texts) == [0, 1]
    assert [m.role for m in store.messages(result.document_id)] == ["user", "assistant", "assistant"]
    assert completions.check(CompletionParams(n=3, best_of=2)) == "best_of: must be at least n (3), got 2"


async def test_a_chat_only_model_gets_the_servers_error_explained(fake_openai, client, store):
    fake_openai.enqueue_fault(Fault("status", status=404, body={"error": {
        "message": "This is a chat model and not supported in the v1/completions endpoint. Did you mean to use v1/chat/completions?",
        "type": "invalid_request_error", "param": "model", "code": None}}))
    result = await round_(client, store, "Hello", 5)
    assert result.reply.status == "error" and isinstance(result.reply.error, APIError)
    explained = completions.explain_error(result.reply.error, MODEL)
    assert explained.startswith(f"{MODEL} only supports chat") and "gpt-3.5-turbo-instruct" in explained
    assert "chat model" in explained  # the server's own words are kept
    assert completions.explain_error(APIError("boom", status=500), MODEL) == str(APIError("boom", status=500))
    assert store.messages(result.document_id)[-1].status == "error"


async def test_a_dropped_stream_keeps_the_text_so_far(fake_openai, client, store):
    fake_openai.answer = "one two three four five six"
    fake_openai.enqueue_fault(Fault("drop", after=3))
    result = await round_(client, store, "Count:", 6)
    assert result.reply.status == "error"
    saved = store.messages(result.document_id)[-1]
    assert saved.status == "error" and saved.content == result.texts[0] and saved.content
