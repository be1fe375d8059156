"""The tool loop, shared by the CLI and the TUI (no UI code here): the model calls tools → each
call is approved (or not) → the tool runs through its `ToolProvider` → its result is saved as a
`tool` message and goes back → the model continues, until it answers without calling a tool.

`Toolbox` holds the providers (MCP servers, in-process functions in tests) and which of their
tools are turned off; a request offers the tools that are on and that its parameters choose
(`ChatParams.tools`). `run_turn` is the loop. It does not display anything: it is given `reply`,
which runs one request and records it (the TUI's streams into a view, the CLI's prints), and
`ask`, which decides about a call that is not trusted (the TUI asks the user; `ask` on the CLI
allows the tools named with `--tool` and declines the rest with a reason).

What is saved, in the conversation tree: the assistant row with its `tool_calls` (written by
`run_request`), then one `tool` row per call (`tool_call_id`, the tool's name in `name`, status
`error` when the outcome is an error), then the next assistant row, and so on; each is the
parent of the next. Cancelling (Escape) at any step keeps every row already written; a call
that had not run by then has no result, and `core.tool_calls.paired` leaves it out of later
requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from chat_tui.core.messages import ChatMessage, ToolCall
from chat_tui.core.params import ChatParams
from chat_tui.core.text import clean_text, error_text
from chat_tui.core.tool_calls import ALWAYS, APPROVE, DECLINED, DENY, Approvals, parse_arguments
from chat_tui.core.tools import ToolOutcome, ToolProvider, ToolSpec, ToolSwitches
from chat_tui.services.persist import patiently
from chat_tui.store.errors import StoreError

if TYPE_CHECKING:
    from chat_tui.services.replies import ReplyResult
    from chat_tui.store import Store

MAX_ROUNDS = 10  # rounds of tool calls run in one turn, unless `[tools] max_rounds` says otherwise


@dataclass(frozen=True)
class Offered:
    """A tool on offer and the provider that runs it."""

    spec: ToolSpec
    provider: ToolProvider


class Toolbox:
    """Every tool the app (or one CLI run) can offer: its providers' tools, minus those turned
    off: by wire name (`set_enabled`, `disabled`), and the open conversation's `switches` (whole
    providers, by name, and their tools). A provider that is off is not even asked for its tools
    (an MCP server is not started for a request that cannot use it). One provider failing to
    list its tools does not take the others with it: what went wrong is in `problems` after
    each listing."""

    def __init__(self, providers: Iterable[ToolProvider] = ()) -> None:
        self.providers: list[ToolProvider] = list(providers)
        self.disabled: set[str] = set()
        self.switches = ToolSwitches()
        self.problems: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.providers)

    def set_enabled(self, name: str, enabled: bool) -> None:
        (self.disabled.discard if enabled else self.disabled.add)(name)

    def provider_on(self, provider: ToolProvider) -> bool:
        return self.switches.source_on(_source(provider))

    def is_on(self, offered: Offered) -> bool:
        return offered.spec.name not in self.disabled and self.switches.tool_on(_source(offered.provider),
                                                                                 offered.spec.name)

    async def available(self, *, providers_off: bool = True) -> list[Offered]:
        """Every provider's tools, on or off, in provider order (without `providers_off`, only
        the providers switched on are asked); a name two providers share goes to the first
        (the second is in `problems`)."""
        problems: list[str] = []
        asked = [p for p in self.providers if providers_off or self.provider_on(p)]
        listed = await asyncio.gather(*(p.list_tools() for p in asked), return_exceptions=True)
        out: dict[str, Offered] = {}
        for provider, specs in zip(asked, listed):
            if isinstance(specs, asyncio.CancelledError):
                raise specs
            if isinstance(specs, BaseException):
                problems.append(f"{_source(provider)}: could not list its tools: {error_text(specs)}")
                continue
            for spec in specs:
                if spec.name in out:
                    problems.append(f"{spec.source or _source(provider)}: a second tool named {spec.name!r} is left out")
                else:
                    out[spec.name] = Offered(spec, provider)
        self.problems = problems
        return list(out.values())

    async def offered(self, params: ChatParams) -> list[Offered]:
        """The tools a request with `params` offers: on, and chosen by `params.tools`."""
        on = [o for o in await self.available(providers_off=False) if self.is_on(o)]
        chosen = set(params.tool_names([o.spec.name for o in on]))
        return [o for o in on if o.spec.name in chosen]

    async def known_offered(self, params: ChatParams) -> tuple[list[Offered], bool]:
        """What a request with `params` would offer, found without starting anything (for a
        token count): a provider that would have to start first (an MCP server not running) is
        left out, and then `complete` is False."""
        ready: list[ToolProvider] = []
        complete = True
        for provider in self.providers:
            if not self.provider_on(provider):
                continue
            state = getattr(provider, "state", None)
            if state is None or state == "running":
                ready.append(provider)
            elif state != "crashed":  # a crashed server offers nothing until restarted
                complete = False
        box = Toolbox(ready)
        box.disabled, box.switches = self.disabled, self.switches
        return await box.offered(params), complete

    async def run(self, offered: Offered | None, call: ToolCall) -> ToolOutcome:
        """Run one call. Whatever goes wrong (no such tool, arguments that are not a JSON object,
        the tool raising) is an error outcome for the model to read, never an exception;
        cancelling is passed on."""
        if offered is None:
            return ToolOutcome(f"Not run: there is no tool named {call.name!r} on offer.", is_error=True)
        arguments, problem = parse_arguments(call.arguments)
        if problem is not None:
            return ToolOutcome(f"Not run: {problem}.", is_error=True)
        try:
            outcome = await offered.provider.call(offered.spec, arguments)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a tool's failure goes back to the model
            return ToolOutcome(f"The tool failed: {error_text(exc)}", is_error=True)
        if not isinstance(outcome, ToolOutcome) or not isinstance(outcome.text, str):
            return ToolOutcome(f"The tool gave no text result ({type(outcome).__name__}).", is_error=True)
        return ToolOutcome(clean_text(outcome.text), outcome.is_error)


def load_switches(store: Store, conversation_id: int | None) -> ToolSwitches:
    """A conversation's tool switches (all on for a new one, or when they cannot be read)."""
    if conversation_id is None:
        return ToolSwitches()
    from chat_tui.store.tool_switches import tool_switches

    try:
        return tool_switches(store, conversation_id)
    except StoreError:
        return ToolSwitches()


