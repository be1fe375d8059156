"""Tool calls in the conversation: each call the model made (its name, its state, its arguments
as pretty JSON), a tool's result (plain text, the long part folded), and the inline question
that approves a call.

Everything here shows untrusted text: the tool's name and arguments come from the model, the
result from the tool. Names and results are `Text` with control characters made visible, never
markup; arguments go through `MarkdownView` (which makes control characters visible too) inside
a JSON code fence. Arguments stream through a `MarkdownFeeder`: an append costs O(new text).
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Collapsible, Static

from chat_tui.core.messages import ToolCall
from chat_tui.core.text import visible_controls
from chat_tui.core.tool_calls import ALWAYS, APPROVE, DENY, json_fence, pretty_arguments
from chat_tui.core.tools import ToolSpec
from chat_tui.ui.streaming import MarkdownFeeder
from chat_tui.ui.widgets.markdown_view import MarkdownView

PREVIEW_LINES = 8  # a longer result shows these, the rest folded
PREVIEW_CHARS = 1200

STATES = {  # state -> (shown, style)
    "": ("", ""),
    "streaming": ("…", "dim"),
    "waiting": ("waiting for approval", "bold yellow"),
    "running": ("running…", "bold yellow"),
    "done": ("done", "green"),
    "error": ("error", "bold red"),
    "declined": ("declined", "bold yellow"),
    "not run": ("not run", "dim"),
    "stopped": ("stopped", "bold yellow"),
}


def call_header(name: str, state: str) -> Text:
    text = Text("⚙ ", style="bold")
    text.append(visible_controls(name) or "(a tool)", style="bold")
    shown, style = STATES.get(state, (state, ""))
    if shown:
        text.append(f"  {shown}", style=style)
    return text


class ToolCallView(Vertical):
    """One call: a header (⚙ name · state) and its arguments. Made whole (a stored message) or
    empty and grown by `grow` as the call streams, then `settle`d with the whole call."""

    def __init__(self, name: str = "", arguments: str = "", *, call_id: str | None = None,
                 state: str = "", streaming: bool = False) -> None:
        super().__init__(classes="tool-call")
        self.call_id = call_id
        self.state = state
        self._name = name
        self._streaming = streaming
        self._arguments = [arguments]
        self._early: list[str] = []  # arguments that came before the view was mounted
        self._feeder: MarkdownFeeder | None = None

    @property
    def name_(self) -> str:
        return self._name

    @property
    def arguments(self) -> str:
        return "".join(self._arguments)

    def compose(self) -> ComposeResult:
        yield Static(call_header(self._name, self.state), classes="tool-call-header", markup=False)
        text = "```json\n" + self.arguments if self._streaming else json_fence(pretty_arguments(self.arguments))
        yield MarkdownView(text, classes="tool-args")

    def on_mount(self) -> None:
        if self._streaming:
            self._feeder = MarkdownFeeder(self.query_one(".tool-args", MarkdownView))
            for piece in self._early:
                self._feeder.write(piece)
            self._early.clear()

    def grow(self, name: str, arguments: str) -> None:
        """More of the call as it streams."""
        if name:
            self._name += name
            self._header()
        if arguments:
            self._arguments.append(arguments)
            if self._feeder is not None:
                self._feeder.write(arguments)
            else:
                self._early.append(arguments)

    def set_state(self, state: str) -> None:
        self.state = state
        self._header()

    def _header(self) -> None:
        if self.is_mounted:
            self.query_one(".tool-call-header", Static).update(call_header(self._name, self.state))

    async def settle(self, call: ToolCall, state: str = "") -> None:
        """The whole call: its id, and its arguments shown again as pretty JSON."""
        self.call_id = call.id
        self._name = call.name
        self._arguments = [call.arguments]
        self.state = state
        self._streaming = False
        if self._feeder is not None:
            await self._feeder.close()
            self._feeder = None
        if self.is_mounted:
            self._header()
            await self.query_one(".tool-args", MarkdownView).remove()
            await self.mount(MarkdownView(json_fence(pretty_arguments(call.arguments)), classes="tool-args"))


class ToolCalls(Vertical):
    """The calls of one assistant message, in order."""

    DEFAULT_CSS = """
    ToolCalls { height: auto; }
    """

    def views(self) -> list[ToolCallView]:
        return list(self.query(ToolCallView))


def result_parts(text: str) -> tuple[str, str]:
    """(shown, folded): a long result shows its first lines; the rest is folded away."""
    lines = text.split("\n")
    if len(lines) <= PREVIEW_LINES + 2 and len(text) <= PREVIEW_CHARS:
        return text, ""
    head = "\n".join(lines[:PREVIEW_LINES])
    if len(head) > PREVIEW_CHARS:
        head = head[:PREVIEW_CHARS]
    return head, text[len(head):].removeprefix("\n")


class ToolResult(Vertical):
    """A tool's result as it came, never interpreted: plain text with control characters made
    visible. A long one shows its first lines; the rest opens with Enter or a click."""

    DEFAULT_CSS = """
    ToolResult { height: auto; }
    ToolResult Collapsible { padding: 0; border-top: none; }
    ToolResult Collapsible Contents { padding: 0; }
    """

    def __init__(self, text: str, **kw) -> None:
        super().__init__(**kw)
        self.text = text

    def compose(self) -> ComposeResult:
        shown, folded = result_parts(self.text)
        yield Static(Text(visible_controls(shown)), classes="tool-result-text", markup=False)
        if folded:
            lines = folded.count("\n") + 1
            title = Content(f"{lines} more line{'s' if lines != 1 else ''}, {len(folded):,} characters")
            with Collapsible(title=title, collapsed=True, classes="tool-result-more"):
                yield Static(Text(visible_controls(folded)), classes="tool-result-text", markup=False)


class ToolApproval(Horizontal, can_focus=True):
    """Asks whether a call may run: y runs it, n declines it (the model is told), a runs it and
    every later call of this tool in the conversation; Escape stops the whole turn (the screen's
    stop). `decision` is set once."""

    BINDING_GROUP_TITLE = "Tool call"
    BINDINGS = [
        Binding("y", "decide('approve')", "Run", id="tools.approve"),
        Binding("n", "decide('deny')", "Decline", id="tools.deny"),
        Binding("a", "decide('always')", "Always", id="tools.always"),
    ]
    DEFAULT_CSS = """
    ToolApproval { height: auto; margin: 1 0 0 0; padding: 0 1; background: $warning-muted; }
    ToolApproval:focus { border-left: thick $warning; padding: 0 1 0 0; }
    ToolApproval .question { width: 1fr; height: auto; }
    ToolApproval Button { margin: 0 0 0 1; }
    """

    def __init__(self, call: ToolCall, spec: ToolSpec) -> None:
        super().__init__(classes="tool-approval")
        self.call = call
        self.spec = spec
        self.decision: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def compose(self) -> ComposeResult:
        question = Text("Run ")
        question.append(visible_controls(self.call.name), style="bold")
        if self.spec.source:
            question.append(f" ({visible_controls(self.spec.source)})", style="dim")
        question.append(" with the arguments above? (a: always in this conversation · Esc stops the turn)")
        yield Static(question, classes="question", markup=False)
        yield Button("Run", id="tool-approve", variant="success", compact=True)
        yield Button("Decline", id="tool-deny", variant="error", compact=True)
        yield Button("Always", id="tool-always", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_decide({"tool-approve": APPROVE, "tool-deny": DENY, "tool-always": ALWAYS}[event.button.id or ""])

    def action_decide(self, decision: str) -> None:
        if not self.decision.done():
            self.decision.set_result(decision)
