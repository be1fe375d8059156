"""Prompt templates and roles in the app: pick one (a key or the palette), fill its fields, and
manage them all in a screen (list, new, edit, rename, delete).

The screens read and write through `services.templates.Templates`; using a template is the chat
screen's job (`ChatScreen.use_template`). Styles: ui/styles/templates.tcss.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Input, Label, OptionList, Select, Static, TextArea

from chat_tui.core.params import ChatParams, ParamError, parse_option_value
from chat_tui.core.templates import Template, TemplateError
from chat_tui.core.text import one_line, visible_controls

CSS = "../styles/templates.tcss"
MANAGE = "\x00manage"  # the picker's last row: open the management screen


def describe(t: Template) -> Text:
    """One line for a list: kind, name, and the description (else the text's first words)."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{'role  ' if t.kind == 'role' else 'prompt'} ", style="dim")
    line.append(one_line(t.name), style="bold")
    if t.named_fields():
        line.append(f"  [{', '.join(t.named_fields())}]", style="italic")
    line.append(f"  {one_line(t.description or t.text)[:80]}", style="dim")
    return line


def params_text(params: dict[str, Any]) -> str:
    """Parameters as the editor shows them: `name = value`, one a line (values as JSON)."""
    return "\n".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in params.items())


def parse_params(text: str) -> dict[str, Any]:
    """The editor's lines back to checked parameters (ChatParams' rules), or a ParamError."""
    options = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ParamError(f"line {number}", f"write name = value, e.g. temperature = 0.2 (not {line.strip()!r})")
        options.append((name.strip(), parse_option_value(value.strip())))
    return ChatParams.from_options(options).as_dict()


class TemplatePickerScreen(ModalScreen[str | None]):
    """Choose a template or role by name (type to filter); the last row opens the manager."""

    CSS_PATH = CSS
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="template_picker.cancel"),
        Binding("up", "move(-1)", "Up", id="template_picker.up", show=False),
        Binding("down", "move(1)", "Down", id="template_picker.down", show=False),
    ]

    def __init__(self, templates: list[Template]) -> None:
        super().__init__()
        self.templates = templates
        self.shown: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="template-picker", classes="template-dialog"):
            yield Label("Use a prompt template or a role: type to filter, Enter uses it, Escape cancels")
            yield Input(placeholder="name or words", id="template-filter")
            yield OptionList(id="template-choices")

    def on_mount(self) -> None:
        self.query_one("#template-filter", Input).focus()
        self._filter("")

    @on(Input.Changed, "#template-filter")
    def _typed(self, event: Input.Changed) -> None:
        self._filter(event.value)

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        found = [t for t in self.templates
                 if all(w in f"{t.name} {t.description} {t.text}".lower() for w in words)]
        found.sort(key=lambda t: (not t.name.lower().startswith(text.strip().lower()), t.name.lower()))
        self.shown = [t.name for t in found] + [MANAGE]
        options = self.query_one("#template-choices", OptionList)
        manage = Text("Manage templates and roles…" if self.templates else
                      "No templates or roles yet: make one…", style="italic")
        options.set_options([*(describe(t) for t in found), manage])
        options.highlighted = 0

    def action_move(self, step: int) -> None:
        options = self.query_one("#template-choices", OptionList)
        current = options.highlighted or 0
        options.highlighted = max(0, min(len(self.shown) - 1, current + step))

    @on(Input.Submitted, "#template-filter")
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        index = self.query_one("#template-choices", OptionList).highlighted
        if index is not None and 0 <= index < len(self.shown):
            self.dismiss(self.shown[index])

    @on(OptionList.OptionSelected, "#template-choices")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.shown[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


class FieldsScreen(ModalScreen[dict[str, str] | None]):
    """Ask for a template's named fields (and its input or clipboard when there is none):
    Enter goes to the next field, and on the last one uses the template; every field is needed."""

    CSS_PATH = CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="template_fields.cancel")]
    NOTES = {"input": "the text to work on (the prompt box is empty)",
             "clipboard": "no clipboard text could be read: paste it here"}

    def __init__(self, template: Template, fields: list[str]) -> None:
        super().__init__()
        self.template = template
        self.fields = fields

    def compose(self) -> ComposeResult:
        kind = "role" if self.template.kind == "role" else "template"
        with Vertical(id="template-fields", classes="template-dialog"):
            yield Label(Text(f"{kind} {one_line(self.template.name)}: fill in its fields (Enter: next, then use it;"
                             " Escape cancels)"))
            for name in self.fields:
                yield Label(Text(f"{name}" + (f" — {self.NOTES[name]}" if name in self.NOTES else "")),
                            classes="field-name")
                yield Input(id=f"field-{name}", classes="template-field")
            yield Static("", id="fields-status", markup=False)

    def on_mount(self) -> None:
        self.query(".template-field").first().focus()

    def values(self) -> dict[str, str]:
        return {name: self.query_one(f"#field-{name}", Input).value for name in self.fields}

    @on(Input.Submitted, ".template-field")
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(".template-field").results(Input))
        at = inputs.index(event.input)
        if at + 1 < len(inputs) and not inputs[at + 1].value:
            inputs[at + 1].focus()
            return
        empty = [name for name, value in self.values().items() if not value.strip()]
        if empty:
            self.query_one("#fields-status", Static).update(f"Fill in {', '.join(empty)} first: every field is used.")
            self.query_one(f"#field-{empty[0]}", Input).focus()
            return
        self.dismiss(self.values())

    def action_cancel(self) -> None:
        self.dismiss(None)


