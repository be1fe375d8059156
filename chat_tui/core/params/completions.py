"""Legacy completion parameters (`/v1/completions`) and the request body."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chat_tui.core.params.base import ParamError, Params, bool_value, number, string
from chat_tui.core.params.chat import CHAT_RULES

COMPLETION_RULES: dict[str, Any] = {
    **{k: CHAT_RULES[k] for k in ("temperature", "top_p", "stop", "presence_penalty", "frequency_penalty", "logit_bias", "seed", "user")},
    "n": (lambda v: number("n", v, 1, 128, integer=True), 1),
    "max_tokens": (lambda v: number("max_tokens", v, 0, None, integer=True), 16),
    "suffix": (lambda v: string("suffix", v), None),
    "echo": (lambda v: bool_value("echo", v), False),
    "logprobs": (lambda v: number("logprobs", v, 0, 5, integer=True), None),
    "best_of": (lambda v: number("best_of", v, 1, 20, integer=True), 1),
}



@dataclass(frozen=True)
class CompletionParams(Params):
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

    RULES = COMPLETION_RULES

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
