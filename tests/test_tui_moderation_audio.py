"""Moderation and speech in the chat screen, driven with Pilot against the fake server: a
flagged prompt held (go back keeps it; confirm sends it), the check action on messages (the key
and the command palette) shown under them and again on reopen, and an attached audio file
transcribed into the prompt at the cursor as the transcript streams in."""

from __future__ import annotations

import threading

from attach_samples import png
from demo import until
from fake_openai import Fault
from openapi_spec import validate_request
from test_resources import form_as_body, wav_bytes
from textual import events
from textual.command import CommandList, CommandPalette
from textual.widgets import Static

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Endpoint
from chat_tui.store import Store
from chat_tui.store.attachments import attachments
from chat_tui.ui.app import ChatApp
from chat_tui.ui.screens.dialogs import ConfirmScreen
from chat_tui.ui.widgets.attachments import (
    AttachField,
    AttachmentChip,
    AttachmentPlaceholder,
)
from chat_tui.ui.widgets.conversation import MessageView

SIZE = (130, 42)


def make_app(fake, tmp_path, cid=None, **endpoint):
    ep = Endpoint(name="fake", base_url=fake.base_url, **endpoint)
    store = Store(tmp_path / "ui.db")
    return ChatApp(ep, store, client=OpenAIClient(ep), model="gpt-4o", conversation_id=cid), store


def chips(app) -> list[str]:
    return [str(c.render()) for c in app.screen.query(AttachmentChip)]


def moderation_lines(app) -> list[str]:
    return [str(v.query_one(".moderation", Static).render()) if v.query_one(".moderation").display else ""
            for v in app.screen.query(MessageView)]


def paths(fake) -> list[str]:
    """The requests made, but the model list the app reads at start."""
    return [r.path for r in fake.requests if r.path != "/v1/models"]


async def attach_by_key(app, pilot, path) -> None:
    await pilot.press("ctrl+t")
    app.screen.query_one(AttachField).value = str(path)
    await pilot.press("enter")
    await until(pilot, lambda: any(str(path.name) in c for c in chips(app)), "the chip")


