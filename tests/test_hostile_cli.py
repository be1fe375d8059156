"""Issue 10's hostile cases through the installed `chat-tui` command, as a user meets them:
escape sequences from a server or an imported file (on a terminal: a pty; and in a pipe),
keys with stray white space, a reply that breaks in every way, servers that never answer,
input that is not UTF-8, numbers and JSON built to overflow. Store and config cases are in
test_hostile_store.py and test_hostile_config.py; the app's in test_hostile_tui.py."""

from __future__ import annotations

import json
import os
import re
import select
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CHAT_TUI, run_cli
from fake_openai import Fault

CHAT = "/v1/chat/completions"
# What a hostile server or file can put in text: set the clipboard (OSC 52), rename the window
# (OSC 0), clear the screen (CSI 2J), overwrite with CR and BS, an 8-bit CSI (C1 0x9b).
EVIL = "A\x1b]52;c;aGVsbG8=\x07B\x1b]0;pwned\x07C\x1b[2JD\rE\bF\x9b31mG"
SHOWN = "A␛]52;c;aGVsbG8=␇B␛]0;pwned␇C␛[2JD␍E␈F\\x9b31mG"


def run_in_pty(*args: str, env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Run chat-tui with stdout and stderr on a terminal (a pty); everything it wrote."""
    master, slave = os.openpty()
    proc = subprocess.Popen([str(CHAT_TUI), *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            env={**os.environ, **env})
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=10)
    finally:
        os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


def no_raw_controls(text: str) -> None:
    """Only the terminal's own line endings (the pty turns LF into CR LF), TAB and our own
    progress line's CR remain."""
    text = re.sub(r"\rchat-tui: importing… \d+%", "", text.replace("\r\n", "\n"))
    bad = sorted({hex(ord(c)) for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0})
    assert bad == [], f"raw control characters reached the terminal: {bad}\n{text!r}"


# -- 1. nothing raw reaches a terminal --------------------------------------------------------


def test_ask_on_a_terminal_shows_escapes_and_a_pipe_keeps_the_bytes(fake_openai, cli_env):
    fake_openai.answer = EVIL
    code, shown = run_in_pty("ask", "-m", "gpt-4o-mini", "hi", env=cli_env)
    assert code == 0, shown
    no_raw_controls(shown)
    assert SHOWN in shown
    piped = subprocess.run([str(CHAT_TUI), "ask", "-m", "gpt-4o-mini", "hi"], capture_output=True,
                           stdin=subprocess.DEVNULL, env={**os.environ, **cli_env}, timeout=60)
    assert piped.returncode == 0 and piped.stdout == (EVIL + "\n").encode()  # `ask > file` keeps the model's bytes
    for flag in ("--no-stream", "--json"):
        code, shown = run_in_pty("ask", "-m", "gpt-4o-mini", flag, "hi", env=cli_env)
        assert code == 0
        no_raw_controls(shown)
    doc = json.loads(run_cli("ask", "-m", "gpt-4o-mini", "--json", "hi", env=cli_env).stdout)
    assert doc["choices"][0]["message"]["content"] == EVIL  # valid JSON, every byte kept


def test_model_ids_titles_and_excerpts_are_cleaned_even_in_a_pipe(fake_openai, cli_env, tmp_path):
    fake_openai.models = [f"gpt-{EVIL}", "gpt-4o-mini"]
    for run in (lambda *a: run_in_pty(*a, env=cli_env), lambda *a: (lambda r: (r.returncode, r.stdout + r.stderr))(run_cli(*a, env=cli_env))):
        code, text = run("models")
        assert code == 0 and "gpt-A␛]52" in text
        no_raw_controls(text)
    # A conversation imported with a hostile title and text.
    export = [{"title": f"T{EVIL}", "create_time": 1700000000, "update_time": 1700000000, "id": "c1",
               "mapping": {"a": {"id": "a", "parent": None, "children": ["b"], "message": None},
                           "b": {"id": "b", "parent": "a", "children": [], "message": {
                               "id": "b", "author": {"role": "user"}, "create_time": 1700000000,
                               "content": {"content_type": "text", "parts": [f"findme {EVIL}"]}}}}}]
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(export))
    for args in (["history", "import", str(path)], ["history", "list"], ["history", "search", "findme"],
                 ["history", "trash"]):
        piped = run_cli(*args, env=cli_env)
        assert piped.returncode == 0, piped.stderr
        no_raw_controls(piped.stdout + piped.stderr)
        code, shown = run_in_pty(*args, env=cli_env)
        no_raw_controls(shown)
    assert "TA␛]52" in run_cli("history", "list", env=cli_env).stdout
    for args in (["history", "show", "1"], ["history", "export", "1"]):
        code, shown = run_in_pty(*args, env=cli_env)
        assert code == 0 and "findme A␛]52" in shown
        no_raw_controls(shown)
        piped = subprocess.run([str(CHAT_TUI), *args], capture_output=True, stdin=subprocess.DEVNULL,
                               env={**os.environ, **cli_env}, timeout=60).stdout.decode()
        assert "# TA␛]52" in piped  # the title: always cleaned
        assert f"findme {EVIL}" in piped  # the conversation's own text: its bytes, to a pipe
    listed = run_cli("history", "list", "--json", env=cli_env).stdout
    assert json.loads(listed)[0]["title"] == f"T{EVIL}"
    assert "\x9b" not in listed and "\\u009b" in listed  # C1 escaped: valid JSON, nothing raw


