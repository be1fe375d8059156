"""The fake OpenAI server behaves as the client and CLI tests assume it does."""

from __future__ import annotations

import base64
import io
import json
import math
import socket
import struct
import subprocess
import sys
import threading
import time
import wave
import zlib
from pathlib import Path

import httpx
import pytest

from fake_openai import (
    FAULT_KINDS,
    SPEECH_TYPES,
    FakeOpenAI,
    Fault,
    embedding_vector,
    result_image,
    speech_audio,
    split_tokens,
    tiny_png,
)

CHAT = "/chat/completions"
LEGACY = "/completions"


def chat_body(text: str = "hello there", **params: object) -> dict:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **params}


def sse_data(text: str) -> list[str]:
    """The `data:` payloads of an SSE body (just enough of the format for these tests)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")]
        if lines:
            events.append("\n".join(lines))
    return events


def stream_chunks(text: str) -> list[dict]:
    data = sse_data(text)
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


def content_of(chunks: list[dict], index: int = 0) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks
                   if c["choices"] and c["choices"][0]["index"] == index)


@pytest.fixture
def client(fake_openai: FakeOpenAI):
    with httpx.Client(base_url=fake_openai.base_url, timeout=5) as c:
        yield c


def raw_request(server: FakeOpenAI, body: dict, path: str = "/v1/chat/completions") -> bytes:
    """Everything the server writes for one request, read off a plain socket until it closes."""
    data = json.dumps(body).encode()
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


def dechunk(raw: bytes) -> tuple[list[bytes], bool]:
    """(chunks, terminated) of a chunked HTTP/1.1 response body."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    chunks = []
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return chunks, True
        chunks.append(rest[:size])
        rest = rest[size + 2:]
    return chunks, False


# -- endpoints -------------------------------------------------------------------------------


def test_base_url_is_loopback_with_a_real_port(fake_openai):
    assert fake_openai.base_url == f"http://127.0.0.1:{fake_openai.port}/v1"
    assert fake_openai.port > 0


def test_list_models_default_and_settable(fake_openai, client):
    body = client.get("/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo-instruct"]
    assert all(m["object"] == "model" for m in body["data"])
    fake_openai.models = ["only-one"]
    assert [m["id"] for m in client.get("/models").json()["data"]] == ["only-one"]


def test_retrieve_model_and_unknown_model(client):
    assert client.get("/models/gpt-4o").json()["id"] == "gpt-4o"
    r = client.get("/models/x")
    assert r.status_code == 404
    assert r.json() == {"error": {"message": "The model 'x' does not exist", "type": "invalid_request_error",
                                  "param": None, "code": "model_not_found"}}


@pytest.mark.parametrize("path,body", [(CHAT, chat_body(model="nope")),
                                       (LEGACY, {"model": "nope", "prompt": "x"})])
def test_unknown_model_in_post_is_404(client, path, body):
    r = client.post(path, json=body)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "model_not_found"
    assert r.json()["error"]["message"] == "The model 'nope' does not exist"


def test_unknown_path_and_bad_json(client):
    assert client.post("/nothing", json={}).status_code == 404
    r = client.post(CHAT, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert "could not parse the JSON body" in r.json()["error"]["message"]


def test_chat_whole_answer_echoes_last_user_message(client):
    body = {"model": "gpt-4o", "messages": [
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "second one"}]}]}
    r = client.post(CHAT, json=body)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    data = r.json()
    assert data["object"] == "chat.completion"
    assert data["model"] == "gpt-4o"
    assert data["system_fingerprint"] == "fp_fake"
    assert data["id"].startswith("chatcmpl-") and isinstance(data["created"], int)
    (choice,) = data["choices"]
    assert choice["message"] == {"role": "assistant", "content": "Echo: second one", "refusal": None,
                                 "annotations": []}
    assert choice["finish_reason"] == "stop" and choice["logprobs"] is None
    assert data["usage"]["completion_tokens"] == 3
    assert data["usage"]["total_tokens"] == data["usage"]["prompt_tokens"] + 3


def test_answer_setting_fixed_and_callable(fake_openai, client):
    fake_openai.answer = "Fixed reply."
    assert client.post(CHAT, json=chat_body()).json()["choices"][0]["message"]["content"] == "Fixed reply."
    fake_openai.answer = lambda body: body["messages"][-1]["content"].upper()
    assert client.post(CHAT, json=chat_body("abc")).json()["choices"][0]["message"]["content"] == "ABC"


def test_chat_stream_format(fake_openai, client):
    fake_openai.answer = "One two  three."
    r = client.post(CHAT, json=chat_body(stream=True))
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["transfer-encoding"] == "chunked"
    assert all(line == "" or line.startswith("data: ") for line in r.text.split("\n"))
    chunks = stream_chunks(r.text)
    first, *tokens, last = chunks
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert [c["choices"][0]["delta"]["content"] for c in tokens] == ["One ", "two  ", "three."]
    assert last["choices"][0]["delta"] == {} and last["choices"][0]["finish_reason"] == "stop"
    for c in chunks:
        assert c["object"] == "chat.completion.chunk" and c["system_fingerprint"] == "fp_fake"
        assert c["id"] == first["id"] and c["model"] == "gpt-4o-mini" and c["created"] == first["created"]
        assert "usage" not in c


def test_each_event_is_its_own_http_chunk_and_the_body_is_terminated(fake_openai):
    fake_openai.answer = "a b c"
    chunks, terminated = dechunk(raw_request(fake_openai, chat_body(stream=True)))
    assert terminated
    assert all(c.startswith(b"data: ") and c.endswith(b"\n\n") and c.count(b"\n\n") == 1 for c in chunks)
    assert chunks[-1] == b"data: [DONE]\n\n"
    assert len(chunks) == 1 + 3 + 1 + 1  # role, tokens, finish, [DONE]


