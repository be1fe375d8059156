"""Completion mode: does a streamed round cost O(new text)?

    .venv/bin/python benchmarks/completion.py [--tokens 2000 8000 32000]

Feeds a completion's tokens (about 4 characters each, a newline every ~16 tokens) into the
document editor of completion mode (`DocumentArea`), with a log-probability per token as the
server sends them, in a headless app, and times the inserts and the frames they cause. If a
round costs O(new text), the time per token stays flat as the answer grows (the last 10 % of
the tokens cost what the first 10 % did), and the total grows linearly with the tokens.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from textual.app import App, ComposeResult

from chat_tui.ui.widgets.document_area import DocumentArea
from chat_tui.ui.widgets.probability import TokenItem

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


class Bench(App):
    def compose(self) -> ComposeResult:
        yield DocumentArea("Once upon a time,")


def token(i: int) -> str:
    return ("\n" if i % 16 == 15 else " ") + WORDS[i % len(WORDS)]


async def run(tokens: int) -> tuple[float, float, float]:
    app = Bench()
    async with app.run_test(size=(100, 30)) as pilot:
        area = app.query_one(DocumentArea)
        area.move_cursor(area.document.end)
        area.begin()
        tenth = max(1, tokens // 10)
        marks: list[float] = []
        started = time.perf_counter()
        for i in range(tokens):
            text = token(i)
            area.write(text)
            area.add_tokens([TokenItem(text, -0.2 - (i % 7) / 10)])
            if i % 8 == 7:  # a network read brings a few tokens; the screen redraws between reads
                area.flush()
                await pilot.pause()
            if i % tenth == tenth - 1:
                marks.append(time.perf_counter())
        area.stop_streaming()
        await pilot.pause()
        total = time.perf_counter() - started
        first = marks[0] - started
        last = marks[-1] - marks[-2]
        assert area.generated_text == "".join(token(i) for i in range(tokens))
    return total, first, last


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, nargs="+", default=[2000, 8000, 32000])
    args = parser.parse_args()
    print(f"{'tokens':>8} {'total s':>8} {'µs/token':>9} {'first 10%':>10} {'last 10%':>9}")
    for n in args.tokens:
        total, first, last = await run(n)
        print(f"{n:>8} {total:>8.2f} {total / n * 1e6:>9.0f} {first:>9.2f}s {last:>8.2f}s")


if __name__ == "__main__":
    asyncio.run(main())
