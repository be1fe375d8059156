"""Edits: the parameters (core/params/edits.py), the diff (core/diff.py), `client.edits` against the
fake server (bodies validated against the 2023 spec's CreateEditRequest) and the service that
picks /v1/edits or chat (services/edits.py), with faults."""

from __future__ import annotations

import random
import subprocess
import time

import pytest
from fake_openai import Fault, FakeOpenAI, apply_edit
from openapi_spec import validate_request

from chat_tui.api import errors
from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Endpoint
from chat_tui.core.diff import DiffOp, line_diff, unified, word_diff
from chat_tui.core.params import EditParams, ParamError
from chat_tui.services.edits import (
    EDIT_SYSTEM_PROMPT, accept, lacks_edits, load_edit_document, reject, run_edit, strip_fence, undo_accept,
)
from chat_tui.store import Store
from chat_tui.store.documents import endpoint_feature

EDITS = "/v1/edits"
CHAT = "/v1/chat/completions"


def client_for(fake: FakeOpenAI, **kw) -> OpenAIClient:
    return OpenAIClient(Endpoint(name="fake", base_url=fake.base_url), backoff_base=0.01, **kw)


def chat_edit(body: dict) -> str:
    instruction, text = body["messages"][-1]["content"].removeprefix("Instruction: ").split("\n\nText:\n", 1)
    return apply_edit(text, instruction)


def posts(fake: FakeOpenAI, path: str) -> list:
    return [r for r in fake.requests if r.path == path]


# -- parameters ----------------------------------------------------------------------------------


def test_the_body_carries_what_is_set_and_is_valid_against_the_2023_spec():
    body = EditParams.from_options([("n", 3), ("temperature", "0.5"), ("top_p", 1)]).body("m", "text", "Fix it")
    assert body == {"model": "m", "input": "text", "instruction": "Fix it", "n": 3, "temperature": 0.5, "top_p": 1}
    validate_request("CreateEditRequest", body, spec="2023")
    validate_request("CreateEditRequest", EditParams().body("m", "", "Write a poem"), spec="2023")


@pytest.mark.parametrize("name, value, needle", [
    ("n", 0, "between 1 and 20"), ("n", 21, "between 1 and 20"), ("n", 1.5, "whole number"),
    ("temperature", 2.1, "between 0 and 2"), ("top_p", -0.1, "between 0 and 1"), ("top_p", "x", "number"),
    ("best_of", 2, "unknown parameter"),
])
def test_parameters_out_of_the_2023_limits_are_refused(name, value, needle):
    with pytest.raises(ParamError, match=needle):
        EditParams().with_option(name, value)


@pytest.mark.parametrize("instruction", ["", "   \n", None])
def test_an_instruction_is_required(instruction):
    with pytest.raises(ParamError, match="instruction"):
        EditParams().body("m", "text", instruction)


def test_the_chat_emulation_keeps_the_sampling():
    chat = EditParams(n=2, temperature=0.3, top_p=0.9).as_chat()
    assert (chat.n, chat.temperature, chat.top_p) == (2, 0.3, 0.9)


# -- the diff ------------------------------------------------------------------------------------


def rebuilt(ops: list[DiffOp]) -> tuple[str, str]:
    return "".join(o.text for o in ops if o.tag != "insert"), "".join(o.text for o in ops if o.tag != "delete")


def test_a_word_diff_marks_only_the_changed_word():
    assert word_diff("What day of the wek is it?\n", "What day of the week is it?\n") == [
        DiffOp("equal", "What day of the "), DiffOp("delete", "wek"), DiffOp("insert", "week"),
        DiffOp("equal", " is it?\n")]


@pytest.mark.parametrize("old, new", [("", ""), ("", "new\n"), ("gone\n", ""), ("a\nb", "a\nb\n"), ("a\nb\n", "a\nb"),
                                      ("x", "x"), ("one two\nthree\n", "one\ntwo three\n")])
def test_edge_cases_rebuild_both_texts(old, new):
    for ops in (word_diff(old, new), line_diff(old, new)):
        assert rebuilt(ops) == (old, new)
        assert all(o.text for o in ops)


def test_random_texts_rebuild_and_the_unified_diff_applies_with_patch(tmp_path):
    rng = random.Random(7)
    pool = ["alpha\n", "beta\n", "gamma delta\n", "x\n", "tail", "\n"]
    for round_ in range(60):
        old = "".join(rng.choice(pool) for _ in range(rng.randint(0, 15)))
        new = "".join(rng.choice(pool + ["new\n"]) for _ in range(rng.randint(0, 15)))
        assert rebuilt(word_diff(old, new)) == (old, new)
        if round_ % 6 == 0:
            (tmp_path / "f").write_text(old)
            patch = unified(old, new, from_name="f", to_name="f")
            if patch:
                subprocess.run(["patch", "-s", str(tmp_path / "f")], input=patch, text=True, check=True)
            assert (tmp_path / "f").read_text() == new


