"""The tool loop (services/tools.py) over the real loopback socket: calls, approvals, results
saved in the tree and sent back, errors as results, the round limit, cancelling, and every
request body checked against the OpenAPI spec."""

from __future__ import annotations

import asyncio
import json

import pytest
from openapi_spec import validate_request
from tool_provider import PyTools, explode, get_time, get_weather

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Endpoint
from chat_tui.core.messages import ChatMessage
from chat_tui.core.params import ChatParams
from chat_tui.core.tool_calls import ALWAYS, APPROVE, DECLINED, DENY, Approvals
from chat_tui.services.chat import request_history
from chat_tui.services.replies import run_reply
from chat_tui.services.tools import Pending, Toolbox, allow_named, run_turn
from chat_tui.store import Store

PROMPT = "What is the weather in Paris, and the time?"


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "t.db") as s:
        yield s


@pytest.fixture
def fake(fake_openai):
    fake_openai.tool_plan = [("get_weather", {"city": "Paris"}), ("get_time", {"tz": "CET"})]
    fake_openai.tool_text = "Let me look."
    yield fake_openai
    for request in fake_openai.requests:  # every request the loop sent is one OpenAI accepts
        if request.path.endswith("/chat/completions"):
            validate_request("CreateChatCompletionRequest", request.json)


