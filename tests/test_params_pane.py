"""The Parameters pane, driven with Pilot in a small host app."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.events import Paste
from textual.widgets import Button, Input, OptionList, Static, Switch, TextArea
from textual.worker import WorkerCancelled

from chat_tui.core.params import ChatParams, ParamError
from chat_tui.core.tokens import TokenCounter
from chat_tui.store import Store
from chat_tui.services.presets import Presets
from chat_tui.ui.widgets.logit_bias import BiasRows, LogitBiasEditor, TokenRows, parse_token_ids, show_piece
from chat_tui.ui.widgets.params_pane import PARAMS_TCSS, ParamsPane, escape_stop, unescape_stop
from chat_tui.ui.widgets.presets import PresetsSection
from chat_tui.ui.widgets.slider import FieldError, Slider

SIZE = (60, 100)  # tall enough that the whole pane is on screen


class Host(App[None]):
    CSS_PATH = PARAMS_TCSS

    def __init__(self, params: ChatParams | None = None, *, model: str = "gpt-4o", counter=None, store=None,
                 system_prompt: str | None = None) -> None:
        super().__init__()
        self.pane_args = dict(model=model, counter=counter, presets=Presets(store) if store is not None else None, system_prompt=system_prompt)
        self.initial = params or ChatParams()
        self.changes: list[ChatParams] = []
        self.prompts: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield ParamsPane(self.initial, **self.pane_args)

    def on_params_pane_changed(self, message: ParamsPane.Changed) -> None:
        self.changes.append(message.params)

    def on_params_pane_system_prompt_changed(self, message: ParamsPane.SystemPromptChanged) -> None:
        self.prompts.append(message.text)

    @property
    def pane(self) -> ParamsPane:
        return self.query_one(ParamsPane)


async def settle(app: App, pilot) -> None:
    """Wait for the tokenizer workers (a newer lookup cancels an older one) and the redraw."""
    for _ in range(10):
        try:
            await app.workers.wait_for_complete()
            break
        except WorkerCancelled:
            continue
    await pilot.pause()


async def type_into(pilot, selector: str, text: str) -> None:
    """Click a field, select what it holds and type `text` over it (empty: delete it)."""
    await pilot.click(selector)
    field = pilot.app.query_one(selector, Input)
    field.select_all()
    if text:
        await pilot.press(*text)
    elif field.value:
        await pilot.press("backspace")
    await pilot.pause()


async def press_button(pilot, selector: str) -> None:
    """Click a button. A Button ignores clicks for 0.2 s after a press (its "active" effect);
    a test clicks faster than a person, so end that effect first instead of sleeping."""
    for button in pilot.app.query(selector).results(Button):
        button.remove_class("-active")
    await pilot.click(selector)


def error_of(app: App, name: str) -> str | None:
    return app.query_one(f"#error-{name}", FieldError).message


# -- sliders: keyboard ---------------------------------------------------------------------

SLIDER_CASES = {
    "temperature": [
        ("right", 1.05), ("left", 1.0), ("left", 0.95), ("shift+right", 1.2), ("pageup", 1.45),
        ("pagedown", 1.2), ("shift+left", 0.95), ("home", 0.0), ("left", 0.0), ("end", 2.0),
        ("right", 2.0), ("delete", None), ("left", 0.95), ("r", None), ("right", 1.05), ("backspace", None),
    ],
    "top_p": [
        ("left", 0.99), ("pagedown", 0.89), ("shift+left", 0.79), ("right", 0.8), ("home", 0.0),
        ("pageup", 0.1), ("end", 1.0), ("r", None),
    ],
    # gpt-4o: 1..16384, coarse = 5% of the range = 819
    "max_tokens": [
        ("left", 16383), ("pagedown", 15564), ("home", 1), ("right", 2), ("pageup", 821),
        ("shift+right", 1640), ("end", 16384), ("delete", None),
    ],
    "presence_penalty": [
        ("right", 0.05), ("shift+right", 0.3), ("pagedown", 0.05), ("left", 0.0), ("home", -2.0),
        ("right", -1.95), ("end", 2.0), ("backspace", None),
    ],
    "frequency_penalty": [
        ("left", -0.05), ("shift+left", -0.3), ("pageup", -0.05), ("end", 2.0), ("left", 1.95),
        ("home", -2.0), ("r", None),
    ],
}


@pytest.mark.parametrize("name", list(SLIDER_CASES))
async def test_slider_keys_set_exact_values(name):
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        slider = app.query_one(f"#param-{name}", Slider)
        slider.focus()
        await pilot.pause()
        for key, expected in SLIDER_CASES[name]:
            await pilot.press(key)
            value = getattr(app.pane.params, name)
            assert value == expected, (key, value, expected)
            assert slider.value == expected
            if expected is None:
                assert slider.value_text().startswith("default")
        await pilot.pause()
        assert app.changes[-1] == app.pane.params
        assert app.pane.params == ChatParams()  # every case ends reset


async def test_slider_shows_exact_value_and_default():
    app = Host(ChatParams(temperature=0.7, top_p=0.125))
    async with app.run_test(size=SIZE):
        assert app.query_one("#param-temperature", Slider).value_text() == "0.70"
        assert app.query_one("#param-top_p", Slider).value_text() == "0.125"  # never rounded away
        assert app.query_one("#param-presence_penalty", Slider).value_text() == "default (0)"
        assert app.query_one("#param-max_tokens", Slider).value_text() == "default (model max)"
        top_line = str(app.query_one("#param-temperature", Slider).render()).splitlines()[0]
        assert top_line.startswith("temperature") and top_line.endswith("0.70")
        # an off-grid value steps to the next grid point, never backwards
        slider = app.query_one("#param-top_p", Slider)
        slider.action_step(1)
        assert slider.value == 0.13
        slider.action_step(-1)
        assert slider.value == 0.12


def test_slider_bindings_have_ids():
    assert all(b.id and b.id.startswith("slider.") for b in Slider.BINDINGS)
    assert all(b.id for b in ParamsPane.BINDINGS)


# -- sliders: mouse ------------------------------------------------------------------------


async def test_slider_click_and_drag():
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        slider = app.query_one("#param-temperature", Slider)
        last = slider.content_size.width - 1
        await pilot.click(slider, offset=(0, 1))
        assert app.pane.params.temperature == 0.0
        assert app.focused is slider
        await pilot.click(slider, offset=(last, 1))
        assert app.pane.params.temperature == 2.0
        quarter = last // 4
        await pilot.click(slider, offset=(quarter, 1))
        assert app.pane.params.temperature == round(round(2 * quarter / last / 0.05) * 0.05, 2)
        # a click on the label line does not change the value
        before = app.pane.params.temperature
        await pilot.click(slider, offset=(last, 0))
        assert app.pane.params.temperature == before

        # drag: press at the left end, move to the right end (outside counts too), release
        await pilot.mouse_down(slider, offset=(0, 1))
        assert app.pane.params.temperature == 0.0
        assert app.mouse_captured is slider
        await pilot.hover(slider, offset=(last // 2, 1))
        assert app.pane.params.temperature == 1.0 if last % 2 == 0 else app.pane.params.temperature > 0.9
        await pilot.hover(slider, offset=(last + 5, 1))
        assert app.pane.params.temperature == 2.0
        await pilot.mouse_up(slider, offset=(last, 1))
        assert app.mouse_captured is None
        await pilot.hover(slider, offset=(0, 1))
        assert app.pane.params.temperature == 2.0  # released: moving no longer changes it


# -- fields --------------------------------------------------------------------------------


async def test_fields_set_their_params():
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        await type_into(pilot, "#param-seed", "42")
        assert app.pane.params.seed == 42
        await type_into(pilot, "#param-seed", "-7")
        assert app.pane.params.seed == -7
        await type_into(pilot, "#param-n", "3")
        assert app.pane.params.n == 3

        top = app.query_one("#param-top_logprobs", Input)
        assert top.disabled
        await pilot.click("#param-logprobs")
        await pilot.pause()
        assert app.pane.params.logprobs is True and not top.disabled
        await type_into(pilot, "#param-top_logprobs", "5")
        assert app.pane.params.top_logprobs == 5
        await pilot.click("#param-logprobs")
        await pilot.pause()
        assert app.pane.params.logprobs is None and app.pane.params.top_logprobs is None
        assert top.disabled and top.value == "5"  # kept for when logprobs comes back
        await pilot.click("#param-logprobs")
        await pilot.pause()
        assert (app.pane.params.logprobs, app.pane.params.top_logprobs) == (True, 5)

        # stop: one sequence per field; \n is a newline, a comma is just a comma
        await type_into(pilot, "#param-stop-0", r"\n\n")
        assert app.pane.params.stop == ["\n\n"]
        await type_into(pilot, "#param-stop-1", "a,b")
        await type_into(pilot, "#param-stop-3", r"C:\\x")
        assert app.pane.params.stop == ["\n\n", "a,b", "C:\\x"]
        await type_into(pilot, "#param-stop-0", "")
        await type_into(pilot, "#param-stop-1", "")
        await type_into(pilot, "#param-stop-3", "")
        assert app.pane.params.stop is None

        await type_into(pilot, "#param-seed", "")
        assert app.pane.params.seed is None
        assert app.pane.params.as_dict() == {"n": 3, "logprobs": True, "top_logprobs": 5}
        assert app.changes[-1] == app.pane.params

        # system prompt
        await pilot.click("#system-prompt")
        await pilot.press(*"Be brief")
        await pilot.pause()
        assert app.pane.system_prompt == "Be brief"
        assert app.prompts[-1] == "Be brief"
        app.query_one("#system-prompt", TextArea).select_all()
        await pilot.press("backspace")
        await pilot.pause()
        assert app.pane.system_prompt is None and app.prompts[-1] is None


async def test_invalid_values_show_message_and_change_nothing():
    app = Host(ChatParams(seed=5, n=2))
    async with app.run_test(size=SIZE) as pilot:
        await type_into(pilot, "#param-seed", "abc")
        assert error_of(app, "seed") == "seed: expected a number, got 'abc'"
        assert app.query_one("#param-seed", Input).value == "abc"
        assert app.query_one("#error-seed", FieldError).has_class("-shown")
        assert app.pane.params.seed == 5

        await type_into(pilot, "#param-n", "0")
        assert error_of(app, "n") == "n: 0 is out of range: must be between 1 and 128"
        await type_into(pilot, "#param-n", "-")
        assert error_of(app, "n") == "n: expected a number, got '-'"
        # pasted at once (typing it would pass through 1 and 12, both valid)
        n_field = app.query_one("#param-n", Input)
        n_field.select_all()
        n_field.post_message(Paste("129"))
        await pilot.pause()
        assert n_field.value == "129"
        assert error_of(app, "n") == "n: 129 is out of range: must be between 1 and 128"
        assert app.pane.params.n == 2

        await pilot.click("#param-logprobs")
        await type_into(pilot, "#param-top_logprobs", "-1")
        assert error_of(app, "top_logprobs") == "top_logprobs: -1 is out of range: must be between 0 and 20"
        assert app.pane.params.top_logprobs is None

        await type_into(pilot, "#param-stop-0", "\\")
        assert error_of(app, "stop").startswith("stop: a lone \\ at the end")
        await type_into(pilot, "#param-stop-0", r"\q")
        assert error_of(app, "stop").startswith(r"stop: unknown escape \q")
        assert app.pane.params.stop is None

        assert app.changes == [ChatParams(seed=5, n=2, logprobs=True)]  # only the switch

        # fixing a field clears its message
        await type_into(pilot, "#param-seed", "9")
        assert error_of(app, "seed") is None and app.pane.params.seed == 9
        assert not app.query_one("#error-seed", FieldError).has_class("-shown")


def test_stop_escapes_round_trip():
    for sequence in ["\n\n", "a,b", "C:\\path", "tab\there", "\x1b[0m", "\r\n", "plain"]:
        assert unescape_stop(escape_stop(sequence)) == sequence
    assert escape_stop("\n\n") == r"\n\n"
    assert unescape_stop(r"\x41\\n") == "A\\n"
    with pytest.raises(ParamError):
        unescape_stop(r"\u0041")


# -- logit_bias ----------------------------------------------------------------------------


def test_token_helpers():
    assert show_piece(" hello") == "' hello'"
    assert show_piece("\n\t\x1b") == "'\u240a\u2409\u241b'"
    assert parse_token_ids("1734, 892  7") == [1734, 892, 7]
    with pytest.raises(ValueError, match="not a token id"):
        parse_token_ids("1734 hello")


async def test_logit_bias_round_trip_gpt4o(tiktoken_cache):
    import tiktoken

    counter = TokenCounter(tiktoken_cache)
    app = Host(model="gpt-4o", counter=counter)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        editor = app.query_one(LogitBiasEditor)
        assert editor.exact is True
        await type_into(pilot, "#lb-text", "hello")
        await settle(app, pilot)

        expected = tiktoken.get_encoding("o200k_base").encode_ordinary("hello")
        assert expected == [24912]
        assert app.query_one(TokenRows).rows == ((24912, "hello"),)
        row_text = str(app.query_one("#lb-tokens .token-text", Static).render())
        assert row_text == "24912  'hello'"
        assert "1 token" in str(app.query_one("#lb-status", Static).render())

        await press_button(pilot, "#lb-tokens .token-add")
        await pilot.pause()
        assert app.pane.params.logit_bias == {"24912": -100}
        assert app.changes[-1].logit_bias == {"24912": -100}
        assert str(app.query_one("#lb-biases .bias-text", Static).render()) == "24912  'hello'  -100"

        # several tokens at once, with another bias
        await type_into(pilot, "#lb-text", "hello world")
        await settle(app, pilot)
        ids = tiktoken.get_encoding("o200k_base").encode_ordinary("hello world")
        assert [t for t, _ in app.query_one(TokenRows).rows] == ids and len(ids) == 2
        await type_into(pilot, "#lb-bias", "5")
        await press_button(pilot, "#lb-add-all")
        await pilot.pause()
        assert app.pane.params.logit_bias == {str(ids[0]): 5, str(ids[1]): 5}
        assert [r[:2] for r in app.query_one(BiasRows).rows] == [(ids[0], "hello"), (ids[1], " world")]

        # out of range: message, nothing changes
        await type_into(pilot, "#lb-bias", "150")
        await press_button(pilot, "#lb-add-all")
        await pilot.pause()
        assert "out of range" in app.query_one("#lb-error", FieldError).message
        assert app.pane.params.logit_bias == {str(ids[0]): 5, str(ids[1]): 5}

        # remove one, then the other: back to unset
        await press_button(pilot, "#lb-biases .bias-remove")
        await pilot.pause()
        assert app.pane.params.logit_bias == {str(ids[1]): 5}
        await press_button(pilot, "#lb-biases .bias-remove")
        await pilot.pause()
        assert app.pane.params.logit_bias is None


async def test_logit_bias_pieces_for_loaded_biases(tiktoken_cache):
    app = Host(ChatParams(logit_bias={"24912": -100}), model="gpt-4o", counter=TokenCounter(tiktoken_cache))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.query_one(BiasRows).rows == ((24912, "hello", -100),)
        assert app.changes == []


@pytest.mark.parametrize(
    ("model", "with_counter", "reason"),
    [
        ("text-davinci-003", True, "no exact tokenizer for text-davinci-003"),  # p50k_base: not offline
        ("llama-3.1-8b-instruct", True, "no exact tokenizer for llama-3.1-8b-instruct"),
        ("gpt-4o", False, "no tokenizer available"),
    ],
)
async def test_logit_bias_without_tokenizer_takes_raw_ids(tiktoken_cache, model, with_counter, reason):
    counter = TokenCounter(tiktoken_cache) if with_counter else None
    app = Host(model=model, counter=counter)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        editor = app.query_one(LogitBiasEditor)
        assert editor.exact is False
        assert str(app.query_one("#lb-status", Static).render()).startswith(reason)
        assert app.query_one("#lb-text", Input).placeholder.startswith("token ids")

        await type_into(pilot, "#lb-text", "hello")
        await settle(app, pilot)
        assert "'hello' is not a token id" in app.query_one("#lb-error", FieldError).message

        await type_into(pilot, "#lb-text", "1734 892")
        await settle(app, pilot)
        assert app.query_one(TokenRows).rows == ((1734, None), (892, None))
        await press_button(pilot, "#lb-add-all")
        await pilot.pause()
        assert app.pane.params.logit_bias == {"1734": -100, "892": -100}
        assert str(app.query_one("#lb-biases .bias-text", Static).render()) == "1734  -100"


async def test_set_model_retokenizes(tiktoken_cache):
    app = Host(model="gpt-4o", counter=TokenCounter(tiktoken_cache))
    async with app.run_test(size=SIZE) as pilot:
        await type_into(pilot, "#lb-text", "hello")
        await settle(app, pilot)
        app.pane.set_model("gpt-4")  # cl100k_base
        await settle(app, pilot)
        assert app.query_one(TokenRows).rows == ((15339, "hello"),)
        assert "cl100k_base" in str(app.query_one("#lb-status", Static).render())
        app.pane.set_model("text-davinci-003")
        await settle(app, pilot)
        assert app.query_one(LogitBiasEditor).exact is False


# -- set_model, set_params, reset ----------------------------------------------------------


async def test_set_model_clamps_max_tokens():
    app = Host(ChatParams(max_tokens=10_000), model="gpt-4o")
    async with app.run_test(size=SIZE) as pilot:
        slider = app.query_one("#param-max_tokens", Slider)
        assert (slider.maximum, slider.value) == (16_384, 10_000)
        app.pane.set_model("gpt-3.5-turbo")  # 4096 output tokens
        await pilot.pause()
        assert app.pane.params.max_tokens == 4096
        assert (slider.maximum, slider.value, slider.coarse) == (4096, 4096, 205)
        assert app.changes == [ChatParams(max_tokens=4096)]
        app.pane.set_model("some-local-model")  # unknown: 4096
        await pilot.pause()
        assert slider.maximum == 4096 and len(app.changes) == 1
        app.pane.set_model("gpt-4o")  # larger range: the value stays
        await pilot.pause()
        assert slider.maximum == 16_384 and app.pane.params.max_tokens == 4096
        assert len(app.changes) == 1


async def test_set_params_shows_values_without_messages(tiktoken_cache):
    app = Host(model="gpt-4o", counter=TokenCounter(tiktoken_cache))
    async with app.run_test(size=SIZE) as pilot:
        params = ChatParams(
            temperature=0.3, top_p=0.9, max_tokens=512, presence_penalty=-0.5, stop="END", seed=7, n=2,
            logprobs=True, top_logprobs=3, logit_bias={"24912": -100}, user="someone",
        )
        app.pane.set_params(params)
        app.pane.set_system_prompt("You are terse.")
        await settle(app, pilot)
        await pilot.pause()
        assert app.pane.params == params  # stop stays a plain string, user is kept
        assert app.changes == [] and app.prompts == []
        assert app.query_one("#param-temperature", Slider).value_text() == "0.30"
        assert app.query_one("#param-max_tokens", Slider).value_text() == "512"
        assert app.query_one("#param-stop-0", Input).value == "END"
        assert app.query_one("#param-seed", Input).value == "7"
        assert app.query_one("#param-logprobs", Switch).value is True
        assert app.query_one("#param-top_logprobs", Input).value == "3"
        assert app.query_one(BiasRows).rows == ((24912, "hello", -100),)
        assert app.query_one("#system-prompt", TextArea).text == "You are terse."
        assert app.pane.system_prompt == "You are terse."

        # set_params clamps max_tokens to the model's range, silently
        app.pane.set_params(ChatParams(max_tokens=1_000_000))
        await pilot.pause()
        assert app.pane.params == ChatParams(max_tokens=16_384) and app.changes == []

        # a user edit after that posts again
        await type_into(pilot, "#param-seed", "8")
        assert app.changes == [ChatParams(max_tokens=16_384, seed=8)]


async def test_reset_all_by_key_and_button():
    start = ChatParams(temperature=1.5, seed=3, stop=["x"])
    app = Host(start)
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#param-temperature", Slider).focus()
        await pilot.press("ctrl+u")
        await pilot.pause()
        assert app.pane.params == ChatParams()
        assert app.query_one("#param-seed", Input).value == ""
        assert app.query_one("#param-stop-0", Input).value == ""
        assert app.changes == [ChatParams()]

        app.pane.set_params(start)
        await pilot.pause()
        await press_button(pilot, "#params-reset-all")
        await pilot.pause()
        assert app.pane.params == ChatParams() and app.changes == [ChatParams(), ChatParams()]


async def test_messages_seen_by_message_hook():
    messages = []
    app = Host()
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        app.query_one("#param-temperature", Slider).focus()
        await pilot.press("left")
        await pilot.pause()
    slider_changes = [m for m in messages if isinstance(m, Slider.Changed)]
    pane_changes = {id(m): m for m in messages if isinstance(m, ParamsPane.Changed)}
    assert [m.value for m in slider_changes][:1] == [0.95]
    assert [m.params for m in pane_changes.values()] == [ChatParams(temperature=0.95)]


# -- presets -------------------------------------------------------------------------------


async def test_presets_round_trip(tmp_path):
    store = Store(tmp_path / "x.db")
    app = Host(store=store)
    async with app.run_test(size=SIZE) as pilot:
        section = app.query_one(PresetsSection)
        status = app.query_one("#preset-status", Static)

        # empty name
        await press_button(pilot, "#preset-save")
        assert "needs a name" in str(status.render())
        assert store.list_presets() == []

        # save
        app.query_one("#param-temperature", Slider).focus()
        await pilot.press("right")  # 1.05
        await type_into(pilot, "#param-seed", "11")
        await type_into(pilot, "#preset-name", "creative")
        await press_button(pilot, "#preset-save")
        await pilot.pause()
        assert store.get_preset("creative").params == {"temperature": 1.05, "seed": 11}
        assert section.names == ["creative"]
        assert str(status.render()) == "saved 'creative'"

        # load (after a reset)
        await press_button(pilot, "#params-reset-all")
        await pilot.pause()
        assert app.pane.params == ChatParams()
        await press_button(pilot, "#preset-load")
        await pilot.pause()
        assert app.pane.params == ChatParams(temperature=1.05, seed=11)
        assert app.changes[-1] == app.pane.params
        assert app.query_one("#param-seed", Input).value == "11"
        assert app.query_one("#param-temperature", Slider).value_text() == "1.05"

        # a second preset; saving under an existing name asks first
        await type_into(pilot, "#param-seed", "")
        await type_into(pilot, "#preset-name", "plain")
        await press_button(pilot, "#preset-save")
        await type_into(pilot, "#preset-name", "creative")
        await press_button(pilot, "#preset-save")
        assert "already exists" in str(status.render())
        assert store.get_preset("creative").params == {"temperature": 1.05, "seed": 11}
        await press_button(pilot, "#preset-save")
        assert store.get_preset("creative").params == {"temperature": 1.05}
        assert section.names == ["creative", "plain"]

        # rename the highlighted one; a taken name is refused with the store's message
        option_list = app.query_one("#preset-list", OptionList)
        option_list.highlighted = section.names.index("plain")
        await type_into(pilot, "#preset-name", "creative")
        await press_button(pilot, "#preset-rename")
        assert "a preset named 'creative' already exists" in str(status.render())
        await type_into(pilot, "#preset-name", "")
        await press_button(pilot, "#preset-rename")
        assert "needs a name" in str(status.render())
        await type_into(pilot, "#preset-name", "warm")
        await press_button(pilot, "#preset-rename")
        await pilot.pause()
        assert [p.name for p in store.list_presets()] == ["creative", "warm"]
        assert str(status.render()) == "renamed 'plain' to 'warm'"

        # loading by choosing it in the list (Enter)
        option_list.focus()
        option_list.highlighted = section.names.index("creative")
        await pilot.press("enter")
        await pilot.pause()
        assert app.pane.params == ChatParams(temperature=1.05)

        # delete asks for a second press
        option_list.highlighted = section.names.index("warm")
        await press_button(pilot, "#preset-delete")
        assert "again" in str(status.render()) and store.get_preset("warm") is not None
        await press_button(pilot, "#preset-delete")
        await pilot.pause()
        assert store.get_preset("warm") is None
        assert section.names == ["creative"]


async def test_no_store_hides_presets():
    app = Host(store=None)
    async with app.run_test(size=SIZE):
        assert not app.query(PresetsSection)


async def test_tool_choice_and_parallel_calls():
    app = Host(ChatParams(tool_choice="required", parallel_tool_calls=False))
    async with app.run_test(size=SIZE) as pilot:
        field = app.query_one("#param-tool_choice", Input)
        switch = app.query_one("#param-parallel_tool_calls", Switch)
        assert field.value == "required" and switch.value is False
        field.select_all()
        field.post_message(Paste("get time"))  # at once (typed, "get" would be a valid name on the way)
        await pilot.pause()
        assert error_of(app, "tool_choice") == "tool_choice: expected auto, none, required or a tool name, got 'get time'"
        assert app.pane.params.tool_choice == "required"  # unchanged
        await type_into(pilot, "#param-tool_choice", "get_time")
        assert error_of(app, "tool_choice") is None and app.pane.params.tool_choice == "get_time"
        await pilot.click("#param-parallel_tool_calls")
        await pilot.pause()
        assert app.pane.params.parallel_tool_calls is None  # on: the API's default, not sent
        await type_into(pilot, "#param-tool_choice", "")
        assert app.pane.params.as_dict() == {}
        app.pane.set_params(ChatParams(tool_choice="none", parallel_tool_calls=False))
        await pilot.pause()
        assert field.value == "none" and switch.value is False
