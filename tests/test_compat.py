"""The Textual internals chat-tui relies on (ui/compat.py) are still there and mean what they did."""

from textual.app import App
from textual.binding import Binding
from textual.widgets import Footer, Static

from chat_tui.ui import compat


class Host(App):
    BINDINGS = [Binding("ctrl+n", "new", "New", id="host.new")]

    def compose(self):
        yield Static("x")
        yield Footer()


async def test_compat_reaches_what_it_says():
    app = Host()
    async with app.run_test() as pilot:
        assert compat.current_app() is app
        app.set_keymap({"host.new": "ctrl+k"})
        assert compat.keymap(app) == {"host.new": "ctrl+k"}
        keys = {key for key, _ in compat.node_bindings(app)}
        assert "ctrl+n" in keys
        merged = compat.class_bindings_map(Host)
        assert [b.id for b in merged.key_to_bindings["ctrl+n"]] == ["host.new"]
        footer = app.query_one(Footer)
        compat.footer_bindings_ready(footer)
        assert footer._bindings_ready is True
        await pilot.pause()
