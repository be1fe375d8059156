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
    # A fixed date, so the sidebar's conversation list never depends on today.
    store.db.execute("UPDATE conversations SET created_at = ?, updated_at = ? WHERE id = ?", (DEMO_STAMP, DEMO_STAMP, cid))
    return cid


DEMO_STAMP = "2025-03-15T10:12:00.000Z"


# Conversations for the history screen: (title, model, temperature, question, answer, prompt
# tokens, completion tokens, updated at). Fixed timestamps, so the dates shown never depend on today.
HISTORY = [
    ("Binary search in Python", "gpt-4o-mini", 0.3, QUESTION,
     "Use binary search: `bisect_left` from the standard library halves the range at every step.",
     27, 213, "2025-03-14T09:26:00.000Z"),
    ("Rust lifetimes, explained", "gpt-4o", 0.7, "Why does the borrow checker reject this function?",
     "The returned reference may outlive `s`: give both the same lifetime `'a`.", 412, 388,
     "2025-03-13T18:02:00.000Z"),
    ("Sorting a million integers", "gpt-4.1-mini", 1.0, "Fastest way to sort a million 32-bit integers?",
     "A radix sort on the binary digits, eight bits per pass: four passes, no comparisons.", 35, 161,
     "2025-03-12T11:47:00.000Z"),
    (None, "llama3.2:3b", 0.8, "what is the difference between a list and a tuple?",
     "A tuple cannot be changed after it is made; a list can.", 19, 44, "2025-03-10T21:15:00.000Z"),
    ("SQL window functions", "o3-mini", 1.0, "Running total per customer in SQL?",
     "SUM(amount) OVER (PARTITION BY customer ORDER BY day): a window, not a GROUP BY.", 58, 1204,
     "2025-03-08T08:30:00.000Z"),
    ("Haiku about autumn", "gpt-4o", 1.3, "A haiku about autumn leaves, please.",
     "Red leaves let go, / the wind keeps no list of names, / the path fills with light.", 16, 21,
     "2025-02-27T16:40:00.000Z"),
    ("Git: undo the last commit", "gpt-4o-mini", 0.2, "How do I undo my last commit but keep the changes?",
     "`git reset --soft HEAD~1`: the commit goes, its changes stay staged.", 22, 37,
     "2025-02-20T10:05:00.000Z"),
    ("Lisbon in three days", "gpt-4.1-mini", 0.9, "Plan three days in Lisbon for a first visit.",
     "Day 1: Alfama and the castle; day 2: Belém; day 3: Sintra by train.", 24, 530,
     "2025-02-02T12:00:00.000Z"),
]


def seed_history(store: Store) -> list[int]:
    """The HISTORY conversations, the first one pinned, with fixed dates; returns their ids."""
    from chat_tui.store.history import set_pinned

    ids = []
    for title, model, temperature, question, answer, prompt, completion, stamp in HISTORY:
        cid = store.create_conversation(title=title, model=model, endpoint="demo")
        user = store.add_message(cid, "user", question)
        reply = store.begin_assistant(cid, parent_id=user, model=model, params={"model": model, "temperature": temperature}, endpoint="demo")
        store.finish_assistant(reply, answer, "complete", finish_reason="stop", prompt_tokens=prompt, completion_tokens=completion)
        store.db.execute("UPDATE conversations SET created_at = ?, updated_at = ? WHERE id = ?", (stamp, stamp, cid))
        store.db.execute("UPDATE messages SET created_at = ?, updated_at = ? WHERE conversation_id = ?", (stamp, stamp, cid))
        ids.append(cid)
    set_pinned(store, ids[0], True)
    return ids


def demo_app(fake, db_path, *, open_demo: bool = True, config: Config | None = None, tools: bool = False) -> ChatApp:
    """The app against the local fake server, with the demo conversation open (`tools`: with
    the demo's tools, and the fake set to call them)."""
    fake.models = ["gpt-4o", "gpt-4o-mini", "gpt-4.1-mini", "o3-mini", "llama3.2:3b"]
    store = Store(db_path)
    cid = seed_demo(store) if open_demo else None
    endpoint = Endpoint(name="demo", base_url=fake.base_url)
    providers = []
    if tools:
        from tool_provider import PyTools

        providers = [PyTools(get_weather, get_time, name="demo")]
        fake.tool_plan = TOOL_PLAN
        fake.tool_text = "Checking both."
    return ChatApp(endpoint, store, client=OpenAIClient(endpoint), model="gpt-4o-mini", conversation_id=cid, config=config,
                   tool_providers=providers)


# Function calling: the demo's tools, what the fake model calls, and the question.
TOOL_QUESTION = "What's the weather in Lisbon, and what time is it there?"
TOOL_PLAN = [("get_weather", {"city": "Lisbon", "units": "metric"}), ("get_time", {"tz": "Europe/Lisbon"})]


