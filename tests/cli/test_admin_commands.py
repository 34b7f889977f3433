"""The commands an admin runs around an upgrade or a settings edit: --version, config, check."""

from __future__ import annotations

from pathlib import Path

import pytest

import imagine_bot
from imagine_bot.cli.main import main
from imagine_bot.config import load_settings


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"imagine-bot {imagine_bot.__version__}"


def test_config_says_where_each_value_came_from(
    test_env_exported: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings_file = tmp_path / "imagine.toml"
    settings_file.write_text('[web]\nlisten = "127.0.0.1:9000"\n[engine]\nthreads = 2\n')
    # As in the Docker image: its environment overrides the file.
    monkeypatch.setenv("IMAGINE_WEB__LISTEN", "0.0.0.0:8765")
    assert main(["--config", str(settings_file), "config"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert 'web.listen = "0.0.0.0:8765"  # IMAGINE_WEB__LISTEN' in lines
    assert f"engine.threads = 2  # {settings_file}" in lines
    assert 'engine.device = "auto"  # default.toml (built in)' in lines
    assert "models.tiny.steps = 4  # IMAGINE_MODELS__TINY__STEPS" in lines


def test_check_names_the_setting_and_the_path_and_exits_1(
    test_env_exported: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("IMAGINE_MODELS__SDXL__SOURCE", str(tmp_path / "sdxl"))
    monkeypatch.setenv("IMAGINE_WEB__LISTEN", "0.0.0.0:8765")
    assert main(["check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"error: models.sdxl.source: the path {tmp_path / 'sdxl'} does not exist"
    assert any(line.startswith("note: web.listen is 0.0.0.0:8765") for line in out)
    # Every preset is checked: the built-in tiny ones and the one set above.
    assert out[-1] == f"1 problem in {len(load_settings().models)} model and LoRA presets"


def test_check_passes_on_working_settings(
    test_env_exported: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == 0
    checked = len(load_settings().models)
    assert capsys.readouterr().out == f"0 problems in {checked} model and LoRA presets\n"
