"""Speech-to-text rules, pure: which files the endpoint takes (by extension), the 25 MB limit,
which model takes which options (response formats, translation, streaming)."""

from __future__ import annotations

MAX_AUDIO_BYTES = 25 * 1024 * 1024  # OpenAI: 25 MB per transcription upload
AUDIO_MIMES = {
    "mp3": "audio/mpeg", "mp4": "audio/mp4", "mpeg": "audio/mpeg", "mpga": "audio/mpeg",
    "m4a": "audio/mp4", "wav": "audio/wav", "webm": "audio/webm",
}
TRANSCRIPTION_MODELS = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
DEFAULT_TRANSCRIPTION_MODEL = "whisper-1"
ALL_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
_GPT4O_FORMATS = ("json", "text")  # gpt-4o-(mini-)transcribe: no timestamps


class AudioError(ValueError):
    """A file or an option the transcription endpoint would refuse; one line saying why."""


def extension(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base.lstrip(".") else ""


def is_audio_name(name: str) -> bool:
    return extension(name) in AUDIO_MIMES


def check_file(name: str, size: int) -> str:
    """The upload's content type, or AudioError: an extension the endpoint does not take, an
    empty file, more than 25 MB (checked from the size alone, before reading)."""
    ext = extension(name)
    if ext not in AUDIO_MIMES:
        shown = f".{ext}" if ext else "no extension"
        raise AudioError(f"{name}: {shown} is not an audio format the endpoint takes"
                         f" ({', '.join(AUDIO_MIMES)})")
    if size == 0:
        raise AudioError(f"{name}: the file is empty")
    if size > MAX_AUDIO_BYTES:
        raise AudioError(f"{name}: {size / 2**20:.1f} MB is over the 25 MB limit for transcription"
                         " (split or compress it first)")
    return AUDIO_MIMES[ext]


def _gpt4o(model: str) -> bool:
    return model.lower().rsplit("/", 1)[-1].startswith(("gpt-4o-transcribe", "gpt-4o-mini-transcribe"))


def formats_for(model: str) -> tuple[str, ...]:
    """The response formats a model returns (an unknown model: all of them; its server decides)."""
    return _GPT4O_FORMATS if _gpt4o(model) else ALL_FORMATS


def streams(model: str) -> bool:
    """Whether the model sends the transcript as it goes (`stream=true`); whisper-1 does not."""
    return _gpt4o(model)


def check_options(model: str, response_format: str | None, *, translate: bool = False) -> None:
    """AudioError for a combination the endpoint refuses, naming the limit."""
    if not model:
        raise AudioError("no transcription model given")
    if translate and _gpt4o(model):
        raise AudioError(f"{model} does not translate: translations take whisper-1 only")
    fmt = response_format or "json"
    allowed = formats_for(model)
    if fmt not in allowed:
        raise AudioError(f"{model} answers in {' or '.join(allowed)} only, not {fmt}"
                         " (srt, vtt and verbose_json with timestamps need whisper-1)")
