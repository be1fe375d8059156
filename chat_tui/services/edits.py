"""Edit mode, shared by the CLI and the TUI: input text + instruction -> edited text (n choices).

Native or emulated: `/v1/edits` where the endpoint serves it, else chat with a fixed editor
prompt. What the endpoint does is remembered per profile (`endpoint_features`, feature
"edits"): "emulated" never tries /v1/edits again; unknown or "native" tries it, and a 404 (or
405/501: a server without the route) switches to chat and remembers "emulated". A 404 that names
the model (`model_not_found`) or a 400 saying the model cannot edit falls back for this request
only: the endpoint may well serve edits for other models, so nothing is remembered.

n > 1 when emulated: chat's own `n`. A server that ignores it (llama.cpp answers one choice)
gets the missing choices as separate requests, sent together, and the outcome says so.

Each round is saved after it succeeds (a failed or cancelled request leaves nothing behind): the
edit document (kind "edit", its text the input), a user row with the instruction and an
assistant row per choice whose params hold the exact request, input included, and the mode.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chat_tui.api.errors import APIError, BadRequestError, NotFoundError
from chat_tui.api.events import Finish, TextDelta, Usage
from chat_tui.core.messages import ChatMessage
from chat_tui.core.params import ChatParams, EditParams
from chat_tui.core.text import error_text
from chat_tui.core.titles import title_from_prompt
from chat_tui.store import documents

if TYPE_CHECKING:
    from chat_tui.api.client import OpenAIClient
    from chat_tui.api.transport import RetryHook
    from chat_tui.store import Store

FEATURE = "edits"
NATIVE, EMULATED = "native", "emulated"
EDIT_SYSTEM_PROMPT = (
    "You are an editor. Apply the instruction to the text and return only the edited text, nothing "
    "else: no explanation, no preamble, no quotes, no code fence. Keep everything the instruction "
    "does not ask to change exactly as it is, including line breaks and indentation. If the text "
    "is empty, write what the instruction asks for."
)
_NOT_AN_EDIT_MODEL = ("not supported", "does not support", "unsupported", "not available", "cannot be used")


@dataclass(frozen=True)
class EditChoice:
    index: int
    text: str
    message_id: int | None = None  # its assistant row (None: the round could not be saved)
    finish_reason: str | None = None


@dataclass
class EditOutcome:
    mode: str  # NATIVE or EMULATED
    model: str
    input: str
    instruction: str
    params: EditParams
    choices: list[EditChoice]
    document_id: int | None = None
    user_id: int | None = None
    usage: Usage | None = None
    duration: float = 0.0
    notes: list[str] = field(default_factory=list)  # what the user may want to know (a fallback, ignored n)
    unsaved: str | None = None  # why the round is not in the database
    request: dict[str, Any] = field(default_factory=dict)  # the body sent (the first, when several)


@dataclass(frozen=True)
class EditDocument:
    """A saved edit document, as the screen reopens it."""

    id: int
    text: str
    instruction: str
    model: str | None
    params: EditParams
    mode: str | None  # of its last round
    title: str | None = None


# -- the prompt --------------------------------------------------------------------------------


def emulated_messages(input: str, instruction: str) -> list[ChatMessage]:
    """The fixed chat prompt that stands in for /v1/edits."""
    return [ChatMessage("system", EDIT_SYSTEM_PROMPT),
            ChatMessage("user", f"Instruction: {instruction}\n\nText:\n{input}")]


def strip_fence(text: str, input: str = "") -> str:
    """A chat model's answer as the edited text: a code fence around all of it removed (models add
    one despite the prompt), and the input's final newline kept (they drop it)."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```") and "\n" in stripped and len(stripped) >= 6:
        inner = stripped[stripped.index("\n") + 1 : -3]
        inner = inner[:-1] if inner.endswith("\n") else inner  # the newline before the closing fence is the fence's
        if "```" not in inner:  # several fenced blocks: the answer is not one fenced text
            text = inner
    if input.endswith("\n") and text and not text.endswith("\n"):
        text += "\n"
    elif not input.endswith("\n") and text.endswith("\n") and not text.endswith("\n\n"):
        text = text[:-1]
    return text


# -- deciding native or emulated ------------------------------------------------------------------


