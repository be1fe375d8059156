"""Attachments: reading a file (or taking a URL) into an `Attachment`, keeping the files of a
sent prompt (content-addressed blobs and `attachments` rows), and reading them back from a
stored message. UI-free; the TUI calls `load` in a thread worker (a big file must not block it).
"""

from __future__ import annotations

from collections.abc import Sequence

import os
from pathlib import Path
from typing import TYPE_CHECKING

from chat_tui.core.attachments import (
    MAX_FILE_REQUEST_BYTES,
    MAX_IMAGE_BYTES,
    Attachment,
    AttachmentError,
    classify,
    from_url,
    image_size,
    is_url,
    size_text,
)
from chat_tui.core.messages import FilePart, ImagePart, TextPart

if TYPE_CHECKING:
    from chat_tui.store import Store
    from chat_tui.store.records import Message

_STORE_KINDS = {"image": "image", "pdf": "file", "text": "file", "audio": "audio"}


def blob_root(store: "Store") -> Path:
    """Where a database's attachment files live: `attachments/` beside it, in the data dir."""
    from chat_tui.store.attachments import store_blob_root

    return store_blob_root(store)


def resolve_path(source: str) -> Path:
    """A path as typed or pasted: quotes, `file://` and `~` handled."""
    text = source.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    if text.startswith("file://"):
        from urllib.parse import unquote, urlparse

        text = unquote(urlparse(text).path)
    return Path(os.path.expanduser(text))


def stat_file(path: Path, error: type[Exception]) -> os.stat_result:
    """A file's stat, or `error` saying what is wrong (missing, not a file, the OS's reason):
    checked before a byte is read."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as exc:
        raise error(f"{path}: {exc.strerror or exc}") from None
    if not path.is_file():
        raise error(f"{path}: not a file")
    return st


def load(source: str, *, detail: str = "auto") -> Attachment:
    """An attachment from a local path or an http(s) URL; AttachmentError with the reason
    (missing, not a file, unreadable, too large, unsupported type). Reads the file: call it
    off the UI thread."""
    if is_url(source.strip()):
        return from_url(source.strip(), detail=detail)
    path = resolve_path(source)
    name = path.name or str(path)
    st = stat_file(path, AttachmentError)
    from chat_tui.core.audio import AudioError, check_file, is_audio_name

    if is_audio_name(name):  # the 25 MB limit from the size alone, before reading
        try:
            check_file(name, st.st_size)
        except AudioError as exc:
            raise AttachmentError(str(exc)) from None
    # Refuse before reading what no kind of attachment allows.
    if st.st_size > max(MAX_IMAGE_BYTES, MAX_FILE_REQUEST_BYTES):
        raise AttachmentError(f"{name}: {size_text(st.st_size)} is over OpenAI's limits"
                              " (20 MB per image, 32 MB of files per request)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AttachmentError(f"{path}: {exc.strerror or exc}") from None
    return classify(name, data, detail=detail)


def keep_files(store: "Store", attachments: Sequence[Attachment]) -> dict[int, str]:
    """Write the attachments' files under the data dir, each once by its sha256; their digests
    by position. File work with no database in it: the TUI runs it in a thread before the prompt
    is saved, so a large image is never hashed or written on the event loop."""
    from chat_tui.store.attachments import save_blob

    import hashlib

    # A database in memory (ask --no-save) keeps no files: nothing is written beside it.
    root = None if str(store.path) == ":memory:" else blob_root(store)
    return {i: save_blob(root, a.data) if root is not None else hashlib.sha256(a.data).hexdigest()
            for i, a in enumerate(attachments) if a.url is None}


def save(store: "Store", message_id: int, attachments: Sequence[Attachment], kept: dict[int, str] | None = None) -> None:
    """Keep the files of a saved prompt (`keep_files`, unless `kept` has them already) and an
    `attachments` row per file saying which part of the message it is (the prompt's text is
    part 0, the sent attachments follow in order). Audio is not a part: its rows take the
    positions after the last part. A URL is not a file: it stays in the parts only."""
    from chat_tui.store.attachments import add_attachment

    digests = kept if kept is not None else keep_files(store, attachments)
    order = [i for i, a in enumerate(attachments) if a.sent] + [i for i, a in enumerate(attachments) if not a.sent]
    for position, i in enumerate(order, 1):
        if i in digests:
            a = attachments[i]
            add_attachment(store, message_id, position, _STORE_KINDS[a.kind], digests[i],
                           name=a.name, mime=a.mime, size=a.size)


def of_message(store: "Store", message: "Message") -> list[Attachment]:
    """The attachments of a stored message, as they were attached (edit-and-resend gives them
    back to the prompt): files from their rows and blobs (falling back to the parts' inline
    data), image URLs from the parts."""
    return files_of(message, attachments_by_position(store, message), blob_root(store))


def files_of(message: "Message", rows: dict, root: Path) -> list[Attachment]:
    """of_message's file reading, without the database (the TUI runs it in a thread, with the
    rows read before)."""
    from chat_tui.store.attachments import read_blob

    out: list[Attachment] = []
    parts = message.to_chat_message().parts
    for position, part in enumerate(parts):
        row = rows.get(position)
        if isinstance(part, ImagePart) and not part.url.startswith("data:"):
            out.append(from_url(part.url, detail=part.detail or "auto"))
            continue
        if row is None:
            continue
        try:
            data = read_blob(root, row.sha256)
        except OSError:
            data = _inline_bytes(part)
        if data is None:
            continue
        detail = part.detail if isinstance(part, ImagePart) and part.detail else "auto"
        try:
            out.append(classify(row.name or f"attachment {position}", data, detail=detail))
        except AttachmentError:
            continue
    for position in sorted(p for p in rows if p >= len(parts)):  # kept, not sent (audio): after the parts
        try:
            out.append(classify(rows[position].name or f"attachment {position}", read_blob(root, rows[position].sha256)))
        except (OSError, AttachmentError):
            continue
    return out


def _inline_bytes(part: object) -> bytes | None:
    import base64

    url = part.url if isinstance(part, ImagePart) else part.file_data if isinstance(part, FilePart) else None
    if isinstance(part, TextPart):
        return None
    if not url or "," not in url:
        return None
    try:
        return base64.b64decode(url.split(",", 1)[1])
    except ValueError:
        return None


def shown_message(store: "Store", message: "Message") -> tuple[str, list[tuple[str, str, Path | None]]]:
    """A user message as the conversation shows it: the prompt's text (without the inlined
    text files) and its attachments' chips (kind, label, the file when there is one)."""
    from chat_tui.store.attachments import blob_path

    if not message.parts:
        return message.content, []
    rows = attachments_by_position(store, message)
    parts = message.to_chat_message().parts
    text = "".join(p.text for i, p in enumerate(parts) if isinstance(p, TextPart) and i not in rows)
    root = blob_root(store)
    chips = [(kind, label, blob_path(root, rows[i].sha256) if i in rows else None)
             for i, kind, label in _chips(parts, rows)]
    chips += [("image", _pointer_label(p), None) for p in message.parts
              if isinstance(p, dict) and p.get("type") == "image_asset_pointer"]
    return text, chips


