"""Attachments in the chat screen: the path field (with completion from the directory), the
chips above the prompt (removable), and the chips a sent message shows.

File names are untrusted text: every label is a `rich.text.Text`, never markup.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Input, Static

from chat_tui.core.text import visible_controls

_ICONS = {"image": "▣", "pdf": "▤", "text": "▤", "file": "▤"}


class PathSuggester(Suggester):
    """Completes the last path component from the directory's entries (directories end in /)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value or value.startswith(("http://", "https://")):
            return None
        head, _, stem = value.rpartition("/")
        directory = Path(os.path.expanduser(head + "/" if head or value.startswith("/") else "."))
        try:
            names = sorted(e.name + ("/" if e.is_dir() else "") for e in os.scandir(directory)
                           if e.name.startswith(stem) and (stem.startswith(".") or not e.name.startswith(".")))
        except OSError:
            return None
        if not names:
            return None
        return (head + "/" if head or value.startswith("/") else "") + names[0]


class AttachField(Input):
    """A path or URL to attach: Enter attaches, → takes the completion, Escape closes."""

    BINDINGS = [Binding("escape", "close", "Close", id="attach.close")]

    class Closed(Message):
        pass

    def __init__(self, **kw) -> None:
        kw.setdefault("placeholder", "Path or http(s) URL to attach (→ completes, Enter attaches, Escape closes)")
        super().__init__(suggester=PathSuggester(), **kw)

    def action_close(self) -> None:
        self.value = ""
        self.post_message(self.Closed())


def chip_text(kind: str, label: str, *, removable: bool) -> Text:
    text = Text(f"{_ICONS.get(kind, '▤')} ")
    text.append(visible_controls(label))
    if removable:
        text.append("  ✕", style="bold")
    return text


class AttachmentChip(Static, can_focus=True):
    """One attachment of the prompt being written: Delete (or a click) removes it; on an image,
    `d` steps its `detail` (auto → low → high), which the token meter counts."""

    BINDINGS = [
        Binding("delete,backspace", "remove", "Remove", id="attachment.remove"),
        Binding("d", "detail", "Detail", id="attachment.detail"),
    ]

    class Removed(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    class DetailStepped(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, index: int, kind: str, label: str) -> None:
        super().__init__(chip_text(kind, label, removable=True), classes="attachment-chip", markup=False)
        self.index = index
        self.kind = kind
        self.tooltip = Text(visible_controls(label) + ("\nd: detail auto/low/high, Delete: remove" if kind == "image" else ""))

    def action_remove(self) -> None:
        self.post_message(self.Removed(self.index))

    def action_detail(self) -> None:
        if self.kind == "image":
            self.post_message(self.DetailStepped(self.index))

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.action_remove()


class AttachmentBar(Horizontal):
    """The prompt's attachments, as chips; hidden when there are none."""

    def set_chips(self, chips: list[tuple[str, str]]) -> None:
        self.remove_children()
        self.display = bool(chips)
        if chips:
            self.mount_all([AttachmentChip(i, kind, label) for i, (kind, label) in enumerate(chips)])

    @property
    def chips(self) -> list[AttachmentChip]:
        return list(self.query(AttachmentChip))


class AttachmentPlaceholder(Static):
    """A sent attachment: a chip with its name, type, size and an image's width×height."""

    def __init__(self, kind: str, label: str) -> None:
        super().__init__(chip_text(kind, label, removable=False), classes="attachment-placeholder", markup=False)
        self.kind = kind
        self.label = label


def attachment_preview(kind: str, label: str, source: Path | bytes | None = None) -> Widget:
    """How a message shows one attachment: an image whose bytes are here is drawn with the same
    renderer as generated images (`ImageView`), its chip under it as the caption; anything else
    is its chip. `source` is the image's file (its blob under the data dir) or bytes."""
    if kind == "image" and source is not None:
        from textual.containers import Vertical

        from chat_tui.ui.widgets.image_view import ImageView

        return Vertical(ImageView(source, max_height=8), AttachmentPlaceholder(kind, label),
                        classes="attachment-image")
    return AttachmentPlaceholder(kind, label)


class MessageAttachments(Horizontal):
    """The attachments a message was sent with, under its text."""

    def __init__(self, chips: list[tuple[str, str, Path | bytes | None]]) -> None:
        super().__init__(classes="message-attachments")
        self._chips = chips

    def compose(self):
        for kind, label, source in self._chips:
            yield attachment_preview(kind, label, source)
