"""Exact, offline token counting with tiktoken's encodings (held in the lean form of
core/bpe_lean.py: the same ids in a third of the memory).

tiktoken normally downloads its BPE files on first use. This machine (and many users') has no
network, so we install the genuine o200k_base and cl100k_base files from the `bpe-openai` wheel
into tiktoken's cache directory ourselves, under the name tiktoken looks for (sha1 of the blob
URL), and only ever ask tiktoken for an encoding whose files are present and valid there. Any
other encoding is "unavailable": its counts become estimates, and nothing touches the network.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import re
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken

    from chat_tui.core.messages import ChatMessage

_BLOB = "https://openaipublic.blob.core.windows.net"

# The files each encoding's constructor in tiktoken_ext/openai_public.py reads, with the sha256
# tiktoken expects (tiktoken 0.14.0). A test checks these against the installed tiktoken.
ENCODING_FILES: dict[str, tuple[tuple[str, str], ...]] = {
    "o200k_base": (
        (
            f"{_BLOB}/encodings/o200k_base.tiktoken",
            "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        ),
    ),
    "cl100k_base": (
        (
            f"{_BLOB}/encodings/cl100k_base.tiktoken",
            "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        ),
    ),
    "p50k_base": (
        (
            f"{_BLOB}/encodings/p50k_base.tiktoken",
            "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
        ),
    ),
    "r50k_base": (
        (
            f"{_BLOB}/encodings/r50k_base.tiktoken",
            "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
        ),
    ),
    "gpt2": (
        (
            f"{_BLOB}/gpt-2/encodings/main/vocab.bpe",
            "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
        ),
        (
            f"{_BLOB}/gpt-2/encodings/main/encoder.json",
            "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
        ),
    ),
}
ENCODING_FILES["o200k_harmony"] = ENCODING_FILES["o200k_base"]  # same ranks, more specials
ENCODING_FILES["p50k_edit"] = ENCODING_FILES["p50k_base"]

# Files we can install without a network: blob URL -> file name in bpe_openai/data/.
_BUNDLED = {
    f"{_BLOB}/encodings/o200k_base.tiktoken": "o200k_base.tiktoken.gz",
    f"{_BLOB}/encodings/cl100k_base.tiktoken": "cl100k_base.tiktoken.gz",
}

FALLBACK_ENCODING = "o200k_base"
CHARS_PER_TOKEN = 4
# A live count while an answer streams (the meter, a compare lane's header) counts at most this
# much new text at once on the UI's event loop; a burst beyond it is estimated until the final
# count. Counting is O(text), ~0.5 s for a megabyte here, and one long word is slower still.
COUNT_AT_ONCE = 65_536
HEURISTIC = "chars/4"  # TokenCount.encoding when no tokenizer at all was available

# Mirrors tiktoken 0.14.0 tiktoken/model.py (checked by a test), plus a few names it lacks.
_MODEL_TO_ENCODING: dict[str, str] = {
    "o1": "o200k_base", "o3": "o200k_base", "o4-mini": "o200k_base",
    "gpt-5": "o200k_base", "gpt-4.1": "o200k_base", "gpt-4o": "o200k_base",
    "gpt-4.5": "o200k_base", "chatgpt-4o-latest": "o200k_base", "gpt-oss": "o200k_harmony",
    "codex-mini-latest": "o200k_base",
    "gpt-4": "cl100k_base", "gpt-3.5-turbo": "cl100k_base", "gpt-3.5": "cl100k_base",
    "gpt-35-turbo": "cl100k_base",
    "davinci-002": "cl100k_base", "babbage-002": "cl100k_base",
    "text-embedding-ada-002": "cl100k_base", "ada-002": "cl100k_base",
    "text-embedding-3-small": "cl100k_base", "text-embedding-3-large": "cl100k_base",
    "text-davinci-003": "p50k_base", "text-davinci-002": "p50k_base",
    "text-davinci-001": "r50k_base", "text-curie-001": "r50k_base",
    "text-babbage-001": "r50k_base", "text-ada-001": "r50k_base",
    "davinci": "r50k_base", "curie": "r50k_base", "babbage": "r50k_base", "ada": "r50k_base",
    "code-davinci-002": "p50k_base", "code-davinci-001": "p50k_base",
    "code-cushman-002": "p50k_base", "code-cushman-001": "p50k_base",
    "davinci-codex": "p50k_base", "cushman-codex": "p50k_base",
    "text-davinci-edit-001": "p50k_edit", "code-davinci-edit-001": "p50k_edit",
    "text-similarity-davinci-001": "r50k_base", "text-similarity-curie-001": "r50k_base",
    "text-similarity-babbage-001": "r50k_base", "text-similarity-ada-001": "r50k_base",
    "text-search-davinci-doc-001": "r50k_base", "text-search-curie-doc-001": "r50k_base",
    "text-search-babbage-doc-001": "r50k_base", "text-search-ada-doc-001": "r50k_base",
    "code-search-babbage-code-001": "r50k_base", "code-search-ada-code-001": "r50k_base",
    "gpt2": "gpt2", "gpt-2": "gpt2",
}

_MODEL_PREFIX_TO_ENCODING: dict[str, str] = {
    "o1-": "o200k_base", "o3-": "o200k_base", "o4-mini-": "o200k_base",
    "gpt-5": "o200k_base", "gpt-4.5-": "o200k_base", "gpt-4.1-": "o200k_base",
    "chatgpt-4o-": "o200k_base", "gpt-4o-": "o200k_base",
    "gpt-4-": "cl100k_base", "gpt-3.5-turbo-": "cl100k_base", "gpt-35-turbo-": "cl100k_base",
    "gpt-oss-": "o200k_harmony", "gpt-oss:": "o200k_harmony",  # ollama tags
    "text-embedding-3-": "cl100k_base",
    "ft:gpt-4o": "o200k_base", "ft:gpt-4.1": "o200k_base", "ft:o4-mini": "o200k_base",
    "ft:gpt-4": "cl100k_base", "ft:gpt-3.5-turbo": "cl100k_base",
    "ft:davinci-002": "cl100k_base", "ft:babbage-002": "cl100k_base",
}
# Longest prefix first, so "ft:gpt-4o" wins over "ft:gpt-4" whatever the table order.
_PREFIXES = sorted(_MODEL_PREFIX_TO_ENCODING.items(), key=lambda kv: -len(kv[0]))

# Azure deployments and proxies use free-form names ("prod-gpt4o-eu"); look for a family name
# between separators. Best effort: "gpt-4" must not be followed by "-x" (gpt4-x-alpaca is Llama).
_FUZZY = (
    (re.compile(r"(?:^|[^a-z0-9])(?:gpt-?4o|gpt-?4\.?1|gpt-?4\.?5|gpt-?5)(?![a-z0-9])"),
     "o200k_base"),
    (re.compile(r"(?:^|[^a-z0-9])gpt-?3\.?5(?:-?turbo)?(?![a-z0-9])"), "cl100k_base"),
    (re.compile(r"(?:^|[^a-z0-9])gpt-?4(?:-turbo|-32k)?(?![a-z0-9.])(?!-x)"), "cl100k_base"),
)

_PROVIDER_PREFIX = re.compile(r"^(?:openai|azure|azure_openai|openrouter)\s*:\s*")


@functools.lru_cache(maxsize=512)
def _lookup(model: str) -> str | None:
    """The encoding of an OpenAI model, or None if the name isn't one we recognise."""
    name = model.strip().lower()
    name = name.rsplit("/", 1)[-1]  # "openai/gpt-4o", "openrouter/openai/gpt-4o"
    name = _PROVIDER_PREFIX.sub("", name)
    if name in _MODEL_TO_ENCODING:
        return _MODEL_TO_ENCODING[name]
    for prefix, encoding in _PREFIXES:
        if name.startswith(prefix):
            return encoding
    for pattern, encoding in _FUZZY:
        if pattern.search(name):
            return encoding
    return None


