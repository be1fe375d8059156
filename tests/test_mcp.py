"""MCP servers as tool sources (services/mcp.py) against a REAL MCP server written with the SDK
(tests/data/mcp_math_server.py), over stdio and over streamable HTTP: started on demand, tools
listed once, calls, a raising tool, a server that dies (then restart), `${VAR}` expansion, its
stderr in the log file, and close leaving no process and no task behind."""

from __future__ import annotations

import asyncio
import os

import pytest
from mcp_server import TOOLS, HTTPMathServer, stdio_config

from chat_tui.core.config import Config
from chat_tui.core.messages import ToolCall
from chat_tui.core.mcp_config import MCPServerConfig
from chat_tui.core.tools import ToolSpec
from chat_tui.services import mcp as mcp_service
from chat_tui.services.mcp import CRASHED, NOT_STARTED, RUNNING, MCPServerError, MCPTools, mcp_providers
from chat_tui.services.tools import Toolbox

ENV = {"MATH_TOKEN": "tok-math-1234"}


@pytest.fixture(scope="module")
def http_server():
    with HTTPMathServer() as server:
        yield server


@pytest.fixture(params=["stdio", "http"])
def transport(request, http_server):
    return request.param


def provider(transport, http_server, tmp_path, **changes) -> MCPTools:
    config = stdio_config(**changes) if transport == "stdio" else http_server.config(**changes)
    return MCPTools(config, log_dir=tmp_path / "logs", environ=ENV)


def spec(name: str) -> ToolSpec:
    return ToolSpec(name)


async def test_started_on_first_listing_and_listed_once(transport, http_server, tmp_path, monkeypatch):
    listings = []
    real = mcp_service._listed

    async def counted(session, server):
        listings.append(server.name)
        return await real(session, server)

    monkeypatch.setattr(mcp_service, "_listed", counted)
    tools = provider(transport, http_server, tmp_path)
    assert tools.state == NOT_STARTED and tools.tools == []
    try:
        specs = await tools.list_tools()
        assert [s.name for s in specs] == TOOLS and tools.state == RUNNING
        add = specs[0]
        assert add.source == f"mcp:{tools.name}" and add.description == "Add two whole numbers."
        assert add.input_schema["properties"].keys() == {"a", "b"} and add.input_schema["required"] == ["a", "b"]
        assert add.to_wire()["function"]["name"] == "add"
        assert [s.name for s in await tools.list_tools()] == TOOLS
        assert listings == [tools.name]  # cached until a restart
    finally:
        await tools.close()


async def test_calls_and_a_raising_tool(transport, http_server, tmp_path):
    tools = provider(transport, http_server, tmp_path)
    try:
        outcome = await tools.call(spec("add"), {"a": 2, "b": 40})  # starts it on demand
        assert outcome.text == "42" and not outcome.is_error
        failed = await tools.call(spec("fail"), {"why": "today"})
        assert failed.is_error and "fail" in failed.text
        assert tools.state == RUNNING  # a tool's failure is not the server's
        assert (await tools.call(spec("add"), {"a": 1, "b": 1})).text == "2"
        wrong = await tools.call(spec("add"), {"a": "x"})
        assert wrong.is_error and tools.state == RUNNING
        unknown = await tools.call(spec("nope"), {})
        assert unknown.is_error and tools.state == RUNNING
    finally:
        await tools.close()


async def test_the_tool_loop_goes_on_after_a_raising_tool(tmp_path):
    """Through the Toolbox, as the loop runs a call: an error outcome, never an exception."""
    tools = MCPTools(stdio_config(), log_dir=tmp_path, environ=ENV)
    toolbox = Toolbox([tools])
    try:
        offered = {o.spec.name: o for o in await toolbox.available()}
        failed = await toolbox.run(offered["fail"], ToolCall("c1", "fail", "{}"))
        assert failed.is_error
        added = await toolbox.run(offered["add"], ToolCall("c2", "add", '{"a": 3, "b": 4}'))
        assert added.text == "7" and not added.is_error
    finally:
        await tools.close()


async def test_a_dying_server_is_an_error_outcome_then_crashed_then_restarted(transport, http_server, tmp_path):
    tools = provider(transport, http_server, tmp_path)
    try:
        await tools.list_tools()
        outcome = await tools.call(spec("die"), {})
        assert outcome.is_error and outcome.text.startswith(f"server {tools.name} stopped: ")
        assert tools.state == CRASHED and tools.reason and tools.reason in outcome.text
        assert [s.name for s in tools.tools] == TOOLS  # the last listing, for a view
        with pytest.raises(MCPServerError, match=f"server {tools.name} stopped"):
            await tools.list_tools()  # not restarted behind the user's back
        again = await tools.call(spec("add"), {"a": 1, "b": 2})
        assert again.is_error and "stopped" in again.text
        if transport == "http":
            assert http_server.wait() == 3
            http_server.restart()
        await tools.restart()
        assert tools.state == RUNNING and tools.reason is None
        assert (await tools.call(spec("add"), {"a": 1, "b": 2})).text == "3"
    finally:
        await tools.close()


