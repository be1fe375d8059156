#!/usr/bin/env python3
"""A tool call's arguments streamed into the app: does a chunk cost the same at any length?

    python benchmarks/tool_calls.py [--sizes 25000,100000,400000]

Runs the app headless (Pilot) against tests/fake_openai.py, whose model calls one trusted tool
with a `text` argument of SIZE characters, sent in 16-character chunks; the tool runs and the
model answers. Prints, per size, the time from Enter to the final answer on screen and the time
per chunk: constant per chunk means the arguments' view grows in O(new text).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import FakeOpenAI  # noqa: E402
from tool_provider import PyTools  # noqa: E402

from chat_tui.api.client import OpenAIClient  # noqa: E402
from chat_tui.core.config import Endpoint  # noqa: E402
from chat_tui.store import Store  # noqa: E402
from chat_tui.ui.app import ChatApp  # noqa: E402
from chat_tui.ui.widgets.conversation import MessageView  # noqa: E402

CHUNK = 16


def write_file(text: str) -> str:
    """Write a file."""
    return f"wrote {len(text)} characters"


async def run(size: int) -> float:
    with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp:
        body = ("lorem ipsum dolor sit amet, " * (size // 28 + 1))[:size]
        fake.tool_plan = [("write_file", {"text": body})]
        fake.chunk_size = CHUNK
        ep = Endpoint(name="fake", base_url=fake.base_url, trust=("write_file",))
        app = ChatApp(ep, Store(Path(tmp) / "t.db"), client=OpenAIClient(ep), model="gpt-4o-mini",
                      tool_providers=[PyTools(write_file)])
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(1.0)  # the tokenizer and the side panes
            await pilot.press(*"go")
            started = time.perf_counter()
            await pilot.press("enter")
            while not (len(app.query(MessageView)) == 4 and app.query(MessageView).last().message is not None):
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - started
            await app.workers.wait_for_complete()
            assert json.loads(app.query(MessageView)[1].tool_calls()[0].arguments)["text"] == body
            return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="25000,100000,400000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    for size in sizes:
        elapsed = await run(size)
        chunks = size // CHUNK
        print(f"{size:>8,} characters, {chunks:>6,} chunks: {elapsed:5.2f} s, {elapsed / chunks * 1e6:4.0f} µs per chunk",
              flush=True)


if __name__ == "__main__":
    asyncio.run(main())
