"""The Vary (Region) button and editor: a signed link, the page it opens, and its Submit.

The button answers privately with a link bound to the member who pressed it, the job and the
image. The page shows the image with the marking tools and the prompt; Submit sends the mask
(PNG) and the prompt, which are checked here (each problem answered in one sentence, nothing
queued or charged), then the job goes through the same derive and submit as any button, and
its message is posted in the channel where the button was pressed.
"""

from __future__ import annotations

import asyncio
import html
import string
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import discord
from aiohttp import web

from imagine_bot.bot import messages
from imagine_bot.bot.access import may_press, refusal_at, role_ids
from imagine_bot.bot.jobs.desk import source_image
from imagine_bot.bot.web.links import BadLink, Link
from imagine_bot.engine.errors import UserError
from imagine_bot.engine.images.masks import read_mask
from imagine_bot.engine.jobs.records import JobRecord, Parent, Requester
from imagine_bot.engine.spec import SourceImage
from imagine_bot.plugins.builtin.region import VARY_REGION

if TYPE_CHECKING:
    from imagine_bot.bot.client import ImagineBot

PAGE = "region"
GONE = "The channel or the member of this link is no longer there for the bot."
USED = (
    "This link was used: its Vary (Region) job is queued or done. Press Vary (Region) again "
    "for a new link."
)
TEMPLATE = string.Template(
    resources.files("imagine_bot.bot.web").joinpath("templates/region.html").read_text("utf-8")
)


@dataclass(frozen=True)
class Visit:
    """A verified link and what it stands for."""

    link: Link
    job: JobRecord
    source: SourceImage
    member: discord.User | discord.Member
    channel: discord.abc.Messageable


