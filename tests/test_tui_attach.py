"""Attachments in the chat screen, driven with Pilot against the fake server: the key and the
path field, a pasted path, removing a chip, the request sent (validated against the spec), what
is stored, regenerate, reopening, edit-and-resend, and a model that refuses images."""

from __future__ import annotations

import base64

from textual import events

from attach_samples import png
from chat_tui.core.attachments import size_text
from chat_tui.store.attachments import attachments
from chat_tui.ui.widgets.attachments import AttachField, AttachmentChip, AttachmentPlaceholder, PathSuggester
from openapi_spec import validate_request

from test_tui_basic import make_app


async def settle(app, pilot) -> None:
    from demo import settle_workers

    await settle_workers(pilot)


def chip_labels(app) -> list[str]:
    return [str(c.render()) for c in app.screen.query(AttachmentChip)]


def user_parts(fake) -> list[dict]:
    body = fake.last_post.json
    validate_request("CreateChatCompletionRequest", body)
    return body["messages"][-1]["content"]


async def test_attach_by_key_and_paste_remove_send_regenerate_reopen(fake_openai, tmp_path):
    (tmp_path / "cat.png").write_bytes(png(1024, 768))
    (tmp_path / "dog.png").write_bytes(png(8, 8))
    (tmp_path / "notes.txt").write_text("remember")
    app, store = make_app(fake_openai, tmp_path, model="gpt-4o")
    async with app.run_test(size=(140, 40)) as pilot:
        chat = app.chat
        meter_before = None
        await pilot.press("ctrl+t")
        field = app.screen.query_one(AttachField)
        assert field.display and app.focused is field
        # The path field completes from the directory.
        assert await PathSuggester().get_suggestion(str(tmp_path / "ca")) == str(tmp_path / "cat.png")
        field.value = str(tmp_path / "ca")
        await pilot.pause()
        await pilot.press("right")  # takes the completion
        assert field.value == str(tmp_path / "cat.png")
        await pilot.press("enter")
        await settle(app, pilot)
        assert not field.display and app.focused is chat.prompt
        assert chip_labels(app) == [f"▣ cat.png · image/png · {size_text(len(png(1024, 768)))} · 1024×768  ✕"]
        await app.workers.wait_for_complete()

        # Pasting a path attaches it, asking nothing; pasting text is text.
        app.post_message(events.Paste(f"'{tmp_path / 'dog.png'}'"))
        await settle(app, pilot)
        app.post_message(events.Paste(str(tmp_path / "notes.txt")))
        await settle(app, pilot)
        app.post_message(events.Paste("just words"))
        await settle(app, pilot)
        assert chat.prompt.text == "just words"
        assert [a.name for a in chat.pending] == ["cat.png", "dog.png", "notes.txt"]

        # Remove dog.png: focus its chip and press Delete; then click nothing else.
        chip = app.screen.query(AttachmentChip)[1]
        chip.focus()
        await pilot.press("delete")
        await pilot.pause()
        assert [a.name for a in chat.pending] == ["cat.png", "notes.txt"]
        assert len(chip_labels(app)) == 2

        # The meter counts the image: gpt-4o, auto detail (an estimate), 1024×768 -> 765.
        await settle(app, pilot)
        meter_before = chat.meter.prompt_tokens
        assert meter_before is not None and meter_before.tokens >= 765 and not meter_before.exact

        chat.prompt.text = "What is this?"
        chat.prompt.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        parts = user_parts(fake_openai)
        assert [p["type"] for p in parts] == ["text", "image_url", "text"]
        assert parts[0]["text"] == "What is this?"
        assert parts[1]["image_url"] == {"url": "data:image/png;base64," + base64.b64encode(png(1024, 768)).decode(), "detail": "auto"}
        assert parts[2]["text"] == "\n\nFile: notes.txt\n```\nremember\n```"
        assert chat.pending == [] and chip_labels(app) == []

        views = chat.conversation.views()
        user_view, answer = views[-2], views[-1]
        assert user_view.text == "What is this?"
        assert [p.label for p in user_view.query(AttachmentPlaceholder)] == [
            f"cat.png · image/png · {size_text(len(png(1024, 768)))} · 1024×768", "notes.txt · text/plain · 8 B"]
        assert answer.text == "Echo: What is this?\n\nFile: notes.txt\n```\nremember\n``` [I see 1 image]"
        from chat_tui.ui.widgets.image_view import ImageView

        shown = user_view.query(ImageView)  # the image itself, drawn like a generated one
        assert len(shown) == 1 and shown.first().error is None

        user_row = store.get_message(user_view.message_id)
        assert user_row.parts == parts
        rows = attachments(store, user_row.id)
        assert [(r.position, r.kind, r.name) for r in rows] == [(1, "image", "cat.png"), (2, "file", "notes.txt")]

        # Regenerate: the same parts go again.
        fake_openai.reset()
        await pilot.press("ctrl+g")
        await settle(app, pilot)
        assert user_parts(fake_openai) == parts

        # Reopen the conversation: the chips are there.
        cid = chat.conversation_id
        await chat.open_conversation(None)
        await chat.open_conversation(cid)
        await pilot.pause()
        user_view = next(v for v in chat.conversation.views() if v.role == "user")
        assert len(user_view.query(AttachmentPlaceholder)) == 2

        # Edit and resend: the text and the attachments come back; a new branch with both.
        user_view.focus()
        await pilot.press("e")
        await settle(app, pilot)
        assert chat.prompt.text == "What is this?"
        assert [a.name for a in chat.pending] == ["cat.png", "notes.txt"]
        chat.prompt.focus()
        await pilot.press("end", "!", "enter")
        await settle(app, pilot)
        edited = user_parts(fake_openai)
        assert edited[0]["text"] == "What is this?!" and edited[1:] == parts[1:]


