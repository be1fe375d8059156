"""How images are drawn: Kitty graphics, Sixel, or coloured half-blocks (works everywhere).

Chosen from the config (`[images] protocol = "auto" | "kitty" | "sixel" | "halfcell"`) and, for
"auto", from what the terminal says about itself in the environment; the terminal is never
queried with escape sequences. A query costs up to 0.2 s at start, and once Textual runs it
reads the answer from stdin, so the answer would arrive as keystrokes: never worth it. Inside
tmux or screen "auto" is half-blocks (graphics need passthrough that is usually off).

textual-image is imported only when the first image is shown, with `sys.__stdout__` hidden for
the import so its import-time terminal queries are skipped; the cell size in pixels comes from
the TIOCGWINSZ ioctl instead (no escape sequence), else 10x20.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping
from typing import Any

PROTOCOLS = ("kitty", "sixel", "halfcell")
_SIXEL_TERMS = ("foot", "foot-extra", "mlterm", "yaft-256color", "contour")
_SIXEL_PROGRAMS = ("WezTerm", "iTerm.app", "mintty")

_setting = "auto"


def choose(setting: str = "auto", environ: Mapping[str, str] | None = None) -> str:
    """The protocol to use: `setting` unless "auto", else what the environment tells."""
    if setting in PROTOCOLS:
        return setting
    env = os.environ if environ is None else environ
    term, program = env.get("TERM", ""), env.get("TERM_PROGRAM", "")
    if env.get("TMUX") or term.startswith(("screen", "tmux")):
        return "halfcell"
    if env.get("KITTY_WINDOW_ID") or term == "xterm-kitty" or program == "ghostty":
        return "kitty"
    if program in _SIXEL_PROGRAMS or term in _SIXEL_TERMS or "sixel" in term or env.get("KONSOLE_VERSION"):
        return "sixel"
    return "halfcell"


def configure(setting: str) -> None:
    """Remember the config's choice (called once when the app is made)."""
    global _setting
    _setting = setting


def current() -> str:
    return choose(_setting)


_widgets: dict[str, Any] | None = None


def widget_class(protocol: str) -> Any:
    """textual-image's widget class for `protocol`, importing the library on first use."""
    global _widgets
    if _widgets is None:
        real = sys.__stdout__
        sys.__stdout__ = io.StringIO()  # not a tty: no terminal query at import
        try:
            from textual_image import _terminal
            from textual_image.widget import HalfcellImage, SixelImage, TGPImage
        finally:
            sys.__stdout__ = real
        _terminal.get_cell_size._result = _cell_size(_terminal)  # type: ignore[attr-defined]
        _widgets = {"kitty": TGPImage, "sixel": SixelImage, "halfcell": HalfcellImage}
    return _widgets[protocol]


def _cell_size(terminal: Any) -> Any:
    try:
        if sys.__stdout__ is not None and sys.__stdout__.isatty():
            rows, columns, width, height = terminal.get_tiocgwinsz()
            if rows and columns and width and height:
                return terminal.CellSize(width // columns, height // rows)
    except OSError:
        pass
    return terminal.CellSize(10, 20)
