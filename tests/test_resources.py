"""The embeddings, moderations, images and audio resources against the fake server on a loopback
socket: request bodies (JSON or multipart form) checked against OpenAI's spec, responses parsed
as the app will use them, typed errors, and parameters refused before anything is sent."""

from __future__ import annotations

import base64
import io
import math
import struct
import wave
from typing import Any

import httpx
import pytest
from fake_openai import (
    Fault,
    FakeOpenAI,
    embedding_vector,
    openai_error,
    result_image,
    speech_audio,
    split_tokens,
    tiny_png,
)
from openapi_spec import json_schema_document, validate_request, violations

from chat_tui.api import errors
from chat_tui.api.client import OpenAIClient
from chat_tui.api.resources.images import Image
from chat_tui.core.config import Endpoint
from chat_tui.core.params.audio import SpeechParams, TranscriptionParams
from chat_tui.core.params.base import ParamError
from chat_tui.core.params.embeddings import EmbeddingParams
from chat_tui.core.params.images import ImageParams

KEY = "sk-test-resources-0123456789"
EMBED = "text-embedding-3-small"


def client_for(server: FakeOpenAI, **kw: Any) -> OpenAIClient:
    endpoint = Endpoint(name="test", base_url=server.base_url, api_key=kw.pop("key", KEY),
                        headers=kw.pop("headers", {}))
    kw.setdefault("backoff_base", 0.01)
    return OpenAIClient(endpoint, **kw)


def replay(server: FakeOpenAI, rec) -> httpx.Response:
    """The recorded request sent again byte for byte: the fake answers deterministically, so this
    is the response the client parsed, to check against the spec's response schema."""
    query = f"?{rec.query}" if rec.query else ""
    headers = {k: v for k, v in rec.headers.items() if k in ("content-type", "authorization", "api-key")}
    return httpx.request(rec.method, f"{server.root_url}{rec.path}{query}", content=rec.body, headers=headers, timeout=5)


def _types(schema: Any) -> set[str]:
    """The JSON types a (rewritten) schema allows, through $ref and anyOf/oneOf/allOf."""
    if not isinstance(schema, dict):
        return set()
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = json_schema_document()
        for part in ref[2:].split("/"):
            node = node[part]
        return _types(node)
    found = set([schema["type"]] if isinstance(schema.get("type"), str) else schema.get("type") or [])
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            found |= _types(sub)
    return found


def _typed(value: str, schema: Any) -> Any:
    """A multipart value (always a string) as the JSON value the schema describes."""
    types = _types(schema)
    if "integer" in types and value.lstrip("-").isdigit():
        return int(value)
    if "number" in types:
        try:
            return float(value)
        except ValueError:
            return value
    if "boolean" in types and value in ("true", "false"):
        return value == "true"
    return value


def form_as_body(schema_name: str, rec) -> dict[str, Any]:
    """A recorded multipart request as the body its schema describes: text fields typed by the
    schema, `name[]` fields as arrays, each file as its filename (the spec's binary string)."""
    properties = json_schema_document()["components"]["schemas"][schema_name].get("properties", {})
    body: dict[str, Any] = {}
    for name, value in rec.form.items():
        key = name.removesuffix("[]")
        schema = properties.get(key, {})
        if name.endswith("[]") or isinstance(value, list):
            items = schema.get("items", {}) if isinstance(schema, dict) else {}
            body[key] = [_typed(v, items) for v in (value if isinstance(value, list) else [value])]
        else:
            body[key] = _typed(value, schema)
    for upload in rec.files:
        if upload.name.endswith("[]"):
            body.setdefault(upload.name[:-2], []).append(upload.filename)
        else:
            body[upload.name] = upload.filename
    return body


def files_of(rec) -> list[tuple[str, str, str, int]]:
    return [(f.name, f.filename, f.content_type, f.size) for f in rec.files]


def wav_bytes(seconds: float, rate: int = 16_000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(rate * seconds))
    return out.getvalue()


# -- embeddings ---------------------------------------------------------------------------------


