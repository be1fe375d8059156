"""`chat-tui edit`, run as a subprocess against the local fake server: native, 404 -> chat (and
remembered), --diff, stdin, -n, --json, and the errors a user can make or meet."""

from __future__ import annotations

import json

from conftest import run_cli
from fake_openai import Fault, apply_edit
from openapi_spec import validate_request

EDITS = "/v1/edits"
CHAT = "/v1/chat/completions"
TEXT = "What day of the wek is it?\n"


def chat_edit(body: dict) -> str:
    instruction, text = body["messages"][-1]["content"].removeprefix("Instruction: ").split("\n\nText:\n", 1)
    return "```\n" + apply_edit(text, instruction) + "```"


def paths(fake) -> list[str]:
    return [r.path for r in fake.requests if r.method == "POST"]


def test_edit_a_file_prints_the_edited_text(fake_openai, cli_env, tmp_path):
    (tmp_path / "in.txt").write_text(TEXT)
    out = run_cli("edit", "-m", "gpt-4o-mini", "-i", "Fix the spelling", str(tmp_path / "in.txt"), env=cli_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "What day of the week is it?\n" and out.stderr == ""
    (request,) = fake_openai.requests
    assert request.path == EDITS
    validate_request("CreateEditRequest", request.json, spec="2023")


def test_diff_prints_a_unified_diff_and_verbose_says_the_mode_on_stderr(fake_openai, cli_env, tmp_path):
    (tmp_path / "in.txt").write_text(TEXT)
    out = run_cli("edit", "-m", "gpt-4o-mini", "-i", "Fix the spelling", "--diff", "-v", str(tmp_path / "in.txt"), env=cli_env)
    assert out.returncode == 0, out.stderr
    name = str(tmp_path / "in.txt")
    assert out.stdout == (f"--- {name}\n+++ {name} (edited)\n@@ -1 +1 @@\n"
                          "-What day of the wek is it?\n+What day of the week is it?\n")
    assert "edit · /v1/edits · gpt-4o-mini" in out.stderr


def test_stdin_n_and_options(fake_openai, cli_env):
    out = run_cli("edit", "-m", "gpt-4o-mini", "-i", "uppercase", "-n", "2", "--temperature", "0.5", "--top-p", "0.9",
                  "-", input="shout\n", env=cli_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "--- choice 1 ---\n[0] SHOUT\n--- choice 2 ---\n[1] SHOUT\n"
    body = fake_openai.requests[0].json
    assert body == {"model": "gpt-4o-mini", "input": "shout\n", "instruction": "uppercase", "n": 2,
                    "temperature": 0.5, "top_p": 0.9}
    validate_request("CreateEditRequest", body, spec="2023")
    # No FILE and a piped stdin: stdin too; -o sets a parameter the same way.
    out = run_cli("edit", "-m", "gpt-4o-mini", "-i", "lowercase", "-o", "temperature", "0", input="ABC", env=cli_env)
    assert out.returncode == 0 and out.stdout == "abc"  # a pipe gets the text's own bytes
    assert fake_openai.requests[-1].json["temperature"] == 0


def test_a_404_switches_to_chat_and_the_next_run_remembers(fake_openai, cli_env, tmp_path):
    fake_openai.serves_edits = False
    fake_openai.answer = chat_edit
    (tmp_path / "in.txt").write_text(TEXT)
    out = run_cli("edit", "-m", "gpt-4o-mini", "-i", "Fix the spelling", "-v", str(tmp_path / "in.txt"), env=cli_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "What day of the week is it?\n"
    assert "emulated with chat" in out.stderr and "no /v1/edits" in out.stderr
    assert paths(fake_openai) == [EDITS, CHAT]
    validate_request("CreateChatCompletionRequest", fake_openai.requests[-1].json)

    out = run_cli("edit", "-m", "gpt-4o-mini", "-i", "uppercase", "--json", str(tmp_path / "in.txt"), env=cli_env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["mode"] == "emulated" and data["choices"][0]["text"] == TEXT.upper()
    assert paths(fake_openai) == [EDITS, CHAT, CHAT]  # /v1/edits not tried again

    listing = json.loads(run_cli("history", "list", "--json", env=cli_env).stdout)
    assert {row["id"] for row in listing} >= {data["chat_tui"]["document_id"]}


def test_errors_are_one_line(fake_openai, cli_env, tmp_path):
    out = run_cli("edit", "-m", "gpt-4o-mini", input="text", env=cli_env)
    assert out.returncode == 2 and out.stderr == 'chat-tui: error: no instruction given: pass -i "what to do with the text"\n'
    out = run_cli("edit", "-m", "gpt-4o-mini", "-i", "x", str(tmp_path / "missing.txt"), env=cli_env)
    assert out.returncode == 1
    assert out.stderr == f"chat-tui: error: cannot read {tmp_path / 'missing.txt'}: No such file or directory\n"
    out = run_cli("edit", "-m", "gpt-4o-mini", "-i", "x", "-n", "21", input="t", env=cli_env)
    assert out.returncode == 2 and "n: 21 is out of range" in out.stderr
    assert fake_openai.requests == []

    fake_openai.enqueue_fault(*[Fault("status", status=500, path=EDITS)] * 3)
    out = run_cli("edit", "-m", "gpt-4o-mini", "-i", "Fix the spelling", "--timeout", "5", input="teh", env=cli_env)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("chat-tui: error: Server error (HTTP 500)") and out.stderr.count("\n") == 1
    assert paths(fake_openai) == [EDITS] * 3  # retried twice, never sent to chat
