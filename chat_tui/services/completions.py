"""Completion mode, UI-free: a document written with the legacy completions endpoint.

The text before the cursor is the `prompt` and the text after it the `suffix` (insert mode).
Each round is saved as it streams (`run_request`, like a chat reply): the document is a
conversation of kind `completion`, a round is a `user` row holding the prompt, and its choices
are `assistant` rows whose `params` hold the exact request (suffix, echo, logprobs, best_of ...).
Accepting a choice marks it and stores the document's new text.

With `echo`, the server sends the prompt back in front of the answer (text and logprobs), which
the parser marks `echo=True`: it is split off here, so the answer never holds the prompt and the
prompt's tokens (a perplexity view of the user's own text) come back in `RoundResult.prompt_tokens`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from chat_tui.api.events import LogprobsDelta, StreamEvent, TextDelta, TokenLogprob
from chat_tui.core.completion import InsertMode, insert_request
from chat_tui.core.params import CompletionParams, ParamError
from chat_tui.core.text import error_text, one_line
from chat_tui.services.replies import ReplyResult, Request, run_request
from chat_tui.store import documents

if TYPE_CHECKING:
    from chat_tui.api.client import OpenAIClient
    from chat_tui.core.tokens import TokenCounter
    from chat_tui.store import Store

KIND = "completion"
COMPLETION_MODELS_HINT = "gpt-3.5-turbo-instruct"
TITLE_LENGTH = 60

# What servers say when a chat-only model is sent to /v1/completions (OpenAI: "This is a chat
# model and not supported in the v1/completions endpoint. Did you mean to use v1/chat/completions?").
_CHAT_ONLY = re.compile(
    r"chat model|not supported in the v1/completions|only supports? (the )?chat|v1/chat/completions"
    r"|does not support (the )?completions?|not a completions? model|completions? (are|is) not supported",
    re.IGNORECASE,
)


def explain_error(error: BaseException, model: str) -> str:
    """The error as one line for the user; a chat-only model gets told what to use instead."""
    text = error_text(error)
    message = getattr(error, "message", None) or str(error)
    if getattr(error, "status", None) in (400, 404, 422) and _CHAT_ONLY.search(message):
        return (f"{model} only supports chat, not the completions endpoint; try {COMPLETION_MODELS_HINT} "
                f"(or davinci-002, or any base model of a local server). The server said: {text}")
    return text


def check(params: CompletionParams) -> str | None:
    """Why these parameters cannot be sent (the reference's limits), or None."""
    try:
        params.validated()
    except ParamError as exc:
        return str(exc)
    return None


def streams(params: CompletionParams) -> bool:
    """best_of > 1 makes the server generate best_of answers and return the best n: nothing can
    stream until it has them all, so such a request is fetched whole."""
    return (params.best_of or 1) <= 1


def best_of_note(params: CompletionParams) -> str | None:
    if streams(params):
        return None
    n = params.n or 1
    return (f"best_of {params.best_of}: the server writes {params.best_of} completions and returns the best "
            f"{n}, so nothing can stream; the answer arrives whole when all are done.")


# -- echo: the prompt sent back in front of the answer -----------------------------------------


class EchoSplit:
    """Takes the echoed prompt out of each choice's stream: the parser marks its text and tokens
    `echo=True` (api/stream.py); its tokens are kept aside, per choice, for the probability view."""

    def __init__(self) -> None:
        self.prompt_tokens: dict[int, list[TokenLogprob]] = {}

    def __call__(self, event: StreamEvent) -> StreamEvent | None:
        if isinstance(event, (TextDelta, LogprobsDelta)) and getattr(event, "echo", False):
            if isinstance(event, LogprobsDelta):
                self.prompt_tokens.setdefault(event.index, []).extend(event.content)
            return None
        return event


def _filtered(events: AsyncIterator[StreamEvent], keep: Callable[[StreamEvent], StreamEvent | None]) -> AsyncIterator[StreamEvent]:
    async def gen() -> AsyncIterator[StreamEvent]:
        try:
            async for event in events:
                kept = keep(event)
                if kept is not None:
                    yield kept
        finally:
            await events.aclose()  # type: ignore[attr-defined]
    return gen()


# -- a round --------------------------------------------------------------------------------


@dataclass
class RoundResult:
    document_id: int
    prompt_message_id: int | None
    reply: ReplyResult
    prompt_tokens: list[TokenLogprob] = field(default_factory=list)  # with echo: the prompt's tokens

    @property
    def texts(self) -> dict[int, str]:
        return {i: c.text for i, c in sorted(self.reply.choices.items())}


def new_document(store: Store, text: str, *, model: str | None, params: CompletionParams,
                 endpoint_name: str | None) -> int:
    title = one_line(text)[:TITLE_LENGTH].strip() or None
    return documents.create_document(store, KIND, text, title=title, model=model,
                                     params=params.as_dict(), endpoint=endpoint_name)


async def run_round(
    client: OpenAIClient,
    store: Store,
    counter: TokenCounter | None,
    *,
    document_id: int | None,
    text: str,
    cursor: int,
    model: str,
    params: CompletionParams,
    endpoint_name: str | None,
    on_event: Callable[[StreamEvent], None] | None = None,
    on_document: Callable[[int], None] | None = None,
    wait_for_tokenizer: bool = True,
    insert: InsertMode | None = None,
    max_tokens_default: int | None = None,
) -> RoundResult:
    """Complete `text` at `cursor`: the prompt is the text before it, the suffix the text after
    (sent only when there is some). The document is created on its first round (`on_document`
    gets its id at once) and its text stored before the request goes out. Never raises for what
    goes wrong with the request (see `run_request`); cancellation is re-raised.

    `insert` says how the text after the cursor is sent (`suffix`, a fill-in-the-middle prompt, or
    not at all: see services/completion_support.py); `max_tokens_default` is sent when max_tokens
    is unset, for servers whose own default is not the reference's 16 (llama.cpp: unlimited)."""
    prefix, suffix = text[:cursor], text[cursor:]
    prompt, suffix_param = insert_request(insert or InsertMode("suffix"), prefix, suffix)
    params = replace(params, suffix=suffix_param)
    if params.max_tokens is None and max_tokens_default is not None:
        params = replace(params, max_tokens=max_tokens_default)
    if document_id is None:
        document_id = new_document(store, text, model=model, params=params, endpoint_name=endpoint_name)
    else:
        documents.save_document(store, document_id, text, model=model, params=params.as_dict())
    if on_document is not None:
        on_document(document_id)
    with store.transaction():
        user_id = store.add_message(document_id, "user", prompt, parent_id=documents.last_round_id(store, document_id))
    split = EchoSplit() if params.echo else None
    streamed = streams(params)

    def stream() -> AsyncIterator[StreamEvent]:
        events = client.completions.stream(prompt, model, params)
        return _filtered(events, split) if split else events

    async def create() -> Any:
        response = await client.completions.create(prompt, model, params)
        if split:
            response.events = [kept for kept in map(split, response.events) if kept is not None]
        return response

    def count_prompt(c: TokenCounter, wait: bool) -> Any:
        whole = prompt + (suffix_param or "")
        return c.count_text(whole, model) if wait else c.try_count_text(whole, model)

    request = Request(body=params.body(model, prompt, stream=streamed), stream=stream, create=create,
                      count_prompt=count_prompt, choices=params.n or 1)
    result = await run_request(store, counter, request, conversation_id=document_id, parent_id=user_id,
                               model=model, endpoint_name=endpoint_name, on_event=on_event, stream=streamed,
                               wait_for_tokenizer=wait_for_tokenizer)
    prompt_tokens = split.prompt_tokens.get(0, []) if split else []
    return RoundResult(document_id, user_id, result, prompt_tokens)


def accept(store: Store, document_id: int, message_id: int | None, text: str,
           others: list[int] | tuple[int, ...] = ()) -> None:
    """The choice `message_id` was put into the document, now `text`; its siblings were not."""
    with store.transaction():
        if message_id is not None:
            documents.set_accepted(store, message_id, True)
        for other in others:
            if other != message_id:
                documents.set_accepted(store, other, False)
        documents.save_document(store, document_id, text)


def reject(store: Store, message_ids: list[int] | tuple[int, ...]) -> None:
    with store.transaction():
        for mid in message_ids:
            documents.set_accepted(store, mid, False)


def undo_accept(store: Store, document_id: int, message_id: int | None, text: str) -> None:
    """An accepted choice taken out again (undo): undecided, and the document back to `text`."""
    with store.transaction():
        if message_id is not None:
            documents.set_accepted(store, message_id, None)
        documents.save_document(store, document_id, text)


@dataclass(frozen=True)
class Document:
    id: int
    title: str | None
    text: str
    model: str | None
    params: CompletionParams
    rounds: int


def load_document(store: Store, document_id: int) -> Document | None:
    """A saved completion document, to reopen it (None: not one, or gone)."""
    conv = store.get_conversation(document_id)
    if conv is None or conv.kind != KIND:
        return None
    try:
        params = CompletionParams.from_dict({k: v for k, v in (conv.params or {}).items() if k != "suffix"})
    except ParamError:
        params = CompletionParams()
    return Document(conv.id, conv.title, conv.document or "", conv.model, params,
                    documents.round_count(store, document_id))


def completion_models(entries: list[Any]) -> tuple[list[str], bool]:
    """The models that can complete, where the endpoint says so (Azure lists `capabilities`;
    LM Studio and others give a `type`), and whether any were left out. Without such facts,
    every model is listed: any id can be typed anyway."""
    kept, filtered = [], False
    for entry in entries:
        raw = getattr(entry, "raw", None) or {}
        capabilities = raw.get("capabilities") if isinstance(raw.get("capabilities"), dict) else None
        if capabilities is not None and "completion" in capabilities:
            able = bool(capabilities.get("completion"))
        else:
            able = raw.get("type") not in ("embeddings", "embedding")
        if able:
            kept.append(entry.id)
        else:
            filtered = True
    return kept, filtered
