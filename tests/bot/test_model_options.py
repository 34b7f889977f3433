"""/imagine's model and lora options with autocomplete, and /settings' model choice."""

from __future__ import annotations

from pathlib import Path

import pytest
from diffusers import StableDiffusionPipeline

from imagine_bot.app import ImagineApp
from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.gpu.tiny import ensure_tiny_model
from imagine_bot.engine.spec import LoraUse
from tests.bot.conftest import SIMCORD, World
from tests.support.tiny_lora import save_tiny_lora

pytestmark = SIMCORD


@pytest.fixture
def bot_settings(tmp_path: Path, test_env: dict[str, str], settings: Settings) -> Settings:
    """Two presets (neither selected by --v) and LoRAs of two families."""
    unet = StableDiffusionPipeline.from_pretrained(ensure_tiny_model(settings.paths.models)).unet
    ink = save_tiny_lora(unet, tmp_path / "ink.safetensors", seed=1)
    env = {
        "IMAGINE_PATHS__DATA_DIR": str(tmp_path),
        "IMAGINE_MODELS__HOUSE__SOURCE": "builtin:tiny",
        "IMAGINE_MODELS__HOUSE__FAMILY": "tiny",
        "IMAGINE_MODELS__HOUSE__RESOLUTION": "64",
        "IMAGINE_MODELS__HOUSE__STEPS": "2",
        "IMAGINE_LORAS__INK__SOURCE": str(ink),
        "IMAGINE_LORAS__INK__FAMILY": "tiny",
        "IMAGINE_LORAS__INKXL__SOURCE": str(ink),
        "IMAGINE_LORAS__INKXL__FAMILY": "sdxl",
    }
    return load_settings(env={**test_env, **env})


async def test_autocomplete_offers_presets_and_the_loras_that_fit(world: World) -> None:
    models = await world.alice.autocomplete(world.channel, "imagine", "model", "ho")
    assert [choice["value"] for choice in models] == ["house"]
    loras = await world.alice.autocomplete(world.channel, "imagine", "lora", "ink")
    assert [choice["value"] for choice in loras] == ["ink"]  # inkxl is for sdxl models


async def test_the_options_run_the_job_with_that_model_and_lora(
    world: World, app: ImagineApp
) -> None:
    await world.alice.slash(
        world.channel, "imagine", prompt="a red fox --seed 1", model="house", lora="ink::0.5"
    )
    (job,) = await app.service.jobs_of(world.alice.id, states=None)
    assert job.state == "delivered"
    assert job.spec.model == "house" and job.spec.loras == (LoraUse(name="ink", weight=0.5),)
    assert job.spec.typed_prompt == "a red fox --seed 1 --model house --lora ink::0.5"


async def test_settings_offers_every_preset_as_the_default_model(
    world: World, app: ImagineApp
) -> None:
    panel = await world.alice.slash(world.channel, "settings")
    assert panel.response is not None
    await world.alice.click(panel.response.message, label="house")
    assert await app.service.preferences(world.alice.id) == {"model": "house"}
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    (job,) = await app.service.jobs_of(world.alice.id, states=None)
    assert job.spec.model == "house"
