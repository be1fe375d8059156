"""The real MCP test server (tests/data/mcp_math_server.py) for tests: its config over stdio,
and a streamable-HTTP run of it as a subprocess on a free loopback port.

    with HTTPMathServer() as server:      # started; server.url is http://127.0.0.1:PORT/mcp
        ...
        server.restart()                  # a new process on the same port

The server binds port 0 and uvicorn prints the port it got: starting waits for that line on its
stderr (no sleeps, no race for a port), then checks the port takes a connection."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

from chat_tui.core.mcp_config import MCPServerConfig

SERVER = Path(__file__).parent / "data" / "mcp_math_server.py"
TOOLS = ["add", "fail", "slow", "die", "token", "pid", "markup"]


def stdio_config(name: str = "math", **changes) -> MCPServerConfig:
    fields = dict(name=name, command=sys.executable, args=(str(SERVER),), env={"API_TOKEN": "${MATH_TOKEN}"})
    return MCPServerConfig(**{**fields, **changes})


class HTTPMathServer:
    def __init__(self) -> None:
        self.port = 0
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def config(self, name: str = "search", **changes) -> MCPServerConfig:
        return MCPServerConfig(**{"name": name, "url": self.url, **changes})

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, str(SERVER), "--http", str(self.port)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        assert self.process.stderr is not None
        for line in self.process.stderr:  # ends if the process does
            self.output.append(line)
            if m := re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", line):
                self.port = int(m.group(1))
                break
        else:
            raise RuntimeError(f"the MCP test server did not start: {''.join(self.output)}")
        # Keep reading its log (one line per request) so a full pipe never blocks it.
        threading.Thread(target=self._drain, args=(self.process,), daemon=True).start()
        with socket.create_connection(("127.0.0.1", self.port), timeout=10):
            pass

    def _drain(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.output.append(line)
        process.stderr.close()

    def wait(self) -> int:
        """Its process's exit status, once it has ended (the `die` tool)."""
        assert self.process is not None
        return self.process.wait(timeout=30)

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def __enter__(self) -> HTTPMathServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