def test_stream_usage_chunk_when_asked(fake_openai, client):
    fake_openai.answer = "a b c"
    chunks = stream_chunks(client.post(CHAT, json=chat_body(
        stream=True, stream_options={"include_usage": True})).text)
    *rest, usage = chunks
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == 3
    assert usage["usage"]["total_tokens"] == usage["usage"]["prompt_tokens"] + 3
    assert all(c["usage"] is None for c in rest)  # as OpenAI: null on every other chunk


@pytest.mark.parametrize("limit_key", ["max_tokens", "max_completion_tokens"])
def test_token_limit_cuts_with_finish_length(fake_openai, client, limit_key):
    fake_openai.answer = "a b c d e"
    chunks = stream_chunks(client.post(CHAT, json=chat_body(stream=True, **{limit_key: 2})).text)
    assert content_of(chunks) == "a b "
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    whole = client.post(CHAT, json=chat_body(**{limit_key: 2})).json()
    assert whole["choices"][0]["finish_reason"] == "length"
    assert whole["usage"]["completion_tokens"] == 2


def test_stop_sequences_cut_before_the_first_match(fake_openai, client):
    fake_openai.answer = "alpha beta. gamma END delta"
    r = client.post(CHAT, json=chat_body(stop=["END", "."], max_tokens=10)).json()
    assert r["choices"][0]["message"]["content"] == "alpha beta"
    assert r["choices"][0]["finish_reason"] == "stop"
    chunks = stream_chunks(client.post(CHAT, json=chat_body(stream=True, stop="gamma")).text)
    assert content_of(chunks) == "alpha beta. "


def test_chunk_size_splits_by_characters(fake_openai, client):
    fake_openai.answer = "abcdefg"
    fake_openai.chunk_size = 3
    chunks = stream_chunks(client.post(CHAT, json=chat_body(stream=True)).text)
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:-1]] == ["abc", "def", "g"]
    assert split_tokens("abcdefg", 3) == ["abc", "def", "g"]
    assert "".join(split_tokens(" lead  and trail ")) == " lead  and trail "


def test_n_choices_stream_and_whole(fake_openai, client):
    fake_openai.answer = "hi you"
    whole = client.post(CHAT, json=chat_body(n=3)).json()
    assert [c["message"]["content"] for c in whole["choices"]] == ["[0] hi you", "[1] hi you", "[2] hi you"]
    assert [c["index"] for c in whole["choices"]] == [0, 1, 2]
    chunks = stream_chunks(client.post(CHAT, json=chat_body(stream=True, n=2)).text)
    assert [content_of(chunks, i) for i in (0, 1)] == ["[0] hi you", "[1] hi you"]
    finishes = [c["choices"][0] for c in chunks if c["choices"][0]["finish_reason"]]
    assert sorted(f["index"] for f in finishes) == [0, 1]


def test_chat_logprobs(fake_openai, client):
    fake_openai.answer = "Hi there"
    chunks = stream_chunks(client.post(CHAT, json=chat_body(stream=True, logprobs=True, top_logprobs=3)).text)
    assert chunks[0]["choices"][0]["logprobs"] == {"content": [], "refusal": None}
    entries = [c["choices"][0]["logprobs"]["content"][0] for c in chunks[1:-1]]
    assert [e["token"] for e in entries] == ["Hi ", "there"]
    for e in entries:
        assert e["bytes"] == list(e["token"].encode())
        assert -2.1 < e["logprob"] < 0
        assert len(e["top_logprobs"]) == 3 and e["top_logprobs"][0]["token"] == e["token"]
        assert [t["logprob"] for t in e["top_logprobs"]] == sorted((t["logprob"] for t in e["top_logprobs"]),
                                                                    reverse=True)
    assert chunks[-1]["choices"][0]["logprobs"] is None
    again = stream_chunks(client.post(CHAT, json=chat_body(stream=True, logprobs=True, top_logprobs=3)).text)
    assert [c["choices"] for c in again] == [c["choices"] for c in chunks]  # deterministic
    whole = client.post(CHAT, json=chat_body(logprobs=True)).json()["choices"][0]["logprobs"]["content"]
    assert [e["token"] for e in whole] == ["Hi ", "there"] and whole[0]["top_logprobs"] == []


def test_legacy_completion_whole_with_echo_logprobs_and_suffix(fake_openai, client):
    fake_openai.answer = "done now"
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": "Say it", "echo": True, "logprobs": 2,
            "suffix": "END", "best_of": 2, "max_tokens": 5}
    data = client.post(LEGACY, json=body).json()
    assert data["object"] == "text_completion" and data["id"].startswith("cmpl-")
    (choice,) = data["choices"]
    assert choice["text"] == "Say itdone now"
    lp = choice["logprobs"]
    assert lp["tokens"] == ["Say ", "it", "done ", "now"]
    assert lp["token_logprobs"][0] is None and all(v < 0 for v in lp["token_logprobs"][1:])
    assert lp["text_offset"] == [0, 4, 6, 11]
    assert lp["top_logprobs"][0] is None and all(len(t) == 2 for t in lp["top_logprobs"][1:])
    assert data["usage"]["completion_tokens"] == 2
    assert fake_openai.last_request.json["suffix"] == "END"


def test_legacy_completion_stream(fake_openai, client):
    fake_openai.answer = "x y z"
    chunks = stream_chunks(client.post(LEGACY, json={
        "model": "gpt-3.5-turbo-instruct", "prompt": "p", "stream": True, "max_tokens": 2, "logprobs": 0,
        "stream_options": {"include_usage": True}}).text)
    *tokens, last, usage = chunks
    assert [c["choices"][0]["text"] for c in tokens] == ["x ", "y "]
    assert all(c["object"] == "text_completion" for c in chunks)
    assert tokens[0]["choices"][0]["logprobs"]["tokens"] == ["x "]
    assert tokens[0]["choices"][0]["logprobs"]["text_offset"] == [1]  # after the prompt
    assert last["choices"][0] == {"text": "", "index": 0, "logprobs": None, "finish_reason": "length"}
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 2


