"""Headless Chromium (Debian's package) driven over the DevTools protocol, for the browser test
of `chat-tui serve` and for screenshots/generate.py. aiohttp (which textual-serve brings) speaks
the protocol's WebSocket, so no browser-automation package is needed.

The page's terminal is xterm.js drawing on a canvas, so its text is not in the DOM. A script run
before the page's own records each xterm `Terminal` as it is made (xterm sets `this._core` in
its constructor; a setter on Object.prototype sees that), and `screen_text()` reads the rows of
its buffer.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio"]

RECORD_TERMINALS = """
(() => {
  const terminals = [];
  window.__terminals = terminals;
  Object.defineProperty(Object.prototype, "_core", {
    configurable: true,
    set(value) {
      Object.defineProperty(this, "_core", {value, writable: true, configurable: true, enumerable: false});
      // Only xterm's public Terminal has a `buffer` accessor (its addons keep a `_core` too).
      const proto = Object.getPrototypeOf(this);
      if (proto && "buffer" in proto) terminals.push(this);
    },
  });
})();
"""

SCREEN_TEXT = """
(() => {
  const term = (window.__terminals || []).find(t => t.buffer && t.buffer.active);
  if (!term) return null;
  const buffer = term.buffer.active, rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
})()
"""


def available() -> bool:
    return Path(CHROMIUM).exists()


class Chromium:
    """One headless Chromium with one page, closed on exit."""

    def __init__(self, width: int = 1280, height: int = 800) -> None:
        self.width, self.height = width, height
        self.profile = Path(tempfile.mkdtemp(prefix="chat-tui-chromium-"))
        self.process: subprocess.Popen | None = None
        self._next_id = 0
        self._pending: dict[int, asyncio.Future] = {}

    async def __aenter__(self) -> "Chromium":
        import aiohttp

        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", f"--window-size={self.width},{self.height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start (exit code {self.process.poll()})")
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        self.session = aiohttp.ClientSession()
        async with self.session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        page = next(t for t in targets if t["type"] == "page")
        self.ws = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        await self.send("Page.enable")
        await self.send("Runtime.enable")
        await self.send("Page.addScriptToEvaluateOnNewDocument", source=RECORD_TERMINALS)
        await self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                        deviceScaleFactor=1, mobile=False)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._reader.cancel()
        await self.ws.close()
        await self.session.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            future = self._pending.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(data)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        future = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        await self.ws.send_str(json.dumps({"id": self._next_id, "method": method, "params": params}))
        data = await asyncio.wait_for(future, 30)
        if "error" in data:
            raise RuntimeError(f"{method}: {data['error']}")
        return data.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}…: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)

    async def screen_text(self) -> str:
        """The terminal's visible rows, as text ("" before the terminal exists)."""
        return await self.evaluate(SCREEN_TEXT) or ""

    async def wait_for_text(self, needle: str, what: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = await self.screen_text()
            if needle in text:
                return text
            await asyncio.sleep(0.1)
        raise AssertionError(f"{what} never appeared in the browser's terminal:\n{text}")

    async def type(self, text: str) -> None:
        """Type into the terminal as a user would: focus it, insert the text."""
        await self.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        await self.send("Input.insertText", text=text)

    async def press_enter(self) -> None:
        for kind in ("keyDown", "keyUp"):
            await self.send("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                            windowsVirtualKeyCode=13, nativeVirtualKeyCode=13,
                            **({"text": "\r"} if kind == "keyDown" else {}))

    async def screenshot(self, path: Path) -> Path:
        result = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(result["data"]))
        return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """The live processes started by `pid`, and theirs (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":  # a zombie has ended
                parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


class Served:
    """`chat-tui serve` started as a user starts it, on a free loopback port; `url` once it
    says it is serving."""

    def __init__(self, env: dict[str, str], *args: str, port: int | None = None) -> None:
        import sys

        self.command = [str(Path(sys.executable).with_name("chat-tui")), "serve",
                        "--port", str(port or free_port()), *args]
        self.env = {**os.environ, **env}
        self.url = ""
        self.output: list[str] = []

    def __enter__(self) -> "Served":
        import selectors

        self.process = subprocess.Popen(self.command, env=self.env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not self.url:
            if not selector.select(timeout=0.2):
                continue
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if "serving the app on " in line:
                self.url = line.split("serving the app on ", 1)[1].split()[0]
        selector.close()
        if not self.url:
            self.stop()
            raise AssertionError(f"chat-tui serve did not start: {''.join(self.output)}")
        return self

    def stop(self, signal_number: int | None = None, timeout: float = 15) -> int:
        """Ctrl+C (SIGINT) by default; the exit code, and whatever it printed in `output`."""
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal_number or signal.SIGINT)
        try:
            rest, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            rest, _ = self.process.communicate()
            raise AssertionError("chat-tui serve did not stop on Ctrl+C")
        self.output.append(rest or "")
        return self.process.returncode

    def __exit__(self, *exc: Any) -> None:
        if self.process.poll() is None:
            try:
                self.stop()
            except AssertionError:
                pass
