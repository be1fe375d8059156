"""Edit parameters (`/v1/edits`, the 2023 API) and the request body.

The limits are the December 2023 spec's `CreateEditRequest`: n 1–20, temperature 0–2, top_p
0–1. The same parameters drive the chat emulation (`as_chat`) on endpoints without /v1/edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chat_tui.core.params.base import ParamError, Params, number
from chat_tui.core.params.chat import ChatParams

EDIT_RULES: dict[str, Any] = {
    "n": (lambda v: number("n", v, 1, 20, integer=True), 1),
    "temperature": (lambda v: number("temperature", v, 0, 2), 1.0),
    "top_p": (lambda v: number("top_p", v, 0, 1), 1.0),
}


def check_instruction(instruction: Any) -> str:
    if not isinstance(instruction, str):
        raise ParamError("instruction", f"expected a string, got {instruction!r}")
    if not instruction.strip():
        raise ParamError("instruction", "an instruction is required (what to do with the text)")
    return instruction


@dataclass(frozen=True)
class EditParams(Params):
    """Parameters of an edit request (instruction and input are the request's text, not here)."""

    n: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    RULES = EDIT_RULES

    def body(self, model: str, input: str, instruction: str) -> dict[str, Any]:
        if not model:
            raise ParamError("model", "no model selected")
        if not isinstance(input, str):
            raise ParamError("input", f"expected a string, got {input!r}")
        body: dict[str, Any] = {"model": model, "input": input, "instruction": check_instruction(instruction)}
        body.update(self.as_dict())
        return body

    def as_chat(self) -> ChatParams:
        """The same sampling for the chat emulation (extension parameters carried along)."""
        return ChatParams(temperature=self.temperature, top_p=self.top_p, n=self.n, extra=dict(self.extra))
