"""`chat-tui templates …`: list, show, export (TOML), import, delete prompt templates and roles."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from chat_tui.cli.context import CLIError, Context, read_stdin
from chat_tui.cli.output import dump_json, out
from chat_tui.core.text import one_line


def run(ctx: Context) -> int:
    from chat_tui.services.templates import TemplateError, Templates

    handler = {"list": _list, "show": _show, "export": _export, "import": _import, "delete": _delete}[
        ctx.args.templates_command]
    try:
        return handler(ctx, Templates(ctx.store()))
    except TemplateError as exc:
        raise CLIError(str(exc), 2) from None


def _plain(t: Any) -> dict[str, Any]:
    return {"name": t.name, "kind": t.kind, "description": t.description, "prompt": t.prompt,
            "system_prompt": t.system_prompt, "model": t.model, "params": t.params, "fields": t.named_fields()}


def _list(ctx: Context, templates: Any) -> int:
    found = templates.list(ctx.args.kind)
    if ctx.args.json:
        dump_json([_plain(t) for t in found])
        return 0
    if not found:
        print("chat-tui: no templates or roles saved yet (make them in the app: Ctrl+P → Templates and roles,"
              " or `chat-tui templates import FILE`)", file=sys.stderr)
    for t in found:
        about = t.description or t.text
        fields = f" [{', '.join(t.fields())}]" if t.fields() else ""
        extra = f" (model {t.model})" if t.model else ""
        out(f"{t.kind:<6} {one_line(t.name)}{fields}{extra}  {one_line(about)[:70]}\n")
    return 0


def _show(ctx: Context, templates: Any) -> int:
    t = templates.find(ctx.args.name)
    if ctx.args.json:
        dump_json(_plain(t))
        return 0
    out(templates.export_toml([t.name]).split("\n\n", 1)[1].rstrip("\n") + "\n")  # the entry, without the file's header
    return 0


def _export(ctx: Context, templates: Any) -> int:
    text = templates.export_toml(ctx.args.name or None)
    if ctx.args.file == "-":
        out(text)  # tomli-w escapes control characters: the document is the same cleaned or not
        return 0
    path = Path(ctx.args.file).expanduser()
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None
    count = len(ctx.args.name) if ctx.args.name else len(templates.list())
    print(f"chat-tui: wrote {count} template{'s' if count != 1 else ''} to {path}", file=sys.stderr)
    return 0


def _import(ctx: Context, templates: Any) -> int:
    source = ctx.args.file
    if source == "-":
        text = read_stdin()
    else:
        path = Path(source).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CLIError(f"no file {path}", 2) from None
        except UnicodeDecodeError:
            raise CLIError(f"{path} is not UTF-8 text (a TOML file is)", 2) from None
        except OSError as exc:
            raise CLIError(f"cannot read {path}: {exc.strerror or exc}", 2) from None
    report = templates.import_toml(text, overwrite=ctx.args.replace)
    for label, names in (("added", report.added), ("replaced", report.replaced), ("unchanged", report.unchanged)):
        if names:
            print(f"chat-tui: {label}: {', '.join(one_line(n) for n in names)}", file=sys.stderr)
    if report.skipped:
        print(f"chat-tui: kept as they are (a different one of the same name exists; --replace replaces it):"
              f" {', '.join(one_line(n) for n in report.skipped)}", file=sys.stderr)
    return 0


def _delete(ctx: Context, templates: Any) -> int:
    missing = [n for n in ctx.args.names if templates.get(n) is None]
    if missing:
        raise CLIError(f"no template or role named {', '.join(repr(one_line(n)) for n in missing)}; nothing deleted", 2)
    for name in ctx.args.names:
        templates.delete(name)
    return 0
