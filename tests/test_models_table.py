"""The model table: prefix matching, overrides, cost math and parameter quirks."""

from __future__ import annotations

import pytest

from chat_tui.core.models_table import (
    ModelInfo,
    estimate_cost,
    is_reasoning_model,
    model_info,
    normalize_model_id,
    parse_overrides,
    supports_sampling_params,
    uses_max_completion_tokens,
)

COVERED = [
    "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o",
    "gpt-4o-mini", "o1", "o1-mini", "o3", "o3-mini", "o4-mini", "gpt-4-turbo", "gpt-4",
    "gpt-3.5-turbo", "gpt-3.5-turbo-instruct", "davinci-002", "babbage-002",
    "text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002",
]


@pytest.mark.parametrize("model", COVERED)
def test_covered_models_have_sane_figures(model):
    info = model_info(model)
    assert info is not None and info.id == model
    assert info.context_window and info.context_window >= 4_096
    assert info.input_price is not None and info.input_price > 0
    if model.startswith("text-embedding"):
        assert info.output_price is None and info.max_output_tokens is None
    else:
        assert info.output_price is not None and info.output_price >= info.input_price
        assert info.max_output_tokens and info.max_output_tokens <= info.context_window
    if info.cached_input_price is not None:
        assert info.cached_input_price < info.input_price


@pytest.mark.parametrize(
    ("model", "entry"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),  # its own, older price
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("gpt-5-mini-2025-08-07", "gpt-5-mini"),
        ("gpt-5-2025-08-07", "gpt-5"),
        ("o1-mini-2024-09-12", "o1-mini"),
        ("o1-2024-12-17", "o1"),
        ("o3-mini-2025-01-31", "o3-mini"),
        ("o4-mini-2025-04-16", "o4-mini"),
        ("gpt-4-turbo-2024-04-09", "gpt-4-turbo"),
        ("gpt-4-0613", "gpt-4"),
        ("gpt-4-1106-preview", "gpt-4-1106-preview"),
        ("gpt-3.5-turbo-0125", "gpt-3.5-turbo"),
        ("gpt-3.5-turbo-instruct-0914", "gpt-3.5-turbo-instruct"),
        ("openai/gpt-4o", "gpt-4o"),
        ("openrouter/openai/gpt-4o-mini", "gpt-4o-mini"),
        ("openai:o3", "o3"),
        ("GPT-4o", "gpt-4o"),
        ("ada-002", "text-embedding-ada-002"),
        ("gpt-35-turbo", "gpt-3.5-turbo"),
        ("azure/gpt-35-turbo-16k", "gpt-3.5-turbo-16k"),
    ],
)
def test_longest_prefix_matching(model, entry):
    info = model_info(model)
    assert info is not None and info.id == entry


@pytest.mark.parametrize("model", ["gpt-4.7", "gpt-4oo", "o10", "llama3.2", "smollm2:135m", ""])
def test_unknown_models_are_none_not_a_neighbour(model):
    assert model_info(model) is None


def test_mini_is_not_priced_as_the_big_model():
    mini, big = model_info("gpt-4o-mini-2024-07-18"), model_info("gpt-4o-2024-08-06")
    assert mini.input_price < big.input_price


def test_fine_tuned_models_keep_limits_but_not_prices():
    info = model_info("ft:gpt-4o-mini-2024-07-18:acme::abc123")
    assert info.id == "gpt-4o-mini" and info.context_window == 128_000
    assert info.input_price is None and info.output_price is None
    assert estimate_cost(info, 100, 100) is None


def test_overrides_take_precedence_and_cover_snapshots():
    overrides = {"gpt-4o": {"input_price": 2.0, "context_window": 64_000}}
    info = model_info("gpt-4o-2024-08-06", overrides)
    assert info.input_price == 2.0 and info.context_window == 64_000
    assert info.output_price == model_info("gpt-4o").output_price  # untouched fields kept
    assert model_info("gpt-4o-mini", overrides).input_price == 0.15  # a different model
    assert model_info("gpt-4o-2024-05-13", overrides).input_price == 5.0  # has its own entry


def test_longest_override_wins():
    overrides = {"gpt-4o": {"input_price": 1.0}, "gpt-4o-2024-11-20": {"input_price": 3.0}}
    assert model_info("gpt-4o-2024-11-20", overrides).input_price == 3.0
    assert model_info("gpt-4o-2024-08-06", overrides).input_price == 1.0


def test_overrides_add_unknown_models_and_clear_fields():
    overrides = {"SmolLM2-135M": {"context_window": 8192, "input_price": 0, "output_price": 0}}
    info = model_info("smollm2-135m", overrides)
    assert info == ModelInfo("smollm2-135m", 8192, None, 0, 0, None)
    assert estimate_cost(info, 1000, 1000) == 0
    cleared = model_info("gpt-4o", {"gpt-4o": {"input_price": None}})
    assert cleared.input_price is None and estimate_cost(cleared, 1, 1) is None


