"""Endpoint selection, profiles and paths."""

from __future__ import annotations

import pytest

from chat_tui.core.config import Config, ConfigError, Endpoint, load_config, resolve_endpoint
from chat_tui.core.paths import default_paths


def cfg(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path)


def test_local_is_the_default_with_nothing_set():
    ep = resolve_endpoint(Config(), env={})
    assert ep.type == "local" and ep.name == "local"


def test_openai_key_selects_openai_with_sdk_headers():
    env = {"OPENAI_API_KEY": "sk-1", "OPENAI_ORG_ID": "org-9", "OPENAI_PROJECT_ID": "proj-7"}
    ep = resolve_endpoint(Config(), env=env)
    assert ep.name == "openai" and ep.base_url == "https://api.openai.com/v1" and ep.api_key == "sk-1"
    assert ep.headers == {"OpenAI-Organization": "org-9", "OpenAI-Project": "proj-7"}
    assert "sk-1" not in repr(ep) and "sk-1" not in str(ep.public())


def test_base_url_env_and_flag():
    ep = resolve_endpoint(Config(), env={"OPENAI_BASE_URL": "http://localhost:11434/v1/"})
    assert ep.base_url == "http://localhost:11434/v1" and ep.api_key is None and ep.is_local
    ep = resolve_endpoint(Config(), base_url="http://10.1.1.1:8000/v1", env={"OPENAI_API_KEY": "k"})
    assert ep.base_url == "http://10.1.1.1:8000/v1" and ep.name == "10.1.1.1:8000" and ep.api_key == "k"
    with pytest.raises(ConfigError, match="http"):
        resolve_endpoint(Config(), base_url="localhost:8000", env={})


def test_profiles_and_default_profile(tmp_path):
    config = cfg(tmp_path, """
default_profile = "ollama"
[profiles.ollama]
base_url = "http://localhost:11434/v1"
model = "llama3.2"
[profiles.router]
base_url = "https://openrouter.ai/api/v1"
api_key_env = "ROUTER_KEY"
headers = { "X-Title" = "chat-tui" }
""")
    ep = resolve_endpoint(config, env={"OPENAI_API_KEY": "sk"})
    assert ep.name == "ollama" and ep.default_model == "llama3.2" and ep.api_key is None
    ep = resolve_endpoint(config, profile="router", env={"ROUTER_KEY": "rk"})
    assert ep.api_key == "rk" and ep.headers == {"X-Title": "chat-tui"}
    ep = resolve_endpoint(config, profile="local", env={})
    assert ep.type == "local"
    with pytest.raises(ConfigError, match="unknown profile 'nope'.*ollama"):
        resolve_endpoint(config, profile="nope", env={})


def test_first_profile_when_no_default(tmp_path):
    config = cfg(tmp_path, '[profiles.vllm]\nbase_url = "http://gpu:8000/v1"\n')
    assert resolve_endpoint(config, env={}).name == "vllm"


def test_azure_profile(tmp_path):
    config = cfg(tmp_path, """
[profiles.az]
type = "azure"
base_url = "https://res.openai.azure.com/"
api_version = "2024-10-21"
model = "gpt4o-deploy"
""")
    ep = resolve_endpoint(config, profile="az", env={"AZURE_OPENAI_API_KEY": "azk"})
    assert ep.type == "azure" and ep.api_key == "azk" and ep.api_version == "2024-10-21"
    assert ep.base_url == "https://res.openai.azure.com"


@pytest.mark.parametrize("text, needle", [
    ("[profiles.x]\ntype = 'weird'\nbase_url='http://a'", "type must be one of"),
    ("[profiles.x]\nmodel = 'm'", "needs base_url"),
    ("[profiles.x]\ntype='azure'\nbase_url='https://a'", "needs api_version"),
    ("[profiles.x]\nbase_url='http://a'\napi_key='sk-in-file'", "api_key_env"),
    ("default_profile = 'ghost'", "not a defined profile"),
    ("this is = = not toml", "not valid TOML"),
])
def test_config_errors_name_the_problem(tmp_path, text, needle):
    with pytest.raises(ConfigError, match=needle):
        cfg(tmp_path, text)


def test_gguf_implies_local():
    ep = resolve_endpoint(Config(), gguf="/m/x.gguf", env={"OPENAI_API_KEY": "k"})
    assert ep.type == "local" and ep.gguf == "/m/x.gguf"
    with pytest.raises(ConfigError):
        resolve_endpoint(Config(), profile="openai", gguf="/m/x.gguf", env={})


def test_paths_home_and_xdg(tmp_path):
    p = default_paths({"CHAT_TUI_HOME": str(tmp_path)})
    assert p.config_file == tmp_path / "config.toml" and p.database == tmp_path / "chat-tui.db"
    assert p.tiktoken_cache == tmp_path / "cache" / "tiktoken"
    p = default_paths({"XDG_CONFIG_HOME": "/c", "XDG_DATA_HOME": "/d", "XDG_CACHE_HOME": "/k"})
    assert str(p.config_file) == "/c/chat-tui/config.toml" and str(p.database) == "/d/chat-tui/chat-tui.db"
    assert str(p.cache_dir) == "/k/chat-tui"


def test_endpoint_public_hides_key():
    ep = Endpoint(name="x", base_url="https://a/v1", api_key="sk-secret")
    assert ep.public()["has_key"] is True and "sk-secret" not in repr(ep)


def test_tool_trust_and_round_limit(tmp_path):
    from chat_tui.core.config import build_endpoint

    config = cfg(tmp_path, '[profiles.work]\nbase_url = "http://x/v1"\ntrust = ["get_time", "search-docs"]\n'
                           '[tools]\nmax_rounds = 4\n')
    assert build_endpoint("work", config).trust == ("get_time", "search-docs")
    assert build_endpoint("local", config).trust == ()
    assert config.max_tool_rounds == 4 and Config().max_tool_rounds == 10
    with pytest.raises(ConfigError, match=r"\[profiles.work\] trust must be a list of tool names"):
        cfg(tmp_path, '[profiles.work]\nbase_url = "http://x/v1"\ntrust = "get_time"\n')
    with pytest.raises(ConfigError, match=r"\[profiles.work\] trust must be a list of tool names"):
        cfg(tmp_path, '[profiles.work]\nbase_url = "http://x/v1"\ntrust = ["get time"]\n')
    with pytest.raises(ConfigError, match=r"\[tools\] max_rounds must be a whole number from 1 to 100, not 0"):
        cfg(tmp_path, "[tools]\nmax_rounds = 0\n")
    assert any("unknown key 'max_round'" in w for w in cfg(tmp_path, "[tools]\nmax_round = 3\n").warnings)
