"""The gallery: a server's delivered jobs, newest first, a page at a time, behind a signed link.

``/gallery`` in Discord hands a member a link bound to them and to the channel they asked in;
the page shows the delivered jobs of that server's channels they may read (or only theirs),
each with a thumbnail, the prompt as typed, the seed, the model and a button that copies the
prompt. Jobs of age-restricted channels appear only through a link made in one; a flagged
job's thumbnail is blurred into blocks, behind a spoiler cover.
"""

from __future__ import annotations

import asyncio
import html
import io
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web
from PIL import Image

from imagine_bot.bot.messages import prompt_text
from imagine_bot.bot.web.links import BadLink, Link
from imagine_bot.bot.web.server import SERVER, STATIC_PREFIX
from imagine_bot.engine.jobs.records import JobRecord
from imagine_bot.engine.spec import JobState

PAGE = "gallery"
PER_PAGE = 24
THUMBNAIL_SIDE = 384
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
        mine = request.query.get("mine") == "1"
        number = _page_number(request.query.get("page", "1"))
        app = request.app[SERVER].app
        jobs = await app.service.delivered_jobs(
            scope.channel_ids,
            link.member_id if mine else None,
            (number - 1) * PER_PAGE,
            PER_PAGE + 1,
        )
        token = request.match_info["token"]
        cards = [_card(job, prompt_text(job.spec, app.planner.flags), token) for job in jobs]
        body = render(scope.name, cards[:PER_PAGE], token, mine, number, len(jobs) > PER_PAGE)
        return web.Response(text=body, content_type="text/html", headers=_PRIVATE)

    async def thumbnail(self, request: web.Request) -> web.Response:
        _, scope = await self._open(request, recent=True)
        job = await request.app[SERVER].app.service.job(request.match_info["job_id"])
        if (
            job is None
            or job.state != JobState.DELIVERED
            or job.channel_id not in scope.channel_ids
        ):
            raise web.HTTPNotFound(text="No such image in this gallery.")
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


_PRIVATE = {"Cache-Control": "private, max-age=300", "Referrer-Policy": "no-referrer"}


@dataclass(frozen=True)
class Card:
    job_id: str
    prompt: str
    seed: int
    model: str
    image_url: str
    flagged: bool


def _card(job: JobRecord, prompt: str, token: str) -> Card:
    return Card(
        job.id,
        prompt,
        job.spec.seeds[0],
        job.spec.model,
        f"{token}/{job.id}.jpg",
        bool(job.flagged),
    )


def render(
    server: str, cards: list[Card], token: str, mine: bool, number: int, has_more: bool
) -> str:
    """The whole page: plain HTML, our stylesheet and script, nothing from elsewhere."""
    title = f"{server}: {'your images' if mine else 'gallery'}"
    items = "".join(_figure(card) for card in cards) or ("<p class='empty'>No images here yet.</p>")
    filters = _nav_link(token, False, 1, "All images", current=not mine) + _nav_link(
        token, True, 1, "My images", current=mine
    )
    pages = (_nav_link(token, mine, number - 1, "← Newer") if number > 1 else "") + (
        _nav_link(token, mine, number + 1, "Older →") if has_more else ""
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


def _figure(card: Card) -> str:
    prompt = html.escape(card.prompt)
    cover = SPOILER_ATTRIBUTES if card.flagged else "class='job'"
    return (
        f"<figure {cover} data-job='{card.job_id}'>"
        f"<img src='{html.escape(card.image_url)}' alt='' loading='lazy'>"
        f"<figcaption><p class='prompt'>{prompt}</p>"
        f"<p class='facts'>Seed {card.seed} · {html.escape(card.model)}</p>"
        f"<button type='button' class='copy' data-prompt='{prompt}'>Copy prompt</button>"
        "</figcaption></figure>"
    )


def _nav_link(token: str, mine: bool, number: int, label: str, *, current: bool = False) -> str:
    query = urlencode({"page": number, **({"mine": 1} if mine else {})})
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
