"""A local OpenAI-compatible HTTP server for tests. Standard library only.

    with FakeOpenAI(answer="Hello there") as server:
        client = httpx.Client(base_url=server.base_url)
        ...
        assert server.requests[0].json["model"] == "gpt-4o-mini"

It listens on a real loopback socket (`127.0.0.1`, random port), speaks HTTP/1.1 with
keep-alive, streams SSE with chunked transfer encoding (one write + flush per event), and
answers deterministically: `answer` if set, else "Echo: <last user message>".

Endpoints: GET /v1/models, GET /v1/models/{id}, POST /v1/chat/completions,
POST /v1/completions (legacy), each streaming or whole. Unknown model -> 404 model_not_found.
A chat echo notes the images and files of the prompt (" [I see 2 images, 1 file]"); a model in
`text_only_models` answers an image_url part with OpenAI's 400 ("Invalid content type...").
And, whole answers only, any model accepted:

    POST /v1/edits                 the 2023 endpoint: `apply_edit(input, instruction)`, n choices
                                   ("[i] " before each when n > 1); `serves_edits = False`
                                   makes it 404 "Invalid URL" as OpenAI does since 2024
    POST /v1/embeddings            float or base64 (`encoding_format`), `dimensions` honoured
                                   (ada-002 refuses it); each vector is `embedding_vector(text,
                                   size)`: unit length, float32 values, so both encodings agree
    POST /v1/moderations           flags an input containing `flag_word` in `flag_category`
    POST /v1/images/generations    JSON; `url` (a /files/... link on this server, serving a
                                   1x1 PNG) or `b64_json`; gpt-image-* models: always b64_json,
                                   `output_format` honoured (jpeg/webp: stubs with the right
                                   magic bytes), usage; dall-e-3: revised_prompt
    POST /v1/images/edits          multipart: `image` or `image[]` (+ `mask`), prompt
    POST /v1/images/variations     multipart: `image`
    POST /v1/audio/transcriptions  multipart `file` (its extension checked, a .wav parsed); json,
                                   verbose_json, text, srt, vtt; `stream=true` (gpt-4o-*): SSE
                                   transcript.text.delta per word, then transcript.text.done
    POST /v1/audio/translations    the same, task "translate", language "english"
    POST /v1/audio/speech          JSON in; audio out (chunked) in the type of `response_format`:
                                   wav and pcm are real 24 kHz 16-bit mono, the others only
                                   carry their format's magic bytes
    GET  /files/{name}             the bytes of an image URL result. Never asks for a key:
                                   it stands for another host (a blob store)
    POST /tokenize                 llama.cpp's own (at the root, not /v1), when `llamacpp` is
                                   set: the fake's words as (id, piece); else 404 as OpenAI

Azure paths (/openai/deployments/{deployment}/{what}?api-version=...) are served as
/v1/{what}, the deployment standing in for a missing `model`; no api-version: 404.

Multipart requests are parsed (email.parser): `RecordedRequest.form` holds the text fields
(a list for a repeated name), `.files` the uploads (name, filename, content_type, size, data).
`RecordedRequest.authorized` says whether a request carried a key (Authorization or api-key).

Settings (attributes, read per request): answer (str, callable(body) -> str, or None), models,
reasoning (chat only: str, callable(body) -> str, or None: streamed as `reasoning_field` deltas,
"reasoning_content" as llama.cpp, vLLM and DeepSeek send it, or "reasoning" as OpenRouter does,
before the answer; its tokens are "token chunks" for faults, count against max_tokens, and are
part of usage.completion_tokens, with completion_tokens_details.reasoning_tokens saying how many),
rate (token chunks/s, 0 = flat out), first_byte_delay, chunk_size (None = words),
require_key (Bearer or Azure api-key; not for /files), created, flag_word, flag_category,
transcript (None = "Transcribed <filename>."), embeddings_reversed (the data list in reverse
order: clients must go by `index`), schema_answer (what a chat request with a `json_schema`
`response_format` gets when `answer` is None: "valid", a small instance of the schema from
`schema_instance`; "violate", that instance with its first number, string or boolean of the
wrong type (`violate`); "cut", the valid JSON cut in half). A `json_object` request gets
{"answer": "Echo: <last user message>"}. Request parameters honoured: stream,
stream_options.include_usage, n, max_tokens / max_completion_tokens (cut -> finish "length"),
stop (cut -> "stop"), logprobs + top_logprobs (chat), logprobs:int + echo (legacy). suffix,
best_of etc. are only recorded.

Function calling (chat): with `tool_plan` set, a request that offers `tools` is answered with
tool calls, `tool_rounds` times per user message (a round is an assistant turn with calls after
the last user message), then with text. `tool_plan` is a list of (name, arguments) (a dict, sent
as JSON, or a str sent as it is, broken JSON included) or callable(body) -> such a list; only
tools on offer are called; `tool_choice` none: no call, a named tool: that one alone (with {}
if the plan has none), required: the first tool on offer if the plan has nothing;
`parallel_tool_calls: false`: the first call alone. `tool_text` is streamed with the calls.
Streamed, the calls' pieces (the name and the arguments, cut by `chunk_size`, else by words)
and the text's tokens take turns chunk by chunk, so parallel calls interleave with each other
and with the text; finish_reason "tool_calls". After tool results (the last message is a
`tool` one) and with `answer` None, the answer quotes them: "Tool results: NAME: CONTENT; …".

Inspection: requests (RecordedRequest list), last_request, connection_count, faults,
wait_for_requests(n, timeout), wait_for(predicate, timeout), reset().

Faults are queued with `enqueue_fault(Fault(...))`; each request takes the first queued fault
that matches it (`Fault.path`, None = any request; `Fault.when`, a predicate on the JSON body,
or on the form fields of a multipart request, e.g. one that picks out an auto-title request).
Faults apply to every path, /files included. Kinds:

    status           answer `status` (default 500) with `headers` and a JSON `body`
                     (default: OpenAI's error object for that status)
    html             an HTML error page, default nginx's "502 Bad Gateway", text/html
    drop             send `after` token chunks, then close the socket without the chunked
                     terminator (`reset=True`: TCP RST instead of FIN). Whole bodies (JSON,
                     audio, files): headers and half the body, then close.
    malformed        after `after` token chunks send `data: <body or truncated JSON>`, then go on
                     normally. Whole bodies: `body`, else the first half (truncated JSON).
    error_event      after `after` token chunks send `data: {"error": {...}}` and end the body
                     cleanly without [DONE]. Whole bodies: HTTP 200 with the error object.
    slow_first_byte  wait `delay` seconds before the status line, then answer normally.
    hang             read the request and never answer, until stop() or the client leaves.
    stall            send `after` token chunks, then go silent with the socket open (for
                     `delay` seconds, or until stop() or the client leaves).
    inject           after `after` token chunks send each of `events` (objects as JSON, strings
                     as they are) as an SSE data line, then go on normally.

"Token chunks" are the SSE events carrying text; a streamed chat reply always begins with the
role chunk (`delta: {"role": "assistant", "content": ""}`, as OpenAI sends), which is not
counted. `after` larger than the reply applies the fault just before the finish chunk.

Run standalone for manual testing (prints the base URL on the first line):

    python tests/fake_openai.py --port 0 --answer "Hi!" --rate 20
"""

from __future__ import annotations

import argparse
import array
import base64
import email
import email.utils
import hashlib
import io
import itertools
import json
import math
import re
import selectors
import signal
import socket
import struct
import sys
import threading
import time
import wave
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any
from urllib.parse import unquote, urlsplit

DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo-instruct")
FAULT_KINDS = ("status", "html", "drop", "malformed", "error_event", "slow_first_byte", "hang", "stall", "inject")
STREAM_FAULTS = ("drop", "malformed", "error_event", "stall", "inject")
FINGERPRINT = "fp_fake"
CREATED = 1_700_000_000  # fixed, so whole responses are byte-for-byte reproducible

_TOKEN = re.compile(r"\s*\S+\s*|\s+")

# Native vector sizes; any other model gets DEFAULT_EMBEDDING_SIZE.
EMBEDDING_SIZES = {"text-embedding-3-large": 3072, "text-embedding-3-small": 1536, "text-embedding-ada-002": 1536}
DEFAULT_EMBEDDING_SIZE = 1536
MODERATION_CATEGORIES = ("harassment", "harassment/threatening", "hate", "hate/threatening", "illicit",
                         "illicit/violent", "self-harm", "self-harm/instructions", "self-harm/intent",
                         "sexual", "sexual/minors", "violence", "violence/graphic")
SPEECH_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac",
                "wav": "audio/wav", "pcm": "audio/pcm"}
TRANSCRIPT_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
LANGUAGES = {"en": "english", "fr": "french", "de": "german", "es": "spanish", "it": "italian", "ja": "japanese"}
SPEECH_RATE = 24_000  # samples per second, as OpenAI's pcm


def split_tokens(text: str, chunk_size: int | None = None) -> list[str]:
    """The fake's tokenizer: words with their following whitespace, or fixed-size slices."""
    if chunk_size:
        return [text[i : i + chunk_size] for i in range(0, len(text), chunk_size)]
    return _TOKEN.findall(text)