def test_override_for_a_fine_tuned_model():
    model = "ft:gpt-4o-mini-2024-07-18:acme::abc123"
    info = model_info(model, {model: {"input_price": 0.3, "output_price": 1.2}})
    assert (info.context_window, info.input_price, info.output_price) == (128_000, 0.3, 1.2)


def test_raw_config_values_that_are_bad_are_skipped():
    raw = {"gpt-4o": {"input_price": "cheap", "output_price": 3, "context_window": -1, "x": 1}}
    info = model_info("gpt-4o", raw)
    assert (info.input_price, info.output_price, info.context_window) == (2.5, 3.0, 128_000)
    assert estimate_cost(info, 1000, 1000) is not None


def test_parse_overrides_reports_bad_entries():
    clean, errors = parse_overrides(
        {
            "gpt-4o": {"input_price": 2, "context_window": 100_000.0},
            "bad": {"input_price": "cheap", "context_size": 5, "context_window": 1.5},
            "worse": 7,
            "neg": {"output_price": -1, "max_output_tokens": True},
        }
    )
    assert clean["gpt-4o"] == {"input_price": 2.0, "context_window": 100_000}
    assert isinstance(clean["gpt-4o"]["context_window"], int)
    assert clean["bad"] == {} and clean["neg"] == {} and "worse" not in clean
    assert len(errors) == 6
    assert any("context_size" in e and "unknown" in e for e in errors)


def test_estimate_cost_math():
    info = ModelInfo("m", 1000, 100, input_price=2.0, output_price=8.0, cached_input_price=0.5)
    assert estimate_cost(info, 1_000_000, 0) == pytest.approx(2.0)
    assert estimate_cost(info, 0, 1_000_000) == pytest.approx(8.0)
    assert estimate_cost(info, 1500, 500) == pytest.approx((1500 * 2.0 + 500 * 8.0) / 1e6)
    with_cache = estimate_cost(info, 1000, 0, cached_tokens=400)
    assert with_cache == pytest.approx((600 * 2.0 + 400 * 0.5) / 1e6)
    assert estimate_cost(info, 10, 0, cached_tokens=50) == pytest.approx(10 * 0.5 / 1e6)
    no_cache_price = ModelInfo("m", None, None, 2.0, 8.0)
    assert estimate_cost(no_cache_price, 1000, 0, cached_tokens=400) == pytest.approx(2000 / 1e6)
    assert estimate_cost(None, 1, 1) is None


def test_known_costs():
    # 10k prompt + 1k completion on gpt-4o: 10_000 * 2.5 + 1_000 * 10 = 35_000 micro-dollars.
    assert estimate_cost(model_info("gpt-4o"), 10_000, 1_000) == pytest.approx(0.035)
    assert estimate_cost(model_info("gpt-4o-mini"), 1_000_000, 1_000_000) == pytest.approx(0.75)
    embeddings = model_info("text-embedding-3-small")
    assert estimate_cost(embeddings, 1_000_000, 0) == pytest.approx(0.02)
    assert estimate_cost(embeddings, 1_000, 5) is None  # no output price


@pytest.mark.parametrize(
    "model",
    ["o1", "o1-mini", "o1-preview", "o3", "o3-mini-2025-01-31", "o4-mini", "o3-pro", "gpt-5",
     "gpt-5-mini", "gpt-5-nano-2025-08-07", "gpt-5.1", "gpt-5-codex", "openai/o4-mini",
     "ft:o4-mini-2025-04-16:acme::x", "codex-mini-latest"],
)
def test_reasoning_models(model):
    assert is_reasoning_model(model)
    assert uses_max_completion_tokens(model)
    assert not supports_sampling_params(model)


@pytest.mark.parametrize("model", ["gpt-5-chat-latest", "gpt-5.1-chat-latest"])
def test_gpt5_chat_takes_sampling_params_but_max_completion_tokens(model):
    assert not is_reasoning_model(model)
    assert supports_sampling_params(model)
    assert uses_max_completion_tokens(model)


@pytest.mark.parametrize(
    "model",
    ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4-turbo", "gpt-3.5-turbo", "chatgpt-4o-latest",
     "llama3.2", "smollm2-135m", "gpt-oss-20b", "omni-model", "o", "gpt-50b-local"],
)
def test_ordinary_models(model):
    assert not uses_max_completion_tokens(model)
    assert supports_sampling_params(model)


def test_normalize_model_id():
    assert normalize_model_id("  OpenAI/GPT-4o ") == "gpt-4o"
    assert normalize_model_id("azure:gpt-4o") == "gpt-4o"
    assert normalize_model_id("ft:gpt-4o:acme::x") == "ft:gpt-4o:acme::x"
