"""The gallery: a server's delivered jobs, newest first, a page at a time, behind a signed link.

``/gallery`` in Discord hands a member a link bound to them and to the channel they asked in;
the page shows the delivered jobs of that server's channels they may read (or only theirs, or
the grids and images members starred, or only those the member starred), each with a
thumbnail, the prompt as typed, the seed, the model, a button that copies the prompt and its
lineage: links to the job it was made from and the jobs made from it. Deleted jobs are not
shown. Jobs of age-restricted channels appear only through a link made in one; a flagged job's
thumbnail is blurred into blocks, behind a spoiler cover.
"""

from __future__ import annotations

import asyncio
import html
import io
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web
from PIL import Image

from imagine_bot.bot.messages import prompt_text
from imagine_bot.bot.web.links import BadLink, Link
from imagine_bot.bot.web.server import SERVER, STATIC_PREFIX
from imagine_bot.engine.jobs.listings import Lineage
from imagine_bot.engine.jobs.records import JobRecord
from imagine_bot.engine.spec import JobState

if TYPE_CHECKING:
    from imagine_bot.app import ImagineApp

PAGE = "gallery"
PER_PAGE = 24
THUMBNAIL_SIDE = 384
IMAGE_INDEXES = ("0", "1", "2", "3", "4")
"""A thumbnail's ``?image=``: 0 the grid, 1-4 one image of it."""
MAX_PAGE = 1_000_000
SCOPE_REUSE_S = 60.0
FLAGGED_BLOCKS = 8
"""A flagged job's thumbnail is this many blocks of colour across."""
SPOILER_ATTRIBUTES = "class='job spoiler' title='Flagged by the content filter: click to show'"


@dataclass(frozen=True)
class GalleryScope:
    """The server a gallery link shows: its name and the ids of its channels and threads."""

    name: str
    channel_ids: frozenset[int]


ScopeOf = Callable[[int, int], Awaitable[GalleryScope | None]]
"""What a link made in a channel (id) shows its member (id) now; None when the bot no longer
sees that channel or the member may no longer read it."""


class GalleryPages:
    def __init__(self, scope_of: ScopeOf) -> None:
        self._scope_of = scope_of
        self._recent: dict[tuple[int, int], tuple[float, GalleryScope]] = {}
        self.routes = web.RouteTableDef()
        self.routes.get(f"/{PAGE}/{{token}}")(self.page)
        self.routes.get(f"/{PAGE}/{{token}}/{{job_id:[0-9a-f]{{32}}}}.jpg")(self.thumbnail)

    async def page(self, request: web.Request) -> web.Response:
        link, scope = await self._open(request)
        show = request.query.get("show", "all")
        if show not in VIEWS:
            raise web.HTTPBadRequest(text=f"show must be one of {', '.join(VIEWS)}.")
        number = _page_number(request.query.get("page", "1"))
        app = request.app[SERVER].app
        member = link.member_id if show in ("mine", "my-favourites") else None
        offset, limit = (number - 1) * PER_PAGE, PER_PAGE + 1
        shown: list[tuple[JobRecord, int]]
        if "job" in request.query:  # a lineage link: that one job
            job = await app.service.job(request.query["job"])
            shown = [(job, 0)] if job is not None and _in(job, scope) else []
        elif show.endswith("favourites"):
            shown = await app.service.starred_images(scope.channel_ids, member, offset, limit)
        else:
            jobs = await app.service.delivered_jobs(scope.channel_ids, member, offset, limit)
            shown = [(job, 0) for job in jobs]
        shown, has_more = shown[:PER_PAGE], len(shown) > PER_PAGE
        lineage = await app.service.lineage(scope.channel_ids, [job for job, _ in shown])
        token = request.match_info["token"]
        cards = [_card(job, index, token, lineage[job.id], app) for job, index in shown]
        body = render(scope.name, cards, token, show, number, has_more)
        return web.Response(text=body, content_type="text/html", headers=_PRIVATE)

    async def thumbnail(self, request: web.Request) -> web.Response:
        _, scope = await self._open(request, recent=True)
        job = await request.app[SERVER].app.service.job(request.match_info["job_id"])
        index = request.query.get("image", "0")
        if (
            job is None
            or not _in(job, scope)
            or index not in IMAGE_INDEXES[: len(job.image_paths) + 1]
        ):
            raise web.HTTPNotFound(text="No such image in this gallery.")
        if index != "0":
            path = job.image_paths[int(index) - 1]
        else:
            path = job.grid_path if job.grid_path is not None else job.image_paths[0]
        data = await asyncio.to_thread(_thumbnail_jpeg, path, bool(job.flagged))
        return web.Response(body=data, content_type="image/jpeg", headers=_PRIVATE)

    async def _open(
        self, request: web.Request, *, recent: bool = False
    ) -> tuple[Link, GalleryScope]:
        """The link and what it shows now; ``recent``: or as of a page opened in the last
        ``SCOPE_REUSE_S`` (a page's thumbnails would otherwise ask Discord once each)."""
        link = request.app[SERVER].links.verify(request.match_info["token"], PAGE)
        key = (link.channel_id, link.member_id)
        now = time.monotonic()
        known = self._recent.get(key)
        if recent and known is not None and now - known[0] < SCOPE_REUSE_S:
            return link, known[1]
        scope = await self._scope_of(*key)
        self._recent = {k: v for k, v in self._recent.items() if now - v[0] < SCOPE_REUSE_S}
        if scope is not None:
            self._recent[key] = (now, scope)
        if scope is None:
            raise BadLink("You can no longer read the channel this link was made in.")
        return link, scope


