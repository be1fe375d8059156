"""Theme files, the remembered theme, user key bindings, and the help and welcome screens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.widgets import DataTable, Static, TextArea

from chat_tui.ui.keymap import apply_keymap, collect_binding_ids, key_problem
from chat_tui.ui.screens.help import HelpScreen, bindings_table
from chat_tui.ui.screens.welcome import WelcomeScreen
from chat_tui.ui.themes import (
    ThemeError,
    builtin_theme_dir,
    load_theme_choice,
    load_theme_file,
    load_user_themes,
    register_themes,
    save_theme_choice,
)

SCREENS_TCSS = Path(__file__).resolve().parents[1] / "chat_tui" / "ui" / "styles" / "screens.tcss"

GOOD = """
name = "test-theme"
primary = "#268bd2"
background = "#002b36"
dark = true
[variables]
"footer-key-foreground" = "#b58900"
"block-cursor-text-style" = "bold"
"""


class Box(TextArea):
    BINDINGS = [Binding("enter", "send", "Send", id="box.send", priority=True)]

    def action_send(self) -> None:
        self.app.ran.append("send")


class Host(App[None]):
    CSS_PATH = SCREENS_TCSS
    BINDINGS = [
        Binding("ctrl+n", "new", "New chat", id="host.new"),
        Binding("escape", "stop", "Stop", id="host.stop"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.ran: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("host")
        yield Box(id="box")

    def action_new(self) -> None:
        self.ran.append("new")

    def action_stop(self) -> None:
        self.ran.append("stop")


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --- theme files -------------------------------------------------------------------------


def test_load_good_theme(tmp_path):
    theme = load_theme_file(write(tmp_path, "good.toml", GOOD))
    assert theme.name == "test-theme" and theme.primary == "#268bd2" and theme.dark
    assert theme.variables["footer-key-foreground"] == "#b58900"


@pytest.mark.parametrize(
    "text, problem",
    [
        ('name = "x"\nprimary = "#fff', "not valid TOML"),
        ('primary = "#ffffff"', "missing 'name'"),
        ('name = "x"', "missing 'primary'"),
        ('name = "x"\nprimary = "bluish"', "primary: 'bluish' is not a colour"),
        ('name = "x"\nprimary = "#fff"\nbackground = 3', "background must be a colour string"),
        ('name = "x"\nprimary = "#fff"\nprimry = "#000"', "unknown field 'primry'"),
        ('name = "x"\nprimary = "#fff"\ndark = "yes"', "dark must be true or false"),
        ('name = "x"\nprimary = "#fff"\n[variables]\n"footer-key-foreground" = "nope"', "'nope' is not a colour"),
        ('name = "x"\nprimary = "#fff"\n[variables]\n"link-style" = "wobbly"', "not a text style"),
    ],
)
def test_bad_theme_names_file_and_problem(tmp_path, text, problem):
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(ThemeError) as err:
        load_theme_file(path)
    assert str(path) in str(err.value) and problem in str(err.value)


def test_load_user_themes_collects_errors(tmp_path):
    folder = tmp_path / "themes"
    write(folder, "a-good.toml", GOOD)
    bad = write(folder, "b-bad.toml", "name = ")
    write(folder, "notes.txt", "not a theme")
    themes, errors = load_user_themes(tmp_path / "missing", folder)
    assert [t.name for t in themes] == ["test-theme"]
    assert len(errors) == 1 and str(bad) in errors[0]


def test_shipped_themes_all_load():
    folder = builtin_theme_dir()
    files = sorted(folder.glob("*.toml"))
    assert len(files) >= 2
    themes, errors = load_user_themes(folder)
    assert errors == []
    assert {t.name for t in themes} >= {"solarized-chat", "gruvbox-chat", "paper"}
    assert any(not t.dark for t in themes)


async def test_register_and_switch_every_shipped_theme(tmp_path):
    write(tmp_path / "user", "mine.toml", GOOD)
    write(tmp_path / "user", "broken.toml", 'name = "broken"\nprimary = "no"')
    app = Host()
    errors = register_themes(app, [builtin_theme_dir(), tmp_path / "user"])
    assert len(errors) == 1 and "broken.toml" in errors[0]
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(HelpScreen(bindings_table(app)))  # themed widgets of our own on screen
        await pilot.pause()
        for name in ("solarized-chat", "gruvbox-chat", "paper", "test-theme"):
            app.theme = name
            await pilot.pause()
            assert app.current_theme.name == name
        assert app.current_theme.background == "#002b36"
        app.theme = "paper"
        await pilot.pause()
        assert app.current_theme.dark is False
        assert app.screen_stack[0].styles.background == Color.parse("#f6f1e7")


def test_theme_choice_round_trip(tmp_path):
    data = tmp_path / "data"
    assert load_theme_choice(data) is None
    save_theme_choice(data, "paper")
    assert load_theme_choice(data) == "paper"
    state = json.loads((data / "ui-state.json").read_text())
    state["other"] = 1
    (data / "ui-state.json").write_text(json.dumps(state))
    save_theme_choice(data, "gruvbox-chat")
    assert json.loads((data / "ui-state.json").read_text()) == {"theme": "gruvbox-chat", "other": 1}
    assert sorted(p.name for p in data.iterdir()) == ["ui-state.json"]  # no temp file left
    (data / "ui-state.json").write_text("{broken")
    assert load_theme_choice(data) is None


# --- key bindings ------------------------------------------------------------------------


@pytest.mark.parametrize("keys", ["ctrl+k", "f2", "ctrl+j,shift+enter", "?", "ctrl+slash", "alt+up", "A"])
def test_good_keys(keys):
    assert key_problem(keys) is None


@pytest.mark.parametrize(
    "keys, problem",
    [
        ("", "no key"),
        (5, "must be a string"),
        ("ctrl+", "no key after"),
        ("cmd+k", "unknown modifier 'cmd'"),
        ("ctrl+enterr", "unknown key 'enterr'"),
        ("ctrl+K", "unknown key 'K'"),
        ("a,,b", "empty key"),
        ("ctrl+ctrl+a", "repeated"),
    ],
)
def test_bad_keys(keys, problem):
    assert problem in key_problem(keys)


def test_collect_binding_ids():
    ids = collect_binding_ids(Host, Box)
    assert ids["host.new"] == ("ctrl+n", "New chat")
    assert ids["box.send"] == ("enter", "Send")


def test_every_chat_tui_binding_has_an_id():
    """Posting's rule: every binding we declare can be remapped from [keys]."""
    import importlib
    import pkgutil

    import chat_tui.ui
    from chat_tui.ui.keymap import binding_classes

    for module in pkgutil.walk_packages(chat_tui.ui.__path__, "chat_tui.ui."):
        importlib.import_module(module.name)

    ours = [c for c in binding_classes(Host()) if c.__module__.startswith("chat_tui.")]
    assert len(ours) >= 3
    missing = [
        f"{c.__qualname__}: {b!r}"
        for c in ours
        for b in c.__dict__.get("BINDINGS", [])
        if not isinstance(b, Binding) or b.id is None
    ]
    assert missing == []


