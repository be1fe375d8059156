"""`chat-tui transcribe FILE`: speech to text (or `--translate` to English). The file's format and
size are checked before anything is sent, the options against the model. The transcript is
untrusted text: printed with its control characters made visible."""

from __future__ import annotations

import asyncio
from typing import Any

from chat_tui.cli.context import CLIError, Context
from chat_tui.cli.output import dump_json, out


def run(ctx: Context) -> int:
    from chat_tui.core.audio import AudioError
    from chat_tui.core.params import ParamError
    from chat_tui.services import audio

    args = ctx.args
    model = getattr(args, "model", None) or ctx.endpoint.transcription_model
    try:
        params = audio.options(model, translate=args.translate, language=args.language, prompt=args.prompt,
                               temperature=args.temperature, response_format=args.response_format)
        file = audio.read_audio(args.file)
    except (AudioError, ParamError) as exc:
        raise CLIError(str(exc), 2) from None
    return asyncio.run(_run(ctx, file, model, params))


async def _run(ctx: Context, file: Any, model: str, params: Any) -> int:
    from chat_tui.services import audio

    client = ctx.client()
    try:
        transcript = await audio.transcribe(client, file, model, params, translate=ctx.args.translate)
    finally:
        await client.aclose()
    if params.response_format == "verbose_json" and transcript.raw is not None:
        dump_json(transcript.raw)
    else:
        text = transcript.text
        out(text if text.endswith("\n") or not text else text + "\n")
    return 0
