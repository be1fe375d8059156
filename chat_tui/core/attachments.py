"""Attachments to a prompt (images, PDFs, text files): what kind a file is, an image's size from
its header, the limits OpenAI sets, the content parts they are sent as, and what an image costs
in prompt tokens. Pure: the bytes are read by the caller (services.attachments).
"""

from __future__ import annotations

import base64
import math
import struct
from dataclasses import dataclass, field
from typing import Any

from chat_tui.core.audio import AudioError, check_file, is_audio_name
from chat_tui.core.messages import FilePart, ImagePart, Part, TextPart

MB = 1024 * 1024
MAX_IMAGE_BYTES = 20 * MB  # OpenAI: 20 MB per image
MAX_FILE_REQUEST_BYTES = 32 * MB  # OpenAI: 32 MB of files (PDF) in one request
MAX_TEXT_BYTES = 2 * MB  # a text file inlined in the prompt; more is not a prompt any more
DETAILS = ("auto", "low", "high")
IMAGE_MIMES = ("image/png", "image/jpeg", "image/webp", "image/gif")
_IMAGE_EXTENSIONS = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                     ".webp": "image/webp", ".gif": "image/gif"}
TEXT_EXTENSIONS = frozenset(
    ".txt .md .markdown .rst .csv .tsv .json .jsonl .yaml .yml .toml .ini .cfg .conf .log .xml"
    " .html .htm .css .js .ts .tsx .jsx .py .pyi .rb .go .rs .java .kt .c .h .cc .cpp .hpp .cs"
    " .swift .sh .bash .zsh .fish .sql .r .lua .pl .php .tex .diff .patch .env .gitignore".split())


class AttachmentError(ValueError):
    """A file that cannot be attached; the message says why, in one line."""


def sniff_image(head: bytes) -> str | None:
    """The image type from the first bytes (PNG, JPEG, GIF, WebP), else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from an image's header, or None when the header is not understood."""
    try:
        return _image_size(data)
    except (struct.error, IndexError, ValueError):
        return None


def _image_size(data: bytes) -> tuple[int, int] | None:
    kind = sniff_image(data[:16])
    if kind == "image/png" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if kind == "image/gif":
        return struct.unpack("<HH", data[6:10])
    if kind == "image/webp":
        chunk = data[12:16]
        if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
            w, h = struct.unpack("<HH", data[26:30])
            return w & 0x3FFF, h & 0x3FFF
        if chunk == b"VP8L" and data[20] == 0x2F:
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8X":
            return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
        return None
    if kind == "image/jpeg":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return w, h
            i += 2 + length
    return None


def looks_like_text(data: bytes) -> bool:
    """UTF-8 without NUL bytes (a cut multi-byte character at the end is allowed)."""
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(data) - 3 and exc.reason == "unexpected end of data"
    return True


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > max(name.rfind("/"), 0) else ""