async def test_keymap_remaps_app_and_widget_bindings():
    app = Host()
    async with app.run_test() as pilot:
        errors = apply_keymap(app, {"host.new": "ctrl+o", "box": {"send": "ctrl+s"}})
        assert errors == []
        assert app.focused is app.query_one(Box)
        await pilot.press("ctrl+n")
        await pilot.press("ctrl+o")
        assert app.ran == ["new"]  # only the new key runs it
        await pilot.press("x", "enter")
        assert app.ran == ["new"] and app.query_one(Box).text == "x\n"  # enter is the box's again
        await pilot.press("ctrl+s")
        assert app.ran == ["new", "send"]


async def test_keymap_reports_unknown_ids_and_bad_keys():
    app = Host()
    async with app.run_test() as pilot:
        errors = apply_keymap(app, {"host.nwe": "ctrl+o", "host.stop": "cmd+x", "host.new": "ctrl+o"})
        assert len(errors) == 2
        assert "'host.nwe'" in errors[0] and "host.new" in errors[0] and "box.send" in errors[0]
        assert "'host.stop'" in errors[1] and "cmd" in errors[1]
        await pilot.press("ctrl+o")
        assert app.ran == ["new"]  # the good entry still applies


async def test_keymap_reports_clash():
    app = Host()
    async with app.run_test():
        errors = apply_keymap(app, {"host.new": "escape"}, classes=[Host, Box])
        assert errors == ["[keys] 'escape' is bound to both 'host.new' and 'host.stop'"]


