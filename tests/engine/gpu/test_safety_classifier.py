"""The safety classifier on a tiny random ViT saved to disk and loaded like a real model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from imagine_bot.config import Settings
from imagine_bot.config.safety import SafetySettings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import ContentBlocked, UserError
from imagine_bot.engine.gpu.models import ModelRegistry
from imagine_bot.engine.gpu.safety import ContentClassifier
from imagine_bot.engine.result import GenerationResult
from imagine_bot.plugins.builtin.safety import imagine_postprocess
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.runner import JobRunner
from tests.support.jobkit import make_spec, tuned
from tests.support.tiny_classifier import build_tiny_classifier

IMAGES = [Image.new("RGB", (48, 40), (n * 60, 10, 200)) for n in range(4)]


@pytest.fixture(scope="module")
def flagging(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_classifier(tmp_path_factory.mktemp("nsfw-classifier"), "nsfw")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_classifier(tmp_path_factory.mktemp("normal-classifier"), "normal")


def classifier(folder: Path, **fields: object) -> ContentClassifier:
    settings = SafetySettings.model_validate({"classifier": str(folder), **fields})
    return ContentClassifier(settings, torch.device("cpu"))


def test_every_image_the_label_wins_on_is_flagged(flagging: Path, clean: Path) -> None:
    assert classifier(flagging).flagged(IMAGES) == [1, 2, 3, 4]
    assert classifier(clean).flagged(IMAGES) == []
    # The "normal" label wins everywhere in the clean model: flagging it flags all.
    assert classifier(clean, flagged_labels=["Normal"]).flagged(IMAGES[:2]) == [1, 2]


def test_a_threshold_above_the_winning_probability_flags_nothing(flagging: Path) -> None:
    assert classifier(flagging, threshold=1.0).flagged(IMAGES) == []


def test_a_label_the_model_lacks_is_a_clear_error(flagging: Path) -> None:
    with pytest.raises(UserError, match=r"no label violence .*normal, nsfw"):
        classifier(flagging, flagged_labels=["violence"])


def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"safety\.classifier"):
        classifier(tmp_path / "nowhere")


@pytest.mark.parametrize("policy", ["block", "spoiler", "allow"])
def test_the_postprocess_hook_blocks_or_records_per_policy(
    settings: Settings, flagging: Path, policy: str
) -> None:
    models = ModelRegistry(tuned(settings, safety={"classifier": str(flagging)}))
    spec = make_spec().model_copy(update={"content_policy": policy})
    result = GenerationResult(spec, list(IMAGES))
    if policy == "block":
        with pytest.raises(ContentBlocked) as blocked:
            imagine_postprocess(result, models)
        assert blocked.value.flagged == [1, 2, 3, 4]
        assert "refunded" in str(blocked.value)
    else:
        imagine_postprocess(result, models)
        assert result.flagged == [1, 2, 3, 4]


def test_without_a_classifier_results_are_not_checked(runner: JobRunner) -> None:
    assert runner.models.classifier() is None
    result = runner.submit(make_spec(size=64), JobControl(lambda done, total: None)).result()
    assert result.flagged == []


def test_the_runner_runs_the_classifier_on_the_generated_images(
    settings: Settings, flagging: Path
) -> None:
    tuned_settings = tuned(settings, safety={"classifier": str(flagging)})
    runner = JobRunner(build_plugin_manager(tuned_settings), ModelRegistry(tuned_settings))
    try:
        spec = make_spec(size=64).model_copy(update={"content_policy": "spoiler"})
        result = runner.submit(spec, JobControl(lambda done, total: None)).result()
        assert result.flagged == [1, 2, 3, 4] and result.grid is not None
    finally:
        runner.close()
