"""The layers of the package, checked over every module (Harlequin's way, plus an import graph):

    cli | ui  ->  services  ->  api | store  ->  core

Imports point down only: core imports nothing of ours; api and store import only core;
services imports those three; ui imports everything below it but never cli; cli imports
everything. `chat_tui/__init__.py` (the version) may be imported from anywhere. Every import
counts, lazy ones inside functions and `TYPE_CHECKING` ones included, and the graph they make
has no cycle. Below ui, nothing imports the UI toolkit.
"""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess

import pytest
import sys
from pathlib import Path

import chat_tui

ROOT = Path(chat_tui.__file__).resolve().parent
ALLOWED = {
    "core": {"core"},
    "api": {"core", "api"},
    "store": {"core", "store"},
    "services": {"core", "api", "store", "services"},
    "ui": {"core", "api", "store", "services", "ui"},
    "cli": {"core", "api", "store", "services", "ui", "cli"},
    "main": {"cli"},
}


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the chat_tui modules it imports (`from package import submodule` counts as an
    import of the submodule; a package's own __init__ runs for any import and is not an edge)."""
    mods = modules()

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(parent + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for target in targets:
                if target == "chat_tui" or target.startswith("chat_tui."):
                    resolved = resolve(target)
                    if resolved and resolved != name:
                        graph[name].add(resolved)
    return graph


def layer(module: str) -> str:
    if module == "chat_tui":
        return "version"
    part = module.split(".")[1]
    return "main" if part == "__main__" else part


def test_every_module_is_in_a_layer():
    assert {layer(m) for m in modules()} == set(ALLOWED) | {"version"}


def test_imports_point_down_only():
    bad = [
        f"{module} ({layer(module)}) imports {target} ({layer(target)})"
        for module, targets in import_graph().items()
        for target in sorted(targets)
        if layer(target) != "version" and layer(target) not in ALLOWED[layer(module)]
    ]
    assert bad == []


def test_no_import_cycles():
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert cycles == []


def test_the_graph_sees_lazy_and_type_only_imports():
    """The checks above would miss a cycle made through an import inside a function."""
    graph = import_graph()
    assert "chat_tui.ui.app" in graph["chat_tui.cli.app"]  # imported inside run()
    assert "chat_tui.api.client" in graph["chat_tui.services.replies"]  # under TYPE_CHECKING


def test_below_ui_nothing_imports_textual_or_rich():
    # httpx imports rich for its own command-line tool when rich is installed (httpx/_main.py,
    # guarded by `except ImportError`), so textual and rich are made unimportable here: any
    # import of them from a lower layer then fails loudly, and sys.modules must stay clean.
    lower = sorted(m.name for m in pkgutil.walk_packages([str(ROOT)], "chat_tui.")
                   if m.name.split(".")[1] in ("core", "api", "store", "services", "cli"))
    assert len(lower) > 40
    code = (
        "import importlib, json, sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('textual', 'rich'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for name in {lower!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


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


@pytest.mark.parametrize("argv", [["history", "list"], ["history", "list", "--json"], ["history", "search", "x"],
                                  ["history", "show", "1"]])
def test_reading_commands_do_not_load_sqlite_utils_asyncio_or_the_network(tmp_path, argv):
    """A command that only reads the database (issue 17: `history list` within 2x `--version`)
    runs on the standard library's sqlite3: sqlite-utils (0.17 s with numpy), asyncio, httpx
    and numpy stay unloaded."""
    home = tmp_path / "home"
    env = {**os.environ, "CHAT_TUI_HOME": str(home)}
    first = subprocess.run([sys.executable, "-m", "chat_tui", "history", "list"], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr  # creates the database
    code = (
        "import sys, json, runpy\n"
        f"sys.argv = ['chat-tui', *{argv!r}]\n"
        "try:\n"
        "    runpy.run_module('chat_tui', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('sqlite_utils', 'asyncio', 'httpx', 'numpy', 'tiktoken', 'textual') if m in sys.modules]\n"
        "print(json.dumps(heavy), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert json.loads(out.stderr.strip().splitlines()[-1]) == [], out.stderr


def test_every_package_has_an_init():
    """setuptools' find_packages (pyproject.toml) skips a folder without __init__.py: a wheel
    would ship without it, though an editable install works."""
    missing = [str(d.relative_to(ROOT.parent)) for d in ROOT.rglob("*")
               if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")) and not (d / "__init__.py").exists()]
    assert missing == []


# Store methods that write, and the client's resources: a screen or widget calls a service
# for these, never the store or the client itself.
STORE_WRITES = {
    "create_conversation", "rename_conversation", "set_auto_title", "set_conversation_defaults",
    "delete_conversation", "add_message", "begin_assistant", "flush_partial", "finish_assistant",
    "save_preset", "rename_preset", "delete_preset", "record_compare", "set_lane_message",
    "pick_compare", "recover_interrupted",
}
CLIENT_RESOURCES = {"chat", "completions", "models", "embeddings", "moderations", "images", "audio"}


def test_screens_and_widgets_call_services_not_the_store_or_the_client():
    bad = []
    for path in sorted((ROOT / "ui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Attribute):
                continue
            name = path.relative_to(ROOT.parent)
            if node.attr in STORE_WRITES:
                bad.append(f"{name}:{node.lineno} .{node.attr}")
            # client.chat.stream(...), app.client.models.list(): a resource of a `client`
            if isinstance(node.value, ast.Attribute) and node.value.attr in CLIENT_RESOURCES:
                owner = node.value.value
                if (isinstance(owner, ast.Attribute) and owner.attr == "client") or (isinstance(owner, ast.Name) and owner.id == "client"):
                    bad.append(f"{name}:{node.lineno} client.{node.value.attr}.{node.attr}")
    assert bad == []


def test_the_app_starts_without_numpy_sqlite_utils_or_pillow(tmp_path):
    """What the app loads by the end of its warm-up, on a profile that doesn't embed, its
    database created on the way (issue 17: memory). numpy (~12 MB) comes with search by
    meaning, Pillow with the first image; sqlite-utils (which imports numpy) never."""
    code = (
        "import asyncio, json, sys\n"
        "from chat_tui.api.client import OpenAIClient\n"
        "from chat_tui.core.config import Endpoint\n"
        "from chat_tui.store import Store\n"
        "from chat_tui.ui.app import ChatApp\n"
        "async def main():\n"
        "    ep = Endpoint(name='x', base_url='http://127.0.0.1:9/v1')\n"
        f"    app = ChatApp(ep, Store({str(tmp_path / 'app.db')!r}), client=OpenAIClient(ep), model='gpt-4o-mini')\n"
        "    async with app.run_test() as pilot:\n"
        "        await pilot.pause()\n"
        "        await app.workers.wait_for_complete()\n"
        "        await pilot.pause()\n"
        "        loaded = sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'sqlite_utils', 'PIL', 'textual_image'})\n"
        "        print(json.dumps(loaded))\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "CHAT_TUI_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
