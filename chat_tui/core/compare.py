"""Compare mode, the logic: lanes (a model and parameters each), sweeps, what differs between
lanes, word-level differences and similarity of answers, and log-probability summaries."""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from chat_tui.core.params import ChatParams, ParamError, parse_option_value
from chat_tui.core.structured import describe, structured_of

MAX_LANES = 4
LOW_CONFIDENCE = 0.5  # a token sampled with probability under this counts as low-confidence

# `a=1,b=[1,2]`: split on commas that start a new `name=`, so JSON values may hold commas.
_PAIR_SPLIT = re.compile(r",(?=\s*[A-Za-z_][A-Za-z0-9_]*\s*=)")


class LaneError(ValueError):
    """A lane or sweep specification is malformed."""


@dataclass(frozen=True)
class Lane:
    model: str
    params: ChatParams = field(default_factory=ChatParams)
    label: str = ""
    preset: str | None = None

    def settings(self) -> dict[str, Any]:
        """Model and every parameter that will be sent."""
        return {"model": self.model, **self.params.as_dict()}


def _pairs(spec: str) -> list[tuple[str, str]]:
    pairs = []
    for part in _PAIR_SPLIT.split(spec.strip()):
        if not part.strip():
            continue
        if "=" not in part:
            raise LaneError(f"expected name=value in {part.strip()!r} (e.g. temperature=0.7,seed=1)")
        name, value = part.split("=", 1)
        pairs.append((name.strip(), value.strip()))
    return pairs


PresetLookup = Callable[[str], "dict[str, Any] | None"]  # a preset's parameters by name, or None


def lane_from_spec(spec: str, base_model: str, base: ChatParams, presets: PresetLookup | None = None) -> Lane:
    """`temperature=1.4,seed=7` or `model=gpt-4o-mini`: the base settings with these changed.
    `preset=NAME` starts from the preset's parameters instead of the base (looked up with
    `presets`) before the other changes apply."""
    model = base_model
    params = base
    preset_name = None
    try:
        pairs = _pairs(spec)
        for name, raw in pairs:
            if name == "preset":
                preset_name = raw.strip('"')
                found = presets(preset_name) if presets is not None else None
                if found is None:
                    raise LaneError(f"lane {spec!r}: no preset named {preset_name!r}")
                try:
                    params = ChatParams.from_dict(found)
                except ParamError as exc:
                    raise LaneError(f"preset {preset_name!r} is not valid: {exc}") from None
        for name, raw in pairs:
            if name == "model":
                model = raw
            elif name == "response_format" and raw.strip('"') == "json_schema":
                params = params.with_option(name, _schema_format(spec, params, base))
            elif name != "preset":
                params = params.with_option(name, parse_option_value(raw))
        params = params.validated()
        if model:
            params.checked_for(model)  # a reasoning effort gpt-4o would refuse, say
    except ParamError as exc:
        raise LaneError(f"lane {spec!r}: {exc}" if spec.strip() else f"the current settings: {exc}") from None
    if not model:
        raise LaneError(f"lane {spec!r}: no model (pass -m or model=...)")
    return Lane(model=model, params=params, preset=preset_name)


def _schema_format(spec: str, params: ChatParams, base: ChatParams) -> dict[str, Any]:
    """`response_format=json_schema` in a lane: the schema of the lane's preset, else the base's
    (set in the parameters pane or by --schema), so `response_format=text` lanes can be
    compared with it without writing the schema into a lane."""
    for candidate in (params.response_format, base.response_format):
        if structured_of(candidate) is not None:
            return candidate
    raise LaneError(f"lane {spec!r}: response_format=json_schema needs a schema: set one in the parameters (F3)"
                    " or pass --schema FILE")


def spec_of(lane: Lane, base_model: str, base: ChatParams, presets: PresetLookup | None = None) -> str:
    """The spec for a lane: what differs from the base (or from its preset)."""
    parts = []
    reference = base.as_dict()
    if lane.preset:
        found = presets(lane.preset) if presets is not None else None
        parts.append(f"preset={lane.preset}")
        reference = dict(found) if found is not None else {}
    if lane.model != base_model:
        parts.append(f"model={lane.model}")
    mine = lane.params.as_dict()
    for name in sorted(set(mine) | set(reference)):
        if mine.get(name) != reference.get(name):
            parts.append(f"{name}={json.dumps(mine.get(name))}")
    return ",".join(parts)


def build_lanes(specs: Sequence[str], sweep_spec: str, base_model: str, base: ChatParams,
                presets: PresetLookup | None = None) -> tuple[list[Lane], bool]:
    """(lanes, one request with n choices?) from lane specs and a sweep. One lane alone is
    compared with the base settings, unless its n > 1: then its choices are the lanes."""
    lanes = [lane_from_spec(s, base_model, base, presets) for s in specs if s.strip()]
    if sweep_spec.strip():
        lanes += sweep(sweep_spec, base_model, base)
    if len(lanes) <= 1:
        one = lanes[0] if lanes else lane_from_spec("", base_model, base)
        if (one.params.n or 1) > 1:
            return [one], True
        if not lanes:
            raise LaneError(f"give 2 to {MAX_LANES} lanes (one per row) or a sweep such as temperature=0,0.7,1.4")
        lanes.insert(0, lane_from_spec("", base_model, base))  # the current settings vs one change
    if len(lanes) < 2:
        raise LaneError(f"compare runs 2 to {MAX_LANES} lanes, got {len(lanes)}")
    check_lanes(lanes)
    return lanes, False


