"""Running a comparison, shared by the CLI and the TUI: one prompt, 2-4 lanes at once.

Every lane is an ordinary `run_reply` (so each answer streams into its own row, flushed as it
goes, and ends complete / cancelled / error on its own); the lanes run concurrently, so a slow
lane never stalls another. The run itself (lanes, labels, blind flag) is recorded before any
request goes out, and each lane's answer row is attached the moment it is created.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chat_tui.core.compare import Lane, check_lanes, labelled
from chat_tui.core.messages import ChatMessage
from chat_tui.replies import ReplyResult, run_reply

if TYPE_CHECKING:
    from chat_tui.api.client import OpenAIClient
    from chat_tui.api.events import StreamEvent
    from chat_tui.core.tokens import TokenCounter
    from chat_tui.store import Store


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
) -> CompareOutcome:
    """Run every lane concurrently. `lane_tasks`, if given, is filled with each lane's task so a
    caller can cancel one lane and leave the others streaming."""
    check_lanes(lanes)
    lanes = labelled(lanes, blind=blind)
    run_id = store.record_compare(
        conversation_id,
        user_message_id,
        [{"label": lane.label, "preset": lane.preset, "model": lane.model, "params": lane.params.as_dict()} for lane in lanes],
        blind=blind,
    )

    async def one(index: int, lane: Lane) -> ReplyResult:
        return await run_reply(
            client, store, counter,
            conversation_id=conversation_id, parent_id=user_message_id, messages=messages,
            model=lane.model, params=lane.params, endpoint_name=endpoint_name,
            on_event=(lambda event: on_event(index, event)) if on_event else None,
            on_row=lambda mid: store.set_lane_message(run_id, index, mid),
            stream=stream, wait_for_tokenizer=wait_for_tokenizer,
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