def keep_switches(store: Store, conversation_id: int, switches: ToolSwitches) -> None:
    """Keep a conversation's tool switches (StoreError if the database refuses)."""
    from chat_tui.store.tool_switches import save_tool_switches

    save_tool_switches(store, conversation_id, switches)


def _source(provider: ToolProvider) -> str:
    return getattr(provider, "name", None) or type(provider).__name__


# -- the loop ---------------------------------------------------------------------------------

Decision = str | ToolOutcome  # APPROVE, DENY, ALWAYS, or declined with this result
Ask = Callable[[ToolCall, ToolSpec], Awaitable[Decision]]
Reply = Callable[[list[ChatMessage], int, Sequence[dict[str, Any]], ChatParams], Awaitable["ReplyResult"]]


@dataclass(frozen=True)
class ToolStep:
    """A call's progress, for a view: `running` (approved, started), then `done` with its outcome
    and the `tool` row it was saved as (None if the database refused it)."""

    call: ToolCall
    state: str  # running | done
    outcome: ToolOutcome | None = None
    message_id: int | None = None
    decision: str = APPROVE  # approve | always | trusted | deny | unavailable


@dataclass(frozen=True)
class Pending:
    """Calls already saved and not answered (a compare lane's answer, picked): the turn starts by
    resolving them, after the assistant row `message_id`."""

    message_id: int
    message: ChatMessage  # the assistant message with its calls


@dataclass
class TurnResult:
    replies: list[ReplyResult] = field(default_factory=list)
    steps: list[ToolStep] = field(default_factory=list)  # each call's final step, in order
    stopped: str | None = None  # None: it ended with an answer (or a failed request); "limit"; "unsaved"
    error: str | None = None  # why a tool result could not be saved
    leaf_id: int | None = None  # the last row the turn wrote

    @property
    def last(self) -> ReplyResult | None:
        return self.replies[-1] if self.replies else None


def first_round_only(params: ChatParams) -> ChatParams:
    """`required` and a named tool force a call in the first request of a turn; after the tools
    have answered, the model is free (`auto`) to answer, or it would call tools until the limit."""
    if params.tool_choice is not None and params.tool_choice not in ("auto", "none"):
        return replace(params, tool_choice="auto")
    return params