async def test_embeddings_travel_as_base64_and_decode_to_the_float_vectors(fake_openai):
    texts = ["The quick brown fox", "jumps over", "the lazy dog"]
    async with client_for(fake_openai) as client:
        packed = await client.embeddings.create(texts, EMBED)
        plain = await client.embeddings.create(texts, EMBED, EmbeddingParams.from_options([("encoding_format", "float")]))
    first, second = fake_openai.requests
    assert first.json == {"model": EMBED, "input": texts, "encoding_format": "base64"}
    assert second.json["encoding_format"] == "float"
    for rec in (first, second):
        validate_request("CreateEmbeddingRequest", rec.json)
        assert rec.headers["authorization"] == f"Bearer {KEY}" and rec.path == "/v1/embeddings"
    wire = replay(fake_openai, first).json()
    assert all(isinstance(item["embedding"], str) for item in wire["data"])  # really base64
    assert violations("CreateEmbeddingResponse", replay(fake_openai, second).json(), strict=False) == []
    # float32 on the wire either way: the decoded vectors are the float ones, exactly
    assert packed.vectors == plain.vectors == [embedding_vector(t, 1536) for t in texts]
    assert all(len(v) == 1536 and math.isclose(sum(x * x for x in v), 1, rel_tol=1e-5) for v in packed.vectors)
    assert packed.model == EMBED
    assert packed.prompt_tokens == plain.prompt_tokens == sum(len(split_tokens(t)) for t in texts) == 9


async def test_a_single_string_is_one_embedding(fake_openai):
    async with client_for(fake_openai) as client:
        result = await client.embeddings.create("hello world", "text-embedding-3-large")
    assert fake_openai.last_request.json["input"] == "hello world"
    assert result.vectors == [embedding_vector("hello world", 3072)] and result.prompt_tokens == 2


async def test_dimensions_shorten_the_vector_and_keep_it_unit_length(fake_openai):
    params = EmbeddingParams.from_options([("dimensions", 256)])
    async with client_for(fake_openai) as client:
        short = (await client.embeddings.create(["alpha"], EMBED, params)).vectors[0]
        full = (await client.embeddings.create(["alpha"], EMBED)).vectors[0]
    body = fake_openai.requests[0].json
    assert body["dimensions"] == 256
    validate_request("CreateEmbeddingRequest", body)
    assert len(short) == 256 and len(full) == 1536
    norm = math.sqrt(sum(x * x for x in full[:256]))
    assert short == pytest.approx([x / norm for x in full[:256]], rel=1e-5, abs=1e-7)


async def test_embeddings_come_back_in_input_order_whatever_the_server_order(fake_openai):
    fake_openai.embeddings_reversed = True
    texts = ["one", "two", "three", "four"]
    async with client_for(fake_openai) as client:
        result = await client.embeddings.create(texts, EMBED)
    assert [item["index"] for item in replay(fake_openai, fake_openai.last_request).json()["data"]] == [3, 2, 1, 0]
    assert result.vectors == [embedding_vector(t, 1536) for t in texts]


@pytest.mark.parametrize("build", [
    lambda: EmbeddingParams.from_options([("encoding_format", "hex")]),
    lambda: EmbeddingParams.from_options([("dimensions", 0)]),
    lambda: EmbeddingParams.from_options([("dimensions", 12.5)]),
    lambda: EmbeddingParams.from_options([("dimensoins", 12)]),
])
async def test_embedding_parameters_are_refused_when_set(fake_openai, build):
    with pytest.raises(ParamError):
        build()
    assert fake_openai.requests == []


@pytest.mark.parametrize("inputs,model,needle", [
    (["x"] * 2049, EMBED, "1 to 2048 inputs"),
    ([], EMBED, "1 to 2048 inputs"),
    ("", EMBED, "empty string"),
    (["ok", ""], EMBED, "non-empty string"),
    (["ok"], "", "no model"),
])
async def test_embedding_inputs_are_checked_before_sending(fake_openai, inputs, model, needle):
    async with client_for(fake_openai) as client:
        with pytest.raises(ParamError, match=needle):
            await client.embeddings.create(inputs, model)
        assert len((await client.embeddings.create(["x"] * 2048, EMBED)).vectors) == 2048  # the limit itself is fine
    assert len(fake_openai.requests) == 1