async def test_a_stdio_server_that_dies_while_idle_is_seen_crashed(tmp_path):
    tools = MCPTools(stdio_config(), log_dir=tmp_path, environ=ENV)
    seen = asyncio.Event()
    tools.listeners.append(lambda t: seen.set() if t.state == CRASHED else None)
    try:
        pid = int((await tools.call(spec("pid"), {})).text)
        os.kill(pid, 9)
        await asyncio.wait_for(seen.wait(), 30)  # no request needed to notice
        assert tools.state == CRASHED and "process ended" in tools.reason
    finally:
        await tools.close()


async def test_env_is_expanded_at_start_and_never_written(tmp_path):
    tools = MCPTools(stdio_config(args=(stdio_config().args[0], "--key=${MATH_TOKEN}")), log_dir=tmp_path,
                     environ=ENV)
    try:
        assert (await tools.call(spec("token"), {})).text == "tok-math-1234"  # the server got the value
    finally:
        await tools.close()
    log = (tmp_path / "mcp-math.log").read_text()
    assert "--key=${MATH_TOKEN}" in log and "tok-math-1234" not in log


async def test_an_unset_variable_fails_that_server_alone(tmp_path):
    broken = MCPTools(stdio_config(name="broken", env={"API_TOKEN": "${NOT_SET_ANYWHERE}"}), log_dir=tmp_path,
                      environ=ENV)
    fine = MCPTools(stdio_config(), log_dir=tmp_path, environ=ENV)
    toolbox = Toolbox([broken, fine])
    try:
        offered = await toolbox.available()
        assert [o.spec.name for o in offered] == TOOLS and offered[0].provider is fine
        assert broken.state == CRASHED and broken.reason == "env.API_TOKEN uses ${NOT_SET_ANYWHERE}, which is not set in the environment"
        assert toolbox.problems == [f"broken: could not list its tools: server broken stopped: {broken.reason}"]
        outcome = await broken.call(spec("add"), {"a": 1, "b": 1})
        assert outcome.is_error and "NOT_SET_ANYWHERE" in outcome.text
    finally:
        await asyncio.gather(broken.close(), fine.close())


async def test_a_secret_in_an_error_is_shown_as_its_variable(tmp_path):
    tools = MCPTools(MCPServerConfig(name="gone", command="${MATH_TOKEN}"), log_dir=tmp_path,
                     environ={"MATH_TOKEN": "not-a-program-5678"})
    # command is not expanded (only args, env, headers and url are): it names no program
    with pytest.raises(MCPServerError, match="no such program"):
        await tools.list_tools()
    http = MCPTools(MCPServerConfig(name="refused", url="http://127.0.0.1:9/${MATH_TOKEN}"), log_dir=tmp_path,
                    environ={"MATH_TOKEN": "secret-path-5678"})
    with pytest.raises(MCPServerError) as caught:
        await http.list_tools()
    assert "secret-path-5678" not in str(caught.value) and "${MATH_TOKEN}" in str(caught.value)
    assert "secret-path-5678" not in (tmp_path / "mcp-refused.log").read_text()
    await http.close()


async def test_a_missing_program_is_a_reason_not_a_crash(tmp_path):
    tools = MCPTools(MCPServerConfig(name="nothing", command="/nonexistent/mcp-server"), log_dir=tmp_path)
    with pytest.raises(MCPServerError, match=r"server nothing stopped: cannot start '/nonexistent/mcp-server'"):
        await tools.list_tools()
    assert tools.state == CRASHED
    await tools.close()
    assert tools.state == NOT_STARTED


async def test_stderr_goes_to_the_log_file_not_the_terminal(tmp_path, capfd):
    tools = MCPTools(stdio_config(), log_dir=tmp_path / "logs", environ=ENV)
    try:
        await tools.call(spec("fail"), {})  # the server logs a traceback to stderr
        await tools.call(spec("die"), {})  # and a last line
    finally:
        await tools.close()
    log = (tmp_path / "logs" / "mcp-math.log").read_text()
    assert "math server: started" in log and "math server: dying on request" in log and "ValueError" in log
    out, err = capfd.readouterr()
    assert "math server" not in out + err and "Traceback" not in out + err