def lacks_edits(exc: APIError) -> str | None:
    """Why this error means "use chat instead": "endpoint" (the server has no /v1/edits: remember
    it), "model" (this model cannot edit: fall back this once), or None (a real error)."""
    if isinstance(exc, NotFoundError):
        return "model" if exc.code == "model_not_found" else "endpoint"
    if exc.status in (405, 501):
        return "endpoint"
    if isinstance(exc, BadRequestError) and "edit" in exc.message.lower() and any(
            phrase in exc.message.lower() for phrase in _NOT_AN_EDIT_MODEL):
        return "model"
    return None


def remembered_mode(store: "Store", endpoint_name: str | None) -> str | None:
    return documents.endpoint_feature(store, endpoint_name or "", FEATURE)


async def run_edit(
    client: "OpenAIClient",
    store: "Store",
    endpoint_name: str | None,
    model: str,
    input: str,
    instruction: str,
    params: EditParams,
    *,
    document_id: int | None = None,
    on_retry: "RetryHook | None" = None,
) -> EditOutcome:
    """Edit `input` by `instruction` and save the round (to `document_id`, else a new document).
    Raises ParamError before anything is sent, APIError when the request fails (nothing saved);
    a database that refuses the round leaves the outcome's `unsaved` set instead."""
    params.body(model, input, instruction)  # every check, before anything is sent or saved
    endpoint = endpoint_name or ""
    known = remembered_mode(store, endpoint)
    started = time.monotonic()
    outcome: EditOutcome | None = None
    if known != EMULATED:
        try:
            response = await client.edits.create(input, instruction, model, params, on_retry=on_retry)
        except APIError as exc:
            why = lacks_edits(exc)
            if why is None:
                raise
            outcome = await _emulate(client, model, input, instruction, params, on_retry)
            if why == "endpoint":
                documents.remember_endpoint_feature(store, endpoint, FEATURE, EMULATED)
                outcome.notes.append("this endpoint has no /v1/edits: edits go through chat from now on")
            else:
                outcome.notes.append(f"{model} cannot use /v1/edits ({error_text(exc, 200)}): this edit went through chat")
        else:
            if known != NATIVE:
                documents.remember_endpoint_feature(store, endpoint, FEATURE, NATIVE)
            outcome = EditOutcome(NATIVE, model, input, instruction, params,
                                  [EditChoice(c.index, c.text, None, c.finish_reason) for c in response.choices],
                                  usage=response.usage, request=response.body)
    else:
        outcome = await _emulate(client, model, input, instruction, params, on_retry)
    outcome.duration = time.monotonic() - started
    _save(store, endpoint_name, outcome, document_id)
    return outcome


async def _emulate(client: "OpenAIClient", model: str, input: str, instruction: str, params: EditParams,
                   on_retry: "RetryHook | None") -> EditOutcome:
    messages = emulated_messages(input, instruction)
    chat = params.as_chat()
    response = await client.chat.create(messages, model, chat, on_retry=on_retry)
    responses = [response]
    wanted = params.n or 1
    got = _choices(response, input)
    notes: list[str] = []
    if len(got) < wanted:
        # The server ignored n (llama.cpp does): the missing choices, one request each.
        one = ChatParams(temperature=chat.temperature, top_p=chat.top_p, extra=dict(chat.extra))
        more = await asyncio.gather(*(client.chat.create(messages, model, one, on_retry=on_retry)
                                      for _ in range(wanted - len(got))))
        responses += more
        for extra in more:
            got += [EditChoice(len(got), c.text, None, c.finish_reason) for c in _choices(extra, input)[:1]]
        notes.append(f"the server ignored n={wanted}: {len(more) + 1} requests were sent")
    return EditOutcome(EMULATED, model, input, instruction, params, got[:wanted], usage=_total_usage(responses),
                       notes=notes, request=client.chat.body(messages, model, chat, stream=False))


def _choices(response: Any, input: str) -> list[EditChoice]:
    indexes = sorted({e.index for e in response.events if isinstance(e, (TextDelta, Finish))})
    finish = {e.index: e.reason for e in response.events if isinstance(e, Finish)}
    return [EditChoice(k, strip_fence(response.text(i), input), None, finish.get(i)) for k, i in enumerate(indexes)]


def _total_usage(responses: list[Any]) -> Usage | None:
    found = [e for r in responses for e in r.events if isinstance(e, Usage)]
    if not found:
        return None
    if len(found) == 1:
        return found[0]

    def total(name: str) -> int | None:
        values = [getattr(u, name) for u in found]
        return None if any(v is None for v in values) else sum(values)

    return Usage(total("prompt_tokens"), total("completion_tokens"), total("total_tokens"))


