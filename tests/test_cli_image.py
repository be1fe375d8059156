"""`chat-tui image generate|edit|variation`, run as a subprocess against the fake server."""

from __future__ import annotations

import json
import sqlite3

from conftest import run_cli
from fake_openai import result_image
from openapi_spec import validate_request
from PIL import Image
from test_resources import form_as_body


def png(path, w=16, h=16, mode="RGBA", colour=(10, 200, 10, 255)):
    Image.new(mode, (w, h), colour if mode == "RGBA" else colour[:3]).save(path, "PNG")
    return path.read_bytes()


def test_generate_writes_the_file_and_records_it(fake_openai, cli_env, isolated_env, tmp_path):
    target = tmp_path / "out" / "apple.png"
    done = run_cli("image", "generate", "-m", "dall-e-3", "--style", "natural", "-o", str(target), "A red apple", env=cli_env)
    assert done.returncode == 0, done.stderr
    validate_request("CreateImageRequest", fake_openai.requests[0].json)
    assert fake_openai.requests[0].json == {"prompt": "A red apple", "model": "dall-e-3", "style": "natural"}
    assert target.read_bytes() == result_image("dall-e-3", "A red apple", 0)
    assert done.stdout.splitlines() == [str(target), "  revised prompt: A red apple, in a detailed digital illustration"]
    db = sqlite3.connect(isolated_env / "chat-tui.db")
    assert db.execute("SELECT kind, prompt, model, cost FROM images").fetchall() == [("generate", "A red apple", "dall-e-3", 0.04)]
    (sha,) = db.execute("SELECT sha256 FROM images").fetchone()
    assert (isolated_env / "attachments" / sha[:2] / sha).read_bytes() == target.read_bytes()
    assert "sk-" not in "\n".join(db.iterdump())


def test_several_images_go_to_a_folder(fake_openai, cli_env, tmp_path):
    done = run_cli("image", "generate", "-m", "dall-e-2", "-n", "3", "--size", "256x256", "-o", str(tmp_path / "set"),
                   "Three pears", env=cli_env)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "set").iterdir()) == ["image-1.png", "image-2.png", "image-3.png"]
    assert (tmp_path / "set" / "image-3.png").read_bytes() == result_image("dall-e-2", "Three pears", 2)


def test_json_prints_the_response(fake_openai, cli_env):
    done = run_cli("image", "generate", "-m", "gpt-image-1", "--option", "output_format", "jpeg", "--json", "A fox",
                   env=cli_env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert len(data["data"]) == 1 and "b64_json" in data["data"][0] and data["usage"]["output_tokens"] == 272


def test_edit_with_a_mask_and_a_variation(fake_openai, cli_env, tmp_path):
    photo = png(tmp_path / "photo.png")
    png(tmp_path / "mask.png", colour=(0, 0, 0, 0))
    done = run_cli("image", "edit", str(tmp_path / "photo.png"), "--mask", str(tmp_path / "mask.png"),
                   "-P", "Add a hat", "-o", str(tmp_path / "hat.png"), env=cli_env)
    assert done.returncode == 0, done.stderr
    rec = fake_openai.requests[0]
    validate_request("CreateImageEditRequest", form_as_body("CreateImageEditRequest", rec))
    assert [f.name for f in rec.files] == ["image", "mask"]
    assert (tmp_path / "hat.png").read_bytes() == result_image("dall-e-2", "Add a hat", 0, [photo])
    done = run_cli("image", "variation", str(tmp_path / "photo.png"), "-n", "2", env=cli_env)
    assert done.returncode == 0, done.stderr
    validate_request("CreateImageVariationRequest", form_as_body("CreateImageVariationRequest", next(r for r in fake_openai.requests if r.path == "/v1/images/variations")))
    assert len(done.stdout.splitlines()) == 2 and all("attachments" in line for line in done.stdout.splitlines())


def test_limits_are_checked_before_sending(fake_openai, cli_env, tmp_path):
    png(tmp_path / "wide.png", 20, 10)
    png(tmp_path / "flat.png", mode="RGB")
    cases = [
        (("generate", "-m", "dall-e-3", "-n", "2", "a cat"), "dall-e-3 makes 1 image per request, not 2"),
        (("generate", "-m", "dall-e-2", "x" * 1001), "1,001 characters; dall-e-2 takes up to 1,000"),
        (("generate", "-m", "gpt-image-1", "--style", "vivid", "a cat"), "gpt-image-1 does not accept style"),
        (("edit", str(tmp_path / "wide.png"), "-P", "hat"), "wide.png: 20x10; dall-e-2 takes a square image"),
        (("edit", str(tmp_path / "flat.png"), "--mask", str(tmp_path / "flat.png"), "-P", "hat"), "needs an alpha channel"),
        (("variation", str(tmp_path / "missing.png")), "cannot read"),
    ]
    for args, needle in cases:
        done = run_cli("image", *args, env=cli_env)
        assert done.returncode == 2 and needle in done.stderr, (args, done.stderr)
    assert fake_openai.requests == []


def test_no_save_leaves_nothing_but_the_output(fake_openai, cli_env, isolated_env, tmp_path):
    done = run_cli("image", "generate", "--no-save", "A plum", env=cli_env)
    assert done.returncode == 2 and "give -o FILE" in done.stderr and fake_openai.requests == []
    done = run_cli("image", "generate", "--no-save", "-o", str(tmp_path / "plum.png"), "A plum", env=cli_env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "plum.png").read_bytes() == result_image("dall-e-2", "A plum", 0)
    assert not (isolated_env / "attachments").exists() and not (isolated_env / "chat-tui.db").exists()
