#!/usr/bin/env python3
"""Compare mode in a real terminal: 4 lanes streaming at once, as fast as the server sends
(or at --rate tokens a second per lane).

    python benchmarks/compare.py [--tokens 4000] [-n 3]
    python benchmarks/compare.py --tokens 2000 --rate 50 --keys 40     # issue 17's 4 x 50 tok/s

Starts benchmarks/harness/fake_openai.py (answer ends with ZZENDMARKERZZ), launches chat-tui in a
private tmux server, opens compare mode (F8) with a 4-seed sweep and runs it. Measures, per run:
time from the last byte any lane received ([DONE], from the server log) until all four lanes show
their end marker; pairs each lane's [DONE] with the n-th marker to appear for a per-lane lag;
and the latency of a key pressed while the lanes stream (F2 toggles the setup area, or with
--key type a character typed into the sweep field, a text input), a key every quarter second; and the CPU seconds of the app's process tree from Enter to the last marker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from tui import PROMPT, Server, chat_tui_cmd  # noqa: E402

MARKER = "ZZENDMARKERZZ"
TYPED = "@"  # never in the answer (nor in the screen around it): each one typed shows once


def tree_cpu(pid: int) -> float:
    """User + system CPU seconds of `pid` and its descendants (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        stats[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += stats.get(p, 0.0)
        todo.extend(children.get(p, []))
    return total


class Tmux:
    def __init__(self) -> None:
        self.socket = f"ct-compare-{time.time_ns()}"

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "c")

    def wait(self, predicate, timeout: float, poll: float = 0.003) -> float | None:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if predicate(self.screen()):
                return time.monotonic() - start
            time.sleep(poll)
        return None


def one_run(a, home: str, log: Path) -> dict:
    t = Tmux()
    try:
        t("new-session", "-d", "-s", "c", "-x", "200", "-y", "50", chat_tui_cmd(home))
        if t.wait(lambda s: "Enter sends" in s, 30) is None:
            raise SystemExit("app did not start")
        time.sleep(0.5)
        t("send-keys", "-t", "c", "-l", PROMPT)
        time.sleep(0.2)
        t("send-keys", "-t", "c", "F8")
        if t.wait(lambda s: "sweep" in s, 10) is None:
            raise SystemExit("compare mode did not open")
        time.sleep(0.5)  # let the screen settle its focus on the prompt
        for _ in range(5):  # prompt -> lane 1..4 -> sweep; one key at a time, as a person types
            t("send-keys", "-t", "c", "Tab")
            time.sleep(0.1)
        t("send-keys", "-t", "c", "-l", "seed=1,2,3,4")
        # The sweep's row must show the text: if the Tabs ran before the screen had settled its
        # focus, the text went elsewhere and Enter would start nothing (a run that never ends).
        if t.wait(lambda s: any("sweep" in line and "seed=1,2,3,4" in line for line in s.splitlines()), 5) is None:
            raise SystemExit("the sweep field did not get the text (focus was elsewhere): run again")
        log.write_text("")
        pane_pid = int(t("display", "-p", "-t", "c", "#{pane_pid}").strip())
        cpu_before = tree_cpu(pane_pid)
        t("send-keys", "-t", "c", "Enter")
        started = time.time()
        if a.key == "type":
            # The run focuses the first lane; back to the sweep field (lane 1 <- Run <- blind <-
            # sweep), where typed characters show (the first replaces the field's selected text).
            for _ in range(3):
                t("send-keys", "-t", "c", "BTab")
                time.sleep(0.05)
        seen: list[float] = []
        cpu = None
        key_latencies: list[float] = []
        deadline = time.monotonic() + a.timeout
        setup_shown = True
        last_key = 0.0
        while time.monotonic() < deadline:
            screen = t.screen()
            count = screen.count(MARKER)
            while len(seen) < count:
                seen.append(time.time())
            if count >= 4:
                cpu = tree_cpu(pane_pid) - cpu_before
                break
            # A key while streaming: F2 hides/shows the setup area ("sweep" label).
            if len(key_latencies) < a.keys and time.monotonic() - last_key > 0.25 and started + 0.05 < time.time():
                if a.key == "type":  # a character typed into the prompt box (the next prompt)
                    typed = screen.count(TYPED)
                    t("send-keys", "-t", "c", "-l", TYPED)
                    took = t.wait(lambda s, n=typed: s.count(TYPED) > n, 5, poll=0.002)
                else:
                    t("send-keys", "-t", "c", "F2")
                    setup_shown = not setup_shown
                    took = t.wait(lambda s, shown=setup_shown: ("sweep" in s) == shown, 5, poll=0.002)
                key_latencies.append(took if took is not None else float("inf"))
                last_key = time.monotonic()
            time.sleep(0.003)
        done = sorted(
            rec["t_done"] for rec in map(json.loads, log.read_text().splitlines()) if rec.get("event") == "done" and rec.get("t_done")
        )
        return {
            "lanes_done": len(done),
            "markers": len(seen),
            "lag_all": (seen[-1] - done[-1]) if len(seen) >= 4 and done else None,
            "lag_per_lane": [s - d for s, d in zip(seen, done)],
            "keys": key_latencies,
            "cpu": cpu,
        }
    finally:
        t("kill-server")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=4000)
    ap.add_argument("-n", type=int, default=3)
    ap.add_argument("--keys", type=int, default=3)
    ap.add_argument("--key", choices=("f2", "type"), default="f2",
                    help="f2: show/hide the setup area (lays out the whole screen); type: a character into the sweep field")
    ap.add_argument("--rate", type=float, default=0, help="tokens a second per lane (0: as fast as possible)")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--server-python", default="/tmp/bench-venv/bin/python")
    a = ap.parse_args()
    home = tempfile.mkdtemp(prefix="chat-tui-compare-")
    log = Path(home) / "server.jsonl"
    srv = Server(a.server_python, a.tokens, a.rate, log)
    runs = []
    try:
        for i in range(a.n):
            r = one_run(a, home, log)
            runs.append(r)
            lanes = ", ".join(f"{x:.2f}" for x in r["lag_per_lane"])
            keys = ", ".join(f"{k * 1000:.0f}" for k in r["keys"])
            print(f"run {i + 1}: lanes done {r['lanes_done']}, markers {r['markers']}, lag after the last byte "
                  f"{r['lag_all'] if r['lag_all'] is None else round(r['lag_all'], 2)} s, per lane [{lanes}] s, keys [{keys}] ms, "
                  f"CPU {r['cpu'] if r['cpu'] is None else round(r['cpu'], 2)} s", flush=True)
    finally:
        srv.stop()
    lags = [r["lag_all"] for r in runs if r["lag_all"] is not None]
    keys = [k for r in runs for k in r["keys"] if k != float("inf")]
    speed = f"{a.rate:g} tok/s each" if a.rate else "full speed"
    if lags:
        print(f"4 lanes x {a.tokens} tokens at {speed}: all lanes on screen {statistics.median(lags):.2f} s (median) after the last byte")
    cpus = [r["cpu"] for r in runs if r["cpu"] is not None]
    if cpus:
        print(f"CPU from Enter to the last lane's end: median {statistics.median(cpus):.2f} s")
    if keys:
        keys.sort()
        p95 = keys[min(len(keys) - 1, round(0.95 * (len(keys) - 1)))]
        print(f"key while streaming ({len(keys)} keys): median {statistics.median(keys) * 1000:.0f} ms, "
              f"p95 {p95 * 1000:.0f} ms, max {max(keys) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
