"""The conversation pane: one `MessageView` per message of the current thread.

Model output is untrusted: it is rendered as Markdown only after control characters are made
visible, never as Rich/Textual markup, and without live hyperlinks (see markdown_view.py).
Long conversations mount lazily: the newest messages first, older ones when asked for.

Text is selected with Textual's selection (a mouse drag, or `v` on a focused message for the
keyboard: text_cursor.py); what a selection copies is each message's own text (the Markdown
source of an answer, see source_map.py), messages joined by a blank line, without the headers.

A reply asked for a JSON Schema (structured output) streams as raw JSON in a code block; once
it is finished it shows as a `StructuredAnswer` (the validation line and a JSON tree, see
json_tree.py) instead, and `j` switches between the tree and the raw text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.containers import ScrollableContainer, Vertical, VerticalScroll
from textual.geometry import Offset, Region
from textual.message import Message as TMessage
from textual.selection import Selection
from textual.widgets import Button, Static

from chat_tui.core.text import visible_controls
from chat_tui.ui.compat import one_layout_per_resize
from chat_tui.ui.text_cursor import CURSOR_STYLE, MESSAGE_GAP, TextCursor

if TYPE_CHECKING:
    from chat_tui.core.structured import Structured
    from chat_tui.store.records import Message
    from chat_tui.ui.widgets.json_tree import StructuredAnswer

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
            thought, thought_approx = message.reasoning_count
            # Reasoning is part of the completion tokens (server and local counts alike).
            of_which = f" ({'~' if thought_approx else ''}{thought} reasoning)" if thought else ""
            bits.append(f"{approx}{tokens} tokens{of_which}")
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


@one_layout_per_resize
class Caption(Static):
    """Text about a message (its header, its moderation line): not part of what is selected."""

    ALLOW_SELECT = False

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        return None  # a double or triple click selects a message with its captions: leave them out


class MessageText(Static):
    """A message shown as plain text (yours, a tool's), selectable like an answer."""

    def __init__(self, text: str, **kw) -> None:
        self.source = text
        self._shown = visible_controls(text)
        self._cursor: Offset | None = None
        super().__init__(Text(self._shown), markup=False, **kw)

    def _lines(self) -> list[str]:
        # Textual's selection offsets count in the lines shown; the source has the same lines
        # unless a control character became several visible ones.
        return self._shown.split("\n")

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        same = len(self._shown) == len(self.source)
        lines = (self.source if same else self._shown).split("\n")
        (sx, sy), (ex, ey) = selection.start or (0, 0), selection.end or (len(lines[-1]), len(lines) - 1)
        ey = min(ey, len(lines) - 1)
        if ey < sy:
            return None
        text = lines[sy][sx:ex] if sy == ey else "\n".join([lines[sy][sx:], *lines[sy + 1 : ey], lines[ey][:ex]])
        return text, MESSAGE_GAP

    def line_total(self) -> int:
        return len(self._lines())

    def line_text(self, y: int) -> str:
        lines = self._lines()
        return lines[y] if 0 <= y < len(lines) else ""

    def row_of(self, point: tuple[int, int]) -> int:
        """The row on screen (wrapped) of character x of line y."""
        x, y = point
        width = max(self.content_region.width, 1)
        lines = self._lines()
        return sum(max(1, -(-cell_len(line) // width)) for line in lines[:y]) + cell_len(lines[y][:x]) // width

    def set_cursor(self, cursor: Offset | None) -> None:
        if cursor != self._cursor:
            self._cursor = cursor
            self.refresh()

    def render(self):
        if self._cursor is None:
            return super().render()
        text = Text(self._shown)
        x, y = self._cursor
        at = sum(len(line) + 1 for line in self._lines()[:y]) + x
        text.stylize(CURSOR_STYLE, at, at + 1)
        return text

def raw_json_markdown(text: str, *, closed: bool) -> str:
    """A structured answer's raw text as a Markdown code block (its fence longer than any run of
    backticks in the text); `closed=False` while it streams, the text still to come."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}json\n{text}" + (f"\n{fence}\n" if closed else "")


def _moderation_text(check: tuple[bool, str] | None) -> Text:
    if check is None:
        return Text()
    return Text(("⚑ moderation: " if check[0] else "✓ moderation: ") + visible_controls(check[1]))


@one_layout_per_resize
class MessageView(Vertical, can_focus=True):
    """One message. Focus it (Tab or click) to act on it: copy, edit, switch branch, details."""

    BINDINGS = [
        Binding("c", "copy", "Copy", id="message.copy"),
        Binding("b", "copy_code", "Copy code", id="message.copy_code"),
        Binding("v", "select_mode", "Select text", id="message.select"),
        Binding("e", "edit", "Edit & resend", id="message.edit"),
        Binding("left,[", "sibling(-1)", "Prev branch", id="message.prev_branch"),
        Binding("right,]", "sibling(1)", "Next branch", id="message.next_branch"),
        Binding("i", "details", "Details", id="message.details"),
        Binding("p", "probabilities", "Probabilities", id="message.probabilities"),
        Binding("m", "moderate", "Check (moderation)", id="message.moderate"),
        # Select mode (v): only these, and v (mark where the selection starts), apply meanwhile.
        Binding("left,h", "select_move('left')", "Left", id="select.left", show=False),
        Binding("right,l", "select_move('right')", "Right", id="select.right", show=False),
        Binding("up,k", "select_move('up')", "Up", id="select.up", show=False),
        Binding("down,j", "select_move('down')", "Down", id="select.down", show=False),
        Binding("shift+left,H", "select_move('left', True)", "Extend left", id="select.extend_left", show=False),
        Binding("shift+right,L", "select_move('right', True)", "Extend right", id="select.extend_right", show=False),
        Binding("shift+up,K", "select_move('up', True)", "Extend up", id="select.extend_up", show=False),
        Binding("shift+down,J", "select_move('down', True)", "Extend down", id="select.extend_down", show=False),
        Binding("home,0", "select_move('line_start')", "Line start", id="select.line_start", show=False),
        Binding("end,dollar_sign", "select_move('line_end')", "Line end", id="select.line_end", show=False),
        Binding("w", "select_move('word_next')", "Next word", id="select.word_next", show=False),
        Binding("b", "select_move('word_prev')", "Previous word", id="select.word_prev", show=False),
        Binding("g", "select_move('top')", "Top", id="select.top", show=False),
        Binding("G", "select_move('bottom')", "Bottom", id="select.bottom", show=False),
        Binding("y,enter,ctrl+c", "select_copy", "Copy selection", id="select.copy"),
        Binding("escape", "select_leave", "Leave select mode", id="select.leave"),
        Binding("t", "toggle_thinking", "Thinking", id="message.thinking"),
        Binding("j", "toggle_json", "JSON tree / raw", id="message.toggle_json"),
    ]

    class Action(TMessage):
        """Asks the screen to act on this message (it owns the store and the thread)."""

        def __init__(self, view: "MessageView", action: str, arg: int = 0, text: str = "") -> None:
            super().__init__()
            self.view = view
            self.action = action
            self.arg = arg
            self.text = text  # copy_selection: what was selected

    def __init__(self, role: str, text: str = "", *, message: Message | None = None, model: str | None = None,
                 branch: Branch | None = None, attachments: list | None = None, images: list | None = None,
                 thinking_open: bool = False, structured: Structured | None = None,
                 call_states: dict[str, str] | None = None) -> None:
        super().__init__(classes=f"message {role}")
        self.thinking_open = thinking_open  # a stored reply's reasoning: shown, or folded away
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
        self._cursor: TextCursor | None = None  # select mode's cursor (v), None when not in it
        if message is not None and message.status in ("error", "cancelled", "interrupted"):
            self.add_class(message.status)
        # the schema the reply was asked for (structured output): given while streaming, else stored
        if structured is None and role == "assistant" and message is not None:
            # imported on use: a faster start-up
            from chat_tui.core.structured import structured_of

            structured = structured_of((message.params or {}).get("response_format"))
        self.structured = structured
        self.show_raw = False  # a structured answer: the raw text instead of the tree

    @property
    def message_id(self) -> int | None:
        return self.message.id if self.message else None

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0]

    def compose(self):
        yield Caption(header_text(self.message, self.role, model=self.model, branch=self.branch), classes="header", markup=False)
        if self.message is not None and self.message.reasoning:
            from chat_tui.ui.widgets.thinking import ThinkingBlock

            tokens, approx = self.message.reasoning_count
            yield ThinkingBlock(self.message.reasoning, seconds=self.message.reasoning_duration, tokens=tokens,
                                approx=approx, collapsed=not self.thinking_open)
        if self.role == "assistant":
            from chat_tui.ui.widgets.markdown_view import MarkdownView  # on first use: faster start-up

            if self.structured is None:
                yield MarkdownView(self.text, classes="body")
            else:
                finished = self._finished()
                if finished:
                    yield self._structured_answer()
                body = MarkdownView(raw_json_markdown(self.text, closed=finished), classes="body")
                body.display = not finished or self.show_raw
                yield body
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
            yield MessageText(self.text, classes="body")
        if self.attachments:
            from chat_tui.ui.widgets.attachments import MessageAttachments

            yield MessageAttachments(self.attachments)
        if self.images:
            from chat_tui.ui.widgets.image_view import ImageView

            for path in self.images:
                yield ImageView(path, max_height=16, classes="chat-image")
        line = Caption(_moderation_text(self.moderation), classes="moderation", markup=False)
        line.display = self.moderation is not None
        line.set_class(bool(self.moderation and self.moderation[0]), "flagged")
        yield line

    def _finished(self) -> bool:
        """A stored reply that is no longer streaming (and has text to check)."""
        return self.message is not None and self.message.status != "streaming" and bool(self.text)

    def _structured_answer(self) -> StructuredAnswer:
        from chat_tui.ui.widgets.json_tree import StructuredAnswer

        answer = StructuredAnswer(self.text, self.structured, classes="structured")
        answer.show_tree(not self.show_raw)
        return answer

    @property
    def structured_answer(self) -> StructuredAnswer | None:
        from chat_tui.ui.widgets.json_tree import StructuredAnswer

        return next(iter(self.query(StructuredAnswer)), None)

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

    @property
    def thinking(self):
        """The reasoning block (a `ThinkingBlock`), or None when the reply has none."""
        from chat_tui.ui.widgets.thinking import ThinkingBlock

        return next(iter(self.query(ThinkingBlock)), None)

    async def begin_thinking(self, *, collapsed: bool):
        """Reasoning has started streaming: a block for it above the answer."""
        from chat_tui.ui.widgets.thinking import ThinkingBlock

        block = self.thinking
        if block is None:
            block = ThinkingBlock(live=True, collapsed=collapsed)
            await self.mount(block, before=self.body)
            self.refresh_bindings()
        return block

    def refresh_header(self, note: str | None = None) -> None:
        if note is not None:
            self._note = note
        # One line, fixed height (see app.tcss): no re-layout of the screen for a header change.
        self.query_one(".header", Static).update(
            header_text(self.message, self.role, model=self.model, branch=self.branch, note=self._note), layout=False
        )

    def finish(self, message: Message | None, text: str) -> None:
        """After streaming: the stored row, for the header, the thinking block and the actions."""
        self.message = message
        self._parts = [text]
        for status in ("error", "cancelled", "interrupted"):
            self.set_class(bool(message and message.status == status), status)
        self.refresh_header("")
        if (block := self.thinking) is not None:
            if message is not None:
                tokens, approx = message.reasoning_count
                block.set_stats(message.reasoning_duration, tokens, approx=approx)
            else:
                block.set_stats(block.seconds, block.tokens, approx=block.approx)
        if self.structured is not None and text and self.structured_answer is None and self.is_mounted:
            # streamed as raw JSON; now its validation and the tree take its place
            self.body.display = self.show_raw
            self.mount(self._structured_answer(), before=self.body)

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

    # -- select mode: a cursor in the text, moved and extended by keys ---------------------------

    @property
    def selecting(self) -> bool:
        return self._cursor is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # In select mode only its keys (and v) apply, so arrows, b and Escape mean what it says.
        if action == "select_mode":
            return True
        if action.startswith("select_") != self.selecting:
            return False
        if action == "toggle_thinking":
            return self.thinking is not None  # offered on replies that thought aloud only
        return True

    def action_select_mode(self) -> None:
        """v: enter select mode with a cursor at the first line in view; v again marks where the
        selection starts (or drops it)."""
        if self._cursor is not None:
            self._cursor.mark()
            self._show_cursor()
            return
        body = self.body
        if not hasattr(body, "line_text"):
            return
        self._cursor = TextCursor(body.line_total, body.line_text, (0, self._first_line_in_view(body)))
        self.add_class("-selecting")
        self.refresh_bindings()
        self._show_cursor()
        self.notify("Select mode: move with the arrows or h j k l, v marks, Shift extends, y copies, Escape leaves.",
                    timeout=4)

    def action_select_move(self, how: str, extend: bool = False) -> None:
        if self._cursor is not None:
            self._cursor.move(how, extend=extend)
            self._show_cursor()

    def action_select_copy(self) -> None:
        cursor = self._cursor
        if cursor is None:
            return
        span = cursor.selection()
        if span is None:
            self.notify("Nothing selected yet: press v where it starts (or hold Shift), then move.",
                        severity="warning", timeout=3)
            return
        found = self.body.get_selection(Selection(Offset(*span[0]), Offset(*span[1])))
        self.leave_select_mode()
        self.post_message(self.Action(self, "copy_selection", text=found[0] if found else ""))

    def action_select_leave(self) -> None:
        self.leave_select_mode()

    def leave_select_mode(self) -> None:
        if self._cursor is None:
            return
        self._cursor = None
        body = self.body
        body.set_cursor(None)
        if body in self.screen.selections:
            self.screen.clear_selection()
        self.remove_class("-selecting")
        self.refresh_bindings()

    def on_blur(self, event: events.Blur) -> None:
        self.leave_select_mode()

    def _show_cursor(self) -> None:
        """Draw the cursor and the selection (as the screen's, so ctrl+c and a later mouse
        selection treat it as any other), and keep the cursor in view."""
        cursor, body = self._cursor, self.body
        if cursor is None:
            return
        body.set_cursor(Offset(*cursor.point))
        span = cursor.selection()
        self.screen.selections = {body: Selection(Offset(*span[0]), Offset(*span[1]))} if span else {}
        container = next((a for a in self.ancestors if isinstance(a, ScrollableContainer)), None)
        if container is not None and body.region:
            row = body.row_of(cursor.point) if hasattr(body, "row_of") else cursor.y
            top = body.region.y - container.content_region.y + int(container.scroll_y)
            container.scroll_to_region(Region(0, top + row, 1, 1), animate=False, immediate=True)

    @staticmethod
    def _first_line_in_view(body) -> int:
        container = next((a for a in body.ancestors if isinstance(a, ScrollableContainer)), None)
        if container is None or not body.region:
            return 0
        hidden = container.content_region.y - body.region.y  # rows of the body above the view
        if hidden <= 0:
            return 0
        if hasattr(body, "row_of"):  # wrapped plain text: the line holding that row
            y = 0
            while y + 1 < body.line_total() and body.row_of((0, y + 1)) <= hidden:
                y += 1
            return y
        return min(hidden, max(body.line_total() - 1, 0))

    def action_toggle_thinking(self) -> None:
        if (block := self.thinking) is not None:
            block.toggle()


    def action_toggle_json(self) -> None:
        """A structured answer: the JSON tree or the raw text as it came (the validation line stays)."""
        answer = self.structured_answer
        if answer is None:
            self.notify("This answer has no JSON tree: it was not asked for a schema (F3: response format).",
                        severity="warning", timeout=4)
            return
        self.show_raw = not self.show_raw
        answer.show_tree(not self.show_raw)
        self.body.display = self.show_raw
        if self.show_raw:
            self.focus()  # the tree, which may have had the focus, is hidden



def call_states(thread) -> dict[str, str]:
    """Each answered call's state from its `tool` result: done, error or declined."""
    from chat_tui.core.tool_calls import DECLINED

    return {m.tool_call_id: ("declined" if m.content == DECLINED else "error" if m.status == "error" else "done")
            for m in thread if m.role == "tool" and m.tool_call_id}


@one_layout_per_resize
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
        # Set by the screen (config `thinking = "open"`): stored replies show their reasoning.
        self.thinking_open = False
        # The state of each tool call of the thread shown, by call id (from its result).
        self.call_states: dict[str, str] = {}

    def mount(self, *widgets: Any, **kw: Any) -> Any:
        """Mount messages, their styles read first: the app reads them when first needed, not
        before the first frame (ChatApp.load_messages_css)."""
        load = getattr(self.app, "load_messages_css", None)
        if load is not None:
            load()
        return super().mount(*widgets, **kw)

    def view_of(self, m: Message, b: Branch | None, checks: dict[int, tuple[bool, str]] | None = None) -> MessageView:
        images = self.images.get(m.id)
        states = self.call_states if m.tool_calls else None
        if m.parts and self.shown is not None:
            text, chips = self.shown(m)
            view = MessageView(m.role, text, message=m, branch=b, attachments=chips, images=images,
                               thinking_open=self.thinking_open, call_states=states)
        else:
            view = MessageView(m.role, m.content, message=m, branch=b, images=images, thinking_open=self.thinking_open,
                               call_states=states)
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
