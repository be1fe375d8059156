"""The HTTP client against a real local server on a loopback socket, with faults injected."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from fake_openai import Fault, FakeOpenAI
from openapi_spec import validate_request

from chat_tui.api import errors
from chat_tui.api.client import OpenAIClient, Timeouts
from chat_tui.api.events import Finish, LogprobsDelta, Meta, TextDelta, Timing, Usage
from chat_tui.core.config import Endpoint
from chat_tui.core.messages import ChatMessage
from chat_tui.core.params import ChatParams, CompletionParams, ParamError

HELLO = [ChatMessage("user", "Hello there")]


def client_for(server: FakeOpenAI, **kw) -> OpenAIClient:
    key = kw.pop("key", None)
    headers = kw.pop("headers", {})
    ep = Endpoint(name="test", base_url=server.base_url, api_key=key, headers=headers)
    kw.setdefault("backoff_base", 0.01)
    return OpenAIClient(ep, **kw)


async def collect(aiter):
    return [e async for e in aiter]


def text_of(events, index=0):
    return "".join(e.text for e in events if isinstance(e, TextDelta) and e.index == index)


# -- models -----------------------------------------------------------------------------------


async def test_list_and_get_models(fake_openai):
    fake_openai.models = ["gpt-4o-mini", "llama3.2", "gpt-4o"]
    async with client_for(fake_openai) as client:
        models = await client.models.list()
        assert [m.id for m in models] == ["gpt-4o", "gpt-4o-mini", "llama3.2"]
        assert (await client.models.retrieve("llama3.2"))["id"] == "llama3.2"
        with pytest.raises(errors.NotFoundError) as info:
            await client.models.retrieve("nope")
    assert "nope" in info.value.message and info.value.status == 404
    assert [r.path for r in fake_openai.requests] == ["/v1/models", "/v1/models/llama3.2", "/v1/models/nope"]


async def test_empty_model_list(fake_openai):
    fake_openai.models = []
    async with client_for(fake_openai) as client:
        assert await client.models.list() == []


# -- streaming chat -----------------------------------------------------------------------------


async def test_stream_chat_events_and_minimal_body(fake_openai):
    fake_openai.answer = "The quick brown fox."
    async with client_for(fake_openai) as client:
        events = await collect(client.chat.stream(HELLO, "gpt-4o-mini", ChatParams()))
    assert text_of(events) == "The quick brown fox."
    assert any(isinstance(e, Meta) and e.system_fingerprint == "fp_fake" for e in events)
    assert [e.reason for e in events if isinstance(e, Finish)] == ["stop"]
    usage = next(e for e in events if isinstance(e, Usage))
    assert usage.completion_tokens == 4
    timing = events[-1]
    assert isinstance(timing, Timing) and timing.ttft is not None and timing.total >= timing.ttft
    assert timing.completion_tokens == 4 and timing.tokens_per_second > 0
    body = fake_openai.last_request.json
    # Parameters left at default are not sent.
    assert body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Hello there"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    validate_request("CreateChatCompletionRequest", body)


async def test_every_chat_parameter_is_sent_and_valid(fake_openai):
    params = ChatParams.from_options(
        [
            ("temperature", 0.3), ("top_p", 0.9), ("n", 2), ("stop", ["END", "STOP"]), ("max_tokens", 50),
            ("presence_penalty", -0.5), ("frequency_penalty", 1.5), ("logit_bias", {"1734": -100}),
            ("logprobs", True), ("top_logprobs", 3), ("seed", 42), ("user", "tester"),
            ("response_format", {"type": "text"}),
        ]
    )
    messages = [
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "Hi", name="alice"),
        ChatMessage("assistant", "Hello!"),
        ChatMessage("user", "Count to three"),
    ]
    async with client_for(fake_openai) as client:
        events = await collect(client.chat.stream(messages, "gpt-4o", params))
    body = fake_openai.last_request.json
    validate_request("CreateChatCompletionRequest", body)
    for name, value in params.as_dict().items():
        assert body[name] == value
    assert body["messages"][1] == {"role": "user", "content": "Hi", "name": "alice"}
    assert text_of(events, 0).startswith("[0] ") and text_of(events, 1).startswith("[1] ")
    lp = [e for e in events if isinstance(e, LogprobsDelta)]
    assert lp and all(len(t.top) == 3 for e in lp for t in e.content)


async def test_max_tokens_becomes_max_completion_tokens_for_reasoning_models(fake_openai):
    fake_openai.models = ["o3-mini"]
    async with client_for(fake_openai) as client:
        await collect(client.chat.stream(HELLO, "o3-mini", ChatParams(max_tokens=5)))
    body = fake_openai.last_request.json
    assert "max_tokens" not in body and body["max_completion_tokens"] == 5
    validate_request("CreateChatCompletionRequest", body)


async def test_out_of_range_values_are_refused_before_sending(fake_openai):
    for name, value, needle in [
        ("temperature", 2.5, "between 0 and 2"),
        ("top_p", 1.5, "between 0 and 1"),
        ("presence_penalty", -3, "between -2 and 2"),
        ("frequency_penalty", 2.1, "between -2 and 2"),
        ("logit_bias", {"50256": -101}, "between -100 and 100"),
        ("top_logprobs", 21, "between 0 and 20"),
        ("stop", ["a", "b", "c", "d", "e"], "up to 4"),
        ("n", 0, "between 1 and 128"),
    ]:
        with pytest.raises(ParamError) as info:
            ChatParams.from_options([(name, value)])
        assert str(info.value).startswith(name) and needle in str(info.value)
    assert fake_openai.requests == []


async def test_non_streamed_chat(fake_openai):
    fake_openai.answer = "Whole answer."
    async with client_for(fake_openai) as client:
        response = await client.chat.create(HELLO, "gpt-4o-mini", ChatParams(seed=7))
    assert response.text() == "Whole answer."
    assert response.raw["object"] == "chat.completion"
    body = fake_openai.last_request.json
    assert "stream" not in body and body["seed"] == 7
    validate_request("CreateChatCompletionRequest", body)


# -- headers and endpoints ----------------------------------------------------------------------


async def test_no_authorization_header_without_key(fake_openai):
    async with client_for(fake_openai) as client:
        await client.models.list()
    assert "authorization" not in fake_openai.last_request.headers


async def test_key_and_extra_headers(fake_openai):
    fake_openai.require_key = "sk-test"
    async with client_for(fake_openai, key="sk-test", headers={"OpenAI-Organization": "org-1"}) as client:
        await client.models.list()
    headers = fake_openai.last_request.headers
    assert headers["authorization"] == "Bearer sk-test"
    assert headers["openai-organization"] == "org-1"
    assert headers["user-agent"].startswith("chat-tui/")


async def test_bad_key_is_an_authentication_error_and_not_retried(fake_openai):
    fake_openai.require_key = "sk-right"
    async with client_for(fake_openai, key="sk-wrong") as client:
        with pytest.raises(errors.AuthenticationError) as info:
            await collect(client.chat.stream(HELLO, "gpt-4o-mini", ChatParams()))
    assert info.value.status == 401 and "Incorrect API key" in info.value.message
    assert len(fake_openai.requests) == 1


async def test_azure_url_scheme(fake_openai):
    # Azure: deployment in the path, api-version query, api-key header. The fake server serves
    # the Azure path; "my-deploy" is no model it knows: a 404, which is enough to see what was sent.
    base = fake_openai.base_url.removesuffix("/v1")
    ep = Endpoint(name="az", type="azure", base_url=base, api_key="azkey", api_version="2024-10-21")
    async with OpenAIClient(ep) as client:
        with pytest.raises(errors.NotFoundError):
            await collect(client.chat.stream(HELLO, "my-deploy", ChatParams()))
    req = fake_openai.last_request
    assert req.path == "/openai/deployments/my-deploy/chat/completions"
    assert req.query == "api-version=2024-10-21"
    assert req.headers["api-key"] == "azkey" and "authorization" not in req.headers


# -- errors and retries -------------------------------------------------------------------------


async def test_429_with_retry_after_ms_then_success(fake_openai):
    fake_openai.enqueue_fault(Fault("status", status=429, headers={"retry-after-ms": "150"}))
    seen = []
    async with client_for(fake_openai, backoff_base=5.0) as client:
        events = await collect(
            client.chat.stream(HELLO, "gpt-4o-mini", ChatParams(), on_retry=lambda e, w, n: seen.append((type(e), w, n)))
        )
    assert text_of(events) == "Echo: Hello there"
    assert seen == [(errors.RateLimitError, 0.15, 1)]
    first, second = fake_openai.requests
    assert second.t_arrival - first.t_finish >= 0.14  # waited as asked, not our 5 s backoff


async def test_retry_after_seconds_header(fake_openai):
    fake_openai.enqueue_fault(Fault("status", status=429, headers={"Retry-After": "0"}))
    async with client_for(fake_openai) as client:
        await client.models.list()
    assert len(fake_openai.requests) == 2


async def test_500_then_success_with_backoff(fake_openai):
    fake_openai.enqueue_fault(Fault("status", status=500), Fault("status", status=503))
    async with client_for(fake_openai) as client:
        events = await collect(client.chat.stream(HELLO, "gpt-4o-mini", ChatParams()))
    assert text_of(events) == "Echo: Hello there"
    assert [r.status for r in fake_openai.requests] == [500, 503, 200]


async def test_gives_up_after_max_retries(fake_openai):
    fake_openai.enqueue_fault(*[Fault("status", status=500) for _ in range(3)])
    async with client_for(fake_openai, max_retries=2) as client:
        with pytest.raises(errors.ServerError) as info:
            await collect(client.chat.stream(HELLO, "gpt-4o-mini", ChatParams()))
    assert info.value.status == 500 and len(fake_openai.requests) == 3


@pytest.mark.parametrize("status", [408, 409])
async def test_408_and_409_are_retried(fake_openai, status):
    fake_openai.enqueue_fault(Fault("status", status=status))
    async with client_for(fake_openai) as client:
        await client.models.list()
    assert [r.status for r in fake_openai.requests] == [status, 200]


async def test_context_length_error(fake_openai):
    fake_openai.enqueue_fault(Fault("status", status=400, body={"error": {
        "message": "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
        "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}))
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.ContextLengthError) as info:
            await collect(client.chat.stream(HELLO, "gpt-4o-mini", ChatParams()))
    assert "maximum context length is 128000" in str(info.value)
    assert info.value.param == "messages" and len(fake_openai.requests) == 1


async def test_permission_denied(fake_openai):
    fake_openai.enqueue_fault(Fault("status", status=403))
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.PermissionDeniedError):
            await client.models.list()


async def test_unknown_model(fake_openai):
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.NotFoundError) as info:
            await collect(client.chat.stream(HELLO, "gpt-9000", ChatParams()))
    assert "gpt-9000" in str(info.value)


async def test_html_error_page_is_summarised(fake_openai):
    fake_openai.enqueue_fault(*[Fault("html", status=502) for _ in range(3)])
    async with client_for(fake_openai, max_retries=2) as client:
        with pytest.raises(errors.ServerError) as info:
            await client.models.list()
    assert "HTML page" in str(info.value) and "502 Bad Gateway" in str(info.value)
    assert "<html>" not in str(info.value)


async def test_non_json_plain_error_body(fake_openai):
    fake_openai.enqueue_fault(Fault("status", status=400, body="upstream said no", headers={"Content-Type": "text/plain"}))
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.BadRequestError) as info:
            await client.models.list()
    assert "upstream said no" in str(info.value)


async def test_drop_mid_stream_is_not_retried_and_keeps_text(fake_openai):
    fake_openai.answer = "one two three four five six"
    fake_openai.enqueue_fault(Fault("drop", after=3))
    got = []
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.StreamError) as info:
            async for event in client.chat.stream(HELLO, "gpt-4o-mini", ChatParams()):
                got.append(event)
    assert text_of(got) == "one two three "
    assert "dropped" in str(info.value) or "ended before" in str(info.value)
    assert len(fake_openai.requests) == 1  # never a retry once text has streamed


async def test_malformed_chunk(fake_openai):
    fake_openai.enqueue_fault(Fault("malformed", after=1))
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.StreamError) as info:
            await collect(client.chat.stream(HELLO, "gpt-4o-mini", ChatParams()))
    assert "malformed chunk" in str(info.value)


async def test_error_event_mid_stream(fake_openai):
    fake_openai.answer = "alpha beta gamma"
    fake_openai.enqueue_fault(Fault("error_event", after=2, body={"message": "The server had an error while processing your request.", "type": "server_error"}))
    got = []
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.APIError) as info:
            async for event in client.chat.stream(HELLO, "gpt-4o-mini", ChatParams()):
                got.append(event)
    assert "had an error while processing" in str(info.value)
    assert text_of(got) == "alpha beta "
    assert len(fake_openai.requests) == 1


async def test_slow_first_byte_within_timeout(fake_openai):
    fake_openai.enqueue_fault(Fault("slow_first_byte", delay=0.3))
    async with client_for(fake_openai) as client:
        events = await collect(client.chat.stream(HELLO, "gpt-4o-mini", ChatParams()))
    assert events[-1].ttft >= 0.3


async def test_timeout_is_typed(fake_openai):
    fake_openai.enqueue_fault(Fault("hang"))
    async with client_for(fake_openai, timeouts=Timeouts(first_byte=0.3), max_retries=0) as client:
        with pytest.raises(errors.APITimeoutError):
            await collect(client.chat.stream(HELLO, "gpt-4o-mini", ChatParams()))


async def test_connection_refused():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    ep = Endpoint(name="dead", base_url=f"http://127.0.0.1:{port}/v1")
    async with OpenAIClient(ep, max_retries=1, backoff_base=0.01) as client:
        with pytest.raises(errors.APIConnectionError) as info:
            await client.models.list()
    assert "connection refused" in str(info.value) and str(port) in str(info.value)


async def test_cancellation_closes_the_connection_promptly(fake_openai):
    fake_openai.answer = " ".join(["word"] * 400)
    fake_openai.rate = 50  # 8 s in all, if nobody stopped it
    first = asyncio.Event()

    async def consume(client):
        async for event in client.chat.stream(HELLO, "gpt-4o-mini", ChatParams()):
            if isinstance(event, TextDelta):
                first.set()

    async with client_for(fake_openai) as client:
        task = asyncio.create_task(consume(client))
        await first.wait()
        cancelled_at = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        reqs = await asyncio.to_thread(fake_openai.wait_for, lambda rs: rs and rs[0].t_finish is not None, 5.0)
    assert reqs[0].disconnected
    assert reqs[0].t_finish - cancelled_at < 1.0
    assert reqs[0].chunks_sent < 100


async def test_keep_alive_reuses_one_connection(fake_openai):
    async with client_for(fake_openai) as client:
        await client.models.list()
        await collect(client.chat.stream(HELLO, "gpt-4o-mini", ChatParams()))
        await client.chat.create(HELLO, "gpt-4o-mini", ChatParams())
    assert {r.connection_id for r in fake_openai.requests} == {fake_openai.requests[0].connection_id}


# -- legacy completions --------------------------------------------------------------------------


async def test_legacy_completion_stream_and_whole(fake_openai):
    fake_openai.answer = "and then some"
    params = CompletionParams.from_options(
        [("suffix", "THE END"), ("echo", True), ("logprobs", 2), ("best_of", 3), ("n", 2), ("max_tokens", 20),
         ("stop", "\n\n"), ("logit_bias", {"50256": -100}), ("user", "u1"), ("temperature", 0.5)]
    )
    async with client_for(fake_openai) as client:
        events = await collect(client.completions.stream("Once upon a time", "gpt-3.5-turbo-instruct", params))
        whole = await client.completions.create("Once upon a time", "gpt-3.5-turbo-instruct", params)
    streamed, plain = fake_openai.requests
    validate_request("CreateCompletionRequest", streamed.json)
    validate_request("CreateCompletionRequest", plain.json)
    assert streamed.path == "/v1/completions" and streamed.json["best_of"] == 3 and streamed.json["suffix"] == "THE END"
    assert "and then some" in text_of(events, 0) and "and then some" in text_of(events, 1)
    assert any(isinstance(e, LogprobsDelta) for e in events)
    assert whole.text(0) == text_of(events, 0)


def test_best_of_must_cover_n():
    with pytest.raises(ParamError, match="best_of"):
        CompletionParams.from_options([("n", 3), ("best_of", 2)])
    with pytest.raises(ParamError, match="logprobs"):
        CompletionParams.from_options([("logprobs", 6)])


async def test_last_event_without_a_trailing_blank_line_still_counts():
    """A server that ends the body right after its finish chunk (no blank line, no [DONE]): the
    event is dispatched at the end of the stream and counted like any other, so the answer is
    complete and its text is in the timing."""
    import httpx

    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]}
    body = ("data: " + __import__("json").dumps(chunk)).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    ep = Endpoint(name="mock", base_url="http://mock.invalid/v1")
    async with OpenAIClient(ep, transport=httpx.MockTransport(handler)) as client:
        events = await collect(client.chat.stream(HELLO, "m", ChatParams()))
    assert text_of(events) == "Hi"
    assert [e.reason for e in events if isinstance(e, Finish)] == ["stop"]
    assert events[-1].chunks == 1 and events[-1].ttft is not None


async def test_gzip_encoded_stream_is_decoded():
    """Identity bodies are read raw (faster); a proxy that gzips the event stream still works."""
    import gzip
    import json

    import httpx

    chunks = [{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]} for word in ("Hel", "lo")]
    sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    packed = gzip.compress(sse.encode())

    class Body(httpx.AsyncByteStream):
        async def __aiter__(self):
            for i in range(0, len(packed), 7):  # split anywhere, as a network would
                yield packed[i:i + 7]

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
        return httpx.Response(200, headers=headers, stream=Body())

    ep = Endpoint(name="mock", base_url="http://mock.invalid/v1")
    async with OpenAIClient(ep, transport=httpx.MockTransport(handler)) as client:
        events = await collect(client.chat.stream(HELLO, "m", ChatParams()))
    assert text_of(events) == "Hello"


def test_plain_http_endpoint_loads_no_certificates_https_verifies():
    import ssl

    from chat_tui.api.transport import _tls_verify

    local = _tls_verify("http://127.0.0.1:8080/v1")
    assert isinstance(local, ssl.SSLContext) and local.verify_mode == ssl.CERT_REQUIRED
    assert local.cert_store_stats()["x509_ca"] == 0  # nothing trusted: an https redirect fails
    assert _tls_verify("HTTP://localhost/v1") is not True
    assert _tls_verify("https://api.openai.com/v1") is True


# -- llama.cpp's /tokenize probe ----------------------------------------------------------------


async def test_llamacpp_probe_retries_a_passing_failure_and_takes_404_as_no(fake_openai):
    from chat_tui.services.completion_support import PROBE_RETRIES, is_llamacpp

    fake_openai.llamacpp = True
    # A busy server's 503, then a 500: retried, and the answer is still yes.
    fake_openai.enqueue_fault(Fault("status", status=503, path="/tokenize"), Fault("status", status=500, path="/tokenize"))
    async with client_for(fake_openai) as client:
        assert await is_llamacpp(client)
        assert [r.path for r in fake_openai.requests] == ["/tokenize"] * 3
        assert await client.llamacpp.tokenize("two words") == [(1, "two "), (2, "words")]
    fake_openai.reset()
    fake_openai.llamacpp = False  # any other OpenAI server: 404, asked once
    async with client_for(fake_openai) as client:
        assert not await is_llamacpp(client)
    assert [r.path for r in fake_openai.requests] == ["/tokenize"]
    fake_openai.reset()
    fake_openai.llamacpp = True  # failing every time: no, after the retries
    fake_openai.enqueue_fault(*[Fault("status", status=503, path="/tokenize")] * (PROBE_RETRIES + 1))
    async with client_for(fake_openai) as client:
        assert not await is_llamacpp(client)
    assert len(fake_openai.requests) == PROBE_RETRIES + 1
