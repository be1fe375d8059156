"""Hostile input to the configuration (issue 10): unknown keys warn, wrong types say what is
expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat_tui.core.config import Config, ConfigError, load_config, resolve_endpoint

FULL = """
default_profile = "ollama"
theme = "gruvbox-chat"

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
    ("profiles = 'x'", '[profiles] must be a table of [profiles.NAME] tables, not "x"'),
    ("[profiles]\nx = 5", "[profiles] x must be a table, not 5"),
    (P + "model = 5", "[profiles.x] model must be a model id (a string), not 5"),
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
