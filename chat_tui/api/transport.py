"""The wire under every API resource: one httpx connection pool per endpoint, retries, typed
errors, timeouts, and the four shapes of exchange: JSON, multipart uploads, binary downloads and
server-sent events (decoded into the typed events of `events.py`).

Retries: before the first byte of an answer, on 408/409/429/5xx and connection errors, with
exponential backoff and jitter, honouring `retry-after-ms` and `Retry-After`; once an answer
has started it is never retried, and neither is a server that took the request and went silent.

Timeouts (seconds; `core.config.Timeouts`, per profile in config.toml, `--timeout` on the CLI):
  connect     to open the connection (10)
  first_byte  from the request sent to the response's first byte, for a streamed answer (120)
  response    the same for a whole answer, which comes at once when it is finished (600)
  idle        between two reads of a stream once it has started (300: reasoning models can
              think for minutes between the role chunk and the first word)
openai-python waits 600 s for every read and retries twice: a server that accepts and never
answers holds it for 30 minutes; here, two minutes.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from chat_tui import __version__
from chat_tui.api.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    StreamError,
    error_from_payload,
    error_from_response,
)
from chat_tui.api.events import Finish, ReasoningDelta, RefusalDelta, StreamEvent, TextDelta, Timing, Usage
from chat_tui.api.sse import SSEDecoder
from chat_tui.api.stream import ChatStreamParser
from chat_tui.core.config import Endpoint, Timeouts
from chat_tui.core.params.base import ParamError

RetryHook = Callable[[APIError, float, int], Awaitable[None] | None]
Parse = Callable[[dict[str, Any]], list[StreamEvent]]
# A multipart file: (filename, content, content type)
FileField = tuple[str, bytes, str]

MAX_RETRY_AFTER = 60.0  # a longer server-requested wait falls back to our own backoff
PAUSE_EVERY = 32  # server-sent events handed over between turns of the event loop


@dataclass(slots=True)
class Response:
    """A whole (non-streamed) response: its events, the raw JSON and timing."""

    events: list[StreamEvent]
    raw: dict[str, Any]
    timing: Timing

    def text(self, index: int = 0, *, echo: bool = True) -> str:
        """Choice `index`'s text; with `echo=False`, without an echoed prompt."""
        return "".join(e.text for e in self.events
                       if isinstance(e, TextDelta) and e.index == index and (echo or not e.echo))


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait as the server asked: `retry-after-ms`, then `Retry-After` (seconds or an
    HTTP date). A value that is neither is ignored: our own backoff applies."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    try:
        return max(0.0, parsed.timestamp() - time.time())
    except (OverflowError, OSError, ValueError):
        return None


def _tls_verify(base_url: str) -> bool | ssl.SSLContext:
    """Certificate checking for the endpoint. A plain-HTTP endpoint (a local server) gets a TLS
    context with no trusted certificates: loading the CA bundle costs ~30 ms and ~3 MB for
    nothing, and a redirect to https then fails verification instead of going unchecked."""
    if base_url.lower().startswith("http://"):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return True


