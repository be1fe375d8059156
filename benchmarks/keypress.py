#!/usr/bin/env python3
"""Keypress latency while an answer streams, in a real terminal (tmux).

    python benchmarks/keypress.py [--tokens 8000] [--rate 200] [-n 20]

Starts benchmarks/harness/fake_openai.py, launches chat-tui in a private tmux server, sends the
prompt, and once text is streaming types single characters into the prompt box, timing each
from `send-keys` until it shows on screen (capture-pane polled every 2 ms). Prints the latencies.
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
from tui import PROMPT, Server, chat_tui_cmd  # noqa: E402

SOCKET = f"ct-keys-{int(time.time())}"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True).stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", "b")


def wait_for(predicate, timeout: float, poll: float = 0.002) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate(screen()):
            return time.monotonic() - start
        time.sleep(poll)
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=8000)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--server-python", default="/tmp/bench-venv/bin/python")
    a = ap.parse_args()
    home = tempfile.mkdtemp(prefix="chat-tui-keys-")
    srv = Server(a.server_python, a.tokens, a.rate, Path(home) / "server.jsonl")
    try:
        tmux("new-session", "-d", "-s", "b", "-x", "160", "-y", "50", chat_tui_cmd(home))
        if wait_for(lambda s: "Enter sends" in s, 30) is None:
            raise SystemExit("app did not start")
        time.sleep(0.5)
        tmux("send-keys", "-t", "b", "-l", PROMPT)
        time.sleep(0.3)
        tmux("send-keys", "-t", "b", "Enter")
        if wait_for(lambda s: "streaming" in s or "reply:" in s, 30) is None:
            raise SystemExit("no streaming seen:\n" + screen())
        time.sleep(1.0)
        latencies = []
        typed = ""
        for i in range(a.n):
            ch = "qwertyuiopasdfghjklz"[i % 20]
            typed += ch
            target = typed[-12:]
            tmux("send-keys", "-t", "b", "-l", ch)
            took = wait_for(lambda s: target in s, 5)
            latencies.append(took if took is not None else float("inf"))
            time.sleep(0.15)
        tmux("kill-server")
    finally:
        srv.stop()
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
    ok = [x for x in latencies if x != float("inf")]
    print(f"keypress while streaming ({a.tokens} tokens @ {a.rate or 'max'} tok/s), n={len(latencies)}")
    print(f"  median {statistics.median(ok) * 1000:.0f} ms   p90 {sorted(ok)[int(len(ok) * 0.9) - 1] * 1000:.0f} ms   max {max(ok) * 1000:.0f} ms   missed {len(latencies) - len(ok)}")


if __name__ == "__main__":
    main()
