"""Edit mode's choices: one `ChoiceLane` per choice, side by side, each the diff of the input
against that choice (insertions bold and underlined, deletions struck through, coloured by the
app's palette: `ui/palette.py`).

A lane is only told its choice; keys on a focused lane (1–4 pick a lane, ←/→ move, Enter
accepts) are carried out by the screen. Model output is untrusted: it is rendered as
`rich.text.Text` with control characters made visible, never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from chat_tui.core.diff import DiffOp, changed, counts
from chat_tui.core.text import visible_controls
from chat_tui.ui.palette import DiffStyles

NEWLINE_MARK = "↵"  # an inserted or deleted line break, which would be invisible in colour alone


def diff_text(ops: list[DiffOp], styles: DiffStyles) -> Text:
    """The diff as one Text: equal runs plain, insertions and deletions in `styles`."""
    text = Text()
    for op in ops:
        shown = visible_controls(op.text)
        if op.tag == "equal":
            text.append(shown)
            continue
        if "\n" in shown:
            shown = shown.replace("\n", NEWLINE_MARK + "\n")
        text.append(shown, style=styles.inserted if op.tag == "insert" else styles.deleted)
    return text


def summary(ops: list[DiffOp]) -> str:
    if not changed(ops):
        return "no changes"
    ins, dels = counts(ops)
    if not ins and not dels:
        return "whitespace changed"
    return f"+{ins} −{dels} words"


class ChoiceLane(Vertical, can_focus=True):
    """One choice: a header (its number, what changed) and the diff."""

    BINDING_GROUP_TITLE = "Edit choice"
    BINDINGS = [
        Binding("enter", "screen.accept", "Accept", id="edit_choice.accept", show=False),
        Binding("left", "screen.focus_lane(-1)", "Prev choice", id="edit_choice.prev", show=False),
        Binding("right", "screen.focus_lane(1)", "Next choice", id="edit_choice.next", show=False),
        *(Binding(str(k), f"screen.pick({k})", f"Choice {k}", id=f"edit_choice.pick_{k}", show=False)
          for k in range(1, 5)),
    ]

    def __init__(self, index: int, ops: list[DiffOp], styles: DiffStyles, *, several: bool) -> None:
        super().__init__(classes="choice-lane")
        self.index = index
        self.ops = ops
        self.several = several
        self.diff = diff_text(ops, styles)  # kept: what the lane shows, styles included

    def compose(self):
        label = f"choice {self.index + 1} · " if self.several else ""
        yield Static(Text(label + summary(self.ops), style="bold"), classes="choice-header", markup=False)
        with VerticalScroll(classes="choice-body"):
            yield Static(self.diff, classes="choice-diff", markup=False)

    @property
    def plain(self) -> str:
        """The diff as shown, without styles."""
        return self.diff.plain
