"""Colours that fit the user's terminal: the shipped themes' contrast, the `terminal` theme of
the terminal's own ANSI palette, NO_COLOR, and the probability and diff scales (ui/palette.py)
with the colour-blind palette."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from rich.style import Style
from textual.app import App
from textual.color import Color
from textual.filter import Monochrome, NoColor
from textual.widgets import Static

from chat_tui.core.config import Config, ConfigError, load_config
from chat_tui.core.paths import Paths
from chat_tui.ui.palette import (
    BAND_ATTRIBUTES,
    NONE,
    ProbabilityColours,
    band,
    contrast,
    diff_styles,
    no_color_requested,
    readable,
)
from chat_tui.ui.themes import builtin_theme_dir, load_theme_choice, load_theme_file, load_user_themes

sys.path.insert(0, str(Path(__file__).parent))
from demo import demo_app, settle  # noqa: E402
from test_image_view import Tmux, tmux_needed  # noqa: E402

TEXT_ROLES = ("primary", "accent", "warning", "error", "success")  # used as text colours in styles/*.tcss
# Colours that vanish on one kind of terminal background: black and the dark greys on a dark
# one; white, yellow and the bright colours on a light one.
UNREADABLE_SOMEWHERE = re.compile(r"ansi_(black|white|yellow|bright_\w+)$")


def shipped_themes():
    themes, errors = load_user_themes(builtin_theme_dir())
    assert errors == []
    return themes


# -- the shipped themes ---------------------------------------------------------------------------


def test_every_shipped_rgb_theme_reads_at_least_4_5_to_1():
    """WCAG AA for body text: the text colour on every background a theme has, and each colour
    the styles use for text (status, warnings, errors, diffs) on the main background."""
    checked = []
    for theme in shipped_themes():
        if theme.ansi:
            continue
        background = Color.parse(theme.background)
        fg = Color.parse(theme.foreground)
        for name in ("background", "surface", "panel"):
            ratio = contrast(fg, Color.parse(getattr(theme, name)))
            assert ratio >= 4.5, f"{theme.name}: foreground on {name} is {ratio:.2f}:1"
        for role in TEXT_ROLES:
            ratio = contrast(Color.parse(getattr(theme, role)), background)
            assert ratio >= 4.5, f"{theme.name}: {role} text on the background is {ratio:.2f}:1"
        checked.append(theme.name)
    light = [t.name for t in shipped_themes() if not t.dark and not t.ansi]
    assert len(light) >= 3 and {"daylight", "solarized-light-chat", "paper"} <= set(light)
    assert len(checked) >= 5


def test_contrast_is_wcag():
    assert contrast(Color(0, 0, 0), Color(255, 255, 255)) == pytest.approx(21)
    assert contrast(Color.parse("#777777"), Color(255, 255, 255)) == pytest.approx(4.48, abs=0.01)
    moved = readable(Color.parse("#e69f00"), Color(255, 255, 255))
    assert contrast(moved, Color(255, 255, 255)) >= 4.5 and moved.r > moved.b  # still an orange


def test_the_terminal_theme_is_the_terminals_own_palette_and_avoids_colours_that_vanish():
    theme = load_theme_file(builtin_theme_dir() / "terminal.toml")
    assert theme.name == "terminal" and theme.ansi
    for field in ("foreground", "background", "surface", "panel"):
        assert getattr(theme, field) == "ansi_default"
    text_colours = {role: getattr(theme, role) for role in (*TEXT_ROLES, "secondary")}
    text_colours.update({k: v for k, v in theme.variables.items()
                         if k.endswith(("-foreground", "-color")) and k != "input-selection-foreground"
                         and k != "screen-selection-foreground"})
    for name, value in text_colours.items():
        assert value.startswith("ansi_"), (name, value)
        assert not UNREADABLE_SOMEWHERE.match(value), f"{name} = {value} is unreadable on one kind of terminal"
    # Selections: black text on a hue reads on both; cursors are reverse video.
    assert theme.variables["input-selection-foreground"] == "ansi_black"
    assert "reverse" in theme.variables["block-cursor-text-style"]
    assert theme.variables["input-cursor-text-style"] == "reverse"


class Host(App[None]):
    def compose(self):
        yield Static("host")


async def test_switching_to_an_ansi_theme_sends_the_terminals_colours(tmp_path):
    # A user's ANSI theme without Textual's `ansi-background` variable: Textual's stylesheet
    # would stop the app; the loader supplies it.
    (tmp_path / "mine.toml").write_text('name = "mine"\nansi = true\nprimary = "ansi_magenta"\n')
    themes, errors = load_user_themes(builtin_theme_dir(), tmp_path)
    assert errors == []
    app = Host()
    for theme in themes:
        app.register_theme(theme)
    async with app.run_test(size=(60, 10)) as pilot:
        assert not app.native_ansi_color
        for name in ("terminal", "mine"):
            app.theme = name
            await pilot.pause()
            assert app.native_ansi_color  # ANSI colours are sent as ANSI, not converted to RGB
            assert app.screen.styles.background.ansi == -1  # the terminal's own background
        app.theme = "daylight"
        await pilot.pause()
        assert not app.native_ansi_color and app.screen.styles.background == Color.parse("#ffffff")


def test_ansi_must_be_a_boolean(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\nprimary = "ansi_blue"\nansi = "yes"\n')
    with pytest.raises(ValueError, match="ansi must be true or false"):
        load_theme_file(path)


# -- the palettes ---------------------------------------------------------------------------------


def test_palette_config_key(tmp_path):
    cfg = tmp_path / "config.toml"
    assert load_config(cfg).palette == "default"
    cfg.write_text('palette = "color-blind"\n')
    assert load_config(cfg).palette == "colour-blind"
    cfg.write_text('palette = "rainbow"\n')
    with pytest.raises(ConfigError, match='palette must be "default" or "colour-blind"'):
        load_config(cfg)


@pytest.mark.parametrize("palette", ["default", "colour-blind"])
def test_probability_and_diff_colours_read_on_every_shipped_theme(palette):
    for theme in shipped_themes():
        colours = ProbabilityColours(theme, palette)
        styles = diff_styles(theme, palette)
        for style in (*(colours.style(step / 10) for step in range(11)), styles.inserted, styles.deleted):
            assert style.color is not None
            if not theme.ansi:
                ratio = contrast(Color.from_rich_color(style.color), Color.parse(theme.background))
                assert ratio >= 4.5, (theme.name, palette, str(style), ratio)
        # Never colour alone: insertions and deletions, and the lowest band, carry an attribute.
        assert styles.inserted.bold and styles.inserted.underline and styles.deleted.strike
        assert colours.style(0.05).bold and not colours.style(0.95).bold


def test_the_colour_blind_scale_runs_from_orange_to_blue():
    for theme in shipped_themes():
        if theme.ansi:
            low, high = ProbabilityColours(theme, "colour-blind").style(0.0), ProbabilityColours(theme, "colour-blind").style(1.0)
            assert (low.color.number, high.color.number) == (1, 4)  # ANSI red, ANSI blue
            continue
        colours = ProbabilityColours(theme, "colour-blind")
        low = Color.from_rich_color(colours.style(0.0).color)
        high = Color.from_rich_color(colours.style(1.0).color)
        assert low.r > low.b + 60 and high.b > high.r + 60, (theme.name, low.hex, high.hex)
        styles = diff_styles(theme, "colour-blind")
        ins, dele = Color.from_rich_color(styles.inserted.color), Color.from_rich_color(styles.deleted.color)
        assert ins.b > ins.r and dele.r > dele.b  # blue insertions, orange deletions: no red/green pair


def test_without_colour_each_band_has_its_own_text_style():
    theme = shipped_themes()[0]
    colours = ProbabilityColours(theme, NONE)
    seen = [colours.style(p) for p in (0.95, 0.7, 0.35, 0.05)]
    assert seen == list(BAND_ATTRIBUTES) and len(set(seen)) == 4
    assert all(s.color is None and s.bgcolor is None for s in seen)
    assert [band(p) for p in (1.0, 0.9, 0.89, 0.5, 0.2, 0.19, 0.0)] == [0, 0, 1, 1, 2, 3, 3]
    styles = diff_styles(theme, NONE)
    assert styles.inserted == Style(bold=True, underline=True) and styles.deleted == Style(strike=True)


@pytest.mark.parametrize("value, wanted", [("1", True), ("true", True), ("", False), (None, False)])
def test_no_color_follows_no_color_org(value, wanted):
    assert no_color_requested({} if value is None else {"NO_COLOR": value}) is wanted


# -- in the app -------------------------------------------------------------------------------------

LOGPROBS = [
    {"token": "Sure", "logprob": -0.01, "top": [{"token": "Sure", "logprob": -0.01}]},
    {"token": " thing", "logprob": -1.2, "top": [{"token": " thing", "logprob": -1.2}, {"token": "!", "logprob": -0.5}]},
]


def rgb(style) -> tuple[int, int, int] | None:
    """The RGB of a Rich style, a style string or a Textual `Content` span's style."""
    style = Style.parse(style) if isinstance(style, str) else style
    if hasattr(style, "foreground"):  # textual.style.Style
        return style.foreground.rgb if style.foreground is not None else None
    return tuple(style.color.get_truecolor()) if style.color else None


