"""Our PNGs say how they were made: A1111 text that sd-parsers reads, the prompt as typed, the
spec as JSON; img2img results give the steps that ran; the image commands re-run the typed
prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from sd_parsers import ParserManager

from imagine_bot.cli.main import main
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.images.files import save_result
from imagine_bot.engine.images.store import PARAMETERS_KEY, PROMPT_KEY, SPEC_KEY
from imagine_bot.engine.spec import GenerationSpec, PromptPart, SourceImage
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.engine.conftest import UNetSpy

TYPED = "a red cat::2 a blue dog::-0.5 --no fur, blur --seed 8 --ar 3:2 --chaos 10"


async def test_sd_parsers_reads_our_parameters_and_our_chunks_give_the_typed_prompt(
    planner: JobPlanner, runner: JobRunner, tmp_path: Path
) -> None:
    (spec,) = await planner.plan(TYPED)
    result = runner.submit(spec, JobControl()).result()
    files = save_result(result, tmp_path, "job")

    info = ParserManager().parse(files.images[1])
    assert info is not None
    (sampler,) = info.samplers
    assert info.full_prompt == spec.prompt == "a red cat a blue dog"
    assert info.full_negative_prompt == "fur, blur"
    assert sampler.parameters["seed"] == str(spec.seeds[1]) == "9"
    assert sampler.parameters["steps"] == str(spec.steps)
    assert float(sampler.parameters["cfg_scale"]) == spec.guidance
    assert info.metadata["Size"] == f"{spec.width}x{spec.height}" == "192x128"

    with Image.open(files.images[1]) as image:
        assert image.info[PROMPT_KEY] == TYPED
        assert GenerationSpec.model_validate_json(image.info[SPEC_KEY]) == spec
    with Image.open(files.grid or "") as grid:
        assert grid.info[PROMPT_KEY] == TYPED


async def test_a_typed_prompt_beyond_latin_1_round_trips(
    planner: JobPlanner, runner: JobRunner, tmp_path: Path
) -> None:
    typed = "灯台 au crépuscule 🌅::2 brume::0.5 --seed 2"
    (spec,) = await planner.plan(typed)
    files = save_result(runner.submit(spec, JobControl()).result(), tmp_path, "job")
    with Image.open(files.images[0]) as image:
        assert image.info[PROMPT_KEY] == typed


async def test_img2img_results_report_the_steps_that_ran(
    planner: JobPlanner, runner: JobRunner, unet_spy: UNetSpy
) -> None:
    (parent,) = await planner.plan("a lighthouse --seed 3")
    made = runner.submit(parent, JobControl()).result()
    source = SourceImage(sha256=runner.models.store.put(made.images[0]).sha256)
    (child,) = await planner.derive(parent, "vary_strong", 1, source)
    unet_spy.calls.clear()
    result = runner.submit(child, JobControl()).result()
    ran = len(unet_spy.calls)
    assert 0 < ran < child.steps and child.steps_run == ran  # 0.7 of the steps
    fields = dict(item.split(": ") for item in result.parameters[0].splitlines()[-1].split(", "))
    assert fields["Steps"] == str(ran)
    assert fields["Denoising strength"] == str(child.strength)


@pytest.mark.usefixtures("test_env_exported")
def test_image_commands_rerun_the_typed_prompt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typed = "a red cat::2 a blue dog::-0.5 --no fur --seed 8"
    assert main(["imagine", typed, "-o", str(tmp_path / "first")]) == 0
    first = [line.split()[1] for line in capsys.readouterr().out.splitlines() if "image:" in line]
    assert main(["vary", first[0], "-o", str(tmp_path / "vary")]) == 0
    varied = [line.split()[1] for line in capsys.readouterr().out.splitlines() if "image:" in line]
    with Image.open(varied[0]) as image:
        spec = json.loads(image.info[SPEC_KEY])
        parameters = image.info[PARAMETERS_KEY]
    # the weights and the negative prompt survive the vary
    assert [PromptPart.model_validate(part) for part in spec["blend"]] == [
        PromptPart(text="a red cat", weight=2.0),
        PromptPart(text="a blue dog", weight=-0.5),
    ]
    assert spec["negative_prompt"] == "fur" and "Negative prompt: fur" in parameters
    assert spec["action"] == "vary_subtle" and spec["typed_prompt"] == typed
