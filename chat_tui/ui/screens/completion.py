"""Completion mode (F6): a document editor over the legacy completions endpoint.

The text before the cursor is the prompt and the text after it the suffix (insert mode). Ctrl+G
generates at the cursor: the completion streams in there, underlined (coloured by probability
when logprobs is set), and the document is read-only until the round is accepted (ctrl+Y),
rejected (Escape) or regenerated (ctrl+R). Ctrl+Z after an accept takes the round out again.
With n > 1 or best_of the choices appear side by side (the compare lanes): Enter or 1-4 picks
one, which is put in at the cursor to accept or reject. Ctrl+L shows every token's probability
and alternatives (with echo, the prompt's tokens first: a perplexity view of your own text).

The screen maps keys to widgets and calls `services.completions`; the round runs as a worker.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, Static, TextArea

from chat_tui.core.params import CompletionParams
from chat_tui.core.text import visible_controls
from chat_tui.ui.widgets.completion_params import CompletionParamsPane
from chat_tui.ui.widgets.document_area import DocumentArea
from chat_tui.ui.widgets.probability import alternatives_text, token_items

HEADER_REFRESH = 0.25


class CompletionScreen(Screen[None]):
    CSS_PATH = ["../styles/completion.tcss", "../styles/compare.tcss"]
    BINDINGS = [
        Binding("ctrl+g", "generate", "Generate", id="completion.generate", priority=True),
        Binding("ctrl+y", "accept", "Accept", id="completion.accept", priority=True),
        Binding("ctrl+r", "regenerate", "Regenerate", id="completion.regenerate", priority=True),
        # priority: an indenting TextArea takes Escape to leave focus
        Binding("escape", "escape", "Stop/Reject/Close", id="completion.escape", priority=True),
        Binding("ctrl+l", "probabilities", "Probabilities", id="completion.probabilities", priority=True),
        Binding("f6", "close", "Chat", id="completion.close", priority=True),
        *[Binding(str(k), f"pick({k - 1})", f"Pick {k}", id=f"completion.pick_{k}", show=False) for k in range(1, 5)],
    ]

    def __init__(self, document_id: int | None = None) -> None:
        super().__init__()
        self.document_id = document_id
        self.params = CompletionParams()
        self.model = ""
        self.text = ""
        self.state = "editing"  # editing | generating | choosing | pending
        self.mode_note = "new document"
        self.error: str | None = None
        self.round: Any = None  # the last RoundResult
        self.prompt_tokens: list[Any] = []
        self.answer_tokens: list[Any] = []
        self.choice_index = 0
        self.accepted: list[tuple[int | None, str, tuple[int, int]]] = []  # (message id, text before, cursor) per accept
        self._last_request: tuple[str, tuple[int, int]] | None = None
        self._columns: list[Any] = []

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        app = self.app
        if self.document_id is not None:
            from chat_tui.services.completions import load_document

            doc = load_document(app.store, self.document_id)
            if doc is not None:
                self.text, self.params = doc.text, doc.params
                self.model = doc.model or ""
                self.mode_note = f"{doc.title or 'untitled'} · {doc.rounds} round{'s' * (doc.rounds != 1)}"
            else:
                self.document_id = None
        self.model = self.model or app.model
        yield Static("", id="completion-header", markup=False)
        with Horizontal(id="completion-body"):
            with Vertical(id="completion-main"):
                with Horizontal(id="completion-model-row"):
                    yield Static("model ", classes="field-label", markup=False)
                    yield Input(self.model, placeholder="any model id", id="completion-model", compact=True,
                                suggester=SuggestFromList(self._models(), case_sensitive=False))
                yield DocumentArea(self.text, id="document")
                yield Horizontal(id="choices")
                yield Static("", id="completion-status", markup=False)
            with Vertical(id="completion-side"):
                yield CompletionParamsPane(self.params, model=self.model, counter=app.counter)
                yield Static("", id="token-info", markup=False)
        yield Footer()

    def _models(self) -> list[str]:
        from chat_tui.services.completions import completion_models

        models, self._filtered = completion_models(getattr(self.app, "model_entries", []))
        return models

    _filtered = False

    def on_mount(self) -> None:
        self.query_one("#choices").display = False
        area = self.query_one(DocumentArea)
        area.focus()
        area.move_cursor(area.document.end)
        self._ticker = self.set_interval(HEADER_REFRESH, self._tick, pause=True)
        self.update_header()
        self.find_support()

    support: Any = None  # what the endpoint can do (services/completion_support.py), once known

    @work(exclusive=True, group="completion-support", exit_on_error=False)
    async def find_support(self) -> None:
        """Ask the endpoint what it does with `suffix` and `echo` (llama.cpp: its FIM tokens)."""
        from chat_tui.api.errors import APIError
        from chat_tui.services.completion_support import completion_support

        app = self.app
        if not app.client_ready or app.client is None:
            await app.ready_event.wait()
        try:
            self.support = await completion_support(app.client, self.model)
        except APIError:
            self.support = None
        self.update_header()

    # -- header and status ----------------------------------------------------------------------

    def update_header(self) -> None:
        area = self.query_one(DocumentArea)
        row, col = area.cursor_location
        offset = area.document.get_index_from_location((row, col))
        after = len(area.text) - offset
        support = self.support
        if not after:
            insert = "appending at the end"
        elif support is not None and support.insert.kind == "none":
            insert = f"insert mode unavailable: {support.insert.note}"
        elif support is not None and support.insert.kind == "fim":
            insert = f"insert mode: {after:,} characters after the cursor, sent with the model's fill-in-the-middle tokens"
        else:
            insert = f"insert mode: {after:,} characters after the cursor are the suffix"
        if self.params.echo and support is not None and not support.echo:
            insert += f" · {support.echo_note}"
        models = " · completion-capable models listed (the endpoint says which)" if self._filtered else ""
        title = Text()
        title.append("Completion", style="bold")
        title.append(f"  ·  {self.model or 'no model'} · {insert} · {visible_controls(self.mode_note)}{models}")
        self.query_one("#completion-header", Static).update(title)
        self.query_one("#completion-status", Static).update(self._status_text())

    def _status_text(self) -> Text:
        keys = {
            "editing": "ctrl+g generate at the cursor · ctrl+z undo · F6 back to chat",
            "generating": "streaming… Escape stops (the text so far is kept to accept or reject)",
            "choosing": "pick a choice: 1-4 or ←/→ and Enter · Escape rejects them all",
            "pending": "ctrl+y accept · Escape reject · ctrl+r regenerate · ctrl+l probabilities",
        }[self.state]
        text = Text(keys, style="dim")
        if self.error:
            text = Text(visible_controls(self.error), style="bold red") + Text("  ·  ") + text
        return text

    def _tick(self) -> None:
        for col in self._columns:
            col.refresh_header()

    @on(TextArea.SelectionChanged, "#document")
    def _cursor_moved(self, event: TextArea.SelectionChanged) -> None:
        area = self.query_one(DocumentArea)
        item = area.token_at_cursor()
        info = self.query_one("#token-info", Static)
        if item is not None:
            info.update(alternatives_text(item, area._palette()))
        elif self.state == "editing":
            info.update("")
        if self.state == "editing":
            self.update_header()

    @on(CompletionParamsPane.Changed)
    def _params_changed(self, event: CompletionParamsPane.Changed) -> None:
        self.params = event.params
        self.update_header()

    @on(Input.Changed, "#completion-model")
    def _model_changed(self, event: Input.Changed) -> None:
        self.model = event.value.strip()
        self.query_one(CompletionParamsPane).set_model(self.model)
        self.update_header()
        if self.is_mounted:
            self.find_support()  # exclusive: a newer model's probe replaces an older one

    # -- a round --------------------------------------------------------------------------------

    def action_generate(self) -> None:
        if self.state != "editing":
            self.notify("Accept or reject this round first (ctrl+y / Escape).", severity="warning", timeout=4)
            return
        from chat_tui.services.completions import check

        if not self.model:
            self.notify("Type a model id first (e.g. gpt-3.5-turbo-instruct).", severity="error", markup=False)
            return
        problem = check(self.params)
        if problem:
            self.notify(problem, title="Parameters", severity="error", markup=False)
            return
        if not self.app.client_ready or self.app.client is None:
            self.notify("Not connected yet.", severity="warning", timeout=4)
            return
        area = self.query_one(DocumentArea)
        self._last_request = (area.text, area.cursor_location)
        self._start(area.text, area.cursor_location)

    def _start(self, text: str, cursor: tuple[int, int]) -> None:
        area = self.query_one(DocumentArea)
        self.error = None
        self.prompt_tokens, self.answer_tokens = [], []
        self.choice_index = 0
        area.move_cursor(cursor)
        offset = area.document.get_index_from_location(cursor)
        n = self.params.n or 1
        self.state = "generating"
        self.update_header()
        if n > 1:  # the lanes are mounted first, then the request goes out (no event is lost)
            self.call_later(self._show_lanes, n, text, offset)
        else:
            area.begin()
            self.run_round(text, offset)

    async def _show_lanes(self, n: int, text: str, offset: int) -> None:
        from chat_tui.core.compare import Lane
        from chat_tui.ui.widgets.lanes import LaneColumn

        box = self.query_one("#choices", Horizontal)
        await box.remove_children()
        lane = Lane(self.model, label="")
        self._columns = [LaneColumn(i, replace(lane, label=f"choice {i + 1}"), counter=self.app.counter,
                                    shared_request=True, choice=i) for i in range(n)]
        await box.mount_all(self._columns)
        box.display = True
        self.query_one(DocumentArea).display = False
        for col in self._columns:
            await col.begin(started=time.monotonic())
        self._columns[0].focus()
        self._ticker.resume()
        self.run_round(text, offset)

    def _on_event(self, event: Any) -> None:
        from chat_tui.api.events import LogprobsDelta, TextDelta

        if self._columns:
            for col in self._columns:
                col.on_stream_event(event)
            return
        area = self.query_one(DocumentArea)
        if isinstance(event, TextDelta) and event.index == 0:
            area.write(event.text)
        elif isinstance(event, LogprobsDelta) and event.index == 0:
            items = token_items(event.content)
            self.answer_tokens.extend(items)
            area.add_tokens(items)

    @work(exclusive=True, group="completion", exit_on_error=False)
    async def run_round(self, text: str, cursor: int) -> None:
        from chat_tui.services.completions import explain_error, run_round

        app = self.app

        def started(document_id: int) -> None:
            self.document_id = document_id

        try:
            result = await run_round(
                app.client, app.store, app.counter, document_id=self.document_id, text=text, cursor=cursor,
                model=self.model, params=self.params, endpoint_name=app.endpoint.name, on_event=self._on_event,
                on_document=started, wait_for_tokenizer=False,
                insert=self.support.insert if self.support is not None else None,
                max_tokens_default=16 if self.support is not None and self.support.llamacpp else None)
        except Exception as exc:  # noqa: BLE001 - the database refused the round: nothing was sent
            from chat_tui.core.text import error_text

            await self._ended(None, f"Not sent: {error_text(exc)}")
            return
        self.round = result
        self.prompt_tokens = token_items(result.prompt_tokens)
        error = explain_error(result.reply.error, self.model) if result.reply.error is not None else None
        if result.reply.unsaved:
            self.notify(f"Not saved yet: {result.reply.unsaved}", severity="warning", markup=False)
        await self._ended(result, error)

    async def _ended(self, result: Any, error: str | None) -> None:
        area = self.query_one(DocumentArea)
        self.error = error
        if self._columns:
            for col in self._columns:
                status = result.reply.status if result else "error"
                choice = result.reply.choices.get(col.choice) if result else None
                await col.finish(status, error=error, message_id=choice.message_id if choice else None, result=result.reply if result else None)
                col.show_scroll_bar()
            self._ticker.pause()
            texts = [col.text for col in self._columns]
            self.state = "choosing" if any(texts) else "editing"
            if not any(texts):
                self._close_lanes()
        else:
            if not area.generating:
                area.begin()
            if result is not None and not self.answer_tokens:  # fetched whole (best_of): no stream events
                for i, t in enumerate(result.reply.choices[0].logprobs if 0 in result.reply.choices else []):
                    self.answer_tokens.append(token_items([t])[0])
                area.add_tokens(self.answer_tokens)
            if result is not None and area.generated_text == "" and 0 in result.reply.choices:
                area.write(result.reply.choices[0].text)  # best_of: the answer came whole
            area.stop_streaming()
            self.state = "pending" if area.generated_text else "editing"
            if not area.generated_text:
                area.discard()
        if error:
            self.notify(error, title="Completion", severity="error", timeout=10, markup=False)
        self.update_header()

    def _close_lanes(self) -> None:
        box = self.query_one("#choices", Horizontal)
        box.display = False
        box.remove_children()
        self._columns = []
        area = self.query_one(DocumentArea)
        area.display = True
        area.focus()

    def action_pick(self, index: int) -> None:
        if self.state != "choosing" or not 0 <= index < len(self._columns):
            return
        col = self._columns[index]
        self.choice_index = col.choice
        self.answer_tokens = token_items(col.logprobs)
        text = col.text
        self._close_lanes()
        area = self.query_one(DocumentArea)
        area.begin()
        area.add_tokens(self.answer_tokens)
        area.write(text)
        area.stop_streaming()
        self.state = "pending"
        self.update_header()

    def action_accept(self) -> None:
        if self.state != "pending":
            return
        from chat_tui.services.completions import accept

        area = self.query_one(DocumentArea)
        before, cursor = self._last_request or (area.text, area.cursor_location)
        area.keep()
        mid, others = self._choice_rows()
        if self.document_id is not None:
            self.app.saved("save the document", lambda: accept(self.app.store, self.document_id, mid, area.text, others))
        self.accepted.append((mid, before, cursor))
        self.state = "editing"
        self.mode_note = "accepted · ctrl+z takes it out again"
        self.update_header()

    def _choice_rows(self) -> tuple[int | None, list[int]]:
        if self.round is None:
            return None, []
        rows = {i: c.message_id for i, c in self.round.reply.choices.items() if c.message_id is not None}
        return rows.get(self.choice_index), list(rows.values())

    def action_escape(self) -> None:
        if self.state == "generating":
            self.workers.cancel_group(self, "completion")
            self.mode_note = "stopped"
            return
        if self.state in ("pending", "choosing"):
            self._reject()
            return
        self.action_close()

    def _reject(self) -> None:
        from chat_tui.services.completions import reject

        if self._columns:
            self._close_lanes()
        area = self.query_one(DocumentArea)
        area.discard()
        _, rows = self._choice_rows()
        if rows:
            self.app.saved("save the document", lambda: reject(self.app.store, rows))
        self.state = "editing"
        self.mode_note = "rejected"
        self.update_header()

    def action_regenerate(self) -> None:
        if self.state == "generating" or self._last_request is None:
            return
        if self.state in ("pending", "choosing"):
            self._reject()
        text, cursor = self._last_request
        area = self.query_one(DocumentArea)
        if area.text != text:
            self.notify("The document changed since that round; ctrl+g generates at the cursor.", severity="warning")
            return
        self._start(text, cursor)

    def action_probabilities(self) -> None:
        from chat_tui.ui.widgets.probability import ProbabilityScreen

        tokens = [*self.prompt_tokens, *self.answer_tokens]
        if not tokens:
            self.notify("No log-probabilities: set logprobs (0-5) and generate (echo adds the prompt's tokens).",
                        severity="warning", timeout=6)
            return
        summary = None
        if self.prompt_tokens:
            known = [t.logprob for t in self.prompt_tokens if t.logprob is not None]
            ppl = f"perplexity {math.exp(-sum(known) / len(known)):.2f}" if known else "no perplexity"
            summary = (f"echo: the prompt's {len(self.prompt_tokens)} tokens first ({ppl}), "
                       f"then the {len(self.answer_tokens)} generated")
        self.app.push_screen(ProbabilityScreen(tokens, title="Completion: token probabilities", summary=summary))

    def action_close(self) -> None:
        if self.state == "generating":
            self.workers.cancel_group(self, "completion")
        self.dismiss(None)

    @on(DocumentArea.Undone)
    def _undone(self, event: DocumentArea.Undone) -> None:
        """Ctrl+Z took the last accepted round out (one step of undo): the record follows."""
        if self.state != "editing" or not self.accepted:
            return
        area = self.query_one(DocumentArea)
        mid, before, _ = self.accepted[-1]
        if area.text != before:
            return
        self.accepted.pop()
        from chat_tui.services.completions import undo_accept

        if self.document_id is not None:
            self.app.saved("save the document", lambda: undo_accept(self.app.store, self.document_id, mid, before))
        self.mode_note = "round taken out"
        self.update_header()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick":
            return self.state == "choosing"
        return True

