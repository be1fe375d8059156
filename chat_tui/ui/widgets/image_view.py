"""`ImageView(path_or_bytes, *, max_height=...)`: an image in the terminal, through textual-image.

Real pixels on Kitty (graphics protocol) and Sixel terminals, coloured half-blocks elsewhere
(`ui/image_protocol.py` says which). The image is drawn as cells by the renderer, never as text,
so nothing in it can reach the screen as an escape sequence; an unreadable image shows a plain
line saying so (its file name as text, never markup).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from chat_tui.core.text import visible_controls
from chat_tui.ui import image_protocol


class ImageView(Widget):
    DEFAULT_CSS = """
    ImageView { height: auto; width: auto; }
    ImageView > .image-error { color: $error; width: auto; }
    """

    def __init__(self, image: str | Path | bytes, *, max_height: int = 16, protocol: str | None = None,
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.source = image
        self.max_height = max(1, max_height)
        self.protocol = protocol or image_protocol.current()
        self.error: str | None = None
        self.pixels: tuple[int, int] | None = None

    def _open(self):
        from PIL import Image

        data = self.source if isinstance(self.source, bytes) else Path(self.source).read_bytes()
        img = Image.open(io.BytesIO(data))
        img.load()
        return img

    def compose(self) -> ComposeResult:
        try:
            img = self._open()
        except Exception as exc:  # any unreadable file: say so, never crash the screen
            what = "image" if isinstance(self.source, bytes) else visible_controls(Path(self.source).name)
            self.error = f"cannot show {what}: {type(exc).__name__}"
            yield Static(Text(self.error), classes="image-error")
            return
        self.pixels = img.size
        cls = image_protocol.widget_class(self.protocol)
        from textual_image._terminal import get_cell_size

        cell = get_cell_size()
        view = cls(img, classes="image")
        rows = max(1, min(self.max_height, math.ceil(img.height / cell.height)))
        # Both sides set: "auto" width is computed from a height Textual has not laid out yet.
        view.styles.height = rows
        view.styles.width = max(1, round(rows * cell.height * img.width / img.height / cell.width))
        yield view