def openai_error(message: str, type: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def model_not_found(model: str) -> dict[str, Any]:
    return openai_error(f"The model '{model}' does not exist", code="model_not_found")


def default_error_body(status: int, model: str | None = None) -> dict[str, Any]:
    """What OpenAI sends for common statuses (messages copied from real responses)."""
    model = model or "gpt-4o-mini"
    if status == 400:
        return openai_error(
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 130000 tokens. Please reduce the length of the messages.",
            param="messages", code="context_length_exceeded")
    if status == 401:
        return openai_error(
            "Incorrect API key provided: sk-test***********************************1234. You can "
            "find your API key at https://platform.openai.com/account/api-keys.",
            code="invalid_api_key")
    if status == 403:
        return openai_error("Country, region, or territory not supported", type="request_forbidden",
                            code="unsupported_country_region_territory")
    if status == 404:
        return model_not_found(model)
    if status == 429:
        return openai_error(
            f"Rate limit reached for {model} in organization org-fake on tokens per min (TPM): "
            "Limit 200000, Used 199500, Requested 1200. Please try again in 210ms. Visit "
            "https://platform.openai.com/account/rate-limits to learn more.",
            type="tokens", param=None, code="rate_limit_exceeded")
    if status == 503:
        return openai_error("The engine is currently overloaded, please try again later.",
                            type="server_error")
    if status >= 500:
        return openai_error("The server had an error while processing your request. Sorry about that!",
                            type="server_error")
    return openai_error(f"HTTP {status}")


def html_error_page(status: int) -> str:
    from http import HTTPStatus

    try:
        title = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        title = str(status)
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


# -- edits, embeddings, moderations, images, audio: deterministic content --------------------------


TYPOS = {"wek": "week", "teh": "the", "Teh": "The", "recieve": "receive", "wrold": "world", "brigth": "bright"}


def apply_edit(text: str, instruction: str) -> str:
    """The fake's edit: "replace A with B", "uppercase", "lowercase", "fix the spelling" (TYPOS);
    any other instruction leaves the text as it is."""
    low = instruction.lower()
    found = re.match(r"\s*replace\s+['\"]?(.+?)['\"]?\s+with\s+['\"]?(.*?)['\"]?\s*$", instruction, re.I | re.S)
    if found:
        return text.replace(found.group(1), found.group(2))
    if "uppercase" in low or "upper case" in low:
        return text.upper()
    if "lowercase" in low or "lower case" in low:
        return text.lower()
    if "spelling" in low:
        return re.sub(r"\w+", lambda m: TYPOS.get(m.group(), m.group()), text)
    return text


@dataclass
class UploadedFile:
    """One file of a multipart request."""

    name: str  # the form field ("image", "image[]", "mask", "file")
    filename: str
    content_type: str
    size: int
    data: bytes = field(repr=False)


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], list[UploadedFile]]:
    """(text fields, files) of a multipart/form-data body; ValueError if it is not one. A
    repeated text field becomes a list."""
    message = email.message_from_bytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart() or message.defects:
        raise ValueError(f"not a multipart body ({[type(d).__name__ for d in message.defects]})")
    fields: dict[str, Any] = {}
    files: list[UploadedFile] = []
    for part in message.get_payload():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            raise ValueError("a part without a name")
        name = email.utils.collapse_rfc2231_value(name)
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files.append(UploadedFile(name, filename, part.get_content_type(), len(data), data))
        elif name in fields:
            before = fields[name]
            fields[name] = [*before, data.decode()] if isinstance(before, list) else [before, data.decode()]
        else:
            fields[name] = data.decode()
    return fields, files


# Words that mean the same thing map to one concept, so the fake's vectors carry meaning: a text
# and its paraphrase land close together. Keys are stems (see `_stem`).
CONCEPTS: dict[str, tuple[str, ...]] = {
    "reverse": ("reverse", "flip", "invert", "backward", "backwards", "mirror"),
    "sequence": ("list", "array", "vector", "sequence", "collection"),
    "order": ("order", "sort", "arrange", "rank", "ordering"),
    "remove": ("remove", "delete", "drop", "erase", "discard", "strip", "purge"),
    "duplicate": ("duplicate", "dupe", "repeat", "repeated", "copy", "copies", "redundant"),
    "text": ("string", "text", "word", "char", "character", "sentence"),
    "join": ("join", "concatenate", "merge", "combine", "glue", "append"),
    "split": ("split", "break", "divide", "separate", "chop", "tokenize"),
    "file": ("file", "document", "disk", "path"),
    "read": ("read", "open", "load", "ingest", "parse"),
    "write": ("write", "save", "store", "persist", "dump"),
    "number": ("number", "integer", "int", "digit", "numeric", "float"),
    "add": ("sum", "add", "total", "plus", "tally"),
    "count": ("count", "how many", "frequency"),
    "fast": ("fast", "quick", "speed", "performance", "slow", "faster", "quicker", "optimize", "sluggish"),
    "error": ("error", "exception", "crash", "bug", "failure", "fault", "traceback"),
    "fix": ("fix", "repair", "resolve", "solve", "debug", "mend"),
    "date": ("date", "time", "timestamp", "datetime", "clock"),
    "format": ("format", "display", "print", "render", "pretty"),
    "network": ("network", "http", "request", "fetch", "download", "web", "url", "api"),
    "database": ("database", "sql", "sqlite", "postgres", "query", "table"),
    "test": ("test", "unit", "assert", "verify", "check", "pytest"),
    "install": ("install", "setup", "package", "dependency", "pip"),
    "memory": ("memory", "ram", "leak", "heap"),
    "cook": ("cook", "bake", "roast", "recipe", "meal", "dish", "dinner"),
    "bread": ("bread", "loaf", "dough", "sourdough", "baguette"),
    "pasta": ("pasta", "spaghetti", "noodle", "macaroni", "penne"),
    "sleep": ("sleep", "insomnia", "rest", "nap", "bedtime", "tired", "awake"),
    "exercise": ("exercise", "workout", "train", "fitness", "gym", "jog", "run"),
    "travel": ("travel", "trip", "journey", "vacation", "holiday", "flight", "visit"),
    "money": ("money", "budget", "cash", "spend", "saving", "finance", "expense", "cost", "cheap"),
    "car": ("car", "vehicle", "automobile", "engine", "motor"),
    "garden": ("garden", "plant", "grow", "soil", "seed", "vegetable", "tomato"),
    "dog": ("dog", "puppy", "hound", "canine", "pet"),
    "cat": ("cat", "kitten", "feline"),
    "music": ("music", "song", "melody", "tune", "guitar", "piano", "chord"),
    "learn": ("learn", "study", "practice", "teach", "tutorial", "beginner", "lesson"),
    "language": ("language", "spanish", "french", "german", "vocabulary", "grammar"),
    "write_prose": ("essay", "story", "novel", "poem", "letter", "article", "blog"),
    "job": ("job", "career", "interview", "resume", "cv", "hire", "employer", "work"),
    "health": ("health", "doctor", "pain", "sick", "ill", "symptom", "medicine", "headache"),
    "weather": ("weather", "rain", "forecast", "storm", "snow", "sunny", "umbrella"),
    "house": ("house", "home", "apartment", "flat", "rent", "room"),
    "clean": ("clean", "wash", "tidy", "scrub", "laundry", "stain"),
    "big": ("big", "large", "huge", "giant", "enormous"),
    "small": ("small", "tiny", "little", "short", "mini"),
    "image": ("image", "picture", "photo", "photograph", "png", "jpeg"),
    "resize": ("resize", "scale", "shrink", "enlarge", "thumbnail"),
    "encrypt": ("encrypt", "cipher", "hash", "secret", "password", "secure", "security"),
    "email": ("email", "mail", "inbox", "message", "spam"),
    "schedule": ("schedule", "plan", "agenda", "meeting", "appointment", "deadline", "calendar"),
    "child": ("child", "kid", "toddler", "baby", "son", "daughter"),
    "birthday": ("birthday", "party", "celebration", "anniversary"),
    "gift": ("gift", "present", "surprise"),
    "space": ("space", "planet", "star", "galaxy", "orbit", "rocket", "astronomy"),
    "history": ("history", "ancient", "empire", "war", "century", "medieval"),
    "math": ("math", "equation", "algebra", "calculus", "derivative", "integral", "formula"),
    "prime": ("prime", "divisor", "factor"),
    "random": ("random", "shuffle", "dice", "chance", "lottery"),
    "search": ("search", "find", "lookup", "locate", "seek", "grep"),
    "regex": ("regex", "regular expression", "pattern", "wildcard"),
    "container": ("docker", "container", "kubernetes", "pod"),
    "git": ("git", "commit", "branch", "rebase", "repository", "repo"),
    "undo": ("undo", "revert", "rollback", "restore", "reset"),
    "json": ("json", "yaml", "toml", "config", "configuration"),
    "coffee": ("coffee", "espresso", "latte", "caffeine", "brew"),
    "tea": ("tea", "matcha", "chai", "herbal"),
    "bike": ("bike", "bicycle", "cycle", "cycling", "tire", "tyre", "pedal"),
    "phone": ("phone", "smartphone", "mobile", "battery", "charger"),
    "stress": ("stress", "anxiety", "anxious", "worry", "nervous", "calm", "relax"),
}
_STOPWORDS = frozenset(
    "a an the of to in on for and or is are be do does did how i my me you your it its this that"
    " with what can could should would way by from at as into about get make so".split()
)
_CONCEPT_OF = {w.replace(" ", "_"): concept for concept, words in CONCEPTS.items() for w in words}
_WORD = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    """Light stemming: plural, -ing, -ed (reversing, reversed, lists -> reverse, list)."""
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            base = word[: -len(suffix)] + repl
            for candidate in (base, base + "e"):
                if candidate in _CONCEPT_OF:
                    return candidate
            return base
    return word


def _hashed(key: str, size: int) -> array.array:
    """A fixed pseudo-random vector for `key`: the `size` first values of an XOF stream (so a
    shorter one is a prefix of a longer one)."""
    cached = _HASHED.get((key, size))
    if cached is None:
        raw = struct.unpack(f"<{size}I", hashlib.shake_256(key.encode()).digest(4 * size))
        if len(_HASHED) > 20_000:
            _HASHED.clear()
        cached = _HASHED[(key, size)] = array.array("d", (x / 2**31 - 1 for x in raw))
    return cached


_HASHED: dict[tuple[str, int], array.array] = {}


def embedding_vector(text: str, size: int) -> list[float]:
    """The fake's embedding of a text: the normalised sum of hashed word vectors, where words of
    one concept (`CONCEPTS`, after light stemming) share a vector and stopwords count for
    nothing, so paraphrases come out close. A text without such words gets the hash of its
    whole text. Unit length, float32 values (what base64 carries, so the float and base64
    encodings agree exactly); a shorter vector is the longer one cut and renormalised, as
    with `dimensions`."""
    low = text.lower()
    keys: list[str] = []
    for phrase in ("how many", "regular expression"):
        if phrase in low:
            keys.append("concept:" + _CONCEPT_OF[phrase.replace(" ", "_")])
            low = low.replace(phrase, " ")
    for word in _WORD.findall(low):
        if word in _STOPWORDS:
            continue
        stem = _stem(word)
        concept = _CONCEPT_OF.get(stem) or _CONCEPT_OF.get(word)
        keys.append("concept:" + concept if concept else "word:" + stem)
    if not keys:  # the raw stream of the whole text
        keys = [text]
    values = [0.0] * size
    for key in keys:
        for i, v in enumerate(_hashed(key, size)):
            values[i] += v
    if len(keys) == 1 and keys[0] == text:
        _HASHED.pop((text, size), None)
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return list(struct.unpack(f"<{size}f", struct.pack(f"<{size}f", *(v / norm for v in values))))


