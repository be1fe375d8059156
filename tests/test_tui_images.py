"""The Images screen (F10) driven like a user against the fake server: generate, edit with a
mask, vary, per-model errors (the typed prompt survives), open and copy path, and the palette."""

from __future__ import annotations

from fake_openai import result_image
from openapi_spec import validate_request
from PIL import Image
from test_resources import form_as_body

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Endpoint
from chat_tui.store import Store
from chat_tui.store.images import recent_images
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens import images as images_screen
from chat_tui.ui.screens.images import ImagesScreen
from chat_tui.ui.widgets.image_view import ImageView


def make_app(fake, tmp_path) -> tuple[ChatApp, Store]:
    ep = Endpoint(name="fake", base_url=fake.base_url)
    store = Store(tmp_path / "ui.db")
    return ChatApp(ep, store, client=OpenAIClient(ep), model="gpt-4o-mini"), store


def png(path, w=16, h=16, mode="RGBA", colour=(30, 60, 200, 255)) -> bytes:
    Image.new(mode, (w, h), colour if mode == "RGBA" else colour[:3]).save(path, "PNG")
    return path.read_bytes()


def image_posts(fake) -> list:
    """The requests to the image endpoints (the app also lists models when it starts)."""
    return [r for r in fake.requests if r.path.startswith("/v1/images/")]


async def open_screen(pilot) -> ImagesScreen:
    await pilot.press("f10")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ImagesScreen)
    return pilot.app.screen


async def fill(pilot, screen, **fields) -> None:
    for name, value in fields.items():
        screen.query_one(f"#image-{name}").value = value
    await pilot.pause()


async def send(pilot) -> None:
    await pilot.press("ctrl+g")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def tab(pilot, screen, kind: str) -> None:
    screen.query_one("#images-tabs").active = kind
    await pilot.pause()


async def test_generate_shows_the_images_with_their_paths(fake_openai, tmp_path):
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_screen(pilot)
        await pilot.press(*"A red apple")
        await fill(pilot, screen, model="dall-e-2", options="n=2 size=256x256")
        assert "dall-e-2 takes: n, size, response_format, user" in str(screen.query_one("#image-accepts").render())
        await send(pilot)
        body = image_posts(fake_openai)[0].json
        validate_request("CreateImageRequest", body)
        assert body == {"prompt": "A red apple", "model": "dall-e-2", "n": 2, "size": "256x256"}
        views = list(screen.query(ImageView))
        assert len(views) == 2 and all(v.error is None and v.pixels == (1, 1) for v in views)
        assert len(screen.results) == 2 and screen.results[1].path.read_bytes() == result_image("dall-e-2", "A red apple", 1)
        captions = [str(c.render()) for c in screen.query(".image-caption")]
        assert captions[0].startswith(f"1. {screen.results[0].path}")
        assert "2 images saved, about $0.032" in str(screen.query_one("#image-status").render())
        await pilot.press("ctrl+n", "ctrl+k")
        assert app.clipboard == str(screen.results[1].path)
        assert f"Copied {screen.results[1].path}" in [n.message for n in app._notifications]
    assert [r.prompt for r in recent_images(store)] == ["A red apple", "A red apple"]


async def test_model_options_are_refused_before_sending_and_the_prompt_stays(fake_openai, tmp_path):
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_screen(pilot)
        await fill(pilot, screen, model="dall-e-3", prompt="A lighthouse", options="n=2")
        await send(pilot)
        assert screen.error == "Not made: n: dall-e-3 makes 1 image per request, not 2"
        await fill(pilot, screen, model="gpt-image-1", options="style=vivid")
        assert "style" not in str(screen.query_one("#image-accepts").render())
        await send(pilot)
        assert "gpt-image-1 does not accept style" in screen.error
        await fill(pilot, screen, options="size")
        await send(pilot)
        assert "write options as name=value" in screen.error
        assert screen.query_one("#image-prompt").value == "A lighthouse" and image_posts(fake_openai) == []
        await fill(pilot, screen, model="dall-e-3", options="")
        await send(pilot)
        assert screen.error is None and "revised prompt: A lighthouse, in a detailed" in str(
            screen.query_one(".image-caption").render())


