"""The ``[fetch]`` limits and a preset's ``ip_adapter`` table, from TOML and the environment."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from imagine_bot.config import SettingsError, load_settings
from imagine_bot.config.settings import SDXL_STYLE_BLOCKS


def test_fetch_defaults_allow_only_discords_cdn() -> None:
    fetch = load_settings(env={}).fetch
    assert fetch.allowed_hosts == ("cdn.discordapp.com", "media.discordapp.net")
    assert fetch.max_bytes == 25 * 1024 * 1024 and fetch.max_pixels == 40_000_000
    assert (fetch.connect_timeout, fetch.read_timeout, fetch.total_timeout) == (5.0, 10.0, 30.0)


def test_default_toml_documents_every_fetch_key() -> None:
    path = Path(__file__).resolve().parents[2] / "imagine_bot" / "config" / "default.toml"
    documented = tomllib.loads(path.read_text())["fetch"]
    assert set(documented) == set(type(load_settings(env={}).fetch).model_fields)


def test_hosts_are_normalised_and_must_be_host_names() -> None:
    env = {"IMAGINE_FETCH__ALLOWED_HOSTS": '["Images.Example.COM.", "*.cdn.example"]'}
    assert load_settings(env=env).fetch.allowed_hosts == ("images.example.com", "*.cdn.example")
    for bad in ('["https://evil.example/"]', '["user@host"]', '["host:8443"]', '[""]'):
        with pytest.raises(
            SettingsError, match=r"IMAGINE_FETCH__ALLOWED_HOSTS: fetch\.allowed_hosts"
        ):
            load_settings(env={"IMAGINE_FETCH__ALLOWED_HOSTS": bad})


def test_a_preset_has_no_adapter_unless_configured(tmp_path: Path) -> None:
    assert load_settings(env={}).models["tiny"].ip_adapter is None
    config = tmp_path / "imagine.toml"
    config.write_text(
        '[models.tiny.ip_adapter]\nsource = "h94/IP-Adapter"\nsubfolder = "models"\n'
        'weight_name = "ip-adapter_sd15.safetensors"\n'
        "subject_blocks = { down = { block_2 = [0.0, 1.0] } }\n"
    )
    adapter = load_settings(config, env={}).models["tiny"].ip_adapter
    assert adapter is not None and adapter.weight_name == "ip-adapter_sd15.safetensors"
    assert adapter.style_blocks == SDXL_STYLE_BLOCKS
    assert adapter.subject_blocks == {"down": {"block_2": [0.0, 1.0]}}
    assert (adapter.image_scale, adapter.style_scale, adapter.subject_scale) == (0.5, 1.0, 0.8)


def test_an_adapter_without_weights_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "imagine.toml"
    config.write_text('[models.tiny.ip_adapter]\nsource = "somewhere"\n')
    with pytest.raises(
        SettingsError, match=r"models\.tiny\.ip_adapter\.weight_name: Field required"
    ):
        load_settings(config, env={})
