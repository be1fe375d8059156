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
