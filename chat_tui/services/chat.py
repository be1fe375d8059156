"""Starting a chat turn, shared by the CLI, the chat screen and compare mode (no UI code here).

A turn is the user's prompt saved where it belongs in the conversation tree (a new conversation,
the end of the thread shown, or a new branch: an edit, a retried prompt) and the request built
from it: the system prompt, the thread up to that point, the prompt. The answer is then
`services.replies.run_reply`'s business.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chat_tui.core.attachments import Attachment, content_for
from chat_tui.core.messages import ChatMessage, Part
from chat_tui.core.params import ChatParams
from chat_tui.core.titles import title_from_prompt
from chat_tui.core.tool_calls import paired

if TYPE_CHECKING:  # not imported at run time: the UI starts faster without SQLite
    from chat_tui.store import Store
    from chat_tui.store.records import Message


@dataclass(frozen=True, slots=True)
class Settings:
    """What a turn is sent with, and saved as the conversation's defaults."""

    model: str
    params: ChatParams
    system_prompt: str | None = None
    endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    conversation_id: int
    user_id: int
    messages: list[ChatMessage]  # the request: system prompt, the thread so far, the prompt


def system_messages(system_prompt: str | None) -> list[ChatMessage]:
    return [ChatMessage("system", system_prompt)] if system_prompt else []


def request_history(thread: Iterable["Message"]) -> list[ChatMessage]:
    """A stored thread as the messages of the next request: empty answers (failed or stopped
    before any text) are left out; tool calls and their results go back as the API expects
    (`core.tool_calls.paired`: a call without its result is not sent)."""
    return paired(m.to_chat_message() for m in thread
                  if m.role in _SENT_ROLES and (m.content or m.parts or m.tool_calls or m.role == "tool"))


_SENT_ROLES = ("system", "developer", "user", "assistant", "tool")


def request_messages(system_prompt: str | None, thread: Sequence["Message"],
                     prompt: str | tuple[Part, ...] | None = None) -> list[ChatMessage]:
    """The request for an answer after `thread` (regenerate: the thread ends with the prompt)."""
    messages = system_messages(system_prompt) + request_history(thread)
    if prompt is not None:
        messages.append(ChatMessage("user", prompt))
    return messages


def start_turn(
    store: "Store",
    text: str,
    settings: Settings,
    *,
    conversation_id: int | None = None,
    parent_id: int | None = None,
    thread: Sequence["Message"] | None = None,
    attachments: Sequence[Attachment] = (),
    kept: dict[int, str] | None = None,
) -> Turn:
    """Save the prompt under `parent_id` (None: the first message) in `conversation_id` (None:
    a new conversation titled from the prompt) and build the request. `thread` is the path to
    `parent_id` when the caller has it in memory; otherwise it is read from the store.
    `attachments` go with the prompt as content parts; their files are kept (blobs and rows;
    `kept`: the digests `services.attachments.keep_files` returned, the files already written)."""
    content = content_for(text, tuple(attachments))
    as_dict = settings.params.as_dict()
    with store.transaction():  # all of it or nothing: a retry after a lock never doubles anything
        if conversation_id is None:
            conversation_id = store.create_conversation(
                title=title_from_prompt(text), model=settings.model, params=as_dict,
                system_prompt=settings.system_prompt, endpoint=settings.endpoint,
            )
            thread = []
        else:
            store.set_conversation_defaults(
                conversation_id, model=settings.model, params=as_dict,
                system_prompt=settings.system_prompt, endpoint=settings.endpoint,
            )
            if thread is None:
                thread = store.thread(conversation_id, leaf_id=parent_id) if parent_id is not None else []
        user_id = store.add_message(conversation_id, "user", content, parent_id=parent_id,
                                    keep_parts=any(not a.sent for a in attachments))
        if attachments:
            from chat_tui.services.attachments import save

            save(store, user_id, attachments, kept)
    return Turn(conversation_id, user_id, request_messages(settings.system_prompt, thread, content))
