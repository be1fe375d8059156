"""Every binding id the keys screen (F1) lists can be remapped from config.toml, including
those of screens and widgets that are imported only when first used (compare, history, the
token probabilities...): in a fresh process, with every id moved to a new key, no id is
refused and each new key runs its binding's action where the binding applies."""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys
from pathlib import Path

from chat_tui.ui.screens.help import bindings_table

from test_tui_basic import make_app

HERE = Path(__file__).resolve().parent


def new_keys(count: int) -> list[str]:
    """Keys no chat-tui binding uses, and no text field takes as a character."""
    pool = [f"ctrl+alt+{c}" for c in string.ascii_lowercase + string.digits]
    pool += [f"alt+shift+{c}" for c in string.ascii_lowercase]
    pool += [f"ctrl+alt+f{n}" for n in range(1, 13)] + [f"ctrl+shift+f{n}" for n in range(1, 13)]
    pool += [f"ctrl+alt+shift+{c}" for c in string.ascii_lowercase]
    pool += [f"ctrl+alt+shift+f{n}" for n in range(1, 13)]
    pool += [f"ctrl+alt+shift+{d}" for d in string.digits] + [f"alt+shift+f{n}" for n in range(1, 13)]
    pool += [f"alt+shift+{d}" for d in string.digits]
    pool += [f"shift+f{n}" for n in range(13, 25)]
    assert count <= len(pool)
    return pool[:count]


async def test_every_listed_binding_id_can_be_remapped_in_a_fresh_process(fake_openai, tmp_path):
    app, _ = make_app(fake_openai, tmp_path)
    async with app.run_test(size=(160, 48)):
        listed = sorted({bid for _, rows in bindings_table(app) for _, _, bid in rows if bid})
    assert {"compare.run", "history.pin", "lane.stop", "probability.next", "message.copy"} <= set(listed)
    keymap = dict(zip(listed, new_keys(len(listed))))

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("[keys]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in keymap.items()))
    env = {**os.environ, "CHAT_TUI_HOME": str(home)}
    env.pop("OPENAI_API_KEY", None)
    out = subprocess.run([sys.executable, str(HERE / "keymap_probe.py")], capture_output=True, text=True,
                         env=env, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["warnings"] == []
    missing = sorted(set(listed) - set(report["fired"]))
    assert missing == [], f"new keys that did not reach their binding: {missing}"
