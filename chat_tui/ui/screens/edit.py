"""Edit mode: a text, an instruction (+ n, temperature, top_p, the model) -> the edited text as a
diff against the input; accept puts it into the text, reject drops it, Ctrl+Z undoes an accept.

The request is `services.edits.run_edit` in a worker (group "edit"): /v1/edits where the endpoint
serves it, else chat (the header says which once it is known). n > 1: the choices side by side,
1–4 or ←/→ pick one and Enter accepts it. Escape stops a running request (what was typed stays)
or closes the screen. Every failure is a notification; the text and the instruction are kept.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Input, Label, Static, TextArea

from chat_tui.core.diff import word_diff
from chat_tui.core.params import EditParams, ParamError
from chat_tui.core.text import error_text, visible_controls
from chat_tui.ui.palette import diff_styles_for
from chat_tui.ui.widgets.edit_choices import ChoiceLane
from chat_tui.ui.widgets.footer import ChatFooter

MAX_SHOWN = 4  # lanes side by side; more choices are saved, not shown
HEADERS = {None: "Edit · /v1/edits, or chat if the endpoint lacks it", "native": "Edit · /v1/edits",
           "emulated": "Edit · emulated with chat"}
HINT = ("Type or paste the text above, say what to change in the instruction, and press Ctrl+G (or F5).\n"
        "The edit shows as a diff: green is added, red struck through is removed. Ctrl+Y (or Enter on a choice) "
        "accepts it into the text, Escape rejects it, Ctrl+Z undoes the last accept, Ctrl+R asks again. "
        "With n > 1 the choices stand side by side: 1–4 or ←/→ pick one. Escape stops a request, or closes.")


@dataclass(frozen=True)
class EditRequest:
    input: str
    instruction: str
    model: str
    params: EditParams


class EditScreen(Screen[None]):
    """Edit mode; `document_id` reopens a saved edit document, `text` starts with that text."""

    CSS_PATH = "../styles/edit.tcss"
    BINDING_GROUP_TITLE = "Edit"
    BINDINGS = [
        # The same keys as completion mode: ctrl+g generates, ctrl+y accepts, Escape rejects.
        Binding("ctrl+g,f5,ctrl+enter", "generate", "Generate", id="edit.generate", priority=True),
        Binding("ctrl+r", "regenerate", "Again", id="edit.regenerate", priority=True),
        Binding("ctrl+y,ctrl+s", "accept", "Accept", id="edit.accept", priority=True),
        Binding("escape", "reject", "Reject", id="edit.reject", priority=True),
        Binding("ctrl+z", "undo", "Undo accept", id="edit.undo", priority=True),
        Binding("escape", "stop", "Stop", id="edit.stop", priority=True),
        Binding("escape", "close", "Close", id="edit.close", priority=True),
    ]

    def __init__(self, *, document_id: int | None = None, text: str = "") -> None:
        super().__init__()
        self.document_id = document_id
        self.initial_text = text
        self.mode: str | None = None  # "native" / "emulated" once known for this endpoint
        self.outcome: Any = None  # the EditOutcome on screen, waiting for accept or reject
        self.selected = 0
        self.last_request: EditRequest | None = None
        self.undo_stack: list[tuple[str, int | None, str]] = []  # (text before, choice row, text accepted)

    def compose(self) -> ComposeResult:
        yield Static("", id="edit-header", markup=False)
        yield TextArea(self.initial_text, id="edit-input", soft_wrap=True)
        with Horizontal(id="edit-instruction-row"):
            yield Label("instruction", classes="edit-label")
            yield Input("", id="edit-instruction", compact=True, placeholder="e.g. Fix the spelling mistakes")
        with Horizontal(id="edit-options"):
            yield Label("model", classes="edit-label")
            yield Input(self.app.model or "", id="edit-model", compact=True)
            for name, placeholder in (("n", "1"), ("temperature", "1"), ("top_p", "1")):
                yield Label(name, classes="edit-label edit-small-label")
                yield Input("", id=f"edit-{name.replace('_', '-')}", compact=True, placeholder=placeholder,
                            classes="edit-small")
        yield Static("", id="edit-summary", markup=False)
        with Horizontal(id="edit-lanes"):
            yield Static(Text(HINT, style="dim"), id="edit-hint", markup=False)
        yield ChatFooter()

    def on_mount(self) -> None:
        from chat_tui.services.edits import load_edit_document, remembered_mode
        from chat_tui.store import StoreError

        app = self.app
        try:
            self.mode = remembered_mode(app.store, app.endpoint.name)
            if self.document_id is not None:
                doc = load_edit_document(app.store, self.document_id)
                self.query_one("#edit-input", TextArea).text = doc.text
                self.query_one("#edit-instruction", Input).value = doc.instruction
                if doc.model:
                    self.query_one("#edit-model", Input).value = doc.model
                for name, value in doc.params.as_dict().items():
                    if name in ("n", "temperature", "top_p"):
                        self.query_one(f"#edit-{name.replace('_', '-')}", Input).value = str(value)
        except (StoreError, LookupError) as exc:
            self.notify(error_text(exc), title="Edit mode", severity="error", markup=False, timeout=8)
            self.document_id = None
        self.show_header()
        self.query_one("#edit-input", TextArea).focus()

    def show_header(self) -> None:
        text = f"{HEADERS.get(self.mode, HEADERS[None])} · {self.app.endpoint.name}"
        if self.document_id is not None:
            text += f" · document #{self.document_id}"
        self.query_one("#edit-header", Static).update(Text(visible_controls(text)))

    def _say(self, text: str) -> None:
        self.query_one("#edit-summary", Static).update(Text(visible_controls(text)))

    # -- state --------------------------------------------------------------------------------

    def running(self) -> bool:
        return any(w.group == "edit" and w.is_running for w in self.workers)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.running()
        if action == "reject":
            return not self.running() and self.outcome is not None
        if action == "close":
            return not self.running() and self.outcome is None
        return True

    def lanes(self) -> list[ChoiceLane]:
        return list(self.query(ChoiceLane))

    # -- generating ---------------------------------------------------------------------------

    def _request(self) -> EditRequest | None:
        """The request as typed, or None after saying what is wrong."""
        instruction = self.query_one("#edit-instruction", Input).value
        if not instruction.strip():
            self.notify("Type an instruction first (what to do with the text).", severity="warning", markup=False)
            self.query_one("#edit-instruction", Input).focus()
            return None
        model = self.query_one("#edit-model", Input).value.strip()
        if not model:
            self.notify("Give a model first.", severity="warning")
            return None
        params = EditParams()
        try:
            for name in ("n", "temperature", "top_p"):
                raw = self.query_one(f"#edit-{name.replace('_', '-')}", Input).value.strip()
                if raw:
                    params = params.with_option(name, raw)
        except ParamError as exc:
            self.notify(str(exc), title="Parameters", severity="error", markup=False, timeout=8)
            return None
        return EditRequest(self.query_one("#edit-input", TextArea).text, instruction, model, params)

    @on(Input.Submitted, "#edit-instruction")
    def _instruction_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_generate()

    def action_generate(self) -> None:
        request = self._request()
        if request is not None:
            self._start(request)

    def action_regenerate(self) -> None:
        """The last request again (its input and instruction, even if the fields changed since)."""
        if self.last_request is None:
            self.notify("Nothing to repeat yet: generate an edit first.", severity="warning")
            return
        self._start(self.last_request)

    def _start(self, request: EditRequest) -> None:
        app = self.app
        if self.running():
            self.notify("Still working: Escape stops it.", severity="warning")
            return
        if app.client is None:
            self.notify("Not connected yet: try again in a moment.", severity="warning")
            return
        self.last_request = request
        self._say(f"Editing with {request.model}…")
        self.run_edit(request)
        self.refresh_bindings()

    @work(exclusive=True, group="edit", exit_on_error=False)
    async def run_edit(self, request: EditRequest) -> None:
        from chat_tui.api.errors import APIError
        from chat_tui.services.edits import run_edit
        from chat_tui.store import StoreError

        app = self.app
        try:
            outcome = await run_edit(app.client, app.store, app.endpoint.name, request.model, request.input,
                                     request.instruction, request.params, document_id=self.document_id)
        except asyncio.CancelledError:
            self._say("Stopped; nothing was saved.")
            raise
        except (APIError, ParamError, StoreError) as exc:
            self._say("The edit failed; the text and the instruction are as they were.")
            self.notify(error_text(exc), title="Edit failed", severity="error", markup=False, timeout=10)
            return
        except Exception as exc:  # a bug must not take the typed text with it
            self._say("The edit failed.")
            self.notify(error_text(exc), title="Edit failed", severity="error", markup=False, timeout=10)
            return
        finally:
            self.call_later(self.refresh_bindings)
        await self.show_outcome(outcome)

    async def show_outcome(self, outcome: Any) -> None:
        self.outcome = outcome
        self.mode = outcome.mode
        if outcome.document_id is not None:
            self.document_id = outcome.document_id
        self.show_header()
        for note in outcome.notes:
            self.notify(note, title="Edit mode", markup=False, timeout=6)
        if outcome.unsaved:
            self.notify(f"The edit is shown but not saved: {outcome.unsaved}", title="Not saved", severity="error",
                        markup=False, timeout=10)
        container = self.query_one("#edit-lanes", Horizontal)
        await container.remove_children()
        shown = outcome.choices[:MAX_SHOWN]
        several = len(shown) > 1
        styles = diff_styles_for(self.app)
        await container.mount_all([ChoiceLane(i, word_diff(outcome.input, c.text), styles, several=several)
                                   for i, c in enumerate(shown)])
        extra = f" (first {MAX_SHOWN} of {len(outcome.choices)} shown; all saved)" if len(outcome.choices) > MAX_SHOWN else ""
        picking = "1–4 or ←/→ pick, " if several else ""
        self._say(f"{len(outcome.choices)} choice{'s' if several else ''}{extra} · {picking}Enter or Ctrl+Y accepts, "
                  "Escape rejects, Ctrl+R asks again")
        self.action_pick(1)

    # -- choosing -----------------------------------------------------------------------------

    def action_pick(self, number: int) -> None:
        lanes = self.lanes()
        if 1 <= number <= len(lanes):
            self.selected = number - 1
            for lane in lanes:
                lane.set_class(lane.index == self.selected, "-selected")
            lanes[self.selected].focus()

    def action_focus_lane(self, step: int) -> None:
        lanes = self.lanes()
        if lanes:
            self.action_pick((self.selected + step) % len(lanes) + 1)

    def action_accept(self) -> None:
        from chat_tui.services.edits import accept

        if self.outcome is None:
            self.notify("Nothing to accept: generate an edit first.", severity="warning")
            return
        choice = self.outcome.choices[self.selected]
        area = self.query_one("#edit-input", TextArea)
        before = area.text
        if self.document_id is not None and self.outcome.document_id is not None:
            if not self.app.saved("accept the edit", lambda: accept(self.app.store, self.document_id, choice.message_id, choice.text)):
                return
        area.text = choice.text
        self.undo_stack.append((before, choice.message_id, choice.text))
        self._clear(f"Accepted choice {self.selected + 1}. Ctrl+Z brings the text before it back.")
        area.focus()

    def action_reject(self) -> None:
        from chat_tui.services.edits import reject

        if self.outcome is None:
            self.notify("Nothing to reject.", severity="warning")
            return
        ids = [c.message_id for c in self.outcome.choices]
        if self.outcome.document_id is not None and not self.app.saved("reject the edit", lambda: reject(self.app.store, ids)):
            return
        self._clear("Rejected; the text is unchanged.")
        self.query_one("#edit-input", TextArea).focus()

    def action_undo(self) -> None:
        """Undo the last accept while the text is still what it put there; otherwise the text
        area's own undo (typing)."""
        from chat_tui.services.edits import undo_accept

        area = self.query_one("#edit-input", TextArea)
        if not self.undo_stack or area.text != self.undo_stack[-1][2]:
            if self.focused is area:
                area.action_undo()
            return
        before, message_id, _ = self.undo_stack[-1]
        if self.document_id is not None and not self.app.saved(
                "undo the accept", lambda: undo_accept(self.app.store, self.document_id, message_id, before)):
            return
        self.undo_stack.pop()
        area.text = before
        self._say("Undone: the text is back as it was before the accept.")

    def _clear(self, message: str) -> None:
        self.outcome = None
        container = self.query_one("#edit-lanes", Horizontal)
        container.remove_children()
        self._say(message)

    # -- leaving ------------------------------------------------------------------------------

    def action_stop(self) -> None:
        self.workers.cancel_group(self, "edit")

    def action_close(self) -> None:
        if self.running():
            self.workers.cancel_group(self, "edit")
        self.dismiss(None)
