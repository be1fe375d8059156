"""`chat-tui mcp list` and `chat-tui ask --tool NAME`, run as a user would (the installed entry
point in a subprocess), against the fake OpenAI server and the real MCP test server
(tests/data/mcp_math_server.py) over stdio and streamable HTTP."""

from __future__ import annotations

import json
import os
import re
import sys

import pytest
from conftest import run_cli
from mcp_server import SERVER, TOOLS, HTTPMathServer
from openapi_spec import validate_request

SECRET = "tok-cli-98765"


def math_table(name: str = "math") -> str:
    return (f"[mcp.servers.{name}]\ncommand = {json.dumps(sys.executable)}\nargs = [{json.dumps(str(SERVER))}]\n"
            'env = { API_TOKEN = "${MATH_TOKEN}" }\n')


def configure(home, *tables: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("\n".join(tables))


@pytest.fixture
def env(cli_env):
    return {**cli_env, "MATH_TOKEN": SECRET}


def chat_bodies(fake):
    return [r.json for r in fake.requests if r.path.endswith("/chat/completions")]


def test_mcp_list_shows_servers_states_and_tools(isolated_env, env):
    with HTTPMathServer() as http:
        configure(isolated_env, math_table(),
                  f'[mcp.servers.search]\nurl = "{http.url}"\nheaders = {{ Authorization = "Bearer ${{MATH_TOKEN}}" }}\n',
                  '[mcp.servers.off]\ncommand = "nothing"\nenabled = false\n',
                  '[mcp.servers.broken]\ncommand = "/nonexistent/mcp-server"\n')
        text = run_cli("mcp", "list", env=env)
        listed = run_cli("mcp", "list", "--json", env=env)
    assert text.returncode == 3 and listed.returncode == 3  # broken could not start; the rest are listed
    lines = text.stdout.splitlines()
    assert lines[0] == f"math (stdio: {sys.executable} {SERVER}): {len(TOOLS)} tools"
    assert lines[1:3] == ["  add: Add two whole numbers.",
                          '    input: {"properties": {"a": {"title": "A", "type": "integer"}, "b": {"title": "B",'
                          ' "type": "integer"}}, "required": ["a", "b"], "title": "addArguments", "type": "object"}']
    assert f"search (http: {http.url}): {len(TOOLS)} tools" in lines
    assert "off (stdio: nothing): disabled (enabled = false)" in lines
    assert lines[-1] == "broken (stdio: /nonexistent/mcp-server): could not start: cannot start" \
                        " '/nonexistent/mcp-server': no such program"
    assert text.stderr.strip().endswith("chat-tui: MCP server broken could not start: cannot start"
                                        " '/nonexistent/mcp-server': no such program")
    servers = {s["name"]: s for s in json.loads(listed.stdout)["servers"]}
    assert list(servers) == ["math", "search", "off", "broken"]
    assert [(s["state"], len(s["tools"])) for s in servers.values()] == [
        ("running", len(TOOLS)), ("running", len(TOOLS)), ("disabled", 0), ("crashed", 0)]
    add = servers["math"]["tools"][0]
    assert add["name"] == "add" and add["input_schema"]["required"] == ["a", "b"]
    assert servers["math"]["env"] == {"API_TOKEN": "${MATH_TOKEN}"}
    assert servers["search"]["headers"] == {"Authorization": "Bearer ${MATH_TOKEN}"}
    assert servers["broken"]["reason"].startswith("cannot start")
    for run in (text, listed):  # the secret was used (the HTTP server got its header) and never shown
        assert SECRET not in run.stdout + run.stderr
    logs = isolated_env / "cache" / "logs"
    assert "math server: started" in (logs / "mcp-math.log").read_text()
    assert "math server" not in text.stdout + text.stderr


def test_mcp_list_exits_0_when_all_listed_and_says_when_none_are_configured(isolated_env, env):
    configure(isolated_env, math_table())
    assert run_cli("mcp", "list", env=env).returncode == 0
    configure(isolated_env, "")
    empty = run_cli("mcp", "list", env=env)
    assert empty.returncode == 0 and empty.stdout == "" and "no MCP servers are configured" in empty.stderr


def test_an_unset_variable_is_that_servers_failure(isolated_env, cli_env):
    configure(isolated_env, math_table(), math_table("other").replace("MATH_TOKEN", "OTHER_TOKEN"))
    result = run_cli("mcp", "list", env={**cli_env, "MATH_TOKEN": SECRET})
    assert result.returncode == 3
    assert f"math (stdio: {sys.executable} {SERVER}): {len(TOOLS)} tools" in result.stdout
    assert "other (stdio: " in result.stdout and \
        "could not start: env.API_TOKEN uses ${OTHER_TOKEN}, which is not set in the environment" in result.stdout


def test_ask_tool_offers_exactly_that_tool_runs_it_and_prints_the_answer(fake_openai, isolated_env, env):
    configure(isolated_env, math_table(), '[mcp.servers.broken]\ncommand = "/nonexistent/mcp-server"\n')
    fake_openai.tool_plan = [("add", {"a": 2, "b": 40})]
    result = run_cli("ask", "-m", "gpt-4o-mini", "--tool", "add", "What is 2 + 40?", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Tool results: add: 42\n"
    assert "chat-tui: ran add" in result.stderr.splitlines()
    assert "chat-tui: warning: broken: could not list its tools: server broken stopped: cannot start" in result.stderr
    first, second = chat_bodies(fake_openai)
    for body in (first, second):
        validate_request("CreateChatCompletionRequest", body)
    add = {"type": "function", "function": {
        "name": "add", "description": "Add two whole numbers.",
        "parameters": {"properties": {"a": {"title": "A", "type": "integer"}, "b": {"title": "B", "type": "integer"}},
                       "required": ["a", "b"], "title": "addArguments", "type": "object"}}}
    assert first["tools"] == [add]  # exactly the named tool, with the server's schema
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["content"] == "42"
    assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "add"


def test_ask_tool_leaves_no_server_process_behind(fake_openai, isolated_env, env):
    configure(isolated_env, math_table())
    fake_openai.tool_plan = [("pid", {})]
    result = run_cli("ask", "-m", "gpt-4o-mini", "--tool", "pid", "Which process?", env=env)
    assert result.returncode == 0, result.stderr
    pid = int(re.fullmatch(r"Tool results: pid: (\d+)\n", result.stdout).group(1))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_ask_tool_with_several_tools_and_a_raising_one(fake_openai, isolated_env, env):
    configure(isolated_env, math_table())
    fake_openai.tool_plan = [("add", {"a": 1, "b": 2}), ("fail", {})]
    result = run_cli("ask", "-m", "gpt-4o-mini", "--tool", "add", "--tool", "fail", "Go", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Tool results: add: 3; fail: Error executing tool fail")
    assert "chat-tui: fail failed: Error executing tool fail" in result.stderr
    assert [t["function"]["name"] for t in chat_bodies(fake_openai)[0]["tools"]] == ["add", "fail"]


def test_an_unknown_tool_is_a_usage_error_naming_the_tools(fake_openai, isolated_env, env):
    configure(isolated_env, math_table())
    result = run_cli("ask", "-m", "gpt-4o-mini", "--tool", "multiply", "What is 6 x 7?", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == ("chat-tui: error: --tool multiply: no configured MCP server offers it"
                                     f" (available: {', '.join(TOOLS)})")
    assert fake_openai.requests == []
    assert "[]" == run_cli("history", "list", "--json", env=env).stdout.strip()  # nothing saved


def test_tool_without_any_server(fake_openai, isolated_env, env):
    configure(isolated_env, "")
    result = run_cli("ask", "-m", "gpt-4o-mini", "--tool", "add", "Hi", env=env)
    assert result.returncode == 2 and "--tool add: no MCP server is configured" in result.stderr
    assert fake_openai.requests == []
