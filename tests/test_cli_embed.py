"""`chat-tui embed` and `chat-tui history search --semantic|--hybrid`, run as a user would (the
installed entry point in a subprocess) against the fake server on a loopback socket."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli
from fake_openai import embedding_vector
from openapi_spec import validate_request

from chat_tui.store import Store

PROFILE = """
default_profile = "fake"
[profiles.fake]
base_url = "{url}"
api_key_env = "FAKE_KEY"
model = "gpt-4o-mini"
{extra}
"""


@pytest.fixture
def env(fake_openai, isolated_env):
    def make(extra: str = "embeddings = true\nembedding_dimensions = 128") -> dict[str, str]:
        isolated_env.mkdir(parents=True, exist_ok=True)
        (isolated_env / "config.toml").write_text(PROFILE.format(url=fake_openai.base_url, extra=extra))
        return {"CHAT_TUI_HOME": str(isolated_env), "FAKE_KEY": "sk-fake"}
    return make


def _save(home, *conversations: tuple[str, ...]) -> list[int]:
    ids = []
    home.mkdir(parents=True, exist_ok=True)
    with Store(home / "chat-tui.db") as store:
        for texts in conversations:
            cid = store.create_conversation(title=texts[0][:30])
            parent = None
            for i, text in enumerate(texts):
                parent = store.add_message(cid, "user" if i % 2 == 0 else "assistant", text, parent_id=parent)
            ids.append(cid)
    return ids


def test_embed_prints_the_vector_as_json(env, fake_openai):
    out = run_cli("embed", "how do I reverse a list", env=env(""))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == embedding_vector("how do I reverse a list", 1536)
    body = fake_openai.last_request.json
    validate_request("CreateEmbeddingRequest", body)
    assert body == {"model": "text-embedding-3-small", "input": ["how do I reverse a list"], "encoding_format": "base64"}
    piped = run_cli("embed", "-", "-m", "text-embedding-3-large", env=env(""), input="from stdin")
    assert json.loads(piped.stdout) == embedding_vector("from stdin", 3072)


def test_a_long_text_is_several_vectors_and_says_so(env):
    out = run_cli("embed", "-", env=env(), input="flip " * 9000)
    assert out.returncode == 0, out.stderr
    vectors = json.loads(out.stdout)
    assert len(vectors) == 2 and all(len(v) == 128 for v in vectors)
    assert "2 pieces" in out.stderr


def test_embed_errors_are_one_clear_line(env):
    out = run_cli("embed", env=env(), input="   ")
    assert out.returncode == 2 and out.stderr.strip() == "chat-tui: error: the text is empty: it has no embedding"
    out = run_cli("embed", "--similar", "x", env=env(""))
    assert out.returncode == 2 and "search by meaning is off for profile 'fake'" in out.stderr
    assert "embeddings = true" in out.stderr


def test_history_search_by_meaning_finds_the_paraphrase(env, isolated_env, fake_openai):
    e = env()
    target, _bread, pdf = _save(isolated_env, ("Flip the order of an array in JavaScript?", "arr.reverse()"),
                                ("Bake sourdough bread", "45 minutes"),
                                ("how do I reverse a list of pages in a PDF", "use a PDF tool"))
    words = run_cli("history", "search", "how do I reverse a list", "--json", env=e)
    assert [r["id"] for r in json.loads(words.stdout)] == [pdf]
    semantic = run_cli("history", "search", "--semantic", "how do I reverse a list", "--json", env=e)
    assert semantic.returncode == 0, semantic.stderr
    assert "embedding 6 messages" in semantic.stderr and "tokens, free (a local model)" in semantic.stderr  # the estimate first
    assert target in [r["id"] for r in json.loads(semantic.stdout)][:2]
    assert all(validate_request("CreateEmbeddingRequest", r.json) is None for r in fake_openai.requests)
    # The first search read the vectors from SQLite and left the cache the next command maps.
    meta = [json.loads(p.read_text()) for p in (isolated_env / "vectors").glob("*.json")]
    assert [(m["model"], m["dimensions"], m["rows"]) for m in meta] == [("text-embedding-3-small", 128, 6)]
    again = run_cli("history", "search", "--semantic", "how do I reverse a list", "--json", env=e)
    assert again.stdout == semantic.stdout
    embedded = len(fake_openai.requests)
    hybrid = run_cli("history", "search", "--hybrid", "how do I reverse a list", env=e)
    assert hybrid.returncode == 0 and "embedding" not in hybrid.stderr  # nothing new to embed
    assert len(fake_openai.requests) == embedded + 1  # the query alone
    lines = hybrid.stdout.splitlines()
    assert lines[0].split()[0] == str(pdf) and str(target) in hybrid.stdout and "[reverse]" in hybrid.stdout
    similar = run_cli("embed", "--similar", "invert the ordering of a vector", "--json", env=e)
    assert json.loads(similar.stdout)[0]["conversation_id"] == target


def test_untrusted_text_reaches_the_terminal_without_control_characters(env, isolated_env):
    _save(isolated_env, ("flip the array \x1b]52;c;ZXZpbA==\x07 now", "ok"))
    out = run_cli("history", "search", "--semantic", "reverse array", env=env())
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout and "\x07" not in out.stdout and "␛" in out.stdout


def test_semantic_and_hybrid_exclude_each_other(env):
    out = run_cli("history", "search", "--semantic", "--hybrid", "x", env=env())
    assert out.returncode == 2 and "not allowed with" in out.stderr
