"""`chat-tui ask -a FILE|URL`: the parts sent (validated against the spec), what is kept, the
local checks, and a model that takes no images."""

from __future__ import annotations

import base64
import json
import sqlite3

from attach_samples import PDF, png
from conftest import run_cli
from openapi_spec import validate_request


def test_ask_with_images_a_pdf_and_a_text_file(fake_openai, cli_env, isolated_env, tmp_path):
    (tmp_path / "cat.png").write_bytes(png(640, 480))
    (tmp_path / "doc.pdf").write_bytes(PDF)
    (tmp_path / "notes.md").write_text("# Notes\nhello\n")
    out = run_cli("ask", "-m", "gpt-4o", "-a", str(tmp_path / "cat.png"), "-a", "https://example.com/dog.jpg",
                  "-a", str(tmp_path / "doc.pdf"), "-a", str(tmp_path / "notes.md"), "--detail", "low",
                  "What is this?", env=cli_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Echo: What is this?") and out.stdout.rstrip().endswith("[I see 2 images, 1 file]")
    body = fake_openai.last_request.json
    validate_request("CreateChatCompletionRequest", body)
    content = body["messages"][-1]["content"]
    assert [p["type"] for p in content] == ["text", "image_url", "image_url", "file", "text"]
    assert content[1]["image_url"] == {"url": "data:image/png;base64," + base64.b64encode(png(640, 480)).decode(), "detail": "low"}
    assert content[2]["image_url"] == {"url": "https://example.com/dog.jpg", "detail": "low"}
    assert content[3]["file"]["filename"] == "doc.pdf"
    assert content[3]["file"]["file_data"] == "data:application/pdf;base64," + base64.b64encode(PDF).decode()
    assert content[4]["text"] == "\n\nFile: notes.md\n```\n# Notes\nhello\n```"

    db = sqlite3.connect(isolated_env / "chat-tui.db")
    (parts,) = db.execute("SELECT parts FROM messages WHERE role = 'user'").fetchone()
    assert json.loads(parts) == content
    rows = db.execute("SELECT position, kind, name, mime, size, sha256 FROM attachments ORDER BY position").fetchall()
    assert [r[:5] for r in rows] == [(1, "image", "cat.png", "image/png", len(png(640, 480))),
                                     (3, "file", "doc.pdf", "application/pdf", len(PDF)),
                                     (4, "file", "notes.md", "text/plain", 14)]
    assert (isolated_env / "attachments" / rows[0][5][:2] / rows[0][5]).read_bytes() == png(640, 480)

    # -c: the earlier image goes again with the history.
    out = run_cli("ask", "-c", "and now?", env=cli_env)
    assert out.returncode == 0, out.stderr
    body = fake_openai.last_request.json
    validate_request("CreateChatCompletionRequest", body)
    assert body["messages"][0]["content"] == content


def test_ask_attach_refusals_send_nothing(fake_openai, cli_env, tmp_path):
    (tmp_path / "x.bin").write_bytes(b"\x00\x01\x02")
    (tmp_path / "fake.png").write_text("not an image")
    for path, message in ((tmp_path / "missing.png", "no such file"), (tmp_path / "x.bin", "unsupported type"),
                          (tmp_path / "fake.png", "not a PNG, JPEG, WebP or GIF")):
        out = run_cli("ask", "-m", "gpt-4o", "-a", str(path), "hi", env=cli_env)
        assert out.returncode == 2 and message in out.stderr, out.stderr
    big = tmp_path / "big.png"
    with open(big, "wb") as f:
        f.write(png(1, 1))
        f.truncate(21 * 1024 * 1024)
    out = run_cli("ask", "-m", "gpt-4o", "-a", str(big), "hi", env=cli_env)
    assert out.returncode == 2 and "20 MB per image" in out.stderr
    assert fake_openai.requests == []


def test_ask_image_to_a_text_only_model_says_so(fake_openai, cli_env, tmp_path):
    fake_openai.models = [*fake_openai.models, "gpt-3.5-turbo"]
    (tmp_path / "cat.png").write_bytes(png(4, 4))
    out = run_cli("ask", "-m", "gpt-3.5-turbo", "-a", str(tmp_path / "cat.png"), "hi", env=cli_env)
    assert out.returncode == 1
    assert "image_url is only supported by certain models" in out.stderr


def test_ask_no_save_writes_no_files(fake_openai, cli_env, isolated_env, tmp_path):
    (tmp_path / "cat.png").write_bytes(png(4, 4))
    work = tmp_path / "cwd"
    work.mkdir()
    import os
    import subprocess
    from conftest import CHAT_TUI

    out = subprocess.run([str(CHAT_TUI), "ask", "--no-save", "-m", "gpt-4o", "-a", str(tmp_path / "cat.png"), "hi"],
                         env={**os.environ, **cli_env}, cwd=work, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Echo: hi [I see 1 image]"
    assert list(work.iterdir()) == [] and not (isolated_env / "attachments").exists()


def test_export_then_import_elsewhere_keeps_attachments_and_their_files(fake_openai, cli_env, isolated_env, tmp_path):
    """`history export --format json` carries the attachment rows and the files' bytes; importing
    it into another data dir brings back the rows, the files and the parts as sent."""
    (tmp_path / "cat.png").write_bytes(png(32, 16))
    (tmp_path / "notes.txt").write_text("remember")
    out = run_cli("ask", "-m", "gpt-4o", "-a", str(tmp_path / "cat.png"), "-a", str(tmp_path / "notes.txt"),
                  "Look", env=cli_env)
    assert out.returncode == 0, out.stderr
    exported = run_cli("history", "export", "1", "--format", "json", env=cli_env)
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    assert [(a["position"], a["kind"], a["name"]) for a in document["attachments"]] == [(1, "image", "cat.png"), (2, "file", "notes.txt")]
    assert sorted(base64.b64decode(b) for b in document["blobs"].values()) == sorted([png(32, 16), b"remember"])
    path = tmp_path / "export.json"
    path.write_text(exported.stdout)
    md = run_cli("history", "export", "1", "--format", "md", env=cli_env).stdout
    assert "- attached: cat.png · image/png" in md and "- attached: notes.txt · text/plain · 8 B" in md

    elsewhere = tmp_path / "other-home"
    env = {**cli_env, "CHAT_TUI_HOME": str(elsewhere)}
    imported = run_cli("history", "import", str(path), env=env)
    assert imported.returncode == 0, imported.stderr
    db = sqlite3.connect(elsewhere / "chat-tui.db")
    rows = db.execute("SELECT a.position, a.kind, a.name, a.sha256, m.parts FROM attachments a"
                      " JOIN messages m ON m.id = a.message_id ORDER BY a.position").fetchall()
    assert [r[:3] for r in rows] == [(1, "image", "cat.png"), (2, "file", "notes.txt")]
    assert (elsewhere / "attachments" / rows[0][3][:2] / rows[0][3]).read_bytes() == png(32, 16)
    original = sqlite3.connect(isolated_env / "chat-tui.db").execute("SELECT parts FROM messages WHERE role = 'user'").fetchone()[0]
    assert json.loads(rows[0][4]) == json.loads(original)
    # Importing again adds nothing, rows included.
    again = run_cli("history", "import", str(path), env=env)
    assert again.returncode == 0, again.stderr
    assert db.execute("SELECT count(*) FROM attachments").fetchone()[0] == 2


def test_import_refuses_a_damaged_file(fake_openai, cli_env, isolated_env, tmp_path):
    (tmp_path / "cat.png").write_bytes(png(8, 8))
    assert run_cli("ask", "-m", "gpt-4o", "-a", str(tmp_path / "cat.png"), "Look", env=cli_env).returncode == 0
    document = json.loads(run_cli("history", "export", "1", "--format", "json", env=cli_env).stdout)
    (digest,) = document["blobs"]
    document["blobs"][digest] = base64.b64encode(b"not the picture").decode()
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    env = {**cli_env, "CHAT_TUI_HOME": str(tmp_path / "other")}
    out = run_cli("history", "import", str(path), env=env)
    assert out.returncode != 0 and "does not match its sha256" in out.stderr
    assert sqlite3.connect(tmp_path / "other" / "chat-tui.db").execute("SELECT count(*) FROM messages").fetchone()[0] == 0
