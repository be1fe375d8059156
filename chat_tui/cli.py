"""Command line: argument parsing, wiring of settings, store and client, and the subcommands.

Heavy modules (httpx, tiktoken, textual) are imported inside the commands that need them, so
`chat-tui --help` and `--version` stay instant and never touch the network.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chat_tui import __version__

if TYPE_CHECKING:
    from chat_tui.api.client import OpenAIClient
    from chat_tui.api.local_server import LocalServer
    from chat_tui.core.config import Config, Endpoint
    from chat_tui.core.paths import Paths
    from chat_tui.core.tokens import TokenCounter
    from chat_tui.store import Store

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


class CLIError(Exception):
    """A user-facing error: printed as one line on stderr."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# -- argument parsing ----------------------------------------------------------------------


def _common(sub: bool) -> argparse.ArgumentParser:
    """Options every command takes. On subcommands they default to SUPPRESS so that
    `chat-tui -m X ask` and `chat-tui ask -m X` both work."""
    p = argparse.ArgumentParser(add_help=False)
    d = argparse.SUPPRESS if sub else None
    p.add_argument("-p", "--profile", default=d, help="endpoint profile from the config file (built in: openai, local)")
    p.add_argument("--base-url", default=d, help="OpenAI-compatible base URL (default $OPENAI_BASE_URL or OpenAI)")
    p.add_argument("-m", "--model", default=d, help="model id")
    p.add_argument("--db", default=d, help="database file (default: chat-tui.db in the data dir)")
    p.add_argument("--gguf", default=d, help="GGUF model file for the local profile")
    p.add_argument("--debug", action="store_true", default=d if sub else False, help="show tracebacks")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chat-tui",
        description="A terminal chat client for the OpenAI API and every server that speaks it.",
        parents=[_common(False)],
        epilog="With no command, the interactive app starts. Configuration: see README.md.",
    )
    parser.add_argument("--version", action="version", version=f"chat-tui {__version__}")
    parser.add_argument("-c", "--continue", dest="cont", action="store_true", help="open the app on the last conversation")
    parser.add_argument("--cid", type=int, help="open the app on conversation ID")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = _common(True)

    ask = subs.add_parser("ask", parents=[common], help="send a prompt and stream the answer to stdout")
    ask.add_argument("prompt", nargs="*", help="the prompt (stdin is read when piped)")
    ask.add_argument("-s", "--system", help="system prompt")
    ask.add_argument("-o", "--option", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                     help="a request parameter, e.g. -o temperature 0.3 (VALUE parsed as JSON where it parses)")
    ask.add_argument("-c", "--continue", dest="cont", action="store_true", help="continue the last conversation")
    ask.add_argument("--cid", type=int, help="continue conversation ID")
    ask.add_argument("--no-stream", action="store_true", help="wait for the whole answer")
    ask.add_argument("--json", action="store_true", help="print the raw JSON response (implies --no-stream)")
    ask.add_argument("--stats", action="store_true", help="print timing and token stats to stderr")
    ask.add_argument("--no-save", action="store_true", help="do not save to the database")

    cmp_ = subs.add_parser("compare", parents=[common], help="one prompt, 2-4 lanes (models or parameters) at once")
    cmp_.add_argument("prompt", nargs="*", help="the prompt (stdin is read when piped)")
    cmp_.add_argument("--lane", action="append", default=[], metavar="SPEC",
                      help="a lane: NAME=VALUE[,NAME=VALUE…] over the base settings, e.g. 'temperature=1.4,seed=7' or 'model=gpt-4o-mini'")
    cmp_.add_argument("--sweep", metavar="NAME=V1,V2,…", help="one lane per value, e.g. temperature=0,0.7,1.4")
    cmp_.add_argument("-s", "--system", help="system prompt")
    cmp_.add_argument("-o", "--option", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                      help="base parameter every lane starts from")
    cmp_.add_argument("--blind", action="store_true", help="label lanes A, B, C… instead of their settings")
    cmp_.add_argument("--no-stream", action="store_true")
    cmp_.add_argument("--json", action="store_true", help="one JSON document: every lane's settings, text, usage, timings, status")

    comp = subs.add_parser("complete", parents=[common], help="legacy /v1/completions (prompt, suffix, echo, logprobs, best_of)")
    comp.add_argument("prompt", nargs="*", help="the prompt (stdin is read when piped)")
    comp.add_argument("-o", "--option", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[])
    comp.add_argument("--no-stream", action="store_true")
    comp.add_argument("--json", action="store_true", help="print the raw JSON response")

    models = subs.add_parser("models", parents=[common], help="list the endpoint's models")
    models.add_argument("--json", action="store_true")

    tokens = subs.add_parser("tokens", parents=[common], help="count tokens exactly with tiktoken")
    tokens.add_argument("text", nargs="*", help="text to count, or - for stdin")
    tokens.add_argument("--json", action="store_true", help="tokens, exactness, encoding")

    hist = subs.add_parser("history", parents=[common], help="saved conversations: list, search, show, export, import, delete, pin, archive")
    hsub = hist.add_subparsers(dest="history_command", metavar="ACTION", required=True)
    filters = argparse.ArgumentParser(add_help=False)
    # -m/--model (from the common options) filters by the conversation's model here.
    filters.add_argument("--endpoint", dest="filter_endpoint", metavar="NAME", help="only conversations with this endpoint profile")
    filters.add_argument("--since", metavar="DATE", help="updated on or after DATE (YYYY-MM-DD)")
    filters.add_argument("--until", metavar="DATE", help="updated on or before DATE (YYYY-MM-DD)")
    filters.add_argument("--param", action="append", default=[], metavar="EXPR",
                         help="a reply was sent with this parameter, e.g. 'temperature>1' (<, <=, >, >=, =, !=)")
    filters.add_argument("--archived", action="store_true", help="include archived conversations")
    filters.add_argument("--pinned", action="store_true", help="only pinned conversations")
    hl = hsub.add_parser("list", parents=[common, filters], help="pinned first, then newest (-m MODEL: only that model's)")
    hl.add_argument("-n", "--limit", type=int, default=20)
    hl.add_argument("--json", action="store_true")
    hs = hsub.add_parser("search", parents=[common, filters], help="full-text search: matching conversations with an excerpt")
    hs.add_argument("query")
    hs.add_argument("-n", "--limit", type=int, default=20)
    hs.add_argument("--json", action="store_true")
    hw = hsub.add_parser("show", parents=[common], help="print a conversation")
    hw.add_argument("id", type=int)
    hw.add_argument("--json", action="store_true")
    he = hsub.add_parser("export", parents=[common], help="export conversations (several ids: one JSON document)")
    he.add_argument("ids", type=int, nargs="+", metavar="ID")
    he.add_argument("--format", choices=("md", "json"), default="md")
    he.add_argument("--output", help="file to write (default stdout)")
    hi = hsub.add_parser("import", parents=[common], help="import ChatGPT's conversations.json (or its .zip) or a chat-tui JSON export")
    hi.add_argument("file")
    hi.add_argument("--json", action="store_true", help="the report as JSON")
    hd = hsub.add_parser("delete", parents=[common], help="delete conversations for good")
    hd.add_argument("ids", type=int, nargs="+", metavar="ID")
    hd.add_argument("-y", "--yes", action="store_true", help="do not ask")
    for action, text in (("pin", "pin (listed first)"), ("unpin", "unpin"), ("archive", "archive (hidden from the list)"), ("unarchive", "unarchive")):
        hp = hsub.add_parser(action, parents=[common], help=text)
        hp.add_argument("ids", type=int, nargs="+", metavar="ID")
    return parser


