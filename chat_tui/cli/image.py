"""`chat-tui image generate|edit|variation`: images saved in the data directory (and recorded
in the database unless --no-save), `-o` copies them to a file or, for several, a folder. Each
model's limits and options are checked before anything is sent."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from chat_tui.cli.context import CLIError, Context, read_prompt
from chat_tui.cli.output import dump_json, out

_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}


def _params(args: Any) -> Any:
    from chat_tui.core.params import ParamError, parse_option_value
    from chat_tui.core.params.images import ImageParams

    pairs: list[tuple[str, Any]] = [(name, parse_option_value(value)) for name, value in args.option]
    for name in ("size", "quality", "style"):
        if getattr(args, name, None) is not None:
            pairs.append((name, getattr(args, name)))
    if args.count is not None:
        pairs.append(("n", args.count))
    try:
        return ImageParams.from_options(pairs)
    except ParamError as exc:
        raise CLIError(f"invalid option {exc}", 2) from None


def run(ctx: Context) -> int:
    args = ctx.args
    if args.no_save and not args.output:
        raise CLIError("--no-save keeps nothing in the data dir: give -o FILE for the image", 2)
    params = _params(args)
    prompt = read_prompt(args.prompt) if args.image_command == "generate" else None
    return asyncio.run(_run(ctx, params, prompt))


async def _run(ctx: Context, params: Any, prompt: str | None) -> int:
    from chat_tui.store.images import blob_root

    args = ctx.args
    model = getattr(args, "model", None) or ctx.endpoint.default_model
    if args.no_save:  # the bytes only pass through a temporary folder on their way to -o
        with tempfile.TemporaryDirectory(prefix="chat-tui-image-") as tmp:
            return await _make(ctx, params, prompt, model, Path(tmp))
    return await _make(ctx, params, prompt, model, blob_root(ctx.paths.data_dir))


async def _make(ctx: Context, params: Any, prompt: str | None, model: str | None, blobs: Path) -> int:
    from chat_tui.core.params import ParamError
    from chat_tui.services import images as service

    args = ctx.args
    store = ctx.store()
    client = ctx.client()
    try:
        if args.image_command == "generate":
            outcome = await service.generate(client, store, blobs, prompt, model, params, endpoint=ctx.endpoint.name)
        elif args.image_command == "edit":
            uploads = [service.read_upload(p) for p in args.image]
            mask = service.read_upload(args.mask) if args.mask else None
            outcome = await service.edit(client, store, blobs, uploads, args.prompt, model, params, mask=mask,
                                         endpoint=ctx.endpoint.name)
        else:
            outcome = await service.vary(client, store, blobs, service.read_upload(args.image), model, params,
                                         endpoint=ctx.endpoint.name)
    except ParamError as exc:
        raise CLIError(str(exc), 2) from None
    finally:
        await client.aclose()
    paths = _write(outcome.images, args.output) if args.output else [i.path for i in outcome.images]
    if args.json:
        r = outcome.result
        dump_json({"created": r.created, "usage": r.usage,
                   "data": [{k: v for k, v in (("url", i.url), ("b64_json", i.b64_json), ("revised_prompt", i.revised_prompt))
                             if v is not None} for i in r.images]})
        return 0
    for saved, path in zip(outcome.images, paths):
        out(f"{path}\n")
        if saved.revised_prompt:
            out(f"  revised prompt: {saved.revised_prompt}\n")
    return 0


def _write(images: list, output: str) -> list[Path]:
    """Copy to `output`: the file itself for one image, else a folder of image-1.png …"""
    target = Path(output).expanduser()
    try:
        if len(images) == 1 and not target.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(images[0].path, target)
            return [target]
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for i, image in enumerate(images, 1):
            dest = target / f"image-{i}{_EXTENSIONS.get(image.mime, '.bin')}"
            shutil.copyfile(image.path, dest)
            written.append(dest)
        return written
    except OSError as exc:
        raise CLIError(f"cannot write {target}: {exc.strerror or exc}") from None
