"""`chat-tui serve`: the app in a browser through textual-serve. The checks on who may connect,
the real server over HTTP and WebSocket, and a real headless Chromium typing a prompt and
reading the streamed answer off the page's terminal."""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path

import pytest

from chat_tui.cli.serve import allowed, app_command, is_loopback
from conftest import run_cli
from openapi_spec import validate_request

sys.path.insert(0, str(Path(__file__).parent))
import browser  # noqa: E402

ANSWER = ("Served to the browser, **word by word**:\n\n"
          "- each tab runs its own `chat-tui`\n- on loopback unless `--public`\n")


# -- who may connect ------------------------------------------------------------------------------


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("192.168.1.5", False), ("example.com", False), ("::", False),
])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("host, origin, websocket, refused", [
    ("127.0.0.1:8000", None, False, None),
    ("localhost:8000", None, False, None),
    ("evil.example:8000", None, False, "not this server"),  # DNS rebinding: a name pointed at 127.0.0.1
    ("127.0.0.1:8001", None, False, "not this server"),
    (None, None, False, "no Host header"),
    ("127.0.0.1:8000", "http://127.0.0.1:8000", True, None),
    ("127.0.0.1:8000", "http://localhost:8000", True, None),
    ("127.0.0.1:8000", "http://evil.example", True, "not this server's page"),  # cross-site WebSocket
    ("127.0.0.1:8000", "http://127.0.0.1:9999", True, "not this server's page"),
    ("127.0.0.1:8000", None, True, "no Origin header"),
])
def test_loopback_server_refuses_other_hosts_and_pages(host, origin, websocket, refused):
    why = allowed(host, origin, port=8000, loopback=True, websocket=websocket)
    assert (why is None) if refused is None else (refused in why)


def test_public_server_takes_its_own_page_only():
    assert allowed("box.lan:8000", "http://box.lan:8000", port=8000, loopback=False, websocket=True) is None
    assert "not this server's page" in allowed("box.lan:8000", "http://evil.example", port=8000, loopback=False, websocket=True)


def test_app_command_forwards_the_shared_options_and_no_key():
    import argparse

    args = argparse.Namespace(profile="work", base_url=None, model="gpt 4o", db="/tmp/my db.sqlite",
                              gguf=None, timeout=30.0, debug=False, host="127.0.0.1", port=8000, public=False)
    argv = shlex.split(app_command(args))
    assert argv[:3] == [sys.executable, "-m", "chat_tui"]
    assert argv[3:] == ["--profile", "work", "--model", "gpt 4o", "--db", "/tmp/my db.sqlite", "--timeout", "30.0"]


def test_a_host_other_than_loopback_needs_public(cli_env):
    out = run_cli("serve", "--host", "0.0.0.0", env=cli_env)
    assert out.returncode == 1
    assert "--host 0.0.0.0 is not a loopback address" in out.stderr and "--public" in out.stderr
    out = run_cli("serve", "--port", "70000", env=cli_env)
    assert out.returncode == 2 and "70000 is not a port number" in out.stderr


def test_a_port_in_use_is_one_line(cli_env):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        out = run_cli("serve", "--port", str(taken.getsockname()[1]), env=cli_env)
    assert out.returncode == 1 and out.stderr.startswith("chat-tui: error: cannot listen on 127.0.0.1:")


# -- the real server ------------------------------------------------------------------------------


async def test_the_server_serves_the_page_and_guards_its_websocket(cli_env):
    import aiohttp

    with browser.Served(cli_env, "-m", "gpt-4o-mini") as served:
        assert served.url.startswith("http://127.0.0.1:")
        port = served.url.rsplit(":", 1)[1]
        async with aiohttp.ClientSession() as http:
            async with http.get(served.url + "/") as page:
                assert page.status == 200 and "textual-terminal" in await page.text()
            async with http.get(served.url + "/", headers={"Host": f"rebound.example:{port}"}) as page:
                assert page.status == 403
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(served.url + "/ws", origin="http://evil.example")
            assert refused.value.status == 403
            # The page's own origin gets a session: the app starts and draws.
            async with http.ws_connect(served.url + "/ws?width=100&height=30", origin=served.url) as ws:
                drawn = b""
                while b"Message" not in drawn:
                    message = await asyncio.wait_for(ws.receive(), 30)
                    assert message.type == aiohttp.WSMsgType.BINARY, message
                    drawn += message.data
        assert served.stop() == 0
    assert "serving the app on http://127.0.0.1:" in served.output[0]


needs_chromium = pytest.mark.skipif(
    not browser.available(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium; .ci/run installs it)",
)


@needs_chromium
async def test_in_a_real_browser_a_typed_prompt_gets_its_streamed_answer(cli_env, fake_openai, tmp_path):
    fake_openai.answer = ANSWER
    with browser.Served(cli_env, "-m", "gpt-4o-mini") as served:
        async with browser.Chromium(1280, 800) as chromium:
            await chromium.goto(served.url)
            await chromium.wait_for_text("Message…", "the prompt box")
            await chromium.wait_for_text("gpt-4o-mini", "the model list")
            sessions = browser.descendants(served.process.pid)
            assert sessions, "no chat-tui process was started for the page"
            await chromium.type("Hello from a browser")
            await chromium.press_enter()
            screen = await chromium.wait_for_text("on loopback unless --public", "the streamed answer")
            assert "Served to the browser, word by word:" in screen and "Hello from a browser" in screen
            await chromium.wait_for_text("first token", "the answer's statistics")
            shot = await chromium.screenshot(tmp_path / "serve.png")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert served.stop() == 0  # Ctrl+C
    assert not [pid for pid in sessions if Path(f"/proc/{pid}").exists() and _alive(pid)], "a session outlived the server"
    (request,) = [r for r in fake_openai.requests if r.path == "/v1/chat/completions"]
    assert request.json["messages"][-1] == {"role": "user", "content": "Hello from a browser"}
    assert request.json["model"] == "gpt-4o-mini" and request.json["stream"] is True
    validate_request("CreateChatCompletionRequest", request.json)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