class Asker:
    """The user: answers each approval from a list, and remembers what it was asked."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, call, spec):
        self.asked.append(call.name)
        return self.answers.pop(0)


async def turn(fake, store, tools, ask, *, params=ChatParams(), approvals=None, toolbox=None, **kw):
    cid = store.create_conversation(title="t", model="gpt-4o-mini")
    uid = store.add_message(cid, "user", PROMPT)
    client = OpenAIClient(Endpoint(name="fake", base_url=fake.base_url), backoff_base=0.01)

    async def reply(messages, parent_id, offered, params):
        return await run_reply(client, store, None, conversation_id=cid, parent_id=parent_id, messages=messages,
                               model="gpt-4o-mini", params=params, endpoint_name="fake", tools=offered)
    try:
        result = await run_turn(store, toolbox or Toolbox([tools]), approvals or Approvals(), ask=ask, reply=reply,
                                conversation_id=cid, messages=[ChatMessage("user", PROMPT)], parent_id=uid,
                                params=params, **kw)
    finally:
        await client.aclose()
    return cid, result


def chat_requests(fake):
    return [r.json for r in fake.requests if r.path.endswith("/chat/completions")]


async def test_approved_calls_run_and_their_results_go_back(fake, store):
    tools = PyTools(get_weather, get_time)
    ask = Asker(APPROVE, APPROVE)
    cid, result = await turn(fake, store, tools, ask)
    assert ask.asked == ["get_weather", "get_time"]
    assert tools.calls == [("get_weather", {"city": "Paris"}), ("get_time", {"tz": "CET"})]
    assert result.stopped is None and result.last.status == "complete"
    assert result.last.text == "Tool results: get_weather: sunny in Paris; get_time: noon CET"
    thread = store.thread(cid)
    assert [(m.role, m.name) for m in thread] == [("user", None), ("assistant", None), ("tool", "get_weather"),
                                                 ("tool", "get_time"), ("assistant", None)]
    calls = thread[1].tool_calls
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time"] and thread[1].content == "Let me look."
    assert [m.tool_call_id for m in thread[2:4]] == [c["id"] for c in calls]
    assert thread[1].finish_reason == "tool_calls" and thread[1].params["tools"] == ["get_weather", "get_time"]
    assert result.leaf_id == thread[-1].id
    first, second = chat_requests(fake)
    assert [t["function"]["name"] for t in first["tools"]] == ["get_weather", "get_time"]
    assert second["messages"][1:] == [
        {"role": "assistant", "content": "Let me look.", "tool_calls": calls},
        {"role": "tool", "content": "sunny in Paris", "tool_call_id": calls[0]["id"]},
        {"role": "tool", "content": "noon CET", "tool_call_id": calls[1]["id"]},
    ]
    # And the stored thread, read back, makes the same request again.
    assert [m.to_wire() for m in request_history(thread[:4])] == [{"role": "user", "content": PROMPT}, *second["messages"][1:]]


async def test_denied_call_sends_a_declined_result(fake, store):
    tools = PyTools(get_weather, get_time)
    cid, result = await turn(fake, store, tools, Asker(DENY, APPROVE))
    assert tools.calls == [("get_time", {"tz": "CET"})]
    declined = store.thread(cid)[2]
    assert (declined.content, declined.status) == (DECLINED, "error")
    assert result.last.text == f"Tool results: get_weather: {DECLINED}; get_time: noon CET"


async def test_always_and_trust_skip_the_question(fake, store):
    fake.tool_rounds = 2
    tools = PyTools(get_weather, get_time)
    approvals = Approvals(trust=["get_time"])
    ask = Asker(ALWAYS)
    _, result = await turn(fake, store, tools, ask, approvals=approvals)
    assert ask.asked == ["get_weather"]  # once: "always" covers the second round, trust the rest
    assert len(tools.calls) == 4 and [s.decision for s in result.steps] == [ALWAYS, "trusted", ALWAYS, "trusted"]
    assert approvals.always == {"get_weather"}


async def test_a_tool_that_raises_is_an_error_result_not_a_crash(fake, store):
    fake.tool_plan = [("explode", {"reason": "disk full"}), ("get_weather", "{not json")]
    tools = PyTools(explode, get_weather)
    cid, result = await turn(fake, store, tools, Asker(APPROVE, APPROVE))
    failed, bad_args = store.thread(cid)[2:4]
    assert failed.status == "error" and failed.content == "The tool failed: ValueError: the tool broke: disk full"
    assert bad_args.status == "error" and bad_args.content.startswith("Not run: the arguments are not valid JSON")
    assert tools.calls == [("explode", {"reason": "disk full"})]
    assert result.last.status == "complete" and "the tool broke" in result.last.text


async def test_round_limit_stops_with_the_last_calls_unanswered(fake, store):
    fake.tool_rounds = 100  # the model never stops calling
    fake.tool_plan = [("get_time", {})]
    tools = PyTools(get_time)
    cid, result = await turn(fake, store, tools, Asker(), approvals=Approvals(trust=["get_time"]), max_rounds=3)
    assert result.stopped == "limit" and len(tools.calls) == 3 and len(result.replies) == 4
    thread = store.thread(cid)
    assert thread[-1].role == "assistant" and thread[-1].tool_calls  # kept, shown, never run
    sent = request_history(thread)
    assert sent[-1].role == "assistant" and sent[-1].text == "Let me look." and not sent[-1].tool_calls  # text only


async def test_required_and_named_choice_apply_to_the_first_request_only(fake, store):
    fake.tool_plan = [("get_weather", {"city": "Oslo"})]
    tools = PyTools(get_weather, get_time)
    params = ChatParams.from_dict({"tool_choice": "get_time", "parallel_tool_calls": False})
    _, result = await turn(fake, store, tools, Asker(APPROVE), params=params)
    first, second = chat_requests(fake)
    assert first["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}
    assert second["tool_choice"] == "auto" and second["parallel_tool_calls"] is False
    assert tools.calls == [("get_time", {})] and result.last.text == "Tool results: get_time: noon UTC"


async def test_a_disabled_tool_is_not_offered_and_not_run(fake, store):
    tools = PyTools(get_weather, get_time)
    toolbox = Toolbox([tools])
    toolbox.set_enabled("get_weather", False)
    ask = Asker(APPROVE)
    await turn(fake, store, tools, ask, toolbox=toolbox)
    assert all("get_weather" not in json.dumps(r.get("tools")) for r in chat_requests(fake))
    assert ask.asked == ["get_time"] and tools.calls == [("get_time", {"tz": "CET"})]


async def test_switches_turn_off_a_provider_unasked_and_a_tool_of_another():
    """A conversation's switches (the F12 pane): a provider that is off is not even asked for its
    tools (an MCP server is not started for it), a tool off is not offered; all on again after."""
    from chat_tui.core.tools import ToolSwitches

    weather, clock = PyTools(get_weather, name="weather"), PyTools(get_time, explode, name="clock")
    toolbox = Toolbox([weather, clock])
    toolbox.switches = ToolSwitches(frozenset({"weather"}), frozenset({("clock", "explode")}))
    assert [o.spec.name for o in await toolbox.offered(ChatParams())] == ["get_time"]
    assert weather.listed == 0 and clock.listed == 1
    assert [o.spec.name for o in await toolbox.available()] == ["get_weather", "get_time", "explode"]
    toolbox.switches = toolbox.switches.with_source("weather", True).with_tool("clock", "explode", True)
    assert not toolbox.switches
    assert [o.spec.name for o in await toolbox.offered(ChatParams())] == ["get_weather", "get_time", "explode"]


async def test_a_call_to_a_tool_not_on_offer_is_answered_without_asking(fake, store):
    """A model that calls a tool it was not offered: nothing runs, nobody is asked, and the
    model is told."""
    from fake_openai import Fault

    made_up = {"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 2, "id": "call_made_up", "type": "function", "function": {"name": "delete_all", "arguments": "{}"}}]}}]}
    fake.enqueue_fault(Fault("inject", after=3, events=[made_up]))
    tools = PyTools(get_weather, get_time)
    ask = Asker(APPROVE, APPROVE)
    cid, result = await turn(fake, store, tools, ask)
    assert ask.asked == ["get_weather", "get_time"]
    unavailable = store.thread(cid)[4]
    assert (unavailable.name, unavailable.status) == ("delete_all", "error")
    assert unavailable.content == "Not run: there is no tool named 'delete_all' on offer."
    assert [s.decision for s in result.steps] == [APPROVE, APPROVE, "unavailable"]


async def test_no_tools_no_loop(fake, store):
    _, result = await turn(fake, store, PyTools(), Asker(), toolbox=Toolbox())
    (request,) = chat_requests(fake)
    assert "tools" not in request and result.last.text == f"Echo: {PROMPT}"


async def test_cancelling_while_a_tool_runs_keeps_what_was_done(fake, store):
    tools = PyTools(get_weather, get_time)
    tools.hold("get_time")
    task = asyncio.ensure_future(turn(fake, store, tools, Asker(APPROVE, APPROVE)))
    while "get_time" not in tools.started:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cid = store.last_conversation_id()
    thread = store.thread(cid)
    assert [m.role for m in thread] == ["user", "assistant", "tool"]  # the first result is kept
    assert thread[1].status == "complete" and thread[2].content == "sunny in Paris"
    sent = request_history(thread)
    assert [c.name for c in sent[1].tool_calls] == ["get_weather"]  # the unrun call is not sent back


async def test_cancelling_mid_stream_keeps_the_half_answer(fake, store):
    fake.tool_text = " ".join(f"w{i}" for i in range(200))
    fake.rate = 200
    tools = PyTools(get_weather, get_time)
    task = asyncio.ensure_future(turn(fake, store, tools, Asker()))
    await asyncio.to_thread(fake.wait_for, lambda reqs: reqs and reqs[-1].chunks_sent > 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (assistant,) = [m for m in store.thread(store.last_conversation_id()) if m.role == "assistant"]
    assert assistant.status == "cancelled" and assistant.content.startswith("w0 w1")
    assert tools.calls == []


async def test_resuming_calls_saved_earlier(fake, store):
    """A compare lane's calls, picked: the turn starts by resolving them."""
    tools = PyTools(get_weather, get_time)
    cid = store.create_conversation(title="t", model="gpt-4o-mini")
    uid = store.add_message(cid, "user", PROMPT)
    client = OpenAIClient(Endpoint(name="fake", base_url=fake.base_url))
    first = await run_reply(client, store, None, conversation_id=cid, parent_id=uid, messages=[ChatMessage("user", PROMPT)],
                            model="gpt-4o-mini", params=ChatParams(), endpoint_name="fake",
                            tools=[s.to_wire() for s in await tools.list_tools()])

    async def reply(messages, parent_id, offered, params):
        return await run_reply(client, store, None, conversation_id=cid, parent_id=parent_id, messages=messages,
                               model="gpt-4o-mini", params=params, endpoint_name="fake", tools=offered)
    row = store.get_message(first.message_id)
    result = await run_turn(store, Toolbox([tools]), Approvals(), ask=Asker(APPROVE, DENY), reply=reply,
                            conversation_id=cid, messages=[ChatMessage("user", PROMPT)], parent_id=uid,
                            params=ChatParams(), pending=Pending(row.id, row.to_chat_message()))
    await client.aclose()
    assert tools.calls == [("get_weather", {"city": "Paris"})]
    assert result.last.text == f"Tool results: get_weather: sunny in Paris; get_time: {DECLINED}"


