"""services/images.py against the fake server: requests checked before sending and validated
against OpenAI's spec (multipart fields included), every result fetched, stored by sha256 and
recorded with its prompt, model, options and cost; no API key in the database."""

from __future__ import annotations

import io
import sqlite3

import pytest
from fake_openai import FakeOpenAI, result_image
from openapi_spec import validate_request
from PIL import Image
from test_resources import files_of, form_as_body

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Endpoint
from chat_tui.core.params.base import ParamError
from chat_tui.core.params.images import ImageParams
from chat_tui.services import images as service
from chat_tui.store import Store
from chat_tui.store.images import get_image, search_images

KEY = "sk-images-service-secret-0123456789"


def client_for(fake: FakeOpenAI) -> OpenAIClient:
    return OpenAIClient(Endpoint(name="fake", base_url=fake.base_url, api_key=KEY), backoff_base=0.01)


def png(w: int = 16, h: int = 16, mode: str = "RGBA", colour=(200, 30, 30, 255)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, (w, h), colour if mode == "RGBA" else colour[:3]).save(out, "PNG")
    return out.getvalue()


def opts(**kw) -> ImageParams:
    return ImageParams.from_options(list(kw.items()))


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "t.db") as s:
        yield s


async def test_generate_fetches_each_url_and_records_it(fake_openai, store, tmp_path):
    blobs = tmp_path / "blobs"
    async with client_for(fake_openai) as client:
        out = await service.generate(client, store, blobs, "A red apple", "dall-e-2", opts(n=2, size="256x256"),
                                     endpoint="fake")
    rec = fake_openai.requests[0]
    validate_request("CreateImageRequest", rec.json)
    assert [r.path for r in fake_openai.requests[1:]] and all(r.path.startswith("/files/") for r in fake_openai.requests[1:])
    assert len(out.images) == 2 and out.cost == pytest.approx(0.032)
    for i, saved in enumerate(out.images):
        assert saved.path.read_bytes() == result_image("dall-e-2", "A red apple", i)
        assert saved.path.is_relative_to(blobs) and saved.path.name == saved.sha256
        row = get_image(store, saved.id)
        assert (row.kind, row.prompt, row.model, row.mime, row.width, row.height, row.endpoint) == (
            "generate", "A red apple", "dall-e-2", "image/png", 1, 1, "fake")
        assert row.cost == pytest.approx(0.016) and '"size": "256x256"' in row.params
    assert [r.id for r in search_images(store, "apple")] == [2, 1]
    assert KEY not in "\n".join(sqlite3.connect(store.path).iterdump())


async def test_dalle3_keeps_the_revised_prompt(fake_openai, store, tmp_path):
    async with client_for(fake_openai) as client:
        out = await service.generate(client, store, tmp_path, "A lighthouse", "dall-e-3", opts(style="natural"))
    validate_request("CreateImageRequest", fake_openai.requests[0].json)
    assert out.images[0].revised_prompt == "A lighthouse, in a detailed digital illustration"
    assert [r.id for r in search_images(store, "illustration")] == [out.images[0].id]


async def test_gpt_image_b64_in_webp_with_a_cost_from_usage(fake_openai, store, tmp_path):
    async with client_for(fake_openai) as client:
        out = await service.generate(client, store, tmp_path, "A blue bird", "gpt-image-1",
                                     opts(output_format="webp", quality="low"))
    validate_request("CreateImageRequest", fake_openai.requests[0].json)
    assert len(fake_openai.requests) == 1  # base64: nothing to download
    assert out.images[0].path.read_bytes() == result_image("gpt-image-1", "A blue bird", 0, output_format="webp")
    assert out.images[0].cost is not None and out.images[0].cost > 0


