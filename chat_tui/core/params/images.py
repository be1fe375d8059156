"""Image parameters (`/v1/images/generations`, `edits`, `variations`) and request bodies.

Generation is JSON; edits and variations are multipart forms: `form_fields` gives their text
fields, the files are the API resource's business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chat_tui.core.params.base import ParamError, Params, choice, number, string

# The values an option takes, for any model (`core.images` narrows them per model).
CHOICES: dict[str, tuple[str, ...]] = {
    "quality": ("standard", "hd", "low", "medium", "high", "auto"),
    "style": ("vivid", "natural"),
    "response_format": ("url", "b64_json"),
    "background": ("transparent", "opaque", "auto"),
    "output_format": ("png", "jpeg", "webp"),
    "moderation": ("low", "auto"),
}

IMAGE_RULES: dict[str, Any] = {
    "n": (lambda v: number("n", v, 1, 10, integer=True), 1),
    "size": (lambda v: string("size", v), None),
    **{name: ((lambda v, name=name: choice(name, v, CHOICES[name])), "url" if name == "response_format" else None)
       for name in ("quality", "style", "response_format", "background", "output_format")},
    "output_compression": (lambda v: number("output_compression", v, 0, 100, integer=True), None),
    "moderation": (lambda v: choice("moderation", v, CHOICES["moderation"]), None),
    "user": (lambda v: string("user", v), None),
}


@dataclass(frozen=True)
class ImageParams(Params):
    n: int | None = None
    size: str | None = None
    quality: str | None = None
    style: str | None = None
    response_format: str | None = None
    background: str | None = None
    output_format: str | None = None
    output_compression: int | None = None
    moderation: str | None = None
    user: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    RULES = IMAGE_RULES

    def body(self, prompt: str, model: str | None = None) -> dict[str, Any]:
        """A generation request (JSON)."""
        if not prompt:
            raise ParamError("prompt", "describe the image to make")
        body: dict[str, Any] = {"prompt": prompt}
        if model:
            body["model"] = model
        body.update(self.as_dict())
        return body

    def form_fields(self, model: str | None = None, prompt: str | None = None) -> dict[str, str]:
        """The text fields of an edit or variation form (multipart values are strings)."""
        fields: dict[str, str] = {}
        if prompt is not None:
            if not prompt:
                raise ParamError("prompt", "describe the change to make")
            fields["prompt"] = prompt
        if model:
            fields["model"] = model
        for name, value in self.as_dict().items():
            fields[name] = str(value).lower() if isinstance(value, bool) else str(value)
        return fields
