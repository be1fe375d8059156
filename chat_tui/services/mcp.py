"""MCP servers as sources of tools: `MCPTools` is the `ToolProvider` of one configured server
(`[mcp.servers.NAME]`), over the official SDK's stdio or streamable-HTTP client.

A server starts on demand (the first `list_tools` or `call`) and lives in one task of its own:
the SDK's transports and `ClientSession` are anyio context managers that must be entered and
left in the same task, so that task holds them open and runs the requests it is handed through
an inbox (each one a job with a future the caller awaits). Its tools are listed once, when it
starts, and kept until `restart()`.

A server that stops by itself (its process exits, its HTTP endpoint fails) makes a call in flight
an error outcome ("server math stopped: ...") and leaves the provider `crashed` with the
reason; it is not started again until `restart()`. `close()` ends it cleanly: the app and the CLI
call it before their event loop ends, so no process is orphaned and no task is left pending.

Where output goes: a stdio server's stderr is appended to `mcp-NAME.log` in the log directory
(never the terminal), with a line of ours at each start and stop; the SDK's own log records go
to `mcp.log` beside it. What we write there, and every reason shown, uses the config's text
(`${VAR}`), never an expanded secret (`Launch.redact`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from chat_tui.core.config import Config
from chat_tui.core.mcp_config import Launch, MCPConfigError, MCPServerConfig
from chat_tui.core.text import error_text
from chat_tui.core.tool_calls import wire_tool_name
from chat_tui.core.tools import ToolOutcome, ToolSpec

NOT_STARTED, STARTING, RUNNING, CRASHED = "not started", "starting", "running", "crashed"
CLOSE_WAIT = 10.0  # seconds close() waits for a server to stop (the SDK's own steps are bounded)


class MCPServerError(RuntimeError):
    """The server could not start, or has stopped: the message says which server and why."""


@dataclass(eq=False)
class _Job:
    """One request for the server's task: `run(session)` in a scope the caller can cancel."""

    run: Callable[[Any], Any]
    future: asyncio.Future[Any]
    scope: Any = None  # its anyio.CancelScope once it runs
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True
        if self.scope is not None:
            self.scope.cancel()


class _Stopped(Exception):
    """The server's task ended while a job waited."""


@dataclass
class _Watched:
    """The transport's read stream, noting when it ends (a stdio server's process exiting closes
    it), so the server's task ends too instead of waiting for the next request to find out."""

    stream: Any
    ended: Any  # anyio.Event
    last_context: Any = field(default=None)

    async def receive(self) -> Any:
        try:
            item = await self.stream.receive()
        except Exception:
            self.ended.set()
            raise
        self.last_context = getattr(self.stream, "last_context", None)
        return item

    def __aiter__(self) -> _Watched:
        return self

    async def __anext__(self) -> Any:
        import anyio

        try:
            return await self.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        self.ended.set()
        await self.stream.aclose()

    async def __aenter__(self) -> _Watched:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


