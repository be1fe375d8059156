"""Running a comparison, shared by the CLI and the TUI: one prompt, 2-4 lanes at once.

Every lane is an ordinary `run_reply` (so each answer streams into its own row, flushed as it
goes, and ends complete / cancelled / error on its own), offered the tools its parameters choose
(`tools=none`, `tools=a|b`, `tool_choice=required` in a lane's spec); the calls a lane makes are
saved with its answer and never run here: running them for every lane at once would ask for
N approvals and run side effects N times for one question. Picking the lane continues in the
chat, where its calls are approved and run (`services.tools.Pending`); the lanes run concurrently, so a slow
lane never stalls another. The run itself (lanes, labels, blind flag) is recorded before any
request goes out, and each lane's answer row is attached the moment it is created. The same
holds for the other two ways to fill lanes: one request's `n` choices (`run_choices`) and a
second answer for one lane (`rerun_lane`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from chat_tui.core.compare import Lane, check_lanes, labelled
from chat_tui.core.messages import ChatMessage
from chat_tui.services.replies import ReplyResult, run_reply

if TYPE_CHECKING:
    from chat_tui.api.client import OpenAIClient
    from chat_tui.services.tools import Toolbox
    from chat_tui.api.events import StreamEvent
    from chat_tui.core.tokens import TokenCounter
    from chat_tui.store import Store

async def _tools(toolbox: "Toolbox | None", lane: Lane) -> list[dict]:
    """The tools a lane's request offers (none without a toolbox)."""
    return [o.spec.to_wire() for o in await toolbox.offered(lane.params)] if toolbox else []


def _lane_record(lane: Lane, label: str | None = None) -> dict[str, object]:
    return {"label": label if label is not None else lane.label, "preset": lane.preset,
            "model": lane.model, "params": lane.params.as_dict()}


# -- running --------------------------------------------------------------------------------


@dataclass
class CompareOutcome:
    run_id: int
    lanes: list[Lane]
    results: list[ReplyResult | None]  # None: the lane was cancelled


async def run_compare(
    client: "OpenAIClient",
    store: "Store",
    counter: "TokenCounter | None",
    *,
    conversation_id: int,
    user_message_id: int,
    messages: Sequence[ChatMessage],
    lanes: Sequence[Lane],
    endpoint_name: str | None,
    blind: bool = False,
    on_event: Callable[[int, "StreamEvent"], None] | None = None,
    stream: bool = True,
    wait_for_tokenizer: bool = True,
    lane_tasks: dict[int, asyncio.Task] | None = None,
    toolbox: "Toolbox | None" = None,
) -> CompareOutcome:
    """Run every lane concurrently. `lane_tasks`, if given, is filled with each lane's task so a
    caller can cancel one lane and leave the others streaming."""
    check_lanes(lanes)
    lanes = labelled(lanes, blind=blind)
    run_id = store.record_compare(conversation_id, user_message_id, [_lane_record(lane) for lane in lanes], blind=blind)

    async def one(index: int, lane: Lane) -> ReplyResult:
        return await run_reply(
            client, store, counter,
            conversation_id=conversation_id, parent_id=user_message_id, messages=messages,
            model=lane.model, params=lane.params, endpoint_name=endpoint_name,
            on_event=(lambda event: on_event(index, event)) if on_event else None,
            on_row=lambda _choice, mid: store.set_lane_message(run_id, index, mid),
            stream=stream, wait_for_tokenizer=wait_for_tokenizer, tools=await _tools(toolbox, lane),
        )

    tasks = {i: asyncio.create_task(one(i, lane)) for i, lane in enumerate(lanes)}
    if lane_tasks is not None:
        lane_tasks.update(tasks)
    try:
        done = await asyncio.gather(*tasks.values(), return_exceptions=True)
    except asyncio.CancelledError:  # the whole comparison was stopped
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        raise
    results: list[ReplyResult | None] = []
    for outcome in done:
        if isinstance(outcome, ReplyResult):
            results.append(outcome)
        elif isinstance(outcome, asyncio.CancelledError):
            results.append(None)  # this lane alone was stopped; its row says `cancelled`
        else:
            raise outcome
    return CompareOutcome(run_id, list(lanes), results)


