#!/usr/bin/env python3
"""The history screen on a big database, in a real terminal (tmux).

    python benchmarks/history_screen.py [-n 100000] [--repeat 5]

Builds (or reuses, --db) a database of N conversations / 10N messages with benchmarks/history.py's
generator, starts chat-tui on it, and times F9 → the first page of the history list on screen,
then typing a word → the filtered list on screen.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from history import generate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--db", help="database to build or reuse")
    a = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="chat-tui-hist-"))
    db = Path(a.db) if a.db else home / "chat-tui.db"
    if not db.exists():
        print(f"generating {a.n} conversations…", flush=True)
        generate(db, a.n)
    exe = Path(sys.executable).with_name("chat-tui")
    sock = f"ct-hist-{time.time_ns()}"

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True).stdout

    def wait(predicate, timeout: float = 30) -> float | None:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if predicate(tmux("capture-pane", "-p", "-t", "h")):
                return time.monotonic() - start
            time.sleep(0.003)
        return None

    opens, searches = [], []
    try:
        for _ in range(a.repeat):
            tmux("new-session", "-d", "-s", "h", "-x", "160", "-y", "50",
                 f"env CHAT_TUI_HOME={home} OPENAI_BASE_URL=http://127.0.0.1:9/v1 {exe} --db {db} -m gpt-4o-mini")
            if wait(lambda s: "Enter sends" in s) is None:
                raise SystemExit("app did not start")
            time.sleep(1.5)  # let start-up work (models, tokenizer) finish
            tmux("send-keys", "-t", "h", "Escape")  # the welcome screen, if the dead endpoint showed it
            time.sleep(0.3)
            tmux("send-keys", "-t", "h", "F9")
            took = wait(lambda s: "conversations" in s and "msgs" in s, 10)
            opens.append(took if took is not None else float("inf"))
            time.sleep(0.5)
            tmux("send-keys", "-t", "h", "-l", "kalo")  # a common word of the generated vocabulary
            took = wait(lambda s: "matching conversations" in s and "msgs" in s, 10)
            searches.append(took if took is not None else float("inf"))
            tmux("kill-session", "-t", "h")
    finally:
        tmux("kill-server")
    print(f"history screen on {a.n} conversations: open to first page median {statistics.median(opens) * 1000:.0f} ms "
          f"(min {min(opens) * 1000:.0f}); typing a word to results (incl. the 150 ms debounce) median {statistics.median(searches) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
