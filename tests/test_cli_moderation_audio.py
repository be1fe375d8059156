"""`chat-tui moderate` and `chat-tui transcribe`, run as subprocesses against the fake server:
exit codes for scripts, the request bodies and multipart uploads (validated against the spec),
the formats, translation, and the local checks that refuse before anything is sent."""

from __future__ import annotations

import json

from attach_samples import png
from conftest import run_cli
from fake_openai import Fault
from openapi_spec import validate_request
from test_resources import form_as_body, wav_bytes

# -- moderate -----------------------------------------------------------------------------------


def test_moderate_exit_codes_and_output(fake_openai, cli_env):
    clean = run_cli("moderate", "A walk in the park", env=cli_env)
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.startswith("not flagged  (omni-moderation-latest)\n")
    assert len(clean.stdout.splitlines()) == 1 + 13 and "flagged\n" not in clean.stdout
    fake_openai.flag_category = "illicit/violent"
    flagged = run_cli("moderate", "where to buy dynamite", env=cli_env)
    assert flagged.returncode == 1, flagged.stderr
    lines = flagged.stdout.splitlines()
    assert lines[0] == "FLAGGED  (omni-moderation-latest)"
    assert lines[1].split() == ["illicit/violent", "0.9700", "flagged"]  # highest score first
    for rec in fake_openai.requests:
        validate_request("CreateModerationRequest", rec.json)
    assert [r.json for r in fake_openai.requests] == [
        {"input": "A walk in the park", "model": "omni-moderation-latest"},
        {"input": "where to buy dynamite", "model": "omni-moderation-latest"}]


def test_moderate_reads_stdin_and_prints_json(fake_openai, cli_env):
    done = run_cli("moderate", "-", "--json", "-m", "text-moderation-latest", env=cli_env, input="DYNAMITE\x1b[2J here\n")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["flagged"] is True and data["model"] == "text-moderation-latest"
    assert data["categories"]["violence"] is True and data["category_scores"]["violence"] == 0.97
    assert "\x1b" not in done.stdout  # JSON escapes control characters
    assert fake_openai.last_request.json == {"input": "DYNAMITE\x1b[2J here\n", "model": "text-moderation-latest"}


