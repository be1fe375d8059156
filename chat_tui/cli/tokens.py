"""`chat-tui tokens`: the exact token count of a text, with tiktoken, offline."""

from __future__ import annotations

import sys

from chat_tui.cli.context import Context, text_argument
from chat_tui.cli.output import dump_json


def run(ctx: Context) -> int:
    args = ctx.args
    text = text_argument(args.text)
    model = args.model or ctx.endpoint.default_model or "gpt-4o"
    count = ctx.counter().count_text(text, model)
    if args.json:
        dump_json({"tokens": count.tokens, "exact": count.exact, "encoding": count.encoding, "model": model})
    else:
        print(count.tokens)
        if not count.exact:
            print(f"chat-tui: estimate: no exact tokenizer available for {model} (counted with {count.encoding})", file=sys.stderr)
    return 0
