"""Incremental Server-Sent Events decoder: bytes in, events out, no I/O.

Follows the WHATWG HTML "event stream interpretation" rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):

- the stream is UTF-8, decoded incrementally (a character split across chunks decodes
  once whole; invalid bytes become U+FFFD); one leading BOM is dropped, at the start only;
- lines end with CRLF, LF or CR, and a CR ending one chunk plus a LF starting the next
  is one line end, not two;
- ``:comment`` lines are ignored; ``field:value`` loses one leading space from the value;
  a line without a colon is a field with an empty value; unknown fields are ignored;
- ``data`` lines accumulate, joined by ``\\n``; ``event`` sets the type (``message`` when
  unset); ``id`` is ignored if it contains NUL and otherwise persists across events;
  ``retry`` counts only when all ASCII digits;
- a blank line dispatches the event, unless no ``data`` line was seen (then nothing is
  dispatched); either way the type and the block's retry reset;
- at end of stream an event not terminated by a blank line is discarded.

Cost is proportional to the new bytes of each chunk: only the new text is searched for line
ends, and an unterminated line is kept as a list of pieces joined once, when it ends.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

__all__ = ["SSEDecoder", "ServerSentEvent"]

_Utf8Decoder = codecs.getincrementaldecoder("utf-8")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event.

    `id` is the decoder's last event ID at dispatch time (it persists across events, as the
    spec says; None until the server sends one). `retry` is the reconnection time sent
    inside this event's block, if any; the latest value also stays on `SSEDecoder.retry`.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed network chunks with `feed`, then call `close` at end of stream.

    `last_event_id` and `retry` (reconnection time in ms) hold the latest values the server
    set, for a client that reconnects. `pending` tells whether the stream so far stops in
    the middle of an event: a truncated stream, if it is still true at the end.
    """

    __slots__ = (
        "_utf8",
        "_started",
        "_cr",
        "_partial",
        "_data",
        "_event",
        "_block_retry",
        "_closed",
        "last_event_id",
        "retry",
    )

    def __init__(self) -> None:
        self._utf8 = _Utf8Decoder("replace")
        self._started = False  # first character seen (the BOM, if any, was dropped)
        self._cr = False  # text so far ended in CR: a LF that comes next belongs to it
        self._partial: list[str] = []  # pieces of the current, unterminated line
        self._data: list[str] = []  # data lines of the current event
        self._event = ""
        self._block_retry: int | None = None
        self._closed = False
        self.last_event_id: str | None = None
        self.retry: int | None = None

    @property
    def pending(self) -> bool:
        """True if undispatched input remains: data lines without their blank line, an
        unterminated line, or the first bytes of a split UTF-8 character.

        Still meaningful after `close`: it then tells whether something was discarded.
        """
        return bool(self._data or self._partial or self._utf8.getstate()[0])

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode one chunk; return the events it completed (often none, sometimes many)."""
        if self._closed:
            raise ValueError("SSEDecoder.feed() called after close()")
        text = self._utf8.decode(chunk)
        return self._feed_text(text) if text else []

    def close(self, *, dispatch_incomplete: bool = False) -> list[ServerSentEvent]:
        """End of stream.

        Per the spec an event not terminated by a blank line is discarded, so this returns
        an empty list; check `pending` (before or after) to notice a truncated stream.
        With ``dispatch_incomplete=True`` the unterminated last line is processed and the
        event dispatched as if a blank line had followed: a leniency for servers that end
        with ``data: [DONE]`` and no blank line.
        """
        if self._closed:
            return []
        self._closed = True
        # A split character at the very end becomes U+FFFD in the unterminated line.
        tail = self._utf8.decode(b"", final=True)
        if tail:
            self._feed_text(tail)  # no line end in it, so this only extends `_partial`
        if not dispatch_incomplete:
            return []
        lines = ["".join(self._partial)] if self._partial else []
        self._partial = []
        lines.append("")
        return self._process(lines)

    def _feed_text(self, text: str) -> list[ServerSentEvent]:
        if not self._started:
            self._started = True
            if text[0] == "\ufeff":
                text = text[1:]
                if not text:
                    return []
        if self._cr:
            self._cr = False
            if text[0] == "\n":  # the LF of a CRLF whose CR ended the previous chunk
                text = text[1:]
                if not text:
                    return []
        if "\r" in text:
            self._cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        if len(lines) == 1:
            self._partial.append(text)
            return []
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = "".join(self._partial)
            self._partial = []
        tail = lines.pop()
        if tail:
            self._partial.append(tail)
        return self._process(lines)

    def _process(self, lines: list[str]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        data = self._data
        for line in lines:
            if line.startswith("data: "):  # the common case, without the general parse
                data.append(line[6:])
                continue
            if not line:
                if data:
                    events.append(
                        ServerSentEvent(
                            self._event or "message", "\n".join(data), self.last_event_id, self._block_retry
                        )
                    )
                    data = self._data = []
                self._event = ""
                self._block_retry = None
                continue
            colon = line.find(":")
            if colon == 0:
                continue  # comment
            if colon < 0:
                name, value = line, ""
            else:
                name = line[:colon]
                value = line[colon + 1 :]
                if value.startswith(" "):
                    value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id":
                if "\0" not in value:
                    self.last_event_id = value
            elif name == "retry":
                if value.isascii() and value.isdigit():
                    try:
                        self.retry = self._block_retry = int(value)
                    except ValueError:  # longer than Python's int-parsing limit: meaningless
                        pass
        return events
