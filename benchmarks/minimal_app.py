"""The baseline: the smallest Textual app (one Static, one Input), timed the same way as chat-tui."""

from textual.app import App
from textual.widgets import Input, Static


class Minimal(App):
    def compose(self):
        yield Static("minimal app ready")
        yield Input(placeholder="type here")


if __name__ == "__main__":
    Minimal().run()
