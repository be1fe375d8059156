"""Where chat-tui keeps its files.

`CHAT_TUI_HOME` moves everything (config, database, caches) under one directory;
otherwise the XDG base directories (`XDG_CONFIG_HOME`, `XDG_DATA_HOME`,
`XDG_CACHE_HOME`, with their standard fallbacks under ~) are used on every platform,
as terminal tools usually do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP = "chat-tui"


@dataclass(frozen=True, slots=True)
class Paths:
    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def database(self) -> Path:
        return self.data_dir / "chat-tui.db"

    @property
    def tiktoken_cache(self) -> Path:
        return self.cache_dir / "tiktoken"

    @property
    def themes_dir(self) -> Path:
        return self.config_dir / "themes"

    @property
    def log_dir(self) -> Path:
        return self.cache_dir / "logs"


def default_paths(environ: dict[str, str] | os._Environ[str] | None = None) -> Paths:
    env = os.environ if environ is None else environ
    home = env.get("CHAT_TUI_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(config_dir=root, data_dir=root, cache_dir=root / "cache")
    xdg = {
        "config": env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config"),
        "data": env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share"),
        "cache": env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"),
    }
    return Paths(
        config_dir=Path(xdg["config"]) / APP,
        data_dir=Path(xdg["data"]) / APP,
        cache_dir=Path(xdg["cache"]) / APP,
    )