def _embeddings_body(*embeddings: Any) -> dict[str, Any]:
    return {"object": "list", "model": EMBED, "usage": {"prompt_tokens": 1, "total_tokens": 1},
            "data": [{"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(embeddings)]}


@pytest.mark.parametrize("fault,needle", [
    (Fault("malformed"), "expected JSON"),
    (Fault("status", status=200, body={"object": "list", "data": None}), "no data list"),
    (Fault("status", status=200, body=_embeddings_body([0.5])), "asked for 2 embeddings, got 1"),
    (Fault("status", status=200, body=_embeddings_body("AAAAAA==", "AAA=")), "whole number of float32"),
    (Fault("status", status=200, body=_embeddings_body("AAAAAA==", "not base64!")), "not valid base64"),
    (Fault("status", status=200, body=_embeddings_body([0.1], ["a"])), "neither a list of numbers"),
    (Fault("drop"), "connection failed"),
    (Fault("error_event"), "had an error"),
])
async def test_malformed_embeddings_responses_are_stream_errors(fake_openai, fault, needle):
    fake_openai.enqueue_fault(fault)
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.APIError, match=needle) as info:
            await client.embeddings.create(["a", "b"], EMBED)
    expected = errors.ServerError if fault.kind == "error_event" else errors.StreamError
    assert type(info.value) is expected and len(fake_openai.requests) == 1


async def test_embeddings_on_azure_put_the_deployment_in_the_path(fake_openai):
    fake_openai.require_key = "azkey"
    endpoint = Endpoint(name="az", type="azure", base_url=fake_openai.root_url, api_key="azkey", api_version="2024-10-21")
    async with OpenAIClient(endpoint) as client:
        result = await client.embeddings.create(["hello"], "my-embedding-deployment")
    rec = fake_openai.last_request
    assert rec.path == "/openai/deployments/my-embedding-deployment/embeddings"
    assert rec.query == "api-version=2024-10-21"
    assert rec.headers["api-key"] == "azkey" and "authorization" not in rec.headers
    validate_request("CreateEmbeddingRequest", rec.json)
    assert result.vectors == [embedding_vector("hello", 1536)]


async def test_an_azure_endpoint_needs_a_deployment_name(fake_openai):
    endpoint = Endpoint(name="az", type="azure", base_url=fake_openai.root_url, api_key="azkey", api_version="2024-10-21")
    async with OpenAIClient(endpoint) as client:
        with pytest.raises(ParamError, match="deployment"):
            await client.images.generate("a cat")  # model None: no deployment to put in the path
        with pytest.raises(ParamError, match="deployment"):
            await client.moderations.create("hello")
    assert fake_openai.requests == []


async def test_embeddings_are_retried_after_a_429(fake_openai):
    fake_openai.enqueue_fault(Fault("status", status=429, headers={"retry-after-ms": "10"}, path="/v1/embeddings"))
    seen = []
    async with client_for(fake_openai) as client:
        result = await client.embeddings.create(["x"], EMBED, on_retry=lambda e, wait, n: seen.append((type(e), n)))
    assert seen == [(errors.RateLimitError, 1)] and len(result.vectors) == 1
    assert [r.status for r in fake_openai.requests] == [429, 200]


# -- moderations --------------------------------------------------------------------------------


async def test_moderation_flags_the_inputs_with_the_word(fake_openai):
    fake_openai.flag_word = "dynamite"
    fake_openai.flag_category = "illicit/violent"
    texts = ["Good morning", "Where can I buy DYNAMITE?", "A walk in the park"]
    async with client_for(fake_openai) as client:
        results = await client.moderations.create(texts)
        named = await client.moderations.create("dynamite", model="omni-moderation-latest")
    first, second = fake_openai.requests
    assert first.json == {"input": texts}  # no model: the server's default
    assert second.json == {"input": "dynamite", "model": "omni-moderation-latest"}
    for rec in (first, second):
        validate_request("CreateModerationRequest", rec.json)
        assert violations("CreateModerationResponse", replay(fake_openai, rec).json(), strict=False) == []
    assert [r.flagged for r in results] == [False, True, False]
    flagged = results[1]
    assert [c for c, on in flagged.categories.items() if on] == ["illicit/violent"]
    assert flagged.scores["illicit/violent"] == 0.97 and max(results[0].scores.values()) < 0.01
    assert len(flagged.categories) == len(flagged.scores) == 13
    assert [r.flagged for r in named] == [True]


@pytest.mark.parametrize("inputs", [[], [1, 2], ["ok", None]])
async def test_moderation_inputs_are_checked_before_sending(fake_openai, inputs):
    async with client_for(fake_openai) as client:
        with pytest.raises(ParamError, match="input"):
            await client.moderations.create(inputs)
    assert fake_openai.requests == []


async def test_a_moderation_response_without_results_is_a_stream_error(fake_openai):
    fake_openai.enqueue_fault(Fault("status", status=200, body={"id": "modr-1", "model": "m", "results": {}}))
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.StreamError, match="no results list"):
            await client.moderations.create("hello")


# -- images -------------------------------------------------------------------------------------


async def test_a_url_result_is_fetched_without_the_key_or_endpoint_headers(fake_openai):
    fake_openai.require_key = KEY  # the API asks for the key; the file host must never see it
    params = ImageParams.from_options([("n", 2), ("size", "256x256"), ("user", "tester")])
    async with client_for(fake_openai, headers={"OpenAI-Organization": "org-secret"}) as client:
        result = await client.images.generate("A red apple on a table", "dall-e-2", params)
        fetched = [await client.images.fetch(image) for image in result.images]
    api_request, *downloads = fake_openai.requests
    assert api_request.json == {"prompt": "A red apple on a table", "model": "dall-e-2", "n": 2,
                                "size": "256x256", "user": "tester"}
    validate_request("CreateImageRequest", api_request.json)
    assert violations("ImagesResponse", replay(fake_openai, api_request).json(), strict=False) == []
    assert api_request.authorized and api_request.headers["authorization"] == f"Bearer {KEY}"
    assert result.created == fake_openai.created and len(result.images) == 2
    assert all(image.url.startswith(f"{fake_openai.root_url}/files/") for image in result.images)
    assert [d.path for d in downloads] == [httpx.URL(image.url).path for image in result.images]
    for download in downloads:
        assert download.method == "GET" and download.status == 200
        assert not download.authorized and "openai-organization" not in download.headers
        assert KEY not in str(download.headers) and "org-secret" not in str(download.headers)
    for i, (data, content_type) in enumerate(fetched):
        assert content_type == "image/png"
        assert data == result_image("dall-e-2", "A red apple on a table", i) and data.startswith(b"\x89PNG\r\n\x1a\n")
    assert fetched[0][0] != fetched[1][0]


async def test_a_b64_result_decodes_to_the_image_a_url_points_at(fake_openai):
    async with client_for(fake_openai) as client:
        by_url = await client.images.generate("A lighthouse", "dall-e-3")
        by_b64 = await client.images.generate("A lighthouse", "dall-e-3", ImageParams(response_format="b64_json"))
        from_url = await client.images.fetch(by_url.images[0])
        requests_before = len(fake_openai.requests)
        from_b64 = await client.images.fetch(by_b64.images[0])
    assert len(fake_openai.requests) == requests_before  # decoded, not downloaded
    assert by_b64.images[0].url is None and by_url.images[0].b64_json is None
    assert from_b64 == from_url == (result_image("dall-e-3", "A lighthouse", 0), "image/png")
    assert by_url.images[0].revised_prompt == by_b64.images[0].revised_prompt == (
        "A lighthouse, in a detailed digital illustration")
    validate_request("CreateImageRequest", fake_openai.requests[1].json)


@pytest.mark.parametrize("fmt,content_type", [("png", "image/png"), ("jpeg", "image/jpeg"), ("webp", "image/webp")])
async def test_gpt_image_results_carry_the_type_of_their_output_format(fake_openai, fmt, content_type):
    params = ImageParams.from_options([("output_format", fmt), ("quality", "low"), ("background", "opaque"),
                                       ("output_compression", 80), ("moderation", "low")])
    async with client_for(fake_openai) as client:
        result = await client.images.generate("A blue bird", "gpt-image-1", params)
        data, ctype = await client.images.fetch(result.images[0])
    validate_request("CreateImageRequest", fake_openai.last_request.json)
    assert violations("ImagesResponse", replay(fake_openai, fake_openai.last_request).json(), strict=False) == []
    assert result.images[0].url is None and data == result_image("gpt-image-1", "A blue bird", 0, output_format=fmt)
    assert ctype == content_type
    assert result.usage["total_tokens"] == result.usage["input_tokens"] + result.usage["output_tokens"] > 0


async def test_b64_bytes_of_an_unknown_format_are_not_called_png(fake_openai):
    async with client_for(fake_openai) as client:
        data, ctype = await client.images.fetch(Image(b64_json=base64.b64encode(b"GIF89a\x01\x00").decode()))
    assert (data, ctype) == (b"GIF89a\x01\x00", "application/octet-stream")


async def test_an_edit_uploads_the_image_and_mask_as_a_multipart_form(fake_openai):
    photo, mask = tiny_png("photo"), tiny_png("mask") + b"\r\n--boundary-like\r\n\x00"
    params = ImageParams.from_options([("n", 2), ("size", "512x512"), ("response_format", "b64_json")])
    async with client_for(fake_openai) as client:
        result = await client.images.edit([("photo.png", photo, "image/png")], "Add a party hat", "dall-e-2",
                                          params, mask=("mask.png", mask, "image/png"))
    rec = fake_openai.last_request
    assert rec.path == "/v1/images/edits" and rec.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert rec.form == {"prompt": "Add a party hat", "model": "dall-e-2", "n": "2", "size": "512x512",
                        "response_format": "b64_json"}
    validate_request("CreateImageEditRequest", form_as_body("CreateImageEditRequest", rec))
    assert files_of(rec) == [("image", "photo.png", "image/png", len(photo)), ("mask", "mask.png", "image/png", len(mask))]
    assert [f.data for f in rec.files] == [photo, mask]
    assert violations("ImagesResponse", replay(fake_openai, rec).json(), strict=False) == []
    assert len(result.images) == 2 and all(image.b64_json for image in result.images)
    async with client_for(fake_openai) as client:
        data, ctype = await client.images.fetch(result.images[1])
    assert ctype == "image/png" and data == result_image("dall-e-2", "Add a party hat", 1, [photo])


async def test_an_edit_of_several_images_sends_an_image_array(fake_openai):
    images = [(f"item{i}.png", tiny_png(f"item{i}"), "image/png") for i in range(3)]
    async with client_for(fake_openai) as client:
        result = await client.images.edit(images, "Put them in a gift basket", "gpt-image-1",
                                          ImageParams.from_options([("quality", "high")]))
    rec = fake_openai.last_request
    body = form_as_body("CreateImageEditRequest", rec)
    assert body["image"] == ["item0.png", "item1.png", "item2.png"]
    validate_request("CreateImageEditRequest", body)
    assert files_of(rec) == [("image[]", name, "image/png", len(data)) for name, data, _ in images]
    assert len(result.images) == 1 and result.usage["input_tokens_details"]["image_tokens"] > 0


async def test_a_variation_uploads_one_image(fake_openai):
    source = tiny_png("cat")
    params = ImageParams.from_options([("n", 3), ("size", "256x256")])
    async with client_for(fake_openai) as client:
        result = await client.images.create_variation(("cat.png", source, "image/png"), "dall-e-2", params)
        fetched = await client.images.fetch(result.images[2])
    rec = fake_openai.requests[0]
    assert rec.path == "/v1/images/variations" and rec.form == {"model": "dall-e-2", "n": "3", "size": "256x256"}
    validate_request("CreateImageVariationRequest", form_as_body("CreateImageVariationRequest", rec))
    assert files_of(rec) == [("image", "cat.png", "image/png", len(source))]
    assert len(result.images) == 3 and fetched[0].startswith(b"\x89PNG") and fetched[1] == "image/png"


async def test_a_400_on_images_is_a_bad_request_error_with_the_servers_message(fake_openai):
    message = ("Your request was rejected as a result of our safety system. Your prompt may contain text "
               "that is not allowed by our safety system.")
    fake_openai.enqueue_fault(Fault("status", status=400, path="/v1/images/generations",
                                    body=openai_error(message, code="content_policy_violation")))
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.BadRequestError) as info:
            await client.images.generate("something", "dall-e-3")
        with pytest.raises(errors.BadRequestError) as upload:  # the server's own check of an upload
            await client.images.create_variation(("notes.txt", b"not an image", "text/plain"), "dall-e-2")
    assert info.value.status == 400 and info.value.message == message and info.value.code == "content_policy_violation"
    assert upload.value.message == "Uploaded image must be a PNG and less than 4 MB." and upload.value.param == "image"
    assert [r.status for r in fake_openai.requests] == [400, 400]  # a 400 is not retried


