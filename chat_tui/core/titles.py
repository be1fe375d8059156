"""Conversation titles: the provisional one cut from the first prompt, and the pieces of an
auto-title (issue 5): the request's messages and parameters, and cleaning the model's reply.

No I/O here; `chat_tui/services/titles.py` sends the request and stores the result.
"""

from __future__ import annotations

import re
import unicodedata

from chat_tui.core.messages import ChatMessage
from chat_tui.core.models_table import is_reasoning_model
from chat_tui.core.params import ChatParams

MAX_TITLE = 60  # characters, "…" included
EXCERPT = 1500  # characters of the prompt and of the answer sent for a title
MAX_TOKENS = 30  # a title is a few words; a reply cut at this is still cleaned and used
# Reasoning models count hidden reasoning against the limit: 30 would leave no visible text.
REASONING_MAX_TOKENS = 1024
TEMPERATURE = 0.2

INSTRUCTION = (
    "You write titles for chat conversations. Reply with one short title (3 to 6 words) that says "
    "what the conversation below is about, in the language of the conversation. Reply with the "
    "title only: no quotes, no Markdown, no period at the end."
)


def title_from_prompt(prompt: str) -> str:
    """The provisional title of a new conversation: its first prompt on one line, cut to
    `MAX_TITLE` characters with "…" when longer."""
    return _fit(" ".join(prompt.split()))


def _fit(line: str) -> str:
    if len(line) <= MAX_TITLE:
        return line
    cut = line[: MAX_TITLE - 1]
    space = cut.rfind(" ")
    if space >= MAX_TITLE // 2:  # end at a word when that loses little
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


def _excerpt(text: str, limit: int = EXCERPT) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def title_messages(prompt: str, answer: str) -> list[ChatMessage]:
    """The title request: the instruction, then the first exchange, each side cut to
    `EXCERPT` characters so a long exchange costs little. A reasoning model's visible
    `<think>` block is left out of the answer."""
    answer = strip_thinking(answer)
    exchange = f"User: {_excerpt(prompt)}\n\nAssistant: {_excerpt(answer)}"
    return [
        ChatMessage("system", INSTRUCTION),
        ChatMessage("user", f"<conversation>\n{exchange}\n</conversation>"),
    ]


def title_params(model: str) -> ChatParams:
    """Few tokens, little randomness; reasoning models reject temperature and spend tokens
    thinking first. (The client sends max_tokens as max_completion_tokens where needed.)"""
    if is_reasoning_model(model):
        return ChatParams(max_tokens=REASONING_MAX_TOKENS)
    return ChatParams(max_tokens=MAX_TOKENS, temperature=TEMPERATURE)


# -- cleaning a model's reply ------------------------------------------------------------------

_THINK_NAMES = r"think|thinking|reasoning|thought"
_THINK_BLOCK = re.compile(rf"<({_THINK_NAMES})\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_THINK_OPEN = re.compile(rf"<(?:{_THINK_NAMES})\b[^>]*>", re.IGNORECASE)
_THINK_CLOSE = re.compile(rf"</(?:{_THINK_NAMES})\s*>", re.IGNORECASE)
# Bidi overrides and isolates, zero-width spaces, BOM: invisible, and able to reorder text.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
# Terminal escape sequences (colours, OSC titles and links) go whole, not just their ESC.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]")
_PREFIX = re.compile(r"^(?:(?:conversation|chat|suggested|short)\s+)?title\s*[:：\-–—]\s*", re.IGNORECASE)
_BULLET = re.compile(r"^(?:#{1,6}\s+|[-*+•]\s+|\d{1,2}[.)]\s+|>\s*)")
_QUOTES = {'"': '"', "'": "'", "`": "`", "“": "”", "‘": "’", "„": "“", "«": "»", "‹": "›", "「": "」", "『": "』"}
_WRAPPERS = ("***", "**", "__", "~~", "*", "_")


def strip_thinking(text: str) -> str:
    """`text` without the `<think>…</think>` blocks some reasoning models write into their
    answer. An unclosed one drops everything after it; a lone closing tag (its opening tag was
    in the prompt template) drops everything before it."""
    text = _THINK_BLOCK.sub(" ", text)
    if (opened := _THINK_OPEN.search(text)) is not None:
        text = text[: opened.start()]
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        text = text[closes[-1].end():]
    return text


def _printable(text: str) -> str:
    text = _INVISIBLE.sub("", _ESCAPES.sub("", text))
    # Control characters (tabs included) become spaces, so words stay apart.
    return "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)


def _unquoted(line: str) -> str | None:
    """`line` without the pair of quotes around it, if it has one (and no other of them)."""
    if len(line) < 2 or _QUOTES.get(line[0]) != line[-1]:
        return None
    inner = line[1:-1]
    return None if line[0] in inner or line[-1] in inner else inner


def _unwrap(line: str) -> str:
    """Peel quotes, Markdown emphasis, headings, bullets and "Title:" off until none is left."""
    while True:
        before = line
        line = _PREFIX.sub("", _BULLET.sub("", line.strip())).strip()
        for mark in _WRAPPERS:
            if len(line) > 2 * len(mark) and line.startswith(mark) and line.endswith(mark):
                line = line[len(mark): -len(mark)]
                break
        if (inner := _unquoted(line)) is not None:
            line = inner
        elif len(line) >= 3 and line[-1] in ".!?" and (inner := _unquoted(line[:-1])) is not None:
            line = inner + line[-1]  # "Foo." with the period outside the quotes
        if line == before:
            return line


def _clean_line(line: str) -> str:
    # Bold anywhere (**Title:** Foo, Using **bisect** in Python) and code marks go; _ and __
    # may be part of a name (snake_case, __init__), so only a pair around the whole line is
    # peeled (by _unwrap).
    for mark in ("**", "~~", "`"):
        line = line.replace(mark, "")
    line = _unwrap(" ".join(_printable(line).split()))
    while line.endswith((".", "。", ":", ",", ";")) and not line.endswith("..."):
        line = line[:-1].rstrip()
    return line


def clean_title(raw: str | None) -> str | None:
    """A model's reply as a one-line title of at most `MAX_TITLE` characters, or None when
    nothing usable is left (the prompt-derived title then stays)."""
    if not raw:
        return None
    text = strip_thinking(raw)
    lines = [line for line in re.split(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]", text) if line.strip()]
    for i, line in enumerate(lines):
        title = _clean_line(line)
        # "Here is a title:" introducing the title on the next line.
        if not title or (line.rstrip().endswith(":") and i + 1 < len(lines)):
            continue
        if not any(ch.isalnum() for ch in title):
            continue
        return _fit(title)
    return None
