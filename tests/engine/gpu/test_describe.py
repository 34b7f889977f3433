"""/describe on the GPU worker: tiny random BLIP and CLIP models, saved and loaded as real ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.errors import ModelUnavailable
from imagine_bot.engine.gpu.describe import (
    Describer,
    Vocabulary,
    aspect_flag,
    clean_caption,
    compose_prompts,
)
from imagine_bot.engine.jobs.describing import PROMPTS
from imagine_bot.plugins.runner import JobRunner
from tests.support.tiny_describe import describe_env


@pytest.fixture(scope="module")
def describer(test_env: dict[str, str], settings: Settings) -> Describer:
    configured = load_settings(env={**test_env, **describe_env(settings.paths.models)})
    return Describer(configured.describe, torch.device("cpu"), torch.float32)


def picture(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (30, 90, 200))
    image.paste((240, 200, 40), (0, 0, width // 3, height // 2))
    return image


def test_four_distinct_prompts_that_read_like_midjourneys(
    describer: Describer, runner: JobRunner
) -> None:
    prompts = runner.call(describer.describe, picture(300, 200)).result()
    assert len(prompts) == PROMPTS == len(set(prompts))
    lists = describer.vocabulary.lists
    for prompt in prompts:
        body, ratio = prompt.rsplit(" --ar ", 1)
        assert ratio == "3:2"
        caption, medium, style, light = body.rsplit(", ", 3)
        assert caption and "--" not in caption
        assert (medium, style, light) in {
            (m, s, li)
            for m in lists["mediums"]
            for s in lists["styles"]
            for li in lists["lighting"]
        }
    assert all("--ar" not in p for p in runner.call(describer.describe, picture(64, 64)).result())


def test_the_prompts_differ_even_with_one_caption() -> None:
    ranked = {"mediums": ["watercolor", "oil painting", "ink", "collage"], "lighting": list("abcd")}
    prompts = compose_prompts(["a boat on a lake"], ranked, 1600, 900)
    assert prompts[0] == "a boat on a lake, watercolor, a --ar 16:9"
    assert prompts[3] == "a boat on a lake, collage, d --ar 16:9"
    assert len(set(prompts)) == PROMPTS
    assert compose_prompts([], ranked, 10, 10)[0] == "an image, watercolor, a"


@pytest.mark.parametrize(
    ("size", "flag"),
    [
        ((1000, 667), "--ar 3:2"),
        ((1080, 1920), "--ar 9:16"),
        ((512, 500), ""),
        ((100, 900), "--ar 1:4"),
    ],
)
def test_the_aspect_ratio_is_in_small_numbers(size: tuple[int, int], flag: str) -> None:
    assert aspect_flag(*size) == flag


def test_captions_lose_blips_filler() -> None:
    assert clean_caption("arafed  man riding a horse .") == "man riding a horse"
    assert clean_caption("there is a cat on\na sofa") == "a cat on a sofa"


def test_the_shipped_vocabulary_has_four_of_everything() -> None:
    lists = Vocabulary.shipped().lists
    assert set(lists) == {"mediums", "styles", "lighting"}
    assert all(len(words) >= PROMPTS and len(set(words)) == len(words) for words in lists.values())


def test_a_missing_model_is_one_sentence_and_the_setting_is_for_the_log(
    test_env: dict[str, str], tmp_path: Path
) -> None:
    settings = load_settings(
        env={**test_env, "IMAGINE_DESCRIBE__CAPTION_MODEL": str(tmp_path / "no-such-model")}
    )
    describer = Describer(settings.describe, torch.device("cpu"), torch.float32)
    with pytest.raises(ModelUnavailable) as missing:
        describer.describe(picture(32, 32))
    sentence = str(missing.value)
    assert sentence.startswith("/describe's models could not be loaded") and len(sentence) < 200
    assert "no-such-model" not in sentence
    assert "describe.caption_model" in missing.value.details
    assert "no-such-model" in missing.value.details
