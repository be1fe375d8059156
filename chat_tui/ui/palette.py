"""The app's own colour scales, beside the theme's: token probabilities and diffs.

Three ways to show them, chosen once per app (`palette_of(app)`):

- `default`: the theme's colours: error → warning → success for probabilities, success and
  error for insertions and deletions.
- `colour-blind` (config `palette = "colour-blind"`): blue ↔ orange (Okabe–Ito), which people
  with red–green colour blindness (about 1 man in 12) tell apart, instead of red ↔ green.
- `none`: `NO_COLOR` is set (no-color.org); text attributes only.

Colour is never the only cue: an insertion is bold and underlined, a deletion struck through,
and the lowest probability band bold, in every palette; without colour each band has its own
attributes (see `BAND_ATTRIBUTES`). Colours used for text are brought to at least 4.5:1
contrast on the theme's background (WCAG AA), whatever the theme.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.style import Style
from textual.color import Color

from chat_tui.core.config import PALETTES
NONE = "none"
MIN_CONTRAST = 4.5  # WCAG AA for body text

# Okabe & Ito (2008), "Color Universal Design": the dark-background and light-background shades.
CB_HIGH = {True: "#56b4e9", False: "#0072b2"}  # sky blue / blue
CB_LOW = {True: "#e69f00", False: "#b35900"}  # orange / a darker orange that reads on white
CB_ANSI = ("ansi_red", "ansi_default", "ansi_blue")  # in a theme of the terminal's own colours

BANDS = (0.9, 0.5, 0.2)  # ≥90 %, 50–90 %, 20–50 %, under 20 %
BAND_LABELS = ("≥90 %", "50–90 %", "20–50 %", "<20 %")
# Without colour, each band its own text style (reverse is the token cursor's).
BAND_ATTRIBUTES = (Style(), Style(italic=True), Style(underline=True), Style(bold=True, underline=True))
LOW_CUE = Style(bold=True)  # under 20 %, with colour: the tokens worth a look stand out
INSERTED = Style(bold=True, underline=True)
DELETED = Style(strike=True)


def no_color_requested(environ: Mapping[str, str] | None = None) -> bool:
    """no-color.org: `NO_COLOR` present *and not empty* means no colour."""
    return bool((os.environ if environ is None else environ).get("NO_COLOR", ""))


def palette_of(app: Any) -> str:
    """"none" when the app shows no colour, else the palette the config chose."""
    if getattr(app, "no_color", False):
        return NONE
    chosen = getattr(app, "colour_palette", "default")
    return chosen if chosen in PALETTES else "default"


# -- contrast (WCAG 2) ---------------------------------------------------------------------------


def luminance(colour: Color) -> float:
    """Relative luminance of an sRGB colour, 0 (black) to 1 (white)."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.r) + 0.7152 * channel(colour.g) + 0.0722 * channel(colour.b)


def contrast(a: Color, b: Color) -> float:
    """WCAG contrast ratio of two colours, 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable(colour: Color, background: Color, minimum: float = MIN_CONTRAST) -> Color:
    """`colour`, moved toward black or white (whichever the background is further from) just
    far enough to reach `minimum` contrast on `background`."""
    target = Color(0, 0, 0) if luminance(background) > 0.18 else Color(255, 255, 255)
    step = 0
    shown = colour
    while contrast(shown, background) < minimum and step < 100:
        step += 2
        shown = colour.blend(target, step / 100)
    return shown


def _is_ansi(value: str | None) -> bool:
    return bool(value) and value.startswith("ansi_")


def _background(theme: Any) -> Color:
    if theme.background and not _is_ansi(theme.background):
        return Color.parse(theme.background)
    return Color(0, 0, 0) if theme.dark else Color(255, 255, 255)


# -- the scales ---------------------------------------------------------------------------------


def band(p: float) -> int:
    """0 for ≥90 %, 1 for 50–90 %, 2 for 20–50 %, 3 for under 20 %."""
    return next((i for i, edge in enumerate(BANDS) if p >= edge), len(BANDS))


class ProbabilityColours:
    """The style for a probability, in a few steps, for a theme and a palette."""

    STEPS = 10

    def __init__(self, theme: Any, palette: str = "default") -> None:
        self.palette = palette
        self._styles: list[Style] = []
        for step in range(self.STEPS + 1):
            p = step / self.STEPS
            if palette == NONE:
                self._styles.append(BAND_ATTRIBUTES[band(p)])
                continue
            style = Style(color=Color.parse(self._colour(theme, palette, p)).rich_color)
            self._styles.append(style + LOW_CUE if band(p) == 3 else style)

    @staticmethod
    def _colour(theme: Any, palette: str, p: float) -> str:
        if theme.ansi or _is_ansi(theme.primary):
            low, mid, high = CB_ANSI if palette == "colour-blind" else ("ansi_red", "ansi_magenta", "ansi_green")
            return (low, mid, high)[0 if p < 0.5 else 1 if p < 0.9 else 2]
        background = _background(theme)
        if palette == "colour-blind":
            low, high = Color.parse(CB_LOW[theme.dark]), Color.parse(CB_HIGH[theme.dark])
            mid = Color.parse(theme.foreground) if theme.foreground else readable(Color(128, 128, 128), background)
        else:
            low = Color.parse(theme.error or "#e05252")
            mid = Color.parse(theme.warning or "#e0b252")
            high = Color.parse(theme.success or "#52e07a")
        colour = low.blend(mid, p / 0.5) if p < 0.5 else mid.blend(high, (p - 0.5) / 0.5)
        return readable(colour, background).hex

    def style(self, p: float) -> Style:
        return self._styles[max(0, min(self.STEPS, int(p * self.STEPS)))]


@dataclass(frozen=True)
class DiffStyles:
    inserted: Style
    deleted: Style


def diff_styles(theme: Any, palette: str = "default") -> DiffStyles:
    """Insertions bold and underlined, deletions struck through, coloured by the palette."""
    if palette == NONE:
        return DiffStyles(INSERTED, DELETED)
    if theme.ansi or _is_ansi(theme.primary):
        inserted, deleted = ("ansi_blue", "ansi_red") if palette == "colour-blind" else ("ansi_green", "ansi_red")
    else:
        background = _background(theme)
        if palette == "colour-blind":
            pair = (Color.parse(CB_HIGH[theme.dark]), Color.parse(CB_LOW[theme.dark]))
        else:
            pair = (Color.parse(theme.success or "#2e9b4f"), Color.parse(theme.error or "#d0453b"))
        inserted, deleted = (readable(c, background).hex for c in pair)
    return DiffStyles(INSERTED + Style(color=Color.parse(inserted).rich_color),
                      DELETED + Style(color=Color.parse(deleted).rich_color))


def probability_colours(app: Any) -> ProbabilityColours:
    return ProbabilityColours(app.current_theme, palette_of(app))


def diff_styles_for(app: Any) -> DiffStyles:
    return diff_styles(app.current_theme, palette_of(app))


def cache_key(app: Any) -> tuple[str, str]:
    """What the scales depend on: a widget keeping one redraws when this changes."""
    return app.current_theme.name, palette_of(app)
