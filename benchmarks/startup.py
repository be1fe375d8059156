#!/usr/bin/env python3
"""Start-up to the first frame, headless: chat-tui against the minimal Textual app.

    python benchmarks/startup.py                 # 9 runs of each, alternating; medians
    python benchmarks/startup.py -n 15 --runs    # and every run's numbers

Also the CPU time (user + system, from rusage) at mount and at the first frame: steadier than
wall time when the machine is shared.

Each run is a fresh process (`--child app|min`) that runs the app headless at 160x50 and
prints, in ms since the process started its script: imports done, `App.on_mount`, and the first
frame (the first `call_after_refresh` after mount); plus the time spent in Textual's phases
(Stylesheet.parse/apply/update_nodes, App._register, Screen._refresh_layout, Compositor
render_update), wrapped for the run (the wrapping costs a little: compare ratios, not absolute
numbers, with benchmarks/tui.py's tmux timing). chat-tui runs as `chat-tui -m gpt-4o-mini`
does, with a fresh home and an unreachable endpoint, and is stopped at its first frame (its
warm-up, which starts after it, is not run). Sources are compiled first, as a user's install is.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # before anything else is imported

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASES = [
    ("Stylesheet", "parse"), ("Stylesheet", "apply"), ("Stylesheet", "update_nodes"), ("App", "_register"),
    ("Screen", "_refresh_layout"), ("Compositor", "render_update"),
]


def cpu_ms() -> float:
    """CPU time of this process so far (user + system), interpreter start-up included."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


def child(which: str, t0: float) -> None:
    marks: dict[str, float] = {}
    spent: dict[str, float] = {}

    def mark(name: str) -> None:
        marks[name] = (time.perf_counter() - t0) * 1000
        marks[f"{name}_cpu"] = cpu_ms()

    from textual._compositor import Compositor
    from textual.app import App
    from textual.css.stylesheet import Stylesheet
    from textual.screen import Screen

    owners = {"Stylesheet": Stylesheet, "App": App, "Screen": Screen, "Compositor": Compositor}
    for owner, name in PHASES:
        cls, label = owners[owner], f"{owner}.{name}"
        original = getattr(cls, name)
        depth = [0]

        def timed(*args, _original=original, _label=label, _depth=depth, **kwargs):
            _depth[0] += 1
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                _depth[0] -= 1
                if not _depth[0]:  # outermost call only (apply recurses)
                    spent[_label] = spent.get(_label, 0.0) + (time.perf_counter() - start) * 1000

        setattr(cls, name, timed)

    if which == "min":
        from textual.widgets import Input, Static

        mark("imported")

        class Minimal(App):
            def compose(self):
                yield Static("minimal app ready")
                yield Input(placeholder="type here")

            def on_mount(self) -> None:
                mark("mount")
                self.call_after_refresh(lambda: (mark("first_frame"), self.exit()))

        Minimal().run(headless=True, size=(160, 50))
    else:
        import chat_tui.cli.main  # noqa: F401
        import chat_tui.ui.app as ui_app

        main = sys.modules["chat_tui.cli.main"]
        mark("imported")
        mounted = ui_app.ChatApp.on_mount

        def on_mount(self) -> None:
            mark("mount")
            # First, so that it runs right after the first frame, before the app's own
            # after-refresh work (the warm-up's start, the theme files).
            self.call_after_refresh(lambda: (mark("first_frame"), self.exit()))
            mounted(self)

        ui_app.ChatApp.on_mount = on_mount
        ui_app.ChatApp.warm_up = lambda self: None
        run = ui_app.ChatApp.run
        ui_app.ChatApp.run = lambda self, **kw: run(self, headless=True, size=(160, 50))
        main.main(["-m", "gpt-4o-mini"])
    print(json.dumps({"marks": marks, "phases": spent}))


def one_run(which: str, home: str) -> dict:
    env = {**os.environ, "CHAT_TUI_HOME": home, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    out = subprocess.run([sys.executable, __file__, "--child", which], env=env, capture_output=True, text=True,
                         timeout=120, cwd=ROOT, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{which} run failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=9, help="runs of each app (default 9)")
    ap.add_argument("--runs", action="store_true", help="print every run too")
    ap.add_argument("--child", choices=("app", "min"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child, T0)
        return
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "chat_tui")], check=True)
    results: dict[str, list[dict]] = {"app": [], "min": []}
    with tempfile.TemporaryDirectory(prefix="chat-tui-startup-") as home:
        one_run("app", home)  # the first run writes the home's files: not counted
        for _ in range(a.n):
            for which in ("app", "min"):  # alternating: both see the same machine
                results[which].append(one_run(which, home))
                if a.runs:
                    r = results[which][-1]
                    print(which, " ".join(f"{k}={v:.0f}" for k, v in r["marks"].items()))
    labels = {"app": "chat-tui", "min": "minimal Textual app"}
    med = {w: {k: statistics.median(r["marks"][k] for r in rs) for k in ("imported", "mount", "first_frame")}
           for w, rs in results.items()}
    print(f"medians of {a.n} runs, ms since the process started its script:")
    for which, rs in results.items():
        m = med[which]
        phases = {f"{o}.{n}": statistics.median(r["phases"].get(f"{o}.{n}", 0.0) for r in rs) for o, n in PHASES}
        print(f"  {labels[which]:<20} imported {m['imported']:6.1f}  mount {m['mount']:6.1f}  first frame {m['first_frame']:6.1f}")
        print("  " + " " * 20 + " " + "  ".join(f"{k} {v:.1f}" for k, v in phases.items()))
    print(f"  first frame ratio (chat-tui / minimal): {med['app']['first_frame'] / med['min']['first_frame']:.2f}")
    # CPU time is steadier than wall time on a shared machine (no waiting for a core counted).
    cpu = {w: {k: statistics.median(r["marks"][f"{k}_cpu"] for r in rs) for k in ("mount", "first_frame")}
           for w, rs in results.items()}
    for which in results:
        c = cpu[which]
        print(f"  {labels[which]:<20} CPU to the first frame {c['first_frame']:6.1f} ms (from mount {c['first_frame'] - c['mount']:5.1f})")
    print(f"  CPU ratio (chat-tui / minimal): {cpu['app']['first_frame'] / cpu['min']['first_frame']:.2f}")


if __name__ == "__main__":
    main()