async def test_close_leaves_no_process_and_no_task(transport, http_server, tmp_path):
    tools = provider(transport, http_server, tmp_path)
    pid = int((await tools.call(spec("pid"), {})).text)
    await tools.close()
    assert tools.state == NOT_STARTED
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("mcp server")]
    if transport == "stdio":
        with pytest.raises(ProcessLookupError):  # ended and reaped: no zombie either
            os.kill(pid, 0)
    else:
        os.kill(pid, 0)  # a server we did not start is left running


async def test_a_cancelled_call_leaves_the_server_running(tmp_path):
    tools = MCPTools(stdio_config(), log_dir=tmp_path, environ=ENV)
    try:
        await tools.start()
        call = asyncio.create_task(tools.call(spec("slow"), {"seconds": 60}))
        while not tools._jobs:  # the call has reached the server's task
            await asyncio.sleep(0)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert tools.state == RUNNING
        assert (await tools.call(spec("add"), {"a": 2, "b": 2})).text == "4"
    finally:
        await tools.close()


async def test_a_server_that_never_answers_its_start_says_so(tmp_path):
    silent = stdio_config(args=("-c", "import time; time.sleep(60)"), timeout=0.5)  # never initializes
    tools = MCPTools(silent, log_dir=tmp_path, environ=ENV)
    try:
        outcome = await tools.call(spec("add"), {"a": 1, "b": 2})
        assert outcome.is_error and outcome.text == "server math stopped: it did not start within 0.5 s"
        assert tools.state == CRASHED
    finally:
        await tools.close()


async def test_a_call_that_takes_too_long_is_an_error(tmp_path):
    # 3 s: the server's start (it imports the MCP SDK) counts against the same limit, and a
    # loaded machine has taken over 1 s for it
    tools = MCPTools(stdio_config(timeout=3), log_dir=tmp_path, environ=ENV)
    try:
        outcome = await tools.call(spec("slow"), {"seconds": 30})
        assert outcome.is_error and outcome.text == "server math did not answer within 3 s"
        assert tools.state == RUNNING
    finally:
        await tools.close()


async def test_close_during_a_call_ends_it_as_an_error(tmp_path):
    tools = MCPTools(stdio_config(), log_dir=tmp_path, environ=ENV)
    await tools.start()
    call = asyncio.create_task(tools.call(spec("slow"), {"seconds": 60}))
    while not tools._jobs:
        await asyncio.sleep(0)
    await tools.close()
    outcome = await call
    assert outcome.is_error and "stopped" in outcome.text


def test_mcp_providers_one_per_enabled_server_none_started(tmp_path):
    config = Config(mcp_servers={"a": stdio_config("a"), "b": stdio_config("b", enabled=False),
                                 "c": MCPServerConfig(name="c", url="http://127.0.0.1:9/mcp")})
    providers = mcp_providers(config, log_dir=tmp_path)
    assert [(p.name, p.state) for p in providers] == [("a", NOT_STARTED), ("c", NOT_STARTED)]
    assert not list(tmp_path.iterdir())


def test_tool_specs_and_results_as_text():
    from mcp_types import CallToolResult, EmbeddedResource, ImageContent, TextContent, TextResourceContents, Tool

    tool = Tool(name="files.read/v2", description=None, input_schema={"type": "object"})
    made = mcp_service.tool_spec(tool, "mcp:fs")
    assert made.name == "files_read_v2" and made.origin_name == "files.read/v2" and made.description == ""
    assert mcp_service.tool_spec(Tool(name="ok", input_schema={"type": "object"}), "mcp:x").origin_name is None
    result = CallToolResult(content=[TextContent(text="one"), ImageContent(data="AAAA", mime_type="image/png"),
                                     EmbeddedResource(type="resource", resource=TextResourceContents(
                                         uri="file:///a.txt", text="inside"))])
    assert mcp_service.result_text(result) == "one\n[image: image/png, about 3 bytes, not shown]\ninside"
    structured = CallToolResult(content=[], structured_content={"sum": 3})
    assert mcp_service.result_text(structured) == '{\n  "sum": 3\n}'
    assert mcp_service.result_text(CallToolResult(content=[])) == "(the tool returned nothing)"


async def test_a_tool_with_another_name_on_the_wire_is_called_by_its_own(tmp_path):
    tools = MCPTools(stdio_config(), log_dir=tmp_path, environ=ENV)
    try:
        outcome = await tools.call(ToolSpec("add_renamed", origin_name="add"), {"a": 5, "b": 5})
        assert outcome.text == "10"
    finally:
        await tools.close()