class RegionEditor:
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self._submitting: set[int] = set()
        """Links whose Submit is being handled: a double click queues one job."""

    async def open(self, interaction: discord.Interaction[Any], job: JobRecord, index: int) -> None:
        """The button (already deferred, pressed by someone who may): a private link to the
        editor for this image."""
        reply = self._link_refusal(job, index)
        if reply is None:
            channel_id = interaction.channel_id or 0
            token = self.bot.web.links.sign(
                PAGE, interaction.user.id, job.id, index=index, channel_id=channel_id
            )
            minutes = round(self.bot.app.settings.web.link_minutes)
            reply = (
                f"Mark the part to repaint and edit the prompt if you like: "
                f"{self.bot.web.url(PAGE, token)}\n"
                f"This link works for you only, for {minutes} minutes."
            )
        await interaction.followup.send(reply, ephemeral=True)

    def _link_refusal(self, job: JobRecord, index: int) -> str | None:
        if not self.bot.app.settings.web.enabled:
            return "Vary (Region) needs the bot's web server, which is off here ([web] enabled)."
        if source_image(job, index) is None:
            return "That image does not exist."
        return None

    def routes(self) -> web.RouteTableDef:
        routes = web.RouteTableDef()
        routes.get(f"/{PAGE}/{{token}}")(self.page)
        routes.get(f"/{PAGE}/{{token}}/image.png")(self.image)
        routes.post(f"/{PAGE}/{{token}}")(self.submit)
        return routes

    async def page(self, request: web.Request) -> web.Response:
        visit = await self._visit(request)
        # A link is single-use: once its job was submitted, it opens no editor (a second
        # Submit is answered with where the first job is).
        if await self.bot.app.service.submitted_by(visit.link.nonce):
            raise BadLink(USED)
        spec = visit.job.spec
        token = request.match_info["token"]
        body = TEMPLATE.substitute(
            submit_url=html.escape(f"/{PAGE}/{token}"),
            image_url=html.escape(f"/{PAGE}/{token}/image.png"),
            width=spec.width,
            height=spec.height,
            prompt=html.escape(messages.prompt_text(spec, self.bot.app.planner.flags)),
        )
        return web.Response(text=body, content_type="text/html")

    async def image(self, request: web.Request) -> web.StreamResponse:
        visit = await self._visit(request)
        return web.FileResponse(self.bot.app.images.path(visit.source.sha256))

    async def submit(self, request: web.Request) -> web.Response:
        visit = await self._visit(request)
        nonce = visit.link.nonce
        if nonce in self._submitting:
            return answer(409, messages.already_started(None))
        self._submitting.add(nonce)
        try:
            return await self._submit(request, visit)
        except UserError as error:
            return answer(400, messages.user_error(error))
        finally:
            self._submitting.discard(nonce)

    async def _submit(self, request: web.Request, visit: Visit) -> web.Response:
        prompt, mask_bytes = await read_form(request)
        if not mask_bytes:
            return answer(400, "Mark a region on the image first, then submit.")
        if not prompt.strip():
            return answer(400, "The prompt is empty: write what the image should show.")
        app, spec = self.bot.app, visit.job.spec
        mask = await asyncio.to_thread(read_mask, mask_bytes, (spec.width, spec.height))
        stored = await asyncio.to_thread(app.images.put, mask)
        unchanged = prompt.strip() == messages.prompt_text(spec, app.planner.flags)
        specs = await app.planner.derive(
            spec,
            VARY_REGION,
            visit.link.index,
            visit.source,
            prompt=None if unchanged else prompt,
            mask=SourceImage(sha256=stored.sha256),
        )
        jobs = await app.service.submit(
            Requester(visit.member.id, role_ids(visit.member)),
            specs,
            interaction_id=visit.link.nonce,
            channel_id=visit.link.channel_id or None,
            parent=Parent(visit.job.id, VARY_REGION, visit.link.index),
        )
        announced = await self.bot.desk.announce(visit.channel, jobs)
        if not announced.positions:
            return answer(409, messages.already_started(announced.shown_at))
        notes = [*jobs[0].spec.warnings, *jobs[0].warnings]
        return answer(200, " ".join(["Queued: the result will be posted in Discord.", *notes]))

    async def _visit(self, request: web.Request) -> Visit:
        """The link's job, image, member and channel; ``BadLink`` when any is gone or not
        theirs (the middleware makes it a 403 page)."""
        link = self.bot.web.links.verify(request.match_info["token"], PAGE)
        job = await self.bot.app.service.job(link.job_id)
        source = None if job is None else source_image(job, link.index)
        if job is None or source is None:
            raise BadLink("That image is no longer stored on this server.")
        channel, member = await self._place(link)
        guild = getattr(channel, "guild", None)
        refusal = refusal_at(
            self.bot.app.settings.discord, None if guild is None else guild.id, link.channel_id
        )
        if refusal is not None:  # the channel rules changed since the link was made
            raise BadLink(refusal)
        if not may_press(self.bot.app.settings.discord, member, job.owner_id):
            raise BadLink("This link is for another member's image, which only they can vary.")
        return Visit(link, job, source, member, channel)

    async def _place(
        self, link: Link
    ) -> tuple[discord.abc.Messageable, discord.User | discord.Member]:
        """Where the button was pressed, and who pressed it (with their roles, for quotas)."""
        try:
            channel = self.bot.get_channel(link.channel_id) or await self.bot.fetch_channel(
                link.channel_id
            )
            member: discord.User | discord.Member
            if isinstance(channel, discord.abc.GuildChannel):
                guild = channel.guild
                member = guild.get_member(link.member_id) or await guild.fetch_member(
                    link.member_id
                )
            else:
                member = await self.bot.fetch_user(link.member_id)
        except (discord.NotFound, discord.Forbidden):
            raise BadLink(GONE) from None
        if not isinstance(channel, discord.abc.Messageable):
            raise BadLink(GONE)
        return channel, member


async def read_form(request: web.Request) -> tuple[str, bytes]:
    """The ``prompt`` text and the ``mask`` file of a multipart Submit (either may be empty);
    the server's body cap applies to the whole request."""
    if not request.content_type.startswith("multipart/"):
        return "", b""
    form = await request.post()
    prompt, mask = form.get("prompt", ""), form.get("mask")
    mask_bytes = mask.file.read() if isinstance(mask, web.FileField) else b""
    return (prompt if isinstance(prompt, str) else ""), mask_bytes


def answer(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text)