def test_moderate_sends_images_as_image_url_parts(fake_openai, cli_env, tmp_path):
    (tmp_path / "cat.png").write_bytes(png(4, 4))
    done = run_cli("moderate", "a cat", "-i", str(tmp_path / "cat.png"), env=cli_env)
    assert done.returncode == 0, done.stderr
    body = fake_openai.last_request.json
    validate_request("CreateModerationRequest", body)
    assert body["input"][0] == {"type": "text", "text": "a cat"}
    assert body["input"][1]["type"] == "image_url" and body["input"][1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_moderate_errors_are_not_verdicts(fake_openai, cli_env, tmp_path):
    fake_openai.enqueue_fault(Fault("status", status=401, body={"error": {"message": "Incorrect API key provided",
                                                                          "type": "invalid_request_error", "code": "invalid_api_key"}}))
    denied = run_cli("moderate", "hello", env=cli_env)
    assert denied.returncode == 3 and "Incorrect API key" in denied.stderr and denied.stdout == ""
    assert run_cli("moderate", env=cli_env).returncode == 2  # no text (stdin empty and not a terminal)
    (tmp_path / "notes.txt").write_text("hi")
    not_image = run_cli("moderate", "x", "-i", str(tmp_path / "notes.txt"), env=cli_env)
    assert not_image.returncode == 2 and "not an image" in not_image.stderr
    text_model = run_cli("moderate", "x", "-i", str(tmp_path / "notes.txt"), "-m", "text-moderation-latest", env=cli_env)
    assert text_model.returncode == 2
    gone = run_cli("moderate", "hello", env={**cli_env, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert gone.returncode == 3 and "cannot connect" in gone.stderr
    assert len(fake_openai.requests) == 1


# -- transcribe ---------------------------------------------------------------------------------


def test_transcribe_uploads_a_real_wav_and_prints_the_text(fake_openai, cli_env, tmp_path):
    audio = wav_bytes(1.0)
    (tmp_path / "memo.wav").write_bytes(audio)
    fake_openai.transcript = "Buy milk.\x1b]0;pwned\x07 Then call Ada."
    done = run_cli("transcribe", str(tmp_path / "memo.wav"), "--language", "en", "--prompt", "Ada", env=cli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Buy milk.␛]0;pwned␇ Then call Ada.\n"  # control characters made visible
    rec = fake_openai.last_request
    assert rec.path == "/v1/audio/transcriptions"
    assert rec.form == {"model": "whisper-1", "language": "en", "prompt": "Ada"}
    validate_request("CreateTranscriptionRequest", form_as_body("CreateTranscriptionRequest", rec))
    (upload,) = rec.files
    assert (upload.name, upload.filename, upload.content_type, upload.data) == ("file", "memo.wav", "audio/wav", audio)


def test_transcribe_formats_and_translate(fake_openai, cli_env, tmp_path):
    (tmp_path / "talk.wav").write_bytes(wav_bytes(1.0))
    fake_openai.transcript = "One. Two."
    srt = run_cli("transcribe", str(tmp_path / "talk.wav"), "--format", "srt", env=cli_env)
    assert srt.returncode == 0, srt.stderr
    assert srt.stdout == "1\n00:00:00,000 --> 00:00:00,500\nOne.\n\n2\n00:00:00,500 --> 00:00:01,000\nTwo.\n\n"
    vtt = run_cli("transcribe", str(tmp_path / "talk.wav"), "--format", "vtt", env=cli_env)
    assert vtt.stdout.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:00.500\nOne.")
    verbose = run_cli("transcribe", str(tmp_path / "talk.wav"), "--format", "verbose_json", env=cli_env)
    data = json.loads(verbose.stdout)
    assert data["duration"] == 1.0 and [s["text"] for s in data["segments"]] == [" One.", " Two."]
    text = run_cli("transcribe", str(tmp_path / "talk.wav"), "--format", "text", "-m", "gpt-4o-mini-transcribe", env=cli_env)
    assert text.returncode == 0 and text.stdout == "One. Two.\n"
    translated = run_cli("transcribe", str(tmp_path / "talk.wav"), "--translate", "--temperature", "0.2", env=cli_env)
    assert translated.returncode == 0 and translated.stdout == "One. Two.\n"
    rec = fake_openai.last_request
    assert rec.path == "/v1/audio/translations" and rec.form == {"model": "whisper-1", "temperature": "0.2"}
    validate_request("CreateTranslationRequest", form_as_body("CreateTranslationRequest", rec))
    for rec in fake_openai.requests[:-1]:
        validate_request("CreateTranscriptionRequest", form_as_body("CreateTranscriptionRequest", rec))
    assert [r.form.get("response_format") for r in fake_openai.requests] == ["srt", "vtt", "verbose_json", "text", None]


def test_transcribe_refuses_before_sending(fake_openai, cli_env, tmp_path):
    big = tmp_path / "long.mp3"
    with open(big, "wb") as f:  # sparse: 26 MB on paper, nothing on disk
        f.truncate(26 * 1024 * 1024)
    too_big = run_cli("transcribe", str(big), env=cli_env)
    assert too_big.returncode == 2 and "26.0 MB is over the 25 MB limit" in too_big.stderr
    (tmp_path / "song.flac").write_bytes(b"fLaC" + bytes(100))
    wrong = run_cli("transcribe", str(tmp_path / "song.flac"), env=cli_env)
    assert wrong.returncode == 2 and ".flac is not an audio format the endpoint takes (mp3, mp4, mpeg, mpga, m4a, wav, webm)" in wrong.stderr
    (tmp_path / "a.wav").write_bytes(wav_bytes(0.5))
    srt = run_cli("transcribe", str(tmp_path / "a.wav"), "-m", "gpt-4o-transcribe", "--format", "srt", env=cli_env)
    assert srt.returncode == 2 and "gpt-4o-transcribe answers in json or text only, not srt" in srt.stderr
    gpt_translate = run_cli("transcribe", str(tmp_path / "a.wav"), "-m", "gpt-4o-transcribe", "--translate", env=cli_env)
    assert gpt_translate.returncode == 2 and "translations take whisper-1 only" in gpt_translate.stderr
    lang = run_cli("transcribe", str(tmp_path / "a.wav"), "--translate", "--language", "fr", env=cli_env)
    assert lang.returncode == 2 and "no --language" in lang.stderr
    hot = run_cli("transcribe", str(tmp_path / "a.wav"), "--temperature", "1.5", env=cli_env)
    assert hot.returncode == 2 and "temperature" in hot.stderr
    missing = run_cli("transcribe", str(tmp_path / "nope.wav"), env=cli_env)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert fake_openai.requests == []


def test_a_broken_wav_is_refused_by_the_server(fake_openai, cli_env, tmp_path):
    (tmp_path / "cut.wav").write_bytes(wav_bytes(1.0)[:30])  # the header cut short: not a WAV
    done = run_cli("transcribe", str(tmp_path / "cut.wav"), env=cli_env)
    assert done.returncode == 1 and "corrupted or unsupported" in done.stderr


def test_ask_refuses_audio_and_points_to_transcribe(fake_openai, cli_env, tmp_path):
    (tmp_path / "memo.wav").write_bytes(wav_bytes(0.5))
    done = run_cli("ask", "-m", "gpt-4o", "-a", str(tmp_path / "memo.wav"), "Summarise", env=cli_env)
    assert done.returncode == 2 and "chat-tui transcribe FILE | chat-tui ask" in done.stderr
    assert fake_openai.requests == []


def test_profile_keys_choose_the_models(fake_openai, cli_env, isolated_env, tmp_path):
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text(
        f'[profiles.fake]\nbase_url = "{fake_openai.base_url}"\nmoderate = true\n'
        'moderation_model = "text-moderation-stable"\ntranscription_model = "gpt-4o-mini-transcribe"\n')
    (tmp_path / "a.wav").write_bytes(wav_bytes(0.5))
    mod = run_cli("-p", "fake", "moderate", "hi", env=cli_env)
    tr = run_cli("-p", "fake", "transcribe", str(tmp_path / "a.wav"), env=cli_env)
    assert mod.returncode == 0 and tr.returncode == 0, mod.stderr + tr.stderr
    assert "warning" not in mod.stderr + tr.stderr  # the keys are known
    assert fake_openai.requests[0].json["model"] == "text-moderation-stable"
    assert fake_openai.requests[1].form["model"] == "gpt-4o-mini-transcribe"
    (isolated_env / "config.toml").write_text(f'[profiles.fake]\nbase_url = "{fake_openai.base_url}"\nmoderate = "yes"\n')
    bad = run_cli("-p", "fake", "moderate", "hi", env=cli_env)
    assert bad.returncode == 2 and "moderate must be true or false" in bad.stderr