def legend_colours(app) -> list:
    """The colour of each band's square in the probability view's legend."""
    legend = app.screen.query_one("#prob-legend", Static).render()
    return [rgb(span.style) for span in legend.spans if legend.plain[span.start:span.end] == "■ "]


async def test_the_colour_blind_palette_in_the_probability_view(fake_openai, tmp_path):
    from chat_tui.ui.widgets.probability import ProbabilityScreen

    app = demo_app(fake_openai, tmp_path / "s.db", config=Config(palette="colour-blind"))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.push_screen(ProbabilityScreen(LOGPROBS, title="t"))
        await pilot.pause()
        expected = ProbabilityColours(app.current_theme, "colour-blind")
        assert legend_colours(app) == [rgb(expected.style(p)) for p in (0.95, 0.7, 0.35, 0.05)]
        assert rgb(expected.style(0.95)) != rgb(ProbabilityColours(app.current_theme).style(0.95))
        app.theme = "daylight"  # the scale follows the theme
        await pilot.pause()
        app.screen.query_one("#prob-tokens").action_move(1)
        await pilot.pause()
        panel = app.screen.query_one("#prob-alternatives", Static).render()
        light = ProbabilityColours(app.current_theme, "colour-blind")
        assert rgb(light.style(0.3)) in [rgb(s.style) for s in panel.spans]  # " thing": 30 %


