"""The main screen: model picker, conversation, prompt, token meter and parameters.

The screen owns the conversation state and the workers it starts; all I/O goes through the
app's client, store and token counter. Widgets report upwards with messages.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static, TextArea

from chat_tui.core.params import ChatParams, ParamError
from chat_tui.core.text import visible_controls
from chat_tui.ui.threads import Tree
from chat_tui.ui.widgets.attachments import AttachField, AttachmentBar, AttachmentChip
from chat_tui.ui.widgets.conversation import ConversationView, MessageView, code_blocks
from chat_tui.ui.widgets.footer import ChatFooter
from chat_tui.ui.widgets.prompt import PromptInput
from chat_tui.ui.widgets.token_meter import TokenMeter

if TYPE_CHECKING:
    from chat_tui.core.attachments import Attachment
    from chat_tui.core.messages import ChatMessage
    from chat_tui.services.moderation import Check
    from chat_tui.store.records import Message

SAVE_RETRY = 5.0  # seconds between tries to save an answer the database refused


class ChatScreen(Screen):
    BINDING_GROUP_TITLE = "Chat"
    BINDINGS = [
        Binding("escape", "stop", "Stop", id="chat.stop"),
        # ctrl+r in the prompt searches earlier prompts; it regenerates from anywhere else
        Binding("ctrl+g,ctrl+r", "regenerate", "Regenerate", id="chat.regenerate"),
        Binding("f2", "toggle_pane('#left-slot')", "Models", id="chat.toggle_models"),
        Binding("f3", "toggle_pane('#right-slot')", "Params", id="chat.toggle_params"),
        Binding("f5", "focus_conversations", "Chats", id="chat.focus_conversations"),
        Binding("f8", "compare", "Compare", id="chat.compare"),
        Binding("ctrl+l", "focus_prompt", "Prompt", id="chat.focus_prompt", show=False),
        Binding("ctrl+t", "attach", "Attach", id="chat.attach", show=False),  # named in the prompt's placeholder
        Binding("ctrl+s", "templates", "Templates", id="chat.templates", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.conversation_id: int | None = None
        self.leaf_id: int | None = None
        self.thread_tree = Tree([])
        self.editing: Message | None = None
        self._models: tuple[list[str] | None, str | None] = (None, None)
        self._pane_choice: dict[str, bool] = {}  # panes the user showed or hid by hand
        self._retry_of: int | None = None  # a prompt that failed and was given back to the prompt box
        self._sending = False  # a prompt is being saved (waiting for a locked database, maybe)
        self.pending: list[Attachment] = []  # the attachments of the prompt being written
        self._edit_attachments: list[Attachment] = []  # those an edit brought back
        self._approvals: dict[tuple[int | None, str], object] = {}  # per conversation and profile
        self._switches_unsaved = False  # tool switches set (F12) before the conversation was saved

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        app = self.app
        yield Static("", id="status-line", markup=False)
        with Horizontal(id="panes"):
            yield Vertical(id="left-slot")  # the model picker and conversations, mounted after the first frame
            with Vertical(id="center"):
                yield ConversationView(id="conversation")
                # Here, made when first needed (_above_prompt): the edit banner, the attachments'
                # chips and the path field.
                yield PromptInput(id="prompt")
                yield TokenMeter(app.counter, model=app.model, overrides=dict(app.config.models))
            yield Vertical(id="right-slot")  # the parameters, mounted after the first frame
        yield ChatFooter()

    def on_mount(self) -> None:
        self._fit_panes(self.app.size.width)
        from chat_tui.core.recall import PromptRecall

        self.prompt.recall = PromptRecall(self._earlier_prompts)
        self.prompt.focus()
        self.update_status()
        self.conversation.shown = self._shown_message
        self.conversation.checks = self._stored_checks
        self.conversation.thinking_open = self.app.config.thinking == "open"
        for provider in self.app.tool_providers:  # an MCP server started, crashed, restarted
            listeners = getattr(provider, "listeners", None)
            if isinstance(listeners, list):
                listeners.append(self._tool_source_changed)
        self.update_tool_cost()
        # The side panes hold many widgets: the app mounts them after the first frame, once the
        # tokenizer has loaded (see ChatApp.warm_up), so the prompt is usable sooner.
        if self.app.initial_conversation is not None:
            self.call_later(self.open_conversation, self.app.initial_conversation)

    async def mount_panes(self) -> None:
        """The model picker and conversation list (left) and the parameters (right)."""
        from chat_tui.ui.widgets.model_picker import ModelPicker
        from chat_tui.ui.widgets.params_pane import ParamsPane

        app = self.app
        app.load_later_css()  # the panes' styles
        picker = ModelPicker(
            current_model=app.model,
            profiles=app.profile_names(),
            current_profile=app.endpoint.name,
            overrides=dict(app.config.models),
        )
        from chat_tui.ui.widgets.conversation_list import ConversationList

        # The list's query runs in a thread worker, started before the parameters pane mounts:
        # the first page arrives without blocking the prompt.
        conversations = ConversationList(app.store.path, current=self.conversation_id, overrides=dict(app.config.models))
        await self.query_one("#left-slot").mount(picker, conversations)
        models, error = self._models
        picker.set_models(models, error=error)
        from chat_tui.services.presets import Presets

        pane = ParamsPane(app.params, model=app.model, counter=app.counter, presets=Presets(app.store), system_prompt=app.system_prompt)
        slot = next(iter(self.query("#right-slot")), None)
        if slot is None:  # the app is closing while the left pane mounted
            return
        await slot.mount(pane)

    # Hidden at start, so not in the first frame: each is mounted above the prompt, in this order,
    # the first time it is shown.
    ABOVE_PROMPT = {
        "edit-banner": lambda: Static("", id="edit-banner", markup=False),
        "attachment-bar": lambda: AttachmentBar(id="attachment-bar"),
        "attach-field": lambda: AttachField(id="attach-field"),
    }

    def _above_prompt(self, name: str, *, make: bool = True):
        """The widget `name` of ABOVE_PROMPT: mounted (hidden) if it is not yet and `make`,
        else None."""
        found = next(iter(self.query(f"#{name}")), None)
        if found is not None or not make:
            return found
        self.app.load_messages_css()  # the banner's and the attachments' styles
        widget = self.ABOVE_PROMPT[name]()
        widget.display = False
        names = list(self.ABOVE_PROMPT)
        later = [f"#{n}" for n in names[names.index(name) + 1:]] + ["#prompt"]
        before = next(w for sel in later for w in self.query(sel))
        self.query_one("#center").mount(widget, before=before)
        return widget

    def picker(self):
        return next(iter(self.query("#model-picker")), None)

    def params_pane(self):
        return next(iter(self.query("#params-pane")), None)

    def conversation_list(self):
        return next(iter(self.query("#conversation-list")), None)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one("#prompt", PromptInput)

    @property
    def conversation(self) -> ConversationView:
        return self.query_one("#conversation", ConversationView)

    @property
    def meter(self) -> TokenMeter:
        return self.query_one(TokenMeter)

    def update_status(self, extra: str = "") -> None:
        from chat_tui.store.errors import StoreError

        app = self.app
        title = ""
        if self.conversation_id is not None:
            try:
                conv = app.store.get_conversation(self.conversation_id)
            except StoreError:
                conv = None
            title = conv.title if conv and conv.title else ""
        parts = [app.model or "(no model)", app.endpoint.name]
        if app.store_problem:
            parts.append("NOT SAVING (database: see the notification)")
        if title:
            parts.append(title)
        if extra:
            parts.append(extra)
        self.query_one("#status-line", Static).update(visible_controls(" · ".join(parts)))

    # -- models and endpoints -----------------------------------------------------------------

    def models_loading(self) -> None:
        self._models = (None, None)
        if picker := self.picker():
            picker.set_models(None)

    def models_loaded(self, models: list[str] | None, error: str | None = None) -> None:
        self._models = (models or [], error)
        if picker := self.picker():
            picker.set_models(models or [], error=error)
        if not self.app.model and models:
            self.set_model(models[0])

    def set_model(self, model: str) -> None:
        app = self.app
        app.model = model
        if picker := self.picker():
            picker.set_current(model)
        if pane := self.params_pane():
            pane.set_model(model)
        self.meter.set_model(model)
        self.update_tool_cost()  # another encoding, maybe
        self.update_status()

    def on_model_picker_model_selected(self, event) -> None:
        self.set_model(event.model_id)
        self.notify(f"Model: {visible_controls(event.model_id)}", markup=False, timeout=2)
        self.prompt.focus()

    def on_model_picker_profile_selected(self, event) -> None:
        if event.name != self.app.endpoint.name:
            self.app.switch_profile(event.name)

    # -- parameters ---------------------------------------------------------------------------

    def on_params_pane_changed(self, event) -> None:
        self.app.params = event.params
        self.meter.set_max_tokens(event.params.max_tokens or event.params.max_completion_tokens)
        self.update_tool_cost()  # the pane chooses which tools go (tools, tool_choice)

    def on_params_pane_system_prompt_changed(self, event) -> None:
        self.app.system_prompt = event.text or None
        self.meter.set_history(self.history_messages(), self.app.system_prompt)

    # -- prompt -------------------------------------------------------------------------------

    @on(TextArea.Changed, "#prompt")
    def _prompt_changed(self, event: TextArea.Changed) -> None:
        self.meter.set_prompt(event.text_area.text)

    def action_focus_prompt(self) -> None:
        self.prompt.focus()

    def _earlier_prompts(self, before: int | None, limit: int, skip: set[str]) -> list[tuple[int, str]]:
        """For ↑ in the prompt: a page of earlier prompts (a few hundred rows read at most)."""
        from chat_tui.store.errors import StoreError
        from chat_tui.store.prompts import earlier_prompts

        try:
            return earlier_prompts(self.app.store, before=before, limit=limit, skip=skip)
        except StoreError as exc:
            from chat_tui.core.text import error_text

            self.notify(f"Cannot read earlier prompts: {error_text(exc)}", severity="warning", timeout=6, markup=False)
            return []

    @on(PromptInput.SearchRequested)
    def _search_prompts(self) -> None:
        """Ctrl+R: search earlier prompts as you type; Enter puts the pick in the box, Escape
        leaves the box as it was."""
        from chat_tui.ui.screens.recall import RecallSearchScreen

        def picked(text: str | None) -> None:
            if text is not None:
                self.prompt.put_picked(text)
            self.prompt.focus()

        self.app.push_screen(RecallSearchScreen(self.app.store), picked)

    # -- templates and roles --------------------------------------------------------------------

    def action_templates(self) -> None:
        """Pick a prompt template or a role (type to filter); its last row opens the manager."""
        from chat_tui.services.templates import Templates
        from chat_tui.store.errors import StoreError
        from chat_tui.ui.screens.templates import MANAGE, TemplatePickerScreen

        try:
            templates = Templates(self.app.store).list()
        except StoreError as exc:
            from chat_tui.core.text import error_text

            self.notify(f"Cannot read the templates: {error_text(exc)}", severity="error", markup=False)
            return

        def chosen(name: str | None) -> None:
            if name == MANAGE:
                self.manage_templates()
            elif name is not None:
                self.use_template(name)
            else:
                self.prompt.focus()

        self.app.push_screen(TemplatePickerScreen(templates), chosen)

    def manage_templates(self, select: str | None = None) -> None:
        """The templates screen: list, new, edit, rename, delete; "Use" uses the one shown."""
        from chat_tui.services.presets import Presets
        from chat_tui.services.templates import Templates
        from chat_tui.ui.screens.templates import TemplatesScreen

        app = self.app

        def closed(name: str | None) -> None:
            if name is not None:
                self.use_template(name)
            else:
                self.prompt.focus()

        app.push_screen(TemplatesScreen(Templates(app.store), current=(app.model, app.system_prompt, app.params),
                                        presets=Presets(app.store), select=select), closed)

    @work(group="template", exit_on_error=False)
    async def use_template(self, name: str) -> None:
        """A prompt template fills the prompt box ({{input}}: what the box held, which ↓ brings
        back); a role sets the system prompt, model and parameters of the next messages. Named
        fields (and the input or clipboard, when there is none) are asked for first."""
        from chat_tui.core.params import ParamError
        from chat_tui.core.templates import CLIPBOARD, INPUT
        from chat_tui.core.text import error_text
        from chat_tui.services.templates import TemplateError, Templates, fill, role_settings
        from chat_tui.store.errors import StoreError
        from chat_tui.ui.clipboard import read_clipboard
        from chat_tui.ui.screens.templates import FieldsScreen

        try:
            template = Templates(self.app.store).find(name)
            box = self.prompt.text
            asked = list(template.named_fields())
            clipboard = await read_clipboard(self.app) if CLIPBOARD in template.fields() else None
            if CLIPBOARD in template.fields() and not clipboard:
                asked.append(CLIPBOARD)
            if template.kind == "prompt" and INPUT in template.fields() and not box.strip():
                asked.insert(0, INPUT)
            values: dict[str, str] = {}
            if asked:
                got = await self.app.push_screen_wait(FieldsScreen(template, asked))
                if got is None:
                    return
                values = dict(got)
            box = values.pop(INPUT, box)
            clipboard = values.pop(CLIPBOARD, clipboard)
            if template.kind == "prompt":
                self.prompt.put_picked(fill(template, values=values, input=box, clipboard=clipboard))
            else:
                self.apply_role(template.name, role_settings(template, self.app.params, values=values, clipboard=clipboard))
        except (TemplateError, ParamError, StoreError) as exc:
            self.notify(f"{error_text(exc)}. Your prompt is as it was.", title="Template not used",
                        severity="error", timeout=10, markup=False)
        finally:
            self.prompt.focus()

    def apply_role(self, name: str, settings) -> None:
        """A role's system prompt, model and parameters, for the next messages (as if set by hand
        in the parameters pane and the model picker)."""
        app = self.app
        if settings.model:
            self.set_model(settings.model)
        app.params = settings.params
        app.system_prompt = settings.system_prompt
        if pane := self.params_pane():
            pane.set_params(settings.params)
            app.params = pane.params  # max_tokens within the model's limit
            pane.set_system_prompt(settings.system_prompt)
        self.meter.set_max_tokens(app.params.max_tokens or app.params.max_completion_tokens)
        self.meter.set_history(self.history_messages(), app.system_prompt)
        from chat_tui.ui.widgets.presets import summary

        model = f", model {settings.model}" if settings.model else ""
        params = f", {summary(settings.params.as_dict(), 60)}" if settings.params.as_dict() else ""
        self.notify(f"Role {visible_controls(name)}: its system prompt{visible_controls(model)}{params} for the next messages.",
                    title="Role", timeout=5, markup=False)

    # -- attachments ----------------------------------------------------------------------------

    def action_attach(self) -> None:
        """Open the path field above the prompt (a path or an http(s) URL; → completes)."""
        field = self._above_prompt("attach-field")
        field.display = True
        field.focus()

    @on(Input.Submitted, "#attach-field")
    def _attach_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        source = event.value.strip()
        field = self.query_one("#attach-field", AttachField)
        field.value = ""
        field.display = False
        self.prompt.focus()
        if source:
            self.run_worker(self.attach(source), group="attach", exit_on_error=False)

    @on(AttachField.Closed)
    def _attach_closed(self) -> None:
        self.query_one("#attach-field").display = False
        self.prompt.focus()

    @on(PromptInput.PathPasted)
    def _path_pasted(self, event: PromptInput.PathPasted) -> None:
        self.run_worker(self.attach(event.path), group="attach", exit_on_error=False)

    async def attach(self, source: str) -> None:
        """Read and check the file in a thread (a big file must not hold up the screen), then
        show it as a chip; a file that cannot go says why."""
        from chat_tui.core.attachments import AttachmentError, check_request
        from chat_tui.services.attachments import load

        try:
            attachment = await asyncio.to_thread(load, source)
            check_request([*self.pending, attachment])
        except AttachmentError as exc:
            self.notify(f"Cannot attach {exc}", title="Not attached", severity="error", timeout=8, markup=False)
            return
        self.pending.append(attachment)
        self.show_pending()
        if attachment.kind == "audio":
            self.transcribe_into_prompt(attachment)

    def show_pending(self) -> None:
        bar = self._above_prompt("attachment-bar", make=bool(self.pending))
        if bar is not None:
            bar.set_chips([(a.kind, a.label()) for a in self.pending])
        self.meter.set_attachments(tuple(a.part() for a in self.pending if a.sent))

    def transcribing(self) -> bool:
        return any(w.group == "transcribe" and w.is_running for w in self.workers)

    @work(group="transcribe", exit_on_error=False)
    async def transcribe_into_prompt(self, attachment: Attachment) -> None:
        """An attached audio file: its transcript goes into the prompt at the cursor, piece by
        piece as the model streams it (the typed text stays around it); the audio stays a chip."""
        from chat_tui.api.errors import APIError
        from chat_tui.core.audio import AudioError
        from chat_tui.core.params import ParamError
        from chat_tui.core.params.audio import TranscriptionParams
        from chat_tui.core.text import error_text
        from chat_tui.services.audio import AudioFile, transcript_pieces

        model = self.app.endpoint.transcription_model
        params = TranscriptionParams(language=self.app.endpoint.transcription_language)
        where = self.prompt.cursor_location
        self.update_status(f"transcribing {visible_controls(attachment.name)} with {model}…")
        try:
            file = AudioFile(attachment.name, attachment.mime, attachment.data)
            async for piece in transcript_pieces(self.app.client, file, model, params):
                # Untrusted text: plain characters in a TextArea, control characters made visible.
                where = self.prompt.insert(visible_controls(piece), where).end_location
        except (APIError, AudioError, ParamError) as exc:
            self.notify(f"Cannot transcribe {attachment.name}: {error_text(exc)}. The audio stays attached.",
                        title="Not transcribed", severity="error", timeout=10, markup=False)
        finally:
            self.update_status()

    @on(AttachmentChip.Removed)
    def _chip_removed(self, event: AttachmentChip.Removed) -> None:
        if 0 <= event.index < len(self.pending):
            removed = self.pending.pop(event.index)
            if removed.kind == "audio" and self.transcribing():
                # Removing the audio stops its transcript (what has come stays in the box).
                self.workers.cancel_group(self, "transcribe")
                self.update_status()
            self.show_pending()
            self.prompt.focus()

    @on(AttachmentChip.DetailStepped)
    def _chip_detail(self, event: AttachmentChip.DetailStepped) -> None:
        """An image's `detail`: auto → low → high → auto (the chip and the meter follow)."""
        if not 0 <= event.index < len(self.pending):
            return
        attachment = self.pending[event.index]
        following = {"auto": "low", "low": "high", "high": "auto"}
        self.pending[event.index] = attachment.with_detail(following.get(attachment.detail, "auto"))
        self.show_pending()
        chips = self.query_one("#attachment-bar", AttachmentBar)
        self.call_after_refresh(lambda: chips.chips[event.index].focus() if event.index < len(chips.chips) else None)

    async def _restore_attachments(self, message: Message) -> None:
        """Edit-and-resend: the message's attachments back above the prompt (read in a thread)."""
        from chat_tui.services.attachments import attachments_by_position, blob_root, files_of

        rows = attachments_by_position(self.app.store, message)  # the database, on this thread
        restored = await asyncio.to_thread(files_of, message, rows, blob_root(self.app.store))
        if self.editing is message:
            self.pending = list(restored)
            self._edit_attachments = list(restored)
            self.show_pending()

    def _shown_message(self, message: Message):
        from chat_tui.services.attachments import shown_message

        return shown_message(self.app.store, message)

    def _stored_checks(self, ids: list[int]) -> dict[int, tuple[bool, str]]:
        from chat_tui.services.moderation import checks_of

        return {mid: (c.flagged, c.summary()) for mid, c in checks_of(self.app.store, ids).items()}

    def history_messages(self, upto: list[Message] | None = None) -> list[ChatMessage]:
        """The thread shown (or `upto`), as the messages of the next request (no system prompt)."""
        from chat_tui.services.chat import request_history  # on first use: faster start-up

        path = upto if upto is not None else self.thread_tree.path(self.leaf_id)
        return request_history(path)

    def settings(self):
        from chat_tui.services.chat import Settings

        app = self.app
        return Settings(app.model, app.params, app.system_prompt, app.endpoint.name)

    def replying(self) -> bool:
        return any(w.group == "reply" and w.is_running for w in self.workers)

    @on(PromptInput.Submitted)
    async def _submitted(self, event: PromptInput.Submitted) -> None:
        if self._sending:
            self.notify("Still saving your last message…", severity="warning", timeout=3)
            return
        if self.replying():
            self.notify("Still answering: press Escape to stop it first.", severity="warning")
            return
        if not self.app.client_ready:
            if not any(w.group == "pending-send" and w.is_running for w in self.workers):
                self.notify("Connecting… your message goes out as soon as the endpoint is ready.", timeout=3)
                self.send_when_ready(event.text)
            return
        if (prompt := _image_prompt(event.text)) is not None:  # `/image PROMPT`: an image, not a chat turn
            self._sending = True
            self.run_worker(self.generate_image(event.text, prompt), group="send", exit_on_error=False)
            return
        if not self.app.model:
            self.notify("Choose a model first (F2), or type any model id in the picker.", severity="warning")
            return
        try:  # a reasoning effort the model would refuse (parameters kept from another model)
            self.app.params.checked_for(self.app.model)
        except ParamError as exc:
            self.notify(f"{exc}. Change it in the parameters (F3); your message is still in the box.",
                        title="Not sent", severity="error", timeout=10, markup=False)
            return
        if self.transcribing():
            self.notify("Still transcribing the audio into the prompt: send when it is done.", severity="warning", timeout=4)
            return
        self._sending = True
        if self.app.endpoint.moderate:  # the profile asks for a check first; a flagged prompt is held
            self.run_worker(self.moderate_then_send(event.text), group="send", exit_on_error=False)
            return
        # In a worker: waiting for a locked database must not hold up this screen's messages.
        self.run_worker(self.send(event.text), group="send", exit_on_error=False)

    async def moderate_then_send(self, text: str) -> None:
        """`moderate = true`: check the prompt and its images first. Not flagged: sent. Flagged:
        held, and the user confirms (sent) or goes back (nothing sent). Either way the text and
        the attachments stay in the box until they are sent."""
        from chat_tui.api.errors import APIError
        from chat_tui.core.params import ParamError
        from chat_tui.core.text import error_text
        from chat_tui.services.moderation import check_prompt
        from chat_tui.ui.screens.dialogs import ConfirmScreen

        attached = [a for a in self.pending if a.sent]
        self.update_status("checking the prompt (moderation)…")
        try:
            result = await check_prompt(self.app.client, text, attached, self.app.endpoint.moderation_model)
        except (APIError, ParamError) as exc:
            self._sending = False
            self.notify(f"The moderation check failed: {error_text(exc)}. Nothing was sent: your message is still in the box.",
                        title="Not sent", severity="error", timeout=10, markup=False)
            self.update_status()
            return
        self.update_status()
        if result.flagged:
            lines = "\n".join(f"  {c}: {score:.2f}" for c, score in result.flagged_categories)
            question = (f"Moderation ({result.model}) flagged this prompt:\n{lines}\n\n"
                        "It has not been sent. Send it anyway, or go back to edit it?")
            self._sending = False  # the prompt is held: nothing is being saved
            confirmed = await self.app.push_screen_wait(ConfirmScreen(question, yes="Send anyway", no="Go back"))
            if not confirmed:
                self.notify("Held: not sent. Your prompt and its attachments are still in the box.", timeout=4)
                self.prompt.focus()
                return
            if self.replying() or self._sending:
                return
            self._sending = True
        await self.send(text, checked=result)

    @work(exclusive=True, group="pending-send", exit_on_error=False)
    async def send_when_ready(self, text: str) -> None:
        """Typed before the endpoint was ready (the local model still loading, say): send it then.
        The prompt keeps the text until it is sent."""
        await self.app.ready_event.wait()
        # Still in the box (perhaps with more typed after it, which stays there): send it.
        if not self.prompt.text.startswith(text) or self.replying():
            return
        if (prompt := _image_prompt(text)) is not None:  # `/image` typed while connecting is still an image
            self._sending = True
            await self.generate_image(text, prompt)
        elif self.app.model and self.app.endpoint.moderate:  # checked first, as when sent after connecting
            self._sending = True
            await self.moderate_then_send(text)
        elif self.app.model:
            await self.send(text)

    async def send(self, text: str, checked: Check | None = None) -> None:
        """Save the prompt and stream the answer. If the database refuses the prompt (locked
        for long, read-only, full), nothing is sent and the text stays in the box."""
        from chat_tui.core.text import error_text
        from chat_tui.services.chat import start_turn
        from chat_tui.services.persist import patiently
        from chat_tui.store.errors import StoreError

        parent = self.editing.parent_id if self.editing else self._retry_parent()
        shown = self.conversation.views()
        # Continuing the thread on screen (the usual case): add the new message to it. A new
        # branch (an edit, a retried prompt) shows its thread afresh.
        continuing = self.editing is None and (shown[-1].message_id == parent if shown else parent is None)
        settings, path = self.settings(), self.thread_tree.path(parent)
        attached = tuple(self.pending)
        self._sending = True
        try:
            kept = None
            if attached:  # the files written and hashed in a thread, not on the event loop
                from chat_tui.services.attachments import keep_files

                kept = await asyncio.to_thread(keep_files, self.app.store, attached)
            turn = await patiently(
                lambda: start_turn(self.app.store, text, settings, conversation_id=self.conversation_id,
                                   parent_id=parent, thread=path, attachments=attached, kept=kept),
                on_wait=lambda waited: self.update_status(f"waiting for the database (another program has it) {waited:.0f} s"),
            )
        except (StoreError, OSError) as exc:  # OSError: an attachment's file could not be kept (disk full)
            self.notify(f"{error_text(exc)}. Nothing was sent: your message and its attachments are still in the box.",
                        title="Not sent", severity="error", timeout=12, markup=False)
            self.update_status()
            return
        finally:
            self._sending = False
        self._retry_of = None
        self.conversation_id = turn.conversation_id
        self._keep_tool_switches()  # set before its first message: kept with it now
        if checked is not None:  # the check made before sending is kept with the message
            from chat_tui.services.moderation import save as save_check

            try:
                save_check(self.app.store, turn.user_id, checked)
            except StoreError:
                pass  # the message is saved; only its check line is missing on reopen
        self.prompt.consume(text)
        if attached:
            self.pending = [a for a in self.pending if a not in attached]
            self.show_pending()
        self.reload_tree()
        self.leaf_id = turn.user_id
        self.set_editing(None)
        if continuing:
            row = self.thread_tree.by_id[turn.user_id]
            mounted = self.conversation.mount(self.conversation.view_of(row, self.thread_tree.branch(row)))
            self.stream_reply(turn.messages, turn.user_id, text, attached)  # the request goes out while the screen updates
            await mounted
        else:
            await self.conversation.show_thread(self.thread_tree.with_branches(turn.user_id))
            self.stream_reply(turn.messages, turn.user_id, text, attached)
        self.update_status()
        self.refresh_conversation_list()  # a new one, or this one moved to the top

    async def generate_image(self, text: str, prompt: str) -> None:
        """`/image PROMPT`: images made into this conversation (`services.images.generate_in_chat`,
        with the model last used on the Images screen, else the server's default) and shown
        under the reply. A refused request leaves the text in the box."""
        from chat_tui.core.params import ParamError
        from chat_tui.core.text import error_text
        from chat_tui.services.images import generate_in_chat
        from chat_tui.ui.screens.images import blob_root

        app = self.app
        parent = self.editing.parent_id if self.editing else self._retry_parent()
        self.update_status("making the image…")
        try:
            made = await generate_in_chat(app.client, app.store, blob_root(app), prompt, getattr(app, "image_model", None),
                                          conversation_id=self.conversation_id, parent_id=parent,
                                          endpoint=app.endpoint.name)
        except ParamError as exc:
            self.notify(f"{error_text(exc)}. Nothing was sent: your text is still in the box.",
                        title="Image not made", severity="error", timeout=12, markup=False)
            self.update_status()
            return
        finally:
            self._sending = False
        self.conversation_id = made.conversation_id
        self.prompt.consume(text)
        self.reload_tree()
        self.leaf_id = made.reply_id
        self.set_editing(None)
        await self.conversation.show_thread(self.thread_tree.with_branches(made.reply_id))  # the images under the reply
        self.update_status()
        self.refresh_conversation_list()

    def reload_tree(self) -> None:
        if self.conversation_id is not None:
            from chat_tui.services.images import conversation_images
            from chat_tui.ui.screens.images import blob_root

            self.thread_tree = Tree(self.app.store.messages(self.conversation_id))
            # the images `/image` made here, shown under their replies (one indexed query)
            self.conversation.images = conversation_images(self.app.store, blob_root(self.app), self.conversation_id)

    @work(exclusive=True, group="reply", exit_on_error=False)
    async def stream_reply(self, messages: list[ChatMessage], parent_id: int, prompt_text: str | None = None,
                           attached: tuple[Attachment, ...] = (), pending=None) -> None:
        """Answer `messages` (the whole request, system prompt included) after `parent_id`: one
        turn of `services.tools.run_turn`, each request streamed into a new view (`_reply_round`),
        the tool calls it makes approved here (`_ask_tool`) and run, until the model answers.
        `pending`: calls already saved to resolve first (a picked compare lane's). If nothing
        comes back, the prompt (`prompt_text` and its `attached` files) is given back."""
        from chat_tui.services.tools import run_turn

        app = self.app
        self._retry_of = None
        turn = None
        try:
            turn = await run_turn(
                app.store, app.toolbox, self.approvals(), ask=self._ask_tool, reply=self._reply_round,
                conversation_id=self.conversation_id, messages=messages, parent_id=parent_id, params=app.params,
                max_rounds=app.config.max_tool_rounds, pending=pending, on_step=self._tool_step,
            )
        finally:
            for view in self.conversation.views():  # calls left waiting (stopped, the round limit)
                for call in view.tool_calls():
                    if call.state in ("", "waiting", "running", "streaming"):
                        call.set_state("not run" if call.state != "running" else "stopped")
            if turn is None:  # cancelled: the turn's newest row ends the thread shown
                self.reload_tree()
                self.leaf_id = self.thread_tree.latest_leaf(parent_id)
            self.update_status()
            self.meter.set_history(self.history_messages(), app.system_prompt)
        result = turn.last
        if turn.stopped == "limit":
            self.notify(f"Stopped after {app.config.max_tool_rounds} rounds of tool calls ([tools] max_rounds):"
                        " the last calls were not run. Send a message to go on.",
                        title="Tool calls", severity="warning", timeout=10)
        elif turn.stopped == "unsaved":
            self.notify(f"A tool's result could not be saved: {turn.error}. The turn stopped there.",
                        title="Not saved", severity="error", timeout=12, markup=False)
        if app.toolbox.problems:
            self.notify("\n".join(app.toolbox.problems), title="Tools", severity="warning", timeout=10, markup=False)
        if result is None:
            return
        if result.unsaved:
            self.notify(f"{result.unsaved}. The answer is kept and saved as soon as the database allows.",
                        title="Not saved yet", severity="warning", timeout=12, markup=False)
            self._save_later(result)
        if result.status == "error":
            message = result.error_text or ""
            if attached and _rejects_images(message):
                message = (f"{self.app.model} does not take images or files: choose a model that does (F2)."
                           f" Your prompt and its attachments are back in the box.\n\n{message}")
            self.notify(message, title=_error_title(result.error), severity="error", timeout=12, markup=False)
            if (len(turn.replies) == 1 and not result.text and (prompt_text or attached)
                    and not self.prompt.text.strip() and not self.pending):
                # nothing came back: the prompt is given back, with its attachments
                self.prompt.text = prompt_text or ""
                self.pending = list(attached)
                if attached:
                    self.show_pending()
                self._retry_of = parent_id
        elif result.status == "complete" and result.text and self.conversation_id is not None:
            self.start_auto_title(self.conversation_id, result.message_id, result.body.get("model") or app.model)
        app.index_messages()  # the prompt and the answer, for search by meaning (if the profile opts in)

    def approvals(self):
        """This conversation's approvals: the profile's trust list, and the tools answered
        "always" (kept while the app runs)."""
        from chat_tui.core.tool_calls import Approvals

        key = (self.conversation_id, self.app.endpoint.name)
        found = self._approvals.get(key)
        if found is None or found.trust != frozenset(self.app.endpoint.trust):
            found = self._approvals[key] = Approvals(self.app.endpoint.trust)
        return found

    async def _reply_round(self, messages: list[ChatMessage], parent_id: int, tools, params):
        """One request of a turn, streamed into a new view under `parent_id`; its ReplyResult."""
        app = self.app
        conversation = self.conversation
        from chat_tui.api.events import Finish, ReasoningDelta, TextDelta, Timing, ToolCallDelta
        from chat_tui.core.tool_calls import CallAssembler
        from chat_tui.services.replies import run_reply  # imported on first use: faster start-up
        from chat_tui.ui.streaming import GROWTH, MarkdownFeeder

        from chat_tui.core.structured import structured_of

        # A reply asked for a schema streams as raw JSON, then shows as a checked JSON tree.
        view = MessageView("assistant", model=app.model, structured=structured_of(app.params.response_format))
        mounted = conversation.mount(view)
        conversation.anchor()
        meter = self.meter
        meter.stream_started()
        # A steady cursor in the prompt while text streams: its blinking was two more screen
        # updates a second, besides the text's (docs/performance.md, Streaming).
        prompt_box = self.query_one("#prompt", PromptInput)
        blinking, prompt_box.cursor_blink = prompt_box.cursor_blink, False
        feeder: MarkdownFeeder | None = None
        early: list[str] = []  # text that came before the view was mounted
        calls = CallAssembler()  # the view's own, for what each delta adds
        seen_text = False
        # Reasoning the server shows: a block above the answer, open while the model thinks
        # (config `thinking`: "auto" folds it when the answer starts, "open", "closed").
        thinking_mode = app.config.thinking
        view_ready = asyncio.Event()
        thinking = None  # the ThinkingBlock, once mounted
        thought_feeder: MarkdownFeeder | None = None
        early_thoughts: list[str] = []
        thought_at: float | None = None  # the first reasoning text
        answered_at: float | None = None  # the first answer text after it
        starting_thoughts: asyncio.Future | None = None

        async def start_thinking() -> None:
            nonlocal thinking, thought_feeder
            await view_ready.wait()
            folded = thinking_mode == "closed" or (thinking_mode == "auto" and answered_at is not None)
            thinking = await view.begin_thinking(collapsed=folded)
            thought_feeder = MarkdownFeeder(thinking.text_view)
            for piece in early_thoughts:
                thought_feeder.write(piece)
            early_thoughts.clear()
            show_thinking()

        def show_thinking() -> None:
            if thinking is None or thought_at is None:
                return
            end = answered_at if answered_at is not None else time.monotonic()
            thinking.set_stats(end - thought_at, meter.reasoning_tokens_streamed, approx=True, live=answered_at is None)

        def on_event(event) -> None:
            nonlocal seen_text, thought_at, answered_at, starting_thoughts
            if isinstance(event, TextDelta):
                if event.index == 0:
                    if feeder is None:
                        early.append(event.text)
                    elif not seen_text:
                        view.refresh_header("streaming…")
                    seen_text = True
                    if thought_at is not None and answered_at is None:
                        answered_at = time.monotonic()  # the model has stopped thinking
                        if thinking is not None and thinking_mode == "auto":
                            thinking.set_collapsed(True)
                        show_thinking()
                    view.append_text(event.text)
                    if feeder is not None:
                        feeder.write(event.text)
                    meter.stream_delta(event.text)
            elif isinstance(event, ReasoningDelta):
                if event.index == 0:
                    if thought_at is None:
                        thought_at = time.monotonic()
                        starting_thoughts = asyncio.ensure_future(start_thinking())
                        if not seen_text:
                            view.refresh_header("thinking…")
                    if thought_feeder is None:
                        early_thoughts.append(event.text)
                    else:
                        thought_feeder.write(event.text)
                    meter.stream_reasoning(event.text)
            elif isinstance(event, ToolCallDelta):
                if event.index == 0:
                    if not seen_text:
                        view.refresh_header("calling a tool…")
                    seen_text = True
                    view.tool_delta(calls.feed(event.calls))
            elif isinstance(event, Timing):
                meter.stream_timing(event.ttft, event.tokens_per_second)
            elif isinstance(event, Finish):
                if event.index == 0 and feeder is not None:
                    feeder.ending()  # the last words show now, while the answer is counted and saved

        # The request goes out first; the answer's view is mounted while it is on its way.
        reply = asyncio.ensure_future(run_reply(
            app.client, app.store, app.counter,
            conversation_id=self.conversation_id, parent_id=parent_id, messages=messages,
            model=app.model, params=params, endpoint_name=app.endpoint.name, on_event=on_event,
            wait_for_tokenizer=False, tools=tools,
        ))
        result = None
        asked = time.monotonic()

        def waiting() -> None:  # how long the server has said nothing (Escape stops it)
            if thought_at is not None:
                if answered_at is None:
                    show_thinking()  # its time and tokens so far
            elif not seen_text:
                view.refresh_header(f"waiting… {time.monotonic() - asked:.0f} s · Escape stops")

        ticker = self.set_interval(1.0, waiting)
        try:
            await mounted
            view.refresh_header("streaming…" if seen_text else "thinking…" if thought_at is not None else "waiting…")
            view_ready.set()
            feeder = MarkdownFeeder(view.body, on_flush=meter.beat, growth=GROWTH)
            for text in early:
                feeder.write(text)
            result = await reply  # cancelling this worker cancels the reply with it
        finally:
            ticker.stop()
            prompt_box.cursor_blink = blinking
            if not reply.done():  # cancelled while the view was being mounted
                reply.cancel()
                await asyncio.gather(reply, return_exceptions=True)
            if feeder is not None:
                await feeder.close()
            if starting_thoughts is not None:
                if not view_ready.is_set():  # stopped before the view was up: no block to fill
                    starting_thoughts.cancel()
                await asyncio.gather(starting_thoughts, return_exceptions=True)
            if thought_feeder is not None:
                await thought_feeder.close()
            self.reload_tree()
            if result is not None:
                self.leaf_id = result.message_id
            else:  # cancelled: find the row run_reply created and ended
                kids = self.thread_tree.children.get(parent_id) or []
                if kids:
                    self.leaf_id = kids[-1].id
            row = self.thread_tree.by_id.get(self.leaf_id) if self.leaf_id else None
            if row is not None and row.role == "assistant":
                view.message = row
                view.branch = self.thread_tree.branch(row)
                view.finish(row, view.text)
            elif result is not None and result.unsaved:
                view.finish(None, view.text)
                view.refresh_header("not saved yet")
            await view.settle_calls(row if row is not None and row.role == "assistant" else None)
            usage = result.usage if result else None
            meter.stream_finished(
                usage.prompt_tokens if usage else None,
                usage.completion_tokens if usage else None,
                result.completion_tokens_local.get(0) if result else None,
                reasoning_tokens=usage.reasoning_tokens if usage else None,
                reasoning_tokens_local=result.reasoning_tokens_local.get(0) if result else None,
            )
            meter.set_history(self.history_messages(), app.system_prompt)
            self.refresh_conversation_list()  # new totals and updated_at
        return result

    async def _ask_tool(self, call, spec) -> str:
        """Ask whether a call may run, inline under the conversation (y / n / a; Escape stops)."""
        from chat_tui.ui.widgets.tool_calls import ToolApproval

        self._call_state(call.id, "waiting")
        question = ToolApproval(call, spec)
        await self.conversation.mount(question)
        self.conversation.anchor()
        question.focus()
        self.update_status(f"{visible_controls(call.name)} is waiting for your approval (y / n / a · Escape stops)")
        try:
            return await question.decision
        finally:
            # Not awaited: when the turn is stopped (or the app closes), waiting for the removal
            # here would hold the cancelled worker up.
            refocus = self.app.focused is question
            question.remove()
            if refocus:
                self.prompt.focus()
            self.update_status()

    def _tool_step(self, step) -> None:
        """A call started (`running`) or has its result, saved as a `tool` row: shown under it."""
        from chat_tui.core.tool_calls import DECLINED

        if step.state == "running":
            self._call_state(step.call.id, "running")
            self.update_status(f"running {visible_controls(step.call.name)}… · Escape stops")
            return
        outcome = step.outcome
        state = "declined" if outcome.text == DECLINED else "error" if outcome.is_error else "done"
        self._call_state(step.call.id, state)
        self.update_status()
        if step.message_id is None:
            return
        self.reload_tree()
        row = self.thread_tree.by_id.get(step.message_id)
        if row is not None:
            self.leaf_id = row.id
            self.conversation.mount(self.conversation.view_of(row, self.thread_tree.branch(row)))
            self.conversation.anchor()

    def _call_state(self, call_id: str, state: str) -> None:
        for view in reversed(self.conversation.views()):
            found = view.call_view(call_id)
            if found is not None:
                found.set_state(state)
                return

    @work(group="save-later", exit_on_error=False)
    async def _save_later(self, result) -> None:
        """An answer the database refused (locked, full, read-only): try again until it is in."""
        while not result.save():
            await asyncio.sleep(SAVE_RETRY)
        self.notify("The answer is saved now.", title="Saved", timeout=4)
        self.reload_tree()
        self.refresh_conversation_list()

    def start_auto_title(self, conversation_id: int, answer_id: int, model: str) -> None:
        """After the first answer of a new conversation, a title from that exchange (issue 5), if
        `[titles]` allows it for this endpoint. Its own worker: the prompt stays free and
        `replying()` does not count it; the provisional title stays if it fails."""
        from chat_tui.services.titles import first_exchange

        app = self.app
        settings = app.config.titles
        if app.client is None or not settings.applies_to(app.endpoint):
            return
        exchange = first_exchange(app.store, conversation_id, answer_id)
        if exchange is not None:
            self._auto_title(app.client, conversation_id, settings.model or model, *exchange)

    @work(group="title", exit_on_error=False)
    async def _auto_title(self, client, conversation_id: int, model: str, prompt: str, answer: str) -> None:
        from chat_tui.services.titles import auto_title

        # The conversation may no longer be shown (switched, deleted): the title still goes to its
        # row; only the status line and the list follow.
        if await auto_title(client, self.app.store, conversation_id, model, prompt, answer) is None:
            return
        self.update_status()
        self.refresh_conversation_list()

    def _retry_parent(self) -> int | None:
        """Where a new prompt goes: after the shown thread, except when the last prompt failed
        and was given back: sending it again replaces it (a sibling), so the request does not
        carry the failed prompt and its copy as two user turns in a row."""
        leaf = self.thread_tree.by_id.get(self.leaf_id) if self.leaf_id is not None else None
        failed = self.thread_tree.by_id.get(self._retry_of) if self._retry_of is not None else None
        if failed is not None and leaf is not None and leaf.parent_id == failed.id and not leaf.content:
            return failed.parent_id
        return self.leaf_id

    def action_compare(self) -> None:
        """Compare mode: the prompt being typed, 2-4 lanes side by side."""
        if self.replying():
            self.notify("Still answering: press Escape to stop it first.", severity="warning")
            return
        self.open_compare(self.prompt.text)

    def open_compare(self, prompt: str, lanes=None):
        """Push compare mode, answering after the thread shown; a picked lane comes back and
        the thread continues from it. Returns the screen."""
        from chat_tui.ui.screens.compare import CompareScreen, CompareStart

        attached = tuple(self.pending)
        start = CompareStart(self.conversation_id, self.leaf_id, tuple(self.thread_tree.path(self.leaf_id)), attached)

        def done(result) -> None:
            if result is not None and result.picked is not None:
                self.prompt.consume(result.prompt)
                if attached:  # they went with the picked answer's prompt
                    self.pending = [a for a in self.pending if a not in attached]
                    self.show_pending()
                self.run_worker(self.continue_from(result.conversation_id, result.picked), group="open")
            self.refresh_conversation_list()  # a comparison saves its prompt and answers

        screen = CompareScreen(prompt, lanes=lanes, start=start)
        self.app.push_screen(screen, done)
        return screen

    async def continue_from(self, conversation_id: int, message_id: int) -> None:
        """Show `conversation_id` ending at `message_id` (a picked compare lane): the next
        prompt follows it. A lane that called tools goes on here: its calls are approved and
        run, and the model answers (compare runs none)."""
        self.conversation_id = conversation_id
        self._keep_tool_switches()
        self.reload_tree()
        self.leaf_id = message_id
        await self.conversation.show_thread(self.thread_tree.with_branches(message_id))
        self.meter.set_history(self.history_messages(), self.app.system_prompt)
        self.update_status()
        row = self.thread_tree.by_id.get(message_id)
        if (row is not None and row.role == "assistant" and row.tool_calls and row.status == "complete"
                and not self.thread_tree.children.get(row.id)):
            from chat_tui.services.chat import request_messages
            from chat_tui.services.tools import Pending

            path = self.thread_tree.path(message_id)[:-1]
            self.stream_reply(request_messages(self.app.system_prompt, path), row.id,
                              pending=Pending(row.id, row.to_chat_message()))

    def action_stop(self) -> None:
        if self.editing is not None:
            self.set_editing(None)
            return
        if self.replying():
            self.workers.cancel_group(self, "reply")

    async def action_regenerate(self) -> None:
        if self.replying():
            return
        path = self.thread_tree.path(self.leaf_id)
        while path and path[-1].role != "user":
            path.pop()
        if not path:
            self.notify("Nothing to regenerate yet.", severity="warning")
            return
        from chat_tui.services.chat import request_messages

        user = path[-1]
        self.leaf_id = user.id
        await self.conversation.show_thread(self.thread_tree.with_branches(user.id))
        self.stream_reply(request_messages(self.app.system_prompt, path), user.id)

    # -- acting on a message --------------------------------------------------------------------

    @on(MessageView.Action)
    async def _message_action(self, event: MessageView.Action) -> None:
        view, action = event.view, event.action
        if action == "copy":
            self.app.copy_to_clipboard(view.text, note="Message copied to the clipboard.")
        elif action == "copy_selection":
            if event.text:
                self.app.copy_to_clipboard(event.text)
            else:
                self.notify("Nothing to copy: the selection holds no text of the message.", severity="warning", timeout=3)
        elif action == "copy_code":
            blocks = code_blocks(view.text)
            if not blocks:
                self.notify("This message has no code block.", severity="warning", timeout=3)
            elif len(blocks) == 1:
                self.app.copy_to_clipboard(blocks[0], note="Code block copied.")
            else:
                from chat_tui.ui.screens.dialogs import PickBlockScreen

                def copy(choice: int | None) -> None:
                    if choice is not None:
                        self.app.copy_to_clipboard(blocks[choice], note=f"Code block {choice + 1} copied.")

                self.app.push_screen(PickBlockScreen(blocks), copy)
        elif action == "edit":
            if view.message is None or view.role != "user":
                self.notify("Only your own messages can be edited.", severity="warning", timeout=3)
                return
            self.set_editing(view.message)
        elif action == "sibling":
            if view.message is None or self.replying():
                return
            other = self.thread_tree.sibling(view.message, event.arg)
            if other is None:
                return
            self.leaf_id = self.thread_tree.latest_leaf(other.id)
            await self.conversation.show_thread(self.thread_tree.with_branches(self.leaf_id))
            self.meter.set_history(self.history_messages(), self.app.system_prompt)
            for v in self.conversation.views():
                if v.message_id == other.id:
                    v.focus()
        elif action == "probabilities":
            if view.message is None or not view.message.logprobs:
                self.notify("This answer has no log-probabilities: turn on logprobs in the parameters (F3).", severity="warning", timeout=4)
                return
            from chat_tui.core.compare import logprob_summary
            from chat_tui.ui.widgets.probability import ProbabilityScreen

            summary = logprob_summary(view.message.logprobs)
            self.app.push_screen(ProbabilityScreen(view.message.logprobs, title=view.message.model or "", summary=str(summary) if summary else None))
        elif action == "moderate":
            if view.message is None:
                self.notify("This message is not saved yet: check it when it is complete.", severity="warning", timeout=3)
                return
            self.check_message(view)
        elif action == "details" and view.message is not None:
            from chat_tui.ui.screens.dialogs import DetailsScreen

            self.app.push_screen(DetailsScreen(view.message))

    @work(group="moderate", exit_on_error=False)
    async def check_message(self, view: MessageView) -> None:
        """The "check" action: moderate a message; the result shows under it and is kept."""
        from chat_tui.api.errors import APIError
        from chat_tui.core.params import ParamError
        from chat_tui.core.text import error_text
        from chat_tui.services.moderation import check_message
        from chat_tui.store.errors import StoreError

        self.update_status("checking the message (moderation)…")
        try:
            result = await check_message(self.app.client, self.app.store, view.message, self.app.endpoint.moderation_model)
        except (APIError, ParamError, StoreError) as exc:
            self.notify(f"The moderation check failed: {error_text(exc)}", title="Not checked",
                        severity="error", timeout=8, markup=False)
            return
        finally:
            self.update_status()
        if view.is_attached:  # still on screen (another conversation may have been opened)
            view.set_moderation(result.flagged, result.summary())

    def action_check_focused(self) -> None:
        """From the command palette: check the focused message, else the newest one."""
        views = self.conversation.views()
        focused = next((v for v in views if v is self.app.focused), None)
        target = focused or next((v for v in reversed(views) if v.message is not None), None)
        if target is None:
            self.notify("No message to check yet.", severity="warning", timeout=3)
            return
        target.action_moderate()

    def set_editing(self, message: Message | None) -> None:
        self.editing = message
        banner = self._above_prompt("edit-banner", make=message is not None)
        if banner is not None:
            banner.display = message is not None
        if self._edit_attachments and message is None and self.pending == self._edit_attachments:
            self.pending = []  # the edit was cancelled: its attachments go with it
            self.show_pending()
        self._edit_attachments = []
        if message is not None:
            banner.update("Editing an earlier message: Enter sends it as a new branch, Escape cancels.")
            text = message.content
            if message.parts:
                text = self._shown_message(message)[0]
                self.run_worker(self._restore_attachments(message), group="attach", exit_on_error=False)
            self.prompt.forget_recall()
            self.prompt.text = text
            self.prompt.focus()
            self.prompt.move_cursor(self.prompt.document.end)

    # -- conversations ----------------------------------------------------------------------------

    async def open_conversation(self, cid: int | None, at_message: int | None = None) -> None:
        """Show a conversation: its newest branch, or the branch through `at_message` (a search
        hit), which is then scrolled into view. A document (completion, edit) opens in its mode."""
        conv = self.app.store.get_conversation(cid) if cid is not None else None
        if conv is not None and conv.kind != "chat":
            self.app.open_document(conv.kind, conv.id)
            return
        self.workers.cancel_group(self, "reply")
        self.set_editing(None)
        self._retry_of = None
        app = self.app
        self.conversation_id = cid
        self._load_tool_switches()
        if cid is None:
            self.thread_tree = Tree([])
            self.leaf_id = None
            self.conversation.images = {}
            await self.conversation.show_thread([])
        else:
            self.reload_tree()
            if at_message is not None and at_message not in self.thread_tree.by_id:
                at_message = None
            self.leaf_id = self.thread_tree.latest_leaf(at_message)
            if conv is not None:
                if conv.model:
                    self.set_model(conv.model)
                params = self._saved_params(conv.params)
                app.params = params
                app.system_prompt = conv.system_prompt
                if pane := self.params_pane():
                    pane.set_params(params)
                    pane.set_system_prompt(conv.system_prompt)
            await self.conversation.show_thread(self.thread_tree.with_branches(self.leaf_id))
            if at_message is not None:
                await self.conversation.reveal(at_message)
        self.meter.set_history(self.history_messages(), app.system_prompt)
        self.update_status()
        self.refresh_conversation_list()
        self.prompt.focus()

    def _saved_params(self, saved: dict | None) -> ChatParams:
        """A conversation's saved parameters; ones no longer accepted (a schema saved before it was
        checked, say) give way to the defaults, with a word, instead of failing to open it."""
        from chat_tui.core.params import ParamError

        try:
            return ChatParams.from_dict(saved) if saved else ChatParams()
        except ParamError as exc:
            self.notify(f"This conversation's saved parameters are not accepted now ({exc}): the defaults are used.",
                        title="Parameters", severity="warning", timeout=10, markup=False)
            return ChatParams()

    # -- tools: the open conversation's switches (F12) ------------------------------------------

    def set_tool_switches(self, switches) -> None:
        """From the tools screen: applied to the next request and kept with the conversation (a
        new conversation's when its first message is saved)."""
        self.app.toolbox.switches = switches
        self._switches_unsaved = True
        self._keep_tool_switches()
        self.update_tool_cost()

    def _keep_tool_switches(self) -> None:
        if not self._switches_unsaved or self.conversation_id is None:
            return
        from chat_tui.services.tools import keep_switches

        app, cid = self.app, self.conversation_id
        if app.saved("keep the tool switches", lambda: keep_switches(app.store, cid, app.toolbox.switches)):
            self._switches_unsaved = False

    def _load_tool_switches(self) -> None:
        """The opened conversation's switches; a new conversation starts with every tool on."""
        from chat_tui.services.tools import load_switches

        self._switches_unsaved = False
        self.app.toolbox.switches = load_switches(self.app.store, self.conversation_id)
        self.update_tool_cost()

    def _tool_source_changed(self, provider) -> None:
        """An MCP server started, crashed or was restarted: what a request offers changed."""
        self.update_tool_cost()

    _tool_cost_asked = 0  # the newest update_tool_cost: an older one's answer is dropped

    def update_tool_cost(self) -> None:
        """The tool definitions the next request offers, for the token meter (they are prompt
        tokens), found without starting any server."""
        if self.app.tool_providers:
            self._tool_cost_asked += 1
            self._find_tool_cost(self._tool_cost_asked)

    @work(group="tool-cost", exit_on_error=False)
    async def _find_tool_cost(self, asked: int) -> None:
        import json

        app = self.app
        offered, complete = await app.toolbox.known_offered(app.params)
        count = None
        if offered:  # counted in a thread: the encoding may still be loading
            wire = json.dumps([o.spec.to_wire() for o in offered], ensure_ascii=False, separators=(",", ":"))
            count = await asyncio.to_thread(app.counter.count_text, wire, app.model)
        if asked == self._tool_cost_asked and self.is_attached:
            self.meter.set_tools(count, complete)

    def refresh_conversation_list(self) -> None:
        """Conversations, their order or titles may have changed: mark the open one and read
        the sidebar list again (debounced, in a thread; its cursor stays on its conversation)."""
        if listing := self.conversation_list():
            listing.set_current(self.conversation_id)
            listing.refresh_rows()

    def action_focus_conversations(self) -> None:
        """Focus the conversation list, showing the left pane if it was hidden."""
        pane = self.query_one("#left-slot")
        if not pane.display:
            pane.display = True
            self._pane_choice["#left-slot"] = True
        listing = self.conversation_list()
        if listing is None or not listing.focus_list():
            self.notify("No conversations yet.", timeout=2)

    def on_conversation_list_opened(self, event) -> None:
        if event.conversation_id == self.conversation_id:
            self.prompt.focus()  # already open: reopening would stop a reply being written
        else:
            self.run_worker(self.open_conversation(event.conversation_id), group="open")

    def on_conversation_list_left(self, event) -> None:
        self.prompt.focus()

    def action_toggle_pane(self, selector: str) -> None:
        pane = self.query_one(selector)
        pane.display = not pane.display
        self._pane_choice[selector] = pane.display

    def on_resize(self, event) -> None:
        self._fit_panes(event.size.width)

    def _fit_panes(self, width: int) -> None:
        """Narrow terminals keep the conversation readable: the side panes step aside (F2/F3
        bring them back), the parameters first."""
        for selector, needed in (("#right-slot", 120), ("#left-slot", 90)):
            if selector not in self._pane_choice:
                for slot in self.query(selector):  # none while the screen is closing
                    slot.display = width >= needed


def _image_prompt(text: str) -> str | None:
    """The prompt of a `/image PROMPT` line, or None for a chat message."""
    if not text.lstrip().startswith("/image"):
        return None
    from chat_tui.services.images import image_command

    return image_command(text)


def _rejects_images(error_text: str) -> bool:
    """OpenAI's 400 for an image or file part sent to a model that takes none."""
    text = error_text.lower()
    return ("image_url" in text or "image input" in text or "file input" in text
            or "invalid content type" in text) and ("only supported" in text or "not supported" in text
                                                    or "does not support" in text or "invalid content type" in text)


def _error_title(error: object) -> str:
    title = getattr(error, "title", None)
    return title or "Request failed"

