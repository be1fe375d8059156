"""The asyncio network backend under httpx (chat_tui/api/netio.py), on real loopback sockets:
plain and TLS servers written here with asyncio, and the fake OpenAI server."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import httpcore
import httpx
import pytest
from fake_openai import Fault, FakeOpenAI

from chat_tui.api import errors
from chat_tui.api.client import OpenAIClient
from chat_tui.api.events import TextDelta
from chat_tui.api.netio import HIGH_WATER, AsyncioBackend, use_asyncio_backend
from chat_tui.core.config import Endpoint
from chat_tui.core.messages import ChatMessage
from chat_tui.core.params import ChatParams

TLS = Path(__file__).parent / "data" / "tls"


@pytest.fixture
def connects(monkeypatch) -> list[tuple[str, int]]:
    """Every connection the backend opens, as (host, port)."""
    opened: list[tuple[str, int]] = []
    original = AsyncioBackend.connect_tcp

    async def counting(self, host, port, *args, **kw):
        opened.append((host, port))
        return await original(self, host, port, *args, **kw)

    monkeypatch.setattr(AsyncioBackend, "connect_tcp", counting)
    return opened


def client(**kw) -> httpx.AsyncClient:
    http = httpx.AsyncClient(**kw)
    assert use_asyncio_backend(http) == 1 + len(http._mounts)
    return http


class Server:
    """An HTTP/1.1 server on 127.0.0.1 answering each request with `respond(request_head)`:
    bytes to write, then whether to close the connection."""

    def __init__(self, respond, tls: ssl.SSLContext | None = None) -> None:
        self.respond = respond
        self.tls = tls
        self.connections = 0
        self.closed = asyncio.Event()  # a connection was closed by this side

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                data, close = await self.respond(head)
                writer.write(data)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass
            self.closed.set()


def ok(body: bytes, *, close: bool = False) -> bytes:
    connection = b"Connection: close\r\n" if close else b""
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n" % (len(body), connection) + body


async def test_a_transport_s_client_reads_through_the_backend(fake_openai, connects):
    fake_openai.answer = "The quick brown fox jumps over the lazy dog."
    endpoint = Endpoint(name="test", base_url=fake_openai.base_url)
    async with OpenAIClient(endpoint) as api:
        events = [e async for e in api.chat.stream([ChatMessage("user", "Hi")], "gpt-4o-mini", ChatParams())]
        models = await api.models.list()
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == fake_openai.answer
    assert models
    # One connection, kept alive for the second request.
    assert connects == [("127.0.0.1", fake_openai.port)]


async def test_a_dropped_stream_and_a_silent_server_are_the_usual_errors(fake_openai, connects):
    endpoint = Endpoint(name="test", base_url=fake_openai.base_url)
    fake_openai.answer = "one two three four five six"
    fake_openai.enqueue_fault(Fault("drop", after=2, reset=True))
    async with OpenAIClient(endpoint, max_retries=0) as api:
        with pytest.raises(errors.StreamError, match="dropped|ended before"):
            async for _ in api.chat.stream([ChatMessage("user", "Hi")], "gpt-4o-mini", ChatParams()):
                pass
    assert connects


async def test_keep_alive_and_a_connection_the_server_closed_while_idle(connects):
    served = 0

    async def respond(head):
        nonlocal served
        served += 1
        # The second answer is the connection's last, without a "Connection: close" to say so:
        # the client pools it, then the server's FIN arrives while it idles.
        return ok(b"hello %d" % served), served == 2

    async with Server(respond) as server:
        async with client() as http:
            url = f"http://127.0.0.1:{server.port}/"
            assert (await http.get(url)).text == "hello 1"
            assert (await http.get(url)).text == "hello 2"
            assert server.connections == 1  # reused
            await server.closed.wait()
            for _ in range(3):  # the FIN reaches the client's protocol (one loop, on loopback)
                await asyncio.sleep(0)
            # The pool sees the closed connection (is_readable) and opens another instead of
            # failing the request.
            assert (await http.get(url)).text == "hello 3"
    assert server.connections == 2
    assert len(connects) == 2


async def test_a_large_body_is_read_whole_across_paused_reads(connects):
    body = bytes(range(256)) * (4 * HIGH_WATER // 256)  # 1 MiB: reading pauses and resumes

    async def respond(head):
        return ok(body), False

    async with Server(respond) as server:
        async with client() as http:
            async with http.stream("GET", f"http://127.0.0.1:{server.port}/") as response:
                got = bytearray()
                async for chunk in response.aiter_raw():
                    got += chunk
                    await asyncio.sleep(0)  # a slow reader: the buffer fills past the high-water mark
    assert bytes(got) == body


async def test_read_timeout_and_connection_refused(connects):
    async def respond(head):
        await asyncio.sleep(5)
        return ok(b"late"), True

    async with Server(respond) as server:
        async with client(timeout=httpx.Timeout(5, read=0.2)) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.get(f"http://127.0.0.1:{server.port}/")
        port = server.port
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")  # closed now


async def test_tls_with_a_trusted_certificate_and_an_untrusted_one(connects):
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(TLS / "cert.pem", TLS / "key.pem")

    async def respond(head):
        return ok(b"secret hello"), False

    async with Server(respond, tls=server_tls) as server:
        trusted = ssl.create_default_context(cafile=str(TLS / "cert.pem"))
        async with client(verify=trusted) as http:
            url = f"https://127.0.0.1:{server.port}/"
            assert (await http.get(url)).text == "secret hello"
            assert (await http.get(url)).text == "secret hello"
        assert server.connections == 1
        async with client() as http:  # the system's CAs: the self-signed certificate fails
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
                await http.get(f"https://127.0.0.1:{server.port}/")


async def test_a_tls_handshake_that_never_comes_times_out():
    accepted = asyncio.Event()

    async def silent(reader, writer):
        accepted.set()
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2)
        with pytest.raises(httpcore.ConnectTimeout):
            await stream.start_tls(ssl.create_default_context(), server_hostname="localhost", timeout=0.2)
        assert accepted.is_set()
    finally:
        server.close()
        await server.wait_closed()


async def test_cancelling_a_read_leaves_the_stream_usable():
    async def respond(head):
        return ok(b"x"), False

    async with Server(respond) as server:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", server.port, timeout=2)
        try:
            reading = asyncio.ensure_future(stream.read(1024, timeout=None))
            await asyncio.sleep(0.05)
            reading.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reading
            await stream.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout=2)
            data = b""
            while not data.endswith(b"x"):
                data += await stream.read(1024, timeout=2)
            assert data.startswith(b"HTTP/1.1 200 OK")
            assert stream.get_extra_info("is_readable") is False  # all taken
            assert stream.get_extra_info("server_addr") == ("127.0.0.1", server.port)
        finally:
            await stream.aclose()
