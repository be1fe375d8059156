"""What an endpoint's legacy completions can do for completion mode (UI-free): insert mode
(`suffix`) and echo (the prompt's tokens with their logprobs).

Found on the bundled llama.cpp (tests/data/llamacpp/, tests/test_local_completions.py): it
ignores `suffix`, `echo` and `best_of` without an error, and inserts only through a prompt built
with the model's fill-in-the-middle tokens. OpenAI's endpoint takes `suffix` and `echo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chat_tui.core.completion import InsertMode, find_fim_tokens

if TYPE_CHECKING:
    from chat_tui.api.client import OpenAIClient

NO_FIM = "{model} has no fill-in-the-middle tokens and llama.cpp ignores `suffix`: the text after the cursor is not used"
NO_ECHO = "llama.cpp does not echo the prompt or score its tokens (`echo` is ignored)"


@dataclass(frozen=True, slots=True)
class CompletionSupport:
    """`insert`: how to send the text after the cursor (core.completion.insert_request).
    `echo`: whether `echo: true` brings the prompt's tokens back; else `echo_note` says why."""

    insert: InsertMode
    echo: bool
    echo_note: str = ""
    llamacpp: bool = False


PROBE_RETRIES = 2  # for the probe only: FIM token lookups after it fail loudly instead


async def is_llamacpp(client: "OpenAIClient") -> bool:
    """True when the endpoint answers llama.cpp's `/tokenize` (the bundled server always does).
    A passing failure (a timeout, a 5xx from a busy server, a dropped connection) is retried as
    any request is: only an answer that there is no such endpoint, or failures that last, say no."""
    from chat_tui.api.errors import APIError

    if not client.endpoint.is_local and client.endpoint.type != "local":
        return False  # a remote OpenAI or Azure endpoint: do not probe
    try:
        await client.llamacpp.tokenize("a", max_retries=PROBE_RETRIES)
    except APIError:
        return False
    return True


async def fim_insert_mode(client: "OpenAIClient", model: str) -> InsertMode:
    """Insert mode on a llama.cpp server: FIM tokens of the loaded model, or none with a note."""
    found: dict[str, bool] = {}
    for family_token in _candidates():
        pieces = await client.llamacpp.tokenize(family_token)
        found[family_token] = len(pieces) == 1 and pieces[0][1] == family_token
    fim = find_fim_tokens(lambda t: found.get(t, False))
    if fim is None:
        return InsertMode("none", note=NO_FIM.format(model=model))
    return InsertMode("fim", fim=fim)


def _candidates() -> list[str]:
    from chat_tui.core.completion import FIM_FAMILIES

    return [t for f in FIM_FAMILIES for t in (f.prefix, f.suffix, f.middle)]


async def completion_support(client: "OpenAIClient", model: str) -> CompletionSupport:
    """What completion mode can do on this endpoint. Raises APIError only from a llama.cpp server
    that stops answering mid-probe."""
    if await is_llamacpp(client):
        return CompletionSupport(await fim_insert_mode(client, model), echo=False, echo_note=NO_ECHO, llamacpp=True)
    return CompletionSupport(InsertMode("suffix"), echo=True)
