"""Status line under the prompt: tokens of the next request, context use, cost, reply speed.

Counting happens in a thread worker after a short debounce, never on a keystroke in the UI
thread (loading an encoding blocks ~0.2 s; a long history takes a while to encode). A result
carries the generation it was asked for and is dropped if the input changed since. While a reply
streams, only each new piece of text is counted (O(new text)), and redraws are throttled.
Anything that is not an exact tokenizer count is shown with "~".
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.worker import get_current_worker

from chat_tui.core.models_table import ModelInfo, estimate_cost, model_info
from chat_tui.core.tokens import CHARS_PER_TOKEN, COUNT_AT_ONCE, TokenCount, TokenCounter, is_openai_tokenizer_model

if TYPE_CHECKING:
    from chat_tui.core.messages import ChatMessage, Part

DEBOUNCE = 0.15  # seconds of quiet typing before counting
REDRAW_INTERVAL = 0.5  # streaming figures redraw twice a second: each redraw is a screen update
BEAT_GRACE = 0.25  # while text streams, the redraw waits this much longer for the text's frame (`beat`)
BAR_WIDTH = 10
NEXT_PARTS = ("prompt", "tools", "context", "bar", "max", "cost")  # row 1, in this order
PART_GAP = "  "
# A user message costs 3 framing tokens plus its role; "user" is one token in every OpenAI
# encoding and under chars/4 (the cookbook recipe, as in TokenCounter.count_messages).
USER_MESSAGE_FRAMING = 4


def short_count(n: int) -> str:
    """128000 -> "128k", 1047576 -> "1M", 16385 -> "16k", 512 -> "512"."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"
    if n >= 1_000:
        return f"{round(n / 1_000)}k"
    return str(n)


def format_cost(usd: float) -> str:
    """Two significant digits for small amounts: $0.0000020, $0.00042, $0.012, $1.25."""
    if usd <= 0:
        return "$0"
    if usd >= 1:
        return f"${usd:.2f}"
    decimals = min(10, max(2, 1 - math.floor(math.log10(usd))))
    return f"${usd:.{decimals}f}"


def _mark(count: TokenCount | None) -> str:
    return "?" if count is None else (f"{count.tokens:,}" if count.exact else f"~{count.tokens:,}")


@dataclass
class _Counted(Message, bubble=False):
    """A count from the worker, for the generation of inputs it was started with."""

    generation: int
    history_generation: int
    model: str
    history: TokenCount | None
    prompt: TokenCount

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, _Counted)


