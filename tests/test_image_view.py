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


class Tmux:
    """The real `chat-tui` in a tmux session against the fake server; every byte the program
    writes is logged (pipe-pane), so escape sequences can be checked, not just the screen."""

    def __init__(self, fake, tmp_path, protocol: str | None = None, env: dict[str, str] | None = None) -> None:
        import os
        import sys
        from pathlib import Path

        self.home, self.raw = tmp_path / "home", tmp_path / "raw.log"
        self.home.mkdir()
        if protocol:
            (self.home / "config.toml").write_text(f'[images]\nprotocol = "{protocol}"\n')
        # A socket of its own: a server killed by the test before must not take this session with it.
        self.sock = f"ct-image-{os.getpid()}-{tmp_path.name}"
        exe = Path(sys.executable).with_name("chat-tui")
        extra = "".join(f" {name}={value}" for name, value in (env or {}).items())
        self.cmd = (f"env -u KITTY_WINDOW_ID -u TERM_PROGRAM -u KONSOLE_VERSION -u NO_COLOR CHAT_TUI_HOME={self.home}"
                    f" OPENAI_BASE_URL={fake.base_url}{extra} {exe} -m gpt-4o")

    def __call__(self, *args: str) -> str:
        import subprocess

        return subprocess.run(["tmux", "-L", self.sock, *args], capture_output=True, text=True).stdout

    def __enter__(self) -> "Tmux":
        self("new-session", "-d", "-s", "t", "-x", "140", "-y", "44", self.cmd)
        self("pipe-pane", "-o", "-t", "t", f"cat >> {self.raw}")
        return self

    def __exit__(self, *exc) -> None:
        self("kill-server")

    def wait_for(self, condition, what: str, timeout: float = 30) -> str:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self("capture-pane", "-p", "-t", "t")
            if condition(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{what} never appeared:\n{screen}")

    def written(self, needle: bytes, timeout: float = 30) -> bytes:
        """The bytes written so far, once they hold `needle`."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self.raw.read_bytes() if self.raw.exists() else b""
            if needle in data:
                return data
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} was never written")


tmux_needed = pytest.mark.skipif(__import__("shutil").which("tmux") is None, reason="needs tmux")


@tmux_needed
def test_in_tmux_an_image_is_half_blocks_and_no_graphics_escape_reaches_the_terminal(fake_openai, tmp_path):
    """The real program in tmux (which has no graphics protocol): `/image` in a chat draws
    half-blocks, and the bytes it writes hold no Kitty graphics (APC `ESC _ G`) and no Sixel
    (DCS `ESC P`), while the screen holds no stray escape text."""
    from demo import use_demo_pictures

    undo = use_demo_pictures()  # a real picture, not the fake's 1x1 pixel
    try:
        with Tmux(fake_openai, tmp_path) as tmux:
            tmux.wait_for(lambda s: "Message…" in s, "the prompt")
            tmux("send-keys", "-t", "t", "/image A sun setting over a calm sea", "Enter")
            screen = tmux.wait_for(lambda s: s.count("▀") + s.count("▄") > 200, "the picture in half-blocks")
    finally:
        undo()
    written = tmux.raw.read_bytes()
    assert b"\x1b_G" not in written and b"\x1bP" not in written
    assert "Image for" in screen and "\x1b" not in screen and "_G" not in screen


def halves(path) -> bytes:
    """A picture whose left half is red and right half blue: where each colour lands shows the
    pixels are the picture's, not just its colours."""
    image = Image.new("RGB", (400, 200), (220, 30, 30))
    image.paste((30, 60, 220), (200, 0, 400, 200))
    image.save(path, "PNG")
    return path.read_bytes()


def decode_sixel(data: bytes) -> Image.Image:
    """A small Sixel decoder (palette `#n;2;r;g;b` in percent, `#n` select, `!n` repeat, `$`
    carriage return, `-` next band), enough to read back what the terminal is sent."""
    import re

    body = data[data.index(b"q") + 1:]
    size = re.match(rb'"\d+;\d+;(\d+);(\d+)', body)
    width, height = int(size[1]), int(size[2])
    body = body[size.end():]
    image = Image.new("RGB", (width, height))
    palette: dict[int, tuple[int, int, int]] = {}
    colour, x, band, i = 0, 0, 0, 0
    while i < len(body):
        c = body[i]
        if c == ord("#"):
            m = re.match(rb"#(\d+)(?:;2;(\d+);(\d+);(\d+))?", body[i:])
            colour = int(m[1])
            if m[2] is not None:
                palette[colour] = tuple(round(int(v) * 255 / 100) for v in m.groups()[1:])
            i += m.end()
            continue
        repeat = 1
        if c == ord("!"):
            m = re.match(rb"!(\d+)", body[i:])
            repeat, i = int(m[1]), i + m.end()
            c = body[i]
        if c == ord("$"):
            x = 0
        elif c == ord("-"):
            x, band = 0, band + 1
        elif 63 <= c <= 126:
            for _ in range(repeat):
                for bit in range(6):
                    if (c - 63) >> bit & 1 and x < width and band * 6 + bit < height:
                        image.putpixel((x, band * 6 + bit), palette[colour])
                x += 1
        i += 1
    return image


def close(a, b, slack=8) -> bool:
    return all(abs(p - q) <= slack for p, q in zip(a, b))


@tmux_needed
@pytest.mark.parametrize("protocol", ["kitty", "sixel"])
def test_kitty_and_sixel_send_the_pictures_real_pixels(fake_openai, tmp_path, protocol):
    """With the protocol set in the config, an attached picture shown in the conversation goes
    to the terminal as real pixels: the Kitty payload (a PNG) and the Sixel image, decoded
    here, are the picture (red on the left, blue on the right) and nothing leaks as text."""
    import base64

    source = halves(tmp_path / "halves.png")
    with Tmux(fake_openai, tmp_path, protocol) as tmux:
        tmux.wait_for(lambda s: "Message…" in s, "the prompt")
        tmux("send-keys", "-t", "t", "C-t")
        tmux.wait_for(lambda s: "Path or http" in s, "the attach field")
        tmux("send-keys", "-t", "t", str(tmp_path / "halves.png"), "Enter")
        tmux.wait_for(lambda s: "▣ halves.png · image/png" in s, "the chip")  # not the typed path: the chip
        tmux("send-keys", "-t", "t", "Which colours?", "Enter")
        opening = b"\x1b_G" if protocol == "kitty" else b"\x1bP"
        written = tmux.written(opening)
        start = written.index(opening)
        end = written.index(b"\x1b\\", start)
        screen = tmux.wait_for(lambda s: "Echo: Which colours?" in s, "the answer")
    if protocol == "kitty":
        control, payload = written[start + 3:end].split(b";", 1)
        assert b"f=100" in control  # a PNG
        shown = Image.open(io.BytesIO(base64.b64decode(payload))).convert("RGB")
    else:
        shown = decode_sixel(written[start:end])
    w, h = shown.size
    assert w > 50 and abs(w / h - 2) < 0.25  # the picture's shape, scaled to its cells
    assert close(shown.getpixel((w // 4, h // 2)), (220, 30, 30)) and close(shown.getpixel((3 * w // 4, h // 2)), (30, 60, 220))
    assert len(source) > 0 and "\x1b" not in screen and "_G" not in screen