class MCPTools:
    """The tools of one MCP server (a `ToolProvider`). `state` is "not started", "starting",
    "running" or "crashed" (then `reason` says why); `tools` the last listing."""

    def __init__(self, server: MCPServerConfig, *, log_dir: Path | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.server = server
        self.name = server.name
        self.log_dir = log_dir
        self._environ = environ  # None: os.environ at start time
        self.state = NOT_STARTED
        self.reason: str | None = None
        self.tools: list[ToolSpec] = []
        self.listeners: list[Callable[[MCPTools], None]] = []  # told of every change of state
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._inbox: Any = None  # the task's anyio send stream of jobs
        self._jobs: set[_Job] = set()
        self._launch: Launch | None = None
        self._start_lock: asyncio.Lock | None = None
        self._ended: Any = None  # the running session's anyio.Event: set, it ends
        self._fault: str | None = None  # why it was ended from outside (a call saw it stop)

    def __repr__(self) -> str:
        return f"MCPTools({self.name!r}, {self.state})"

    @property
    def log_path(self) -> Path | None:
        return self.log_dir / f"mcp-{self.name}.log" if self.log_dir is not None else None

    # -- ToolProvider ------------------------------------------------------------------------

    async def list_tools(self) -> list[ToolSpec]:
        await self.start()
        return list(self.tools)

    async def call(self, spec: ToolSpec, arguments: Mapping[str, Any]) -> ToolOutcome:
        """Run one tool. Its own failure (`isError`), a protocol error or a timeout is an error
        outcome; so is the server stopping meanwhile (the provider is `crashed` then)."""
        from mcp.shared.exceptions import MCPError
        from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        try:
            await self.start()
        except MCPServerError as exc:
            return ToolOutcome(str(exc), is_error=True)
        name = spec.origin_name or spec.name
        try:
            result = await self._submit(lambda session: session.call_tool(name, dict(arguments)))
        except _Stopped:
            return ToolOutcome(await self._stopped_text(), is_error=True)
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:  # its process ended, or its HTTP stream broke off
                self._fail(self._redact(f"{self.server.url}: {exc.message}") if self.server.url else None)
                return ToolOutcome(await self._stopped_text(), is_error=True)
            if exc.code == REQUEST_TIMEOUT:
                return ToolOutcome(f"server {self.name} did not answer within {self.server.timeout:g} s", is_error=True)
            return ToolOutcome(self._redact(f"server {self.name}: {exc.message}"), is_error=True)
        except Exception as exc:  # noqa: BLE001 - an answer the SDK could not read is the tool's failure
            return ToolOutcome(self._redact(f"server {self.name}: {error_text(exc)}"), is_error=True)
        # The result is the tool's own words, passed on as they are (a server echoing a secret
        # it was given is the server's doing); only our own messages are redacted.
        return ToolOutcome(result_text(result), is_error=bool(getattr(result, "is_error", False)))

    # -- life --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the server if it has not been (a crashed one stays down until `restart()`):
        once this returns, it is running and its tools are listed. MCPServerError otherwise."""
        if self.state == RUNNING:
            return
        if self.state == CRASHED:
            raise MCPServerError(f"server {self.name} stopped: {self.reason}")
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self.state == NOT_STARTED:
                self._begin()
            assert self._ready is not None
            try:
                await asyncio.shield(self._ready)
            except _Stopped:
                pass
        if self.state != RUNNING:
            raise MCPServerError(f"server {self.name} stopped: {self.reason}")

    async def restart(self) -> None:
        """Stop it (if it runs) and start it again, listing its tools anew."""
        await self.close()
        await self.start()

    async def close(self) -> None:
        """End the server cleanly (calls in flight become error outcomes); the provider is
        "not started" again afterwards."""
        task = self._task
        if self._inbox is not None:
            self._inbox.close()  # the task's loop ends; its contexts close in order
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), CLOSE_WAIT)
            except asyncio.TimeoutError:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        elif task is not None:
            await asyncio.gather(task, return_exceptions=True)
        self._task = self._ready = self._inbox = None
        self.tools = []
        self._set(NOT_STARTED, None)

    def _begin(self) -> None:
        import anyio

        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._ready.add_done_callback(lambda f: f.exception() if not f.cancelled() else None)  # retrieved
        send, receive = anyio.create_memory_object_stream[_Job](100)
        self._inbox = send
        self._set(STARTING, None)
        self._task = loop.create_task(self._serve(send, receive, self._ready), name=f"mcp server {self.name}")

    def _fail(self, reason: str | None) -> None:
        """End the running session as crashed (a call found the server gone)."""
        self._fault = self._fault or reason
        if self._ended is not None:
            self._ended.set()

    def _set(self, state: str, reason: str | None) -> None:
        self.state, self.reason = state, reason
        for listener in list(self.listeners):
            listener(self)

    async def _submit(self, run: Callable[[Any], Any]) -> Any:
        if self.state != RUNNING or self._inbox is None:
            raise _Stopped()
        job = _Job(run, asyncio.get_running_loop().create_future())
        import anyio

        try:
            self._inbox.send_nowait(job)
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise _Stopped() from None
        self._jobs.add(job)
        try:
            return await job.future
        except asyncio.CancelledError:
            job.cancel()  # Escape: the request in the server's task is cancelled too
            raise
        finally:
            self._jobs.discard(job)

    async def _stopped_text(self) -> str:
        """"server NAME stopped: reason", once the server's task has finished (so `state` is
        already `crashed` when the caller reads it)."""
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait([task], timeout=CLOSE_WAIT)
        return f"server {self.name} stopped: {self.reason or 'the connection closed'}"

    def _redact(self, text: str) -> str:
        return self._launch.redact(text) if self._launch is not None else text

    # -- the server's task -------------------------------------------------------------------

    async def _serve(self, sender: Any, inbox: Any, ready: asyncio.Future[None]) -> None:
        """Hold the connection open and run the jobs sent to `inbox` until it is closed (close)
        or the connection ends (the server stopped): then fail what is left and say why."""
        import anyio
        from mcp.client.session import ClientSession

        closing = False
        reason: str | None = None
        self._fault = None
        log = self._open_log()
        try:
            environ = os.environ if self._environ is None else self._environ
            self._launch = launch = self.server.expand(environ)
            self._note(log, f"starting: {self.server.target()}")
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport(launch, log, stack))
                self._ended = ended = anyio.Event()
                session = await stack.enter_async_context(ClientSession(
                    _Watched(read, ended), write, read_timeout_seconds=self.server.timeout,
                    client_info=_client_info()))
                with anyio.fail_after(self.server.timeout):
                    await session.initialize()
                    self.tools = await _listed(session, self.server)
                self._set(RUNNING, None)
                self._note(log, f"running; {len(self.tools)} tool{'s' if len(self.tools) != 1 else ''}")
                ready.set_result(None)
                async with anyio.create_task_group() as jobs:
                    async def watch() -> None:
                        await ended.wait()
                        jobs.cancel_scope.cancel()

                    jobs.start_soon(watch)
                    async for job in inbox:
                        jobs.start_soon(_run_job, session, job)
                    closing = True
                    jobs.cancel_scope.cancel()
        except MCPConfigError as exc:
            reason = str(exc).removeprefix(f"MCP server {self.name!r}: ")
        except Exception as exc:  # noqa: BLE001 - whatever stops a server is its reason, shown
            # The start's limit (anyio.fail_after) usually comes out of the SDK's task group
            # wrapped in an exception group.
            if isinstance(_innermost(exc), TimeoutError) and self.state != RUNNING:
                reason = f"it did not start within {self.server.timeout:g} s"
            else:
                reason = self._describe(exc)
        except asyncio.CancelledError:
            reason = reason or "cancelled"
            raise
        finally:
            sender.close()  # what is sent from now on fails at once (the caller is told why)
            inbox.close()
            self._ended = None
            if reason is None and not closing:
                reason = self._fault or self._ended_reason()
            if reason is not None:
                reason = self._redact(reason)
            self._note(log, f"stopped: {reason}" if reason else "closed")
            if log is not None:
                log.close()
            for job in list(self._jobs):
                if not job.future.done():
                    job.future.set_exception(_Stopped())
            if not ready.done():
                ready.set_exception(_Stopped())
            if reason is not None:  # the last listing stays in `tools`, for a view
                self._set(CRASHED, reason)

    def _transport(self, launch: Launch, log: IO[str] | None, stack: AsyncExitStack) -> Any:
        if self.server.command is not None:
            from mcp.client.stdio import StdioServerParameters, stdio_client

            cwd = os.path.expanduser(self.server.cwd) if self.server.cwd else None
            params = StdioServerParameters(command=self.server.command, args=list(launch.args),
                                           env=dict(launch.env), cwd=cwd)
            if log is None:
                log = open(os.devnull, "w")
                stack.callback(log.close)
            return stdio_client(params, errlog=log)
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        import httpx2

        client = create_mcp_http_client(headers=dict(launch.headers),
                                        timeout=httpx2.Timeout(self.server.timeout, read=max(self.server.timeout, 300)))
        stack.push_async_callback(client.aclose)
        assert launch.url is not None
        return streamable_http_client(launch.url, http_client=client)

    def _ended_reason(self) -> str:
        if self.server.command is not None:
            return "its process ended" + (f" (see {self.log_path})" if self.log_path is not None else "")
        return "the connection closed"

    def _describe(self, exc: BaseException) -> str:
        """One line for what stopped it: the innermost cause of an exception group."""
        exc = _innermost(exc)
        if isinstance(exc, FileNotFoundError) and self.server.command is not None:
            return f"cannot start {self.server.command!r}: no such program"
        if isinstance(exc, OSError) and self.server.command is not None and exc.strerror:
            return f"cannot start {self.server.command!r}: {exc.strerror}"
        name = type(exc).__name__
        if name.startswith(("Connect", "Remote", "Read", "Write", "Network")) or "HTTPStatus" in name:
            return f"{self.server.url}: {error_text(exc) or name}"
        return error_text(exc) or name

    def _open_log(self) -> IO[str] | None:
        path = self.log_path
        if path is None:
            return None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _sdk_logging(path.parent / "mcp.log")
            return open(path, "a", encoding="utf-8", errors="replace", buffering=1)
        except OSError:
            return None

    def _note(self, log: IO[str] | None, text: str) -> None:
        if log is not None and not log.closed:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            try:
                log.write(f"--- chat-tui {stamp} {self.name}: {self._redact(text)}\n")
            except OSError:
                pass


async def _run_job(session: Any, job: _Job) -> None:
    import anyio

    if job.cancelled or job.future.done():
        return
    with anyio.CancelScope() as scope:
        job.scope = scope
        try:
            result = await job.run(session)
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            if not job.future.done():
                job.future.set_exception(exc)
            return
        if not job.future.done():
            job.future.set_result(result)
    if scope.cancelled_caught and not job.future.done():
        job.future.set_exception(_Stopped())


async def _listed(session: Any, server: MCPServerConfig) -> list[ToolSpec]:
    """Every page of the server's tools, as specs (names the API would refuse made valid)."""
    specs: list[ToolSpec] = []
    cursor = None
    while True:
        from mcp_types import PaginatedRequestParams

        result = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
        specs += [tool_spec(tool, server.source) for tool in result.tools]
        cursor = result.next_cursor
        if not cursor:
            return specs


