"""Prompt templates and roles, the one way the CLI and the TUI use them (no UI code here).

Using a prompt template fills its variables: `{{input}}` from the text given (the prompt box,
or `ask`'s words and stdin; appended after the text when the template has no `{{input}}`, as
`llm -t` does), `{{clipboard}}` from the clipboard text the caller read, named fields from the
values asked for. Using a role gives the settings of the next requests: its system prompt (its
variables filled the same way), its model and its parameters over the current ones; settings
given explicitly (`ask -m`, `-s`, `-o`) win.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from chat_tui.core.params import ChatParams
from chat_tui.core.templates import CLIPBOARD, INPUT, Template, TemplateError, check, dumps, loads, render
from chat_tui.core.text import visible_controls
from chat_tui.store import templates as rows

if TYPE_CHECKING:
    from chat_tui.store import Store

__all__ = ["ImportReport", "RoleSettings", "Template", "TemplateError", "Templates", "fill", "role_settings"]


def fill(template: Template, *, values: Mapping[str, str] = {}, input: str | None = None,
         clipboard: str | None = None) -> str:
    """The template's text (a prompt's, or a role's system prompt) with its variables filled.
    `values`: named fields; a name the template does not have is refused, so a typo is not
    silently ignored."""
    label = _label(template)
    unknown = [name for name in values if name not in template.fields()]
    if unknown:
        has = ", ".join(template.named_fields()) or "none"
        raise TemplateError(f"{label} has no field {unknown[0]!r} (its fields: {has})")
    given = dict(values)
    fields = template.fields()
    if INPUT in fields:
        if input is None or not input.strip():
            raise TemplateError(f"{label} needs input for {{{{input}}}}: the text to work on")
        given[INPUT] = input
    if CLIPBOARD in fields and CLIPBOARD not in given:
        if not clipboard:
            raise TemplateError(f"{label} uses {{{{clipboard}}}}, and there is no clipboard text")
        given[CLIPBOARD] = clipboard
    missing = [f for f in template.named_fields() if f not in given]
    if missing:
        raise TemplateError(f"{label} needs a value for " + ", ".join("{{" + m + "}}" for m in missing))
    text = render(template.text, given, what=label)
    if template.kind == "prompt" and INPUT not in fields and input and input.strip():
        text = f"{text.rstrip()}\n\n{input}"
    return text


def _label(template: Template) -> str:
    return f"{'role' if template.kind == 'role' else 'template'} {visible_controls(template.name)!r}"


@dataclass(frozen=True)
class RoleSettings:
    system_prompt: str
    model: str | None  # None: keep the current model
    params: ChatParams


def role_settings(role: Template, base: ChatParams, *, values: Mapping[str, str] = {},
                  clipboard: str | None = None) -> RoleSettings:
    """What using `role` sets: its system prompt (filled), its model, and its parameters over
    `base` (the current ones)."""
    if role.kind != "role":
        raise TemplateError(f"{visible_controls(role.name)!r} is a prompt template, not a role")
    system = fill(role, values=values, clipboard=clipboard)
    return RoleSettings(system, role.model or None, base.merged(role.chat_params()))


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # a different template of that name exists


class Templates:
    """Save, read, rename, delete, export and import templates, kept in the store."""

    def __init__(self, store: "Store") -> None:
        self._store = store

    def list(self, kind: str | None = None) -> list[Template]:
        return rows.list_templates(self._store, kind)

    def get(self, name: str) -> Template | None:
        return rows.get_template(self._store, name)

    def find(self, name: str) -> Template:
        """The template called `name`, or a TemplateError naming the ones there are."""
        found = self.get(name)
        if found is None:
            names = [t.name for t in self.list()]
            known = f"; there are: {', '.join(visible_controls(n) for n in names)}" if names else "; none saved yet"
            raise TemplateError(f"no template or role named {visible_controls(name)!r}{known}")
        return found

    def save(self, template: Template, *, previous: str | None = None) -> Template:
        """Check and write a new template (`previous` None) or over the one called `previous`
        (a rename when the name changed). A taken name is a TemplateError."""
        template = check(template)
        try:
            rows.save_template(self._store, template, previous=previous)
        except rows.NameTaken as exc:
            raise TemplateError(str(exc)) from None
        return template

    def rename(self, old: str, new: str) -> Template:
        return self.save(replace(self.find(old), name=new), previous=old)

    def delete(self, name: str) -> bool:
        return rows.delete_template(self._store, name)

    def export_toml(self, names: list[str] | None = None) -> str:
        chosen = [self.find(n) for n in names] if names else self.list()
        return dumps(chosen)

    def import_toml(self, text: str, *, overwrite: bool = False) -> ImportReport:
        """All of a file's templates or none (a bad entry is a TemplateError naming it). One of
        the same name and different content is replaced with `overwrite`, else skipped."""
        report = ImportReport()
        writes: list[Template] = []
        for t in loads(text):
            old = self.get(t.name)
            if old is None:
                report.added.append(t.name)
            elif old == t:
                report.unchanged.append(t.name)
                continue
            elif overwrite:
                report.replaced.append(t.name)
            else:
                report.skipped.append(t.name)
                continue
            writes.append(t)
        rows.replace_templates(self._store, writes)
        return report
