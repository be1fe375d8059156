"""What every endpoint's parameters share: the error, the value checks, option parsing, and
`Params`, a frozen dataclass of parameters where `None` means "at its default, not sent".

Ranges follow OpenAI's API reference; a value out of range is refused before anything is sent,
with a message naming the parameter and its range.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import asdict, fields, replace
from typing import Any, ClassVar, Iterable



class ParamError(ValueError):
    """A parameter is unknown, malformed or out of range."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param


# Parameters some OpenAI-compatible servers (llama.cpp, vLLM, Ollama) accept beyond OpenAI's.
EXTENSION_PARAMS = ("top_k", "min_p", "repeat_penalty", "repetition_penalty", "typical_p", "mirostat")


def number(name: str, value: Any, lo: float | None, hi: float | None, *, integer: bool = False) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                value = int(value) if integer else float(value)
            except ValueError:
                raise ParamError(name, f"expected a number, got {value!r}") from None
        else:
            raise ParamError(name, f"expected a number, got {value!r}")
    if integer:
        if isinstance(value, float):
            if not value.is_integer():
                raise ParamError(name, f"expected a whole number, got {value!r}")
            value = int(value)
    elif not math.isfinite(value):
        raise ParamError(name, f"expected a finite number, got {value!r}")
    rng = _range_text(lo, hi)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ParamError(name, f"{value} is out of range: must be {rng}")
    return value


def _range_text(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"between {_fmt(lo)} and {_fmt(hi)}"
    if lo is not None:
        return f"at least {_fmt(lo)}"
    return f"at most {_fmt(hi)}"


def _fmt(v: float | None) -> str:
    return str(int(v)) if v is not None and float(v).is_integer() else str(v)


def stop_value(value: Any) -> str | list[str]:
    if isinstance(value, str):
        if not value:
            raise ParamError("stop", "an empty stop sequence would stop at once")
        return value
    if isinstance(value, (list, tuple)):
        items = list(value)
        if not 1 <= len(items) <= 4:
            raise ParamError("stop", f"up to 4 sequences are allowed, got {len(items)}")
        if not all(isinstance(s, str) and s for s in items):
            raise ParamError("stop", "every stop sequence must be a non-empty string")
        return items
    raise ParamError("stop", f"expected a string or a list of up to 4 strings, got {value!r}")


def logit_bias_value(value: Any) -> dict[str, int]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ParamError("logit_bias", 'expected a JSON object like {"1734": -100}') from None
    if not isinstance(value, dict):
        raise ParamError("logit_bias", f'expected an object of token id → bias, like {{"1734": -100}}, got {value!r}')
    out: dict[str, int] = {}
    for key, bias in value.items():
        try:
            token = int(key)
        except (TypeError, ValueError):
            raise ParamError("logit_bias", f"keys are token ids (integers), got {key!r}") from None
        if token < 0:
            raise ParamError("logit_bias", f"token id {token} is negative")
        b = number(f"logit_bias[{token}]", bias, -100, 100)
        out[str(token)] = int(b) if float(b).is_integer() else b
    return out


def bool_value(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise ParamError(name, f"expected true or false, got {value!r}")


def response_format_value(value: Any) -> dict[str, Any]:
    """"text", "json_object", or the object; a json_schema one is checked as the API would (its
    name, that the schema is a JSON Schema, strict mode's rules: `core.structured`)."""
    if isinstance(value, str):
        if value in ("text", "json_object"):
            return {"type": value}
        if value == "json_schema":
            raise ParamError("response_format", 'json_schema needs a schema: {"type": "json_schema", "json_schema":'
                                                ' {"name": ..., "schema": {...}}} (chat-tui ask: --schema FILE)')
        try:
            value = json.loads(value)
        except ValueError:
            raise ParamError("response_format", 'expected "text", "json_object" or a JSON object') from None
    if not isinstance(value, dict) or value.get("type") not in ("text", "json_object", "json_schema"):
        raise ParamError("response_format", 'expected {"type": "text" | "json_object" | "json_schema", ...}')
    if value["type"] == "json_schema":
        from chat_tui.core.structured import SchemaError, check_response_format

        try:
            check_response_format(value)
        except SchemaError as exc:
            raise ParamError("response_format", str(exc)) from None
    return value


def choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ParamError(name, f"expected one of {', '.join(allowed)}, got {value!r}")
    return value


def string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ParamError(name, f"expected a string, got {value!r}")
    return value


def extension_value(name: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(name, f"expected a number, got {value!r}")
    return value


def check_unknown(name: str, rules: dict[str, Any]) -> None:
    if name in rules or name in EXTENSION_PARAMS:
        return
    close = difflib.get_close_matches(name, list(rules) + list(EXTENSION_PARAMS), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise ParamError(name, f"unknown parameter{hint}")


def parse_option_value(raw: str) -> Any:
    """`-o NAME VALUE`: the value as JSON where it parses (numbers, booleans, objects), else a string."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class Params:
    """Parameters of one endpoint: set (each value checked by `RULES`), validate, list what is sent.

    `RULES` maps each name to (validator, the default shown in UIs: OpenAI's documented one)."""

    RULES: ClassVar[dict[str, Any]]
    extra: dict[str, Any]

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name != "extra"]  # type: ignore[arg-type]

    @classmethod
    def default_of(cls, name: str) -> Any:
        return cls.RULES[name][1]

    def with_option(self, name: str, value: Any):
        """A copy with one parameter set (validated); `None` resets it to its default."""
        check_unknown(name, self.RULES)
        if name in EXTENSION_PARAMS:
            extra = dict(self.extra)
            if value is None:
                extra.pop(name, None)
            else:
                extra[name] = extension_value(name, value)
            return replace(self, extra=extra)  # type: ignore[type-var]
        if value is not None:
            value = self.RULES[name][0](value)
        return replace(self, **{name: value})  # type: ignore[type-var]

    @classmethod
    def from_options(cls, options: Iterable[tuple[str, Any]]):
        params = cls()
        for name, value in options:
            params = params.with_option(name, value)
        return params.validated()

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None):
        return cls.from_options((data or {}).items())

    def validated(self):
        return self

    def as_dict(self) -> dict[str, Any]:
        """Only the parameters that are set (the ones that will be sent)."""
        out = {k: v for k, v in asdict(self).items() if v is not None and k != "extra"}  # type: ignore[call-overload]
        out.update(self.extra)
        return out


