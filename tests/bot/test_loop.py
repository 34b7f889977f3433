"""Remix mode, Custom Zoom, /describe and /blend, driven through SimCord on the tiny models.

Images a member attaches reach the bot as SimCord CDN links, which the production fetcher
fetches: only its network is replaced (by SimCord's CDN), every check before and after runs.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import discord
import numpy as np
import pytest
import simcord
from PIL import Image
from yarl import URL

from imagine_bot.app import ImagineApp
from imagine_bot.bot.client import ImagineBot
from imagine_bot.bot.exts.blend._cog import count_refusal
from imagine_bot.bot.exts.describe._cog import prompts_in
from imagine_bot.bot.exts.remix.form import SHORTENED_LABEL
from imagine_bot.bot.jobs.watcher import JobWatcher
from imagine_bot.config import Settings, load_settings
from imagine_bot.engine.images.decode import ImageFetchError
from imagine_bot.engine.images.fetch import ImageFetcher
from imagine_bot.engine.jobs.describing import describe_spec
from imagine_bot.engine.jobs.records import JobRecord, Requester
from imagine_bot.engine.spec import JobState
from tests.bot.conftest import SIMCORD, World, button_ids
from tests.support.tiny_adapter import adapter_env, tiny_adapter
from tests.support.tiny_describe import describe_env

pytestmark = SIMCORD
Hold = Callable[[], Awaitable[None]]
FEW_STEPS = {"IMAGINE_MODELS__TINY__STEPS": "2"}


class CdnFetcher(ImageFetcher):
    """The production fetcher with SimCord's in-memory CDN in place of the network."""

    def __init__(self, fetcher: ImageFetcher, env: simcord.Env) -> None:
        super().__init__(fetcher.settings, fetcher.store)
        self.env = env

    async def _download(self, url: URL) -> bytes:
        data: bytes | None = self.env.backend.cdn.get(str(url))
        if data is None:
            raise ImageFetchError(f"The image {url} could not be downloaded: 404.")
        return data


@pytest.fixture
def bot_settings(
    request: pytest.FixtureRequest, tmp_path: Path, test_env: dict[str, str], settings: Settings
) -> Settings:
    """With the tiny IP-Adapter (unless the test asks for none) and the tiny /describe models."""
    models = settings.paths.models
    env = {
        **test_env,
        **FEW_STEPS,
        **describe_env(models),
        "IMAGINE_PATHS__DATA_DIR": str(tmp_path),
    }
    env["IMAGINE_FETCH__ALLOWED_HOSTS"] = '["cdn.simcord.invalid"]'
    if getattr(request, "param", "adapter") == "adapter":
        env.update(adapter_env(tiny_adapter(models)))
    if getattr(request, "param", "adapter") == "no describe models":
        env["IMAGINE_DESCRIBE__CAPTION_MODEL"] = str(tmp_path / "srv" / "blip-not-downloaded")
    return load_settings(env=env)


@pytest.fixture(autouse=True)
def cdn(app: ImagineApp, env: simcord.Env) -> None:
    app.planner.fetcher = CdnFetcher(app.planner.fetcher, env)


@pytest.fixture
def hold(app: ImagineApp, env: simcord.Env, monkeypatch: pytest.MonkeyPatch) -> Hold:
    """Call it to keep the jobs queued from then on (the tests look at what was queued, not
    at images); SimCord then treats the bot's wait for their events as the outside input it is."""

    async def hold_queue() -> None:
        await app.service.pause()
        monkeypatch.setattr(
            JobWatcher,
            "_next_event",
            lambda self, queue: env.external_wait(queue.get(), reason="job events"),
        )

    return hold_queue


def bot_messages(world: World) -> list[discord.Message]:
    return [m for m in world.channel.history() if m.author.id == world.env.bot.user.id]


