"""The sockets under httpx: an httpcore network backend on asyncio's own transports and protocols.

httpx reads a streamed answer through httpcore, which under asyncio goes through anyio. Per read
anyio costs a cancel scope with a loop timer, an exception-mapping context manager, and a
`resume_reading()`/`pause_reading()` pair (two epoll_ctl calls); a chat stream is thousands of
reads of a few hundred bytes each (one per token at a realistic rate), so that was ~30 % of the
app's main-thread CPU while an answer streamed at 200 tokens/s (docs/performance.md). This
backend reads into a buffer while the connection is open (bounded: reading pauses above
HIGH_WATER), hands a read what is buffered at once, and otherwise waits on one future with an
optional timer. It raises the same httpcore exceptions as the anyio backend, so httpx maps them
to the same errors. (pydantic/httpx2#1170 proposes the same backend upstream.)

`use_asyncio_backend(client)` puts it under an `httpx.AsyncClient`'s pools. httpx has no
parameter for it, so this sets httpcore's `_network_backend` on each pool; when httpx or
httpcore change shape it does nothing (the default backend stays) and
tests/test_netio.py fails, so the change is noticed.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

HIGH_WATER = 256 * 1024  # bytes buffered before the socket is no longer read
LOW_WATER = 64 * 1024  # ...and read again once a reader has taken it below this


class _Protocol(asyncio.Protocol):
    """The socket's side: buffers what arrives and wakes the one reader waiting for it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.chunks: collections.deque[bytes] = collections.deque()
        self.size = 0
        self.eof = False
        self.lost = False
        self.error: BaseException | None = None  # why the connection was lost, if not cleanly
        self.reading_paused = False
        self.writing_paused = False
        self._reader: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None

    # -- asyncio's calls --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        if self.size > HIGH_WATER and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # close the transport: HTTP/1.1 never writes after the server's EOF

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.error = exc
        self._wake_reader()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # -- the stream's calls -----------------------------------------------------------------

    def _wake_reader(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.set_result(None)

    async def wait(self, timeout: float | None, writing: bool = False) -> bool:
        """Wait for data, EOF or loss (`writing`: for the transport to take more); False when
        `timeout` seconds pass first."""
        waiter = self.loop.create_future()
        if writing:
            self._drained = waiter
        else:
            self._reader = waiter
        timer = self.loop.call_later(timeout, _time_out, waiter) if timeout is not None else None
        try:
            await waiter
            return True
        except TimeoutError:
            return False
        finally:
            if timer is not None:
                timer.cancel()
            if writing:
                self._drained = None
            else:
                self._reader = None

    def take(self, max_bytes: int) -> bytes:
        chunk = self.chunks.popleft()
        if len(chunk) > max_bytes:
            self.chunks.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        self.size -= len(chunk)
        if self.reading_paused and self.size < LOW_WATER and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()
        return chunk


def _time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.chunks and not protocol.eof and not protocol.lost:
            if not await protocol.wait(timeout):
                raise httpcore.ReadTimeout("timed out while reading")
        if protocol.chunks:
            return protocol.take(max_bytes)
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__)
        return b""  # the server closed the connection

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if protocol.lost or self._transport.is_closing():
            raise httpcore.WriteError(str(protocol.error) if protocol.error else "the connection is closed")
        try:
            self._transport.write(buffer)
        except (OSError, RuntimeError) as exc:
            raise httpcore.WriteError(str(exc)) from exc
        while protocol.writing_paused and not protocol.lost:
            if not await protocol.wait(timeout, writing=True):
                raise httpcore.WriteTimeout("timed out while writing")
        if protocol.lost and protocol.error is not None:
            raise httpcore.WriteError(str(protocol.error))

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        loop = self._protocol.loop
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(self._transport, self._protocol, ssl_context,
                                                 server_hostname=server_hostname, ssl_handshake_timeout=timeout)
        except TimeoutError as exc:
            self._transport.close()
            raise httpcore.ConnectTimeout("timed out during the TLS handshake") from exc
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:  # the connection closed during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self._protocol.transport = transport  # type: ignore[assignment]
        return AsyncioStream(transport, self._protocol)  # type: ignore[arg-type]

    def get_extra_info(self, info: str) -> Any:
        transport = self._transport
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        if info == "is_readable":
            # The socket is read while the connection idles in the pool: anything buffered, an
            # EOF or a loss means the server closed it (or broke HTTP/1.1), so it can't be reused.
            protocol = self._protocol
            return bool(protocol.chunks) or protocol.eof or protocol.lost
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[tuple] | None = None) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        return await self._connect(
            timeout, socket_options,
            # asyncio sets TCP_NODELAY on TCP sockets itself; tries IPv6 and IPv4 addresses
            # 250 ms apart (RFC 8305) when a name has both.
            lambda: loop.create_connection(lambda: _Protocol(loop), host, port, local_addr=local,
                                           happy_eyeballs_delay=0.25),
        )

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[tuple] | None = None) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        return await self._connect(timeout, socket_options,
                                   lambda: loop.create_unix_connection(lambda: _Protocol(loop), path))

    @staticmethod
    async def _connect(timeout, socket_options, connect) -> AsyncioStream:
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await connect()
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout("timed out while connecting") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            if sock is not None:
                sock.setsockopt(*option)
        return AsyncioStream(transport, protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


_BACKEND = AsyncioBackend()


def use_asyncio_backend(client: httpx.AsyncClient) -> int:
    """Put `AsyncioBackend` under the client's connection pools (its own transport and the
    proxies' from the environment); how many pools now use it (0: httpx's internals changed, and
    the client keeps the anyio backend, which works the same, only slower)."""
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    done = 0
    for transport in transports:
        pool = getattr(transport, "_pool", None) if isinstance(transport, httpx.AsyncHTTPTransport) else None
        if isinstance(pool, httpcore.AsyncConnectionPool) and hasattr(pool, "_network_backend"):
            pool._network_backend = _BACKEND
            done += 1
    return done
