"""Saved prompts with variables, and roles (a system prompt with a default model and parameters).

A prompt template's text holds variables written `{{name}}`: `{{input}}` is the text given
on use (the prompt box, or `ask`'s words and stdin), `{{clipboard}}` the clipboard's text, any
other name a field asked for on use. `\\{{name}}` is a literal `{{name}}`; any other use of
braces is plain text. Values are put in once: a value holding `{{x}}` stays as it is. A role's
system prompt may use variables too. Export and import are TOML (`dumps`, `loads`), one table
per kind: `[prompts.NAME]` and `[roles.NAME]`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from chat_tui.core.params import ChatParams, ParamError
from chat_tui.core.text import visible_controls

KINDS = ("prompt", "role")
INPUT, CLIPBOARD = "input", "clipboard"
NAME_LIMIT = 100
_VARIABLE = re.compile(r"(\\?)\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")
_TABLES = {"prompts": "prompt", "roles": "role"}
_KEYS = {
    "prompt": ("description", "prompt"),
    "role": ("description", "system_prompt", "model", "params"),
}


class TemplateError(ValueError):
    """A template that cannot be saved or used, or values missing: the message says which."""


@dataclass(frozen=True)
class Template:
    name: str
    kind: str = "prompt"  # "prompt" or "role"
    prompt: str = ""  # a prompt template's text
    system_prompt: str = ""  # a role's
    model: str = ""  # a role's default model ("" = keep the current one)
    params: dict[str, Any] = field(default_factory=dict)  # a role's default parameters
    description: str = ""

    @property
    def text(self) -> str:
        """What is rendered on use: a prompt's text, a role's system prompt."""
        return self.prompt if self.kind == "prompt" else self.system_prompt

    def fields(self) -> list[str]:
        """Every variable, in order of first use."""
        return variables(self.text)

    def named_fields(self) -> list[str]:
        """The variables asked for on use (not `input`, not `clipboard`)."""
        return [f for f in self.fields() if f not in (INPUT, CLIPBOARD)]

    def chat_params(self) -> ChatParams:
        return ChatParams.from_dict(self.params)


def variables(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(2) for m in _VARIABLE.finditer(text) if not m.group(1)))


def render(text: str, values: Mapping[str, str], *, what: str = "the template") -> str:
    """`text` with each variable replaced by its value (one pass: values are not read again)."""
    missing = [name for name in variables(text) if name not in values]
    if missing:
        raise TemplateError(f"{what} needs a value for {', '.join('{{' + m + '}}' for m in missing)}")

    def one(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(0)[1:]  # \{{name}}: the literal text
        return values[match.group(2)]

    return _VARIABLE.sub(one, text)


def check(template: Template) -> Template:
    """The template as it can be saved (names and texts trimmed where it is safe), or a
    TemplateError saying what is wrong."""
    name = template.name.strip()
    if not name:
        raise TemplateError("a template needs a name")
    if len(name) > NAME_LIMIT:
        raise TemplateError(f"a template's name has at most {NAME_LIMIT} characters, not {len(name)}")
    if visible_controls(name) != name or "\n" in name:
        raise TemplateError(f"the name {visible_controls(name)!r} has control characters")
    if template.kind not in KINDS:
        raise TemplateError(f"kind {template.kind!r}: must be prompt or role")
    shown = visible_controls(name)
    if template.kind == "prompt":
        if not template.prompt.strip():
            raise TemplateError(f"prompt template {shown!r} has no text")
        if template.system_prompt or template.model or template.params:
            raise TemplateError(f"prompt template {shown!r}: a system prompt, model and parameters belong to a role")
    else:
        if not template.system_prompt.strip():
            raise TemplateError(f"role {shown!r} has no system prompt")
        if template.prompt:
            raise TemplateError(f"role {shown!r}: a role has a system prompt, not a prompt")
        if INPUT in variables(template.system_prompt):
            raise TemplateError(f"role {shown!r}: {{{{input}}}} belongs in a prompt template; the input is the prompt")
        if template.model != template.model.strip() or "\n" in template.model:
            raise TemplateError(f"role {shown!r}: the model id has white space around or in it")
        try:
            ChatParams.from_dict(template.params)
        except ParamError as exc:
            raise TemplateError(f"role {shown!r}: {exc}") from None
    return replace(template, name=name)


# -- TOML -------------------------------------------------------------------------------------


def dumps(templates: Iterable[Template]) -> str:
    """A TOML document of `templates` that `loads` reads back exactly (tomli-w's strings)."""
    import tomli_w

    doc: dict[str, dict[str, Any]] = {}
    for t in templates:
        table = "prompts" if t.kind == "prompt" else "roles"
        entry: dict[str, Any] = {}
        for key in _KEYS[t.kind]:
            value = getattr(t, key)
            if value not in ("", {}, None):
                entry[key] = value
        doc.setdefault(table, {})[t.name] = entry
    header = ("# chat-tui prompt templates and roles: `chat-tui templates import FILE` reads this file.\n"
              "# {{input}}: the text given on use; {{clipboard}}: the clipboard; {{other}}: asked for on use.\n\n")
    # Multi-line strings read best, but TOML reads a CR LF in them as LF: then one-line strings.
    return header + tomli_w.dumps(doc, multiline_strings=not _has_cr(doc))


def _has_cr(value: Any) -> bool:
    if isinstance(value, str):
        return "\r" in value
    if isinstance(value, dict):
        return any(_has_cr(k) or _has_cr(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_cr(v) for v in value)
    return False


def loads(text: str) -> list[Template]:
    """The templates of a TOML document, each checked; a TemplateError names every problem."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"not a valid TOML file: {exc}") from None
    problems: list[str] = []
    found: list[Template] = []
    for table in doc:
        if table not in _TABLES:
            problems.append(f"unknown table [{table}] (expected [prompts.NAME] or [roles.NAME])")
    for table, kind in _TABLES.items():
        entries = doc.get(table, {})
        if not isinstance(entries, dict):
            problems.append(f"[{table}] must hold tables, one per template")
            continue
        for name, entry in entries.items():
            try:
                found.append(_entry(kind, name, entry))
            except TemplateError as exc:
                problems.append(str(exc))
    names = [t.name for t in found]
    problems += [f"{visible_controls(n)!r} is both a prompt and a role" for n in sorted({n for n in names if names.count(n) > 1})]
    if problems:
        raise TemplateError("; ".join(problems))
    return found


def _entry(kind: str, name: str, entry: Any) -> Template:
    where = f"[{'prompts' if kind == 'prompt' else 'roles'}.{visible_controls(name)}]"
    if not isinstance(entry, dict):
        raise TemplateError(f"{where} must be a table")
    unknown = [k for k in entry if k not in _KEYS[kind]]
    if unknown:
        raise TemplateError(f"{where}: unknown key {visible_controls(unknown[0])!r} (a {kind} has {', '.join(_KEYS[kind])})")
    for key, value in entry.items():
        wanted = dict if key == "params" else str
        if not isinstance(value, wanted):
            raise TemplateError(f"{where}: {key} must be {'a table' if wanted is dict else 'a string'}")
    try:
        return check(Template(name=name, kind=kind, **entry))
    except TemplateError as exc:
        raise TemplateError(f"{where}: {exc}") from None
