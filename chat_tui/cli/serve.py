"""`chat-tui serve`: the app in a web browser, through textual-serve.

Each browser tab gets its own `chat-tui` process, started with the options given here (profile,
base URL, model, database) and this process's environment (CHAT_TUI_HOME, the API key's
variable): the same app, the same config and history. The key stays in the environment, never
on a command line or in a page.

Whoever can open the page uses the app with the user's API key and history, so:
- it binds to loopback (127.0.0.1) unless `--public` is given, with a warning;
- the page and its WebSocket answer only requests whose `Host` is this server as the browser
  was told to reach it (a loopback name when bound to loopback), so a web site cannot reach the
  app through a DNS name pointed at 127.0.0.1 (DNS rebinding);
- the WebSocket is refused unless its `Origin` is the page's own origin: browsers let any site
  open a WebSocket anywhere (cross-site WebSocket hijacking).
"""

from __future__ import annotations

import ipaddress
import shlex
import sys
from typing import Any
from urllib.parse import urlsplit

from chat_tui.cli.context import CLIError, Context

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
# The options every command shares, as the app's command line takes them again.
FORWARDED = (("profile", "--profile"), ("base_url", "--base-url"), ("model", "--model"), ("db", "--db"),
             ("gguf", "--gguf"), ("timeout", "--timeout"))


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def app_command(args: Any) -> str:
    """The shell command textual-serve runs for each browser session: this Python's chat-tui,
    with the shared options that were given."""
    argv = [sys.executable, "-m", "chat_tui"]
    for name, flag in FORWARDED:
        value = getattr(args, name, None)
        if value is not None:
            argv += [flag, str(value)]
    if getattr(args, "debug", False):
        argv.append("--debug")
    return shlex.join(argv)


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def allowed(request_host: str | None, origin: str | None, *, port: int, loopback: bool, websocket: bool) -> str | None:
    """Why a request is refused (None: it is not). `request_host` is the Host header,
    `origin` the Origin header (checked for the WebSocket only)."""
    if not request_host:
        return "no Host header"
    host = urlsplit(f"http://{request_host}")
    try:
        host_port = host.port or 80
    except ValueError:
        return "a bad Host header"
    if loopback and (not is_loopback(host.hostname or "") or host_port != port):
        return f"Host {request_host!r} is not this server"
    if not websocket:
        return None
    if not origin:
        return "no Origin header"
    page = urlsplit(origin)
    try:
        page_port = page.port or (443 if page.scheme == "https" else 80)
    except ValueError:
        return "a bad Origin header"
    same = (page.hostname or "").lower() == (host.hostname or "").lower() and page_port == host_port
    if loopback:
        same = is_loopback(page.hostname or "") and page_port == port
    return None if same else f"Origin {origin!r} is not this server's page"


def run(ctx: Context) -> int:
    args = ctx.args
    host, port, public = args.host, args.port, args.public
    loopback = is_loopback(host)
    if not loopback and not public:
        raise CLIError(
            f"--host {host} is not a loopback address: anyone who reaches it would use the app with your "
            "API key and history. Add --public to serve it there anyway."
        )
    try:
        from aiohttp import web
        from textual_serve.server import Server
    except ImportError as exc:
        raise CLIError(f"serving needs textual-serve ({exc.name} is missing): pip install 'textual-serve>=1.1'") from None

    url = f"http://{url_host(host)}:{port}"
    if not loopback:
        print(f"chat-tui: warning: serving on {host}, not loopback: whoever reaches {url} uses the app with "
              "your API key and history; there is no password.", file=sys.stderr, flush=True)

    class GuardedServer(Server):
        """textual-serve's server, with the Host and Origin checks above."""

        def _refused(self, request: Any, websocket: bool) -> Any:
            why = allowed(request.headers.get("Host"), request.headers.get("Origin"),
                          port=port, loopback=loopback, websocket=websocket)
            return web.Response(status=403, text=f"Forbidden: {why}\n") if why else None

        async def handle_index(self, request: Any) -> Any:
            return self._refused(request, False) or await super().handle_index(request)

        async def handle_websocket(self, request: Any) -> Any:
            return self._refused(request, True) or await super().handle_websocket(request)

        async def on_startup(self, app: Any) -> None:
            pass  # textual-serve's banner; ours is printed once the port is bound

    server = GuardedServer(app_command(args), host=host, port=port, title="chat-tui", public_url=url)

    def ready(_message: str) -> None:
        print(f"chat-tui: serving the app on {url}  (Ctrl+C stops)", flush=True)

    try:
        # textual-serve's own serve() prints its banner before the port is bound; this is the
        # same aiohttp application, run with aiohttp's handling of Ctrl+C and SIGTERM.
        web.run_app(server._make_app(), host=host, port=port, print=ready, access_log=None,
                    handle_signals=True, shutdown_timeout=5)
    except OSError as exc:
        raise CLIError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    finally:
        end_sessions(SESSION_GRACE)
    return 0


SESSION_GRACE = 5.0  # seconds a session told to quit has to exit before it is terminated


def end_sessions(grace: float) -> None:
    """No session outlives the server. textual-serve tells each to quit when its page's socket
    closes, and aiohttp may cancel that wait as it shuts down: the sessions (our child
    processes) are waited for here, and terminated once `grace` has passed. They are not
    reaped here: asyncio's child watcher threads do that (reaping them here too would make
    those threads warn of an unknown child)."""
    import os
    import signal
    import time

    deadline = time.monotonic() + grace
    while left := _children():
        if time.monotonic() >= deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass
            return
        time.sleep(0.02)  # a child's exit has no event to wait on here (the loop is closed)


def _children() -> list[int]:
    """This process's live children (from /proc; Linux)."""
    import os
    from pathlib import Path

    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me and fields[0] != "Z":
                found.append(int(entry.name))
    return found