async def test_attach_refusals_say_why(fake_openai, tmp_path):
    (tmp_path / "x.bin").write_bytes(b"\x00\x01")
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        chat = app.chat
        for source, why in ((str(tmp_path / "missing.png"), "no such file"), (str(tmp_path / "x.bin"), "unsupported type")):
            await pilot.press("ctrl+t")
            app.screen.query_one(AttachField).value = source
            await pilot.press("enter")
            await settle(app, pilot)
            assert any(why in n.message for n in app._notifications), [n.message for n in app._notifications]
        assert chat.pending == []
        # Escape closes the field.
        await pilot.press("ctrl+t")
        await pilot.press("escape")
        assert not app.screen.query_one(AttachField).display and app.focused is chat.prompt


async def test_a_model_that_refuses_images_keeps_prompt_and_attachments(fake_openai, tmp_path):
    fake_openai.models = [*fake_openai.models, "gpt-3.5-turbo"]
    (tmp_path / "cat.png").write_bytes(png(16, 16))
    app, store = make_app(fake_openai, tmp_path, model="gpt-3.5-turbo")
    async with app.run_test(size=(120, 30)) as pilot:
        chat = app.chat
        app.post_message(events.Paste(str(tmp_path / "cat.png")))
        await settle(app, pilot)
        chat.prompt.text = "Describe it"
        chat.prompt.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert fake_openai.last_post.status == 400
        assert chat.prompt.text == "Describe it"
        assert [a.name for a in chat.pending] == ["cat.png"] and len(chip_labels(app)) == 1
        assert any("does not take images" in n.message and "image_url is only supported" in n.message
                   for n in app._notifications)
        # Another model: sent again, with the image; the refused prompt is replaced, not repeated.
        chat.set_model("gpt-4o")
        await pilot.press("enter")
        await settle(app, pilot)
        body = fake_openai.last_post.json
        validate_request("CreateChatCompletionRequest", body)
        assert [m["role"] for m in body["messages"]] == ["user"]
        assert [p["type"] for p in body["messages"][0]["content"]] == ["text", "image_url"]
        assert chat.pending == []


async def test_clicking_a_chip_removes_it(fake_openai, tmp_path):
    (tmp_path / "a.png").write_bytes(png(2, 2))
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        chat = app.chat
        app.post_message(events.Paste(str(tmp_path / "a.png")))
        await settle(app, pilot)
        assert len(chip_labels(app)) == 1
        await pilot.click(AttachmentChip)
        await pilot.pause()
        assert chat.pending == [] and chip_labels(app) == []
        assert not app.screen.query_one("#attachment-bar").display


