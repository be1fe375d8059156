"""Reasoning streamed by the server: parsed into its own events, recorded apart from the answer as it
streams (kept when the stream is cut), counted, exported and imported, and never sent back."""

from __future__ import annotations

import asyncio
import json

import pytest
from fake_openai import Fault
from openapi_spec import validate_request

from chat_tui.api.client import OpenAIClient
from chat_tui.api.events import Finish, Meta, ReasoningDelta, TextDelta, Usage
from chat_tui.api.sse import ServerSentEvent, SSEDecoder
from chat_tui.api.stream import ChatStreamParser, parse_chat_response
from chat_tui.core.config import Endpoint
from chat_tui.core.messages import ChatMessage
from chat_tui.core.params import ChatParams
from chat_tui.core.reasoning import thinking_label
from chat_tui.core.tokens import TokenCounter
from chat_tui.services.chat import request_history
from chat_tui.services.history import export_markdown, make_filter, page
from chat_tui.services.replies import run_reply
from chat_tui.store import Store
from chat_tui.store.importer import import_data

THOUGHT = "The user greets me. A greeting back, then — short and friendly."
ANSWER = "Hello! How can I help?"


def chunk(delta: dict, **extra) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps({"id": "c1", "model": "m", "choices": [
        {"index": 0, "delta": delta, "finish_reason": None}], **extra}))


# -- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_each_servers_field_becomes_a_reasoning_delta(field):
    parser = ChatStreamParser()
    events = parser.feed(chunk({"role": "assistant", field: "Let me"}))
    assert events[1:] == [ReasoningDelta(0, "Let me")] and isinstance(events[0], Meta)
    assert parser.feed(chunk({field: " think."})) == [ReasoningDelta(0, " think.")]
    # The turn from thinking to answering may come in one delta: the thought goes first.
    assert parser.feed(chunk({field: " Done.", "content": "Hi"})) == [ReasoningDelta(0, " Done."), TextDelta(0, "Hi")]
    assert parser.feed(chunk({field: None, "content": "!"})) == [TextDelta(0, "!")]
    assert parser.feed(chunk({field: "", "content": ""})) == []


def test_the_same_thought_under_both_names_is_taken_once():
    """vLLM's newer versions send `reasoning` and, for older clients, `reasoning_content`."""
    both = {"reasoning_content": "Hmm.", "reasoning": "Hmm."}
    assert ChatStreamParser().feed(chunk(both))[1:] == [ReasoningDelta(0, "Hmm.")]
    whole = parse_chat_response({"choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": "Yes.", **both}}]})
    assert whole == [ReasoningDelta(0, "Hmm."), TextDelta(0, "Yes."), Finish(0, "stop")]


def test_wrong_types_are_skipped_and_surrogates_cleaned():
    assert ChatStreamParser().feed(chunk({"reasoning_content": {"text": "x"}, "reasoning": 5}))[1:] == []
    assert ChatStreamParser().feed(chunk({"reasoning": "a\ud800b"}))[1:] == [ReasoningDelta(0, "a\ufffdb")]


def test_usage_says_how_many_completion_tokens_were_reasoning():
    usage = {"prompt_tokens": 5, "completion_tokens": 412, "total_tokens": 417,
             "completion_tokens_details": {"reasoning_tokens": 312}}
    (event,) = ChatStreamParser().feed(ServerSentEvent(data=json.dumps({"choices": [], "usage": usage})))
    assert isinstance(event, Usage) and (event.completion_tokens, event.reasoning_tokens) == (412, 312)
    for details in (None, {}, {"reasoning_tokens": None}, {"reasoning_tokens": "3"}, {"reasoning_tokens": -1}):
        assert Usage(1, 2, 3, raw={"completion_tokens_details": details}).reasoning_tokens is None


def test_a_body_split_anywhere_gives_the_same_thought_and_answer():
    body = b"".join(
        b"data: " + json.dumps({"choices": [{"index": 0, "delta": delta}]}, ensure_ascii=False).encode() + b"\r\n\r\n"
        for delta in ({"role": "assistant", "content": ""}, {"reasoning_content": "Über "},
                      {"reasoning_content": "das — "}, {"reasoning_content": "Problem 🤔"}, {"content": "Ja."})
    ) + b"data: [DONE]\r\n\r\n"
    for cut in range(1, len(body)):
        decoder, parser, events = SSEDecoder(), ChatStreamParser(), []
        for piece in (body[:cut], body[cut:]):
            for sse in decoder.feed(piece):
                events += parser.feed(sse)
        assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Über das — Problem 🤔", cut
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Ja." and parser.done


