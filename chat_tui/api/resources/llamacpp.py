"""`client.llamacpp`: llama.cpp's own endpoints beside its OpenAI ones, at the server root
(`/tokenize`, `/props`), for what the OpenAI API cannot tell (is a string one token?)."""

from __future__ import annotations

from chat_tui.api.transport import Transport


class LlamaCpp:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def _root(self, path: str) -> str:
        base = (self._transport.endpoint.base_url or "").rstrip("/")
        return base.removesuffix("/v1") + path

    async def tokenize(self, text: str, *, max_retries: int = 0) -> list[tuple[int, str]]:
        """(id, piece) per token; special-token spellings become their one token. Raises
        APIError (NotFoundError from a server that is not llama.cpp)."""
        data = await self._transport.request_json(
            "POST", self._root("/tokenize"), json_body={"content": text, "with_pieces": True},
            max_retries=max_retries)
        tokens = data.get("tokens")
        out = []
        for tok in tokens if isinstance(tokens, list) else ():
            if isinstance(tok, dict) and isinstance(tok.get("id"), int):
                piece = tok.get("piece")
                out.append((tok["id"], piece if isinstance(piece, str) else ""))
        return out
