"""The history's parameter-filter grammar, one for the CLI (--param) and the TUI's field."""

import pytest

from chat_tui.core.filters import parse_param_filter, parse_param_filters


def test_one_filter_each_operator():
    assert parse_param_filter("temperature>1") == ("temperature", ">", 1)
    assert parse_param_filter(" top_p <= 0.5 ") == ("top_p", "<=", 0.5)
    assert parse_param_filter("seed=7") == ("seed", "=", 7)
    assert parse_param_filter("seed==7") == ("seed", "==", 7)
    assert parse_param_filter("n!=2") == ("n", "!=", 2)
    assert parse_param_filter("temperature<.5") == ("temperature", "<", 0.5)  # not JSON, still a number
    assert parse_param_filter('stop="END"') == ("stop", "=", "END")
    assert parse_param_filter("reasoning_effort=low") == ("reasoning_effort", "=", "low")


def test_several_in_one_text_or_a_list():
    assert parse_param_filters("temperature>1, top_p<=0.5") == (("temperature", ">", 1), ("top_p", "<=", 0.5))
    assert parse_param_filters("temperature>1; seed=3") == (("temperature", ">", 1), ("seed", "=", 3))
    assert parse_param_filters(["temperature>1", "seed=3"]) == (("temperature", ">", 1), ("seed", "=", 3))
    assert parse_param_filters('stop="a,b", seed=1') == (("stop", "=", "a,b"), ("seed", "=", 1))
    assert parse_param_filters("") == ()
    assert parse_param_filters([]) == ()


@pytest.mark.parametrize("bad", ["temperature is hot", "=1", "temperature>", "logit_bias={}", "x=[1]", "x=null"])
def test_bad_filters_name_the_part(bad):
    with pytest.raises(ValueError, match="parameter filter"):
        parse_param_filters(bad)
