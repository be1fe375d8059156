"""Tool calls, the pure parts: streamed deltas assembled into calls (recorded bodies, the fake
server's parallel calls split at every byte), the arguments, which calls go back to the API, and
the function-calling parameters (checked against the OpenAPI spec)."""

from __future__ import annotations

import json

import httpx
import pytest
from openapi_spec import validate_request
from test_stream_parse import golden, parse_stream

from chat_tui.api.events import TextDelta, ToolCallDelta
from chat_tui.api.sse import SSEDecoder
from chat_tui.api.stream import ChatStreamParser
from chat_tui.core.messages import ChatMessage, ToolCall
from chat_tui.core.params import ChatParams, ParamError
from chat_tui.core.tool_calls import (
    Approvals,
    CallAssembler,
    json_fence,
    paired,
    parse_arguments,
    pretty_arguments,
    valid_tool_name,
)
from chat_tui.core.tools import ToolSpec

TOOLS = [ToolSpec("get_weather", "The weather", {"type": "object", "properties": {"city": {"type": "string"}}}),
         ToolSpec("get_time")]
WIRE = [t.to_wire() for t in TOOLS]


def assemble(events) -> tuple[str, tuple[ToolCall, ...]]:
    calls = CallAssembler()
    text = []
    for e in events:
        if isinstance(e, ToolCallDelta):
            calls.feed(e.calls)
        elif isinstance(e, TextDelta):
            text.append(e.text)
    return "".join(text), calls.calls()


# -- assembling ------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix, expected", [
    ("2018feb6", [("call_4XzlGBLtUe9dy3GVNV4jhq7h", "get_weather", '{"city":"New York City"}')]),
    ("f82268f2", [("call_JMW1whyEaYG438VE1OIflxA2", "GetWeatherArgs", '{"city": "Edinburgh", "country": "GB", "units": "c"}'),
                  (None, "get_stock_price", '{"ticker": "AAPL", "exchange": "NASDAQ"}')]),
])
@pytest.mark.parametrize("chunk_size", [1, 7, 97])
def test_recorded_calls_assemble_at_any_read_size(prefix, expected, chunk_size):
    events, _ = parse_stream(golden(prefix), chunk_size=chunk_size)
    text, calls = assemble(events)
    assert text == ""
    assert [(c.name, c.arguments) for c in calls] == [(n, a) for _, n, a in expected]
    assert [c.id for c in calls][:1] == [expected[0][0]]
    assert all(c.id.startswith("call_") for c in calls)
    assert [json.loads(c.arguments) for c in calls]  # every one whole JSON


def fake_stream_body(fake, chunk_size) -> bytes:
    fake.tool_plan = [("get_weather", {"city": "Zürich \"old town\""}), ("get_time", {"tz": "Europe/Zurich"})]
    fake.tool_text = "Checking both, one moment."
    fake.chunk_size = chunk_size
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "weather and time?"}],
            "tools": WIRE, "stream": True, "stream_options": {"include_usage": True}}
    validate_request("CreateChatCompletionRequest", body)
    return httpx.post(f"{fake.base_url}/chat/completions", json=body).content


def parse_bytes(pieces) -> list:
    decoder, parser, events = SSEDecoder(), ChatStreamParser(), []
    for piece in pieces:
        for sse in decoder.feed(piece):
            events += parser.feed(sse)
    for sse in decoder.close():
        events += parser.feed(sse)
    assert parser.done
    return events


def test_parallel_calls_interleaved_with_text_split_at_every_byte(fake_openai):
    """Every piece of the names and arguments is its own chunk (chunk_size 1), the two calls and
    the text take turns, and the body is fed one byte at a time."""
    body = fake_stream_body(fake_openai, 1)
    events = parse_bytes(body[i:i + 1] for i in range(len(body)))
    deltas = [e for e in events if isinstance(e, (ToolCallDelta, TextDelta))]
    kinds = [type(e).__name__ + (str(e.calls[0]["index"]) if isinstance(e, ToolCallDelta) else "") for e in deltas]
    assert kinds[:4] == ["TextDelta", "ToolCallDelta0", "ToolCallDelta1", "TextDelta"]  # interleaved
    text, calls = assemble(events)
    assert text == "Checking both, one moment."
    assert [(c.id, c.name) for c in calls] == [("call_1_0", "get_weather"), ("call_1_1", "get_time")]
    assert [json.loads(c.arguments) for c in calls] == [{"city": 'Zürich "old town"'}, {"tz": "Europe/Zurich"}]


def test_calls_assemble_with_the_body_cut_in_two_anywhere(fake_openai):
    body = fake_stream_body(fake_openai, 12)
    whole = assemble(parse_bytes([body]))
    for cut in range(len(body) + 1):
        assert assemble(parse_bytes([body[:cut], body[cut:]])) == whole, cut


def test_assembler_copes_with_servers_that_vary():
    calls = CallAssembler()
    updates = calls.feed([{"index": 0, "id": "a", "function": {"name": "get_", "arguments": ""}}])
    assert updates[0].started and updates[0].name == "get_"
    calls.feed([{"index": 0, "function": {"name": "time"}}])  # a name in pieces
    calls.feed([{"id": "b", "function": {"name": "get_weather", "arguments": '{"ci'}}])  # no index: a new call
    calls.feed([{"function": {"arguments": 'ty": "Oslo"}'}}])  # neither: the last call goes on
    calls.feed([{"id": "a", "function": {"arguments": "{}"}}])  # by id
    calls.feed([{"function": {"name": "x"}, "index": 5}, "junk", {"index": 5, "function": "junk"}])
    assert calls.calls() == (ToolCall("a", "get_time", "{}"), ToolCall("b", "get_weather", '{"city": "Oslo"}'),
                             ToolCall("call_2", "x", ""))


