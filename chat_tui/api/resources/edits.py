"""`client.edits`: the 2023 `/v1/edits` endpoint (input + instruction -> edited text).

OpenAI retired it (it now answers 404 "Invalid URL"), but some compatible servers still serve
it; `services/edits.py` decides when to fall back to chat.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chat_tui.api.errors import StreamError
from chat_tui.api.events import Timing, Usage
from chat_tui.api.stream import parse_completion_response
from chat_tui.api.transport import RetryHook, Transport
from chat_tui.core.params import EditParams
from chat_tui.core.text import clean_text


@dataclass(frozen=True, slots=True)
class EditChoice:
    index: int
    text: str
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class EditResponse:
    choices: list[EditChoice]
    usage: Usage | None
    raw: dict[str, Any]
    timing: Timing
    body: dict[str, Any]  # the request as sent (for the record)

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.choices]


class Edits:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def create(self, input: str, instruction: str, model: str, params: EditParams, *,
                     on_retry: RetryHook | None = None) -> EditResponse:
        body = params.body(model, input, instruction)
        # An edit's choices carry `text` as legacy completions do: the same parser checks the body.
        response = await self._transport.whole("edits", model, body, parse_completion_response, on_retry)
        return EditResponse(choices_of(response.raw), next((e for e in response.events if isinstance(e, Usage)), None),
                            response.raw, response.timing, body)


def choices_of(raw: dict[str, Any]) -> list[EditChoice]:
    """The answer's choices in index order; an answer without any is a stream error (an edit
    of nothing is not an edit: it would otherwise empty the user's text)."""
    choices = raw.get("choices")
    out: dict[int, EditChoice] = {}
    for position, choice in enumerate(choices if isinstance(choices, list) else []):
        if not isinstance(choice, dict) or not isinstance(choice.get("text"), str):
            continue
        index = choice.get("index")
        index = index if isinstance(index, int) and not isinstance(index, bool) else position
        reason = choice.get("finish_reason")
        out[index] = EditChoice(index, clean_text(choice["text"]), str(reason) if reason is not None else None)
    if not out:
        raise StreamError(f"the edit answer has no choices: {json.dumps(raw)[:200]}")
    return [out[i] for i in sorted(out)]
