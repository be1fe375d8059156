"""The Images screen (F10): generate, edit (with a mask) and vary images.

Tabs pick the kind; the model field suggests image models (any id can be typed). The options
row offers what that model takes for that kind, each with the values it accepts (a menu, or a
field for free values); "more" takes any other option as `name=value` words, for other servers.
The image field takes one path, or several for a gpt-image edit (quote a path with spaces). The
path fields complete file names. Ctrl+G sends through
`services.images` in a worker; results are shown with `ImageView`, each with its saved path.
Ctrl+O opens the selected result in the system viewer, ctrl+E shows it in its folder, ctrl+K copies
its path, ctrl+N selects the next result. An error is a message under the form; what was typed stays.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, Select, Static, Tab, Tabs

from chat_tui.core.images import SUGGESTED_MODELS, option_choices
from chat_tui.core.text import visible_controls
from chat_tui.ui.widgets.attachments import PathSuggester
from chat_tui.ui.widgets.image_view import ImageView

KINDS = ("generate", "edit", "variation")


class PathsSuggester(PathSuggester):
    """The attachments' path completion, for the last of several paths (a gpt-image edit)."""

    async def get_suggestion(self, value: str) -> str | None:
        head, _, last = value.rpartition(" ")
        if head and not last:
            return None
        suggestion = await super().get_suggestion(last if head else value)
        return None if suggestion is None else (head + " " if head else "") + suggestion


def system_viewer() -> str | None:
    """The command that opens a file in the system's viewer, if there is one."""
    return shutil.which("xdg-open") or shutil.which("open")


def split_paths(text: str) -> list[str]:
    """The image field's paths: words, a quoted one may hold spaces (as a shell reads them)."""
    from chat_tui.core.params import ParamError

    try:
        return shlex.split(text)
    except ValueError as exc:
        raise ParamError("image", f"cannot read the paths ({exc}): quote a path that has spaces") from None


def parse_options(text: str) -> list[tuple[str, Any]]:
    """`size=512x512 n=2` as (name, value) pairs, values parsed as JSON where they parse."""
    from chat_tui.core.params import ParamError, parse_option_value

    pairs = []
    for word in text.split():
        name, sep, value = word.partition("=")
        if not sep or not name:
            raise ParamError(word, "write options as name=value, e.g. size=512x512")
        pairs.append((name, parse_option_value(value)))
    return pairs


