"""OpenAI payloads → typed events: recorded streams end to end, errors, legacy completions, whole responses."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from chat_tui.api.errors import (
    ContextLengthError,
    RateLimitError,
    ServerError,
    StreamError,
)
from chat_tui.api.events import (
    Finish,
    LogprobsDelta,
    Meta,
    RefusalDelta,
    TextDelta,
    TokenLogprob,
    ToolCallDelta,
    TopLogprob,
    Usage,
)
from chat_tui.api.sse import ServerSentEvent, SSEDecoder
from chat_tui.api.stream import ChatStreamParser, parse_chat_response, parse_completion_response

GOLDEN_DIR = Path(__file__).resolve().parent / "data" / "sse-golden"


def golden(prefix: str) -> bytes:
    (path,) = GOLDEN_DIR.glob(f"{prefix}*.bin")
    return path.read_bytes()


def parse_stream(body: bytes, chunk_size: int = 97) -> tuple[list[Any], ChatStreamParser]:
    """Body → SSEDecoder (in network-sized chunks) → ChatStreamParser → events."""
    decoder, parser, events = SSEDecoder(), ChatStreamParser(), []
    for i in range(0, len(body), chunk_size):
        for sse in decoder.feed(body[i : i + chunk_size]):
            events += parser.feed(sse)
    for sse in decoder.close():
        events += parser.feed(sse)
    assert not decoder.pending
    return events, parser


def chunk(**fields: Any) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(fields))


class Summary:
    """What a consumer would assemble from the events, per choice index."""

    def __init__(self, events: list[Any]) -> None:
        self.text: dict[int, str] = defaultdict(str)
        self.refusal: dict[int, str] = defaultdict(str)
        self.finish: dict[int, str | None] = {}
        self.content_lp: dict[int, list[TokenLogprob]] = defaultdict(list)
        self.refusal_lp: dict[int, list[TokenLogprob]] = defaultdict(list)
        self.tool_deltas: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.metas = [e for e in events if isinstance(e, Meta)]
        self.usages = [e for e in events if isinstance(e, Usage)]
        for e in events:
            if isinstance(e, TextDelta):
                self.text[e.index] += e.text
            elif isinstance(e, RefusalDelta):
                self.refusal[e.index] += e.text
            elif isinstance(e, Finish):
                assert e.index not in self.finish, "one Finish per choice"
                self.finish[e.index] = e.reason
            elif isinstance(e, LogprobsDelta):
                self.content_lp[e.index] += e.content
                self.refusal_lp[e.index] += e.refusal
            elif isinstance(e, ToolCallDelta):
                self.tool_deltas[e.index] += e.calls
            else:
                assert isinstance(e, (Meta, Usage)), e

    def tool_calls(self, index: int) -> dict[int, tuple[str, str]]:
        """Tool calls merged the way a consumer would: name and concatenated arguments."""
        merged: dict[int, list[str]] = defaultdict(lambda: ["", ""])
        for call in self.tool_deltas[index]:
            entry = merged[call["index"]]
            function = call.get("function", {})
            entry[0] += function.get("name", "")
            entry[1] += function.get("arguments", "")
        return {k: (v[0], v[1]) for k, v in merged.items()}


# Hand-checked facts of each recorded body: (id suffix, created, fingerprint, usage, finish).
RECORDED = {
    "173417d5": ("ABfw4IfQfCCrcuybFm41wJyxjbkz7", 1727346172, "fp_5050236cbd", (79, 11, 90), "stop"),
    "2018feb6": ("ABfwERreu9s99xXsVuOWtIB2UOx62", 1727346182, "fp_143bb8492c", (44, 16, 60), "tool_calls"),
    "4cc50a61": ("ABfw3Oqj8RD0z6aJiiX37oTjV2HFh", 1727346171, "fp_7568d46099", (79, 1, 80), "length"),
    "569c877e": ("ABfw5GEVqPbLY576l46FZDQoNJ2KC", 1727346173, "fp_5050236cbd", (79, 12, 91), "stop"),
    "7e5ea4d1": ("ABfw1e5abtU8OwGr15vOreYVb2MiF", 1727346169, "fp_5050236cbd", (79, 14, 93), "stop"),
    "83b060ba": ("ABfw5EzoqmfXjnnsXY7Yd8OC6tb3c", 1727346173, "fp_5050236cbd", (9, 2, 11), "stop"),
    "a247c49c": ("ABfwCgi41eStOcARjZq97ohCEGBPO", 1727346180, "fp_b40fb1c6fb", (48, 19, 67), "tool_calls"),
    "a491adda": ("ABfw2KKFuVXmEJgVwYfBvejMAdWtq", 1727346170, "fp_b40fb1c6fb", (79, 42, 121), "stop"),
    "c6aa7e39": ("ABfw8AOXnoa2kzy11vVTSjuQhHCQr", 1727346176, "fp_7568d46099", (76, 24, 100), "tool_calls"),
    "d6155801": ("ABfwCjPMi0ubw56UyMIIeNfJzyogq", 1727346180, "fp_5050236cbd", (19, 177, 196), "stop"),
    "e2aad469": ("ABfw031mOJeYCSHe4yI2ZjOA6kMJL", 1727346168, "fp_5050236cbd", (14, 30, 44), "stop"),
    "f82268f2": ("ABfwAwrNePHUgBBezonVC6MX3zd63", 1727346178, "fp_5050236cbd", (149, 60, 209), "tool_calls"),
}


# --- recorded streams ----------------------------------------------------------------------


def test_every_recorded_body_is_known() -> None:
    assert sorted(p.name[:8] for p in GOLDEN_DIR.glob("*.bin")) == sorted(RECORDED)


@pytest.mark.parametrize("prefix", sorted(RECORDED))
def test_recorded_stream_meta_usage_finish_done(prefix: str) -> None:
    suffix, created, fingerprint, (prompt, completion, total), reason = RECORDED[prefix]
    events, parser = parse_stream(golden(prefix))
    assert parser.done
    s = Summary(events)
    meta = Meta(id=f"chatcmpl-{suffix}", model="gpt-4o-2024-08-06", created=created, system_fingerprint=fingerprint)
    assert events[0] == meta
    assert s.metas == [meta]  # emitted once: it never changes within these streams
    assert parser.meta == meta
    (usage,) = s.usages
    assert events[-1] is usage  # the include_usage chunk comes last, with choices: []
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (prompt, completion, total)
    assert usage.raw["completion_tokens_details"] == {"reasoning_tokens": 0}
    n = 3 if prefix == "a491adda" else 1
    assert s.finish == {i: reason for i in range(n)}


def test_recorded_plain_answer() -> None:
    s = Summary(parse_stream(golden("e2aad469"))[0])
    assert s.text == {
        0: "I'm unable to provide real-time weather updates. To get the current weather in San Francisco,"
        " I recommend checking a reliable weather website or a weather app."
    }
    assert not s.refusal and not s.tool_deltas and not s.content_lp


def test_recorded_long_answer_with_non_ascii() -> None:
    events, _ = parse_stream(golden("d6155801"), chunk_size=13)  # splits the two bytes of "°" too
    s = Summary(events)
    text = s.text[0]
    assert text.startswith('\n  {\n    "location": "San Francisco, CA",\n')
    assert text.count("°C") == 7 and '"temperature": "18°C"' in text
    assert json.loads(text)["forecast"][2] == {"day": "Wednesday", "high": "18°C", "low": "14°C", "condition": "Cloudy"}
    # The first delta has "content": "" and makes no event; 177 non-empty deltas follow.
    assert sum(isinstance(e, TextDelta) for e in events) == 177


def test_recorded_structured_output_and_length_finish() -> None:
    assert json.loads(Summary(parse_stream(golden("7e5ea4d1"))[0]).text[0]) == {
        "city": "San Francisco",
        "temperature": 61,
        "units": "f",
    }
    cut = Summary(parse_stream(golden("4cc50a61"))[0])
    assert cut.text == {0: '{"'} and cut.finish == {0: "length"}


def test_recorded_n3_choices_interleaved() -> None:
    events, _ = parse_stream(golden("a491adda"))
    s = Summary(events)
    assert {i: json.loads(t)["temperature"] for i, t in s.text.items()} == {0: 65, 1: 61, 2: 59}
    assert all(json.loads(t)["city"] == "San Francisco" for t in s.text.values())
    indexes = [e.index for e in events if isinstance(e, TextDelta)]
    assert indexes[:6] == [0, 1, 2, 0, 1, 2]


def test_recorded_refusal() -> None:
    events, _ = parse_stream(golden("173417d5"))
    s = Summary(events)
    assert s.refusal == {0: "I'm sorry, I can't assist with that request."}
    assert not any(isinstance(e, TextDelta) for e in events)  # content was null throughout
    assert not any(isinstance(e, RefusalDelta) and not e.text for e in events)  # the first "" makes no event


def test_recorded_content_logprobs() -> None:
    s = Summary(parse_stream(golden("83b060ba"))[0])
    assert s.text == {0: "Foo!"}
    assert s.content_lp[0] == [
        TokenLogprob(token="Foo", logprob=-0.0025094282, bytes=[70, 111, 111], top=()),
        TokenLogprob(token="!", logprob=-0.26638845, bytes=[33], top=()),
    ]
    assert not s.refusal_lp[0]


def test_recorded_refusal_logprobs() -> None:
    s = Summary(parse_stream(golden("569c877e"))[0])
    refusal_lp = s.refusal_lp[0]
    assert len(refusal_lp) == 11
    assert "".join(t.token for t in refusal_lp) == s.refusal[0] == "I'm very sorry, but I can't assist with that."
    sorry = refusal_lp[2]
    assert (sorry.token, sorry.logprob, sorry.bytes) == (" sorry", -3.4121115e-6, [32, 115, 111, 114, 114, 121])
    assert not s.content_lp[0]  # "content": null in every chunk


@pytest.mark.parametrize(
    ("prefix", "calls"),
    [
        ("2018feb6", {0: ("get_weather", '{"city":"New York City"}')}),
        ("a247c49c", {0: ("get_weather", '{"city":"San Francisco","state":"CA"}')}),
        ("c6aa7e39", {0: ("GetWeatherArgs", '{"city":"Edinburgh","country":"UK","units":"c"}')}),
        (
            "f82268f2",  # two parallel calls
            {
                0: ("GetWeatherArgs", '{"city": "Edinburgh", "country": "GB", "units": "c"}'),
                1: ("get_stock_price", '{"ticker": "AAPL", "exchange": "NASDAQ"}'),
            },
        ),
    ],
)
def test_recorded_tool_call_deltas_passed_through(prefix: str, calls: dict[int, tuple[str, str]]) -> None:
    events, parser = parse_stream(golden(prefix))
    s = Summary(events)
    assert parser.done and s.tool_calls(0) == calls
    assert not s.text and not s.refusal
    first = s.tool_deltas[0][0]
    assert first["type"] == "function" and first["id"].startswith("call_")  # raw entries, untouched


def test_events_after_done_are_ignored() -> None:
    _, parser = parse_stream(golden("83b060ba"))
    assert parser.done
    assert parser.feed(chunk(choices=[{"index": 0, "delta": {"content": "late"}}])) == []
    assert parser.feed(ServerSentEvent(event="error", data='{"error": {"message": "late"}}')) == []
    assert parser.feed(ServerSentEvent(data="not json")) == []


# --- errors mid-stream ---------------------------------------------------------------------

SERVER_ERROR = {"error": {"message": "The server had an error while processing your request.", "type": "server_error"}}


def test_error_event_raises_typed_error_with_server_message() -> None:
    parser = ChatStreamParser()
    assert parser.feed(chunk(id="c1", choices=[{"index": 0, "delta": {"content": "Hel"}}]))[-1] == TextDelta(0, "Hel")
    with pytest.raises(ServerError) as caught:
        parser.feed(ServerSentEvent(event="error", data=json.dumps(SERVER_ERROR)))
    err = caught.value
    assert err.message == "The server had an error while processing your request."
    assert err.type == "server_error" and err.retryable and err.status is None
    assert str(err) == "Server error: The server had an error while processing your request."


def test_error_object_in_data_raises_typed_error() -> None:
    with pytest.raises(ServerError, match="The server had an error"):
        ChatStreamParser().feed(ServerSentEvent(data=json.dumps(SERVER_ERROR)))
    rate = {"error": {"message": "Rate limit reached for gpt-4o", "type": "requests", "code": "rate_limit_exceeded"}}
    with pytest.raises(RateLimitError) as caught:
        ChatStreamParser().feed(ServerSentEvent(data=json.dumps(rate)))
    assert caught.value.message == "Rate limit reached for gpt-4o" and caught.value.code == "rate_limit_exceeded"
    too_long = {
        "error": {"message": "This model's maximum context length is 128000 tokens.", "code": "context_length_exceeded"}
    }
    with pytest.raises(ContextLengthError):
        ChatStreamParser().feed(ServerSentEvent(data=json.dumps(too_long)))


def test_other_mid_stream_errors_are_stream_errors() -> None:
    bad = {"error": {"message": "Invalid schema for response_format", "type": "invalid_request_error"}}
    with pytest.raises(StreamError) as caught:
        ChatStreamParser().feed(ServerSentEvent(event="error", data=json.dumps(bad)))
    assert caught.value.message == "Invalid schema for response_format"
    assert type(caught.value) is StreamError and not caught.value.retryable
    # Error event with plain-text data, and a server's bare `{"error": "..."}`.
    with pytest.raises(StreamError, match="upstream overloaded"):
        ChatStreamParser().feed(ServerSentEvent(event="error", data="upstream overloaded"))
    with pytest.raises(StreamError, match="model crashed"):
        ChatStreamParser().feed(ServerSentEvent(data='{"error": "model crashed"}'))


def test_null_error_field_is_not_an_error() -> None:
    events = ChatStreamParser().feed(chunk(error=None, choices=[{"index": 0, "delta": {"content": "ok"}}]))
    assert events == [TextDelta(0, "ok")]


def test_malformed_json_raises_stream_error_quoting_the_chunk() -> None:
    data = '{"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"content": "' + "x" * 200
    with pytest.raises(StreamError) as caught:
        ChatStreamParser().feed(ServerSentEvent(data=data))
    assert caught.value.message == "malformed chunk from server: " + data[:120]
    assert caught.value.body == data
    for not_an_object in ("[1, 2]", "42", '"text"', "null"):
        with pytest.raises(StreamError, match="malformed chunk"):
            ChatStreamParser().feed(ServerSentEvent(data=not_an_object))


def test_keep_alives_and_foreign_event_types_are_ignored() -> None:
    parser = ChatStreamParser()
    assert parser.feed(ServerSentEvent(data="")) == []
    assert parser.feed(ServerSentEvent(event="ping", data="{}")) == []
    assert parser.feed(ServerSentEvent(data=" [DONE] ")) == [] and parser.done


# --- meta and usage ------------------------------------------------------------------------


def test_meta_emitted_when_first_seen_and_when_changed() -> None:
    parser = ChatStreamParser()
    base = {"id": "c1", "model": "m", "created": 5, "system_fingerprint": "fp_a"}
    first = parser.feed(chunk(**base, choices=[]))
    assert first == [Meta("c1", "m", 5, "fp_a")]
    assert parser.feed(chunk(**base, choices=[])) == []
    # A chunk that leaves a field out (or null) keeps the earlier value: no change.
    assert parser.feed(chunk(id="c1", system_fingerprint=None, choices=[])) == []
    assert parser.feed(chunk(**{**base, "system_fingerprint": "fp_b"}, choices=[])) == [Meta("c1", "m", 5, "fp_b")]
    assert parser.meta == Meta("c1", "m", 5, "fp_b")


def test_usage_chunk_without_choices() -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    assert ChatStreamParser().feed(chunk(choices=[], usage=usage)) == [Usage(3, 4, 7, raw=usage)]
    assert ChatStreamParser().feed(chunk(choices=None, usage=None)) == []


def test_top_logprobs_in_chat_stream() -> None:
    lp = {
        "content": [
            {
                "token": "Hi",
                "logprob": -0.1,
                "bytes": [72, 105],
                "top_logprobs": [
                    {"token": "Hi", "logprob": -0.1, "bytes": [72, 105]},
                    {"token": "Hello", "logprob": -2.5, "bytes": None},
                ],
            }
        ],
        "refusal": None,
    }
    events = ChatStreamParser().feed(chunk(choices=[{"index": 0, "delta": {"content": "Hi"}, "logprobs": lp}]))
    assert events == [
        TextDelta(0, "Hi"),
        LogprobsDelta(
            0,
            content=(
                TokenLogprob(
                    "Hi", -0.1, [72, 105], top=(TopLogprob("Hi", -0.1, [72, 105]), TopLogprob("Hello", -2.5, None))
                ),
            ),
        ),
    ]


# --- legacy completions --------------------------------------------------------------------


def legacy_chunk(
    text: str, tokens: list[str], lps: list[float | None], tops: list[Any], finish: str | None = None
) -> ServerSentEvent:
    return chunk(
        id="cmpl-7",
        object="text_completion",
        created=1700000000,
        model="gpt-3.5-turbo-instruct",
        choices=[
            {
                "text": text,
                "index": 0,
                "logprobs": {
                    "tokens": tokens,
                    "token_logprobs": lps,
                    "top_logprobs": tops,
                    "text_offset": [0] * len(tokens),
                },
                "finish_reason": finish,
            }
        ],
    )


def test_legacy_completion_stream_with_logprobs() -> None:
    parser = ChatStreamParser()
    events = parser.feed(legacy_chunk(" Hello", [" Hello"], [-0.31], [{" Hi": -1.6, " Hello": -0.31}]))
    events += parser.feed(legacy_chunk(" world", [" world"], [-0.05], [None]))
    events += parser.feed(legacy_chunk("", [], [], [], finish="length"))
    events += parser.feed(
        chunk(
            id="cmpl-7",
            object="text_completion",
            created=1700000000,
            model="gpt-3.5-turbo-instruct",
            choices=[],
            usage={"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4},
        )
    )
    parser.feed(ServerSentEvent(data="[DONE]"))
    assert parser.done
    assert events == [
        Meta("cmpl-7", "gpt-3.5-turbo-instruct", 1700000000, None),
        TextDelta(0, " Hello"),
        # The {token: logprob} dict becomes alternatives, most likely first.
        LogprobsDelta(
            0, content=(TokenLogprob(" Hello", -0.31, None, (TopLogprob(" Hello", -0.31), TopLogprob(" Hi", -1.6)), 0),)
        ),
        TextDelta(0, " world"),
        LogprobsDelta(0, content=(TokenLogprob(" world", -0.05, offset=0),)),
        Finish(0, "length"),
        Usage(2, 2, 4, raw={"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}),
    ]


def test_legacy_echoed_first_token_has_no_logprob() -> None:
    (_, _, delta) = ChatStreamParser().feed(legacy_chunk("Say", ["Say"], [None], [None]))
    assert isinstance(delta, LogprobsDelta)
    (token,) = delta.content
    assert token.token == "Say" and math.isnan(token.logprob) and token.top == ()


# --- whole (non-streamed) responses --------------------------------------------------------


def test_whole_chat_response() -> None:
    response = {
        "id": "chatcmpl-9",
        "object": "chat.completion",
        "created": 1727346173,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_5050236cbd",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Foo!", "refusal": None},
                "logprobs": {
                    "content": [
                        {"token": "Foo", "logprob": -0.0025094282, "bytes": [70, 111, 111], "top_logprobs": []},
                        {"token": "!", "logprob": -0.26638845, "bytes": [33], "top_logprobs": []},
                    ],
                    "refusal": None,
                },
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 2,
            "total_tokens": 11,
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }
    events = parse_chat_response(response)
    assert events == [
        Meta("chatcmpl-9", "gpt-4o-2024-08-06", 1727346173, "fp_5050236cbd"),
        TextDelta(0, "Foo!"),
        LogprobsDelta(
            0,
            content=(
                TokenLogprob("Foo", -0.0025094282, [70, 111, 111]),
                TokenLogprob("!", -0.26638845, [33]),
            ),
        ),
        Finish(0, "stop"),
        Usage(9, 2, 11, raw=response["usage"]),
    ]
    if GOLDEN_DIR.is_dir():  # the same answer streamed gives the same result to a consumer
        whole, streamed = Summary(events), Summary(parse_stream(golden("83b060ba"))[0])
        assert (whole.text, whole.finish, whole.content_lp) == (streamed.text, streamed.finish, streamed.content_lp)
        assert whole.usages[0].total_tokens == streamed.usages[0].total_tokens


def test_whole_chat_response_refusal_tool_calls_and_n2() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    response = {
        "id": "chatcmpl-10",
        "model": "gpt-4o",
        "created": 1,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "refusal": "I can't help with that."},
                "finish_reason": "stop",
            },
            {
                "index": 1,
                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                "logprobs": None,
                "finish_reason": "tool_calls",
            },
        ],
    }
    assert parse_chat_response(response) == [
        Meta("chatcmpl-10", "gpt-4o", 1, None),
        RefusalDelta(0, "I can't help with that."),
        Finish(0, "stop"),
        ToolCallDelta(1, (call,)),
        Finish(1, "tool_calls"),
    ]


def test_whole_completion_response() -> None:
    response = {
        "id": "cmpl-8",
        "object": "text_completion",
        "created": 1700000001,
        "model": "gpt-3.5-turbo-instruct",
        "choices": [
            {
                "text": " Paris.",
                "index": 0,
                "logprobs": {
                    "tokens": [" Paris", "."],
                    "token_logprobs": [-0.02, -0.4],
                    "top_logprobs": [{" Paris": -0.02, " Lyon": -4.1}, {".": -0.4, "!": -1.3}],
                    "text_offset": [13, 19],
                },
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 6, "completion_tokens": 2, "total_tokens": 8},
    }
    assert parse_completion_response(response) == [
        Meta("cmpl-8", "gpt-3.5-turbo-instruct", 1700000001, None),
        TextDelta(0, " Paris."),
        LogprobsDelta(
            0,
            content=(
                TokenLogprob(" Paris", -0.02, None, (TopLogprob(" Paris", -0.02), TopLogprob(" Lyon", -4.1)), 13),
                TokenLogprob(".", -0.4, None, (TopLogprob(".", -0.4), TopLogprob("!", -1.3)), 19),
            ),
        ),
        Finish(0, "stop"),
        Usage(6, 2, 8, raw=response["usage"]),
    ]


def test_whole_response_with_error_object_raises() -> None:
    with pytest.raises(ServerError, match="The server had an error"):
        parse_chat_response(SERVER_ERROR)
    with pytest.raises(StreamError, match="malformed response"):
        parse_completion_response(["not", "an", "object"])  # type: ignore[arg-type]
