"""ModelPicker in a small host app, driven with Pilot."""

from __future__ import annotations

import pytest
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Input, OptionList, Select

import chat_tui.ui
from chat_tui.ui.widgets.model_picker import EMPTY_HINT, LOADING, ModelPicker

STYLES = Path(chat_tui.ui.__file__).parent / "styles"
MODELS = ["gpt-4o", "gpt-4o-mini", "o3-mini", "gpt-4.1", "llama3:8b"]


class PickerHost(App[None]):
    CSS_PATH = [STYLES / "picker.tcss"]

    def __init__(self, models: list[str] | None = None, **kw) -> None:
        super().__init__()
        self.kw = {"current_model": "gpt-4o", "profiles": ["openai", "local"], "current_profile": "openai", **kw}
        self.models = models
        self.selected: list[str] = []
        self.profiles: list[str] = []

    def compose(self) -> ComposeResult:
        yield ModelPicker(**self.kw)

    def on_mount(self) -> None:
        if self.models is not None:
            self.query_one(ModelPicker).set_models(self.models)

    def on_model_picker_model_selected(self, message: ModelPicker.ModelSelected) -> None:
        self.selected.append(message.model_id)

    def on_model_picker_profile_selected(self, message: ModelPicker.ProfileSelected) -> None:
        self.profiles.append(message.name)


def list_lines(option_list: OptionList) -> list[str]:
    """The text the option list puts on screen, line by line."""
    return [option_list.render_line(y).text.rstrip() for y in range(option_list.size.height)]


def status_text(picker: ModelPicker) -> str:
    return picker.status.visual.plain


async def type_filter(pilot, text: str) -> None:
    pilot.app.query_one("#model-picker-filter", Input).focus()
    await pilot.press(*text)
    await pilot.pause()


async def test_filter_narrows_case_insensitively():
    app = PickerHost(MODELS)
    async with app.run_test(size=(60, 20)) as pilot:
        picker = app.query_one(ModelPicker)
        assert picker.shown_models == MODELS
        await type_filter(pilot, "MINI")
        assert picker.shown_models == ["gpt-4o-mini", "o3-mini"]
        assert status_text(picker) == "2 of 5"
        await pilot.press("backspace", "backspace", "backspace", "backspace")
        await pilot.pause()
        assert picker.shown_models == MODELS


async def test_enter_selects_highlighted_match():
    app = PickerHost(MODELS)
    async with app.run_test(size=(60, 20)) as pilot:
        await type_filter(pilot, "4o-mi")
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == ["gpt-4o-mini"]
        assert app.query_one(ModelPicker).current_model == "gpt-4o-mini"


async def test_exact_match_wins_over_first_substring_match():
    app = PickerHost(["gpt-4o-mini", "gpt-4o"])
    async with app.run_test(size=(60, 20)) as pilot:
        await type_filter(pilot, "gpt-4o")
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == ["gpt-4o"]


async def test_enter_without_match_selects_typed_id():
    app = PickerHost(MODELS)
    async with app.run_test(size=(60, 20)) as pilot:
        picker = app.query_one(ModelPicker)
        await type_filter(pilot, "My-Fine-Tune")
        assert picker.shown_models == []
        assert "My-Fine-Tune" in status_text(picker)
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == ["My-Fine-Tune"]  # as typed, case kept


async def test_down_moves_into_list_and_enter_selects():
    app = PickerHost(MODELS)
    async with app.run_test(size=(60, 20)) as pilot:
        await type_filter(pilot, "gpt")
        await pilot.press("down")
        option_list = app.query_one("#model-picker-list", OptionList)
        assert app.focused is option_list
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.selected == ["gpt-4o-mini"]
        await pilot.press("up", "up")  # first row, then back up into the filter box
        assert app.focused is app.query_one("#model-picker-filter", Input)


async def test_loading_then_empty_list_hint_and_typed_id():
    app = PickerHost(None)
    async with app.run_test(size=(60, 20)) as pilot:
        picker = app.query_one(ModelPicker)
        assert status_text(picker) == LOADING
        picker.set_models([])
        await pilot.pause()
        assert status_text(picker) == EMPTY_HINT
        assert "type any model id and press Enter" in status_text(picker)
        await type_filter(pilot, "qwen2.5:7b")
        assert status_text(picker) == EMPTY_HINT
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == ["qwen2.5:7b"]