async def test_no_color_removes_every_colour_and_does_not_replace_the_saved_theme(fake_openai, tmp_path, monkeypatch):
    from chat_tui.ui.widgets.probability import ProbabilityScreen
    from chat_tui.ui.themes import save_theme_choice

    paths = Paths(config_dir=tmp_path / "cfg", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    save_theme_choice(paths.data_dir, "gruvbox-chat")
    monkeypatch.setenv("NO_COLOR", "1")
    app = demo_app(fake_openai, tmp_path / "s.db")
    app.paths = paths
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert app.no_color and app.theme == "terminal"
        # Every colour reset to the terminal's default, not turned grey.
        assert [type(f) for f in app.get_line_filters() if isinstance(f, (NoColor, Monochrome))] == [NoColor]
        app.push_screen(ProbabilityScreen(LOGPROBS, title="t"))
        await pilot.pause()
        legend = app.screen.query_one("#prob-legend", Static).render()
        assert str(legend).startswith("style = probability: ")
        assert legend.spans and all(rgb(span.style) is None for span in legend.spans)
    assert load_theme_choice(paths.data_dir) == "gruvbox-chat"


async def test_an_empty_no_color_is_not_set(fake_openai, tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "")
    app = demo_app(fake_openai, tmp_path / "s.db")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert not app.no_color and app.theme != "terminal"
        assert not [f for f in app.get_line_filters() if isinstance(f, (NoColor, Monochrome))]


# -- the real program in a terminal ---------------------------------------------------------------

COLOUR_CODES = set(range(30, 38)) | set(range(40, 48)) | set(range(90, 98)) | set(range(100, 108)) | {38, 48, 58}


def colour_sgr(raw: bytes) -> list[str]:
    """Every SGR sequence in `raw` that sets a colour (39 and 49, the terminal's defaults, do not)."""
    found = []
    for match in re.finditer(rb"\x1b\[([0-9;:]*)m", raw):
        params = match.group(1).decode()
        codes = params.replace(":", ";").split(";")
        i = 0
        while i < len(codes):
            code = int(codes[i] or 0)
            if code in COLOUR_CODES:
                found.append(params)
                break
            i += 1
    return found


@tmux_needed
@pytest.mark.parametrize("no_color", ["1", None])
def test_with_no_color_the_program_writes_no_colour_at_all(fake_openai, tmp_path, no_color):
    """The real `chat-tui` in tmux: every byte it writes, while it starts, takes a prompt and
    streams the answer, is checked for colour codes."""
    fake_openai.answer = "A **bold** answer with `code`."
    with Tmux(fake_openai, tmp_path, env={"NO_COLOR": no_color} if no_color else None) as tmux:
        tmux.wait_for(lambda s: "Message…" in s, "the prompt")
        tmux("send-keys", "-t", "t", "Hello there", "Enter")
        tmux.wait_for(lambda s: "A bold answer with code." in s, "the answer")
        raw = tmux.written(b"answer with")
    if no_color:
        assert colour_sgr(raw) == []
        assert b"\x1b[7m" in raw or b";7m" in raw or b"[7;" in raw  # the cursor: reverse video
    else:
        assert len(colour_sgr(raw)) > 10  # the check can fail: colours are there without NO_COLOR
