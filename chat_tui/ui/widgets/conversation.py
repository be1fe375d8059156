"""The conversation pane: one `MessageView` per message of the current thread.

Model output is untrusted: it is rendered as Markdown only after control characters are made
visible, never as Rich/Textual markup, and without live hyperlinks (see markdown_view.py).
Long conversations mount lazily: the newest messages first, older ones when asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message as TMessage
from textual.widgets import Button, Static

from chat_tui.core.text import visible_controls

if TYPE_CHECKING:
    from chat_tui.store.records import Message

INITIAL_MESSAGES = 40  # mounted when a conversation opens; older ones on demand
PAGE = 60

_FENCE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n(.*?)^\1[ \t]*$", re.M | re.S)


def code_blocks(markdown: str) -> list[str]:
    """The fenced code blocks of a Markdown text, without their fences."""
    return [m.group(2) for m in _FENCE.finditer(markdown)]


@dataclass(frozen=True)
class Branch:
    """Where a message sits among its siblings (answers to the same prompt, or edits)."""

    position: int  # 1-based
    count: int


def header_text(message: Message | None, role: str, *, model: str | None = None, branch: Branch | None = None, note: str = "") -> Text:
    """The line above a message: role, model, timing, status and branch position. Literal text."""
    text = Text()
    label = {"user": "you", "assistant": model or (message.model if message else None) or "assistant"}.get(role, role)
    if role == "tool" and message is not None and message.name:
        label = f"↳ {message.name} result"
    text.append(visible_controls(label), style="bold")
    if role == "tool" and message is not None and message.status == "error":
        from chat_tui.core.tool_calls import DECLINED

        declined = message.content == DECLINED
        text.append("  [declined]" if declined else "  [error]", style="bold yellow" if declined else "bold red")
    if message is not None and role == "assistant":
        bits = []
        if message.ttft is not None:
            bits.append(f"first token {message.ttft:.2f}s")
        if message.duration is not None:
            bits.append(f"{message.duration:.1f}s")
        tokens = message.completion_tokens if message.completion_tokens is not None else message.completion_tokens_local
        if tokens:
            approx = "" if message.completion_tokens is not None or message.tokens_exact else "~"
            bits.append(f"{approx}{tokens} tokens")
            if message.duration and message.ttft is not None and message.duration > message.ttft:
                bits.append(f"{tokens / (message.duration - message.ttft):.0f} tok/s")
        if message.finish_reason and message.finish_reason != "stop":
            bits.append(f"finish: {message.finish_reason}")
        if bits:
            text.append("  " + " · ".join(bits), style="dim")
        if message.status in ("cancelled", "error", "interrupted"):
            text.append(f"  [{message.status}]", style="bold red" if message.status == "error" else "bold yellow")
    if branch is not None and branch.count > 1:
        text.append(f"  ‹ {branch.position}/{branch.count} ›", style="italic")
    if note:
        text.append(f"  {note}", style="dim")
    return text


def _moderation_text(check: tuple[bool, str] | None) -> Text:
    if check is None:
        return Text()
    return Text(("⚑ moderation: " if check[0] else "✓ moderation: ") + visible_controls(check[1]))


class MessageView(Vertical, can_focus=True):
    """One message. Focus it (Tab or click) to act on it: copy, edit, switch branch, details."""

    BINDINGS = [
        Binding("c", "copy", "Copy", id="message.copy"),
        Binding("b", "copy_code", "Copy code", id="message.copy_code"),
        Binding("e", "edit", "Edit & resend", id="message.edit"),
        Binding("left,[", "sibling(-1)", "Prev branch", id="message.prev_branch"),
        Binding("right,]", "sibling(1)", "Next branch", id="message.next_branch"),
        Binding("i", "details", "Details", id="message.details"),
        Binding("p", "probabilities", "Probabilities", id="message.probabilities"),
        Binding("m", "moderate", "Check (moderation)", id="message.moderate"),
    ]

    class Action(TMessage):
        """Asks the screen to act on this message (it owns the store and the thread)."""

        def __init__(self, view: "MessageView", action: str, arg: int = 0) -> None:
            super().__init__()
            self.view = view
            self.action = action
            self.arg = arg

    def __init__(self, role: str, text: str = "", *, message: Message | None = None, model: str | None = None,
                 branch: Branch | None = None, attachments: list | None = None, images: list | None = None,
                 call_states: dict[str, str] | None = None) -> None:
        super().__init__(classes=f"message {role}")
        self.call_states = call_states or {}  # a stored call's state, by id: done, error, declined
        self.attachments = attachments or []  # (kind, label, file or bytes) per attachment
        self.images = images or []  # the files of the images this reply made (`/image`)
        self.role = role
        self.message = message
        self.model = model
        self.branch = branch
        self._parts = [text]  # appended to while streaming: joined on demand, not per token
        self._note = ""
        self.moderation: tuple[bool, str] | None = None  # (flagged, one-line summary) of the newest check
        if message is not None and message.status in ("error", "cancelled", "interrupted"):
            self.add_class(message.status)

    @property
    def message_id(self) -> int | None:
        return self.message.id if self.message else None

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0]

    def compose(self):
        yield Static(header_text(self.message, self.role, model=self.model, branch=self.branch), classes="header", markup=False)
        if self.role == "assistant":
            from chat_tui.ui.widgets.markdown_view import MarkdownView  # on first use: faster start-up

            yield MarkdownView(self.text, classes="body")
            calls = self.message.tool_calls if self.message is not None and self.message.tool_calls else ()
            if calls or self.message is None:  # stored calls, or a reply that may stream some
                from chat_tui.core.messages import ToolCall
                from chat_tui.ui.widgets.tool_calls import ToolCalls, ToolCallView

                with ToolCalls(classes="tool-calls"):
                    for c in (ToolCall.from_wire(c) for c in calls if isinstance(c, dict)):
                        yield ToolCallView(c.name, c.arguments, call_id=c.id, state=self.call_states.get(c.id, "not run"))
        elif self.role == "tool":
            from chat_tui.ui.widgets.tool_calls import ToolResult

            yield ToolResult(self.text, classes="body")
        else:
            yield Static(Text(visible_controls(self.text)), classes="body", markup=False)
        if self.attachments:
            from chat_tui.ui.widgets.attachments import MessageAttachments

            yield MessageAttachments(self.attachments)
        if self.images:
            from chat_tui.ui.widgets.image_view import ImageView

            for path in self.images:
                yield ImageView(path, max_height=16, classes="chat-image")
        line = Static(_moderation_text(self.moderation), classes="moderation", markup=False)
        line.display = self.moderation is not None
        line.set_class(bool(self.moderation and self.moderation[0]), "flagged")
        yield line

    def set_moderation(self, flagged: bool, summary: str) -> None:
        """The line under the message: its moderation check's categories and scores."""
        self.moderation = (flagged, summary)
        line = self.query_one(".moderation", Static)
        line.update(_moderation_text(self.moderation))
        line.set_class(flagged, "flagged")
        line.display = True

    @property
    def body(self):
        return self.query_one(".body")

    def refresh_header(self, note: str | None = None) -> None:
        if note is not None:
            self._note = note
        # One line, fixed height (see app.tcss): no re-layout of the screen for a header change.
        self.query_one(".header", Static).update(
            header_text(self.message, self.role, model=self.model, branch=self.branch, note=self._note), layout=False
        )

    def finish(self, message: Message | None, text: str) -> None:
        """After streaming: the stored row, for the header and the actions."""
        self.message = message
        self._parts = [text]
        for status in ("error", "cancelled", "interrupted"):
            self.set_class(bool(message and message.status == status), status)
        self.refresh_header("")

    def append_text(self, text: str) -> None:
        self._parts.append(text)

    def tool_calls(self) -> list:
        """The views of this message's tool calls (ToolCallView), in order."""
        from chat_tui.ui.widgets.tool_calls import ToolCallView

        return list(self.query(ToolCallView))

    def tool_delta(self, updates) -> None:
        """Calls as they stream (`CallUpdate`s): a new one gets its view, the others grow."""
        from chat_tui.ui.widgets.tool_calls import ToolCalls, ToolCallView

        box = self.query_one(ToolCalls)
        views = self.tool_calls()
        for update in updates:
            if update.position >= len(views):
                view = ToolCallView(update.name, update.arguments, state="streaming", streaming=True)
                box.mount(view)
                views.append(view)
            else:
                views[update.position].grow(update.name, update.arguments)

    async def settle_calls(self, message: Message | None) -> None:
        """After streaming: each call shown whole, as it was saved."""
        from chat_tui.core.messages import ToolCall

        calls = [ToolCall.from_wire(c) for c in (message.tool_calls or ()) if isinstance(c, dict)] if message else []
        views = self.tool_calls()
        for view, call in zip(views, calls):
            await view.settle(call, "" if message.status == "complete" else "not run")
        for view in views[len(calls):]:
            await view.settle(ToolCall(view.call_id or "", view.name_, view.arguments), "not run")

    def call_view(self, call_id: str):
        return next((v for v in self.tool_calls() if v.call_id == call_id), None)

    def action_copy(self) -> None:
        self.post_message(self.Action(self, "copy"))

    def action_copy_code(self) -> None:
        self.post_message(self.Action(self, "copy_code"))

    def action_edit(self) -> None:
        self.post_message(self.Action(self, "edit"))

    def action_sibling(self, step: int) -> None:
        self.post_message(self.Action(self, "sibling", step))

    def action_probabilities(self) -> None:
        self.post_message(self.Action(self, "probabilities"))

    def action_details(self) -> None:
        self.post_message(self.Action(self, "details"))

    def action_moderate(self) -> None:
        self.post_message(self.Action(self, "moderate"))



