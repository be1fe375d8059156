"""`chat-tui moderate TEXT|-`: the moderation endpoint's verdict on a text (and images). Exit
codes for scripts: 0 not flagged, 1 flagged, 2 a usage error, 3 any other error (the
endpoint, the network), so an error is never read as a verdict."""

from __future__ import annotations

import asyncio

from chat_tui.cli.context import CLIError, Context, text_argument
from chat_tui.cli.output import dump_json, out

ERROR = 3  # exit code 1 means "flagged" here


def run(ctx: Context) -> int:
    try:
        return _run(ctx)
    except CLIError as exc:
        if exc.code == 1:
            exc.code = ERROR
        raise
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as exc:  # noqa: BLE001 - any failure is exit 3, never read as "flagged"
        from chat_tui.core.text import error_text

        raise CLIError(error_text(exc), ERROR) from None


def _run(ctx: Context) -> int:
    args = ctx.args
    text = text_argument(args.text)
    if not text.strip() and not args.image:
        raise CLIError("the text is empty: nothing to check", 2)
    images = _images(args.image)
    return asyncio.run(_check(ctx, text, images))


def _images(sources: list[str]) -> list[str]:
    from chat_tui.core.attachments import AttachmentError
    from chat_tui.services.attachments import load

    urls = []
    for source in sources:
        try:
            attachment = load(source)
        except AttachmentError as exc:
            raise CLIError(f"cannot check {exc}", 2) from None
        if attachment.kind != "image":
            raise CLIError(f"{attachment.name}: not an image (moderation checks text and images)", 2)
        urls.append(attachment.url or attachment.data_url())
    return urls


async def _check(ctx: Context, text: str, images: list[str]) -> int:
    from chat_tui.core.params import ParamError
    from chat_tui.services.moderation import check

    model = getattr(ctx.args, "model", None) or ctx.endpoint.moderation_model
    client = ctx.client()
    try:
        result = await check(client, text, images, model)
    except ParamError as exc:
        raise CLIError(str(exc), 2) from None
    finally:
        await client.aclose()
    if ctx.args.json:
        dump_json({"flagged": result.flagged, "model": result.model, "categories": result.categories,
                   "category_scores": result.scores})
    else:
        out(("FLAGGED" if result.flagged else "not flagged") + f"  ({result.model})\n")
        width = max((len(c) for c in result.scores), default=0)
        for category, score in sorted(result.scores.items(), key=lambda cs: (-cs[1], cs[0])):
            mark = "  flagged" if result.categories.get(category) else ""
            out(f"  {category:<{width}}  {score:.4f}{mark}\n")
    return 1 if result.flagged else 0
