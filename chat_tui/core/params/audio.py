"""Audio parameters: transcription and translation (`/v1/audio/transcriptions`,
`translations`, multipart forms) and speech (`/v1/audio/speech`, JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chat_tui.core.params.base import ParamError, Params, choice, number, string

TRANSCRIPT_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
MAX_SPEECH_INPUT = 4096  # characters of text to speak per request (OpenAI's limit)

TRANSCRIPTION_RULES: dict[str, Any] = {
    "language": (lambda v: string("language", v), None),
    "prompt": (lambda v: string("prompt", v), None),
    "response_format": (lambda v: choice("response_format", v, TRANSCRIPT_FORMATS), "json"),
    "temperature": (lambda v: number("temperature", v, 0, 1), 0.0),
}

SPEECH_RULES: dict[str, Any] = {
    "voice": (lambda v: string("voice", v), "alloy"),
    "response_format": (lambda v: choice("response_format", v, ("mp3", "opus", "aac", "flac", "wav", "pcm")), "mp3"),
    "speed": (lambda v: number("speed", v, 0.25, 4), 1.0),
    "instructions": (lambda v: string("instructions", v), None),
}


@dataclass(frozen=True)
class TranscriptionParams(Params):
    language: str | None = None
    prompt: str | None = None
    response_format: str | None = None
    temperature: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    RULES = TRANSCRIPTION_RULES

    def form_fields(self, model: str, *, stream: bool = False) -> dict[str, str]:
        if not model:
            raise ParamError("model", "no model selected")
        fields = {"model": model, **{k: str(v) for k, v in self.as_dict().items()}}
        if stream:  # SSE `transcript.text.delta` events (gpt-4o-*transcribe)
            fields["stream"] = "true"
        return fields


@dataclass(frozen=True)
class SpeechParams(Params):
    voice: str | None = None
    response_format: str | None = None
    speed: float | None = None
    instructions: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    RULES = SPEECH_RULES

    def body(self, model: str, text: str) -> dict[str, Any]:
        if not model:
            raise ParamError("model", "no model selected")
        if not text:
            raise ParamError("input", "no text to speak")
        if len(text) > MAX_SPEECH_INPUT:
            raise ParamError("input", f"at most {MAX_SPEECH_INPUT} characters per request, got {len(text)}")
        body: dict[str, Any] = {"model": model, "input": text, "voice": self.voice or self.default_of("voice")}
        body.update({k: v for k, v in self.as_dict().items() if k != "voice"})
        return body
