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


@pytest.mark.skipif(__import__("shutil").which("tmux") is None, reason="needs tmux")
def test_in_tmux_an_image_is_half_blocks_and_no_graphics_escape_reaches_the_terminal(fake_openai, tmp_path):
    """The real program in tmux (which has no graphics protocol): `/image` in a chat draws
    half-blocks, and the bytes it writes (logged with pipe-pane) hold no Kitty graphics (APC
    `ESC _ G`) and no Sixel (DCS `ESC P`), while the screen holds no stray escape text."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from demo import use_demo_pictures

    undo = use_demo_pictures()  # a real picture, not the fake's 1x1 pixel
    home, raw = tmp_path / "home", tmp_path / "raw.log"
    exe = Path(sys.executable).with_name("chat-tui")
    sock = f"ct-image-{os.getpid()}"

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True).stdout

    def wait_for(condition, what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = tmux("capture-pane", "-p", "-t", "t")
            if condition(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{what} never appeared:\n{screen}")

    cmd = (f"env -u KITTY_WINDOW_ID -u TERM_PROGRAM -u KONSOLE_VERSION CHAT_TUI_HOME={home}"
           f" OPENAI_BASE_URL={fake_openai.base_url} {exe} -m gpt-4o-mini")
    tmux("new-session", "-d", "-s", "t", "-x", "140", "-y", "44", cmd)
    try:
        tmux("pipe-pane", "-o", "-t", "t", f"cat >> {raw}")
        wait_for(lambda s: "Message…" in s, "the prompt")
        tmux("send-keys", "-t", "t", "/image A sun setting over a calm sea", "Enter")
        screen = wait_for(lambda s: s.count("▀") + s.count("▄") > 200, "the picture in half-blocks")
    finally:
        tmux("kill-server")
        undo()
    written = raw.read_bytes()
    assert b"\x1b_G" not in written and b"\x1bP" not in written
    assert "Image for" in screen and "\x1b" not in screen and "_G" not in screen
