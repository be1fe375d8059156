"""Reasoning models' parameters: which model takes `reasoning_effort` and `verbosity` (one table),
how they are checked and sent, and compare lanes made of them."""

from __future__ import annotations

import pytest
from openapi_spec import validate_request

from chat_tui.api.client import OpenAIClient
from chat_tui.core.compare import LaneError, build_lanes, labelled, sweep
from chat_tui.core.config import Endpoint
from chat_tui.core.messages import ChatMessage
from chat_tui.core.models_table import (
    REASONING_EFFORTS,
    VERBOSITIES,
    accepted_values,
    estimate_cost,
    is_reasoning_model,
    model_info,
    offered_values,
)
from chat_tui.core.params import ChatParams, ParamError

CHAT = "CreateChatCompletionRequest"


@pytest.mark.parametrize("model, efforts, verbosities", [
    ("gpt-5", ("minimal", "low", "medium", "high"), VERBOSITIES),
    ("gpt-5-mini-2025-08-07", ("minimal", "low", "medium", "high"), VERBOSITIES),
    ("openai/gpt-5-nano", ("minimal", "low", "medium", "high"), VERBOSITIES),
    ("gpt-5.1", ("none", "low", "medium", "high"), VERBOSITIES),  # no `minimal` after gpt-5
    ("o3", ("low", "medium", "high"), ()),
    ("o3-mini-2025-01-31", ("low", "medium", "high"), ()),
    ("o4-mini", ("low", "medium", "high"), ()),
    ("o1", ("low", "medium", "high"), ()),
    ("ft:o4-mini-2025-04-16:org::abc", ("low", "medium", "high"), ()),
    ("o1-mini", (), ()),  # a reasoning model from before the parameter
    ("gpt-5-chat-latest", (), ()),
    ("gpt-4o", (), ()),
    ("gpt-4.1-mini", (), ()),
])
def test_known_models_take_their_own_values(model, efforts, verbosities):
    assert accepted_values(model, "reasoning_effort") == efforts
    assert accepted_values(model, "verbosity") == verbosities
    assert offered_values(model, "reasoning_effort") == (efforts, True)


def test_models_not_in_the_table_are_offered_everything_unchecked():
    for model in ("qwen3-8b", "deepseek-reasoner", "gpt-oss-20b", "SmolLM2"):
        assert accepted_values(model, "reasoning_effort") is None
        assert offered_values(model, "reasoning_effort") == (REASONING_EFFORTS, False)
        assert offered_values(model, "verbosity") == (VERBOSITIES, False)
    with pytest.raises(ValueError):
        accepted_values("o3", "temperature")


def test_a_model_taking_reasoning_effort_is_a_reasoning_model():
    """One table: everything that takes an effort is what `is_reasoning_model` (and so
    max_completion_tokens and the title parameters) treats as one."""
    for model in ("gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5-pro", "gpt-5.1", "o1", "o1-pro", "o3", "o3-pro",
                  "o3-mini", "o4-mini", "codex-mini-latest"):
        assert accepted_values(model, "reasoning_effort") and is_reasoning_model(model), model


def test_values_are_checked_against_the_reference_and_the_model():
    params = ChatParams.from_options([("reasoning_effort", "minimal"), ("verbosity", "low")])
    assert params.as_dict() == {"reasoning_effort": "minimal", "verbosity": "low"}
    with pytest.raises(ParamError, match=r"^reasoning_effort: expected one of none, minimal, low, medium, high"):
        ChatParams.from_options([("reasoning_effort", "lots")])
    with pytest.raises(ParamError, match="^verbosity: expected one of low, medium, high, got 'terse'"):
        ChatParams.from_options([("verbosity", "terse")])
    assert params.checked_for("gpt-5") is params
    assert params.checked_for("my-local-model") is params  # unknown: unchecked
    with pytest.raises(ParamError, match=r"^reasoning_effort: o3 takes low, medium, high, not 'minimal'"):
        params.checked_for("o3")
    with pytest.raises(ParamError, match=r"^reasoning_effort: gpt-4o does not take it \(reasoning models do"):
        params.checked_for("gpt-4o")
    with pytest.raises(ParamError, match=r"^verbosity: o4-mini does not take it \(gpt-5 models do\)"):
        ChatParams(verbosity="high").checked_for("o4-mini")


def test_switching_model_drops_what_the_new_one_refuses():
    params = ChatParams(temperature=None, reasoning_effort="minimal", verbosity="high", seed=3)
    assert params.fitted_to("gpt-5") is params
    assert params.fitted_to("o3") == ChatParams(verbosity=None, reasoning_effort=None, seed=3)
    assert ChatParams(reasoning_effort="high").fitted_to("o3") == ChatParams(reasoning_effort="high")
    assert params.fitted_to("llama3") is params  # unknown: kept and sent


