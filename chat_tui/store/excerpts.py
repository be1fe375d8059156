"""Search excerpts read from a bounded window of each message, whatever its size.

FTS5's ``snippet()`` and ``highlight()`` take time in the square of the matches in one
message (a 2 MB message of one repeated word: minutes of CPU, in a C call nothing can
interrupt), so excerpts are made here instead, in the shape of ``snippet(…, '…', 16)``:
about `EXCERPT_TOKENS` tokens around the message's first match, each match between
`RAW_MATCH_START` and `RAW_MATCH_END`, ``…`` where the message goes on.

How: the text is read with SQLite's incremental blob I/O, so only the bytes wanted leave
the file. The first `HEAD` bytes are cut into overlapping windows and tokenized by a scratch
in-memory FTS5 table with the index's own tokenizer, so a match here is exactly a match
there (stems, case, diacritics); the first window with a match is highlighted. A message
with no match in its head is scanned, `CHUNK` bytes at a time and up to `SCAN` bytes, for
the start of a word holding the stem of a query term (lower-cased ASCII: "happi" -> "happ",
which "happy" holds too), and each candidate is confirmed in a window the same way (at most
`TRIES`). If neither finds the match, the excerpt is the message's first words, unmarked.
Cost per message: a few kB tokenized; past the head, a byte scan (a few ms per MB, `SCAN`
at most).
"""

from __future__ import annotations

import bisect
import re
import sqlite3
from collections.abc import Callable, Iterator

from chat_tui.store.records import RAW_MATCH_END, RAW_MATCH_START

TOKENIZE = "porter unicode61 remove_diacritics 2"  # as messages_fts (schema.py)
EXCERPT_TOKENS = 16
BEFORE = 4  # tokens of context before the first match
HEAD = 8192  # bytes of each message searched window by window
WINDOW = 2048  # characters tokenized at a time; also the bytes read around a candidate
OVERLAP = 256  # windows overlap, so a phrase cut by one edge is whole in the next
SCAN = 8 << 20  # bytes past the head scanned for candidates
CHUNK = 64 << 10  # bytes read at a time while scanning
TRIES = 4  # candidates confirmed per message
ELLIPSIS = "…"

_PHRASE = re.compile(r'"(?:[^"]|"")*"\*?')
# Cuts fall between tokens; unicode61's token characters are letters, digits and private use.
_TOKEN = re.compile(r"[^\W_]+")
_EDGE = 64  # how far a cut moves to avoid splitting a token
_NEEDLE = 64  # bytes of a stem looked for; the window's tokenizer decides the rest


def any_term(expression: str) -> str:
    """The FTS5 expression matching any one of the quoted phrases of ``expression`` (as made
    by `fts_query`): an excerpt marks each term wherever it is, not only where all are."""
    return " OR ".join(_PHRASE.findall(expression)) or expression


def _decode(data: bytes, start: int) -> str:
    """UTF-8 read at byte ``start``: a character cut at either end is dropped."""
    if start:
        skip = 0
        while skip < min(3, len(data)) and data[skip] & 0xC0 == 0x80:
            skip += 1
        data = data[skip:]
    # The marks must be the only ones; unicode61 splits on these control characters
    # anyway, so a space in their place tokenizes the same.
    text = data.decode("utf-8", errors="ignore")
    return text.replace(RAW_MATCH_START, " ").replace(RAW_MATCH_END, " ")


def _boundary(text: str, i: int, back: bool) -> int:
    """A cut near ``i`` that splits no token: at a non-token character up to `_EDGE` before
    (``back``) or after ``i``; ``i`` itself if the token is that long."""
    span = range(i - 1, max(i - _EDGE, 0) - 1, -1) if back else range(i, min(i + _EDGE, len(text)))
    return next((j for j in span if not text[j].isalnum()), i)


def _windows(text: str, whole: bool) -> list[tuple[int, int]]:
    """(begin, end) of overlapping windows over ``text``; ``whole``: it ends where the
    message does, else its last token may be cut and is left out."""
    end = len(text) if whole else _boundary(text, len(text), back=True)
    spans, a = [], 0
    while True:
        b = end if end - a <= WINDOW else _boundary(text, a + WINDOW, back=True)
        spans.append((a, b))
        if b >= end:
            return spans
        a = max(_boundary(text, b - OVERLAP, back=False), a + 1)


