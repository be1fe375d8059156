"""The keys screen: every binding, as currently mapped, grouped by where it applies.

`HelpScreen` only displays what it is given; `bindings_table(app)` gathers the real bindings
(call it before pushing the screen, so it sees the chat screen and its focused widget), then
those of every other screen and widget, so each id can be looked up and remapped.
Styles: ui/styles/screens.tcss.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from chat_tui.ui import compat

Row = tuple[str, str, str]  # (keys, description, binding id or "")
Group = tuple[str, list[Row]]

PROMPT_KEYS = (
    "In the prompt, Enter sends the message; Ctrl+J adds a new line "
    "(Shift+Enter too, in terminals that report it). ↑ on its first line recalls earlier prompts "
    "(↓ goes back to what you were typing); Ctrl+R searches them; Ctrl+S uses a template or role."
)


def remap_text(config_path: Path | None) -> str:
    where = str(config_path) if config_path else "config.toml"
    return (
        f"To change a key, add a [keys] table to {where} mapping a binding id to keys, "
        'e.g.\n\n  [keys]\n  "app.new_conversation" = "ctrl+t"\n  "prompt.newline" = "ctrl+j,shift+enter"\n\n'
        "Several keys are separated by commas. Bindings without an id are Textual's own "
        "and cannot be changed."
    )


def _group_title(node: DOMNode) -> str:
    if isinstance(node, App):
        return "Everywhere"
    return node.BINDING_GROUP_TITLE or type(node).__name__


def _listed(binding: Binding) -> bool:
    """Ours (they have ids) plus Textual's that a user would look for (shown or app-wide)."""
    if binding.id:
        return True
    return bool(binding.description) and (binding.show or binding.priority) and not binding.system


# Titles of the sections for bindings not in reach right now, by the prefix of their ids.
SECTIONS = {
    "app": "Everywhere", "chat": "Chat", "prompt": "Prompt", "message": "Messages (Tab or a click focuses one)",
    "select": "Select mode (v on a message)",
    "conversation_list": "Conversation list", "conversations": "Conversation list",
    "model_picker": "Model picker", "params": "Parameters", "slider": "Parameter sliders",
    "compare": "Compare", "lane": "Compare lane", "compare_diff": "Compare: differences",
    "compare_note": "Compare: blind pick note", "probability": "Token probabilities",
    "schema_editor": "Schema editor",
    "history": "History", "dialog": "Dialogs", "help": "Keys", "welcome": "Welcome", "tools": "Tools (F12)",
}


def bindings_table(app: App[Any]) -> list[Group]:
    """Every binding of chat-tui, keymap applied: first the app, the active screen and the
    focused widget's chain (what the keys do here and now, widest first), then the bindings of
    the other screens and widgets, by section.

    Keys are as the user has remapped them (the keymap given to `set_keymap`).
    """
    from chat_tui.ui.keymap import binding_classes, class_bindings, import_binding_modules

    keymap = compat.keymap(app)
    focused = app.focused
    chain = focused.ancestors_with_self if focused is not None else [app.screen, app]
    groups: list[Group] = []
    listed: set[str] = set()
    for node in reversed(chain):
        rows: dict[tuple[str, str, str], list[str]] = {}
        # node._bindings (not the class's BINDINGS) also holds bindings added at run time,
        # such as the command palette's.
        for key, binding in compat.node_bindings(node):
            if not _listed(binding):
                continue
            keys = rows.setdefault((binding.id or "", binding.description, binding.action), [])
            if key not in keys:
                keys.append(key)
        table = [
            (_display_keys(keymap.get(bid) or ",".join(keys)), description, bid)
            for (bid, description, _), keys in rows.items()
        ]
        listed.update(bid for _, _, bid in table if bid)
        if table:
            groups.append((_group_title(node), table))
    import_binding_modules()
    elsewhere: dict[str, dict[str, tuple[list[str], str]]] = {}
    for cls in binding_classes(app):
        if not cls.__module__.startswith("chat_tui."):
            continue
        for binding in class_bindings(cls):
            if not binding.id or binding.id in listed:
                continue
            section = SECTIONS.get(binding.id.split(".", 1)[0], binding.id.split(".", 1)[0].replace("_", " ").capitalize())
            keys, _ = elsewhere.setdefault(section, {}).setdefault(binding.id, ([], binding.description))
            for key in binding.key.split(","):
                if key not in keys:
                    keys.append(key)
    order = list(dict.fromkeys(SECTIONS.values()))  # a fixed order, whatever was imported first
    for section, rows in sorted(elsewhere.items(), key=lambda item: (order.index(item[0]) if item[0] in order else len(order), item[0])):
        table = [(_display_keys(keymap.get(bid) or ",".join(keys)), description, bid)
                 for bid, (keys, description) in sorted(rows.items())]
        groups.append((section if section not in dict(groups) else f"{section} (elsewhere)", table))
    return groups


def _display_keys(keys: str) -> str:
    return ", ".join(k.strip() for k in keys.split(","))


class HelpScreen(ModalScreen[None]):
    """Lists `groups` of (keys, description, id) rows; Escape or q closes."""

    BINDINGS = [
        Binding("escape,q", "close", "Close", id="help.close"),
    ]

    def __init__(self, groups: list[Group], *, config_path: Path | None = None) -> None:
        super().__init__()
        self.groups = groups
        self.config_path = config_path

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static("Keys", id="help-title")
            with VerticalScroll(id="help-body"):
                for index, (title, rows) in enumerate(self.groups):
                    yield Static(title, classes="help-group", markup=False)
                    table: DataTable[str] = DataTable(
                        id=f"help-table-{index}", classes="help-table",
                        show_cursor=False, zebra_stripes=True,
                    )
                    table.can_focus = False
                    table.add_columns("Key", "Action", "Id")
                    for keys, description, binding_id in rows:
                        table.add_row(keys, description, binding_id or "—")
                    yield table
                yield Static(PROMPT_KEYS, id="help-prompt-keys", classes="help-text", markup=False)
                yield Static(remap_text(self.config_path), id="help-remap", classes="help-text", markup=False)
            yield Static("Esc or q closes", id="help-footer")

    def on_mount(self) -> None:
        self.query_one("#help-body", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