async def test_non_interactive_approval_allows_only_named_tools(fake, store):
    tools = PyTools(get_weather, get_time)
    cid, result = await turn(fake, store, tools, allow_named(["get_time"]))
    assert tools.calls == [("get_time", {"tz": "CET"})]
    refused = store.thread(cid)[2]
    assert refused.content == ("Not run: get_weather was not allowed for this run (the user allows a tool with"
                               " --tool get_weather).") and refused.status == "error"


async def test_a_provider_that_cannot_list_does_not_stop_the_others(fake, store):
    class Broken:
        name = "broken-server"

        async def list_tools(self):
            raise ConnectionError("server exited")

        async def call(self, spec, arguments):
            raise AssertionError
    toolbox = Toolbox([Broken(), PyTools(get_weather, get_time)])
    _, result = await turn(fake, store, None, Asker(APPROVE, APPROVE), toolbox=toolbox)
    assert result.last.status == "complete"
    assert toolbox.problems == ["broken-server: could not list its tools: ConnectionError: server exited"]


# -- chat-tui ask: the non-interactive loop -----------------------------------------------------


def test_ask_runs_the_named_tools_and_declines_the_others(fake, monkeypatch, capsys):
    """What `chat-tui ask --tool NAME` will do once MCP servers are wired to the command line:
    the context carries the providers and the names allowed; the same services.tools loop."""
    from chat_tui.cli import ask
    from chat_tui.cli.context import make_context
    from chat_tui.cli.parser import build_parser

    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    args = build_parser().parse_args(["ask", "-m", "gpt-4o-mini", PROMPT])
    ctx = make_context(args)
    tools = PyTools(get_weather, get_time)
    ctx.tool_providers, ctx.allowed_tools = [tools], ["get_time"]
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    try:
        assert ask.run(ctx) == 0
        store = ctx.store()
        thread = store.thread(store.last_conversation_id())
    finally:
        ctx.close()
    out, err = capsys.readouterr()
    assert tools.calls == [("get_time", {"tz": "CET"})]
    declined = ("Not run: get_weather was not allowed for this run (the user allows a tool with --tool get_weather).")
    assert out == f"Let me look.\nTool results: get_weather: {declined}; get_time: noon CET\n"
    assert err.splitlines() == [f"chat-tui: get_weather not run: {declined}", "chat-tui: ran get_time"]
    assert [m.role for m in thread] == ["user", "assistant", "tool", "tool", "assistant"]


