"""Attachments below the UI: kinds and sizes from headers, limits, image tokens, the parts sent,
and what start_turn keeps (parts, attachments rows, content-addressed blobs)."""

from __future__ import annotations

import base64

import pytest

from attach_samples import PDF, gif, jpeg, png, webp
from chat_tui.core import attachments as core
from chat_tui.core.attachments import AttachmentError, classify, image_size, image_tokens
from chat_tui.core.messages import ChatMessage, FilePart, ImagePart, TextPart
from chat_tui.core.params import ChatParams
from chat_tui.core.tokens import TokenCounter
from chat_tui.services import attachments as svc
from chat_tui.services.chat import Settings, start_turn
from chat_tui.store import Store
from chat_tui.store.attachments import attachments, blob_path


@pytest.mark.parametrize("make,mime", [(png, "image/png"), (jpeg, "image/jpeg"), (gif, "image/gif"), (webp, "image/webp")])
def test_image_kind_and_size_from_the_header(make, mime):
    data = make(300, 200)
    a = classify("x", data)
    assert (a.kind, a.mime, a.width, a.height) == ("image", mime, 300, 200)
    assert image_size(data) == (300, 200)


def test_files_text_and_refusals():
    assert classify("doc.pdf", PDF).kind == "pdf"
    t = classify("notes", "héllo\n".encode())
    assert t.kind == "text" and t.part() == TextPart("\n\nFile: notes\n```\nhéllo\n```")
    with pytest.raises(AttachmentError, match="unsupported type"):
        classify("blob.bin", b"\x00\x01\x02binary")
    with pytest.raises(AttachmentError, match="not a PNG"):
        classify("fake.png", b"hello")
    with pytest.raises(AttachmentError, match="20 MB per image"):
        classify("big.png", png(1, 1) + b"\x00" * core.MAX_IMAGE_BYTES)
    with pytest.raises(AttachmentError, match="32 MB of files"):
        core.check_request([classify("a.pdf", PDF + b" " * (17 * core.MB)), classify("b.pdf", PDF + b" " * (17 * core.MB))])
    # A fence in the file makes a longer fence.
    assert "````\nx ``` y\n````" in classify("f.md", b"x ``` y").part().text


def test_parts_as_sent():
    img = classify("cat.png", png(2, 2)).with_detail("low")
    pdf = classify("doc.pdf", PDF)
    content = core.content_for("look", [img, pdf, core.from_url("https://e.x/a.jpg?s=1")])
    wire = ChatMessage("user", content).to_wire()["content"]
    assert wire[0] == {"type": "text", "text": "look"}
    assert wire[1]["image_url"]["detail"] == "low"
    assert base64.b64decode(wire[1]["image_url"]["url"].split(",", 1)[1]) == png(2, 2)
    assert wire[2] == {"type": "file", "file": {"file_data": "data:application/pdf;base64," + base64.b64encode(PDF).decode(), "filename": "doc.pdf"}}
    assert wire[3] == {"type": "image_url", "image_url": {"url": "https://e.x/a.jpg?s=1", "detail": "auto"}}


def test_image_tokens_follow_openais_published_examples():
    # OpenAI's vision guide: 1024×1024 high = 765; 2048×4096 high = 1105; low = 85.
    assert image_tokens("gpt-4o", 1024, 1024, "high") == (765, True)
    assert image_tokens("gpt-4o-2024-08-06", 2048, 4096, "high") == (1105, True)
    assert image_tokens("gpt-4.1", 4096, 8192, "low") == (85, True)
    assert image_tokens("gpt-4o-mini", 1024, 1024, "high") == (2833 + 4 * 5667, True)
    # Patch models: 1024×1024 is 1024 patches; ×1.62 for gpt-4.1-mini.
    assert image_tokens("gpt-4.1-mini", 1024, 1024, "high") == (1659, True)
    # auto, an unknown size and an unknown model are estimates.
    assert image_tokens("gpt-4o", 1024, 1024, "auto") == (765, False)
    assert image_tokens("gpt-4o", None, None, "high")[1] is False
    assert image_tokens("llama3", 1024, 1024, "high") == (765, False)


def test_token_counter_adds_image_tokens(tmp_path):
    counter = TokenCounter(tmp_path / "cache")
    text = [ChatMessage("user", "hi")]
    with_image = [ChatMessage("user", (TextPart("hi"), classify("c.png", png(1024, 1024)).with_detail("high").part()))]
    plain = counter.count_messages(text, "gpt-4o")
    counted = counter.count_messages(with_image, "gpt-4o")
    assert counted.tokens == plain.tokens + 765 and counted.exact
    auto = counter.count_messages([ChatMessage("user", (TextPart("hi"), ImagePart(classify("c.png", png(10, 10)).data_url())))], "gpt-4o")
    assert not auto.exact


