"""Structured output in the app, driven with Pilot: the response format in the parameters pane
(a schema file, the strict switch, the inline editor), the answer as a checked JSON tree with
its first violation pointed at, and the same again when the conversation is reopened."""

from __future__ import annotations

import json

from rich.text import Text
from textual.widgets import Input, Select, Static, Switch, TextArea

from demo import settle, until
from openapi_spec import validate_request
from test_params_pane import SIZE as PANE_SIZE, Host, press_button
from test_tui_basic import make_app, screen_text

from chat_tui.core.params import ChatParams
from chat_tui.core.structured import response_format
from chat_tui.ui.screens.schema_editor import SchemaEditorScreen
from chat_tui.ui.widgets.conversation import MessageView
from chat_tui.ui.widgets.json_tree import JsonTree, label
from chat_tui.ui.widgets.markdown_view import MarkdownView
from chat_tui.ui.widgets.params_pane import RESPONSE_FORMATS
from chat_tui.ui.widgets.slider import FieldError

ORDER = {
    "type": "object",
    "properties": {
        "customer": {"type": "string"},
        "items": {"type": "array", "items": {"type": "object",
                                             "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
                                             "required": ["name", "price"], "additionalProperties": False}},
    },
    "required": ["customer", "items"],
    "additionalProperties": False,
}
OPEN = {"type": "object", "properties": {"a": {"type": "string"}}}  # fine for JSON Schema, not for strict mode


def schema_file(tmp_path, schema=ORDER, name="order.json"):
    path = tmp_path / name
    path.write_text(json.dumps(schema, indent=2))
    return path


def error_text(app) -> str | None:
    return app.query_one("#error-response_format", FieldError).message


async def choose_format(pilot, label_text: str) -> None:
    """Open the response format list with the keyboard and pick `label_text`."""
    select = pilot.app.query_one("#param-response-format", Select)
    select.focus()
    await pilot.press("enter")
    await pilot.pause()
    labels = [text for text, _ in RESPONSE_FORMATS]
    current = [value for _, value in RESPONSE_FORMATS].index(select.value)
    target = labels.index(label_text)
    for _ in range(abs(target - current)):
        await pilot.press("down" if target > current else "up")
    await pilot.press("enter")
    await pilot.pause()


