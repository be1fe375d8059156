"""Reading an import file: a JSON file or a zip holding one, streamed, capped and checked.

API:

``open_source(path)`` -> context manager giving a `Source`
    The file itself, or the first ``conversations.json`` in a zip archive, read `CHUNK`
    bytes at a time as UTF-8 text, never more than `IMPORT_LIMIT` bytes (uncompressed). A
    zip member whose header declares more is refused before anything is unpacked, and one
    that unpacks to more than it declares is refused as hostile; a truncated or corrupt zip
    is reported as "… is a damaged zip archive: …", whenever the damage shows.
``read_json(source)`` -> ``(value, None)`` or ``(None, items)``
    A top-level JSON list comes as an iterator of ``(item, bytes read)``, decoded one item
    at a time: memory holds about one item (twice, while it is decoded), not the file.
    Anything else is decoded whole. Either way at most `VALUE_LIMIT` characters are decoded
    at once (a bigger item or document is refused), so a hostile file costs at most a few
    times that in memory. JSON nested deeper than Python can decode is reported
    as such (`nesting_error`), not as a RecursionError.

Every error is an `ImportError_` whose message names the file.
"""

from __future__ import annotations

import codecs
import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

from chat_tui.store.errors import ImportError_

IMPORT_LIMIT = 2 << 30  # bytes of JSON (after unzipping) one import reads at most
VALUE_LIMIT = 512 << 20  # characters decoded at once: one list item, or a whole other document
CHUNK = 1 << 20  # bytes read at a time
MEMBER = "conversations.json"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# The reading of a zip member fails with these when the archive is damaged.
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError)
_SPACE = re.compile(r"[ \t\n\r]*")
# A decode error this close to the end of what has been read may only mean "read more":
# a cut literal ("fals"), number ("1e") or escape ("\u00").
_NEAR_END = 10


