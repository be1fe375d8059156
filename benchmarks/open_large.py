#!/usr/bin/env python3
"""Opening a saved conversation of 1,000 messages: time until it is on screen and interactive.

    python benchmarks/open_large.py [-n 5] [--messages 1000]

Builds the conversation in a fresh database (alternating user/assistant Markdown messages),
then times `chat-tui --cid 1` in tmux with benchmarks/harness/tui_bench.py until the newest
message and the prompt are on screen, next to a plain start of the app on an empty database.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "harness"


def build(home: Path, count: int) -> None:
    from chat_tui.store import Store

    with Store(home / "chat-tui.db") as store:
        cid = store.create_conversation(title="A long conversation", model="gpt-4o-mini")
        parent = None
        for i in range(count):
            if i % 2 == 0:
                parent = store.add_message(cid, "user", f"Question {i}: how does step {i} work?", parent_id=parent)
            else:
                mid = store.begin_assistant(cid, parent_id=parent, model="gpt-4o-mini", params={"model": "gpt-4o-mini"}, endpoint="bench")
                text = (
                    f"## Step {i}\n\nIt works in **three** parts:\n\n- read the input\n- transform it\n- write it out\n\n"
                    f"```python\ndef step_{i}(x):\n    return x + {i}\n```\n\nANSWER-{i:04d}-END"
                )
                store.finish_assistant(mid, text, "complete", ttft=0.2, duration=1.0, completion_tokens=60)
                parent = mid


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--messages", type=int, default=1000)
    a = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="chat-tui-large-"))
    build(home, a.messages)
    exe = Path(sys.executable).with_name("chat-tui")
    last = f"ANSWER-{a.messages - 1:04d}-END"
    base = f"env CHAT_TUI_HOME={home} OPENAI_BASE_URL=http://127.0.0.1:9/v1 {exe} -m gpt-4o-mini"
    for label, cmd, ready in (
        ("empty start", base, r"Enter sends"),
        (f"open {a.messages} messages", f"{base} --cid 1", last),
    ):
        out = subprocess.run(
            [sys.executable, str(BENCH / "tui_bench.py"), "startup", "--label", label, "--cmd", cmd, "--ready", ready, "-n", str(a.n)],
            capture_output=True, text=True,
        )
        print("\n".join(line for line in out.stdout.splitlines() if not line.startswith("{")), out.stderr[-800:])


if __name__ == "__main__":
    main()