def size_text(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < MB:
        return f"{n / 1024:.0f} KB"
    return f"{n / MB:.1f} MB"


@dataclass(frozen=True, slots=True)
class Attachment:
    """One file going with a prompt. `kind`: image (sent as `image_url`), pdf (a `file` part,
    inline), text (inlined as a text part with its name). `url` is set for an image given as
    an http(s) URL, which is sent as it is and has no bytes here."""

    name: str
    kind: str
    mime: str
    data: bytes = b""
    url: str | None = None
    detail: str = "auto"
    width: int | None = None
    height: int | None = None
    # The base64 of `data`, made once where the file is read (a thread, in the TUI), so
    # building the parts to send costs nothing more.
    encoded: str = field(default="", repr=False, compare=False)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sent(self) -> bool:
        """Whether it goes to the chat model as a content part. Audio does not: it is
        transcribed into the prompt and kept with the message as a file."""
        return self.kind != "audio"

    def with_detail(self, detail: str) -> Attachment:
        if detail not in DETAILS:
            raise AttachmentError(f"detail must be one of {', '.join(DETAILS)}, not {detail!r}")
        return Attachment(self.name, self.kind, self.mime, self.data, self.url, detail, self.width, self.height, self.encoded)

    def data_url(self) -> str:
        encoded = self.encoded or base64.b64encode(self.data).decode("ascii")
        return f"data:{self.mime};base64,{encoded}"

    def part(self) -> Part:
        if not self.sent:
            raise AttachmentError(f"{self.name}: {self.kind} is kept with the message, not sent as a part")
        if self.kind == "image":
            return ImagePart(self.url or self.data_url(), self.detail)
        if self.kind == "pdf":
            return FilePart(file_data=self.data_url(), filename=self.name)
        return TextPart(text_file_part(self.name, self.data.decode("utf-8", errors="replace")))

    def label(self) -> str:
        """The chip's text: name, type, size, and an image's width×height."""
        bits = [self.name, self.mime]
        if self.url is None:
            bits.append(size_text(self.size))
        if self.width and self.height:
            bits.append(f"{self.width}×{self.height}")
        if self.kind == "image" and self.detail != "auto":
            bits.append(f"detail {self.detail}")
        return " · ".join(bits)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def text_file_part(name: str, text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"\n\nFile: {name}\n{fence}\n{text}{'' if text.endswith(chr(10)) else chr(10)}{fence}"


def classify(name: str, data: bytes, *, detail: str = "auto") -> Attachment:
    """An attachment from a file's name and bytes, or AttachmentError saying why not."""
    if detail not in DETAILS:
        raise AttachmentError(f"detail must be one of {', '.join(DETAILS)}, not {detail!r}")
    mime = sniff_image(data[:16])
    if mime is not None:
        if len(data) > MAX_IMAGE_BYTES:
            raise AttachmentError(f"{name}: {size_text(len(data))} is over OpenAI's limit of 20 MB per image")
        size = image_size(data)
        return Attachment(name, "image", mime, data, None, detail, *(size or (None, None)), _b64(data))
    if data.startswith(b"%PDF-"):
        if len(data) > MAX_FILE_REQUEST_BYTES:
            raise AttachmentError(f"{name}: {size_text(len(data))} is over OpenAI's limit of 32 MB of files per request")
        return Attachment(name, "pdf", "application/pdf", data, encoded=_b64(data))
    if _extension(name) in _IMAGE_EXTENSIONS:
        raise AttachmentError(f"{name}: not a PNG, JPEG, WebP or GIF image (its bytes say otherwise)")
    if is_audio_name(name):  # transcribed into the prompt, kept as a file
        try:
            mime = check_file(name, len(data))
        except AudioError as exc:
            raise AttachmentError(str(exc)) from None
        return Attachment(name, "audio", mime, data)
    if _extension(name) in TEXT_EXTENSIONS or looks_like_text(data[:8192]):
        if not looks_like_text(data):
            raise AttachmentError(f"{name}: not UTF-8 text")
        if len(data) > MAX_TEXT_BYTES:
            raise AttachmentError(f"{name}: {size_text(len(data))} of text is over chat-tui's limit of 2 MB inlined in a prompt")
        return Attachment(name, "text", "text/plain", data)
    raise AttachmentError(f"{name}: unsupported type (images: PNG, JPEG, WebP, GIF; files: PDF or UTF-8 text;"
                          " audio: mp3, mp4, mpeg, mpga, m4a, wav, webm)")


def from_url(url: str, *, detail: str = "auto") -> Attachment:
    """An image given by http(s) URL: sent as it is (the server fetches it)."""
    if detail not in DETAILS:
        raise AttachmentError(f"detail must be one of {', '.join(DETAILS)}, not {detail!r}")
    path = url.split("?", 1)[0].split("#", 1)[0]
    mime = _IMAGE_EXTENSIONS.get(_extension(path.rsplit("/", 1)[-1]), "image")
    return Attachment(path.rsplit("/", 1)[-1] or url, "image", mime, b"", url, detail)


def check_request(attachments: list[Attachment] | tuple[Attachment, ...]) -> None:
    """Limits over the whole prompt: OpenAI takes at most 32 MB of files per request."""
    files = sum(a.size for a in attachments if a.kind == "pdf")
    if files > MAX_FILE_REQUEST_BYTES:
        raise AttachmentError(f"the PDFs add up to {size_text(files)}, over OpenAI's limit of 32 MB of files per request")


def content_for(text: str, attachments: list[Attachment] | tuple[Attachment, ...]) -> str | tuple[Part, ...]:
    """A prompt's content: the text alone, or the text then one part per attachment that is
    sent (audio is not: with only audio attached the content is one text part, so the message
    still has parts and its files are found by position after them)."""
    if not attachments:
        return text
    return (TextPart(text), *(a.part() for a in attachments if a.sent))


# -- image tokens ---------------------------------------------------------------------------------

# OpenAI's published costs. Tile models: (base, per 512-px tile) after fitting in 2048×2048 and
# scaling the shortest side to 768; low detail costs the base. Patch models: 32-px patches,
# at most 1536, times a multiplier; detail does not change them. Longest prefix wins.
TILE_COSTS: dict[str, tuple[int, int]] = {
    "gpt-4o-mini": (2833, 5667),
    "gpt-4o": (85, 170), "chatgpt-4o": (85, 170), "gpt-4.1": (85, 170), "gpt-4.5": (85, 170),
    "gpt-4-turbo": (85, 170), "gpt-4-vision": (85, 170), "gpt-5": (70, 140), "gpt-5-mini": (70, 140),
    "gpt-5-nano": (70, 140), "o1": (75, 150), "o1-pro": (75, 150), "o3": (75, 150),
    "computer-use-preview": (65, 129),
}
PATCH_MULTIPLIERS: dict[str, float] = {"gpt-4.1-mini": 1.62, "gpt-4.1-nano": 2.46, "o4-mini": 1.72}
_DEFAULT = (85, 170)  # unknown models: gpt-4o's rule, labelled an estimate
_UNKNOWN_SIZE = (1024, 1024)  # a URL's image, not fetched: counted as 1024×1024, an estimate


def _longest_prefix(model: str, table: dict[str, Any]) -> str | None:
    model = model.lower().rsplit("/", 1)[-1]
    keys = [k for k in table if model == k or model.startswith(k + "-")]
    return max(keys, key=len) if keys else None


def tile_tokens(width: int, height: int, detail: str, base: int, per_tile: int) -> int:
    if detail == "low":
        return base
    if width > 2048 or height > 2048:
        scale = 2048 / max(width, height)
        width, height = width * scale, height * scale
    if min(width, height) > 768:
        scale = 768 / min(width, height)
        width, height = width * scale, height * scale
    return base + per_tile * math.ceil(width / 512) * math.ceil(height / 512)


def patch_tokens(width: int, height: int, multiplier: float) -> int:
    patches = math.ceil(width / 32) * math.ceil(height / 32)
    if patches > 1536:
        shrink = math.sqrt(32 * 32 * 1536 / (width * height))
        shrink *= min(math.floor(width * shrink / 32) / (width * shrink / 32),
                      math.floor(height * shrink / 32) / (height * shrink / 32))
        patches = min(1536, math.ceil(width * shrink / 32) * math.ceil(height * shrink / 32))
    return math.ceil(patches * multiplier)


def image_tokens(model: str, width: int | None, height: int | None, detail: str | None = "auto") -> tuple[int, bool]:
    """(prompt tokens for one image, whether it follows the model's published rule exactly).
    `auto` is counted as high (the server picks; high is the most it costs)."""
    known = width is not None and height is not None
    w, h = (width, height) if known else _UNKNOWN_SIZE
    if (key := _longest_prefix(model, PATCH_MULTIPLIERS)) is not None:
        return patch_tokens(w, h, PATCH_MULTIPLIERS[key]), known
    key = _longest_prefix(model, TILE_COSTS)
    base, per_tile = TILE_COSTS[key] if key else _DEFAULT
    detail = detail or "auto"
    exact = key is not None and (known or detail == "low") and detail != "auto"
    return tile_tokens(w, h, detail, base, per_tile), exact


def part_image_size(part: ImagePart) -> tuple[int, int] | None:
    """An image part's size from its data URL's first bytes (only those are decoded)."""
    url = part.url
    if not url.startswith("data:"):
        return None
    comma = url.find(",")
    if comma < 0 or ";base64" not in url[:comma]:
        return None
    head = url[comma + 1: comma + 1 + 64 * 1024]
    head = head[: len(head) // 4 * 4]
    try:
        return image_size(base64.b64decode(head, validate=False))
    except ValueError:
        return None


def parts_image_tokens(parts: tuple[Part, ...], model: str) -> tuple[int, bool]:
    """Tokens for the images among `parts`, and whether all followed a known rule exactly."""
    total, exact = 0, True
    for p in parts:
        if isinstance(p, ImagePart):
            size = part_image_size(p)
            n, ok = image_tokens(model, *(size or (None, None)), p.detail)
            total, exact = total + n, exact and ok
    return total, exact
