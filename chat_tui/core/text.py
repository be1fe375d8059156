"""Making untrusted text (model output, model ids, titles) safe to display."""

from __future__ import annotations

import re

# C0 controls except TAB and LF, DEL, and C1 controls. CR is included: it could overwrite a line.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟ (ESC becomes ␛)
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"\\x{code:02x}"


def one_line(text: str) -> str:
    """All whitespace runs as one space, control characters made visible (a title, an id)."""
    return visible_controls(" ".join(text.split()))


def visible_controls(text: str) -> str:
    """Replace control characters with visible pictures so no escape sequence reaches the terminal."""
    return _CONTROL.sub(_picture, text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` with lone surrogates (which JSON's \\ud800 escapes can produce, and which no UTF-8
    file, database or terminal can take) replaced by U+FFFD; everything else kept as it is."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


# A credential in an error message: after "Bearer", "api-key:", "Authorization:", or an
# OpenAI-style key anywhere (httpx quotes a refused header value whole in its message).
_SECRET = re.compile(
    r"(?i)(bearer\s+|api[-_]?key[\"']?\s*[:=]\s*[\"']?|authorization[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)([^\s\"',;)\]}]+)"
    r"|\b(sk-[A-Za-z0-9_\-]{6,})"
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` with anything that looks like a credential replaced by [redacted]."""
    return _SECRET.sub(lambda m: (m.group(1) + REDACTED) if m.group(1) is not None else REDACTED, text)


def error_text(exc: BaseException, limit: int = 1000) -> str:
    """An exception as the one line a user sees, and the database and exports keep: chat-tui's
    own errors by their message, anything else with its type; credentials redacted, control
    characters made visible, at most `limit` characters. The one place errors become text."""
    message = " ".join(str(exc).split())
    if not type(exc).__module__.startswith("chat_tui."):
        message = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    message = redact(visible_controls(clean_text(message or type(exc).__name__)))
    return message if len(message) <= limit else message[: limit - 1] + "…"
