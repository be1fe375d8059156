"""Templates and roles in the app (issue 15), driven with Pilot against the fake server: a template
picked with its key, its fields filled through the dialog; the clipboard; a role picked from the
command palette reaching the request (system prompt, model, parameters, checked against the
spec); the management screen making, renaming and deleting them."""

from __future__ import annotations

from textual.command import CommandList, CommandPalette
from textual.widgets import Input, Select, TextArea

from demo import settle, until
from openapi_spec import validate_request

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Endpoint
from chat_tui.core.templates import Template
from chat_tui.services.templates import Templates
from chat_tui.store import Store
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens.templates import FieldsScreen, TemplatePickerScreen, TemplatesScreen
from chat_tui.ui.widgets.prompt import PromptInput

SIZE = (160, 48)


def make_app(fake, tmp_path) -> tuple[ChatApp, Store]:
    endpoint = Endpoint(name="fake", base_url=fake.base_url)
    store = Store(tmp_path / "t.db")
    templates = Templates(store)
    templates.save(Template("summarize", prompt="Summarize in {{n}} points for {{audience}}:\n\n{{input}}",
                            description="Bullet points"))
    templates.save(Template("explain", prompt="Explain this code:\n{{clipboard}}"))
    templates.save(Template("reviewer", kind="role", system_prompt="You review {{lang}} code, strictly.",
                            model="gpt-4o", params={"temperature": 0.2, "max_tokens": 300}))
    return ChatApp(endpoint, store, client=OpenAIClient(endpoint), model="gpt-4o-mini"), store


def chat_bodies(fake) -> list[dict]:
    return [r.json for r in fake.requests if r.path == "/v1/chat/completions"]


async def test_a_template_s_fields_are_filled_through_the_dialog(fake_openai, tmp_path):
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        prompt = app.query_one(PromptInput)
        await pilot.press(*"The meeting moved to Tuesday.")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, TemplatePickerScreen), "the picker")
        picker = app.screen
        assert picker.shown == ["explain", "reviewer", "summarize", "\x00manage"]
        await pilot.press(*"summ")
        assert picker.shown == ["summarize", "\x00manage"]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FieldsScreen), "the fields dialog")
        dialog = app.screen
        assert dialog.fields == ["n", "audience"]  # the input is the prompt box's text
        await pilot.press(*"3", "enter")  # to the next field
        assert app.focused.id == "field-audience"
        await pilot.press("enter")  # an empty field is not used
        assert app.screen is dialog
        assert "Fill in audience first" in str(dialog.query_one("#fields-status").render())
        await pilot.press(*"the team", "enter")
        await until(pilot, lambda: app.screen is app.chat, "the dialog to close")
        await settle(pilot)
        assert prompt.text == "Summarize in 3 points for the team:\n\nThe meeting moved to Tuesday."
        assert app.focused is prompt
        await pilot.press("down")  # the box's text before the template comes back with ↓
        assert prompt.text == "The meeting moved to Tuesday."
        await pilot.press("up")
        assert prompt.text == "Summarize in 3 points for the team:\n\nThe meeting moved to Tuesday."
        await pilot.press("enter")
        await settle(pilot)
        body = chat_bodies(fake_openai)[-1]
        validate_request("CreateChatCompletionRequest", body)
        assert body["messages"] == [{"role": "user", "content": "Summarize in 3 points for the team:\n\nThe meeting moved to Tuesday."}]

        # An empty box: the input is asked for too. Escape leaves everything as it was.
        await pilot.press("ctrl+s", *"summarize", "enter")
        await until(pilot, lambda: isinstance(app.screen, FieldsScreen), "the fields dialog")
        assert app.screen.fields == ["input", "n", "audience"]
        await pilot.press(*"notes", "escape")
        await until(pilot, lambda: app.screen is app.chat, "the dialog to close")
        assert prompt.text == ""

        # {{clipboard}}: what the app copied (no system clipboard here), without a dialog.
        app.copy_to_clipboard("print('hi')")
        await pilot.press("ctrl+s", *"explain", "enter")
        await until(pilot, lambda: prompt.text != "", "the template")
        assert prompt.text == "Explain this code:\nprint('hi')"
    store.close()


