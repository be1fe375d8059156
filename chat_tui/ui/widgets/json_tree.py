"""A structured answer: its validation line and its JSON as a collapsible tree.

`StructuredAnswer` checks the answer against the schema its request carried (in a thread: a big
answer must not hold up the screen), then shows "✓ valid against NAME" or "✗ $.path: message"
and a `JsonTree` with the node of the first violation marked and under the cursor.

Keys and values are model output: every label is a `rich.text.Text` (a `str` label would be
read as markup), control characters are made visible and a value is shown as its JSON (so a
newline in a string is `\\n`), cut at `VALUE_LIMIT` characters. Children are made when a node is
first expanded, so a large answer costs the nodes on screen, not the whole document.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from rich.highlighter import ReprHighlighter
from rich.text import Text
from textual import on
from textual.containers import Vertical
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from chat_tui.core.structured import Path, Structured, Verdict, validate_answer
from chat_tui.core.text import visible_controls

VALUE_LIMIT = 200  # characters of a value shown in its node (the raw view has all of it)
OPEN_LINES = 60  # nodes expanded at first, breadth first, at most
_HIGHLIGHT = ReprHighlighter()


@dataclass
class Node:
    path: Path
    value: Any
    filled: bool = False


def _key_text(key: str | int | None) -> Text:
    if key is None:
        return Text()
    if isinstance(key, int):
        return Text(f"[{key}] ", style="dim")
    text = Text(visible_controls(key).replace("\n", "\u240a"), style="bold")
    text.append(": ")
    return text


def value_text(value: Any) -> Text:
    """A scalar as its JSON, highlighted, cut at VALUE_LIMIT; a container as its size."""
    if isinstance(value, dict):
        return Text(f"{{}} {len(value)} key{'' if len(value) == 1 else 's'}", style="dim")
    if isinstance(value, list):
        return Text(f"[] {len(value)} item{'' if len(value) == 1 else 's'}", style="dim")
    raw = json.dumps(value, ensure_ascii=False)
    if len(raw) > VALUE_LIMIT:
        raw = raw[: VALUE_LIMIT - 1] + "…"
    return _HIGHLIGHT(Text(visible_controls(raw)))


def label(key: str | int | None, value: Any, *, marked: bool = False) -> Text:
    text = Text("✗ ", style="bold red") if marked else Text()
    text.append_text(_key_text(key))
    text.append_text(value_text(value))
    return text


class JsonTree(Tree[Node]):
    """A JSON value as a tree (`reveal(path)` opens the way to a node and puts the cursor on it)."""

    DEFAULT_CSS = """
    JsonTree {
        height: auto;
        background: transparent;
    }
    """

    def __init__(self, data: Any, *, title: str = "", **kw) -> None:
        root_label = Text(visible_controls(title) + " ", style="italic") if title else Text()
        root_label.append_text(value_text(data))
        super().__init__(root_label, Node((), data), **kw)
        self.marked: TreeNode[Node] | None = None
        self._fill(self.root)
        self.root.expand()
        self._open_some()

    def _fill(self, node: TreeNode[Node]) -> None:
        data = node.data
        if data is None or data.filled:
            return
        data.filled = True
        value = data.value
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, child in items:
            container = isinstance(child, (dict, list)) and bool(child)
            node.add(label(key, child), Node((*data.path, key), child), allow_expand=container)

    def _open_some(self) -> None:
        """Expand breadth first while the tree stays under OPEN_LINES lines."""
        lines = 1 + len(self.root.children)
        queue = list(self.root.children)
        while queue:
            node = queue.pop(0)
            if not node.allow_expand or node.data is None or lines + len(node.data.value) > OPEN_LINES:
                continue  # left closed, and its children not made until it is opened
            self._fill(node)
            node.expand()
            lines += len(node.children)
            queue.extend(node.children)

    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[Node]) -> None:
        self._fill(event.node)

    def node_at(self, path: Path) -> TreeNode[Node]:
        """The node of `path`, or of its longest part that exists, its ancestors filled and expanded."""
        node = self.root
        for part in path:
            self._fill(node)
            child = next((c for c in node.children if c.data is not None and c.data.path[-1:] == (part,)), None)
            if child is None:
                break
            node.expand()
            node = child
        return node

    def reveal(self, path: Path, *, mark: bool = True) -> TreeNode[Node]:
        """Open the way to `path`, mark its node (✗) and move the cursor there."""
        node = self.node_at(path)
        if mark:
            data = node.data
            key = data.path[-1] if data is not None and data.path else None
            if node is self.root:
                node.set_label(Text("✗ ", style="bold red") + node.label)
            else:
                node.set_label(label(key, data.value if data else None, marked=True))
            self.marked = node
        self.move_cursor(node)
        return node


class StructuredAnswer(Vertical):
    """Under a reply with a schema: the validation line, and the answer as a `JsonTree` (none
    when it is not JSON). `verdict` is set once the check (in a thread) is done."""

    DEFAULT_CSS = """
    StructuredAnswer {
        height: auto;
    }
    StructuredAnswer .verdict {
        height: auto;
    }
    """

    def __init__(self, text: str, structured: Structured, **kw) -> None:
        super().__init__(**kw)
        self.text = text
        self.structured = structured
        self.verdict: Verdict | None = None
        self._tree_shown = True

    def show_tree(self, shown: bool) -> None:
        """The tree, or only the validation line (the raw text is shown instead)."""
        self._tree_shown = shown
        if (tree := self.tree) is not None:
            tree.display = shown

    def compose(self):
        yield Static(Text(f"checking against {visible_controls(self.structured.name)}…"), classes="verdict", markup=False)

    def on_mount(self) -> None:
        self.run_worker(self._check(), group="structured", exit_on_error=False)

    async def _check(self) -> None:
        verdict = await asyncio.to_thread(validate_answer, self.text, self.structured)
        line = self.query_one(".verdict", Static)
        line.update(Text(visible_controls(verdict.summary())))
        line.set_class(verdict.ok, "valid")
        line.set_class(not verdict.ok, "invalid")
        if verdict.parsed:
            tree = JsonTree(verdict.data, title=self.structured.name, classes="json-tree")
            tree.display = self._tree_shown
            await self.mount(tree)
            if not verdict.ok and verdict.path is not None:
                tree.reveal(verdict.path)
        self.verdict = verdict

    @property
    def tree(self) -> JsonTree | None:
        return next(iter(self.query(JsonTree)), None)
