#!/usr/bin/env python3
"""Streaming a reasoning model's thought into the chat screen, headless (Pilot), against
tests/fake_openai.py in this process at full speed.

    python benchmarks/reasoning.py [-n 3] [--words 8000]

For each case, from Enter to the reply's worker done: CPU seconds of the process (the fake server's
threads included, the same for every case), wall seconds, the longest text rendered at once by
the Markdown views (the open tail and a block: it must not grow with the thought), and the total
characters rendered. Cases: a plain answer of WORDS words; a thought of WORDS words and a short
answer with `thinking` auto (folds when the answer starts), open and closed; a WORDS-word answer
after a short thought.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from fake_openai import FakeOpenAI  # noqa: E402

from chat_tui.api.client import OpenAIClient  # noqa: E402
from chat_tui.core.config import Config, Endpoint  # noqa: E402
from chat_tui.store import Store  # noqa: E402
from chat_tui.ui import markdown_blocks  # noqa: E402
from chat_tui.ui.app import ChatApp  # noqa: E402

WORDS = "stream widget buffer session cache latency token keyboard queue thread model terminal".split()


def document(n_words: int, seed: int) -> str:
    """Paragraphs and an occasional code block, about `n_words` words."""
    rnd, out, n = random.Random(seed), [], 0
    while n < n_words:
        paragraph = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(30, 80)))
        out.append(paragraph.capitalize() + ".")
        n += len(paragraph.split())
        if rnd.random() < 0.15:
            out.append("```python\n" + "\n".join(f"x{i} = {rnd.choice(WORDS)}" for i in range(8)) + "\n```")
            n += 24
    return "\n\n".join(out)


async def one(answer: str, reasoning: str | None, mode: str) -> tuple[float, float, int, int]:
    rendered: list[int] = []
    original = markdown_blocks.render_lines

    def counting(text, width, style=None):
        rendered.append(len(text))
        return original(text, width, style)

    markdown_blocks.render_lines = counting
    try:
        with FakeOpenAI(models=["o4-mini"]) as fake, tempfile.TemporaryDirectory() as home:
            fake.answer, fake.reasoning = answer, reasoning
            endpoint = Endpoint(name="fake", base_url=fake.base_url)
            app = ChatApp(endpoint, Store(Path(home) / "bench.db"), client=OpenAIClient(endpoint), model="o4-mini",
                          config=Config(thinking=mode))
            async with app.run_test(size=(160, 50)) as pilot:
                for _ in range(500):  # the side panes mount after the tokenizer has loaded
                    if app.query("#params-pane"):
                        break
                    await pilot.pause(0.02)
                await pilot.pause(0.3)
                await pilot.press(*"Go")
                rendered.clear()
                cpu, wall = time.process_time(), time.monotonic()
                await pilot.press("enter")
                await app.workers.wait_for_complete()
                await pilot.pause()
                return time.process_time() - cpu, time.monotonic() - wall, max(rendered or [0]), sum(rendered)
    finally:
        markdown_blocks.render_lines = original


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=3, help="runs per case (medians are printed)")
    ap.add_argument("--words", type=int, default=8000)
    a = ap.parse_args()
    long_answer, thought, short = document(a.words, 1), document(a.words, 2), document(200, 3)
    cases = [
        (f"{a.words:,}-word answer, no reasoning", long_answer, None, "auto"),
        (f"{a.words:,}-word thought + 200-word answer, thinking = auto (folds)", short, thought, "auto"),
        (f"{a.words:,}-word thought + 200-word answer, thinking = open", short, thought, "open"),
        (f"{a.words:,}-word thought + 200-word answer, thinking = closed", short, thought, "closed"),
        (f"{a.words:,}-word answer after a 200-word thought", long_answer, short, "auto"),
    ]
    print("| case | CPU s | wall s | longest render (chars) | rendered in all (chars) | streamed (chars) |")
    print("|---|---|---|---|---|---|")
    for label, answer, reasoning, mode in cases:
        runs = [await one(answer, reasoning, mode) for _ in range(a.n)]
        print(f"| {label} | {statistics.median(r[0] for r in runs):.2f} | {statistics.median(r[1] for r in runs):.2f}"
              f" | {max(r[2] for r in runs):,} | {statistics.median(r[3] for r in runs):,.0f}"
              f" | {len(answer) + len(reasoning or ''):,} |", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
