"""An async client for OpenAI-compatible servers, built on httpx.

One `OpenAIClient` per endpoint: one connection pool, HTTP keep-alive. Streaming methods are
async iterators of the typed events in `events.py`; closing the iterator (or cancelling the task
that runs it) closes the connection at once. Requests are retried before the first byte of an
answer on 408/409/429/5xx and connection errors, with exponential backoff and jitter, honouring
`retry-after-ms` and `Retry-After`; once an answer has started it is never retried.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
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
from chat_tui.api.events import Finish, RefusalDelta, StreamEvent, TextDelta, Timing, Usage
from chat_tui.api.sse import SSEDecoder
from chat_tui.api.stream import ChatStreamParser, parse_chat_response, parse_completion_response
from chat_tui.core.config import Endpoint
from chat_tui.core.messages import ChatMessage
from chat_tui.core.models_table import uses_max_completion_tokens
from chat_tui.core.params import ChatParams, CompletionParams

RetryHook = Callable[[APIError, float, int], Awaitable[None] | None]

MAX_RETRY_AFTER = 60.0  # a longer server-requested wait falls back to our own backoff
PAUSE_EVERY = 32  # server-sent events handed over between turns of the event loop


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: str
    owned_by: str | None = None
    created: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(slots=True)
class Response:
    """A whole (non-streamed) response: its events, the raw JSON and timing."""

    events: list[StreamEvent]
    raw: dict[str, Any]
    timing: Timing

    def text(self, index: int = 0) -> str:
        return "".join(e.text for e in self.events if isinstance(e, TextDelta) and e.index == index)


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait as the server asked: `retry-after-ms`, then `Retry-After` (seconds or a date)."""
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
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def _tls_verify(base_url: str) -> bool | ssl.SSLContext:
    """Certificate checking for the endpoint. A plain-HTTP endpoint (a local server) gets a TLS
    context with no trusted certificates: loading the CA bundle costs ~30 ms and ~3 MB for
    nothing, and a redirect to https then fails verification instead of going unchecked."""
    if base_url.lower().startswith("http://"):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return True


