"""`chat-tui edit -i INSTRUCTION [FILE|-]`: print the edited text (or `--diff`), like `ask`.

/v1/edits where the endpoint serves it, else chat (services/edits.py decides and remembers);
`--verbose` says which on stderr, so stdout is only ever the text or the diff.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from chat_tui.cli.context import CLIError, Context, parse_options, pick_model, read_stdin
from chat_tui.cli.output import answer, dump_json


def run(ctx: Context) -> int:
    args = ctx.args
    instruction = args.instruction or ""
    if not instruction.strip():
        raise CLIError('no instruction given: pass -i "what to do with the text"', 2)
    params = _params(args)
    text, name = _read_input(args.file)
    return asyncio.run(_edit(ctx, text, name, instruction, params))


def _params(args: Any) -> Any:
    from chat_tui.core.params import ParamError

    params = parse_options(args.option, kind="edit")
    try:
        for name, value in (("n", args.choices), ("temperature", args.temperature), ("top_p", args.top_p)):
            if value is not None:
                params = params.with_option(name, value)
    except ParamError as exc:
        raise CLIError(f"invalid option {exc}", 2) from None
    return params


def _read_input(file: str | None) -> tuple[str, str]:
    """(the text, its name for --diff). Stdin when FILE is - or left out and stdin is piped."""
    if file is None or file == "-":
        if file is None and sys.stdin.isatty():
            raise CLIError("no text to edit: give a FILE, or pipe the text on stdin", 2)
        return read_stdin(), "stdin"
    path = Path(file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CLIError(f"cannot read {file}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8"), file
    except UnicodeDecodeError:
        print(f"chat-tui: warning: {file} is not valid UTF-8: the bad bytes were replaced with \ufffd", file=sys.stderr)
        return data.decode("utf-8", "replace"), file


async def _edit(ctx: Context, text: str, name: str, instruction: str, params: Any) -> int:
    from chat_tui.api.errors import APIError
    from chat_tui.core.diff import unified
    from chat_tui.core.params import ParamError
    from chat_tui.services.edits import NATIVE, run_edit

    args = ctx.args
    store = ctx.store()
    client = ctx.client()
    try:
        model = await pick_model(ctx, client)
        try:
            outcome = await run_edit(client, store, ctx.endpoint.name, model, text, instruction, params)
        except ParamError as exc:
            raise CLIError(f"invalid option {exc}", 2) from None
        except APIError as exc:
            raise CLIError(str(exc)) from None
    finally:
        await client.aclose()

    if args.verbose:
        how = "/v1/edits" if outcome.mode == NATIVE else "emulated with chat"
        print(f"chat-tui: edit · {how} · {outcome.model}", file=sys.stderr)
        for note in outcome.notes:
            print(f"chat-tui: {note}", file=sys.stderr)
    if outcome.unsaved:
        print(f"chat-tui: warning: the edit could not be saved: {outcome.unsaved}", file=sys.stderr)

    several = len(outcome.choices) > 1
    if args.json:
        usage = outcome.usage
        dump_json({
            "mode": outcome.mode, "model": outcome.model, "instruction": instruction,
            "choices": [{"index": c.index, "text": c.text, "finish_reason": c.finish_reason} for c in outcome.choices],
            "usage": None if usage is None else {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                                                 "total_tokens": usage.total_tokens},
            "notes": outcome.notes,
            "chat_tui": {"document_id": outcome.document_id, "message_ids": [c.message_id for c in outcome.choices]},
        })
        return 0
    for choice in outcome.choices:
        if args.diff:
            label = f"{name} (edited{f', choice {choice.index + 1}' if several else ''})"
            answer(unified(text, choice.text, from_name=name, to_name=label))
            continue
        if several:
            answer(f"--- choice {choice.index + 1} ---\n")
        answer(choice.text)
        if (several or sys.stdout.isatty()) and not choice.text.endswith("\n"):
            answer("\n")  # a terminal's prompt on its own line; a pipe or file gets the text's own bytes
    return 0