def cut_excerpt(marked: str, at_start: bool, at_end: bool) -> str | None:
    """About `EXCERPT_TOKENS` tokens of a highlighted window around its first mark, with
    ``…`` where the text goes on; None if nothing is marked. ``at_start``/``at_end``: the
    window begins/ends where the message does."""
    first = marked.find(RAW_MATCH_START)
    if first < 0:
        return None
    tokens = [m.span() for m in _TOKEN.finditer(marked)]
    i0 = bisect.bisect_right([s for s, _ in tokens], first)  # the first matched token
    hi = min(len(tokens), max(0, i0 - BEFORE) + EXCERPT_TOKENS)
    lo = max(0, hi - EXCERPT_TOKENS)
    begin = 0 if lo == 0 and at_start else min(tokens[lo][0] if lo < len(tokens) else first, first)
    end = len(marked) if hi == len(tokens) and at_end else max(tokens[hi - 1][1] if hi else first, first)
    while marked.count(RAW_MATCH_START, begin, end) > marked.count(RAW_MATCH_END, begin, end):
        end = marked.index(RAW_MATCH_END, end) + 1  # never cut inside a match
    if marked.startswith(RAW_MATCH_END, end):
        end += 1
    head = "" if begin == 0 and at_start else ELLIPSIS
    tail = "" if end == len(marked) and at_end else ELLIPSIS
    return head + marked[begin:end] + tail


def _plain(text: str, whole: bool) -> str:
    """The message's first words, unmarked: its match lies where no window reached."""
    ends = [m.end() for m in _TOKEN.finditer(text, 0, WINDOW)][:EXCERPT_TOKENS]
    end = ends[-1] if len(ends) == EXCERPT_TOKENS else min(len(text), WINDOW)
    return text[:end] + ("" if end == len(text) and whole else ELLIPSIS)


def _open(conn: sqlite3.Connection, mid: int) -> sqlite3.Blob | None:
    try:
        return conn.blobopen("messages", "content", mid, readonly=True)
    except sqlite3.OperationalError:  # deleted meanwhile, or not text (a hand-edited row)
        return None


