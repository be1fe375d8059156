"""Loading a tiktoken encoding with a lower memory peak.

tiktoken parses its `.tiktoken` file with `contents.splitlines()`: a list of 200,000 line
objects for o200k_base (~12 MB), freed only when the merge table is built. Their memory is
interleaved with the table's own objects, so it stays reserved while tiktoken's Rust core copies
the table (~45 MB more): the moment the whole app peaks. `parse_ranks` builds the same table
reading one line at a time (measured: the load peaks ~4 MB lower, 96 -> 92 MB in a bare process).

The file is still read and checked by tiktoken itself (`read_file_cached`, sha256), and the
encoding is still built by tiktoken's own constructor: only the parsing function its
constructors call is swapped, for the duration of the load. If tiktoken ever loads its files
differently, the swap does nothing and the load is tiktoken's own.
"""

from __future__ import annotations

import base64
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tiktoken

SWAP = threading.Lock()  # one load at a time may swap the parser (here and in bpe_lean.py)


def parse_ranks(contents: bytes) -> dict[bytes, int]:
    """`tiktoken.load.load_tiktoken_bpe`'s table from a file's bytes, without a list of lines."""
    ranks: dict[bytes, int] = {}
    decode = base64.b64decode
    find = contents.find
    size = len(contents)
    start = 0
    while start < size:
        end = find(b"\n", start)
        if end < 0:
            end = size
        line = contents[start:end]
        start = end + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            continue
        try:
            token, rank = line.split()
            ranks[decode(token)] = int(rank)
        except Exception as exc:
            raise ValueError(f"Error parsing line {line!r}") from exc
    return ranks


def get_encoding(name: str) -> tiktoken.Encoding:
    """`tiktoken.get_encoding(name)`, parsing its file with `parse_ranks`."""
    import tiktoken
    import tiktoken.load

    try:
        import tiktoken_ext.openai_public as public
    except ImportError:
        return tiktoken.get_encoding(name)
    original = getattr(public, "load_tiktoken_bpe", None)
    read = getattr(tiktoken.load, "read_file_cached", None)
    if original is None or read is None:
        return tiktoken.get_encoding(name)

    def load_lean(path: str, expected_hash: str | None = None) -> dict[bytes, int]:
        return parse_ranks(read(path, expected_hash))

    with SWAP:
        public.load_tiktoken_bpe = load_lean
        try:
            return tiktoken.get_encoding(name)
        finally:
            public.load_tiktoken_bpe = original
