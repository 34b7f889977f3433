"""/blend ``image1..image5`` ``dimensions``: the images as image prompts and nothing else.

The prompt is the images' links and ``--ar``, planned like any /imagine prompt: the links are
fetched by the one fetcher, and ``image_refs`` makes them image prompts of equal weight through
the preset's IP-Adapter. A preset without one would drop them (with a warning), which for a
blend leaves nothing, so the blend is refused instead, naming the setting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from imagine_bot.engine.errors import UserError

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
        specs = await desk.plan(
            interaction, blend_prompt([image.url for image in images], dimensions), ()
        )
        for spec in specs:
            if not spec.references:
                raise UserError(
                    f"/blend needs an image-prompt adapter, and the model {spec.model!r} has "
                    f"none: an admin sets models.{spec.model}.ip_adapter in the settings."
                )
        await desk.start(interaction, specs, parent=None)
