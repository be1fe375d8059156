"""A fixed demo conversation, for snapshot tests and for screenshots/generate.py."""

from __future__ import annotations

from chat_tui.api.client import OpenAIClient
from chat_tui.core.config import Config, Endpoint
from chat_tui.store import Store
from chat_tui.ui.app import ChatApp

QUESTION = "How do I find an item in a sorted list quickly in Python?"

ANSWER = """Use **binary search**: it halves the range at every step, so a list of a million items
needs at most 20 comparisons. The standard library already has it in `bisect`:

```python
from bisect import bisect_left

def find(items, target):
    i = bisect_left(items, target)
    if i < len(items) and items[i] == target:
        return i
    return -1
```

A few things to keep in mind:

1. The list **must be sorted** with the same ordering you search with.
2. `bisect_left` returns the *insertion point*, so check that the item is really there.
3. For many lookups on data that rarely changes, a `set` or `dict` is faster still.

| structure | lookup | keeps order |
|---|---|---|
| sorted list + bisect | O(log n) | yes |
| set / dict | O(1) average | no |
"""

FOLLOW_UP = "And if the list is huge and on disk?"


def seed_demo(store: Store) -> int:
    """One conversation: a question, a Markdown answer with fixed stats, a follow-up answered."""
    cid = store.create_conversation(title="Binary search in Python", model="gpt-4o-mini", endpoint="demo")
    user = store.add_message(cid, "user", QUESTION)
    answer = store.begin_assistant(cid, parent_id=user, model="gpt-4o-mini", params={"model": "gpt-4o-mini", "temperature": 0.3}, endpoint="demo")
    store.finish_assistant(
        answer, ANSWER, "complete", finish_reason="stop", prompt_tokens=27, completion_tokens=213,
        prompt_tokens_local=27, completion_tokens_local=213, tokens_exact=True, ttft=0.31, duration=2.45,
        system_fingerprint="fp_demo",
    )
    follow = store.add_message(cid, "user", FOLLOW_UP, parent_id=answer)
    second = store.begin_assistant(cid, parent_id=follow, model="gpt-4o-mini", params={"model": "gpt-4o-mini"}, endpoint="demo")
    store.finish_assistant(
        second,
        "Then search the file itself: seek to the middle record, compare, and halve again. "
        "With fixed-size records that is `log2(n)` reads. For anything bigger, use an index "
        "(SQLite's B-tree does exactly this for you).",
        "complete", finish_reason="stop", prompt_tokens=251, completion_tokens=58, completion_tokens_local=58,
        tokens_exact=True, ttft=0.22, duration=0.91,
    )
    return cid


def demo_app(fake, db_path, *, open_demo: bool = True, config: Config | None = None) -> ChatApp:
    """The app against the local fake server, with the demo conversation open."""
    fake.models = ["gpt-4o", "gpt-4o-mini", "gpt-4.1-mini", "o3-mini", "llama3.2:3b"]
    store = Store(db_path)
    cid = seed_demo(store) if open_demo else None
    endpoint = Endpoint(name="demo", base_url=fake.base_url)
    return ChatApp(endpoint, store, client=OpenAIClient(endpoint), model="gpt-4o-mini", conversation_id=cid, config=config)


async def settle_workers(pilot) -> None:
    """Wait for every worker (an exclusive worker replaced by a newer one is fine) and a redraw."""
    from textual.worker import WorkerCancelled

    for _ in range(20):
        try:
            await pilot.app.workers.wait_for_complete()
            break
        except WorkerCancelled:
            continue
    await pilot.pause()


async def until(pilot, condition, what: str, timeout: float = 5.0) -> None:
    """Let the app run until `condition()` holds (checked every 20 ms), or fail saying `what`."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def settle(pilot) -> None:
    """Wait until every worker is done and the screen is drawn (tokenizer loaded, panes mounted)."""
    for _ in range(4):
        await settle_workers(pilot)
    pilot.app.screen.query_one("#prompt").focus()
    await pilot.pause()