async def test_compare_lanes_get_the_prompts_attachments(fake_openai, tmp_path):
    """F8 with attachments above the prompt: every lane's request carries them (and the status
    line names them); picking an answer uses them up, as sending does."""
    from textual.widgets import Input

    from chat_tui.ui.screens.compare import CompareScreen

    (tmp_path / "cat.png").write_bytes(png(64, 64))
    app, store = make_app(fake_openai, tmp_path, model="gpt-4o")
    async with app.run_test(size=(160, 48)) as pilot:
        chat = app.chat
        await chat.attach(str(tmp_path / "cat.png"))
        chat.prompt.text = "Describe it"
        chat.prompt.focus()
        await pilot.press("f8")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert "1 attachment: cat.png" in str(screen.query_one("#compare-status").render())
        screen.query_one("#sweep-spec", Input).value = "temperature=0,1"
        await pilot.press("f5")
        await settle(app, pilot)
        bodies = [r.json for r in fake_openai.requests if r.path == "/v1/chat/completions"]
        assert len(bodies) == 2
        for body in bodies:
            validate_request("CreateChatCompletionRequest", body)
            parts = body["messages"][-1]["content"]
            assert [p["type"] for p in parts] == ["text", "image_url"] and parts[0]["text"] == "Describe it"
            assert parts[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(png(64, 64)).decode()
        user_id = screen.user_id
        assert [r.name for r in attachments(store, user_id)] == ["cat.png"]
        screen.columns[0].focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is chat and chat.pending == [] and chip_labels(app) == []
        user_view = next(v for v in chat.conversation.views() if v.message_id == user_id)
        assert [p.kind for p in user_view.query(AttachmentPlaceholder)] == ["image"]


async def test_d_on_an_image_chip_steps_its_detail_which_the_meter_counts_and_the_request_sends(fake_openai, tmp_path):
    (tmp_path / "big.png").write_bytes(png(2048, 2048))
    app, store = make_app(fake_openai, tmp_path, model="gpt-4o")
    async with app.run_test(size=(140, 40)) as pilot:
        chat = app.chat
        await chat.attach(str(tmp_path / "big.png"))
        await settle(app, pilot)
        auto = chat.meter.prompt_tokens.tokens
        counts = {}
        for detail in ("low", "high"):
            app.screen.query(AttachmentChip).first().focus()
            await pilot.press("d")
            await settle(app, pilot)
            assert chip_labels(app)[0].endswith(f"· detail {detail}  ✕")
            assert isinstance(app.focused, AttachmentChip)  # still on the chip: d again steps on
            counts[detail] = chat.meter.prompt_tokens.tokens
        # gpt-4o: low is the base 85; high (= auto here) scales 2048² to 768² -> 4 tiles: 85 + 4 × 170.
        assert auto - counts["low"] == 765 - 85 and counts["high"] == auto
        chat.prompt.text = "What is it?"
        chat.prompt.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert user_parts(fake_openai)[1]["image_url"]["detail"] == "high"


async def test_when_the_files_cannot_be_kept_nothing_is_sent_and_nothing_is_lost(fake_openai, tmp_path):
    (tmp_path / "cat.png").write_bytes(png(8, 8))
    app, store = make_app(fake_openai, tmp_path, model="gpt-4o")
    (tmp_path / "attachments").write_text("a file where the blob folder goes")  # writing a blob fails
    async with app.run_test(size=(140, 40)) as pilot:
        chat = app.chat
        await chat.attach(str(tmp_path / "cat.png"))
        chat.prompt.text = "What is this?"
        chat.prompt.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert any("Nothing was sent: your message and its attachments are still in the box" in str(n.message)
                   for n in app._notifications)
        assert chat.prompt.text == "What is this?" and [a.name for a in chat.pending] == ["cat.png"]
        assert not [r for r in fake_openai.requests if r.path == "/v1/chat/completions"]
        assert chat.conversation_id is None