def test_the_label():
    assert thinking_label(4.213, 312) == "Thinking · 4.2 s · 312 tokens"
    assert thinking_label(2.6, 120, approx=True, live=True) == "Thinking… 3 s · ~120 tokens"
    assert thinking_label(None, 1) == "Thinking · 1 token"
    assert thinking_label(None, None, live=True) == "Thinking…"


# -- recorded over the loopback server ----------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "t.db") as s:
        yield s


@pytest.fixture
def counter(tiktoken_cache):
    return TokenCounter(tiktoken_cache)


async def reply(fake, store, counter, cid, parent, messages, model="o4-mini", **kw):
    client = OpenAIClient(Endpoint(name="fake", base_url=fake.base_url), backoff_base=0.01)
    try:
        return await run_reply(client, store, counter, conversation_id=cid, parent_id=parent, messages=messages,
                               model=model, params=kw.pop("params", ChatParams()), endpoint_name="fake", **kw)
    finally:
        await client.aclose()


def conversation(store):
    cid = store.create_conversation(title="t", model="o4-mini")
    return cid, store.add_message(cid, "user", "Hello there")


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_reasoning_is_stored_apart_with_its_count_and_time(fake_openai, store, counter, field):
    fake_openai.models = ["o4-mini"]
    fake_openai.answer, fake_openai.reasoning, fake_openai.reasoning_field = ANSWER, THOUGHT, field
    fake_openai.rate = 100  # the thought takes ~0.1 s to stream
    cid, uid = conversation(store)
    seen = []
    result = await reply(fake_openai, store, counter, cid, uid, [ChatMessage("user", "Hello there")],
                         on_event=seen.append, params=ChatParams(reasoning_effort="low"))
    assert result.status == "complete" and result.text == ANSWER and result.reasoning == THOUGHT
    kinds = [type(e).__name__ for e in seen if isinstance(e, (ReasoningDelta, TextDelta))]
    assert kinds.index("TextDelta") == kinds.count("ReasoningDelta")  # every thought before the answer
    row = store.get_message(result.message_id)
    thought_tokens = len(THOUGHT.split())  # the fake server sends a word per chunk and counts words
    assert (row.content, row.reasoning, row.reasoning_tokens) == (ANSWER, THOUGHT, thought_tokens)
    assert row.completion_tokens == thought_tokens + len(ANSWER.split())  # the server's count holds both
    local_thought = counter.count_completion(THOUGHT, "o4-mini").tokens
    assert row.reasoning_tokens_local == local_thought
    assert row.completion_tokens_local == counter.count_completion(ANSWER, "o4-mini").tokens + local_thought
    assert 0.05 < row.reasoning_duration < row.duration and row.ttft < row.reasoning_duration
    assert row.params["reasoning_effort"] == "low"
    assert store.search("friendly") == []  # the index holds answers
    # The history's parameter filter finds it by its effort (the same grammar as compare lanes).
    found = page(store, filters=make_filter(params="reasoning_effort=low")).rows
    assert [r.id for r in found] == [cid] and page(store, filters=make_filter(params="reasoning_effort=high")).rows == []


async def test_the_next_request_carries_the_answer_not_the_thought(fake_openai, store, counter):
    fake_openai.models = ["o4-mini"]
    fake_openai.answer, fake_openai.reasoning = ANSWER, THOUGHT
    cid, uid = conversation(store)
    first = await reply(fake_openai, store, counter, cid, uid, [ChatMessage("user", "Hello there")])
    follow = store.add_message(cid, "user", "And now?", parent_id=first.message_id)
    await reply(fake_openai, store, counter, cid, follow, request_history(store.thread(cid)))
    body = fake_openai.last_request.json
    validate_request("CreateChatCompletionRequest", body)
    assert body["messages"] == [{"role": "user", "content": "Hello there"}, {"role": "assistant", "content": ANSWER},
                                {"role": "user", "content": "And now?"}]
    assert "friendly" not in json.dumps(body)


async def test_a_cut_stream_keeps_the_thought_so_far(fake_openai, store, counter):
    fake_openai.models = ["o4-mini"]
    fake_openai.answer, fake_openai.reasoning = ANSWER, THOUGHT
    fake_openai.enqueue_fault(Fault("drop", after=4))  # four words of thought, then the line goes dead
    cid, uid = conversation(store)
    result = await reply(fake_openai, store, counter, cid, uid, [ChatMessage("user", "Hello there")])
    row = store.get_message(result.message_id)
    assert result.status == "error" and row.status == "error" and "dropped" in row.error
    assert (row.content, row.reasoning) == ("", "The user greets me. ")
    assert row.reasoning_duration is not None and row.reasoning_tokens_local == counter.count_completion(
        "The user greets me. ", "o4-mini").tokens


