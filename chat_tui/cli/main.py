"""The entry point: parse the arguments, build the context, run one command, report errors.

Command modules (and httpx, tiktoken, textual behind them) are imported only for the command
that runs, so `chat-tui --help` and `--version` stay instant and never touch the network.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from chat_tui.cli import output
from chat_tui.cli.context import CLIError, Context, make_context
from chat_tui.core.text import error_text
from chat_tui.cli.parser import build_parser

COMMANDS = {
    None: "app", "ask": "ask", "compare": "compare", "complete": "complete", "edit": "edit",
    "models": "models", "image": "image", "moderate": "moderate", "transcribe": "transcribe",
    "tokens": "tokens", "history": "history", "embed": "embed", "serve": "serve", "templates": "templates",
    "mcp": "mcp",
}


def main(argv: Sequence[str] | None = None) -> int:
    with output.installed():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)  # only the command argv names gets its options
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    ctx: Context | None = None
    try:
        ctx = make_context(args)
        module = importlib.import_module(f"chat_tui.cli.{COMMANDS[args.command]}")
        return module.run(ctx)
    except CLIError as exc:
        print(f"chat-tui: error: {error_text(exc)}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if debug:
            raise
        hint = "" if type(exc).__module__.startswith("chat_tui.") else " (run with --debug for details)"
        print(f"chat-tui: error: {error_text(exc)}{hint}", file=sys.stderr)
        return 1
    finally:
        if ctx is not None:
            ctx.close()
