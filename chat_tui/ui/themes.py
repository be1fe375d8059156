"""Colour themes from TOML files, and the remembered theme choice.

A theme file names a Textual `Theme`'s fields (`name`, `primary`, `background`, …, `dark`,
`ansi`) plus an optional `[variables]` table of Textual theme variables. `ansi = true` makes a
theme of the terminal's own palette (colours written `ansi_blue`, `ansi_default`, …): Textual
then sends those colours as ANSI codes instead of converting them to RGB (`themes/terminal.toml`). Themes come from the
`themes/` folder shipped with chat-tui and from the `themes/` folder of the user's config
directory (later folders win on a name clash). A bad file is reported, never fatal: Posting's
`load_user_themes()` pattern, one message per file naming it and the problem.

The theme the user picks in the app is remembered in `ui-state.json` in the data directory, so
the user's hand-written config.toml is never rewritten.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.color import Color, ColorParseError
from textual.css.constants import VALID_STYLE_FLAGS
from textual.theme import Theme

if TYPE_CHECKING:
    from textual.app import App

COLOUR_FIELDS = (
    "primary", "secondary", "accent", "background", "surface", "panel", "boost",
    "foreground", "warning", "error", "success",
)
NUMBER_FIELDS = ("luminosity_spread", "text_alpha")
FLAG_FIELDS = ("dark", "ansi")
KNOWN_FIELDS = {"name", "variables", *FLAG_FIELDS, *COLOUR_FIELDS, *NUMBER_FIELDS}
ANSI_VARIABLES = ("ansi-background", "ansi-foreground")
STATE_FILE = "ui-state.json"
_AUTO_COLOUR = re.compile(r"auto( +\d+(\.\d+)?%)?")
_ALPHA_SUFFIX = re.compile(r"^(.*\S) +\d+(\.\d+)?%$")


class ThemeError(ValueError):
    """A theme file that cannot be used; the message names the file and the problem."""


def builtin_theme_dir() -> Path:
    """The `themes/` folder shipped with chat-tui.

    In a checkout (and an editable install) it sits next to the `chat_tui` package; a wheel
    installs it as data files into `<prefix>/share/chat-tui/themes`.
    """
    repo = Path(__file__).resolve().parents[2] / "themes"
    installed = Path(sys.prefix) / "share" / "chat-tui" / "themes"
    return repo if repo.is_dir() or not installed.is_dir() else installed


def load_theme_file(path: Path) -> Theme:
    """Read one theme file; raise `ThemeError` naming the file and what is wrong with it."""
    import tomllib  # ~4 ms: read only when a theme file is (after the first frame, usually)

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ThemeError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ThemeError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return _theme_from_dict(data)
    except ValueError as exc:
        raise ThemeError(f"{path}: {exc}") from None


def _theme_from_dict(data: dict[str, Any]) -> Theme:
    unknown = sorted(set(data) - KNOWN_FIELDS)
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (known: {', '.join(sorted(KNOWN_FIELDS))})")
    for required in ("name", "primary"):
        if not isinstance(data.get(required), str) or not data[required].strip():
            raise ValueError(f"missing {required!r} (a string)")
    if "," in data["name"]:
        raise ValueError(f"name {data['name']!r} must not contain a comma")
    fields: dict[str, Any] = {"name": data["name"].strip()}
    for name in COLOUR_FIELDS:
        if name in data:
            fields[name] = _colour(name, data[name])
    for name in NUMBER_FIELDS:
        if name in data:
            if isinstance(data[name], bool) or not isinstance(data[name], (int, float)):
                raise ValueError(f"{name} must be a number, not {data[name]!r}")
            fields[name] = float(data[name])
    for name in FLAG_FIELDS:
        if name in data:
            if not isinstance(data[name], bool):
                raise ValueError(f"{name} must be true or false, not {data[name]!r}")
            fields[name] = data[name]
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ValueError("[variables] must be a table of strings")
    for name, value in variables.items():
        _check_variable(name, value)
    fields["variables"] = dict(variables)
    if fields.get("ansi"):
        # Textual's own stylesheets use these in ANSI mode only; a theme without them would
        # stop the app with a stylesheet error, so the terminal's defaults stand in.
        for name in ANSI_VARIABLES:
            fields["variables"].setdefault(name, "ansi_default")
    return Theme(**fields)


def _colour(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a colour string, not {value!r}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(f"{name}: {value!r} is not a colour (try \"#rrggbb\")") from None
    return value


def _check_variable(name: str, value: Any) -> None:
    """Textual turns a bad variable into a stylesheet error that stops the app, so check here."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"variable {name!r} must be a non-empty string, not {value!r}")
    words = value.split()
    if name.endswith("-style"):
        if not all(word in VALID_STYLE_FLAGS for word in words):
            raise ValueError(f"variable {name!r}: {value!r} is not a text style (e.g. \"bold\", \"none\")")
        return
    if value == "initial" or _AUTO_COLOUR.fullmatch(value):
        return
    base = m.group(1) if (m := _ALPHA_SUFFIX.match(value)) else value
    try:
        Color.parse(base)
    except ColorParseError:
        raise ValueError(f"variable {name!r}: {value!r} is not a colour") from None


def load_user_themes(*dirs: Path) -> tuple[list[Theme], list[str]]:
    """Every `*.toml` theme in `dirs` (missing folders are skipped) and one error per bad file."""
    themes: list[Theme] = []
    errors: list[str] = []
    for folder in dirs:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                themes.append(load_theme_file(path))
            except ThemeError as exc:
                errors.append(str(exc))
    return themes, errors


def register_themes(app: App[Any], dirs: Iterable[Path]) -> list[str]:
    """Register the themes found in `dirs` with `app`; return the errors to show the user."""
    themes, errors = load_user_themes(*dirs)
    for theme in themes:
        app.register_theme(theme)
    return errors


# --- remembered choice --------------------------------------------------------------------


def _read_state(data_dir: Path) -> dict[str, Any]:
    try:
        state = json.loads((Path(data_dir) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def load_theme_choice(data_dir: Path) -> str | None:
    """The theme name saved by `save_theme_choice`, or None (no file, unreadable, or no choice)."""
    theme = _read_state(data_dir).get("theme")
    return theme if isinstance(theme, str) and theme else None


def save_theme_choice(data_dir: Path, name: str) -> None:
    """Remember `name` in `<data_dir>/ui-state.json`, keeping its other keys; written atomically."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    state = _read_state(data_dir)
    state["theme"] = name
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".ui-state-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(state, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, data_dir / STATE_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