def test_require_key(fake_openai, client):
    fake_openai.require_key = "sk-test"
    r = client.post(CHAT, json=chat_body())
    assert r.status_code == 401 and "didn't provide an API key" in r.json()["error"]["message"]
    r = client.post(CHAT, json=chat_body(), headers={"Authorization": "Bearer sk-wrong-key-123"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert "sk-wrong-key-123" not in r.json()["error"]["message"]  # masked, like OpenAI
    assert client.get("/models", headers={"Authorization": "Bearer sk-test"}).status_code == 200


def test_responses_match_openais_response_schemas(fake_openai, client):
    from openapi_spec import violations

    body = chat_body(logprobs=True, top_logprobs=2, n=2)
    assert violations("CreateChatCompletionResponse", client.post(CHAT, json=body).json(), strict=False) == []
    for chunk in stream_chunks(client.post(CHAT, json={**body, "stream": True,
                                                       "stream_options": {"include_usage": True}}).text):
        assert violations("CreateChatCompletionStreamResponse", chunk, strict=False) == []
    legacy = {"model": "gpt-3.5-turbo-instruct", "prompt": "x", "logprobs": 2}
    assert violations("CreateCompletionResponse", client.post(LEGACY, json=legacy).json(), strict=False) == []
    assert violations("ListModelsResponse", client.get("/models").json(), strict=False) == []
    assert violations("Model", client.get("/models/gpt-4o").json(), strict=False) == []
    assert violations("ErrorResponse", client.get("/models/nope").json(), strict=False) == []


# -- embeddings, moderations, images, audio -------------------------------------------------

EMBED = {"model": "text-embedding-3-small", "input": ["hello there", "general kenobi"]}
PNG = tiny_png("source")


def _upload(client, path: str, fields: dict, files: list) -> httpx.Response:
    return client.post(path, data=fields, files=files)


def test_tiny_png_is_a_valid_png():
    data = tiny_png("seed")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, rest = [], data[8:]
    while rest:
        length, kind = struct.unpack(">I4s", rest[:8])
        payload, crc = rest[8 : 8 + length], struct.unpack(">I", rest[8 + length : 12 + length])[0]
        assert zlib.crc32(kind + payload) == crc
        chunks.append((kind, payload))
        rest = rest[12 + length:]
    assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert struct.unpack(">IIBBBBB", chunks[0][1]) == (1, 1, 8, 6, 0, 0, 0)  # 1x1 RGBA
    assert len(zlib.decompress(chunks[1][1])) == 1 + 4  # filter byte + one pixel
    assert tiny_png("seed") == data != tiny_png("other")


def test_media_responses_match_openais_response_schemas(fake_openai, client):
    from openapi_spec import violations

    def ok(schema: str, r: httpx.Response) -> None:
        assert r.status_code == 200, r.text
        assert violations(schema, r.json(), strict=False) == []

    ok("CreateEmbeddingResponse", client.post("/embeddings", json=EMBED))
    ok("CreateModerationResponse", client.post("/moderations", json={"input": ["a", "dynamite"]}))
    ok("CreateModerationResponse", client.post("/moderations", json={"input": [{"type": "text", "text": "x"}]}))
    ok("ImagesResponse", client.post("/images/generations", json={"prompt": "a cat", "n": 2}))
    ok("ImagesResponse", client.post("/images/generations", json={"prompt": "a cat", "model": "dall-e-3",
                                                                  "response_format": "b64_json"}))
    ok("ImagesResponse", client.post("/images/generations", json={"prompt": "a cat", "model": "gpt-image-1"}))
    ok("ImagesResponse", _upload(client, "/images/edits", {"prompt": "hat"}, [("image", ("a.png", PNG, "image/png"))]))
    ok("ImagesResponse", _upload(client, "/images/variations", {"n": "2"}, [("image", ("a.png", PNG, "image/png"))]))
    wav = io.BytesIO()
    with wave.open(wav, "wb") as w:  # a real WAV: the fake parses an uploaded .wav
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000), w.writeframes(bytes(32000))
    audio = [("file", ("a.wav", wav.getvalue(), "audio/wav"))]
    ok("CreateTranscriptionResponseJson", _upload(client, "/audio/transcriptions", {"model": "whisper-1"}, audio))
    ok("CreateTranscriptionResponseVerboseJson", _upload(
        client, "/audio/transcriptions", {"model": "whisper-1", "response_format": "verbose_json",
                                          "timestamp_granularities[]": ["word", "segment"]}, audio))
    ok("CreateTranslationResponseJson", _upload(client, "/audio/translations", {"model": "whisper-1"}, audio))
    ok("CreateTranslationResponseVerboseJson", _upload(
        client, "/audio/translations", {"model": "whisper-1", "response_format": "verbose_json"}, audio))
    for bad in (client.post("/embeddings", json={"model": "m"}),
                client.post("/images/generations", json={"prompt": "x", "n": 11}),
                _upload(client, "/audio/transcriptions", {"model": "whisper-1"}, [])):
        assert bad.status_code == 400 and violations("ErrorResponse", bad.json(), strict=False) == []


def test_embeddings_encodings_and_dimensions(fake_openai, client):
    plain = client.post("/embeddings", json=EMBED).json()
    packed = client.post("/embeddings", json={**EMBED, "encoding_format": "base64"}).json()
    for f, b in zip(plain["data"], packed["data"]):
        raw = base64.b64decode(b["embedding"])
        assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == f["embedding"]
    assert plain["usage"] == {"prompt_tokens": 4, "total_tokens": 4}
    assert [len(d["embedding"]) for d in plain["data"]] == [1536, 1536]
    short = client.post("/embeddings", json={**EMBED, "dimensions": 8}).json()["data"][0]["embedding"]
    assert short == embedding_vector("hello there", 8) and math.isclose(sum(x * x for x in short), 1, rel_tol=1e-6)
    tokens = client.post("/embeddings", json={"model": "m", "input": [[1, 2, 3], [4]]}).json()
    assert len(tokens["data"]) == 2 and tokens["usage"]["prompt_tokens"] == 4
    assert len(client.post("/embeddings", json={"model": "text-embedding-3-large", "input": "x"}).json()["data"][0]["embedding"]) == 3072
    fake_openai.embeddings_reversed = True
    assert [d["index"] for d in client.post("/embeddings", json=EMBED).json()["data"]] == [1, 0]
    for body, param in [({**EMBED, "dimensions": 1537}, "dimensions"),
                        ({**EMBED, "model": "text-embedding-ada-002", "dimensions": 8}, "dimensions"),
                        ({**EMBED, "encoding_format": "hex"}, "encoding_format"),
                        ({**EMBED, "input": []}, "input"), ({**EMBED, "input": ["ok", ""]}, "input"),
                        ({"input": "x"}, "model")]:
        r = client.post("/embeddings", json=body)
        assert r.status_code == 400 and r.json()["error"]["param"] == param, body


def test_moderation_flags_the_configured_word(fake_openai, client):
    fake_openai.flag_word, fake_openai.flag_category = "Banana", "hate"
    results = client.post("/moderations", json={"input": ["an apple", "a BANANA split"]}).json()["results"]
    assert [r["flagged"] for r in results] == [False, True]
    assert [c for c, on in results[1]["categories"].items() if on] == ["hate"]
    assert results[1]["category_scores"]["hate"] == 0.97 and max(results[0]["category_scores"].values()) < 0.01
    assert client.post("/moderations", json={"input": "x"}).json()["model"] == "omni-moderation-latest"
    assert client.post("/moderations", json={"input": []}).status_code == 400


def test_image_urls_are_served_without_a_key_and_the_request_says_so(fake_openai, client):
    fake_openai.require_key = "sk-k"
    assert client.post("/images/generations", json={"prompt": "x"}).status_code == 401
    r = client.post("/images/generations", json={"prompt": "x"}, headers={"Authorization": "Bearer sk-k"})
    assert fake_openai.last_request.authorized
    url = r.json()["data"][0]["url"]
    assert url.startswith(fake_openai.root_url + "/files/img-") and "sig=" in url
    image = httpx.get(url, timeout=5)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == result_image("dall-e-2", "x", 0)
    download = fake_openai.last_request
    assert download.method == "GET" and download.path == httpx.URL(url).path and not download.authorized
    httpx.get(url, headers={"api-key": "k"}, timeout=5)
    assert fake_openai.last_request.authorized  # either header counts
    missing = httpx.get(fake_openai.root_url + "/files/nope.png", timeout=5)
    assert missing.status_code == 404 and b"BlobNotFound" in missing.content


def test_gpt_image_answers_base64_in_the_asked_format(client):
    body = {"prompt": "a fox", "model": "gpt-image-1", "output_format": "webp", "response_format": "url"}
    r = client.post("/images/generations", json=body).json()
    blob = base64.b64decode(r["data"][0]["b64_json"])
    assert "url" not in r["data"][0] and r["output_format"] == "webp"
    assert blob[:4] == b"RIFF" and blob[8:12] == b"WEBP" and blob == result_image("gpt-image-1", "a fox", 0, output_format="webp")
    assert r["usage"]["total_tokens"] == r["usage"]["input_tokens"] + r["usage"]["output_tokens"]


def test_multipart_uploads_are_recorded_byte_for_byte(fake_openai, client):
    tricky = bytes(range(256)) + b"\r\n--boundary\r\n\r\n\r" + PNG + b"\r"  # line ends, NULs, a fake boundary
    r = _upload(client, "/images/edits", {"prompt": "un café ☕", "model": "gpt-image-1", "n": "2"},
                [("image[]", ("one.png", PNG, "image/png")), ("image[]", ("two two.png", PNG + b"x", "image/png")),
                 ("mask", ("m.png", PNG, "image/png"))])
    assert r.status_code == 200 and len(r.json()["data"]) == 2
    rec = fake_openai.last_request
    assert rec.form == {"prompt": "un café ☕", "model": "gpt-image-1", "n": "2"} and rec.json is None
    assert [(f.name, f.filename, f.content_type, f.size) for f in rec.files] == [
        ("image[]", "one.png", "image/png", len(PNG)), ("image[]", "two two.png", "image/png", len(PNG) + 1),
        ("mask", "m.png", "image/png", len(PNG))]
    r = _upload(client, "/audio/transcriptions", {"model": "whisper-1", "timestamp_granularities[]": ["word", "segment"]},
                [("file", ("raw.mp3", tricky, "application/octet-stream"))])  # an extension the endpoint takes
    assert r.status_code == 200
    rec = fake_openai.last_request
    assert rec.files[0].data == tricky and rec.files[0].size == len(tricky)
    assert rec.form["timestamp_granularities[]"] == ["word", "segment"]  # a repeated field is a list


def test_upload_endpoints_want_multipart_and_valid_images(fake_openai, client):
    r = client.post("/images/edits", json={"prompt": "x"})
    assert r.status_code == 400 and "expected multipart/form-data" in r.json()["error"]["message"]
    assert fake_openai.last_request.form is None
    r = _upload(client, "/images/edits", {"prompt": "x"}, [("image", ("a.txt", b"text", "text/plain"))])
    assert r.status_code == 400 and r.json()["error"]["message"] == "Uploaded image must be a PNG and less than 4 MB."
    r = _upload(client, "/images/edits", {"prompt": "x", "model": "gpt-image-1"}, [("image", ("a.txt", b"text", "text/plain"))])
    assert r.status_code == 400 and "unsupported mimetype ('text/plain')" in r.json()["error"]["message"]
    r = _upload(client, "/images/edits", {"model": "dall-e-2"}, [("image", ("a.png", PNG, "image/png"))])
    assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"
    r = _upload(client, "/images/edits", {"prompt": "x"}, [("image[]", ("a.png", PNG, "image/png"))] * 2)
    assert r.status_code == 400 and r.json()["error"]["param"] == "image"  # dall-e-2 takes one


@pytest.mark.parametrize("fmt,start", [("text", "Transcribed a.wav.\n"), ("srt", "1\n00:00:00,000 --> 00:00:02,000\n"),
                                       ("vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n")])
def test_transcript_text_formats(client, fmt, start):
    wav = io.BytesIO()
    with wave.open(wav, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000), w.writeframes(bytes(32000))
    r = _upload(client, "/audio/transcriptions", {"model": "whisper-1", "response_format": fmt},
                [("file", ("a.wav", wav.getvalue(), "audio/wav"))])
    assert r.status_code == 200 and r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.text.startswith(start)
    r = _upload(client, "/audio/transcriptions", {"model": "gpt-4o-transcribe", "response_format": fmt},
                [("file", ("a.wav", wav.getvalue(), "audio/wav"))])
    assert r.status_code == (200 if fmt == "text" else 400)


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac", "wav", "pcm"])
def test_speech_is_chunked_audio_of_the_asked_type(fake_openai, client, fmt):
    body = {"model": "tts-1", "input": "one two three four five six seven eight nine ten", "voice": "alloy",
            "response_format": fmt}
    r = client.post("/audio/speech", json=body)
    assert r.status_code == 200 and r.headers["content-type"] == SPEECH_TYPES[fmt]
    assert r.headers["transfer-encoding"] == "chunked" and r.content == speech_audio(body["input"], fmt)
    pcm = 2 * int(24_000 * 0.1 * 10)
    assert len(r.content) == pcm + {"wav": 44, "pcm": 0, "mp3": 10, "opus": 6, "aac": 4, "flac": 8}[fmt]
    for bad in ({**body, "speed": 5}, {**body, "input": "x" * 4097}, {**body, "voice": None}, {**body, "response_format": "ogg"}):
        assert client.post("/audio/speech", json=bad).status_code == 400


MEDIA_REQUESTS = [
    ("/v1/embeddings", {"json": EMBED}),
    ("/v1/moderations", {"json": {"input": "x"}}),
    ("/v1/images/generations", {"json": {"prompt": "x"}}),
    ("/v1/images/edits", {"data": {"prompt": "x"}, "files": [("image", ("a.png", PNG, "image/png"))]}),
    ("/v1/images/variations", {"files": [("image", ("a.png", PNG, "image/png"))]}),
    ("/v1/audio/transcriptions", {"data": {"model": "whisper-1"}, "files": [("file", ("a.mp3", b"ID3" + bytes(99), "audio/mpeg"))]}),
    ("/v1/audio/translations", {"data": {"model": "whisper-1"}, "files": [("file", ("a.mp3", b"ID3" + bytes(99), "audio/mpeg"))]}),
    ("/v1/audio/speech", {"json": {"model": "tts-1", "input": "hi", "voice": "alloy"}}),
]


@pytest.mark.timing
@pytest.mark.parametrize("path,kw", MEDIA_REQUESTS, ids=[p for p, _ in MEDIA_REQUESTS])
def test_faults_apply_to_the_media_paths(fake_openai, path, kw):
    url = fake_openai.root_url + path
    fake_openai.enqueue_fault(Fault("status", 503, path=path), Fault("html", path=path),
                              Fault("slow_first_byte", delay=0.2, path=path), Fault("drop", path=path),
                              Fault("malformed", body=b"garbage", path=path), Fault("error_event", path=path))
    with httpx.Client(timeout=5) as c:
        assert c.post(url, **kw).status_code == 503
        html = c.post(url, **kw)
        assert html.status_code == 502 and html.headers["content-type"] == "text/html"
        started = time.monotonic()
        assert c.post(url, **kw).status_code == 200 and time.monotonic() - started >= 0.2
        with pytest.raises(httpx.RemoteProtocolError):
            c.post(url, **kw)
        assert c.post(url, **kw).content == b"garbage"
        assert "error" in c.post(url, **kw).json()
        assert c.post(url, **kw).status_code == 200  # all consumed
    assert fake_openai.faults == []


def test_faults_apply_to_files_and_match_form_fields(fake_openai, client):
    url = client.post("/images/generations", json={"prompt": "x"}).json()["data"][0]["url"]
    fake_openai.enqueue_fault(Fault("status", 403, path=httpx.URL(url).path, body="<Error>AuthenticationFailed</Error>",
                                    headers={"Content-Type": "application/xml"}))
    assert httpx.get(url, timeout=5).status_code == 403
    assert httpx.get(url, timeout=5).status_code == 200
    fake_openai.enqueue_fault(Fault("status", 500, when=lambda body: body.get("model") == "whisper-2"))
    audio = [("file", ("a.mp3", b"ID3", "audio/mpeg"))]
    assert _upload(client, "/audio/transcriptions", {"model": "whisper-1"}, audio).status_code == 200
    assert _upload(client, "/audio/transcriptions", {"model": "whisper-2"}, audio).status_code == 500


def test_azure_paths_are_served_with_the_deployment_as_model(fake_openai):
    fake_openai.require_key = "azkey"
    base = fake_openai.root_url + "/openai/deployments/my-embed/embeddings"
    with httpx.Client(timeout=5, headers={"api-key": "azkey"}) as c:
        r = c.post(base + "?api-version=2024-10-21", json={"input": "x"})
        assert r.status_code == 200 and r.json()["model"] == "my-embed"
        assert c.post(base, json={"input": "x"}).status_code == 404  # no api-version
        assert c.get(fake_openai.root_url + "/openai/models?api-version=2024-10-21").status_code == 200
        assert c.post(base + "?api-version=1", json={"input": "x"}, headers={"api-key": "wrong"}).status_code == 401


# -- recording -------------------------------------------------------------------------------


def test_requests_are_recorded_with_timings(fake_openai, client):
    client.post(CHAT, json=chat_body(stream=True), headers={"X-Custom": "Yes"})
    client.get("/models?limit=2")
    chat, models = fake_openai.wait_for_requests(2, timeout=2)
    assert (chat.method, chat.path, models.method, models.path, models.query) == (
        "POST", "/v1/chat/completions", "GET", "/v1/models", "limit=2")
    assert chat.headers["x-custom"] == "Yes" and all(k == k.lower() for k in chat.headers)
    assert chat.json == chat_body(stream=True)
    assert json.loads(chat.body) == chat.json and models.json is None and models.body == b""
    assert chat.t_arrival <= chat.t_first_byte <= chat.t_finish <= models.t_arrival
    assert chat.status == 200 and not chat.disconnected and chat.fault is None
    assert chat.chunks_sent == 3  # "Echo: hello there"


@pytest.mark.timing
def test_wait_for_requests_times_out_with_a_message(fake_openai):
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="requests: \\[\\]"):
        fake_openai.wait_for_requests(1, timeout=0.2)
    assert time.monotonic() - t0 < 1