# -- arguments -------------------------------------------------------------------------------


def test_arguments():
    assert parse_arguments("") == ({}, None)
    assert parse_arguments('{"a": 1}') == ({"a": 1}, None)
    value, problem = parse_arguments('{"a": ')
    assert value is None and "not valid JSON" in problem
    assert parse_arguments("[1]") == (None, "the arguments must be a JSON object, not list")
    assert pretty_arguments('{"a":[1,2],"b":"ü"}') == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": "ü"\n}'
    assert pretty_arguments("{broken") == "{broken"
    assert json_fence('{"a": 1}') == '```json\n{"a": 1}\n```\n'
    assert valid_tool_name("get_weather-2") and not valid_tool_name("a b") and not valid_tool_name("x" * 65)


def test_approvals():
    approvals = Approvals(trust=["get_time"])
    assert approvals.automatic("get_time") and not approvals.automatic("get_weather")
    approvals.remember("get_weather")
    assert approvals.automatic("get_weather")
    assert not Approvals().automatic("get_weather")  # another conversation starts over


# -- what goes back -------------------------------------------------------------------------


def test_a_call_without_its_result_is_not_sent_back():
    a, b = ToolCall("1", "get_weather", "{}"), ToolCall("2", "get_time", "{}")
    thread = [
        ChatMessage("user", "q"),
        ChatMessage("assistant", "", tool_calls=(a, b)),
        ChatMessage("tool", "sunny", tool_call_id="1"),  # b was never run (stopped)
        ChatMessage("assistant", "", tool_calls=(ToolCall("3", "get_time", '{"t'),)),  # cut short, not run
        ChatMessage("tool", "stray", tool_call_id="9"),  # answers nothing
        ChatMessage("user", "again"),
    ]
    sent = paired(thread)
    assert [m.role for m in sent] == ["user", "assistant", "tool", "user"]
    assert sent[1].tool_calls == (a,)
    body = ChatParams().body("gpt-4o-mini", sent, stream=False)
    validate_request("CreateChatCompletionRequest", body)
    assert body["messages"][1] == {"role": "assistant", "content": None,
                                   "tool_calls": [{"id": "1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]}
    assert body["messages"][2] == {"role": "tool", "content": "sunny", "tool_call_id": "1"}


def test_tool_message_has_no_name_on_the_wire():
    assert ChatMessage("tool", "x", name="get_time", tool_call_id="1").to_wire() == {"role": "tool", "content": "x", "tool_call_id": "1"}


# -- parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize("choice, wire", [
    ("auto", "auto"), ("none", "none"), ("required", "required"),
    ("get_time", {"type": "function", "function": {"name": "get_time"}}),
    ({"type": "function", "function": {"name": "get_time"}}, {"type": "function", "function": {"name": "get_time"}}),
])
def test_tool_choice_and_parallel_calls_are_sent_with_tools(choice, wire):
    params = ChatParams.from_dict({"tool_choice": choice, "parallel_tool_calls": "false"})
    body = params.body("gpt-4o-mini", [ChatMessage("user", "q")], stream=True, tools=WIRE)
    validate_request("CreateChatCompletionRequest", body)
    assert body["tools"] == WIRE and body["tool_choice"] == wire and body["parallel_tool_calls"] is False


def test_no_tools_no_tool_parameters():
    params = ChatParams.from_dict({"tool_choice": "required", "parallel_tool_calls": True, "tools": ["get_time"]})
    body = params.body("gpt-4o-mini", [ChatMessage("user", "q")], stream=False)
    validate_request("CreateChatCompletionRequest", body)
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & set(body)


def test_tool_parameters_refused_with_a_reason():
    with pytest.raises(ParamError, match="tool_choice: expected auto, none, required or a tool name"):
        ChatParams().with_option("tool_choice", "call it please")
    with pytest.raises(ParamError, match="tools: 'a b' is not a tool name"):
        ChatParams().with_option("tools", ["a b"])
    with pytest.raises(ParamError, match="tool_choice: required needs tools, but tools is none"):
        ChatParams.from_dict({"tools": "none", "tool_choice": "required"})
    with pytest.raises(ParamError, match=r"tool_choice: get_weather is not among the tools chosen \(get_time\)"):
        ChatParams.from_dict({"tools": "get_time", "tool_choice": "get_weather"})
    with pytest.raises(ParamError, match=r"tool_choice: get_date is not offered \(offered: get_weather, get_time\)"):
        ChatParams(tool_choice="get_date").body("gpt-4o-mini", [ChatMessage("user", "q")], stream=False, tools=WIRE)


def test_tools_chosen_by_name():
    names = ["get_weather", "get_time"]
    assert ChatParams().tool_names(names) == names
    assert ChatParams.from_dict({"tools": "none"}).tool_names(names) == []
    assert ChatParams.from_dict({"tools": "get_time|nope"}).tool_names(names) == ["get_time"]
    assert ChatParams.from_dict({"tools": []}).tools == "none"
    assert ChatParams.from_dict({"tools": "get_time, get_weather"}).tools == ["get_time", "get_weather"]