def test_unified_marks_a_missing_final_newline_and_is_empty_without_changes():
    assert unified("a\nb", "a\nb\n") == ("--- input\n+++ edited\n@@ -1,2 +1,2 @@\n a\n-b\n"
                                         "\\ No newline at end of file\n+b\n")
    assert unified("same\n", "same\n") == ""


@pytest.mark.timing
def test_a_huge_text_with_scattered_edits_diffs_quickly():
    old = "".join(f"line {i} of the document\n" for i in range(100_000))
    new = old.replace("line 5 ", "LINE 5 ").replace("line 77777 ", "row 77777 ")
    new = "".join(line for k, line in enumerate(new.splitlines(keepends=True)) if k % 9)
    start = time.monotonic()
    ops = word_diff(old, new)
    patch = unified(old, new)
    assert time.monotonic() - start < 5  # difflib alone: minutes (quadratic on 11,000 gaps)
    assert rebuilt(ops) == (old, new) and patch.count("\n-") >= 11_000


# -- client.edits ----------------------------------------------------------------------------------


async def test_create_returns_every_choice_and_the_usage(fake_openai):
    async with client_for(fake_openai) as client:
        result = await client.edits.create("teh cat", "Fix the spelling", "gpt-4o-mini", EditParams(n=2, temperature=0))
    assert result.texts == ["[0] the cat", "[1] the cat"]
    assert [c.finish_reason for c in result.choices] == ["stop", "stop"]
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens > 0
    (request,) = fake_openai.requests
    assert request.path == EDITS and request.json == result.body
    validate_request("CreateEditRequest", request.json, spec="2023")


async def test_a_500_is_retried(fake_openai):
    fake_openai.enqueue_fault(Fault("status", status=500, path=EDITS))
    async with client_for(fake_openai) as client:
        result = await client.edits.create("teh", "Fix the spelling", "m", EditParams())
    assert result.texts == ["the"] and [r.status for r in fake_openai.requests] == [500, 200]


async def test_a_dropped_answer_is_a_stream_error(fake_openai):
    fake_openai.enqueue_fault(Fault("drop", path=EDITS))
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.StreamError):
            await client.edits.create("teh", "Fix the spelling", "m", EditParams())


async def test_an_answer_without_choices_is_a_stream_error(fake_openai):
    fake_openai.enqueue_fault(Fault("malformed", path=EDITS, body='{"object": "edit", "choices": []}'))
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.StreamError, match="no choices"):
            await client.edits.create("teh", "Fix the spelling", "m", EditParams())


# -- the service: native or emulated ---------------------------------------------------------------


async def test_native_is_remembered_and_the_round_is_saved(fake_openai, tmp_path):
    store = Store(tmp_path / "e.db")
    async with client_for(fake_openai) as client:
        outcome = await run_edit(client, store, "fake", "gpt-4o-mini", "teh end\n", "Fix the spelling", EditParams(n=2))
    assert outcome.mode == "native" and endpoint_feature(store, "fake", "edits") == "native"
    conv = store.get_conversation(outcome.document_id)
    assert conv.kind == "edit" and conv.document == "teh end\n" and conv.endpoint == "fake"
    user, *choices = store.messages(outcome.document_id)
    assert user.role == "user" and user.content == "Fix the spelling"
    assert [c.content for c in choices] == ["[0] the end\n", "[1] the end\n"]
    assert all(c.parent_id == user.id and c.status == "complete" for c in choices)
    assert choices[0].params == {"model": "gpt-4o-mini", "input": "teh end\n", "instruction": "Fix the spelling",
                                 "n": 2, "mode": "native"}


async def test_a_404_falls_back_to_chat_and_later_edits_skip_v1_edits(fake_openai, tmp_path):
    fake_openai.serves_edits = False
    fake_openai.answer = lambda body: "```text\n" + chat_edit(body) + "\n```"
    store = Store(tmp_path / "e.db")
    async with client_for(fake_openai) as client:
        first = await run_edit(client, store, "fake", "gpt-4o-mini", "teh\n", "Fix the spelling", EditParams(temperature=0.2))
        second = await run_edit(client, store, "fake", "gpt-4o-mini", "a b", "replace b with c", EditParams(),
                                document_id=first.document_id)
    assert [first.mode, second.mode] == ["emulated", "emulated"]
    assert [c.text for c in first.choices] == ["the\n"] and [c.text for c in second.choices] == ["a c"]
    assert [r.path for r in fake_openai.requests] == [EDITS, CHAT, CHAT]
    assert fake_openai.requests[0].status == 404
    chat = fake_openai.requests[1].json
    validate_request("CreateChatCompletionRequest", chat)
    assert chat["messages"][0] == {"role": "system", "content": EDIT_SYSTEM_PROMPT} and chat["temperature"] == 0.2
    assert endpoint_feature(store, "fake", "edits") == "emulated"
    saved = [m for m in store.messages(first.document_id) if m.role == "assistant"]
    assert saved[0].params["mode"] == "emulated" and saved[0].params["input"] == "teh\n"
    assert [m.role for m in store.messages(first.document_id)] == ["user", "assistant", "user", "assistant"]


