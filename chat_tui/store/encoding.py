"""How values are written: timestamps, JSON columns, and the no-credentials rule."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

from chat_tui.core.messages import Part, TextPart

# Keys that would put a credential into the file; compared lowercased with "-" as "_".
_SECRET_KEYS = frozenset(
    {"api_key", "apikey", "openai_api_key", "x_api_key", "authorization",
     "proxy_authorization", "bearer", "password", "secret", "client_secret"}
)


def now() -> str:
    """The current time in the store's timestamp format (ISO-8601 UTC, milliseconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def find_secret(value: Any) -> str | None:
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).lower().replace("-", "_") in _SECRET_KEYS:
                return str(key)
            if (found := find_secret(item)) is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for item in value:
            if (found := find_secret(item)) is not None:
                return found
    return None


def _without_schema(params: dict[str, Any]) -> dict[str, Any]:
    """The params with a response_format's JSON Schema left out: its keys name the fields of
    the answer (a "password" property of a sign-up form), they carry no credential."""
    fmt = params.get("response_format")
    inner = fmt.get("json_schema") if isinstance(fmt, dict) else None
    if not isinstance(inner, dict) or "schema" not in inner:
        return params
    return {**params, "response_format": {**fmt, "json_schema": {k: v for k, v in inner.items() if k != "schema"}}}


def params_json(params: dict[str, Any] | None) -> str:
    if params is None:
        return "{}"
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict, not {type(params).__name__}")
    if (key := find_secret(_without_schema(params))) is not None:
        raise ValueError(f"params contain {key!r}; credentials are never stored")
    return json.dumps(params, ensure_ascii=False, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def lenient_json(value: Any) -> str | None:
    # Server data (logprobs) must never make finishing a reply fail: NaN/inf become null.
    if value is None:
        return None
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), ensure_ascii=False, allow_nan=False)


def parts_columns(content: "str | tuple[Part, ...]", keep: bool = False) -> tuple[str, str | None]:
    """(`content`, `parts`) columns for a message: the text, and the parts as JSON when there
    is more than text or `keep` is set (NULL for a text-only message, which then reads as before)."""
    if isinstance(content, str):
        return content, None
    text = "".join(p.text for p in content if isinstance(p, TextPart))
    if not keep and all(isinstance(p, TextPart) for p in content):
        return text, None
    return text, json.dumps([p.to_wire() for p in content], ensure_ascii=False)