async def test_edit_with_a_mask_and_a_variation(fake_openai, tmp_path):
    photo = png(tmp_path / "photo.png")
    png(tmp_path / "mask.png", colour=(0, 0, 0, 0))
    png(tmp_path / "flat.png", mode="RGB")
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_screen(pilot)
        await tab(pilot, screen, "edit")
        assert screen.kind == "edit" and screen.query_one("#mask-row").display
        await fill(pilot, screen, prompt="Add a hat", path=str(tmp_path / "photo.png"), mask=str(tmp_path / "flat.png"))
        await send(pilot)
        assert "flat.png: the mask needs an alpha channel" in screen.error and image_posts(fake_openai) == []
        await fill(pilot, screen, mask=str(tmp_path / "mask.png"))
        await send(pilot)
        rec = image_posts(fake_openai)[0]
        validate_request("CreateImageEditRequest", form_as_body("CreateImageEditRequest", rec))
        assert [f.name for f in rec.files] == ["image", "mask"]
        assert screen.results[0].path.read_bytes() == result_image("dall-e-2", "Add a hat", 0, [photo])
        await tab(pilot, screen, "variation")
        assert not screen.query_one("#prompt-row").display and not screen.query_one("#mask-row").display
        await fill(pilot, screen, options="n=3")
        await send(pilot)
        rec = next(r for r in fake_openai.requests if r.path == "/v1/images/variations")
        validate_request("CreateImageVariationRequest", form_as_body("CreateImageVariationRequest", rec))
        assert len(screen.results) == 3 and len(screen.query(ImageView)) == 3
    assert [r.kind for r in recent_images(store)] == ["variation"] * 3 + ["edit"]


def offered(screen) -> dict[str, tuple | None]:
    """The option widgets shown: name -> the values of its menu (None: a free field)."""
    from textual.widgets import Select

    out = {}
    for field in screen.query(".image-option"):
        name = field.id.removeprefix("opt-")
        out[name] = tuple(v for _, v in field._options if v is not Select.NULL) if isinstance(field, Select) else None
    return out


async def test_only_the_options_a_model_takes_are_offered_with_its_values(fake_openai, tmp_path):
    from textual.widgets import Select

    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_screen(pilot)
        await fill(pilot, screen, model="dall-e-3", prompt="A lighthouse")
        assert offered(screen) == {"size": ("1024x1024", "1792x1024", "1024x1792"), "quality": ("standard", "hd"),
                                   "response_format": ("url", "b64_json"), "style": ("vivid", "natural"), "user": None}
        # Pick a size from its menu with the keyboard, as a user does.
        size = screen.query_one("#opt-size", Select)
        size.focus()
        await pilot.press("enter", "down", "down", "enter")  # default → 1024x1024 → 1792x1024
        assert size.value == "1792x1024"
        screen.query_one("#opt-style", Select).value = "natural"
        await fill(pilot, screen, model="gpt-image-1")  # the size stays (gpt-image-1 has no 1792x1024: back to default)
        assert set(offered(screen)) == {"n", "size", "background", "moderation", "output_compression", "output_format",
                                        "quality", "user"}
        assert offered(screen)["quality"] == ("auto", "low", "medium", "high")
        await fill(pilot, screen, model="dall-e-3")
        screen.query_one("#opt-size", Select).value = "1024x1792"
        screen.query_one("#opt-quality", Select).value = "hd"
        await send(pilot)
        body = image_posts(fake_openai)[0].json
        validate_request("CreateImageRequest", body)
        assert body == {"prompt": "A lighthouse", "model": "dall-e-3", "size": "1024x1792", "quality": "hd"}
        await tab(pilot, screen, "edit")
        assert "style" not in offered(screen) and "dall-e-3 takes: size" in str(screen.query_one("#image-accepts").render())
        await fill(pilot, screen, model="mystery-model")
        assert "(not a model known here: every option, unchecked)" in str(screen.query_one("#image-accepts").render())
        assert offered(screen)["size"] is None and offered(screen)["n"] is None


