"""`chat-tui templates …` and `chat-tui ask -t NAME`, run as subprocesses against the fake server;
the request bodies are checked against OpenAI's spec."""

from __future__ import annotations

import json
import tomllib

from conftest import run_cli
from openapi_spec import validate_request

TEMPLATES = '''
[prompts.summarize]
description = "Summarize in N bullet points"
prompt = """Summarize in {{n}} bullet points:

{{input}}"""

[prompts.french]
prompt = "Translate to French."

[prompts.explain]
prompt = "Explain this code: {{clipboard}}"

[roles.reviewer]
description = "A strict code reviewer"
system_prompt = "You are a strict {{lang}} code reviewer."
model = "gpt-4o"
params = { temperature = 0.2, max_tokens = 300, seed = 7 }
'''


def chat_bodies(fake) -> list[dict]:
    return [r.json for r in fake.requests if r.path == "/v1/chat/completions"]


def test_import_list_show_export_round_trip(cli_env, tmp_path):
    source = tmp_path / "mine.toml"
    source.write_text(TEMPLATES, encoding="utf-8")
    out = run_cli("templates", "import", str(source), env=cli_env)
    assert out.returncode == 0, out.stderr
    assert "added: summarize, french, explain, reviewer" in out.stderr

    listing = json.loads(run_cli("templates", "list", "--json", env=cli_env).stdout)
    assert [(t["name"], t["kind"], t["fields"]) for t in listing] == [
        ("explain", "prompt", []), ("french", "prompt", []), ("reviewer", "role", ["lang"]), ("summarize", "prompt", ["n"])]
    roles = run_cli("templates", "list", "--kind", "role", env=cli_env).stdout
    assert roles.startswith("role   reviewer [lang] (model gpt-4o)  A strict code reviewer")
    shown = run_cli("templates", "show", "reviewer", env=cli_env).stdout
    assert tomllib.loads(shown)["roles"]["reviewer"]["params"] == {"temperature": 0.2, "max_tokens": 300, "seed": 7}

    exported = tmp_path / "out.toml"
    out = run_cli("templates", "export", str(exported), env=cli_env)
    assert out.returncode == 0 and "wrote 4 templates" in out.stderr
    assert run_cli("templates", "export", env=cli_env).stdout == exported.read_text()

    # Importing the export again changes nothing; into another database it brings back the same.
    again = run_cli("templates", "import", str(exported), env=cli_env)
    assert "unchanged: explain, french, summarize, reviewer" in again.stderr
    other = run_cli("--db", str(tmp_path / "other.db"), "templates", "import", "-", input=exported.read_text(), env=cli_env)
    assert other.returncode == 0, other.stderr
    other_list = json.loads(run_cli("--db", str(tmp_path / "other.db"), "templates", "list", "--json", env=cli_env).stdout)
    assert other_list == listing

    out = run_cli("templates", "delete", "french", "nope", env=cli_env)
    assert out.returncode == 2 and "no template or role named 'nope'; nothing deleted" in out.stderr
    assert run_cli("templates", "delete", "french", env=cli_env).returncode == 0
    assert "french" not in run_cli("templates", "list", env=cli_env).stdout


