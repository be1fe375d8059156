"""Chat completion parameters (`/v1/chat/completions`) and the request body."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from chat_tui.core.messages import ChatMessage
from chat_tui.core.models_table import REASONING_PARAMS, accepted_values
from chat_tui.core.params.base import (
    ParamError,
    Params,
    bool_value,
    choice,
    logit_bias_value,
    number,
    response_format_value,
    stop_value,
    string,
)

# The values the API reference allows (ReasoningEffort, Verbosity); which model takes which is
# `models_table.accepted_values`.
REASONING_EFFORT_VALUES = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
VERBOSITY_VALUES = ("low", "medium", "high")

# name → (validator, default shown in UIs). Defaults are OpenAI's documented ones.
CHAT_RULES: dict[str, Any] = {
    "temperature": (lambda v: number("temperature", v, 0, 2), 1.0),
    "top_p": (lambda v: number("top_p", v, 0, 1), 1.0),
    "n": (lambda v: number("n", v, 1, 128, integer=True), 1),
    "stop": (stop_value, None),
    "max_tokens": (lambda v: number("max_tokens", v, 1, None, integer=True), None),
    "max_completion_tokens": (lambda v: number("max_completion_tokens", v, 1, None, integer=True), None),
    "presence_penalty": (lambda v: number("presence_penalty", v, -2, 2), 0.0),
    "frequency_penalty": (lambda v: number("frequency_penalty", v, -2, 2), 0.0),
    "logit_bias": (logit_bias_value, None),
    "logprobs": (lambda v: bool_value("logprobs", v), False),
    "top_logprobs": (lambda v: number("top_logprobs", v, 0, 20, integer=True), None),
    "seed": (lambda v: number("seed", v, -(2**63), 2**63 - 1, integer=True), None),
    "user": (lambda v: string("user", v), None),
    "response_format": (response_format_value, None),
    "reasoning_effort": (lambda v: choice("reasoning_effort", v, REASONING_EFFORT_VALUES), None),
    "verbosity": (lambda v: choice("verbosity", v, VERBOSITY_VALUES), None),
}


@dataclass(frozen=True)
class ChatParams(Params):
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
    reasoning_effort: str | None = None  # reasoning models: how long to think
    verbosity: str | None = None  # gpt-5: how long the answer is
    extra: dict[str, Any] = field(default_factory=dict)

    RULES = CHAT_RULES

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

    def checked_for(self, model: str) -> "ChatParams":
        """Itself, or a ParamError when `model` is known not to take a value set here (a
        reasoning effort for gpt-4o, `minimal` for o3). A model not known here is not checked."""
        for name in REASONING_PARAMS:
            value = getattr(self, name)
            accepted = accepted_values(model, name) if value is not None else None
            if accepted is None or value in accepted:
                continue
            if not accepted:
                takers = "reasoning models do: o1, o3, o4-mini, gpt-5" if name == "reasoning_effort" else "gpt-5 models do"
                raise ParamError(name, f"{model} does not take it ({takers})")
            raise ParamError(name, f"{model} takes {', '.join(accepted)}, not {value!r}")
        return self

    def fitted_to(self, model: str) -> "ChatParams":
        """A copy without the values `model` is known not to take (a form switching models)."""
        changes = {}
        for name in REASONING_PARAMS:
            value = getattr(self, name)
            accepted = accepted_values(model, name) if value is not None else None
            if accepted is not None and value not in accepted:
                changes[name] = None
        return replace(self, **changes) if changes else self

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


