"""MCP servers as sources of tools: their `[mcp.servers.NAME]` tables, checked, and `${VAR}`
expanded from the environment only when a server starts.

    [mcp.servers.math]                 # stdio: a command the app starts
    command = "python"
    args = ["math_server.py"]
    env = { API_TOKEN = "${MATH_TOKEN}" }
    cwd = "~/tools"                    # optional
    timeout = 30                       # optional: seconds to start, and for each call (default 60)

    [mcp.servers.search]               # streamable HTTP: a server already running
    url = "http://127.0.0.1:9000/mcp"
    headers = { Authorization = "Bearer ${SEARCH_TOKEN}" }
    enabled = false                    # listed, never started

`MCPServerConfig` keeps the text as written (`${SEARCH_TOKEN}`, not the token): that is what is
shown, logged, saved or exported. `expand()` makes the `Launch` a transport needs; an unset
variable is an `MCPConfigError` naming the server and the variable, for that server alone.
`Launch.redact` puts the `${VAR}` text back into any message that quotes an expanded value.

Plain data: nothing here starts anything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chat_tui.core.headers import header_name_ok, header_value_problem

DEFAULT_TIMEOUT = 60.0  # seconds: to start a server, and for each call
SERVER_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")  # used in file names (its log) and "mcp:NAME"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_KEYS = ("command", "args", "env", "cwd", "url", "headers", "enabled", "timeout")
_STDIO_ONLY = ("args", "env", "cwd")


class MCPConfigError(ValueError):
    """An `[mcp.servers.NAME]` table is wrong, or a variable it names is unset."""


@dataclass(frozen=True)
class MCPServerConfig:
    """One configured server, as written in the file (variables not expanded)."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True
    timeout: float = DEFAULT_TIMEOUT

    @property
    def transport(self) -> str:
        return "stdio" if self.command is not None else "http"

    @property
    def source(self) -> str:
        """`ToolSpec.source` of its tools."""
        return f"mcp:{self.name}"

    def target(self) -> str:
        """Where it runs, for a list: the command line or the URL, unexpanded."""
        if self.command is not None:
            return " ".join([self.command, *self.args])
        return self.url or ""

    def public(self) -> dict[str, Any]:
        """What may be shown or saved: the file's text, `${VAR}` and all."""
        out: dict[str, Any] = {"name": self.name, "transport": self.transport, "enabled": self.enabled,
                               "timeout": self.timeout}
        if self.command is not None:
            out.update(command=self.command, args=list(self.args), env=dict(self.env), cwd=self.cwd)
        else:
            out.update(url=self.url, headers=dict(self.headers))
        return out

    def variables(self) -> list[str]:
        """The `${VAR}` names it uses, in order, once each."""
        texts = [*self.args, *self.env.values(), *self.headers.values(), self.url or ""]
        return list(dict.fromkeys(m.group(1) for t in texts for m in _VAR.finditer(t)))

    def expand(self, environ: Mapping[str, str]) -> Launch:
        """The values a transport needs, `${VAR}` replaced from `environ`. An unset variable is
        an MCPConfigError naming the server, the variable and where it is used."""
        used: dict[str, str] = {}

        def sub(text: str, where: str) -> str:
            def one(match: re.Match[str]) -> str:
                var = match.group(1)
                if var not in environ:
                    raise MCPConfigError(f"MCP server {self.name!r}: {where} uses ${{{var}}}, which is not set"
                                         " in the environment")
                used[var] = environ[var]
                return environ[var]
            return _VAR.sub(one, text)

        args = tuple(sub(a, f"args[{i}]") for i, a in enumerate(self.args))
        env = {k: sub(v, f"env.{k}") for k, v in self.env.items()}
        headers = {k: sub(v, f"headers.{k}").strip() for k, v in self.headers.items()}
        url = sub(self.url, "url") if self.url is not None else None
        for name, value in headers.items():
            if problem := header_value_problem(value):
                raise MCPConfigError(f"MCP server {self.name!r}: header {name!r} has {problem} once expanded,"
                                     " which an HTTP header cannot carry (the value is not shown)")
        if url is not None and not url.startswith(("http://", "https://")):
            raise MCPConfigError(f"MCP server {self.name!r}: url must start with http:// or https:// once"
                                 f" expanded (it is {self.url!r} in the config)")
        # Values too short to be secrets ("1", "on") would garble every message they appear in.
        return Launch(self, args, env, headers, url, {v: k for k, v in used.items() if len(v) >= 4})


