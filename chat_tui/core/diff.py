"""Differences between a text and its edit: word-level ops for display, a unified diff for the CLI.

Ops are `DiffOp(tag, text)` with tag "equal", "delete" (only in the old text) or "insert" (only
in the new); joining the equal and delete texts gives the old text back, equal and insert the
new one. Lines are matched first, patience-style (lines that occur once on each side anchor the
match, so a long document with scattered edits diffs in near-linear time where difflib alone is
quadratic), and only changed blocks are compared word by word. A block too big to compare is
shown as deleted and inserted whole: slower answers would freeze the screen for nothing.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

WORD_BLOCK_LIMIT = 4_000  # tokens per side of a changed block compared word by word (quadratic)
EXACT_LIMIT = 4_000_000  # lines(a) * lines(b) of an anchorless gap still matched with difflib
MAX_DEPTH = 32  # nested anchor searches; deeper gaps are matched with difflib or replaced

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
NO_NEWLINE = "\\ No newline at end of file\n"
Opcode = tuple[str, int, int, int, int]


@dataclass(frozen=True, slots=True)
class DiffOp:
    tag: str  # "equal" | "delete" | "insert"
    text: str


def tokens(text: str) -> list[str]:
    """Words, runs of whitespace and single punctuation marks; joined, they are the text."""
    return _TOKEN.findall(text)


# -- matching lines ----------------------------------------------------------------------------


def _match(a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int,
           out: list[tuple[int, int]], depth: int = 0) -> None:
    """Append the matched (i, j) line pairs of a[alo:ahi] and b[blo:bhi], in order."""
    while alo < ahi and blo < bhi and a[alo] == b[blo]:
        out.append((alo, blo))
        alo, blo = alo + 1, blo + 1
    tail: list[tuple[int, int]] = []
    while alo < ahi and blo < bhi and a[ahi - 1] == b[bhi - 1]:
        ahi, bhi = ahi - 1, bhi - 1
        tail.append((ahi, bhi))
    if alo < ahi and blo < bhi:
        anchors = _anchors(a, b, alo, ahi, blo, bhi) if depth < MAX_DEPTH else []
        if anchors:
            i0, j0 = alo, blo
            for i, j in anchors:
                _match(a, b, i0, i, j0, j, out, depth + 1)
                out.append((i, j))
                i0, j0 = i + 1, j + 1
            _match(a, b, i0, ahi, j0, bhi, out, depth + 1)
        elif (ahi - alo) * (bhi - blo) <= EXACT_LIMIT:
            matcher = difflib.SequenceMatcher(a=a[alo:ahi], b=b[blo:bhi], autojunk=False)
            for i, j, size in matcher.get_matching_blocks():
                out.extend((alo + i + k, blo + j + k) for k in range(size))
    out.extend(reversed(tail))


def _anchors(a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int) -> list[tuple[int, int]]:
    """Lines found exactly once on each side, the longest run of them in the same order."""
    ca, cb = Counter(a[alo:ahi]), Counter(b[blo:bhi])
    where_b = {b[j]: j for j in range(blo, bhi) if cb[b[j]] == 1}
    pairs = [(i, where_b[a[i]]) for i in range(alo, ahi) if ca[a[i]] == 1 and a[i] in where_b]
    # Longest increasing subsequence of the b positions (patience sorting).
    tops: list[int] = []
    top_at: list[int] = []
    back: list[int] = [-1] * len(pairs)
    for k, (_, j) in enumerate(pairs):
        pos = bisect.bisect_left(tops, j)
        if pos == len(tops):
            tops.append(j)
            top_at.append(k)
        else:
            tops[pos] = j
            top_at[pos] = k
        back[k] = top_at[pos - 1] if pos else -1
    chain: list[tuple[int, int]] = []
    k = top_at[-1] if top_at else -1
    while k >= 0:
        chain.append(pairs[k])
        k = back[k]
    return chain[::-1]


def line_opcodes(a: list[str], b: list[str]) -> list[Opcode]:
    """SequenceMatcher-style opcodes ("equal", "replace", "delete", "insert") for two line lists."""
    pairs: list[tuple[int, int]] = []
    _match(a, b, 0, len(a), 0, len(b), pairs)
    ops: list[Opcode] = []
    i = j = 0
    for pi, pj in [*pairs, (len(a), len(b))]:
        if pi > i or pj > j:
            tag = "replace" if pi > i and pj > j else ("delete" if pi > i else "insert")
            ops.append((tag, i, pi, j, pj))
        if pi < len(a) or pj < len(b):
            if ops and ops[-1][0] == "equal" and ops[-1][2] == pi:
                ops[-1] = ("equal", ops[-1][1], pi + 1, ops[-1][3], pj + 1)
            else:
                ops.append(("equal", pi, pi + 1, pj, pj + 1))
        i, j = pi + 1, pj + 1
    return ops


# -- ops ---------------------------------------------------------------------------------------


def _append(ops: list[DiffOp], tag: str, text: str) -> None:
    if not text:
        return
    if ops and ops[-1].tag == tag:
        ops[-1] = DiffOp(tag, ops[-1].text + text)
    else:
        ops.append(DiffOp(tag, text))


def _changed(ops: list[DiffOp], old: str, new: str) -> None:
    _append(ops, "delete", old)
    _append(ops, "insert", new)


def _words(ops: list[DiffOp], old: str, new: str) -> None:
    a, b = tokens(old), tokens(new)
    if not a or not b or len(a) > WORD_BLOCK_LIMIT or len(b) > WORD_BLOCK_LIMIT:
        _changed(ops, old, new)
        return
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _append(ops, "equal", "".join(a[i1:i2]))
        else:
            _changed(ops, "".join(a[i1:i2]), "".join(b[j1:j2]))


def _by_lines(old: str, new: str, block: Callable[[list[DiffOp], str, str], None]) -> list[DiffOp]:
    """Lines matched first; each changed block of lines is handed to `block`."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    ops: list[DiffOp] = []
    for tag, i1, i2, j1, j2 in line_opcodes(a, b):
        if tag == "equal":
            _append(ops, "equal", "".join(a[i1:i2]))
        else:
            block(ops, "".join(a[i1:i2]), "".join(b[j1:j2]))
    return ops