@pytest.mark.parametrize("name,value,needle", [
    ("n", 11, "between 1 and 10"),
    ("n", 0, "between 1 and 10"),
    ("quality", "ultra", "expected one of"),
    ("response_format", "png", "expected one of"),
    ("output_compression", 101, "between 0 and 100"),
])
def test_image_parameters_are_refused_when_set(name, value, needle):
    with pytest.raises(ParamError, match=needle) as info:
        ImageParams.from_options([(name, value)])
    assert info.value.param == name


async def test_image_requests_are_checked_before_sending(fake_openai):
    png = ("a.png", tiny_png("a"), "image/png")
    async with client_for(fake_openai) as client:
        with pytest.raises(ParamError, match="prompt"):
            await client.images.generate("", "dall-e-2")
        with pytest.raises(ParamError, match="prompt"):
            await client.images.edit([png], "", "dall-e-2")
        with pytest.raises(ParamError, match="at least one image") as none:
            await client.images.edit([], "a hat", "dall-e-2")
        with pytest.raises(ParamError, match="16") as many:
            await client.images.edit([png] * 17, "a hat", "gpt-image-1")
    assert none.value.param == many.value.param == "image"
    assert fake_openai.requests == []


async def test_image_results_that_cannot_be_fetched(fake_openai):
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.StreamError, match="not valid base64"):
            await client.images.fetch(Image(b64_json="%%%"))
        with pytest.raises(errors.StreamError, match="neither a url nor b64_json"):
            await client.images.fetch(Image())
        assert fake_openai.requests == []
        with pytest.raises(errors.NotFoundError) as expired:
            await client.images.fetch(Image(url=f"{fake_openai.root_url}/files/expired.png"))
        image = (await client.images.generate("a cat", "dall-e-2")).images[0]
        fake_openai.enqueue_fault(Fault("drop", path=httpx.URL(image.url).path))
        with pytest.raises(errors.APIConnectionError, match="cannot download"):
            await client.images.fetch(image)
        fake_openai.enqueue_fault(Fault("status", status=403, path=httpx.URL(image.url).path,
                                        body="<Error><Code>AuthenticationFailed</Code></Error>"))
        with pytest.raises(errors.PermissionDeniedError):
            await client.images.fetch(image)
    assert expired.value.status == 404 and "BlobNotFound" in expired.value.message
    assert [(r.path.startswith("/files/"), r.authorized) for r in fake_openai.requests] == [
        (True, False), (False, True), (True, False), (True, False)]


