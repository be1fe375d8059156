#!/usr/bin/env python3
"""Regenerate the SVG screenshots in this folder from the real app (never drawn by hand).

    python screenshots/generate.py

The app runs headless against the local fake OpenAI server from tests/, with the demo
conversation of tests/demo.py, so every run gives the same pictures.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from demo import demo_app, settle  # noqa: E402
from fake_openai import FakeOpenAI  # noqa: E402

SIZE = (160, 46)


async def shoot(name: str, prepare=None, *, open_demo: bool = True) -> Path:
    with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp:
        app = demo_app(fake, Path(tmp) / "demo.db", open_demo=open_demo)
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

    shots = [
        await shoot("main-chat"),
        await shoot("model-picker", picker),
        await shoot("parameters", params),
    ]
    for path in shots:
        print(path.relative_to(HERE.parent))


if __name__ == "__main__":
    asyncio.run(main())