async def load_file(pilot, path) -> None:
    field = pilot.app.query_one("#param-schema-file", Input)
    field.focus()
    field.value = str(path)  # typed: see test_a_schema_file_path_completes_like_attachments
    await pilot.press("end", "enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


# -- the parameters pane ------------------------------------------------------------------------


async def test_choosing_a_format_and_loading_a_schema_file(tmp_path):
    path = schema_file(tmp_path)
    app = Host()
    async with app.run_test(size=PANE_SIZE) as pilot:
        assert not app.query_one("#schema-fields").display
        await choose_format(pilot, "JSON object")
        assert app.pane.params.response_format == {"type": "json_object"}
        await choose_format(pilot, "JSON schema")
        assert app.query_one("#schema-fields").display
        assert "no schema yet" in str(app.query_one("#schema-status", Static).render())
        assert app.pane.params.response_format == {"type": "json_object"}  # nothing to send yet: unchanged
        await load_file(pilot, path)
        assert app.pane.params.response_format == response_format("order", ORDER, strict=True)
        assert app.changes[-1] == app.pane.params
        assert str(app.query_one("#schema-status", Static).render()) == "order · 2 properties"
        # text and back: the schema is kept meanwhile
        await choose_format(pilot, "text")
        assert app.pane.params.response_format is None
        assert "(not in use)" in str(app.query_one("#schema-status", Static).render())
        await choose_format(pilot, "JSON schema")
        assert app.pane.params.response_format == response_format("order", ORDER, strict=True)


async def test_a_schema_file_path_completes_like_attachments(tmp_path):
    schema_file(tmp_path, name="order-schema.json")
    app = Host()
    async with app.run_test(size=PANE_SIZE) as pilot:
        await choose_format(pilot, "JSON schema")
        field = app.query_one("#param-schema-file", Input)
        field.focus()
        await pilot.press(*f"{tmp_path}/ord", "right")
        await pilot.pause()
        assert field.value == f"{tmp_path}/order-schema.json"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        assert app.pane.params.response_format["json_schema"]["name"] == "order-schema"


async def test_bad_files_and_strict_rules_say_where_and_change_nothing(tmp_path):
    app = Host()
    async with app.run_test(size=PANE_SIZE) as pilot:
        await choose_format(pilot, "JSON schema")
        missing = tmp_path / "nope.json"
        await load_file(pilot, missing)
        assert error_text(app) == f"{missing}: no such file"
        assert app.query_one("#param-schema-file", Input).value == str(missing)  # what was typed stays
        broken = tmp_path / "broken.json"
        broken.write_text('{"type": "object",\n  "properties": {"a": {"type": "strin"}}}')
        await load_file(pilot, broken)
        assert error_text(app).startswith(f"{broken}: $.properties.a.type: not a JSON Schema: 'strin'")
        open_schema = schema_file(tmp_path, OPEN, "open.json")
        await load_file(pilot, open_schema)
        assert error_text(app) == '$: strict mode needs "additionalProperties": false on every object (and 1 more) (or turn strict off)'
        assert app.pane.params.response_format is None and app.changes == []
        # strict off: the same file goes
        await press_switch(pilot, "#param-schema-strict")
        await load_file(pilot, open_schema)
        assert error_text(app) is None
        assert app.pane.params.response_format == response_format("open", OPEN, strict=False)
        # strict back on is refused for this schema: the switch goes back, nothing changes
        await press_switch(pilot, "#param-schema-strict")
        assert app.query_one("#param-schema-strict", Switch).value is False
        assert "strict mode needs" in error_text(app)
        assert app.pane.params.response_format["json_schema"]["strict"] is False


async def press_switch(pilot, selector: str) -> None:
    pilot.app.query_one(selector, Switch).focus()
    await pilot.press("enter")
    await pilot.pause()


async def test_the_inline_editor_checks_before_it_takes_the_schema():
    app = Host()
    async with app.run_test(size=PANE_SIZE) as pilot:
        await choose_format(pilot, "JSON schema")
        await press_button(pilot, "#param-schema-edit")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, SchemaEditorScreen)
        area = editor.query_one("#schema-text", TextArea)
        assert area.language == "json"  # highlighted
        assert json.loads(area.text)["additionalProperties"] is False  # a template to start from
        # a syntax error: said under the editor, the cursor goes there, the text stays
        area.load_text('{"type": "object",\n  "properties": {"n": {"type": "integer"}}\n  "required": ["n"]}')
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is editor
        message = editor.query_one("#schema-error", FieldError).message
        assert message == "not JSON: line 3, column 3: Expecting ',' delimiter"
        assert area.cursor_location == (2, 2)
        # fixed, but open (strict is on): refused with the path
        area.load_text('{"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}')
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert editor.query_one("#schema-error", FieldError).message.startswith(
            '$: strict mode needs "additionalProperties": false on every object')
        area.load_text('{"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"],'
                       ' "additionalProperties": false}')
        name = editor.query_one("#schema-name", Input)
        name.value = "bad name"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "the name 'bad name' is not allowed" in editor.query_one("#schema-error", FieldError).message
        name.value = "count"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is not editor
        fmt = app.pane.params.response_format
        assert fmt["json_schema"]["name"] == "count" and fmt["json_schema"]["schema"]["required"] == ["n"]
        # editing again starts from the schema in use; Escape (twice: out of the editor, then away) keeps it
        await press_button(pilot, "#param-schema-edit")
        await pilot.pause()
        assert json.loads(app.screen.query_one("#schema-text", TextArea).text) == fmt["json_schema"]["schema"]
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert not isinstance(app.screen, SchemaEditorScreen) and app.pane.params.response_format == fmt


