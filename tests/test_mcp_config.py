"""`[mcp.servers.NAME]` in the config file: the shapes users write, the mistakes they make, and
`${VAR}` expanded only when a server starts (the file's text is what is shown and kept)."""

from __future__ import annotations

import pytest

from chat_tui.core.config import ConfigError, load_config
from chat_tui.core.mcp_config import MCPConfigError, MCPServerConfig

README_EXAMPLE = """
[mcp.servers.math]                 # stdio
command = "python"
args = ["math_server.py"]
env = { API_TOKEN = "${MATH_TOKEN}" }
[mcp.servers.search]               # streamable HTTP
url = "http://127.0.0.1:9000/mcp"
headers = { Authorization = "Bearer ${SEARCH_TOKEN}" }
"""


def cfg(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path)


def test_the_documented_example_parses_exactly(tmp_path):
    config = cfg(tmp_path, README_EXAMPLE)
    assert list(config.mcp_servers) == ["math", "search"] and config.warnings == ()
    math, search = config.mcp_servers["math"], config.mcp_servers["search"]
    assert math == MCPServerConfig(name="math", command="python", args=("math_server.py",),
                                   env={"API_TOKEN": "${MATH_TOKEN}"})
    assert math.transport == "stdio" and math.source == "mcp:math" and math.enabled and math.timeout == 60
    assert search.transport == "http" and search.url == "http://127.0.0.1:9000/mcp"
    assert search.headers == {"Authorization": "Bearer ${SEARCH_TOKEN}"}
    assert math.variables() == ["MATH_TOKEN"] and search.variables() == ["SEARCH_TOKEN"]


def test_optional_keys(tmp_path):
    config = cfg(tmp_path, '[mcp.servers.a]\ncommand = "srv"\ncwd = "/tmp"\nenabled = false\ntimeout = 2.5\n')
    server = config.mcp_servers["a"]
    assert server.cwd == "/tmp" and server.enabled is False and server.timeout == 2.5
    assert cfg(tmp_path, "x = 1\n").mcp_servers == {}


@pytest.mark.parametrize("text, message", [
    ('[mcp.servers.a]\ncommand = "x"\nurl = "http://h/mcp"\n', r"\[mcp.servers.a\] has both command .* and url"),
    ('[mcp.servers.a]\nenabled = true\n', r"\[mcp.servers.a\] needs command .* or url"),
    ('[mcp.servers.a]\ncommand = "x"\nargs = ["a", 3]\n', r"\[mcp.servers.a\] args\[1\] must be a string, not the number 3"),
    ('[mcp.servers.a]\ncommand = "x"\nargs = "a b"\n', r"\[mcp.servers.a\] args must be a list of strings, not a string"),
    ('[mcp.servers.a]\ncommand = ""\n', r"command must be a program to run"),
    ('[mcp.servers.a]\ncommand = "x"\nenv = { K = 1 }\n', r"\[mcp.servers.a\] env: 'K' must be a string"),
    ('[mcp.servers.a]\ncommand = "x"\nheaders = { A = "b" }\n', r"headers go with url"),
    ('[mcp.servers.a]\nurl = "http://h/mcp"\nargs = []\n', r"args goes with command"),
    ('[mcp.servers.a]\nurl = "ftp://h/mcp"\n', r"url must start with http:// or https://"),
    ('[mcp.servers.a]\nurl = "http://h/mcp"\nheaders = { "Bad Name" = "x" }\n', r"'Bad Name' is not a valid HTTP header"),
    ('[mcp.servers.a]\ncommand = "x"\ntimeout = 0\n', r"timeout must be a number of seconds > 0, not the number 0"),
    ('[mcp.servers.a]\ncommand = "x"\nenabled = "no"\n', r"enabled must be true or false, not a string"),
    ('[mcp.servers]\na = 1\n', r"\[mcp.servers.a\] must be a table"),
    ('[mcp.servers."a b"]\ncommand = "x"\n', r"a server's name is letters, digits"),
    ('mcp = 1\n', r"\[mcp\] must be a table"),
    ('[mcp]\nservers = 1\n', r"\[mcp\] servers must be a table"),
])
def test_bad_shapes_are_one_config_error(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as caught:
        cfg(tmp_path, text)
    assert str(caught.value).startswith(str(tmp_path / "config.toml") + ": ")
    assert "\n" not in str(caught.value)


def test_header_values_are_never_quoted(tmp_path):
    with pytest.raises(ConfigError) as caught:
        cfg(tmp_path, '[mcp.servers.a]\nurl = "http://h/mcp"\nheaders = { Authorization = 42 }\n')
    assert "42" not in str(caught.value) and "Authorization" in str(caught.value)


def test_unknown_keys_warn(tmp_path):
    config = cfg(tmp_path, '[mcp.servers.a]\ncommand = "x"\nargz = []\n[mcp]\nother = 1\n')
    assert any("unknown key 'argz' in [mcp.servers.a]" in w for w in config.warnings)
    assert any("unknown key 'other' in [mcp]" in w for w in config.warnings)


def test_variables_expand_only_from_the_environment_given(tmp_path):
    config = cfg(tmp_path, README_EXAMPLE)
    math = config.mcp_servers["math"]
    launch = math.expand({"MATH_TOKEN": "s3cret-math"})
    assert launch.env == {"API_TOKEN": "s3cret-math"} and launch.args == ("math_server.py",)
    assert "s3cret" not in repr(launch) and "s3cret" not in repr(math) and "s3cret" not in str(math.public())
    assert launch.redact("token s3cret-math refused") == "token ${MATH_TOKEN} refused"
    search = config.mcp_servers["search"].expand({"SEARCH_TOKEN": "tok-9"})
    assert search.headers == {"Authorization": "Bearer tok-9"} and search.url == "http://127.0.0.1:9000/mcp"
    # the config keeps the text as written
    assert config.mcp_servers["search"].headers == {"Authorization": "Bearer ${SEARCH_TOKEN}"}


def test_an_unset_variable_names_the_server_and_the_variable(tmp_path):
    config = cfg(tmp_path, README_EXAMPLE)
    with pytest.raises(MCPConfigError, match=r"MCP server 'math': env.API_TOKEN uses \$\{MATH_TOKEN\}, which is not set"):
        config.mcp_servers["math"].expand({})
    # the other server is unaffected
    assert config.mcp_servers["search"].expand({"SEARCH_TOKEN": "t"}).headers["Authorization"] == "Bearer t"


def test_variables_in_args_and_url(tmp_path):
    config = cfg(tmp_path, '[mcp.servers.a]\ncommand = "x"\nargs = ["--key=${K}", "$HOME", "${K}${K}"]\n'
                           '[mcp.servers.b]\nurl = "${BASE}/mcp"\n')
    assert config.mcp_servers["a"].expand({"K": "v"}).args == ("--key=v", "$HOME", "vv")
    assert config.mcp_servers["b"].expand({"BASE": "https://h"}).url == "https://h/mcp"
    with pytest.raises(MCPConfigError, match=r"'b': url must start with http"):
        config.mcp_servers["b"].expand({"BASE": "h"})
    with pytest.raises(MCPConfigError, match=r"'a': args\[0\] uses \$\{K\}"):
        config.mcp_servers["a"].expand({})


def test_an_expanded_header_that_http_cannot_carry(tmp_path):
    config = cfg(tmp_path, README_EXAMPLE)
    with pytest.raises(MCPConfigError, match="a line break") as caught:
        config.mcp_servers["search"].expand({"SEARCH_TOKEN": "abc\ndef"})
    assert "abc" not in str(caught.value)
