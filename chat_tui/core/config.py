"""Configuration: the TOML file, named endpoint profiles and how the active endpoint is chosen.

Example `config.toml` (in the config dir, see `paths.py`)::

    default_profile = "ollama"
    copy_on_select = true                    # copy a mouse selection on release (default true)

    [profiles.ollama]
    base_url = "http://localhost:11434/v1"
    model = "llama3.2"

    [profiles.work]
    base_url = "https://api.openai.com/v1"
    api_key_env = "WORK_OPENAI_KEY"          # the variable to read, never the key itself
    model = "gpt-4o-mini"
    headers = { "OpenAI-Organization" = "org-123" }
    embeddings = true                        # embed saved messages for search by meaning
    embedding_model = "text-embedding-3-small"  # (the default); embedding_dimensions = 512

    [profiles.azure]
    type = "azure"
    base_url = "https://my-resource.openai.azure.com"
    api_version = "2024-10-21"
    api_key_env = "AZURE_OPENAI_API_KEY"
    model = "my-gpt4o-deployment"            # Azure: the deployment name

    [models."my-finetune"]                     # context/price overrides
    context_window = 32768
    input_price = 0.5                          # USD per 1M tokens
    output_price = 1.5

    [profiles.checked]
    base_url = "https://api.openai.com/v1"
    moderate = true                            # check each prompt before sending (default false)
    moderation_model = "omni-moderation-latest"
    transcription_model = "gpt-4o-transcribe"  # audio attachments and `transcribe` (default whisper-1)
    transcription_language = "de"              # ISO-639-1 language of attached audio (default: detected)

    theme = "terminal"                         # the terminal's own colours (Ctrl+P → theme)
    palette = "colour-blind"                   # probabilities and diffs in blue/orange (default: the theme's)
    thinking = "auto"                          # a reply's reasoning: "auto" (shown while it streams,
                                               # folded once the answer starts), "open", "closed"

    [profiles.tooling]
    base_url = "https://api.openai.com/v1"
    trust = ["get_time", "search_docs"]       # tools that run without asking (default: none)

    [tools]                                    # function calling
    max_rounds = 10                            # rounds of tool calls in one turn (default 10)

    [mcp.servers.math]                         # MCP servers: tools for the model (see mcp_config.py)
    command = "python"                         # stdio: a server the app starts when tools are needed
    args = ["math_server.py"]
    env = { API_TOKEN = "${MATH_TOKEN}" }      # ${VAR}: from the environment, when it starts

    [mcp.servers.search]
    url = "http://127.0.0.1:9000/mcp"          # streamable HTTP: a server already running
    headers = { Authorization = "Bearer ${SEARCH_TOKEN}" }

    [titles]                                   # auto-titles from the first exchange
    enabled = true                             # default true
    local = false                              # also for local endpoints (default false)
    model = "gpt-4o-mini"                      # default: the conversation's model

Checking: a value of the wrong type is a `ConfigError` naming the file, the table, the key
and what it must be (``[profiles.x] model must be a model id (a string), not 5``); an
unknown key is ignored with a warning in `Config.warnings` (file, table, key, and the
closest known key).

API keys (from the environment) are trimmed of white space at either end; a key, or any
header value, that an HTTP header still cannot carry (a line break, a control or non-ASCII
character) is a `ConfigError` that says what and where, never showing the value.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from chat_tui.core.headers import header_problem, header_value_problem
from chat_tui.core.models_table import OVERRIDE_FIELDS, WHOLE_FIELDS

if TYPE_CHECKING:  # imported when a config file has [mcp] or `trust`: a faster start-up
    from chat_tui.core.mcp_config import MCPServerConfig

OPENAI_BASE_URL = "https://api.openai.com/v1"
PROFILE_TYPES = ("openai", "azure", "local")
THINKING_MODES = ("auto", "open", "closed")
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
BUILTIN_PROFILES = ("openai", "local")


class ConfigError(ValueError):
    """The config file or a flag is wrong; the message says where and how."""


@dataclass(frozen=True)
class Timeouts:
    """Seconds the client waits (see api/transport.py): to connect; for a streamed answer's
    first byte; for a whole answer, which comes at once when finished; between two reads of a
    stream once it has started. Profiles set them with `connect_timeout`,
    `first_byte_timeout`, `response_timeout` and `idle_timeout`; `--timeout N` sets the last
    three."""

    connect: float = 10.0
    first_byte: float = 120.0
    response: float = 600.0
    idle: float = 300.0


TIMEOUT_KEYS = {"connect_timeout": "connect", "first_byte_timeout": "first_byte",
                "response_timeout": "response", "idle_timeout": "idle"}


@dataclass(frozen=True)
class Endpoint:
    """One server to talk to. `api_key` is a secret: it is never shown, stored or logged."""

    name: str
    base_url: str
    type: str = "openai"
    api_key: str | None = field(default=None, repr=False)
    api_key_env: str | None = None
    default_model: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    api_version: str | None = None  # azure
    gguf: str | None = None  # local: the model file to serve
    timeouts: Timeouts = field(default_factory=Timeouts)
    moderate: bool = False  # check each prompt with /v1/moderations before sending it
    moderation_model: str = "omni-moderation-latest"
    transcription_model: str = "whisper-1"  # for audio attached in the app and `transcribe`
    transcription_language: str | None = None  # ISO-639-1, for audio attached in the app (None: detected)
    # Search by meaning: saved messages are embedded in the background (opt-in: it costs money
    # on paid endpoints; on by default for the offline `local` profile).
    embeddings: bool = False
    embedding_model: str | None = None
    embedding_dimensions: int | None = None
    # Function calling: the tools (by the name the model sees) that run without asking.
    trust: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Checked here, where every endpoint is made, so no key reaches httpx, whose error for
        # a bad header value quotes the whole value (and was saved and exported with replies).
        if self.api_key is not None:
            key = self.api_key.strip()
            if problem := header_value_problem(key):
                where = self.api_key_env or "the API key"
                raise ConfigError(
                    f"{where}: the API key has {problem} (white space at either end is ignored),"
                    " which an HTTP header cannot carry; set it to the key alone (the key is not shown)"
                )
            object.__setattr__(self, "api_key", key or None)
        headers = {}
        for name, value in self.headers.items():
            if problem := header_problem(name, value):
                raise ConfigError(f"profile {self.name!r}: header {name!r} {problem}")
            headers[name] = value.strip()
        object.__setattr__(self, "headers", headers)

    @property
    def is_local(self) -> bool:
        return self.type == "local" or _is_loopback(self.base_url)

    def public(self) -> dict[str, Any]:
        """What may be shown or saved: everything but the key."""
        return {
            "name": self.name,
            "type": self.type,
            "base_url": self.base_url,
            "default_model": self.default_model,
            "api_key_env": self.api_key_env,
            "has_key": bool(self.api_key),
        }


@dataclass(frozen=True)
class TitleSettings:
    """Auto-titles: after the first answer of a new conversation, one small request on the same
    endpoint asks for a short title (`[titles]` in the config file)."""

    enabled: bool = True
    local: bool = False  # local endpoints (llama.cpp, Ollama...) too: their compute is the user's
    model: str | None = None  # None: the conversation's model

    def applies_to(self, endpoint: Endpoint) -> bool:
        return self.enabled and (self.local or not endpoint.is_local)


@dataclass(frozen=True)
class Config:
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    default_profile: str | None = None
    models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    keys: Mapping[str, str] = field(default_factory=dict)
    theme: str | None = None
    palette: str = "default"  # the app's own scales (probabilities, diffs): "default" or "colour-blind"
    titles: TitleSettings = field(default_factory=TitleSettings)
    image_protocol: str = "auto"  # [images] protocol: how images are drawn in the terminal
    copy_on_select: bool = True  # copy a mouse selection when the button is released
    thinking: str = "auto"  # a reply's reasoning block: auto (open while thinking), open, closed
    max_tool_rounds: int = 10  # [tools] max_rounds: rounds of tool calls in one turn
    # [mcp.servers.NAME]: MCP servers as written (`${VAR}` unexpanded), in file order.
    mcp_servers: Mapping[str, MCPServerConfig] = field(default_factory=dict)
    path: Path | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    # Unknown keys, ignored: one line each (file, table, key, closest known key), to show
    # as a notification or on stderr.
    warnings: tuple[str, ...] = ()


def load_config(path: Path) -> Config:
    """Read the config file; a missing file is an empty config, a broken one a ConfigError."""
    if not path.exists():
        return Config(path=path)
    try:
        import tomllib  # only when there is a config file

        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    check = _Checker(path)
    check.table(data, "", _TOP)
    profiles = data.get("profiles", {})
    for name, prof in profiles.items():
        where = _table("profiles", name)
        if not isinstance(prof, dict):
            raise ConfigError(f"{path}: [profiles] {_key(name)} must be a table, not {_show(prof)}")
        if "api_key" in prof:
            raise ConfigError(
                f"{path}: profile {name!r}: put the key in an environment variable and name it with api_key_env"
            )
        check.table(prof, where, _PROFILE)
        for header, value in prof.get("headers", {}).items():
            if problem := header_problem(header, value):
                raise ConfigError(f"{path}: [{where}.headers] {_key(header)} {problem}")
        ptype = prof.get("type", "openai")
        if ptype != "local" and not prof.get("base_url") and name not in BUILTIN_PROFILES:
            raise ConfigError(f"{path}: profile {name!r} needs base_url")
        if ptype == "azure" and not prof.get("api_version"):
            raise ConfigError(f"{path}: azure profile {name!r} needs api_version (e.g. \"2024-10-21\")")
    default = data.get("default_profile")
    if default is not None and default not in profiles and default not in BUILTIN_PROFILES:
        raise ConfigError(f"{path}: default_profile {default!r} is not a defined profile")
    models = data.get("models", {})
    for model_id, entry in models.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: [models] {_key(model_id)} must be a table of settings"
                              f" ({', '.join(OVERRIDE_FIELDS)}), not {_show(entry)}")
        check.table(entry, _table("models", model_id), _MODEL)
    titles = data.get("titles")
    if titles is not None:
        check.table(titles, "titles", _TITLES)
    images = data.get("images")
    if images is not None:
        check.table(images, "images", _IMAGES)
    tools = data.get("tools")
    if tools is not None:
        check.table(tools, "tools", _TOOLS)
    mcp_servers = _mcp_servers(data.get("mcp"), check)
    return Config(
        profiles=profiles,
        default_profile=default,
        models=models,
        keys=data.get("keys", {}),
        theme=data.get("theme"),
        palette=PALETTE_SPELLINGS.get(data.get("palette", "default"), "default"),
        titles=TitleSettings(
            enabled=titles.get("enabled", True), local=titles.get("local", False),
            model=titles["model"].strip() if titles.get("model") else None,
        ) if titles else TitleSettings(),
        image_protocol=(images or {}).get("protocol", "auto"),
        copy_on_select=data.get("copy_on_select", True),
        thinking=data.get("thinking", "auto"),
        max_tool_rounds=(tools or {}).get("max_rounds", 10),
        mcp_servers=mcp_servers,
        path=path,
        raw=data,
        warnings=tuple(check.warnings),
    )


def _valid_tool_name(name: str) -> bool:
    from chat_tui.core.tool_calls import valid_tool_name

    return valid_tool_name(name)


def _mcp_servers(mcp: Any, check: _Checker) -> dict[str, MCPServerConfig]:
    if mcp is None:
        return {}
    check.table(mcp, "mcp", _MCP)
    from chat_tui.core.mcp_config import MCPConfigError, parse_servers

    try:
        servers, warnings = parse_servers(mcp.get("servers", {}))
    except MCPConfigError as exc:
        raise ConfigError(f"{check.path}: {exc}") from None
    check.warnings += [f"{check.path}: {w}" for w in warnings]
    return servers


# -- checking the file ---------------------------------------------------------------------

_Spec = dict[str, tuple[str, Callable[[Any], bool]]]  # key -> (what it must be, test)


def _is(*kinds: type) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, kinds) and not (isinstance(v, bool) and bool not in kinds)


def _number(whole: bool) -> Callable[[Any], bool]:
    def ok(v: Any) -> bool:
        good = _is(int, float)(v) and math.isfinite(v) and v >= 0
        return good and (not whole or float(v).is_integer())
    return ok


_STR, _BOOL, _TABLE = _is(str), _is(bool), _is(dict)
PALETTES = ("default", "colour-blind")
PALETTE_SPELLINGS = {"default": "default", "colour-blind": "colour-blind", "color-blind": "colour-blind"}
_TOP: _Spec = {
    "default_profile": ("a profile name (a string)", _STR),
    "theme": ("a theme name (a string)", _STR),
    "palette": ('"default" or "colour-blind"', lambda v: isinstance(v, str) and v in PALETTE_SPELLINGS),
    "profiles": ("a table of [profiles.NAME] tables", _TABLE),
    "models": ('a table of [models."ID"] tables', _TABLE),
    "keys": ("a table of binding ids and keys", _TABLE),
    "titles": ("a table (enabled, local, model)", _TABLE),
    "images": ("a table (protocol)", _TABLE),
    "copy_on_select": ("true or false", _BOOL),
    "thinking": ('one of "auto", "open", "closed"', lambda v: v in THINKING_MODES),
    "tools": ("a table (max_rounds)", _TABLE),
    "mcp": ("a table of [mcp.servers.NAME] tables", _TABLE),
}
_MCP: _Spec = {"servers": ("a table of [mcp.servers.NAME] tables", _TABLE)}
_PROFILE: _Spec = {
    "type": (f"one of {', '.join(PROFILE_TYPES)}", lambda v: v in PROFILE_TYPES),
    "base_url": ("a URL (a string)", _STR),
    "api_key_env": ("the name of an environment variable (a string)", _STR),
    "model": ("a model id (a string)", _STR),
    "headers": ("a table of header names and values", _TABLE),
    "api_version": ('a date string (e.g. "2024-10-21")', _STR),
    "gguf": ("a file path (a string)", _STR),
    "sdk_headers": ("true or false", _BOOL),
    "moderate": ("true or false", _BOOL),
    "moderation_model": ("a model id (a non-empty string)", lambda v: isinstance(v, str) and bool(v.strip())),
    "transcription_model": ("a model id (a non-empty string)", lambda v: isinstance(v, str) and bool(v.strip())),
    "transcription_language": ('a two-letter ISO-639-1 code (e.g. "en")',
                               lambda v: isinstance(v, str) and re.fullmatch(r"[a-z]{2}", v) is not None),
    "embeddings": ("true or false", _BOOL),
    "embedding_model": ("a model id (a non-empty string)", lambda v: isinstance(v, str) and bool(v.strip())),
    "embedding_dimensions": ("a whole number > 0", lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0),
    "trust": ("a list of tool names (letters, digits, _ and -)",
              lambda v: isinstance(v, list) and all(isinstance(n, str) and _valid_tool_name(n) for n in v)),
    **{key: ("a number of seconds > 0", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0)
       for key in TIMEOUT_KEYS},
}
_MODEL: _Spec = {
    name: ("a whole number >= 0", _number(True)) if name in WHOLE_FIELDS else ("a number >= 0", _number(False))
    for name in OVERRIDE_FIELDS
}
_TITLES: _Spec = {
    "enabled": ("true or false", _BOOL),
    "local": ("true or false", _BOOL),
    "model": ("a model id (a non-empty string)", lambda v: isinstance(v, str) and bool(v.strip())),
}
_TOOLS: _Spec = {
    "max_rounds": ("a whole number from 1 to 100",
                   lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 100),
}
IMAGE_PROTOCOLS = ("auto", "kitty", "sixel", "halfcell")
_IMAGES: _Spec = {
    "protocol": (f"one of {', '.join(IMAGE_PROTOCOLS)}", lambda v: v in IMAGE_PROTOCOLS),
}
_UNSHOWN = {"headers"}  # may hold credentials (Authorization): a wrong value is not quoted
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


def _key(name: str) -> str:
    """A key as it would be written in TOML."""
    return name if _BARE_KEY.match(name) else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _table(*names: str) -> str:
    return ".".join(_key(n) for n in names)


def _show(value: Any, reveal: bool = True) -> str:
    """A value as TOML would write it (short), for messages; only its kind if not ``reveal``."""
    if not reveal:
        kinds = {bool: "true or false", str: "a string", int: "a number", float: "a number"}
        return kinds.get(type(value), "a table" if isinstance(value, dict) else "a list"
                         if isinstance(value, list) else "a date or time")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        value = value if len(value) <= 40 else value[:40] + "…"
        return '"' + value.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
    return str(value)


class _Checker:
    """Checks tables against their spec: a wrong type raises, an unknown key is noted."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.warnings: list[str] = []

    def table(self, value: Any, where: str, spec: _Spec) -> None:
        if not isinstance(value, dict):
            raise ConfigError(f"{self.path}: [{where}] must be a table, not {_show(value)}")
        for key, item in value.items():
            if key not in spec:
                self.warnings.append(self._unknown(key, where, spec))
                continue
            what, ok = spec[key]
            if not ok(item):
                at = f"[{where}] {_key(key)}" if where else f"[{_key(key)}]" if ok is _TABLE else _key(key)
                shown = _show(item, reveal=key not in _UNSHOWN)
                raise ConfigError(f"{self.path}: {at} must be {what}, not {shown}")

    def _unknown(self, key: str, where: str, spec: _Spec) -> str:
        table = f"in [{where}]" if where else "at the top level"
        import difflib  # only for a misspelt key

        close = difflib.get_close_matches(key, list(spec), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(spec)}"
        return f"{self.path}: unknown key {key!r} {table} is ignored; {hint}"


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def _env(env: Mapping[str, str], name: str) -> str | None:
    """A variable's value trimmed of white space at either end; None if unset or blank."""
    return (env.get(name) or "").strip() or None


