#!/usr/bin/env python3
"""Command-line start-up: what a reading command costs against `chat-tui --version`.

    python benchmarks/cli.py [-n 21] [--conversations 1000]

Times, with benchmarks/harness/cli_bench.py (whole process: wall, CPU from wait4, peak RSS;
median of -n runs after two warm-ups), `chat-tui --version` (the interpreter, the entry point
and the argument parser) and the reading commands `history list`, `history search WORD` and
`history show ID` on a database of --conversations conversations made by
benchmarks/history.py's generator. Issue 17's goal: `history list` within 2x `--version`.
Runs with the Python this script runs with (its `chat-tui` beside it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from history import generate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=21)
    ap.add_argument("--conversations", type=int, default=1000)
    a = ap.parse_args()
    exe = str(Path(sys.executable).with_name("chat-tui"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "chat_tui")], check=True)
    with tempfile.TemporaryDirectory(prefix="chat-tui-cli-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        generate(home / "chat-tui.db", a.conversations)
        results = {}
        for label, args in [("--version", ["--version"]), ("history list", ["history", "list"]),
                            ("history search", ["history", "search", "answer"]),
                            ("history show", ["history", "show", "1"])]:
            log = Path(tmp) / "runs.jsonl"
            log.unlink(missing_ok=True)
            subprocess.run([sys.executable, str(ROOT / "benchmarks" / "harness" / "cli_bench.py"), "-n", str(a.n),
                            "--warmup", "2", f"--label={label}", f"--env=CHAT_TUI_HOME={home}", "--json", str(log),
                            "--", exe, *args], check=True, capture_output=True)
            runs = [json.loads(line) for line in log.read_text().splitlines()]
            results[label] = {k: statistics.median(r[k] for r in runs) for k in ("wall_s", "cpu_s", "peak_rss_mb")}
        base = results["--version"]
        print(f"\n{a.conversations:,} conversations; median of {a.n} runs")
        print(f"{'command':<16} {'wall s':>8} {'CPU s':>8} {'RSS MB':>8} {'wall / --version':>17} {'CPU / --version':>16}")
        for label, r in results.items():
            print(f"{label:<16} {r['wall_s']:8.3f} {r['cpu_s']:8.3f} {r['peak_rss_mb']:8.1f}"
                  f" {r['wall_s'] / base['wall_s']:17.2f} {r['cpu_s'] / base['cpu_s']:16.2f}")


if __name__ == "__main__":
    main()
