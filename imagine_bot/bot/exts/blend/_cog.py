"""/blend ``image1..image5`` ``dimensions``: the images as image prompts and nothing else.

The prompt is the images' links and ``--ar``, planned like any /imagine prompt: the links are
fetched by the one fetcher (and stored by sha256), and ``image_refs`` makes them image prompts
of equal weight through the preset's IP-Adapter. The job then shows and stores the
attachments' file names where the links were: Discord's links are long and expire, and the
images are in the image store. A preset without an adapter leaves a blend nothing to draw
from, so the blend is refused, naming the setting (not asking for words: /blend takes none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from imagine_bot.engine.errors import ImagesWithoutAdapter, UserError
from imagine_bot.engine.spec import GenerationSpec

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot

MIN_IMAGES, MAX_IMAGES = 2, 5
Dimensions = Literal["portrait", "square", "landscape"]
RATIOS: dict[str, str] = {"portrait": "2:3", "square": "1:1", "landscape": "3:2"}
"""Midjourney's /blend shapes."""


def count_refusal(count: int) -> str | None:
    if MIN_IMAGES <= count <= MAX_IMAGES:
        return None
    return f"/blend needs {MIN_IMAGES} to {MAX_IMAGES} images; you gave {count}."


def blend_prompt(urls: list[str], dimensions: str) -> str:
    return " ".join([*urls, f"--ar {RATIOS[dimensions]}"])


def by_name(spec: GenerationSpec, names: dict[str, str]) -> GenerationSpec:
    """``spec`` with each image's file name (``names``, by link) where its link was: in the
    caption, the typed prompt and the references (already stored, never fetched again)."""
    typed = spec.typed_prompt
    for url, name in names.items():
        typed = typed.replace(url, name)
    references = tuple(
        ref.model_copy(update={"source": names.get(ref.source, ref.source)})
        for ref in spec.references
    )
    image_prompts = tuple(names.get(url, url) for url in spec.image_prompts)
    return spec.model_copy(
        update={"typed_prompt": typed, "image_prompts": image_prompts, "references": references}
    )


def needs_adapter(model: str) -> UserError:
    return UserError(
        f"/blend needs an image-prompt adapter, and the model {model!r} has none: an admin "
        f"sets models.{model}.ip_adapter in the settings."
    )


class Blend(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Blend 2 to 5 images into four new ones")
    @app_commands.describe(dimensions="portrait 2:3, square 1:1 (the default) or landscape 3:2")
    async def blend(
        self,
        interaction: discord.Interaction[Any],
        image1: discord.Attachment,
        image2: discord.Attachment | None = None,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
        dimensions: Dimensions = "square",
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        images = [image for image in (image1, image2, image3, image4, image5) if image]
        refusal = count_refusal(len(images))
        if refusal:
            await interaction.followup.send(refusal, ephemeral=True)
            return
        desk = self.bot.desk
        names = {image.url: image.filename for image in images}
        try:
            specs = await desk.plan(interaction, blend_prompt(list(names), dimensions), ())
        except ImagesWithoutAdapter as error:
            raise needs_adapter(error.model) from None
        for spec in specs:
            if not spec.references:
                raise needs_adapter(spec.model)
        await desk.start(interaction, [by_name(spec, names) for spec in specs], parent=None)
