"""The core, api and store layers never import the UI toolkit (Harlequin's boundary check)."""

import json
import subprocess
import sys


def test_core_api_store_do_not_import_textual_or_rich():
    # httpx imports rich for its own command-line tool when rich is installed (httpx/_main.py,
    # guarded by `except ImportError`), so textual and rich are made unimportable here: any
    # import of them from our lower layers then fails loudly, and sys.modules must stay clean.
    code = (
        "import json, sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('textual', 'rich'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import chat_tui.core.config, chat_tui.core.params, chat_tui.core.tokens, chat_tui.core.models_table\n"
        "import chat_tui.core.messages, chat_tui.core.paths, chat_tui.core.text, chat_tui.core.titles\n"
        "import chat_tui.api.client, chat_tui.api.sse, chat_tui.api.stream, chat_tui.api.local_server\n"
        "import chat_tui.store\n"
        "import chat_tui.services.replies, chat_tui.services.chat, chat_tui.services.compare, chat_tui.services.titles, chat_tui.services.history\n"
        "import chat_tui.cli.ask, chat_tui.cli.compare, chat_tui.cli.history, chat_tui.cli.models\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_lower_layers_import_only_downwards():
    """core imports nothing of ours; api and store import only core."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "chat_tui"
    allowed = {"core": {"core"}, "api": {"core", "api"}, "store": {"core", "store"}}
    bad = []
    for layer, ok in allowed.items():
        for path in (root / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    parts = name.split(".")
                    if parts[0] == "chat_tui" and len(parts) > 1 and parts[1] not in ok and parts[1] != "__init__":
                        bad.append(f"{path.relative_to(root)} imports {name}")
                    if parts[0] in ("textual", "rich"):
                        bad.append(f"{path.relative_to(root)} imports {name}")
    assert not bad, bad


def test_version_and_help_do_not_load_heavy_modules():
    code = (
        "import sys, json\n"
        "from chat_tui.cli.parser import build_parser\n"
        "try:\n"
        "    build_parser().parse_args(['--version'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('httpx', 'tiktoken', 'textual', 'sqlite_utils') if m in sys.modules]\n"
        "print(json.dumps(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