@pytest.mark.parametrize("fault,needle", [
    (Fault("malformed"), "expected JSON"),
    (Fault("status", status=200, body={"created": 1}), "no data list"),
    (Fault("status", status=200, body={"created": 1, "data": ["http://x/a.png"]}), "not an object"),
])
async def test_malformed_images_responses_are_stream_errors(fake_openai, fault, needle):
    fake_openai.enqueue_fault(fault)
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.StreamError, match=needle):
            await client.images.generate("a cat", "dall-e-2")


# -- audio --------------------------------------------------------------------------------------


async def test_a_transcription_uploads_the_file_with_its_parameters(fake_openai):
    fake_openai.transcript = "Hello there. How are you today?"
    audio = wav_bytes(1.5)
    params = TranscriptionParams.from_options([("language", "en"), ("prompt", "Names: Ada"), ("temperature", 0.2)])
    async with client_for(fake_openai) as client:
        transcript = await client.audio.transcribe(("hello.wav", audio, "audio/wav"), "whisper-1", params)
    rec = fake_openai.last_request
    assert rec.path == "/v1/audio/transcriptions" and rec.authorized
    assert rec.form == {"model": "whisper-1", "language": "en", "prompt": "Names: Ada", "temperature": "0.2"}
    validate_request("CreateTranscriptionRequest", form_as_body("CreateTranscriptionRequest", rec))
    assert files_of(rec) == [("file", "hello.wav", "audio/wav", len(audio))] and rec.files[0].data == audio
    assert transcript.text == "Hello there. How are you today?"
    assert violations("CreateTranscriptionResponseJson", transcript.raw, strict=False) == []


