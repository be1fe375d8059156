"""run_reply: the answer is in the database while it streams, and ends marked however it ends."""

from __future__ import annotations

import asyncio

import pytest
from fake_openai import Fault

from chat_tui.api.client import OpenAIClient
from chat_tui.api.events import TextDelta
from chat_tui.core.config import Endpoint
from chat_tui.core.messages import ChatMessage
from chat_tui.core.params import ChatParams
from chat_tui.core.tokens import TokenCounter
from chat_tui.services.replies import run_reply
from chat_tui.store import Store


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "t.db") as s:
        yield s


@pytest.fixture
def counter(tiktoken_cache):
    return TokenCounter(tiktoken_cache)


def setup_conversation(store):
    cid = store.create_conversation(title="t", model="gpt-4o-mini")
    uid = store.add_message(cid, "user", "Hello there")
    return cid, uid


async def reply(fake, store, counter, cid, uid, **kw):
    client = OpenAIClient(Endpoint(name="fake", base_url=fake.base_url), backoff_base=0.01)
    try:
        return await run_reply(
            client, store, counter, conversation_id=cid, parent_id=uid,
            messages=[ChatMessage("user", "Hello there")], model="gpt-4o-mini",
            params=kw.pop("params", ChatParams()), endpoint_name="fake", **kw,
        )
    finally:
        await client.aclose()


async def test_partial_text_is_flushed_while_streaming(fake_openai, store, counter, tmp_path):
    fake_openai.answer = " ".join(f"t{i}" for i in range(60))
    fake_openai.rate = 60  # one second
    cid, uid = setup_conversation(store)
    seen_partial = []
    flushes = []
    original = store.flush_partial

    def counting_flush(mid, content, *reasoning):
        flushes.append(len(content))
        return original(mid, content, *reasoning)

    store.flush_partial = counting_flush
    deltas = 0

    def on_event(event):
        nonlocal deltas
        if isinstance(event, TextDelta):
            deltas += 1
            if deltas == 40:
                # Another connection (another process, or a crash survivor) sees the partial answer.
                with Store(tmp_path / "t.db") as other:
                    row = other.thread(cid)[-1]
                    seen_partial.append((row.status, row.content))

    result = await reply(fake_openai, store, counter, cid, uid, on_event=on_event, flush_interval=0.25)
    assert result.status == "complete"
    status, content = seen_partial[0]
    assert status == "streaming" and content and fake_openai.answer.startswith(content)
    assert 2 <= len(flushes) <= 6  # about four a second, not one per token (60 tokens)
    row = store.get_message(result.message_id)
    assert row.status == "complete" and row.content == fake_openai.answer
    assert row.completion_tokens == 60 and row.completion_tokens_local == counter.count_text(fake_openai.answer, "gpt-4o-mini").tokens
    assert row.prompt_tokens_local == counter.count_messages([ChatMessage("user", "Hello there")], "gpt-4o-mini").tokens


async def test_cancel_keeps_partial_answer_marked(fake_openai, store, counter):
    fake_openai.answer = " ".join(["word"] * 500)
    fake_openai.rate = 100
    cid, uid = setup_conversation(store)
    got = asyncio.Event()
    count = 0

    def on_event(event):
        nonlocal count
        if isinstance(event, TextDelta):
            count += 1
            if count == 5:
                got.set()

    task = asyncio.create_task(reply(fake_openai, store, counter, cid, uid, on_event=on_event))
    await got.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    row = store.thread(cid)[-1]
    assert row.role == "assistant" and row.status == "cancelled"
    assert row.content.startswith("word word word word word") and len(row.content) < 500 * 5
    assert row.ttft is not None and row.duration >= row.ttft


async def test_error_mid_stream_is_recorded_with_partial_text(fake_openai, store, counter):
    fake_openai.answer = "alpha beta gamma delta"
    fake_openai.enqueue_fault(Fault("error_event", after=2))
    cid, uid = setup_conversation(store)
    result = await reply(fake_openai, store, counter, cid, uid)
    assert result.status == "error"
    row = store.get_message(result.message_id)
    assert row.status == "error" and row.content == "alpha beta " and row.error


async def test_error_before_any_text(fake_openai, store, counter):
    fake_openai.enqueue_fault(Fault("status", status=401))
    cid, uid = setup_conversation(store)
    result = await reply(fake_openai, store, counter, cid, uid)
    assert result.status == "error" and result.error.status == 401
    row = store.get_message(result.message_id)
    assert row.status == "error" and row.content == "" and "HTTP 401" in row.error


async def test_n_choices_become_sibling_rows(fake_openai, store, counter):
    cid, uid = setup_conversation(store)
    result = await reply(fake_openai, store, counter, cid, uid, params=ChatParams(n=3, logprobs=True, top_logprobs=2))
    kids = store.children(uid)
    assert [k.content for k in kids] == [f"[{i}] Echo: Hello there" for i in range(3)]
    assert all(k.status == "complete" and k.parent_id == uid for k in kids)
    assert result.status == "complete" and result.message_id == kids[0].id and sorted(result.choices) == [0, 1, 2]
    assert kids[0].params["n"] == 3
    lp = kids[1].logprobs
    assert lp[0]["token"] == "[1] " and len(lp[0]["top"]) == 2
