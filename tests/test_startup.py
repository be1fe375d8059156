"""What the interactive app does before its first frame (docs/performance.md, Start-up).

The app is run headless, as `chat-tui -m MODEL` runs it, in a subprocess, and stopped at its
first frame: the modules and styles deferred until after it must not be loaded by then. No
timings: a regression here is structural (an import or a stylesheet moved back to the start).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import subprocess
import sys

import pytest

# Imported after the first frame (on first use, or by ChatApp.warm_up), never before it.
DEFERRED_MODULES = (
    "chat_tui.store.records",  # dataclasses, ~5 ms
    "chat_tui.core.messages",  # six slotted dataclasses, ~4 ms (the warm-up's store.records imports it)
    "chat_tui.store.db",  # sqlite-utils
    "chat_tui.services.tools",  # the toolbox (ChatApp.toolbox, made on first use)
    "chat_tui.core.tools",
    "chat_tui.core.tool_calls",
    "chat_tui.core.mcp_config",  # only with [mcp] in the config
    "chat_tui.core.structured",
    "chat_tui.core.attachments",
    "chat_tui.core.params.completions",
    "chat_tui.core.params.edits",
    "chat_tui.ui.keymap",  # only with [keys] in the config
    "chat_tui.ui.widgets.model_picker",  # the side panes
    "chat_tui.ui.widgets.params_pane",
    "chat_tui.ui.widgets.conversation_list",
    "chat_tui.services.chat",  # what the first answer needs: the warm-up imports it
    "chat_tui.services.replies",
    "rich.markdown",
    "httpx",
    "tiktoken",
    "sqlite_utils",
    "tomllib",  # the theme files are read after the first frame unless one of them is chosen
)
# Read by ChatApp.load_messages_css / load_later_css, after the first frame.
LATER_CSS = ("messages.tcss", "params.tcss", "picker.tcss", "conversation_list.tcss", "screens.tcss")

FIRST_FRAME = """
import json, sys
import chat_tui.cli.main
import chat_tui.ui.app as ui_app

main = sys.modules["chat_tui.cli.main"]
seen = {}
mounted = ui_app.ChatApp.on_mount

def on_mount(self):
    def first_frame():
        chat = self.chat
        seen["modules"] = sorted(m for m in sys.modules if m.startswith(("chat_tui", "rich", "httpx", "tiktoken", "sqlite_utils", "tomllib")))
        seen["css"] = sorted(str(path) for path, _ in self.stylesheet.source)
        seen["above_prompt"] = [w.id for w in chat.query("#edit-banner, #attachment-bar, #attach-field")]
        seen["focused"] = self.focused.id if self.focused else None
        seen["theme"] = self.theme
        seen["file_themes"] = "gruvbox-chat" in self.available_themes
        self.exit()

    self.call_after_refresh(first_frame)  # first: before the app's own after-refresh work
    mounted(self)

