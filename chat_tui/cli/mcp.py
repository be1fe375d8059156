"""`chat-tui mcp list`: each configured MCP server (`[mcp.servers.NAME]`), started to list its
tools: name, description and input schema. A server that cannot start is reported with its
reason and the others are still listed; exit 0 when every enabled server listed its tools, 3
when any did not. What is shown of a server is the config's text (`${VAR}`, never its value).

`tools_for(ctx, names)` is `ask --tool NAME`: exactly those tools, from the servers that offer
them, or a usage error naming the tools there are."""

from __future__ import annotations

import asyncio
import json
import sys

from chat_tui.cli.context import CLIError, Context
from chat_tui.cli.output import dump_json, out

FAILED = 3  # exit status: a server could not start or list its tools


def run(ctx: Context) -> int:
    return asyncio.run(_list(ctx))


async def _list(ctx: Context) -> int:
    from chat_tui.core.text import one_line
    from chat_tui.services.mcp import close_all, mcp_providers

    servers = ctx.config.mcp_servers
    providers = {p.name: p for p in mcp_providers(ctx.config, log_dir=ctx.paths.log_dir)}
    try:
        await asyncio.gather(*(p.list_tools() for p in providers.values()), return_exceptions=True)
        seen = {name: (p.state, p.reason, list(p.tools)) for name, p in providers.items()}
    finally:
        await close_all(providers.values())
    rows = []
    for name, server in servers.items():
        state, reason, tools = seen.get(name, ("disabled", None, []))
        provider = providers.get(name)
        rows.append({
            **server.public(),
            "state": state,
            "reason": reason,
            "log": str(provider.log_path) if provider is not None and provider.log_path else None,
            "tools": [{"name": t.name, "description": t.description, "input_schema": dict(t.input_schema),
                       **({"origin_name": t.origin_name} if t.origin_name else {})} for t in tools],
        })
    failed = [r["name"] for r in rows if r["state"] == "crashed"]
    if ctx.args.json:
        dump_json({"servers": rows})
    elif not rows:
        print(f"chat-tui: no MCP servers are configured (add [mcp.servers.NAME] to {ctx.paths.config_file})",
              file=sys.stderr)
    else:
        for row in rows:
            where = f"{row['transport']}: {one_line(servers[row['name']].target())}"
            if row["state"] == "crashed":
                status = f"could not start: {one_line(row['reason'] or '')}"
            elif row["state"] == "disabled":
                status = "disabled (enabled = false)"
            else:
                count = len(row["tools"])
                status = f"{count} tool{'' if count == 1 else 's'}"
            out(f"{row['name']} ({where}): {status}\n")
            for tool in row["tools"]:
                desc = one_line(tool["description"])
                out(f"  {tool['name']}" + (f": {desc}" if desc else "") + "\n")
                out(f"    input: {json.dumps(tool['input_schema'], ensure_ascii=False, sort_keys=True)}\n")
    for name in failed:
        print(f"chat-tui: MCP server {name} could not start: {one_line(seen[name][1] or '')}", file=sys.stderr)
    return FAILED if failed else 0


async def tools_for(ctx: Context, names: list[str]) -> None:
    """`ask --tool NAME...`: start the configured servers, check every name is a tool one of them
    offers (else a usage error, exit 2, naming the tools there are), and set the context so that
    exactly those are offered and their calls run without asking. The providers are left in
    `ctx.tool_providers` for the caller to close."""
    from chat_tui.core.text import one_line
    from chat_tui.services.mcp import mcp_providers
    from chat_tui.services.tools import Toolbox

    providers = mcp_providers(ctx.config, log_dir=ctx.paths.log_dir)
    ctx.tool_providers = list(providers)
    if not providers:
        raise CLIError(f"--tool {names[0]}: no MCP server is configured (add [mcp.servers.NAME] to"
                       f" {ctx.paths.config_file})", 2)
    toolbox = Toolbox(providers)
    available = [o.spec.name for o in await toolbox.available()]
    for problem in toolbox.problems:
        print(f"chat-tui: warning: {one_line(problem)}", file=sys.stderr)
    unknown = [n for n in dict.fromkeys(names) if n not in available]
    if unknown:
        there = ", ".join(available) if available else "none"
        raise CLIError(f"--tool {unknown[0]}: no configured MCP server offers it (available: {there})", 2)
    ctx.disabled_tools = {n for n in available if n not in names}
    ctx.allowed_tools = list(dict.fromkeys(names))
