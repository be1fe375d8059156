"""The parameters of a legacy completion (`CompletionParams`): the chat pane's sliders and fields,
plus echo, logprobs 0–5, best_of and user. The suffix is not a field: it is the text after the
cursor. A value the API would refuse shows the reference's limit under its field and changes
nothing; best_of with streaming is explained, not refused (the round is fetched whole).

Messages up: `CompletionParamsPane.Changed(params)` after every effective change.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Static, Switch

from chat_tui.core.params import CompletionParams, ParamError
from chat_tui.core.tokens import TokenCounter
from chat_tui.ui.widgets.logit_bias import LogitBiasEditor
from chat_tui.ui.widgets.params_pane import (
    FLOAT_SLIDERS,
    _stop_list,
    coarse_tokens,
    max_output_tokens,
    stop_fields,
    typed_stops,
)
from chat_tui.ui.widgets.slider import FieldError, Slider

API_DEFAULT_MAX_TOKENS = 16  # the reference's default for /v1/completions
NUMBER_FIELDS = (("n", "1 (up to 128)"), ("best_of", "1 (up to 20)"), ("logprobs", "off (0..5)"),
                 ("seed", "random"), ("user", "(none)"))


class CompletionParamsPane(VerticalScroll):
    class Changed(Message):
        def __init__(self, params: CompletionParams) -> None:
            super().__init__()
            self.params = params

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, CompletionParamsPane.Changed)

    def __init__(self, params: CompletionParams, *, model: str, counter: TokenCounter | None,
                 id: str | None = "completion-params") -> None:
        super().__init__(id=id, classes="param-fields")  # styled with the chat's pane (params.tcss)
        self._params = params
        self._model = model
        self._counter = counter

    @property
    def params(self) -> CompletionParams:
        return self._params

    def set_model(self, model: str) -> None:
        self._model = model
        if self.is_mounted:
            limit = max_output_tokens(model)
            self.query_one("#cparam-max_tokens", Slider).set_range(1, limit, coarse=coarse_tokens(limit))
            self.query_one(LogitBiasEditor).set_model(model)

    def compose(self) -> ComposeResult:
        p = self._params
        yield Static("parameters", classes="pane-title", markup=False)
        for name, lo, hi, fine, coarse in FLOAT_SLIDERS[:2]:
            yield self._slider(name, lo, hi, fine, coarse)
        limit = max_output_tokens(self._model)
        yield Slider("max_tokens", minimum=1, maximum=limit, fine=1, coarse=coarse_tokens(limit), integer=True,
                     value=p.max_tokens, default_text=f"{API_DEFAULT_MAX_TOKENS} (the API's default)",
                     name="max_tokens", id="cparam-max_tokens")
        for name, lo, hi, fine, coarse in FLOAT_SLIDERS[2:]:
            yield self._slider(name, lo, hi, fine, coarse)
        yield from stop_fields(p.stop, "cparam-stop")
        yield FieldError(id="cerror-stop")
        with Horizontal(classes="field-row"):
            yield Label("echo", classes="field-label", markup=False)
            yield Switch(bool(p.echo), id="cparam-echo")
        for name, placeholder in NUMBER_FIELDS:
            value = getattr(p, name)
            yield Horizontal(
                Label(name, classes="field-label", markup=False),
                Input("" if value is None else str(value), placeholder=placeholder, name=name,
                      id=f"cparam-{name}", classes="number-input", compact=True),
                classes="field-row",
            )
            yield FieldError(id=f"cerror-{name}")
        yield Static("", id="cparam-note", markup=False)
        yield LogitBiasEditor(p.logit_bias, model=self._model, counter=self._counter)

    def _slider(self, name: str, lo: float, hi: float, fine: float, coarse: float) -> Slider:
        return Slider(name, minimum=lo, maximum=hi, fine=fine, coarse=coarse, value=getattr(self._params, name),
                      default=CompletionParams.default_of(name), name=name, id=f"cparam-{name}")

    def on_mount(self) -> None:
        self.query_one(LogitBiasEditor).set_model(self._model)
        self._show_note()

    def _show_note(self) -> None:
        from chat_tui.services.completions import best_of_note

        note = best_of_note(self._params) or ""
        self.query_one("#cparam-note", Static).update(note)

    def _apply(self, name: str, value: Any, error: str | None = None) -> bool:
        try:
            params = self._params.with_option(name, value)
            if name in ("n", "best_of"):
                params.validated()  # best_of must be at least n: said at once, under the field
        except ParamError as exc:
            if error:
                self.query_one(error, FieldError).show(str(exc))
            else:
                self.notify(str(exc), severity="error", markup=False)
            return False
        if error:
            self.query_one(error, FieldError).show(None)
        for other in ("n", "best_of"):  # the pair is valid again: both fields clear
            if name in ("n", "best_of"):
                self.query_one(f"#cerror-{other}", FieldError).show(None)
        if params != self._params:
            self._params = params
            self._show_note()
            self.post_message(self.Changed(params))
        return True

    @on(Slider.Changed)
    def _slider_changed(self, event: Slider.Changed) -> None:
        event.stop()
        if event.slider.name:
            self._apply(event.slider.name, event.value)

    @on(Input.Changed, ".number-input")
    def _number_changed(self, event: Input.Changed) -> None:
        event.stop()
        name = event.input.name or ""
        self._apply(name, event.input.value.strip() or None, f"#cerror-{name}")

    @on(Input.Changed, ".stop-input")
    def _stop_changed(self, event: Input.Changed) -> None:
        event.stop()
        try:
            sequences = typed_stops(self)
        except ParamError as exc:
            self.query_one("#cerror-stop", FieldError).show(str(exc))
            return
        if sequences != _stop_list(self._params.stop):
            self._apply("stop", sequences or None, "#cerror-stop")

    @on(Switch.Changed, "#cparam-echo")
    def _echo_changed(self, event: Switch.Changed) -> None:
        event.stop()
        self._apply("echo", True if event.switch.value else None)

    @on(LogitBiasEditor.Changed)
    def _bias_changed(self, event: LogitBiasEditor.Changed) -> None:
        event.stop()
        self._apply("logit_bias", event.bias)

    def set_params(self, params: CompletionParams) -> None:
        """Show `params` (a reopened document's). No message."""
        self._params = replace(params, suffix=None)
