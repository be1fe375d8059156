"""The message tree of one conversation, held in memory for the screen (one query per load)."""

from __future__ import annotations

from collections import defaultdict

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat_tui.store.records import Message
from chat_tui.ui.widgets.conversation import Branch


class Tree:
    def __init__(self, messages: list[Message]) -> None:
        self.by_id = {m.id: m for m in messages}
        self.children: dict[int | None, list[Message]] = defaultdict(list)
        for m in sorted(messages, key=lambda m: m.id):
            self.children[m.parent_id].append(m)

    def latest_leaf(self, start: int | None) -> int | None:
        """Follow the newest child from `start` (None = the newest root) down to a leaf."""
        node = start
        if node is None:
            roots = self.children.get(None) or []
            if not roots:
                return None
            node = roots[-1].id
        while self.children.get(node):
            node = self.children[node][-1].id
        return node

    def path(self, leaf: int | None) -> list[Message]:
        out: list[Message] = []
        node = leaf
        while node is not None and node in self.by_id:
            msg = self.by_id[node]
            out.append(msg)
            node = msg.parent_id
        out.reverse()
        return out

    def branch(self, message: Message) -> Branch:
        siblings = self.children.get(message.parent_id) or [message]
        ids = [m.id for m in siblings]
        return Branch(ids.index(message.id) + 1 if message.id in ids else 1, len(siblings))

    def sibling(self, message: Message, step: int) -> Message | None:
        siblings = self.children.get(message.parent_id) or []
        ids = [m.id for m in siblings]
        if message.id not in ids or len(ids) < 2:
            return None
        return siblings[(ids.index(message.id) + step) % len(ids)]

    def with_branches(self, leaf: int | None) -> list[tuple[Message, Branch]]:
        return [(m, self.branch(m)) for m in self.path(leaf)]
