"""`client.audio`: speech to text (`transcribe`, `translate`: multipart uploads) and text to
speech (`speech`: JSON in, audio bytes out)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from chat_tui.api.errors import APITimeoutError, StreamError, error_from_payload
from chat_tui.api.sse import SSEDecoder
from chat_tui.api.transport import FileField, Transport, reason
from chat_tui.core.params.audio import SpeechParams, TranscriptionParams
from chat_tui.core.params.base import ParamError


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str | None = None
    duration: float | None = None
    raw: dict | None = None  # the whole JSON (verbose_json: segments, words)


@dataclass(frozen=True, slots=True)
class TranscriptDelta:
    """A piece of a streamed transcript (`transcript.text.delta`)."""

    text: str


class Audio:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def transcribe(self, file: FileField, model: str, params: TranscriptionParams = TranscriptionParams()) -> Transcript:
        return await self._speech_to_text("audio/transcriptions", file, model, params)

    async def transcribe_stream(self, file: FileField, model: str,
                                params: TranscriptionParams = TranscriptionParams()) -> AsyncIterator[TranscriptDelta | Transcript]:
        """`stream=true`: `TranscriptDelta`s as the server sends them, then the whole `Transcript`
        (`transcript.text.done`). A server that answers with plain JSON gives the transcript only."""
        path, query = self._transport.url("audio/transcriptions", model)
        response = await self._transport.send("POST", path, query=query, form=params.form_fields(model, stream=True),
                                              files=[("file", file)], stream=True)
        try:
            if "event-stream" not in response.headers.get("content-type", ""):
                try:
                    data = json.loads(await response.aread() or b"{}")
                except ValueError:
                    raise StreamError("expected a transcript (JSON or events), got something else") from None
                if isinstance(data, dict) and isinstance(data.get("error"), (dict, str)):
                    raise error_from_payload(data, status=response.status_code)
                yield Transcript(text=str(data.get("text") or "") if isinstance(data, dict) else "",
                                 raw=data if isinstance(data, dict) else None)
                return
            decoder, parts = SSEDecoder(), []
            try:
                async for chunk in response.aiter_bytes():
                    for sse in decoder.feed(chunk):
                        if sse.data == "[DONE]":
                            continue
                        try:
                            event = json.loads(sse.data)
                        except ValueError:
                            raise StreamError(f"a transcript event is not JSON: {sse.data[:80]!r}") from None
                        if not isinstance(event, dict):
                            raise StreamError("a transcript event is not an object")
                        kind = event.get("type")
                        if kind == "transcript.text.delta" and isinstance(event.get("delta"), str):
                            parts.append(event["delta"])
                            yield TranscriptDelta(event["delta"])
                        elif kind == "transcript.text.done":
                            text = event.get("text")
                            yield Transcript(text=text if isinstance(text, str) else "".join(parts), raw=event)
                            return
                        elif kind == "error" or "error" in event:
                            raise error_from_payload(event, status=200)
            except httpx.TimeoutException:
                raise APITimeoutError("the server stopped sending the transcript") from None
            except httpx.HTTPError as exc:
                raise StreamError(f"the connection dropped mid-transcript: {reason(exc)}") from None
            raise StreamError(f"the transcript stream ended before transcript.text.done ({len(parts)} pieces)")
        finally:
            await response.aclose()

    async def translate(self, file: FileField, model: str, params: TranscriptionParams = TranscriptionParams()) -> Transcript:
        """Speech in any language to English text."""
        if params.language is not None:  # not a parameter of translations (OpenAI's schema is closed)
            raise ParamError("language", "a translation detects the spoken language by itself (and answers in English)")
        return await self._speech_to_text("audio/translations", file, model, params)

    async def speech(self, text: str, model: str, params: SpeechParams = SpeechParams()) -> tuple[bytes, str]:
        """The audio bytes and their content type."""
        path, query = self._transport.url("audio/speech", model)
        return await self._transport.request_bytes("POST", path, query=query, json_body=params.body(model, text))

    async def _speech_to_text(self, what: str, file: FileField, model: str, params: TranscriptionParams) -> Transcript:
        path, query = self._transport.url(what, model)
        fmt = params.response_format or "json"
        if fmt in ("json", "verbose_json"):
            data = await self._transport.request_json("POST", path, query=query, form=params.form_fields(model), files=[("file", file)])
            duration = data.get("duration")
            return Transcript(
                text=str(data.get("text") or ""),
                language=data.get("language") if isinstance(data.get("language"), str) else None,
                duration=float(duration) if isinstance(duration, (int, float)) and not isinstance(duration, bool) else None,
                raw=data,
            )
        body, _ = await self._transport.request_bytes("POST", path, query=query, form=params.form_fields(model), files=[("file", file)])
        return Transcript(text=body.decode("utf-8", "replace"))