async def test_error_shown_literally():
    app = PickerHost(None)
    async with app.run_test(size=(60, 20)) as pilot:
        picker = app.query_one(ModelPicker)
        error = "HTTP 401: [b]Invalid[/b] key\x1b[2J"
        picker.set_models(None, error=error)
        await pilot.pause()
        assert status_text(picker) == "HTTP 401: [b]Invalid[/b] key␛[2J"
        assert picker.status.has_class("-error")
        picker.set_models(MODELS)
        await pilot.pause()
        assert not picker.status.has_class("-error")


async def test_current_model_highlighted_and_marked_with_context_window():
    app = PickerHost(["o3-mini", "gpt-4o", "llama3:8b"], current_model="gpt-4o")
    async with app.run_test(size=(60, 20)) as pilot:
        picker = app.query_one(ModelPicker)
        option_list = app.query_one("#model-picker-list", OptionList)
        assert picker.highlighted_model == "gpt-4o"
        lines = list_lines(option_list)
        assert lines[0].split() == ["o3-mini", "200k"]
        assert lines[1].split() == ["●", "gpt-4o", "128k"]
        assert lines[2].split() == ["llama3:8b"]  # unknown window: none shown
        picker.set_current("o3-mini")
        await pilot.pause()
        lines = list_lines(option_list)
        assert lines[0].split()[0] == "●" and lines[1].split()[0] == "gpt-4o"
        assert picker.highlighted_model == "o3-mini"


async def test_overrides_give_context_window():
    app = PickerHost(["my-local"], overrides={"my-local": {"context_window": 32768}})
    async with app.run_test(size=(60, 20)):
        lines = list_lines(app.query_one("#model-picker-list", OptionList))
        assert lines[0].split() == ["my-local", "33k"]


async def test_profile_switch_posts_message():
    app = PickerHost(MODELS)
    async with app.run_test(size=(60, 20)) as pilot:
        select = app.query_one("#model-picker-profile", Select)
        select.focus()
        await pilot.press("enter", "down", "enter")  # open, move from "openai" to "local", choose
        await pilot.pause()
        assert app.profiles == ["local"]
        assert app.selected == []
        # the app answering with set_profiles does not echo a message back
        app.query_one(ModelPicker).set_profiles(["openai", "local", "azure"], "local")
        await pilot.pause()
        assert app.profiles == ["local"]
        assert select.value == "local"


async def test_markup_and_control_characters_shown_literally():
    ids = ["[bold]x", "a\x1b[2Jb", "[red]gpt-4o[/red]"]
    app = PickerHost(ids, current_model="[bold]x", profiles=["[i]work[/i]"], current_profile="[i]work[/i]")
    async with app.run_test(size=(60, 20)) as pilot:
        picker = app.query_one(ModelPicker)
        lines = list_lines(app.query_one("#model-picker-list", OptionList))
        assert lines[0].split()[:2] == ["●", "[bold]x"]
        assert lines[1].strip() == "a␛[2Jb"
        assert "\x1b" not in "".join(lines)
        assert lines[2].strip() == "[red]gpt-4o[/red]"
        await type_filter(pilot, "[bold")
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == ["[bold]x"]  # the real id, not its display form
        picker.set_current("a\x1b[2Jb")
        await pilot.pause()
        select = app.query_one("#model-picker-profile", Select)
        assert "[i]work[/i]" in select.query_one("SelectCurrent").query_one("#label").visual.plain


@pytest.mark.timing
async def test_many_models_filter_fast_and_reuse_options():
    models = [f"vendor{i % 40}/model-{i}-instruct" for i in range(600)] + ["gpt-4o"]
    app = PickerHost(models)
    async with app.run_test(size=(60, 30)) as pilot:
        picker = app.query_one(ModelPicker)
        option_list = app.query_one("#model-picker-list", OptionList)
        before = {id(o) for o in option_list.options}
        started = time.perf_counter()
        await type_filter(pilot, "model-12")
        elapsed = time.perf_counter() - started
        assert picker.shown_models == [m for m in models if "model-12" in m]
        assert {id(o) for o in option_list.options} <= before  # no option rebuilt
        assert elapsed < 2.0, elapsed