async def run_choices(
    client: "OpenAIClient",
    store: "Store",
    counter: "TokenCounter | None",
    *,
    conversation_id: int,
    user_message_id: int,
    messages: Sequence[ChatMessage],
    lane: Lane,
    labels: Sequence[str],
    endpoint_name: str | None,
    blind: bool = False,
    on_event: Callable[["StreamEvent"], None] | None = None,
    on_run: Callable[[int], None] | None = None,
    on_row: Callable[[int, int], None] | None = None,
    wait_for_tokenizer: bool = True,
    toolbox: "Toolbox | None" = None,
) -> ReplyResult:
    """One request with n > 1: choice i is lane i of the run (the first `len(labels)` are lanes;
    every choice is saved as a sibling answer). The run is recorded before the request goes out
    (`on_run(run_id)`), and each lane points at its row as soon as the row exists."""
    run_id = store.record_compare(conversation_id, user_message_id, [_lane_record(lane, label) for label in labels], blind=blind)
    if on_run is not None:
        on_run(run_id)

    def row(choice: int, mid: int) -> None:
        if choice < len(labels):
            store.set_lane_message(run_id, choice, mid)
        if on_row is not None:
            on_row(choice, mid)

    return await run_reply(
        client, store, counter,
        conversation_id=conversation_id, parent_id=user_message_id, messages=messages, model=lane.model,
        params=lane.params, endpoint_name=endpoint_name, on_event=on_event, on_row=row,
        wait_for_tokenizer=wait_for_tokenizer, tools=await _tools(toolbox, lane),
    )


async def rerun_lane(
    client: "OpenAIClient",
    store: "Store",
    counter: "TokenCounter | None",
    *,
    run_id: int | None,
    lane_index: int,
    conversation_id: int,
    user_message_id: int,
    messages: Sequence[ChatMessage],
    lane: Lane,
    endpoint_name: str | None,
    on_event: Callable[["StreamEvent"], None] | None = None,
    on_row: Callable[[int], None] | None = None,
    wait_for_tokenizer: bool = True,
    toolbox: "Toolbox | None" = None,
) -> ReplyResult:
    """A new answer for one lane: a new sibling row, and the run's lane now points at it. A
    choice of an n > 1 request is re-run as one answer of its own (n is dropped)."""
    params = replace(lane.params, n=None) if (lane.params.n or 1) > 1 else lane.params

    def row(_choice: int, mid: int) -> None:
        if run_id is not None:
            store.set_lane_message(run_id, lane_index, mid)
        if on_row is not None:
            on_row(mid)

    return await run_reply(
        client, store, counter,
        conversation_id=conversation_id, parent_id=user_message_id, messages=messages,
        model=lane.model, params=params, endpoint_name=endpoint_name,
        on_event=on_event, on_row=row, wait_for_tokenizer=wait_for_tokenizer, tools=await _tools(toolbox, lane),
    )


def lane_message(store: "Store", run_id: int | None, lane_index: int) -> int | None:
    """The answer row a run's lane points at (None: no run, or no row yet)."""
    run = store.get_compare_run(run_id) if run_id is not None else None
    if run is None:
        return None
    return next((lane.message_id for lane in run.lanes if lane.lane == lane_index), None)


def latest_run_id(store: "Store", conversation_id: int | None, user_message_id: int | None) -> int | None:
    if conversation_id is None or user_message_id is None:
        return None
    runs = [r for r in store.compare_runs(conversation_id) if r.user_message_id == user_message_id]
    return runs[-1].id if runs else None


def pick(store: "Store", run_id: int | None, message_id: int, note: str | None = None) -> None:
    """Record the lane the user picked (and, in blind mode, why)."""
    if run_id is not None:
        store.pick_compare(run_id, message_id, note)