async def test_a_role_from_the_palette_sets_system_prompt_model_and_parameters(fake_openai, tmp_path):
    app, store = make_app(fake_openai, tmp_path)

    def highlighted() -> str | None:
        lists = app.screen.query(CommandList)
        if not lists or lists.first().highlighted is None:
            return None
        return str(lists.first().highlighted_option.prompt)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the command palette")
        await pilot.press(*"Role: reviewer")
        await until(pilot, lambda: (highlighted() or "").startswith("Role: reviewer"), "the role command")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FieldsScreen), "the fields dialog")
        await pilot.press(*"Go", "enter")
        await until(pilot, lambda: app.screen is app.chat, "the dialog to close")
        await settle(pilot)
        assert app.model == "gpt-4o" and app.system_prompt == "You review Go code, strictly."
        pane = app.chat.params_pane()
        assert pane.params.temperature == 0.2 and pane.system_prompt == "You review Go code, strictly."
        assert pane.query_one("#system-prompt", TextArea).text == "You review Go code, strictly."
        await pilot.press(*"func f() {}", "enter")
        await settle(pilot)
    body = chat_bodies(fake_openai)[-1]
    validate_request("CreateChatCompletionRequest", body)
    assert body["model"] == "gpt-4o" and body["temperature"] == 0.2 and body["max_tokens"] == 300
    assert body["messages"] == [{"role": "system", "content": "You review Go code, strictly."},
                                {"role": "user", "content": "func f() {}"}]
    store.close()


async def test_the_management_screen_makes_renames_uses_and_deletes(fake_openai, tmp_path):
    app, store = make_app(fake_openai, tmp_path)
    templates = Templates(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, TemplatePickerScreen), "the picker")
        await pilot.press("up", "end")  # to its last row: manage
        await pilot.press(*"zzz")  # filtered out: only the manage row stays
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TemplatesScreen), "the templates screen")
        screen = app.screen
        assert screen.names == ["explain", "reviewer", "summarize"] and screen.editing == "explain"

        await pilot.press("ctrl+n")
        assert screen.editing is None and app.focused.id == "tpl-name"
        await pilot.press(*"terse")
        screen.query_one("#tpl-kind", Select).value = "role"
        await pilot.pause()
        screen.query_one("#tpl-text", TextArea).focus()
        await pilot.press(*"Answer in one line.")
        screen.query_one("#tpl-model", Input).focus()
        await pilot.press(*"gpt-4o-mini")
        screen.query_one("#tpl-params", TextArea).focus()
        await pilot.press(*"temperature = 3")
        await pilot.press("ctrl+s")  # refused, said, nothing written
        assert "Not saved: temperature: 3 is out of range" in str(screen.query_one("#tpl-status").render())
        assert templates.get("terse") is None
        screen.query_one("#tpl-params", TextArea).load_text("temperature = 0\nstop = [\"END\"]")
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = templates.get("terse")
        assert (saved.kind, saved.system_prompt, saved.model, saved.params) == (
            "role", "Answer in one line.", "gpt-4o-mini", {"temperature": 0, "stop": ["END"]})
        assert screen.names == ["explain", "reviewer", "summarize", "terse"]

        # Rename: a new name, saved over the one shown.
        name = screen.query_one("#tpl-name", Input)
        name.value = "one-liner"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert templates.get("terse") is None and templates.get("one-liner").model == "gpt-4o-mini"
        name.value = "reviewer"  # a name that is taken
        await pilot.press("ctrl+s")
        assert "already exists" in str(screen.query_one("#tpl-status").render())
        name.value = "one-liner"

        # Delete asks for a second press.
        screen.show(templates.get("explain"))
        await pilot.pause()  # the role's fields hidden: the buttons move up
        await pilot.click("#tpl-delete")
        assert templates.get("explain") is not None
        button = screen.query_one("#tpl-delete")
        await until(pilot, lambda: not button.has_class("-active"), "the button to be pressable again")
        await pilot.click("#tpl-delete")
        await pilot.pause()
        assert templates.get("explain") is None and "explain" not in screen.names

        # Use: the screen closes and the role applies.
        screen.show(templates.get("one-liner"))
        await pilot.press("ctrl+g")
        await until(pilot, lambda: app.screen is app.chat, "the screen to close")
        await settle(pilot)
        assert app.model == "gpt-4o-mini" and app.system_prompt == "Answer in one line."
        assert app.params.temperature == 0 and app.params.stop == ["END"]
    store.close()