def _pointer_label(ref: dict) -> str:
    """An image a ChatGPT export only points at: its pointer, size and width×height."""
    bits = [str(ref.get("asset_pointer")), "not in the export"]
    if isinstance(ref.get("size_bytes"), int):
        bits.append(size_text(ref["size_bytes"]))
    if isinstance(ref.get("width"), int) and isinstance(ref.get("height"), int):
        bits.append(f"{ref['width']}×{ref['height']}")
    return " · ".join(bits)


def attachments_by_position(store: "Store", message: "Message") -> dict:
    from chat_tui.store.attachments import attachments

    return {a.position: a for a in attachments(store, message.id)} if message.parts else {}


def chips_of_message(store: "Store", message: "Message") -> list[tuple[str, str]]:
    """(kind, label) for each attachment of a stored message, without reading any blob: the
    name, type and size from its row, an image's width×height from its part's first bytes."""
    if not message.parts:
        return []
    rows = attachments_by_position(store, message)
    return [(kind, label) for _, kind, label in _chips(message.to_chat_message().parts, rows)]


def _chips(parts: tuple, rows: dict) -> list[tuple[int, str, str]]:
    from chat_tui.core.attachments import part_image_size

    chips: list[tuple[int, str, str]] = []
    for position, part in enumerate(parts):
        row = rows.get(position)
        if row is not None:
            bits = [row.name or "attachment", row.mime or row.kind]
            if row.size is not None:
                bits.append(size_text(row.size))
            if isinstance(part, ImagePart) and (wh := part_image_size(part)):
                bits.append(f"{wh[0]}×{wh[1]}")
            if isinstance(part, ImagePart) and part.detail and part.detail != "auto":
                bits.append(f"detail {part.detail}")
            chips.append((position, row.kind, " · ".join(bits)))
        elif isinstance(part, ImagePart):
            if part.url.startswith("data:"):
                wh = part_image_size(part)
                label = "image" + (f" · {wh[0]}×{wh[1]}" if wh else "")
            else:
                label = part.url
            chips.append((position, "image", label))
        elif isinstance(part, FilePart):
            chips.append((position, "file", part.filename or part.file_id or "file"))
    for position in sorted(p for p in rows if p >= len(parts)):  # kept, not sent: audio
        row = rows[position]
        bits = [row.name or "attachment", row.mime or row.kind]
        if row.size is not None:
            bits.append(size_text(row.size))
        chips.append((position, row.kind, " · ".join(bits)))
    return chips


__all__ = ["Attachment", "AttachmentError", "blob_root", "load", "save", "of_message", "chips_of_message",
           "resolve_path", "image_size"]