class Transport:
    def __init__(
        self,
        endpoint: Endpoint,
        *,
        timeouts: Timeouts | None = None,
        max_retries: int = 2,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.timeouts = timeouts = timeouts or endpoint.timeouts
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        headers = {"User-Agent": f"chat-tui/{__version__}", "Accept": "application/json"}
        headers.update(endpoint.headers)
        if endpoint.api_key:
            if endpoint.type == "azure":
                headers["api-key"] = endpoint.api_key
            else:
                headers["Authorization"] = f"Bearer {endpoint.api_key}"
        self.http = httpx.AsyncClient(
            base_url=endpoint.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeouts.response, connect=timeouts.connect, pool=timeouts.connect),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8, keepalive_expiry=60),
            transport=transport,
            trust_env=not endpoint.is_local,  # a proxy must not intercept a loopback server
            verify=_tls_verify(endpoint.base_url),
        )
        if transport is None:
            from chat_tui.api.netio import use_asyncio_backend  # httpcore: imported by the client just now

            use_asyncio_backend(self.http)  # a third of the CPU of reading a stream (api/netio.py)

    async def aclose(self) -> None:
        await self.http.aclose()

    def where(self) -> str:
        return self.endpoint.base_url or self.endpoint.name

    def url(self, what: str, model: str | None = None) -> tuple[str, dict[str, str]]:
        """Path and query for an operation; Azure puts the deployment in the path."""
        if self.endpoint.type == "azure":
            query = {"api-version": self.endpoint.api_version or ""}
            if what == "models" or what.startswith("models/"):
                return f"/openai/{what}", query
            if not model:  # else the path would name a deployment "None"
                raise ParamError("model", "an Azure endpoint needs the deployment name as the model")
            return f"/openai/deployments/{model}/{what}", query
        return f"/{what}", {}

    # -- sending, with retries ------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        delay = min(self.backoff_base * (2**attempt), self.backoff_max)
        return delay * (1 - 0.25 * random.random())

    async def send(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        form: Mapping[str, str] | None = None,
        files: list[tuple[str, FileField]] | None = None,
        stream: bool = False,
        on_retry: RetryHook | None = None,
        max_retries: int | None = None,
    ) -> httpx.Response:
        """Send with retries until a 2xx response's headers arrive; raise a typed error otherwise.
        A streamed answer must start within `first_byte` seconds, a whole one within `response`."""
        retries = self.max_retries if max_retries is None else max_retries
        wait_for = self.timeouts.first_byte if stream else self.timeouts.response
        timeout = httpx.Timeout(wait_for, connect=self.timeouts.connect, pool=self.timeouts.connect)
        attempt = 0
        while True:
            request = self.http.build_request(method, path, params=query or None, json=json_body,
                                              data=form, files=files, timeout=timeout)
            if stream:
                request.headers["Accept"] = "text/event-stream"
            try:
                response = await self.http.send(request, stream=True)
            except httpx.ConnectTimeout:
                error: APIError = APITimeoutError(f"cannot connect to {self.where()}: no answer within {self.timeouts.connect:g} s")
            except httpx.TimeoutException as exc:
                # The server took the request and said nothing: asking again would double the wait.
                what = "first byte" if stream else "response"
                raise APITimeoutError(
                    f"no answer from {self.where()} within {wait_for:g} s ({type(exc).__name__}; "
                    f"the {what} timeout, set {'first_byte' if stream else 'response'}_timeout in the profile or --timeout)"
                ) from None
            except httpx.TransportError as exc:
                error = APIConnectionError(f"cannot connect to {self.where()}: {reason(exc)}")
            else:
                if response.status_code < 400:
                    if stream:
                        _set_read_timeout(response, self.timeouts.idle)
                    return response
                try:
                    raw = await response.aread()
                finally:
                    await response.aclose()
                error = error_from_response(
                    response.status_code,
                    raw,
                    response.headers.get("content-type", ""),
                    retry_after=_retry_after(response.headers),
                )
            if not error.retryable or attempt >= retries:
                raise error
            wait = error.retry_after
            if wait is None or wait > MAX_RETRY_AFTER:
                wait = self._backoff(attempt)
            attempt += 1
            if on_retry is not None:
                maybe = on_retry(error, wait, attempt)
                if asyncio.iscoroutine(maybe):
                    await maybe
            await asyncio.sleep(wait)

    # -- the shapes of exchange -----------------------------------------------------------------

    async def request_json(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        """A JSON object back (from a JSON or multipart request)."""
        response = await self.send(method, path, **kw)
        raw = await self._read(response)
        data = _loads(raw, f"expected JSON from {self.where()}")
        if isinstance(data, dict) and isinstance(data.get("error"), (dict, str)):
            raise error_from_payload(data, status=response.status_code)
        if not isinstance(data, dict):
            raise StreamError(f"expected a JSON object from {self.where()}")
        return data

    async def request_bytes(self, method: str, path: str, **kw: Any) -> tuple[bytes, str]:
        """A binary body back (speech audio, say), with its content type."""
        response = await self.send(method, path, **kw)
        return await self._read(response), response.headers.get("content-type", "")

    async def download(self, url: str, *, limit: int = 64 * 1024 * 1024) -> tuple[bytes, str]:
        """GET an absolute URL (an image result) with none of the endpoint's headers: the key
        goes to the endpoint only, never to the host of a result."""
        async with httpx.AsyncClient(timeout=httpx.Timeout(self.timeouts.response, connect=self.timeouts.connect),
                                     follow_redirects=True) as plain:
            try:
                async with plain.stream("GET", url) as response:
                    if response.status_code >= 400:
                        raise error_from_response(response.status_code, await response.aread(), response.headers.get("content-type", ""))
                    chunks, size = [], 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > limit:
                            raise StreamError(f"the download from {httpx.URL(url).host} is over {limit // 2**20} MB")
                        chunks.append(chunk)
                    return b"".join(chunks), response.headers.get("content-type", "")
            except httpx.TimeoutException:
                raise APITimeoutError(f"the download from {httpx.URL(url).host} timed out") from None
            except httpx.TransportError as exc:
                raise APIConnectionError(f"cannot download from {httpx.URL(url).host}: {reason(exc)}") from None

    async def _read(self, response: httpx.Response) -> bytes:
        try:
            return await response.aread()
        except httpx.TimeoutException:
            raise APITimeoutError(f"the server stopped sending for over {self.timeouts.idle:g} s") from None
        except httpx.HTTPError as exc:
            raise StreamError(f"the connection failed while reading the response: {reason(exc)}") from None
        finally:
            await response.aclose()

    async def whole(
        self,
        what: str,
        model: str,
        body: dict[str, Any],
        parse: Parse,
        on_retry: RetryHook | None = None,
        max_retries: int | None = None,
    ) -> Response:
        """A whole (non-streamed) chat or completion answer, as events."""
        path, query = self.url(what, model)
        start = time.monotonic()
        data = await self.request_json("POST", path, query=query, json_body=body, on_retry=on_retry, max_retries=max_retries)
        total = time.monotonic() - start
        events = parse(data)
        usage = next((e for e in events if isinstance(e, Usage)), None)
        chunks = sum(1 for e in events if isinstance(e, TextDelta) and not e.echo)
        tokens = usage.completion_tokens if usage else None
        timing = Timing(ttft=total, total=total, completion_tokens=tokens, tokens_per_second=None, chunks=chunks)
        return Response(events=events, raw=data, timing=timing)

    async def stream(
        self,
        what: str,
        model: str,
        body: dict[str, Any],
        parse_whole: Parse,
        on_retry: RetryHook | None = None,
        make_parser: Callable[[], ChatStreamParser] = ChatStreamParser,
    ) -> AsyncIterator[StreamEvent]:
        """A streamed chat or completion answer: its events as they arrive, then `Timing`.
        `make_parser` makes the event parser (a legacy echo needs one that knows the prompt)."""
        path, query = self.url(what, model)
        tally = _Tally(time.monotonic())
        response = await self.send("POST", path, query=query, json_body=body, stream=True, on_retry=on_retry)
        try:
            ctype = response.headers.get("content-type", "")
            if "json" in ctype and "event-stream" not in ctype:  # some servers ignore `stream: true`
                for event in parse_whole(_whole_body(await self._read(response), response.status_code)):
                    tally.see(event)
                    yield event
            else:
                # The SSE loop is here, not in a generator of its own: every event of a fast
                # stream would pay for one more generator hop (four lanes: 16,000 events).
                decoder = SSEDecoder()
                parser = make_parser()
                see = tally.see
                # An identity-encoded body is read raw: one generator layer less per chunk, and a
                # server sends each event as its own chunk (measured: benchmarks/compare.py).
                encoding = response.headers.get("content-encoding", "identity").strip().lower()
                raw = encoding in ("", "identity") and not response.is_stream_consumed
                body_chunks = response.aiter_raw() if raw else response.aiter_bytes()
                since_pause = 0
                try:
                    async for data in body_chunks:
                        for sse in decoder.feed(data):
                            for event in parser.feed(sse):
                                see(event)
                                yield event
                            since_pause += 1
                        if since_pause >= PAUSE_EVERY:
                            # httpx hands over every event already buffered (a 64 kB read holds
                            # ~400 chunks) without giving the event loop a turn: in a UI, keys
                            # and painting would wait.
                            since_pause = 0
                            await asyncio.sleep(0)
                        if parser.done:
                            await _drain(body_chunks)
                            break
                    else:
                        for sse in decoder.close(dispatch_incomplete=True):
                            for event in parser.feed(sse):
                                see(event)
                                yield event
                except httpx.TimeoutException:
                    raise APITimeoutError(
                        f"the server stopped sending for over {self.timeouts.idle:g} s ({tally.received()}; "
                        "the idle timeout, set idle_timeout in the profile or --timeout)"
                    ) from None
                except httpx.HTTPError as exc:
                    raise StreamError(f"the connection dropped mid-answer ({tally.received()}): {reason(exc)}") from None
                if not parser.done and not tally.finished:
                    raise StreamError(f"the stream ended before the answer was complete ({tally.received()})")
        finally:
            await response.aclose()
        yield tally.timing()


def _set_read_timeout(response: httpx.Response, seconds: float) -> None:
    """From the first byte on, a stream's reads wait `seconds` (the idle timeout) instead of the
    first-byte timeout. httpcore reads the request's `timeout` extension when the body's first
    read starts, so replacing it now applies to every read of the body."""
    timeouts = dict(response.request.extensions.get("timeout") or {})
    timeouts["read"] = seconds
    response.request.extensions["timeout"] = timeouts


def _loads(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:
        raise StreamError(f"{what}: the JSON is nested too deeply to read") from None
    except ValueError:
        snippet = raw[:200].decode("utf-8", "replace")
        raise StreamError(f"{what}, got: {snippet!r}") from None


def _whole_body(raw: bytes, status: int) -> dict[str, Any]:
    data = _loads(raw, "expected an event stream")
    if isinstance(data, dict) and "error" in data:
        raise error_from_payload(data, status=status)
    if not isinstance(data, dict):
        raise StreamError("expected a JSON object")
    return data


class _Tally:
    """What a stream has delivered so far: for timing, tokens/s and error messages."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.ttft: float | None = None
        self.chunks = 0
        self.usage_tokens: int | None = None
        self.finished: set[int] = set()

    def see(self, event: StreamEvent) -> None:
        # Reasoning counts: the first token is the first thought, and usage tokens (the rate's
        # numerator) include reasoning tokens.
        if isinstance(event, (TextDelta, ReasoningDelta, RefusalDelta)):
            if isinstance(event, TextDelta) and event.echo:
                return  # the echoed prompt: not an answer's first token
            self.chunks += 1
            if self.ttft is None:
                self.ttft = time.monotonic() - self.start
        elif isinstance(event, Usage):
            self.usage_tokens = event.completion_tokens
        elif isinstance(event, Finish):
            self.finished.add(event.index)

    def received(self) -> str:
        return "nothing received" if not self.chunks else f"{self.chunks} chunks received"

    def timing(self) -> Timing:
        total = time.monotonic() - self.start
        tokens = self.usage_tokens if self.usage_tokens is not None else self.chunks
        gen_time = total - (self.ttft or 0.0)
        tps = tokens / gen_time if tokens and gen_time > 0 else None
        return Timing(ttft=self.ttft, total=total, completion_tokens=self.usage_tokens, tokens_per_second=tps, chunks=self.chunks)


async def _drain(body_chunks: AsyncIterator[bytes], limit: float = 1.0) -> None:
    """Read what follows [DONE] (normally just the chunked terminator) so the connection can
    go back to the pool; a server that keeps it open gets its connection closed instead."""

    async def rest() -> None:
        async for _ in body_chunks:
            pass

    try:
        await asyncio.wait_for(rest(), limit)
    except (asyncio.TimeoutError, httpx.HTTPError):
        pass


def reason(exc: BaseException) -> str:
    """The most telling reason in the exception chain (httpx wraps the OS error)."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain and len(chain) < 8:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for err in chain:
        if isinstance(err, ConnectionRefusedError):
            return "connection refused"
        if isinstance(err, socket.gaierror):
            return "host name not found"
    for err in chain:
        low = str(err).lower()
        if "connection refused" in low or "errno 111" in low:
            return "connection refused"
        if "name or service not known" in low or "nodename nor servname" in low or "name resolution" in low:
            return "host name not found"
    text = str(exc).strip()
    return text or type(exc).__name__
