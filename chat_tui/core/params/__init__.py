"""Request parameters, one module per endpoint family: validation, option parsing, bodies.

A parameter left at `None` is "at its default" and is not sent, so the server's own default
applies. Shared checks and the `Params` base class are in `base.py`.
"""

from chat_tui.core.params.base import EXTENSION_PARAMS, ParamError, Params, parse_option_value
from chat_tui.core.params.chat import ChatParams
from chat_tui.core.params.completions import CompletionParams
from chat_tui.core.params.edits import EditParams

__all__ = ["EXTENSION_PARAMS", "ChatParams", "CompletionParams", "EditParams", "ParamError", "Params", "parse_option_value"]