async def test_set_params_shows_a_stored_format():
    fmt = response_format("order", ORDER, strict=False)
    app = Host(ChatParams(response_format=fmt))
    async with app.run_test(size=PANE_SIZE) as pilot:
        assert app.query_one("#param-response-format", Select).value == "json_schema"
        assert app.query_one("#param-schema-strict", Switch).value is False
        app.pane.set_params(ChatParams())
        await pilot.pause()
        assert app.query_one("#param-response-format", Select).value == "text"
        assert not app.query_one("#schema-fields").display and app.changes == []


# -- the answer ---------------------------------------------------------------------------------


def tree_lines(view: MessageView) -> list[str]:
    tree = view.query_one(JsonTree)
    return [line.node.label.plain for line in tree._tree_lines]


async def send(pilot, text: str) -> MessageView:
    app = pilot.app
    app.chat.prompt.focus()
    await pilot.press(*text, "enter")
    await until(pilot, lambda: not app.chat.replying() and not app.chat._sending, "the reply", timeout=20)
    await app.workers.wait_for_complete()
    await pilot.pause()
    return app.chat.conversation.views()[-1]


async def test_a_structured_answer_is_shown_as_a_checked_tree(fake_openai, tmp_path):
    path = schema_file(tmp_path)
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        await choose_format(pilot, "JSON schema")
        await load_file(pilot, path)
        view = await send(pilot, "One order")
        body = fake_openai.last_post.json
        validate_request("CreateChatCompletionRequest", body)
        assert body["response_format"] == response_format("order", ORDER)
        answer = view.structured_answer
        assert answer is not None and answer.verdict.ok
        assert str(answer.query_one(".verdict", Static).render()) == "✓ valid against order"
        assert tree_lines(view) == ['order {} 2 keys', 'customer: "customer"', 'items: [] 1 item', '[0] {} 2 keys',
                                    'name: "name"', 'price: 1.5']
        assert not view.body.display  # the raw text gives way to the tree
        assert "✓ valid against order" in screen_text(app)
        # j: the raw JSON as it came, and back
        view.query_one(JsonTree).focus()
        await pilot.press("j")
        await pilot.pause()
        assert view.body.display and not answer.tree.display and app.focused is view
        assert view.query_one(MarkdownView).source.startswith('```json\n{"customer": "customer"')
        assert "✓ valid against order" in screen_text(app)  # the validation line stays
        await pilot.press("j")
        assert not view.body.display and answer.tree.display
        assert view.text == '{"customer": "customer", "items": [{"name": "name", "price": 1.5}]}'  # copy: the raw text
    thread = store.thread(store.last_conversation_id())
    assert thread[-1].params["response_format"]["json_schema"]["schema"] == ORDER


async def test_the_first_violation_is_pointed_at_and_shown_again_on_reopen(fake_openai, tmp_path):
    path = schema_file(tmp_path)
    fake_openai.schema_answer = "violate"
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        await choose_format(pilot, "JSON schema")
        await load_file(pilot, path)
        view = await send(pilot, "One order")
        verdict_line = "✗ $.items[0].price: 'abc' is not of type 'number'"
        answer = view.structured_answer
        assert str(answer.query_one(".verdict", Static).render()) == verdict_line
        assert answer.query_one(".verdict").has_class("invalid")
        tree = view.query_one(JsonTree)
        assert tree.cursor_node is tree.marked and tree.marked.data.path == ("items", 0, "price")
        assert tree.marked.label.plain == '✗ price: "abc"'
        cid = store.last_conversation_id()

        # another conversation, then this one again: the tree and the verdict come back
        await app.chat.open_conversation(None)
        await app.chat.open_conversation(cid)
        await app.workers.wait_for_complete()
        await pilot.pause()
        view = app.chat.conversation.views()[-1]
        answer = view.structured_answer
        assert str(answer.query_one(".verdict", Static).render()) == verdict_line
        tree = view.query_one(JsonTree)
        assert tree.cursor_node.data.path == ("items", 0, "price")
        # and the parameters pane shows the conversation's schema
        assert app.chat.params_pane().params.response_format == response_format("order", ORDER)
        assert app.query_one("#param-response-format", Select).value == "json_schema"