def test_errors_from_the_server_are_cleaned(fake_openai, cli_env):
    fake_openai.enqueue_fault(Fault("status", status=400, body={"error": {"message": f"bad {EVIL}", "type": "x"}}, path=CHAT))
    code, shown = run_in_pty("ask", "-m", "gpt-4o-mini", "hi", env=cli_env)
    assert code == 1 and "bad A␛]52" in shown
    no_raw_controls(shown)


# -- 2. keys -------------------------------------------------------------------------------------


def test_a_key_with_a_trailing_newline_works_and_one_that_cannot_be_sent_never_shows(fake_openai, cli_env):
    fake_openai.require_key = "sk-test-1234567890"
    out = run_cli("ask", "-m", "gpt-4o-mini", "hi", env={**cli_env, "OPENAI_API_KEY": "sk-test-1234567890\n"})
    assert out.returncode == 0, out.stderr
    assert fake_openai.last_request.headers["authorization"] == "Bearer sk-test-1234567890"
    out = run_cli("ask", "-m", "gpt-4o-mini", "hi", env={**cli_env, "OPENAI_API_KEY": "sk-test-12345\n67890"})
    assert out.returncode == 2 and "OPENAI_API_KEY" in out.stderr
    assert "12345" not in out.stderr and "67890" not in out.stderr


def test_a_key_in_an_error_message_is_redacted_everywhere(fake_openai, cli_env):
    key = "sk-proj-abcdef1234567890"
    fake_openai.enqueue_fault(Fault("status", status=401, path=CHAT, body={"error": {
        "message": f"Invalid header: Authorization: Bearer {key}", "type": "invalid_request_error"}}))
    out = run_cli("ask", "-m", "gpt-4o-mini", "hi", env=cli_env)
    assert out.returncode == 1 and "[redacted]" in out.stderr and key not in out.stderr
    db = Path(cli_env["CHAT_TUI_HOME"]) / "chat-tui.db"
    errors = [row[0] for row in sqlite3.connect(db).execute("SELECT error FROM messages WHERE error IS NOT NULL")]
    assert errors and all(key not in e and "[redacted]" in e for e in errors)
    assert key not in run_cli("history", "export", "1", "--format", "json", env=cli_env).stdout


# -- 3. a reply that breaks --------------------------------------------------------------------