def _sdk_headers(env: Mapping[str, str]) -> dict[str, str]:
    headers = {}
    for var, header in (("OPENAI_ORG_ID", "OpenAI-Organization"), ("OPENAI_PROJECT_ID", "OpenAI-Project")):
        if value := _env(env, var):
            if problem := header_value_problem(value):
                raise ConfigError(f"{var} has {problem}, which the {header} header cannot carry"
                                  " (the value is not shown)")
            headers[header] = value
    return headers


def profile_names(config: Config) -> list[str]:
    names = list(BUILTIN_PROFILES)
    names += [n for n in config.profiles if n not in names]
    return names


def build_endpoint(name: str, config: Config, env: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint of a named profile (built-in `openai` and `local`, or from the config)."""
    env = os.environ if env is None else env
    prof = dict(config.profiles.get(name, {}))
    if not prof and name not in BUILTIN_PROFILES:
        known = ", ".join(profile_names(config))
        raise ConfigError(f"unknown profile {name!r} (known: {known})")
    ptype = prof.get("type", "local" if name == "local" else "openai")
    timeouts = Timeouts(**{field_: float(prof[key]) for key, field_ in TIMEOUT_KEYS.items() if key in prof})
    extras = {k: prof[k] for k in ("moderate", "moderation_model", "transcription_model", "transcription_language") if k in prof}
    if "trust" in prof:
        extras["trust"] = tuple(prof["trust"])
    if ptype == "local":
        return Endpoint(
            name=name,
            type="local",
            base_url="",  # filled in once the server has started
            default_model=prof.get("model"),
            gguf=prof.get("gguf"),
            timeouts=timeouts,
            **extras,
            embeddings=prof.get("embeddings", True),
            embedding_model=prof.get("embedding_model"),  # None: the served GGUF itself
            embedding_dimensions=prof.get("embedding_dimensions"),
        )
    # A custom profile gets a key only from the variable it names: the OpenAI key is never sent
    # to some other server by accident.
    default_env = {"azure": "AZURE_OPENAI_API_KEY"}.get(ptype, "OPENAI_API_KEY" if name == "openai" else None)
    key_env = prof.get("api_key_env") or default_env
    headers = dict(prof.get("headers", {}))
    if name == "openai" or prof.get("sdk_headers", ptype == "openai"):
        headers = {**_sdk_headers(env), **headers}
    base = prof.get("base_url") or (env.get("OPENAI_BASE_URL") if name == "openai" else None) or OPENAI_BASE_URL
    return Endpoint(
        name=name,
        type=ptype,
        base_url=base.rstrip("/"),
        api_key=_env(env, key_env) if key_env else None,
        api_key_env=key_env,
        default_model=prof.get("model") or (env.get("OPENAI_MODEL") if name == "openai" else None),
        headers=headers,
        api_version=prof.get("api_version"),
        timeouts=timeouts,
        **extras,
        embeddings=prof.get("embeddings", False),
        embedding_model=prof.get("embedding_model") or DEFAULT_EMBEDDING_MODEL,
        embedding_dimensions=prof.get("embedding_dimensions"),
    )


def resolve_endpoint(
    config: Config,
    *,
    profile: str | None = None,
    base_url: str | None = None,
    gguf: str | None = None,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
) -> Endpoint:
    """Pick the endpoint the way the OpenAI SDK users expect, with `local` as the offline default.

    Order: `--profile`; then `--base-url` / `OPENAI_BASE_URL` (with `OPENAI_API_KEY`); then the
    config's `default_profile`; then `openai` if `OPENAI_API_KEY` is set; then the first configured
    profile; else the built-in `local` llama.cpp server, which needs no network.
    """
    env = os.environ if env is None else env
    if gguf and not profile:
        profile = "local"
    if profile:
        ep = build_endpoint(profile, config, env)
        if base_url:
            if ep.type == "local":
                raise ConfigError("--base-url cannot be combined with the local profile")
            ep = _replace(ep, base_url=base_url.rstrip("/"))
    elif base_url or env.get("OPENAI_BASE_URL"):
        url = (base_url or env["OPENAI_BASE_URL"]).rstrip("/")
        ep = _replace(build_endpoint("openai", config, env), base_url=url)
        if base_url:
            ep = _replace(ep, name=_name_for_url(url))
    elif config.default_profile:
        ep = build_endpoint(config.default_profile, config, env)
    elif _env(env, "OPENAI_API_KEY"):
        ep = build_endpoint("openai", config, env)
    elif config.profiles:
        ep = build_endpoint(next(iter(config.profiles)), config, env)
    else:
        ep = build_endpoint("local", config, env)
    if gguf:
        if ep.type != "local":
            raise ConfigError("--gguf only applies to the local profile")
        ep = _replace(ep, gguf=gguf)
    if ep.type != "local" and not ep.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"base URL must start with http:// or https://, got {ep.base_url!r}")
    if timeout is not None:
        if not timeout > 0:
            raise ConfigError(f"--timeout must be a number of seconds above 0, not {timeout:g}")
        ep = _replace(ep, timeouts=_replace(ep.timeouts, first_byte=timeout, response=timeout, idle=timeout))
    return ep


def _name_for_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.netloc or url


def _replace(ep: Endpoint, **changes: Any) -> Endpoint:
    from dataclasses import replace

    return replace(ep, **changes)