ui_app.ChatApp.on_mount = on_mount
ui_app.ChatApp.warm_up = lambda self: None  # the first frame only: nothing after it
run = ui_app.ChatApp.run
ui_app.ChatApp.run = lambda self, **kw: run(self, headless=True, size=(160, 50))
main.main(["-m", "gpt-4o-mini"])
print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def first_frame(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "CHAT_TUI_HOME": str(home), "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    out = subprocess.run([sys.executable, "-c", FIRST_FRAME], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_deferred_modules_are_not_loaded_by_the_first_frame(first_frame):
    loaded = set(first_frame["modules"])
    assert "chat_tui.ui.screens.chat" in loaded  # the probe did reach the chat screen
    assert sorted(loaded.intersection(DEFERRED_MODULES)) == []


def test_only_the_first_frames_styles_are_parsed_before_it(first_frame):
    css = [os.path.basename(path) for path in first_frame["css"]]
    assert "app.tcss" in css and "meter.tcss" in css
    assert [name for name in css if name in LATER_CSS] == []


def test_the_first_frame_has_the_prompt_focused_and_nothing_hidden_above_it(first_frame):
    assert first_frame["focused"] == "prompt"
    assert first_frame["above_prompt"] == []


def test_the_warm_up_imports_what_the_first_frame_deferred():
    """Every module deferred from the first frame that the first answer or the tools need is in
    the warm-up's list, so the first Enter does not import it."""
    import inspect

    from chat_tui.ui.app import ChatApp

    source = inspect.getsource(ChatApp.warm_up)
    for name in ("chat_tui.core.attachments", "chat_tui.core.structured", "chat_tui.services.tools",
                 "chat_tui.store.records", "chat_tui.services.chat", "chat_tui.services.replies"):
        assert f"import {name}" in source, name


async def test_later_css_is_read_before_the_panes_mount_and_styles_them(fake_openai, tmp_path):
    from chat_tui.api.client import OpenAIClient
    from chat_tui.core.config import Endpoint
    from chat_tui.store import Store
    from chat_tui.ui.app import ChatApp

    endpoint = Endpoint(name="fake", base_url=fake_openai.base_url)
    store = Store(tmp_path / "db.sqlite")
    app = ChatApp(endpoint, store, client=OpenAIClient(endpoint), model="gpt-4o-mini")
    async with app.run_test(size=(160, 50)) as pilot:
        for _ in range(600):  # the panes mount after the warm-up's tokenizer
            if app.chat.params_pane() is not None:
                break
            await pilot.pause(0.05)
        sources = [os.path.basename(path) for path, _ in app.stylesheet.source]
        assert all(name in sources for name in LATER_CSS)
        # params.tcss: `ParamsPane { padding: 0 1; border-left: vkey ...; scrollbar-size-vertical: 1 }`
        pane = app.chat.params_pane()
        assert pane.styles.padding.left == 1 and pane.styles.border_left[0] == "vkey"
        assert pane.styles.scrollbar_size_vertical == 1
    store.close()


async def test_a_conversation_opened_before_the_panes_is_styled_and_the_panes_css_waits(fake_openai, tmp_path, monkeypatch):
    """`chat-tui -c`: the conversation's messages mount before the side panes; the messages'
    styles are read first (a message has its margin and padding), the panes' are not yet; the
    panes read theirs when they mount, and the messages keep their styles."""
    from chat_tui.api.client import OpenAIClient
    from chat_tui.core.config import Endpoint
    from chat_tui.store import Store
    from chat_tui.ui.app import ChatApp
    from chat_tui.ui.screens.chat import ChatScreen
    from chat_tui.ui.widgets.conversation import MessageView

    held = asyncio.Event()
    mount_panes = ChatScreen.mount_panes

    async def later(screen):
        await held.wait()
        await mount_panes(screen)

    monkeypatch.setattr(ChatScreen, "mount_panes", later)
    store = Store(tmp_path / "db.sqlite")
    cid = store.create_conversation(title="earlier", model="gpt-4o-mini")
    question = store.add_message(cid, "user", "What is a monad?")
    store.add_message(cid, "assistant", "A monoid in the category of endofunctors.", parent_id=question)
    endpoint = Endpoint(name="fake", base_url=fake_openai.base_url)
    app = ChatApp(endpoint, store, client=OpenAIClient(endpoint), model="gpt-4o-mini", conversation_id=cid)

    def sources():
        return [os.path.basename(path) for path, _ in app.stylesheet.source]

    async with app.run_test(size=(160, 50)) as pilot:
        for _ in range(200):
            if len(app.chat.query(MessageView)) == 2:
                break
            await pilot.pause(0.02)
        views = list(app.chat.query(MessageView))
        assert len(views) == 2
        assert "messages.tcss" in sources() and "params.tcss" not in sources()
        # messages.tcss: `MessageView { margin: 1 0 0 0; padding: 0 1 }`
        assert all(v.styles.margin.top == 1 and v.styles.padding.left == 1 for v in views)
        held.set()
        for _ in range(600):
            if app.chat.params_pane() is not None:
                break
            await pilot.pause(0.05)
        assert all(name in sources() for name in LATER_CSS)
        assert all(v.styles.margin.top == 1 for v in views)  # restyled with the panes' files
    store.close()


@pytest.mark.parametrize("argv", [
    [], ["-m", "x"], ["-c"], ["--cid", "3"], ["--mod", "ask"], ["-m", "ask"], ["ask", "hi", "-m", "y"],
    ["history", "list", "-n", "3"], ["history"], ["image", "generate", "cat"], ["templates", "list"],
    ["mcp", "list"], ["--help"], ["ask", "--help"], ["bogus"], ["-m"], ["--version"],
])
def test_the_parser_for_an_argv_parses_it_as_the_whole_parser_does(argv):
    """`build_parser(argv)` gives only the commands argv names their options: the same result,
    output and exit code as the whole parser."""
    from chat_tui.cli.parser import build_parser

    results = []
    for parser in (build_parser(), build_parser(argv)):
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                result = vars(parser.parse_args(argv))
        except SystemExit as exc:
            result = {"exit": exc.code}
        results.append((result, out.getvalue(), err.getvalue()))
    assert results[0] == results[1]


def test_the_theme_files_are_read_after_the_first_frame_unless_one_is_chosen(first_frame, tmp_path):
    # None chosen: Textual's default on the first frame; the files (and TOML) come after it.
    assert first_frame["theme"] == "textual-dark" and first_frame["file_themes"] is False
    # One of them chosen in the config: registered and applied before the first frame.
    (tmp_path / "config.toml").write_text('theme = "gruvbox-chat"\n', encoding="utf-8")
    env = {**os.environ, "CHAT_TUI_HOME": str(tmp_path), "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    out = subprocess.run([sys.executable, "-c", FIRST_FRAME], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    chosen = json.loads(out.stdout.strip().splitlines()[-1])
    assert chosen["theme"] == "gruvbox-chat" and chosen["file_themes"] is True