async def test_a_flagged_prompt_is_held_kept_on_go_back_and_sent_on_confirm(fake_openai, tmp_path):
    (tmp_path / "crate.png").write_bytes(png(8, 8))
    app, store = make_app(fake_openai, tmp_path, moderate=True)
    async with app.run_test(size=SIZE) as pilot:
        chat = app.chat
        # Not flagged: checked, then sent at once.
        await pilot.press(*"hello", "enter")
        await until(pilot, lambda: len(chat.conversation.views()) == 2 and not chat.replying(), "the first answer")
        await app.workers.wait_for_complete()
        assert paths(fake_openai) == ["/v1/moderations", "/v1/chat/completions"]
        assert moderation_lines(app)[0].startswith("✓ moderation: not flagged (highest: ")

        await attach_by_key(app, pilot, tmp_path / "crate.png")
        await pilot.press(*"a crate of dynamite", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the hold dialog")
        question = str(app.screen.query_one(Static).render())
        assert "flagged this prompt:\n  violence: 0.97\n" in question and "has not been sent" in question
        check = fake_openai.last_post.json
        validate_request("CreateModerationRequest", check)
        assert check["model"] == "omni-moderation-latest"
        assert [p["type"] for p in check["input"]] == ["text", "image_url"]  # the image is checked too
        assert paths(fake_openai)[2:] == ["/v1/moderations"]  # held: no chat request

        await pilot.press("enter")  # "Go back" has the focus: Enter right away must not send
        await until(pilot, lambda: app.screen is chat, "back to the chat")
        await app.workers.wait_for_complete()
        assert chat.prompt.text == "a crate of dynamite" and len(chat.pending) == 1
        assert chips(app)[0].startswith("▣ crate.png")
        assert paths(fake_openai)[2:] == ["/v1/moderations"] and len(store.messages(chat.conversation_id)) == 2

        chat.prompt.focus()
        await pilot.press("enter")  # again: held again, and this time sent anyway
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the hold dialog again")
        await pilot.click("#yes")
        await until(pilot, lambda: len(chat.conversation.views()) == 4 and not chat.replying(), "the answer")
        await app.workers.wait_for_complete()
        sent = fake_openai.last_post.json
        validate_request("CreateChatCompletionRequest", sent)
        assert sent["messages"][-1]["content"][0] == {"type": "text", "text": "a crate of dynamite"}
        assert sent["messages"][-1]["content"][1]["type"] == "image_url"
        assert chat.prompt.text == "" and chat.pending == [] and chips(app) == []
        assert moderation_lines(app)[2] == "⚑ moderation: flagged: violence 0.97"  # the check, kept with it


async def test_check_action_by_key_and_palette_shows_and_is_kept(fake_openai, tmp_path):
    fake_openai.answer = "Quarries use dynamite with care."
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        chat = app.chat
        await pilot.press(*"How are rocks split?", "enter")
        await until(pilot, lambda: len(chat.conversation.views()) == 2 and not chat.replying(), "the answer")
        await app.workers.wait_for_complete()
        assert paths(fake_openai) == ["/v1/chat/completions"]  # moderate is off by default
        user, answer = chat.conversation.views()
        assert moderation_lines(app) == ["", ""]
        user.focus()
        await pilot.press("m")
        await until(pilot, lambda: moderation_lines(app)[0] != "", "the check line")
        assert moderation_lines(app)[0].startswith("✓ moderation: not flagged (highest: ")
        assert fake_openai.last_post.json == {"input": "How are rocks split?", "model": "omni-moderation-latest"}

        answer.focus()
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the command palette")
        await pilot.press(*"check message")
        await until(pilot, lambda: bool(app.screen.query(CommandList)) and app.screen.query_one(CommandList).highlighted is not None
                    and "Check message" in str(app.screen.query_one(CommandList).highlighted_option.prompt), "the command")
        await pilot.press("enter")
        await until(pilot, lambda: moderation_lines(app)[1] != "", "the answer's check line")
        assert moderation_lines(app)[1] == "⚑ moderation: flagged: violence 0.97"
        assert fake_openai.last_post.json["input"] == "Quarries use dynamite with care."
        cid = chat.conversation_id

    again, _ = make_app(fake_openai, tmp_path, cid=cid)
    async with again.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(again.chat.conversation.views()) == 2, "the conversation reopened")
        lines = moderation_lines(again)
        assert lines[0].startswith("✓ moderation: not flagged") and lines[1] == "⚑ moderation: flagged: violence 0.97"


