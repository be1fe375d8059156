"""Named parameter presets: the one way the UI reads and changes them (no UI code here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chat_tui.store import Store
    from chat_tui.store.records import Preset


class Presets:
    """Save, load, rename and delete presets of chat parameters, kept in the store."""

    def __init__(self, store: "Store") -> None:
        self._store = store

    def list(self) -> list["Preset"]:
        return self._store.list_presets()

    def get(self, name: str) -> "Preset | None":
        return self._store.get_preset(name)

    def save(self, name: str, params: dict[str, Any]) -> int:
        return self._store.save_preset(name, params)

    def rename(self, old: str, new: str) -> None:
        self._store.rename_preset(old, new)

    def delete(self, name: str) -> bool:
        return self._store.delete_preset(name)

    def params(self, name: str) -> dict[str, Any] | None:
        """A preset's parameters by name (for lane specs: `preset=NAME`)."""
        preset = self._store.get_preset(name)
        return dict(preset.params) if preset is not None else None