async def test_a_server_that_ignores_n_gets_one_request_per_missing_choice(fake_openai, tmp_path):
    fake_openai.serves_edits = False
    fake_openai.answer = chat_edit
    store = Store(tmp_path / "e.db")
    ignored = Fault("malformed", path=CHAT, when=lambda body: body.get("n") == 3,
                    body='{"object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant",'
                         ' "content": "one"}, "finish_reason": "stop"}]}')
    fake_openai.enqueue_fault(ignored)
    async with client_for(fake_openai) as client:
        outcome = await run_edit(client, store, "fake", "gpt-4o-mini", "teh", "Fix the spelling", EditParams(n=3))
    assert [c.text for c in outcome.choices] == ["one", "the", "the"]
    assert any("ignored n=3" in note for note in outcome.notes)
    chats = posts(fake_openai, CHAT)
    assert [r.json.get("n") for r in chats] == [3, None, None]


async def test_a_model_that_cannot_edit_falls_back_once_without_remembering(fake_openai, tmp_path):
    fake_openai.enqueue_fault(Fault("status", status=404, path=EDITS))  # model_not_found, by default
    fake_openai.answer = chat_edit
    store = Store(tmp_path / "e.db")
    async with client_for(fake_openai) as client:
        outcome = await run_edit(client, store, "fake", "gpt-4o-mini", "teh", "Fix the spelling", EditParams())
    assert outcome.mode == "emulated" and endpoint_feature(store, "fake", "edits") is None


@pytest.mark.parametrize("fault, kind", [
    (Fault("status", status=401), errors.AuthenticationError),
    (Fault("status", status=500), errors.ServerError),
    (Fault("drop"), errors.StreamError),
])
async def test_real_errors_are_raised_and_nothing_is_saved(fake_openai, tmp_path, fault, kind):
    fake_openai.enqueue_fault(fault, fault, fault)
    store = Store(tmp_path / "e.db")
    async with client_for(fake_openai, max_retries=1) as client:
        with pytest.raises(kind):
            await run_edit(client, store, "fake", "gpt-4o-mini", "teh", "Fix the spelling", EditParams())
    assert store.list_conversations() == [] and endpoint_feature(store, "fake", "edits") is None


def test_lacks_edits_tells_a_missing_route_from_a_model_and_a_real_error():
    assert lacks_edits(errors.NotFoundError("Invalid URL (POST /v1/edits)", status=404)) == "endpoint"
    assert lacks_edits(errors.APIError("Method Not Allowed", status=405)) == "endpoint"
    assert lacks_edits(errors.NotFoundError("no such model", status=404, code="model_not_found")) == "model"
    assert lacks_edits(errors.BadRequestError("This model does not support edits", status=400)) == "model"
    assert lacks_edits(errors.BadRequestError("context length", status=400)) is None
    assert lacks_edits(errors.ServerError("oops", status=500)) is None


@pytest.mark.parametrize("answer, input, expected", [
    ("```\nfixed\n```", "x\n", "fixed\n"),
    ("```python\ndef f():\n    pass\n```", "def f(): pass", "def f():\n    pass"),
    ("plain\n", "no newline", "plain"),
    ("plain", "with newline\n", "plain\n"),
    ("```a```\ntext\n```b```", "", "```a```\ntext\n```b```"),
])
def test_strip_fence(answer, input, expected):
    assert strip_fence(answer, input) == expected


async def test_accept_reject_and_undo_are_recorded(fake_openai, tmp_path):
    store = Store(tmp_path / "e.db")
    async with client_for(fake_openai) as client:
        outcome = await run_edit(client, store, "fake", "m", "teh", "Fix the spelling", EditParams(n=2))
    first, second = outcome.choices
    accept(store, outcome.document_id, second.message_id, second.text)
    assert store.get_conversation(outcome.document_id).document == "[1] the"
    assert store.get_message(second.message_id).accepted is True
    undo_accept(store, outcome.document_id, second.message_id, "teh")
    assert store.get_conversation(outcome.document_id).document == "teh"
    assert store.get_message(second.message_id).accepted is None
    reject(store, [first.message_id, second.message_id])
    assert [store.get_message(c.message_id).accepted for c in outcome.choices] == [False, False]
    doc = load_edit_document(store, outcome.document_id)
    assert (doc.text, doc.instruction, doc.params, doc.mode) == ("teh", "Fix the spelling", EditParams(n=2), "native")


def test_load_edit_document_refuses_a_chat(tmp_path):
    store = Store(tmp_path / "e.db")
    cid = store.create_conversation(title="a chat")
    with pytest.raises(LookupError):
        load_edit_document(store, cid)
    with pytest.raises(LookupError):
        load_edit_document(store, 999)
