#!/usr/bin/env python3
"""chat-tui in a real terminal (tmux), timed with benchmarks/harness/tui_bench.py.

    python benchmarks/tui.py --out /tmp/ct-bench                       # everything
    python benchmarks/tui.py --scenarios 8000:0 --stream-n 3           # one scenario

Measures, in one run so the ratios are comparable on a noisy machine:
  * startup to an interactive prompt: chat-tui and the minimal Textual app (benchmarks/minimal_app.py)
  * streaming: an 8,000-token Markdown answer at full speed and at 200 tokens/s, served by
    benchmarks/harness/fake_openai.py: lag after the last byte, CPU seconds, peak memory
Needs tmux, and a Python with aiohttp for the fake server (`--server-python`, default: the
bench venv from benchmarks/harness/README.md, /tmp/bench-venv/bin/python).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "harness"
PORT = 8766
PROMPT = "Please write the benchmark document."


def chat_tui_cmd(home: str) -> str:
    exe = Path(sys.executable).with_name("chat-tui")
    return f"env CHAT_TUI_HOME={home} OPENAI_BASE_URL=http://127.0.0.1:{PORT}/v1 {exe} -m gpt-4o-mini"


class Server:
    def __init__(self, python: str, tokens: int, rate: float, log: Path) -> None:
        self.p = subprocess.Popen(
            [python, str(BENCH / "fake_openai.py"), "--port", str(PORT), "--tokens", str(tokens), "--rate", str(rate), "--log", str(log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.p.poll() is not None:  # e.g. the port is taken by a server left running
                raise RuntimeError(f"fake server exited (is port {PORT} in use?)")
            try:
                socket.create_connection(("127.0.0.1", PORT), 0.1).close()
            except OSError:
                time.sleep(0.05)
                continue
            time.sleep(0.1)
            if self.p.poll() is None:
                return
        raise RuntimeError("fake server did not start")

    def stop(self) -> None:
        self.p.terminate()
        self.p.wait(5)


def prepare(out: Path) -> tuple[Path, str, str]:
    """A run's output folder (`runs.jsonl` emptied), chat-tui compiled once, and a fresh home:
    (the runs file, the home, the shell command that empties its database before each run)."""
    out.mkdir(parents=True, exist_ok=True)
    runs = out / "runs.jsonl"
    runs.unlink(missing_ok=True)
    # Users run chat-tui from bytecode: pip compiles it on install, and an editable install writes
    # __pycache__ on the first run. Where PYTHONDONTWRITEBYTECODE is set (this sandbox), every
    # run would compile the sources again (~20 ms): compile them once, as a user's first run does.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "chat_tui")], check=True)
    home = tempfile.mkdtemp(prefix="chat-tui-bench-home-")
    return runs, home, f"rm -f {home}/chat-tui.db {home}/chat-tui.db-wal {home}/chat-tui.db-shm"


def tui_bench(mode: str, label: str, cmd: str, ready: str, n: int, runs: Path, extra: list[str]) -> None:
    args = [sys.executable, str(BENCH / "tui_bench.py"), mode, "--label", label, "--cmd", cmd, "--ready", ready,
            "-n", str(n), "--json", str(runs), *extra]
    out = subprocess.run(args, capture_output=True, text=True)
    print("\n".join(line for line in out.stdout.splitlines() if not line.startswith("{")), out.stderr[-1500:], flush=True)


def summarise(runs: Path) -> str:
    rows: dict[tuple[str, str], list[dict]] = {}
    for line in runs.read_text().splitlines():
        rec = json.loads(line)
        rows.setdefault((rec["label"], rec["mode"]), []).append(rec)
    out = ["| run | n | startup s (median/min) | lag after last byte s (median) | CPU s (median) | peak RSS MB | status |", "|---|---|---|---|---|---|---|"]
    for (label, mode), recs in rows.items():
        def med(key: str) -> str:
            vals = [r[key] for r in recs if isinstance(r.get(key), (int, float))]
            return f"{statistics.median(vals):.2f}" if vals else "-"

        def mn(key: str) -> str:
            vals = [r[key] for r in recs if isinstance(r.get(key), (int, float))]
            return f"{min(vals):.2f}" if vals else "-"

        statuses = ",".join(sorted({str(r.get("status")) for r in recs}))
        if mode == "startup":
            out.append(f"| {label} startup | {len(recs)} | {med('startup_s')} / {mn('startup_s')} | | | | {statuses} |")
        else:
            out.append(f"| {label} | {len(recs)} | | {med('lag_after_done_s')} | {med('cpu_s')} | {med('peak_rss_mb')} | {statuses} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/chat-tui-bench")
    ap.add_argument("--scenarios", default="8000:0,8000:200")
    ap.add_argument("--startup-n", type=int, default=7)
    ap.add_argument("--stream-n", type=int, default=3)
    ap.add_argument("--server-python", default="/tmp/bench-venv/bin/python")
    ap.add_argument("--skip-startup", action="store_true")
    a = ap.parse_args()
    out = Path(a.out)
    runs, home, pre = prepare(out)
    # The status line shows the model once the app is up; the prompt has focus from the first frame.
    ready = r"Enter sends"
    if not a.skip_startup:
        srv = Server(a.server_python, 100, 0, out / "server-startup.jsonl")
        try:
            tui_bench("startup", "minimal-textual", f"{sys.executable} {ROOT / 'benchmarks' / 'minimal_app.py'}", "minimal app ready", a.startup_n, runs, [])
            tui_bench("startup", "chat-tui", chat_tui_cmd(home), ready, a.startup_n, runs, ["--pre-cmd", pre])
        finally:
            srv.stop()
    for scenario in filter(None, a.scenarios.split(",")):
        tokens, rate = scenario.split(":")
        log = out / f"server-{tokens}-{rate}.jsonl"
        srv = Server(a.server_python, int(tokens), float(rate), log)
        try:
            tui_bench("stream", f"chat-tui {tokens} tok @ {rate or 'max'}", chat_tui_cmd(home), ready, a.stream_n, runs,
                      ["--pre-cmd", pre, "--submit", "Enter", "--prompt", PROMPT, "--server-log", str(log),
                       "--screens-dir", str(out / "screens"), "--timeout", "200"])
        finally:
            srv.stop()
    table = summarise(runs)
    (out / "summary.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