def test_a_lone_surrogate_is_replaced_not_fatal(fake_openai, cli_env):
    fake_openai.answer = "one two three"
    fake_openai.enqueue_fault(Fault("inject", path=CHAT, after=1, events=(
        '{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"\\ud800!"},"finish_reason":null}]}',
    )))
    out = run_cli("ask", "-m", "gpt-4o-mini", "hi", env=cli_env)
    assert out.returncode == 0, out.stderr
    assert "\ufffd!" in out.stdout
    row = sqlite3.connect(Path(cli_env["CHAT_TUI_HOME"]) / "chat-tui.db").execute(
        "SELECT status, content FROM messages WHERE role = 'assistant'").fetchone()
    assert row[0] == "complete" and "\ufffd!" in row[1] and row[1].startswith("one")


def test_retry_after_that_is_not_a_number_or_a_date(fake_openai, cli_env):
    soon = Fault("status", status=429, path=CHAT, headers={"Retry-After": "soon"},
                 body={"error": {"message": "slow down, friend", "type": "rate_limit"}})
    fake_openai.enqueue_fault(soon)
    out = run_cli("ask", "-m", "gpt-4o-mini", "hi", env=cli_env)  # retried with our own backoff
    assert out.returncode == 0 and out.stdout.startswith("Echo: hi"), out.stderr
    fake_openai.enqueue_fault(soon, soon, soon)
    out = run_cli("ask", "-m", "gpt-4o-mini", "hi", env=cli_env)
    assert out.returncode == 1 and "slow down, friend" in out.stderr  # the server's own words
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_a_failing_lane_fails_alone(fake_openai, cli_env):
    soon = Fault("status", status=503, headers={"Retry-After": "soon"}, when=lambda b: (b or {}).get("seed") == 2)
    fake_openai.enqueue_fault(soon, soon, soon)
    out = run_cli("compare", "-m", "gpt-4o-mini", "--sweep", "seed=1,2,3", "--json", "hi", env=cli_env)
    lanes = json.loads(out.stdout)["lanes"]
    assert [lane["status"] for lane in lanes] == ["complete", "error", "complete"]
    assert out.returncode == 1 and "1 of 3 lanes failed" in out.stderr


def test_choices_that_were_not_asked_for_are_dropped(fake_openai, cli_env):
    chunk = '{{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{"index":{i},"delta":{{"content":"junk"}},"finish_reason":null}}]}}'
    fake_openai.enqueue_fault(Fault("inject", path=CHAT, after=1, events=tuple(chunk.format(i=i) for i in [-1, *range(1, 300)])))
    out = run_cli("ask", "-m", "gpt-4o-mini", "hi", env=cli_env)
    assert out.returncode == 0 and "junk" not in out.stdout
    assert "300 events for choices that were not asked for" in out.stderr
    rows = sqlite3.connect(Path(cli_env["CHAT_TUI_HOME"]) / "chat-tui.db").execute(
        "SELECT count(*) FROM messages WHERE role = 'assistant'").fetchone()[0]
    assert rows == 1


def test_a_database_locked_mid_answer_keeps_the_answer_and_saves_it(fake_openai, cli_env):
    """Another program holds the write lock for longer than SQLite's 5 s wait while the answer
    streams: nothing is lost, the final write goes in once the lock is gone."""
    fake_openai.answer = " ".join(f"w{i}" for i in range(60))
    fake_openai.rate = 20  # 3 s of streaming
    db = Path(cli_env["CHAT_TUI_HOME"]) / "chat-tui.db"
    assert run_cli("history", "list", env=cli_env).returncode == 0  # the file exists
    proc = subprocess.Popen([str(CHAT_TUI), "ask", "-m", "gpt-4o-mini", "hi"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **cli_env})
    fake_openai.wait_for(lambda reqs: any(r.path == CHAT for r in reqs), timeout=20)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    time.sleep(7)  # the lock itself is the fault: held past the CLI's 5 s wait, then released
    holder.execute("ROLLBACK")
    holder.close()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == fake_openai.answer
    row = sqlite3.connect(db).execute("SELECT status, content FROM messages WHERE role = 'assistant'").fetchone()
    assert row == ("complete", fake_openai.answer)