class ImagesScreen(Screen[None]):
    CSS_PATH = "../styles/images.tcss"
    BINDINGS = [
        Binding("ctrl+g", "send", "Make", id="images.send", priority=True),
        Binding("ctrl+o", "open", "Open", id="images.open", priority=True),
        Binding("ctrl+k", "copy_path", "Copy path", id="images.copy_path", priority=True),
        Binding("ctrl+e", "reveal", "Reveal", id="images.reveal", priority=True),
        Binding("ctrl+n", "next_result", "Next", id="images.next_result", priority=True),
        Binding("escape", "close", "Close", id="images.close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.kind = "generate"
        self.results: list[Any] = []  # SavedImage, newest request's
        self.selected = 0
        self.error: str | None = None
        self._offered: list[tuple[str, tuple[str, ...] | None]] | None = None  # the option widgets shown

    def compose(self) -> ComposeResult:
        yield Tabs(Tab("Generate", id="generate"), Tab("Edit", id="edit"), Tab("Variation", id="variation"),
                   id="images-tabs")
        with Vertical(id="images-form"):
            with Horizontal(classes="images-row"):
                yield Static("model   ", classes="field-label", markup=False)
                yield Input("", placeholder="dall-e-2 (any model id)", id="image-model", compact=True,
                            suggester=SuggestFromList(SUGGESTED_MODELS, case_sensitive=False))
            with Horizontal(classes="images-row", id="prompt-row"):
                yield Static("prompt  ", classes="field-label", markup=False)
                yield Input("", placeholder="what to draw", id="image-prompt", compact=True)
            with Horizontal(classes="images-row", id="path-row"):
                yield Static("image   ", classes="field-label", markup=False)
                yield Input("", placeholder="path of the image (gpt-image edits: up to 16, separated by spaces)",
                            id="image-path", compact=True, suggester=PathsSuggester())
            with Horizontal(classes="images-row", id="mask-row"):
                yield Static("mask    ", classes="field-label", markup=False)
                yield Input("", placeholder="optional PNG with alpha: transparent = edit here", id="image-mask",
                            compact=True, suggester=PathSuggester())
            yield Grid(id="image-option-grid")
            with Horizontal(classes="images-row"):
                yield Static("more    ", classes="field-label", markup=False)
                yield Input("", placeholder="other options as name=value (e.g. for another server)", id="image-options",
                            compact=True)
            yield Static("", id="image-accepts", markup=False)
            yield Static("", id="image-status", markup=False)
        yield VerticalScroll(id="image-results")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#image-model", Input).value = getattr(self.app, "image_model", None) or ""
        self._show_kind()
        self.query_one("#image-prompt", Input).focus()

    # -- form ---------------------------------------------------------------------------------

    @on(Tabs.TabActivated, "#images-tabs")
    def _tab(self, event: Tabs.TabActivated) -> None:
        if event.tab.id in KINDS:
            self.kind = event.tab.id
            self._show_kind()

    @on(Input.Changed, "#image-model")
    def _model_changed(self) -> None:
        self._show_accepts()

    def _show_kind(self) -> None:
        self.query_one("#prompt-row").display = self.kind != "variation"
        self.query_one("#path-row").display = self.kind != "generate"
        self.query_one("#mask-row").display = self.kind == "edit"
        self._show_accepts()

    def _show_accepts(self) -> None:
        """The option widgets for this model and kind: only what it takes, with its values; a
        value already chosen stays where the new model takes it too."""
        model = self.query_one("#image-model", Input).value.strip() or None
        offered = option_choices(model, self.kind)
        if offered == self._offered:
            return
        kept = self.option_values()
        self._offered = offered
        grid = self.query_one("#image-option-grid", Grid)
        grid.remove_children()
        cells = []
        for name, values in offered:
            now = kept.get(name)
            if values is None:
                field: Any = Input(now or "", placeholder="default", id=f"opt-{name}", compact=True,
                                   classes="image-option")
            else:
                field = Select([(v, v) for v in values], prompt="default", id=f"opt-{name}", compact=True,
                               value=now if now in values else Select.NULL, classes="image-option")
            cells.append(Horizontal(Static(name, classes="option-label", markup=False), field, classes="option-cell"))
        grid.mount_all(cells)
        names = ", ".join(name for name, _ in offered) or "no options"
        known = "" if model is None or self._known(model) else " (not a model known here: every option, unchecked)"
        self.query_one("#image-accepts", Static).update(Text(f"{model or 'dall-e-2'} takes: {names}{known}", style="dim"))

    @staticmethod
    def _known(model: str) -> bool:
        from chat_tui.core.images import image_model

        return image_model(model) is not None

    def option_values(self) -> dict[str, str]:
        """The options chosen in the widgets (left at default: absent)."""
        values = {}
        for field in self.query(".image-option"):
            name = (field.id or "").removeprefix("opt-")
            value = field.value
            if isinstance(field, Select):
                if value is not Select.NULL and value is not None:
                    values[name] = str(value)
            elif str(value).strip():
                values[name] = str(value).strip()
        return values

    def set_status(self, text: str, error: bool = False) -> None:
        self.error = text if error else None
        status = self.query_one("#image-status", Static)
        status.update(Text(visible_controls(text)))
        status.set_class(error, "-error")

    # -- actions -----------------------------------------------------------------------------

    def action_send(self) -> None:
        from chat_tui.core.params import ParamError
        from chat_tui.core.params.images import ImageParams

        app = self.app
        if not getattr(app, "client_ready", False) or app.client is None:
            self.notify("Not connected yet.", severity="warning", timeout=4)
            return
        from chat_tui.core.params import parse_option_value

        try:
            chosen = [(name, parse_option_value(value)) for name, value in self.option_values().items()]
            typed = parse_options(self.query_one("#image-options", Input).value)
            params = ImageParams.from_options(chosen + typed)  # what is typed under "more" wins
            paths = split_paths(self.query_one("#image-path", Input).value)
        except ParamError as exc:
            self.set_status(f"Not sent: {exc}", error=True)
            return
        form = {
            "model": self.query_one("#image-model", Input).value.strip() or None,
            "prompt": self.query_one("#image-prompt", Input).value,
            "paths": paths,
            "mask": self.query_one("#image-mask", Input).value.strip(),
        }
        self.app.image_model = form["model"]  # `/image` in the chat uses it too
        self.set_status(f"Making ({self.kind})…")
        self.run_request(self.kind, form, params)

    @work(exclusive=True, group="images", exit_on_error=False)
    async def run_request(self, kind: str, form: dict[str, Any], params: Any) -> None:
        from chat_tui.api.errors import APIError
        from chat_tui.core.params import ParamError
        from chat_tui.core.text import error_text
        from chat_tui.services import images as service

        app = self.app
        blobs = blob_root(app)
        endpoint = app.endpoint.name
        try:
            if kind == "generate":
                outcome = await service.generate(app.client, app.store, blobs, form["prompt"], form["model"], params,
                                                 endpoint=endpoint)
            else:
                if not form["paths"]:
                    raise ParamError("image", "give the path of the image")
                images = [service.read_upload(path) for path in form["paths"]]
                if kind == "edit":
                    mask = service.read_upload(form["mask"]) if form["mask"] else None
                    outcome = await service.edit(app.client, app.store, blobs, images, form["prompt"], form["model"],
                                                 params, mask=mask, endpoint=endpoint)
                else:
                    if len(images) > 1:
                        raise ParamError("image", f"a variation is of one image, not {len(images)}")
                    outcome = await service.vary(app.client, app.store, blobs, images[0], form["model"], params,
                                                 endpoint=endpoint)
        except (ParamError, APIError) as exc:
            self.set_status(f"Not made: {error_text(exc)}", error=True)
            return
        await self.show_results(outcome.images, outcome.cost)

    async def show_results(self, images: list[Any], cost: float | None) -> None:
        self.results, self.selected = list(images), 0
        box = self.query_one("#image-results", VerticalScroll)
        await box.remove_children()
        for i, saved in enumerate(images):
            caption = f"{i + 1}. {saved.path}"
            if saved.width:
                caption += f"  {saved.width}x{saved.height}"
            if saved.revised_prompt:
                caption += f"\n   revised prompt: {saved.revised_prompt}"
            await box.mount(Static(Text(visible_controls(caption)), classes="image-caption", markup=False))
            await box.mount(ImageView(saved.path, max_height=12))
        spent = f", about ${cost:.3f}" if cost is not None else ""
        self.set_status(f"{len(images)} image{'s' * (len(images) != 1)} saved{spent}."
                        " Ctrl+O open · ctrl+E reveal · ctrl+K copy path · ctrl+N next")
        self._mark_selected()

    def _mark_selected(self) -> None:
        for i, caption in enumerate(self.query(".image-caption")):
            caption.set_class(i == self.selected, "-selected")

    def _current(self) -> Any:
        if not self.results:
            self.notify("No image yet: make one with ctrl+G.", severity="warning", timeout=4)
            return None
        return self.results[self.selected]

    def action_next_result(self) -> None:
        if self.results:
            self.selected = (self.selected + 1) % len(self.results)
            self._mark_selected()

    def action_copy_path(self) -> None:
        saved = self._current()
        if saved is not None:
            self.app.copy_to_clipboard(str(saved.path), note=f"Copied {saved.path}")

    def action_open(self) -> None:
        saved = self._current()
        if saved is not None:
            self._launch(saved.path, lambda viewer: [viewer, str(saved.path)])

    def action_reveal(self) -> None:
        """Show the image's file in its folder: `open -R` on macOS, else the folder opened."""
        saved = self._current()
        if saved is not None:
            self._launch(saved.path, lambda viewer: [viewer, "-R", str(saved.path)] if Path(viewer).name == "open"
                         else [viewer, str(saved.path.parent)])

    def _launch(self, path: Path, command) -> None:
        viewer = system_viewer()
        if viewer is None:
            self.notify(f"No system viewer (xdg-open or open) found. The image is at {path}",
                        severity="warning", timeout=10, markup=False)
            return
        try:
            subprocess.Popen(command(viewer), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            self.notify(f"Could not run {viewer}: {exc.strerror or exc}", severity="error", markup=False)

    def action_close(self) -> None:
        self.app.pop_screen()


def blob_root(app: Any) -> Path:
    """Where image bytes go: the data directory's blob store, else beside the database file."""
    from chat_tui.store.images import blob_root as under

    paths = getattr(app, "paths", None)
    if paths is not None:
        return under(paths.data_dir)
    db = getattr(app.store, "path", None)
    if db is not None and str(db) != ":memory:":
        return under(Path(db).parent)
    return under(Path(tempfile.gettempdir()) / "chat-tui")
