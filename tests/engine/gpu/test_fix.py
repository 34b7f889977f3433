"""Fix Faces on the tiny model: only the found face (and its feathered edge) is repainted."""

from __future__ import annotations

import numpy as np
import pytest

from imagine_bot.config import Settings
from imagine_bot.engine.control import JobControl
from imagine_bot.engine.errors import DetectorUnavailable, NothingToFix
from imagine_bot.engine.images.detail import feathered_weight
from imagine_bot.engine.images.detectors import find_faces
from imagine_bot.engine.spec import GenerationSpec, SourceImage
from imagine_bot.plugins.builtin.metadata import parameters_text
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.engine.conftest import UNetSpy
from tests.support.faces import drawn_face

SIZE = (192, 128)
FACE = (100, 20, 164, 100)


async def face_parent(planner: JobPlanner) -> GenerationSpec:
    """A finished job whose image 1 is the drawn face (its size, its prompt)."""
    (spec,) = await planner.plan("a portrait of a woman --ar 3:2 --seed 5")
    assert (spec.width, spec.height) == SIZE
    return spec


async def test_fix_faces_changes_pixels_only_inside_the_found_face(
    planner: JobPlanner, runner: JobRunner, settings: Settings, unet_spy: UNetSpy
) -> None:
    picture = drawn_face(SIZE, FACE)
    (box,) = find_faces(picture, settings.fix.min_side)
    stored = runner.models.store.put(picture)
    source = SourceImage(sha256=stored.sha256, job_id="parent-job", index=1)
    parent = await face_parent(planner)
    (fix,) = await planner.derive(parent, "fix_faces", 1, source)
    assert (fix.kind, fix.fix, fix.seeds) == ("fix", "faces", (parent.seeds[0],))
    assert (fix.width, fix.height, fix.strength) == (*SIZE, settings.fix.strength)

    (image,) = runner.submit(fix, JobControl()).result().images
    before = np.asarray(picture, dtype=np.int16)
    after = np.asarray(image, dtype=np.int16)
    changed = np.abs(after - before).max(axis=2) > 0
    reach = feathered_weight(box, SIZE, settings.fix.feather) > 0
    assert changed.any() and not (changed & ~reach).any()
    inside = np.s_[box.top + 4 : box.bottom - 4, box.left + 4 : box.right - 4]
    assert np.abs(after[inside] - before[inside]).mean() > 1.0
    # the face was repainted at the model's resolution, not at its size in the picture
    (side,) = {tuple(call.latents.shape[-2:]) for call in unet_spy.calls}
    assert side[0] * side[1] * 64 == pytest.approx(128 * 128, rel=0.2)
    assert "ADetailer model: faces" in parameters_text(fix, fix.seeds[0])


async def test_a_picture_without_a_face_says_so(
    planner: JobPlanner, runner: JobRunner, unet_spy: UNetSpy
) -> None:
    stored = runner.models.store.put(drawn_face(SIZE, FACE).crop((0, 0, 90, 128)).resize(SIZE))
    parent = await face_parent(planner)
    (fix,) = await planner.derive(parent, "fix_faces", 1, SourceImage(sha256=stored.sha256))
    with pytest.raises(NothingToFix, match="No faces were found in this picture"):
        runner.submit(fix, JobControl()).result()
    assert unet_spy.calls == []  # nothing ran, so nothing is charged


async def test_fix_on_a_prompt_warns_when_the_grid_has_no_face(
    planner: JobPlanner, runner: JobRunner, settings: Settings
) -> None:
    (spec,) = await planner.plan("a lighthouse --fix faces --seed 9")
    assert (spec.fix, spec.strength, spec.kind) == ("faces", settings.fix.strength, "txt2img")
    result = runner.submit(spec, JobControl()).result()
    assert len(result.images) == 4
    assert any("found no faces" in warning for warning in result.warnings)
    # a vary of one of them is not fixed again; a reroll is
    (varied,) = await planner.derive(spec, "vary_subtle", 1, SourceImage(sha256="0" * 64))
    assert varied.fix is None and varied.kind == "img2img"
    (rerolled,) = await planner.derive(spec, "reroll", 0, None)
    assert rerolled.fix == "faces"


async def test_fixing_hands_without_a_hand_detector_is_refused_before_queueing(
    planner: JobPlanner,
) -> None:
    with pytest.raises(DetectorUnavailable, match=r"fix\.hand_detector"):
        await planner.plan("a pianist --fix hands")