def line_diff(old: str, new: str) -> list[DiffOp]:
    """Whole lines (with their newlines) kept, deleted or inserted."""
    return _by_lines(old, new, _changed)


def word_diff(old: str, new: str) -> list[DiffOp]:
    """Lines matched first, then each changed block compared word by word."""
    return _by_lines(old, new, _words)


def changed(ops: list[DiffOp]) -> bool:
    return any(op.tag != "equal" for op in ops)


def counts(ops: list[DiffOp]) -> tuple[int, int]:
    """(words inserted, words deleted), for a summary line."""
    ins = sum(len(op.text.split()) for op in ops if op.tag == "insert")
    dels = sum(len(op.text.split()) for op in ops if op.tag == "delete")
    return ins, dels


# -- unified diff ------------------------------------------------------------------------------


def unified(old: str, new: str, *, from_name: str = "input", to_name: str = "edited", context: int = 3) -> str:
    """A unified diff as `diff -u` prints it ("" when nothing changed); a last line without a
    newline is marked as git does, so a change of the final newline alone is visible."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    matcher.opcodes = line_opcodes(a, b)  # ours: the same shape, without difflib's quadratic time
    out: list[str] = []
    for group in matcher.get_grouped_opcodes(context):
        if not out:
            out += [f"--- {from_name}\n", f"+++ {to_name}\n"]
        first, last = group[0], group[-1]
        out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [_line(" ", line) for line in a[i1:i2]]
                continue
            out += [_line("-", line) for line in a[i1:i2]]
            out += [_line("+", line) for line in b[j1:j2]]
    return "".join(out)


def _range(start: int, stop: int) -> str:
    length = stop - start
    if length == 1:
        return f"{start + 1}"
    return f"{start + 1 if length else start},{length}"


def _line(mark: str, line: str) -> str:
    return mark + line if line.endswith("\n") else f"{mark}{line}\n{NO_NEWLINE}"
