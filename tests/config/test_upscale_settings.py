"""The ``[upscale]`` settings: defaults, weights paths from a file or the environment, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagine_bot.config import SettingsError, load_settings
from imagine_bot.config.settings import UPSCALE_MODELS


def test_no_weights_are_configured_by_default() -> None:
    upscale = load_settings(env={}).upscale
    assert [upscale.weights(model) for model in UPSCALE_MODELS] == [None, None, None]
    assert (upscale.subtle_model, upscale.tile, upscale.tile_overlap) == ("x2plus", 512, 32)


def test_weights_come_from_the_file_and_the_environment_can_unset_them(tmp_path: Path) -> None:
    path = tmp_path / "imagine.toml"
    path.write_text(
        '[upscale]\nx2plus_weights = "/models/RealESRGAN_x2plus.pth"\n'
        'x4plus_weights = "/models/RealESRGAN_x4plus.pth"\nsubtle_model = "general_x4v3"\n'
    )
    env = {
        "IMAGINE_UPSCALE__GENERAL_X4V3_WEIGHTS": "/models/realesr-general-x4v3.pth",
        "IMAGINE_UPSCALE__X4PLUS_WEIGHTS": "",
        "IMAGINE_UPSCALE__TILE": "256",
    }
    upscale = load_settings(path, env=env).upscale
    assert upscale.weights("x2plus") == Path("/models/RealESRGAN_x2plus.pth")
    assert upscale.weights("general_x4v3") == Path("/models/realesr-general-x4v3.pth")
    assert upscale.weights("x4plus") is None
    assert (upscale.subtle_model, upscale.tile) == ("general_x4v3", 256)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("IMAGINE_UPSCALE__SUBTLE_MODEL", "x8", "upscale.subtle_model"),
        ("IMAGINE_UPSCALE__TILE", "-1", "upscale.tile"),
        ("IMAGINE_UPSCALE__TILE_OVERLAP", "-4", "upscale.tile_overlap"),
        ("IMAGINE_UPSCALE__X2PLUS", "/a.pth", "upscale.x2plus"),
    ],
)
def test_bad_upscale_settings_name_the_key(variable: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError, match=variable) as caught:
        load_settings(env={variable: value})
    assert says in str(caught.value)
