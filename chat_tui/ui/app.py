"""The Textual app: services (endpoint, client, store, token counter), app-wide actions, themes.

Dependencies are passed in (`ChatApp(endpoint, store, client=...)`), so tests build the app with
a temporary database and a client pointed at a local test server. Anything slow (starting the
local model, loading tokenizers, warming Markdown highlighting) happens after the first frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding

from chat_tui.core.config import Config, ConfigError, Endpoint, build_endpoint, profile_names
from chat_tui.core.params import ChatParams
from chat_tui.core.paths import Paths
from chat_tui.core.tokens import TokenCounter
from chat_tui.services.endpoints import needs_local_server, open_client
from chat_tui.ui.screens.chat import ChatScreen

if TYPE_CHECKING:  # imported when first used, after the first frame
    from chat_tui.api.client import OpenAIClient
    from chat_tui.services.tools import Toolbox
    from chat_tui.store import Store


NO_COLOR_THEME = "terminal"


class ChatApp(App[int]):
    TITLE = "chat-tui"
    # What the first frame shows; the rest (MESSAGES_CSS, LATER_CSS) is read when first needed.
    CSS_PATH = ["styles/app.tcss", "styles/meter.tcss"]
    # What the first frame does not show. Messages (and the edit banner, attachments, dialogs):
    # read before the first one mounts (load_messages_css). The side panes' and the other
    # screens' styles: read, with those, before the panes mount or another screen is pushed,
    # whichever comes first (load_later_css). Neither before the first frame.
    MESSAGES_CSS = "styles/messages.tcss"
    LATER_CSS = [
        "styles/params.tcss",
        "styles/picker.tcss",
        "styles/conversation_list.tcss",
        "styles/screens.tcss",
    ]
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("f1", "help", "Help", id="app.help"),
        Binding("ctrl+n", "new_conversation", "New", id="app.new_conversation"),
        Binding("ctrl+o", "open_conversation", "Open", id="app.open_conversation"),
        Binding("f9", "history", "History", id="app.history"),
        # priority: TextArea binds F6 (select line) and F7 (select all) and would take them first
        Binding("f6", "completion_mode", "Complete", id="app.completion_mode", priority=True),
        Binding("f7", "edit_mode", "Edit", id="app.edit_mode", priority=True),
        # Not in the footer (it is full at 160 columns): F1 and the palette list it.
        Binding("f10", "images", "Images", id="app.images", priority=True, show=False),
        Binding("f12", "tools", "Tools", id="app.tools", priority=True, show=False),
        Binding("f4", "rename_conversation", "Rename", id="app.rename_conversation", show=False),
        Binding("ctrl+delete", "delete_conversation", "Delete chat", id="app.delete_conversation", show=False),
    ]

    def __init__(
        self,
        endpoint: Endpoint,
        store: "Store | Callable[[], Store]",
        *,
        client: OpenAIClient | None = None,
        paths: Paths | None = None,
        config: Config | None = None,
        model: str | None = None,
        counter: TokenCounter | None = None,
        conversation_id: int | None = None,
        on_started: Callable[[], None] | None = None,
        tool_providers: Sequence[Any] = (),
    ) -> None:
        from chat_tui.ui.palette import no_color_requested

        # NO_COLOR (no-color.org): native ANSI mode makes Textual's filter reset every colour
        # to the terminal's default instead of turning it grey, so nothing is coloured at all.
        no_color = no_color_requested()
        super().__init__(ansi_color=True if no_color else None)
        from chat_tui.ui import compat

        compat.paint_dirty_rows_only()  # a streaming answer's frame renders its rows, not the screen
        compat.lazy_strip_caches()  # a line's seven caches are made when it uses one
        compat.one_layout_for_textual_leaves()  # a resized scroll bar or footer key: no second layout
        compat.no_mount_while_pruned()  # quitting while panes mount: no on_mount without children
        if self.no_color and not no_color:
            compat.colour_filters_off(self)  # NO_COLOR="" is not set
        # Function calling: every source of tools (ToolProvider: MCP servers, ...), and which of
        # their tools are off (the toolbox, made on first use). `tool_providers` is the toolbox's
        # list: add to it to offer more.
        self._tool_providers: list[Any] = list(tool_providers)
        self._toolbox: Toolbox | None = None
        if config is not None and config.mcp_servers:  # started when a request or F12 needs them
            from chat_tui.services.mcp import mcp_providers

            self._tool_providers += mcp_providers(config, log_dir=paths.log_dir if paths else None)
        self.endpoint = endpoint
        # A Store, or a function opening one: then SQLite is opened after the first frame.
        self._store: Store | None = None if callable(store) else store
        self._store_factory = store if callable(store) else None
        self.client = client
        self.paths = paths
        self.config = config or Config()
        self.colour_palette = self.config.palette  # probabilities and diffs (ui/palette.py)
        from chat_tui.ui import image_protocol

        image_protocol.configure(self.config.image_protocol)
        self.model = model or endpoint.default_model or ""
        self.params = ChatParams()
        self.system_prompt: str | None = None
        if counter is None:
            if paths is not None:
                cache = paths.tiktoken_cache
            else:
                import tempfile
                from pathlib import Path

                cache = Path(tempfile.gettempdir()) / "chat-tui-tiktoken"
            counter = TokenCounter(cache)
        self.counter = counter
        self._local: Any = None
        self.client_ready = client is not None
        self.initial_conversation = conversation_id
        self._on_started = on_started  # the entry point's process tuning (cli/runtime.py)

    # -- start-up ------------------------------------------------------------------------------

    @property
    def store(self) -> "Store":
        """The database, opened on first use. If it cannot be opened (damaged, not a database,
        no permission, a newer schema), the app says so and runs on a database in memory: the
        chat works, nothing is saved, and the file is left untouched."""
        if self._store is None:
            from chat_tui.store import Store, StoreError

            try:
                self._store = self._store_factory()
            except StoreError as exc:
                from chat_tui.core.text import error_text

                self.store_problem = error_text(exc)
                self._store = Store(":memory:")
                self.notify(f"{self.store_problem}. Nothing you do in this session is saved; the file is left as it is.",
                            title="Database", severity="error", timeout=30, markup=False)
                if getattr(self, "chat", None) is not None:
                    self.call_later(self.chat.update_status)
        return self._store

    @property
    def toolbox(self) -> Toolbox:
        """The tools on offer (services.tools.Toolbox), made on first use: its module is not
        needed before the first frame."""
        if self._toolbox is None:
            from chat_tui.services.tools import Toolbox

            self._toolbox = Toolbox()
            self._toolbox.providers = self._tool_providers  # one list: tool_providers is it
        return self._toolbox

    @property
    def tool_providers(self) -> list[Any]:
        """The sources of tools offered to the model (the toolbox's list: append to it)."""
        return self._tool_providers

    store_problem: str | None = None  # why the database file could not be opened
    # Search by meaning: the vectors in memory (loaded on the first search), the background
    # indexer's worker (None until it first runs) and its last progress.
    vector_index: Any = None
    indexer: Any = None
    index_progress: Any = None
    _index_again = False
    _index_confirmed: frozenset[tuple[str, int | None]] = frozenset()
    model_entries: list[Any] = []  # the endpoint's models as listed (ModelEntry), for other modes

    def saved(self, what: str, write: Callable[[], Any]) -> bool:
        """Run a short write (a rename, a pin, a delete); if the database refuses it (locked by
        another program, read-only, full), say so in a notification and change nothing. Whether
        it was written."""
        from chat_tui.store import StoreError

        try:
            write()
        except StoreError as exc:
            from chat_tui.core.text import error_text

            self.notify(f"Could not {what}: {error_text(exc)}", title="Not saved", severity="error",
                        timeout=10, markup=False)
            return False
        return True

    # -- the clipboard ----------------------------------------------------------------------------

    def copy_to_clipboard(self, text: str, note: str | None = None) -> None:
        """Every copy goes through here (the `c`/`b` keys, a selection, Textual's own ctrl+c in
        text fields): Textual writes it to the terminal as OSC 52, which sets the clipboard of
        the terminal the user sits at, over SSH too; then a short notification says so."""
        super().copy_to_clipboard(text)
        count = len(text)
        self.notify(note or f"Copied {count:,} character{'' if count == 1 else 's'}.", timeout=2, markup=False)

    def on_text_selected(self, event: events.TextSelected) -> None:
        """The mouse was released: copy what it selected, if the config says so
        (`copy_on_select`, on by default). A click selects nothing and copies nothing."""
        if self.config.copy_on_select:
            text = self.screen.get_selected_text()
            if text:
                self.copy_to_clipboard(text)

    _css_read: frozenset[str] = frozenset()  # the files of MESSAGES_CSS and LATER_CSS read

    def load_messages_css(self) -> None:
        """Read MESSAGES_CSS (once): before a message, the edit banner or an attachment mounts."""
        self._read_css([self.MESSAGES_CSS])

    def load_later_css(self) -> None:
        """Read MESSAGES_CSS and LATER_CSS (once): before the side panes or another screen."""
        self._read_css([self.MESSAGES_CSS, *self.LATER_CSS])

    def _read_css(self, names: list[str]) -> None:
        """Add the files not read yet to the stylesheet and restyle what is mounted. Only the
        new files are parsed: the stylesheet keeps the rules it parsed before."""
        names = [name for name in names if name not in self._css_read]
        if not names:
            return
        self._css_read |= set(names)
        from pathlib import Path

        here = Path(__file__).resolve().parent
        paths = [here / name for name in names]
        if self.css_monitor is not None:  # `textual run --dev`: watched like CSS_PATH
            self.css_monitor.add_paths(paths)
        self.css_path.extend(paths)  # what a live reload reads again
        self.stylesheet.read_all(paths)
        self.stylesheet.parse()
        self.stylesheet.update(self)

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        self.load_later_css()  # every screen but the chat is styled by LATER_CSS or its own
        return super().push_screen(screen, *args, **kwargs)

    def get_default_screen(self) -> ChatScreen:
        self.chat = ChatScreen()
        return self.chat

    def on_mount(self) -> None:
        import asyncio

        self.ready_event = asyncio.Event()
        if self.client_ready:
            self.ready_event.set()
        self._apply_user_settings()
        # After the first frame: load the tokenizer, then connect and warm up the rest.
        self.call_after_refresh(self.warm_up)

    def _after_tokenizer(self, endpoint: Endpoint, client: OpenAIClient | None) -> None:
        """Back on the main thread: the client built, the database, then the side panes."""
        from chat_tui.services.history import purge_expired

        if client is not None and self.client is None and self.endpoint is endpoint:
            self._connected(endpoint, client)
        elif self.client is None:
            self.connect(self.endpoint)  # a local server to start, or the endpoint changed
        else:
            self.fetch_models()
            self.index_messages()  # the backlog left by an earlier session, for search by meaning
        from chat_tui.store import StoreError

        try:
            purge_expired(self.store)  # the trash's conversations deleted long enough ago
        except StoreError:
            pass  # locked or read-only: the trash is emptied another time
        self.call_later(self.chat.mount_panes)

    def _apply_user_settings(self) -> None:
        from chat_tui.ui.themes import load_theme_choice

        problems: list[str] = list(self.config.warnings)
        if self.config.keys:
            from chat_tui.ui.keymap import keymap_from_config

            # Set now; the ids are checked after the first frame, once every screen's module
            # is imported (see warm_up).
            keymap, errors = keymap_from_config(dict(self.config.keys))
            self.set_keymap(keymap)
            problems += errors
        choice = load_theme_choice(self.paths.data_dir) if self.paths else None
        theme = choice or self.config.theme
        if self.no_color:
            # Colours are all removed; this theme's cursors and highlights are text styles
            # (reverse, bold), which still show.
            theme = NO_COLOR_THEME
        if theme and theme not in self.available_themes:
            problems += self._register_theme_files()  # it is one of them: before the first frame
        else:
            # Textual's own theme: the theme files (~5 ms with the TOML parser) are read after
            # the first frame, and what is wrong with them is told then.
            self.call_after_refresh(lambda: self._settings_problems(self._register_theme_files()))
        if theme:
            if theme in self.available_themes:
                self.theme = theme
            else:
                problems.append(f"theme {theme!r} is not available")
        self._settings_problems(problems)

    def _settings_problems(self, problems: list[str]) -> None:
        """What is wrong in the user's settings: one warning each."""
        for problem in problems:
            self.notify(problem, title="Settings", severity="warning", timeout=10, markup=False)

    def _register_theme_files(self) -> list[str]:
        """Register the themes of the files shipped with chat-tui and of the user's themes
        folder (once: before the first frame or right after it); what is wrong with any file."""
        from chat_tui.ui.themes import builtin_theme_dir, register_themes

        dirs = [builtin_theme_dir()]
        if self.paths:
            dirs.append(self.paths.themes_dir)
        return register_themes(self, dirs)

    def _check_keymap(self) -> None:
        """[keys] ids that no binding has, and keys now bound twice: one notification each."""
        from chat_tui.ui import compat
        from chat_tui.ui.keymap import binding_classes, check_keymap

        self._settings_problems(check_keymap(compat.keymap(self), binding_classes(self)))

    def watch_theme(self, theme: str) -> None:
        if self.paths is not None and not self.no_color:  # a theme forced by NO_COLOR is not a choice
            from chat_tui.ui.themes import save_theme_choice

            try:
                save_theme_choice(self.paths.data_dir, theme)
            except OSError:
                pass

    @work(thread=True, group="warm-up", exit_on_error=False)
    def warm_up(self) -> None:
        """Load the tokenizer for the current model and build the HTTP client; then connect and
        mount the side panes; then Pygments' lexers and what the first answer needs; then the
        entry point's `on_started` (it freezes start-up objects out of the garbage collector).
        The tokenizer loads first and alone: the process peaks lowest that way (see
        docs/performance.md, Start-up)."""
        endpoint = self.endpoint
        try:
            self.counter.preload(self.model or "gpt-4o")
        finally:
            # Then the HTTP client, while the main thread is idle (docs/performance.md).
            client = None
            if self.client is None and not needs_local_server(endpoint):
                try:
                    client = self._client_for(endpoint)
                except Exception:
                    client = None  # connect() below reports what is wrong
            self.call_from_thread(self._after_tokenizer, endpoint, client)
        try:
            from pygments.lexers import get_lexer_by_name

            for name in ("python", "bash", "json"):
                get_lexer_by_name(name)
            # What the first answer needs, so the first Enter sends at once.
            import rich.markdown  # noqa: F401

            import chat_tui.core.attachments  # noqa: F401
            import chat_tui.core.structured  # noqa: F401
            import chat_tui.services.chat  # noqa: F401
            import chat_tui.services.replies  # noqa: F401
            import chat_tui.services.tools  # noqa: F401
            import chat_tui.store.records  # noqa: F401
            import chat_tui.ui.streaming  # noqa: F401
            # (and what the first frame did without: see tests/test_startup.py)
        except Exception:
            pass
        if self.config.keys:
            from chat_tui.ui.keymap import import_binding_modules

            import_binding_modules()
            self.call_from_thread(self._check_keymap)
        if self._on_started is not None:
            self.call_from_thread(self._on_started)

    # -- endpoint and models ---------------------------------------------------------------------

    def profile_names(self) -> list[str]:
        names = profile_names(self.config)
        if self.endpoint.name not in names:
            names.insert(0, self.endpoint.name)
        return names

    @work(thread=True, exclusive=True, group="connect", exit_on_error=False)
    def connect(self, endpoint: Endpoint) -> None:
        """Start the local server if needed, then build the client (off the UI thread)."""
        if needs_local_server(endpoint):
            from chat_tui.api.local_server import LocalServerError
            from chat_tui.services.endpoints import start_local

            self.call_from_thread(self._status, "starting local model…")
            try:
                log = self.paths.log_dir / "llama-server.log" if self.paths else None
                endpoint, self._local = start_local(
                    endpoint, self._local, log_file=log, progress=lambda msg: self.call_from_thread(self._status, msg)
                )
            except LocalServerError as exc:
                self.call_from_thread(self._connection_failed, str(exc))
                return
        self.call_from_thread(self._connected, endpoint, self._client_for(endpoint))

    def _client_for(self, endpoint: Endpoint) -> OpenAIClient:
        """A client for a reachable endpoint (called in a thread: it imports httpx)."""
        return open_client(endpoint)

    def _status(self, text: str) -> None:
        self.chat.update_status(text)

    def _connected(self, endpoint: Endpoint, client: OpenAIClient) -> None:
        old = self.client
        self.endpoint = endpoint
        self.client = client
        self.client_ready = True
        self.ready_event.set()
        if old is not None and old is not client:
            self.run_worker(old.aclose(), group="close")
        if endpoint.default_model and (not self.model or self._model_from_profile):
            self.chat.set_model(endpoint.default_model)
        self.chat.update_status()
        self.fetch_models()
        self.vector_index = None  # another endpoint may embed with another model
        self.index_messages()  # what was saved before, or while no client was connected
        if endpoint.name == "openai" and not endpoint.api_key and "api.openai.com" in endpoint.base_url:
            self.show_welcome("No OPENAI_API_KEY is set, so OpenAI will refuse every request.")

    _model_from_profile = False

    # -- search by meaning: the background indexer -----------------------------------------------

    def embedding_setup(self) -> Any:
        """The endpoint's embedding setup (services.embeddings.EmbeddingSetup), or None when
        the profile has not opted in or there is no client yet."""
        if self.client is None:
            return None
        from chat_tui.core.embeddings import setup_for

        return setup_for(self.endpoint)

    def index_messages(self) -> None:
        """Embed the messages saved since the last run (the backlog) in the background, if the
        profile opts in. A call while a run is under way makes it go round once more."""
        setup = self.embedding_setup()
        if setup is None:
            return
        if self.indexer is not None and self.indexer.is_running:
            self._index_again = True
            return
        self.indexer = self._run_indexer(setup)

    @work(group="embeddings", exit_on_error=False)
    async def _run_indexer(self, setup: Any) -> Any:
        """Returns the last IndexProgress, or None if it did not run (declined, or an error,
        which is notified). HTTP is async and each batch one short write: the UI never waits."""
        from chat_tui.api.errors import APIError
        from chat_tui.services.embeddings import EmbeddingError, Indexer, other_spaces
        from chat_tui.store import StoreError

        indexer = Indexer(self.client, self.store, self.counter, setup, on_progress=self._indexed)
        progress = None
        try:
            dimensions = await indexer.resolve_dimensions()
            key = (setup.model, dimensions)
            if key not in self._index_confirmed and indexer.pending() \
                    and other_spaces(self.store, setup.model, dimensions):
                if not await self._confirm_reembed(setup, dimensions):
                    return None
            self._index_confirmed = self._index_confirmed | {key}
            while True:
                self._index_again = False
                progress = await indexer.run()
                if not self._index_again:
                    return progress
        except (APIError, EmbeddingError, StoreError) as exc:
            from chat_tui.core.text import error_text

            self.notify(f"Embedding saved messages for search by meaning stopped: {error_text(exc)}",
                        title="Search by meaning", severity="warning", timeout=10, markup=False)
            return None

    async def _confirm_reembed(self, setup: Any, dimensions: int) -> bool:
        """A model change re-embeds everything: say what it costs first, and ask."""
        import asyncio

        from chat_tui.services.embeddings import backlog_estimate
        from chat_tui.services.history import reader
        from chat_tui.ui.screens.dialogs import ConfirmScreen

        def estimate() -> Any:
            with reader(self.store.path) as store:  # its own connection: this runs in a thread
                return backlog_estimate(store, self.counter, setup, dimensions)

        cost = await asyncio.to_thread(estimate)
        question = (f"The embedding model is now {setup.model} ({dimensions} numbers). Embed the saved"
                    f" messages again for search by meaning? {cost}.")
        if await self.push_screen_wait(ConfirmScreen(question, yes="Embed")):
            return True
        self.notify("Not re-embedded: search by meaning finds only messages embedded with the current model.",
                    title="Search by meaning", timeout=8, markup=False)
        return False

    def _indexed(self, progress: Any) -> None:
        self.index_progress = progress
        show = getattr(self.screen, "show_index_progress", None)
        if show is not None:
            show(progress)

    def _connection_failed(self, reason: str) -> None:
        self.chat.update_status("not connected")
        self.show_welcome(reason)

    @work(exclusive=True, group="models", exit_on_error=False)
    async def fetch_models(self) -> None:
        from chat_tui.api.errors import APIConnectionError, APIError
        from chat_tui.services.endpoints import list_models

        chat = self.chat
        chat.models_loading()
        try:
            models = await list_models(self.client)
        except APIConnectionError as exc:
            chat.models_loaded([], error=str(exc))
            if self.store.last_conversation_id() is None:  # first run: explain how to connect
                self.show_welcome(str(exc))
            else:
                self.notify(str(exc), title="Endpoint unreachable", severity="error", timeout=10, markup=False)
            return
        except APIError as exc:
            chat.models_loaded([], error=str(exc))
            return
        self.model_entries = models
        chat.models_loaded([m.id for m in models])

    def switch_profile(self, name: str) -> None:
        try:
            endpoint = build_endpoint(name, self.config)
        except ConfigError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        if self._local is not None and endpoint.type != "local":
            self._local.stop()
            self._local = None
        self.client_ready = False
        self.ready_event.clear()
        self._model_from_profile = True
        if endpoint.default_model:
            self.chat.set_model(endpoint.default_model)
        self.endpoint = endpoint
        self.connect(endpoint)

    def show_welcome(self, reason: str) -> None:
        from chat_tui.ui.screens.welcome import WelcomeScreen

        if any(isinstance(s, WelcomeScreen) for s in self.screen_stack):
            return
        from pathlib import Path

        config_path = self.paths.config_file if self.paths else Path("config.toml")

        def chosen(choice: str | None) -> None:
            if choice == "local":
                self.switch_profile("local")
            elif choice == "quit":
                self.exit(1)

        self.push_screen(WelcomeScreen(config_path, problem=reason), chosen)

    # -- conversations ----------------------------------------------------------------------------

    async def action_new_conversation(self) -> None:
        await self.chat.open_conversation(None)

    def action_history(self) -> None:
        """Search, filter, pin, archive, import and export every saved conversation."""
        from chat_tui.ui.screens.history import HistoryScreen

        def chosen(result: tuple[int, int | None] | None) -> None:
            if result is not None:
                cid, message_id = result
                self.run_worker(self.chat.open_conversation(cid, at_message=message_id), group="open")
            self.chat.refresh_conversation_list()  # renamed, pinned, archived, deleted, imported…

        self.push_screen(HistoryScreen(), chosen)

    def action_completion_mode(self, document_id: int | None = None) -> None:
        """Completion mode: a document completed at the cursor (legacy /v1/completions)."""
        from chat_tui.ui.screens.completion import CompletionScreen

        if isinstance(self.screen, CompletionScreen):  # F6 again: back to the chat
            self.screen.action_close()
            return
        self.push_screen(CompletionScreen(document_id), lambda _: self.chat.refresh_conversation_list())

    def open_document(self, kind: str, cid: int) -> None:
        """Open a saved document (a conversation of another kind) in its mode."""
        if kind == "completion":
            self.action_completion_mode(cid)
        elif kind == "edit":
            self.action_edit_mode(cid)

    def action_edit_mode(self, document_id: int | None = None) -> None:
        """Edit mode: text + instruction -> the edited text, as a diff to accept or reject."""
        from chat_tui.ui.screens.edit import EditScreen

        if isinstance(self.screen, EditScreen):  # F7 again: back to the chat
            self.screen.action_close()
            return
        self.push_screen(EditScreen(document_id=document_id), lambda _: self.chat.refresh_conversation_list())

    def action_images(self) -> None:
        """The Images screen: generate, edit and vary images (services/images.py)."""
        from chat_tui.ui.screens.images import ImagesScreen

        if isinstance(self.screen, ImagesScreen):  # F10 again: back to where it was opened
            self.pop_screen()
            return
        if not self.is_screen_installed("images"):  # one screen, kept: the form and results stay between visits
            self.install_screen(ImagesScreen(), "images")
        self.push_screen("images")

    def action_tools(self) -> None:
        """The tools screen: the sources of tools (MCP servers), their state and their tools,
        each switched on or off for the open conversation."""
        from chat_tui.ui.screens.tools import ToolsScreen

        if isinstance(self.screen, ToolsScreen):  # F12 again: closed
            self.screen.dismiss(None)
            return
        self.push_screen(ToolsScreen(self.toolbox, self.chat.set_tool_switches))

    def action_open_conversation(self) -> None:
        """Open a saved conversation: the history browser, searching as you type."""
        self.action_history()

    def action_rename_conversation(self) -> None:
        cid = self.chat.conversation_id
        if cid is None:
            self.notify("Send a message first: a new conversation has no title yet.", severity="warning")
            return
        conv = self.store.get_conversation(cid)
        from chat_tui.services import history
        from chat_tui.ui.screens.dialogs import RenameScreen

        def renamed(title: str | None) -> None:
            if title and self.saved("rename the conversation", lambda: history.rename(self.store, cid, title)):
                self.chat.update_status()
                self.chat.refresh_conversation_list()

        self.push_screen(RenameScreen(conv.title or "" if conv else ""), renamed)

    def action_delete_conversation(self) -> None:
        """Move the open conversation to the trash (asks first; the palette's "Restore deleted
        conversation" and the history's `u` bring it back)."""
        cid = self.chat.conversation_id
        if cid is None:
            return
        conv = self.store.get_conversation(cid)
        from chat_tui.services import history
        from chat_tui.ui.screens.dialogs import ConfirmScreen

        title = (conv.title if conv else None) or "(untitled)"

        def confirmed(ok: bool | None) -> None:
            if ok and self.saved("delete the conversation", lambda: history.delete(self.store, cid)):
                self.run_worker(self.chat.open_conversation(None), group="open")
                self.chat.refresh_conversation_list()
                self.notify(f"Moved “{title}” to the trash. Ctrl+P → “Restore deleted conversation” brings it back.",
                            timeout=6, markup=False)

        self.push_screen(ConfirmScreen(f"Delete “{title}”? (It goes to the trash: it can be restored.)"), confirmed)

    def action_restore_conversation(self) -> None:
        """Bring back the conversation deleted last, and open it."""
        from chat_tui.services import history

        cid = history.last_deleted(self.store)
        if cid is None:
            self.notify("The trash is empty.", severity="warning", timeout=3)
            return
        if not self.saved("restore the conversation", lambda: history.restore(self.store, cid)):
            return
        self.run_worker(self.chat.open_conversation(cid), group="open")
        self.notify("Conversation restored.", timeout=3)

    def action_help(self) -> None:
        from chat_tui.ui.screens.help import HelpScreen, bindings_table

        self.push_screen(HelpScreen(bindings_table(self), config_path=self.paths.config_file if self.paths else None))

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        chat = self.chat
        yield SystemCommand("New conversation", "Start an empty conversation", self.action_new_conversation)
        yield SystemCommand("Open conversation", "Switch to a saved conversation", self.action_open_conversation)
        yield SystemCommand("History", "Search, filter, pin, archive, import and export every conversation (F9)", self.action_history)
        if isinstance(screen, ChatScreen):
            yield from self._template_commands(screen)
            yield SystemCommand("Check message (moderation)",
                                "Moderate the focused message, else the newest: flagged categories and scores under it (m)",
                                screen.action_check_focused)
        yield SystemCommand("Rename conversation", "Change the current conversation's title", self.action_rename_conversation)
        yield SystemCommand("Delete conversation", "Move the current conversation to the trash (asks first)", self.action_delete_conversation)
        yield SystemCommand("Restore deleted conversation", "Bring back the conversation deleted last", self.action_restore_conversation)
        yield SystemCommand("Completion mode", "A document completed at the cursor: insert mode, echo, logprobs, best_of (F6)", self.action_completion_mode)
        yield SystemCommand("Compare mode", "One prompt, 2-4 lanes (models or parameters) side by side (F8)", chat.action_compare)
        yield SystemCommand("Images", "Generate, edit and vary images; results shown here and saved (F10)", self.action_images)
        yield SystemCommand("Tools", "MCP servers and their tools: state, restart, on/off for this conversation (F12)",
                            self.action_tools)
        yield SystemCommand("Edit mode", "Edit a text by an instruction, with a diff to accept or reject (F7)", self.action_edit_mode)
        yield SystemCommand("Regenerate answer", "Ask again: a new sibling answer, the old one kept", chat.action_regenerate)
        yield SystemCommand("Stop generation", "Stop the answer being streamed (the text so far is kept)", chat.action_stop)
        yield SystemCommand("Toggle model picker", "Show or hide the models pane (F2)", lambda: chat.action_toggle_pane("#left-slot"))
        yield SystemCommand("Conversation list", "Move to the sidebar's list of conversations (F5)", chat.action_focus_conversations)
        yield SystemCommand("Toggle parameters", "Show or hide the parameters pane (F3)", lambda: chat.action_toggle_pane("#right-slot"))
        yield SystemCommand("Keys and help", "Every key binding and how to remap it (F1)", self.action_help)
        for name in self.profile_names():
            if name != self.endpoint.name:
                yield SystemCommand(f"Switch endpoint: {name}", "Use another profile from the config", lambda n=name: self.switch_profile(n))

    def _template_commands(self, chat: ChatScreen):
        """The templates and roles: the picker, the manager, and each one by name."""
        from chat_tui.services.templates import Templates
        from chat_tui.store import StoreError

        yield SystemCommand("Templates and roles", "Use a saved prompt template or role (Ctrl+S)", chat.action_templates)
        yield SystemCommand("Manage templates and roles", "List, make, edit, rename and delete them", chat.manage_templates)
        try:
            saved = Templates(self.store).list()
        except StoreError:
            return
        from chat_tui.core.text import one_line

        for t in saved:
            what = "Role" if t.kind == "role" else "Template"
            yield SystemCommand(f"{what}: {one_line(t.name)}", one_line(t.description or t.text)[:100],
                                lambda n=t.name: chat.use_template(n))

    # -- shutdown ---------------------------------------------------------------------------------

    async def on_unmount(self) -> None:
        if self._store is not None:
            from chat_tui.services.history import purge_expired
            from chat_tui.store import StoreError

            try:
                purge_expired(self._store)
            except StoreError:
                pass  # locked or read-only: the trash is emptied another time
            if self._store_factory is not None:  # opened here; a Store handed in is its owner's
                self._store.close()
        if self.client is not None:
            await self.client.aclose()
        from chat_tui.services.mcp import close_all

        for provider in self.tool_providers:  # nothing on screen to tell any more
            if isinstance(listeners := getattr(provider, "listeners", None), list):
                listeners.clear()
        await close_all(self.tool_providers)  # MCP servers end with the app: no process left

    def shutdown(self) -> None:
        """Stop the local model server, if one was started (also called after a crash)."""
        if self._local is not None:
            self._local.stop()
            self._local = None


def run_app(endpoint: Endpoint, store: "Store | Callable[[], Store]", **options: Any) -> int:
    """Run the app (`options`: ChatApp's) until it exits; the local model server stops with it,
    crash included."""
    app = ChatApp(endpoint, store, **options)
    try:
        app.run()
    finally:
        app.shutdown()
    return app.return_code or 0