def _in(job: JobRecord, scope: GalleryScope) -> bool:
    """Whether the gallery of ``scope`` shows ``job``."""
    return (
        job.state == JobState.DELIVERED and job.channel_id in scope.channel_ids and not job.deleted
    )


_PRIVATE = {"Cache-Control": "private, max-age=300", "Referrer-Policy": "no-referrer"}


VIEWS = {
    "all": "All images",
    "mine": "My images",
    "favourites": "Favourites",
    "my-favourites": "My favourites",
}
"""The page's filters (``?show=``): every job, the member's, every starred grid and image,
the member's starred ones."""


@dataclass(frozen=True)
class Card:
    job_id: str
    index: int
    """0: the job's grid; 1-4: one starred image of it."""
    prompt: str
    seed: int
    model: str
    image_url: str
    flagged: bool
    parent: str | None
    children: tuple[tuple[str, str], ...]
    """(job id, what made it) of the jobs made from this one that the gallery shows."""


def _card(job: JobRecord, index: int, token: str, lineage: Lineage, app: ImagineApp) -> Card:
    actions = app.planner.actions
    return Card(
        job.id,
        index,
        prompt_text(job.spec, app.planner.flags),
        job.spec.seeds[max(index - 1, 0)],
        job.spec.model,
        f"{token}/{job.id}.jpg" + (f"?image={index}" if index else ""),
        bool(job.flagged),
        lineage.parent,
        tuple((child, actions.title(made) or made) for child, made in lineage.children),
    )


def render(
    server: str, cards: list[Card], token: str, show: str, number: int, has_more: bool
) -> str:
    """The whole page: plain HTML, our stylesheet and script, nothing from elsewhere."""
    title = f"{server}: {VIEWS[show].lower() if show != 'all' else 'gallery'}"
    items = "".join(_figure(card, token) for card in cards) or (
        "<p class='empty'>No images here yet.</p>"
    )
    filters = "".join(
        _nav_link(token, view, 1, label, current=view == show) for view, label in VIEWS.items()
    )
    pages = (_nav_link(token, show, number - 1, "← Newer") if number > 1 else "") + (
        _nav_link(token, show, number + 1, "Older →") if has_more else ""
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        f"<link rel='stylesheet' href='{STATIC_PREFIX}/page.css'>"
        f"<link rel='stylesheet' href='{STATIC_PREFIX}/gallery.css'>"
        f"<script src='{STATIC_PREFIX}/gallery.js' defer></script></head>"
        f"<body><main><h1>{html.escape(title)}</h1><nav class='filters'>{filters}</nav>"
        f"<section class='gallery'>{items}</section><nav class='pages'>{pages}</nav>"
        "</main></body></html>"
    )


def _figure(card: Card, token: str) -> str:
    prompt = html.escape(card.prompt)
    cover = SPOILER_ATTRIBUTES if card.flagged else "class='job'"
    image = f" data-image='{card.index}'" if card.index else ""
    return (
        f"<figure {cover} data-job='{card.job_id}'{image}>"
        f"<img src='{html.escape(card.image_url)}' alt='' loading='lazy'>"
        f"<figcaption><p class='prompt'>{prompt}</p>"
        f"<p class='facts'>Seed {card.seed} · {html.escape(card.model)}</p>"
        f"{_lineage(card, token)}"
        f"<button type='button' class='copy' data-prompt='{prompt}'>Copy prompt</button>"
        "</figcaption></figure>"
    )


def _lineage(card: Card, token: str) -> str:
    """Links to the job this one was made from and to the jobs made from it."""
    lines = []
    if card.parent is not None:
        lines.append(f"Made from {_job_link(token, card.parent, 'this job')}")
    if card.children:
        links = ", ".join(_job_link(token, child, made) for child, made in card.children)
        lines.append(f"Made from it: {links}")
    return "".join(f"<p class='lineage'>{line}</p>" for line in lines)


def _job_link(token: str, job_id: str, label: str) -> str:
    query = urlencode({"job": job_id})
    return (
        f"<a class='lineage-link' data-job='{job_id}' href='{html.escape(token)}?{query}'>"
        f"{html.escape(label)}</a>"
    )


def _nav_link(token: str, show: str, number: int, label: str, *, current: bool = False) -> str:
    query = urlencode({"page": number, **({"show": show} if show != "all" else {})})
    marker = " aria-current='page'" if current else ""
    return f"<a href='{html.escape(token)}?{query}'{marker}>{html.escape(label)}</a>"


def _page_number(text: str) -> int:
    """A page number from 1 to ``MAX_PAGE`` (past that the offset overflows SQLite's
    integers); else a 400."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        raise web.HTTPBadRequest(text=f"The page number must be a whole number up to {MAX_PAGE:,}.")
    return int(text)


def _thumbnail_jpeg(path: Path, flagged: bool) -> bytes:
    """A JPEG preview; of a flagged job, only a few blocks of colour, so the page's spoiler
    cover hides nothing that the image's own address shows."""
    with Image.open(path) as image:
        image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        preview: Image.Image = image.convert("RGB")
    if flagged:
        blocks = preview.reduce(max(max(preview.size) // FLAGGED_BLOCKS, 1))
        preview = blocks.resize(preview.size, Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    preview.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
