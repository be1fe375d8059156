"""Compare mode: one prompt, 2-4 lanes (models, presets or changed parameters) side by side.

The setup area takes the prompt, up to four lane specs (`temperature=1.4,seed=7`,
`model=gpt-4o-mini`, `preset=NAME`) and a sweep (`temperature=0,0.7,1.4`). F5 sends every lane at
once (`run_compare`: one concurrent `run_reply` per lane, each answer a sibling row under the
same user message); each `LaneColumn` streams its own answer. With a single lane whose settings
have n > 1, one request is sent and its choices become the lanes.

Stopping one lane cancels that lane's task only; the others stream on. Re-running a lane adds a
new sibling answer and points the run's lane at it. Picking a lane records the pick (and, in
blind mode, a note), shows the chat screen's thread ending at that answer, and closes this
screen: the other answers stay as branches. Nothing is thrown away.

Keys live on the screen (run, stop all, setup, close) and on the focused lane (stop, re-run,
widen, pick, diff, probabilities); every binding has an id, so it can be remapped.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any, Callable

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Label, Static, Switch, TextArea

from chat_tui.api.events import Finish, LogprobsDelta, RefusalDelta, TextDelta, ToolCallDelta
from chat_tui.core.compare import MAX_LANES, Lane, LaneError, build_lanes, labelled, similarity, spec_of, word_diff
from chat_tui.core.messages import ChatMessage
from chat_tui.core.params import ParamError
from chat_tui.core.text import error_text, visible_controls
from chat_tui.ui.palette import diff_styles_for
from chat_tui.ui.widgets.footer import ChatFooter
from chat_tui.ui.widgets.lanes import LaneColumn, LaneRow

CSS = "../styles/compare.tcss"
HEADER_REFRESH = 0.25  # seconds: lane headers are redrawn at most 4 times a second
PLACEHOLDERS = (
    "temperature=0.2 (empty rows are skipped)",
    "temperature=1.4,seed=7",
    "model=gpt-4o-mini",
    "preset=NAME,max_tokens=200",
)
_CHOICE_EVENTS = (TextDelta, RefusalDelta, LogprobsDelta, Finish, ToolCallDelta)  # the events that make a choice row


@dataclass(frozen=True)
class CompareStart:
    """Where the comparison's prompt goes: after `parent_id` in `conversation_id` (None: a new
    conversation), with `thread`, the messages so far, as context."""

    conversation_id: int | None = None
    parent_id: int | None = None
    thread: tuple[Any, ...] = ()
    attachments: tuple[Any, ...] = ()  # the chat prompt's pending attachments: every lane gets them


@dataclass(frozen=True)
class CompareResult:
    """What the screen hands back when it closes: the conversation the prompt went to, and the
    picked answer (None: closed without a pick)."""

    conversation_id: int | None
    picked: int | None
    prompt: str = ""


class _LaneTasks(dict):
    """Given to `run_compare` as `lane_tasks`: each lane's task is reported as it is stored, so
    a column is finished the moment its own lane ends, not when the slowest one does."""

    def __init__(self, on_task: Callable[[int, asyncio.Task], None]) -> None:
        super().__init__()
        self._on_task = on_task

    def __setitem__(self, index: int, task: asyncio.Task) -> None:
        super().__setitem__(index, task)
        self._on_task(index, task)

    def update(self, *args: Any, **kw: Any) -> None:  # type: ignore[override]
        for index, task in dict(*args, **kw).items():
            self[index] = task


# -- the screen --------------------------------------------------------------------------------


class CompareScreen(Screen[CompareResult]):
    """Compare mode. Given where the prompt goes (`start`); dismissed with a `CompareResult`."""

    CSS_PATH = CSS
    BINDING_GROUP_TITLE = "Compare"
    BINDINGS = [
        Binding("f5,ctrl+enter", "run", "Run", id="compare.run", priority=True),
        # Screen-wide keys are priority bindings: they act at once wherever the focus is, with no
        # hop through the focused widget and back (docs/performance.md).
        Binding("escape", "stop_all", "Stop all", id="compare.stop_all", priority=True),
        Binding("escape", "close", "Back to chat", id="compare.close", priority=True),
        Binding("f2", "toggle_setup", "Setup", id="compare.toggle_setup", priority=True),
    ]

    def __init__(self, prompt: str | None = None, *, lanes: list[Lane] | None = None,
                 start: CompareStart | None = None) -> None:
        super().__init__()
        start = start or CompareStart()
        self.initial_prompt = prompt or ""
        self.initial_lanes = list(lanes or [])[:MAX_LANES]
        self.conversation_id: int | None = start.conversation_id
        self.parent_id: int | None = start.parent_id  # where the prompt goes in the conversation tree
        self.thread: list[Any] = list(start.thread)  # stored messages up to parent_id
        self.attachments: tuple[Any, ...] = start.attachments  # sent with the prompt to every lane
        self.user_id: int | None = None
        self.user_text: str | None = None
        self.run_id: int | None = None
        self.blind = False  # of the lanes on screen
        self.n_mode = False
        self.messages: list[ChatMessage] = []
        self.columns: list[LaneColumn] = []
        self._tasks: dict[int, asyncio.Task] = {}
        self._similarities: list[tuple[str, str, float]] = []
        self._clock = None  # the lanes' shared FeedClock, made on the first run
        self._summary_stale = False

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        app = self.app
        specs = [spec_of(lane, app.model, app.params, self._presets()) for lane in self.initial_lanes]
        specs += [""] * (MAX_LANES - len(specs))
        yield Static("", id="compare-status", markup=False)
        with Vertical(id="compare-setup"):
            yield TextArea(self.initial_prompt, id="compare-prompt", soft_wrap=True)
            with Grid(id="lane-specs"):
                for i, spec in enumerate(specs):
                    with Horizontal(classes="lane-spec-row"):
                        yield Label(f"lane {i + 1}", classes="lane-spec-label")
                        yield Input(spec, id=f"lane-spec-{i}", compact=True, placeholder=PLACEHOLDERS[i])
            with Horizontal(id="compare-controls"):
                yield Label("sweep", classes="lane-spec-label")
                yield Input("", id="sweep-spec", compact=True, placeholder="temperature=0,0.7,1.4 or seed=1,2,3")
                yield Label("blind", id="blind-label")
                yield Switch(False, id="blind")
                yield Button(f"Run ({self._run_key()})", id="run", compact=True, variant="primary")
        yield Static("", id="compare-summary", markup=False)
        with LaneRow(id="lanes"):
            yield Static(self._hint(), id="lanes-hint", markup=False)
        yield ChatFooter()

    def _run_key(self) -> str:
        """The key that runs the lanes, as the user has mapped it ("F5" by default)."""
        from chat_tui.ui import compat

        key = compat.keymap(self.app).get("compare.run", "f5").split(",")[0].strip()
        return "+".join(part.upper() if len(part) <= 3 else part.capitalize() for part in key.split("+"))

    def _hint(self) -> Text:
        text = Text(f"Type a prompt, give 2–4 lanes (one per row, empty rows are skipped) or a sweep, and press {self._run_key()}.\n\n", style="bold")
        text.append(
            "A lane is the current settings with some changed: temperature=1.4,seed=7 · model=gpt-4o-mini · "
            "preset=NAME (a saved preset, then changes). One lane alone is compared with the current settings; "
            "with n > 1 in the settings, one request's choices become the lanes.\n"
            "Blind mode labels the lanes A/B/C in a shuffled order until you pick one.\n\n"
            "On a lane: s stop · r re-run · w widen · Enter pick and continue the chat from it · "
            "d differences · p token probabilities · ←/→ other lane. Escape stops everything; "
            "when nothing runs it goes back to the chat.",
            style="dim",
        )
        return text

    def on_mount(self) -> None:
        self._ticker = self.set_interval(HEADER_REFRESH, self._tick, pause=True)
        self.update_status()
        self._show_summary()
        prompt = self.query_one("#compare-prompt", TextArea)
        prompt.focus()
        prompt.move_cursor(prompt.document.end)

    async def on_unmount(self) -> None:
        if self._clock is not None:
            await self._clock.stop()

    def _presets(self) -> Callable[[str], dict | None]:
        from chat_tui.services.presets import Presets

        return Presets(self.app.store).params

    def update_status(self) -> None:
        app = self.app
        parts = ["Compare", app.model or "(no model)", app.endpoint.name]
        if self.conversation_id is not None:
            conv = app.store.get_conversation(self.conversation_id)
            if conv and conv.title:
                parts.append(conv.title)
        else:
            parts.append("new conversation")
        if self.thread:
            parts.append(f"{len(self.thread)} earlier messages")
        if self.attachments:
            names = ", ".join(a.label() for a in self.attachments)
            parts.append(f"{len(self.attachments)} attachment{'s' * (len(self.attachments) != 1)}: {names}")
        self.query_one("#compare-status", Static).update(Text(visible_controls(" · ".join(parts))))

    # -- state --------------------------------------------------------------------------------

    def running(self) -> bool:
        """Some lane's request is still going."""
        return any(not task.done() for task in self._tasks.values())

    def _busy(self) -> bool:
        """Running, or a run just started whose requests are not out yet."""
        return self.running() or any(w.group == "compare" and w.is_running for w in self.workers)

    def focused_lane(self) -> LaneColumn | None:
        node = self.focused
        while node is not None and node is not self:
            if isinstance(node, LaneColumn):
                return node
            node = node.parent
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_all":
            return self.running()
        return True

    def _tick(self) -> None:
        for col in self.columns:
            col.refresh_header()
        if self._summary_stale:
            self._show_summary()
        if not self.running() and not any(c.running for c in self.columns):
            self._ticker.pause()

    # -- running ------------------------------------------------------------------------------

    @on(Button.Pressed, "#run")
    @on(Input.Submitted)
    async def _run_pressed(self, event) -> None:
        event.stop()
        await self.action_run()

    async def action_run(self) -> None:
        app = self.app
        if self._busy():
            self.notify("Still running: Escape stops every lane.", severity="warning")
            return
        if not getattr(app, "client_ready", app.client is not None) or app.client is None:
            self.notify("Not connected yet: try again in a moment.", severity="warning")
            return
        text = self.query_one("#compare-prompt", TextArea).text
        if not text.strip():
            self.notify("Type a prompt first.", severity="warning")
            self.query_one("#compare-prompt").focus()
            return
        specs = [self.query_one(f"#lane-spec-{i}", Input).value for i in range(MAX_LANES)]
        try:
            lanes, n_mode = build_lanes(specs, self.query_one("#sweep-spec", Input).value, app.model, app.params, self._presets())
        except (LaneError, ParamError) as exc:
            self.notify(str(exc), title="Lanes", severity="error", markup=False, timeout=8)
            return
        blind = self.query_one("#blind", Switch).value
        from chat_tui.store.errors import StoreError

        try:
            cid, user_id = self._user_message(text)
        except StoreError as exc:
            self.notify(f"{error_text(exc)}. Nothing was sent.", title="Not saved", severity="error", markup=False, timeout=10)
            return
        self.blind = blind
        self.n_mode = n_mode
        self.run_id = None
        self._similarities = []
        if n_mode:
            lane = lanes[0]
            count = min(lane.params.n or 1, MAX_LANES)
            if (lane.params.n or 1) > MAX_LANES:
                self.notify(f"n={lane.params.n}: the first {MAX_LANES} choices are shown; all are saved as branches.", timeout=6)
            shown = [Lane(lane.model, lane.params, label=chr(ord("A") + i) if blind else f"choice {i + 1}", preset=lane.preset) for i in range(count)]
        else:
            if blind:
                random.shuffle(lanes)  # A/B/C must not follow the order the lanes were typed in
            shown = labelled(lanes, blind=blind)
        await self._mount_columns(shown, n_mode=n_mode)
        self._tasks = {}
        if n_mode:
            self.run_worker(self._run_choices(lanes[0], cid, user_id), group="compare", exit_on_error=False)
        else:
            self.run_worker(self._run_lanes(lanes, cid, user_id), group="compare", exit_on_error=False)
        if self.columns:
            self.columns[0].focus()
        self.refresh_bindings()

    def _user_message(self, text: str) -> tuple[int, int]:
        """The user message the lanes answer: the same one again when the prompt is unchanged,
        so a second run adds sibling answers instead of a copy of the question."""
        from chat_tui.services.chat import Settings, start_turn

        app = self.app
        if self.user_id is not None and text == self.user_text and self.conversation_id is not None:
            return self.conversation_id, self.user_id
        new = self.conversation_id is None
        turn = start_turn(app.store, text, Settings(app.model, app.params, app.system_prompt, app.endpoint.name),
                          conversation_id=self.conversation_id, parent_id=self.parent_id, thread=self.thread,
                          attachments=self.attachments)
        self.conversation_id, self.user_id, self.user_text = turn.conversation_id, turn.user_id, text
        self.messages = turn.messages
        if new:
            self.update_status()
        return self.conversation_id, self.user_id

    async def _mount_columns(self, lanes: list[Lane], *, n_mode: bool) -> None:
        app = self.app
        container = self.query_one("#lanes", Horizontal)
        container.remove_class("-widened")
        # Headers line up: one more line for all when any lane shows a logprob summary.
        container.set_class(any(lane.params.logprobs for lane in lanes), "-logprobs")
        await container.remove_children()
        if self._clock is None:
            from chat_tui.ui.streaming import FeedClock

            self._clock = FeedClock()
        self.columns = [
            LaneColumn(i, lane, blind=self.blind, counter=app.counter, overrides=dict(app.config.models),
                       shared_request=n_mode, choice=i if n_mode else 0, clock=self._clock)
            for i, lane in enumerate(lanes)
        ]
        await container.mount_all(self.columns)
        started = time.monotonic()
        for col in self.columns:
            counted = app.counter.try_count_messages(self.messages, col.lane.model) if app.counter else None
            await col.begin(prompt_tokens=counted.tokens if counted else None, started=started)
        self._ticker.resume()
        self._show_summary()

    def _watch(self, columns: list[LaneColumn], index: int, task: asyncio.Task) -> None:
        self._tasks[index] = task
        task.add_done_callback(lambda t: self._lane_done(columns[index], t))

    def _lane_done(self, col: LaneColumn, task: asyncio.Task) -> None:
        """A lane's task ended (done callback: no awaiting here; the column finishes in a task)."""
        result = None
        error = None
        if task.cancelled():
            status = "cancelled"
        elif task.exception() is not None:
            status, error = "error", error_text(task.exception())
        else:
            result = task.result()
            status = result.status
            error = result.error_text
        message_id = None
        if result is not None and col.choice in result.choices:
            message_id = result.choices[col.choice].message_id
        if message_id is None:
            message_id = col.message_id or self._lane_message(col.index)
        col.finishing = asyncio.ensure_future(col.finish(status, error=error, message_id=message_id, result=result))
        # "N running" changes: shown by the next tick, not in a frame of its own (a full-width
        # line redrawn with one lane's answer made every lane's lines be repainted).
        self._summary_stale = True

    def _run_id(self) -> int | None:
        if self.run_id is None:
            from chat_tui.services.compare import latest_run_id

            self.run_id = latest_run_id(self.app.store, self.conversation_id, self.user_id)
        return self.run_id

    def _lane_message(self, index: int) -> int | None:
        from chat_tui.services.compare import lane_message

        return lane_message(self.app.store, self._run_id(), index)

    async def _await_columns(self, columns: list[LaneColumn], status: str = "cancelled") -> None:
        for col in columns:
            if col.finishing is None:
                col.finishing = asyncio.ensure_future(col.finish(status, message_id=col.message_id or self._lane_message(col.index)))
        await asyncio.gather(*(c.finishing for c in columns), return_exceptions=True)

    async def _run_lanes(self, lanes: list[Lane], cid: int, user_id: int) -> None:
        from chat_tui.services.compare import run_compare

        app = self.app
        columns = list(self.columns)
        tasks = _LaneTasks(lambda index, task: self._watch(columns, index, task))

        def on_event(index: int, event: Any) -> None:
            columns[index].on_stream_event(event)

        outcome = None
        failed = False
        try:
            outcome = await run_compare(
                app.client, app.store, app.counter,
                conversation_id=cid, user_message_id=user_id, messages=self.messages, lanes=lanes,
                endpoint_name=app.endpoint.name, blind=self.blind, on_event=on_event,
                wait_for_tokenizer=False, lane_tasks=tasks, toolbox=getattr(app, "toolbox", None),
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # not an API error (those end in the lane): say so, keep the rest
            failed = True
            self.notify(visible_controls(str(exc)), title="Compare failed", severity="error", markup=False)
        finally:
            if outcome is not None:
                self.run_id = outcome.run_id
            else:
                self._run_id()
            await self._await_columns(columns, "error" if failed else "cancelled")
        self._finished()

    async def _run_choices(self, lane: Lane, cid: int, user_id: int) -> None:
        """n > 1: one request; choice i streams into column i. Stopping stops them all."""
        from chat_tui.services.compare import run_choices

        app = self.app
        columns = list(self.columns)
        rows: dict[int, int] = {}  # choice -> its answer row, as each is created

        def on_run(run_id: int) -> None:
            self.run_id = run_id

        def on_row(choice: int, mid: int) -> None:
            rows[choice] = mid
            if choice < len(columns):
                columns[choice].message_id = mid

        def on_event(event: Any) -> None:
            if isinstance(event, _CHOICE_EVENTS):
                if event.index < len(columns):
                    columns[event.index].on_stream_event(event)
            else:
                for col in columns:
                    col.on_stream_event(event)

        task = asyncio.create_task(run_choices(
            app.client, app.store, app.counter,
            conversation_id=cid, user_message_id=user_id, messages=self.messages, lane=lane,
            labels=[c.label for c in columns], endpoint_name=app.endpoint.name, blind=self.blind,
            on_event=on_event, on_run=on_run, on_row=on_row, wait_for_tokenizer=False,
            toolbox=getattr(app, "toolbox", None),
        ))
        for i in range(len(columns)):
            self._tasks[i] = task
        try:
            await _wait_cancelling(task)
        finally:
            result = task.result() if task.done() and not task.cancelled() and task.exception() is None else None
            if result is not None:
                status, error = result.status, result.error_text
            else:
                status = "cancelled" if task.cancelled() else "error"
                error = None if task.cancelled() else error_text(task.exception())
            for i, col in enumerate(columns):
                col.finishing = asyncio.ensure_future(col.finish(status, error=error, message_id=rows.get(i), result=result))
            await asyncio.gather(*(c.finishing for c in columns), return_exceptions=True)
        self._finished()

    def _open(self) -> bool:
        """Still on the screen stack (a closed screen's lanes may still be ending)."""
        return self.is_attached and self in self.app.screen_stack

    def _finished(self) -> None:
        if self.running() or not self._open():
            return
        for col in self.columns:
            col.refresh_header(force=True)
            col.show_scroll_bar()
        self._show_summary()
        self.refresh_bindings()
        self._compute_similarities([c.short_label for c in self.columns], [c.text for c in self.columns])

    @work(thread=True, exclusive=True, group="similarity", exit_on_error=False)
    def _compute_similarities(self, labels: list[str], texts: list[str]) -> None:
        pairs = []
        for i in range(len(texts)):
            for j in range(i + 1, len(texts)):
                if texts[i] and texts[j]:  # a lane with no answer (failed, stopped at once) is left out
                    pairs.append((labels[i], labels[j], similarity(texts[i], texts[j])))
        self.app.call_from_thread(self._set_similarities, pairs)

    def _set_similarities(self, pairs: list[tuple[str, str, float]]) -> None:
        self._similarities = pairs
        self._show_summary()

    def _show_summary(self) -> None:
        self._summary_stale = False
        if not self._open():
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        app = self.app
        if self.columns:
            if self.run_id is not None:
                text.append(f"run #{self.run_id} · ", style="bold")
            text.append(("one request, " if self.n_mode else "") + f"{len(self.columns)} lanes")
            if self.blind:
                text.append(" · blind")
            streaming = sum(1 for c in self.columns if c.running)
            if streaming or self.running():
                text.append(f" · {streaming} running · Escape stops all, s the focused lane")
            if self._similarities:
                text.append(" · similarity ")
                text.append(" · ".join(f"{visible_controls(a)}–{visible_controls(b)} {s:.2f}" for a, b, s in self._similarities))
        wins = app.store.preset_wins()
        if wins:
            text.append(" · " if text.plain else "")
            text.append("preset wins: " + ", ".join(f"{visible_controls(name)} {count}" for name, count in sorted(wins.items(), key=lambda kv: -kv[1])), style="dim")
        summary = self.query_one("#compare-summary", Static)
        summary.update(text, layout=False)

    # -- lane actions -------------------------------------------------------------------------

    def _lane_or_warn(self) -> LaneColumn | None:
        col = self.focused_lane()
        if col is None:
            if self.columns:
                self.notify("Focus a lane first (Tab, or click it).", severity="warning", timeout=3)
            else:
                self.notify(f"Nothing to act on yet: run a comparison ({self._run_key()}).", severity="warning", timeout=3)
        return col

    def action_stop_lane(self) -> None:
        col = self._lane_or_warn()
        if col is None:
            return
        task = self._tasks.get(col.index)
        if task is None or task.done():
            return
        if self.n_mode:
            self.notify("The choices share one request: all of them stop.", timeout=3)
        task.cancel()

    def action_stop_all(self) -> None:
        for task in set(self._tasks.values()):
            if not task.done():
                task.cancel()

    async def action_close(self) -> None:
        self.action_stop_all()
        self.dismiss(CompareResult(self.conversation_id, None))

    def action_toggle_setup(self) -> None:
        setup = self.query_one("#compare-setup")
        setup.display = not setup.display

    def action_rerun_lane(self) -> None:
        col = self._lane_or_warn()
        if col is None:
            return
        if col.running or (col.finishing is not None and not col.finishing.done()):
            self.notify("This lane is still running: s stops it first.", severity="warning", timeout=3)
            return
        if self.user_id is None or self._run_id() is None:
            return
        self.run_worker(self._rerun(col), group="compare", exit_on_error=False)

    async def _rerun(self, col: LaneColumn) -> None:
        """A new answer for one lane: a new sibling row; the run's lane now points at it."""
        from chat_tui.services.compare import rerun_lane

        app = self.app
        index = col.index
        if self.n_mode:  # a choice re-run is one answer of its own
            col.shared_request = False
            col.choice = 0
        counted = app.counter.try_count_messages(self.messages, col.lane.model) if app.counter else None
        await col.begin(prompt_tokens=counted.tokens if counted else None)
        self._ticker.resume()
        self._show_summary()

        def on_row(mid: int) -> None:
            col.message_id = mid

        task = asyncio.create_task(rerun_lane(
            app.client, app.store, app.counter,
            run_id=self.run_id, lane_index=index, conversation_id=self.conversation_id,
            user_message_id=self.user_id, messages=self.messages, lane=col.lane,
            endpoint_name=app.endpoint.name, on_event=col.on_stream_event, on_row=on_row,
            wait_for_tokenizer=False, toolbox=getattr(app, "toolbox", None),
        ))
        self._tasks[index] = task
        task.add_done_callback(lambda t: self._lane_done(col, t))
        await _wait_cancelling(task)
        await self._await_columns([col])
        self._finished()

    def action_widen(self) -> None:
        col = self._lane_or_warn()
        if col is None:
            return
        container = self.query_one("#lanes")
        wide = not col.has_class("-wide") or not container.has_class("-widened")
        for c in self.columns:
            c.set_class(wide and c is col, "-wide")
        container.set_class(wide, "-widened")
        col.focus()

    def action_focus_lane(self, step: int) -> None:
        col = self.focused_lane()
        if col is None or not self.columns:
            return
        target = self.columns[(self.columns.index(col) + step) % len(self.columns)]
        container = self.query_one("#lanes")
        if container.has_class("-widened"):
            for c in self.columns:
                c.set_class(c is target, "-wide")
        target.focus()

    def action_pick(self) -> None:
        col = self._lane_or_warn()
        if col is None:
            return
        if self.running():
            self.notify("Still streaming: wait, or stop the lanes (Escape), then pick.", severity="warning", timeout=4)
            return
        if col.message_id is None or (col.status == "error" and not col.text):
            self.notify("This lane has no answer to continue from: re-run it (r) or pick another.", severity="warning", timeout=4)
            return
        if self.blind:
            def noted(note: str | None) -> None:
                if note is not None:
                    self.run_worker(self._pick(col, note.strip() or None), group="pick", exit_on_error=False)

            self.app.push_screen(NoteScreen(col.label), noted)
        else:
            self.run_worker(self._pick(col, None), group="pick", exit_on_error=False)

    async def _pick(self, col: LaneColumn, note: str | None) -> None:
        """Store the pick and close: the chat continues from the picked answer."""
        from chat_tui.services.compare import pick

        app = self.app
        mid = col.message_id
        if mid is not None:
            pick(app.store, self._run_id(), mid, note)
        if self.blind:
            lane = col.lane
            changed = ", ".join(f"{k}={v}" for k, v in lane.params.as_dict().items()) or "current settings"
            who = f"preset {lane.preset}" if lane.preset else changed
            app.notify(f"You picked {col.label}: {lane.model} · {who}", title="Blind pick", markup=False, timeout=8)
        self.dismiss(CompareResult(self.conversation_id, mid, self.user_text or ""))

    def action_diff(self) -> None:
        col = self._lane_or_warn()
        if col is None:
            return
        if len(self.columns) < 2:
            return
        other = col.index if col.index != 0 else 1
        self.app.push_screen(DiffScreen([c.short_label for c in self.columns], [c.text for c in self.columns], other))

    def action_probabilities(self) -> None:
        col = self._lane_or_warn()
        if col is None:
            return
        if not col.logprobs:
            hint = "set logprobs=true,top_logprobs=5 in its lane spec" if not col.want_logprobs else "none arrived yet"
            self.notify(f"This lane has no token log-probabilities: {hint}.", severity="warning", timeout=5)
            return
        from chat_tui.ui.widgets.probability import ProbabilityScreen

        name = col.title if self.n_mode and not self.blind else f"lane {col.title}"
        title = f"Token probabilities · {name}" + ("" if self.blind else f" · {col.lane.model}")
        summary = col.stats.logprob_summary()
        self.app.push_screen(ProbabilityScreen(list(col.logprobs), title=title, summary=f"{len(col.logprobs)} tokens · {summary}" if summary else None))


# -- dialogs -----------------------------------------------------------------------------------


class NoteScreen(ModalScreen[str | None]):
    """Blind pick: an optional note. Enter stores it (empty is fine), Escape cancels the pick."""

    CSS_PATH = CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="compare_note.cancel")]

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="note-dialog"):
            yield Static(Text(f"Pick {visible_controls(self.label)}: a note on why (optional). Enter stores the pick, Escape cancels."), markup=False)
            yield Input(id="pick-note", placeholder="e.g. clearer, fewer mistakes")

    def on_mount(self) -> None:
        self.query_one("#pick-note", Input).focus()

    @on(Input.Submitted, "#pick-note")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


