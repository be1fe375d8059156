"""Hostile input to the configuration (issue 10): unknown keys warn, wrong types say what is
expected, and API keys and header values that HTTP cannot carry are refused without being shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chat_tui.core.config import Config, ConfigError, Endpoint, build_endpoint, load_config, resolve_endpoint

FULL = """
default_profile = "ollama"
theme = "gruvbox-chat"
copy_on_select = false

[profiles.ollama]
base_url = "http://localhost:11434/v1"
model = "llama3.2"

[profiles.work]
base_url = "https://api.openai.com/v1"
api_key_env = "WORK_OPENAI_KEY"
model = "gpt-4o-mini"
headers = { "OpenAI-Organization" = "org-123" }
sdk_headers = false

[profiles.azure]
type = "azure"
base_url = "https://my-resource.openai.azure.com"
api_version = "2024-10-21"
api_key_env = "AZURE_OPENAI_API_KEY"
model = "my-gpt4o-deployment"

[profiles.bigger-local]
type = "local"
gguf = "~/models/qwen.gguf"

[models."my-finetune"]
context_window = 32768
max_output_tokens = 4096
input_price = 0.5
output_price = 1.5
cached_input_price = 0.25

[titles]
enabled = true
local = false
model = "gpt-4o-mini"

[keys]
"app.new_conversation" = "ctrl+t"
app.stop = "ctrl+x"
anything.at.all = "f5"
"""


P = "[profiles.x]\nbase_url = 'http://a'\n"  # a profile, to add a key to


def cfg(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path)


def test_every_known_key_loads_without_warnings(tmp_path: Path) -> None:
    config = cfg(tmp_path, FULL)
    assert config.warnings == ()
    assert config.titles.model == "gpt-4o-mini" and config.models["my-finetune"]["input_price"] == 0.5
    assert config.copy_on_select is False and Config().copy_on_select is True
    assert Config().warnings == () and load_config(tmp_path / "missing.toml").warnings == ()


@pytest.mark.parametrize("text, table, key, hint", [
    ("them = 'dark'", "at the top level", "them", "did you mean 'theme'?"),
    ("[profile.x]\nbase_url = 'http://a'", "at the top level", "profile", "did you mean 'profiles'?"),
    (P + "modle = 'm'", "in [profiles.x]", "modle", "did you mean 'model'?"),
    ("[profiles.'my box']\nbase_url = 'http://a'\napikey_env = 'K'", 'in [profiles."my box"]',
     "apikey_env", "did you mean 'api_key_env'?"),
    ("[models.'gpt-4o']\ninput_prize = 1.0", 'in [models.gpt-4o]', "input_prize", "did you mean 'input_price'?"),
    ("[models.'ft:x']\ncolour = 1", 'in [models."ft:x"]', "colour", "known keys: context_window, max_output_tokens"),
    ("[titles]\nenable = false", "in [titles]", "enable", "did you mean 'enabled'?"),
])
def test_unknown_keys_warn_naming_key_table_and_file(tmp_path: Path, text: str, table: str, key: str,
                                                      hint: str) -> None:
    config = cfg(tmp_path, text)  # was: silently ignored
    (warning,) = config.warnings
    assert warning.startswith(f"{tmp_path / 'config.toml'}: unknown key {key!r} {table} is ignored; ")
    assert hint in warning


@pytest.mark.parametrize("text, message", [
    ("default_profile = 5", "default_profile must be a profile name (a string), not 5"),
    ("theme = true", "theme must be a theme name (a string), not true"),
    ("copy_on_select = 'yes'", 'copy_on_select must be true or false, not "yes"'),
    ("profiles = 'x'", '[profiles] must be a table of [profiles.NAME] tables, not "x"'),
    ("[profiles]\nx = 5", "[profiles] x must be a table, not 5"),
    (P + "model = 5", "[profiles.x] model must be a model id (a string), not 5"),
    (P + 'transcription_language = "English"',
     '[profiles.x] transcription_language must be a two-letter ISO-639-1 code (e.g. "en"), not "English"'),
    ("[profiles.x]\nbase_url = 5", "[profiles.x] base_url must be a URL (a string), not 5"),
    (P + "api_key_env = ['A']",
     "[profiles.x] api_key_env must be the name of an environment variable (a string), not a list"),
    (P + "type = 'weird'", "[profiles.x] type must be one of openai, azure, local"),
    (P + "sdk_headers = 'yes'", '[profiles.x] sdk_headers must be true or false, not "yes"'),
    ("[profiles.x]\ntype = 'azure'\nbase_url = 'https://a'\napi_version = 2024",
     "[profiles.x] api_version must be a date string"),
    ("[profiles.x]\ntype = 'local'\ngguf = 3", "[profiles.x] gguf must be a file path (a string), not 3"),
    (P + "headers = 3", "[profiles.x] headers must be a table of header names and values, not a number"),
    (P + "headers = { X-Count = 3 }", "[profiles.x.headers] X-Count must be a string, not a number"),
    (P + "headers = { 'X Title' = 'a' }", '[profiles.x.headers] "X Title" is not a valid HTTP header name'),
    ("models = 1", "[models] must be a table"),
    ("[models]\n'x' = 5", "[models] x must be a table of settings (context_window, max_output_tokens, input_price,"
                          " output_price, cached_input_price), not 5"),
    ("[models.'gpt-4o']\ninput_price = 'cheap'", '[models.gpt-4o] input_price must be a number >= 0, not "cheap"'),
    ("[models.'gpt-4o']\noutput_price = -1", "[models.gpt-4o] output_price must be a number >= 0, not -1"),
    ("[models.'gpt-4o']\ncontext_window = 1.5", "[models.gpt-4o] context_window must be a whole number >= 0, not 1.5"),
    ("[models.'gpt-4o']\nmax_output_tokens = true", "[models.gpt-4o] max_output_tokens must be a whole number >= 0, not true"),
    ("keys = 'ctrl+t'", "[keys] must be a table of binding ids and keys"),
    ("titles = 1", "[titles] must be a table (enabled, local, model), not 1"),
    ("[titles]\nmodel = 4", "[titles] model must be a model id (a non-empty string), not 4"),
])
def test_wrong_types_say_what_is_expected(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:  # was: AttributeError or a crash later
        cfg(tmp_path, text)
    assert str(info.value).startswith(f"{tmp_path / 'config.toml'}: {message}"), str(info.value)


def test_wrong_types_used_to_crash_later(tmp_path: Path) -> None:
    from chat_tui.core.models_table import model_info

    with pytest.raises(ConfigError):
        config = cfg(tmp_path, "[models]\n'gpt-4o' = 5")
        model_info("gpt-4o", config.models)  # AttributeError: 'int' object has no attribute 'items'
    with pytest.raises(ConfigError):
        config = cfg(tmp_path, P + "model = 5")
        resolve_endpoint(config, profile="x", env={})


# -- keys and header values ---------------------------------------------------------------

KEY = "sk-proj-Abc123Def456Ghi789Jkl012Mno345"


def assert_secret_not_shown(message: str, secret: str) -> None:
    assert secret not in message
    for n in range(0, len(secret) - 5):  # nor any part of it: every 6 characters
        assert secret[n:n + 6] not in message, secret[n:n + 6]


@pytest.mark.parametrize("value", [KEY + "\n", " \t" + KEY + "\r\n", "\n" + KEY])
def test_keys_are_trimmed(value: str) -> None:
    ep = resolve_endpoint(Config(), env={"OPENAI_API_KEY": value})
    assert ep.name == "openai" and ep.api_key == KEY


def test_a_blank_key_is_no_key() -> None:
    ep = resolve_endpoint(Config(), env={"OPENAI_API_KEY": " \n"})
    assert ep.name == "local" and ep.api_key is None
    ep = resolve_endpoint(Config(), profile="openai", env={"OPENAI_API_KEY": "\n"})
    assert ep.api_key is None


@pytest.mark.parametrize("bad, problem", [
    (KEY[:10] + "\n" + KEY[10:], "a line break at character 11"),
    (KEY[:10] + "\r" + KEY[10:], "a line break at character 11"),
    (KEY[:20] + "\x00" + KEY[20:], "a control character (U+0000) at character 21"),
    (KEY[:5] + "\x1b[2J" + KEY[5:], "a control character (U+001B) at character 6"),
    (KEY[:7] + "é" + KEY[7:], "a non-ASCII character at character 8"),
    (KEY + "\u2028x", "a non-ASCII character at character 39"),
])
def test_a_key_http_cannot_carry_is_refused_without_showing_it(tmp_path: Path, bad: str, problem: str) -> None:
    config = cfg(tmp_path, "[profiles.router]\nbase_url = 'https://r/v1'\napi_key_env = 'ROUTER_KEY'\n"
                           "[profiles.az]\ntype = 'azure'\nbase_url = 'https://a'\napi_version = '2024-10-21'\n")
    calls = ((lambda: resolve_endpoint(config, profile="openai", env={"OPENAI_API_KEY": bad}), "OPENAI_API_KEY"),
             (lambda: resolve_endpoint(Config(), env={"OPENAI_API_KEY": bad + "\n"}), "OPENAI_API_KEY"),
             (lambda: build_endpoint("router", config, {"ROUTER_KEY": bad}), "ROUTER_KEY"),
             (lambda: build_endpoint("az", config, {"AZURE_OPENAI_API_KEY": bad}), "AZURE_OPENAI_API_KEY"))
    for call, var in calls:
        with pytest.raises(ConfigError) as info:
            call()
        message = str(info.value)
        assert message.startswith(f"{var}: the API key has {problem}"), message
        assert "the key is not shown" in message
        assert_secret_not_shown(message, KEY)
        assert_secret_not_shown(repr(info.value), KEY)


def test_an_endpoint_made_directly_is_checked_too() -> None:
    with pytest.raises(ConfigError, match="the API key has a line break") as info:
        Endpoint(name="x", base_url="https://a/v1", api_key=KEY + "\nX")
    assert_secret_not_shown(str(info.value), KEY)
    assert Endpoint(name="x", base_url="https://a/v1", api_key=f"  {KEY}\n").api_key == KEY
    with pytest.raises(ConfigError, match="header 'X-Token' has a line break"):
        Endpoint(name="x", base_url="https://a/v1", headers={"X-Token": "a\nb"})


def test_header_values_http_cannot_carry(tmp_path: Path) -> None:
    secret = "Bearer tok-Zyx987Wvu654Tsr321"
    for value, problem in ((secret + "\nX-Evil: 1", "a line break at character 30"),
                           (secret + "\u00a0", None),  # trailing white space: trimmed
                           ("caf\u00e9 " + secret, "a non-ASCII character at character 4")):
        text = P + f"headers = {{ Authorization = {json.dumps(value)} }}\n"
        if problem is None:
            assert build_endpoint("x", cfg(tmp_path, text), {}).headers == {"Authorization": secret}
            continue
        with pytest.raises(ConfigError) as info:
            cfg(tmp_path, text)
        message = str(info.value)
        assert message == (f"{tmp_path / 'config.toml'}: [profiles.x.headers] Authorization has {problem},"
                           " which an HTTP header cannot carry (the value is not shown)")
        assert_secret_not_shown(message, secret)
    with pytest.raises(ConfigError) as info:
        cfg(tmp_path, P + f"headers = '{secret}'\n")
    assert_secret_not_shown(str(info.value), secret)  # a string where a table belongs: not shown


def test_sdk_header_variables() -> None:
    ep = resolve_endpoint(Config(), env={"OPENAI_API_KEY": KEY, "OPENAI_ORG_ID": " org-1\n"})
    assert ep.headers == {"OpenAI-Organization": "org-1"}
    with pytest.raises(ConfigError, match=r"OPENAI_PROJECT_ID has a line break at character 6, which the"
                                          r" OpenAI-Project header cannot carry \(the value is not shown\)"):
        resolve_endpoint(Config(), env={"OPENAI_API_KEY": KEY, "OPENAI_PROJECT_ID": "proj-\nsecret"})