def tool_spec(tool: Any, source: str) -> ToolSpec:
    """An MCP `Tool` as offered to the model: its own name (where the API would refuse it,
    `_` for each character it refuses, the original kept in `origin_name`)."""
    name = tool.name
    wire = wire_tool_name(name)
    schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
    return ToolSpec(name=wire, description=tool.description or "",
                    input_schema=schema or {"type": "object", "properties": {}}, source=source,
                    origin_name=name if wire != name else None)


def result_text(result: Any) -> str:
    """A `CallToolResult` as the text that goes back to the model: text parts joined, anything
    else summarised in a line, structured content as JSON when no part is text."""
    parts: list[str] = []
    for block in getattr(result, "content", None) or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            size = len(block.data) * 3 // 4
            parts.append(f"[{kind}: {block.mime_type}, about {size:,} bytes, not shown]")
        elif kind == "resource_link":
            parts.append(f"[resource: {block.uri}" + (f" ({block.name})" if getattr(block, "name", None) else "") + "]")
        elif kind == "resource":
            res = block.resource
            text = getattr(res, "text", None)
            parts.append(text if text is not None else f"[resource: {res.uri}, {getattr(res, 'mime_type', None) or 'binary'}]")
        else:
            parts.append(f"[{kind or 'unknown'} content]")
    structured = getattr(result, "structured_content", None)
    if structured is not None and not any(getattr(b, "type", "") == "text" for b in result.content or []):
        parts.append(json.dumps(structured, ensure_ascii=False, indent=2))
    return "\n".join(parts) if parts else "(the tool returned nothing)"


