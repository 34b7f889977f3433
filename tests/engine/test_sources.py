"""Model and LoRA sources checked offline: what exists, what looks like a model, what is in the
Hugging Face cache, and messages that name the setting and the path."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from huggingface_hub import constants

from imagine_bot.config import load_settings
from imagine_bot.engine.sources import Finding, check_sources


def safetensors_file(path: Path, *, cut: bool = False) -> Path:
    header = json.dumps({"__metadata__": {}}).encode()
    data = struct.pack("<Q", len(header) + (100 if cut else 0)) + header
    path.write_bytes(data)
    return path


def cached_repo(cache: Path, repo_id: str, filename: str) -> None:
    """The hub cache's layout, as huggingface_hub writes it after a download."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / filename).write_text("{}")


def findings(test_env: dict[str, str], **settings: str) -> dict[str, Finding]:
    env = {**test_env, **{f"IMAGINE_{key.upper()}": value for key, value in settings.items()}}
    return {finding.key: finding for finding in check_sources(load_settings(env=env))}


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return cache


def test_the_built_in_settings_are_clean(test_env: dict[str, str]) -> None:
    assert findings(test_env) == {}


def test_local_models_must_exist_and_look_like_models(
    test_env: dict[str, str], tmp_path: Path, hub_cache: Path
) -> None:
    good = tmp_path / "good"
    good.mkdir()
    (good / "model_index.json").write_text("{}")
    empty = tmp_path / "empty"
    empty.mkdir()
    found = findings(
        test_env,
        models__good__source=str(good),
        models__empty__source=str(empty),
        models__gone__source=str(tmp_path / "gone"),
        models__file__source=str(safetensors_file(tmp_path / "ok.safetensors")),
        models__cut__source=str(safetensors_file(tmp_path / "cut.safetensors", cut=True)),
        models__nofile__source=str(tmp_path / "missing.safetensors"),
    )
    assert set(found) == {
        "models.empty.source",
        "models.gone.source",
        "models.cut.source",
        "models.nofile.source",
    }
    assert all(finding.broken for finding in found.values())
    assert str(found["models.empty.source"]) == (
        f"models.empty.source: the folder {empty} has no model_index.json, so it is not a "
        "diffusers model folder (point at the folder that holds it, or at a .safetensors file)"
    )
    assert str(found["models.gone.source"]) == (
        f"models.gone.source: the path {tmp_path / 'gone'} does not exist"
    )
    assert "is not a readable .safetensors file" in found["models.cut.source"].message
    assert found["models.nofile.source"].message == (
        f"the file {tmp_path / 'missing.safetensors'} does not exist"
    )


def test_hub_ids_in_the_cache_pass_and_others_download_on_first_use(
    test_env: dict[str, str], hub_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_repo(hub_cache, "acme/cached-model", "model_index.json")
    cached_repo(hub_cache, "acme/cached-lora", "style.safetensors")
    settings = {
        "models__cached__source": "acme/cached-model",
        "models__later__source": "acme/not-downloaded",
        "loras__style__source": "acme/cached-lora",
        "loras__style__weight_name": "style.safetensors",
        "loras__style__family": "tiny",
        "loras__other__source": "acme/cached-lora",  # no weight_name: diffusers' default file
        "loras__other__family": "tiny",
    }
    found = findings(test_env, **settings)
    assert set(found) == {"models.later.source", "loras.other.source"}
    later = found["models.later.source"]
    assert not later.broken and "downloads on first use" in later.message
    assert str(hub_cache) in later.message

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    offline = findings(test_env, **settings)["models.later.source"]
    assert offline.broken and "HF_HUB_OFFLINE is set" in offline.message


def test_lora_files_and_folders(test_env: dict[str, str], tmp_path: Path, hub_cache: Path) -> None:
    folder = tmp_path / "loras"
    folder.mkdir()
    safetensors_file(folder / "pytorch_lora_weights.safetensors")
    found = findings(
        test_env,
        loras__folder__source=str(folder),
        loras__folder__family="tiny",
        loras__named__source=str(folder),
        loras__named__weight_name="other.safetensors",
        loras__named__family="tiny",
        loras__gone__source=str(tmp_path / "gone.safetensors"),
        loras__gone__family="tiny",
    )
    assert {key: f.broken for key, f in found.items()} == {
        "loras.named.source": True,
        "loras.gone.source": True,
    }
    assert found["loras.named.source"].message == f"the folder {folder} has no other.safetensors"
