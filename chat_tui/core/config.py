"""Configuration: the TOML file, named endpoint profiles and how the active endpoint is chosen.

Example `config.toml` (in the config dir, see `paths.py`)::

    default_profile = "ollama"

    [profiles.ollama]
    base_url = "http://localhost:11434/v1"
    model = "llama3.2"

    [profiles.work]
    base_url = "https://api.openai.com/v1"
    api_key_env = "WORK_OPENAI_KEY"          # the variable to read, never the key itself
    model = "gpt-4o-mini"
    headers = { "OpenAI-Organization" = "org-123" }

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

    [titles]                                   # auto-titles from the first exchange
    enabled = true                             # default true
    local = false                              # also for local endpoints (default false)
    model = "gpt-4o-mini"                      # default: the conversation's model
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

OPENAI_BASE_URL = "https://api.openai.com/v1"
PROFILE_TYPES = ("openai", "azure", "local")
BUILTIN_PROFILES = ("openai", "local")


class ConfigError(ValueError):
    """The config file or a flag is wrong; the message says where and how."""


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


TITLE_KEYS = ("enabled", "local", "model")


def _title_settings(raw: Any, path: Path) -> TitleSettings:
    if raw is None:
        return TitleSettings()
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [titles] must be a table (enabled, local, model)")
    unknown = sorted(set(raw) - set(TITLE_KEYS))
    if unknown:
        raise ConfigError(f"{path}: [titles]: unknown key {unknown[0]!r} (known: {', '.join(TITLE_KEYS)})")
    for key in ("enabled", "local"):
        if key in raw and not isinstance(raw[key], bool):
            raise ConfigError(f"{path}: [titles] {key} must be true or false, not {raw[key]!r}")
    model = raw.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise ConfigError(f"{path}: [titles] model must be a model id (a non-empty string), not {model!r}")
    return TitleSettings(
        enabled=raw.get("enabled", True), local=raw.get("local", False), model=model.strip() if model else None
    )


@dataclass(frozen=True)
class Config:
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    default_profile: str | None = None
    models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    keys: Mapping[str, str] = field(default_factory=dict)
    theme: str | None = None
    titles: TitleSettings = field(default_factory=TitleSettings)
    path: Path | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


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
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or any(not isinstance(v, dict) for v in profiles.values()):
        raise ConfigError(f"{path}: [profiles.NAME] must be tables")
    for name, prof in profiles.items():
        ptype = prof.get("type", "openai")
        if ptype not in PROFILE_TYPES:
            raise ConfigError(f"{path}: profile {name!r}: type must be one of {', '.join(PROFILE_TYPES)}, not {ptype!r}")
        if ptype != "local" and not prof.get("base_url") and name not in BUILTIN_PROFILES:
            raise ConfigError(f"{path}: profile {name!r} needs base_url")
        if ptype == "azure" and not prof.get("api_version"):
            raise ConfigError(f"{path}: azure profile {name!r} needs api_version (e.g. \"2024-10-21\")")
        if "api_key" in prof:
            raise ConfigError(
                f"{path}: profile {name!r}: put the key in an environment variable and name it with api_key_env"
            )
        headers = prof.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise ConfigError(f"{path}: profile {name!r}: headers must be a table of strings")
    default = data.get("default_profile")
    if default is not None and default not in profiles and default not in BUILTIN_PROFILES:
        raise ConfigError(f"{path}: default_profile {default!r} is not a defined profile")
    models = data.get("models", {})
    keys = data.get("keys", {})
    titles = _title_settings(data.get("titles"), path)
    return Config(
        profiles=profiles,
        default_profile=default,
        models=models if isinstance(models, dict) else {},
        keys=keys if isinstance(keys, dict) else {},
        theme=data.get("theme"),
        titles=titles,
        path=path,
        raw=data,
    )


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def _sdk_headers(env: Mapping[str, str]) -> dict[str, str]:
    headers = {}
    if env.get("OPENAI_ORG_ID"):
        headers["OpenAI-Organization"] = env["OPENAI_ORG_ID"]
    if env.get("OPENAI_PROJECT_ID"):
        headers["OpenAI-Project"] = env["OPENAI_PROJECT_ID"]
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
    if ptype == "local":
        return Endpoint(
            name=name,
            type="local",
            base_url="",  # filled in once the server has started
            default_model=prof.get("model"),
            gguf=prof.get("gguf"),
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
        api_key=(env.get(key_env) if key_env else None) or None,
        api_key_env=key_env,
        default_model=prof.get("model") or (env.get("OPENAI_MODEL") if name == "openai" else None),
        headers=headers,
        api_version=prof.get("api_version"),
    )


def resolve_endpoint(
    config: Config,
    *,
    profile: str | None = None,
    base_url: str | None = None,
    gguf: str | None = None,
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
    elif env.get("OPENAI_API_KEY"):
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
    return ep


def _name_for_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.netloc or url


def _replace(ep: Endpoint, **changes: Any) -> Endpoint:
    from dataclasses import replace

    return replace(ep, **changes)
