"""/profile create, from-favourites, list and delete. A profile is a style made of images that
``--p NAME`` applies through the model's image-prompt adapter; ``--p`` alone applies the
member's default, learned from the images they upscale (U) and star. Admins may make shared
profiles, which every member can name. Refusals raise ``UserError`` (one sentence, through
the command tree's error handler); nothing is ever charged."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from imagine_bot.bot.access import is_admin
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.jobs.profiles import DEFAULT, MAX_IMAGES, MIN_IMAGES, SHARED

if TYPE_CHECKING:
    from imagine_bot.app import ImagineApp

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


class Profiles(commands.GroupCog, group_name="profile", group_description="Styles for --p"):
    def __init__(self, app: ImagineApp) -> None:
        self.app = app
        super().__init__()

    @app_commands.command(description="A profile from 2-10 images of a style (a moodboard)")
    @app_commands.describe(
        name="What --p calls it", shared="Admins: for everyone on this server to use"
    )
    async def create(
        self,
        interaction: discord.Interaction[Any],
        name: str,
        image1: discord.Attachment,
        image2: discord.Attachment,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
        image6: discord.Attachment | None = None,
        image7: discord.Attachment | None = None,
        image8: discord.Attachment | None = None,
        image9: discord.Attachment | None = None,
        image10: discord.Attachment | None = None,
        shared: bool = False,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        owner = self._owner(interaction, shared)
        key = _name(name)
        given = (image1, image2, image3, image4, image5, image6, image7, image8, image9, image10)
        attachments = [attachment for attachment in given if attachment is not None]
        for attachment in attachments:
            if not (attachment.content_type or "").startswith("image/"):
                raise UserError(f"{attachment.filename} is not an image, so no profile was made.")
        # The same checks as any image a member gives (size, format, decoding), into the store.
        stored = await self.app.planner.fetcher.fetch_all([a.url for a in attachments])
        shas = list(dict.fromkeys(image.sha256 for image in stored.values()))
        if len(shas) < MIN_IMAGES:
            raise UserError(f"A profile needs at least {MIN_IMAGES} different images.")
        await self.app.service.profiles.save(owner, key, [(sha, 1.0) for sha in shas])
        await interaction.followup.send(_made(key, len(shas), owner == SHARED), ephemeral=True)

    @app_commands.command(name="from-favourites", description="A profile from your starred images")
    @app_commands.describe(name="What --p calls it")
    async def from_favourites(self, interaction: discord.Interaction[Any], name: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        key = _name(name)
        profiles = self.app.service.profiles
        shas = (await profiles.favourite_images(interaction.user.id))[:MAX_IMAGES]
        if len(shas) < MIN_IMAGES:
            raise UserError(
                f"A profile needs at least {MIN_IMAGES} images and you have starred "
                f"{len(shas)}: press ⭐ under the images you like first."
            )
        await profiles.save(interaction.user.id, key, [(sha, 1.0) for sha in shas])
        await interaction.followup.send(_made(key, len(shas), False), ephemeral=True)

    @app_commands.command(name="list", description="Your profiles and the server's")
    async def list_profiles(self, interaction: discord.Interaction[Any]) -> None:
        profiles = await self.app.service.profiles.usable_by(interaction.user.id)
        lines = [
            f"- `--p {p.name}`: {len(p.images)} images{' (shared)' if p.shared else ''}"
            if p.name != DEFAULT
            else f"- `--p`: your default, learned from {len(p.images)} images you chose"
            for p in profiles
        ]
        text = "\n".join(lines) or "No profiles yet: /profile create or /profile from-favourites."
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(description="Delete one of your profiles (admins: a shared one)")
    @app_commands.describe(name="The profile", shared="Admins: the server's shared profile")
    async def delete(
        self, interaction: discord.Interaction[Any], name: str, shared: bool = False
    ) -> None:
        owner = self._owner(interaction, shared)
        deleted = await self.app.service.profiles.delete(owner, _name(name))
        answer = "Deleted." if deleted else f"There is no profile named {name[:32]!r} to delete."
        await interaction.response.send_message(answer, ephemeral=True)

    def _owner(self, interaction: discord.Interaction[Any], shared: bool) -> int:
        if not shared:
            return interaction.user.id
        if not is_admin(self.app.settings.discord, interaction.user):
            raise UserError("Only server managers and admin roles can manage shared profiles.")
        return SHARED


def _name(text: str) -> str:
    name = text.strip().lower()
    if not NAME.fullmatch(name):
        raise UserError(
            "A profile name is 1-32 letters, digits, - or _, starting with a letter or digit."
        )
    return name


def _made(name: str, count: int, shared: bool) -> str:
    whose = "the server's shared profile" if shared else "your profile"
    return f"Made {whose} `{name}` from {count} images: add `--p {name}` to a prompt to use it."
