"""The Parameters pane: sliders and fields for `ChatParams`, the system prompt, presets.

Styles: `ui/styles/params.tcss`. The host app must list it in `CSS_PATH`, e.g.
`CSS_PATH = ["styles/app.tcss", "styles/params.tcss"]` (or use `PARAMS_TCSS`, an absolute path).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static, Switch, TextArea

from chat_tui.core.models_table import REASONING_PARAMS, model_info, offered_values
from chat_tui.core.params import ChatParams, ParamError
from chat_tui.core.structured import SchemaError, StrictError, Structured, response_format, structured_of
from chat_tui.core.text import visible_controls
from chat_tui.core.tokens import TokenCounter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat_tui.services.presets import Presets
from chat_tui.ui.widgets.attachments import PathSuggester
from chat_tui.ui.widgets.logit_bias import LogitBiasEditor
from chat_tui.ui.widgets.presets import PresetsSection
from chat_tui.ui.widgets.slider import FieldError, Slider

PARAMS_TCSS = Path(__file__).resolve().parent.parent / "styles" / "params.tcss"

FALLBACK_MAX_OUTPUT = 4096  # max_tokens limit for a model the table doesn't know
STOP_FIELDS = 4

# name, minimum, maximum, fine step, coarse step (max_tokens is built per model)
FLOAT_SLIDERS = (
    ("temperature", 0, 2, 0.05, 0.25),
    ("top_p", 0, 1, 0.01, 0.1),
    ("presence_penalty", -2, 2, 0.05, 0.25),
    ("frequency_penalty", -2, 2, 0.05, 0.25),
)
NUMBER_FIELDS = (("seed", "random"), ("n", "1 (up to 128)"), ("top_logprobs", "0..20"))
REASONING_LABELS = {"reasoning_effort": "effort", "verbosity": "verbosity"}
RESPONSE_FORMATS = (("text", "text"), ("JSON object", "json_object"), ("JSON schema", "json_schema"))


def max_output_tokens(model: str) -> int:
    info = model_info(model)
    return (info.max_output_tokens if info else None) or FALLBACK_MAX_OUTPUT


def coarse_tokens(limit: int) -> int:
    return max(1, round((limit - 1) / 20))  # about 5% of the range


# -- stop sequences as typed: one field each, with backslash escapes -------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
_ESCAPE_BACK = {v: "\\" + k for k, v in _ESCAPES.items()}


def unescape_stop(text: str) -> str:
    r"""`\n` newline, `\t` tab, `\r` CR, `\\` backslash, `\xHH` any byte-sized character."""
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        following = text[i + 1 : i + 2]
        if following and following in _ESCAPES:
            out.append(_ESCAPES[following])
            i += 2
        elif following == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 2 : i + 4]):
            out.append(chr(int(text[i + 2 : i + 4], 16)))
            i += 4
        else:
            bad = "a lone \\ at the end" if not following else f"unknown escape \\{following}"
            raise ParamError("stop", f"{bad}: use \\n, \\t, \\r, \\xHH, or \\\\ for a backslash")
    return "".join(out)


def escape_stop(sequence: str) -> str:
    """The text to show for a stop sequence; `unescape_stop(escape_stop(s)) == s`."""
    def one(char: str) -> str:
        if char in _ESCAPE_BACK:
            return _ESCAPE_BACK[char]
        if ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F:
            return f"\\x{ord(char):02x}"
        return char

    return "".join(one(c) for c in sequence)


def stop_fields(stop: str | list[str] | None, id_prefix: str) -> ComposeResult:
    """The stop sequences' label and their four one-sequence fields (`{id_prefix}-0` …)."""
    yield Label(r"stop  (\n newline, \t tab, \\ backslash)", classes="param-label", markup=False)
    texts = [escape_stop(s) for s in _stop_list(stop)] + [""] * STOP_FIELDS
    with Grid(id="stop-grid"):
        for i in range(STOP_FIELDS):
            yield Input(texts[i], placeholder=f"stop {i + 1}", id=f"{id_prefix}-{i}", classes="stop-input", compact=True)