async def test_a_verbose_transcription_has_language_duration_and_segments(fake_openai):
    fake_openai.transcript = "First sentence. Second one!"
    params = TranscriptionParams.from_options([("response_format", "verbose_json"), ("language", "fr")])
    async with client_for(fake_openai) as client:
        transcript = await client.audio.transcribe(("talk.wav", wav_bytes(2.0), "audio/wav"), "whisper-1", params)
    validate_request("CreateTranscriptionRequest", form_as_body("CreateTranscriptionRequest", fake_openai.last_request))
    assert violations("CreateTranscriptionResponseVerboseJson", transcript.raw, strict=False) == []
    assert (transcript.text, transcript.language, transcript.duration) == ("First sentence. Second one!", "french", 2.0)
    assert [s["text"] for s in transcript.raw["segments"]] == [" First sentence.", " Second one!"]


@pytest.mark.parametrize("fmt,expected", [
    ("text", "One. Two.\n"),
    ("srt", "1\n00:00:00,000 --> 00:00:00,500\nOne.\n\n2\n00:00:00,500 --> 00:00:01,000\nTwo.\n\n"),
    ("vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:00.500\nOne.\n\n00:00:00.500 --> 00:00:01.000\nTwo.\n\n"),
])
async def test_text_transcript_formats_come_back_as_they_are(fake_openai, fmt, expected):
    fake_openai.transcript = "One. Two."
    async with client_for(fake_openai) as client:
        transcript = await client.audio.transcribe(("a.wav", wav_bytes(1.0), "audio/wav"), "whisper-1",
                                                   TranscriptionParams(response_format=fmt))
    assert transcript.text == expected and transcript.raw is None
    assert fake_openai.last_request.form["response_format"] == fmt