class Excerpts:
    """Makes excerpts for one Store; holds its scratch FTS5 connection (same thread)."""

    def __init__(self) -> None:
        self._scratch: sqlite3.Connection | None = None

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.close()
            self._scratch = None

    def _conn(self) -> sqlite3.Connection:
        if self._scratch is None:
            conn = sqlite3.connect(":memory:", isolation_level=None)
            conn.execute(f"CREATE VIRTUAL TABLE w USING fts5(t, tokenize={TOKENIZE!r})")
            conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(w, 'instance')")
            self._scratch = conn
        return self._scratch

    def _first_marked(self, expression: str, windows: dict[int, str]) -> dict[int, str]:
        """Highlighted text of the first matching window of each message; a window's rowid
        is (message number << 16 | window number). The rows are rolled back after."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            conn.executemany("INSERT INTO w (rowid, t) VALUES (?, ?)", windows.items())
            first: dict[int, int] = {}
            for (rowid,) in conn.execute("SELECT rowid FROM w WHERE w MATCH ? ORDER BY rowid",
                                         (expression,)):
                first.setdefault(rowid >> 16, rowid)
            if not first:
                return {}
            ids = ",".join(str(r) for r in first.values())  # integers we made
            return dict(conn.execute(
                f"SELECT rowid, highlight(w, 0, ?, ?) FROM w WHERE w MATCH ? AND rowid IN ({ids})",
                (RAW_MATCH_START, RAW_MATCH_END, expression),
            ).fetchall())
        finally:
            conn.execute("ROLLBACK")

    def _needles(self, expression: str) -> tuple[re.Pattern[bytes], int] | None:
        """Where a word holding a term's stem (less its last letter) starts, and the longest
        needle's length."""
        conn = self._conn()
        terms = [p.rstrip("*")[1:-1].replace('""', '"') for p in _PHRASE.findall(expression)]
        conn.execute("BEGIN")
        try:
            conn.executemany("INSERT INTO w (rowid, t) VALUES (?, ?)", enumerate(terms, 1))
            stems = [t for (t,) in conn.execute("SELECT term FROM v WHERE offset = 0")]
        finally:
            conn.execute("ROLLBACK")
        needles = sorted({(s[:-1] if len(s) > 3 else s).encode()[:_NEEDLE] for s in stems})
        if not needles:
            return None
        pattern = re.compile(rb"(?<![a-z0-9])(?:" + b"|".join(map(re.escape, needles)) + rb")")
        return pattern, max(map(len, needles))

    def make(self, conn: sqlite3.Connection, expression: str, mids: list[int],
             check: Callable[[], None] = lambda: None) -> dict[int, str]:
        """``{message id: marked excerpt}`` for messages matching ``expression`` (an
        `fts_query` expression), read through ``conn``. ``check`` is called between reads
        and may raise to stop (a cancel)."""
        heads: dict[int, tuple[str, int]] = {}  # message id -> (head text, size in bytes)
        for mid in mids:
            check()
            if (blob := _open(conn, mid)) is not None:
                with blob:
                    heads[mid] = (_decode(blob.read(HEAD), 0), len(blob))
        either = any_term(expression)
        order = list(heads)
        windows: dict[int, str] = {}
        spans: dict[int, tuple[int, int]] = {}
        for n, mid in enumerate(order):
            text, size = heads[mid]
            for k, (a, b) in enumerate(_windows(text, size <= HEAD)):
                windows[n << 16 | k], spans[n << 16 | k] = text[a:b], (a, b)
        found: dict[int, str] = {}
        for key, marked in self._first_marked(either, windows).items():
            mid, (a, b) = order[key >> 16], spans[key]
            text, size = heads[mid]
            excerpt = cut_excerpt(marked, a == 0, size <= HEAD and b == len(text))
            if excerpt is not None:
                found[mid] = excerpt
        longer = [mid for mid in order if mid not in found and heads[mid][1] > HEAD]
        if longer and (needles := self._needles(expression)) is not None:
            for mid in longer:
                if (excerpt := self._past_head(conn, mid, either, needles, check)) is not None:
                    found[mid] = excerpt
        for mid in order:
            if mid not in found:
                text, size = heads[mid]
                found[mid] = _plain(text, size <= HEAD)
        return found

    def _past_head(self, conn: sqlite3.Connection, mid: int, either: str,
                   needles: tuple[re.Pattern[bytes], int], check: Callable[[], None]) -> str | None:
        blob = _open(conn, mid)
        if blob is None:
            return None
        with blob:
            size = len(blob)
            stop = min(size, HEAD + SCAN)
            for _, at in zip(range(TRIES), _candidates(blob, needles, HEAD - OVERLAP, stop, check)):
                start = max(0, at - WINDOW // 2)
                blob.seek(start)
                text = _decode(blob.read(WINDOW), start)
                whole = start + WINDOW >= size
                a = _boundary(text, 0, back=False) if start else 0
                b = len(text) if whole else _boundary(text, len(text), back=True)
                marked = self._first_marked(either, {0: text[a:b]}).get(0)
                excerpt = cut_excerpt(marked, start == 0, whole) if marked else None
                if excerpt is not None:
                    return excerpt
        return None


def _candidates(blob: sqlite3.Blob, needles: tuple[re.Pattern[bytes], int], start: int, stop: int,
                check: Callable[[], None]) -> Iterator[int]:
    """Byte offsets in ``[start, stop)`` where a needle starts a word, in order."""
    pattern, longest = needles
    pos, last = start, -1
    while pos < stop:
        check()
        blob.seek(max(0, pos - 1))  # one byte more: the character before a needle
        chunk = blob.read(min(CHUNK, stop - pos) + (pos > 0)).lower()
        base = max(0, pos - 1)
        for m in pattern.finditer(chunk, pos - base):
            if base + m.start() > last:
                last = base + m.start()
                yield last
        if base + len(chunk) >= stop:
            return
        pos = max(pos + 1, base + len(chunk) - longest)  # one across two chunks: found in the next