async def test_a_gpt_image_edit_takes_several_images(fake_openai, tmp_path):
    one, two = png(tmp_path / "one.png"), png(tmp_path / "my two.png", colour=(200, 10, 10, 255))
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_screen(pilot)
        await tab(pilot, screen, "edit")
        paths = f"{tmp_path / 'one.png'} '{tmp_path / 'my two.png'}'"
        await fill(pilot, screen, model="dall-e-2", prompt="Put them together", path=paths)
        await send(pilot)
        assert "dall-e-2 takes one image" in screen.error and image_posts(fake_openai) == []
        await fill(pilot, screen, model="gpt-image-1")
        await send(pilot)
        assert screen.error is None
        rec = image_posts(fake_openai)[0]
        validate_request("CreateImageEditRequest", form_as_body("CreateImageEditRequest", rec))
        assert [(f.name, f.data) for f in rec.files] == [("image[]", one), ("image[]", two)]
        await tab(pilot, screen, "variation")
        await send(pilot)
        assert screen.error == "Not made: image: a variation is of one image, not 2"


async def test_the_path_field_completes_file_names(fake_openai, tmp_path):
    (tmp_path / "pictures").mkdir()
    png(tmp_path / "pictures" / "sunset.png")
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_screen(pilot)
        await tab(pilot, screen, "variation")
        field = screen.query_one("#image-path")
        field.focus()
        await pilot.press(*f"{tmp_path}/pic")
        await pilot.pause()
        await pilot.press("right")  # accepts the suggestion
        assert field.value == f"{tmp_path}/pictures/"
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("right")
        assert field.value == f"{tmp_path}/pictures/sunset.png"


async def test_open_uses_the_system_viewer_or_says_there_is_none(fake_openai, tmp_path, monkeypatch):
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_screen(pilot)
        await fill(pilot, screen, prompt="A cat")
        await send(pilot)
        monkeypatch.setattr(images_screen, "system_viewer", lambda: None)
        await pilot.press("ctrl+o")
        assert any("No system viewer" in str(n.message) and str(screen.results[0].path) in str(n.message)
                   for n in app._notifications)
        log = tmp_path / "opened.txt"
        viewer = tmp_path / "viewer.sh"
        viewer.write_text(f'#!/bin/sh\necho "$1" > {log}\n')
        viewer.chmod(0o755)
        monkeypatch.setattr(images_screen, "system_viewer", lambda: str(viewer))
        await pilot.press("ctrl+o")
        for _ in range(100):
            if log.exists() and log.read_text():
                break
            await pilot.pause(0.02)
        assert log.read_text().strip() == str(screen.results[0].path)
        log.unlink()
        await pilot.press("ctrl+e")  # reveal: the folder it is in
        for _ in range(100):
            if log.exists() and log.read_text():
                break
            await pilot.pause(0.02)
        assert log.read_text().strip() == str(screen.results[0].path.parent)
        await pilot.press("f10")
        await pilot.pause()
        assert not isinstance(app.screen, ImagesScreen)


async def test_the_palette_opens_the_images_screen(fake_openai, tmp_path):
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        assert "Images" in [c.title for c in app.get_system_commands(app.screen)]
        app.action_images()
        await pilot.pause()
        assert isinstance(app.screen, ImagesScreen)


# -- /image in the chat -------------------------------------------------------------------------