async def test_attached_audio_streams_its_transcript_into_the_prompt_at_the_cursor(fake_openai, tmp_path):
    audio = wav_bytes(1.0)
    (tmp_path / "memo.wav").write_bytes(audio)
    fake_openai.transcript = "Meet at noon\x1b[31m tomorrow. "
    fake_openai.transcript_hold = threading.Event()
    app, store = make_app(fake_openai, tmp_path, transcription_model="gpt-4o-transcribe")
    async with app.run_test(size=SIZE) as pilot:
        chat = app.chat
        await pilot.press(*"Note: ", *"Thanks", *["left"] * 6)  # the cursor before "Thanks"
        app.post_message(events.Paste(str(tmp_path / "memo.wav")))  # a pasted path attaches
        # The first piece is in the prompt while the rest is still coming.
        await until(pilot, lambda: chat.prompt.text == "Note: Meet Thanks", "the first piece")
        assert chat.transcribing()
        await pilot.press("enter")  # not sent while transcribing
        assert paths(fake_openai) == ["/v1/audio/transcriptions"]
        fake_openai.transcript_hold.set()
        await app.workers.wait_for_complete()
        assert chat.prompt.text == "Note: Meet at noon␛[31m tomorrow. Thanks"  # controls made visible
        rec = next(r for r in fake_openai.requests if r.path == "/v1/audio/transcriptions")
        assert rec.form == {"model": "gpt-4o-transcribe", "stream": "true"}
        validate_request("CreateTranscriptionRequest", form_as_body("CreateTranscriptionRequest", rec))
        assert rec.files[0].filename == "memo.wav" and rec.files[0].data == audio
        assert chips(app)[0].startswith("▤ memo.wav · audio/wav")

        chat.prompt.focus()
        await pilot.press("enter")
        await until(pilot, lambda: len(chat.conversation.views()) == 2 and not chat.replying(), "the answer")
        await app.workers.wait_for_complete()
        body = fake_openai.last_post.json
        validate_request("CreateChatCompletionRequest", body)
        # The audio is not sent to the chat model: the text only.
        assert body["messages"][-1]["content"] == [{"type": "text", "text": "Note: Meet at noon␛[31m tomorrow. Thanks"}]
        user = chat.conversation.views()[0]
        assert next(p.label for p in user.query(AttachmentPlaceholder)).startswith("memo.wav · audio/wav")
        rows = attachments(store, user.message_id)
        assert [(a.kind, a.name, a.mime, a.size) for a in rows] == [("audio", "memo.wav", "audio/wav", len(audio))]
        cid = chat.conversation_id

    again, _ = make_app(fake_openai, tmp_path, cid=cid)
    async with again.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(again.chat.conversation.views()) == 2, "the conversation reopened")
        user = again.chat.conversation.views()[0]
        assert next(p.label for p in user.query(AttachmentPlaceholder)).startswith("memo.wav · audio/wav")


async def test_removing_the_audio_chip_stops_its_transcript(fake_openai, tmp_path):
    (tmp_path / "memo.webm").write_bytes(b"\x1aE\xdf\xa3" + bytes(4000))
    fake_openai.transcript = "one two three"
    fake_openai.transcript_hold = threading.Event()
    app, _ = make_app(fake_openai, tmp_path, transcription_model="gpt-4o-mini-transcribe",
                      transcription_language="fr")
    async with app.run_test(size=SIZE) as pilot:
        chat = app.chat
        await attach_by_key(app, pilot, tmp_path / "memo.webm")
        await until(pilot, lambda: chat.prompt.text == "one ", "the first piece")
        # The profile's language goes with the audio (transcription_language).
        rec = next(r for r in fake_openai.requests if r.path == "/v1/audio/transcriptions")
        assert rec.form == {"model": "gpt-4o-mini-transcribe", "language": "fr", "stream": "true"}
        app.screen.query_one(AttachmentChip).focus()
        await pilot.press("delete")
        await until(pilot, lambda: not chat.transcribing(), "the transcription to stop")
        fake_openai.transcript_hold.set()
        await app.workers.wait_for_complete()
        assert chat.pending == [] and chips(app) == [] and chat.prompt.text == "one "


async def test_a_failed_check_sends_nothing_and_keeps_the_prompt(fake_openai, tmp_path):
    fake_openai.enqueue_fault(Fault("status", status=400, path="/v1/moderations",
                                    body={"error": {"message": "[bold]no[/bold] moderation here", "type": "invalid_request_error"}}))
    app, store = make_app(fake_openai, tmp_path, moderate=True)
    async with app.run_test(size=SIZE) as pilot:
        chat = app.chat
        await pilot.press(*"hello", "enter")
        await until(pilot, lambda: any("moderation check failed" in str(n.message) for n in app._notifications), "the notice")
        await app.workers.wait_for_complete()
        notice = next(n for n in app._notifications if "moderation check failed" in str(n.message))
        assert "[bold]no[/bold] moderation here" in notice.message and "Nothing was sent" in notice.message
        assert chat.prompt.text == "hello" and paths(fake_openai) == ["/v1/moderations"]
        assert chat.conversation_id is None and chat.conversation.views() == []
        assert store._rows("SELECT COUNT(*) AS n FROM messages") == [{"n": 0}]
