"""The logit_bias editor: type a word, see its tokens for the current model, bias them.

Tokenizing can load an encoding (a fraction of a second the first time), so it runs in a thread
worker, never on a keystroke in the UI thread. Token pieces are model output in all but name:
they are shown literally, with control characters made visible.
"""

from __future__ import annotations

import re

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, Input, Label, Static
from textual.worker import get_current_worker

from chat_tui.core.params import ChatParams, ParamError
from chat_tui.core.text import visible_controls
from chat_tui.core.tokens import (
    EncodingUnavailable,
    TokenCounter,
    encoding_name_for_model,
    is_openai_tokenizer_model,
)
from chat_tui.ui.widgets.slider import FieldError

MAX_ROWS = 64  # tokens listed for one text; a paragraph pasted by mistake stays cheap


def show_piece(piece: str | None) -> str:
    """A token's text on one line: quoted, control characters (newline and tab too) visible."""
    if piece is None:
        return ""
    return "'" + visible_controls(piece).replace("\n", "\u240a").replace("\t", "\u2409") + "'"


def parse_token_ids(text: str) -> list[int]:
    """"1734 892", "1734, 892" → [1734, 892]; ValueError with a clear message otherwise."""
    ids = []
    for item in filter(None, re.split(r"[\s,]+", text.strip())):
        if not item.isdigit():
            raise ValueError(f"{item!r} is not a token id: enter whole numbers separated by spaces")
        ids.append(int(item))
    return ids


class _TokenButton(Button):
    def __init__(self, label: str, token_id: int, *, classes: str) -> None:
        super().__init__(label, compact=True, classes=classes)
        self.token_id = token_id


class TokenRows(Vertical):
    """The tokens of the typed text: `id  'piece'` and a button adding the bias to that token."""

    rows: reactive[tuple[tuple[int, str | None], ...]] = reactive((), recompose=True)

    def compose(self) -> ComposeResult:
        for token_id, piece in self.rows[:MAX_ROWS]:
            with Horizontal(classes="token-row"):
                text = "  ".join(filter(None, (str(token_id), show_piece(piece))))
                yield Static(Text(text), classes="token-text", markup=False)
                yield _TokenButton("add", token_id, classes="token-add")
        if len(self.rows) > MAX_ROWS:
            yield Static(f"… and {len(self.rows) - MAX_ROWS} more (use “add all”)", classes="token-more", markup=False)


class BiasRows(Vertical):
    """The current biases: `id  'piece'  bias` and a button removing it."""

    rows: reactive[tuple[tuple[int, str | None, float], ...]] = reactive((), recompose=True)

    def compose(self) -> ComposeResult:
        if not self.rows:
            yield Static("no biases", classes="bias-none", markup=False)
        for token_id, piece, bias in self.rows:
            with Horizontal(classes="bias-row"):
                text = "  ".join(filter(None, (str(token_id), show_piece(piece), f"{bias:+g}")))
                yield Static(Text(text), classes="bias-text", markup=False)
                yield _TokenButton("remove", token_id, classes="bias-remove")


