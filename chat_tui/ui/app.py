"""The Textual app. Minimal for now: one conversation, a prompt, streamed Markdown answers."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Markdown, Static, TextArea

from chat_tui.api.client import OpenAIClient
from chat_tui.api.events import StreamEvent, TextDelta, Timing
from chat_tui.core.config import Config, Endpoint
from chat_tui.core.messages import ChatMessage
from chat_tui.core.params import ChatParams
from chat_tui.core.paths import Paths
from chat_tui.core.text import visible_controls
from chat_tui.replies import run_reply
from chat_tui.store import Store

STREAM_WRITE_INTERVAL = 1 / 30  # at most ~30 Markdown updates a second


class PromptInput(TextArea):
    """Multi-line prompt: Enter sends, Ctrl+J (or Shift+Enter where the terminal reports it) adds a line."""

    BINDINGS = [
        Binding("enter", "submit", "Send", id="prompt.send", priority=True),
        Binding("ctrl+j,shift+enter", "newline", "New line", id="prompt.newline", show=False, priority=True),
    ]

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def action_submit(self) -> None:
        text = self.text
        if text.strip():
            self.post_message(self.Submitted(text))

    def action_newline(self) -> None:
        self.insert("\n")


class MessageView(Static):
    """One message: a role line and the text as Markdown (model output is untrusted text)."""

    DEFAULT_CSS = ""

    def __init__(self, role: str, text: str = "", *, label: str | None = None) -> None:
        super().__init__(classes=role)
        self.role = role
        self._label = label or role
        self._initial = text

    def compose(self) -> ComposeResult:
        yield Static(visible_controls(self._label), classes="role", markup=False)
        yield Markdown(visible_controls(self._initial), classes="body")

    @property
    def body(self) -> Markdown:
        return self.query_one(".body", Markdown)

    def set_label(self, label: str) -> None:
        self.query_one(".role", Static).update(visible_controls(label))


class ChatApp(App[int]):
    TITLE = "chat-tui"
    CSS_PATH = "styles/app.tcss"
    BINDINGS = [
        Binding("escape", "stop", "Stop", id="app.stop"),
        Binding("ctrl+n", "new_conversation", "New chat", id="app.new"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
    ]

    def __init__(
        self,
        endpoint: Endpoint,
        store: Store,
        *,
        client: OpenAIClient | None = None,
        paths: Paths | None = None,
        config: Config | None = None,
        model: str | None = None,
        counter: Any = None,
    ) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.store = store
        self.client = client
        self.paths = paths
        self.config = config or Config()
        self.model = model or endpoint.default_model or ""
        self.params = ChatParams()
        self.counter = counter
        self.conversation_id: int | None = None
        self.leaf_id: int | None = None
        self._local: Any = None
        self._client_ready = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield Static("", id="status-line", markup=False)
        yield VerticalScroll(id="conversation")
        yield PromptInput(id="prompt", soft_wrap=True, show_line_numbers=False, compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#prompt", PromptInput).focus()
        self._update_status()
        if self.client is not None:
            self._client_ready.set()
        else:
            self.connect()

    def _update_status(self, extra: str = "") -> None:
        model = self.model or "(no model)"
        line = f"{model} · {self.endpoint.name}"
        if extra:
            line += f" · {extra}"
        self.query_one("#status-line", Static).update(visible_controls(line))

    @work(thread=True, exclusive=True, group="connect", exit_on_error=False)
    def connect(self) -> None:
        """Start the local server if needed (after the first frame), then build the client."""
        endpoint = self.endpoint
        if endpoint.type == "local" and not endpoint.base_url:
            from chat_tui.api.local_server import LocalServer, LocalServerError

            self.call_from_thread(self._update_status, "starting local model…")
            try:
                log = self.paths.log_dir / "llama-server.log" if self.paths else None
                if log:
                    log.parent.mkdir(parents=True, exist_ok=True)
                self._local = LocalServer(endpoint.gguf, log_file=log)
                url = self._local.start(progress=lambda msg: self.call_from_thread(self._update_status, msg))
            except LocalServerError as exc:
                self.call_from_thread(self.notify, str(exc), title="Local model", severity="error", timeout=20)
                return
            endpoint = replace(endpoint, base_url=url, default_model=endpoint.default_model or self._local.model)
            self.endpoint = endpoint
            if not self.model:
                self.model = self._local.model
        self.client = OpenAIClient(endpoint)
        self.call_from_thread(self._connected)

    def _connected(self) -> None:
        self._update_status()
        self._client_ready.set()

    @on(PromptInput.Submitted)
    def send_prompt(self, event: PromptInput.Submitted) -> None:
        if self.workers and any(w.group == "reply" and w.is_running for w in self.workers):
            self.notify("Still answering: press Escape to stop it first.", severity="warning")
            return
        self.stream_reply(event.text)

    def _history(self) -> list[ChatMessage]:
        if self.conversation_id is None or self.leaf_id is None:
            return []
        thread = self.store.thread(self.conversation_id, self.leaf_id)
        return [ChatMessage(m.role, m.content, m.name) for m in thread if m.content]

    @work(exclusive=True, group="reply", exit_on_error=False)
    async def stream_reply(self, prompt: str) -> None:
        await self._client_ready.wait()
        assert self.client is not None
        if not self.model:
            models = await self.client.list_models()
            if not models:
                self.notify("No model selected and the server lists none.", severity="error")
                return
            self.model = models[0].id
            self._update_status()
        prompt_box = self.query_one("#prompt", PromptInput)
        if self.conversation_id is None:
            title = " ".join(prompt.split())[:60]
            self.conversation_id = self.store.create_conversation(
                title=title, model=self.model, params=self.params.as_dict(), endpoint=self.endpoint.name
            )
        messages = self._history() + [ChatMessage("user", prompt)]
        user_id = self.store.add_message(self.conversation_id, "user", prompt, parent_id=self.leaf_id)
        self.leaf_id = user_id
        prompt_box.clear()
        conversation = self.query_one("#conversation", VerticalScroll)
        await conversation.mount(MessageView("user", prompt, label="you"))
        view = MessageView("assistant", label=f"{self.model}")
        await conversation.mount(view)
        conversation.anchor()
        stream = Markdown.get_stream(view.body)
        pending: list[str] = []
        last_write = 0.0

        async def flush() -> None:
            nonlocal last_write
            if pending:
                text = visible_controls("".join(pending))
                pending.clear()
                await stream.write(text)
            last_write = time.monotonic()

        queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue()

        def on_event(ev: StreamEvent) -> None:
            queue.put_nowait(ev)

        async def pump() -> None:
            while (ev := await queue.get()) is not None:
                if isinstance(ev, TextDelta) and ev.index == 0:
                    pending.append(ev.text)
                    if time.monotonic() - last_write >= STREAM_WRITE_INTERVAL:
                        await flush()
                elif isinstance(ev, Timing):
                    tps = f" · {ev.tokens_per_second:.0f} tok/s" if ev.tokens_per_second else ""
                    ttft = f"first token {ev.ttft:.2f}s · " if ev.ttft is not None else ""
                    view.set_label(f"{self.model} · {ttft}{ev.total:.1f}s{tps}")

        pumper = asyncio.create_task(pump())
        try:
            result = await run_reply(
                self.client, self.store, self.counter,
                conversation_id=self.conversation_id, parent_id=user_id, messages=messages,
                model=self.model, params=self.params, endpoint_name=self.endpoint.name, on_event=on_event,
            )
        except asyncio.CancelledError:
            queue.put_nowait(None)
            await pumper
            await flush()
            await stream.stop()
            view.set_label(f"{self.model} · stopped")
            raise
        queue.put_nowait(None)
        await pumper
        await flush()
        await stream.stop()
        self.leaf_id = result.message_id
        if result.status == "error":
            view.add_class("error")
            view.set_label(f"{self.model} · error")
            self.notify(str(result.error), title="Request failed", severity="error", timeout=10)
            if not result.text:
                prompt_box.text = prompt  # nothing came back: give the prompt back to edit and resend

    def action_stop(self) -> None:
        self.workers.cancel_group(self, "reply")

    def action_new_conversation(self) -> None:
        self.workers.cancel_group(self, "reply")
        self.conversation_id = None
        self.leaf_id = None
        self.query_one("#conversation", VerticalScroll).remove_children()
        self.query_one("#prompt", PromptInput).focus()

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    def shutdown(self) -> None:
        """Stop the local model server, if one was started (also called after a crash)."""
        if self._local is not None:
            self._local.stop()
            self._local = None
