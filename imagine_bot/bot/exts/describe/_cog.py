"""/describe ``image:`` or ``link:``, and the buttons under its answer.

The answer lists the four prompts in its own text, one a line; its buttons carry only
``describe:owner:index`` (a DynamicItem) and read the prompts back from the message they are
under, so they keep working after a restart and nothing is stored for them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from imagine_bot.bot.access import answer_if_refused, may_press, role_ids
from imagine_bot.bot.errors import SERVER_FAULT, answer_failure
from imagine_bot.bot.messages import fit
from imagine_bot.engine.jobs.describing import PROMPTS, describe_spec
from imagine_bot.engine.jobs.records import JobRecord, Requester

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot

KEYCAP = "\N{COMBINING ENCLOSING KEYCAP}"
_PROMPT_LINE = re.compile(
    r"^(?P<number>[1-4])\N{COMBINING ENCLOSING KEYCAP} `(?P<prompt>[^`\n]+)`$"
)
ALL = 0
"""The index of the "Imagine all" button."""


def answer_text(prompts: list[str], owner_id: int) -> str:
    """The answer: who asked, then each prompt in a code span (shown as typed, never as markdown
    or a mention)."""
    lines = [f"{k}{KEYCAP} `{prompt.replace('`', '')}`" for k, prompt in enumerate(prompts, 1)]
    return "\n".join([f"Prompts for <@{owner_id}>'s image:", *lines])


def prompts_in(content: str) -> dict[int, str]:
    """The numbered prompts of an answer's text."""
    found = (_PROMPT_LINE.match(line) for line in content.splitlines())
    return {int(match["number"]): match["prompt"] for match in found if match}


class DescribeButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"describe:(?P<owner>[0-9]{1,20}):(?P<index>[0-4])",
):
    """1-4: /imagine that prompt; "Imagine all": all four at once."""

    def __init__(self, owner_id: int, index: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=str(index) if index != ALL else "Imagine all",
                style=discord.ButtonStyle.secondary,
                custom_id=f"describe:{owner_id}:{index}",
            )
        )
        self.owner_id = owner_id
        self.index = index

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> DescribeButton:
        return cls(int(match["owner"]), int(match["index"]))

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """The server's channel rules, then only the member who asked may press."""
        if not await answer_if_refused(interaction):
            return False
        bot: ImagineBot = interaction.client
        if may_press(bot.app.settings.discord, interaction.user, self.owner_id):
            return True
        await interaction.response.send_message(
            "Only the person who asked for these prompts can use their buttons.", ephemeral=True
        )
        return False

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: ImagineBot = interaction.client
        await interaction.response.defer(ephemeral=True, thinking=True)
        prompts = prompts_in(interaction.message.content if interaction.message else "")
        chosen = list(prompts.values()) if self.index == ALL else [prompts.get(self.index, "")]
        if not all(chosen):
            await interaction.followup.send("That prompt is no longer readable.", ephemeral=True)
            return
        try:
            await bot.desk.imagine_prompts(interaction, chosen)
        except Exception as error:  # a DynamicItem's errors reach no handler: answer here
            await answer_failure(interaction, error)


def answer_view(owner_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for index in (*range(1, PROMPTS + 1), ALL):
        view.add_item(DescribeButton(owner_id, index))
    return view


class Describe(commands.Cog):
    """Queues a /describe job (its models run on a GPU worker, never in the bot's process)
    and posts its prompts when it ends."""

    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Four prompts that would make an image like yours")
    @app_commands.describe(image="The image to describe", link="Or a link to it")
    async def describe(
        self,
        interaction: discord.Interaction[Any],
        image: discord.Attachment | None = None,
        link: str | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        if (image is None) == (link is None):
            await interaction.followup.send(
                "Give /describe an image or a link to one (not both).", ephemeral=True
            )
            return
        url = image.url if image is not None else str(link).strip()
        job = await self._describe(interaction, url, image.filename if image else url)
        if not job.succeeded:
            await interaction.followup.send(fit(job.error or SERVER_FAULT), ephemeral=True)
            return
        channel = interaction.channel
        assert isinstance(channel, discord.abc.Messageable)
        await self._post_answer(job, channel)
        await interaction.followup.send("Described.", ephemeral=True)

    async def resume(self, job: JobRecord, channel: discord.PartialMessageable) -> None:
        """A /describe job the bot restarted under: nobody waits on the command any more, so
        its answer (or why there is none, to its owner) goes to its channel when it ends."""
        job = await self.bot.app.service.finished(job.id)
        if job.succeeded:
            await self._post_answer(job, channel)
            return
        reason = job.error or SERVER_FAULT
        owner = discord.AllowedMentions(users=[discord.Object(job.owner_id)])
        line = f"<@{job.owner_id}> your /describe ended without prompts: {reason}"
        await channel.send(fit(line), allowed_mentions=owner)

    async def _post_answer(self, job: JobRecord, channel: discord.abc.Messageable) -> None:
        try:
            await channel.send(
                answer_text(list(job.texts), job.owner_id),
                view=answer_view(job.owner_id),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            await self.bot.app.service.mark_undelivered(job.id, str(exc))
            raise
        await self.bot.app.service.mark_delivered(job.id)

    async def _describe(
        self, interaction: discord.Interaction[Any], url: str, name: str
    ) -> JobRecord:
        """Fetch ``url`` as any image a user gives is fetched, then queue its description and
        wait for it. Refusals (a bad link, the caps, GPU time) raise ``UserError``."""
        app = self.bot.app
        stored = await app.planner.fetcher.fetch(url)
        requester = Requester(interaction.user.id, role_ids(interaction.user))
        # The channel is recorded so that the answer is posted there even if the bot restarts
        # before the job ends (the watcher hands the job back to ``resume``).
        (job,) = await app.service.submit(
            requester,
            [describe_spec(stored, name)],
            interaction_id=interaction.id,
            channel_id=interaction.channel_id,
        )
        return await app.service.finished(job.id)