async def run_turn(
    store: Store,
    toolbox: Toolbox,
    approvals: Approvals,
    *,
    ask: Ask,
    reply: Reply,
    conversation_id: int,
    messages: Sequence[ChatMessage],
    parent_id: int,
    params: ChatParams,
    max_rounds: int = MAX_ROUNDS,
    pending: Pending | None = None,
    on_step: Callable[[ToolStep], None] | None = None,
) -> TurnResult:
    """One turn: `reply` to `messages` (saved under `parent_id`), and while the answer calls
    tools, resolve the calls and reply again, up to `max_rounds` rounds of calls (then the
    turn stops with the last calls unanswered: `stopped == "limit"`). Never raises for a tool,
    the API or the database; cancelling is passed on, with everything so far saved."""
    turn = TurnResult(leaf_id=parent_id)
    history = list(messages)
    rounds = 0
    assistant: tuple[int, ChatMessage] | None = None
    offered: dict[str, Offered] = {}
    if pending is not None:
        assistant = (pending.message_id, pending.message)
        turn.leaf_id = pending.message_id
        offered = {o.spec.name: o for o in await toolbox.offered(params)}
    while True:
        if assistant is None:
            on_offer = await toolbox.offered(params if rounds == 0 else first_round_only(params))
            offered = {o.spec.name: o for o in on_offer}
            result = await reply(history, turn.leaf_id, [o.spec.to_wire() for o in on_offer],
                                 params if rounds == 0 else first_round_only(params))
            turn.replies.append(result)
            if result.message_id is not None:
                turn.leaf_id = result.message_id
            if result.status != "complete" or not result.tool_calls or result.message_id is None:
                return turn
            assistant = (result.message_id, ChatMessage("assistant", result.text, tool_calls=result.tool_calls))
        if rounds >= max_rounds:
            turn.stopped = "limit"
            return turn
        rounds += 1
        message_id, message = assistant
        history.append(message)
        for call in message.tool_calls:
            step = await _resolve(toolbox, approvals, ask, offered.get(call.name), call, on_step)
            try:
                saved = await patiently(lambda: store.add_message(
                    conversation_id, "tool", step.outcome.text, parent_id=turn.leaf_id, name=call.name,
                    tool_call_id=call.id, status="error" if step.outcome.is_error else "complete"))
            except StoreError as exc:
                turn.steps.append(step)
                turn.stopped, turn.error = "unsaved", error_text(exc)
                if on_step is not None:
                    on_step(step)
                return turn
            step = replace(step, message_id=saved)
            turn.steps.append(step)
            turn.leaf_id = saved
            history.append(ChatMessage("tool", step.outcome.text, tool_call_id=call.id))
            if on_step is not None:
                on_step(step)
        assistant = None


async def _resolve(toolbox: Toolbox, approvals: Approvals, ask: Ask, offered: Offered | None,
                   call: ToolCall, on_step: Callable[[ToolStep], None] | None) -> ToolStep:
    """Decide about one call and run it if allowed: its `done` step, not saved yet."""
    if offered is None:  # nothing to approve: nothing could run
        return ToolStep(call, "done", await toolbox.run(None, call), decision="unavailable")
    if approvals.automatic(call.name):
        decision = "trusted" if call.name in approvals.trust else ALWAYS
    else:
        answer = await ask(call, offered.spec)
        if isinstance(answer, ToolOutcome):
            return ToolStep(call, "done", answer, decision=DENY)
        if answer == ALWAYS:
            approvals.remember(call.name)
        elif answer != APPROVE:
            return ToolStep(call, "done", ToolOutcome(DECLINED, is_error=True), decision=DENY)
        decision = answer
    if on_step is not None:
        on_step(ToolStep(call, "running", decision=decision))
    return ToolStep(call, "done", await toolbox.run(offered, call), decision=decision)


def allow_named(names: Iterable[str], flag: str = "--tool") -> Ask:
    """The non-interactive approval (`chat-tui ask`): the tools named are approved, any other
    call is declined with a result that says why."""
    allowed = frozenset(names)

    async def ask(call: ToolCall, spec: ToolSpec) -> Decision:
        if call.name in allowed:
            return APPROVE
        return ToolOutcome(f"Not run: {call.name} was not allowed for this run (the user allows a tool with"
                           f" {flag} {call.name}).", is_error=True)

    return ask


__all__ = [
    "ALWAYS", "APPROVE", "DENY", "MAX_ROUNDS", "Ask", "Offered", "Pending", "ToolStep", "Toolbox",
    "TurnResult", "allow_named", "first_round_only", "keep_switches", "load_switches", "run_turn",
]
