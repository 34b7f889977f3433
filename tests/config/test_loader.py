"""Settings: defaults, the admin's file, environment overrides, and errors that say where."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagine_bot.config import SettingsError, load_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_the_defaults_alone_give_the_tiny_preset() -> None:
    settings = load_settings(env={})
    assert settings.default_model == "tiny"
    assert settings.models["tiny"].source == "builtin:tiny"


def test_the_file_overrides_the_defaults_key_by_key(tmp_path: Path) -> None:
    path = write(tmp_path / "imagine.toml", "[models.tiny]\nsteps = 3\n")
    settings = load_settings(path, env={})
    assert settings.models["tiny"].steps == 3
    assert settings.models["tiny"].source == "builtin:tiny"


def test_imagine_config_points_at_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "imagine.toml", 'default_model = "big"\n[models.big]\nsource = "x/y"\n')
    assert load_settings(env={"IMAGINE_CONFIG": str(path)}).default_model == "big"


def test_environment_overrides_win_and_parse_as_toml(tmp_path: Path) -> None:
    path = write(tmp_path / "imagine.toml", '[engine]\ndevice = "cuda"\n')
    settings = load_settings(
        path,
        env={
            "IMAGINE_ENGINE__DEVICE": "cpu",
            "IMAGINE_MODELS__TINY__STEPS": "5",
            "IMAGINE_PLUGINS__BLOCKED": '["a", "b"]',
            "IMAGINE_MODELS__TINY__VERSIONS": '["7"]',
        },
    )
    assert settings.engine.device == "cpu"
    assert settings.models["tiny"].steps == 5
    assert settings.plugins.blocked == ("a", "b")
    assert settings.models["tiny"].versions == ("7",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[models.tiny]\nsteps = 0\n", "imagine.toml: models.tiny.steps: Input should be greater"),
        (
            "[models.tiny]\nresolution = 100\n",
            "imagine.toml: models.tiny.resolution: Input should be a multiple of 64",
        ),
        (
            "[engine]\ndevise = 'cpu'\n",
            "imagine.toml: engine.devise: Extra inputs are not permitted",
        ),
        (
            'default_model = "nope"\n',
            "imagine.toml: default_model: 'nope' is not a [models.*] preset (tiny, tiny-flux, "
            "tiny-flux-draft, tiny-flux-kontext, tiny-flux2, tiny-qwen-image, tiny-sd3, "
            "tiny-zimage)",
        ),
        ("[models.tiny]\ndraft_model = 'x'\n", "imagine.toml: models.tiny.draft_model: 'x' is not"),
        ("[models.tiny]\nedit_model = 'x'\n", "imagine.toml: models.tiny.edit_model: 'x' is not"),
        (
            "[models.tiny]\nedit_model = 'tiny-sd3'\n",
            "imagine.toml: models.tiny.edit_model: 'tiny-sd3' is a sd3 model; an edit model is",
        ),
        (
            "[models.tiny]\nscheduler = 'fancy'\n",
            "imagine.toml: models.tiny.scheduler: Input should be",
        ),
        (
            "[discord]\ntoken = 'abc'\n",
            "imagine.toml: discord.token: secrets are read only from the environment",
        ),
        ("[models.tiny\n", "imagine.toml: not valid TOML"),
        (
            "[models.SDXL]\nsource = 'x'\n",
            "models: Value error, the model preset name 'SDXL' must be 1 to 40 lower-case",
        ),
        (
            "[database]\nurl = 'postgresql+psycopg://bot@db/imagine'\n",
            "imagine.toml: database.url: Value error, imagine-bot keeps its data in SQLite, "
            "not postgresql+psycopg",
        ),
        (
            "[quota]\ndefault_tier = 'gold'\n",
            "imagine.toml: quota.default_tier: 'gold' is not a [quota.tiers.*] tier (everyone)",
        ),
    ],
)
def test_invalid_settings_name_the_key_and_the_file(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path / "imagine.toml", text)
    with pytest.raises(SettingsError) as raised:
        load_settings(path, env={})
    assert expected.replace("imagine.toml", str(path)) in str(raised.value)


def test_invalid_environment_values_name_the_variable() -> None:
    with pytest.raises(SettingsError, match=r"IMAGINE_MODELS__TINY__STEPS: models\.tiny\.steps"):
        load_settings(env={"IMAGINE_MODELS__TINY__STEPS": "many"})


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="settings file not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_the_database_is_a_sqlite_url_or_a_file_path(tmp_path: Path) -> None:
    from imagine_bot.config.settings import DatabaseSettings

    file = tmp_path / "jobs.db"
    assert DatabaseSettings().resolved_url(tmp_path) == f"sqlite:///{tmp_path / 'imagine.db'}"
    assert DatabaseSettings(url=str(file)).resolved_url(tmp_path) == f"sqlite:///{file}"
    assert DatabaseSettings(url=f"sqlite:///{file}").resolved_url(tmp_path) == f"sqlite:///{file}"