def typed_stops(pane: Widget) -> list[str]:
    """The sequences typed in a pane's stop fields, escapes undone (ParamError for a bad one)."""
    return [unescape_stop(field.value) for field in pane.query(".stop-input").results(Input) if field.value]


def _stop_list(stop: str | list[str] | None) -> list[str]:
    return [stop] if isinstance(stop, str) else list(stop or [])


class ParamsPane(VerticalScroll):
    r"""The right-hand Parameters pane (id `params-pane`).

    Controls: sliders for temperature, top_p, max_tokens (1..the model's output limit),
    presence_penalty and frequency_penalty; reasoning `effort` and `verbosity`, offered only when
    the model takes them, with its own values (`models_table.offered_values`; a model not known
    here is offered every usual value, marked unchecked); the system prompt; four stop-sequence fields, one
    sequence each, where `\n` is a newline, `\t` a tab, `\\` a backslash and `\xHH` any control
    character (so "\n\n" is typed `\n\n`, and a comma is just a comma); seed; n; logprobs with
    top_logprobs (used only while logprobs is on); the logit_bias editor; the response format
    (text, JSON object, or JSON schema: from a file, Enter loads it, or typed in the schema
    editor, with the strict switch); tool_choice (auto, none, required or a tool's name) and
    parallel calls (on: the API's default, not sent), both sent only with tools; presets (only
    with a store); "reset all" (ctrl+r, or the button) back to all defaults.

    The schema is kept while another format is chosen, so switching back to JSON schema
    brings it back. A schema that is not a JSON Schema, or breaks strict mode's rules while
    strict is on, is refused with the place it breaks them and changes nothing.

    Empty field = default = not sent. A value the API would refuse shows the `ParamError`
    message under its field, keeps the text, and leaves `params` unchanged.

    Messages up: `ParamsPane.Changed(params)` after every effective change the user makes (and
    when `set_model` clamps max_tokens), `ParamsPane.SystemPromptChanged(text | None)`.
    `set_params`/`set_system_prompt` from code never post.
    """

    BINDINGS = [Binding("ctrl+u", "reset_all", "Reset parameters", id="params.reset_all")]

    class Changed(Message):
        def __init__(self, params: ChatParams) -> None:
            super().__init__()
            self.params = params

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, ParamsPane.Changed)  # only the newest state matters

    class SystemPromptChanged(Message):
        def __init__(self, text: str | None) -> None:
            super().__init__()
            self.text = text

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, ParamsPane.SystemPromptChanged)

    def __init__(
        self,
        params: ChatParams,
        *,
        model: str,
        counter: TokenCounter | None,
        presets: Presets | None,
        system_prompt: str | None = None,
        id: str | None = "params-pane",
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.add_class("param-fields")  # the field styles it shares with completion mode's pane
        self._model = model
        self._counter = counter
        self._presets = presets
        self._params = self._clamped(params)
        self._system_prompt = system_prompt if system_prompt and system_prompt.strip() else None
        self._schema: Structured | None = structured_of(params.response_format)  # kept across format changes

    # -- public API -------------------------------------------------------------------------

    @property
    def params(self) -> ChatParams:
        return self._params

    @property
    def model(self) -> str:
        return self._model

    @property
    def system_prompt(self) -> str | None:
        return self._system_prompt

    def set_params(self, params: ChatParams) -> None:
        """Show `params` (max_tokens clamped to the model's limit; read `params` after). No message."""
        self._params = self._clamped(params)
        if self.is_mounted:
            self._sync_widgets()

    def set_system_prompt(self, text: str | None) -> None:
        """Show `text` as the system prompt (blank = none). No message."""
        self._system_prompt = text if text and text.strip() else None
        if self.is_mounted:
            self.query_one("#system-prompt", TextArea).load_text(text or "")

    def set_model(self, model: str) -> None:
        """Adopt `model`'s max_tokens range (clamping the value: posts Changed), vocabulary and
        reasoning values (a value it does not take goes back to default: posts Changed)."""
        self._model = model
        if not self.is_mounted:
            self._params = self._clamped(self._params)
            return
        self._sync_range()
        clamped = self._clamped(self._params)
        if clamped != self._params:
            self.query_one("#param-max_tokens", Slider).set_value(clamped.max_tokens)
            self._commit(clamped)
        self._sync_reasoning()
        self.query_one(LogitBiasEditor).set_model(model)

    def action_reset_all(self) -> None:
        self._replace(ChatParams())

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        p = self._params
        yield Static("parameters", classes="pane-title", markup=False)
        for name, lo, hi, fine, coarse in FLOAT_SLIDERS[:2]:
            yield self._slider(name, lo, hi, fine, coarse)
        limit = max_output_tokens(self._model)
        yield Slider(
            "max_tokens", minimum=1, maximum=limit, fine=1, coarse=coarse_tokens(limit), integer=True,
            value=p.max_tokens, default_text="default (model max)", name="max_tokens", id="param-max_tokens",
        )
        for name, lo, hi, fine, coarse in FLOAT_SLIDERS[2:]:
            yield self._slider(name, lo, hi, fine, coarse)

        with Vertical(id="reasoning-fields"):
            yield Static("", id="reasoning-note", classes="param-label", markup=False)
            for name in REASONING_PARAMS:
                with Horizontal(classes="field-row", id=f"row-{name}"):
                    yield Label(REASONING_LABELS[name], classes="field-label", markup=False)
                    yield Select([], prompt="default", id=f"param-{name}", name=name, compact=True,
                                 classes="reasoning-select")

        yield Label("system prompt", classes="param-label", markup=False)
        yield TextArea(self._system_prompt or "", id="system-prompt", soft_wrap=True, compact=True)

        yield from stop_fields(p.stop, "param-stop")
        yield FieldError(id="error-stop")

        for name, placeholder in NUMBER_FIELDS:
            if name == "top_logprobs":
                with Horizontal(classes="field-row"):
                    yield Label("logprobs", classes="field-label", markup=False)
                    yield Switch(bool(p.logprobs), id="param-logprobs")
            value = getattr(p, name)
            yield Horizontal(
                Label(name, classes="field-label", markup=False),
                Input(
                    "" if value is None else str(value), placeholder=placeholder, name=name,
                    id=f"param-{name}", classes="number-input", compact=True,
                    disabled=name == "top_logprobs" and not p.logprobs,
                ),
                classes="field-row",
            )
            yield FieldError(id=f"error-{name}")

        yield LogitBiasEditor(p.logit_bias, model=self._model, counter=self._counter)
        yield from self._response_format_fields()

        # Function calling: sent only with a request that offers tools.
        yield Label("tools  (sent only when tools are on)", classes="param-label", markup=False)
        yield Horizontal(
            Label("tool_choice", classes="field-label", markup=False),
            Input(p.tool_choice or "", placeholder="auto · none · required · NAME", id="param-tool_choice",
                  classes="choice-input", compact=True),
            classes="field-row",
        )
        yield FieldError(id="error-tool_choice")
        with Horizontal(classes="field-row"):
            yield Label("parallel calls", classes="field-label", markup=False)
            yield Switch(p.parallel_tool_calls is not False, id="param-parallel_tool_calls")
        if self._presets is not None:
            yield PresetsSection(self._presets, p)
        yield Button("reset all", id="params-reset-all", compact=True)

    def _response_format_fields(self) -> ComposeResult:
        yield Label("response format", classes="param-label", markup=False)
        yield Select(RESPONSE_FORMATS, value=self._format_kind(), allow_blank=False, compact=True,
                     id="param-response-format")
        with Vertical(id="schema-fields"):
            with Horizontal(classes="field-row"):
                yield Label("schema file", classes="field-label", markup=False)
                yield Input(placeholder="a .json file (→ completes, Enter loads)", suggester=PathSuggester(),
                            id="param-schema-file", compact=True)
            with Horizontal(classes="field-row"):
                yield Label("strict", classes="field-label", markup=False)
                yield Switch(self._schema.strict if self._schema else True, id="param-schema-strict")
                yield Button("edit schema…", id="param-schema-edit", compact=True)
            yield Static("", id="schema-status", markup=False)
        yield FieldError(id="error-response_format")

    def _format_kind(self) -> str:
        fmt = self._params.response_format
        kind = fmt.get("type") if isinstance(fmt, dict) else "text"
        return kind if kind in ("text", "json_object", "json_schema") else "text"

    def _slider(self, name: str, lo: float, hi: float, fine: float, coarse: float) -> Slider:
        return Slider(
            name, minimum=lo, maximum=hi, fine=fine, coarse=coarse, value=getattr(self._params, name),
            default=ChatParams.default_of(name), name=name, id=f"param-{name}",
        )

    def on_mount(self) -> None:
        # in case a set_* call came between compose and mount
        self._sync_range()
        self._offered: dict[str, tuple[str, ...]] = {}
        self._sync_reasoning()
        self._sync_widgets()
        self.query_one(LogitBiasEditor).set_model(self._model)
        area = self.query_one("#system-prompt", TextArea)
        if (area.text if area.text.strip() else None) != self._system_prompt:
            area.load_text(self._system_prompt or "")

    def _sync_reasoning(self) -> None:
        """Offer `effort` and `verbosity` as the model takes them; drop a value it does not."""
        fitted = self._params.fitted_to(self._model)
        if fitted != self._params:
            self._commit(fitted)
        checked = True
        for name in REASONING_PARAMS:
            values, known = offered_values(self._model, name)
            checked = checked and known
            select = self.query_one(f"#param-{name}", Select)
            self.query_one(f"#row-{name}").display = bool(values)
            if values != self._offered.get(name):
                self._offered[name] = values
                with self.prevent(Select.Changed):
                    select.set_options([(v, v) for v in values])
            self._show_select(select, getattr(self._params, name))
        fields = self.query_one("#reasoning-fields")
        fields.display = any(self._offered.values())
        # A model not in the table (another server's): every usual value, not checked.
        note = "reasoning" if checked else "reasoning (unchecked for this model)"
        self.query_one("#reasoning-note", Static).update(note)

    def _show_select(self, select: Select, value: str | None) -> None:
        with self.prevent(Select.Changed):
            if value is None or value not in self._offered.get(select.name or "", ()):
                select.clear()
            else:
                select.value = value

    def _sync_range(self) -> None:
        limit = max_output_tokens(self._model)
        self.query_one("#param-max_tokens", Slider).set_range(1, limit, coarse=coarse_tokens(limit))

    # -- state ------------------------------------------------------------------------------

    def _clamped(self, params: ChatParams) -> ChatParams:
        limit = max_output_tokens(self._model)
        if params.max_tokens is not None and params.max_tokens > limit:
            return replace(params, max_tokens=limit)
        return params

    def _sync_widgets(self) -> None:
        p = self._params
        for slider in self.query(Slider):
            if slider.name:
                slider.set_value(getattr(p, slider.name))
        texts = [escape_stop(s) for s in _stop_list(p.stop)] + [""] * STOP_FIELDS
        for i in range(STOP_FIELDS):
            self.query_one(f"#param-stop-{i}", Input).value = texts[i]
        for name, _ in NUMBER_FIELDS:
            value = getattr(p, name)
            self.query_one(f"#param-{name}", Input).value = "" if value is None else str(value)
        for name in ("stop", *(n for n, _ in NUMBER_FIELDS)):
            self.query_one(f"#error-{name}", FieldError).show(None)
        for name in REASONING_PARAMS:
            self._show_select(self.query_one(f"#param-{name}", Select), getattr(p, name))
        self.query_one("#param-logprobs", Switch).value = bool(p.logprobs)
        self.query_one("#param-tool_choice", Input).value = p.tool_choice or ""
        self.query_one("#error-tool_choice", FieldError).show(None)
        self.query_one("#param-parallel_tool_calls", Switch).value = p.parallel_tool_calls is not False
        self.query_one("#param-top_logprobs", Input).disabled = not p.logprobs
        self.query_one(LogitBiasEditor).set_bias(p.logit_bias)
        self._sync_format()
        for presets in self.query(PresetsSection):
            presets.current = p

    def _sync_format(self) -> None:
        found = structured_of(self._params.response_format)
        if found is not None:
            self._schema = found
            switch = self.query_one("#param-schema-strict", Switch)
            with switch.prevent(Switch.Changed):
                switch.value = found.strict
        select = self.query_one("#param-response-format", Select)
        with select.prevent(Select.Changed):
            select.value = self._format_kind()
        self.query_one("#error-response_format", FieldError).show(None)
        self._show_schema_fields()

    def _show_schema_fields(self) -> None:
        chosen = self.query_one("#param-response-format", Select).value
        self.query_one("#schema-fields").display = chosen == "json_schema"
        schema = self._schema
        if schema is None:
            status = "no schema yet: load a file (Enter) or edit one"
        else:
            count = len(schema.schema.get("properties") or {}) if isinstance(schema.schema.get("properties"), dict) else 0
            status = f"{visible_controls(schema.name)} · {count} propert{'y' if count == 1 else 'ies'}"
            if structured_of(self._params.response_format) is None:
                status += " (not in use)"
        self.query_one("#schema-status", Static).update(Text(status))

    def _commit(self, params: ChatParams) -> None:
        if params == self._params:
            return
        self._params = params
        for presets in self.query(PresetsSection):
            presets.current = params
        self.post_message(self.Changed(params))

    def _replace(self, params: ChatParams) -> None:
        """Apply a whole set of params as the user's action (preset load, reset all)."""
        before = self._params
        self.set_params(params)
        if self._params != before:
            self.post_message(self.Changed(self._params))

    def _apply(self, name: str, value: Any, error: str | None = None) -> bool:
        """Set one parameter; a refused value shows its message and changes nothing."""
        try:
            params = self._params.with_option(name, value)
        except ParamError as exc:
            if error:
                self.query_one(error, FieldError).show(str(exc))
            else:
                self.notify(str(exc), severity="error", markup=False)
            return False
        if error:
            self.query_one(error, FieldError).show(None)
        self._commit(params)
        return True

    # -- events -----------------------------------------------------------------------------

    @on(Slider.Changed)
    def _slider_changed(self, event: Slider.Changed) -> None:
        event.stop()
        if event.slider.name:
            self._apply(event.slider.name, event.value)

    @on(Input.Changed, ".number-input")
    def _number_changed(self, event: Input.Changed) -> None:
        event.stop()
        name = event.input.name or ""
        if name == "top_logprobs" and not self.query_one("#param-logprobs", Switch).value:
            return
        self._apply(name, event.input.value.strip() or None, f"#error-{name}")

    @on(Input.Changed, ".stop-input")
    def _stop_changed(self, event: Input.Changed) -> None:
        event.stop()
        error = self.query_one("#error-stop", FieldError)
        try:
            sequences = typed_stops(self)
        except ParamError as exc:
            error.show(str(exc))
            return
        if sequences == _stop_list(self._params.stop):
            error.show(None)  # same sequences (a single one may be stored as a plain string)
            return
        self._apply("stop", sequences or None, "#error-stop")

    @on(Select.Changed, ".reasoning-select")
    def _reasoning_changed(self, event: Select.Changed) -> None:
        event.stop()
        value = None if event.value is Select.NULL else event.value
        self._apply(event.select.name or "", value)

    @on(Switch.Changed, "#param-logprobs")
    def _logprobs_changed(self, event: Switch.Changed) -> None:
        event.stop()
        on = event.switch.value
        top = self.query_one("#param-top_logprobs", Input)
        top.disabled = not on
        if on == bool(self._params.logprobs):
            return
        params = self._params.with_option("logprobs", True if on else None)
        top_error = self.query_one("#error-top_logprobs", FieldError)
        top_error.show(None)
        if not on:
            params = params.with_option("top_logprobs", None)
        else:
            try:
                params = params.with_option("top_logprobs", top.value.strip() or None)
            except ParamError as exc:
                top_error.show(str(exc))
        self._commit(params)

    @on(Input.Changed, "#param-tool_choice")
    def _tool_choice_changed(self, event: Input.Changed) -> None:
        event.stop()
        if (event.input.value.strip() or None) != self._params.tool_choice:
            self._apply("tool_choice", event.input.value.strip() or None, "#error-tool_choice")

    @on(Switch.Changed, "#param-parallel_tool_calls")
    def _parallel_changed(self, event: Switch.Changed) -> None:
        event.stop()
        # On is the API's default (not sent); off sends parallel_tool_calls: false.
        value = None if event.switch.value else False
        if value != self._params.parallel_tool_calls:
            self._apply("parallel_tool_calls", value)

    @on(TextArea.Changed, "#system-prompt")
    def _system_prompt_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        text = event.text_area.text
        value = text if text.strip() else None
        if value != self._system_prompt:
            self._system_prompt = value
            self.post_message(self.SystemPromptChanged(value))

    @on(LogitBiasEditor.Changed)
    def _bias_changed(self, event: LogitBiasEditor.Changed) -> None:
        event.stop()
        self._apply("logit_bias", event.bias)

    # -- response format ----------------------------------------------------------------------

    @on(Select.Changed, "#param-response-format")
    def _format_chosen(self, event: Select.Changed) -> None:
        event.stop()
        kind = event.value
        if kind == "json_schema":
            if self._schema is not None:
                self._use_schema(self._schema.name, self._schema.schema)
            else:
                self.query_one("#error-response_format", FieldError).show(None)
        else:
            self._apply("response_format", None if kind == "text" else {"type": kind}, "#error-response_format")
        self._show_schema_fields()

    def _use_schema(self, name: str, schema: dict[str, Any]) -> bool:
        """Send `schema` from now on (with the strict switch's setting); a schema the API would
        refuse shows why and changes nothing."""
        strict = self.query_one("#param-schema-strict", Switch).value
        error = self.query_one("#error-response_format", FieldError)
        try:
            fmt = response_format(name, schema, strict=strict)
        except SchemaError as exc:
            error.show(f"{exc}{' (or turn strict off)' if isinstance(exc, StrictError) else ''}")
            return False
        if not self._apply("response_format", fmt, "#error-response_format"):
            return False
        self._schema = Structured(name, schema, strict)
        select = self.query_one("#param-response-format", Select)
        with select.prevent(Select.Changed):
            select.value = "json_schema"
        self._show_schema_fields()
        return True

    @on(Input.Submitted, "#param-schema-file")
    def _schema_file_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = event.value.strip()
        if not path:
            self.query_one("#error-response_format", FieldError).show("type the path of a JSON Schema file")
            return
        self.run_worker(self.load_schema_file(path), group="schema-file", exclusive=True, exit_on_error=False)

    async def load_schema_file(self, path: str) -> bool:
        """Read a schema file (in a thread) and send it from now on; the path stays in the field."""
        import asyncio

        from chat_tui.services.structured import read_schema

        try:
            name, schema = await asyncio.to_thread(read_schema, path)
        except SchemaError as exc:
            self.query_one("#error-response_format", FieldError).show(f"{path}: {exc}")
            return False
        return self._use_schema(name, schema)

    @on(Switch.Changed, "#param-schema-strict")
    def _strict_changed(self, event: Switch.Changed) -> None:
        event.stop()
        if self._schema is None or structured_of(self._params.response_format) is None:
            return
        if not self._use_schema(self._schema.name, self._schema.schema):
            with event.switch.prevent(Switch.Changed):  # refused: the switch says what is sent
                event.switch.value = not event.switch.value

    @on(Button.Pressed, "#param-schema-edit")
    def _edit_schema(self, event: Button.Pressed) -> None:
        event.stop()
        from chat_tui.ui.screens.schema_editor import SchemaEditorScreen

        def edited(result: tuple[str, dict[str, Any]] | None) -> None:
            if result is not None:
                self._use_schema(*result)

        schema = self._schema
        strict = self.query_one("#param-schema-strict", Switch).value
        self.app.push_screen(SchemaEditorScreen(schema.name if schema else "", schema.schema if schema else None,
                                                strict=strict), edited)

    @on(PresetsSection.Loaded)
    def _preset_loaded(self, event: PresetsSection.Loaded) -> None:
        event.stop()
        self._replace(event.params)

    @on(Button.Pressed, "#params-reset-all")
    def _reset_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_reset_all()
