"""What each image model accepts, checked before anything is sent: prompt length, sizes, `n`,
which options it takes, and the uploads (format, byte size, square, the mask's alpha and size).

The limits are OpenAI's (API reference, images): an unknown model id (another server's) gets
only the generic checks of `ImageParams`, since its limits are not known here. Every error is a
`ParamError` that names the limit. Pillow reads upload headers from bytes; no file I/O here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from typing import Any

from chat_tui.core.params.base import ParamError
from chat_tui.core.params.images import CHOICES, ImageParams

KINDS = ("generate", "edit", "variation")
MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImageModel:
    name: str
    prompt_chars: int
    sizes: tuple[str, ...]
    max_n: int
    options: frozenset[str]  # the ImageParams fields it accepts besides n and size
    kinds: tuple[str, ...]  # generate, edit, variation
    qualities: tuple[str, ...] = ()
    upload_formats: tuple[str, ...] = ("PNG",)  # Pillow format names
    upload_bytes: int = 4 * MB
    upload_square: bool = True
    max_images: int = 1  # per edit


_DALLE2 = ImageModel("dall-e-2", 1_000, ("256x256", "512x512", "1024x1024"), 10,
                     frozenset({"response_format", "user", "quality"}), ("generate", "edit", "variation"),
                     qualities=("standard",))
_DALLE3 = ImageModel("dall-e-3", 4_000, ("1024x1024", "1792x1024", "1024x1792"), 1,
                     frozenset({"response_format", "user", "quality", "style"}), ("generate",),
                     qualities=("standard", "hd"))
_GPT_IMAGE_OPTIONS = frozenset({"quality", "background", "output_format", "output_compression", "moderation", "user"})
_GPT_IMAGE = ImageModel("gpt-image-1", 32_000, ("auto", "1024x1024", "1536x1024", "1024x1536"), 10,
                        _GPT_IMAGE_OPTIONS, ("generate", "edit"), qualities=("auto", "low", "medium", "high"),
                        upload_formats=("PNG", "JPEG", "WEBP"), upload_bytes=50 * MB, upload_square=False,
                        max_images=16)

# Suggested in the UI, in this order; any other id can be typed.
SUGGESTED_MODELS = ("gpt-image-1", "gpt-image-1-mini", "dall-e-3", "dall-e-2")


def image_model(model: str | None) -> ImageModel | None:
    """The known limits of `model` (None: default model, dall-e-2 on OpenAI), or None if unknown."""
    name = (model or "dall-e-2").lower()
    if name == "dall-e-2":
        return _DALLE2
    if name == "dall-e-3":
        return _DALLE3
    if name.startswith("gpt-image-1") or name == "chatgpt-image-latest":
        return replace(_GPT_IMAGE, name=name)
    return None


def allowed_options(model: str | None, kind: str = "generate") -> tuple[str, ...]:
    """The options a form should offer for `model` (every option if the model is unknown)."""
    spec = image_model(model)
    if spec is None:
        return tuple(n for n in ImageParams.names() if n != "extra")
    names = ["n", "size", *sorted(spec.options)]
    if kind != "generate":
        names = [n for n in names if n not in ("style", "moderation")]
    return tuple(names)


def option_choices(model: str | None, kind: str = "generate") -> list[tuple[str, tuple[str, ...] | None]]:
    """The options a form offers for `model` and `kind`, in order, each with the values the
    model takes (None: free text or a number). An unknown model gets every option, with the
    values any model takes."""
    spec = image_model(model)
    out: list[tuple[str, tuple[str, ...] | None]] = []
    for name in allowed_options(model, kind):
        if name == "n":
            values = tuple(str(i) for i in range(1, spec.max_n + 1)) if spec else None
        elif name == "size":
            values = spec.sizes if spec else None
        elif name == "quality" and spec is not None:
            values = spec.qualities
        else:
            values = CHOICES.get(name)
        if values is None or len(values) > 1:  # one value leaves nothing to choose
            out.append((name, values))
    return out


def check_request(kind: str, model: str | None, prompt: str | None, params: ImageParams) -> None:
    """Raise `ParamError` if `model` would refuse this request; silent for unknown models."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    spec = image_model(model)
    if kind != "variation" and not (prompt or "").strip():
        raise ParamError("prompt", "describe the image to make" if kind == "generate" else "describe the change to make")
    if spec is None:
        return
    if kind not in spec.kinds:
        raise ParamError("model", f"{spec.name} does not do {kind}s (it does: {', '.join(spec.kinds)})")
    if prompt is not None and len(prompt) > spec.prompt_chars:
        raise ParamError("prompt", f"{len(prompt):,} characters; {spec.name} takes up to {spec.prompt_chars:,}")
    given = params.as_dict()
    for name in given:
        if name in ("n", "size"):
            continue
        if name not in spec.options or (kind != "generate" and name in ("style", "moderation")):
            raise ParamError(name, f"{spec.name} does not accept {name}"
                             + (" (gpt-image models always answer base64)" if name == "response_format" else ""))
    n = given.get("n", 1)
    if n > spec.max_n:
        raise ParamError("n", f"{spec.name} makes {'1 image' if spec.max_n == 1 else f'1 to {spec.max_n} images'}"
                              f" per request, not {n}")
    size = given.get("size")
    if size is not None and size not in spec.sizes:
        raise ParamError("size", f"{spec.name} makes {', '.join(spec.sizes)}; not {size}")
    quality = given.get("quality")
    if quality is not None and quality not in spec.qualities:
        raise ParamError("quality", f"{spec.name} takes quality {', '.join(spec.qualities)}; not {quality}")
    if "output_compression" in given and given.get("output_format", "png") == "png":
        raise ParamError("output_compression", "only for output_format jpeg or webp")