@dataclass(frozen=True)
class Launch:
    """A server's expanded values: secrets, kept out of `repr`."""

    server: MCPServerConfig
    args: tuple[str, ...] = field(repr=False)
    env: Mapping[str, str] = field(repr=False)
    headers: Mapping[str, str] = field(repr=False)
    url: str | None = field(repr=False)
    secrets: Mapping[str, str] = field(repr=False)  # an expanded value -> its variable

    def redact(self, text: str) -> str:
        """`text` with every expanded value put back as the `${VAR}` that gave it."""
        for value in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(value, f"${{{self.secrets[value]}}}")
        return text


def parse_servers(table: Any, where: str = "[mcp.servers]") -> tuple[dict[str, MCPServerConfig], list[str]]:
    """The `[mcp.servers]` table as servers by name, in file order, and warnings for unknown
    keys. A wrong shape is an MCPConfigError saying where and what it must be (values of
    `env` and `headers` are never quoted: they may hold credentials)."""
    if not isinstance(table, dict):
        raise MCPConfigError(f"{where} must be a table of [mcp.servers.NAME] tables")
    servers: dict[str, MCPServerConfig] = {}
    warnings: list[str] = []
    for name, entry in table.items():
        at = f"[mcp.servers.{name}]"
        if not SERVER_NAME.match(name):
            raise MCPConfigError(f"[mcp.servers] {name!r}: a server's name is letters, digits, _ and - (at most 64)")
        if not isinstance(entry, dict):
            raise MCPConfigError(f"{at} must be a table (command or url, ...), not {_kind(entry)}")
        for key in entry:
            if key not in _KEYS:
                warnings.append(f"unknown key {key!r} in {at} is ignored; known keys: {', '.join(_KEYS)}")
        servers[name] = _server(name, entry, at)
    return servers, warnings


def _server(name: str, entry: dict[str, Any], at: str) -> MCPServerConfig:
    command, url = entry.get("command"), entry.get("url")
    if command is not None and url is not None:
        raise MCPConfigError(f"{at} has both command (a server to start) and url (one running): give one")
    if command is None and url is None:
        raise MCPConfigError(f"{at} needs command (a server to start over stdio) or url (streamable HTTP)")
    if command is not None and not (isinstance(command, str) and command.strip()):
        raise MCPConfigError(f"{at} command must be a program to run (a non-empty string), not {_kind(command)}")
    if url is not None:
        if not isinstance(url, str):
            raise MCPConfigError(f"{at} url must be a URL (a string), not {_kind(url)}")
        if not url.startswith(("http://", "https://", "${")):
            raise MCPConfigError(f"{at} url must start with http:// or https://")
        for key in _STDIO_ONLY:
            if key in entry:
                raise MCPConfigError(f"{at} {key} goes with command (a server to start), not with url")
    if command is not None and "headers" in entry:
        raise MCPConfigError(f"{at} headers go with url (streamable HTTP), not with command")
    args = entry.get("args", [])
    if not isinstance(args, list):
        raise MCPConfigError(f"{at} args must be a list of strings, not {_kind(args)}")
    for i, arg in enumerate(args):
        if not isinstance(arg, str):
            raise MCPConfigError(f"{at} args[{i}] must be a string, not {_kind(arg)}")
    env = _string_table(entry.get("env", {}), f"{at} env", "variable")
    headers = _string_table(entry.get("headers", {}), f"{at} headers", "header")
    for header in headers:
        if not header_name_ok(header):
            raise MCPConfigError(f"{at} headers: {header!r} is not a valid HTTP header name")
    cwd = entry.get("cwd")
    if cwd is not None and not (isinstance(cwd, str) and cwd.strip()):
        raise MCPConfigError(f"{at} cwd must be a directory (a non-empty string), not {_kind(cwd)}")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise MCPConfigError(f"{at} enabled must be true or false, not {_kind(enabled)}")
    timeout = entry.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0:
        raise MCPConfigError(f"{at} timeout must be a number of seconds > 0, not {_kind(timeout)}")
    return MCPServerConfig(name=name, command=command, args=tuple(args), env=env, cwd=cwd, url=url,
                           headers=headers, enabled=enabled, timeout=float(timeout))


def _string_table(value: Any, at: str, what: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise MCPConfigError(f"{at} must be a table of {what} names and strings, not {_kind(value)}")
    for key, item in value.items():
        if not isinstance(item, str):
            raise MCPConfigError(f"{at}: {key!r} must be a string, not {_kind(item, reveal=False)}"
                                 " (the value is not shown)")
    return dict(value)


def _kind(value: Any, reveal: bool = True) -> str:
    """What a wrong value is, for a message; a number is quoted only if `reveal`."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return f"the number {value:g}" if reveal and math.isfinite(value) else "a number"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return "a date or time"

