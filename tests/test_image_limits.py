"""Per-model image limits and upload checks (chat_tui.core.images), each error naming its limit."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from chat_tui.core.images import allowed_options, check_request, check_uploads, estimate_cost, image_model
from chat_tui.core.params.base import ParamError
from chat_tui.core.params.images import ImageParams


def png(w: int = 8, h: int = 8, mode: str = "RGBA", fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (w, h), (10, 20, 30, 0) if mode == "RGBA" else (10, 20, 30)).save(out, fmt)
    return out.getvalue()


def opts(**kw) -> ImageParams:
    return ImageParams.from_options(list(kw.items()))


@pytest.mark.parametrize("model,limit", [("dall-e-2", 1000), ("dall-e-3", 4000), ("gpt-image-1", 32000),
                                         ("gpt-image-1-mini", 32000)])
def test_prompt_length_per_model(model, limit):
    check_request("generate", model, "x" * limit, ImageParams())
    with pytest.raises(ParamError, match=f"takes up to {limit:,}") as info:
        check_request("generate", model, "x" * (limit + 1), ImageParams())
    assert info.value.param == "prompt"


def test_sizes_and_n_per_model():
    check_request("generate", "dall-e-3", "a", opts(size="1792x1024"))
    with pytest.raises(ParamError, match="dall-e-2 makes 256x256, 512x512, 1024x1024; not 1792x1024"):
        check_request("generate", "dall-e-2", "a", opts(size="1792x1024"))
    with pytest.raises(ParamError, match="dall-e-3 makes 1 image per request, not 2"):
        check_request("generate", "dall-e-3", "a", opts(n=2))
    check_request("generate", "dall-e-2", "a", opts(n=10))
    with pytest.raises(ParamError, match="out of range"):
        check_request("generate", "dall-e-2", "a", opts(n=11))


@pytest.mark.parametrize("model,option,value", [
    ("dall-e-2", "style", "vivid"), ("gpt-image-1", "style", "vivid"),
    ("dall-e-3", "background", "transparent"), ("dall-e-2", "output_format", "webp"),
    ("dall-e-3", "moderation", "low"), ("gpt-image-1", "response_format", "url"),
])
def test_options_a_model_does_not_accept_are_refused(model, option, value):
    with pytest.raises(ParamError, match=f"{model} does not accept {option}") as info:
        check_request("generate", model, "a", opts(**{option: value}))
    assert info.value.param == option


def test_options_each_model_accepts_pass_and_the_form_offers_only_those():
    check_request("generate", "dall-e-3", "a", opts(style="natural", quality="hd", response_format="b64_json"))
    check_request("generate", "gpt-image-1", "a", opts(background="transparent", output_format="webp",
                                                       output_compression=50, moderation="low", quality="high"))
    with pytest.raises(ParamError, match="takes quality standard, hd; not high"):
        check_request("generate", "dall-e-3", "a", opts(quality="high"))
    assert "style" in allowed_options("dall-e-3") and "style" not in allowed_options("dall-e-2")
    assert "response_format" not in allowed_options("gpt-image-1")
    assert "moderation" not in allowed_options("gpt-image-1", "edit")
    assert "style" in allowed_options("my-local-model")  # unknown: everything, unchecked
    check_request("generate", "my-local-model", "x" * 50_000, opts(n=5, style="vivid"))


def test_kinds_per_model():
    with pytest.raises(ParamError, match="dall-e-3 does not do edits"):
        check_request("edit", "dall-e-3", "a", ImageParams())
    with pytest.raises(ParamError, match="gpt-image-1 does not do variations"):
        check_request("variation", "gpt-image-1", None, ImageParams())
    check_request("variation", "dall-e-2", None, opts(n=3))
    with pytest.raises(ParamError, match="describe the change"):
        check_request("edit", "dall-e-2", "  ", ImageParams())


def test_dalle2_uploads_are_square_pngs_under_4_mb():
    check_uploads("edit", "dall-e-2", [("a.png", png())])
    with pytest.raises(ParamError, match="a.png: 8x6; dall-e-2 takes a square image"):
        check_uploads("edit", "dall-e-2", [("a.png", png(8, 6))])
    with pytest.raises(ParamError, match="dall-e-2 takes PNG, not JPEG"):
        check_uploads("variation", "dall-e-2", [("a.jpg", png(mode="RGB", fmt="JPEG"))])
    big = png() + b"\0" * (4 * 1024 * 1024)
    with pytest.raises(ParamError, match="takes less than 4 MB"):
        check_uploads("edit", "dall-e-2", [("big.png", big)])
    with pytest.raises(ParamError, match="takes one image per edit, not 2"):
        check_uploads("edit", "dall-e-2", [("a.png", png()), ("b.png", png())])
    with pytest.raises(ParamError, match="not an image"):
        check_uploads("edit", "dall-e-2", [("notes.txt", b"hello")])


def test_gpt_image_uploads_take_16_png_jpeg_webp():
    files = [(f"{i}.webp", png(9, 5, "RGB", "WEBP")) for i in range(16)]
    infos = check_uploads("edit", "gpt-image-1", files)
    assert infos[0].mime == "image/webp" and (infos[0].width, infos[0].height) == (9, 5)
    with pytest.raises(ParamError, match="up to 16 images per edit, not 17"):
        check_uploads("edit", "gpt-image-1", files + files[:1])
    with pytest.raises(ParamError, match="takes PNG/JPEG/WEBP, not GIF"):
        check_uploads("edit", "gpt-image-1", [("a.gif", png(mode="RGB", fmt="GIF"))])


def test_the_mask_is_a_png_with_alpha_of_the_images_size():
    check_uploads("edit", "dall-e-2", [("a.png", png(8, 8))], ("m.png", png(8, 8)))
    with pytest.raises(ParamError, match="m.png: the mask needs an alpha channel") as info:
        check_uploads("edit", "dall-e-2", [("a.png", png(8, 8))], ("m.png", png(8, 8, "RGB")))
    assert info.value.param == "mask"
    with pytest.raises(ParamError, match="m.png: 4x4; must be the image's size, 8x8"):
        check_uploads("edit", "dall-e-2", [("a.png", png(8, 8))], ("m.png", png(4, 4)))
    with pytest.raises(ParamError, match="the mask must be a PNG, not WEBP"):
        check_uploads("edit", "gpt-image-1", [("a.png", png(8, 8))], ("m.webp", png(8, 8, "RGBA", "WEBP")))


def test_cost_estimates():
    assert estimate_cost("dall-e-2", {"size": "512x512"}, 3) == pytest.approx(0.054)
    assert estimate_cost("dall-e-3", {"quality": "hd", "size": "1792x1024"}, 1) == pytest.approx(0.12)
    usage = {"input_tokens": 10, "output_tokens": 272, "input_tokens_details": {"text_tokens": 10, "image_tokens": 0}}
    assert estimate_cost("gpt-image-1", {}, 1, usage) == pytest.approx((10 * 5 + 272 * 40) / 1e6)
    assert estimate_cost("gpt-image-1", {}, 1, None) is None
    assert estimate_cost("some-local-model", {}, 1) is None
    assert image_model("GPT-IMAGE-1").name == "gpt-image-1" and image_model("flux") is None
