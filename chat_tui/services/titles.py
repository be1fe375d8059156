"""Auto-titles (issue 5): after the first answer of a new conversation, ask the same endpoint for
a short title and store it in place of the provisional one cut from the prompt. No UI code here.

The request goes through the conversation's own client (same endpoint, same key, nowhere else),
is not streamed, not retried and capped at `TIMEOUT` seconds, and is never saved as a message.
A title is a nicety: any failure is logged at debug level and the prompt-derived title stays.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from chat_tui.core.titles import clean_title, title_messages, title_params

if TYPE_CHECKING:  # not imported at run time: the UI starts faster without httpx and SQLite
    from chat_tui.api.client import OpenAIClient
    from chat_tui.store import Store

log = logging.getLogger(__name__)

TIMEOUT = 15.0  # seconds for the whole request


def first_exchange(store: Store, conversation_id: int, answer_id: int) -> tuple[str, str] | None:
    """(prompt, answer) when `answer_id` answers the first prompt of a conversation whose title is
    still the provisional one (so a title request is worth sending), else None."""
    conversation = store.get_conversation(conversation_id)
    if conversation is None or conversation.title_source != "prompt" or conversation.deleted_at:
        return None
    answer = store.get_message(answer_id)
    if answer is None or answer.role != "assistant" or answer.parent_id is None or not answer.content.strip():
        return None
    prompt = store.get_message(answer.parent_id)
    while prompt is not None and prompt.parent_id is not None and (
            prompt.role == "tool" or (prompt.role == "assistant" and prompt.tool_calls)):
        prompt = store.get_message(prompt.parent_id)  # the answer came after tool calls: up to the prompt
    if prompt is None or prompt.role != "user" or prompt.parent_id is not None:
        return None
    return prompt.content, answer.content


async def request_title(
    client: OpenAIClient, model: str, prompt: str, answer: str, *, timeout: float = TIMEOUT
) -> str | None:
    """Ask for a title for this exchange; the cleaned title, or None if none came back."""
    messages = title_messages(prompt, answer)
    response = await asyncio.wait_for(client.chat.create(messages, model, title_params(model), max_retries=0), timeout)
    return clean_title(response.text())


async def auto_title(
    client: OpenAIClient,
    store: Store,
    conversation_id: int,
    model: str,
    prompt: str,
    answer: str,
    *,
    timeout: float = TIMEOUT,
) -> str | None:
    """Request a title for the first exchange and store it (only over a provisional title).
    Returns the title stored, or None: nothing usable came back, the request failed (logged at
    debug level, never raised) or the title was set some other way meanwhile."""
    try:
        title = await request_title(client, model, prompt, answer, timeout=timeout)
    # APIError and timeouts above all, but also a client closed by an endpoint switch meanwhile.
    # Cancellation (the app quitting) is not an Exception and goes through.
    except Exception as exc:
        log.debug("auto-title for conversation %s failed: %s: %s", conversation_id, type(exc).__name__, exc)
        return None
    if title is None:
        log.debug("auto-title for conversation %s: no usable title in the reply", conversation_id)
        return None
    return title if store.set_auto_title(conversation_id, title) else None
