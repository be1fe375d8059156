"""The moderation and audio services over the real fake server: streamed transcripts (SSE
`transcript.text.delta`/`done`), image inputs to moderation, checks kept per message."""

from __future__ import annotations

import pytest
from attach_samples import png
from openapi_spec import validate_request
from test_resources import client_for, form_as_body, wav_bytes

from chat_tui.api.resources.audio import Transcript, TranscriptDelta
from chat_tui.core.attachments import classify
from chat_tui.core.audio import AudioError, check_file, check_options
from chat_tui.core.params import ChatParams
from chat_tui.core.params.audio import TranscriptionParams
from chat_tui.services import audio, moderation
from chat_tui.services.chat import Settings, start_turn
from chat_tui.store import Store


async def test_a_streamed_transcript_comes_in_pieces(fake_openai):
    fake_openai.transcript = "Hello there, general."
    upload = ("hi.wav", wav_bytes(1.0), "audio/wav")
    async with client_for(fake_openai) as client:
        events = [e async for e in client.audio.transcribe_stream(upload, "gpt-4o-transcribe",
                                                                  TranscriptionParams(language="en"))]
    rec = fake_openai.last_request
    assert rec.form == {"model": "gpt-4o-transcribe", "language": "en", "stream": "true"}
    validate_request("CreateTranscriptionRequest", form_as_body("CreateTranscriptionRequest", rec))
    deltas = [e.text for e in events if isinstance(e, TranscriptDelta)]
    assert deltas == ["Hello ", "there, ", "general."] and isinstance(events[-1], Transcript)
    assert events[-1].text == "Hello there, general." and events[-1].raw["type"] == "transcript.text.done"


async def test_pieces_add_up_for_every_model(fake_openai):
    fake_openai.transcript = "One two three."
    file = audio.AudioFile("a.wav", "audio/wav", wav_bytes(0.5))
    async with client_for(fake_openai) as client:
        streamed = [p async for p in audio.transcript_pieces(client, file, "gpt-4o-mini-transcribe")]
        whole = [p async for p in audio.transcript_pieces(client, file, "whisper-1")]
    assert streamed == ["One ", "two ", "three."] and whole == ["One two three."]
    assert [r.form.get("stream") for r in fake_openai.requests] == ["true", None]  # whisper-1 does not stream


def test_local_audio_checks():
    assert check_file("a.M4A", 10) == "audio/mp4"
    for name, size, needle in (("a.ogg", 10, ".ogg is not"), ("noext", 10, "no extension"), ("a.wav", 0, "empty"),
                               ("a.mp3", 25 * 1024 * 1024 + 1, "over the 25 MB limit")):
        with pytest.raises(AudioError, match=needle):
            check_file(name, size)
    check_options("whisper-1", "vtt", translate=True)
    check_options("my-local-whisper", "srt")  # an unknown model: its server decides
    with pytest.raises(AudioError, match="json or text only, not verbose_json"):
        check_options("gpt-4o-mini-transcribe", "verbose_json")


async def test_moderation_of_text_and_images(fake_openai):
    image = classify("cat.png", png(4, 4))
    async with client_for(fake_openai) as client:
        clean = await moderation.check_prompt(client, "a cat", [image])
        flagged = await moderation.check(client, "dynamite!")
    body = fake_openai.requests[0].json
    validate_request("CreateModerationRequest", body)
    assert body["model"] == "omni-moderation-latest"
    assert [p["type"] for p in body["input"]] == ["text", "image_url"] and body["input"][1]["image_url"]["url"] == image.data_url()
    assert not clean.flagged and clean.summary().startswith("not flagged (highest: ")
    assert flagged.flagged_categories == [("violence", 0.97)] and flagged.summary() == "flagged: violence 0.97"


async def test_a_message_check_is_kept_and_the_newest_shown(fake_openai, tmp_path):
    store = Store(tmp_path / "m.db")
    turn = start_turn(store, "dynamite for the quarry", Settings("gpt-4o-mini", ChatParams(), None, "fake"))
    message = store.get_message(turn.user_id)
    async with client_for(fake_openai) as client:
        first = await moderation.check_message(client, store, message)
        fake_openai.flag_word = None
        second = await moderation.check_message(client, store, message)
    assert first.flagged and not second.flagged
    assert moderation.checks_of(store, [turn.user_id, 999]) == {turn.user_id: second}
    store.close()
    reopened = Store(tmp_path / "m.db")
    assert moderation.checks_of(reopened, [turn.user_id])[turn.user_id].scores == second.scores
    reopened.close()


def test_audio_attachments_are_kept_not_sent(tmp_path):
    from chat_tui.core.attachments import AttachmentError, content_for
    from chat_tui.core.messages import TextPart
    from chat_tui.services.attachments import load

    (tmp_path / "memo.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(64))
    memo = load(str(tmp_path / "memo.m4a"))
    assert (memo.kind, memo.mime, memo.sent) == ("audio", "audio/mp4", False)
    assert content_for("hi", [memo]) == (TextPart("hi"),)  # the audio is no part of the request
    with pytest.raises(AttachmentError, match="kept with the message"):
        memo.part()
    big = tmp_path / "long.wav"
    with open(big, "wb") as f:  # sparse: refused from its size, never read
        f.truncate(30 * 1024 * 1024)
    with pytest.raises(AttachmentError, match="30.0 MB is over the 25 MB limit"):
        load(str(big))


async def test_checking_a_stored_message_sends_its_images(fake_openai, tmp_path):
    store = Store(tmp_path / "m.db")
    image = classify("crate.png", png(6, 6))
    turn = start_turn(store, "what is in the crate", Settings("gpt-4o", ChatParams(), None, "fake"), attachments=[image])
    async with client_for(fake_openai) as client:
        await moderation.check_message(client, store, store.get_message(turn.user_id))
    body = fake_openai.last_request.json
    validate_request("CreateModerationRequest", body)
    assert body["input"] == [{"type": "text", "text": "what is in the crate"},
                             {"type": "image_url", "image_url": {"url": image.data_url()}}]  # read back from the blob store
    store.close()
