"""Walking earlier prompts in the prompt box, the way a shell walks its history.

`older` and `newer` step through the prompts newest first; the text being typed when the walk
started (the draft) comes back past the newest one, so it is never lost. An entry edited during
a walk keeps its edit until the walk ends (a send, or `reset`), like readline's: the stored
prompt itself is never changed. Entries are read a page at a time through `fetch`, which
returns (id, text) pairs older than an id, newest first, without the texts it is told to skip.
"""

from __future__ import annotations

from collections.abc import Callable

Fetch = Callable[[int | None, int, set[str]], list[tuple[int, str]]]

PAGE = 100
PICKED = -2  # the walk is on a prompt picked by the reverse search (or a template), not on an entry


class PromptRecall:
    def __init__(self, fetch: Fetch, page: int = PAGE) -> None:
        self._fetch = fetch
        self._page = page
        self.reset()

    def reset(self) -> None:
        """End the walk: the next `older` starts again from the newest prompt, read afresh."""
        self.index = -1  # -1: on the draft; 0, 1 …: on entries[index]; PICKED: on `picked`
        self.entries: list[tuple[int, str]] = []
        self.draft = ""
        self.edits: dict[int, str] = {}
        self.picked: str | None = None  # a pick stays between the draft and the newest entry
        self._exhausted = False

    @property
    def walking(self) -> bool:
        return self.index != -1

    def _leave(self, text: str) -> None:
        """Remember what the box holds before moving away from where the walk is."""
        if self.index == -1:
            self.draft = text
        elif self.index == PICKED:
            self.picked = text
        elif text != self.entries[self.index][1]:
            self.edits[self.index] = text
        else:
            self.edits.pop(self.index, None)

    def _shown(self) -> str:
        if self.index == -1:
            return self.draft
        if self.index == PICKED:
            return self.picked or ""
        return self.edits.get(self.index, self.entries[self.index][1])

    def _load_more(self) -> bool:
        if self._exhausted:
            return False
        before = self.entries[-1][0] if self.entries else None
        more = self._fetch(before, self._page, {text for _, text in self.entries})
        if len(more) < self._page:
            self._exhausted = True
        self.entries.extend(more)
        return bool(more)

    def older(self, text: str) -> str | None:
        """The prompt before the one shown (`text` is what the box holds now), or None when
        there is none (the box is left as it is)."""
        if self.index == -1 and self.picked is not None:
            self._leave(text)
            self.index = PICKED
            return self._shown()
        target = 0 if self.index in (-1, PICKED) else self.index + 1
        if target >= len(self.entries):
            self._load_more()
        if target >= len(self.entries):
            return None
        self._leave(text)
        self.index = target
        return self._shown()

    def newer(self, text: str) -> str | None:
        """The prompt after the one shown, the draft past the newest; None when on the draft."""
        if self.index == -1:
            return None
        self._leave(text)
        if self.index == 0 and self.picked is not None:
            self.index = PICKED
        else:
            self.index = -1 if self.index in (0, PICKED) else self.index - 1
        return self._shown()

    def pick(self, picked: str, text: str) -> str:
        """A prompt chosen by the reverse search (or a filled template) goes in the box; `newer`
        brings back the draft (`text`, or the draft of the walk already under way), `older`
        the pick again, as it was left."""
        self._leave(text)
        self.index = PICKED
        self.picked = picked
        return picked
