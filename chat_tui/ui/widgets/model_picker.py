"""Left-pane model picker: an endpoint switcher, a type-to-filter box and the endpoint's models.

The app owns the network: it fetches `GET /v1/models` and calls `set_models()`. The picker only
posts messages up (`ProfileSelected`, `ModelSelected`). Model ids come from the server, so they
are shown literally (no markup, control characters made visible) and any typed id is accepted,
since many servers list no models or not the one the user wants.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from chat_tui.core.models_table import model_info
from chat_tui.core.text import visible_controls
from chat_tui.ui.widgets.token_meter import short_count

LOADING = "loading…"
EMPTY_HINT = "The endpoint lists no models: type any model id and press Enter."
ID_COLUMN_MIN = 8  # ids are padded to the longest one, or cut to fit the pane, so windows line up
WINDOW_COLUMN = 5  # "128k", "1M", right-aligned
CURRENT_MARK = "● "
OTHER_MARK = "  "


class FilterInput(Input):
    """The filter box: Down moves into the list (Input leaves Down unbound)."""

    BINDINGS = [
        Binding("down", "to_list", "Models", id="model_picker.filter_to_list", show=False),
    ]

    def action_to_list(self) -> None:
        picker = next((a for a in self.ancestors if isinstance(a, ModelPicker)), None)
        if picker is not None:
            picker.focus_list()


class ModelList(OptionList):
    """The models: Up on the first one goes back to the filter box."""

    BINDINGS = [
        Binding("up", "up_or_filter", "Up", id="model_picker.list_up", show=False),
    ]

    def on_resize(self, event: events.Resize) -> None:
        picker = next((a for a in self.ancestors if isinstance(a, ModelPicker)), None)
        if picker is not None:
            padding = self.get_component_styles("option-list--option").padding.width
            picker._set_row_width(self.scrollable_content_region.width - padding)

    def action_up_or_filter(self) -> None:
        if self.highlighted in (None, 0):
            picker = next((a for a in self.ancestors if isinstance(a, ModelPicker)), None)
            if picker is not None:
                picker.filter_input.focus()
                return
        self.action_cursor_up()


@dataclass
class _Entry:
    model_id: str
    folded: str  # casefolded id, for matching
    option: Option


class ModelPicker(Vertical):
    """Endpoint switcher + filter + model list. Mount with `id="model-picker"` (the default)."""

    @dataclass
    class ProfileSelected(Message):
        """The user chose another endpoint profile."""

        name: str
        picker: ModelPicker | None = field(default=None, repr=False, compare=False)

        @property
        def control(self) -> ModelPicker | None:
            return self.picker

    @dataclass
    class ModelSelected(Message):
        """The user chose a model (from the list, or typed an id and pressed Enter)."""

        model_id: str
        picker: ModelPicker | None = field(default=None, repr=False, compare=False)

        @property
        def control(self) -> ModelPicker | None:
            return self.picker

    def __init__(
        self,
        *,
        current_model: str,
        profiles: list[str],
        current_profile: str,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        id: str | None = "model-picker",
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.current_model = current_model
        self.overrides = overrides
        self._profiles = list(profiles)
        self._current_profile = current_profile
        self._models: list[str] | None = None
        self._error: str | None = None
        self._entries: list[_Entry] = []
        self._by_id: dict[str, _Entry] = {}
        self._row_width: int | None = None  # cells for one option, known once laid out
        self._id_width = 0
        self._query = ""
        self._shown: list[_Entry] = []  # what the OptionList holds, in order

    # -- composition ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Select(
            self._profile_options(self._profiles),
            value=self._current_profile if self._current_profile in self._profiles else Select.NULL,
            allow_blank=True,  # so an empty or unknown profile list never raises
            prompt="endpoint",
            id="model-picker-profile",
            compact=True,
        )
        yield FilterInput(placeholder="filter models / type an id", id="model-picker-filter")
        yield Static(LOADING, id="model-picker-status", markup=False)
        yield ModelList(id="model-picker-list", markup=False)

    @staticmethod
    def _profile_options(profiles: list[str]) -> list[tuple[Text, str]]:
        return [(Text(visible_controls(p)), p) for p in profiles]

    @property
    def filter_input(self) -> FilterInput:
        return self.query_one("#model-picker-filter", FilterInput)

    @property
    def option_list(self) -> ModelList:
        return self.query_one("#model-picker-list", ModelList)

    @property
    def status(self) -> Static:
        return self.query_one("#model-picker-status", Static)

    @property
    def shown_models(self) -> list[str]:
        """The model ids the list shows now (after filtering), in order."""
        return [e.model_id for e in self._shown]

    @property
    def highlighted_model(self) -> str | None:
        index = self.option_list.highlighted
        if index is None or not 0 <= index < len(self._shown):
            return None
        return self._shown[index].model_id

    def on_mount(self) -> None:
        self._apply_filter(force=True)  # set_models() may have come before the mount

    def focus_list(self) -> None:
        if self._shown:
            self.option_list.focus()

    # -- API for the app --------------------------------------------------------------------

    def set_models(self, models: list[str] | None, *, error: str | None = None) -> None:
        """None: loading. []: the endpoint lists none. `error`: why the list failed (literal)."""
        self._error = error
        self._models = None if models is None else list(dict.fromkeys(models))  # drop repeats
        ids = self._models or []
        self._id_width = self._id_column(ids)
        self._entries = [self._make_entry(m) for m in ids]
        self._by_id = {e.model_id: e for e in self._entries}
        self._shown = []
        self._apply_filter(force=True)

    def set_current(self, model_id: str) -> None:
        """Mark `model_id` as the current model (only the two affected rows are redrawn)."""
        old, self.current_model = self.current_model, model_id
        for changed in {old, model_id}:
            entry = self._by_id.get(changed)
            if entry is None:
                continue
            prompt = self._prompt(changed)
            index = self._shown.index(entry) if entry in self._shown and self.is_mounted else None
            if index is None:
                entry.option = Option(prompt)  # not in the list now: swap in a fresh option
            else:
                self.option_list.replace_option_prompt_at_index(index, prompt)
        if not self._query and model_id in self._by_id:
            self._highlight(self._by_id[model_id])

    def set_profiles(self, profiles: list[str], current: str) -> None:
        self._profiles = list(profiles)
        self._current_profile = current
        if not self.is_mounted:
            return  # compose() will use them
        select = self.query_one("#model-picker-profile", Select)
        with select.prevent(Select.Changed):
            select.set_options(self._profile_options(self._profiles))
            if current in self._profiles:
                select.value = current

    # -- rows ---------------------------------------------------------------------------------

    def _id_column(self, ids: list[str]) -> int:
        longest = max((len(m) for m in ids), default=0)
        if self._row_width is None:
            return longest
        fits = self._row_width - len(CURRENT_MARK) - 2 - WINDOW_COLUMN
        return max(ID_COLUMN_MIN, min(longest, fits))

    def _set_row_width(self, width: int) -> None:
        """The list was laid out or resized: re-pad the rows if the id column changed."""
        if width == self._row_width:
            return
        self._row_width = width
        column = self._id_column(self._models or [])
        if column == self._id_width:
            return
        self._id_width = column
        highlighted = self.highlighted_model
        for entry in self._entries:
            entry.option = Option(self._prompt(entry.model_id))
        self.option_list.set_options([e.option for e in self._shown])
        if highlighted is not None:
            self._highlight(self._by_id.get(highlighted))

    def _prompt(self, model_id: str) -> Content:
        shown = visible_controls(model_id)
        info = model_info(model_id, self.overrides)
        window = short_count(info.context_window) if info and info.context_window else ""
        current = model_id == self.current_model
        if window and len(shown) > self._id_width:
            shown = shown[: max(1, self._id_width - 1)] + "…"  # keep the window in view
        parts: list[tuple[str, str] | str] = [
            (CURRENT_MARK, "$accent") if current else OTHER_MARK,
            (shown, "bold") if current else shown,
        ]
        if window:
            pad = " " * (self._id_width - len(shown) + 2)
            parts.append((f"{pad}{window:>{WINDOW_COLUMN}}", "$text-muted"))
        # Content built from plain strings never parses markup: "[bold]x" stays "[bold]x".
        return Content.assemble(*parts)

    def _make_entry(self, model_id: str) -> _Entry:
        return _Entry(model_id, model_id.casefold(), Option(self._prompt(model_id)))

    # -- filtering ----------------------------------------------------------------------------

    def _apply_filter(self, *, force: bool = False) -> None:
        query = self.filter_input.value.strip().casefold() if self.is_mounted else ""
        previous = self._query
        self._query = query
        if query and not force and previous and previous in query:
            source = self._shown  # narrowing: only the current matches can still match
        else:
            source = self._entries
        shown = [e for e in source if query in e.folded] if query else list(source)
        if force or [e.model_id for e in shown] != self.shown_models:
            self._shown = shown
            if self.is_mounted:
                # Options are reused, so their rendered text and heights stay cached.
                self.option_list.set_options([e.option for e in shown])
        if self.is_mounted:
            self._highlight(self._best_match(query))
            self._refresh_status()

    def _best_match(self, query: str) -> _Entry | None:
        if not self._shown:
            return None
        if not query:
            return self._by_id.get(self.current_model) or self._shown[0]
        for entry in self._shown:
            if entry.folded == query:
                return entry
        return self._shown[0]

    def _highlight(self, entry: _Entry | None) -> None:
        if entry is None or not self.is_mounted:
            return
        try:
            index = self._shown.index(entry)
        except ValueError:
            return
        option_list = self.option_list
        option_list.highlighted = index
        option_list.scroll_to_highlight()

    def _refresh_status(self) -> None:
        typed = self.filter_input.value.strip()
        if self._error is not None:
            text = visible_controls(self._error)
            self.status.set_class(True, "-error")
        else:
            self.status.set_class(False, "-error")
            if self._models is None:
                text = LOADING
            elif not self._models:
                text = EMPTY_HINT
            elif not self._shown and typed:
                text = f"no match · Enter uses “{visible_controls(typed)}”"
            else:
                text = f"{len(self._shown)} of {len(self._models)}" if typed else f"{len(self._models)} models"
        self.status.update(text)

    # -- events -------------------------------------------------------------------------------

    @on(Input.Changed, "#model-picker-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._apply_filter()

    @on(Input.Submitted, "#model-picker-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        typed = event.value.strip()
        chosen = self.highlighted_model if self._shown else None
        if chosen is None and typed:
            chosen = typed  # nothing listed matches: use the typed id as is
        if chosen:
            self._choose(chosen)

    @on(OptionList.OptionSelected, "#model-picker-list")
    def _option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self._shown):
            self._choose(self._shown[event.option_index].model_id)

    @on(OptionList.OptionHighlighted, "#model-picker-list")
    def _option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()

    @on(Select.Changed, "#model-picker-profile")
    def _profile_changed(self, event: Select.Changed) -> None:
        event.stop()
        value = event.value
        if isinstance(value, str) and value != self._current_profile:
            self._current_profile = value
            self.post_message(self.ProfileSelected(value, picker=self))

    def _choose(self, model_id: str) -> None:
        self.set_current(model_id)
        self.post_message(self.ModelSelected(model_id, picker=self))


__all__ = ["EMPTY_HINT", "LOADING", "ModelPicker"]