class TemplatesScreen(Screen[str | None]):
    """Every template and role: pick one on the left, edit it on the right. Save writes it
    (renaming it when the name changed); New starts an empty one; Delete asks first; Use closes
    the screen and uses the one shown (dismissed with its name)."""

    CSS_PATH = CSS
    BINDINGS = [
        Binding("escape", "close", "Close", id="templates.close"),
        Binding("ctrl+s", "save", "Save", id="templates.save", priority=True),
        Binding("ctrl+n", "new", "New", id="templates.new"),
        Binding("ctrl+g", "use", "Use", id="templates.use", priority=True),
    ]

    def __init__(self, templates, current: tuple[str, str | None, ChatParams] | None = None,
                 presets=None, select: str | None = None) -> None:
        super().__init__()
        self.templates = templates  # services.templates.Templates
        self.current = current  # the app's (model, system prompt, params), for "from the current settings"
        self.presets = presets  # services.presets.Presets
        self.names: list[str] = []
        self.editing: str | None = None  # the saved name of the template in the form; None: a new one
        self._select = select
        self._confirm_delete: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="templates-main"):
            with Vertical(id="templates-left"):
                yield Label("Templates and roles")
                yield OptionList(id="templates-list")
            with Vertical(id="templates-form"):
                with Horizontal(classes="form-row"):
                    yield Label("name", classes="form-label")
                    yield Input(id="tpl-name", placeholder="a short name, e.g. summarize")
                    yield Select([("prompt template", "prompt"), ("role", "role")], value="prompt",
                                 allow_blank=False, id="tpl-kind")
                with Horizontal(classes="form-row"):
                    yield Label("about", classes="form-label")
                    yield Input(id="tpl-description", placeholder="what it is for (optional)")
                yield Label("", id="tpl-text-label")
                yield TextArea(id="tpl-text", soft_wrap=True, show_line_numbers=False)
                with Vertical(id="role-fields"):
                    with Horizontal(classes="form-row"):
                        yield Label("model", classes="form-label")
                        yield Input(id="tpl-model", placeholder="default model (empty: keep the current one)")
                    with Horizontal(classes="form-row"):
                        yield Label("preset", classes="form-label")
                        yield Select([], prompt="copy a preset's parameters", id="tpl-preset")
                        yield Button("current settings", id="tpl-current", compact=True)
                    yield Label("parameters: name = value, one a line (e.g. temperature = 0.2)")
                    yield TextArea(id="tpl-params", soft_wrap=True, show_line_numbers=False)
                yield Static("", id="tpl-status", markup=False)
                with Horizontal(classes="buttons"):
                    yield Button("Save", id="tpl-save", variant="primary")
                    yield Button("Use", id="tpl-use")
                    yield Button("New", id="tpl-new")
                    yield Button("Delete", id="tpl-delete", variant="error")
        yield Footer()

    def on_mount(self) -> None:
        if self.presets is not None:
            self.query_one("#tpl-preset", Select).set_options((one_line(p.name), p.name) for p in self.presets.list())
        self.reload(self._select)
        if self._select is None and not self.names:
            self.action_new()

    # -- the list ------------------------------------------------------------------------------

    def reload(self, select: str | None = None) -> None:
        found = self.templates.list()
        self.names = [t.name for t in found]
        options = self.query_one("#templates-list", OptionList)
        options.set_options(describe(t) for t in found)
        if select in self.names:
            options.highlighted = self.names.index(select)
            self.show(self.templates.get(select))
        elif self.names and self.editing is None and select is None:
            options.highlighted = 0
            self.show(found[0])

    @on(OptionList.OptionHighlighted, "#templates-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = self.names[event.option_index] if 0 <= event.option_index < len(self.names) else None
        if name is not None and name != self.editing:
            self.show(self.templates.get(name))

    @on(OptionList.OptionSelected, "#templates-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#tpl-name", Input).focus()

    # -- the form ------------------------------------------------------------------------------

    def show(self, t: Template | None) -> None:
        t = t or Template("")
        self.editing = t.name or None
        self._confirm_delete = None
        self.query_one("#tpl-name", Input).value = t.name
        self.query_one("#tpl-kind", Select).value = t.kind
        self.query_one("#tpl-description", Input).value = t.description
        self.query_one("#tpl-text", TextArea).load_text(t.text)
        self.query_one("#tpl-model", Input).value = t.model
        self.query_one("#tpl-params", TextArea).load_text(params_text(t.params))
        self._kind_shown(t.kind)
        self.say("")

    def _kind_shown(self, kind: str) -> None:
        role = kind == "role"
        self.query_one("#role-fields").display = role
        self.query_one("#tpl-text-label", Label).update(
            "system prompt ({{name}} fields are asked for on use; {{clipboard}}: the clipboard)" if role else
            "prompt ({{input}}: the prompt box's text; {{clipboard}}: the clipboard; {{name}}: asked for on use)")

    @on(Select.Changed, "#tpl-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        self._kind_shown(str(event.value))

    @on(Select.Changed, "#tpl-preset")
    def _preset_chosen(self, event: Select.Changed) -> None:
        if event.value is Select.NULL or self.presets is None:
            return
        preset = self.presets.get(str(event.value))
        if preset is not None:
            self.query_one("#tpl-params", TextArea).load_text(params_text(preset.params))
            self.say(f"parameters of preset {one_line(preset.name)!r} copied: Save keeps them")

    @on(Button.Pressed, "#tpl-current")
    def _from_current(self) -> None:
        if self.current is None:
            return
        model, system, params = self.current
        self.query_one("#tpl-kind", Select).value = "role"
        self.query_one("#tpl-model", Input).value = model or ""
        if system:
            self.query_one("#tpl-text", TextArea).load_text(system)
        self.query_one("#tpl-params", TextArea).load_text(params_text(params.as_dict()))
        self.say("the current model, system prompt and parameters copied: Save keeps them")

    def form(self) -> Template:
        """The template in the form, checked (a TemplateError or ParamError says what is wrong)."""
        kind = str(self.query_one("#tpl-kind", Select).value)
        text = self.query_one("#tpl-text", TextArea).text
        fields: dict[str, Any] = {"prompt": text} if kind == "prompt" else {
            "system_prompt": text, "model": self.query_one("#tpl-model", Input).value.strip(),
            "params": parse_params(self.query_one("#tpl-params", TextArea).text)}
        return Template(name=self.query_one("#tpl-name", Input).value, kind=kind,
                        description=self.query_one("#tpl-description", Input).value.strip(), **fields)

    def say(self, text: str) -> None:
        self.query_one("#tpl-status", Static).update(Text(visible_controls(text)))

    # -- actions -------------------------------------------------------------------------------

    def _write(self) -> Template | None:
        from chat_tui.store.errors import StoreError

        try:
            saved = self.templates.save(self.form(), previous=self.editing)
        except (TemplateError, ParamError, StoreError) as exc:
            self.say(f"Not saved: {exc}")
            return None
        renamed = self.editing is not None and saved.name != self.editing
        self.say(f"Saved {saved.kind} {saved.name!r}" + (f" (renamed from {self.editing!r})" if renamed else ""))
        self.editing = saved.name
        self.reload(saved.name)
        return saved

    @on(Button.Pressed, "#tpl-save")
    def action_save(self) -> None:
        self._write()

    @on(Button.Pressed, "#tpl-new")
    def action_new(self) -> None:
        self.query_one("#templates-list", OptionList).highlighted = None
        self.show(None)
        self.query_one("#tpl-name", Input).focus()
        self.say("A new template: fill it in and Save.")

    @on(Button.Pressed, "#tpl-delete")
    def action_delete(self) -> None:
        if self.editing is None:
            self.say("Nothing to delete: this one is not saved.")
            return
        if self._confirm_delete != self.editing:
            self._confirm_delete = self.editing
            self.say(f"Press Delete again to delete {self.editing!r} for good.")
            return
        from chat_tui.store.errors import StoreError

        try:
            self.templates.delete(self.editing)
        except StoreError as exc:
            self.say(f"Not deleted: {exc}")
            return
        gone, self.editing = self.editing, None
        self.reload()
        if not self.names:
            self.show(None)
        self.say(f"Deleted {gone!r}.")

    @on(Button.Pressed, "#tpl-use")
    def action_use(self) -> None:
        saved = self._write()  # what is used is what is saved
        if saved is not None:
            self.dismiss(saved.name)

    def action_close(self) -> None:
        self.dismiss(None)
