"""Small modal screens: pick a code block, message details, confirm, rename, open a conversation."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message as Message_
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
            "usage (server)": {"prompt": m.prompt_tokens, "completion": m.completion_tokens},
            "tokens (tiktoken)": {"prompt": m.prompt_tokens_local, "completion": m.completion_tokens_local, "exact": m.tokens_exact},
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
    def __init__(self, question: str, yes: str = "Delete") -> None:
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(visible_controls(self.question)), markup=False)
            with Horizontal(classes="buttons"):
                yield Button(self.yes, variant="error", id="yes")
                yield Button("Cancel", id="no")

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


class ConversationsScreen(_Modal):
    """Switch conversation: newest first, type to filter by title."""

    BINDINGS = [
        Binding("escape", "dismiss_none", "Close", id="conversations.close"),
        Binding("delete", "delete", "Delete", id="conversations.delete"),
    ]

    class Deleted(Message_):
        def __init__(self, conversation_id: int) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    def __init__(self, store: Any, limit: int = 500) -> None:
        super().__init__()
        self.store = store
        self.limit = limit
        self.rows: list[Any] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Conversations (Enter opens, Delete deletes, Escape closes)")
            yield Input(placeholder="filter by title…", id="filter")
            yield OptionList(id="conversations")

    def on_mount(self) -> None:
        self.rows = self.store.list_conversations(limit=self.limit)
        self._fill("")
        self.query_one("#filter", Input).focus()

    def _fill(self, needle: str) -> None:
        needle = needle.lower()
        options = []
        for r in self.rows:
            title = r.title or r.preview or "(untitled)"
            if needle and needle not in title.lower():
                continue
            label = Text(f"{visible_controls(title)[:60]:<60} ", no_wrap=True)
            label.append(f"{(r.model or '-')[:24]:<24} {r.message_count:>4} msgs  {str(r.updated_at)[:16].replace('T', ' ')}", style="dim")
            options.append(Option(label, id=str(r.id)))
        listing = self.query_one("#conversations", OptionList)
        listing.clear_options()
        listing.add_options(options)
        if options:
            listing.highlighted = 0

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#filter")
    def _enter(self) -> None:
        listing = self.query_one("#conversations", OptionList)
        if listing.highlighted is not None:
            self.dismiss(int(listing.get_option_at_index(listing.highlighted).id))

    def on_key(self, event) -> None:
        field = self.query_one("#filter", Input)
        if event.key in ("down", "up") and self.focused is field:
            self.query_one("#conversations", OptionList).focus()
        elif (
            self.focused is field
            and any(b.action == "delete" for b in self._bindings.key_to_bindings.get(event.key, ()))
            and field.selection.is_empty
            and field.cursor_position >= len(field.value)
        ):
            # The filter has focus when the list opens, and its own Delete would do nothing here:
            # the key deletes the highlighted conversation, as the label says.
            event.stop()
            event.prevent_default()
            self.action_delete()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id))

    def action_delete(self) -> None:
        listing = self.query_one("#conversations", OptionList)
        if listing.highlighted is None:
            return
        cid = int(listing.get_option_at_index(listing.highlighted).id)
        row = next(r for r in self.rows if r.id == cid)

        def delete(ok: bool | None) -> None:
            if ok:
                self.store.delete_conversation(cid)
                self.rows = [r for r in self.rows if r.id != cid]
                self._fill(self.query_one("#filter", Input).value)
                self.notify("Conversation deleted.", timeout=2)
                self.post_message(self.Deleted(cid))

        question = f"Delete “{row.title or '(untitled)'}” and its {row.message_count} messages?"
        self.app.push_screen(ConfirmScreen(question), delete)
