"""`client.audio`: speech to text (`transcribe`, `translate`: multipart uploads) and text to
speech (`speech`: JSON in, audio bytes out)."""

from __future__ import annotations

from dataclasses import dataclass

from chat_tui.api.transport import FileField, Transport
from chat_tui.core.params.audio import SpeechParams, TranscriptionParams
from chat_tui.core.params.base import ParamError


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str | None = None
    duration: float | None = None
    raw: dict | None = None  # the whole JSON (verbose_json: segments, words)


class Audio:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def transcribe(self, file: FileField, model: str, params: TranscriptionParams = TranscriptionParams()) -> Transcript:
        return await self._speech_to_text("audio/transcriptions", file, model, params)

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