def get_weather(city: str, units: str = "metric") -> str:
    """Current weather for a city."""
    return f"{city}: 18 °C, clear sky, light wind from the north-west (12 km/h), humidity 64%"


def get_time(tz: str) -> str:
    """The local time in a time zone."""
    return f"2025-03-15 10:12 ({tz}, UTC+0)"


async def tools_shown(pilot, *, finish: bool = False) -> None:
    """The demo question asked; get_weather approved and run; get_time waiting for approval, or
    (`finish`) declined and the turn finished. Timings are fixed: a picture must not depend on
    the machine's load."""
    from chat_tui.ui.widgets.conversation import MessageView
    from chat_tui.ui.widgets.token_meter import TokenMeter
    from chat_tui.ui.widgets.tool_calls import ToolApproval

    app = pilot.app

    def asking(name: str) -> bool:
        found = app.screen.query(ToolApproval)
        return bool(found) and found.first().call.name == name and app.focused is found.first()

    await pilot.press(*TOOL_QUESTION, "enter")
    await until(pilot, lambda: asking("get_weather"), "the question about get_weather", timeout=20)
    await pilot.press("y")
    await until(pilot, lambda: asking("get_time"), "the question about get_time", timeout=20)
    if finish:
        await pilot.press("n")
        await settle_workers(pilot)
    for i, view in enumerate(v for v in app.query(MessageView) if v.role == "assistant" and v.message):
        app.store.db.execute("UPDATE messages SET ttft = ?, duration = ? WHERE id = ?", (0.41 + i / 10, 0.62 + i, view.message.id))
        view.message = app.store.get_message(view.message.id)
        view.refresh_header()
    meter = app.query_one(TokenMeter)
    meter.stream_timing(0.41, 61.0)
    meter._redraw_now()
    await pilot.pause()


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


def steady(run_before):
    """`run_before` for a snapshot, then every cursor steady (shown, not blinking): the picture
    must not depend on how long the run took (a loaded machine can pass a blink's 0.5 s)."""

    async def run(pilot) -> None:
        await run_before(pilot)
        for widget in pilot.app.screen.query("Input, TextArea"):  # their subclasses too
            widget.cursor_blink = False
        await pilot.pause()

    return run


async def settle(pilot) -> None:
    """Wait until every worker is done and the screen is drawn (tokenizer loaded, panes mounted,
    the sidebar's conversation list read)."""
    for _ in range(4):
        await settle_workers(pilot)
    listing = pilot.app.chat.conversation_list()
    if listing is not None and not listing.idle:  # a debounced reload still to come
        await until(pilot, lambda: listing.idle, "the conversation list")
        await settle_workers(pilot)
    prompt = pilot.app.screen.query_one("#prompt")
    prompt.focus()
    prompt.cursor_blink = False  # a steady cursor: a snapshot must not depend on how long this took
    await pilot.pause()


def demo_picture(prompt: str, index: int = 0, width: int = 512, height: int = 320) -> bytes:
    """A deterministic picture (sky, sun, sea) for the image screens' snapshots and screenshots:
    the fake server's own results are 1x1 pixels, which show as one cell."""
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    horizon = height * 2 // 3
    for y in range(horizon):
        t = y / horizon
        draw.line([(0, y), (width, y)], fill=(int(40 + 200 * t), int(60 + 80 * t), int(160 - 60 * t)))
    for y in range(horizon, height):
        t = (y - horizon) / (height - horizon)
        draw.line([(0, y), (width, y)], fill=(int(20 + 30 * t), int(70 + 40 * t), int(130 + 30 * t)))
    r = height // 6
    cx = width // 2 + (index * width // 5)
    draw.ellipse([cx - r, horizon - r, cx + r, horizon + r], fill=(255, 200, 80))
    draw.rectangle([0, horizon, width, height], outline=None)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def use_demo_pictures() -> callable:
    """Make the fake server answer image requests with `demo_picture`; returns the undo."""
    import fake_openai

    real = fake_openai.result_image

    def picture(model, prompt, index, sources=(), output_format="png"):
        return demo_picture(prompt, index)

    fake_openai.result_image = picture
    return lambda: setattr(fake_openai, "result_image", real)


def recording_notes(app: ChatApp) -> ChatApp:
    """`app`, keeping every notification it shows (Textual drops one when its timeout passes: a
    slow run would miss a 2-second "Copied" note)."""
    sent: list[str] = []
    notify = app.notify

    def recording(message, *args, **kw):
        sent.append(str(message))
        return notify(message, *args, **kw)

    app.notify = recording
    app.sent_notes = sent
    return app


def notifications(app: ChatApp) -> list[str]:
    """Every notification shown so far, expired or not."""
    return list(app.sent_notes)