async def type_line(pilot, text: str) -> None:
    from chat_tui.ui.widgets.prompt import PromptInput

    prompt = pilot.app.query_one(PromptInput)
    prompt.focus()
    prompt.load_text(text[:-1])  # a long line typed key by key would take a minute
    prompt.move_cursor(prompt.document.end)
    await pilot.press(text[-1], "enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_slash_image_makes_an_image_in_the_conversation_shown_inline(fake_openai, tmp_path):
    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await type_line(pilot, "/image A red kite")
        posts = image_posts(fake_openai)
        assert len(posts) == 1 and posts[0].json == {"prompt": "A red kite"}  # the server's default model
        validate_request("CreateImageRequest", posts[0].json)
        assert not [r for r in fake_openai.requests if r.path == "/v1/chat/completions"]
        chat = app.chat
        views = list(chat.conversation.query(ImageView))
        assert len(views) == 1 and views[0].error is None
        cid = chat.conversation_id
        user, reply = store.messages(cid)
        assert (user.role, user.content) == ("user", "/image A red kite")
        (record,) = recent_images(store)
        assert (reply.role, reply.status, record.conversation_id, record.message_id) == ("assistant", "complete", cid, reply.id)
        assert str(views[0].source) in reply.content and views[0].source.read_bytes() == result_image("dall-e-2", "A red kite", 0)
        assert {h.conversation_id for h in store.search("kite")} == {cid}


async def test_slash_image_refused_keeps_the_text_and_a_failed_one_ends_in_error(fake_openai, tmp_path):
    from fake_openai import Fault, openai_error

    from chat_tui.ui.widgets.prompt import PromptInput

    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.image_model = "dall-e-2"
        await type_line(pilot, "/image " + "x" * 1001)
        assert app.query_one(PromptInput).text == "/image " + "x" * 1001
        assert any("takes up to 1,000" in str(n.message) for n in app._notifications)
        assert image_posts(fake_openai) == [] and app.chat.conversation_id is None
        app.query_one(PromptInput).load_text("")
        fake_openai.enqueue_fault(Fault("status", status=400, path="/v1/images/generations",
                                        body=openai_error("Your request was rejected by the safety system.")))
        await type_line(pilot, "/image A storm")
        user, reply = store.messages(app.chat.conversation_id)
        assert reply.status == "error" and "rejected by the safety system" in reply.error
        assert list(app.chat.conversation.query(ImageView)) == []


async def test_an_image_made_in_a_chat_is_shown_again_when_the_conversation_is_reopened(fake_openai, tmp_path):
    """Made with `/image`, the app closed; a new app finds the conversation in history (F9, by
    the image's prompt) and shows the image under its reply, from the blob store."""
    from demo import settle_workers as settle

    app, store = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await type_line(pilot, "/image A lighthouse at dusk")
        (made,) = app.chat.conversation.query(ImageView)
        cid, path = app.chat.conversation_id, made.source
    app, store = make_app(fake_openai, tmp_path)  # a new run on the same database
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        assert list(app.chat.conversation.query(ImageView)) == []
        await pilot.press("f9")
        await settle(pilot)
        await pilot.press(*"lighthouse")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.chat.conversation_id == cid
        (shown,) = app.chat.conversation.query(ImageView)
        assert shown.source == path and shown.error is None
        reply = store.messages(cid)[-1]
        assert shown.parent is next(v for v in app.chat.conversation.views() if v.message_id == reply.id)


async def test_slash_image_typed_while_connecting_is_an_image_once_connected(fake_openai, tmp_path):
    """Found in tmux: Enter before the endpoint was ready queued the line as a chat message."""
    import threading

    from chat_tui.ui.widgets.prompt import PromptInput

    ep = Endpoint(name="fake", base_url=fake_openai.base_url)
    store = Store(tmp_path / "ui.db")
    app = ChatApp(ep, store, client=None, model="gpt-4o-mini")
    gate = threading.Event()
    connect = app._client_for
    app._client_for = lambda endpoint: (gate.wait(10), connect(endpoint))[1]
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        assert not app.client_ready
        prompt = app.query_one(PromptInput)
        prompt.focus()
        await pilot.press(*"/image A kite", "enter")
        await pilot.pause()
        gate.set()
        await app.ready_event.wait()
        from demo import settle_workers

        await settle_workers(pilot)
        assert len(image_posts(fake_openai)) == 1
        assert not [r for r in fake_openai.requests if r.path == "/v1/chat/completions"]
        assert len(app.chat.conversation.query(ImageView)) == 1 and prompt.text == ""


async def test_the_form_and_results_stay_when_the_screen_is_closed_and_opened_again(fake_openai, tmp_path):
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_screen(pilot)
        await fill(pilot, screen, model="dall-e-2", prompt="A kite")
        await send(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ImagesScreen)
        again = await open_screen(pilot)
        assert again.query_one("#image-prompt").value == "A kite" and len(again.results) == 1