def test_load_checks(tmp_path):
    with pytest.raises(AttachmentError, match="no such file"):
        svc.load(str(tmp_path / "nope.png"))
    with pytest.raises(AttachmentError, match="not a file"):
        svc.load(str(tmp_path))
    (tmp_path / "a b.png").write_bytes(png(3, 4))
    assert svc.load(f"'{tmp_path / 'a b.png'}'").width == 3
    assert svc.load((tmp_path / "a b.png").as_uri()).name == "a b.png"
    assert svc.load("https://example.com/x.webp").url == "https://example.com/x.webp"


def test_start_turn_keeps_parts_rows_and_blobs(tmp_path):
    store = Store(tmp_path / "d.db")
    img = classify("cat.png", png(5, 6))
    txt = classify("n.txt", b"note")
    turn = start_turn(store, "see", Settings("gpt-4o", ChatParams()), attachments=[img, txt, core.from_url("https://e.x/y.png")])
    user = store.get_message(turn.user_id)
    assert [p["type"] for p in user.parts] == ["text", "image_url", "text", "image_url"]
    assert turn.messages[-1].content == user.to_chat_message().content
    rows = attachments(store, turn.user_id)
    assert [(r.position, r.kind, r.name, r.mime, r.size) for r in rows] == [
        (1, "image", "cat.png", "image/png", len(png(5, 6))), (2, "file", "n.txt", "text/plain", 4)]
    assert blob_path(svc.blob_root(store), rows[0].sha256).read_bytes() == png(5, 6)
    assert svc.shown_message(store, user)[1][0][:2] == svc.chips_of_message(store, user)[0] == ("image", f"cat.png · image/png · {len(png(5, 6))} B · 5×6")
    back = svc.of_message(store, user)
    assert [(a.name, a.kind, a.data, a.url) for a in back] == [
        ("cat.png", "image", png(5, 6), None), ("n.txt", "text", b"note", None), ("y.png", "image", b"", "https://e.x/y.png")]
    # The same bytes again: one blob file.
    start_turn(store, "again", Settings("gpt-4o", ChatParams()), conversation_id=turn.conversation_id,
               parent_id=turn.user_id, attachments=[img])
    assert len([p for p in svc.blob_root(store).rglob("*") if p.is_file()]) == 2  # the image once, the text
    store.close()


def test_filepart_roundtrip_from_wire():
    part = classify("d.pdf", PDF).part()
    assert isinstance(part, FilePart)
    assert ChatMessage.from_wire(ChatMessage("user", (TextPart("a"), part)).to_wire()).content[1] == part


def test_chatgpt_import_keeps_image_references(tmp_path):
    from chat_tui.store.importer import import_file

    def node(key, parent, role, parts, content_type="text"):
        return {"id": key, "parent": parent, "children": [],
                "message": {"id": key, "author": {"role": role}, "create_time": 1700000000 + len(key),
                            "content": {"content_type": content_type, "parts": parts}, "metadata": {}}}

    pointer = {"content_type": "image_asset_pointer", "asset_pointer": "file-service://file-abc",
               "size_bytes": 123456, "width": 1024, "height": 768, "fovea": 512, "metadata": {}}
    mapping = {"u1": node("u1", None, "user", [pointer, "What is in this picture?"], "multimodal_text"),
               "u22": node("u22", "u1", "assistant", ["A cat."]),
               "u333": node("u333", "u22", "user", [pointer], "multimodal_text")}
    mapping["u1"]["children"] = ["u22"]
    mapping["u22"]["children"] = ["u333"]
    path = tmp_path / "conversations.json"
    path.write_text(__import__("json").dumps([{"id": "c1", "title": "Pics", "create_time": 1700000000, "mapping": mapping}]))
    store = Store(tmp_path / "d.db")
    report = import_file(store, path)
    assert report.messages == 3
    ms = store.messages(report.conversation_ids[0])
    first, answer, image_only = ms
    ref = {"type": "image_asset_pointer", "asset_pointer": "file-service://file-abc",
           "size_bytes": 123456, "width": 1024, "height": 768}
    assert first.content == "What is in this picture?"
    assert first.parts == [{"type": "text", "text": "What is in this picture?"}, ref]
    assert answer.parts is None and image_only.parts == [{"type": "text", "text": ""}, ref]
    text, chips = svc.shown_message(store, first)
    assert text == "What is in this picture?"
    assert chips == [("image", "file-service://file-abc · not in the export · 121 KB · 1024×768", None)]
    # Never sent: the reference is not a part the API takes.
    assert first.to_chat_message().content == (TextPart("What is in this picture?"),)
    store.close()
