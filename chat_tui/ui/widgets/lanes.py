"""One column of compare mode: a lane's header (label, model, live stats) and its streamed answer.

The screen owns the requests; a `LaneColumn` is only told what happened: `begin()` when its
request goes out, `on_stream_event()` for every event (cheap: text is queued for a
`MarkdownFeeder`, counters are bumped), `refresh_header()` from the screen's timer (at most a few
times a second, and only when something changed), and `finish()` when the lane ends. The header
has a fixed height and is updated with `layout=False`, so live stats never re-lay-out the screen.

Everything shown comes from the model or the user: it is rendered as `rich.text.Text` with
control characters made visible, never as markup.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from chat_tui.api.events import (
    Finish,
    LogprobsDelta,
    Meta,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    Timing,
    TokenLogprob,
    ToolCallDelta,
    Usage,
)
from chat_tui.core.compare import LOW_CONFIDENCE, Lane, LogprobSummary
from chat_tui.core.models_table import estimate_cost, model_info
from chat_tui.core.text import visible_controls
from chat_tui.core.tokens import CHARS_PER_TOKEN, COUNT_AT_ONCE
from chat_tui.ui.compat import one_layout_per_resize
from chat_tui.ui.widgets.conversation import Caption
from chat_tui.core.tool_calls import CallAssembler, json_fence, pretty_arguments
from chat_tui.ui.widgets.markdown_view import MarkdownScroll

if TYPE_CHECKING:
    from chat_tui.core.tokens import TokenCounter
    from chat_tui.ui.streaming import FeedClock, MarkdownFeeder

STATUS_MARK = {"waiting": "…", "streaming": "●", "complete": "✓", "cancelled": "■", "error": "✗"}


@dataclass
class LaneStats:
    """What a lane's header shows; updated from stream events, shown by `header_lines`."""

    model: str
    started: float = 0.0
    first_at: float | None = None  # monotonic time of the first text
    chunks: int = 0
    tokens_local: int = 0  # counted from the text so far (an estimate until the server's usage)
    tokens_final_local: int | None = None  # tiktoken count of the whole answer, at the end
    tokens_exact: bool = False
    tokens_server: int | None = None
    prompt_local: int | None = None
    prompt_server: int | None = None
    ttft: float | None = None  # the client's, at the end
    total: float | None = None
    tokens_per_second: float | None = None
    finish_reason: str | None = None
    fingerprint: str | None = None
    status: str = "waiting"
    error: str | None = None
    lp_count: int = 0
    lp_sum: float = 0.0
    lp_low: int = 0
    # Reasoning the server streams: a part of the tokens above, shown beside them.
    reasoning_local: int = 0
    reasoning_final_local: int | None = None
    reasoning_server: int | None = None
    thought_from: float | None = None  # monotonic: the first reasoning text
    thought_until: float | None = None  # the first answer text after it, or the end

    def reasoning_tokens(self) -> tuple[int | None, bool]:
        """(tokens spent thinking, approximate?), None when the lane showed no reasoning."""
        if self.reasoning_server:
            return self.reasoning_server, False
        if self.reasoning_final_local is not None:
            return self.reasoning_final_local, not self.tokens_exact
        return (self.reasoning_local or None), True

    def thinking_seconds(self, now: float | None = None) -> float | None:
        if self.thought_from is None:
            return None
        end = self.thought_until if self.thought_until is not None else (now if now is not None else time.monotonic())
        return end - self.thought_from

    def completion_tokens(self) -> tuple[int | None, bool]:
        """(tokens, approximate?) — the server's count when it sent one."""
        if self.tokens_server is not None:
            return self.tokens_server, False
        if self.tokens_final_local is not None:
            return self.tokens_final_local, not self.tokens_exact
        return (self.tokens_local or None), True

    def live_ttft(self) -> float | None:
        if self.ttft is not None:
            return self.ttft
        return self.first_at - self.started if self.first_at is not None else None

    def rate(self, now: float | None = None) -> float | None:
        if self.tokens_per_second is not None:
            return self.tokens_per_second
        tokens, _ = self.completion_tokens()
        if not tokens:
            return None
        if self.total is not None and self.ttft is not None and self.total > self.ttft:
            return tokens / (self.total - self.ttft)
        if self.first_at is None:
            return None
        elapsed = (now if now is not None else time.monotonic()) - self.first_at
        return tokens / elapsed if elapsed > 0.05 else None

    def cost(self, overrides: dict[str, Any] | None, *, include_prompt: bool = True) -> float | None:
        tokens, _ = self.completion_tokens()
        prompt = self.prompt_server if self.prompt_server is not None else self.prompt_local
        if prompt is None and include_prompt:
            return None
        return estimate_cost(model_info(self.model, overrides), (prompt or 0) if include_prompt else 0, tokens or 0)

    def logprob_summary(self) -> LogprobSummary | None:
        if not self.lp_count:
            return None
        return LogprobSummary(self.lp_count, self.lp_sum / self.lp_count, self.lp_low / self.lp_count)


