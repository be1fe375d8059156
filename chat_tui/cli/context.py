"""What every command shares: the user-facing error, the context (settings, store, client, token
counter, built on first use) and the small helpers for prompts, options and JSON output."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


@dataclass
class Context:
    args: argparse.Namespace
    paths: "Paths"
    config: "Config"
    endpoint: "Endpoint"
    local: "LocalServer | None" = None
    _store: "Store | None" = None
    _counter: "TokenCounter | None" = None
    # Function calling for `ask`: the sources of tools (ToolProvider) and the tools allowed to
    # run (any other call is declined with a reason; nobody is asked on the command line).
    tool_providers: list[Any] = field(default_factory=list)
    allowed_tools: list[str] = field(default_factory=list)
    disabled_tools: set[str] = field(default_factory=set)  # the providers' tools not offered (`--tool`)

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
        from chat_tui.services.endpoints import needs_local_server, start_local

        if not needs_local_server(self.endpoint):
            return self.endpoint
        from chat_tui.api.local_server import LocalServerError

        try:
            self.endpoint, self.local = start_local(
                self.endpoint, self.local, log_file=self.paths.log_dir / "llama-server.log",
                progress=lambda msg: print(f"chat-tui: {msg}", file=sys.stderr, flush=True),
            )
        except LocalServerError as exc:
            raise CLIError(str(exc)) from None
        return self.endpoint

    def client(self) -> "OpenAIClient":
        from chat_tui.services.endpoints import open_client

        return open_client(self.start_endpoint())

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
            timeout=getattr(args, "timeout", None),
        )
    except ConfigError as exc:
        raise CLIError(str(exc), 2) from None
    if args.command is not None:  # the app shows them in a notification
        for warning in config.warnings:
            print(f"chat-tui: warning: {warning}", file=sys.stderr)
    return Context(args=args, paths=paths, config=config, endpoint=endpoint)


async def pick_model(ctx: Context, client: "OpenAIClient", conversation_model: str | None = None) -> str:
    """--model, else the conversation's, else the profile's default, else what the server lists."""
    model = getattr(ctx.args, "model", None) or conversation_model or ctx.endpoint.default_model
    if model:
        return model
    if ctx.endpoint.name == "openai" and ctx.endpoint.base_url.startswith("https://api.openai.com"):
        return DEFAULT_OPENAI_MODEL
    models = await client.models.list()
    if not models:
        raise CLIError(f"no model given and {ctx.endpoint.base_url} lists none: pass -m MODEL")
    return models[0].id


def read_prompt(words: Sequence[str], *, required: bool = True) -> str:
    """The words, and stdin after them when it is piped; `required`: a usage error when both
    are empty."""
    text = words_text(words)
    if not sys.stdin.isatty():
        piped = read_stdin()
        if piped:
            text = f"{text}\n\n{piped}" if text else piped
    if required and not text.strip():
        raise CLIError("no prompt given (pass it as an argument or pipe it on stdin)", 2)
    return text


def words_text(words: Sequence[str]) -> str:
    """Arguments as text. Bytes that are not UTF-8 (Python keeps them as lone surrogates) are
    replaced with U+FFFD, and the user is told."""
    text = " ".join(words)
    fixed = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if fixed != text:
        print(f"chat-tui: warning: the arguments are not valid UTF-8: {_replaced(fixed)} replaced with \ufffd",
              file=sys.stderr)
    return fixed


def text_argument(words: Sequence[str]) -> str:
    """A command's text: its words, or stdin for `-` (or no words with stdin not a terminal);
    a usage error (exit 2) when there is neither."""
    words = list(words)
    if words == ["-"] or (not words and not sys.stdin.isatty()):
        return read_stdin()
    if words:
        return words_text(words)
    raise CLIError("no text given (pass it as an argument, or - to read stdin)", 2)


def read_stdin() -> str:
    """All of stdin as text; bytes that are not UTF-8 (a Latin-1 file in `git diff`, say) are
    replaced with U+FFFD, and the user is told, instead of failing."""
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")
        print(f"chat-tui: warning: the input is not valid UTF-8: {_replaced(text)} replaced with \ufffd",
              file=sys.stderr)
        return text


def _replaced(text: str) -> str:
    n = text.count("\ufffd")
    return f"{n} byte sequence{'' if n == 1 else 's'}"


def parse_options(pairs: Sequence[Sequence[str]], kind: str = "chat") -> Any:
    from chat_tui.core.params import ChatParams, CompletionParams, EditParams, ParamError, parse_option_value

    cls = {"chat": ChatParams, "completion": CompletionParams, "edit": EditParams}[kind]
    try:
        return cls.from_options((name, parse_option_value(value)) for name, value in pairs)
    except ParamError as exc:
        raise CLIError(f"invalid option {exc}", 2) from None



def schema_option(args: argparse.Namespace) -> dict[str, Any] | None:
    """`--schema FILE` (with `--no-strict`, `--schema-name`) as the response_format to send,
    read and checked before anything is sent: a bad file is one line and exit 2."""
    if args.schema is None:
        given = [flag for flag, on in (("--no-strict", args.no_strict), ("--schema-name", args.schema_name)) if on]
        if given:
            raise CLIError(f"{given[0]} goes with --schema FILE", 2)
        return None
    from chat_tui.services.structured import SchemaError, StrictError, load_response_format

    try:
        return load_response_format(args.schema, name=args.schema_name, strict=not args.no_strict)
    except SchemaError as exc:
        hint = " (or --no-strict)" if isinstance(exc, StrictError) else ""
        raise CLIError(f"--schema {args.schema}: {exc}{hint}", 2) from None