def tiny_png(seed: str) -> bytes:
    """A valid 1x1 RGBA PNG whose colour comes from `seed`."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixel = struct.pack(">I", zlib.crc32(seed.encode()) | 0xFF)  # opaque
    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 1x1, 8 bits, RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" + pixel))
            + chunk(b"IEND", b""))


def image_bytes(seed: str, output_format: str = "png") -> bytes:
    """png: `tiny_png`; jpeg and webp: stubs with their format's magic bytes (not decodable)."""
    if output_format == "jpeg":
        return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + hashlib.sha256(seed.encode()).digest() + b"\xff\xd9"
    if output_format == "webp":
        payload = b"WEBPVP8L" + hashlib.sha256(seed.encode()).digest()
        return b"RIFF" + struct.pack("<I", len(payload)) + payload
    return tiny_png(seed)


def result_image(model: str, prompt: str, index: int, sources: list[bytes] = (), output_format: str = "png") -> bytes:
    """The image the fake makes: from the model, the prompt, the uploaded images and the index."""
    origin = hashlib.sha256(b"".join(sources)).hexdigest()[:12] if sources else ""
    return image_bytes(f"{model}:{prompt}:{origin}:{index}", output_format)


def speech_audio(text: str, fmt: str, speed: float = 1.0) -> bytes:
    """A tone, 0.1 s per word at speed 1: wav and pcm are real audio (24 kHz, 16-bit mono);
    mp3, opus, aac and flac are that PCM behind their format's magic bytes."""
    count = int(SPEECH_RATE * 0.1 * max(1, len(text.split())) / speed)
    pitch = 220 + zlib.crc32(text.encode()) % 440
    pcm = struct.pack(f"<{count}h", *(int(8000 * math.sin(2 * math.pi * pitch * i / SPEECH_RATE))
                                      for i in range(count)))
    if fmt == "pcm":
        return pcm
    if fmt == "wav":
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SPEECH_RATE)
            w.writeframes(pcm)
        return out.getvalue()
    magic = {"mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00", "opus": b"OggS\x00\x02", "aac": b"\xff\xf1\x50\x80",
             "flac": b"fLaC\x00\x00\x00\x22"}[fmt]
    return magic + pcm


AUDIO_FORMATS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")


def _is_wav(data: bytes) -> bool:
    """A WAV the stdlib reads (RIFF/WAVE header, fmt and data chunks): the upload arrived whole."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            return w.getnframes() * w.getsampwidth() * w.getnchannels() <= len(data)
    except (wave.Error, EOFError):
        return False


def audio_duration(data: bytes) -> float:
    """Seconds of an uploaded file: from its header if it is a WAV, else 16 kB per second."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            with wave.open(io.BytesIO(data)) as w:
                return round(w.getnframes() / w.getframerate(), 3)
        except (wave.Error, EOFError, ZeroDivisionError):
            pass
    return round(len(data) / 16_000, 3)


def _timestamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def _segments(text: str, duration: float) -> list[dict[str, Any]]:
    """One segment per sentence, the duration shared by length."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s] or [text]
    total = sum(len(s) for s in sentences) or 1
    out, start = [], 0.0
    for i, sentence in enumerate(sentences):
        end = round(start + duration * len(sentence) / total, 3)
        out.append({"id": i, "seek": 0, "start": round(start, 3), "end": end, "text": f" {sentence}",
                    "tokens": [50364 + k for k in range(len(split_tokens(sentence)))], "temperature": 0.0,
                    "avg_logprob": -0.25, "compression_ratio": 1.2, "no_speech_prob": 0.01})
        start = end
    return out


def _subtitles(segments: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "srt":
        return "".join(f"{i + 1}\n{_timestamp(s['start'], ',')} --> {_timestamp(s['end'], ',')}\n{s['text'].strip()}\n\n"
                       for i, s in enumerate(segments))
    return "WEBVTT\n\n" + "".join(f"{_timestamp(s['start'], '.')} --> {_timestamp(s['end'], '.')}\n{s['text'].strip()}\n\n"
                                   for s in segments)


def _image_kind(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _int_field(value: Any, default: int) -> int | None:
    """An integer from JSON or from a form field (a string); None if it is neither."""
    if value is None:
        return default
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


@dataclass
class Fault:
    kind: str
    status: int | None = None  # status: default 500; html: default 502
    headers: dict[str, str] = field(default_factory=dict)  # e.g. {"Retry-After": "1"}
    body: Any = None  # status: dict (JSON) or str/bytes; html: page; error_event: error; malformed: raw data
    after: int = 0  # drop / malformed / error_event: token chunks sent first
    delay: float = 0.0  # slow_first_byte: seconds before the status line
    path: str | None = None  # only requests to this path ("/v1/chat/completions"); None = any
    reset: bool = False  # drop: abort with TCP RST instead of a plain close
    when: Callable[[Any], bool] | None = None  # only requests whose JSON body this accepts
    events: tuple[Any, ...] = ()  # inject: SSE data (objects or raw strings) sent after `after` chunks

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")

    def matches(self, path: str, body: Any = None) -> bool:
        if self.when is not None and not self.when(body):
            return False
        return self.path is None or self.path.rstrip("/") == path.rstrip("/")


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]  # lower-case names
    json: Any  # parsed body, or None (no body / not JSON)
    body: bytes
    connection_id: int  # 1, 2, ... per TCP connection the server accepted
    t_arrival: float  # time.monotonic() when the request head was parsed
    # Each time is taken just before the bytes are written, so it is set by the time the client
    # has read them; a dropped or abandoned request gets t_finish when the handler gives up.
    t_first_byte: float | None = None  # status line
    t_finish: float | None = None  # last byte of the body (or drop / client gone / stop)
    status: int | None = None
    disconnected: bool = False  # the client went away before the response was complete
    fault: Fault | None = None  # the fault this request consumed
    chunks_sent: int = 0  # token chunks sent (counted as each write starts)
    form: dict[str, Any] | None = None  # multipart text fields (a list for a repeated name)
    files: list[UploadedFile] = field(default_factory=list)  # multipart files, in order

    @property
    def authorized(self) -> bool:
        """The request carried a key: `Authorization` (OpenAI) or `api-key` (Azure)."""
        return "authorization" in self.headers or "api-key" in self.headers


class _Stopped(Exception):
    """stop() was called while the handler waited."""


class _ClientGone(Exception):
    """The peer closed its end."""


class _Dropped(Exception):
    """We closed the connection on purpose (drop fault)."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() closes the sockets and joins the threads itself
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], fake: FakeOpenAI) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can stall.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not self.fake._stopping.is_set():
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-openai/1"
    sys_version = ""
    disable_nagle_algorithm = True  # small SSE writes must leave at once
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.fake = self.server.fake
        self.conn_id = self.fake._register_connection(self.connection)
        self.rec: RecordedRequest | None = None

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.fake._unregister_connection(self.conn_id)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        t_arrival = time.monotonic()
        url = urlsplit(self.path)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        raw = self._read_body()
        try:
            body_json = json.loads(raw) if raw else None
        except ValueError:
            body_json = None
        form, files = None, []
        if headers.get("content-type", "").lower().startswith("multipart/form-data"):
            try:
                form, files = parse_multipart(headers["content-type"], raw)
            except (ValueError, UnicodeDecodeError):
                pass  # form stays None: the endpoint answers 400
        self.rec = rec = RecordedRequest(
            method=self.command, path=url.path, query=url.query, headers=headers, json=body_json,
            body=raw, connection_id=self.conn_id, t_arrival=t_arrival, form=form, files=files)
        self.fake._record(rec)
        try:
            self.fake._respond(self, rec)
        except (_Stopped, _Dropped):
            self.close_connection = True
        except (_ClientGone, OSError):
            self.close_connection = True
            if not self.fake._stopping.is_set():
                self.fake._update(rec, disconnected=True)
        finally:
            if rec.t_finish is None:
                self.fake._update(rec, t_finish=time.monotonic())

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # -- writing ---------------------------------------------------------------------------

    def pause(self, seconds: float) -> None:
        self.fake._pause(self.connection, seconds)

    def start_response(self, status: int, headers: dict[str, str], length: int | None) -> None:
        self.send_response(status)
        merged = {name.lower(): (name, value) for name, value in headers.items()}  # later wins
        for name, value in merged.values():
            self.send_header(name, value)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        # Record before writing, so a client that has seen the bytes always sees the record.
        self.fake._update(self.rec, t_first_byte=time.monotonic(), status=status)
        self.end_headers()

    def send_whole(self, status: int, body: bytes, content_type: str,
                   headers: dict[str, str] | None = None) -> None:
        self.start_response(status, {"Content-Type": content_type, **self._ids(), **(headers or {})},
                            len(body))
        self.fake._update(self.rec, t_finish=time.monotonic())
        self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self.send_whole(status, _dumps(obj), "application/json", headers)

    def start_stream(self) -> None:
        self.start_response(200, {"Content-Type": "text/event-stream; charset=utf-8",
                                  "Cache-Control": "no-cache", **self._ids()}, None)

    def send_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def send_event(self, payload: Any) -> None:
        data = payload if isinstance(payload, str) else _dumps(payload).decode()
        self.send_chunk(f"data: {data}\n\n".encode())

    def end_chunks(self) -> None:
        self.fake._update(self.rec, t_finish=time.monotonic())
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def drop(self, reset: bool) -> None:
        if reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.connection.close()
        raise _Dropped

    def _ids(self) -> dict[str, str]:
        return {"x-request-id": f"req_fake{self.fake._index_of(self.rec)}",
                "openai-processing-ms": "1"}


