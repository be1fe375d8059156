"""Chat completion parameters (`/v1/chat/completions`) and the request body."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable

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

if TYPE_CHECKING:
    from chat_tui.core.messages import ChatMessage

TOOL_CHOICES = ("auto", "none", "required")
TOOL_PARAMS = ("tools", "tool_choice", "parallel_tool_calls")


def tools_value(value: Any) -> str | list[str]:
    """Which tools a request offers: "none", or some by name (a list, or "a,b" / "a|b"); all of
    them is the default (None)."""
    if isinstance(value, str):
        if value.strip().lower() == "none":
            return "none"
        value = [v for v in value.replace("|", ",").split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ParamError("tools", f'expected "none" or tool names (a list, or "a,b"), got {value!r}')
    names = list(dict.fromkeys(v.strip() for v in value))
    if not names:
        return "none"
    from chat_tui.core.tool_calls import valid_tool_name  # on use: a faster start-up

    for name in names:
        if not valid_tool_name(name):
            raise ParamError("tools", f"{name!r} is not a tool name (letters, digits, _ and -, up to 64)")
    return names


def tool_choice_value(value: Any) -> str:
    """auto, none, required, or the name of the one tool the model must call (also given as
    OpenAI's {"type": "function", "function": {"name": ...}})."""
    if isinstance(value, Mapping):
        function = value.get("function")
        name = function.get("name") if value.get("type") == "function" and isinstance(function, Mapping) else None
        if not isinstance(name, str):
            raise ParamError("tool_choice", 'expected {"type": "function", "function": {"name": NAME}}')
        value = name
    if not isinstance(value, str):
        raise ParamError("tool_choice", f"expected auto, none, required or a tool name, got {value!r}")
    value = value.strip()
    if value in TOOL_CHOICES:
        return value
    from chat_tui.core.tool_calls import valid_tool_name

    if not valid_tool_name(value):
        raise ParamError("tool_choice", f"expected auto, none, required or a tool name, got {value!r}")
    return value


def tool_choice_wire(choice: str) -> str | dict[str, Any]:
    return choice if choice in TOOL_CHOICES else {"type": "function", "function": {"name": choice}}

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
    # Function calling: which of the tools on offer go with a request (None: all of them), how
    # the model may use them. Sent only when the request offers tools.
    "tools": (tools_value, None),
    "tool_choice": (tool_choice_value, "auto"),
    "parallel_tool_calls": (lambda v: bool_value("parallel_tool_calls", v), True),
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
    tools: str | list[str] | None = None  # "none", some tools by name, or None: all on offer
    tool_choice: str | None = None  # auto | none | required | a tool's name
    parallel_tool_calls: bool | None = None
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
        named = self.tool_choice if self.tool_choice not in (None, *TOOL_CHOICES) else None
        if self.tools == "none" and (named or self.tool_choice == "required"):
            raise ParamError("tool_choice", f"{self.tool_choice} needs tools, but tools is none")
        if named and isinstance(self.tools, list) and named not in self.tools:
            raise ParamError("tool_choice", f"{named} is not among the tools chosen ({', '.join(self.tools)})")
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

    def tool_names(self, available: Sequence[str]) -> list[str]:
        """The tools of `available` this request offers (see `tools`)."""
        if self.tools == "none":
            return []
        if isinstance(self.tools, list):
            return [name for name in available if name in self.tools]
        return list(available)

    def body(
        self,
        model: str,
        messages: Iterable[ChatMessage],
        *,
        stream: bool,
        include_usage: bool = True,
        use_max_completion_tokens: bool = False,
        tools: Sequence[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """The request body. `tools`: the wire definitions on offer (`ToolSpec.to_wire`); with
        none, `tool_choice` and `parallel_tool_calls` are not sent (the API refuses them alone)."""
        if not model:
            raise ParamError("model", "no model selected")
        msgs = [m.to_wire() for m in messages]
        if not msgs:
            raise ParamError("messages", "at least one message is needed")
        body: dict[str, Any] = {"model": model, "messages": msgs}
        body.update({k: v for k, v in self.as_dict().items() if k not in TOOL_PARAMS})
        if tools:
            body["tools"] = [dict(t) for t in tools]
            if self.tool_choice is not None:
                offered = [t.get("function", {}).get("name") for t in tools]
                if self.tool_choice not in TOOL_CHOICES and self.tool_choice not in offered:
                    raise ParamError("tool_choice", f"{self.tool_choice} is not offered"
                                     f" (offered: {', '.join(map(str, offered))}): turn it on or choose another")
                body["tool_choice"] = tool_choice_wire(self.tool_choice)
            if self.parallel_tool_calls is not None:
                body["parallel_tool_calls"] = self.parallel_tool_calls
        if use_max_completion_tokens and "max_tokens" in body:
            body["max_completion_tokens"] = body.pop("max_tokens")
        if stream:
            body["stream"] = True
            if include_usage:
                body["stream_options"] = {"include_usage": True}
        return body


