"""The parsers on real llama.cpp bodies (tests/data/llamacpp/, recorded from the bundled server)
and on OpenAI's legacy echo shape: the same typed events, prompt tokens told from generated ones."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from openapi_spec import validate_request, violations

from chat_tui.api.errors import APIError, error_from_payload
from chat_tui.api.events import Finish, LogprobsDelta, TextDelta, Usage
from chat_tui.api.sse import SSEDecoder, ServerSentEvent
from chat_tui.api.stream import ChatStreamParser, parse_completion_response

DATA = Path(__file__).parent / "data" / "llamacpp"
PROMPT = "Once upon a time"


def request(name: str) -> dict:
    return json.loads((DATA / f"{name}.request.json").read_text())["body"]


def whole(name: str, echo_prompt: str | None = None) -> list:
    doc = json.loads((DATA / f"{name}.json").read_text())
    assert doc["status"] == 200
    return parse_completion_response(doc["body"], echo_prompt=echo_prompt)


def streamed(name: str, echo_prompt: str | None = None, chunk: int = 61) -> list:
    body = (DATA / f"{name}.sse").read_bytes()
    decoder, parser, events = SSEDecoder(), ChatStreamParser(echo_prompt), []
    for i in range(0, len(body), chunk):
        for sse in decoder.feed(body[i:i + chunk]):
            events += parser.feed(sse)
    assert parser.done
    return events


def text(events, index=0, echo=False):
    return "".join(e.text for e in events if isinstance(e, TextDelta) and e.index == index and e.echo == echo)


def tokens(events, index=0, echo=False):
    return [t for e in events if isinstance(e, LogprobsDelta) and e.index == index and e.echo == echo for t in e.content]


def test_every_recorded_request_is_a_valid_openai_request() -> None:
    checked = 0
    for path in sorted(DATA.glob("*.request.json")):
        doc = json.loads(path.read_text())
        if doc["path"] != "/v1/completions":
            continue
        checked += 1
        if path.name == "error-n0.request.json":  # recorded on purpose: what llama.cpp says to n=0
            assert violations("CreateCompletionRequest", doc["body"]) == ["n: 0 is less than the minimum of 1"]
        else:
            validate_request("CreateCompletionRequest", doc["body"])
    assert checked == 15


@pytest.mark.parametrize("name", ["logprobs3", "logprobs3-stream"])
def test_llamacpp_logprobs_with_alternatives(name: str) -> None:
    events = whole(name) if not name.endswith("stream") else streamed(name)
    toks = tokens(events)
    assert len(toks) == request(name)["max_tokens"] == 3
    assert "".join(t.token for t in toks) == text(events) == ", the city"
    for t in toks:
        assert t.logprob < 0 and t.offset is None and t.bytes == list(t.token.encode())
        assert len(t.top) == 3 and t.top[0].token == t.token  # greedy: the chosen one is the likeliest
        assert [a.logprob for a in t.top] == sorted((a.logprob for a in t.top), reverse=True)
    assert [a.token for a in toks[2].top] == [" city", " company", " town"]
    assert not tokens(events, echo=True) and not text(events, echo=True)


def test_llamacpp_stream_and_whole_agree() -> None:
    assert tokens(whole("logprobs3")) == tokens(streamed("logprobs3-stream"))
    assert text(whole("plain")) == text(streamed("plain-stream")) == ", the city of"


def test_llamacpp_logprobs_0_sends_none() -> None:
    events = whole("logprobs0")
    assert text(events) == ", the" and not any(isinstance(e, LogprobsDelta) for e in events)


@pytest.mark.parametrize("name", ["echo-logprobs2", "echo-logprobs2-stream"])
def test_llamacpp_ignores_echo_and_nothing_is_taken_for_the_prompt(name: str) -> None:
    events = whole(name, PROMPT) if not name.endswith("stream") else streamed(name, PROMPT)
    assert request(name)["echo"] is True
    assert text(events) == ", the" and not text(events, echo=True)
    assert [t.token for t in tokens(events)] == [",", " the"] and not tokens(events, echo=True)


def test_llamacpp_ignores_suffix() -> None:
    assert request("suffix")["suffix"] and "suffix" not in request("no-suffix")
    assert text(whole("suffix")) == text(whole("no-suffix"))
    usage = [next(e for e in whole(n) if isinstance(e, Usage)) for n in ("suffix", "no-suffix")]
    assert usage[0].prompt_tokens == usage[1].prompt_tokens  # the suffix was not even tokenized


def test_llamacpp_n2_gives_two_choices_and_counts_one_in_usage() -> None:
    events = whole("n2")
    assert text(events, 0) == text(events, 1) == ", the city"  # temperature 0
    assert len(tokens(events, 0)) == len(tokens(events, 1)) == 3
    assert next(e for e in events if isinstance(e, Usage)).completion_tokens == 3  # not 6
    s = streamed("n2-stream")
    assert text(s, 0) == text(s, 1) == ", the"
    assert sorted(e.index for e in s if isinstance(e, Finish)) == [0, 1]
    assert sum(isinstance(e, Usage) for e in s) == 2  # one per choice's last chunk


def test_llamacpp_ignores_best_of() -> None:
    events = whole("best_of3")
    assert [e.index for e in events if isinstance(e, Finish)] == [0]


def test_llamacpp_stop_drops_the_stop_text_and_finishes_with_stop() -> None:
    events = streamed("stop-stream")
    assert text(events) == ", the" and [e.reason for e in events if isinstance(e, Finish)] == ["stop"]


@pytest.mark.parametrize(("name", "status", "kind", "words"), [
    ("error-n0", 400, "invalid_request_error", "between 1 <= value <= 4"),
    ("error-context", 400, "exceed_context_size_error", "exceeds the available context size"),
    ("infill-unsupported", 501, "not_supported_error", "Infill is not supported by this model"),
])
def test_llamacpp_errors_are_typed(name: str, status: int, kind: str, words: str) -> None:
    doc = json.loads((DATA / f"{name}.json").read_text())
    assert doc["status"] == status
    err = error_from_payload(doc["body"], status=status)
    assert isinstance(err, APIError) and words in str(err)
    with pytest.raises(APIError):
        parse_completion_response(doc["body"])


# --- OpenAI's legacy echo: parallel lists, text_offset from the start of the prompt ---------

def openai_echo(stream: bool) -> list[dict]:
    """OpenAI's shape for prompt "Say this", echo, logprobs=1, answer " is a test"."""
    items = [("Say", None, None, 0), (" this", -7.2, {" this": -7.2}, 3),
             (" is", -0.9, {" is": -0.9}, 8), (" a", -0.4, {" a": -0.4}, 11), (" test", -0.1, {" test": -0.1}, 13)]

    def choice(part, finish=None):
        return {"text": "".join(i[0] for i in part), "index": 0, "finish_reason": finish,
                "logprobs": {"tokens": [i[0] for i in part], "token_logprobs": [i[1] for i in part],
                             "top_logprobs": [i[2] for i in part], "text_offset": [i[3] for i in part]}}

    env = {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "gpt-3.5-turbo-instruct"}
    if not stream:
        return [{**env, "choices": [choice(items, "length")]}]
    # OpenAI sends the echoed prompt in the first chunk, then a token a chunk.
    return [{**env, "choices": [choice(items[:2])]}] + [{**env, "choices": [choice([i])]} for i in items[2:]] + [
        {**env, "choices": [{"text": "", "index": 0, "logprobs": None, "finish_reason": "length"}]}]