async def test_a_stopped_reply_keeps_its_thought_and_the_partial_flush_has_it(fake_openai, store, counter, tmp_path):
    fake_openai.models = ["o4-mini"]
    fake_openai.answer, fake_openai.reasoning = ANSWER, " ".join(f"step{i}" for i in range(400))
    fake_openai.rate = 100
    cid, uid = conversation(store)
    thoughts = 0
    flushed = asyncio.Event()

    def on_event(event):
        nonlocal thoughts
        if isinstance(event, ReasoningDelta):
            thoughts += 1
            if thoughts == 30:
                flushed.set()

    task = asyncio.create_task(reply(fake_openai, store, counter, cid, uid, [ChatMessage("user", "Hello there")],
                                     on_event=on_event, flush_interval=0.1))
    await flushed.wait()
    with Store(tmp_path / "t.db") as other:  # another connection sees the thought while it streams
        row = other.thread(cid)[-1]
        assert row.status == "streaming" and row.reasoning.startswith("step0 step1") and row.content == ""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    row = store.thread(cid)[-1]
    assert row.status == "cancelled" and row.content == ""
    assert row.reasoning.startswith("step0 step1 step2") and "step399" not in row.reasoning
    assert row.reasoning_duration > 0


async def test_whole_answers_and_several_choices_keep_each_thought(fake_openai, store, counter):
    fake_openai.models = ["o4-mini"]
    fake_openai.answer, fake_openai.reasoning = ANSWER, THOUGHT
    cid, uid = conversation(store)
    result = await reply(fake_openai, store, counter, cid, uid, [ChatMessage("user", "Hello there")], stream=False)
    row = store.get_message(result.message_id)
    assert (row.content, row.reasoning, row.reasoning_tokens) == (ANSWER, THOUGHT, len(THOUGHT.split()))
    result = await reply(fake_openai, store, counter, cid, uid, [ChatMessage("user", "Hello there")],
                         params=ChatParams(n=2))
    rows = [store.get_message(c.message_id) for c in result.choices.values()]
    assert [r.reasoning for r in rows] == [THOUGHT, THOUGHT] and [r.content for r in rows] == [f"[0] {ANSWER}", f"[1] {ANSWER}"]
    assert [r.reasoning_tokens for r in rows] == [None, None]  # usage is for the request, not per choice


async def test_a_model_that_does_not_think_stores_no_thought(fake_openai, store, counter):
    cid, uid = conversation(store)
    result = await reply(fake_openai, store, counter, cid, uid, [ChatMessage("user", "Hello there")], model="gpt-4o-mini")
    row = store.get_message(result.message_id)
    assert (row.reasoning, row.reasoning_tokens_local, row.reasoning_duration) == (None, None, None)
    assert row.reasoning_tokens == 0  # OpenAI's usage says so


async def test_export_and_import_carry_the_thought(fake_openai, store, counter, tmp_path):
    fake_openai.models = ["o4-mini"]
    fake_openai.answer, fake_openai.reasoning = ANSWER, THOUGHT
    cid, uid = conversation(store)
    result = await reply(fake_openai, store, counter, cid, uid, [ChatMessage("user", "Hello there")])
    markdown = export_markdown(store, store.get_conversation(cid))
    row = store.get_message(result.message_id)
    label = thinking_label(row.reasoning_duration, row.reasoning_tokens)
    assert f"<details><summary>{label}</summary>\n\n{THOUGHT}\n\n</details>\n\n{ANSWER}" in markdown
    document = json.loads(json.dumps(store.export_conversation(cid)))
    with Store(tmp_path / "other.db") as other:
        report = import_data(other, document)
        (copy,) = [m for m in other.messages(report.conversation_ids[0]) if m.role == "assistant"]
    assert (copy.content, copy.reasoning, copy.reasoning_tokens, copy.reasoning_tokens_local, copy.reasoning_duration) == (
        row.content, row.reasoning, row.reasoning_tokens, row.reasoning_tokens_local, row.reasoning_duration)
    # A file from before version 11 (no reasoning keys) still imports.
    for m in document["messages"]:
        for key in ("reasoning", "reasoning_tokens", "reasoning_tokens_local", "reasoning_duration"):
            m.pop(key)
    document["conversation"]["id"] = 999
    with Store(tmp_path / "third.db") as third:
        assert import_data(third, document).imported == 1
    document["messages"][1]["reasoning"] = 42
    with Store(tmp_path / "fourth.db") as fourth, pytest.raises(Exception, match="'reasoning' should be str"):
        import_data(fourth, document)