async def test_a_translation_goes_to_its_own_endpoint(fake_openai):
    fake_openai.transcript = "The cat is on the table."
    params = TranscriptionParams.from_options([("response_format", "verbose_json"), ("temperature", 0), ("prompt", "Le chat")])
    async with client_for(fake_openai) as client:
        plain = await client.audio.translate(("chat.mp3", b"ID3\x04" + bytes(3000), "audio/mpeg"), "whisper-1")
        verbose = await client.audio.translate(("chat.mp3", b"ID3\x04" + bytes(3000), "audio/mpeg"), "whisper-1", params)
    for rec in fake_openai.requests:
        assert rec.path == "/v1/audio/translations"
        validate_request("CreateTranslationRequest", form_as_body("CreateTranslationRequest", rec))
    assert violations("CreateTranslationResponseJson", plain.raw, strict=False) == []
    assert violations("CreateTranslationResponseVerboseJson", verbose.raw, strict=False) == []
    assert plain.text == verbose.text == "The cat is on the table." and verbose.language == "english"


async def test_a_translation_refuses_a_language_before_sending(fake_openai):
    # /audio/translations has no `language` (the spec's schema is closed): the output is English
    async with client_for(fake_openai) as client:
        with pytest.raises(ParamError, match="language"):
            await client.audio.translate(("a.wav", wav_bytes(0.5), "audio/wav"), "whisper-1",
                                         TranscriptionParams(language="fr"))
    assert fake_openai.requests == []