def call_states(thread) -> dict[str, str]:
    """Each answered call's state from its `tool` result: done, error or declined."""
    from chat_tui.core.tool_calls import DECLINED

    return {m.tool_call_id: ("declined" if m.content == DECLINED else "error" if m.status == "error" else "done")
            for m in thread if m.role == "tool" and m.tool_call_id}


class ConversationView(VerticalScroll):
    """The scrollable thread. Stays anchored to the bottom while streaming unless scrolled up."""

    class LoadEarlier(TMessage):
        pass

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._hidden: list[tuple[Message, Branch | None]] = []
        # Set by the screen: a message with parts as shown (its text, its attachments' chips).
        self.shown: Callable[[Message], tuple[str, list]] | None = None
        # Set by the screen: the files of the images a reply made (`/image`), by message id.
        self.images: dict[int, list] = {}
        # Set by the screen: the stored moderation checks of messages, {id: (flagged, summary)}.
        self.checks: Callable[[list[int]], dict[int, tuple[bool, str]]] | None = None
        # The state of each tool call of the thread shown, by call id (from its result).
        self.call_states: dict[str, str] = {}

    def view_of(self, m: Message, b: Branch | None, checks: dict[int, tuple[bool, str]] | None = None) -> MessageView:
        images = self.images.get(m.id)
        states = self.call_states if m.tool_calls else None
        if m.parts and self.shown is not None:
            text, chips = self.shown(m)
            view = MessageView(m.role, text, message=m, branch=b, attachments=chips, images=images, call_states=states)
        else:
            view = MessageView(m.role, m.content, message=m, branch=b, images=images, call_states=states)
        if checks is None and self.checks is not None:
            checks = self.checks([m.id])
        if checks and m.id in checks:
            view.moderation = checks[m.id]
        return view

    def _views_of(self, messages: list[tuple[Message, Branch | None]]) -> list[MessageView]:
        checks = self.checks([m.id for m, _ in messages]) if self.checks is not None and messages else {}
        return [self.view_of(m, b, checks) for m, b in messages]

    async def show_thread(self, messages: list[tuple[Message, Branch | None]]) -> None:
        """Replace the content with a thread (mounting only the newest messages)."""
        await self.remove_children()
        self.call_states = call_states(m for m, _ in messages)
        self._hidden = messages[:-INITIAL_MESSAGES] if len(messages) > INITIAL_MESSAGES else []
        shown = messages[len(self._hidden):]
        widgets = []
        if self._hidden:
            widgets.append(Button(f"Show {min(PAGE, len(self._hidden))} earlier messages", id="load-earlier", variant="default"))
        widgets += self._views_of(shown)
        if widgets:
            await self.mount_all(widgets)
        self.anchor()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "load-earlier":
            event.stop()
            await self.load_earlier()

    async def load_earlier(self) -> None:
        if not self._hidden:
            return
        page, self._hidden = self._hidden[-PAGE:], self._hidden[:-PAGE]
        button = self.query_one("#load-earlier", Button)
        views = self._views_of(page)
        await self.mount_all(views, after=button)
        if self._hidden:
            button.label = f"Show {min(PAGE, len(self._hidden))} earlier messages"
        else:
            await button.remove()

    async def reveal(self, message_id: int) -> None:
        """Mount earlier pages until the message is shown, then scroll to it."""
        while True:
            view = next((v for v in self.views() if v.message_id == message_id), None)
            if view is not None or not self._hidden:
                break
            await self.load_earlier()
        if view is not None:
            self.release_anchor()
            self.call_after_refresh(self.scroll_to_widget, view, top=True, animate=False)

    @property
    def hidden_count(self) -> int:
        return len(self._hidden)

    def views(self) -> list[MessageView]:
        return list(self.query(MessageView))