def png(color: tuple[int, int, int], size: tuple[int, int] = (48, 32)) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, color)
    image.paste((255 - color[0], 0, 0), (0, 0, size[0] // 2, size[1] // 2))
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def jobs(app: ImagineApp, world: World) -> list[JobRecord]:
    return await app.service.jobs_of(world.alice.id, states=None)


async def grid_of(world: World, prompt: str) -> discord.Message:
    before = {m.id for m in bot_messages(world)}
    await world.alice.slash(world.channel, "imagine", prompt=prompt)
    (message,) = [m for m in bot_messages(world) if m.id not in before]
    return message


def prompt_default(shown: simcord.InteractionResult) -> str:
    modal = shown.modal
    assert modal is not None, "the button answered without the prompt form"
    (row,) = modal["components"]
    field = row.get("component") or row["components"][0]
    assert field["custom_id"] == "prompt"
    return str(field["value"])


async def remix_on(world: World) -> None:
    panel = await world.alice.slash(world.channel, "settings")
    assert panel.response is not None
    await world.alice.click(panel.response.message, label="Remix mode")


# --- Remix -----------------------------------------------------------------------------------


async def test_remix_opens_the_prompt_and_the_edit_reaches_the_job(
    world: World, app: ImagineApp, hold: Hold
) -> None:
    grid = await grid_of(world, "a red fox --ar 3:2 --seed 5")
    await remix_on(world)
    assert (await app.service.preferences(world.alice.id))["remix"] is True
    shown = await world.alice.click(grid, label="V2")
    assert prompt_default(shown) == "a red fox --ar 3:2 --seed 5"
    assert shown.modal is not None and shown.modal["title"] == "Remix: V2"
    await hold()
    await world.alice.submit_modal(shown, {"prompt": "a blue fox --ar 3:2 --no snow"})
    (child,) = [job for job in await jobs(app, world) if job.parent_id is not None]
    assert child.spec.prompt == "a blue fox" and child.spec.negative_prompt == "snow"
    assert child.spec.action == "variation" and child.spec.source is not None
    assert child.spec.source.index == 2


async def test_a_form_submitted_twice_makes_one_job(
    world: World, app: ImagineApp, hold: Hold
) -> None:
    grid = await grid_of(world, "a red fox")
    await remix_on(world)
    first, second = [await world.alice.click(grid, label="Reroll") for _ in range(2)]
    await hold()
    await world.alice.submit_modal(first, {"prompt": "a grey fox"})
    again = await world.alice.submit_modal(second, {"prompt": "a grey fox"})
    (told,) = [reply.content for reply in again.followups]
    assert told.startswith("That job is already started: https://discord.com/channels/")
    assert len([job for job in await jobs(app, world) if job.parent_id is not None]) == 1


async def test_a_form_opened_before_a_restart_still_works(
    world: World, app: ImagineApp, hold: Hold
) -> None:
    grid = await grid_of(world, "a red fox")
    await remix_on(world)
    shown = await world.alice.click(grid, label="V3")
    await world.env.restart_bot(ImagineBot(app))
    await hold()
    await world.alice.submit_modal(shown, {"prompt": "a fox made of glass"})
    (child,) = [job for job in await jobs(app, world) if job.parent_id is not None]
    assert child.spec.prompt == "a fox made of glass"


async def test_an_invalid_edit_is_one_line_and_queues_nothing(
    world: World, app: ImagineApp
) -> None:
    grid = await grid_of(world, "a red fox")
    await remix_on(world)
    shown = await world.alice.click(grid, label="V1")
    before = len(await jobs(app, world))
    answer = await world.alice.submit_modal(shown, {"prompt": "a fox --arr 2:1"})
    (reply,) = answer.followups
    assert reply.flags.ephemeral and "Did you mean --ar?" in reply.content
    assert "\n" not in reply.content and len(await jobs(app, world)) == before


async def test_a_remix_with_a_new_ratio_makes_images_of_that_ratio(
    world: World, app: ImagineApp
) -> None:
    grid = await grid_of(world, "a red fox --ar 3:2 --seed 5")
    await remix_on(world)
    shown = await world.alice.click(grid, label="V2")
    await world.alice.submit_modal(shown, {"prompt": "a red fox --ar 2:3 --seed 5"})
    (child,) = [job for job in await jobs(app, world) if job.parent_id is not None]
    assert child.spec.height > child.spec.width  # the parent is 3:2
    done = await finished(app, child)
    with Image.open(done.image_paths[0]) as image:
        assert image.size == (child.spec.width, child.spec.height)


async def test_a_prompt_longer_than_the_form_keeps_its_flags(world: World, app: ImagineApp) -> None:
    # 6,000 characters (with macros a prompt may be that long); Discord's field holds 4,000.
    text = "a fox in the snow " * 330 + "--ar 3:2 --seed 5 --no blur"
    specs = await app.planner.plan(text)
    (parent,) = await app.service.submit(
        Requester(world.alice.id), specs, interaction_id=1, channel_id=world.channel.id
    )
    await finished(app, parent)
    await world.alice.slash(world.channel, "show", job_id=parent.id)  # its grid, with buttons
    grid = bot_messages(world)[-1]
    await remix_on(world)
    shown = await world.alice.click(grid, label="V1")
    edited = prompt_default(shown)
    assert len(edited) <= 4000 and edited.endswith(" --ar 3:2 --seed 5 --no blur")
    assert SHORTENED_LABEL in str(shown.modal)  # the field's label, wherever the layout puts it


async def finished(app: ImagineApp, job: JobRecord) -> JobRecord:
    for _ in range(6000):  # the GPU worker runs outside SimCord's clock
        record = await app.service.job(job.id)
        if record is not None and not record.pending:
            assert record.succeeded, record.error
            return record
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job.id} did not finish")


async def test_without_remix_the_buttons_start_at_once(world: World) -> None:
    grid = await grid_of(world, "a red fox")
    pressed = await world.alice.click(grid, label="V1")
    assert pressed.modal is None


async def test_custom_zoom_asks_for_the_factor_and_zooms_by_it(
    world: World, app: ImagineApp, hold: Hold
) -> None:
    grid = await grid_of(world, "a red fox --ar 3:2")
    await world.alice.click(grid, label="U1")
    single = bot_messages(world)[-1]
    shown = await world.alice.click(single, label="Custom Zoom")
    assert prompt_default(shown) == "a red fox --ar 3:2 --zoom 2"
    await hold()
    await world.alice.submit_modal(shown, {"prompt": "a red fox at night --ar 3:2 --zoom 1.5"})
    (child,) = [job for job in await jobs(app, world) if job.parent_id is not None]
    parent = await app.service.job(button_ids(grid)[0].split(":")[1])
    assert parent is not None and child.spec.action == "zoom_custom"
    (fixed,) = await app.planner.derive(parent.spec, "zoom_out_1_5x", 1, child.spec.source)
    assert child.spec.placement == fixed.placement and child.spec.width == fixed.width
    assert child.spec.prompt == "a red fox at night"


# --- /describe -------------------------------------------------------------------------------


async def describe(world: World, **options: object) -> simcord.InteractionResult:
    return await world.alice.slash(world.channel, "describe", **options)


async def test_describe_gives_four_prompts_and_each_button_imagines_one(
    world: World, app: ImagineApp, hold: Hold
) -> None:
    await describe(world, image=("view.png", png((20, 120, 200), (96, 64))))
    answer = bot_messages(world)[-1]
    prompts = prompts_in(answer.content)
    assert sorted(prompts) == [1, 2, 3, 4] and len(set(prompts.values())) == 4
    assert all(prompt.endswith(" --ar 3:2") for prompt in prompts.values())
    owner = world.alice.id
    assert button_ids(answer) == [f"describe:{owner}:{k}" for k in (1, 2, 3, 4, 0)]
    # A job like any other, run by the local GPU worker, its prompts stored with it.
    (described,) = await jobs(app, world)
    assert described.action == "describe" and described.state == JobState.DELIVERED
    assert list(described.texts) == list(prompts.values()) and described.gpu_seconds
    await world.env.restart_bot(ImagineBot(app))  # the buttons need nothing but the message
    await hold()
    await world.alice.click(answer, label="3")
    (job,) = [other for other in await jobs(app, world) if other.id != described.id]
    assert job.spec.prompt == prompts[3].removesuffix(" --ar 3:2")
    assert job.spec.flags == {"ar": "3:2"}
    await world.alice.click(answer, label="Imagine all")
    queued = [
        other.spec.prompt
        for other in await jobs(app, world)
        if other.id not in (job.id, described.id)
    ]
    assert sorted(queued) == sorted(prompt.removesuffix(" --ar 3:2") for prompt in prompts.values())


async def test_a_stranger_cannot_use_the_describe_buttons(world: World, app: ImagineApp) -> None:
    await describe(world, image=("view.png", png((20, 120, 200))))
    refused = await world.bob.click(bot_messages(world)[-1], label="1")
    assert refused.response is not None and "Only the person who asked" in refused.response.content
    assert await app.service.jobs_of(world.bob.id, states=None) == []


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"image": ("notes.png", b"%PDF-1.4 not an image")}, "is not a PNG, JPEG, WebP or GIF"),
        ({"link": "http://169.254.169.254/latest/meta-data"}, "only https links are fetched"),
        ({"link": "https://10.0.0.7/cat.png"}, "names an IP address"),
        ({"link": "https://evil.test/cat.png"}, "evil.test is not one of them"),
        ({}, "an image or a link"),
    ],
)
async def test_describe_refuses_bad_input_in_one_line(
    world: World, app: ImagineApp, options: dict[str, object], words: str
) -> None:
    before = len(bot_messages(world))
    result = await describe(world, **options)
    assert result.ephemeral and result.response is not None
    assert words in result.response.content and "\n" not in result.response.content
    assert len(bot_messages(world)) == before and await jobs(app, world) == []


