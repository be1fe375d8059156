#!/usr/bin/env python3
"""Streaming at a realistic rate: chat-tui against `llm chat` on the same stream, in one run.

    python benchmarks/streaming.py                       # 8,000 tokens at 200 tok/s, 3 runs each
    python benchmarks/streaming.py --tokens 2000 -n 2    # shorter

Starts benchmarks/harness/fake_openai.py (its Markdown answer, 4 characters a token, ending in
ZZENDMARKERZZ) and times both clients with benchmarks/harness/tui_bench.py in tmux (160x50),
alternating them run by run so that both see the same machine: CPU seconds of the process tree
during the stream, lag from the server's last byte to the marker on screen, peak memory.
`llm chat` prints plain text; chat-tui renders Markdown. Needs the peers from
benchmarks/harness/peers/setup_peers.sh (`llm` in /tmp/peers/llm, configured for port 8765)
and the bench venv with aiohttp for the server (/tmp/bench-venv, see benchmarks/harness/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from tui import BENCH, PROMPT, Server, prepare  # noqa: E402

import tui  # noqa: E402

PEERS = Path(os.environ.get("PEERS", "/tmp/peers"))
PORT = 8765  # the port setup_peers.sh wrote into llm's configuration
OFFLINE = ["HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9", "NO_PROXY=127.0.0.1,localhost"]


def run_one(label: str, cmd: str, ready: str, env: list[str], runs: Path, log: Path, extra: list[str],
            idle_before: float = 0) -> None:
    args = [sys.executable, str(BENCH / "tui_bench.py"), "stream", "--label", label, "--cmd", cmd, "--ready", ready,
            "-n", "1", "--json", str(runs), "--submit", "Enter", "--prompt", PROMPT, "--server-log", str(log),
            "--scroll-keys", "", "--timeout", "400", "--idle-before", str(idle_before), *extra]
    for e in env:
        args += ["--env", e]
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode:
        print(out.stdout[-800:], out.stderr[-800:], flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=8000)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("-n", type=int, default=3, help="runs of each client")
    ap.add_argument("--out", default="/tmp/chat-tui-streaming")
    ap.add_argument("--server-python", default="/tmp/bench-venv/bin/python")
    ap.add_argument("--only", default="chat-tui,llm-chat")
    ap.add_argument("--idle-before", type=float, default=0, metavar="S",
                    help="before Enter, wait up to S s until each client is idle (its start-up work done), "
                         "so the stream's CPU is the stream's alone; 0 (default): the harness's fixed 0.5 s")
    ap.add_argument("--baseline", metavar="EXE",
                    help="another build's chat-tui executable (e.g. an earlier commit's venv), run as client 'baseline'")
    a = ap.parse_args()
    out = Path(a.out)
    runs, home, pre = prepare(out)
    exe = Path(sys.executable).with_name("chat-tui")
    llm_home = PEERS / "home-llm"
    clients = {
        "chat-tui": (f"{exe} -m gpt-4o-mini", r"Enter sends",
                     [f"CHAT_TUI_HOME={home}", f"OPENAI_BASE_URL=http://127.0.0.1:{PORT}/v1", *OFFLINE],
                     ["--pre-cmd", pre]),
        "llm-chat": (f"{PEERS / 'llm' / 'bin' / 'llm'} chat -m fake-mini", r"Type 'exit' or 'quit' to exit",
                     [f"HOME={llm_home}", f"LLM_USER_PATH={llm_home / 'llm'}", *OFFLINE], []),
    }
    if a.baseline:
        base = clients["chat-tui"]
        clients["baseline"] = (f"{a.baseline} -m gpt-4o-mini", *base[1:])
    chosen = [c for c in a.only.split(",") if c] + (["baseline"] if a.baseline else [])
    tui.PORT = PORT
    log = out / "server.jsonl"
    srv = Server(a.server_python, a.tokens, a.rate, log)
    try:
        for i in range(a.n):
            for name in chosen if i % 2 == 0 else reversed(chosen):
                cmd, ready, env, extra = clients[name]
                run_one(name, cmd, ready, env, runs, log, extra, a.idle_before)
                print(f"run {i + 1}: {name} done", flush=True)
    finally:
        srv.stop()
    recs: dict[str, list[dict]] = {}
    for line in runs.read_text().splitlines():
        rec = json.loads(line)
        recs.setdefault(rec["label"], []).append(rec)
    rate = f"{a.rate:g} tok/s" if a.rate else "full speed"
    idle = f", Enter once idle (up to {a.idle_before:g} s)" if a.idle_before else ""
    table = [f"{a.tokens} tokens at {rate}, {a.n} runs each (medians){idle}", "",
             "| client | ok | CPU s | lag after last byte s | peak RSS MB |", "|---|---|---|---|---|"]
    medians: dict[str, float] = {}
    for name in chosen:
        rs = recs.get(name, [])
        ok = [r for r in rs if r.get("status") == "ok"]

        def med(key: str) -> float:
            vals = [r[key] for r in ok if isinstance(r.get(key), (int, float))]
            return statistics.median(vals) if vals else float("nan")

        medians[name] = med("cpu_s")
        table.append(f"| {name} | {len(ok)}/{len(rs)} | {med('cpu_s'):.2f} | {med('lag_after_done_s'):.3f} | {med('peak_rss_mb'):.1f} |")
    if "chat-tui" in medians and "llm-chat" in medians:
        table.append("")
        table.append(f"chat-tui CPU / llm chat CPU: {medians['chat-tui'] / medians['llm-chat']:.2f}x")
        if "baseline" in medians:
            table.append(f"baseline CPU / llm chat CPU: {medians['baseline'] / medians['llm-chat']:.2f}x")
    text = "\n".join(table)
    (out / "summary.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
