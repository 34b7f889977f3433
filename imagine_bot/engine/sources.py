"""Checks that every model preset's and LoRA's weights can be found, before a member asks for
them: ``imagine-bot check`` and the bot's start-up.

Offline by design (no hub request): a local path must exist and look like what it should be
(a diffusers folder has ``model_index.json``; a single file is a readable ``.safetensors`` or a
``.ckpt``); a Hugging Face id is either in the local hub cache or noted as a download on first
use. Each finding names the setting and the path, the words an admin edits by.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import constants, try_to_load_from_cache
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils._validators import validate_repo_id

from imagine_bot.config import Settings

BUILTIN_PREFIX = "builtin:"
SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")
DIFFUSERS_INDEX = "model_index.json"
LORA_DEFAULT_FILE = "pytorch_lora_weights.safetensors"
"""What diffusers' ``load_lora_weights`` reads from a folder or repo when no weight_name is set."""


@dataclass(frozen=True)
class Finding:
    key: str
    """The dotted setting, e.g. ``models.sdxl.source``."""
    source: str
    message: str
    broken: bool
    """True: it cannot load. False: a note (a download on first use)."""

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def check_sources(settings: Settings) -> list[Finding]:
    """Every model, single-file config, IP-Adapter and LoRA source; broken ones first."""
    findings = [finding for finding in _all(settings) if finding is not None]
    return sorted(findings, key=lambda finding: not finding.broken)


def _all(settings: Settings) -> Iterator[Finding | None]:
    for name, preset in settings.models.items():
        key = f"models.{name}"
        yield _model(f"{key}.source", preset.source)
        if preset.config is not None:
            yield _model(f"{key}.config", preset.config, single_file_allowed=False)
        if preset.ip_adapter is not None:
            adapter = preset.ip_adapter
            inside = f"{adapter.subfolder}/{adapter.weight_name}".lstrip("/")
            yield _weights(f"{key}.ip_adapter.source", adapter.source, inside)
    for name, lora in settings.loras.items():
        yield _weights(f"loras.{name}.source", lora.source, lora.weight_name or LORA_DEFAULT_FILE)


def _model(key: str, source: str, *, single_file_allowed: bool = True) -> Finding | None:
    if source.startswith(BUILTIN_PREFIX):
        return None
    path = Path(source).expanduser()
    if path.is_dir():
        if (path / DIFFUSERS_INDEX).is_file():
            return None
        return Finding(
            key,
            source,
            f"the folder {path} has no {DIFFUSERS_INDEX}, so it is not a diffusers "
            "model folder (point at the folder that holds it, or at a .safetensors file)",
            True,
        )
    if single_file_allowed and source.lower().endswith(SINGLE_FILE_SUFFIXES):
        return _single_file(key, source, path)
    return _hub(key, source, DIFFUSERS_INDEX)


def _weights(key: str, source: str, file_inside: str) -> Finding | None:
    """A weights file, or a folder or hub repo holding ``file_inside``."""
    path = Path(source).expanduser()
    if path.is_dir():
        if (path / file_inside).is_file():
            return None
        return Finding(key, source, f"the folder {path} has no {file_inside}", True)
    if source.lower().endswith(SINGLE_FILE_SUFFIXES):
        return _single_file(key, source, path)
    return _hub(key, source, file_inside)


def _single_file(key: str, source: str, path: Path) -> Finding | None:
    if not path.is_file():
        return Finding(key, source, f"the file {path} does not exist", True)
    if path.suffix.lower() == ".safetensors" and not _safetensors_header(path):
        return Finding(
            key, source, f"the file {path} is not a readable .safetensors file (cut short?)", True
        )
    return None


def _safetensors_header(path: Path) -> bool:
    """The format's first 8 bytes give the length of a JSON header that follows."""
    try:
        with path.open("rb") as file:
            (length,) = struct.unpack("<Q", file.read(8))
            if length > path.stat().st_size - 8:
                return False
            return isinstance(json.loads(file.read(length)), dict)
    except (OSError, struct.error, ValueError):
        return False


def _hub(key: str, source: str, filename: str) -> Finding | None:
    try:
        validate_repo_id(source)
    except HFValidationError:
        return Finding(key, source, f"the path {source} does not exist", True)
    if "/" not in source:
        return Finding(
            key,
            source,
            f"{source} is neither a path on this machine (none exists) nor a "
            "Hugging Face id (owner/name)",
            True,
        )
    if isinstance(try_to_load_from_cache(source, filename), str):
        return None
    if constants.HF_HUB_OFFLINE:
        return Finding(
            key,
            source,
            f"{source} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) "
            "and HF_HUB_OFFLINE is set, so it cannot be downloaded",
            True,
        )
    return Finding(
        key,
        source,
        f"{source} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}): "
        "it downloads on first use (can be several GB); if it is meant as a folder on this "
        "machine, that folder does not exist",
        False,
    )
