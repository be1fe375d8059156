"""The command line's arguments: one parser, the options every command shares, the subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from chat_tui import __version__


MAX_ID = 2**63 - 1  # SQLite's largest integer


def conversation_id(text: str) -> int:
    """An id as SQLite can hold it (a bigger number raised OverflowError deep in the store)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a conversation id (a whole number)") from None
    if not 1 <= value <= MAX_ID:
        raise argparse.ArgumentTypeError(f"{text} is not a conversation id (ids run from 1 to {MAX_ID})")
    return value


def row_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of rows") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"{text}: give 1 to 100000 rows")
    return value


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port number (1 to 65535)")
    return value


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
    p.add_argument("--timeout", type=float, default=d, metavar="SECONDS",
                   help="wait at most this long for an answer to start, and between two parts of it"
                        " (default: the profile's, else 120 s to start, 300 s between parts)")
    p.add_argument("--debug", action="store_true", default=d if sub else False, help="show tracebacks")
    return p


def _schema_options(parser: argparse.ArgumentParser, validated: str) -> None:
    parser.add_argument("--schema", metavar="FILE",
                        help=f"structured output: a JSON Schema file for the answer (response_format json_schema); {validated}")
    parser.add_argument("--no-strict", action="store_true",
                        help="with --schema: strict off (the API then takes any JSON Schema, and may not follow it)")
    parser.add_argument("--schema-name", metavar="NAME", help="with --schema: the format's name (default: from the file name)")


class _Skipped:
    """Stands in for the parser of a command the arguments do not name: whatever is added to
    it is dropped."""

    def __getattr__(self, name: str) -> Any:
        return self._drop

    def _drop(self, *args: Any, **kwargs: Any) -> _Skipped:
        return self