async def test_transcription_errors(fake_openai):
    fake_openai.enqueue_fault(Fault("malformed", path="/v1/audio/transcriptions"))
    upload = ("a.wav", wav_bytes(0.5), "audio/wav")
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.StreamError, match="expected JSON"):
            await client.audio.transcribe(upload, "whisper-1")
        with pytest.raises(errors.BadRequestError, match="not compatible with model 'gpt-4o-transcribe'"):
            await client.audio.transcribe(upload, "gpt-4o-transcribe", TranscriptionParams(response_format="srt"))
        with pytest.raises(ParamError, match="no model"):
            await client.audio.transcribe(upload, "")
    with pytest.raises(ParamError, match="between 0 and 1"):
        TranscriptionParams.from_options([("temperature", 1.5)])
    assert len(fake_openai.requests) == 2


@pytest.mark.parametrize("fmt,content_type", [("mp3", "audio/mpeg"), ("wav", "audio/wav"), ("pcm", "audio/pcm"),
                                              ("opus", "audio/ogg"), ("flac", "audio/flac"), ("aac", "audio/aac")])
async def test_speech_returns_the_audio_and_its_content_type(fake_openai, fmt, content_type):
    params = SpeechParams.from_options([("voice", "coral"), ("response_format", fmt), ("speed", 1.25)])
    text = "Hello from the fake text to speech endpoint."
    async with client_for(fake_openai) as client:
        data, ctype = await client.audio.speech(text, "tts-1", params)
    body = fake_openai.last_request.json
    assert body == {"model": "tts-1", "input": text, "voice": "coral", "response_format": fmt, "speed": 1.25}
    validate_request("CreateSpeechRequest", body)
    assert ctype == content_type and data == speech_audio(text, fmt, 1.25)
    if fmt == "wav":
        with wave.open(io.BytesIO(data)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24_000, 1, 2)
            assert w.getnframes() == int(24_000 * 0.1 * 8 / 1.25)


async def test_speech_defaults_to_a_voice(fake_openai):
    async with client_for(fake_openai) as client:
        data, ctype = await client.audio.speech("Hi", "gpt-4o-mini-tts", SpeechParams(instructions="Cheerful."))
    assert fake_openai.last_request.json == {"model": "gpt-4o-mini-tts", "input": "Hi", "voice": "alloy",
                                             "instructions": "Cheerful."}
    validate_request("CreateSpeechRequest", fake_openai.last_request.json)
    assert ctype == "audio/mpeg" and data.startswith(b"ID3")


async def test_speech_is_checked_before_sending(fake_openai):
    async with client_for(fake_openai) as client:
        with pytest.raises(ParamError, match="no text"):
            await client.audio.speech("", "tts-1")
        with pytest.raises(ParamError, match="4096") as long:
            await client.audio.speech("x" * 4097, "tts-1")
        data, _ = await client.audio.speech("x" * 4096, "tts-1")  # the limit itself is fine
    with pytest.raises(ParamError, match="between 0.25 and 4"):
        SpeechParams.from_options([("speed", 5)])
    with pytest.raises(ParamError, match="expected one of"):
        SpeechParams.from_options([("response_format", "ogg")])
    assert long.value.param == "input" and data and len(fake_openai.requests) == 1


async def test_speech_cut_off_mid_body_is_a_stream_error(fake_openai):
    fake_openai.enqueue_fault(Fault("drop", path="/v1/audio/speech"))
    async with client_for(fake_openai) as client:
        with pytest.raises(errors.StreamError, match="connection failed while reading"):
            await client.audio.speech("Hello there", "tts-1")
    assert len(fake_openai.requests) == 1  # an answer had started: not retried


async def test_speech_is_retried_after_a_server_error(fake_openai):
    fake_openai.enqueue_fault(Fault("status", status=503, path="/v1/audio/speech"))
    async with client_for(fake_openai) as client:
        data, ctype = await client.audio.speech("Hello", "tts-1", SpeechParams(response_format="pcm"))
    assert [r.status for r in fake_openai.requests] == [503, 200]
    assert ctype == "audio/pcm" and len(data) == 2 * int(24_000 * 0.1)
    assert struct.unpack("<h", data[2:4])[0] != 0  # a tone, not silence