@pytest.mark.parametrize("bot_settings", ["no describe models"], indirect=True)
async def test_describe_without_its_models_says_so_in_a_sentence_and_logs_why(
    world: World, app: ImagineApp, caplog: pytest.LogCaptureFixture
) -> None:
    before = len(bot_messages(world))
    with caplog.at_level(logging.ERROR):
        result = await describe(world, image=("view.png", png((20, 120, 200))))
    assert result.response is not None and result.ephemeral
    sentence = result.response.content
    assert sentence.startswith("/describe's models could not be loaded") and len(sentence) < 200
    assert "blip-not-downloaded" not in sentence and len(bot_messages(world)) == before
    assert "blip-not-downloaded" in caplog.text and "describe.caption_model" in caplog.text
    (failed,) = await jobs(app, world)
    assert failed.state == JobState.FAILED and failed.charged_seconds is None


# --- /blend ----------------------------------------------------------------------------------

COLORS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30), (30, 200, 200)]


@pytest.mark.parametrize("count", [2, 5])
async def test_blend_queues_one_job_made_of_the_images(
    world: World, app: ImagineApp, hold: Hold, count: int
) -> None:
    await hold()
    files = {f"image{k + 1}": (f"{k}.png", png(COLORS[k])) for k in range(count)}
    await world.alice.slash(world.channel, "blend", dimensions="portrait", **files)
    (job,) = await jobs(app, world)
    refs = job.spec.references
    assert [ref.role for ref in refs] == ["image"] * count
    assert len({ref.weight for ref in refs}) == 1 and job.spec.parts == ()
    for ref, (_, data) in zip(refs, files.values(), strict=True):
        assert ref.sha256 is not None
        assert np.array_equal(
            np.asarray(app.images.open(ref.sha256)), np.asarray(Image.open(io.BytesIO(data)))
        )
    assert job.spec.flags["ar"] == "2:3" and job.spec.height > job.spec.width
    # Shown and stored by the attachments' names, not Discord's long, expiring links.
    names = tuple(name for name, _ in files.values())
    assert job.spec.image_prompts == names and [ref.source for ref in refs] == list(names)
    assert job.spec.typed_prompt == " ".join(names) + " --ar 2:3"
    assert "http" not in job.spec.model_dump_json()
    (posted,) = bot_messages(world)
    assert posted.content.startswith(f"**{' '.join(names)} --ar 2:3**")