class TokenMeter(Widget):
    """Mount with `id="token-meter"` (the default) under the prompt; feed it with the setters.

    Row 1: the next request (prompt, conversation vs context window, max_tokens, cost).
    Row 2, once a reply has started: the reply being streamed, or the last one.
    One widget drawing both rows (styled by its component classes, meter.tcss): a changed
    figure repaints the meter and lays nothing out; only row 2 appearing changes its height.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "token-meter--estimate",  # not an exact tokenizer count
        "token-meter--bar", "token-meter--bar-warn", "token-meter--bar-over",
        "token-meter--streaming",  # row 2 while the reply streams
    }

    @dataclass
    class Updated(Message):
        """The next request's counts changed. Only the newest pending one is delivered."""

        prompt_tokens: TokenCount | None
        conversation_tokens: TokenCount | None
        context_window: int | None
        meter: TokenMeter | None = field(default=None, repr=False, compare=False)

        @property
        def control(self) -> TokenMeter | None:
            return self.meter

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, TokenMeter.Updated) and message.meter is self.meter

    def __init__(
        self,
        counter: TokenCounter,
        *,
        model: str,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        id: str | None = "token-meter",
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.counter = counter
        self.overrides = overrides
        self.model = model
        self.info: ModelInfo | None = model_info(model, overrides)
        self.max_tokens: int | None = None
        # inputs, each change bumps a generation so late results can be recognised
        self._prompt = ""
        self._attachments: tuple[Part, ...] = ()  # the prompt's attachments, as parts
        self._history: tuple[ChatMessage, ...] = ()
        # The tool definitions the request offers (prompt tokens: the JSON of its `tools`
        # field), counted by the owner; not complete: some sources are not started (unknown).
        self.tools_tokens: TokenCount | None = None
        self._tools_complete = True
        self._generation = 0
        self._history_generation = 0
        self._history_count: TokenCount | None = None
        self._history_key: tuple[int, str] | None = None
        self._debounce: Timer | None = None
        self._shown_generation = -1  # generation of the counts on display
        # the next request
        self.prompt_tokens: TokenCount | None = None
        self.conversation_tokens: TokenCount | None = None
        # the reply being streamed, or the last one
        self.streaming = False
        self._reply_seen = False
        self._t0 = 0.0
        self._first_at: float | None = None
        self._completion_local = 0  # the answer and the reasoning, as the server counts them
        self._reasoning_local = 0
        # Pieces streamed since they were last counted (answer, reasoning): counted together
        # when the figures are next needed, one tokenizer call per redraw, not per piece.
        self._uncounted: tuple[list[str], list[str]] = ([], [])
        self._last_piece_at: float | None = None
        self._sent_prompt: TokenCount | None = None
        self._ttft: float | None = None
        self._tps: float | None = None
        self._timing_from_client = False
        self._usage_prompt: int | None = None
        self._usage_completion: int | None = None
        self._usage_reasoning: int | None = None
        self._completion_final: TokenCount | None = None
        self._reasoning_final: int | None = None
        self._redraw: Timer | None = None
        self._on_beats = False  # the answer's frames redraw the streaming figures (`beat`)
        self._last_redraw = 0.0
        # What is shown: each part's text and whether it is an estimate (None: not shown).
        self._parts: dict[str, tuple[str, bool] | None] = dict.fromkeys((*NEXT_PARTS, "reply"))
        self._bar_level = ""  # "", "warn" (≥ 80 % used) or "over" (with max_tokens, > 100 %)

    def on_mount(self) -> None:
        # Load the tokenizer after the first frame: a thread importing tiktoken while the first
        # frame is drawn would compete with it for the GIL.
        self.call_after_refresh(self._preload, self.model)
        self.call_after_refresh(self._launch)
        self._render_next()
        self._render_reply()

    # -- inputs -------------------------------------------------------------------------------

    def set_model(self, model: str) -> None:
        if model == self.model:
            return
        self.model = model
        self.info = model_info(model, self.overrides)
        self._generation += 1
        if self.is_mounted:
            self._preload(model)
            self._launch()

    def set_history(self, messages: list[ChatMessage], system: str | None = None) -> None:
        """The conversation so far (what will be sent before the new prompt)."""
        history = tuple(messages)
        if system:
            from chat_tui.core.messages import ChatMessage  # on use: a faster start-up

            history = (ChatMessage("system", system), *history)
        if history == self._history:
            return
        self._history = history
        self._history_generation += 1
        self._generation += 1
        if self.is_mounted:
            self._launch()  # history changes are rare: no debounce

    def set_tools(self, count: TokenCount | None, complete: bool = True) -> None:
        """The tool definitions' tokens (None: no tools on offer); `complete` False: some
        sources are not started yet, so there may be more (shown "+?")."""
        if (count, complete) == (self.tools_tokens, self._tools_complete):
            return
        self.tools_tokens, self._tools_complete = count, complete
        if self._history_count is not None and self.prompt_tokens is not None:
            self.conversation_tokens = self._conversation(self._history_count, self.prompt_tokens)
            self.post_message(self.Updated(self.prompt_tokens, self.conversation_tokens, self.context_window, meter=self))
        if self.is_mounted:
            self._render_next()

    def set_prompt(self, text: str) -> None:
        """Called on every keystroke: only (re)starts the debounce timer."""
        if text == self._prompt:
            return
        self._prompt = text
        self._generation += 1
        if self._debounce is not None:
            self._debounce.stop()
        if self.is_mounted:
            self._debounce = self.set_timer(DEBOUNCE, self._launch, name="token-meter-debounce")

    def set_attachments(self, parts: tuple[Part, ...]) -> None:
        """The prompt's attachments: images by the model's published rule (an estimate where
        it is not known, or detail is auto), inlined text files by their text; a PDF is not
        counted here (the server's usage says), which makes the count an estimate."""
        parts = tuple(parts)
        if parts == self._attachments:
            return
        self._attachments = parts
        self._generation += 1
        if self.is_mounted:
            self._launch()

    def set_max_tokens(self, n: int | None) -> None:
        self.max_tokens = n
        if self.is_mounted:
            self._render_next()

    # -- counting (thread) --------------------------------------------------------------------

    @work(thread=True, group="meter-preload", exit_on_error=False)
    def _preload(self, model: str) -> None:
        self.counter.preload(model)

    def _launch(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        key = (self._history_generation, self.model)
        history = None if self._history_key == key else self._history
        self._count(self._generation, self._history_generation, self.model, self._prompt, history, self._attachments)

    @work(thread=True, exclusive=True, group="meter", exit_on_error=False)
    def _count(
        self, generation: int, history_generation: int, model: str, prompt: str,
        history: tuple[ChatMessage, ...] | None, attachments: tuple[Part, ...] = (),
    ) -> None:
        worker = get_current_worker()
        history_count = None
        if history is not None:
            history_count = self.counter.count_messages(history, model)
            if worker.is_cancelled:
                return
        prompt_count = self.counter.count_text(prompt, model)
        if attachments:
            # imported on use: a faster start-up
            from chat_tui.core.attachments import parts_image_tokens
            from chat_tui.core.messages import ImagePart, TextPart

            images, exact = parts_image_tokens(attachments, model)
            texts = [self.counter.count_text(p.text, model) for p in attachments if isinstance(p, TextPart)]
            exact = exact and prompt_count.exact and all(t.exact for t in texts) and all(
                isinstance(p, (TextPart, ImagePart)) for p in attachments)
            prompt_count = TokenCount(prompt_count.tokens + images + sum(t.tokens for t in texts), exact, prompt_count.encoding)
        if not worker.is_cancelled:
            self.post_message(_Counted(generation, history_generation, model, history_count, prompt_count))

    @on(_Counted)
    def _counted(self, result: _Counted) -> None:
        if result.model != self.model:
            return
        if result.history is not None and result.history_generation == self._history_generation:
            self._history_count = result.history
            self._history_key = (result.history_generation, result.model)
        if result.generation != self._generation or self._history_count is None:
            return  # the prompt or history changed since: a newer count is on its way
        self._shown_generation = result.generation
        self.prompt_tokens = result.prompt
        self.conversation_tokens = self._conversation(self._history_count, result.prompt)
        self._render_next()
        self.post_message(self.Updated(self.prompt_tokens, self.conversation_tokens, self.context_window, meter=self))

    def _conversation(self, history: TokenCount, prompt: TokenCount) -> TokenCount:
        exact = history.exact and prompt.exact
        if not self._history and not self._prompt and not self._attachments:
            return TokenCount(0, exact, history.encoding)
        asked = self._prompt or self._attachments
        tokens = history.tokens + (USER_MESSAGE_FRAMING + prompt.tokens if asked else 0)
        if self.tools_tokens is not None:
            tokens += self.tools_tokens.tokens
            exact = exact and self.tools_tokens.exact and self._tools_complete
        return TokenCount(tokens, exact, history.encoding)

    # -- derived figures ----------------------------------------------------------------------

    @property
    def context_window(self) -> int | None:
        return self.info.context_window if self.info else None

    @property
    def context_fraction(self) -> float | None:
        """Conversation tokens over the context window, or None if either is unknown."""
        window = self.context_window
        if not window or self.conversation_tokens is None:
            return None
        return self.conversation_tokens.tokens / window

    @property
    def completion_tokens(self) -> TokenCount | None:
        """The reply's tokens: the server's, else a local count (~ while streaming)."""
        if not self._reply_seen:
            return None
        if self._usage_completion is not None:
            return TokenCount(self._usage_completion, True, "usage")
        if self._completion_final is not None:
            return self._completion_final
        self._count_uncounted()
        return TokenCount(self._completion_local, False, "stream")

    @property
    def reasoning_tokens(self) -> TokenCount | None:
        """The part of the reply's tokens spent thinking (None: no reasoning seen or reported)."""
        if self._usage_reasoning:
            return TokenCount(self._usage_reasoning, True, "usage")
        if self._reasoning_final is not None:
            return TokenCount(self._reasoning_final, self._completion_final.exact if self._completion_final else False, "local")
        self._count_uncounted()
        if self._reasoning_local:
            return TokenCount(self._reasoning_local, False, "stream")
        return None

    @property
    def reasoning_tokens_streamed(self) -> int:
        """Reasoning tokens counted so far while streaming (an estimate)."""
        self._count_uncounted()
        return self._reasoning_local

    @property
    def reply_prompt_tokens(self) -> TokenCount | None:
        if self._usage_prompt is not None:
            return TokenCount(self._usage_prompt, True, "usage")
        return self._sent_prompt

    # -- streaming ----------------------------------------------------------------------------

    def stream_started(self) -> None:
        """Call when the request goes out, before the prompt box is cleared."""
        sent = self.conversation_tokens
        if sent is not None and self._shown_generation != self._generation:
            sent = TokenCount(sent.tokens, False, sent.encoding)  # counted from older text
        self._sent_prompt = sent
        self.streaming = True
        self._reply_seen = True
        self._t0 = time.monotonic()
        self._first_at = None
        self._completion_local = 0
        self._reasoning_local = 0
        self._uncounted = ([], [])
        self._last_piece_at = None
        self._completion_final = None
        self._reasoning_final = None
        self._ttft = self._tps = None
        self._timing_from_client = False
        self._usage_prompt = self._usage_completion = self._usage_reasoning = None
        self._on_beats = False
        self._redraw_now()

    def beat(self) -> None:
        """The answer's text was just drawn: the streaming figures, if due, are redrawn now, in
        the same screen update, not in one of their own (each is a repaint of the screen's
        changed lines; while an answer streams at 10 frames a second, the meter's own timer
        added two more a second). The timer stays, later, for when no text comes."""
        self._on_beats = True
        if self._redraw is not None and time.monotonic() - self._last_redraw >= REDRAW_INTERVAL:
            self._redraw_now()

    def stream_delta(self, text: str) -> None:
        """A new piece of the answer (counted with the others since the last redraw: summed per
        redraw, so approximate)."""
        self._streamed(text, 0)

    def stream_reasoning(self, text: str) -> None:
        """A new piece of reasoning: counted like the answer's (it is part of the completion
        tokens), and apart, for "thinking N"."""
        self._streamed(text, 1)

    def _streamed(self, text: str, kind: int) -> None:
        if not self.streaming or not text:
            return
        now = self._last_piece_at = time.monotonic()
        if self._first_at is None:
            self._first_at = now
            if not self._timing_from_client:
                self._ttft = now - self._t0
        self._uncounted[kind].append(text)
        self._schedule_redraw()

    def _count_uncounted(self) -> None:
        """Count the pieces streamed since the last count: one tokenizer call for the answer's
        and one for the reasoning's (a call per piece cost ~35 µs each, 8,000 a long answer)."""
        if not any(self._uncounted):
            return
        for kind, pieces in enumerate(self._uncounted):
            if pieces:
                text = "".join(pieces)
                pieces.clear()
                # never waits for a load, and a burst is estimated (the final count replaces it)
                counted = self.counter.try_count_text(text, self.model) if len(text) <= COUNT_AT_ONCE else None
                tokens = counted.tokens if counted else math.ceil(len(text) / CHARS_PER_TOKEN)
                self._completion_local += tokens
                if kind:
                    self._reasoning_local += tokens
        if not self._timing_from_client and self._first_at is not None and self._last_piece_at is not None:
            elapsed = self._last_piece_at - self._first_at
            self._tps = self._completion_local / elapsed if elapsed > 0.05 else None

    def stream_timing(self, ttft: float | None, tokens_per_second: float | None) -> None:
        """Figures measured by the client (api.events.Timing) replace the local ones."""
        self._timing_from_client = True
        if ttft is not None:
            self._ttft = ttft
        if tokens_per_second is not None:
            self._tps = tokens_per_second
        self._schedule_redraw()

    def stream_finished(
        self,
        usage_prompt: int | None = None,
        usage_completion: int | None = None,
        completion_tokens_local: int | None = None,
        *,
        reasoning_tokens: int | None = None,
        reasoning_tokens_local: int | None = None,
    ) -> None:
        """The reply ended (also cancelled or failed); server usage wins over local counts.
        Completion counts include reasoning (`reasoning_*` say how much of them it was)."""
        self._count_uncounted()
        self.streaming = False
        self._reply_seen = True
        self._usage_prompt = usage_prompt
        self._usage_completion = usage_completion
        self._usage_reasoning = reasoning_tokens
        if reasoning_tokens_local is not None:
            self._reasoning_final = reasoning_tokens_local
        if completion_tokens_local is not None:
            # counted over the whole text by TokenCounter.count_completion
            self._completion_final = TokenCount(
                completion_tokens_local, is_openai_tokenizer_model(self.model), "local"
            )
        self._redraw_now()

    def _schedule_redraw(self) -> None:
        if self._redraw is not None or not self.is_mounted:
            return
        # Never a 0 s timer: Textual's Timer divides by its interval when it is stopped late
        # (ZeroDivisionError as the app closes with a redraw pending).
        late = BEAT_GRACE if self._on_beats else 0.0  # the next beat redraws first
        wait = max(0.001, REDRAW_INTERVAL + late - (time.monotonic() - self._last_redraw))
        self._redraw = self.set_timer(wait, self._redraw_now, name="token-meter-redraw")

    def _redraw_now(self) -> None:
        if self._redraw is not None:
            self._redraw.stop()
            self._redraw = None
        self._last_redraw = time.monotonic()
        self._count_uncounted()
        if self.is_mounted:
            self._render_reply()

    # -- rendering ----------------------------------------------------------------------------

    def shown(self, name: str) -> str | None:
        """The text of part `name` as shown (None: not shown): one of NEXT_PARTS, or "reply"."""
        part = self._parts[name]
        return None if part is None else part[0]

    def is_estimate(self, name: str) -> bool:
        """Whether part `name` is shown as an estimate (in italics)."""
        part = self._parts[name]
        return part is not None and part[1]

    @property
    def bar_level(self) -> str:
        """How full the context bar is: "", "warn" (≥ 80 %) or "over" (with max_tokens, > 100 %)."""
        return self._bar_level

    def _part(self, name: str, text: str | None, *, estimate: bool = False) -> None:
        new = None if text is None else (text, estimate)
        old = self._parts[name]
        if new == old:
            return
        self._parts[name] = new
        # Only row 2 appearing or going changes the meter's height (a layout of the screen);
        # a changed figure only repaints it.
        self.refresh(layout=name == "reply" and (old is None) != (new is None))

    def render(self) -> Content:
        def style(name: str, estimate: bool) -> Any:
            classes = []
            if name == "bar":
                classes.append(f"token-meter--bar-{self._bar_level}" if self._bar_level else "token-meter--bar")
            elif name == "reply" and self.streaming:
                classes.append("token-meter--streaming")
            if estimate:
                classes.append("token-meter--estimate")
            return self.get_visual_style(*classes, partial=True) if classes else ""

        pieces: list[Any] = []
        for name in NEXT_PARTS:
            part = self._parts[name]
            if part is not None:
                if pieces:
                    pieces.append(PART_GAP)
                pieces.append((part[0], style(name, part[1])))
        reply = self._parts["reply"]
        if reply is not None:
            pieces += ["\n", (reply[0], style("reply", reply[1]))]
        return Content.assemble(*pieces)  # control codes are stripped: the figures are ours anyway

    def _render_next(self) -> None:
        prompt, conversation, window = self.prompt_tokens, self.conversation_tokens, self.context_window
        self._part("prompt", f"prompt {_mark(prompt)}", estimate=bool(prompt and not prompt.exact))
        tools, more = self.tools_tokens, "" if self._tools_complete else "+?"  # +?: servers not started
        if tools is not None:
            self._part("tools", f"tools {_mark(tools)}{more}", estimate=bool(more) or not tools.exact)
        else:
            self._part("tools", "tools ?" if more else None, estimate=True)
        context = f"ctx {_mark(conversation)}" + (f" / {short_count(window)}" if window else "")
        self._part("context", context, estimate=bool(conversation and not conversation.exact))
        self._part("bar", self._bar())
        self._part("max", f"max {self.max_tokens:,}" if self.max_tokens else None)
        cost, estimate = self._next_cost()
        self._part("cost", cost, estimate=estimate)

    def _bar(self) -> str | None:
        window = self.context_window
        fraction = self.context_fraction
        if not window or fraction is None:
            return None
        reserved = (self.max_tokens or 0) / window
        used_cells = min(BAR_WIDTH, round(fraction * BAR_WIDTH))
        if fraction > 0 and used_cells == 0:
            used_cells = 1  # something is used: show it
        reserved_cells = min(BAR_WIDTH - used_cells, round(reserved * BAR_WIDTH))
        free_cells = BAR_WIDTH - used_cells - reserved_cells
        level = "over" if fraction + reserved > 1 else "warn" if fraction >= 0.8 else ""
        if level != self._bar_level:
            self._bar_level = level
            self.refresh()
        percent = "<1%" if 0 < fraction < 0.01 else f"{fraction:.0%}"
        return "█" * used_cells + "▒" * reserved_cells + "░" * free_cells + f" {percent}"

    def _next_cost(self) -> tuple[str | None, bool]:
        conversation = self.conversation_tokens
        if conversation is None:
            return None, False
        low = estimate_cost(self.info, conversation.tokens, 0)
        if low is None:
            return None, False  # price unknown: show nothing rather than $0
        text = format_cost(low)
        if self.max_tokens:
            high = estimate_cost(self.info, conversation.tokens, self.max_tokens)
            if high is not None:
                text += f"–{format_cost(high)}"
        mark = "" if conversation.exact else "~"
        return f"cost {mark}{text}", not conversation.exact

    def _render_reply(self) -> None:
        if not self._reply_seen:
            self._part("reply", None)
            return
        completion, sent = self.completion_tokens, self.reply_prompt_tokens
        pieces = []
        if sent is not None:
            pieces.append(f"in {_mark(sent)}")
        thought = self.reasoning_tokens
        # Reasoning is a part of "out" (and of its cost), shown beside it, never added to it.
        pieces.append(f"out {_mark(completion)}" + (f" ({_mark(thought)} thinking)" if thought else ""))
        if self._tps is not None:
            pieces.append(f"{self._tps:.0f} tok/s")
        if self._ttft is not None:
            pieces.append(f"first token {self._ttft:.2f}s")
        estimate = bool(completion and not completion.exact) or bool(sent and not sent.exact)
        if sent is not None and completion is not None:
            cost = estimate_cost(self.info, sent.tokens, completion.tokens)
            if cost is not None:
                pieces.append(("~" if estimate else "") + format_cost(cost))
        self._part("reply", ("▸ reply: " if self.streaming else "last reply: ") + " · ".join(pieces), estimate=estimate)


__all__ = ["DEBOUNCE", "REDRAW_INTERVAL", "TokenMeter", "format_cost", "short_count"]