def test_wait_for_wakes_on_a_request_from_another_thread(fake_openai):
    def later():
        time.sleep(0.05)
        httpx.get(fake_openai.base_url + "/models")

    threading.Thread(target=later).start()
    (rec,) = fake_openai.wait_for(lambda reqs: bool(reqs) and reqs[0].t_finish is not None, timeout=5)
    assert rec.status == 200


def test_keep_alive_reuses_one_connection(fake_openai, client):
    client.get("/models")
    client.post(CHAT, json=chat_body(stream=True))
    client.post(CHAT, json=chat_body())
    assert {r.connection_id for r in fake_openai.requests} == {1}
    assert fake_openai.connection_count == 1
    with httpx.Client(base_url=fake_openai.base_url) as other:
        other.get("/models")
    assert fake_openai.connection_count == 2
    assert fake_openai.last_request.connection_id == 2


def test_rate_paces_tokens(fake_openai, client):
    fake_openai.answer = "a b c d e"
    fake_openai.rate = 50  # 5 tokens -> about 0.1 s
    client.post(CHAT, json=chat_body(stream=True))
    rec = fake_openai.last_request
    assert 0.09 <= rec.t_finish - rec.t_first_byte < 1


def test_first_byte_delay(fake_openai, client):
    fake_openai.first_byte_delay = 0.15
    client.get("/models")
    rec = fake_openai.last_request
    assert rec.t_first_byte - rec.t_arrival >= 0.15