class FakeOpenAI:
    """The server. Settings are plain attributes, read at each request, so tests may change
    them between requests."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 answer: str | Callable[[dict[str, Any]], str] | None = None,
                 models: list[str | dict[str, Any]] | None = None, rate: float = 0.0,
                 first_byte_delay: float = 0.0, chunk_size: int | None = None,
                 require_key: str | None = None) -> None:
        self.host = host
        self.port = port
        self.answer = answer  # str, callable(request json) -> str, or None for "Echo: <text>"
        self.reasoning: str | Callable[[dict[str, Any]], str] | None = None  # chat: thought before answering
        self.reasoning_field = "reasoning_content"  # or "reasoning" (OpenRouter)
        self.models: list[str | dict[str, Any]] = list(models if models is not None else DEFAULT_MODELS)
        self.rate = rate  # token chunks per second; 0 = as fast as possible
        self.first_byte_delay = first_byte_delay
        self.chunk_size = chunk_size  # None = split into words
        self.require_key = require_key
        self.created = CREATED
        self.flag_word = "dynamite"  # moderations: an input containing it (any case) is flagged
        self.flag_category = "violence"  # ... in this category (one of MODERATION_CATEGORIES)
        self.transcript: str | None = None  # audio: None = "Transcribed <filename>."
        self.transcript_hold: threading.Event | None = None  # streamed transcripts wait for it after one delta
        self.embeddings_reversed = False  # embeddings: data list in reverse index order
        self.schema_answer = "valid"  # json_schema requests: "valid", "violate" or "cut" (see the docstring)
        self.serves_edits = True  # False: POST /v1/edits is 404 "Invalid URL", as on OpenAI today
        self.llamacpp = False  # True: POST /tokenize answers as llama.cpp's (the fake's words as tokens)
        # Chat models that take no images: a request with an image_url part is OpenAI's 400.
        self.text_only_models: set[str] = {"gpt-3.5-turbo"}
        # Function calling (see the module docstring).
        self.tool_plan: list[tuple[str, Any]] | Callable[[dict[str, Any]], list[tuple[str, Any]]] | None = None
        self.tool_rounds = 1
        self.tool_text: str | None = None
        self._files: dict[str, tuple[bytes, str]] = {}  # /files/{name}: (bytes, content type)
        self.on_request: Callable[[RecordedRequest], None] | None = None  # called when finished
        self._cond = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._connections: dict[int, socket.socket] = {}
        self._threads: set[threading.Thread] = set()
        self._connection_ids = itertools.count(1)
        self._connection_count = 0
        self._stopping = threading.Event()
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._wake = socket.socketpair()
        self._httpd = _Server((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._serve, args=(self._httpd, self._wake[0]),
                                        name=f"fake-openai:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop promptly: wake every waiting handler, close every connection, join threads."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        assert self._wake is not None
        self._wake[1].send(b"x")  # stays readable: every select() on it returns at once
        if self._thread is not None:
            self._thread.join(timeout)
        httpd.server_close()
        with self._cond:
            connections = list(self._connections.values())
            threads = list(self._threads)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread is not None and thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        for sock in self._wake:
            sock.close()
        self._wake = None

    @staticmethod
    def _serve(httpd: _Server, wake: socket.socket) -> None:
        # Not serve_forever(): its shutdown() waits out a poll interval; this loop ends at once.
        with selectors.DefaultSelector() as selector:
            selector.register(httpd.socket, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while True:
                if any(key.fileobj is wake for key, _ in selector.select()):
                    return
                httpd._handle_request_noblock()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    @property
    def root_url(self) -> str:
        """The server without /v1: Azure's base URL, and where /files/ lives."""
        if self._httpd is None:
            raise RuntimeError("FakeOpenAI is not running")
        return f"http://{self.host}:{self.port}"

    # -- inspection ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._cond:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._cond:
            return self._requests[-1]

    @property
    def last_post(self) -> RecordedRequest:
        """The last POST: what an app sent, even if one of its background GETs (the model list)
        came in after it."""
        with self._cond:
            return next(r for r in reversed(self._requests) if r.method == "POST")

    @property
    def connection_count(self) -> int:
        """TCP connections accepted so far."""
        with self._cond:
            return self._connection_count

    @property
    def faults(self) -> list[Fault]:
        """Faults still waiting in the queue."""
        with self._cond:
            return list(self._faults)

    def enqueue_fault(self, *faults: Fault) -> None:
        with self._cond:
            self._faults.extend(faults)

    def reset(self) -> None:
        """Forget recorded requests and queued faults."""
        with self._cond:
            self._requests.clear()
            self._faults.clear()

    def wait_for(self, predicate: Callable[[list[RecordedRequest]], bool],
                 timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until predicate(requests) holds; re-checked whenever any record changes."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self._requests), timeout):
                seen = [(r.method, r.path, r.status) for r in self._requests]
                raise TimeoutError(f"condition not met within {timeout}s; requests: {seen}")
            return list(self._requests)

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least n requests have arrived (not necessarily been answered)."""
        return self.wait_for(lambda reqs: len(reqs) >= n, timeout)

    # -- bookkeeping (handler threads) -----------------------------------------------------

    def _register_connection(self, conn: socket.socket) -> int:
        with self._cond:
            conn_id = next(self._connection_ids)
            self._connection_count += 1
            self._connections[conn_id] = conn
            self._threads.add(threading.current_thread())
            return conn_id

    def _unregister_connection(self, conn_id: int) -> None:
        with self._cond:
            self._connections.pop(conn_id, None)
            self._threads.discard(threading.current_thread())

    def _record(self, rec: RecordedRequest) -> None:
        with self._cond:
            for i, fault in enumerate(self._faults):
                if fault.matches(rec.path, rec.json if rec.form is None else rec.form):
                    rec.fault = self._faults.pop(i)
                    break
            self._requests.append(rec)
            self._cond.notify_all()

    def _update(self, rec: RecordedRequest | None, **changes: Any) -> None:
        if rec is None:
            return
        with self._cond:
            for name, value in changes.items():
                setattr(rec, name, value)
            self._cond.notify_all()
        if "t_finish" in changes and self.on_request is not None:
            self.on_request(rec)

    def _index_of(self, rec: RecordedRequest | None) -> int:
        with self._cond:
            return next((i for i, r in enumerate(self._requests, 1) if r is rec), 0)

    def _pause(self, conn: socket.socket, seconds: float) -> None:
        """Wait, but wake at once on stop() (raises _Stopped) or when the client leaves
        (raises _ClientGone), so hangs and paced streams never outlive the test."""
        if self._stopping.is_set():
            raise _Stopped
        if seconds <= 0:
            return
        assert self._wake is not None
        deadline = time.monotonic() + seconds
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake[0], selectors.EVENT_READ)
            selector.register(conn, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                ready = {key.fileobj for key, _ in selector.select(None if math.isinf(remaining) else remaining)}
                if self._wake[0] in ready or self._stopping.is_set():
                    raise _Stopped
                if conn in ready:
                    try:
                        peek = conn.recv(1, socket.MSG_PEEK)
                    except OSError:
                        raise _ClientGone from None
                    if not peek:
                        raise _ClientGone
                    selector.unregister(conn)  # pipelined bytes: stop watching the client

    # -- responding ------------------------------------------------------------------------

    def _respond(self, h: _Handler, rec: RecordedRequest) -> None:
        fault = rec.fault
        if fault is not None and fault.kind == "hang":
            h.pause(math.inf)
        delay = self.first_byte_delay + (fault.delay if fault and fault.kind == "slow_first_byte" else 0)
        h.pause(delay)
        body = rec.json if isinstance(rec.json, dict) else {}
        model = body.get("model") if isinstance(body.get("model"), str) else None
        if fault is not None and fault.kind == "status":
            status = fault.status or 500
            payload = fault.body if fault.body is not None else default_error_body(status, model)
            if isinstance(payload, (dict, list)):
                h.send_json(status, payload, fault.headers)
            else:
                data = payload.encode() if isinstance(payload, str) else payload
                ctype = next((v for k, v in fault.headers.items() if k.lower() == "content-type"),
                             "application/json")
                h.send_whole(status, data, ctype, fault.headers)
            return
        if fault is not None and fault.kind == "html":
            status = fault.status or 502
            page = fault.body if fault.body is not None else html_error_page(status)
            h.send_whole(status, page.encode() if isinstance(page, str) else page,
                         "text/html", fault.headers)
            return
        path = rec.path.rstrip("/")
        if rec.method == "GET" and path.startswith("/files/"):
            self._file(h, rec, unquote(path[len("/files/"):]))  # another host: no key asked
            return
        if self.require_key is not None:
            auth = rec.headers.get("authorization", "")
            if auth != f"Bearer {self.require_key}" and rec.headers.get("api-key") != self.require_key:
                h.send_json(401, _auth_error(auth))
                return
        deployment = None
        if path.startswith("/openai/"):  # Azure: /openai/deployments/{deployment}/{what}, /openai/models
            if "api-version=" not in rec.query:
                h.send_json(404, {"error": {"code": "404", "message": "Resource not found"}})
                return
            parts = path.split("/", 4)
            if len(parts) == 5 and parts[2] == "deployments":
                deployment, path = unquote(parts[3]), "/v1/" + parts[4]
            else:
                path = "/v1/" + path[len("/openai/"):]
        handler = self._handlers().get((rec.method, path))
        if handler is not None:
            handler(h, rec, deployment)
        elif rec.method == "GET" and path == "/v1/models":
            self._ok(h, rec, {"object": "list", "data": [self._model_object(m) for m in self.models]})
        elif rec.method == "GET" and path.startswith("/v1/models/"):
            wanted = unquote(path[len("/v1/models/"):])
            found = next((m for m in map(self._model_object, self.models) if m["id"] == wanted), None)
            if found is None:
                h.send_json(404, model_not_found(wanted))
            else:
                self._ok(h, rec, found)
        elif rec.method == "POST" and path in ("/v1/chat/completions", "/v1/completions"):
            self._complete(h, rec, legacy=path == "/v1/completions")
        else:
            h.send_json(404, openai_error(f"Invalid URL ({rec.method} {rec.path})"))

    def _model_object(self, model: str | dict[str, Any]) -> dict[str, Any]:
        if isinstance(model, dict):
            return model
        return {"id": model, "object": "model", "created": self.created, "owned_by": "openai"}

    def _ok(self, h: _Handler, rec: RecordedRequest, obj: Any) -> None:
        """A whole 200 JSON body, bent by a stream fault if the request carries one."""
        self._ok_bytes(h, rec, _dumps(obj), "application/json")

    def _ok_bytes(self, h: _Handler, rec: RecordedRequest, data: bytes, content_type: str,
                  chunk: int | None = None) -> None:
        """A whole 200 body (in `chunk`-byte HTTP chunks if set, as OpenAI sends speech), bent
        by a stream fault if the request carries one."""
        fault = rec.fault if rec.fault and rec.fault.kind in STREAM_FAULTS else None
        if fault is None and chunk:
            h.start_response(200, {"Content-Type": content_type, **h._ids()}, None)
            for i in range(0, len(data), chunk):
                h.send_chunk(data[i : i + chunk])
            h.end_chunks()
        elif fault is None or fault.kind == "inject":
            h.send_whole(200, data, content_type)
        elif fault.kind == "stall":
            h.start_response(200, {"Content-Type": content_type, **h._ids()}, len(data))
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            h.pause(fault.delay or math.inf)
        elif fault.kind == "drop":
            h.start_response(200, {"Content-Type": content_type, **h._ids()}, len(data))
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            h.drop(fault.reset)
        elif fault.kind == "malformed":
            bad = fault.body if fault.body is not None else data[: len(data) // 2]
            h.send_whole(200, bad.encode() if isinstance(bad, str) else bad, content_type)
        else:
            h.send_json(200, _error_event(fault))

    # -- embeddings, moderations, images, audio ------------------------------------------------

    def _handlers(self) -> dict[tuple[str, str], Callable[[_Handler, RecordedRequest, str | None], None]]:
        return {
            ("POST", "/v1/edits"): self._edits,
            ("POST", "/v1/embeddings"): self._embeddings,
            ("POST", "/v1/moderations"): self._moderations,
            ("POST", "/v1/images/generations"): self._image_generation,
            ("POST", "/v1/images/edits"): self._image_edit,
            ("POST", "/v1/images/variations"): self._image_variation,
            ("POST", "/v1/audio/transcriptions"): self._speech_to_text,
            ("POST", "/v1/audio/translations"): self._speech_to_text,
            ("POST", "/v1/audio/speech"): self._speech,
            ("POST", "/tokenize"): self._tokenize,
        }

    @staticmethod
    def _bad(h: _Handler, message: str, param: str | None = None, code: str | None = "invalid_value") -> None:
        h.send_json(400, openai_error(message, param=param, code=code))

    def _missing(self, h: _Handler, param: str) -> None:
        self._bad(h, f"Missing required parameter: '{param}'.", param, "missing_required_parameter")

    def _json_body(self, h: _Handler, rec: RecordedRequest) -> dict[str, Any] | None:
        if isinstance(rec.json, dict):
            return rec.json
        self._bad(h, "We could not parse the JSON body of your request. (HINT: This likely means you "
                     "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
                     "but what was sent was not valid JSON.)", code=None)
        return None

    def _form_body(self, h: _Handler, rec: RecordedRequest) -> dict[str, Any] | None:
        if rec.form is not None:
            return rec.form
        ctype = rec.headers.get("content-type", "")
        self._bad(h, f"Invalid Content-Type header ({ctype}), expected multipart/form-data. (HINT: If "
                     "you're using curl, you can pass -F 'key=value' to send multipart form data.)", code=None)
        return None

    def _store_file(self, name: str, data: bytes, content_type: str) -> str:
        with self._cond:
            self._files[name] = (data, content_type)
        return f"{self.root_url}/files/{name}?se=2099-01-01T00%3A00%3A00Z&sig=fake"

    def _file(self, h: _Handler, rec: RecordedRequest, name: str) -> None:
        with self._cond:
            found = self._files.get(name)
        if found is None:
            h.send_whole(404, b'<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code>'
                              b"<Message>The specified blob does not exist.</Message></Error>", "application/xml")
        else:
            self._ok_bytes(h, rec, *found)

    def _embeddings(self, h: _Handler, rec: RecordedRequest, deployment: str | None) -> None:
        body = self._json_body(h, rec)
        if body is None:
            return
        model = body.get("model") or deployment
        if not model:
            return self._missing(h, "model")
        inputs = body.get("input")
        if inputs is None:
            return self._missing(h, "input")
        if isinstance(inputs, str) or (isinstance(inputs, list) and inputs and isinstance(inputs[0], int)):
            inputs = [inputs]
        texts: list[str] = []
        tokens = 0
        for item in inputs if isinstance(inputs, list) else [None]:
            if isinstance(item, str) and item:
                texts.append(item)
                tokens += len(split_tokens(item))
            elif isinstance(item, list) and item and all(isinstance(t, int) and not isinstance(t, bool) for t in item):
                texts.append(json.dumps(item))
                tokens += len(item)
            else:
                texts = []
                break
        if not texts or len(texts) > 2048:
            return self._bad(h, "'$.input' is invalid. Please check the API reference: "
                                "https://platform.openai.com/docs/api-reference.", "input")
        fmt = body.get("encoding_format", "float")
        if fmt not in ("float", "base64"):
            return self._bad(h, f"{fmt!r} is not one of ['float', 'base64'] - 'encoding_format'", "encoding_format")
        native = EMBEDDING_SIZES.get(model, DEFAULT_EMBEDDING_SIZE)
        size = body.get("dimensions")
        if size is None:
            size = native
        elif model == "text-embedding-ada-002":
            return self._bad(h, "This model does not support specifying dimensions.", "dimensions")
        elif isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= native:
            return self._bad(h, f"Invalid value for 'dimensions' = {size}. Must be between 1 and {native}.", "dimensions")
        data = []
        for index, text in enumerate(texts):
            vector = embedding_vector(text, size)
            encoded: Any = vector if fmt == "float" else base64.b64encode(struct.pack(f"<{size}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        if self.embeddings_reversed:
            data.reverse()
        self._ok(h, rec, {"object": "list", "data": data, "model": model,
                          "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    def _tokenize(self, h: _Handler, rec: RecordedRequest, deployment: str | None) -> None:
        """llama.cpp's `/tokenize` (`with_pieces`), when `llamacpp` is set; else 404 as OpenAI."""
        if not self.llamacpp:
            return h.send_json(404, openai_error(f"Invalid URL ({rec.method} {rec.path})"))
        body = self._json_body(h, rec)
        if body is None:
            return
        pieces = split_tokens(str(body.get("content", "")))
        h.send_json(200, {"tokens": [{"id": i, "piece": piece} for i, piece in enumerate(pieces, 1)]})

    def _edits(self, h: _Handler, rec: RecordedRequest, deployment: str | None) -> None:
        if not self.serves_edits:
            return h.send_json(404, openai_error(f"Invalid URL ({rec.method} {rec.path})"))
        body = self._json_body(h, rec)
        if body is None:
            return
        instruction = body.get("instruction")
        if not isinstance(instruction, str) or not instruction:
            return self._missing(h, "instruction")
        if not (body.get("model") or deployment):
            return self._missing(h, "model")
        text = body.get("input") or ""
        if not isinstance(text, str):
            return self._bad(h, "'input' must be a string.", "input")
        n = _int_field(body.get("n"), 1)
        if n is None or not 1 <= n <= 20:
            return self._bad(h, f"Invalid value for 'n' = {body.get('n')}. Must be between 1 and 20.", "n")
        edited = apply_edit(text, instruction)
        choices = [{"text": f"[{i}] {edited}" if n > 1 else edited, "index": i, "finish_reason": "stop"}
                   for i in range(n)]
        prompt = len(split_tokens(text)) + len(split_tokens(instruction))
        completion = sum(len(split_tokens(c["text"])) for c in choices)
        self._ok(h, rec, {"object": "edit", "created": self.created, "choices": choices,
                          "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                    "total_tokens": prompt + completion}})

    def _moderations(self, h: _Handler, rec: RecordedRequest, deployment: str | None) -> None:
        body = self._json_body(h, rec)
        if body is None:
            return
        inputs = body.get("input")
        if inputs is None:
            return self._missing(h, "input")
        if isinstance(inputs, str):
            texts = [inputs]
        elif isinstance(inputs, list) and inputs and all(isinstance(x, str) for x in inputs):
            texts = inputs
        elif isinstance(inputs, list) and inputs and all(isinstance(x, dict) for x in inputs):
            texts = [" ".join(p["text"] for p in inputs if p.get("type") == "text" and isinstance(p.get("text"), str))]
        else:
            return self._bad(h, "'$.input' is invalid. Please check the API reference: "
                                "https://platform.openai.com/docs/api-reference.", "input")
        model = body.get("model") or deployment or "omni-moderation-latest"
        self._ok(h, rec, {"id": f"modr-fake{self._index_of(rec):06d}", "model": model,
                          "results": [self._moderation(t) for t in texts]})

    def _moderation(self, text: str) -> dict[str, Any]:
        # Low, text-dependent scores; the flag word puts its category far above the threshold.
        scores = {c: (zlib.crc32(f"{c}:{text}".encode()) % 1000) / 100_000 for c in MODERATION_CATEGORIES}
        if self.flag_word and self.flag_word.lower() in text.lower():
            scores[self.flag_category] = 0.97
        categories = {c: scores[c] >= 0.5 for c in MODERATION_CATEGORIES}
        return {"flagged": any(categories.values()), "categories": categories, "category_scores": scores,
                "category_applied_input_types": {c: ["text"] for c in MODERATION_CATEGORIES}}

    def _image_generation(self, h: _Handler, rec: RecordedRequest, deployment: str | None) -> None:
        body = self._json_body(h, rec)
        if body is None:
            return
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            return self._missing(h, "prompt")
        self._images(h, rec, body.get("model") or deployment or "dall-e-2", prompt, body, [])

    def _image_edit(self, h: _Handler, rec: RecordedRequest, deployment: str | None) -> None:
        form = self._form_body(h, rec)
        if form is None:
            return
        images = [f for f in rec.files if f.name in ("image", "image[]")]
        if not images:
            return self._missing(h, "image")
        prompt = form.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            return self._missing(h, "prompt")
        model = form.get("model") or deployment or "dall-e-2"
        if len(images) > (1 if model == "dall-e-2" else 16):
            return self._bad(h, f"Too many images: {len(images)} for {model}.", "image")
        mask = next((f for f in rec.files if f.name == "mask"), None)
        if self._check_images(h, model, images + ([mask] if mask else [])):
            self._images(h, rec, model, prompt, form, images)

    def _image_variation(self, h: _Handler, rec: RecordedRequest, deployment: str | None) -> None:
        form = self._form_body(h, rec)
        if form is None:
            return
        images = [f for f in rec.files if f.name == "image"]
        if len(images) != 1:
            return self._missing(h, "image")
        model = form.get("model") or deployment or "dall-e-2"
        if self._check_images(h, model, images):
            self._images(h, rec, model, "variation", form, images)

    def _check_images(self, h: _Handler, model: str, uploads: list[UploadedFile]) -> bool:
        """OpenAI's checks of uploaded images: dall-e-2 takes PNGs, gpt-image PNG/JPEG/WebP."""
        for upload in uploads:
            kind = _image_kind(upload.data)
            if model == "dall-e-2" and kind != "png":
                self._bad(h, "Uploaded image must be a PNG and less than 4 MB.", upload.name.rstrip("[]"))
                return False
            if kind is None:
                self._bad(h, f"Invalid file '{upload.name.rstrip('[]')}': unsupported mimetype "
                             f"('{upload.content_type}'). Supported file formats are 'image/jpeg', "
                             "'image/png', and 'image/webp'.", upload.name.rstrip("[]"), "invalid_image_format")
                return False
        return True

    def _images(self, h: _Handler, rec: RecordedRequest, model: str, prompt: str, params: dict[str, Any],
                sources: list[UploadedFile]) -> None:
        """The answer of the three image endpoints (params: the JSON body or the form fields)."""
        n = _int_field(params.get("n"), 1)
        if n is None or not 1 <= n <= 10:
            return self._bad(h, f"Invalid value for 'n' = {params.get('n')}. Must be between 1 and 10.", "n")
        if model == "dall-e-3" and n != 1:
            return self._bad(h, "You must provide n=1 for this model.", "n")
        fmt = params.get("response_format") or "url"
        if fmt not in ("url", "b64_json"):
            return self._bad(h, f"Invalid value: '{fmt}'. Supported values are: 'url' and 'b64_json'.", "response_format")
        gpt_image = model.startswith("gpt-image") or model == "chatgpt-image-latest"
        out_format = (params.get("output_format") or "png") if gpt_image else "png"
        if out_format not in IMAGE_TYPES:
            return self._bad(h, f"Invalid value: '{out_format}'. Supported values are: 'png', 'jpeg' and 'webp'.",
                             "output_format")
        seq = self._index_of(rec)
        data = []
        for i in range(n):
            blob = result_image(model, prompt, i, [f.data for f in sources], out_format)
            if fmt == "url" and not gpt_image:  # gpt-image models always answer base64
                item = {"url": self._store_file(f"img-{seq:06d}-{i}.{out_format}", blob, IMAGE_TYPES[out_format])}
            else:
                item = {"b64_json": base64.b64encode(blob).decode()}
            if model == "dall-e-3":
                item["revised_prompt"] = f"{prompt}, in a detailed digital illustration"
            data.append(item)
        out: dict[str, Any] = {"created": self.created, "data": data}
        if gpt_image:
            text_tokens = len(split_tokens(prompt))
            out.update(background="opaque", output_format=out_format, quality="medium", size="1024x1024",
                       usage={"input_tokens": text_tokens + 65 * len(sources), "output_tokens": 272 * n,
                              "total_tokens": text_tokens + 65 * len(sources) + 272 * n,
                              "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 65 * len(sources)}})
        self._ok(h, rec, out)

    def _speech_to_text(self, h: _Handler, rec: RecordedRequest, deployment: str | None) -> None:
        form = self._form_body(h, rec)
        if form is None:
            return
        upload = next((f for f in rec.files if f.name == "file"), None)
        if upload is None:
            return self._missing(h, "file")
        model = form.get("model") or deployment
        if not model:
            return self._missing(h, "model")
        ext = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
        if ext not in AUDIO_FORMATS:
            return self._bad(h, f"Invalid file format. Supported formats: {list(AUDIO_FORMATS)}", "file",
                             "invalid_value")
        if ext == "wav" and not _is_wav(upload.data):
            return self._bad(h, "Audio file might be corrupted or unsupported", "file", "invalid_value")
        fmt = form.get("response_format") or "json"
        if fmt not in TRANSCRIPT_FORMATS:
            return self._bad(h, f"Invalid value: '{fmt}'. Supported values are: 'json', 'text', 'srt', "
                                "'verbose_json', and 'vtt'.", "response_format")
        if "whisper" not in model and fmt not in ("json", "text"):
            return self._bad(h, f"response_format '{fmt}' is not compatible with model '{model}'. "
                                "Use 'json' or 'text' instead.", "response_format", "unsupported_value")
        translate = rec.path.rstrip("/").endswith("/translations")
        text = self.transcript if self.transcript is not None else f"Transcribed {upload.filename}."
        duration = audio_duration(upload.data)
        language = "english" if translate else LANGUAGES.get(str(form.get("language") or "en"), str(form.get("language")))
        usage = {"type": "duration", "seconds": math.ceil(duration)}
        segments = _segments(text, duration)
        if form.get("stream") == "true" and not translate and "whisper" not in model:
            return self._transcript_stream(h, rec, text, usage)
        if fmt == "json":
            self._ok(h, rec, {"text": text} if translate else {"text": text, "usage": usage})
        elif fmt == "verbose_json":
            out: dict[str, Any] = {"task": "translate" if translate else "transcribe", "language": language,
                                   "duration": duration, "text": text, "segments": segments}
            granularities = form.get("timestamp_granularities[]") or []
            if "word" in granularities:
                words = text.split()
                step = duration / max(len(words), 1)
                out["words"] = [{"word": w, "start": round(k * step, 3), "end": round((k + 1) * step, 3)}
                                for k, w in enumerate(words)]
            if not translate:
                out["usage"] = usage
            self._ok(h, rec, out)
        else:
            body = text + "\n" if fmt == "text" else _subtitles(segments, fmt)
            self._ok_bytes(h, rec, body.encode(), "text/plain; charset=utf-8")

    def _transcript_stream(self, h: _Handler, rec: RecordedRequest, text: str, usage: dict[str, Any]) -> None:
        """`stream=true` (gpt-4o-*transcribe): one `transcript.text.delta` per word, then
        `transcript.text.done`. With `transcript_hold` set, the stream waits for it after the
        first delta (a test sees the transcript arrive in pieces)."""
        h.start_stream()
        words = _TOKEN.findall(text) or [""]
        for i, word in enumerate(words):
            h.send_event({"type": "transcript.text.delta", "delta": word, "logprobs": None})
            if i == 0 and self.transcript_hold is not None:
                self.transcript_hold.wait(30)
            elif self.rate:
                h.pause(1 / self.rate)
        h.send_event({"type": "transcript.text.done", "text": text, "logprobs": None,
                      "usage": {"type": "tokens", "input_tokens": 10, "output_tokens": len(words),
                                "total_tokens": 10 + len(words)}})
        h.end_chunks()

    def _speech(self, h: _Handler, rec: RecordedRequest, deployment: str | None) -> None:
        body = self._json_body(h, rec)
        if body is None:
            return
        for name in ("model", "input", "voice"):
            if not body.get(name) and not (name == "model" and deployment):
                return self._missing(h, name)
        text = body["input"]
        if not isinstance(text, str) or len(text) > 4096:
            return self._bad(h, "'input' must be a string of at most 4096 characters.", "input", "string_above_max_length")
        fmt = body.get("response_format", "mp3")
        if fmt not in SPEECH_TYPES:
            return self._bad(h, f"Invalid value: '{fmt}'. Supported values are: 'mp3', 'opus', 'aac', 'flac', "
                                "'wav', and 'pcm'.", "response_format")
        speed = body.get("speed", 1.0)
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0.25 <= speed <= 4:
            return self._bad(h, f"Invalid value for 'speed' = {speed}. Must be between 0.25 and 4.", "speed")
        self._ok_bytes(h, rec, speech_audio(text, fmt, speed), SPEECH_TYPES[fmt], chunk=4096)

    def _complete(self, h: _Handler, rec: RecordedRequest, legacy: bool) -> None:
        body = rec.json
        if not isinstance(body, dict):
            h.send_json(400, openai_error(
                "We could not parse the JSON body of your request. (HINT: This likely means you "
                "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
                "but what was sent was not valid JSON.)"))
            return
        model = body.get("model")
        if not model:
            h.send_json(400, openai_error("you must provide a model parameter"))
            return
        if model not in {self._model_object(m)["id"] for m in self.models}:
            h.send_json(404, model_not_found(str(model)))
            return
        key = "prompt" if legacy else "messages"
        if body.get(key) is None:
            h.send_json(400, openai_error(f"Missing required parameter: '{key}'.", param=key,
                                          code="missing_required_parameter"))
            return
        n = body.get("n") or 1
        if not isinstance(n, int) or not 1 <= n <= 128:
            h.send_json(400, openai_error(f"{n} is less than the minimum of 1 - 'n'", param="n",
                                          code="integer_below_min_value"))
            return
        if not legacy and model in self.text_only_models and _has_part(body, "image_url"):
            h.send_json(400, openai_error(
                "Invalid content type. image_url is only supported by certain models.",
                param="messages.[0].content.[1].type", code=None))
            return
        gen = _Generation(self, body, legacy, n, self._index_of(rec))
        if body.get("stream") is True:
            self._stream(h, rec, gen)
        else:
            h.pause(gen.token_count / self.rate if self.rate else 0)
            self._ok(h, rec, gen.whole())

    def _stream(self, h: _Handler, rec: RecordedRequest, gen: _Generation) -> None:
        pending = rec.fault if rec.fault and rec.fault.kind in STREAM_FAULTS else None
        h.start_stream()
        sent = 0
        for kind, payload in gen.events():
            if pending is not None and kind != "role" and sent >= pending.after:
                if pending.kind == "stall":  # a started stream goes silent, the socket open
                    h.pause(pending.delay or math.inf)
                if pending.kind == "inject":  # extra events (`events`), then the reply goes on
                    for extra in pending.events:
                        h.send_event(extra)
                else:
                    if pending.kind == "drop":
                        h.drop(pending.reset)
                    if pending.kind == "error_event":
                        h.send_event(_error_event(pending))
                        h.end_chunks()
                        return
                    whole = _dumps(payload).decode()
                    h.send_event(pending.body if pending.body is not None else whole[: len(whole) // 2])
                pending = None
            if kind == "token":
                h.pause(1 / self.rate if self.rate else 0)
                sent += 1
                self._update(rec, chunks_sent=sent)
            h.send_event(payload)
        h.send_event("[DONE]")
        h.end_chunks()


class _Generation:
    """The deterministic reply to one completion request, as whole body or as SSE events."""

    def __init__(self, fake: FakeOpenAI, body: dict[str, Any], legacy: bool, n: int, seq: int) -> None:
        self.body = body
        self.legacy = legacy
        self.model = body["model"]
        self.id = f"{'cmpl' if legacy else 'chatcmpl'}-fake{seq:06d}"
        self.created = fake.created
        chunk_size = fake.chunk_size
        stop = body.get("stop")
        stops = [stop] if isinstance(stop, str) else [s for s in (stop or []) if isinstance(s, str)]
        limit = body.get("max_tokens") if legacy else (
            body.get("max_completion_tokens") if body.get("max_completion_tokens") is not None
            else body.get("max_tokens"))
        if legacy:
            prompt = body.get("prompt")
            prompts = prompt if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt) else [prompt]
            prompts = [p if isinstance(p, str) else json.dumps(p) for p in prompts]
            self.prompt_tokens = sum(len(split_tokens(p)) for p in prompts)
        else:
            texts = [_text_of(m.get("content")) for m in body["messages"] if isinstance(m, dict)]
            last_user = next((_text_of(m.get("content")) + _parts_note(m.get("content")) for m in reversed(body["messages"])
                              if isinstance(m, dict) and m.get("role") == "user"), "")
            prompts = [last_user]
            self.prompt_tokens = sum(len(split_tokens(t)) for t in texts)
        reasoning = None if legacy else (fake.reasoning(body) if callable(fake.reasoning) else fake.reasoning)
        self.reasoning_field = fake.reasoning_field
        # choices: (index, prompt, tokens, finish); their reasoning tokens, by index
        self.choices: list[tuple[int, str, list[str], str]] = []
        self.thoughts: dict[int, list[str]] = {}
        for p_index, prompt_text in enumerate(prompts):
            answer = fake.answer(body) if callable(fake.answer) else fake.answer
            structured = answer is None and not legacy and _structured_answer(body, fake.schema_answer, prompt_text)
            answer = structured or (f"Echo: {prompt_text}" if answer is None else str(answer))
            for i in range(n):
                text = f"[{i}] {answer}" if n > 1 and not structured else answer
                cuts = [pos for s in stops if s and (pos := text.find(s)) >= 0]
                if cuts:
                    text = text[: min(cuts)]
                tokens = split_tokens(text, chunk_size)
                thought = split_tokens(str(reasoning), chunk_size) if reasoning else []
                finish = "stop"
                if isinstance(limit, int) and len(thought) + len(tokens) > limit:  # reasoning counts too
                    thought = thought[: max(limit, 0)]
                    tokens, finish = tokens[: max(limit - len(thought), 0)], "length"
                self.choices.append((p_index * n + i, prompt_text, tokens, finish))
                self.thoughts[p_index * n + i] = thought
        self.reasoning_count = sum(len(t) for t in self.thoughts.values())
        self.tool_calls: list[tuple[str, str, str]] = []  # (id, name, arguments) when it calls tools
        self.tool_text = ""
        if not legacy:
            self._plan_tools(fake, body, seq, chunk_size)
        self.token_count = sum(len(c[2]) for c in self.choices) + self.reasoning_count
        if legacy:
            lp = body.get("logprobs")
            self.logprobs = lp if isinstance(lp, int) and not isinstance(lp, bool) else None
        else:
            self.logprobs = (body.get("top_logprobs") or 0) if body.get("logprobs") is True else None
        self.echo = legacy and body.get("echo") is True
        options = body.get("stream_options")
        self.include_usage = isinstance(options, dict) and options.get("include_usage") is True

    def _plan_tools(self, fake: FakeOpenAI, body: dict[str, Any], seq: int, chunk_size: int | None) -> None:
        """Tool calls instead of text (see the module docstring), or the answer to tool results."""
        messages = [m for m in body["messages"] if isinstance(m, dict)]
        offered = [t.get("function", {}).get("name") for t in body.get("tools") or () if isinstance(t, dict)]
        plan = fake.tool_plan(body) if callable(fake.tool_plan) else fake.tool_plan
        last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
        rounds = sum(1 for m in messages[last_user + 1:] if m.get("role") == "assistant" and m.get("tool_calls"))
        choice = body.get("tool_choice", "auto")
        calls = []
        if offered and plan is not None and rounds < fake.tool_rounds and choice != "none":
            calls = [(name, args) for name, args in plan if name in offered]
            if isinstance(choice, dict):
                wanted = choice.get("function", {}).get("name")
                calls = [c for c in calls if c[0] == wanted] or [(wanted, {})]
            elif choice == "required" and not calls:
                calls = [(offered[0], {})]
            if body.get("parallel_tool_calls") is False:
                calls = calls[:1]
        if not calls:
            if messages and messages[-1].get("role") == "tool" and fake.answer is None:
                names = {c.get("id"): c.get("function", {}).get("name") for m in messages if m.get("role") == "assistant"
                         for c in m.get("tool_calls") or () if isinstance(c, dict)}
                start = max(i for i, m in enumerate(messages) if m.get("role") != "tool") + 1
                results = "; ".join(f"{names.get(m.get('tool_call_id'), '?')}: {_text_of(m.get('content'))}"
                                    for m in messages[start:])
                self.choices = [(0, "", split_tokens(f"Tool results: {results}", chunk_size), "stop")]
            return
        self.tool_calls = [(f"call_{seq}_{i}", name, args if isinstance(args, str) else json.dumps(args))
                           for i, (name, args) in enumerate(calls)]
        self.tool_text = fake.tool_text or ""
        self.choices = [(0, "", split_tokens(self.tool_text, chunk_size) if self.tool_text else [], "tool_calls")]
        self._tool_pieces = [self._call_pieces(i, call, chunk_size) for i, call in enumerate(self.tool_calls)]

    @staticmethod
    def _call_pieces(index: int, call: tuple[str, str, str], chunk_size: int | None) -> list[dict[str, Any]]:
        """A call as streamed: its id, type and the first piece of its name, then the rest of the
        name and the arguments piece by piece."""
        call_id, name, arguments = call
        names = split_tokens(name, chunk_size) if chunk_size else [name]
        pieces = [{"index": index, "id": call_id, "type": "function", "function": {"name": names[0], "arguments": ""}}]
        pieces += [{"index": index, "function": {"name": piece}} for piece in names[1:]]
        pieces += [{"index": index, "function": {"arguments": piece}} for piece in split_tokens(arguments, chunk_size)]
        return pieces

    def usage(self) -> dict[str, Any]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.token_count,
                "total_tokens": self.prompt_tokens + self.token_count,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": self.reasoning_count}}

    def _envelope(self, choices: list[Any], chunk: bool) -> dict[str, Any]:
        obj = "text_completion" if self.legacy else ("chat.completion.chunk" if chunk else "chat.completion")
        out = {"id": self.id, "object": obj, "created": self.created, "model": self.model,
               "system_fingerprint": FINGERPRINT, "choices": choices}
        if chunk and self.include_usage:
            out["usage"] = None  # OpenAI: every other chunk carries "usage": null
        return out

    def _legacy_tokens(self, prompt: str, tokens: list[str]) -> list[tuple[str, float | None, int]]:
        """(token, logprob, text_offset) for a legacy choice, echo included."""
        out: list[tuple[str, float | None, int]] = []
        offset = 0 if self.echo else len(prompt)
        if self.echo:
            for k, tok in enumerate(split_tokens(prompt)):
                out.append((tok, None if k == 0 else _logprob(tok, k), offset))
                offset += len(tok)
        for k, tok in enumerate(tokens):
            out.append((tok, _logprob(tok, k), offset))
            offset += len(tok)
        return out

    def _legacy_logprobs(self, items: list[tuple[str, float | None, int]]) -> dict[str, Any]:
        return {"tokens": [t for t, _, _ in items],
                "token_logprobs": [lp for _, lp, _ in items],
                "top_logprobs": [None if lp is None else dict(_alternatives(t, lp, self.logprobs or 0))
                                 for t, lp, _ in items],
                "text_offset": [off for _, _, off in items]}

    def _chat_logprob(self, tok: str, k: int) -> dict[str, Any]:
        lp = _logprob(tok, k)
        return {"token": tok, "logprob": lp, "bytes": list(tok.encode()),
                "top_logprobs": [{"token": t, "logprob": v, "bytes": list(t.encode())}
                                 for t, v in _alternatives(tok, lp, self.logprobs or 0)]}

    def whole(self) -> dict[str, Any]:
        choices = []
        for index, prompt, tokens, finish in self.choices:
            if self.legacy:
                items = self._legacy_tokens(prompt, tokens)
                choices.append({"text": "".join(t for t, _, _ in items), "index": index,
                                "logprobs": self._legacy_logprobs(items) if self.logprobs is not None else None,
                                "finish_reason": finish})
            else:
                logprobs = None
                if self.logprobs is not None:
                    logprobs = {"content": [self._chat_logprob(t, k) for k, t in enumerate(tokens)],
                                "refusal": None}
                message = {"role": "assistant", "content": "".join(tokens), "refusal": None, "annotations": []}
                if self.thoughts.get(index):
                    message[self.reasoning_field] = "".join(self.thoughts[index])
                if self.tool_calls:
                    message["content"] = message["content"] or None
                    message["tool_calls"] = [{"id": i, "type": "function", "function": {"name": n, "arguments": a}}
                                             for i, n, a in self.tool_calls]
                choices.append({"index": index, "message": message, "logprobs": logprobs, "finish_reason": finish})
        out = self._envelope(choices, chunk=False)
        out["usage"] = self.usage()
        return out

    def events(self) -> list[tuple[str, Any]]:
        """("role" | "token" | "finish" | "usage", payload) in sending order. Choices take turns
        token by token, as OpenAI interleaves them when n > 1."""
        events: list[tuple[str, Any]] = []
        per_choice: list[list[dict[str, Any]]] = []
        for index, prompt, tokens, _ in self.choices:
            if self.legacy:
                per_choice.append([
                    {"text": item[0], "index": index, "finish_reason": None,
                     "logprobs": self._legacy_logprobs([item]) if self.logprobs is not None else None}
                    for item in self._legacy_tokens(prompt, tokens)])
            else:
                events.append(("role", self._envelope([{
                    "index": index, "delta": {"role": "assistant", "content": "", "refusal": None},
                    "logprobs": {"content": [], "refusal": None} if self.logprobs is not None else None,
                    "finish_reason": None}], chunk=True)))
                per_choice.append([
                    {"index": index, "delta": {self.reasoning_field: t}, "logprobs": None, "finish_reason": None}
                    for t in self.thoughts.get(index, ())
                ] + [
                    {"index": index, "delta": {"content": t},
                     "logprobs": ({"content": [self._chat_logprob(t, k)], "refusal": None}
                                  if self.logprobs is not None else None),
                     "finish_reason": None}
                    for k, t in enumerate(tokens)])
        if self.tool_calls:  # the text's tokens and each call's pieces take turns
            per_choice = [per_choice[0], *([{"index": 0, "delta": {"tool_calls": [piece]}, "logprobs": None,
                                             "finish_reason": None} for piece in pieces] for pieces in self._tool_pieces)]
        for row in itertools.zip_longest(*per_choice):
            for choice in row:
                if choice is not None:
                    events.append(("token", self._envelope([choice], chunk=True)))
        for index, _, _, finish in self.choices:
            last = ({"text": "", "index": index, "logprobs": None, "finish_reason": finish} if self.legacy
                    else {"index": index, "delta": {}, "logprobs": None, "finish_reason": finish})
            events.append(("finish", self._envelope([last], chunk=True)))
        if self.include_usage:
            usage = self._envelope([], chunk=True)
            usage["usage"] = self.usage()
            events.append(("usage", usage))
        return events


def _has_part(body: dict[str, Any], kind: str) -> bool:
    return any(isinstance(m, dict) and isinstance(m.get("content"), list)
               and any(isinstance(p, dict) and p.get("type") == kind for p in m["content"])
               for m in body.get("messages") or ())


def _parts_note(content: Any) -> str:
    """The echo's note on a prompt's images and files: " [I see 2 images, 1 file]"."""
    if not isinstance(content, list):
        return ""
    images = sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")
    files = sum(1 for p in content if isinstance(p, dict) and p.get("type") == "file")
    if not images and not files:
        return ""
    seen = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in ((images, "image"), (files, "file")) if n]
    return f" [I see {', '.join(seen)}]"


# -- structured output: an answer made from the request's JSON Schema ----------------------------

SCHEMA_ANSWERS = ("valid", "violate", "cut")
_FORMATS = {"date": "2024-05-17", "date-time": "2024-05-17T09:30:00Z", "time": "09:30:00", "email": "ada@example.com",
            "uri": "https://example.com/", "uuid": "123e4567-e89b-12d3-a456-426614174000", "hostname": "example.com",
            "ipv4": "192.0.2.1", "ipv6": "2001:db8::1", "duration": "P1D"}


def _structured_answer(body: dict[str, Any], mode: str, prompt: str) -> str | None:
    """The answer to a chat request asking for JSON (`response_format`), or None."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_object":
        return json.dumps({"answer": f"Echo: {prompt}"}, ensure_ascii=False)
    schema = (fmt.get("json_schema") or {}).get("schema") if fmt.get("type") == "json_schema" else None
    if not isinstance(schema, dict):
        return None
    instance = schema_instance(schema)
    if mode == "violate":
        instance = violate(instance)
    text = json.dumps(instance, ensure_ascii=False)
    return text[: len(text) // 2] if mode == "cut" else text


def _resolve(ref: str, root: dict[str, Any]) -> Any:
    """A local `$ref` ("#/$defs/item"), or {} for any other."""
    if not ref.startswith("#"):
        return {}
    node: Any = root
    for part in filter(None, ref[1:].split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def schema_instance(schema: Any, root: dict[str, Any] | None = None, key: str = "value", depth: int = 0) -> Any:
    """A small instance of a JSON Schema, the subset structured outputs use: every property, one
    item per array (or minItems), the first enum value, strings from the property's name (or
    its `format`), numbers at their minimum. Deterministic. Standard library only: no
    validator here, so the tests check the result with jsonschema."""
    root = schema if root is None else root
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        return schema_instance(_resolve(schema["$ref"], root), root, key, depth + 1) if depth < 12 else None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for branch in ("anyOf", "oneOf", "allOf"):
        options = schema.get(branch)
        if isinstance(options, list) and options:
            pick = next((o for o in options if isinstance(o, dict) and o.get("type") != "null"), options[0])
            return schema_instance(pick, root, key, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        if depth > 8:
            return {}
        out = {name: schema_instance(sub, root, name, depth + 1) for name, sub in properties.items()}
        for name in schema.get("required") or ():
            out.setdefault(name, name)
        return out
    if kind == "array":
        count = max(int(schema.get("minItems") or 0), 1)
        if isinstance(schema.get("maxItems"), int):
            count = min(count, schema["maxItems"])
        if depth > 8:
            count = min(count, int(schema.get("minItems") or 0))
        prefix = schema.get("prefixItems") if isinstance(schema.get("prefixItems"), list) else []
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        return [schema_instance(prefix[i] if i < len(prefix) else items, root, f"{key}{i + 1}", depth + 1)
                for i in range(max(count, len(prefix)))]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        value: float = 1 if low is None else low + (1 if "minimum" not in schema else 0)
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        if high is not None and value > high:
            value = high - (1 if "maximum" not in schema else 0)
        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and step > 0:
            value = math.ceil(value / step) * step
        if kind == "integer":
            return int(value)
        return value + 0.5 if low is None and high is None and step is None else value
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    text = _FORMATS.get(schema.get("format"), key)
    low, high = schema.get("minLength"), schema.get("maxLength")
    if isinstance(low, int) and len(text) < low:
        text = (text * (low // max(len(text), 1) + 1))[:low]
    if isinstance(high, int):
        text = text[:high]
    return text


def violate(instance: Any) -> Any:
    """The instance with its first number (in document order) made a string "abc"; with no number,
    its first string made 12345, or its first boolean "yes"; else a property "unexpected" added
    (against additionalProperties: false) or, for a bare value, a list."""
    for kind, wrong in ((float, "abc"), (str, 12345), (bool, "yes")):
        done, changed = _swap_first(instance, kind, wrong)
        if done:
            return changed
    if isinstance(instance, dict):
        return {**instance, "unexpected": True}
    return [instance]


def _swap_first(node: Any, kind: type, wrong: Any) -> tuple[bool, Any]:
    matches = (isinstance(node, (int, float)) and not isinstance(node, bool)) if kind is float else (
        isinstance(node, bool) if kind is bool else isinstance(node, kind))
    if matches:
        return True, wrong
    if isinstance(node, dict):
        for name, value in node.items():
            done, changed = _swap_first(value, kind, wrong)
            if done:
                return True, {**node, name: changed}
    if isinstance(node, list):
        for i, value in enumerate(node):
            done, changed = _swap_first(value, kind, wrong)
            if done:
                return True, [*node[:i], changed, *node[i + 1:]]
    return False, node


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _logprob(token: str, position: int) -> float:
    """Deterministic, in [-2.01, -0.01]; varies with the token and its position."""
    return -round(0.01 + ((zlib.crc32(token.encode()) + position) % 1000) / 500, 4)


def _alternatives(token: str, logprob: float, k: int) -> list[tuple[str, float]]:
    """k top candidates: the sampled token first, then made-up ones, each less likely."""
    if k <= 0:
        return []
    stem = token.strip() or "_"
    return [(token, logprob)] + [(f"{stem}#{j}", round(logprob - 1.25 * j, 4)) for j in range(1, k)]


def _error_event(fault: Fault) -> dict[str, Any]:
    if fault.body is None:
        return default_error_body(500)
    return fault.body if isinstance(fault.body, dict) and "error" in fault.body else {"error": fault.body}


def _auth_error(authorization: str) -> dict[str, Any]:
    key = authorization.removeprefix("Bearer ").strip()
    if not key:
        return openai_error(
            "You didn't provide an API key. You need to provide your API key in an Authorization "
            "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password "
            "field (with blank username) if you're accessing the API from your browser and are "
            "prompted for a username and password. You can obtain an API key from "
            "https://platform.openai.com/account/api-keys.")
    masked = key[:3] + "*" * max(len(key) - 7, 0) + key[-4:] if len(key) > 8 else key[:2] + "***"
    return openai_error(f"Incorrect API key provided: {masked}. You can find your API key at "
                        "https://platform.openai.com/account/api-keys.", code="invalid_api_key")


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake OpenAI API for manual testing.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--answer", help='fixed answer (default "Echo: <last user message>")')
    parser.add_argument("--reasoning", help="reasoning streamed before each chat answer (default none)")
    parser.add_argument("--reasoning-field", default="reasoning_content", choices=("reasoning_content", "reasoning"))
    parser.add_argument("--rate", type=float, default=0.0, help="token chunks per second (0 = no pacing)")
    parser.add_argument("--first-byte-delay", type=float, default=0.0)
    parser.add_argument("--chunk-size", type=int, help="characters per chunk (default: words)")
    parser.add_argument("--require-key", help="reject requests without 'Authorization: Bearer KEY'")
    parser.add_argument("--model", action="append", dest="models", help="model id (repeatable)")
    parser.add_argument("--fault", action="append", default=[], metavar="JSON",
                        help='queue a fault, e.g. \'{"kind": "status", "status": 429}\' (repeatable)')
    parser.add_argument("--schema-answer", choices=SCHEMA_ANSWERS, default="valid",
                        help="json_schema requests: a valid instance, one that violates the schema, or one cut mid-JSON")
    parser.add_argument("--quiet", action="store_true", help="do not log requests to stderr")
    parser.add_argument("--tool-plan", metavar="JSON", help='tool calls to answer with, e.g. \'[["add", {"a": 2, "b": 40}]]\'')
    args = parser.parse_args(argv)
    server = FakeOpenAI(host=args.host, port=args.port, answer=args.answer, models=args.models,
                        rate=args.rate, first_byte_delay=args.first_byte_delay,
                        chunk_size=args.chunk_size, require_key=args.require_key)
    server.reasoning, server.reasoning_field = args.reasoning, args.reasoning_field
    server.schema_answer = args.schema_answer
    if args.tool_plan:
        server.tool_plan = [(name, arguments) for name, arguments in json.loads(args.tool_plan)]
    server.enqueue_fault(*(Fault(**json.loads(f)) for f in args.fault))
    if not args.quiet:
        server.on_request = lambda r: print(
            f"{r.method} {r.path} -> {r.status}{' (client left)' if r.disconnected else ''}"
            f"{f' [fault {r.fault.kind}]' if r.fault else ''}", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with server:
        print(server.base_url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
