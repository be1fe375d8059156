"""Request parameters: validation, option parsing and request bodies.

A parameter left at `None` is "at its default" and is not sent, so the server's own default
applies. Ranges follow OpenAI's API reference; a value out of range is refused before anything
is sent, with a message naming the parameter and its range.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Iterable

from chat_tui.core.messages import ChatMessage


class ParamError(ValueError):
    """A parameter is unknown, malformed or out of range."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param


# Parameters some OpenAI-compatible servers (llama.cpp, vLLM, Ollama) accept beyond OpenAI's.
EXTENSION_PARAMS = ("top_k", "min_p", "repeat_penalty", "repetition_penalty", "typical_p", "mirostat")


def _number(name: str, value: Any, lo: float | None, hi: float | None, *, integer: bool = False) -> float | int:
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


def _stop(value: Any) -> str | list[str]:
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


def _logit_bias(value: Any) -> dict[str, int]:
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
        b = _number(f"logit_bias[{token}]", bias, -100, 100)
        out[str(token)] = int(b) if float(b).is_integer() else b
    return out


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise ParamError(name, f"expected true or false, got {value!r}")


def _response_format(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        if value in ("text", "json_object"):
            return {"type": value}
        try:
            value = json.loads(value)
        except ValueError:
            raise ParamError("response_format", 'expected "text", "json_object" or a JSON object') from None
    if not isinstance(value, dict) or value.get("type") not in ("text", "json_object", "json_schema"):
        raise ParamError("response_format", 'expected {"type": "text" | "json_object" | "json_schema", ...}')
    if value["type"] == "json_schema" and not isinstance(value.get("json_schema"), dict):
        raise ParamError("response_format", 'type "json_schema" needs a "json_schema" object')
    return value


def _string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ParamError(name, f"expected a string, got {value!r}")
    return value


# name → (validator, default shown in UIs). Defaults are OpenAI's documented ones.
_CHAT_RULES: dict[str, Any] = {
    "temperature": (lambda v: _number("temperature", v, 0, 2), 1.0),
    "top_p": (lambda v: _number("top_p", v, 0, 1), 1.0),
    "n": (lambda v: _number("n", v, 1, 128, integer=True), 1),
    "stop": (_stop, None),
    "max_tokens": (lambda v: _number("max_tokens", v, 1, None, integer=True), None),
    "max_completion_tokens": (lambda v: _number("max_completion_tokens", v, 1, None, integer=True), None),
    "presence_penalty": (lambda v: _number("presence_penalty", v, -2, 2), 0.0),
    "frequency_penalty": (lambda v: _number("frequency_penalty", v, -2, 2), 0.0),
    "logit_bias": (_logit_bias, None),
    "logprobs": (lambda v: _bool("logprobs", v), False),
    "top_logprobs": (lambda v: _number("top_logprobs", v, 0, 20, integer=True), None),
    "seed": (lambda v: _number("seed", v, -(2**63), 2**63 - 1, integer=True), None),
    "user": (lambda v: _string("user", v), None),
    "response_format": (_response_format, None),
}

_COMPLETION_RULES: dict[str, Any] = {
    **{k: _CHAT_RULES[k] for k in ("temperature", "top_p", "stop", "presence_penalty", "frequency_penalty", "logit_bias", "seed", "user")},
    "n": (lambda v: _number("n", v, 1, 128, integer=True), 1),
    "max_tokens": (lambda v: _number("max_tokens", v, 0, None, integer=True), 16),
    "suffix": (lambda v: _string("suffix", v), None),
    "echo": (lambda v: _bool("echo", v), False),
    "logprobs": (lambda v: _number("logprobs", v, 0, 5, integer=True), None),
    "best_of": (lambda v: _number("best_of", v, 1, 20, integer=True), 1),
}


def _extension(name: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(name, f"expected a number, got {value!r}")
    return value


def _check_unknown(name: str, rules: dict[str, Any]) -> None:
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


class _Params:
    """What chat and legacy completion parameters share: set, validate, list what is sent."""

    RULES: dict[str, Any]
    extra: dict[str, Any]

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name != "extra"]  # type: ignore[arg-type]

    @classmethod
    def default_of(cls, name: str) -> Any:
        return cls.RULES[name][1]

    def with_option(self, name: str, value: Any):
        """A copy with one parameter set (validated); `None` resets it to its default."""
        _check_unknown(name, self.RULES)
        if name in EXTENSION_PARAMS:
            extra = dict(self.extra)
            if value is None:
                extra.pop(name, None)
            else:
                extra[name] = _extension(name, value)
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


@dataclass(frozen=True)
class ChatParams(_Params):
    """Parameters of a chat completion. `None` = default = not sent."""

    temperature: float | None = None
    top_p: float | None = None
    n: int | None = None
    stop: str | list[str] | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, int] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    seed: int | None = None
    user: str | None = None
    response_format: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    RULES = _CHAT_RULES

    def merged(self, other: "ChatParams") -> "ChatParams":
        """`other`'s set values override ours."""
        changes = {k: v for k, v in other.as_dict().items() if k != "extra"}
        return replace(self, **changes, extra={**self.extra, **other.extra}).validated()

    def validated(self) -> "ChatParams":
        """Cross-parameter checks (each value was checked when set)."""
        if self.top_logprobs is not None and not self.logprobs:
            raise ParamError("top_logprobs", "needs logprobs set to true")
        if self.max_tokens is not None and self.max_completion_tokens is not None:
            raise ParamError("max_tokens", "set max_tokens or max_completion_tokens, not both")
        return self

    def body(
        self,
        model: str,
        messages: Iterable[ChatMessage],
        *,
        stream: bool,
        include_usage: bool = True,
        use_max_completion_tokens: bool = False,
    ) -> dict[str, Any]:
        if not model:
            raise ParamError("model", "no model selected")
        msgs = [m.to_wire() for m in messages]
        if not msgs:
            raise ParamError("messages", "at least one message is needed")
        body: dict[str, Any] = {"model": model, "messages": msgs}
        body.update(self.as_dict())
        if use_max_completion_tokens and "max_tokens" in body:
            body["max_completion_tokens"] = body.pop("max_tokens")
        if stream:
            body["stream"] = True
            if include_usage:
                body["stream_options"] = {"include_usage": True}
        return body


@dataclass(frozen=True)
class CompletionParams(_Params):
    """Parameters of a legacy `/v1/completions` request."""

    temperature: float | None = None
    top_p: float | None = None
    n: int | None = None
    stop: str | list[str] | None = None
    max_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, int] | None = None
    seed: int | None = None
    user: str | None = None
    suffix: str | None = None
    echo: bool | None = None
    logprobs: int | None = None
    best_of: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    RULES = _COMPLETION_RULES

    def validated(self) -> "CompletionParams":
        if self.best_of is not None and self.best_of < (self.n or 1):
            raise ParamError("best_of", f"must be at least n ({self.n or 1}), got {self.best_of}")
        return self

    def body(self, model: str, prompt: str, *, stream: bool, include_usage: bool = True) -> dict[str, Any]:
        if not model:
            raise ParamError("model", "no model selected")
        body: dict[str, Any] = {"model": model, "prompt": prompt}
        body.update(self.as_dict())
        if stream:
            body["stream"] = True
            if include_usage:
                body["stream_options"] = {"include_usage": True}
        return body