# -- wiring --------------------------------------------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    paths: "Paths"
    config: "Config"
    endpoint: "Endpoint"
    local: "LocalServer | None" = None
    _store: "Store | None" = None
    _counter: "TokenCounter | None" = None

    @property
    def db_path(self) -> Path:
        db = getattr(self.args, "db", None) or os.environ.get("CHAT_TUI_DB")
        return Path(db).expanduser() if db else self.paths.database

    def store(self) -> "Store":
        if self._store is None:
            from chat_tui.store import Store

            # --no-save: the same code path, into a database that disappears on exit.
            self._store = Store(":memory:" if getattr(self.args, "no_save", False) else self.db_path)
        return self._store

    def counter(self) -> "TokenCounter":
        if self._counter is None:
            from chat_tui.core.tokens import TokenCounter

            self._counter = TokenCounter(self.paths.tiktoken_cache)
        return self._counter

    def start_endpoint(self) -> "Endpoint":
        """For the local profile: start llama.cpp (with progress on stderr) and fill in its URL."""
        if self.endpoint.type != "local" or self.endpoint.base_url:
            return self.endpoint
        from dataclasses import replace

        from chat_tui.api.local_server import LocalServer, LocalServerError

        try:
            self.paths.log_dir.mkdir(parents=True, exist_ok=True)
            self.local = LocalServer(self.endpoint.gguf, log_file=self.paths.log_dir / "llama-server.log")
            url = self.local.start(progress=lambda msg: print(f"chat-tui: {msg}", file=sys.stderr, flush=True))
        except LocalServerError as exc:
            raise CLIError(str(exc)) from None
        self.endpoint = replace(self.endpoint, base_url=url, default_model=self.endpoint.default_model or self.local.model)
        return self.endpoint

    def client(self) -> "OpenAIClient":
        from chat_tui.api.client import OpenAIClient

        return OpenAIClient(self.start_endpoint())

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
        if self.local is not None:
            self.local.stop()