class _Commands:
    """The subcommands, each listed (`--help`, the choices) but given its options only when
    `argv` holds its name: argparse picks a command by its exact name, so the others are never
    parsed, and building them all costs the app's start-up ~5 ms."""

    def __init__(self, subs: Any, argv: Sequence[str] | None) -> None:
        self.subs = subs
        self.wanted = None if argv is None else set(argv)

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if self.wanted is None or name in self.wanted:
            return self.subs.add_parser(name, **kwargs)
        self.subs.add_parser(name, help=kwargs.get("help"))
        return _Skipped()


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with `argv` (what will be parsed) only the commands it names."""
    parser = argparse.ArgumentParser(
        prog="chat-tui",
        description="A terminal chat client for the OpenAI API and every server that speaks it.",
        parents=[_common(False)],
        epilog="With no command, the interactive app starts. Configuration: see README.md.",
    )
    parser.add_argument("--version", action="version", version=f"chat-tui {__version__}")
    parser.add_argument("-c", "--continue", dest="cont", action="store_true", help="open the app on the last conversation")
    parser.add_argument("--cid", type=conversation_id, help="open the app on conversation ID")
    subs = _Commands(parser.add_subparsers(dest="command", metavar="COMMAND"), argv)
    common = _common(True)

    ask = subs.add_parser("ask", parents=[common], help="send a prompt and stream the answer to stdout")
    ask.add_argument("prompt", nargs="*", help="the prompt (stdin is read when piped)")
    ask.add_argument("-s", "--system", help="system prompt")
    ask.add_argument("-o", "--option", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                     help="a request parameter, e.g. -o temperature 0.3 (VALUE parsed as JSON where it parses)")
    ask.add_argument("-a", "--attach", action="append", default=[], metavar="FILE|URL",
                     help="attach an image (PNG, JPEG, WebP, GIF: a path or an http(s) URL), a PDF or a"
                          " UTF-8 text file; repeatable")
    ask.add_argument("--detail", choices=("auto", "low", "high"), default="auto",
                     help="image detail for the attached images (default: auto)")
    ask.add_argument("-c", "--continue", dest="cont", action="store_true", help="continue the last conversation")
    ask.add_argument("--cid", type=conversation_id, help="continue conversation ID")
    _schema_options(ask, "the answer is validated: exit 4 with the first violation on stderr when it does not match")
    ask.add_argument("--pretty", action="store_true", help="with --schema: print the answer's JSON indented (implies --no-stream)")
    ask.add_argument("--no-stream", action="store_true", help="wait for the whole answer")
    ask.add_argument("--json", action="store_true", help="print the raw JSON response (implies --no-stream)")
    ask.add_argument("--stats", action="store_true", help="print timing and token stats to stderr")
    ask.add_argument("--no-save", action="store_true", help="do not save to the database")
    ask.add_argument("--tool", action="append", default=[], metavar="NAME",
                     help="offer this tool of the configured MCP servers and run its calls without asking"
                          " (repeatable); see `chat-tui mcp list`")
    ask.add_argument("-t", "--template", action="append", default=[], metavar="NAME",
                     help="a saved prompt template (its {{input}} gets the prompt) and/or a role (system prompt,"
                          " model, parameters; -s, -m and -o given here win); see `chat-tui templates list`")
    ask.add_argument("--var", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                     help="a value for the template's {{NAME}} field (also {{clipboard}})")

    cmp_ = subs.add_parser("compare", parents=[common], help="one prompt, 2-4 lanes (models or parameters) at once")
    cmp_.add_argument("prompt", nargs="*", help="the prompt (stdin is read when piped)")
    cmp_.add_argument("--lane", action="append", default=[], metavar="SPEC",
                      help="a lane: NAME=VALUE[,NAME=VALUE…] over the base settings, e.g. 'temperature=1.4,seed=7' or 'model=gpt-4o-mini'")
    cmp_.add_argument("--sweep", metavar="NAME=V1,V2,…", help="one lane per value, e.g. temperature=0,0.7,1.4")
    cmp_.add_argument("-s", "--system", help="system prompt")
    cmp_.add_argument("-o", "--option", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                      help="base parameter every lane starts from")
    _schema_options(cmp_, "every lane's answer is validated (the schema column); a lane response_format=text goes without it")
    cmp_.add_argument("--blind", action="store_true", help="label lanes A, B, C… instead of their settings")
    cmp_.add_argument("--no-stream", action="store_true")
    cmp_.add_argument("--json", action="store_true", help="one JSON document: every lane's settings, text, usage, timings, status")

    comp = subs.add_parser("complete", parents=[common], help="legacy /v1/completions (prompt, suffix, echo, logprobs, best_of)")
    comp.add_argument("prompt", nargs="*", help="the prompt (stdin is read when piped)")
    comp.add_argument("-o", "--option", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[])
    comp.add_argument("--no-stream", action="store_true")
    comp.add_argument("--json", action="store_true", help="print the raw JSON response")

    edit = subs.add_parser("edit", parents=[common], help="edit text by an instruction (/v1/edits, or chat where the endpoint lacks it)")
    edit.add_argument("file", nargs="?", metavar="FILE", help="the text to edit; - or nothing: stdin")
    edit.add_argument("-i", "--instruction", help="what to do with the text, e.g. 'Fix the spelling'")
    edit.add_argument("-n", type=int, dest="choices", metavar="N", help="how many edits to make (1-20)")
    edit.add_argument("--temperature", type=float, help="sampling temperature (0-2)")
    edit.add_argument("--top-p", type=float, dest="top_p", help="nucleus sampling (0-1)")
    edit.add_argument("-o", "--option", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                      help="a request parameter, e.g. -o temperature 0.3")
    edit.add_argument("--diff", action="store_true", help="print a unified diff against the input instead of the text")
    edit.add_argument("--json", action="store_true", help="mode, model, choices and usage as JSON")
    edit.add_argument("-v", "--verbose", action="store_true", help="say on stderr whether /v1/edits or chat was used")
    edit.add_argument("--no-save", action="store_true", help="do not save to the database")

    image = subs.add_parser("image", parents=[common], help="make images: generate, edit, variation (saved in the data dir)")
    isub = image.add_subparsers(dest="image_command", metavar="ACTION", required=True)
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("-n", type=int, dest="count", metavar="N", help="how many images (dall-e-3: 1; others 1-10)")
    shared.add_argument("--size", help="e.g. 1024x1024 (each model has its own sizes)")
    shared.add_argument("--quality", help="dall-e-3: standard, hd; gpt-image: low, medium, high, auto")
    shared.add_argument("--option", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                        help="any other image option, e.g. --option background transparent")
    shared.add_argument("-o", "--output", metavar="FILE", help="write the image here (a folder when -n is above 1)")
    shared.add_argument("--json", action="store_true", help="print the response as JSON (created, data, usage)")
    shared.add_argument("--no-save", action="store_true", help="do not record it in the database")
    gen = isub.add_parser("generate", parents=[common, shared], help="an image from a prompt")
    gen.add_argument("prompt", nargs="*", help="what to draw (stdin is read when piped)")
    gen.add_argument("--style", help="dall-e-3: vivid or natural")
    ied = isub.add_parser("edit", parents=[common, shared], help="change images by a prompt (and a mask)")
    ied.add_argument("image", nargs="+", metavar="IMAGE", help="the image (gpt-image: up to 16)")
    ied.add_argument("-P", "--prompt", required=True, help="the change to make")
    ied.add_argument("--mask", metavar="PNG", help="a PNG with alpha, the image's size: transparent pixels mark the edit")
    var = isub.add_parser("variation", parents=[common, shared], help="variations of an image (dall-e-2)")
    var.add_argument("image", metavar="IMAGE", help="a square PNG under 4 MB")

    mod = subs.add_parser("moderate", parents=[common],
                          help="check a text with the moderation endpoint (exit 1 when flagged, 0 when not, 3 on errors)")
    mod.add_argument("text", nargs="*", help="the text, or - for stdin (-m: the moderation model, default omni-moderation-latest)")
    mod.add_argument("-i", "--image", action="append", default=[], metavar="FILE|URL",
                     help="an image to check with the text (omni-moderation); repeatable")
    mod.add_argument("--json", action="store_true", help="flagged, model, categories and category_scores as JSON")

    tr = subs.add_parser("transcribe", parents=[common],
                         help="speech to text: transcribe (or --translate to English) an audio file")
    tr.add_argument("file", metavar="FILE", help="mp3, mp4, mpeg, mpga, m4a, wav or webm, at most 25 MB"
                                               " (-m: whisper-1, gpt-4o-transcribe, gpt-4o-mini-transcribe)")
    tr.add_argument("--translate", action="store_true", help="translate the speech into English (whisper-1)")
    tr.add_argument("--format", dest="response_format", choices=("json", "text", "srt", "vtt", "verbose_json"),
                    help="what to print: the text (json, text: the default), subtitles (srt, vtt) or"
                         " verbose_json with segment timestamps; gpt-4o models: json and text only")
    tr.add_argument("--language", metavar="XX", help="the spoken language, ISO-639-1 (e.g. en, fr)")
    tr.add_argument("--prompt", help="text to guide the style or spell names")
    tr.add_argument("--temperature", type=float, help="sampling temperature, 0 to 1")

    models = subs.add_parser("models", parents=[common], help="list the endpoint's models")
    models.add_argument("--json", action="store_true")

    tokens = subs.add_parser("tokens", parents=[common], help="count tokens exactly with tiktoken")
    tokens.add_argument("text", nargs="*", help="text to count, or - for stdin")
    tokens.add_argument("--json", action="store_true", help="tokens, exactness, encoding")

    embed = subs.add_parser("embed", parents=[common], help="the embedding of a text as JSON, or --similar saved conversations")
    embed.add_argument("text", nargs="*", help="text to embed, or - for stdin")
    embed.add_argument("--similar", action="store_true", help="list the saved conversations closest in meaning instead")
    embed.add_argument("-n", "--limit", type=row_limit, default=10, help="conversations to list with --similar")
    embed.add_argument("--json", action="store_true", help="with --similar: the rows as JSON")

    serve = subs.add_parser("serve", parents=[common], help="serve the app to a web browser (each tab its own session)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=port_number, default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--public", action="store_true",
                       help="allow an address other than loopback: whoever reaches it uses your API key and history")

    mcp = subs.add_parser("mcp", parents=[common], help="MCP servers (tools for the model): list")
    msub = mcp.add_subparsers(dest="mcp_command", metavar="ACTION", required=True)
    ml = msub.add_parser("list", parents=[common], help="each configured server, its state and its tools (starts them)")
    ml.add_argument("--json", action="store_true", help="servers and tools (with input schemas) as JSON")

    tpl = subs.add_parser("templates", parents=[common], help="saved prompt templates and roles: list, show, export, import, delete")
    tsub = tpl.add_subparsers(dest="templates_command", metavar="ACTION", required=True)
    tl = tsub.add_parser("list", parents=[common], help="every template and role, by name")
    tl.add_argument("--kind", choices=("prompt", "role"), help="only prompt templates, or only roles")
    tl.add_argument("--json", action="store_true")
    tw = tsub.add_parser("show", parents=[common], help="one template or role, in full")
    tw.add_argument("name")
    tw.add_argument("--json", action="store_true")
    tx = tsub.add_parser("export", parents=[common], help="write templates and roles as TOML")
    tx.add_argument("file", nargs="?", default="-", metavar="FILE|-", help="where to write (default -: stdout)")
    tx.add_argument("-n", "--name", action="append", default=[], help="only this one (repeatable)")
    ti = tsub.add_parser("import", parents=[common], help="read templates and roles from a TOML file (all or none)")
    ti.add_argument("file", metavar="FILE|-")
    ti.add_argument("--replace", action="store_true", help="replace templates of the same name that differ (default: keep them)")
    td = tsub.add_parser("delete", parents=[common], help="delete templates or roles")
    td.add_argument("names", nargs="+", metavar="NAME")

    hist = subs.add_parser("history", parents=[common], help="saved conversations: list, search, show, export, import, delete, restore, pin, archive")
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
    hl.add_argument("-n", "--limit", type=row_limit, default=20)
    hl.add_argument("--json", action="store_true")
    hs = hsub.add_parser("search", parents=[common, filters], help="search by words (full text), or by meaning: matching conversations with an excerpt")
    hs.add_argument("query")
    how = hs.add_mutually_exclusive_group()
    how.add_argument("--semantic", action="store_true", help="by meaning only (embeddings; the profile must have embeddings = true)")
    how.add_argument("--hybrid", action="store_true", help="by words and meaning, merged by reciprocal rank fusion")
    hs.add_argument("-n", "--limit", type=row_limit, default=20)
    hs.add_argument("--json", action="store_true")
    hw = hsub.add_parser("show", parents=[common], help="print a conversation")
    hw.add_argument("id", type=conversation_id)
    hw.add_argument("--json", action="store_true")
    he = hsub.add_parser("export", parents=[common], help="export conversations (several ids: one JSON document)")
    he.add_argument("ids", type=conversation_id, nargs="+", metavar="ID")
    he.add_argument("--format", choices=("md", "json"), default="md")
    he.add_argument("--output", help="file to write (default stdout)")
    hi = hsub.add_parser("import", parents=[common], help="import ChatGPT's conversations.json (or its .zip) or a chat-tui JSON export")
    hi.add_argument("file")
    hi.add_argument("--json", action="store_true", help="the report as JSON")
    hd = hsub.add_parser("delete", parents=[common], help="move conversations to the trash (restore brings them back)")
    hd.add_argument("ids", type=conversation_id, nargs="+", metavar="ID")
    hd.add_argument("-y", "--yes", action="store_true", help="accepted for scripts; deleting is undoable and never asks")
    hr = hsub.add_parser("restore", parents=[common], help="bring conversations back from the trash")
    hr.add_argument("ids", type=conversation_id, nargs="+", metavar="ID")
    ht = hsub.add_parser("trash", parents=[common], help="list the conversations in the trash")
    ht.add_argument("--json", action="store_true")
    hpg = hsub.add_parser("purge", parents=[common], help="empty the trash: delete its conversations for good")
    hpg.add_argument("-y", "--yes", action="store_true", help="do not ask")
    for action, text in (("pin", "pin (listed first)"), ("unpin", "unpin"), ("archive", "archive (hidden from the list)"), ("unarchive", "unarchive")):
        hp = hsub.add_parser(action, parents=[common], help=text)
        hp.add_argument("ids", type=conversation_id, nargs="+", metavar="ID")
    return parser
