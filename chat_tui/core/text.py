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


def visible_controls(text: str) -> str:
    """Replace control characters with visible pictures so no escape sequence reaches the terminal."""
    return _CONTROL.sub(_picture, text)