async def test_edit_with_a_mask_sends_a_valid_multipart_form(fake_openai, store, tmp_path):
    photo, mask = png(), png(colour=(0, 0, 0, 0))
    async with client_for(fake_openai) as client:
        out = await service.edit(client, store, tmp_path, [("photo.png", photo)], "Add a hat", "dall-e-2",
                                 opts(size="512x512"), mask=("mask.png", mask))
    rec = fake_openai.requests[0]
    validate_request("CreateImageEditRequest", form_as_body("CreateImageEditRequest", rec))
    assert files_of(rec) == [("image", "photo.png", "image/png", len(photo)), ("mask", "mask.png", "image/png", len(mask))]
    assert out.images[0].path.read_bytes() == result_image("dall-e-2", "Add a hat", 0, [photo])
    assert get_image(store, out.images[0].id).kind == "edit"


async def test_variation_sends_one_valid_image(fake_openai, store, tmp_path):
    source = png()
    async with client_for(fake_openai) as client:
        out = await service.vary(client, store, tmp_path, ("cat.png", source), "dall-e-2", opts(n=3))
    rec = fake_openai.requests[0]
    validate_request("CreateImageVariationRequest", form_as_body("CreateImageVariationRequest", rec))
    assert len(out.images) == 3 and get_image(store, out.images[2].id).prompt is None


@pytest.mark.parametrize("call,needle", [
    (lambda c, s, b: service.generate(c, s, b, "x" * 1001, "dall-e-2"), "takes up to 1,000"),
    (lambda c, s, b: service.generate(c, s, b, "a", "dall-e-3", opts(n=2)), "1 image per request"),
    (lambda c, s, b: service.edit(c, s, b, [("a.png", png(16, 8))], "hat", "dall-e-2"), "square"),
    (lambda c, s, b: service.edit(c, s, b, [("a.png", png())], "hat", "dall-e-2", mask=("m.png", png(mode="RGB"))),
     "alpha channel"),
    (lambda c, s, b: service.vary(c, s, b, ("a.png", png()), "gpt-image-1"), "does not do variations"),
])
async def test_refused_requests_send_nothing(fake_openai, store, tmp_path, call, needle):
    async with client_for(fake_openai) as client:
        with pytest.raises(ParamError, match=needle):
            await call(client, store, tmp_path)
    assert fake_openai.requests == []


def test_read_upload_names_a_missing_file(tmp_path):
    with pytest.raises(ParamError, match="cannot read"):
        service.read_upload(tmp_path / "nope.png")


async def test_an_image_made_in_a_chat_survives_export_and_import(fake_openai, store, tmp_path):
    """The JSON export carries the `/image` rows and bytes; an import into another data dir
    records them against the new conversation and reply, findable by prompt."""
    from chat_tui.services.attachments import blob_root
    from chat_tui.store.attachments import blob_path
    from chat_tui.store.importer import import_data

    made = await service.generate_in_chat(client_for(fake_openai), store, blob_root(store), "a paper boat", "dall-e-2",
                                          conversation_id=None, parent_id=None)
    document = store.export_conversation(made.conversation_id)
    (row,) = document["images"]
    assert row["message_id"] == made.reply_id and row["prompt"] == "a paper boat"

    (tmp_path / "elsewhere").mkdir()
    with Store(tmp_path / "elsewhere" / "e.db") as other:
        report = import_data(other, document)
        (cid,) = report.conversation_ids
        (hit,) = search_images(other, "boat")
        reply = other.messages(cid)[-1]
        assert (hit.conversation_id, hit.message_id, hit.model) == (cid, reply.id, "dall-e-2")
        assert blob_path(blob_root(other), hit.sha256).read_bytes() == result_image("dall-e-2", "a paper boat", 0)
        assert service.conversation_images(other, blob_root(other), cid) == {reply.id: [blob_path(blob_root(other), hit.sha256)]}


def test_a_completion_document_keeps_its_kind_through_export_and_import(store, tmp_path):
    from chat_tui.store.importer import import_data

    cid = store.create_conversation(title="story", kind="completion", document="Once upon a time")
    document = store.export_conversation(cid)
    with Store(tmp_path / "i.db") as other:
        (new,) = import_data(other, document).conversation_ids
        conv = other.get_conversation(new)
        assert (conv.kind, conv.document) == ("completion", "Once upon a time")