# -- export and import ---------------------------------------------------------------------------


async def test_export_import_round_trip_and_markdown(fake, store, tmp_path):
    from chat_tui.services.history import export_json, export_markdown, import_file

    fake.tool_plan = [("get_weather", {"city": "Paris"}), ("explode", {"reason": "```\n# not a heading"})]
    tools = PyTools(get_weather, explode)
    cid, _ = await turn(fake, store, tools, Asker(APPROVE, APPROVE))
    data = export_json(store, [cid])
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data, default=str))
    report = import_file(tmp_path / "other.db", path)
    assert report is not None
    with Store(tmp_path / "other.db") as other:
        new_cid = other.last_conversation_id()
        before, after = store.thread(cid), other.thread(new_cid)
        keys = lambda m: (m.role, m.name, m.content, m.status, m.tool_calls, m.tool_call_id, m.finish_reason)
        assert [keys(m) for m in after] == [keys(m) for m in before]
        assert [m.to_wire() for m in request_history(after)] == [m.to_wire() for m in request_history(before)]
        assert [m.role for m in request_history(after)] == ["user", "assistant", "tool", "tool", "assistant"]

    markdown = export_markdown(store, store.get_conversation(cid))
    call_id = before[1].tool_calls[0]["id"]
    assert f'**Tool call** `get_weather` ({call_id}):\n\n```json\n{{\n  "city": "Paris"\n}}\n```' in markdown
    assert "## Tool result: get_weather\n\n```\nsunny in Paris\n```" in markdown
    # A result holding a fence of its own cannot close the block around it.
    assert ("## Tool result: explode [error]\n\n````\nThe tool failed: ValueError: the tool broke: ```"
            " # not a heading\n````\n") in markdown


async def test_an_answer_after_tool_calls_still_titles_the_conversation(fake, store):
    from chat_tui.services.titles import first_exchange

    cid, result = await turn(fake, store, PyTools(get_weather, get_time), Asker(APPROVE, APPROVE))
    store.set_conversation_defaults(cid, title_source="prompt")
    assert first_exchange(store, cid, result.last.message_id) == (PROMPT, result.last.text)