def test_openai_echo_whole_splits_prompt_and_answer() -> None:
    events = parse_completion_response(openai_echo(False)[0], echo_prompt="Say this")
    assert text(events, echo=True) == "Say this" and text(events) == " is a test"
    prompt = tokens(events, echo=True)
    assert [t.token for t in prompt] == ["Say", " this"] and math.isnan(prompt[0].logprob)
    assert [t.offset for t in tokens(events)] == [8, 11, 13]
    # Without the prompt the parser cannot know: all of it is plain text, as before.
    assert text(parse_completion_response(openai_echo(False)[0])) == "Say this is a test"


def test_openai_echo_stream_splits_prompt_and_answer() -> None:
    parser = ChatStreamParser("Say this")
    events = [e for obj in openai_echo(True) for e in parser.feed(ServerSentEvent(data=json.dumps(obj)))]
    assert text(events, echo=True) == "Say this" and text(events) == " is a test"
    assert [t.token for t in tokens(events, echo=True)] == ["Say", " this"]
    assert [t.token for t in tokens(events)] == [" is", " a", " test"]
    kinds = [(type(e).__name__, e.echo) for e in events if isinstance(e, (TextDelta, LogprobsDelta))]
    assert kinds[:2] == [("TextDelta", True), ("LogprobsDelta", True)]
    assert all(not echo for _, echo in kinds[2:])


def test_echo_with_a_prompt_split_across_chunks_and_no_offsets() -> None:
    """A server that streams the echoed prompt in pieces, chat-style logprobs without offsets."""
    def chunk(t):
        return ServerSentEvent(data=json.dumps({"choices": [{"index": 0, "text": t, "logprobs": {
            "content": [{"token": t, "logprob": -1.0, "top_logprobs": []}]}}]}))

    parser = ChatStreamParser("ab")
    events = [e for t in ("a", "b", "c") for e in parser.feed(chunk(t))]
    assert text(events, echo=True) == "ab" and text(events) == "c"
    assert [t.token for t in tokens(events, echo=True)] == ["a", "b"] and [t.token for t in tokens(events)] == ["c"]
