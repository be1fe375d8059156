"""Speech to text: read an audio file (its format and the 25 MB limit checked first, from the
name and size alone), check the options against the model, transcribe or translate it, or stream
the transcript as it is made (gpt-4o-*transcribe). UI-free: the CLI and the TUI call it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chat_tui.core.audio import AudioError, check_file, check_options, streams
from chat_tui.core.params.audio import TranscriptionParams
from chat_tui.core.params.base import ParamError

if TYPE_CHECKING:
    from chat_tui.api.client import OpenAIClient
    from chat_tui.api.resources.audio import Transcript


@dataclass(frozen=True)
class AudioFile:
    name: str
    mime: str
    data: bytes

    def upload(self) -> tuple[str, bytes, str]:
        return (self.name, self.data, self.mime)


def read_audio(source: str) -> AudioFile:
    """An audio file from a path; AudioError (missing, not a file, wrong format, empty, over
    25 MB: all before reading a byte) or with the OS's reason. Reads the file: off the UI thread."""
    from chat_tui.services.attachments import resolve_path, stat_file

    path = resolve_path(source)
    name = path.name or str(path)
    st = stat_file(path, AudioError)
    mime = check_file(name, st.st_size)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AudioError(f"{path}: {exc.strerror or exc}") from None
    check_file(name, len(data))  # it may have grown since the stat
    return AudioFile(name, mime, data)


def options(model: str, *, translate: bool = False, **values: Any) -> TranscriptionParams:
    """The request's options, each value checked (ParamError) and the whole against the model
    (AudioError: a format the model does not return, a translation by a gpt-4o model)."""
    pairs = [(k, v) for k, v in values.items() if v is not None]
    if translate and any(k == "language" for k, _ in pairs):
        raise AudioError("a translation has no --language: it detects the spoken language and answers in English")
    params = TranscriptionParams.from_options(pairs)
    check_options(model, params.response_format, translate=translate)
    return params


async def transcribe(client: OpenAIClient, audio: AudioFile, model: str,
                     params: TranscriptionParams = TranscriptionParams(), *, translate: bool = False) -> Transcript:
    check_options(model, params.response_format, translate=translate)
    if translate:
        return await client.audio.translate(audio.upload(), model, params)
    return await client.audio.transcribe(audio.upload(), model, params)


async def transcript_pieces(client: OpenAIClient, audio: AudioFile, model: str,
                            params: TranscriptionParams = TranscriptionParams()) -> AsyncIterator[str]:
    """The transcript's text as it comes: piece by piece from a model that streams (the pieces
    add up to the whole), else the whole text at once."""
    from chat_tui.api.resources.audio import Transcript, TranscriptDelta

    check_options(model, params.response_format)
    if not streams(model):
        yield (await client.audio.transcribe(audio.upload(), model, params)).text
        return
    received: list[str] = []
    async for event in client.audio.transcribe_stream(audio.upload(), model, params):
        if isinstance(event, TranscriptDelta):
            received.append(event.text)
            yield event.text
        elif isinstance(event, Transcript):
            so_far = "".join(received)
            if event.text.startswith(so_far) and len(event.text) > len(so_far):
                yield event.text[len(so_far):]  # a server that sent less in deltas than in the end


__all__ = ["AudioError", "AudioFile", "ParamError", "options", "read_audio", "transcribe", "transcript_pieces"]