# -- 6. no hang --------------------------------------------------------------------------------


def test_a_server_that_never_answers_times_out_in_the_time_asked(fake_openai, cli_env):
    fake_openai.enqueue_fault(Fault("hang", path=CHAT))
    started = time.monotonic()
    out = run_cli("ask", "-m", "gpt-4o-mini", "--timeout", "1", "hi", env=cli_env)
    assert out.returncode == 1 and time.monotonic() - started < 20
    assert "no answer" in out.stderr and "1 s" in out.stderr and "--timeout" in out.stderr
    assert len([r for r in fake_openai.requests if r.path == CHAT]) == 1  # not asked three times


def test_a_stream_that_goes_silent_times_out_and_keeps_what_came(fake_openai, cli_env, tmp_path):
    fake_openai.answer = "alpha beta gamma delta"
    fake_openai.enqueue_fault(Fault("stall", path=CHAT, after=2))
    home = Path(cli_env["CHAT_TUI_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'[profiles.slow]\nbase_url = "{fake_openai.base_url}"\nidle_timeout = 1\n')
    out = run_cli("ask", "-p", "slow", "-m", "gpt-4o-mini", "hi", env={"CHAT_TUI_HOME": str(home)})
    assert out.returncode == 1 and "stopped sending" in out.stderr and "partial answer saved" in out.stderr
    assert out.stdout.startswith("alpha beta")
    row = sqlite3.connect(home / "chat-tui.db").execute("SELECT status, content FROM messages WHERE role = 'assistant'").fetchone()
    assert row[0] == "error" and row[1].startswith("alpha beta")


# -- 11. input -----------------------------------------------------------------------------------


def test_input_that_is_not_utf8(fake_openai, cli_env):
    env = {**os.environ, **cli_env}
    out = subprocess.run([str(CHAT_TUI), "ask", "-m", "gpt-4o-mini", "-s", "Review this"], input=b"caf\xe9 diff\n",
                         capture_output=True, env=env, timeout=60)
    assert out.returncode == 0 and b"not valid UTF-8" in out.stderr
    assert fake_openai.last_request.json["messages"][-1]["content"] == "caf\ufffd diff\n"
    out = subprocess.run([str(CHAT_TUI), "ask", "-m", "gpt-4o-mini", b"caf\xe9"], capture_output=True, env=env, timeout=60)
    assert out.returncode == 0 and b"arguments are not valid UTF-8" in out.stderr
    assert fake_openai.last_request.json["messages"][-1]["content"] == "caf\ufffd"


@pytest.mark.parametrize("args", [["--cid", "9" * 30, "ask", "x"], ["history", "show", "9" * 30],
                                  ["history", "list", "-n", "9" * 30], ["history", "pin", "-5"]])
def test_numbers_built_to_overflow_are_usage_errors(cli_env, args):
    out = run_cli(*args, env=cli_env)
    assert out.returncode == 2 and "Traceback" not in out.stderr and "error:" in out.stderr


def test_json_nested_too_deeply(fake_openai, cli_env):
    deep = "[" * 100_000 + "]" * 100_000
    fake_openai.enqueue_fault(Fault("malformed", path="/v1/models", body=deep))
    out = run_cli("models", env=cli_env)
    assert out.returncode == 1 and "nested too deeply" in out.stderr and "Traceback" not in out.stderr
    fake_openai.enqueue_fault(Fault("malformed", path=CHAT, body='{"choices": ' + deep + "}"))
    out = run_cli("ask", "-m", "gpt-4o-mini", "--no-stream", "hi", env=cli_env)
    assert out.returncode == 1 and "nested too deeply" in out.stderr
    fake_openai.enqueue_fault(Fault("inject", path=CHAT, after=1, events=(deep,)))
    out = run_cli("ask", "-m", "gpt-4o-mini", "hi", env=cli_env)
    assert out.returncode == 1 and "malformed chunk" in out.stderr and "partial answer saved" in out.stderr
