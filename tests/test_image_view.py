"""ImageView: half-blocks in a plain terminal with no escape sequence in the text, a plain error
line for an unreadable file, and the protocol picked from config and environment hints only."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from textual.app import App

from chat_tui.core.config import load_config
from chat_tui.ui import image_protocol
from chat_tui.ui.widgets.image_view import ImageView


def png(w=64, h=32, colour=(255, 0, 0)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), colour).save(out, "PNG")
    return out.getvalue()


class Host(App):
    def __init__(self, view: ImageView) -> None:
        super().__init__()
        self.view = view

    def compose(self):
        yield self.view


async def test_half_blocks_render_in_a_plain_terminal_without_escape_sequences(tmp_path):
    path = tmp_path / "red[bold].png"
    path.write_bytes(png())
    app = Host(ImageView(path, max_height=6, protocol="halfcell"))
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        strips = app.screen._compositor.render_strips()
        segments = [seg for strip in strips for seg in strip]
        assert app.view.size.height == 2 and app.view.size.width == 8  # 32 px in 20-px cells: 2 rows, 2:1
    text = "".join(seg.text for seg in segments)
    assert "\x1b" not in text and "_G" not in text  # no Kitty or Sixel payload in the text
    painted = [seg for seg in segments if seg.text.strip()]
    assert painted and set("".join(seg.text for seg in painted)) <= {"▀", "▄"}
    assert all(seg.style.bgcolor.triplet == (255, 0, 0) for seg in painted)


async def test_max_height_bounds_a_tall_image():
    app = Host(ImageView(png(100, 1000), max_height=5, protocol="halfcell"))
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.pause()
        assert app.view.size.height == 5 and app.view.pixels == (100, 1000)


async def test_an_unreadable_file_is_a_plain_line_with_its_name_as_text(tmp_path):
    bad = tmp_path / "[red]evil\x1b[2J.png"
    bad.write_bytes(b"not an image")
    app = Host(ImageView(bad, protocol="halfcell"))
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
    assert "cannot show [red]evil␛[2J.png" in text and "\x1b" not in text


@pytest.mark.parametrize("env,expected", [
    ({"KITTY_WINDOW_ID": "1", "TERM": "xterm-kitty"}, "kitty"),
    ({"TERM_PROGRAM": "ghostty"}, "kitty"),
    ({"TERM_PROGRAM": "WezTerm"}, "sixel"),
    ({"TERM": "foot"}, "sixel"),
    ({"KONSOLE_VERSION": "230804"}, "sixel"),
    ({"TERM": "xterm-256color"}, "halfcell"),
    ({}, "halfcell"),
    ({"KITTY_WINDOW_ID": "1", "TMUX": "/tmp/tmux-0/default,1,0"}, "halfcell"),
])
def test_auto_reads_the_environment(env, expected):
    assert image_protocol.choose("auto", env) == expected


def test_an_explicit_setting_wins_and_the_config_checks_it(tmp_path):
    assert image_protocol.choose("sixel", {"KITTY_WINDOW_ID": "1"}) == "sixel"
    cfg = tmp_path / "config.toml"
    cfg.write_text('[images]\nprotocol = "kitty"\n')
    assert load_config(cfg).image_protocol == "kitty"
    cfg.write_text('[images]\nprotocol = "ascii"\n')
    with pytest.raises(ValueError, match="one of auto, kitty, sixel, halfcell"):
        load_config(cfg)
