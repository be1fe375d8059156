"""The inline schema editor: a JSON Schema for structured output, typed in a modal.

A `TextArea` with JSON highlighting (tree-sitter's JSON grammar) and the format's name. "Use it"
(ctrl+s) checks the text as the API would (`core.structured`: JSON, a JSON Schema, strict mode's
rules when strict is on); a problem is shown under the editor, the cursor goes to a syntax
error's line and column, and nothing typed is lost. Dismissed with (name, schema) or None.
Styles: ui/styles/params.tcss.
"""

from __future__ import annotations

import json
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, TextArea

from chat_tui.core.structured import SchemaError, StrictError, check_name, check_schema, parse_json
from chat_tui.ui.widgets.slider import FieldError

TEMPLATE = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}


def json_area(text: str, **kw: Any) -> TextArea:
    """A code editor for JSON: highlighted where tree-sitter's JSON grammar is installed."""
    from textual.widgets.text_area import LanguageDoesNotExist

    try:
        return TextArea.code_editor(text, language="json", **kw)
    except LanguageDoesNotExist:
        return TextArea.code_editor(text, **kw)


class SchemaEditorScreen(ModalScreen[tuple[str, dict[str, Any]] | None]):
    """Edit a JSON Schema; `strict`: check strict mode's rules too (the switch in the pane)."""

    BINDING_GROUP_TITLE = "Schema editor"
    BINDINGS = [
        Binding("ctrl+s", "save", "Use it", id="schema_editor.save"),
        Binding("escape", "cancel", "Cancel", id="schema_editor.cancel"),
    ]

    def __init__(self, name: str = "", schema: dict[str, Any] | None = None, *, strict: bool = True) -> None:
        super().__init__()
        self.format_name = name or "answer"
        self.text = json.dumps(schema if schema is not None else TEMPLATE, indent=2, ensure_ascii=False)
        self.strict = strict

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="schema-editor"):
            mode = "strict: every object closed, every property required" if self.strict else "strict off"
            yield Label(f"JSON schema for the answer · {mode}", markup=False)
            yield Label("Ctrl+S uses it · Escape leaves the editor, a second Escape cancels", classes="hint", markup=False)
            with Horizontal(classes="field-row"):
                yield Label("name", classes="field-label", markup=False)
                yield Input(self.format_name, id="schema-name", compact=True, placeholder="letters, digits, _ and -")
            yield json_area(self.text, id="schema-text")
            yield FieldError(id="schema-error")
            with Horizontal(classes="buttons"):
                yield Button("Use it", id="schema-use", variant="primary", compact=True)
                yield Button("Cancel", id="schema-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#schema-text", TextArea).focus()

    @property
    def area(self) -> TextArea:
        return self.query_one("#schema-text", TextArea)

    def action_save(self) -> None:
        error = self.query_one("#schema-error", FieldError)
        area = self.area
        try:
            name = check_name(self.query_one("#schema-name", Input).value.strip())
            schema = check_schema(parse_json(area.text), strict=self.strict)
        except SchemaError as exc:
            hint = " (or turn strict off in the parameters)" if isinstance(exc, StrictError) else ""
            error.show(f"{exc}{hint}")
            if exc.location is not None:
                line, column = exc.location
                area.move_cursor((line - 1, max(column - 1, 0)))
                area.focus()
            return
        error.show(None)
        self.dismiss((name, schema))

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#schema-use")
    def _use(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#schema-cancel")
    def _cancel(self) -> None:
        self.action_cancel()
