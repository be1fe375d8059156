"""The installed `chat-tui` command, run as a subprocess against the local fake server."""

from __future__ import annotations

import pytest
import json
import os
import sqlite3
import subprocess
import time

from conftest import CHAT_TUI, run_cli
from fake_openai import Fault
from openapi_spec import validate_request


def test_version_and_help_work_offline():
    # An unreachable endpoint proves nothing is contacted.
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    out = run_cli("--version", env=env)
    assert out.returncode == 0 and out.stdout.startswith("chat-tui ")
    out = run_cli("--help", env=env)
    assert out.returncode == 0 and "ask" in out.stdout and "history" in out.stdout
    out = run_cli("ask", "--help", env=env)
    assert out.returncode == 0 and "--option" in out.stdout


def test_python_dash_m_works():
    out = subprocess.run([str(CHAT_TUI.with_name("python")), "-m", "chat_tui", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("chat-tui ")


@pytest.mark.timing
def test_ask_streams_a_long_answer_and_saves_it(fake_openai, cli_env, isolated_env):
    words = [f"w{i}" for i in range(300)]
    fake_openai.answer = " ".join(words)
    fake_openai.rate = 300  # one second of streaming
    proc = subprocess.Popen(
        [str(CHAT_TUI), "ask", "-m", "gpt-4o-mini", "Write a lot"],
        env={**os.environ, **cli_env}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    first = proc.stdout.read(3)
    first_at = time.monotonic()
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert (first + rest).decode() == " ".join(words) + "\n"
    finished = fake_openai.requests[0].t_finish
    assert first_at < finished - 0.3  # output arrived while the server was still sending

    listing = json.loads(run_cli("history", "list", "--json", env=cli_env).stdout)
    assert len(listing) == 1 and listing[0]["title"] == "Write a lot" and listing[0]["message_count"] == 2
    exported = json.loads(run_cli("history", "export", str(listing[0]["id"]), "--format", "json", env=cli_env).stdout)
    user, answer = exported["messages"]
    assert user["role"] == "user" and user["content"] == "Write a lot"
    assert answer["content"] == " ".join(words) and answer["status"] == "complete"
    assert answer["parent_id"] == user["id"] and answer["model"] == "gpt-4o-mini"
    assert answer["completion_tokens"] == 300 and answer["prompt_tokens"] == 3  # the server's usage
    assert answer["completion_tokens_local"] > 0 and answer["tokens_exact"] is True
    assert answer["finish_reason"] == "stop" and answer["system_fingerprint"] == "fp_fake"
    assert answer["ttft"] is not None and answer["duration"] >= answer["ttft"]
    assert answer["params"] == {"model": "gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True}}
    assert (isolated_env / "chat-tui.db").exists()


def test_ask_reads_stdin_and_options(fake_openai, cli_env):
    out = run_cli(
        "ask", "-m", "gpt-4o", "-s", "Be terse", "-o", "temperature", "0.3", "-o", "stop", "END",
        "-o", "logit_bias", '{"1734": -100}', "-o", "seed", "7", "-o", "logprobs", "true", "Summarise:",
        input="some piped text\n", env=cli_env,
    )
    assert out.returncode == 0, out.stderr
    body = fake_openai.last_request.json
    validate_request("CreateChatCompletionRequest", body)
    assert body["temperature"] == 0.3 and body["stop"] == "END" and body["logit_bias"] == {"1734": -100}
    assert body["seed"] == 7 and body["logprobs"] is True
    assert body["messages"] == [
        {"role": "system", "content": "Be terse"},
        {"role": "user", "content": "Summarise:\n\nsome piped text\n"},
    ]


def test_ask_continue_sends_history(fake_openai, cli_env):
    assert run_cli("ask", "-m", "gpt-4o-mini", "first question", env=cli_env).returncode == 0
    out = run_cli("ask", "-c", "second question", env=cli_env)
    assert out.returncode == 0, out.stderr
    body = fake_openai.last_request.json
    assert body["model"] == "gpt-4o-mini"  # the conversation's model
    assert [m["content"] for m in body["messages"]] == ["first question", "Echo: first question", "second question"]
    cid = json.loads(run_cli("history", "list", "--json", env=cli_env).stdout)[0]["id"]
    out = run_cli("ask", "--cid", str(cid), "third", env=cli_env)
    assert len(fake_openai.last_request.json["messages"]) == 5


def test_ask_json_is_one_document(fake_openai, cli_env):
    out = run_cli("ask", "-m", "gpt-4o-mini", "--json", "hi", env=cli_env)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["object"] == "chat.completion" and doc["choices"][0]["message"]["content"] == "Echo: hi"
    assert doc["chat_tui"]["message_id"] > 0
    assert "stream" not in fake_openai.last_request.json


def test_invalid_option_is_a_usage_error_before_sending(fake_openai, cli_env):
    out = run_cli("ask", "-o", "temperature", "3", "hi", env=cli_env)
    assert out.returncode == 2
    assert out.stderr.strip() == "chat-tui: error: invalid option temperature: 3 is out of range: must be between 0 and 2"
    out = run_cli("ask", "-o", "temprature", "1", "hi", env=cli_env)
    assert out.returncode == 2 and "did you mean temperature" in out.stderr
    assert fake_openai.requests == []


def test_api_error_is_one_line_without_traceback(fake_openai, cli_env):
    fake_openai.require_key = "sk-right"
    out = run_cli("ask", "-m", "gpt-4o-mini", "hi", env={**cli_env, "OPENAI_API_KEY": "sk-wrong-key"})
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Invalid API key (HTTP 401)" in lines[0] and "Incorrect API key" in lines[0]
    assert "Traceback" not in out.stderr
    out = run_cli("ask", "--debug", "-m", "gpt-4o-mini", "hi", env={**cli_env, "OPENAI_API_KEY": "sk-wrong-key"})
    assert out.returncode == 1


def test_unreachable_endpoint(isolated_env):
    out = run_cli("models", env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert out.returncode == 1
    assert "cannot connect to http://127.0.0.1:9/v1: connection refused" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_dropped_stream_keeps_partial_answer(fake_openai, cli_env):
    fake_openai.answer = "one two three four five"
    fake_openai.enqueue_fault(Fault("drop", after=2))
    out = run_cli("ask", "-m", "gpt-4o-mini", "hi", env=cli_env)
    assert out.returncode == 1
    assert out.stdout.startswith("one two ")
    assert "partial answer saved" in out.stderr
    doc = json.loads(run_cli("history", "show", "1", "--json", env=cli_env).stdout)
    answer = doc["messages"][-1]
    assert answer["status"] == "error" and answer["content"] == "one two " and "dropped" in answer["error"]


def test_models_command(fake_openai, cli_env):
    fake_openai.models = ["gpt-4o", "tiny-local"]
    out = run_cli("models", env=cli_env)
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[0].startswith("gpt-4o") and "128,000" in lines[0] and lines[1] == "tiny-local"
    doc = json.loads(run_cli("models", "--json", env=cli_env).stdout)
    assert doc[0]["id"] == "gpt-4o" and doc[0]["context_window"] == 128000 and doc[1]["context_window"] is None


def test_tokens_command(isolated_env):
    out = run_cli("tokens", "-m", "gpt-4o", "tiktoken is great!")
    assert out.returncode == 0 and out.stdout == "6\n" and out.stderr == ""
    out = run_cli("tokens", "-m", "gpt-3.5-turbo", "-", input="tiktoken is great!")
    assert out.stdout == "6\n"
    doc = json.loads(run_cli("tokens", "-m", "gpt-4", "--json", "hello world").stdout)
    assert doc == {"tokens": 2, "exact": True, "encoding": "cl100k_base", "model": "gpt-4"}
    out = run_cli("tokens", "-m", "llama3.2", "hello world")
    assert out.returncode == 0 and out.stdout.strip().isdigit() and "estimate" in out.stderr


def test_history_search_and_markdown_export(fake_openai, cli_env):
    fake_openai.answer = "Photosynthesis turns light into sugar."
    run_cli("ask", "-m", "gpt-4o-mini", "explain photosynthesis", env=cli_env)
    fake_openai.answer = "Volcanoes erupt."
    run_cli("ask", "-m", "gpt-4o-mini", "tell me about volcanoes", env=cli_env)
    hits = json.loads(run_cli("history", "search", "sugar", "--json", env=cli_env).stdout)
    assert len(hits) == 1 and "[sugar]" in hits[0]["snippet"] and hits[0]["title"] == "explain photosynthesis"
    out = run_cli("history", "search", "c++ \"unbalanced", env=cli_env)
    assert out.returncode == 0
    md = run_cli("history", "export", str(hits[0]["conversation_id"]), "--format", "md", env=cli_env).stdout
    assert md.startswith("# explain photosynthesis") and "## Assistant (gpt-4o-mini)" in md and "light into sugar" in md
    out = run_cli("history", "show", "999", env=cli_env)
    assert out.returncode == 1 and out.stderr.strip() == "chat-tui: error: no conversation 999"


def test_api_key_never_reaches_the_database(fake_openai, cli_env, isolated_env):
    secret = "sk-proj-SECRET-0123456789abcdef"
    fake_openai.require_key = secret
    out = run_cli("ask", "-m", "gpt-4o-mini", "hi", env={**cli_env, "OPENAI_API_KEY": secret})
    assert out.returncode == 0, out.stderr
    export = run_cli("history", "export", "1", "--format", "json", env=cli_env).stdout
    assert secret not in export
    db = isolated_env / "chat-tui.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for path in isolated_env.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_bad_config_file_is_reported(isolated_env):
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text("[profiles.x\nbase_url = 1\n")
    out = run_cli("models")
    assert out.returncode == 2 and "not valid TOML" in out.stderr and "config.toml" in out.stderr


def test_profile_from_config(fake_openai, isolated_env):
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text(
        f'[profiles.fake]\nbase_url = "{fake_openai.base_url}"\nmodel = "gpt-4o"\napi_key_env = "FAKE_KEY"\n'
        'headers = { "X-Team" = "blue" }\n'
    )
    out = run_cli("ask", "-p", "fake", "hi", env={"FAKE_KEY": "sk-fake"})
    assert out.returncode == 0, out.stderr
    req = fake_openai.last_request
    assert req.json["model"] == "gpt-4o" and req.headers["authorization"] == "Bearer sk-fake"
    assert req.headers["x-team"] == "blue"
    out = run_cli("ask", "-p", "nope", "hi")
    assert out.returncode == 2 and "unknown profile 'nope'" in out.stderr


def test_legacy_complete_command(fake_openai, cli_env):
    fake_openai.answer = "there was a fox"
    out = run_cli("complete", "-m", "gpt-3.5-turbo-instruct", "-o", "echo", "true", "-o", "max_tokens", "5", "Once", env=cli_env)
    assert out.returncode == 0, out.stderr
    assert "there was a fox" in out.stdout
    validate_request("CreateCompletionRequest", fake_openai.last_request.json)


def test_no_save_leaves_no_history(fake_openai, cli_env):
    out = run_cli("ask", "-m", "gpt-4o-mini", "--no-save", "secret thoughts", env=cli_env)
    assert out.returncode == 0 and out.stdout == "Echo: secret thoughts\n"
    assert json.loads(run_cli("history", "list", "--json", env=cli_env).stdout) == []
