"""Request parameters, one module per endpoint family: validation, option parsing, bodies.

A parameter left at `None` is "at its default" and is not sent, so the server's own default
applies. Shared checks and the `Params` base class are in `base.py`.

The families' modules are imported on first use (`CompletionParams`, `EditParams`): the chat
needs only `ChatParams` before its first frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chat_tui.core.params.base import EXTENSION_PARAMS, ParamError, Params, parse_option_value
from chat_tui.core.params.chat import ChatParams

if TYPE_CHECKING:
    from chat_tui.core.params.completions import CompletionParams
    from chat_tui.core.params.edits import EditParams

__all__ = ["EXTENSION_PARAMS", "ChatParams", "CompletionParams", "EditParams", "ParamError", "Params", "parse_option_value"]


def __getattr__(name: str) -> Any:
    if name == "CompletionParams":
        from chat_tui.core.params.completions import CompletionParams

        return CompletionParams
    if name == "EditParams":
        from chat_tui.core.params.edits import EditParams

        return EditParams
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
