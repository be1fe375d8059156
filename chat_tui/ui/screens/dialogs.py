"""Small modal screens: pick a code block, message details, confirm, rename, open a conversation."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from chat_tui.core.text import visible_controls
from chat_tui.store.records import Message


class _Modal(ModalScreen):
    BINDINGS = [Binding("escape", "dismiss_none", "Close", id="dialog.close")]

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class PickBlockScreen(_Modal):
    """Choose one of a message's code blocks to copy."""

    def __init__(self, blocks: list[str]) -> None:
        super().__init__()
        self.blocks = blocks

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Copy which code block?")
            options = []
            for i, block in enumerate(self.blocks):
                first = next((line for line in block.splitlines() if line.strip()), "")
                options.append(Option(Text(f"{i + 1}. {visible_controls(first)[:70]}  ({len(block.splitlines())} lines)"), id=str(i)))
            yield OptionList(*options, id="blocks")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id))


def _set(values: dict[str, Any]) -> dict[str, Any]:
    """The entries that have a value."""
    return {k: v for k, v in values.items() if v is not None}


class DetailsScreen(_Modal):
    """The parameters sent with an answer, its usage, timing and status."""

    def __init__(self, message: Message) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        m = self.message
        info: dict[str, Any] = {
            "id": m.id,
            "role": m.role,
            "model": m.model,
            "endpoint": m.endpoint,
            "status": m.status,
            "error": m.error,
            "finish_reason": m.finish_reason,
            "parameters sent": m.params,
            # Completion counts include the reasoning: "of which reasoning" is a part, not more.
            "usage (server)": _set({"prompt": m.prompt_tokens, "completion": m.completion_tokens,
                                    "of which reasoning": m.reasoning_tokens}),
            "tokens (tiktoken)": _set({"prompt": m.prompt_tokens_local, "completion": m.completion_tokens_local,
                                       "of which reasoning": m.reasoning_tokens_local, "exact": m.tokens_exact}),
            "thinking (s)": m.reasoning_duration,
            "time to first token (s)": m.ttft,
            "duration (s)": m.duration,
            "system_fingerprint": m.system_fingerprint,
            "created": m.created_at,
        }
        info = {k: v for k, v in info.items() if v not in (None, {}, "")}
        with VerticalScroll(classes="dialog wide"):
            yield Label(f"Message {m.id}")
            yield Static(Text(visible_controls(json.dumps(info, indent=2, ensure_ascii=False, default=str))), markup=False)
            yield Button("Close", id="close")

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)


class ConfirmScreen(_Modal):
    def __init__(self, question: str, yes: str = "Delete", no: str = "Cancel") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(visible_controls(self.question)), markup=False)
            with Horizontal(classes="buttons"):
                yield Button(self.yes, variant="error", id="yes")
                yield Button(self.no, id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # Enter right away must not delete

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class RenameScreen(_Modal):
    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("New title (Enter to save, Escape to cancel)")
            yield Input(self.title_text, id="title")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not value:
            self.notify("A title cannot be empty.", severity="warning")
            return
        self.dismiss(value)
