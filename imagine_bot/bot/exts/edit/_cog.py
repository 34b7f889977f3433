"""/edit ``image`` ``instruction`` (and up to three more pictures): four edits of the picture.

The attachments are fetched like any image a member gives (a file that is not an image is
refused there, before anything is queued); the job is the Edit button's, derived from a
stand-in parent at the picture's size (``plugins/builtin/edit.py``), so its results carry the
same buttons and its form, refusals and charges are the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from imagine_bot.engine.spec import ReferenceImage
from imagine_bot.plugins.actions import INSTRUCTION_LIMIT
from imagine_bot.plugins.builtin.edit import edit_picture

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot


class Edit(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Change a picture with words: four edits")
    @app_commands.describe(
        image="The picture to edit",
        instruction="What to change, e.g. make it night, remove the car",
        reference1="Another picture the edit may use (models with multi-reference editing)",
        reference2="Another picture the edit may use",
        reference3="Another picture the edit may use",
        model="The model preset whose edit model runs (default: the server's default)",
    )
    async def edit(
        self,
        interaction: discord.Interaction[Any],
        image: discord.Attachment,
        instruction: app_commands.Range[str, 1, INSTRUCTION_LIMIT],
        reference1: discord.Attachment | None = None,
        reference2: discord.Attachment | None = None,
        reference3: discord.Attachment | None = None,
        model: str | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        app = self.bot.app
        fetcher = app.planner.fetcher
        picture = await fetcher.fetch(image.url)
        references = []
        for attachment in (reference1, reference2, reference3):
            if attachment is not None:
                stored = await fetcher.fetch(attachment.url)
                references.append(
                    ReferenceImage(role="subject", source=attachment.filename, sha256=stored.sha256)
                )
        spec = await edit_picture(
            app.planner, picture, instruction, model=model, references=references
        )
        await self.bot.desk.start(interaction, [spec], parent=None)
