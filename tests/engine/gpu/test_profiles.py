"""Profiles (--p) on the tiny model with the tiny IP-Adapter: a profile's images condition the
job through the style adapter (measured on the pipeline's inputs), scaled by --stylize; the
learned default moves toward what the member selects; without an adapter, a warning."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from imagine_bot.config import Settings
from imagine_bot.engine.errors import PromptError
from imagine_bot.engine.images.store import ImageStore
from imagine_bot.engine.jobs.hub import DatabaseThreads
from imagine_bot.engine.jobs.profiles import STRONG_SIGNAL, WEAK_SIGNAL, ProfileBook
from imagine_bot.engine.spec import ReferenceImage
from imagine_bot.plugins.manager import build_plugin_manager
from imagine_bot.plugins.planner import JobPlanner
from imagine_bot.plugins.runner import JobRunner
from tests.engine.gpu.test_image_prompts import NoNetwork, PipelineSpy, plan_one, run, stored
from tests.support.jobkit import open_store
from tests.support.tiny_adapter import STYLE_LAYER

RED, ORANGE, BLUE, GREEN = (220, 30, 30), (230, 140, 20), (30, 40, 220), (20, 200, 60)


def board(store: ImageStore, *colors: tuple[int, int, int]) -> tuple[ReferenceImage, ...]:
    return tuple(
        stored(store, color, "style").model_copy(update={"source": "profile:board"})
        for color in colors
    )


def style_embedding(spy: PipelineSpy) -> torch.Tensor:
    """The positive style embedding the last pipeline call was given."""
    kwargs, _ = spy.calls[-1]
    return kwargs["ip_adapter_image_embeds"][1][1].flatten().float()


async def test_p_name_conditions_the_job_through_the_style_adapter_scaled_by_stylize(
    ip_planner: JobPlanner,
    ip_runner: JobRunner,
    ip_store: ImageStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = PipelineSpy(monkeypatch)
    profiles = {"warm": board(ip_store, RED, ORANGE), "cool": board(ip_store, BLUE, GREEN)}

    run(ip_runner, await plan_one(ip_planner, "a fox --seed 3", profiles=profiles))
    assert "ip_adapter_image_embeds" not in spy.calls[-1][0]

    warm = await plan_one(ip_planner, "a fox --seed 3 --p warm", profiles=profiles)
    assert [ref.sha256 for ref in warm.references] == [ref.sha256 for ref in profiles["warm"]]
    assert warm.reference_scales == {"style": 1.0} and warm.warnings == ()
    run(ip_runner, warm)
    assert spy.calls[-1][1][STYLE_LAYER] == [0.0, 1.0, 0.0]
    warm_embedding = style_embedding(spy)
    assert torch.count_nonzero(warm_embedding) > 0

    run(ip_runner, await plan_one(ip_planner, "a fox --seed 3 --p cool", profiles=profiles))
    cool_embedding = style_embedding(spy)
    assert not torch.allclose(warm_embedding, cool_embedding, atol=1e-3)

    stylized = await plan_one(ip_planner, "a fox --seed 3 --p warm --s 400", profiles=profiles)
    run(ip_runner, stylized)
    assert spy.calls[-1][1][STYLE_LAYER] == [0.0, 2.0, 0.0]  # sqrt(400 / 100)
    assert torch.allclose(style_embedding(spy), warm_embedding)  # the cached mean

    with pytest.raises(PromptError, match="no profile named 'dusk'"):
        await ip_planner.plan("a fox --p dusk", profiles=profiles)


async def test_the_learned_default_moves_toward_the_selected_images(
    ip_settings: Settings,
    ip_planner: JobPlanner,
    ip_runner: JobRunner,
    ip_store: ImageStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = PipelineSpy(monkeypatch)
    threads = DatabaseThreads()
    book = ProfileBook(open_store(ip_settings, tmp_path).db, threads.run)
    red, blue = (image.sha256 or "" for image in board(ip_store, RED, BLUE))

    async def default_embedding() -> torch.Tensor:
        profiles = await book.references(7)
        run(ip_runner, await plan_one(ip_planner, "a fox --seed 2 --p", profiles=profiles))
        return style_embedding(spy)

    async def embedding_of(sha: str) -> torch.Tensor:
        only = {"one": (ReferenceImage(role="style", source="profile:one", sha256=sha),)}
        run(ip_runner, await plan_one(ip_planner, "a fox --seed 2 --p one", profiles=only))
        return style_embedding(spy)

    empty = await plan_one(ip_planner, "a fox --p", profiles=await book.references(7))
    assert empty.references == () and "you have none yet" in " ".join(empty.warnings)

    await book.learn(7, [red], STRONG_SIGNAL)  # U on a red image
    await book.learn(7, [blue], WEAK_SIGNAL)  # a variation of a blue one
    before = await default_embedding()
    await book.learn(7, [blue], STRONG_SIGNAL)  # then a star on the blue one
    after = await default_embedding()
    blue_embedding, red_embedding = await embedding_of(blue), await embedding_of(red)
    assert torch.dist(after, blue_embedding) < torch.dist(before, blue_embedding)
    assert torch.dist(after, red_embedding) > torch.dist(before, red_embedding)
    threads.close()


async def test_without_an_adapter_p_is_accepted_with_a_warning(settings: Settings) -> None:
    store = ImageStore(settings.paths.store)
    planner = JobPlanner(
        settings, build_plugin_manager(settings), fetcher=NoNetwork(settings.fetch, store)
    )
    spec = await plan_one(planner, "a fox --p warm", profiles={"warm": board(store, RED, BLUE)})
    assert spec.references == () and spec.reference_scales == {}
    (warning,) = spec.warnings
    assert "no image-prompt adapter (models.tiny.ip_adapter" in warning
    assert "so --p had no effect" in warning


async def test_a_buttons_job_keeps_the_parents_profile_without_naming_it_again(
    settings: Settings,
) -> None:
    store = ImageStore(settings.paths.store)
    fetcher = NoNetwork(settings.fetch, store)
    planner = JobPlanner(settings, build_plugin_manager(settings), fetcher=fetcher)
    parent = await plan_one(planner, "a fox --p warm", profiles={"warm": board(store, RED, BLUE)})
    (child,) = await planner.derive(parent, "reroll", 0, None)
    assert child.flags == parent.flags and child.references == parent.references
