"""Edit with words on the tiny edit models: the edit pipeline gets the picture and the
instruction, four seeds give four edits, extra pictures reach the multi-reference pipelines."""

from __future__ import annotations

from typing import Any

import pytest
from diffusers import DiffusionPipeline, Flux2KleinPipeline, FluxKontextPipeline
from PIL import Image

from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import PromptError, UserError
from imagine_bot.engine.spec import GenerationSpec, ReferenceImage, SourceImage
from imagine_bot.plugins.builtin.metadata import parameters_text
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner

pytestmark = pytest.mark.slow  # builds and runs tiny FLUX.1 Kontext and FLUX.2 models


class CallSpy:
    """Records the inputs of every call of the spied pipeline classes, then calls through."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def wrap(self, cls: type[DiffusionPipeline], monkeypatch: pytest.MonkeyPatch) -> None:
        original = cls.__call__

        def spied(pipeline: DiffusionPipeline, *args: Any, **kwargs: Any) -> Any:
            self.calls.append({"pipeline": type(pipeline).__name__, **kwargs})
            return original(pipeline, *args, **kwargs)

        monkeypatch.setattr(cls, "__call__", spied)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> CallSpy:
    calls = CallSpy()
    for cls in (FluxKontextPipeline, Flux2KleinPipeline):
        calls.wrap(cls, monkeypatch)
    return calls


def picture(runner: JobRunner, color: tuple[int, int, int], size: tuple[int, int]) -> str:
    return runner.models.store.put(Image.new("RGB", size, color)).sha256


async def parent_of(planner: JobPlanner, model: str, size: tuple[int, int]) -> GenerationSpec:
    (spec,) = await planner.plan(f"a street with a car --model {model}")
    return spec.model_copy(update={"width": size[0], "height": size[1]})


async def test_kontext_edits_the_picture_as_told(
    planner: JobPlanner, runner: JobRunner, spy: CallSpy
) -> None:
    parent = await parent_of(planner, "tiny-flux", (192, 128))
    source = SourceImage(sha256=picture(runner, (200, 30, 30), (192, 128)), index=1)
    assert "edit" in {a.name for a in planner.actions.for_message(parent, "image")}
    (spec,) = await planner.derive(parent, "edit", 1, source, prompt="make it night")
    assert (spec.model, spec.kind, spec.prompt) == ("tiny-flux-kontext", "edit", "make it night")
    assert len(spec.seeds) == 4 and spec.width / spec.height == pytest.approx(1.5, rel=0.1)
    assert spec.width % 16 == 0 and spec.height % 16 == 0

    progress: list[tuple[int, int]] = []
    control = JobControl(lambda done, total: progress.append((done, total)))
    result = runner.submit(spec, control).result()
    images = result.images
    assert progress[-1] == (spec.steps_run, spec.steps_run) == (4, 4)
    assert [image.size for image in images] == [(spec.width, spec.height)] * 4
    # Content Credentials: c2pa.opened + c2pa.edited, the picture as the parent ingredient
    assert result.provenance is not None and result.provenance.action == "edit"
    assert result.provenance.parent is not None
    (call,) = spy.calls
    assert call["pipeline"] == "FluxKontextPipeline" and call["_auto_resize"] is False
    given = call["image"]
    assert isinstance(given, Image.Image) and given.size == (spec.width, spec.height)
    assert given.getpixel((5, 5)) == (200, 30, 30)  # the source picture, not noise
    assert call["prompt"] == ["make it night"] * 4 and len(call["generator"]) == 4
    assert "Edit images: 1" in parameters_text(spec, spec.seeds[0])


async def test_kontext_takes_one_picture_and_says_so(
    planner: JobPlanner, runner: JobRunner, spy: CallSpy
) -> None:
    parent = await parent_of(planner, "tiny-flux", (128, 128))
    source = SourceImage(sha256=picture(runner, (10, 10, 10), (128, 128)), index=1)
    extra = ReferenceImage(
        role="subject", source="hat.png", sha256=picture(runner, (0, 0, 250), (64, 64))
    )
    (spec,) = await planner.derive(
        parent, "edit", 1, source, prompt="give him the hat", references=[extra]
    )
    result = runner.submit(spec, JobControl()).result()
    assert isinstance(spy.calls[0]["image"], Image.Image)
    assert any("one picture at a time" in warning for warning in result.warnings)


async def test_flux2_edits_with_every_picture_as_a_reference(
    planner: JobPlanner, runner: JobRunner, spy: CallSpy
) -> None:
    parent = await parent_of(planner, "tiny-flux2", (128, 128))
    source = SourceImage(sha256=picture(runner, (200, 30, 30), (128, 128)), index=1)
    extras = [
        ReferenceImage(role="subject", source=f"{n}.png", sha256=picture(runner, color, (64, 64)))
        for n, color in enumerate([(0, 250, 0), (0, 0, 250)])
    ]
    (spec,) = await planner.derive(
        parent, "edit", 1, source, prompt="put both in the street", references=extras
    )
    assert spec.model == "tiny-flux2" and len(spec.references) == 2
    images = runner.submit(spec, JobControl()).result().images
    assert len(images) == 4
    (call,) = spy.calls
    assert call["pipeline"] == "Flux2KleinPipeline"
    assert call["prompt"] == ["put both in the street"] * 4
    colours = [image.getpixel((1, 1)) for image in call["image"]]
    assert colours == [(200, 30, 30), (0, 250, 0), (0, 0, 250)]


async def test_edit_refuses_what_it_cannot_run(planner: JobPlanner, runner: JobRunner) -> None:
    tiny = await parent_of(planner, "tiny", (128, 128))
    source = SourceImage(sha256=picture(runner, (1, 2, 3), (128, 128)), index=1)
    assert "edit" not in {a.name for a in planner.actions.for_message(tiny, "image")}
    with pytest.raises(UserError, match="not available"):
        await planner.derive(tiny, "edit", 1, source, prompt="make it night")
    flux = await parent_of(planner, "tiny-flux", (128, 128))
    with pytest.raises(UserError, match="at most 500"):
        await planner.derive(flux, "edit", 1, source, prompt="night " * 120)
    five = [
        ReferenceImage(role="subject", source=f"{n}.png", sha256=source.sha256) for n in range(4)
    ]
    with pytest.raises(PromptError, match="at most 4 pictures"):
        await planner.derive(flux, "edit", 1, source, prompt="all of them", references=five)
