"""The parameter-filter grammar of the history, one for the CLI (`--param`) and the TUI.

    temperature>1              a reply was sent with temperature above 1
    top_p<=0.5, seed=7         several, separated by commas (or semicolons)
    model_name="x,y"           values are JSON where they parse (numbers, "strings"), else text
    response_format=json_schema   structured output: response_format by its type (text,
                               json_object, json_schema); replies sent without it have none

Operators: <, <=, >, >=, =, ==, !=.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

ParamFilter = tuple[str, str, Any]

_ONE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|!=|==|=|<|>)\s*(\S.*?)\s*\Z", re.S)
# Split at a comma or semicolon that starts a new `name op`: a JSON string value may hold commas.
_SPLIT = re.compile(r"[,;](?=\s*[A-Za-z_][A-Za-z0-9_]*\s*(?:<=|>=|!=|==|=|<|>))")


def parse_param_filter(expr: str) -> ParamFilter:
    """``"temperature>1"`` -> ``("temperature", ">", 1)``; ValueError naming the bad part."""
    match = _ONE.match(expr)
    if match is None:
        raise ValueError(f"parameter filter {expr.strip()!r}: expected NAME OP VALUE, like temperature>1")
    name, op, raw = match.groups()
    try:
        value: Any = json.loads(raw)
    except ValueError:
        try:
            value = float(raw)  # ".5", "1."
        except ValueError:
            value = raw
    if isinstance(value, (dict, list)) or value is None:
        raise ValueError(f"parameter filter {expr.strip()!r}: compare with a number or a string")
    return name, op, value


def parse_param_filters(text: str | Iterable[str]) -> tuple[ParamFilter, ...]:
    """Every filter in `text` (comma-separated) or in each item of a list (repeated `--param`)."""
    items = [text] if isinstance(text, str) else list(text)
    out = []
    for item in items:
        for part in _SPLIT.split(item):
            if part.strip():
                out.append(parse_param_filter(part))
    return tuple(out)