def diff_text(ops: list[tuple[str, str]], deleted: Style, inserted: Style) -> Text:
    text = Text()
    for op, chunk in ops:
        shown = visible_controls(chunk)
        if op == "delete":
            text.append(shown, style=deleted)
        elif op == "insert":
            text.append(shown, style=inserted)
        else:
            text.append(shown)
    return text


class DiffScreen(ModalScreen[None]):
    """Word-level differences of lane 1 and another lane, and the similarity of every pair."""

    CSS_PATH = CSS
    BINDINGS = [
        Binding("escape,q", "close", "Close", id="compare_diff.close"),
        Binding("left", "other(-1)", "Prev lane", id="compare_diff.prev"),
        Binding("right", "other(1)", "Next lane", id="compare_diff.next"),
    ]

    def __init__(self, labels: list[str], texts: list[str], other: int = 1) -> None:
        super().__init__()
        self.labels = labels
        self.texts = texts
        self.other = max(1, min(len(texts) - 1, other))

    def compose(self) -> ComposeResult:
        with Vertical(id="diff-dialog"):
            yield Static("", id="diff-title", markup=False)
            with VerticalScroll(id="diff-scroll"):
                yield Static(Text("comparing…", style="dim"), id="diff-text", markup=False)
            yield Static("", id="diff-pairs", markup=False)
            yield Static(Text("←/→ compare the first lane with another one · Escape closes", style="dim"), id="diff-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#diff-scroll").focus()
        self._compute(self.other)

    def _styles(self) -> tuple[Style, Style]:
        styles = diff_styles_for(self.app)
        return styles.deleted, styles.inserted

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False)
    def _compute(self, other: int) -> None:
        # word_diff is quadratic in the worst case: off the event loop.
        ops = word_diff(self.texts[0], self.texts[other])
        texts = self.texts
        pairs = [
            (self.labels[i], self.labels[j], similarity(texts[i], texts[j]))
            for i in range(len(texts)) for j in range(i + 1, len(texts)) if texts[i] and texts[j]
        ]
        self.app.call_from_thread(self._show, other, ops, pairs)

    def _show(self, other: int, ops: list[tuple[str, str]], pairs: list[tuple[str, str, float]]) -> None:
        if other != self.other:
            return
        deleted, inserted = self._styles()
        a, b = visible_controls(self.labels[0]), visible_controls(self.labels[other])
        sim = next((s for x, y, s in pairs if x == self.labels[0] and y == self.labels[other]), None)
        title = Text(f"Differences: lane {a} → lane {b}", style="bold")
        if sim is not None:
            title.append(f" · similarity {sim:.2f}")
        title.append("   ")
        title.append(f"only in {a}", style=deleted)
        title.append("  ")
        title.append(f"only in {b}", style=inserted)
        self.query_one("#diff-title", Static).update(title)
        self.query_one("#diff-text", Static).update(diff_text(ops, deleted, inserted))
        table = Text("similarity of each pair: ", style="dim")
        table.append("  ·  ".join(f"{visible_controls(x)}–{visible_controls(y)} {s:.2f}" for x, y, s in pairs))
        self.query_one("#diff-pairs", Static).update(table)

    def action_other(self, step: int) -> None:
        if len(self.texts) < 3:
            return
        self.other = 1 + (self.other - 1 + step) % (len(self.texts) - 1)
        self.query_one("#diff-text", Static).update(Text("comparing…", style="dim"))
        self._compute(self.other)

    def action_close(self) -> None:
        self.dismiss(None)


async def _wait_cancelling(task: asyncio.Task) -> None:
    """Wait for a lane's task; if we are cancelled meanwhile, cancel it too and let it finish
    (its row ends `cancelled`) before passing the cancellation on."""
    try:
        await asyncio.wait({task})
    except asyncio.CancelledError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise
