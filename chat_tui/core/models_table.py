"""Context windows, output limits and prices of OpenAI models, and their parameter quirks.

Figures are OpenAI's public list prices as of early 2026, in USD per 1M tokens (standard tier,
text tokens). Prices change and snapshots differ: users override any entry in the config file
(`[models."gpt-4o"] input_price = ...`), and overrides win. None means "not known".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

TABLE_DATE = "2026-01"


@dataclass(frozen=True)
class ModelInfo:
    id: str
    context_window: int | None
    max_output_tokens: int | None
    input_price: float | None  # USD per 1M prompt tokens
    output_price: float | None  # USD per 1M completion tokens (reasoning tokens included)
    cached_input_price: float | None = None  # USD per 1M cached prompt tokens


def _m(
    id: str, ctx: int | None, out: int | None, inp: float | None, outp: float | None,
    cached: float | None = None,
) -> ModelInfo:
    return ModelInfo(id, ctx, out, inp, outp, cached)


_TABLE: dict[str, ModelInfo] = {
    info.id: info
    for info in (
        # GPT-5 family (reasoning)
        _m("gpt-5", 400_000, 128_000, 1.25, 10.00, 0.125),
        _m("gpt-5-mini", 400_000, 128_000, 0.25, 2.00, 0.025),
        _m("gpt-5-nano", 400_000, 128_000, 0.05, 0.40, 0.005),
        _m("gpt-5-chat-latest", 128_000, 16_384, 1.25, 10.00, 0.125),
        _m("gpt-5-pro", 400_000, 272_000, 15.00, 120.00),
        _m("gpt-5.1", 400_000, 128_000, 1.25, 10.00, 0.125),
        _m("gpt-5.1-chat-latest", 128_000, 16_384, 1.25, 10.00, 0.125),
        # GPT-4.1 family: 1M context
        _m("gpt-4.1", 1_047_576, 32_768, 2.00, 8.00, 0.50),
        _m("gpt-4.1-mini", 1_047_576, 32_768, 0.40, 1.60, 0.10),
        _m("gpt-4.1-nano", 1_047_576, 32_768, 0.10, 0.40, 0.025),
        _m("gpt-4.5-preview", 128_000, 16_384, 75.00, 150.00, 37.50),
        # GPT-4o family
        _m("gpt-4o", 128_000, 16_384, 2.50, 10.00, 1.25),
        _m("gpt-4o-2024-05-13", 128_000, 4_096, 5.00, 15.00),  # first snapshot, older price
        _m("gpt-4o-mini", 128_000, 16_384, 0.15, 0.60, 0.075),
        _m("chatgpt-4o-latest", 128_000, 16_384, 5.00, 15.00),
        # o-series (reasoning)
        _m("o1", 200_000, 100_000, 15.00, 60.00, 7.50),
        _m("o1-preview", 128_000, 32_768, 15.00, 60.00, 7.50),
        _m("o1-mini", 128_000, 65_536, 1.10, 4.40, 0.55),
        _m("o1-pro", 200_000, 100_000, 150.00, 600.00),
        _m("o3", 200_000, 100_000, 2.00, 8.00, 0.50),
        _m("o3-pro", 200_000, 100_000, 20.00, 80.00),
        _m("o3-mini", 200_000, 100_000, 1.10, 4.40, 0.55),
        _m("o4-mini", 200_000, 100_000, 1.10, 4.40, 0.275),
        _m("codex-mini-latest", 200_000, 100_000, 1.50, 6.00, 0.375),
        # GPT-4 and GPT-3.5 (legacy)
        _m("gpt-4-turbo", 128_000, 4_096, 10.00, 30.00),
        _m("gpt-4-turbo-preview", 128_000, 4_096, 10.00, 30.00),
        _m("gpt-4-0125-preview", 128_000, 4_096, 10.00, 30.00),
        _m("gpt-4-1106-preview", 128_000, 4_096, 10.00, 30.00),
        _m("gpt-4-1106-vision-preview", 128_000, 4_096, 10.00, 30.00),
        _m("gpt-4-vision-preview", 128_000, 4_096, 10.00, 30.00),
        _m("gpt-4", 8_192, 8_192, 30.00, 60.00),
        _m("gpt-4-32k", 32_768, 32_768, 60.00, 120.00),
        _m("gpt-3.5-turbo", 16_385, 4_096, 0.50, 1.50),
        _m("gpt-3.5-turbo-1106", 16_385, 4_096, 1.00, 2.00),
        _m("gpt-3.5-turbo-0613", 4_096, 4_096, 1.50, 2.00),
        _m("gpt-3.5-turbo-0301", 4_096, 4_096, 1.50, 2.00),
        _m("gpt-3.5-turbo-16k", 16_385, 4_096, 3.00, 4.00),
        _m("gpt-3.5-turbo-instruct", 4_096, 4_096, 1.50, 2.00),
        # base completion models
        _m("davinci-002", 16_384, 16_384, 2.00, 2.00),
        _m("babbage-002", 16_384, 16_384, 0.40, 0.40),
        # embeddings: input only
        _m("text-embedding-3-small", 8_191, None, 0.02, None),
        _m("text-embedding-3-large", 8_191, None, 0.13, None),
        _m("text-embedding-ada-002", 8_191, None, 0.10, None),
    )
}
_ALIASES = {"ada-002": "text-embedding-ada-002"}

_PROVIDER_PREFIX = re.compile(r"^(?:openai|azure|azure_openai|openrouter)\s*:\s*")
_FIELDS = tuple(f.name for f in fields(ModelInfo) if f.name != "id")
_INT_FIELDS = {"context_window", "max_output_tokens"}
OVERRIDE_FIELDS = _FIELDS  # what a `[models."id"]` table may set
WHOLE_FIELDS = frozenset(_INT_FIELDS)  # of them, token counts: whole numbers


def normalize_model_id(model_id: str) -> str:
    """Lower-case, without a provider prefix: "openai/gpt-4o", "openai:gpt-4o" -> "gpt-4o"."""
    name = model_id.strip().lower().rsplit("/", 1)[-1]
    return _PROVIDER_PREFIX.sub("", name)


def _longest_prefix(name: str, keys: Any) -> str | None:
    """The longest key equal to `name` or a prefix of it ending at "-" (a dated snapshot or
    variant): "gpt-4o-mini-2024-07-18" -> "gpt-4o-mini", never "gpt-4.5" -> "gpt-4"."""
    best = None
    for key in keys:
        if name == key or (name.startswith(key) and name[len(key)] in "-:@"):
            if best is None or len(key) > len(best):
                best = key
    return best


def _names(model_id: str) -> tuple[str, bool, str]:
    """(normalized id, fine-tuned?, the base model's id as the table spells it)."""
    name = normalize_model_id(model_id)
    fine_tuned = name.startswith("ft:")
    base = name[3:] if fine_tuned else name
    base = _ALIASES.get(base, base)
    if base.startswith("gpt-35-"):  # Azure's spelling
        base = "gpt-3.5-" + base[len("gpt-35-"):]
    return name, fine_tuned, base


def model_info(
    model_id: str, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> ModelInfo | None:
    """What we know about `model_id`, or None; `.id` is the entry that matched.

    `overrides` (from the config file, cleaned by parse_overrides) map model ids to fields; the
    longest matching override is laid over the longest matching table entry when it is at least
    as specific, so `{"gpt-4o": {"input_price": 2}}` covers gpt-4o-2024-08-06 but not
    gpt-4o-mini.
    Fine-tuned models ("ft:gpt-4o-mini-...:org::id") get the base model's limits but no prices,
    since fine-tuned inference costs more.
    """
    name, fine_tuned, base = _names(model_id)
    key = _longest_prefix(base, _TABLE)
    info = _TABLE[key] if key else None
    if info is not None and fine_tuned:
        info = replace(info, input_price=None, output_price=None, cached_input_price=None)

    if overrides:
        normalized = {normalize_model_id(k): v for k, v in overrides.items()}
        okey = _longest_prefix(name, normalized) or _longest_prefix(base, normalized)
        # An override is never less specific than the entry it lays over: "gpt-4o" must not
        # reprice "gpt-4o-mini" just because it is a prefix of it.
        if okey is not None and (key is None or okey.startswith("ft:") or len(okey) >= len(key)):
            values = {}  # bad values are reported by parse_overrides; here they are skipped
            for field, value in normalized[okey].items():
                ok, cleaned = _clean_value(field, value)
                if ok:
                    values[field] = cleaned
            if info is None:
                info = ModelInfo(okey, None, None, None, None)
            info = replace(info, **values)
    return info


def _clean_value(field: str, value: Any) -> tuple[bool, Any]:
    """(valid, value as stored): a finite number >= 0, whole for token counts; None clears."""
    if field not in _FIELDS:
        return False, None
    if value is None:
        return True, None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and value >= 0
    if field in _INT_FIELDS:
        ok = ok and float(value).is_integer()
    if not ok:
        return False, None
    return True, int(value) if field in _INT_FIELDS else float(value)


def parse_overrides(raw: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Clean a `models` table from the config file: (usable overrides, error messages).

    A bad entry becomes a message for one notification, not a crash.
    """
    clean: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    for model_id, values in raw.items():
        if not isinstance(values, Mapping):
            errors.append(f"models.{model_id}: expected a table of settings")
            continue
        entry: dict[str, Any] = {}
        for field, value in values.items():
            if field not in _FIELDS:
                errors.append(f"models.{model_id}.{field}: unknown (known: {', '.join(_FIELDS)})")
                continue
            ok, cleaned = _clean_value(field, value)
            if not ok:
                errors.append(f"models.{model_id}.{field}: expected a number >= 0, got {value!r}")
                continue
            entry[field] = cleaned
        clean[str(model_id)] = entry
    return clean, errors


def estimate_cost(
    info: ModelInfo | None, prompt_tokens: int, completion_tokens: int, *, cached_tokens: int = 0
) -> float | None:
    """USD for one request, or None if a needed price is unknown. `cached_tokens` is the part
    of `prompt_tokens` served from the prompt cache (usage.prompt_tokens_details.cached_tokens).
    `completion_tokens` includes reasoning tokens, as the usage's does (its
    completion_tokens_details.reasoning_tokens is a part of it, never to be added again).
    """
    if info is None or info.input_price is None:
        return None
    if completion_tokens and info.output_price is None:
        return None
    cached = max(0, min(cached_tokens, prompt_tokens))
    cached_price = info.input_price if info.cached_input_price is None else info.cached_input_price
    cost = (prompt_tokens - cached) * info.input_price + cached * cached_price
    cost += completion_tokens * (info.output_price or 0.0)
    return cost / 1_000_000


_O_SERIES = re.compile(r"^o\d+(?:$|-)")
_GPT5 = re.compile(r"^gpt-5(?:$|[.\-])")
_GPT5_CHAT = re.compile(r"^gpt-5(?:\.\d+)?-chat(?:$|-)")


def _family_name(model_id: str) -> str:
    name = normalize_model_id(model_id)
    return name[3:] if name.startswith("ft:") else name


def is_reasoning_model(model_id: str) -> bool:
    """o-series, gpt-5 (not gpt-5-chat) and codex-mini: hidden reasoning, restricted params."""
    name = _family_name(model_id)
    if name.startswith("codex-mini"):
        return True
    if _GPT5.match(name):
        return not _GPT5_CHAT.match(name)
    return bool(_O_SERIES.match(name))


def uses_max_completion_tokens(model_id: str) -> bool:
    """True for models that reject `max_tokens` and need `max_completion_tokens` (o-series,
    gpt-5 family including gpt-5-chat). Others get `max_tokens`, which every OpenAI-compatible
    server (llama.cpp, vLLM, Ollama) understands.
    """
    name = _family_name(model_id)
    return bool(_GPT5.match(name)) or is_reasoning_model(name)


# reasoning_effort and verbosity: which table entries take which values (OpenAI's reasoning
# guide). A table entry not listed takes neither; a model not in the table is unknown.
REASONING_EFFORTS = ("minimal", "low", "medium", "high")  # offered, unchecked, for unknown models
VERBOSITIES = ("low", "medium", "high")
_EFFORT_LMH = ("low", "medium", "high")
_GPT5_EFFORTS = ("minimal", "low", "medium", "high")  # `minimal` is gpt-5's alone
_REASONING_VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    "gpt-5": {"reasoning_effort": _GPT5_EFFORTS, "verbosity": VERBOSITIES},
    "gpt-5-mini": {"reasoning_effort": _GPT5_EFFORTS, "verbosity": VERBOSITIES},
    "gpt-5-nano": {"reasoning_effort": _GPT5_EFFORTS, "verbosity": VERBOSITIES},
    "gpt-5-pro": {"reasoning_effort": ("high",), "verbosity": VERBOSITIES},
    "gpt-5.1": {"reasoning_effort": ("none", "low", "medium", "high"), "verbosity": VERBOSITIES},
    "o1": {"reasoning_effort": _EFFORT_LMH},
    "o1-pro": {"reasoning_effort": _EFFORT_LMH},
    "o3": {"reasoning_effort": _EFFORT_LMH},
    "o3-pro": {"reasoning_effort": _EFFORT_LMH},
    "o3-mini": {"reasoning_effort": _EFFORT_LMH},
    "o4-mini": {"reasoning_effort": _EFFORT_LMH},
    "codex-mini-latest": {"reasoning_effort": _EFFORT_LMH},
}
REASONING_PARAMS = ("reasoning_effort", "verbosity")


def accepted_values(model_id: str, param: str) -> tuple[str, ...] | None:
    """The values of `param` (`reasoning_effort` or `verbosity`) that `model_id` takes: `()`
    when the model is known and takes none (gpt-4o, o1-mini, gpt-5-chat), None when the model is
    not known here (another server's: whatever is sent goes unchecked)."""
    if param not in REASONING_PARAMS:
        raise ValueError(f"not a reasoning parameter: {param!r}")
    key = _longest_prefix(_names(model_id)[2], _TABLE)
    if key is None:
        return None
    return _REASONING_VALUES.get(key, {}).get(param, ())


def offered_values(model_id: str, param: str) -> tuple[tuple[str, ...], bool]:
    """(the values a form offers for `param` with this model, checked?): a known model's own
    values (none: the field is not offered), every usual value, unchecked, for an unknown one."""
    values = accepted_values(model_id, param)
    if values is None:
        return (REASONING_EFFORTS if param == "reasoning_effort" else VERBOSITIES), False
    return values, True


def supports_sampling_params(model_id: str) -> bool:
    """False for reasoning models, which reject temperature, top_p, presence/frequency
    penalties, logit_bias and logprobs."""
    return not is_reasoning_model(model_id)


__all__ = [
    "OVERRIDE_FIELDS",
    "REASONING_EFFORTS",
    "REASONING_PARAMS",
    "VERBOSITIES",
    "TABLE_DATE",
    "WHOLE_FIELDS",
    "ModelInfo",
    "accepted_values",
    "estimate_cost",
    "is_reasoning_model",
    "model_info",
    "normalize_model_id",
    "offered_values",
    "parse_overrides",
    "supports_sampling_params",
    "uses_max_completion_tokens",
]