def sweep(spec: str, base_model: str, base: ChatParams) -> list[Lane]:
    """`temperature=0,0.7,1.4` or `seed=1,2,3` or `model=a,b`: one lane per value."""
    if "=" not in spec:
        raise LaneError(f"expected name=v1,v2,... in {spec!r} (e.g. temperature=0,0.7,1.4)")
    name, values = spec.split("=", 1)
    name = name.strip()
    items = [v.strip() for v in values.split(",") if v.strip()]
    if len(items) < 2:
        raise LaneError(f"a sweep needs at least two values, got {spec!r}")
    return [lane_from_spec(f"{name}={v}", base_model, base) for v in items]


def check_lanes(lanes: Sequence[Lane]) -> None:
    if not 1 <= len(lanes) <= MAX_LANES:
        raise LaneError(f"compare runs 1 to {MAX_LANES} lanes (one lane: against the current settings), got {len(lanes)}")


def labelled(lanes: Sequence[Lane], *, blind: bool = False) -> list[Lane]:
    """Lanes with labels: A, B, C… (blind) or what differs from the first lane."""
    out = []
    diffs = differing(lanes)
    for i, (lane, diff) in enumerate(zip(lanes, diffs)):
        if blind:
            label = chr(ord("A") + i)
        else:
            label = lane.preset or (", ".join(f"{k}={_short(describe(v) if k == 'response_format' else v)}" for k, v in diff.items())
                                    if diff else (f"{lane.model}" if i == 0 else "same"))
        out.append(Lane(model=lane.model, params=lane.params, label=label, preset=lane.preset))
    return out


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"


def differing(lanes: Sequence[Lane]) -> list[dict[str, Any]]:
    """For each lane, the settings that differ from the first lane (the first: all but defaults)."""
    if not lanes:
        return []
    first = lanes[0].settings()
    out = []
    for i, lane in enumerate(lanes):
        settings = lane.settings()
        if i == 0:
            out.append({k: v for k, v in settings.items() if k != "model" and not _all_same(lanes, k)} | ({"model": lane.model} if not _all_same(lanes, "model") else {}))
            continue
        keys = sorted(set(first) | set(settings), key=lambda k: (k != "model", k))
        out.append({k: settings.get(k, "default") for k in keys if settings.get(k) != first.get(k)})
    return out


def _all_same(lanes: Sequence[Lane], key: str) -> bool:
    values = [lane.settings().get(key) for lane in lanes]
    return all(v == values[0] for v in values)


# -- answers ---------------------------------------------------------------------------------

_TOKEN = re.compile(r"(\w+|[^\w\s])(\s*)")


def _tokens(text: str) -> tuple[str, list[str], list[str]]:
    """(leading whitespace, words, the same words with their trailing whitespace)."""
    lead = text[: len(text) - len(text.lstrip())]
    found = _TOKEN.findall(text)
    return lead, [w for w, _ in found], [w + ws for w, ws in found]


def words(text: str) -> list[str]:
    return _tokens(text)[1]


def word_diff(a: str, b: str) -> list[tuple[str, str]]:
    """Word-level differences from a to b: ("equal" | "delete" | "insert", text) runs.

    Words are compared without their whitespace (which is carried along in the output), so a
    3,000-word answer diffs in well under a second and "fox" at the end matches "fox " inside."""
    _, wa, ta = _tokens(a)
    lead, wb, tb = _tokens(b)
    ops: list[tuple[str, str]] = [("equal", lead)] if lead else []
    matcher = difflib.SequenceMatcher(a=wa, b=wb, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(("equal", "".join(tb[j1:j2])))
        else:
            if i2 > i1:
                ops.append(("delete", "".join(ta[i1:i2])))
            if j2 > j1:
                ops.append(("insert", "".join(tb[j1:j2])))
    return ops


def similarity(a: str, b: str) -> float:
    """0..1: how much of the two answers' words are the same, in order."""
    wa, wb = words(a), words(b)
    if not wa and not wb:
        return 1.0
    return difflib.SequenceMatcher(a=wa, b=wb, autojunk=False).ratio()


@dataclass(frozen=True)
class LogprobSummary:
    tokens: int
    mean_logprob: float
    low_share: float  # tokens whose probability is under LOW_CONFIDENCE

    @property
    def perplexity(self) -> float:
        return math.exp(-self.mean_logprob)

    def __str__(self) -> str:
        return f"mean logprob {self.mean_logprob:.2f} · {self.low_share:.0%} low-confidence · ppl {self.perplexity:.2f}"


def logprob_summary(items: Iterable[Any]) -> LogprobSummary | None:
    """Items: dicts with "logprob" (as stored) or objects with `.logprob` (stream events)."""
    values = []
    for item in items or ():
        lp = item.get("logprob") if isinstance(item, dict) else getattr(item, "logprob", None)
        if isinstance(lp, (int, float)) and math.isfinite(lp):
            values.append(float(lp))
    if not values:
        return None
    low = sum(1 for lp in values if math.exp(lp) < LOW_CONFIDENCE)
    return LogprobSummary(len(values), sum(values) / len(values), low / len(values))