async def test_an_answer_cut_mid_json_says_where_it_ends(fake_openai, tmp_path):
    path = schema_file(tmp_path)
    fake_openai.schema_answer = "cut"
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        await choose_format(pilot, "JSON schema")
        await load_file(pilot, path)
        view = await send(pilot, "One order")
        answer = view.structured_answer
        assert str(answer.query_one(".verdict", Static).render()) == (
            "✗ not JSON: it ends early (cut off?) after line 1, column 33: Expecting value")
        assert answer.tree is None and not answer.verdict.parsed


async def test_keys_and_values_are_shown_literally(fake_openai, tmp_path):
    hostile = {"[bold red]key[/]": "[link=http://x]v[/link]\x1b[2J", "nl\nkey": "a\nb", "long": "x" * 500}
    schema = {"type": "object"}
    fake_openai.answer = json.dumps(hostile)
    app, store = make_app(fake_openai, tmp_path)
    app.params = ChatParams(response_format=response_format("h", schema, strict=False))
    async with app.run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        view = await send(pilot, "go")
        lines = tree_lines(view)
        assert lines[1] == '[bold red]key[/]: "[link=http://x]v[/link]\\u001b[2J"'
        assert lines[2] == 'nl␊key: "a\\nb"'
        assert lines[3].endswith("…") and len(lines[3]) < 220
        assert "\x1b" not in screen_text(app)
        spans = view.query_one(JsonTree).root.children[0].label.spans
        assert not any("link" in str(s.style) for s in spans)


def test_labels_are_text_never_markup():
    text = label("[b]k[/b]", "[i]v[/i]", marked=True)
    assert isinstance(text, Text) and text.plain == '✗ [b]k[/b]: "[i]v[/i]"'


async def test_a_big_answer_costs_the_nodes_shown(fake_openai, tmp_path):
    rows = [{"id": i, "tags": [f"t{j}" for j in range(20)]} for i in range(300)]
    fake_openai.answer = json.dumps({"rows": rows})
    schema = {"type": "object"}
    app, _ = make_app(fake_openai, tmp_path)
    app.params = ChatParams(response_format=response_format("big", schema, strict=False))
    async with app.run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        view = await send(pilot, "go")
        tree = view.query_one(JsonTree)
        assert view.structured_answer.verdict.ok
        assert len(tree._tree_nodes) == 2  # the root and "rows": its 300 rows (6,900 values) not made yet
        node = tree.node_at(("rows", 299, "tags", 19))
        assert node.label.plain == '[19] "t19"'
        assert len(tree._tree_nodes) == 2 + 300 + 2 + 20  # only the way there was made


async def test_a_conversation_saved_with_a_schema_no_longer_accepted_still_opens(fake_openai, tmp_path):
    """Saved before schemas were checked (or by another client): the answer still shows its
    tree, the parameters fall back to the defaults with a word."""
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "strict": True, "schema": OPEN}}
    app, store = make_app(fake_openai, tmp_path)
    cid = store.create_conversation(title="old", model="gpt-4o-mini", params={"response_format": fmt})
    user = store.add_message(cid, "user", "hi")
    reply = store.begin_assistant(cid, parent_id=user, model="gpt-4o-mini", params={"model": "gpt-4o-mini", "response_format": fmt}, endpoint=None)
    store.finish_assistant(reply, '{"a": 3}', "complete")
    async with app.run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        await app.chat.open_conversation(cid)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert any("not accepted now" in n.message for n in app._notifications)
        assert app.params == ChatParams()
        answer = app.chat.conversation.views()[-1].structured_answer
        assert answer.verdict.summary() == "✗ $.a: 3 is not of type 'string'"