def test_a_bad_file_is_refused_whole(cli_env, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[prompts.good]\nprompt = "x"\n\n[roles.hot]\nsystem_prompt = "S"\nparams = { temperature = 5 }\n')
    out = run_cli("templates", "import", str(bad), env=cli_env)
    assert out.returncode == 2
    assert "[roles.hot]: role 'hot': temperature: 5 is out of range" in out.stderr
    assert json.loads(run_cli("templates", "list", "--json", env=cli_env).stdout) == []
    out = run_cli("templates", "import", str(tmp_path / "missing.toml"), env=cli_env)
    assert out.returncode == 2 and "no file" in out.stderr


def test_ask_with_a_prompt_template_fills_input_and_fields(fake_openai, cli_env, tmp_path):
    (tmp_path / "t.toml").write_text(TEMPLATES, encoding="utf-8")
    run_cli("templates", "import", str(tmp_path / "t.toml"), env=cli_env)
    fake_openai.answer = "done"
    out = run_cli("ask", "-m", "gpt-4o-mini", "-t", "summarize", "--var", "n", "3", env=cli_env,
                  input="The quick brown fox.\n")
    assert out.returncode == 0, out.stderr
    body = chat_bodies(fake_openai)[-1]
    validate_request("CreateChatCompletionRequest", body)
    assert body["messages"] == [{"role": "user", "content": "Summarize in 3 bullet points:\n\nThe quick brown fox.\n"}]

    # No {{input}} in the template: the words go after it (as `llm -t` does).
    run_cli("ask", "-m", "gpt-4o-mini", "-t", "french", "Good", "morning", env=cli_env)
    assert chat_bodies(fake_openai)[-1]["messages"][-1]["content"] == "Translate to French.\n\nGood morning"

    # What is missing or wrong is said, and nothing is sent.
    sent = len(chat_bodies(fake_openai))
    for args, message in [
        (("-t", "summarize", "text"), "template 'summarize' needs a value for {{n}} (--var n VALUE)"),
        (("-t", "summarize", "--var", "n", "3"), "needs input for {{input}}: the text to work on (pass it as arguments or on stdin)"),
        (("-t", "summarize", "--var", "count", "3", "x"), "--var count: summarize has no {{count}} (fields: n)"),
        (("-t", "explain", "x"), "pass its text with --var clipboard TEXT"),
        (("-t", "nope", "x"), "no template or role named 'nope'; there are: explain, french, reviewer, summarize"),
        (("-t", "french", "-t", "summarize", "x"), "-t: one prompt at a time"),
        (("--var", "n", "3", "x"), "--var fills a template's fields"),
    ]:
        out = run_cli("ask", "-m", "gpt-4o-mini", *args, env=cli_env)
        assert out.returncode == 2 and message in out.stderr, (args, out.stderr)
    assert len(chat_bodies(fake_openai)) == sent
    out = run_cli("ask", "-m", "gpt-4o-mini", "-t", "explain", "--var", "clipboard", "x = 1", env=cli_env)
    assert out.returncode == 0 and chat_bodies(fake_openai)[-1]["messages"][-1]["content"] == "Explain this code: x = 1"


def test_ask_with_a_role_sends_its_system_prompt_model_and_parameters(fake_openai, cli_env, tmp_path):
    (tmp_path / "t.toml").write_text(TEMPLATES, encoding="utf-8")
    run_cli("templates", "import", str(tmp_path / "t.toml"), env=cli_env)
    fake_openai.answer = "LGTM"
    out = run_cli("ask", "-t", "reviewer", "--var", "lang", "Go", "Review: func f() {}", env=cli_env)
    assert out.returncode == 0, out.stderr
    body = chat_bodies(fake_openai)[-1]
    validate_request("CreateChatCompletionRequest", body)
    assert body["model"] == "gpt-4o"
    assert body["messages"] == [{"role": "system", "content": "You are a strict Go code reviewer."},
                                {"role": "user", "content": "Review: func f() {}"}]
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.2, 300, 7)

    # Flags on the command line win over the role; a role and a prompt template go together.
    out = run_cli("ask", "-t", "reviewer", "-t", "summarize", "--var", "lang", "Rust", "--var", "n", "2",
                  "-m", "gpt-4o-mini", "-o", "temperature", "0.9", "-s", "Be brief.", "some code", env=cli_env)
    assert out.returncode == 0, out.stderr
    body = chat_bodies(fake_openai)[-1]
    validate_request("CreateChatCompletionRequest", body)
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0.9 and body["max_tokens"] == 300
    assert body["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "Summarize in 2 bullet points:\n\nsome code"}]
    out = run_cli("ask", "-t", "reviewer", "x", env=cli_env)
    assert out.returncode == 2 and "role 'reviewer' needs a value for {{lang}}" in out.stderr