@dataclass(frozen=True, slots=True)
class ImageInfo:
    format: str  # Pillow's name: PNG, JPEG, WEBP ...
    width: int
    height: int
    has_alpha: bool

    @property
    def mime(self) -> str:
        return f"image/{self.format.lower()}"


def image_info(data: bytes, name: str = "image") -> ImageInfo:
    """The format, size and alpha of image bytes (read from the header), or `ParamError`."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
            return ImageInfo(img.format or "?", img.width, img.height, alpha)
    except (UnidentifiedImageError, OSError, ValueError):
        raise ParamError(name, "not an image Pillow can read (PNG, JPEG, WebP ...)") from None


def check_uploads(kind: str, model: str | None, images: list[tuple[str, bytes]],
                  mask: tuple[str, bytes] | None = None) -> list[ImageInfo]:
    """Check the files of an edit or variation (`images`: (file name, bytes)) as `model` would;
    their infos. An unknown model gets only "is an image"."""
    if not images:
        raise ParamError("image", f"a{'n edit' if kind == 'edit' else ' variation'} needs an image")
    spec = image_model(model)
    infos = [image_info(data, "image") for _, data in images]
    if spec is not None:
        if len(images) > spec.max_images:
            raise ParamError("image", f"{spec.name} takes {'one image' if spec.max_images == 1 else f'up to {spec.max_images} images'}"
                                      f" per edit, not {len(images)}")
        for (fname, data), info in zip(images, infos):
            if info.format not in spec.upload_formats:
                raise ParamError("image", f"{fname}: {spec.name} takes {'/'.join(spec.upload_formats)}, not {info.format}")
            if len(data) >= spec.upload_bytes:
                raise ParamError("image", f"{fname}: {len(data) / MB:.1f} MB; {spec.name} takes less than {spec.upload_bytes // MB} MB")
            if spec.upload_square and info.width != info.height:
                raise ParamError("image", f"{fname}: {info.width}x{info.height}; {spec.name} takes a square image")
    if mask is not None:
        mname, mdata = mask
        minfo = image_info(mdata, "mask")
        if minfo.format != "PNG":
            raise ParamError("mask", f"{mname}: the mask must be a PNG, not {minfo.format}")
        if not minfo.has_alpha:
            raise ParamError("mask", f"{mname}: the mask needs an alpha channel (its transparent pixels mark the edit)")
        if (minfo.width, minfo.height) != (infos[0].width, infos[0].height):
            raise ParamError("mask", f"{mname}: {minfo.width}x{minfo.height}; must be the image's size,"
                                     f" {infos[0].width}x{infos[0].height}")
        if len(mdata) >= 4 * MB:
            raise ParamError("mask", f"{mname}: {len(mdata) / MB:.1f} MB; a mask must be less than 4 MB")
    return infos


# USD per image (dall-e) by quality and size, and per million tokens (gpt-image: text in, image
# in, image out), from OpenAI's price list; a model not listed has no estimate (NULL).
_PER_IMAGE: dict[str, dict[tuple[str, str], float]] = {
    "dall-e-2": {("standard", "256x256"): 0.016, ("standard", "512x512"): 0.018, ("standard", "1024x1024"): 0.020},
    "dall-e-3": {("standard", "1024x1024"): 0.040, ("standard", "1792x1024"): 0.080, ("standard", "1024x1792"): 0.080,
                 ("hd", "1024x1024"): 0.080, ("hd", "1792x1024"): 0.120, ("hd", "1024x1792"): 0.120},
}
_PER_MTOK: dict[str, tuple[float, float, float]] = {
    "gpt-image-1": (5.0, 10.0, 40.0),
    "gpt-image-1-mini": (2.0, 2.5, 8.0),
}


def estimate_cost(model: str | None, params: dict[str, Any], count: int, usage: dict | None = None) -> float | None:
    """A USD estimate for `count` images (the whole request), or None if not known."""
    name = (model or "dall-e-2").lower()
    if name in _PER_IMAGE:
        key = (params.get("quality") or "standard", params.get("size") or "1024x1024")
        price = _PER_IMAGE[name].get(key)
        return None if price is None else round(price * count, 6)
    rates = _PER_MTOK.get(name)
    if rates is None or not isinstance(usage, dict):
        return None
    details = usage.get("input_tokens_details") if isinstance(usage.get("input_tokens_details"), dict) else {}
    try:
        text = int(details.get("text_tokens", usage.get("input_tokens", 0)))
        image_in = int(details.get("image_tokens", 0))
        out = int(usage.get("output_tokens", 0))
    except (TypeError, ValueError):
        return None
    return round((text * rates[0] + image_in * rates[1] + out * rates[2]) / 1_000_000, 6)