def test_client_leaving_mid_stream_is_recorded(fake_openai, client):
    fake_openai.answer = " ".join(["word"] * 200)
    fake_openai.rate = 100
    with client.stream("POST", CHAT, json=chat_body(stream=True)) as r:
        lines = r.iter_lines()
        while "word" not in next(lines):
            pass
    (rec,) = fake_openai.wait_for(lambda reqs: reqs[0].t_finish is not None, timeout=3)
    assert rec.disconnected and 0 < rec.chunks_sent < 200


# -- faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status,code,words", [
    (400, "context_length_exceeded", "maximum context length is 128000 tokens"),
    (401, "invalid_api_key", "Incorrect API key provided: sk-"),
    (403, "unsupported_country_region_territory", "not supported"),
    (429, "rate_limit_exceeded", "Rate limit reached for gpt-4o-mini"),
    (500, None, "The server had an error"),
])
def test_status_fault_default_bodies(fake_openai, client, status, code, words):
    fake_openai.enqueue_fault(Fault("status", status))
    r = client.post(CHAT, json=chat_body())
    assert r.status_code == status
    error = r.json()["error"]
    assert error["code"] == code and words in error["message"]
    assert set(error) == {"message", "type", "param", "code"}
    assert client.post(CHAT, json=chat_body()).status_code == 200  # consumed