class LogitBiasEditor(Vertical):
    """Edit `logit_bias`: {token id (as a string): bias −100..100}.

    The user types text and sees its tokens for the current model (`TokenCounter` runs in a
    thread worker), then adds the bias typed in the bias field to one token or to all of them.
    Without an exact tokenizer for the model (no counter, a non-OpenAI model, or
    `EncodingUnavailable`), the text field takes raw token ids instead ("1734 892").
    Posts `LogitBiasEditor.Changed` on every change the user makes; `set_bias()` does not.
    """

    class Changed(Message):
        def __init__(self, editor: "LogitBiasEditor", bias: dict[str, int] | None) -> None:
            super().__init__()
            self.editor = editor
            self.bias = bias

        @property
        def control(self) -> "LogitBiasEditor":
            return self.editor

    def __init__(
        self,
        bias: dict[str, int] | None = None,
        *,
        model: str,
        counter: TokenCounter | None,
        id: str | None = "logit-bias",
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._bias: dict[str, int] = dict(bias or {})
        self._model = model
        self._counter = counter
        self._pieces: dict[int, str | None] = {}  # for the current model; None = not in vocabulary
        self._exact: bool | None = None  # None until the worker has tried the tokenizer
        self._tokens: list[tuple[int, str | None]] = []

    # -- public API -------------------------------------------------------------------------

    @property
    def bias(self) -> dict[str, int]:
        return dict(self._bias)

    @property
    def exact(self) -> bool | None:
        """True: ids come from the model's tokenizer; False: raw ids; None: not known yet."""
        return self._exact

    def set_bias(self, bias: dict[str, int] | None) -> None:
        """Show `bias` (no message)."""
        self._bias = dict(bias or {})
        if self.is_mounted:
            self._show_biases()
            if self._exact is not False and any(int(k) not in self._pieces for k in self._bias):
                self._lookup()  # decode the new ids' pieces

    def set_model(self, model: str) -> None:
        """Token ids differ between vocabularies: re-tokenize the text, re-decode the biases."""
        if model == self._model:
            return
        self._model = model
        self._pieces.clear()
        self._exact = None
        if self.is_mounted:
            self._lookup()

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Label("logit_bias", classes="param-label")
        yield Input(placeholder="word or text to tokenize", id="lb-text", compact=True)
        yield Static("", id="lb-status", markup=False)
        with Horizontal(classes="field-row"):
            yield Label("bias", classes="field-label")
            yield Input("-100", id="lb-bias", compact=True, placeholder="-100..100")
            yield Button("add all", id="lb-add-all", compact=True)
        yield FieldError(id="lb-error")
        yield TokenRows(id="lb-tokens")
        yield BiasRows(id="lb-biases")

    def on_mount(self) -> None:
        self._show_biases()
        self._lookup()

    # -- tokenizing -------------------------------------------------------------------------

    def _status(self, text: str) -> None:
        self.query_one("#lb-status", Static).update(Text(text))

    def _raw_reason(self) -> str | None:
        """Why ids must be typed raw, known without loading anything; None: try the tokenizer."""
        model = visible_controls(self._model)
        if self._counter is None:
            return "no tokenizer available: enter token ids (e.g. 1734 892)"
        if not is_openai_tokenizer_model(self._model):
            return f"no exact tokenizer for {model} (its ids differ from OpenAI's): enter token ids"
        return None

    def _lookup(self) -> None:
        """Show the tokens of the typed text and the pieces of the biased ids (in a worker)."""
        text = self.query_one("#lb-text", Input).value
        reason = self._raw_reason()
        if reason is not None:
            self._go_raw(reason)
            return
        if text:
            self._status("tokenizing…")
        ids = tuple(int(k) for k in self._bias if int(k) not in self._pieces)
        self._tokenize(text, self._model, ids)

    @work(thread=True, exclusive=True, group="logit-bias", exit_on_error=False)
    def _tokenize(self, text: str, model: str, ids: tuple[int, ...]) -> None:
        worker = get_current_worker()
        counter = self._counter
        assert counter is not None
        try:
            tokens = counter.encode_with_pieces(text, model)
            pieces: dict[int, str | None] = {}
            for token_id in ids:
                try:
                    pieces[token_id] = counter.token_id_to_piece(token_id, model)
                except KeyError:
                    pieces[token_id] = None
            error = None
        except EncodingUnavailable as exc:
            tokens, pieces, error = [], {}, str(exc)
        if not worker.is_cancelled:
            self.app.call_from_thread(self._tokenized, text, model, tokens, pieces, error)

    def _tokenized(
        self, text: str, model: str, tokens: list[tuple[int, str]], pieces: dict[int, str | None], error: str | None
    ) -> None:
        if model != self._model or text != self.query_one("#lb-text", Input).value:
            return  # a newer lookup is on its way
        if error is not None:
            self._go_raw(f"no exact tokenizer for {visible_controls(model)} ({visible_controls(error)}): enter token ids")
            return
        self._exact = True
        self.query_one("#lb-error", FieldError).show(None)
        self.query_one("#lb-text", Input).placeholder = "word or text to tokenize"
        self._pieces.update(pieces)
        self._pieces.update(tokens)
        self._tokens = list(tokens)
        encoding = encoding_name_for_model(model)
        if text:
            count = len(tokens)
            self._status(f"{count} token{'s' if count != 1 else ''} ({encoding})")
        else:
            self._status(f"type text to see its tokens ({encoding})")
        self.query_one(TokenRows).rows = tuple(self._tokens)
        self._show_biases()

    def _go_raw(self, reason: str) -> None:
        self._exact = False
        self.query_one("#lb-text", Input).placeholder = "token ids, e.g. 1734 892"
        text = self.query_one("#lb-text", Input).value
        error = self.query_one("#lb-error", FieldError)
        try:
            ids = parse_token_ids(text)
        except ValueError as exc:
            ids = []
            error.show(str(exc))
        else:
            error.show(None)
        self._status(reason)
        self._tokens = [(token_id, None) for token_id in ids]
        self.query_one(TokenRows).rows = tuple(self._tokens)
        self._show_biases()

    @on(Input.Changed, "#lb-text")
    def _text_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._lookup()

    # -- editing ----------------------------------------------------------------------------

    def _show_biases(self) -> None:
        pieces = self._pieces if self._exact else {}
        self.query_one(BiasRows).rows = tuple(
            (int(k), pieces.get(int(k)), v) for k, v in self._bias.items()
        )

    def _add(self, ids: list[int]) -> None:
        error = self.query_one("#lb-error", FieldError)
        if not ids:
            error.show("nothing to add: type a word (or token ids) first")
            return
        raw = self.query_one("#lb-bias", Input).value.strip()
        try:
            updated = {**self._bias, **{str(token_id): raw for token_id in ids}}
            bias = ChatParams().with_option("logit_bias", updated).logit_bias or {}
        except ParamError as exc:
            error.show(str(exc))
            return
        error.show(None)
        self._commit(bias)

    def _commit(self, bias: dict[str, int]) -> None:
        if bias == self._bias:
            return
        self._bias = bias
        self._show_biases()
        self.post_message(self.Changed(self, dict(bias) or None))

    @on(Button.Pressed, "#lb-add-all")
    def _add_all(self, event: Button.Pressed) -> None:
        event.stop()
        self._add([token_id for token_id, _ in self._tokens])

    @on(Input.Submitted, "#lb-bias")
    def _bias_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._add([token_id for token_id, _ in self._tokens])

    @on(Button.Pressed, ".token-add")
    def _add_one(self, event: Button.Pressed) -> None:
        event.stop()
        assert isinstance(event.button, _TokenButton)
        self._add([event.button.token_id])

    @on(Button.Pressed, ".bias-remove")
    def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        assert isinstance(event.button, _TokenButton)
        bias = dict(self._bias)
        bias.pop(str(event.button.token_id), None)
        self._commit(bias)