# --- help and welcome screens ------------------------------------------------------------


async def test_help_screen_shows_remapped_keys(tmp_path):
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        apply_keymap(app, {"host.new": "ctrl+k"})
        groups = bindings_table(app)
        titles = [title for title, _ in groups]
        assert titles[:2] == ["Everywhere", "Box"]  # here and now first; then the other screens
        everywhere = dict(groups)["Everywhere"]
        assert ("ctrl+k", "New chat", "host.new") in everywhere
        assert ("escape", "Stop", "host.stop") in everywhere
        assert ("enter", "Send", "box.send") in dict(groups)["Box"]
        app.push_screen(HelpScreen(groups, config_path=tmp_path / "config.toml"))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        cells = [tuple(t.get_row_at(i)) for t in screen.query(DataTable) for i in range(t.row_count)]
        assert ("ctrl+k", "New chat", "host.new") in cells
        remap = str(screen.query_one("#help-remap", Static).render())
        assert "[keys]" in remap and str(tmp_path / "config.toml") in remap
        assert "Ctrl+J" in str(screen.query_one("#help-prompt-keys", Static).render())
        await pilot.press("q")
        assert not isinstance(app.screen, HelpScreen)
        app.push_screen(HelpScreen(groups))
        await pilot.pause()
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        assert app.ran == []  # escape closed the help, it did not reach host.stop


@pytest.mark.parametrize("button, expected", [("#welcome-local", "local"), ("#welcome-quit", "quit")])
async def test_welcome_buttons(tmp_path, button, expected):
    app = Host()
    results: list[str | None] = []
    config = tmp_path / "cfg" / "config.toml"
    async with app.run_test(size=(100, 40)) as pilot:
        app.push_screen(WelcomeScreen(config), callback=results.append)
        await pilot.pause()
        text = " ".join(str(s.render()) for s in app.screen.query(Static))
        for needle in ("OPENAI_API_KEY", "--base-url", "OPENAI_BASE_URL", str(config),
                       "--profile local", "http://localhost:11434/v1", "http://localhost:1234/v1"):
            assert needle in text
        await pilot.click(button)
        await pilot.pause()
        assert results == [expected]
        assert not isinstance(app.screen, WelcomeScreen)


async def test_the_app_reads_the_theme_files_after_its_first_frame_and_reports_a_bad_one(fake_openai, tmp_path):
    """No theme chosen: the shipped and the user's theme files are registered right after the
    first frame (not before it), and a bad file is told as a warning naming it."""
    from demo import notifications, recording_notes

    from chat_tui.api.client import OpenAIClient
    from chat_tui.core.config import Endpoint
    from chat_tui.core.paths import Paths
    from chat_tui.store import Store
    from chat_tui.ui.app import ChatApp

    paths = Paths(config_dir=tmp_path, data_dir=tmp_path, cache_dir=tmp_path / "cache")
    write(paths.themes_dir, "mine.toml", GOOD)
    write(paths.themes_dir, "broken.toml", 'name = "broken"\nprimary = "no"')
    endpoint = Endpoint(name="fake", base_url=fake_openai.base_url)
    app = recording_notes(ChatApp(endpoint, Store(tmp_path / "t.db"), client=OpenAIClient(endpoint), paths=paths))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert {"gruvbox-chat", "paper", "test-theme"} <= set(app.available_themes)
        assert [n for n in notifications(app) if "broken.toml" in n]
        app.theme = "test-theme"
        await pilot.pause()
        assert app.current_theme.name == "test-theme"
