"""Exact tiktoken counts in a third of the memory: the same byte-pair encoding, over a compact
table.

A loaded tiktoken encoding costs ~45 MB (o200k_base), held by its Rust core in three tables of
200,000 heap-allocated entries each. It was the largest single cost of the running app, which
stays open all day (issue 17: peak memory after an 8,000-token answer ≤ 100 MB). This module
keeps one sorted list of the token byte strings, shared with the decode table, and the ranks as
a C array: ~12 MB. Encoding is tiktoken's own algorithm, step for step: the encoding's regular
expression splits the text (the `regex` module, which tiktoken itself depends on), a piece that
is a token is one token, and any other piece is merged pair by pair, the lowest rank first
(`tiktoken/src/lib.rs`, `byte_pair_merge`). A cache of pieces makes counting as fast as tiktoken
on text it has seen pieces of (measured: 2.2 M characters, 0.81 s against tiktoken's 0.79 s;
1.4 s the first time).

The files are read and checked (sha256) by tiktoken itself, and the regular expression and
special tokens come from tiktoken's own constructors, so nothing here can drift from tiktoken
but the algorithm, which tests/test_bpe_lean.py compares with tiktoken's output on every kind of
text. One known difference is handled: a character that this Python's Unicode tables
(unicodedata) call unassigned but the `regex` module (newer tables) calls a letter, digit, mark
or space may split differently from tiktoken's Rust tables. Such text is encoded by tiktoken
itself, loaded on first need only.
"""

from __future__ import annotations

import base64
import bisect
import threading
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import regex

_NO_RANK = 1 << 31
_PIECE_CACHE = 100_000  # pieces remembered (cleared when full)
# A class the split depends on; see the module docstring.
_CLASSED = regex.compile(r"[\p{L}\p{N}\p{M}\s]")


class LeanEncoding:
    """tiktoken.Encoding's `encode_ordinary`, `decode_bytes` and `decode_single_token_bytes`,
    with the same results."""

    def __init__(self, name: str, pat_str: str, ranks_file: bytes, special_tokens: Mapping[str, int],
                 reference: Callable[[], Any] | None = None) -> None:
        self.name = name
        self._split = regex.compile(pat_str).findall
        by_rank: list[bytes] = []
        decode = base64.b64decode
        find, size, start = ranks_file.find, len(ranks_file), 0
        while start < size:  # one line at a time: no list of 200,000 lines (see bpe_load.py)
            end = find(b"\n", start)
            if end < 0:
                end = size
            line = ranks_file[start:end].strip()
            start = end + 1
            if not line:
                continue
            try:
                token, rank = line.split()
                if int(rank) != len(by_rank):
                    raise ValueError("ranks must run 0, 1, 2, ... in file order")
                by_rank.append(decode(token))
            except Exception as exc:
                raise ValueError(f"{name}: cannot read line {line[:60]!r}: {exc}") from exc
        order = sorted(range(len(by_rank)), key=by_rank.__getitem__)
        self._by_rank = by_rank  # rank -> bytes
        self._sorted = [by_rank[i] for i in order]  # the same bytes objects, in byte order
        self._sorted_ranks = array("i", order)
        del order
        self._special = {rank: text.encode() for text, rank in special_tokens.items()}
        self.n_vocab = max(len(by_rank), *(r + 1 for r in self._special))
        self._pieces: dict[str, tuple[int, ...]] = {}
        self._reference = reference
        self._reference_lock = threading.Lock()
        self._loaded_reference: Any = None

    # -- encoding -------------------------------------------------------------------------------

    def _rank(self, piece: bytes) -> int:
        tokens = self._sorted
        i = bisect.bisect_left(tokens, piece)
        if i < len(tokens) and tokens[i] == piece:
            return self._sorted_ranks[i]
        return _NO_RANK

    def _merge(self, piece: bytes) -> tuple[int, ...]:
        """tiktoken's byte_pair_merge: start from single bytes; merge the adjacent pair whose
        joined bytes have the lowest rank (the leftmost of equals) until no pair is a token."""
        rank = self._rank
        starts = list(range(len(piece) + 1))
        ranks = [rank(piece[i:i + 2]) for i in range(len(piece) - 1)] + [_NO_RANK, _NO_RANK]
        while (lowest := min(ranks)) != _NO_RANK:
            i = ranks.index(lowest)
            if i > 0:
                ranks[i - 1] = rank(piece[starts[i - 1]:starts[i + 2]]) if i + 2 < len(starts) else _NO_RANK
            ranks[i] = rank(piece[starts[i]:starts[i + 3]]) if i + 3 < len(starts) else _NO_RANK
            del starts[i + 1], ranks[i + 1]
        return tuple(rank(piece[a:b]) for a, b in zip(starts, starts[1:]))

    def encode_ordinary(self, text: str) -> list[int]:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: tiktoken's own fix-up
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        if not text.isascii() and self._needs_reference(text):
            return self._reference_encoding().encode_ordinary(text)
        out: list[int] = []
        pieces = self._pieces
        for piece in self._split(text):
            ids = pieces.get(piece)
            if ids is None:
                data = piece.encode("utf-8")
                whole = self._rank(data)
                ids = (whole,) if whole != _NO_RANK else self._merge(data)
                if len(pieces) >= _PIECE_CACHE:
                    pieces.clear()
                pieces[piece] = ids
            out.extend(ids)
        return out

    def _needs_reference(self, text: str) -> bool:
        category = unicodedata.category
        return any(category(c) == "Cn" and _CLASSED.match(c) for c in set(text) if c > "\x7f")

    def _reference_encoding(self) -> Any:
        with self._reference_lock:
            if self._loaded_reference is None:
                if self._reference is None:
                    raise RuntimeError(f"{self.name}: no reference encoding for this text")
                self._loaded_reference = self._reference()
            return self._loaded_reference

    # -- decoding -------------------------------------------------------------------------------

    def decode_single_token_bytes(self, token: int) -> bytes:
        if 0 <= token < len(self._by_rank):
            return self._by_rank[token]
        try:
            return self._special[token]
        except (KeyError, TypeError):
            raise KeyError(token) from None

    def decode_bytes(self, tokens: Iterable[int]) -> bytes:
        return b"".join(map(self.decode_single_token_bytes, tokens))


def load(name: str, reference: Callable[[], Any] | None = None) -> LeanEncoding | None:
    """The lean form of tiktoken's encoding `name`, its file read and checked by tiktoken; None
    for an encoding whose files are not in tiktoken's ranks format (gpt2). `reference` loads the
    tiktoken encoding itself, for the rare text that needs it."""
    import tiktoken.load
    import tiktoken_ext.openai_public as public

    constructor = public.ENCODING_CONSTRUCTORS.get(name)
    original = getattr(public, "load_tiktoken_bpe", None)
    if constructor is None or original is None:
        return None
    files: list[bytes] = []

    def read_only(path: str, expected_hash: str | None = None) -> dict[bytes, int]:
        files.append(tiktoken.load.read_file_cached(path, expected_hash))
        return {}

    from chat_tui.core.bpe_load import SWAP  # one load at a time may swap the reader

    with SWAP:
        public.load_tiktoken_bpe = read_only
        try:
            spec = constructor()
        finally:
            public.load_tiktoken_bpe = original
    if len(files) != 1:
        return None
    return LeanEncoding(spec["name"], spec["pat_str"], files[0], spec["special_tokens"], reference)
