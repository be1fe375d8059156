"""The clipboard's text, for a template's {{clipboard}}: the system clipboard where a tool can
read it (wl-paste, xclip, xsel, pbpaste: a terminal cannot be asked safely, see image_protocol.py),
else what chat-tui itself last copied (`c` on a message). Never raises; "" when there is none."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

TOOLS = (
    (("wl-paste", "--no-newline"), "WAYLAND_DISPLAY"),
    (("xclip", "-selection", "clipboard", "-out"), "DISPLAY"),
    (("xsel", "--clipboard", "--output"), "DISPLAY"),
    (("pbpaste",), None),
)
TIMEOUT = 1.0  # seconds: a clipboard owner that does not answer must not hold up the app


def system_clipboard(env: Mapping[str, str] = os.environ) -> str:
    for command, needs in TOOLS:
        if command[0] == "pbpaste" and sys.platform != "darwin":
            continue
        if (needs and not env.get(needs)) or shutil.which(command[0]) is None:
            continue
        try:
            done = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0 and done.stdout:
            return done.stdout.decode("utf-8", "replace")
    return ""


async def read_clipboard(app: Any) -> str:
    """The system clipboard (read in a thread), else the app's own."""
    return await asyncio.to_thread(system_clipboard) or (app.clipboard or "")