def test_status_fault_headers_and_body(fake_openai, client):
    fake_openai.enqueue_fault(Fault("status", 429, headers={"Retry-After": "2", "retry-after-ms": "1500"},
                                    body={"error": {"message": "slow down", "type": "requests",
                                                    "param": None, "code": "rate_limit_exceeded"}}))
    r = client.post(CHAT, json=chat_body(stream=True))
    assert r.status_code == 429
    assert r.headers["retry-after"] == "2" and r.headers["retry-after-ms"] == "1500"
    assert r.json()["error"]["message"] == "slow down"
    assert fake_openai.last_request.fault.kind == "status"


def test_html_fault(fake_openai, client):
    fake_openai.enqueue_fault(Fault("html"))
    r = client.post(CHAT, json=chat_body())
    assert r.status_code == 502
    assert r.headers["content-type"] == "text/html"
    assert "<title>502 Bad Gateway</title>" in r.text and "nginx" in r.text


def test_faults_are_fifo_and_match_paths(fake_openai, client):
    fake_openai.enqueue_fault(Fault("status", 500, path="/v1/chat/completions"), Fault("status", 503))
    assert client.get("/models").status_code == 503  # the first fault does not match
    assert client.post(CHAT, json=chat_body()).status_code == 500
    assert client.post(CHAT, json=chat_body()).status_code == 200
    assert fake_openai.faults == []