def calls_markdown(calls) -> str:
    """A lane's tool calls, after its text: compare shows them and runs none (see
    services/compare.py); the chat runs them when the lane is picked."""
    parts = ["\n\n---\n\n**Tool calls**, not run here: pick this lane (Enter) to approve and run them in the chat.\n"]
    for call in calls:
        parts.append(f"\n⚙ `{call.name}`\n\n{json_fence(pretty_arguments(call.arguments))}")
    return "".join(parts)


def _money(cost: float) -> str:
    return f"${cost:.4f}" if cost >= 0.01 else f"${cost:.5f}"


def header_lines(stats: LaneStats, label: str, *, blind: bool, overrides: dict[str, Any] | None,
                 want_logprobs: bool, shared_request: bool = False, now: float | None = None) -> Text:
    """The lane's header, fixed lines: label · model; timing, tokens and cost; status, finish
    reason and system_fingerprint; the logprob summary when log-probabilities were asked for.

    Blind lanes show neither model nor cost nor fingerprint (they would give the lane away)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{STATUS_MARK.get(stats.status, '?')} ", style="bold")
    text.append(visible_controls(label), style="bold")
    if not blind:
        text.append(" · " + visible_controls(stats.model))
    bits = []
    ttft = stats.live_ttft()
    if ttft is not None:
        bits.append(f"first {ttft:.2f}s")
    rate = stats.rate(now)
    if rate:
        bits.append(f"{rate:.0f} tok/s")
    tokens, approx = stats.completion_tokens()
    if tokens is not None and (tokens or stats.status == "complete"):
        thought, thought_approx = stats.reasoning_tokens()
        seconds = stats.thinking_seconds(now)
        of_which = ""
        if thought or seconds is not None:  # a part of the tokens, never added to them
            of_which = f" ({'~' if thought_approx else ''}{thought or 0} thinking" + (
                f", {seconds:.1f}s)" if seconds is not None else ")")
        bits.append(f"{'~' if approx else ''}{tokens} tok{of_which}")
    if not blind:
        cost = stats.cost(overrides, include_prompt=not shared_request)
        if cost is not None:
            bits.append(("~" if approx else "") + _money(cost))
    idle = "waiting for the first token…" if stats.status in ("waiting", "streaming") else "no answer"
    text.append("\n" + (" · ".join(bits) if bits else idle))
    text.append("\n" + stats.status, style="italic")
    if stats.finish_reason:
        text.append(" · finish " + visible_controls(stats.finish_reason))
    if stats.fingerprint and not blind:
        text.append(" · " + visible_controls(stats.fingerprint), style="dim")
    if want_logprobs:
        summary = stats.logprob_summary()
        text.append("\n" + (str(summary) if summary else "logprobs: none yet"), style="dim")
    return text


@one_layout_per_resize
class LaneRow(Horizontal):
    """The lanes side by side. F2 (the setup area) resizes it: one layout, not two."""


@one_layout_per_resize
class LaneColumn(Vertical, can_focus=True):
    """A lane: header + answer. Keys act on the focused lane (the screen carries them out)."""

    BINDING_GROUP_TITLE = "Compare lane"
    BINDINGS = [
        Binding("s", "screen.stop_lane", "Stop lane", id="lane.stop"),
        Binding("r", "screen.rerun_lane", "Re-run", id="lane.rerun"),
        Binding("w", "screen.widen", "Widen", id="lane.widen"),
        Binding("enter", "screen.pick", "Pick", id="lane.pick"),
        Binding("d", "screen.diff", "Diff", id="lane.diff"),
        Binding("p", "screen.probabilities", "Probabilities", id="lane.probabilities"),
        Binding("left", "screen.focus_lane(-1)", "Prev lane", id="lane.prev", show=False),
        Binding("right", "screen.focus_lane(1)", "Next lane", id="lane.next", show=False),
        Binding("up", "scroll_body('up')", "Scroll up", id="lane.scroll_up", show=False),
        Binding("down", "scroll_body('down')", "Scroll down", id="lane.scroll_down", show=False),
        Binding("pageup", "scroll_body('page_up')", "Page up", id="lane.page_up", show=False),
        Binding("pagedown", "scroll_body('page_down')", "Page down", id="lane.page_down", show=False),
        Binding("home", "scroll_body('home')", "Top", id="lane.top", show=False),
        Binding("end", "scroll_body('end')", "Bottom", id="lane.bottom", show=False),
    ]

    def __init__(
        self,
        index: int,
        lane: Lane,
        *,
        blind: bool = False,
        counter: "TokenCounter | None" = None,
        overrides: dict[str, Any] | None = None,
        shared_request: bool = False,
        choice: int = 0,
        clock: "FeedClock | None" = None,
    ) -> None:
        super().__init__(classes="lane-column", id=f"lane-{index}")
        self.clock = clock  # shared by the lanes of a screen: one layout per beat for all
        self.index = index
        self.lane = lane
        self.blind = blind
        self.counter = counter
        self.overrides = overrides or {}
        self.shared_request = shared_request  # n > 1: every lane is a choice of one request
        self.choice = choice  # which choice of its request this column shows
        self.numbered = not shared_request  # "choice 2" needs no lane number in front
        self.want_logprobs = bool(lane.params.logprobs)
        self.stats = LaneStats(model=lane.model)
        self.message_id: int | None = None
        self.logprobs: list[TokenLogprob] = []
        self._parts: list[str] = []
        self._uncounted: list[str] = []
        self._uncounted_chunks = 0
        self._unthought: list[str] = []  # reasoning not counted yet
        self._dirty = True
        self._feeder: MarkdownFeeder | None = None
        self._calls = CallAssembler()  # the tool calls of this lane's answer, shown at its end
        self.finishing: Any = None  # the task running finish(), set by the screen
        self._view = MarkdownScroll(classes="lane-answer")  # the answer; replaced by a re-run
        self.set_class(self.want_logprobs, "-logprobs")

    # -- layout -------------------------------------------------------------------------------

    def compose(self):
        yield Caption(self._header(), classes=f"lane-header -{self.stats.status}", markup=False)
        yield Static("", classes="lane-error", markup=False)
        yield self._view

    def on_mount(self) -> None:
        self.query_one(".lane-error").display = False

    @property
    def label(self) -> str:
        return self.lane.label

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def status(self) -> str:
        return self.stats.status

    @property
    def running(self) -> bool:
        return self.stats.status in ("waiting", "streaming")

    @property
    def answer_view(self) -> MarkdownScroll:
        return self._view

    def _set_status(self, status: str) -> None:
        self.stats.status = status
        self._dirty = True
        if self._on_screen():
            # The status colours the header only: restyling just the header keeps the rest of
            # the lane (its answer above all) from being repainted.
            self.query_one(".lane-header", Static).set_classes(f"lane-header -{status}")

    @property
    def short_label(self) -> str:
        """A/B/C in blind mode, else the lane's number."""
        return self.lane.label if self.blind else str(self.index + 1)

    @property
    def title(self) -> str:
        """The header's name for the lane: A/B/C (blind), "choice 2" (n > 1), else its number and
        what differs (the first lane's label is its model when only the others change something)."""
        if self.blind or self.numbered is False:
            return self.label
        return f"{self.index + 1}" + (f" {self.label}" if self.label and self.label != self.lane.model else "")

    def _header(self) -> Text:
        return header_lines(self.stats, self.title, blind=self.blind, overrides=self.overrides,
                            want_logprobs=self.want_logprobs, shared_request=self.shared_request)

    # -- a run --------------------------------------------------------------------------------

    async def begin(self, *, prompt_tokens: int | None = None, started: float | None = None) -> None:
        """A new request for this lane: clear the answer, start the feeder and the clock."""
        from chat_tui.ui.streaming import GROWTH, MarkdownFeeder

        if self._feeder is not None:
            await self._feeder.close()
        if self._parts:  # a re-run: a fresh view (the old answer is kept in the database)
            old, self._view = self._view, MarkdownScroll(classes="lane-answer")
            await self.mount(self._view, after=old)
            await old.remove()
        self._parts = []
        self._calls = CallAssembler()
        self._uncounted = []
        self._uncounted_chunks = 0
        self._unthought = []
        self.logprobs = []
        self.message_id = None
        self.finishing = None
        self.stats = LaneStats(model=self.lane.model, started=started or time.monotonic(), prompt_local=prompt_tokens)
        error = self.query_one(".lane-error", Static)
        error.display = False
        self._set_status("waiting")
        view = self.answer_view
        self._feeder = MarkdownFeeder(view, clock=self.clock, growth=GROWTH)
        view.anchor()  # follows the end as text arrives, until the user scrolls up
        view.add_class("-streaming")
        self.refresh_header(force=True)

    def on_stream_event(self, event: Any) -> None:
        """Called for every event of this lane's request: no layout work here."""
        stats = self.stats
        if isinstance(event, TextDelta):
            if event.index != self.choice or not event.text:
                return
            if stats.first_at is None:
                stats.first_at = time.monotonic()
                self._set_status("streaming")
            if stats.thought_from is not None and stats.thought_until is None:
                stats.thought_until = time.monotonic()
            self._parts.append(event.text)
            self._uncounted.append(event.text)
            self._uncounted_chunks += 1
            stats.chunks += 1
            if self._feeder is not None:
                self._feeder.write(event.text)
        elif isinstance(event, ReasoningDelta):
            # Counted (the lane's tokens include it), not shown: a lane's answer has the room.
            if event.index != self.choice or not event.text:
                return
            if stats.first_at is None:
                stats.first_at = time.monotonic()
                self._set_status("streaming")
            if stats.thought_from is None:
                stats.thought_from = time.monotonic()
            self._unthought.append(event.text)
            stats.chunks += 1
        elif isinstance(event, RefusalDelta):
            if event.index == self.choice and self._feeder is not None:
                self._feeder.write(event.text)
                self._parts.append(event.text)
        elif isinstance(event, ToolCallDelta):
            if event.index != self.choice:
                return
            if stats.first_at is None:
                stats.first_at = time.monotonic()
                self._set_status("streaming")
            self._calls.feed(event.calls)
        elif isinstance(event, LogprobsDelta):
            if event.index != self.choice:
                return
            self.logprobs.extend(event.content)
            for item in event.content:
                lp = item.logprob
                if isinstance(lp, (int, float)) and math.isfinite(lp):
                    stats.lp_count += 1
                    stats.lp_sum += lp
                    stats.lp_low += math.exp(lp) < LOW_CONFIDENCE
        elif isinstance(event, Finish):
            if event.index == self.choice:
                stats.finish_reason = event.reason
                if self._feeder is not None:
                    self._feeder.ending()
        elif isinstance(event, Usage):
            stats.prompt_server = event.prompt_tokens
            if not self.shared_request:
                stats.tokens_server = event.completion_tokens
                stats.reasoning_server = event.reasoning_tokens
        elif isinstance(event, Meta):
            stats.fingerprint = event.system_fingerprint or stats.fingerprint
        elif isinstance(event, Timing):
            stats.ttft = event.ttft
            stats.total = event.total
            if not self.shared_request:
                stats.tokens_per_second = event.tokens_per_second
        else:
            return
        self._dirty = True

    def _count_pending(self) -> None:
        if self._unthought:
            pending = "".join(self._unthought)
            self._unthought = []
            counted = self.counter.try_count_text(pending, self.lane.model) if self.counter and len(pending) <= COUNT_AT_ONCE else None
            tokens = counted.tokens if counted is not None else math.ceil(len(pending) / CHARS_PER_TOKEN)
            self.stats.reasoning_local += tokens
            self.stats.tokens_local += tokens
        if not self._uncounted:
            return
        pending = "".join(self._uncounted)
        if len(pending) > COUNT_AT_ONCE:  # a burst: estimated until the final count
            self.stats.tokens_local += math.ceil(len(pending) / CHARS_PER_TOKEN)
        else:
            counted = self.counter.try_count_text(pending, self.lane.model) if self.counter else None
            # No tokenizer yet: a chunk is usually one token.
            self.stats.tokens_local += counted.tokens if counted is not None else self._uncounted_chunks
        self._uncounted = []
        self._uncounted_chunks = 0

    def refresh_header(self, *, force: bool = False) -> None:
        """Redraw the header if anything changed (called a few times a second, not per token)."""
        if not (self._dirty or force or self.stats.status == "streaming"):
            return
        self._dirty = False
        self._count_pending()
        if self._on_screen():
            self.query_one(".lane-header", Static).update(self._header(), layout=False)

    def _on_screen(self) -> bool:
        """Mounted and not being torn down (a closed screen's columns may still get events)."""
        return self.is_attached and bool(self.query(".lane-header"))

    async def finish(self, status: str, *, error: str | None = None, message_id: int | None = None,
                     result: Any = None) -> None:
        """The lane ended: write the last text at once, show the final stats and status."""
        feeder, self._feeder = self._feeder, None
        if feeder is not None:
            await feeder.close()
        if self._calls and self._on_screen():  # after the text: calls and text may interleave
            await self._view.append(calls_markdown(self._calls.calls()))
        stats = self.stats
        if stats.thought_from is not None and stats.thought_until is None:
            stats.thought_until = time.monotonic()  # it thought until the end
        if message_id is not None:
            self.message_id = message_id
        if result is not None:
            local = result.completion_tokens_local.get(self.choice)
            if local is not None:
                stats.tokens_final_local = local
                stats.tokens_exact = bool(result.tokens_exact)
            stats.reasoning_final_local = result.reasoning_tokens_local.get(self.choice)
            if result.prompt_tokens_local is not None:
                stats.prompt_local = result.prompt_tokens_local
            if stats.total is None and result.timing is not None:
                stats.ttft = result.timing.ttft
                stats.total = result.timing.total
        elif stats.total is None:
            now = time.monotonic()
            stats.total = now - stats.started
            stats.ttft = stats.live_ttft()
        if error:
            stats.error = error
            self.show_error(error)
        self._set_status(status)
        self.refresh_header(force=True)

    def show_scroll_bar(self) -> None:
        """The answer is complete (and so are the others): its scroll bar may show. Done for all
        lanes at once, in one frame, by the screen."""
        self._view.remove_class("-streaming")

    def show_error(self, message: str) -> None:
        if not self._on_screen():
            return
        box = self.query_one(".lane-error", Static)
        box.update(Text(visible_controls(message)))
        box.display = True

    def action_scroll_body(self, how: str) -> None:
        view = self.answer_view
        if how == "end":
            view.anchor()  # and follow the end again
            return
        {
            "up": view.scroll_up,
            "down": view.scroll_down,
            "page_up": view.scroll_page_up,
            "page_down": view.scroll_page_down,
            "home": view.scroll_home,
        }[how](animate=False)
