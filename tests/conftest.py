"""Shared fixtures. Keep each group in its own marked section."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# tests/ is not a package: pytest puts this directory on sys.path, so helpers import by name.
from fake_openai import FakeOpenAI

# --- fake OpenAI server (tests/fake_openai.py) --------------------------------------------


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A started FakeOpenAI on 127.0.0.1:<random>; `fake_openai.base_url` ends in /v1."""
    with FakeOpenAI() as server:
        yield server


# --- end fake OpenAI server ---------------------------------------------------------------


# --- environment isolation and the CLI -------------------------------------------------------

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

CHAT_TUI = Path(sys.executable).with_name("chat-tui")


@pytest.fixture(scope="session")
def tiktoken_cache(tmp_path_factory) -> Path:
    """One tokenizer cache for the whole run (chat-tui installs the files on first use)."""
    return tmp_path_factory.mktemp("tiktoken-cache")


_LOADED_ENCODINGS: dict[str, object] = {}


@pytest.fixture(autouse=True)
def encodings_loaded_once(monkeypatch):
    """Every TokenCounter a test makes checks the tokenizer files (sha256) as the app does, but
    the encoding read from them is kept for the rest of this process: reading o200k_base costs
    ~0.8 CPU-s, and hundreds of tests start an app with a counter of its own. Tests about
    loading wrap or replace `tokens._load_encoding` themselves; subprocesses load for real."""
    from chat_tui.core import tokens

    real = tokens._load_encoding

    def load(name: str):
        encoding = _LOADED_ENCODINGS.get(name)
        if encoding is None:
            encoding = _LOADED_ENCODINGS[name] = real(name)
        return encoding

    monkeypatch.setattr(tokens, "_load_encoding", load)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path, tiktoken_cache):
    """No test sees the developer's keys, config or database."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "AZURE_OPENAI", "CHAT_TUI_")):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "chat-tui-home"
    monkeypatch.setenv("CHAT_TUI_HOME", str(home))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tiktoken_cache))
    return home


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60):
    """Run the installed `chat-tui` entry point as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(CHAT_TUI), *args],
        env=full_env,
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def cli_env(fake_openai, isolated_env) -> dict[str, str]:
    """Environment pointing the CLI at the fake server."""
    return {"OPENAI_BASE_URL": fake_openai.base_url, "CHAT_TUI_HOME": str(isolated_env)}


# --- end environment isolation and the CLI ---------------------------------------------------


@pytest.fixture(scope="session")
def local():
    """The bundled llama.cpp server (xllamacpp + SmolLM2), started once for every end-to-end
    module that uses it (test_local_model.py, test_local_completions.py)."""
    from chat_tui.api.local_server import LocalServer

    server = LocalServer()
    server.start()
    yield server
    server.stop()