def encoding_name_for_model(model: str) -> str:
    """The tiktoken encoding for `model`; unknown and local models get o200k_base as a stand-in."""
    return _lookup(model) or FALLBACK_ENCODING


def is_openai_tokenizer_model(model: str) -> bool:
    """False when encoding_name_for_model() is only a stand-in (llama, qwen, ...)."""
    return _lookup(model) is not None


@dataclass(frozen=True, slots=True)
class TokenCount:
    tokens: int
    exact: bool
    encoding: str  # the encoding that produced the number, or HEURISTIC

    def __str__(self) -> str:
        return str(self.tokens) if self.exact else f"~{self.tokens}"


class EncodingUnavailable(LookupError):
    """The model's encoding can't be loaded offline, so token ids would be meaningless."""


def _bundled_data_dirs() -> list[Path]:
    # find_spec on a top-level name does not import it: bpe_openai loads a Rust extension we
    # don't need, we only want its data files.
    try:
        spec = importlib.util.find_spec("bpe_openai")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(location) / "data" for location in spec.submodule_search_locations]


def _sha256_matches(path: Path, expected: str) -> bool:
    import hashlib  # imported on use: faster start-up

    try:
        data = path.read_bytes()
    except OSError:
        return False
    return hashlib.sha256(data).hexdigest() == expected


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)  # readers see the old file or the whole new one, never a part
    finally:
        tmp.unlink(missing_ok=True)