# -- saving ------------------------------------------------------------------------------------


def request_record(outcome: EditOutcome) -> dict[str, Any]:
    """What each choice row keeps in `params`: the request as sent, the input and the
    instruction spelled out (inside `messages` when emulated), and the mode."""
    record = dict(outcome.request)
    record.update(input=outcome.input, instruction=outcome.instruction, mode=outcome.mode)
    return record


def _save(store: "Store", endpoint_name: str | None, outcome: EditOutcome, document_id: int | None) -> None:
    from chat_tui.store import StoreError

    record = request_record(outcome)
    single = len(outcome.choices) == 1 and outcome.usage is not None
    try:
        with store.transaction():  # the round whole, or not at all
            settings = outcome.params.as_dict()
            if document_id is None:
                document_id = documents.create_document(
                    store, "edit", outcome.input, title=title_from_prompt(outcome.instruction),
                    model=outcome.model, params=settings, endpoint=endpoint_name)
                parent = None
            else:
                documents.save_document(store, document_id, outcome.input, model=outcome.model, params=settings)
                parent = _round_parent(store, document_id)
            user_id = store.add_message(document_id, "user", outcome.instruction, parent_id=parent)
            ids = [documents.add_choice(
                store, document_id, user_id, choice.text, model=outcome.model, params=record,
                endpoint=endpoint_name, finish_reason=choice.finish_reason,
                prompt_tokens=outcome.usage.prompt_tokens if single else None,
                completion_tokens=outcome.usage.completion_tokens if single else None,
                duration=outcome.duration) for choice in outcome.choices]
    except (StoreError, ValueError) as exc:
        outcome.unsaved = error_text(exc)
        return
    outcome.document_id, outcome.user_id = document_id, user_id
    outcome.choices = [EditChoice(c.index, c.text, mid, c.finish_reason) for c, mid in zip(outcome.choices, ids)]


def _round_parent(store: "Store", document_id: int) -> int | None:
    """A new round follows the choice accepted in the last one (the text it edits came from it),
    else the last round's instruction."""
    last = documents.last_round(store, document_id)
    if last is None:
        return None
    user, choices = last
    accepted = [c.id for c in choices if c.accepted]
    return accepted[-1] if accepted else user.id


# -- decisions ---------------------------------------------------------------------------------


def accept(store: "Store", document_id: int, message_id: int | None, text: str) -> None:
    """The choice goes into the document (and is marked accepted)."""
    with store.transaction():
        documents.save_document(store, document_id, text)
        if message_id is not None:
            documents.set_accepted(store, message_id, True)


def reject(store: "Store", message_ids: list[int | None]) -> None:
    """The round's choices are discarded (kept in history, marked rejected)."""
    with store.transaction():
        for mid in message_ids:
            if mid is not None:
                documents.set_accepted(store, mid, False)


def undo_accept(store: "Store", document_id: int, message_id: int | None, text: str) -> None:
    """Back to the text before an accept; the choice becomes undecided again."""
    with store.transaction():
        documents.save_document(store, document_id, text)
        if message_id is not None:
            documents.set_accepted(store, message_id, None)


def load_edit_document(store: "Store", cid: int) -> EditDocument:
    """An edit document with its last instruction, model, parameters and mode, to reopen it.
    LookupError if there is no such document (or it is not an edit)."""
    from chat_tui.store.errors import NotFoundError as StoreNotFound

    conversation = store.get_conversation(cid)
    if conversation is None or conversation.kind != "edit":
        raise StoreNotFound(f"no edit document {cid}")
    last = documents.last_round(store, cid)
    instruction, mode = "", None
    if last is not None:
        user, choices = last
        instruction = user.content
        mode = next((c.params.get("mode") for c in choices if isinstance(c.params, dict)), None)
    try:
        params = EditParams.from_dict({k: v for k, v in (conversation.params or {}).items() if k in EditParams.names()})
    except ValueError:
        params = EditParams()  # a hand-edited database: the defaults rather than no document
    return EditDocument(cid, conversation.document or "", instruction, conversation.model, params, mode,
                        conversation.title)


__all__ = ["EDIT_SYSTEM_PROMPT", "EditChoice", "EditDocument", "EditOutcome", "accept", "emulated_messages", "lacks_edits", "load_edit_document", "reject", "run_edit", "strip_fence",
           "undo_accept"]
