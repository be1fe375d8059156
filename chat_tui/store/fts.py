"""Turn what a user types into a safe FTS5 query.

Raw FTS5 syntax fails on ordinary text (``c++``, ``foo"bar``, ``AND``, ``-x``), so every
word becomes a quoted string: all words must match, in any order. A ``"quoted phrase"``
must match as a phrase, and a word ending in ``*`` matches as a prefix (``stream*``).
"""

from __future__ import annotations

import re

# A balanced "phrase", or a run of non-space characters (which may hold stray quotes).
_TOKEN = re.compile(r'"([^"]*)"(\*?)|(\S+)')


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def fts_query(text: str) -> str | None:
    """The FTS5 MATCH expression for ``text``, or None if there is nothing to search."""
    terms: list[str] = []
    text = text.replace("\x00", " ")  # FTS5 reads a query only up to a NUL
    for m in _TOKEN.finditer(text):
        phrase, phrase_star, word = m.groups()
        if word is not None:
            star = word.endswith("*") and len(word.rstrip("*")) > 0
            body = word.rstrip("*") if star else word
            terms.append(_quote(body) + ("*" if star else ""))
        elif phrase.strip():
            terms.append(_quote(phrase) + phrase_star)
    return " ".join(terms) or None
