"""User key bindings: the config file's `[keys]` table, checked, then given to `App.set_keymap`.

Every `Binding` in chat-tui has an `id` ("app.stop", "prompt.send"); the table maps ids to key
strings, e.g. `"app.stop" = "ctrl+c"` or `"prompt.newline" = "ctrl+j,shift+enter"`. Textual
replaces the default keys of those bindings wherever they apply, at the moment a key is looked
up, so a binding of a screen opened later (compare, history) is remapped too. Problems (an
unknown id, a key Textual would never report, two bindings on one key) come back as messages
for one notification; the good entries apply.

Screens and widgets are imported when first used (start-up is faster), so the ids they declare
are known only once `import_binding_modules()` has run: the app sets the keymap at once and
checks the ids after the first frame (`keymap_from_config`, then `check_keymap`).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import KEY_TO_UNICODE_NAME, REPLACED_KEYS, Keys

from chat_tui.ui.compat import class_bindings_map

MODIFIERS = ("shift", "ctrl", "alt", "super", "hyper", "meta")
_NAMED_KEYS = {k.value.rsplit("+", 1)[-1] for k in Keys if not k.value.startswith("<")} | {"newline"}
_KEY_NAME = re.compile(r"[a-z0-9_]+")


def class_bindings(cls: type[DOMNode]) -> list[Binding]:
    """A class's bindings as Textual sees them: BINDINGS merged along the MRO, one per key."""
    return [b for bindings in class_bindings_map(cls).key_to_bindings.values() for b in bindings]


def collect_binding_ids(*classes: type[DOMNode] | DOMNode) -> dict[str, tuple[str, str]]:
    """`{binding id: (default keys, description)}` over the classes' BINDINGS (instances allowed).

    A binding declared for several keys ("ctrl+j,shift+enter") gives one entry with all of them.
    """
    found: dict[str, tuple[str, str]] = {}
    for item in classes:
        cls = item if isinstance(item, type) else type(item)
        for binding in class_bindings(cls):
            if binding.id is None:
                continue
            keys, description = found.get(binding.id, ("", binding.description))
            key_list = keys.split(",") if keys else []
            if binding.key not in key_list:
                key_list.append(binding.key)
            found[binding.id] = (",".join(key_list), description or binding.description)
    return found


# Where chat-tui's screens and widgets live: every binding id is declared in one of them.
BINDING_PACKAGES = ("chat_tui.ui.screens", "chat_tui.ui.widgets")


def import_binding_modules() -> None:
    """Import every screen and widget module, so that all binding ids are known (~30 ms: after
    the first frame, or for the keys screen)."""
    for package_name in BINDING_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package_name}.{info.name}")


def binding_classes(app: App[Any]) -> list[type[DOMNode]]:
    """The app's class and every imported widget/screen class: any of them may declare ids."""
    seen: list[type[DOMNode]] = [type(app)]
    stack = [DOMNode]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.append(sub)
                stack.append(sub)
    return seen


def key_problem(value: Any) -> str | None:
    """Why `value` is not a usable key string ("ctrl+k", "f2", "ctrl+j,shift+enter"), or None."""
    if not isinstance(value, str):
        return f"the keys must be a string like \"ctrl+k\", not {value!r}"
    if not value.strip():
        return "no key given"
    for key in (k.strip() for k in value.split(",")):
        if not key:
            return f"{value!r} has an empty key (keys are separated by single commas)"
        if len(key) == 1:
            continue  # any single character ("?", "q", "A") is a key
        *mods, name = key.split("+")
        bad_mods = [m for m in mods if m not in MODIFIERS]
        if bad_mods:
            return f"{key!r}: unknown modifier {bad_mods[0]!r} (use {', '.join(MODIFIERS)})"
        if len(set(mods)) != len(mods):
            return f"{key!r}: a modifier is repeated"
        if not name:
            return f"{key!r}: no key after the modifiers"
        if not _known_key_name(name) or name != name.lower():  # Textual reports "ctrl+k", not "ctrl+K"
            return f"{key!r}: unknown key {name!r} (key names are lower case: enter, f2, pageup, slash…)"
    return None


def _known_key_name(name: str) -> bool:
    if len(name) == 1 or name in _NAMED_KEYS:
        return True
    if not _KEY_NAME.fullmatch(name):
        return False
    original = REPLACED_KEYS.get(name, name)  # "slash" -> "solidus", Textual's own aliases
    unicode_name = KEY_TO_UNICODE_NAME.get(original, original.replace("_", " ").upper())
    try:
        unicodedata.lookup(unicode_name)
    except KeyError:
        return False
    return True


def flatten_keys(keys: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`[keys] app.stop = "x"` (unquoted) is a nested table in TOML: join it back to "app.stop"."""
    flat: dict[str, Any] = {}
    for name, value in keys.items():
        full = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(flatten_keys(value, full + "."))
        else:
            flat[full] = value
    return flat


def keymap_from_config(keys: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The `[keys]` table as a keymap, and the problems with its key strings (the ids are
    checked by `check_keymap`, once every binding class is imported)."""
    errors: list[str] = []
    keymap: dict[str, str] = {}
    for binding_id, value in flatten_keys(keys).items():
        if problem := key_problem(value):
            errors.append(f"[keys] {binding_id!r}: {problem}")
        else:
            keymap[binding_id] = ",".join(k.strip() for k in value.split(","))
    return keymap, errors


def check_keymap(keymap: Mapping[str, str], classes: Iterable[type[DOMNode]]) -> list[str]:
    """Ids no class declares, and bindings of one class that now share a key."""
    classes = list(classes)
    known = collect_binding_ids(*classes)
    errors: list[str] = []
    unknown = [binding_id for binding_id in keymap if binding_id not in known]
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        errors.append(f"[keys] no binding with id {names}; known ids: {', '.join(sorted(known))}")
    errors.extend(_clashes(classes, {k: v for k, v in keymap.items() if k in known}))
    return errors


def apply_keymap(
    app: App[Any], keys: Mapping[str, Any], classes: Iterable[type[DOMNode]] | None = None
) -> list[str]:
    """Check `keys` ({binding id: key string}), `app.set_keymap` the good entries, return problems.

    `classes` are where binding ids are looked up; by default the app and every imported
    widget/screen class.
    """
    classes = list(classes) if classes is not None else binding_classes(app)
    keymap, errors = keymap_from_config(keys)
    problems = check_keymap(keymap, classes)
    known = collect_binding_ids(*classes)
    app.set_keymap({k: v for k, v in keymap.items() if k in known})
    return problems + errors


def _clashes(classes: Iterable[type[DOMNode]], keymap: Mapping[str, str]) -> list[str]:
    """Two remappable bindings of one class now on the same key: only one of them can run."""
    problems: list[str] = []
    for cls in classes:
        by_key: dict[str, list[str]] = {}
        for binding_id, (keys, _) in collect_binding_ids(cls).items():
            for key in keymap.get(binding_id, keys).split(","):
                if binding_id not in by_key.setdefault(key, []):
                    by_key[key].append(binding_id)
        for key, ids in by_key.items():
            if len(ids) > 1 and any(i in keymap for i in ids):
                problems.append(f"[keys] {key!r} is bound to both {' and '.join(map(repr, ids))}")
    return list(dict.fromkeys(problems))  # a subclass repeats its base class's clash