def _client_info() -> Any:
    from mcp_types import Implementation

    from chat_tui import __version__

    return Implementation(name="chat-tui", version=__version__)


_SDK_LOG: set[Path] = set()


def _sdk_logging(path: Path) -> None:
    """The SDK's log records (warnings about a broken pipe, a bad line) into `path`, once, and
    never to the terminal (Python's last-resort handler would print them over the app)."""
    if path in _SDK_LOG:
        return
    _SDK_LOG.add(path)
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("mcp", "client", "httpx2"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.propagate = False


def mcp_providers(config: Config, *, log_dir: Path | None = None,
                  environ: Mapping[str, str] | None = None) -> list[MCPTools]:
    """One provider per enabled server of the config, in its order; none is started."""
    if log_dir is None:
        from chat_tui.core.paths import default_paths

        log_dir = default_paths().log_dir
    return [MCPTools(server, log_dir=log_dir, environ=environ)
            for server in config.mcp_servers.values() if server.enabled]


async def close_all(providers: Iterable[Any]) -> None:
    """Close every provider that can be (MCP servers); one failing does not stop the rest."""
    closers = [p.close() for p in providers if callable(getattr(p, "close", None))]
    await asyncio.gather(*closers, return_exceptions=True)


def _innermost(exc: BaseException) -> BaseException:
    """The first exception at the bottom of nested exception groups (`exc` itself otherwise)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


__all__ = ["CRASHED", "MCPServerError", "MCPTools", "NOT_STARTED", "RUNNING", "STARTING", "close_all",
           "mcp_providers", "result_text", "tool_spec"]