async def test_blend_with_one_image_is_refused(world: World, app: ImagineApp) -> None:
    result = await world.alice.slash(world.channel, "blend", image1=("0.png", png(COLORS[0])))
    assert result.response is not None
    assert result.response.content == "/blend needs 2 to 5 images; you gave 1."
    assert await jobs(app, world) == []


def test_six_images_are_too_many() -> None:
    assert count_refusal(6) == "/blend needs 2 to 5 images; you gave 6."
    assert count_refusal(2) is None and count_refusal(5) is None


@pytest.mark.parametrize("bot_settings", ["none"], indirect=True)
async def test_blend_without_an_adapter_names_the_setting(world: World, app: ImagineApp) -> None:
    files = {f"image{k + 1}": (f"{k}.png", png(COLORS[k])) for k in range(2)}
    result = await world.alice.slash(world.channel, "blend", **files)
    assert result.response is not None and "models.tiny.ip_adapter" in result.response.content
    assert result.response.content.startswith("/blend needs an image-prompt adapter")
    assert "add words" not in result.response.content  # /blend has no text to add
    assert await jobs(app, world) == []


async def test_a_describe_job_pending_at_a_restart_is_answered_in_its_channel(
    world: World, app: ImagineApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    await describe(world, image=("view.png", png((20, 120, 200), (96, 64))))
    (first,) = await jobs(app, world)
    assert first.channel_id == world.channel.id  # recorded, so a restart can answer there
    assert await app.service.delivered_jobs({world.channel.id}, None, 0, 10) == []  # no image
    source = first.spec.source
    assert source is not None

    # The bot died while the next /describe job waited in the queue; it starts again.
    await app.service.pause()
    (job,) = await app.service.submit(
        Requester(world.alice.id),
        [describe_spec(app.images.put(app.images.open(source.sha256)), "view.png")],
        interaction_id=2,
        channel_id=world.channel.id,
    )
    finished = app.service.finished
    monkeypatch.setattr(
        app.service,
        "finished",
        lambda job_id: world.env.external_wait(finished(job_id), reason="the job's end"),
    )
    before = len(bot_messages(world))
    await world.env.restart_bot(ImagineBot(app))
    listing = await world.alice.slash(world.channel, "queue")
    assert listing.response is not None
    assert f"`{job.id}` queued (fast): /describe of view.png" in listing.response.content
    await app.service.resume()
    for _ in range(6000):  # the GPU worker runs outside SimCord's clock
        record = await app.service.job(job.id)
        if record is not None and record.state == JobState.DELIVERED:
            break
        await asyncio.sleep(0.05)
    await world.env.settle()
    (answer,) = bot_messages(world)[before:]
    assert answer.content.startswith(f"Prompts for <@{world.alice.id}>'s image:")
    assert sorted(prompts_in(answer.content)) == [1, 2, 3, 4]
