"""Named parameter presets, through the presets service: save, load, rename, delete."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, OptionList, Static

from chat_tui.core.params import ChatParams, ParamError
from chat_tui.core.structured import describe
from chat_tui.core.text import visible_controls
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat_tui.services.presets import Presets


def summary(params: dict[str, Any], width: int = 48) -> str:
    """"temperature=0.7 top_p=0.9 …" for the list, one line."""
    text = " ".join(f"{k}={describe(v) if k == 'response_format' else v}" for k, v in params.items()) or "all defaults"
    text = visible_controls(text).replace("\n", "\u240a").replace("\t", "\u2409")
    return text if len(text) <= width else text[: width - 1] + "…"


class PresetsSection(Vertical):
    """Presets of `ChatParams`, saved in the database.

    The name field names the preset to save, or the new name for "rename". The list's highlighted
    preset is the one "load", "rename" and "delete" act on; Enter or a click on it loads it.
    Saving over an existing name and deleting ask for a second press. Messages are shown in the
    section; the owner sets `current` (attributes down) and gets `PresetsSection.Loaded` (up).
    """

    class Loaded(Message):
        def __init__(self, name: str, params: ChatParams) -> None:
            super().__init__()
            self.name = name
            self.params = params

    def __init__(self, presets: Presets, current: ChatParams, *, id: str | None = "presets", classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.presets = presets
        self.current = current  # what "save" stores; kept up to date by the owner
        self._names: list[str] = []
        self._confirm: tuple[str, str] | None = None  # (action, name) waiting for a second press

    def compose(self) -> ComposeResult:
        yield Label("presets", classes="param-label")
        with Horizontal(classes="field-row"):
            yield Label("name", classes="field-label")
            yield Input(id="preset-name", compact=True, placeholder="preset name")
        with Horizontal(classes="button-row"):
            yield Button("save", id="preset-save", compact=True)
            yield Button("load", id="preset-load", compact=True)
            yield Button("rename", id="preset-rename", compact=True)
            yield Button("delete", id="preset-delete", compact=True)
        yield OptionList(id="preset-list", markup=False)
        yield Static("", id="preset-status", markup=False)

    def on_mount(self) -> None:
        self.reload()

    # -- helpers ----------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def reload(self, *, highlight: str | None = None) -> None:
        """Re-read the list from the store (and highlight `highlight` if given)."""
        presets = self.presets.list()
        self._names = [p.name for p in presets]
        option_list = self.query_one("#preset-list", OptionList)
        index = option_list.highlighted
        option_list.set_options(
            Text(f"{visible_controls(p.name)}  {summary(p.params)}", no_wrap=True, overflow="ellipsis") for p in presets
        )
        if highlight in self._names:
            option_list.highlighted = self._names.index(highlight)
        elif index is not None and self._names:
            option_list.highlighted = min(index, len(self._names) - 1)

    def _say(self, text: str) -> None:
        self.query_one("#preset-status", Static).update(Text(text))

    def _typed_name(self) -> str | None:
        name = self.query_one("#preset-name", Input).value.strip()
        if not name:
            self._say("a preset needs a name: type one in the name field")
            return None
        return name

    def _selected(self) -> str | None:
        index = self.query_one("#preset-list", OptionList).highlighted
        if index is None or not 0 <= index < len(self._names):
            self._say("no preset selected: pick one in the list" if self._names else "no presets saved yet")
            return None
        return self._names[index]

    def _confirmed(self, action: str, name: str) -> bool:
        """True on the second press of the same action for the same name."""
        if self._confirm == (action, name):
            self._confirm = None
            return True
        self._confirm = (action, name)
        return False

    # -- actions ----------------------------------------------------------------------------

    @on(Input.Changed, "#preset-name")
    def _name_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._confirm = None

    @on(Input.Submitted, "#preset-name")
    @on(Button.Pressed, "#preset-save")
    def save_preset(self, event: Message | None = None) -> None:
        if event is not None:
            event.stop()
        name = self._typed_name()
        if name is None:
            return
        shown = visible_controls(name)
        if name in self._names and not self._confirmed("save", name):
            self._say(f"a preset named {shown!r} already exists: press save again to replace it")
            return
        try:
            self.presets.save(name, self.current.as_dict())
        except Exception as exc:  # noqa: BLE001 - a store error is a message, not a crash
            self._say(f"could not save {shown!r}: {visible_controls(str(exc))}")
            return
        self._confirm = None
        self.reload(highlight=name)
        self._say(f"saved {shown!r}")

    @on(Button.Pressed, "#preset-load")
    def load_preset(self, event: Message | None = None) -> None:
        if event is not None:
            event.stop()
        name = self._selected()
        if name is not None:
            self._load(name)

    @on(OptionList.OptionSelected, "#preset-list")
    def _option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self._names):
            self._load(self._names[event.option_index])

    def _load(self, name: str) -> None:
        shown = visible_controls(name)
        preset = self.presets.get(name)
        if preset is None:
            self._say(f"no preset named {shown!r} (deleted elsewhere?)")
            self.reload()
            return
        try:
            params = ChatParams.from_dict(preset.params)
        except ParamError as exc:
            self._say(f"preset {shown!r} is not valid: {visible_controls(str(exc))}")
            return
        self._say(f"loaded {shown!r}")
        self.post_message(self.Loaded(name, params))

    @on(Button.Pressed, "#preset-rename")
    def rename_preset(self, event: Message | None = None) -> None:
        if event is not None:
            event.stop()
        old = self._selected()
        if old is None:
            return
        new = self._typed_name()
        if new is None:
            return
        if new == old:
            self._say(f"{visible_controls(old)!r} already has that name")
            return
        try:
            self.presets.rename(old, new)
        except Exception as exc:  # noqa: BLE001 - ValueError (name taken), NotFoundError, store errors
            self._say(visible_controls(str(exc)))
            return
        self.reload(highlight=new)
        self._say(f"renamed {visible_controls(old)!r} to {visible_controls(new)!r}")

    @on(Button.Pressed, "#preset-delete")
    def delete_preset(self, event: Message | None = None) -> None:
        if event is not None:
            event.stop()
        name = self._selected()
        if name is None:
            return
        shown = visible_controls(name)
        if not self._confirmed("delete", name):
            self._say(f"press delete again to delete {shown!r}")
            return
        try:
            self.presets.delete(name)
        except Exception as exc:  # noqa: BLE001
            self._say(f"could not delete {shown!r}: {visible_controls(str(exc))}")
            return
        self.reload()
        self._say(f"deleted {shown!r}")