@pytest.mark.parametrize("reset", [False, True])
def test_drop_fault_mid_stream(fake_openai, client, reset):
    fake_openai.answer = "a b c d e"
    fake_openai.enqueue_fault(Fault("drop", after=2, reset=reset))
    received = ""
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        with client.stream("POST", CHAT, json=chat_body(stream=True)) as r:
            for chunk in r.iter_text():
                received += chunk
    assert content_of([json.loads(d) for d in sse_data(received)]) == "a b "
    rec = fake_openai.wait_for(lambda reqs: reqs[0].t_finish is not None)[0]
    assert rec.chunks_sent == 2 and not rec.disconnected
    assert client.post(CHAT, json=chat_body()).status_code == 200  # the client recovers


def test_drop_fault_leaves_the_chunked_body_unterminated(fake_openai):
    fake_openai.answer = "a b c"
    fake_openai.enqueue_fault(Fault("drop", after=1))
    chunks, terminated = dechunk(raw_request(fake_openai, chat_body(stream=True)))
    assert not terminated and len(chunks) == 2  # role + one token


def test_drop_fault_on_a_whole_body(fake_openai, client):
    fake_openai.enqueue_fault(Fault("drop"))
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(CHAT, json=chat_body())


def test_malformed_fault(fake_openai, client):
    fake_openai.answer = "a b c"
    fake_openai.enqueue_fault(Fault("malformed", after=1))
    data = sse_data(client.post(CHAT, json=chat_body(stream=True)).text)
    assert data[-1] == "[DONE]"
    bad = [d for d in data if not _is_json(d) and d != "[DONE]"]
    assert len(bad) == 1 and data.index(bad[0]) == 2  # role, one token, then the bad one
    assert content_of([json.loads(d) for d in data[:-1] if _is_json(d)]) == "a b c"
    fake_openai.enqueue_fault(Fault("malformed"))
    r = client.post(CHAT, json=chat_body())
    assert r.status_code == 200 and not _is_json(r.text)


def test_error_event_fault(fake_openai, client):
    fake_openai.answer = "a b c"
    fake_openai.enqueue_fault(Fault("error_event", after=2))
    data = sse_data(client.post(CHAT, json=chat_body(stream=True)).text)
    assert "[DONE]" not in data
    assert json.loads(data[-1]) == {"error": {"message": "The server had an error while processing your "
                                              "request. Sorry about that!", "type": "server_error",
                                              "param": None, "code": None}}
    assert content_of([json.loads(d) for d in data[:-1]]) == "a b "
    fake_openai.enqueue_fault(Fault("error_event", body={"message": "custom", "type": "x", "param": None,
                                                          "code": None}))
    r = client.post(CHAT, json=chat_body())
    assert r.status_code == 200 and r.json()["error"]["message"] == "custom"


def test_slow_first_byte_fault(fake_openai, client):
    fake_openai.enqueue_fault(Fault("slow_first_byte", delay=0.2))
    assert client.post(CHAT, json=chat_body()).status_code == 200
    rec = fake_openai.last_request
    assert rec.t_first_byte - rec.t_arrival >= 0.2
    with pytest.raises(httpx.ReadTimeout):
        fake_openai.enqueue_fault(Fault("slow_first_byte", delay=2))
        client.post(CHAT, json=chat_body(), timeout=0.1)


def test_hang_fault_times_out_and_records_the_departure(fake_openai, client):
    fake_openai.enqueue_fault(Fault("hang"))
    with pytest.raises(httpx.ReadTimeout):
        client.post(CHAT, json=chat_body(), timeout=0.2)
    (rec,) = fake_openai.wait_for(lambda reqs: reqs[0].t_finish is not None, timeout=3)
    assert rec.t_first_byte is None and rec.status is None and rec.disconnected


def test_unknown_fault_kind_is_rejected():
    assert set(FAULT_KINDS) == {"status", "html", "drop", "malformed", "error_event",
                                "slow_first_byte", "hang", "stall", "inject"}
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("explode")


def test_stall_goes_silent_after_some_chunks(fake_openai):
    fake_openai.answer = "one two three four"
    fake_openai.enqueue_fault(Fault("stall", after=2))
    got = []
    with httpx.Client(base_url=fake_openai.base_url, timeout=httpx.Timeout(5, read=0.5)) as c:
        with pytest.raises(httpx.ReadTimeout):
            with c.stream("POST", "/chat/completions", json=chat_body(stream=True)) as r:
                for line in r.iter_lines():
                    if line.startswith("data: {"):
                        got.append(json.loads(line[6:]))
    assert content_of(got) == "one two "  # the role chunk and two token chunks, then silence


def test_inject_sends_extra_events_then_goes_on(fake_openai, client):
    fake_openai.answer = "one two"
    fake_openai.enqueue_fault(Fault("inject", after=1, events=({"note": 1}, "raw text")))
    data = sse_data(client.post("/chat/completions", json=chat_body(stream=True)).text)
    assert data[2:4] == ['{"note":1}', "raw text"] or data[2:4] == ['{"note": 1}', "raw text"]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1] if d.startswith('{"id"')]
    assert content_of(chunks) == "one two"


# -- stopping --------------------------------------------------------------------------------


@pytest.mark.timing
@pytest.mark.parametrize("situation", ["hang", "mid_stream", "idle_keep_alive"])
def test_stop_is_prompt_with_a_client_connected(situation):
    server = FakeOpenAI(answer=" ".join(["w"] * 1000), rate=5).start()
    errors: list[BaseException] = []
    client = httpx.Client(base_url=server.base_url, timeout=30)

    def talk():
        try:
            if situation == "idle_keep_alive":
                client.get("/models")
            else:
                client.post(CHAT, json=chat_body(stream=True))
        except httpx.HTTPError as e:
            errors.append(e)

    if situation == "hang":
        server.enqueue_fault(Fault("hang"))
    thread = threading.Thread(target=talk)
    thread.start()
    server.wait_for(lambda reqs: bool(reqs) and (situation == "hang" or reqs[0].t_first_byte is not None))
    if situation == "idle_keep_alive":
        thread.join(5)
    t0 = time.monotonic()
    server.stop()
    assert time.monotonic() - t0 < 1.0
    thread.join(5)
    assert not thread.is_alive()
    if situation != "idle_keep_alive":
        assert errors  # the client saw the connection end
        assert not server.requests[0].disconnected  # we left, not the client
    client.close()
    with pytest.raises(RuntimeError):
        server.base_url