_env_lock = threading.Lock()


class TokenCounter:
    """Counts tokens for chat models, loading each encoding once, lazily, without a network.

    Loading o200k_base takes a noticeable fraction of a second: call preload() from a thread
    worker and use try_count_text() on the UI thread, which never waits.
    """

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir)
        self._encodings: dict[str, tiktoken.Encoding] = {}
        self._unavailable: dict[str, str] = {}  # encoding -> why
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._prepare_lock = threading.Lock()
        self._verified: set[tuple[str, str]] = set()  # (cache dir, url) known good

    # -- installing files -------------------------------------------------------------------

    def effective_cache_dir(self) -> Path:
        """Where tiktoken will look: the user's TIKTOKEN_CACHE_DIR if set, else ours (we set it).

        An empty TIKTOKEN_CACHE_DIR means "no cache" to tiktoken, i.e. always download; offline
        that can only fail, so it is treated as unset.
        """
        with _env_lock:
            user_dir = os.environ.get("TIKTOKEN_CACHE_DIR")
            if user_dir:
                return Path(user_dir)
            os.environ["TIKTOKEN_CACHE_DIR"] = str(self.cache_dir)
            return self.cache_dir

    def prepare(self) -> dict[str, str | None]:
        """Install the bundled encoding files; return {encoding: None if ready, else why not}.

        Idempotent; after the first call in a process it only checks a set.
        """
        cache_dir = self.effective_cache_dir()
        with self._prepare_lock:  # one thread installs and hashes; the others find it done
            return {name: self._ensure_files(name, cache_dir) for name in ("o200k_base", "cl100k_base")}

    def _ensure_files(self, encoding: str, cache_dir: Path, *, recheck: bool = False) -> str | None:
        """Make every file of `encoding` valid in `cache_dir`; None if done, else the reason.

        `recheck` hashes again even if verified before: right before tiktoken reads a file, since
        tiktoken answers a bad file by deleting it and downloading a new one.
        """
        import hashlib  # imported on use: faster start-up

        files = ENCODING_FILES.get(encoding)
        if files is None:
            return f"unknown encoding {encoding}"
        for url, sha256 in files:
            key = (str(cache_dir), url)
            if key in self._verified and not recheck:
                continue
            path = cache_dir / hashlib.sha1(url.encode()).hexdigest()
            if not _sha256_matches(path, sha256):
                problem = self._install(url, sha256, path)
                if problem:
                    return problem
            self._verified.add(key)
        return None

    @staticmethod
    def _install(url: str, sha256: str, path: Path) -> str | None:
        import gzip  # these only when installing or checking files (faster start-up)
        import hashlib

        bundled = _BUNDLED.get(url)
        if bundled is None:
            return f"{url.rsplit('/', 1)[-1]} is not in the cache and can't be downloaded offline"
        for data_dir in _bundled_data_dirs():
            try:
                data = gzip.decompress((data_dir / bundled).read_bytes())
            except (OSError, EOFError, gzip.BadGzipFile):
                continue
            if hashlib.sha256(data).hexdigest() != sha256:
                continue  # a bpe-openai release with different contents; never hand it over
            try:
                _write_atomically(path, data)
            except OSError as exc:
                return f"can't write {path}: {exc}"
            return None
        return f"{bundled} not found (is bpe-openai installed?)"

    # -- loading ----------------------------------------------------------------------------

    def _lock_for(self, encoding: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(encoding, threading.Lock())

    def _load(self, encoding: str) -> tiktoken.Encoding | None:
        """The encoding, loading it if needed (blocks); None if it can't be had offline."""
        loaded = self._encodings.get(encoding)
        if loaded is not None or encoding in self._unavailable:
            return loaded
        with self._lock_for(encoding):
            loaded = self._encodings.get(encoding)
            if loaded is not None or encoding in self._unavailable:
                return loaded
            problem = self._ensure_files(encoding, self.effective_cache_dir(), recheck=True)
            if problem is None:
                try:
                    loaded = _load_encoding(encoding)
                except Exception as exc:  # noqa: BLE001 - any failure means "estimate"
                    problem = f"tiktoken failed to load {encoding}: {exc}"
            if loaded is None:
                self._unavailable[encoding] = problem or "unavailable"
            else:
                self._encodings[encoding] = loaded
            return loaded

    def unavailable(self) -> dict[str, str]:
        """Encodings found unavailable so far, with the reason (for a status line or log)."""
        return dict(self._unavailable)

    def preload(self, *models: str) -> None:
        """Load what counting for `models` needs (default: o200k_base). Blocks: use a thread."""
        self.prepare()
        for encoding in [encoding_name_for_model(m) for m in models] or [FALLBACK_ENCODING]:
            if self._load(encoding) is None:
                self._load(FALLBACK_ENCODING)

    def is_loaded(self, model: str) -> bool:
        """True when counting for `model` won't have to load anything. Never blocks."""
        return self._resolve_nowait(model) is not None

    # -- counting ---------------------------------------------------------------------------

    def _resolve_nowait(self, model: str) -> tuple[Any, bool, str] | None:
        """(encoding or None for chars/4, exact, name) if ready without loading, else None."""
        name = encoding_name_for_model(model)
        exact = is_openai_tokenizer_model(model)
        loaded = self._encodings.get(name)
        if loaded is not None:
            return loaded, exact, name
        if name not in self._unavailable:
            return None
        fallback = self._encodings.get(FALLBACK_ENCODING)
        if fallback is not None:
            return fallback, False, FALLBACK_ENCODING
        if FALLBACK_ENCODING in self._unavailable:
            return None, False, HEURISTIC
        return None

    def _resolve(self, model: str) -> tuple[Any, bool, str]:
        name = encoding_name_for_model(model)
        loaded = self._load(name)
        if loaded is not None:
            return loaded, is_openai_tokenizer_model(model), name
        fallback = self._load(FALLBACK_ENCODING)
        if fallback is not None:
            return fallback, False, FALLBACK_ENCODING
        return None, False, HEURISTIC

    @staticmethod
    def _count(encoding: Any, text: str) -> int:
        if encoding is None:
            return math.ceil(len(text) / CHARS_PER_TOKEN)
        # Special-token text typed by a user ("<|endoftext|>") is ordinary text to the API.
        return len(encoding.encode_ordinary(text))

    def count_text(self, text: str, model: str) -> TokenCount:
        """Tokens in `text` for `model`. May block while an encoding loads."""
        encoding, exact, name = self._resolve(model)
        return TokenCount(self._count(encoding, text), exact, name)

    def try_count_text(self, text: str, model: str) -> TokenCount | None:
        """Like count_text, but None instead of waiting for an encoding to load."""
        resolved = self._resolve_nowait(model)
        if resolved is None:
            return None
        encoding, exact, name = resolved
        return TokenCount(self._count(encoding, text), exact, name)

    def count_completion(self, text: str, model: str) -> TokenCount:
        """Tokens of a (streamed) answer: just its text, without message framing.

        Reasoning models also bill hidden reasoning tokens, which only the API's usage reports.
        """
        return self.count_text(text, model)

    def count_messages(
        self, messages: Iterable[ChatMessage | Mapping[str, Any]], model: str
    ) -> TokenCount:
        """Prompt tokens for a chat request, by OpenAI's cookbook recipe.

        Each message costs 3 tokens of framing plus its role, content and name (+1 with a name),
        and 3 more prime the reply. The recipe is OpenAI's published approximation for
        gpt-3.5-turbo-0125 and later; it is exact for the cookbook's examples.
        """
        encoding, exact, name = self._resolve(model)
        total, text_only = self._count_messages(encoding, messages, model)
        return TokenCount(total, exact and text_only, name)

    def try_count_messages(
        self, messages: Iterable[ChatMessage | Mapping[str, Any]], model: str
    ) -> TokenCount | None:
        """Like count_messages, but None instead of waiting for an encoding to load."""
        resolved = self._resolve_nowait(model)
        if resolved is None:
            return None
        encoding, exact, name = resolved
        total, text_only = self._count_messages(encoding, messages, model)
        return TokenCount(total, exact and text_only, name)

    def _count_messages(
        self, encoding: Any, messages: Iterable[ChatMessage | Mapping[str, Any]], model: str = ""
    ) -> tuple[int, bool]:
        """(tokens, whether the count is exact). Images are counted by the model's published
        rule (core.attachments.image_tokens: size and detail); audio and files have rules of
        their own, so a count with them, or an image under an unknown rule, is an estimate."""
        # imported on use: a faster start-up (core.messages: six dataclasses, ~4 ms)
        from chat_tui.core.attachments import parts_image_tokens
        from chat_tui.core.messages import ChatMessage, ImagePart, TextPart

        total = 3  # every reply is primed with <|start|>assistant<|message|>
        text_only = True
        for message in messages:
            if not isinstance(message, ChatMessage):
                message = ChatMessage.from_wire(dict(message))
            total += 3
            total += self._count(encoding, message.role) + self._count(encoding, message.text)
            if not isinstance(message.content, str):
                images, images_exact = parts_image_tokens(message.content, model)
                total += images
                text_only = text_only and images_exact and all(
                    isinstance(p, (TextPart, ImagePart)) for p in message.content)
            for call in message.tool_calls:
                total += self._count(encoding, call.name) + self._count(encoding, call.arguments)
            if message.name:
                total += 1 + self._count(encoding, message.name)
        return total, text_only

    def chunk_text(self, text: str, model: str, limit: int) -> list[str]:
        """`text` cut into pieces of at most `limit` tokens (for an input limit: nothing is
        dropped; the pieces joined give `text` back). Cuts fall on token boundaries that do not
        split a UTF-8 character. Without an encoding, 3 characters count as a token (fewer than
        the usual 4, so a piece stays under the limit). May block while an encoding loads."""
        if limit < 1:
            raise ValueError("a chunk needs room for at least one token")
        encoding, _exact, _name = self._resolve(model)
        if encoding is None:
            size = limit * 3
            return [text[i:i + size] for i in range(0, len(text), size)] or [text]
        tokens = encoding.encode_ordinary(text)
        if len(tokens) <= limit:
            return [text]
        chunks: list[str] = []
        start = 0
        while start < len(tokens):
            end = min(start + limit, len(tokens))
            while True:  # back off until the piece ends on a whole character
                try:
                    chunks.append(encoding.decode_bytes(tokens[start:end]).decode("utf-8"))
                    break
                except UnicodeDecodeError:
                    if end - start <= 1 or end == len(tokens):
                        chunks.append(encoding.decode_bytes(tokens[start:end]).decode("utf-8", "replace"))
                        break
                    end -= 1
            start = end
        return chunks

    # -- token ids (logit_bias editor) ------------------------------------------------------

    def _exact_encoding(self, model: str) -> Any:
        name = encoding_name_for_model(model)
        loaded = self._load(name)
        if loaded is None:
            raise EncodingUnavailable(f"{name} ({model}): {self._unavailable.get(name)}")
        return loaded

    def encode_with_pieces(self, text: str, model: str) -> list[tuple[int, str]]:
        """Token ids of `text` with the text of each; pieces that split a UTF-8 character show
        U+FFFD. Raises EncodingUnavailable rather than give ids from the wrong vocabulary.
        (For unknown models these are o200k_base ids, which only OpenAI-tokenized models use.)
        """
        encoding = self._exact_encoding(model)
        return [
            (token, encoding.decode_single_token_bytes(token).decode("utf-8", errors="replace"))
            for token in encoding.encode_ordinary(text)
        ]

    def token_id_to_piece(self, token_id: int, model: str) -> str:
        """The text of one token id; KeyError if the vocabulary has no such id."""
        encoding = self._exact_encoding(model)
        try:
            piece = encoding.decode_single_token_bytes(token_id)
        except (KeyError, OverflowError, ValueError, TypeError) as exc:
            raise KeyError(f"no token {token_id} in {encoding.name}") from exc
        return piece.decode("utf-8", errors="replace")


__all__ = [
    "ENCODING_FILES",
    "EncodingUnavailable",
    "FALLBACK_ENCODING",
    "HEURISTIC",
    "TokenCount",
    "TokenCounter",
    "encoding_name_for_model",
    "is_openai_tokenizer_model",
]


def _load_encoding(name: str) -> Any:
    """The encoding `name`: its lean form (core/bpe_lean.py: the same counts in ~12 MB instead
    of tiktoken's ~45), or tiktoken's own where the lean form can't read its files."""
    from chat_tui.core import bpe_lean
    from chat_tui.core.bpe_load import get_encoding  # tiktoken, imported late

    def reference() -> Any:
        encoding = get_encoding(name)
        _shed_python_ranks(encoding)
        return encoding

    return bpe_lean.load(name, reference) or reference()


def _shed_python_ranks(enc: "tiktoken.Encoding") -> None:
    """Free the Python copy of the merge table (~27 MB for o200k_base).

    tiktoken keeps `_mergeable_ranks` beside its Rust core, which holds its own copy and does all
    the encoding and decoding; the Python dict only serves pickling of unregistered encodings
    (registered ones, like ours, pickle by name). Without it a loaded o200k_base costs about
    45 MB instead of 75 MB, which matters for a chat client that stays open all day.
    """
    import gc

    from chat_tui.core.memory import trim_heap

    if getattr(enc, "_mergeable_ranks", None) is not None:
        import tiktoken.registry

        if tiktoken.registry.ENCODINGS.get(enc.name) is enc:
            del enc._mergeable_ranks
            gc.collect()
            trim_heap()
