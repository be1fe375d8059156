"""What the CLI writes, made safe for a terminal in one place.

Model output, titles, model ids, excerpts and server messages are untrusted: written raw to a
terminal, an escape sequence could set the clipboard (OSC 52), rename the window, clear the
screen, or a CR/BS overwrite what was printed. So while a command runs, stdout and stderr are
wrapped (`installed`): every write has its control characters made visible (ESC shows as ␛,
as in the app), whether it goes to a terminal or not, with one exception: the answer text
itself (`answer`), which goes raw to a pipe or a file (`chat-tui ask > file` keeps the model's
bytes) and cleaned to a terminal. JSON output escapes every control character, so it stays valid
JSON and safe on a terminal.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from chat_tui.core.text import clean_text, visible_controls

_C1_AND_DEL = {code: f"\\u{code:04x}" for code in range(0x7F, 0xA0)}


class Cleaned:
    """A text stream whose writes have their control characters made visible (TAB and LF
    kept). `raw` writes bypass it, for the few callers that know their text is safe."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(visible_controls(clean_text(text)))
        return len(text)

    def raw(self, text: str) -> None:
        self.stream.write(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding, buffer…
        return getattr(self.stream, name)


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Wrap stdout and stderr for the duration of a command (and put them back)."""
    saved = sys.stdout, sys.stderr
    for stream in saved:
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="replace")  # type: ignore[union-attr] # never a UnicodeEncodeError
    sys.stdout, sys.stderr = Cleaned(saved[0]), Cleaned(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _raw(stream: Any, text: str) -> None:
    (stream.raw if isinstance(stream, Cleaned) else stream.write)(text)


def answer(text: str) -> None:
    """The model's answer: its own bytes to a pipe or a file, cleaned on a terminal."""
    stream = sys.stdout
    if stream.isatty():
        stream.write(text)
    else:
        _raw(stream, text)
    stream.flush()


def out(text: str) -> None:
    """Anything else on stdout (always cleaned)."""
    sys.stdout.write(text)
    sys.stdout.flush()


def progress(text: str) -> None:
    """A progress line on stderr that redraws itself (our own CR, not the data's)."""
    _raw(sys.stderr, "\r" + visible_controls(text))
    sys.stderr.flush()


def dump_json(data: Any) -> None:
    """One JSON document on stdout; control characters are \\u-escaped (C0 by json itself,
    DEL and C1 here), so it stays valid JSON and nothing reaches a terminal raw."""
    text = json.dumps(data, ensure_ascii=False, indent=2).translate(_C1_AND_DEL)
    _raw(sys.stdout, text + "\n")
    sys.stdout.flush()
