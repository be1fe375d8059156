"""core.completion: FIM prompts and the insert-mode request, pure."""

from __future__ import annotations

from chat_tui.core.completion import FIM_FAMILIES, FimTokens, InsertMode, find_fim_tokens, fim_prompt, insert_request

STARCODER = FimTokens("<fim_prefix>", "<fim_suffix>", "<fim_middle>")


def test_fim_prompt_is_prefix_suffix_middle() -> None:
    assert fim_prompt(STARCODER, "def f(", "):\n") == "<fim_prefix>def f(<fim_suffix>):\n<fim_middle>"


def test_find_fim_tokens_needs_all_three_as_single_tokens() -> None:
    vocab = {"<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<fim_prefix>"}
    assert find_fim_tokens(vocab.__contains__) == FIM_FAMILIES[1]
    assert find_fim_tokens({"<fim_prefix>", "<fim_suffix>"}.__contains__) is None
    assert find_fim_tokens(lambda t: False) is None


def test_insert_request_per_mode() -> None:
    assert insert_request(InsertMode("suffix"), "a", "b") == ("a", "b")
    assert insert_request(InsertMode("fim", fim=STARCODER), "a", "b") == ("<fim_prefix>a<fim_suffix>b<fim_middle>", None)
    assert insert_request(InsertMode("none", note="no"), "a", "b") == ("a", None)
    # Nothing after the cursor: a plain completion whatever the mode.
    assert insert_request(InsertMode("fim", fim=STARCODER), "a", "") == ("a", None)