async def test_sent_top_level_as_the_reference_says(fake_openai):
    fake_openai.models = ["gpt-5-mini", "o4-mini"]
    client = OpenAIClient(Endpoint(name="fake", base_url=fake_openai.base_url))
    try:
        for model, params in (("gpt-5-mini", ChatParams(reasoning_effort="minimal", verbosity="low", max_tokens=50)),
                              ("o4-mini", ChatParams(reasoning_effort="high"))):
            async for _ in client.chat.stream([ChatMessage("user", "Hi")], model, params):
                pass
            body = fake_openai.last_request.json
            validate_request(CHAT, body)
            assert {k: body.get(k) for k in ("reasoning_effort", "verbosity")} == {
                "reasoning_effort": params.reasoning_effort, "verbosity": params.verbosity}
        assert fake_openai.requests[0].json["max_completion_tokens"] == 50
    finally:
        await client.aclose()


def test_compare_sweeps_expand_into_lanes():
    lanes = sweep("reasoning_effort=low,high", "o4-mini", ChatParams())
    assert [lane.params.reasoning_effort for lane in lanes] == ["low", "high"]
    assert [lane.label for lane in labelled(lanes)] == ["reasoning_effort=low", "reasoning_effort=high"]
    lanes, shared = build_lanes(["verbosity=low", "verbosity=high"], "", "gpt-5", ChatParams(reasoning_effort="minimal"))
    assert not shared and [(lane.params.reasoning_effort, lane.params.verbosity) for lane in lanes] == [
        ("minimal", "low"), ("minimal", "high")]
    # One lane alone is compared with the current settings.
    lanes, _ = build_lanes(["reasoning_effort=high"], "", "o3", ChatParams(reasoning_effort="low"))
    assert [lane.params.reasoning_effort for lane in lanes] == ["low", "high"]


def test_a_lane_its_model_would_refuse_says_which_and_why():
    with pytest.raises(LaneError, match=r"lane 'model=gpt-4o'.*reasoning_effort: gpt-4o does not take it"):
        build_lanes(["model=o3", "model=gpt-4o"], "", "o3", ChatParams(reasoning_effort="high"))
    with pytest.raises(LaneError, match=r"reasoning_effort: o3 takes low, medium, high, not 'minimal'"):
        build_lanes([], "reasoning_effort=minimal,low", "o3", ChatParams())
    with pytest.raises(LaneError, match="expected one of"):
        sweep("reasoning_effort=low,loud", "o3", ChatParams())


def test_reasoning_tokens_are_paid_once():
    """usage.completion_tokens already holds the reasoning tokens (the reference: "Breakdown of
    tokens used in a completion"): the cost is completion_tokens at the output price."""
    info = model_info("o4-mini")
    usage_completion, reasoning = 412, 312
    assert estimate_cost(info, 100, usage_completion) == pytest.approx((100 * 1.10 + 412 * 4.40) / 1e6)
    assert estimate_cost(info, 100, usage_completion) < estimate_cost(info, 100, usage_completion + reasoning)


# -- the CLI, as a user runs it ----------------------------------------------------------------


def test_ask_sends_the_effort_prints_the_answer_only_and_counts_the_thinking(fake_openai, cli_env):
    from conftest import run_cli

    fake_openai.models = ["o4-mini", "gpt-4o-mini"]
    fake_openai.reasoning, fake_openai.answer = "Two and two. Four.", "4"
    out = run_cli("ask", "-m", "o4-mini", "-o", "reasoning_effort", "high", "--stats", "2+2?", env=cli_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "4\n"  # the thought is not the answer
    assert "usage 1+5 tokens (4 reasoning)" in out.stderr  # the fake counts words
    body = fake_openai.last_request.json
    validate_request(CHAT, body)
    assert body["reasoning_effort"] == "high"
    # A value the model refuses: said before anything is sent.
    sent = len(fake_openai.requests)
    out = run_cli("ask", "-m", "gpt-4o-mini", "-o", "reasoning_effort", "high", "2+2?", env=cli_env)
    assert out.returncode == 2 and len(fake_openai.requests) == sent
    assert "reasoning_effort: gpt-4o-mini does not take it" in out.stderr
    out = run_cli("compare", "-m", "o3", "--sweep", "reasoning_effort=minimal,low", "2+2?", env=cli_env)
    assert out.returncode != 0 and "o3 takes low, medium, high, not 'minimal'" in out.stderr
    assert len(fake_openai.requests) == sent