class OpenAIClient:
    def __init__(
        self,
        endpoint: Endpoint,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 600.0,
        max_retries: int = 2,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint
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
        self._http = httpx.AsyncClient(
            base_url=endpoint.base_url,
            headers=headers,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8, keepalive_expiry=60),
            transport=transport,
            trust_env=not endpoint.is_local,  # a proxy must not intercept a loopback server
            verify=_tls_verify(endpoint.base_url),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "OpenAIClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- URLs -------------------------------------------------------------------------------

    def _url(self, what: str, model: str | None = None) -> tuple[str, dict[str, str]]:
        """Path and query for an operation; Azure puts the deployment in the path."""
        if self.endpoint.type == "azure":
            query = {"api-version": self.endpoint.api_version or ""}
            if what == "models":
                return "/openai/models", query
            return f"/openai/deployments/{model}/{what}", query
        return f"/{what}", {}

    # -- requests with retries ----------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        delay = min(self.backoff_base * (2**attempt), self.backoff_max)
        return delay * (1 - 0.25 * random.random())

    async def _send(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        stream: bool = False,
        on_retry: RetryHook | None = None,
        max_retries: int | None = None,
    ) -> httpx.Response:
        """Send with retries until a 2xx response's headers arrive; raise a typed error otherwise."""
        retries = self.max_retries if max_retries is None else max_retries
        attempt = 0
        while True:
            request = self._http.build_request(method, path, params=query or None, json=body)
            if stream:
                request.headers["Accept"] = "text/event-stream"
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TimeoutException as exc:
                error: APIError = APITimeoutError(f"no answer from {self._where()} ({type(exc).__name__})")
            except httpx.TransportError as exc:
                error = APIConnectionError(f"cannot connect to {self._where()}: {_reason(exc)}")
            else:
                if response.status_code < 400:
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

    def _where(self) -> str:
        return self.endpoint.base_url or self.endpoint.name

    async def _json(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        response = await self._send(method, path, **kw)
        try:
            raw = await response.aread()
        except httpx.HTTPError as exc:
            raise StreamError(f"the connection failed while reading the response: {_reason(exc)}") from None
        finally:
            await response.aclose()
        try:
            data = json.loads(raw)
        except ValueError:
            snippet = raw[:200].decode("utf-8", "replace")
            raise StreamError(f"expected JSON from {self._where()}, got: {snippet!r}") from None
        if isinstance(data, dict) and isinstance(data.get("error"), (dict, str)):
            raise error_from_payload(data, status=response.status_code)
        if not isinstance(data, dict):
            raise StreamError(f"expected a JSON object from {self._where()}")
        return data

    # -- models -----------------------------------------------------------------------------

    async def list_models(self) -> list[ModelEntry]:
        path, query = self._url("models")
        data = await self._json("GET", path, query=query)
        items = data.get("data") if isinstance(data.get("data"), list) else data.get("models", [])
        models = []
        for item in items or []:
            if isinstance(item, dict) and (item.get("id") or item.get("name")):
                models.append(
                    ModelEntry(
                        id=str(item.get("id") or item.get("name")),
                        owned_by=item.get("owned_by"),
                        created=item.get("created") if isinstance(item.get("created"), int) else None,
                        raw=item,
                    )
                )
        return sorted(models, key=lambda m: m.id)

    async def get_model(self, model_id: str) -> dict[str, Any]:
        path, query = self._url("models")
        return await self._json("GET", f"{path}/{model_id}", query=query)

    # -- chat -------------------------------------------------------------------------------

    def chat_body(self, messages: Iterable[ChatMessage], model: str, params: ChatParams, *, stream: bool, include_usage: bool = True) -> dict[str, Any]:
        return params.body(
            model,
            messages,
            stream=stream,
            include_usage=include_usage,
            use_max_completion_tokens=uses_max_completion_tokens(model),
        )

    async def chat(
        self,
        messages: Iterable[ChatMessage],
        model: str,
        params: ChatParams,
        *,
        on_retry: RetryHook | None = None,
        max_retries: int | None = None,
    ) -> Response:
        """A whole (non-streamed) answer. `max_retries` overrides the client's for this request
        (0 for a request not worth waiting for, such as an auto-title)."""
        body = self.chat_body(messages, model, params, stream=False)
        return await self._whole("chat/completions", model, body, parse_chat_response, on_retry, max_retries=max_retries)

    def stream_chat(
        self,
        messages: Iterable[ChatMessage],
        model: str,
        params: ChatParams,
        *,
        include_usage: bool = True,
        on_retry: RetryHook | None = None,
    ) -> AsyncIterator[StreamEvent]:
        body = self.chat_body(messages, model, params, stream=True, include_usage=include_usage)
        return self._stream("chat/completions", model, body, parse_chat_response, on_retry)

    # -- legacy completions -----------------------------------------------------------------

    async def complete(self, prompt: str, model: str, params: CompletionParams, *, on_retry: RetryHook | None = None) -> Response:
        body = params.body(model, prompt, stream=False)
        return await self._whole("completions", model, body, parse_completion_response, on_retry)

    def stream_complete(
        self, prompt: str, model: str, params: CompletionParams, *, include_usage: bool = True, on_retry: RetryHook | None = None
    ) -> AsyncIterator[StreamEvent]:
        body = params.body(model, prompt, stream=True, include_usage=include_usage)
        return self._stream("completions", model, body, parse_completion_response, on_retry)

    # -- shared machinery -------------------------------------------------------------------

    async def _whole(
        self,
        what: str,
        model: str,
        body: dict[str, Any],
        parse: Callable[[dict[str, Any]], list[StreamEvent]],
        on_retry: RetryHook | None,
        max_retries: int | None = None,
    ) -> Response:
        path, query = self._url(what, model)
        start = time.monotonic()
        data = await self._json("POST", path, query=query, body=body, on_retry=on_retry, max_retries=max_retries)
        total = time.monotonic() - start
        events = parse(data)
        usage = next((e for e in events if isinstance(e, Usage)), None)
        chunks = sum(1 for e in events if isinstance(e, TextDelta))
        tokens = usage.completion_tokens if usage else None
        timing = Timing(ttft=total, total=total, completion_tokens=tokens, tokens_per_second=None, chunks=chunks)
        return Response(events=events, raw=data, timing=timing)

    async def _stream(
        self,
        what: str,
        model: str,
        body: dict[str, Any],
        parse_whole: Callable[[dict[str, Any]], list[StreamEvent]],
        on_retry: RetryHook | None,
    ) -> AsyncIterator[StreamEvent]:
        path, query = self._url(what, model)
        tally = _Tally(time.monotonic())
        response = await self._send("POST", path, query=query, body=body, stream=True, on_retry=on_retry)
        try:
            ctype = response.headers.get("content-type", "")
            if "json" in ctype and "event-stream" not in ctype:  # some servers ignore `stream: true`
                async for event in _whole_events(response, parse_whole):
                    tally.see(event)
                    yield event
            else:
                # The SSE loop is here, not in a generator of its own: every event of a fast
                # stream would pay for one more generator hop (four lanes: 16,000 events).
                decoder = SSEDecoder()
                parser = ChatStreamParser()
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
                    raise APITimeoutError(f"the server stopped sending for too long ({tally.received()})") from None
                except httpx.HTTPError as exc:
                    raise StreamError(f"the connection dropped mid-answer ({tally.received()}): {_reason(exc)}") from None
                if not parser.done and not tally.finished:
                    raise StreamError(f"the stream ended before the answer was complete ({tally.received()})")
        finally:
            await response.aclose()
        yield tally.timing()


class _Tally:
    """What a stream has delivered so far: for timing, tokens/s and error messages."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.ttft: float | None = None
        self.chunks = 0
        self.usage_tokens: int | None = None
        self.finished: set[int] = set()

    def see(self, event: StreamEvent) -> None:
        if isinstance(event, (TextDelta, RefusalDelta)):
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


async def _whole_events(
    response: httpx.Response, parse_whole: Callable[[dict[str, Any]], list[StreamEvent]]
) -> AsyncIterator[StreamEvent]:
    raw = await response.aread()
    try:
        data = json.loads(raw)
    except ValueError:
        raise StreamError(f"expected an event stream, got: {raw[:200]!r}") from None
    if isinstance(data, dict) and "error" in data:
        raise error_from_payload(data, status=response.status_code)
    for event in parse_whole(data):
        yield event


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


def _reason(exc: BaseException) -> str:
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
