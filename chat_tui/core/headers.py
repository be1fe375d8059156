"""HTTP header names and values from the config (profiles' `headers`, MCP servers' `headers`),
checked before any reaches httpx, whose error for a bad value quotes the whole value."""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")  # an HTTP header name (RFC 9110)


def header_name_ok(name: Any) -> bool:
    return isinstance(name, str) and _TOKEN.match(name) is not None


def header_value_problem(value: str) -> str | None:
    """What stops ``value`` (already trimmed) from being an HTTP header value, described
    without quoting it; None if it is fine. httpx sends ASCII; tabs may appear inside."""
    for at, char in enumerate(value, 1):
        if char in "\r\n":
            return f"a line break at character {at}"
        if (char < " " and char != "\t") or char == "\x7f":
            return f"a control character (U+{ord(char):04X}) at character {at}"
        if char > "\x7e":
            return f"a non-ASCII character at character {at}"
    return None


def header_problem(name: Any, value: Any) -> str | None:
    """What is wrong with a configured header (its value never shown), or None."""
    if not header_name_ok(name):
        return "is not a valid HTTP header name (letters, digits and !#$%&'*+.^_`|~- only)"
    if not isinstance(value, str):
        kind = ("true or false" if isinstance(value, bool) else "a number" if isinstance(value, (int, float))
                else "a table" if isinstance(value, dict) else "a list" if isinstance(value, list)
                else "a date or time")
        return f"must be a string, not {kind}"
    if problem := header_value_problem(value.strip()):
        return f"has {problem}, which an HTTP header cannot carry (the value is not shown)"
    return None
