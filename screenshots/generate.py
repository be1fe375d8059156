#!/usr/bin/env python3
"""Regenerate the SVG screenshots in this folder from the real app (never drawn by hand).

    python screenshots/generate.py          # the SVGs
    python screenshots/generate.py serve    # serve.png: `chat-tui serve` in headless Chromium

The app runs headless against the local fake OpenAI server from tests/, with the demo
conversation of tests/demo.py, so every run gives the same pictures.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from demo import demo_app, seed_history, settle, tools_shown, until  # noqa: E402
from fake_openai import FakeOpenAI  # noqa: E402

SIZE = (160, 46)


COMPARE_ANSWERS = {
    0: "Binary search halves the range each step.\n\n- sorted input\n- O(log n) comparisons",
    0.7: "Use **bisect**: it halves the range at every step, so a million items need 20 comparisons.",
    1.4: "Think of a dictionary: open it in the middle, then keep halving. That is `bisect_left`.",
}

ORDER_SCHEMA = {
    "type": "object",
    "properties": {
        "customer": {"type": "string"},
        "items": {"type": "array", "minItems": 2, "items": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "price": {"type": "number"}, "quantity": {"type": "integer"}},
            "required": ["name", "price", "quantity"], "additionalProperties": False}},
        "paid": {"type": "boolean"},
    },
    "required": ["customer", "items", "paid"],
    "additionalProperties": False,
}

COMPLETION_ANSWER = ("    ordered = sorted(values)\n    middle = len(ordered) // 2\n"
                     "    if len(ordered) % 2:\n        return ordered[middle]\n"
                     "    return (ordered[middle - 1] + ordered[middle]) / 2\n")


async def shoot(name: str, prepare=None, *, open_demo: bool = True, answer=None, seed=None, models=(),
                schema_answer: str = "valid", tools: bool = False) -> Path:
    with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp:
        app = demo_app(fake, Path(tmp) / "demo.db", open_demo=open_demo, tools=tools)
        if seed is not None:
            seed(app.store)
        if answer is not None:
            fake.answer = answer
        fake.models = [*fake.models, *models]
        fake.schema_answer = schema_answer
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            if prepare is not None:
                await prepare(pilot)
                await pilot.pause()
            path = HERE / f"{name}.svg"
            app.save_screenshot(filename=path.name, path=str(HERE))
            return path


async def main() -> None:
    async def picker(pilot):
        pilot.app.screen.query_one("#model-picker Input").focus()
        await pilot.press(*"gpt")

    async def params(pilot):
        screen = pilot.app.screen
        screen.query_one("#param-temperature").focus()
        await pilot.press("right", "right", "right", "right", "right", "right")
        screen.query_one("#param-seed").focus()
        await pilot.press(*"1234")
        screen.query_one("#param-stop-0").focus()
        await pilot.press(*"END")
        screen.query_one("#param-temperature").focus()

    async def compare(pilot):
        from textual.widgets import Input

        screen = pilot.app.chat.open_compare("Explain binary search in one paragraph.")
        await pilot.pause()
        screen.query_one("#sweep-spec", Input).value = "temperature=0,0.7,1.4"
        await pilot.press("f5")
        for _ in range(4):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
        for i, col in enumerate(screen.columns):  # fixed timings: the picture is the same every run
            col.stats.ttft = 0.21 + i / 100
            col.stats.total = 1.5
            col.stats.tokens_per_second = 42.0 + i
            col.refresh_header(force=True)
        screen.columns[1].focus()

    async def structured(pilot):
        from chat_tui.ui.widgets.prompt import PromptInput

        app = pilot.app
        schema = Path(tempfile.gettempdir()) / "order.json"
        schema.write_text(json.dumps(ORDER_SCHEMA, indent=2))
        pane = app.chat.params_pane()
        pane.query_one("#param-schema-file").value = str(schema)
        await pane.load_schema_file(str(schema))  # as Enter in the pane's schema file field does
        pane.query_one("#param-response-format").scroll_visible(animate=False, top=True)
        prompt = app.query_one(PromptInput)
        prompt.focus()
        await pilot.press(*"Two items for Ada, as an order", "enter")
        await until(pilot, lambda: app.chat.conversation.views()[-1].structured_answer is not None
                    and app.chat.conversation.views()[-1].structured_answer.verdict is not None, "the checked answer")
        await settle(pilot)
        view = app.chat.conversation.views()[-1]
        view.message = replace(view.message, ttft=0.24, duration=1.1)  # fixed timings: the same picture every run
        view.refresh_header("")
        meter = app.chat.meter
        meter.stream_timing(0.24, 20.0)
        await until(pilot, lambda: "20 tok/s" in str(meter.query_one("#meter-reply").render()), "the fixed timings")
        stamp = "2025-03-15T10:12:00.000Z"  # and a fixed date in the conversation list
        app.store.db.execute("UPDATE conversations SET created_at = ?, updated_at = ?", (stamp, stamp))
        app.chat.refresh_conversation_list()
        listing = app.chat.conversation_list()
        await until(pilot, lambda: listing.idle and all(r.updated_at == stamp for r in listing.rows), "the fixed date")
        await settle(pilot)
        prompt.focus()

    async def history(pilot):
        await pilot.press("f9")
        screen = pilot.app.screen
        await until(pilot, lambda: "conversations" in str(screen.query_one("#history-status").render()), "the list")
        await pilot.press(*"list")
        await until(pilot, lambda: "3 matching" in str(screen.query_one("#history-status").render()), "the search")
        await pilot.press("down")  # into the list: the footer shows its keys

    async def completion(pilot):
        from chat_tui.ui.widgets.document_area import DocumentArea

        await pilot.press("f6")
        await pilot.pause()
        screen = pilot.app.screen
        screen.query_one("#cparam-logprobs").value = "3"
        screen.query_one("#cparam-temperature").focus()
        await pilot.press("right", "right")
        screen.query_one("#completion-model").value = "gpt-3.5-turbo-instruct"
        await pilot.pause()
        area = screen.query_one(DocumentArea)
        area.focus()
        area.load_text('def median(values):\n    """The middle value of a list."""\n\n\nprint(median([3, 1, 2]))\n')
        area.move_cursor((2, 0))
        await pilot.press("ctrl+g")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        area.move_cursor((3, 12))

    async def edit(pilot):
        from textual.widgets import Input, TextArea

        await pilot.press("f7")
        await pilot.pause()
        screen = pilot.app.screen
        screen.query_one("#edit-input", TextArea).insert(
            "Teh quick brown fox jumps over teh lazy dog.\nIt was a brigth cold day in April,\n"
            "and the clocks were striking thirteen.\n")
        screen.query_one("#edit-instruction", Input).value = "Fix the spelling"
        screen.query_one("#edit-n", Input).value = "2"
        await pilot.press("ctrl+g")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("2")
        screen.query_one("#edit-input", TextArea).cursor_blink = False

    async def images(pilot):
        await pilot.press("f10")
        await pilot.pause()
        screen = pilot.app.screen
        screen.query_one("#image-model").value = "dall-e-3"
        await pilot.pause()
        screen.query_one("#opt-quality").value = "hd"
        screen.query_one("#opt-style").value = "natural"
        screen.query_one("#image-prompt").value = "A sun setting over a calm sea"
        await pilot.press("ctrl+g")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        screen.query_one("#image-prompt").cursor_blink = False

    async def chat_image(pilot):
        from chat_tui.ui.widgets.prompt import PromptInput

        pilot.app.image_model = "dall-e-3"
        prompt = pilot.app.query_one(PromptInput)
        prompt.focus()
        await pilot.press(*"/image A sun setting over a calm sea", "enter")
        await until(pilot, lambda: pilot.app.chat.conversation.images, "the image in the conversation")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        prompt.cursor_blink = False

    async def tool_calls(pilot):
        await pilot.press("f2", "f3")  # the conversation the whole width
        await tools_shown(pilot)  # get_weather run, get_time waiting for approval

    from demo import use_demo_pictures

    from chat_tui.ui.screens import images as images_screen

    undo = use_demo_pictures()  # the fake's own results are 1x1 pixels
    blob_root = images_screen.blob_root
    images_screen.blob_root = lambda app: Path(tempfile.gettempdir()) / "chat-tui-demo" / "attachments"
    try:
        images_shot = await shoot("images", images, open_demo=False)
        chat_image_shot = await shoot("chat-image", chat_image, open_demo=False)
    finally:
        undo()
        images_screen.blob_root = blob_root

    async def daylight(pilot):
        pilot.app.theme = "daylight"

    shots = [
        await shoot("main-chat"),
        await shoot("daylight", daylight),
        await shoot("model-picker", picker),
        await shoot("parameters", params),
        await shoot("compare", compare, answer=lambda body: COMPARE_ANSWERS[body.get("temperature")]),
        await shoot("history", history, open_demo=False, seed=seed_history),
        await shoot("structured", structured, open_demo=False, schema_answer="violate"),
        await shoot("completion", completion, answer=COMPLETION_ANSWER, models=["gpt-3.5-turbo-instruct"]),
        await shoot("edit", edit, open_demo=False),
        await shoot("tools", tool_calls, open_demo=False, tools=True),
        images_shot,
        chat_image_shot,
    ]
    for path in shots:
        print(path.relative_to(HERE.parent))


async def serve() -> Path:
    """`chat-tui serve` in Debian's headless Chromium, a prompt typed into the page and its
    answer streamed (the same steps as tests/test_serve.py)."""
    import browser

    with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp:
        fake.answer = SERVE_ANSWER
        env = {"CHAT_TUI_HOME": tmp, "OPENAI_BASE_URL": fake.base_url, "NO_COLOR": ""}  # in colour, whatever the shell says
        with browser.Served(env, "-m", "gpt-4o-mini") as served:
            async with browser.Chromium(1280, 760) as chromium:
                await chromium.goto(served.url)
                await chromium.wait_for_text("gpt-4o-mini", "the model list")
                await chromium.type("How do I serve chat-tui to a browser?")
                await chromium.press_enter()
                await chromium.wait_for_text("first token", "the answer")
                await chromium.evaluate("document.querySelector('.xterm-helper-textarea').blur()")
                path = await chromium.screenshot(HERE / "serve.png")
    print(path.relative_to(HERE.parent))
    return path


SERVE_ANSWER = """Run `chat-tui serve` and open the address it prints:

```sh
chat-tui serve --port 8000
```

- every browser tab gets **its own session** of the same app, config and history;
- it listens on **127.0.0.1** only, unless you add `--public`;
- Ctrl+C stops the server and every session.
"""


if __name__ == "__main__":
    asyncio.run(serve() if sys.argv[1:] == ["serve"] else main())
