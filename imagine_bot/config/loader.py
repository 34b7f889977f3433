"""Read settings: the packaged ``default.toml``, the admin's file, then ``IMAGINE_*`` variables.

Each layer is merged key by key over the one before it. When validation fails, the error names
the dotted key and the layer (file or variable) that set it, so an admin knows what to fix.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from imagine_bot.config.section import InvalidReference
from imagine_bot.config.settings import Settings
from imagine_bot.config.web import SECRET_ENV as WEB_SECRET_ENV

ENV_PREFIX = "IMAGINE_"
CONFIG_ENV = "IMAGINE_CONFIG"
NOT_SETTINGS = frozenset({CONFIG_ENV, WEB_SECRET_ENV})
"""``IMAGINE_*`` variables read on their own, not as setting overrides."""
DEFAULTS_LABEL = "default.toml (built in)"
# Secrets never live in a file that may be committed or shared: they come from the environment.
SECRET_KEYS = frozenset({"token", "discord_token", "secret", "password"})


class SettingsError(Exception):
    """Settings that cannot be used; the message names the key and where it was set."""


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    merged, sources = _layers(path, env)
    for keys, source in sources.items():
        if keys[-1] in SECRET_KEYS:
            raise SettingsError(
                f"{source}: {'.'.join(keys)}: secrets are read only from the environment "
                "(DISCORD_TOKEN); remove this key"
            )
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, sources)) from None


def effective_settings(
    path: Path | None = None, env: Mapping[str, str] | None = None
) -> list[tuple[str, Any, str]]:
    """Every setting as the bot uses it: (dotted key, value, the layer that set it: the file,
    an ``IMAGINE_*`` variable or the built-in defaults), for ``imagine-bot config``."""
    settings = load_settings(path, env)
    sources = _layers(path, env)[1]
    found: list[tuple[str, Any, str]] = []

    def walk(value: Any, keys: tuple[str, ...]) -> None:
        if isinstance(value, dict) and value:
            for key, inner in value.items():
                walk(inner, (*keys, str(key)))
        else:
            found.append((".".join(keys), value, _source_of(keys, sources)))

    walk(settings.model_dump(mode="json"), ())
    return found


def _layers(
    path: Path | None, env: Mapping[str, str] | None
) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """The merged layers, and the layer that set each leaf key."""
    env = os.environ if env is None else env
    if path is None and env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
    merged: dict[str, Any] = {}
    sources: dict[tuple[str, ...], str] = {}
    _merge(merged, _read_defaults(), (), DEFAULTS_LABEL, sources)
    if path is not None:
        _merge(merged, _read_toml(path), (), str(path), sources)
    for name, value in sorted(env.items()):
        if name.startswith(ENV_PREFIX) and name not in NOT_SETTINGS:
            keys = tuple(name[len(ENV_PREFIX) :].lower().split("__"))
            _merge(merged, _nest(keys, _parse_env_value(value)), (), name, sources)
    return merged, sources


def _read_defaults() -> dict[str, Any]:
    text = resources.files("imagine_bot.config").joinpath("default.toml").read_text("utf-8")
    return tomllib.loads(text)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise SettingsError(f"{path}: settings file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None


def _parse_env_value(value: str) -> Any:
    """``IMAGINE_ENGINE__DEVICE=cuda`` is a string; ``=4``, ``=true`` and ``=["a"]`` are TOML."""
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def _nest(keys: tuple[str, ...], value: Any) -> dict[str, Any]:
    nested: dict[str, Any] = {keys[-1]: value}
    for key in reversed(keys[:-1]):
        nested = {key: nested}
    return nested


def _merge(
    target: dict[str, Any],
    layer: Mapping[str, Any],
    prefix: tuple[str, ...],
    source: str,
    sources: dict[tuple[str, ...], str],
) -> None:
    for key, value in layer.items():
        keys = (*prefix, key)
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value, keys, source, sources)
            continue
        target[key] = dict(value) if isinstance(value, Mapping) else value
        for known in [k for k in sources if k[: len(keys)] == keys]:
            del sources[known]
        _record_leaves(value, keys, source, sources)


def _record_leaves(
    value: Any, keys: tuple[str, ...], source: str, sources: dict[tuple[str, ...], str]
) -> None:
    if isinstance(value, Mapping) and value:
        for key, inner in value.items():
            _record_leaves(inner, (*keys, key), source, sources)
    else:
        sources[keys] = source


def _describe(exc: ValidationError, sources: Mapping[tuple[str, ...], str]) -> str:
    lines = []
    for error in exc.errors():
        keys = tuple(str(part) for part in error["loc"])
        message = error["msg"]
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, InvalidReference):
            keys, message = tuple(cause.key.split(".")), cause.message
        lines.append(f"{_source_of(keys, sources)}: {'.'.join(keys)}: {message}")
    return "invalid settings:\n  " + "\n  ".join(lines)


def _source_of(keys: tuple[str, ...], sources: Mapping[tuple[str, ...], str]) -> str:
    """The layer that set this key, or the one that set the closest key around or under it."""
    for end in range(len(keys), 0, -1):
        if keys[:end] in sources:
            return sources[keys[:end]]
    below = sorted({source for known, source in sources.items() if known[: len(keys)] == keys})
    return " / ".join(below) if below else DEFAULTS_LABEL