def make_context(args: argparse.Namespace) -> Context:
    from chat_tui.core.config import ConfigError, load_config, resolve_endpoint
    from chat_tui.core.paths import default_paths

    paths = default_paths()
    try:
        config = load_config(paths.config_file)
        endpoint = resolve_endpoint(
            config,
            profile=getattr(args, "profile", None),
            base_url=getattr(args, "base_url", None),
            gguf=getattr(args, "gguf", None),
        )
    except ConfigError as exc:
        raise CLIError(str(exc), 2) from None
    return Context(args=args, paths=paths, config=config, endpoint=endpoint)


async def pick_model(ctx: Context, client: "OpenAIClient", conversation_model: str | None = None) -> str:
    """--model, else the conversation's, else the profile's default, else what the server lists."""
    model = getattr(ctx.args, "model", None) or conversation_model or ctx.endpoint.default_model
    if model:
        return model
    if ctx.endpoint.name == "openai" and ctx.endpoint.base_url.startswith("https://api.openai.com"):
        return DEFAULT_OPENAI_MODEL
    models = await client.list_models()
    if not models:
        raise CLIError(f"no model given and {ctx.endpoint.base_url} lists none: pass -m MODEL")
    return models[0].id


def read_prompt(words: Sequence[str]) -> str:
    text = " ".join(words)
    if not sys.stdin.isatty():
        piped = sys.stdin.read()
        if piped:
            text = f"{text}\n\n{piped}" if text else piped
    if not text.strip():
        raise CLIError("no prompt given (pass it as an argument or pipe it on stdin)", 2)
    return text


def parse_options(pairs: Sequence[Sequence[str]], kind: str = "chat") -> Any:
    from chat_tui.core.params import ChatParams, CompletionParams, ParamError, parse_option_value

    cls = ChatParams if kind == "chat" else CompletionParams
    try:
        return cls.from_options((name, parse_option_value(value)) for name, value in pairs)
    except ParamError as exc:
        raise CLIError(f"invalid option {exc}", 2) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    ctx: Context | None = None
    try:
        ctx = make_context(args)
        command = args.command
        if command is None:
            from chat_tui.ui.run import run_app

            return run_app(ctx)
        from chat_tui import commands

        return commands.run(ctx, command)
    except CLIError as exc:
        print(f"chat-tui: error: {exc}", file=sys.stderr)
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
        from chat_tui.api.errors import APIError

        if isinstance(exc, APIError):
            print(f"chat-tui: error: {exc}", file=sys.stderr)
            return 1
        print(f"chat-tui: error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 1
    finally:
        if ctx is not None:
            ctx.close()


def dump_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