def size_text(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def nesting_error(where: str) -> ImportError_:
    return ImportError_(f"{where}: JSON nested too deeply (lists or objects inside each other"
                        " hundreds of levels down); nothing was imported")


class Source:
    """UTF-8 text read from a file or zip member, a chunk at a time."""

    def __init__(self, raw: IO[bytes], name: str, total: int, *, archive: str | None = None,
                 declared: int | None = None) -> None:
        self.raw, self.name, self.total = raw, name, total
        self.archive = archive  # the zip's file name, if reading a member
        self.declared = declared  # the member's uncompressed size from its header
        self.done = 0  # bytes read
        self.eof = False
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()

    def read(self) -> str:
        """The next piece of text; "" only at the end."""
        while not self.eof:
            try:
                data = self.raw.read(CHUNK)
            except _DAMAGED as exc:
                raise ImportError_(f"{self.archive} is a damaged zip archive: {exc}") from None
            except OSError as exc:
                raise ImportError_(f"{self.name}: cannot read: {exc.strerror or exc}") from None
            self.done += len(data)
            if self.declared is not None and self.done > self.declared:
                raise ImportError_(
                    f"{self.name} unpacks to more than the {size_text(self.declared)} its zip header"
                    " declares: a damaged or hostile archive; nothing was imported")
            if self.done > IMPORT_LIMIT:
                raise _too_big(self.name, None)
            try:
                text = self._decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                at = self.done - len(exc.object) + exc.start  # the object: bytes held back, then data
                raise ImportError_(f"{self.name}: not UTF-8 text (byte {at}: {exc.reason})") from None
            self.eof = not data
            if text:
                return text
        return ""


def _too_big(name: str, size: int | None) -> ImportError_:
    what = f"is {size_text(size)}" if size is not None else "is larger than that"
    return ImportError_(f"{name} {what}: chat-tui imports at most {size_text(IMPORT_LIMIT)} of JSON"
                        " (IMPORT_LIMIT); nothing was imported")


@contextmanager
def open_source(path: str | Path) -> Iterator[Source]:
    path = Path(path)
    with ExitStack() as stack:
        try:
            raw = stack.enter_context(path.open("rb"))
            if raw.read(4) not in _ZIP_MAGIC and not zipfile.is_zipfile(raw):
                raw.seek(0)
                size = path.stat().st_size
                if size > IMPORT_LIMIT:
                    raise _too_big(path.name, size)
                source = Source(raw, path.name, size)
            else:
                try:
                    archive = stack.enter_context(zipfile.ZipFile(raw))
                    source = _member(archive, path.name, stack)
                except (*_DAMAGED, ValueError, OSError, NotImplementedError) as exc:  # bad offsets, versions
                    raise ImportError_(f"{path.name} is a damaged zip archive: its table of contents"
                                       f" is missing or unreadable (cut short?): {exc}") from None
        except OSError as exc:
            raise ImportError_(f"{path.name}: cannot read: {exc.strerror or exc}") from None
        yield source


def _member(archive: zipfile.ZipFile, zip_name: str, stack: ExitStack) -> Source:
    infos = [i for i in archive.infolist() if i.filename.rsplit("/", 1)[-1] == MEMBER]
    if not infos:
        raise ImportError_(f"{zip_name}: no {MEMBER} in this archive")
    info = infos[0]
    name = f"{zip_name}:{info.filename}"
    if info.file_size > IMPORT_LIMIT:  # refused before unpacking a byte
        raise _too_big(name, info.file_size)
    try:
        raw = stack.enter_context(archive.open(info))
    except (NotImplementedError, RuntimeError) as exc:  # a compression we lack; encrypted
        raise ImportError_(f"{name}: cannot be unpacked: {exc}") from None
    return Source(raw, name, info.file_size, archive=zip_name, declared=info.file_size)


class _Reader:
    """A window of the source's text, grown and consumed as JSON is decoded from it."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.text = ""
        self.i = 0  # where decoding continues in text
        self.base = 0  # characters dropped before text[0]
        self.lines = 0  # newlines among them
        self.last_newline = -1  # offset of the last of them
        self._decoder = json.JSONDecoder()

    def fill(self, want: int) -> None:
        """Drop what was consumed, then read until ``want`` characters are ahead (or the end)."""
        if self.i:
            dropped = self.text[: self.i]
            self.lines += dropped.count("\n")
            if (nl := dropped.rfind("\n")) >= 0:
                self.last_newline = self.base + nl
            self.base += self.i
            self.text, self.i = self.text[self.i:], 0
        pieces, have = [self.text], len(self.text)
        while have < want and not self.source.eof:
            piece = self.source.read()
            pieces.append(piece)
            have += len(piece)
        self.text = "".join(pieces)

    def peek(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            self.i = _SPACE.match(self.text, self.i).end()
            if self.i < len(self.text) or self.source.eof:
                return self.text[self.i: self.i + 1]
            self.fill(CHUNK)

    def error(self, message: str, pos: int) -> ImportError_:
        # Line and column as json's own messages give them, counted over the whole file.
        line = self.lines + self.text.count("\n", 0, pos) + 1
        nl = self.text.rfind("\n", 0, pos)
        column = pos - nl if nl >= 0 else self.base + pos - self.last_newline
        return ImportError_(f"{self.source.name}: not valid JSON: {message}: line {line}"
                            f" column {column} (char {self.base + pos})")

    def value(self, where: str) -> Any:
        """Decode the value starting at the next character, reading more as needed."""
        while True:
            self.peek()
            try:
                item, end = self._decoder.raw_decode(self.text, self.i)
            except json.JSONDecodeError as exc:
                cut = exc.msg.startswith("Unterminated string") or exc.pos >= len(self.text) - _NEAR_END
                if self.source.eof or not cut:
                    raise self.error(exc.msg, exc.pos) from None
            except RecursionError:
                raise nesting_error(where) from None
            else:
                # A number at the end of what was read may go on in the next chunk.
                if end < len(self.text) or self.source.eof or not self.text[end - 1].isdigit():
                    self.i = end
                    return item
            held = len(self.text) - self.i
            if held > VALUE_LIMIT:
                raise ImportError_(
                    f"{where}: more than {size_text(VALUE_LIMIT)} of JSON in one piece; chat-tui"
                    " decodes at most that at once (VALUE_LIMIT); nothing was imported")
            # Twice what is held: an item spanning many chunks is decoded a few times, not
            # once per chunk.
            self.fill(2 * held + CHUNK)


def read_json(source: Source) -> tuple[Any, Iterator[tuple[Any, int]] | None]:
    reader = _Reader(source)
    if reader.peek() != "[":
        value = reader.value(source.name)
        if reader.peek():
            raise reader.error("Extra data", reader.i)
        return value, None
    return None, _items(reader)


def _items(reader: _Reader) -> Iterator[tuple[Any, int]]:
    reader.i += 1
    if reader.peek() == "]":
        reader.i += 1
    else:
        index = 0
        while True:
            index += 1
            yield reader.value(f"{reader.source.name}: item {index}"), reader.source.done
            after = reader.peek()
            if after == ",":
                reader.i += 1
            elif after == "]":
                reader.i += 1
                break
            else:
                raise reader.error("Expecting ',' delimiter", reader.i)
    if reader.peek():
        raise reader.error("Extra data", reader.i)
