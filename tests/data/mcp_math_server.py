"""A real MCP server for the tests, written with the SDK (`MCPServer`): small math tools, one
that raises, one that is slow, one that kills its own process, one that reports what it
was given in its environment, and its process id.

    python mcp_math_server.py                      # stdio
    python mcp_math_server.py --http PORT          # streamable HTTP on 127.0.0.1:PORT/mcp

It writes a line to stderr at start (the tests look for it in the log file, never on stdout)."""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("math")


@server.tool(description="Add two whole numbers.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(description="Always fails.")
def fail(why: str = "on purpose") -> str:
    raise ValueError(f"failed {why}")


@server.tool(description="Answers after a while.")
async def slow(seconds: float = 30.0) -> str:
    await asyncio.sleep(seconds)
    return "done"


@server.tool(description="Ends the server's process at once.")
def die() -> str:
    sys.stderr.write("math server: dying on request\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool(description="The value of API_TOKEN in the server's environment.")
def token() -> str:
    return os.environ.get("API_TOKEN", "(unset)")


@server.tool(description="The server's process id.")
def pid() -> int:
    return os.getpid()


@server.tool(description="Markup that must be shown as text: [bold red]not bold[/].")
def markup() -> str:
    return "[bold]literal[/bold] $x$ <b>"


if __name__ == "__main__":
    sys.stderr.write(f"math server: started (pid {os.getpid()})\n")
    sys.stderr.flush()
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