def test_standalone_prints_base_url_and_serves():
    script = Path(__file__).with_name("fake_openai.py")
    command = [sys.executable, str(script), "--port", "0", "--answer", "From CLI", "--quiet"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            base_url = proc.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
            r = httpx.post(base_url + CHAT, json=chat_body(), timeout=5)
            assert r.json()["choices"][0]["message"]["content"] == "From CLI"
        finally:
            proc.terminate()
            assert proc.wait(5) == 0


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_audio_uploads_are_checked_like_openai_does(fake_openai, client):
    refused = _upload(client, "/audio/transcriptions", {"model": "whisper-1"}, [("file", ("notes.txt", b"hello", "text/plain"))])
    assert refused.status_code == 400 and refused.json()["error"]["message"].startswith("Invalid file format.")
    assert refused.json()["error"]["param"] == "file"
    cut = _upload(client, "/audio/transcriptions", {"model": "whisper-1"}, [("file", ("a.wav", b"RIFF\x00\x00WAVEfmt ", "audio/wav"))])
    assert cut.status_code == 400 and "corrupted or unsupported" in cut.json()["error"]["message"]


def test_streamed_transcription_events(fake_openai, client):
    wav = io.BytesIO()
    with wave.open(wav, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000), w.writeframes(bytes(8000))
    fake_openai.transcript = "Two words."
    r = _upload(client, "/audio/transcriptions", {"model": "gpt-4o-mini-transcribe", "stream": "true"},
                [("file", ("a.wav", wav.getvalue(), "audio/wav"))])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
    assert [(e["type"], e.get("delta", e.get("text"))) for e in events] == [
        ("transcript.text.delta", "Two "), ("transcript.text.delta", "words."), ("transcript.text.done", "Two words.")]
    whisper = _upload(client, "/audio/transcriptions", {"model": "whisper-1", "stream": "true"},
                      [("file", ("a.wav", wav.getvalue(), "audio/wav"))])
    assert whisper.json() == {"text": "Two words.", "usage": {"type": "duration", "seconds": 1}}  # whisper-1 ignores stream


# -- structured output: answers made from the request's schema ---------------------------------

SCHEMAS = [
    {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 18},
                                      "email": {"type": "string", "format": "email"}},
     "required": ["name", "age", "email"], "additionalProperties": False},
    {"type": "object",
     "properties": {"items": {"type": "array", "minItems": 2, "items": {"$ref": "#/$defs/item"}},
                    "status": {"enum": ["open", "closed"]}, "note": {"type": ["string", "null"], "maxLength": 3}},
     "required": ["items", "status", "note"], "additionalProperties": False,
     "$defs": {"item": {"type": "object", "properties": {"sku": {"type": "string", "minLength": 8},
                                                         "price": {"type": "number", "exclusiveMinimum": 0, "maximum": 10},
                                                         "qty": {"type": "integer", "multipleOf": 5, "minimum": 1},
                                                         "gift": {"type": "boolean"}},
                        "required": ["sku", "price", "qty", "gift"], "additionalProperties": False}}},
    {"type": "object", "properties": {"v": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"x": {"const": 3}},
                                                                          "required": ["x"], "additionalProperties": False}]},
                                      "t": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "boolean"}]}},
     "required": ["v", "t"], "additionalProperties": False},
    {"type": "object", "properties": {"tree": {"$ref": "#"}}, "additionalProperties": False},  # recursive
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_schema_answers_conform_violate_or_are_cut(fake_openai, schema):
    from jsonschema import Draft202012Validator

    fmt = {"type": "json_schema", "json_schema": {"name": "s", "schema": schema, "strict": True}}
    validator = Draft202012Validator(schema)
    answers = {}
    for mode in ("valid", "violate", "cut"):
        fake_openai.schema_answer = mode
        r = httpx.post(fake_openai.base_url + CHAT, json=chat_body(response_format=fmt, stream=True))
        answers[mode] = content_of(stream_chunks(r.text))
    valid = json.loads(answers["valid"])
    assert list(validator.iter_errors(valid)) == [], answers["valid"]
    assert list(validator.iter_errors(json.loads(answers["violate"])))
    with pytest.raises(json.JSONDecodeError):
        json.loads(answers["cut"])
    assert answers["valid"].startswith(answers["cut"])


def test_schema_answer_is_whole_too_and_an_explicit_answer_wins(fake_openai):
    fmt = {"type": "json_schema", "json_schema": {"name": "s", "schema": SCHEMAS[0]}}
    whole = httpx.post(fake_openai.base_url + CHAT, json=chat_body(response_format=fmt, n=2)).json()
    texts = [c["message"]["content"] for c in whole["choices"]]
    assert texts[0] == texts[1] and json.loads(texts[0]) == {"name": "name", "age": 18, "email": "ada@example.com"}
    fake_openai.answer = "not json"
    whole = httpx.post(fake_openai.base_url + CHAT, json=chat_body(response_format=fmt)).json()
    assert whole["choices"][0]["message"]["content"] == "not json"
    fake_openai.answer = None
    plain = httpx.post(fake_openai.base_url + CHAT, json=chat_body("hi", response_format={"type": "json_object"})).json()
    assert json.loads(plain["choices"][0]["message"]["content"]) == {"answer": "Echo: hi"}
