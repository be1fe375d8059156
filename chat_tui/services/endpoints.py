"""Connecting to an endpoint, for the CLI and the TUI (no UI code here): the local llama.cpp
server started when the profile needs it, the client, the model list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat_tui.api.client import ModelEntry, OpenAIClient
    from chat_tui.api.local_server import LocalServer
    from chat_tui.core.config import Endpoint


def needs_local_server(endpoint: "Endpoint") -> bool:
    return endpoint.type == "local" and not endpoint.base_url


def start_local(
    endpoint: "Endpoint",
    server: "LocalServer | None",
    *,
    log_file: Path | None,
    progress: Callable[[str], None] | None = None,
) -> tuple["Endpoint", "LocalServer"]:
    """Start (or reuse) the local llama.cpp server; the endpoint with its URL and model filled
    in. Blocks until the server answers: call it from a thread. Raises LocalServerError."""
    from chat_tui.api.local_server import LocalServer

    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
    if server is None:
        server = LocalServer(endpoint.gguf, log_file=log_file)
    url = server.start(progress=progress)
    return replace(endpoint, base_url=url, default_model=endpoint.default_model or server.model), server


def open_client(endpoint: "Endpoint") -> "OpenAIClient":
    """A client for a reachable endpoint (imports httpx: call it off the UI thread)."""
    from chat_tui.api.client import OpenAIClient

    return OpenAIClient(endpoint)


async def list_models(client: "OpenAIClient") -> list["ModelEntry"]:
    """`GET /models`, sorted by id. Raises APIError (APIConnectionError: not reachable)."""
    return await client.models.list()
