"""The command line: `main` parses the arguments and runs one command module (ask, compare,
complete, models, tokens, history, or the app itself), each through the same services as the UI."""

from chat_tui.cli.main import main

__all__ = ["main"]
